"""The signal type: sampled data on a regular grid, as an INR sees it (no file I/O: [`siren2.io`][]).

A [`Signal`][] holds ``values`` of shape (N, C), float32 in [-1, 1], laid out row-major on
``grid`` ((N,) for audio, (H, W) for images, (D, H, W) for volumes), and what is needed to write
it back to a file (sample rate, peak, bit depth; a volume's offset, scale and dtype in ``meta``).
Coordinates are ``linspace(-1, 1)`` per axis, 'ij'-ordered and flattened (the paper's protocol,
docs: method.md#protocols); a window cut by [`crop`][] keeps the coordinates its samples had in
the whole signal (its ``extent``), so every frequency a model sees is what it would be there.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

__all__ = ["Samples", "Signal", "crop", "grid_coords", "demo_signal", "VOLUME_META"]

# what a volume's config records to write it back (and, for a shape, to map it to the mesh's frame)
VOLUME_META = ("offset", "scale", "dtype", "field", "mesh_center", "mesh_scale")


@dataclass
class Samples:
    """Samples off a signal's grid, e.g. near a shape's surface.

    Attributes
    ----------
    coords
        (M, d) float32 coordinates in the grid's frame.
    values
        (M, C) float32 values, scaled as the grid's.

    Raises
    ------
    ValueError
        If ``coords`` and ``values`` are not 2-D arrays of the same length.
    """

    coords: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        self.coords = np.ascontiguousarray(self.coords, dtype=np.float32)
        self.values = np.ascontiguousarray(self.values, dtype=np.float32)
        if self.coords.ndim != 2 or self.values.ndim != 2 or len(self.coords) != len(self.values):
            raise ValueError(f"off-grid coords {self.coords.shape} do not match values {self.values.shape}")


@dataclass
class Signal:
    """A sampled signal: ``values`` (N, C) float32 in [-1, 1] on a row-major ``grid``.

    Optionally ``off_grid`` samples that a fit trains on too (a reconstruction is rendered on the
    grid only).

    Attributes
    ----------
    values
        (N, C) float32 in [-1, 1], N = prod(grid), laid out row-major.
    grid
        (N,) for audio, (H, W) for images, (D, H, W) for volumes.
    kind
        "audio", "image" or "volume".
    sample_rate
        Audio only.
    peak
        Audio: the max|x| the samples were divided by.
    bit_depth
        Image: 8 or 16 bits per channel.
    subtype
        Audio: the soundfile subtype to write back (PCM_16, FLOAT, ...).
    source
        The file it came from, for messages and configs.
    meta
        What else writing it back needs (a volume's offset, scale and dtype; see ``VOLUME_META``).
    extent
        Per-axis (first, last) coordinate; None: (-1, 1) on every axis.
    off_grid
        Samples off the grid, trained on too.

    Raises
    ------
    ValueError
        If ``values`` does not match ``grid``, or ``off_grid`` does not match the grid's dimension
        and channel count.
    """

    values: np.ndarray
    grid: tuple[int, ...]
    kind: str  # "audio", "image" or "volume"
    sample_rate: int | None = None  # audio only
    peak: float = 1.0  # audio: the max|x| the samples were divided by
    bit_depth: int = 8  # image: 8 or 16 bits per channel
    subtype: str | None = None  # audio: soundfile subtype to write back (PCM_16, FLOAT, ...)
    source: str | None = None  # the file it came from, for messages and configs
    meta: dict = field(default_factory=dict)
    extent: tuple[tuple[float, float], ...] | None = None  # per-axis (first, last) coordinate; None: (-1, 1)
    off_grid: Samples | None = None

    def __post_init__(self) -> None:
        self.values = np.ascontiguousarray(self.values, dtype=np.float32)
        if self.values.ndim != 2 or self.values.shape[0] != int(np.prod(self.grid)):
            raise ValueError(f"values {self.values.shape} do not match grid {self.grid}")
        if self.off_grid is not None and (self.off_grid.coords.shape[1] != len(self.grid)
                                          or self.off_grid.values.shape[1] != self.values.shape[1]):
            raise ValueError(f"off-grid samples {self.off_grid.coords.shape}, {self.off_grid.values.shape} do not "
                             f"match a {len(self.grid)}-D grid of {self.values.shape[1]} channels")

    @property
    def num_points(self) -> int:
        """The number of grid points N."""
        return self.values.shape[0]

    @property
    def num_samples(self) -> int:
        """What a fit trains on: the grid's points and the off-grid samples."""
        return self.num_points + (0 if self.off_grid is None else len(self.off_grid.coords))

    @property
    def channels(self) -> int:
        """The number of channels C."""
        return self.values.shape[1]

    @property
    def in_dim(self) -> int:
        """The number of coordinates d (1 audio, 2 images, 3 volumes)."""
        return len(self.grid)

    def coords(self, grid: tuple[int, ...] | None = None) -> torch.Tensor:
        """The grid's coordinates: (N, d) float32 in [-1, 1] (or the signal's ``extent``).

        Parameters
        ----------
        grid
            Overrides the shape (to render finer); None: the signal's own grid.

        Returns
        -------
        Tensor
            (N, d), 'ij'-ordered and flattened ([`grid_coords`][]).
        """
        return grid_coords(grid or self.grid, self.extent)

    def tensor(self) -> torch.Tensor:
        """The values as a (N, C) tensor (sharing memory)."""
        return torch.from_numpy(self.values)

    def training_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The (coords, values) a fit trains on: the grid's samples, then the off-grid ones.

        Returns
        -------
        coords : Tensor
            (N + M, d).
        values : Tensor
            (N + M, C).
        """
        if self.off_grid is None:
            return self.coords(), self.tensor()
        return (torch.cat([self.coords(), torch.from_numpy(self.off_grid.coords)]),
                torch.cat([self.tensor(), torch.from_numpy(self.off_grid.values)]))

    def with_values(self, values: np.ndarray) -> "Signal":
        """The same signal (grid, scaling) with other values on the grid, e.g. a reconstruction.

        Parameters
        ----------
        values
            N·C values, reshaped to (N, C).

        Returns
        -------
        Signal
            Without off-grid samples.
        """
        return replace(self, values=np.asarray(values, dtype=np.float32).reshape(self.values.shape), off_grid=None)

    def describe(self) -> dict:
        """What config.json records of the signal: kind, grid, channels, source and the kind's own fields."""
        d = {"kind": self.kind, "grid": list(self.grid), "channels": self.channels, "source": self.source}
        if self.kind == "audio":
            d |= {"sample_rate": self.sample_rate, "peak": self.peak, "subtype": self.subtype}
        elif self.kind == "image":
            d |= {"bit_depth": self.bit_depth}
        else:
            d |= {k: self.meta[k] for k in VOLUME_META if k in self.meta}
        if self.extent is not None:
            d["extent"] = [list(e) for e in self.extent]
        if self.off_grid is not None:
            d["off_grid_samples"] = len(self.off_grid.coords)
        return d


def crop(signal: Signal, start: tuple[int, ...], size: tuple[int, ...]) -> Signal:
    """The window ``start : start + size`` (per axis) of ``signal``, at the coordinates it has in the whole.

    A short window of the paper's 150,000-sample clip keeps the clip's coordinate spacing, so ω_first,
    s0 and the Nyquist frequency relate exactly as in the full protocol.

    Parameters
    ----------
    signal
        The whole signal.
    start
        The window's first index along each axis.
    size
        The window's length along each axis.

    Returns
    -------
    Signal
        The window: its ``extent`` the coordinates of its first and last samples in ``signal``, its
        off-grid samples those inside it, ``meta`` recording ``cropped_from`` and ``crop_start``.

    Raises
    ------
    ValueError
        If ``start`` or ``size`` does not have one entry per axis, or the window does not lie inside
        the grid.
    """
    if len(start) != signal.in_dim or len(size) != signal.in_dim:
        raise ValueError(f"crop of a {signal.in_dim}-D signal needs {signal.in_dim} starts and sizes")
    if any(s < 0 or m < 1 or s + m > n for s, m, n in zip(start, size, signal.grid)):
        raise ValueError(f"window {start} + {size} does not lie inside the grid {signal.grid}")
    extent = signal.extent or tuple((-1.0, 1.0) for _ in signal.grid)
    new_extent = []
    for (a, b), s, m, n in zip(extent, start, size, signal.grid):
        spacing = (b - a) / (n - 1) if n > 1 else 0.0
        new_extent.append((a + spacing * s, a + spacing * (s + m - 1)))
    index = tuple(slice(s, s + m) for s, m in zip(start, size))
    values = signal.values.reshape(*signal.grid, signal.channels)[index].reshape(-1, signal.channels)
    off = signal.off_grid
    if off is not None:  # those inside the window
        lo, hi = np.array(new_extent).T
        keep = np.all((off.coords >= lo) & (off.coords <= hi), axis=1)
        off = Samples(off.coords[keep], off.values[keep])
    return replace(signal, values=values, grid=tuple(size), extent=tuple(new_extent), off_grid=off,
                   meta=signal.meta | {"cropped_from": list(signal.grid), "crop_start": list(start)})


def grid_coords(grid: tuple[int, ...], extent: tuple[tuple[float, float], ...] | None = None) -> torch.Tensor:
    """(N, d) 'ij'-ordered grid coordinates, ``linspace(first, last)`` per axis.

    Parameters
    ----------
    grid
        The number of points per axis.
    extent
        Per-axis (first, last) coordinate; None: (-1, 1) on every axis.

    Returns
    -------
    Tensor
        (prod(grid), len(grid)) float32, flattened row-major.
    """
    extent = extent or [(-1.0, 1.0)] * len(grid)
    axes = [torch.linspace(a, b, n) for (a, b), n in zip(extent, grid)]
    mesh = torch.meshgrid(*axes, indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], dim=-1)


def demo_signal(seconds: float = 0.25, sample_rate: int = 44_100, seed: int = 0) -> Signal:
    """Built-in audio dominated by high frequencies, far above SIREN's initial band.

    Noise bursts band-passed to 8–20 kHz plus two rising chirps, normalized to max|x| = 1.

    Parameters
    ----------
    seconds
        Its length.
    sample_rate
        Samples per second.
    seed
        Seeds the noise bursts and their places.

    Returns
    -------
    Signal
        Mono audio, source "demo".
    """
    from scipy.signal import butter, chirp, sosfilt

    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    sos = butter(8, [8000, 20000], btype="bandpass", fs=sample_rate, output="sos")
    noise = sosfilt(sos, rng.standard_normal(n))
    envelope = np.zeros(n)
    for start in rng.uniform(0, seconds * 0.8, size=4):
        envelope += np.exp(-((t - start - 0.02) / 0.015) ** 2)
    x = noise * envelope / np.max(np.abs(noise)) + 0.4 * chirp(t, 6000, seconds, 16000) * np.hanning(n)
    x += 0.3 * chirp(t, 10000, seconds, 19000, method="quadratic")
    x /= np.max(np.abs(x))
    return Signal(values=x[:, None], grid=(n,), kind="audio", sample_rate=sample_rate, peak=0.5,
                  subtype="PCM_16", source="demo")
