"""Restoration (SPEC §5): reproducible corruptions, and fitting only what is observed.

A corruption returns the damaged :class:`~siren2.signals.Signal` and a mask (N,) float32, 1 where a
sample is observed and 0 where it is missing; missing samples read 0 in the damaged signal, as a
dropout in a file does. :func:`restore` fits a model on the observed samples only (the loss is
masked) and renders it everywhere. Two stopping rules:

* ``fixed``: a fixed epoch budget, the state with the lowest training loss (the paper's protocol);
* ``holdout``: a random fraction of the observed samples is left out of training, the fit stops
  after ``patience`` epochs without improvement of their MSE and returns the state with the lowest
  one. It needs no clean reference, and stops before a long fit reproduces the noise.

:func:`evaluate` corrupts a clean signal, restores it with several models and seeds and scores
every restoration (and the corrupted input itself, the floor) against the clean signal.
"""

from __future__ import annotations

import math
import re
import time
import tokenize
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .compare import STD_NOTE, TABLE_METRICS, summarize
from .compare import _fmt as format_stat
from .errors import InputError
from .metrics import CONVENTIONS, metrics, psnr_paper, snr
from .recipes import DEFAULT_RECIPE
from .signals import Signal

STOP_RULES = ("fixed", "holdout")
HOLDOUT_FRACTION = 0.1  # of the observed samples
PATIENCE = 100  # epochs without improvement of the held-out error
MIN_GAP = 32  # samples: the shortest run of exact zeros `silence_mask` calls a gap
# independent random streams per seed, so one corruption's draw never shifts another's
_NOISE, _MISSING, _GAPS, _HOLDOUT = range(4)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), stream])


@dataclass
class Corruption:
    """A corrupted signal, its mask (N,) float32 (1 = observed), and the levels requested and measured."""

    signal: Signal
    mask: np.ndarray
    info: dict


# ------------------------------------------------------------------------------------ corruptions


def add_noise(signal: Signal, *, std: float | None = None, snr_db: float | None = None, seed: int = 0) -> Corruption:
    """Add white Gaussian noise of standard deviation ``std`` (on the [-1, 1] scale), or with σ set
    from the signal's mean power for a target ``snr_db``. The sum is not clipped, so σ is exact in
    distribution (a file written from it clips at full scale)."""
    if (std is None) == (snr_db is None):
        raise ValueError("give exactly one of std and snr_db")
    values = signal.values.astype(np.float64)
    if snr_db is not None:
        power = float(np.mean(values**2))
        if not math.isfinite(snr_db) or power == 0:
            raise InputError(f"noise SNR {snr_db} dB: needs a finite SNR and a signal that is not silent")
        std = math.sqrt(power / 10 ** (snr_db / 10))
    if not (math.isfinite(std) and std > 0):
        raise InputError(f"noise std {std}: must be a positive number")
    noise = _rng(seed, _NOISE).standard_normal(values.shape) * std
    noisy = values + noise
    info = {"kind": "noise", "std": std, "snr_db": snr_db, "seed": seed,
            "measured_std": float(noise.std()), "measured_snr_db": snr(values, noisy)}
    return Corruption(signal.with_values(noisy), np.ones(signal.num_points, np.float32), info)


def drop_samples(signal: Signal, fraction: float, *, seed: int = 0) -> Corruption:
    """Remove exactly round(fraction·N) samples (audio) or pixels, all channels (images), at random."""
    n = signal.num_points
    k = round(fraction * n) if 0 < fraction < 1 else 0
    if not 0 < k < n:
        raise InputError(f"missing fraction {fraction}: must leave some of the {n} samples missing and some observed")
    mask = np.ones(n, np.float32)
    mask[_rng(seed, _MISSING).choice(n, size=k, replace=False)] = 0
    return _with_missing(signal, mask, {"kind": "missing", "fraction": fraction, "seed": seed})


def drop_gaps(signal: Signal, count: int, length_ms: float, *, seed: int = 0) -> Corruption:
    """Audio: ``count`` runs of ``length_ms`` missing at random places, each with observed samples on
    both sides (no two gaps touch, none at the clip's ends), uniform over such placements."""
    if signal.kind != "audio":
        raise InputError(f"gaps apply to audio, not to a {signal.kind}")
    n, length = signal.num_points, round(length_ms * signal.sample_rate / 1000)
    if count < 1 or length < 1:
        raise InputError(f"gaps {count}x{length_ms}ms: need at least one gap of at least one sample")
    free = n - count * length - (count + 1)  # observed samples beyond the one before, between and after gaps
    if free < 0:
        raise InputError(f"gaps {count}x{length_ms}ms ({length} samples each) do not fit in {n} samples")
    offsets = np.sort(_rng(seed, _GAPS).choice(free + count, size=count, replace=False)) - np.arange(count)
    starts = 1 + offsets + np.arange(count) * (length + 1)
    mask = np.ones(n, np.float32)
    mask[(starts[:, None] + np.arange(length)).ravel()] = 0
    return _with_missing(signal, mask, {"kind": "gaps", "count": count, "length_ms": length_ms,
                                        "length_samples": length, "seed": seed, "starts": starts.tolist()})


def _with_missing(signal: Signal, mask: np.ndarray, info: dict) -> Corruption:
    info["measured_fraction"] = float(1 - mask.mean())
    return Corruption(signal.with_values(signal.values * mask[:, None]), mask, info)


def runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of True in a 1-D array."""
    d = np.diff(np.concatenate([[0], np.asarray(flags, bool).astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    return starts, np.flatnonzero(d == -1) - starts


# ------------------------------------------------------------------------------------------ masks


def silence_mask(signal: Signal, min_run: int = MIN_GAP) -> np.ndarray:
    """Audio: mark runs of at least ``min_run`` exact zeros (digital silence, a dropout) as missing.
    Runs touching the start or the end are kept: leading and trailing silence is usually real."""
    if signal.kind != "audio":
        raise InputError(f"{signal.source}: --gaps auto applies to audio, not to a {signal.kind}")
    if min_run < 1:
        raise InputError(f"minimum gap {min_run}: must be at least 1 sample")
    n = signal.num_points
    starts, lengths = runs(np.all(signal.values == 0, axis=1))
    keep = (lengths >= min_run) & (starts > 0) & (starts + lengths < n)
    if not keep.any():
        raise InputError(f"{signal.source}: no digital silence inside the clip (runs of >= {min_run} exact zeros): "
                         f"nothing to inpaint")
    mask = np.ones(n, np.float32)
    mask[np.concatenate([np.arange(s, s + m) for s, m in zip(starts[keep], lengths[keep])])] = 0
    return mask


def load_mask(path, signal: Signal) -> np.ndarray:
    """Read a mask for ``signal``: nonzero = observed, 0 = missing. Audio: a wav/flac/ogg (nonzero in
    any channel) or an .npy of N values; images: an image file of the same H x W (nonzero in any
    colour channel, alpha ignored) or an .npy (H, W). Returns (N,) float32 of 0/1."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise InputError(f"{path}: mask file missing, not a file, or empty")
    with open(path, "rb") as f:
        is_npy = f.read(6) == b"\x93NUMPY"
    try:
        if is_npy:
            arr = np.load(path, allow_pickle=False)
            if arr.dtype.kind not in "biuf":
                raise ValueError(f"dtype {arr.dtype} is not numeric")
        elif signal.kind == "audio":
            import soundfile as sf

            arr = sf.read(str(path), dtype="float64", always_2d=True)[0]
        else:
            arr = _read_mask_image(path)
    except (ValueError, OSError, RuntimeError, SyntaxError, EOFError, MemoryError, tokenize.TokenError) as e:
        # (a damaged .npy header fails in numpy's parser with any of the last four)
        text = str(e).strip().splitlines()
        raise InputError(f"{path}: cannot read mask ({text[0] if text else type(e).__name__})") from None
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{path}: mask contains NaN or infinite values")
    observed = _mask_shape(path, arr, signal)
    if observed.all():
        raise InputError(f"{path}: mask marks no sample missing (0): nothing to inpaint")
    if not observed.any():
        raise InputError(f"{path}: mask marks every sample missing: nothing to fit")
    return observed.astype(np.float32)


def _read_mask_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.mode not in ("1", "L", "I", "I;16", "I;16B", "I;16L", "F", "RGB"):
                im = im.convert("RGB")  # palette and alpha modes: alpha is not part of the mask
            return np.asarray(im)
    except (UnidentifiedImageError, SyntaxError) as e:
        raise ValueError(str(e)) from None


def _mask_shape(path: Path, arr: np.ndarray, signal: Signal) -> np.ndarray:
    """(N,) bool from a mask array of the signal's grid, with an optional trailing channel axis."""
    nonzero = arr != 0
    if nonzero.ndim == len(signal.grid) + 1:
        nonzero = nonzero.any(axis=-1)
    if nonzero.shape != signal.grid:
        what = "samples" if signal.kind == "audio" else "pixels (HxW)"
        got = "x".join(map(str, nonzero.shape)) or "a scalar"
        raise InputError(f"{path}: mask has {got} {what}, the signal {'x'.join(map(str, signal.grid))}")
    return nonzero.reshape(-1)


# ------------------------------------------------------------------------------------ restoration


def split_holdout(mask: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hold out a random ``fraction`` of the observed samples: (training mask, held-out indices)."""
    observed = np.flatnonzero(mask)
    k = max(1, round(fraction * observed.size)) if 0 < fraction < 1 else 0
    if not 0 < k < observed.size:
        raise InputError(f"hold-out fraction {fraction}: must be in (0, 1) and leave samples to train on "
                         f"({observed.size} observed)")
    held = np.sort(_rng(seed, _HOLDOUT).choice(observed, size=k, replace=False))
    train = mask.astype(np.float32)
    train[held] = 0
    return train, held


def restore(signal: Signal, mask: np.ndarray | None = None, model: str = "siren2", *, stop: str = "fixed",
            fit_config=None, holdout: float = HOLDOUT_FRACTION, preset: str | None = None,
            model_options: dict | None = None, winner_options: dict | None = None, clean: Signal | None = None,
            keep_observed: bool = False, callbacks: list | None = None):
    """Fit ``model`` to the observed samples of ``signal`` (``mask`` 1; all when None), render it everywhere.

    Missing samples are set to 0 before anything reads the signal (WINNER's ψ included), so what
    they held cannot matter. ``stop`` is ``fixed`` (``fit_config.epochs``) or ``holdout`` (a
    ``holdout`` fraction of the observed samples, ``fit_config.patience`` or :data:`PATIENCE`).
    Scores are against ``clean`` when given, else against the observed samples (``observed_*``).
    ``keep_observed``: the reconstruction keeps the observed samples and takes only the missing ones
    from the fit (the fit itself stays in the model). ``callbacks`` go to :func:`~siren2.train.fit`.
    Returns a :class:`~siren2.runs.Run` whose ``config["restoration"]`` records the rule and how it
    ended.
    """
    from .runs import run_fit
    from .train import FitConfig

    if stop not in STOP_RULES:
        raise InputError(f"stopping rule {stop!r}: choose from {', '.join(STOP_RULES)}")
    n = signal.num_points
    mask = np.ones(n, np.float32) if mask is None else np.asarray(mask, np.float32).reshape(-1)
    if mask.shape != (n,):
        raise InputError(f"mask has {mask.size} values, the signal {n} samples")
    observed = signal.with_values(signal.values * mask[:, None])
    fit_config = fit_config or FitConfig.resolve(preset, in_dim=signal.in_dim, model=model,
                                                 width=(model_options or {}).get("width"))
    record = {"rule": stop, "max_epochs": fit_config.epochs, "observed_fraction": float(mask.mean())}
    train_mask, validate = mask, None
    if stop == "holdout":
        train_mask, held = split_holdout(mask, holdout, fit_config.seed)
        validate = _heldout_mse(observed, held)
        fit_config = replace(fit_config, patience=fit_config.patience or PATIENCE)
        record |= {"holdout_fraction": holdout, "holdout_samples": int(held.size), "patience": fit_config.patience}
    run = run_fit(observed, model, preset=preset, fit_config=fit_config, model_options=model_options,
                  winner_options=winner_options, mask=None if train_mask.all() else train_mask, clean=clean,
                  validate=validate, callbacks=callbacks)
    result = run.result
    record |= {"epochs_run": len(result.loss), "best_epoch": result.best_epoch, "stopped_early": result.stopped_early}
    if stop == "holdout":
        record["best_holdout_mse"] = result.best_val_loss
    run.config["restoration"] = record
    if clean is None:
        run.metrics = observed_scores(observed, run.reconstruction.values, mask) | {
            "best_epoch_psnr_paper": result.best_psnr}
        if stop == "holdout":
            run.metrics["holdout_psnr_paper"] = 10 * math.log10(1 / max(result.best_val_loss, 1e-30))
    if keep_observed:
        run.reconstruction = fill_missing(observed, mask, run.reconstruction.values)
    return run


def _heldout_mse(signal: Signal, held: np.ndarray):
    """validate(model): the MSE of the model on the held-out samples."""
    from .train import predict

    coords, target = signal.coords()[torch.from_numpy(held)], torch.from_numpy(signal.values[held])
    return lambda model: float((predict(model, coords) - target).square().mean())


def fill_missing(signal: Signal, mask: np.ndarray, estimate: np.ndarray) -> Signal:
    """``signal`` where observed, ``estimate`` where missing."""
    return signal.with_values(np.where(mask[:, None] > 0, signal.values, estimate.reshape(signal.values.shape)))


def observed_scores(signal: Signal, estimate: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Without a clean reference: how closely the fit follows the observed samples."""
    obs = mask > 0
    y, e = signal.values[obs].astype(np.float64), np.asarray(estimate, np.float64).reshape(signal.values.shape)[obs]
    return {"observed_psnr_paper": psnr_paper(y, e), "residual_std": float((e - y).std())}


# ------------------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class CorruptionSpec:
    """What :func:`evaluate` does to the clean signal: ``noise_std``, ``noise_snr`` (dB), ``missing``
    (a fraction) or ``gaps`` (``value`` gaps of ``length_ms``)."""

    kind: str
    value: float
    length_ms: float | None = None

    def apply(self, signal: Signal, seed: int) -> Corruption:
        if self.kind == "noise_std":
            return add_noise(signal, std=self.value, seed=seed)
        if self.kind == "noise_snr":
            return add_noise(signal, snr_db=self.value, seed=seed)
        if self.kind == "missing":
            return drop_samples(signal, self.value, seed=seed)
        if self.kind == "gaps":
            return drop_gaps(signal, int(self.value), self.length_ms, seed=seed)
        raise ValueError(f"unknown corruption {self.kind!r}")

    @property
    def removes_samples(self) -> bool:
        return self.kind in ("missing", "gaps")

    def label(self) -> str:
        if self.kind == "gaps":
            return f"{int(self.value)} gaps of {self.length_ms:g} ms"
        return {"noise_std": f"Gaussian noise σ = {self.value:g} (of the [-1, 1] range)",
                "noise_snr": f"Gaussian noise at SNR {self.value:g} dB",
                "missing": f"{self.value:.0%} of the samples missing at random"}[self.kind]


def parse_gaps(text: str) -> tuple[int, float]:
    """'20x10ms' -> (20, 10.0)."""
    m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+(?:\.\d*)?)\s*ms\s*", text)
    if not m:
        raise InputError(f"--gaps {text!r}: expected COUNTxLENGTHms, e.g. 20x10ms")
    return int(m.group(1)), float(m.group(2))


FLOOR = "corrupted input"


@dataclass
class Evaluation:
    """Scores of every restoration (and of the corrupted input, the floor) against the clean signal."""

    clean: Signal
    spec: CorruptionSpec
    stop: str
    seeds: list[int]
    fit: dict  # the first model's FitConfig: the shared schedule (each model's own is in ``models``)
    scores: dict[str, list[dict]] = field(default_factory=dict)  # row -> per seed: metrics and run facts
    corruptions: list[dict] = field(default_factory=list)  # per seed: requested and measured levels
    models: dict[str, dict] = field(default_factory=dict)  # model -> its record (shape, parameters, WINNER)
    example: dict[str, np.ndarray] = field(default_factory=dict)  # first seed: "corrupted", "mask", each model

    def columns(self) -> list[str]:
        return TABLE_METRICS.get(self.clean.kind, ["psnr_paper"]) + (
            ["filled_psnr_paper"] if self.spec.removes_samples else [])

    def summary(self) -> dict[str, dict[str, dict]]:
        """row -> numeric field -> :func:`~siren2.compare.summarize` over seeds (mean, std ddof 1, values)."""
        return {row: {k: summarize([r[k] for r in per_seed]) for k, v in per_seed[0].items()
                      if isinstance(v, (int, float))} for row, per_seed in self.scores.items()}

    def stop_text(self) -> str:
        f = self.fit
        if self.stop == "fixed":
            return (f"fixed budget of {f['epochs']} epochs; the state with the lowest training loss on the "
                    f"observed samples is returned (the paper's protocol)")
        rec = next(r for row, rs in self.scores.items() if row != FLOOR for r in rs)
        return (f"hold-out: {rec['holdout_fraction']:.0%} of the observed samples left out of training; stop after "
                f"{rec['patience']} epochs without improvement of their MSE (at most {f['epochs']} epochs) and "
                f"return the state with the lowest held-out MSE")

    def table(self) -> str:
        """A markdown table, mean ± sample std over seeds, with the protocol and conventions stated."""
        c, f, summary = self.clean, self.fit, self.summary()
        where = (f"{c.num_points} samples at {c.sample_rate} Hz" if c.kind == "audio"
                 else "x".join(map(str, c.grid)) + " " + c.kind)
        lines = [
            f"**{Path(c.source or 'signal').name}** ({where}), {self.spec.label()}; seeds "
            f"{', '.join(map(str, self.seeds))} (each seed draws the corruption and the initialization). "
            f"Values: {STD_NOTE}.", "",
            f"Budget: Adam lr {f['lr']:g}, StepLR({f['lr_step']}, {f['lr_gamma']:g}); "
            f"stopping rule: {self.stop_text()}.", "",
            "PSNR convention: `psnr_paper` = 10·log10(1/MSE) in dB on [-1, 1] data against the clean signal (the "
            "paper's PSNR), of the returned state (not a maximum over epochs, which would need the clean signal). "
            + "; ".join(f"`{k}`: {CONVENTIONS[k]}" for k in self.columns()[1:]) + ".", "",
        ]
        cols = self.columns()
        lines += ["| input | parameters | " + " | ".join(cols) + " | epochs run | s per fit |",
                  "|---" * (len(cols) + 4) + "|"]
        for row, stats in summary.items():
            rec = self.models.get(row)
            cells = [format_stat(k, stats[k]) for k in cols]
            epochs = format_stat("seconds", stats["epochs_run"]) if "epochs_run" in stats else "–"
            secs = format_stat("seconds", stats["seconds"]) if "seconds" in stats else "–"
            params = f"{rec['parameters']:,}" if rec and "parameters" in rec else "–"
            lines.append(f"| {row} | {params} | " + " | ".join(cells) + f" | {epochs} | {secs} |")
        shapes = "; ".join(_model_text(m, r) for m, r in self.models.items())
        lines += ["", f"Models: {shapes}."]
        if self.spec.removes_samples:
            lines += ["", "The corrupted input's missing samples read 0."]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict:
        return {"clean": self.clean.describe(), "corruption": asdict(self.spec) | {"label": self.spec.label()},
                "stop": self.stop, "stop_rule": self.stop_text(), "seeds": self.seeds, "fit": self.fit,
                "models": self.models, "corruptions": self.corruptions, "scores": self.scores,
                "summary": self.summary(), "conventions": {k: CONVENTIONS[k] for k in self.columns()}}


def _model_text(name: str, record: dict) -> str:
    """'siren2: 4 hidden x 222, full batch, ψ 0.631, s0 3458.0, s1 1.893 (first seed)'."""
    if "classical" in record:
        return f"{name}: {record['classical']}"
    c, batch, w = record["config"], record["fit"]["batch_size"], record.get("winner") or {}
    text = f"{name}: {c['hidden_layers']} hidden x {c['width']}, "
    text += f"{batch} points per step" if batch else "full batch"
    if w.get("psi") is not None:
        text += f", ψ {w['psi']:.3f}, s0 {w['s0']:.1f}, s1 {w['s1']:.3f} (first seed)"
    return text


def evaluate(clean: Signal, spec: CorruptionSpec, models: list[str], seeds: list[int], *, stop: str = "fixed",
             preset: str | None = None, recipe: str = DEFAULT_RECIPE, fit_options: dict | None = None,
             model_options: dict | None = None, holdout: float = HOLDOUT_FRACTION,
             baselines: list[str] = (), on_run=None) -> Evaluation:
    """Corrupt ``clean`` with each seed, restore it with each model (same seed) and each classical
    baseline (:mod:`siren2.classical`), and score all against it.

    Each model trains on ``recipe`` over the preset with its own defaults, then ``fit_options``
    (FitConfig fields, e.g. epochs). ``on_run(model, seed, run)`` is called after each restoration.
    """
    from .classical import BASELINES, run_baseline
    from .train import FitConfig

    configs = {name: FitConfig.resolve(preset, recipe, clean.in_dim, model=name,
                                       width=(model_options or {}).get("width"), **(fit_options or {}))
               for name in models}
    ev = Evaluation(clean, spec, stop, list(seeds), asdict(configs[models[0]]))
    for seed in seeds:
        c = spec.apply(clean, seed)
        ev.corruptions.append(c.info)
        ev.scores.setdefault(FLOOR, []).append(metrics(clean, c.signal.values) | _filled(ev, c, c.signal.values))
        first = not ev.example
        if first:
            ev.example = {"corrupted": c.signal.values, "mask": c.mask}
        for name in models:
            run = restore(c.signal, c.mask, name, stop=stop, fit_config=replace(configs[name], seed=seed),
                          holdout=holdout, preset=preset, model_options=model_options, clean=clean)
            scores = {k: v for k, v in run.metrics.items() if k != "best_epoch_psnr_paper"}
            ev.scores.setdefault(name, []).append(scores | _filled(ev, c, run.reconstruction.values)
                                                  | run.config["restoration"] | {"seconds": run.result.seconds})
            if first:
                ev.example[name] = run.reconstruction.values
                ev.models[name] = run.config["model"] | {"fit": run.config["fit"]}
            if on_run is not None:
                on_run(name, seed, run)
        for name in baselines:
            start = time.perf_counter()
            estimate = run_baseline(name, c.signal, c.mask)
            ev.scores.setdefault(name, []).append(metrics(clean, estimate) | _filled(ev, c, estimate)
                                                  | {"seconds": time.perf_counter() - start})
            if first:
                ev.example[name] = estimate
                ev.models[name] = {"classical": BASELINES[name].description}
    return ev


def _filled(ev: Evaluation, c: Corruption, estimate: np.ndarray) -> dict:
    if not ev.spec.removes_samples:
        return {}
    return {"filled_psnr_paper": psnr_paper(ev.clean.values, fill_missing(c.signal, c.mask, estimate).values)}
