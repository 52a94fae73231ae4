"""Every model at its best: its bandwidth knob(s) and peak learning rate, searched on held-out samples.

    tuning = tune(signal, "finer++")          # what `siren2 tune FILE --model finer++` does
    tuning.best                                # {"omega_first": 239.0, "lr": 0.00037}
    tuning.run.metrics["psnr_paper"]           # the full fit at the best setting

A model's knobs and their ranges are declared in the registry ([`siren2.models.Knob`][]): ω_first for
SIREN, FINER and FINER++, the Fourier features' σ for SIREN+RFF, the scale for Gauss, ω and σ for
WIRE, the octaves for ReLU+PE, each over a range scaled to the grid's Nyquist Ω; for SIREN² and FINER²,
(s0, s1) at the points of rule auto's valley ([`siren2.winner.valley`][]) and the ψ rule's. The peak
rate is searched with them: `LR_FACTORS` × the recipe's.

The search is successive halving: every candidate (the grid × the rates, and the defaults) is fitted
briefly on 90% of the samples and judged by its error on the other 10% (`HOLDOUT`), so a setting
that memorizes the training samples is not preferred; the best third go on to a longer fit, and so on
for `ROUNDS` rounds; the search spends `SEARCH_FITS` fits' worth of epochs in all (each round
the same share), or the seconds of ``budget``. Short fits rank settings poorly where a model fits
late (a baseline at the spectral bottleneck pulls away, if at all, in the last half of its
schedule; SIREN² at a short horizon prefers a low rate that costs it 20 dB at full length), so the
search's pick then meets the defaults at full length: both are fitted on every sample with the run's
epochs, and the better psnr_paper is the result (the playoff). A tuned fit is never worse than the
untuned one; with the defaults, tuning costs about 3 fits (1 of search, 2 of playoff).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .build import create_model
from .engine import predict
from .metrics import psnr_paper
from .models import Knob, build_model, get_entry, is_winner
from .restoration.restorer import split_holdout
from .runs import Run, build, run
from .signal import Signal
from .spec import RunSpec, resolve
from .train import fit
from .winner import nyquist, valley

__all__ = ["tune", "Tuning", "candidates", "knob_values", "markdown", "write_tuning", "same_setting", "playoff_line", "LR_FACTORS", "ROUNDS", "KEEP", "HOLDOUT", "SEARCH_FITS",
           "MIN_EPOCHS"]

LR_FACTORS = (0.1, 0.3, 1.0)  # × the recipe's peak rate (a tenth lifted SIREN 16 → 34 dB on a clip, issue 48)
ROUNDS = 2  # successive halving's rounds
KEEP = 1 / 3  # the share of a round's candidates that go on to the next
HOLDOUT = 0.1  # the share of the samples the candidates are judged on (scattered, one at a time)
SEARCH_FITS = 1.0  # the search's epochs, in full fits: with the playoff's two full fits, tuning costs about 3
MIN_EPOCHS = 10  # the shortest search fit
DROPPED = ("target_psnr", "time_budget", "patience")  # the run's stop rules: not for the search's short fits


def knob_values(knob: Knob, signal: Signal, width: int) -> list[float]:
    """The values a grid search tries for ``knob`` on ``signal`` (see [`siren2.models.Knob`][]).

    Parameters
    ----------
    knob
        The knob and its range.
    signal
        Its grid sets the units (the Nyquist Ω, the octaves).
    width
        The hidden width H (the ``"hidden"`` unit, √(2/H)).

    Returns
    -------
    list of float
        Ascending, distinct.
    """
    if knob.unit == "octaves":
        top = math.log2(max(signal.grid))
        return sorted({max(1, round(v)) for v in np.linspace(knob.low * top, knob.high * top, knob.points)})
    unit = {"nyquist": nyquist(signal), "hidden": math.sqrt(2.0 / width)}[knob.unit]
    if knob.low <= 0:  # a range from 0: 0 and log-spaced steps up to high
        return [0.0] + [float(v) * unit for v in np.geomspace(knob.high / 2 ** (knob.points - 2), knob.high,
                                                               knob.points - 1)]
    return [float(v) * unit for v in np.geomspace(knob.low, knob.high, knob.points)]


def candidates(spec: RunSpec, signal: Signal) -> tuple[list[dict], dict]:
    """The settings a tuning tries, and the defaults.

    Parameters
    ----------
    spec
        The run's settings: the model, its network, the recipe's peak rate and the seed.
    signal
        The target.

    Returns
    -------
    list of dict
        Option overrides, each with ``lr``: the grid of the model's knobs (a WINNER model: the
        valley's (s0, s1) points and the ψ rule's) × `LR_FACTORS`, and the defaults; no duplicates.
    dict
        The defaults: the knobs' values the run would use without tuning, and its peak rate.
    """
    knobs = get_entry(spec.model).knobs
    if is_winner(spec.model):
        dims = {k: spec.network[k] for k in ("in_dim", "out_dim")}
        shape = {k: v for k, v in spec.network.items() if k not in dims}
        plain = build_model(spec.model, seed=spec.fit.seed, **spec.network)  # SIREN's init: what the valley reads
        winner = dict(spec.winner)
        if winner["rule"] == "auto":  # its default is the race's pick; the grid is the valley, raced again here
            winner["rule"] = "code"
        default_model = create_model(spec.model, signal, **dims, seed=spec.fit.seed, **winner, **shape)
        default = {"s0": default_model.winner.s0, "s1": default_model.winner.s1}
        points = [{"s0": p["s0"], "s1": p["s1"]} for p in valley(plain, signal)] + [default]
    else:
        default = {k.name: spec.network[k.name] for k in knobs}
        grids = [knob_values(k, signal, spec.network["width"]) for k in knobs]
        points = [dict(zip([k.name for k in knobs], combo)) for combo in _product(grids)] + [default]
    default = default | {"lr": spec.fit.lr}
    out, seen = [], set()
    for point in points:
        for factor in LR_FACTORS:
            cand = point | {"lr": spec.fit.lr * factor}
            key = tuple(sorted((k, round(v, 12)) for k, v in cand.items()))
            if key not in seen:
                seen.add(key)
                out.append(cand)
    return out, default


def _product(grids: list[list[float]]) -> list[tuple[float, ...]]:
    combos = [()]
    for grid in grids:
        combos = [c + (v,) for c in combos for v in grid]
    return combos


@dataclass
class Tuning:
    """What [`tune`][] found.

    Attributes
    ----------
    model : str
        The model tuned.
    knobs : list of str
        Its knobs' names (and ``lr``).
    candidates : list of dict
        Every fit of the search: the setting, the ``round``, its ``epochs``, the held-out
        ``heldout_psnr_paper`` and the training ``train_psnr_paper``, and ``seconds``.
    best : dict
        The best setting: the knobs' values and ``lr`` (options of a run): the playoff's winner, or
        with ``tune(final=False)`` the search's pick.
    default : dict
        The same settings without tuning.
    run : Run or None
        The full fit at ``best``, on every sample (None: ``tune(final=False)``).
    search_seconds, fit_seconds : float
        The search's wall time and the playoff's (its one or two full fits).
    pick : dict
        The search's pick (``best`` unless the defaults won the playoff).
    playoff : dict
        psnr_paper of the full fits: ``{"pick": ..., "default": ...}`` (one key where the search
        picked the defaults; empty with ``final=False``).
    """

    model: str
    knobs: list[str]
    candidates: list[dict]
    best: dict
    default: dict
    run: Run | None = field(repr=False)
    search_seconds: float = 0.0
    fit_seconds: float = 0.0
    pick: dict = field(default_factory=dict)
    playoff: dict = field(default_factory=dict)

    @property
    def cost(self) -> float:
        """The whole tuning's wall time in units of one full fit's (the playoff's mean; NaN without one)."""
        if not self.fit_seconds or not self.playoff:
            return math.nan
        return (self.search_seconds + self.fit_seconds) / (self.fit_seconds / len(self.playoff))

    def record(self) -> dict:
        """tune.json: everything but the run (which is its own folder)."""
        return {"model": self.model, "knobs": self.knobs, "best": self.best, "default": self.default,
                "psnr_paper": self.run.metrics["psnr_paper"] if self.run else None, "search_seconds": self.search_seconds,
                "fit_seconds": self.fit_seconds, "cost_in_fits": self.cost, "pick": self.pick, "playoff": self.playoff,
                "candidates": self.candidates,
                "settings": {"lr_factors": list(LR_FACTORS), "rounds": ROUNDS, "keep": KEEP, "holdout": HOLDOUT,
                             "search_fits": SEARCH_FITS}}


def tune(signal: Signal, model: str = "siren2", options: dict | None = None, *, budget: float | None = None,
         final: bool = True, progress: bool = False, on_candidate=None) -> Tuning:
    """Search ``model``'s bandwidth knob(s) and peak rate on ``signal``, then fit the best setting.

    Parameters
    ----------
    signal : Signal
        The target.
    model : str
        A registered model.
    options : dict, optional
        The run's other options ([`siren2.spec.resolve`][]): ``epochs`` (the final fit's, and the
        search's scale), ``seed``, ``width``, ``recipe``, ... A knob or ``lr`` given here is not searched
        over: it stays at the given value.
    budget : float, optional
        The search's seconds (each round the same share, each candidate its share of the round's);
        default: `SEARCH_FITS` fits' worth of epochs.
    final : bool
        The playoff: fit the search's pick and the defaults on every sample with the run's epochs and
        keep the better (False: the search only, ``best`` its pick, ``run`` None).
    progress : bool
        The full fits' progress bars.
    on_candidate : callable, optional
        ``on_candidate(record)`` after each search fit (a command's progress line).

    Returns
    -------
    Tuning

    Raises
    ------
    ValueError
        An unknown model or option ([`siren2.spec.resolve`][]); a ``budget`` that is not positive.
    """
    if budget is not None and not budget > 0:
        raise ValueError(f"budget must be a positive number of seconds, not {budget}")
    options = {k: v for k, v in (options or {}).items() if v is not None} | {"model": model}
    spec = resolve(signal, options)
    cands, default = candidates(spec, signal)
    fixed = {k: options[k] for k in (*default, "lr") if k in options}
    if fixed:  # what the caller set is not searched
        cands = list({tuple(sorted((c | fixed).items())): c | fixed for c in cands}.values())
    knobs = [k for k in default if k != "lr"]
    train_mask, held = split_holdout(np.ones(signal.num_points, np.float32), HOLDOUT, spec.fit.seed, run=1)
    coords, target = signal.coords()[torch.from_numpy(held)], signal.values[held]
    search = {k: v for k, v in spec.options.items() if k not in DROPPED}
    start, records, alive = time.perf_counter(), [], list(range(len(cands)))
    for rnd in range(ROUNDS if len(cands) > 1 else 0):
        share = {"time_budget": budget / (ROUNDS * len(alive))} if budget else {
            "epochs": max(MIN_EPOCHS, round(SEARCH_FITS * spec.fit.epochs / (ROUNDS * len(alive))))}
        scores = {}
        for i in alive:
            t0 = time.perf_counter()
            trial = resolve(signal, search | cands[i] | share)
            net = build(trial, signal, train_mask)
            result = fit(net, signal, replace(trial.fit, progress=False), mask=train_mask)
            if result.interrupted:
                raise KeyboardInterrupt
            pred = predict(net, coords).cpu().numpy()
            scores[i] = psnr_paper(target, pred)
            rec = cands[i] | {"round": rnd, "epochs": result.epochs_run, "heldout_psnr_paper": scores[i],
                              "train_psnr_paper": result.best_psnr, "seconds": time.perf_counter() - t0}
            records.append(rec)
            if on_candidate is not None:
                on_candidate(rec)
        ranked = sorted(alive, key=lambda i: -_finite(scores[i]))
        alive = ranked[:max(1, math.ceil(len(ranked) * KEEP))] if rnd < ROUNDS - 1 else ranked[:1]
    pick = cands[alive[0]]
    search_seconds = time.perf_counter() - start
    if not final:
        return Tuning(model, knobs + ["lr"], records, pick, default, None, search_seconds, pick=pick)
    t0 = time.perf_counter()
    full = {"pick": run(resolve(signal, spec.options | pick), signal, progress=progress)}
    if not same_setting(pick, default):  # the playoff: the pick against the defaults, at full length
        full["default"] = run(resolve(signal, spec.options | default), signal, progress=progress)
    fit_seconds = time.perf_counter() - t0
    playoff = {k: r.metrics["psnr_paper"] for k, r in full.items()}
    winner = max(full, key=lambda k: _finite(playoff[k]))  # the pick, on a tie
    best, done = (pick if winner == "pick" else default), full[winner]
    done.config["tuning"] = {"best": best, "default": default, "pick": pick, "playoff": playoff,
                             "candidates": len(cands), "rounds": ROUNDS, "search_seconds": search_seconds,
                             "heldout": HOLDOUT}
    return Tuning(model, knobs + ["lr"], records, best, default, done, search_seconds, fit_seconds, pick, playoff)


def same_setting(a: dict, b: dict) -> bool:
    """Whether two settings (knobs and ``lr``) are the same, to 12 significant digits."""
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-12) for k in a)


def _finite(x: float) -> float:
    return x if math.isfinite(x) else -math.inf


def markdown(tuning: Tuning) -> str:
    """tune.md: the best setting against the defaults, then every candidate, best first per round."""
    show = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = [f"# Tuning {tuning.model}", "",
             f"{len(tuning.candidates)} search fits over {', '.join(tuning.knobs)} in {ROUNDS} rounds (successive "
             f"halving, the best {KEEP:.2g} going on), judged on {HOLDOUT:.0%} held-out samples; "
             f"{tuning.search_seconds:.1f} s of search, {tuning.fit_seconds:.1f} s for the final fit "
             f"({tuning.cost:.2f} fits in all).", "",
             "| setting | " + " | ".join(tuning.knobs) + " |", "|---|" + "---:|" * len(tuning.knobs),
             "| default | " + " | ".join(show(tuning.default.get(k)) for k in tuning.knobs) + " |",
             "| **best** | " + " | ".join(show(tuning.best.get(k)) for k in tuning.knobs) + " |", "",
             (playoff_line(tuning) + f" The best setting's full fit: psnr_paper {tuning.run.metrics['psnr_paper']:.2f} dB. "
              "Replay it: `siren2 fit --config best/config.json --out NEW`." if tuning.run
              else "The search only (no playoff, no full fit)."),
             "",
             "| round | " + " | ".join(tuning.knobs) + " | epochs | held-out psnr_paper | train psnr_paper | s |",
             "|---:|" + "---:|" * (len(tuning.knobs) + 4)]
    for rec in sorted(tuning.candidates, key=lambda r: (-r["round"], -_finite(r["heldout_psnr_paper"]))):
        lines.append(f"| {rec['round']} | " + " | ".join(show(rec[k]) for k in tuning.knobs)
                     + f" | {rec['epochs']} | {rec['heldout_psnr_paper']:.2f} | {rec['train_psnr_paper']:.2f} | "
                       f"{rec['seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def playoff_line(tuning: Tuning) -> str:
    """The playoff in a sentence: the search's pick against the defaults, at full length."""
    p = tuning.playoff
    if "default" not in p:
        return f"The search picked the defaults (full fit: psnr_paper {p['pick']:.2f} dB)."
    won = "the pick" if same_setting(tuning.best, tuning.pick) else "the defaults"
    return (f"Playoff at full length: the search's pick {p['pick']:.2f} dB, the defaults {p['default']:.2f} dB; "
            f"{won} won.")


def write_tuning(folder, tuning: Tuning, signal: Signal, figures: bool = True):
    """Write a tuning into ``folder`` (inside a [`siren2.runs.RunFolder`][]): tune.json, tune.md,
    tune.png (held-out psnr_paper against the first knob) and ``best/``, the final fit's run folder
    (whose config.json replays it with ``siren2 fit --config``).

    Returns
    -------
    Path
        ``folder``.
    """
    from pathlib import Path

    from . import plots
    from .io.files import write_json, write_text
    from .runs import write_run

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "tune.json", tuning.record())
    write_text(folder / "tune.md", markdown(tuning))
    if tuning.run is not None:
        write_run(folder / "best", tuning.run, signal, figures=figures)
    if figures:
        plots.tuning(tuning.candidates, tuning.knobs[0], folder / "tune.png",
                     f"{signal.source or ''}: {tuning.model}", best=tuning.best, default=tuning.default)
    return folder
