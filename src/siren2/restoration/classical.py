"""Classical restoration baselines: what a user would pick instead of fitting an INR.

Each baseline maps a damaged [`Signal`][] and its mask (1 observed, 0 missing)
to an estimate of the clean values (N, C), from well-kept libraries, with its settings chosen
from the damaged signal alone (never the clean one):

* images, denoising: scikit-image's ``denoise_wavelet`` (BayesShrink, soft), ``denoise_tv_chambolle``
  (weight = the estimated noise σ) and ``denoise_nl_means`` (h = 0.8 σ̂, fast mode), σ̂ from
  ``estimate_sigma``; BM3D (the ``bm3d`` package, σ = σ̂) when the ``restore`` extra is installed
  (``pip install siren2[restore]``; its licence allows non-commercial use only);
* audio, denoising: a spectral Wiener gain (power subtraction, G = max(0, 1 − N̂/|X|²)) on SciPy's
  STFT (256-point Hann, 75 % overlap), the white-noise power N̂ from minimum statistics: per
  frequency the 10 % quantile of |X|² over frames, divided by its expected ratio to the mean for
  noise (−ln 0.9), then the median over frequencies;
* inpainting (audio and images): linear and cubic interpolation over the observed samples
  (``numpy.interp`` / ``scipy.interpolate.CubicSpline`` along time; ``scipy.interpolate.griddata``
  over the pixel grid, nearest-neighbour outside the observed hull);
* inpainting (audio): ``lmmse``, linear prediction of each missing sample from the observed ones
  around it (the Wiener interpolator, x̂_m = R_mo R_oo⁻¹ x_o), the covariance R from the observed
  samples' own autocorrelation (each lag's sum over the observed pairs divided by their count,
  Hann-tapered and made positive semi-definite in the frequency domain).

``BASELINES`` is the registry; [`run_baseline`][] checks that a baseline applies to the signal
and the task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import InputError
from ..signal import Signal

__all__ = ["BASELINES", "Baseline", "image_array", "wavelet_sigma", "PATCH", "MAX_PATCHES", "patch_sigma",
           "AUDIO_NOISE_ESTIMATE", "noise_std_method", "noise_std", "STFT_SEGMENT", "STFT_QUANTILE", "STFT_SMOOTH",
           "STFT_FRAMES", "stft_floor", "stft_sigma", "wavelet", "tv", "nl_means", "bm3d", "installed", "wiener",
           "lmmse", "baselines_for", "run_baseline"]


@dataclass(frozen=True)
class Baseline:
    """A classical restoration tool.

    Attributes
    ----------
    description
        What it is, in one line.
    kinds
        The signal kinds it applies to.
    task
        "denoise" (every sample observed, noisy) or "inpaint" (samples missing).
    run
        ``run(signal, mask) -> (N, C) float32``: its estimate of the clean values.
    """
    description: str
    kinds: tuple[str, ...]  # signal kinds it applies to
    task: str  # "denoise" (every sample observed, noisy) or "inpaint" (samples missing)
    run: Callable[[Signal, np.ndarray], np.ndarray]


def image_array(signal: Signal) -> tuple[np.ndarray, int | None]:
    """An image signal as an array, and its channel axis.

    Parameters
    ----------
    signal
        An image.

    Returns
    -------
    image : ndarray
        (H, W) for one channel, else (H, W, C), float64.
    axis : int or None
        None for one channel, else -1.
    """
    h, w = signal.grid
    c = signal.channels
    img = signal.values.reshape(h, w, c).astype(np.float64)
    return (img[:, :, 0], None) if c == 1 else (img, -1)


def _back(signal: Signal, img: np.ndarray) -> np.ndarray:
    return np.asarray(img, dtype=np.float32).reshape(signal.num_points, signal.channels)


def wavelet_sigma(img: np.ndarray, axis: int | None) -> float:
    """σ̂ of white noise in an image by the wavelet MAD (scikit-image's ``estimate_sigma``), mean over channels.

    Parameters
    ----------
    img
        (H, W) or (H, W, C).
    axis
        The channel axis, or None.

    Returns
    -------
    float
    """
    from skimage.restoration import estimate_sigma

    return float(np.mean(estimate_sigma(img, channel_axis=axis)))


PATCH = 7  # side of the patches whose covariance :func:`patch_sigma` reads
MAX_PATCHES = 100_000  # patches on a regular sub-grid at most (the covariance is 49 x 49 either way)


def patch_sigma(img: np.ndarray, patch: int = PATCH) -> float:
    """σ̂ of white noise in a 2-D image: √ of the smallest eigenvalue of its p x p patches' covariance.

    White noise adds σ² to every eigenvalue; a natural image's patches lie close to a subspace, so the
    smallest eigenvalue is σ² plus little (Pyatykh et al. 2013, without their patch selection). Like
    the wavelet MAD it can only read high: a texture whose patches fill every direction adds to it.

    Parameters
    ----------
    img
        (H, W).
    patch
        p, the patches' side (at most `MAX_PATCHES` of them, on a regular sub-grid).

    Returns
    -------
    float
    """
    from numpy.lib.stride_tricks import sliding_window_view

    windows = sliding_window_view(img, (patch, patch))
    step = max(1, int(np.ceil(np.sqrt(windows.shape[0] * windows.shape[1] / MAX_PATCHES))))
    x = windows[::step, ::step].reshape(-1, patch * patch)
    x = x - x.mean(axis=0)
    return float(np.sqrt(max(np.linalg.eigvalsh(x.T @ x / len(x))[0], 0.0)))


def _reads_patches(signal: Signal) -> bool:
    """Whether [`noise_std`][] reads [`patch_sigma`][] for ``signal``: images of at least PATCH px a side."""
    return signal.kind == "image" and min(signal.grid) >= PATCH


AUDIO_NOISE_ESTIMATE = "min(white floor, STFT floor)"  # :func:`noise_std` for audio and the rest


def noise_std_method(signal: Signal) -> str:
    """How [`noise_std`][] reads σ̂ for ``signal`` (recorded in config.json).

    Parameters
    ----------
    signal
        The damaged signal.

    Returns
    -------
    str
    """
    if signal.kind != "image":
        return AUDIO_NOISE_ESTIMATE
    return f"min(wavelet MAD, {PATCH}x{PATCH} patch PCA)" if _reads_patches(signal) else "wavelet MAD"


def noise_std(signal: Signal) -> float:
    """σ̂ of white noise in ``signal``, from the signal alone.

    Images: the smaller of two estimates that signal content can only raise, the wavelet MAD
    (``estimate_sigma``; fooled by fine texture) and [`patch_sigma`][] (fooled by patches of full
    rank), per channel, averaged; the MAD alone below `PATCH` pixels a side. Audio and the rest:
    the smaller of the whole spectrum's white floor ([`siren2.winner.white_floor`][]; raised by
    content that covers the whole band) and the STFT's ([`stft_sigma`][]; raised by content that
    never pauses, in time or in any frequency), averaged in power over channels. The shared clips'
    central 30,000 samples at σ 0.05 (restore_grid.py's seed-0 noise): arch's broadband content reads
    1.60 σ on the white floor, 1.01 σ on the STFT's; the other seven 0.98–1.00 σ on the smaller.

    Parameters
    ----------
    signal
        The noisy signal.

    Returns
    -------
    float
        σ̂, on the [-1, 1] scale.
    """
    if signal.kind == "image":
        img, axis = image_array(signal)
        if not _reads_patches(signal):
            return wavelet_sigma(img, axis)
        planes = [img] if axis is None else [img[:, :, c] for c in range(img.shape[-1])]
        return min(wavelet_sigma(img, axis), float(np.mean([patch_sigma(p) for p in planes])))
    from ..winner import white_floor

    stft_power = float(np.mean([stft_sigma(signal.values[:, c]) ** 2 for c in range(signal.channels)]))
    return float(np.sqrt(min(white_floor(signal.values), stft_power)))


STFT_SEGMENT, STFT_QUANTILE, STFT_SMOOTH = 256, 0.1, (5, 5)  # Hann, 75 % overlap
STFT_FRAMES = 1 << 15  # σ̂ reads at most this many frames (about 2 M samples): bounded memory on long files


def _stft(x: np.ndarray, n: int) -> np.ndarray:
    from scipy.signal import stft

    return stft(x, window="hann", nperseg=n, noverlap=n * 3 // 4)[2]


def stft_floor(power: np.ndarray, quantile: float = STFT_QUANTILE) -> float:
    """White noise's power per STFT bin, by minimum statistics.

    Per frequency the ``quantile`` of the power over frames, divided by −ln(1 − q) (a noise bin's
    power is exponential), then the median over frequencies.

    Parameters
    ----------
    power
        |X|², (frequencies, frames).
    quantile
        q.

    Returns
    -------
    float
    """
    return float(np.median(np.quantile(power, quantile, axis=1) / -np.log1p(-quantile)))


def stft_sigma(x: np.ndarray, nperseg: int = STFT_SEGMENT, smooth: tuple[int, int] = STFT_SMOOTH,
               quantile: float = STFT_QUANTILE) -> float:
    """σ̂ of white noise in the 1-D ``x`` by smoothed minimum statistics.

    |X|² averaged over ``smooth`` (frequencies x frames), per frequency its ``quantile`` over frames,
    the median over frequencies; σ̂² is its ratio to the same statistic of unit white noise as long
    (seed 0). Smoothing steepens the noise's lower tail, so content that fills most frames raises σ̂
    less (white bursts over σ 0.05, silent half / a quarter of the time: 1.10 / 1.25 σ, against
    1.47 / 2.15 unsmoothed). A long signal is read in 16 evenly spaced stretches of
    `STFT_FRAMES` frames in all.

    Parameters
    ----------
    x
        The samples.
    nperseg
        The STFT's segment (Hann, 75 % overlap).
    smooth
        The averaging window, (frequencies, frames).
    quantile
        The quantile over frames.

    Returns
    -------
    float
    """
    from scipy.ndimage import uniform_filter

    x = np.asarray(x, np.float64)
    n = min(nperseg, len(x))
    reach = STFT_FRAMES * (n - n * 3 // 4)
    if len(x) > reach:  # a long file: 16 evenly spaced stretches, STFT_FRAMES frames in all
        starts = np.linspace(0, len(x) - reach // 16, 16).astype(int)
        x = np.concatenate([x[a:a + reach // 16] for a in starts])

    def statistic(v: np.ndarray) -> float:
        power = uniform_filter(np.abs(_stft(v, n)) ** 2, size=smooth, mode="nearest")
        return float(np.median(np.quantile(power, quantile, axis=1)))

    return float(np.sqrt(statistic(x) / statistic(np.random.default_rng(0).standard_normal(len(x)))))


def wavelet(signal: Signal, mask: np.ndarray) -> np.ndarray:
    """scikit-image's ``denoise_wavelet`` (BayesShrink, soft) of an image.

    Parameters
    ----------
    signal
        The noisy image.
    mask
        Not used (denoising sees every sample).

    Returns
    -------
    ndarray
        (N, C) float32.
    """
    from skimage.restoration import denoise_wavelet

    img, axis = image_array(signal)
    return _back(signal, denoise_wavelet(img, channel_axis=axis, method="BayesShrink", mode="soft",
                                         rescale_sigma=True))


def tv(signal: Signal, mask: np.ndarray) -> np.ndarray:
    """scikit-image's ``denoise_tv_chambolle`` of an image, weight = the estimated σ ([`wavelet_sigma`][]).

    Parameters
    ----------
    signal
        The noisy image.
    mask
        Not used.

    Returns
    -------
    ndarray
        (N, C) float32.
    """
    from skimage.restoration import denoise_tv_chambolle

    img, axis = image_array(signal)
    return _back(signal, denoise_tv_chambolle(img, weight=wavelet_sigma(img, axis), channel_axis=axis))


def nl_means(signal: Signal, mask: np.ndarray) -> np.ndarray:
    """scikit-image's ``denoise_nl_means`` of an image: h = 0.8 σ̂, 5x5 patches, fast mode.

    Parameters
    ----------
    signal
        The noisy image.
    mask
        Not used.

    Returns
    -------
    ndarray
        (N, C) float32.
    """
    from skimage.restoration import denoise_nl_means

    img, axis = image_array(signal)
    sigma = wavelet_sigma(img, axis)
    return _back(signal, denoise_nl_means(img, h=0.8 * sigma, sigma=sigma, fast_mode=True, patch_size=5,
                                          patch_distance=6, channel_axis=axis))


def bm3d(signal: Signal, mask: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """BM3D of an image (the ``bm3d`` package, the ``restore`` extra), per channel.

    Parameters
    ----------
    signal
        The noisy image.
    mask
        Not used.
    sigma
        The noise σ on the signal's [-1, 1] scale, when known; None: σ̂ ([`wavelet_sigma`][]).

    Returns
    -------
    ndarray
        (N, C) float32.

    Raises
    ------
    InputError
        If the bm3d package is not installed.
    """
    try:
        import bm3d as bm3d_package
    except ImportError:
        raise InputError("baseline 'bm3d' needs the bm3d package: pip install 'siren2[restore]'") from None
    img, axis = image_array(signal)
    sigma = wavelet_sigma(img, axis) if sigma is None else sigma
    if axis is None:
        return _back(signal, bm3d_package.bm3d(img, sigma_psd=sigma))
    return _back(signal, np.stack([bm3d_package.bm3d(img[:, :, c], sigma_psd=sigma) for c in range(img.shape[2])], -1))


def installed(package: str) -> bool:
    """Whether ``package`` can be imported.

    Parameters
    ----------
    package
        A top-level package name.

    Returns
    -------
    bool
    """
    import importlib.util

    return importlib.util.find_spec(package) is not None


def wiener(signal: Signal, mask: np.ndarray, nperseg: int = STFT_SEGMENT) -> np.ndarray:
    """A spectral Wiener gain G = max(0, 1 − N̂/|X|²) on the STFT of each channel of audio.

    N̂, the white noise's power per bin, from minimum statistics ([`stft_floor`][]).

    Parameters
    ----------
    signal
        Noisy audio.
    mask
        Not used.
    nperseg
        The STFT's segment (Hann, 75 % overlap).

    Returns
    -------
    ndarray
        (N, C) float32.
    """
    from scipy.signal import istft

    out = []
    for c in range(signal.channels):
        x = signal.values[:, c].astype(np.float64)
        n = min(nperseg, len(x))
        X = _stft(x, n)
        power = np.abs(X) ** 2
        noise = stft_floor(power)
        gain = np.maximum(0.0, 1.0 - noise / np.maximum(power, 1e-30))
        _, y = istft(gain * X, window="hann", nperseg=n, noverlap=n * 3 // 4)
        out.append(np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)])
    return np.stack(out, axis=1).astype(np.float32)


def _observed_autocorrelation(y: np.ndarray, observed: np.ndarray, lags: int) -> np.ndarray:
    """r[k], k = 0…lags, of a zero-filled ``y`` over its observed pairs only, Hann-tapered to 0 at ``lags``
    and projected onto the positive semi-definite sequences (negative spectrum clipped)."""
    n = len(y)
    size = 1 << int(np.ceil(np.log2(2 * n)))

    def correlate(v):
        f = np.fft.rfft(v, size)
        return np.fft.irfft(np.abs(f) ** 2, size)[: lags + 1]

    r = correlate(y) / np.maximum(correlate(observed.astype(np.float64)), 1.0)
    r *= np.hanning(2 * lags + 3)[lags + 1: -1]
    spectrum = np.clip(np.fft.rfft(np.concatenate([r, r[-1:0:-1]])).real, 0.0, None)
    return np.fft.irfft(spectrum, 2 * lags)[: lags + 1]


def lmmse(signal: Signal, mask: np.ndarray, context: int = 128, ridge: float = 1e-5,
          max_reach: int = 2048) -> np.ndarray:
    """Each missing sample as the LMMSE estimate from the observed samples around it (audio).

    From the observed samples within ``context`` (at least twice the longest missing run, at most
    ``max_reach``) on either side; missing samples are solved together in blocks spanning at most
    max(``context``, longest run) samples (at most ``max_reach`` / 2), so no system exceeds
    2.5 × ``max_reach`` unknowns; the middle of a gap longer than that keeps zeros. The covariance
    comes from the observed samples' own autocorrelation (see the module docstring).

    Parameters
    ----------
    signal
        Audio with missing samples (zeros).
    mask
        (N,) 1 observed, 0 missing.
    context
        The observed samples read on either side, at least.
    ridge
        ``ridge``·r[0] on the diagonal (a white floor −50 dB under the signal) keeps R_oo invertible on
        band-limited clips.
    max_reach
        The most samples read on either side.

    Returns
    -------
    ndarray
        (N, C) float32: the observed samples, and the estimates where missing (zeros in a silent channel).

    Raises
    ------
    InputError
        With fewer than 4 observed samples.
    """
    from scipy.linalg import solve

    from .corruptions import segments

    observed = np.asarray(mask).reshape(-1) > 0
    if observed.sum() < 4:
        raise InputError("interpolation needs at least 4 observed samples")
    n, missing = len(observed), np.flatnonzero(~observed)
    longest = int(segments(~observed)[1].max()) if missing.size else 0
    reach, block = min(max(context, 2 * longest), max_reach), min(max(context, longest), max_reach // 2)
    lags = min(n - 1, block + 2 * reach)
    out = signal.values.astype(np.float64) * observed[:, None]
    for c in range(signal.channels):
        y = out[:, c].copy()
        r = _observed_autocorrelation(y, observed, lags)
        if r[0] <= 0:
            continue  # silence: zeros are the estimate
        cov = lambda a, b: r[np.minimum(np.abs(a[:, None] - b[None, :]), lags)]  # noqa: E731
        i = 0
        while i < missing.size:
            j = int(np.searchsorted(missing, missing[i] + block))  # missing[i:j] span less than a block
            m = missing[i:j]
            near = np.arange(max(0, m[0] - reach), min(n, m[-1] + reach + 1))
            o = near[observed[near]]
            if o.size:
                gram = cov(o, o) + ridge * r[0] * np.eye(o.size)
                out[m, c] = cov(m, o) @ solve(gram, y[o], assume_a="pos")
            i = j
    return out.astype(np.float32)


def _interpolate(method: str) -> Callable[[Signal, np.ndarray], np.ndarray]:
    def run(signal: Signal, mask: np.ndarray) -> np.ndarray:
        observed = np.asarray(mask).reshape(-1) > 0
        if observed.sum() < 4:
            raise InputError("interpolation needs at least 4 observed samples")
        values = signal.values.astype(np.float64)
        if signal.kind == "audio":
            t = np.arange(signal.num_points)
            if method == "linear":
                out = np.stack([np.interp(t, t[observed], values[observed, c]) for c in range(signal.channels)], 1)
            else:
                from scipy.interpolate import CubicSpline

                out = CubicSpline(t[observed], values[observed], axis=0)(t)
        else:
            from scipy.interpolate import griddata

            h, w = signal.grid
            yy, xx = np.mgrid[0:h, 0:w]
            points = np.stack([yy.ravel(), xx.ravel()], 1)
            out = griddata(points[observed], values[observed], points, method=method)
            holes = np.isnan(out).any(axis=1)
            if holes.any():  # outside the observed points' convex hull
                out[holes] = griddata(points[observed], values[observed], points[holes], method="nearest")
        return np.clip(out, -1.0, 1.0).astype(np.float32)

    return run


BASELINES: dict[str, Baseline] = {
    "wavelet": Baseline("scikit-image denoise_wavelet (BayesShrink, soft)", ("image",), "denoise", wavelet),
    "tv": Baseline("scikit-image denoise_tv_chambolle (weight = estimated σ)", ("image",), "denoise", tv),
    "nl_means": Baseline("scikit-image denoise_nl_means (h = 0.8 σ̂, 5x5 patches)", ("image",), "denoise", nl_means),
    "bm3d": Baseline("BM3D (bm3d package, σ = estimated σ; the restore extra)", ("image",), "denoise", bm3d),
    "wiener": Baseline("spectral Wiener gain on a 256-point STFT, noise power from minimum statistics", ("audio",),
                       "denoise", wiener),
    "linear": Baseline("linear interpolation over the observed samples", ("audio", "image"), "inpaint",
                       _interpolate("linear")),
    "cubic": Baseline("cubic interpolation over the observed samples", ("audio", "image"), "inpaint",
                      _interpolate("cubic")),
    "lmmse": Baseline("LMMSE interpolation, covariance from the observed samples' autocorrelation", ("audio",),
                      "inpaint", lmmse),
}


def baselines_for(kind: str, task: str) -> list[str]:
    """The baselines that apply to a ``kind`` signal and ``task``.

    Parameters
    ----------
    kind
        "audio" or "image".
    task
        "denoise" or "inpaint".

    Returns
    -------
    list of str
        BM3D only where its package is installed.
    """
    return [name for name, b in BASELINES.items() if kind in b.kinds and b.task == task
            and (name != "bm3d" or installed("bm3d"))]


def run_baseline(name: str, signal: Signal, mask: np.ndarray | None = None) -> np.ndarray:
    """Baseline ``name``'s estimate of the clean values of ``signal``.

    Parameters
    ----------
    name
        A key of ``BASELINES``.
    signal
        The damaged signal.
    mask
        (N,) 1 observed, 0 missing; None: all observed.

    Returns
    -------
    ndarray
        (N, C) float32.

    Raises
    ------
    InputError
        For an unknown baseline, or one that does not apply to the signal's kind.
    """
    if name not in BASELINES:
        raise InputError(f"unknown classical baseline {name!r}; choose from {', '.join(BASELINES)}")
    b = BASELINES[name]
    if signal.kind not in b.kinds:
        raise InputError(f"baseline {name!r} applies to {' and '.join(b.kinds)}, not {signal.kind}")
    mask = np.ones(signal.num_points, np.float32) if mask is None else np.asarray(mask, np.float32).reshape(-1)
    return b.run(signal, mask)
