"""Emulated Keysight InfiniiVision X-Series oscilloscope for the SCPI server.

It digitizes on the external trigger, answers ``:WAV:PRE?`` and ``:WAV:DATA?`` and *checks*
what it receives against the limits the driver declares
(:class:`~drivers.visa.keysight_scope.KeysightInfiniiVision` ``SETTINGS``); a violation goes to
the error queue with the SCPI code a real scope would use. Every setting the driver writes can
be queried back (the driver's read-back), in the forms of the programmer's guide.
"""

from __future__ import annotations

import re

import numpy as np

from spin_echo.drivers.emulated.server import parse_bool, parse_keyword, parse_number
from spin_echo.drivers.emulated.wiring import EmulatedLab, EmulatedScope
from spin_echo.drivers.visa.keysight_scope import KeysightInfiniiVision

__all__ = ["EmulatedInfiniiVision"]

#: The scope driver's declared settings: the emulator enforces the same limits.
_SCOPE = KeysightInfiniiVision.SETTINGS


class EmulatedInfiniiVision(EmulatedScope):
    """Keysight InfiniiVision scope (channel 1-4, EXT trigger): digitize, preamble, data."""

    IDN = "KEYSIGHT TECHNOLOGIES,DSOX3024T,MY59000003,07.50.2021102830"
    COMMANDS = (
        (":WAVeform:SOURce", "_source"),
        (":WAVeform:SOURce?", "_source_q"),
        (":WAVeform:FORMat", "_format"),
        (":WAVeform:FORMat?", "_format_q"),
        (":WAVeform:BYTeorder", "_byte_order"),
        (":WAVeform:BYTeorder?", "_byte_order_q"),
        (":WAVeform:UNSigned", "_unsigned"),
        (":WAVeform:UNSigned?", "_unsigned_q"),
        (":WAVeform:POINts:MODE", "_points_mode"),
        (":WAVeform:POINts:MODE?", "_points_mode_q"),
        (":WAVeform:POINts", "_points"),
        (":WAVeform:POINts?", "_points_q"),
        (":WAVeform:PREamble?", "_preamble"),
        (":WAVeform:DATA?", "_data"),
        (":CHANnel#:RANGe", "_range"),
        (":CHANnel#:RANGe?", "_range_q"),
        (":CHANnel#:OFFSet", "_offset"),
        (":TIMebase:REFerence", "_reference"),
        (":TIMebase:REFerence?", "_reference_q"),
        (":TIMebase:RANGe", "_time_range"),
        (":TIMebase:RANGe?", "_time_range_q"),
        (":TIMebase:POSition", "_position"),
        (":TIMebase:POSition?", "_position_q"),
        (":TRIGger:MODE", "_trigger_mode"),
        (":TRIGger:MODE?", "_trigger_mode_q"),
        (":TRIGger[:EDGE]:SOURce", "_trigger_source"),
        (":TRIGger[:EDGE]:SOURce?", "_trigger_source_q"),
        (":TRIGger[:EDGE]:LEVel", "_trigger_level"),
        (":TRIGger[:EDGE]:LEVel?", "_trigger_level_q"),
        (":TRIGger:SWEep", "_sweep"),
        (":TRIGger:SWEep?", "_sweep_q"),
        (":DIGitize", "_single"),
        (":SINGle", "_single"),
        (":AER?", "_aer"),
        (":OPERegister:CONDition?", "_condition"),
    )

    def __init__(self, lab: EmulatedLab) -> None:
        super().__init__(lab)
        self.reset()

    def reset(self) -> None:
        """Power-on state: channel 1, BYTE unsigned MSB-first, centred time base."""
        self.source, self.format, self.byte_order, self.unsigned = 1, "BYTE", "MSBF", True
        self.points_mode, self.points = "NORM", 1000
        self.range = dict.fromkeys((1, 2, 3, 4), 8.0)
        self.offset = dict.fromkeys((1, 2, 3, 4), 0.0)
        self.reference, self.time_range, self.position = "CENT", 1e-3, 0.0
        self.trigger_mode, self.trigger_source, self.trigger_level = "EDGE", "CHAN1", 0.0
        self.sweep = "AUTO"
        self.armed = self.triggered = self.arm_event = False
        self.record = None
        self.record_x0 = 0.0

    def _source(self, value: str) -> None:
        match = re.fullmatch(r"CHAN(?:NEL)?([1-4])", value.strip().upper())
        if match is None:
            self.push_error(-224, f"Illegal parameter value; source {value}")
        else:
            self.source = int(match.group(1))

    def _format(self, value: str) -> None:
        self.format = parse_keyword(value, {"WORD": "WORD", "BYTE": "BYTE", "ASCII": "ASC"})

    def _byte_order(self, value: str) -> None:
        self.byte_order = parse_keyword(value, {"LSBFIRST": "LSBF", "MSBFIRST": "MSBF"})

    def _unsigned(self, value: str) -> None:
        self.unsigned = parse_bool(value)

    def _points_mode(self, value: str) -> None:
        self.points_mode = parse_keyword(value, {"NORMAL": "NORM", "MAXIMUM": "MAX", "RAW": "RAW"})

    def _points(self, value: str) -> None:
        points = int(parse_number(value))
        if not _SCOPE["points"].accepts_written(points):
            self.push_error(-222, "Data out of range; points")
        else:
            self.points = points

    def _range(self, channel: int, value: str) -> None:
        volts = parse_number(value)
        if not _SCOPE["range_v"].accepts_written(volts):
            self.push_error(-222, "Data out of range; channel range")
        else:
            self.range[channel] = volts

    def _offset(self, channel: int, value: str) -> None:
        self.offset[channel] = parse_number(value)

    def _reference(self, value: str) -> None:
        self.reference = parse_keyword(value, {"LEFT": "LEFT", "CENTER": "CENT", "RIGHT": "RIGH"})

    def _time_range(self, value: str) -> None:
        seconds = parse_number(value)
        if not _SCOPE["time_range_s"].accepts_written(seconds):
            self.push_error(-222, "Data out of range; time base range")
        else:
            self.time_range = seconds

    def _position(self, value: str) -> None:
        self.position = parse_number(value)

    def _trigger_mode(self, value: str) -> None:
        self.trigger_mode = parse_keyword(value, {"EDGE": "EDGE", "GLITCH": "GLIT"})

    def _trigger_source(self, value: str) -> None:
        word = value.strip().upper()
        if word not in ("EXT", "EXTERNAL", "CHAN1", "CHAN2", "CHAN3", "CHAN4"):
            self.push_error(-224, f"Illegal parameter value; trigger source {value}")
        else:
            self.trigger_source = word[:4] if word.startswith("EXT") else word

    def _trigger_level(self, value: str) -> None:
        level = parse_number(value)
        if abs(level) > 8.0:
            self.push_error(-222, "Data out of range; trigger level")
        else:
            self.trigger_level = level

    def _sweep(self, value: str) -> None:
        self.sweep = parse_keyword(value, {"NORMAL": "NORM", "AUTO": "AUTO"})

    # Queries answer as the programmer's guide shows: short keywords, NR1 counts, NR3 values.

    def _source_q(self) -> str:
        return f"CHAN{self.source}"

    def _format_q(self) -> str:
        return self.format

    def _byte_order_q(self) -> str:
        return self.byte_order

    def _unsigned_q(self) -> str:
        return "1" if self.unsigned else "0"

    def _points_mode_q(self) -> str:
        return self.points_mode

    def _points_q(self) -> str:
        return str(self.points)

    def _range_q(self, channel: int) -> str:
        return f"{self.range[channel]:.9E}"

    def _reference_q(self) -> str:
        return self.reference

    def _time_range_q(self) -> str:
        return f"{self.time_range:.9E}"

    def _position_q(self) -> str:
        return f"{self.position:.9E}"

    def _trigger_mode_q(self) -> str:
        return self.trigger_mode

    def _trigger_source_q(self) -> str:
        return self.trigger_source

    def _trigger_level_q(self) -> str:
        return f"{self.trigger_level:.9E}"

    def _sweep_q(self) -> str:
        return self.sweep

    def _single(self, *sources: str) -> None:
        self.armed = self.arm_event = True
        self.triggered = False
        self.record = None

    def _aer(self) -> str:
        event, self.arm_event = self.arm_event, False
        return "1" if event else "0"

    def _condition(self) -> str:
        return str(8 if self.armed else 0)

    def _scale(self) -> tuple[float, float, float]:
        full = self.range[self.source]
        if self.format == "WORD":
            return full / 64000.0, self.offset[self.source], 0.0 if not self.unsigned else 32768.0
        return full / 250.0, self.offset[self.source], 0.0 if not self.unsigned else 128.0

    def _trigger_matches(self) -> bool:
        return self.trigger_source == "EXT"

    def _record_times(self) -> np.ndarray:
        dx = self.time_range / self.points
        left = {"LEFT": 0.0, "CENT": 0.5, "RIGH": 1.0}[self.reference] * self.time_range
        self.record_x0 = self.position - left
        return self.record_x0 + dx * np.arange(self.points)

    def _codes(self, volts: np.ndarray) -> np.ndarray:
        y_inc, y_org, y_ref = self._scale()
        bits = 16 if self.format == "WORD" else 8
        low = 0 if self.unsigned else -(2 ** (bits - 1))
        return np.clip(np.rint((volts - y_org) / y_inc) + y_ref, low, low + 2**bits - 1)

    def _preamble(self) -> str:
        fmt = {"BYTE": 0, "WORD": 1, "ASC": 4}[self.format]
        y_inc, y_org, y_ref = self._scale()
        dx = self.time_range / self.points
        return (
            f"{fmt},0,{self.points},1,{dx:.9E},{self.record_x0:.9E},0,"
            f"{y_inc:.9E},{y_org:.9E},{y_ref:.0f}"
        )

    def _data(self) -> bytes:
        if self.record is None:
            self.push_error(-222, "Data out of range; no acquisition to read")
            return b"#800000000"
        order = "<" if self.byte_order == "LSBF" else ">"
        kind = ("u" if self.unsigned else "i") + ("2" if self.format == "WORD" else "1")
        payload = self.record.astype(order + kind).tobytes()
        length = str(len(payload))
        return f"#{len(length)}{length}".encode("ascii") + payload
