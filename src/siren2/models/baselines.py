"""The paper's baselines (docs/method.md#the-baselines) as thin compositions of [`siren2.models.layers`][].

Each builder takes its config dataclass and returns an initialized [`INR`][]; the registry
([`siren2.models`][]) names them and fills the configs from a preset.

* SIREN+RFF: [`FourierFeatures`][] (B ~ N(0, 30²), (in, H/2)) in front of a SIREN.
* FINER / FINER++: SIREN's network and init with the [`Finer`][] activation, ω = 30 everywhere;
  FINER++ draws the first-layer bias from U(−5, 5).
* WIRE: [`Gabor`][] activations (ω = 10, σ = 10), first layer real and later layers complex,
  width int(H/√2) for parameter parity, the output the real part.
* Gauss: [`Gauss`][] activations exp(−(30·z)²), nn.Linear's default init.
* ReLU+PE: [`PositionalEncoding`][] (7 frequencies) in front of a ReLU MLP, default init.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .layers import INR, Finer, FourierFeatures, Gabor, Gauss, PositionalEncoding, RealPart, dense_stack
from .siren import MLPConfig, SirenConfig, build_siren

__all__ = ["RFFConfig", "FinerConfig", "WireConfig", "GaussConfig", "ReluPEConfig", "build_siren_rff",
           "build_finer", "wire_width", "build_wire", "build_gauss", "build_relu_pe"]


@dataclass
class RFFConfig(SirenConfig):
    """SIREN+RFF: ``width // 2`` fixed Fourier features with B ~ N(0, rff_scale²), then a SIREN.

    Attributes
    ----------
    rff_scale
        B's standard deviation.
    """

    rff_scale: float = 30.0


@dataclass
class FinerConfig(SirenConfig):
    """FINER: ω = 30 in every layer.

    Attributes
    ----------
    first_bias_scale
        k: the first bias is drawn from U(−k, k); None: nn.Linear's default (FINER++: 5).
    """

    first_bias_scale: float | None = None


@dataclass
class WireConfig(MLPConfig):
    """WIRE: ``width`` is the SIREN width it is matched to; the hidden width is int(width/√2).

    Attributes
    ----------
    omega
        The Gabor wavelet's frequency ω.
    sigma
        Its width σ.

    Raises
    ------
    ValueError
        If the hidden width int(width/√2) would be below 1.
    """

    omega: float = 10.0
    sigma: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if wire_width(self.width) < 1:
            raise ValueError(f"width must be at least 2 for WIRE (hidden width int(width/√2)), not {self.width}")


@dataclass
class GaussConfig(MLPConfig):
    """Gauss: exp(−(s·z)²) activations.

    Attributes
    ----------
    scale
        s.
    """
    scale: float = 30.0


@dataclass
class ReluPEConfig(MLPConfig):
    """ReLU+PE: NeRF's positional encoding, then a ReLU MLP.

    Attributes
    ----------
    frequencies
        The encoding's octaves.
    """
    frequencies: int = 7


def build_siren_rff(cfg: RFFConfig) -> INR:
    """SIREN+RFF: [`FourierFeatures`][] of ``width // 2`` columns in front of a SIREN.

    Parameters
    ----------
    cfg
        Its shape, frequencies and ``rff_scale``.

    Returns
    -------
    INR
    """
    return build_siren(cfg, encoding=FourierFeatures(cfg.in_dim, cfg.width // 2, cfg.rff_scale))


@torch.no_grad()
def build_finer(cfg: FinerConfig) -> INR:
    """FINER / FINER++: SIREN's network and init with the [`Finer`][] activation.

    Parameters
    ----------
    cfg
        Its shape and frequencies; ``first_bias_scale`` k redraws the first bias from U(−k, k).

    Returns
    -------
    INR
    """
    model = build_siren(cfg, activation=Finer)
    if cfg.first_bias_scale is not None:
        model.hidden[0].linear.bias.uniform_(-cfg.first_bias_scale, cfg.first_bias_scale)
    return model


def wire_width(width: int) -> int:
    """WIRE's hidden width for parameter parity with a real network of ``width``.

    Parameters
    ----------
    width
        The real network's hidden width.

    Returns
    -------
    int
        int(width/√2).
    """
    return int(width / math.sqrt(2))


def build_wire(cfg: WireConfig) -> INR:
    """WIRE: [`Gabor`][] activations, the first layer real and later layers complex.

    Width [`wire_width`][], for parameter parity; the output is the real part.

    Parameters
    ----------
    cfg
        Its shape, ω and σ.

    Returns
    -------
    INR
    """
    w = wire_width(cfg.width)
    hidden = dense_stack(cfg.in_dim, w, cfg.hidden_layers, lambda i: Gabor(cfg.omega, cfg.sigma),
                         dtype=lambda i: None if i == 0 else torch.cfloat)
    head = nn.Sequential(nn.Linear(w, cfg.out_dim, dtype=torch.cfloat), RealPart())
    return INR(hidden, head, config=cfg)


def build_gauss(cfg: GaussConfig) -> INR:
    """Gauss: [`Gauss`][] activations, nn.Linear's default init.

    Parameters
    ----------
    cfg
        Its shape and scale.

    Returns
    -------
    INR
    """
    hidden = dense_stack(cfg.in_dim, cfg.width, cfg.hidden_layers, lambda i: Gauss(cfg.scale))
    return INR(hidden, nn.Linear(cfg.width, cfg.out_dim), config=cfg)


def build_relu_pe(cfg: ReluPEConfig) -> INR:
    """ReLU+PE: [`PositionalEncoding`][] in front of a ReLU MLP, default init.

    Parameters
    ----------
    cfg
        Its shape and the encoding's frequencies.

    Returns
    -------
    INR
    """
    encoding = PositionalEncoding(cfg.in_dim, cfg.frequencies)
    hidden = dense_stack(encoding.out_features, cfg.width, cfg.hidden_layers, lambda i: nn.ReLU())
    return INR(hidden, nn.Linear(cfg.width, cfg.out_dim), encoding, config=cfg)
