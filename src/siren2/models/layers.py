"""Building blocks shared by every model: activations, a dense layer, encodings, the INR shell.

A model is ``encoding → hidden Dense blocks → head``; models differ only in which activation and
encoding they plug in (see [`siren2.models.siren`][], [`siren2.models.baselines`][] and the
registry). Activations:

* sine family (WINNER applies): [`Sine`][] sin(ω·z), [`Finer`][] sin(ω·(|z|+1)·z);
* others: [`Gauss`][] exp(−(s·z)²), [`Gabor`][] exp(jω·z − |σ·z|²) (complex), ``nn.ReLU``.

Encodings: [`PositionalEncoding`][] (NeRF) and [`FourierFeatures`][] (fixed random B).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

__all__ = ["SineFamily", "Sine", "Finer", "Gauss", "Gabor", "RealPart", "PositionalEncoding", "FourierFeatures",
           "Dense", "dense_stack", "INR", "num_parameters"]


class SineFamily(nn.Module):
    """An activation sin(ω·g(z)·z) with a frequency ω; WINNER's noise scales are defined for these.

    Parameters
    ----------
    omega
        The frequency ω.
    """

    def __init__(self, omega: float) -> None:
        super().__init__()
        self.omega = float(omega)

    def extra_repr(self) -> str:
        return f"omega={self.omega:g}"


class Sine(SineFamily):
    """sin(ω·z), applied to the whole linear output z = Wx + b (docs/method.md#siren).

    Parameters
    ----------
    omega
        The frequency ω (ω_first in the first layer, ω0 in the others).
    """

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega * z)


class Finer(SineFamily):
    """FINER's variable-periodic sine sin(ω·(|z|+1)·z); the scale (|z|+1) is detached from the gradient.

    Parameters
    ----------
    omega
        The frequency ω.
    """

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega * (z.abs() + 1).detach() * z)


class Gauss(nn.Module):
    """The Gaussian activation exp(−(s·z)²).

    Parameters
    ----------
    scale
        s (30 in the paper's comparison).
    """

    def __init__(self, scale: float = 30.0) -> None:
        super().__init__()
        self.scale = float(scale)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.exp(-(self.scale * z).square())

    def extra_repr(self) -> str:
        return f"scale={self.scale:g}"


class Gabor(nn.Module):
    """WIRE's complex Gabor wavelet exp(j·ω·z − |σ·z|²); takes real or complex z, returns complex.

    Parameters
    ----------
    omega
        The frequency ω.
    sigma
        The width σ.
    """

    def __init__(self, omega: float = 10.0, sigma: float = 10.0) -> None:
        super().__init__()
        self.omega, self.sigma = float(omega), float(sigma)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.exp(1j * self.omega * z - (self.sigma * z).abs().square())

    def extra_repr(self) -> str:
        return f"omega={self.omega:g}, sigma={self.sigma:g}"


class RealPart(nn.Module):
    """The real part of a complex tensor (WIRE's output)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z.real


class PositionalEncoding(nn.Module):
    """NeRF's positional encoding [x, sin(2^i·π·x), cos(2^i·π·x)] for i < ``frequencies``, per coordinate.

    Parameters
    ----------
    in_features
        The coordinates d.
    frequencies
        The octaves F; the encoding has d·(1 + 2F) features (``out_features``).
    """

    def __init__(self, in_features: int, frequencies: int = 7) -> None:
        super().__init__()
        self.in_features, self.frequencies = in_features, frequencies
        self.out_features = in_features * (1 + 2 * frequencies)
        self.register_buffer("freqs", math.pi * 2.0 ** torch.arange(frequencies), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = (x[..., None] * self.freqs).flatten(-2)  # (N, d·F)
        return torch.cat([x, torch.sin(xf), torch.cos(xf)], dim=-1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, frequencies={self.frequencies}"


class FourierFeatures(nn.Module):
    """Fixed random Fourier features [cos(xB), sin(xB)] with B ~ N(0, scale²) of shape (in, features).

    B is a buffer: saved with the model, never trained, not counted as a parameter.

    Parameters
    ----------
    in_features
        The coordinates d.
    features
        The columns of B; the encoding has twice as many (``out_features``).
    scale
        B's standard deviation.
    """

    def __init__(self, in_features: int, features: int, scale: float = 30.0) -> None:
        super().__init__()
        self.in_features, self.features, self.scale = in_features, features, float(scale)
        self.out_features = 2 * features
        self.register_buffer("B", torch.randn(in_features, features) * self.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xb = x @ self.B
        return torch.cat([torch.cos(xb), torch.sin(xb)], dim=-1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, features={self.features}, scale={self.scale:g}"


class Dense(nn.Module):
    """A linear map followed by an activation: act(Wx + b).

    Parameters
    ----------
    in_features
        The linear map's input width.
    out_features
        Its output width.
    activation
        The activation module.
    dtype
        The linear map's dtype; ``torch.cfloat`` for a complex layer; None: the default.
    """

    def __init__(self, in_features: int, out_features: int, activation: nn.Module,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, dtype=dtype)
        self.act = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.linear(x))


def dense_stack(in_features: int, width: int, layers: int, activation: Callable[[int], nn.Module],
                dtype: Callable[[int], torch.dtype | None] = lambda i: None) -> list[Dense]:
    """``layers`` Dense blocks in_features → width → … → width.

    Parameters
    ----------
    in_features
        The first block's input width.
    width
        Every block's output width.
    layers
        The number of blocks.
    activation
        ``activation(i)``: block i's activation module.
    dtype
        ``dtype(i)``: block i's dtype (None: the default).

    Returns
    -------
    list of Dense
    """
    dims = [in_features] + [width] * layers
    return [Dense(dims[i], dims[i + 1], activation(i), dtype=dtype(i)) for i in range(layers)]


class INR(nn.Module):
    """Maps (N, d) coordinates to (N, C) values: ``encoding → hidden → head``.

    ``config`` is the dataclass the model was built from; ``winner`` the resolved WINNER scales
    (ψ, s0, s1) or None. Both are plain data, written into every config.json; ``name`` is the
    registry name (set by [`siren2.models.build_model`][]).

    Parameters
    ----------
    hidden
        The hidden Dense blocks.
    head
        The output layer.
    encoding
        Maps the coordinates first; None: the identity.
    config : MLPConfig, optional
        The config dataclass the model was built from.
    """

    def __init__(self, hidden: list[Dense], head: nn.Module, encoding: nn.Module | None = None,
                 config=None) -> None:
        super().__init__()
        self.encoding = encoding if encoding is not None else nn.Identity()
        self.hidden = nn.ModuleList(hidden)
        self.head = head
        self.config = config
        self.name: str | None = None  # the registry name, set by siren2.models.build_model
        self.winner = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoding(x)
        for block in self.hidden:
            h = block(h)
        return self.head(h)

    def first_two_linear(self) -> tuple[nn.Linear, nn.Linear]:
        """W⁰ and W¹, the layers WINNER perturbs.

        The one place that decides where WINNER applies: every hidden activation must be of the sine
        family ([`SineFamily`][]) and every hidden layer real.

        Returns
        -------
        tuple of nn.Linear
            The first two hidden blocks' linear maps.

        Raises
        ------
        TypeError
            Naming the model and the reason, if it is not a real sine-family network.
        ValueError
            If it has fewer than two hidden layers.
        """
        label = repr(self.name) if self.name else type(self).__name__
        acts = sorted({type(b.act).__name__ for b in self.hidden})
        complex_layers = any(p.is_complex() for p in self.hidden.parameters())
        if not all(isinstance(b.act, SineFamily) for b in self.hidden) or complex_layers:
            why = f"its hidden activations are {', '.join(acts)}"
            if complex_layers:
                why += " with complex-valued layers"
            raise TypeError(f"WINNER does not apply to model {label}: {why}; its noise scales are defined "
                            "only for real sine-family networks (Sine, Finer)")
        if len(self.hidden) < 2:
            raise ValueError(f"WINNER needs at least two hidden layers; model {label} has {len(self.hidden)}")
        return self.hidden[0].linear, self.hidden[1].linear


def num_parameters(model: nn.Module) -> int:
    """The trainable real parameters of ``model``; a complex weight counts as two.

    Parameters
    ----------
    model
        Any module.

    Returns
    -------
    int
    """
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters() if p.requires_grad)
