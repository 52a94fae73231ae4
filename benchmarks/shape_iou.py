"""SIREN against SIREN²(auto) on the generated torus, over seeds: does noise help a shape's IoU?

    python benchmarks/shape_iou.py --seeds 0,1,2 --resume

adaptive.py's torus (radii 0.55, 0.2, the tube's radius rippling 16 x 6 times around) on its 32³ grid,
as signed distance (`sdf`) and as occupancy, at ripple ± 0.03 (adaptive.py's, under half a sample
step of 0.065) and ± 0.06 (about one step: detail about 3 steps across, near the grid's Nyquist).
adaptive.py's 3-D setting: 3 x 128 (1.03 parameters per sample), recipe `fast` (ours, 500 epochs),
SIREN at ω_first 30 and SIREN² with rule auto, the same seed drawing both initializations. Scores
(siren2.metrics): IoU of the inside on the samples, IoU against the torus itself on a grid 4x finer
(adaptive.fine_iou: between the samples), Chamfer distance of the marching-cubes surfaces, psnr_paper.
One JSON record per (field, ripple, model, seed) under benchmarks/results/shape_iou/ (``--resume``
keeps them); writes benchmarks/results/shape_iou.md/.json (medians over seeds, and the count of
seeds where SIREN² is ahead).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
from _common import RESULTS, machine, write_results, completed
from adaptive import SHAPES, fine_iou, shape
from paper import machine_line

from siren2.runs import run_fit
from siren2.train import FitConfig

RUNS = RESULTS / "shape_iou"
FIELDS = ("sdf", "occupancy")
RIPPLES = (0.03, 0.06)
MODELS = {"siren": {}, "siren2 auto": {"rule": "auto"}}
SCORES = (("iou", "IoU, samples", "{:.4f}"), ("iou_fine", "IoU, 4x finer", "{:.4f}"),
          ("chamfer", "Chamfer", "{:.2g}"), ("psnr_paper", "psnr_paper", "{:.2f}"))


def run_one(field: str, ripple: float, label: str, seed: int, resume: bool) -> dict:
    path = RUNS / f"{field}_{ripple:g}_{label.replace(' ', '_')}_{seed}.json"
    if resume and path.exists():
        return json.loads(path.read_text())
    sig, s = shape(field=field, ripple=ripple), SHAPES[3]
    model = label.split()[0]
    cfg = FitConfig.resolve(s["preset"], "fast", 3, model=model, width=s["width"], seed=seed)
    run = run_fit(sig, model, preset=s["preset"], fit_config=cfg,
                  model_options=dict(width=s["width"], hidden_layers=s["hidden_layers"]),
                  winner_options=MODELS[label] or None)
    completed(run.result)
    rec = {"field": field, "ripple": ripple, "model": label, "seed": seed, "points": sig.num_points,
           "parameters": run.config["model"]["parameters"], "epochs": cfg.epochs,
           "winner": run.config["model"]["winner"], "stopped_by": run.result.stopped_by,
           "metrics": {k: run.metrics[k] for k, *_ in SCORES if k in run.metrics} | {
               "iou_fine": fine_iou(run.result.model, sig)}}
    RUNS.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(rec, indent=1, default=float) + "\n")
    os.replace(tmp, path)
    return rec


def table(records: list[dict]) -> list[str]:
    """Rows: field and ripple; per score, SIREN / SIREN² medians over the seeds both finished, and the seeds
    where SIREN² is ahead; then every fit that found no surface at all."""
    lines = ["| field | ripple | params/sample | seeds | " + " | ".join(
        f"{name}: SIREN / SIREN² (ahead)" for _, name, _ in SCORES) + " |", "|---|---:|---:|---:|" + "---|" * len(SCORES)]
    failed = []
    for field in FIELDS:
        for ripple in RIPPLES:
            pair = {m: {r["seed"]: r for r in records if (r["field"], r["ripple"], r["model"]) == (field, ripple, m)}
                    for m in MODELS}
            seeds = sorted(set(pair["siren"]) & set(pair["siren2 auto"]))
            if not seeds:
                continue
            cells = []
            for key, _, fmt in SCORES:
                vals = {m: [pair[m][s]["metrics"][key] for s in seeds] for m in MODELS}
                better = (lambda a, b: a < b) if key == "chamfer" else (lambda a, b: a > b)
                ahead = sum(better(b, a) for a, b in zip(vals["siren"], vals["siren2 auto"]))
                cells.append(" / ".join(fmt.format(float(np.median(vals[m]))) for m in MODELS)
                             + f" ({ahead} of {len(seeds)})")
            r = pair["siren"][seeds[0]]
            lines.append(f"| {field} | ±{ripple:g} | {r['parameters'] / r['points']:.2f} | {len(seeds)} | "
                         + " | ".join(cells) + " |")
            failed += [f"{m} seed {s} on the {field} at ±{ripple:g} (psnr_paper {pair[m][s]['metrics']['psnr_paper']:.2f})"
                       for m in MODELS for s in seeds if pair[m][s]["metrics"]["iou"] == 0]
    return lines + ["", "No surface at all (IoU 0, Chamfer infinite): " + "; ".join(failed) + "."] if failed else lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    interrupted = False
    try:
        for seed in (int(s) for s in args.seeds.split(",")):
            for field in FIELDS:
                for ripple in RIPPLES:
                    for label in MODELS:
                        m = run_one(field, ripple, label, seed, args.resume)["metrics"]
                        print(f"{field} ±{ripple:g} {label} seed {seed}: IoU {m['iou']:.4f}, finer {m['iou_fine']:.4f}, "
                              f"psnr_paper {m['psnr_paper']:.2f}", flush=True)
    except KeyboardInterrupt:
        interrupted = True
    records = [json.loads(f.read_text()) for f in sorted(RUNS.glob("*.json"))] if RUNS.is_dir() else []
    md = "\n".join([
        "# SIREN against SIREN²(auto) on a generated shape, over seeds", "",
        "The torus of `benchmarks/adaptive.py` (radii 0.55, 0.2; the tube's radius ripples 16 x 6 times around) on "
        "a 32³ grid over [-1, 1]³ (sample step 0.065), as signed distance and occupancy, ripple ± 0.03 (adaptive.py's) "
        "and ± 0.06; 3 x 128, recipe `fast` (ours, 500 epochs), SIREN at ω_first 30, SIREN² with rule auto; each seed "
        "draws both initializations. IoU of the inside on the samples and against the torus itself on a 4x finer "
        "grid (between the samples), Chamfer distance of the marching-cubes surfaces (lower is better), psnr_paper "
        "of the field. Medians over the seeds; (ahead): the seeds where SIREN² is better than SIREN.", "",
        *table(records), "",
        f"On {machine_line()}." + (" Interrupted: the table holds what finished." if interrupted else "")]) + "\n"
    for path in write_results("shape_iou", {"machine": machine(), "records": records}, md):
        print(path)
    print(md)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
