"""The training loop: ``fit()`` one model, ``fit_batched()`` K models of one architecture as one step.

The step itself (loss and gradients) comes from [`siren2.engine`][]; this module schedules it
([`siren2.recipes`][]), and keeps each model's epoch bookkeeping in one place ([`Epochs`][]):
its loss history, a real copy of its best parameters (the reference code keeps a reference, so it
returns the final state; docs/method.md#metrics-and-conventions), the divergence guard, the stop
rules and the progress bar. ``fit()`` and ``fit_batched()`` differ only in what one epoch's step is
and in what the guard does when it acts (``fit()`` restores the best state and halves the rate; a
batched model is refitted alone).
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.func import stack_module_state

from .engine import DEFAULT_MEMORY_BUDGET, BatchedStep, auto_chunk_size, evaluate_loss, make_step, predict, tune_malloc
from .models import get_entry
from .presets import get_preset
from .recipes import DEFAULT_RECIPE, SCHEDULES, get_recipe, model_fit

__all__ = ["FitConfig", "FitResult", "fit", "fit_batched", "predict", "evaluate_loss", "pick_device",
           "batch_unsupported", "Epochs", "STOPS"]


def pick_device(name: str | None = None) -> torch.device:
    """The device to train on: ``name`` if given, else cuda, then mps, then cpu.

    Parameters
    ----------
    name
        A device (cpu, cuda, cuda:N, mps), checked to exist on this machine; None or "auto": the best
        available.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If ``name`` is not a device, or not available on this machine.
    """
    if name and name != "auto":
        try:
            device = torch.device(name)
        except RuntimeError:
            raise ValueError(f"--device {name!r}: not a device (use cpu, cuda, cuda:N or mps)") from None
        available = {"cpu": True, "cuda": torch.cuda.is_available(),
                     "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
        if not available.get(device.type, False):
            raise ValueError(f"--device {name!r}: not available on this machine")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass(frozen=True)
class FitConfig:
    """Training settings, fully resolved; build one from a preset and a recipe with [`resolve`][].

    The defaults are the paper's audio protocol (docs/method.md#protocols).

    Attributes
    ----------
    epochs
        The epoch budget.
    lr
        The peak lr (the constant one before StepLR's decay).
    lr_step
        StepLR's step, in epochs.
    lr_gamma
        StepLR's factor γ.
    schedule
        A key of `siren2.recipes.SCHEDULES`: "step" (the paper's StepLR) or "cosine".
    warmup
        Cosine: linear warm-up over this fraction of the budget.
    lr_floor
        Cosine: the final lr, as a fraction of the peak.
    recipe
        The recipe these settings came from (a record; see [`siren2.recipes`][]).
    batch_size
        Points per step; None: full batch, one step per epoch (the paper's SIREN).
    chunk_size
        Split a full-batch step into chunks of this many points (gradient accumulation); None: by memory.
    seed
        Seeds torch's RNG and the mini-batch order (and, in a run, the initialization).
    device
        None: auto ([`pick_device`][]).
    engine
        "auto", "sine-mlp" or "autograd" (see [`siren2.engine`][]).
    compile
        Fuse the sine step with torch.compile (CPU); None: when the run is long.
    tf32
        CUDA only: TF32 matrix products (faster, less exact); off, as the paper.
    patience
        With ``fit(validate=...)``: epochs without improvement before stopping.
    target_psnr
        Stop at the first epoch whose psnr_paper (fitted samples) reaches it.
    time_budget
        Seconds: stop at the deadline (the best state is kept).
    guard_factor
        The divergence guard: a non-finite loss, or ``guard_patience`` epochs in a row above
        ``guard_factor`` × the best loss so far, restores the best state and halves the lr.
    guard_patience
        See ``guard_factor``.
    guard_retries
        After this many of the guard's events, the fit stops.
    progress
        Show a progress bar.

    Raises
    ------
    ValueError
        If a setting is out of range (epochs, batch_size, chunk_size, patience, lr_step and
        guard_patience below 1; lr or guard_factor not positive; warmup outside [0, 1), lr_floor outside
        [0, 1], lr_gamma not positive; target_psnr not finite; time_budget not positive), or the
        schedule is unknown.
    """

    epochs: int = 1000
    lr: float = 1e-4  # the peak lr (the constant one before StepLR's decay)
    lr_step: int = 20  # StepLR step, in epochs
    lr_gamma: float = 0.99
    schedule: str = "step"  # a key of siren2.recipes.SCHEDULES: "step" (the paper's StepLR) or "cosine"
    warmup: float = 0.0  # cosine: linear warm-up over this fraction of the budget
    lr_floor: float = 0.01  # cosine: the final lr, as a fraction of the peak
    recipe: str = "paper"  # the recipe these settings came from (a record; see siren2.recipes)
    batch_size: int | None = None  # None: full batch, one step per epoch (the paper's SIREN)
    chunk_size: int | None = None  # split a full-batch step (gradient accumulation); None: by memory
    seed: int = 0
    device: str | None = None  # None: auto
    engine: str = "auto"  # "auto", "sine-mlp" or "autograd" (see siren2.engine)
    compile: bool | None = None  # fuse the sine step with torch.compile (CPU); None: when the run is long
    tf32: bool = False  # CUDA only: TF32 matrix products (faster, less exact); off as the paper
    patience: int | None = None  # with fit(validate=...): epochs without improvement before stopping
    target_psnr: float | None = None  # stop at the first epoch whose psnr_paper (fitted samples) reaches it
    time_budget: float | None = None  # seconds: stop at the deadline (the best state is kept)
    # Divergence guard: a non-finite loss, or guard_patience epochs in a row above guard_factor × the
    # best loss so far, restores the best state and halves the lr; after guard_retries such events, stop.
    guard_factor: float = 10.0
    guard_patience: int = 10
    guard_retries: int = 4
    progress: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, not {self.epochs}")
        for name in ("batch_size", "chunk_size", "patience", "lr_step", "guard_patience"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose from {', '.join(SCHEDULES)}")
        for name in ("lr", "guard_factor"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"{name} must be a positive number, not {getattr(self, name)}")
        if not (0 <= self.warmup < 1 and 0 <= self.lr_floor <= 1 and self.lr_gamma > 0):
            raise ValueError("warmup must lie in [0, 1), lr_floor in [0, 1] and lr_gamma be positive")
        if self.target_psnr is not None and not math.isfinite(self.target_psnr):
            raise ValueError(f"target-psnr must be a finite number of dB, not {self.target_psnr}")
        if self.time_budget is not None and not (math.isfinite(self.time_budget) and self.time_budget > 0):
            raise ValueError(f"time-budget must be a positive number of seconds, not {self.time_budget}")

    @classmethod
    def resolve(cls, preset: str | None = None, recipe: str = DEFAULT_RECIPE, in_dim: int = 1, model: str | None = None,
                width: int | None = None, **overrides) -> "FitConfig":
        """The one place training settings compose: preset, then recipe, then model, then overrides.

        Parameters
        ----------
        preset : str, optional
            Its schedule (the paper's) first; None: the default preset for ``in_dim``.
        recipe : str
            Then the recipe's fields for an ``in_dim``-D signal and a network of hidden width
            ``width`` (default: the preset's).
        in_dim : int
            The signal's dimension (1 audio, 2 images, 3 volumes).
        model : str, optional
            Then the model's own training settings ([`siren2.recipes.model_fit`][], e.g. FINER's
            65,536-point batches) and its peak lr relative to the recipe's (``Recipe.lr_factor``).
        width : int, optional
            The network's hidden width H (the ``fast`` recipe's peak lr scales as 1/H).
        **overrides
            Last, any FitConfig field; None means not given.

        Returns
        -------
        FitConfig

        Raises
        ------
        ValueError
            For an unknown preset, recipe or model, or a setting out of range.
        """
        _, p = get_preset(preset, in_dim)
        rec = get_recipe(recipe)
        fields = dict(epochs=p.epochs, lr=p.lr, lr_step=p.lr_step, lr_gamma=p.lr_gamma)
        fields |= rec.fields(in_dim, width or p.width)
        if model is not None:
            get_entry(model)  # ValueError for an unknown model
            fields |= model_fit(model) | {"lr": fields["lr"] * rec.model_lr_factor(model, in_dim)}
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls(**(fields | given | {"recipe": recipe}))

    def lr_at(self, epoch: int, progress: float) -> float:
        """The scheduled lr of ``epoch``, before the divergence guard's cuts.

        Parameters
        ----------
        epoch
            The epoch, from 0.
        progress
            The fraction of the budget spent, in [0, 1].

        Returns
        -------
        float
        """
        return self.lr * SCHEDULES[self.schedule](self, epoch, progress)


# Why a fit stopped (FitResult.stopped_by): its epoch budget, a rule, the divergence guard, or Ctrl-C.
STOPS = ("epochs", "target_psnr", "time_budget", "patience", "callback", "diverged", "interrupted")


@dataclass
class FitResult:
    """What a fit returns: the model (best state loaded), its loss history, timings, why it stopped.

    Attributes
    ----------
    model
        The model, holding its best state.
    loss
        Full-signal MSE per epoch (before its update).
    best_loss
        The lowest of ``loss``.
    best_epoch
        The epoch of the best state (by validation score when ``fit`` was given ``validate``).
    seconds
        Training time.
    stopped_by
        Why it ended: one of `STOPS`.
    guard_events
        The divergence guard's interventions: epoch, cause, restored epoch, lr scale.
    val_loss
        ``validate(model)`` per epoch, when given.
    best_val_loss
        The lowest of ``val_loss``.
    seconds_at
        Training seconds at the end of each epoch.
    lr
        The learning rate of each epoch.
    device
        Where it trained.
    engine
        The training step's name ([`siren2.engine`][]).
    """

    model: nn.Module
    loss: list[float] = field(default_factory=list)  # full-signal MSE per epoch (before its update)
    best_loss: float = math.inf
    best_epoch: int = -1
    seconds: float = 0.0
    stopped_by: str = "epochs"  # one of STOPS
    guard_events: list[dict] = field(default_factory=list)  # the divergence guard's interventions
    val_loss: list[float] = field(default_factory=list)  # validate(model) per epoch, when given
    best_val_loss: float = math.inf
    seconds_at: list[float] = field(default_factory=list)  # training seconds at the end of each epoch
    lr: list[float] = field(default_factory=list)  # the learning rate of each epoch
    device: str = "cpu"
    engine: str = ""

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C ended the fit."""
        return self.stopped_by == "interrupted"

    @property
    def stopped_early(self) -> bool:
        """Stopped before its epoch budget by a rule (not by Ctrl-C)."""
        return self.stopped_by not in ("epochs", "interrupted")

    @property
    def epochs_run(self) -> int:
        """The epochs trained."""
        return len(self.loss)

    @property
    def psnr_history(self) -> list[float]:
        """psnr_paper per epoch: 10·log10(1/MSE) on [-1, 1] data."""
        return [10 * math.log10(1 / max(m, 1e-30)) if math.isfinite(m) else -math.inf for m in self.loss]

    @property
    def best_psnr(self) -> float:
        """psnr_paper of ``best_loss``."""
        return 10 * math.log10(1 / max(self.best_loss, 1e-30))

    @property
    def seconds_per_epoch(self) -> float:
        """Training seconds per epoch."""
        return self.seconds / max(len(self.loss), 1)

    def record(self) -> dict:
        """What metrics.json and config.json record of the run itself.

        Returns
        -------
        dict
            ``epochs_run``, ``seconds``, ``stopped_by``, ``best_epoch``, ``guard_events``.
        """
        return {"epochs_run": self.epochs_run, "seconds": round(self.seconds, 3), "stopped_by": self.stopped_by,
                "best_epoch": self.best_epoch, "guard_events": self.guard_events}


class Epochs:
    """The epoch bookkeeping of K models training together (K = 1 for [`fit`][]).

    The clock and the lr schedule, each model's history and best loss, the divergence guard's count,
    the progress bar.

    Parameters
    ----------
    config : FitConfig
        The schedule, the guard's settings, ``progress``.
    results : list of FitResult
        One per model; [`record`][] appends to them.
    """

    def __init__(self, config: FitConfig, results: list[FitResult]) -> None:
        self.config, self.results = config, results
        self.bad = [0] * len(results)  # epochs in a row above guard_factor x the best loss
        self.bar = None
        if config.progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=config.epochs, unit="epoch", dynamic_ncols=True, leave=False)
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since the bookkeeping began."""
        return time.perf_counter() - self.start

    def lr(self, epoch: int) -> float:
        """The scheduled lr of ``epoch``.

        The schedule's progress is the fraction of the epoch budget spent, or of ``time_budget``,
        whichever is further.

        Parameters
        ----------
        epoch
            The epoch, from 0.

        Returns
        -------
        float
        """
        c = self.config
        progress = epoch / c.epochs
        if c.time_budget is not None:
            progress = max(progress, self.elapsed() / c.time_budget)
        return c.lr_at(epoch, min(progress, 1.0))

    def record(self, k: int, epoch: int, loss: float, track_best: bool = True, seconds: float | None = None) -> bool:
        """Record model ``k``'s training loss after ``epoch``.

        Parameters
        ----------
        k
            The model.
        epoch
            The epoch, from 0.
        loss
            Its full-signal training loss.
        track_best
            False: the caller picks the best epoch itself.
        seconds
            Training seconds at the end of the epoch; default: now.

        Returns
        -------
        bool
            Whether the divergence guard acts on it (a non-finite loss, or guard_patience epochs in a row
            above guard_factor × its best).
        """
        r = self.results[k]
        r.loss.append(loss)
        r.seconds_at.append(self.elapsed() if seconds is None else seconds)
        if track_best:
            if loss < r.best_loss:
                r.best_loss, r.best_epoch = loss, epoch
        else:
            r.best_loss = min(r.best_loss, loss)
        finite = math.isfinite(loss)
        self.bad[k] = self.bad[k] + 1 if not finite or loss > self.config.guard_factor * r.best_loss else 0
        return not finite or self.bad[k] >= self.config.guard_patience

    def reached_target(self, k: int) -> bool:
        """Whether model ``k``'s best psnr_paper reached ``config.target_psnr``."""
        target = self.config.target_psnr
        return target is not None and self.results[k].best_psnr >= target

    def tick(self, epoch: int) -> None:
        """Advance the progress bar (its postfix: the first model's psnr_paper, now and best)."""
        if self.bar is None:
            return
        self.bar.update(1)
        if epoch % 10 == 0 or epoch == self.config.epochs - 1:
            r = self.results[0]
            self.bar.set_postfix(psnr=f"{r.psnr_history[-1]:.2f}", best=f"{r.best_psnr:.2f}")

    def close(self) -> None:
        """Close the progress bar and set each result's ``seconds``."""
        if self.bar is not None:
            self.bar.close()
        for r in self.results:
            r.seconds = r.seconds_at[-1] if r.seconds_at else self.elapsed()


def fit(model: nn.Module, signal, config: FitConfig | None = None, *, mask: np.ndarray | None = None,
        validate: Callable[[nn.Module], float] | None = None,
        callbacks: list[Callable[[int, nn.Module, float], bool | None]] | None = None, prior=None) -> FitResult:
    """Fit ``model`` to ``signal`` and return the result, the model holding its best state.

    One epoch is one full-batch step, or ⌈N/batch_size⌉ mini-batch steps followed by a full-signal
    evaluation; the lr follows ``config``'s schedule. The best state is the one with the lowest
    training loss, or, when ``validate`` is given, the lowest validation score after an epoch.

    Parameters
    ----------
    model : nn.Module
        Maps (N, d) coordinates to (N, C) values; trained in place.
    signal : Signal
        The target: its grid points where ``mask`` is 1, and its off-grid samples.
    config : FitConfig, optional
        Default: ``FitConfig()``, the paper's audio protocol.
    mask : ndarray, optional
        (N,) 1 where a grid point is observed, 0 where missing (the loss is masked).
    validate : callable, optional
        ``validate(model) -> float``, e.g. the error on held-out samples: picks the best state, and
        ``config.patience`` epochs without improvement (counted after the warm-up) stop the fit.
    callbacks : list of callable, optional
        ``cb(epoch, model, loss)`` after each epoch; one returning True stops the fit.
    prior : callable, optional
        A penalty P(y) on the rendering of the whole grid ([`siren2.restoration.priors`][]; full batch
        only) whose gradients join the loss's; the loss tracked is the MSE.

    Returns
    -------
    FitResult
        Its ``stopped_by`` says why it ended (`STOPS`): the epochs, ``config.target_psnr``
        reached, ``config.time_budget`` spent, patience, a callback, the divergence guard (see
        [`FitConfig`][]: it warns, restores the best state and halves the lr), or Ctrl-C (the best
        state so far is kept; before the first epoch ends, KeyboardInterrupt propagates).

    Raises
    ------
    ValueError
        If a ``prior`` is given with off-grid samples or mini-batches, or ``config.engine`` is unknown.
    """
    config = config or FitConfig()
    device = training_device(config)
    model = model.to(device)
    coords, target = (t.to(device) for t in signal.training_data())
    if prior is not None and len(coords) != signal.num_points:
        raise ValueError("a prior on the grid's rendering needs a signal without off-grid samples")
    mask_t = None if mask is None else torch.as_tensor(np.asarray(mask), dtype=torch.float32).reshape(-1, 1)
    if mask_t is not None and len(mask_t) < len(coords):  # the off-grid samples are observed
        mask_t = torch.cat([mask_t, torch.ones(len(coords) - len(mask_t), 1)])
    mask_t = None if mask_t is None else mask_t.to(device)
    n = coords.shape[0]
    batch = config.batch_size if config.batch_size and config.batch_size < n else None
    step = make_step(model, coords, target, mask_t, batch_size=batch, chunk_size=config.chunk_size,
                     engine=config.engine, compile=config.compile, epochs=config.epochs, prior=prior)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    result = FitResult(model=model, device=str(device), engine=step.name)
    best_state, stale, lr_scale = copy_state(model), 0, 1.0
    warm_epochs = math.ceil(config.warmup * config.epochs) if config.schedule == "cosine" else 0
    gen = torch.Generator(device="cpu").manual_seed(config.seed)
    observed = None if mask_t is None else torch.nonzero(mask_t[:, 0] > 0)[:, 0]
    epochs = Epochs(config, [result])
    try:
        for epoch in range(config.epochs):
            lr = epochs.lr(epoch) * lr_scale
            for group in optimizer.param_groups:
                group["lr"] = lr
            result.lr.append(lr)
            if batch is None:
                loss_value = float(step())
                if validate is None and loss_value < result.best_loss:
                    best_state = copy_state(model)  # the state that produced this loss, before the update
                optimizer.step()
            else:
                order = torch.randperm(n if observed is None else observed.numel(), generator=gen).to(device)
                if observed is not None:
                    order = observed[order]
                for i in range(0, order.numel(), batch):
                    step(order[i : i + batch])
                    optimizer.step()
                loss_value = evaluate_loss(model, coords, target, mask_t)
                if validate is None and loss_value < result.best_loss:
                    best_state = copy_state(model)
            acts = epochs.record(0, epoch, loss_value, track_best=validate is None)
            if validate is not None:
                score = float(validate(model))
                result.val_loss.append(score)
                if score < result.best_val_loss:
                    result.best_val_loss, result.best_epoch, best_state, stale = score, epoch, copy_state(model), 0
                elif epoch >= warm_epochs:  # the warm-up's rising rate is not a plateau: patience starts after it
                    stale += 1
            epochs.tick(epoch)
            if acts:  # the divergence guard: restore the best state, halve the lr
                finite = math.isfinite(loss_value)
                lr_scale *= 0.5
                cause = "non-finite loss" if not finite else (
                    f"loss above {config.guard_factor:g}x its best for {epochs.bad[0]} epochs")
                result.guard_events.append({"epoch": epoch, "cause": cause, "restored_epoch": result.best_epoch,
                                            "lr_scale": lr_scale})
                model.load_state_dict(best_state)
                if not finite:  # NaN moments would poison every later step; finite ones damp the restart
                    optimizer.state.clear()
                epochs.bad[0] = 0
                gave_up = len(result.guard_events) > config.guard_retries
                warnings.warn(f"training diverged at epoch {epoch + 1} ({cause}); restored the best state "
                              + ("and stopped" if gave_up else f"and cut the learning rate to {lr_scale:g}x"),
                              RuntimeWarning, stacklevel=2)
                if gave_up:
                    result.stopped_by = "diverged"
                    break
            stop = [bool(cb(epoch, model, loss_value)) for cb in callbacks or ()]
            reason = ("callback" if any(stop)
                      else "patience" if validate is not None and config.patience is not None
                      and stale >= config.patience
                      else "target_psnr" if epochs.reached_target(0)
                      else "time_budget" if config.time_budget is not None
                      and result.seconds_at[-1] >= config.time_budget
                      else None)
            if reason is not None:
                result.stopped_by = reason
                break
    except KeyboardInterrupt:
        if not result.loss:
            raise  # before the first epoch ended there is no state to keep: a plain interrupt
        result.stopped_by = "interrupted"
    finally:
        epochs.close()
        for p in model.parameters():
            p.grad = None
    result.seconds = epochs.elapsed()
    model.load_state_dict(best_state)
    return result


def fit_batched(models: list[nn.Module], signals: list, config: FitConfig | None = None, *,
                on_epoch: Callable[[int, list[int]], None] | None = None) -> list[FitResult]:
    """Fit ``models[k]`` to ``signals[k]`` for every k as one batched step per epoch.

    The K parameter sets are stacked along a new leading axis (``torch.func.stack_module_state``)
    and the K forward passes run as one ``torch.vmap`` ([`siren2.engine.BatchedStep`][]), so any
    registered model works. The loss is Σ_k MSE_k, whose gradient w.r.t. θ_k is model k's own, and
    one Adam over the stacked tensors is K separate Adams: the K results equal K separate
    [`fit`][] calls to float rounding, each model ending in its best state.

    Parameters
    ----------
    models : list of nn.Module
        Distinct models of one architecture.
    signals : list of Signal
        One per model, all on one grid with one channel count.
    config : FitConfig, optional
        Full batch (in chunks of points where ``chunk_size`` or memory asks), either schedule,
        ``target_psnr`` (a model that reaches it stops: its history and best state freeze while the
        others train on). Refused ([`batch_unsupported`][]): mini-batches, ``time_budget`` (one
        clock cannot keep K budgets) and ``patience``. ``engine`` and ``compile`` choose [`fit`][]'s
        single-model step and do not apply. Times are the batch's clock.
    on_epoch : callable, optional
        ``on_epoch(epoch, ks)`` after each epoch, with the models ``ks`` that trained in it.

    Returns
    -------
    list of FitResult
        One per model. A model the divergence guard would act on (by halving that model's lr, which
        one shared Adam step cannot) is refitted alone with [`fit`][] from its initial state, so its
        result is still its separate fit's. Ctrl-C keeps every best state so far.

    Raises
    ------
    ValueError
        If the models and signals do not pair up, a model appears twice, the models differ in
        architecture, the signals in grid, or ``config`` asks for what it cannot run.
    """
    config = config or FitConfig()
    check_batch(models, signals, config)
    device = training_device(config)
    models = [m.to(device) for m in models]
    if device.type == "cpu":
        tune_malloc()
    params, buffers = stack_module_state(models)  # copies: the models keep their initial state until the end
    data = [s.training_data() for s in signals]
    coords, targets = (torch.stack(ts).to(device) for ts in zip(*data))
    n = coords.shape[1]
    chunk_size = config.chunk_size or auto_chunk_size(models[0], n, DEFAULT_MEMORY_BUDGET // len(models))
    step = BatchedStep(models[0], params, buffers, coords, targets, chunk_size)
    optimizer = torch.optim.Adam(params.values(), lr=config.lr)
    results = [FitResult(model=m, device=str(device), engine=step.name) for m in models]
    best = {name: p.detach().clone() for name, p in params.items()}
    running, diverged = list(range(len(models))), []
    epochs = Epochs(config, results)
    try:
        for epoch in range(config.epochs):
            lr = epochs.lr(epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            for k in running:
                results[k].lr.append(lr)
            losses = step().tolist()
            stepped = list(running)
            improved = [k for k in running if losses[k] < results[k].best_loss]
            if improved:
                with torch.no_grad():  # the states that produced these losses, before the update
                    for name, p in params.items():
                        best[name][improved] = p[improved]
            optimizer.step()
            now = epochs.elapsed()
            for k in list(running):
                acts = epochs.record(k, epoch, losses[k], seconds=now)
                if acts or epochs.reached_target(k):
                    running.remove(k)
                    if acts:
                        diverged.append(k)
                    else:
                        results[k].stopped_by = "target_psnr"
            epochs.tick(epoch)
            if on_epoch is not None:
                on_epoch(epoch, stepped)
            if not running:
                break
    except KeyboardInterrupt:
        if not results[0].loss:
            raise  # before the first epoch ended there is no state to keep: a plain interrupt
        for k in running + diverged:
            results[k].stopped_by = "interrupted"
        diverged = []
    finally:
        epochs.close()
    for k, (model, r) in enumerate(zip(models, results)):
        if k in diverged:
            results[k] = fit(model, signals[k], config)  # the model still holds its initial state
        else:
            model.load_state_dict(model.state_dict() | {name: t[k] for name, t in best.items()})
    return results


def check_batch(models: list[nn.Module], signals: list, config: FitConfig) -> None:
    """Refuse (ValueError) what [`fit_batched`][] cannot run as K separate fits: models of
    different architectures, signals on different grids, and the settings it does not support."""
    if not models or len(models) != len(signals):
        raise ValueError(f"fit_batched needs one signal per model, not {len(models)} models and {len(signals)} signals")
    if len({id(m) for m in models}) < len(models):
        raise ValueError("fit_batched needs distinct models: the same model object appears twice")
    first = architecture(models[0])
    for k, m in enumerate(models[1:], 1):
        for a, b in itertools.zip_longest(first, architecture(m), fillvalue="nothing"):
            if a != b:
                raise ValueError(f"fit_batched needs models of one architecture: model {k} has {b.strip()!r} "
                                 f"where model 0 has {a.strip()!r}")
    for k, s in enumerate(signals[1:], 1):
        if (s.grid, s.channels, s.num_samples) != (signals[0].grid, signals[0].channels, signals[0].num_samples):
            raise ValueError(f"fit_batched needs signals on one grid: signal {k} is {shape_text(s)}, "
                             f"signal 0 is {shape_text(signals[0])}")
    reason = batch_unsupported(config, signals[0].num_samples)
    if reason:
        raise ValueError(f"fit_batched {reason}")


def batch_unsupported(config: FitConfig, num_points: int) -> str | None:
    """Why [`fit_batched`][] cannot run ``config`` on signals of ``num_points`` points.

    Parameters
    ----------
    config
        The training settings.
    num_points
        The samples each fit trains on.

    Returns
    -------
    str or None
        The reason (mini-batches, ``time_budget`` or ``patience``); None: it can.
    """
    if config.batch_size is not None and config.batch_size < num_points:
        return (f"trains full batch only: batch_size {config.batch_size} is below the signals' {num_points} points "
                "(use fit() for mini-batches)")
    if config.time_budget is not None:
        return "does not take time_budget: K fits share one clock (use fit())"
    if config.patience is not None:
        return "does not take patience: it needs a validation score (use fit(validate=...))"
    return None


def architecture(model: nn.Module) -> list[str]:
    """What K models must share to run as one: the module tree with its settings (ω, σ, ...) and
    every tensor's name, shape and dtype."""
    tensors = [*model.named_parameters(), *model.named_buffers()]
    return repr(model).splitlines() + [f"{name} {tuple(t.shape)} {t.dtype}" for name, t in tensors]


def shape_text(signal) -> str:
    """'100x100 with 3 channel(s)', and the off-grid samples if any."""
    off = f" and {signal.num_samples - signal.num_points} off-grid samples" if signal.off_grid is not None else ""
    return f"{'x'.join(map(str, signal.grid))} with {signal.channels} channel(s){off}"


def training_device(config: FitConfig) -> torch.device:
    """The device of ``config`` ([`pick_device`][]), its TF32 setting applied and torch's RNG seeded."""
    device = pick_device(config.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = config.tf32
    torch.manual_seed(config.seed)
    return device


def copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A real copy of ``model``'s state (not references into it)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
