"""Files in and out: the checks every reader makes of its input, and atomic writing (every output of
siren2 goes to a temporary name beside its place and is renamed onto it when complete, so a failure
or a kill never leaves half a file)."""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import InputError

__all__ = ["MAX_POINTS", "check_readable", "check_finite", "first_line", "temp_path", "atomic_file", "write_text", "write_json",
           "json_text"]


MAX_POINTS = 50_000_000  # every reader refuses a signal of more samples, pixels or voxels (a flag raises it)


def check_readable(path: str | os.PathLike) -> Path:
    """``path`` as a Path, checked to be a readable, non-empty file.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    Path

    Raises
    ------
    InputError
        One line, if it is missing, a folder or empty.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    return path


def check_finite(path: Path, data: np.ndarray) -> None:
    """Check that every value of ``data`` (read from ``path``) is finite.

    Parameters
    ----------
    path
        The file, for the message.
    data
        Its values.

    Raises
    ------
    InputError
        If a value is NaN or infinite.
    """
    if not np.all(np.isfinite(data)):
        raise InputError(f"{path}: contains NaN or infinite samples")


def temp_path(path: str | os.PathLike) -> Path:
    """A fresh hidden temporary path beside ``path``, created empty.

    It gets the umask's permissions (mkstemp's 0600 would stick to the output once renamed).

    Parameters
    ----------
    path
        The output it stands in for.

    Returns
    -------
    Path
        ``.<stem>.<random>.tmp<suffix>`` in ``path``'s folder.
    """
    path = Path(path)
    tmp = path.parent / f".{path.stem}.{os.urandom(6).hex()}.tmp{path.suffix}"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return tmp


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path to write ``path``'s content to, renamed onto ``path`` when complete.

    It is renamed when the block ends without an error, and removed otherwise.

    Parameters
    ----------
    path
        The output.

    Yields
    ------
    Path
        The temporary path ([`temp_path`][]).

    Examples
    --------
    >>> with atomic_file("out.npy") as tmp:
    ...     np.save(tmp, array)
    """
    path = Path(path)
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Parameters
    ----------
    path
        The file.
    text
        Its content.

    Returns
    -------
    Path
        ``path``.
    """
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def json_text(obj, indent: int | None = 2) -> str:
    """``obj`` as JSON: numpy scalars as numbers, paths and devices as strings, an undefined value (NaN) as null.

    Parameters
    ----------
    obj : object
        Plain data (dicts, lists, numbers, strings), numpy scalars and arrays, paths, torch devices.
    indent
        As ``json.dumps``'s; None: one line.

    Returns
    -------
    str

    Raises
    ------
    TypeError
        For anything else that JSON cannot hold.
    """
    return json.dumps(_plain(obj), indent=indent, default=_default)


def write_json(path: str | os.PathLike, obj, indent: int | None = 2) -> Path:
    """Write ``obj`` as JSON ([`json_text`][]) to ``path`` atomically, with a final newline.

    Parameters
    ----------
    path
        The file.
    obj : object
        What [`json_text`][] takes.
    indent
        As ``json.dumps``'s; None: one line.

    Returns
    -------
    Path
        ``path``.
    """
    return write_text(path, json_text(obj, indent) + "\n")


def first_line(e: BaseException) -> str:
    """An exception's message, first line only (what a one-line error quotes).

    Parameters
    ----------
    e
        The exception.

    Returns
    -------
    str
        The first line of its message, or its type's name if it has none.
    """
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _plain(obj):
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else obj.item()
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _default(o):
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, os.PathLike):
        return str(o)
    if type(o).__name__ == "device":  # torch.device, without importing torch here
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")
