"""The model registry: ``create_model(name, signal=..., **overrides)``, ``list_models()``.

Every entry builds an :class:`~siren2.models.layers.INR` from a preset plus overrides. Adding a
model is one ``register`` call with a builder; nothing else needs to know about it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Callable

import torch
from torch import nn

from ..presets import get_preset
from ..winner import resolve_scales, winner_
from .layers import INR, Dense, Sine, num_parameters
from .siren import SirenConfig, build_siren, siren_init_


@dataclass(frozen=True)
class ModelEntry:
    build: Callable[..., INR]  # (SirenConfig-like config, signal, winner options) -> model
    description: str


_REGISTRY: dict[str, ModelEntry] = {}


def register(name: str, description: str):
    def deco(build):
        _REGISTRY[name] = ModelEntry(build, description)
        return build
    return deco


def list_models() -> dict[str, str]:
    """Registered model names and one-line descriptions."""
    return {name: entry.description for name, entry in _REGISTRY.items()}


def create_model(name: str, signal=None, *, in_dim: int | None = None, out_dim: int | None = None,
                 preset: str | None = None, seed: int | None = None, s0: float | None = None,
                 s1: float | None = None, rule: str = "code", centroid: str = "flattened",
                 **overrides) -> INR:
    """Build model ``name`` for ``signal`` (or for ``in_dim → out_dim``).

    The preset (default: by the signal's dimension) gives the shape; ``overrides`` set any field of
    :class:`SirenConfig` (``width``, ``hidden_layers``, ``omega_first``, ``omega0``). WINNER models
    read ψ from ``signal`` and map it to (s0, s1) with ``rule``, unless s0 and s1 are given.
    ``seed`` makes the initialization reproducible.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(_REGISTRY)}")
    in_dim = in_dim or (signal.in_dim if signal is not None else 1)
    out_dim = out_dim or (signal.channels if signal is not None else 1)
    _, p = get_preset(preset, in_dim)
    unknown = set(overrides) - {f.name for f in fields(SirenConfig)}
    if unknown:
        raise ValueError(f"unknown model options: {', '.join(sorted(unknown))}")
    cfg = SirenConfig(in_dim, out_dim, p.hidden_layers, p.width, p.omega_first)
    if seed is not None:
        torch.manual_seed(seed)
    winner_opts = dict(s0=s0, s1=s1, rule=rule, centroid=centroid)
    model = _REGISTRY[name].build(cfg, overrides, signal, winner_opts)
    model.name = name
    return model


@register("siren", "SIREN (Sitzmann et al.): sine MLP, uniform init; ω_first 3000 for audio, 30 otherwise")
def _siren(cfg, overrides, signal, winner_opts):
    return build_siren(replace(cfg, **overrides))


@register("siren2", "SIREN²: SIREN with ω_first 30 + WINNER noise on W⁰, W¹ from the target's ψ")
def _siren2(cfg, overrides, signal, winner_opts):
    model = build_siren(replace(cfg, **({"omega_first": 30.0} | overrides)))
    return apply_winner(model, signal, **winner_opts)


def apply_winner(model: INR, signal, **winner_opts) -> INR:
    """Resolve (ψ, s0, s1) for ``signal`` and perturb ``model`` in place; records them on the model."""
    scales = resolve_scales(signal, **winner_opts)
    winner_(model, scales.s0, scales.s1, omega0=model.config.omega0)
    model.winner = scales
    return model


__all__ = ["create_model", "list_models", "register", "apply_winner", "INR", "Dense", "Sine",
           "SirenConfig", "build_siren", "siren_init_", "num_parameters"]
