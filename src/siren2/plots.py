"""Every figure siren2 draws. The only module that imports matplotlib (Agg, no display needed).

Each function takes plain arrays and a path and writes one PNG atomically.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .io.files import atomic_file  # noqa: E402

__all__ = ["psnr_curves", "audio_fit", "image_fit", "restoration_audio", "restoration_image",
           "activation_histograms", "spectra", "eigenvalue_decay", "sensitivity", "suite_curves", "suite_bars",
           "rate_distortion", "tuning"]


def _save(fig, path) -> Path:
    path = Path(path)
    try:
        with atomic_file(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
    return path


def psnr_curves(curves: dict[str, list[float]], path, title: str = "",
                bands: dict[str, tuple[list[float], list[float]]] | None = None) -> Path:
    """psnr_paper per epoch, one line per run.

    Parameters
    ----------
    curves
        Label → psnr_paper per epoch.
    path : str or os.PathLike
        The PNG to write.
    title
        The title.
    bands
        ``bands[label] = (low, high)`` shades a range (e.g. over seeds).

    Returns
    -------
    Path
        ``path``.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    for label, ys in curves.items():
        (line,) = ax.plot(np.arange(1, len(ys) + 1), ys, label=label, lw=1.2)
        if bands and label in bands:
            lo, hi = bands[label]
            ax.fill_between(np.arange(1, len(lo) + 1), lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("psnr_paper (dB, [-1, 1] data)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def rate_distortion(curves: dict[str, tuple[list[float], list[float]]], path, title: str = "",
                    xlabel: str = "bits per sample", marks: dict[str, float] | None = None) -> Path:
    """psnr_paper against rate, one line (with its points) per codec.

    Parameters
    ----------
    curves
        Label → (rates, psnr_paper values), in rate order.
    path : str or os.PathLike
        The PNG to write.
    title, xlabel
        The title and the rate axis's label (the axis is logarithmic).
    marks
        Label → a rate to mark with a dotted vertical line (e.g. a target rate).

    Returns
    -------
    Path
        ``path``.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    for label, (rates, values) in curves.items():
        ax.plot(rates, values, marker="o", ms=3, lw=1.2, label=label)
    for label, rate in (marks or {}).items():
        ax.axvline(rate, color="0.5", ls=":", lw=1)
        ax.text(rate, ax.get_ylim()[0], f" {label}", rotation=90, va="bottom", fontsize=7, color="0.4")
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("psnr_paper (dB, [-1, 1] data)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def tuning(candidates: list[dict], knob: str, path, title: str = "", best: dict | None = None,
           default: dict | None = None) -> Path:
    """Held-out psnr_paper against a knob's value, one line per peak rate and round (`siren2 tune`).

    Parameters
    ----------
    candidates
        The search's fits: ``knob``, ``lr``, ``round`` and ``heldout_psnr_paper`` each.
    knob
        The knob on the x axis (log-scaled where its values are positive).
    path : str or os.PathLike
        The PNG to write.
    title
        The title.
    best, default
        Settings to mark: the pick (a star) and the defaults (a dotted line at the knob's value).

    Returns
    -------
    Path
        ``path``.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    groups: dict[tuple, list] = {}
    for c in candidates:
        groups.setdefault((c["round"], c["lr"]), []).append((c[knob], c["heldout_psnr_paper"]))
    for (rnd, lr), pts in sorted(groups.items()):
        pts.sort()
        ax.plot(*zip(*pts), marker="o" if rnd else ".", ms=4, lw=1.2 if rnd else 0.8, alpha=1 if rnd else 0.6,
                label=f"round {rnd}, lr {lr:.3g}")
    if best is not None:
        score = max((c["heldout_psnr_paper"] for c in candidates if c[knob] == best[knob] and c["lr"] == best["lr"]),
                    default=None)
        if score is not None:
            ax.plot([best[knob]], [score], marker="*", ms=14, color="k", ls="none", label="best")
    if default is not None:
        ax.axvline(default[knob], color="0.5", ls=":", lw=1)
    if all(c[knob] > 0 for c in candidates):
        ax.set_xscale("log")
    ax.set_xlabel(knob)
    ax.set_ylabel("held-out psnr_paper (dB)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
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
    """A waveform close-up and spectrograms of the target and each fit.

    Parameters
    ----------
    target
        (N,) audio.
    fits
        Label → (N,) audio.
    sr
        The sample rate.
    path : str or os.PathLike
        The PNG to write.
    zoom
        The close-up's samples, from the middle.

    Returns
    -------
    Path
        ``path``.
    """
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
    """Target, each fit, and each fit's log |FFT(error)| map on one shared colour scale.

    Parameters
    ----------
    target
        (H, W, C) on [-1, 1].
    fits
        Label → (H, W, C) on [-1, 1].
    path : str or os.PathLike
        The PNG to write.

    Returns
    -------
    Path
        ``path``.
    """
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


def restoration_audio(clean: np.ndarray, corrupted: np.ndarray, restored: dict[str, np.ndarray], sr: int, path,
                      zoom: int = 400, center: int | None = None) -> Path:
    """Spectrograms of the clean, corrupted and restored audio, and of each one's error against the clean.

    One colour scale: the signals on the left, their errors on the right; on top a waveform close-up.

    Parameters
    ----------
    clean, corrupted
        (N,) audio.
    restored
        Label → (N,) audio.
    sr
        The sample rate.
    path : str or os.PathLike
        The PNG to write.
    zoom
        The close-up's samples.
    center
        The close-up's centre; None: the middle.

    Returns
    -------
    Path
        ``path``.
    """
    rows = {"corrupted": corrupted, **restored}
    fig, axes = plt.subplots(len(rows) + 1, 2, figsize=(11, 2.4 * (len(rows) + 1)), layout="constrained")
    mid = max(0, (len(clean) // 2 if center is None else center) - zoom // 2)
    sl = slice(mid, mid + zoom)
    t_ms = np.arange(sl.start, min(sl.stop, len(clean))) / sr * 1000
    for label, y in {"clean": clean, **rows}.items():
        axes[0, 0].plot(t_ms, y[sl], lw=1.4 if label == "clean" else 0.9, label=label,
                        color="k" if label == "clean" else None)
    axes[0, 0].set_xlabel("time (ms)")
    axes[0, 0].set_title("waveform close-up")
    axes[0, 0].legend(fontsize=8)
    im, vmin = _spectrogram(axes[0, 1], clean, sr, "clean")
    for i, (label, y) in enumerate(rows.items(), start=1):
        _spectrogram(axes[i, 0], y, sr, label, vmin)
        _spectrogram(axes[i, 1], y - clean, sr, f"{label} − clean (error)", vmin)
    fig.colorbar(im, ax=axes[:, 1].tolist(), label="dB", shrink=0.6)
    return _save(fig, path)


def restoration_image(clean: np.ndarray, corrupted: np.ndarray, restored: dict[str, np.ndarray], path) -> Path:
    """Clean, corrupted and restored images (top) and each one's |error| against the clean (bottom, one scale).

    Parameters
    ----------
    clean, corrupted
        (H, W, C) on [-1, 1].
    restored
        Label → (H, W, C) on [-1, 1].
    path : str or os.PathLike
        The PNG to write.

    Returns
    -------
    Path
        ``path``.
    """
    images = {"clean": clean, "corrupted": corrupted, **restored}
    cols = len(images)
    fig, axes = plt.subplots(2, cols, figsize=(3.2 * cols, 6.6), squeeze=False, layout="constrained")
    errors = {k: np.abs(v - clean).mean(axis=-1) for k, v in images.items() if k != "clean"}
    hi = max(float(np.percentile(e, 99.5)) for e in errors.values()) or 1.0
    for j, (label, img) in enumerate(images.items()):
        shown = np.clip((img + 1) / 2, 0, 1)
        axes[0, j].imshow(shown[:, :, 0] if shown.shape[-1] == 1 else shown, cmap="gray", vmin=0, vmax=1)
        axes[0, j].set_title(label)
        if label in errors:
            im = axes[1, j].imshow(errors[label], cmap="inferno", vmin=0, vmax=hi)
            axes[1, j].set_title(f"|{label} − clean|")
        else:
            axes[1, j].axis("off")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes[1, 1:].tolist(), shrink=0.8, label="absolute error ([-1, 1] scale)")
    return _save(fig, path)


# ---------------------------------------------------------------- analysis figures (siren2.analysis)


def activation_histograms(hists: dict[str, list[dict]], path, title: str = "") -> Path:
    """Per hidden layer (rows) and model (column pairs): the densities of the pre- and post-activation.

    The pre-activation is ω·z for a sine layer. Drawn with the laws where they apply: N(0, 1 + d·s²/2)
    (the paper's, dashed), the corrected Gaussian (default bias, E[a²] of the previous layer; solid) and
    the arcsine law (dashed).

    Parameters
    ----------
    hists
        Model → per layer, [`siren2.analysis.activations.histograms`][].
    path : str or os.PathLike
        The PNG to write.
    title
        The title.

    Returns
    -------
    Path
        ``path``.
    """
    names = list(hists)
    rows = max(len(h) for h in hists.values())
    fig, axes = plt.subplots(rows, 2 * len(names), figsize=(3.4 * 2 * len(names), 2.3 * rows), squeeze=False,
                             layout="constrained")
    for j, name in enumerate(names):
        for i, h in enumerate(hists[name]):
            pre, post = axes[i, 2 * j], axes[i, 2 * j + 1]
            pc = (h["pre_edges"][1:] + h["pre_edges"][:-1]) / 2
            qc = (h["post_edges"][1:] + h["post_edges"][:-1]) / 2
            pre.stairs(h["pre_density"], h["pre_edges"], fill=True, alpha=0.5, label=f"var {h['pre_var']:.3g}")
            if np.isfinite(h["law_pre"]).any():
                pre.plot(pc, h["law_pre_paper"], "k--", lw=1, label="N(0, 1+d·s²/2)")
                pre.plot(pc, h["law_pre"], "r-", lw=1, label="corrected (bias, E[a²])")
            post.stairs(h["post_density"], h["post_edges"], fill=True, alpha=0.5, color="C1",
                        label=f"var {h['post_var']:.3g}")
            if np.isfinite(h["law_post"]).any():
                post.plot(qc, h["law_post"], "k--", lw=1, label="arcsine")
            post.set_ylim(0, 1.3 * max(h["post_density"].max(), 1e-12))
            pre.set_title(f"{name} layer {i + 1}: {h['pre_label']}", fontsize=9)
            post.set_title(f"{name} layer {i + 1}: post-activation", fontsize=9)
            for ax in (pre, post):
                ax.legend(fontsize=6, loc="upper right")
                ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def spectra(freqs: np.ndarray, panels: dict[str, dict[str, np.ndarray]], path, xlabel: str, title: str = "",
            reference: dict[str, np.ndarray] | None = None) -> Path:
    """Log-log power spectra: one panel per key of ``panels``, one line per curve.

    Every curve is shown as its fraction of power per bin, the DC bin left out, so that shapes compare
    across scales.

    Parameters
    ----------
    freqs
        The frequency of each bin.
    panels
        Panel title → label → spectrum.
    path : str or os.PathLike
        The PNG to write.
    xlabel
        The frequency axis's label.
    title
        The title.
    reference
        Curves drawn in black in every panel (e.g. the target's spectrum).

    Returns
    -------
    Path
        ``path``.
    """
    cols = min(len(panels), 2)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 3.6 * rows), squeeze=False, layout="constrained")
    share = lambda c: np.asarray(c[1:], dtype=np.float64) / max(float(np.sum(c[1:])), 1e-300)  # noqa: E731
    for ax, (name, curves) in zip(axes.ravel(), panels.items()):
        for label, c in (reference or {}).items():
            ax.loglog(freqs[1:], share(c), color="k", lw=0.7, alpha=0.45, label=label)
        for label, c in curves.items():
            ax.loglog(freqs[1:], share(c), lw=1.1, label=label)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction of power per bin")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def eigenvalue_decay(curves: dict[str, np.ndarray], path, title: str = "") -> Path:
    """Eigenvalues in descending order against their index, log-log, one line per curve.

    Non-positive values (rounding noise) are not drawn.

    Parameters
    ----------
    curves
        Label → eigenvalues, descending.
    path : str or os.PathLike
        The PNG to write.
    title
        The title.

    Returns
    -------
    Path
        ``path``.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    for label, lam in curves.items():
        lam = np.asarray(lam, dtype=np.float64)
        ax.loglog(np.arange(1, len(lam) + 1), np.where(lam > 0, lam, np.nan), lw=1.1, label=label)
    ax.set_xlabel("index i")
    ax.set_ylabel("NTK eigenvalue λ_i")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return _save(fig, path)


def sensitivity(axes: dict[str, list[float]], psnr: np.ndarray, references: dict[str, float], path,
                title: str = "") -> Path:
    """psnr_paper over one swept noise scale (a line) or a grid of two (a heat map with values).

    Parameters
    ----------
    axes
        Scale name (s0, s1) → its values; one or two.
    psnr
        psnr_paper per setting, shaped as the axes.
    references
        Other models' psnr_paper on the same budget: horizontal lines, or in the title of a heat map.
    path : str or os.PathLike
        The PNG to write.
    title
        The title.

    Returns
    -------
    Path
        ``path``.
    """
    names, values = list(axes), list(axes.values())
    fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    if len(names) == 1:
        ax.plot(values[0], psnr, "o-", label=title)
        for k, (label, v) in enumerate(references.items()):
            ax.axhline(v, color=f"C{k + 1}", ls="--", lw=1, label=label)
        ax.set_xlabel(names[0])
        ax.set_ylabel("psnr_paper (dB, [-1, 1] data)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    else:
        im = ax.imshow(psnr, origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(values[1])), [f"{v:g}" for v in values[1]])
        ax.set_yticks(range(len(values[0])), [f"{v:g}" for v in values[0]])
        ax.set_xlabel(names[1])
        ax.set_ylabel(names[0])
        for (r, c), v in np.ndenumerate(psnr):
            ax.text(c, r, f"{v:.1f}", ha="center", va="center", fontsize=8, color="w")
        fig.colorbar(im, ax=ax, label="psnr_paper (dB)")
        refs = ", ".join(f"{k} {v:.1f} dB" for k, v in references.items())
        title = f"{title}" + (f" (reference: {refs})" if refs else "")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def suite_curves(curves: dict[str, dict[str, list[float] | tuple[list[float], list[float]]]], path, title: str = "",
                 xlabel: str = "epoch", targets: dict[str, float] | None = None) -> Path:
    """psnr_paper per epoch (mean over seeds), one panel per signal, one line per model (or recipe).

    Parameters
    ----------
    curves
        Signal → model → ys, or (xs, ys) to draw against xs (e.g. seconds, with ``xlabel``).
    path : str or os.PathLike
        The PNG to write.
    title
        The title.
    xlabel
        The x axis's label.
    targets
        Signal → a dashed horizontal line (e.g. the PSNR to reach).

    Returns
    -------
    Path
        ``path``.
    """
    n = len(curves)
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(max(3.6 * cols, 6.4), 2.8 * rows + 0.4), squeeze=False,
                             layout="constrained")  # wide enough for the title and legend of one panel
    for ax, (signal, per_model) in zip(axes.ravel(), curves.items()):
        for k, (model, line) in enumerate(per_model.items()):
            xs, ys = line if isinstance(line, tuple) else (np.arange(1, len(line) + 1), line)
            ax.plot(xs, ys, lw=1, color=f"C{k % 10}", label=model)
        if targets and signal in targets:
            ax.axhline(targets[signal], color="0.4", lw=0.8, ls="--", label="target")
        ax.set_title(signal, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel("psnr_paper (dB)", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 3 * cols, 8), fontsize=8)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def suite_bars(means: dict[str, dict[str, float]], stds: dict[str, dict[str, float | None]], path,
               ylabel: str = "psnr_paper (dB)", title: str = "") -> Path:
    """Grouped bars: per signal, one bar per model (mean over seeds, error bar ± std).

    Parameters
    ----------
    means
        Signal → model → mean.
    stds
        Signal → model → std (None: no error bar).
    path : str or os.PathLike
        The PNG to write.
    ylabel
        The y axis's label.
    title
        The title.

    Returns
    -------
    Path
        ``path``.
    """
    signals = list(means)
    models = list(dict.fromkeys(m for per in means.values() for m in per))
    width = 0.8 / max(len(models), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(signals) * max(1, len(models)) * 0.35), 4.2),
                           layout="constrained")
    x = np.arange(len(signals))
    for k, model in enumerate(models):
        ys = [means[s].get(model, np.nan) for s in signals]
        err = [stds[s].get(model) or 0.0 for s in signals]
        ax.bar(x + (k - (len(models) - 1) / 2) * width, ys, width, yerr=err, capsize=2, label=model,
               color=f"C{k % 10}")
    ax.set_xticks(x, signals, rotation=20, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=min(4, len(models)))
    return _save(fig, path)
