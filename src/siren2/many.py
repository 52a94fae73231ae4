"""Many signals: one fit per file of a list, folder or glob, each into its own sub-folder, with an
index of every fit; the library behind ``siren2 fit`` and ``siren2 fit-many``.

A :class:`FitJob` holds everything one file's fit needs (plain data, so that a worker process can
run it); :func:`fit_file` runs it and writes the same outputs as ``siren2 fit``, all at once
(:class:`~siren2.runs.OutputDir`). :func:`fit_many` runs jobs one after the other or in ``workers``
processes; a bad input becomes a ``failed`` record with its one-line error and never stops the
others. A sub-folder that holds a finished fit (its ``config.json``) is ``kept`` on resume.
"""

from __future__ import annotations

import glob
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .errors import InputError
from .runs import OutputDir, Run, run_fit, write_run
from .signals import (AUDIO_SUFFIXES, IMAGE_SUFFIXES, MAX_POINTS, MESH_RESOLUTION, MESH_SUFFIXES, VOLUME_SUFFIXES,
                      load_signal)

SUFFIXES = AUDIO_SUFFIXES | IMAGE_SUFFIXES | VOLUME_SUFFIXES | set(MESH_SUFFIXES)


@dataclass(frozen=True)
class FitJob:
    """One file's fit: input, output folder, model, preset and recipe, and every override."""

    path: str
    out: str
    model: str = "siren2"
    preset: str | None = None
    recipe: str = "fast"
    fit_fields: dict = field(default_factory=dict)  # FitConfig fields over the recipe's (None: not given)
    model_options: dict = field(default_factory=dict)  # width, hidden_layers, omega0, omega_first
    winner_options: dict = field(default_factory=dict)  # s0, s1, rule, centroid (WINNER models)
    max_samples: int | None = None  # audio: the first N samples (None: all)
    max_points: int = MAX_POINTS
    mono: bool = True
    mesh_resolution: int = MESH_RESOLUTION  # a mesh: grid points per axis
    mesh_field: str = "sdf"  # a mesh: "sdf" or "occupancy"
    force: bool = False


def fit_file(job: FitJob, progress: bool = False) -> Run:
    """Fit ``job.path`` and write its outputs to ``job.out`` (refused if it holds files, unless
    ``force``); bad input raises :class:`~siren2.errors.InputError` before anything is written."""
    from .models import winner_models
    from .presets import get_preset
    from .train import FitConfig

    out = OutputDir(job.out, force=job.force)  # refuse early, before any work
    winner = job.model in winner_models()
    if not winner and (job.winner_options.get("s0") is not None or job.winner_options.get("s1") is not None):
        raise InputError(f"--s0/--s1 apply to WINNER models only ({', '.join(winner_models())}), not {job.model!r}")
    signal = load_signal(job.path, max_samples=job.max_samples, mono=job.mono, max_points=job.max_points,
                         mesh_resolution=job.mesh_resolution, mesh_field=job.mesh_field)
    preset_name, _ = get_preset(job.preset, signal.in_dim)
    cfg = FitConfig.resolve(preset_name, job.recipe, signal.in_dim, model=job.model,
                            width=job.model_options.get("width"), **job.fit_fields, progress=progress)
    run = run_fit(signal, job.model, preset=preset_name, fit_config=cfg, model_options=job.model_options,
                  winner_options=job.winner_options if winner else None)
    with out:
        write_run(out, run, signal)
    return run


def record(job: FitJob) -> dict:
    """Run ``job`` and describe it for the index: status ok (metrics, seconds, epochs, why it
    stopped) or failed (the one-line error)."""
    start = time.perf_counter()
    try:
        run = fit_file(job)
    except (InputError, ValueError, OSError) as e:
        text = str(e).strip().splitlines()
        if isinstance(e, OSError) and e.filename:
            text = [f"{e.filename}: {e.strerror}"]
        return {"input": job.path, "folder": Path(job.out).name, "status": "failed",
                "error": text[0] if text else type(e).__name__, "seconds": time.perf_counter() - start}
    return {"input": job.path, "folder": Path(job.out).name, "status": "ok", "metrics": run.metrics,
            "parameters": run.config["model"]["parameters"], "epochs_run": len(run.result.loss),
            "stopped_by": run.result.stopped_by, "seconds": run.result.seconds}


def expand_inputs(items: list[str]) -> list[Path]:
    """Files as given; folders: every audio, image, .npy volume or mesh file in them (sorted, not
    recursive); globs: what they match. A missing path or a glob that matches nothing is an error."""
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
    """A sub-folder name per file: its stem, or stem_suffix where stems repeat, numbered if still equal."""
    names, seen = [], {}
    stems = [f.stem for f in files]
    for f in files:
        name = f.stem if stems.count(f.stem) == 1 else f"{f.stem}_{f.suffix.lstrip('.')}"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names


def finished(folder: Path) -> bool:
    """Whether ``folder`` holds a finished fit (the rename into place is atomic, so it is whole)."""
    return (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def fit_many(jobs: list[FitJob], *, resume: bool = False, workers: int = 1,
             on_result: Callable[[dict], None] | None = None) -> list[dict]:
    """Run every job (``workers`` processes; 1: in this process) and return their index records,
    in job order. With ``resume``, a job whose folder holds a finished fit is ``kept``."""
    records: dict[int, dict] = {}
    todo = []
    for i, job in enumerate(jobs):
        if resume and finished(Path(job.out)):
            records[i] = {"input": job.path, "folder": Path(job.out).name, "status": "kept"}
            if on_result:
                on_result(records[i])
        else:
            todo.append(i)
    if workers <= 1:
        for i in todo:
            records[i] = record(jobs[i])
            if on_result:
                on_result(records[i])
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_one_thread_per_worker,
                                 initargs=(max(1, (os.cpu_count() or 1) // workers),)) as pool:
            futures = {pool.submit(record, jobs[i]): i for i in todo}
            for fut in as_completed(futures):
                records[futures[fut]] = fut.result()
                if on_result:
                    on_result(records[futures[fut]])
    return [records[i] for i in range(len(jobs))]


def _one_thread_per_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def write_index(out: Path, records: list[dict], settings: dict) -> None:
    """index.json (every record and the settings) and index.md (a table), each written atomically."""
    from .metrics import CONVENTIONS

    shown = ("psnr_paper", "snr", "psnr", "ssim", "iou", "chamfer")
    keys = sorted({k for r in records for k in r.get("metrics", {}) if k in shown})
    lines = ["# siren2 fit-many", "", f"{len(records)} inputs: {sum(r['status'] == 'ok' for r in records)} fitted, "
             f"{sum(r['status'] == 'kept' for r in records)} kept from an earlier run, "
             f"{sum(r['status'] == 'failed' for r in records)} failed.", "",
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
    for name, text in (("index.json", json.dumps({"settings": settings, "fits": records}, indent=2, default=str)),
                       ("index.md", "\n".join(lines) + "\n")):
        tmp = out / f".{name}.tmp"
        tmp.write_text(text + ("\n" if name.endswith(".json") else ""))
        os.replace(tmp, out / name)


def job_settings(job: FitJob) -> dict:
    """A job's settings without its paths (what index.json records once for the whole run)."""
    return {k: v for k, v in asdict(job).items() if k not in ("path", "out", "force")}
