"""``siren2 demo``, ``fit``, ``compare``, ``models`` and ``render``: one fit, several, and its files."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError
from .report import add_report_option
from .options import (add_device_options, add_input_options, add_network_options, add_recipe_options,
                      add_schedule_option, add_winner_options, metrics_text, models_and_seeds, options_from,
                      render_size, stop_note)

__all__ = ["add_parsers", "add_fit_options", "cmd_demo", "cmd_fit", "cmd_compare", "tune_models", "cmd_models",
           "cmd_render"]


def add_parsers(sub) -> None:
    """demo, fit, compare, models, render."""
    from ..presets import PRESETS

    d = sub.add_parser("demo", help="fit SIREN and SIREN² on a built-in high-frequency clip (no input needed)")
    d.add_argument("--out", type=Path, default=Path("siren2-demo"), help="output folder (default: siren2-demo)")
    d.add_argument("--epochs", type=int, default=300)
    add_schedule_option(d)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--device", default=None)
    d.set_defaults(func=cmd_demo)

    f = sub.add_parser("fit", help="fit one audio, image, .npy volume or mesh file")
    f.add_argument("file", type=Path, nargs="?", help="the file (optional with --config: the run's own input)")
    f.add_argument("--out", type=Path, required=True, help="output folder (refused if it holds files)")
    f.add_argument("--force", action="store_true", help="overwrite an output folder that holds results")
    f.add_argument("--config", type=Path, metavar="RUN/config.json",
                   help="replay a run: its options, with any given here overriding them (FILE: another input)")
    add_fit_options(f)
    f.add_argument("--tensorboard", type=Path, metavar="DIR", help="log the fit to TensorBoard under DIR: loss, "
                   "psnr_paper and lr per epoch, the result as audio or images (extra: tensorboard)")
    add_report_option(f)
    f.set_defaults(func=cmd_fit)

    c = sub.add_parser("compare", help="fit several models x seeds on one file with one budget; table and figures")
    c.add_argument("file", type=Path)
    c.add_argument("--models", required=True, help="comma-separated, e.g. siren,siren2,finer++ (see 'siren2 models')")
    c.add_argument("--seeds", default="0", help="comma-separated integers (default: 0)")
    c.add_argument("--batch-seeds", action="store_true",
                   help="train a model's seeds as one batched fit (same results; each fit's seconds are the batch's)")
    c.add_argument("--out", type=Path, required=True, help="output folder (refused if it holds files)")
    c.add_argument("--force", action="store_true", help="overwrite an output folder that holds results")
    c.add_argument("--resume", action="store_true", help="keep the fits an interrupted comparison in --out "
                   "finished (same file and options) and run the rest")
    c.add_argument("--tune", action="store_true",
                   help="first tune each model's bandwidth and peak rate on held-out samples (siren2 tune's search, "
                        "the same budget for each), then compare them at their best")
    c.add_argument("--preset", choices=sorted(PRESETS), help="default: paper_audio or paper_image by the file")
    add_recipe_options(c, lr=False)
    add_network_options(c)
    add_input_options(c)
    add_device_options(c)
    add_report_option(c)
    c.set_defaults(func=cmd_compare)

    m = sub.add_parser("models", help="list the registered models with parameter counts for a preset")
    m.add_argument("--preset", choices=sorted(PRESETS), default="paper_audio", help="default: paper_audio")
    m.add_argument("--channels", type=int, default=1, help="output channels C (default: 1)")
    m.set_defaults(func=cmd_models)

    r = sub.add_parser("render", help="re-synthesize a fitted signal at any resolution")
    r.add_argument("run_dir", type=Path, help="output folder of 'siren2 fit'")
    r.add_argument("--out", type=Path, required=True, help="file to write (.wav/.flac, .png, .npy; a volume also a "
                   "mesh by marching cubes: .obj, .ply, .stl, .off)")
    r.add_argument("--force", action="store_true")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--sample-rate", type=int, help="audio: render at this rate (e.g. 2x the original)")
    g.add_argument("--size", help="image: HxW, e.g. 1024x1024; volume: DxHxW")
    r.add_argument("--level", type=float, help="mesh output: the iso-level in the file's units (default: the middle "
                   "of the range: signed distance 0, occupancy 0.5)")
    r.add_argument("--device", default=None)
    add_input_options(r, max_samples=False)
    r.set_defaults(func=cmd_render)


def add_fit_options(p) -> None:
    """Everything ``fit`` and ``fit-many`` take besides their inputs and outputs."""
    from ..io import FIELDS, MESH_RESOLUTION, NEAR_SURFACE
    from ..models import list_models
    from ..presets import PRESETS

    p.add_argument("--model", choices=list(list_models()), help="default: siren2")
    p.add_argument("--preset", choices=sorted(PRESETS), help="default: paper_audio or paper_image by the file")
    add_recipe_options(p)
    add_network_options(p)
    p.add_argument("--lr-gamma", type=float, help="StepLR's γ (the paper recipe's schedule)")
    p.add_argument("--omega0", type=float, help="ω0 of the hidden sines (default 30)")
    p.add_argument("--omega-first", type=float, help="ω of the first sine (SIREN: 3000 audio, 30 images)")
    add_winner_options(p, centroid="flattened")
    add_input_options(p)
    p.add_argument("--keep-channels", action="store_true", default=None,
                   help="audio: fit every channel, not the mono mix")
    p.add_argument("--field", choices=FIELDS, help="mesh: fit its signed distance (default) or occupancy")
    p.add_argument("--mesh-resolution", type=int, metavar="N",
                   help=f"mesh: sample the field on an N x N x N grid (default: {MESH_RESOLUTION})")
    p.add_argument("--mesh-near", type=float, metavar="F",
                   help=f"mesh: F x as many samples again near the surface, in the grid cells it crosses, which the "
                        f"fit trains on too (default: {NEAR_SURFACE:g}; 0: the grid only)")
    p.add_argument("--batch-size", type=int, help="points per step (default: the model's, see 'siren2 models'; "
                   "one at least the signal's size is a full batch)")
    p.add_argument("--chunk-size", type=int, help="split the full-batch step into chunks (large signals)")
    p.add_argument("--seed", type=int, help="default: 0")
    p.add_argument("--tf32", action="store_true", default=None, help="CUDA: TF32 matrix products (faster, less exact)")
    add_device_options(p)


def cmd_demo(args) -> int:
    """``siren2 demo``: fit SIREN and SIREN² on the built-in high-frequency clip."""
    from .. import plots
    from ..io import save_signal
    from ..runs import RunFolder, run, write_run
    from ..signal import demo_signal
    from ..spec import resolve

    signal = demo_signal(seed=args.seed)
    shape = dict(hidden_layers=3, width=128)
    print(f"siren2 demo: {signal.num_points} samples at {signal.sample_rate} Hz, energy at 6–20 kHz; "
          f"3 x 128 sine MLPs, {args.epochs} full-batch epochs each, recipe {args.recipe or 'fast'}")
    out = RunFolder(args.out, force=True)
    runs = {}
    for label, name, opts in (("SIREN (ω_first 30)", "siren", dict(omega_first=30.0)), ("SIREN²", "siren2", {})):
        spec = resolve(signal, shape | opts, model=name, recipe=args.recipe, epochs=args.epochs, seed=args.seed,
                       device=args.device)
        runs[label] = run(spec, signal, progress=True)
        print(f"  {label:<20} psnr_paper {runs[label].metrics['psnr_paper']:6.2f} dB   "
              f"({runs[label].result.seconds:.1f} s)")
    with out as folder:
        save_signal(signal, folder / "target.wav")
        for label, one in runs.items():
            write_run(folder / one.name, one, signal, figures=False)
        plots.psnr_curves({k: r.result.psnr_history for k, r in runs.items()}, folder / "psnr.png", "demo")
        plots.audio_fit(signal.values[:, 0], {k: r.reconstruction.values[:, 0] for k, r in runs.items()},
                        signal.sample_rate, folder / "audio.png")
    rms = lambda v: float((v**2).mean() ** 0.5)  # noqa: E731
    s, s2 = runs["SIREN (ω_first 30)"], runs["SIREN²"]
    print("\n| model | psnr_paper (dB) | SNR (dB) | output RMS / target RMS |\n|---|---|---|---|")
    for label, one in runs.items():
        print(f"| {label} | {one.metrics['psnr_paper']:.2f} | {one.metrics['snr']:.2f} | "
              f"{rms(one.reconstruction.values) / rms(signal.values):.3f} |")
    print(f"\nThe spectral bottleneck: SIREN's output stays near zero (SNR {s.metrics['snr']:.1f} dB) while "
          f"SIREN² fits (SNR {s2.metrics['snr']:.1f} dB). Outputs in {args.out}/ (each model's run in its own "
          "folder: replay one with 'siren2 fit --config')")
    return 0


def cmd_fit(args) -> int:
    """``siren2 fit``: fit one audio, image, .npy volume or mesh file."""
    from ..runs import fit_file, input_notes
    from ..spec import RunSpec

    options = options_from(args)
    if args.config is not None:
        options = RunSpec.from_config(args.config).options | options  # the command line wins
    if args.file is not None:
        options["input"] = str(args.file)
    if "input" not in options:
        raise InputError("give the FILE to fit, or --config RUN/config.json to replay a run")
    board = None
    if args.tensorboard is not None:
        from ..tensorboard import TensorBoard

        board = TensorBoard(args.tensorboard, Path(options["input"]).stem)
    run = fit_file(options, args.out, force=args.force, progress=not args.quiet,
                   callbacks=[board] if board else None)
    if board is not None:
        from ..spec import load_input

        print(f"  tensorboard: {board.finish(run, load_input(run.spec.options))}")
    spec, w = run.spec, run.model.winner
    extra = f"  ψ {w.psi:.3f}  s0 {w.s0:.1f}  s1 {w.s1:.3f}" if w is not None and w.psi is not None else ""
    print(f"{spec.input['path']}: {spec.model}, {run.config['model']['parameters']:,} parameters, recipe "
          f"{spec.recipe}, {run.result.epochs_run} epochs in {run.result.seconds:.1f} s on {run.result.device}"
          f"{stop_note(run.result)}")
    for note in input_notes(run.reconstruction):
        print(f"  note: {note}")
    print("  " + metrics_text(run.metrics) + extra)
    if w is not None and w.search is not None:
        print(f"  rule auto: {len(w.search['valley'])} (s0, s1) points, {w.search['method'].split(', ')[-1]}, "
              f"{w.search['seconds']:.1f} s (config.json: model.winner.search)")
    print(f"  outputs in {args.out}/ (replay: siren2 fit --config {args.out}/config.json --out NEW)")
    return 0


def cmd_compare(args) -> int:
    """``siren2 compare``: several models x seeds on one file with one budget."""
    from tqdm.auto import tqdm

    from ..compare import compare, comparison_settings, finished_fits, write_comparison
    from ..runs import RunFolder
    from ..tuning import write_tuning
    from ..spec import load_input, resolve
    from ..train import FitConfig

    out = RunFolder(args.out, force=args.force or args.resume)  # refuse early, before any work
    models, seeds = models_and_seeds(args)
    options = options_from(args)
    if options.get("epochs") is not None and options["epochs"] < 1:
        raise InputError(f"--epochs {options['epochs']}: must be at least 1")
    options["input"] = str(args.file)  # recorded in each fit's config.json (its replay, the report's target)
    signal = load_input(options)
    base = resolve(signal, options | {"model": models[0]})
    epochs = options.get("epochs") or FitConfig.resolve(base.preset, base.recipe, signal.in_dim).epochs
    tunings = tune_models(signal, models, options | {"epochs": epochs, "seed": seeds[0]}) if args.tune else {}
    per_model = {m: t.best for m, t in tunings.items()}
    done = {}
    if args.resume and args.out.is_dir() and any(args.out.iterdir()):
        done = finished_fits(args.out, signal, comparison_settings(signal, models, seeds, epochs, base.preset,
                                                                   base.recipe, options, per_model))
    print(f"{args.file}: {signal.num_points:,} points; {len(models)} models x {len(seeds)} seeds, "
          f"{epochs} epochs each, preset {base.preset}, recipe {base.recipe}"
          + (f"; {len(done)} fits kept from {args.out}/" if done else ""))
    bar = tqdm(total=(len(models) * len(seeds) - len(done)) * epochs, unit="epoch", dynamic_ncols=True, leave=False,
               disable=args.quiet)

    def on_fit(model, seed, run):
        m = {k: v for k, v in run.metrics.items() if k not in ("mse", "best_epoch_psnr_paper")}
        tqdm.write(f"  {model:<10} seed {seed}: {metrics_text(m)}  ({run.result.seconds:.1f} s)")

    try:
        comp = compare(signal, models, seeds, done=done, batch_seeds=args.batch_seeds, per_model=per_model,
                       on_epoch=lambda *_: bar.update(1), on_fit=on_fit, **options | {"epochs": epochs})
    finally:
        bar.close()
    if not comp.runs:
        print("siren2: interrupted before any fit finished; nothing written", file=sys.stderr)
        return 130
    with out as folder:
        write_comparison(folder, comp)
        for model, tuning in tunings.items():
            write_tuning(folder / "tuning" / model, tuning, signal)
    print()
    print(comp.markdown(), end="")
    note = f"interrupted: {len(comp.runs)} of {comp.planned} fits finished; " if comp.interrupted else ""
    print(f"\n{note}{comp.seconds:.1f} s in all; outputs in {args.out}/")
    return 0


def tune_models(signal, models: list[str], options: dict) -> dict:
    """``compare --tune``: each model tuned (its search and playoff, the same budget for each; the
    comparison then fits the winner at every seed); prints one line per model."""
    from ..tuning import playoff_line, tune

    tunings = {}
    for model in models:
        tunings[model] = t = tune(signal, model, options)
        print(f"  tuned {model:<10} " + "  ".join(f"{k} {t.best[k]:.4g}" for k in t.knobs)
              + f"  ({len(t.candidates)} search fits, {t.search_seconds + t.fit_seconds:.1f} s; {playoff_line(t)})")
    return tunings


def cmd_models(args) -> int:
    """``siren2 models``: the registered models with parameter counts for a preset."""
    from ..build import model_summary
    from ..presets import PRESETS, preset_in_dim

    if args.channels < 1:
        raise InputError(f"--channels {args.channels}: must be at least 1")
    p = PRESETS[args.preset]
    rows = model_summary(args.preset, args.channels)
    base = next((r["parameters"] for r in rows if r["name"] == "siren"), None)
    print(f"preset {args.preset}: {preset_in_dim(args.preset)}-D input, {args.channels} channel(s), "
          f"{p.hidden_layers} hidden layers x {p.width}; Adam {p.lr:g}, StepLR({p.lr_step}, {p.lr_gamma:g}), "
          f"{p.epochs} epochs")
    print(f"{'model':<10} {'parameters':>10} {'vs siren':>9}  {'batch':>6}  description")
    for r in rows:
        rel = f"{100 * (r['parameters'] / base - 1):+.1f}%" if base else ""
        batch = r["fit_defaults"].get("batch_size")
        print(f"{r['name']:<10} {r['parameters']:>10,} {rel:>9}  {'full' if batch is None else batch:>6}  "
              f"{r['description']}")
    return 0


def cmd_render(args) -> int:
    """``siren2 render``: re-synthesize a fitted signal at any resolution."""
    from ..io import MAX_POINTS, MESH_SUFFIXES, save_mesh, save_signal
    from ..runs import render
    from ..shapes import isosurface

    size = render_size(args)
    mesh = args.out.suffix.lower() in MESH_SUFFIXES
    if args.level is not None and not mesh:
        raise InputError(f"--level applies to mesh output ({', '.join(MESH_SUFFIXES)}), not {args.out.suffix!r}")
    signal = render(args.run_dir, sample_rate=args.sample_rate, size=size, device=args.device,
                    max_points=MAX_POINTS if args.max_points is None else args.max_points)
    if mesh:
        vertices, faces = isosurface(signal, args.level, mesh_frame=True)
        save_mesh(vertices, faces, args.out)
        desc = f"{len(faces):,} triangles by marching cubes on {'x'.join(map(str, signal.grid))}"
    else:
        save_signal(signal, args.out)
        desc = f"{signal.grid[0]} samples at {signal.sample_rate} Hz" if signal.kind == "audio" else \
            "x".join(map(str, signal.grid))
    print(f"{args.out}: {desc} rendered from {args.run_dir}")
    return 0
