"""Each model's peak learning rate under the `fast` recipe: the same search SIREN²'s rate had.

    python benchmarks/fast_lr.py --resume
    python benchmarks/fast_lr.py --models finer++,wire --factors 0.5,1,2

For every model and every factor f, one fit with peak lr = f x the recipe's rate (0.3/H audio,
0.1/H images) and the recipe's budget (cosine, 500 epochs audio / 2000 images), seed 0, on the two
tuning signals SIREN²'s rate was chosen on: the central 30,000 samples of relay.wav (4 x 100) and the central 128x128 of
camera.png (5 x 64), both at full-protocol coordinates (about 1 parameter per sample). The best
factor per model and modality is what `siren2.models` records (``lr_factor``); the table says where
a model is better off away from SIREN²'s rate. Each fit is one JSON record under
benchmarks/results/fast_lr/runs/ (``--resume`` keeps finished ones). Writes
benchmarks/results/fast_lr.md/.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _common import DATA, RESULTS, machine, write_results
from paper import machine_line, window

from siren2 import FitConfig
from siren2.compare import check_models
from siren2.models import list_models
from siren2.suite import SuiteSpec, run_suite

SIGNALS = {
    "audio": dict(path="audio/relay.wav", kind="audio", window=30_000, width=100, hidden_layers=4,
                  preset="paper_audio"),
    "image": dict(path="images/camera.png", kind="image", window=128, width=64, hidden_layers=5,
                  preset="paper_image"),
}
FACTORS = (0.25, 0.5, 1.0, 2.0)


def spec_for(modality: str, model: str, factor: float) -> SuiteSpec:
    s = SIGNALS[modality]
    path = DATA / s["path"]
    if not path.exists():
        raise SystemExit(f"fast_lr.py: {path} not found (the paper's data lives in ../shared/data)")
    shape = dict(width=s["width"], hidden_layers=s["hidden_layers"])
    base = FitConfig.resolve(s["preset"], "fast", 1 if s["kind"] == "audio" else 2, width=s["width"])
    lr = factor * base.lr
    return SuiteSpec(name=f"fast_lr_{modality}_{model}_{factor:g}",
                     signals={path.name: lambda: window(s["kind"], path, s["window"])}, models=[model], seeds=[0],
                     preset=s["preset"], epochs=base.epochs, recipe="fast", model_options=shape,
                     fit_options={"lr": lr},
                     settings={"modality": modality, "window": s["window"], **shape, "lr": lr, "factor": factor,
                               "epochs": base.epochs, "schedule": base.schedule, "warmup": base.warmup})


def finished_factors(runs_dir: Path, modality: str, model: str) -> set[float]:
    """Factors with a run folder for this modality and model (what an earlier invocation ran)."""
    prefix = f"{modality}_{model}_"
    tails = [d.name[len(prefix):] for d in runs_dir.glob(prefix + "*") if d.is_dir()]
    return {float(t) for t in tails if "_" not in t}  # not siren_rff's folders for siren


def describe(modality: str) -> str:
    s = SIGNALS[modality]
    base = FitConfig.resolve(s["preset"], "fast", 1 if s["kind"] == "audio" else 2, width=s["width"])
    size = f"central {s['window']:,} samples" if s["kind"] == "audio" else f"central {s['window']}x{s['window']}"
    return (f"{Path(s['path']).name}, {size}, {s['hidden_layers']} x {s['width']}, {base.epochs} epochs, "
            f"rate x1 = {base.lr:.3g}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Tune each model's peak lr under the fast recipe.")
    p.add_argument("--models", default=",".join(list_models()))
    p.add_argument("--factors", default=",".join(f"{f:g}" for f in FACTORS))
    p.add_argument("--modalities", default="audio,image")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--device", default=None)
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    models = check_models(args.models.split(","))
    factors = [float(f) for f in args.factors.split(",")]
    modalities = args.modalities.split(",")
    runs_dir = args.results / "fast_lr" / "runs"
    table: dict[str, dict[str, dict[float, float]]] = {}
    interrupted = False
    for modality in SIGNALS:  # the table holds every finished record; only the requested cells run
        for model in list_models():
            run = set(factors) if modality in modalities and model in models else set()
            for f in sorted(run | finished_factors(runs_dir, modality, model)):
                spec = spec_for(modality, model, f)
                recs, interrupted = run_suite(spec, runs_dir / f"{modality}_{model}_{f:g}",
                                              resume=args.resume or f not in run, device=args.device)
                for rec in recs:
                    best = max(rec["psnr_paper_per_epoch"])
                    table.setdefault(modality, {}).setdefault(model, {})[f] = best
                    if f in run:
                        print(f"{modality} {model} x{f:g} (lr {spec.settings['lr']:.3g}): best psnr_paper "
                              f"{best:.2f} dB in {rec['seconds']:.1f} s", flush=True)
                if interrupted:
                    break
            if interrupted:
                break
        if interrupted:
            break
    best = {m: {model: max(per, key=per.get) for model, per in cells.items()} for m, cells in table.items()}
    lines = ["# Peak learning rate of each model under the `fast` recipe", "",
             "Best psnr_paper (dB) after the fast recipe's budget, seed 0, for peak lr = factor x the recipe's "
             "rate. " + "; ".join(f"{m}: {describe(m)}" for m in table) +
             " (about 1 parameter per sample). Bold: the best factor per model.", ""]
    for modality, cells in table.items():
        fs = sorted({f for per in cells.values() for f in per})
        lines += [f"## {modality}", "", "| model | " + " | ".join(f"x{f:g}" for f in fs) + " |",
                  "|---|" + "---:|" * len(fs)]
        for model, per in cells.items():
            lines.append(f"| {model} | " + " | ".join(
                "–" if f not in per else (f"**{per[f]:.2f}**" if f == best[modality][model] else f"{per[f]:.2f}")
                for f in fs) + " |")
        lines.append("")
    lines.append(f"On {machine_line()}." + (" Interrupted: the table holds what finished." if interrupted else ""))
    md = "\n".join(lines) + "\n"
    data = {"machine": machine(), "signals": SIGNALS, "psnr_paper": {m: {k: {f"{f:g}": v for f, v in per.items()}
                                                                          for k, per in c.items()}
                                                                      for m, c in table.items()},
            "best_factor": best, "interrupted": interrupted}
    for path in write_results("fast_lr", data, md, args.results):
        print(path)
    print(md)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
