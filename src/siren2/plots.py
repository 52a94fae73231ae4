"""Every figure siren2 draws. The only module that imports matplotlib (Agg, no display needed).

Each function takes plain arrays and a path and writes one PNG atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .signals import atomic_path  # noqa: E402


def _save(fig, path) -> Path:
    path = Path(path)
    tmp = atomic_path(path)
    try:
        fig.savefig(tmp, format="png", dpi=110)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path


def psnr_curves(curves: dict[str, list[float]], path, title: str = "") -> Path:
    """psnr_paper per epoch, one line per run."""
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    for label, ys in curves.items():
        ax.plot(np.arange(1, len(ys) + 1), ys, label=label, lw=1.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("psnr_paper (dB, [-1, 1] data)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def _spectrogram(ax, x: np.ndarray, sr: int, title: str, vmin: float | None = None):
    from scipy.signal import spectrogram

    nper = min(1024, len(x))
    f, t, s = spectrogram(x, fs=sr, nperseg=nper, noverlap=nper * 3 // 4)
    db = 10 * np.log10(s + 1e-12)
    vmin = db.max() - 100 if vmin is None else vmin
    im = ax.pcolormesh(t, f / 1000, db, shading="auto", vmin=vmin, vmax=vmin + 100, cmap="magma")
    ax.set_title(title)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("kHz")
    return im, vmin


def audio_fit(target: np.ndarray, fits: dict[str, np.ndarray], sr: int, path, zoom: int = 400) -> Path:
    """A waveform close-up (``zoom`` samples from the middle) and spectrograms of target and fits."""
    rows = 1 + len(fits)
    fig, axes = plt.subplots(rows + 1, 1, figsize=(8, 2.4 * (rows + 1)), layout="constrained")
    mid = max(0, len(target) // 2 - zoom // 2)
    sl = slice(mid, mid + zoom)
    t_ms = np.arange(sl.start, min(sl.stop, len(target))) / sr * 1000
    axes[0].plot(t_ms, target[sl], color="k", lw=1.2, label="target")
    for label, y in fits.items():
        axes[0].plot(t_ms, y[sl], lw=0.9, label=label)
    axes[0].set_xlabel("time (ms)")
    axes[0].set_title("waveform close-up")
    axes[0].legend(fontsize=8)
    im, vmin = _spectrogram(axes[1], target, sr, "target")
    for ax, (label, y) in zip(axes[2:], fits.items()):
        _spectrogram(ax, y, sr, label, vmin)
    fig.colorbar(im, ax=axes[1:], label="dB", shrink=0.6)
    return _save(fig, path)


def _log_fft_error(target: np.ndarray, fit: np.ndarray) -> np.ndarray:
    err = (fit - target).mean(axis=-1)
    return np.log10(np.abs(np.fft.fftshift(np.fft.fft2(err))) + 1e-8)


def image_fit(target: np.ndarray, fits: dict[str, np.ndarray], path) -> Path:
    """Target, each fit, and each fit's log |FFT(error)| map on one shared colour scale. (H, W, C) on [-1, 1]."""
    cols = 1 + len(fits)
    fig, axes = plt.subplots(2, cols, figsize=(3.2 * cols, 6.4), squeeze=False, layout="constrained")
    def show(ax, im, title):
        im = np.clip((im + 1) / 2, 0, 1)
        ax.imshow(im[:, :, 0] if im.shape[-1] == 1 else im, cmap="gray" if im.shape[-1] == 1 else None)
        ax.set_title(title)

    show(axes[0, 0], target, "target")
    axes[1, 0].axis("off")
    errs = {k: _log_fft_error(target, v) for k, v in fits.items()}
    lo = min(e.min() for e in errs.values()) if errs else 0
    hi = max(e.max() for e in errs.values()) if errs else 1
    for j, (label, fit) in enumerate(fits.items(), start=1):
        show(axes[0, j], fit, label)
        im = axes[1, j].imshow(errs[label], cmap="inferno", vmin=lo, vmax=hi)
        axes[1, j].set_title(f"{label}: log10 |FFT(error)|")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    if errs:
        fig.colorbar(im, ax=axes[1, 1:].tolist(), shrink=0.8)
    return _save(fig, path)
