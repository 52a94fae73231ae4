"""What the command families share: input loading, the recipe options, the stop note, list parsing,
the exit code."""

from __future__ import annotations

import argparse

from ..errors import InputError

EXIT_USAGE = 2


def add_input_options(p: argparse.ArgumentParser, max_samples: bool = True) -> None:
    """--max-samples (audio cut; the preset's by default) and --max-points (the size limit)."""
    from ..io import MAX_POINTS

    if max_samples:
        p.add_argument("--max-samples", type=int, help="audio: first N samples (paper_audio: 150000; 0 = all)")
    p.add_argument("--max-points", type=int, default=MAX_POINTS,
                   help=f"refuse a signal of more samples or pixels (default: {MAX_POINTS:,})")


def input_max_samples(args) -> int | None:
    """--max-samples resolved: the preset's audio length by default, 0 = all (None)."""
    from ..presets import PRESETS

    max_samples = getattr(args, "max_samples", 0)
    if max_samples is None:  # the preset's audio length (images ignore it)
        max_samples = PRESETS[getattr(args, "preset", None) or "paper_audio"].max_samples
    if max_samples is not None and max_samples < 0:
        raise InputError(f"--max-samples must be 0 (all) or more, not {max_samples}")
    return max_samples or None


def checked_max_points(args) -> int:
    if args.max_points < 1:
        raise InputError(f"--max-points must be at least 1, not {args.max_points}")
    return args.max_points


def load_input(args, file=None, mono: bool = True):
    """The signal of ``file`` (default ``args.file``) under add_input_options: audio cut to
    --max-samples (default: the preset's length, 0 = all), anything over --max-points refused."""
    from ..io import load_signal

    return load_signal(file or args.file, max_samples=input_max_samples(args), mono=mono,
                       max_points=checked_max_points(args))


def add_schedule_option(p: argparse.ArgumentParser) -> None:
    """--schedule (alias --recipe): the training recipe, checked when the settings resolve."""
    from ..recipes import DEFAULT_RECIPE, RECIPES

    p.add_argument("--schedule", "--recipe", dest="recipe", default=DEFAULT_RECIPE, metavar="RECIPE",
                   help=f"training recipe: {', '.join(RECIPES)} (default: {DEFAULT_RECIPE}; 'paper' reproduces "
                        "the paper's Adam 1e-4 + StepLR protocol)")


def add_recipe_options(p: argparse.ArgumentParser, lr: bool = True) -> None:
    """--schedule, --epochs, --lr and the stop rules: what every fitting command takes."""
    add_schedule_option(p)
    p.add_argument("--epochs", type=int, help="epoch budget (default: the recipe's)")
    if lr:
        p.add_argument("--lr", type=float, help="peak learning rate (default: the recipe's, per model)")
    p.add_argument("--target-psnr", type=float, metavar="DB",
                   help="stop at the first epoch whose psnr_paper on the fitted samples reaches DB")
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="stop at this many seconds of training, keeping the best state")


def add_winner_options(p: argparse.ArgumentParser, centroid: str) -> None:
    """WINNER's settings (ψ → s0, s1), for the WINNER models; ``centroid`` the default way ψ is read."""
    from ..winner import CENTROIDS, RULE_NAMES

    p.add_argument("--rule", choices=RULE_NAMES,
                   help="(s0, s1) from ψ by the paper's rule (code; text, sqrtc: its variants), or auto: searched "
                        "on the network itself (a spectral match at initialization, then a race of short fits), "
                        "any dimension and channel count (default: code for audio and images, auto for volumes "
                        "and shapes)")
    p.add_argument("--centroid", default=centroid, choices=CENTROIDS,
                   help="ψ of the flattened signal (the paper's choice), along the grid's last axis, or of the "
                        f"flattened spectrum above its white noise floor (default: {centroid})")
    p.add_argument("--s0", type=float, help="WINNER first-layer noise scale (overrides the rule)")
    p.add_argument("--s1", type=float, help="WINNER second-layer noise scale (overrides the rule)")


def winner_overrides(args) -> dict:
    return dict(s0=args.s0, s1=args.s1, rule=args.rule, centroid=args.centroid)


def recipe_overrides(args) -> dict:
    """The FitConfig fields of add_recipe_options (None: not given)."""
    return dict(epochs=args.epochs, lr=getattr(args, "lr", None), target_psnr=args.target_psnr,
                time_budget=args.time_budget)


def stop_note(result) -> str:
    """Why a fit stopped, when it was not the epoch budget."""
    notes = {"interrupted": "interrupted: best state so far", "target_psnr": "reached the target PSNR",
             "time_budget": "time budget spent", "diverged": "stopped by the divergence guard",
             "patience": "stopped by the hold-out rule", "callback": "stopped by a callback"}
    return f"  ({notes[result.stopped_by]})" if result.stopped_by in notes else ""


def models_and_seeds(args) -> tuple[list[str], list[int]]:
    """--models and --seeds, checked (registered, no repeats, integers)."""
    from ..compare import check_models, check_seeds

    models = check_models([m.strip() for m in args.models.split(",") if m.strip()])
    return models, check_seeds(int_list("--seeds", args.seeds))


def int_list(option: str, text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"{option} {text!r}: expected comma-separated integers, e.g. 0,1,2") from None
