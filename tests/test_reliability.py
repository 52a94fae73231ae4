"""Every failure is a clean error: size limits, decompression bombs, truncated and tiny files,
unwritable outputs, a full disk, corrupted checkpoints, SIGTERM and kill -9 (the fuzzing is in
test_fuzz.py)."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from helpers import run_cli, write_hf_wav, write_rgb_png
from siren2 import load_signal
from siren2.errors import InputError

TINY = ["--epochs", "3", "--width", "8", "--layers", "2", "--quiet"]
OUTPUTS = {"reconstruction.wav", "metrics.json", "config.json", "model.safetensors"}


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims width x height 8-bit gray pixels and holds one empty IDAT (a few hundred
    bytes: what a decompression bomb looks like before it is decoded)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))
    return path


def assert_clean_error(code, stdout, err, name, tmp_path, keep):
    assert code == 2 and stdout == ""
    assert len(err) == 1 and err[0].startswith("siren2: error:") and name in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)  # no output, no staging folder


# ------------------------------------------------------------------------------------- size limits


def test_a_decompression_bomb_is_refused_before_it_is_decoded(tmp_path, capsys):
    src = png_header_only(tmp_path / "bomb.png", 20_000, 20_000)
    assert src.stat().st_size < 1000
    code, stdout, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", *TINY)
    assert_clean_error(code, stdout, err, "bomb.png", tmp_path, ["bomb.png"])
    assert "400,000,000 pixels" in err[0] or "pixels" in err[0]


def test_an_image_over_max_points_is_refused_and_the_flag_raises_the_limit(tmp_path, capsys):
    src = write_rgb_png(tmp_path / "img.png", 32, 32)
    with pytest.raises(InputError, match=r"img\.png: image is 32x32 = 1,024 pixels, above the limit of 1,000"):
        load_signal(src, max_points=1000)
    code, stdout, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", "--max-points", "1000", *TINY)
    assert_clean_error(code, stdout, err, "img.png", tmp_path, ["img.png"])
    assert "--max-points" in err[0]
    code, _, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", "--max-points", "1024", *TINY)
    assert code == 0 and err == []


def test_audio_over_max_points_is_refused_unless_cut(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "long.wav", n=3000)
    with pytest.raises(InputError, match=r"long\.wav: 3,000 samples, above the limit of 1,000"):
        load_signal(src, max_points=1000)
    assert load_signal(src, max_samples=1000, max_points=1000).num_points == 1000
    code, stdout, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", "--max-samples", "0",
                                "--max-points", "1000", *TINY)
    assert_clean_error(code, stdout, err, "long.wav", tmp_path, ["long.wav"])
    code, _, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", "--max-points", "0", *TINY)
    assert code == 2 and len(err) == 1 and "--max-points" in err[0]


# ------------------------------------------------------------------------------------- warnings


def test_a_truncated_wav_warns_with_what_its_header_promised(tmp_path, capsys):
    src = tmp_path / "cut.wav"
    sf.write(str(src), np.sin(np.arange(4000) * 0.3), 8000, subtype="PCM_16")
    data = src.read_bytes()
    src.write_bytes(data[: len(data) - 2 * (4000 - 8)])  # the header still says 4,000 samples
    with pytest.warns(UserWarning) as caught:  # also "only 8 samples; too few ..."
        s = load_signal(src)
    assert any(re.search(r"cut\.wav: truncated: its header promises 4,000 samples, the file holds 8", str(w.message))
               for w in caught)
    assert s.num_points == 8
    code, _, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", *TINY)
    assert code == 0
    assert any(line.startswith("siren2: warning:") and "truncated" in line for line in err), err


def test_a_whole_wav_and_a_deliberate_cut_do_not_warn(tmp_path, recwarn):
    src = write_hf_wav(tmp_path / "whole.wav", n=3000)
    load_signal(src)
    load_signal(src, max_samples=100)
    assert not [w for w in recwarn if "truncated" in str(w.message)]


@pytest.mark.parametrize("kind", ["wav", "png"])
def test_a_signal_too_small_to_mean_anything_warns(tmp_path, capsys, kind):
    if kind == "wav":
        src = tmp_path / "one.wav"
        sf.write(str(src), np.array([0.5]), 8000, subtype="PCM_16")
    else:
        src = tmp_path / "one.png"
        Image.fromarray(np.array([[200]], dtype=np.uint8)).save(src)
    with pytest.warns(UserWarning, match=r"only 1 (samples|pixels); too few for ψ"):
        load_signal(src)
    code, _, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", *TINY)
    assert code == 0 and any("too few" in line for line in err)


# ------------------------------------------------------------------------------------- outputs


def test_an_output_that_cannot_be_created_is_a_clean_error(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "hf.wav")
    (tmp_path / "afile").write_text("not a folder\n")
    code, stdout, err = run_cli(capsys, "fit", src, "--out", tmp_path / "afile" / "run", *TINY)
    assert_clean_error(code, stdout, err, "afile", tmp_path, ["afile", "hf.wav"])


def test_a_full_disk_is_a_clean_error_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    import siren2.runs

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[-1]))

    monkeypatch.setattr(siren2.runs, "save_model", full)
    src = write_hf_wav(tmp_path / "hf.wav")
    code, stdout, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", *TINY)
    assert_clean_error(code, stdout, err, "model.safetensors", tmp_path, ["hf.wav"])
    assert "No space left on device" in err[0]


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "config-lies"])
def test_render_of_a_damaged_checkpoint_is_a_clean_error(tmp_path, capsys, damage):
    src = write_hf_wav(tmp_path / "hf.wav")
    run = tmp_path / "run"
    assert run_cli(capsys, "fit", src, "--out", run, *TINY)[0] == 0
    weights = run / "model.safetensors"
    data = weights.read_bytes()
    if damage == "truncated":
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        weights.write_bytes(data[:8] + bytes(b ^ 0xFF for b in data[8:40]) + data[40:])
    elif damage == "empty":
        weights.write_bytes(b"")
    else:
        cfg = json.loads((run / "config.json").read_text())
        cfg["model"]["config"]["width"] = 99  # the weights no longer fit the model the config builds
        (run / "config.json").write_text(json.dumps(cfg))
    code, stdout, err = run_cli(capsys, "render", run, "--out", tmp_path / "x.wav")
    assert code == 2 and stdout == "" and len(err) == 1 and err[0].startswith("siren2: error:"), err
    assert not (tmp_path / "x.wav").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_interrupt_before_the_first_epoch_writes_nothing(tmp_path, capsys, monkeypatch):
    import siren2.train

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(siren2.train, "evaluate_loss", interrupted)  # inside the first mini-batch epoch
    src = write_hf_wav(tmp_path / "hf.wav")
    code, stdout, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", "--batch-size", "500", *TINY)
    assert code == 130 and stdout == "" and err == ["siren2: interrupted"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf.wav"]


# ------------------------------------------------------------------------------------- signals


def _spawn(args, cwd, stderr):
    return subprocess.Popen([sys.executable, "-m", "siren2", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=stderr, text=True)


def _wait_for(predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_signal_during_fit_leaves_the_whole_run_or_nothing(tmp_path, sig):
    src = write_hf_wav(tmp_path / "hf.wav", n=4000)
    out = tmp_path / "run"
    log = tmp_path / "stderr.txt"
    with open(log, "w") as stderr:
        proc = _spawn(["fit", src, "--out", out, "--epochs", "100000", "--width", "16", "--layers", "2"],
                      tmp_path, stderr)
        # an epoch has ended once the progress bar shows the best PSNR so far
        assert _wait_for(lambda: "best=" in log.read_text())
        proc.send_signal(sig)
        proc.communicate(timeout=120)
    err = log.read_text()
    assert "Traceback" not in err
    if sig == signal.SIGKILL:
        assert not out.exists()  # killed before the atomic rename: nothing in place
    else:
        # Ctrl-C and SIGTERM stop training and keep the best state so far, written whole
        assert proc.returncode == 0, err
        assert OUTPUTS <= {p.name for p in out.iterdir()}
        runtime = json.loads((out / "config.json").read_text())["runtime"]
        assert runtime["stopped_by"] == "interrupted"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------------------------- found by fuzzing


def test_render_refuses_an_output_over_max_points(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "hf.wav")
    assert run_cli(capsys, "fit", src, "--out", tmp_path / "run", *TINY)[0] == 0
    code, stdout, err = run_cli(capsys, "render", tmp_path / "run", "--out", tmp_path / "x.wav",
                                "--sample-rate", "99999999999")
    assert code == 2 and len(err) == 1 and "above the limit of 50,000,000" in err[0], err
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("value", ["-30", "0", "nan", "inf"])
def test_a_frequency_that_is_not_a_positive_number_is_a_clean_error(tmp_path, capsys, value):
    src = write_hf_wav(tmp_path / "hf.wav")
    code, stdout, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", "--omega0", value, *TINY)
    assert_clean_error(code, stdout, err, "omega0", tmp_path, ["hf.wav"])


def test_a_mask_with_a_damaged_npy_header_is_a_clean_error(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "hf.wav", n=200)
    mask = tmp_path / "mask.npy"
    np.save(mask, (np.arange(200) % 3 > 0).astype(np.float32))
    data = mask.read_bytes()
    mask.write_bytes(data[:20] + b"(" + data[21:])  # an unclosed bracket in the header's dict: a TokenError
    code, stdout, err = run_cli(capsys, "inpaint", src, "--mask", mask, "--out", tmp_path / "run", *TINY)
    assert_clean_error(code, stdout, err, "mask.npy", tmp_path, ["hf.wav", "mask.npy"])


def test_a_network_too_big_for_memory_is_a_clean_error(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "hf.wav")
    code, stdout, err = run_cli(capsys, "fit", src, "--out", tmp_path / "run", "--epochs", "1", "--width",
                                "10000000", "--layers", "2", "--quiet")  # a 10⁷ x 10⁷ weight: 400 TB
    assert code == 2 and stdout == "" and len(err) == 1 and "out of memory" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf.wav"]


SUITE_SCRIPT = """
import sys, numpy as np
from siren2 import Signal
from siren2.suite import SuiteSpec, run_suite

def tone(f, n=4000):
    return Signal(values=np.sin(2 * np.pi * f * np.arange(n))[:, None], grid=(n,), kind="audio", sample_rate=8000)

spec = SuiteSpec(name="kill", signals={"a.wav": lambda: tone(0.05), "b.wav": lambda: tone(0.2)},
                 models=["siren2"], seeds=[0, 1, 2], preset="paper_audio", epochs=int(sys.argv[2]),
                 settings={"epochs": int(sys.argv[2])}, model_options={"width": 16, "hidden_layers": 2})
records, _ = run_suite(spec, sys.argv[1])
print(len(records))
"""


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_suite_keeps_its_finished_records_and_resume_completes_it(tmp_path, sig):
    script = tmp_path / "suite.py"
    script.write_text(SUITE_SCRIPT)
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, str(script), str(runs), "300"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert _wait_for(lambda: runs.is_dir() and len(list(runs.glob("*.json"))) >= 2, timeout=300)
    proc.send_signal(sig)
    proc.communicate(timeout=120)
    finished = sorted(p.name for p in runs.glob("*.json"))
    assert 2 <= len(finished) < 6
    for p in runs.glob("*.json"):  # every record in place is whole
        assert json.loads(p.read_text())["complete"] is True
    done = subprocess.run([sys.executable, str(script), str(runs), "300"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "6", done.stderr
    assert len(list(runs.glob("*.json"))) == 6
    assert set(finished) <= {p.name for p in runs.glob("*.json")}


@pytest.mark.slow
def test_sigterm_during_compare_keeps_finished_fits_and_resume_completes(tmp_path):
    src = write_hf_wav(tmp_path / "hf.wav", n=2000)
    out = tmp_path / "cmp"
    argv = ["compare", src, "--models", "siren,siren2", "--seeds", "0,1", "--epochs", "400", "--width", "16",
            "--layers", "2", "--quiet", "--out", out]
    log = tmp_path / "stdout.txt"
    with open(log, "w") as stdout:
        proc = subprocess.Popen([sys.executable, "-m", "siren2", *map(str, argv)], cwd=tmp_path, stdout=stdout,
                                stderr=subprocess.PIPE, text=True)
        assert _wait_for(lambda: " seed 0:" in log.read_text(), timeout=300)  # the first fit has finished
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=300)
    assert "Traceback" not in err and proc.returncode == 0, err
    first = json.loads((out / "table.json").read_text())
    assert first["interrupted"] and 1 <= first["finished"] < 4
    done = subprocess.run([sys.executable, "-m", "siren2", *map(str, argv), "--resume"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    table = json.loads((out / "table.json").read_text())
    assert not table["interrupted"] and table["finished"] == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
