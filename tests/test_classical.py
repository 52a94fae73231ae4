"""The classical restoration baselines: each runs, is scored with siren2's own metric code, and
clearly improves on the corrupted input of a generated signal it suits."""

import numpy as np
import pytest

from siren2 import Signal
from siren2.restoration.classical import BASELINES, baselines_for, image_array, noise_std, run_baseline, stft_sigma, wavelet_sigma
from siren2.errors import InputError
from siren2.metrics import metrics
from siren2.restoration.corruptions import add_noise, drop_gaps, drop_samples


def smooth_image(channels=1, n=64):
    yy, xx = np.mgrid[0:n, 0:n] / n
    planes = [np.sin(2 * np.pi * (xx + k * yy)) * 0.6 + 0.3 * (xx > 0.5) for k in range(channels)]
    return Signal(values=np.stack(planes, -1).reshape(n * n, channels).astype(np.float32), grid=(n, n),
                  kind="image", bit_depth=8)


def smooth_audio(n=4000):
    t = np.arange(n)
    x = 0.5 * np.sin(2 * np.pi * 0.004 * t) + 0.3 * np.sin(2 * np.pi * 0.011 * t + 1.0)
    return Signal(values=x[:, None].astype(np.float32), grid=(n,), kind="audio", sample_rate=8000)


@pytest.mark.parametrize("name", baselines_for("image", "denoise"))
@pytest.mark.parametrize("channels", [1, 3])
def test_image_denoisers_beat_the_noisy_input(name, channels):
    clean = smooth_image(channels)
    noisy = add_noise(clean, std=0.1, seed=0)
    before = metrics(clean, noisy.signal.values)["psnr_paper"]
    after = metrics(clean, run_baseline(name, noisy.signal, noisy.mask))["psnr_paper"]
    assert after > before + 3.0, (name, before, after)


def test_noise_std_reads_broadband_audio_in_its_pauses():
    """Broadband bursts with pauses between them (like arch.wav) raise the whole spectrum's white floor;
    the STFT's floor reads σ in the pauses, and the smaller of the two is σ̂. Steady tones keep it right."""
    from siren2.winner import white_floor

    n, sr = 16000, 8000
    rng = np.random.default_rng(0)
    bursts = 0.3 * rng.standard_normal(n) * (np.arange(n) // 2000 % 2 == 0)  # on for 0.25 s, off for 0.25 s
    for clean, rel in ((bursts, 0.15), (0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / sr), 0.1)):
        sig = Signal(values=clean[:, None].astype(np.float32), grid=(n,), kind="audio", sample_rate=sr)
        noisy = add_noise(sig, std=0.05, seed=1).signal
        assert noise_std(noisy) == pytest.approx(0.05, rel=rel)
    assert np.sqrt(white_floor(noisy.values)) == pytest.approx(0.05, rel=0.1)  # the tone: both read σ
    stereo = add_noise(Signal(values=np.stack([bursts, bursts[::-1]], 1).astype(np.float32), grid=(n,), kind="audio",
                              sample_rate=sr), std=0.05, seed=2).signal
    assert np.sqrt(white_floor(stereo.values)) > 0.1 and noise_std(stereo) == pytest.approx(0.05, rel=0.15)
    long = np.tile(bursts, 200) + 0.05 * rng.standard_normal(200 * n)  # 3.2 M samples: read in 16 stretches
    assert stft_sigma(long) == pytest.approx(0.05, rel=0.15)


@pytest.mark.parametrize("channels", [1, 3])
def test_noise_std_reads_through_a_fine_texture_the_wavelet_mad_takes_for_noise(channels):
    n = 64
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    texture = 0.3 * np.cos(2.6 * xx + 2.3 * yy)  # near the pixel Nyquist: the finest wavelet band holds it
    clean = Signal(values=np.repeat(texture.reshape(-1, 1), channels, 1).astype(np.float32), grid=(n, n), kind="image")
    noisy = add_noise(clean, std=0.05, seed=0).signal
    assert wavelet_sigma(*image_array(noisy)) > 0.1  # the texture reads as noise to the MAD
    assert noise_std(noisy) == pytest.approx(0.05, rel=0.15)  # its patches span two directions only
    smooth = add_noise(smooth_image(channels), std=0.05, seed=1).signal
    assert noise_std(smooth) == pytest.approx(0.05, rel=0.15)
    tiny = add_noise(smooth_image(channels, n=5), std=0.05, seed=1).signal  # under 7 px a side: the MAD alone
    assert noise_std(tiny) == wavelet_sigma(*image_array(tiny))


def test_the_wiener_filter_beats_noisy_audio():
    clean = smooth_audio()
    noisy = add_noise(clean, std=0.05, seed=0)
    est = run_baseline("wiener", noisy.signal)
    assert est.shape == clean.values.shape
    assert metrics(clean, est)["psnr_paper"] > metrics(clean, noisy.signal.values)["psnr_paper"] + 3.0


@pytest.mark.parametrize("name", ["linear", "cubic"])
@pytest.mark.parametrize("make", [smooth_audio, smooth_image])
def test_interpolation_fills_missing_samples_far_better_than_zeros(name, make):
    clean = make()
    damaged = drop_samples(clean, 0.3, seed=0)
    est = run_baseline(name, damaged.signal, damaged.mask)
    observed = damaged.mask > 0
    np.testing.assert_allclose(est[observed], clean.values[observed], atol=1e-5)  # keeps what it saw
    assert metrics(clean, est)["psnr_paper"] > metrics(clean, damaged.signal.values)["psnr_paper"] + 10.0


def narrowband_audio(n=4000):
    """Two tones near 0.35 cycles/sample: predictable, but far too fast for a line through neighbours."""
    t = np.arange(n)
    x = 0.5 * np.sin(2 * np.pi * 0.35 * t) + 0.3 * np.sin(2 * np.pi * 0.362 * t + 1.0)
    return Signal(values=x[:, None].astype(np.float32), grid=(n,), kind="audio", sample_rate=8000)


@pytest.mark.parametrize("corrupt", [lambda s: drop_samples(s, 0.3, seed=0), lambda s: drop_gaps(s, 4, 10.0, seed=0)],
                         ids=["missing", "gaps"])
def test_lmmse_predicts_a_narrowband_clip_where_interpolation_cannot(corrupt):
    clean = narrowband_audio()
    damaged = corrupt(clean)
    observed = damaged.mask > 0
    est = run_baseline("lmmse", damaged.signal, damaged.mask)
    np.testing.assert_allclose(est[observed], clean.values[observed], atol=1e-6)  # keeps what it saw
    score = {name: metrics(clean, e)["psnr_paper"] for name, e in
             [("zeros", damaged.signal.values), ("lmmse", est),
              ("linear", run_baseline("linear", damaged.signal, damaged.mask))]}
    assert score["lmmse"] > max(score["zeros"], score["linear"]) + 10.0, score


def test_lmmse_bounds_its_systems_on_a_long_gap(monkeypatch):
    import scipy.linalg

    sizes, solve = [], scipy.linalg.solve
    monkeypatch.setattr(scipy.linalg, "solve", lambda a, b, **kw: sizes.append(len(a)) or solve(a, b, **kw))
    clean = narrowband_audio(12_000)
    mask = np.ones(12_000, np.float32)
    mask[3000:9000] = 0  # 6,000 samples: twice that would be 12,000 unknowns per side
    damaged = clean.with_values(clean.values * mask[:, None])
    est = run_baseline("lmmse", damaged, mask)
    assert sizes and max(sizes) <= 2048 * 2.5  # max_reach on either side of a block of at most half of it
    near = slice(3000, 3100)
    err = float(np.mean((est[near] - clean.values[near]) ** 2))
    assert err < 1e-2 * float(np.mean(clean.values[near] ** 2))  # predicted from the observed edge (zeros: 1)


def test_lmmse_leaves_silence_silent():
    silent = Signal(values=np.zeros((500, 1), np.float32), grid=(500,), kind="audio", sample_rate=8000)
    damaged = drop_samples(silent, 0.3, seed=0)
    assert not run_baseline("lmmse", damaged.signal, damaged.mask).any()


def test_every_baseline_is_registered_with_a_kind_and_a_task_and_refuses_others():
    from siren2.restoration.classical import installed

    assert set(baselines_for("image", "denoise")) == {"wavelet", "tv", "nl_means"} | (
        {"bm3d"} if installed("bm3d") else set())
    assert baselines_for("audio", "denoise") == ["wiener"]
    assert set(baselines_for("audio", "inpaint")) == {"linear", "cubic", "lmmse"}
    assert set(baselines_for("image", "inpaint")) == {"linear", "cubic"}
    assert all(b.task in ("denoise", "inpaint") for b in BASELINES.values())
    with pytest.raises(InputError, match="applies to image"):
        run_baseline("wavelet", smooth_audio())
    with pytest.raises(InputError, match="unknown classical baseline"):
        run_baseline("bm4d", smooth_image())


def test_bm3d_without_its_package_is_a_clean_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "bm3d", None)  # as if the restore extra were not installed
    with pytest.raises(InputError, match=r"pip install 'siren2\[restore\]'"):
        run_baseline("bm3d", smooth_image())

