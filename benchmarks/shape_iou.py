"""SIREN against SIREN²(auto) on generated shapes, over seeds: does noise help a shape's IoU?

    python benchmarks/shape_iou.py --seeds 0,1,2 --resume

adaptive.py's torus (radii 0.55, 0.2, the tube's radius rippling 16 x 6 times around) on its 32³ grid,
as signed distance (`sdf`) and as occupancy, at ripple ± 0.03 (adaptive.py's, under half a sample
step of 0.065) and ± 0.06 (about one step: detail about 3 steps across, near the grid's Nyquist).
adaptive.py's 3-D setting: 3 x 128 (1.03 parameters per sample), recipe `fast` (ours, 500 epochs),
SIREN at ω_first 30 and SIREN² with rule auto, the same seed drawing both initializations. Scores
(siren2.metrics): IoU of the inside on the samples, IoU against the torus itself on a grid 4x finer
(common.fine_iou: between the samples), Chamfer distance of the marching-cubes surfaces, psnr_paper.
A second shape, the *blob*: the occupancy of adaptive.py's band-limited volume (12 random sinusoids,
wave vectors of std 0.35 x the 32³ grid's Nyquist, under a Gaussian envelope) above 0.1 of its peak,
detail at every scale down to the grid step, sampled on 32³ (1.03 parameters per sample) and on 48³
(the same network: 0.30 per sample, fewer parameters than samples to classify).
One record per (case, model, seed) in benchmarks/results/shape_iou.jsonl, stored as each fit ends
(key ``<case>/<model>/<seed>``; ``--resume`` keeps the records made with the same case, network and
recipe); writes benchmarks/results/shape_iou.md (medians over seeds, and the count of seeds where
SIREN² is ahead) from every record there (``--from-records``: again, fitting nothing).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from common import (SHAPES, add_record_options, band_limited, completed, fine_iou, invocation, lattice, machine,
                    machine_line, opened_records, results_of, save_invocation, shape, torus, write_table)

from siren2.records import RecordStore, fingerprint
from siren2 import runs
from siren2.io import NEAR_SURFACE
from siren2.shapes import near_surface
from siren2.signal import Samples, Signal
from siren2.spec import resolve
from siren2.train import FitConfig

BLOB_LEVEL = 0.1  # the blob: where the band-limited volume exceeds this share of its peak on the 32³ grid
_BLOB_PEAK = float(np.abs(band_limited(lattice(32).reshape(-1, 3))).max())


def blob_inside(points: np.ndarray) -> np.ndarray:
    return band_limited(points) > BLOB_LEVEL * _BLOB_PEAK


@dataclass(frozen=True)
class Case:
    """One shape to fit: the torus (``field``, ``ripple``) on 32³, or the blob's occupancy on ``grid``³."""

    shape: str  # "torus" or "blob"
    field: str
    ripple: float | None = None
    grid: int = 32
    near: float = 0.0  # near-surface samples (siren2.shapes.near_surface), as a share of the grid's points

    @property
    def name(self) -> str:  # the first part of its records' keys
        stem = f"{self.field}_{self.ripple:g}" if self.shape == "torus" else f"blob_{self.field}_{self.grid}"
        return stem + (f"_near{self.near:g}" if self.near else "")

    def signal(self) -> Signal:
        if self.shape == "torus":
            sig = shape(field=self.field, ripple=self.ripple)
        else:
            values = np.where(blob_inside(lattice(self.grid)), 1.0, -1.0).reshape(-1, 1).astype(np.float32)
            sig = Signal(values=values, grid=(self.grid,) * 3, kind="volume", source="generated blob (occupancy)",
                         meta={"field": "occupancy", "offset": 0.5, "scale": 0.5, "dtype": "float32"})
        if not self.near:
            return sig
        points = near_surface(self.exact_inside(lattice(self.grid)), round(self.near * sig.num_points))
        values = (torus(points, self.ripple) / sig.meta["scale"] if self.field == "sdf"
                  else np.where(self.exact_inside(points), 1.0, -1.0))
        return replace(sig, off_grid=Samples(points, values[:, None]))

    def exact_inside(self, points: np.ndarray) -> np.ndarray:
        return blob_inside(points) if self.shape == "blob" else torus(points, self.ripple) < 0

    def inside(self):  # the exact inside for fine_iou (None: the torus's)
        return blob_inside if self.shape == "blob" else None


CASES = [Case("torus", f, r) for f in ("sdf", "occupancy") for r in (0.03, 0.06)] + [
    Case("blob", "occupancy", grid=32), Case("blob", "occupancy", grid=48)] + [
    Case("torus", f, r, near=NEAR_SURFACE) for f, r in (("sdf", 0.06), ("occupancy", 0.03), ("occupancy", 0.06))] + [
    Case("blob", "occupancy", grid=32, near=NEAR_SURFACE)]
MODELS = {"siren": {}, "siren2 auto": {"rule": "auto"}}
SCORES = (("iou", "IoU, samples", "{:.4f}"), ("iou_fine", "IoU, 4x finer", "{:.4f}"),
          ("chamfer", "Chamfer", "{:.2g}"), ("psnr_paper", "psnr_paper", "{:.2f}"))


def case_of(rec: dict) -> Case:
    return Case(rec.get("shape", "torus"), rec["field"], rec["ripple"], rec.get("grid", 32), rec.get("near", 0.0))


RECORD = ("shape", "field", "ripple", "grid", "near", "model", "seed", "points", "parameters", "metrics")


def slim(rec: dict) -> dict:
    """What a record keeps: its case, model and seed, the sizes and the table's scores."""
    return {k: rec[k] for k in RECORD if k in rec} | {"metrics": {k: rec["metrics"][k] for k, *_ in SCORES
                                                                  if k in rec["metrics"]}}


def key_of(case: Case, label: str, seed: int) -> tuple[str, str]:
    """A fit's key and fingerprint (its case, the 3-D network and recipe, the model)."""
    return (f"{case.name}/{label}/{seed}",
            fingerprint({"case": asdict(case), "shape": SHAPES[3], "recipe": "fast", "model": label}))


def run_one(case: Case, label: str, seed: int, store: RecordStore, resume: bool) -> dict:
    """One fit's record: the stored one with ``resume`` (if current), else a new one, stored as it ends."""
    key, fp = key_of(case, label, seed)
    if resume and (rec := store.get(key, fp)) is not None:
        return rec
    sig, s = case.signal(), SHAPES[3]
    model = label.split()[0]
    cfg = FitConfig.resolve(s["preset"], "fast", 3, model=model, width=s["width"], seed=seed)
    options = dict(model=model, preset=s["preset"], recipe="fast", seed=seed, width=s["width"],
                   hidden_layers=s["hidden_layers"]) | (MODELS[label] or {})
    run = runs.run(resolve(sig, options), sig)
    completed(run.result)
    rec = {"key": key, "fingerprint": fp, **slim({"shape": case.shape, "field": case.field, "ripple": case.ripple,
                                                  "grid": case.grid, "near": case.near, "model": label, "seed": seed,
                                                  "points": sig.num_samples,
                                                  "parameters": run.config["model"]["parameters"],
                                                  "metrics": run.metrics | {
                                                      "iou_fine": fine_iou(run.result.model, sig, case.inside())}})}
    store.add(rec)
    return rec


def table(records: list[dict]) -> list[str]:
    """Rows: the cases; per score, SIREN / SIREN² medians over the seeds both finished, and the seeds
    where SIREN² is ahead; then every fit that found no surface at all."""
    lines = ["| shape | field | ripple | grid | near-surface | params/sample | seeds | " + " | ".join(
        f"{name}: SIREN / SIREN² (ahead)" for _, name, _ in SCORES) + " |",
             "|---|---|---:|---:|---:|---:|---:|" + "---|" * len(SCORES)]
    failed = []
    for case in CASES:
        pair = {m: {r["seed"]: r for r in records if case_of(r) == case and r["model"] == m} for m in MODELS}
        seeds = sorted(set(pair["siren"]) & set(pair["siren2 auto"]))
        if not seeds:
            continue
        cells = []
        for key, _, fmt in SCORES:
            vals = {m: [pair[m][s]["metrics"][key] for s in seeds] for m in MODELS}
            better = (lambda a, b: a < b) if key == "chamfer" else (lambda a, b: a > b)
            ahead = sum(better(b, a) for a, b in zip(vals["siren"], vals["siren2 auto"]))
            cells.append(" / ".join(fmt.format(float(np.median(vals[m]))) for m in MODELS)
                         + f" ({ahead} of {len(seeds)})")
        r = pair["siren"][seeds[0]]
        ripple = "–" if case.ripple is None else f"±{case.ripple:g}"
        lines.append(f"| {case.shape} | {case.field} | {ripple} | {case.grid}³ | {case.near:g} | "
                     f"{r['parameters'] / r['points']:.2f} | "
                     f"{len(seeds)} | " + " | ".join(cells) + " |")
        failed += [f"{m} seed {s} on the {case.shape} {case.field} {ripple} (psnr_paper "
                   f"{pair[m][s]['metrics']['psnr_paper']:.2f})" for m in MODELS for s in seeds
                   if pair[m][s]["metrics"]["iou"] == 0]
    return lines + ["", "No surface at all (IoU 0, Chamfer infinite): " + "; ".join(failed) + "."] if failed else lines


def tables(store: RecordStore) -> str:
    """The table from every fit record of ``store``, and the machine of the run that wrote it."""
    run = invocation(store)
    records = results_of(store)
    md = "\n".join([
        "# SIREN against SIREN²(auto) on generated shapes, over seeds", "",
        "The torus of `benchmarks/adaptive.py` (radii 0.55, 0.2; the tube's radius ripples 16 x 6 times around) on "
        "a 32³ grid over [-1, 1]³ (sample step 0.065), as signed distance and occupancy, ripple ± 0.03 (adaptive.py's) "
        "and ± 0.06; the blob, the occupancy of adaptive.py's band-limited volume above 0.1 of its peak (detail down "
        "to the 32³ grid's step), on 32³ and on 48³; and, where `near-surface` is 0.5, half as many samples again, "
        "uniform in the grid cells the surface crosses (siren2.shapes.near_surface), which both fits train on too "
        "(params/sample counts them). 3 x 128 throughout, recipe `fast` (ours, 500 epochs), SIREN at "
        "ω_first 30, SIREN² with rule auto; each seed draws both initializations. IoU of the inside on the samples "
        "and against the shape itself on a 4x finer grid (between the samples), Chamfer distance of the "
        "marching-cubes surfaces (lower is better), psnr_paper of the field. Medians over the seeds; (ahead): the "
        "seeds where SIREN² is better than SIREN. The paper's workshop version claims gains for SIREN² on 3-D "
        "shapes: here it is ahead in Chamfer distance and psnr_paper on occupancy, level or ahead in IoU on the "
        "samples, and, in median, level or behind in IoU between them.", "",
        *table(records), "",
        f"On {machine_line(here=run['machine'])}."
        + (" Interrupted: the table holds what finished." if run["interrupted"] else "")]) + "\n"
    return md


def markdown_from_records(path: Path) -> str:
    """The table a records file makes (what ``--from-records`` writes)."""
    return tables(RecordStore(path))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    add_record_options(p)
    args = p.parse_args(argv)
    store = opened_records("shape_iou.py", "shape_iou", args)
    if args.from_records:
        print(write_table("shape_iou", tables(store), args.results))
        return 0
    interrupted = False
    seeds = [int(s) for s in args.seeds.split(",")]
    try:
        for seed in seeds:
            for case in CASES:
                for label in MODELS:
                    m = run_one(case, label, seed, store, args.resume)["metrics"]
                    print(f"{case.name} {label} seed {seed}: IoU {m['iou']:.4f}, finer {m['iou_fine']:.4f}, "
                          f"psnr_paper {m['psnr_paper']:.2f}", flush=True)
    except KeyboardInterrupt:
        interrupted = True
    save_invocation(store, seeds=seeds, interrupted=interrupted, machine=machine())
    md = tables(store)
    print(write_table("shape_iou", md, args.results))
    print(md)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
