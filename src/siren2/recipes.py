"""Training recipes as data: how a fit spends its steps (the optimizer's rate, its schedule, epochs),
and how each model trains where it differs from the rest.

A recipe names [`FitConfig`][siren2.train.FitConfig] fields per input dimension (1 audio, 2 images,
3 volumes) over the preset's schedule; [`siren2.train.FitConfig.resolve`][] composes preset,
recipe, the model's own training settings (`MODEL_FIT`, the recipe's ``lr_factor``) and the
user's overrides into one config, once.

* ``paper`` reproduces the paper's protocol exactly: the preset's Adam lr (1e-4), StepLR(20, γ)
  and epochs (docs/method.md#protocols). ``benchmarks/paper.py`` uses it.
* ``fast`` is ours and the default of the ``siren2`` commands: Adam at a peak rate that scales as
  1/H with the hidden width H (Adam moves every weight by about the lr, so a wider layer moves its
  output further per step), a linear warm-up over the first 10 % of the epochs, then a cosine decay
  to 1 % of the peak, over 500 epochs (images 2000; docs/guides/recipes.md and
  docs/results/time-to-quality.md for the measurements behind each number).

A schedule maps (config, epoch, progress) to a factor of the peak lr; ``progress`` is the fraction
of the budget spent (epochs, or wall time under a time budget, whichever is further).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Recipe", "RECIPES", "DEFAULT_RECIPE", "SCHEDULES", "MODEL_FIT", "MINIBATCH", "get_recipe", "model_fit",
           "step_schedule", "cosine_schedule"]


def step_schedule(cfg, epoch: int, progress: float) -> float:
    """The paper's StepLR: γ^⌊epoch / lr_step⌋ (epochs only, so a run is reproducible step for step).

    Parameters
    ----------
    cfg : FitConfig
        Its ``lr_gamma`` γ and ``lr_step``.
    epoch
        The epoch, from 0.
    progress
        Not used.

    Returns
    -------
    float
        The factor of the peak lr.
    """
    return cfg.lr_gamma ** (epoch // cfg.lr_step)


def cosine_schedule(cfg, epoch: int, progress: float) -> float:
    """Linear warm-up over the first ``warmup`` of the budget, then cosine decay to ``lr_floor``.

    Parameters
    ----------
    cfg : FitConfig
        Its ``warmup`` (a fraction of the budget), ``lr_floor`` (a fraction of the peak) and ``epochs``.
    epoch
        Not used.
    progress
        The fraction of the budget spent, in [0, 1].

    Returns
    -------
    float
        The factor of the peak lr.
    """
    w = cfg.warmup
    if w > 0 and progress < w:
        return min(1.0, (progress + 1 / cfg.epochs) / w)
    t = min(1.0, (progress - w) / (1 - w))  # FitConfig keeps warmup < 1
    return cfg.lr_floor + (1 - cfg.lr_floor) * 0.5 * (1 + math.cos(math.pi * t))


SCHEDULES: dict[str, Callable] = {"step": step_schedule, "cosine": cosine_schedule}


@dataclass(frozen=True)
class Recipe:
    """How a fit spends its steps: FitConfig fields per input dimension (1, 2, 3), over the preset's schedule.

    Attributes
    ----------
    description
        What the recipe does, in one line.
    fit
        in_dim → FitConfig fields (e.g. ``schedule``, ``epochs``, ``warmup``, ``lr_floor``).
    lr_times_width
        in_dim → a constant: the peak lr is that constant over the network's hidden width H.
    lr_factor
        model → {in_dim: factor}: the peak lr of a model that is better off away from the recipe's.
    """

    description: str
    fit: dict[int, dict] = field(default_factory=dict)
    lr_times_width: dict[int, float] = field(default_factory=dict)
    lr_factor: dict[str, dict[int, float]] = field(default_factory=dict)

    def fields(self, in_dim: int, width: int) -> dict:
        """The FitConfig fields of this recipe for an ``in_dim``-D signal and hidden width ``width``.

        Parameters
        ----------
        in_dim
            The signal's dimension.
        width
            The network's hidden width H.

        Returns
        -------
        dict
            The recipe's fields for ``in_dim``, with ``lr`` = ``lr_times_width[in_dim]`` / H where it has one.
        """
        out = dict(self.fit.get(in_dim, {}))
        if in_dim in self.lr_times_width:
            out["lr"] = self.lr_times_width[in_dim] / width
        return out

    def model_lr_factor(self, model: str, in_dim: int) -> float:
        """Model ``model``'s peak lr for ``in_dim``-D signals relative to this recipe's.

        Parameters
        ----------
        model
            A registered model.
        in_dim
            The signal's dimension.

        Returns
        -------
        float
            The factor; 1: the same.
        """
        return self.lr_factor.get(model, {}).get(in_dim, 1.0)


RECIPES: dict[str, Recipe] = {
    "paper": Recipe("the paper's protocol: the preset's Adam lr, StepLR(20, γ) and epochs (docs/method.md#protocols)"),
    "fast": Recipe(
        "ours: Adam at a peak lr of 0.3/H for audio, 0.1/H for images and volumes (H the hidden width), "
        "10% linear warm-up, cosine decay to 1% of the peak; 500 epochs (images 2000)",
        fit={1: dict(schedule="cosine", epochs=500, warmup=0.1, lr_floor=0.01),
             2: dict(schedule="cosine", epochs=2000, warmup=0.1, lr_floor=0.01),
             3: dict(schedule="cosine", epochs=500, warmup=0.1, lr_floor=0.01)},  # volumes: not measured yet
        lr_times_width={1: 0.3, 2: 0.1, 3: 0.1},
        # Image peak lr where a model is better off away from SIREN²'s 0.1/H: the best of the factors 0.5-32
        # on camera's central 128², searched until past each model's peak (docs/studies/fast_lr.md). On audio
        # no factor lifted any baseline off the zero output, so they keep the recipe's rate.
        lr_factor={"siren": {2: 2.0}, "wire": {2: 8.0}, "relu_pe": {2: 16.0}},
    ),
}
DEFAULT_RECIPE = "fast"  # what the siren2 commands use; the library's FitConfig() stays the paper's


# The reference code trains these models on 65,536-point mini-batches, under any recipe (SIREN, SIREN²,
# SIREN+RFF: full batch; docs/method.md#the-baselines). A model registered later adds its own entry here.
MINIBATCH = 65_536
MODEL_FIT: dict[str, dict] = {name: {"batch_size": MINIBATCH}
                              for name in ("finer", "finer++", "finer2", "wire", "gauss", "relu_pe")}


def model_fit(model: str) -> dict:
    """The FitConfig fields model ``model`` sets over any recipe.

    Parameters
    ----------
    model
        A registered model.

    Returns
    -------
    dict
        E.g. ``{"batch_size": 65536}`` for FINER (`MODEL_FIT`); empty for most models.
    """
    return dict(MODEL_FIT.get(model, {}))


def get_recipe(name: str) -> Recipe:
    """The recipe named ``name``.

    Parameters
    ----------
    name
        ``paper`` or ``fast`` (a key of `RECIPES`).

    Returns
    -------
    Recipe

    Raises
    ------
    ValueError
        Naming the recipes, if there is none of that name.
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose from {', '.join(RECIPES)}")
    return RECIPES[name]
