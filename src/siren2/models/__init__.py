"""The model registry: ``create_model(name, signal=..., **overrides)``, ``list_models()``.

Every entry builds an :class:`~siren2.models.layers.INR` from its config dataclass, filled from a
preset (shape, and hyper-parameters the preset sets) plus overrides. Adding a model is one
:func:`register` call; nothing else needs to know about it. An entry also records the training
settings where the paper's reference code differs from the preset (:func:`fit_defaults`), and its
peak lr relative to a recipe's where it needs its own (:func:`lr_factor`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable

import torch

from ..presets import Preset, get_preset, preset_in_dim
from ..winner import AUTO, auto_scales, resolve_rule, resolve_scales, winner_
from .baselines import (FinerConfig, GaussConfig, ReluPEConfig, RFFConfig, WireConfig, build_finer, build_gauss,
                        build_relu_pe, build_siren_rff, build_wire, wire_width)
from .layers import (INR, Dense, Finer, FourierFeatures, Gabor, Gauss, PositionalEncoding, RealPart, Sine,
                     SineFamily, num_parameters)
from .siren import MLPConfig, SirenConfig, build_siren, siren_init_


@dataclass(frozen=True)
class ModelEntry:
    build: Callable[..., INR]  # config dataclass -> initialized model
    config: type  # its config dataclass; the fields beyond in_dim/out_dim are the allowed overrides
    description: str
    defaults: Callable[[Preset], dict] = lambda p: {}  # hyper-parameters set per preset (SIREN's ω_first)
    winner: bool = False  # WINNER noise from the target's ψ after building (SIREN², FINER²)
    fit_defaults: dict = field(default_factory=dict)  # FitConfig fields where the paper's code differs
    lr_factor: dict = field(default_factory=dict)  # recipe -> {in_dim: its peak lr / the recipe's} (tuned)


_REGISTRY: dict[str, ModelEntry] = {}


def register(name: str, description: str, config: type, build: Callable[..., INR], *,
             defaults: Callable[[Preset], dict] = lambda p: {}, winner: bool = False,
             fit_defaults: dict | None = None, lr_factor: dict | None = None) -> ModelEntry:
    """Add model ``name``: ``build(config(...))`` makes it; see :class:`ModelEntry` for the rest."""
    entry = ModelEntry(build, config, description, defaults, winner, dict(fit_defaults or {}), dict(lr_factor or {}))
    _REGISTRY[name] = entry
    return entry


def get_entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def list_models() -> dict[str, str]:
    """Registered model names and one-line descriptions."""
    return {name: entry.description for name, entry in _REGISTRY.items()}


def winner_models() -> list[str]:
    """The registered models that apply WINNER (and so take s0, s1, rule, centroid)."""
    return [name for name, entry in _REGISTRY.items() if entry.winner]


def fit_defaults(name: str) -> dict:
    """The :class:`~siren2.train.FitConfig` fields model ``name`` sets over the preset's schedule
    (e.g. ``{"batch_size": 65536}`` for FINER); empty where the preset's schedule is the paper's."""
    return dict(get_entry(name).fit_defaults)


def lr_factor(name: str, recipe: str, in_dim: int) -> float:
    """Model ``name``'s peak lr under ``recipe`` for ``in_dim``-D signals relative to the recipe's own
    (1: the same), tuned with the budget SIREN²'s was (``benchmarks/fast_lr.py``)."""
    return get_entry(name).lr_factor.get(recipe, {}).get(in_dim, 1.0)


def create_model(name: str, signal=None, *, in_dim: int | None = None, out_dim: int | None = None,
                 preset: str | None = None, seed: int | None = None, s0: float | None = None,
                 s1: float | None = None, rule: str | None = None, centroid: str = "flattened",
                 race=None, device: torch.device | str | None = None, **overrides) -> INR:
    """Build model ``name`` for ``signal`` (or for ``in_dim → out_dim``).

    The preset (default: by the signal's dimension) gives the shape and the model's per-preset
    hyper-parameters; ``overrides`` set any field of the model's config dataclass (``width``,
    ``hidden_layers``, and e.g. ``omega_first`` for SIREN, ``sigma`` for WIRE). WINNER models read
    ψ from ``signal`` and map it to (s0, s1) with ``rule`` (None: ``code`` for audio and images, ``auto``
    in 3-D; ``"auto"``: :func:`~siren2.winner.auto_scales` searches them on the model itself, ``race``
    (s0, s1) ↦ a short fit's loss choosing along its valley; :func:`siren2.runs.run_fit` supplies it),
    unless s0 and s1 are given.
    ``seed`` makes the initialization reproducible: it is drawn on the CPU, the same on every
    ``device``, to which the model then moves before WINNER's search runs on it (default: the CPU).
    """
    entry = get_entry(name)
    in_dim = in_dim or (signal.in_dim if signal is not None else 1)
    out_dim = out_dim or (signal.channels if signal is not None else 1)
    _, p = get_preset(preset, in_dim)
    allowed = {f.name for f in fields(entry.config)} - {"in_dim", "out_dim"}
    unknown = set(overrides) - allowed
    if unknown:
        raise ValueError(f"unknown options for model {name!r}: {', '.join(sorted(unknown))} "
                         f"(it takes {', '.join(sorted(allowed))})")
    if not entry.winner and (s0 is not None or s1 is not None):
        raise ValueError(f"s0/s1 apply to WINNER models only ({', '.join(winner_models())}), not {name!r}")
    cfg = entry.config(**({"in_dim": in_dim, "out_dim": out_dim, "hidden_layers": p.hidden_layers,
                           "width": p.width} | entry.defaults(p) | overrides))
    if seed is not None:
        torch.manual_seed(seed)
    model = entry.build(cfg).to(device)
    model.name = name
    if entry.winner:
        apply_winner(model, signal, s0=s0, s1=s1, rule=rule, centroid=centroid, race=race)
    return model


def apply_winner(model: INR, signal, race=None, **winner_opts) -> INR:
    """Resolve (ψ, s0, s1) for ``signal`` and perturb ``model`` in place; records them on the model.
    ``race``: rule auto's chooser along its valley (:func:`~siren2.winner.auto_scales`).

    Refuses (TypeError) models WINNER does not apply to: see :meth:`INR.first_two_linear`.
    """
    model.first_two_linear()  # refuse before reading the target
    given = winner_opts.get("s0") is not None and winner_opts.get("s1") is not None
    rule = resolve_rule(winner_opts.get("rule"), model.config.in_dim)
    if rule == AUTO and not given:
        if signal is None:
            raise ValueError("WINNER's rule 'auto' needs the target signal, or both s0 and s1")
        scales = auto_scales(model, signal, s0=winner_opts.get("s0"), s1=winner_opts.get("s1"),
                             centroid=winner_opts.get("centroid", "flattened"), race=race)
    else:
        scales = resolve_scales(signal, **winner_opts)
    winner_(model, scales.s0, scales.s1, omega0=model.config.omega0)
    model.winner = scales
    return model


def model_summary(preset: str | None = None, channels: int = 1) -> list[dict]:
    """Every registered model built for ``preset`` (default paper_audio) with ``channels`` outputs:
    name, description, parameter count (a complex weight counts as two), fit defaults."""
    preset_name, _ = get_preset(preset or "paper_audio")
    in_dim = preset_in_dim(preset_name)
    rows = []
    with torch.random.fork_rng(devices=[]):
        for name, entry in _REGISTRY.items():
            scales = {"s0": 0.0, "s1": 0.0} if entry.winner else {}  # noise does not change the count
            model = create_model(name, in_dim=in_dim, out_dim=channels, preset=preset_name, **scales)
            rows.append({"name": name, "description": entry.description, "parameters": num_parameters(model),
                         "fit_defaults": dict(entry.fit_defaults)})
    return rows


# ------------------------------------------------------------------------------------- the registry

# Image peak lr under `fast` where a model is better off away from SIREN²'s 0.1/H: the best of the factors
# 0.5-32 on camera's central 128², searched until past each model's peak (benchmarks/results/fast_lr.md). On audio no factor lifted any baseline
# off the zero output, so they keep the recipe's rate.
def _fast_image(factor: float) -> dict:
    return {"fast": {2: factor}}


# SPEC §4: the reference code trains these on 65,536-point mini-batches (SIREN, SIREN², SIREN+RFF: full batch).
MINIBATCH = {"batch_size": 65_536}


def _preset_omega(p: Preset) -> dict:
    return {"omega_first": p.omega_first}  # the paper's SIREN: 3000 for audio, 30 for images


register("siren", "SIREN (Sitzmann et al.): sine MLP, uniform init; ω_first 3000 for audio, 30 otherwise",
         SirenConfig, build_siren, defaults=_preset_omega, lr_factor=_fast_image(2.0))
register("siren2", "SIREN²: SIREN with ω_first 30 + WINNER noise on W⁰, W¹ from the target's ψ",
         SirenConfig, build_siren, winner=True)
register("siren_rff", "SIREN+RFF: fixed Fourier features [cos xB, sin xB], B ~ N(0, 30²) (in, H/2), then SIREN",
         RFFConfig, build_siren_rff, defaults=_preset_omega)
register("finer", "FINER: sin(ω(|z|+1)z), (|z|+1) detached, ω 30 in all layers, SIREN init",
         FinerConfig, build_finer, fit_defaults=MINIBATCH)
register("finer++", "FINER++: FINER with the first-layer bias ~ U(−5, 5)",
         FinerConfig, build_finer, defaults=lambda p: {"first_bias_scale": 5.0}, fit_defaults=MINIBATCH)
register("finer2", "FINER²: FINER + WINNER noise on W⁰, W¹ from the target's ψ (ours, not in the paper)",
         FinerConfig, build_finer, winner=True, fit_defaults=MINIBATCH)
register("wire", "WIRE: complex Gabor exp(jωz − |σz|²), ω 10, σ 10; complex after layer 1, width int(H/√2)",
         WireConfig, build_wire, fit_defaults=MINIBATCH, lr_factor=_fast_image(8.0))
register("gauss", "Gauss: exp(−(30z)²) activations, nn.Linear default init",
         GaussConfig, build_gauss, fit_defaults=MINIBATCH)
register("relu_pe", "ReLU+PE: NeRF positional encoding (7 frequencies), then a ReLU MLP",
         ReluPEConfig, build_relu_pe, fit_defaults=MINIBATCH, lr_factor=_fast_image(16.0))


__all__ = ["create_model", "list_models", "register", "get_entry", "fit_defaults", "lr_factor", "winner_models",
           "model_summary",
           "apply_winner", "ModelEntry", "INR", "Dense", "Sine", "SineFamily", "Finer", "Gauss", "Gabor", "RealPart",
           "PositionalEncoding", "FourierFeatures", "MLPConfig", "SirenConfig", "RFFConfig", "FinerConfig",
           "WireConfig", "GaussConfig", "ReluPEConfig", "build_siren", "build_siren_rff", "build_finer", "build_wire",
           "build_gauss", "build_relu_pe", "wire_width", "siren_init_", "num_parameters", "MINIBATCH"]
