"""The long fuzz run: many damaged inputs and option values through the ``siren2`` command line.

    python benchmarks/fuzz.py --cases 10000 --resume
    python benchmarks/fuzz.py --cases 500 --start 20000        # another stretch of seeds

Each case is drawn from its seed by tests/fuzzing.py (damaged wav/flac/ogg/png/jpeg/bmp/tiff files,
damaged masks for ``inpaint``, damaged checkpoints for ``render``, random option values for
``fit``, ``compare``, ``denoise``, ``restore-eval``) and run in-process; a violation is a traceback,
an exit code other than 0 or 2, an error of more than one line, output left by a failed run, or
a successful run with outputs missing. Seeds run in batches of 250, each stored as it ends as one
record (key ``<start>-<stop>``) in benchmarks/results/fuzz.jsonl (``--resume`` keeps finished
batches). The address space is capped (``--memory-gb``) so that a case that tries to allocate
without bound fails inside the process instead of exhausting the machine. Writes
benchmarks/results/fuzz.md from the records alone (``--from-records``: again, running nothing).
"""

from __future__ import annotations

import argparse
import collections
import resource
import sys
import time
from pathlib import Path

from common import add_record_options, invocation, machine, opened_records, save_invocation, write_table

from siren2.records import RecordStore, fingerprint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import fuzzing  # noqa: E402

BATCH = 250


def run_batch(start: int, stop: int) -> dict:
    kinds, codes, bad = collections.Counter(), collections.Counter(), []
    t0 = time.perf_counter()
    for seed in range(start, stop):
        case = fuzzing.make_case(seed)
        outcome = fuzzing.run_case(case)
        kinds[case.kind] += 1
        codes[f"{case.kind}:{outcome.code}"] += 1
        for v in fuzzing.violations(case, outcome):
            bad.append({"seed": seed, "kind": case.kind, "argv": case.argv, "violation": v})
    return {"start": start, "stop": stop, "seconds": time.perf_counter() - t0, "kinds": dict(kinds),
            "exit_codes": dict(codes), "violations": bad}


def batch_ranges(start: int, cases: int) -> list[tuple[int, int]]:
    return [(b, min(b + BATCH, start + cases)) for b in range(start, start + cases, BATCH)]


def key_of(start: int, stop: int) -> tuple[str, str]:
    """A batch's key and fingerprint (the seeds it runs)."""
    return f"{start}-{stop}", fingerprint({"start": start, "stop": stop})


def markdown(batches: list[dict], here: dict | None = None) -> str:
    cases = sum(b["stop"] - b["start"] for b in batches)
    kinds, codes = collections.Counter(), collections.Counter()
    for b in batches:
        kinds.update(b["kinds"])
        codes.update(b["exit_codes"])
    bad = [v for b in batches for v in b["violations"]]
    lines = ["# Fuzzing the command line", "",
             f"{cases:,} cases (seeds {min(b['start'] for b in batches)}–{max(b['stop'] for b in batches) - 1}), "
             f"{sum(b['seconds'] for b in batches) / 60:.1f} min; drawn by tests/fuzzing.py. Property: no traceback, "
             "exit 0 or 2, a one-line error, nothing left behind by a failed run, complete outputs of a successful one.",
             "", "| case kind | cases | exit 0 | exit 2 | other |", "|---|---:|---:|---:|---:|"]
    for k in fuzzing.KINDS:
        other = kinds[k] - codes[f"{k}:0"] - codes[f"{k}:2"]
        lines.append(f"| {k} | {kinds[k]:,} | {codes[f'{k}:0']:,} | {codes[f'{k}:2']:,} | {other:,} |")
    lines += ["", f"**Violations: {len(bad)}.**" if bad else "**Violations: none.**", ""]
    for v in bad[:50]:
        lines.append(f"- seed {v['seed']} ({v['kind']}): {v['violation']} — `siren2 {' '.join(v['argv'])}`")
    m = here or machine()
    lines += ["", f"On {m['processor']}, Python {m['python']}, torch {m['torch']}."]
    return "\n".join(lines) + "\n"


def tables(store: RecordStore) -> str:
    """The table of ``store``'s run (the batches of its seeds that are stored) from the records alone."""
    run = invocation(store)
    batches = [b for b in (store.get(*key_of(a, z)) for a, z in batch_ranges(run["start"], run["cases"])) if b]
    return markdown(batches, run["machine"])


def markdown_from_records(path: Path) -> str:
    """The table a records file makes (what ``--from-records`` writes)."""
    return tables(RecordStore(path))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Fuzz the siren2 command line.")
    p.add_argument("--cases", type=int, default=10_000)
    p.add_argument("--start", type=int, default=0, help="first seed")
    p.add_argument("--memory-gb", type=float, default=12.0, help="address-space cap of this process")
    add_record_options(p)
    args = p.parse_args(argv)
    store = opened_records("fuzz.py", "fuzz", args)
    if args.from_records:
        print(write_table("fuzz", tables(store), args.results))
        return 0
    cap = int(args.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    batches, interrupted = [], False
    for start, stop in batch_ranges(args.start, args.cases):
        key, fp = key_of(start, stop)
        if args.resume and (batch := store.get(key, fp)) is not None:
            batches.append(batch)
            continue
        try:
            batch = run_batch(start, stop)
        except KeyboardInterrupt:
            interrupted = True
            break
        store.add({"key": key, "fingerprint": fp} | batch)
        batches.append(batch)
        print(f"seeds {start}-{stop - 1}: {len(batch['violations'])} violations, {batch['seconds']:.0f} s", flush=True)
    if not batches:
        return 130 if interrupted else 1
    save_invocation(store, start=args.start, cases=args.cases, interrupted=interrupted, machine=machine())
    md = tables(store)
    write_table("fuzz", md, args.results)
    print(md)
    return 130 if interrupted else (1 if any(b["violations"] for b in batches) else 0)


if __name__ == "__main__":
    sys.exit(main())
