"""A whole file through `siren2 denoise`: window by window (the default for long audio) against one fit.

    python benchmarks/restore_long.py --resume                  # tap.wav, both ways
    python benchmarks/restore_long.py --signals tap.wav,relay.wav --modes windowed --resume

Each shared clip, whole (all its samples and channels), with white Gaussian noise of σ 0.05 on the
[-1, 1] scale (seed 0; clipped to [-1, 1] and written as a float wav, as a user's file would be),
goes through the command a user runs, `siren2 denoise FILE --out DIR --quiet` (its defaults: SIREN²,
hold-out stopping, at most one parameter per sample, the s0 and band-prior searches, the shrinkage;
recipe `fast`, ours), in-process, timed on the wall clock: ``windowed`` as the command does by default
(windows of 30,000 samples at the paper's sample step, siren2.restoration.restore_windowed) and
``whole`` with ``--window 0`` (one fit of the whole file, the command before windows). psnr_paper of
the output file against the clean file. One JSON record per (signal, mode) under
benchmarks/results/restore_long/ (``--resume`` keeps them); writes benchmarks/results/restore_long.md/.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import DATA, RESULTS, machine, write_record, write_results
from paper import machine_line

from siren2.cli import main as cli
from siren2.metrics import psnr_paper

RUNS = RESULTS / "restore_long"
MODES = {"windowed": [], "whole": ["--window", "0"]}
SIGMA, SEED = 0.05, 0


def run_one(name: str, mode: str, resume: bool) -> dict:
    path = RUNS / f"{Path(name).stem}_{mode}.json"
    if resume and path.exists():
        return json.loads(path.read_text())
    clean, rate = sf.read(str(DATA / "audio" / name), dtype="float32", always_2d=True)
    noisy = np.clip(clean + np.random.default_rng(SEED).normal(0, SIGMA, clean.shape), -1, 1).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / name, Path(tmp) / "out"
        sf.write(str(src), noisy, rate, subtype="FLOAT")
        t0 = time.perf_counter()
        code = cli(["denoise", str(src), "--out", str(out), "--quiet", *MODES[mode]])
        seconds = time.perf_counter() - t0
        if code != 0:
            raise SystemExit(f"restore_long.py: siren2 denoise {name} ({mode}) exited {code}")
        restored, _ = sf.read(str(out / "reconstruction.wav"), dtype="float32", always_2d=True)
        config = json.loads((out / "config.json").read_text())
    rec = {"signal": name, "mode": mode, "samples": clean.shape[0], "channels": clean.shape[1], "sample_rate": rate,
           "sigma": SIGMA, "seed": SEED, "seconds": seconds, "psnr_input": psnr_paper(clean, noisy),
           "psnr_output": psnr_paper(clean, restored),
           "windows": config["restoration"].get("windows", {"count": 1, "size": clean.shape[0]})}
    write_record(path, rec, indent=1)
    return rec


def table(records: list[dict]) -> list[str]:
    lines = ["| signal | samples x channels | mode | windows | wall time | psnr_paper: input → output | "
             "time / windowed |", "|---|---|---|---:|---:|---|---:|"]
    for r in records:
        base = next((b for b in records if b["signal"] == r["signal"] and b["mode"] == "windowed"), None)
        ratio = f"{r['seconds'] / base['seconds']:.1f}x" if base else "–"
        lines.append(f"| {r['signal']} | {r['samples']:,} x {r['channels']} | {r['mode']} | {r['windows']['count']} | "
                     f"{r['seconds'] / 60:.1f} min | {r['psnr_input']:.2f} → {r['psnr_output']:.2f} | {ratio} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--signals", default="tap.wav")
    p.add_argument("--modes", default="windowed,whole")
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    interrupted = False
    try:
        for name in args.signals.split(","):
            for mode in args.modes.split(","):
                r = run_one(name, mode, args.resume)
                print(f"{name} {mode}: {r['seconds']:.0f} s, {r['psnr_input']:.2f} → {r['psnr_output']:.2f} dB",
                      flush=True)
    except KeyboardInterrupt:
        interrupted = True
    records = [json.loads(f.read_text()) for f in sorted(RUNS.glob("*.json"))] if RUNS.is_dir() else []
    md = "\n".join([
        "# A whole file through `siren2 denoise`: window by window against one fit", "",
        f"Each clip whole, white Gaussian noise σ {SIGMA} (seed {SEED}, clipped to [-1, 1]), through `siren2 denoise` "
        "with its defaults (SIREN², hold-out stopping, at most 1 parameter per sample, the s0 and band-prior searches, "
        "the shrinkage; recipe `fast`, ours, at most 500 epochs per fit, stopped after 100 without a better held-out "
        "error): `windowed`, the default for long audio (30,000-sample windows at the "
        "paper's sample step, 2,048 overlapping, cross-faded), and `whole`, one fit of the whole file (`--window 0`). "
        "Wall time of the command; psnr_paper of the output file against the clean file. One seed.", "",
        *table(records), "",
        f"On {machine_line()}." + (" Interrupted: the table holds what finished." if interrupted else "")]) + "\n"
    for path in write_results("restore_long", {"machine": machine(), "records": records}, md):
        print(path)
    print(md)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
