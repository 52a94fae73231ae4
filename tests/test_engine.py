"""The fast step is exact: the same gradients and loss curves as plain autograd."""

import copy

import numpy as np
import pytest
import torch

from siren2.engine import AutogradStep, SineMLPStep, make_step, supports_sine_mlp
from siren2 import create_model as cm


def tiny_model(in_dim=1, out_dim=1, width=22, layers=3, seed=0):
    # width 22 is not a multiple of 8: the fast step pads it to 24
    return cm("siren2", in_dim=in_dim, out_dim=out_dim, width=width, hidden_layers=layers, s0=60.0, s1=1.0, seed=seed)


def data(n=600, in_dim=1, out_dim=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, in_dim, generator=g) * 2 - 1
    t = torch.sin(40 * x.sum(1, keepdim=True)) * torch.ones(1, out_dim) + 0.1 * torch.randn(n, out_dim, generator=g)
    return x, t


def curve(model, step, steps=20, batches=None):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for i in range(steps):
        losses.append(float(step(None if batches is None else batches[i])))
        opt.step()
    return np.array(losses)


@pytest.mark.parametrize("in_dim,out_dim,layers", [(1, 1, 3), (2, 3, 4), (3, 1, 2)])
def test_fast_step_matches_autograd_over_20_steps(in_dim, out_dim, layers):
    m1 = tiny_model(in_dim, out_dim, layers=layers)
    m2 = copy.deepcopy(m1)
    x, t = data(in_dim=in_dim, out_dim=out_dim)
    fast, ref = curve(m1, SineMLPStep(m1, x, t)), curve(m2, AutogradStep(m2, x, t))
    np.testing.assert_allclose(fast, ref, rtol=2e-5)
    for p, q in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)


def test_chunked_step_equals_unchunked():
    m1 = tiny_model()
    m2, m3 = copy.deepcopy(m1), copy.deepcopy(m1)
    x, t = data(n=1000)
    whole = curve(m1, SineMLPStep(m1, x, t))
    chunked = curve(m2, SineMLPStep(m2, x, t, chunk_size=137))
    auto_chunked = curve(m3, AutogradStep(m3, x, t, chunk_size=300))
    np.testing.assert_allclose(chunked, whole, rtol=2e-5)
    np.testing.assert_allclose(auto_chunked, whole, rtol=2e-5)


def test_minibatch_and_mask_match_autograd():
    m1 = tiny_model(2, 3)
    m2 = copy.deepcopy(m1)
    x, t = data(n=800, in_dim=2, out_dim=3)
    mask = (torch.rand(800, generator=torch.Generator().manual_seed(1)) > 0.3).float()
    g = torch.Generator().manual_seed(2)
    batches = [torch.randperm(800, generator=g)[:128] for _ in range(20)]
    fast = curve(m1, SineMLPStep(m1, x, t, mask, batch_size=128), batches=batches)
    ref = curve(m2, AutogradStep(m2, x, t, mask), batches=batches)
    np.testing.assert_allclose(fast, ref, rtol=2e-5)


def test_padding_never_shows():
    m = tiny_model(width=22)
    shapes = {k: v.shape for k, v in m.state_dict().items()}
    x, t = data()
    step = make_step(m, x, t)
    assert step.name == "sine-mlp" and step.W[1].shape == (24, 24)
    step()
    assert {k: v.shape for k, v in m.state_dict().items()} == shapes
    assert all(p.grad.shape == p.shape for p in m.parameters())


def test_auto_engine_falls_back_to_autograd_for_other_models():
    m = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    assert not supports_sine_mlp(m)
    x, t = data()
    assert make_step(m, x, t).name == "autograd"
    with pytest.raises(ValueError):
        SineMLPStep(m, x, t)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fast_step_matches_autograd_on_cuda():
    m1 = tiny_model(2, 3).cuda()
    m2 = copy.deepcopy(m1)
    x, t = (v.cuda() for v in data(in_dim=2, out_dim=3))
    np.testing.assert_allclose(curve(m1, SineMLPStep(m1, x, t)), curve(m2, AutogradStep(m2, x, t)), rtol=1e-4)


def test_compiled_activation_matches_eager_over_20_steps():
    m1 = tiny_model(2, 3)
    m2 = copy.deepcopy(m1)
    x, t = data(n=700, in_dim=2, out_dim=3)
    fused = SineMLPStep(m1, x, t, compiled=True)
    assert fused.name == "sine-mlp+compiled"
    ref = curve(m2, AutogradStep(m2, x, t))
    np.testing.assert_allclose(curve(m1, fused), ref, rtol=1e-4)


def test_compile_decided_by_run_size():
    m = tiny_model()
    x, t = data()
    assert make_step(m, x, t, epochs=10).name == "sine-mlp"
    assert make_step(m, x, t, epochs=10**9).name == "sine-mlp+compiled"
