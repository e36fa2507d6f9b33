"""Stanford Research Systems SR830 and SR860 lock-in amplifiers: X, Y, R, theta at one instant.

SR830 (GPIB): ``OUTX 1`` first - it routes replies to the GPIB port and must precede any
query - then ``*IDN?``, ``*CLS`` and the reference phase (``PHAS``). A reading is
``SNAP? 1,2,3,4``: X, Y, R (volts) and theta (degrees) recorded at one instant. The SR830 has
no ``*OPC?`` and no ``SYST:ERR?``: every command is confirmed by reading the standard event
status register, ``*ESR?`` (bit 5 command error, bit 4 execution error, bit 2 query error).

SR860/SR865 (GPIB, USB, LAN): ``*IDN?``, ``*CLS``, ``PHAS``; commands are confirmed with
``*OPC?`` and ``*ESR?``. Its ``SNAP?`` takes two or three parameters, so a reading is
``SNAP? 0,1,3`` (X, Y, theta at one instant) and R is computed as sqrt(X^2 + Y^2), the same
formula the instrument uses for its R output.
"""

from __future__ import annotations

import math
from typing import ClassVar

from spin_echo.drivers.config import Option
from spin_echo.drivers.interface import LockIn, LockInReading
from spin_echo.drivers.settings import OneOf, Range, Setting, declare
from spin_echo.drivers.visa.scpi import ScpiDriver

__all__ = ["SR830", "SR860", "SrsLockIn"]

_OPTIONS = {"phase": Option("angle", "reference phase, e.g. '90 deg'", 0.0, "phase_deg")}


class SrsLockIn(ScpiDriver, LockIn):
    """Common part of the SRS lock-in drivers.

    Attributes
    ----------
    SNAP
        The snapshot query and the number of values it returns.
    """

    ROLE = "lockin"
    ERROR_QUERY = None
    OPTIONS = _OPTIONS
    SNAP: ClassVar[tuple[str, int]]

    @property
    def phase_deg(self) -> float:
        """Reference phase from the bench file, degrees (the unit the instrument takes)."""
        return math.degrees(float(self.config.options["phase"]))

    def connect(self) -> None:
        """Identify the lock-in, clear its status and set the reference phase."""
        self.identify()
        self.apply_all([("phase_deg", self.phase_deg)])

    def read(self) -> LockInReading:
        """Return X, Y, R (volts) and theta (radians) recorded at one instant."""
        command, count = self.SNAP
        values = self.query_numbers(command, count)
        self.complete(command)
        return self._reading(values)

    def _reading(self, values: list[float]) -> LockInReading:
        x, y, r, theta_deg = values
        return LockInReading(x, y, r, math.radians(theta_deg))


class SR830(SrsLockIn):
    """SRS SR830 DSP lock-in amplifier (GPIB)."""

    DRIVER = "srs-sr830"
    IDN_PATTERN = r"^Stanford_Research_Systems,SR830,"
    DRY_RUN_IDN = "Stanford_Research_Systems,SR830,s/n00000,ver1.07"
    USES_OPC = False
    SNAP = ("SNAP? 1,2,3,4", 4)
    SETTINGS = declare(
        Setting("output_interface", "OUTX {value}", "", OneOf((1,))),
        Setting("phase_deg", "PHAS {value}", "deg", Range(-360.0, 729.99)),
    )

    def connect(self) -> None:
        """Route replies to GPIB (``OUTX 1``) before anything else, then as the SR860."""
        self.apply_all([("output_interface", 1)])
        super().connect()

    def dry_reply(self, command: str) -> str:
        """Return a zero snapshot for ``SNAP?`` (``--dry-run``)."""
        return "0,0,0,0" if command.startswith("SNAP?") else super().dry_reply(command)


class SR860(SrsLockIn):
    """SRS SR860/SR865 lock-in amplifier."""

    DRIVER = "srs-sr860"
    IDN_PATTERN = r"^Stanford_Research_Systems,SR86[05]A?,"
    DRY_RUN_IDN = "Stanford_Research_Systems,SR860,003000,V1.51"
    SNAP = ("SNAP? 0,1,3", 3)
    SETTINGS = declare(Setting("phase_deg", "PHAS {value}", "deg", Range(-360000.0, 360000.0)))

    def _reading(self, values: list[float]) -> LockInReading:
        x, y, theta_deg = values
        return LockInReading(x, y, math.hypot(x, y), math.radians(theta_deg))

    def dry_reply(self, command: str) -> str:
        """Return a zero snapshot for ``SNAP?`` (``--dry-run``)."""
        return "0,0,0" if command.startswith("SNAP?") else super().dry_reply(command)
