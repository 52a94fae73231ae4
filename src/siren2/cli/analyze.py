"""``siren2 analyze``: activation statistics, NTK spectra, noise-scale sensitivity (docs/method.md#analysis-tools)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .options import add_input_options, add_schedule_option, int_list, options_from

__all__ = ["add_parsers", "cmd_analyze"]


def add_parsers(sub) -> None:
    """analyze."""
    from ..presets import PRESETS
    from ..winner import RULE_NAMES

    a = sub.add_parser("analyze", help="activation statistics, NTK spectra and noise-scale sensitivity (docs/method.md#analysis-tools)")
    a.add_argument("file", type=Path, nargs="?", help="audio or image (default: the built-in demo clip)")
    a.add_argument("--out", type=Path, required=True, help="output folder (refused if it holds files)")
    a.add_argument("--force", action="store_true", help="overwrite an output folder that holds results")
    a.add_argument("--models", default="siren,siren2", help="comma-separated (default: siren,siren2)")
    a.add_argument("--preset", choices=sorted(PRESETS), help="default: paper_audio or paper_image by the file")
    a.add_argument("--width", type=int)
    a.add_argument("--layers", type=int, dest="hidden_layers", help="hidden layers L")
    a.add_argument("--s0", type=float, help="WINNER models: first-layer noise scale (overrides the rule)")
    a.add_argument("--s1", type=float, help="WINNER models: second-layer noise scale (overrides the rule)")
    a.add_argument("--rule", choices=RULE_NAMES, help="(s0, s1) rule: code, text, sqrtc or auto (default: code for "
                                                     "audio and images, auto in 3-D)")
    add_schedule_option(a)
    a.add_argument("--epochs-at", default="0,100", help="snapshot epochs of one fit, 0 = init (default: 0,100)")
    a.add_argument("--points", type=int, default=2048, help="NTK points (default: 2048)")
    a.add_argument("--act-points", type=int, default=16384, help="activation points (default: 16384)")
    a.add_argument("--sampling", choices=["window", "even"], default="window",
                   help="points: a centred contiguous window at the native rate (default) or evenly strided")
    a.add_argument("--sweep", action="append", default=[], metavar="s0=V,V,...",
                   help="psnr_paper after a short fit per noise scale; give it twice for an (s0, s1) grid")
    a.add_argument("--sweep-epochs", type=int, default=100, help="epochs of each sweep fit (default: 100)")
    a.add_argument("--ntk-memory", type=float, default=4.0, help="NTK memory budget in GiB (default: 4)")
    add_input_options(a)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--device", default=None, help="cpu, cuda, mps (default: auto)")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    a.set_defaults(func=cmd_analyze)


def _sweep_axes(specs: list[str]) -> dict[str, list[float]]:
    axes = {}
    for spec in specs:
        name, _, values = spec.partition("=")
        try:
            axes[name.strip()] = [float(v) for v in values.split(",")]
        except ValueError:
            raise InputError(f"--sweep {spec!r}: expected s0=V,V,... or s1=V,V,..., e.g. s0=0,500,1000") from None
    return axes


def cmd_analyze(args) -> int:
    """``siren2 analyze``: the paper's analysis figures for one signal."""
    from ..analysis import AnalysisConfig, analyze
    from ..recipes import DEFAULT_RECIPE
    from ..compare import check_models
    from ..runs import RunFolder
    from ..signal import demo_signal
    from ..spec import load_input

    out = RunFolder(args.out, force=args.force)  # refuse early, before any work
    signal = load_input(options_from(args), args.file) if args.file else demo_signal(seed=args.seed)
    shape = {k: v for k, v in dict(width=args.width, hidden_layers=args.hidden_layers).items() if v is not None}
    models = check_models([m.strip() for m in args.models.split(",") if m.strip()])
    config = AnalysisConfig(models=tuple(models), preset=args.preset, model_options=shape, s0=args.s0, s1=args.s1,
                            rule=args.rule, epochs_at=tuple(int_list("--epochs-at", args.epochs_at)),
                            points=args.points, act_points=args.act_points, sampling=args.sampling,
                            sweep=_sweep_axes(args.sweep), sweep_epochs=args.sweep_epochs,
                            memory_budget=args.ntk_memory * 2**30, seed=args.seed, recipe=args.recipe or DEFAULT_RECIPE,
                            device=args.device,
                            progress=not args.quiet)
    print(f"{signal.source}: {signal.num_points:,} points; models {', '.join(config.models)}; snapshots at epochs "
          f"{', '.join(map(str, sorted(set(config.epochs_at))))}")
    with out as folder:
        summary = analyze(signal, config, folder, log=lambda msg: print(f"  {msg}", flush=True))
    unit = summary["freq_unit"]
    print(f"\ntarget on the NTK points: centroid {summary[f'target_centroid_{unit}']:.4g} {unit}, half its power "
          f"above {summary[f'target_median_{unit}']:.4g} {unit}")
    print(f"| model | epoch | NTK s | NTK centroid ({unit}) | NTK energy above the target's median |\n|---|---|---|---|---|")
    for name, rec in summary["models"].items():
        for s in rec["snapshots"]:
            print(f"| {name} | {s['epoch']} | {s['ntk_seconds']:.1f} | {s[f'ntk_centroid_{unit}']:.4g} | "
                  f"{s['ntk_energy_above_target_median']:.3g} |")
    print(f"\noutputs in {args.out}/")
    return 0
