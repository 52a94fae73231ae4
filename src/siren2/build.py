"""A model for a signal: the registry's network, then, for a WINNER model, its noise from the target.

The registry ([`siren2.models`][]) builds and initializes a network; WINNER's scales are a property
of the target, so they are resolved here, when a model is built for a signal: from ψ by a rule of
[`siren2.winner.RULES`][], or by rule ``auto``'s search on the network itself
([`siren2.winner.auto_scales`][]), or as given. [`create_model`][] is the public entry;
[`siren2.runs.build`][] builds a run's model from its [`RunSpec`][siren2.spec.RunSpec], racing rule
auto's candidates with short fits.

    >>> model = create_model("siren2", signal)     # ψ → (s0, s1) → W⁰, W¹ += noise
    >>> model.winner                               # WinnerScales(psi=..., s0=..., s1=..., rule='code')
"""

from __future__ import annotations

from typing import Callable

import torch

from .models import INR, build_model, is_winner, list_models, num_parameters, winner_models
from .presets import get_preset, preset_in_dim
from .recipes import model_fit
from .winner import AUTO, WinnerScales, auto_scales, resolve_rule, resolve_scales, winner_

__all__ = ["create_model", "apply_winner", "model_summary", "width_for"]


def create_model(name: str, signal=None, *, in_dim: int | None = None, out_dim: int | None = None,
                 preset: str | None = None, seed: int | None = None, device: torch.device | str | None = None,
                 s0: float | None = None, s1: float | None = None, rule: str | None = None,
                 centroid: str = "flattened", race: Callable[[float, float], float] | None = None,
                 **options) -> INR:
    """Build model ``name`` for ``signal`` (or for ``in_dim → out_dim``), WINNER's noise included.

    For a WINNER model (SIREN²): ψ → (s0, s1) → W⁰, W¹ += noise, after SIREN's initialization.

    Parameters
    ----------
    name : str
        A registered model ([`siren2.list_models`][]).
    signal : Signal, optional
        The target: its dimension and channels set the network's, and a WINNER model reads ψ from it.
    in_dim : int, optional
        Coordinates in, without a signal (or to override it).
    out_dim : int, optional
        Channels out, without a signal (or to override it).
    preset : str, optional
        The network's shape and the model's per-preset settings (SIREN's ω_first); default by dimension.
    seed : int, optional
        Makes the initialization reproducible: drawn on the CPU, the same on every ``device``.
    device : str or torch.device, optional
        Where the model lives; rule auto's search runs there.
    s0, s1 : float, optional
        WINNER's noise scales (WINNER models only); given, they win over the rule.
    rule : str, optional
        How ψ maps to (s0, s1): a key of [`siren2.winner.RULES`][], or ``"auto"``; None: ``code``
        for audio and images, ``auto`` in 3-D.
    centroid : str
        How ψ is read (`siren2.winner.CENTROIDS`).
    race : callable, optional
        Rule auto: ``race(s0, s1) -> loss`` of a short fit, to choose along its valley (without one the
        closest point of the spectral match wins).
    **options
        Any field of the model's config dataclass (``width``, ``hidden_layers``, ``omega_first``, ...).

    Returns
    -------
    INR
        With ``model.winner`` the resolved [`WinnerScales`][] (None for other models).

    Raises
    ------
    ValueError
        For an unknown model or option, ``s0``/``s1`` given to a model without WINNER, or a rule that
        does not apply.
    """
    in_dim = in_dim or (signal.in_dim if signal is not None else 1)
    out_dim = out_dim or (signal.channels if signal is not None else 1)
    if not is_winner(name) and (s0 is not None or s1 is not None):
        raise ValueError(f"s0/s1 apply to WINNER models only ({', '.join(winner_models())}), not {name!r}")
    model = build_model(name, in_dim=in_dim, out_dim=out_dim, preset=preset, seed=seed, device=device, **options)
    if is_winner(name):
        apply_winner(model, signal, s0=s0, s1=s1, rule=rule, centroid=centroid, race=race)
    return model


def apply_winner(model: INR, signal=None, *, s0: float | None = None, s1: float | None = None,
                 rule: str | None = None, centroid: str = "flattened",
                 race: Callable[[float, float], float] | None = None) -> WinnerScales:
    """Resolve (ψ, s0, s1) for ``signal`` and add WINNER's noise to ``model`` in place.

    The scales are given (s0 and s1), found by rule ``auto``'s search on ``model``
    ([`siren2.winner.auto_scales`][], ``race`` choosing along its valley), or read from ψ by
    ``rule`` ([`siren2.winner.resolve_scales`][]).

    Parameters
    ----------
    model
        Holds SIREN's initialization.
    signal : Signal, optional
        The target; needed unless both ``s0`` and ``s1`` are given.
    s0, s1
        Given noise scales; None: from the rule.
    rule
        A key of [`siren2.winner.RULES`][] or ``"auto"``; None: ``code`` for audio and images,
        ``auto`` in 3-D.
    centroid
        How ψ is read (`siren2.winner.CENTROIDS`).
    race
        Rule auto: ``race(s0, s1) -> loss`` of a short fit.

    Returns
    -------
    WinnerScales
        Also recorded as ``model.winner``.

    Raises
    ------
    TypeError
        If WINNER does not apply to ``model`` (see ``INR.first_two_linear``).
    ValueError
        If the target is needed and missing, or the rule does not apply.
    """
    model.first_two_linear()  # refuse before reading the target
    given = s0 is not None and s1 is not None
    if resolve_rule(rule, model.config.in_dim) == AUTO and not given:
        if signal is None:
            raise ValueError("WINNER's rule 'auto' needs the target signal, or both s0 and s1")
        scales = auto_scales(model, signal, s0=s0, s1=s1, centroid=centroid, race=race)
    else:
        scales = resolve_scales(signal, s0=s0, s1=s1, rule=rule, centroid=centroid)
    winner_(model, scales.s0, scales.s1, omega0=model.config.omega0)
    model.winner = scales
    return scales


def model_summary(preset: str | None = None, channels: int = 1) -> list[dict]:
    """Every registered model built for ``preset``, with its size and its own training settings.

    Parameters
    ----------
    preset
        Default: paper_audio.
    channels
        Output channels.

    Returns
    -------
    list of dict
        Per model: ``name``, ``description``, ``parameters`` (a complex weight counts as two) and
        ``fit_defaults`` ([`siren2.recipes.model_fit`][], e.g. the paper's mini-batches).
    """
    preset_name, _ = get_preset(preset or "paper_audio")
    in_dim = preset_in_dim(preset_name)
    rows = []
    with torch.random.fork_rng(devices=[]):
        for name, description in list_models().items():
            model = build_model(name, in_dim=in_dim, out_dim=channels, preset=preset_name)
            rows.append({"name": name, "description": description, "parameters": num_parameters(model),
                         "fit_defaults": model_fit(name)})
    return rows


def width_for(name: str, parameters: float, network: dict, smallest: int = 8) -> int:
    """The widest network of model ``name`` with at most ``parameters`` parameters, at most as wide as
    ``network`` (its config: the other fields, depth included, stay) and at least ``smallest`` wide."""
    shape = {k: v for k, v in network.items() if k != "width"}

    def count(width: int) -> int:
        with torch.random.fork_rng(devices=[]):
            return num_parameters(build_model(name, width=width, **shape))

    lo, hi = smallest, max(smallest, network["width"])
    while lo < hi:  # the largest width whose count fits
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if count(mid) <= parameters else (lo, mid - 1)
    return lo
