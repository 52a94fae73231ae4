"""Corruptions and masks (docs/method.md#protocols): reproducible damage, and which samples are observed.

A corruption returns the damaged [`Signal`][] and a mask (N,) float32, 1 where a
sample is observed and 0 where it is missing; missing samples read 0 in the damaged signal, as a
dropout in a file does. Each seed draws from its own random stream per kind of damage, so one
corruption's draw never shifts another's. A [`CorruptionSpec`][] names a corruption and its
level, to be applied with any seed (what ``restore-eval`` and the suites do).
"""

from __future__ import annotations

import math
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..metrics import snr
from ..signal import Signal

__all__ = ["MIN_GAP", "NOISE_STREAM", "MISSING_STREAM", "GAPS_STREAM", "HOLDOUT_STREAM", "rng", "Corruption",
           "add_noise", "drop_samples", "drop_gaps", "segments", "silence_mask", "load_mask", "CorruptionSpec",
           "parse_gaps"]

MIN_GAP = 32  # samples: the shortest run of exact zeros `silence_mask` calls a gap
# independent random streams per seed, so one corruption's draw never shifts another's (nor a hold-out's)
NOISE_STREAM, MISSING_STREAM, GAPS_STREAM, HOLDOUT_STREAM = range(4)


def rng(seed: int, stream: int) -> np.random.Generator:
    """The random generator of ``seed`` for one kind of draw, independent of the others.

    Parameters
    ----------
    seed
        The seed.
    stream
        The kind of draw: a ``*_STREAM`` constant.

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.default_rng([int(seed), stream])


@dataclass
class Corruption:
    """A corrupted signal, its mask, and the levels requested and measured.

    Attributes
    ----------
    signal
        The damaged signal; missing samples read 0.
    mask
        (N,) float32, 1 where a sample is observed, 0 where missing.
    info
        The corruption's kind, the levels requested and measured, the seed.
    """

    signal: Signal
    mask: np.ndarray
    info: dict

# ------------------------------------------------------------------------------------ corruptions


def add_noise(signal: Signal, *, std: float | None = None, snr_db: float | None = None, seed: int = 0) -> Corruption:
    """Add white Gaussian noise of standard deviation ``std``, or of the σ that gives ``snr_db``.

    The sum is not clipped, so σ is exact in distribution (a file written from it clips at full scale).

    Parameters
    ----------
    signal
        The clean signal.
    std
        σ, on the [-1, 1] scale.
    snr_db
        A target SNR: σ is set from the signal's mean power.
    seed
        Draws the noise (its own stream).

    Returns
    -------
    Corruption
        Every sample observed; ``info`` has the measured σ and SNR.

    Raises
    ------
    ValueError
        Unless exactly one of ``std`` and ``snr_db`` is given.
    InputError
        For a σ that is not a positive number, or an SNR that is not finite or asked of a silent signal.
    """
    if (std is None) == (snr_db is None):
        raise ValueError("give exactly one of std and snr_db")
    values = signal.values.astype(np.float64)
    if snr_db is not None:
        power = float(np.mean(values**2))
        if not math.isfinite(snr_db) or power == 0:
            raise InputError(f"noise SNR {snr_db} dB: needs a finite SNR and a signal that is not silent")
        std = math.sqrt(power / 10 ** (snr_db / 10))
    if not (math.isfinite(std) and std > 0):
        raise InputError(f"noise std {std}: must be a positive number")
    noise = rng(seed, NOISE_STREAM).standard_normal(values.shape) * std
    noisy = values + noise
    info = {"kind": "noise", "std": std, "snr_db": snr_db, "seed": seed,
            "measured_std": float(noise.std()), "measured_snr_db": snr(values, noisy)}
    return Corruption(signal.with_values(noisy), np.ones(signal.num_points, np.float32), info)


def drop_samples(signal: Signal, fraction: float, *, seed: int = 0) -> Corruption:
    """Remove exactly round(fraction·N) samples (audio) or pixels, all channels (images), at random.

    Parameters
    ----------
    signal
        The clean signal.
    fraction
        The fraction missing.
    seed
        Draws the places (its own stream).

    Returns
    -------
    Corruption

    Raises
    ------
    InputError
        Unless some samples are left missing and some observed.
    """
    n = signal.num_points
    k = round(fraction * n) if 0 < fraction < 1 else 0
    if not 0 < k < n:
        raise InputError(f"missing fraction {fraction}: must leave some of the {n} samples missing and some observed")
    mask = np.ones(n, np.float32)
    mask[rng(seed, MISSING_STREAM).choice(n, size=k, replace=False)] = 0
    return _with_missing(signal, mask, {"kind": "missing", "fraction": fraction, "seed": seed})


def drop_gaps(signal: Signal, count: int, length_ms: float, *, seed: int = 0) -> Corruption:
    """Audio: ``count`` runs of ``length_ms`` missing at random places.

    Each run has observed samples on both sides (no two gaps touch, none at the clip's ends), uniform
    over such placements.

    Parameters
    ----------
    signal
        Clean audio.
    count
        The number of gaps.
    length_ms
        Each gap's length, in milliseconds.
    seed
        Draws the places (its own stream).

    Returns
    -------
    Corruption
        ``info["starts"]``: the gaps' first samples.

    Raises
    ------
    InputError
        For a signal that is not audio, fewer than one gap or one sample, or gaps that do not fit.
    """
    if signal.kind != "audio":
        raise InputError(f"gaps apply to audio, not to a {signal.kind}")
    n, length = signal.num_points, round(length_ms * signal.sample_rate / 1000)
    if count < 1 or length < 1:
        raise InputError(f"gaps {count}x{length_ms}ms: need at least one gap of at least one sample")
    free = n - count * length - (count + 1)  # observed samples beyond the one before, between and after gaps
    if free < 0:
        raise InputError(f"gaps {count}x{length_ms}ms ({length} samples each) do not fit in {n} samples")
    offsets = np.sort(rng(seed, GAPS_STREAM).choice(free + count, size=count, replace=False)) - np.arange(count)
    starts = 1 + offsets + np.arange(count) * (length + 1)
    mask = np.ones(n, np.float32)
    mask[(starts[:, None] + np.arange(length)).ravel()] = 0
    return _with_missing(signal, mask, {"kind": "gaps", "count": count, "length_ms": length_ms,
                                        "length_samples": length, "seed": seed, "starts": starts.tolist()})


def _with_missing(signal: Signal, mask: np.ndarray, info: dict) -> Corruption:
    info["measured_fraction"] = float(1 - mask.mean())
    return Corruption(signal.with_values(signal.values * mask[:, None]), mask, info)


def segments(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of True in a 1-D array.

    Parameters
    ----------
    flags
        1-D, truthy where a run is.

    Returns
    -------
    starts : ndarray
        Each run's first index.
    lengths : ndarray
        Each run's length.
    """
    d = np.diff(np.concatenate([[0], np.asarray(flags, bool).astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    return starts, np.flatnonzero(d == -1) - starts


# ------------------------------------------------------------------------------------------ masks


def silence_mask(signal: Signal, min_run: int = MIN_GAP) -> np.ndarray:
    """Audio: mark runs of at least ``min_run`` exact zeros (digital silence, a dropout) as missing.

    Runs touching the start or the end are kept: leading and trailing silence is usually real.

    Parameters
    ----------
    signal
        Audio.
    min_run
        The shortest run of zeros that counts as a gap, in samples.

    Returns
    -------
    ndarray
        (N,) float32 mask: 1 observed, 0 missing.

    Raises
    ------
    InputError
        For a signal that is not audio, ``min_run`` below 1, or no such run inside the clip.
    """
    if signal.kind != "audio":
        raise InputError(f"{signal.source}: --gaps auto applies to audio, not to a {signal.kind}")
    if min_run < 1:
        raise InputError(f"minimum gap {min_run}: must be at least 1 sample")
    n = signal.num_points
    starts, lengths = segments(np.all(signal.values == 0, axis=1))
    keep = (lengths >= min_run) & (starts > 0) & (starts + lengths < n)
    if not keep.any():
        raise InputError(f"{signal.source}: no digital silence inside the clip (runs of >= {min_run} exact zeros): "
                         f"nothing to inpaint")
    mask = np.ones(n, np.float32)
    mask[np.concatenate([np.arange(s, s + m) for s, m in zip(starts[keep], lengths[keep])])] = 0
    return mask


def load_mask(path, signal: Signal) -> np.ndarray:
    """Read a mask for ``signal``: nonzero = observed, 0 = missing.

    Parameters
    ----------
    path : str or os.PathLike
        Audio: a wav/flac/ogg (nonzero in any channel) or an .npy of N values; images: an image file
        of the same H x W (nonzero in any colour channel, alpha ignored) or an .npy (H, W).
    signal
        The signal it masks.

    Returns
    -------
    ndarray
        (N,) float32 of 0/1.

    Raises
    ------
    InputError
        If the file is missing, empty or unreadable, holds NaN or infinite values, does not match the
        signal's grid, or marks no sample missing or every sample missing.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise InputError(f"{path}: mask file missing, not a file, or empty")
    with open(path, "rb") as f:
        is_npy = f.read(6) == b"\x93NUMPY"
    try:
        if is_npy:
            arr = np.load(path, allow_pickle=False)
            if arr.dtype.kind not in "biuf":
                raise ValueError(f"dtype {arr.dtype} is not numeric")
        elif signal.kind == "audio":
            import soundfile as sf

            arr = sf.read(str(path), dtype="float64", always_2d=True)[0]
        else:
            arr = _read_mask_image(path)
    except (ValueError, OSError, RuntimeError, SyntaxError, EOFError, MemoryError, tokenize.TokenError) as e:
        # (a damaged .npy header fails in numpy's parser with any of the last four)
        text = str(e).strip().splitlines()
        raise InputError(f"{path}: cannot read mask ({text[0] if text else type(e).__name__})") from None
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{path}: mask contains NaN or infinite values")
    observed = _mask_shape(path, arr, signal)
    if observed.all():
        raise InputError(f"{path}: mask marks no sample missing (0): nothing to inpaint")
    if not observed.any():
        raise InputError(f"{path}: mask marks every sample missing: nothing to fit")
    return observed.astype(np.float32)


def _read_mask_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.mode not in ("1", "L", "I", "I;16", "I;16B", "I;16L", "F", "RGB"):
                im = im.convert("RGB")  # palette and alpha modes: alpha is not part of the mask
            return np.asarray(im)
    except (UnidentifiedImageError, SyntaxError) as e:
        raise ValueError(str(e)) from None


def _mask_shape(path: Path, arr: np.ndarray, signal: Signal) -> np.ndarray:
    """(N,) bool from a mask array of the signal's grid, with an optional trailing channel axis."""
    nonzero = arr != 0
    if nonzero.ndim == len(signal.grid) + 1:
        nonzero = nonzero.any(axis=-1)
    if nonzero.shape != signal.grid:
        what = "samples" if signal.kind == "audio" else "pixels (HxW)"
        got = "x".join(map(str, nonzero.shape)) or "a scalar"
        raise InputError(f"{path}: mask has {got} {what}, the signal {'x'.join(map(str, signal.grid))}")
    return nonzero.reshape(-1)


# ------------------------------------------------------------------------------------ named corruptions


@dataclass(frozen=True)
class CorruptionSpec:
    """What [`evaluate`][siren2.restoration.evaluation.evaluate] does to the clean signal, to be applied with any seed.

    Attributes
    ----------
    kind
        ``noise_std``, ``noise_snr`` (dB), ``missing`` (a fraction) or ``gaps``.
    value
        σ, the SNR in dB, the fraction missing, or the number of gaps.
    length_ms
        Gaps: each one's length.
    """

    kind: str
    value: float
    length_ms: float | None = None

    def apply(self, signal: Signal, seed: int) -> Corruption:
        """The corruption of ``signal`` drawn by ``seed``.

        Parameters
        ----------
        signal
            The clean signal.
        seed
            Draws the damage.

        Returns
        -------
        Corruption

        Raises
        ------
        ValueError
            For an unknown kind.
        """
        if self.kind == "noise_std":
            return add_noise(signal, std=self.value, seed=seed)
        if self.kind == "noise_snr":
            return add_noise(signal, snr_db=self.value, seed=seed)
        if self.kind == "missing":
            return drop_samples(signal, self.value, seed=seed)
        if self.kind == "gaps":
            return drop_gaps(signal, int(self.value), self.length_ms, seed=seed)
        raise ValueError(f"unknown corruption {self.kind!r}")

    @property
    def removes_samples(self) -> bool:
        """Whether it leaves samples missing (``missing``, ``gaps``)."""
        return self.kind in ("missing", "gaps")

    def label(self) -> str:
        """The corruption in words, for tables."""
        if self.kind == "gaps":
            return f"{int(self.value)} gaps of {self.length_ms:g} ms"
        return {"noise_std": f"Gaussian noise σ = {self.value:g} (of the [-1, 1] range)",
                "noise_snr": f"Gaussian noise at SNR {self.value:g} dB",
                "missing": f"{self.value:.0%} of the samples missing at random"}[self.kind]


def parse_gaps(text: str) -> tuple[int, float]:
    """Parse ``--gaps``: '20x10ms' → (20, 10.0).

    Parameters
    ----------
    text
        COUNTxLENGTHms.

    Returns
    -------
    count : int
        The number of gaps.
    length_ms : float
        Each one's length.

    Raises
    ------
    InputError
        If ``text`` does not read COUNTxLENGTHms.
    """
    m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+(?:\.\d*)?)\s*ms\s*", text)
    if not m:
        raise InputError(f"--gaps {text!r}: expected COUNTxLENGTHms, e.g. 20x10ms")
    return int(m.group(1)), float(m.group(2))
