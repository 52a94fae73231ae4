"""Restoration (docs/guides/restoration.md): fitting only what is observed, and knowing when to stop.

[`restore`][] fits a model on the observed samples of a damaged signal (the loss is masked) and
renders it everywhere. Its defaults are the commands' (``siren2 denoise``, ``inpaint``,
``restore-eval``), resolved in one place ([`restore_settings`][]), so Python and the command line
do the same thing. Two stopping rules:

* ``fixed``: a fixed epoch budget, the state with the lowest training loss (the paper's protocol);
* ``holdout`` (the commands' default): a random fraction of the observed samples is left out of
  training, the fit stops after ``patience`` epochs without improvement of their MSE and returns the
  state with the lowest one. It needs no clean reference, and stops before a long fit reproduces
  the noise. With gaps, another fraction is left out in runs as long as them
  ([`split_holdout`][]), and the fits are judged on those. The held-out error also estimates what
  the restoration gained ([`estimated_gain`][]) and how far to trust the fit against the damaged
  input ([`shrink`][]).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable

import numpy as np
import torch

from ..errors import InputError
from ..metrics import metrics, psnr_paper
from ..models import is_winner
from ..runs import Run, run
from ..signal import Signal
from ..spec import given, resolve
from ..train import predict
from ..winner import AUTO, resolve_rule, resolve_scales
from .corruptions import HOLDOUT_STREAM, rng, segments
from .priors import band

__all__ = ["restore", "restore_windowed", "restore_classical", "restore_settings", "RestoreSettings", "capacity_width",
           "split_holdout", "missing_run", "estimated_gain", "shrink", "held_out_scales", "level_cap",
           "fill_missing", "observed_scores", "window_starts", "default_prior_weights", "STOP_RULES", "CENTROID",
           "HOLDOUT_FRACTION", "PATIENCE", "PARAMS_PER_SAMPLE", "BANDWIDTHS", "PRIOR_WEIGHTS", "CONSISTENCY",
           "LEVEL_CAP", "WINDOW", "WINDOW_OVERLAP", "PROTOCOL_SAMPLES", "RESTORE_OPTIONS"]

STOP_RULES = ("fixed", "holdout")
# WINNER on a damaged signal reads ψ above the spectrum's white floor (noise, the zeros of missing
# samples), not the flattened spectrum the floor pulls towards 0.5 (:func:`siren2.winner.floor_centroid`).
CENTROID = "above_floor"
HOLDOUT_FRACTION = 0.1  # of the observed samples
PATIENCE = 100  # epochs without improvement of the held-out error
# Capacity: at most this many parameters per observed sample (the paper's regime, ~1). With more, a fit
# memorizes what it is given, noise included, before the hold-out rule can tell; a quarter as many
# lose the signal itself (camera's 128² at σ 0.05: 5 x 40, 0.4 per pixel, 26.5 dB; 5 x 64, 27.9).
PARAMS_PER_SAMPLE = 1.0
# Bandwidth: the commands try the rule's s0 and three narrower bands and keep the lowest held-out
# error. The rule's s0 is in radians per coordinate unit, calibrated on 150,000 samples over [-1, 1];
# a shorter file spreads fewer samples over the same range, so the same s0 reaches relatively
# higher (8,000 samples of two tones under 320 Hz at 8 kHz, σ 0.1: s0 1,100 → +0.0 dB, 137 → +4.6).
BANDWIDTHS = (0.125, 0.25, 0.5, 1.0)
# Prior (1-D): after the bandwidth search, the band prior (siren2.priors) is tried at these weights λ
# at the rule's s0, and the lowest held-out error is kept (λ 0 is the fit without it). On the central
# 30,000 samples of the shared clips (seed 0, rule's s0), 30% missing: tap 26.9 dB (input, no prior)
# → 32.7 (λ 1) / 35.1 (λ 3), relay 24.9 → 30.1 / 30.2; gt_bach 52.9 without, 43.1 / 39.1 with it.
PRIOR_WEIGHTS = (1.0, 3.0)
# Shrinkage: σ̂² may exceed the held-out error h by this many of h's standard errors before σ̂ is
# called inconsistent (noise1.png's white texture at σ 0.05: σ̂² = 1.24 h, 7 standard errors over).
CONSISTENCY = 3.0
# Gaps (1-D, runs of missing samples): a fill should not be louder than what surrounds it. After β, each
# gap's fill is scaled down, where its RMS exceeds it, to the RMS of the observed samples within this many
# gap lengths on either side (:func:`level_cap`). 10 gaps of 20 ms in the shared clips' central 30,000
# samples, 3 seeds (docs/studies/gap_fill.md): mean gain over the input +0.70 → +0.94 dB, tap seed 2
# 44.38 → 50.04 dB, no clip worse by 0.01 dB; on 30% scattered missing samples it harms (mean +7.17 →
# +5.56, gt_bach 52.93 → 41.09), so gaps only.
LEVEL_CAP = 3
# Long 1-D files are restored window by window (:func:`restore_windowed`): at one parameter per sample a
# single fit's step costs the square of the length (tap.wav, 7 s, 169,344 x 2 samples: 1.1 s per epoch),
# one window's the window's square, so the whole costs the length times the window. WINDOW is the
# windows of benchmarks/restore_grid.py, where the defaults were measured; each window sits at the sample
# step of the paper's 150,000-sample clip over [-1, 1] (PROTOCOL_SAMPLES), where WINNER's s0 rule and
# the capacity were calibrated, and neighbours overlap by WINDOW_OVERLAP samples, cross-faded.
WINDOW, WINDOW_OVERLAP, PROTOCOL_SAMPLES = 30_000, 2_048, 150_000

# The options that steer a restoration itself, beside the run's own (:func:`siren2.spec.resolve`).
RESTORE_OPTIONS = ("stop", "holdout", "capacity", "bandwidths", "prior_weights", "shrink", "keep_observed",
                   "noise_std", "window")


@dataclass(frozen=True)
class RestoreSettings:
    """How a damaged signal is restored, every default filled in ([`restore_settings`][]).

    Attributes
    ----------
    stop : str
        ``holdout`` (stop when held-out observed samples stop improving) or ``fixed`` (the epochs).
    holdout : float
        The fraction of the observed samples held out (hold-out rule).
    capacity : float or None
        At most this many parameters per observed sample (the width is the widest that fits, up to
        the preset's); None: the preset's width (or a given one).
    bandwidths : tuple of float
        Factors on the rule's s0, one hold-out fit each, the lowest held-out error kept.
    prior_weights : tuple of float
        Weights λ of the band prior (1-D), one hold-out fit each after the bandwidth search.
    shrink : bool
        Combine the fit with the damaged input as the held-out error says is best
        ([`shrink`][siren2.restoration.restorer.shrink]).
    keep_observed : bool
        The output keeps the observed samples and takes only the missing ones from the fit.
    noise_std : float or None
        The noise's σ when known; None: estimated (σ̂).
    window : int
        1-D signals longer than 1.5 windows are restored window by window (0: one fit of the whole).
    """

    stop: str = "holdout"
    holdout: float = HOLDOUT_FRACTION
    capacity: float | None = PARAMS_PER_SAMPLE
    bandwidths: tuple[float, ...] = (1.0,)
    prior_weights: tuple[float, ...] = ()
    shrink: bool = True
    keep_observed: bool = False
    noise_std: float | None = None
    window: int = WINDOW


def restore_settings(signal: Signal, mask: np.ndarray | None, model: str,
                     options: dict) -> tuple[RestoreSettings, dict]:
    """The restoration's settings and the run's options, from ``options`` as given (None: the default).

    The defaults are the commands': the hold-out rule; at most `PARAMS_PER_SAMPLE` parameters per
    observed sample (``capacity`` 0: the preset's width); under the hold-out rule, for a WINNER model
    with a ψ rule and no s0 given, the bandwidth search over `BANDWIDTHS`, then for 1-D signals
    the band prior at `PRIOR_WEIGHTS`, and the shrinkage; the observed samples kept where some
    are missing; windows of `WINDOW` samples for long 1-D signals. The run's options gain
    WINNER's ψ above the noise floor (`CENTROID`) and the hold-out rule's `PATIENCE`
    unless given.

    Parameters
    ----------
    signal
        The damaged signal.
    mask
        (N,) 1 observed, 0 missing; None: all observed.
    model
        A registered model.
    options
        The restoration's settings (`RESTORE_OPTIONS`) and the run's options, as given.

    Returns
    -------
    settings : RestoreSettings
        The restoration's settings.
    run_options : dict
        The run's options ([`siren2.spec.resolve`][]).

    Raises
    ------
    InputError
        For an unknown stopping rule, a setting that only the hold-out rule can use given with
        ``stop`` fixed, or a signal without samples.
    """
    run_options = given({k: v for k, v in options.items() if k not in RESTORE_OPTIONS})
    asked = given({k: v for k, v in options.items() if k in RESTORE_OPTIONS})
    stop = asked.get("stop", "holdout")
    if stop not in STOP_RULES:
        raise InputError(f"stopping rule {stop!r}: choose from {', '.join(STOP_RULES)}")
    holdout_rule = stop == "holdout"
    if not holdout_rule:
        if "holdout" in asked or "patience" in run_options:
            raise InputError("--patience and --holdout apply to the hold-out rule (--stop holdout)")
        if len(asked.get("bandwidths", ())) > 1:
            raise InputError("--bandwidths: a search needs the hold-out rule (--stop holdout) to choose")
        if any(asked.get("prior_weights", ())):
            raise InputError("--prior-weights: a search needs the hold-out rule (--stop holdout) to choose")
        if asked.get("shrink"):
            raise InputError("shrinking the fit towards the input needs the hold-out rule's error (--stop holdout)")
    n = signal.num_points
    missing = mask is not None and not np.asarray(mask).reshape(-1).all()
    searches = (holdout_rule and is_winner(model) and "s0" not in run_options
                and resolve_rule(run_options.get("rule"), signal.in_dim) != AUTO)
    capacity = asked.get("capacity", PARAMS_PER_SAMPLE)
    settings = RestoreSettings(
        stop=stop, holdout=asked.get("holdout", HOLDOUT_FRACTION), capacity=capacity or None,
        bandwidths=tuple(asked.get("bandwidths", BANDWIDTHS if searches else (1.0,))),
        prior_weights=tuple(asked.get("prior_weights", default_prior_weights(signal) if holdout_rule else ())),
        shrink=asked.get("shrink", holdout_rule), keep_observed=asked.get("keep_observed", missing),
        noise_std=asked.get("noise_std"), window=asked.get("window", WINDOW))
    if is_winner(model):
        run_options.setdefault("centroid", CENTROID)
    if holdout_rule:
        run_options.setdefault("patience", PATIENCE)
    if n < 1:
        raise InputError("the signal has no samples")
    return settings, run_options


def default_prior_weights(signal: Signal) -> tuple[float, ...]:
    """The commands' prior weights for ``signal`` (hold-out): `PRIOR_WEIGHTS` for 1-D, none otherwise.

    Parameters
    ----------
    signal
        The damaged signal.

    Returns
    -------
    tuple of float
    """
    return PRIOR_WEIGHTS if signal.in_dim == 1 else ()


def capacity_width(model: str, signal: Signal, observed: int, preset: str | None = None,
                   hidden_layers: int | None = None, ratio: float = PARAMS_PER_SAMPLE) -> int:
    """The widest network of ``model`` (at most the preset's width) with ≤ ``ratio`` parameters per observed sample.

    Parameters
    ----------
    model
        A registered model.
    signal
        The damaged signal (its dimension and channels).
    observed
        The observed samples.
    preset
        Default: by the signal's dimension.
    hidden_layers
        Default: the preset's.
    ratio
        Parameters per observed sample.

    Returns
    -------
    int
        At least 8.
    """
    from ..models import build_model, num_parameters
    from ..presets import get_preset

    _, p = get_preset(preset, signal.in_dim)
    layers = hidden_layers or p.hidden_layers

    def count(width: int) -> int:
        with torch.random.fork_rng(devices=[]):
            return num_parameters(build_model(model, in_dim=signal.in_dim, out_dim=signal.channels, preset=preset,
                                              width=width, hidden_layers=layers))

    lo, hi = 8, max(8, p.width)
    while lo < hi:  # the largest width whose count fits
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if count(mid) <= ratio * observed else (lo, mid - 1)
    return lo


def missing_run(mask: np.ndarray) -> int:
    """The median length of the runs of missing samples in ``mask`` (flattened order).

    Parameters
    ----------
    mask
        1 observed, 0 missing.

    Returns
    -------
    int
        1 when none is missing.
    """
    _, lengths = segments(np.asarray(mask).reshape(-1) == 0)
    return int(np.median(lengths)) if lengths.size else 1


def split_holdout(mask: np.ndarray, fraction: float, seed: int = 0, run: int | None = None,
                  values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hold out a random ``fraction`` of the observed samples, missing the way the damaged ones are.

    In non-touching runs of ``run`` samples (so 20 ms stretches for 20 ms gaps), one sample each when
    ``run`` is 1 (scattered holes, noise). With ``values`` the runs are level-matched: they sit where
    the observed samples around them are as loud as around the gaps, so the fits are judged where they
    will fill.

    Parameters
    ----------
    mask
        (N,) 1 observed, 0 missing.
    fraction
        The share of the observed samples held out, in (0, 1).
    seed
        Draws them (the hold-out's own stream).
    run
        The runs' length; None: [`missing_run`][].
    values
        The damaged signal, (N, C), 1-D; None: runs placed at random.

    Returns
    -------
    train : ndarray
        The training mask: ``mask`` with the held-out samples 0.
    held : ndarray
        The held-out indices.

    Raises
    ------
    InputError
        If ``fraction`` is not in (0, 1) or leaves no samples to train on.
    """
    observed = np.flatnonzero(mask)
    k = max(1, round(fraction * observed.size)) if 0 < fraction < 1 else 0
    if not 0 < k < observed.size:
        raise InputError(f"hold-out fraction {fraction}: must be in (0, 1) and leave samples to train on "
                         f"({observed.size} observed)")
    draws = rng(seed, HOLDOUT_STREAM)
    length = missing_run(mask) if run is None else run
    flat = np.asarray(mask).reshape(-1) > 0
    held = np.empty(0, np.int64)
    if length > 1:
        held = (_held_runs(flat, length, k, draws) if values is None else
                _level_matched_runs(flat, length, k, draws, np.square(np.asarray(values, np.float64)).sum(axis=1)))
    if held.size == 0:  # scattered holes, or no observed stretch as long as a run
        held = np.sort(draws.choice(observed, size=k, replace=False))
    train = mask.astype(np.float32)
    train[held] = 0
    return train, held


def _run_starts(observed: np.ndarray, length: int) -> np.ndarray:
    """Starts of the windows of ``length`` samples that are wholly observed."""
    inside = np.concatenate([[0], np.cumsum(observed)])
    return np.flatnonzero(inside[length:] - inside[:-length] == length)


def _held_runs(observed: np.ndarray, length: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of non-touching runs of ``length`` observed samples, in random order until at least ``k``."""
    taken = np.zeros(observed.size + 1, bool)
    count = 0
    for s in rng.permutation(_run_starts(observed, length)):
        if taken[max(s - 1, 0):s + length + 1].any():
            continue
        taken[s:s + length] = True
        count += length
        if count >= k:
            break
    return np.flatnonzero(taken[:-1])


def _level_matched_runs(observed: np.ndarray, length: int, k: int, rng: np.random.Generator,
                        energy: np.ndarray) -> np.ndarray:
    """Indices of non-touching runs of ``length`` observed samples, until at least ``k``: for each gap
    (run of unobserved samples) in random order, round after round, the free run whose surroundings
    are closest in log mean power to the gap's, surroundings being the observed samples within
    `LEVEL_CAP` times ``length`` either side (as [`level_cap`][] reads them, which takes each gap's
    own length: the same where the gaps are as long as their median)."""
    n, reach = observed.size, LEVEL_CAP * length
    count_at = np.concatenate([[0], np.cumsum(observed)])
    power_at = np.concatenate([[0.0], np.cumsum(energy * observed)])

    def level(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # log mean power of the observed samples near [a, b)
        lo, hi = np.clip(a - reach, 0, n), np.clip(b + reach, 0, n)
        power = power_at[a] - power_at[lo] + power_at[hi] - power_at[b]
        count = count_at[a] - count_at[lo] + count_at[hi] - count_at[b]
        return np.log(np.maximum(power, 1e-30) / np.maximum(count, 1))

    starts = _run_starts(observed, length)
    gap_starts, gap_lengths = segments(~observed)
    if starts.size == 0 or gap_starts.size == 0:
        return np.empty(0, np.int64)
    wanted, have = level(gap_starts, gap_starts + gap_lengths), level(starts, starts + length)
    free = np.ones(starts.size, bool)
    taken, count = np.zeros(n, bool), 0
    while count < k and free.any():
        for g in rng.permutation(wanted.size):
            if count >= k or not free.any():
                break
            s = starts[np.argmin(np.where(free, np.abs(have - wanted[g]), np.inf))]
            taken[s:s + length] = True
            count += length  # runs never overlap: the free starts exclude them
            free &= (starts < s - length) | (starts > s + length)  # overlapping or touching it
    return np.flatnonzero(taken)


def restore(signal: Signal, mask: np.ndarray | None = None, model: str = "siren2", *, clean: Signal | None = None,
            callbacks: list | None = None, on_window: Callable[[int, int], None] | None = None,
            progress: bool = False, **options) -> Run:
    """Fit ``model`` to the observed samples of ``signal`` and render it everywhere.

    What ``siren2 denoise`` and ``siren2 inpaint`` do, with the same defaults. Missing samples are set
    to 0 before anything reads the signal (WINNER's ψ included), so what they held cannot matter. A
    1-D signal longer than 1.5 windows is restored window by window ([`restore_windowed`][]).

    Parameters
    ----------
    signal : Signal
        The damaged signal.
    mask : ndarray, optional
        (N,) 1 where a sample is observed, 0 where missing; None: all observed (denoising).
    model : str
        A registered model.
    clean : Signal, optional
        Score against it (an evaluation); else the scores are against the observed samples (``observed_*``).
    callbacks : list, optional
        Passed to [`siren2.train.fit`][].
    on_window : callable, optional
        ``on_window(i, count)`` before each window of a windowed restoration.
    progress : bool
        Show each fit's progress bar.
    **options
        The restoration's settings (`RESTORE_OPTIONS`, see [`RestoreSettings`][]) and the run's
        options ([`siren2.spec.resolve`][]: ``epochs``, ``seed``, ``width``, ``rule``, ...); None:
        the default ([`restore_settings`][]).

    Returns
    -------
    Run
        ``config["restoration"]`` records the settings, the rule and how it ended: the capacity, the
        searches and their held-out errors, the estimated gain, the shrinkage. A windowed restoration's
        run has no single model (``model`` and ``result`` None).

    Raises
    ------
    InputError
        For a mask that does not match the signal, bad settings ([`restore_settings`][]), or a search
        without the hold-out rule, or a bandwidth search under rule auto.
    """
    settings, run_options = restore_settings(signal, mask, model, options)
    n = signal.num_points
    mask = np.ones(n, np.float32) if mask is None else np.asarray(mask, np.float32).reshape(-1)
    if mask.shape != (n,):
        raise InputError(f"mask has {mask.size} values, the signal {n} samples")
    if signal.in_dim == 1 and settings.window and len(window_starts(n, settings.window)) > 1:
        return restore_windowed(signal, mask, model, window=settings.window, on_window=on_window, progress=progress,
                                clean=clean, callbacks=callbacks, **{k: v for k, v in options.items() if k != "window"})
    observed = signal.with_values(signal.values * mask[:, None])
    shape = {"rule": "given" if "width" in run_options else "preset" if settings.capacity is None else "auto"}
    if shape["rule"] == "auto":
        run_options["width"] = capacity_width(model, signal, int(mask.sum()), run_options.get("preset"),
                                              run_options.get("hidden_layers"), settings.capacity)
        shape["max_params_per_observed_sample"] = settings.capacity
    spec = resolve(observed, run_options | {"model": model})
    record = {"rule": settings.stop, "settings": asdict(settings), "max_epochs": spec.fit.epochs,
              "observed_fraction": float(mask.mean())}
    train_mask, validate, judge, held = mask, None, None, None
    if settings.stop == "holdout":
        # Held out as the damage is missing (runs as long as the gaps, in 1-D where the surroundings are as
        # loud as the gaps') to judge the fits: choose among them, scale the fill (shrink) and estimate the
        # gain. With gaps the fit stops on scattered samples held
        # out as well: a held-out gap stays no better than zeros until the fit has learnt the signal
        # around it, and a rule watching the gaps alone stops it first.
        length = missing_run(mask)
        train_mask, held = split_holdout(mask, settings.holdout, spec.fit.seed, run=length,
                                         values=observed.values if signal.in_dim == 1 else None)
        stops_on = held
        if length > 1:
            train_mask, stops_on = split_holdout(train_mask, settings.holdout, spec.fit.seed, run=1)
            judge = _heldout_mse(observed, held)
        validate = _heldout_mse(observed, stops_on)
        record |= {"holdout_fraction": settings.holdout, "holdout_samples": int(held.size),
                   "patience": spec.fit.patience}
        if length > 1:
            record |= {"holdout_run": length, "stopping_samples": int(stops_on.size)}
    factors = settings.bandwidths if spec.winner is not None and spec.winner["s0"] is None else (1.0,)
    weights = tuple(w for w in settings.prior_weights if w > 0)
    if (len(factors) > 1 or weights) and settings.stop != "holdout":
        raise InputError("a search (several s0 factors, prior weights) needs the hold-out rule to choose")
    if len(factors) > 1 and spec.winner["rule"] == AUTO:
        raise InputError("a bandwidth search scales a ψ rule's s0; rule auto chooses s0 itself (give one bandwidth)")
    base = resolve_scales(observed, **spec.winner) if len(factors) > 1 else None  # the rule's (s0, s1)

    def attempt(factor: float, prior=None) -> Run:  # a prior acts on the whole rendering: full-batch steps
        scales = {} if base is None else {"s0": factor * base.s0, "s1": base.s1}
        full = {} if prior is None else {"batch_size": None}
        one = spec if not scales and not full else replace(
            resolve(observed, spec.options | scales), fit=replace(spec.fit, **full) if full else spec.fit)
        return run(one, observed, mask=None if train_mask.all() else train_mask, clean=clean, validate=validate,
                   callbacks=callbacks, prior=prior, progress=progress)

    tried = []  # (s0 factor, λ, run): first the bandwidths without a prior, then the prior's weights
    for factor in factors:  # the bandwidth search: the lowest held-out error wins
        tried.append((factor, 0.0, attempt(factor)))
        if tried[-1][2].result.interrupted:
            break
    prior = band(observed, train_mask) if weights and not tried[-1][2].result.interrupted else None
    for weight in weights if prior is not None else ():
        tried.append((1.0, weight, attempt(1.0, replace(prior, weight=weight))))  # at the rule's s0
        if tried[-1][2].result.interrupted:
            break
    judged = [r.result.best_val_loss if judge is None else judge(r.model) for f, w, r in tried]  # h of each fit
    best = int(np.argmin(judged))  # one fit unless hold-out searched
    (factor, weight, chosen), h = tried[best], judged[best]
    if tried[-1][2].result.interrupted:
        chosen.result.stopped_by = "interrupted"  # the search was cut: callers must see the Ctrl-C
    if base is not None:
        record["bandwidth_search"] = {
            "chosen_factor": factor, "rule_s0": base.s0,
            "seconds": sum(r.result.seconds for f, w, r in tried if w == 0),
            "tried": [{"factor": f, "s0": r.config["model"]["winner"]["s0"], "best_holdout_mse": e}
                      for (f, w, r), e in zip(tried, judged) if w == 0]}
    if prior is not None:
        record["prior"] = prior.record() | {
            "chosen_weight": weight, "seconds": sum(r.result.seconds for f, w, r in tried if w > 0),
            "tried": [{"weight": w, "best_holdout_mse": e} for (f, w, r), e in zip(tried, judged) if f == 1.0]}
    result = chosen.result
    shape |= {"width": chosen.config["model"]["config"]["width"],
              "params_per_observed_sample": chosen.config["model"]["parameters"] / max(1.0, float(mask.sum()))}
    record |= {"capacity": shape, "epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
               "stopped_early": result.stopped_early, "seconds": sum(r.result.seconds for f, w, r in tried)}
    if settings.stop == "holdout":
        record |= {"best_holdout_mse": h} | estimated_gain(observed, mask, h, settings.noise_std)
    chosen.config["restoration"] = record
    if clean is None:
        chosen.metrics = observed_scores(observed, chosen.reconstruction.values, mask) | {
            "best_epoch_psnr_paper": result.best_psnr}
        if settings.stop == "holdout":
            chosen.metrics["holdout_psnr_paper"] = 10 * math.log10(1 / max(h, 1e-30))
    if settings.shrink:
        values, record["shrink"] = shrink(observed, mask, chosen.reconstruction.values, held, h, settings.noise_std)
        chosen.reconstruction = chosen.reconstruction.with_values(values)
        if clean is not None:  # the fit's own score stays beside the output's
            chosen.metrics |= {"fit_psnr_paper": chosen.metrics["psnr_paper"]} | metrics(clean, values)
    if settings.keep_observed:
        chosen.reconstruction = fill_missing(observed, mask, chosen.reconstruction.values)
    if not mask.all():
        chosen.arrays["mask"] = mask
    return chosen


def _heldout_mse(signal: Signal, held: np.ndarray):
    """validate(model): the MSE of the model on the held-out samples."""
    coords, target = signal.coords()[torch.from_numpy(held)], torch.from_numpy(signal.values[held])
    return lambda model: float((predict(model, coords) - target).square().mean())


def estimated_gain(signal: Signal, mask: np.ndarray, holdout_mse: float, noise_std: float | None = None) -> dict:
    """What the restoration gained over the damaged input, in dB, estimated without a clean reference.

    From the held-out MSE h. Missing samples: zeros err by the observed mean square P, the fit by h:
    10·log10(P / h). Noise (all observed): h = error² + σ², so the fit errs by h − σ̂² where the noisy
    input errs by σ²; pessimistic, as the fit is judged on samples it never saw (camera's 128² at
    σ 0.05: −0.8 dB estimated, +1.9 dB measured).

    Parameters
    ----------
    signal
        The damaged signal.
    mask
        (N,) 1 observed, 0 missing.
    holdout_mse
        h.
    noise_std
        σ when known; None: σ̂ ([`siren2.restoration.classical.noise_std`][]).

    Returns
    -------
    dict
        ``estimated_gain_db``: None where h ≤ σ̂² (σ̂ then holds signal: a texture such as noise1.png
        reads as noise); with noise, ``noise_std`` (given) or ``noise_std_estimate``.
    """
    from .classical import noise_std as estimate_noise_std

    if not mask.all():
        power = float(np.mean(signal.values[mask > 0].astype(np.float64) ** 2))
        return {"estimated_gain_db": 10 * math.log10(max(power, 1e-30) / max(holdout_mse, 1e-30))}
    var = (estimate_noise_std(signal) if noise_std is None else noise_std) ** 2
    gain = 10 * math.log10(var / (holdout_mse - var)) if holdout_mse > var > 0 else None  # None: σ̂ took signal
    return {"noise_std" if noise_std is not None else "noise_std_estimate": math.sqrt(var), "estimated_gain_db": gain}


def shrink(signal: Signal, mask: np.ndarray, fit: np.ndarray, held: np.ndarray,
           holdout_mse: float, noise_std: float | None = None) -> tuple[np.ndarray, dict]:
    """The combination of the fit f and the damaged input y that the held-out samples say errs least.

    On a held-out sample the fit never saw the sample's noise, so its error e and the noise are
    independent: h = e + σ². Noise (every sample observed): α·f + (1 − α)·y with α = min(1, σ²/h)
    minimizes the expected error there, e·σ²/(e + σ²) ≤ min(e, σ²). On the samples it trained on the
    fit has absorbed part a of their noise: its error there, R, is smaller than h, and generalized
    cross-validation reads 1 − a = √(R/h). There y + α_t·(f − y) with α_t = (1 − a)·σ²/R = σ²/√(R·h)
    then errs by the same e·σ²/(e + σ²); α_t > 1 steps past the fit, away from the noise it took in
    (relay's central 30,000 samples at σ 0.05, band prior, seed 0: R = 0.10·h, α 0.55 / α_t 1.70,
    output 29.78 dB against the fit's 28.60 and 27.79 with α on every sample; the clean signal's own
    best α_t is 1.74). Since h ≥ σ², a σ̂² above h by more than h's sampling error
    (`CONSISTENCY` standard errors) means σ̂ took signal for noise (a texture, a white-noise
    image): σ cannot be told from the signal, and the input is returned (α = α_t = 0).

    Missing samples: the observed ones as they are and β·f where missing, β in [0, 1] the
    least-squares scale of f on the held-out samples (β = 0 is the zero fill); with gaps (1-D), each
    gap's fill then no louder than the observed samples around it ([`level_cap`][]). With gaps, β
    fitted on a few held-out runs is optimistic, so the gain is estimated out of sample: each held-out
    run filled with β from the other runs ([`held_out_scales`][]), capped as the gaps are; where that
    fill does not beat zeros, β = 0 and the damaged input is returned as it is (tap's gaps, seed 2: an
    in-sample estimate of +0.04 dB and β 1 gave 50.66 dB against the input's 56.06). Scattered holes
    hold out thousands of single samples, on which one fitted scale is its own cross-validation.

    Parameters
    ----------
    signal
        The damaged signal y.
    mask
        (N,) 1 observed, 0 missing.
    fit
        The fit f on the grid, N·C values.
    held
        The held-out indices.
    holdout_mse
        h, the fit's held-out MSE.
    noise_std
        σ when the caller knows it; None: σ̂ ([`siren2.restoration.classical.noise_std`][]).

    Returns
    -------
    values : ndarray
        (N, C) float32.
    record : dict
        The factors and the output's estimated gain in dB over the damaged input, as
        [`estimated_gain`][] (None where h ≤ σ²).
    """
    from .classical import noise_std as estimate_noise_std, noise_std_method

    f = np.asarray(fit, np.float64).reshape(signal.values.shape)
    y = signal.values.astype(np.float64)
    if mask.all():
        given = noise_std is not None
        var = (noise_std if given else estimate_noise_std(signal)) ** 2
        # h's standard error as a mean of n squared errors: about h·sqrt(2/n)
        inconsistent = not given and var > holdout_mse * (1 + CONSISTENCY * math.sqrt(2 / held.size))
        trained = np.ones(len(y), bool)
        trained[held] = False
        residual = float(np.mean((f - y)[trained] ** 2))  # R
        kept = min(1.0, math.sqrt(residual / max(holdout_mse, 1e-30)))  # 1 − a
        alpha = 0.0 if inconsistent else min(1.0, var / max(holdout_mse, 1e-30))
        alpha_trained = 0.0 if inconsistent else kept * var / max(residual, 1e-30)
        gain = 0.0 if inconsistent else (10 * math.log10(holdout_mse / (holdout_mse - var))
                                         if holdout_mse > var > 0 else None)
        weight = np.where(trained[:, None], alpha_trained, alpha)
        return ((y + weight * (f - y)).astype(np.float32),
                {"kind": "noise", "alpha": alpha, "alpha_trained": alpha_trained, "noise_absorbed": 1 - kept,
                 "noise_std": math.sqrt(var), "noise_std_source": "given" if given else f"estimated: {noise_std_method(signal)}",
                 "noise_estimate_exceeds_holdout_error": inconsistent, "estimated_gain_db": gain})
    fh, yh = f[held], y[held]
    beta, unseen = held_out_scales(fh, yh, held)
    record = {"kind": "missing"}

    def gain(judged: np.ndarray) -> float:  # over zeros, on the held-out samples
        return 10 * math.log10(max(float((yh ** 2).sum()), 1e-30) / max(float(((yh - judged) ** 2).sum()), 1e-30))

    if signal.in_dim == 1 and missing_run(mask) > 1:  # gaps: each held-out run scaled by the β of the others, capped
        without_held = mask.copy()
        without_held[held] = 0
        judged = beta * f
        judged[held] = unseen[:, None] * fh
        record |= {"beta_fitted": beta, "estimated_gain_db": gain(level_cap(y, without_held, judged)[0][held])}
        if record["estimated_gain_db"] <= 0:  # no gain on runs it was not scaled on: the damaged input as it is
            beta, record["estimated_gain_db"] = 0.0, 0.0
        fill, capped = level_cap(y, mask, beta * f)
        record["level_cap"] = {"gap_lengths": LEVEL_CAP, "gaps_capped": capped}
    else:
        fill, record["estimated_gain_db"] = beta * f, gain(beta * fh)
    return np.where(mask[:, None] > 0, y, fill).astype(np.float32), record | {"beta": beta}


def held_out_scales(fh: np.ndarray, yh: np.ndarray, held: np.ndarray) -> tuple[float, np.ndarray]:
    """β on the held-out samples, and for each held-out sample the β of the *other* held-out runs.

    β is the least-squares scale in [0, 1] of the fit f on the held-out samples y; runs are consecutive
    indices in ``held`` (one sample each when scattered). The second is a cross-validated β that never
    saw the run it scales.

    Parameters
    ----------
    fh
        The fit on the held-out samples, (k, C).
    yh
        The damaged signal there, (k, C).
    held
        The held-out indices, ascending.

    Returns
    -------
    beta : float
        β of all held-out samples.
    unseen : ndarray
        (k,): each sample's β of the other runs.
    """
    fy, ff = (fh * yh).sum(axis=1), (fh * fh).sum(axis=1)
    group = np.concatenate([[0], np.cumsum(np.diff(held) > 1)])
    total_fy, total_ff = fy.sum(), ff.sum()
    others = (total_fy - np.bincount(group, fy)) / np.maximum(total_ff - np.bincount(group, ff), 1e-30)
    return float(np.clip(total_fy / max(total_ff, 1e-30), 0.0, 1.0)), np.clip(others, 0.0, 1.0)[group]


def level_cap(y: np.ndarray, mask: np.ndarray, fill: np.ndarray, k: int = LEVEL_CAP) -> tuple[np.ndarray, int]:
    """``fill`` with each run of missing samples scaled down, per channel, to no louder than its surroundings.

    Where a run's RMS exceeds it, to the RMS of ``y``'s observed samples within ``k`` run lengths on
    either side (`LEVEL_CAP`).

    Parameters
    ----------
    y
        The damaged signal's values, (N, C).
    mask
        (N,) 1 observed, 0 missing (flattened order).
    fill
        (N, C).
    k
        The surroundings, in run lengths.

    Returns
    -------
    values : ndarray
        (N, C), float64.
    capped : int
        How many runs were scaled.
    """
    out, capped = np.array(fill, np.float64), 0
    starts, lengths = segments(np.asarray(mask).reshape(-1) == 0)
    for a, n in zip(starts, lengths):
        near = np.r_[max(0, a - k * n):a, a + n:min(len(mask), a + n + k * n)]
        near = near[mask[near] > 0]
        if near.size == 0:
            continue
        level = np.sqrt(np.mean(np.square(y[near]), axis=0))
        loud = np.sqrt(np.mean(np.square(out[a:a + n]), axis=0))
        scale = np.minimum(1.0, level / np.maximum(loud, 1e-30))
        capped += bool((scale < 1).any())
        out[a:a + n] *= scale
    return out, capped


def restore_classical(signal: Signal, mask: np.ndarray | None, name: str, *, holdout: float = HOLDOUT_FRACTION,
                      seed: int = 0) -> Run:
    """A classical tool ([`siren2.restoration.classical`][]) in place of a fit.

    The output keeps the observed samples where some are missing. With missing samples the record
    holds the tool's held-out error, as the hold-out rule measures a fit's: the tool run again with a
    ``holdout`` fraction of the observed samples missing too, scored on those, and the gain over the
    zeros it implies ([`estimated_gain`][]). A denoiser has no held-out error (it sees every sample):
    its record holds [`observed_scores`][] instead (``residual_std`` estimates the noise it removed).

    Parameters
    ----------
    signal
        The damaged signal.
    mask
        (N,) 1 observed, 0 missing; None: all observed.
    name
        A key of `siren2.restoration.classical.BASELINES`.
    holdout
        The share of the observed samples held out to score the tool.
    seed
        Draws the held-out samples.

    Returns
    -------
    Run
        No model, no training; ``config["restoration"]["classical"]`` is the record, ``metrics`` its scores.

    Raises
    ------
    InputError
        For an unknown tool, or one that does not apply to the signal.
    """
    from .. import __version__
    from .classical import BASELINES, run_baseline

    n = signal.num_points
    mask = np.ones(n, np.float32) if mask is None else np.asarray(mask, np.float32).reshape(-1)
    observed = signal.with_values(signal.values * mask[:, None])
    estimate = run_baseline(name, observed, mask)
    record = {"name": name, "description": BASELINES[name].description, "observed_fraction": float(mask.mean())}
    arrays = {}
    if mask.all():
        restored = signal.with_values(estimate)
        record |= observed_scores(signal, estimate, mask)
    else:
        train, held = split_holdout(mask, holdout, seed)
        again = run_baseline(name, observed.with_values(observed.values * train[:, None]), train)
        h = float(np.mean((again[held].astype(np.float64) - signal.values[held]) ** 2))
        record |= {"holdout_fraction": holdout, "holdout_samples": int(held.size), "holdout_mse": h,
                   "holdout_psnr_paper": psnr_paper(signal.values[held], again[held])} | estimated_gain(signal, mask, h)
        restored, arrays = fill_missing(observed, mask, estimate), {"mask": mask}
    scores = {k: record[k] for k in ("holdout_psnr_paper", "estimated_gain_db", "observed_psnr_paper", "residual_std")
              if k in record}
    config = {"siren2_version": __version__, "input": signal.source, "seed": seed, "signal": signal.describe(),
              "restoration": {"classical": record}}
    return Run(f"classical {name}", restored, scores, config, arrays=arrays)


def fill_missing(signal: Signal, mask: np.ndarray, estimate: np.ndarray) -> Signal:
    """``signal`` where observed, ``estimate`` where missing.

    Parameters
    ----------
    signal
        The damaged signal.
    mask
        (N,) 1 observed, 0 missing.
    estimate
        N·C values.

    Returns
    -------
    Signal
    """
    return signal.with_values(np.where(mask[:, None] > 0, signal.values, estimate.reshape(signal.values.shape)))


def observed_scores(signal: Signal, estimate: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Without a clean reference: how closely the fit follows the observed samples.

    Parameters
    ----------
    signal
        The damaged signal.
    estimate
        The fit, N·C values.
    mask
        (N,) 1 observed, 0 missing.

    Returns
    -------
    dict
        ``observed_psnr_paper`` and ``residual_std`` (of fit − observed samples).
    """
    obs = mask > 0
    y, e = signal.values[obs].astype(np.float64), np.asarray(estimate, np.float64).reshape(signal.values.shape)[obs]
    return {"observed_psnr_paper": psnr_paper(y, e), "residual_std": float((e - y).std())}


def window_starts(n: int, window: int = WINDOW, overlap: int = WINDOW_OVERLAP) -> list[int]:
    """Starts of the fewest ``window``-long windows that cover n samples, neighbours overlapping.

    Evenly spaced, by at least ``overlap``, the last flush with the end.

    Parameters
    ----------
    n
        The samples.
    window
        The windows' length.
    overlap
        The least overlap of neighbours.

    Returns
    -------
    list of int
        [0] (one fit of all n samples) up to 1.5 windows, whose single fit costs at most 2.25 windows'.
    """
    if n <= window * 3 // 2:
        return [0]
    count = math.ceil((n - overlap) / (window - overlap))
    return [round(i * (n - window) / (count - 1)) for i in range(count)]


def restore_windowed(signal: Signal, mask: np.ndarray | None = None, model: str = "siren2", *,
                     window: int = WINDOW, overlap: int = WINDOW_OVERLAP, keep_observed: bool | None = None,
                     clean: Signal | None = None, on_window: Callable[[int, int], None] | None = None,
                     **options) -> Run:
    """[`restore`][] a long 1-D ``signal`` window by window, each at the sample step of the paper's clip.

    Each window sits at the sample step of the paper's 150,000-sample clip (`PROTOCOL_SAMPLES`),
    with its own hold-out, search, σ̂ and shrinkage; the outputs are cross-faded over the overlaps
    (raised cosine). A window with nothing missing (inpainting) is the input as it is. Ctrl-C in any
    window raises KeyboardInterrupt (no output from part of the windows).

    Parameters
    ----------
    signal
        The damaged 1-D signal.
    mask
        (N,) 1 observed, 0 missing; None: all observed.
    model
        A registered model.
    window
        The windows' length.
    overlap
        The least overlap of neighbours (cross-faded).
    keep_observed
        Observed samples stay exactly as they were; default: where some are missing.
    clean
        Score against it; else against the observed samples.
    on_window
        ``on_window(i, count)`` before window i.
    **options
        As [`restore`][]'s.

    Returns
    -------
    Run
        Without a single model; its config records each window's choices and ``restoration.seconds``
        the restorations' time (their searches included).

    Raises
    ------
    InputError
        For a signal that is not 1-D, or an overlap not in [0, window).
    """
    if signal.in_dim != 1:
        raise InputError(f"windowed restoration is for 1-D signals (audio), not {signal.in_dim}-D")
    if not 0 <= overlap < window:
        raise InputError(f"window {window}, overlap {overlap}: the overlap must be in [0, window)")
    n = signal.num_points
    mask = np.ones(n, np.float32) if mask is None else np.asarray(mask, np.float32).reshape(-1)
    inpaint = not mask.all()
    keep_observed = inpaint if keep_observed is None else keep_observed
    options = {k: v for k, v in options.items() if k != "window"} | {"window": 0}  # each window: one fit
    starts = window_starts(n, window, overlap)
    size = n if len(starts) == 1 else window
    half = (size - 1) / (PROTOCOL_SAMPLES - 1)  # a centred window of the protocol's clip
    out, weight = np.zeros(signal.values.shape, np.float64), np.zeros((n, 1))
    ramp = np.ones(size)
    if len(starts) > 1:
        fade = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)
        ramp[:overlap], ramp[size - overlap:] = fade, fade[::-1]
    per_window, seconds, first = [], 0.0, None
    for i, start in enumerate(starts):
        if on_window:
            on_window(i, len(starts))
        piece = replace(signal, values=signal.values[start:start + size], grid=(size,), extent=((-half, half),))
        part = mask[start:start + size]
        entry = {"start": start, "size": size}
        if inpaint and part.all():
            values, entry["restoration"] = piece.values, {"skipped": "nothing missing in this window"}
        elif not part.any():
            values, entry["restoration"] = np.zeros_like(piece.values), {"skipped": "nothing observed in this window"}
        else:
            t0 = time.perf_counter()
            piece_clean = None if clean is None else replace(piece, values=clean.values[start:start + size])
            done = restore(piece, part if inpaint else None, model, keep_observed=keep_observed, clean=piece_clean,
                           **options)
            if done.result.interrupted:  # Ctrl-C: no output from part of the windows
                raise KeyboardInterrupt
            values, seconds = done.reconstruction.values, seconds + time.perf_counter() - t0
            entry |= {k: done.config[k] for k in ("model", "restoration")}
            first = first or done.config
        per_window.append(entry)
        w = ramp.copy()
        if i == 0:
            w[:overlap] = 1.0
        if i == len(starts) - 1:
            w[size - overlap:] = 1.0
        out[start:start + size] += w[:, None] * values
        weight[start:start + size] += w[:, None]
    values = (out / weight).astype(np.float32)
    if keep_observed:
        values = np.where(mask[:, None] > 0, signal.values, values)
    config = {k: first[k] for k in ("siren2_version", "spec")} if first else {}
    config |= {"signal": signal.describe(), "restoration": {
        "windows": {"size": size, "overlap": overlap, "count": len(starts),
                    "extent": [-half, half], "protocol_samples": PROTOCOL_SAMPLES},
        "per_window": per_window, "seconds": seconds}}
    scores = observed_scores(signal, values, mask) if clean is None else metrics(clean, values)
    return Run(model, signal.with_values(values), scores, config, arrays={"mask": mask} if inpaint else {})
