"""spin-echo: a virtual instrument for pulsed coherence experiments on magnetic grains.

The Python API (every name loads its module on first use, so ``import spin_echo`` is fast and
pulls in neither numpy-heavy libraries nor the instrument stack until they are needed):

- load: :func:`load_protocol`, :func:`load_sample`, :func:`load_bench` (a built-in name, a
  path, or YAML text; objects change with ``with_values(...)``), :func:`save`;
- run: :func:`simulate` (a record as an :class:`xarray.Dataset`, in memory), :func:`run` (on a
  virtual or real bench), :func:`virtual_lab` (emulated instruments around a sample);
- evaluate: :func:`analyse`, :func:`compare`, :func:`fit`, :func:`budget`, returning
  :class:`AnalysisResult`, :class:`ComparisonResult`, :class:`FitResult`, :class:`Budget`;
- design: :func:`design` (predicted signal-to-noise and verdict before the lab), returning
  :class:`DesignResult`.

Errors a person can cause derive from :class:`InputError` (a :class:`ValueError`), every
error raised on purpose from :class:`SpinEchoError`.

The four packages of the repository are reachable below it:

- :mod:`spin_echo.sequences` -- what an experiment is (protocols and their compilers);
- :mod:`spin_echo.simulator` -- what a sample does (packet ensembles, baths, propagators);
- :mod:`spin_echo.drivers` -- what the bench does (virtual and VISA instruments);
- :mod:`spin_echo.echo` -- what the scientist does (runs, records, analysis, plots, the CLI).

Examples
--------
>>> import spin_echo as se
>>> record = se.simulate("hahn-echo", "bare-t2", packets=400)
>>> se.analyse(record).values["T_M"] > 0
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spin_echo.designs import DesignResult, design
    from spin_echo.evaluation import analyse, budget, compare, fit, read
    from spin_echo.experiments import run, save, simulate, virtual_lab
    from spin_echo.loading import load_bench, load_protocol, load_sample
    from spin_echo.results import AnalysisResult, Budget, ComparisonResult, FitResult
    from spin_echo.sequences.errors import InputError, SpinEchoError

__version__ = "0.1.0"

_SUBPACKAGES = ("sequences", "simulator", "drivers", "echo")

#: Public name -> the module of this package that defines it.
_EXPORTS = {
    "AnalysisResult": "results",
    "Budget": "results",
    "ComparisonResult": "results",
    "DesignResult": "designs",
    "FitResult": "results",
    "InputError": "sequences.errors",
    "SpinEchoError": "sequences.errors",
    "analyse": "evaluation",
    "budget": "evaluation",
    "compare": "evaluation",
    "design": "designs",
    "fit": "evaluation",
    "load_bench": "loading",
    "load_protocol": "loading",
    "load_sample": "loading",
    "read": "evaluation",
    "run": "experiments",
    "save": "experiments",
    "simulate": "experiments",
    "virtual_lab": "experiments",
}

__all__ = [
    "AnalysisResult",
    "Budget",
    "ComparisonResult",
    "DesignResult",
    "FitResult",
    "InputError",
    "SpinEchoError",
    "__version__",
    "analyse",
    "budget",
    "compare",
    "design",
    "drivers",
    "echo",
    "fit",
    "load_bench",
    "load_protocol",
    "load_sample",
    "read",
    "run",
    "save",
    "sequences",
    "simulate",
    "simulator",
    "virtual_lab",
]


def __getattr__(name: str) -> Any:
    """Load a public name's module, or a subpackage, on first access (PEP 562)."""
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
