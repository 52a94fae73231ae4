"""The model registry: a name → a network, built and initialized (nothing about data or training).

Every entry builds an [`INR`][] from its config dataclass, filled from a
preset (shape, and the hyper-parameters a preset sets, e.g. SIREN's ω_first) plus overrides. Adding
a model is one [`register`][] call; nothing else needs to know about it. An entry marked
``winner`` takes WINNER's noise ([`siren2.winner.winner_`][]) after SIREN's initialization; the
scales are a property of the target, resolved when a run builds its model ([`siren2.build`][]),
not here. How each model trains (the paper's mini-batches, its own peak rate) is in
[`siren2.recipes`][].

    >>> model = build_model("siren", in_dim=1, out_dim=1, preset="paper_audio", seed=0)   # ω_first 3000
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

import torch

from ..presets import Preset, get_preset
from .baselines import (FinerConfig, GaussConfig, ReluPEConfig, RFFConfig, WireConfig, build_finer, build_gauss,
                        build_relu_pe, build_siren_rff, build_wire, wire_width)
from .layers import (INR, Dense, Finer, FourierFeatures, Gabor, Gauss, PositionalEncoding, RealPart, Sine,
                     SineFamily, num_parameters)
from .siren import MLPConfig, SirenConfig, build_siren, siren_init_


@dataclass(frozen=True)
class Knob:
    """A bandwidth setting of a model, and the range [`siren2.tuning.tune`][] searches it over.

    Attributes
    ----------
    name
        The config field it sets (WINNER's ``s0`` and ``s1`` for a WINNER model).
    low, high
        The range, in ``unit``s.
    unit
        ``"nyquist"``: × the grid's Ω, π over the sample step, in radians per coordinate unit
        ([`siren2.winner.nyquist`][]; a first layer's frequencies are in the same units);
        ``"octaves"``: × log2 of the grid's largest side (an integer count, ReLU+PE's octaves);
        ``"hidden"``: × √(2/H), SIREN's hidden weight spread times ω0 (WINNER's s1).
    points
        How many values a grid search tries: log-spaced (``"octaves"``: evenly spaced integers).
    """

    name: str
    low: float
    high: float
    unit: str = "nyquist"
    points: int = 7


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: ``build(config(...))`` makes it.

    Attributes
    ----------
    build
        Config dataclass → initialized model.
    config
        Its config dataclass; the fields beyond in_dim and out_dim are the model's options.
    description
        One line, for ``siren2 models``.
    defaults
        Preset → the config fields the preset sets (SIREN's ω_first).
    winner
        WINNER's noise follows SIREN's initialization.
    knobs
        Its bandwidth settings and their ranges (`siren2 tune`); for a WINNER model, s0 and s1, whose
        candidates are the points of rule auto's valley ([`siren2.winner.valley`][]) and the ψ rule's.
    """

    build: Callable[..., INR]  # config dataclass -> initialized model
    config: type  # its config dataclass; the fields beyond in_dim/out_dim are the allowed options
    description: str
    defaults: Callable[[Preset], dict] = lambda p: {}
    winner: bool = False
    knobs: tuple[Knob, ...] = ()


REGISTRY: dict[str, ModelEntry] = {}


def register(name: str, description: str, config: type, build: Callable[..., INR], *,
             defaults: Callable[[Preset], dict] = lambda p: {}, winner: bool = False,
             knobs: tuple[Knob, ...] = ()) -> ModelEntry:
    """Add model ``name`` to the registry and return its entry.

    Parameters
    ----------
    name
        The model's name.
    description
        One line, for ``siren2 models``.
    config
        Its config dataclass (an [`MLPConfig`][]).
    build
        Config → initialized [`INR`][].
    defaults
        Preset → the config fields the preset sets.
    winner
        Whether WINNER's noise follows SIREN's initialization.
    knobs
        Its bandwidth settings ([`Knob`][]), which `siren2 tune` searches with the learning rate.

    Returns
    -------
    ModelEntry
    """
    entry = ModelEntry(build, config, description, defaults, winner, tuple(knobs))
    REGISTRY[name] = entry
    return entry


def get_entry(name: str) -> ModelEntry:
    """The registry entry of ``name``.

    Parameters
    ----------
    name
        A model name.

    Returns
    -------
    ModelEntry

    Raises
    ------
    ValueError
        Naming the registered models, if there is none of that name.
    """
    if name not in REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(REGISTRY)}")
    return REGISTRY[name]


def list_models() -> dict[str, str]:
    """Registered model names and one-line descriptions.

    Returns
    -------
    dict of str to str
    """
    return {name: entry.description for name, entry in REGISTRY.items()}


def is_winner(name: str) -> bool:
    """Whether model ``name`` takes WINNER's noise (and so the options s0, s1, rule, centroid).

    Parameters
    ----------
    name
        A registered model.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        For an unknown model.
    """
    return get_entry(name).winner


def winner_models() -> list[str]:
    """The registered models that apply WINNER.

    Returns
    -------
    list of str
    """
    return [name for name, entry in REGISTRY.items() if entry.winner]


def model_options(name: str) -> list[str]:
    """The options model ``name`` takes: its config's fields beyond in_dim and out_dim.

    Parameters
    ----------
    name
        A registered model.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        For an unknown model.
    """
    return [f.name for f in fields(get_entry(name).config) if f.name not in ("in_dim", "out_dim")]


def network_config(name: str, *, in_dim: int = 1, out_dim: int = 1, preset: str | None = None, **options):
    """The config dataclass of model ``name`` for ``in_dim → out_dim``.

    Parameters
    ----------
    name
        A registered model.
    in_dim
        Coordinates in.
    out_dim
        Channels out.
    preset
        Its shape (hidden_layers, width) and the fields it sets for this model; default: by ``in_dim``.
    **options
        Config fields over the preset's.

    Returns
    -------
    MLPConfig
        The model's own config dataclass.

    Raises
    ------
    ValueError
        For an unknown model or preset, or an option the model does not take.
    """
    entry = get_entry(name)
    allowed = model_options(name)
    unknown = set(options) - set(allowed)
    if unknown:
        raise ValueError(f"unknown options for model {name!r}: {', '.join(sorted(unknown))} "
                         f"(it takes {', '.join(sorted(allowed))})")
    _, p = get_preset(preset, in_dim)
    return entry.config(**({"in_dim": in_dim, "out_dim": out_dim, "hidden_layers": p.hidden_layers,
                            "width": p.width} | entry.defaults(p) | options))


def build_model(name: str, *, in_dim: int = 1, out_dim: int = 1, preset: str | None = None, seed: int | None = None,
                device: torch.device | str | None = None, **options) -> INR:
    """Build and initialize model ``name`` ([`network_config`][] for its settings).

    A WINNER model comes back with SIREN's initialization and ``model.winner`` None: its noise depends
    on the target ([`siren2.create_model`][]).

    Parameters
    ----------
    name
        A registered model.
    in_dim
        Coordinates in.
    out_dim
        Channels out.
    preset
        Default: by ``in_dim``.
    seed
        Makes the initialization reproducible: it is drawn on the CPU, the same on every ``device``.
    device
        Where the model moves after its initialization.
    **options
        Config fields over the preset's.

    Returns
    -------
    INR
        With ``model.name`` set.

    Raises
    ------
    ValueError
        For an unknown model or preset, or an option the model does not take.
    """
    cfg = network_config(name, in_dim=in_dim, out_dim=out_dim, preset=preset, **options)
    if seed is not None:
        torch.manual_seed(seed)
    model = get_entry(name).build(cfg).to(device)
    model.name = name
    return model


# ------------------------------------------------------------------------------------- the registry

def _preset_omega(p: Preset) -> dict:
    return {"omega_first": p.omega_first}  # the paper's SIREN: 3000 for audio, 30 for images


OMEGA_FIRST = (Knob("omega_first", 1e-3, 1.0, points=9),)  # Ω/1000 to Ω: 3000 is 0.04 Ω on a 2 s clip at 24 kHz
VALLEY = (Knob("s0", 2.0**-12, 1.0), Knob("s1", 0.0, 4.0, unit="hidden", points=3))  # rule auto's range

register("siren", "SIREN (Sitzmann et al.): sine MLP, uniform init; ω_first 3000 for audio, 30 otherwise",
         SirenConfig, build_siren, defaults=_preset_omega, knobs=OMEGA_FIRST)
register("siren2", "SIREN²: SIREN with ω_first 30 + WINNER noise on W⁰, W¹ from the target's ψ",
         SirenConfig, build_siren, winner=True, knobs=VALLEY)
register("siren_rff", "SIREN+RFF: fixed Fourier features [cos xB, sin xB], B ~ N(0, 30²) (in, H/2), then SIREN",
         RFFConfig, build_siren_rff, defaults=_preset_omega, knobs=(Knob("rff_scale", 1e-3, 1.0, points=9),))
register("finer", "FINER: sin(ω(|z|+1)z), (|z|+1) detached, ω 30 in all layers, SIREN init",
         FinerConfig, build_finer, knobs=OMEGA_FIRST)
register("finer++", "FINER++: FINER with the first-layer bias ~ U(−5, 5)",
         FinerConfig, build_finer, defaults=lambda p: {"first_bias_scale": 5.0}, knobs=OMEGA_FIRST)
register("finer2", "FINER²: FINER + WINNER noise on W⁰, W¹ from the target's ψ (ours, not in the paper)",
         FinerConfig, build_finer, winner=True, knobs=VALLEY)
register("wire", "WIRE: complex Gabor exp(jωz − |σz|²), ω 10, σ 10; complex after layer 1, width int(H/√2)",
         WireConfig, build_wire, knobs=(Knob("omega", 1e-3, 1.0, points=3), Knob("sigma", 1e-3, 1.0, points=3)))
register("gauss", "Gauss: exp(−(30z)²) activations, nn.Linear default init",
         GaussConfig, build_gauss, knobs=(Knob("scale", 1e-3, 1.0, points=9),))
register("relu_pe", "ReLU+PE: NeRF positional encoding (7 frequencies), then a ReLU MLP",
         ReluPEConfig, build_relu_pe, knobs=(Knob("frequencies", 0.25, 1.0, unit="octaves"),))

__all__ = ["register", "get_entry", "Knob", "OMEGA_FIRST", "VALLEY", "list_models", "is_winner", "winner_models", "model_options", "network_config",
           "build_model", "ModelEntry", "REGISTRY", "INR", "Dense", "Sine", "SineFamily", "Finer", "Gauss", "Gabor",
           "RealPart", "PositionalEncoding", "FourierFeatures", "MLPConfig", "SirenConfig", "RFFConfig", "FinerConfig",
           "WireConfig", "GaussConfig", "ReluPEConfig", "build_siren", "build_siren_rff", "build_finer", "build_wire",
           "build_gauss", "build_relu_pe", "wire_width", "siren_init_", "num_parameters"]
