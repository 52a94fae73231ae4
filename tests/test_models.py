"""The model registry: every baseline of docs/method.md#the-baselines, its initialization, WINNER where it applies."""

from __future__ import annotations

import math

import pytest
import torch

from helpers import random_tones
from siren2 import FitConfig, create_model, fit, list_models, num_parameters, winner_
from siren2.build import apply_winner, model_summary
from siren2.models import Finer, Gabor, Gauss, PositionalEncoding, winner_models
from siren2.recipes import model_fit
from siren2.runs import load_model, save_model

ALL = ["siren", "siren2", "siren_rff", "finer", "finer++", "finer2", "wire", "gauss", "relu_pe"]
SMALL = dict(hidden_layers=2, width=16)


def scales(name):
    """WINNER models need the target or explicit scales; the shape tests give scales."""
    return dict(s0=5.0, s1=0.5) if name in winner_models() else {}


def hf_signal(n=512, seed=0):
    return random_tones(n, (0.02, 0.2), 4, seed)


def test_registry_holds_every_baseline():
    assert list(list_models()) == ALL
    assert all(isinstance(d, str) and d for d in list_models().values())
    assert set(winner_models()) == {"siren2", "finer2"}


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("c", [1, 3])
def test_every_model_maps_n_by_d_to_n_by_c(name, d, c):
    model = create_model(name, in_dim=d, out_dim=c, seed=0, **SMALL, **scales(name))
    x = torch.rand(37, d) * 2 - 1
    y = model(x)
    assert y.shape == (37, c) and y.dtype == torch.float32 and torch.isfinite(y).all()
    assert model.name == name


def test_paper_audio_parameter_counts():
    counts = {r["name"]: r["parameters"] for r in model_summary("paper_audio")}
    siren = counts["siren"]
    assert siren == 149_185  # docs/method.md#protocols
    for name in ("siren2", "finer", "finer++", "finer2", "gauss"):
        assert counts[name] == siren
    assert abs(counts["wire"] / siren - 1) < 0.02  # width int(222/√2) = 156, complex weights count twice
    assert counts["wire"] == 147_578
    # the paper's own definitions differ: ReLU+PE's first layer sees 15 inputs, SIREN+RFF's 222 features
    assert counts["relu_pe"] == siren + (15 - 1) * 222 == 152_293
    assert counts["siren_rff"] == siren + (222 - 1) * 222 == 198_247
    image = {r["name"]: r["parameters"] for r in model_summary("paper_image", channels=3)}
    assert image["siren"] == 264_707 and abs(image["wire"] / image["siren"] - 1) < 0.02


def test_model_fit_and_fitconfig_applies_them():
    for name in ("finer", "finer++", "finer2", "wire", "gauss", "relu_pe"):
        assert model_fit(name) == {"batch_size": 65_536}
    for name in ("siren", "siren2", "siren_rff"):
        assert model_fit(name) == {}
    assert FitConfig.resolve("paper_audio", "paper", 1, model="finer").batch_size == 65_536
    assert FitConfig.resolve("paper_audio", "paper", 1, model="siren").batch_size is None
    assert FitConfig.resolve("paper_audio", "paper", 1, model="wire", batch_size=1024).batch_size == 1024  # user wins
    with pytest.raises(ValueError, match="unknown model"):
        FitConfig.resolve("paper_audio", "paper", 1, model="nope")


def test_hyperparameters_per_modality():
    audio = create_model("siren", in_dim=1, **SMALL)
    assert audio.hidden[0].act.omega == 3000.0 and audio.hidden[1].act.omega == 30.0
    assert create_model("siren", in_dim=2, **SMALL).hidden[0].act.omega == 30.0
    assert create_model("siren_rff", in_dim=1, **SMALL).hidden[0].act.omega == 3000.0
    for name in ("finer", "finer++"):
        m = create_model(name, in_dim=1, **SMALL)
        assert all(isinstance(b.act, Finer) and b.act.omega == 30.0 for b in m.hidden)
    wire = create_model("wire", in_dim=2, **SMALL)
    assert all(isinstance(b.act, Gabor) and (b.act.omega, b.act.sigma) == (10.0, 10.0) for b in wire.hidden)
    gauss = create_model("gauss", in_dim=2, **SMALL)
    assert all(isinstance(b.act, Gauss) and b.act.scale == 30.0 for b in gauss.hidden)
    pe = create_model("relu_pe", in_dim=2, **SMALL)
    assert isinstance(pe.encoding, PositionalEncoding) and pe.encoding.out_features == 2 * 15
    assert all(isinstance(b.act, torch.nn.ReLU) for b in pe.hidden)


def test_finer_activation_value_and_detached_gradient():
    z = torch.linspace(-1, 1, 11, dtype=torch.float64, requires_grad=True)
    y = Finer(30.0)(z)
    assert torch.allclose(y, torch.sin(30 * (z.abs() + 1) * z))
    y.sum().backward()
    expected = 30 * (z.abs() + 1) * torch.cos(30 * (z.abs() + 1) * z)  # the scale counts as a constant
    assert torch.allclose(z.grad, expected.detach())


def test_gabor_and_gauss_values():
    z = torch.tensor([0.0, 0.05, -0.1])
    g = Gabor(10.0, 10.0)(z)
    assert g.is_complex()
    assert torch.allclose(g, torch.exp(1j * 10 * z - (10 * z) ** 2))
    zc = torch.tensor([0.1 + 0.05j])
    assert torch.allclose(Gabor(10.0, 10.0)(zc), torch.exp(1j * 10 * zc - (10 * zc).abs() ** 2))
    assert torch.allclose(Gauss(30.0)(z), torch.exp(-(30 * z) ** 2))


def test_positional_encoding_frequencies():
    x = torch.tensor([[0.25, -0.5]])
    enc = PositionalEncoding(2, 7)(x)
    assert enc.shape == (1, 2 * 15)
    f = math.pi * 2.0 ** torch.arange(7)
    assert torch.allclose(enc[0, :2], x[0])
    assert torch.allclose(enc[0, 2:16], torch.sin(x[0, :, None] * f).flatten())
    assert torch.allclose(enc[0, 16:], torch.cos(x[0, :, None] * f).flatten())


def test_finer_pp_first_bias_range():
    pp = create_model("finer++", in_dim=1, hidden_layers=2, width=512, seed=0)
    b = pp.hidden[0].linear.bias
    assert b.abs().max() <= 5.0 and b.abs().max() > 4.9 and b.std().item() == pytest.approx(10 / math.sqrt(12), rel=0.1)
    plain = create_model("finer", in_dim=1, hidden_layers=2, width=512, seed=0)
    assert plain.hidden[0].linear.bias.abs().max() <= 1.0  # nn.Linear default U(±1/√in), in = 1
    # only the first bias differs; the rest is SIREN's init (W⁰ ~ U(±1/in), later U(±√(6/H)/30))
    assert pp.hidden[0].linear.weight.abs().max() <= 1.0
    bound = math.sqrt(6 / 512) / 30
    assert pp.hidden[1].linear.weight.abs().max() <= bound and pp.head.weight.abs().max() <= bound
    assert pp.hidden[1].linear.bias.abs().max() <= 1 / math.sqrt(512)


def test_rff_matrix_is_fixed_with_std_30():
    m = create_model("siren_rff", in_dim=3, hidden_layers=2, width=512, seed=0)
    B = m.encoding.B
    assert B.shape == (3, 256) and not B.requires_grad
    assert B.std().item() == pytest.approx(30.0, rel=0.1) and abs(B.mean().item()) < 3.0
    assert all(p is not B for p in m.parameters())  # a buffer: saved, never trained or counted
    assert m.hidden[0].linear.in_features == 512  # [cos xB, sin xB]
    assert m.hidden[0].linear.weight.abs().max() <= 1 / 512  # SIREN's W⁰ ~ U(±1/in), in = the features


def test_wire_width_dtypes_and_real_output():
    m = create_model("wire", in_dim=2, out_dim=3, hidden_layers=3, width=222, seed=0)
    assert [b.linear.out_features for b in m.hidden] == [156] * 3  # int(222/√2)
    assert not m.hidden[0].linear.weight.is_complex()
    assert all(b.linear.weight.is_complex() for b in m.hidden[1:])
    assert m.head[0].weight.is_complex()
    real = sum(p.numel() for p in m.parameters() if not p.is_complex())
    cplx = sum(p.numel() for p in m.parameters() if p.is_complex())
    assert num_parameters(m) == real + 2 * cplx
    assert m(torch.rand(5, 2)).dtype == torch.float32


@pytest.mark.parametrize("name", ALL)
def test_every_model_lowers_the_loss(name):
    sig = hf_signal()
    model = create_model(name, sig, seed=0, hidden_layers=2, width=32)
    res = fit(model, sig, FitConfig(epochs=8, lr=1e-3, seed=0))
    assert res.loss[-1] < res.loss[0] and res.best_loss < res.loss[0]


@pytest.mark.parametrize("name", ["wire", "relu_pe", "gauss"])
def test_winner_refuses_non_sine_models(name):
    model = create_model(name, in_dim=1, seed=0, **SMALL)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TypeError, match=f"WINNER does not apply to model '{name}'"):
        winner_(model, 100.0, 1.0)
    with pytest.raises(TypeError, match="sine-family"):
        apply_winner(model, hf_signal())
    if name == "wire":
        with pytest.raises(TypeError, match="complex"):
            model.first_two_linear()
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # nothing was perturbed


def test_winner_options_refused_for_non_winner_models():
    with pytest.raises(ValueError, match="WINNER models only"):
        create_model("finer", in_dim=1, s0=1.0, s1=1.0, **SMALL)
    with pytest.raises(ValueError, match="unknown options for model 'wire': omega_first"):
        create_model("wire", in_dim=1, omega_first=30.0, **SMALL)


def test_finer2_is_finer_plus_winner_noise():
    sig = hf_signal()
    finer = create_model("finer", sig, seed=3, hidden_layers=3, width=256)
    finer2 = create_model("finer2", sig, seed=3, hidden_layers=3, width=256)
    w = finer2.winner
    assert w is not None and w.psi > 0 and w.s0 > 0 and w.s1 > 0
    assert all(isinstance(b.act, Finer) and b.act.omega == 30.0 for b in finer2.hidden)
    a, b = finer.state_dict(), finer2.state_dict()
    d0 = b["hidden.0.linear.weight"] - a["hidden.0.linear.weight"]
    d1 = b["hidden.1.linear.weight"] - a["hidden.1.linear.weight"]
    assert d0.std().item() == pytest.approx(w.s0 / 30, rel=0.15)
    assert d1.std().item() == pytest.approx(w.s1 / 30, rel=0.05)
    for k in a:
        if k not in ("hidden.0.linear.weight", "hidden.1.linear.weight"):
            assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("name", ["siren_rff", "wire", "finer2", "relu_pe"])
def test_save_and_load_round_trip(name, tmp_path):
    import json

    sig = hf_signal(256)
    model = create_model(name, sig, seed=0, **SMALL)
    save_model(model, tmp_path / "model.safetensors")
    from siren2.runs import model_record

    (tmp_path / "config.json").write_text(json.dumps({"model": model_record(model)}))
    loaded, _ = load_model(tmp_path)
    x = sig.coords()
    assert loaded.name == name and torch.equal(loaded(x), model(x))


@pytest.mark.parametrize("name, width", [("siren", 0), ("finer++", 0), ("relu_pe", 0), ("wire", 1)])
def test_degenerate_shapes_are_refused(name, width):
    with pytest.raises(ValueError, match="width must be at least"):
        create_model(name, in_dim=1, hidden_layers=2, width=width, **scales(name))
