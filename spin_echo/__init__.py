"""spin-echo: a virtual instrument for pulsed coherence experiments on magnetic grains.

One import namespace over the four packages of the repository:

- :mod:`spin_echo.sequences` -- what an experiment is (protocols and their compilers);
- :mod:`spin_echo.simulator` -- what a sample does (packet ensembles, baths, propagators);
- :mod:`spin_echo.drivers` -- what the bench does (virtual and VISA instruments);
- :mod:`spin_echo.echo` -- what the scientist does (runs, records, analysis, plots, the CLI).

Importing :mod:`spin_echo` is cheap: the subpackages load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBPACKAGES = ("sequences", "simulator", "drivers", "echo")

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name: str) -> Any:
    """Import a subpackage on first access (``spin_echo.simulator``)."""
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
