"""Reading and writing signals: audio, images, .npy volumes and meshes, each in its own module.

[`load_signal`][] chooses the reader by the file's content (its suffix only breaks ties; meshes go
by suffix); [`save_signal`][] the writer by the signal's kind. Every reader refuses bad input with
one [`InputError`][] line naming the file and the problem, and every writer writes
atomically ([`siren2.io.files`][]).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ..errors import InputError
from ..signal import Signal
from .audio import AUDIO_SUFFIXES, load_audio, looks_like_audio, write_audio
from .audio import WRITE_SUFFIXES as AUDIO_WRITE_SUFFIXES
from .files import MAX_POINTS, atomic_file, check_readable, first_line, write_json, write_text
from .image import IMAGE_SUFFIXES, load_image, looks_like_image, write_image
from .image import WRITE_SUFFIXES as IMAGE_WRITE_SUFFIXES
from .mesh import FIELDS, MESH_RESOLUTION, MESH_SUFFIXES, NEAR_SURFACE, load_mesh, save_mesh
from .volume import NPY_MAGIC, VOLUME_SUFFIXES, load_volume, volume_array, write_volume
from .volume import WRITE_SUFFIXES as VOLUME_WRITE_SUFFIXES

__all__ = [
    "load_signal", "save_signal", "load_audio", "load_image", "load_volume", "load_mesh", "save_mesh",
    "volume_array", "check_readable", "first_line", "atomic_file", "write_text", "write_json", "MAX_POINTS",
    "MIN_POINTS", "SUFFIXES", "WRITERS", "AUDIO_SUFFIXES", "IMAGE_SUFFIXES", "VOLUME_SUFFIXES", "MESH_SUFFIXES",
    "MESH_RESOLUTION", "FIELDS", "NEAR_SURFACE", "reconstruction_name",
]

MIN_POINTS = 16  # warn below this many: ψ and a fit mean little there
SUFFIXES = AUDIO_SUFFIXES | IMAGE_SUFFIXES | VOLUME_SUFFIXES | set(MESH_SUFFIXES)  # what a folder's files may be
# The writer of each kind of signal: the suffixes it takes (the first is the default) and the function.
WRITERS = {"audio": (AUDIO_WRITE_SUFFIXES, write_audio), "image": (IMAGE_WRITE_SUFFIXES, write_image),
           "volume": (VOLUME_WRITE_SUFFIXES, write_volume)}


def load_signal(path: str | os.PathLike, *, max_samples: int | None = None, mono: bool = True,
                max_points: int = MAX_POINTS, mesh_resolution: int = MESH_RESOLUTION,
                mesh_field: str = "sdf", mesh_near: float | None = None) -> Signal:
    """Load audio, an image, a .npy volume or a mesh, chosen by the file's content.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Its content decides the reader; its suffix only breaks ties (meshes go by suffix).
    max_samples : int, optional
        Audio: keep the first N samples (the peak is still that of the whole file). None keeps all.
    mono : bool
        Audio: mix the channels to one (the paper's protocol).
    max_points : int
        Refuse a signal of more samples (after the cut), pixels or voxels, before it is decoded.
    mesh_resolution
        A mesh: the grid's points per axis (see [`siren2.io.mesh.load_mesh`][]).
    mesh_field
        A mesh: the field, "sdf" or "occupancy".
    mesh_near
        A mesh: near-surface samples per grid point (None: ``NEAR_SURFACE``).

    Returns
    -------
    Signal
        Values (N, C) in [-1, 1]; a signal of fewer than `MIN_POINTS` points gets a warning.

    Raises
    ------
    InputError
        One line naming the file and the problem (missing, empty, corrupt, too large, unsupported).
    """
    path = check_readable(path)
    with open(path, "rb") as f:
        head = f.read(16)
    suffix = path.suffix.lower()
    if looks_like_audio(head) or (not looks_like_image(head) and suffix in AUDIO_SUFFIXES):
        signal = load_audio(path, max_samples=max_samples, mono=mono, max_points=max_points)
    elif looks_like_image(head) or suffix in IMAGE_SUFFIXES:
        signal = load_image(path, max_points=max_points)
    elif head.startswith(NPY_MAGIC) or suffix in VOLUME_SUFFIXES:
        signal = load_volume(path, max_points=max_points)
    elif suffix in MESH_SUFFIXES:
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


def save_signal(signal: Signal, path: str | os.PathLike) -> Path:
    """Write ``signal`` to ``path`` atomically, by its kind (`WRITERS`).

    Audio goes back at its rate and peak (WAV, FLAC, Ogg), an image at 8 or 16 bits, a volume as .npy
    in its file's units and dtype ([`volume_array`][]).

    Parameters
    ----------
    signal : Signal
        What to write.
    path : str or os.PathLike
        The file; its suffix must suit the kind, and its folder must exist.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        If the suffix does not suit the signal's kind, or the folder does not exist.
    """
    path = Path(path)
    allowed, write = WRITERS[signal.kind]
    if path.suffix.lower() not in allowed:
        raise InputError(f"{path}: cannot write {signal.kind} as '{path.suffix}' (use {', '.join(allowed)})")
    if not path.parent.is_dir():
        raise InputError(f"{path}: folder {path.parent} does not exist")
    with atomic_file(path) as tmp:
        write(signal, tmp, path.suffix)
    return path


def reconstruction_name(kind: str) -> str:
    """The file name a fitted or restored signal of ``kind`` is written to.

    Parameters
    ----------
    kind
        "audio", "image" or "volume".

    Returns
    -------
    str
        reconstruction.wav, reconstruction.png or reconstruction.npy.
    """
    return "reconstruction" + WRITERS.get(kind, WRITERS["volume"])[0][0]
