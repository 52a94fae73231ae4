"""SIREN (docs/method.md#siren) and its initializer; SIREN² is SIREN with ω_first = 30 plus
[`winner_`][siren2.winner.winner_].

[`build_siren`][] also builds the sine-family baselines that share SIREN's architecture and
initialization (FINER: another activation; SIREN+RFF: an encoding in front); see
[`siren2.models.baselines`][].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import nn

from .layers import INR, Sine, SineFamily, dense_stack

__all__ = ["MLPConfig", "SirenConfig", "siren_init_", "build_siren"]


@dataclass
class MLPConfig:
    """The shape every model shares: ``in_dim → hidden_layers × width → out_dim``.

    Attributes
    ----------
    in_dim
        Coordinates in (d).
    out_dim
        Channels out (C).
    hidden_layers
        Hidden layers.
    width
        Hidden width H.

    Raises
    ------
    ValueError
        If a size is below 1, or a float field (a frequency or scale: ω, σ, ...) is not a positive number.
    """

    in_dim: int = 1
    out_dim: int = 1
    hidden_layers: int = 4
    width: int = 222

    def __post_init__(self) -> None:
        for name in ("in_dim", "out_dim", "hidden_layers", "width"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        for f in fields(self):  # every frequency and scale (ω, σ, ...) is a positive number
            value = getattr(self, f.name)
            if "float" in str(f.type) and value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{f.name} must be a positive number, not {value}")


@dataclass
class SirenConfig(MLPConfig):
    """A SIREN: ``in_dim → hidden_layers × width (sine) → out_dim``.

    Attributes
    ----------
    omega_first
        ω_first, the ω of the first sine; the paper's SIREN uses 3000 for audio.
    omega0
        ω0, the ω of every later sine, and the scale of the weight init.
    """

    omega_first: float = 30.0  # ω of the first sine; the paper's SIREN uses 3000 for audio
    omega0: float = 30.0  # ω of every later sine, and the scale of the weight init


@torch.no_grad()
def siren_init_(model: INR, omega0: float = 30.0) -> INR:
    """SIREN's uniform init, in place: W⁰ ~ U(±1/in); every later weight ~ U(±√(6/H)/ω0).

    H is the layer's fan-in; the head is included. Biases keep nn.Linear's default U(±1/√fan_in).

    Parameters
    ----------
    model
        An INR.
    omega0
        The hidden ω0.

    Returns
    -------
    INR
        ``model``.
    """
    linears = [block.linear for block in model.hidden] + [model.head]
    first = linears[0]
    first.weight.uniform_(-1.0 / first.in_features, 1.0 / first.in_features)
    for layer in linears[1:]:
        bound = math.sqrt(6.0 / layer.in_features) / omega0
        layer.weight.uniform_(-bound, bound)
    return model


def build_siren(cfg: SirenConfig, activation: type[SineFamily] = Sine, encoding: nn.Module | None = None) -> INR:
    """An initialized SIREN: ω_first in the first activation, ω0 in the others.

    Parameters
    ----------
    cfg
        Its shape and frequencies.
    activation
        Swaps the sine for another of the family (FINER).
    encoding
        Maps the coordinates first (SIREN+RFF); the first layer's fan-in is then the encoding's width.

    Returns
    -------
    INR
    """
    in_features = encoding.out_features if encoding is not None else cfg.in_dim
    hidden = dense_stack(in_features, cfg.width, cfg.hidden_layers,
                         lambda i: activation(cfg.omega_first if i == 0 else cfg.omega0))
    model = INR(hidden, nn.Linear(cfg.width, cfg.out_dim), encoding, config=cfg)
    return siren_init_(model, cfg.omega0)
