"""Restoration benchmark (issue 5): SIREN vs SIREN² and the corrupted input over seeds, scored against the clean.

    python benchmarks/restore.py                                  # camera-noise, relay-noise, relay-missing
    python benchmarks/restore.py --task relay-noise --epochs 300 --seeds 0,1,2 --stop holdout

Tasks: camera.png (box-downsampled 2x2 to 256x256 to fit a CPU budget) with Gaussian noise σ = 0.1;
relay.wav (first 30,000 samples, mono mix) with σ = 0.05, and with 30% of the samples missing.
Writes benchmarks/results/restore_<task>.md and .json.
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import DATA, machine, write_results

from siren2 import Signal, load_signal
from siren2.restoration.corruptions import CorruptionSpec
from siren2.restoration.evaluation import evaluate

TASKS = {
    "camera-noise": dict(path="images/camera.png", spec=CorruptionSpec("noise_std", 0.1), downsample=2, epochs=150),
    "relay-noise": dict(path="audio/relay.wav", spec=CorruptionSpec("noise_std", 0.05), max_samples=30_000, epochs=200),
    "relay-missing": dict(path="audio/relay.wav", spec=CorruptionSpec("missing", 0.3), max_samples=30_000, epochs=200),
}


def box_downsample(signal: Signal, factor: int) -> Signal:
    """Mean over factor x factor blocks of an image (its values stay in [-1, 1])."""
    (h, w), c = signal.grid, signal.channels
    h2, w2 = h // factor, w // factor
    v = signal.values.reshape(h, w, c)[: h2 * factor, : w2 * factor]
    v = v.reshape(h2, factor, w2, factor, c).mean(axis=(1, 3))
    return Signal(values=v.reshape(h2 * w2, -1), grid=(h2, w2), kind="image", bit_depth=signal.bit_depth,
                  source=f"{signal.source} ({factor}x{factor} box-downsampled to {h2}x{w2})")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=[*TASKS, "all"], default="all")
    p.add_argument("--models", default="siren,siren2")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, help="override every task's budget")
    p.add_argument("--stop", choices=["fixed", "holdout"], default="fixed")
    p.add_argument("--patience", type=int, help="holdout: epochs without improvement (default: siren2.restoration.PATIENCE)")
    p.add_argument("--width", type=int, help="hidden width of every model (default: the preset's)")
    p.add_argument("--device", default=None)
    args = p.parse_args()
    models, seeds = args.models.split(","), [int(s) for s in args.seeds.split(",")]
    options = [f"--{k} {v}" for k, v in vars(args).items() if k != "task" and v != p.get_default(k)]
    for name in TASKS if args.task == "all" else [args.task]:
        task = TASKS[name]
        path = DATA / task["path"]
        if not path.exists():
            print(f"restore: {path} not found (the paper's data live in ../shared/data)", file=sys.stderr)
            return 2
        clean = load_signal(path, max_samples=task.get("max_samples"))
        if "downsample" in task:
            clean = box_downsample(clean, task["downsample"])
        epochs = args.epochs or task["epochs"]
        fit_options = dict(epochs=epochs, device=args.device) | ({"patience": args.patience} if args.patience else {})
        print(f"{name}: {clean.num_points:,} points, {task['spec'].label()}, {epochs} epochs, stop {args.stop}")
        start = time.perf_counter()
        shape = {"width": args.width} if args.width else None
        ev = evaluate(clean, task["spec"], models, seeds, stop=args.stop, recipe="paper", fit_options=fit_options,
                      model_options=shape,
                      on_run=lambda m, s, run: print(f"  {m:<8} seed {s}: psnr_paper {run.metrics['psnr_paper']:.2f} dB"
                                                     f" ({len(run.result.loss)} epochs, {run.result.seconds:.0f} s)",
                                                     flush=True))
        wall = time.perf_counter() - start
        spec = task["spec"]
        stem = (f"restore_{name.split('-')[0]}_{spec.kind}{spec.value:g}"
                + (f"_{args.stop}" if args.stop != "fixed" else "") + (f"_w{args.width}" if args.width else ""))
        title = f"# Restoration: {path.name}, {spec.label()}, {args.stop} stopping"
        md = (f"{title}\n\n{ev.table()}\nWall time {wall / 60:.1f} min on {machine()['processor']}, "
              f"{machine()['cpu_threads']} threads, torch {machine()['torch']}. "
              f"Regenerate: `{' '.join(['python benchmarks/restore.py --task', name, *options])}`.\n")
        data = ev.to_json() | {"task": name, "wall_seconds": wall, "machine": machine(), "argv": sys.argv[1:]}
        for out in write_results(stem, data, md):
            print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
