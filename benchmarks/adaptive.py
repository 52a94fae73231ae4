"""Rule `auto` against the paper's `code` rule and the best point of an (s0, s1) grid, at one budget.

    python benchmarks/adaptive.py --resume                      # every signal
    python benchmarks/adaptive.py --signals camera.png,gt_bach.wav --resume
    python benchmarks/adaptive.py --signals none --resume       # tables from the records only

Every fit is SIREN² under the `fast` recipe, seed 0, about 1 parameter per sample:
- audio: the shared clips' central 30,000 samples at full-protocol coordinates, 4 x 100 (500 epochs);
- images: the shared grayscale images' and scikit-image's RGB images' (astronaut, coffee, chelsea)
  central 128 x 128 at full-image coordinates, 5 x 64 (2000 epochs; RGB: 3 values per pixel, so
  0.34 parameters per value);
- 3-D, generated in code: a 32³ volume (a sum of random 3-D sinusoids under a Gaussian envelope)
  and a shape (the signed distance of a torus with a ridged surface), 3 x 128 (500 epochs), where
  SIREN (ω_first 30) runs too.

Variants per signal: `code` (the paper's rule; none in 3-D), `auto` (siren2.winner.auto_scales),
and the grid s0 x {0.5, 2, 4, 8} at the rule's s1 (with `code` itself, the oracle's grid; in 3-D
s0 = Ω/{16, 8, 4, 2} at the s1 of the earlier rule auto, :func:`free_search_2d`, Ω the grid's Nyquist).
One record per fit (key ``<signal>/<variant>``) in benchmarks/results/adaptive_rules.jsonl, stored as
it ends (``--resume`` keeps the records made with the same network, recipe and variant); writes
benchmarks/results/adaptive_rules.md from every record there (``--signals none``: from the records
only, fitting nothing).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from common import (DATA, FINE, RESULTS, SHAPES, band_limited, completed, fine_iou, invocation, lattice, machine,
                     median, records_of, results_of, save_invocation, shape, window, write_table)

from siren2 import create_model, runs
from siren2.records import RecordStore, fingerprint
from siren2.signal import Signal, crop
from siren2.spec import resolve
from siren2.train import FitConfig, fit
from siren2.winner import AUTO_UNITS, axis_spectra, nyquist, oversampled, s0_candidates, spectrum_distance, target_spectra

GRID = (0.5, 2.0, 4.0, 8.0)
VARIANTS = 6  # per signal: code, auto and the grid's four (3-D: siren, auto and four)
RGB = ("astronaut", "coffee", "chelsea")
GENERATED_3D = ("volume", "shape", "occupancy")  # the generated 3-D signals (no paper rule)
ORDER = ("volume", "shape", "occupancy", "camera.png", "gt_bach.wav", "astronaut", "relay.wav", "rock_512.jpg", "coffee",
         "noise1.png", "chelsea", "tap.wav", "shattered.wav", "arch.wav", "radiation.wav", "tetris.wav", "whoosh.wav")


def rgb_window(name: str) -> Signal:
    import skimage.data

    arr = getattr(skimage.data, name)().astype(np.float32) / 127.5 - 1.0
    h, w, c = arr.shape
    full = Signal(values=arr.reshape(-1, c), grid=(h, w), kind="image", source=f"skimage.data.{name}")
    return crop(full, ((h - 128) // 2, (w - 128) // 2), (128, 128))


def volume(n: int = 32) -> Signal:
    """:func:`band_limited` on the n³ grid, scaled to a peak of 1."""
    v = band_limited(lattice(n).reshape(-1, 3), n)
    return Signal(values=(v / np.abs(v).max())[:, None], grid=(n,) * 3, kind="volume", source="generated volume")


def loaders() -> dict:
    out = {"volume": volume, "shape": shape, "occupancy": lambda: shape(field="occupancy")}
    for folder, kind, size in (("audio", "audio", 30_000), ("images", "image", 128)):
        for p in sorted((DATA / folder).iterdir()) if (DATA / folder).is_dir() else []:
            out[p.name] = lambda p=p, kind=kind, size=size: window(kind, p, size)
    for name in RGB:
        out[name] = lambda name=name: rgb_window(name)
    return out


@torch.no_grad()
def free_search_2d(model, sig, resolution: int = 1) -> dict:
    """The earlier rule auto (until the valley race): s0 ∈ s0_candidates, s1 ∈ {0} ∪ √(2/H)·2^(j/2),
    j = −4…10, the second layer's spectral distance to the target's (``resolution`` 2: read up to 2Ω,
    siren2.winner.oversampled), every other point of both axes, then the neighbours of the best."""
    first, second = model.first_two_linear()
    units, omega0 = min(AUTO_UNITS, second.out_features), model.config.omega0
    rng = torch.get_rng_state()
    e0, e1 = torch.randn(first.weight.shape), torch.randn(second.weight.shape)[:units]
    torch.set_rng_state(rng)
    coords, _, target = oversampled(sig, line=None) if resolution == 2 else (sig.coords(), None, target_spectra(sig))
    x = model.encoding(coords)
    s0s = s0_candidates(sig)
    s1s = [0.0] + [math.sqrt(2.0 / second.in_features) * 2 ** (j / 2) for j in range(-4, 11)]
    scores = {}

    def score(i, j):
        if (i, j) not in scores:
            h = model.hidden[0].act(torch.nn.functional.linear(x, first.weight + e0 * (s0s[i] / omega0), first.bias))
            h = model.hidden[1].act(torch.nn.functional.linear(h, second.weight[:units] + e1 * (s1s[j] / omega0),
                                                               second.bias[:units]))
            scores[i, j] = spectrum_distance(axis_spectra(h, sig.grid), target)
        return scores[i, j]

    bi, bj = min([(i, j) for i in range(0, len(s0s), 2) for j in range(0, len(s1s), 2)], key=lambda ij: score(*ij))
    bi, bj = min([(i, j) for i in range(max(bi - 1, 0), min(bi + 2, len(s0s)))
                  for j in range(max(bj - 1, 0), min(bj + 2, len(s1s)))], key=lambda ij: score(*ij))
    return {"s0": s0s[bi], "s1": s1s[bj], "candidates_scanned": len(scores), "distance": scores[bi, bj]}


def variants(sig: Signal) -> list[tuple[str, str, dict]]:
    """(label, model, winner options) for every fit of ``sig``."""
    s = SHAPES[sig.in_dim]
    if sig.in_dim == 3:
        base = create_model("siren2", sig, preset=s["preset"], seed=0, s0=0.0, s1=0.0, width=s["width"],
                            hidden_layers=s["hidden_layers"])
        s1, omega = free_search_2d(base, sig)["s1"], nyquist(sig)
        return [("siren", "siren", {}), ("auto", "siren2", {"rule": "auto"})] + [
            (f"s0 Ω/{d}", "siren2", {"s0": omega / d, "s1": s1}) for d in (16, 8, 4, 2)]
    code = create_model("siren2", sig, preset=s["preset"], seed=0, width=s["width"], hidden_layers=s["hidden_layers"]).winner
    return [("code", "siren2", {}), ("auto", "siren2", {"rule": "auto"})] + [
        (f"s0 x{f:g}", "siren2", {"s0": f * code.s0, "s1": code.s1}) for f in GRID]


def key_of(signal: str, label: str, in_dim: int) -> tuple[str, str]:
    """A fit's key and fingerprint: the network shape and recipe of its dimension, and its variant."""
    return f"{signal}/{label}", fingerprint({"shape": SHAPES[in_dim], "recipe": "fast", "seed": 0, "variant": label})


def run_one(name: str, sig: Signal, label: str, model: str, options: dict) -> dict:
    s = SHAPES[sig.in_dim]
    shape_opts = dict(width=s["width"], hidden_layers=s["hidden_layers"])
    cfg = FitConfig.resolve(s["preset"], "fast", sig.in_dim, model=model, width=s["width"])
    # untimed: two epochs at this size first, so the process's one-off warm-up (thread pool, allocator)
    # lands in neither the search nor the fit; a user's run pays it once either way
    fit(create_model("siren", sig, preset=s["preset"], **shape_opts), sig, replace(cfg, epochs=2, progress=False))
    run = runs.run(resolve(sig, dict(model=model, preset=s["preset"], recipe="fast") | shape_opts | (options or {})),
                   sig)
    completed(run.result)  # fit() keeps the best state on Ctrl-C: not a record
    if "field" in sig.meta:  # the torus
        run.metrics["iou_fine"] = fine_iou(run.result.model, sig)
    return {"signal": name, "label": label, "in_dim": sig.in_dim, "channels": sig.channels, "points": sig.num_points,
            "parameters": run.config["model"]["parameters"],
            "metrics": {k: run.metrics[k] for k in METRICS if k in run.metrics},
            "winner": slim_winner(run.config["model"]["winner"]), "fit_seconds": run.result.seconds}


METRICS = ("psnr_paper", "iou", "iou_fine", "chamfer")  # what the table reads of a fit's metrics


def slim_winner(winner: dict | None) -> dict | None:
    """What a record keeps of WINNER's settings (what the table reads): the scales and the search's seconds."""
    if winner is None:
        return None
    out = {k: winner[k] for k in ("s0", "s1") if k in winner}
    if isinstance(winner.get("search"), dict) and "seconds" in winner["search"]:
        out["search"] = {"seconds": winner["search"]["seconds"]}
    return out


def shape_cell(siren: dict | None, auto: dict) -> str:
    """SIREN / auto on a shape: IoU on the samples, IoU on the FINE-times finer grid, Chamfer distance."""
    if siren is None or "iou" not in auto["metrics"]:
        return "–"
    ms = siren["metrics"], auto["metrics"]
    return "; ".join(" / ".join(fmt.format(m[k]) for m in ms) for k, fmt in
                     (("iou", "{:.3f}"), ("iou_fine", "{:.3f}"), ("chamfer", "{:.2g}")) if all(k in m for m in ms))


def table(records: list[dict]) -> str:
    by = {}
    for r in records:
        by.setdefault(r["signal"], {})[r["label"]] = r
    lines = ["# Rule `auto` vs the `code` rule and the grid oracle", "",
             "SIREN² under `fast` (ours, not the paper's recipe: cosine, 500 epochs audio and 3-D, 2000 images), seed 0, "
             "one fit per variant; audio 4 x 100 on 30,000 samples, images 5 x 64 on 128², 3-D 3 x 128 on 32³ "
             "(params/sample below; RGB counts 3 values per pixel); psnr_paper (dB) of the best state. `oracle`: the best of the grid "
             "(s0 x {0.5, 1, 2, 4, 8} at the rule's s1; 1 is `code`). 3-D: no rule; the grid is s0 = "
             "Ω/{16, 8, 4, 2} (Ω the grid's Nyquist) at the earlier auto's s1, auto counted in it, and SIREN (ω_first 30) runs too. "
             "`auto cost`: the search's seconds (the valley and its race of short fits) over the fit's, both after an untimed "
             "two-epoch fit that takes the process's one-off warm-up. Shapes (the torus as signed distance, `shape`, and as "
             f"occupancy): IoU of the inside on the samples, IoU against the torus itself on a grid {FINE}x finer (between the "
             "samples), Chamfer distance. Earlier versions of rule "
             "auto, kept for comparison: `v1`, a free 2-D search of the second layer's spectral match, no training "
             "(`free_search_2d`); `v2`, the valley at s1 ∈ {0} ∪ √(2/H)·{1, 4, 16}, each point's s0 from every other candidate "
             "and the full window, raced at 2.5% of the epochs per point.", "",
             "| signal | params/sample | code | auto | v2 | v1 | oracle (at) | auto − code | auto − oracle | auto (s0, s1) "
             "| code (s0, s1) | auto cost | v2 cost | SIREN | shapes, SIREN / auto: iou; iou finer; chamfer |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---|"]
    gaps = {"code": [], "oracle": [], "rgb": [], "cost": [], "v1": [], "v2": [], "v2 cost": [], "race 2%": [],
            "race 2% under": []}
    partial = []
    for name in [n for n in ORDER if n in by] + sorted(set(by) - set(ORDER)):
        rs = by[name]
        if len(rs) < VARIANTS:  # a row compares all its variants or waits for them
            partial.append(name)
            continue
        p = lambda r: r["metrics"]["psnr_paper"]  # noqa: E731
        auto = rs["auto"]
        grid = {k: v for k, v in rs.items() if k == "code" or k.startswith("s0 ")}
        if auto["in_dim"] == 3:
            grid["auto"] = auto
        best = max(grid, key=lambda k: p(grid[k])) if grid else None
        code = rs.get("code")
        cost = auto["winner"]["search"]["seconds"] / auto["fit_seconds"]
        gaps["cost"].append(cost)
        v2 = rs.get("auto v2")
        v2_cost = v2["winner"]["search"]["seconds"] / v2["fit_seconds"] if v2 else None
        if v2:
            gaps["v2 cost"].append(v2_cost)
        cells = [name, f"{auto['parameters'] / auto['points'] / auto['channels']:.2f}",
                 f"{p(code):.2f}" if code else "–", f"{p(auto):.2f}",
                 f"{p(v2):.2f}" if v2 else "–", f"{p(rs['auto v1']):.2f}" if "auto v1" in rs else "–",
                 f"{p(grid[best]):.2f} ({best})" if best else "–",
                 f"{p(auto) - p(code):+.2f}" if code else "–", f"{p(auto) - p(grid[best]):+.2f}" if best else "–",
                 f"{auto['winner']['s0']:.4g}, {auto['winner']['s1']:.3g}",
                 f"{code['winner']['s0']:.4g}, {code['winner']['s1']:.3g}" if code else "–", f"{cost:.1%}",
                 f"{v2_cost:.1%}" if v2 else "–",
                 f"{p(rs['siren']):.2f}" if "siren" in rs else "–",
                 shape_cell(rs.get("siren"), auto)]
        lines.append("| " + " | ".join(cells) + " |")
        if code:
            gaps["code"].append(p(auto) - p(code))
            if name in RGB:
                gaps["rgb"].append(p(auto) - p(code))
            for v in ("v1", "v2", "race 2%"):
                if f"auto {v}" in rs:
                    gaps[v].append(p(rs[f"auto {v}"]) - p(code))
                    if v == "race 2%" and name not in RGB and p(rs[f"auto {v}"]) < p(code) - 0.5:
                        gaps["race 2% under"].append(f"{name} {p(rs[f'auto {v}']) - p(code):+.2f}")
        if best:
            gaps["oracle"].append(p(auto) - p(grid[best]))
    mean = lambda xs: f"{np.mean(xs):+.2f} dB over {len(xs)}" if xs else "none yet"  # noqa: E731
    lines += ["", f"- auto − code, mean: {mean(gaps['code'])}; worst: "
              f"{min(gaps['code']):+.2f} dB." if gaps["code"] else "", f"- auto − code on RGB images, mean: {mean(gaps['rgb'])}.",
              f"- auto − oracle, mean: {mean(gaps['oracle'])}.",
              *(f"- auto {v} − code, mean: {mean(gaps[v])}; worst: {min(gaps[v]):+.2f} dB." for v in ("v2", "v1") if gaps[v]),
              (f"- auto with its race at 2% of the epochs per point (records `*__auto_race_2pct.json`) − code, mean: "
               f"{mean(gaps['race 2%'])}; more than 0.5 dB under code on: {', '.join(gaps['race 2% under']) or 'none'}.")
              if gaps["race 2%"] else "",
              f"- auto's search cost, median: {median(gaps['cost']):.1%} of the fit's seconds, worst "
              f"{max(gaps['cost']):.1%}." if gaps["cost"] else "",
              f"- auto v2's search cost, median: {median(gaps['v2 cost']):.1%}." if gaps["v2 cost"] else "",
              f"- Not in the table until all {VARIANTS} of their fits are done: {', '.join(partial)}." if partial else ""]
    return "\n".join(lines) + "\n"


def tables(store: RecordStore) -> str:
    """The table from every fit record of ``store``, and the machine of the run that wrote it."""
    run = invocation(store)
    records = results_of(store)
    m = run["machine"]
    return table(records) + f"\n{len(records)} fits; {m['processor']}, {m['cpu_threads']} threads, torch {m['torch']}.\n"


def markdown_from_records(path: Path) -> str:
    """The table a records file makes (what ``--signals none`` writes)."""
    return tables(RecordStore(path))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--signals", help="comma list (default: all; 'none': the table from the records only)")
    ap.add_argument("--resume", action="store_true", help="keep finished records")
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    store = records_of("adaptive_rules", args.results)
    if args.signals == "none":
        if not store.path.exists():
            raise SystemExit(f"adaptive.py: {store.path} not found")
        print(write_table("adaptive_rules", tables(store), args.results))
        return 0
    available = loaders()
    names = args.signals.split(",") if args.signals else [n for n in ORDER if n in available]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f"adaptive.py: unknown signals {', '.join(unknown)} (have {', '.join(available)})")
    try:
        for name in names:
            sig = available[name]()
            for label, model, options in variants(sig):
                key, fp = key_of(name, label, sig.in_dim)
                if args.resume and store.get(key, fp) is not None:
                    continue
                rec = run_one(name, sig, label, model, options)
                store.add({"key": key, "fingerprint": fp} | rec)
                print(f"{name} {label}: {rec['metrics']['psnr_paper']:.2f} dB ({rec['fit_seconds']:.0f} s)", flush=True)
    except KeyboardInterrupt:
        print("interrupted: the tables hold what finished", file=sys.stderr)
    save_invocation(store, signals=names, machine=machine())
    print(write_table("adaptive_rules", tables(store), args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
