"""Shapes: a mesh as a 3-D :class:`~siren2.signals.Signal` of signed distance or occupancy, and a
volume back to a mesh by marching cubes.

A mesh is centred on its bounding box and scaled by one factor so that its longest side spans
[-1/(1 + MARGIN), 1/(1 + MARGIN)] of the grid's [-1, 1]³ (the margin keeps the surface off the grid's
faces); a regular N³ grid samples that box, and by default as many again as half its points lie near
the surface (:func:`near_surface`: uniform in the grid cells the surface crosses), the signal's
``off_grid`` samples, which a fit trains on and a rendering leaves out.
Signed distance is negative inside, in the mesh's units, and divided by its largest magnitude on the
grid, so 0 stays the surface; occupancy is 1 inside and 0 outside, stored as 2·occ − 1. ``meta``
keeps the field, the box (``mesh_center``, ``mesh_scale``: mesh = centre + scale · grid coordinate)
and the scaling (``offset``, ``scale``: file units = value · scale + offset), as for any volume.

Inside is decided by the parity of ray crossings, so a mesh must be watertight; distance is the
exact point-triangle distance to the faces of the nearest surface samples. Reading and writing
meshes other than .obj needs trimesh, the optional extra ``siren2[mesh]``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import InputError
from .signals import (MAX_POINTS, MESH_RESOLUTION, MESH_SUFFIXES, Samples, Signal, atomic_path, check_readable,
                      first_line)

FIELDS = ("sdf", "occupancy")
MARGIN = 0.1  # the mesh's longest side spans 1/(1 + MARGIN) of the grid's
NEAR_SURFACE = 0.5  # near-surface samples, as a share of the grid's points (benchmarks/shape_iou.py)
MAX_NEAR = 8.0  # the most near-surface samples per grid point load_mesh takes
NEAREST = 8  # surface samples whose faces the exact distance is taken to
BAND = 2  # grid steps from the surface within which a point's own nearest samples pick its faces
SWEEPS = 2  # passes in which each grid point also tries its neighbours' closest faces
CHUNK = 1 << 15  # grid points whose distances are computed at once


def load_mesh(path: str | os.PathLike, *, resolution: int = MESH_RESOLUTION, field: str = "sdf",
              near: float = NEAR_SURFACE, max_points: int = MAX_POINTS) -> Signal:
    """A watertight mesh (.obj, .ply, .stl, .off) as its ``field`` ("sdf" or "occupancy") on a
    ``resolution``³ grid over its box, with ``near`` x as many samples near the surface (exact signed
    distance by trimesh; see the module docstring)."""
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
    inside = _inside(tri, lin)
    if not inside.any():
        raise InputError(f"{path}: no grid point lies inside the mesh at resolution {resolution} (too thin; "
                         "raise the mesh resolution)")
    if field == "occupancy":
        values, offset, scale = inside * 2.0 - 1.0, 0.5, 0.5
    else:
        sdf = np.where(inside, -1.0, 1.0) * _distance(tri, lin) * half
        offset, scale = 0.0, float(np.max(np.abs(sdf)))
        values = sdf / scale
    off_grid = None
    if near > 0:
        points = near_surface(inside, extra)
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


def near_surface(inside: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """(count, 3) points uniform in the cells of the n³ grid over [-1, 1]³ whose corners ``inside``
    ((n, n, n) bool) does not agree on, the cells the surface crosses (each cell equally likely)."""
    n = inside.shape[0]
    corners = sum(inside[i:n - 1 + i, j:n - 1 + j, k:n - 1 + k].astype(np.int8)
                  for i in (0, 1) for j in (0, 1) for k in (0, 1))
    cells = np.argwhere((corners > 0) & (corners < 8))
    if count == 0 or len(cells) == 0:
        return np.zeros((0, 3), np.float32)
    rng = np.random.default_rng(seed)
    return (-1 + (cells[rng.integers(len(cells), size=count)] + rng.random((count, 3))) * (2 / (n - 1))).astype(np.float32)


def _inside(tri: np.ndarray, lin: np.ndarray) -> np.ndarray:
    """(n, n, n) bool: which points of the grid ``lin``³ lie inside the closed triangles ``tri`` (F, 3, 3),
    by the parity of crossings along axis 0 of rays through every (y, z) column."""
    n = len(lin)
    # nudged off the lattice, so that no ray meets an edge or a vertex of a symmetric mesh exactly
    y, z = lin + 1.234567e-7, lin + 2.345678e-7
    yz = tri[:, :, 1:]
    j0, j1 = np.searchsorted(y, yz[..., 0].min(1)), np.searchsorted(y, yz[..., 0].max(1))
    k0, k1 = np.searchsorted(z, yz[..., 1].min(1)), np.searchsorted(z, yz[..., 1].max(1))
    nj, nk = np.maximum(j1 - j0, 0), np.maximum(k1 - k0, 0)
    count = nj * nk  # the columns inside each triangle's (y, z) bounding box
    t = np.repeat(np.arange(len(tri)), count)
    i = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    j, k = j0[t] + i // nk[t], k0[t] + i % nk[t]
    p = np.stack([y[j], z[k]], axis=1)
    a, b, c = yz[t, 0] - p, yz[t, 1] - p, yz[t, 2] - p
    cross = lambda u, v: u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]  # noqa: E731
    w = np.stack([cross(b, c), cross(c, a), cross(a, b)], axis=1)  # barycentric weights x twice the area
    hit = np.all(w > 0, axis=1) | np.all(w < 0, axis=1)
    t, j, k, w = t[hit], j[hit], k[hit], w[hit]
    x = np.einsum("nv,nv->n", w, tri[t, :, 0]) / w.sum(axis=1)
    flips = np.zeros((n, n, n + 1), np.int64)  # [j, k, i]: crossings just before grid point i
    np.add.at(flips, (j, k, np.searchsorted(lin, x)), 1)
    return (np.cumsum(flips, axis=2)[:, :, :n] % 2 == 1).transpose(2, 0, 1)


def _distance(tri: np.ndarray, lin: np.ndarray) -> np.ndarray:
    """(n, n, n) unsigned distance from the grid ``lin``³ to the triangles ``tri`` (F, 3, 3): exact to a few
    candidate faces per point. Within :data:`BAND` grid steps of the surface, the faces of its :data:`NEAREST`
    nearest surface samples (every face's centroid and 20·n² area-weighted random points); farther out,
    those of the nearest grid point in that band."""
    from scipy.ndimage import distance_transform_edt
    from scipy.spatial import cKDTree

    n = len(lin)
    edges = tri[:, 1:] - tri[:, :1]
    area = np.linalg.norm(np.cross(edges[:, 0], edges[:, 1]), axis=1)
    rng = np.random.default_rng(0)
    face = np.concatenate([np.arange(len(tri)), rng.choice(len(tri), 20 * n * n, p=area / area.sum())])
    r = np.concatenate([np.full((len(tri), 2), 1 / 3), rng.random((len(face) - len(tri), 2))])
    outside = r.sum(1) > 1
    r[outside] = 1 - r[outside]  # folded back into the triangle
    samples = tri[face, 0] + np.einsum("nk,nkd->nd", r, edges[face])
    points = np.stack(np.meshgrid(lin, lin, lin, indexing="ij"), axis=-1).reshape(-1, 3)
    dist, idx = cKDTree(samples).query(points, k=NEAREST, distance_upper_bound=BAND * (lin[1] - lin[0]))
    band = np.isfinite(dist[:, 0])
    faces = np.zeros((len(points), NEAREST), np.int64)  # each point's candidate faces
    faces[band] = face[np.where(np.isfinite(dist), idx, idx[:, :1])[band]]  # fewer in reach: the nearest again
    nearest_band = distance_transform_edt(~band.reshape(n, n, n), return_distances=False, return_indices=True)
    faces = faces.reshape(n, n, n, NEAREST)[tuple(nearest_band)].reshape(-1, NEAREST)
    dist, best = _closest(tri, points, faces)
    for _ in range(SWEEPS):  # a point also tries its six neighbours' closest faces
        best = best.reshape(n, n, n)
        shifted = [np.roll(best, step, axis) for axis in range(3) for step in (-1, 1)]
        dist, best = _closest(tri, points, np.stack([best, *shifted], axis=-1).reshape(len(points), -1))
    return dist.reshape(n, n, n)


def _closest(tri: np.ndarray, points: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distance from each point to the nearest of its candidate ``faces`` (P, K), and that face."""
    from trimesh.triangles import closest_point

    dist, best = np.empty(len(points)), np.empty(len(points), np.int64)
    for s in range(0, len(points), CHUNK):
        f, p = faces[s:s + CHUNK], points[s:s + CHUNK]
        foot = closest_point(tri[f.ravel()], np.repeat(p, f.shape[1], axis=0)).reshape(*f.shape, 3)
        d = np.linalg.norm(foot - p[:, None], axis=2)
        arg = d.argmin(axis=1)
        dist[s:s + len(f)], best[s:s + len(f)] = d[np.arange(len(f)), arg], f[np.arange(len(f)), arg]
    return dist, best


def isosurface(signal: Signal, level: float | None = None, *,
               mesh_frame: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of a 1-channel volume at ``level``, in the units of its file (default: the middle of
    its range, i.e. 0 for signed distance, 0.5 for occupancy): (vertices (V, 3), faces (F, 3)), empty where
    the level is never crossed. Vertices are grid coordinates, or with ``mesh_frame`` the source mesh's
    coordinates (a shape; a volume has none). Faces wind outwards: inside is below the level for signed
    distance, above it otherwise."""
    from skimage.measure import marching_cubes

    if signal.kind != "volume" or signal.channels != 1:
        raise InputError(f"{signal.source}: a mesh needs a 1-channel volume, not a {signal.channels}-channel "
                         f"{signal.kind}")
    meta = signal.meta
    offset, scale = meta.get("offset", 0.0), meta.get("scale", 1.0)
    values = signal.values[:, 0].reshape(signal.grid)
    norm_level = 0.0 if level is None else (level - offset) / scale
    if min(signal.grid) < 2 or not values.min() < norm_level < values.max():
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    extent = np.array(signal.extent or [(-1.0, 1.0)] * 3)
    spacing = (extent[:, 1] - extent[:, 0]) / (np.array(signal.grid) - 1)
    verts, faces, _, _ = marching_cubes(values, level=norm_level, spacing=tuple(spacing),
                                        gradient_direction="descent" if meta.get("field") == "sdf" else "ascent")
    verts = verts + extent[:, 0]
    if mesh_frame and "mesh_center" in meta:
        verts = np.asarray(meta["mesh_center"]) + verts * meta["mesh_scale"]
    return verts, faces.astype(np.int64)


def save_mesh(vertices: np.ndarray, faces: np.ndarray, path: str | os.PathLike) -> Path:
    """Write a triangle mesh atomically: .obj by hand, or .obj/.ply/.stl/.off with trimesh."""
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
    tmp = atomic_path(path)
    try:
        if trimesh is not None:
            trimesh.Trimesh(vertices, faces, process=False).export(str(tmp), file_type=suffix[1:])
        else:
            with open(tmp, "w") as f:
                np.savetxt(f, vertices, fmt="v %.7g %.7g %.7g")
                np.savetxt(f, faces + 1, fmt="f %d %d %d")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
