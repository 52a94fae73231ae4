"""``fit()``: the one training loop (Adam + StepLR, full batch or mini-batch, best-state copy).

The step itself (loss and gradients) comes from :func:`siren2.engine.make_step`; this module only
schedules it, tracks the loss and keeps a real copy of the best parameters (the reference code
keeps a reference, so it returns the final state; SPEC §6).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from .engine import make_step
from .models import fit_defaults
from .presets import get_preset


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
    """Training settings. Defaults are the paper's audio protocol (SPEC §5)."""

    epochs: int = 1000
    lr: float = 1e-4
    lr_step: int = 20  # StepLR step, in epochs
    lr_gamma: float = 0.99
    batch_size: int | None = None  # None: full batch, one step per epoch (the paper's SIREN)
    chunk_size: int | None = None  # split a full-batch step (gradient accumulation); None: by memory
    seed: int = 0
    device: str | None = None  # None: auto
    engine: str = "auto"  # "auto", "sine-mlp" or "autograd" (see siren2.engine)
    compile: bool | None = None  # fuse the sine step with torch.compile (CPU); None: when the run is long
    tf32: bool = False  # CUDA only: TF32 matrix products (faster, less exact); off as the paper
    patience: int | None = None  # with fit(validate=...): epochs without improvement before stopping
    progress: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, not {self.epochs}")
        for name in ("batch_size", "chunk_size", "patience"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")

    @classmethod
    def from_preset(cls, preset: str | None, in_dim: int = 1, model: str | None = None, **overrides) -> "FitConfig":
        """The preset's schedule, then model ``model``'s own defaults (e.g. FINER's 65,536-point
        batches, see :func:`siren2.models.fit_defaults`), then ``overrides`` (None: not given)."""
        _, p = get_preset(preset, in_dim)
        base = dict(epochs=p.epochs, lr=p.lr, lr_step=p.lr_step, lr_gamma=p.lr_gamma)
        model_defaults = fit_defaults(model) if model is not None else {}
        return cls(**(base | model_defaults | {k: v for k, v in overrides.items() if v is not None}))


@dataclass
class FitResult:
    """What a fit returns: the model (best state loaded), its loss history, timings."""

    model: nn.Module
    loss: list[float] = field(default_factory=list)  # full-signal MSE per epoch (before its update)
    best_loss: float = math.inf
    best_epoch: int = -1
    seconds: float = 0.0
    interrupted: bool = False
    stopped_early: bool = False  # by a callback, or by ``patience`` on the validation score
    val_loss: list[float] = field(default_factory=list)  # validate(model) per epoch, when given
    best_val_loss: float = math.inf
    device: str = "cpu"
    engine: str = ""

    @property
    def psnr_history(self) -> list[float]:
        """psnr_paper per epoch: 10·log10(1/MSE) on [-1, 1] data."""
        return [10 * math.log10(1 / max(m, 1e-30)) for m in self.loss]

    @property
    def best_psnr(self) -> float:
        return 10 * math.log10(1 / max(self.best_loss, 1e-30))

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(len(self.loss), 1)


def fit(model: nn.Module, signal, config: FitConfig | None = None, *, mask: np.ndarray | None = None,
        validate: Callable[[nn.Module], float] | None = None,
        callbacks: list[Callable[[int, nn.Module, float], bool | None]] | None = None) -> FitResult:
    """Fit ``model`` to ``signal`` (its observed points where ``mask`` is 1) and return the best state.

    One epoch is one full-batch step, or ⌈N/batch_size⌉ mini-batch steps followed by a full-signal
    evaluation. The best state is the one with the lowest training loss, or, when ``validate(model)``
    is given (e.g. the error on held-out samples), the lowest validation score after an epoch; then
    ``config.patience`` epochs without improvement stop the fit. ``callbacks(epoch, model, loss)``
    run after each epoch (snapshots, logging); one that returns True stops the fit. Ctrl-C stops the
    loop cleanly: the best state so far is kept and ``interrupted`` is set.
    """
    config = config or FitConfig()
    device = pick_device(config.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = config.tf32
    torch.manual_seed(config.seed)
    model = model.to(device)
    coords = signal.coords().to(device)
    target = signal.tensor().to(device)
    mask_t = None if mask is None else torch.as_tensor(np.asarray(mask), dtype=torch.float32).reshape(-1, 1).to(device)
    n = coords.shape[0]
    batch = config.batch_size if config.batch_size and config.batch_size < n else None
    step = make_step(model, coords, target, mask_t, batch_size=batch, chunk_size=config.chunk_size,
                     engine=config.engine, compile=config.compile, epochs=config.epochs)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.lr_step, gamma=config.lr_gamma)
    result = FitResult(model=model, device=str(device), engine=step.name)
    best_state, stale = None, 0
    gen = torch.Generator(device="cpu").manual_seed(config.seed)
    observed = None if mask_t is None else torch.nonzero(mask_t[:, 0] > 0)[:, 0]
    bar = _progress(config.epochs) if config.progress else None
    start = time.perf_counter()
    try:
        for epoch in range(config.epochs):
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
            scheduler.step()
            result.loss.append(loss_value)
            if validate is None:
                if loss_value < result.best_loss:
                    result.best_loss, result.best_epoch = loss_value, epoch
            else:
                result.best_loss = min(result.best_loss, loss_value)
                score = float(validate(model))
                result.val_loss.append(score)
                if score < result.best_val_loss:
                    result.best_val_loss, result.best_epoch, best_state, stale = score, epoch, _copy_state(model), 0
                else:
                    stale += 1
            if bar is not None:
                bar.update(1)
                if epoch % 10 == 0 or epoch == config.epochs - 1:
                    bar.set_postfix(psnr=f"{result.psnr_history[-1]:.2f}", best=f"{result.best_psnr:.2f}")
            stop = [bool(cb(epoch, model, loss_value)) for cb in callbacks or ()]
            if any(stop) or (validate is not None and config.patience is not None and stale >= config.patience):
                result.stopped_early = True
                break
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if bar is not None:
            bar.close()
        for p in model.parameters():
            p.grad = None
    result.seconds = time.perf_counter() - start
    if best_state is not None:
        model.load_state_dict(best_state)
    return result


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
