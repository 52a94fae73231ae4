"""Can the alias-aware spectral match pick s0 along a path free of fitted constants? The (s0, s1) valley.

    python benchmarks/auto_valley.py --resume     # needs benchmarks/results/adaptive/runs (adaptive.py)

auto_layers.py found the alias-aware distance (read at the last hidden layer, up to 2Ω:
``siren2.winner.oversampled``) the best criterion on the oracle grid, but that grid holds s1 at the
`code` rule's value, a fitted constant. Here s1 is not given. For every shared clip and image and the
RGB images of adaptive.py (same windows, widths and seed), at each s1 of four, {0} ∪ √(2/H)·{1, 4, 16}
(H the width), s0 is the candidate of ``siren2.winner.s0_candidates``
(Ω·2^(−k/2), all 25 scanned) whose last layer at initialization is closest to the target's spectrum at 2Ω. The four
points are the *valley*: the distance at its bottom barely moves with s1 while the best s0 falls as s1
rises. Two ways to pick on it, each with a full fit at its pick (adaptive.py's settings, one record
per signal and choice under benchmarks/results/auto_valley/runs/, kept with ``--resume``):

- ``s1 = 0``: WINNER's first-layer noise alone, s0 from the match (no constant at all);
- ``valley race``: the four points each train the `fast` recipe compressed to 2.5% of the fit's
  epochs (10% of a fit in all), the lowest training loss picks.

Compared with adaptive.py's full fits: `code`, rule `auto` and the grid oracle (s0 = code × {0.5, 1,
2, 4, 8} at the rule's s1). Then the race's horizon: rule auto's own valley (``siren2.winner.valley``)
raced at 0.5–2.5% of the epochs, which point each horizon picks (no full fits; one record per signal
under benchmarks/results/auto_valley/horizon/), and the full fit at each of its points (a fit already
made at the same (s0, s1), rule auto's in adaptive.py or `s1 = 0` here, is reused; one record per
point under benchmarks/results/auto_valley/points/): how far each picker is from the valley's best.
The records hold rule auto's valley when they ran (four points, every other s0 candidate, the full
window: ``S1``, the `auto v2` records of adaptive.py); a fresh run studies today's rule.
Writes benchmarks/results/auto_valley.md/.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace

import numpy as np
import torch
from _common import RESULTS, machine, write_results, completed
from adaptive import RGB, SHAPES, loaders, record_path, run_one
from auto_race import grid_signals

from siren2 import create_model
from siren2.train import FitConfig, fit
from siren2.winner import AUTO_UNITS, axis_spectra, oversampled, s0_candidates, spectrum_distance
from siren2.winner import valley as rule_valley

RUNS = RESULTS / "auto_valley" / "runs"
FRACTION = 0.025  # of the fit's epochs, per valley point
HORIZONS = (0.005, 0.01, 0.015, 0.02, 0.025)
S1 = (0.0, 1.0, 4.0, 16.0)  # the valley studied, in units of √(2/H) (rule auto's until it dropped 16)
AUTO = "auto v2"  # rule auto when this study ran (four valley points raced at 2.5%): adaptive.py's records


def valley_model(sig, s0: float, s1: float):
    s = SHAPES[sig.in_dim]
    return create_model("siren2", sig, preset=s["preset"], seed=0, width=s["width"],
                        hidden_layers=s["hidden_layers"], s0=s0, s1=s1)


@torch.no_grad()
def valley(sig) -> list[dict]:
    """At each s1 of the four, the s0 candidate whose last layer is closest to the target at 2Ω."""
    coords, _, target = oversampled(sig, line=None)  # the central half, as studied
    s0s, base = s0_candidates(sig), math.sqrt(2.0 / SHAPES[sig.in_dim]["width"])
    points = []
    for s1 in (base * k for k in S1):  # {0} ∪ √(2/H)·{1, 4, 16}
        distances = []
        for s0 in s0s:
            m = valley_model(sig, s0, s1)
            g = m.encoding(coords)
            for block in m.hidden:
                g = block(g)
            distances.append(spectrum_distance(axis_spectra(g[:, :AUTO_UNITS], sig.grid), target))
        i = int(np.argmin(distances))
        points.append({"s0": s0s[i], "s1": s1, "distance": distances[i]})
    return points


def run(name: str, sig, resume: bool) -> dict:
    """The valley, its race, and the full fits at s1 = 0 and at the race's pick (one record)."""
    path = RUNS / f"{name.replace('.', '_')}.json"
    if resume and path.exists():
        return json.loads(path.read_text())
    s = SHAPES[sig.in_dim]
    start = time.perf_counter()
    points = valley(sig)
    search = time.perf_counter() - start
    full = FitConfig.resolve(s["preset"], "fast", sig.in_dim, model="siren2", width=s["width"])
    short = FitConfig.resolve(s["preset"], "fast", sig.in_dim, model="siren2", width=s["width"],
                              epochs=max(2, int(full.epochs * FRACTION)))
    start = time.perf_counter()
    for p in points:
        p["short_psnr"] = 10 * math.log10(1 / completed(fit(valley_model(sig, p["s0"], p["s1"]), sig, short)).best_loss)
    race = time.perf_counter() - start
    pick = max(points, key=lambda p: p["short_psnr"])
    fits = {label: run_one(name, sig, label, "siren2", {"s0": p["s0"], "s1": p["s1"]})
            for label, p in (("s1 = 0", points[0]), ("valley race", pick))}
    rec = {"signal": name, "valley": points, "search_seconds": search, "race_seconds": race,
           "fits": {k: {"s0": v["winner"]["s0"], "s1": v["winner"]["s1"], "fit_seconds": v["fit_seconds"]} | v["metrics"]
                    for k, v in fits.items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, default=float))
    return rec


def horizon(name: str, sig, resume: bool) -> dict:
    """Which of rule auto's valley points a race at each of :data:`HORIZONS` picks, and its seconds."""
    path = RESULTS / "auto_valley" / "horizon" / f"{name.replace('.', '_')}.json"
    if resume and path.exists():
        return json.loads(path.read_text())
    s = SHAPES[sig.in_dim]
    points = rule_valley(valley_model(sig, 0.0, 0.0), sig)
    full = FitConfig.resolve(s["preset"], "fast", sig.in_dim, model="siren2", width=s["width"])
    rec = {"signal": name, "valley": points, "picks": {}}
    for fraction in HORIZONS:
        short = replace(full, epochs=max(2, int(full.epochs * fraction)))
        start = time.perf_counter()
        losses = [fit(valley_model(sig, p["s0"], p["s1"]), sig, short).best_loss for p in points]
        rec["picks"][str(fraction)] = {"point": int(np.argmin(losses)), "seconds": time.perf_counter() - start}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, default=float))
    return rec


def point_fits(name: str, sig, hor: dict, known: list[dict], resume: bool) -> list[float]:
    """psnr_paper of the full fit at each of rule auto's valley points (``hor["valley"]``); ``known``:
    fits made elsewhere, each with s0, s1 and psnr_paper, reused where (s0, s1) match."""
    out = []
    for k, p in enumerate(hor["valley"]):
        path = RESULTS / "auto_valley" / "points" / f"{name.replace('.', '_')}__{k}.json"
        if not (resume and path.exists()):
            same = [f for f in known if math.isclose(f["s0"], p["s0"], rel_tol=1e-9, abs_tol=1e-12)
                    and math.isclose(f["s1"], p["s1"], rel_tol=1e-9, abs_tol=1e-12)]
            rec = ({"s0": p["s0"], "s1": p["s1"], "psnr_paper": same[0]["psnr_paper"], "reused": True} if same else
                   {"s0": p["s0"], "s1": p["s1"], "reused": False} | run_one(name, sig, f"valley {k}", "siren2",
                                                                             {"s0": p["s0"], "s1": p["s1"]})["metrics"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(rec, default=float))
        out.append(json.loads(path.read_text())["psnr_paper"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resume", action="store_true", help="keep the finished signals' records")
    args = ap.parse_args()
    rows, lines = [], []
    for sig, recs, row in grid_signals(AUTO):
        rec = run(row["signal"], sig, args.resume)
        code, oracle = row["final"][1.0], max(row["final"].values())
        auto = oracle - row["regret"]["auto"]
        fits = {k: v["psnr_paper"] for k, v in rec["fits"].items()}
        cost = (rec["search_seconds"] + rec["race_seconds"]) / rec["fits"]["valley race"]["fit_seconds"]
        rows.append(rec | {"code": code, "oracle": oracle, "auto": auto, "cost": cost, "code_s0": recs[1.0]["winner"]["s0"]})
        pts = " ".join(f"({p['s1']:.2g}: x{p['s0'] / recs[1.0]['winner']['s0']:.2g}, {p['distance']:.3f}, {p['short_psnr']:.1f})"
                       for p in rec["valley"])
        lines.append(f"| {row['signal']} | {code:.2f} | {auto:.2f} | {oracle:.2f} (x{row['oracle_at']:g}) | "
                     f"{fits['s1 = 0']:.2f} | {fits['valley race']:.2f} | {fits['s1 = 0'] - code:+.2f} | "
                     f"{fits['valley race'] - code:+.2f} | {cost:.1%} | {pts} |")
        print(lines[-1], flush=True)
    mean = lambda xs: float(np.mean(xs))  # noqa: E731
    summary = {}
    for label in ("s1 = 0", "valley race"):
        gap = {r["signal"]: r["fits"][label]["psnr_paper"] - r["code"] for r in rows}
        summary[label] = {"minus_code_mean": mean(list(gap.values())),
                          "minus_code_rgb_mean": mean([gap[n] for n in RGB if n in gap]),
                          "minus_oracle_mean": mean([r["fits"][label]["psnr_paper"] - r["oracle"] for r in rows]),
                          "under_code_by_0.5": [f"{n} {g:+.2f}" for n, g in gap.items() if g < -0.5 and n not in RGB]}
    summary["auto"] = {"minus_code_mean": mean([r["auto"] - r["code"] for r in rows]),
                       "minus_oracle_mean": mean([r["auto"] - r["oracle"] for r in rows])}
    md = ["# Rule auto along the (s0, s1) valley: s1 = 0, and a race of short fits along it", "",
          "SIREN² under `fast` (ours, not the paper's recipe: 500 epochs audio and 3-D, 2000 images), seed 0, adaptive.py's windows and widths (about 1 parameter per sample; RGB 0.35 per "
          "value); psnr_paper (dB) of full fits. `code`, `auto` and the grid oracle (s0 = code × {0.5, 1, 2, 4, 8} at "
          "the rule's s1) are adaptive.py's fits. Valley: at s1 ∈ {0} ∪ √(2/H)·{1, 4, 16}, the s0 whose last layer at "
          "initialization is closest to the target's spectrum at 2Ω. `s1 = 0`: the full fit at the first valley "
          f"point; `valley race`: at the point whose short fit ({FRACTION:.1%} of the epochs) reached the lowest loss. "
          "`cost`: valley search and race over the full fit's seconds.", "",
          "| signal | code | auto | oracle (at) | s1 = 0 | valley race | s1 = 0 − code | race − code | cost "
          "| valley (s1: s0 as x code, distance, short-fit psnr) |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|", *lines, ""]
    for label, s in summary.items():
        md.append(f"- {label}: − code, mean {s['minus_code_mean']:+.2f} dB"
                  + (f"; RGB mean {s['minus_code_rgb_mean']:+.2f}" if "minus_code_rgb_mean" in s else "")
                  + f"; − oracle, mean {s['minus_oracle_mean']:+.2f}"
                  + (f"; more than 0.5 dB under code on: {', '.join(s['under_code_by_0.5']) or 'none'}"
                     if "under_code_by_0.5" in s else "") + ".")
    md += ["", f"Cost, median: {np.median([r['cost'] for r in rows]):.1%} of a fit."]
    md += ["", "3-D (no `code` rule; adaptive.py's grid is s0 = Ω/{16, 8, 4, 2} at auto's s1, and SIREN, ω_first 30):", "",
           "| signal | SIREN | auto | grid best (at) | s1 = 0 | valley race | race − auto | cost | iou SIREN / auto / race |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    available, solid = loaders(), []
    for name in ("volume", "shape"):
        if name not in available or not record_path(name, AUTO).exists():
            continue
        rec = run(name, available[name](), args.resume)
        ref = {label: json.loads(record_path(name, label).read_text())["metrics"]
               for label in ("siren", AUTO, *(f"s0 Ω/{k}" for k in (16, 8, 4, 2)))}
        grid = max((k for k in ref if k.startswith("s0")), key=lambda k: ref[k]["psnr_paper"])
        fits = {k: v["psnr_paper"] for k, v in rec["fits"].items()}
        cost = (rec["search_seconds"] + rec["race_seconds"]) / rec["fits"]["valley race"]["fit_seconds"]
        iou = " / ".join(f"{m['iou']:.3f}" for m in (ref["siren"], ref[AUTO], rec["fits"]["valley race"])
                         if "iou" in m) or "–"
        md.append(f"| {name} | {ref['siren']['psnr_paper']:.2f} | {ref['auto']['psnr_paper']:.2f} | "
                  f"{ref[grid]['psnr_paper']:.2f} ({grid[3:]}) | {fits['s1 = 0']:.2f} | {fits['valley race']:.2f} | "
                  f"{fits['valley race'] - ref['auto']['psnr_paper']:+.2f} | {cost:.1%} | {iou} |")
        solid.append(rec)
    md += ["", "The race's horizon: the valley point (0–3, s1 rising) that a race at each share of the epochs picks on "
           "rule auto's own valley (`siren2.winner.valley`); rule auto races at 2.5%.", "",
           "| signal | " + " | ".join(f"{f:.1%}" for f in HORIZONS) + " |", "|---|" + "---:|" * len(HORIZONS)]
    horizons = [horizon(name, make(), args.resume) for name, make in available.items() if name in
                [r["signal"] for r in rows] + [r["signal"] for r in solid]]
    for h in horizons:
        md.append(f"| {h['signal']} | " + " | ".join(str(h["picks"][str(f)]["point"]) for f in HORIZONS) + " |")
    md.append("| **differs from 2.5%** | " + " | ".join(
        str(sum(h["picks"][str(f)]["point"] != h["picks"][str(FRACTION)]["point"] for h in horizons)) for f in HORIZONS) + " |")
    md += ["", "Full fits at each of rule auto's valley points (the 14 shared and RGB signals): psnr_paper, the valley's "
           "best, and the regret (valley best − the pick's fit, dB) of each way to pick a point: the race at each horizon, "
           "the closest spectrum (no training), and always the same point.", "",
           "| signal | code | point 0 | point 1 | point 2 | point 3 | valley best − code |", "|---|---:|---:|---:|---:|---:|---:|"]
    pickers = {f"race {f:.1%}": (lambda h, f=f: h["picks"][str(f)]["point"]) for f in HORIZONS}
    pickers["closest"] = lambda h: int(np.argmin([p["distance"] for p in h["valley"]]))
    pickers |= {f"always {k}": (lambda h, k=k: k) for k in range(min(len(h["valley"]) for h in horizons))}
    regrets = {k: [] for k in pickers}
    for r in rows:
        h = next(h for h in horizons if h["signal"] == r["signal"])
        known = list(r["fits"].values())
        auto_rec = json.loads(record_path(r["signal"], AUTO).read_text())
        known.append({"s0": auto_rec["winner"]["s0"], "s1": auto_rec["winner"]["s1"],
                      "psnr_paper": auto_rec["metrics"]["psnr_paper"]})
        psnrs = point_fits(r["signal"], available[r["signal"]](), h, known, args.resume)
        r["valley_fits"] = psnrs
        for k, pick in pickers.items():
            regrets[k].append(max(psnrs) - psnrs[pick(h)])
        md.append(f"| {r['signal']} | {r['code']:.2f} | " + " | ".join(f"{x:.2f}" for x in psnrs)
                  + f" | {max(psnrs) - r['code']:+.2f} |")
    md += ["", "| picker | mean regret (dB) | worst (dB) |", "|---|---:|---:|"]
    md += [f"| {k} | {np.mean(v):.2f} | {max(v):.2f} |" for k, v in regrets.items()]
    md += ["", f"On {machine()['processor']}, torch {machine()['torch']}."]
    write_results("auto_valley", {"machine": machine(), "summary": summary, "rows": rows, "rows_3d": solid,
                                  "horizons": horizons},
                  "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
