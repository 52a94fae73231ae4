"""The Ray backend of fit-many on a real local cluster: the same metrics as in-process fits, and a
unit whose worker is killed is rerun to completion with nothing partial left behind."""

import os
import signal
import threading
import time

import pytest

from siren2.many import FitJob, finished, fit_many

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'siren2[ray]')")

TINY = {"width": 8, "hidden_layers": 2, "epochs": 5}


@pytest.fixture(scope="module")
def cluster():
    """One local 2-CPU cluster for the module (starting one costs seconds)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture
def clips(tmp_path):
    from test_many import same_length_clips

    return sorted(same_length_clips(tmp_path / "in", count=4).iterdir())


def jobs(clips, out, **options):
    return [FitJob(path=str(c), out=str(out / c.stem), options=TINY | options) for c in clips]


def scores(records):
    return {r["folder"]: r["metrics"]["psnr_paper"] for r in records}


def test_ray_tasks_give_the_same_metrics_as_in_process_fits(cluster, clips, tmp_path):
    local = fit_many(jobs(clips, tmp_path / "local"), batch=1)
    for batch in (1, 2):
        remote = fit_many(jobs(clips, tmp_path / f"ray{batch}"), batch=batch, backend="ray", cpus_per_task=1)
        assert [r["status"] for r in remote] == ["ok"] * 4
        assert scores(remote) == pytest.approx(scores(local), abs=1e-3)
        assert all(finished(tmp_path / f"ray{batch}" / c.stem) for c in clips)
    assert [r.get("batch") for r in remote] == [2, 2, 2, 2]


def test_a_killed_worker_s_unit_is_rerun_and_leaves_nothing_partial(cluster, clips, tmp_path):
    out = tmp_path / "out"
    todo = jobs(clips[:2], out, epochs=3000)  # one unit of two, long enough to kill mid-fit
    result, killed = {}, []
    runner = threading.Thread(target=lambda: result.setdefault("records", fit_many(todo, batch=2, backend="ray")))
    runner.start()
    deadline = time.monotonic() + 60
    while not killed and time.monotonic() < deadline:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                title = open(f"/proc/{pid}/cmdline", "rb").read()
            except OSError:
                continue
            if title.startswith(b"ray::unit_task"):
                time.sleep(0.5)  # well into the fit
                os.kill(int(pid), signal.SIGKILL)
                killed.append(pid)
                break
        time.sleep(0.05)
    runner.join(timeout=300)
    assert killed, "the unit's worker was never seen running"
    assert [r["status"] for r in result["records"]] == ["ok", "ok"]
    assert all(r["epochs_run"] == 3000 for r in result["records"])
    assert all(finished(out / c.stem) for c in clips[:2])
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_the_throughput_benchmark_times_ray_tasks_and_they_agree(cluster, tmp_path):
    import sys
    from pathlib import Path

    from siren2.records import RecordStore

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import throughput

    ray.cloudpickle.register_pickle_by_value(throughput)  # as `python benchmarks/throughput.py` ships its __main__
    argv = ["--quick", "--clips", "4", "--samples", "128", "--width", "16", "--epochs", "4", "--groups", "2",
            "--fit-many-batch", "0", "--ray-groups", "2", "--results", str(tmp_path)]
    assert throughput.main(argv) == 0
    data = throughput.tables(RecordStore(tmp_path / "throughput.jsonl"))
    assert list(data["paths"]) == ["one at a time", "batched K=2", "ray K=2"]
    assert data["paths"]["ray K=2"]["agrees"] and data["paths"]["ray K=2"]["engine"] == "batched"


def test_a_suite_on_ray_writes_the_records_of_in_process_fits(cluster, tmp_path):
    import numpy as np

    from siren2 import Signal
    from siren2.records import RecordStore
    from siren2.suite import SuiteSpec, run_suite

    def tone(f, n=256):
        return Signal(values=np.sin(2 * np.pi * f * np.arange(n))[:, None], grid=(n,), kind="audio",
                      sample_rate=8000, source=f"tone{f}")

    spec = SuiteSpec(name="tiny", signals={"a.wav": lambda: tone(0.05), "b.wav": lambda: tone(0.2)},
                     models=["siren", "siren2"], seeds=[0, 1], preset="paper_audio", epochs=3,
                     settings={"epochs": 3}, model_options={"width": 8, "hidden_layers": 2},
                     fit_options={"lr": 1e-3})
    local, _ = run_suite(spec, tmp_path / "local")
    fitted = []
    remote, interrupted = run_suite(spec, tmp_path / "ray", backend="ray", batch_seeds=True,
                                    on_fit=lambda job, rec: fitted.append(job))
    assert not interrupted and len(remote) == len(fitted) == 8
    key = lambda r: (r["signal"], r["model"], r["seed"])  # noqa: E731
    mine = {key(r): r for r in local}
    for rec in remote:
        assert rec["psnr_paper_per_epoch"] == pytest.approx(mine[key(rec)]["psnr_paper_per_epoch"], abs=1e-3)
    for rec in remote:  # seeds 0 and 1 of a signal and model ran as one batch: the batch's seconds
        assert rec["seconds"] == next(r["seconds"] for r in remote if key(r)[:2] == key(rec)[:2] and r is not rec)
    # the tasks returned their records; the driver alone wrote them, to the suite's one records file
    assert [p.name for p in (tmp_path / "ray").iterdir()] == ["tiny.jsonl"]
    assert sorted(r["key"] for r in RecordStore(tmp_path / "ray" / "tiny.jsonl").records()) == sorted(
        r["key"] for r in remote)  # in the order the tasks ended
    again, _ = run_suite(spec, tmp_path / "ray", backend="ray", on_fit=lambda job, rec: fitted.append(job))
    assert len(again) == 8 and len(fitted) == 8  # resume: every record kept, no task run
