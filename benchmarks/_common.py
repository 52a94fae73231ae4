"""Shared helpers for the benchmark scripts: data location, machine facts, result writing."""

from __future__ import annotations

import json
import os
import platform
import statistics
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SIREN2_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"


def machine() -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
            "cpu_threads": torch.get_num_threads(), "processor": platform.processor() or platform.machine()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def completed(result):
    """``result`` (a FitResult), or KeyboardInterrupt where Ctrl-C cut its fit: fit() keeps the best state
    on Ctrl-C and returns it, which a benchmark would otherwise record as a finished fit."""
    if result.interrupted:
        raise KeyboardInterrupt
    return result


def median(xs):
    return statistics.median(xs)


def run_and_collect(runs: Path, names, run_one) -> list[dict]:
    """``run_one(name)`` for each of ``names`` (Ctrl-C ends the loop), then every record under ``runs``,
    this run's and earlier ones'."""
    try:
        for name in names:
            run_one(name)
    except KeyboardInterrupt:
        pass
    return [json.loads(f.read_text()) for f in sorted(runs.glob("*.json"))] if runs.is_dir() else []


def write_record(path: Path, rec, indent: int | None = None) -> None:
    """Write one JSON record atomically (its folder made): a hidden temporary file, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(rec, indent=indent, default=float) + "\n")
    os.replace(tmp, path)


def write_results(name: str, data: dict, markdown: str, results_dir: Path = RESULTS) -> tuple[Path, Path]:
    """Write ``name``.json and ``name``.md atomically under ``results_dir``."""
    results_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, text in ((".json", json.dumps(data, indent=2) + "\n"), (".md", markdown)):
        path = results_dir / f"{name}{suffix}"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
        paths.append(path)
    return tuple(paths)
