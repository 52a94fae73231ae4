"""WINNER: Weight Initialization with Noise for NEural Representations (docs/method.md#winner-and-siren2).

Three pieces, each usable alone:

* [`spectral_centroid`][] — ψ, how far up the spectrum the target's energy sits (Nyquist = 1);
* [`RULES`][] / [`noise_scales`][] — the empirical map ψ ↦ (s0, s1), one table, named variants;
* [`winner_`][] — an in-place initializer like ``torch.nn.init``: add N(0, (s0/ω0)²) to W⁰ and
  N(0, (s1/ω0)²) to W¹ of a network that was given the SIREN initialization;
* [`auto_scales`][] — ``rule="auto"``: (s0, s1) from the target with no fitted constants, for
  any input dimension and channel count: the last layer's spectrum matched to the target's along a
  valley of (s0, s1), and a race of short fits along it.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.ndimage import uniform_filter1d
from torch import nn

__all__ = ["spectral_centroid", "FLOOR_BINS", "FLOOR_MARGIN", "periodogram_floor", "channel_rows", "white_floor",
           "floor_centroid", "CENTROIDS", "signal_centroid", "NoiseRule", "RULES", "AUTO", "RULE_NAMES", "resolve_rule",
           "noise_scales", "WinnerScales", "resolve_scales", "winner_", "AUTO_UNITS", "axis_spectra",
           "spectrum_distance", "nyquist", "s0_candidates", "target_spectra", "AUTO_LINE", "oversampled",
           "AUTO_LINES", "axis_lines", "VALLEY_S1", "valley", "auto_scales"]


def spectral_centroid(values: np.ndarray, grid: tuple[int, ...] | None = None) -> float:
    """ψ = 2·mean_c(centroid_c)/C of ``values`` (N, C) laid out on ``grid`` (docs/method.md#the-spectral-centroid).

    The centroid Σ f·|Y(f)| / Σ |Y(f)| (f in cycles/sample, the DC bin in the denominator) is taken
    along the last grid axis and averaged over the others. The reference image script passes the
    row-major *flattened* image, so the paper's image rules were fitted on ψ of ``grid=None``
    (camera.png: 0.312 flattened, 0.173 per row); [`signal_centroid`][] picks that by default.

    Parameters
    ----------
    values
        (N, C), or (N,) for one channel.
    grid
        The grid the values lie on, row-major; None: one 1-D sequence (the flattened signal).

    Returns
    -------
    float
        ψ in [0, 1] (Nyquist = 1). A constant channel has no centroid and counts 0.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    n, c = values.shape
    grid = (n,) if grid is None else tuple(grid)
    arr = values.reshape(*grid, c)
    spectrum = np.abs(np.fft.rfft(arr, axis=-2))  # along the last spatial axis
    freqs = np.fft.rfftfreq(grid[-1], d=1.0).reshape(-1, 1)
    total = spectrum.sum(axis=-2)
    weighted = (spectrum * freqs).sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroid = np.where(total > 0, weighted / np.where(total > 0, total, 1.0), 0.0)
    per_channel = centroid.reshape(-1, c).mean(axis=0)
    return float(2.0 * per_channel.mean() / c)


FLOOR_BINS = 129  # the moving average that smooths the periodogram before its floor is read
FLOOR_MARGIN = 1.5  # a bin counts as signal where its smoothed power is this many times the floor


def periodogram_floor(power: np.ndarray, bins: int) -> tuple[float, np.ndarray]:
    """The white floor of a periodogram |Y|², by minimum statistics.

    The periodogram is smoothed over ``bins`` bins; the bins below twice the smoothed minimum are taken
    as floor only, and their mean is the floor.

    Parameters
    ----------
    power
        The periodogram |Y(f)|².
    bins
        The width of the moving average.

    Returns
    -------
    floor : float
        The floor's power per bin.
    smooth : ndarray
        The smoothed periodogram.
    """
    smooth = np.maximum(uniform_filter1d(power, min(bins, power.size), mode="nearest"), 0.0)  # no -1e-21
    return float(smooth[smooth <= 2 * smooth.min()].mean()), smooth


def channel_rows(values: np.ndarray) -> np.ndarray:
    """``values`` (N, C) or (N,) as float64 rows, one per channel.

    Parameters
    ----------
    values
        (N, C) or (N,).

    Returns
    -------
    ndarray
        (C, N).
    """
    values = np.asarray(values, dtype=np.float64)
    return (values.reshape(values.shape[0], -1) if values.ndim > 1 else values[:, None]).T


def white_floor(values: np.ndarray, bins: int = FLOOR_BINS) -> float:
    """The power per sample of the white noise in ``values``, from its spectrum's floor.

    σ̂² for Gaussian noise of σ: σ̂ within 10% on seven of the eight shared clips at σ 0.05 and 0.1,
    not on arch, whose content covers the whole band.

    Parameters
    ----------
    values
        (N, C) or (N,).
    bins
        The smoothing of [`periodogram_floor`][].

    Returns
    -------
    float
        The mean over channels.
    """
    chans = channel_rows(values)
    return float(np.mean([periodogram_floor(np.abs(np.fft.rfft(x)) ** 2, bins)[0] / x.size for x in chans]))


def floor_centroid(values: np.ndarray, bins: int = FLOOR_BINS, margin: float = FLOOR_MARGIN) -> float:
    """ψ of the part of a damaged signal's spectrum that stands above its white floor.

    White noise, and the zeros of randomly missing samples, add a flat floor to the power spectrum
    |Y(f)|² of the flattened ``values`` and pull ψ towards 0.5 (gt_bach: 0.07 clean, 0.38 at σ 0.05).
    The floor is read by minimum statistics ([`white_floor`][]); the centroid keeps the bins whose
    smoothed power is ``margin`` times the floor, each weighted by √(|Y|² − floor).

    Parameters
    ----------
    values
        (N, C) or (N,), flattened.
    bins
        The smoothing of [`periodogram_floor`][].
    margin
        A bin counts as signal where its smoothed power is this many times the floor.

    Returns
    -------
    float
        ψ. A clean signal (no floor) keeps its ψ; white noise alone has nothing above its floor (ψ 0).
    """
    chans = channel_rows(values)
    freqs = np.fft.rfftfreq(chans.shape[1], d=1.0)
    total = 0.0
    for channel in chans:
        power = np.abs(np.fft.rfft(channel)) ** 2
        floor, smooth = periodogram_floor(power, bins)
        magnitude = np.where(smooth > margin * floor, np.sqrt(np.maximum(power - floor, 0.0)), 0.0)
        mass = magnitude.sum()
        total += (magnitude * freqs).sum() / mass if mass > 0 else 0.0
    c = chans.shape[0]
    return float(2.0 * total / c / c)


# How ψ is read from a signal: the paper's flattened spectrum, per grid row, or above the noise floor.
CENTROIDS = ("flattened", "grid", "above_floor")


def signal_centroid(signal, centroid: str = "flattened") -> float:
    """ψ of a [`Signal`][siren2.signal.Signal], read as ``centroid`` says.

    Parameters
    ----------
    signal : Signal
        The target.
    centroid
        One of `CENTROIDS`: ``"flattened"`` (the paper's choice), ``"grid"`` (along the last
        grid axis), or ``"above_floor"`` ([`floor_centroid`][], for damaged signals; restoration's
        default).

    Returns
    -------
    float
        ψ.

    Raises
    ------
    ValueError
        If ``centroid`` is not one of `CENTROIDS`.
    """
    if centroid not in CENTROIDS:
        raise ValueError(f"centroid must be one of {', '.join(CENTROIDS)}, not {centroid!r}")
    if centroid == "above_floor":
        return floor_centroid(signal.values)
    return spectral_centroid(signal.values, None if centroid == "flattened" else signal.grid)


@dataclass(frozen=True)
class NoiseRule:
    """An empirical rule ψ ↦ (s0, s1): s0 = amp·(1 − exp(−rate·x)), s1 = slope·x, with x = ψ/C (or ψ/√C).

    Call it as ``rule(psi, channels)`` for (s0, s1).

    Attributes
    ----------
    amp
        s0's ceiling.
    rate
        s0's rate.
    slope
        s1's slope.
    channel_norm
        "C" (x = ψ/C) or "sqrtC" (x = ψ/√C, the ``sqrtc`` variant).
    """

    amp: float
    rate: float
    slope: float
    channel_norm: str = "C"  # "C" or "sqrtC"

    def __call__(self, psi: float, channels: int) -> tuple[float, float]:
        x = psi / (channels if self.channel_norm == "C" else math.sqrt(channels))
        return self.amp * (1.0 - math.exp(-self.rate * x)), self.slope * x


# The empirical rules, keyed by variant name, then by input dimension (1 audio, 2 images).
# "code" is the authors' reference code (the default); "text" the paper's a = 5 for audio;
# "sqrtc" an earlier revision's ψ/√C. 3-D has none: use rule "auto" (:func:`auto_scales`) or give s0, s1.
RULES: dict[str, dict[int, NoiseRule]] = {
    "code": {1: NoiseRule(3500.0, 7.0, 3.0), 2: NoiseRule(50.0, 5.0, 0.4)},
    "text": {1: NoiseRule(3500.0, 5.0, 3.0), 2: NoiseRule(50.0, 5.0, 0.4)},
    "sqrtc": {1: NoiseRule(3500.0, 7.0, 3.0, "sqrtC"), 2: NoiseRule(50.0, 5.0, 0.4, "sqrtC")},
}


AUTO = "auto"  # the rule that searches (s0, s1) on the model itself: :func:`auto_scales`
RULE_NAMES = (*RULES, AUTO)


def resolve_rule(rule: str | None, in_dim: int) -> str:
    """``rule``, or, when none is named, the paper's ``code`` where it has one (audio, images), else ``auto``.

    Parameters
    ----------
    rule
        A rule name, or None.
    in_dim
        The signal's dimension.

    Returns
    -------
    str
    """
    return rule or ("code" if in_dim in RULES["code"] else AUTO)


def noise_scales(psi: float, in_dim: int, channels: int, rule: str = "code") -> tuple[float, float]:
    """(s0, s1) for a target with centroid ψ, by the named rule of [`RULES`][].

    Parameters
    ----------
    psi
        The target's spectral centroid ψ.
    in_dim
        The signal's dimension (1 audio, 2 images).
    channels
        The signal's channel count C.
    rule
        A key of [`RULES`][]: ``code`` (the authors' reference code), ``text`` (the paper's a = 5 for
        audio) or ``sqrtc``.

    Returns
    -------
    s0 : float
        The noise scale of W⁰, before the division by ω0.
    s1 : float
        The noise scale of W¹, before the division by ω0.

    Raises
    ------
    ValueError
        For rule ``auto`` (it reads the model too: [`auto_scales`][]), an unknown rule, or an
        ``in_dim`` the rule has no entry for (3-D).
    """
    if rule == AUTO:
        raise ValueError("rule 'auto' reads the model as well as ψ: use auto_scales (create_model does)")
    if rule not in RULES:
        raise ValueError(f"unknown noise rule {rule!r}; choose from {sorted(RULES)}")
    if in_dim not in RULES[rule]:
        raise ValueError(f"no noise rule for {in_dim}-D inputs: use rule 'auto', or give s0 and s1 explicitly")
    return RULES[rule][in_dim](psi, channels)


@dataclass(frozen=True)
class WinnerScales:
    """The resolved WINNER setting of one fit; goes into every config.json.

    Attributes
    ----------
    psi
        The target's ψ; None when s0 and s1 were given without a signal.
    s0
        The noise scale of W⁰ (N(0, (s0/ω0)²) added).
    s1
        The noise scale of W¹ (N(0, (s1/ω0)²) added).
    rule
        The rule that gave them; None when both were given.
    centroid
        How ψ was read (`CENTROIDS`).
    search
        Rule ``auto``: the evidence ([`auto_scales`][]); not compared.
    """

    psi: float | None
    s0: float
    s1: float
    rule: str | None
    centroid: str = "flattened"  # how ψ was read (:data:`CENTROIDS`)
    search: dict | None = field(default=None, compare=False)  # rule "auto": the evidence (:func:`auto_scales`)

    def asdict(self) -> dict:
        """The setting as plain data (``search`` only where there is one).

        Returns
        -------
        dict
        """
        d = {"psi": self.psi, "s0": self.s0, "s1": self.s1, "rule": self.rule, "centroid": self.centroid}
        return d | ({"search": self.search} if self.search is not None else {})


def resolve_scales(
    signal=None, *, s0: float | None = None, s1: float | None = None, rule: str | None = None,
    centroid: str = "flattened"
) -> WinnerScales:
    """(s0, s1) from the target by a ψ rule, or as given; a given value wins over the rule.

    Rule ``auto`` needs the model too: [`auto_scales`][].

    Parameters
    ----------
    signal : Signal, optional
        The target; needed unless both ``s0`` and ``s1`` are given.
    s0, s1
        Given noise scales; None: from the rule.
    rule
        A key of [`RULES`][]; None: [`resolve_rule`][]'s default.
    centroid
        How ψ is read (`CENTROIDS`).

    Returns
    -------
    WinnerScales
        A constant signal has no spectral centroid (ψ 0): it warns and its rule scales are 0.

    Raises
    ------
    ValueError
        If neither a signal nor both scales are given, or the rule does not apply ([`noise_scales`][]).
    """
    if s0 is not None and s1 is not None:
        psi = signal_centroid(signal, centroid) if signal is not None else None
        return WinnerScales(psi, float(s0), float(s1), None, centroid)
    if signal is None:
        raise ValueError("WINNER needs the target signal, or both s0 and s1")
    psi = signal_centroid(signal, centroid)
    if psi == 0.0:
        warnings.warn(f"{signal.source or 'signal'}: constant signal has no spectral centroid; s0 = s1 = 0",
                      stacklevel=2)
    rule = resolve_rule(rule, signal.in_dim)
    r0, r1 = noise_scales(psi, signal.in_dim, signal.channels, rule)
    return WinnerScales(psi, float(r0 if s0 is None else s0), float(r1 if s1 is None else s1), rule, centroid)


@torch.no_grad()
def winner_(model: nn.Module, s0: float, s1: float, omega0: float = 30.0,
            generator: torch.Generator | None = None) -> nn.Module:
    """Add N(0, (s0/ω0)²) to W⁰ and N(0, (s1/ω0)²) to W¹, in place; biases and other layers untouched.

    Both scales are divided by the *hidden* ω0, not by ω_first (docs/method.md#winner-and-siren2).

    Parameters
    ----------
    model : nn.Module or (nn.Linear, nn.Linear)
        A model with a ``first_two_linear()`` method returning its first two ``nn.Linear`` layers
        (every sine-family model of [`siren2.models`][]), or such a pair directly.
    s0, s1
        The noise scales; 0 leaves that layer as it is.
    omega0
        The hidden ω0.
    generator
        Draws the noise (on the CPU); None: torch's global RNG.

    Returns
    -------
    nn.Module
        ``model``.

    Raises
    ------
    TypeError
        If ``model`` has no ``first_two_linear()``, or that method refuses it (not a real sine-family
        network).
    """
    if isinstance(model, (tuple, list)):
        first, second = model
    elif hasattr(model, "first_two_linear"):
        first, second = model.first_two_linear()
    else:
        raise TypeError(f"WINNER does not apply to {type(model).__name__}: it has no first_two_linear()")
    for layer, s in ((first, s0), (second, s1)):
        if s:
            noise = torch.randn(layer.weight.shape, generator=generator, dtype=layer.weight.dtype)
            layer.weight.add_(noise.to(layer.weight.device), alpha=s / omega0)
    return model


# ----------------------------------------------------------------------------------- rule "auto"

AUTO_UNITS = 64  # last-layer units whose spectra are averaged (fewer when the layer is narrower)


def axis_spectra(values: torch.Tensor, grid: tuple[int, ...]) -> list[torch.Tensor]:
    """Per grid axis, the mean magnitude spectrum |rfft| of ``values`` along that axis.

    Hann-windowed (else the edges of a window leak a 1/f tail that reads as high frequency: a
    sinusoid of one period has centroid 0.17), averaged over the other axes and the K columns, without
    its DC bin.

    Parameters
    ----------
    values
        (N, K) laid out row-major on ``grid``.
    grid
        The grid's shape.

    Returns
    -------
    list of Tensor
        One spectrum per axis.
    """
    arr = values.reshape(*grid, -1)
    out = []
    for axis in range(len(grid)):
        taper = torch.hann_window(grid[axis] + 2, periodic=False, dtype=arr.dtype, device=arr.device)[1:-1]
        taper = taper.reshape([-1 if a == axis else 1 for a in range(arr.ndim)])
        mag = torch.fft.rfft(arr * taper, dim=axis).abs()
        out.append(mag.movedim(axis, 0).reshape(mag.shape[axis], -1).mean(dim=1)[1:])
    return out


def spectrum_distance(spectra: list[torch.Tensor], target: list[torch.Tensor]) -> float:
    """The 1-Wasserstein distance between two magnitude spectra as distributions over frequency.

    Parameters
    ----------
    spectra
        Per axis, a magnitude spectrum ([`axis_spectra`][]).
    target
        Per axis, the spectrum to match, on the same bins.

    Returns
    -------
    float
        Averaged over axes (Nyquist = 1); an axis of fewer than 2 bins (a thin grid), or whose target
        is all zeros, is skipped.
    """
    dists = []
    for p, q in zip(spectra, target):
        if p.numel() < 2 or q.sum() == 0:
            continue
        p, q = p / p.sum().clamp_min(1e-30), q / q.sum()
        dists.append(float(torch.cumsum(p - q, 0).abs().sum()) / p.numel())
    return float(np.mean(dists)) if dists else 0.0


def nyquist(signal) -> float:
    """The highest angular frequency the signal's grid holds: π / (the finest sample spacing).

    Parameters
    ----------
    signal : Signal
        Its grid and extent.

    Returns
    -------
    float
        In radians per coordinate unit (235,618 for 150,000 samples over [-1, 1]).
    """
    extent = signal.extent or ((-1.0, 1.0),) * signal.in_dim
    steps = [(hi - lo) / (n - 1) for (lo, hi), n in zip(extent, signal.grid) if n > 1]
    return math.pi / min(steps) if steps else math.pi


def s0_candidates(signal, s0: float | None = None) -> list[float]:
    """The s0 rule ``auto`` scans, from the grid's Nyquist Ω alone.

    Parameters
    ----------
    signal : Signal
        Its grid and extent ([`nyquist`][]).
    s0
        A given s0: the only candidate.

    Returns
    -------
    list of float
        {0} ∪ Ω·2^(−k/2), k = 0…24 (Ω down to Ω/4096), ascending.
    """
    return [float(s0)] if s0 is not None else [0.0] + [nyquist(signal) * 2 ** (-k / 2) for k in range(24, -1, -1)]


def target_spectra(signal) -> list[torch.Tensor]:
    """[`axis_spectra`][] of the signal's values less their mean (what rule ``auto`` matches).

    Parameters
    ----------
    signal : Signal
        The target.

    Returns
    -------
    list of Tensor
    """
    return axis_spectra(torch.as_tensor(signal.values - signal.values.mean(axis=0)), signal.grid)


AUTO_LINE = 8192  # the most points along one axis of the window the valley reads (:func:`oversampled`)


def oversampled(signal, line: int | None = AUTO_LINE) -> tuple[torch.Tensor, tuple[int, ...], list[torch.Tensor]]:
    """A window at the centre of ``signal``'s extent at twice its resolution (a spectrum up to 2Ω).

    The central 1/p of each axis, p = 2 (as many points as the signal) or, where that holds more than
    ``line`` points, the least power of 2 that holds at most ``line`` (30,000 samples: p = 8, 7,500
    points). A sampled target holds nothing above its Nyquist Ω, so activations read there that alias
    past Ω count as a mismatch.

    Parameters
    ----------
    signal : Signal
        The target.
    line
        The most points along one axis; None: no limit.

    Returns
    -------
    coords : Tensor
        The window's coordinates.
    grid : tuple of int
        Its grid.
    target : list of Tensor
        The target's spectrum on its bins ([`axis_spectra`][], pooled p bins to one, zeros above Ω).
    """
    from .signal import grid_coords

    extent = signal.extent or ((-1.0, 1.0),) * signal.in_dim
    window, grid, target = [], [], []
    for (lo, hi), n, s in zip(extent, signal.grid, target_spectra(signal)):
        p = 2
        while line is not None and 2 * n / p > line:
            p *= 2
        half = (hi - lo) / (2 * p)
        window.append(((lo + hi) / 2 - half, (lo + hi) / 2 + half))
        grid.append(max(2, round(2 * n / p)))
        pooled = s[: s.numel() // p * p].reshape(-1, p).sum(1)
        target.append(torch.cat([pooled, torch.zeros(max(0, grid[-1] // 2 - pooled.numel()), dtype=s.dtype)]))
    return grid_coords(tuple(grid), tuple(window)), tuple(grid), target


AUTO_LINES = 64  # the grid lines along each axis whose spectra the valley averages (every k-th in the other axes)


def axis_lines(grid: tuple[int, ...]) -> list[tuple[slice, ...]]:
    """Per axis, the grid lines along it that rule ``auto`` reads.

    Every line along that axis, at every k-th position in the other axes, k the smallest stride that
    leaves at most `AUTO_LINES` lines (a 32³ volume: 8 x 8 lines of 32 per axis, a sixth of its
    points in all).

    Parameters
    ----------
    grid
        The grid's shape.

    Returns
    -------
    list of tuple of slice
        Per axis, an index into an array laid out on ``grid``.
    """
    views = []
    for axis in range(len(grid)):
        others = [n for a, n in enumerate(grid) if a != axis]
        k = 1
        while math.prod(-(-n // k) for n in others) > AUTO_LINES:
            k += 1
        views.append(tuple(slice(None) if a == axis else slice(k // 2, None, k) for a in range(len(grid))))
    return views


VALLEY_S1 = (0.0, 1.0, 4.0)  # the valley's s1, in units of √(2/H) (SIREN's hidden weight spread × ω0)


@torch.no_grad()
def valley(model: nn.Module, signal, *, s0: float | None = None, s1: float | None = None) -> list[dict]:
    """Rule ``auto``'s valley: per s1, the s0 whose last hidden layer best matches the target's spectrum.

    At each s1 of {0} ∪ √(2/H)·{1, 4}, the s0 whose *last* hidden layer, at initialization, is closest
    to the target's spectrum read up to 2Ω ([`oversampled`][]: features that alias past the Nyquist
    Ω count as a mismatch), by [`spectrum_distance`][] over up to `AUTO_UNITS` units and the
    [`axis_lines`][] of each axis. W⁰ and W¹ get the noise [`winner_`][] would add (the same draws
    for every candidate, and the ones ``winner_`` then adds: the global RNG is left as it was). s0 runs
    over [`s0_candidates`][], every fourth one, then the best's neighbours two and one steps away.
    Along the valley the distance barely moves while s0 falls as s1 rises
    (docs/studies/auto_valley.md): the spectrum at initialization cannot choose between its points; a
    short fit can ([`auto_scales`][]).

    Parameters
    ----------
    model : nn.Module
        Holds SIREN's initialization (before WINNER); left unchanged.
    signal : Signal
        The target.
    s0, s1
        A given value is the only candidate on its axis.

    Returns
    -------
    list of dict
        One point per s1: ``{"s0", "s1", "distance", "scanned"}`` (``scanned``: the s0 candidates
        scored).
    """
    first, second = model.first_two_linear()
    omega0, width = model.config.omega0, second.in_features
    rng = torch.get_rng_state()
    e0 = torch.randn(first.weight.shape, dtype=first.weight.dtype).to(first.weight.device)
    e1 = torch.randn(second.weight.shape, dtype=second.weight.dtype).to(second.weight.device)
    torch.set_rng_state(rng)
    w0, w1 = first.weight.clone(), second.weight.clone()
    coords, grid, target = oversampled(signal)
    window = coords.reshape(*grid, -1)
    lines = [window[view] for view in axis_lines(grid)]
    x = model.encoding(torch.cat([g.reshape(-1, g.shape[-1]) for g in lines]).to(first.weight.device))
    target = [t.to(x.device) for t in target]
    s0s = s0_candidates(signal, s0)
    s1s = [float(s1)] if s1 is not None else [math.sqrt(2.0 / width) * k for k in VALLEY_S1]

    def distance(a: float, b: float) -> float:
        first.weight.copy_(w0 + e0 * (a / omega0))
        second.weight.copy_(w1 + e1 * (b / omega0))
        h = x
        for block in model.hidden:
            h = block(h)
        parts = h[:, :AUTO_UNITS].split([math.prod(g.shape[:-1]) for g in lines])
        spectra = [axis_spectra(part, g.shape[:-1])[axis] for axis, (part, g) in enumerate(zip(parts, lines))]
        return spectrum_distance(spectra, target)

    points = []
    try:
        for b in s1s:
            scores = {i: distance(s0s[i], b) for i in range(0, len(s0s), 4)}
            for step in (2, 1):
                best = min(scores, key=scores.get)
                scores |= {i: distance(s0s[i], b) for i in (best - step, best + step)
                           if 0 <= i < len(s0s) and i not in scores}
            best = min(scores, key=scores.get)
            points.append({"s0": s0s[best], "s1": b, "distance": scores[best], "scanned": len(scores)})
    finally:
        first.weight.copy_(w0)
        second.weight.copy_(w1)
    return points


def auto_scales(model: nn.Module, signal, *, s0: float | None = None, s1: float | None = None,
                centroid: str = "flattened", race=None) -> WinnerScales:
    """Rule ``"auto"``: (s0, s1) from the target and the network, no ψ and no fitted constant.

    The [`valley`][] of the 2Ω spectral match gives one (s0, s1) point per s1; ``race`` picks among
    them; without a race the closest point wins. Deterministic under the seed the model was built
    with; the global RNG is restored after the race, so ``winner_`` then adds the draws the valley
    scored.

    Parameters
    ----------
    model : nn.Module
        Holds SIREN's initialization; not changed.
    signal : Signal
        The target.
    s0, s1
        A given value is the only candidate on its axis.
    centroid
        How the recorded ψ is read (`CENTROIDS`).
    race : callable, optional
        ``race(s0, s1) -> loss`` of a short fit, lower is better ([`siren2.runs.build`][] races
        `siren2.runs.RACE_FRACTION`, 2.5%, of the fit's epochs per point).

    Returns
    -------
    WinnerScales
        Rule ``auto``, with ``search``: the valley with each point's distance (and short-fit loss), the
        seconds taken.
    """
    start = time.perf_counter()
    points = valley(model, signal, s0=s0, s1=s1)
    raced = race is not None and len(points) > 1
    valley_seconds = time.perf_counter() - start
    if raced:
        with torch.random.fork_rng(devices=[]):
            for p in points:
                p["short_fit_loss"] = float(race(p["s0"], p["s1"]))
    pick = min(points, key=lambda p: p["short_fit_loss" if raced else "distance"])
    search = {"method": "the valley of the last layer's spectrum vs the target's up to 2Ω (1-Wasserstein per axis), "
                        + ("raced by short fits" if raced else "the closest point"),
              "candidates_scanned": sum(p.pop("scanned") for p in points), "nyquist": nyquist(signal),
              "valley": points, "valley_seconds": valley_seconds, "seconds": time.perf_counter() - start}
    return WinnerScales(signal_centroid(signal, centroid), pick["s0"], pick["s1"], AUTO, centroid, search)
