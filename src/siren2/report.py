"""One self-contained HTML page for any output of the ``siren2`` commands: hear and see the results.

    html = report(["runs/clip", "runs/cmp"])     # what `siren2 report runs/clip runs/cmp --out page.html` writes
    write_report(["runs/clip"], "page.html")

Every output the commands write is a kind of its own, recognised by its files (:func:`detect`): a fit
(``fit``, each input of ``fit-many``, ``denoise``, ``inpaint``), a comparison, ``fit-many``'s index,
``restore-eval``, a tuning and a ``compress`` record. Each becomes one section:

* **audio**: players for the target, the fit and the residual (target − fit, played at the target's
  level: the gain is printed beside it), spectrograms; at most `MAX_AUDIO_SECONDS` per player, with a
  note where a file is longer;
* **images**: target and fit side by side, a zoomed crop of each, and the error |target − fit|;
* **training**: psnr_paper per epoch per model;
* **tables**: the metrics and the run's settings; a comparison's, an index's and a tuning's tables sort
  by any column (a click on its header).

The page is one file: audio and images are embedded (data: URIs), the styles and the one script
inline, nothing fetched. Everything read from a run folder is escaped, and the page's Content
Security Policy allows only its own script (by hash), so nothing from a run executes in it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import tempfile
from pathlib import Path

import numpy as np

from .errors import InputError
from .io import load_signal
from .io.files import write_text

__all__ = ["report", "write_report", "detect", "KINDS", "MAX_AUDIO_SECONDS", "MAX_SECTIONS"]

MAX_AUDIO_SECONDS = 30.0  # per player: a 150,000-sample clip at 44.1 kHz (3.4 s) fits whole, a song does not
MAX_SECTIONS = 12  # fit-many: the inputs shown as sections (all are in its table)
ZOOM = 4  # images: the crop is the central 1/ZOOM of each side, shown ZOOM times larger
KINDS = ("fit", "compare", "many", "restore-eval", "tune", "compress")

SCRIPT = """
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var down = th.getAttribute('data-dir') !== 'down';
    table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-dir'); });
    th.setAttribute('data-dir', down ? 'down' : 'up');
    var key = function (row) {
      var v = row.cells[col].getAttribute('data-v');
      return v === null ? row.cells[col].textContent : parseFloat(v);
    };
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      var c = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
      return down ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; } h3 { font-size: 1.05em; }
.runs { display: flex; gap: 2em; align-items: flex-start; overflow-x: auto; }
.run { flex: 1 1 0; min-width: 28em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable th { cursor: pointer; background: #f4f4f4; }
th[data-dir=down]::after { content: " \\25BC"; } th[data-dir=up]::after { content: " \\25B2"; }
.player { display: flex; align-items: center; gap: 1em; margin: 0.3em 0; }
.player span { min-width: 12em; }
figure { display: inline-block; margin: 0.3em 1em 0.3em 0; vertical-align: top; }
figure img.px { image-rendering: pixelated; }
figcaption { font-size: 12px; color: #555; }
img.fig { max-width: 100%; }
.note { color: #8a5a00; }
details { margin: 0.5em 0; }
"""


# ---------------------------------------------------------------------------------------- detect

def detect(path) -> str:
    """The kind of output at ``path`` (one of `KINDS`), by its files.

    Raises
    ------
    InputError
        For a path that is no output of the ``siren2`` commands (one line naming it).
    """
    p = Path(path)
    if p.is_file() and (p.name.endswith(".s2.json") or p.suffix == ".s2"):
        return "compress"
    if not p.is_dir():
        raise InputError(f"{p}: not found" if not p.exists() else
                         f"{p}: not a siren2 output (a run folder, or a compress record .s2.json)")
    for kind, files in (("tune", ["tune.json"]), ("compare", ["table.json", "fits"]), ("many", ["index.jsonl"]),
                        ("restore-eval", ["results.json", "table.md"]), ("fit", ["config.json", "metrics.json"])):
        if all((p / f).exists() for f in files):
            return kind
    raise InputError(f"{p}: not a siren2 output (no config.json and metrics.json, table.json, index.jsonl, "
                     "results.json or tune.json)")


# -------------------------------------------------------------------------------------- elements

def esc(value) -> str:
    """Text, escaped for HTML (any value: str() first)."""
    return html.escape(str(value), quote=True)


def number(v, digits: int = 2) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return esc("–" if v is None else v)
    if isinstance(v, float) and not math.isfinite(v):
        return "∞" if v > 0 else ("–" if math.isnan(v) else "−∞")
    return f"{v:,}" if isinstance(v, int) else f"{v:.{digits}f}"


def table(headers: list[str], rows: list[list], sortable: bool = False) -> str:
    """An HTML table; numbers right-aligned (and sorted as numbers)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for v in row:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                key = v if math.isfinite(v) else (1e308 if v > 0 else -1e308)
                cells.append(f'<td class="n" data-v="{key!r}">{number(v)}</td>')
            else:
                cells.append(f"<td>{esc('–' if v is None else v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cls = ' class="sortable"' if sortable else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def settings_table(d: dict) -> str:
    """A nested dict as a two-column table, in a fold."""
    rows = [[k, json.dumps(v) if isinstance(v, (dict, list)) else v] for k, v in flatten(d).items()]
    return f"<details><summary>Settings</summary>{table(['setting', 'value'], rows)}</details>"


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out |= flatten(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_tag(png: bytes, alt: str, cls: str = "fig", width: int | None = None) -> str:
    w = f' width="{width}"' if width else ""
    return f'<img class="{cls}" alt="{esc(alt)}" src="{data_uri(png, "image/png")}"{w}>'


def audio_tag(x: np.ndarray, sr: int, label: str, note: str = "") -> str:
    """A player for ``x`` (file scale, mono or (N, C)), as a 16-bit WAV data URI."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(np.asarray(x, np.float64), -1, 1), int(sr), format="WAV", subtype="PCM_16")
    extra = f' <small class="note">{esc(note)}</small>' if note else ""
    return (f'<div class="player"><span>{esc(label)}</span><audio controls preload="auto" '
            f'src="{data_uri(buf.getvalue(), "audio/wav")}"></audio>{extra}</div>')


def png_of(array: np.ndarray) -> bytes:
    """(H, W) or (H, W, C) values in [-1, 1] as an 8-bit PNG."""
    from PIL import Image

    a = np.round((np.clip(array, -1, 1) + 1) * 127.5).astype(np.uint8)
    a = a[:, :, 0] if a.ndim == 3 and a.shape[2] == 1 else a
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def figure(draw) -> bytes:
    """The PNG a :mod:`siren2.plots` function writes (``draw(path)``), read back."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "figure.png"
        draw(path)
        return path.read_bytes()


# ---------------------------------------------------------------------------------------- signals

def file_scale(path, max_samples: int | None = None, mono: bool = True) -> tuple[np.ndarray, object]:
    """A file's values in its own scale (audio × its peak), read as a run reads it, and its Signal."""
    sig = load_signal(path, max_samples=max_samples, mono=mono)
    values = sig.values * (sig.peak if sig.kind == "audio" and sig.peak else 1.0)
    return values, sig


def target_of(read: dict | str | None, base: Path) -> tuple[np.ndarray | None, object, str]:
    """The input a run fitted, read as the run read it (``read``: its config's ``spec.input``, or a path),
    from where it was given or beside the run's folder: its values in file scale and its Signal, or None
    and why not."""
    read = {"path": read} if not isinstance(read, dict) else read
    path_text = read.get("path")
    if not path_text:
        return None, None, "the run records no input file"
    for candidate in (Path(path_text), base / path_text):
        if candidate.is_file():
            try:
                values, sig = file_scale(candidate, read.get("max_samples"), read.get("mono", True))
                return values, sig, ""
            except InputError as e:
                return None, None, f"the input {path_text} cannot be read ({e})"
    return None, None, f"the input {path_text} is not found from here: the page shows the fit alone"


def audio_block(target: np.ndarray | None, fits: dict[str, np.ndarray], sr: int, why: str) -> str:
    """Players (target, each fit, each residual at the target's level) and the spectrograms."""
    from . import plots

    cap = int(MAX_AUDIO_SECONDS * sr)
    longest = max([len(f) for f in fits.values()] + [0 if target is None else len(target)])
    note = (f"the first {MAX_AUDIO_SECONDS:g} s of {longest / sr:.1f} s" if longest > cap else "")
    parts = [f'<p class="note">{esc(note)}</p>' if note else "", f'<p class="note">{esc(why)}</p>' if why else ""]
    mono = lambda v: v.mean(axis=1) if v.ndim == 2 else v  # noqa: E731
    n = min([len(f) for f in fits.values()] + ([len(target)] if target is not None else []))
    if target is not None:
        parts.append(audio_tag(target[:min(len(target), cap)], sr, "target"))
    for name, fit in fits.items():
        parts.append(audio_tag(fit[:cap], sr, f"fit: {name}"))
        if target is not None:
            residual = mono(target[:n]) - mono(fit[:n])
            rms_t, rms_r = float(np.sqrt(np.mean(mono(target[:n]) ** 2))), float(np.sqrt(np.mean(residual ** 2)))
            gain = rms_t / rms_r if rms_r > 0 else 1.0
            loud = residual * gain
            peak = float(np.abs(loud).max()) if loud.size else 0.0
            if peak > 1:  # level-matched, but never clipped
                loud, gain = loud / peak, gain / peak
            parts.append(audio_tag(loud[:cap], sr, f"residual: {name}",
                                   f"target − fit, played {20 * math.log10(max(gain, 1e-12)):+.1f} dB"))
    ref = mono(target[:n]) if target is not None else mono(next(iter(fits.values()))[:n])
    shown = {k: mono(v[:n]) for k, v in fits.items()}
    png = figure(lambda p: plots.audio_fit(ref[:cap], {k: v[:cap] for k, v in shown.items()}, sr, p))
    parts.append(image_tag(png, "waveform close-up and spectrograms: target, then each fit"))
    return "".join(parts)


def image_block(target: np.ndarray | None, fits: dict[str, np.ndarray], grid: tuple[int, int], why: str) -> str:
    """Target and fits side by side, a zoomed crop of each, and each fit's error map."""
    h, w = grid
    shape = lambda v: v.reshape(h, w, -1)  # noqa: E731
    ch, cw = max(1, h // ZOOM), max(1, w // ZOOM)
    top, left = (h - ch) // 2, (w - cw) // 2
    shown = ({"target": shape(target)} if target is not None else {}) | {f"fit: {k}": shape(v) for k, v in fits.items()}
    size = 256  # each picture's width on the page, pixels drawn as squares
    parts = [f'<p class="note">{esc(why)}</p>' if why else "", "<div>"]
    for label, a in shown.items():
        parts.append(f"<figure>{image_tag(png_of(a), label, 'px', size)}<figcaption>{esc(label)}</figcaption></figure>")
    parts.append("</div><div>")
    for label, a in shown.items():
        crop = a[top:top + ch, left:left + cw]
        parts.append(f"<figure>{image_tag(png_of(crop), label + ' (crop)', 'px', size)}"
                     f"<figcaption>{esc(label)}: the central {ch}×{cw}, ×{size // max(ch, cw)}</figcaption></figure>")
    parts.append("</div>")
    if target is not None:
        parts.append("<div>")
        for name, v in fits.items():
            err = np.abs(shape(target) - shape(v)).mean(axis=2)
            top_err = float(err.max()) or 1.0
            parts.append(f"<figure>{image_tag(png_of(err / top_err * 2 - 1), 'error ' + name, 'px', size)}"
                         f"<figcaption>|target − fit| of {esc(name)}: black 0, white {top_err:.3g} "
                         "(on [−1, 1])</figcaption></figure>")
        parts.append("</div>")
    return "".join(parts)


def signal_block(target, target_sig, fits: dict[str, np.ndarray], fit_sig, why: str) -> str:
    """The audio or image block of a run, by its kind."""
    if fit_sig.kind == "audio":
        return audio_block(target, fits, fit_sig.sample_rate, why)
    if fit_sig.kind == "image":
        if target is not None and target_sig.grid != fit_sig.grid:
            target, why = None, f"the input's {target_sig.grid} grid differs from the fit's {fit_sig.grid}"
        return image_block(target, fits, fit_sig.grid, why)
    return f"<p>{esc(fit_sig.kind)}: no player or picture for this kind (see its files).</p>"


def curves_block(curves: dict[str, list[float]], title: str) -> str:
    from . import plots

    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return ""
    return "<h3>Training</h3>" + image_tag(figure(lambda p: plots.psnr_curves(curves, p, title)),
                                           "psnr_paper per epoch")


def metrics_rows(metrics: dict) -> list[list]:
    return [[k, v] for k, v in metrics.items() if k not in ("mse",)]


# ------------------------------------------------------------------------------------------ kinds

def reconstruction(folder: Path) -> Path | None:
    return next((p for p in sorted(folder.glob("reconstruction.*")) if p.suffix != ".json"), None)


def fit_section(folder: Path, name: str | None = None) -> str:
    """A fit's run folder: its metrics, settings, players or pictures, and its PSNR curve."""
    config = json.loads((folder / "config.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    spec = config.get("spec", {})
    model = spec.get("model") or config.get("model", {}).get("name") or "fit"
    parts = [f"<h2>{esc(name or folder.name)}: {esc(model)}</h2>",
             f"<p>{esc(spec.get('input', {}).get('path') or '')} · recipe {esc(spec.get('recipe', '–'))} · "
             f"{number(config.get('model', {}).get('parameters'))} parameters · {number(metrics.get('epochs_run'))} "
             f"epochs in {number(metrics.get('seconds'), 1)} s</p>",
             table(["metric", "value"], metrics_rows(metrics.get("metrics", {})))]
    rec = reconstruction(folder)
    if rec is not None and rec.suffix.lower() in (".wav", ".flac", ".ogg", ".png"):
        fit, fit_sig = file_scale(rec)
        target, target_sig, why = target_of(spec.get("input"), folder.parent)
        parts.append(signal_block(target, target_sig, {model: fit}, fit_sig, why))
    parts.append(curves_block({model: metrics.get("psnr_paper_per_epoch", [])}, ""))
    parts.append(settings_table(spec))
    return "".join(parts)


def compare_section(folder: Path) -> str:
    """A comparison: its sortable table, every model's players or pictures, the curves of every fit."""
    t = json.loads((folder / "table.json").read_text())
    names = list(t.get("models", []))
    keys = [k for k, v in (t.get("rows") or [{}])[0].items()
            if isinstance(v, dict) and "mean" in v and k not in ("mse", "seconds")]
    cell = lambda row, k: (row.get(k) or {}).get("mean")  # noqa: E731
    rows = [[row.get("model")] + [cell(row, k) for k in keys] + [row.get("parameters"), cell(row, "seconds")]
            for row in t.get("rows", [])]
    parts = [f"<h2>{esc(folder.name)}: comparison</h2>",
             f"<p>{esc(t.get('signal', {}).get('source', ''))} · {len(names)} models × {len(t.get('seeds', []))} seeds · "
             f"{number(t.get('epochs'))} epochs · recipe {esc(t.get('recipe', '–'))}</p>",
             table(["model"] + keys + ["parameters", "seconds"], rows, sortable=True)]
    fits, sig, curves = {}, None, {}
    first_input = None  # the first fit's spec.input
    for run in sorted((folder / "fits").iterdir()):
        if not (run / "metrics.json").exists():
            continue
        m = json.loads((run / "metrics.json").read_text())
        c = json.loads((run / "config.json").read_text())
        model = c.get("spec", {}).get("model", run.name)
        curves[run.name] = m.get("psnr_paper_per_epoch", [])
        first_input = first_input or c.get("spec", {}).get("input")
        rec = reconstruction(run)
        if model not in fits and rec is not None and rec.suffix.lower() in (".wav", ".flac", ".png"):
            fits[model], sig = file_scale(rec)
    if fits:
        read = first_input if (first_input or {}).get("path") else t.get("signal", {}).get("source")
        target, target_sig, why = target_of(read, folder.parent)
        parts.append(signal_block(target, target_sig, fits, sig, why))
    parts.append(curves_block(curves, ""))
    return "".join(parts)


def many_section(folder: Path) -> str:
    """fit-many: the sortable index, then the first `MAX_SECTIONS` inputs' runs."""
    records = [json.loads(line) for line in (folder / "index.jsonl").read_text().splitlines() if line.strip()]
    keys = []
    for r in records:
        keys += [k for k in (r.get("metrics") or {}) if k not in keys and k not in ("mse", "best_epoch_psnr_paper")]
    rows = [[r.get("input"), r.get("status")] + [(r.get("metrics") or {}).get(k) for k in keys]
            + [r.get("parameters"), r.get("seconds")] for r in records]
    parts = [f"<h2>{esc(folder.name)}: {len(records)} inputs</h2>",
             table(["input", "status"] + keys + ["parameters", "seconds"], rows, sortable=True)]
    shown = [r for r in records if r.get("status") == "ok" and (folder / str(r.get("folder"))).is_dir()]
    if len(shown) > MAX_SECTIONS:
        parts.append(f'<p class="note">The first {MAX_SECTIONS} of {len(shown)} runs are shown below; the table '
                     "holds them all.</p>")
    for r in shown[:MAX_SECTIONS]:
        parts.append(f'<div class="sub">{fit_section(folder / str(r["folder"]), str(r["folder"]))}</div>')
    return "".join(parts)


def restore_eval_section(folder: Path) -> str:
    """restore-eval: the scores, the corrupted input and each restoration."""
    res = json.loads((folder / "results.json").read_text())
    summary = res.get("summary", {})
    keys = []
    for cells in summary.values():
        keys += [k for k, v in cells.items() if isinstance(v, dict) and "mean" in v and k not in keys and k != "mse"]
    rows = [[name] + [(cells.get(k) or {}).get("mean") for k in keys] for name, cells in summary.items()]
    parts = [f"<h2>{esc(folder.name)}: restoration ({esc(res.get('corruption', {}).get('label', ''))})</h2>"]
    if rows:
        parts.append(table(["method"] + keys, rows, sortable=True))
    parts.append((f"<pre>{esc((folder / 'table.md').read_text())}</pre>"))
    sig = None
    files = {"corrupted": folder / "corrupted.wav"} | {p.stem.removeprefix("restored_"): p
                                                       for p in sorted(folder.glob("restored_*.*"))}
    fits = {}
    for label, path in files.items():
        if path.exists() and path.suffix.lower() in (".wav", ".flac", ".png"):
            fits[label], sig = file_scale(path)
    if fits:
        path_text = (res.get("settings") or {}).get("input") or res.get("clean", {}).get("source")  # as given
        target, target_sig, why = target_of(path_text, folder.parent)
        parts.append(signal_block(target, target_sig, fits, sig, why))
    if (folder / "restoration.png").exists():
        parts.append(image_tag((folder / "restoration.png").read_bytes(), "restoration figure"))
    return "".join(parts)


def tune_section(folder: Path) -> str:
    """A tuning: the best setting against the defaults, every search fit (sortable), its figure, the best run."""
    t = json.loads((folder / "tune.json").read_text())
    knobs = t.get("knobs", [])
    parts = [f"<h2>{esc(folder.name)}: tuning {esc(t.get('model'))}</h2>",
             table(["setting"] + knobs, [["default"] + [t["default"].get(k) for k in knobs],
                                         ["best"] + [t["best"].get(k) for k in knobs]]),
             f"<p>{len(t.get('candidates', []))} search fits, {number(t.get('search_seconds'), 1)} s; the final fit "
             f"{number(t.get('fit_seconds'), 1)} s ({number(t.get('cost_in_fits'))} fits in all).</p>",
             table(["round"] + knobs + ["epochs", "held-out psnr_paper", "train psnr_paper", "seconds"],
                   [[c.get("round")] + [c.get(k) for k in knobs] + [c.get("epochs"), c.get("heldout_psnr_paper"),
                                                                    c.get("train_psnr_paper"), c.get("seconds")]
                    for c in t.get("candidates", [])], sortable=True)]
    if (folder / "tune.png").exists():
        parts.append(image_tag((folder / "tune.png").read_bytes(), "held-out psnr_paper against the knob"))
    if (folder / "best" / "config.json").exists():
        parts.append(f'<div class="sub">{fit_section(folder / "best", "best")}</div>')
    return "".join(parts)


def compress_section(path: Path) -> str:
    """A compress record (.s2.json, the .s2 beside it): the numbers, and the decoded signal against the input."""
    from .codec import decompress

    record_path = path if path.name.endswith(".s2.json") else path.with_name(path.name + ".json")
    data_path = record_path.with_name(record_path.name.removesuffix(".json"))
    rec = json.loads(record_path.read_text())
    parts = [f"<h2>{esc(data_path.name)}: {esc(rec.get('model'))} at {esc(rec.get('rate'))}</h2>",
             table(["", ""], [["bytes", rec.get("bytes")], ["bits per sample", rec.get("bits_per_sample")],
                              ["network", f"{rec.get('hidden_layers')} x {rec.get('width')}"],
                              ["parameters", rec.get("parameters")], ["encode seconds", rec.get("encode_seconds")]]),
             table(["metric", "value"], metrics_rows(rec.get("metrics", {})))]
    if rec.get("notes"):
        parts.append("".join(f'<p class="note">{esc(n)}</p>' for n in rec["notes"]))
    if data_path.is_file():
        back = decompress(data_path.read_bytes(), name=str(data_path))
        values = back.values * (back.peak if back.kind == "audio" and back.peak else 1.0)
        target, target_sig, why = target_of(rec.get("input"), record_path.parent)
        parts.append(signal_block(target, target_sig, {"decoded": values}, back, why))
    else:
        parts.append(f'<p class="note">{esc(data_path)} is not beside its record: nothing to decode.</p>')
    return "".join(parts)


SECTIONS = {"fit": fit_section, "compare": compare_section, "many": many_section,
            "restore-eval": restore_eval_section, "tune": tune_section, "compress": compress_section}


# -------------------------------------------------------------------------------------------- page

def report(paths, title: str | None = None) -> str:
    """The HTML page of the outputs at ``paths``, side by side.

    Parameters
    ----------
    paths : list of str or os.PathLike
        Output folders of the commands (or compress records, ``X.s2.json``).
    title : str, optional
        The page's title (default: the paths).

    Returns
    -------
    str
        One self-contained HTML document.

    Raises
    ------
    InputError
        A path that is no output of the commands ([`detect`][]).
    """
    from . import __version__

    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("give at least one run folder")
    kinds = [detect(p) for p in paths]
    runs = "".join(f'<div class="run">{SECTIONS[k](p)}</div>' for p, k in zip(paths, kinds))
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    policy = (f"default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'; "
              f"script-src 'sha256-{digest}'")
    name = title or ", ".join(str(p) for p in paths)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
            f"<title>{esc(name)}</title><style>{STYLE}</style></head><body>"
            f"<h1>siren2 report: {esc(name)}</h1>"
            f'<div class="runs">{runs}</div>'
            f"<p><small>siren2 {esc(__version__)}</small></p>"
            f"<script>{SCRIPT}</script></body></html>\n")


def write_report(paths, out, title: str | None = None) -> Path:
    """Write :func:`report` of ``paths`` to ``out`` atomically; returns ``out``."""
    return write_text(Path(out), report(paths, title))
