"""Many files, one fit each: the library behind ``siren2 fit-many``.

Each input gets its own sub-folder with what ``siren2 fit`` writes ([`siren2.runs.write_run`][],
all at once in a [`RunFolder`][]). [`fit_many`][] plans units of work (one job, or
up to ``batch`` same-grid jobs trained as one batched fit, [`siren2.runs.run_batch`][]) and runs them
on a backend ([`siren2.backends`][]: this process, worker processes, or Ray tasks); a bad input
becomes a ``failed`` record with its one-line error and never stops the others. A sub-folder that
holds a finished fit (its ``config.json`` and weights) is ``kept`` on resume.
"""

from __future__ import annotations

import glob
import json
import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable

from .errors import InputError
from .io import SUFFIXES
from .io.files import write_text
from .runs import Run, RunFolder, run_batch, write_run
from .signal import Signal
from .records import RecordStore, differing, fingerprint
from .spec import RunSpec, load_input, resolve

__all__ = ["FitJob", "fit_many", "record_group", "plan", "expand_inputs", "folder_names", "finished", "write_index",
           "job_fingerprint", "failed"]


@dataclass(frozen=True)
class FitJob:
    """One file's fit: its input, its output folder, and the run's options.

    Attributes
    ----------
    path
        The input file.
    out
        Its output folder.
    options
        The run's options as given ([`siren2.spec.resolve`][]; None: not given).
    figures
        Write psnr.png and audio.png / image.png beside the outputs.
    force
        Write into a folder that already holds files.
    """

    path: str
    out: str
    options: dict = field(default_factory=dict)  # the run's options as given (None: not given)
    figures: bool = True  # psnr.png and audio.png / image.png beside the outputs
    force: bool = False


def prepare(job: FitJob) -> tuple[RunFolder, Signal, RunSpec]:
    """The job's output folder (refused early, before any work), its signal and its resolved spec."""
    out = RunFolder(job.out, force=job.force)
    signal = load_input(job.options, job.path)
    return out, signal, resolve(signal, job.options | {"input": job.path})


def record_group(jobs: list[FitJob], keep_finished: bool = False) -> list[dict]:
    """Fit ``jobs``, write each one's outputs, and describe each for the index.

    Jobs on one grid train as one batched fit ([`run_batch`][]); a job whose input or
    folder is refused fails alone. Ctrl-C: the fits cut short are not written (a resumed run redoes
    them) and KeyboardInterrupt is raised.

    Parameters
    ----------
    jobs
        Jobs of the same settings.
    keep_finished
        A rerun after a killed worker: a job whose folder already holds a finished fit is recorded
        from it, not refitted.

    Returns
    -------
    list of dict
        Per job, in order: ok (metrics, seconds, epochs, why it stopped) or failed (the one-line error).
    """
    records: dict[int, dict] = {}
    ready: list[tuple[int, RunFolder, Signal, RunSpec]] = []
    start = time.perf_counter()
    for i, job in enumerate(jobs):
        if keep_finished and not job.force and finished(Path(job.out)):
            records[i] = from_folder(job, "ok")
            continue
        try:
            ready.append((i, *prepare(job)))
        except ERRORS as e:
            records[i] = failed(job, e, time.perf_counter() - start)
    for part in _same_grid(ready):
        try:
            runs = run_batch([spec for *_, spec in part], [sig for _, _, sig, _ in part])
        except ERRORS as e:
            records |= {i: failed(jobs[i], e, time.perf_counter() - start) for i, *_ in part}
            continue
        if any(run.result.interrupted for run in runs):
            raise KeyboardInterrupt
        for (i, out, sig, _), run in zip(part, runs):
            try:
                with out as folder:
                    write_run(folder, run, sig, figures=jobs[i].figures)
            except ERRORS as e:  # e.g. a full disk: nothing of this job's folder is left
                records[i] = failed(jobs[i], e, run.result.seconds)
                continue
            records[i] = ok(jobs[i], run)
    return [records[i] for i in range(len(jobs))]


def _same_grid(ready: list[tuple]) -> list[list[tuple]]:
    """The prepared jobs in groups of one grid and channel count (a planned group's probe can be
    wrong only if a file changed since)."""
    groups: dict[tuple, list] = {}
    for item in ready:
        groups.setdefault(_grid(item[2]), []).append(item)
    return list(groups.values())


def _grid(signal: Signal) -> tuple:
    """What inputs must share to train as one batched fit."""
    return signal.grid, signal.channels, signal.num_samples


ERRORS = (InputError, ValueError, OSError)


def failed(job: FitJob, e: BaseException, seconds: float) -> dict:
    """The index record of a job that failed.

    Parameters
    ----------
    job
        The job.
    e
        The error; its message's first line is recorded (an OSError's file and reason).
    seconds
        The time spent.

    Returns
    -------
    dict
        ``input``, ``folder``, ``status`` "failed", ``error``, ``seconds``.
    """
    text = str(e).strip().splitlines()
    if isinstance(e, OSError) and e.filename:
        text = [f"{e.filename}: {e.strerror}"]
    return {"input": job.path, "folder": Path(job.out).name, "status": "failed",
            "error": text[0] if text else type(e).__name__, "seconds": seconds}


def ok(job: FitJob, run: Run) -> dict:
    rec = {"input": job.path, "folder": Path(job.out).name, "status": "ok", "metrics": run.metrics,
           "parameters": run.config["model"]["parameters"], "epochs_run": run.result.epochs_run,
           "stopped_by": run.result.stopped_by, "seconds": run.result.seconds}
    batch = run.config["runtime"].get("batch")
    return rec | ({"batch": batch} if batch else {})


def from_folder(job: FitJob, status: str) -> dict:
    """The index record of a finished fit read back from its folder (metrics.json, config.json)."""
    folder = Path(job.out)
    rec = {"input": job.path, "folder": folder.name, "status": status}
    try:
        m = json.loads((folder / "metrics.json").read_text())
        cfg = json.loads((folder / "config.json").read_text())
        return rec | {"metrics": m["metrics"], "parameters": cfg["model"]["parameters"],
                      "epochs_run": m["epochs_run"], "stopped_by": m["stopped_by"], "seconds": m["seconds"]}
    except (OSError, ValueError, KeyError, TypeError):
        return rec  # a fit from an older siren2: kept, without its numbers


def plan(jobs: list[FitJob], batch: int) -> tuple[list[list[FitJob]], list[tuple[FitJob, dict]]]:
    """Units of work: groups of at most ``batch`` jobs on one grid (same settings), in input order.

    Parameters
    ----------
    jobs
        The jobs to run.
    batch
        The most jobs a unit; 1: one job a unit, read by its worker (no input is read here).

    Returns
    -------
    units : list of list of FitJob
        The units.
    unreadable : list of (FitJob, dict)
        The inputs that cannot be read, with their failed records.
    """
    if batch <= 1:
        return [[job] for job in jobs], []
    keys: dict[tuple, list[FitJob]] = {}
    bad = []
    for job in jobs:
        try:
            sig = load_input(job.options, job.path)
        except ERRORS as e:
            bad.append((job, failed(job, e, 0.0)))
            continue
        settings = fingerprint({k: v for k, v in job_fingerprint(job).items() if k != "input"})
        keys.setdefault((*_grid(sig), settings), []).append(job)
    order = {id(job): i for i, job in enumerate(jobs)}
    units = [group[i : i + batch] for group in keys.values() for i in range(0, len(group), batch)]
    return sorted(units, key=lambda u: order[id(u[0])]), bad


def expand_inputs(items: list[str]) -> list[Path]:
    """The input files that ``items`` name.

    Parameters
    ----------
    items
        Files as given; folders: every audio, image, .npy volume or mesh file in them (sorted, not
        recursive); globs: what they match.

    Returns
    -------
    list of Path
        Resolved, without repeats.

    Raises
    ------
    InputError
        For a missing path, a glob that matches nothing, or no file at all.
    """
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
        elif p.exists():
            files.append(p)
        elif glob.has_magic(item):
            matched = sorted(Path(m) for m in glob.glob(item) if Path(m).is_file())
            if not matched:
                raise InputError(f"{item}: matches no file")
            files += matched
        else:
            raise InputError(f"{item}: no such file or folder")
    unique = list(dict.fromkeys(f.resolve() for f in files))
    if not unique:
        raise InputError(f"{', '.join(items)}: no audio, image, volume or mesh file")
    return unique


def folder_names(files: list[Path]) -> list[str]:
    """A sub-folder name per file: its stem, or stem_suffix where stems repeat, numbered if still equal.

    Parameters
    ----------
    files
        The inputs.

    Returns
    -------
    list of str
    """
    names, seen = [], {}
    stems = [f.stem for f in files]
    for f in files:
        name = f.stem if stems.count(f.stem) == 1 else f"{f.stem}_{f.suffix.lstrip('.')}"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names


def finished(folder: Path) -> bool:
    """Whether ``folder`` holds a finished fit (config.json and model.safetensors).

    The rename into place is atomic, so a finished fit is whole.

    Parameters
    ----------
    folder
        A job's output folder.

    Returns
    -------
    bool
    """
    return (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def fit_many(jobs: list[FitJob], *, index=None, resume: bool = False, batch: int = 1, backend: str = "local",
             on_result: Callable[[dict], None] | None = None, **backend_options) -> list[dict]:
    """Run every job and return their index records, in job order.

    Parameters
    ----------
    jobs : list of FitJob
        One per input, each with its own output folder.
    index : path, optional
        The record store (JSON lines, [`RecordStore`][]; ``siren2 fit-many`` uses
        ``OUT/index.jsonl``): each job's record is added as it ends, so a killed run loses only the
        fits in progress.
    resume : bool
        Keep a job whose folder holds a finished fit recorded in ``index`` with the same settings
        (``kept``); a finished folder whose record is missing is fitted again.
    batch : int
        Same-grid jobs train this many at a time as one batched fit.
    backend : str
        Where each unit of work (a job, or a batch) runs ([`siren2.backends`][]: ``local`` with
        ``workers``, or ``ray`` with ``address``, ``cpus_per_task``, ``gpus_per_task``).
    on_result : callable, optional
        ``on_result(record)`` as each job ends.
    **backend_options
        The backend's options.

    Returns
    -------
    list of dict
        The index records: ok, kept, failed (with its one-line error) or, after Ctrl-C, interrupted
        (nothing of theirs written; a resumed run fits them).

    Raises
    ------
    InputError
        On resume, before any work, if ``index`` holds a finished fit made with other settings (a
        resumed run must be the same run); for an unknown backend.
    """
    from .backends import run_units

    store = None if index is None else RecordStore(index)
    records: dict[int, dict] = {}
    position = {job.out: i for i, job in enumerate(jobs)}

    def store_record(rec: dict, job: FitJob) -> None:
        records[position[job.out]] = rec
        if store is not None:
            settings = job_fingerprint(job)
            store.add(rec | {"key": Path(job.out).name, "fingerprint": fingerprint(settings), "settings": settings,
                             "complete": rec["status"] in ("ok", "kept")})

    def done(rec: dict, job: FitJob) -> None:
        store_record(rec, job)
        if on_result:
            on_result(rec)

    latest = {} if store is None or not resume else {r.get("key"): r for r in store.records()}
    todo, kept = [], []
    for job in jobs:
        if resume and finished(Path(job.out)):
            settings, rec = job_fingerprint(job), latest.get(Path(job.out).name)
            if rec is not None and rec.get("complete") and rec.get("fingerprint") == fingerprint(settings):
                kept.append((rec, job))
                continue
            if rec is not None and rec.get("complete"):  # finished with other settings: not this run's
                differ = differing(rec.get("settings") or {}, settings) or ["settings"]
                raise InputError(f"{job.out}: holds a fit with other {', '.join(differ)}; resume with the same "
                                 "options, or --force to refit")
            job = replace(job, force=True)  # finished but not recorded (a kill in between): fitted again
        todo.append(job)
    for rec, job in kept:
        done(rec | {"status": "kept"}, job)
    units, unreadable = plan(todo, batch)
    for job, rec in unreadable:
        done(rec, job)

    def unit_done(i: int, recs: list[dict] | None, error: str | None) -> None:
        for k, job in enumerate(units[i]):
            done(recs[k] if recs is not None else failed(job, RuntimeError(error), 0.0), job)

    fn = partial(record_group, keep_finished=backend != "local")
    try:
        run_units(backend, fn, units, unit_done, **backend_options)
    except KeyboardInterrupt:  # the finished fits stay; the rest are marked for a resumed run
        for i, job in enumerate(jobs):
            if i not in records:
                store_record({"input": job.path, "folder": Path(job.out).name, "status": "interrupted"}, job)
    return [records[i] for i in range(len(jobs))]


def write_index(out: Path, records: list[dict]) -> None:
    """Write index.md, a table of the records of [`fit_many`][], atomically.

    Parameters
    ----------
    out
        The folder (made if needed).
    records
        The index records.
    """
    from .metrics import CONVENTIONS

    shown = ("psnr_paper", "snr", "psnr", "ssim", "iou", "chamfer")
    keys = sorted({k for r in records for k in r.get("metrics", {}) if k in shown})
    stopped = sum(r["status"] == "interrupted" for r in records)
    lines = ["# siren2 fit-many", "", f"{len(records)} inputs: {sum(r['status'] == 'ok' for r in records)} fitted, "
             f"{sum(r['status'] == 'kept' for r in records)} kept from an earlier run, "
             f"{sum(r['status'] == 'failed' for r in records)} failed"
             + (f", {stopped} not fitted (interrupted: --resume fits them)." if stopped else "."), "",
             "| input | folder | status | " + " | ".join(keys) + " | epochs | seconds |",
             "|---|---|---|" + "---:|" * (len(keys) + 2)]
    for r in records:
        m = r.get("metrics", {})
        cells = [f"{m[k]:.2f}" if k in m else "–" for k in keys]
        status = r["status"] if r["status"] != "failed" else f"failed: {r['error']}"
        secs = f"{r['seconds']:.1f}" if "seconds" in r and r["status"] == "ok" else "–"
        lines.append(f"| {Path(r['input']).name} | {r['folder']} | {status} | " + " | ".join(cells)
                     + f" | {r.get('epochs_run', '–')} | {secs} |")
    lines += ["", "Conventions: " + "; ".join(f"{k}: {CONVENTIONS[k]}" for k in keys) + "." if keys else ""]
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "index.md", "\n".join(lines) + "\n")


def job_fingerprint(job: FitJob) -> dict:
    """What a job's record must have been made with to be kept on resume.

    Parameters
    ----------
    job
        The job.

    Returns
    -------
    dict
        Its input, its options (less ``input``) and ``figures``.
    """
    return {"input": job.path, "options": {k: v for k, v in job.options.items() if k != "input"},
            "figures": job.figures}
