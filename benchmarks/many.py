"""Throughput of many same-size fits: fit() one after another against fit_batched in groups of K.

    python benchmarks/many.py                          # 64 clips x 4,096 samples, 3 x 64 SIREN², 300 epochs
    python benchmarks/many.py --groups 8,64 --repeats 1 --device cuda
    python benchmarks/many.py --quick                  # a few seconds, results to /tmp/siren2_many_quick
    siren2 bench many --quick

The clips are generated (a few random tones each, seeded by the clip's index); every clip gets its
own SIREN² (WINNER noise from its own ψ, seed = its index) and the `fast` recipe. Paths, each timed
end to end over all clips after a warm-up (model building excluded; both paths start from the same
initial weights):
  (a) fit() on each clip in turn;
  (b) fit_batched() on consecutive groups of K clips, for each K of --groups.
A repeat runs every path once, in that order; fits per hour are the median over --repeats. Each
batched path's best psnr_paper per clip is compared with path (a)'s (first repeat): they agree to
float rounding, which the fast recipe's peak lr lets grow over the epochs (as between fit()'s own
engines), hence a tolerance in dB. Writes benchmarks/results/many.json and many.md (--quick: to
/tmp/siren2_many_quick unless --results is given); exits 1 if a path disagrees.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
from _common import RESULTS, machine, median, write_results

from siren2 import FitConfig, Signal, create_model, fit
from siren2.batched import fit_batched

FULL = dict(clips=64, samples=4096, width=64, hidden_layers=3, epochs=300, groups="8,16,64", repeats=3)
QUICK = dict(clips=8, samples=512, width=64, hidden_layers=3, epochs=20, groups="4,8", repeats=1)
QUICK_RESULTS = Path("/tmp/siren2_many_quick")


def clip(index: int, samples: int, tones: int = 6) -> Signal:
    """``tones`` sines at random frequencies (0.002–0.1 cycles/sample) and phases, max|x| = 1."""
    rng = np.random.default_rng(index)
    i = np.arange(samples)
    x = sum(rng.uniform(0.3, 1) * np.sin(2 * np.pi * f * i + rng.uniform(0, 6))
            for f in rng.uniform(0.002, 0.1, tones))
    return Signal(values=(x / np.abs(x).max())[:, None], grid=(samples,), kind="audio", sample_rate=16_000,
                  source=f"clip{index}")


def one_at_a_time(models, clips, cfg):
    return [fit(m, c, cfg) for m, c in zip(models, clips)]


def in_groups(models, clips, cfg, k: int):
    return [r for i in range(0, len(models), k) for r in fit_batched(models[i : i + k], clips[i : i + k], cfg)]


def timed(path, initial, clips, cfg) -> tuple[float, list]:
    models = [copy.deepcopy(m) for m in initial]
    start = time.perf_counter()
    results = path(models, clips, cfg)
    return time.perf_counter() - start, results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="a few seconds: " + ", ".join(f"{k} {v}" for k, v in QUICK.items()))
    for name, value in FULL.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(value),
                       help=f"default {value} (--quick: {QUICK[name]})")
    p.add_argument("--tolerance-db", type=float, default=0.2,
                   help="largest |Δ best psnr_paper| per clip (default 0.2)")
    p.add_argument("--device", default=None)
    p.add_argument("--results", type=Path, help=f"default {RESULTS} (--quick: {QUICK_RESULTS})")
    args = p.parse_args(argv)
    s = {k: getattr(args, k) if getattr(args, k) is not None else (QUICK if args.quick else FULL)[k] for k in FULL}
    groups = [int(g) for g in str(s["groups"]).split(",") if g]
    if any(g < 1 for g in groups) or s["clips"] < 1 or s["repeats"] < 1:
        raise SystemExit("many.py: --groups, --clips and --repeats must be positive")
    results_dir = args.results or (QUICK_RESULTS if args.quick else RESULTS)

    clips = [clip(i, s["samples"]) for i in range(s["clips"])]
    shape = dict(width=s["width"], hidden_layers=s["hidden_layers"])
    initial = [create_model("siren2", c, seed=i, **shape) for i, c in enumerate(clips)]
    cfg = FitConfig.resolve(None, "fast", 1, model="siren2", width=s["width"], epochs=s["epochs"], device=args.device)
    paths = {"one at a time": one_at_a_time} | {f"batched K={k}": (lambda m, c, f, k=k: in_groups(m, c, f, k))
                                                 for k in groups}
    print(f"{s['clips']} clips x {s['samples']} samples, SIREN² {s['hidden_layers']} x {s['width']}, "
          f"{s['epochs']} epochs (fast recipe); paths: {', '.join(paths)}; {s['repeats']} repeat(s)", flush=True)
    for path in paths.values():  # first calls pay one-off costs (torch.func's imports, the allocator)
        timed(path, initial[:2], clips[:2], dataclasses.replace(cfg, epochs=2))

    seconds: dict[str, list[float]] = {name: [] for name in paths}
    psnr: dict[str, list[float]] = {}
    engine: dict[str, str] = {}
    device = ""
    for rep in range(s["repeats"]):
        for name, path in paths.items():
            secs, results = timed(path, initial, clips, cfg)
            seconds[name].append(secs)
            if rep == 0:
                psnr[name], engine[name], device = [r.best_psnr for r in results], results[0].engine, results[0].device
            print(f"  repeat {rep + 1}: {name}: {secs:.1f} s, {3600 * s['clips'] / secs:,.0f} fits/hour", flush=True)

    base = "one at a time"
    rows = {}
    for name in paths:
        delta = np.abs(np.array(psnr[name]) - psnr[base])
        rows[name] = {"engine": engine[name], "seconds": seconds[name], "median_seconds": median(seconds[name]),
                      "fits_per_hour": 3600 * s["clips"] / median(seconds[name]),
                      "speedup": median(seconds[base]) / median(seconds[name]),
                      "mean_best_psnr_paper": float(np.mean(psnr[name])),
                      "max_abs_psnr_delta_db": float(delta.max()), "agrees": bool(delta.max() <= args.tolerance_db)}
    data = {"settings": s | {"groups": groups, "recipe": "fast", "model": "siren2", "lr": cfg.lr,
                             "tolerance_db": args.tolerance_db, "quick": args.quick},
            "device": device, "machine": machine(), "paths": rows}
    for path in write_results("many", data, markdown(data), results_dir):
        print(path)
    bad = [name for name, r in rows.items() if not r["agrees"]]
    if bad:
        print(f"many.py: {', '.join(bad)}: best psnr_paper differs from one-at-a-time fits by more than "
              f"{args.tolerance_db} dB", file=sys.stderr)
        return 1
    return 0


def markdown(data: dict) -> str:
    s = data["settings"]
    lines = [f"# Many fits: one at a time against batched{' (quick: not a measurement)' if s['quick'] else ''}", "",
             f"{s['clips']} generated clips x {s['samples']} samples, SIREN² {s['hidden_layers']} x {s['width']}, "
             f"{s['epochs']} full-batch epochs, fast recipe (peak lr {s['lr']:.3g}); median of {s['repeats']} "
             f"repeat(s), after a warm-up. Device {data['device']}. Machine: {data['machine']}.", "",
             "Batched: fit_batched on consecutive groups of K clips (one stacked Adam step per epoch). Δ: the "
             f"largest |best psnr_paper − one-at-a-time's| over the clips (tolerance {s['tolerance_db']} dB).", "",
             "| path | engine | seconds (median) | fits per hour | speed-up | mean best psnr_paper (dB) "
             "| max Δ (dB) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, r in data["paths"].items():
        lines.append(f"| {name} | {r['engine']} | {r['median_seconds']:.1f} | {r['fits_per_hour']:,.0f} | "
                     f"{r['speedup']:.2f}x | {r['mean_best_psnr_paper']:.2f} | {r['max_abs_psnr_delta_db']:.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
