"""Denoising's last step: how to combine SIREN²'s fit with the noisy input (``siren2.restoration.shrink``).

    python benchmarks/shrink_rules.py --resume
    python benchmarks/shrink_rules.py --signals relay.wav,camera.png --seeds 0,1

For each noise task of restore_grid.py (same windows, seeds and defaults) the fit SIREN² chose there
(the record's s0 factor and prior weight λ) is fitted again, and its output y + α·(f − y) scored
against the clean signal under three rules, σ̂ estimated from the noisy signal as the commands do:

* *α everywhere* (siren2 before α_t): α = min(1, σ̂²/h) on every sample, h the held-out error;
* *α, α_t* (today's ``shrink``): α on the held-out samples, α_t = σ̂²/√(R·h) on those the fit
  trained on (R its error there: generalized cross-validation's share of the noise it took in);
* *oracle α_t* †: the α_t that the clean signal says is best (α on the held-out samples), a bound no
  rule without the clean signal can pass.

One JSON record per (signal, task, seed) under benchmarks/results/shrink_rules/runs/; writes
benchmarks/results/shrink_rules.md/.json. The refit must reproduce the record's fit (its
``fit_psnr_paper``): the difference is in the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from _common import DATA, RESULTS, machine, write_results, completed
from paper import machine_line, window
from restore_grid import MODALITIES, save

from siren2.compare import format_stat as fmt
from siren2.compare import summarize
from siren2.metrics import psnr_paper
from siren2.restoration.restorer import CENTROID, HOLDOUT_FRACTION, PARAMS_PER_SAMPLE, restore, shrink, split_holdout

GRID = RESULTS / "restore_grid" / "runs"


def run_one(grid_record: Path, record: Path, resume: bool) -> dict | None:
    """One noise task of restore_grid: SIREN²'s chosen fit again, its output under each rule."""
    if resume and record.exists():
        try:
            return json.loads(record.read_text())
        except json.JSONDecodeError:
            pass  # a record cut by a kill: rerun it
    g = json.loads(grid_record.read_text())
    m = MODALITIES[g["modality"]]
    spec, seed, chosen = m["tasks"][g["task"]], g["seed"], g["scores"]["siren2"]
    clean = window(g["modality"], DATA / m["folder"] / g["signal"], m["size"])
    noisy = spec.apply(clean, seed).signal
    factor = chosen["bandwidth_search"]["chosen_factor"]
    weight = chosen.get("prior", {}).get("chosen_weight", 0.0)
    run = restore(noisy, None, "siren2", stop="holdout", recipe="fast", fit_options={"seed": seed},
                  capacity=PARAMS_PER_SAMPLE, prior_weights=(weight,) if weight else (), preset=m["preset"],
                  model_options=m["shape"], clean=clean,
                  winner_options={"centroid": CENTROID, "s0": factor * chosen["bandwidth_search"]["rule_s0"]})
    completed(run.result)
    x, y = clean.values.astype(np.float64), noisy.values.astype(np.float64)
    f = run.reconstruction.values.astype(np.float64)
    full = np.ones(clean.num_points, np.float32)
    train, held = split_holdout(full, HOLDOUT_FRACTION, seed)
    trained = train[:, None] > 0
    now, rule = shrink(noisy, full, f, held, run.result.best_val_loss)
    d, e = (f - y)[trained[:, 0]], (x - y)[trained[:, 0]]
    best = float((d * e).sum() / max(float((d * d).sum()), 1e-30))  # y + α·(f − y) closest to x there
    scores = {"input": psnr_paper(x, y), "fit alone": psnr_paper(x, f),
              "α everywhere": psnr_paper(x, y + rule["alpha"] * (f - y)), "α, α_t": psnr_paper(x, now),
              "oracle α_t †": psnr_paper(x, y + np.where(trained, best, rule["alpha"]) * (f - y))}
    rec = {"modality": g["modality"], "signal": g["signal"], "task": g["task"], "seed": seed,
           "s0_factor": factor, "prior_weight": weight, "params_per_sample": run.config["model"]["parameters"] / y.size,
           "holdout_mse": run.result.best_val_loss, "grid_fit_psnr_paper": chosen["fit_psnr_paper"],
           "shrink": rule, "oracle_alpha_trained": best, "scores": scores}
    save(record, rec)
    return rec


ROWS = ["input", "fit alone", "α everywhere", "α, α_t", "oracle α_t †"]


def means(records: list[dict]) -> str:
    """Per signal and task: each rule's mean ± std over seeds, and α, α_t's change over α everywhere."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["signal"], r["task"]), []).append(r)
    lines = ["| signal | task | seeds | " + " | ".join(ROWS) + " | α, α_t − α everywhere |",
             "|---|---|---:|" + "---:|" * (len(ROWS) + 1)]
    for (signal, task), recs in groups.items():
        stats = {k: summarize([r["scores"][k] for r in recs]) for k in ROWS}
        best = max((k for k in ROWS if not k.endswith("†")), key=lambda k: stats[k]["mean"])
        cells = [f"**{fmt('psnr_paper', stats[k])}**" if k == best else fmt("psnr_paper", stats[k]) for k in ROWS]
        change = stats["α, α_t"]["mean"] - stats["α everywhere"]["mean"]
        lines.append(f"| {signal} | {task} | {len(recs)} | " + " | ".join(cells) + f" | {change:+.2f} |")
    return "\n".join(lines) + "\n"


def table(records: list[dict]) -> str:
    """Each record: the rules' scores, the factors, and how closely the refit reproduced the grid's fit."""
    lines = ["| signal | task | seed | params/sample | λ | " + " | ".join(ROWS)
             + " | α | α_t | oracle α_t | noise taken in a | refit − grid fit |",
             "|---|---|---:|---:|---:|" + "---:|" * (len(ROWS) + 5)]
    for r in records:
        s, rule = r["scores"], r["shrink"]
        best = max((k for k in ROWS if not k.endswith("†")), key=lambda k: s[k])
        cells = [f"**{s[k]:.2f}**" if k == best else f"{s[k]:.2f}" for k in ROWS]
        lines.append(f"| {r['signal']} | {r['task']} | {r['seed']} | {r['params_per_sample']:.2f} | {r['prior_weight']:g} | "
                     + " | ".join(cells) + f" | {rule['alpha']:.2f} | {rule['alpha_trained']:.2f} | "
                     f"{r['oracle_alpha_trained']:.2f} | {rule['noise_absorbed']:.2f} | "
                     f"{s['fit alone'] - r['grid_fit_psnr_paper']:+.2f} |")
    wins = sum(r["scores"]["α, α_t"] >= max(r["scores"]["α everywhere"], r["scores"]["fit alone"]) for r in records)
    gain = np.mean([r["scores"]["α, α_t"] - r["scores"]["α everywhere"] for r in records])
    return "\n".join(lines) + (f"\n\nα, α_t at or above both the fit alone and α everywhere on {wins} of {len(records)}; "
                               f"mean change over α everywhere {gain:+.2f} dB.\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0")
    p.add_argument("--signals", help="comma-separated file names (default: every noise task's signal)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    seeds = {int(s) for s in args.seeds.split(",")}
    records, interrupted = [], False
    try:
        for path in sorted(GRID.glob("*.json")):
            g = json.loads(path.read_text())
            if (MODALITIES[g["modality"]]["tasks"][g["task"]].kind != "noise_std" or g["seed"] not in seeds
                    or (args.signals and g["signal"] not in args.signals.split(","))):
                continue
            rec = run_one(path, args.results / "shrink_rules" / "runs" / path.name, args.resume)
            records.append(rec)
            print(f"{rec['signal']} {rec['task']} seed {rec['seed']}: "
                  + ", ".join(f"{k} {v:.2f}" for k, v in rec["scores"].items()), flush=True)
    except KeyboardInterrupt:
        interrupted = True
    if not records:
        raise SystemExit("shrink_rules.py: no finished task")
    note = ("psnr_paper (dB) against the clean signal; bold: the best without the clean signal; † uses it. "
            "SIREN²'s fit as restore_grid.py's defaults chose it (s0 factor, band prior weight λ): at most 1 "
            "parameter per sample, recipe `fast` (ours), hold-out stopping within 500 epochs (audio) / 2000 "
            f"(images); σ̂ from the noisy signal. Seeds as listed. {machine_line()}." + (" Interrupted: the table is partial." if interrupted else ""))
    write_results("shrink_rules", {"machine": machine(), "records": records},
                  "# Denoising: combining the fit with the noisy input\n\nMean ± std over seeds:\n\n" + means(records)
                  + "\nEach seed:\n\n" + table(records) + "\n" + note + "\n",
                  args.results)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
