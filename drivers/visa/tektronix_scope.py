"""Tektronix oscilloscopes (MSO4/5/6 series and the DPO/MSO families with ``CURVe?``).

Configuration: ``HEAD OFF`` (replies without command headers), ``DAT:SOU CH<c>``, signed
16-bit data in the configured byte order (``DAT:ENC SRI`` little-endian, ``RIB``
big-endian, ``WFMO:BYT_N 2``), ``DAT:STAR 1`` / ``DAT:STOP <n>``, ``HOR:MODE MAN`` and
``HOR:RECO <n>``, ``CH<c>:SCA`` (a tenth of the full-scale range: ten divisions), edge
trigger on the AUX input at the declared level, single-sequence stop (``ACQ:STOPA SEQ``),
horizontal delay on with the expansion point at the left edge (``HOR:DEL:MOD ON``,
``HOR:POS 0``).

Arming: ``HOR:DEL:TIM`` and ``HOR:SCA`` when the window changes; ``ACQ:STATE ON`` and
``TRIG:STATE?`` polled until ``READY``. Acquisition: ``ACQ:STATE?`` polled until 0, ``*OPC?``
and ``*ESR?`` (with ``ALLEV?`` for the messages when an error bit is set), the ``WFMO:*``
scaling and ``CURV?``: volts = (code - YOFF) * YMULT + YZERO, time = XZERO + (i - PT_OFF) *
XINCR.
"""

from __future__ import annotations

from spin_echo.drivers.interface import Trace
from spin_echo.drivers.settings import BOOLEAN_REPLIES, OneOf, Range, Setting, declare
from spin_echo.drivers.visa.scope import SCOPE_OPTIONS, Oscilloscope, linear_trace

__all__ = ["TektronixScope"]

_PREAMBLE = (
    "WFMO:NR_P?",
    "WFMO:XIN?",
    "WFMO:XZE?",
    "WFMO:PT_O?",
    "WFMO:YMU?",
    "WFMO:YOF?",
    "WFMO:YZE?",
)


class TektronixScope(Oscilloscope):
    """Tektronix digitizing oscilloscope read with ``CURV?``."""

    DRIVER = "tektronix-mso"
    IDN_PATTERN = r"^TEKTRONIX,(MSO|DPO|MDO)\d"
    DRY_RUN_IDN = "TEKTRONIX,MSO54,C000000,CF:91.1CT FV:1.38.2"
    ERROR_QUERY = None
    OPTIONS = SCOPE_OPTIONS
    SETTINGS = declare(
        Setting("header", "HEAD {value}", "", OneOf(("OFF",)), replies=BOOLEAN_REPLIES),
        Setting(
            "channel",
            "DAT:SOU CH{value}",
            "",
            OneOf((1, 2, 3, 4)),
            replies=tuple((f"CH{n}", n) for n in (1, 2, 3, 4)),
        ),
        Setting("encoding", "DAT:ENC {value}", "", OneOf(("SRI", "RIB"))),
        Setting("bytes_per_point", "WFMO:BYT_N {value}", "", OneOf((2,))),
        Setting("start", "DAT:STAR {value}", "", OneOf((1,))),
        Setting("points", "DAT:STOP {value}", "points", Range(1000, 62_500_000)),
        Setting("horizontal_mode", "HOR:MODE {value}", "", OneOf(("MAN",))),
        Setting("record_length", "HOR:RECO {value}", "points", Range(1000, 62_500_000)),
        Setting("range_v", "CH{channel}:SCA {value}", "V", Range(5e-3, 100.0), written_scale=0.1),
        Setting("trigger_source", "TRIG:A:EDGE:SOU {value}", "", OneOf(("AUX",))),
        Setting("trigger_level_v", "TRIG:A:LEV:AUX {value}", "V", Range(-5.0, 5.0)),
        Setting("stop_after", "ACQ:STOPA {value}", "", OneOf(("SEQ",))),
        Setting("delay_mode", "HOR:DEL:MOD {value}", "", OneOf(("ON",)), replies=BOOLEAN_REPLIES),
        Setting("position_percent", "HOR:POS {value}", "%", OneOf((0,))),
        Setting("delay_s", "HOR:DEL:TIM {value}", "s", Range(-5000.0, 5000.0)),
        Setting("time_range_s", "HOR:SCA {value}", "s", Range(2e-9, 1e4), written_scale=0.1),
    )

    def _configure(self) -> None:
        opts = self.config.options
        self.apply_all(
            [
                ("header", "OFF"),
                ("channel", int(opts["channel"])),
                ("encoding", "RIB" if self.big_endian else "SRI"),
                ("bytes_per_point", 2),
                ("start", 1),
                ("points", self.points),
                ("horizontal_mode", "MAN"),
                ("record_length", self.points),
                ("range_v", float(opts["range"])),
                ("trigger_source", "AUX"),
                ("trigger_level_v", float(opts["trigger_level"])),
                ("stop_after", "SEQ"),
                ("delay_mode", "ON"),
                ("position_percent", 0),
            ]
        )

    def _set_window(self, start_s: float, duration_s: float) -> None:
        self.apply_all([("delay_s", start_s), ("time_range_s", duration_s)])

    def _start(self) -> None:
        self.write("ACQ:STATE ON")
        self.poll("TRIG:STATE?", lambda reply: reply.upper().startswith("READY"), "armed trigger")

    def _wait(self) -> None:
        self.poll("ACQ:STATE?", lambda reply: reply.strip() == "0", "trigger")

    def _esr_errors(self) -> list[str]:
        errors = super()._esr_errors()
        if errors:
            errors.append(f"ALLEV? {self.query('ALLEV?')}")
        return errors

    def _read(self) -> Trace:
        points, x_inc, x_zero, pt_off, y_mult, y_off, y_zero = (
            self.query_numbers(query, 1)[0] for query in _PREAMBLE
        )
        codes = self.query_block("CURV?", datatype="h", big_endian=self.big_endian)
        self.complete("CURV?")
        self._check_length("CURV?", codes, int(points))
        return linear_trace(
            codes,
            x_increment=x_inc,
            x_origin=x_zero,
            x_reference=pt_off,
            y_increment=y_mult,
            y_origin=y_zero,
            y_reference=y_off,
        )

    def dry_reply(self, command: str) -> str:
        """Return an armed trigger, a stopped acquisition, a unit preamble (``--dry-run``)."""
        start, duration = self._window or (0.0, 1e-6)
        replies = {
            "TRIG:STATE?": "READY",
            "ACQ:STATE?": "0",
            "WFMO:NR_P?": str(self.points),
            "WFMO:XIN?": f"{duration / self.points:.9E}",
            "WFMO:XZE?": f"{start:.9E}",
            "WFMO:YMU?": f"{float(self.config.options['range']) / 65536:.9E}",
        }
        return replies.get(command, super().dry_reply(command))
