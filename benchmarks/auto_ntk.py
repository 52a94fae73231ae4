"""Can the NTK at initialization pick s0? Kernel criteria over the oracle grid, against the grid's full fits.

    python benchmarks/auto_ntk.py            # needs benchmarks/results/adaptive/runs (adaptive.py)

For every shared clip and image and the RGB images of ``adaptive.py`` (same windows, widths and
seed), each grid point s0 = code × {0.5, 1, 2, 4, 8} at the rule's s1 is initialized (no training)
and its empirical NTK K = J·Jᵀ is taken on the central 1,024 points (audio: contiguous samples;
images: 32 × 32 pixels; per channel). With (λ_i, v_i) its eigenpairs and r the residual y − f at
initialization, two criteria (docs/method.md#analysis-tools's kernel view of what gradient descent fits fast):

- ``kernel T``: the share of ‖r‖² left after kernel gradient flow to a horizon of T in units of the
  fastest mode's time, Σ_i (v_i·r)² exp(−2T·λ_i/λ_max) / ‖r‖², for T = epochs/10, epochs and
  10·epochs; the lowest wins;
- ``alignment``: rᵀKr / (λ_max·‖r‖²); the highest wins.

Regret = the oracle's psnr_paper − the psnr_paper of the full fit at the point chosen (dB; the full
fits are adaptive.py's records, as in auto_race.py). Writes benchmarks/results/auto_ntk.md/.json.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from _common import machine, write_results
from auto_race import FACTORS, grid_model, grid_signals, regret_table

from siren2.analysis.ntk import parameter_jacobian
from siren2.signal import Signal, crop

PATCH = 1024  # points of the kernel: 1,024 samples or 32 x 32 pixels


def horizons(epochs: int) -> dict[str, float]:
    """The kernel criterion's horizons T, named by their relation to the fit's epochs."""
    return {"epochs/10": epochs / 10, "epochs": epochs, "10·epochs": epochs * 10}


def central_patch(sig: Signal) -> Signal:
    """The central PATCH points of ``sig`` (1,024 samples or 32 x 32 pixels) at their coordinates in ``sig``."""
    side = round(PATCH ** (1 / sig.in_dim))
    return crop(sig, tuple((n - side) // 2 for n in sig.grid), (side,) * sig.in_dim)


def criteria(model, patch: Signal, epochs: int) -> dict[str, float]:
    """The kernel criteria above for ``model`` on ``patch`` (every channel's eigenpairs pooled)."""
    x = patch.coords()
    with torch.no_grad():
        r = (torch.as_tensor(patch.values) - model(x)).double()
    J = parameter_jacobian(model, x).double()  # (C, n, P)
    lam, proj = [], []
    for c in range(J.shape[0]):
        w, V = torch.linalg.eigh(J[c] @ J[c].T)
        lam.append(w.clamp_min(0))
        proj.append((V.T @ r[:, c]) ** 2)
    lam, proj = torch.cat(lam), torch.cat(proj)
    rate, total = lam / lam.max(), proj.sum()
    out = {f"kernel {label}": float((proj * torch.exp(-2 * t * rate)).sum() / total)
           for label, t in horizons(epochs).items()}
    out["alignment"] = float((proj * rate).sum() / total)
    return out


def main() -> None:
    rows = []
    for sig, recs, row in grid_signals():
        patch, oracle = central_patch(sig), max(row["final"].values())
        scores, start = {}, time.perf_counter()
        for f in FACTORS:
            scores[f] = criteria(grid_model(sig, recs, f), patch, recs[1.0]["epochs"])
        seconds = time.perf_counter() - start
        picks = {k: (max if k == "alignment" else min)(FACTORS, key=lambda f, k=k: scores[f][k]) for k in scores[1.0]}
        row |= {"scores": scores, "picks": picks, "cost": seconds / recs[1.0]["fit_seconds"]}
        row["regret"] |= {k: oracle - row["final"][f] for k, f in picks.items()}
        rows.append(row)
        print(row["signal"], {k: round(v, 2) for k, v in row["regret"].items()}, flush=True)
    method = (f"Kernel criteria on the central {PATCH:,} points at initialization: `kernel T` keeps the grid point "
              "whose NTK leaves the least of the initial residual after gradient flow to T (in units of the fastest "
              "mode's time; T = epochs/10, epochs, 10·epochs of the fit), `alignment` the one with the highest "
              "rᵀKr / (λ_max‖r‖²).")
    lines = regret_table("Can the NTK at initialization pick s0?", method, rows) + [
        f"Cost of the five kernels, median: {np.median([r['cost'] for r in rows]):.1%} of one fit.",
        "", f"On {machine()['processor']}, torch {machine()['torch']}."]
    write_results("auto_ntk", {"machine": machine(), "patch": PATCH,
                               "rows": [r | {k: {str(f): v for f, v in r[k].items()} for k in ("final", "scores")}
                                        for r in rows]}, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
