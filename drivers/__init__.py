"""What the bench does: one instrument interface, virtual and VISA implementations.

The names below load their module on first use (PEP 562), so importing the package, or one of
its light modules, does not import the heavy ones (the command line starts fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spin_echo.sequences.lazy import lazy_exports

if TYPE_CHECKING:
    from spin_echo.drivers.bench import DRIVERS, Bench, list_benches, load_bench, open_bench
    from spin_echo.drivers.config import BenchSpec, Coil, InstrumentConfig
    from spin_echo.drivers.interface import (
        Awg,
        BenchError,
        Detector,
        InstrumentError,
        LockIn,
        LockInReading,
        Magnetometer,
        Trace,
    )
    from spin_echo.drivers.magnetometer import MagnetometerChain

__all__ = [
    "DRIVERS",
    "Awg",
    "Bench",
    "BenchError",
    "BenchSpec",
    "Coil",
    "Detector",
    "InstrumentConfig",
    "InstrumentError",
    "LockIn",
    "LockInReading",
    "Magnetometer",
    "MagnetometerChain",
    "Trace",
    "list_benches",
    "load_bench",
    "open_bench",
]

#: Public name -> the module of this package that defines it.
_EXPORTS = {
    "Awg": "interface",
    "Bench": "bench",
    "BenchError": "interface",
    "BenchSpec": "config",
    "Coil": "config",
    "Detector": "interface",
    "DRIVERS": "bench",
    "InstrumentConfig": "config",
    "InstrumentError": "interface",
    "list_benches": "bench",
    "load_bench": "bench",
    "LockIn": "interface",
    "LockInReading": "interface",
    "Magnetometer": "interface",
    "MagnetometerChain": "magnetometer",
    "open_bench": "bench",
    "Trace": "interface",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
