"""``siren2 denoise``, ``inpaint`` and ``restore-eval`` end to end, in-process through siren2.cli.main.

Tiny settings (2 x 16 networks, tens of epochs, 2000 samples or 16 x 24 pixels); restoration
quality itself is tested in test_restoration.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from helpers import run_cli
from test_cli import hidden_entries

TINY = ["--epochs", "40", "--width", "16", "--layers", "2", "--lr", "1e-3", "--quiet"]
SR = 8000


pytestmark = pytest.mark.usefixtures("one_thread")


def tones(n=2000):
    t = np.arange(n) / SR
    return 0.6 * np.sin(2 * np.pi * 150 * t) + 0.3 * np.sin(2 * np.pi * 320 * t + 1)


def write_wav(path, x, subtype="PCM_16"):
    sf.write(str(path), x, SR, subtype=subtype)
    return path


def write_png(path, h=16, w=24):
    yy, xx = np.mgrid[0:h, 0:w]
    Image.fromarray((127 + 100 * np.sin(xx / 3) * np.cos(yy / 4)).astype(np.uint8)).save(path)
    return path


def test_denoise_restores_a_long_file_window_by_window(tmp_path, capsys):
    noisy = write_wav(tmp_path / "long.wav", tones(7000) + 0.1 * np.random.default_rng(0).standard_normal(7000), "FLOAT")
    out = tmp_path / "den"
    code, stdout, err = run_cli(capsys, "denoise", noisy, "--out", out, "--window", "4000", *TINY)
    assert code == 0, err
    names = {p.name for p in out.iterdir()}
    assert {"reconstruction.wav", "metrics.json", "config.json", "audio.png"} <= names
    assert "model.safetensors" not in names and "3 windows of 4000 samples" in stdout
    config = json.loads((out / "config.json").read_text())
    assert config["restoration"]["windows"]["count"] == 3 and len(config["restoration"]["per_window"]) == 3
    assert config["spec"]["fit"]["seed"] == 0 and config["spec"]["fit"]["epochs"] == 40
    assert sf.info(str(out / "reconstruction.wav")).frames == 7000
    with pytest.raises(SystemExit) as bad:  # argparse's one-line error, exit 2
        run_cli(capsys, "denoise", noisy, "--out", tmp_path / "bad", "--window", "100", *TINY)
    assert bad.value.code == 2 and "--window" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_denoise_records_the_stopping_rule(tmp_path, capsys):
    noisy = write_wav(tmp_path / "noisy.wav", tones() + 0.1 * np.random.default_rng(0).standard_normal(2000), "FLOAT")
    out = tmp_path / "den"
    code, stdout, err = run_cli(capsys, "denoise", noisy, "--out", out, *TINY[2:], "--epochs", "400",
                                "--patience", "5")
    assert code == 0, err
    assert {"reconstruction.wav", "metrics.json", "config.json", "model.safetensors", "audio.png"} <= {
        p.name for p in out.iterdir()}
    rec = json.loads((out / "config.json").read_text())["restoration"]
    assert rec["rule"] == "holdout" and rec["patience"] == 5 and rec["holdout_fraction"] == 0.1  # denoise's default
    assert rec["stopped_early"] and rec["epochs_run"] < 400 and "hold-out rule" in stdout
    assert rec["shrink"]["kind"] == "noise" and 0 < rec["shrink"]["alpha"] <= 1 and "x fit +" in stdout
    scores = json.loads((out / "metrics.json").read_text())
    assert {"observed_psnr_paper", "residual_std", "holdout_psnr_paper"} <= set(scores["metrics"])
    assert "no clean reference" in scores["conventions"]["residual_std"]
    assert sf.info(str(out / "reconstruction.wav")).frames == 2000

    code, stdout, err = run_cli(capsys, "denoise", noisy, "--out", tmp_path / "fixed", "--stop", "fixed", *TINY)
    rec = json.loads((tmp_path / "fixed" / "config.json").read_text())["restoration"]
    assert code == 0 and rec["rule"] == "fixed" and rec["epochs_run"] == 40 and "40 epochs (fixed)" in stdout
    assert "shrink" not in rec  # nothing to weigh the fit by without held-out samples
    code, stdout, err = run_cli(capsys, "denoise", noisy, "--out", tmp_path / "raw", "--no-shrink", *TINY)
    rec = json.loads((tmp_path / "raw" / "config.json").read_text())["restoration"]
    assert code == 0 and rec["rule"] == "holdout" and "shrink" not in rec
    code, stdout, err = run_cli(capsys, "denoise", noisy, "--out", tmp_path / "known", "--noise-std", "0.1", *TINY)
    shrunk = json.loads((tmp_path / "known" / "config.json").read_text())["restoration"]["shrink"]
    assert code == 0 and shrunk["noise_std_source"] == "given" and shrunk["noise_std"] == pytest.approx(0.1)
    with pytest.raises(SystemExit) as bad:  # argparse's one-line error, exit 2
        run_cli(capsys, "denoise", noisy, "--out", tmp_path / "bad", "--noise-std", "-1", *TINY)
    assert bad.value.code == 2 and "positive" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_denoise_returns_the_input_and_warns_when_the_noise_estimate_holds_signal(tmp_path, capsys, monkeypatch):
    """σ̂² above the held-out error (h ≥ σ² must hold, so σ̂ took signal for noise; here σ̂ is made to read
    the image's whole spread): the output is the input and one warning line says to give --noise-std."""
    import siren2.restoration.classical

    w = np.random.default_rng(0).standard_normal((32, 32))
    png = tmp_path / "white.png"
    Image.fromarray(np.clip(127 + 40 * w, 0, 255).astype(np.uint8)).save(png)
    monkeypatch.setattr(siren2.restoration.classical, "noise_std", lambda signal: 2 * float(signal.values.std()))
    code, stdout, err = run_cli(capsys, "denoise", png, "--out", tmp_path / "den", *TINY)
    shrunk = json.loads((tmp_path / "den" / "config.json").read_text())["restoration"]["shrink"]
    assert code == 0 and shrunk["noise_estimate_exceeds_holdout_error"] and shrunk["alpha"] == 0
    assert any("give --noise-std" in line for line in err)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "den" / "reconstruction.png")), np.asarray(Image.open(png)))


def test_restoration_reads_psi_above_the_noise_floor_unless_told_otherwise(tmp_path, capsys):
    """WINNER's ψ on a noisy file: above the white floor by default (near the clean tones' ψ), recorded;
    --centroid flattened gives the paper's ψ, which the noise pulls up; --s0/--s1 win over both."""
    from siren2.winner import spectral_centroid

    x = tones(8000)
    noisy = write_wav(tmp_path / "noisy.wav", x + 0.1 * np.random.default_rng(0).standard_normal(8000), "FLOAT")
    winner = {}
    for name, extra in {"auto": [], "flat": ["--centroid", "flattened"], "given": ["--s0", "100", "--s1", "0.5"]}.items():
        code, _, err = run_cli(capsys, "denoise", noisy, "--out", tmp_path / name, "--stop", "fixed", *TINY,
                               "--epochs", "2", *extra)
        assert code == 0, err
        winner[name] = json.loads((tmp_path / name / "config.json").read_text())["model"]["winner"]
    assert winner["auto"]["centroid"] == "above_floor" and winner["flat"]["centroid"] == "flattened"
    assert winner["auto"]["psi"] == pytest.approx(spectral_centroid(x), abs=0.01)
    assert winner["flat"]["psi"] > winner["auto"]["psi"] + 0.1
    assert winner["auto"]["s0"] < winner["flat"]["s0"]
    assert (winner["given"]["s0"], winner["given"]["s1"]) == (100.0, 0.5)


def test_inpaint_with_a_mask_keeps_the_observed_samples(tmp_path, capsys):
    x = tones()
    mask = np.ones(2000)
    mask[700:800] = 0
    src = write_wav(tmp_path / "damaged.wav", x * mask)
    write_wav(tmp_path / "mask.wav", mask)
    out = tmp_path / "inp"
    code, stdout, err = run_cli(capsys, "inpaint", src, "--mask", tmp_path / "mask.wav", "--out", out, *TINY)
    assert code == 0, err
    assert "5.0% of the samples missing" in stdout
    assert np.array_equal(np.load(out / "mask.npy"), mask.astype(np.float32))
    before, _ = sf.read(str(src), dtype="int16")
    after, _ = sf.read(str(out / "reconstruction.wav"), dtype="int16")
    # observed samples kept: exact in [-1, 1] floats, within the 1 LSB of siren2's int16 round trip (test_signals)
    assert np.abs(after[mask == 1].astype(int) - before[mask == 1]).max() <= 1
    assert np.any(after[700:800] != 0)  # the gap is filled from the fit
    rec = json.loads((out / "config.json").read_text())["restoration"]
    assert rec["observed_fraction"] == pytest.approx(0.95)
    prior = rec["prior"]  # audio's default: the band prior searched after the bandwidths
    assert prior["name"] == "band" and [t["weight"] for t in prior["tried"]] == [0.0, 1.0, 3.0]
    assert prior["chosen_weight"] in (0.0, 1.0, 3.0)
    code, _, err = run_cli(capsys, "inpaint", src, "--mask", tmp_path / "mask.wav", "--out", tmp_path / "plain",
                           "--prior-weights", "0", "--bandwidths", "1", *TINY)
    assert code == 0, err
    assert "prior" not in json.loads((tmp_path / "plain" / "config.json").read_text())["restoration"]


def test_inpaint_gaps_auto_finds_digital_silence(tmp_path, capsys):
    x = tones()
    x[:50] = 0  # leading silence: not a gap
    x[1000:1040] = 0
    x[1500:1510] = 0  # shorter than --min-gap
    src = write_wav(tmp_path / "drop.wav", x)
    code, _, err = run_cli(capsys, "inpaint", src, "--gaps", "auto", "--min-gap", "20", "--out", tmp_path / "a", *TINY)
    assert code == 0, err
    missing = np.flatnonzero(np.load(tmp_path / "a" / "mask.npy") == 0)
    assert missing.tolist() == list(range(1000, 1040))
    shrunk = json.loads((tmp_path / "a" / "config.json").read_text())["restoration"]["shrink"]
    assert shrunk["level_cap"]["gap_lengths"] == 3 and shrunk["level_cap"]["gaps_capped"] in (0, 1)
    code, _, err = run_cli(capsys, "inpaint", write_wav(tmp_path / "ok.wav", tones()), "--gaps", "auto",
                           "--out", tmp_path / "b", *TINY)
    assert code == 2 and len(err) == 1 and "no digital silence" in err[0] and not (tmp_path / "b").exists()


def test_inpaint_image_with_a_png_mask(tmp_path, capsys):
    src = write_png(tmp_path / "img.png")
    m = np.full((16, 24), 255, np.uint8)
    m[4:8, 5:15] = 0
    Image.fromarray(m).save(tmp_path / "mask.png")
    out = tmp_path / "img"
    code, _, err = run_cli(capsys, "inpaint", src, "--mask", tmp_path / "mask.png", "--out", out, *TINY)
    assert code == 0, err
    with Image.open(out / "reconstruction.png") as im, Image.open(src) as orig:
        a, b = np.asarray(im), np.asarray(orig)
    assert a.shape == (16, 24) and np.array_equal(a[m > 0], b[m > 0])


def test_restore_eval_audio_missing_writes_table_and_figures(tmp_path, capsys):
    clean = write_wav(tmp_path / "clean.wav", tones(), "FLOAT")
    out = tmp_path / "eval"
    code, stdout, err = run_cli(capsys, "restore-eval", clean, "--missing", "0.3", "--models", "siren,siren2",
                                "--seeds", "0,1", "--out", out, "--stop", "fixed", *TINY)
    assert code == 0, err
    assert {"table.md", "results.json", "restoration.png", "corrupted.wav", "restored_siren.wav",
            "restored_siren2.wav", "restored_linear.wav", "restored_cubic.wav", "restored_lmmse.wav", "mask.npy",
            "example.npz", "records.jsonl"} == {
        p.name for p in out.iterdir()}
    table = (out / "table.md").read_text()
    for text in ("| corrupted input |", "| siren |", "| siren2 |", "| linear |", "| cubic |", "| lmmse |",
                 "linear: linear interpolation over the observed samples", "30% of the samples missing",
                 "fixed budget of 40 epochs", "the paper's PSNR", "ddof=1"):
        assert text in table and text in stdout
    res = json.loads((out / "results.json").read_text())
    assert res["seeds"] == [0, 1] and len(res["scores"]["siren2"]) == 2 and len(res["scores"]["cubic"]) == 2
    # smooth tones with 30% missing: interpolation is far above the zero-filled input
    assert res["summary"]["linear"]["psnr_paper"]["mean"] > res["summary"]["corrupted input"]["psnr_paper"]["mean"] + 5
    assert [c["measured_fraction"] for c in res["corruptions"]] == pytest.approx([0.3, 0.3])
    assert res["summary"]["siren"]["psnr_paper"]["std"] is not None
    assert res["models"]["siren2"]["winner"]["s0"] > 0
    assert (np.load(out / "mask.npy") == 0).sum() == 600


def test_restore_eval_image_noise_and_holdout(tmp_path, capsys):
    clean = write_png(tmp_path / "clean.png")
    out = tmp_path / "eval"
    code, stdout, err = run_cli(capsys, "restore-eval", clean, "--noise-std", "0.1", "--models", "siren",
                                "--seeds", "3", "--stop", "holdout", "--patience", "10", "--out", out, *TINY)
    assert code == 0, err
    from siren2.restoration.classical import installed

    assert {"table.md", "results.json", "records.jsonl", "restoration.png", "corrupted.png", "restored_siren.png",
            "example.npz", "restored_wavelet.png", "restored_tv.png", "restored_nl_means.png"} | (
        {"restored_bm3d.png"} if installed("bm3d") else set()) == {p.name for p in out.iterdir()}
    res = json.loads((out / "results.json").read_text())
    assert res["stop"] == "holdout" and res["scores"]["siren"][0]["patience"] == 10
    assert res["corruptions"][0]["measured_std"] == pytest.approx(0.1, rel=0.1)
    assert "hold-out: 10% of the observed samples" in (out / "table.md").read_text()
    assert res["summary"]["siren"]["psnr_paper"]["std"] is None  # one seed: no std


BAD = {
    "short-mask": lambda p: ("inpaint", p / "in.wav", "--mask", np.save(p / "m.npy", np.ones(1999)) or p / "m.npy"),
    "all-missing": lambda p: ("inpaint", p / "in.wav", "--mask", write_wav(p / "m.wav", np.zeros(2000))),
    "all-observed": lambda p: ("inpaint", p / "in.wav", "--mask", write_wav(p / "m.wav", np.ones(2000) * 0.5)),
    "unreadable-mask": lambda p: ("inpaint", p / "in.wav", "--mask",
                                  (p / "m.wav").write_bytes(b"junk") and p / "m.wav"),
    "image-mask-size": lambda p: ("inpaint", write_png(p / "in.png"), "--mask", write_png(p / "m.png", 24, 16)),
    "gaps-on-image": lambda p: ("inpaint", write_png(p / "in.png"), "--gaps", "auto"),
    "patience-with-fixed": lambda p: ("inpaint", p / "in.wav", "--gaps", "auto", "--stop", "fixed", "--patience", "5"),
    "bad-gap-spec": lambda p: ("restore-eval", p / "in.wav", "--gaps", "20x10"),
    "gaps-too-long": lambda p: ("restore-eval", p / "in.wav", "--gaps", "20x100ms"),
    "missing-fraction": lambda p: ("restore-eval", p / "in.wav", "--missing", "1.2"),
    "negative-noise": lambda p: ("restore-eval", p / "in.wav", "--noise-std", "-0.1"),
    "unknown-model": lambda p: ("restore-eval", p / "in.wav", "--noise-std", "0.1", "--models", "siren,nope"),
    "holdout-fraction": lambda p: ("denoise", p / "in.wav", "--holdout", "1.5"),
    "prior-with-fixed": lambda p: ("denoise", p / "in.wav", "--stop", "fixed", "--prior-weights", "1"),
    "prior-on-image": lambda p: ("denoise", write_png(p / "in.png"), "--prior-weights", "1"),
    "s0-without-winner": lambda p: ("denoise", p / "in.wav", "--model", "siren", "--s0", "100"),
    "classical-wrong-kind": lambda p: ("inpaint", write_png(p / "in.png"), "--mask", write_png(p / "m.png"),
                                       "--classical", "lmmse"),
    "classical-wrong-task": lambda p: ("denoise", write_png(p / "in.png"), "--classical", "wiener"),
    "classical-noise-std": lambda p: ("denoise", p / "in.wav", "--classical", "wiener", "--noise-std", "0.1"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, case):
    x = tones()
    x[900:1000] = 0
    write_wav(tmp_path / "in.wav", x)
    args = BAD[case](tmp_path)
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, *args, "--out", out, *TINY)
    assert code == 2 and len(err) == 1 and err[0].startswith("siren2: error: "), err
    assert not out.exists() and hidden_entries(tmp_path) == []


@pytest.mark.parametrize("choice,expected", [("none", set()), ("tv", {"tv"})])
def test_restore_eval_baselines_can_be_chosen_or_left_out(tmp_path, capsys, choice, expected):
    clean = write_png(tmp_path / "clean.png")
    out = tmp_path / "eval"
    code, _, err = run_cli(capsys, "restore-eval", clean, "--noise-std", "0.1", "--models", "siren", "--seeds", "0",
                           "--baselines", choice, "--out", out, *TINY)
    assert code == 0, err
    res = json.loads((out / "results.json").read_text())
    assert set(res["scores"]) == {"corrupted input", "siren"} | expected


def test_restore_eval_refuses_a_baseline_for_another_task(tmp_path, capsys):
    clean = write_png(tmp_path / "clean.png")
    code, _, err = run_cli(capsys, "restore-eval", clean, "--noise-std", "0.1", "--models", "siren",
                           "--baselines", "cubic", "--out", tmp_path / "eval", *TINY)
    assert code == 2 and len(err) == 1 and "--baselines 'cubic'" in err[0] and "wavelet" in err[0]
    assert not (tmp_path / "eval").exists()


def test_restore_eval_resume_keeps_finished_seeds_and_runs_the_rest(tmp_path, capsys, monkeypatch):
    import siren2.restoration.evaluation as evaluation

    clean = write_wav(tmp_path / "clean.wav", tones(), "FLOAT")
    real, calls = evaluation.restore, []

    def flaky(*args, **kwargs):  # Ctrl-C in the second seed's second fit
        calls.append(kwargs["seed"])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "restore", flaky)
    argv = ["restore-eval", clean, "--noise-std", "0.05", "--models", "siren,siren2", "--seeds", "0,1,2",
            "--out", tmp_path / "eval", *TINY]
    code, stdout, _ = run_cli(capsys, *argv)
    assert code == 0 and "interrupted: 1 of 3 seeds finished" in stdout
    first = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert first["seeds"] == [0] and first["interrupted"] and "Interrupted: 1 of 3 seeds" in (
        tmp_path / "eval" / "table.md").read_text()

    calls.clear()
    monkeypatch.setattr(evaluation, "restore", lambda *a, **k: calls.append(k["seed"]) or real(*a, **k))
    code, stdout, err = run_cli(capsys, *argv, "--resume")
    assert code == 0 and "seeds 0 kept" in stdout, err
    assert calls == [1, 1, 2, 2]  # seed 0 was not rerun
    res = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert res["seeds"] == [0, 1, 2] and not res["interrupted"] and len(res["scores"]["siren2"]) == 3
    assert res["scores"]["siren2"][0] == first["scores"]["siren2"][0]

    code, _, err = run_cli(capsys, *argv[:-len(TINY)], "--epochs", "7", *TINY[2:], "--resume")
    assert code == 2 and len(err) == 1 and "other options" in err[0]



def test_denoise_sizes_the_network_to_the_observed_samples(tmp_path, capsys):
    """Without --width the network has at most --capacity parameters per observed sample (recorded)."""
    noisy = write_wav(tmp_path / "noisy.wav", tones() + 0.1 * np.random.default_rng(0).standard_normal(2000), "FLOAT")
    code, _, err = run_cli(capsys, "denoise", noisy, "--out", tmp_path / "d", "--layers", "2", "--epochs", "3",
                           "--capacity", "0.5", "--quiet")
    assert code == 0, err
    config = json.loads((tmp_path / "d" / "config.json").read_text())
    cap = config["restoration"]["capacity"]
    assert cap["rule"] == "auto" and cap["max_params_per_observed_sample"] == 0.5
    assert 0.4 < cap["params_per_observed_sample"] <= 0.5 and config["model"]["parameters"] <= 1000


def _db(ref, x):
    return 10 * np.log10(1 / np.mean((np.asarray(ref, np.float64) - np.asarray(x, np.float64)) ** 2))


@pytest.mark.slow
def test_the_defaults_restore_a_generated_clip(tmp_path, capsys):
    """denoise and inpaint with nothing but --out beat the damaged input clearly (σ 0.1; 30% missing)."""
    x = 0.5 * tones(8000)
    rng = np.random.default_rng(0)
    noisy = write_wav(tmp_path / "noisy.wav", x + 0.1 * rng.standard_normal(x.size), "FLOAT")
    keep = (rng.random(x.size) > 0.3).astype(np.float64)
    holes = write_wav(tmp_path / "holes.wav", x * keep, "FLOAT")
    np.save(tmp_path / "mask.npy", keep)
    for argv, margin in (([noisy], 3), ([holes, "--mask", tmp_path / "mask.npy"], 10)):
        out = tmp_path / argv[0].stem
        code, stdout, err = run_cli(capsys, "inpaint" if len(argv) > 1 else "denoise", *argv, "--out", out,
                                    "--quiet")
        assert code == 0, err
        restored, _ = sf.read(str(out / "reconstruction.wav"))
        before, _ = sf.read(str(argv[0]))
        assert _db(x, restored) > _db(x, before) + margin, stdout
        assert "estimated gain" in stdout


def test_inpaint_and_denoise_can_run_a_classical_tool_instead_of_a_network(tmp_path, capsys):
    t = np.arange(2000)
    x = 0.5 * np.sin(2 * np.pi * 0.35 * t) + 0.3 * np.sin(2 * np.pi * 0.362 * t + 1)  # narrowband, near the top
    mask = np.ones(2000, np.float32)
    mask[np.random.default_rng(0).choice(2000, 600, replace=False)] = 0
    damaged = write_wav(tmp_path / "damaged.wav", x * mask, "FLOAT")
    np.save(tmp_path / "mask.npy", mask)
    out = tmp_path / "inp"
    code, stdout, err = run_cli(capsys, "inpaint", damaged, "--mask", tmp_path / "mask.npy", "--classical", "lmmse",
                                "--out", out)
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == {"reconstruction.wav", "config.json", "metrics.json", "mask.npy",
                                               "audio.png"}
    rec = json.loads((out / "config.json").read_text())["restoration"]["classical"]
    assert rec["name"] == "lmmse" and rec["holdout_samples"] == 140 and rec["estimated_gain_db"] > 20
    y, _ = sf.read(str(out / "reconstruction.wav"))
    assert np.allclose(y[mask > 0], (x * mask)[mask > 0], atol=1e-6)  # the observed samples as they were
    assert 10 * np.log10(np.mean(x[mask == 0] ** 2) / np.mean((y - x)[mask == 0] ** 2)) > 20  # the missing ones
    assert "estimated gain over the zero-filled input" in stdout

    noisy = write_wav(tmp_path / "noisy.wav", tones() + 0.1 * np.random.default_rng(1).standard_normal(2000), "FLOAT")
    code, stdout, err = run_cli(capsys, "denoise", noisy, "--classical", "wiener", "--out", tmp_path / "den")
    assert code == 0, err
    scores = json.loads((tmp_path / "den" / "metrics.json").read_text())["metrics"]
    assert set(scores) == {"observed_psnr_paper", "residual_std"} and 0.05 < scores["residual_std"] < 0.15  # σ 0.1
    y, _ = sf.read(str(tmp_path / "den" / "reconstruction.wav"))
    assert np.mean((y - tones()) ** 2) < 0.5 * 0.1 ** 2  # at least 3 dB under the noise
