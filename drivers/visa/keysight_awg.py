"""Keysight (Agilent) Trueform 33500B and 33600A waveform generators over SCPI.

Upload: ``OUTP<c> OFF``, ``FORM:BORD SWAP`` (little-endian blocks), ``SOUR<c>:DATA:VOL:CLE``,
then the samples as one IEEE 488.2 definite-length block - int16 DAC codes with
``SOUR<c>:DATA:ARB:DAC`` on the 16-bit 33500B, float32 values in [-1, 1] with
``SOUR<c>:DATA:ARB`` on the 14-bit 33600A - and ``*OPC?`` / ``SYST:ERR?``. Then the arb is
selected and played as a triggered single burst: ``FUNC:ARB``, ``FUNC ARB``, ``FUNC:ARB:SRAT``,
amplitude in Vpp into the declared load, offset, ``BURS:MODE TRIG``, ``BURS:NCYC 1``,
``TRIG<c>:SOUR BUS|EXT``, ``BURS:STAT ON``, the Sync output on (trigger out for the detector).
``arm()`` switches the output on; ``trigger()`` sends ``*TRG`` (bus trigger).

Amplitude and offset are validated against the model (1 mVpp to 10 Vpp, +-4.995 V,
``|offset| + Vpp/2 <= 5 V`` into 50 ohm) and the bench limits before anything is written;
``VOLT:UNIT VPP`` is sent first so that the number means volts peak-to-peak whatever the front
panel was left in.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from spin_echo.drivers.awg_model import AwgModel, check_waveform
from spin_echo.drivers.config import InstrumentConfig, Option
from spin_echo.drivers.interface import ConfiguredAwg, InstrumentError
from spin_echo.drivers.settings import (
    BOOLEAN_REPLIES,
    DRIVE_RTOL,
    OneOf,
    Range,
    Setting,
    declare,
)
from spin_echo.drivers.visa.scpi import ScpiDriver, Transport
from spin_echo.sequences.timeline import AwgConstraints, Waveform

__all__ = ["Keysight33500B", "Keysight33600A", "KeysightTrueform", "keysight_level_violation"]

#: Name of the arbitrary waveform in the instrument's volatile memory.
ARB_NAME = "SPINECHO"
#: Largest ``|offset| + Vpp/2`` into 50 ohm, volts (doubled for a high-impedance load).
MAX_LEVEL_50_OHM_V = 5.0


def keysight_level_violation(amplitude_vpp: float, offset_v: float, load: str) -> str | None:
    """Return why amplitude and offset together exceed the output range, or None."""
    limit = MAX_LEVEL_50_OHM_V * (2.0 if load == "INF" else 1.0)
    level = abs(offset_v) + amplitude_vpp / 2.0
    if level > limit:
        return (
            f"|offset| + amplitude/2 = {level:g} V exceeds the {limit:g} V output range "
            f"(load {load})"
        )
    return None


def _settings(model: AwgModel) -> dict[str, Setting]:
    return declare(
        Setting("channel", "{value}", "", OneOf((1, 2))),
        Setting("byte_order", "FORM:BORD {value}", "", OneOf(("SWAP",))),
        Setting(
            "sample_rate_hz",
            "SOUR{channel}:FUNC:ARB:SRAT {value}",
            "Sa/s",
            Range(model.sample_rate_min_hz, model.sample_rate_max_hz),
            read_rtol=DRIVE_RTOL,
            must_agree=True,
        ),
        Setting("amplitude_unit", "SOUR{channel}:VOLT:UNIT {value}", "", OneOf(("VPP",))),
        Setting(
            "load",
            "OUTP{channel}:LOAD {value}",
            "ohm",
            OneOf(("50", "INF")),
            replies=(("9.9E+37", "INF"), ("50", "50")),
            must_agree=True,
        ),
        Setting(
            "amplitude_vpp",
            "SOUR{channel}:VOLT {value}",
            "Vpp",
            Range(1e-3, 10.0),
            read_rtol=DRIVE_RTOL,
            must_agree=True,
        ),
        Setting(
            "offset_v",
            "SOUR{channel}:VOLT:OFFS {value}",
            "V",
            Range(-4.995, 4.995),
            symmetric=True,
            read_rtol=DRIVE_RTOL,
            must_agree=True,
        ),
        Setting("function", "SOUR{channel}:FUNC {value}", "", OneOf(("ARB",))),
        Setting("burst_mode", "SOUR{channel}:BURS:MODE {value}", "", OneOf(("TRIG",))),
        Setting("burst_cycles", "SOUR{channel}:BURS:NCYC {value}", "", OneOf((1,))),
        Setting("trigger_source", "TRIG{channel}:SOUR {value}", "", OneOf(("BUS", "EXT"))),
        Setting(
            "burst_state",
            "SOUR{channel}:BURS:STAT {value}",
            "",
            OneOf(("ON", "OFF")),
            replies=BOOLEAN_REPLIES,
        ),
        Setting("sync", "OUTP:SYNC {value}", "", OneOf(("ON", "OFF")), replies=BOOLEAN_REPLIES),
        Setting(
            "output", "OUTP{channel} {value}", "", OneOf(("ON", "OFF")), replies=BOOLEAN_REPLIES
        ),
    )


_OPTIONS = {
    "channel": Option("integer", "output channel (1 or 2)", 1, "channel"),
    "sample_rate": Option("frequency", "sample rate, e.g. '250 MHz'", None, "sample_rate_hz"),
    "amplitude": Option(
        "voltage", "Vpp of a full-scale waveform at the load", None, "amplitude_vpp"
    ),
    "offset": Option("voltage", "DC offset", 0.0, "offset_v"),
    "load": Option(
        "choice", "load the amplitude refers to: 50 (ohm) or INF", "50", "load", ("50", "INF")
    ),
    "trigger": Option(
        "choice",
        "BUS (*TRG from the computer) or EXT (rear input)",
        "BUS",
        "trigger_source",
        ("BUS", "EXT"),
    ),
}


class KeysightTrueform(ScpiDriver, ConfiguredAwg):
    """Common driver of the Trueform generators; subclasses give the model and block format.

    Attributes
    ----------
    MODEL
        The model's capabilities.
    DATA_COMMAND, DATATYPE
        Block upload command and :mod:`struct` code (``"h"`` DAC codes, ``"f"`` floats).
    """

    ROLE = "awg"
    MODEL: ClassVar[AwgModel]
    DATA_COMMAND: ClassVar[str]
    DATATYPE: ClassVar[str]
    OPTIONS = _OPTIONS

    def __init__(self, config: InstrumentConfig, transport: Transport) -> None:
        super().__init__(config, transport)
        self._waveform_length = 0

    @classmethod
    def cross_check(cls, options: dict[str, float | int | str]) -> str | None:
        """Check option combinations a single setting cannot: the output level range."""
        return keysight_level_violation(
            float(options["amplitude"]), float(options["offset"]), str(options["load"])
        )

    def constraints(self) -> AwgConstraints:
        """Return the model's capabilities with the bench's sample-rate limit applied."""
        return self.MODEL.constraints(self.config.limits.get("sample_rate_hz"))

    def connect(self) -> None:
        """Identify the instrument and clear its status."""
        self.identify()

    def _block(self, waveform: Waveform) -> np.ndarray:
        if self.DATATYPE == "h":
            return waveform.codes.astype(np.int16)
        return waveform.samples.astype(np.float32)

    def _burst_settings(self) -> list[tuple[str, float | int | str]]:
        opts = self.config.options
        return [
            ("function", "ARB"),
            ("sample_rate_hz", self.sample_rate_hz),
            ("amplitude_unit", "VPP"),
            ("load", self.load),
            ("amplitude_vpp", self.amplitude_vpp),
            ("offset_v", float(opts["offset"])),
            ("burst_mode", "TRIG"),
            ("burst_cycles", 1),
            ("trigger_source", opts["trigger"]),
            ("burst_state", "ON"),
            ("sync", "ON"),
        ]

    def upload(self, waveform: Waveform) -> None:
        """Load ``waveform`` as a triggered single-burst arb (output off while loading).

        Every setting is validated before the first byte is sent; each command is then
        confirmed (``*OPC?``, ``SYST:ERR?``) so that an error names the command that caused it.
        """
        c = self.config.options["channel"]
        data_command = f"SOUR{c}:{self.DATA_COMMAND} {ARB_NAME},"
        why = check_waveform(waveform, self.constraints(), self.sample_rate_hz)
        if why is None:
            why = keysight_level_violation(
                self.amplitude_vpp, float(self.config.options["offset"]), self.load
            )
        if why is not None:
            raise InstrumentError(self.label, data_command, f"refused, not sent: {why}")
        for name, value in self._burst_settings():
            self.check(name, value)
        self.apply_all([("output", "OFF"), ("byte_order", "SWAP")])
        self.send(f"SOUR{c}:DATA:VOL:CLE")
        self.write_block(
            data_command, self._block(waveform), datatype=self.DATATYPE, big_endian=False
        )
        self.complete(data_command)
        self.configure()
        self._waveform_length = len(waveform.samples)

    def configure(self) -> None:
        """Select the loaded arb and set up the triggered single burst (text commands only)."""
        self.send(f"SOUR{self.config.options['channel']}:FUNC:ARB {ARB_NAME}")
        self.apply_all(self._burst_settings())

    @property
    def load(self) -> str:
        """Load the amplitude refers to: ``"50"`` (ohm) or ``"INF"``."""
        return str(self.config.options["load"])

    def arm(self) -> None:
        """Switch the output on; the burst waits for its trigger."""
        if not self._waveform_length:
            raise InstrumentError(self.label, "arm", "no waveform uploaded")
        self.apply_all([("output", "ON")])

    def trigger(self) -> None:
        """Send a bus trigger (``*TRG``); with an external trigger there is nothing to send."""
        if self.config.options["trigger"] == "BUS":
            self.send("*TRG")


class Keysight33500B(KeysightTrueform):
    """Keysight 33500B series: 16-bit DAC, up to 250 MSa/s, 1 MSa per channel."""

    DRIVER = "keysight-33500b"
    IDN_PATTERN = r"^(Agilent|Keysight) Technologies,335\d\dB,"
    DRY_RUN_IDN = "Keysight Technologies,33522B,MY00000000,4.00-1.19-2.00-58-00"
    MODEL = AwgModel(1e-6, 250e6, 1_000_000, 8, 1, 16, 1)
    SETTINGS = _settings(MODEL)
    DATA_COMMAND = "DATA:ARB:DAC"
    DATATYPE = "h"


class Keysight33600A(KeysightTrueform):
    """Keysight 33600A series: 14-bit DAC, up to 1 GSa/s, 4 MSa per channel."""

    DRIVER = "keysight-33600a"
    IDN_PATTERN = r"^(Agilent|Keysight) Technologies,336\d\dA,"
    DRY_RUN_IDN = "Keysight Technologies,33622A,MY00000000,A.02.02-3.15-2.01-60-00"
    MODEL = AwgModel(1e-6, 1e9, 4_000_000, 32, 1, 14, 1)
    SETTINGS = _settings(MODEL)
    DATA_COMMAND = "DATA:ARB"
    DATATYPE = "f"
