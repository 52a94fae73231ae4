"""``siren2`` command line: thin subcommands over the library. The only module that prints or exits.

Bad input (a missing or corrupt file, a folder that already holds results, a bad option value)
ends with one line ``siren2: error: FILE: problem`` and exit code 2, leaving nothing on disk.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from .errors import InputError

EXIT_USAGE = 2


def _warn_one_line(message, category, filename, lineno, file=None, line=None):
    print(f"siren2: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.showwarning = _warn_one_line
    try:
        return args.func(args) or 0
    except (InputError, ValueError) as e:
        print(f"siren2: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("siren2: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .models import list_models
    from .presets import PRESETS
    from .recipes import DEFAULT_RECIPE, RECIPES
    from .winner import RULES

    p = argparse.ArgumentParser(prog="siren2", description="Fit signals with SIREN and SIREN² (WINNER), and compare them with the paper's baselines.")
    p.add_argument("--version", action="version", version=f"siren2 {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="fit SIREN and SIREN² on a built-in high-frequency clip (no input needed)")
    d.add_argument("--out", type=Path, default=Path("siren2-demo"), help="output folder (default: siren2-demo)")
    d.add_argument("--epochs", type=int, default=300)
    d.add_argument("--schedule", "--recipe", dest="recipe", default=DEFAULT_RECIPE, metavar="RECIPE",
                   help=f"training recipe: {', '.join(RECIPES)} (default: {DEFAULT_RECIPE})")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--device", default=None)
    d.set_defaults(func=cmd_demo)

    f = sub.add_parser("fit", help="fit one audio or image file")
    f.add_argument("file", type=Path)
    f.add_argument("--out", type=Path, required=True, help="output folder (refused if it holds files)")
    f.add_argument("--force", action="store_true", help="overwrite an output folder that holds results")
    f.add_argument("--model", default="siren2", choices=list(list_models()))
    f.add_argument("--preset", choices=sorted(PRESETS), help="default: paper_audio or paper_image by the file")
    add_recipe_options(f)
    f.add_argument("--width", type=int)
    f.add_argument("--layers", type=int, dest="hidden_layers", help="hidden layers L")
    f.add_argument("--lr-gamma", type=float, help="StepLR's γ (the paper recipe's schedule)")
    f.add_argument("--omega0", type=float, help="ω0 of the hidden sines (default 30)")
    f.add_argument("--omega-first", type=float, help="ω of the first sine (SIREN: 3000 audio, 30 images)")
    f.add_argument("--rule", default="code", choices=sorted(RULES), help="ψ → (s0, s1) rule (default: code)")
    f.add_argument("--centroid", default="flattened", choices=["flattened", "grid"],
                   help="ψ of the flattened signal (the paper's choice) or along the grid's last axis")
    f.add_argument("--s0", type=float, help="WINNER first-layer noise scale (overrides the rule)")
    f.add_argument("--s1", type=float, help="WINNER second-layer noise scale (overrides the rule)")
    f.add_argument("--max-samples", type=int, help="audio: first N samples (paper_audio: 150000; 0 = all)")
    f.add_argument("--keep-channels", action="store_true", help="audio: fit every channel, not the mono mix")
    f.add_argument("--batch-size", type=int, help="points per step (default: the model's, see 'siren2 models'; "
                   "one at least the signal's size is a full batch)")
    f.add_argument("--chunk-size", type=int, help="split the full-batch step into chunks (large signals)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--device", default=None, help="cpu, cuda, mps (default: auto)")
    f.add_argument("--tf32", action="store_true", help="CUDA: TF32 matrix products (faster, less exact)")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    f.set_defaults(func=cmd_fit)

    c = sub.add_parser("compare", help="fit several models x seeds on one file with one budget; table and figures")
    c.add_argument("file", type=Path)
    c.add_argument("--models", required=True, help="comma-separated, e.g. siren,siren2,finer++ (see 'siren2 models')")
    c.add_argument("--seeds", default="0", help="comma-separated integers (default: 0)")
    c.add_argument("--out", type=Path, required=True, help="output folder (refused if it holds files)")
    c.add_argument("--force", action="store_true", help="overwrite an output folder that holds results")
    c.add_argument("--preset", choices=sorted(PRESETS), help="default: paper_audio or paper_image by the file")
    add_recipe_options(c, lr=False)
    c.add_argument("--width", type=int, help="hidden width H of every model (default: the preset's)")
    c.add_argument("--layers", type=int, dest="hidden_layers", help="hidden layers L of every model")
    c.add_argument("--max-samples", type=int, help="audio: first N samples (paper_audio: 150000; 0 = all)")
    c.add_argument("--device", default=None, help="cpu, cuda, mps (default: auto)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=cmd_compare)

    m = sub.add_parser("models", help="list the registered models with parameter counts for a preset")
    m.add_argument("--preset", choices=sorted(PRESETS), default="paper_audio", help="default: paper_audio")
    m.add_argument("--channels", type=int, default=1, help="output channels C (default: 1)")
    m.set_defaults(func=cmd_models)

    r = sub.add_parser("render", help="re-synthesize a fitted signal at any resolution")
    r.add_argument("run_dir", type=Path, help="output folder of 'siren2 fit'")
    r.add_argument("--out", type=Path, required=True, help="file to write (.wav/.flac or .png)")
    r.add_argument("--force", action="store_true")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--sample-rate", type=int, help="audio: render at this rate (e.g. 2x the original)")
    g.add_argument("--size", help="image: HxW, e.g. 1024x1024")
    r.add_argument("--device", default=None)
    r.set_defaults(func=cmd_render)
    _add_restore_parsers(sub)
    _add_analyze_parser(sub)
    _add_bench_parser(sub)
    return p


def add_recipe_options(p: argparse.ArgumentParser, lr: bool = True) -> None:
    """--schedule, --epochs, --lr and the stop rules: what every fitting command takes."""
    from .recipes import DEFAULT_RECIPE, RECIPES

    p.add_argument("--schedule", "--recipe", dest="recipe", default=DEFAULT_RECIPE, metavar="RECIPE",
                   help=f"training recipe: {', '.join(RECIPES)} (default: {DEFAULT_RECIPE}; 'paper' reproduces "
                        "the paper's Adam 1e-4 + StepLR protocol)")
    p.add_argument("--epochs", type=int, help="epoch budget (default: the recipe's)")
    if lr:
        p.add_argument("--lr", type=float, help="peak learning rate (default: the recipe's, per model)")
    p.add_argument("--target-psnr", type=float, metavar="DB",
                   help="stop at the first epoch whose psnr_paper on the fitted samples reaches DB")
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="stop at this many seconds of training, keeping the best state")


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


def cmd_demo(args) -> int:
    from . import plots
    from .runs import OutputDir, run_fit
    from .signals import demo_signal, save_signal
    from .train import FitConfig

    signal = demo_signal(seed=args.seed)
    shape = dict(hidden_layers=3, width=128)
    print(f"siren2 demo: {signal.num_points} samples at {signal.sample_rate} Hz, energy at 6–20 kHz; "
          f"3 x 128 sine MLPs, {args.epochs} full-batch epochs each, recipe {args.recipe}")
    runs = {}
    for label, name, opts in (("SIREN (ω_first 30)", "siren", dict(omega_first=30.0)), ("SIREN²", "siren2", {})):
        cfg = FitConfig.resolve(None, args.recipe, 1, model=name, width=shape["width"], epochs=args.epochs,
                                seed=args.seed, device=args.device, progress=True)
        runs[label] = run_fit(signal, name, fit_config=cfg, model_options=shape | opts)
        print(f"  {label:<20} psnr_paper {runs[label].metrics['psnr_paper']:6.2f} dB   "
              f"({runs[label].result.seconds:.1f} s)")
    with OutputDir(args.out, force=True) as out:
        save_signal(signal, out / "target.wav")
        for label, run in runs.items():
            save_signal(run.reconstruction, out / f"{run.name}.wav")
        plots.psnr_curves({k: r.result.psnr_history for k, r in runs.items()}, out / "psnr.png", "demo")
        plots.audio_fit(signal.values[:, 0], {k: r.reconstruction.values[:, 0] for k, r in runs.items()},
                        signal.sample_rate, out / "audio.png")
        out.write_json("metrics.json", {k: r.metrics for k, r in runs.items()})
        out.write_json("config.json", {k: r.config for k, r in runs.items()})
    rms = lambda v: float((v**2).mean() ** 0.5)  # noqa: E731
    s, s2 = runs["SIREN (ω_first 30)"], runs["SIREN²"]
    print(f"\n| model | psnr_paper (dB) | SNR (dB) | output RMS / target RMS |\n|---|---|---|---|")
    for label, run in runs.items():
        print(f"| {label} | {run.metrics['psnr_paper']:.2f} | {run.metrics['snr']:.2f} | "
              f"{rms(run.reconstruction.values) / rms(signal.values):.3f} |")
    print(f"\nThe spectral bottleneck: SIREN's output stays near zero (SNR {s.metrics['snr']:.1f} dB) while "
          f"SIREN² fits (SNR {s2.metrics['snr']:.1f} dB). Outputs in {args.out}/")
    return 0


def cmd_fit(args) -> int:
    from .models import winner_models
    from .presets import PRESETS, get_preset
    from .runs import OutputDir, run_fit, write_run
    from .signals import load_signal
    from .train import FitConfig

    out = OutputDir(args.out, force=args.force)  # refuse early, before any work
    max_samples = args.max_samples
    if max_samples is None:  # the preset's audio length (images ignore it)
        max_samples = PRESETS[args.preset or "paper_audio"].max_samples
    signal = load_signal(args.file, max_samples=max_samples or None, mono=not args.keep_channels)
    preset_name, _ = get_preset(args.preset, signal.in_dim)
    cfg = FitConfig.resolve(preset_name, args.recipe, signal.in_dim, model=args.model, width=args.width,
                            **recipe_overrides(args),
                            lr_gamma=args.lr_gamma, batch_size=args.batch_size, chunk_size=args.chunk_size,
                            seed=args.seed, device=args.device, tf32=args.tf32, progress=not args.quiet)
    model_options = {k: v for k, v in dict(width=args.width, hidden_layers=args.hidden_layers, omega0=args.omega0,
                                            omega_first=args.omega_first).items() if v is not None}
    winner = args.model in winner_models()
    winner_options = dict(s0=args.s0, s1=args.s1, rule=args.rule, centroid=args.centroid)
    if not winner and (args.s0 is not None or args.s1 is not None):
        raise InputError(f"--s0/--s1 apply to WINNER models only ({', '.join(winner_models())}), not {args.model!r}")
    run = run_fit(signal, args.model, preset=preset_name, fit_config=cfg, model_options=model_options,
                  winner_options=winner_options if winner else None)
    with out:
        write_run(out, run, signal)
    m, w = run.metrics, run.model.winner
    extra = f"  ψ {w.psi:.3f}  s0 {w.s0:.1f}  s1 {w.s1:.3f}" if w is not None and w.psi is not None else ""
    print(f"{args.file}: {args.model}, {run.config['model']['parameters']:,} parameters, recipe {cfg.recipe}, "
          f"{len(run.result.loss)} epochs in {run.result.seconds:.1f} s on {run.result.device}"
          f"{stop_note(run.result)}")
    print("  " + "  ".join(f"{k} {v:.4g}" for k, v in m.items()) + extra)
    print(f"  outputs in {args.out}/")
    return 0


def _int_list(option: str, text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"{option} {text!r}: expected comma-separated integers, e.g. 0,1,2") from None


def cmd_compare(args) -> int:
    from tqdm.auto import tqdm

    from .compare import check_models, check_seeds, compare, write_comparison
    from .presets import PRESETS, get_preset
    from .runs import OutputDir
    from .signals import load_signal
    from .train import FitConfig

    out = OutputDir(args.out, force=args.force)  # refuse early, before any work
    models = check_models([m.strip() for m in args.models.split(",") if m.strip()])
    seeds = check_seeds(_int_list("--seeds", args.seeds))
    if args.epochs is not None and args.epochs < 1:
        raise InputError(f"--epochs {args.epochs}: must be at least 1")
    max_samples = args.max_samples
    if max_samples is None:  # the preset's audio length (images ignore it)
        max_samples = PRESETS[args.preset or "paper_audio"].max_samples
    signal = load_signal(args.file, max_samples=max_samples or None)
    preset_name, _ = get_preset(args.preset, signal.in_dim)
    epochs = FitConfig.resolve(preset_name, args.recipe, signal.in_dim, epochs=args.epochs).epochs
    shape = {k: v for k, v in dict(width=args.width, hidden_layers=args.hidden_layers).items() if v is not None}
    print(f"{args.file}: {signal.num_points:,} points; {len(models)} models x {len(seeds)} seeds, "
          f"{epochs} epochs each, preset {preset_name}, recipe {args.recipe}")
    bar = tqdm(total=len(models) * len(seeds) * epochs, unit="epoch", dynamic_ncols=True, leave=False,
               disable=args.quiet)

    def on_fit(model, seed, run):
        m = run.metrics
        scores = "  ".join(f"{k} {m[k]:.4g}" for k in m if k not in ("mse", "best_epoch_psnr_paper"))
        tqdm.write(f"  {model:<10} seed {seed}: {scores}  ({run.result.seconds:.1f} s)")

    try:
        comp = compare(signal, models, seeds, preset=preset_name, recipe=args.recipe, epochs=epochs,
                       device=args.device, fit_options=recipe_overrides(args) | {"epochs": None},
                       model_options=shape, on_epoch=lambda *_: bar.update(1), on_fit=on_fit)
    finally:
        bar.close()
    if not comp.runs:
        print("siren2: interrupted before any fit finished; nothing written", file=sys.stderr)
        return 130
    with out:
        write_comparison(out, comp)
    print()
    print(comp.markdown(), end="")
    note = f"interrupted: {len(comp.runs)} of {comp.planned} fits finished; " if comp.interrupted else ""
    print(f"\n{note}{comp.seconds:.1f} s in all; outputs in {args.out}/")
    return 0


def cmd_models(args) -> int:
    from .models import model_summary
    from .presets import PRESETS, preset_in_dim

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
    from .runs import render
    from .signals import save_signal

    if args.out.exists() and not args.force:
        raise InputError(f"{args.out}: already exists (use --force to overwrite)")
    size = None
    if args.size:
        try:
            h, w = (int(v) for v in args.size.lower().split("x"))
            size = (h, w)
            if h < 1 or w < 1:
                raise ValueError
        except ValueError:
            raise InputError(f"--size {args.size!r}: expected HxW with positive sizes, e.g. 1024x1024") from None
    if args.sample_rate is not None and args.sample_rate < 1:
        raise InputError(f"--sample-rate {args.sample_rate}: must be a positive rate in Hz")
    signal = render(args.run_dir, sample_rate=args.sample_rate, size=size, device=args.device)
    save_signal(signal, args.out)
    desc = f"{signal.grid[0]} samples at {signal.sample_rate} Hz" if signal.kind == "audio" else \
        "x".join(map(str, signal.grid))
    print(f"{args.out}: {desc} rendered from {args.run_dir}")
    return 0



# ------------------------------------------------------------------------------------ restoration


def _add_restore_parsers(sub) -> None:
    from .models import list_models
    from .presets import PRESETS
    from .tasks import HOLDOUT_FRACTION, MIN_GAP, PATIENCE, STOP_RULES

    def common(p, stop: str) -> None:
        p.add_argument("--out", type=Path, required=True, help="output folder (refused if it holds files)")
        p.add_argument("--force", action="store_true", help="overwrite an output folder that holds results")
        p.add_argument("--preset", choices=sorted(PRESETS), help="default: paper_audio or paper_image by the file")
        add_recipe_options(p)
        p.add_argument("--stop", choices=STOP_RULES, default=stop,
                       help=f"fixed: the epoch budget (the paper's protocol); holdout: stop when held-out observed "
                            f"samples stop improving (default: {stop})")
        p.add_argument("--holdout", type=float,
                       help=f"holdout: fraction of the observed samples left out of training "
                            f"(default {HOLDOUT_FRACTION})")
        p.add_argument("--patience", type=int, help=f"holdout: epochs without improvement to stop (default {PATIENCE})")
        p.add_argument("--width", type=int)
        p.add_argument("--layers", type=int, dest="hidden_layers", help="hidden layers L")
        p.add_argument("--device", default=None, help="cpu, cuda, mps (default: auto)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    d = sub.add_parser("denoise", help="restore a noisy audio or image file (no clean reference needed)")
    d.add_argument("file", type=Path)
    d.add_argument("--model", default="siren2", choices=list(list_models()))
    d.add_argument("--seed", type=int, default=0)
    common(d, "holdout")
    d.set_defaults(func=cmd_restore)

    i = sub.add_parser("inpaint", help="fill missing samples of an audio file or pixels of an image")
    i.add_argument("file", type=Path)
    g = i.add_mutually_exclusive_group(required=True)
    g.add_argument("--mask", type=Path, help="nonzero = observed, 0 = missing: audio a wav/flac or .npy of N values, "
                   "images an image of the same size or .npy (H, W)")
    g.add_argument("--gaps", choices=["auto"], help="audio: runs of exact zeros (digital silence) inside the clip "
                   "are missing")
    i.add_argument("--min-gap", type=int, default=MIN_GAP,
                   help=f"--gaps auto: shortest run, samples (default {MIN_GAP})")
    i.add_argument("--model", default="siren2", choices=list(list_models()))
    i.add_argument("--seed", type=int, default=0)
    common(i, "fixed")
    i.set_defaults(func=cmd_restore)

    e = sub.add_parser("restore-eval", help="corrupt a clean file, restore it with models x seeds, score vs clean")
    e.add_argument("file", type=Path, help="the clean audio or image")
    c = e.add_mutually_exclusive_group(required=True)
    c.add_argument("--noise-std", type=float, help="Gaussian noise of this σ (of the [-1, 1] range)")
    c.add_argument("--noise-snr", type=float, help="Gaussian noise at this SNR (dB)")
    c.add_argument("--missing", type=float, help="this fraction of samples (pixels) missing at random")
    c.add_argument("--gaps", help="audio: COUNTxLENGTHms gaps, e.g. 20x10ms")
    e.add_argument("--models", default="siren,siren2", help="comma-separated (default: siren,siren2)")
    e.add_argument("--seeds", default="0,1,2", help="comma-separated; each draws the corruption and the init")
    e.add_argument("--max-samples", type=int, help="audio: first N samples (paper_audio: 150000; 0 = all)")
    common(e, "fixed")
    e.set_defaults(func=cmd_restore_eval)


def _restore_settings(args, signal) -> tuple[str, dict, dict, float]:
    """(preset name, FitConfig fields, model options, hold-out fraction) from the restoration options
    (the recipe is ``args.recipe``)."""
    from .presets import get_preset
    from .tasks import HOLDOUT_FRACTION

    if args.stop == "fixed" and (args.patience is not None or args.holdout is not None):
        raise InputError("--patience and --holdout apply to --stop holdout")
    preset_name, _ = get_preset(args.preset, signal.in_dim)
    fit_options = {k: v for k, v in (recipe_overrides(args) | dict(
        patience=args.patience, device=args.device, progress=not args.quiet)).items() if v is not None}
    model_options = {k: v for k, v in dict(width=args.width, hidden_layers=args.hidden_layers).items() if v is not None}
    return preset_name, fit_options, model_options, HOLDOUT_FRACTION if args.holdout is None else args.holdout


def cmd_restore(args) -> int:
    """denoise and inpaint: restore ``args.file``, write what 'siren2 fit' writes (+ mask.npy for inpaint)."""
    import numpy as np

    from .runs import OutputDir, write_run
    from .signals import load_signal
    from .tasks import load_mask, restore, silence_mask
    from .train import FitConfig

    out = OutputDir(args.out, force=args.force)  # refuse early, before any work
    signal = load_signal(args.file)
    inpaint = args.command == "inpaint"
    mask = None
    if inpaint:
        mask = silence_mask(signal, args.min_gap) if args.gaps else load_mask(args.mask, signal)
    preset, fit_options, model_options, holdout = _restore_settings(args, signal)
    cfg = FitConfig.resolve(preset, args.recipe, signal.in_dim, model=args.model, width=args.width, seed=args.seed,
                            **fit_options)
    run = restore(signal, mask, args.model, stop=args.stop, fit_config=cfg, holdout=holdout, preset=preset,
                  model_options=model_options, keep_observed=inpaint)
    with out:
        write_run(out, run, signal)
        if inpaint:
            np.save(out / "mask.npy", mask)
    rec = run.config["restoration"]
    how = (f"stopped at epoch {rec['epochs_run']} (best {rec['best_epoch'] + 1}) by the hold-out rule"
           if rec["stopped_early"] else f"{rec['epochs_run']} epochs ({rec['rule']})")
    missing = f", {1 - rec['observed_fraction']:.1%} of the samples missing" if inpaint else ""
    print(f"{args.file}: {args.model}{missing}; {how}, {run.result.seconds:.1f} s on {run.result.device}")
    print("  " + "  ".join(f"{k} {v:.4g}" for k, v in run.metrics.items()))
    print(f"  outputs in {args.out}/")
    return 0


def cmd_restore_eval(args) -> int:
    import numpy as np

    from . import plots
    from .compare import check_models, check_seeds
    from .presets import PRESETS
    from .runs import OutputDir
    from .signals import load_signal, save_signal
    from .tasks import CorruptionSpec, evaluate, parse_gaps

    out = OutputDir(args.out, force=args.force)  # refuse early, before any work
    models = check_models([m.strip() for m in args.models.split(",") if m.strip()])
    seeds = check_seeds(_int_list("--seeds", args.seeds))
    if args.gaps is not None:
        count, length_ms = parse_gaps(args.gaps)
        spec = CorruptionSpec("gaps", count, length_ms)
    else:
        kind, value = next((k, v) for k, v in (("noise_std", args.noise_std), ("noise_snr", args.noise_snr),
                                                ("missing", args.missing)) if v is not None)
        spec = CorruptionSpec(kind, value)
    max_samples = args.max_samples
    if max_samples is None:  # the preset's audio length (images ignore it)
        max_samples = PRESETS[args.preset or "paper_audio"].max_samples
    clean = load_signal(args.file, max_samples=max_samples or None)
    spec.apply(clean, seeds[0])  # a level that cannot be met fails here, before any fit
    preset, fit_options, model_options, holdout = _restore_settings(args, clean)
    print(f"{args.file}: {clean.num_points:,} points, {spec.label()}; {', '.join(models)} x seeds "
          f"{', '.join(map(str, seeds))}, stop {args.stop}")

    def on_run(model, seed, run):
        m, rec = run.metrics, run.config["restoration"]
        print(f"  {model:<10} seed {seed}: psnr_paper {m['psnr_paper']:.2f} dB, {rec['epochs_run']} epochs, "
              f"{run.result.seconds:.1f} s", flush=True)

    ev = evaluate(clean, spec, models, seeds, stop=args.stop, preset=preset, recipe=args.recipe,
                  fit_options=fit_options,
                  model_options=model_options, holdout=holdout, on_run=on_run)
    suffix = {"audio": ".wav", "image": ".png"}.get(clean.kind, ".npy")
    with out:
        (out / "table.md").write_text(ev.table())
        out.write_json("results.json", ev.to_json())
        save_signal(clean.with_values(ev.example["corrupted"]), out / f"corrupted{suffix}")
        for name in models:
            save_signal(clean.with_values(ev.example[name]), out / f"restored_{name}{suffix}")
        if spec.removes_samples:
            np.save(out / "mask.npy", ev.example["mask"])
        restored = {m: ev.example[m] for m in models}
        first_missing = int(np.argmin(ev.example["mask"])) if spec.removes_samples else None  # the close-up
        if clean.kind == "audio":
            plots.restoration_audio(clean.values[:, 0], ev.example["corrupted"][:, 0],
                                    {m: v[:, 0] for m, v in restored.items()}, clean.sample_rate,
                                    out / "restoration.png", center=first_missing)
        elif clean.kind == "image":
            shape = (*clean.grid, clean.channels)
            plots.restoration_image(clean.values.reshape(shape), ev.example["corrupted"].reshape(shape),
                                    {m: v.reshape(shape) for m, v in restored.items()}, out / "restoration.png")
    print()
    print(ev.table(), end="")
    print(f"\noutputs in {args.out}/ (files and figures of seed {seeds[0]})")
    return 0


def _add_analyze_parser(sub) -> None:
    from .presets import PRESETS
    from .recipes import DEFAULT_RECIPE, RECIPES
    from .winner import RULES

    a = sub.add_parser("analyze", help="activation statistics, NTK spectra and noise-scale sensitivity (SPEC §8)")
    a.add_argument("file", type=Path, nargs="?", help="audio or image (default: the built-in demo clip)")
    a.add_argument("--out", type=Path, required=True, help="output folder (refused if it holds files)")
    a.add_argument("--force", action="store_true", help="overwrite an output folder that holds results")
    a.add_argument("--models", default="siren,siren2", help="comma-separated (default: siren,siren2)")
    a.add_argument("--preset", choices=sorted(PRESETS), help="default: paper_audio or paper_image by the file")
    a.add_argument("--width", type=int)
    a.add_argument("--layers", type=int, dest="hidden_layers", help="hidden layers L")
    a.add_argument("--s0", type=float, help="WINNER models: first-layer noise scale (overrides the rule)")
    a.add_argument("--s1", type=float, help="WINNER models: second-layer noise scale (overrides the rule)")
    a.add_argument("--rule", default="code", choices=sorted(RULES), help="ψ → (s0, s1) rule (default: code)")
    a.add_argument("--schedule", "--recipe", dest="recipe", default=DEFAULT_RECIPE, metavar="RECIPE",
                   help=f"training recipe of the fits: {', '.join(RECIPES)} (default: {DEFAULT_RECIPE})")
    a.add_argument("--epochs-at", default="0,100", help="snapshot epochs of one fit, 0 = init (default: 0,100)")
    a.add_argument("--points", type=int, default=2048, help="NTK points (default: 2048)")
    a.add_argument("--act-points", type=int, default=16384, help="activation points (default: 16384)")
    a.add_argument("--sampling", choices=["window", "even"], default="window",
                   help="points: a centred contiguous window at the native rate (default) or evenly strided")
    a.add_argument("--sweep", action="append", default=[], metavar="s0=V,V,...",
                   help="psnr_paper after a short fit per noise scale; give it twice for an (s0, s1) grid")
    a.add_argument("--sweep-epochs", type=int, default=100, help="epochs of each sweep fit (default: 100)")
    a.add_argument("--ntk-memory", type=float, default=4.0, help="NTK memory budget in GiB (default: 4)")
    a.add_argument("--max-samples", type=int, help="audio: first N samples (paper_audio: 150000; 0 = all)")
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
    from .analysis import AnalysisConfig, analyze
    from .compare import check_models
    from .presets import PRESETS
    from .runs import OutputDir
    from .signals import demo_signal, load_signal

    out = OutputDir(args.out, force=args.force)  # refuse early, before any work
    max_samples = PRESETS[args.preset or "paper_audio"].max_samples if args.max_samples is None else args.max_samples
    signal = load_signal(args.file, max_samples=max_samples or None) if args.file else demo_signal(seed=args.seed)
    shape = {k: v for k, v in dict(width=args.width, hidden_layers=args.hidden_layers).items() if v is not None}
    models = check_models([m.strip() for m in args.models.split(",") if m.strip()])
    config = AnalysisConfig(models=tuple(models), preset=args.preset, model_options=shape, s0=args.s0, s1=args.s1,
                            rule=args.rule, epochs_at=tuple(_int_list("--epochs-at", args.epochs_at)),
                            points=args.points, act_points=args.act_points, sampling=args.sampling,
                            sweep=_sweep_axes(args.sweep), sweep_epochs=args.sweep_epochs,
                            memory_budget=args.ntk_memory * 2**30, seed=args.seed, recipe=args.recipe,
                            device=args.device,
                            progress=not args.quiet)
    print(f"{signal.source}: {signal.num_points:,} points; models {', '.join(config.models)}; snapshots at epochs "
          f"{', '.join(map(str, sorted(set(config.epochs_at))))}")
    with out:
        summary = analyze(signal, config, out, log=lambda msg: print(f"  {msg}", flush=True))
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


# ------------------------------------------------------------------------------------ benchmarks


def _add_bench_parser(sub) -> None:
    b = sub.add_parser("bench", help="run a benchmark script of the source checkout (e.g. 'bench paper audio')")
    b.add_argument("script", choices=["paper", "time_to_quality", "fast_lr", "fit_clip", "step_time", "restore"], help="benchmarks/<script>.py")
    b.add_argument("args", nargs=argparse.REMAINDER, help="its arguments (see 'siren2 bench SCRIPT --help')")
    b.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    """Run benchmarks/<script>.py, which lives beside src/ in a source checkout, not in the package."""
    import runpy

    folder = Path(__file__).resolve().parents[2] / "benchmarks"
    script = folder / f"{args.script}.py"
    if not script.is_file():
        raise InputError(f"{script}: not found (benchmarks ship with the source checkout; install with pip -e)")
    sys.path.insert(0, str(folder))
    saved = sys.argv
    sys.argv = [str(script), *args.args]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as e:
        if isinstance(e.code, str):
            print(f"siren2: error: {e.code}", file=sys.stderr)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
    finally:
        sys.argv = saved
    return 0


if __name__ == "__main__":
    sys.exit(main())
