"""A grid of fits — signals × models × seeds — that can be stopped and resumed.

The machinery behind ``benchmarks/paper.py``. A suite either fits each signal (the paper's fitting
tables) or, given a ``corruption``, restores a corrupted copy of it and scores the fit against the
clean signal (denoising, inpainting; the corruption's seed is the fit's). Each finished fit is
stored as one JSON record (written to a temporary name, then renamed) in a results folder; a
resumed suite skips the records that are complete and were made with the same settings, and
reruns any that are missing, unreadable, partial or stale. :func:`aggregate` turns the records
into per-signal mean ± std over seeds and the mean over signals.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

from . import __version__
from .compare import summarize
from .metrics import metrics
from .runs import run_batch
from .spec import resolve
from .signal import Signal
from .restoration import CorruptionSpec, restore

RECORD_FORMAT = 1
INPUT = "input"  # restoration suites: the corrupted input itself, scored like one more model


@dataclass(frozen=True)
class SuiteSpec:
    """What a suite runs. ``settings`` holds everything that shapes a result (scale, epochs,
    samples, …): a stored record made with other settings is stale and rerun."""

    name: str
    signals: dict[str, Callable[[], Signal]]  # name -> loader (called once, when first needed)
    models: list[str]
    seeds: list[int]
    preset: str
    epochs: int
    settings: dict
    corruption: CorruptionSpec | None = None  # restoration: corrupt with the seed, score against the clean
    recipe: str = "paper"  # the paper's tables use the paper's recipe
    model_options: dict = field(default_factory=dict)  # network shape over the preset's (width, hidden_layers)
    fit_options: dict = field(default_factory=dict)  # FitConfig fields over the recipe's (e.g. lr)
    # A job's model may be a variant: label -> (registered model, FitConfig fields over the model's),
    # e.g. {"finer@fullbatch": ("finer", {"batch_size": 30_000})}; other labels are registered models.
    variants: dict[str, tuple[str, dict]] = field(default_factory=dict)

    def jobs(self) -> list[tuple[str, str, int]]:
        """(signal, model, seed) in run order: signal-major, then seed, then model."""
        return [(s, m, k) for s in self.signals for k in self.seeds for m in self.models]


def record_path(folder: Path, signal: str, model: str, seed: int) -> Path:
    return Path(folder) / f"{Path(signal).stem}__{model}__seed{seed}.json"


def load_record(path: Path, spec: SuiteSpec) -> tuple[dict | None, str]:
    """(record, "") if ``path`` holds a complete record for ``spec``'s settings, else (None, why)."""
    if not path.exists():
        return None, "missing"
    try:
        rec = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"unreadable ({type(e).__name__})"
    if not isinstance(rec, dict) or rec.get("format") != RECORD_FORMAT or rec.get("complete") is not True:
        return None, "partial or of another format"
    if rec.get("settings") != spec.settings:
        return None, "made with other settings"
    metrics = rec.get("metrics")
    curve = rec.get("psnr_paper_per_epoch")
    runtime = (rec.get("config") or {}).get("runtime") or {}
    ended_by_rule = runtime.get("stopped_by") not in (None, "epochs", "interrupted")  # e.g. the divergence guard
    if not isinstance(metrics, dict) or not isinstance(metrics.get("psnr_paper"), (int, float)) \
            or not isinstance(curve, list) \
            or len(curve) != (runtime.get("epochs_run") if ended_by_rule else spec.epochs):
        return None, "incomplete metrics"
    return rec, ""


def _write_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=float) + "\n")
    os.replace(tmp, path)


def run_suite(spec: SuiteSpec, folder: Path, *, resume: bool = True, device: str | None = None,
              batch_seeds: bool = False, backend: str = "local", backend_options: dict | None = None,
              on_skip: Callable[[tuple, str], None] | None = None,
              on_fit: Callable[[tuple, dict], None] | None = None,
              on_epoch: Callable[[], None] | None = None) -> tuple[list[dict], bool]:
    """Run every job of ``spec`` not already stored in ``folder``; returns (records, interrupted).

    With ``batch_seeds`` (fitting suites), the seeds of one signal and model train as one batched
    fit (:func:`~siren2.runs.run_batch`: the same results to float rounding; each record's seconds
    are then the batch's). Each unit of work (a fit, or a batch) runs in this process, or with
    ``backend`` "ray" as a Ray task (``backend_options``: address, cpus_per_task, gpus_per_task)
    that writes its own records.
    ``on_skip(job, why)`` reports a stored record that is rerun (why: unreadable, stale, …) or
    kept (why == "kept"); ``on_fit(job, record)`` each finished fit; ``on_epoch()`` each epoch
    (in this process only). Ctrl-C stops the suite: finished records stay on disk, the fit in
    progress is dropped.
    """
    from .backends import run_units

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    records, todo = [], []
    for job in spec.jobs():
        if resume:
            rec, why = load_record(record_path(folder, *job), spec)
            if rec is not None:
                records.append(rec)
                if on_skip:
                    on_skip(job, "kept")
                continue
            if why != "missing" and on_skip:
                on_skip(job, why)
        todo.append(job)
    units: dict[tuple, list[tuple]] = {}
    for job in todo:  # a unit: one job, or the seeds of one (signal, model)
        key = job[:2] if batch_seeds and spec.corruption is None else job
        units.setdefault(key, []).append(job)

    def done(unit: list[tuple], recs: list[dict]) -> None:
        for job, rec in zip(unit, recs):
            records.append(rec)
            if on_fit:
                on_fit(job, rec)

    if backend == "local":
        loaded: dict[str, Signal] = {}
        for unit in units.values():
            recs = run_unit(spec, folder, unit, device=device, loaded=loaded, on_epoch=on_epoch)
            done(unit, recs)
            if len(recs) < len(unit):
                return records, True
        return records, False
    unit_list = list(units.values())

    def unit_done(i: int, recs: list[dict] | None, error: str | None) -> None:
        if error:
            raise RuntimeError(f"{unit_list[i]}: {error}")
        done(unit_list[i], recs)

    try:
        run_units(backend, partial(run_unit, spec, folder, device=device), unit_list, unit_done,
                  **(backend_options or {}))
    except KeyboardInterrupt:
        return records, True
    return records, False


def run_unit(spec: SuiteSpec, folder: Path, unit: list[tuple], *, device: str | None = None,
             loaded: dict[str, Signal] | None = None, on_epoch: Callable[[], None] | None = None) -> list[dict]:
    """Fit the jobs of ``unit`` (one, or seeds of one signal and model: one batched fit), write
    each one's record atomically, and return the records; fewer than the jobs after Ctrl-C (the
    fits cut short are dropped)."""
    loaded = {} if loaded is None else loaded
    signal_name, model = unit[0][:2]
    seeds = [job[2] for job in unit]
    if signal_name not in loaded:
        loaded[signal_name] = spec.signals[signal_name]()
    signal = loaded[signal_name]
    name, variant = spec.variants.get(model, (model, {}))
    options = (spec.model_options | spec.fit_options | variant
               | dict(model=name, preset=spec.preset, recipe=spec.recipe, epochs=spec.epochs, device=device))
    progress = (lambda epoch, ks: [on_epoch() for _ in ks]) if on_epoch else None  # one tick per fit-epoch
    extras = [{}] * len(unit)
    try:
        if spec.corruption is None:
            runs = run_batch([resolve(signal, options | {"seed": s}) for s in seeds], [signal] * len(unit),
                             on_epoch=progress)
        else:  # restoration, the paper's protocol (a fixed budget, the preset's network): one job a unit
            c = spec.corruption.apply(signal, seeds[0])
            runs = [restore(c.signal, c.mask, name, clean=signal, stop="fixed", capacity=0, bandwidths=(1.0,),
                            prior_weights=(), shrink=False, keep_observed=False, window=0,
                            callbacks=[lambda *_: on_epoch() and None] if on_epoch else None,
                            **{k: v for k, v in options.items() if k != "model"} | {"seed": seeds[0]})]
            extras = [{"corruption": c.info, "input_metrics": metrics(signal, c.signal.values)}]
    except KeyboardInterrupt:
        return []
    records = []
    for job, run, extra in zip(unit, runs, extras):
        if run.result.interrupted:
            break
        rec = {
            "format": RECORD_FORMAT, "complete": True, "siren2_version": __version__,
            "suite": spec.name, "settings": spec.settings, "signal": signal_name, "model": model, "seed": job[2],
            "points": signal.num_points, "metrics": run.metrics,
            "psnr_paper_per_epoch": run.result.psnr_history, "seconds": run.result.seconds,
            "seconds_at": [round(t, 4) for t in run.result.seconds_at],
            "parameters": run.config["model"]["parameters"], "config": run.config, **extra,
        }
        _write_atomic(record_path(folder, *job), rec)
        records.append(rec)
    return records


def aggregate(records: list[dict], metrics: list[str]) -> dict:
    """Per signal and model: each metric's mean ± sample std (ddof=1) over seeds; then per model the
    mean over signals of the per-signal means (only for models finished on every signal). Records of
    a restoration suite add the corrupted input's scores as the model :data:`INPUT`."""
    cells: dict[str, dict[str, dict]] = {}
    grouped: dict[tuple[str, str], list[dict]] = {}
    inputs = {}
    for rec in records:
        grouped.setdefault((rec["signal"], rec["model"]), []).append(rec)
        if "input_metrics" in rec:
            inputs[(rec["signal"], rec["seed"])] = {"seed": rec["seed"], "metrics": rec["input_metrics"],
                                                     "seconds": 0.0, "parameters": 0}
    for (sig, _), rec in inputs.items():
        grouped.setdefault((sig, INPUT), []).append(rec)
    for (sig, model), recs in grouped.items():
        recs = sorted(recs, key=lambda r: r["seed"])
        cells.setdefault(sig, {})[model] = {
            "seeds": [r["seed"] for r in recs],
            **{k: summarize([r["metrics"][k] for r in recs]) for k in metrics if k in recs[0]["metrics"]},
            "seconds": summarize([r["seconds"] for r in recs]),
            "parameters": recs[0]["parameters"],
        }
    models = sorted({m for per in cells.values() for m in per})
    overall = {}
    for model in models:
        if all(model in per for per in cells.values()):
            overall[model] = {k: statistics.fmean(per[model][k]["mean"] for per in cells.values())
                              for k in metrics if all(k in per[model] for per in cells.values())}
    return {"per_signal": cells, "mean_over_signals": overall}


def curves(records: list[dict]) -> dict[str, dict[str, list[float]]]:
    """psnr_paper per epoch, mean over seeds, per signal and model (for the suite's figures)."""
    out: dict[str, dict[str, list[list[float]]]] = {}
    for rec in records:
        out.setdefault(rec["signal"], {}).setdefault(rec["model"], []).append(rec["psnr_paper_per_epoch"])
    return {s: {m: [statistics.fmean(col) for col in zip(*hs)] for m, hs in per.items()} for s, per in out.items()}


def fmt(cell: dict | None, digits: int = 2) -> str:
    """"mean ± std" (or the mean alone for one seed; "–" for no value)."""
    if not cell:
        return "–"
    mean, std = cell["mean"], cell["std"]
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"
