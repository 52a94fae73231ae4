"""siren2.codec and ``siren2 compress`` / ``decompress``: round trips, determinism, the rate kept, bad
containers refused. Tiny networks and budgets on generated signals."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest
import soundfile as sf

from helpers import run_cli, write_hf_wav, write_rgb_png
from siren2 import InputError, Signal, compress, decompress, load_signal
from siren2.codec import MAGIC, encode, rate_bits, read_container
from siren2.metrics import psnr_paper
from siren2.models import list_models

pytest.importorskip("constriction", reason="the codec needs constriction (pip install 'siren2[codec]')")

FAST = dict(epochs=60, hidden_layers=2)


def tones(n=2000, sr=8000) -> Signal:
    t = np.arange(n) / sr
    x = 0.6 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 1250 * t + 1)
    return Signal(values=x[:, None], grid=(n,), kind="audio", sample_rate=sr, subtype="PCM_16", source="tones")


@pytest.fixture(scope="module")
def encoded():
    sig = tones()
    return sig, encode(sig, bitrate=48, **FAST)


def test_a_round_trip_keeps_the_grid_the_rate_and_what_the_record_says(encoded):
    sig, e = encoded
    assert len(e.data) * 8 <= rate_bits(sig, bitrate=48)  # within the rate
    back = decompress(e.data)
    assert back.kind == "audio" and back.grid == sig.grid and back.sample_rate == 8000
    assert np.array_equal(back.values, e.reconstruction.values)
    score = psnr_paper(sig.values, back.values)
    assert score == pytest.approx(e.record["metrics"]["psnr_paper"], abs=1e-9)
    assert score > psnr_paper(sig.values, np.zeros_like(sig.values)) + 10  # it holds the signal, not silence
    r = e.record
    assert r["bytes"] == len(e.data) and r["kbps"] == pytest.approx(8 * len(e.data) / 0.25 / 1000)
    assert r["bits_per_sample"] == pytest.approx(8 * len(e.data) / 2000)
    assert r["bit_depths"]["hidden.0.linear.weight"] > r["bit_depths"]["head.weight"]  # W⁰ is the sensitive one


def test_the_same_file_decodes_to_the_same_values_and_encodes_to_the_same_bytes(encoded):
    sig, e = encoded
    assert np.array_equal(decompress(e.data).values, decompress(e.data).values)
    assert encode(sig, bitrate=48, **FAST).data == e.data  # deterministic under the seed, on one machine
    assert encode(sig, bitrate=48, seed=1, **FAST).data != e.data


def test_the_network_is_continuous_decode_at_another_rate(encoded):
    sig, e = encoded
    twice = decompress(e.data, sample_rate=16000)
    assert twice.sample_rate == 16000 and twice.grid == (4000,)
    finer = decompress(e.data, sample_rate=15_996)  # 3,999 samples: a grid holding the 2,000 of the original
    assert finer.grid == (3999,)
    np.testing.assert_allclose(finer.values[::2], e.reconstruction.values, atol=1e-4)


@pytest.mark.parametrize("damage", ["truncated", "flipped", "foreign", "version", "empty"])
def test_a_damaged_or_foreign_container_is_one_inputerror(encoded, damage):
    _, e = encoded
    data = bytearray(e.data)
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "flipped":
        data[len(data) // 2] ^= 0x10
    elif damage == "foreign":
        data = bytearray(b"RIFF" + bytes(100))
    elif damage == "version":
        data[4] = 99
        body = bytes(data[:-4])
        data = bytearray(body + struct.pack("<I", zlib.crc32(body)))
    else:
        data = bytearray()
    with pytest.raises(InputError) as bad:
        decompress(bytes(data), name="x.s2")
    message = str(bad.value)
    assert message.startswith("x.s2:") and "\n" not in message
    assert ("version 99" in message) if damage == "version" else True


def test_the_container_starts_with_its_magic_and_names_what_it_holds(encoded):
    _, e = encoded
    header, table, steps, payload = read_container(e.data)
    assert e.data[:4] == MAGIC and header["kind"] == "audio" and header["model"] == "siren2"
    assert header["config"]["hidden_layers"] == 2 and len(table) == len(steps) == 2 * 3 and len(payload) % 4 == 0


def test_a_rate_too_low_names_the_lowest_that_works_and_one_too_high_says_so():
    sig = tones()
    with pytest.raises(InputError, match="lowest rate that works is about"):
        encode(sig, bitrate=1, **FAST)
    with pytest.raises(InputError, match="--bitrate is for audio"):
        encode(Signal(values=np.zeros((64, 1)), grid=(8, 8), kind="image"), bitrate=64)
    with pytest.raises(InputError, match="exactly one rate"):
        encode(sig, bitrate=48, size=1000, **FAST)
    big = encode(sig, size=10**6, **FAST)  # far more than the preset's network can use
    assert len(big.data) < 10**6 and big.record["notes"]


def test_an_image_at_a_bpp_and_a_target_psnr():
    yy, xx = np.mgrid[0:24, 0:24] / 24
    img = Signal(values=(0.6 * np.sin(2 * np.pi * (xx + yy))).reshape(-1, 1), grid=(24, 24), kind="image")
    e = encode(img, bpp=6, epochs=100, hidden_layers=2)
    assert len(e.data) * 8 <= 6 * 24 * 24 and e.record["bpp"] <= 6 and "ssim" in e.record["metrics"]
    q = encode(tones(), target_psnr=20, **FAST)
    assert q.record["metrics"]["psnr_paper"] >= 20 or q.record["notes"]


def test_an_rgb_image_round_trips_and_renders_at_another_size():
    yy, xx = np.mgrid[0:16, 0:16] / 16
    rgb = np.stack([np.sin(2 * np.pi * xx), np.cos(2 * np.pi * yy), np.sin(2 * np.pi * (xx - yy))], -1) * 0.5
    img = Signal(values=rgb.reshape(-1, 3), grid=(16, 16), kind="image", source="rgb")
    e = encode(img, size=600, epochs=60, hidden_layers=2)
    back = decompress(e.data)
    assert len(e.data) <= 600 and back.channels == 3 and back.grid == (16, 16)
    assert psnr_paper(img.values, back.values) == pytest.approx(e.record["metrics"]["psnr_paper"], abs=1e-9)
    big = decompress(e.data, size=(31, 31))  # the 16 x 16 grid's points and the midpoints between them
    assert big.grid == (31, 31) and big.channels == 3
    np.testing.assert_allclose(big.values.reshape(31, 31, 3)[::2, ::2].reshape(-1, 3), back.values, atol=1e-4)
    with pytest.raises(InputError, match="needs 2 sizes"):
        decompress(e.data, size=(4, 4, 4))


@pytest.mark.parametrize("model", list_models())
def test_every_registered_model_round_trips(model):
    sig = tones(n=600)
    e = encode(sig, bitrate=48, model=model, epochs=20, hidden_layers=2)
    header, *_ = read_container(e.data)
    assert header["model"] == model and len(e.data) * 8 <= rate_bits(sig, bitrate=48)
    assert psnr_paper(sig.values, decompress(e.data).values) == pytest.approx(e.record["metrics"]["psnr_paper"],
                                                                              abs=1e-9)


def test_cli_compress_and_decompress_write_their_files_and_refuse_bad_input(tmp_path, capsys):
    src = write_hf_wav(tmp_path / "hf.wav", n=2000)
    out = tmp_path / "hf.s2"
    code, stdout, err = run_cli(capsys, "compress", src, "--out", out, "--bitrate", "96", "--epochs", "40",
                                "--layers", "2", "--quiet")
    assert code == 0, err
    rec = json.loads((tmp_path / "hf.s2.json").read_text())
    assert rec["bytes"] == out.stat().st_size and rec["bytes"] * 8 <= 96_000 * 2000 / 16_000
    assert "kbps" in stdout and "psnr_paper" in stdout
    code, stdout, err = run_cli(capsys, "decompress", out, "--out", tmp_path / "back.wav")
    assert code == 0, err
    info = sf.info(str(tmp_path / "back.wav"))
    assert info.frames == 2000 and info.samplerate == 16_000
    assert psnr_paper(load_signal(src).values, load_signal(tmp_path / "back.wav").values) == pytest.approx(
        rec["metrics"]["psnr_paper"], abs=0.5)  # the WAV's 16 bits round it
    bad = tmp_path / "bad.s2"
    bad.write_bytes(out.read_bytes()[:-9])
    code, _, err = run_cli(capsys, "decompress", bad, "--out", tmp_path / "no.wav")
    assert code == 2 and len(err) == 1 and "bad.s2" in err[0] and not (tmp_path / "no.wav").exists()
    code, _, err = run_cli(capsys, "compress", src, "--out", tmp_path / "low.s2", "--bitrate", "0.5")
    assert code == 2 and len(err) == 1 and "lowest rate" in err[0] and not (tmp_path / "low.s2").exists()
    png = write_rgb_png(tmp_path / "c.png", 12, 12)
    code, _, err = run_cli(capsys, "compress", png, "--out", tmp_path / "c.s2", "--bitrate", "64")
    assert code == 2 and len(err) == 1 and "--bitrate is for audio" in err[0]
