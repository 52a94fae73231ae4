"""Fit quality, each metric with its convention stated (docs/method.md#metrics-and-conventions).

* ``psnr_paper``: 10·log10(1/MSE) on [-1, 1] data (peak 1), the paper's number. On images it
  reads 6.02 dB below the usual PSNR on [0, 1].
* ``psnr``: images on [0, 1], peak 1 — the PSNR most image papers report.
* ``ssim``: scikit-image's SSIM on [0, 1] images (data_range 1, 7x7 windows, per channel).
* ``snr``: audio, 10·log10(Σy² / Σ(y − ŷ)²) in dB, independent of scaling conventions.
* ``lsd``: audio log-spectral distance in dB: STFT with a 2048-sample Hann window, hop 512;
  per frame sqrt(mean_f (10·log10 P − 10·log10 P̂)²) with P = |X|² + 1e-10, then the mean over frames.
* ``iou``: shapes (volumes of a mesh's signed distance or occupancy): intersection over union of the
  grid points inside (sdf < 0, occupancy > 0.5) in the fit and in the target.
* ``chamfer``: shapes, the symmetric mean nearest-neighbour distance between the marching-cubes
  vertices of fit and target (level sdf 0, occupancy 0.5), in grid coordinates ([-1, 1]³, the mesh
  scaled to fit); inf when the fit has no surface. Volumes from .npy files get psnr_paper and mse.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LSD_NFFT", "LSD_HOP", "LSD_EPS", "mse", "psnr_paper", "psnr", "ssim", "snr", "lsd", "iou", "chamfer",
           "metrics", "UNDEFINED", "undefined", "CONVENTIONS"]

LSD_NFFT, LSD_HOP, LSD_EPS = 2048, 512, 1e-10


def _db(ratio: float) -> float:
    return math.inf if ratio == math.inf else 10.0 * math.log10(max(ratio, 1e-30))


def mse(target: np.ndarray, estimate: np.ndarray) -> float:
    """The mean squared error, in float64.

    Parameters
    ----------
    target, estimate
        Arrays of one shape, on [-1, 1].

    Returns
    -------
    float
    """
    return float(np.mean((np.asarray(target, np.float64) - np.asarray(estimate, np.float64)) ** 2))


def psnr_paper(target: np.ndarray, estimate: np.ndarray) -> float:
    """10·log10(1/MSE) with both signals on [-1, 1]: the paper's PSNR.

    Parameters
    ----------
    target, estimate
        Arrays of one shape, on [-1, 1].

    Returns
    -------
    float
        In dB; inf for a perfect fit.
    """
    m = mse(target, estimate)
    return math.inf if m == 0 else _db(1.0 / m)


def psnr(target: np.ndarray, estimate: np.ndarray) -> float:
    """Image PSNR on [0, 1] (peak 1), the PSNR most image papers report.

    Parameters
    ----------
    target
        On [-1, 1].
    estimate
        On [-1, 1]; clipped to it first.

    Returns
    -------
    float
        In dB; inf for a perfect fit.
    """
    t = (np.asarray(target, np.float64) + 1) / 2
    e = (np.clip(np.asarray(estimate, np.float64), -1, 1) + 1) / 2
    m = float(np.mean((t - e) ** 2))
    return math.inf if m == 0 else _db(1.0 / m)


def ssim(target: np.ndarray, estimate: np.ndarray, grid: tuple[int, int]) -> float:
    """SSIM of two (H·W, C) images on [-1, 1], computed on [0, 1] by scikit-image (data_range 1).

    Windows of 7x7 pixels (smaller in an image less than 7 pixels a side), per channel.

    Parameters
    ----------
    target
        (H·W, C) on [-1, 1].
    estimate
        (H·W, C) on [-1, 1]; clipped to it first.
    grid
        (H, W).

    Returns
    -------
    float
        NaN (undefined, `UNDEFINED`) for an image smaller than 3 x 3 pixels.
    """
    from skimage.metrics import structural_similarity

    h, w = grid
    t = (np.asarray(target, np.float64).reshape(h, w, -1) + 1) / 2
    e = (np.clip(np.asarray(estimate, np.float64), -1, 1).reshape(h, w, -1) + 1) / 2
    win = (min(7, h, w) - 1) | 1  # odd, no larger than the image
    if win < 3:
        return float("nan")
    return float(structural_similarity(t, e, data_range=1.0, channel_axis=2, win_size=win))


def snr(target: np.ndarray, estimate: np.ndarray) -> float:
    """Audio SNR in dB: signal energy over error energy, 10·log10(Σy² / Σ(y − ŷ)²).

    Parameters
    ----------
    target, estimate
        Arrays of one shape.

    Returns
    -------
    float
        inf for a perfect fit; NaN (undefined, `UNDEFINED`) for a silent target.
    """
    t = np.asarray(target, np.float64)
    energy = float(np.sum(t**2))
    if energy == 0:
        return math.nan  # no signal to compare the error with: see UNDEFINED
    err = float(np.sum((t - np.asarray(estimate, np.float64)) ** 2))
    return math.inf if err == 0 else _db(energy / err)


def lsd(target: np.ndarray, estimate: np.ndarray) -> float:
    """Log-spectral distance in dB, the mean over channels.

    STFT with a 2048-sample Hann window (at most the signal's length), hop 512; per frame
    sqrt(mean_f (10·log10 P − 10·log10 P̂)²) with P = |X|² + 1e-10, then the mean over frames.

    Parameters
    ----------
    target, estimate
        (N,) or (N, C) audio.

    Returns
    -------
    float
    """
    from scipy.signal import stft

    t = np.asarray(target, np.float64).reshape(len(target), -1)
    e = np.asarray(estimate, np.float64).reshape(len(estimate), -1)
    nper = min(LSD_NFFT, t.shape[0])
    hop = max(1, min(LSD_HOP, nper // 4))
    values = []
    for c in range(t.shape[1]):
        _, _, X = stft(t[:, c], nperseg=nper, noverlap=nper - hop, window="hann")
        _, _, Y = stft(e[:, c], nperseg=nper, noverlap=nper - hop, window="hann")
        diff = 10 * np.log10(np.abs(X) ** 2 + LSD_EPS) - 10 * np.log10(np.abs(Y) ** 2 + LSD_EPS)
        values.append(np.mean(np.sqrt(np.mean(diff**2, axis=0))))
    return float(np.mean(values))


def iou(inside: np.ndarray, inside_estimate: np.ndarray) -> float:
    """Intersection over union |A ∩ B| / |A ∪ B| of two boolean masks.

    Parameters
    ----------
    inside, inside_estimate
        Boolean masks of one shape (the grid points inside the shape).

    Returns
    -------
    float
        1 when both are empty.
    """
    union = np.count_nonzero(inside | inside_estimate)
    return 1.0 if union == 0 else np.count_nonzero(inside & inside_estimate) / union


def chamfer(points: np.ndarray, points_estimate: np.ndarray) -> float:
    """Symmetric Chamfer distance: the mean of the two mean nearest-neighbour distances between point sets.

    Parameters
    ----------
    points
        (P, 3).
    points_estimate
        (Q, 3).

    Returns
    -------
    float
        inf when either set is empty.
    """
    from scipy.spatial import cKDTree

    if len(points) == 0 or len(points_estimate) == 0:
        return math.inf
    there = cKDTree(points_estimate).query(points)[0].mean()
    back = cKDTree(points).query(points_estimate)[0].mean()
    return float(there + back) / 2


def metrics(signal, estimate: np.ndarray) -> dict[str, float]:
    """Every metric that applies to ``signal``'s kind, of ``estimate`` against the signal's values.

    psnr_paper and mse always; images add psnr and ssim, audio snr and lsd, shapes (a mesh's signed
    distance or occupancy) iou and chamfer.

    Parameters
    ----------
    signal : Signal
        The reference.
    estimate
        Its N·C estimated values (reshaped to (N, C)).

    Returns
    -------
    dict of str to float
        An undefined metric is NaN ([`undefined`][] says why).
    """
    t, e = signal.values, np.asarray(estimate, np.float32).reshape(signal.values.shape)
    out = {"psnr_paper": psnr_paper(t, e), "mse": mse(t, e)}
    if signal.kind == "image":
        out |= {"psnr": psnr(t, e), "ssim": ssim(t, e, signal.grid)}
    elif signal.kind == "audio":
        out |= {"snr": snr(t, e), "lsd": lsd(t, e)}
    elif "field" in signal.meta:  # a shape: values below 0 are inside a signed distance, above 0 an occupancy
        from .shapes import isosurface

        sign = -1 if signal.meta["field"] == "sdf" else 1
        out |= {"iou": iou(sign * t > 0, sign * e > 0),
                "chamfer": chamfer(isosurface(signal)[0], isosurface(signal.with_values(e))[0])}
    return out


# Why a metric can be undefined (NaN in Python, null in JSON).
UNDEFINED = {"snr": "the target is silent (its energy is 0), so an SNR has nothing to compare the error with",
             "ssim": "the image is smaller than SSIM's smallest window (3 x 3 pixels)"}


def undefined(scores: dict) -> dict[str, str]:
    """The metrics of ``scores`` that are undefined (NaN), each with the reason.

    Parameters
    ----------
    scores
        Metric name → value.

    Returns
    -------
    dict of str to str
        The reason from `UNDEFINED`, or "undefined for this signal".
    """
    return {k: UNDEFINED.get(k, "undefined for this signal") for k, v in scores.items()
            if isinstance(v, float) and math.isnan(v)}


CONVENTIONS = {
    "psnr_paper": "10*log10(1/MSE) on [-1, 1] data (the paper's PSNR; 6.02 dB below psnr on images)",
    "psnr": "image PSNR on [0, 1], peak 1, estimate clipped",
    "ssim": "scikit-image SSIM on [0, 1], 7x7 window, data_range 1",
    "snr": "audio 10*log10(sum y^2 / sum (y - yhat)^2)",
    "lsd": "log-spectral distance, dB; STFT Hann 2048, hop 512, P = |X|^2 + 1e-10",
    "mse": "mean squared error on [-1, 1] data",
    "iou": "shapes: IoU of the grid points inside (sdf < 0, occupancy > 0.5), fit vs target",
    "chamfer": "shapes: symmetric mean nearest distance between marching-cubes vertices of fit and target, "
               "in [-1, 1]^3 grid coordinates; inf when the fit has no surface",
    "filled_psnr_paper": "psnr_paper with the observed samples kept and only the missing ones from the fit",
    "observed_psnr_paper": "no clean reference: psnr_paper of the fit against the observed (corrupted) samples",
    "residual_std": "no clean reference: std of fit - observed samples (for denoising, an estimate of the noise)",
    "holdout_psnr_paper": "no clean reference: psnr_paper on the held-out observed samples, best epoch",
}
