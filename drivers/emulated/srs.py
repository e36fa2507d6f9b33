"""Emulated SRS SR830 and SR860 lock-in amplifiers for the SCPI server.

Text only: ``OUTX`` (SR830: queries before ``OUTX 1`` are answered on the wrong port, so they
go unanswered here), ``*IDN?``, ``*CLS``, ``*ESR?`` (no ``SYST:ERR?``), ``*OPC?`` on the SR860
only, ``PHAS`` with the model's range, and ``SNAP?`` with the model's parameter codes and
counts (2 to 6 on the SR830, 2 or 3 on the SR860). The emulated outputs are a fixed phasor
``x_v + i y_v`` rotated by the reference phase.
"""

from __future__ import annotations

import math

from spin_echo.drivers.emulated.server import EmulatedInstrument, parse_number
from spin_echo.drivers.visa.srs_lockin import SR830, SR860

__all__ = ["EmulatedLockIn"]

#: Per model: *IDN?, the driver that declares its phase range, SNAP? codes of X, Y, R, theta,
#: allowed counts.
_MODELS = {
    "SR830": (
        "Stanford_Research_Systems,SR830,s/n12345,ver1.07",
        SR830,
        {"1": "x", "2": "y", "3": "r", "4": "theta"},
        range(2, 7),
    ),
    "SR860": (
        "Stanford_Research_Systems,SR860,003112,V1.51",
        SR860,
        {"0": "x", "1": "y", "2": "r", "3": "theta"},
        range(2, 4),
    ),
}


class EmulatedLockIn(EmulatedInstrument):
    """An SR830 or SR860 whose input is the phasor ``x_v + i y_v`` (volts)."""

    COMMANDS = (
        ("OUTX", "_outx"),
        ("OUTX?", "_outx_q"),
        ("PHAS", "_phase"),
        ("PHAS?", "_phase_q"),
        ("SNAP?", "_snap"),
    )

    def __init__(self, model: str = "SR830", *, x_v: float = 1e-6, y_v: float = 2e-6) -> None:
        self.IDN, driver, self.codes, self.counts = _MODELS[model]
        self.phase = driver.SETTINGS["phase_deg"]
        self.model = model
        self.x_v, self.y_v = x_v, y_v
        super().__init__()
        self.phase_deg = 0.0
        self.gpib_selected = model != "SR830"

    def handle(self, message: bytes) -> bytes | None:
        """Answer only once the output interface is GPIB (SR830 ``OUTX 1``), as the real one."""
        reply = super().handle(message)
        return reply if self.gpib_selected else None

    def _opc(self) -> str | None:
        if self.model == "SR830":
            self.push_error(-113, "Undefined header; *OPC?")
            return None
        return "1"

    def _next_error(self) -> None:
        self.push_error(-113, "Undefined header; SYST:ERR?")

    def _outx(self, value: str) -> None:
        self.gpib_selected = int(parse_number(value)) == 1

    def _outx_q(self) -> str:
        return "1" if self.gpib_selected else "0"

    def _phase(self, value: str) -> None:
        degrees = parse_number(value)
        if not self.phase.accepts_written(degrees):
            self.push_error(-222, "Data out of range; phase")
        else:
            self.phase_deg = degrees

    def _phase_q(self) -> str:
        return f"{self.phase_deg:.7g}"

    def _snap(self, *codes: str) -> str | None:
        if len(codes) not in self.counts or any(c not in self.codes for c in codes):
            self.push_error(-224, f"Illegal parameter value; SNAP? {','.join(codes)}")
            return None
        turn = complex(self.x_v, self.y_v) * complex(
            math.cos(math.radians(-self.phase_deg)), math.sin(math.radians(-self.phase_deg))
        )
        values = {
            "x": turn.real,
            "y": turn.imag,
            "r": abs(turn),
            "theta": math.degrees(math.atan2(turn.imag, turn.real)),
        }
        return ",".join(f"{values[self.codes[c]]:.7e}" for c in codes)
