"""Would capping each gap's fill at the level around it help? SIREN²'s fills kept, rules scored on them.

    python benchmarks/gap_fill.py --seeds 2,0,1 --resume
    python benchmarks/gap_fill.py --task "missing 30%" --seeds 0 --resume

A task of restore_grid.py that removes samples (default its gaps, 10 of 20 ms; or 30% missing), on each
shared clip's central 30,000 samples at the seed's draw, restored by SIREN² with the `siren2 inpaint`
defaults, exactly as restore_grid.py runs it; the fill where samples are missing before the level cap
(the fit scaled by the hold-out's β) is kept (one .npz and one JSON record per clip, task and seed under
benchmarks/results/gap_fill/, ``--resume`` keeps them), so that rules applied after the fit can be
scored without refitting. A rule here sees the damaged clip and the mask only, never the clean one (a
"gap" is any run of missing samples):

* ``as is``: that fill (the default output before ``siren2.restoration.level_cap``);
* ``level cap, k x``: each gap's fill scaled down, where louder, to the RMS of the observed samples
  within k gap lengths on either side (``siren2.restoration.level_cap``; the default for gaps, since
  this benchmark, at k = 3).

Writes benchmarks/results/gap_fill.md/.json: psnr_paper (dB) per clip, task and seed, and the means.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
from _common import DATA, RESULTS, completed, machine, write_record, write_results
from paper import machine_line, window
from restore_grid import MODALITIES

from siren2 import predict
from siren2.metrics import psnr_paper
from siren2.restoration.restorer import (BANDWIDTHS, HOLDOUT_FRACTION, PARAMS_PER_SAMPLE, default_prior_weights, level_cap,
                                restore)

RUNS = RESULTS / "gap_fill"
TASKS = ("gaps 10x20ms", "missing 30%")
CAPS = (1, 3)  # the level cap's neighbourhood, in gap lengths either side


def stem(clip: str, task: str, seed: int):
    """The record's path without suffix."""
    return RUNS / f"{os.path.splitext(clip)[0]}_{task.replace(' ', '_').replace('%', 'pct')}_{seed}"


def run_one(path, task: str, seed: int, resume: bool) -> dict:
    """SIREN²'s default restoration of ``path`` under ``task`` at ``seed``: its record (the fill in an .npz)."""
    base = stem(path.name, task, seed)
    if resume and base.with_suffix(".json").exists():
        return json.loads(base.with_suffix(".json").read_text())
    m = MODALITIES["audio"]
    clean = window("audio", path, m["size"])
    c = m["tasks"][task].apply(clean, seed)
    run = restore(c.signal, c.mask, "siren2", stop="holdout", recipe="fast", fit_options={"seed": seed},
                  capacity=PARAMS_PER_SAMPLE, bandwidths=BANDWIDTHS, prior_weights=default_prior_weights(clean),
                  holdout=HOLDOUT_FRACTION, shrink_fit=True, preset=m["preset"], model_options=m["shape"], clean=clean)
    completed(run.result)
    missing = np.flatnonzero(c.mask == 0)
    RUNS.mkdir(parents=True, exist_ok=True)
    tmp = base.with_name(f".{base.name}.tmp.npz")
    fit = predict(run.model, c.signal.coords()).cpu().numpy()[missing, 0]  # the fill before the level cap
    np.savez_compressed(tmp, missing=missing, fill=run.config["restoration"]["shrink"]["beta"] * fit)
    os.replace(tmp, base.with_suffix(".npz"))
    rec = {"signal": path.name, "seed": seed, "task": task, "corruption": c.info,
           "input_psnr_paper": psnr_paper(clean.values, c.signal.values),
           "siren2_psnr_paper": run.metrics["psnr_paper"], "restoration": run.config["restoration"]}
    write_record(base.with_suffix(".json"), rec, indent=1)
    return rec


def scores(rec: dict) -> dict[str, float]:
    """psnr_paper of each rule on ``rec``'s clip and seed (the corruption drawn again from its seed)."""
    m = MODALITIES["audio"]
    clean = window("audio", DATA / "audio" / rec["signal"], m["size"])
    c = m["tasks"][rec["task"]].apply(clean, rec["seed"])
    with np.load(stem(rec["signal"], rec["task"], rec["seed"]).with_suffix(".npz")) as z:
        out = c.signal.values[:, 0].astype(np.float64)
        out[z["missing"]] = z["fill"]
    damaged = c.signal.values[:, 0].astype(np.float64)
    rules = {"as is": out} | {f"level cap, {k}x": level_cap(damaged[:, None], c.mask, out[:, None], k)[0][:, 0]
                              for k in CAPS}
    return {"input": rec["input_psnr_paper"]} | {name: psnr_paper(clean.values[:, 0], v) for name, v in rules.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default=TASKS[0], choices=TASKS)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--signals", help="comma-separated clip names (default: every shared clip)")
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    folder = DATA / "audio"
    if not folder.is_dir():
        raise SystemExit(f"gap_fill.py: {folder} not found (the paper's data lives in ../shared/data)")
    paths = sorted(q for q in folder.iterdir() if not args.signals or q.name in args.signals.split(","))
    interrupted = False
    try:
        for seed in (int(s) for s in args.seeds.split(",")):
            for path in paths:
                rec = run_one(path, args.task, seed, args.resume)
                print(f"{path.name} {args.task} seed {seed}: input {rec['input_psnr_paper']:.2f}, siren2 "
                      f"{rec['siren2_psnr_paper']:.2f} dB", flush=True)
    except KeyboardInterrupt:
        interrupted = True
    recs = [json.loads(f.read_text()) for f in sorted(RUNS.glob("*.json"))] if RUNS.is_dir() else []
    rows = [(r, scores(r)) for r in recs]
    names = ["input", "as is"] + [f"level cap, {k}x" for k in CAPS]
    lines = ["# Gap fills: SIREN²'s default inpainting, and rules applied after the fit", "",
             "restore_grid.py's tasks that remove samples and its SIREN² settings (the `siren2 inpaint` defaults: at most "
             "1 parameter per observed sample, recipe `fast`, ours, at most 500 epochs, hold-out stopping; for gaps chosen "
             "and scaled on held-out runs as long as the gaps); the fill where samples are missing kept and rescored under "
             "each rule. `level cap, k x`: each run of missing samples' fill scaled down, where louder, to the RMS of the "
             "observed samples within k run lengths on either side (the damaged clip and the mask only). psnr_paper (dB) "
             "against the clean clip."]
    for task in TASKS:
        mine = [(r, s) for r, s in rows if r["task"] == task]
        if not mine:
            continue
        lines += ["", f"## {task}", "", "| clip | seed | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
        lines += [f"| {r['signal']} | {r['seed']} | " + " | ".join(f"{s[n]:.2f}" for n in names) + " |" for r, s in mine]
        lines += ["", "| rule | − input, mean | worst | under the input by > 0.1 dB |", "|---|---:|---:|---:|"]
        for n in names[1:]:
            d = [s[n] - s["input"] for _, s in mine]
            lines.append(f"| {n} | {np.mean(d):+.2f} | {min(d):+.2f} | {sum(x < -0.1 for x in d)} of {len(d)} |")
    lines.append(f"\nOn {machine_line()}." + (" Interrupted: the tables hold what finished." if interrupted else ""))
    write_results("gap_fill", {"machine": machine(), "records": recs, "scores": [s for _, s in rows]},
                  "\n".join(lines) + "\n")
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
