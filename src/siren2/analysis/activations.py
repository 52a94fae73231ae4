"""Activation statistics of an INR: every hidden layer's pre- and post-activation (docs/method.md#analysis-tools).

For a hidden block ``act(z)``, z = W·h + b is the linear output. A sine-family block applies
sin to ω·z, so the laws below are stated for **ω·z** (what sin receives), not for z (FINER's
sin(ω·(|z|+1)·z) gets the arcsine reference only):

* post-activation sin(ω·z): the **arcsine law** p(y) = 1/(π√(1 − y²)) on (−1, 1), variance 1/2,
  once ω·z spreads over many periods (the first layer; the second under WINNER with s1 > 0). For
  ω·z ~ N(0, σ²) the variance is (1 − e^(−2σ²))/2 instead: 0.46 at σ² = 1.3, where a plain SIREN's
  later layers sit, so their post-activations are only close to arcsine;
* pre-activation ω0·z of a later sine layer l ≥ 1 with fan-in d, at the SIREN/WINNER init:
  ω0·W ~ U(±√(6/d)) + N(0, s²) gives Var = d·(2/d + s²)·E[a²] = **1 + d·s²/2** for inputs a with
  E[a²] = 1/2 (the paper's law; s = s1 for the second layer, 0 beyond). Two corrections make it
  match the network (tests check both): PyTorch's default bias b ~ U(±1/√d) adds ω0²/(3d) (1.35
  for d = 222, 0.29 for d = 1024), and beyond the second layer E[a²] < 1/2 (above), taken from the
  previous layer's predicted σ² (treating the bias offset as Gaussian too: for d = 222 the offsets
  reach ±2 rad and ω0·z is visibly flatter-topped). [`reference_laws`][] returns both laws.

Spectra: the periodogram of each neuron's post-activation (its mean removed) over a regular
sub-grid, averaged over the layer's neurons (see [`siren2.analysis.spectra`][] for 1-D / 2-D).
Complex layers (WIRE) are analysed through their real part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..models.layers import Sine, SineFamily
from .spectra import weighted_power

__all__ = ["LayerActivations", "layer_activations", "arcsine_density", "gaussian_density", "preactivation_variance",
           "sine_power", "reference_laws", "histograms", "activation_spectra"]


@dataclass
class LayerActivations:
    """One hidden layer on n points: the linear output z and the post-activation act(z).

    Attributes
    ----------
    z
        (n, H): z = W·h + b.
    post
        (n, H): act(z).
    activation
        The activation's class name.
    omega
        ω of a sine-family activation (sin is applied to ω·z), else None.
    fan_in
        The layer's fan-in d.
    """

    z: np.ndarray
    post: np.ndarray
    activation: str  # the activation's class name
    omega: float | None  # ω of a sine-family activation (sin is applied to ω·z), else None
    fan_in: int

    @property
    def pre(self) -> np.ndarray:
        """What the nonlinearity's law is stated for: ω·z for a sine-family layer, else z."""
        return self.z * self.omega if self.omega is not None else self.z


@torch.no_grad()
def layer_activations(model: nn.Module, coords: torch.Tensor, chunk_size: int = 65_536) -> list[LayerActivations]:
    """z and act(z) of every block in ``model.hidden`` at ``coords``, via forward hooks.

    Memory: 2·n·H·L float32 values are returned (H width, L hidden layers). Complex layers (WIRE)
    are kept as their real part.

    Parameters
    ----------
    model
        An INR.
    coords
        (n, d) coordinates.
    chunk_size
        Points per forward pass.

    Returns
    -------
    list of LayerActivations
        One per hidden layer.
    """
    device = next(model.parameters()).device
    blocks = list(model.hidden)
    store: dict[int, tuple[list, list]] = {i: ([], []) for i in range(len(blocks))}

    def hook(i: int, which: int):
        return lambda module, inputs, output: store[i][which].append(output.real.float().cpu())

    handles = [h for i, b in enumerate(blocks)
               for h in (b.linear.register_forward_hook(hook(i, 0)), b.register_forward_hook(hook(i, 1)))]
    try:
        for start in range(0, coords.shape[0], chunk_size):
            model(coords[start : start + chunk_size].to(device))
    finally:
        for h in handles:
            h.remove()
    return [LayerActivations(z=torch.cat(store[i][0]).numpy(), post=torch.cat(store[i][1]).numpy(),
                             activation=type(b.act).__name__,
                             omega=b.act.omega if isinstance(b.act, SineFamily) else None,
                             fan_in=b.linear.in_features)
            for i, b in enumerate(blocks)]


def arcsine_density(y: np.ndarray) -> np.ndarray:
    """1/(π√(1 − y²)) on (−1, 1), 0 outside: the law of sin(u) for u spread over many periods.

    Parameters
    ----------
    y
        Where to evaluate it.

    Returns
    -------
    ndarray
    """
    y = np.asarray(y, dtype=np.float64)
    out = np.zeros_like(y)
    inside = np.abs(y) < 1
    out[inside] = 1.0 / (math.pi * np.sqrt(1.0 - y[inside] ** 2))
    return out


def gaussian_density(x: np.ndarray, variance: float) -> np.ndarray:
    """The N(0, ``variance``) density at ``x``.

    Parameters
    ----------
    x
        Where to evaluate it.
    variance
        σ².

    Returns
    -------
    ndarray
    """
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * x**2 / variance) / math.sqrt(2 * math.pi * variance)


def preactivation_variance(fan_in: int, s: float = 0.0, omega0: float = 30.0, bias: bool = True,
                           input_power: float = 0.5) -> float:
    """Var(ω0·z) of a sine layer at init: (2 + d·s²)·E[a²], plus ω0²/(3d) for the default bias.

    The paper's 1 + d·s²/2 for E[a²] = 1/2 and no bias.

    Parameters
    ----------
    fan_in
        d.
    s
        The WINNER noise scale of the layer's weights (s1 for the second layer, 0 beyond).
    omega0
        ω0.
    bias
        Add the default bias's ω0²/(3d).
    input_power
        E[a²] of the layer's inputs.

    Returns
    -------
    float
    """
    return (2.0 + fan_in * s**2) * input_power + (omega0**2 / (3 * fan_in) if bias else 0.0)


def sine_power(variance: float) -> float:
    """E[sin²(u)] for u ~ N(0, σ²): (1 − e^(−2σ²))/2, → 1/2 as σ grows.

    Parameters
    ----------
    variance
        σ².

    Returns
    -------
    float
    """
    return (1.0 - math.exp(-2.0 * variance)) / 2


def reference_laws(model: nn.Module, s1: float | None = None, bias: bool = True) -> list[dict]:
    """Per hidden layer, the init-time laws that apply (see the module docstring).

    Parameters
    ----------
    model
        An INR.
    s1
        WINNER's s1 for the second layer; None: ``model.winner.s1``, else 0.
    bias
        Include the default bias's term in the corrected pre-activation variance.

    Returns
    -------
    list of dict
        ``post``: "arcsine" for a sine-family layer, else None. When every hidden layer is a
        [`Sine`][]: ``post_var`` = E[a²], and for l ≥ 1 ``pre_var_paper`` =
        1 + d·s²/2 and ``pre_var`` (corrected), with s = s1 for l = 1, 0 beyond (and ``s``,
        ``fan_in``).
    """
    if s1 is None:
        s1 = model.winner.s1 if getattr(model, "winner", None) is not None else 0.0
    sine = all(isinstance(block.act, Sine) for block in model.hidden)
    laws, power = [], 0.5  # E[sin²] of the first layer, whose ω_first·z spans many periods
    for i, block in enumerate(model.hidden):
        law: dict = {"post": "arcsine" if isinstance(block.act, SineFamily) else None}
        if sine and i >= 1:
            d, s, w = block.linear.in_features, (s1 if i == 1 else 0.0), block.act.omega
            var = preactivation_variance(d, s, w, bias=bias, input_power=power)
            law |= {"s": s, "fan_in": d, "pre_var_paper": preactivation_variance(d, s, w, bias=False),
                    "pre_var": var}
            power = sine_power(var)
        if sine:
            law["post_var"] = power
        laws.append(law)
    return laws


def histograms(layers: list[LayerActivations], laws: list[dict], bins: int = 101) -> list[dict]:
    """Per layer: density histograms of the pre- and post-activation, their variances, and the reference densities.

    Parameters
    ----------
    layers
        [`layer_activations`][].
    laws
        [`reference_laws`][], one per layer.
    bins
        Bins per histogram.

    Returns
    -------
    list of dict
        Per layer: ``pre_label`` (ω·z or z), ``pre_edges``, ``pre_density``, ``pre_var``,
        ``post_edges``, ``post_density``, ``post_var``, and the laws' densities at the bin centres
        ``law_pre_paper``, ``law_pre``, ``law_post`` (NaN where no law applies).
    """
    out = []
    for layer, law in zip(layers, laws):
        pre, post = layer.pre.ravel(), layer.post.ravel()
        lim = float(np.quantile(np.abs(pre), 0.999)) or 1.0
        pre_density, pre_edges = np.histogram(pre, bins=bins, range=(-lim, lim), density=True)
        post_density, post_edges = np.histogram(post, bins=bins, density=True)
        pc, qc = (pre_edges[1:] + pre_edges[:-1]) / 2, (post_edges[1:] + post_edges[:-1]) / 2
        nan = np.full(bins, np.nan)
        out.append({
            "pre_label": "ω·z" if layer.omega is not None else "z",
            "pre_edges": pre_edges, "pre_density": pre_density, "pre_var": float(pre.var()),
            "post_edges": post_edges, "post_density": post_density, "post_var": float(post.var()),
            "law_pre_paper": gaussian_density(pc, law["pre_var_paper"]) if "pre_var" in law else nan,
            "law_pre": gaussian_density(pc, law["pre_var"]) if "pre_var" in law else nan,
            "law_post": arcsine_density(qc) if law["post"] == "arcsine" else nan,
        })
    return out


def activation_spectra(layers: list[LayerActivations], shape: tuple[int, ...]) -> np.ndarray:
    """Per layer, the periodogram of each neuron's post-activation (mean removed), averaged over neurons.

    Parameters
    ----------
    layers
        [`layer_activations`][] on a regular sub-grid.
    shape
        The sub-grid's shape.

    Returns
    -------
    ndarray
        (L, F), on the frequencies of [`frequencies`][siren2.analysis.spectra.frequencies].
    """
    return np.stack([weighted_power(layer.post - layer.post.mean(axis=0), shape) for layer in layers])
