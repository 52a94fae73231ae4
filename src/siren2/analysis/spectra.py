"""Spectra on a regular grid, shared by the activation and NTK analyses.

Points are a sub-grid of the signal's grid ([`subgrid`][]): a contiguous window, or an evenly
strided selection. Frequencies are in cycles per sample of the *signal's* grid (0 … 0.5 at the
window's Nyquist; ×sample_rate for Hz), so spectra of different sub-grids share one axis.

A spectrum is the periodogram |FFT(v)|²/n of columns v laid out on the sub-grid, combined with
weights ([`weighted_power`][]). 1-D: the one-sided rFFT bins. 2-D: the 2-D FFT, radially
averaged — the mean power over the FFT cells whose radius √(f_y² + f_x²) falls in each ring of
width 1/min(h, w), for radii up to 0.5 (the largest circle inside the band; the corners are left out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["subgrid", "SubGrid", "frequencies", "weighted_power", "centroid", "median_frequency", "energy_above"]


def subgrid(grid: tuple[int, ...], n: int, mode: str = "window") -> tuple[np.ndarray, tuple[int, ...], int]:
    """At most ``n`` points of ``grid`` on a regular sub-grid.

    ``mode="window"``: a contiguous block centred in the grid (native spacing; stride 1), so the
    spectra reach the signal's own Nyquist. ``mode="even"``: every ``stride``-th sample along each
    axis, spread over the whole signal (the frequency axis ends at 0.5/stride and higher content
    aliases). In 2-D the block is square-ish: ⌊√n⌋ per side, capped by the grid.

    Parameters
    ----------
    grid
        A 1-D or 2-D grid.
    n
        The most points (at least 2).
    mode
        "window" or "even".

    Returns
    -------
    index : ndarray
        Flat row-major indices into the grid.
    shape : tuple of int
        The sub-grid's shape.
    stride : int
        Its spacing, in samples of the grid.

    Raises
    ------
    ValueError
        For an unknown mode, a grid of 3 or more dimensions, or ``n`` below 2.
    """
    if mode not in ("window", "even"):
        raise ValueError(f"sampling must be 'window' or 'even', not {mode!r}")
    if len(grid) not in (1, 2):
        raise ValueError(f"spectra are defined for 1-D and 2-D grids, not {len(grid)}-D {tuple(grid)}")
    if n < 2:
        raise ValueError(f"need at least 2 points, not {n}")
    side = n if len(grid) == 1 else max(2, int(np.sqrt(n)))
    sides = [min(side, g) for g in grid]
    stride = 1 if mode == "window" else max(1, min(g // s for g, s in zip(grid, sides)))
    axes = []
    for g, s in zip(grid, sides):
        start = (g - (s - 1) * stride - 1) // 2  # centred
        axes.append(start + stride * np.arange(s))
    mesh = np.meshgrid(*axes, indexing="ij")
    index = np.ravel_multi_index(tuple(m.ravel() for m in mesh), grid)
    return index, tuple(sides), stride


@dataclass
class SubGrid:
    """Points of a signal on a regular sub-grid ([`subgrid`][]): where the analyses look.

    Attributes
    ----------
    index
        Flat row-major indices into the signal's values.
    shape
        The sub-grid's shape.
    stride
        Its spacing, in samples of the signal's grid.
    coords
        (n, d), the model's coordinates of those points.
    """

    index: np.ndarray  # flat row-major indices into the signal's values
    shape: tuple[int, ...]
    stride: int
    coords: torch.Tensor  # (n, d), the model's coordinates of those points

    @classmethod
    def of(cls, signal, n: int, mode: str = "window") -> "SubGrid":
        """The sub-grid of ``signal``'s grid that [`subgrid`][] picks.

        Parameters
        ----------
        signal : Signal
            The signal.
        n
            The most points.
        mode
            "window" or "even".

        Returns
        -------
        SubGrid
        """
        index, shape, stride = subgrid(signal.grid, n, mode)
        return cls(index, shape, stride, signal.coords()[torch.from_numpy(index)])

    @property
    def n(self) -> int:
        """The number of points."""
        return len(self.index)

    @property
    def freqs(self) -> np.ndarray:
        """The frequency axis of its spectra ([`frequencies`][]), in cycles per sample of the full grid."""
        return frequencies(self.shape, self.stride)

    def power(self, values: np.ndarray) -> np.ndarray:
        """The periodogram of each channel of ``values`` at these points, mean removed.

        Parameters
        ----------
        values
            (N, C) on the signal's grid.

        Returns
        -------
        ndarray
            (C, F).
        """
        v = np.asarray(values, dtype=np.float64)[self.index]
        return np.stack([weighted_power(v[:, [c]] - v[:, c].mean(), self.shape, np.ones(1))
                         for c in range(v.shape[1])])


def frequencies(shape: tuple[int, ...], stride: int = 1) -> np.ndarray:
    """The frequency axis of [`weighted_power`][] on ``shape``, in cycles per sample of the full grid.

    Parameters
    ----------
    shape
        The sub-grid's shape (1-D or 2-D).
    stride
        Its spacing in samples of the full grid.

    Returns
    -------
    ndarray
    """
    if len(shape) == 1:
        return np.fft.rfftfreq(shape[0]) / stride
    return (np.arange(min(shape) // 2 + 1) / min(shape)) / stride


def weighted_power(columns: np.ndarray, shape: tuple[int, ...], weights: np.ndarray | None = None) -> np.ndarray:
    """Σ_j w_j |FFT(v_j)|² / n for the columns v_j of ``columns`` laid out row-major on ``shape``.

    1-D: per rFFT bin; 2-D: radially averaged (see the module docstring). Columns are processed in
    blocks to bound memory.

    Parameters
    ----------
    columns
        (n, k).
    shape
        The grid, prod(shape) = n.
    weights
        (k,); default: 1/k each (the mean periodogram).

    Returns
    -------
    ndarray
        (F,).

    Raises
    ------
    ValueError
        If the n points do not fill ``shape``.
    """
    columns = np.asarray(columns)
    n, k = columns.shape
    if n != int(np.prod(shape)):
        raise ValueError(f"{n} points do not fill the grid {shape}")
    weights = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=np.float64)
    block = max(1, 2**24 // n)
    if len(shape) == 1:
        total = np.zeros(n // 2 + 1)
        for j in range(0, k, block):
            power = np.abs(np.fft.rfft(columns[:, j : j + block], axis=0)) ** 2 / n
            total += power @ weights[j : j + block]
        return total
    h, w = shape
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")).ravel()
    ring = np.rint(radius * min(h, w)).astype(int)
    nbins = min(h, w) // 2 + 1
    inside = ring < nbins
    counts = np.bincount(ring[inside], minlength=nbins)
    total = np.zeros(h * w)
    for j in range(0, k, block):
        cols = columns[:, j : j + block].T.reshape(-1, h, w)
        power = np.abs(np.fft.fft2(cols)).reshape(len(cols), -1) ** 2 / n
        total += weights[j : j + block] @ power
    return np.bincount(ring[inside], weights=total[inside], minlength=nbins) / np.maximum(counts, 1)


def centroid(spectrum: np.ndarray, freqs: np.ndarray) -> float:
    """Σ f·S(f) / Σ S(f): where a power spectrum's energy sits.

    Parameters
    ----------
    spectrum
        S(f).
    freqs
        f.

    Returns
    -------
    float
        In the units of ``freqs``; 0 for an empty spectrum.
    """
    total = float(np.sum(spectrum))
    return float(np.sum(freqs * spectrum) / total) if total > 0 else 0.0


def median_frequency(spectrum: np.ndarray, freqs: np.ndarray) -> float:
    """The frequency below which half of the power lies.

    Parameters
    ----------
    spectrum
        S(f).
    freqs
        f.

    Returns
    -------
    float
        0 for an empty spectrum.
    """
    cum = np.cumsum(spectrum)
    return float(freqs[np.searchsorted(cum, 0.5 * cum[-1])]) if cum[-1] > 0 else 0.0


def energy_above(spectrum: np.ndarray, freqs: np.ndarray, cutoff: float) -> float:
    """The fraction of a power spectrum's energy at frequencies ≥ ``cutoff``.

    Parameters
    ----------
    spectrum
        S(f).
    freqs
        f.
    cutoff
        In the units of ``freqs``.

    Returns
    -------
    float
        0 for an empty spectrum.
    """
    total = float(np.sum(spectrum))
    return float(np.sum(spectrum[freqs >= cutoff]) / total) if total > 0 else 0.0
