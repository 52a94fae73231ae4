"""``siren2 report``: one self-contained HTML page for run folders, and ``--report`` on the commands that write them."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

__all__ = ["add_parsers", "add_report_option", "cmd_report", "after"]


def add_parsers(sub) -> None:
    """report."""
    r = sub.add_parser("report", help="one HTML page for run folders (fit, compare, fit-many, denoise, inpaint, "
                                      "restore-eval, tune, compress records), side by side: players, pictures, curves")
    r.add_argument("runs", type=Path, nargs="+", help="output folders of the commands, or X.s2.json records")
    r.add_argument("--out", type=Path, required=True, help="the .html file to write")
    r.add_argument("--force", action="store_true", help="overwrite --out")
    r.add_argument("--title", help="the page's title (default: the folders)")
    r.set_defaults(func=cmd_report)


def add_report_option(p) -> None:
    """--report: the command also writes its page (report.html in the output folder; X.s2.html for compress)."""
    p.add_argument("--report", action="store_true", help="also write an HTML page of the results (siren2 report): "
                                                         "report.html in the output folder")


def cmd_report(args) -> int:
    from ..report import write_report

    if args.out.exists() and not args.force:
        raise InputError(f"{args.out}: already exists (use --force to overwrite)")
    if args.out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{args.out}: the page is HTML (.html)")
    write_report(args.runs, args.out, args.title)
    print(f"{args.out}: {len(args.runs)} run(s), {args.out.stat().st_size / 1e6:.2f} MB")
    return 0


def after(args) -> None:
    """``--report`` of a command that finished: its page beside its outputs."""
    from ..report import write_report

    out = Path(args.out)
    page = out.with_name(out.name + ".html") if out.is_file() else out / "report.html"
    source = out.with_name(out.name + ".json") if out.is_file() else out
    write_report([source], page)
    print(f"report: {page}")
