"""One run, end to end, and its folder: build the model a [`RunSpec`][] describes, fit
it, score it, and write everything it produced through one writer.

* [`build`][] — the spec's model for a signal: the registry's network, then WINNER's scales (the
  rule's, or rule auto's search with its candidates raced by short fits);
* [`run`][] — build, [`fit`][], render and score: a [`Run`][]; [`run_batch`][]
  the same for K specs on one grid, as one batched fit where it can;
* [`RunFolder`][] and [`write_run`][] — the one way a run's outputs are written (fit, demo,
  fit-many, compare, restoration): reconstruction, metrics.json, config.json, weights, figures, all
  in a staging folder renamed into place when complete;
* [`load_model`][], [`load_run`][] — the one way back from a folder to a model and a run;
  [`render`][] re-synthesizes a fitted signal at any resolution.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from . import __version__
from .build import create_model
from .errors import InputError
from .io import MAX_POINTS, reconstruction_name, save_signal
from .io.files import json_text, write_json
from .metrics import CONVENTIONS, metrics, undefined
from .models import build_model, num_parameters
from .signal import VOLUME_META, Signal, grid_coords
from .spec import RunSpec, load_input, resolve
from .train import FitResult, batch_unsupported, fit, fit_batched, pick_device, predict
from .winner import WinnerScales

__all__ = ["Run", "RunFolder", "build", "run", "fit_file", "run_batch", "finish", "write_run", "metrics_record", "input_notes",
           "model_record", "save_model", "load_model", "load_run", "render", "RACE_FRACTION", "RESULT_FIELDS"]


@dataclass
class Run:
    """A finished run: what it produced, its scores, and its record.

    Attributes
    ----------
    name : str
        The model's name, or what produced the output (e.g. a classical tool).
    reconstruction : Signal
        The output on the signal's grid.
    metrics : dict
        Its scores ([`siren2.metrics.metrics`][]).
    config : dict
        config.json: the spec, the model built, the signal, the runtime (and e.g. a restoration's record).
    model : nn.Module, optional
        The network in its best state; None where there is no single network.
    result : FitResult, optional
        The training history; None where nothing was trained.
    spec : RunSpec, optional
        The settings the run resolved.
    arrays : dict
        Further arrays written beside the outputs as ``<name>.npy`` (e.g. an inpainting mask).
    """

    name: str
    reconstruction: Signal
    metrics: dict
    config: dict = field(default_factory=dict)
    model: nn.Module | None = None
    result: FitResult | None = None
    spec: RunSpec | None = None
    arrays: dict = field(default_factory=dict)


RACE_FRACTION = 0.025  # rule auto: each valley point's short fit, as a share of the fit's epochs


def build(spec: RunSpec, signal: Signal, mask: np.ndarray | None = None) -> nn.Module:
    """The model ``spec`` describes, built for ``signal`` under its seed on its device.

    WINNER's scales are resolved here: given, from ψ by the rule, or by rule auto, which races its
    valley's points ([`siren2.winner.auto_scales`][]) with the spec's recipe compressed to
    `RACE_FRACTION` of the epochs each, the lowest training loss winning. The race trains on
    ``mask``'s samples of the grid, the samples the valley read: a mesh's near-surface samples, all on
    the surface, make a short race favour the widest band, which rings between the samples
    (docs/studies/shape_valley.md).

    Parameters
    ----------
    spec
        The run's settings.
    signal
        The target.
    mask
        (N,) 1 where a grid point is observed; None: all.

    Returns
    -------
    nn.Module
        The initialized model (an [`INR`][siren2.models.layers.INR]), ``model.winner`` set.
    """
    shape = {k: v for k, v in spec.network.items() if k not in ("in_dim", "out_dim")}
    dims = dict(in_dim=spec.network["in_dim"], out_dim=spec.network["out_dim"])
    device = torch.device(spec.fit.device) if spec.fit.device else pick_device(None)
    winner = dict(spec.winner or {})
    race = None
    if spec.winner is not None:
        short = replace(spec.fit, epochs=max(2, int(spec.fit.epochs * RACE_FRACTION)), patience=None,
                        target_psnr=None, time_budget=None, progress=False)
        on_grid = replace(signal, off_grid=None)

        def race(s0: float, s1: float) -> float:
            candidate = create_model(spec.model, signal, **dims, seed=spec.fit.seed, device=device,
                                     **(winner | {"s0": s0, "s1": s1}), **shape)
            return fit(candidate, on_grid, short, mask=mask).best_loss

    return create_model(spec.model, signal, **dims, seed=spec.fit.seed, device=device, race=race, **winner, **shape)


def run(spec: RunSpec, signal: Signal, *, mask: np.ndarray | None = None, clean: Signal | None = None,
        validate: Callable[[nn.Module], float] | None = None, callbacks: list | None = None, prior=None,
        progress: bool = False) -> Run:
    """Build the model of ``spec`` for ``signal``, fit it, render it and score it.

    Parameters
    ----------
    spec : RunSpec
        The settings ([`siren2.spec.resolve`][]).
    signal : Signal
        The target (its observed samples where ``mask`` is 1).
    mask, validate, callbacks
        Passed to [`siren2.train.fit`][].
    prior : callable, optional
        Passed to [`siren2.train.fit`][].
    clean : Signal, optional
        Score against it instead of ``signal`` (restoration).
    progress : bool
        Show a progress bar.

    Returns
    -------
    Run
    """
    model = build(spec, signal, mask)
    result = fit(model, signal, replace(spec.fit, progress=progress), mask=mask, validate=validate,
                 callbacks=callbacks, prior=prior)
    return finish(spec, signal, result, clean=clean)


def fit_file(options: dict, out, *, force: bool = False, figures: bool = True, progress: bool = False,
             callbacks: list | None = None) -> Run:
    """``siren2 fit``: read ``options["input"]``, resolve the run, fit it and write its folder ``out``.

    The outputs appear all at once ([`RunFolder`][], [`write_run`][]).

    Parameters
    ----------
    options
        The run's options as given ([`siren2.spec.resolve`][]), ``input`` the file.
    out : str or os.PathLike
        The output folder.
    force
        Write into a folder that already holds files.
    figures
        Write the figures too (psnr.png, audio.png or image.png).
    progress
        Show a progress bar.
    callbacks : list of callable, optional
        Passed to [`siren2.train.fit`][] (e.g. [`siren2.tensorboard.TensorBoard`][]).

    Returns
    -------
    Run

    Raises
    ------
    InputError
        Before anything is written: the folder holds files (without ``force``), or the input is bad.
    """
    folder = RunFolder(out, force=force)
    signal = load_input(options)
    done = run(resolve(signal, options), signal, progress=progress, callbacks=callbacks)
    with folder as staging:
        write_run(staging, done, signal, figures=figures)
    return done


def run_batch(specs: list[RunSpec], signals: list[Signal], *,
              on_epoch: Callable[[int, list[int]], None] | None = None, progress: bool = False) -> list[Run]:
    """[`run`][] for K specs on K signals of one grid, as one batched fit where the settings allow it.

    The specs share one model and settings (e.g. K seeds). One batched fit
    ([`fit_batched`][]) where the settings allow it, else one fit after another;
    either way the K runs equal K [`run`][] calls to float rounding.

    Parameters
    ----------
    specs
        One per signal.
    signals
        On one grid.
    on_epoch
        ``on_epoch(epoch, ks)`` after each epoch of the models ``ks``.
    progress
        Show a progress bar.

    Returns
    -------
    list of Run
        After Ctrl-C the runs are marked interrupted (one after another: only those begun).

    Raises
    ------
    ValueError
        If the specs and signals do not pair up.
    """
    if len(specs) != len(signals):
        raise ValueError(f"run_batch needs one spec per signal, not {len(specs)} specs and {len(signals)} signals")
    models = [build(spec, sig) for spec, sig in zip(specs, signals)]
    config = replace(specs[0].fit, progress=progress)
    if len(signals) > 1 and batch_unsupported(config, signals[0].num_samples) is None:
        results = fit_batched(models, signals, config, on_epoch=on_epoch)
    else:
        results = []
        for k, (m, sig, spec) in enumerate(zip(models, signals, specs)):
            # fit() stops on a callback returning True: a progress hook never does
            hook = [lambda epoch, *_, k=k: on_epoch(epoch, [k]) and None] if on_epoch else None
            results.append(fit(m, sig, replace(spec.fit, progress=progress), callbacks=hook))
            if results[-1].interrupted:  # Ctrl-C: the fits so far, the last one cut short
                break
    return [finish(spec, sig, r, batch=len(signals) if r.engine == "batched" else None)
            for spec, sig, r in zip(specs, signals, results)]


def finish(spec: RunSpec, signal: Signal, result: FitResult, *, clean: Signal | None = None,
           batch: int | None = None) -> Run:
    """The [`Run`][] of a finished fit: the model rendered on the signal's grid, scored and described.

    Parameters
    ----------
    spec
        The run's settings.
    signal
        The target.
    result
        The fit; ``result.model`` holds its best state.
    clean
        Score against it instead of ``signal``.
    batch
        K, where the fit was one of K batched fits (recorded in the runtime).

    Returns
    -------
    Run
        Its config the full record for config.json: the spec, the model, the signal, the runtime.
    """
    model = result.model
    values = predict(model, signal.coords()).numpy()
    scores = metrics(clean or signal, values)
    scores["best_epoch_psnr_paper"] = result.best_psnr  # max over epochs of the training-loss PSNR
    config = {
        "siren2_version": __version__,
        "spec": spec.to_dict(),
        "model": model_record(model),
        "signal": signal.describe(),
        "runtime": result.record() | {
            "device": result.device,
            **({"gpu": torch.cuda.get_device_name(result.device)} if result.device.startswith("cuda") else {}),
            "engine": result.engine,
            **({"batch": batch} if batch else {}),  # K fits shared each step (and its clock)
            "seconds_per_epoch": round(result.seconds_per_epoch, 5),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    return Run(spec.model, signal.with_values(values), scores, config, model=model, result=result, spec=spec)


# -------------------------------------------------------------------------------- the run's files

class RunFolder:
    """A run's output folder, written all at once.

    Files go to a hidden staging folder beside ``path`` (``with RunFolder(path) as folder:`` gives
    its Path); on success the staging folder is renamed onto ``path`` (one atomic rename: a kill at
    any moment leaves all of the run or none of it), or, over a folder that holds files (``force``),
    its files are moved in one by one; on failure the staging folder is removed.

    Parameters
    ----------
    path : str or os.PathLike
        The output folder.
    force
        Write into a folder that already holds files.

    Raises
    ------
    InputError
        At once, before any work: ``path`` is not a folder, or already holds files (without ``force``).
    """

    def __init__(self, path, force: bool = False) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path}: exists and is not a folder")
        if self.path.is_dir() and any(self.path.iterdir()) and not force:
            raise InputError(f"{self.path}: output folder already holds results (use --force to overwrite)")
        self.staging: Path | None = None

    def __enter__(self) -> Path:
        parent = self.path.parent
        parent.mkdir(parents=True, exist_ok=True)
        self.staging = parent / f".{self.path.name}.tmp-{os.urandom(6).hex()}"
        self.staging.mkdir()  # the umask's permissions, as the folder it becomes
        return self.staging

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                if self.path.is_dir() and any(self.path.iterdir()):
                    for f in sorted(self.staging.iterdir()):
                        if f.is_dir() and (self.path / f.name).is_dir():  # a subfolder (fits/) is replaced whole
                            shutil.rmtree(self.path / f.name)
                        os.replace(f, self.path / f.name)
                else:
                    os.replace(self.staging, self.path)  # a new or empty folder: all at once
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)


RESULT_FIELDS = ("loss", "best_loss", "best_epoch", "seconds", "stopped_by", "guard_events", "val_loss",
                 "best_val_loss", "seconds_at", "lr", "device", "engine")


def input_notes(signal: Signal) -> list[str]:
    """What a reader of the outputs should know about the input: an audio file cut to its first samples.

    Parameters
    ----------
    signal
        The input.

    Returns
    -------
    list of str
        Empty for anything but cut audio.
    """
    total = signal.meta.get("file_samples")
    if signal.kind != "audio" or not total:
        return []
    n, rate = signal.num_points, signal.sample_rate
    return [f"fitted the first {n:,} of the file's {total:,} samples ({n / rate:.2f} of {total / rate:.2f} s); "
            "--max-samples 0 fits them all"]


def metrics_record(run: Run, target: Signal | None = None) -> dict:
    """metrics.json: the scores with their conventions, notes on the input, and how a trained run went.

    Parameters
    ----------
    run
        The run.
    target
        The input (for its notes); default: ``run.reconstruction``.

    Returns
    -------
    dict
        ``metrics`` (an undefined one as null), ``conventions``, ``undefined`` (the reasons), ``notes``;
        for a trained run also how it ended and its history.
    """
    rec = {"metrics": run.metrics, "conventions": {k: v for k, v in CONVENTIONS.items() if k in run.metrics}}
    if why := undefined(run.metrics):
        rec["undefined"] = why
    if notes := input_notes(target if target is not None else run.reconstruction):
        rec["notes"] = notes
    if run.result is not None:
        rec |= run.result.record() | {"psnr_paper_per_epoch": run.result.psnr_history,
                                      "history": {k: getattr(run.result, k) for k in RESULT_FIELDS}}
    return rec


def write_run(folder, run: Run, target: Signal | None = None, figures: bool = True) -> Path:
    """Write everything a run promises into ``folder`` (made if needed; inside a [`RunFolder`][]).

    The reconstruction, metrics.json ([`metrics_record`][]), config.json, the weights
    (model.safetensors) where there is one network, ``run.arrays`` as .npy, and the figures.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder.
    run
        The run.
    target
        The input, drawn against the reconstruction; default: ``run.reconstruction``.
    figures
        Write psnr.png (a trained run) and audio.png or image.png against ``target``.

    Returns
    -------
    Path
        ``folder``.
    """
    from . import plots

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = target if target is not None else run.reconstruction
    save_signal(run.reconstruction, folder / reconstruction_name(target.kind))
    write_json(folder / "metrics.json", metrics_record(run, target))
    write_json(folder / "config.json", run.config)
    if run.model is not None:
        save_model(run.model, folder / "model.safetensors")
    for name, array in run.arrays.items():
        np.save(folder / f"{name}.npy", array)
    if not figures:
        return folder
    if run.result is not None:
        plots.psnr_curves({run.name: run.result.psnr_history}, folder / "psnr.png", title=target.source or "")
    if target.kind == "audio":
        plots.audio_fit(target.values[:, 0], {run.name: run.reconstruction.values[:, 0]}, target.sample_rate,
                        folder / "audio.png")
    elif target.kind == "image":
        h, w = target.grid
        plots.image_fit(target.values.reshape(h, w, -1), {run.name: run.reconstruction.values.reshape(h, w, -1)},
                        folder / "image.png")
    return folder


def model_record(model) -> dict:
    """What rebuilds ``model`` (registry name, config, WINNER's scales) and its size.

    Parameters
    ----------
    model : INR
        A model built by the registry.

    Returns
    -------
    dict
        ``name``, ``config``, ``winner``, ``parameters``.
    """
    return {
        "name": model.name,
        "config": asdict(model.config),
        "winner": model.winner.asdict() if model.winner is not None else None,
        "parameters": num_parameters(model),
    }


def save_model(model, path) -> Path:
    """Save the model's state as safetensors (no pickle), its [`model_record`][] in the metadata.

    Parameters
    ----------
    model : INR
        A model built by the registry.
    path : str or os.PathLike
        The file.

    Returns
    -------
    Path
        ``path``.
    """
    from safetensors.torch import save_file

    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"model": json_text(model_record(model), indent=None)})
    return path


def load_model(run_dir) -> tuple[nn.Module, dict]:
    """The model of a run folder (config.json and model.safetensors) and its config; no pickle.

    Parameters
    ----------
    run_dir : str or os.PathLike
        The run folder.

    Returns
    -------
    model : nn.Module
        The model, its weights loaded, ``model.winner`` restored.
    config : dict
        config.json.

    Raises
    ------
    InputError
        If a file is missing, the config is not a siren2 run's, or the weights cannot be loaded.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    run_dir = Path(run_dir)
    cfg_path, weights = run_dir / "config.json", run_dir / "model.safetensors"
    for p in (cfg_path, weights):
        if not p.is_file():
            raise InputError(f"{p}: missing (expected the output folder of 'siren2 fit')")
    try:
        config = json.loads(cfg_path.read_text())
        rec = config["model"]
        model = build_model(rec["name"], **rec["config"])
        w = rec.get("winner")
        model.winner = None if not w else WinnerScales(w.get("psi"), w["s0"], w["s1"], w.get("rule"),
                                                       w.get("centroid", "flattened"))
        model.load_state_dict(load_file(str(weights)))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise InputError(f"{cfg_path}: not a valid siren2 run config ({e})") from None
    except (SafetensorError, RuntimeError, OSError) as e:
        raise InputError(f"{weights}: cannot load model ({str(e).splitlines()[0]})") from None
    return model, config


def load_run(folder, signal: Signal) -> Run:
    """The [`Run`][] a folder holds (written by [`write_run`][]), rendered again from its weights.

    Parameters
    ----------
    folder : str or os.PathLike
        The run folder.
    signal
        The signal it was fitted to; its reconstruction is rendered on its grid.

    Returns
    -------
    Run

    Raises
    ------
    InputError
        If the folder's files cannot be read back.
    """
    folder = Path(folder)
    model, config = load_model(folder)
    try:
        rec = json.loads((folder / "metrics.json").read_text())
        result = FitResult(model=model, **{k: rec["history"][k] for k in RESULT_FIELDS})
        spec = RunSpec.from_dict(config["spec"]) if "spec" in config else None
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise InputError(f"{folder}: cannot read this run back ({str(e).splitlines()[0]})") from None
    values = predict(model, signal.coords()).numpy()
    return Run(config["model"]["name"], signal.with_values(values), rec["metrics"], config, model=model,
               result=result, spec=spec)


def render(run_dir, *, sample_rate: int | None = None, size: tuple[int, ...] | None = None,
           device: str | None = None, max_points: int = MAX_POINTS) -> Signal:
    """Re-synthesize a fitted signal from its saved model at any resolution (the INR is continuous).

    Parameters
    ----------
    run_dir : str or os.PathLike
        The run folder ([`load_model`][]).
    sample_rate
        Audio: the output's rate; None: the fit's.
    size
        An image's (H, W) or a volume's (D, H, W); None: the fit's grid.
    device
        Where to render ([`pick_device`][]).
    max_points
        Refuse more output samples, pixels or voxels than this.

    Returns
    -------
    Signal
        ``meta["render_seconds"]``: the rendering's time.

    Raises
    ------
    InputError
        If the folder is not a run's, ``size`` has the wrong length, or the output exceeds
        ``max_points``.
    """
    if max_points < 1:
        raise InputError(f"--max-points must be at least 1, not {max_points}")
    model, config = load_model(run_dir)
    try:
        sig = config["signal"]
        grid = tuple(int(g) for g in sig["grid"])
        if sig["kind"] == "audio":
            rate = sample_rate or int(sig["sample_rate"])
            grid = (max(1, round(grid[0] * rate / int(sig["sample_rate"]))),)
            meta = dict(sample_rate=rate, peak=float(sig["peak"]), subtype=sig["subtype"])
        elif sig["kind"] == "image":
            meta = dict(bit_depth=int(sig["bit_depth"]))
        else:
            meta = dict(meta={k: sig[k] for k in VOLUME_META if k in sig})
        extent = tuple(map(tuple, sig["extent"])) if "extent" in sig else None
    except (KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError) as e:
        raise InputError(f"{Path(run_dir) / 'config.json'}: not a valid siren2 run config (signal: {e})") from None
    if size is not None and sig["kind"] != "audio":
        if len(size) != len(grid):
            raise InputError(f"size {'x'.join(map(str, size))}: this {sig['kind']} needs {len(grid)} sizes "
                             f"(it was fitted at {'x'.join(map(str, grid))})")
        grid = tuple(size)
    if math.prod(grid) > max_points:
        raise InputError(f"{run_dir}: rendering {math.prod(grid):,} points, above the limit of {max_points:,} "
                         "(raise --max-points)")
    model.to(pick_device(device))
    t0 = time.perf_counter()
    values = predict(model, grid_coords(grid, extent)).numpy()
    out = Signal(values=values, grid=grid, kind=sig["kind"], source=str(run_dir), extent=extent, **meta)
    out.meta["render_seconds"] = time.perf_counter() - t0
    return out
