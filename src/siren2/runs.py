"""One fit, end to end, and its files: the library behind ``siren2 fit``, ``demo`` and ``render``.

:func:`run_fit` builds a model for a signal, fits it and scores it; :class:`OutputDir` collects a
run's files in a staging folder and moves them into place only when all are written, so a failed
or refused run leaves nothing partial; :func:`save_model` / :func:`load_model` use safetensors
(no pickle) with the model's recipe in config.json.
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

from . import __version__
from .errors import InputError
from .metrics import CONVENTIONS, metrics
from .models import create_model, num_parameters
from .presets import get_preset
from .io import MAX_POINTS, reconstruction_name, save_signal
from .signal import VOLUME_META, Signal, grid_coords
from .train import FitConfig, FitResult, fit, pick_device, predict


@dataclass
class Run:
    """A finished fit: the model (best state), its history, the reconstruction and its scores."""

    name: str
    model: torch.nn.Module
    result: FitResult
    reconstruction: Signal
    metrics: dict
    config: dict = field(default_factory=dict)


def run_fit(signal: Signal, model_name: str, *, preset: str | None = None, fit_config: FitConfig | None = None,
            model_options: dict | None = None, winner_options: dict | None = None,
            mask: np.ndarray | None = None, clean: Signal | None = None,
            callbacks: list | None = None, validate=None, prior=None) -> Run:
    """Build ``model_name`` for ``signal``, fit it, render it and score it.

    ``fit_config`` defaults to the default recipe on the preset with the model's own defaults (e.g.
    FINER's mini-batches; build it with ``FitConfig.resolve(..., model=model_name)`` to keep them);
    ``model_options`` override the preset's shape; ``winner_options`` are s0, s1, rule, centroid.
    Scores compare against ``clean`` when given (for restoration), else against the signal itself.
    ``callbacks``, ``validate`` and ``prior`` go to :func:`~siren2.train.fit`.
    """
    preset_name, fit_config = _resolved(signal, model_name, preset, fit_config, model_options)
    model = build_model(signal, model_name, preset_name, fit_config, winner_options, model_options, mask=mask)
    result = fit(model, signal, fit_config, mask=mask, validate=validate, callbacks=callbacks, prior=prior)
    return finish_run(signal, model_name, result, preset_name, fit_config, clean=clean)


def run_batch(signals: list[Signal], model_name: str, *, preset: str | None = None,
              fit_config: FitConfig | None = None, seeds: list[int] | None = None,
              model_options: dict | None = None, winner_options: dict | None = None,
              on_epoch: Callable[[int, list[int]], None] | None = None) -> list[Run]:
    """:func:`run_fit` for K signals on one grid (or K ``seeds`` of one signal), as one batched fit
    (:func:`~siren2.batched.fit_batched`) where the config allows it, else one fit after another;
    either way the K runs equal K :func:`run_fit` calls to float rounding. ``seeds`` (default: the
    config's) give model k its seed; ``on_epoch(epoch, ks)`` runs after each epoch of the models
    ``ks``. After Ctrl-C the runs are marked interrupted (one after another: only those begun)."""
    from .batched import fit_batched, unsupported

    preset_name, fit_config = _resolved(signals[0], model_name, preset, fit_config, model_options)
    seeds = seeds if seeds is not None else [fit_config.seed] * len(signals)
    if len(seeds) != len(signals):
        raise ValueError(f"run_batch needs one seed per signal, not {len(seeds)} seeds and {len(signals)} signals")
    configs = [replace(fit_config, seed=s) for s in seeds]
    models = [build_model(sig, model_name, preset_name, cfg, winner_options, model_options)
              for sig, cfg in zip(signals, configs)]
    if len(signals) > 1 and unsupported(fit_config, signals[0].num_samples) is None:
        results = fit_batched(models, signals, fit_config, on_epoch=on_epoch)
    else:
        results = []
        for k, (m, sig, cfg) in enumerate(zip(models, signals, configs)):
            # fit() stops on a callback returning True: a progress hook never does
            hook = [lambda epoch, *_, k=k: on_epoch(epoch, [k]) and None] if on_epoch else None
            results.append(fit(m, sig, cfg, callbacks=hook))
            if results[-1].interrupted:  # Ctrl-C: the fits so far, the last one cut short
                break
    return [finish_run(sig, model_name, r, preset_name, cfg, batch=len(signals) if r.engine == "batched" else None)
            for sig, r, cfg in zip(signals, results, configs)]


RACE_FRACTION = 0.025  # rule auto: each valley point's short fit, as a share of the fit's epochs


def build_model(signal: Signal, model_name: str, preset_name: str, fit_config: FitConfig,
                winner_options: dict | None = None, model_options: dict | None = None,
                mask: np.ndarray | None = None):
    """``create_model`` under ``fit_config``'s seed, on its training device (rule auto's search runs
    there: on a GPU its valley would otherwise take the CPU longer than the fit); rule auto races its
    valley's points with the same recipe compressed to :data:`RACE_FRACTION` of the epochs each (on
    ``mask``'s samples of the grid, the samples the valley read: a mesh's near-surface samples, all on
    the surface, make a short race favour the widest band, which rings between the samples;
    ``benchmarks/shape_valley.py``), the lowest training loss winning (:func:`siren2.winner.auto_scales`)."""
    winner_options, model_options = winner_options or {}, model_options or {}
    device = pick_device(fit_config.device)
    short = replace(fit_config, epochs=max(2, int(fit_config.epochs * RACE_FRACTION)), patience=None,
                    target_psnr=None, time_budget=None, progress=False)
    on_grid = replace(signal, off_grid=None)

    def race(s0: float, s1: float) -> float:
        candidate = create_model(model_name, signal, preset=preset_name, seed=fit_config.seed, device=device,
                                 **(winner_options | {"s0": s0, "s1": s1}), **model_options)
        return fit(candidate, on_grid, short, mask=mask).best_loss

    return create_model(model_name, signal, preset=preset_name, seed=fit_config.seed, race=race, device=device,
                        **winner_options, **model_options)


def _resolved(signal: Signal, model_name: str, preset: str | None, fit_config: FitConfig | None,
              model_options: dict | None) -> tuple[str, FitConfig]:
    preset_name, _ = get_preset(preset, signal.in_dim)
    return preset_name, fit_config or FitConfig.resolve(preset_name, in_dim=signal.in_dim, model=model_name,
                                                        width=(model_options or {}).get("width"))


def finish_run(signal: Signal, model_name: str, result: FitResult, preset_name: str, fit_config: FitConfig, *,
               clean: Signal | None = None, batch: int | None = None) -> Run:
    """The :class:`Run` of a finished fit: ``result.model`` (holding its best state) rendered on the
    signal's grid, scored (against ``clean`` when given) and described in full for config.json."""
    model = result.model
    values = predict(model, signal.coords()).numpy()
    scores = metrics(clean or signal, values)
    scores["best_epoch_psnr_paper"] = result.best_psnr  # max over epochs of the training-loss PSNR
    config = {
        "siren2_version": __version__,
        "model": model_record(model),
        "preset": preset_name,
        "fit": asdict(fit_config),
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
    return Run(model_name, model, result, signal.with_values(values), scores, config)


def model_record(model) -> dict:
    """The recipe to rebuild ``model`` (registry name, shape, WINNER scales) and its size."""
    return {
        "name": model.name,
        "config": asdict(model.config),
        "winner": model.winner.asdict() if model.winner is not None else None,
        "parameters": num_parameters(model),
    }


def save_model(model, path) -> Path:
    from safetensors.torch import save_file

    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"model": json.dumps(model_record(model))})
    return path


RESULT_FIELDS = ("loss", "best_loss", "best_epoch", "seconds", "stopped_by", "guard_events", "val_loss",
                 "best_val_loss", "seconds_at", "lr", "device", "engine")


def save_fit(run: Run, folder, stem: str) -> None:
    """One finished fit as ``stem``.safetensors (the best state) and ``stem``.json (its config,
    scores and history), enough for :func:`load_fit` to rebuild the :class:`Run`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_model(run.model, folder / f"{stem}.safetensors")
    record = {"name": run.name, "config": run.config, "metrics": run.metrics,
              "result": {k: getattr(run.result, k) for k in RESULT_FIELDS}}
    (folder / f"{stem}.json").write_text(json.dumps(record, default=_jsonable) + "\n")


def load_fit(folder, stem: str, signal: Signal) -> Run:
    """The :class:`Run` that :func:`save_fit` stored (its reconstruction of ``signal`` recomputed)."""
    from safetensors.torch import load_file

    path = Path(folder) / f"{stem}.json"
    try:
        record = json.loads(path.read_text())
        rec = record["config"]["model"]
        shape = dict(rec["config"])
        in_dim, out_dim = shape.pop("in_dim"), shape.pop("out_dim")
        winner = {k: rec["winner"][k] for k in ("s0", "s1")} if rec.get("winner") else {}
        model = create_model(rec["name"], in_dim=in_dim, out_dim=out_dim, **winner, **shape)
        model.load_state_dict(load_file(str(path.with_suffix(".safetensors"))))
        result = FitResult(model=model, **{k: record["result"][k] for k in RESULT_FIELDS})
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError, RuntimeError) as e:
        raise InputError(f"{path}: cannot resume this fit ({str(e).splitlines()[0]})") from None
    values = predict(model, signal.coords()).numpy()
    return Run(record["name"], model, result, signal.with_values(values), record["metrics"], record["config"])


def load_model(run_dir) -> tuple[torch.nn.Module, dict]:
    """Rebuild the model of a ``siren2 fit`` output folder from config.json and model.safetensors."""
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
        shape = dict(rec["config"])
        in_dim, out_dim = shape.pop("in_dim"), shape.pop("out_dim")
        w = rec.get("winner") or {}
        winner = {"s0": w["s0"], "s1": w["s1"]} if w else {}
        model = create_model(rec["name"], in_dim=in_dim, out_dim=out_dim, **winner, **shape)
        model.load_state_dict(load_file(str(weights)))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise InputError(f"{cfg_path}: not a valid siren2 run config ({e})") from None
    except (SafetensorError, RuntimeError, OSError) as e:
        raise InputError(f"{weights}: cannot load model ({str(e).splitlines()[0]})") from None
    return model, config


class OutputDir:
    """A run's output folder, written all at once.

    Files go to a hidden staging folder beside ``path``; on success the staging folder is renamed
    onto ``path`` (one atomic rename: a kill at any moment leaves all of the run or none of it), or,
    over a folder that holds files (``force``), its files are moved in one by one; on failure the
    staging folder is removed. A folder that already holds files is refused unless ``force``.
    """

    def __init__(self, path, force: bool = False) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path}: exists and is not a folder")
        if self.path.is_dir() and any(self.path.iterdir()) and not force:
            raise InputError(f"{self.path}: output folder already holds results (use --force to overwrite)")
        self.staging: Path | None = None

    def __enter__(self) -> "OutputDir":
        parent = self.path.parent
        parent.mkdir(parents=True, exist_ok=True)
        self.staging = parent / f".{self.path.name}.tmp-{os.urandom(6).hex()}"
        self.staging.mkdir()  # the umask's permissions, as the folder it becomes
        return self

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

    def __truediv__(self, name: str) -> Path:
        return self.staging / name

    def write_json(self, name: str, obj) -> Path:
        p = self / name
        p.write_text(json.dumps(obj, indent=2, default=_jsonable) + "\n")
        return p


def _jsonable(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, (Path, torch.device)):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def write_run(out: OutputDir, run: Run, target: Signal, extra_config: dict | None = None, figures: bool = True) -> None:
    """Everything ``siren2 fit`` promises: reconstruction, metrics.json, config.json, weights, and
    (unless not ``figures``) the figures."""
    from . import plots

    save_signal(run.reconstruction, out / reconstruction_name(target.kind))
    out.write_json("metrics.json", {"metrics": run.metrics, "conventions": {
        k: v for k, v in CONVENTIONS.items() if k in run.metrics}, **run.result.record(),
        "psnr_paper_per_epoch": run.result.psnr_history})
    out.write_json("config.json", run.config | (extra_config or {}))
    save_model(run.model, out / "model.safetensors")
    if not figures:
        return
    plots.psnr_curves({run.name: run.result.psnr_history}, out / "psnr.png", title=target.source or "")
    fits = {run.name: run.reconstruction.values[:, 0]}
    if target.kind == "audio":
        plots.audio_fit(target.values[:, 0], fits, target.sample_rate, out / "audio.png")
    elif target.kind == "image":
        h, w = target.grid
        plots.image_fit(target.values.reshape(h, w, -1), {run.name: run.reconstruction.values.reshape(h, w, -1)},
                        out / "image.png")


def render(run_dir, *, sample_rate: int | None = None, size: tuple[int, ...] | None = None,
           device: str | None = None, max_points: int = MAX_POINTS) -> Signal:
    """Re-synthesize a fitted signal from its saved model at any resolution (the INR is continuous):
    audio at ``sample_rate``, an image (H, W) or a volume (D, H, W) at ``size``; more than
    ``max_points`` output samples, pixels or voxels are refused."""
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
