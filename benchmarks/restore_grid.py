"""Restoration on every shared signal: what `siren2 denoise` and `inpaint` give, beside the classical tools.

    python benchmarks/restore_grid.py --seeds 0,1,2 --resume
    python benchmarks/restore_grid.py --modalities image --seeds 0

Each shared clip's central 30,000 samples (4 hidden layers) and each image's central 128x128 (5), at
full-protocol coordinates (benchmarks/paper.py's ``window``). SIREN and SIREN² run with the commands'
defaults (``siren2.restoration``): the width that gives at most one parameter per observed sample,
the `fast` recipe, hold-out stopping, WINNER's ψ read above the noise floor, s0 searched by the
held-out error, then (audio) the band prior's weight, the output combined with the damaged input as the held-out error says
(``siren2.restoration.shrink``; SIREN²'s fit alone is scored beside it); the classical baselines for the task
(``siren2.classical``) run beside them on the same corruption. Tasks: audio Gaussian noise σ 0.05,
30% of the samples missing, 10 gaps of 20 ms; images σ 0.05 and 0.1. Every seed draws the corruption
and the initialization. One record per (signal, task, seed) in benchmarks/results/restore_grid.jsonl
(key ``<modality>/<signal>/<task>/<seed>``, fingerprint of the defaults that matter for the task);
``--resume`` keeps the records made under the current defaults (scoring any classical baseline
they lack on the same corruption) and reruns the rest. Writes benchmarks/results/restore_grid.md from
the current records alone; ``--from-records`` writes it again without fitting (nor the data).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import (DATA, add_record_options, invocation, machine, machine_line, opened_records, results_of,
                    save_invocation, window, write_table)

import numpy as np

from siren2 import predict
from siren2.restoration.classical import AUDIO_NOISE_ESTIMATE, baselines_for, bm3d, installed, noise_std
from siren2.compare import STD_NOTE, summarize
from siren2.compare import format_stat as fmt
from siren2.restoration.corruptions import CorruptionSpec
from siren2.restoration.evaluation import FLOOR, evaluate, score_baseline
from siren2.metrics import metrics
from siren2.records import RecordStore, fingerprint
from siren2.restoration.restorer import (BANDWIDTHS, CENTROID, CONSISTENCY, HOLDOUT_FRACTION, LEVEL_CAP, PARAMS_PER_SAMPLE,
                                PRIOR_WEIGHTS, default_prior_weights, shrink, split_holdout)

# The commands' restoration defaults this grid runs; a record made under other ones is rerun.
DEFAULTS = {"recipe": "fast", "stop": "holdout", "capacity": PARAMS_PER_SAMPLE, "bandwidths": list(BANDWIDTHS),
            "centroid": CENTROID, "shrink": True, "shrink_consistency": CONSISTENCY, "shrink_trained": "gcv",
            "prior_weights": list(PRIOR_WEIGHTS), "image_noise_estimate": "min(wavelet MAD, patch PCA)",
            "holdout_runs": "judged on runs as long as the median missing run (1-D: level-matched to the gaps' "
                            "surroundings), stopped on scattered samples",
            "gap_level_cap": LEVEL_CAP, "audio_noise_estimate": AUDIO_NOISE_ESTIMATE,
            "gap_fill_check": "the input where the fill, scaled by β from the other held-out runs, gains nothing"}


def applies(defaults: dict, spec: CorruptionSpec, modality: str) -> dict:
    """The defaults that matter for ``spec`` on ``modality``: the shrinkage's σ̂ check and its α_t on the
    samples the fit trained on (``shrink_trained``: generalized cross-validation) only for noise (missing
    samples are shrunk by β alone), so a missing-samples record made before them is still current; the
    band prior (1-D) only for audio; the images' σ̂ (``siren2.classical.noise_std``) only for images; the
    hold-out's runs (``siren2.restoration.split_holdout``) and the fill's level cap
    (``siren2.restoration.level_cap``) and the check of the fill on held-out runs it was not scaled on
    only for gaps, as scattered holes and noise keep single held-out samples and are not capped; the
    audio σ̂ only for audio noise."""
    skip = ({"shrink_consistency", "shrink_trained"} if spec.removes_samples else set()) | (
        {"prior_weights", "audio_noise_estimate"} if modality != "audio" else {"image_noise_estimate"}) | (
        {"holdout_runs", "gap_level_cap", "gap_fill_check"} if spec.kind != "gaps" else set()) | (
        {"audio_noise_estimate"} if spec.kind != "noise_std" else set())
    return {k: v for k, v in defaults.items() if k not in skip}


def key_of(modality: str, signal: str, task: str, seed: int) -> str:
    return f"{modality}/{signal}/{task}/{seed}"


def fingerprint_of(modality: str, task: str) -> str:
    """The fingerprint of the defaults that matter for ``task`` on ``modality`` (:func:`applies`): a
    record made under other ones is stale."""
    return fingerprint(applies(DEFAULTS, MODALITIES[modality]["tasks"][task], modality))


def current(rec: dict) -> bool:
    """Whether a record was made under the defaults that matter for its task."""
    return (rec.get("complete") is True and rec.get("modality") in MODALITIES
            and rec.get("task") in MODALITIES[rec["modality"]]["tasks"]
            and rec.get("fingerprint") == fingerprint_of(rec["modality"], rec["task"]))


# Reference rows (noise tasks): told what a restoration of a real file is not, so never bold. SIREN²'s
# own fit shrunk with the true σ (what `siren2 denoise --noise-std` gives), BM3D at the true σ, and the
# Wiener filter told the clean signal's power spectrum (the best linear shift-invariant filter).
KNOWN_SIGMA, BM3D_KNOWN, ORACLE = "siren2, σ given †", "bm3d, σ given †", "oracle wiener †"

MODALITIES = {
    "audio": dict(folder="audio", size=30_000, shape=dict(hidden_layers=4), preset="paper_audio",
                  tasks={"noise 0.05": CorruptionSpec("noise_std", 0.05), "missing 30%": CorruptionSpec("missing", 0.3),
                         "gaps 10x20ms": CorruptionSpec("gaps", 10, 20.0)},
                  second="lsd"),
    "image": dict(folder="images", size=128, shape=dict(hidden_layers=5), preset="paper_image",
                  tasks={"noise 0.05": CorruptionSpec("noise_std", 0.05), "noise 0.1": CorruptionSpec("noise_std", 0.1)},
                  second="ssim"),
}
MODELS = ["siren", "siren2"]


def oracle_wiener(clean, noisy, sigma: float) -> np.ndarray:
    """The DFT-domain Wiener filter |X|²/(|X|² + Nσ²) built from the clean signal's spectrum X."""
    x = clean.values[:, 0].reshape(clean.grid)
    power = np.abs(np.fft.fftn(x)) ** 2
    y = np.fft.fftn(noisy.values[:, 0].reshape(clean.grid))
    return np.real(np.fft.ifftn(power / (power + x.size * sigma ** 2) * y)).reshape(-1, 1)


def references(clean, spec: CorruptionSpec, seed: int, run) -> dict:
    """The reference rows for a noise task, from SIREN²'s run (its model keeps the fit before shrinkage)."""
    noisy = spec.apply(clean, seed).signal
    full = np.ones(clean.num_points, np.float32)
    _, held = split_holdout(full, HOLDOUT_FRACTION, seed)
    fit = predict(run.model, noisy.coords()).cpu().numpy()
    out, rec = shrink(noisy, full, fit, held, run.result.best_val_loss, noise_std=spec.value)
    rows = {KNOWN_SIGMA: metrics(clean, out) | {"alpha": rec["alpha"]},
            ORACLE: metrics(clean, oracle_wiener(clean, noisy, spec.value))}
    if clean.kind == "image" and installed("bm3d"):
        rows[BM3D_KNOWN] = metrics(clean, bm3d(noisy, full, sigma=spec.value))
    return rows


def run_one(modality: str, path: Path, task: str, seed: int, store: RecordStore, resume: bool) -> dict:
    """One (signal, task, seed): every model and baseline; its record (``resume``: the stored one if it is
    current, with any baseline it lacks scored on the same corruption). The caller stores it."""
    m = MODALITIES[modality]
    clean = window(modality, path, m["size"])
    spec = m["tasks"][task]
    removes = spec.removes_samples
    key, fp = key_of(modality, path.name, task, seed), fingerprint_of(modality, task)
    rec = store.get(key, fp) if resume else None
    if rec is not None:
        add_baselines(rec, clean, spec)
        return rec
    refs = {}

    def on_run(name, seed, run):
        if name == "siren2" and spec.kind == "noise_std":
            refs.update(references(clean, spec, seed, run))

    ev = evaluate(clean, spec, MODELS, [seed], baselines=baselines_for(clean.kind, "inpaint" if removes else "denoise"),
                  on_run=on_run, stop="holdout", preset=m["preset"], recipe="fast", **m["shape"],
                  capacity=PARAMS_PER_SAMPLE, bandwidths=BANDWIDTHS, shrink=True,
                  prior_weights=default_prior_weights(clean))
    if ev.interrupted:  # Ctrl-C inside a fit: the record would be incomplete
        raise KeyboardInterrupt
    return {"key": key, "fingerprint": fp, "modality": modality, "signal": path.name, "task": task, "seed": seed,
            "scores": slim({row: s[0] for row, s in ev.scores.items()} | refs)}


SCORES = ("psnr_paper", "snr", "lsd", "psnr", "ssim", "fit_psnr_paper")  # what a record keeps of a row's scores


def slim(scores: dict) -> dict:
    """Each row's metrics (and SIREN²'s fit before shrinkage): what the tables read. The run's own
    numbers and diagnostics (epochs, the bandwidth search, the prior, the shrinkage) stay out of the record."""
    return {row: {k: s[k] for k in SCORES if k in s} for row, s in scores.items()}


def add_baselines(rec: dict, clean, spec: CorruptionSpec) -> bool:
    """Score the task's classical baselines that ``rec`` lacks (added to siren2.classical after it was
    made) on its seed's corruption, drawn again; whether any was added. The models are not rerun."""
    wanted = [b for b in baselines_for(clean.kind, "inpaint" if spec.removes_samples else "denoise")
              if b not in rec["scores"]]
    if not wanted:
        return False
    c = spec.apply(clean, rec["seed"])
    redrawn = metrics(clean, c.signal.values)["psnr_paper"]
    if abs(redrawn - rec["scores"][FLOOR]["psnr_paper"]) > 1e-6:
        raise RuntimeError(f"{rec['signal']} {rec['task']} seed {rec['seed']}: the corruption drawn again differs "
                           "from the record's; rerun it without --resume")
    for name in wanted:
        rec["scores"][name] = score_baseline(clean, spec, c, name)[1]
    return True


def order(rec: dict) -> str:
    """A record's place in the tables: by signal (its file stem), then task, then seed (as text)."""
    return f"{Path(rec['signal']).stem}_{rec['task']}_{rec['seed']}".replace(" ", "_")


def table(records: list[dict], modality: str, task: str, metric: str) -> list[str]:
    """Rows: signals; columns: the corrupted input, the models, the baselines (``metric`` mean ± std)."""
    by_signal: dict[str, list[dict]] = {}
    for r in records:
        if (r["modality"], r["task"]) == (modality, task):
            by_signal.setdefault(r["signal"], []).append(r)
    if not by_signal:
        return []
    rows = list(next(iter(by_signal.values()))[0]["scores"])
    fit_alone = "siren2 fit alone"  # the network's output before it is combined with the input
    if metric == "psnr_paper":
        rows.insert(rows.index("siren2") + 1, fit_alone)
    higher = metric != "lsd"
    change = "SIREN² − input" + ("" if higher else " (lower is better)")
    lines = ["| signal | seeds | " + " | ".join(rows) + f" | {change} |", "|---|---:|" + "---:|" * (len(rows) + 1)]
    for signal, recs in by_signal.items():
        stats = {row: summarize([r["scores"][row][metric] if row != fit_alone else r["scores"]["siren2"]["fit_psnr_paper"]
                                 for r in recs]) for row in rows}
        best = (max if higher else min)((row for row in rows if not row.endswith("†")),
                                        key=lambda row: stats[row]["mean"])
        cells = [("**" + fmt(metric, stats[row]) + "**") if row == best else fmt(metric, stats[row]) for row in rows]
        gain = stats["siren2"]["mean"] - stats[FLOOR]["mean"]
        lines.append(f"| {signal} | {len(recs)} | " + " | ".join(cells) + f" | {gain:+.2f} |")
    return lines


TARGET = 3.0  # dB over the corrupted input, issue 13's target for SIREN²


def targets(records: list[dict]) -> list[str]:
    """Per task and signal (psnr_paper, mean over seeds): SIREN²'s gain over the input and over SIREN, the
    best other row's gain (SIREN, a classical tool), the best † reference's, and whether the +TARGET dB
    target is met, reached by another row, reached only by a reference told the truth, or by no row here."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["modality"], r["task"], r["signal"]), []).append(r)
    lines = ["| task | signal | seeds | SIREN² − input | SIREN² − SIREN | best other − input | best † − input | "
             f"+{TARGET:g} dB |", "|---|---|---:|---:|---:|---|---|---|"]
    counts: dict[str, int] = {}
    order = [(m, t) for m in MODALITIES for t in MODALITIES[m]["tasks"]]
    for (modality, task, signal), recs in sorted(groups.items(), key=lambda kv: (order.index(kv[0][:2]), kv[0][2])):
        mean = {row: float(np.mean([r["scores"][row]["psnr_paper"] for r in recs])) for row in recs[0]["scores"]}
        gain = {row: v - mean[FLOOR] for row, v in mean.items() if row != FLOOR}
        others = {row: g for row, g in gain.items() if row != "siren2" and not row.endswith("†")}
        refs = {row: g for row, g in gain.items() if row.endswith("†")}
        other = max(others, key=others.get)
        ref = max(refs, key=refs.get) if refs else None
        kind = ("met" if gain["siren2"] >= TARGET else "missed, another row reaches it" if others[other] >= TARGET
                else "missed, only a † reference reaches it" if ref and refs[ref] >= TARGET
                else "missed, no row here reaches it")
        counts[kind] = counts.get(kind, 0) + 1
        lines.append(f"| {modality}, {task} | {signal} | {len(recs)} | {gain['siren2']:+.2f} | "
                     f"{gain['siren2'] - gain['siren']:+.2f} | {others[other]:+.2f} ({other}) | "
                     + (f"{refs[ref]:+.2f} ({ref.rstrip(' †')})" if ref else "–") + f" | {kind} |")
    return ["Of " + f"{sum(counts.values())} tasks: " + "; ".join(f"{kind} {n}" for kind, n in counts.items()) + ".",
            "", *lines]


def tables(store: RecordStore) -> str:
    """The table from ``store``'s current records alone."""
    run = invocation(store)
    records = sorted((r for r in results_of(store) if current(r)), key=order)
    lines = ["# Restoration on the shared signals: SIREN² with the commands' defaults, beside the classical tools",
             "", "Central 30,000 samples of each clip (4 hidden layers) and central 128x128 of each image (5), at "
             "full-protocol coordinates. SIREN and SIREN² with `siren2 denoise`/`inpaint`'s defaults: the width "
             "giving at most 1 parameter per observed sample, recipe `fast` (ours; at most 500 epochs audio, 2000 "
             "images), hold-out stopping (10% "
             "of the observed samples, patience 100; for gaps the fits are chosen, scaled and scored on held-out runs as long as the gaps, and stop on scattered held-out samples), WINNER's ψ above the noise floor, s0 searched over 1/8, 1/4, "
             "1/2 and 1 times the rule's by the held-out error, then (audio) the band prior at λ "
             f"{' and '.join(f'{w:g}' for w in PRIOR_WEIGHTS)} at the rule's s0 (`siren2.priors`; the fit with the "
             "lowest held-out error of all kept), the output shrunk towards the damaged input as the "
             "held-out error says (noise: α·fit + (1 − α)·input, α = min(1, σ̂²/h), and α = 0, the input, where "
             f"σ̂² exceeds h by over {CONSISTENCY:g} of h's standard errors, as h ≥ σ² must hold; missing samples: "
             f"the observed ones kept, β·fit where missing, and for gaps each gap's fill no louder than the observed samples within {LEVEL_CAP} gap lengths either side; `siren2.restoration.shrink`). `siren2 fit alone` is "
             "SIREN²'s fit before that. Classical baselines from "
             "the damaged signal alone (`siren2.classical`). Columns marked † (noise tasks) are references told "
             "what a restoration of a real file is not, never bold: `siren2, σ given` is the same SIREN² fit "
             "shrunk with the true σ (`siren2 denoise --noise-std`), `bm3d, σ given` BM3D at the true σ, "
             "`oracle wiener` the DFT Wiener filter built from the clean signal's power spectrum (the best "
             "linear shift-invariant filter; adaptive methods such as BM3D or a short-time Wiener can beat it). `psnr_paper` = 10·log10(1/MSE) on [-1, 1] against the "
             f"clean signal, of the returned state. Values: {STD_NOTE}; the seeds column says how many ran. Bold: "
             "the best per signal. The paper claims SIREN² gains in audio denoising and inpainting; where "
             "SIREN² − input is negative here, these runs contradict that claim for that clip and task.", ""]
    for modality, m in MODALITIES.items():
        for task in m["tasks"]:
            for metric in ("psnr_paper", m["second"]):
                body = table(records, modality, task, metric)
                if body:
                    lines += [f"## {modality}, {task}: {metric}", "", *body, ""]
    if records:
        lines += ["## Targets", "", f"Issue 13's target: SIREN² at least {TARGET:g} dB over the corrupted input. psnr_paper "
                  "means over the seeds; `best other`: the best of SIREN and the classical tools; `best †`: the best "
                  "reference told what a restoration of a real file is not (σ, the clean spectrum). Where no row "
                  "reaches the target, these runs say nothing that can be had from the damaged file alone reaches it.",
                  "", *targets(records), ""]
    lines.append(f"On {machine_line(here=run['machine'])}."
                 + (" Interrupted: the tables hold what finished." if run["interrupted"] else ""))
    return "\n".join(lines) + "\n"


def markdown_from_records(path: Path) -> str:
    """The table a records file makes (what ``--from-records`` writes)."""
    return tables(RecordStore(path))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--modalities", default="audio,image")
    p.add_argument("--seeds", default="0")
    p.add_argument("--signals", help="comma-separated file names (default: every shared file)")
    add_record_options(p)
    args = p.parse_args(argv)
    store = opened_records("restore_grid.py", "restore_grid", args)
    if args.from_records:
        print(write_table("restore_grid", tables(store), args.results))
        return 0
    seeds = [int(s) for s in args.seeds.split(",")]
    interrupted = False
    try:
        for modality in args.modalities.split(","):
            folder = DATA / MODALITIES[modality]["folder"]
            if not folder.is_dir():
                raise SystemExit(f"restore_grid.py: {folder} not found (the paper's data lives in ../shared/data)")
            paths = sorted(p for p in folder.iterdir() if not args.signals or p.name in args.signals.split(","))
            for seed in seeds:
                for path in paths:
                    for task in MODALITIES[modality]["tasks"]:
                        rec = run_one(modality, path, task, seed, store, args.resume)
                        store.add(rec)
                        s = rec["scores"]
                        print(f"{path.name} {task} seed {seed}: input {s[FLOOR]['psnr_paper']:.2f}, siren "
                              f"{s['siren']['psnr_paper']:.2f}, siren2 {s['siren2']['psnr_paper']:.2f} dB", flush=True)
    except KeyboardInterrupt:
        interrupted = True
    save_invocation(store, modalities=args.modalities.split(","), seeds=seeds, signals=args.signals,
                    interrupted=interrupted, machine=machine())
    md = tables(store)
    print(write_table("restore_grid", md, args.results))
    print(md)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
