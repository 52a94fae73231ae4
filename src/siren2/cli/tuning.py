"""``siren2 tune``: a model's bandwidth knob(s) and peak rate searched on held-out samples, then its best fit."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .fitting import add_fit_options
from .options import metrics_text, options_from
from .report import add_report_option

__all__ = ["add_parsers", "cmd_tune"]


def add_parsers(sub) -> None:
    """tune."""
    t = sub.add_parser("tune", help="search a model's bandwidth (ω_first, σ, scale, s0/s1) and peak rate on held-out "
                                    "samples, then fit the best; DIR/best replays with fit --config")
    t.add_argument("file", type=Path)
    t.add_argument("--out", type=Path, required=True, help="output folder (refused if it holds files)")
    t.add_argument("--force", action="store_true", help="overwrite an output folder that holds results")
    t.add_argument("--budget", type=float, metavar="SECONDS",
                   help="the search's wall time (default: one fit's worth of epochs)")
    add_fit_options(t)
    add_report_option(t)
    t.set_defaults(func=cmd_tune)


def cmd_tune(args) -> int:
    """Tune ``args.model`` on ``args.file`` and write tune.json, tune.md, tune.png and best/."""
    from tqdm.auto import tqdm

    from ..runs import RunFolder
    from ..spec import load_input
    from ..tuning import playoff_line, tune, write_tuning

    out = RunFolder(args.out, force=args.force)
    if args.budget is not None and not args.budget > 0:
        raise InputError(f"--budget {args.budget}: must be a positive number of seconds")
    options = options_from(args)
    model = options.pop("model", None) or "siren2"
    options["input"] = str(args.file)  # recorded: best/config.json replays on it
    signal = load_input(options)
    print(f"{args.file}: tuning {model} on {signal.num_points:,} points"
          + (f", a {args.budget:g} s search" if args.budget else ""))

    def line(rec):
        knobs = "  ".join(f"{k} {v:.4g}" for k, v in rec.items() if k not in ("round", "epochs", "heldout_psnr_paper",
                                                                          "train_psnr_paper", "seconds"))
        tqdm.write(f"  round {rec['round']}  {knobs}  held-out {rec['heldout_psnr_paper']:.2f} dB  "
                   f"({rec['epochs']} epochs, {rec['seconds']:.1f} s)")

    tuning = tune(signal, model, options, budget=args.budget, progress=not args.quiet,
                  on_candidate=None if args.quiet else line)
    with out as folder:
        write_tuning(folder, tuning, signal)
    best = "  ".join(f"{k} {tuning.best[k]:.4g}" for k in tuning.knobs)
    default = "  ".join(f"{k} {tuning.default[k]:.4g}" for k in tuning.knobs)
    print(f"best: {best}   (default: {default})")
    print("  " + playoff_line(tuning))
    print("  " + metrics_text({k: v for k, v in tuning.run.metrics.items() if k not in ("mse", "best_epoch_psnr_paper")}))
    print(f"  {tuning.search_seconds:.1f} s search + {tuning.fit_seconds:.1f} s of full fits ({tuning.cost:.2f} fits); outputs in "
          f"{args.out}/ (replay: siren2 fit --config {args.out}/best/config.json --out NEW)")
    return 0
