"""Shared helpers for the benchmark scripts: data location, machine facts, the paper's signal windows,
the generated 3-D shapes, records and atomic table writing. No benchmark imports another; what two
of them need lives here.

Records: each results table ``<name>.md`` has one records file ``<name>.jsonl`` beside it
(:class:`siren2.records.RecordStore`): one JSON object per finished piece of work (a fit, a batch of
fuzz cases, a timed workload), plus one record under the key :data:`INVOCATION` holding the options
and the facts of the run that wrote the table (the machine, the wall time, how many fits it ran).
Every table is made from its records file alone (``--from-records``), so it regenerates byte for
byte; ``--resume`` keeps the records that are complete and made with the same settings.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
from pathlib import Path

import numpy as np
import torch

from siren2 import crop, load_signal
from siren2.metrics import iou
from siren2.io.files import atomic_file, write_text
from siren2.records import RecordStore, fingerprint
from siren2.signal import Signal
from siren2.train import predict

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SIREN2_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"
INVOCATION = "invocation"  # the key of a records file's record of the run that wrote its table


def machine() -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
            "cpu_threads": torch.get_num_threads(), "processor": platform.processor() or platform.machine()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def machine_line(records: list[dict] = (), here: dict | None = None) -> str:
    """The machine ``here`` (a :func:`machine` dict; default this one), as a table names it; with
    ``records``, where their fits ran: a record fitted on a GPU names it (its ``runtime``), one
    fitted on the CPU (or stored without a runtime) counts as ``here``. Distinct machines are
    joined by "; "."""
    m = here or machine()
    cpu = f"{m['processor']} CPU, {m['cpu_threads']} threads"
    line_here = f"{m.get('gpu') or cpu}, Python {m['python']}, torch {m['torch']}"
    lines = []
    for r in records or [{}]:
        rt = r.get("runtime") or {}
        gpu = rt.get("device", "cpu") != "cpu"
        line = f"{rt.get('gpu') or rt['device']}, Python {rt['python']}, torch {rt['torch']}" if gpu else line_here
        if line not in lines:
            lines.append(line)
    return "; ".join(lines)


def completed(result):
    """``result`` (a FitResult), or KeyboardInterrupt where Ctrl-C cut its fit: fit() keeps the best state
    on Ctrl-C and returns it, which a benchmark would otherwise record as a finished fit."""
    if result.interrupted:
        raise KeyboardInterrupt
    return result


def median(xs):
    return statistics.median(xs)


# --- records and tables ---------------------------------------------------------------------------

def records_of(name: str, results_dir: Path = RESULTS) -> RecordStore:
    """The records file of table ``name``: ``<results_dir>/<name>.jsonl``."""
    return RecordStore(Path(results_dir) / f"{name}.jsonl")


def add_record_options(p) -> None:
    """--resume, --from-records and --results: what every benchmark that keeps records takes."""
    p.add_argument("--resume", action="store_true", help="keep the finished records of an earlier invocation "
                                                         "(made with the same settings)")
    p.add_argument("--from-records", action="store_true",
                   help="run nothing: write the table (and figures) again from the records file alone")
    p.add_argument("--results", type=Path, default=RESULTS)


def opened_records(script: str, name: str, args) -> RecordStore:
    """The records file of table ``name`` under ``args.results``; with ``--from-records`` it must exist
    (SystemExit naming ``script`` otherwise)."""
    store = records_of(name, args.results)
    if args.from_records and not store.path.exists():
        raise SystemExit(f"{script}: {store.path} not found")
    return store


def save_invocation(store: RecordStore, **facts) -> dict:
    """Store the record of the run that writes ``store``'s table: its options and the facts its
    table prints (replacing the earlier run's); returns it."""
    rec = {"key": INVOCATION, "fingerprint": fingerprint(facts), **facts}
    store.add(rec)
    return rec


def invocation(store: RecordStore) -> dict:
    """The record of the run that wrote ``store``'s table; FileNotFoundError if there is none."""
    for rec in reversed(store.records()):
        if rec.get("key") == INVOCATION:
            return rec
    raise FileNotFoundError(f"{store.path}: no records of a run (key {INVOCATION!r})")


def results_of(store: RecordStore) -> list[dict]:
    """Every record of ``store`` but the invocation's, in file order."""
    return [r for r in store.records() if r.get("key") != INVOCATION]


def write_table(name: str, markdown: str, results_dir: Path = RESULTS) -> Path:
    """Write ``<results_dir>/<name>.md`` atomically (a hidden temporary file, then a rename)."""
    path = Path(results_dir) / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text(path, markdown)


def compact_png(path: Path) -> Path:
    """Store a figure as a 256-colour palette PNG (median cut, no dithering): the same picture to the eye
    (a line plot holds a few colours and their antialiased blends), a third of the bytes."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    with atomic_file(path) as tmp:
        small.save(tmp, format="PNG", optimize=True)
    return path


# --- the paper's signal windows -------------------------------------------------------------------

FULL = {"audio": 150_000, "image": 512}  # samples of a clip, side of an image (docs/method.md#protocols)


def window(suite: str, path: Path, size: int) -> Signal:
    """The full-protocol signal (first 150,000 samples; the 512x512 image), then its central ``size``
    samples (audio) or ``size``x``size`` pixels (images) at their full-protocol coordinates. Central,
    not first: several clips open with near-silence (gt_bach's first 8,000 samples score 82 dB as
    an all-zero output)."""
    if suite == "audio":
        full = load_signal(path, max_samples=FULL["audio"])
        size = min(size, full.num_points)
        return crop(full, ((full.num_points - size) // 2,), (size,))
    full = load_signal(path)
    if full.grid != (FULL["image"],) * 2:
        raise SystemExit(f"{path.name} is {full.grid}, the image protocol needs 512x512")
    start = (FULL["image"] - size) // 2
    return crop(full, (start, start), (size, size))


# --- generated 3-D signals: adaptive.py's volume and torus, shape_iou.py's shapes ---------------------

SHAPES = {1: dict(width=100, hidden_layers=4, preset="paper_audio"),  # about 1 parameter per sample
          2: dict(width=64, hidden_layers=5, preset="paper_image"),
          3: dict(width=128, hidden_layers=3, preset="volume")}
FINE = 4  # fine_iou's grid, in steps per sample step


def band_limited(points: np.ndarray, n: int = 32) -> np.ndarray:
    """A sum of 12 random 3-D sinusoids (wave-vector components of std 0.35 x the n³ grid's Nyquist)
    under a Gaussian envelope, at ``points`` (..., 3) in [-1, 1]³."""
    rng = np.random.default_rng(0)
    k = rng.normal(size=(12, 3)) * math.pi * (n - 1) / 2 * 0.35
    phase, amplitude = rng.uniform(0, 2 * math.pi, 12), rng.uniform(0.3, 1, 12)
    return (np.sin(points @ k.T + phase) * amplitude).sum(-1) * np.exp(-(points**2).sum(-1) / 0.5)


def lattice(n: int) -> np.ndarray:
    """(n, n, n, 3): the n³ grid of [-1, 1]³, 'ij'-ordered, as Signal.coords lays it out."""
    return np.stack(np.meshgrid(*[np.linspace(-1, 1, n)] * 3, indexing="ij"), -1)


def torus(points: np.ndarray, ripple: float = 0.03) -> np.ndarray:
    """The signed distance (approximate near the ripple) of a torus (radii 0.55, 0.2) whose tube radius
    ripples 16 x 6 times around by ± ``ripple``, at ``points`` (..., 3) in [-1, 1]³."""
    x, y, z = np.moveaxis(points, -1, 0)
    theta, phi = np.arctan2(y, x), np.arctan2(z, np.hypot(x, y) - 0.55)
    return np.hypot(np.hypot(x, y) - 0.55, z) - (0.2 + ripple * np.sin(16 * theta) * np.sin(6 * phi))


def shape(n: int = 32, field: str = "sdf", ripple: float = 0.03) -> Signal:
    """The :func:`torus` on an n³ grid, as its signed distance or its occupancy (1 inside, 0 outside,
    stored as 2·occ − 1, as siren2.shapes.load_mesh does)."""
    sdf = torus(lattice(n), ripple)
    if field == "occupancy":
        values, offset, scale = np.where(sdf < 0, 1.0, -1.0), 0.5, 0.5
    else:
        offset, scale = 0.0, float(np.abs(sdf).max())
        values = sdf / scale
    return Signal(values=values.reshape(-1, 1).astype(np.float32), grid=(n,) * 3, kind="volume",
                  source=f"generated torus ({field})", meta={"field": field, "offset": offset, "scale": scale,
                                                             "dtype": "float32", "ripple": ripple})


def fine_iou(model, sig: Signal, inside=None) -> float:
    """IoU of the inside of the fit and of the shape itself (``inside``: points (..., 3) -> bool; the
    :func:`torus` by default) on a grid FINE times finer than the samples': how well the fitted surface
    holds between the points it was fitted on."""
    points = lattice(FINE * sig.grid[0])
    exact = inside(points) if inside else torus(points, sig.meta["ripple"]) < 0
    inside_fit = predict(model, torch.from_numpy(points.reshape(-1, 3)).float()).numpy()[:, 0]
    return iou(exact.reshape(-1), inside_fit * (-1 if sig.meta["field"] == "sdf" else 1) > 0)
