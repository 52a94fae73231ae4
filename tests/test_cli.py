"""The ``siren2`` command line end to end, in-process through :func:`siren2.cli.main`.

Tiny settings (2 x 16 networks, a few epochs, 2000 samples or 16 x 16 pixels) keep every fit
well under a second of training; inputs are generated in temporary folders.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image
from safetensors import safe_open

from helpers import run_cli, write_hf_wav, write_rgb_png
from siren2.cli import main
from siren2.winner import VALLEY_S1

TINY = ["--epochs", "5", "--width", "16", "--layers", "2", "--quiet"]
SR = 16_000
N_AUDIO = 2000


# ------------------------------------------------------------------------------------- inputs


def hidden_entries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def default_file_mode(folder):
    """The permission bits an ordinary new file gets here (the umask applied to 0o666)."""
    probe = folder / "mode-probe"
    probe.write_bytes(b"")
    mode = probe.stat().st_mode & 0o777
    probe.unlink()
    return mode


# ------------------------------------------------------------------------------------- fitted runs


def _fitted(root, src):
    """(input file, output folder) of a tiny `siren2 fit` run."""
    out = root / "runs" / "fit"
    assert main(["fit", str(src), "--out", str(out), *TINY]) == 0
    return src, out


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio")
    return _fitted(root, write_hf_wav(root / "hf.wav"))


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("image")
    return _fitted(root, write_rgb_png(root / "c.png"))


def _common_outputs(out):
    config = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert config["model"]["name"] == "siren2"
    winner = config["model"]["winner"]
    for key in ("psi", "s0", "s1"):
        assert isinstance(winner[key], float) and math.isfinite(winner[key])
    assert winner["psi"] > 0 and winner["s0"] > 0 and winner["s1"] > 0
    # L = 2 sine layers of width 16 (in -> 16 -> 16), then a linear 16 -> out (149,185 for the paper's 4 x 222)
    d_in, d_out = config["model"]["config"]["in_dim"], config["model"]["config"]["out_dim"]
    assert config["model"]["parameters"] == (d_in + 1) * 16 + (16 + 1) * 16 + (16 + 1) * d_out
    assert config["model"]["config"]["width"] == 16 and config["model"]["config"]["hidden_layers"] == 2
    assert config["spec"]["fit"]["seed"] == 0 and config["spec"]["fit"]["epochs"] == 5
    assert config["runtime"]["device"] in ("cpu", "cuda", "cuda:0", "mps")
    assert isinstance(config["runtime"]["seconds"], float) and config["runtime"]["seconds"] >= 0
    assert config["runtime"]["torch"] == torch.__version__
    assert config["runtime"]["epochs_run"] == 5
    assert len(metrics["psnr_paper_per_epoch"]) == 5
    m = metrics["metrics"]
    assert math.isfinite(m["psnr_paper"])
    assert set(metrics["conventions"]) <= set(m)
    with Image.open(out / "psnr.png") as im:
        assert im.format == "PNG"
    with safe_open(str(out / "model.safetensors"), framework="pt") as f:
        assert any(name.endswith("weight") for name in f.keys())
    # every file siren2 writes is readable like any other new file (not left with a temp file's 0600
    # mode); model.safetensors is written by the safetensors library, which chooses its own mode
    mode = default_file_mode(out.parent)
    for f in out.iterdir():
        if f.name != "model.safetensors":
            assert f.stat().st_mode & 0o777 == mode, f.name
    # the staging folder is gone
    assert hidden_entries(out.parent) == []
    assert hidden_entries(out) == []
    return config, m


def test_fit_audio_writes_every_output(audio_run):
    src, out = audio_run
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["reconstruction.wav", "metrics.json", "config.json", "model.safetensors", "psnr.png", "audio.png"]
    )
    config, m = _common_outputs(out)
    assert {"psnr_paper", "snr", "lsd"} <= set(m)
    assert config["signal"]["kind"] == "audio" and config["signal"]["sample_rate"] == SR
    assert config["model"]["config"]["in_dim"] == 1
    info = sf.info(str(out / "reconstruction.wav"))
    assert info.samplerate == SR and info.frames == N_AUDIO and info.channels == 1
    assert info.subtype == sf.info(str(src)).subtype == "PCM_16"
    with Image.open(out / "audio.png") as im:
        assert im.format == "PNG"


def test_fit_image_writes_every_output(image_run):
    src, out = image_run
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["reconstruction.png", "metrics.json", "config.json", "model.safetensors", "psnr.png", "image.png"]
    )
    config, m = _common_outputs(out)
    assert {"psnr_paper", "psnr", "ssim"} <= set(m)
    assert config["signal"]["kind"] == "image" and config["signal"]["grid"] == [16, 16]
    assert config["model"]["config"]["in_dim"] == 2 and config["model"]["config"]["out_dim"] == 3
    with Image.open(out / "reconstruction.png") as im:
        assert im.size == (16, 16) and im.mode == "RGB"
    with Image.open(out / "image.png") as im:
        assert im.format == "PNG"


def test_fit_prints_summary(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "hf.wav")
    code, out, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", *TINY)
    assert code == 0 and err == []
    assert "psnr_paper" in out and "outputs in" in out and "hf.wav" in out


# ------------------------------------------------------------------------------------- render


def test_render_audio_at_twice_the_rate(audio_run, tmp_path, capsys):
    _, run = audio_run
    code, _, err = run_cli(capsys, "render", run, "--out", tmp_path / "x.wav", "--sample-rate", 2 * SR)
    assert code == 0 and err == []
    info = sf.info(str(tmp_path / "x.wav"))
    assert info.samplerate == 2 * SR and info.frames == 2 * N_AUDIO
    assert info.subtype == "PCM_16"
    assert (tmp_path / "x.wav").stat().st_mode & 0o777 == default_file_mode(tmp_path)
    assert hidden_entries(tmp_path) == []


def test_render_image_at_32x32(image_run, tmp_path, capsys):
    _, run = image_run
    code, _, err = run_cli(capsys, "render", run, "--out", tmp_path / "x.png", "--size", "32x32")
    assert code == 0 and err == []
    with Image.open(tmp_path / "x.png") as im:
        assert im.size == (32, 32) and im.mode == "RGB"


def test_render_non_square_size(image_run, tmp_path, capsys):
    _, run = image_run
    code, _, _ = run_cli(capsys, "render", run, "--out", tmp_path / "x.png", "--size", "8x24")
    assert code == 0
    with Image.open(tmp_path / "x.png") as im:
        assert im.size == (24, 8)  # PIL size is (W, H)


def test_render_native_audio_equals_reconstruction(audio_run, tmp_path, capsys):
    _, run = audio_run
    code, _, _ = run_cli(capsys, "render", run, "--out", tmp_path / "native.wav")
    assert code == 0
    a, sr_a = sf.read(str(run / "reconstruction.wav"), dtype="int16")
    b, sr_b = sf.read(str(tmp_path / "native.wav"), dtype="int16")
    assert sr_a == sr_b == SR and a.shape == b.shape
    assert int(np.max(np.abs(a.astype(np.int64) - b.astype(np.int64)))) <= 1


def test_render_native_image_equals_reconstruction(image_run, tmp_path, capsys):
    _, run = image_run
    code, _, _ = run_cli(capsys, "render", run, "--out", tmp_path / "native.png")
    assert code == 0
    with Image.open(run / "reconstruction.png") as ia, Image.open(tmp_path / "native.png") as ib:
        a, b = np.asarray(ia).astype(np.int64), np.asarray(ib).astype(np.int64)
    assert a.shape == b.shape == (16, 16, 3)
    assert int(np.max(np.abs(a - b))) <= 1


def test_render_refuses_existing_output_without_force(audio_run, tmp_path, capsys):
    _, run = audio_run
    target = tmp_path / "x.wav"
    target.write_bytes(b"keep")
    code, _, err = run_cli(capsys, "render", run, "--out", target)
    assert code == 2 and len(err) == 1 and err[0].startswith("siren2: error:") and "x.wav" in err[0]
    assert target.read_bytes() == b"keep"
    code, _, _ = run_cli(capsys, "render", run, "--out", target, "--force")
    assert code == 0 and sf.info(str(target)).frames == N_AUDIO


@pytest.mark.parametrize("size", ["abc", "32", "32x", "x32"])
def test_render_bad_size(image_run, tmp_path, capsys, size):
    _, run = image_run
    code, _, err = run_cli(capsys, "render", run, "--out", tmp_path / "x.png", "--size", size)
    assert code == 2 and len(err) == 1 and err[0].startswith("siren2: error:") and "--size" in err[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("contents", [None, "config-only", "bad-json"])
def test_render_on_a_folder_that_is_not_a_fit(tmp_path, capsys, contents):
    folder = tmp_path / "notarun"
    folder.mkdir()
    if contents is None:
        (folder / "notes.txt").write_text("hello\n")
    elif contents == "config-only":
        (folder / "config.json").write_text("{}\n")
    else:
        (folder / "config.json").write_text("{not json")
        (folder / "model.safetensors").write_bytes(b"\x00" * 16)
    before = sorted(p.name for p in folder.iterdir())
    code, _, err = run_cli(capsys, "render", folder, "--out", tmp_path / "x.wav")
    assert code == 2
    assert len(err) == 1 and err[0].startswith("siren2: error:") and "notarun" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notarun"]
    assert sorted(p.name for p in folder.iterdir()) == before


# ------------------------------------------------------------------------------------- demo


def test_demo_writes_its_outputs(tmp_path, capsys):
    out = tmp_path / "demo"
    code, stdout, _ = run_cli(capsys, "demo", "--epochs", "3", "--out", out)
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert {"target.wav", "siren", "siren2", "psnr.png", "audio.png"} <= names
    for model in ("siren", "siren2"):  # each model's run folder, as 'siren2 fit' writes it
        assert {"reconstruction.wav", "metrics.json", "config.json", "model.safetensors"} <= {
            p.name for p in (out / model).iterdir()}
        metrics = json.loads((out / model / "metrics.json").read_text())["metrics"]
        assert "psnr_paper" in metrics and "snr" in metrics
        assert json.loads((out / model / "config.json").read_text())["spec"]["model"] == model
    wavs = ("target.wav", "siren/reconstruction.wav", "siren2/reconstruction.wav")
    rates = {sf.info(str(out / f)).samplerate for f in wavs}
    frames = {sf.info(str(out / f)).frames for f in wavs}
    assert len(rates) == 1 and len(frames) == 1
    assert hidden_entries(tmp_path) == []
    assert "psnr_paper" in stdout


# ------------------------------------------------------------------------------------- bad input


def _random_bytes(p):
    p.write_bytes(np.random.default_rng(0).integers(0, 256, size=4096, dtype=np.uint8).tobytes())


def _truncated_png(p):
    rng = np.random.default_rng(2)
    Image.fromarray(rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)).save(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _zero_frames(p):
    sf.write(str(p), np.zeros((0, 1)), SR, subtype="PCM_16")


def _float_wav_with(value):
    def make(p):
        x = np.sin(np.linspace(0, 20, 500)).astype(np.float32)
        x[123] = value
        sf.write(str(p), x, SR, subtype="FLOAT")
    return make


BAD_INPUTS = {
    "missing": ("missing.wav", None),
    "directory": ("adir", lambda p: p.mkdir()),
    "random-bytes-wav": ("noise.wav", _random_bytes),
    "truncated-png": ("half.png", _truncated_png),
    "zero-frames-wav": ("empty_audio.wav", _zero_frames),
    "zero-byte-file": ("nothing.wav", lambda p: p.write_bytes(b"")),
    "zero-byte-png": ("nothing.png", lambda p: p.write_bytes(b"")),
    "text-file": ("notes.txt", lambda p: p.write_text("this is not a signal\n" * 20)),
    "nan-samples": ("nan.wav", _float_wav_with(np.nan)),
    "inf-samples": ("inf.wav", _float_wav_with(np.inf)),
    "neg-inf-samples": ("ninf.wav", _float_wav_with(-np.inf)),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_fit_bad_input_exits_2_and_leaves_nothing(tmp_path, capsys, case):
    name, make = BAD_INPUTS[case]
    indir = tmp_path / "in"
    indir.mkdir()
    src = indir / name
    if make is not None:
        make(src)
    before = sorted(p.name for p in indir.iterdir())
    out = tmp_path / "results" / "run"
    code, stdout, err = run_cli(capsys, "fit", src, "--out", out, *TINY)
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith("siren2: error:")
    assert name in err[0]
    assert stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # no output folder, no staging folder
    assert sorted(p.name for p in indir.iterdir()) == before


def test_fit_refuses_folder_with_files_unless_forced(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "hf.wav")
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine\n")
    code, stdout, err = run_cli(capsys, "fit", src, "--out", out, *TINY)
    assert code == 2 and stdout == ""
    assert len(err) == 1 and err[0].startswith("siren2: error:") and str(out) in err[0] and "--force" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert hidden_entries(tmp_path) == []

    code, _, err = run_cli(capsys, "fit", src, "--out", out, "--force", *TINY)
    assert code == 0 and err == []
    assert {"reconstruction.wav", "metrics.json", "config.json", "model.safetensors"} <= {
        p.name for p in out.iterdir()}
    assert hidden_entries(tmp_path) == []


def test_fit_refuses_out_that_is_a_file(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "hf.wav")
    out = tmp_path / "run"
    out.write_text("a file\n")
    code, _, err = run_cli(capsys, "fit", src, "--out", out, *TINY)
    assert code == 2 and len(err) == 1 and err[0].startswith("siren2: error:") and "run" in err[0]
    assert out.read_text() == "a file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf.wav", "run"]


def test_fit_empty_existing_folder_is_fine(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "hf.wav")
    (tmp_path / "run").mkdir()
    code, _, _ = run_cli(capsys, "fit", src, "--out", tmp_path / "run", *TINY)
    assert code == 0 and (tmp_path / "run" / "config.json").is_file()


def test_fit_silent_wav_warns_and_uses_zero_scales(tmp_path, capsys):
    src = tmp_path / "silent.wav"
    sf.write(str(src), np.zeros(1000), SR, subtype="PCM_16")
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "fit", src, "--out", out, *TINY)
    assert code == 0
    assert err and all(line.startswith("siren2: warning:") for line in err)
    assert any("silent" in line for line in err)
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["winner"]["s0"] == 0 and config["model"]["winner"]["s1"] == 0
    assert config["signal"]["peak"] == 1.0
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert not any(isinstance(v, float) and math.isnan(v) for v in metrics.values())
    rec, _ = sf.read(str(out / "reconstruction.wav"), dtype="float64")
    assert np.all(np.isfinite(rec))


def test_fit_content_beats_suffix(tmp_path, capsys):
    """A wav named .png is fitted as audio (and so written back as .wav)."""
    src = write_hf_wav(tmp_path / "hf.wav")
    src = src.rename(tmp_path / "sound.png")
    code, _, _ = run_cli(capsys, "fit", src, "--out", tmp_path / "run", *TINY)
    assert code == 0
    assert (tmp_path / "run" / "reconstruction.wav").is_file()
    assert (tmp_path / "run" / "audio.png").is_file()


def test_fit_s0_s1_rejected_for_plain_siren(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "hf.wav")
    code, _, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", "--model", "siren", "--s0", "1", *TINY)
    assert code == 2 and len(err) == 1 and err[0].startswith("siren2: error:") and "--s0" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf.wav"]


def test_no_files_left_open_or_temp_in_cwd(tmp_path, capsys, monkeypatch):
    """Relative paths work and nothing lands in the working directory but the output folder."""
    monkeypatch.chdir(tmp_path)
    write_hf_wav(tmp_path / "hf.wav")
    code, _, _ = run_cli(capsys, "fit", "hf.wav", "--out", "run", *TINY)
    assert code == 0
    assert sorted(os.listdir(tmp_path)) == ["hf.wav", "run"]


@pytest.mark.parametrize("shape", [(6, 10), (4, 5)])
def test_fit_small_gray_image(tmp_path, capsys, shape):
    """Images with an even side below SSIM's 7 x 7 window still fit (the window shrinks to fit)."""
    h, w = shape
    a = (np.arange(h * w).reshape(h, w) * 255 // (h * w - 1)).astype(np.uint8)
    Image.fromarray(a).save(tmp_path / "g.png")
    code, _, err = run_cli(capsys, "fit", tmp_path / "g.png", "--out", tmp_path / "run", *TINY)
    assert code == 0, err
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())["metrics"]
    assert math.isfinite(m["ssim"]) and math.isfinite(m["psnr"])
    with Image.open(tmp_path / "run" / "reconstruction.png") as im:
        assert im.mode == "L" and im.size == (w, h)


@pytest.mark.parametrize("args,needle", [
    (("--size", "0x0"), "--size"),
    (("--sample-rate", "-5"), "--sample-rate"),
    (("--out-name", "x.png"), "cannot write audio"),
    (("--out-name", "missing/x.wav"), "does not exist"),
])
def test_render_bad_options_exit_2(audio_run, tmp_path, capsys, args, needle):
    _, run = audio_run
    out = tmp_path / (args[1] if args[0] == "--out-name" else "x.wav")
    extra = () if args[0] == "--out-name" else args
    code, _, err = run_cli(capsys, "render", run, "--out", out, *extra)
    assert code == 2 and len(err) == 1 and err[0].startswith("siren2: error:") and needle in err[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args,needle", [
    (("--epochs", "0"), "epochs"),
    (("--width", "0"), "width"),
    (("--device", "foo"), "--device"),
])
def test_fit_bad_settings_exit_2(tmp_path, capsys, args, needle):
    src = write_hf_wav(tmp_path / "hf.wav")
    code, _, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", *TINY, *args)
    assert code == 2 and len(err) == 1 and err[0].startswith("siren2: error:") and needle in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf.wav"]


def test_a_run_replays_from_its_config_json(tmp_path, capsys):
    """`fit --config RUN/config.json` resolves the run's options again: the same psnr_paper to 1e-6 on this
    machine; an option given on the command line wins; a FILE fits another input with the same settings."""
    src = write_hf_wav(tmp_path / "hf.wav")
    code, _, _ = run_cli(capsys, "fit", src, "--out", tmp_path / "a", *TINY, "--rule", "auto")
    assert code == 0
    code, out, err = run_cli(capsys, "fit", "--config", tmp_path / "a" / "config.json", "--out", tmp_path / "b",
                             "--quiet")
    assert code == 0 and err == [], err
    first, again = [json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("a", "b")]
    assert abs(first["metrics"]["psnr_paper"] - again["metrics"]["psnr_paper"]) < 1e-6
    specs = [json.loads((tmp_path / d / "config.json").read_text())["spec"] for d in ("a", "b")]
    assert specs[0] == specs[1] and specs[0]["winner"]["rule"] == "auto"
    code, _, _ = run_cli(capsys, "fit", "--config", tmp_path / "a", "--out", tmp_path / "c", "--epochs", "3",
                         "--quiet")
    spec = json.loads((tmp_path / "c" / "config.json").read_text())["spec"]
    assert code == 0 and spec["fit"]["epochs"] == 3 and spec["network"] == specs[0]["network"]
    other = write_hf_wav(tmp_path / "other.wav", n=1500)
    code, _, _ = run_cli(capsys, "fit", other, "--config", tmp_path / "a", "--out", tmp_path / "d", "--quiet")
    spec = json.loads((tmp_path / "d" / "config.json").read_text())["spec"]
    assert code == 0 and spec["input"]["path"] == str(other) and spec["fit"]["epochs"] == 5


@pytest.mark.parametrize("bad", ["missing", "not-a-run"])
def test_a_config_that_is_not_a_run_s_is_one_line_and_exit_2(tmp_path, capsys, bad):
    config = tmp_path / "config.json"
    if bad == "not-a-run":
        config.write_text('{"hello": 1}')
    code, _, err = run_cli(capsys, "fit", "--config", config, "--out", tmp_path / "out")
    assert code == 2 and len(err) == 1 and str(config) in err[0]
    assert not (tmp_path / "out").exists()
    code, _, err = run_cli(capsys, "fit", "--out", tmp_path / "out")
    assert code == 2 and len(err) == 1 and "--config" in err[0]


def test_a_cut_audio_file_says_so_in_the_printout_and_in_metrics_json(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "hf.wav", n=2000)
    code, out, _ = run_cli(capsys, "fit", src, "--out", tmp_path / "run", *TINY, "--max-samples", "1500")
    notes = json.loads((tmp_path / "run" / "metrics.json").read_text())["notes"]
    assert code == 0 and len(notes) == 1 and "first 1,500 of the file's 2,000 samples" in notes[0]
    assert "--max-samples 0" in notes[0] and notes[0] in out
    code, out, _ = run_cli(capsys, "fit", src, "--out", tmp_path / "whole", *TINY)
    assert code == 0 and "notes" not in json.loads((tmp_path / "whole" / "metrics.json").read_text())
    assert "note:" not in out


def test_the_snr_of_a_silent_file_is_undefined_not_minus_300_db(tmp_path, capsys):
    src = tmp_path / "silent.wav"
    sf.write(str(src), np.zeros(500), 8000, subtype="PCM_16")
    code, out, _ = run_cli(capsys, "fit", src, "--out", tmp_path / "run", *TINY)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert code == 0 and metrics["metrics"]["snr"] is None and "silent" in metrics["undefined"]["snr"]
    assert "snr undefined" in out and "-300" not in out


def test_fit_rule_auto_on_an_rgb_image_records_its_search(tmp_path, capsys):
    src = write_rgb_png(tmp_path / "rgb.png")
    code, out, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", "--rule", "auto", *TINY)
    assert code == 0 and err == [], err
    assert f"rule auto: {len(VALLEY_S1)} (s0, s1) points, raced by short fits" in out
    winner = json.loads((tmp_path / "run" / "config.json").read_text())["model"]["winner"]
    raced = min(winner["search"]["valley"], key=lambda p: p["short_fit_loss"])  # the fit races its valley
    assert winner["rule"] == "auto" and (raced["s0"], raced["s1"]) == (winner["s0"], winner["s1"])
