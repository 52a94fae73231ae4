"""The band prior (siren2.restoration.priors): its weights follow the damaged signal's spectrum, its value is λ
times the mean square of a rendering's out-of-band part, the fused sine-MLP step adds its gradient
as autograd does, and a restoration searched over its weight fills missing samples of a narrowband
clip far better than the fit without it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import paper_fit, plain
from siren2 import FitConfig, InputError, Signal
from siren2.restoration.corruptions import drop_samples
from siren2.engine import AutogradStep, SineMLPStep, make_step
from siren2.metrics import psnr_paper
from siren2 import create_model
from siren2.restoration.priors import band
from siren2.restoration.restorer import restore

pytestmark = pytest.mark.usefixtures("one_thread")
SR = 8000


def clip(n=4000) -> Signal:
    t = np.arange(n) / SR
    x = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 1250 * t + 1) + 0.1 * np.sin(2 * np.pi * 2600 * t)
    return Signal(values=x[:, None].astype(np.float32), grid=(n,), kind="audio", sample_rate=SR, source="tones")


def bin_of(hz: float, n: int) -> int:
    return round(hz * n / SR)


def test_band_weights_free_the_tones_and_charge_the_floor():
    clean = clip()
    c = drop_samples(clean, 0.3, seed=0)
    prior = band(c.signal, c.mask)
    n = clean.num_points
    for hz in (440, 1250, 2600):
        assert prior.weights[bin_of(hz, n)] < 0.05  # the tones cost (next to) nothing
    far = [bin_of(hz, n) for hz in (100, 800, 1900, 3500)]
    assert np.all(prior.weights[far] > 0.2)  # where the zeros' floor is all there is
    assert prior.record()["signal_bins_fraction"] < 0.15


def test_band_value_is_lambda_times_the_out_of_band_mean_square():
    clean = clip()
    c = drop_samples(clean, 0.3, seed=0)
    prior = band(c.signal, c.mask, weight=3.0)
    n = clean.num_points
    t = np.arange(n) / SR
    inside = torch.tensor(0.7 * np.sin(2 * np.pi * 440 * t), dtype=torch.float32)[:, None]
    k = int(np.flatnonzero(prior.weights == 1)[5])  # a bin at the floor: weight 1
    outside = torch.tensor(0.2 * np.cos(2 * np.pi * k * np.arange(n) / n), dtype=torch.float32)[:, None]
    assert float(prior(inside)) < 0.01 * 3.0 * float(inside.square().mean())  # a tone: ~free
    assert float(prior(outside)) == pytest.approx(3.0 * 0.2 ** 2 / 2, rel=1e-4)  # λ · mean square
    with pytest.raises(InputError, match="1-D"):
        band(Signal(values=np.zeros((16, 1)), grid=(4, 4), kind="image"))


def test_fused_step_adds_the_prior_gradient_as_autograd_does():
    clean = clip(n=1000)
    c = drop_samples(clean, 0.3, seed=1)
    prior = band(c.signal, c.mask, weight=3.0)
    model = create_model("siren2", c.signal, width=24, hidden_layers=2, seed=0)
    coords, target = c.signal.coords(), c.signal.tensor()
    mask = torch.tensor(c.mask).reshape(-1, 1)
    grads = {}
    for name, step in (("fused", SineMLPStep(model, coords, target, mask, chunk_size=100, prior=prior)),
                       ("autograd", AutogradStep(model, coords, target, mask, chunk_size=100, prior=prior)),
                       ("none", AutogradStep(model, coords, target, mask))):
        loss = step()
        grads[name] = (float(loss), [p.grad.clone() for p in model.parameters()])
    assert grads["fused"][0] == pytest.approx(grads["none"][0], rel=1e-5)  # the loss stays the data term
    for a, b, plain in zip(grads["fused"][1], grads["autograd"][1], grads["none"][1]):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6 * float(b.abs().max()))
    assert any(not torch.allclose(a, p) for a, p in zip(grads["autograd"][1], grads["none"][1]))
    with pytest.raises(ValueError, match="full-batch"):
        make_step(model, coords, target, mask, batch_size=100, prior=prior)


def test_prior_search_fills_missing_samples_of_a_narrowband_clip():
    clean = clip()
    c = drop_samples(clean, 0.3, seed=0)
    before = psnr_paper(clean.values, c.signal.values)
    cfg = dict(recipe="fast", epochs=300, seed=0)
    shape = dict(hidden_layers=2, width=48)
    alone = restore(c.signal, c.mask, "siren2", clean=clean,
                    **plain(stop="holdout", **cfg, **shape, keep_observed=True))
    searched = restore(c.signal, c.mask, "siren2", clean=clean,
                       **plain(stop="holdout", **cfg, **shape, keep_observed=True, prior_weights=(1.0, 3.0)))
    rec = searched.config["restoration"]["prior"]
    assert rec["chosen_weight"] in (1.0, 3.0) and [t["weight"] for t in rec["tried"]] == [0.0, 1.0, 3.0]
    assert searched.metrics["psnr_paper"] > max(alone.metrics["psnr_paper"], before) + 5
    with pytest.raises(InputError, match="hold-out"):
        restore(c.signal, c.mask, "siren2", **plain(**cfg, **shape, prior_weights=(1.0,)))


def test_prior_fits_of_a_mini_batch_model_take_full_batch_steps():
    clean = clip(n=2000)
    c = drop_samples(clean, 0.3, seed=0)
    cfg = paper_fit(epochs=5, lr=1e-3, batch_size=500, seed=0)
    run = restore(c.signal, c.mask, "finer", **plain(stop="holdout", **cfg, hidden_layers=2, width=16,
                                                     prior_weights=(1.0,)))
    assert [t["weight"] for t in run.config["restoration"]["prior"]["tried"]] == [0.0, 1.0]
