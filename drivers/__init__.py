"""What the bench does: one instrument interface, virtual and VISA implementations."""

from drivers.bench import DRIVERS, Bench, list_benches, load_bench, open_bench
from drivers.config import BenchSpec, Coil, InstrumentConfig
from drivers.interface import (
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
