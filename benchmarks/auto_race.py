"""Can a short fit pick s0? A race of short fits over the oracle grid, against the grid's full fits.

    python benchmarks/auto_race.py            # needs benchmarks/results/adaptive/runs (adaptive.py)

For every shared clip and image and the RGB images of ``adaptive.py`` (same windows, widths and
seed), the five grid points s0 = code × {0.5, 1, 2, 4, 8} at the rule's s1 each train a short fit:
the `fast` recipe compressed to 2% and to 5% of the full fit's epochs. The race picks the grid point
with the lowest training loss; its *regret* is the oracle's full-fit psnr_paper minus the full-fit
psnr_paper of the point it picked (the full fits are adaptive.py's records, not rerun). A race of
five candidates at 2% costs 10% of a fit, at 5% 25%. Writes benchmarks/results/auto_race.md/.json.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
from _common import machine, write_results, completed
from adaptive import GENERATED_3D, GRID, ORDER, SHAPES, loaders, record_path

from siren2 import create_model
from siren2.train import FitConfig, fit

FACTORS = tuple(sorted((1.0, *GRID)))  # adaptive.py's grid with `code` (x1) itself
FRACTIONS = (0.02, 0.05)


def grid_records(name: str) -> dict[float, dict]:
    labels = {1.0: "code"} | {f: f"s0 x{f:g}" for f in GRID}
    return {f: json.loads(record_path(name, label).read_text()) for f, label in labels.items()}


def grid_signals(auto_label: str = "auto v1"):
    """Per shared clip and image and RGB image of adaptive.py: its signal, its grid records and the
    start of its table row (the full fits' psnr_paper, where the oracle is, code's and auto's regret;
    auto: adaptive.py's records of ``auto_label``, rule auto when the study ran)."""
    available = loaders()
    for name in [n for n in ORDER if n in available and n not in GENERATED_3D]:
        recs = grid_records(name)
        final = {f: r["metrics"]["psnr_paper"] for f, r in recs.items()}
        auto = json.loads(record_path(name, auto_label).read_text())["metrics"]["psnr_paper"]
        oracle = max(final.values())
        yield available[name](), recs, {"signal": name, "final": final, "oracle_at": max(final, key=final.get),
                                        "regret": {"code": oracle - final[1.0], "auto": oracle - auto}}


def grid_model(sig, recs: dict[float, dict], factor: float):
    """SIREN² at the grid point s0 = code × ``factor`` (the rule's s1), initialized as adaptive.py's fit."""
    s, code = SHAPES[sig.in_dim], recs[1.0]["winner"]
    return create_model("siren2", sig, preset=s["preset"], seed=0, width=s["width"],
                        hidden_layers=s["hidden_layers"], s0=factor * code["s0"], s1=code["s1"])


def regret_table(title: str, method: str, rows: list[dict]) -> list[str]:
    """The markdown of ``rows`` (grid_signals' rows with every choice's ``regret`` and the grid
    factor of each criterion's ``picks``): per signal, their mean and the worst."""
    keys, chosen = list(rows[0]["regret"]), list(rows[0]["picks"])
    lines = [f"# {title} Regret of each choice against the grid oracle", "",
             "SIREN² under `fast`, seed 0, adaptive.py's windows and widths (about 1 parameter per sample; RGB 0.35 per "
             "value). Grid: s0 = code × {0.5, 1, 2, 4, 8} at the rule's s1; its full fits are adaptive.py's records. "
             "Regret = the oracle's psnr_paper − the psnr_paper of the full fit at the point chosen (dB; 0 is the "
             f"oracle). {method} `auto`: rule auto's own fit.", "",
             "| signal | oracle at | " + " | ".join(keys) + f" | picks ({' / '.join(chosen)}) |",
             "|---|---:|" + "---:|" * len(keys) + "---|"]
    for r in rows:
        picks = " / ".join(f"x{r['picks'][k]:g}" for k in chosen)
        lines.append(f"| {r['signal']} | x{r['oracle_at']:g} | " + " | ".join(f"{r['regret'][k]:.2f}" for k in keys)
                     + f" | {picks} |")
    lines.append("| **mean** | | " + " | ".join(f"**{np.mean([r['regret'][k] for r in rows]):.2f}**" for k in keys) + " | |")
    return lines + ["", "Worst regret: " + ", ".join(f"{k} {max(r['regret'][k] for r in rows):.2f} dB" for k in keys) + "."]


def race(sig, recs: dict[float, dict], fraction: float) -> tuple[dict[float, float], float]:
    """psnr_paper of each grid point's short fit, and the race's seconds."""
    s = SHAPES[sig.in_dim]
    epochs = max(2, int(recs[1.0]["epochs"] * fraction))
    cfg = FitConfig.resolve(s["preset"], "fast", sig.in_dim, model="siren2", width=s["width"], epochs=epochs)
    scores, start = {}, time.perf_counter()
    for f in FACTORS:
        scores[f] = 10 * math.log10(1 / completed(fit(grid_model(sig, recs, f), sig, cfg)).best_loss)
    return scores, time.perf_counter() - start


def main() -> None:
    rows = []
    for sig, recs, row in grid_signals():
        oracle = max(row["final"].values())
        row["races"], row["picks"] = {}, {}
        for fraction in FRACTIONS:
            scores, seconds = race(sig, recs, fraction)
            pick = max(scores, key=scores.get)
            row["races"][fraction] = {"short_fit_psnr": scores, "pick": pick, "seconds": seconds,
                                      "cost": seconds / recs[1.0]["fit_seconds"]}
            row["regret"][f"race {fraction:.0%}"] = oracle - row["final"][pick]
            row["picks"][f"race {fraction:.0%}"] = pick
        rows.append(row)
        print(row["signal"], {k: round(v, 2) for k, v in row["regret"].items()}, flush=True)
    method = ("`race p%`: each grid point trains the `fast` recipe compressed to p% of the fit's epochs, the lowest "
              "training loss picks; five candidates cost 5·p% of a fit.")
    lines = regret_table("Can a short fit pick s0?", method, rows) + [
        "", f"On {machine()['processor']}, torch {machine()['torch']}."]
    write_results("auto_race", {"machine": machine(), "rows": [r | {"races": {str(k): v for k, v in r["races"].items()}}
                                                               for r in rows]}, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
