"""Which layer should rule auto's spectral match read? Every hidden layer, and a random-feature fit, over the oracle grid.

    python benchmarks/auto_layers.py --resume     # needs benchmarks/results/adaptive/runs (adaptive.py)

Rule auto compares the target's spectrum with the *second* layer's at initialization. Here, for
every shared clip and image and the RGB images of ``adaptive.py`` (same windows, widths and seed),
each grid point s0 = code × {0.5, 1, 2, 4, 8} at the rule's s1 is initialized (no training) and
scored by two criteria that need no fitted constant:

- ``layer l``: rule auto's distance (``siren2.winner.spectrum_distance``: 1-Wasserstein between the
  mean magnitude spectra of up to 64 units and the target's, per axis) read at hidden layer l
  (1 = the first; 2 is what rule auto reads); the closest grid point wins;
- ``features``: the share of the target's variance left by a least-squares fit of the target on
  the last hidden layer's activations (and a constant), as if only the head were trained; the
  lowest wins;
- ``2Ω, layer l``: the same distance with the activations read at twice the resolution (on the
  central half of the window, so as many points) up to 2Ω, against the target's spectrum with
  nothing between Ω and 2Ω: a sampled target holds nothing above its Nyquist Ω, so features that
  alias past it count as a mismatch (``siren2.winner.oversampled``);
- ``auto 2Ω (free)``: the earlier rule auto's free 2-D (s0, s1) search (:func:`free_search_2d`, layer 2)
  with that distance, and a full fit at the point it picks (one record per signal under
  benchmarks/results/auto_layers/runs/, kept with ``--resume``).

Regret = the oracle's psnr_paper − the psnr_paper of the full fit at the point chosen (dB; the full
fits are adaptive.py's records, as in auto_race.py). Writes benchmarks/results/auto_layers.md/.json.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from _common import RESULTS, machine, write_results
from adaptive import RGB, SHAPES, free_search_2d, run_one
from auto_race import FACTORS, grid_model, grid_signals, regret_table

from siren2 import create_model
from siren2.winner import AUTO_UNITS, axis_spectra, oversampled, spectrum_distance, target_spectra


@torch.no_grad()
def criteria(model, sig) -> dict[str, float]:
    """Each hidden layer's spectral distance to the target (at the window's resolution, and at twice
    it up to 2Ω), and the head-only fit's residual share."""
    target = target_spectra(sig)
    coords, _, padded = oversampled(sig, line=None)  # the central half, as studied
    h, g, out = model.encoding(sig.coords()), model.encoding(coords), {}
    for depth, block in enumerate(model.hidden, start=1):
        h, g = block(h), block(g)
        out[f"layer {depth}"] = spectrum_distance(axis_spectra(h[:, :AUTO_UNITS], sig.grid), target)
        out[f"2Ω, layer {depth}"] = spectrum_distance(axis_spectra(g[:, :AUTO_UNITS], sig.grid), padded)
    y = torch.as_tensor(sig.values, dtype=torch.float64)
    a = torch.cat([h.double(), torch.ones(h.shape[0], 1, dtype=torch.float64)], dim=1)
    residual = a @ torch.linalg.lstsq(a, y).solution - y
    out["features"] = float((residual ** 2).sum() / ((y - y.mean(0)) ** 2).sum())
    return out


RUNS = RESULTS / "auto_layers" / "runs"


def free_search(name: str, sig, resume: bool) -> dict:
    """The earlier rule auto's free search read at 2Ω (layer 2), and the full fit at its pick (adaptive.py's settings)."""
    path = RUNS / f"{name.replace('.', '_')}.json"
    if resume and path.exists():
        return json.loads(path.read_text())
    s = SHAPES[sig.in_dim]
    model = create_model("siren2", sig, preset=s["preset"], seed=0, width=s["width"], hidden_layers=s["hidden_layers"],
                         s0=0.0, s1=0.0)  # SIREN's initialization; auto's draws are the ones the fit then adds
    search = free_search_2d(model, sig, resolution=2)
    rec = run_one(name, sig, "auto 2Ω", "siren2", {"s0": search["s0"], "s1": search["s1"]}) | {"search": search}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, default=float))
    return rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resume", action="store_true", help="keep the free search's finished fits")
    args = ap.parse_args()
    rows = []
    for sig, recs, row in grid_signals():
        oracle, start = max(row["final"].values()), time.perf_counter()
        scores = {f: criteria(grid_model(sig, recs, f), sig) for f in FACTORS}
        row |= {"scores": scores, "seconds": time.perf_counter() - start}
        free = free_search(row["signal"], sig, args.resume)
        code = recs[1.0]["winner"]
        row |= {"final_code_s1": code["s1"],
                "free": {"s0": free["winner"]["s0"], "s1": free["winner"]["s1"],
                         "s0_over_code": free["winner"]["s0"] / code["s0"], "psnr_paper": free["metrics"]["psnr_paper"]}}
        row["regret"]["auto 2Ω (free)"] = oracle - free["metrics"]["psnr_paper"]
        last = f"layer {len(scores[1.0]) // 2}"  # two keys per layer, and "features"
        row["picks"] = {name: min(FACTORS, key=lambda f, k=key: scores[f][k])
                        for name, key in (("layer 1", "layer 1"), ("layer 2", "layer 2"), ("last layer", last),
                                          ("features", "features"), ("2Ω, layer 2", "2Ω, layer 2"),
                                          ("2Ω, last layer", f"2Ω, {last}"))}
        row["regret"] |= {k: oracle - row["final"][f] for k, f in row["picks"].items()}
        rows.append(row)
        print(row["signal"], {k: round(v, 2) for k, v in row["regret"].items()}, flush=True)
    under = {k: [f"{r['signal']} {r['regret'][k] - r['regret']['code']:+.2f}" for r in rows
                 if r["regret"][k] - r["regret"]["code"] > 0.5 and r["signal"] not in RGB]
             for k in [*rows[0]["picks"], "auto 2Ω (free)"]}
    method = ("`layer l`: rule auto's spectral distance read at hidden layer l at initialization (`last layer`: the "
              "deepest, 4 audio / 5 images), the closest grid point wins; `features`: the least-squares fit of the "
              "target on the last hidden layer's activations, the lowest residual wins; `2Ω, …`: the distance read at twice "
              "the resolution on the window's central half, up to 2Ω, against the target's spectrum with zeros above "
              "its Nyquist Ω (aliasing features count as a mismatch); `auto 2Ω (free)`: rule auto's own free (s0, s1) search "
              "with that distance at layer 2 (the earlier rule auto's 2-D search), off the grid, and the full fit at its "
              "pick (negative regret: better than the grid's best).")
    lines = regret_table("Which layer should rule auto read?", method, rows) + [
        "", "More than 0.5 dB under `code` (shared clips and grayscale images; regret − code's regret): "
        + "; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in under.items()) + ".",
        f"Seconds for the five grid points' criteria, median: {np.median([r['seconds'] for r in rows]):.1f}.",
        "", "`auto 2Ω (free)` picked (s0 as a multiple of `code`'s, s1 against `code`'s): " + "; ".join(
            f"{r['signal']} x{r['free']['s0_over_code']:.2g}, s1 {r['free']['s1']:.3g} ({r['final_code_s1']:.3g})"
            for r in rows) + ".",
        "", f"On {machine()['processor']}, torch {machine()['torch']}."]
    write_results("auto_layers", {"machine": machine(),
                                  "rows": [r | {k: {str(f): v for f, v in r[k].items()} for k in ("final", "scores")}
                                           for r in rows]}, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
