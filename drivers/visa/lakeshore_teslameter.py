"""Lake Shore F41 (single-axis) and F71 (three-axis) teslameters as a magnetometer detector.

Where each command comes from. The programmer's manual of the F41/F71 was not found in the
sources available to this project; the commands are those of Lake Shore's own Python driver
(``lakeshorecryotronics/python-driver``, ``lakeshore/teslameter.py`` and
``lakeshore/xip_instrument.py``), which the manufacturer maintains against the instruments,
and of SCPI-1999 / IEEE 488.2 where the driver relies on the standard:

- ``*IDN?`` -> ``LSCI,F71,<serial>,<firmware>`` (``LSCI,F41,...``): the vendor's tests
  (``tests/test_xip_base.py``, fake ``LSCI,F71,FakeSerial,999.999.999``);
- ``SENSe:MODE DC`` (``configure_field_measurement_setup``: DC, AC, HIFR);
  ``SENSe:RANGe:AUTO 0`` and ``SENSe:RANGe <field>`` (the largest field expected: the
  instrument picks the lowest range that holds it); ``SENSe:AVERage:COUNt <n>`` (``n``
  samples of 10 ms each are averaged per reading); each with its query form (``...?``,
  ``get_field_measurement_setup``);
- ``UNIT:FIELD TESLA`` (``configure_field_units``: TESLA or GAUSS);
- ``FETCh:BUFFer:DC?`` (``stream_buffered_data``): the readings since the previous query,
  ``<ISO time>,<magnitude>,<x>,<y>,<z>[,<control set point>],<input state>;`` each, one per
  averaging window; the first query empties the buffer;
- ``SYSTem:ERRor:ALL?`` (``XIPInstrument.query``, appended to every transfer; SCPI-1999
  vol. 2 21.8: every queued ``<code>,"<message>"``, or ``0,"No error"``); ``*CLS``, ``*OPC?``
  and ``*ESR?`` (IEEE 488.2; the vendor driver reads ``*ESR?`` and ``*STB?``).

Not yet checked on real instruments: the limits (range 1 mT-35 T, averaging 1-1000 samples)
are this driver's assumptions, the ``*OPC?`` support, and the ``FETCh:BUFFer:DC?`` reply
quoting (the vendor strips ``"``; so does this driver).

Acquisition: :meth:`LakeShoreTeslameter.arm` only notes the window. A reading cannot follow
the trigger by less than its averaging window (``averaging`` x 10 ms), so after the AWG has
fired, :meth:`LakeShoreTeslameter.acquire` empties the buffer (``FETCh:BUFFer:DC?``), drops
the reading in progress at that moment (it began before the trigger) and returns the next
``readings`` readings of the configured ``axis``, in tesla, at their nominal times ``(k + 1)
T`` after the trigger (``T`` the averaging window; the true time of each is within ``T/2`` of
it). The error queue is read after every transfer.
"""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np

from spin_echo.drivers.config import InstrumentConfig, Option
from spin_echo.drivers.interface import InstrumentError, Magnetometer, Trace
from spin_echo.drivers.settings import OneOf, Range, Setting, declare
from spin_echo.drivers.visa.scpi import ScpiDriver, Transport

__all__ = ["SAMPLE_PERIOD_S", "LakeShoreF41", "LakeShoreF71", "LakeShoreTeslameter"]

#: Duration of one field sample of the F41/F71 in DC mode, seconds (vendor driver: "each
#: sample is 10 milliseconds of field information").
SAMPLE_PERIOD_S = 0.01
#: Column of each axis in a ``FETCh:BUFFer:DC?`` entry (0 is the time stamp).
AXIS_COLUMNS = {"MAGNITUDE": 1, "X": 2, "Y": 3, "Z": 4}

_OPTIONS = {
    "axis": Option("choice", "field component recorded (F41: X)", "X", None, tuple(AXIS_COLUMNS)),
    "range": Option("field", "largest field expected (fixes the range)", 0.035, "range_t"),
    "averaging": Option("integer", "10 ms samples averaged per reading", 1, "averaging"),
    "readings": Option("integer", "readings averaged per shot", 1, "readings"),
}


class LakeShoreTeslameter(ScpiDriver, Magnetometer):
    """Common part of the Lake Shore F41/F71 drivers (see the module docstring)."""

    ROLE = "detector"
    ERROR_QUERY = "SYSTem:ERRor:ALL?"
    OPTIONS = _OPTIONS
    SETTINGS = declare(
        Setting("mode", "SENSe:MODE {value}", "", OneOf(("DC",))),
        Setting("field_unit", "UNIT:FIELD {value}", "", OneOf(("TESLA",))),
        Setting("auto_range", "SENSe:RANGe:AUTO {value}", "", OneOf((0,))),
        Setting("range_t", "SENSe:RANGe {value}", "T", Range(1e-3, 35.0)),
        Setting("averaging", "SENSe:AVERage:COUNt {value}", "", Range(1, 1000), must_agree=True),
        Setting("readings", "", "", Range(1, 100), query=None),
    )
    #: Axes the model has.
    AXES: ClassVar[tuple[str, ...]] = tuple(AXIS_COLUMNS)

    def __init__(self, config: InstrumentConfig, transport: Transport) -> None:
        super().__init__(config, transport)
        self._window: tuple[float, float] | None = None

    @classmethod
    def cross_check(cls, options: dict[str, float | int | str]) -> str | None:
        """Refuse an axis the model does not have (checked as the bench file is loaded)."""
        if options["axis"] not in cls.AXES:
            return f"axis {options['axis']} is not one of this model's: {', '.join(cls.AXES)}"
        return None

    @property
    def integration_time_s(self) -> float:
        """One reading's averaging window, seconds (``averaging`` x 10 ms)."""
        return int(self.config.options["averaging"]) * SAMPLE_PERIOD_S

    @property
    def readings(self) -> int:
        """Readings returned per shot (bench option ``readings``)."""
        return int(self.config.options["readings"])

    def connect(self) -> None:
        """Identify the teslameter, clear its status and set DC mode, unit, range, averaging."""
        self.identify()
        opts = self.config.options
        self.apply_all(
            [
                ("mode", "DC"),
                ("field_unit", "TESLA"),
                ("auto_range", 0),
                ("range_t", float(opts["range"])),
                ("averaging", int(opts["averaging"])),
            ]
        )
        self.check("readings", self.readings)

    def arm(self, start_s: float, duration_s: float) -> None:
        """Note the window (nothing is sent: a reading starts only after the trigger)."""
        if duration_s <= 0:
            raise InstrumentError(self.label, "arm", f"window duration {duration_s:g} s <= 0")
        self._window = (start_s, duration_s)

    def acquire(self) -> Trace:
        """Return the first ``readings`` readings that began after the trigger, tesla."""
        if self._window is None:
            raise InstrumentError(self.label, "acquire", "not armed")
        self._window = None
        command = "FETCh:BUFFer:DC?"
        self.query(command)
        self.complete(command)
        wanted = self.readings + 1
        period = self.integration_time_s
        deadline = time.monotonic() + self.config.timeout_s
        values: list[float] = []
        while len(values) < wanted:
            if time.monotonic() > deadline:
                raise InstrumentError(
                    self.label,
                    command,
                    f"{len(values)} of {wanted} readings after {self.config.timeout_s:g} s",
                )
            time.sleep(min(period / 4.0, 0.05))
            values += self._parse_buffer(command, self.query(command))
            self.complete(command)
        readings = np.array(values[1:wanted])
        return Trace(period * np.arange(1, wanted, dtype=float), readings, "T")

    def _parse_buffer(self, command: str, reply: str) -> list[float]:
        column = AXIS_COLUMNS[str(self.config.options["axis"])]
        values = []
        for entry in reply.strip().strip('"').split(";"):
            if not entry.strip():
                continue
            fields = entry.split(",")
            try:
                if len(fields) < 6:
                    raise ValueError
                values.append(float(fields[column]))
            except ValueError:
                raise InstrumentError(
                    self.label, command, f"unreadable buffer entry {entry[:80]!r}"
                ) from None
        return values

    def dry_reply(self, command: str) -> str:
        """Zero-field readings and the settings as sent, for ``--dry-run``; defaults otherwise."""
        if command == "FETCh:BUFFer:DC?":
            return "2026-01-01T00:00:00.000000Z,0,0,0,0,0;" * (self.readings + 1)
        for name, sent in self.sent.items():
            if self.SETTINGS[name].query_command(**self.fields()) == command:
                return str(sent)
        return super().dry_reply(command)


class LakeShoreF41(LakeShoreTeslameter):
    """Lake Shore F41 single-axis teslameter."""

    DRIVER = "lakeshore-f41"
    IDN_PATTERN = r"^LSCI,F41,"
    DRY_RUN_IDN = "LSCI,F41,LSA0000,1.6.2019092002"
    AXES = ("MAGNITUDE", "X")


class LakeShoreF71(LakeShoreTeslameter):
    """Lake Shore F71 three-axis teslameter."""

    DRIVER = "lakeshore-f71"
    IDN_PATTERN = r"^LSCI,F71,"
    DRY_RUN_IDN = "LSCI,F71,LSA0000,1.6.2019092002"
