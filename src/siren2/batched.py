"""``fit_batched()``: K networks of one architecture, each fitting its own signal on one grid, trained
as one step.

The K parameter sets θ_1..θ_K are stacked along a new leading axis
(:func:`torch.func.stack_module_state`) and the K forward passes run as one ``torch.vmap`` over
:func:`torch.func.functional_call`, so any registered model works (complex WIRE included). The loss
is Σ_k MSE_k, whose gradient w.r.t. θ_k is model k's own, and one Adam over the stacked tensors is
K separate Adams (Adam is elementwise). Each model keeps its own loss history and best state (the
lowest training loss, recorded before the update, as :func:`~siren2.train.fit`), so the K results
equal K separate ``fit()`` calls to float rounding.

Supported: full-batch fits (in chunks of points where ``chunk_size`` or memory asks), either
schedule, ``target_psnr`` (a model that reaches it stops: its history and best state freeze while
the others train on), Ctrl-C (every best state so far is kept). The divergence guard watches each
model; a model it would act on (by halving that model's lr, which one shared Adam step cannot) is
refitted alone with ``fit()`` from its initial state, so its result is still its separate fit's.
Refused (ValueError): mini-batches, ``time_budget`` (one clock cannot keep K budgets) and
``patience`` (it needs ``fit(validate=...)``). ``engine`` and ``compile`` choose ``fit()``'s
single-model step and do not apply. Times (``seconds``, ``seconds_at``) are the batch's clock.
"""

from __future__ import annotations

import copy
import itertools
import time
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call, stack_module_state

from .engine import DEFAULT_MEMORY_BUDGET, auto_chunk_size, chunks, tune_malloc
from .signal import Signal
from .train import FitConfig, FitResult, _progress, epoch_lr, fit, guard_count, training_device


class BatchedStep:
    """Loss and gradients of K stacked models: ``step()`` returns the K losses MSE_k (before the
    update) and fills the stacked parameters' ``.grad`` with ∇ Σ_k MSE_k."""

    name = "batched"

    def __init__(self, model: nn.Module, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor],
                 coords: torch.Tensor, targets: torch.Tensor, chunk_size: int) -> None:
        base = copy.deepcopy(model).to("meta")  # the architecture only: the stacked tensors stand in for its own
        self.forward = torch.vmap(lambda p, b, x: functional_call(base, (p, b), (x,)))
        self.params, self.buffers = params, buffers
        self.coords, self.targets = coords, targets  # (K, N, d), (K, N, C)
        self.chunk_size = chunk_size

    def __call__(self) -> torch.Tensor:
        for p in self.params.values():
            p.grad = None
        k, n, c = self.targets.shape
        total = torch.zeros(k, device=self.targets.device)
        for sel in chunks(n, self.chunk_size):
            r = self.forward(self.params, self.buffers, self.coords[:, sel]) - self.targets[:, sel]
            loss = r.square().sum((1, 2)) / (n * c)
            loss.sum().backward()
            total += loss.detach()
        return total


def fit_batched(models: list[nn.Module], signals: list[Signal], config: FitConfig | None = None, *,
                on_epoch: Callable[[int, list[int]], None] | None = None) -> list[FitResult]:
    """Fit ``models[k]`` to ``signals[k]`` for every k, as one batched step per epoch, and return the
    K results; each model ends holding its best state, as after K :func:`~siren2.train.fit` calls.

    The models must share one architecture and the signals one grid and channel count; see the
    module's docstring for the settings of ``config`` that are supported. ``on_epoch(epoch, ks)``
    runs after each epoch with the models ``ks`` that trained in it (a progress hook).
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
    running, diverged, bad = list(range(len(models))), [], [0] * len(models)
    bar = _progress(config.epochs) if config.progress else None
    start = time.perf_counter()
    try:
        for epoch in range(config.epochs):
            lr = epoch_lr(config, epoch, time.perf_counter() - start)
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
            now = time.perf_counter() - start
            for k in list(running):
                r = results[k]
                r.loss.append(losses[k])
                r.seconds_at.append(now)
                if losses[k] < r.best_loss:
                    r.best_loss, r.best_epoch = losses[k], epoch
                bad[k], acts = guard_count(config, losses[k], r.best_loss, bad[k])
                if acts or (config.target_psnr is not None and r.best_psnr >= config.target_psnr):
                    running.remove(k)
                    if acts:
                        diverged.append(k)
                    else:
                        r.stopped_by = "target_psnr"
            if bar is not None:
                bar.update(1)
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
        if bar is not None:
            bar.close()
    for k, (model, r) in enumerate(zip(models, results)):
        if k in diverged:
            results[k] = fit(model, signals[k], config)  # the model still holds its initial state
        else:
            r.seconds = r.seconds_at[-1]
            model.load_state_dict(model.state_dict() | {name: t[k] for name, t in best.items()})
    return results


def check_batch(models: list[nn.Module], signals: list[Signal], config: FitConfig) -> None:
    """Refuse (ValueError) what :func:`fit_batched` cannot run as K separate fits: models of
    different architectures, signals on different grids, and the settings it does not support."""
    if not models or len(models) != len(signals):
        raise ValueError(f"fit_batched needs one signal per model, not {len(models)} models and {len(signals)} signals")
    if len({id(m) for m in models}) < len(models):
        raise ValueError("fit_batched needs distinct models: the same model object appears twice")
    first = _architecture(models[0])
    for k, m in enumerate(models[1:], 1):
        for a, b in itertools.zip_longest(first, _architecture(m), fillvalue="nothing"):
            if a != b:
                raise ValueError(f"fit_batched needs models of one architecture: model {k} has {b.strip()!r} "
                                 f"where model 0 has {a.strip()!r}")
    for k, s in enumerate(signals[1:], 1):
        if (s.grid, s.channels, s.num_samples) != (signals[0].grid, signals[0].channels, signals[0].num_samples):
            raise ValueError(f"fit_batched needs signals on one grid: signal {k} is {_shape(s)}, "
                             f"signal 0 is {_shape(signals[0])}")
    reason = unsupported(config, signals[0].num_samples)
    if reason:
        raise ValueError(f"fit_batched {reason}")


def unsupported(config: FitConfig, num_points: int) -> str | None:
    """Why :func:`fit_batched` cannot run ``config`` on signals of ``num_points`` points (None: it can)."""
    if config.batch_size is not None and config.batch_size < num_points:
        return (f"trains full batch only: batch_size {config.batch_size} is below the signals' {num_points} points "
                "(use fit() for mini-batches)")
    if config.time_budget is not None:
        return "does not take time_budget: K fits share one clock (use fit())"
    if config.patience is not None:
        return "does not take patience: it needs a validation score (use fit(validate=...))"
    return None


def _architecture(model: nn.Module) -> list[str]:
    """What K models must share to run as one: the module tree with its settings (ω, σ, ...) and
    every tensor's name, shape and dtype."""
    tensors = [*model.named_parameters(), *model.named_buffers()]
    return repr(model).splitlines() + [f"{name} {tuple(t.shape)} {t.dtype}" for name, t in tensors]


def _shape(signal: Signal) -> str:
    off = f" and {signal.num_samples - signal.num_points} off-grid samples" if signal.off_grid is not None else ""
    return f"{'x'.join(map(str, signal.grid))} with {signal.channels} channel(s){off}"
