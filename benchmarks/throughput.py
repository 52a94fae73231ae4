"""Throughput of many same-size fits: fit() one after another against fit_batched in groups of K.

    python benchmarks/throughput.py                    # 64 clips x 4,096 samples, 3 x 64 SIREN², 300 epochs
    python benchmarks/throughput.py --groups 8,64 --repeats 1 --device cuda
    python benchmarks/throughput.py --quick            # a few seconds, results to /tmp/siren2_throughput_quick
    python benchmarks/throughput.py --ray-groups 16    # also: batches of 16 as Ray tasks (pip install 'siren2[ray]')
    siren2 bench throughput --quick

The clips are generated (a few random tones each, seeded by the clip's index); every clip gets its
own SIREN² (seed 0, as fit-many gives every file; WINNER's noise scaled by the clip's own ψ) and the
`fast` recipe. Paths, each timed
end to end over all clips after a warm-up (model building excluded; both paths start from the same
initial weights):
  (a) fit() on each clip in turn;
  (b) fit_batched() on consecutive groups of K clips, for each K of --groups;
  (c) fit-many end to end (--fit-many-batch K): the clips as float WAV files through
      siren2.many.fit_many with batches of K, as `siren2 fit-many clips/ --batch K` runs them:
      reading each file twice (to plan the batches, then to fit), writing every output (reconstruction,
      metrics, config, weights, and two figures unless --no-figures) into a fresh folder; and the same
      without figures in two worker processes of one torch thread each (--workers 2);
  (d) with --ray-groups: the same groups of K as tasks on a local Ray cluster (one CPU, one torch
      thread each: as many tasks at once as the machine has cores), through siren2.backends.run_ray,
      the fit-many --backend ray path. The cluster is started before each timed call and stopped
      after it (its idle processes would otherwise slow every other path), with a warm-up call
      between, as a user's running cluster would be; each timed call pays task submission and
      shipping models and clips.
A repeat runs every path once, in that order; fits per hour are the median over --repeats. Each
batched path's best psnr_paper per clip is compared with path (a)'s (first repeat): they agree to
float rounding, which the fast recipe's peak lr lets grow over the epochs (as between fit()'s own
engines). A clip agrees when its best psnr_paper is within --tolerance-db or its RMS error
10^(-psnr/20) within --tolerance-rmse of path (a)'s: these clips fit to 90+ dB, where an RMS
error of 3e-5 against 1.5e-5 is 6 dB apart yet both are float32 rounding of a sample in [-1, 1].
Each path's timings and per-clip scores are one record in benchmarks/results/throughput.jsonl, and
throughput.md is made from it (--quick: to /tmp/siren2_throughput_quick unless --results is given;
``--from-records`` writes the table again from the records alone, timing nothing). Timings are not
resumed: every run times every path again. Exits 1 if a path disagrees.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np
from common import RESULTS, invocation, machine, median, records_of, results_of, save_invocation, write_table

from siren2 import FitConfig, Signal, create_model, fit
from siren2.train import fit_batched
from siren2.records import RecordStore, fingerprint

FULL = dict(clips=64, samples=4096, width=64, hidden_layers=3, epochs=300, groups="8,16,64", repeats=3)
QUICK = dict(clips=8, samples=512, width=64, hidden_layers=3, epochs=20, groups="4,8", repeats=1)
QUICK_RESULTS = Path("/tmp/siren2_throughput_quick")
BASE = "one at a time"  # the path the others are compared with


def clip(index: int, samples: int, tones: int = 6) -> Signal:
    """``tones`` sines at random frequencies (0.002–0.1 cycles/sample) and phases, max|x| = 1."""
    rng = np.random.default_rng(index)
    i = np.arange(samples)
    x = sum(rng.uniform(0.3, 1) * np.sin(2 * np.pi * f * i + rng.uniform(0, 6))
            for f in rng.uniform(0.002, 0.1, tones))
    return Signal(values=(x / np.abs(x).max())[:, None], grid=(samples,), kind="audio", sample_rate=16_000,
                  source=f"clip{index}")


def one_at_a_time(models, clips, cfg):
    return [fit(m, c, cfg) for m, c in zip(models, clips)]


def in_groups(models, clips, cfg, k: int):
    return [r for i in range(0, len(models), k) for r in fit_batched(models[i : i + k], clips[i : i + k], cfg)]


def batch_of(unit):
    """One Ray task: fit_batched on a group (models, clips, config); the models come back fitted."""
    models, clips, cfg = unit
    return fit_batched(models, clips, cfg)


def on_ray(models, clips, cfg, k: int):
    from siren2.backends import run_ray

    units = [(models[i : i + k], clips[i : i + k], cfg) for i in range(0, len(models), k)]
    out: dict[int, list] = {}

    def done(i, results, error):
        if error:
            raise RuntimeError(f"group {i}: {error}")
        out[i] = results

    run_ray(batch_of, units, done, cpus_per_task=1)
    return [r for i in range(len(units)) for r in out[i]]


def through_fit_many(models, clips, cfg, k: int, files: list[Path], shape: dict, figures: bool, workers: int = 1):
    """fit_many on the clips' files in batches of k, into a fresh folder (removed after); ``models``
    are not used: fit-many builds its own, as ``initial`` was built."""
    import tempfile
    from types import SimpleNamespace

    from siren2.many import FitJob, fit_many

    with tempfile.TemporaryDirectory(prefix="siren2_many_") as out:
        options = {"model": "siren2", "recipe": "fast", "epochs": cfg.epochs, "device": cfg.device} | shape
        jobs = [FitJob(path=str(f), out=f"{out}/{f.stem}", options=options, figures=figures) for f in files]
        records = fit_many(jobs, batch=k, workers=workers)
    bad = [r for r in records if r["status"] != "ok"]
    if bad:
        raise RuntimeError(f"fit-many: {bad[0]}")
    engine = "batched" if k > 1 else "fit()"
    return [SimpleNamespace(best_psnr=r["metrics"]["best_epoch_psnr_paper"], engine=f"fit-many, {engine}",
                            device="cpu" if cfg.device is None else cfg.device) for r in records]


@contextlib.contextmanager
def cluster(name: str):
    """For a Ray path, a local cluster (as many CPUs as the machine) up around it and down after,
    so that its idle processes never share the CPU with the other paths; a cluster the caller
    started is used as it is. Other paths: nothing."""
    if not name.startswith("ray"):
        yield
        return
    import ray

    if ray.is_initialized():
        yield
        return
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def timed(path, initial, clips, cfg) -> tuple[float, list]:
    models = [copy.deepcopy(m) for m in initial]
    start = time.perf_counter()
    results = path(models, clips, cfg)
    return time.perf_counter() - start, results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="a few seconds: " + ", ".join(f"{k} {v}" for k, v in QUICK.items()))
    for name, value in FULL.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(value),
                       help=f"default {value} (--quick: {QUICK[name]})")
    p.add_argument("--fit-many-batch", type=int, default=None,
                   help="time fit-many end to end (files, every output) with this --batch; 0: skip "
                        "(default 16, --quick 4)")
    p.add_argument("--ray-groups", default="",
                   help="also time these group sizes as Ray tasks on a local cluster (default: none)")
    p.add_argument("--tolerance-db", type=float, default=0.2,
                   help="largest |Δ best psnr_paper| per clip (default 0.2) ...")
    p.add_argument("--tolerance-rmse", type=float, default=1e-4,
                   help="... unless |Δ RMS error| is at most this (default 1e-4: 0.005%% of the range [-1, 1])")
    p.add_argument("--device", default=None)
    p.add_argument("--results", type=Path, help=f"default {RESULTS} (--quick: {QUICK_RESULTS})")
    p.add_argument("--from-records", action="store_true",
                   help="time nothing: write the table again from its records file")
    args = p.parse_args(argv)
    if args.from_records:
        store = records_of("throughput", args.results or RESULTS)
        if not store.path.exists():
            raise SystemExit(f"throughput.py: {store.path} not found")
        return 1 if write_outputs(store) else 0
    s = {k: getattr(args, k) if getattr(args, k) is not None else (QUICK if args.quick else FULL)[k] for k in FULL}
    groups = [int(g) for g in str(s["groups"]).split(",") if g]
    if any(g < 1 for g in groups) or s["clips"] < 1 or s["repeats"] < 1:
        raise SystemExit("throughput.py: --groups, --clips and --repeats must be positive")
    results_dir = args.results or (QUICK_RESULTS if args.quick else RESULTS)
    ray_groups = [int(g) for g in args.ray_groups.split(",") if g]

    clips = [clip(i, s["samples"]) for i in range(s["clips"])]
    shape = dict(width=s["width"], hidden_layers=s["hidden_layers"])
    initial = [create_model("siren2", c, seed=0, **shape) for c in clips]
    cfg = FitConfig.resolve(None, "fast", 1, model="siren2", width=s["width"], epochs=s["epochs"], device=args.device)
    paths = {"one at a time": one_at_a_time} | {f"batched K={k}": (lambda m, c, f, k=k: in_groups(m, c, f, k))
                                                 for k in groups}
    fm = args.fit_many_batch if args.fit_many_batch is not None else (4 if args.quick else 16)
    if fm:
        import tempfile

        import soundfile as sf

        wavs = Path(tempfile.mkdtemp(prefix="siren2_throughput_clips_"))
        files = [wavs / f"clip{i:03d}.wav" for i in range(len(clips))]
        for f, c in zip(files, clips):
            sf.write(str(f), c.values[:, 0], c.sample_rate, subtype="FLOAT")
        for figures, workers in ((True, 1), (False, 1), (False, 2)):
            label = f"fit-many --batch {fm}" + ("" if figures else " --no-figures") + (
                f" --workers {workers}" if workers > 1 else "")
            paths[label] = (lambda m, c, f, figures=figures, workers=workers:
                            through_fit_many(m, c, f, fm, files[: len(c)], shape, figures, workers))
    paths |= {f"ray K={k}": (lambda m, c, f, k=k: on_ray(m, c, f, k)) for k in ray_groups}
    print(f"{s['clips']} clips x {s['samples']} samples, SIREN² {s['hidden_layers']} x {s['width']}, "
          f"{s['epochs']} epochs (fast recipe); paths: {', '.join(paths)}; {s['repeats']} repeat(s)", flush=True)
    for name, path in paths.items():  # first calls pay one-off costs (torch.func's imports, the allocator)
        with cluster(name):
            timed(path, initial[:2], clips[:2], dataclasses.replace(cfg, epochs=2))

    seconds: dict[str, list[float]] = {name: [] for name in paths}
    psnr: dict[str, list[float]] = {}
    engine: dict[str, str] = {}
    device = ""
    for rep in range(s["repeats"]):
        for name, path in paths.items():
            with cluster(name):
                timed(path, initial[:2], clips[:2], dataclasses.replace(cfg, epochs=2))  # workers up
                secs, results = timed(path, initial, clips, cfg)
            seconds[name].append(secs)
            if rep == 0:
                psnr[name], engine[name], device = [r.best_psnr for r in results], results[0].engine, results[0].device
            print(f"  repeat {rep + 1}: {name}: {secs:.1f} s, {3600 * s['clips'] / secs:,.0f} fits/hour", flush=True)

    settings = s | {"groups": groups, "ray_groups": ray_groups, "recipe": "fast", "model": "siren2", "lr": cfg.lr,
                    "tolerance_db": args.tolerance_db, "tolerance_rmse": args.tolerance_rmse, "quick": args.quick}
    store = records_of("throughput", results_dir)
    store.add(*({"key": name, "fingerprint": fingerprint(settings), "engine": engine[name], "seconds": seconds[name],
                 "best_psnr_paper": psnr[name]} for name in paths))
    save_invocation(store, settings=settings, paths=list(paths), device=device, machine=machine())
    bad = write_outputs(store)
    if bad:
        print(f"throughput.py: {', '.join(bad)}: best psnr_paper differs from one-at-a-time fits by more than "
              f"{args.tolerance_db} dB and in RMS error by more than {args.tolerance_rmse:g}", file=sys.stderr)
        return 1
    return 0


def rows(paths: dict[str, dict], settings: dict) -> dict[str, dict]:
    """Per path (its record: engine, seconds of each repeat, each clip's best psnr_paper): the table's
    row, against path :data:`BASE`."""
    base = paths[BASE]
    out = {}
    for name, r in paths.items():
        psnr = np.array(r["best_psnr_paper"])
        delta = np.abs(psnr - base["best_psnr_paper"])
        rmse = np.abs(10 ** (-psnr / 20) - 10 ** (-np.array(base["best_psnr_paper"]) / 20))
        agrees = (delta <= settings["tolerance_db"]) | (rmse <= settings["tolerance_rmse"])
        out[name] = {"engine": r["engine"], "median_seconds": median(r["seconds"]),
                     "fits_per_hour": 3600 * settings["clips"] / median(r["seconds"]),
                     "speedup": median(base["seconds"]) / median(r["seconds"]),
                     "mean_best_psnr_paper": float(np.mean(psnr)),
                     "max_abs_psnr_delta_db": float(delta.max()), "max_abs_rmse_delta": float(rmse.max()),
                     "agrees": bool(agrees.all())}
    return out


def tables(store: RecordStore) -> dict:
    """The table's data from ``store`` alone: settings, device, machine and each path's row."""
    run = invocation(store)
    by = {r["key"]: r for r in results_of(store)}
    return {"settings": run["settings"], "device": run["device"], "machine": run["machine"],
            "paths": rows({name: by[name] for name in run["paths"]}, run["settings"])}


def markdown_from_records(path: Path) -> str:
    """The table a records file makes (what ``--from-records`` writes)."""
    return markdown(tables(RecordStore(path)))


def write_outputs(store: RecordStore) -> list[str]:
    """Write throughput.md beside ``store`` from it alone; returns the paths that disagree."""
    data = tables(store)
    print(write_table("throughput", markdown(data), store.path.parent))
    return [name for name, r in data["paths"].items() if not r["agrees"]]


def markdown(data: dict) -> str:
    s = data["settings"]
    lines = [f"# Many fits: one at a time against batched{' (quick: not a measurement)' if s['quick'] else ''}", "",
             f"{s['clips']} generated clips x {s['samples']} samples, SIREN² {s['hidden_layers']} x {s['width']}, "
             f"{s['epochs']} full-batch epochs, fast recipe (peak lr {s['lr']:.3g}); median of {s['repeats']} "
             f"repeat(s), after a warm-up. Device {data['device']}. Machine: {data['machine']}.", "",
             "Batched: fit_batched on consecutive groups of K clips (one stacked Adam step per epoch). Ray: the "
             "same groups as tasks on a local Ray cluster, started (and warmed up) before its timing and stopped after "
             "(1 CPU and 1 torch thread a task; as many tasks at once as cores). Δ: the "
             f"largest |best psnr_paper − one-at-a-time's| over the clips; Δ RMSE: the largest |RMS error − "
             f"one-at-a-time's|, RMS error = 10^(−psnr_paper/20). A clip agrees within {s['tolerance_db']} dB or "
             f"{s['tolerance_rmse']:g} in RMS error (fits at 90+ dB differ by dB in float32 rounding alone).", "",
             "| path | engine | seconds (median) | fits per hour | speed-up | mean best psnr_paper (dB) "
             "| max Δ (dB) | max Δ RMSE | agrees |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, r in data["paths"].items():
        lines.append(f"| {name} | {r['engine']} | {r['median_seconds']:.1f} | {r['fits_per_hour']:,.0f} | "
                     f"{r['speedup']:.2f}x | {r['mean_best_psnr_paper']:.2f} | {r['max_abs_psnr_delta_db']:.3f} | "
                     f"{r['max_abs_rmse_delta']:.1e} | {'yes' if r['agrees'] else '**no**'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
