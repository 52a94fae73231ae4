"""Reproduce the paper's tables: audio fitting, image fitting (docs/method.md#protocols, docs/method.md#the-papers-numbers), restoration, with seeds and resume.

    python benchmarks/paper.py audio --scale quick --seeds 0,1,2
    python benchmarks/paper.py image --scale quick --seeds 0,1,2 --resume
    python benchmarks/paper.py restore --scale quick --clips relay.wav     # denoise and inpaint relay
    python benchmarks/paper.py audio --scale full --seeds 0 --clips relay.wav --models siren,siren2
    python benchmarks/paper.py audio --scale faithful --recipe fast --seeds 0   # the fair race under `fast`
    siren2 bench paper audio --scale quick        # the same, from the command line

Scales:
  full   the paper's protocol: audio the first 150,000 samples, 1000 epochs (paper_audio);
         images 512x512, 4000 epochs (paper_image).
  quick  a reduction for a 2-core CPU, with the same models, presets (network shape, lr,
         schedule) and WINNER rules: audio the central 8,000 of the paper's 150,000 samples, 150
         epochs; images the central 128x128 of the 512x512 image, 100 epochs. The window keeps the
         coordinates its samples have in the full protocol (``siren2.crop``), so ω_first, s0 and the
         Nyquist frequency relate exactly as in the paper; a 8,000-sample clip spread over
         linspace(-1, 1) would instead be 19x lower in frequency, easy for SIREN's ω_first = 3000.
         The same networks on fewer samples hold more parameters per sample than the paper's (~1),
         so absolute numbers are not the paper's; the comparison between models is the point.
  faithful  about 1 parameter per sample, as the paper: audio the central 30,000 samples with
         4 x 100 networks, images the central 128x128 with 5 x 64, the paper's epochs (1000, 4000).
         Two protocols in one table. The paper's: the mini-batch models (FINER, FINER++, FINER²,
         WIRE, Gauss, ReLU+PE) keep the paper's optimizer steps per epoch, their batch scaled with
         the window (150,000 / 65,536 -> 3 steps: 10,000-point batches; 512² / 65,536 -> 4 steps:
         4,096-point batches), while SIREN, SIREN² and SIREN+RFF take one full-batch step. Equal
         optimizer steps: the same mini-batch models again on full batch (labelled
         ``<model>@fullbatch``), one step per epoch like the rest.

``--recipe fast`` runs the suite under siren2's `fast` recipe (its epochs: 500 audio, 2000 images;
every model on full batch at its own peak rate, ``siren2.models`` ``lr_factor``) instead of the
paper's: the fair race of every model under one budget. Its records and tables get a ``_fast``
suffix.

Suite ``restore`` runs the restoration tasks of :data:`TASKS` (camera σ 0.1 noise, relay σ 0.05
noise, relay 30% missing; SIREN and SIREN² by default): quick at the tasks' own sizes and epochs
(camera box-downsampled to 256², relay's first 30,000 samples), faithful at the faithful fitting
scale's windows, networks and epochs (camera's central 128² with 5 x 64, relay's central 30,000
samples with 4 x 100), full at the fitting protocol's. Each seed draws its own corruption; the
corrupted input is scored beside the fits.

``--batch-seeds`` trains a model's seeds on one signal as one batched fit (fitting suites; the same
results to float rounding, but each record's seconds are the batch's). ``--backend ray [--address
ADDR]`` runs each fit (or batch) as a Ray task that returns its record to this process, which
stores it, so ``--resume`` works the same; a task whose worker dies is rerun.

Each finished fit is one record (key ``<signal>/<model>/<seed>``; the restore suite's prefixed by
its task's suite) in benchmarks/results/paper_<suite>_<scale>[_fast].jsonl, stored as it ends;
``--resume`` keeps complete records made with the same settings and reruns the rest (missing,
damaged, partial or stale). Writes benchmarks/results/paper_<suite>_<scale>[_fast].md and figures
(PSNR per epoch per signal, per-signal bar chart) beside it, from the records file alone:
``--from-records`` writes them again without fitting (nor the data).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from common import (DATA, FULL, RESULTS, add_record_options, compact_png, invocation, machine, machine_line, opened_records,
                    save_invocation, window, write_table)

from siren2 import FitConfig, load_signal, plots
from siren2.compare import check_models, check_seeds
from siren2.restoration import CorruptionSpec
from siren2.metrics import CONVENTIONS, psnr_paper
from siren2 import create_model
from siren2.recipes import model_fit
from siren2.records import RecordStore
from siren2.signal import Signal
from siren2.suite import INPUT, SuiteSpec, aggregate, curves, fmt, run_suite, stored
from siren2.train import fit
from siren2 import tuning
from siren2.models import get_entry

MODELS = ["siren", "siren2", "finer", "finer++", "wire", "gauss", "relu_pe", "siren_rff"]
RESTORE_MODELS = ["siren", "siren2"]  # the restoration issue's
# The restoration tasks (issue 5): at the quick scale camera.png box-downsampled 2x2 to 256x256 (a CPU
# budget), relay.wav's first 30,000 samples (mono mix); the other scales set their own size and epochs.
TASKS = {
    "camera-noise": dict(path="images/camera.png", spec=CorruptionSpec("noise_std", 0.1), downsample=2, epochs=150),
    "relay-noise": dict(path="audio/relay.wav", spec=CorruptionSpec("noise_std", 0.05), max_samples=30_000, epochs=200),
    "relay-missing": dict(path="audio/relay.wav", spec=CorruptionSpec("missing", 0.3), max_samples=30_000, epochs=200),
}
SCALES = {
    "audio": {"full": dict(window=150_000, epochs=1000), "quick": dict(window=8_000, epochs=150),
              "faithful": dict(window=30_000, epochs=1000, width=100, hidden_layers=4)},
    "image": {"full": dict(window=512, epochs=4000), "quick": dict(window=128, epochs=100),
              "faithful": dict(window=128, epochs=4000, width=64, hidden_layers=5)},
}
PRESETS = {"audio": "paper_audio", "image": "paper_image"}
PAPER_BATCH = 65_536  # the reference code's mini-batch, in points (docs/method.md#the-baselines)
FULLBATCH = "@fullbatch"  # label suffix: a mini-batch model on full batch (equal optimizer steps)
METRICS = {"audio": ["psnr_paper", "snr", "lsd"], "image": ["psnr_paper", "psnr", "ssim"]}
# docs/method.md#the-papers-numbers, second-hand from a pre-v1 draft: psnr_paper (dB), mean over clips (audio: over 12 clips,
# 4 of which are not available here) and 5 seeds.
PAPER = {
    "audio": {"mean": {"siren2": 64.5, "finer++": 56.5, "siren": 34.8}},
    "image": {"camera.png": {"siren2": 44.9, "siren": 38.9}, "noise1.png": {"siren2": 36.1, "siren": 21.3}},
}


def box_downsample(signal: Signal, factor: int) -> Signal:
    """Mean over factor x factor blocks of an image (its values stay in [-1, 1])."""
    (h, w), c = signal.grid, signal.channels
    h2, w2 = h // factor, w // factor
    v = signal.values.reshape(h, w, c)[: h2 * factor, : w2 * factor]
    v = v.reshape(h2, factor, w2, factor, c).mean(axis=(1, 3))
    return Signal(values=v.reshape(h2 * w2, -1), grid=(h2, w2), kind="image", bit_depth=signal.bit_depth,
                  source=f"{signal.source} ({factor}x{factor} box-downsampled to {h2}x{w2})")


def folder_of(suite: str) -> Path:
    return DATA / ("audio" if suite == "audio" else "images")


def signal_names(suite: str, names: list[str] | None) -> list[str]:
    """The suite's signals: ``names``, or every file of its data folder (sorted); SystemExit if the
    data are not there."""
    folder = folder_of(suite)
    if not folder.is_dir():
        raise SystemExit(f"paper.py: {folder} not found (the paper's data lives in ../shared/data)")
    if names:
        missing = [n for n in names if not (folder / n).exists()]
        if missing:
            raise SystemExit(f"paper.py: not in {folder}: {', '.join(missing)}")
        return list(names)
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def signal_loaders(suite: str, scale: dict, names: list[str]) -> dict:
    """name -> loader of its window (read when first called)."""
    return {n: (lambda p=folder_of(suite) / n: window(suite, p, scale["window"])) for n in names}


def estimate_seconds(spec: SuiteSpec, todo: list[tuple], device: str | None) -> float:
    """Seconds for the jobs left: the median epoch of 6 epochs (the first is warm-up) of each model
    on the first signal, times the epochs of each job left."""
    first = next(iter(spec.signals))
    probe_signal = spec.signals[first]()
    per_epoch = {}
    for label in sorted({m for _, m, _ in todo}):
        stamps = []
        model, options = spec.variants.get(label, (label, {}))
        m = create_model(model, probe_signal, preset=spec.preset, seed=0, **spec.model_options)
        cfg = FitConfig.resolve(spec.preset, spec.recipe, probe_signal.in_dim, model=model,
                                width=spec.model_options.get("width"), epochs=6, device=device, compile=False,
                                **options)
        fit(m, probe_signal, cfg, callbacks=[lambda *_: stamps.append(time.perf_counter()) and None])
        per_epoch[label] = float(np.median(np.diff(stamps)))
    return sum(per_epoch[m] for _, m, _ in todo) * spec.epochs


def zero_output_psnr(signal: Signal) -> float:
    """psnr_paper of an all-zero output, 10·log10(1 / mean(y²)): the score of a model that has not
    started to fit, the floor below which a number means nothing."""
    return psnr_paper(signal.values, np.zeros_like(signal.values))


def timing_line(records: list[dict], run: dict) -> str:
    """How long the fits took, and how many the run that wrote the table fitted (``run``: its
    invocation record; a resumed suite may fit none)."""
    ran, wall = run["ran"], run["wall_seconds"]
    done = f"{ran} run by this invocation in {wall / 60:.1f} min wall" if ran else "all loaded from stored records"
    return (f"{len(records)} fits, {sum(r['seconds'] for r in records) / 60:.1f} min of fitting in all ({done}), "
            f"on {machine_line(records, run['machine'])}."
            + (" Interrupted: the tables hold what finished." if run["interrupted"] else ""))


def markdown(suite: str, scale_name: str, spec: SuiteSpec, table: dict, zero: dict[str, float], timing: str) -> str:
    metrics = METRICS[suite]
    per, overall = table["per_signal"], table["mean_over_signals"]
    models = [m for m in spec.models if any(m in cells for cells in per.values())]
    s = spec.settings
    size = s["description"].rsplit(",", 1)[0]
    size = size[0].upper() + size[1:]
    lines = [f"# Paper suite `{suite}`, scale `{scale_name}`", "",
             f"{size}; preset {spec.preset}; recipe `{spec.recipe}`; {spec.epochs} epochs; "
             f"seeds {', '.join(map(str, spec.seeds))}. " + batches_line(spec), "",
             "psnr_paper = 10·log10(1/MSE) on [-1, 1] data (the paper's PSNR), of the best state by training loss, "
             "mean ± sample std (ddof=1) over seeds.", ""]
    if len(spec.seeds) == 1:
        lines += [f"One seed ({spec.seeds[0]}): each cell is a single fit, with no spread over seeds (the paper "
                  "averages 5 seeds). The run resumes with more (`--seeds 0,1,2 --resume`).", ""]
    found = []
    for title, cols in protocols(spec).items():
        per_p = {sig: {h: cells[m] for h, m in cols.items() if m in cells} for sig, cells in per.items()}
        overall_p = {h: overall[m] for h, m in cols.items() if m in overall}
        heads = [h for h in cols if any(h in cells for cells in per_p.values())]
        lines += [f"## psnr_paper (dB){': ' + title if title else ''}", "",
                  "The last column is the score of an all-zero output (10·log10(1/mean(y²))): "
                  "a model near it has not started to fit.", "",
                  "| signal | " + " | ".join(heads) + " | zero output |", "|---|" + "---:|" * (len(heads) + 1)]
        for sig, cells in per_p.items():
            lines.append(f"| {sig} | " + " | ".join(fmt(cells[h]["psnr_paper"]) if h in cells else "–"
                                                    for h in heads) + f" | {zero[sig]:.2f} |")
        lines.append("| **mean over signals** | " + " | ".join(
            f"**{overall_p[h]['psnr_paper']:.2f}**" if h in overall_p else "–" for h in heads)
            + f" | {np.mean([zero[s] for s in per]):.2f} |")
        for sig, nums in PAPER[suite].items():
            label = "paper (mean over its 12 clips)" if sig == "mean" else f"paper: {sig}"
            lines.append(f"| {label} | " + " | ".join(f"{nums[h]:.1f}" if h in nums else "" for h in heads) + " | |")
        lines.append("")
        ours = {"mean": {h: v["psnr_paper"] for h, v in overall_p.items()}}
        ours |= {sig: {h: c["psnr_paper"]["mean"] for h, c in cells.items()} for sig, cells in per_p.items()}
        found += ([f"- In {title}:"] if title else []) + [("  " if title else "") + n for n in
                                                          notes(per_p, heads, zero) + order_notes(ours, PAPER[suite])]
    for k in metrics[1:]:
        lines += [f"## {k}", "", f"{CONVENTIONS[k]}.", "", "| signal | " + " | ".join(models) + " |",
                  "|---|" + "---:|" * len(models)]
        digits = 4 if k == "ssim" else 2
        for sig, cells in per.items():
            lines.append(f"| {sig} | " + " | ".join(fmt(cells[m].get(k), digits) if m in cells else "–"
                                                    for m in models) + " |")
        lines.append("")
    points = s["window"] if suite == "audio" else s["window"] ** 2
    lines += ["## Parameters and time", "",
              "| model | parameters | per sample | seconds per fit (mean over all fits) |", "|---|---:|---:|---:|"]
    for m in models:
        cells = [c[m] for c in per.values() if m in c]
        secs = np.mean([c["seconds"]["mean"] for c in cells])
        lines.append(f"| {m} | {cells[0]['parameters']:,} | {cells[0]['parameters'] / points:.2f} | {secs:.1f} |")
    lines += ["", "## Notes", ""] + found + [
        f"- Scale `{scale_name}`: {spec.settings['description']}",
        "- The paper's numbers are second-hand (docs/method.md#the-papers-numbers, a pre-v1 draft) and at the full protocol; quick-scale "
        "numbers are not comparable to them in absolute terms.",
        f"- {timing}"]
    return "\n".join(lines) + "\n"


def batches_line(spec: SuiteSpec) -> str:
    if any(m.endswith(FULLBATCH) for m in spec.models):
        return ("Mini-batch models (FINER, FINER++, FINER², WIRE, Gauss, ReLU+PE) both at the paper's optimizer "
                "steps per epoch and on full batch (`@fullbatch`): see the two psnr_paper tables.")
    return ("Each model with its own batch size where the paper's code differs (FINER, FINER++, FINER², WIRE, Gauss, "
            "ReLU+PE: 65,536 points per step; on a window of fewer points, one full batch).")


def protocols(spec: SuiteSpec) -> dict[str, dict[str, str]]:
    """The psnr tables of a suite: title -> {column header: job label}. A suite with
    ``@fullbatch`` variants gets two, the paper's protocol and equal optimizer steps."""
    base = [m for m in spec.models if not m.endswith(FULLBATCH)]
    if not any(m.endswith(FULLBATCH) for m in spec.models):
        return {"": {m: m for m in base}}
    return {f"the paper's protocol (mini-batch models: {spec.settings['steps_per_epoch']} steps per epoch of "
            f"{spec.settings['batch_size']:,} points; SIREN, SIREN², SIREN+RFF: 1 full-batch step)": {m: m for m in base},
            "equal optimizer steps (every model: 1 full-batch step per epoch)":
                {m: m + FULLBATCH if m + FULLBATCH in spec.models else m for m in base}}


def notes(per: dict, models: list[str], zero: dict[str, float]) -> list[str]:
    """Plain statements of where the result agrees with the paper's claims, and where it does not."""
    out = []
    if "siren2" in models and "siren" in models:
        behind = [s for s, c in per.items() if "siren2" in c and "siren" in c
                  and c["siren2"]["psnr_paper"]["mean"] <= c["siren"]["psnr_paper"]["mean"]]
        out.append("- SIREN² ahead of SIREN on every signal." if not behind else
                   f"- **Contradicts the paper:** SIREN² is not ahead of SIREN on {', '.join(behind)}.")
    for sig, c in per.items():
        stuck = [m for m in models if m in c and c[m]["psnr_paper"]["mean"] < zero[sig] + 1.0]
        if stuck:
            out.append(f"- {sig}: {', '.join(stuck)} within 1 dB of the all-zero output ({zero[sig]:.2f} dB) "
                       "or below it: not yet fitting at this budget.")
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


def order_notes(ours: dict[str, dict[str, float]], paper: dict[str, dict[str, float]]) -> list[str]:
    """Where our psnr_paper ranks the models the paper scores in another order than the paper does.
    ``ours`` and ``paper``: signal (or "mean") -> model -> dB."""
    out = []
    for sig, nums in paper.items():
        models = [m for m in nums if m in ours.get(sig, {})]
        theirs, mine = (sorted(models, key=lambda m, d=d: -d[m]) for d in (nums, ours.get(sig, {})))
        if len(models) > 1 and theirs != mine:
            where = "the mean over signals (the paper's: over its 12 clips)" if sig == "mean" else sig
            out.append(f"- **Contradicts the paper's ordering** on {where}: the paper has "
                       + " > ".join(f"{m} {nums[m]:.1f}" for m in theirs) + "; here "
                       + " > ".join(f"{m} {ours[sig][m]:.2f}" for m in mine) + " dB.")
    return out


def minibatch(suite: str, window: int) -> dict:
    """The paper's optimizer steps per epoch at the full protocol (the reference code's 65,536-point
    batches over 150,000 samples or 512² pixels), and the batch that keeps them on ``window``."""
    full = FULL["audio"] if suite == "audio" else FULL["image"] ** 2
    points = window if suite == "audio" else window ** 2
    steps = math.ceil(full / PAPER_BATCH)
    return {"steps_per_epoch": steps, "batch_size": math.ceil(points / steps), "points": points}


def protocol_variants(suite: str, window: int, models: list[str]) -> tuple[list[str], dict]:
    """Job labels and variants of the faithful scale: each mini-batch model at the paper's steps
    per epoch, and again as ``<model>@fullbatch`` (one step per epoch, as SIREN²)."""
    mb = minibatch(suite, window)
    batched = [m for m in models if model_fit(m).get("batch_size")]
    variants = {m: (m, {"batch_size": mb["batch_size"]}) for m in batched}
    variants |= {m + FULLBATCH: (m, {"batch_size": mb["points"]}) for m in batched}
    return models + [m + FULLBATCH for m in batched], variants


def fitting_spec(suite: str, scale_name: str, models: list[str], seeds: list[int], names: list[str],
                 recipe: str = "paper", tuned: bool = False) -> SuiteSpec:
    """The suite's spec on the signals ``names`` (:func:`signal_names`). Under the paper recipe the
    settings are as they always were (stored records stay valid); another recipe adds its name and
    epochs to them. The faithful scale under the paper recipe runs both protocols
    (:func:`protocol_variants`). ``tuned``: each fit is a tuning (siren2.tuning.tune, its settings
    recorded), each model at its own batch size."""
    scale = SCALES[suite][scale_name]
    w = scale["window"]
    labels, variants, extra = models, {}, {}
    if scale_name == "faithful" and recipe == "paper" and not tuned:
        labels, variants = protocol_variants(suite, w, models)
        extra = {k: v for k, v in minibatch(suite, w).items() if k != "points"}
    shape = {k: scale[k] for k in ("width", "hidden_layers") if k in scale}
    description = (f"the central {w:,} of the clip's first 150,000 samples at their full-protocol coordinates"
                   if suite == "audio" else
                   f"the central {w}x{w} of the 512x512 image at its full-protocol coordinates")
    if shape:
        description += f", {shape['hidden_layers']} x {shape['width']}"
    epochs = scale["epochs"]
    if recipe != "paper":
        epochs = FitConfig.resolve(PRESETS[suite], recipe, 1 if suite == "audio" else 2, width=shape.get("width")).epochs
        extra = {"recipe": recipe, "epochs": epochs}
    if suite == "audio" and scale_name == "faithful":
        extra["audio_peak"] = "whole file"  # divided by the file's peak, then cut (signals.load_audio)
    if tuned:
        extra["tuning"] = {"lr_factors": list(tuning.LR_FACTORS), "rounds": tuning.ROUNDS, "keep": tuning.KEEP,
                           "holdout": tuning.HOLDOUT, "search_fits": tuning.SEARCH_FITS,
                           "knobs": {m: [k.name for k in get_entry(m).knobs] for m in models}}
    return SuiteSpec(name=f"paper_{suite}_{scale_name}", signals=signal_loaders(suite, scale, names), models=labels,
                     seeds=seeds, preset=PRESETS[suite], epochs=epochs, recipe=recipe, model_options=shape,
                     variants=variants, tuned=tuned,
                     settings=scale | {"suite": suite, "scale": scale_name, "description": f"{description}, {epochs} epochs"} | extra)


def restore_tasks(names: list[str] | None) -> list[str]:
    """The restoration tasks on the signals ``names`` (all: every task); SystemExit if the data are
    not there."""
    tasks = [task for task, t in TASKS.items() if not names or Path(t["path"]).name in names]
    if not tasks:
        raise SystemExit(f"paper.py: no restoration task uses {', '.join(names)}")
    for task in tasks:
        if not (DATA / TASKS[task]["path"]).exists():
            raise SystemExit(f"paper.py: {DATA / TASKS[task]['path']} not found "
                             "(the paper's data lives in ../shared/data)")
    return tasks


def restore_specs(scale_name: str, models: list[str], seeds: list[int], tasks: list[str]) -> dict[str, SuiteSpec]:
    """One suite per restoration task of :data:`TASKS` (:func:`restore_tasks`): at ``quick`` its
    settings (camera box-downsampled to 256², relay's first 30,000 samples), at ``faithful`` the
    faithful fitting scale's window, network and epochs (central 128² with 5 x 64, central 30,000
    samples with 4 x 100: about 1 parameter per sample), at ``full`` the fitting protocol's size and
    epochs (512², 150,000 samples)."""
    specs = {}
    for task in tasks:
        t = TASKS[task]
        path = DATA / t["path"]
        audio = path.parent.name == "audio"
        kind = "audio" if audio else "image"
        shape = {}
        if scale_name == "full":
            settings = {"max_samples": FULL["audio"]} if audio else {}
            epochs = SCALES[kind]["full"]["epochs"]
        elif scale_name == "faithful":
            f = SCALES[kind]["faithful"]
            shape = {k: f[k] for k in ("width", "hidden_layers")}
            settings = {"window": f["window"], **shape} | ({"audio_peak": "whole file"} if audio else {})
            epochs = f["epochs"]
        else:
            settings = {k: t[k] for k in ("max_samples", "downsample") if k in t}
            epochs = t["epochs"]

        def load(path=path, settings=settings, kind=kind):
            if "window" in settings:
                return window(kind, path, settings["window"])
            clean = load_signal(path, max_samples=settings.get("max_samples"))
            return box_downsample(clean, settings["downsample"]) if "downsample" in settings else clean

        spec = t["spec"]
        specs[task] = SuiteSpec(
            name=f"paper_restore_{scale_name}_{task}", signals={path.name: load}, models=models, seeds=seeds,
            preset="paper_audio" if audio else "paper_image", epochs=epochs, corruption=spec, model_options=shape,
            settings=settings | {"suite": "restore", "task": task, "scale": scale_name, "epochs": epochs,
                                 "corruption": [spec.kind, spec.value, spec.length_ms],
                                 "description": f"{spec.label()}, {epochs} epochs"})
    return specs


def restore_markdown(scale_name: str, specs: dict, tables: dict, records: dict, timing: str) -> str:
    lines = [f"# Paper suite `restore`, scale `{scale_name}`", "",
             "Each seed corrupts the clean signal with its own draw, fits the corrupted one (missing samples "
             "masked out of the loss) and scores the fit against the clean signal. `input` is the corrupted "
             "signal itself (missing samples read as 0). Mean ± sample std (ddof=1) over seeds.", ""]
    for task, spec in specs.items():
        if task not in tables:
            continue
        per = tables[task]["per_signal"]
        (sig, cells), = per.items()
        cols = [m for m in [*spec.models, INPUT] if m in cells]
        metrics = METRICS["audio" if spec.preset == "paper_audio" else "image"]
        sizes = {r["model"]: (r["parameters"], r["points"]) for r in records[task]}
        lines += [f"## {task}: {sig}, {spec.settings['description']}", "",
                  "Regime: " + ", ".join(f"{m} {p:,} parameters ({p / n:.2f} per sample)" for m, (p, n) in sizes.items())
                  + f"; preset {spec.preset}, the paper's recipe (Adam 1e-4, StepLR), a fixed {spec.epochs} epochs "
                  f"(the state of lowest training loss); seeds {', '.join(map(str, spec.seeds))}.", "",
                  "| metric | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
        for k in metrics:
            lines.append(f"| {k} | " + " | ".join(fmt(cells[m].get(k), 4 if k == "ssim" else 2) for m in cols) + " |")
        best = max((m for m in cols if m != INPUT), key=lambda m: cells[m]["psnr_paper"]["mean"])
        gain = cells[best]["psnr_paper"]["mean"] - cells[INPUT]["psnr_paper"]["mean"]
        lines += ["", f"Best fit: {best}, {gain:+.2f} dB psnr_paper over the corrupted input"
                  + (" (**no gain**)." if gain < 0.1 else ".")
                  + (" The paper reports SIREN² ahead in restoration: this run disagrees." if best != "siren2" else ""), ""]
    used = [k for k in CONVENTIONS if k in METRICS["audio"] + METRICS["image"]]
    lines += ["Conventions: " + "; ".join(f"{k}: {CONVENTIONS[k]}" for k in used) + ".", "",
              timing]
    return "\n".join(lines) + "\n"


def stem_of(suite: str, scale: str, recipe: str = "paper", tuned: bool = False) -> str:
    """The table's name: ``paper_<suite>_<scale>``, with ``_<recipe>`` under another recipe than the paper's
    and ``_tuned`` for tuned models."""
    return f"paper_{suite}_{scale}" + ("" if recipe == "paper" else f"_{recipe}") + ("_tuned" if tuned else "")


def specs_of(run: dict) -> dict[str, SuiteSpec]:
    """The suites of a run (its invocation record: suite, scale, recipe, models, seeds, and the
    signals or restoration tasks it ran), keyed as :func:`tables` reads them. Reads no data: the
    signals load when a fit needs them."""
    if run["suite"] == "restore":
        return restore_specs(run["scale"], run["models"], run["seeds"], run["tasks"])
    return {run["suite"]: fitting_spec(run["suite"], run["scale"], run["models"], run["seeds"], run["signals"],
                                       run["recipe"], run.get("tuned", False))}


def tables(store: RecordStore) -> dict:
    """The table of ``store``'s run, from its records alone: markdown, and the figures' data
    (``bars``: per signal and model, psnr_paper mean and std over seeds; ``curves``: psnr_paper per
    epoch, mean over seeds)."""
    run = invocation(store)
    specs = specs_of(run)
    records = {k: stored(spec, store)[0] for k, spec in specs.items()}
    everything = [r for recs in records.values() for r in recs]
    timing = timing_line(everything, run)
    if run["suite"] == "restore":
        result = {k: aggregate(recs, METRICS["audio" if specs[k].preset == "paper_audio" else "image"])
                  for k, recs in records.items() if recs}
        md = restore_markdown(run["scale"], specs, result, records, timing)
        return {"markdown": md, "bars": None,
                "curves": {f"{k}: {sig}": c for k, recs in records.items() for sig, c in curves(recs).items()}}
    spec, recs = specs[run["suite"]], records[run["suite"]]
    table = aggregate(recs, METRICS[run["suite"]])
    md = markdown(run["suite"], run["scale"], spec, table, run["zero_output_psnr_paper"], timing)
    if spec.tuned:
        md += "\n" + tuned_markdown(spec, recs, run["zero_output_psnr_paper"], untuned_means(run))
    per = table["per_signal"]
    bars = ({s: {m: c["psnr_paper"]["mean"] for m, c in cells.items()} for s, cells in per.items()},
            {s: {m: c["psnr_paper"]["std"] for m, c in cells.items()} for s, cells in per.items()})
    return {"markdown": md, "bars": bars, "curves": curves(recs)}


def untuned_means(run: dict) -> dict[str, float]:
    """The per-signal psnr_paper means of the same suite without tuning (its records file, where present)."""
    path = RESULTS / f"{stem_of(run['suite'], run['scale'], run['recipe'])}.jsonl"
    if not path.exists():
        return {}
    store = RecordStore(path)
    spec = fitting_spec(run["suite"], run["scale"], run["models"], run["seeds"], run["signals"], run["recipe"])
    recs = stored(spec, store)[0]
    return {(r["signal"], r["model"]): r["metrics"]["psnr_paper"] for r in recs if r["seed"] == run["seeds"][0]}


def tuned_markdown(spec: SuiteSpec, recs: list[dict], zero: dict[str, float], untuned: dict) -> str:
    """The tuned suite's own sections: what the search found per signal and model, against the untuned
    fit; the targets (≥ 10 dB above the zero output on ≥ 6 of 8 signals; the cost in fits)."""
    t = spec.settings["tuning"]
    knobs = "; ".join(f"{m}: {', '.join(k)}" for m, k in t["knobs"].items())
    lines = ["## Tuning", "",
             f"Each fit is `siren2.tuning.tune`: the model's knobs ({knobs}) "
             f"and its peak rate (× {', '.join(map(str, t['lr_factors']))} of the recipe's) searched by successive halving "
             f"({t['rounds']} rounds, the best {t['keep']:.2g} going on; {t['search_fits']:g} fit's worth of epochs) on "
             f"{t['holdout']:.0%} held-out samples; then the playoff: the search's pick and the defaults each fitted on every "
             "sample with the suite's epochs, the better kept. Cells: the tuned psnr_paper; the untuned one (from the "
             "same suite without tuning, where it ran) and the gain; the search's pick (defaults in brackets) and its "
             "full fit's psnr_paper; which setting won the playoff; the whole tuning's wall time in fits.", "",
             "| signal | model | tuned | untuned | gain | search's pick [defaults] | pick's full fit | kept | cost (fits) |",
             "|---|---|---:|---:|---:|---|---:|---|---:|"]
    for r in sorted(recs, key=lambda r: (list(spec.signals).index(r["signal"]), spec.models.index(r["model"]))):
        base = untuned.get((r["signal"], r["model"]))
        found = ", ".join(f"{k} {v:.4g} [{r['default'][k]:.4g}]" for k, v in r["pick"].items())
        kept = "defaults" if "default" in r["playoff"] and r["tuned"] == r["default"] else (
            "pick" if "default" in r["playoff"] else "pick = defaults")
        lines.append(f"| {r['signal']} | {r['model']} | {r['metrics']['psnr_paper']:.2f} | "
                     + (f"{base:.2f} | {r['metrics']['psnr_paper'] - base:+.2f}" if base is not None else "– | –")
                     + f" | {found} | {r['playoff']['pick']:.2f} | {kept} | {r['cost_in_fits']:.2f} |")
    lines += ["", "## Targets", ""]
    signals = list(dict.fromkeys(r["signal"] for r in recs))
    for m in spec.models:
        mine = [r for r in recs if r["model"] == m]
        if not mine:
            continue
        above = sum(r["metrics"]["psnr_paper"] >= zero[r["signal"]] + 10 for r in mine)
        need = math.ceil(0.75 * len(signals))
        lines.append(f"- {m}: ≥ 10 dB above the zero output on {above} of {len(mine)} signals (target: {need} of "
                     f"{len(signals)}): {'met' if above >= need else 'not met'}; median cost "
                     f"{statistics.median(r['cost_in_fits'] for r in mine):.2f} fits (target: ≤ 3).")
    paper = PAPER.get(spec.settings.get("suite"), {}).get("mean", {})
    for m in spec.models:
        mine = [r["metrics"]["psnr_paper"] for r in recs if r["model"] == m]
        if m in paper and mine:
            mean = statistics.mean(mine)
            lines.append(f"- {m} tuned, mean over these signals {mean:.2f} dB against the paper's {paper[m]} (its 12 clips, "
                         f"the full protocol; this table: the faithful window): "
                         + (f"{paper[m] - mean:.1f} dB below the paper's number, not reproduced." if mean < paper[m]
                            else "at or above the paper's number."))
    return "\n".join(lines) + "\n"


def markdown_from_records(path: Path) -> str:
    """The table a records file ``<results>/<stem>.jsonl`` makes (what ``--from-records`` writes)."""
    return tables(RecordStore(path))["markdown"]


def write_outputs(store: RecordStore, stem: str, results: Path) -> str:
    """Write the table ``<stem>.md`` and its figures from ``store`` alone; returns the markdown."""
    out = tables(store)
    print(write_table(stem, out["markdown"], results))
    if out["bars"]:
        compact_png(plots.suite_bars(*out["bars"], results / f"{stem}_bars.png",
                                     title=f"{stem}: psnr_paper, mean ± std over seeds"))
    compact_png(plots.suite_curves(out["curves"], results / f"{stem}_psnr.png",
                                   title=f"{stem}: psnr_paper per epoch (of the fit to its target), mean over seeds"))
    return out["markdown"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Reproduce the paper's tables: fitting (audio, image) and restoration.")
    p.add_argument("suite", choices=["audio", "image", "restore"])
    p.add_argument("--scale", choices=["quick", "faithful", "full"], default="quick")
    p.add_argument("--recipe", choices=["paper", "fast"], default="paper",
                   help="training recipe (default: the paper's; fast: the fair race under siren2's default)")
    p.add_argument("--tuned", action="store_true",
                   help="each model at its best bandwidth and peak rate: every fit a tuning (siren2 tune's search, "
                        "then the best setting's fit); writes paper_<suite>_<scale>[_fast]_tuned")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--models", help=f"default: {','.join(MODELS)} (restore: siren,siren2)")
    p.add_argument("--clips", help="comma-separated file names (default: every file of the suite)")
    p.add_argument("--device", default=None)
    add_record_options(p)
    p.add_argument("--no-estimate", action="store_true", help="skip the timing probe before starting")
    p.add_argument("--batch-seeds", action="store_true",
                   help="fitting suites: a model's seeds on one signal train as one batched fit (the same results; "
                        "each record's seconds are then the batch's, so not for the race's timings)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="ray: each fit (or batch) is a Ray task that returns its record (pip install 'siren2[ray]')")
    p.add_argument("--address", help="ray: a running cluster's address (default: a private local cluster)")
    p.add_argument("--cpus-per-task", type=float, default=1, help="ray: CPUs (torch threads) a task declares")
    p.add_argument("--gpus-per-task", type=float, default=0, help="ray: GPUs a task declares")
    args = p.parse_args(argv)
    stem = stem_of(args.suite, args.scale, args.recipe, args.tuned)
    store = opened_records("paper.py", stem, args)
    if args.from_records:
        print(write_outputs(store, stem, args.results))
        return 0
    models = check_models((args.models or ",".join(RESTORE_MODELS if args.suite == "restore" else MODELS)).split(","))
    seeds = check_seeds([int(s) for s in args.seeds.split(",")])
    names = args.clips.split(",") if args.clips else None
    run = {"suite": args.suite, "scale": args.scale, "recipe": args.recipe, "models": models, "seeds": seeds}
    if args.tuned:
        run["tuned"] = True
    if args.suite == "restore":
        if args.recipe != "paper" or args.tuned:
            raise SystemExit("paper.py: the restore suite runs the paper's recipe, untuned")
        run["tasks"] = restore_tasks(names)
    else:
        run["signals"] = signal_names(args.suite, names)
    specs = specs_of(run)

    todo = {k: list(stored(spec, store)[1]) if args.resume else spec.jobs() for k, spec in specs.items()}
    planned = sum(len(spec.jobs()) for spec in specs.values())
    left = sum(map(len, todo.values()))
    print(f"{stem}: {planned} fits ({', '.join(f'{k}: {len(s.signals)} signals' for k, s in specs.items())}; "
          f"{len(models)} models x {len(seeds)} seeds), {planned - left} already done")
    if left and not args.no_estimate:
        est = sum(estimate_seconds(spec, todo[k], args.device) for k, spec in specs.items() if todo[k])
        print(f"estimated time: {est / 60:.0f} min (median epoch of each model on the first signal)")
    from tqdm.auto import tqdm

    backend_options = {} if args.backend == "local" else dict(
        address=args.address, cpus_per_task=args.cpus_per_task, gpus_per_task=args.gpus_per_task)
    bar = tqdm(total=sum(len(todo[k]) * spec.epochs for k, spec in specs.items()), unit="epoch", dynamic_ncols=True,
               disable=args.backend != "local")  # Ray tasks report fits, not epochs
    start = time.perf_counter()
    finished, interrupted, ran = 0, False, []
    for k, spec in specs.items():
        recs, interrupted = run_suite(
            spec, store, resume=args.resume, device=args.device, batch_seeds=args.batch_seeds,
            backend=args.backend, backend_options=backend_options,
            on_skip=lambda job, why: why != "kept" and bar.write(f"rerun {job}: stored record {why}"),
            on_fit=lambda job, rec, k=k: ran.append(job) or bar.write(
                f"{k}: {job[0]} {job[1]} seed {job[2]}: psnr_paper {rec['metrics']['psnr_paper']:.2f} dB "
                f"({rec['seconds']:.0f} s)"),
            on_epoch=lambda: bar.update(1))
        finished += len(recs)
        if interrupted:
            break
    bar.close()
    wall = time.perf_counter() - start
    if not finished:
        print("no finished fit")
        return 1
    if args.suite != "restore":  # the score of an all-zero output, per signal (the table's last column)
        spec = specs[args.suite]
        run["zero_output_psnr_paper"] = {name: zero_output_psnr(load()) for name, load in spec.signals.items()}
    save_invocation(store, **run, ran=len(ran), wall_seconds=wall, interrupted=interrupted, machine=machine())
    print(write_outputs(store, stem, args.results))
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
