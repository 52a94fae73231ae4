"""The gap at the paper's full audio protocol: what, if anything, brings SIREN² on relay.wav to the
paper's 71.73 dB (its one per-clip figure, dense network).

    python benchmarks/full_gap.py --resume
    python benchmarks/full_gap.py --runs paper:1000,fast:500,fast:2000,paper:4000 --resume

relay.wav's first 150,000 samples (divided by the whole file's peak, as the paper's code), the
paper's 4 x 222 SIREN² (149,185 parameters, 0.99 per sample), seed 0, one fit per run
``recipe:epochs``: ``paper`` is the paper's Adam 1e-4 with StepLR(20, 0.99) (1000 epochs is the
protocol; more epochs continue the same schedule), ``fast`` siren2's cosine recipe stretched over
the given epochs. Each fit is one JSON record under benchmarks/results/full_gap/runs/ (``--resume``
keeps finished ones; a fit takes about 1.1 s per epoch on 2 CPU cores). Writes
benchmarks/results/full_gap.md/.json and full_gap.png (best psnr_paper so far per epoch).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from _common import DATA, RESULTS, machine, write_results
from paper import machine_line

from siren2 import FitConfig, load_signal, plots
from siren2.suite import SuiteSpec, run_suite

PAPER_RELAY = 71.73  # SPEC §7: relay, SIREN², dense network (supplementary TT table)
RUNS = ("paper:1000", "fast:500", "fast:2000")
SHAPE = dict(width=222, hidden_layers=4)
MARKS = (100, 200, 500, 1000, 2000, 4000, 8000)


def parse_runs(text: str) -> list[tuple[str, int]]:
    runs = []
    for item in text.split(","):
        recipe, _, epochs = item.partition(":")
        if recipe not in ("paper", "fast") or not epochs.isdigit() or int(epochs) < 1:
            raise SystemExit(f"full_gap.py: bad run {item!r}: expected paper:EPOCHS or fast:EPOCHS")
        runs.append((recipe, int(epochs)))
    return runs


def spec_for(recipe: str, epochs: int) -> SuiteSpec:
    path = DATA / "audio" / "relay.wav"
    if not path.exists():
        raise SystemExit(f"full_gap.py: {path} not found (the paper's data lives in ../shared/data)")
    fit = FitConfig.resolve("paper_audio", recipe, 1, model="siren2", width=SHAPE["width"], epochs=epochs)
    return SuiteSpec(name=f"full_gap_{recipe}_{epochs}", signals={"relay.wav": lambda: load_signal(path, max_samples=150_000)},
                     models=["siren2"], seeds=[0], preset="paper_audio", epochs=epochs, recipe=recipe,
                     model_options=SHAPE,
                     settings={"samples": 150_000, "audio_peak": "whole file", **SHAPE, "recipe": recipe,
                               "epochs": epochs, "lr": fit.lr, "schedule": fit.schedule})


def row(label: str, rec: dict) -> dict:
    best = np.maximum.accumulate(np.asarray(rec["psnr_paper_per_epoch"], float))
    n = len(best)
    tail = max(1, n // 10)
    return {"run": label, "epochs": n, "best": float(best[-1]), "seconds": rec["seconds"],
            "at": {m: float(best[m - 1]) for m in MARKS if m <= n},
            "last_10pct_db_per_100_epochs": float((best[-1] - best[-1 - tail]) / tail * 100) if n > tail else None,
            "copied_from": rec.get("copied_from")}


def markdown(rows: list[dict], interrupted: bool) -> str:
    marks = [m for m in MARKS if any(m in r["at"] for r in rows)]
    lines = ["# The full audio protocol: SIREN² on relay.wav against the paper's 71.73 dB", "",
             "relay.wav, the first 150,000 samples (divided by the whole file's peak), 4 x 222 SIREN² (149,185 "
             "parameters, 0.99 per sample), seed 0. Best psnr_paper so far (10·log10(1/MSE) on [-1, 1]) at each "
             "epoch mark; the last column is the rise over the run's last 10% of epochs.", "",
             "| run | " + " | ".join(f"epoch {m}" for m in marks) + " | best | seconds | dB per 100 epochs at the end |",
             "|---|" + "---:|" * (len(marks) + 3)]
    for r in rows:
        rise = r["last_10pct_db_per_100_epochs"]
        lines.append(f"| {r['run']} | " + " | ".join(f"{r['at'][m]:.2f}" if m in r["at"] else "–" for m in marks)
                     + f" | **{r['best']:.2f}** | {r['seconds']:.0f} | {'–' if rise is None else f'{rise:+.2f}'} |")
    lines.append("| paper (SPEC §7) | " + " | ".join("" for _ in marks) + f" | {PAPER_RELAY:.2f} | | |")
    lines += [f"\n`{r['run']}`: the record is {r['copied_from']}." for r in rows if r.get("copied_from")]
    top = max(rows, key=lambda r: r["best"])
    lines += ["", f"Closest: {top['run']}, {top['best']:.2f} dB, {PAPER_RELAY - top['best']:.2f} dB short of the paper.",
              "", f"On {machine_line()}." + (" Interrupted: the table holds what finished." if interrupted else "")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="SIREN² on relay.wav at the full protocol, longer and with other recipes.")
    p.add_argument("--runs", default=",".join(RUNS), help="recipe:epochs, comma-separated (default: %(default)s)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--device", default=None)
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    rows, curves, interrupted = [], {}, False
    for recipe, epochs in parse_runs(args.runs):
        label = f"{recipe}, {epochs} epochs"
        recs, interrupted = run_suite(spec_for(recipe, epochs), args.results / "full_gap" / "runs" / f"{recipe}_{epochs}",
                                      resume=args.resume, device=args.device)
        for rec in recs:
            rows.append(row(label, rec))
            curves[label] = list(np.maximum.accumulate(rec["psnr_paper_per_epoch"]))
            print(f"{label}: best psnr_paper {rows[-1]['best']:.2f} dB in {rec['seconds']:.0f} s", flush=True)
        if interrupted:
            break
    if not rows:
        print("no finished fit")
        return 130 if interrupted else 1
    md = markdown(rows, interrupted)
    for path in write_results("full_gap", {"machine": machine(), "paper_relay": PAPER_RELAY, "rows": rows,
                                           "interrupted": interrupted}, md, args.results):
        print(path)
    plots.suite_curves({"relay.wav": curves}, args.results / "full_gap.png",
                       title="relay.wav, full protocol, SIREN²: best psnr_paper so far per epoch",
                       targets={"relay.wav": PAPER_RELAY})
    print(md)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
