"""How far can any stopping rule take SIREN²'s restoration? The best epoch against the clean signal.

    python benchmarks/oracle_stop.py --resume
    python benchmarks/oracle_stop.py --signals relay.wav,camera.png --factors 1,0.25
    python benchmarks/oracle_stop.py --task "missing 30%" --resume     # the audio clips' inpainting

SIREN² is fitted to the damaged signal (restore_grid.py's task, seed 0: σ 0.05 noise by default)
with the commands' network (at most one parameter per observed sample, the `fast` recipe, WINNER's ψ
read above the noise floor, s0 the rule's times each factor) on every observed sample for the whole
budget, and scored against the clean signal after every epoch (missing samples: the observed ones
kept, the fit where missing). The best of those scores is what an oracle stopping rule would
return: no rule that never sees the clean signal (hold-out, discrepancy) can do better with this
network and bandwidth. Where it stays at the damaged input, the fit learns the noise as fast as the
signal, or fills the missing samples no better than zeros, and only the shrinkage (restore_grid.md)
or another method can gain. Same windows as restore_grid.py. One JSON record per (signal, task,
factor) under benchmarks/results/oracle_stop/runs/; writes oracle_stop.md/.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from _common import DATA, RESULTS, completed, machine, write_record, write_results
from paper import machine_line, window
from restore_grid import MODALITIES

from siren2 import predict
from siren2.restoration.classical import noise_std
from siren2.metrics import psnr_paper
from siren2.restoration.restorer import CENTROID, capacity_width
from siren2.runs import run_fit
from siren2.train import FitConfig
from siren2.winner import resolve_scales

TASK, SEED = "noise 0.05", 0  # restore_grid.py's noise task, its first seed


def run_one(modality: str, path: Path, task: str, factor: float) -> dict:
    m = MODALITIES[modality]
    clean = window(modality, path, m["size"])
    spec = m["tasks"][task]
    c = spec.apply(clean, SEED)
    damaged, observed = c.signal, torch.from_numpy(c.mask[:, None] > 0)
    coords, target, kept = clean.coords(), torch.from_numpy(clean.values), torch.from_numpy(damaged.values)
    width = capacity_width("siren2", damaged, int(c.mask.sum()), m["preset"], m["shape"]["hidden_layers"], 1.0)
    cfg = FitConfig.resolve(m["preset"], "fast", damaged.in_dim, model="siren2", width=width, seed=SEED)
    base = resolve_scales(damaged, centroid=CENTROID)

    def clean_mse(model) -> float:  # the restoration's output: the observed samples kept where a task removes some
        fit = predict(model, coords)
        return float(((torch.where(observed, kept, fit) if spec.removes_samples else fit) - target).square().mean())

    run = run_fit(damaged, "siren2", preset=m["preset"], fit_config=cfg, mask=c.mask,
                  model_options={"width": width, **m["shape"]},
                  winner_options={"centroid": CENTROID, "s0": factor * base.s0, "s1": base.s1}, validate=clean_mse)
    completed(run.result)
    mse, train_mse = np.array(run.result.val_loss), np.array(run.result.loss)
    # the discrepancy principle (noise only): stop when the training residual reaches σ̂²
    below = np.flatnonzero(train_mse <= noise_std(damaged) ** 2) if not spec.removes_samples else np.array([])
    db = lambda e: 10 * math.log10(1 / max(float(e), 1e-30))  # noqa: E731
    return {"modality": modality, "signal": path.name, "task": task, "factor": factor, "s0": factor * base.s0,
            "s1": base.s1, "width": width, "epochs": len(mse), "input": psnr_paper(clean.values, damaged.values),
            "oracle_epoch": int(mse.argmin()), "oracle": db(mse.min()), "last": db(mse[-1]),
            "discrepancy_epoch": int(below[0]) if below.size else None,
            "discrepancy": db(mse[below[0]]) if below.size else None, "seconds": run.result.seconds}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--signals", help="comma-separated file names (default: every shared clip and image)")
    p.add_argument("--factors", default="1", help="factors on the rule's s0 (default 1)")
    p.add_argument("--task", default=TASK, help=f"a task of restore_grid.py (default {TASK!r}); signals without it "
                   "are skipped")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    runs = args.results / "oracle_stop" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    factors = [float(f) for f in args.factors.split(",")]
    for modality, m in MODALITIES.items():
        folder = DATA / m["folder"]
        if not folder.is_dir():
            raise SystemExit(f"oracle_stop.py: {folder} not found (the paper's data lives in ../shared/data)")
        for path in sorted(folder.iterdir()):
            if (args.signals and path.name not in args.signals.split(",")) or args.task not in m["tasks"]:
                continue
            for factor in factors:
                label = "" if args.task == TASK else args.task.replace(" ", "_").replace("%", "pc") + "_"
                record = runs / f"{path.stem}_{label}s0x{factor:g}.json"
                if args.resume and record.exists():
                    continue
                rec = run_one(modality, path, args.task, factor)
                write_record(record, rec)
                print(f"{path.name} {args.task} s0 x{factor:g}: input {rec['input']:.2f}, best epoch {rec['oracle']:.2f} dB "
                      f"(epoch {rec['oracle_epoch']})", flush=True)
    records = [json.loads(f.read_text()) for f in sorted(runs.glob("*.json"))]
    records.sort(key=lambda r: r.get("task", TASK) != TASK)  # records from before --task are the noise task's
    lines = ["# Restoration with an oracle stopping rule: SIREN²'s best epoch against the clean signal", "",
             f"restore_grid.py's windows and tasks (seed {SEED}): Gaussian noise σ "
             f"{MODALITIES['audio']['tasks'][TASK].value}, and 30% of the audio samples missing. SIREN² with the "
             "commands' network (at most 1 parameter per observed sample), recipe `fast` (ours), "
             "trained on every observed sample for the whole budget (500 epochs audio, 2000 images), WINNER's ψ above "
             "the noise floor, s0 = the rule's x factor. `best epoch`: the highest "
             "psnr_paper against the clean signal over all epochs (missing samples: the observed ones kept, the fit "
             "where missing; no rule that never sees the clean signal does "
             "better with this network and bandwidth); `discrepancy` (noise): the first epoch whose training MSE "
             "reaches σ̂² (Morozov's rule). psnr_paper (dB) on [-1, 1]. The paper claims SIREN² gains in audio "
             "denoising and inpainting; where best − input is nil, no stopping rule gives one with this network and "
             "bandwidth.", "",
             "| signal | task | s0 factor | s0 | corrupted input | best epoch (at) | best − input | discrepancy (at) "
             "| last epoch |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in records:
        disc = "–" if r["discrepancy"] is None else f"{r['discrepancy']:.2f} ({r['discrepancy_epoch']})"
        lines.append(f"| {r['signal']} | {r.get('task', TASK)} | {r['factor']:g} | {r['s0']:.4g} | {r['input']:.2f} "
                     f"| {r['oracle']:.2f} ({r['oracle_epoch']}) | {r['oracle'] - r['input']:+.2f} | {disc} "
                     f"| {r['last']:.2f} |")
    lines += ["", f"On {machine_line()}."]
    md = "\n".join(lines) + "\n"
    for path in write_results("oracle_stop", {"machine": machine(), "records": records}, md, args.results):
        print(path)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
