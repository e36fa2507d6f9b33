"""What a sample does: ensembles of giant-spin packets, environments, propagators.

Public API: :func:`load_sample`, :func:`list_samples`, :class:`Sample`, :class:`Ensemble`,
:func:`propagate`, :func:`propagate_sampled`, :func:`simulate`, :class:`Observables`,
:class:`SampleError`, and the paper's :func:`correlator` and :func:`absorption_spectrum`.
"""

from simulator.ensemble import Ensemble
from simulator.lab import propagate_sampled
from simulator.propagator import Observables, propagate
from simulator.sample import Sample, SampleError, list_samples, load_sample
from simulator.simulate import simulate
from simulator.spectra import absorption_spectrum, correlator

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
