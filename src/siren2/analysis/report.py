"""``siren2 analyze``: the paper's analysis figures for one signal (docs/method.md#analysis-tools), each with its data.

[`analyze`][] builds every model for the signal, takes [`Snapshots`][] at the init
and at the chosen epochs of a fit, optionally runs the (s0, s1) sensitivity sweep, and writes into
a [`RunFolder`][siren2.runs.RunFolder]:

* ``activation_histograms_e{E}.png`` — per layer, ω·z and sin(ω·z) against their laws;
* ``activation_spectra_e{E}.png`` — per layer, the mean per-neuron periodogram, models overlaid;
* ``ntk_eigenvalues.png`` — the NTK eigenvalue decay, per model and epoch;
* ``ntk_spectrum.png`` — the eigenvalue-weighted spectrum Σ λ_i |FFT(v_i)|²/n per model and epoch;
* ``sensitivity.png`` — psnr_paper after a short fit per (s0, s1) setting;
* ``fit_psnr.png`` — the snapshot fits' psnr_paper per epoch;

with the target's own spectrum overlaid on every spectrum. Data: ``activations.npz``,
``ntk.npz``, ``sensitivity.json``, and ``analysis.json`` (settings, a summary per snapshot, and
the fits' psnr_paper per epoch).
Multi-channel NTK spectra are computed per channel (in ntk.npz) and drawn as their channel mean.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import product
from typing import Callable

import numpy as np

from ..errors import InputError
from ..io.files import write_json
from ..build import create_model
from ..models import is_winner, num_parameters, winner_models
from ..presets import get_preset
from ..recipes import DEFAULT_RECIPE
from ..train import FitConfig, fit, pick_device
from .ntk import DEFAULT_NTK_BUDGET, check_ntk_memory
from .spectra import SubGrid, centroid, energy_above, median_frequency
from .training import Snapshots

__all__ = ["AnalysisConfig", "analyze"]


@dataclass
class AnalysisConfig:
    """Settings of [`analyze`][]; the defaults fit a 2-core CPU.

    Attributes
    ----------
    models
        The models to analyse.
    preset
        Default: by the signal's dimension (paper_audio, paper_image).
    model_options
        Width, hidden_layers, omega0, ... for every model.
    s0
        WINNER models: override the rule's s0.
    s1
        WINNER models: override the rule's s1.
    rule
        None: code for audio and images, auto in 3-D.
    epochs_at
        The snapshot epochs; 0 is the init.
    points
        NTK points.
    act_points
        Activation points (docs/method.md#analysis-tools's toy uses 16,384).
    sampling
        "window" (contiguous, native rate) or "even" (see [`subgrid`][siren2.analysis.spectra.subgrid]).
    sweep
        ``{"s0": [...], "s1": [...]}``: one axis, or a grid of two; empty: no sweep.
    sweep_epochs
        The epochs of each sweep fit.
    memory_budget
        Bytes, for the NTK.
    seed
        The models' seed.
    recipe
        The training recipe of the snapshot and sweep fits.
    device
        Where to run; None: auto.
    progress
        Show the fits' progress bars.

    Raises
    ------
    InputError
        For no models, an epoch below 0, a malformed sweep or one without a WINNER model, or
        ``sweep_epochs`` below 1.
    """

    models: tuple[str, ...] = ("siren", "siren2")
    preset: str | None = None  # default: by the signal's dimension (paper_audio, paper_image)
    model_options: dict = field(default_factory=dict)  # width, hidden_layers, omega0, ... for every model
    s0: float | None = None  # WINNER models: override the rule's scales
    s1: float | None = None
    rule: str | None = None  # None: code for audio and images, auto in 3-D
    epochs_at: tuple[int, ...] = (0, 100)  # snapshot epochs; 0 is the init
    points: int = 2048  # NTK points
    act_points: int = 16_384  # activation points (docs/method.md#analysis-tools's toy uses 16,384)
    sampling: str = "window"  # "window" (contiguous, native rate) or "even" (see spectra.subgrid)
    sweep: dict = field(default_factory=dict)  # {"s0": [...], "s1": [...]}: one axis, or a grid of two
    sweep_epochs: int = 100
    memory_budget: float = DEFAULT_NTK_BUDGET  # bytes, for the NTK
    seed: int = 0
    recipe: str = DEFAULT_RECIPE  # the training recipe of the snapshot and sweep fits
    device: str | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        if not self.models:
            raise InputError("--models: give at least one model")
        if any(e < 0 for e in self.epochs_at) or not self.epochs_at:
            raise InputError(f"--epochs-at {list(self.epochs_at)}: give epochs >= 0 (0 is the init)")
        unknown = set(self.sweep) - {"s0", "s1"}
        if unknown or any(not v for v in self.sweep.values()):
            raise InputError(f"--sweep: expected s0=V,V,... and/or s1=V,V,..., not {sorted(self.sweep)}")
        if self.sweep and not set(self.models) & set(winner_models()):
            raise InputError(f"--sweep needs a WINNER model in --models ({', '.join(winner_models())})")
        if self.sweep_epochs < 1:
            raise InputError(f"--sweep-epochs must be at least 1, not {self.sweep_epochs}")


def analyze(signal, config: AnalysisConfig, out, log: Callable[[str], None] = lambda msg: None) -> dict:
    """Run the analyses of ``config`` on ``signal`` and write their figures and data into ``out``.

    Parameters
    ----------
    signal : Signal
        The target (1-D or 2-D).
    config
        The settings.
    out : Path
        The staging folder of an open [`RunFolder`][siren2.runs.RunFolder].
    log
        Progress messages.

    Returns
    -------
    dict
        The summary also written to analysis.json (and the sweep's results, if any).

    Raises
    ------
    InputError
        Before any work, if a model's NTK exceeds the memory budget.
    ValueError
        For a signal of 3 or more dimensions ([`subgrid`][siren2.analysis.spectra.subgrid]).
    """
    ntk_grid = SubGrid.of(signal, config.points, config.sampling)
    act_grid = SubGrid.of(signal, config.act_points, config.sampling)
    preset, _ = get_preset(config.preset, signal.in_dim)
    device = pick_device(config.device)
    models = {name: _build(name, signal, config, preset).to(device) for name in config.models}
    for model in models.values():  # refuse before any work
        check_ntk_memory(ntk_grid.n, num_parameters(model), signal.channels, memory_budget=config.memory_budget)
    snaps, histories = {}, {}
    for name, model in models.items():
        def report(s, name=name):
            log(f"{name} epoch {s.epoch}: NTK of {s.ntk.n} points x {s.ntk.parameters:,} parameters in "
                f"{s.ntk.seconds:.1f} s")

        snaps[name] = Snapshots(config.epochs_at, ntk_grid, act_grid, memory_budget=config.memory_budget,
                                on_take=report)
        if 0 in snaps[name].epochs:
            snaps[name].take(model, 0)
        last = snaps[name].epochs[-1]
        if last > 0:
            histories[name] = fit(model, signal, _fit_config(name, signal, config, preset, last),
                                  callbacks=[snaps[name]]).psnr_history
    sweep = _sensitivity(signal, config, preset, log) if config.sweep else None
    return _write(out, signal, config, preset, models, snaps, histories, sweep, ntk_grid, act_grid)


def _build(name: str, signal, config: AnalysisConfig, preset: str, **winner):
    scales = {"s0": config.s0, "s1": config.s1, "rule": config.rule} | winner if is_winner(name) else {}
    return create_model(name, signal, preset=preset, seed=config.seed, **scales, **config.model_options)


def _fit_config(name: str, signal, config: AnalysisConfig, preset: str, epochs: int) -> FitConfig:
    return FitConfig.resolve(preset, config.recipe, signal.in_dim, model=name,
                             width=config.model_options.get("width"), epochs=epochs, seed=config.seed,
                             device=config.device, progress=config.progress)


def _sensitivity(signal, config: AnalysisConfig, preset: str, log) -> dict:
    """psnr_paper (best over ``sweep_epochs``) of the first WINNER model per setting of the sweep,
    and of every other non-WINNER model once, for reference."""
    name = next(m for m in config.models if is_winner(m))
    axes = {k: [float(v) for v in vals] for k, vals in config.sweep.items()}
    points = []
    for values in product(*axes.values()):
        model = _build(name, signal, config, preset, **dict(zip(axes, values)))
        result = fit(model, signal, _fit_config(name, signal, config, preset, config.sweep_epochs))
        points.append({"s0": model.winner.s0, "s1": model.winner.s1, "psnr_paper": result.best_psnr})
        log(f"sweep {name} s0 {model.winner.s0:g} s1 {model.winner.s1:.3g}: psnr_paper {result.best_psnr:.2f} dB")
    references = {}
    for other in (m for m in config.models if not is_winner(m)):
        model = _build(other, signal, config, preset)
        references[other] = fit(model, signal, _fit_config(other, signal, config, preset,
                                                           config.sweep_epochs)).best_psnr
        log(f"sweep reference {other}: psnr_paper {references[other]:.2f} dB")
    shape = [len(v) for v in axes.values()]
    grid = np.array([p["psnr_paper"] for p in points]).reshape(shape)
    return {"model": name, "epochs": config.sweep_epochs, "axes": axes, "psnr_paper": grid.tolist(),
            "points": points, "references": references,
            "convention": "psnr_paper = 10*log10(1/MSE) on [-1, 1] data, best over the short fit's epochs"}


def _write(out, signal, config, preset, models, snaps, histories, sweep, ntk_grid, act_grid) -> dict:
    from .. import plots

    audio = signal.kind == "audio" and signal.sample_rate
    scale, unit = (signal.sample_rate, "Hz") if audio else (1.0, "cycles/sample")
    ntk_f, act_f = ntk_grid.freqs * scale, act_grid.freqs * scale
    target_ntk, target_act = ntk_grid.power(signal.values), act_grid.power(signal.values)
    t_spec = target_ntk.mean(axis=0)
    t_median, t_centroid = median_frequency(t_spec, ntk_f), centroid(t_spec, ntk_f)
    ntk_data = {"freqs": ntk_f, "target_spectrum": target_ntk, "index": ntk_grid.index}
    act_data = {"freqs": act_f, "target_psd": target_act, "index": act_grid.index}
    summary_models = {}
    for name, model in models.items():
        rows = []
        for s in snaps[name].snapshots:
            key = f"{name}/e{s.epoch}"
            ntk_data |= {f"{key}/eigenvalues": s.ntk.eigenvalues, f"{key}/spectrum": s.ntk.spectrum}
            act_data[f"{key}/psd"] = s.activation_spectra
            for i, h in enumerate(s.histograms):
                act_data |= {f"{key}/layer{i}/{k}": np.asarray(v) for k, v in h.items()}
            spec = s.ntk.spectrum.mean(axis=0)
            rows.append({
                "epoch": s.epoch, "loss": s.loss, "ntk_seconds": round(s.ntk.seconds, 3),
                "ntk_lambda_max": float(s.ntk.eigenvalues[:, 0].mean()),
                "ntk_trace": float(s.ntk.eigenvalues.sum(axis=1).mean()),
                f"ntk_centroid_{unit}": centroid(spec, ntk_f),
                "ntk_energy_above_target_median": energy_above(spec, ntk_f, t_median),
                "layers": [{"pre_var": h["pre_var"], "post_var": h["post_var"]} for h in s.histograms],
            })
        summary_models[name] = {"parameters": num_parameters(model), "config": asdict(model.config),
                                "winner": model.winner.asdict() if model.winner is not None else None,
                                "snapshots": rows, "psnr_paper_per_epoch": histories.get(name, [])}
    summary = {
        "signal": signal.describe() | {"points": signal.num_points}, "preset": preset,
        "settings": {k: v for k, v in asdict(config).items() if k not in ("progress",)},
        "ntk_points": {"n": ntk_grid.n, "shape": list(ntk_grid.shape), "stride": ntk_grid.stride},
        "activation_points": {"n": act_grid.n, "shape": list(act_grid.shape), "stride": act_grid.stride},
        "freq_unit": unit, f"target_centroid_{unit}": t_centroid, f"target_median_{unit}": t_median,
        "models": summary_models,
    }
    np.savez_compressed(out / "ntk.npz", **ntk_data)
    np.savez_compressed(out / "activations.npz", **act_data)
    write_json(out / "analysis.json", summary)
    _figures(out, plots, models, snaps, histories, ntk_f, act_f, t_spec, target_act.mean(axis=0), unit,
             signal.source or "demo")
    if sweep is not None:
        write_json(out / "sensitivity.json", sweep)
        plots.sensitivity(sweep["axes"], np.array(sweep["psnr_paper"]), sweep["references"],
                          out / "sensitivity.png", f"{sweep['model']}, {sweep['epochs']} epochs")
    return summary | ({"sensitivity": sweep} if sweep else {})


def _figures(out, plots, models, snaps, histories, ntk_f, act_f, t_ntk, t_act, unit, title) -> None:
    xlabel = f"frequency ({unit})"
    taken = set.intersection(*({s.epoch for s in snaps[n].snapshots} for n in models))  # all, unless interrupted
    for epoch in sorted(taken):
        at = {name: next(s for s in snaps[name].snapshots if s.epoch == epoch) for name in models}
        plots.activation_histograms({n: s.histograms for n, s in at.items()},
                                    out / f"activation_histograms_e{epoch}.png", f"{title}, epoch {epoch}")
        layers = len(next(iter(at.values())).activation_spectra)
        panels = {f"layer {i + 1}": {n: s.activation_spectra[i] for n, s in at.items()} for i in range(layers)}
        plots.spectra(act_f, panels, out / f"activation_spectra_e{epoch}.png", xlabel,
                      f"{title}: mean per-neuron periodogram of the post-activation, epoch {epoch}", {"target": t_act})
    plots.eigenvalue_decay({f"{n}, epoch {s.epoch}": s.ntk.eigenvalues.mean(axis=0)
                            for n in models for s in snaps[n].snapshots}, out / "ntk_eigenvalues.png", title)
    plots.spectra(ntk_f, {n: {f"epoch {s.epoch}": s.ntk.spectrum.mean(axis=0) for s in snaps[n].snapshots}
                          for n in models}, out / "ntk_spectrum.png", xlabel,
                  f"{title}: NTK eigen-spectrum Σ λ_i |FFT(v_i)|²/n", {"target": t_ntk})
    if histories:
        plots.psnr_curves(histories, out / "fit_psnr.png", title)
