"""``siren2 fit-many``: every file of a list, folder or glob, one sub-folder each, and an index."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError
from .fitting import add_fit_options
from .report import add_report_option
from .options import options_from

__all__ = ["BATCH", "add_parsers", "cmd_fit_many"]

BATCH = 16  # the default --batch: at most this many same-grid fits trained as one


def add_parsers(sub) -> None:
    """fit-many."""
    m = sub.add_parser("fit-many", help="fit many files (paths, folders, globs): one sub-folder each, and an index")
    m.add_argument("inputs", nargs="+", help="files, folders (their audio and image files) or globs")
    m.add_argument("--out", type=Path, required=True, help="output folder: one sub-folder per input, index.md and index.jsonl")
    m.add_argument("--resume", action="store_true", help="keep the inputs whose sub-folder holds a finished fit")
    m.add_argument("--force", action="store_true", help="refit inputs whose sub-folder holds results")
    m.add_argument("--workers", type=int, default=1,
                   help="local backend: units of work in parallel, in worker processes (default 1)")
    m.add_argument("--batch", type=int, default=BATCH,
                   help=f"same-grid inputs trained as one batched fit, at most this many (default {BATCH}; 1: one "
                        "fit at a time)")
    m.add_argument("--no-figures", action="store_true",
                   help="skip each fit's figures (psnr.png, audio.png / image.png): for many small fits they take "
                        "longer than the fit")
    m.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: this machine; ray: one Ray task per unit of work (pip install 'siren2[ray]')")
    m.add_argument("--address", help="ray: a running cluster's address ('auto': the local one; default: start a "
                                     "private local cluster)")
    m.add_argument("--cpus-per-task", type=float, default=1, help="ray: CPUs (torch threads) a task declares "
                                                                  "(default 1)")
    m.add_argument("--gpus-per-task", type=float, default=0, help="ray: GPUs a task declares (default 0)")
    add_fit_options(m)
    add_report_option(m)
    m.set_defaults(func=cmd_fit_many)


def cmd_fit_many(args) -> int:
    """``siren2 fit-many``: fit many files, one sub-folder each, and an index."""
    import shutil

    from tqdm.auto import tqdm

    from ..many import FitJob, expand_inputs, finished, fit_many, folder_names, write_index

    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, not {args.workers}")
    if args.batch < 1:
        raise InputError(f"--batch must be at least 1, not {args.batch}")
    if args.backend == "ray" and args.workers > 1:
        raise InputError("--workers applies to the local backend; a Ray cluster runs as many tasks as its CPUs "
                         "allow (see --cpus-per-task)")
    if args.backend == "local" and args.address:
        raise InputError("--address applies to --backend ray")
    files = expand_inputs(args.inputs)
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"{args.out}: exists and is not a folder")
    names = folder_names(files)
    options = options_from(args)
    jobs = [FitJob(str(f), str(args.out / n), options | {"input": str(f)}, figures=not args.no_figures,
                   force=args.force) for f, n in zip(files, names)]
    if not (args.resume or args.force):
        taken = [n for n in names if (args.out / n).exists()]
        if taken:
            raise InputError(f"{args.out / taken[0]}: already holds results (use --resume to keep them, --force to "
                             "refit)")
    for stale in args.out.glob(".*.tmp-*") if args.out.is_dir() else []:  # staging of a killed run
        shutil.rmtree(stale, ignore_errors=True)
    where = (f"{args.workers} worker(s)" if args.backend == "local"
             else f"ray at {args.address or 'a local cluster'}, {args.cpus_per_task:g} CPU(s) a task")
    print(f"{len(files)} inputs -> {args.out}/ ({args.model or 'siren2'}, recipe {args.recipe or 'fast'}, "
          f"batches of up to {args.batch}, "
          f"{where})")
    bar = tqdm(total=len(jobs), unit="fit", dynamic_ncols=True, disable=args.quiet)

    def on_result(rec):
        bar.update(1)
        name = Path(rec["input"]).name
        if rec["status"] == "failed":
            tqdm.write(f"  {name}: failed: {rec['error']}")
        elif rec["status"] == "ok":
            tqdm.write(f"  {name}: psnr_paper {rec['metrics']['psnr_paper']:.2f} dB ({rec['seconds']:.1f} s)")

    try:
        options = (dict(workers=args.workers) if args.backend == "local" else
                   dict(address=args.address, cpus_per_task=args.cpus_per_task, gpus_per_task=args.gpus_per_task))
        records = fit_many(jobs, index=args.out / "index.jsonl", resume=args.resume and not args.force,
                           batch=args.batch, backend=args.backend, on_result=on_result, **options)
    finally:
        bar.close()
    write_index(args.out, records)
    stopped = [r for r in records if r["status"] == "interrupted"]
    if stopped:
        print(f"siren2: interrupted: {len(records) - len(stopped)} of {len(records)} inputs done; the same command "
              f"with --resume fits the other {len(stopped)} (index in {args.out}/index.md)", file=sys.stderr)
        return 130
    failed = [r for r in records if r["status"] == "failed"]
    print(f"{len(records) - len(failed)} of {len(records)} fits done"
          + (f", {sum(r['status'] == 'kept' for r in records)} kept" if args.resume else "")
          + f"; index in {args.out}/index.md")
    if failed:
        print(f"siren2: error: {len(failed)} input(s) failed (see {args.out}/index.md); first: {failed[0]['error']}",
              file=sys.stderr)
        return 2
    return 0 if all(finished(Path(j.out)) for j in jobs) else 2
