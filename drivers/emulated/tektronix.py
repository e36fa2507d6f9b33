"""Emulated Tektronix instruments for the SCPI server: AWG5200/AWG70000 and an MSO scope.

Like :mod:`spin_echo.drivers.emulated.wiring`, the models check what they receive and report
violations in
their error queues (``SYST:ERR?`` on the AWG; ``*ESR?`` and ``ALLEV?`` on the scope): a
waveform-list entry created twice or written beyond its length, float samples outside
[-1, 1], marker bits the model does not have, sample rate and amplitude outside the model's
range, a trigger while the sequencer is not waiting for one.
"""

from __future__ import annotations

import numpy as np

from spin_echo.drivers.emulated.server import (
    EmulatedInstrument,
    parse_bool,
    parse_keyword,
    parse_number,
)
from spin_echo.drivers.emulated.wiring import AwgOutput, EmulatedLab, EmulatedScope
from spin_echo.drivers.visa.tektronix_awg import TektronixAWG5200, TektronixAWG70000
from spin_echo.drivers.visa.tektronix_scope import TektronixScope

__all__ = ["EmulatedTekAwg", "EmulatedTekScope"]

#: Per model: *IDN?, the driver that declares its limits (sample rates, amplitude, waveform
#: length), and the marker bits it has.
_AWG_MODELS = {
    "AWG5200": ("TEKTRONIX,AWG5204,B010001,FV:6.6.0000.0", TektronixAWG5200, 0x0F),
    "AWG70000": ("TEKTRONIX,AWG70002A,B020001,FV:7.1.0170.0", TektronixAWG70000, 0xC0),
}
#: The scope driver's declared settings: the emulator enforces the same limits.
_SCOPE = TektronixScope.SETTINGS


class EmulatedTekAwg(EmulatedInstrument):
    """Tektronix AWG5200 / AWG70000: waveform list, channel assignment, triggered run mode.

    Attributes
    ----------
    limits
        ``(LMIN, LMAX, GRAN)`` reported by ``WLIS:WAV:LMIN?``, ``LMAX?``, ``GRAN?`` and enforced.
    """

    COMMANDS = (
        ("OUTPut#[:STATe]", "_output"),
        ("OUTPut#[:STATe]?", "_output_q"),
        ("AWGControl:STOP[:IMMediate]", "_stop"),
        ("AWGControl:RUN[:IMMediate]", "_run"),
        ("AWGControl:RSTate?", "_run_state"),
        ("WLISt:LIST?", "_list"),
        ("WLISt:WAVeform:DELete", "_delete"),
        ("WLISt:WAVeform:NEW", "_new"),
        ("WLISt:WAVeform:DATA", "_data"),
        ("WLISt:WAVeform:MARKer:DATA", "_marker_data"),
        ("WLISt:WAVeform:LMINimum?", "_lmin"),
        ("WLISt:WAVeform:LMAXimum?", "_lmax"),
        ("WLISt:WAVeform:GRANularity?", "_gran"),
        ("SOURce#:CASSet:WAVeform", "_assign"),
        ("CLOCk:SRATe", "_sample_rate"),
        ("CLOCk:SRATe?", "_sample_rate_q"),
        ("SOURce#:VOLTage:AMPLitude", "_amplitude"),
        ("SOURce#:VOLTage:AMPLitude?", "_amplitude_q"),
        ("SOURce#:RMODe", "_run_mode"),
        ("SOURce#:RMODe?", "_run_mode_q"),
        ("SOURce#:TINPut", "_trigger_input"),
        ("SOURce#:TINPut?", "_trigger_input_q"),
        ("TRIGger[:IMMediate]", "_trigger"),
    )

    def __init__(self, lab: EmulatedLab, model: str = "AWG5200") -> None:
        self.IDN, driver, self.marker_mask = _AWG_MODELS[model]
        self.settings = driver.SETTINGS
        self.model = model
        self.lab = lab
        self.limits = (driver.MODEL.min_length, driver.MODEL.memory, driver.MODEL.length_step)
        super().__init__()
        self.reset()

    def reset(self) -> None:
        """Power-on state: empty list, stopped, output off, continuous run mode."""
        self.waveforms: dict[str, np.ndarray] = {}
        self.markers: dict[str, np.ndarray] = {}
        self.assigned: str | None = None
        self.sample_rate, self.amplitude = 2.5e9 if self.model == "AWG5200" else 25e9, 0.5
        self.run_mode, self.trigger_input = "CONT", "ATR"
        self.output_on, self.running = False, False

    def _name(self, text: str) -> str:
        if not (len(text) >= 2 and text[0] == text[-1] == '"'):
            raise ValueError(f"waveform name {text!r} is not a quoted string")
        return text[1:-1]

    def _output(self, channel: int, value: str) -> None:
        self.output_on = parse_bool(value)
        if self.output_on:
            self.lab.arm()  # the shots' noise is numbered from here

    def _output_q(self, channel: int) -> str:
        return "1" if self.output_on else "0"

    def _sample_rate_q(self) -> str:
        return f"{self.sample_rate:.9E}"

    def _amplitude_q(self, channel: int) -> str:
        return f"{self.amplitude:.9E}"

    def _run_mode_q(self, channel: int) -> str:
        return self.run_mode

    def _trigger_input_q(self, channel: int) -> str:
        return self.trigger_input

    def _stop(self) -> None:
        self.running = False

    def _run(self) -> None:
        if self.assigned is None:
            self.push_error(-221, "Settings conflict; no waveform assigned")
        else:
            self.running = True
            self.lab.arm()

    def _run_state(self) -> str:
        if not self.running:
            return "0"
        return "1" if self.run_mode == "TRIG" else "2"

    def _list(self) -> str:
        return ",".join(f'"{name}"' for name in self.waveforms) or '""'

    def _delete(self, name: str) -> None:
        key = self._name(name)
        if key not in self.waveforms:
            self.push_error(-224, f"Illegal parameter value; no waveform {key}")
            return
        del self.waveforms[key], self.markers[key]
        if self.assigned == key:
            self.assigned = None

    def _new(self, name: str, size: str) -> None:
        key, n = self._name(name), int(parse_number(size))
        low, high, step = self.limits
        if key in self.waveforms:
            self.push_error(-222, f"Data out of range; waveform {key} already exists")
        elif not low <= n <= high or n % step:
            self.push_error(-222, f"Data out of range; size {n}")
        else:
            self.waveforms[key] = np.zeros(n)
            self.markers[key] = np.zeros(n, dtype=np.uint8)

    def _slice(self, name: str, start: str, size: str, block: str | bytes, width: int):
        key = self._name(name)
        first, n = int(parse_number(start)), int(parse_number(size))
        if key not in self.waveforms:
            self.push_error(-224, f"Illegal parameter value; no waveform {key}")
            return None
        if not isinstance(block, bytes) or len(block) != n * width:
            self.push_error(-160, f"Block data error; expected {n * width} bytes")
            return None
        if first < 0 or first + n > len(self.waveforms[key]):
            self.push_error(-222, "Data out of range; beyond the waveform length")
            return None
        return key, slice(first, first + n)

    def _data(self, name: str, start: str, size: str, block: str | bytes) -> None:
        where = self._slice(name, start, size, block, 4)
        if where is None:
            return
        values = np.frombuffer(block, dtype="<f4").astype(float)
        if not np.all(np.abs(values) <= 1.0):
            self.push_error(-222, "Data out of range; samples must lie in [-1, 1]")
            return
        self.waveforms[where[0]][where[1]] = values

    def _marker_data(self, name: str, start: str, size: str, block: str | bytes) -> None:
        where = self._slice(name, start, size, block, 1)
        if where is None:
            return
        values = np.frombuffer(block, dtype=np.uint8)
        if np.any(values & ~np.uint8(self.marker_mask)):
            self.push_error(-222, "Data out of range; marker bits this model does not have")
            return
        self.markers[where[0]][where[1]] = values

    def _lmin(self) -> str:
        return str(self.limits[0])

    def _lmax(self) -> str:
        return str(self.limits[1])

    def _gran(self) -> str:
        return str(self.limits[2])

    def _assign(self, channel: int, name: str) -> None:
        key = self._name(name)
        if key not in self.waveforms:
            self.push_error(-224, f"Illegal parameter value; no waveform {key}")
        else:
            self.assigned = key

    def _sample_rate(self, value: str) -> None:
        rate = parse_number(value)
        if not self.settings["sample_rate_hz"].accepts_written(rate):
            self.push_error(-222, "Data out of range; sample rate")
        else:
            self.sample_rate = rate

    def _amplitude(self, channel: int, value: str) -> None:
        volts = parse_number(value)
        if not self.settings["amplitude_vpp"].accepts_written(volts):
            self.push_error(-222, "Data out of range; amplitude")
        else:
            self.amplitude = volts

    def _run_mode(self, channel: int, value: str) -> None:
        self.run_mode = parse_keyword(value, {"CONTINUOUS": "CONT", "TRIGGERED": "TRIG"})

    def _trigger_input(self, channel: int, value: str) -> None:
        self.trigger_input = parse_keyword(value, {"ATRIGGER": "ATR", "BTRIGGER": "BTR"})

    def _trigger(self, which: str) -> None:
        source = parse_keyword(which, {"ATRIGGER": "ATR", "BTRIGGER": "BTR"})
        if not (self.running and self.output_on and self.run_mode == "TRIG"):
            self.push_error(-211, "Trigger ignored")
        elif source == self.trigger_input and self.assigned is not None:
            samples = self.waveforms[self.assigned].copy()
            self.lab.play(AwgOutput(self.sample_rate, samples, self.amplitude, 0.0))


class EmulatedTekScope(EmulatedScope):
    """Tektronix MSO scope: AUX-triggered single sequence, ``WFMO`` preamble, ``CURV?``."""

    IDN = "TEKTRONIX,MSO54,C010001,CF:91.1CT FV:1.38.2"
    COMMANDS = (
        ("HEADer", "_header"),
        ("HEADer?", "_header_q"),
        ("DATa:SOUrce", "_source"),
        ("DATa:SOUrce?", "_source_q"),
        ("DATa:ENCdg", "_encoding"),
        ("DATa:ENCdg?", "_encoding_q"),
        ("WFMOutpre:BYT_Nr", "_bytes"),
        ("WFMOutpre:BYT_Nr?", "_bytes_q"),
        ("DATa:STARt", "_start"),
        ("DATa:STARt?", "_start_q"),
        ("DATa:STOP", "_stop"),
        ("DATa:STOP?", "_stop_q"),
        ("HORizontal:MODE", "_mode"),
        ("HORizontal:MODE?", "_mode_q"),
        ("HORizontal:RECOrdlength", "_record"),
        ("HORizontal:RECOrdlength?", "_record_q"),
        ("CH#:SCAle", "_scale"),
        ("CH#:SCAle?", "_scale_q"),
        ("TRIGger:A:EDGE:SOUrce", "_trigger_source"),
        ("TRIGger:A:EDGE:SOUrce?", "_trigger_source_q"),
        ("TRIGger:A:LEVel:AUXin", "_trigger_level"),
        ("TRIGger:A:LEVel:AUXin?", "_trigger_level_q"),
        ("ACQuire:STOPAfter", "_stop_after"),
        ("ACQuire:STOPAfter?", "_stop_after_q"),
        ("HORizontal:DELay:MODe", "_delay_mode"),
        ("HORizontal:DELay:MODe?", "_delay_mode_q"),
        ("HORizontal:POSition", "_position"),
        ("HORizontal:POSition?", "_position_q"),
        ("HORizontal:DELay:TIMe", "_delay"),
        ("HORizontal:DELay:TIMe?", "_delay_q"),
        ("HORizontal:SCAle", "_time_scale"),
        ("HORizontal:SCAle?", "_time_scale_q"),
        ("ACQuire:STATE", "_acquire"),
        ("ACQuire:STATE?", "_acquire_q"),
        ("TRIGger:STATE?", "_trigger_state"),
        ("WFMOutpre:NR_Pt?", "_nr_pt"),
        ("WFMOutpre:XINcr?", "_xincr"),
        ("WFMOutpre:XZEro?", "_xzero"),
        ("WFMOutpre:PT_Off?", "_pt_off"),
        ("WFMOutpre:YMUlt?", "_ymult"),
        ("WFMOutpre:YOFf?", "_yoff"),
        ("WFMOutpre:YZEro?", "_yzero"),
        ("CURVe?", "_curve"),
        ("ALLEv?", "_allev"),
    )

    def __init__(self, lab: EmulatedLab) -> None:
        super().__init__(lab)
        self.reset()

    def reset(self) -> None:
        """Power-on state: headers on, CH1, RIBinary, 10k points, delay off."""
        self.header, self.source, self.encoding, self.width = True, 1, "RIB", 1
        self.start, self.stop, self.mode, self.record_length = 1, 10_000, "AUTO", 10_000
        self.channel_scale = dict.fromkeys((1, 2, 3, 4), 0.1)
        self.trigger_source, self.trigger_level, self.stop_after = "CH1", 0.0, "RUNST"
        self.delay_on, self.position, self.delay, self.time_scale = False, 50.0, 0.0, 1e-6
        self.armed = self.triggered = False
        self.record = None
        self.record_x0 = 0.0

    def _header(self, value: str) -> None:
        self.header = parse_bool(value)

    def _source(self, value: str) -> None:
        word = value.strip().upper()
        if word not in ("CH1", "CH2", "CH3", "CH4"):
            self.push_error(-224, f"Illegal parameter value; source {value}")
        else:
            self.source = int(word[2])

    def _encoding(self, value: str) -> None:
        self.encoding = parse_keyword(
            value, {"SRIBINARY": "SRI", "RIBINARY": "RIB", "ASCII": "ASCI"}
        )

    def _bytes(self, value: str) -> None:
        self.width = int(parse_number(value))

    def _start(self, value: str) -> None:
        self.start = int(parse_number(value))

    def _stop(self, value: str) -> None:
        self.stop = int(parse_number(value))

    def _mode(self, value: str) -> None:
        self.mode = parse_keyword(value, {"AUTO": "AUTO", "MANUAL": "MAN", "CONSTANT": "CONST"})

    def _record(self, value: str) -> None:
        points = int(parse_number(value))
        if not _SCOPE["record_length"].accepts_written(points):
            self.push_error(-222, "Data out of range; record length")
        else:
            self.record_length = points

    def _scale(self, channel: int, value: str) -> None:
        volts = parse_number(value)
        if not _SCOPE["range_v"].accepts_written(volts):
            self.push_error(-222, "Data out of range; vertical scale")
        else:
            self.channel_scale[channel] = volts

    def _trigger_source(self, value: str) -> None:
        self.trigger_source = value.strip().upper()

    def _trigger_level(self, value: str) -> None:
        self.trigger_level = parse_number(value)

    def _stop_after(self, value: str) -> None:
        self.stop_after = parse_keyword(value, {"SEQUENCE": "SEQ", "RUNSTOP": "RUNST"})

    def _delay_mode(self, value: str) -> None:
        self.delay_on = parse_bool(value)

    def _position(self, value: str) -> None:
        self.position = parse_number(value)

    def _delay(self, value: str) -> None:
        self.delay = parse_number(value)

    def _time_scale(self, value: str) -> None:
        seconds = parse_number(value)
        if not _SCOPE["time_range_s"].accepts_written(seconds):
            self.push_error(-222, "Data out of range; horizontal scale")
        else:
            self.time_scale = seconds

    def _acquire(self, value: str) -> None:
        state = parse_keyword(
            value, {"ON": "ON", "RUN": "ON", "1": "ON", "OFF": "OFF", "STOP": "OFF", "0": "OFF"}
        )
        self.armed = state == "ON" and self.stop_after == "SEQ"
        self.triggered = False
        if self.armed:
            self.record = None

    # Queries answer with headers off as the programmer manual shows: the long keyword
    # (RIBINARY, MANUAL, SEQUENCE), 0/1 for booleans, NR1 counts, NR3 values.

    def _header_q(self) -> str:
        return "1" if self.header else "0"

    def _source_q(self) -> str:
        return f"CH{self.source}"

    def _encoding_q(self) -> str:
        return {"SRI": "SRIBINARY", "RIB": "RIBINARY", "ASCI": "ASCII"}[self.encoding]

    def _bytes_q(self) -> str:
        return str(self.width)

    def _start_q(self) -> str:
        return str(self.start)

    def _stop_q(self) -> str:
        return str(self.stop)

    def _mode_q(self) -> str:
        return {"AUTO": "AUTO", "MAN": "MANUAL", "CONST": "CONSTANT"}[self.mode]

    def _record_q(self) -> str:
        return str(self.record_length)

    def _scale_q(self, channel: int) -> str:
        return f"{self.channel_scale[channel]:.9E}"

    def _trigger_source_q(self) -> str:
        return self.trigger_source

    def _trigger_level_q(self) -> str:
        return f"{self.trigger_level:.9E}"

    def _stop_after_q(self) -> str:
        return {"SEQ": "SEQUENCE", "RUNST": "RUNSTOP"}[self.stop_after]

    def _delay_mode_q(self) -> str:
        return "1" if self.delay_on else "0"

    def _position_q(self) -> str:
        return f"{self.position:.9E}"

    def _delay_q(self) -> str:
        return f"{self.delay:.9E}"

    def _time_scale_q(self) -> str:
        return f"{self.time_scale:.9E}"

    def _acquire_q(self) -> str:
        return "1" if self.armed else "0"

    def _trigger_state(self) -> str:
        if self.armed:
            return "TRIGGER" if self.triggered else "READY"
        return "SAVE"

    def _y_mult(self) -> float:
        return 10.0 * self.channel_scale[self.source] / 64000.0

    def _trigger_matches(self) -> bool:
        return self.trigger_source == "AUX"

    def _record_times(self) -> np.ndarray:
        dx = 10.0 * self.time_scale / self.record_length
        left = 0.0 if self.delay_on else -self.record_length * dx * self.position / 100.0
        self.record_x0 = (self.delay if self.delay_on else 0.0) + left
        return self.record_x0 + dx * np.arange(self.record_length)

    def _codes(self, volts: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(volts / self._y_mult()), -32768, 32767)

    def _points(self) -> int:
        return max(0, min(self.stop, self.record_length) - self.start + 1)

    def _nr_pt(self) -> str:
        return str(self._points())

    def _xincr(self) -> str:
        return f"{10.0 * self.time_scale / self.record_length:.9E}"

    def _xzero(self) -> str:
        dx = 10.0 * self.time_scale / self.record_length
        return f"{self.record_x0 + (self.start - 1) * dx:.9E}"

    def _pt_off(self) -> str:
        return "0"

    def _ymult(self) -> str:
        return f"{self._y_mult():.9E}"

    def _yoff(self) -> str:
        return "0.0E+0"

    def _yzero(self) -> str:
        return "0.0E+0"

    def _curve(self) -> bytes:
        if self.record is None:
            self.push_error(-221, "Settings conflict; no waveform acquired")
            return b"#10"
        if self.width != 2 or self.encoding == "ASCI":
            self.push_error(-221, "Settings conflict; only 2-byte binary is emulated")
            return b"#10"
        order = "<" if self.encoding == "SRI" else ">"
        payload = self.record[self.start - 1 : self.start - 1 + self._points()]
        data = payload.astype(order + "i2").tobytes()
        length = str(len(data))
        prefix = b":CURVE " if self.header else b""
        return prefix + f"#{len(length)}{length}".encode("ascii") + data

    def _allev(self) -> str:
        if not self.errors:
            return '0,"No events to report - queue empty"'
        events = ",".join(f'{code},"{message}"' for code, message in self.errors)
        self.errors.clear()
        return events
