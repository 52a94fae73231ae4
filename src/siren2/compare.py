"""Several models × seeds on one signal with one budget: the library behind ``siren2 compare``.

[`compare`][] fits every model for every seed (seed-major: all models on the first seed, then
the next, so an interrupted run still holds comparable fits) with each model's own training
defaults ([`siren2.recipes.model_fit`][]) and the same number of epochs, and returns a
[`Comparison`][]; [`write_comparison`][] writes its table, curves, reconstructions and
figures into a [`RunFolder`][siren2.runs.RunFolder], each fit's run folder under ``fits/``. Ctrl-C
stops the loop: every finished fit is kept, the fit in progress is dropped (its budget differs
from the others'); [`finished_fits`][] reads the fits back, so that ``compare(done=...)``
resumes an interrupted comparison.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .errors import InputError
from .io import save_signal
from .io.files import write_json, write_text
from .metrics import CONVENTIONS
from .models import list_models
from .records import RecordStore, fingerprint
from .runs import Run, load_run, run_batch, write_run
from .signal import Signal
from .spec import given, resolve
from .train import FitConfig

__all__ = ["Comparison", "compare", "write_comparison", "finished_fits", "comparison_settings", "check_models",
           "check_seeds", "summarize", "format_stat", "records", "TABLE_METRICS", "STD_NOTE"]

# The standard metrics of each modality, beside the paper's psnr_paper.
TABLE_METRICS = {"audio": ["psnr_paper", "snr", "lsd"], "image": ["psnr_paper", "psnr", "ssim"]}
STD_NOTE = ("mean ± sample standard deviation (ddof=1) over the seeds of each model; "
            "with a single seed there is no std (null in JSON)")
_UNITS = {"psnr_paper": " (dB)", "psnr": " (dB)", "snr": " (dB)", "lsd": " (dB)"}


def check_models(models: list[str]) -> list[str]:
    """``models``, checked: every name registered, none repeated.

    Parameters
    ----------
    models
        Model names.

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        If the list is empty, names an unknown model, or repeats one.
    """
    known = list_models()
    if not models:
        raise InputError("--models: give at least one model name")
    unknown = [m for m in models if m not in known]
    if unknown:
        raise InputError(f"--models: unknown model {unknown[0]!r}; choose from {', '.join(known)}")
    if len(set(models)) != len(models):
        raise InputError(f"--models: a model is listed twice ({', '.join(models)})")
    return list(models)


def check_seeds(seeds: list[int]) -> list[int]:
    """``seeds``, checked: at least one, none repeated.

    Parameters
    ----------
    seeds
        Seeds.

    Returns
    -------
    list of int

    Raises
    ------
    InputError
        If the list is empty or repeats a seed.
    """
    if not seeds:
        raise InputError("--seeds: give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise InputError(f"--seeds: a seed is listed twice ({', '.join(map(str, seeds))})")
    return list(seeds)


def summarize(values: list[float]) -> dict:
    """The mean, sample std and values of ``values``.

    Parameters
    ----------
    values
        One number per seed.

    Returns
    -------
    dict
        ``mean``, ``std`` (ddof=1; None for one value) and ``values``.
    """
    values = [float(v) for v in values]
    std = statistics.stdev(values) if len(values) >= 2 else None
    return {"mean": statistics.fmean(values), "std": std, "values": values}


@dataclass
class Comparison:
    """The finished fits of a comparison, keyed by (model, seed), and what was planned.

    Attributes
    ----------
    signal
        The target.
    models
        The models planned.
    seeds
        The seeds planned.
    epochs
        The epochs of every fit.
    preset
        The preset.
    recipe
        The training recipe.
    runs
        (model, seed) → the finished fit's [`Run`][].
    settings
        What makes two comparisons the same (for resuming; [`comparison_settings`][]).
    interrupted
        Whether Ctrl-C cut it short.
    seconds
        Wall time of the whole comparison.
    """

    signal: Signal
    models: list[str]
    seeds: list[int]
    epochs: int
    preset: str
    recipe: str
    runs: dict[tuple[str, int], Run] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)  # what makes two comparisons the same (for resuming)
    interrupted: bool = False
    seconds: float = 0.0  # wall time of the whole comparison

    @property
    def planned(self) -> int:
        """The number of fits planned: models × seeds."""
        return len(self.models) * len(self.seeds)

    def runs_of(self, model: str) -> list[tuple[int, Run]]:
        """``model``'s finished fits, in seed order.

        Parameters
        ----------
        model
            A model of the comparison.

        Returns
        -------
        list of (int, Run)
            (seed, run).
        """
        return [(s, self.runs[(model, s)]) for s in self.seeds if (model, s) in self.runs]

    def finished_models(self) -> list[str]:
        """The models with at least one finished fit, in planned order."""
        return [m for m in self.models if self.runs_of(m)]

    def metric_names(self) -> list[str]:
        """The table's metrics for the signal's kind (`TABLE_METRICS`; else psnr_paper and mse)."""
        return TABLE_METRICS.get(self.signal.kind, ["psnr_paper", "mse"])

    def table(self) -> dict:
        """The comparison table as plain data (what table.json holds).

        Returns
        -------
        dict
            The signal, the settings, per model a row (each metric's [`summarize`][] over seeds, its
            parameters, batch size, steps per epoch, lr, seconds), and every fit.
        """
        n = self.signal.num_points
        rows = []
        for model in self.finished_models():
            fits = self.runs_of(model)
            first = fits[0][1]
            batch = first.spec.fit.batch_size
            batch = batch if batch and batch < n else None
            rows.append({
                "model": model,
                "seeds": [s for s, _ in fits],
                "parameters": first.config["model"]["parameters"],
                "batch_size": batch,  # None: full batch
                "steps_per_epoch": 1 if batch is None else math.ceil(n / batch),
                "lr": first.spec.fit.lr,
                **{k: summarize([r.metrics[k] for _, r in fits]) for k in self.metric_names()},
                "seconds": summarize([r.result.seconds for _, r in fits]),
            })
        return {
            "siren2_version": __version__,
            "signal": self.signal.describe() | {"points": n},
            "preset": self.preset,
            "recipe": self.recipe,
            "epochs": self.epochs,
            "models": self.models,
            "seeds": self.seeds,
            "statistics": STD_NOTE,
            "conventions": {k: CONVENTIONS[k] for k in self.metric_names()}
            | {"seconds": "training time of one fit (the fit loop only)"},
            "interrupted": self.interrupted,
            "finished": len(self.runs),
            "planned": self.planned,
            "rows": rows,
            "fits": [{"model": m, "seed": s, "metrics": r.metrics, "seconds": r.result.seconds,
                      "epochs_run": len(r.result.loss), "best_epoch": r.result.best_epoch}
                     for (m, s), r in self.runs.items()],
        }

    def markdown(self) -> str:
        """The table as markdown (table.md), with its conventions stated under it.

        Returns
        -------
        str
        """
        t = self.table()
        keys = self.metric_names()
        sig = t["signal"]
        src = sig.get("source") or "signal"
        lines = [f"# siren2 compare: {src}", "",
                 f"{sig['kind']}, {sig['points']:,} points × {sig['channels']} channel(s); preset {self.preset}; "
                 f"recipe {self.recipe}; "
                 f"{self.epochs} epochs per fit; seeds {', '.join(map(str, self.seeds))}.", "",
                 "| model | " + " | ".join(k + _UNITS.get(k, "") for k in keys)
                 + " | parameters | batch | seconds |",
                 "|---|" + "---:|" * (len(keys) + 3)]
        for row in t["rows"]:
            cells = [format_stat(k, row[k]) for k in keys]
            batch = "full" if row["batch_size"] is None else f"{row['batch_size']:,}"
            lines.append(f"| {row['model']} | " + " | ".join(cells)
                         + f" | {row['parameters']:,} | {batch} | {format_stat('seconds', row['seconds'])} |")
        lines += ["", f"Values: {STD_NOTE}.",
                  "Metrics are of the best state (lowest full-signal training loss) on the full signal:"]
        lines += [f"- {k}: {CONVENTIONS[k]}" for k in keys]
        lines += ["- parameters: trainable real parameters (a complex weight counts as two); "
                  "batch: points per step (full: one step per epoch); seconds: training time per fit"
                  + ("; a model whose seeds trained as one batched fit shows the batch's time for each"
                     if any(r.config["runtime"].get("batch") for r in self.runs.values()) else "")]
        if self.interrupted:
            lines += ["", f"Interrupted: {t['finished']} of {t['planned']} fits finished; the table shows those."]
        return "\n".join(lines) + "\n"


def format_stat(key: str, s: dict) -> str:
    """A [`summarize`][] cell as text: "mean ± std" (the mean alone for one value).

    Parameters
    ----------
    key
        The metric, which sets the digits (ssim 4, seconds 1, mse in scientific notation, else 2).
    s
        The cell.

    Returns
    -------
    str
    """
    digits = {"ssim": 4, "seconds": 1}.get(key, 2)
    f = (lambda v: f"{v:.3e}") if key == "mse" else (lambda v: f"{v:.{digits}f}")
    return f(s["mean"]) if s["std"] is None else f"{f(s['mean'])} ± {f(s['std'])}"


def comparison_settings(signal: Signal, models: list[str], seeds: list[int], epochs: int, preset: str, recipe: str,
                        options: dict | None = None, per_model: dict[str, dict] | None = None) -> dict:
    """What makes two comparisons the same one (a resumed comparison must match it).

    Parameters
    ----------
    signal
        The target ([`describe`][siren2.signal.Signal.describe]).
    models
        The models.
    seeds
        The seeds.
    epochs
        The epochs of every fit.
    preset
        The preset.
    recipe
        The training recipe.
    options
        The run options as given, less ``epochs``, ``preset``, ``recipe``, ``device`` and ``input``.
    per_model
        Each model's own options over them (its tuned knobs and rate, `compare --tune`).

    Returns
    -------
    dict
    """
    rest = {k: v for k, v in given(options).items() if k not in ("epochs", "preset", "recipe", "device", "input")}
    return {"models": list(models), "seeds": list(seeds), "epochs": epochs, "preset": preset, "recipe": recipe,
            "signal": signal.describe(), "options": rest} | ({"per_model": per_model} if per_model else {})


def compare(signal: Signal, models: list[str], seeds: list[int], *,
            done: dict[tuple[str, int], Run] | None = None, batch_seeds: bool = False,
            on_epoch: Callable[[str, int, int], None] | None = None,
            on_fit: Callable[[str, int, Run], None] | None = None, per_model: dict[str, dict] | None = None,
            **options) -> Comparison:
    """Fit each of ``models`` for each of ``seeds`` on ``signal`` with the same number of epochs.

    Parameters
    ----------
    signal : Signal
        The target.
    models : list of str
        Registered models, none twice.
    seeds : list of int
        Each model is fitted once per seed, seed-major (every model on the first seed, then the
        next, so an interrupted run still holds comparable fits).
    done : dict, optional
        (model, seed) → Run of fits finished earlier ([`finished_fits`][]): kept, not rerun.
    batch_seeds : bool
        Train a model's seeds as one batched fit ([`run_batch`][]; the same results
        to float rounding; each fit's seconds are then the batch's).
    on_epoch : callable, optional
        ``on_epoch(model, seed, epoch)`` after each epoch.
    on_fit : callable, optional
        ``on_fit(model, seed, run)`` after each fit.
    per_model : dict, optional
        model → its own options over ``options`` (``compare --tune``: the knobs and peak rate
        [`siren2.tuning.tune`][] found for it).
    **options
        The run's options for every model ([`siren2.spec.resolve`][]): ``preset``, ``recipe``,
        ``epochs`` (default: the recipe's, the same for every model), ``width``, ``hidden_layers``,
        ``target_psnr``, ``device``, ... Each model keeps its own training settings (batch size,
        peak lr) under the recipe.

    Returns
    -------
    Comparison
        Ctrl-C (KeyboardInterrupt, from anywhere in the loop) returns what finished, ``interrupted`` set.

    Raises
    ------
    InputError
        For an empty or repeating list of models or seeds, an unknown model, or ``epochs`` below 1.
    ValueError
        For an option that no part of the run takes ([`siren2.spec.resolve`][]).
    """
    models, seeds = check_models(models), check_seeds(seeds)
    options = given(options)
    if options.get("epochs") is not None and options["epochs"] < 1:
        raise InputError(f"--epochs {options['epochs']}: must be at least 1")
    base = resolve(signal, options | {"model": models[0]})
    epochs = options.get("epochs") or FitConfig.resolve(base.preset, base.recipe, signal.in_dim).epochs
    per_model = {m: dict(v) for m, v in (per_model or {}).items() if v}
    settings = comparison_settings(signal, models, seeds, epochs, base.preset, base.recipe, options, per_model)
    comp = Comparison(signal, models, seeds, epochs, base.preset, base.recipe, dict(done or {}), settings)
    # seed-major (every model once before any twice), or model-major with the seeds as one batch
    groups = ([(m, [s for s in seeds if (m, s) not in comp.runs]) for m in models] if batch_seeds
              else [(m, [s]) for s in seeds for m in models if (m, s) not in comp.runs])
    start = time.perf_counter()
    try:
        for model, group in groups:
            if not group:
                continue
            own = options | per_model.get(model, {})
            specs = [resolve(signal, own | {"model": model, "epochs": epochs, "seed": s}) for s in group]
            progress = None
            if on_epoch is not None:
                progress = lambda epoch, ks, model=model, group=group: [on_epoch(model, group[k], epoch) for k in ks]
            runs = run_batch(specs, [signal] * len(group), on_epoch=progress)
            for seed, run in zip(group, runs):
                if run.result.interrupted:  # Ctrl-C inside the fit: it is incomplete, drop it
                    raise KeyboardInterrupt
                comp.runs[(model, seed)] = run
                if on_fit is not None:
                    on_fit(model, seed, run)
    except KeyboardInterrupt:
        comp.interrupted = True
    comp.seconds = time.perf_counter() - start
    return comp


def write_comparison(folder, comp: Comparison) -> None:
    """Write a comparison into ``folder`` (inside a [`RunFolder`][siren2.runs.RunFolder]).

    table.md, table.json, config.json, records.jsonl (one record per fit, [`records`][]), each fit's
    run folder under fits/, psnr.png (curves of every model), one reconstruction per model (its first
    seed's), and spectrograms.png (audio) or fft_error.png (images).

    Parameters
    ----------
    folder : str or os.PathLike
        The folder.
    comp
        The comparison.

    Raises
    ------
    ValueError
        If no fit finished.
    """
    from . import plots

    if not comp.runs:
        raise ValueError("no finished fit to write")
    folder = Path(folder)
    sig = comp.signal
    write_text(folder / "table.md", comp.markdown())
    write_json(folder / "table.json", comp.table())
    write_json(folder / "config.json", {
        "siren2_version": __version__, "models": comp.models, "seeds": comp.seeds, "epochs": comp.epochs,
        "preset": comp.preset, "recipe": comp.recipe, "signal": sig.describe(), "interrupted": comp.interrupted,
        "finished": len(comp.runs), "planned": comp.planned, "wall_seconds": round(comp.seconds, 3),
        "settings": comp.settings,
    })
    RecordStore(folder / "records.jsonl").add(*records(comp))
    for (m, s), run in comp.runs.items():
        write_run(folder / "fits" / f"{m}__seed{s}", run, sig, figures=False)
    curves, bands, firsts = {}, {}, {}
    for model in comp.finished_models():
        fits = comp.runs_of(model)
        hist = np.array([r.result.psnr_history for _, r in fits])
        curves[model] = hist.mean(axis=0).tolist()
        if len(fits) > 1:
            bands[model] = (hist.min(axis=0).tolist(), hist.max(axis=0).tolist())
        firsts[model] = fits[0][1].reconstruction
    title = Path(sig.source).name if sig.source else "signal"
    if len(comp.seeds) > 1:
        title += f": mean over {len(comp.seeds)} seeds (band: min–max)"
    plots.psnr_curves(curves, folder / "psnr.png", title=title, bands=bands)
    suffix = {"audio": ".wav", "image": ".png"}.get(sig.kind, ".npy")
    for model, recon in firsts.items():
        save_signal(recon, folder / f"reconstruction_{model}{suffix}")
    if sig.kind == "audio":
        plots.audio_fit(sig.values[:, 0], {m: r.values[:, 0] for m, r in firsts.items()}, sig.sample_rate,
                        folder / "spectrograms.png")
    elif sig.kind == "image":
        h, w = sig.grid
        plots.image_fit(sig.values.reshape(h, w, -1), {m: r.values.reshape(h, w, -1) for m, r in firsts.items()},
                        folder / "fft_error.png")


def records(comp: Comparison) -> list[dict]:
    """One record per finished fit, for the comparison's record store (what a resumed run keeps).

    Parameters
    ----------
    comp
        The comparison.

    Returns
    -------
    list of dict
        Keyed ``"<model>/seed<seed>"``, under the fingerprint of ``comp.settings``.
    """
    fp = fingerprint(comp.settings)
    return [{"key": f"{m}/seed{s}", "fingerprint": fp, "settings": comp.settings, "model": m, "seed": s,
             "metrics": run.metrics, "epochs_run": run.result.epochs_run, "seconds": run.result.seconds}
            for (m, s), run in comp.runs.items()]


def finished_fits(folder, signal: Signal, settings: dict) -> dict[tuple[str, int], Run]:
    """The fits a comparison written to ``folder`` finished, each rebuilt from its run folder.

    Parameters
    ----------
    folder : str or os.PathLike
        The comparison's output folder (its records.jsonl, [`siren2.records`][]).
    signal
        The target, rendered again by each fit.
    settings
        `Comparison.settings` of the comparison to resume.

    Returns
    -------
    dict
        (model, seed) → Run.

    Raises
    ------
    InputError
        If ``folder`` holds no records.jsonl, or its records were made with other settings (the
        message names what differs).
    """
    folder = Path(folder)
    store = RecordStore(folder / "records.jsonl")
    if not store.path.is_file():
        raise InputError(f"{folder}: not the output of 'siren2 compare' to resume (no records.jsonl)")
    return {(r["model"], r["seed"]): load_run(folder / "fits" / f"{r['model']}__seed{r['seed']}", signal)
            for r in store.resume(settings, "a comparison")}
