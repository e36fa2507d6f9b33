"""Keysight InfiniiVision oscilloscopes (2000/3000/4000 X-Series) as a detector.

Configuration: ``:WAV:SOUR CHAN<c>``, ``:WAV:FORM WORD``, ``:WAV:BYT LSBF|MSBF``,
``:WAV:UNS 0`` (signed codes), ``:WAV:POIN:MODE RAW``, ``:WAV:POIN <n>``, ``:CHAN<c>:RANG``,
``:TIM:REF LEFT``, edge trigger on the EXT input at the declared level, normal sweep.
Arming: ``:TIM:RANG`` and ``:TIM:POS`` when the window changes, then ``:SING`` and ``:AER?``
polled until the trigger system reports itself armed - only then may the AWG be triggered
(``:DIG`` would block the scope's command parser until it triggers, so the computer could not
know it is armed, and a trigger sent too early is lost). Acquisition: ``:OPER:COND?`` polled
until the Run bit (3) clears, ``*OPC?`` and ``:SYST:ERR?``, then ``:WAV:PRE?`` for the scaling
and ``:WAV:DATA?`` for the int16 block (read by PyVISA in the configured byte order).

Preamble fields: format (1 = WORD), type, points, count, xincrement, xorigin, xreference,
yincrement, yorigin, yreference; volts = (code - yreference) * yincrement + yorigin.
"""

from __future__ import annotations

from spin_echo.drivers.interface import InstrumentError, Trace
from spin_echo.drivers.settings import OneOf, Range, Setting, declare
from spin_echo.drivers.visa.scope import SCOPE_OPTIONS, Oscilloscope, linear_trace

__all__ = ["KeysightInfiniiVision"]

#: Preamble ``format`` code of 16-bit WORD data.
FORMAT_WORD = 1
#: Operation status condition bit set while the scope runs (not stopped).
RUN_BIT = 1 << 3


class KeysightInfiniiVision(Oscilloscope):
    """Keysight/Agilent InfiniiVision X-Series digitizing oscilloscope."""

    DRIVER = "keysight-infiniivision"
    IDN_PATTERN = r"^(Agilent|Keysight) Technologies,(DSO|MSO)-?X?\s?\d"
    DRY_RUN_IDN = "KEYSIGHT TECHNOLOGIES,DSOX3024T,MY00000000,07.50.2021102830"
    ERROR_QUERY = ":SYST:ERR?"
    OPTIONS = SCOPE_OPTIONS
    SETTINGS = declare(
        Setting(
            "channel",
            ":WAV:SOUR CHAN{value}",
            "",
            OneOf((1, 2, 3, 4)),
            replies=tuple((f"CHAN{n}", n) for n in (1, 2, 3, 4)),
        ),
        Setting("format", ":WAV:FORM {value}", "", OneOf(("WORD",))),
        Setting("byte_order", ":WAV:BYT {value}", "", OneOf(("LSBF", "MSBF"))),
        Setting("unsigned", ":WAV:UNS {value}", "", OneOf((0,))),
        Setting("points_mode", ":WAV:POIN:MODE {value}", "", OneOf(("RAW",))),
        Setting("points", ":WAV:POIN {value}", "points", Range(100, 8_000_000)),
        Setting("range_v", ":CHAN{channel}:RANG {value}", "V", Range(8e-3, 40.0)),
        Setting("reference", ":TIM:REF {value}", "", OneOf(("LEFT",))),
        Setting("time_range_s", ":TIM:RANG {value}", "s", Range(2e-8, 500.0)),
        Setting("time_position_s", ":TIM:POS {value}", "s", Range(-500.0, 500.0)),
        Setting("trigger_mode", ":TRIG:MODE {value}", "", OneOf(("EDGE",))),
        Setting("trigger_source", ":TRIG:EDGE:SOUR {value}", "", OneOf(("EXT",))),
        Setting("trigger_level_v", ":TRIG:EDGE:LEV {value}", "V", Range(-8.0, 8.0)),
        Setting("sweep", ":TRIG:SWE {value}", "", OneOf(("NORM",))),
    )

    def _configure(self) -> None:
        opts = self.config.options
        self.apply_all(
            [
                ("channel", int(opts["channel"])),
                ("format", "WORD"),
                ("byte_order", "MSBF" if self.big_endian else "LSBF"),
                ("unsigned", 0),
                ("points_mode", "RAW"),
                ("points", self.points),
                ("range_v", float(opts["range"])),
                ("reference", "LEFT"),
                ("trigger_mode", "EDGE"),
                ("trigger_source", "EXT"),
                ("trigger_level_v", float(opts["trigger_level"])),
                ("sweep", "NORM"),
            ]
        )

    def _set_window(self, start_s: float, duration_s: float) -> None:
        self.apply_all([("time_range_s", duration_s), ("time_position_s", start_s)])

    def _start(self) -> None:
        self.write(":SING")
        self.poll(":AER?", lambda reply: reply == "1", "armed trigger")

    def _wait(self) -> None:
        self.poll(":OPER:COND?", lambda reply: not int(reply) & RUN_BIT, "trigger")

    def _read(self) -> Trace:
        pre = self.query_numbers(":WAV:PRE?", 10)
        fmt, _, points, _, x_inc, x_org, x_ref, y_inc, y_org, y_ref = pre
        if int(fmt) != FORMAT_WORD:
            raise InstrumentError(self.label, ":WAV:PRE?", f"format {int(fmt)} is not WORD (1)")
        codes = self.query_block(":WAV:DATA?", datatype="h", big_endian=self.big_endian)
        self.complete(":WAV:DATA?")
        self._check_length(":WAV:DATA?", codes, int(points))
        return linear_trace(
            codes,
            x_increment=x_inc,
            x_origin=x_org,
            x_reference=x_ref,
            y_increment=y_inc,
            y_origin=y_org,
            y_reference=y_ref,
        )

    def dry_reply(self, command: str) -> str:
        """Preamble of an all-zero WORD record of the configured length (``--dry-run``)."""
        if command == ":AER?":
            return "1"
        if command == ":WAV:PRE?":
            start, duration = self._window or (0.0, 1e-6)
            x_inc = duration / self.points
            y_inc = float(self.config.options["range"]) / 65536
            return f"1,0,{self.points},1,{x_inc:.9E},{start:.9E},0,{y_inc:.9E},0,0"
        return super().dry_reply(command)
