"""Priors for restoration: a penalty on a fit's rendering of the whole grid, beside the masked MSE.

A masked fit is told nothing about the samples it does not see; what it puts there comes from the
network's bias, and SIREN²'s noise reaches the whole band, so a fit leaves missing samples near 0
and follows noise as readily as signal. The ``band`` prior says where the signal's spectrum lies:

    P(y) = λ · Σ_k c_k w_k |Y_k|² / (N·C),   w_k = min(1, floor / P̃_k),

Y the orthonormal real DFT of the rendering y (N, C) along the 1-D grid, c_k the bin's multiplicity
(1 at DC and Nyquist, else 2), P̃ the damaged signal's periodogram smoothed over a few bins (summed
over channels), floor its white floor (minimum statistics, [`siren2.winner.white_floor`][]): what
noise and the zeros of missing samples add. Bins at the floor cost λ per unit of mean-square power,
in the MSE's own units; a bin k times above it costs λ/k. It is the log-prior of a Gaussian signal
whose spectrum is the damaged signal's, up to scale: the classical Wiener/LMMSE assumption.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import uniform_filter1d

from ..errors import InputError
from ..signal import Signal
from ..winner import FLOOR_BINS, channel_rows, periodogram_floor

__all__ = ["SMOOTH_BINS", "BandPrior", "band"]

SMOOTH_BINS = 3  # P̃: the periodogram averaged over this many bins (a line stays a line)


@dataclass
class BandPrior:
    """The band prior P(y) = λ · Σ_k c_k w_k |Y_k|² / (N·C) on a 1-D grid (see the module docstring).

    Call it on the rendering ``y`` (N, C) of the whole grid: a differentiable scalar.

    Attributes
    ----------
    weights
        w_k in [0, 1] per rfft bin, (N // 2 + 1,).
    weight
        λ.
    """

    weights: np.ndarray  # (N // 2 + 1,)
    weight: float = 1.0  # λ

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        """P(y) for the rendering ``y`` of the whole grid, differentiable.

        Parameters
        ----------
        y
            (N, C).

        Returns
        -------
        Tensor
            A scalar.
        """
        mult = np.full(self.weights.size, 2.0)
        mult[0] = 1.0
        if y.shape[0] % 2 == 0:
            mult[-1] = 1.0
        cost = torch.as_tensor(mult * self.weights, dtype=y.dtype, device=y.device)[:, None]
        spectrum = torch.fft.rfft(y, dim=0, norm="ortho")
        return self.weight * (spectrum.abs().square() * cost).sum() / y.numel()

    def record(self) -> dict:
        """What config.json keeps: λ, P̃'s smoothing, and the fraction of bins at least 2x above the floor.

        Returns
        -------
        dict
        """
        return {"name": "band", "weight": self.weight, "smooth_bins": SMOOTH_BINS,
                "signal_bins_fraction": float((self.weights < 0.5).mean())}


def band(signal: Signal, mask: np.ndarray | None = None, *, weight: float = 1.0) -> BandPrior:
    """The ``band`` prior of a 1-D ``signal`` seen where ``mask`` is 1 (the others read 0).

    Parameters
    ----------
    signal
        The damaged signal (audio).
    mask
        (N,) 1 where observed; None: all.
    weight
        λ.

    Returns
    -------
    BandPrior

    Raises
    ------
    InputError
        If ``signal`` is not 1-D.
    """
    if signal.in_dim != 1:
        raise InputError(f"the band prior is for 1-D signals (audio), not {signal.in_dim}-D")
    values = signal.values if mask is None else signal.values * np.asarray(mask, np.float32).reshape(-1, 1)
    power = sum(np.abs(np.fft.rfft(x)) ** 2 for x in channel_rows(values))
    floor, _ = periodogram_floor(power, FLOOR_BINS)
    local = uniform_filter1d(power, SMOOTH_BINS, mode="nearest")
    return BandPrior(np.minimum(1.0, floor / np.maximum(local, 1e-30)), weight)
