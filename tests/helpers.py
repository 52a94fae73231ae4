"""Small generated input files shared by the test modules."""

import numpy as np
import soundfile as sf
from PIL import Image

from siren2.cli import main


def write_hf_wav(path, n=2000, sr=16_000):
    """High-frequency test audio: 5 kHz and 3.1 kHz tones plus a little noise, int16."""
    t = np.arange(n) / sr
    rng = np.random.default_rng(0)
    x = 0.5 * np.sin(2 * np.pi * 5000 * t) + 0.3 * np.sin(2 * np.pi * 3100 * t) + 0.05 * rng.standard_normal(n)
    sf.write(str(path), x, sr, subtype="PCM_16")
    return path


def write_rgb_png(path, h=16, w=16):
    """An 8-bit RGB test image: gradients plus a little noise."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 16, yy * 16, (xx + yy) * 8], axis=2) + rng.integers(0, 16, size=(h, w, 3))
    Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(path)
    return path


def run_cli(capsys, *argv):
    """main(argv) in-process -> (exit code, stdout, non-empty stderr lines)."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, [line for line in err.splitlines() if line.strip()]


def random_tones(n, band, count, seed=0, sample_rate=16000):
    """``count`` sines at random frequencies in ``band`` (cycles/sample) with random phases,
    normalized to max|x| = 1, as a 1-D audio Signal."""
    from siren2 import Signal

    rng = np.random.default_rng(seed)
    i = np.arange(n)
    x = sum(np.sin(2 * np.pi * f * i + rng.uniform(0, 6)) for f in rng.uniform(*band, count))
    return Signal(values=(x / np.abs(x).max())[:, None], grid=(n,), kind="audio", sample_rate=sample_rate)


def paper_fit(**fields) -> dict:
    """``FitConfig(**fields)`` as a run's options: the paper recipe's schedule with FitConfig's defaults
    (StepLR(20, 0.99)), over which ``fields`` (epochs, lr, seed, ...) are set."""
    return {"recipe": "paper", "lr_gamma": 0.99} | fields


# restore() with none of the commands' extras: a fixed budget, the preset's (or the given) width, no
# search, no shrinkage, the fit itself as the output, one fit of the whole signal
PLAIN = dict(stop="fixed", capacity=0, bandwidths=(1.0,), prior_weights=(), shrink=False, keep_observed=False,
             window=0)


def plain(**options) -> dict:
    """Options for :func:`siren2.restoration.restore`: :data:`PLAIN` with ``options`` over it."""
    return PLAIN | options
