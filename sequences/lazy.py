"""Lazy package attributes (PEP 562): a package's public names load their module on first use.

Used by the ``__init__`` of :mod:`spin_echo.sequences`, :mod:`spin_echo.simulator` and
:mod:`spin_echo.drivers`, so that importing a package, or one of its light modules, does not
import the heavy ones (the command line starts without scipy, xarray or matplotlib).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return a package's ``__getattr__`` and ``__dir__`` for ``exports`` (name -> module).

    ``__getattr__(name)`` imports ``package.<module>`` on first access and returns its
    ``name``, caching it in the package; an unknown name raises AttributeError.
    """
    namespace = importlib.import_module(package).__dict__

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(exports)

    return getattr_, dir_
