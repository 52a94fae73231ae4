"""Reproduce the paper's tables: audio fitting, image fitting (SPEC §5, §7), with seeds and resume.

    python benchmarks/paper.py audio --scale quick --seeds 0,1,2
    python benchmarks/paper.py image --scale quick --seeds 0,1,2 --resume
    python benchmarks/paper.py audio --scale full --seeds 0 --clips relay.wav --models siren,siren2
    siren2 bench paper audio --scale quick        # the same, from the command line

Scales:
  full   the paper's protocol: audio the first 150,000 samples, 1000 epochs (paper_audio);
         images 512x512, 4000 epochs (paper_image).
  quick  a reduction for a 2-core CPU, with the same models, presets (network shape, lr,
         schedule) and WINNER rules: audio the first 8,000 samples, 200 epochs; images
         area-downsampled to 128x128, 200 epochs. The same networks on fewer samples hold more
         parameters per sample than the paper's (~1 per sample), so absolute numbers are not the
         paper's; the comparison between models on the same budget is the point.

Each finished fit is one JSON record under benchmarks/results/paper_<suite>_<scale>/runs/;
``--resume`` keeps complete records made with the same settings and reruns the rest (missing,
corrupted, partial or stale). Writes benchmarks/results/paper_<suite>_<scale>.md/.json and
figures (PSNR per epoch per signal, per-signal bar chart) beside them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _common import DATA, RESULTS, machine, write_results

from siren2 import FitConfig, load_signal, plots
from siren2.compare import check_models, check_seeds
from siren2.metrics import CONVENTIONS
from siren2.models import create_model
from siren2.signals import Signal
from siren2.suite import SuiteSpec, aggregate, curves, fmt, run_suite
from siren2.train import fit

MODELS = ["siren", "siren2", "finer", "finer++", "wire", "gauss", "relu_pe", "siren_rff"]
SCALES = {
    "audio": {"full": dict(max_samples=150_000, epochs=1000), "quick": dict(max_samples=8_000, epochs=200)},
    "image": {"full": dict(size=512, epochs=4000), "quick": dict(size=128, epochs=200)},
}
PRESETS = {"audio": "paper_audio", "image": "paper_image"}
METRICS = {"audio": ["psnr_paper", "snr", "lsd"], "image": ["psnr_paper", "psnr", "ssim"]}
# SPEC §7, second-hand from a pre-v1 draft: psnr_paper (dB), mean over clips (audio: over 12 clips,
# 4 of which are not available here) and 5 seeds.
PAPER = {
    "audio": {"mean": {"siren2": 64.5, "finer++": 56.5, "siren": 34.8}},
    "image": {"camera.png": {"siren2": 44.9, "siren": 38.9}, "noise1.png": {"siren2": 36.1, "siren": 21.3}},
}


def area_downsample(signal: Signal, size: int) -> Signal:
    """Average f×f pixel blocks (f = side / size): the whole image at a lower resolution."""
    h, w = signal.grid
    f = h // size
    if f <= 1:
        return signal
    hh, ww = h // f, w // f
    v = signal.values.reshape(h, w, -1)[: hh * f, : ww * f]
    v = v.reshape(hh, f, ww, f, -1).mean(axis=(1, 3))
    return Signal(values=v.reshape(hh * ww, -1), grid=(hh, ww), kind="image", bit_depth=signal.bit_depth,
                  source=signal.source, meta=signal.meta | {"downsampled_from": [h, w]})


def signal_loaders(suite: str, scale: dict, names: list[str] | None) -> dict:
    folder = DATA / ("audio" if suite == "audio" else "images")
    if not folder.is_dir():
        raise SystemExit(f"paper.py: {folder} not found (the paper's data lives in ../shared/data)")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if names:
        missing = [n for n in names if not (folder / n).exists()]
        if missing:
            raise SystemExit(f"paper.py: not in {folder}: {', '.join(missing)}")
        files = [folder / n for n in names]
    if suite == "audio":
        return {p.name: (lambda p=p: load_signal(p, max_samples=scale["max_samples"])) for p in files}
    return {p.name: (lambda p=p: area_downsample(load_signal(p), scale["size"])) for p in files}


def estimate_seconds(spec: SuiteSpec, todo: list[tuple], device: str | None) -> float:
    """Seconds for the jobs left: the median epoch of 6 epochs (the first is warm-up) of each model
    on the first signal, times the epochs of each job left."""
    first = next(iter(spec.signals))
    probe_signal = spec.signals[first]()
    per_epoch = {}
    for model in sorted({m for _, m, _ in todo}):
        stamps = []
        m = create_model(model, probe_signal, preset=spec.preset, seed=0)
        cfg = FitConfig.from_preset(spec.preset, probe_signal.in_dim, model=model, epochs=6, device=device,
                                    compile=False)
        fit(m, probe_signal, cfg, callbacks=[lambda *_: stamps.append(time.perf_counter()) and None])
        per_epoch[model] = float(np.median(np.diff(stamps)))
    return sum(per_epoch[m] for _, m, _ in todo) * spec.epochs


def markdown(suite: str, scale_name: str, spec: SuiteSpec, table: dict, interrupted: bool, wall: float) -> str:
    metrics = METRICS[suite]
    per, overall = table["per_signal"], table["mean_over_signals"]
    models = [m for m in spec.models if any(m in cells for cells in per.values())]
    s = spec.settings
    size = (f"first {s['max_samples']:,} samples" if suite == "audio" else f"{s['size']}x{s['size']} (area-downsampled)")
    lines = [f"# Paper suite `{suite}`, scale `{scale_name}`", "",
             f"{size}; preset {spec.preset}; {spec.epochs} epochs; seeds {', '.join(map(str, spec.seeds))}; "
             f"each model with its own batch size where the paper's code differs (FINER, WIRE, Gauss, ReLU+PE: "
             f"65,536 points per step).", "",
             "psnr_paper = 10·log10(1/MSE) on [-1, 1] data (the paper's PSNR), of the best state by training loss, "
             "mean ± sample std (ddof=1) over seeds.", ""]
    lines += ["## psnr_paper (dB)", "", "| signal | " + " | ".join(models) + " |", "|---|" + "---:|" * len(models)]
    for sig, cells in per.items():
        lines.append(f"| {sig} | " + " | ".join(fmt(cells[m]["psnr_paper"]) if m in cells else "–"
                                                for m in models) + " |")
    lines.append("| **mean over signals** | " + " | ".join(
        f"**{overall[m]['psnr_paper']:.2f}**" if m in overall else "–" for m in models) + " |")
    paper = PAPER[suite]
    for sig, nums in paper.items():
        label = "paper (mean over its 12 clips)" if sig == "mean" else f"paper: {sig}"
        lines.append(f"| {label} | " + " | ".join(f"{nums[m]:.1f}" if m in nums else "" for m in models) + " |")
    for k in metrics[1:]:
        lines += ["", f"## {k}", "", f"{CONVENTIONS[k]}.", "", "| signal | " + " | ".join(models) + " |",
                  "|---|" + "---:|" * len(models)]
        digits = 4 if k == "ssim" else 2
        for sig, cells in per.items():
            lines.append(f"| {sig} | " + " | ".join(fmt(cells[m].get(k), digits) if m in cells else "–"
                                                    for m in models) + " |")
    lines += ["", "## Parameters and time", "", "| model | parameters | seconds per fit (mean over all fits) |",
              "|---|---:|---:|"]
    for m in models:
        cells = [c[m] for c in per.values() if m in c]
        secs = np.mean([c["seconds"]["mean"] for c in cells])
        lines.append(f"| {m} | {cells[0]['parameters']:,} | {secs:.1f} |")
    lines += ["", "## Notes", ""] + notes(per, models) + [
        f"- Scale `{scale_name}`: {spec.settings['description']}",
        "- The paper's numbers are second-hand (SPEC §7, a pre-v1 draft) and at the full protocol; quick-scale "
        "numbers are not comparable to them in absolute terms.",
        f"- Wall time {wall / 60:.1f} min on {machine()}." + (" Interrupted: the table holds what finished." if interrupted else "")]
    return "\n".join(lines) + "\n"


def notes(per: dict, models: list[str]) -> list[str]:
    """Plain statements of where the result agrees with the paper's claims, and where it does not."""
    out = []
    if "siren2" in models and "siren" in models:
        behind = [s for s, c in per.items() if "siren2" in c and "siren" in c
                  and c["siren2"]["psnr_paper"]["mean"] <= c["siren"]["psnr_paper"]["mean"]]
        out.append("- SIREN² ahead of SIREN on every signal." if not behind else
                   f"- **Contradicts the paper:** SIREN² is not ahead of SIREN on {', '.join(behind)}.")
    for sig, c in per.items():
        if "siren2" not in c:
            continue
        ahead = [m for m in models if m != "siren2" and m in c
                 and c[m]["psnr_paper"]["mean"] > c["siren2"]["psnr_paper"]["mean"]]
        if ahead:
            scores = ", ".join(f"{m} {c[m]['psnr_paper']['mean']:.2f}" for m in ahead)
            out.append(f"- **Contradicts the paper on {sig}:** {', '.join(ahead)} ahead of SIREN² "
                       f"({scores} vs {c['siren2']['psnr_paper']['mean']:.2f} dB).")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Reproduce the paper's fitting tables.")
    p.add_argument("suite", choices=["audio", "image"])
    p.add_argument("--scale", choices=["quick", "full"], default="quick")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--clips", help="comma-separated file names (default: every file of the suite)")
    p.add_argument("--resume", action="store_true", help="keep finished runs of an earlier invocation")
    p.add_argument("--device", default=None)
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--no-estimate", action="store_true", help="skip the timing probe before starting")
    args = p.parse_args(argv)
    scale = SCALES[args.suite][args.scale]
    models = check_models(args.models.split(","))
    seeds = check_seeds([int(s) for s in args.seeds.split(",")])
    loaders = signal_loaders(args.suite, scale, args.clips.split(",") if args.clips else None)
    description = (f"first {scale['max_samples']:,} samples, {scale['epochs']} epochs" if args.suite == "audio"
                   else f"{scale['size']}x{scale['size']}, {scale['epochs']} epochs")
    spec = SuiteSpec(name=f"paper_{args.suite}_{args.scale}", signals=loaders, models=models, seeds=seeds,
                     preset=PRESETS[args.suite], epochs=scale["epochs"],
                     settings=scale | {"suite": args.suite, "scale": args.scale, "description": description})
    stem = f"paper_{args.suite}_{args.scale}"
    folder = args.results / stem / "runs"
    from siren2.suite import load_record, record_path

    todo = [j for j in spec.jobs() if not (args.resume and load_record(record_path(folder, *j), spec)[0])]
    print(f"{stem}: {len(spec.jobs())} fits ({len(spec.signals)} signals x {len(models)} models x {len(seeds)} seeds), "
          f"{len(spec.jobs()) - len(todo)} already done")
    if todo and not args.no_estimate:
        est = estimate_seconds(spec, todo, args.device)
        print(f"estimated time: {est / 60:.0f} min (median epoch of each model on the first signal)")
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo) * spec.epochs, unit="epoch", dynamic_ncols=True)
    start = time.perf_counter()
    records, interrupted = run_suite(
        spec, folder, resume=args.resume, device=args.device,
        on_skip=lambda job, why: why != "kept" and bar.write(f"rerun {job}: stored record {why}"),
        on_fit=lambda job, rec: bar.write(f"{job[0]} {job[1]} seed {job[2]}: psnr_paper "
                                          f"{rec['metrics']['psnr_paper']:.2f} dB ({rec['seconds']:.0f} s)"),
        on_epoch=lambda: bar.update(1))
    bar.close()
    wall = time.perf_counter() - start
    if not records:
        print("no finished fit")
        return 1
    table = aggregate(records, METRICS[args.suite])
    data = {"suite": args.suite, "scale": args.scale, "settings": spec.settings, "models": models, "seeds": seeds,
            "machine": machine(), "wall_seconds": wall, "interrupted": interrupted, "paper": PAPER[args.suite],
            "conventions": {k: CONVENTIONS[k] for k in METRICS[args.suite]}, "table": table}
    md = markdown(args.suite, args.scale, spec, table, interrupted, wall)
    for path in write_results(stem, data, md, args.results):
        print(path)
    per = table["per_signal"]
    plots.suite_curves(curves(records), args.results / f"{stem}_psnr.png",
                       title=f"{stem}: psnr_paper per epoch, mean over seeds")
    plots.suite_bars({s: {m: c["psnr_paper"]["mean"] for m, c in cells.items()} for s, cells in per.items()},
                     {s: {m: c["psnr_paper"]["std"] for m, c in cells.items()} for s, cells in per.items()},
                     args.results / f"{stem}_bars.png", title=f"{stem}: psnr_paper, mean ± std over seeds")
    print(md)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
