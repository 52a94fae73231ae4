"""Image files (Pillow): 8-bit x ↦ x/127.5 − 1 (the paper's protocol), 16-bit x ↦ x/32767.5 − 1."""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..signal import Signal
from .files import MAX_POINTS, check_readable, first_line

__all__ = ["IMAGE_SUFFIXES", "WRITE_SUFFIXES", "looks_like_image", "load_image", "write_image"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
WRITE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def looks_like_image(head: bytes) -> bool:
    """Whether a file's first bytes are a PNG, JPEG, BMP or TIFF header.

    Parameters
    ----------
    head
        The file's first bytes.

    Returns
    -------
    bool
    """
    return (
        head.startswith(b"\x89PNG")
        or head.startswith(b"\xff\xd8\xff")
        or head.startswith(b"BM")
        or head[:4] in (b"II*\x00", b"MM\x00*")
    )


def load_image(path: str | os.PathLike, *, max_points: int = MAX_POINTS) -> Signal:
    """Read an image with Pillow: 8-bit x ↦ x/127.5 − 1 (the paper's protocol), 16-bit x ↦ x/32767.5 − 1.

    Palette images become RGB (or RGBA), an alpha channel is dropped with a warning.

    Parameters
    ----------
    path
        The file (PNG, JPEG, BMP, TIFF).
    max_points
        Refuse an image of more pixels than this, before it is decoded.

    Returns
    -------
    Signal
        An image on its (H, W) grid, with C = 1 or 3 channels.

    Raises
    ------
    InputError
        If the file cannot be read as an image, has no pixels, or has more than ``max_points``.
    """
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


def write_image(signal: Signal, tmp: Path, suffix: str) -> None:
    """Write ``signal`` to ``tmp`` in the format of ``suffix``, values clipped to [-1, 1].

    16-bit where it was and the format allows (gray PNG or TIFF), else 8-bit.

    Parameters
    ----------
    signal
        An image signal.
    tmp
        The file to write (a temporary path, renamed by the caller).
    suffix
        .png, .jpg, .jpeg, .bmp, .tif or .tiff.
    """
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
