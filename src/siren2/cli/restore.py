"""``siren2 denoise``, ``inpaint`` and ``restore-eval``: over siren2.corruptions, restoration and evaluation."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError
from .options import (add_input_options, add_recipe_options, add_winner_options, load_input, models_and_seeds,
                      recipe_overrides, winner_overrides)


def add_parsers(sub) -> None:
    from ..models import list_models
    from ..presets import PRESETS
    from ..classical import BASELINES, baselines_for
    from ..corruptions import MIN_GAP
    from ..restoration import (BANDWIDTHS, CENTROID, HOLDOUT_FRACTION, PARAMS_PER_SAMPLE, PATIENCE, PRIOR_WEIGHTS,
                               STOP_RULES, WINDOW, WINDOW_OVERLAP)

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
        p.add_argument("--capacity", type=float, default=PARAMS_PER_SAMPLE,
                       help=f"at most this many parameters per observed sample: the width is the widest (up to the "
                            f"preset's) that fits (default {PARAMS_PER_SAMPLE:g}; --width sets it instead)")
        p.add_argument("--width", type=int)
        p.add_argument("--layers", type=int, dest="hidden_layers", help="hidden layers L")
        add_winner_options(p, centroid=CENTROID)
        p.add_argument("--bandwidths", type=_factors,
                       help="WINNER models: factors on the rule's s0, one hold-out fit each, the lowest held-out "
                            f"error kept (default {','.join(f'{f:g}' for f in BANDWIDTHS)} with --stop holdout, "
                            "1 with --stop fixed; 1: the rule's s0 only)")
        p.add_argument("--prior-weights", type=_weights,
                       help="audio: weights λ of the band prior (siren2.priors: the fit's power where the damaged "
                            "file's spectrum is at its noise floor costs λ), one hold-out fit each after the "
                            "bandwidth search, the lowest held-out error kept (default "
                            f"{','.join(f'{w:g}' for w in PRIOR_WEIGHTS)} with --stop holdout; 0: no prior)")
        p.add_argument("--no-shrink", dest="shrink", action="store_false",
                       help="output the fit itself; by default, with --stop holdout, the fit is combined with the "
                            "damaged input as the held-out error says is best (never worse than either)")
        p.add_argument("--device", default=None, help="cpu, cuda, mps (default: auto)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    def one_file(p, task: str) -> None:  # denoise and inpaint: one damaged file, one model
        p.add_argument("--model", default="siren2", choices=list(list_models()))
        names = sorted({n for kind in ("audio", "image") for n in baselines_for(kind, task)} | (
            {"bm3d"} if task == "denoise" else set()))
        p.add_argument("--classical", choices=names, help="run this classical tool (siren2.classical) instead of a "
                       "network: " + (", ".join(f"{n} ({' and '.join(BASELINES[n].kinds)})" for n in names))
                       + "; the network and training options do not apply")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--window", type=_count, default=WINDOW,
                       help=f"audio longer than 1.5 windows: restore it window by window, each of this many samples "
                            f"at the paper's sample step, {WINDOW_OVERLAP} overlapping, cross-faded (a fit's cost "
                            f"grows as the square of its length; default {WINDOW}; 0: one fit of the whole file)")
        add_input_options(p, max_samples=False)
        common(p, "holdout")
        p.set_defaults(func=cmd_restore)

    d = sub.add_parser("denoise", help="restore a noisy audio or image file (no clean reference needed)")
    d.add_argument("file", type=Path)
    d.add_argument("--noise-std", type=_positive, dest="known_noise_std",
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
    common(e, "holdout")
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

    from ..restoration import WINDOW_OVERLAP

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


def _restore_settings(args, signal) -> dict:
    """The keyword arguments of :func:`~siren2.restoration.restore` (and ``evaluate``) from the
    restoration options: stopping, recipe, preset, capacity, bandwidths, shrinkage, WINNER."""
    from ..presets import get_preset
    from ..restoration import BANDWIDTHS, HOLDOUT_FRACTION, default_prior_weights
    from ..winner import AUTO, resolve_rule

    if args.stop == "fixed" and (args.patience is not None or args.holdout is not None):
        raise InputError("--patience and --holdout apply to --stop holdout")
    if args.stop == "fixed" and args.bandwidths is not None and len(args.bandwidths) > 1:
        raise InputError("--bandwidths: a search needs --stop holdout to choose")
    if args.stop == "fixed" and any(args.prior_weights or ()):
        raise InputError("--prior-weights: the search needs --stop holdout to choose")
    # the default searches only where the hold-out rule can choose, and scales a ψ rule's s0
    search = args.stop == "holdout" and resolve_rule(args.rule, signal.in_dim) != AUTO
    fit_options = {k: v for k, v in (recipe_overrides(args) | dict(
        patience=args.patience, device=args.device, progress=not args.quiet)).items() if v is not None}
    return dict(stop=args.stop, recipe=args.recipe, preset=get_preset(args.preset, signal.in_dim)[0],
                fit_options=fit_options, capacity=args.capacity,
                model_options={k: v for k, v in dict(width=args.width, hidden_layers=args.hidden_layers).items()
                               if v is not None},
                holdout=HOLDOUT_FRACTION if args.holdout is None else args.holdout,
                bandwidths=args.bandwidths or (BANDWIDTHS if search else (1.0,)),
                prior_weights=args.prior_weights if args.prior_weights is not None else (
                    default_prior_weights(signal) if args.stop == "holdout" else ()),
                shrink_fit=args.shrink and args.stop == "holdout", winner_options=winner_overrides(args)) | (
        {"noise_std": args.known_noise_std} if getattr(args, "known_noise_std", None) else {})  # denoise only


def cmd_restore(args) -> int:
    """denoise and inpaint: restore ``args.file``, write what 'siren2 fit' writes (+ mask.npy for inpaint)."""
    import numpy as np

    from ..classical import baselines_for
    from ..runs import OutputDir, write_run
    from ..corruptions import load_mask, silence_mask
    from ..restoration import restore, window_starts

    out = OutputDir(args.out, force=args.force)  # refuse early, before any work
    signal = load_input(args)
    inpaint = args.command == "inpaint"
    mask = None
    if inpaint:
        mask = silence_mask(signal, args.min_gap) if args.gaps else load_mask(args.mask, signal)
    if args.classical:
        return _restore_classical(args, out, signal, mask)
    options = _restore_settings(args, signal)
    options["fit_options"] |= {"seed": args.seed}
    if signal.in_dim == 1 and args.window and len(window_starts(signal.num_points, args.window)) > 1:
        return _restore_windowed(args, out, signal, mask, options)
    run = restore(signal, mask, args.model, keep_observed=inpaint, **options)
    with out:
        write_run(out, run, signal)
        if inpaint:
            np.save(out / "mask.npy", mask)
    rec = run.config["restoration"]
    how = (f"stopped at epoch {rec['epochs_run']} (best {rec['best_epoch'] + 1}) by the hold-out rule"
           if rec["stopped_early"] else f"{rec['epochs_run']} epochs ({rec['rule']})")
    missing = f", {1 - rec['observed_fraction']:.1%} of the samples missing" if inpaint else ""
    print(f"{args.file}: {args.model}{missing}; {how}, {run.result.seconds:.1f} s on {run.result.device}")
    gain = rec.get("estimated_gain_db")
    if gain is not None:
        print(f"  estimated gain of the fit over the damaged input {gain:+.1f} dB (from the held-out samples)")
    shrunk = rec.get("shrink")
    if shrunk:
        factor = (f"{shrunk['alpha']:.2f} x fit + {1 - shrunk['alpha']:.2f} x input on the held-out samples, "
                  f"{shrunk['alpha_trained']:.2f} x fit + {1 - shrunk['alpha_trained']:.2f} x input on those it "
                  f"trained on (it took in {shrunk['noise_absorbed']:.0%} of their noise)" if shrunk["kind"] == "noise"
                  else "the damaged input as it is (the fill did not gain on held-out runs it was not scaled on)"
                  if shrunk["beta"] == 0 < shrunk.get("beta_fitted", 0)
                  else f"observed samples kept, {shrunk['beta']:.2f} x fit where missing" + (
                      f", {shrunk['level_cap']['gaps_capped']} gap(s) brought down to the level around them"
                      if "level_cap" in shrunk else ""))
        out_gain = shrunk["estimated_gain_db"]
        print(f"  output: {factor}" + ("" if out_gain is None else f"; estimated gain {out_gain:+.1f} dB"))
        if shrunk.get("noise_estimate_exceeds_holdout_error"):
            print(f"siren2: warning: {args.file}: the estimated noise σ̂ {shrunk['noise_std']:.3g} exceeds what the "
                  "fit errs by on held-out samples, so it holds signal (a texture?): the noise level cannot be told "
                  "from this file and the output is the input; give --noise-std if you know it", file=sys.stderr)
    if gain is not None and gain < 0:
        print(f"siren2: warning: {args.file}: the fit predicts held-out samples no better than the damaged input "
              f"does; this signal may be too broadband for {args.model} to restore"
              + (", so the output stays close to the input" if shrunk else "")
              + f" (try --classical {' or '.join(baselines_for(signal.kind, args.command))})", file=sys.stderr)
    print("  " + "  ".join(f"{k} {v:.4g}" for k, v in run.metrics.items()))
    print(f"  outputs in {args.out}/")
    return 0


def _restore_windowed(args, out, signal, mask, options: dict) -> int:
    """denoise and inpaint of a long audio file window by window (siren2.restoration.restore_windowed):
    the output, config.json (each window's choices), metrics.json, audio.png (+ mask.npy); no single model."""
    import numpy as np

    from .. import plots
    from ..restoration import restore_windowed
    from ..io import reconstruction_name, save_signal

    inpaint = mask is not None

    def announce(i: int, count: int) -> None:
        if not args.quiet:
            print(f"{args.file}: window {i + 1} of {count}", file=sys.stderr)

    result = restore_windowed(signal, mask, args.model, window=args.window, keep_observed=inpaint,
                              on_window=announce, **options)
    rec = result.config["restoration"]
    with out:
        save_signal(result.reconstruction, out / reconstruction_name(signal.kind))
        out.write_json("config.json", result.config | {"command": args.command, "input": str(args.file),
                                                       "seed": args.seed})
        out.write_json("metrics.json", {"metrics": result.metrics})
        if inpaint:
            np.save(out / "mask.npy", mask)
        plots.audio_fit(signal.values[:, 0], {args.model: result.reconstruction.values[:, 0]}, signal.sample_rate,
                        out / "audio.png")
    windows, fitted = rec["windows"], [w["restoration"] for w in rec["per_window"] if "skipped" not in w["restoration"]]
    missing = f", {1 - float(np.mean(mask)):.1%} of the samples missing" if inpaint else ""
    print(f"{args.file}: {args.model}{missing}; {windows['count']} windows of {windows['size']} samples "
          f"({windows['overlap']} overlapping, cross-faded), {len(fitted)} restored, {result.seconds:.1f} s")
    gains = [r["shrink"]["estimated_gain_db"] for r in fitted if r.get("shrink", {}).get("estimated_gain_db") is not None]
    if gains:
        print(f"  estimated gain of the output over the damaged input per window: median {np.median(gains):+.1f} dB "
              f"({min(gains):+.1f} to {max(gains):+.1f}; from each window's held-out samples)")
    worse = sum(r.get("estimated_gain_db") is not None and r["estimated_gain_db"] < 0 for r in fitted)
    if worse:
        print(f"siren2: warning: {args.file}: in {worse} of {len(fitted)} windows the fit predicts held-out samples "
              f"no better than the damaged input does (see config.json, restoration.per_window)", file=sys.stderr)
    print("  " + "  ".join(f"{k} {v:.4g}" for k, v in result.metrics.items()))
    print(f"  outputs in {args.out}/ (no model.safetensors: one network per window; --window 0 fits one)")
    return 0


def _restore_classical(args, out, signal, mask) -> int:
    """denoise and inpaint with ``--classical``: the tool's output, config.json, metrics.json (+ mask.npy)."""
    import numpy as np

    from .. import __version__
    from ..classical import BASELINES, baselines_for
    from ..restoration import HOLDOUT_FRACTION, restore_classical
    from ..io import reconstruction_name, save_signal

    task, tool = args.command, BASELINES[args.classical]
    if signal.kind not in tool.kinds or tool.task != task:
        raise InputError(f"--classical {args.classical!r} does not {task} {signal.kind}: choose from "
                         f"{', '.join(baselines_for(signal.kind, task))}")
    if getattr(args, "known_noise_std", None):
        raise InputError("--noise-std sets the network's shrinkage; the classical denoisers estimate σ themselves")
    holdout = HOLDOUT_FRACTION if args.holdout is None else args.holdout
    restored, record = restore_classical(signal, mask, args.classical, holdout=holdout, seed=args.seed)
    scores = {k: record[k] for k in ("holdout_psnr_paper", "estimated_gain_db", "observed_psnr_paper",
                                     "residual_std") if k in record}
    with out:
        save_signal(restored, out / reconstruction_name(signal.kind))
        out.write_json("config.json", {"siren2_version": __version__, "command": task, "input": str(args.file),
                                       "seed": args.seed, "signal": signal.describe(),
                                       "restoration": {"classical": record}})
        out.write_json("metrics.json", {"metrics": scores})
        if mask is not None:
            np.save(out / "mask.npy", mask)
    missing = f", {1 - record['observed_fraction']:.1%} of the samples missing" if mask is not None else ""
    print(f"{args.file}: classical {args.classical} ({record['description']}){missing}")
    if "estimated_gain_db" in record:
        print(f"  held-out psnr_paper {record['holdout_psnr_paper']:.2f} dB: estimated gain over the zero-filled "
              f"input {record['estimated_gain_db']:+.1f} dB (from {record['holdout_samples']} held-out samples)")
    print("  " + "  ".join(f"{k} {v:.4g}" for k, v in scores.items()))
    print(f"  outputs in {args.out}/")
    return 0


def cmd_restore_eval(args) -> int:
    import numpy as np

    from .. import plots
    from ..runs import OutputDir
    from ..io import reconstruction_name, save_signal
    from ..classical import BASELINES, baselines_for
    from ..corruptions import CorruptionSpec, parse_gaps
    from ..evaluation import evaluate, evaluation_settings, finished_evaluation

    out = OutputDir(args.out, force=args.force or args.resume)  # refuse early, before any work
    models, seeds = models_and_seeds(args)
    if args.gaps is not None:
        count, length_ms = parse_gaps(args.gaps)
        spec = CorruptionSpec("gaps", count, length_ms)
    else:
        kind, value = next((k, v) for k, v in (("noise_std", args.noise_std), ("noise_snr", args.noise_snr),
                                                ("missing", args.missing)) if v is not None)
        spec = CorruptionSpec(kind, value)
    clean = load_input(args)
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
          f"{', '.join(map(str, seeds))}, stop {args.stop}")

    def on_run(model, seed, run):
        m, rec = run.metrics, run.config["restoration"]
        print(f"  {model:<10} seed {seed}: psnr_paper {m['psnr_paper']:.2f} dB, {rec['epochs_run']} epochs, "
              f"{run.result.seconds:.1f} s", flush=True)

    options = _restore_settings(args, clean) | dict(baselines=baselines)
    done = None
    if args.resume and args.out.is_dir() and any(args.out.iterdir()):
        done = finished_evaluation(args.out, clean, spec, evaluation_settings(clean, spec, models, seeds, **options))
        print(f"  seeds {', '.join(map(str, done.seeds))} kept from {args.out}/")
    try:
        ev = evaluate(clean, spec, models, seeds, done=done, on_run=on_run, **options)
    except KeyboardInterrupt:
        print("siren2: interrupted before any seed finished; nothing written", file=sys.stderr)
        return 130
    suffix = {"audio": ".wav", "image": ".png"}.get(clean.kind, ".npy")
    with out:
        (out / "table.md").write_text(ev.table())
        out.write_json("results.json", ev.to_json())
        np.savez(out / "example.npz", **ev.example)  # the first seed's arrays, for --resume
        save_signal(clean.with_values(ev.example["corrupted"]), out / f"corrupted{suffix}")
        for name in [*models, *baselines]:
            save_signal(clean.with_values(ev.example[name]), out / f"restored_{name}{suffix}")
        if spec.removes_samples:
            np.save(out / "mask.npy", ev.example["mask"])
        restored = {m: ev.example[m] for m in [*models, *baselines]}
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
    note = f"interrupted: {len(ev.seeds)} of {len(seeds)} seeds finished; " if ev.interrupted else ""
    print(f"\n{note}outputs in {args.out}/ (files and figures of seed {ev.seeds[0]})")
    return 0
