"""Time to quality: the `fast` recipe against the paper's, in seconds to the paper recipe's PSNR.

    python benchmarks/time_to_quality.py --seeds 0,1,2 --resume
    python benchmarks/time_to_quality.py --suites audio --clips relay.wav --seeds 0
    siren2 bench time_to_quality --resume

Suites (SIREN², seeds as given; about 1 parameter per sample, the paper's regime, docs/results/paper.md):
  audio  every shared clip: the central 30,000 of its first 150,000 samples at full-protocol
         coordinates, 4 x 100 (30,601 parameters)
  image  every shared image: the central 128x128 of the 512x512 image, 5 x 64 (16,897 parameters)
  full   relay.wav at the paper's full protocol: 150,000 samples, 4 x 222 (149,185 parameters),
         seed 0 only
For each signal and seed: `paper` (Adam 1e-4, StepLR, 1000 epochs audio / 4000 images) gives its best
psnr_paper P; `fast` runs its own budget, and its best-so-far curve against training seconds gives
the time to reach P (the same epoch at which `--target-psnr P` stops it: the stop does not change
the trajectory before it). Also both recipes' best PSNR at the paper run's 10 %, 30 % and 100 % of
wall time (a recipe that finished earlier keeps its final best).

Jobs run seed-major (every signal's seed 0 first, then the full-scale clip, then seeds 1, 2), one at
a time; each fit is one record (with its seconds at every epoch) in
benchmarks/results/time_to_quality.jsonl, keyed ``time_to_quality_<suite>_<recipe>/<signal>/siren2/<seed>``
and stored as it ends, so ``--resume`` picks up where an interrupted run stopped. Writes
benchmarks/results/time_to_quality.md and time_to_quality_<suite>.png (best psnr_paper so far against
seconds, seed 0, per signal) from the records file alone; ``--from-records`` writes them again
without fitting (nor the data).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from common import (DATA, add_record_options, compact_png, invocation, machine, machine_line, opened_records,
                    save_invocation, window, write_table)

from siren2 import FitConfig, plots
from siren2.compare import check_seeds
from siren2 import create_model, num_parameters
from siren2.records import RecordStore
from siren2.suite import SuiteSpec, run_suite, stored

RECIPES = ("paper", "fast")
SUITES = {
    "audio": dict(folder="audio", window=30_000, width=100, hidden_layers=4, preset="paper_audio"),
    "image": dict(folder="images", window=128, width=64, hidden_layers=5, preset="paper_image"),
    "full": dict(folder="audio", window=150_000, width=222, hidden_layers=4, preset="paper_audio",
                 clips=["relay.wav"], seeds=[0]),
}
MARKS = (0.1, 0.3, 1.0)  # fractions of the paper run's wall time
FIT_FIELDS = ("epochs", "lr", "lr_step", "lr_gamma", "schedule", "warmup", "lr_floor", "batch_size")


def signal_names(suite: str, names: list[str] | None) -> list[str]:
    """The suite's signals (of ``names``, if given), sorted; SystemExit if the data are not there."""
    s = SUITES[suite]
    folder = DATA / s["folder"]
    if not folder.is_dir():
        raise SystemExit(f"time_to_quality.py: {folder} not found (the paper's data lives in ../shared/data)")
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    return [f for f in files if f in (s.get("clips") or files) and (not names or f in names)]


def spec_for(suite: str, recipe: str, files: list[str], seed: int) -> SuiteSpec:
    """The suite ``suite`` under ``recipe`` on the signals ``files`` (:func:`signal_names`), one seed.
    Reads no data: a signal loads when its fit needs it."""
    s = SUITES[suite]
    kind = "audio" if s["folder"] == "audio" else "image"
    folder = DATA / s["folder"]
    fit = FitConfig.resolve(s["preset"], recipe, 1 if kind == "audio" else 2, model="siren2", width=s["width"])
    shape = dict(width=s["width"], hidden_layers=s["hidden_layers"])
    settings = {"suite": suite, "window": s["window"], **shape, "recipe": recipe,
                "fit": {k: getattr(fit, k) for k in FIT_FIELDS}}
    return SuiteSpec(name=f"time_to_quality_{suite}_{recipe}",
                     signals={f: (lambda p=folder / f: window(kind, p, s["window"])) for f in files},
                     models=["siren2"], seeds=[seed], preset=s["preset"], epochs=fit.epochs, settings=settings,
                     recipe=recipe, model_options=shape, timeline=True)


def best_so_far(curve: list[float]) -> np.ndarray:
    return np.maximum.accumulate(np.nan_to_num(np.asarray(curve, float), nan=-np.inf))


def psnr_at(rec: dict, seconds: float) -> float:
    """The best psnr_paper a run had reached by ``seconds`` of training (its final best if it ended
    earlier; -inf before its first epoch)."""
    best, at = best_so_far(rec["psnr_paper_per_epoch"]), np.asarray(rec["seconds_at"])
    k = int(np.searchsorted(at, seconds, side="right"))
    return float(best[k - 1]) if k else -np.inf


def compare_pair(paper: dict, fast: dict) -> dict:
    """The time-to-quality figures of one signal and seed."""
    pb, fb = best_so_far(paper["psnr_paper_per_epoch"]), best_so_far(fast["psnr_paper_per_epoch"])
    target = float(pb[-1])
    p_epoch = int(np.argmax(pb >= target))
    p_seconds = paper["seconds_at"][p_epoch]
    reached = fb >= target
    row = {"signal": paper["signal"], "seed": paper["seed"], "target_psnr": target,
           "paper_epochs_to_target": p_epoch + 1, "paper_seconds_to_target": p_seconds,
           "paper_seconds": paper["seconds"], "fast_seconds": fast["seconds"],
           "fast_best_psnr": float(fb[-1]), "fast_epochs": len(fb)}
    if reached.any():
        f_epoch = int(np.argmax(reached))
        f_seconds = fast["seconds_at"][f_epoch]
        row |= {"fast_epochs_to_target": f_epoch + 1, "fast_seconds_to_target": f_seconds,
                "speedup": p_seconds / f_seconds, "epoch_speedup": (p_epoch + 1) / (f_epoch + 1)}
    else:
        row |= {"fast_epochs_to_target": None, "fast_seconds_to_target": None, "speedup": None,
                "epoch_speedup": None}
    for mark in MARKS:
        t = mark * paper["seconds"]
        row[f"paper_psnr_at_{mark:g}"] = psnr_at(paper, t)
        row[f"fast_psnr_at_{mark:g}"] = psnr_at(fast, t)
    return row


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(rows: list[dict]) -> dict[str, dict]:
    """Per signal: medians over seeds."""
    out = {}
    for sig in dict.fromkeys(r["signal"] for r in rows):
        rs = [r for r in rows if r["signal"] == sig]
        keys = [k for k in rs[0] if k not in ("signal", "seed")]
        out[sig] = {k: median([r[k] for r in rs]) for k in keys} | {
            "seeds": [r["seed"] for r in rs], "reached": sum(r["speedup"] is not None for r in rs)}
    return out


def fmt(v, digits=2, suffix=""):
    return "–" if v is None else f"{v:.{digits}f}{suffix}"


def markdown(tables: dict, params: dict, fits: dict, timing: str) -> str:
    lines = ["# Time to quality: the `fast` recipe against the paper's", "",
             "SIREN² on each shared signal. `paper` = the paper's recipe (Adam 1e-4, StepLR(20, γ), full batch); "
             "`fast` = ours (siren2's default). P = the paper recipe's best psnr_paper after its full budget; "
             "time to P = training seconds until the run's best-so-far psnr_paper reaches P (the epoch at "
             "which `--target-psnr P` stops). Speed-up = paper's seconds to P / fast's seconds to P, both "
             "measured in this script, one fit at a time. Medians over seeds. psnr_paper = 10·log10(1/MSE) on "
             "[-1, 1] data, of the fitted samples.", ""]
    for suite, per in tables.items():
        s = SUITES[suite]
        f = fits[suite]
        size = (f"the central {s['window']:,} of the first 150,000 samples" if suite == "audio" else
                f"the central {s['window']}x{s['window']} of the 512x512 image" if suite == "image" else
                f"the first {s['window']:,} samples (the paper's full protocol)")
        n_points = s["window"] if s["folder"] == "audio" else s["window"] ** 2
        lines += [f"## {suite}: {size}, {s['hidden_layers']} x {s['width']}, {params[suite]:,} parameters "
                  f"({params[suite] / n_points:.2f} per sample)", "",
                  f"paper: {f['paper']['epochs']} epochs, lr {f['paper']['lr']:g}, StepLR(20, "
                  f"{f['paper']['lr_gamma']:g}). fast: {f['fast']['epochs']} epochs, peak lr {f['fast']['lr']:g}, "
                  f"{f['fast']['schedule']} schedule (warm-up {f['fast']['warmup']:.0%}, floor "
                  f"{f['fast']['lr_floor']:g} of the peak)"
                  + (f", {f['fast']['batch_size']:,}-point mini-batches" if f['fast']['batch_size'] else
                     ", full batch") + ".", "",
                  "| signal | seeds | P (dB) | paper: s to P | fast: s to P (epochs) | speed-up | "
                  "paper / fast at 10% | at 30% | at 100% of paper's time |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for sig, r in per.items():
            reach = "" if r["reached"] == len(r["seeds"]) else f" ({r['reached']} of {len(r['seeds'])} reached P)"
            lines.append(
                f"| {sig} | {len(r['seeds'])} | {r['target_psnr']:.2f} | {r['paper_seconds_to_target']:.1f} | "
                f"{fmt(r['fast_seconds_to_target'], 1)} ({fmt(r['fast_epochs_to_target'], 0)}) | "
                f"**{fmt(r['speedup'], 1, 'x')}**{reach} | "
                + " | ".join(f"{r[f'paper_psnr_at_{m:g}']:.2f} / {r[f'fast_psnr_at_{m:g}']:.2f}" for m in MARKS)
                + " |")
        if len(per) > 1:
            speed = median([r["speedup"] for r in per.values()])
            gains = [r["fast_psnr_at_1"] - r["paper_psnr_at_1"] for r in per.values()]
            lines += ["", f"Median over signals: speed-up {fmt(speed, 1, 'x')}; at the paper recipe's wall time "
                      f"`fast` ends {statistics.median(gains):+.2f} dB (lowest {min(gains):+.2f} dB, on "
                      f"{min(per, key=lambda k: per[k]['fast_psnr_at_1'] - per[k]['paper_psnr_at_1'])})."]
        lines.append("")
    lines += ["Notes:", "- Both recipes run the same model, engine and step for a signal; a step costs the same under "
              "both when both are full batch, so the speed-up in seconds tracks the speed-up in epochs.",
              "- A `fast` run that ended before a mark keeps its final best PSNR at that mark.",
              f"- {timing}"]
    return "\n".join(lines) + "\n"


def plan(run: dict) -> list[tuple[str, int]]:
    """(suite, seed) in run order: every suite's first seed (the full-scale clip right after it), then
    the other seeds."""
    return [(suite, seed) for seed in run["seeds"] for suite in run["suites"]
            if seed in SUITES[suite].get("seeds", run["seeds"])]


def collect(run: dict, store: RecordStore) -> dict[tuple, dict]:
    """The stored records of ``run``'s fits, by (suite, recipe, signal, seed), in run order."""
    records = {}
    for suite, seed in plan(run):
        for recipe in RECIPES:
            for rec in stored(spec_for(suite, recipe, run["signals"][suite], seed), store)[0]:
                records[(suite, recipe, rec["signal"], rec["seed"])] = rec
    return records


def tables(store: RecordStore) -> dict | None:
    """The table of ``store``'s run from its records alone: markdown, and per suite the figure's
    curves and targets; None if no pair of fits finished."""
    run = invocation(store)
    records = collect(run, store)
    suites = run["suites"]
    rows = {suite: [compare_pair(records[(suite, "paper", sig, seed)], records[(suite, "fast", sig, seed)])
                    for (su, rcp, sig, seed) in records if su == suite and rcp == "paper"
                    and (suite, "fast", sig, seed) in records] for suite in suites}
    rows = {k: v for k, v in rows.items() if v}
    if not rows:
        return None
    summary = {suite: summarize(r) for suite, r in rows.items()}
    params, fits = {}, {}
    for suite in rows:
        s = SUITES[suite]
        in_dim = 1 if s["folder"] == "audio" else 2
        params[suite] = num_parameters(create_model("siren2", in_dim=in_dim, s0=0.0, s1=0.0, width=s["width"],
                                                    hidden_layers=s["hidden_layers"]))
        fits[suite] = {r: {k: getattr(FitConfig.resolve(s["preset"], r, in_dim, model="siren2", width=s["width"]), k)
                           for k in FIT_FIELDS} for r in RECIPES}
    fit_seconds = sum(r["seconds"] for r in records.values())
    timing = (f"{len(records)} fits, {fit_seconds / 60:.1f} min of training in all, "
              f"on {machine_line(here=run['machine'])}"
              + (" (interrupted: the tables hold the finished pairs)" if run["interrupted"] else ""))
    figures = {}
    for suite in rows:
        seed0 = min(r["seed"] for r in rows[suite])
        curves, targets = {}, {}
        for (su, recipe, sig, seed), rec in records.items():
            if su == suite and seed == seed0:
                curves.setdefault(sig, {})[recipe] = (rec["seconds_at"], best_so_far(rec["psnr_paper_per_epoch"]))
                if recipe == "paper":
                    targets[sig] = float(best_so_far(rec["psnr_paper_per_epoch"])[-1])
        figures[suite] = (curves, targets, seed0)
    return {"markdown": markdown(summary, params, fits, timing), "figures": figures}


def markdown_from_records(path: Path) -> str:
    """The table a records file makes (what ``--from-records`` writes)."""
    out = tables(RecordStore(path))
    if out is None:
        raise ValueError(f"{path}: no finished pair of fits")
    return out["markdown"]


def write_outputs(store: RecordStore, results: Path) -> int:
    """Write time_to_quality.md and the figures from ``store`` alone; 1 if no pair of fits finished."""
    out = tables(store)
    if out is None:
        print("no finished pair of fits")
        return 1
    print(write_table("time_to_quality", out["markdown"], results))
    for suite, (curves, targets, seed0) in out["figures"].items():
        compact_png(plots.suite_curves(curves, results / f"time_to_quality_{suite}.png", xlabel="training seconds",
                                       targets=targets,
                                       title=f"time to quality, {suite}: best psnr_paper so far (dB), seed {seed0}"))
    print(out["markdown"])
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Seconds to the paper recipe's PSNR: the fast recipe against the paper's.")
    p.add_argument("--suites", default="audio,image,full", help="comma-separated: audio, image, full")
    p.add_argument("--seeds", default="0,1,2", help="seeds of the audio and image suites (full: seed 0)")
    p.add_argument("--clips", help="comma-separated file names (default: every shared file)")
    p.add_argument("--device", default=None)
    add_record_options(p)
    args = p.parse_args(argv)
    store = opened_records("time_to_quality.py", "time_to_quality", args)
    if args.from_records:
        return write_outputs(store, args.results)
    suites = [s for s in args.suites.split(",") if s]
    unknown = set(suites) - set(SUITES)
    if unknown:
        raise SystemExit(f"time_to_quality.py: unknown suite {sorted(unknown)[0]!r}; choose from {', '.join(SUITES)}")
    seeds = check_seeds([int(s) for s in args.seeds.split(",")])
    names = args.clips.split(",") if args.clips else None
    run = {"suites": suites, "seeds": seeds, "signals": {suite: signal_names(suite, names) for suite in suites}}
    start, interrupted = time.perf_counter(), False
    for suite, seed in plan(run):
        for recipe in RECIPES:
            spec = spec_for(suite, recipe, run["signals"][suite], seed)
            _, interrupted = run_suite(spec, store, resume=args.resume, device=args.device,
                                       on_fit=lambda job, rec, suite=suite, recipe=recipe: print(
                                           f"{suite} {recipe}: {job[0]} seed {job[2]}: best psnr_paper "
                                           f"{max(rec['psnr_paper_per_epoch']):.2f} dB in {rec['seconds']:.1f} s",
                                           flush=True))
            if interrupted:
                break
        if interrupted:
            break
    save_invocation(store, **run, wall_seconds=time.perf_counter() - start, interrupted=interrupted,
                    machine=machine())
    code = write_outputs(store, args.results)
    return 130 if interrupted else code


if __name__ == "__main__":
    sys.exit(main())
