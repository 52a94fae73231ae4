"""``siren2`` command line: thin subcommands over the library, one module per command family
(fitting, tuning, fit_many, restore, codec, analyze, report). The only package that prints or exits.

Bad input (a missing or corrupt file, a folder that already holds results, a bad option value)
or an output that cannot be written ends with one line ``siren2: error: FILE: problem`` and exit
code 2, leaving nothing on disk. SIGTERM stops a run as Ctrl-C does (exit 130).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings

from ..errors import InputError
from . import analyze, codec, fit_many, fitting, report, restore, tuning
from .options import EXIT_USAGE

__all__ = ["main", "build_parser"]


def _warn_one_line(message, category, filename, lineno, file=None, line=None):
    print(f"siren2: warning: {message}", file=sys.stderr)


def _terminate(signum, frame):
    raise KeyboardInterrupt  # SIGTERM stops a run as Ctrl-C does: staging removed, finished work kept


def main(argv: list[str] | None = None) -> int:
    """Run the ``siren2`` command ``argv`` (default: sys.argv); the exit code (2: bad input, 130: Ctrl-C)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.showwarning = _warn_one_line
    main_thread = threading.current_thread() is threading.main_thread()  # signal handlers live there
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        code = args.func(args) or 0
        if getattr(args, "report", False) and os.path.exists(args.out):  # fit-many: also when some inputs failed
            report.after(args)
        return code
    except (InputError, ValueError) as e:
        print(f"siren2: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("siren2: error: out of memory (try a smaller --width, --batch-size or --chunk-size)", file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as e:  # PyTorch reports a failed allocation as a RuntimeError
        if "allocate" not in str(e) and "out of memory" not in str(e):
            raise
        print(f"siren2: error: out of memory ({str(e).splitlines()[0][-120:]}); try a smaller --width, "
              "--batch-size or --chunk-size", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # an output that cannot be written (read-only, missing, disk full)
        where = e.filename or getattr(args, "out", None) or "output"
        print(f"siren2: error: {where}: {e.strerror or str(e).splitlines()[0]}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("siren2: interrupted", file=sys.stderr)
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def build_parser() -> argparse.ArgumentParser:
    """The ``siren2`` argument parser, with every command family's subcommands."""
    from .. import __version__

    p = argparse.ArgumentParser(prog="siren2", description="Fit signals with SIREN and SIREN² (WINNER), and compare "
                                "them with the paper's baselines.")
    p.add_argument("--version", action="version", version=f"siren2 {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for family in (fitting, tuning, fit_many, restore, codec, analyze, report):
        family.add_parsers(sub)
    return p
