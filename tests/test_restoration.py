"""Restoration (siren2.restoration.corruptions, restoration, evaluation): corruptions hit their levels, the masked fit ignores missing samples,
restoration beats the corrupted input on simple generated signals, hold-out stopping, mask files.

Tiny networks (2 x 32) on 2000-sample clips and 32-64 pixel images; one torch thread (tiny matrices
run slower on two threads of a shared machine).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from helpers import paper_fit, plain
from siren2 import FitConfig, InputError, Signal, create_model, fit, predict
from siren2.metrics import psnr_paper, snr
from siren2.restoration.corruptions import (CorruptionSpec, add_noise, drop_gaps, drop_samples, load_mask, parse_gaps, segments,
                                silence_mask)
from siren2.restoration.evaluation import evaluate
from siren2.restoration.restorer import PROTOCOL_SAMPLES, restore, restore_windowed, split_holdout, window_starts

SMOOTH = dict(hidden_layers=2, width=32, omega_first=30.0)  # SIREN with a low first frequency: a smooth prior
FAST = paper_fit(epochs=300, lr=1e-3, seed=0)


pytestmark = pytest.mark.usefixtures("one_thread")


def tones(n=2000, sr=8000) -> Signal:
    t = np.arange(n) / sr
    x = 0.6 * np.sin(2 * np.pi * 150 * t) + 0.3 * np.sin(2 * np.pi * 320 * t + 1)
    return Signal(values=x[:, None], grid=(n,), kind="audio", sample_rate=sr, source="tones")


def waves(h=32, w=32, channels=1) -> Signal:
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    v = np.stack([0.6 * np.sin(2 * np.pi * (1.5 * xx + yy + c / 3)) * np.cos(2 * np.pi * yy)
                  for c in range(channels)], -1)
    return Signal(values=v.reshape(h * w, channels), grid=(h, w), kind="image", source="waves")


# ------------------------------------------------------------------------------------ corruptions


def test_noise_hits_the_requested_sigma_and_is_reproducible():
    clean = tones(n=50_000)
    c = add_noise(clean, std=0.1, seed=3)
    noise = c.signal.values.astype(np.float64) - clean.values
    assert abs(noise.std() - 0.1) < 0.002 and abs(noise.mean()) < 0.002
    assert c.info["measured_std"] == pytest.approx(noise.std(), rel=1e-4)
    assert c.mask.shape == (50_000,) and c.mask.all()
    assert np.array_equal(add_noise(clean, std=0.1, seed=3).signal.values, c.signal.values)
    assert not np.array_equal(add_noise(clean, std=0.1, seed=4).signal.values, c.signal.values)


def test_noise_hits_the_requested_snr():
    clean = tones(n=50_000)
    for target in (0.0, 10.0, 25.0):
        c = add_noise(clean, snr_db=target, seed=0)
        assert snr(clean.values, c.signal.values) == pytest.approx(target, abs=0.05)
        assert c.info["measured_snr_db"] == pytest.approx(snr(clean.values, c.signal.values), abs=1e-4)


@pytest.mark.parametrize("signal", [tones(), waves(20, 30, channels=3)], ids=["audio", "rgb-image"])
def test_missing_fraction_is_exact_and_only_missing_samples_change(signal):
    c = drop_samples(signal, 0.3, seed=1)
    assert (c.mask == 0).sum() == round(0.3 * signal.num_points)
    assert c.info["measured_fraction"] == pytest.approx(0.3, abs=1 / signal.num_points)
    missing = c.mask == 0
    assert np.all(c.signal.values[missing] == 0)  # every channel of a missing pixel
    assert np.array_equal(c.signal.values[~missing], signal.values[~missing])
    assert np.array_equal(drop_samples(signal, 0.3, seed=1).mask, c.mask)


def test_gaps_have_the_requested_count_and_length_and_never_touch():
    clean = tones(n=24_000, sr=8000)
    c = drop_gaps(clean, 20, 10, seed=2)  # 10 ms at 8 kHz = 80 samples
    starts, lengths = segments(c.mask == 0)
    assert len(starts) == 20 and np.all(lengths == 80)  # distinct runs: no two gaps merged
    assert starts[0] > 0 and starts[-1] + 80 < clean.num_points  # observed samples at both ends
    assert starts.tolist() == c.info["starts"] and c.info["length_samples"] == 80
    assert not np.array_equal(drop_gaps(clean, 20, 10, seed=3).mask, c.mask)
    with pytest.raises(InputError, match="do not fit"):
        drop_gaps(clean, 300, 10)
    with pytest.raises(InputError, match="audio"):
        drop_gaps(waves(), 2, 1)


def test_bad_levels_are_input_errors():
    for bad in (dict(std=0.0), dict(std=-1.0), dict(std=math.nan), dict(snr_db=math.inf)):
        with pytest.raises(InputError):
            add_noise(tones(), **bad)
    for fraction in (0.0, 1.0, 1.5, 1e-6):
        with pytest.raises(InputError, match="missing fraction"):
            drop_samples(tones(), fraction)
    assert parse_gaps("20x10ms") == (20, 10.0) and parse_gaps("3 x 2.5ms") == (3, 2.5)
    for text in ("20x10", "x10ms", "20*10ms", "auto"):
        with pytest.raises(InputError, match="COUNTxLENGTHms"):
            parse_gaps(text)


# ---------------------------------------------------------------------------------- masks, gaps


def test_silence_mask_finds_interior_zero_runs_only():
    x = tones().values[:, 0].copy()
    x[:100] = 0  # leading silence: real, kept
    x[500:550] = 0  # a dropout
    x[900:910] = 0  # too short
    x[-40:] = 0  # trailing silence: kept
    sig = Signal(values=x[:, None], grid=(x.size,), kind="audio", sample_rate=8000)
    starts, lengths = segments(silence_mask(sig, min_run=32) == 0)
    assert starts.tolist() == [500] and lengths.tolist() == [50]
    assert (silence_mask(sig, min_run=8) == 0).sum() == 60
    with pytest.raises(InputError, match="no digital silence"):
        silence_mask(tones())


def test_mask_files_audio_and_image(tmp_path):
    audio = tones()
    m = np.ones(audio.num_points)
    m[100:200] = 0
    sf.write(tmp_path / "m.wav", m, 8000, subtype="PCM_16")  # 1.0 is written as 32767/32768: nonzero
    np.save(tmp_path / "m.npy", m[:, None])
    for name in ("m.wav", "m.npy"):
        assert np.array_equal(load_mask(tmp_path / name, audio), m.astype(np.float32))
    img = waves(12, 20)
    pix = np.full((12, 20, 3), 255, np.uint8)
    pix[2:5, 3:9] = 0
    pix[7, 7] = (1, 0, 0)  # nonzero in one channel only: observed
    Image.fromarray(pix).save(tmp_path / "m.png")
    got = load_mask(tmp_path / "m.png", img).reshape(12, 20)
    assert got[7, 7] == 1 and got.sum() == 12 * 20 - 18 and np.all(got[2:5, 3:9] == 0)


@pytest.mark.parametrize("make, message", [
    (lambda p: np.save(p / "x.npy", np.ones(1999)), "mask has 1999 samples, the signal 2000"),
    (lambda p: np.save(p / "x.npy", np.zeros(2000)), "every sample missing"),
    (lambda p: np.save(p / "x.npy", np.ones(2000)), "no sample missing"),
    (lambda p: np.save(p / "x.npy", np.array(["a"] * 2000)), "cannot read mask"),
    (lambda p: (p / "x.npy").write_bytes(b"\x93NUMPY garbage"), "cannot read mask"),
    (lambda p: (p / "x.npy").write_bytes(b"RIFF....WAVEjunk"), "cannot read mask"),
    (lambda p: (p / "x.npy").write_bytes(b""), "empty"),
], ids=["short", "all-missing", "all-observed", "strings", "bad-npy", "bad-wav", "empty"])
def test_bad_audio_masks(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(InputError, match=message):
        load_mask(tmp_path / "x.npy", tones())


def test_bad_image_masks(tmp_path):
    img = waves(12, 20)
    Image.fromarray(np.full((20, 12), 255, np.uint8)).save(tmp_path / "t.png")  # transposed
    with pytest.raises(InputError, match=r"mask has 20x12 pixels \(HxW\), the signal 12x20"):
        load_mask(tmp_path / "t.png", img)
    (tmp_path / "junk.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(InputError, match="cannot read mask"):
        load_mask(tmp_path / "junk.png", img)
    with pytest.raises(InputError, match="missing, not a file"):
        load_mask(tmp_path / "absent.png", img)


# ------------------------------------------------------------------------------------ restoration


def test_masked_loss_ignores_what_missing_samples_hold():
    """Garbage or zeros where the mask is 0: the same fit, bit for bit (fit() itself and restore(),
    whose SIREN² reads ψ from the signal)."""
    clean = tones(n=1000)
    c = drop_samples(clean, 0.4, seed=0)
    garbage = c.signal.values.copy()
    garbage[c.mask == 0] = np.random.default_rng(9).uniform(-50, 50, size=(int((c.mask == 0).sum()), 1))
    dirty = c.signal.with_values(garbage)
    cfg = paper_fit(epochs=30, lr=1e-3, seed=0)
    outs = []
    for sig in (c.signal, dirty):
        model = create_model("siren", sig, seed=0, **SMOOTH)
        fit(model, sig, FitConfig(epochs=30, lr=1e-3, seed=0), mask=c.mask)
        outs.append(predict(model, sig.coords()))
    assert torch.equal(outs[0], outs[1])
    tiny = dict(hidden_layers=2, width=16)
    a = restore(c.signal, c.mask, "siren2", **plain(stop="holdout", **cfg, **tiny))
    b = restore(dirty, c.mask, "siren2", **plain(stop="holdout", **cfg, **tiny))
    assert np.array_equal(a.reconstruction.values, b.reconstruction.values)
    assert a.model.winner.psi == b.model.winner.psi


def test_denoising_beats_the_noisy_input():
    clean = tones()
    c = add_noise(clean, std=0.1, seed=0)
    before = psnr_paper(clean.values, c.signal.values)  # 20 dB
    run = restore(c.signal, None, "siren", **plain(**FAST, **SMOOTH, clean=clean))
    assert run.metrics["psnr_paper"] > before + 5
    rec = run.config["restoration"]
    assert (rec["rule"], rec["epochs_run"], rec["stopped_early"]) == ("fixed", 300, False)
    img = waves(64, 64)
    ci = add_noise(img, std=0.1, seed=0)
    run = restore(ci.signal, None, "siren", **plain(**paper_fit(epochs=100, lr=1e-3, seed=0), **dict(hidden_layers=2, width=16), clean=img))
    assert run.metrics["psnr_paper"] > psnr_paper(img.values, ci.signal.values) + 4


def test_inpainting_beats_the_zero_filled_input():
    clean = tones()
    c = drop_samples(clean, 0.3, seed=0)
    run = restore(c.signal, c.mask, "siren", **plain(**FAST, **SMOOTH, clean=clean, keep_observed=True))
    assert run.metrics["psnr_paper"] > psnr_paper(clean.values, c.signal.values) + 15
    observed = c.mask > 0
    assert np.array_equal(run.reconstruction.values[observed], c.signal.values[observed])  # kept as they were
    assert psnr_paper(clean.values, run.reconstruction.values) > run.metrics["psnr_paper"]
    img = waves()
    ci = drop_samples(img, 0.3, seed=0)
    run = restore(ci.signal, ci.mask, "siren", **plain(**paper_fit(epochs=100, lr=1e-3, seed=0), **dict(hidden_layers=2, width=32), clean=img))
    assert run.metrics["psnr_paper"] > psnr_paper(img.values, ci.signal.values) + 5


def test_window_starts_cover_the_signal_with_the_overlap():
    for n in (3001, 10_000, 169_344):
        s = window_starts(n, 2000, 256)
        assert s[0] == 0 and s[-1] == n - 2000 and all(0 < b - a <= 2000 - 256 for a, b in zip(s, s[1:]))
    assert window_starts(3000, 2000, 256) == [0]  # up to 1.5 windows: one fit of the whole


def test_windowed_restoration_beats_the_input_window_by_window():
    """Each window restored on its own at the protocol's sample step, cross-faded; observed samples kept;
    a window with nothing missing is the input."""
    clean = tones(6000)
    cfg = paper_fit(epochs=300, lr=1e-3, seed=0, patience=50)
    small = dict(overlap=256, stop="holdout", shrink=True, **cfg, hidden_layers=2, width=32)
    c = add_noise(clean, std=0.1, seed=0)
    r = restore_windowed(c.signal, None, "siren2", **plain(**small, window=2000))
    assert psnr_paper(clean.values, r.reconstruction.values) > psnr_paper(clean.values, c.signal.values) + 2  # +3.4
    rec = r.config["restoration"]
    assert rec["windows"]["count"] == 4 and [w["start"] for w in rec["per_window"]] == window_starts(6000, 2000, 256)
    assert rec["windows"]["extent"][1] == pytest.approx(1999 / (PROTOCOL_SAMPLES - 1))
    assert all(w["restoration"]["shrink"]["kind"] == "noise" for w in rec["per_window"])
    d = drop_samples(clean, 0.3, seed=0)
    mask = d.mask.copy()
    mask[4000:] = 1  # nothing missing in the last window
    damaged = d.signal.with_values(np.where(mask[:, None] > 0, clean.values, 0.0))
    r = restore_windowed(damaged, mask, "siren2", **plain(**small, keep_observed=True, window=2000))
    observed = mask > 0
    assert np.array_equal(r.reconstruction.values[observed], damaged.values[observed])
    assert psnr_paper(clean.values, r.reconstruction.values) > psnr_paper(clean.values, damaged.values) + 10
    assert [w["restoration"].get("skipped") for w in r.config["restoration"]["per_window"]] == [None] * 3 + [
        "nothing missing in this window"]


def test_gaps_stop_on_scattered_samples_and_are_judged_on_gap_shaped_runs():
    """With gaps, the fits stop on scattered held-out samples and are chosen, scaled and scored on
    held-out runs as long as the gaps; the recorded error is the runs' (what the gain estimate reads)."""
    clean = tones()
    c = drop_gaps(clean, 8, 2, seed=0)  # 16-sample gaps
    cfg = paper_fit(epochs=400, lr=1e-3, seed=0, patience=50)
    run = restore(c.signal, c.mask, "siren", **plain(stop="holdout", **cfg, **SMOOTH, clean=clean, shrink=True))
    rec = run.config["restoration"]
    assert rec["holdout_run"] == 16 and rec["stopping_samples"] > 0
    train, held = split_holdout(c.mask, 0.1, seed=0, values=c.signal.values * c.mask[:, None])  # level-matched
    err = float(((predict(run.model, c.signal.coords()[held]).numpy() - c.signal.values[held]) ** 2).mean())
    assert err == pytest.approx(rec["best_holdout_mse"], rel=1e-5) and rec["holdout_samples"] == held.size
    assert run.metrics["psnr_paper"] > psnr_paper(clean.values, c.signal.values) + 6  # 32.7 dB against 19.0


def test_holdout_stops_records_and_returns_the_best_held_out_state():
    clean = tones()
    c = add_noise(clean, std=0.1, seed=0)
    cfg = paper_fit(epochs=3000, lr=1e-3, seed=0, patience=30)
    run = restore(c.signal, None, "siren", **plain(stop="holdout", **cfg, **SMOOTH, clean=clean))
    rec = run.config["restoration"]
    assert rec["rule"] == "holdout" and rec["stopped_early"] and rec["epochs_run"] < 3000
    assert rec["epochs_run"] == rec["best_epoch"] + 1 + 30 and rec["holdout_samples"] == 200
    assert run.spec.fit.patience == 30
    _, held = split_holdout(np.ones(2000, np.float32), 0.1, seed=0)
    err = float(((predict(run.model, c.signal.coords()[held]).numpy() - c.signal.values[held]) ** 2).mean())
    assert err == pytest.approx(rec["best_holdout_mse"], rel=1e-5)
    gain = run.metrics["psnr_paper"] - psnr_paper(clean.values, c.signal.values)
    assert gain > 5
    # the gain estimated from the held-out error alone (σ̂ from the spectrum's floor): positive, pessimistic
    assert rec["noise_std_estimate"] == pytest.approx(0.1, rel=0.1)
    assert gain / 2 < rec["estimated_gain_db"] < gain + 1
    # without a clean reference the scores are against the observed samples
    blind = restore(c.signal, None, "siren", **plain(stop="holdout", **cfg, **SMOOTH))
    assert set(blind.metrics) >= {"observed_psnr_paper", "residual_std", "holdout_psnr_paper"}
    assert blind.metrics["residual_std"] == pytest.approx(0.1, rel=0.15)  # the noise it removed


def test_estimated_gain_of_missing_samples_compares_the_fit_with_zeros():
    from siren2.restoration.restorer import estimated_gain

    clean = tones()
    c = drop_samples(clean, 0.3, seed=0)
    power = float(np.mean(clean.values[c.mask > 0].astype(np.float64) ** 2))
    assert estimated_gain(c.signal, c.mask, power / 100)["estimated_gain_db"] == pytest.approx(20, abs=1e-6)
    assert estimated_gain(c.signal, c.mask, power * 2)["estimated_gain_db"] < 0  # worse than zeros
    noisy = add_noise(clean, std=0.1, seed=0).signal
    full = np.ones(clean.num_points, np.float32)
    est = estimated_gain(noisy, full, 0.02)  # h = error² + σ²: error² ≈ σ² here, so about 0 dB
    assert est["noise_std_estimate"] == pytest.approx(0.1, rel=0.1) and abs(est["estimated_gain_db"]) < 1
    assert estimated_gain(noisy, full, 0.005)["estimated_gain_db"] is None  # h below σ̂²: no estimate


def test_shrink_weighs_the_fit_against_the_input_by_the_held_out_error():
    """Noise: α = σ̂²/h puts a poor fit near the input and a good fit near itself, and the blend errs
    less than either. Missing samples: β scales the fit where missing; a fit of the wrong sign gets
    β = 0 (the zero fill), a right one β ≈ 1; observed samples are kept."""
    from siren2.restoration.restorer import shrink

    clean = tones()
    noisy = add_noise(clean, std=0.1, seed=0).signal
    x, y = clean.values.astype(np.float64), noisy.values.astype(np.float64)
    full = np.ones(clean.num_points, np.float32)
    _, held = split_holdout(full, 0.1, seed=0)
    rng = np.random.default_rng(1)
    for estimate, expect in ((np.zeros_like(x), (0.0, 0.2)),  # silence: worse than the input
                        (x + 0.05 * rng.standard_normal(x.shape), (0.5, 1.0))):  # half the noise (α 0.8 in expectation)
        h = float(((estimate[held] - y[held]) ** 2).mean())
        out, rec = shrink(noisy, full, estimate, held, h)
        assert rec["kind"] == "noise" and expect[0] <= rec["alpha"] <= expect[1]
        assert rec["noise_std"] == pytest.approx(0.1, rel=0.1) and rec["noise_std_source"] == "estimated: min(white floor, STFT floor)"
        assert not rec["noise_estimate_exceeds_holdout_error"]
        assert psnr_paper(x, out) > max(psnr_paper(x, estimate), psnr_paper(x, y))
        out, rec = shrink(noisy, full, estimate, held, h, noise_std=0.1)  # σ known: α = σ²/h exactly
        assert rec["noise_std_source"] == "given" and rec["alpha"] == pytest.approx(min(1.0, 0.01 / h))
    c = drop_samples(clean, 0.3, seed=0)
    _, held = split_holdout(c.mask, 0.1, seed=0)
    observed = c.mask > 0
    for estimate, beta in ((x, 1.0), (-x, 0.0), (0.5 * x, 1.0)):  # β is clipped to [0, 1]
        out, rec = shrink(c.signal, c.mask, estimate, held, 0.0)
        assert rec["kind"] == "missing" and rec["beta"] == pytest.approx(beta, abs=1e-6)
        assert np.array_equal(out[observed], c.signal.values[observed])
        assert np.allclose(out[~observed], beta * estimate[~observed], atol=1e-6)
    assert shrink(c.signal, c.mask, -x, held, 0.0)[1]["estimated_gain_db"] == pytest.approx(0.0, abs=1e-9)


def test_level_cap_scales_only_fills_louder_than_their_surroundings():
    """Each run of missing samples is scaled, per channel, to at most the RMS of the observed samples
    within k run lengths either side; quieter fills and observed samples are left as they are."""
    from siren2.restoration.restorer import level_cap

    n = 400
    y = np.stack([np.full(n, 0.1), np.full(n, 0.5)], axis=1)  # two channels at levels 0.1 and 0.5
    mask = np.ones(n, np.float32)
    mask[100:120] = mask[300:310] = 0
    y[mask == 0] = 0
    fill = np.zeros_like(y)
    fill[100:120] = 0.4  # louder than channel 0's 0.1 around it, quieter than channel 1's 0.5
    fill[300:310] = 0.05  # quieter than both
    out, capped = level_cap(y, mask, fill, k=1)
    assert capped == 1
    assert np.allclose(out[100:120, 0], 0.1) and np.allclose(out[100:120, 1], 0.4)
    assert np.allclose(out[300:310], 0.05) and np.array_equal(out[mask > 0], fill[mask > 0])
    y[80:100] = y[120:140] = 0.0  # silence within one gap length: the fill is silenced too, not beyond k
    assert np.allclose(level_cap(y, mask, fill, k=1)[0][100:120], 0.0)
    assert np.allclose(level_cap(y, mask, fill, k=2)[0][100:120, 0], 0.1 / math.sqrt(2))
    one = np.full((100, 1), 0.1)
    holes = np.ones(100, np.float32)
    holes[60:70] = 0
    one[70:80], one[60:70] = 0.4, 0.0  # louder on one side: the RMS of both sides
    assert np.allclose(level_cap(one, holes, np.full((100, 1), 0.5), k=1)[0][60:70], math.sqrt((0.1**2 + 0.4**2) / 2))


def test_shrink_caps_gap_fills_but_not_scattered_holes():
    """Gaps (runs of missing samples): a fill louder than the clip around the gap is brought down to its
    level, and the record says so; scattered missing samples keep β·f."""
    from siren2.restoration.restorer import shrink

    clean = tones()
    x = clean.values.astype(np.float64)
    loud = 3 * x  # β is clipped to 1 by a held-out run where 3x overshoots: β ≈ 1/3
    g = drop_gaps(clean, 4, 10.0, seed=0)
    _, held = split_holdout(g.mask, 0.1, seed=0)
    out, rec = shrink(g.signal, g.mask, loud + np.where(g.mask > 0, 0.0, 5.0)[:, None], held, 0.0)
    assert rec["level_cap"]["gaps_capped"] == 4
    missing = g.mask == 0
    assert np.sqrt(np.mean(out[missing] ** 2)) <= np.sqrt(np.mean(x ** 2)) * 1.5
    c = drop_samples(clean, 0.3, seed=0)
    _, held = split_holdout(c.mask, 0.1, seed=0)
    assert "level_cap" not in shrink(c.signal, c.mask, x, held, 0.0)[1]


def test_shrink_returns_the_input_when_the_fill_gains_on_no_held_out_run_it_was_not_scaled_on():
    """A fill right on one held-out run and unrelated noise on the others: fitted on all the runs, β is
    positive, but each run scaled by the β of the others gains nothing over zeros, so the damaged input
    comes back as it is (β 0, estimated gain 0); a fill right on every run is kept."""
    from siren2.restoration.restorer import held_out_scales, shrink

    clean = tones()
    x = clean.values.astype(np.float64)
    g = drop_gaps(clean, 4, 10.0, seed=0)
    _, held = split_holdout(g.mask, 0.1, seed=0)
    group = np.concatenate([[0], np.cumsum(np.diff(held) > 1)])
    assert group[-1] >= 2  # several held-out runs
    fill = 0.5 * np.random.default_rng(3).standard_normal(x.shape) * np.sqrt(np.mean(x ** 2))
    first = held[group == 0]
    fill[first] = x[first]
    beta, unseen = held_out_scales(fill[held], x[held], held)
    assert beta > 0 and np.all(unseen[group == 0] < beta)
    out, rec = shrink(g.signal, g.mask, fill, held, 0.0)
    assert rec["beta_fitted"] == pytest.approx(beta) and rec["beta"] == 0.0 and rec["estimated_gain_db"] == 0.0
    assert np.array_equal(out, g.signal.values)
    out, rec = shrink(g.signal, g.mask, x, held, 0.0)
    assert rec["beta"] == pytest.approx(1.0) and rec["estimated_gain_db"] > 20
    assert psnr_paper(x, out) > psnr_paper(x, g.signal.values) + 20


def test_shrink_steps_past_a_fit_that_took_in_part_of_the_noise():
    """A fit that took in half the noise of the samples it trained on (f = x + n/2 there) and errs
    little on the held-out ones: R ≈ h/4 reads a = 1/2, and α_t ≈ 2 gives y + 2·(f − y) ≈ x back,
    where the held-out samples' α on every sample would keep over half the noise."""
    from siren2.restoration.restorer import shrink

    clean = tones()
    c = add_noise(clean, std=0.1, seed=0)
    x, y = clean.values.astype(np.float64), c.signal.values.astype(np.float64)
    full = np.ones(clean.num_points, np.float32)
    train, held = split_holdout(full, 0.1, seed=0)
    trained = train[:, None] > 0
    fit = np.where(trained, x + 0.5 * (y - x), x + 0.02 * np.random.default_rng(1).standard_normal(x.shape))
    h = float(((fit[held] - y[held]) ** 2).mean())
    out, rec = shrink(c.signal, full, fit, held, h, noise_std=0.1)
    # within 3 standard errors of h (200 held-out samples: 10%), on which α_t depends as h^(-1/2)
    assert rec["noise_absorbed"] == pytest.approx(0.5, abs=0.08) and rec["alpha_trained"] == pytest.approx(2, rel=0.15)
    assert rec["alpha"] == pytest.approx(min(1.0, 0.01 / h))
    everywhere = y + rec["alpha"] * (fit - y)  # α on every sample: the rule before α_t
    assert psnr_paper(x, out) > max(psnr_paper(x, fit), psnr_paper(x, everywhere)) + 6
    assert np.allclose(out[~trained[:, 0]], everywhere[~trained[:, 0]], atol=1e-6)


def test_shrink_returns_the_input_when_the_noise_estimate_exceeds_the_held_out_error():
    """A white-noise texture reads as noise to both of σ̂'s estimates (the wavelet MAD and the patches'
    smallest eigenvalue): for a fit that predicts half of it, σ̂² exceeds the held-out error h (h ≥ σ²
    must hold), so σ cannot be told from the image and the input comes back (α = 0)."""
    from siren2.restoration.restorer import shrink

    texture = 0.3 * np.random.default_rng(0).standard_normal((64, 64))
    clean = Signal(values=texture.reshape(-1, 1), grid=(64, 64), kind="image", source="white")
    noisy = add_noise(clean, std=0.05, seed=0).signal
    full = np.ones(clean.num_points, np.float32)
    _, held = split_holdout(full, 0.1, seed=0)
    half = 0.5 * clean.values
    h = float(((noisy.values - half)[held] ** 2).mean())
    out, rec = shrink(noisy, full, half, held, h)
    assert rec["noise_estimate_exceeds_holdout_error"] and rec["noise_std"] ** 2 > h
    assert rec["alpha"] == 0 and np.array_equal(out, noisy.values) and rec["estimated_gain_db"] == 0
    _, rec = shrink(noisy, full, half, held, h, noise_std=0.05)  # a known σ is trusted
    assert not rec["noise_estimate_exceeds_holdout_error"] and rec["alpha"] == pytest.approx(0.0025 / h)


def test_restore_with_shrinkage_records_it_and_keeps_the_fit_in_the_model():
    clean = tones()
    c = add_noise(clean, std=0.1, seed=0)
    cfg = paper_fit(epochs=60, lr=1e-3, seed=0, patience=20)
    with pytest.raises(InputError, match="hold-out"):
        restore(c.signal, None, "siren", **plain(**cfg, **SMOOTH, shrink=True))
    run = restore(c.signal, None, "siren", **plain(stop="holdout", **cfg, **SMOOTH, clean=clean, shrink=True))
    rec = run.config["restoration"]["shrink"]
    fit = predict(run.model, c.signal.coords()).numpy()
    train, _ = split_holdout(np.ones(clean.num_points, np.float32), 0.1, seed=0)
    a = np.where(train[:, None] > 0, rec["alpha_trained"], rec["alpha"])  # the samples it trained on, the held-out
    assert 0 < rec["alpha"] <= 1 and rec["alpha_trained"] > 0
    assert np.allclose(run.reconstruction.values, a * fit + (1 - a) * c.signal.values, atol=1e-5)
    assert run.metrics["psnr_paper"] == pytest.approx(psnr_paper(clean.values, run.reconstruction.values))
    assert run.metrics["fit_psnr_paper"] == pytest.approx(psnr_paper(clean.values, fit), abs=1e-4)


def test_capacity_picks_the_widest_network_within_the_parameter_budget():
    from siren2 import create_model, num_parameters
    from siren2.restoration.restorer import capacity_width

    clean = tones()
    for model, observed in (("siren2", 2000), ("siren", 1400), ("wire", 2000)):
        w = capacity_width(model, clean, observed, hidden_layers=2)
        count = [num_parameters(create_model(model, in_dim=1, out_dim=1, width=v, hidden_layers=2,
                                             **({"s0": 0, "s1": 0} if model == "siren2" else {}))) for v in (w, w + 1)]
        assert count[0] <= observed < count[1], model
    assert capacity_width("siren", clean, 10**9, hidden_layers=2) == 222  # never above the preset's width
    c = drop_samples(clean, 0.3, seed=0)
    run = restore(c.signal, c.mask, "siren", **plain(**paper_fit(epochs=5, seed=0), capacity=1.0, **{"hidden_layers": 2}))
    cap = run.config["restoration"]["capacity"]
    assert cap["rule"] == "auto" and cap["width"] == capacity_width("siren", clean, 1400, hidden_layers=2)
    assert 0.9 < cap["params_per_observed_sample"] <= 1.0
    given = restore(c.signal, c.mask, "siren", **plain(**paper_fit(epochs=5, seed=0), capacity=1.0, **SMOOTH)).config["restoration"]["capacity"]
    assert given["rule"] == "given" and given["width"] == 32


def test_bandwidth_search_keeps_the_lowest_held_out_error():
    clean = tones()
    c = add_noise(clean, std=0.1, seed=0)
    cfg = paper_fit(epochs=60, lr=1e-3, seed=0, patience=20)
    run = restore(c.signal, None, "siren2", **plain(stop="holdout", **cfg, bandwidths=(0.25, 1.0), **{"width": 16, "hidden_layers": 2}))
    search = run.config["restoration"]["bandwidth_search"]
    errors = {t["factor"]: t["best_holdout_mse"] for t in search["tried"]}
    assert set(errors) == {0.25, 1.0} and search["chosen_factor"] == min(errors, key=errors.get)
    assert run.config["restoration"]["best_holdout_mse"] == errors[search["chosen_factor"]]
    s0 = {t["factor"]: t["s0"] for t in search["tried"]}
    assert s0[0.25] == pytest.approx(s0[1.0] / 4) and s0[1.0] == pytest.approx(search["rule_s0"])
    assert run.config["model"]["winner"]["s0"] == pytest.approx(s0[search["chosen_factor"]])
    with pytest.raises(InputError, match="hold-out"):
        restore(c.signal, None, "siren2", **plain(stop="fixed", **cfg, bandwidths=(0.5, 1.0)))
    stop_second = [0]

    def ctrl_c(epoch, model, loss):  # Ctrl-C in the second candidate's fit
        stop_second[0] += epoch == 0
        if stop_second[0] == 2:
            raise KeyboardInterrupt
        return False

    cut = restore(c.signal, None, "siren2", callbacks=[ctrl_c],
                  **plain(stop="holdout", **cfg, bandwidths=(0.25, 1.0), width=16, hidden_layers=2))
    assert cut.result.interrupted and len(cut.config["restoration"]["bandwidth_search"]["tried"]) == 2
    one = restore(c.signal, None, "siren", **plain(stop="holdout", **cfg, bandwidths=(0.25, 1.0), **SMOOTH))
    assert "bandwidth_search" not in one.config["restoration"]  # not a WINNER model: one fit, no search


def test_split_holdout_leaves_out_runs_as_long_as_the_gaps():
    """Gaps: the held-out samples are non-touching runs of the gaps' length, on observed samples only;
    scattered holes (and none) keep single scattered samples."""
    c = drop_gaps(tones(n=8000), 6, 10, seed=1)  # 10 ms at 8 kHz = 80 samples
    train, held = split_holdout(c.mask, 0.1, seed=0)
    flags = np.zeros(c.mask.size, bool)
    flags[held] = True
    _, lengths = segments(flags)
    assert np.all(lengths == 80) and held.size >= 0.1 * c.mask.sum() and np.all(c.mask[held] == 1)
    assert np.all(train[held] == 0) and train.sum() == c.mask.sum() - held.size
    assert not np.array_equal(split_holdout(c.mask, 0.1, seed=1)[1], held)
    _, lengths = segments(np.isin(np.arange(8000), split_holdout(drop_samples(tones(n=8000), 0.3, seed=0).mask, 0.1)[1]))
    assert np.median(lengths) == 1


def test_split_holdout_level_matches_the_runs_to_the_gaps_surroundings():
    """With the signal's values, the held-out runs sit where the observed samples around them are as
    loud as around the gaps: gaps in a quiet half get held-out runs in the quiet half (random runs
    fall mostly in the loud one, three quarters of the clip); runs keep the gaps' length, observed
    samples only, non-touching, and the split stays a function of the seed."""
    n, length = 8000, 80
    x = np.sin(2 * np.pi * 0.01 * np.arange(n))
    x[6000:] *= 1e-3  # the last quarter is near-silent
    mask = np.ones(n, np.float32)
    for a in (6100, 6500, 6900, 7300, 7700):
        mask[a:a + length] = 0
    values = (x * mask)[:, None]
    train, held = split_holdout(mask, 0.1, seed=0, run=length, values=values)
    flags = np.zeros(n, bool)
    flags[held] = True
    starts, lengths = segments(flags)
    assert np.all(lengths == length) and np.all(np.diff(starts) > length) and np.all(mask[held] == 1)
    assert held.size >= 0.1 * mask.sum() and np.all(train[held] == 0)
    assert np.all(held >= 6000 - length)  # all in the quiet quarter (its edge's surroundings reach into it)
    _, anywhere = split_holdout(mask, 0.1, seed=0, run=length)
    assert np.mean(anywhere >= 6000) < 0.5
    assert np.array_equal(split_holdout(mask, 0.1, seed=0, run=length, values=values)[1], held)


def test_split_holdout_takes_observed_samples_only():
    mask = np.zeros(1000, np.float32)
    mask[::2] = 1
    train, held = split_holdout(mask, 0.1, seed=5)
    assert held.size == 50 and np.all(mask[held] == 1) and np.all(train[held] == 0)
    assert train.sum() == 450 and np.array_equal(split_holdout(mask, 0.1, seed=5)[1], held)
    with pytest.raises(InputError, match="hold-out fraction"):
        split_holdout(mask, 1.0)
    with pytest.raises(InputError, match="stopping rule"):
        restore(tones(), None, "siren", **plain(stop="never"))


def test_evaluate_scores_models_seeds_and_the_floor():
    clean = tones(n=1000)
    ev = evaluate(clean, CorruptionSpec("missing", 0.3), ["siren"], [0, 1], **plain(**SMOOTH, **dict(epochs=200, lr=1e-3)))
    assert list(ev.scores) == ["corrupted input", "siren"]
    floor = [psnr_paper(clean.values, drop_samples(clean, 0.3, seed=s).signal.values) for s in (0, 1)]
    assert [r["psnr_paper"] for r in ev.scores["corrupted input"]] == pytest.approx(floor)
    psnrs = [r["psnr_paper"] for r in ev.scores["siren"]]
    stats = ev.summary()["siren"]["psnr_paper"]
    assert stats["mean"] == pytest.approx(np.mean(psnrs)) and stats["std"] == pytest.approx(np.std(psnrs, ddof=1))
    assert min(psnrs) > max(floor) + 10
    table = ev.table()
    assert "| corrupted input |" in table and "| siren |" in table and "filled_psnr_paper" in table
    assert "the paper's PSNR" in table and "fixed budget of 200 epochs" in table and "ddof=1" in table
    assert ev.to_json()["summary"]["siren"]["psnr_paper"]["values"] == pytest.approx(psnrs)
