"""Evaluation: corrupt a clean signal, restore it with models and classical baselines over seeds,
and score everything (the corrupted input too, the floor) against the clean signal; the library
behind ``siren2 restore-eval``. Seeds run one after the other; Ctrl-C keeps the seeds that
finished, and [`finished_evaluation`][] reads them back so that ``evaluate(done=...)`` resumes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..compare import STD_NOTE, TABLE_METRICS, format_stat, summarize
from ..errors import InputError
from ..metrics import CONVENTIONS, metrics, psnr_paper
from ..records import RecordStore, fingerprint
from ..signal import Signal
from ..spec import given
from .corruptions import Corruption, CorruptionSpec
from .restorer import fill_missing, restore

__all__ = ["Evaluation", "evaluate", "evaluation_settings", "finished_evaluation", "records", "score_baseline", "FLOOR"]

FLOOR = "corrupted input"


@dataclass
class Evaluation:
    """Scores of every restoration (and of the corrupted input, the floor) against the clean signal.

    Attributes
    ----------
    clean
        The clean signal.
    spec
        The corruption.
    stop
        The stopping rule (``holdout`` or ``fixed``).
    seeds
        The seeds finished (every model and baseline), in order.
    fit
        The first model's FitConfig, as a dict: the shared schedule (each model's own is in ``models``).
    scores
        Row (a model, a baseline, or `FLOOR`) → per seed: metrics and run facts.
    corruptions
        Per seed: the levels requested and measured.
    models
        Model → its record (shape, parameters, WINNER; a baseline's description).
    example
        The first seed's arrays: "corrupted", "mask", and each row's output.
    settings
        What makes two evaluations the same one (for resuming; [`evaluation_settings`][]).
    interrupted
        Whether Ctrl-C cut it short.
    """

    clean: Signal
    spec: CorruptionSpec
    stop: str
    seeds: list[int]  # the seeds finished (every model and baseline), in order
    fit: dict  # the first model's FitConfig: the shared schedule (each model's own is in ``models``)
    scores: dict[str, list[dict]] = field(default_factory=dict)  # row -> per seed: metrics and run facts
    corruptions: list[dict] = field(default_factory=list)  # per seed: requested and measured levels
    models: dict[str, dict] = field(default_factory=dict)  # model -> its record (shape, parameters, WINNER)
    example: dict[str, np.ndarray] = field(default_factory=dict)  # first seed: "corrupted", "mask", each model
    settings: dict = field(default_factory=dict)  # what makes two evaluations the same one (for resuming)
    interrupted: bool = False

    def columns(self) -> list[str]:
        """The table's metrics: the signal kind's, and filled_psnr_paper where samples are missing."""
        return TABLE_METRICS.get(self.clean.kind, ["psnr_paper"]) + (
            ["filled_psnr_paper"] if self.spec.removes_samples else [])

    def summary(self) -> dict[str, dict[str, dict]]:
        """Each row's numeric fields summarized over seeds.

        Returns
        -------
        dict
            Row → field → [`summarize`][] (mean, std ddof 1, values).
        """
        return {row: {k: summarize([r[k] for r in per_seed]) for k, v in per_seed[0].items()
                      if isinstance(v, (int, float))} for row, per_seed in self.scores.items()}

    def stop_text(self) -> str:
        """The stopping rule in words, for the table."""
        f = self.fit
        if self.stop == "fixed":
            return (f"fixed budget of {f['epochs']} epochs; the state with the lowest training loss on the "
                    f"observed samples is returned (the paper's protocol)")
        rec = next(r for row, rs in self.scores.items() if row != FLOOR for r in rs)
        return (f"hold-out: {rec['holdout_fraction']:.0%} of the observed samples left out of training; stop after "
                f"{rec['patience']} epochs without improvement of their MSE (at most {f['epochs']} epochs) and "
                f"return the state with the lowest held-out MSE")

    def table(self) -> str:
        """A markdown table, mean ± sample std over seeds, with the protocol and conventions stated.

        Returns
        -------
        str
        """
        c, f, summary = self.clean, self.fit, self.summary()
        where = (f"{c.num_points} samples at {c.sample_rate} Hz" if c.kind == "audio"
                 else "x".join(map(str, c.grid)) + " " + c.kind)
        lines = [
            f"**{Path(c.source or 'signal').name}** ({where}), {self.spec.label()}; seeds "
            f"{', '.join(map(str, self.seeds))} (each seed draws the corruption and the initialization). "
            f"Values: {STD_NOTE}.", "",
            f"Budget: recipe `{f.get('recipe', 'paper')}`, " + (
                f"Adam peak lr {f['lr']:g}, {f['warmup']:.0%} warm-up, cosine decay" if f.get("schedule") == "cosine"
                else f"Adam lr {f['lr']:g}, StepLR({f['lr_step']}, {f['lr_gamma']:g})") + " (the first model's); "
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
        if self.interrupted:
            planned = self.settings.get("seeds", self.seeds)
            lines += ["", f"Interrupted: {len(self.seeds)} of {len(planned)} seeds finished; the table shows those "
                      "(`--resume` runs the rest)."]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict:
        """The evaluation as plain data (restore-eval's results.json), the summary and conventions included.

        Returns
        -------
        dict
        """
        return {"clean": self.clean.describe(), "corruption": asdict(self.spec) | {"label": self.spec.label()},
                "stop": self.stop, "stop_rule": self.stop_text(), "seeds": self.seeds, "fit": self.fit,
                "models": self.models, "corruptions": self.corruptions, "scores": self.scores,
                "summary": self.summary(), "conventions": {k: CONVENTIONS[k] for k in self.columns()},
                "settings": self.settings, "interrupted": self.interrupted}


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


def evaluation_settings(clean: Signal, spec: CorruptionSpec, models: list[str], seeds: list[int],
                        baselines: list[str] = (), options: dict | None = None) -> dict:
    """What makes two evaluations the same one (a resumed evaluation must match it).

    Parameters
    ----------
    clean
        The clean signal.
    spec
        The corruption.
    models
        The models.
    seeds
        The seeds.
    baselines
        The classical baselines.
    options
        Every option as given.

    Returns
    -------
    dict
    """
    return {"clean": clean.describe(), "corruption": asdict(spec), "models": list(models),
            "baselines": list(baselines), "seeds": list(seeds),
            "options": {k: list(v) if isinstance(v, tuple) else v for k, v in given(options).items()}}


def evaluate(clean: Signal, spec: CorruptionSpec, models: list[str], seeds: list[int], *,
             baselines: list[str] = (), done: Evaluation | None = None, on_run=None, progress: bool = False,
             **options) -> Evaluation:
    """Corrupt ``clean`` with each seed, restore it with each model (same seed) and each classical
    baseline ([`siren2.restoration.classical`][]), and score all against it.

    Parameters
    ----------
    clean : Signal
        The clean signal.
    spec : CorruptionSpec
        The damage, drawn anew by each seed.
    models : list of str
        Registered models, each restored with [`restore`][] under ``options``
        (its defaults, the commands'; one fit of the whole signal, no windows; the output is the fit,
        or its shrinkage towards the input, not the input's observed samples filled in).
    seeds : list of int
        Each draws the corruption and the initialization.
    baselines : list of str
        Classical tools scored beside the models.
    done : Evaluation, optional
        The seeds an interrupted evaluation finished ([`finished_evaluation`][]): kept, not rerun.
    on_run : callable, optional
        ``on_run(model, seed, run)`` after each restoration.
    progress : bool
        Show each fit's progress bar.
    **options
        Restoration settings and run options, as [`restore`][] takes them.

    Returns
    -------
    Evaluation
        Ctrl-C returns the finished seeds (``interrupted`` set), or, before the first one, raises
        KeyboardInterrupt.
    """
    options = given(options)
    settings = evaluation_settings(clean, spec, models, seeds, baselines, options)
    ev = done or Evaluation(clean, spec, options.get("stop", "holdout"), [], {})  # fit: the first model's run
    ev.settings, ev.interrupted = settings, False
    try:
        for seed in seeds:
            if seed not in ev.seeds:
                _evaluate_seed(ev, seed, models, baselines, options, on_run, progress)
    except KeyboardInterrupt:
        if not ev.seeds:
            raise
        ev.interrupted = True
    return ev


def _evaluate_seed(ev: Evaluation, seed: int, model_names: list[str], baselines, options: dict, on_run,
                   progress: bool = False) -> None:
    """One seed: corrupt, restore with every model and baseline; ``ev`` changes only once all finished."""
    from .classical import BASELINES

    clean, scores, models, example = ev.clean, {}, {}, {}
    c = ev.spec.apply(clean, seed)
    scores[FLOOR] = metrics(clean, c.signal.values) | _filled(clean, ev.spec, c, c.signal.values)
    first = not ev.example
    if first:
        example = {"corrupted": c.signal.values, "mask": c.mask}
    for name in model_names:
        run = restore(c.signal, c.mask, name, clean=clean, progress=progress,
                      **{"keep_observed": False, "window": 0} | options | {"seed": seed})
        if run.result.interrupted:  # Ctrl-C inside the fit: this seed is incomplete
            raise KeyboardInterrupt
        kept = {k: v for k, v in run.metrics.items() if k != "best_epoch_psnr_paper"}
        scores[name] = (kept | _filled(clean, ev.spec, c, run.reconstruction.values) | run.config["restoration"]
                        | {"seconds": run.result.seconds})
        if first:
            example[name] = run.reconstruction.values
            models[name] = run.config["model"] | {"fit": asdict(run.spec.fit)}
            ev.fit = ev.fit or asdict(run.spec.fit)
        if on_run is not None:
            on_run(name, seed, run)
    for name in baselines:
        estimate, scores[name] = score_baseline(clean, ev.spec, c, name)
        if first:
            example[name] = estimate
            models[name] = {"classical": BASELINES[name].description}
    for row, rec in scores.items():
        ev.scores.setdefault(row, []).append(rec)
    ev.corruptions.append(c.info)
    ev.models |= models
    ev.example |= example
    ev.seeds.append(seed)


def finished_evaluation(folder, clean: Signal, spec: CorruptionSpec, settings: dict) -> Evaluation:
    """The seeds an evaluation written to ``folder`` finished, if it ran with ``settings``.

    Parameters
    ----------
    folder : str or os.PathLike
        The evaluation's output folder: its records.jsonl (one record per seed) and example.npz.
    clean
        The clean signal.
    spec
        The corruption.
    settings
        [`evaluation_settings`][] of the evaluation to resume.

    Returns
    -------
    Evaluation

    Raises
    ------
    InputError
        If the folder holds no example.npz or no finished seed, or its records were made with other
        settings (the message names what differs).
    """
    folder = Path(folder)
    store = RecordStore(folder / "records.jsonl")
    try:
        with np.load(folder / "example.npz", allow_pickle=False) as z:
            example = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise InputError(f"{folder}: not the output of 'siren2 restore-eval' to resume ({type(e).__name__})") from None
    kept = store.resume(settings, "an evaluation")
    if not kept:
        raise InputError(f"{folder}: not the output of 'siren2 restore-eval' to resume (no finished seed)")
    ev = Evaluation(clean, spec, kept[0]["stop"], [], kept[0]["fit"], models=kept[0]["models"], example=example,
                    settings=settings)
    for rec in kept:
        ev.seeds.append(rec["seed"])
        ev.corruptions.append(rec["corruption"])
        for row, scores in rec["scores"].items():
            ev.scores.setdefault(row, []).append(scores)
    return ev


def records(ev: Evaluation) -> list[dict]:
    """One record per finished seed, for the evaluation's record store (what a resumed run keeps).

    Parameters
    ----------
    ev
        The evaluation.

    Returns
    -------
    list of dict
        Keyed ``"seed<seed>"``, under the fingerprint of ``ev.settings``.
    """
    fp = fingerprint(ev.settings)
    return [{"key": f"seed{seed}", "fingerprint": fp, "settings": ev.settings, "seed": seed, "stop": ev.stop,
             "fit": ev.fit, "models": ev.models, "corruption": ev.corruptions[i],
             "scores": {row: per_seed[i] for row, per_seed in ev.scores.items()}} for i, seed in enumerate(ev.seeds)]


def score_baseline(clean: Signal, spec: CorruptionSpec, c: Corruption, name: str) -> tuple[np.ndarray, dict]:
    """Classical baseline ``name``'s estimate from the corruption ``c`` of ``clean``, and its scores.

    Parameters
    ----------
    clean
        The clean signal.
    spec
        The corruption's spec.
    c
        The corruption.
    name
        A key of `siren2.restoration.classical.BASELINES`.

    Returns
    -------
    estimate : ndarray
        (N, C).
    scores : dict
        Its metrics against ``clean`` (and filled_psnr_paper where samples are missing), its seconds.
    """
    from .classical import run_baseline

    start = time.perf_counter()
    estimate = run_baseline(name, c.signal, c.mask)
    return estimate, metrics(clean, estimate) | _filled(clean, spec, c, estimate) | {
        "seconds": time.perf_counter() - start}


def _filled(clean: Signal, spec: CorruptionSpec, c: Corruption, estimate: np.ndarray) -> dict:
    if not spec.removes_samples:
        return {}
    return {"filled_psnr_paper": psnr_paper(clean.values, fill_missing(c.signal, c.mask, estimate).values)}
