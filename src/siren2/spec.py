"""RunSpec: every setting of a run, resolved once into one frozen record; config.json is its serialization.

A run is asked for with *options*, a flat dict of what the user gave (the command line's flags, or
keyword arguments): the input file and how to read it, the model and its network, the preset and the
recipe, WINNER's rule and scales, the fit's settings. [`resolve`][] fills in every default once,
for the signal at hand (its dimension picks the preset; the preset, the recipe and the model set the
training schedule), and everything downstream reads the [`RunSpec`][] it returns. The options as
given stay in the spec, so a run replays from its config.json
([`RunSpec.from_config`][siren2.spec.RunSpec.from_config]) with the same defaults, or with some
options changed:

    options = RunSpec.from_config("run/config.json").options | {"epochs": 2000}
    signal = load_input(options)
    spec = resolve(signal, options)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .errors import InputError
from .io import MAX_POINTS, MESH_RESOLUTION, NEAR_SURFACE, load_signal
from .models import get_entry, is_winner, model_options, network_config, winner_models
from .presets import PRESETS, get_preset
from .recipes import DEFAULT_RECIPE, get_recipe
from .signal import Signal
from .train import FitConfig, pick_device
from .winner import CENTROIDS, RULE_NAMES, resolve_rule

__all__ = ["RunSpec", "resolve", "input_settings", "load_input", "DEFAULT_MODEL", "RUN_OPTIONS", "INPUT_OPTIONS",
           "WINNER_OPTIONS", "FIT_OPTIONS"]

DEFAULT_MODEL = "siren2"
# The options a run takes, by what they steer; a model's own options are its config's fields (width, ...).
RUN_OPTIONS = ("input", "model", "preset", "recipe")
INPUT_OPTIONS = ("max_samples", "mono", "max_points", "mesh_resolution", "mesh_field", "mesh_near")
WINNER_OPTIONS = ("rule", "centroid", "s0", "s1")
FIT_OPTIONS = tuple(f.name for f in fields(FitConfig) if f.name not in ("recipe", "progress"))


@dataclass(frozen=True)
class RunSpec:
    """Every setting of one run, resolved (see [`resolve`][]).

    Attributes
    ----------
    options : dict
        The options as given (None values dropped): the request this spec resolves, replayed by
        ``siren2 fit --config``.
    input : dict
        ``path`` (None for a signal given in Python) and how it is read ([`input_settings`][]).
    model : str
        The registered model.
    preset : str
        The preset whose shape and schedule the run starts from.
    recipe : str
        The training recipe (`siren2.recipes.RECIPES`).
    network : dict
        The model's config: in_dim, out_dim, hidden_layers, width and its own fields (ω_first, ...).
    winner : dict or None
        WINNER models: ``rule`` (resolved), ``centroid``, and ``s0``, ``s1`` as given (None: from the
        rule); the scales the run drew are in its config.json's ``model.winner``.
    fit : FitConfig
        The training settings, the device resolved.
    """

    options: dict
    input: dict
    model: str
    preset: str
    recipe: str
    network: dict
    winner: dict | None
    fit: FitConfig

    @property
    def width(self) -> int:
        """The network's hidden width H."""
        return self.network["width"]

    def to_dict(self) -> dict:
        """The spec as plain data, for config.json.

        Returns
        -------
        dict
            What [`from_dict`][] reads back.
        """
        return {"options": dict(self.options), "input": dict(self.input), "model": self.model, "preset": self.preset,
                "recipe": self.recipe, "network": dict(self.network),
                "winner": None if self.winner is None else dict(self.winner), "fit": asdict(self.fit)}

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        """The spec [`to_dict`][] wrote.

        Parameters
        ----------
        d
            The dict of [`to_dict`][].

        Returns
        -------
        RunSpec
        """
        return cls(options=dict(d["options"]), input=dict(d["input"]), model=d["model"], preset=d["preset"],
                   recipe=d["recipe"], network=dict(d["network"]), winner=None if d["winner"] is None
                   else dict(d["winner"]), fit=FitConfig(**d["fit"]))

    @classmethod
    def from_config(cls, path) -> "RunSpec":
        """The spec of a run folder's config.json.

        Parameters
        ----------
        path : str or os.PathLike
            The config.json file, or its folder.

        Returns
        -------
        RunSpec

        Raises
        ------
        InputError
            If the file cannot be read or is not the config.json of a siren2 run.
        """
        path = Path(path)
        path = path / "config.json" if path.is_dir() else path
        try:
            return cls.from_dict(json.loads(path.read_text())["spec"])
        except OSError as e:
            raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(f"{path}: not the config.json of a siren2 run ({type(e).__name__}: {e})") from None


def given(options: dict | None) -> dict:
    """``options`` without the ones not given (None)."""
    return {k: v for k, v in (options or {}).items() if v is not None}


def input_settings(options: dict) -> dict:
    """How the input is read, every default filled in.

    Parameters
    ----------
    options : dict
        The run's options as given (None: not given): ``input``, ``preset``, ``max_samples``, ``mono``,
        ``max_points``, ``mesh_resolution``, ``mesh_field``, ``mesh_near``.

    Returns
    -------
    dict
        ``path``; audio ``max_samples`` (the preset's length, 150,000 for paper_audio, unless given;
        0 = all, recorded as None), ``mono`` (the mix); ``max_points`` (the size limit); a mesh's
        ``mesh_resolution``, ``mesh_field`` and ``mesh_near``.

    Raises
    ------
    InputError
        If ``max_samples`` is negative or ``max_points`` below 1.
    """
    options = given(options)
    max_samples = options.get("max_samples")
    if max_samples is None:  # the preset's audio length (images ignore it)
        max_samples = PRESETS[options.get("preset") or "paper_audio"].max_samples
    if max_samples is not None and max_samples < 0:
        raise InputError(f"--max-samples must be 0 (all) or more, not {max_samples}")
    max_points = options.get("max_points", MAX_POINTS)
    if max_points < 1:
        raise InputError(f"--max-points must be at least 1, not {max_points}")
    path = options.get("input")
    return {"path": None if path is None else str(path), "max_samples": max_samples or None,
            "mono": options.get("mono", True), "max_points": max_points,
            "mesh_resolution": options.get("mesh_resolution", MESH_RESOLUTION),
            "mesh_field": options.get("mesh_field", "sdf"), "mesh_near": options.get("mesh_near", NEAR_SURFACE)}


def load_input(options: dict, path=None) -> Signal:
    """The signal of ``path``, read as [`input_settings`][] says.

    Parameters
    ----------
    options : dict
        The run's options ([`input_settings`][]).
    path : str or os.PathLike, optional
        The file; default: ``options["input"]``.

    Returns
    -------
    Signal

    Raises
    ------
    InputError
        If there is no input file, or it cannot be read ([`siren2.io.load_signal`][]).
    """
    settings = input_settings(given(options) | ({} if path is None else {"input": str(path)}))
    if settings["path"] is None:
        raise InputError("no input file: give one")
    path = settings.pop("path")
    return load_signal(path, **settings)


def resolve(signal: Signal, options: dict | None = None, **more) -> RunSpec:
    """The [`RunSpec`][] of a run on ``signal`` with ``options``.

    The preset defaults by the signal's dimension; the network is the preset's shape with the model's
    per-preset settings and the options over it ([`siren2.models.network_config`][]); the fit is
    [`FitConfig.resolve`][siren2.train.FitConfig.resolve] of the preset, the recipe, the model and
    the fit options, on the device [`pick_device`][] chooses; WINNER's rule defaults to ``code`` for
    audio and images, ``auto`` in 3-D.

    Parameters
    ----------
    signal
        The target; its dimension and channels shape the network.
    options : dict, optional
        The options as given: ``input``, ``model`` (default `DEFAULT_MODEL`), ``preset``,
        ``recipe``, the input's (`INPUT_OPTIONS`), WINNER's (`WINNER_OPTIONS`), the fit's
        (`FIT_OPTIONS`) and the model's own config fields (``width``, ...). None: not given.
    **more
        More options, over ``options``.

    Returns
    -------
    RunSpec

    Raises
    ------
    ValueError
        On an option that no part of the run takes; an unknown model, preset, recipe, rule or centroid;
        a device this machine lacks, or a fit setting out of range ([`FitConfig`][]).
    InputError
        If ``s0`` or ``s1`` is given for a model that does not take WINNER's noise.
    """
    options = given(options) | given(more)
    model = options.get("model", DEFAULT_MODEL)
    get_entry(model)
    own = model_options(model)
    known = set(RUN_OPTIONS + INPUT_OPTIONS + WINNER_OPTIONS + FIT_OPTIONS) | set(own)
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"option {unknown[0]!r} does not apply to model {model!r} (it takes {', '.join(own)}, "
                         "and the input, recipe, WINNER and fit options)")
    preset, _ = get_preset(options.get("preset"), signal.in_dim)
    recipe = options.get("recipe", DEFAULT_RECIPE)
    get_recipe(recipe)
    network = network_config(model, in_dim=signal.in_dim, out_dim=signal.channels, preset=preset,
                             **{k: options[k] for k in own if k in options})
    winner = None
    if is_winner(model):
        centroid = options.get("centroid", "flattened")
        if centroid not in CENTROIDS:
            raise ValueError(f"centroid must be one of {', '.join(CENTROIDS)}, not {centroid!r}")
        rule = resolve_rule(options.get("rule"), signal.in_dim)
        if rule not in RULE_NAMES:
            raise ValueError(f"unknown noise rule {rule!r}; choose from {', '.join(RULE_NAMES)}")
        winner = {"rule": rule, "centroid": centroid, "s0": options.get("s0"), "s1": options.get("s1")}
    elif options.get("s0") is not None or options.get("s1") is not None:
        raise InputError(f"--s0/--s1 apply to WINNER models only ({', '.join(winner_models())}), not {model!r}")
    fit_options = {k: options[k] for k in FIT_OPTIONS if k in options}
    fit_options["device"] = str(pick_device(fit_options.get("device")))
    fit = FitConfig.resolve(preset, recipe, signal.in_dim, model=model, width=network.width, **fit_options)
    return RunSpec(options=options, input=input_settings(options), model=model, preset=preset, recipe=recipe,
                   network=asdict(network), winner=winner, fit=fit)
