"""``siren2 denoise``, ``inpaint`` and ``restore-eval``: thin commands over :mod:`siren2.restoration`."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError
from .report import add_report_option
from .options import (add_device_options, add_input_options, add_network_options, add_recipe_options,
                      add_winner_options, metrics_text, models_and_seeds, options_from)

__all__ = ["add_parsers", "cmd_restore", "cmd_restore_eval"]


def add_parsers(sub) -> None:
    """denoise, inpaint, restore-eval."""
    from ..models import list_models
    from ..presets import PRESETS
    from ..restoration.classical import BASELINES, baselines_for
    from ..restoration.corruptions import MIN_GAP
    from ..restoration.restorer import (BANDWIDTHS, CENTROID, HOLDOUT_FRACTION, PARAMS_PER_SAMPLE, PATIENCE,
                                        PRIOR_WEIGHTS, STOP_RULES, WINDOW, WINDOW_OVERLAP)

    def common(p) -> None:
        p.add_argument("--out", type=Path, required=True, help="output folder (refused if it holds files)")
        p.add_argument("--force", action="store_true", help="overwrite an output folder that holds results")
        p.add_argument("--preset", choices=sorted(PRESETS), help="default: paper_audio or paper_image by the file")
        add_recipe_options(p)
        p.add_argument("--stop", choices=STOP_RULES,
                       help="fixed: the epoch budget (the paper's protocol); holdout: stop when held-out observed "
                            "samples stop improving (default: holdout)")
        p.add_argument("--holdout", type=float,
                       help=f"holdout: fraction of the observed samples left out of training "
                            f"(default {HOLDOUT_FRACTION})")
        p.add_argument("--patience", type=int, help=f"holdout: epochs without improvement to stop (default {PATIENCE})")
        p.add_argument("--capacity", type=float,
                       help=f"at most this many parameters per observed sample: the width is the widest (up to the "
                            f"preset's) that fits (default {PARAMS_PER_SAMPLE:g}; 0: the preset's width; --width sets "
                            "it instead)")
        add_network_options(p)
        add_winner_options(p, centroid=CENTROID)
        p.add_argument("--bandwidths", type=_factors,
                       help="WINNER models: factors on the rule's s0, one hold-out fit each, the lowest held-out "
                            f"error kept (default {','.join(f'{f:g}' for f in BANDWIDTHS)} with --stop holdout, "
                            "1 with --stop fixed; 1: the rule's s0 only)")
        p.add_argument("--prior-weights", type=_weights,
                       help="audio: weights λ of the band prior (siren2.restoration.priors: the fit's power where the damaged "
                            "file's spectrum is at its noise floor costs λ), one hold-out fit each after the "
                            "bandwidth search, the lowest held-out error kept (default "
                            f"{','.join(f'{w:g}' for w in PRIOR_WEIGHTS)} with --stop holdout; 0: no prior)")
        p.add_argument("--no-shrink", dest="shrink", action="store_false", default=None,
                       help="output the fit itself; by default, with --stop holdout, the fit is combined with the "
                            "damaged input as the held-out error says is best (never worse than either)")
        add_device_options(p)

    def one_file(p, task: str) -> None:  # denoise and inpaint: one damaged file, one model
        p.add_argument("--model", choices=list(list_models()), help="default: siren2")
        names = sorted({n for kind in ("audio", "image") for n in baselines_for(kind, task)} | (
            {"bm3d"} if task == "denoise" else set()))
        p.add_argument("--classical", choices=names, help="run this classical tool (siren2.restoration.classical) "
                       "instead of a "
                       "network: " + (", ".join(f"{n} ({' and '.join(BASELINES[n].kinds)})" for n in names))
                       + "; the network and training options do not apply")
        p.add_argument("--seed", type=int, help="default: 0")
        p.add_argument("--window", type=_count,
                       help=f"audio longer than 1.5 windows: restore it window by window, each of this many samples "
                            f"at the paper's sample step, {WINDOW_OVERLAP} overlapping, cross-faded (a fit's cost "
                            f"grows as the square of its length; default {WINDOW}; 0: one fit of the whole file)")
        add_input_options(p, max_samples=False)
        common(p)
        add_report_option(p)
        p.set_defaults(func=cmd_restore)

    d = sub.add_parser("denoise", help="restore a noisy audio or image file (no clean reference needed)")
    d.add_argument("file", type=Path)
    d.add_argument("--noise-std", type=_positive,
                   help="the noise's σ on the [-1, 1] scale, when known; by default it is estimated from the file "
                        "(a texture or a white-noise image can read as noise: then the output is the input)")
    one_file(d, "denoise")

    i = sub.add_parser("inpaint", help="fill missing samples of an audio file or pixels of an image")
    i.add_argument("file", type=Path)
    g = i.add_mutually_exclusive_group(required=True)
    g.add_argument("--mask", type=Path, help="nonzero = observed, 0 = missing: audio a wav/flac or .npy of N values, "
                   "images an image of the same size or .npy (H, W)")
    g.add_argument("--gaps", choices=["auto"], help="audio: runs of exact zeros (digital silence) inside the clip "
                   "are missing")
    i.add_argument("--min-gap", type=int, default=MIN_GAP,
                   help=f"--gaps auto: shortest run, samples (default {MIN_GAP})")
    one_file(i, "inpaint")

    e = sub.add_parser("restore-eval", help="corrupt a clean file, restore it with models x seeds, score vs clean")
    e.add_argument("file", type=Path, help="the clean audio or image")
    c = e.add_mutually_exclusive_group(required=True)
    c.add_argument("--noise-std", type=float, help="Gaussian noise of this σ (of the [-1, 1] range)")
    c.add_argument("--noise-snr", type=float, help="Gaussian noise at this SNR (dB)")
    c.add_argument("--missing", type=float, help="this fraction of samples (pixels) missing at random")
    c.add_argument("--gaps", help="audio: COUNTxLENGTHms gaps, e.g. 20x10ms")
    e.add_argument("--models", default="siren,siren2", help="comma-separated (default: siren,siren2)")
    e.add_argument("--seeds", default="0,1,2", help="comma-separated; each draws the corruption and the init")
    e.add_argument("--resume", action="store_true", help="keep the seeds an interrupted evaluation in --out "
                   "finished (same file and options) and run the rest")
    e.add_argument("--baselines", default="auto", help="classical baselines scored beside the models: auto (those "
                   "for the signal and corruption: wavelet, tv, nl_means for noisy images, wiener for noisy audio, "
                   "linear and cubic interpolation for missing samples, and lmmse for audio), none, or a comma-separated "
                   "list")
    add_input_options(e)
    common(e)
    add_report_option(e)
    e.set_defaults(func=cmd_restore_eval)


def _numbers(zero: bool):
    """An argparse type: comma-separated finite numbers, > 0 (or ≥ 0 with ``zero``)."""
    import argparse
    import math

    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(float(v) for v in text.split(","))
        except ValueError:
            values = ()
        if not values or not all(math.isfinite(v) and (v > 0 or zero and v == 0) for v in values):
            example = "1,3 (0: none)" if zero else "0.25,0.5,1"
            raise argparse.ArgumentTypeError(f"{text!r}: give {'numbers ≥ 0' if zero else 'positive numbers'} "
                                             f"separated by commas, e.g. {example}")
        return values
    return parse


_factors, _weights = _numbers(zero=False), _numbers(zero=True)


def _count(text: str) -> int:
    import argparse

    from ..restoration.restorer import WINDOW_OVERLAP

    try:
        value = int(text)
    except ValueError:
        value = -1
    if not (value == 0 or value > WINDOW_OVERLAP):
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of samples above the overlap, "
                                         f"{WINDOW_OVERLAP}, or 0 (one fit of the whole file)")
    return value


def _positive(text: str) -> float:
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number, e.g. 0.05")
    return value


def cmd_restore(args) -> int:
    """denoise and inpaint: restore ``args.file`` and write what 'siren2 fit' writes (+ mask.npy for inpaint)."""
    from ..restoration import load_mask, restore, restore_classical, silence_mask
    from ..restoration.classical import BASELINES, baselines_for
    from ..restoration.restorer import HOLDOUT_FRACTION
    from ..runs import RunFolder, write_run
    from ..spec import load_input

    out = RunFolder(args.out, force=args.force)  # refuse early, before any work
    inpaint = args.command == "inpaint"
    options = options_from(args)
    signal = load_input(options | {"max_samples": 0}, args.file)  # a damaged file is restored whole
    mask = None
    if inpaint:
        mask = silence_mask(signal, args.min_gap) if args.gaps else load_mask(args.mask, signal)
    if args.classical:
        tool = BASELINES[args.classical]
        if signal.kind not in tool.kinds or tool.task != args.command:
            raise InputError(f"--classical {args.classical!r} does not {args.command} {signal.kind}: choose from "
                             f"{', '.join(baselines_for(signal.kind, args.command))}")
        if getattr(args, "noise_std", None):
            raise InputError("--noise-std sets the network's shrinkage; the classical denoisers estimate σ themselves")
        run = restore_classical(signal, mask, args.classical, holdout=options.get("holdout", HOLDOUT_FRACTION),
                                seed=options.get("seed", 0))
    else:
        def announce(i: int, count: int) -> None:
            if not args.quiet:
                print(f"{args.file}: window {i + 1} of {count}", file=sys.stderr)

        model = options.pop("model", "siren2")
        run = restore(signal, mask, model, on_window=announce, progress=not args.quiet, **options)
    with out as folder:
        write_run(folder, run, signal)
    _report(args, run, signal, mask)
    return 0


def _report(args, run, signal, mask) -> None:
    """What a restoration did, on the terminal: how it stopped, the estimated gain, the shrinkage, warnings."""
    import numpy as np

    from ..restoration.classical import baselines_for

    rec = run.config["restoration"]
    missing = f", {1 - float(mask.mean()):.1%} of the samples missing" if mask is not None else ""
    if "classical" in rec:
        tool = rec["classical"]
        print(f"{args.file}: classical {tool['name']} ({tool['description']}){missing}")
        if "estimated_gain_db" in tool:
            print(f"  held-out psnr_paper {tool['holdout_psnr_paper']:.2f} dB: estimated gain over the zero-filled "
                  f"input {tool['estimated_gain_db']:+.1f} dB (from {tool['holdout_samples']} held-out samples)")
    elif "windows" in rec:
        windows = rec["windows"]
        fitted = [w["restoration"] for w in rec["per_window"] if "skipped" not in w["restoration"]]
        print(f"{args.file}: {run.name}{missing}; {windows['count']} windows of {windows['size']} samples "
              f"({windows['overlap']} overlapping, cross-faded), {len(fitted)} restored, {rec['seconds']:.1f} s")
        gains = [r["shrink"]["estimated_gain_db"] for r in fitted
                 if r.get("shrink", {}).get("estimated_gain_db") is not None]
        if gains:
            print(f"  estimated gain of the output over the damaged input per window: median "
                  f"{float(np.median(gains)):+.1f} dB ({min(gains):+.1f} to {max(gains):+.1f}; "
                  "from each window's held-out samples)")
        worse = sum(r.get("estimated_gain_db") is not None and r["estimated_gain_db"] < 0 for r in fitted)
        if worse:
            print(f"siren2: warning: {args.file}: in {worse} of {len(fitted)} windows the fit predicts held-out "
                  f"samples no better than the damaged input does (see config.json, restoration.per_window)",
                  file=sys.stderr)
    else:
        how = (f"stopped at epoch {rec['epochs_run']} (best {rec['best_epoch'] + 1}) by the hold-out rule"
               if rec["stopped_early"] else f"{rec['epochs_run']} epochs ({rec['rule']})")
        print(f"{args.file}: {run.name}{missing}; {how}, {run.result.seconds:.1f} s on {run.result.device}")
        gain = rec.get("estimated_gain_db")
        if gain is not None:
            print(f"  estimated gain of the fit over the damaged input {gain:+.1f} dB (from the held-out samples)")
        shrunk = rec.get("shrink")
        if shrunk:
            factor = (f"{shrunk['alpha']:.2f} x fit + {1 - shrunk['alpha']:.2f} x input on the held-out samples, "
                      f"{shrunk['alpha_trained']:.2f} x fit + {1 - shrunk['alpha_trained']:.2f} x input on those it "
                      f"trained on (it took in {shrunk['noise_absorbed']:.0%} of their noise)"
                      if shrunk["kind"] == "noise"
                      else "the damaged input as it is (the fill did not gain on held-out runs it was not scaled on)"
                      if shrunk["beta"] == 0 < shrunk.get("beta_fitted", 0)
                      else f"observed samples kept, {shrunk['beta']:.2f} x fit where missing" + (
                          f", {shrunk['level_cap']['gaps_capped']} gap(s) brought down to the level around them"
                          if "level_cap" in shrunk else ""))
            out_gain = shrunk["estimated_gain_db"]
            print(f"  output: {factor}" + ("" if out_gain is None else f"; estimated gain {out_gain:+.1f} dB"))
            if shrunk.get("noise_estimate_exceeds_holdout_error"):
                print(f"siren2: warning: {args.file}: the estimated noise σ̂ {shrunk['noise_std']:.3g} exceeds what "
                      "the fit errs by on held-out samples, so it holds signal (a texture?): the noise level cannot be "
                      "told from this file and the output is the input; give --noise-std if you know it",
                      file=sys.stderr)
        if gain is not None and gain < 0:
            print(f"siren2: warning: {args.file}: the fit predicts held-out samples no better than the damaged input "
                  f"does; this signal may be too broadband for {run.name} to restore"
                  + (", so the output stays close to the input" if shrunk else "")
                  + f" (try --classical {' or '.join(baselines_for(signal.kind, args.command))})", file=sys.stderr)
    print("  " + metrics_text(run.metrics))
    if "windows" in rec:
        print(f"  outputs in {args.out}/ (no model.safetensors: one network per window; --window 0 fits one)")
    else:
        print(f"  outputs in {args.out}/")


def cmd_restore_eval(args) -> int:
    """``siren2 restore-eval``: corrupt a clean file, restore it with models x seeds, score against the clean."""
    import numpy as np

    from .. import plots
    from ..io import save_signal
    from ..restoration import CorruptionSpec, evaluate
    from ..restoration.classical import BASELINES, baselines_for
    from ..restoration.corruptions import parse_gaps
    from ..records import RecordStore
    from ..restoration.evaluation import evaluation_settings, finished_evaluation, records
    from ..io.files import write_json, write_text
    from ..runs import RunFolder
    from ..spec import load_input

    out = RunFolder(args.out, force=args.force or args.resume)  # refuse early, before any work
    models, seeds = models_and_seeds(args)
    if args.gaps is not None:
        count, length_ms = parse_gaps(args.gaps)
        spec = CorruptionSpec("gaps", count, length_ms)
    else:
        kind, value = next((k, v) for k, v in (("noise_std", args.noise_std), ("noise_snr", args.noise_snr),
                                                ("missing", args.missing)) if v is not None)
        spec = CorruptionSpec(kind, value)
    options = options_from(args, exclude=("noise_std",))  # here --noise-std is the corruption's level
    clean = load_input(options, args.file)
    spec.apply(clean, seeds[0])  # a level that cannot be met fails here, before any fit
    task = "inpaint" if spec.removes_samples else "denoise"
    if args.baselines == "auto":
        baselines = baselines_for(clean.kind, task)
    elif args.baselines == "none":
        baselines = []
    else:
        baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
        for b in baselines:
            if b not in BASELINES or clean.kind not in BASELINES[b].kinds or BASELINES[b].task != task:
                raise InputError(f"--baselines {b!r}: not a classical baseline for {task} on {clean.kind} "
                                 f"(choose from {', '.join(baselines_for(clean.kind, task)) or 'none'})")
    print(f"{args.file}: {clean.num_points:,} points, {spec.label()}; {', '.join(models)} x seeds "
          f"{', '.join(map(str, seeds))}, stop {options.get('stop', 'holdout')}")

    def on_run(model, seed, run):
        m, rec = run.metrics, run.config["restoration"]
        print(f"  {model:<10} seed {seed}: psnr_paper {m['psnr_paper']:.2f} dB, {rec['epochs_run']} epochs, "
              f"{run.result.seconds:.1f} s", flush=True)

    done = None
    if args.resume and args.out.is_dir() and any(args.out.iterdir()):
        done = finished_evaluation(args.out, clean, spec, evaluation_settings(clean, spec, models, seeds, baselines,
                                                                              options))
        print(f"  seeds {', '.join(map(str, done.seeds))} kept from {args.out}/")
    try:
        ev = evaluate(clean, spec, models, seeds, baselines=baselines, done=done, on_run=on_run,
                      progress=not args.quiet, **options)
    except KeyboardInterrupt:
        print("siren2: interrupted before any seed finished; nothing written", file=sys.stderr)
        return 130
    suffix = {"audio": ".wav", "image": ".png"}.get(clean.kind, ".npy")
    with out as folder:
        write_text(folder / "table.md", ev.table())
        write_json(folder / "results.json", ev.to_json())
        RecordStore(folder / "records.jsonl").add(*records(ev))  # what --resume keeps
        np.savez(folder / "example.npz", **ev.example)  # the first seed's arrays, for --resume
        save_signal(clean.with_values(ev.example["corrupted"]), folder / f"corrupted{suffix}")
        for name in [*models, *baselines]:
            save_signal(clean.with_values(ev.example[name]), folder / f"restored_{name}{suffix}")
        if spec.removes_samples:
            np.save(folder / "mask.npy", ev.example["mask"])
        restored = {m: ev.example[m] for m in [*models, *baselines]}
        first_missing = int(np.argmin(ev.example["mask"])) if spec.removes_samples else None  # the close-up
        if clean.kind == "audio":
            plots.restoration_audio(clean.values[:, 0], ev.example["corrupted"][:, 0],
                                    {m: v[:, 0] for m, v in restored.items()}, clean.sample_rate,
                                    folder / "restoration.png", center=first_missing)
        elif clean.kind == "image":
            shape = (*clean.grid, clean.channels)
            plots.restoration_image(clean.values.reshape(shape), ev.example["corrupted"].reshape(shape),
                                    {m: v.reshape(shape) for m, v in restored.items()}, folder / "restoration.png")
    print()
    print(ev.table(), end="")
    note = f"interrupted: {len(ev.seeds)} of {len(seeds)} seeds finished; " if ev.interrupted else ""
    print(f"\n{note}outputs in {args.out}/ (files and figures of seed {ev.seeds[0]})")
    return 0
