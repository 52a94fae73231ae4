"""How fragile is the race's horizon? Rule auto's valley raced at 1.5–3% of the epochs, and other
ways to read the same short fits.

    python benchmarks/auto_horizon.py --resume    # needs benchmarks/results/auto_valley/points (auto_valley.py)

For the 14 shared and RGB signals of adaptive.py (same windows, widths and seed), rule auto's valley
(``siren2.winner.valley``: three points, s1 ∈ {0} ∪ √(2/H)·{1, 4}) and, at each point, the `fast`
recipe compressed to each share of :data:`HORIZONS` of the fit's epochs, its training loss per epoch
(one record per signal under benchmarks/results/auto_horizon/, kept with ``--resume``). No full fit
is made here: each point's full fit is auto_valley.py's (matched by (s0, s1)). Each way to read the
races picks a point; the table gives the pick's full fit against `code` (adaptive.py's) and its
regret against the valley's best point. Readings: the lowest loss at one horizon (what rule auto
does, at 2.5%), the mean log-loss over the race's second half, the late slope extrapolated one race
further, and the sum of the lowest-loss ranks over three horizons (three races' cost).
Writes benchmarks/results/auto_horizon.md/.json.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace

import numpy as np
import torch
from _common import RESULTS, completed, machine, write_record, write_results
from adaptive import GENERATED_3D, ORDER, RGB, SHAPES, loaders, record_path
from auto_valley import valley_model

from siren2.runs import RACE_FRACTION
from siren2.train import FitConfig, fit
from siren2.winner import valley

RUNS = RESULTS / "auto_horizon"
POINTS = RESULTS / "auto_valley" / "points"
HORIZONS = ("0.015", "0.02", "0.025", "0.03")


def races(name: str, sig, resume: bool) -> dict:
    """The valley of ``sig``, each point's full-fit psnr_paper (auto_valley.py's) and its race losses."""
    path = RUNS / f"{name.replace('.', '_')}.json"
    if resume and path.exists():
        return json.loads(path.read_text())
    s = SHAPES[sig.in_dim]
    full = FitConfig.resolve(s["preset"], "fast", sig.in_dim, model="siren2", width=s["width"])
    known = [json.loads(p.read_text()) for p in sorted(POINTS.glob(f"{name.replace('.', '_')}__*.json"))]
    rec = {"signal": name, "code": json.loads(record_path(name, "code").read_text())["metrics"]["psnr_paper"],
           "points": []}
    for p in valley(valley_model(sig, 0.0, 0.0), sig):
        same = [k for k in known if math.isclose(k["s0"], p["s0"], rel_tol=1e-9)
                and math.isclose(k["s1"], p["s1"], rel_tol=1e-9, abs_tol=1e-12)]
        if not same:
            raise SystemExit(f"auto_horizon.py: {name}: no full fit at valley point ({p['s0']:.4g}, {p['s1']:.3g}) "
                             "among auto_valley.py's points; run it first")
        losses = {}
        for f in HORIZONS:
            short = replace(full, epochs=max(2, int(full.epochs * float(f))), patience=None, target_psnr=None,
                            time_budget=None, progress=False)
            losses[f] = completed(fit(valley_model(sig, p["s0"], p["s1"]), sig, short)).loss
        rec["points"].append({"s0": p["s0"], "s1": p["s1"], "psnr_paper": same[0]["psnr_paper"], "losses": losses})
    write_record(path, rec)
    return rec


def lowest(f: str):
    return lambda points: int(np.argmin([min(p["losses"][f]) for p in points]))


def mean_log(f: str):
    return lambda points: int(np.argmin([np.mean(np.log(p["losses"][f][len(p["losses"][f]) // 2:])) for p in points]))


def extrapolated(f: str):
    def pick(points):
        late = [np.log(p["losses"][f][len(p["losses"][f]) // 2:]) for p in points]
        return int(np.argmin([l[-1] + (l[-1] - l[0]) / (len(l) - 1) * 2 * len(l) for l in late]))
    return pick


def rank_sum(points) -> int:
    ranks = sum(np.argsort(np.argsort([min(p["losses"][f]) for p in points])) for f in HORIZONS[1:])
    return int(np.argmin(ranks))


READINGS = {**{f"lowest loss at {float(f):.1%}": lowest(f) for f in HORIZONS},
            **{f"mean log-loss, 2nd half, {float(f):.1%}": mean_log(f) for f in HORIZONS[1:3]},
            **{f"late slope extrapolated, {float(f):.1%}": extrapolated(f) for f in HORIZONS[1:3]},
            "rank sum over 2%, 2.5%, 3%": rank_sum}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resume", action="store_true", help="keep the finished signals' records")
    args = ap.parse_args()
    available = loaders()
    recs = [races(n, available[n](), args.resume) for n in ORDER if n in available and n not in GENERATED_3D]
    lines = ["# The race's horizon: which valley point each reading of the short fits picks", "",
             "SIREN² under `fast` (ours: 500 epochs audio, 2000 images), seed 0, adaptive.py's windows and widths "
             "(about 1 parameter per sample; RGB 0.35 per value); rule auto's three valley points (0: s1 = 0, 1: √(2/H), "
             "2: 4√(2/H)), each raced with the recipe compressed to a share of the epochs; psnr_paper (dB) of the full fit at "
             f"the pick (auto_valley.py's fits). Rule auto reads the lowest loss at {RACE_FRACTION:.1%}.", "",
             "| reading | picks (one digit per signal) | pick − code, mean | regret, mean | regret, worst "
             "| more than 0.5 dB under code (shared clips and images) |", "|---|---|---:|---:|---:|---|"]
    summary = {}
    for label, read in READINGS.items():
        picks = [read(r["points"]) for r in recs]
        got = [r["points"][k]["psnr_paper"] for r, k in zip(recs, picks)]
        regret = [max(p["psnr_paper"] for p in r["points"]) - g for r, g in zip(recs, got)]
        under = [f"{r['signal']} {g - r['code']:+.2f}" for r, g in zip(recs, got)
                 if g < r["code"] - 0.5 and r["signal"] not in RGB]
        summary[label] = {"picks": picks, "minus_code_mean": float(np.mean([g - r["code"] for r, g in zip(recs, got)])),
                          "regret_mean": float(np.mean(regret)), "regret_worst": float(max(regret)), "under_code": under}
        s = summary[label]
        lines.append(f"| {label} | {''.join(map(str, picks))} | {s['minus_code_mean']:+.2f} | {s['regret_mean']:.2f} | "
                     f"{s['regret_worst']:.2f} | {', '.join(under) or 'none'} |")
    lines += ["", "Signals, in the order of the digits: " + ", ".join(r["signal"] for r in recs) + ".", "",
              "| signal | code | point 0 | point 1 | point 2 |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['signal']} | {r['code']:.2f} | " + " | ".join(f"{p['psnr_paper']:.2f}" for p in r["points"]) + " |"
              for r in recs]
    write_results("auto_horizon", {"machine": machine(), "threads": torch.get_num_threads(), "summary": summary,
                                   "records": recs},
                  "\n".join(lines) + f"\n\nOn {machine()['processor']}, torch {torch.__version__}.\n")


if __name__ == "__main__":
    main()
