"""siren2.analysis: the empirical NTK, activation statistics, snapshots and ``siren2 analyze``.

Tiny networks and signals; the whole file runs in well under a minute on 2 cores.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from siren2 import FitConfig, Signal, create_model, fit
from siren2.analysis import (Snapshots, SubGrid, check_ntk_memory, eigen_spectrum, empirical_ntk, energy_above,
                             frequencies, layer_activations, ntk_memory_bytes, ntk_spectrum, preactivation_variance,
                             reference_laws, subgrid)
from siren2.cli import main
from siren2.errors import InputError


def brute_force_ntk(model, coords):
    """K_c = J_c J_cᵀ / n² from one backward per point and channel (complex weights as (re, im) pairs)."""
    params = [p for p in model.parameters() if p.requires_grad]
    out = model(coords)
    n, channels = out.shape
    K = []
    for c in range(channels):
        rows = []
        for i in range(n):
            grads = torch.autograd.grad(out[i, c], params, retain_graph=True, allow_unused=True)
            rows.append(torch.cat([(torch.view_as_real(g) if g.is_complex() else g).reshape(-1)
                                   if g is not None else torch.zeros(p.numel() * (2 if p.is_complex() else 1))
                                   for g, p in zip(grads, params)]))
        J = torch.stack(rows).double()
        K.append(J @ J.T / n**2)
    return torch.stack(K)


@pytest.mark.parametrize("name, in_dim, out_dim", [("siren2", 1, 1), ("siren", 2, 3), ("wire", 1, 2)])
def test_ntk_matches_brute_force_and_is_symmetric_psd(name, in_dim, out_dim):
    winner = {"s0": 200.0, "s1": 1.0} if name == "siren2" else {}
    model = create_model(name, in_dim=in_dim, out_dim=out_dim, width=12, hidden_layers=2, seed=0, **winner)
    coords = torch.rand(24, in_dim) * 2 - 1
    K = empirical_ntk(model, coords, chunk_size=7)  # chunks that do not divide n
    assert K.shape == (out_dim, 24, 24)
    expected = brute_force_ntk(model, coords)
    # float32 Jacobians at s0 200: entries near 0 round by up to ~1e-5 of the largest (AVX-512 kernels)
    torch.testing.assert_close(K.double(), expected, rtol=1e-4, atol=2e-5 * float(expected.abs().max()))
    assert torch.equal(K, K.transpose(1, 2))
    for Kc in K.double():
        lam = torch.linalg.eigvalsh(Kc)
        assert lam.min() >= -1e-6 * lam.max()


def test_eigen_spectrum_is_the_fourier_diagonal_of_the_kernel():
    """Σ λ_i |FFT(v_i)|²/n equals diag(F K Fᴴ)/n, and the eigenvalues come in descending order."""
    model = create_model("siren2", in_dim=1, out_dim=1, width=16, hidden_layers=2, s0=300.0, s1=1.0, seed=1)
    n = 64
    K = empirical_ntk(model, torch.linspace(-1, 1, n)[:, None])
    lam, spec = eigen_spectrum(K, (n,))
    assert np.all(np.diff(lam[0]) <= 0)
    F = np.fft.rfft(np.eye(n), axis=0)  # rows: the rFFT's bins
    diag = np.real(np.einsum("fi,ij,fj->f", F, K[0].double().numpy(), F.conj())) / n
    np.testing.assert_allclose(spec[0], diag, rtol=1e-6, atol=1e-12 * diag.max())
    assert spec.shape == (1, len(frequencies((n,))))


def test_sine_activation_laws_on_a_wide_network():
    """On a wide random SIREN², per layer (d = 1024, s1 = 0.5):
    * sin(ω·z) has variance 1/2 where ω·z spans many periods (layers 1 and 2), but only
      (1 − e^(−2σ²))/2 ≈ 0.46 in layer 3, whose ω0·z is N(0, σ² ≈ 1.2);
    * the second layer's ω0·z has variance 1 + d·s1²/2 (the paper's law) when the biases are zero,
      and 1 + d·s1²/2 + ω0²/(3d) with PyTorch's default biases (the network as built)."""
    d, s1 = 1024, 0.5
    model = create_model("siren2", in_dim=1, out_dim=1, width=d, hidden_layers=3, s0=100.0, s1=s1, seed=0)
    coords = torch.linspace(-1, 1, 4096)[:, None]
    for bias in (True, False):
        if not bias:
            with torch.no_grad():
                for block in model.hidden:
                    block.linear.bias.zero_()
        laws = reference_laws(model, bias=bias)
        layers = layer_activations(model, coords)
        assert laws[1]["pre_var_paper"] == 1 + d * s1**2 / 2
        assert laws[1]["pre_var"] == pytest.approx(1 + d * s1**2 / 2 + (30.0**2 / (3 * d) if bias else 0))
        assert layers[1].pre.var() == pytest.approx(laws[1]["pre_var"], rel=0.06)
        assert layers[2].pre.var() == pytest.approx(laws[2]["pre_var"], rel=0.06)
        for layer, law in zip(layers, laws):
            assert layer.post.var() == pytest.approx(law["post_var"], abs=0.01)
        assert layers[0].post.var() == pytest.approx(0.5, abs=0.01)
        assert layers[1].post.var() == pytest.approx(0.5, abs=0.01)
        assert laws[2]["post_var"] < 0.47  # the arcsine variance 1/2 does not hold at σ² ≈ 1
    assert layers[1].pre.var() == pytest.approx(preactivation_variance(d, s1, bias=False), rel=0.06)


def test_winner_ntk_carries_more_energy_at_high_frequencies():
    """The paper's mechanism: with a large s0, SIREN²'s NTK eigen-spectrum at init puts far more
    energy above 0.1 cycles/sample (a fifth of Nyquist) than SIREN's with the same ω_first = 30."""
    n, shape = 512, dict(width=64, hidden_layers=3)
    coords = torch.linspace(-1, 1, n)[:, None]
    siren = create_model("siren", in_dim=1, out_dim=1, omega_first=30.0, seed=0, **shape)
    siren2 = create_model("siren2", in_dim=1, out_dim=1, s0=1000.0, s1=0.0, seed=0, **shape)
    above = {}
    for name, model in (("siren", siren), ("siren2", siren2)):
        spec = ntk_spectrum(model, coords, (n,))
        above[name] = energy_above(spec.spectrum[0], spec.freqs, 0.1)
    assert above["siren2"] > 0.3
    assert above["siren"] < 0.01
    assert above["siren2"] > 30 * above["siren"]


def test_memory_plan_refuses_over_budget():
    need = ntk_memory_bytes(2048, 149_185)
    assert need == 4 * (2048 * 149_185 + 3 * 128 * 149_185 + 2048**2) + 32 * 2048**2
    assert check_ntk_memory(2048, 149_185) == need  # the paper_audio network fits the default 4 GiB
    with pytest.raises(InputError, match=r"memory budget of 1\.00 GiB.*use fewer points"):
        check_ntk_memory(2048, 149_185, memory_budget=2**30)
    model = create_model("siren", in_dim=1, out_dim=1, width=16, hidden_layers=2)
    with pytest.raises(InputError, match="memory budget"):
        empirical_ntk(model, torch.zeros(100, 1), memory_budget=10_000)


def test_subgrid_window_and_even():
    index, shape, stride = subgrid((1000,), 100, "window")
    assert shape == (100,) and stride == 1 and index[0] == 450 and np.all(np.diff(index) == 1)
    index, shape, stride = subgrid((1000,), 100, "even")
    assert stride == 10 and np.all(np.diff(index) == 10)
    np.testing.assert_allclose(frequencies(shape, stride)[-1], 0.05)  # the strided grid's Nyquist
    index, shape, stride = subgrid((40, 30), 100, "window")
    assert shape == (10, 10) and len(index) == 100
    with pytest.raises(ValueError, match="1-D and 2-D"):
        subgrid((4, 4, 4), 8)


def test_snapshots_during_fit():
    n = 256
    x = np.sin(2 * np.pi * 0.3 * np.arange(n))
    sig = Signal(values=x[:, None], grid=(n,), kind="audio", sample_rate=8000)
    model = create_model("siren2", sig, width=16, hidden_layers=2, seed=0)
    grid = SubGrid.of(sig, 64)
    snaps = Snapshots([0, 2, 3], ntk=grid, activations=grid)
    snaps.take(model, 0)
    fit(model, sig, FitConfig(epochs=4, seed=0), callbacks=[snaps])
    assert [s.epoch for s in snaps.snapshots] == [0, 2, 3]
    assert snaps.snapshots[0].loss is None and snaps.snapshots[1].loss > 0
    first, last = snaps.snapshots[0], snaps.snapshots[-1]
    assert first.ntk.eigenvalues.shape == (1, 64) and first.activation_spectra.shape == (2, 33)
    assert not np.allclose(first.ntk.eigenvalues, last.ntk.eigenvalues)  # training moved the kernel
    assert len(first.histograms) == 2 and np.isfinite(first.histograms[1]["law_pre"]).all()


def _tiny_wav(path):
    t = np.arange(3000) / 16000
    sf.write(str(path), 0.5 * np.sin(2 * np.pi * 5000 * t) + 0.3 * np.sin(2 * np.pi * 3100 * t), 16000,
             subtype="PCM_16")
    return path


def _tiny_png(path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, size=(20, 24, 3)).astype(np.uint8)).save(path)
    return path


TINY = ["--width", "16", "--layers", "2", "--points", "64", "--act-points", "256", "--quiet"]


@pytest.mark.parametrize("make, sampling", [(_tiny_wav, "window"), (_tiny_png, "even")])
def test_analyze_end_to_end(tmp_path, capsys, make, sampling):
    target = make(tmp_path / ("clip.wav" if make is _tiny_wav else "img.png"))
    out = tmp_path / "out"
    code = main(["analyze", str(target), "--out", str(out), *TINY, "--epochs-at", "0,3", "--sweep", "s0=0,300",
                 "--sweep-epochs", "2", "--sampling", sampling])
    assert code == 0, capsys.readouterr().err
    files = sorted(p.name for p in out.iterdir())
    assert files == ["activation_histograms_e0.png", "activation_histograms_e3.png", "activation_spectra_e0.png",
                     "activation_spectra_e3.png", "activations.npz", "analysis.json", "fit_psnr.png", "ntk.npz",
                     "ntk_eigenvalues.png", "ntk_spectrum.png", "sensitivity.json", "sensitivity.png"]
    summary = json.loads((out / "analysis.json").read_text())
    channels = 1 if make is _tiny_wav else 3
    assert [s["epoch"] for s in summary["models"]["siren2"]["snapshots"]] == [0, 3]
    with np.load(out / "ntk.npz") as ntk:  # no pickles needed
        n = summary["ntk_points"]["n"]
        assert ntk["siren/e3/eigenvalues"].shape == (channels, n)
        assert ntk["siren2/e0/spectrum"].shape == (channels, len(ntk["freqs"]))
        assert ntk["target_spectrum"].shape == (channels, len(ntk["freqs"]))
    with np.load(out / "activations.npz") as act:
        assert act["siren2/e0/psd"].shape == (2, len(act["freqs"]))
        assert act["siren2/e0/layer1/law_pre"].shape == act["siren2/e0/layer1/pre_density"].shape
    sweep = json.loads((out / "sensitivity.json").read_text())
    assert [p["s0"] for p in sweep["points"]] == [0.0, 300.0] and "siren" in sweep["references"]
    assert summary["freq_unit"] == ("Hz" if make is _tiny_wav else "cycles/sample")
    assert summary["ntk_points"] == ({"n": 64, "shape": [64], "stride": 1} if sampling == "window"
                                     else {"n": 64, "shape": [8, 8], "stride": 2})


def test_analyze_refuses_over_memory_budget(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["analyze", str(_tiny_wav(tmp_path / "a.wav")), "--out", str(out), *TINY, "--ntk-memory", "0.0001"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "memory budget" in err[0]
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
