"""Emulated Keysight instruments for the SCPI server: Trueform AWGs and an InfiniiVision scope.

The models follow the programming guides closely enough that the real drivers can be run
against them byte for byte, and they *check* what they receive: block lengths and byte order
(``FORM:BORD``), DAC codes within +-32767 and floats within [-1, 1], arb names, a fresh name
after ``DATA:VOL:CLE``, sample rate, amplitude, offset and ``|offset| + Vpp/2`` within the
model's range, trigger only when armed. A violation goes to the error queue with the SCPI
error code a real instrument would use (-222 data out of range, -224 illegal parameter
value, -113 undefined header, ...), where the driver's ``SYST:ERR?`` finds it.
"""

from __future__ import annotations

import re

import numpy as np

from spin_echo.drivers.emulated.server import (
    EmulatedInstrument,
    parse_bool,
    parse_keyword,
    parse_number,
)
from spin_echo.drivers.emulated.wiring import AwgOutput, EmulatedLab, EmulatedScope
from spin_echo.drivers.visa.keysight_awg import (
    Keysight33500B,
    Keysight33600A,
    keysight_level_violation,
)
from spin_echo.drivers.visa.keysight_scope import KeysightInfiniiVision

__all__ = ["EmulatedInfiniiVision", "EmulatedTrueform"]

#: The scope driver's declared settings: the emulator enforces the same limits.
_SCOPE = KeysightInfiniiVision.SETTINGS


class EmulatedTrueform(EmulatedInstrument):
    """Keysight 33500B / 33600A (one channel): arb upload, burst, bus trigger.

    Parameters
    ----------
    lab
        Where a triggered burst goes.
    model
        ``"33600A"`` or ``"33500B"``: the limits (sample rate, length, memory, amplitude,
        offset, output level) are those the driver declares
        (:class:`~drivers.visa.keysight_awg.Keysight33600A` ``MODEL`` and ``SETTINGS``).
    """

    COMMANDS = (
        ("FORMat:BORDer", "_bord"),
        ("FORMat:BORDer?", "_bord_q"),
        ("[SOURce#:]DATA:VOLatile:CLEar", "_clear"),
        ("[SOURce#:]DATA:ARBitrary:DAC", "_data_dac"),
        ("[SOURce#:]DATA:ARBitrary", "_data_float"),
        ("[SOURce#:]FUNCtion:ARBitrary", "_select"),
        ("[SOURce#:]FUNCtion:ARBitrary:SRATe", "_srate"),
        ("[SOURce#:]FUNCtion:ARBitrary:SRATe?", "_srate_q"),
        ("[SOURce#:]FUNCtion", "_function"),
        ("[SOURce#:]VOLTage:UNIT", "_unit"),
        ("[SOURce#:]VOLTage", "_volt"),
        ("[SOURce#:]VOLTage?", "_volt_q"),
        ("[SOURce#:]VOLTage:OFFSet", "_offset"),
        ("[SOURce#:]VOLTage:OFFSet?", "_offset_q"),
        ("[SOURce#:]BURSt:MODE", "_burst_mode"),
        ("[SOURce#:]BURSt:NCYCles", "_burst_cycles"),
        ("[SOURce#:]BURSt:STATe", "_burst_state"),
        ("TRIGger#:SOURce", "_trigger_source"),
        ("OUTPut#:LOAD", "_load"),
        ("OUTPut:SYNC", "_sync"),
        ("OUTPut#", "_output"),
        ("OUTPut#?", "_output_q"),
        ("*TRG", "_trg"),
    )

    def __init__(self, lab: EmulatedLab, model: str = "33600A") -> None:
        self.lab = lab
        self.model = model
        if model == "33600A":
            self.IDN = "Keysight Technologies,33622A,MY59000001,A.02.02-3.15-2.01-60-00"
            driver = Keysight33600A
        else:
            self.IDN = "Keysight Technologies,33522B,MY59000002,4.00-1.19-2.00-58-00"
            driver = Keysight33500B
        self.settings = driver.SETTINGS
        self.min_points, self.memory = driver.MODEL.min_length, driver.MODEL.memory
        super().__init__()
        self.reset()

    def reset(self) -> None:
        """Power-on state: sine, 100 mVpp, output off, big-endian blocks, immediate trigger."""
        self.byte_order = "NORM"
        self.arbs: dict[str, np.ndarray] = {}
        self.selected: str | None = None
        self.function = "SIN"
        self.sample_rate = 40e3
        self.unit = "VPP"
        self.load = "50"
        self.amplitude = 0.1
        self.offset = 0.0
        self.burst_mode, self.burst_cycles, self.burst_on = "TRIG", 1, False
        self.trigger_source = "IMM"
        self.output_on = False
        self.sync_on = True

    def _level_ok(self, amplitude: float, offset: float) -> bool:
        return keysight_level_violation(amplitude, offset, self.load) is None

    def _bord(self, value: str) -> None:
        self.byte_order = parse_keyword(value, {"NORMAL": "NORM", "SWAPPED": "SWAP"})

    def _bord_q(self) -> str:
        return self.byte_order

    def _clear(self, channel: int) -> None:
        self.arbs.clear()
        self.selected = None

    def _store(self, name: str, values: np.ndarray) -> None:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,11}", name):
            self.push_error(-224, f"Illegal parameter value; arb name {name!r}")
        elif name.upper() in self.arbs:
            self.push_error(-221, f"Settings conflict; arb {name} already in volatile memory")
        elif not self.min_points <= len(values) <= self.memory:
            self.push_error(-222, f"Data out of range; {len(values)} points")
        else:
            self.arbs[name.upper()] = values

    def _decode(self, args: tuple[str | bytes, ...], dtype: str) -> np.ndarray | None:
        block = args[0] if len(args) == 1 else None
        if not isinstance(block, bytes):
            self.push_error(-104, "Data type error; one definite-length block was expected")
            return None
        size = np.dtype(dtype).itemsize
        if len(block) % size:
            self.push_error(
                -160, f"Block data error; {len(block)} bytes is not a multiple of {size}"
            )
            return None
        order = "<" if self.byte_order == "SWAP" else ">"
        return np.frombuffer(block, dtype=order + dtype).astype(float)

    def _data_dac(self, channel: int, name: str, *block: str | bytes) -> None:
        codes = self._decode(block, "i2")
        if codes is None:
            return
        if np.any(np.abs(codes) > 32767):
            self.push_error(-222, "Data out of range; DAC code -32768")
            return
        self._store(name, codes / 32767.0)

    def _data_float(self, channel: int, name: str, *block: str | bytes) -> None:
        values = self._decode(block, "f4")
        if values is None:
            return
        if not np.all(np.abs(values) <= 1.0):
            self.push_error(-222, "Data out of range; arb values must lie in [-1, 1]")
            return
        self._store(name, values)

    def _select(self, channel: int, name: str) -> None:
        if name.upper() not in self.arbs:
            self.push_error(-224, f"Illegal parameter value; no arb named {name}")
        else:
            self.selected = name.upper()

    def _srate(self, channel: int, value: str) -> None:
        rate = parse_number(value)
        if not self.settings["sample_rate_hz"].accepts_written(rate):
            self.push_error(-222, "Data out of range; sample rate")
        else:
            self.sample_rate = rate

    def _srate_q(self, channel: int) -> str:
        return f"{self.sample_rate:.9E}"

    def _function(self, channel: int, value: str) -> None:
        self.function = parse_keyword(
            value, {"SINUSOID": "SIN", "SQUARE": "SQU", "ARBITRARY": "ARB"}
        )
        if self.function == "ARB" and self.selected is None:
            self.push_error(-221, "Settings conflict; no arb selected")

    def _unit(self, channel: int, value: str) -> None:
        self.unit = parse_keyword(value, {"VPP": "VPP", "VRMS": "VRMS", "DBM": "DBM"})

    def _volt(self, channel: int, value: str) -> None:
        amplitude = parse_number(value)
        if self.unit != "VPP":
            self.push_error(-221, f"Settings conflict; amplitude unit is {self.unit}")
        elif not self.settings["amplitude_vpp"].accepts_written(amplitude) or not self._level_ok(
            amplitude, self.offset
        ):
            self.push_error(-222, "Data out of range; amplitude")
        else:
            self.amplitude = amplitude

    def _volt_q(self, channel: int) -> str:
        return f"{self.amplitude:.9E}"

    def _offset(self, channel: int, value: str) -> None:
        offset = parse_number(value)
        if not self.settings["offset_v"].accepts_written(offset) or not self._level_ok(
            self.amplitude, offset
        ):
            self.push_error(-222, "Data out of range; offset")
        else:
            self.offset = offset

    def _offset_q(self, channel: int) -> str:
        return f"{self.offset:.9E}"

    def _burst_mode(self, channel: int, value: str) -> None:
        self.burst_mode = parse_keyword(value, {"TRIGGERED": "TRIG", "GATED": "GAT"})

    def _burst_cycles(self, channel: int, value: str) -> None:
        cycles = int(parse_number(value))
        if not 1 <= cycles <= 100_000_000:
            self.push_error(-222, "Data out of range; burst count")
        else:
            self.burst_cycles = cycles

    def _burst_state(self, channel: int, value: str) -> None:
        self.burst_on = parse_bool(value)

    def _trigger_source(self, channel: int, value: str) -> None:
        self.trigger_source = parse_keyword(
            value, {"BUS": "BUS", "EXTERNAL": "EXT", "IMMEDIATE": "IMM", "TIMER": "TIM"}
        )

    def _load(self, channel: int, value: str) -> None:
        word = value.strip().upper()
        if word in ("INF", "INFINITY"):
            self.load = "INF"
        elif 1.0 <= parse_number(value) <= 10e3:
            self.load = f"{parse_number(value):g}"
        else:
            self.push_error(-222, "Data out of range; load")

    def _sync(self, value: str) -> None:
        self.sync_on = parse_bool(value)

    def _output(self, channel: int, value: str) -> None:
        self.output_on = parse_bool(value)

    def _output_q(self, channel: int) -> str:
        return "1" if self.output_on else "0"

    def _trg(self) -> None:
        ready = (
            self.trigger_source == "BUS"
            and self.burst_on
            and self.output_on
            and self.function == "ARB"
            and self.selected is not None
        )
        if not ready:
            self.push_error(-211, "Trigger ignored")
            return
        samples = np.tile(self.arbs[self.selected], self.burst_cycles)
        self.lab.play(AwgOutput(self.sample_rate, samples, self.amplitude, self.offset))


class EmulatedInfiniiVision(EmulatedScope):
    """Keysight InfiniiVision scope (channel 1-4, EXT trigger): digitize, preamble, data."""

    IDN = "KEYSIGHT TECHNOLOGIES,DSOX3024T,MY59000003,07.50.2021102830"
    COMMANDS = (
        (":WAVeform:SOURce", "_source"),
        (":WAVeform:FORMat", "_format"),
        (":WAVeform:BYTeorder", "_byte_order"),
        (":WAVeform:UNSigned", "_unsigned"),
        (":WAVeform:POINts:MODE", "_points_mode"),
        (":WAVeform:POINts", "_points"),
        (":WAVeform:PREamble?", "_preamble"),
        (":WAVeform:DATA?", "_data"),
        (":CHANnel#:RANGe", "_range"),
        (":CHANnel#:OFFSet", "_offset"),
        (":TIMebase:REFerence", "_reference"),
        (":TIMebase:RANGe", "_time_range"),
        (":TIMebase:POSition", "_position"),
        (":TRIGger:MODE", "_trigger_mode"),
        (":TRIGger[:EDGE]:SOURce", "_trigger_source"),
        (":TRIGger[:EDGE]:LEVel", "_trigger_level"),
        (":TRIGger:SWEep", "_sweep"),
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
