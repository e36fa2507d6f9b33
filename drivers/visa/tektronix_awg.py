"""Tektronix AWG5200 and AWG70000 arbitrary waveform generators over SCPI.

Connect: ``*IDN?``, ``*CLS``, then the waveform-list limits the instrument reports
(``WLIS:WAV:LMIN?``, ``WLIS:WAV:LMAX?``, ``WLIS:WAV:GRAN?``), intersected with the model's.
Upload: output off and ``AWGC:STOP:IMM``; the previous ``"SPINECHO"`` entry of the waveform
list is deleted if ``WLIS:LIST?`` shows one; ``WLIS:WAV:NEW "SPINECHO",<n>``; the samples as
float32 in [-1, 1] (``WLIS:WAV:DATA "SPINECHO",0,<n>,<block>``) and the markers as one byte
per sample (``WLIS:WAV:MARK:DATA``, marker bits per model); ``SOUR<c>:CASS:WAV``,
``CLOC:SRAT``, ``SOUR<c>:VOLT:AMPL``, triggered run mode (``SOUR<c>:RMOD TRIG``) on trigger
input A or B (``SOUR<c>:TINP``). Arm: output on, ``AWGC:RUN:IMM``, then ``AWGC:RST?`` polled
until the sequencer waits for its trigger (1). Trigger: ``TRIG:IMM ATR|BTR`` (a forced
trigger event) unless the trigger is external. Every command is confirmed with ``*OPC?`` and
``SYST:ERR?``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from spin_echo.drivers.awg_model import AwgModel, check_waveform
from spin_echo.drivers.config import InstrumentConfig, Option
from spin_echo.drivers.interface import ConfiguredAwg, InstrumentError
from spin_echo.drivers.settings import BOOLEAN_REPLIES, DRIVE_RTOL, OneOf, Range, Setting, declare
from spin_echo.drivers.visa.scpi import ScpiDriver, Transport
from spin_echo.sequences.timeline import AwgConstraints, Waveform

__all__ = ["TektronixAWG5200", "TektronixAWG70000", "TektronixAwg"]

#: Name of the waveform in the instrument's waveform list.
WAVEFORM_NAME = '"SPINECHO"'


def _settings(model: AwgModel, channels: int, amplitude: tuple[float, float]) -> dict:
    return declare(
        Setting("channel", "{value}", "", OneOf(tuple(range(1, channels + 1)))),
        Setting(
            "output", "OUTP{channel} {value}", "", OneOf(("ON", "OFF")), replies=BOOLEAN_REPLIES
        ),
        Setting(
            "sample_rate_hz",
            "CLOC:SRAT {value}",
            "Sa/s",
            Range(model.sample_rate_min_hz, model.sample_rate_max_hz),
            read_rtol=DRIVE_RTOL,
            must_agree=True,
        ),
        Setting(
            "amplitude_vpp",
            "SOUR{channel}:VOLT:AMPL {value}",
            "Vpp",
            Range(*amplitude),
            read_rtol=DRIVE_RTOL,
            must_agree=True,
        ),
        Setting("run_mode", "SOUR{channel}:RMOD {value}", "", OneOf(("TRIG",))),
        Setting("trigger_input", "SOUR{channel}:TINP {value}", "", OneOf(("ATR", "BTR"))),
    )


_OPTIONS = {
    "channel": Option("integer", "output channel", 1, "channel"),
    "sample_rate": Option("frequency", "sample rate, e.g. '2.5 GHz'", None, "sample_rate_hz"),
    "amplitude": Option("voltage", "Vpp of a full-scale waveform", None, "amplitude_vpp"),
    "trigger_input": Option(
        "choice", "trigger input: ATR (A) or BTR (B)", "ATR", "trigger_input", ("ATR", "BTR")
    ),
    "trigger": Option(
        "choice",
        "BUS (forced by the computer) or EXT (the input's signal)",
        "BUS",
        None,
        ("BUS", "EXT"),
    ),
}


class TektronixAwg(ScpiDriver, ConfiguredAwg):
    """Common driver of the Tektronix AWG5200 and AWG70000 (see the module docstring).

    Attributes
    ----------
    MODEL
        The model's capabilities.
    MARKER_BITS
        Bit of the marker byte that carries marker 1, marker 2, ...
    """

    ROLE = "awg"
    MODEL: ClassVar[AwgModel]
    MARKER_BITS: ClassVar[tuple[int, ...]]
    OPTIONS = _OPTIONS

    def __init__(self, config: InstrumentConfig, transport: Transport) -> None:
        super().__init__(config, transport)
        self._list_limits = (self.MODEL.min_length, self.MODEL.memory, self.MODEL.length_step)
        self._uploaded = False

    def constraints(self) -> AwgConstraints:
        """Return the model's and the instrument's waveform limits, with the bench's."""
        base = self.MODEL.constraints(self.config.limits.get("sample_rate_hz"))
        low, high, step = self._list_limits
        return AwgConstraints(
            sample_rate_min_hz=base.sample_rate_min_hz,
            sample_rate_max_hz=base.sample_rate_max_hz,
            min_length=max(base.min_length, low),
            length_step=int(np.lcm(base.length_step, step)),
            max_length=min(base.max_length, high),
            dac_bits=base.dac_bits,
            markers=base.markers,
        )

    def connect(self) -> None:
        """Identify the AWG, clear its status and read its waveform-list limits."""
        self.identify()
        limits = []
        for query in ("WLIS:WAV:LMIN?", "WLIS:WAV:LMAX?", "WLIS:WAV:GRAN?"):
            reply = self.query(query)
            try:
                limits.append(int(float(reply)))
            except ValueError:
                raise InstrumentError(self.label, query, f"unreadable reply {reply!r}") from None
        self._list_limits = (limits[0], limits[1], max(limits[2], 1))
        self.complete("WLIS:WAV:GRAN?")

    def _marker_bytes(self, waveform: Waveform) -> np.ndarray:
        packed = np.zeros(len(waveform.samples), dtype=np.uint8)
        for row, bit in zip(waveform.markers, self.MARKER_BITS, strict=False):
            packed |= row.astype(np.uint8) << bit
        return packed

    def upload(self, waveform: Waveform) -> None:
        """Replace the waveform-list entry, assign it to the channel, set the run mode."""
        n = len(waveform.samples)
        data_command = f"WLIS:WAV:DATA {WAVEFORM_NAME},0,{n},"
        why = check_waveform(waveform, self.constraints(), self.sample_rate_hz)
        if why is not None:
            raise InstrumentError(self.label, data_command, f"refused, not sent: {why}")
        for name, value in self._channel_settings():
            self.check(name, value)
        self.apply_all([("output", "OFF")])
        self.send("AWGC:STOP:IMM")
        if WAVEFORM_NAME in [name.strip() for name in self.query("WLIS:LIST?").split(",")]:
            self.send(f"WLIS:WAV:DEL {WAVEFORM_NAME}")
        self.send(f"WLIS:WAV:NEW {WAVEFORM_NAME},{n}")
        samples = waveform.samples.astype(np.float32)
        self.write_block(data_command, samples, datatype="f", big_endian=False)
        self.complete(data_command)
        marker_command = f"WLIS:WAV:MARK:DATA {WAVEFORM_NAME},0,{n},"
        self.write_block(
            marker_command, self._marker_bytes(waveform), datatype="B", big_endian=False
        )
        self.complete(marker_command)
        self.configure()
        self._uploaded = True

    def _channel_settings(self) -> list[tuple[str, float | int | str]]:
        return [
            ("sample_rate_hz", self.sample_rate_hz),
            ("amplitude_vpp", self.amplitude_vpp),
            ("run_mode", "TRIG"),
            ("trigger_input", self.config.options["trigger_input"]),
        ]

    def configure(self) -> None:
        """Assign the waveform to the channel; set rate, amplitude, run mode (text only)."""
        self.send(f"SOUR{self.config.options['channel']}:CASS:WAV {WAVEFORM_NAME}")
        self.apply_all(self._channel_settings())

    def arm(self) -> None:
        """Output on and run: the sequencer then waits for its trigger."""
        if not self._uploaded:
            raise InstrumentError(self.label, "arm", "no waveform uploaded")
        self.apply_all([("output", "ON")])
        self.send("AWGC:RUN:IMM")
        self.poll("AWGC:RST?", lambda reply: reply.strip() in ("1", "2"), "run state")

    def trigger(self) -> None:
        """Force a trigger event on the configured input (nothing to send if external)."""
        if self.config.options["trigger"] == "BUS":
            self.send(f"TRIG:IMM {self.config.options['trigger_input']}")

    def dry_reply(self, command: str) -> str:
        """Return the model's limits and a waiting run state (``--dry-run``)."""
        replies = {
            "WLIS:WAV:LMIN?": str(self.MODEL.min_length),
            "WLIS:WAV:LMAX?": str(self.MODEL.memory),
            "WLIS:WAV:GRAN?": str(self.MODEL.length_step),
            "WLIS:LIST?": '""',
            "AWGC:RST?": "1",
        }
        return replies.get(command, super().dry_reply(command))


class TektronixAWG5200(TektronixAwg):
    """Tektronix AWG5200 series: 16-bit, up to 2.5 GSa/s (standard), 4 markers per channel."""

    DRIVER = "tektronix-awg5200"
    IDN_PATTERN = r"^TEKTRONIX,AWG520[248],"
    DRY_RUN_IDN = "TEKTRONIX,AWG5204,B000000,FV:6.6.0000.0"
    MODEL = AwgModel(300.0, 2.5e9, 2_000_000_000, 1, 1, 16, 2)
    MARKER_BITS = (0, 1)
    SETTINGS = _settings(MODEL, 4, (0.025, 0.75))


class TektronixAWG70000(TektronixAwg):
    """Tektronix AWG70000 series: 10-bit DAC (8 bits with two markers), up to 25 GSa/s."""

    DRIVER = "tektronix-awg70000"
    IDN_PATTERN = r"^TEKTRONIX,AWG700\d\dA?,"
    DRY_RUN_IDN = "TEKTRONIX,AWG70002A,B000000,FV:7.1.0170.0"
    MODEL = AwgModel(1.49e3, 25e9, 2_000_000_000, 1, 1, 8, 2)
    MARKER_BITS = (6, 7)
    SETTINGS = _settings(MODEL, 2, (0.25, 0.5))
