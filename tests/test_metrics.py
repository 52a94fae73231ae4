import math

import numpy as np
import pytest

from siren2 import Signal, metrics
from siren2.metrics import lsd, psnr, psnr_paper, snr, ssim


def test_psnr_conventions():
    rng = np.random.default_rng(0)
    t = rng.uniform(-0.9, 0.9, (4096, 1))
    e = t + 0.01
    assert psnr_paper(t, e) == pytest.approx(40.0, abs=1e-6)
    # on [0, 1] the error halves: +6.02 dB
    assert psnr(t, e) == pytest.approx(40.0 + 20 * math.log10(2), abs=1e-6)
    assert psnr_paper(t, t) == math.inf


def test_snr_and_lsd():
    rng = np.random.default_rng(1)
    t = rng.standard_normal(8000)
    assert snr(t, 0.9 * t) == pytest.approx(20.0, abs=1e-6)  # error energy 1% of signal
    assert lsd(t, t) == pytest.approx(0.0, abs=1e-9)
    assert lsd(t, 0.5 * t) == pytest.approx(20 * math.log10(2), abs=1e-3)  # a uniform 6.02 dB gap


def test_ssim_and_metrics_by_kind():
    rng = np.random.default_rng(2)
    img = rng.uniform(-1, 1, (32 * 32, 3))
    assert ssim(img, img, (32, 32)) == pytest.approx(1.0)
    assert ssim(img, np.zeros_like(img), (32, 32)) < 0.1
    s = Signal(values=img, grid=(32, 32), kind="image")
    assert set(metrics(s, img)) >= {"psnr_paper", "psnr", "ssim"}
    a = Signal(values=img[:, :1], grid=(1024,), kind="audio", sample_rate=8000)
    assert set(metrics(a, img[:, :1])) >= {"psnr_paper", "snr", "lsd"}
