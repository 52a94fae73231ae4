"""The empirical neural tangent kernel of an INR (docs/method.md#analysis-tools).

For n points x_i and the P trainable parameters θ, J_c (n × P) holds the per-point gradients
∂f_c(x_i)/∂θ of output channel c, and K_c = J_c·J_cᵀ / n² (n × n). Its eigenpairs (λ_i, v_i),
λ descending, give the decay curve, and the eigenvalue-weighted Fourier spectrum
S_c(f) = Σ_i λ_i |FFT(v_i)(f)|² / n tells which frequencies gradient descent fits fast. (S is the
diagonal of F·K·Fᴴ / n: the kernel's own power at f.)

J is computed with ``torch.func``: ``vmap(jacrev(f))`` over chunks of points, f calling the
model through ``functional_call``; complex parameters (WIRE) enter as (real, imaginary) pairs.

Memory: J is C·n·P float32 values and K is C·n²; one chunk of m points adds about 3·m·C·P values
(its Jacobian, a copy, autograd's buffers), and the float64 eigendecomposition with its FFT 4·n²
float64 values (see [`ntk_memory_bytes`][]). J dominates: n = 2048 points on paper_audio (P = 149,185) is 1.2 GB.
Anything over ``memory_budget`` (default 4 GiB) is refused before allocating.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

from ..errors import InputError
from ..models.layers import num_parameters
from .spectra import frequencies, weighted_power

__all__ = ["DEFAULT_NTK_BUDGET", "DEFAULT_CHUNK", "ntk_memory_bytes", "check_ntk_memory", "parameter_jacobian",
           "empirical_ntk", "NTKSpectrum", "eigen_spectrum", "ntk_spectrum"]

GiB = 2**30
DEFAULT_NTK_BUDGET = 4 * GiB
DEFAULT_CHUNK = 128


def ntk_memory_bytes(n: int, parameters: int, channels: int = 1, chunk_size: int = DEFAULT_CHUNK) -> int:
    """Peak bytes of [`empirical_ntk`][] and [`eigen_spectrum`][], as planned.

    4·C·(n·P + 3·m·P + n²) for J, one chunk of m points and K (float32), plus 8·4·n² for the float64
    eigendecomposition and the FFT of its eigenvectors.

    Parameters
    ----------
    n
        Points.
    parameters
        Trainable parameters P.
    channels
        Output channels C.
    chunk_size
        Points per chunk, m.

    Returns
    -------
    int
    """
    m = min(chunk_size, n)
    return 4 * channels * (n * parameters + 3 * m * parameters + n * n) + 32 * n * n


def check_ntk_memory(n: int, parameters: int, channels: int = 1, chunk_size: int = DEFAULT_CHUNK,
                     memory_budget: float = DEFAULT_NTK_BUDGET) -> int:
    """The planned bytes of an NTK analysis, checked against ``memory_budget``.

    Parameters
    ----------
    n
        Points.
    parameters
        Trainable parameters P.
    channels
        Output channels C.
    chunk_size
        Points per chunk.
    memory_budget
        Bytes.

    Returns
    -------
    int
        [`ntk_memory_bytes`][].

    Raises
    ------
    InputError
        Naming the limit and how many points would fit, when the plan exceeds ``memory_budget``.
    """
    need = ntk_memory_bytes(n, parameters, channels, chunk_size)
    if need > memory_budget:
        largest = int((memory_budget / 4 / channels - 3 * min(chunk_size, n) * parameters) / parameters)
        raise InputError(
            f"empirical NTK of {n} points x {parameters:,} parameters x {channels} channel(s) needs about "
            f"{need / GiB:.2f} GiB (J is n x P float32), over the memory budget of {memory_budget / GiB:.2f} GiB; "
            f"use fewer points (about {max(largest, 0):,} fit) or raise the budget")
    return need


def parameter_jacobian(model: nn.Module, coords: torch.Tensor, chunk_size: int = DEFAULT_CHUNK) -> torch.Tensor:
    """J (C, n, P): per-point gradients of each output channel w.r.t. every trainable parameter.

    In ``model.named_parameters()`` order, a complex parameter as its real, then imaginary parts.

    Parameters
    ----------
    model
        The model.
    coords
        (n, d) coordinates.
    chunk_size
        Points per ``vmap(jacrev)`` call.

    Returns
    -------
    Tensor
        (C, n, P) on the model's device.
    """
    named = [(k, p.detach()) for k, p in model.named_parameters() if p.requires_grad]
    names = [k for k, _ in named]
    is_complex = [p.is_complex() for _, p in named]
    flat = tuple(torch.view_as_real(p) if c else p for (_, p), c in zip(named, is_complex))
    device = flat[0].device

    def f(params, x):
        values = {k: torch.view_as_complex(p) if c else p for k, p, c in zip(names, params, is_complex)}
        return functional_call(model, values, (x[None],))[0]  # (C,)

    per_point = vmap(jacrev(f), in_dims=(None, 0))
    n, total = coords.shape[0], sum(p.numel() for p in flat)
    J = None
    for start in range(0, n, chunk_size):
        x = coords[start : start + chunk_size].to(device)
        jac = per_point(flat, x)  # tuple of (m, C, *shape)
        block = torch.cat([j.reshape(j.shape[0], j.shape[1], -1) for j in jac], dim=2)  # (m, C, P)
        if J is None:
            J = torch.empty(block.shape[1], n, total, dtype=block.dtype, device=device)
        J[:, start : start + x.shape[0]] = block.transpose(0, 1)
        del jac, block
    return J


def empirical_ntk(model: nn.Module, coords: torch.Tensor, chunk_size: int = DEFAULT_CHUNK,
                  memory_budget: float = DEFAULT_NTK_BUDGET) -> torch.Tensor:
    """K (C, n, n) = J_c·J_cᵀ / n² per output channel, after checking the memory plan.

    Parameters
    ----------
    model
        The model.
    coords
        (n, d) coordinates.
    chunk_size
        Points per chunk of J.
    memory_budget
        Bytes ([`check_ntk_memory`][]).

    Returns
    -------
    Tensor
        (C, n, n), exactly symmetric.

    Raises
    ------
    InputError
        If the plan exceeds ``memory_budget``.
    """
    n = coords.shape[0]
    channels = _channels(model, coords)
    check_ntk_memory(n, num_parameters(model), channels, chunk_size, memory_budget)
    J = parameter_jacobian(model, coords, chunk_size)
    K = torch.stack([J[c] @ J[c].T for c in range(J.shape[0])]) / n**2
    return (K + K.transpose(1, 2)) / 2  # exact symmetry (the product is symmetric up to rounding)


def _channels(model: nn.Module, coords: torch.Tensor) -> int:
    device = next(model.parameters()).device
    with torch.no_grad():
        return model(coords[:1].to(device)).shape[-1]


@dataclass
class NTKSpectrum:
    """What one NTK analysis keeps: per channel the eigenvalues and the eigen-spectrum S_c(f).

    Attributes
    ----------
    eigenvalues
        (C, n), descending.
    freqs
        The frequencies of ``spectrum``, in cycles per sample of the full grid.
    spectrum
        (C, F): S_c(f) = Σ_i λ_i |FFT(v_i)(f)|² / n.
    seconds
        Wall time of J, K and the eigendecomposition.
    n
        Points.
    parameters
        Trainable parameters P.
    """

    eigenvalues: np.ndarray
    freqs: np.ndarray
    spectrum: np.ndarray
    seconds: float  # wall time of J, K and the eigendecomposition
    n: int
    parameters: int


def eigen_spectrum(K: torch.Tensor, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The eigenvalues of K and its eigenvalue-weighted spectrum S_c(f) = Σ_i λ_i |FFT(v_i)|² / n.

    Parameters
    ----------
    K
        (C, n, n), its points laid out row-major on ``shape``.
    shape
        The regular grid (1-D, or 2-D radially averaged).

    Returns
    -------
    eigenvalues : ndarray
        (C, n), descending.
    spectrum : ndarray
        (C, F).
    """
    values, spectra = [], []
    for Kc in K.detach().cpu().double().numpy():
        lam, vec = np.linalg.eigh(Kc)
        lam, vec = lam[::-1], vec[:, ::-1]
        values.append(lam)
        spectra.append(weighted_power(vec, shape, weights=lam))
    return np.stack(values), np.stack(spectra)


def ntk_spectrum(model: nn.Module, coords: torch.Tensor, shape: tuple[int, ...], stride: int = 1,
                 chunk_size: int = DEFAULT_CHUNK, memory_budget: float = DEFAULT_NTK_BUDGET) -> NTKSpectrum:
    """The NTK analysis of ``model`` at ``coords``.

    Parameters
    ----------
    model
        The model.
    coords
        (n, d): n points on the regular sub-grid ``shape``.
    shape
        The sub-grid's shape ([`subgrid`][siren2.analysis.spectra.subgrid]).
    stride
        Its spacing, in samples of the signal's grid.
    chunk_size
        Points per chunk of J.
    memory_budget
        Bytes ([`check_ntk_memory`][]).

    Returns
    -------
    NTKSpectrum

    Raises
    ------
    InputError
        If the plan exceeds ``memory_budget``.
    """
    start = time.perf_counter()
    K = empirical_ntk(model, coords, chunk_size, memory_budget)
    lam, spec = eigen_spectrum(K, shape)
    return NTKSpectrum(eigenvalues=lam, freqs=frequencies(shape, stride), spectrum=spec,
                       seconds=time.perf_counter() - start, n=coords.shape[0], parameters=num_parameters(model))
