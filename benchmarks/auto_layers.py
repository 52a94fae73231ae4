"""Which layer should rule auto's spectral match read? Every hidden layer, and a random-feature fit, over the oracle grid.

    python benchmarks/auto_layers.py          # needs benchmarks/results/adaptive/runs (adaptive.py)

Rule auto compares the target's spectrum with the *second* layer's at initialization. Here, for
every shared clip and image and the RGB images of ``adaptive.py`` (same windows, widths and seed),
each grid point s0 = code × {0.5, 1, 2, 4, 8} at the rule's s1 is initialized (no training) and
scored by two criteria that need no fitted constant:

- ``layer l``: rule auto's distance (``siren2.winner.spectrum_distance``: 1-Wasserstein between the
  mean magnitude spectra of up to 64 units and the target's, per axis) read at hidden layer l
  (1 = the first; 2 is what rule auto reads); the closest grid point wins;
- ``features``: the share of the target's variance left by a least-squares fit of the target on
  the last hidden layer's activations (and a constant), as if only the head were trained; the
  lowest wins.

Regret = the oracle's psnr_paper − the psnr_paper of the full fit at the point chosen (dB; the full
fits are adaptive.py's records, as in auto_race.py). Writes benchmarks/results/auto_layers.md/.json.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from _common import machine, write_results
from adaptive import RGB
from auto_race import FACTORS, grid_model, grid_signals, regret_table

from siren2.winner import AUTO_UNITS, axis_spectra, spectrum_distance


@torch.no_grad()
def criteria(model, sig) -> dict[str, float]:
    """Each hidden layer's spectral distance to the target, and the head-only fit's residual share."""
    target = axis_spectra(torch.as_tensor(sig.values - sig.values.mean(axis=0)), sig.grid)
    h, out = model.encoding(sig.coords()), {}
    for depth, block in enumerate(model.hidden, start=1):
        h = block(h)
        out[f"layer {depth}"] = spectrum_distance(axis_spectra(h[:, :AUTO_UNITS], sig.grid), target)
    y = torch.as_tensor(sig.values, dtype=torch.float64)
    a = torch.cat([h.double(), torch.ones(h.shape[0], 1, dtype=torch.float64)], dim=1)
    residual = a @ torch.linalg.lstsq(a, y).solution - y
    out["features"] = float((residual ** 2).sum() / ((y - y.mean(0)) ** 2).sum())
    return out


def main() -> None:
    rows = []
    for sig, recs, row in grid_signals():
        oracle, start = max(row["final"].values()), time.perf_counter()
        scores = {f: criteria(grid_model(sig, recs, f), sig) for f in FACTORS}
        row |= {"scores": scores, "seconds": time.perf_counter() - start}
        last = f"layer {len(scores[1.0]) - 1}"  # every key but "features" is a layer
        row["picks"] = {name: min(FACTORS, key=lambda f, k=key: scores[f][k])
                        for name, key in (("layer 1", "layer 1"), ("layer 2", "layer 2"), ("last layer", last),
                                          ("features", "features"))}
        row["regret"] |= {k: oracle - row["final"][f] for k, f in row["picks"].items()}
        rows.append(row)
        print(row["signal"], {k: round(v, 2) for k, v in row["regret"].items()}, flush=True)
    under = {k: [f"{r['signal']} {r['regret'][k] - r['regret']['code']:+.2f}" for r in rows
                 if r["regret"][k] - r["regret"]["code"] > 0.5 and r["signal"] not in RGB]
             for k in rows[0]["picks"]}
    method = ("`layer l`: rule auto's spectral distance read at hidden layer l at initialization (`last layer`: the "
              "deepest, 4 audio / 5 images), the closest grid point wins; `features`: the least-squares fit of the "
              "target on the last hidden layer's activations, the lowest residual wins.")
    lines = regret_table("Which layer should rule auto read?", method, rows) + [
        "", "More than 0.5 dB under `code` (shared clips and grayscale images; regret − code's regret): "
        + "; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in under.items()) + ".",
        f"Seconds for the five grid points' criteria, median: {np.median([r['seconds'] for r in rows]):.1f}.",
        "", f"On {machine()['processor']}, torch {machine()['torch']}."]
    write_results("auto_layers", {"machine": machine(),
                                  "rows": [r | {k: {str(f): v for f, v in r[k].items()} for k in ("final", "scores")}
                                           for r in rows]}, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
