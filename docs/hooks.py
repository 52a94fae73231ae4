"""mkdocs hooks for the siren2 site.

1. The benchmark figures. They are written by the benchmark scripts next to their tables and stay
   there (one source): every ``benchmarks/results/**/*.png`` is added to the build as
   ``results/figures/<path below benchmarks/results>``, so a results page links
   ``figures/NAME.png`` and ``mkdocs build --strict`` checks that the figure exists.

2. The results tables' headings. A table of ``benchmarks/results/`` is a document of its own (it
   opens with an H1, its sections are H2); included with pymdownx.snippets into a page, its headings
   would sit beside the page's own sections. Every line ``--8<-- "benchmarks/results/..."`` is
   wrapped in markers before snippets runs, and after it the included headings between the markers
   are moved two levels down (H1 → H3, H2 → H4), under the page's section that includes them. A page
   that copies a table verbatim (the studies) wraps the copy in the same markers. The tables'
   text is not changed.
"""

from __future__ import annotations

import re
from pathlib import Path

from markdown import Extension
from markdown.preprocessors import Preprocessor
from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
PREFIX = "results/figures"

START, END = "<!-- siren2:table -->", "<!-- /siren2:table -->"
INCLUDE = re.compile(r'^\s*--8<--\s+"benchmarks/results/[^"]+"\s*$')
HEADING = re.compile(r"^(#{1,6})(\s)")
DEMOTE = 2


class _MarkIncludes(Preprocessor):
    """Before snippets: wrap each include of a results table in the markers."""

    def run(self, lines):
        out = []
        for line in lines:
            if INCLUDE.match(line):
                out += [START, line, END]
            else:
                out.append(line)
        return out


class _DemoteTables(Preprocessor):
    """After snippets: move the headings between the markers down; drop the markers."""

    def run(self, lines):
        out, inside, fence = [], False, False
        for line in lines:
            stripped = line.strip()
            if stripped == START:
                inside, fence = True, False
                out.append("")
                continue
            if stripped == END:
                inside = False
                out.append("")
                continue
            if inside:
                if stripped.startswith(("```", "~~~")):
                    fence = not fence
                m = HEADING.match(line)
                if m and not fence:
                    level = min(6, len(m.group(1)) + DEMOTE)
                    line = "#" * level + line[len(m.group(1)):]
            out.append(line)
        return out


class TablesExtension(Extension):
    def extendMarkdown(self, md):
        md.preprocessors.register(_MarkIncludes(md), "siren2_mark_tables", 33)  # snippets: 32
        md.preprocessors.register(_DemoteTables(md), "siren2_demote_tables", 31)


def on_config(config):
    config.markdown_extensions.append(TablesExtension())
    return config


def on_files(files: Files, config) -> Files:
    if not RESULTS.is_dir():
        return files
    for png in sorted(RESULTS.rglob("*.png")):
        rel = png.relative_to(RESULTS).as_posix()
        files.append(File.generated(config, f"{PREFIX}/{rel}", abs_src_path=str(png)))
    return files
