"""Audio files (soundfile): read as the paper's code does, written back at the original rate and scale."""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..signal import Signal
from .files import MAX_POINTS, check_finite, check_readable, first_line

__all__ = ["AUDIO_SUFFIXES", "WRITE_SUFFIXES", "looks_like_audio", "load_audio", "write_audio"]

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif"}
WRITE_SUFFIXES = (".wav", ".flac", ".ogg")


def looks_like_audio(head: bytes) -> bool:
    """Whether a file's first 12 bytes are a WAV, FLAC, Ogg or AIFF header.

    Parameters
    ----------
    head
        The file's first bytes (at least 12).

    Returns
    -------
    bool
    """
    return head[:4] in (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"FORM") and (
        head[:4] != b"RIFF" or head[8:12] == b"WAVE"
    )


def load_audio(path: str | os.PathLike, *, max_samples: int | None = None, mono: bool = True,
               max_points: int = MAX_POINTS) -> Signal:
    """Read audio with soundfile, as the paper's code does: mono mix, divided by max|x| of the whole file.

    Then the first ``max_samples`` are kept (so a cut's own peak may lie below 1).

    Parameters
    ----------
    path
        The file (WAV, FLAC, Ogg, AIFF).
    max_samples
        Keep the first N samples; None: all. A cut signal records the file's length in
        ``meta["file_samples"]``.
    mono
        Mix the channels to one.
    max_points
        Refuse more samples (after the cut) than this, before they are read.

    Returns
    -------
    Signal
        Audio; a silent file warns and keeps peak 1, a truncated WAV warns.

    Raises
    ------
    InputError
        If the file cannot be read as audio, holds no samples or more than ``max_points``, or holds
        NaN or infinite samples.
    """
    import soundfile as sf

    path = check_readable(path)
    try:
        info = sf.info(str(path))
        frames = min(info.frames, max_samples or info.frames)
        if frames * (1 if mono else info.channels) > max_points:
            raise InputError(f"{path}: {frames:,} samples, above the limit of {max_points:,} "
                             "(cut with --max-samples, or raise --max-points)")
        data, sr = sf.read(str(path), dtype="float64", always_2d=True, frames=max_samples or -1)
        peak = _file_peak(path, mono) if max_samples and info.frames > max_samples else None
    except (RuntimeError, sf.LibsndfileError) as e:  # corrupt or not audio
        raise InputError(f"{path}: cannot read audio ({first_line(e)})") from None
    if data.shape[0] == 0:
        raise InputError(f"{path}: audio has no samples")
    short = _wav_shortfall(path)
    if short and (max_samples is None or data.shape[0] < max_samples):
        warnings.warn(f"{path}: truncated: its header promises {short[0]:,} samples, the file holds {short[1]:,}",
                      stacklevel=2)
    check_finite(path, data)
    if mono:
        data = data.mean(axis=1, keepdims=True)
    peak = float(np.max(np.abs(data))) if peak is None else peak
    if peak == 0.0:
        warnings.warn(f"{path}: audio is silent (all zeros)", stacklevel=2)
        peak = 1.0
    return Signal(
        values=data / peak,
        grid=(data.shape[0],),
        kind="audio",
        sample_rate=int(sr),
        peak=peak,
        subtype=info.subtype,
        source=str(path),
        meta={"file_samples": int(info.frames)} if max_samples and info.frames > max_samples else {},
    )


def _wav_shortfall(path: Path) -> tuple[int, int] | None:
    """(samples a WAV header's data chunk declares, samples the file holds) when it holds fewer;
    None for a whole file, or one that is not a plain RIFF/RIFX WAV."""
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None
        order, block, size_on_disk = ("<" if head[:4] == b"RIFF" else ">"), 0, os.fstat(f.fileno()).st_size
        while len(chunk := f.read(8)) == 8:
            cid, size = chunk[:4], struct.unpack(order + "I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(min(size, 16))
                block = struct.unpack(order + "H", fmt[12:14])[0] if len(fmt) >= 14 else 0
                f.seek(size - len(fmt) + (size & 1), 1)
            elif cid == b"data":
                held = size_on_disk - f.tell()
                if block and held < size:
                    return size // block, held // block
                return None
            else:
                f.seek(size + (size & 1), 1)
    return None


def _file_peak(path: Path, mono: bool) -> float:
    """max|x| over every frame of the file (of the mono mix when ``mono``), read in blocks."""
    import soundfile as sf

    peak = 0.0
    for block in sf.blocks(str(path), blocksize=1 << 16, dtype="float64", always_2d=True):
        check_finite(path, block)
        peak = max(peak, float(np.max(np.abs(block.mean(axis=1) if mono else block), initial=0.0)))
    return peak


def write_audio(signal: Signal, tmp: Path, suffix: str) -> None:
    """Write ``signal`` to ``tmp`` in the format of ``suffix``.

    Its peak is restored, its subtype kept where the format allows, and integer levels rounded (not
    truncated).

    Parameters
    ----------
    signal
        An audio signal.
    tmp
        The file to write (a temporary path, renamed by the caller).
    suffix
        .wav, .flac or .ogg.
    """
    import soundfile as sf

    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}[suffix.lower()]
    data = signal.values.astype(np.float64) * signal.peak
    subtype = signal.subtype if signal.subtype and sf.check_format(fmt, signal.subtype) else None
    if subtype is None or not subtype.startswith(("FLOAT", "DOUBLE")):
        data = np.clip(data, -1.0, 1.0)  # integer formats cannot hold more than full scale
    if subtype in _PCM_BITS:
        # Round to the nearest integer level ourselves: libsndfile truncates float → int, which
        # would move a sample by 1 LSB on a load/save round trip. Levels are read back as k/2^(bits-1).
        bits = _PCM_BITS[subtype]
        levels = np.clip(np.round(data * 2.0 ** (bits - 1)), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        data = (levels * 2 ** (32 - bits)).astype(np.int32)  # int32 full scale; libsndfile keeps the top bits
    sf.write(str(tmp), data, signal.sample_rate, subtype=subtype, format=fmt)


_PCM_BITS = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32}
