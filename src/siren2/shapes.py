"""Shape geometry: which grid points lie inside a closed triangle mesh and how far they are from it,
samples near its surface, and a volume back to a mesh by marching cubes.

[`siren2.io.load_mesh`][siren2.io.mesh.load_mesh] uses the first three to turn a mesh file into a signed-distance or
occupancy [`Signal`][]; [`isosurface`][] is its inverse, used by ``siren2
render`` and the Chamfer metric. Inside is decided by the parity of ray crossings, so a mesh must be
watertight; distance is the exact point-triangle distance to the faces of the nearest surface samples.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .signal import Signal

__all__ = ["near_surface", "inside", "distance", "isosurface"]

NEAREST = 8  # surface samples whose faces the exact distance is taken to
BAND = 2  # grid steps from the surface within which a point's own nearest samples pick its faces
SWEEPS = 2  # passes in which each grid point also tries its neighbours' closest faces
CHUNK = 1 << 15  # grid points whose distances are computed at once


def near_surface(within: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """``count`` points uniform in the grid cells the surface crosses.

    The cells of the n³ grid over [-1, 1]³ whose corners ``within`` does not agree on, each cell
    equally likely.

    Parameters
    ----------
    within
        (n, n, n) bool: which grid points lie inside.
    count
        The number of points.
    seed
        Seeds the draw.

    Returns
    -------
    ndarray
        (count, 3) float32; empty if no cell is crossed.
    """
    n = within.shape[0]
    corners = sum(within[i:n - 1 + i, j:n - 1 + j, k:n - 1 + k].astype(np.int8)
                  for i in (0, 1) for j in (0, 1) for k in (0, 1))
    cells = np.argwhere((corners > 0) & (corners < 8))
    if count == 0 or len(cells) == 0:
        return np.zeros((0, 3), np.float32)
    rng = np.random.default_rng(seed)
    return (-1 + (cells[rng.integers(len(cells), size=count)] + rng.random((count, 3))) * (2 / (n - 1))).astype(np.float32)


def inside(tri: np.ndarray, lin: np.ndarray) -> np.ndarray:
    """Which points of the grid ``lin``³ lie inside the closed triangles ``tri``.

    By the parity of crossings along axis 0 of rays through every (y, z) column.

    Parameters
    ----------
    tri
        (F, 3, 3) triangles.
    lin
        The grid's coordinates along each axis (n,).

    Returns
    -------
    ndarray
        (n, n, n) bool.
    """
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


def distance(tri: np.ndarray, lin: np.ndarray) -> np.ndarray:
    """The unsigned distance from the grid ``lin``³ to the triangles ``tri``, exact to a few candidate faces per point.

    Within `BAND` grid steps of the surface, the candidates are the faces of the point's
    `NEAREST` nearest surface samples (every face's centroid and 20·n² area-weighted random
    points); farther out, those of the nearest grid point in that band.

    Parameters
    ----------
    tri
        (F, 3, 3) triangles.
    lin
        The grid's coordinates along each axis (n,).

    Returns
    -------
    ndarray
        (n, n, n).
    """
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
    dist, best = closest(tri, points, faces)
    for _ in range(SWEEPS):  # a point also tries its six neighbours' closest faces
        best = best.reshape(n, n, n)
        shifted = [np.roll(best, step, axis) for axis in range(3) for step in (-1, 1)]
        dist, best = closest(tri, points, np.stack([best, *shifted], axis=-1).reshape(len(points), -1))
    return dist.reshape(n, n, n)


def closest(tri: np.ndarray, points: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    """Marching cubes of a 1-channel volume at ``level``.

    Faces wind outwards: inside is below the level for signed distance, above it otherwise.

    Parameters
    ----------
    signal
        A 1-channel volume.
    level
        In the units of its file; default: the middle of its range, i.e. 0 for signed distance, 0.5
        for occupancy.
    mesh_frame
        Vertices in the source mesh's coordinates (a shape; a volume has none), not grid coordinates.

    Returns
    -------
    vertices : ndarray
        (V, 3).
    faces : ndarray
        (F, 3); both empty where the level is never crossed.

    Raises
    ------
    InputError
        If ``signal`` is not a 1-channel volume.
    """
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
