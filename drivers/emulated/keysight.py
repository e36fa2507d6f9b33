"""Emulated Keysight instruments for the SCPI server: Trueform AWGs, InfiniiVision scope.

The scope lives in :mod:`~drivers.emulated.keysight_scope` and is re-exported here.

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

from spin_echo.drivers.emulated.keysight_scope import EmulatedInfiniiVision
from spin_echo.drivers.emulated.server import (
    EmulatedInstrument,
    parse_bool,
    parse_keyword,
    parse_number,
)
from spin_echo.drivers.emulated.wiring import AwgOutput, EmulatedLab
from spin_echo.drivers.visa.keysight_awg import (
    Keysight33500B,
    Keysight33600A,
    keysight_level_violation,
)

__all__ = ["EmulatedInfiniiVision", "EmulatedTrueform"]


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
        ("[SOURce#:]FUNCtion?", "_function_q"),
        ("[SOURce#:]VOLTage:UNIT", "_unit"),
        ("[SOURce#:]VOLTage:UNIT?", "_unit_q"),
        ("[SOURce#:]VOLTage", "_volt"),
        ("[SOURce#:]VOLTage?", "_volt_q"),
        ("[SOURce#:]VOLTage:OFFSet", "_offset"),
        ("[SOURce#:]VOLTage:OFFSet?", "_offset_q"),
        ("[SOURce#:]BURSt:MODE", "_burst_mode"),
        ("[SOURce#:]BURSt:MODE?", "_burst_mode_q"),
        ("[SOURce#:]BURSt:NCYCles", "_burst_cycles"),
        ("[SOURce#:]BURSt:NCYCles?", "_burst_cycles_q"),
        ("[SOURce#:]BURSt:STATe", "_burst_state"),
        ("[SOURce#:]BURSt:STATe?", "_burst_state_q"),
        ("TRIGger#:SOURce", "_trigger_source"),
        ("TRIGger#:SOURce?", "_trigger_source_q"),
        ("OUTPut#:LOAD", "_load"),
        ("OUTPut#:LOAD?", "_load_q"),
        ("OUTPut:SYNC", "_sync"),
        ("OUTPut:SYNC?", "_sync_q"),
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

    def _function_q(self, channel: int) -> str:
        return self.function

    def _unit_q(self, channel: int) -> str:
        return self.unit

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

    def _burst_mode_q(self, channel: int) -> str:
        return self.burst_mode

    def _burst_cycles_q(self, channel: int) -> str:
        return f"{self.burst_cycles:.9E}"

    def _burst_state_q(self, channel: int) -> str:
        return "1" if self.burst_on else "0"

    def _trigger_source_q(self, channel: int) -> str:
        return self.trigger_source

    def _load_q(self, channel: int) -> str:
        return "9.9E+37" if self.load == "INF" else f"{float(self.load):.9E}"

    def _sync_q(self) -> str:
        return "1" if self.sync_on else "0"

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
        if self.output_on:
            self.lab.arm()  # the shots' noise is numbered from here

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
