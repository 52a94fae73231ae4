"""Signals: sampled data on a regular grid, as an INR sees it.

A :class:`Signal` holds ``values`` of shape (N, C), float32 in [-1, 1], laid out row-major on
``grid`` ((N,) for audio, (H, W) for images, (D, H, W) for volumes), and what is needed to write
it back to a file (sample rate, peak, bit depth; a volume's offset, scale and dtype in ``meta``).
Volumes come from .npy arrays and, through :mod:`siren2.shapes`, from meshes. Coordinates are
``linspace(-1, 1)`` per axis, 'ij'-ordered and flattened (SPEC §5); a window cut by :func:`crop`
keeps the coordinates its samples had in the whole signal (its ``extent``), so every frequency a
model sees is what it would be there.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tokenize
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .errors import InputError


@dataclass
class Samples:
    """Samples off a signal's grid, e.g. near a shape's surface: ``coords`` (M, d) in the grid's frame,
    ``values`` (M, C) scaled as the grid's."""

    coords: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        self.coords = np.ascontiguousarray(self.coords, dtype=np.float32)
        self.values = np.ascontiguousarray(self.values, dtype=np.float32)
        if self.coords.ndim != 2 or self.values.ndim != 2 or len(self.coords) != len(self.values):
            raise ValueError(f"off-grid coords {self.coords.shape} do not match values {self.values.shape}")


@dataclass
class Signal:
    """A sampled signal: ``values`` (N, C) float32 in [-1, 1] on a row-major ``grid``, and optionally
    ``off_grid`` samples that a fit trains on too (a reconstruction is rendered on the grid only)."""

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
        return self.values.shape[0]

    @property
    def num_samples(self) -> int:
        """What a fit trains on: the grid's points and the off-grid samples."""
        return self.num_points + (0 if self.off_grid is None else len(self.off_grid.coords))

    @property
    def channels(self) -> int:
        return self.values.shape[1]

    @property
    def in_dim(self) -> int:
        return len(self.grid)

    def coords(self, grid: tuple[int, ...] | None = None) -> torch.Tensor:
        """(N, d) float32 coordinates in [-1, 1]; ``grid`` overrides the shape (to render finer)."""
        return grid_coords(grid or self.grid, self.extent)

    def tensor(self) -> torch.Tensor:
        return torch.from_numpy(self.values)

    def training_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(coords, values) a fit trains on: the grid's samples, then the off-grid ones."""
        if self.off_grid is None:
            return self.coords(), self.tensor()
        return (torch.cat([self.coords(), torch.from_numpy(self.off_grid.coords)]),
                torch.cat([self.tensor(), torch.from_numpy(self.off_grid.values)]))

    def with_values(self, values: np.ndarray) -> "Signal":
        """The same signal (grid, scaling) with other values on the grid, e.g. a reconstruction (no
        off-grid samples)."""
        return replace(self, values=np.asarray(values, dtype=np.float32).reshape(self.values.shape), off_grid=None)

    def describe(self) -> dict:
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
    """The window ``start : start + size`` (per axis) of ``signal``, at the coordinates its samples have
    in the whole signal: a short window of the paper's 150,000-sample clip keeps the clip's coordinate
    spacing, so ω_first, s0 and the Nyquist frequency relate exactly as in the full protocol."""
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
    """(N, d) 'ij'-ordered grid coordinates, ``linspace(first, last)`` per axis (default -1, 1)."""
    extent = extent or [(-1.0, 1.0)] * len(grid)
    axes = [torch.linspace(a, b, n) for (a, b), n in zip(extent, grid)]
    mesh = torch.meshgrid(*axes, indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], dim=-1)


# ---------------------------------------------------------------------------------------- loading

MAX_POINTS = 50_000_000  # refuse a signal of more samples or pixels than this (a flag raises it)
MIN_POINTS = 16  # warn below this many: ψ and a fit mean little there

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
VOLUME_SUFFIXES = {".npy"}
NPY_MAGIC = b"\x93NUMPY"
MESH_SUFFIXES = (".obj", ".ply", ".stl", ".off")
MESH_RESOLUTION = 64  # a mesh is sampled on this many points per axis by default
# what a volume's config records to write it back (and, for a shape, to map it to the mesh's frame)
VOLUME_META = ("offset", "scale", "dtype", "field", "mesh_center", "mesh_scale")


def load_signal(path: str | os.PathLike, *, max_samples: int | None = None, mono: bool = True,
                max_points: int = MAX_POINTS, mesh_resolution: int = MESH_RESOLUTION,
                mesh_field: str = "sdf", mesh_near: float | None = None) -> Signal:
    """Load audio, an image, a .npy volume or a mesh, chosen by the file's content (its suffix only
    breaks ties; meshes go by suffix). A mesh becomes its ``mesh_field`` ("sdf" or "occupancy") on a
    ``mesh_resolution``³ grid, with ``mesh_near`` x as many samples near its surface (None: the
    default share; :func:`siren2.shapes.load_mesh`).

    A signal of more than ``max_points`` samples (audio, after the ``max_samples`` cut), pixels or
    voxels is refused before it is decoded; one of fewer than :data:`MIN_POINTS` gets a warning."""
    path = check_readable(path)
    with open(path, "rb") as f:
        head = f.read(16)
    suffix = path.suffix.lower()
    if _looks_like_audio(head) or (not _looks_like_image(head) and suffix in AUDIO_SUFFIXES):
        signal = load_audio(path, max_samples=max_samples, mono=mono, max_points=max_points)
    elif _looks_like_image(head) or suffix in IMAGE_SUFFIXES:
        signal = load_image(path, max_points=max_points)
    elif head.startswith(NPY_MAGIC) or suffix in VOLUME_SUFFIXES:
        signal = load_volume(path, max_points=max_points)
    elif suffix in MESH_SUFFIXES:
        from .shapes import load_mesh

        near = {} if mesh_near is None else {"near": mesh_near}
        signal = load_mesh(path, resolution=mesh_resolution, field=mesh_field, max_points=max_points, **near)
    else:
        raise InputError(f"{path}: unsupported format (expected audio: wav/flac/ogg, an image: png/jpeg/bmp/tiff, "
                         "a volume: npy, or a mesh: obj/ply/stl/off)")
    if signal.num_points < MIN_POINTS:
        unit = {"audio": "samples", "image": "pixels"}.get(signal.kind, "voxels")
        warnings.warn(f"{path}: only {signal.num_points} {unit}; too few for ψ (the spectral centroid) or a fit "
                      "to mean much", stacklevel=2)
    return signal


def _looks_like_audio(head: bytes) -> bool:
    return head[:4] in (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"FORM") and (
        head[:4] != b"RIFF" or head[8:12] == b"WAVE"
    )


def _looks_like_image(head: bytes) -> bool:
    return (
        head.startswith(b"\x89PNG")
        or head.startswith(b"\xff\xd8\xff")
        or head.startswith(b"BM")
        or head[:4] in (b"II*\x00", b"MM\x00*")
    )


def check_readable(path: str | os.PathLike) -> Path:
    """``path`` as a Path, or InputError (one line) if it is missing, a folder or unreadable."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    return path


def _check_finite(path: Path, data: np.ndarray) -> None:
    if not np.all(np.isfinite(data)):
        raise InputError(f"{path}: contains NaN or infinite samples")


def load_audio(path: str | os.PathLike, *, max_samples: int | None = None, mono: bool = True,
               max_points: int = MAX_POINTS) -> Signal:
    """Read audio with soundfile. As the paper's code: mono mix, divided by max|x| of the whole
    file, then the first ``max_samples`` (so a cut's own peak may lie below 1)."""
    import soundfile as sf

    path = check_readable(path)
    try:
        info = sf.info(str(path))
        frames = min(info.frames, max_samples or info.frames)
        if frames * (1 if mono else info.channels) > max_points:
            raise InputError(f"{path}: {frames:,} samples, above the limit of {max_points:,} "
                             "(cut with --max-samples, or raise --max-points)")
        data, sr = sf.read(str(path), dtype="float64", always_2d=True, frames=max_samples or -1)
        peak = _file_peak(path, mono) if max_samples and info.frames > max_samples else None
    except (RuntimeError, sf.LibsndfileError) as e:  # corrupt or not audio
        raise InputError(f"{path}: cannot read audio ({first_line(e)})") from None
    if data.shape[0] == 0:
        raise InputError(f"{path}: audio has no samples")
    short = _wav_shortfall(path)
    if short and (max_samples is None or data.shape[0] < max_samples):
        warnings.warn(f"{path}: truncated: its header promises {short[0]:,} samples, the file holds {short[1]:,}",
                      stacklevel=2)
    _check_finite(path, data)
    if mono:
        data = data.mean(axis=1, keepdims=True)
    peak = float(np.max(np.abs(data))) if peak is None else peak
    if peak == 0.0:
        warnings.warn(f"{path}: audio is silent (all zeros)", stacklevel=2)
        peak = 1.0
    return Signal(
        values=data / peak,
        grid=(data.shape[0],),
        kind="audio",
        sample_rate=int(sr),
        peak=peak,
        subtype=info.subtype,
        source=str(path),
    )


def _wav_shortfall(path: Path) -> tuple[int, int] | None:
    """(samples a WAV header's data chunk declares, samples the file holds) when it holds fewer;
    None for a whole file, or one that is not a plain RIFF/RIFX WAV."""
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None
        order, block, size_on_disk = ("<" if head[:4] == b"RIFF" else ">"), 0, os.fstat(f.fileno()).st_size
        while len(chunk := f.read(8)) == 8:
            cid, size = chunk[:4], struct.unpack(order + "I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(min(size, 16))
                block = struct.unpack(order + "H", fmt[12:14])[0] if len(fmt) >= 14 else 0
                f.seek(size - len(fmt) + (size & 1), 1)
            elif cid == b"data":
                held = size_on_disk - f.tell()
                if block and held < size:
                    return size // block, held // block
                return None
            else:
                f.seek(size + (size & 1), 1)
    return None


def _file_peak(path: Path, mono: bool) -> float:
    """max|x| over every frame of the file (of the mono mix when ``mono``), read in blocks."""
    import soundfile as sf

    peak = 0.0
    for block in sf.blocks(str(path), blocksize=1 << 16, dtype="float64", always_2d=True):
        _check_finite(path, block)
        peak = max(peak, float(np.max(np.abs(block.mean(axis=1) if mono else block), initial=0.0)))
    return peak


def load_image(path: str | os.PathLike, *, max_points: int = MAX_POINTS) -> Signal:
    """Read an image with Pillow; 8-bit x ↦ x/127.5 − 1 (SPEC §5), 16-bit x ↦ x/32767.5 − 1.
    One of more than ``max_points`` pixels is refused before it is decoded."""
    from PIL import Image, UnidentifiedImageError

    path = check_readable(path)
    too_big = f"above the limit of {max_points:,} pixels (raise --max-points)"
    try:
        with _pixel_limit(Image, max_points), Image.open(path) as im:
            w, h = im.size
            if w * h > max_points:
                raise InputError(f"{path}: image is {w}x{h} = {w * h:,} pixels, {too_big}")
            im.load()
            mode = im.mode
            if mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            elif mode == "1":
                im = im.convert("L")
            if im.mode in ("LA", "RGBA", "PA"):
                warnings.warn(f"{path}: alpha channel dropped", stacklevel=2)
                im = im.convert("L" if im.mode == "LA" else "RGB")
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr, bits = np.asarray(im, dtype=np.float64), 16
                if im.mode == "I" and arr.max(initial=0) <= 255:
                    bits = 8
            elif im.mode in ("L", "RGB"):
                arr, bits = np.asarray(im, dtype=np.float64), 8
            else:
                arr, bits = np.asarray(im.convert("RGB"), dtype=np.float64), 8
    except Image.DecompressionBombError as e:
        raise InputError(f"{path}: image {too_big} ({first_line(e)})") from None
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise InputError(f"{path}: cannot read image ({first_line(e)})") from None
    if arr.ndim == 2:
        arr = arr[:, :, None]
    half = 127.5 if bits == 8 else 32767.5
    h, w, c = arr.shape
    if h * w == 0:
        raise InputError(f"{path}: image has no pixels")
    return Signal(
        values=(arr / half - 1.0).reshape(h * w, c),
        grid=(h, w),
        kind="image",
        bit_depth=bits,
        source=str(path),
        meta={"mode": mode},
    )


def load_volume(path: str | os.PathLike, *, max_points: int = MAX_POINTS) -> Signal:
    """Read a (D, H, W) or (D, H, W, C) .npy array of bools, integers or floats (never a pickle).

    Values map to [-1, 1] by x ↦ (x − offset) / scale with offset = (max + min)/2 and scale =
    (max − min)/2 over the whole array; ``meta`` keeps offset, scale and dtype, so :func:`save_signal`
    writes the same units and dtype back (a constant volume gets scale 1). More than ``max_points``
    values are refused before they are read."""
    path = check_readable(path)
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError, SyntaxError, MemoryError, tokenize.TokenError) as e:
        # (a damaged .npy header fails in numpy's parser with any of the last four)
        raise InputError(f"{path}: cannot read .npy volume ({first_line(e)})") from None
    if not isinstance(arr, np.ndarray):
        raise InputError(f"{path}: not a single .npy array")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{path}: volume dtype {arr.dtype} is not bool, integer or float")
    if arr.ndim not in (3, 4):
        raise InputError(f"{path}: a volume is (D, H, W) or (D, H, W, C), not shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{path}: volume has no voxels (shape {arr.shape})")
    if arr.size > max_points:
        raise InputError(f"{path}: volume {arr.shape} holds {arr.size:,} values, above the limit of "
                         f"{max_points:,} (raise --max-points)")
    data = np.array(arr, dtype=np.float64).reshape(*arr.shape[:3], -1)
    _check_finite(path, data)
    lo, hi = float(data.min()), float(data.max())
    offset, scale = (hi + lo) / 2, (hi - lo) / 2
    if scale == 0.0:
        warnings.warn(f"{path}: volume is constant ({lo:g})", stacklevel=2)
        scale = 1.0
    return Signal(values=((data - offset) / scale).reshape(-1, data.shape[3]), grid=tuple(arr.shape[:3]),
                  kind="volume", source=str(path), meta={"offset": offset, "scale": scale, "dtype": arr.dtype.name})


@contextlib.contextmanager
def _pixel_limit(Image, max_points: int):
    """Pillow's decompression-bomb check at our limit (it errors at twice it; we refuse above it),
    without its warning in between."""
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_points
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = old


def first_line(e: BaseException) -> str:
    """An exception's message, first line only (what a one-line error quotes)."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


# ----------------------------------------------------------------------------------------- saving


def atomic_path(path: str | os.PathLike):
    """A temporary path beside ``path``; ``os.replace`` it onto ``path`` when complete."""
    path = Path(path)
    tmp = path.parent / f".{path.stem}.{os.urandom(6).hex()}.tmp{path.suffix}"
    # a fresh name like mkstemp, but with the umask's permissions (mkstemp's 0600 would stick to the output)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return tmp


SAVE_SUFFIXES = {"audio": (".wav", ".flac", ".ogg"), "image": (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"),
                 "volume": (".npy",)}


def save_signal(signal: Signal, path: str | os.PathLike) -> Path:
    """Write audio (original rate, inverse scaling), an image (8- or 16-bit) or a volume (.npy, see
    :func:`volume_array`), atomically."""
    path = Path(path)
    allowed = SAVE_SUFFIXES[signal.kind]
    if path.suffix.lower() not in allowed:
        raise InputError(f"{path}: cannot write {signal.kind} as '{path.suffix}' (use {', '.join(allowed)})")
    if not path.parent.is_dir():
        raise InputError(f"{path}: folder {path.parent} does not exist")
    tmp = atomic_path(path)
    try:
        if signal.kind == "audio":
            _write_audio(signal, tmp, path.suffix)
        elif signal.kind == "image":
            _write_image(signal, tmp, path.suffix)
        else:
            with open(tmp, "wb") as f:
                np.save(f, volume_array(signal))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_audio(signal: Signal, tmp: Path, suffix: str) -> None:
    import soundfile as sf

    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}[suffix.lower()]
    data = signal.values.astype(np.float64) * signal.peak
    subtype = signal.subtype if signal.subtype and sf.check_format(fmt, signal.subtype) else None
    if subtype is None or not subtype.startswith(("FLOAT", "DOUBLE")):
        data = np.clip(data, -1.0, 1.0)  # integer formats cannot hold more than full scale
    if subtype in _PCM_BITS:
        # Round to the nearest integer level ourselves: libsndfile truncates float → int, which
        # would move a sample by 1 LSB on a load/save round trip. Levels are read back as k/2^(bits-1).
        bits = _PCM_BITS[subtype]
        levels = np.clip(np.round(data * 2.0 ** (bits - 1)), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        data = (levels * 2 ** (32 - bits)).astype(np.int32)  # int32 full scale; libsndfile keeps the top bits
    sf.write(str(tmp), data, signal.sample_rate, subtype=subtype, format=fmt)


_PCM_BITS = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32}


def volume_array(signal: Signal) -> np.ndarray:
    """A volume in the units and dtype of its file: value · scale + offset; (D, H, W) for one channel,
    else (D, H, W, C); integers rounded and clipped to their range, bools above the middle (0.5)."""
    x = signal.values.astype(np.float64) * signal.meta.get("scale", 1.0) + signal.meta.get("offset", 0.0)
    x = x.reshape(*signal.grid, signal.channels)
    x = x[..., 0] if signal.channels == 1 else x
    dtype = np.dtype(signal.meta.get("dtype", "float32"))
    if dtype.kind == "b":
        return x > 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.round(x), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def _write_image(signal: Signal, tmp: Path, suffix: str) -> None:
    from PIL import Image

    h, w = signal.grid
    arr = (np.clip(signal.values, -1.0, 1.0) + 1.0).reshape(h, w, signal.channels)
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}
    fmt = fmt[suffix.lower()]
    if signal.bit_depth == 16 and signal.channels == 1 and fmt in ("PNG", "TIFF"):
        im = Image.fromarray(np.round(arr[:, :, 0] * 32767.5).astype(np.uint16))
    else:
        arr = np.round(arr * 127.5).astype(np.uint8)
        im = Image.fromarray(arr[:, :, 0] if signal.channels == 1 else arr[:, :, :3])
    im.save(tmp, format=fmt)


def demo_signal(seconds: float = 0.25, sample_rate: int = 44_100, seed: int = 0) -> Signal:
    """Built-in audio dominated by high frequencies: noise bursts band-passed to 8–20 kHz plus two
    rising chirps, normalized to max|x| = 1. Its energy sits far above SIREN's initial band."""
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
