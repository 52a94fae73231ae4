"""``siren2 fit-many``: every file of a list, folder or glob, one sub-folder each, and an index."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError
from .fitting import add_fit_options, fit_job


def add_parsers(sub) -> None:
    m = sub.add_parser("fit-many", help="fit many files (paths, folders, globs): one sub-folder each, and an index")
    m.add_argument("inputs", nargs="+", help="files, folders (their audio and image files) or globs")
    m.add_argument("--out", type=Path, required=True, help="output folder: one sub-folder per input, index.md/json")
    m.add_argument("--resume", action="store_true", help="keep the inputs whose sub-folder holds a finished fit")
    m.add_argument("--force", action="store_true", help="refit inputs whose sub-folder holds results")
    m.add_argument("--workers", type=int, default=1, help="fits in parallel, in worker processes (default 1)")
    add_fit_options(m)
    m.set_defaults(func=cmd_fit_many)


def cmd_fit_many(args) -> int:
    import shutil

    from tqdm.auto import tqdm

    from ..many import expand_inputs, finished, fit_many, folder_names, job_settings, write_index

    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, not {args.workers}")
    files = expand_inputs(args.inputs)
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"{args.out}: exists and is not a folder")
    names = folder_names(files)
    jobs = [fit_job(args, f, args.out / n, force=args.force) for f, n in zip(files, names)]
    if not (args.resume or args.force):
        taken = [n for n in names if (args.out / n).exists()]
        if taken:
            raise InputError(f"{args.out / taken[0]}: already holds results (use --resume to keep them, --force to "
                             "refit)")
    for stale in args.out.glob(".*.tmp-*") if args.out.is_dir() else []:  # staging of a killed run
        shutil.rmtree(stale, ignore_errors=True)
    print(f"{len(files)} inputs -> {args.out}/ ({args.model}, recipe {args.recipe}, {args.workers} worker(s))")
    bar = tqdm(total=len(jobs), unit="fit", dynamic_ncols=True, disable=args.quiet)

    def on_result(rec):
        bar.update(1)
        name = Path(rec["input"]).name
        if rec["status"] == "failed":
            tqdm.write(f"  {name}: failed: {rec['error']}")
        elif rec["status"] == "ok":
            tqdm.write(f"  {name}: psnr_paper {rec['metrics']['psnr_paper']:.2f} dB ({rec['seconds']:.1f} s)")

    try:
        records = fit_many(jobs, resume=args.resume and not args.force, workers=args.workers, on_result=on_result)
    finally:
        bar.close()
    write_index(args.out, records, job_settings(jobs[0]) | {"workers": args.workers})
    failed = [r for r in records if r["status"] == "failed"]
    print(f"{len(records) - len(failed)} of {len(records)} fits done"
          + (f", {sum(r['status'] == 'kept' for r in records)} kept" if args.resume else "")
          + f"; index in {args.out}/index.md")
    if failed:
        print(f"siren2: error: {len(failed)} input(s) failed (see {args.out}/index.md); first: {failed[0]['error']}",
              file=sys.stderr)
        return 2
    return 0 if all(finished(Path(j.out)) for j in jobs) else 2
