"""Building blocks shared by every model: activations, a dense layer, encodings, the INR shell.

A model is ``encoding → hidden Dense blocks → linear head``; models differ only in which
activation and encoding they plug in (see :mod:`siren2.models.siren` and the registry).
"""

from __future__ import annotations

import torch
from torch import nn


class Sine(nn.Module):
    """sin(ω·z), applied to the whole linear output z = Wx + b (SPEC §2)."""

    def __init__(self, omega: float) -> None:
        super().__init__()
        self.omega = float(omega)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega * z)

    def extra_repr(self) -> str:
        return f"omega={self.omega:g}"


class Dense(nn.Module):
    """A linear map followed by an activation: act(Wx + b)."""

    def __init__(self, in_features: int, out_features: int, activation: nn.Module) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.act = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.linear(x))


class INR(nn.Module):
    """Maps (N, d) coordinates to (N, C) values: ``encoding → hidden → head``.

    ``config`` is the dataclass the model was built from; ``winner`` the resolved WINNER scales
    (ψ, s0, s1) or None. Both are plain data, written into every config.json.
    """

    def __init__(self, hidden: list[Dense], head: nn.Linear, encoding: nn.Module | None = None,
                 config=None) -> None:
        super().__init__()
        self.encoding = encoding if encoding is not None else nn.Identity()
        self.hidden = nn.ModuleList(hidden)
        self.head = head
        self.config = config
        self.name: str | None = None  # the registry name, set by create_model
        self.winner = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoding(x)
        for block in self.hidden:
            h = block(h)
        return self.head(h)

    def first_two_linear(self) -> tuple[nn.Linear, nn.Linear]:
        """W⁰ and W¹, the layers WINNER perturbs."""
        if len(self.hidden) < 2:
            raise ValueError("WINNER needs at least two hidden layers")
        return self.hidden[0].linear, self.hidden[1].linear


def num_parameters(model: nn.Module) -> int:
    """Trainable real parameters; a complex weight counts as two."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters() if p.requires_grad)
