"""The training step: loss and gradients of the (masked) MSE, written into ``p.grad``.

[`make_step`][] picks the fastest exact step for a model:

* [`SineMLPStep`][] for a plain sine MLP (SIREN, SIREN²) in float32: a hand-written forward
  and backward over preallocated buffers. The forward rounds exactly as the model's own
  (z = addmm(b, a, Wᵀ), u = ω·z), which matters: with ω·W⁰ in the thousands, float32 rounding of
  u is visible at 60+ dB, and a fit must score the same when the saved model is evaluated. The
  bias rides in the GEMM, cos(u) overwrites u in place, the backward uses a copy ωW so no large
  tensor is rescaled, and the hidden width is zero-padded to a multiple of 8, where MKL's GEMMs
  run ~1.7x faster than at 222. On CPU, for runs long enough to repay a one-off compilation
  (~5–15 s), ``sin(ωz)`` and ``cos(ωz)`` come from one ``torch.compile``d loop: one read and two
  writes instead of three passes, and inductor's vectorized sin/cos are ~4x faster than ATen's
  (both within ~1e-7 of float64; see [`sine_activation`][]).
  Padding is exact: padded units have zero weights in and out, so sin(0) = 0 and their gradients
  are exactly zero; only the real slices are copied back, so it never shows outside this module.
* [`AutogradStep`][] for every other model: plain autograd.

Both take the full signal (optionally in chunks whose gradients are summed, for signals larger
than memory) or a mini-batch of point indices, and return the loss before the update.
[`BatchedStep`][] is the step of K models of one architecture as one (``fit_batched``): their
stacked parameters through one ``torch.vmap`` over ``functional_call``. [`predict`][] renders a
model at any coordinates, in chunks.
"""

from __future__ import annotations

import copy
import ctypes
import sys
import warnings

import torch
from torch import nn
from torch.func import functional_call

from .models.layers import INR, Sine

__all__ = ["make_step", "AutogradStep", "SineMLPStep", "BatchedStep", "supports_sine_mlp", "predict", "evaluate_loss",
           "auto_chunk_size", "chunks", "tune_malloc", "sine_activation", "DEFAULT_MEMORY_BUDGET", "COMPILE_MIN_WORK"]

DEFAULT_MEMORY_BUDGET = 2 * 2**30  # bytes of activations one step may hold
# Element-epochs (epochs × points × hidden units) above which compiling the activation pays:
# it saves ~1 ns per element per epoch on a 2-core CPU, against ~5–15 s of compilation.
COMPILE_MIN_WORK = 5e10


def tune_malloc() -> bool:
    """Keep glibc from mmap-ing and trimming large blocks (Linux, CPU).

    Each fresh 100+ MB tensor is otherwise mmap'd and page-faulted anew every step (~45 ms each
    here), which alone costs autograd steps ~2.5x. Process-wide and harmless.

    Returns
    -------
    bool
        Whether both settings took effect (False off Linux, or without glibc's ``mallopt``).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
        return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**30))
    except (OSError, AttributeError):
        return False


def masked_target(target: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Zero the target where unobserved (so garbage there cannot leak) and make the mask (N, 1) float."""
    if mask is None:
        return target, None
    mask = mask.reshape(-1, 1).to(target.dtype)
    return target * mask, mask


def _sine_activation_eager(z: torch.Tensor, a: torch.Tensor, omega: torch.Tensor) -> None:
    z.mul_(omega)
    torch.sin(z, out=a)
    torch.cos(z, out=z)


def _sine_activation_fused(z: torch.Tensor, a: torch.Tensor, omega: torch.Tensor) -> None:
    u = z * omega
    a.copy_(torch.sin(u))
    z.copy_(torch.cos(u))


_COMPILED = None


def sine_activation(compiled: bool):
    """The in-place sine step ``f(z, a, ω)``: a ← sin(ω·z) and z ← cos(ω·z).

    Parameters
    ----------
    compiled
        True: the ``torch.compile``d fused loop (compiled once per process, with dynamic shapes so
        chunk and batch sizes do not recompile); if compilation fails (no C++ compiler, say) it warns
        and returns the eager version. False: the eager version.

    Returns
    -------
    callable
        ``f(z, a, omega)`` with ``omega`` a 0-d tensor; returns None.
    """
    global _COMPILED
    if not compiled:
        return _sine_activation_eager
    if _COMPILED is None:
        try:
            fn = torch.compile(_sine_activation_fused, dynamic=True)
            z = torch.zeros(17, 8)
            fn(z, torch.empty_like(z), torch.tensor(1.0))  # compile now, not inside the first step
            _COMPILED = fn
        except Exception as e:  # noqa: BLE001 — any compiler failure means: run eager
            warnings.warn(f"torch.compile unavailable ({type(e).__name__}); using the eager sine step", stacklevel=2)
            _COMPILED = _sine_activation_eager
    return _COMPILED


class AutogradStep:
    """Loss and gradients by autograd, for any model.

    Calling it, ``step(idx=None)``, fills ``p.grad`` and returns the (masked) MSE before the update:
    of the whole signal (in chunks), or of the mini-batch of point indices ``idx``.

    Parameters
    ----------
    model
        The model.
    coords
        (N, d) coordinates.
    target
        (N, C) values.
    mask
        (N,) or (N, 1), 1 where observed; None: all observed.
    chunk_size
        Points per chunk of a full-batch step (gradients summed); None: all at once.
    prior : callable, optional
        P(y) of the rendering of the whole grid, whose gradients join the loss's in full-batch steps
        (never chunked then).
    """

    name = "autograd"

    def __init__(self, model: nn.Module, coords: torch.Tensor, target: torch.Tensor,
                 mask: torch.Tensor | None = None, chunk_size: int | None = None, prior=None) -> None:
        self.model, self.coords, self.prior = model, coords, prior
        self.target, self.mask = masked_target(target, mask)
        self.chunk_size = coords.shape[0] if prior is not None else chunk_size or coords.shape[0]
        self.params = [p for p in model.parameters() if p.requires_grad]

    def __call__(self, idx: torch.Tensor | None = None) -> torch.Tensor:
        for p in self.params:
            p.grad = None
        parts = chunks(self.coords.shape[0], self.chunk_size, idx)
        denom = _denominator(self.target, self.mask, idx)
        total = torch.zeros((), device=self.coords.device)
        for sel in parts:
            x, t = self.coords[sel], self.target[sel]
            y = self.model(x)
            r = y - t
            if self.mask is not None:
                r = r * self.mask[sel]
            loss = r.square().sum() / denom
            (loss if self.prior is None or idx is not None else loss + self.prior(y)).backward()
            total += loss.detach()
        return total


class SineMLPStep:
    """Hand-written forward and backward for an INR whose hidden blocks are all Linear + Sine (float32).

    Calling it, ``step(idx=None)``, fills ``p.grad`` and returns the (masked) MSE before the update,
    as [`AutogradStep`][] does, over preallocated buffers with the hidden width zero-padded to a
    multiple of ``pad_to`` (see the module docstring).

    Parameters
    ----------
    model
        A plain sine MLP ([`supports_sine_mlp`][]).
    coords
        (N, d) coordinates.
    target
        (N, C) values.
    mask
        (N,) or (N, 1), 1 where observed; None: all observed.
    chunk_size
        Points per chunk of a full-batch step; None: all at once.
    batch_size
        The largest mini-batch it will be given (its buffers' size); None: full batch only.
    pad_to
        Pad each hidden width to a multiple of this.
    compiled
        Use the ``torch.compile``d activation ([`sine_activation`][]; CPU only).
    prior : callable, optional
        P(y) of the rendering of the whole grid, whose gradient joins the loss's (never chunked then).

    Raises
    ------
    ValueError
        If ``model`` is not an INR of Linear + Sine blocks in float32.
    """

    def __init__(self, model: INR, coords: torch.Tensor, target: torch.Tensor,
                 mask: torch.Tensor | None = None, chunk_size: int | None = None,
                 batch_size: int | None = None, pad_to: int = 8, compiled: bool = False, prior=None) -> None:
        if not supports_sine_mlp(model):
            raise ValueError("SineMLPStep needs an INR of Linear+Sine blocks in float32")
        self.model, self.coords, self.prior = model, coords, prior
        dev, n = coords.device, coords.shape[0]
        chunk_size = n if prior is not None else chunk_size
        self.target, self.mask = masked_target(target, mask)
        self.blocks = list(model.hidden)
        self.omegas = [b.act.omega for b in self.blocks]
        self._omega_t = [torch.tensor(om, device=dev) for om in self.omegas]
        self.activate = sine_activation(compiled and dev.type == "cpu")
        self.name = "sine-mlp" if self.activate is _sine_activation_eager else "sine-mlp+compiled"
        pad = lambda k: -(-k // pad_to) * pad_to  # noqa: E731
        widths = [b.linear.out_features for b in self.blocks]
        ins = [model.hidden[0].linear.in_features] + [pad(w) for w in widths[:-1]]
        outs = [pad(w) for w in widths]
        zeros = lambda *s: torch.zeros(*s, device=dev)  # noqa: E731
        # Padded weights W, b, the backward's ωW, their gradients (w.r.t. W and b); then the head's.
        self.W = [zeros(o, i) for o, i in zip(outs, ins)]
        self.Ww = [zeros(o, i) for o, i in zip(outs, ins)]
        self.b = [zeros(o) for o in outs]
        self.dW = [torch.zeros_like(w) for w in self.W]
        self.db = [torch.zeros_like(b) for b in self.b]
        c = model.head.out_features
        self.Wo, self.bo = zeros(c, outs[-1]), zeros(c)
        self.dWo, self.dbo = torch.zeros_like(self.Wo), torch.zeros_like(self.bo)
        # Activation buffers for one chunk (or batch): a_l = sin(u_l), c_l = cos(u_l), two δ buffers.
        rows = min(n, batch_size or chunk_size or n)
        self.chunk_size = chunk_size or n
        self.a = [zeros(rows, o) for o in outs]
        self.c = [zeros(rows, o) for o in outs]
        self.delta = [zeros(rows * max(outs)), zeros(rows * max(outs))]  # flat: viewed as (n, width)
        self.y = zeros(rows, c)
        if batch_size:
            self.xb = zeros(batch_size, coords.shape[1])
            self.tb = zeros(batch_size, c)
            self.mb = zeros(batch_size, 1) if self.mask is not None else None

    @torch.no_grad()
    def _load_params(self) -> None:
        for blk, om, W, Ww, b in zip(self.blocks, self.omegas, self.W, self.Ww, self.b):
            o, i = blk.linear.weight.shape
            W[:o, :i].copy_(blk.linear.weight)
            torch.mul(blk.linear.weight, om, out=Ww[:o, :i])
            b[:o].copy_(blk.linear.bias)
        c, h = self.model.head.weight.shape
        self.Wo[:, :h].copy_(self.model.head.weight)
        self.bo.copy_(self.model.head.bias)
        for g in self.dW + self.db + [self.dWo, self.dbo]:
            g.zero_()

    @torch.no_grad()
    def _store_grads(self) -> None:
        for blk, om, dW, db in zip(self.blocks, self.omegas, self.dW, self.db):
            o, i = blk.linear.weight.shape
            blk.linear.weight.grad = dW[:o, :i] * om
            blk.linear.bias.grad = db[:o] * om
        self.model.head.weight.grad = self.dWo[:, : self.model.head.in_features].clone()
        self.model.head.bias.grad = self.dbo.clone()

    @torch.no_grad()
    def _accumulate(self, x: torch.Tensor, t: torch.Tensor, m: torch.Tensor | None, denom) -> torch.Tensor:
        """Forward and backward on one chunk; adds its gradients; returns its share of the loss."""
        n = x.shape[0]
        h = x
        for W, b, a, c, om in zip(self.W, self.b, self.a, self.c, self._omega_t):
            u = c[:n]
            torch.addmm(b, h, W.t(), out=u)
            self.activate(u, a[:n], om)  # a = sin(ωu), then u is overwritten by cos(ωu)
            h = a[:n]
        y = self.y[:n]
        torch.addmm(self.bo, h, self.Wo.t(), out=y)
        prior_grad = self._prior_grad(y) if self.prior is not None and n == self.coords.shape[0] else None
        y.sub_(t)  # residual r
        if m is not None:
            y.mul_(m)
        loss = y.square().sum() / denom
        y.mul_(2.0 / denom)  # g = dL/dy
        if prior_grad is not None:
            y.add_(prior_grad)
        self.dWo.addmm_(y.t(), h)
        self.dbo.add_(y.sum(0))
        buf = 0
        d = self._delta(buf, n, self.W[-1].shape[0])
        torch.mm(y, self.Wo, out=d)  # dL/da_L
        for l in range(len(self.W) - 1, -1, -1):
            d.mul_(self.c[l][:n])  # δ_l = dL/du_l = dL/da_l · cos(u_l); dL/dz_l = ω δ_l
            prev = self.a[l - 1][:n] if l > 0 else x
            self.dW[l].addmm_(d.t(), prev)
            self.db[l].add_(d.sum(0))
            if l > 0:
                buf = 1 - buf
                d_prev = self._delta(buf, n, self.W[l].shape[1])
                torch.mm(d, self.Ww[l], out=d_prev)  # dL/da_{l-1} = δ_l (ωW_l)
                d = d_prev
        return loss

    def _prior_grad(self, y: torch.Tensor) -> torch.Tensor:
        """dP/dy of the prior P at the rendering ``y`` of the whole grid."""
        with torch.enable_grad():
            leaf = y.detach().clone().requires_grad_(True)
            return torch.autograd.grad(self.prior(leaf), leaf)[0]

    def _delta(self, k: int, n: int, width: int) -> torch.Tensor:
        return self.delta[k][: n * width].view(n, width)

    def __call__(self, idx: torch.Tensor | None = None) -> torch.Tensor:
        self._load_params()
        denom = _denominator(self.target, self.mask, idx)
        total = torch.zeros((), device=self.coords.device)
        if idx is not None:
            b = idx.shape[0]
            torch.index_select(self.coords, 0, idx, out=self.xb[:b])
            torch.index_select(self.target, 0, idx, out=self.tb[:b])
            m = None
            if self.mask is not None:
                m = torch.index_select(self.mask, 0, idx, out=self.mb[:b])
            total += self._accumulate(self.xb[:b], self.tb[:b], m, denom)
        else:
            for sel in chunks(self.coords.shape[0], self.chunk_size):
                m = self.mask[sel] if self.mask is not None else None
                total += self._accumulate(self.coords[sel], self.target[sel], m, denom)
        self._store_grads()
        return total


def supports_sine_mlp(model: nn.Module) -> bool:
    """Whether [`SineMLPStep`][] applies to ``model``.

    Parameters
    ----------
    model
        Any model.

    Returns
    -------
    bool
        True for an [`INR`][] without an encoding, whose hidden blocks are
        ``nn.Linear`` + [`Sine`][], with a linear head and float32 parameters.
    """
    return (
        isinstance(model, INR)
        and isinstance(model.encoding, nn.Identity)
        and all(isinstance(b.act, Sine) and isinstance(b.linear, nn.Linear) for b in model.hidden)
        and isinstance(model.head, nn.Linear)
        and all(p.dtype == torch.float32 for p in model.parameters())
    )


def chunks(n: int, chunk: int, idx: torch.Tensor | None = None) -> list:
    """The point selections of one step.

    Parameters
    ----------
    n
        The number of points.
    chunk
        Points per slice.
    idx
        A mini-batch of point indices, taken whole.

    Returns
    -------
    list
        ``[idx]``, else slices of ``chunk`` of the n points.
    """
    if idx is not None:
        return [idx]
    return [slice(i, min(i + chunk, n)) for i in range(0, n, chunk)]


def _denominator(target: torch.Tensor, mask: torch.Tensor | None, idx: torch.Tensor | None) -> float:
    """The MSE's count: observed points × channels (of the batch, if one is given)."""
    c = target.shape[1]
    if mask is None:
        return float((target.shape[0] if idx is None else idx.shape[0]) * c)
    observed = mask.sum() if idx is None else mask[idx].sum()
    return float(observed.item() * c)


def auto_chunk_size(model: nn.Module, n: int, budget: int = DEFAULT_MEMORY_BUDGET) -> int:
    """Points per chunk so that one step's activations stay under ``budget`` bytes.

    A sine MLP keeps two (n, H) float32 tensors per hidden layer (sin and cos) plus two δ buffers:
    about 4·(2L + 2)·H bytes per point; autograd keeps roughly twice that.

    Parameters
    ----------
    model
        The model (its linear layers' widths).
    n
        The number of points.
    budget
        Bytes of activations one step may hold.

    Returns
    -------
    int
        At least 1024, at most ``n``.
    """
    widths = [m.out_features for m in model.modules() if isinstance(m, nn.Linear)]
    per_point = 4 * (2 * len(widths) + 2) * max(widths, default=1)
    if not supports_sine_mlp(model):
        per_point *= 2
    return max(1024, min(n, budget // per_point))


def make_step(model: nn.Module, coords: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
              *, batch_size: int | None = None, chunk_size: int | None = None, engine: str = "auto",
              compile: bool | None = None, epochs: int = 1, prior=None):
    """The training step for ``model``: ``step(idx=None) -> loss`` fills ``p.grad``.

    Parameters
    ----------
    model
        The model.
    coords
        (N, d) coordinates.
    target
        (N, C) values.
    mask
        1 where observed; None: all observed.
    batch_size
        The mini-batch size the step will be given; None: full batch.
    chunk_size
        Splits a full-batch step; None: by a 2 GiB activation budget ([`auto_chunk_size`][]).
    engine
        "auto" (the fused sine-MLP step where it applies, else autograd), "sine-mlp" or "autograd".
    compile
        Fuse the sine-MLP activation with ``torch.compile`` (CPU); None decides by the run's size,
        ``epochs`` × points × hidden units ≥ `COMPILE_MIN_WORK`.
    epochs
        The run's epochs, for that decision.
    prior : callable, optional
        P(y) of the rendering of the whole grid ([`siren2.restoration.priors`][]), added to the loss's
        gradients in full-batch steps (never chunked then); the returned loss stays the data term.

    Returns
    -------
    SineMLPStep or AutogradStep

    Raises
    ------
    ValueError
        If ``engine`` is unknown, a ``prior`` comes with mini-batches, or "sine-mlp" is asked of a
        model it does not support.
    """
    if engine not in ("auto", "sine-mlp", "autograd"):
        raise ValueError(f"unknown engine {engine!r}")
    if prior is not None and batch_size:
        raise ValueError("a prior acts on the rendering of the whole grid: it needs full-batch steps")
    if coords.device.type == "cpu":
        tune_malloc()
    chunk_size = chunk_size or auto_chunk_size(model, coords.shape[0])
    if engine == "sine-mlp" or (engine == "auto" and supports_sine_mlp(model)):
        if compile is None:
            units = sum(b.linear.out_features for b in model.hidden)
            compile = coords.device.type == "cpu" and epochs * coords.shape[0] * units >= COMPILE_MIN_WORK
        return SineMLPStep(model, coords, target, mask, chunk_size=chunk_size, batch_size=batch_size,
                           compiled=compile, prior=prior)
    return AutogradStep(model, coords, target, mask, chunk_size=chunk_size, prior=prior)


class BatchedStep:
    """Loss and gradients of K stacked models of one architecture, as one ``torch.vmap``.

    Calling it, ``step()``, returns the K losses MSE_k (before the update) and fills the stacked
    parameters' ``.grad`` with ∇ Σ_k MSE_k.

    Parameters
    ----------
    model
        One of the K models (its architecture only is used).
    params, buffers
        The K models' stacked parameters and buffers (``torch.func.stack_module_state``).
    coords
        (K, N, d) coordinates.
    targets
        (K, N, C) values.
    chunk_size
        Points per chunk.
    """

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


@torch.no_grad()
def predict(model: nn.Module, coords: torch.Tensor, chunk_size: int = 262_144) -> torch.Tensor:
    """The model's output at ``coords``, in chunks, on the model's device.

    Parameters
    ----------
    model
        The model.
    coords
        (N, d) coordinates.
    chunk_size
        Points per forward pass.

    Returns
    -------
    Tensor
        (N, C) on the CPU.
    """
    device = next(model.parameters()).device
    outs = [model(coords[i : i + chunk_size].to(device)).cpu() for i in range(0, coords.shape[0], chunk_size)]
    return torch.cat(outs)


@torch.no_grad()
def evaluate_loss(model: nn.Module, coords: torch.Tensor, target: torch.Tensor,
                  mask: torch.Tensor | None = None) -> float:
    """The full-signal (masked) MSE.

    Parameters
    ----------
    model
        The model.
    coords
        (N, d) coordinates.
    target
        (N, C) values.
    mask
        (N, 1), 1 where observed; None: all observed.

    Returns
    -------
    float
    """
    r = predict(model, coords).to(target.device) - target
    if mask is None:
        return float(r.square().mean())
    return float((r.square() * mask).sum() / (mask.sum() * target.shape[1]))
