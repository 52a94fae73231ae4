import math

import numpy as np
import pytest
import torch

from siren2 import Signal, create_model, noise_scales, spectral_centroid, winner_
from siren2.models import build_siren, siren_init_, SirenConfig
from siren2.winner import (AUTO_LINE, AUTO_LINES, VALLEY_S1, auto_scales, axis_lines, oversampled, resolve_scales,
                           target_spectra, valley)


def tone(f, n=4000, phase=0.3):
    assert abs(f * n - round(f * n)) < 1e-9, "keep tones on exact FFT bins (no leakage)"
    return np.sin(2 * np.pi * f * np.arange(n) + phase)[:, None]


@pytest.mark.parametrize("f", [0.05, 0.125, 0.3, 0.45])
def test_centroid_of_pure_tone_is_twice_its_frequency(f):
    # a tone at f cycles/sample on an exact bin sits at ψ = 2f (Nyquist = 1)
    assert spectral_centroid(tone(f)) == pytest.approx(2 * f, abs=2e-3)


def test_centroid_multichannel_divides_by_channels():
    two = np.concatenate([tone(0.1), tone(0.3)], axis=1)
    # ψ = 2·mean_c(centroid_c)/C, as the reference code
    assert spectral_centroid(two) == pytest.approx(2 * 0.2 / 2, abs=2e-3)


def test_centroid_2d_runs_along_rows_and_flattened_differs():
    h, w = 32, 64
    rows = np.sin(2 * np.pi * 0.25 * np.arange(w))[None, :].repeat(h, 0)  # 0.25 cycles/px along a row
    values = rows.reshape(-1, 1)
    assert spectral_centroid(values, (h, w)) == pytest.approx(0.5, abs=1e-3)
    # each row constant (random level): per row all energy is DC (ψ = 0); flattened, the row steps show
    img = np.random.default_rng(0).uniform(0.1, 1, (h, 1)).repeat(w, 1).reshape(-1, 1)
    assert spectral_centroid(img, (h, w)) == pytest.approx(0.0, abs=1e-9)
    assert spectral_centroid(img) > 0.05


def test_centroid_3d_and_constant():
    d, h, w = 4, 8, 16
    vol = np.sin(2 * np.pi * 0.125 * np.arange(w))[None, None, :].repeat(h, 1).repeat(d, 0)
    assert spectral_centroid(vol.reshape(-1, 1), (d, h, w)) == pytest.approx(0.25, abs=1e-3)
    assert spectral_centroid(np.full((100, 1), 0.3) * 0) == 0.0


def test_rules_match_the_reference_values():
    s0, s1 = noise_scales(0.726, in_dim=1, channels=1)
    assert s0 == pytest.approx(3478, abs=1) and s1 == pytest.approx(2.18, abs=0.005)
    s0, s1 = noise_scales(0.312, in_dim=2, channels=1)
    assert s0 == pytest.approx(39.5, abs=0.1) and s1 == pytest.approx(0.125, abs=0.001)
    # named variants differ where they should
    assert noise_scales(0.2, 1, 1, "text")[0] < noise_scales(0.2, 1, 1, "code")[0]
    assert noise_scales(0.3, 2, 3, "sqrtc")[1] == pytest.approx(0.4 * 0.3 / math.sqrt(3))
    with pytest.raises(ValueError, match="3-D"):
        noise_scales(0.3, 3, 1)


def test_siren_init_bounds():
    torch.manual_seed(0)
    m = build_siren(SirenConfig(in_dim=2, out_dim=3, hidden_layers=3, width=64, omega_first=30.0))
    first = m.hidden[0].linear.weight
    assert first.abs().max() <= 1 / 2 and first.abs().max() > 0.45
    bound = math.sqrt(6 / 64) / 30
    for layer in [m.hidden[1].linear, m.hidden[2].linear, m.head]:
        assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.9 * bound
        # bias keeps nn.Linear's default U(±1/√fan_in)
        assert layer.bias.abs().max() <= 1 / math.sqrt(64)
    assert m.hidden[0].act.omega == 30 and m.hidden[1].act.omega == 30


def test_winner_noise_std_and_untouched_layers():
    torch.manual_seed(0)
    base = build_siren(SirenConfig(in_dim=1, out_dim=1, hidden_layers=3, width=256))
    before = {k: v.clone() for k, v in base.state_dict().items()}
    s0, s1 = 900.0, 2.0
    winner_(base, s0, s1, omega0=30.0)
    after = base.state_dict()
    d0 = after["hidden.0.linear.weight"] - before["hidden.0.linear.weight"]
    d1 = after["hidden.1.linear.weight"] - before["hidden.1.linear.weight"]
    assert d0.std().item() == pytest.approx(s0 / 30, rel=0.15)  # 256 samples
    assert d1.std().item() == pytest.approx(s1 / 30, rel=0.02)  # 65,536 samples
    assert abs(d1.mean().item()) < 0.01 * s1 / 30 * 10
    for k in before:
        if k not in ("hidden.0.linear.weight", "hidden.1.linear.weight"):
            assert torch.equal(before[k], after[k]), k


def test_create_siren2_reads_psi_and_records_it():
    x = tone(0.363, n=2000)
    sig = Signal(values=x / np.abs(x).max(), grid=(2000,), kind="audio", sample_rate=8000)
    m = create_model("siren2", sig, width=32, hidden_layers=3, seed=0)
    assert m.winner.psi == pytest.approx(0.726, abs=3e-3)
    assert m.winner.s0 == pytest.approx(3478, abs=5) and m.winner.s1 == pytest.approx(2.18, abs=0.01)
    assert m.hidden[0].act.omega == 30.0  # SIREN² uses ω_first = 30 for audio
    assert create_model("siren", sig, width=32, hidden_layers=3).hidden[0].act.omega == 3000.0
    assert create_model("siren", sig, width=32, hidden_layers=3).winner is None


def test_constant_signal_warns_and_adds_no_noise():
    sig = Signal(values=np.zeros((512, 1)), grid=(512,), kind="audio", sample_rate=8000)
    with pytest.warns(UserWarning, match="no spectral centroid"):
        scales = resolve_scales(sig)
    assert scales.s0 == 0 and scales.s1 == 0


def test_explicit_scales_override_rule_and_seed_reproducible():
    sig = Signal(values=tone(0.2, 1000), grid=(1000,), kind="audio", sample_rate=8000)
    a = create_model("siren2", sig, width=16, hidden_layers=2, s0=10.0, s1=0.5, seed=3)
    b = create_model("siren2", sig, width=16, hidden_layers=2, s0=10.0, s1=0.5, seed=3)
    assert (a.winner.s0, a.winner.s1) == (10.0, 0.5)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_winner_refuses_models_without_first_two_linear():
    with pytest.raises(TypeError, match="first_two_linear"):
        winner_(torch.nn.Sequential(torch.nn.Linear(1, 4)), 1.0, 1.0)


def test_siren_init_is_a_plain_function_on_a_model():
    m = build_siren(SirenConfig(in_dim=1, out_dim=1, hidden_layers=2, width=8))
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(5.0)
    siren_init_(m, omega0=30.0)
    assert m.hidden[1].linear.weight.abs().max() <= math.sqrt(6 / 8) / 30


def test_floor_centroid_sees_through_white_noise_and_missing_samples():
    """ψ above the white floor: a low tone keeps its ψ under noise and random zeros; the paper's ψ doesn't."""
    from siren2.winner import floor_centroid

    rng = np.random.default_rng(0)
    x = 0.5 * np.sin(2 * np.pi * 0.02 * np.arange(30_000) + 0.3)  # ψ = 0.04
    noisy = x + 0.1 * rng.standard_normal(x.size)
    holes = x * (rng.random(x.size) > 0.3)
    clean_psi = spectral_centroid(x)
    assert clean_psi == pytest.approx(0.04, abs=0.005)
    for damaged in (noisy, holes):
        assert spectral_centroid(damaged) > 0.2  # the floor pulls the paper's ψ towards 0.5
        assert floor_centroid(damaged) == pytest.approx(clean_psi, abs=0.01)
    assert floor_centroid(x) == pytest.approx(clean_psi, abs=0.01)
    assert floor_centroid(rng.standard_normal(30_000)) == 0.0  # white noise is all floor


def test_resolve_scales_records_how_psi_was_read():
    sig = Signal(values=tone(0.1), grid=(4000,), kind="audio", sample_rate=16000)
    assert resolve_scales(sig).centroid == "flattened"
    above = resolve_scales(sig, centroid="above_floor")
    assert above.asdict()["centroid"] == "above_floor" and above.psi == pytest.approx(0.2, abs=0.01)
    with pytest.raises(ValueError, match="centroid"):
        resolve_scales(sig, centroid="median")


# ----------------------------------------------------------------------------------- rule "auto"

def band_clip(lo, hi, n=4096, seed=0):
    """A sum of 24 tones with frequencies uniform in [lo, hi] cycles/sample, as a Signal."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = sum(np.sin(2 * np.pi * f * t + p) for f, p in zip(rng.uniform(lo, hi, 24), rng.uniform(0, 6.3, 24)))
    return Signal(values=(x / np.abs(x).max())[:, None], grid=(n,), kind="audio", sample_rate=44100)


def auto_model(signal, seed=0, **kw):
    return create_model("siren2", signal, preset="paper_audio" if signal.in_dim == 1 else "paper_image",
                        seed=seed, rule="auto", width=32, hidden_layers=3, **kw)


def test_auto_is_deterministic_and_fits_the_network_it_scored():
    sig = band_clip(0.02, 0.1)
    a, b = auto_model(sig), auto_model(sig)
    assert (a.winner.s0, a.winner.s1) == (b.winner.s0, b.winner.s1)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    # the network fitted is the candidate scored: the same as giving its scales to the same seed
    given = create_model("siren2", sig, preset="paper_audio", seed=0, s0=a.winner.s0, s1=a.winner.s1, width=32,
                         hidden_layers=3)
    for pa, pg in zip(a.parameters(), given.parameters()):
        assert torch.equal(pa, pg)
    search = a.winner.asdict()["search"]
    assert a.winner.rule == "auto" and len(search["valley"]) == len(VALLEY_S1) and search["candidates_scanned"] <= len(VALLEY_S1) * 11
    closest = min(search["valley"], key=lambda p: p["distance"])  # no race (create_model alone): the closest point
    assert (closest["s0"], closest["s1"]) == (a.winner.s0, a.winner.s1) and closest["distance"] >= 0


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"))])
def test_auto_searches_on_the_device_and_draws_the_same_initialization(device):
    """create_model(device=...): the draws are the CPU's on every device; the search runs on the device
    and picks what it picks on the CPU (the valley's distances agree to float rounding)."""
    sig = band_clip(0.02, 0.1)
    here, there = auto_model(sig), auto_model(sig, device=device)
    assert next(there.parameters()).device.type == device
    assert (here.winner.s0, here.winner.s1) == (there.winner.s0, there.winner.s1)
    for a, b in zip(here.parameters(), there.parameters()):
        torch.testing.assert_close(a, b.cpu(), rtol=0, atol=0)
    plain = [create_model("siren", sig, seed=3, device=d, width=16, hidden_layers=2) for d in ("cpu", device)]
    for a, b in zip(*(m.parameters() for m in plain)):
        assert torch.equal(a, b.cpu())


def test_auto_valley_picks_larger_s0_for_higher_frequencies_and_trades_s0_for_s1():
    def points(sig):
        base = create_model("siren2", sig, preset="paper_audio" if sig.in_dim == 1 else "paper_image", seed=0,
                            s0=0.0, s1=0.0, width=32, hidden_layers=3)
        return valley(base, sig)

    clips = [points(band_clip(lo, hi)) for lo, hi in ((0.002, 0.01), (0.02, 0.1), (0.15, 0.45))]
    for k in range(len(VALLEY_S1)):  # at every s1 of the valley, a faster target needs more s0
        assert clips[0][k]["s0"] < clips[1][k]["s0"] < clips[2][k]["s0"], [c[k]["s0"] for c in clips]
    for v in clips:  # more s1, less s0 along the valley
        assert v[0]["s0"] > v[-1]["s0"] and v[0]["s1"] == 0 < v[-1]["s1"]
    h, w = 32, 32  # and for an image: fine stripes need more noise than coarse ones
    yy, xx = np.mgrid[0:h, 0:w]
    coarse, fine = (points(Signal(values=np.sin(2 * np.pi * f * (xx + 0.7 * yy)).reshape(-1, 1), grid=(h, w),
                                  kind="image"))[0]["s0"] for f in (0.03, 0.3))
    assert coarse < fine


def test_auto_races_its_valley_and_leaves_the_draws_it_scored():
    sig = band_clip(0.02, 0.1)
    calls = []

    def race(s0, s1):  # a stand-in for a short fit: prefers the second point, and draws from the RNG
        calls.append((s0, s1))
        torch.randn(1000)
        return 0.0 if len(calls) == 2 else 1.0

    raced = auto_model(sig, race=race)
    assert len(calls) == len(VALLEY_S1) and (raced.winner.s0, raced.winner.s1) == calls[1]
    assert [p["short_fit_loss"] for p in raced.winner.search["valley"]] == [1.0, 0.0, 1.0]
    given = create_model("siren2", sig, preset="paper_audio", seed=0, s0=calls[1][0], s1=calls[1][1], width=32,
                         hidden_layers=3)
    for pa, pg in zip(raced.parameters(), given.parameters()):  # the race's draws did not move WINNER's
        assert torch.equal(pa, pg)


def test_auto_reads_rgb_without_dividing_by_the_channels():
    gray = band_clip(0.02, 0.1)
    rgb = Signal(values=np.repeat(gray.values, 3, axis=1), grid=gray.grid, kind="audio", sample_rate=44100)
    base = create_model("siren2", gray, preset="paper_audio", seed=0, s0=0.0, s1=0.0, width=32, hidden_layers=3)
    g, c = auto_scales(base, gray), auto_scales(base, rgb)
    assert (g.s0, g.s1) == (c.s0, c.s1)  # the same spectrum in each channel: the same scales
    code_g, code_c = resolve_scales(gray), resolve_scales(rgb)
    assert code_c.s0 < code_g.s0  # the paper's rule divides ψ by C (and again in the rule)


def test_oversampled_reads_the_central_half_at_twice_the_resolution_with_nothing_above_nyquist():
    sig = band_clip(0.02, 0.1, n=1000)
    coords, grid, target = oversampled(sig)
    x = coords[:, 0].numpy()
    assert coords.shape == (1000, 1) and grid == (1000,) and np.allclose(np.diff(x), 1 / 999, rtol=1e-3)  # half the spacing of 2/999
    assert x.mean() == pytest.approx(0.0, abs=1e-6) and x.max() == pytest.approx(0.5, rel=1e-3)
    (spectrum,) = target_spectra(sig)
    assert target[0].numel() == spectrum.numel() and torch.all(target[0][250:] == 0)  # the bins above Ω
    assert float(target[0].sum()) == pytest.approx(float(spectrum.sum()), rel=1e-6)


def test_oversampled_narrows_a_long_axis_and_pools_the_target_to_its_bins():
    sig = band_clip(0.02, 0.1, n=30_000)
    coords, grid, target = oversampled(sig)
    x = coords[:, 0].numpy()
    assert grid == (7500,) and AUTO_LINE >= 7500  # the central eighth at twice the resolution
    assert np.allclose(np.diff(x), 1 / 29_999, rtol=1e-3) and x.max() == pytest.approx(0.125, rel=1e-3)
    (spectrum,) = target_spectra(sig)
    assert target[0].numel() == 3750 and torch.all(target[0][1875:] == 0)  # 8 target bins to one, nothing above Ω
    assert float(target[0].sum()) == pytest.approx(float(spectrum.sum()), rel=1e-6)


def test_axis_lines_keep_whole_lines_and_at_most_auto_lines_of_them():
    arr = np.arange(32 * 32 * 32).reshape(32, 32, 32)
    for axis, view in enumerate(axis_lines((32, 32, 32))):
        part = arr[view]
        assert part.shape[axis] == 32 and part.size // 32 <= AUTO_LINES
        assert part.size // 32 > AUTO_LINES // 4  # no coarser than needed
    (view,) = axis_lines((100,))  # 1-D: the one line, whole
    assert np.arange(100)[view].size == 100


def test_auto_keeps_a_given_scale_and_searches_the_other():
    sig = band_clip(0.02, 0.1)
    w = auto_model(sig, s0=500.0).winner
    assert w.s0 == 500.0 and w.rule == "auto" and w.search["candidates_scanned"] == len(VALLEY_S1)
    w = auto_model(sig, s1=0.3).winner
    assert w.s1 == 0.3 and len(w.search["valley"]) == 1 and w.search["candidates_scanned"] <= 11


def test_3d_defaults_to_auto_and_the_paper_rules_refuse_it():
    rng = np.random.default_rng(0)
    vol = Signal(values=rng.normal(size=(8 * 8 * 8, 1)).astype(np.float32) / 3, grid=(8, 8, 8), kind="volume")
    model = create_model("siren2", vol, seed=0, width=16, hidden_layers=2)
    assert model.winner.rule == "auto" and model.winner.search is not None
    with pytest.raises(ValueError, match="auto"):
        create_model("siren2", vol, seed=0, width=16, hidden_layers=2, rule="code")


def test_run_fits_race_ranks_on_the_grid_without_the_off_grid_samples():
    from dataclasses import replace

    from siren2.runs import build
    from siren2.signal import Samples
    from siren2.spec import resolve

    rng = np.random.default_rng(0)
    vol = Signal(values=rng.normal(size=(8 * 8 * 8, 1)).astype(np.float32) / 3, grid=(8, 8, 8), kind="volume")
    near = replace(vol, off_grid=Samples(rng.uniform(-1, 1, (200, 3)), rng.normal(size=(200, 1)) / 3))
    options = dict(preset="paper_image", width=16, hidden_layers=2, epochs=200, seed=0, rule="auto")
    races = [[p["short_fit_loss"] for p in build(resolve(s, options), s).winner.search["valley"]]
             for s in (vol, near)]
    assert len(races[0]) == len(VALLEY_S1) and races[0] == races[1]  # the same short fits, the same losses


@pytest.mark.slow
def test_auto_valley_and_race_cost_under_a_tenth_of_the_fit_they_initialize():
    # the faithful audio scale: 30,000 samples, 4 x 100, the fast recipe's 500 epochs (timed on 20);
    # a run's model (siren2.runs.build): the valley and its race of short fits (3 x 2.5% of the epochs)
    from siren2.runs import build
    from siren2.spec import resolve
    from siren2.train import FitConfig, fit

    sig = band_clip(0.01, 0.2, n=30_000)
    shape = {"width": 100, "hidden_layers": 4}
    spec = resolve(sig, shape, rule="auto")
    cfg = spec.fit
    # the probe first: the process's one-off warm-up lands in it, as it would in a fit without a search
    probe = fit(create_model("siren", sig, preset="paper_audio", seed=1, **shape), sig,
                FitConfig.resolve("paper_audio", "fast", 1, width=100, epochs=20))
    per_epoch = (probe.seconds_at[-1] - probe.seconds_at[1]) / 18  # without the first epoch
    model = build(spec, sig)
    search = model.winner.search
    assert "raced" in search["method"] and all("short_fit_loss" in p for p in search["valley"])
    assert search["seconds"] < 0.1 * per_epoch * cfg.epochs
