"""SIREN (SPEC §2) and its initializer; SIREN² is SIREN with ω_first = 30 plus :func:`~siren2.winner.winner_`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .layers import INR, Dense, Sine


@dataclass
class SirenConfig:
    """A SIREN: ``in_dim → hidden_layers × width (sine) → out_dim``."""

    in_dim: int = 1
    out_dim: int = 1
    hidden_layers: int = 4
    width: int = 222
    omega_first: float = 30.0  # ω of the first sine; the paper's SIREN uses 3000 for audio
    omega0: float = 30.0  # ω of every later sine, and the scale of the weight init

    def __post_init__(self) -> None:
        for name in ("in_dim", "out_dim", "hidden_layers", "width"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")


@torch.no_grad()
def siren_init_(model: INR, omega0: float = 30.0) -> INR:
    """SIREN's uniform init, in place: W⁰ ~ U(±1/in); every later weight, the head included,
    ~ U(±√(6/H)/ω0) with H its fan-in. Biases keep nn.Linear's default U(±1/√fan_in)."""
    linears = [block.linear for block in model.hidden] + [model.head]
    first = linears[0]
    first.weight.uniform_(-1.0 / first.in_features, 1.0 / first.in_features)
    for layer in linears[1:]:
        bound = math.sqrt(6.0 / layer.in_features) / omega0
        layer.weight.uniform_(-bound, bound)
    return model


def build_siren(cfg: SirenConfig) -> INR:
    """An initialized SIREN."""
    dims = [cfg.in_dim] + [cfg.width] * cfg.hidden_layers
    hidden = [
        Dense(dims[i], dims[i + 1], Sine(cfg.omega_first if i == 0 else cfg.omega0))
        for i in range(cfg.hidden_layers)
    ]
    model = INR(hidden, nn.Linear(cfg.width, cfg.out_dim), config=cfg)
    return siren_init_(model, cfg.omega0)
