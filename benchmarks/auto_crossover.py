"""When does a full fit's ranking of (s0, s1) points form? The loss curves behind rule auto's misses.

    python benchmarks/auto_crossover.py --resume                      # camera, rock
    python benchmarks/auto_crossover.py --signals noise1.png --resume

Rule auto races its valley's points with the `fast` recipe compressed to 2.5% of the fit's epochs and
keeps the lowest loss (``siren2.winner.auto_scales``); on the grayscale images it picked the point of
largest s1 (4·√(2/H)), which the full fit ranks last on camera and (with every valley point) below
`code` on rock. For each signal (adaptive.py's windows, widths and seed), each point — the valley's
three, `code`, and the grid oracle's (s0 x 2 at the rule's s1 on these three) — gets one full `fast`
fit with its loss per epoch, and races compressed to 2.5%, 5% and 10% of the epochs (what a race at
that share of a fit sees). The table reads, per share of the epochs, which point leads the full fit
(its running best loss), and from which epoch on the full fit's final winner leads for good. One
record per signal under benchmarks/results/auto_crossover/ (``--resume`` keeps them); writes
benchmarks/results/auto_crossover.md/.json.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace

import numpy as np
from _common import RESULTS, completed, machine, run_and_collect, write_record, write_results
from adaptive import SHAPES, loaders
from paper import machine_line

from siren2 import create_model
from siren2.train import FitConfig, fit
from siren2.winner import valley

RUNS = RESULTS / "auto_crossover"
SIGNALS = ("camera.png", "rock_512.jpg")  # where rule auto's race picked a point the full fit ranks last
RACES = (0.025, 0.05, 0.1)  # compressed races, as shares of the fit's epochs
SHARES = (0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0)  # where the full fits' ranking is read


def model(sig, s0: float, s1: float):
    s = SHAPES[sig.in_dim]
    return create_model("siren2", sig, preset=s["preset"], seed=0, width=s["width"],
                        hidden_layers=s["hidden_layers"], s0=s0, s1=s1)


def points(sig) -> list[dict]:
    """The valley's points (rule auto's candidates), `code`, and s0 x 2 at the rule's s1."""
    s = SHAPES[sig.in_dim]
    code = create_model("siren2", sig, preset=s["preset"], seed=0, width=s["width"],
                        hidden_layers=s["hidden_layers"]).winner
    out = [{"label": f"valley {i}", "s0": p["s0"], "s1": p["s1"]} for i, p in enumerate(valley(model(sig, 0.0, 0.0), sig))]
    return out + [{"label": "code", "s0": code.s0, "s1": code.s1}, {"label": "s0 x2", "s0": 2 * code.s0, "s1": code.s1}]


def run_signal(name: str, resume: bool) -> dict:
    path = RUNS / f"{name.replace('.', '_')}.json"
    if resume and path.exists():
        return json.loads(path.read_text())
    sig = loaders()[name]()
    s = SHAPES[sig.in_dim]
    full = FitConfig.resolve(s["preset"], "fast", sig.in_dim, model="siren2", width=s["width"])
    rec = {"signal": name, "epochs": full.epochs, "points": []}
    for p in points(sig):
        result = completed(fit(model(sig, p["s0"], p["s1"]), sig, replace(full, progress=False)))
        races = {}
        for share in RACES:
            short = replace(full, epochs=max(2, int(full.epochs * share)), patience=None, target_psnr=None,
                            time_budget=None, progress=False)
            races[str(share)] = completed(fit(model(sig, p["s0"], p["s1"]), sig, short)).best_loss
        rec["points"].append(p | {"loss": result.loss, "best_loss": result.best_loss, "races": races})
        print(f"{name} {p['label']} (s0 {p['s0']:.4g}, s1 {p['s1']:.3g}): best loss {result.best_loss:.3g}", flush=True)
    write_record(path, rec)
    return rec


def db(loss: float) -> float:
    """The training loss (MSE on [-1, 1]) as psnr_paper."""
    return 10 * math.log10(1 / max(loss, 1e-30))


def summary(rec: dict) -> dict:
    """Leader of the full fits per share of the epochs, the races' picks, and the final winner's crossing."""
    best = {p["label"]: np.minimum.accumulate(np.asarray(p["loss"])) for p in rec["points"]}
    labels, n = list(best), len(next(iter(best.values())))
    at = {str(s): min(labels, key=lambda k: best[k][max(0, round(s * n) - 1)]) for s in SHARES}
    winner = at["1.0"]
    others = np.min([best[k] for k in labels if k != winner], axis=0)
    behind = np.flatnonzero(best[winner] >= others)
    return {"full_fit_leader": at, "final_winner": winner,
            "winner_leads_from_epoch": int(behind[-1] + 1) if behind.size else 0, "epochs": n,
            "race_pick": {r: min(rec["points"], key=lambda p: p["races"][r])["label"] for r in map(str, RACES)},
            "final_db": {k: db(best[k][-1]) for k in labels},
            "at_share_db": {str(s): {k: db(best[k][max(0, round(s * n) - 1)]) for k in labels} for s in SHARES}}


def table(recs: list[dict]) -> str:
    lines = ["# When does the full fit's ranking form? Loss curves of rule auto's candidates", "",
             "SIREN² under `fast` (ours: cosine, 2000 epochs on images), seed 0, adaptive.py's windows and widths "
             "(central 128², 5 x 64, 1.03 parameters per sample). Points: rule auto's valley (0: s1 = 0, 1: √(2/H), "
             "2: 4√(2/H), each with its spectrally matched s0), the paper's `code` rule, and s0 x 2 at the rule's s1 (the "
             "grid oracle of adaptive.py on these images). Each point: one full fit (its loss per epoch) and races "
             "compressed to 2.5%, 5% and 10% of the epochs. dB: psnr_paper of the training loss, running best. "
             "`leads from`: the epoch from which the full fit's final winner holds the lowest loss for good.", ""]
    for rec in recs:
        s = summary(rec)
        lines += [f"## {rec['signal']}", "",
                  "| point | s0 | s1 | " + " | ".join(f"{float(k):.1%} of the fit" for k in s["at_share_db"]) +
                  " | race 2.5% | race 5% | race 10% |",
                  "|---|---:|---:|" + "---:|" * (len(SHARES) + len(RACES))]
        for p in rec["points"]:
            cells = [f"{s['at_share_db'][k][p['label']]:.2f}" for k in s["at_share_db"]]
            cells += [f"{db(p['races'][str(r)]):.2f}" for r in RACES]
            lines.append(f"| {p['label']} | {p['s0']:.4g} | {p['s1']:.3g} | " + " | ".join(cells) + " |")
        lead = ", ".join(f"{float(k):.1%}: {v}" for k, v in s["full_fit_leader"].items())
        lines += ["", f"- Full fit's leader by share of the epochs: {lead}.",
                  "- Races pick: " + ", ".join(f"{float(k):.1%}: {v}" for k, v in s["race_pick"].items()) +
                  f"; the full fit's winner, {s['final_winner']}, leads for good from epoch "
                  f"{s['winner_leads_from_epoch']} of {s['epochs']} ({s['winner_leads_from_epoch'] / s['epochs']:.0%}).",
                  ""]
    lines.append(f"On {machine_line()}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--signals", default=",".join(SIGNALS))
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    recs = run_and_collect(RUNS, [n for n in args.signals.split(",") if n != "none"],
                           lambda name: run_signal(name, args.resume))
    write_results("auto_crossover", {"machine": machine(), "records": [r["signal"] for r in recs],
                                     "summaries": {r["signal"]: summary(r) for r in recs}}, table(recs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
