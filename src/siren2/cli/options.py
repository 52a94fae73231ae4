"""The options the command families share, and the one place flags become a run's options.

Every option's default is None here ("not given"): the library fills the defaults in
(:func:`siren2.spec.resolve`, :func:`siren2.restoration.restore_settings`), so the command line and
Python do the same thing, and a run's config.json records exactly what was given.
"""

from __future__ import annotations

import argparse
import math

from ..errors import InputError

__all__ = ["EXIT_USAGE", "RENAMED", "OPTION_DESTS", "options_from", "add_input_options", "add_schedule_option",
           "add_recipe_options", "add_winner_options", "add_network_options", "add_device_options", "metrics_text",
           "stop_note", "models_and_seeds", "int_list", "render_size"]

EXIT_USAGE = 2

# argparse dest -> the run option it sets, where the names differ (the rest are the same)
RENAMED = {"field": "mesh_field"}
# the dests that are options of a run (siren2.spec) or of a restoration (siren2.restoration)
OPTION_DESTS = (
    "model", "preset", "recipe", "epochs", "lr", "lr_gamma", "target_psnr", "time_budget", "batch_size",
    "chunk_size", "seed", "device", "tf32", "width", "hidden_layers", "omega0", "omega_first", "rule", "centroid",
    "s0", "s1", "max_samples", "max_points", "mesh_resolution", "field", "mesh_near", "patience",
    "stop", "holdout", "capacity", "bandwidths", "prior_weights", "window", "noise_std",
)


def options_from(args, *, exclude: tuple[str, ...] = ()) -> dict:
    """The options ``args`` gives (None: not given), under their run names; ``--keep-channels`` is
    ``mono`` False and ``--no-shrink`` is ``shrink`` False."""
    out = {RENAMED.get(d, d): getattr(args, d) for d in OPTION_DESTS
           if getattr(args, d, None) is not None and d not in exclude}
    if getattr(args, "keep_channels", None):
        out["mono"] = False
    if getattr(args, "shrink", None) is False:
        out["shrink"] = False
    return out


def add_input_options(p: argparse.ArgumentParser, max_samples: bool = True) -> None:
    """--max-samples (audio cut; the preset's by default) and --max-points (the size limit)."""
    from ..io import MAX_POINTS

    if max_samples:
        p.add_argument("--max-samples", type=int, help="audio: first N samples (paper_audio: 150000; 0 = all)")
    p.add_argument("--max-points", type=int,
                   help=f"refuse a signal of more samples or pixels (default: {MAX_POINTS:,})")


def add_schedule_option(p: argparse.ArgumentParser) -> None:
    """--schedule (alias --recipe): the training recipe, checked when the settings resolve."""
    from ..recipes import DEFAULT_RECIPE, RECIPES

    p.add_argument("--schedule", "--recipe", dest="recipe", metavar="RECIPE",
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
    """WINNER's settings (ψ → s0, s1), for the WINNER models; ``centroid`` names the default way ψ is read."""
    from ..winner import CENTROIDS, RULE_NAMES

    p.add_argument("--rule", choices=RULE_NAMES,
                   help="(s0, s1) from ψ by the paper's rule (code; text, sqrtc: its variants), or auto: searched "
                        "on the network itself (a spectral match at initialization, then a race of short fits), "
                        "any dimension and channel count (default: code for audio and images, auto for volumes "
                        "and shapes)")
    p.add_argument("--centroid", choices=CENTROIDS,
                   help="ψ of the flattened signal (the paper's choice), along the grid's last axis, or of the "
                        f"flattened spectrum above its white noise floor (default: {centroid})")
    p.add_argument("--s0", type=float, help="WINNER first-layer noise scale (overrides the rule)")
    p.add_argument("--s1", type=float, help="WINNER second-layer noise scale (overrides the rule)")


def add_network_options(p: argparse.ArgumentParser) -> None:
    """--width and --layers (every model's shape)."""
    p.add_argument("--width", type=int, help="hidden width H (default: the preset's)")
    p.add_argument("--layers", type=int, dest="hidden_layers", help="hidden layers L (default: the preset's)")


def add_device_options(p: argparse.ArgumentParser) -> None:
    """--device and --quiet."""
    p.add_argument("--device", help="cpu, cuda, cuda:N, mps (default: auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def metrics_text(metrics: dict) -> str:
    """Scores on one line; an undefined one (NaN) says so."""
    return "  ".join(f"{k} undefined" if isinstance(v, float) and math.isnan(v) else f"{k} {v:.4g}"
                     for k, v in metrics.items())


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
    """``text`` as comma-separated integers; InputError naming ``option`` otherwise."""
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"{option} {text!r}: expected comma-separated integers, e.g. 0,1,2") from None


def render_size(args) -> tuple[int, ...] | None:
    """Check the options of a command that renders a signal to ``args.out`` (``render``,
    ``decompress``): ``--out`` refused where it exists (unless ``--force``), ``--sample-rate`` positive;
    returns ``--size HxW`` or ``DxHxW`` as a tuple (None where not given)."""
    if args.out.exists() and not args.force:
        raise InputError(f"{args.out}: already exists (use --force to overwrite)")
    size = None
    if args.size:
        try:
            size = tuple(int(v) for v in args.size.lower().split("x"))
            if len(size) not in (2, 3) or min(size) < 1:
                raise ValueError
        except ValueError:
            raise InputError(f"--size {args.size!r}: expected HxW or DxHxW with positive sizes, "
                             "e.g. 1024x1024") from None
    if args.sample_rate is not None and args.sample_rate < 1:
        raise InputError(f"--sample-rate {args.sample_rate}: must be a positive rate in Hz")
    return size
