"""What the bench does: one instrument interface, virtual and VISA implementations."""

from spin_echo.drivers.bench import DRIVERS, Bench, list_benches, load_bench, open_bench
from spin_echo.drivers.config import BenchSpec, Coil, InstrumentConfig
from spin_echo.drivers.interface import (
    Awg,
    BenchError,
    Detector,
    InstrumentError,
    LockIn,
    LockInReading,
    Trace,
)

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
    "Trace",
    "list_benches",
    "load_bench",
    "open_bench",
]
