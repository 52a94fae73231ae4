"""Snapshots during training: a [`fit`][siren2.train.fit] callback for the evolution of the spectra
(docs/method.md#analysis-tools)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from torch import nn

from .activations import activation_spectra, histograms, layer_activations, reference_laws
from .ntk import DEFAULT_CHUNK, DEFAULT_NTK_BUDGET, NTKSpectrum, ntk_spectrum
from .spectra import SubGrid

__all__ = ["Snapshot", "Snapshots"]


@dataclass
class Snapshot:
    """The analyses of one model state, after ``epoch`` epochs of training (0: the init).

    Attributes
    ----------
    epoch
        Epochs trained.
    loss
        Full-signal MSE of the epoch's step (before its update); None at the init.
    ntk
        The NTK analysis, or None.
    activation_spectra
        (L, F) on the activation sub-grid's frequencies, or None.
    histograms
        Per layer, [`histograms`][siren2.analysis.activations.histograms].
    """

    epoch: int
    loss: float | None  # full-signal MSE of the epoch's step (before its update); None at the init
    ntk: NTKSpectrum | None = None
    activation_spectra: np.ndarray | None = None  # (L, F) on the activation sub-grid's freqs
    histograms: list[dict] = field(default_factory=list)  # per layer, see activations.histograms


class Snapshots:
    """A [`fit`][siren2.train.fit] callback: ``fit(..., callbacks=[snaps])`` takes snapshots at chosen epochs.

    At each epoch E in ``epochs``, the NTK spectrum on the points ``ntk`` and the activation
    histograms and spectra on ``activations`` (either may be None). The callback sees the model after
    E epochs; call ``snaps.take(model, 0)`` before ``fit`` for the init. Only spectra and histograms
    are kept (no activations, no kernel), in ``snaps.snapshots``.

    Parameters
    ----------
    epochs : iterable of int
        The epochs E.
    ntk
        The NTK's points; None: no NTK.
    activations
        The activations' points; None: no activation statistics.
    chunk_size
        Points per chunk of the NTK's Jacobian.
    memory_budget
        Bytes, for the NTK.
    on_take
        Called with each new snapshot (progress messages).
    """

    def __init__(self, epochs, ntk: SubGrid | None = None, activations: SubGrid | None = None, *,
                 chunk_size: int = DEFAULT_CHUNK, memory_budget: float = DEFAULT_NTK_BUDGET,
                 on_take: Callable[[Snapshot], None] | None = None) -> None:
        self.epochs = sorted({int(e) for e in epochs})
        self.ntk, self.activations = ntk, activations
        self.chunk_size, self.memory_budget = chunk_size, memory_budget
        self.on_take = on_take  # called with each new snapshot (progress messages)
        self.snapshots: list[Snapshot] = []

    def __call__(self, epoch: int, model: nn.Module, loss: float) -> None:
        if epoch + 1 in self.epochs:  # fit() counts from 0: callback epoch e ends e + 1 epochs
            self.take(model, epoch + 1, loss)

    def take(self, model: nn.Module, epoch: int, loss: float | None = None) -> Snapshot:
        """Take a snapshot of ``model`` now.

        Parameters
        ----------
        model
            The model.
        epoch
            Its epochs trained.
        loss
            Its last training loss, if any.

        Returns
        -------
        Snapshot
            Also appended to ``snapshots``.
        """
        snap = Snapshot(epoch, loss)
        if self.ntk is not None:
            snap.ntk = ntk_spectrum(model, self.ntk.coords, self.ntk.shape, self.ntk.stride,
                                    self.chunk_size, self.memory_budget)
        if self.activations is not None:
            layers = layer_activations(model, self.activations.coords)
            snap.activation_spectra = activation_spectra(layers, self.activations.shape)
            snap.histograms = histograms(layers, reference_laws(model))
        self.snapshots.append(snap)
        if self.on_take is not None:
            self.on_take(snap)
        return snap
