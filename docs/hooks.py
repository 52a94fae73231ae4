"""mkdocs hook: serve the benchmark figures from ``benchmarks/results`` as ``results/figures/``.

The figures are written by the benchmark scripts next to their tables and stay there (one source);
this hook adds every ``benchmarks/results/**/*.png`` to the build as
``results/figures/<path below benchmarks/results>``, so a results page links ``figures/NAME.png``
and ``mkdocs build --strict`` checks that the figure exists.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
PREFIX = "results/figures"


def on_files(files: Files, config) -> Files:
    if not RESULTS.is_dir():
        return files
    for png in sorted(RESULTS.rglob("*.png")):
        rel = png.relative_to(RESULTS).as_posix()
        files.append(File.generated(config, f"{PREFIX}/{rel}", abs_src_path=str(png)))
    return files
