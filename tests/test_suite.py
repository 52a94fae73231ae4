"""The suite machinery behind benchmarks/paper.py: resume, aggregation, corrupted records."""

import json
import statistics

import numpy as np
import pytest

from siren2 import Signal
from siren2.suite import SuiteSpec, aggregate, curves, load_record, record_path, run_suite


def tone(f, n=256):
    x = np.sin(2 * np.pi * f * np.arange(n))[:, None]
    return Signal(values=x, grid=(n,), kind="audio", sample_rate=8000, source=f"tone{f}")


def spec(**kw):
    base = dict(name="tiny", signals={"a.wav": lambda: tone(0.05), "b.wav": lambda: tone(0.2)},
                models=["siren", "siren2"], seeds=[0, 1], preset="paper_audio", epochs=3,
                settings={"scale": "tiny", "epochs": 3})
    return SuiteSpec(**(base | kw))


@pytest.fixture(autouse=True)
def tiny_presets(monkeypatch):
    """Shrink paper_audio to a 2 x 8 network so each fit takes milliseconds."""
    import siren2.presets as presets

    monkeypatch.setitem(presets.PRESETS, "paper_audio",
                        presets.PRESETS["paper_audio"].__class__(hidden_layers=2, width=8, omega_first=3000.0,
                                                                 epochs=3, lr=1e-3))


def test_runs_every_job_then_resume_skips_them(tmp_path):
    s = spec()
    fitted = []
    records, interrupted = run_suite(s, tmp_path, on_fit=lambda job, rec: fitted.append(job))
    assert not interrupted and len(records) == 8 and len(fitted) == 8
    assert fitted[0] == ("a.wav", "siren", 0)
    again = []
    records2, _ = run_suite(s, tmp_path, on_fit=lambda job, rec: again.append(job))
    assert again == [] and len(records2) == 8
    assert [r["metrics"] for r in records2] == [r["metrics"] for r in records]


def test_corrupted_partial_and_stale_records_are_rerun(tmp_path):
    s = spec()
    run_suite(s, tmp_path)
    corrupt = record_path(tmp_path, "a.wav", "siren", 0)
    corrupt.write_text(corrupt.read_text()[:100])  # truncated JSON
    partial = record_path(tmp_path, "b.wav", "siren2", 1)
    rec = json.loads(partial.read_text())
    rec["complete"] = False
    partial.write_text(json.dumps(rec))
    short = record_path(tmp_path, "a.wav", "siren2", 1)
    rec = json.loads(short.read_text())
    rec["psnr_paper_per_epoch"] = rec["psnr_paper_per_epoch"][:1]
    short.write_text(json.dumps(rec))
    reasons, fitted = {}, []
    run_suite(s, tmp_path, on_skip=lambda job, why: reasons.__setitem__(job, why),
              on_fit=lambda job, rec: fitted.append(job))
    assert sorted(fitted) == sorted([("a.wav", "siren", 0), ("b.wav", "siren2", 1), ("a.wav", "siren2", 1)])
    assert reasons[("a.wav", "siren", 0)].startswith("unreadable")
    assert reasons[("b.wav", "siren2", 1)] == "partial or of another format"
    assert reasons[("a.wav", "siren2", 1)] == "incomplete metrics"
    # other settings make every stored record stale
    stale = spec(settings={"scale": "tiny", "epochs": 3, "max_samples": 10})
    assert load_record(record_path(tmp_path, "b.wav", "siren", 0), stale) == (None, "made with other settings")


def test_aggregate_mean_and_sample_std_by_hand():
    def rec(sig, model, seed, psnr, secs=1.0):
        return {"signal": sig, "model": model, "seed": seed, "metrics": {"psnr_paper": psnr, "snr": psnr - 10},
                "seconds": secs, "parameters": 99, "psnr_paper_per_epoch": [psnr - 1, psnr]}

    records = [rec("a", "m1", 0, 10.0), rec("a", "m1", 1, 14.0), rec("a", "m1", 2, 12.0),
               rec("b", "m1", 0, 20.0), rec("b", "m1", 1, 22.0), rec("a", "m2", 0, 5.0)]
    t = aggregate(records, ["psnr_paper", "snr"])
    a = t["per_signal"]["a"]["m1"]["psnr_paper"]
    assert a["mean"] == 12.0 and a["std"] == pytest.approx(2.0)  # sqrt(((−2)² + 2² + 0²) / (3 − 1))
    b = t["per_signal"]["b"]["m1"]["psnr_paper"]
    assert b["mean"] == 21.0 and b["std"] == pytest.approx(statistics.stdev([20.0, 22.0]))
    assert t["per_signal"]["a"]["m2"]["psnr_paper"]["std"] is None  # one seed: no std
    assert t["mean_over_signals"]["m1"]["psnr_paper"] == pytest.approx((12.0 + 21.0) / 2)
    assert "m2" not in t["mean_over_signals"]  # not finished on every signal
    assert curves(records)["a"]["m1"] == [11.0, 12.0]


def test_interrupt_keeps_finished_records(tmp_path):
    s = spec()
    calls = {"n": 0}

    def interrupt():
        calls["n"] += 1
        if calls["n"] == 7:  # during the third fit
            raise KeyboardInterrupt

    records, interrupted = run_suite(s, tmp_path, on_epoch=interrupt)
    assert interrupted and len(records) == 2
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_restoration_suite_scores_against_the_clean_signal_and_the_input(tmp_path):
    from siren2.metrics import psnr_paper
    from siren2.suite import INPUT
    from siren2.restoration.corruptions import CorruptionSpec

    noise = CorruptionSpec("noise_std", 0.1)
    s = spec(corruption=noise, settings={"scale": "tiny", "epochs": 3, "corruption": "noise_std 0.1"})
    records, _ = run_suite(s, tmp_path)
    assert len(records) == 8
    for rec in records:
        clean = s.signals[rec["signal"]]()
        noisy = noise.apply(clean, rec["seed"]).signal.values  # the seed's corruption, made again
        assert rec["input_metrics"]["psnr_paper"] == pytest.approx(psnr_paper(clean.values, noisy))
        assert rec["input_metrics"]["psnr_paper"] == pytest.approx(20.0, abs=1.0)  # σ = 0.1: 10·log10(1/σ²)
        assert rec["corruption"]["kind"] == "noise" and rec["corruption"]["seed"] == rec["seed"]
    a = [r for r in records if r["signal"] == "a.wav" and r["model"] == "siren"]
    assert a[0]["input_metrics"] != a[1]["input_metrics"]  # each seed its own noise
    t = aggregate(records, ["psnr_paper"])
    cell = t["per_signal"]["a.wav"][INPUT]
    assert cell["seeds"] == [0, 1] and cell["psnr_paper"]["mean"] == pytest.approx(
        statistics.fmean(r["input_metrics"]["psnr_paper"] for r in a))
    again = []
    run_suite(s, tmp_path, on_fit=lambda job, rec: again.append(job))
    assert again == []  # resume works the same


def test_recipe_shape_and_fit_options_reach_every_fit(tmp_path):
    s = spec(models=["siren2"], seeds=[0], recipe="fast", model_options={"width": 12}, fit_options={"lr": 2e-3})
    records, _ = run_suite(s, tmp_path)
    cfg = records[0]["config"]
    fit = cfg["spec"]["fit"]
    assert fit["recipe"] == "fast" and fit["lr"] == 2e-3 and cfg["model"]["config"]["width"] == 12
    assert len(records[0]["seconds_at"]) == 3 and records[0]["seconds_at"][-1] <= records[0]["seconds"] + 1e-3


def test_a_record_ended_by_a_rule_is_complete_but_a_short_interrupted_one_is_not(tmp_path):
    s = spec(models=["siren2"], seeds=[0], signals={"a.wav": lambda: tone(0.05)})
    run_suite(s, tmp_path)
    path = record_path(tmp_path, "a.wav", "siren2", 0)
    rec = json.loads(path.read_text())
    rec["psnr_paper_per_epoch"] = rec["psnr_paper_per_epoch"][:2]
    rec["config"]["runtime"] |= {"stopped_by": "diverged", "epochs_run": 2}
    path.write_text(json.dumps(rec))
    assert load_record(path, s)[0] is not None
    rec["config"]["runtime"]["stopped_by"] = "interrupted"
    path.write_text(json.dumps(rec))
    assert load_record(path, s) == (None, "incomplete metrics")


def test_a_variant_runs_its_registered_model_with_its_own_fit_options(tmp_path):
    s = spec(models=["finer", "finer@b64"], seeds=[0], signals={"a.wav": lambda: tone(0.05)},
             variants={"finer@b64": ("finer", {"batch_size": 64})})
    records, _ = run_suite(s, tmp_path)
    by = {r["model"]: r for r in records}
    assert set(by) == {"finer", "finer@b64"}
    assert by["finer@b64"]["config"]["model"]["name"] == by["finer"]["config"]["model"]["name"] == "finer"
    assert by["finer@b64"]["config"]["spec"]["fit"]["batch_size"] == 64
    assert by["finer"]["config"]["spec"]["fit"]["batch_size"] == 65_536  # the model's own (siren2.recipes)
    assert record_path(tmp_path, "a.wav", "finer@b64", 0).exists()
    assert set(aggregate(records, ["psnr_paper"])["per_signal"]["a.wav"]) == {"finer", "finer@b64"}


def test_batched_seeds_write_the_same_records_as_one_fit_at_a_time(tmp_path):
    s = spec()
    one, _ = run_suite(s, tmp_path / "one")
    epochs = []
    batched, interrupted = run_suite(s, tmp_path / "batched", batch_seeds=True, on_epoch=lambda: epochs.append(1))
    assert not interrupted and len(batched) == 8 and len(epochs) == 8 * 3  # every epoch of every fit reported
    key = lambda r: (r["signal"], r["model"], r["seed"])  # noqa: E731
    by_job = {key(r): r for r in one}
    for rec in batched:
        twin = by_job[key(rec)]
        assert rec["config"]["runtime"]["engine"] == "batched" and rec["config"]["runtime"]["batch"] == 2
        assert rec["psnr_paper_per_epoch"] == pytest.approx(twin["psnr_paper_per_epoch"], abs=1e-3)
        assert load_record(record_path(tmp_path / "batched", *key(rec)), s)[0] is not None
    assert [key(r) for r in batched][:2] == [("a.wav", "siren", 0), ("a.wav", "siren", 1)]  # a model's seeds at once
