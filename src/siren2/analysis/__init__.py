"""Analysis tools of the paper (docs/method.md#analysis-tools): activation statistics and spectra, the empirical NTK,
snapshots during training, and ``siren2 analyze``.

    >>> from siren2.analysis import SubGrid, layer_activations, ntk_spectrum
    >>> grid = SubGrid.of(signal, 2048)                       # a window of 2048 samples
    >>> spec = ntk_spectrum(model, grid.coords, grid.shape)   # eigenvalues, Σ λ_i |FFT(v_i)|²/n
"""

from .activations import (LayerActivations, activation_spectra, arcsine_density, histograms, layer_activations,
                          preactivation_variance, reference_laws)
from .ntk import (DEFAULT_NTK_BUDGET, NTKSpectrum, check_ntk_memory, eigen_spectrum, empirical_ntk,
                  ntk_memory_bytes, ntk_spectrum, parameter_jacobian)
from .report import AnalysisConfig, analyze
from .spectra import SubGrid, centroid, energy_above, frequencies, median_frequency, subgrid, weighted_power
from .training import Snapshot, Snapshots

__all__ = [
    "LayerActivations", "activation_spectra", "arcsine_density", "histograms", "layer_activations",
    "preactivation_variance", "reference_laws", "DEFAULT_NTK_BUDGET", "NTKSpectrum", "check_ntk_memory",
    "eigen_spectrum", "empirical_ntk", "ntk_memory_bytes", "ntk_spectrum", "parameter_jacobian", "AnalysisConfig",
    "analyze", "SubGrid", "centroid", "energy_above", "frequencies", "median_frequency", "subgrid",
    "weighted_power", "Snapshot", "Snapshots",
]
