"""Meshes (.obj, .ply, .stl, .off; trimesh, the ``mesh`` extra) as 3-D signals of signed distance or
occupancy, and triangle meshes written back.

A mesh is centred on its bounding box and scaled by one factor so that its longest side spans
[-1/(1 + MARGIN), 1/(1 + MARGIN)] of the grid's [-1, 1]³ (the margin keeps the surface off the grid's
faces); a regular N³ grid samples that box, and by default as many again as half its points lie near
the surface ([`siren2.shapes.near_surface`][]: uniform in the grid cells the surface crosses), the
signal's ``off_grid`` samples, which a fit trains on and a rendering leaves out.
Signed distance is negative inside, in the mesh's units, and divided by its largest magnitude on the
grid, so 0 stays the surface; occupancy is 1 inside and 0 outside, stored as 2·occ − 1. ``meta``
keeps the field, the box (``mesh_center``, ``mesh_scale``: mesh = centre + scale · grid coordinate)
and the scaling (``offset``, ``scale``: file units = value · scale + offset), as for any volume.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..shapes import distance, inside, near_surface
from ..signal import Samples, Signal
from .files import MAX_POINTS, atomic_file, check_readable, first_line

__all__ = ["MESH_SUFFIXES", "MESH_RESOLUTION", "FIELDS", "NEAR_SURFACE", "MAX_NEAR", "MARGIN", "load_mesh",
           "save_mesh"]

MESH_SUFFIXES = (".obj", ".ply", ".stl", ".off")
MESH_RESOLUTION = 64  # a mesh is sampled on this many points per axis by default
FIELDS = ("sdf", "occupancy")
MARGIN = 0.1  # the mesh's longest side spans 1/(1 + MARGIN) of the grid's
NEAR_SURFACE = 0.5  # near-surface samples, as a share of the grid's points (benchmarks/shape_iou.py)
MAX_NEAR = 8.0  # the most near-surface samples per grid point load_mesh takes


def load_mesh(path: str | os.PathLike, *, resolution: int = MESH_RESOLUTION, field: str = "sdf",
              near: float = NEAR_SURFACE, max_points: int = MAX_POINTS) -> Signal:
    """A watertight mesh as its signed distance or occupancy on a ``resolution``³ grid over its box.

    With ``near`` x as many samples near the surface (exact signed distance by trimesh; see the module
    docstring), the signal's off-grid samples.

    Parameters
    ----------
    path
        The file (.obj, .ply, .stl, .off).
    resolution
        The grid's points per axis (at least 2).
    field
        "sdf" or "occupancy".
    near
        Near-surface samples per grid point, in [0, `MAX_NEAR`]; 0: none.
    max_points
        Refuse more grid points and samples in all than this.

    Returns
    -------
    Signal
        A 1-channel volume; ``meta`` keeps the field, the box and the scaling.

    Raises
    ------
    InputError
        For a bad setting, too many points, a file trimesh cannot read (or trimesh or rtree missing),
        a mesh without faces, with NaN vertices, not watertight or of zero size, or one so thin that
        no grid point lies inside it.
    """
    path = check_readable(path)
    if field not in FIELDS:
        raise InputError(f"{path}: field {field!r}: choose from {', '.join(FIELDS)}")
    if not 0 <= near <= MAX_NEAR:
        raise InputError(f"{path}: near-surface share {near:g}: must be in [0, {MAX_NEAR:g}]")
    if resolution < 2:
        raise InputError(f"{path}: mesh resolution {resolution}: must be at least 2")
    extra = round(near * resolution**3)  # near-surface samples
    if (samples := resolution**3 + extra) > max_points:
        raise InputError(f"{path}: a {resolution}³ grid and {near:g} x as many near-surface samples are "
                         f"{samples:,} points, above the limit of {max_points:,} (lower the mesh resolution "
                         "or --mesh-near, or raise --max-points)")
    try:
        import trimesh
    except ImportError:
        raise InputError(f"{path}: reading meshes needs trimesh: pip install 'siren2[mesh]'") from None
    try:
        mesh = trimesh.load(str(path), force="mesh")
    except Exception as e:  # trimesh's parsers raise anything from IndexError to their own types
        raise InputError(f"{path}: cannot read mesh ({first_line(e)})") from None
    if len(getattr(mesh, "faces", ())) == 0:
        raise InputError(f"{path}: mesh has no faces")
    if not np.all(np.isfinite(mesh.vertices)):
        raise InputError(f"{path}: mesh has NaN or infinite vertices")
    if not mesh.is_watertight:
        raise InputError(f"{path}: mesh is not watertight (inside and outside are undefined); repair it first, "
                         "e.g. with trimesh.repair.fill_holes")
    lo, hi = mesh.bounds
    half = float(np.max(hi - lo)) / 2 * (1 + MARGIN)
    if half == 0:
        raise InputError(f"{path}: mesh has zero size")
    center = (lo + hi) / 2
    tri = (np.asarray(mesh.triangles, np.float64) - center) / half
    lin = np.linspace(-1.0, 1.0, resolution)
    within = inside(tri, lin)
    if not within.any():
        raise InputError(f"{path}: no grid point lies inside the mesh at resolution {resolution} (too thin; "
                         "raise the mesh resolution)")
    if field == "occupancy":
        values, offset, scale = within * 2.0 - 1.0, 0.5, 0.5
    else:
        sdf = np.where(within, -1.0, 1.0) * distance(tri, lin) * half
        offset, scale = 0.0, float(np.max(np.abs(sdf)))
        values = sdf / scale
    off_grid = None
    if near > 0:
        points = near_surface(within, extra)
        try:  # trimesh: positive inside; its proximity queries need rtree (siren2[mesh])
            depth = trimesh.proximity.signed_distance(trimesh.Trimesh((mesh.vertices - center) / half, mesh.faces), points)
        except ImportError:
            raise InputError(f"{path}: near-surface samples need rtree: pip install 'siren2[mesh]' "
                             "(or --mesh-near 0)") from None
        near_values = np.where(depth > 0, 1.0, -1.0) if field == "occupancy" else -depth * half / scale
        off_grid = Samples(points, near_values[:, None])
    return Signal(values=values.reshape(-1, 1), grid=(resolution,) * 3, kind="volume", source=str(path),
                  off_grid=off_grid,
                  meta={"field": field, "offset": offset, "scale": scale, "dtype": "float32",
                        "mesh_center": center.tolist(), "mesh_scale": half})


def save_mesh(vertices: np.ndarray, faces: np.ndarray, path: str | os.PathLike) -> Path:
    """Write a triangle mesh atomically: .obj by hand, or .obj/.ply/.stl/.off with trimesh.

    Parameters
    ----------
    vertices
        (V, 3).
    faces
        (F, 3) vertex indices, from 0.
    path
        The file; its folder must exist.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        For an unknown suffix, no faces, a missing folder, or a suffix other than .obj without trimesh.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise InputError(f"{path}: cannot write a mesh as '{path.suffix}' (use {', '.join(MESH_SUFFIXES)})")
    if len(faces) == 0:
        raise InputError(f"{path}: no surface to write (the level is never crossed)")
    if not path.parent.is_dir():
        raise InputError(f"{path}: folder {path.parent} does not exist")
    try:
        import trimesh
    except ImportError:
        if suffix != ".obj":
            raise InputError(f"{path}: writing {suffix} needs trimesh: pip install 'siren2[mesh]' "
                             "(or write .obj)") from None
        trimesh = None
    with atomic_file(path) as tmp:
        if trimesh is not None:
            trimesh.Trimesh(vertices, faces, process=False).export(str(tmp), file_type=suffix[1:])
        else:
            with open(tmp, "w") as f:
                np.savetxt(f, vertices, fmt="v %.7g %.7g %.7g")
                np.savetxt(f, faces + 1, fmt="f %d %d %d")
    return path
