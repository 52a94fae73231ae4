"""The suite machinery behind benchmarks/paper.py: resume, aggregation, damaged records."""

import json
import statistics

import numpy as np
import pytest

from siren2 import Signal
from siren2.records import RecordStore
from siren2.suite import (SuiteSpec, aggregate, curves, pack_curve, record_key, run_suite, stored, unpack_curve,
                          unpacked, why_not)


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


def store_of(tmp_path, name="tiny"):
    return RecordStore(tmp_path / f"{name}.jsonl")


def rewrite(store, job, change):
    """Change the stored record of ``job`` by hand (as a damaged or older file would hold it)."""
    lines = store.path.read_text().splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith('{"key":"%s"' % "/".join(map(str, job))))
    lines[i] = change(lines[i])
    store.path.write_text("\n".join(lines) + "\n")


def test_runs_every_job_into_one_records_file_then_resume_skips_them(tmp_path):
    s = spec()
    fitted = []
    records, interrupted = run_suite(s, tmp_path, on_fit=lambda job, rec: fitted.append(job))
    assert not interrupted and len(records) == 8 and len(fitted) == 8
    assert fitted[0] == ("a.wav", "siren", 0)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.jsonl"]  # a folder: <folder>/<suite name>.jsonl
    store = store_of(tmp_path)
    assert [r["key"] for r in store.records()] == ["/".join(map(str, job)) for job in s.jobs()]
    assert [r["key"] for r in records] == [r["key"] for r in store.records()]  # in job order
    again = []
    records2, _ = run_suite(s, store.path, on_fit=lambda job, rec: again.append(job))
    assert again == [] and len(records2) == 8
    assert records2 == records
    assert len(records[0]["psnr_paper_per_epoch"]) == 3 and "seconds_at" not in records[0]
    assert "runtime" not in records[0]  # a CPU fit that ran its epochs: nothing unusual to say


def test_without_resume_every_job_reruns_and_replaces_its_record(tmp_path):
    s = spec(seeds=[0])
    run_suite(s, tmp_path)
    store = store_of(tmp_path)
    store.add({"key": "other/job/0", "fingerprint": "x"})  # a record of no job of this suite stays
    fitted = []
    records, _ = run_suite(s, tmp_path, resume=False, on_fit=lambda job, rec: fitted.append(job))
    assert fitted == s.jobs() and len(records) == 4
    keys = [r["key"] for r in store.records()]
    assert sorted(keys) == sorted(["a.wav/siren/0", "a.wav/siren2/0", "b.wav/siren/0", "b.wav/siren2/0",
                                   "other/job/0"])


def test_damaged_partial_and_stale_records_are_rerun(tmp_path):
    s = spec()
    run_suite(s, tmp_path)
    store = store_of(tmp_path)
    rewrite(store, ("a.wav", "siren", 0), lambda line: line[:100])  # a line cut short: skipped, as missing

    def partial(line):
        return json.dumps(json.loads(line) | {"complete": False})

    def short(line):
        rec = json.loads(line)
        return json.dumps(rec | {"psnr_paper_per_epoch": rec["psnr_paper_per_epoch"][:1]})

    rewrite(store, ("b.wav", "siren2", 1), partial)
    rewrite(store, ("a.wav", "siren2", 1), short)
    reasons, fitted = {}, []
    records, _ = run_suite(s, tmp_path, on_skip=lambda job, why: reasons.__setitem__(job, why),
                           on_fit=lambda job, rec: fitted.append(job))
    assert fitted == [("a.wav", "siren", 0), ("a.wav", "siren2", 1), ("b.wav", "siren2", 1)]
    assert ("a.wav", "siren", 0) not in reasons  # a damaged line holds no record: the job is missing
    assert reasons[("b.wav", "siren2", 1)] == "partial"
    assert reasons[("a.wav", "siren2", 1)] == "incomplete metrics"
    assert sum(why == "kept" for why in reasons.values()) == 5
    assert len(records) == 8 and len(store.records()) == 8  # one record per key, the damaged line gone
    # other settings make every stored record stale
    stale = spec(settings={"scale": "tiny", "epochs": 3, "max_samples": 10})
    kept, why = stored(stale, store)
    assert kept == [] and set(why.values()) == {"made with other settings"}
    assert why_not(None, s) == "missing"


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
    assert [r["key"] for r in store_of(tmp_path).records()] == ["a.wav/siren/0", "a.wav/siren2/0"]
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.jsonl"]  # no temporary file left


def test_restoration_suite_scores_against_the_clean_signal_and_the_input(tmp_path):
    from siren2.metrics import psnr_paper
    from siren2.suite import INPUT
    from siren2.restoration import CorruptionSpec

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


@pytest.fixture
def fit_calls(monkeypatch):
    """The model, fit config and network every fit of a suite is run with (its RunSpec's)."""
    import siren2.suite as suite

    calls, real = [], suite.run_batch

    def spy(specs, signals, **kw):
        calls.extend((spec.model, spec.fit, spec.network) for spec in specs)
        return real(specs, signals, **kw)

    monkeypatch.setattr(suite, "run_batch", spy)
    return calls


def test_recipe_shape_and_fit_options_reach_every_fit(tmp_path, fit_calls):
    s = spec(models=["siren2"], seeds=[0], recipe="fast", model_options={"width": 12}, fit_options={"lr": 2e-3},
             timeline=True)
    records, _ = run_suite(s, tmp_path)
    assert len(fit_calls) == 2  # a.wav, b.wav
    _, cfg, network = fit_calls[0]
    assert cfg.recipe == "fast" and cfg.lr == 2e-3 and network["width"] == 12
    assert records[0]["parameters"] == (1 * 12 + 12) + (12 * 12 + 12) + (12 + 1)  # 2 sine layers of 12, then 1
    assert len(records[0]["seconds_at"]) == 3 and records[0]["seconds_at"][-1] <= records[0]["seconds"] + 1e-3


def test_a_record_ended_by_a_rule_is_complete_but_a_short_interrupted_one_is_not(tmp_path):
    s = spec(models=["siren2"], seeds=[0], signals={"a.wav": lambda: tone(0.05)})
    (rec,), _ = run_suite(s, tmp_path)
    rec["psnr_paper_per_epoch"] = rec["psnr_paper_per_epoch"][:2]
    rec["runtime"] = {"stopped_by": "diverged", "epochs_run": 2}
    assert why_not(rec, s) == ""
    rec["runtime"]["stopped_by"] = "interrupted"
    assert why_not(rec, s) == "incomplete metrics"
    store = store_of(tmp_path)
    store.add(rec)
    fitted = []
    run_suite(s, tmp_path, on_fit=lambda job, r: fitted.append(job))
    assert fitted == [("a.wav", "siren2", 0)]


def test_a_variant_runs_its_registered_model_with_its_own_fit_options(tmp_path, fit_calls):
    s = spec(models=["finer", "finer@b64"], seeds=[0], signals={"a.wav": lambda: tone(0.05)},
             variants={"finer@b64": ("finer", {"batch_size": 64})})
    records, _ = run_suite(s, tmp_path)
    by = {r["model"]: r for r in records}
    assert set(by) == {"finer", "finer@b64"}
    (plain, plain_cfg, _), (variant, variant_cfg, _) = fit_calls
    assert plain == variant == "finer"
    assert variant_cfg.batch_size == 64
    assert plain_cfg.batch_size == 65_536  # the model's own (siren2.recipes)
    assert unpacked(store_of(tmp_path).get("a.wav/finer@b64/0", by["finer"]["fingerprint"])) == by["finer@b64"]
    assert set(aggregate(records, ["psnr_paper"])["per_signal"]["a.wav"]) == {"finer", "finer@b64"}


def test_batched_seeds_write_the_same_records_as_one_fit_at_a_time(tmp_path):
    s = spec()
    one, _ = run_suite(s, tmp_path / "one")
    epochs = []
    batched, interrupted = run_suite(s, tmp_path / "batched", batch_seeds=True, on_epoch=lambda: epochs.append(1))
    assert not interrupted and len(batched) == 8 and len(epochs) == 8 * 3  # every epoch of every fit reported
    key = lambda r: (r["signal"], r["model"], r["seed"])  # noqa: E731
    by_job = {key(r): r for r in one}
    by_job_batched = {key(r): r for r in batched}
    for rec in batched:
        twin = by_job[key(rec)]
        assert rec["seconds"] == by_job_batched[key(rec)[:2] + (0,)]["seconds"]  # the batch's seconds, both seeds
        assert rec["psnr_paper_per_epoch"] == pytest.approx(twin["psnr_paper_per_epoch"], abs=1e-3)
        assert why_not(rec, s) == ""
    assert len(epochs) == 24 and len(store_of(tmp_path / "batched").records()) == 8


def test_a_record_keeps_of_its_runtime_what_a_table_or_the_resume_reads():
    from siren2.suite import runtime_of

    cpu = {"device": "cpu", "engine": "sine-mlp", "python": "3.11", "torch": "2.1", "stopped_by": "epochs",
           "epochs_run": 3, "seconds": 1.0}
    assert runtime_of(cpu) == {}
    assert runtime_of(cpu | {"stopped_by": "diverged", "epochs_run": 2}) == {"stopped_by": "diverged", "epochs_run": 2}
    assert runtime_of(cpu | {"device": "cuda", "gpu": "H200"}) == {"device": "cuda", "gpu": "H200", "python": "3.11",
                                                                   "torch": "2.1"}


def test_suites_sharing_one_records_file_key_their_records_by_suite(tmp_path):
    """A table made of several suites (the restoration tasks, time to quality's recipes) keeps one file."""
    a, b = spec(name="task-a", seeds=[0]), spec(name="task-b", seeds=[0], settings={"scale": "tiny", "epochs": 4})
    path = tmp_path / "table.jsonl"
    run_suite(a, path)
    run_suite(b, path)
    keys = [r["key"] for r in RecordStore(path).records()]
    assert len(keys) == 8 and keys[0] == "task-a/a.wav/siren/0" and keys[4] == "task-b/a.wav/siren/0"
    assert record_key(a, ("a.wav", "siren", 0)) == "a.wav/siren/0"
    again = []
    run_suite(a, path, on_fit=lambda job, rec: again.append(job))
    run_suite(b, RecordStore(path), on_fit=lambda job, rec: again.append(job))
    assert again == []


def test_a_curve_is_stored_packed_and_comes_back_the_same_floats():
    curve = [16.11969, 16.85569, 17.0125, -3.5, 0.0, 100.00001]
    packed = pack_curve(curve, 5)
    assert isinstance(packed, str) and packed.startswith("5:") and len(packed) < len(json.dumps(curve))
    assert unpack_curve(packed) == curve  # bit for bit: each the double nearest its decimal, as JSON gives
    assert unpack_curve(pack_curve([], 4)) == [] and unpack_curve([1.5, 2.5]) == [1.5, 2.5]
    assert pack_curve([1.0, float("-inf")], 4) == [1.0, float("-inf")]  # a diverged epoch: kept as it is


def test_a_tuned_suite_records_what_each_tuning_found_and_its_cost(tmp_path):
    s = spec(models=["siren"], seeds=[0], epochs=30, tuned=True, signals={"a.wav": lambda: tone(0.05)})
    records, _ = run_suite(s, tmp_path)
    (rec,) = records
    assert set(rec["tuned"]) == {"omega_first", "lr"} and rec["default"]["omega_first"] == 3000.0
    assert rec["search_fits"] > 10 and rec["cost_in_fits"] > 1 and len(rec["psnr_paper_per_epoch"]) == 30
    again, _ = run_suite(s, tmp_path)  # resumed: kept
    assert again == records
