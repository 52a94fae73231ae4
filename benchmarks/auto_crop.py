"""Can a race on a crop pick (s0, s1)? Full-length fits of a small window, ranked against the full fits.

    python benchmarks/auto_crop.py --resume

Rule auto's race compresses the fit's recipe to 2.5% of its epochs, and on the grayscale images the full
fit's ranking of its candidates forms only at 30-70% of the epochs (auto_crossover.md). A proxy that
keeps the epochs and shrinks the problem instead: the central 64² of adaptive.py's 128² window, at the
coordinates its pixels have in the image (the same sample step, so s0 means the same), fitted by a
5 x 32 network (1.06 parameters per sample, as the full fit's 1.03; s1 scaled by √(64/32), SIREN's
hidden weight spread) with the `fast` recipe at its full 2000 epochs and compressed to 25%. Each of
auto_crossover.py's points (the valley's three, `code`, s0 x 2) gets both; the full fits' psnr are
auto_crossover's records, and one full fit at `code` is timed in this script for the cost ratio.
One record per signal under benchmarks/results/auto_crop/ (``--resume`` keeps them); writes
benchmarks/results/auto_crop.md/.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace

from _common import RESULTS, completed, machine, run_and_collect, write_record, write_results
from adaptive import SHAPES, loaders
from auto_crossover import RUNS as CROSSOVER, db
from paper import machine_line

from siren2 import create_model
from siren2.signal import crop
from siren2.train import FitConfig, fit

RUNS = RESULTS / "auto_crop"
SIGNALS = ("camera.png", "rock_512.jpg", "noise1.png")
SIDE, WIDTH = 64, 32  # the crop and its network's width (about one parameter per sample)
SHARES = (0.25, 1.0)  # the crop's fits, as shares of the full fit's epochs


def config(sig, width: int, share: float = 1.0) -> FitConfig:
    s = SHAPES[sig.in_dim]
    full = FitConfig.resolve(s["preset"], "fast", sig.in_dim, model="siren2", width=width)
    return replace(full, epochs=max(2, int(full.epochs * share)), patience=None, target_psnr=None,
                   time_budget=None, progress=False)


def timed_fit(sig, width: int, s0: float, s1: float, cfg: FitConfig) -> tuple[float, float, int]:
    s = SHAPES[sig.in_dim]
    model = create_model("siren2", sig, preset=s["preset"], seed=0, width=width, hidden_layers=s["hidden_layers"],
                         s0=s0, s1=s1)
    start = time.perf_counter()
    result = completed(fit(model, sig, cfg))
    return result.best_loss, time.perf_counter() - start, sum(p.numel() for p in model.parameters())


def run_signal(name: str, resume: bool) -> dict:
    path = RUNS / f"{name.replace('.', '_')}.json"
    if resume and path.exists():
        return json.loads(path.read_text())
    cross = json.loads((CROSSOVER / f"{name.replace('.', '_')}.json").read_text())
    sig = loaders()[name]()
    sub = crop(sig, tuple((n - SIDE) // 2 for n in sig.grid), (SIDE,) * sig.in_dim)
    width = SHAPES[sig.in_dim]["width"]
    timed_fit(sub, WIDTH, 0.0, 0.0, config(sub, WIDTH, 0.001))  # untimed warm-up
    code = next(p for p in cross["points"] if p["label"] == "code")
    _, full_seconds, full_params = timed_fit(sig, width, code["s0"], code["s1"], config(sig, width))
    rec = {"signal": name, "full_seconds": full_seconds, "full_params_per_sample": full_params / sig.num_points,
           "points": []}
    for p in cross["points"]:
        point = {k: p[k] for k in ("label", "s0", "s1")} | {"full_db": db(p["best_loss"])}
        for share in SHARES:
            loss, seconds, params = timed_fit(sub, WIDTH, p["s0"], p["s1"] * math.sqrt(width / WIDTH),
                                              config(sub, WIDTH, share))
            point[str(share)] = {"db": db(loss), "seconds": seconds}
        rec["crop_params_per_sample"] = params / sub.num_points
        rec["points"].append(point)
        print(f"{name} {p['label']}: full {point['full_db']:.2f}, crop "
              + ", ".join(f"{s:.0%} {point[str(s)]['db']:.2f}" for s in SHARES), flush=True)
    write_record(path, rec)
    return rec


def summary(rec: dict) -> dict:
    """Per share: the crop's pick, its full fit's regret against the best point and its gap to `code`,
    and the search's cost (all five crop fits) over the full fit's seconds."""
    points = rec["points"]
    best, code = max(p["full_db"] for p in points), next(p for p in points if p["label"] == "code")["full_db"]
    out = {}
    for share in map(str, SHARES):
        pick = max(points, key=lambda p: p[share]["db"])
        out[share] = {"pick": pick["label"], "regret_db": best - pick["full_db"], "minus_code_db": pick["full_db"] - code,
                      "cost": sum(p[share]["seconds"] for p in points) / rec["full_seconds"]}
    return out


def table(recs: list[dict]) -> str:
    lines = ["# A race on a crop: full-length fits of the central 64², ranked against the full fits", "",
             f"SIREN² under `fast` (ours: cosine, 2000 epochs on images), seed 0. Full fits: adaptive.py's central 128², "
             f"5 x 64 (1.03 parameters per sample), auto_crossover.py's records. Crop: the central {SIDE}² of that "
             f"window at its own coordinates (same sample step), 5 x {WIDTH} ({recs[0]['crop_params_per_sample']:.2f} "
             f"parameters per sample), s1 x √(64/{WIDTH}), the recipe at 25% and 100% of its epochs. dB: psnr_paper of "
             "the training loss (best state). `regret`: the best point's full fit − the pick's. `cost`: the five crop "
             "fits' seconds over one full fit's (at `code`, timed in the same script); rule auto's budget is 10%.", "",
             "| signal | point | s0 | s1 | full fit | crop 25% | crop 100% |", "|---|---|---:|---:|---:|---:|---:|"]
    for rec in recs:
        for p in rec["points"]:
            lines.append(f"| {rec['signal']} | {p['label']} | {p['s0']:.4g} | {p['s1']:.3g} | {p['full_db']:.2f} | "
                         f"{p['0.25']['db']:.2f} | {p['1.0']['db']:.2f} |")
    lines += ["", "| signal | crop race | pick | regret (dB) | pick − code (dB) | cost |", "|---|---|---|---:|---:|---:|"]
    for rec in recs:
        for share, s in summary(rec).items():
            lines.append(f"| {rec['signal']} | {float(share):.0%} of the epochs | {s['pick']} | {s['regret_db']:.2f} | "
                         f"{s['minus_code_db']:+.2f} | {s['cost']:.0%} |")
    lines += ["", f"On {machine_line()}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--signals", default=",".join(SIGNALS))
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    recs = run_and_collect(RUNS, args.signals.split(","), lambda name: run_signal(name, args.resume))
    if recs:
        write_results("auto_crop", {"machine": machine(), "records": recs,
                                    "summaries": {r["signal"]: summary(r) for r in recs}}, table(recs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
