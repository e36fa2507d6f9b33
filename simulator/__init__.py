"""What a sample does: ensembles of giant-spin packets, environments, propagators.

Public API: :func:`load_sample`, :func:`list_samples`, :class:`Sample`, :class:`Ensemble`,
:func:`propagate`, :func:`propagate_sampled`, :func:`simulate`, :class:`Observables`,
:class:`SampleError`, and the paper's :func:`correlator` and :func:`absorption_spectrum`.

The names below load their module on first use (PEP 562), so importing the package, or one of
its light modules, does not import the heavy ones (the command line starts fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spin_echo.sequences.lazy import lazy_exports

if TYPE_CHECKING:
    from spin_echo.simulator.ensemble import Ensemble
    from spin_echo.simulator.lab.sampled import propagate_sampled
    from spin_echo.simulator.propagator import Observables, propagate
    from spin_echo.simulator.sample import Sample, SampleError, list_samples, load_sample
    from spin_echo.simulator.simulation import Simulation, simulate
    from spin_echo.simulator.spectra import absorption_spectrum, correlator

__all__ = [
    "Ensemble",
    "Observables",
    "Sample",
    "SampleError",
    "Simulation",
    "absorption_spectrum",
    "correlator",
    "list_samples",
    "load_sample",
    "propagate",
    "propagate_sampled",
    "simulate",
]

#: Public name -> the module of this package that defines it.
_EXPORTS = {
    "absorption_spectrum": "spectra",
    "correlator": "spectra",
    "Ensemble": "ensemble",
    "list_samples": "sample",
    "load_sample": "sample",
    "Observables": "propagator",
    "propagate": "propagator",
    "propagate_sampled": "lab.sampled",
    "Sample": "sample",
    "SampleError": "sample",
    "simulate": "simulation",
    "Simulation": "simulation",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
