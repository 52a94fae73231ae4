"""siren2: implicit neural representations with SIREN and SIREN² (SIREN + WINNER initialization).

    >>> import siren2
    >>> signal = siren2.load_signal("clip.wav")            # values (N, C) in [-1, 1]
    >>> model = siren2.create_model("siren2", signal)      # ψ → (s0, s1) → WINNER noise
    >>> result = siren2.fit(model, signal, siren2.FitConfig(epochs=1000))
    >>> siren2.metrics(signal, siren2.predict(model, signal.coords()).numpy())
"""

__version__ = "0.1.0"

from .errors import InputError
from .metrics import metrics
from .build import create_model
from .codec import compress, decompress
from .models import list_models, num_parameters
from .models.siren import siren_init_
from .io import load_signal, save_signal
from .signal import Signal, crop, demo_signal
from .train import FitConfig, FitResult, fit, fit_batched, predict
from .tuning import tune
from .winner import RULES, noise_scales, spectral_centroid, winner_

__all__ = [
    "InputError", "metrics", "create_model", "list_models", "num_parameters", "siren_init_", "Signal", "crop",
    "demo_signal", "load_signal", "save_signal", "FitConfig", "FitResult", "fit", "fit_batched", "predict", "RULES",
    "noise_scales", "spectral_centroid", "winner_", "compress", "decompress", "tune",
]
