"""Named settings. Those named ``paper_*`` reproduce the paper's protocol (docs/method.md#protocols); the rest are ours."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRESETS", "Preset", "DEFAULT_PRESET", "get_preset", "preset_in_dim"]


@dataclass(frozen=True)
class Preset:
    """Network shape and training schedule for one kind of signal.

    Attributes
    ----------
    hidden_layers
        Hidden layers of the network.
    width
        Hidden width H.
    omega_first
        The baseline SIREN's first ω (ω_first); SIREN² always uses 30.
    epochs
        Training epochs.
    lr
        Adam's learning rate (the peak, before StepLR's decay).
    lr_step
        StepLR's step, in epochs.
    lr_gamma
        StepLR's factor γ.
    max_samples
        Audio: fit the first N samples; None: all.
    """

    hidden_layers: int
    width: int
    omega_first: float  # the baseline SIREN's first ω; SIREN² always uses 30
    epochs: int
    lr: float = 1e-4
    lr_step: int = 20
    lr_gamma: float = 0.99
    max_samples: int | None = None  # audio: the first N samples


PRESETS: dict[str, Preset] = {
    # 150,000 samples, 4 x 222 (149,185 parameters), Adam 1e-4, StepLR(20, 0.99), 1000 epochs.
    "paper_audio": Preset(hidden_layers=4, width=222, omega_first=3000.0, epochs=1000, lr_gamma=0.99,
                          max_samples=150_000),
    # 512 x 512 in [-1, 1], 5 x 256, Adam 1e-4, StepLR(20, 0.998), 4000 epochs.
    "paper_image": Preset(hidden_layers=5, width=256, omega_first=30.0, epochs=4000, lr_gamma=0.998),
    # Ours: volumes have no paper protocol.
    "volume": Preset(hidden_layers=3, width=256, omega_first=30.0, epochs=1000, lr_gamma=0.99),
}

DEFAULT_PRESET = {1: "paper_audio", 2: "paper_image", 3: "volume"}


def get_preset(name: str | None, in_dim: int = 1) -> tuple[str, Preset]:
    """The named preset, or the default for an ``in_dim``-D signal.

    Parameters
    ----------
    name
        A preset (``paper_audio``, ``paper_image``, ``volume``); None: the default for ``in_dim``
        (`DEFAULT_PRESET`).
    in_dim
        The signal's dimension (1 audio, 2 images, 3 volumes).

    Returns
    -------
    name : str
        The preset's name.
    preset : Preset
        Its settings.

    Raises
    ------
    ValueError
        If there is no preset of that name.
    """
    name = name or DEFAULT_PRESET.get(in_dim, "volume")
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return name, PRESETS[name]


def preset_in_dim(name: str) -> int:
    """The input dimension a preset is meant for (paper_audio 1, paper_image 2, volume 3).

    Parameters
    ----------
    name
        A preset.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If there is no preset of that name.
    """
    return {v: k for k, v in DEFAULT_PRESET.items()}[get_preset(name)[0]]
