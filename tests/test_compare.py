"""``compare()`` and ``siren2 compare`` / ``siren2 models`` end to end, on tiny generated files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

import siren2.compare as compare_mod
from siren2 import load_signal, metrics
from helpers import run_cli, write_hf_wav, write_rgb_png
from siren2.compare import compare, write_comparison
from siren2.records import RecordStore
from siren2.runs import RunFolder

TINY_SHAPE = dict(width=16, hidden_layers=2)
TINY_CLI = ["--epochs", "4", "--width", "16", "--layers", "2", "--quiet"]



@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    return load_signal(write_hf_wav(tmp_path_factory.mktemp("sig") / "tiny.wav"))


def test_compare_table_is_the_mean_and_sample_std_of_the_fits(audio, tmp_path):
    epochs_seen = []
    comp = compare(audio, ["siren", "finer"], [0, 1], epochs=4, **TINY_SHAPE,
                   on_epoch=lambda m, s, e: epochs_seen.append((m, s, e)))
    assert not comp.interrupted and sorted(comp.runs) == [("finer", 0), ("finer", 1), ("siren", 0), ("siren", 1)]
    assert len(epochs_seen) == 4 * 4  # the progress hook sees every epoch of every fit
    assert list(comp.runs)[:2] == [("siren", 0), ("finer", 0)]  # seed-major: every model on seed 0 first
    for (m, s), run in comp.runs.items():
        assert run.spec.fit.seed == s and len(run.result.loss) == 4
        # the scores are those of the fit's own reconstruction
        again = metrics(audio, run.reconstruction.values)
        for k in ("psnr_paper", "snr", "lsd"):
            assert run.metrics[k] == pytest.approx(again[k])
    assert comp.runs[("finer", 0)].spec.fit.batch_size == 65_536  # the model's default (≥ N: full)
    with RunFolder(tmp_path / "cmp") as folder:
        write_comparison(folder, comp)
    table = json.loads((tmp_path / "cmp" / "table.json").read_text())
    assert [r["model"] for r in table["rows"]] == ["siren", "finer"]
    for row in table["rows"]:
        fits = [comp.runs[(row["model"], s)] for s in (0, 1)]
        for k in ("psnr_paper", "snr", "lsd"):
            values = [f.metrics[k] for f in fits]
            assert row[k]["values"] == pytest.approx(values)
            assert row[k]["mean"] == pytest.approx(np.mean(values))
            assert row[k]["std"] == pytest.approx(np.std(values, ddof=1))
        assert row["seconds"]["mean"] == pytest.approx(np.mean([f.result.seconds for f in fits]))
        assert row["parameters"] == fits[0].config["model"]["parameters"]
        assert row["batch_size"] is None and row["steps_per_epoch"] == 1  # 2000 points < 65,536: full batch
    assert "ddof=1" in table["statistics"] and table["finished"] == table["planned"] == 4
    md = (tmp_path / "cmp" / "table.md").read_text()
    assert "| siren |" in md and "| finer |" in md and "±" in md and "ddof=1" in md
    psnr = table["rows"][0]["psnr_paper"]
    assert f"{psnr['mean']:.2f} ± {psnr['std']:.2f}" in md


def test_batched_seeds_equal_one_fit_at_a_time(audio, tmp_path):
    seen = []
    lr = {"lr": 1e-3}  # at the fast recipe's peak lr rounding differences grow epoch by epoch (see test_batched)
    one = compare(audio, ["siren2", "siren"], [0, 1, 2], epochs=6, **TINY_SHAPE, **lr)
    batched = compare(audio, ["siren2", "siren"], [0, 1, 2], epochs=6, **TINY_SHAPE, **lr,
                      batch_seeds=True, on_epoch=lambda m, s, e: seen.append((m, s, e)))
    assert sorted(seen) == sorted((m, s, e) for m in ("siren2", "siren") for s in (0, 1, 2) for e in range(6))
    assert list(batched.runs)[:3] == [("siren2", 0), ("siren2", 1), ("siren2", 2)]  # model-major
    for key, run in one.runs.items():
        twin = batched.runs[key]
        assert twin.config["runtime"]["engine"] == "batched" and twin.config["runtime"]["batch"] == 3
        assert twin.spec.fit.seed == key[1] and twin.config["model"] == run.config["model"]
        assert twin.result.loss == pytest.approx(run.result.loss, rel=1e-4)
        assert twin.metrics["psnr_paper"] == pytest.approx(run.metrics["psnr_paper"], abs=1e-3)
    assert len({round(batched.runs[("siren", s)].metrics["psnr_paper"], 4) for s in (0, 1, 2)}) == 3  # own seeds
    assert "the batch's time" in batched.markdown() and "the batch's time" not in one.markdown()


def test_interrupt_keeps_finished_fits_and_writes_their_table(audio, tmp_path):
    def interrupt(model, seed, epoch):
        if (model, seed, epoch) == ("siren", 1, 2):  # the third fit, mid-way
            raise KeyboardInterrupt

    comp = compare(audio, ["siren", "gauss"], [0, 1], epochs=4, **TINY_SHAPE, on_epoch=interrupt)
    assert comp.interrupted
    assert list(comp.runs) == [("siren", 0), ("gauss", 0)]  # the fit in progress is dropped
    assert all(len(r.result.loss) == 4 and not r.result.interrupted for r in comp.runs.values())
    with RunFolder(tmp_path / "cmp") as folder:
        write_comparison(folder, comp)
    table = json.loads((tmp_path / "cmp" / "table.json").read_text())
    assert table["interrupted"] and (table["finished"], table["planned"]) == (2, 4)
    assert [r["model"] for r in table["rows"]] == ["siren", "gauss"]
    assert all(r["psnr_paper"]["std"] is None and r["seeds"] == [0] for r in table["rows"])
    assert "Interrupted: 2 of 4 fits finished" in (tmp_path / "cmp" / "table.md").read_text()


def test_cli_compare_audio_writes_everything(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "tiny.wav")
    out = tmp_path / "cmp"
    code, stdout, err = run_cli(capsys, "compare", src, "--models", "siren, finer++", "--seeds", "0,1",
                                "--out", out, *TINY_CLI)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted([
        "table.md", "table.json", "config.json", "records.jsonl", "psnr.png", "spectrograms.png", "fits",
        "reconstruction_siren.wav", "reconstruction_finer++.wav"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
    lines = [line for line in stdout.splitlines() if line.startswith("  ") and " seed " in line]
    assert len(lines) == 4 and all("psnr_paper" in line for line in lines)  # one line per finished fit
    assert "| finer++ |" in stdout
    config = json.loads((out / "config.json").read_text())
    assert config["models"] == ["siren", "finer++"] and config["seeds"] == [0, 1] and config["epochs"] == 4
    keys = {r["key"] for r in RecordStore(out / "records.jsonl").records()}  # what --resume keeps
    assert keys == {"siren/seed0", "finer++/seed0", "siren/seed1", "finer++/seed1"}
    fit = json.loads((out / "fits" / "finer++__seed1" / "config.json").read_text())  # each fit's run folder
    assert fit["model"]["config"]["first_bias_scale"] == 5.0 and fit["spec"]["fit"]["seed"] == 1
    info = sf.info(str(out / "reconstruction_finer++.wav"))
    assert info.frames == 2000 and info.samplerate == 16_000
    # an existing results folder is refused without --force, accepted with it
    code, _, err = run_cli(capsys, "compare", src, "--models", "siren", "--out", out, *TINY_CLI)
    assert code == 2 and len(err) == 1 and "--force" in err[0]
    code, _, _ = run_cli(capsys, "compare", src, "--models", "siren", "--out", out, "--force", *TINY_CLI)
    assert code == 0 and json.loads((out / "table.json").read_text())["models"] == ["siren"]


def test_cli_compare_image_fft_error_maps(tmp_path, capsys):
    src = write_rgb_png(tmp_path / "tiny.png")
    out = tmp_path / "cmp"
    code, stdout, err = run_cli(capsys, "compare", src, "--models", "siren2,wire", "--out", out, *TINY_CLI)
    assert code == 0, err
    names = {p.name for p in out.iterdir()}
    assert {"fft_error.png", "reconstruction_siren2.png", "reconstruction_wire.png", "psnr.png"} <= names
    table = json.loads((out / "table.json").read_text())
    assert {"psnr_paper", "psnr", "ssim"} <= set(table["rows"][0])
    rows = [line for line in (out / "table.md").read_text().splitlines() if line.startswith(("| siren2", "| wire"))]
    assert "ssim" in stdout and len(rows) == 2 and not any("±" in r for r in rows)  # one seed: no std


def test_cli_compare_interrupt_keeps_finished_fits(tmp_path, capsys, monkeypatch):
    src = write_hf_wav(tmp_path / "tiny.wav")
    real, calls = compare_mod.run_batch, []

    def flaky(*args, **kwargs):  # Ctrl-C while the third fit starts
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(compare_mod, "run_batch", flaky)
    code, stdout, err = run_cli(capsys, "compare", src, "--models", "siren,relu_pe", "--seeds", "0,1",
                                "--out", tmp_path / "cmp", *TINY_CLI)
    assert code == 0 and "interrupted: 2 of 4 fits finished" in stdout
    table = json.loads((tmp_path / "cmp" / "table.json").read_text())
    assert table["interrupted"] and [r["model"] for r in table["rows"]] == ["siren", "relu_pe"]

    calls.clear()
    monkeypatch.setattr(compare_mod, "run_batch", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    code, _, err = run_cli(capsys, "compare", src, "--models", "siren", "--out", tmp_path / "none", *TINY_CLI)
    assert code == 130 and "nothing written" in err[-1] and not (tmp_path / "none").exists()


@pytest.mark.parametrize("args, message", [
    (["--models", "siren,nope"], "unknown model 'nope'"),
    (["--models", "siren,siren"], "listed twice"),
    (["--models", ","], "at least one model"),
    (["--models", "siren", "--seeds", "0,x"], "--seeds"),
    (["--models", "siren", "--seeds", "1,1"], "listed twice"),
    (["--models", "siren", "--epochs", "0"], "--epochs"),
])
def test_cli_compare_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    src = write_hf_wav(tmp_path / "tiny.wav")
    code, _, err = run_cli(capsys, "compare", src, "--out", tmp_path / "cmp", *args)
    assert code == 2 and len(err) == 1 and err[0].startswith("siren2: error:") and message in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.wav"]


def test_cli_models_lists_parameter_counts(capsys):
    code, out, _ = run_cli(capsys, "models")
    assert code == 0
    for name in ("siren", "siren2", "siren_rff", "finer", "finer++", "finer2", "wire", "gauss", "relu_pe"):
        assert any(line.split()[0] == name for line in out.splitlines()[2:])
    assert "149,185" in out and "147,578" in out and "65536" in out
    code, out, _ = run_cli(capsys, "models", "--preset", "paper_image", "--channels", "3")
    assert code == 0 and "264,707" in out
    code, _, err = run_cli(capsys, "models", "--channels", "0")
    assert code == 2 and len(err) == 1


def test_cli_compare_resume_keeps_the_finished_fits_and_runs_the_rest(tmp_path, capsys, monkeypatch):
    src = write_hf_wav(tmp_path / "tiny.wav")
    real, calls = compare_mod.run_batch, []

    def flaky(specs, *args, **kwargs):  # Ctrl-C while the third fit starts
        calls.append(specs[0].model)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(specs, *args, **kwargs)

    monkeypatch.setattr(compare_mod, "run_batch", flaky)
    argv = ["compare", src, "--models", "siren,relu_pe", "--seeds", "0,1", "--out", tmp_path / "cmp", *TINY_CLI]
    assert run_cli(capsys, *argv)[0] == 0
    first = json.loads((tmp_path / "cmp" / "table.json").read_text())
    assert first["interrupted"] and first["finished"] == 2

    calls.clear()
    code, stdout, err = run_cli(capsys, *argv, "--resume")
    assert code == 0 and "2 fits kept" in stdout, err
    assert calls == ["siren", "relu_pe"]  # only seed 1's fits ran
    table = json.loads((tmp_path / "cmp" / "table.json").read_text())
    assert not table["interrupted"] and table["finished"] == 4
    kept = {(f["model"], f["seed"]): f["metrics"] for f in first["fits"]}
    now = {(f["model"], f["seed"]): f["metrics"] for f in table["fits"]}
    assert all(now[k] == kept[k] for k in kept)  # the kept fits' scores are the stored ones
    assert len(list((tmp_path / "cmp" / "fits").glob("*/model.safetensors"))) == 4

    # another budget is another comparison: refused, nothing touched
    before = (tmp_path / "cmp" / "table.json").read_text()
    code, _, err = run_cli(capsys, *argv[:-len(TINY_CLI)], "--epochs", "9", *TINY_CLI[2:], "--resume")
    assert code == 2 and len(err) == 1 and "other epochs" in err[0]
    assert (tmp_path / "cmp" / "table.json").read_text() == before

