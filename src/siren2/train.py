"""``fit()``: the training loop (Adam, a recipe's schedule, full batch or mini-batch, best-state copy).

The step itself (loss and gradients) comes from :func:`siren2.engine.make_step`; this module only
schedules it (:mod:`siren2.recipes`), tracks the loss, applies the stop rules and the divergence
guard, and keeps a real copy of the best parameters (the reference code keeps a reference, so it
returns the final state; SPEC §6). :func:`siren2.batched.fit_batched` runs K full-batch fits of
one architecture as one, with the same device setup, schedule and guard (:func:`training_device`,
:func:`epoch_lr`, :func:`guard_count`).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from .engine import make_step
from .models import fit_defaults, lr_factor
from .presets import get_preset
from .recipes import DEFAULT_RECIPE, SCHEDULES, get_recipe


def pick_device(name: str | None = None) -> torch.device:
    """``name`` if given, else cuda, then mps, then cpu."""
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


@dataclass
class FitConfig:
    """Training settings, fully resolved. Defaults are the paper's audio protocol (SPEC §5); build
    one from a preset and a recipe with :meth:`resolve`."""

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
        """The one place settings compose: the preset's schedule (the paper's), then the recipe's
        fields for an ``in_dim``-D signal and a network of hidden width ``width`` (default: the
        preset's), then model ``model``'s own defaults (e.g. FINER's 65,536-point batches; see
        :func:`siren2.models.fit_defaults`) and its peak lr relative to the recipe's
        (:func:`siren2.models.lr_factor`), then ``overrides`` (None: not given)."""
        _, p = get_preset(preset, in_dim)
        fields = dict(epochs=p.epochs, lr=p.lr, lr_step=p.lr_step, lr_gamma=p.lr_gamma)
        fields |= get_recipe(recipe).fields(in_dim, width or p.width)
        if model is not None:
            fields |= fit_defaults(model) | {"lr": fields["lr"] * lr_factor(model, recipe, in_dim)}
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls(**(fields | given | {"recipe": recipe}))

    def lr_at(self, epoch: int, progress: float) -> float:
        """The scheduled lr of ``epoch`` (before the guard's cuts); ``progress`` in [0, 1]."""
        return self.lr * SCHEDULES[self.schedule](self, epoch, progress)


@dataclass
class FitResult:
    """What a fit returns: the model (best state loaded), its loss history, timings, why it stopped."""

    model: nn.Module
    loss: list[float] = field(default_factory=list)  # full-signal MSE per epoch (before its update)
    best_loss: float = math.inf
    best_epoch: int = -1
    seconds: float = 0.0
    stopped_by: str = "epochs"  # epochs, target_psnr, time_budget, patience, callback, diverged or interrupted
    guard_events: list[dict] = field(default_factory=list)  # the divergence guard's interventions
    val_loss: list[float] = field(default_factory=list)  # validate(model) per epoch, when given
    best_val_loss: float = math.inf
    seconds_at: list[float] = field(default_factory=list)  # training seconds at the end of each epoch
    lr: list[float] = field(default_factory=list)  # the learning rate of each epoch
    device: str = "cpu"
    engine: str = ""

    @property
    def interrupted(self) -> bool:
        return self.stopped_by == "interrupted"

    @property
    def stopped_early(self) -> bool:
        """Stopped before its epoch budget by a rule (not by Ctrl-C)."""
        return self.stopped_by not in ("epochs", "interrupted")

    @property
    def epochs_run(self) -> int:
        return len(self.loss)

    @property
    def psnr_history(self) -> list[float]:
        """psnr_paper per epoch: 10·log10(1/MSE) on [-1, 1] data."""
        return [10 * math.log10(1 / max(m, 1e-30)) if math.isfinite(m) else -math.inf for m in self.loss]

    @property
    def best_psnr(self) -> float:
        return 10 * math.log10(1 / max(self.best_loss, 1e-30))

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(len(self.loss), 1)

    def record(self) -> dict:
        """What metrics.json and config.json record of the run itself."""
        return {"epochs_run": self.epochs_run, "seconds": round(self.seconds, 3), "stopped_by": self.stopped_by,
                "best_epoch": self.best_epoch, "guard_events": self.guard_events}


def fit(model: nn.Module, signal, config: FitConfig | None = None, *, mask: np.ndarray | None = None,
        validate: Callable[[nn.Module], float] | None = None,
        callbacks: list[Callable[[int, nn.Module, float], bool | None]] | None = None, prior=None) -> FitResult:
    """Fit ``model`` to ``signal`` (its observed grid points where ``mask`` is 1, and its off-grid samples)
    and return the best state.

    One epoch is one full-batch step, or ⌈N/batch_size⌉ mini-batch steps followed by a full-signal
    evaluation; the lr follows ``config``'s schedule. The best state is the one with the lowest
    training loss, or, when ``validate(model)`` is given (e.g. the error on held-out samples), the
    lowest validation score after an epoch; then ``config.patience`` epochs without improvement
    (counted after the warm-up) stop the fit. Other stops: ``config.target_psnr`` (the training
    loss's psnr_paper reaches it), ``config.time_budget`` (seconds), a callback
    ``callbacks(epoch, model, loss)`` returning True, and Ctrl-C (the best state so far is kept;
    before the first epoch ends, KeyboardInterrupt propagates). The divergence guard (see
    :class:`FitConfig`) warns, restores the best state and halves the lr; ``stopped_by`` and
    ``guard_events`` say what happened. ``prior``: a penalty P(y) on the rendering of the whole grid
    (:mod:`siren2.priors`; full batch only) whose gradients join the loss's; the loss tracked is the MSE.
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
    best_state, stale, bad, lr_scale = _copy_state(model), 0, 0, 1.0
    warm_epochs = math.ceil(config.warmup * config.epochs) if config.schedule == "cosine" else 0
    gen = torch.Generator(device="cpu").manual_seed(config.seed)
    observed = None if mask_t is None else torch.nonzero(mask_t[:, 0] > 0)[:, 0]
    bar = _progress(config.epochs) if config.progress else None
    start = time.perf_counter()
    try:
        for epoch in range(config.epochs):
            lr = epoch_lr(config, epoch, time.perf_counter() - start) * lr_scale
            for group in optimizer.param_groups:
                group["lr"] = lr
            result.lr.append(lr)
            if batch is None:
                loss_value = float(step())
                if validate is None and loss_value < result.best_loss:
                    best_state = _copy_state(model)  # the state that produced this loss, before the update
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
                    best_state = _copy_state(model)
            result.loss.append(loss_value)
            result.seconds_at.append(time.perf_counter() - start)
            if validate is None:
                if loss_value < result.best_loss:
                    result.best_loss, result.best_epoch = loss_value, epoch
            else:
                result.best_loss = min(result.best_loss, loss_value)
                score = float(validate(model))
                result.val_loss.append(score)
                if score < result.best_val_loss:
                    result.best_val_loss, result.best_epoch, best_state, stale = score, epoch, _copy_state(model), 0
                elif epoch >= warm_epochs:  # the warm-up's rising rate is not a plateau: patience starts after it
                    stale += 1
            if bar is not None:
                bar.update(1)
                if epoch % 10 == 0 or epoch == config.epochs - 1:
                    bar.set_postfix(psnr=f"{result.psnr_history[-1]:.2f}", best=f"{result.best_psnr:.2f}")
            bad, acts = guard_count(config, loss_value, result.best_loss, bad)  # the divergence guard
            if acts:
                finite = math.isfinite(loss_value)
                lr_scale *= 0.5
                cause = "non-finite loss" if not finite else (
                    f"loss above {config.guard_factor:g}x its best for {bad} epochs")
                event = {"epoch": epoch, "cause": cause, "restored_epoch": result.best_epoch,
                         "lr_scale": lr_scale}
                result.guard_events.append(event)
                model.load_state_dict(best_state)
                if not finite:  # NaN moments would poison every later step; finite ones damp the restart
                    optimizer.state.clear()
                bad = 0
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
                      else "target_psnr" if config.target_psnr is not None and result.best_psnr >= config.target_psnr
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
        if bar is not None:
            bar.close()
        for p in model.parameters():
            p.grad = None
    result.seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    return result


def training_device(config: FitConfig) -> torch.device:
    """The device of ``config`` (:func:`pick_device`), its TF32 setting applied and torch's RNG seeded."""
    device = pick_device(config.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = config.tf32
    torch.manual_seed(config.seed)
    return device


def epoch_lr(config: FitConfig, epoch: int, elapsed: float) -> float:
    """The scheduled lr of ``epoch`` after ``elapsed`` training seconds: progress is the fraction of
    the epoch budget spent, or of ``time_budget``, whichever is further."""
    progress = epoch / config.epochs
    if config.time_budget is not None:
        progress = max(progress, elapsed / config.time_budget)
    return config.lr_at(epoch, min(progress, 1.0))


def guard_count(config: FitConfig, loss: float, best_loss: float, bad: int) -> tuple[int, bool]:
    """The divergence guard after an epoch of training loss ``loss`` (``best_loss`` includes it):
    the epochs in a row above guard_factor × best (``bad`` before it), and whether the guard acts
    (a non-finite loss, or guard_patience such epochs)."""
    finite = math.isfinite(loss)
    bad = bad + 1 if not finite or loss > config.guard_factor * best_loss else 0
    return bad, not finite or bad >= config.guard_patience


def _copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _progress(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="epoch", dynamic_ncols=True, leave=False)


@torch.no_grad()
def predict(model: nn.Module, coords: torch.Tensor, chunk_size: int = 262_144) -> torch.Tensor:
    """The model's output at ``coords``, in chunks, on the model's device; returns a CPU tensor."""
    device = next(model.parameters()).device
    outs = [model(coords[i : i + chunk_size].to(device)).cpu() for i in range(0, coords.shape[0], chunk_size)]
    return torch.cat(outs)


@torch.no_grad()
def evaluate_loss(model: nn.Module, coords: torch.Tensor, target: torch.Tensor,
                  mask: torch.Tensor | None = None) -> float:
    """Full-signal (masked) MSE."""
    r = predict(model, coords).to(target.device) - target
    if mask is None:
        return float(r.square().mean())
    return float((r.square() * mask).sum() / (mask.sum() * target.shape[1]))
