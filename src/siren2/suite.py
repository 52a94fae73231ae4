"""A grid of fits — signals × models × seeds — that can be stopped and resumed.

The machinery behind ``benchmarks/paper.py``. A suite either fits each signal (the paper's fitting
tables) or, given a ``corruption``, restores a corrupted copy of it and scores the fit against the
clean signal (denoising, inpainting; the corruption's seed is the fit's). Each finished fit is one
record in a [`RecordStore`][] (one JSON-lines file per results table), under the
key ``"<signal>/<model>/<seed>"`` and the [`fingerprint`][] of the suite's
settings; workers return their records and only the driver stores them. A resumed suite keeps the
records that are complete and were made with the same settings, and reruns any that are missing,
damaged, partial or stale. [`aggregate`][] turns the records into per-signal mean ± std over
seeds and the mean over signals.
"""

from __future__ import annotations

import itertools
import math
import os
import statistics
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

from .compare import summarize
from .metrics import metrics
from .records import RecordStore, fingerprint
from .runs import run_batch
from .spec import resolve
from .signal import Signal
from .restoration import CorruptionSpec, restore
from .tuning import tune

__all__ = ["SuiteSpec", "run_suite", "run_unit", "stored", "why_not", "record_key", "shared_file", "open_store",
           "runtime_of", "aggregate", "curves", "fmt", "pack_curve", "unpack_curve", "packed", "unpacked",
           "CURVE_DIGITS", "CURVES", "INPUT"]

CURVE_DIGITS = 4  # decimals of a stored psnr_paper curve (dB); seconds_at: to the millisecond below
# A record's per-epoch curves are stored packed (:func:`pack_curve`): the decimals, then the first value and
# the differences, in units of the last decimal; a records file holds every fit's curves, so this halves it.
CURVES = ("psnr_paper_per_epoch", "seconds_at")
INPUT = "input"  # restoration suites: the corrupted input itself, scored like one more model


@dataclass(frozen=True)
class SuiteSpec:
    """What a suite runs: signals × models × seeds, with the settings that shape a result.

    Attributes
    ----------
    name
        The suite's name; its records file is ``<name>.jsonl``.
    signals
        Name → loader (called once, when first needed).
    models
        Registered models, or labels of ``variants``.
    seeds
        The seeds.
    preset
        The preset.
    epochs
        The epochs of every fit.
    settings
        Everything that shapes a result (scale, epochs, samples, …): a stored record made with other
        settings is stale and rerun.
    corruption
        Restoration: corrupt with the seed, score against the clean signal; None: fit the signal.
    recipe
        The training recipe (the paper's tables use the paper's).
    model_options
        Network shape over the preset's (width, hidden_layers).
    fit_options
        FitConfig fields over the recipe's (e.g. lr).
    variants
        Label → (registered model, FitConfig fields over the model's), e.g.
        ``{"finer@fullbatch": ("finer", {"batch_size": 30_000})}``.
    timeline
        Records keep the seconds at the end of each epoch (``seconds_at``).
    tuned
        Each job is a tuning ([`siren2.tuning.tune`][]): the model's knobs and peak rate searched on
        held-out samples, then the best setting fitted; its record keeps what was found and the cost.
    """

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
    timeline: bool = False  # records keep the seconds at the end of each epoch (``seconds_at``)
    tuned: bool = False  # each job a tuning (siren2.tuning.tune): search, then the best setting's fit

    def jobs(self) -> list[tuple[str, str, int]]:
        """The jobs in run order: signal-major, then seed, then model.

        Returns
        -------
        list of (str, str, int)
            (signal, model, seed).
        """
        return [(s, m, k) for s in self.signals for k in self.seeds for m in self.models]


def record_key(spec: SuiteSpec, job: tuple, shared: bool = False) -> str:
    """A job's key in the records file.

    Parameters
    ----------
    spec
        The suite.
    job
        (signal, model, seed).
    shared
        The file is shared by several suites ([`shared_file`][]).

    Returns
    -------
    str
        ``"<signal>/<model>/<seed>"``, prefixed by ``"<spec.name>/"`` when ``shared``.
    """
    key = "/".join(map(str, job))
    return f"{spec.name}/{key}" if shared else key


def shared_file(store: RecordStore, spec: SuiteSpec) -> bool:
    """Whether ``store`` is not the suite's own file ``<spec.name>.jsonl`` (its keys then name the suite).

    Parameters
    ----------
    store
        The record store.
    spec
        The suite.

    Returns
    -------
    bool
    """
    return store.path.stem != spec.name


def open_store(store: RecordStore | str | os.PathLike, spec: SuiteSpec) -> RecordStore:
    """The suite's record store.

    Parameters
    ----------
    store
        A store (returned as it is), a ``.jsonl`` path, or a folder (then ``<folder>/<spec.name>.jsonl``).
    spec
        The suite.

    Returns
    -------
    RecordStore
    """
    if isinstance(store, RecordStore):
        return store
    path = Path(store)
    return RecordStore(path if path.suffix == ".jsonl" else path / f"{spec.name}.jsonl")


def why_not(rec: dict | None, spec: SuiteSpec) -> str:
    """Why ``rec`` is not a complete record of a job of ``spec`` made with its settings.

    Parameters
    ----------
    rec
        The stored record, or None.
    spec
        The suite.

    Returns
    -------
    str
        "" if it is; else "missing", "made with other settings", "partial" or "incomplete metrics".
    """
    if rec is None:
        return "missing"
    if rec.get("fingerprint") != fingerprint(spec.settings):
        return "made with other settings"
    if rec.get("complete") is not True:
        return "partial"
    metrics = rec.get("metrics")
    curve = rec.get("psnr_paper_per_epoch")
    runtime = rec.get("runtime") or {}
    ended_by_rule = runtime.get("stopped_by") not in (None, "epochs", "interrupted")  # e.g. the divergence guard
    if not isinstance(metrics, dict) or not isinstance(metrics.get("psnr_paper"), (int, float)) \
            or not isinstance(curve, list) \
            or len(curve) != (runtime.get("epochs_run") if ended_by_rule else spec.epochs):
        return "incomplete metrics"
    return ""


def stored(spec: SuiteSpec, store: RecordStore | str | os.PathLike) -> tuple[list[dict], dict[tuple, str]]:
    """What ``store`` holds of ``spec``.

    Parameters
    ----------
    spec
        The suite.
    store
        As [`open_store`][] takes it.

    Returns
    -------
    records : list of dict
        The complete, current record of each job that has one, in job order.
    todo : dict
        Each other job → why it has none ([`why_not`][]).
    """
    store = open_store(store, spec)
    by_key = {rec.get("key"): unpacked(rec) for rec in store.records()}  # a key stored twice: its last record
    records, todo = [], {}
    for job in spec.jobs():
        rec = by_key.get(record_key(spec, job, shared_file(store, spec)))
        why = why_not(rec, spec)
        if why:
            todo[job] = why
        else:
            records.append(rec)
    return records, todo


def run_suite(spec: SuiteSpec, store: RecordStore | str | os.PathLike, *, resume: bool = True,
              device: str | None = None, batch_seeds: bool = False, backend: str = "local",
              backend_options: dict | None = None,
              on_skip: Callable[[tuple, str], None] | None = None,
              on_fit: Callable[[tuple, dict], None] | None = None,
              on_epoch: Callable[[], None] | None = None) -> tuple[list[dict], bool]:
    """Run every job of ``spec`` not already in ``store``.

    With ``resume``, a job whose record is complete and was made with ``spec.settings`` is kept; the
    rest run, and their records replace the old ones. Each unit of work (a fit, or a batch) runs in
    this process, or with ``backend`` "ray" as a Ray task; either way it returns its records and this
    process stores them, as each unit ends. Ctrl-C stops the suite: finished records stay stored, the
    fit in progress is dropped.

    Parameters
    ----------
    spec
        The suite.
    store
        A [`RecordStore`][], the path of its ``.jsonl`` file, or a folder (then
        ``<folder>/<spec.name>.jsonl``).
    resume
        Keep the complete, current records; False: rerun every job.
    device
        Where the fits run.
    batch_seeds
        Fitting suites: the seeds of one signal and model train as one batched fit
        ([`run_batch`][]: the same results to float rounding; each record's seconds
        are then the batch's).
    backend
        "local" or "ray".
    backend_options
        Ray's: address, cpus_per_task, gpus_per_task.
    on_skip
        ``on_skip(job, why)`` for a stored record that is rerun (why: stale, partial, …) or kept
        (why == "kept").
    on_fit
        ``on_fit(job, record)`` after each finished fit.
    on_epoch
        ``on_epoch()`` after each epoch (in this process only).

    Returns
    -------
    records : list of dict
        In job order.
    interrupted : bool
        Whether Ctrl-C stopped the suite.
    """
    from .backends import run_units

    store = open_store(store, spec)
    kept, why = stored(spec, store) if resume else ([], dict.fromkeys(spec.jobs(), "missing"))
    by_job = {(rec["signal"], rec["model"], rec["seed"]): rec for rec in kept}
    for job in spec.jobs():
        if on_skip and (job in by_job or why[job] != "missing"):
            on_skip(job, "kept" if job in by_job else why[job])
    units: dict[tuple, list[tuple]] = {}
    for job in why:  # a unit: one job, or the seeds of one (signal, model)
        key = job[:2] if batch_seeds and spec.corruption is None else job
        units.setdefault(key, []).append(job)

    def done(unit: list[tuple], recs: list[dict]) -> None:
        if recs:
            store.add(*(packed(rec) for rec in recs))
        for job, rec in zip(unit, recs):
            by_job[job] = rec
            if on_fit:
                on_fit(job, rec)

    def in_job_order() -> list[dict]:
        return [by_job[job] for job in spec.jobs() if job in by_job]

    if backend == "local":
        loaded: dict[str, Signal] = {}
        for unit in units.values():
            recs = run_unit(spec, unit, device=device, loaded=loaded, on_epoch=on_epoch,
                            shared=shared_file(store, spec))
            done(unit, recs)
            if len(recs) < len(unit):
                return in_job_order(), True
        return in_job_order(), False
    unit_list = list(units.values())

    def unit_done(i: int, recs: list[dict] | None, error: str | None) -> None:
        if error:
            raise RuntimeError(f"{unit_list[i]}: {error}")
        done(unit_list[i], recs)

    try:
        run_units(backend, partial(run_unit, spec, device=device, shared=shared_file(store, spec)), unit_list,
                  unit_done, **(backend_options or {}))
    except KeyboardInterrupt:
        return in_job_order(), True
    return in_job_order(), False


def run_unit(spec: SuiteSpec, unit: list[tuple], *, device: str | None = None,
             loaded: dict[str, Signal] | None = None, on_epoch: Callable[[], None] | None = None,
             shared: bool = False) -> list[dict]:
    """Fit the jobs of ``unit`` and return their records; it stores nothing.

    Parameters
    ----------
    spec
        The suite.
    unit
        One job, or the seeds of one signal and model (one batched fit).
    device
        Where the fits run.
    loaded
        Signals loaded so far, by name (filled in as they load).
    on_epoch
        ``on_epoch()`` after each epoch of each fit.
    shared
        Key the records for a records file several suites share ([`record_key`][]).

    Returns
    -------
    list of dict
        Fewer records than jobs after Ctrl-C (the fits cut short are dropped).
    """
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
        if spec.tuned:  # one job a unit: the search, then the best setting's fit
            tuning = tune(signal, name, {k: v for k, v in options.items() if k != "model"} | {"seed": seeds[0]})
            runs = [tuning.run]
            extras = [{"tuned": tuning.best, "default": tuning.default, "pick": tuning.pick, "playoff": tuning.playoff,
                       "search_seconds": tuning.search_seconds, "search_fits": len(tuning.candidates),
                       "cost_in_fits": tuning.cost}]
        elif spec.corruption is None:
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
    fp = fingerprint(spec.settings)
    for job, run, extra in zip(unit, runs, extras):
        if run.result.interrupted:
            break
        rec = {
            "key": record_key(spec, job, shared), "fingerprint": fp, "complete": True,
            "signal": signal_name, "model": model, "seed": job[2],
            "points": signal.num_points, "parameters": run.config["model"]["parameters"],
            "metrics": run.metrics, "seconds": run.result.seconds,
            "psnr_paper_per_epoch": [round(x, CURVE_DIGITS) for x in run.result.psnr_history],
            **({"seconds_at": [math.floor(t * 1000) / 1000 for t in run.result.seconds_at]} if spec.timeline else {}),
            **extra,
        }
        runtime = runtime_of(run.config.get("runtime") or {})
        if runtime:
            rec["runtime"] = runtime
        records.append(rec)
    return records


def runtime_of(runtime: dict) -> dict:
    """What a record keeps of its run's runtime, where it differs from the usual.

    A fit that did not run its epochs (ended by a rule, [`why_not`][]) says how it ended; one off the
    CPU says where it ran (a table names the machine of GPU records from it, its own machine for the
    rest).

    Parameters
    ----------
    runtime
        The run's config.json ``runtime``.

    Returns
    -------
    dict
        Empty for a CPU fit that ran its epochs.
    """
    out = {}
    if runtime.get("device", "cpu") != "cpu":
        out |= {k: runtime[k] for k in ("device", "gpu", "python", "torch") if k in runtime}
    if runtime.get("stopped_by", "epochs") != "epochs":
        out |= {k: runtime[k] for k in ("stopped_by", "epochs_run") if k in runtime}
    return out


def aggregate(records: list[dict], metrics: list[str]) -> dict:
    """Per signal and model, each metric's mean ± sample std (ddof=1) over seeds; then per model the mean over signals.

    The mean over signals is of the per-signal means, only for models finished on every signal.
    Records of a restoration suite add the corrupted input's scores as the model `INPUT`.

    Parameters
    ----------
    records
        The suite's records.
    metrics
        The metrics to aggregate.

    Returns
    -------
    dict
        ``per_signal`` (signal → model → cell) and ``mean_over_signals`` (model → metric → mean).
    """
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
    """psnr_paper per epoch, mean over seeds, per signal and model (for the suite's figures).

    Parameters
    ----------
    records
        The suite's records.

    Returns
    -------
    dict
        Signal → model → curve.
    """
    out: dict[str, dict[str, list[list[float]]]] = {}
    for rec in records:
        out.setdefault(rec["signal"], {}).setdefault(rec["model"], []).append(rec["psnr_paper_per_epoch"])
    return {s: {m: [statistics.fmean(col) for col in zip(*hs)] for m, hs in per.items()} for s, per in out.items()}


def fmt(cell: dict | None, digits: int = 2) -> str:
    """A cell as text: "mean ± std" (the mean alone for one seed; "–" for no value).

    Parameters
    ----------
    cell
        An [`aggregate`][] cell's metric (``mean``, ``std``), or None.
    digits
        Decimals.

    Returns
    -------
    str
    """
    if not cell:
        return "–"
    mean, std = cell["mean"], cell["std"]
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    return f"{mean:.{digits}f}" if std is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def pack_curve(values: list[float], decimals: int) -> list | str:
    """``values`` (each a multiple of 10^-decimals) as ``"<decimals>:<first>,<difference>,..."``, integers
    in units of 10^-decimals; unpacked exactly (:func:`unpack_curve`). A curve holding a non-finite
    value (a diverged epoch) is kept as it is."""
    if not all(math.isfinite(v) for v in values):
        return list(values)
    units = [round(v * 10**decimals) for v in values]
    steps = units[:1] + [b - a for a, b in zip(units, units[1:])]
    return f"{decimals}:" + ",".join(map(str, steps))


def unpack_curve(packed: list | str) -> list[float]:
    """The curve :func:`pack_curve` stored: each value the double nearest its decimal, as JSON would give."""
    if not isinstance(packed, str):
        return list(packed)
    decimals, _, body = packed.partition(":")
    scale = 10 ** int(decimals)
    return [u / scale for u in itertools.accumulate(int(s) for s in body.split(","))] if body else []


def packed(rec: dict) -> dict:
    """``rec`` with its curves packed as a records file stores them (``seconds_at`` to the millisecond)."""
    digits = {"psnr_paper_per_epoch": CURVE_DIGITS, "seconds_at": 3}
    return rec | {k: pack_curve(rec[k], digits[k]) for k in CURVES if isinstance(rec.get(k), list)}


def unpacked(rec: dict | None) -> dict | None:
    """``rec`` with its curves as lists of floats."""
    if rec is None:
        return None
    return rec | {k: unpack_curve(rec[k]) for k in CURVES if isinstance(rec.get(k), str)}
