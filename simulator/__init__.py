"""What a sample does: ensembles of giant-spin packets, environments, propagators.

Public API: :func:`load_sample`, :func:`list_samples`, :class:`Sample`, :class:`Ensemble`,
:func:`propagate`, :func:`propagate_sampled`, :func:`simulate`, :class:`Observables`,
:class:`SampleError`, and the paper's :func:`correlator` and :func:`absorption_spectrum`.
"""

from spin_echo.simulator.ensemble import Ensemble
from spin_echo.simulator.lab import propagate_sampled
from spin_echo.simulator.propagator import Observables, propagate
from spin_echo.simulator.sample import Sample, SampleError, list_samples, load_sample
from spin_echo.simulator.simulate import simulate
from spin_echo.simulator.spectra import absorption_spectrum, correlator

__all__ = [
    "Ensemble",
    "Observables",
    "Sample",
    "SampleError",
    "absorption_spectrum",
    "correlator",
    "list_samples",
    "load_sample",
    "propagate",
    "propagate_sampled",
    "simulate",
]
