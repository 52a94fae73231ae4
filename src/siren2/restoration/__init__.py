"""Restoration: denoising and inpainting by fitting only what is observed (docs/guides/restoration.md).

* [`restorer`][] — [`restore`][] (its defaults are the commands'), windowed
  restoration of long audio, the hold-out rule, the searches, the gain estimate and the shrinkage;
* [`corruptions`][] — reproducible damage (noise, missing samples, gaps) and masks;
* [`classical`][] — the classical tools a user would try first (wavelet, TV, NL-means,
  BM3D, Wiener, interpolation, LMMSE) and the noise estimate σ̂;
* [`priors`][] — the band prior, a penalty on the fit's out-of-band power;
* [`evaluation`][] — corrupt a clean signal, restore it with models and tools over
  seeds, and score everything against the clean signal (``siren2 restore-eval``).
"""

from .classical import BASELINES, baselines_for, noise_std, run_baseline
from .corruptions import Corruption, CorruptionSpec, add_noise, drop_gaps, drop_samples, load_mask, silence_mask
from .evaluation import Evaluation, evaluate
from .priors import band
from .restorer import RestoreSettings, restore, restore_classical, restore_settings, restore_windowed

__all__ = ["restore", "restore_windowed", "restore_classical", "restore_settings", "RestoreSettings", "evaluate",
           "Evaluation", "Corruption", "CorruptionSpec", "add_noise", "drop_samples", "drop_gaps", "load_mask",
           "silence_mask", "BASELINES", "baselines_for", "noise_std", "run_baseline", "band"]
