"""Volumes (.npy) and shapes (meshes as signed distance or occupancy): loading, writing back,
marching cubes, IoU and Chamfer, and ``fit`` / ``render`` through the CLI.

Tiny grids (12³–24³) and 2 x 16 networks keep the file fast; the mesh tests skip without trimesh
(the optional extra ``siren2[mesh]``).
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

from helpers import run_cli
from siren2 import InputError, Signal, load_signal, metrics, save_signal
from siren2.io import NEAR_SURFACE, load_mesh, save_mesh
from siren2.shapes import isosurface

TINY = ["--epochs", "5", "--width", "16", "--layers", "2", "--quiet"]


def sphere(n: int = 24, radius: float = 0.6, center=(0.0, 0.0, 0.0), field: str = "sdf") -> Signal:
    """A sphere's signed distance (or occupancy, as ±1) on an n³ grid over [-1, 1]³."""
    lin = np.linspace(-1, 1, n)
    pts = np.stack(np.meshgrid(lin, lin, lin, indexing="ij"), axis=-1).reshape(-1, 3)
    sdf = np.linalg.norm(pts - np.asarray(center), axis=1) - radius
    values = sdf if field == "sdf" else np.where(sdf < 0, 1.0, -1.0)
    return Signal(values=values[:, None], grid=(n, n, n), kind="volume", meta={"field": field})


def check_closed(vertices, faces):
    """Every edge shared by exactly two faces, Euler characteristic 2 (a sphere), outward faces."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    assert np.all(counts == 2)
    assert len(np.unique(faces)) - len(unique) + len(faces) == 2
    v = vertices[faces]
    return float(np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6)  # signed volume


# ------------------------------------------------------------------------------------- volumes (.npy)


@pytest.mark.parametrize("array", [
    np.linspace(-3.0, 250.0, 8 * 9 * 10, dtype=np.float32).reshape(8, 9, 10),
    np.arange(6 * 6 * 6 * 2, dtype=np.uint8).reshape(6, 6, 6, 2),
    np.arange(-100, 116, dtype=np.int16).reshape(6, 6, 6),
    np.indices((6, 6, 6)).sum(0) % 2 == 0,
], ids=["float32", "uint8-2ch", "int16", "bool"])
def test_volume_load_save_round_trip(tmp_path, array):
    np.save(tmp_path / "v.npy", array)
    sig = load_signal(tmp_path / "v.npy")
    assert sig.kind == "volume" and sig.grid == array.shape[:3] and sig.channels == (array.shape[3:] or (1,))[0]
    assert sig.values.min() == -1.0 and sig.values.max() == 1.0
    assert {"offset", "scale", "dtype"} <= set(sig.describe())
    save_signal(sig, tmp_path / "back.npy")
    back = np.load(tmp_path / "back.npy")
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_allclose(back.astype(np.float64), array.astype(np.float64), rtol=0, atol=1e-4 * np.ptp(array.astype(np.float64)))


def test_constant_volume_warns_and_round_trips(tmp_path):
    np.save(tmp_path / "c.npy", np.full((4, 4, 4), 7.0))
    with pytest.warns(UserWarning, match="constant"):
        sig = load_signal(tmp_path / "c.npy")
    save_signal(sig, tmp_path / "back.npy")
    assert np.array_equal(np.load(tmp_path / "back.npy"), np.full((4, 4, 4), 7.0))


BAD_VOLUMES = {
    "2-D": lambda p: np.save(p, np.zeros((8, 8))),
    "5-D": lambda p: np.save(p, np.zeros((2, 2, 2, 2, 2))),
    "complex": lambda p: np.save(p, np.zeros((4, 4, 4), complex)),
    "strings": lambda p: np.save(p, np.full((4, 4, 4), "a")),
    "object": lambda p: np.save(p, np.empty((2, 2, 2), object), allow_pickle=True),
    "nan": lambda p: np.save(p, np.where(np.eye(4, dtype=bool)[None], np.nan, 0.0).repeat(4, 0)),
    "inf": lambda p: np.save(p, np.full((4, 4, 4), np.inf)),
    "empty-array": lambda p: np.save(p, np.zeros((0, 4, 4))),
    "empty-file": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(_npy_bytes(np.zeros((8, 8, 8)))[:150]),
    "bad-header": lambda p: p.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': <f8,  \n"),
    "pickle": lambda p: p.write_bytes(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00]\x94."),
}


def _npy_bytes(array) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


@pytest.mark.parametrize("case", sorted(BAD_VOLUMES))
def test_bad_volume_is_one_line_input_error_and_cli_exit_2(tmp_path, capsys, case):
    path = tmp_path / "bad.npy"
    BAD_VOLUMES[case](path)
    with pytest.raises(InputError) as info:
        load_signal(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)
    code, out, err = run_cli(capsys, "fit", path, "--out", tmp_path / "run", "--model", "siren", *TINY)
    assert code == 2 and len(err) == 1 and err[0].startswith("siren2: error:") and "bad.npy" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npy"]


def test_volume_over_max_points_is_refused(tmp_path):
    np.save(tmp_path / "v.npy", np.zeros((8, 8, 8)))
    with pytest.raises(InputError, match="above the limit"):
        load_signal(tmp_path / "v.npy", max_points=500)


# ------------------------------------------------------------------------------------- marching cubes, metrics


@pytest.mark.parametrize("field", ["sdf", "occupancy"])
def test_sphere_marching_cubes_is_closed_and_outward(field):
    verts, faces = isosurface(sphere(field=field))
    volume = check_closed(verts, faces)
    assert volume == pytest.approx(4 / 3 * math.pi * 0.6**3, rel=0.1)


def test_isosurface_level_in_file_units_and_none_when_not_crossed():
    sig = sphere()
    sig.meta |= {"offset": 1.0, "scale": 2.0}  # file units: 2·sdf + 1, so the surface is at level 1
    verts, _ = isosurface(sig, level=1.0)
    assert np.linalg.norm(verts, axis=1) == pytest.approx(0.6, abs=0.02)
    assert isosurface(sig, level=50.0)[1].shape == (0, 3)
    with pytest.raises(InputError, match="1-channel"):
        isosurface(Signal(values=np.zeros((64, 2)), grid=(4, 4, 4), kind="volume"))


@pytest.mark.parametrize("field", ["sdf", "occupancy"])
def test_iou_and_chamfer(field):
    target = sphere(field=field)
    perfect = metrics(target, target.values)
    assert perfect["iou"] == 1.0 and perfect["chamfer"] == 0.0
    shifted = metrics(target, sphere(center=(0.2, 0.0, 0.0), field=field).values)
    assert 0.3 < shifted["iou"] < 1.0 and 0.02 < shifted["chamfer"] < 0.3
    nothing = metrics(target, np.full_like(target.values, 1.0 if field == "sdf" else -1.0))
    assert nothing["iou"] == 0.0 and nothing["chamfer"] == math.inf


def test_plain_volume_has_no_shape_metrics():
    sig = Signal(values=np.linspace(-1, 1, 64)[:, None], grid=(4, 4, 4), kind="volume")
    assert set(metrics(sig, sig.values)) == {"psnr_paper", "mse"}


def test_save_mesh_obj_without_trimesh(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "trimesh", None)  # import trimesh -> ImportError
    verts, faces = isosurface(sphere(n=12))
    save_mesh(verts, faces, tmp_path / "s.obj")
    lines = (tmp_path / "s.obj").read_text().splitlines()
    assert sum(line.startswith("v ") for line in lines) == len(verts)
    assert sum(line.startswith("f ") for line in lines) == len(faces)
    with pytest.raises(InputError, match=r"siren2\[mesh\]"):
        save_mesh(verts, faces, tmp_path / "s.ply")
    (tmp_path / "m.obj").write_text("v 0 0 0\n")
    with pytest.raises(InputError, match=r"siren2\[mesh\]"):
        load_mesh(tmp_path / "m.obj")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.obj", "s.obj"]


# ------------------------------------------------------------------------------------- meshes (trimesh)


@pytest.fixture
def trimesh():
    return pytest.importorskip("trimesh", reason="trimesh (siren2[mesh]) not installed")


def test_sphere_marching_cubes_is_watertight_for_trimesh(trimesh):
    mesh = trimesh.Trimesh(*isosurface(sphere()))
    assert mesh.is_watertight and mesh.volume > 0


@pytest.mark.parametrize("suffix", [".stl", ".off"])
def test_mesh_load_round_trip(tmp_path, trimesh, suffix):
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=2.0)
    mesh.apply_translation([1.0, -2.0, 3.0])
    mesh.export(tmp_path / f"s{suffix}")
    sdf = load_mesh(tmp_path / f"s{suffix}", resolution=17)
    assert sdf.grid == (17, 17, 17) and sdf.meta["field"] == "sdf"
    assert sdf.meta["mesh_center"] == pytest.approx([1.0, -2.0, 3.0]) and sdf.meta["mesh_scale"] == pytest.approx(2.2)
    grid = sdf.values[:, 0].reshape(sdf.grid) * sdf.meta["scale"]  # mesh units
    assert grid[8, 8, 8] == pytest.approx(-2.0, abs=0.05) and grid[0, 0, 0] > 1.5
    assert np.abs(sdf.values).max() == pytest.approx(1.0)
    verts, faces = isosurface(sdf, mesh_frame=True)
    assert np.allclose(verts.min(0), mesh.bounds[0], atol=0.3) and np.allclose(verts.max(0), mesh.bounds[1], atol=0.3)
    occ = load_mesh(tmp_path / f"s{suffix}", resolution=17, field="occupancy").values[:, 0].reshape(sdf.grid)
    assert occ[8, 8, 8] == 1.0 and occ[0, 0, 0] == -1.0 and np.array_equal(occ > 0, grid < 0)


def test_mesh_near_surface_samples_are_in_the_surfaces_cells_with_exact_values(tmp_path, trimesh):
    center = np.array([1.0, -2.0, 3.0])
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=2.0)
    mesh.apply_translation(center)
    mesh.export(tmp_path / "s.stl")
    sdf = load_mesh(tmp_path / "s.stl", resolution=17)
    off = sdf.off_grid
    assert off.coords.shape == (round(NEAR_SURFACE * 17**3), 3) and sdf.describe()["off_grid_samples"] == len(off.coords)
    distance = np.linalg.norm(off.coords * sdf.meta["mesh_scale"] + center - center, axis=1) - 2.0  # mesh units
    assert np.abs(distance).max() < math.sqrt(3) * 2 / 16 * sdf.meta["mesh_scale"]  # within a crossed cell
    assert np.abs(off.values[:, 0] * sdf.meta["scale"] - distance).max() < 0.03  # the faceted sphere's
    assert np.unique(np.round(off.coords, 6), axis=0).shape[0] > 0.9 * len(off.coords)  # spread, not repeated
    occ = load_mesh(tmp_path / "s.stl", resolution=17, field="occupancy").off_grid
    np.testing.assert_array_equal(occ.coords, off.coords)
    np.testing.assert_array_equal(occ.values > 0, off.values < 0)
    assert load_mesh(tmp_path / "s.stl", resolution=17, near=0).off_grid is None
    with pytest.raises(InputError, match="near-surface share"):
        load_mesh(tmp_path / "s.stl", near=-1)
    total = 17**3 + len(off.coords)  # the limit counts the near-surface samples with the grid's
    assert load_mesh(tmp_path / "s.stl", resolution=17, max_points=total).num_samples == total
    with pytest.raises(InputError, match=f"{total:,} points, above the limit"):
        load_mesh(tmp_path / "s.stl", resolution=17, max_points=total - 1)
    assert load_mesh(tmp_path / "s.stl", resolution=17, near=0, max_points=17**3).off_grid is None


def test_bad_meshes_are_one_line_errors_and_cli_exit_2(tmp_path, capsys, trimesh):
    open_sphere = trimesh.creation.icosphere(subdivisions=1)
    open_sphere.update_faces(np.arange(len(open_sphere.faces)) > 0)  # one face removed: a hole
    open_sphere.export(tmp_path / "open.stl")
    (tmp_path / "points.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    (tmp_path / "garbage.ply").write_text("ply\nnot really\n")
    for name, needle in (("open.stl", "not watertight"), ("points.obj", "no faces"), ("garbage.ply", "cannot read")):
        with pytest.raises(InputError, match=needle):
            load_signal(tmp_path / name)
        code, _, err = run_cli(capsys, "fit", tmp_path / name, "--out", tmp_path / "run", "--model", "siren", *TINY)
        assert code == 2 and len(err) == 1 and name in err[0] and needle in err[0]
        assert not (tmp_path / "run").exists()


def test_fit_mesh_and_render_mesh_cli(tmp_path, capsys, trimesh):
    trimesh.creation.icosphere(subdivisions=2).export(tmp_path / "s.off")
    code, _, err = run_cli(capsys, "fit", tmp_path / "s.off", "--out", tmp_path / "run", "--mesh-resolution", "16",
                           "--s0", "5", "--s1", "0.1", *TINY)  # fixed scales whose tiny fit crosses the surface
    assert code == 0, err
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0 <= m["metrics"]["iou"] <= 1 and "chamfer" in m["metrics"] and "chamfer" in m["conventions"]
    signal = json.loads((tmp_path / "run" / "config.json").read_text())["signal"]
    assert signal["field"] == "sdf" and signal["off_grid_samples"] == round(NEAR_SURFACE * 16**3)
    code, out, err = run_cli(capsys, "render", tmp_path / "run", "--out", tmp_path / "s.ply", "--size", "20x20x20")
    assert code == 0 and "triangles by marching cubes on 20x20x20" in out, err
    assert len(trimesh.load(tmp_path / "s.ply").faces) > 0


# ------------------------------------------------------------------------------------- fit / render of a volume


def test_fit_and_render_volume_cli(tmp_path, capsys):
    lin = np.linspace(-1, 1, 12)
    x, y, z = np.meshgrid(lin, lin, lin, indexing="ij")
    vol = (100 * (np.sqrt(x**2 + y**2 + z**2) - 0.6)).astype(np.float32)
    np.save(tmp_path / "v.npy", vol)
    code, out, err = run_cli(capsys, "fit", tmp_path / "v.npy", "--out", tmp_path / "run", *TINY)
    assert code == 0 and err == [], err
    run = tmp_path / "run"
    winner = json.loads((run / "config.json").read_text())["model"]["winner"]
    assert winner["rule"] == "auto" and winner["search"]["candidates_scanned"] > 0  # 3-D: no paper rule
    recon = np.load(run / "reconstruction.npy")
    assert recon.shape == vol.shape and recon.dtype == np.float32
    metrics_json = json.loads((run / "metrics.json").read_text())["metrics"]
    assert math.isfinite(metrics_json["psnr_paper"]) and "iou" not in metrics_json
    code, _, err = run_cli(capsys, "render", run, "--out", tmp_path / "fine.npy", "--size", "16x16x20")
    assert code == 0, err
    assert np.load(tmp_path / "fine.npy").shape == (16, 16, 20)
    native = tmp_path / "native.npy"
    assert run_cli(capsys, "render", run, "--out", native)[0] == 0
    np.testing.assert_allclose(np.load(native), recon, atol=1e-3 * np.ptp(vol))
    level = float(np.median(recon))  # crossed by any fit
    code, _, err = run_cli(capsys, "render", run, "--out", tmp_path / "v.obj", "--level", str(level))
    assert code == 0, err
    text = (tmp_path / "v.obj").read_text()
    assert "\nv " in text and "\nf " in text
    for argv, needle in ((["--out", tmp_path / "x.npy", "--size", "16x16"], "3 sizes"),
                         (["--out", tmp_path / "x.npy", "--level", "0"], "--level"),
                         (["--out", tmp_path / "x.obj", "--level", "1e9"], "no surface"),
                         (["--out", tmp_path / "x.png"], "cannot write volume")):
        code, _, err = run_cli(capsys, "render", run, *argv)
        assert code == 2 and len(err) == 1 and needle in err[0], (argv, err)
    assert not any(tmp_path.glob("x.*")) and not any(p.name.startswith(".") for p in tmp_path.iterdir())
