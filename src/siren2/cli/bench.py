"""``siren2 bench SCRIPT``: run a benchmark script of the source checkout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InputError
from .options import EXIT_USAGE


def add_parsers(sub) -> None:
    b = sub.add_parser("bench", help="run a benchmark script of the source checkout (e.g. 'bench paper audio')")
    b.add_argument("script", choices=["paper", "time_to_quality", "fast_lr", "fit_clip", "step_time", "restore",
                                      "many"],
                   help="benchmarks/<script>.py")
    b.add_argument("args", nargs=argparse.REMAINDER, help="its arguments (see 'siren2 bench SCRIPT --help')")
    b.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    """Run benchmarks/<script>.py, which lives beside src/ in a source checkout, not in the package."""
    import runpy

    folder = Path(__file__).resolve().parents[3] / "benchmarks"
    script = folder / f"{args.script}.py"
    if not script.is_file():
        raise InputError(f"{script}: not found (benchmarks ship with the source checkout; install with pip -e)")
    sys.path.insert(0, str(folder))
    saved = sys.argv
    sys.argv = [str(script), *args.args]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as e:
        if isinstance(e.code, str):
            print(f"siren2: error: {e.code}", file=sys.stderr)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
    finally:
        sys.argv = saved
    return 0
