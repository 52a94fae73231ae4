"""Fit one clip from ../shared/data/audio with SIREN and SIREN² (paper_audio) and record PSNR and time per epoch.

    python benchmarks/fit_clip.py --clip relay.wav --epochs 100 --seed 0
"""

from __future__ import annotations

import argparse
import sys

from _common import DATA, machine, write_results, completed

from siren2 import FitConfig, load_signal
from siren2.runs import run_fit


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clip", default="relay.wav")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-samples", type=int, default=150_000)
    p.add_argument("--models", default="siren,siren2")
    p.add_argument("--device", default=None)
    args = p.parse_args()
    path = DATA / "audio" / args.clip
    if not path.exists():
        print(f"fit_clip: {path} not found (the paper's clips live in ../shared/data/audio)", file=sys.stderr)
        return 2
    signal = load_signal(path, max_samples=args.max_samples)
    runs = {}
    for name in args.models.split(","):
        cfg = FitConfig.resolve("paper_audio", "paper", epochs=args.epochs, seed=args.seed, device=args.device, progress=True)
        run = run_fit(signal, name, preset="paper_audio", fit_config=cfg)
        completed(run.result)
        runs[name] = {
            "psnr_paper_final_model": run.metrics["psnr_paper"],
            "psnr_paper_best_epoch": run.result.best_psnr,
            "snr": run.metrics["snr"],
            "lsd": run.metrics["lsd"],
            "seconds_per_epoch": run.result.seconds_per_epoch,
            "parameters": run.config["model"]["parameters"],
            "winner": run.config["model"]["winner"],
            "engine": run.result.engine,
            "device": run.result.device,
            "psnr_paper_per_epoch": run.result.psnr_history,
        }
        print(f"{name}: psnr_paper {run.metrics['psnr_paper']:.2f} dB, {run.result.seconds_per_epoch:.3f} s/epoch")
    stem = f"fit_clip_{path.stem}_{args.epochs}ep_seed{args.seed}"
    data = {"clip": args.clip, "samples": signal.num_points, "epochs": args.epochs, "seed": args.seed,
            "preset": "paper_audio", "machine": machine(), "runs": runs}
    lines = [f"# {args.clip}: first {signal.num_points} samples, paper_audio, {args.epochs} epochs, seed {args.seed}", "",
             "psnr_paper = 10·log10(1/MSE) on [-1, 1] audio (the paper's PSNR), of the best state by training loss.", "",
             "| model | psnr_paper (dB) | SNR (dB) | LSD (dB) | s/epoch | parameters | ψ | s0 | s1 | engine |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in runs.items():
        w = r["winner"] or {}
        fmt = lambda v, f: format(v, f) if v is not None else "–"  # noqa: E731
        lines.append(f"| {name} | {r['psnr_paper_final_model']:.2f} | {r['snr']:.2f} | {r['lsd']:.2f} | "
                     f"{r['seconds_per_epoch']:.3f} | {r['parameters']:,} | {fmt(w.get('psi'), '.3f')} | "
                     f"{fmt(w.get('s0'), '.0f')} | {fmt(w.get('s1'), '.2f')} | {r['engine']} |")
    lines += ["", f"Machine: {data['machine']}"]
    for p in write_results(stem, data, "\n".join(lines) + "\n"):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
