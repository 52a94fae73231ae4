"""Volumes: (D, H, W) or (D, H, W, C) .npy arrays (never a pickle), written back in their units and dtype."""

from __future__ import annotations

import os
import tokenize
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..signal import Signal
from .files import MAX_POINTS, check_finite, check_readable, first_line

__all__ = ["VOLUME_SUFFIXES", "WRITE_SUFFIXES", "NPY_MAGIC", "load_volume", "volume_array", "write_volume"]

VOLUME_SUFFIXES = {".npy"}
WRITE_SUFFIXES = (".npy",)
NPY_MAGIC = b"\x93NUMPY"


def load_volume(path: str | os.PathLike, *, max_points: int = MAX_POINTS) -> Signal:
    """Read a (D, H, W) or (D, H, W, C) .npy array of bools, integers or floats (never a pickle).

    Values map to [-1, 1] by x ↦ (x − offset) / scale with offset = (max + min)/2 and scale =
    (max − min)/2 over the whole array; ``meta`` keeps offset, scale and dtype, so
    [`siren2.io.save_signal`][] writes the same units and dtype back (a constant volume gets scale 1,
    with a warning).

    Parameters
    ----------
    path
        The .npy file.
    max_points
        Refuse more values than this, before they are read.

    Returns
    -------
    Signal
        A volume.

    Raises
    ------
    InputError
        If the file is not a single .npy array of bools, integers or floats of 3 or 4 dimensions, is
        empty, holds more than ``max_points`` values, or holds NaN or infinite values.
    """
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
    check_finite(path, data)
    lo, hi = float(data.min()), float(data.max())
    offset, scale = (hi + lo) / 2, (hi - lo) / 2
    if scale == 0.0:
        warnings.warn(f"{path}: volume is constant ({lo:g})", stacklevel=2)
        scale = 1.0
    return Signal(values=((data - offset) / scale).reshape(-1, data.shape[3]), grid=tuple(arr.shape[:3]),
                  kind="volume", source=str(path), meta={"offset": offset, "scale": scale, "dtype": arr.dtype.name})


def volume_array(signal: Signal) -> np.ndarray:
    """A volume in the units and dtype of its file: value · scale + offset.

    Parameters
    ----------
    signal
        A volume (its ``meta``: offset, scale, dtype).

    Returns
    -------
    ndarray
        (D, H, W) for one channel, else (D, H, W, C); integers rounded and clipped to their range,
        bools above the middle (0.5).
    """
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


def write_volume(signal: Signal, tmp: Path, suffix: str = ".npy") -> None:
    """Write ``signal`` to ``tmp`` as .npy in the units and dtype of its file ([`volume_array`][]).

    Parameters
    ----------
    signal
        A volume.
    tmp
        The file to write (a temporary path, renamed by the caller).
    suffix
        Only .npy.
    """
    with open(tmp, "wb") as f:
        np.save(f, volume_array(signal))
