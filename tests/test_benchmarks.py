"""Settings of the benchmark scripts that tables depend on (the scripts themselves run for minutes), and
every results table made again from its records file alone."""

import importlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
RESULTS = BENCHMARKS / "results"
sys.path.insert(0, str(BENCHMARKS))

import common  # noqa: E402
import paper  # noqa: E402
import time_to_quality as ttq  # noqa: E402
from siren2 import FitConfig, create_model, num_parameters  # noqa: E402
from siren2.records import RecordStore  # noqa: E402

# every kept results table (benchmarks/results/<table>.md) and the script that writes it from <table>.jsonl
TABLES = {
    **{f"paper_{s}": "paper" for s in ("audio_quick", "audio_faithful", "audio_faithful_fast", "audio_full",
                                        "image_quick", "image_faithful", "image_faithful_fast", "restore_quick",
                                        "restore_faithful")},
    "cuda/paper_audio_full": "paper",
    "time_to_quality": "time_to_quality", "cuda/time_to_quality": "time_to_quality",
    "step_time": "step_time", "step_time_cuda": "step_time", "step_time_big_clip": "step_time",
    "throughput": "throughput", "cuda/throughput": "throughput",
    "restore_grid": "restore_grid", "fuzz": "fuzz", "adaptive_rules": "adaptive", "shape_iou": "shape_iou",
    "codec": "codec", "paper_audio_faithful_fast_tuned": "paper",
}


@pytest.mark.parametrize("table", TABLES)
def test_tables_regenerate_from_their_records(table, monkeypatch, tmp_path):
    """Each table, made again in-process from its committed records file alone (no data, no fit), is
    byte for byte the committed table."""
    records = RESULTS / f"{table}.jsonl"
    if not records.exists():
        pytest.skip(f"{records.relative_to(BENCHMARKS.parent)} is not in this checkout")
    monkeypatch.setenv("SIREN2_DATA", str(tmp_path / "no data"))  # a table must not need the data
    monkeypatch.setattr(common, "DATA", tmp_path / "no data")
    script = importlib.import_module(TABLES[table])
    monkeypatch.setattr(script, "DATA", tmp_path / "no data", raising=False)
    assert script.markdown_from_records(records) == (RESULTS / f"{table}.md").read_text()


def test_every_table_has_its_records_and_every_records_file_a_table():
    tables = {p.relative_to(RESULTS).with_suffix("").as_posix() for p in RESULTS.rglob("*.md")}
    records = {p.relative_to(RESULTS).with_suffix("").as_posix() for p in RESULTS.rglob("*.jsonl")}
    assert tables == records == set(TABLES)
    for table in TABLES:  # one record per key, each made by a run the file names
        recs = RecordStore(RESULTS / f"{table}.jsonl").records()
        keys = [r["key"] for r in recs]
        assert len(keys) == len(set(keys)) and common.INVOCATION in keys
        assert all(r["complete"] is True and len(r["fingerprint"]) == 16 for r in recs)


def test_a_paper_table_and_its_figures_are_written_again_from_the_records(tmp_path, capsys):
    src = RESULTS / "paper_audio_full.jsonl"
    if not src.exists():
        pytest.skip("paper_audio_full.jsonl is not in this checkout")
    (tmp_path / src.name).write_bytes(src.read_bytes())
    assert paper.main(["audio", "--scale", "full", "--from-records", "--results", str(tmp_path)]) == 0
    assert (tmp_path / "paper_audio_full.md").read_text() == (RESULTS / "paper_audio_full.md").read_text()
    assert (tmp_path / "paper_audio_full_psnr.png").stat().st_size > 1000
    assert (tmp_path / "paper_audio_full_bars.png").stat().st_size > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper_audio_full.jsonl", "paper_audio_full.md",
                                                         "paper_audio_full_bars.png", "paper_audio_full_psnr.png"]
    with pytest.raises(SystemExit, match="not found"):
        paper.main(["image", "--scale", "full", "--from-records", "--results", str(tmp_path)])


def params(in_dim, width, layers):
    return num_parameters(create_model("siren2", in_dim=in_dim, s0=0.0, s1=0.0, width=width, hidden_layers=layers))


def test_fuzz_stores_each_batch_as_it_ends_and_resumes_from_its_records(tmp_path, monkeypatch):
    import resource

    import fuzz

    monkeypatch.setattr(resource, "setrlimit", lambda *args: None)  # not this test process's address space
    ran = []

    def batch(start, stop):
        ran.append(start)
        return {"start": start, "stop": stop, "seconds": 6.0, "kinds": {}, "exit_codes": {}, "violations": []}

    monkeypatch.setattr(fuzz, "run_batch", batch)
    argv = ["--cases", "600", "--results", str(tmp_path)]
    assert fuzz.main(argv) == 0 and ran == [0, 250, 500]
    assert fuzz.main([*argv, "--resume"]) == 0 and ran == [0, 250, 500]  # every batch kept
    assert fuzz.main([*argv, "--start", "500", "--resume"]) == 0 and ran == [0, 250, 500, 500, 750, 1000]
    store = RecordStore(tmp_path / "fuzz.jsonl")
    assert [r["key"] for r in store.records()] == ["0-250", "250-500", "500-600", common.INVOCATION, "500-750",
                                                   "750-1000", "1000-1100"]
    md = (tmp_path / "fuzz.md").read_text()
    assert "600 cases (seeds 500–1099), 0.3 min" in md and md == fuzz.markdown_from_records(store.path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fuzz.jsonl", "fuzz.md"]


@pytest.mark.parametrize("suite,in_dim,points", [("audio", 1, lambda w: w), ("image", 2, lambda w: w * w)])
def test_faithful_scale_holds_about_one_parameter_per_sample(suite, in_dim, points):
    s = paper.SCALES[suite]["faithful"]
    ratio = params(in_dim, s["width"], s["hidden_layers"]) / points(s["window"])
    assert 0.9 < ratio < 1.1, ratio
    assert s["epochs"] == FitConfig.resolve(paper.PRESETS[suite], "paper", in_dim).epochs  # the paper's budget


@pytest.mark.parametrize("suite", ["audio", "image", "full"])
def test_time_to_quality_suites_hold_about_one_parameter_per_sample(suite):
    s = ttq.SUITES[suite]
    in_dim, points = (1, s["window"]) if s["folder"] == "audio" else (2, s["window"] ** 2)
    assert 0.9 < params(in_dim, s["width"], s["hidden_layers"]) / points < 1.1


def test_time_to_quality_reads_speedup_and_equal_time_psnr_off_the_curves():
    paper_rec = {"signal": "x", "seed": 0, "psnr_paper_per_epoch": [10, 20, 30, 40], "seconds_at": [1, 2, 3, 4],
                 "seconds": 4.0}
    fast_rec = {"signal": "x", "seed": 0, "psnr_paper_per_epoch": [15, 41, 39, 45], "seconds_at": [0.5, 1, 1.5, 2],
                "seconds": 2.0}
    row = ttq.compare_pair(paper_rec, fast_rec)
    assert row["target_psnr"] == 40 and row["paper_seconds_to_target"] == 4
    assert row["fast_epochs_to_target"] == 2 and row["fast_seconds_to_target"] == 1 and row["speedup"] == 4
    assert row["paper_psnr_at_0.3"] == 10 and row["fast_psnr_at_0.3"] == 41  # 1.2 s: paper's epoch 1, fast's 2
    assert row["fast_psnr_at_1"] == 45  # fast ended at 2 s and keeps its final best
    never = dict(fast_rec, psnr_paper_per_epoch=[1, 2, 3, 4])
    assert ttq.compare_pair(paper_rec, never)["speedup"] is None
    assert ttq.psnr_at(paper_rec, 0.5) == -math.inf
    assert np.array_equal(ttq.best_so_far([1, 3, 2, float("nan")]), [1, 3, 3, 3])


@pytest.mark.parametrize("suite,steps,batch", [("audio", 3, 10_000), ("image", 4, 4_096)])
def test_faithful_scale_keeps_the_papers_minibatch_steps_per_epoch(suite, steps, batch):
    # the reference code: 65,536-point batches over 150,000 samples (3 steps) or 512² pixels (4 steps)
    mb = paper.minibatch(suite, paper.SCALES[suite]["faithful"]["window"])
    assert mb["steps_per_epoch"] == steps and mb["batch_size"] == batch
    assert math.ceil(mb["points"] / mb["batch_size"]) == steps  # the window takes as many steps


def test_faithful_scale_runs_each_minibatch_model_under_both_protocols():
    models = ["siren", "siren2", "finer++", "wire"]
    labels, variants = paper.protocol_variants("audio", 30_000, models)
    assert labels == models + ["finer++@fullbatch", "wire@fullbatch"]
    assert variants["finer++"] == ("finer++", {"batch_size": 10_000})
    assert variants["wire@fullbatch"] == ("wire", {"batch_size": 30_000})  # one step per epoch, as SIREN²
    assert "siren2" not in variants  # full batch already


def test_faithful_restore_suites_use_the_faithful_windows_and_networks():
    if not (paper.DATA / "images" / "camera.png").exists() or not (paper.DATA / "audio" / "relay.wav").exists():
        pytest.skip("needs the shared camera.png and relay.wav (../shared/data)")
    specs = paper.restore_specs("faithful", ["siren", "siren2"], [0], paper.restore_tasks(None))
    camera = specs["camera-noise"]
    assert camera.model_options == {"width": 64, "hidden_layers": 5} and camera.epochs == 4000
    assert camera.signals["camera.png"]().grid == (128, 128)
    relay = specs["relay-missing"]
    assert relay.model_options == {"width": 100, "hidden_layers": 4} and relay.epochs == 1000
    assert relay.signals["relay.wav"]().num_points == 30_000


def test_throughput_times_both_paths_and_checks_that_they_agree(tmp_path, capsys):
    import throughput

    argv = ["--quick", "--clips", "4", "--samples", "128", "--width", "16", "--epochs", "4", "--groups", "2,4",
            "--fit-many-batch", "2", "--results", str(tmp_path)]
    assert throughput.main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["throughput.jsonl", "throughput.md"]
    data = throughput.tables(RecordStore(tmp_path / "throughput.jsonl"))
    assert list(data["paths"]) == ["one at a time", "batched K=2", "batched K=4", "fit-many --batch 2",
                                   "fit-many --batch 2 --no-figures", "fit-many --batch 2 --no-figures --workers 2"]
    assert all(r["agrees"] and r["fits_per_hour"] > 0 for r in data["paths"].values())
    md = (tmp_path / "throughput.md").read_text()
    assert data["paths"]["batched K=4"]["engine"] == "batched" and "| batched K=2 |" in md
    (tmp_path / "throughput.md").unlink()
    assert throughput.main(["--from-records", "--results", str(tmp_path)]) == 0  # the table again, timing nothing
    assert (tmp_path / "throughput.md").read_text() == md


def test_adaptive_3d_signals_are_about_one_parameter_per_sample_and_the_table_reads_the_oracle():
    import adaptive

    for make in (adaptive.volume, adaptive.shape):
        sig = make()
        s = adaptive.SHAPES[3]
        assert 0.9 < params(3, s["width"], s["hidden_layers"]) / sig.num_points < 1.1
    assert adaptive.shape().meta["field"] == "sdf"  # scored by iou and chamfer too
    occ, sdf = adaptive.loaders()["occupancy"](), adaptive.shape()
    assert occ.meta["field"] == "occupancy" and set(np.unique(occ.values)) == {-1.0, 1.0}
    assert np.array_equal(occ.values > 0, sdf.values < 0)  # the same torus: inside where the distance is negative

    def rec(label, psnr, s0=1.0):
        return {"signal": "x.wav", "label": label, "in_dim": 1, "channels": 1, "points": 100, "parameters": 100,
                "metrics": {"psnr_paper": psnr}, "fit_seconds": 10.0,
                "winner": {"s0": s0, "s1": 0.1, "search": {"seconds": 0.5}}}

    grid = [rec("s0 x2", 43.0), rec("s0 x0.5", 39.0), rec("s0 x4", 42.0)]
    md = adaptive.table([rec("code", 40.0), rec("auto", 41.0), *grid])
    assert "| x.wav" not in md and "until all 6 of their fits are done: x.wav" in md  # a partial row waits
    md = adaptive.table([rec("code", 40.0), rec("auto", 41.0), *grid, rec("s0 x8", 30.0)])
    row = next(line for line in md.splitlines() if line.startswith("| x.wav"))
    assert "43.00 (s0 x2)" in row and "+1.00" in row and "-2.00" in row and "5.0%" in row


def test_restore_grid_targets_say_who_reaches_three_db():
    import restore_grid
    from siren2.restoration.evaluation import FLOOR

    def rec(signal, task, siren2, other, ref=None):
        scores = {FLOOR: {"psnr_paper": 20.0}, "siren": {"psnr_paper": 20.5}, "siren2": {"psnr_paper": siren2},
                  "wiener": {"psnr_paper": other}} | ({"oracle wiener †": {"psnr_paper": ref}} if ref else {})
        return {"modality": "audio", "task": task, "signal": signal, "seed": 0, "scores": scores}

    lines = restore_grid.targets([rec("a.wav", "noise 0.05", 23.5, 21.0), rec("b.wav", "noise 0.05", 21.0, 24.0),
                                  rec("c.wav", "noise 0.05", 21.0, 21.0, 23.2), rec("d.wav", "noise 0.05", 20.0, 20.0, 21.0)])
    rows = {line.split(" | ")[1]: line for line in lines if line.startswith("| audio")}
    assert rows["a.wav"].endswith("| met |") and "+3.50" in rows["a.wav"] and "+3.00" in rows["a.wav"]  # − input, − SIREN
    assert "another row reaches it" in rows["b.wav"] and "+4.00 (wiener)" in rows["b.wav"]
    assert "only a † reference" in rows["c.wav"] and "no row here" in rows["d.wav"]
    assert lines[0].startswith("Of 4 tasks:") and "met 1" in lines[0]


def test_restore_grid_adds_a_new_baseline_to_a_record_on_the_same_corruption():
    import restore_grid
    from siren2 import Signal
    from siren2.restoration.corruptions import CorruptionSpec
    from siren2.restoration.evaluation import FLOOR
    from siren2.metrics import metrics

    t = np.arange(2000)
    clean = Signal(values=(0.5 * np.sin(2 * np.pi * 0.35 * t))[:, None].astype(np.float32), grid=(2000,),
                   kind="audio", sample_rate=8000)
    spec = CorruptionSpec("missing", 0.3)
    floor = metrics(clean, spec.apply(clean, 1).signal.values)
    rec = {"signal": "tone", "task": "missing 30%", "seed": 1, "scores": {FLOOR: floor, "linear": {}}}
    assert restore_grid.add_baselines(rec, clean, spec)
    assert set(rec["scores"]) == {FLOOR, "linear", "cubic", "lmmse"} and rec["scores"]["linear"] == {}  # kept
    assert rec["scores"]["lmmse"]["psnr_paper"] > floor["psnr_paper"] + 10
    assert not restore_grid.add_baselines(rec, clean, spec)  # nothing left to add
    rec = {"signal": "tone", "task": "missing 30%", "seed": 2, "scores": {FLOOR: floor}}
    with pytest.raises(RuntimeError, match="drawn again differs"):  # seed 2 draws another corruption
        restore_grid.add_baselines(rec, clean, spec)


def test_order_notes_flag_a_ranking_the_paper_contradicts():
    paper_nums = {"mean": {"siren2": 64.5, "finer++": 56.5, "siren": 34.8}}
    same = paper.order_notes({"mean": {"siren2": 48.0, "finer++": 30.0, "siren": 25.0}}, paper_nums)
    assert same == []
    flipped = paper.order_notes({"mean": {"siren2": 48.0, "finer++": 23.0, "siren": 25.0}}, paper_nums)
    assert len(flipped) == 1 and "siren2 48.00 > siren 25.00 > finer++ 23.00" in flipped[0]
    assert paper.order_notes({"other": {"siren": 1.0}}, paper_nums) == []  # no common signal: no claim




def test_tables_name_the_machine_their_records_ran_on():
    """A table made from records fitted on a GPU names the GPU, not the machine of the run that wrote
    it; CPU records (and records without a runtime) count as that machine."""
    gpu = {"runtime": {"device": "cuda", "gpu": "NVIDIA H200", "python": "3.12.3", "torch": "2.11.0"}}
    cpu = {"runtime": {"stopped_by": "diverged", "epochs_run": 3}}
    here = common.machine_line()
    assert common.machine_line([gpu, gpu]) == "NVIDIA H200, Python 3.12.3, torch 2.11.0"
    assert common.machine_line([cpu, {}]) == here
    assert common.machine_line([gpu, cpu]) == f"NVIDIA H200, Python 3.12.3, torch 2.11.0; {here}"
    there = {"python": "3.9.1", "torch": "1.0", "cpu_threads": 4, "processor": "arm64"}
    assert common.machine_line([cpu], there) == "arm64 CPU, 4 threads, Python 3.9.1, torch 1.0"
