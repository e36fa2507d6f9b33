r"""What the two digitizing-oscilloscope drivers share: options, arming, scaling to volts.

Both the Keysight InfiniiVision and the Tektronix scopes return integer codes with a linear
scale described by a preamble,

.. math::  t_i = (i - x_\mathrm{ref})\,\Delta x + x_0, \qquad
           v_i = (c_i - y_\mathrm{ref})\,\Delta y + y_0 ,

(InfiniiVision ``:WAV:PRE?``: xincrement, xorigin, xreference, yincrement, yorigin,
yreference; Tektronix ``WFMO:XIN/XZE/PT_O/YMU/YZE/YOF``), so one function,
:func:`linear_trace`, turns both into a :class:`~drivers.interface.Trace`.

An :class:`Oscilloscope` is armed for a window (``start_s``, ``duration_s`` after the trigger):
the time base is rewritten only when the window changes, then a single acquisition is started
and :meth:`Oscilloscope.arm` returns once the scope reports its trigger armed (so the AWG may
fire); :meth:`Oscilloscope.acquire` waits for the acquisition to finish, checks the error
queue, and reads the preamble and the data block.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from spin_echo.drivers.config import InstrumentConfig, Option
from spin_echo.drivers.interface import Detector, InstrumentError, Trace
from spin_echo.drivers.visa.scpi import ScpiDriver, Transport

__all__ = ["SCOPE_OPTIONS", "Oscilloscope", "linear_trace"]

#: Bench-file keys shared by the oscilloscope drivers.
SCOPE_OPTIONS = {
    "channel": Option("integer", "input channel (1-4)", 1, "channel"),
    "points": Option("integer", "record length, points", 2000, "points"),
    "range": Option("voltage", "vertical full scale of the channel", 0.04, "range_v"),
    "trigger_level": Option(
        "voltage", "level of the external trigger input", 1.0, "trigger_level_v"
    ),
    "byte_order": Option(
        "choice",
        "byte order of WORD/int16 transfers: LSB or MSB first",
        "LSB",
        None,
        ("LSB", "MSB"),
    ),
}


def linear_trace(
    codes: np.ndarray,
    *,
    x_increment: float,
    x_origin: float,
    x_reference: float,
    y_increment: float,
    y_origin: float,
    y_reference: float,
) -> Trace:
    """Scale integer ``codes`` to a trace in volts with a linear preamble (see module doc)."""
    index = np.arange(len(codes), dtype=float)
    time_s = (index - x_reference) * x_increment + x_origin
    values = (np.asarray(codes, dtype=float) - y_reference) * y_increment + y_origin
    return Trace(time_s, values, "V")


class Oscilloscope(ScpiDriver, Detector):
    """Common part of the oscilloscope drivers (see the module docstring)."""

    ROLE = "detector"

    def __init__(self, config: InstrumentConfig, transport: Transport) -> None:
        super().__init__(config, transport)
        self._window: tuple[float, float] | None = None
        self._armed = False

    @property
    def points(self) -> int:
        """Record length asked for by the bench file."""
        return int(self.config.options["points"])

    @property
    def big_endian(self) -> bool:
        """Whether binary transfers are MSB first (bench option ``byte_order``)."""
        return self.config.options["byte_order"] == "MSB"

    def connect(self) -> None:
        """Identify the scope, clear its status and configure channel, format and trigger."""
        self.identify()
        self._configure()

    def arm(self, start_s: float, duration_s: float) -> None:
        """Set the time base to the window (if it changed) and start a single acquisition."""
        if duration_s <= 0:
            raise InstrumentError(self.label, "arm", f"window duration {duration_s:g} s <= 0")
        if self._window != (start_s, duration_s):
            self._set_window(start_s, duration_s)
            self._window = (start_s, duration_s)
        self._start()
        self._armed = True

    def acquire(self) -> Trace:
        """Wait for the armed acquisition, then read and scale it."""
        if not self._armed:
            raise InstrumentError(self.label, "acquire", "not armed")
        self._armed = False
        self._wait()
        self.complete("acquisition")
        trace = self._read()
        if len(trace.values) == 0:
            raise InstrumentError(self.label, "acquire", "the scope returned no points")
        return trace

    def _check_length(self, command: str, codes: np.ndarray, expected: int) -> None:
        if len(codes) != expected:
            raise InstrumentError(
                self.label, command, f"block holds {len(codes)} points; preamble says {expected}"
            )

    def dry_block(self, command: str) -> np.ndarray:
        """Zeros of the configured record length (``--dry-run``)."""
        return np.zeros(self.points, dtype=np.int16)

    @abstractmethod
    def _configure(self) -> None:
        """Write channel, data format and trigger settings."""

    @abstractmethod
    def _set_window(self, start_s: float, duration_s: float) -> None:
        """Write the time base so the record covers the window."""

    @abstractmethod
    def _start(self) -> None:
        """Start one acquisition; return once the scope is armed for the trigger."""

    @abstractmethod
    def _wait(self) -> None:
        """Wait until the armed acquisition has triggered and finished."""

    @abstractmethod
    def _read(self) -> Trace:
        """Read the preamble and the data block of the finished acquisition."""
