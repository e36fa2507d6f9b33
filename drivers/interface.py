"""The one instrument interface shared by the virtual bench and the VISA drivers.

A protocol is played through three roles:

- an :class:`Awg` that states what it can play (:meth:`Awg.constraints`), receives the
  sampled :class:`~sequences.timeline.Waveform` (:meth:`Awg.upload`), enables its output
  (:meth:`Awg.arm`) and starts one shot (:meth:`Awg.trigger`);
- a :class:`Detector` (digitizing oscilloscope, or the virtual magnetometer front end) that is
  armed for a time window after the trigger (:meth:`Detector.arm`) and returns the recorded
  :class:`Trace` (:meth:`Detector.acquire`); a :class:`Magnetometer` (a teslameter) is the
  slow detector kind that reads the magnetisation itself;
- optionally a :class:`LockIn` that reads X, Y, R and theta at one instant.

A :class:`Bench` holds the connected instruments of one bench file, virtual or VISA; it lives
beside the roles so that both the VISA opener (:mod:`drivers.bench`) and the virtual bench
(:mod:`drivers.virtual`) build it without importing each other.

Every instrument also says what it is and how it is set (:meth:`Instrument.identity`,
:meth:`Instrument.read_back`, together :meth:`Instrument.snapshot`): the parsed ``*IDN?``
reply and the settings read back from the instrument after configuring, beside the values that
were sent. ``spin-echo run`` stores them in every record (the equivalent of a QCoDeS station
snapshot).

Errors: :class:`BenchError` for a bad bench file (an :class:`~sequences.errors.InputError`,
exit status 2), :class:`InstrumentError` for everything an instrument refuses, reports or
fails to answer (exit status 1); it names the instrument, the command and the instrument's
own message.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar

import numpy as np

from spin_echo.drivers.config import BenchSpec, InstrumentConfig
from spin_echo.sequences.errors import InputError, SpinEchoError
from spin_echo.sequences.timeline import AwgConstraints, Waveform

__all__ = [
    "Awg",
    "Bench",
    "BenchError",
    "ConfiguredAwg",
    "Detector",
    "Identity",
    "Instrument",
    "InstrumentError",
    "InstrumentSnapshot",
    "LockIn",
    "LockInReading",
    "Magnetometer",
    "SettingReadBack",
    "Trace",
]


class BenchError(InputError):
    """A bench file (or a bench name) is malformed, unknown or asks for something unsafe."""


class InstrumentError(SpinEchoError, RuntimeError):
    """An instrument refused a command, reported an error, timed out or dropped the link.

    Parameters
    ----------
    instrument
        Who failed, e.g. ``"awg (keysight-33600a at TCPIP::10.0.0.20::INSTR)"``.
    command
        The SCPI command (or driver operation) that failed or was refused.
    instrument_message
        What the instrument (or the driver, for a refused value) said.
    """

    def __init__(self, instrument: str, command: str, instrument_message: str) -> None:
        self.instrument = instrument
        self.command = command
        self.instrument_message = instrument_message
        super().__init__(f"{instrument}: {command!r}: {instrument_message}")

    def __reduce__(self) -> tuple[type[InstrumentError], tuple[str, str, str]]:
        """Pickle with the context attributes (dask workers send errors back pickled)."""
        return (type(self), (self.instrument, self.command, self.instrument_message))


@dataclass(frozen=True, eq=False)
class Trace:
    """A recorded trace.

    Attributes
    ----------
    time_s
        Sample times in seconds from the trigger (the first sample of the waveform).
    values
        Recorded values, one per time.
    units
        Units of ``values`` (``"V"`` for oscilloscopes and the virtual detector).
    """

    time_s: np.ndarray
    values: np.ndarray
    units: str

    def __post_init__(self) -> None:
        if np.shape(self.time_s) != np.shape(self.values) or np.ndim(self.values) != 1:
            raise ValueError("a trace needs one value per time, as 1-D arrays")


@dataclass(frozen=True)
class LockInReading:
    """X, Y, R and theta of a lock-in amplifier read at one instant.

    Attributes
    ----------
    x_v, y_v, r_v
        In-phase, quadrature and magnitude outputs, volts.
    theta_rad
        Phase, radians.
    """

    x_v: float
    y_v: float
    r_v: float
    theta_rad: float


@dataclass(frozen=True)
class Identity:
    """What an instrument says it is: the four fields of its IEEE 488.2 ``*IDN?`` reply.

    Attributes
    ----------
    manufacturer, model, serial, firmware
        The fields in order (``""`` where the reply has fewer than four).
    """

    manufacturer: str
    model: str
    serial: str
    firmware: str

    @classmethod
    def from_idn(cls, reply: str) -> Identity:
        """Parse ``<manufacturer>,<model>,<serial>,<firmware>`` (more fields join the last).

        Parameters
        ----------
        reply
            The ``*IDN?`` reply, e.g. ``"Keysight Technologies,33622A,MY123,A.02.02"``.
        """
        fields = [part.strip() for part in reply.strip().split(",", 3)]
        fields += [""] * (4 - len(fields))
        return cls(*fields)

    def as_dict(self) -> dict[str, str]:
        """Return the fields by name (for a record's ``instruments`` attribute)."""
        return {
            "manufacturer": self.manufacturer,
            "model": self.model,
            "serial": self.serial,
            "firmware": self.firmware,
        }


@dataclass(frozen=True)
class SettingReadBack:
    """One setting as sent to an instrument and as the instrument reports it afterwards.

    Attributes
    ----------
    name
        Setting name (a :class:`~drivers.settings.Setting` name, e.g. ``"amplitude_vpp"``).
    unit
        Unit of ``sent`` and ``read`` (``""`` for keywords).
    sent
        The value the driver wrote.
    read
        The value the instrument reported for it (its query form, e.g. ``VOLT?``), in the
        same unit and scale as ``sent`` (keywords in the driver's spelling).
    query
        The query that read it (``""`` for a virtual instrument, which reads its own state).
    rtol
        Relative tolerance of a numeric comparison: the instrument's documented resolution
        (``1e-9`` unless the driver declares a coarser one).
    """

    name: str
    unit: str
    sent: float | int | str
    read: float | int | str
    query: str = ""
    rtol: float = 1e-9

    @property
    def agrees(self) -> bool:
        """True when ``read`` equals ``sent`` (keywords: case-insensitive; numbers: ``rtol``)."""
        if isinstance(self.sent, str) or isinstance(self.read, str):
            return str(self.sent).upper() == str(self.read).upper()
        return bool(np.isclose(float(self.read), float(self.sent), rtol=self.rtol, atol=0.0))

    def as_dict(self) -> dict[str, object]:
        """Return the fields by name, with ``agrees`` (for a record's attribute)."""
        return {
            "name": self.name,
            "unit": self.unit,
            "sent": self.sent,
            "read": self.read,
            "query": self.query,
            "agrees": self.agrees,
        }


@dataclass(frozen=True)
class InstrumentSnapshot:
    """Who an instrument of a bench is and how it was set: one entry of a record's provenance.

    Attributes
    ----------
    role, driver, resource
        From the bench file (``resource`` None for a virtual instrument).
    identity
        The parsed ``*IDN?`` reply (the virtual instruments give their own).
    settings
        The settings read back after configuring, in the order they were first sent.
    """

    role: str
    driver: str
    resource: str | None
    identity: Identity
    settings: tuple[SettingReadBack, ...]

    def as_dict(self) -> dict[str, object]:
        """Return a plain mapping (JSON- and YAML-ready) of the snapshot."""
        return {
            "role": self.role,
            "driver": self.driver,
            "resource": self.resource,
            "identity": self.identity.as_dict(),
            "settings": [setting.as_dict() for setting in self.settings],
        }


class Instrument(ABC):
    """What every instrument of a bench has: a name, an identity, its settings, a way to let go.

    Attributes
    ----------
    label
        ``"<role> (<driver> at <resource>)"``, used in every error message.
    config
        Its entry of the bench file.
    """

    label: str
    config: InstrumentConfig

    def close(self) -> None:  # noqa: B027 - an instrument without a session has nothing to do
        """Release the instrument (close its VISA session); idempotent."""

    @abstractmethod
    def identity(self) -> Identity:
        """Return what the instrument said it is when connected (``*IDN?``), parsed."""

    @abstractmethod
    def read_back(self) -> tuple[SettingReadBack, ...]:
        """Read back every setting written so far, beside the value written.

        Called after the instrument has been configured (the first sweep point of a run).

        Raises
        ------
        InstrumentError
            If a query fails, or a value read back disagrees with the one sent beyond what the
            instrument's documented resolution explains.
        """

    def snapshot(self) -> InstrumentSnapshot:
        """Return :meth:`identity` and :meth:`read_back` with the bench-file entry."""
        return InstrumentSnapshot(
            role=self.config.role,
            driver=self.config.driver,
            resource=self.config.resource,
            identity=self.identity(),
            settings=self.read_back(),
        )


class Awg(Instrument, ABC):
    """An arbitrary waveform generator playing one channel of a compiled protocol."""

    @property
    @abstractmethod
    def sample_rate_hz(self) -> float:
        """The sample rate the bench file asks for, Hz (within :meth:`constraints`)."""

    @abstractmethod
    def constraints(self) -> AwgConstraints:
        """Return what this AWG can play, already tightened by the bench file's limits."""

    @property
    @abstractmethod
    def amplitude_vpp(self) -> float:
        """Peak-to-peak output voltage of a full-scale (+-1.0) waveform, volts."""

    @abstractmethod
    def upload(self, waveform: Waveform) -> None:
        """Check ``waveform`` against :meth:`constraints` and load it (output stays off).

        Raises
        ------
        InstrumentError
            If the waveform does not fit (length, sample rate, DAC resolution) - nothing is
            sent - or the instrument reports an error.
        """

    @abstractmethod
    def arm(self) -> None:
        """Switch the output on, waiting for a trigger (one burst per trigger)."""

    @abstractmethod
    def trigger(self) -> None:
        """Play the uploaded waveform once."""


class ConfiguredAwg(Awg, ABC):
    """An AWG whose sample rate and full-scale amplitude come from its bench-file entry."""

    config: InstrumentConfig

    @property
    def sample_rate_hz(self) -> float:
        """Sample rate from the bench file, Sa/s."""
        return float(self.config.options["sample_rate"])

    @property
    def amplitude_vpp(self) -> float:
        """Full-scale amplitude from the bench file, Vpp."""
        return float(self.config.options["amplitude"])


class Detector(Instrument, ABC):
    """A digitizer that records one trace per trigger.

    Attributes
    ----------
    TRACE_UNITS
        Units of the traces it returns: ``"V"`` for digitizers (a pickup coil, or a SQUID
        flux-locked loop's output with a bench ``magnetometer`` chain).
    """

    TRACE_UNITS: ClassVar[str] = "V"

    @abstractmethod
    def arm(self, start_s: float, duration_s: float) -> None:
        """Prepare a single acquisition covering ``[start_s, start_s + duration_s]``.

        Times are seconds after the trigger (the first sample of the waveform). The actual
        record may be longer; :meth:`acquire` returns its true time axis.
        """

    @abstractmethod
    def acquire(self) -> Trace:
        """Wait for the armed acquisition to finish and return it, in volts."""


class Magnetometer(Detector, ABC):
    """A detector reading the sample's magnetisation itself, slowly (e.g. a teslameter).

    Each reading averages the field over an integration time far longer than a pulse
    sequence, so it sees the quasi-static magnetisation (:math:`m_z` after the sequence),
    never the precession at the carrier. :meth:`Detector.arm` takes the window for the
    record's time axis; :meth:`Detector.acquire`, called after the trigger, returns the
    readings that began after it, in :attr:`TRACE_UNITS`, which the bench's ``magnetometer``
    chain (:mod:`drivers.magnetometer`) turns into magnetisation.
    """

    TRACE_UNITS: ClassVar[str] = "T"

    @property
    @abstractmethod
    def integration_time_s(self) -> float:
        """Time one reading averages over, seconds (its bandwidth is about half the inverse)."""


class LockIn(Instrument, ABC):
    """A lock-in amplifier read at one instant."""

    @abstractmethod
    def read(self) -> LockInReading:
        """Return X, Y, R and theta recorded at the same instant."""


@dataclass
class Bench:
    """The connected instruments of a bench; a context manager that closes them.

    Attributes
    ----------
    spec
        The bench file it was opened from.
    awg, detector
        The instruments every run uses.
    lockin
        Optional lock-in amplifier.
    """

    spec: BenchSpec
    awg: Awg
    detector: Detector
    lockin: LockIn | None = None

    def snapshot(self) -> tuple[InstrumentSnapshot, ...]:
        """Return the :meth:`Instrument.snapshot` of every instrument (awg, detector, lockin)."""
        return tuple(
            instrument.snapshot()
            for instrument in (self.awg, self.detector, self.lockin)
            if instrument is not None
        )

    @property
    def realtime(self) -> bool:
        """True for hardware (shots must respect the repetition time); False when virtual."""
        return not self.spec.is_virtual

    def close(self) -> None:
        """Close every instrument (each even if another fails to close)."""
        for instrument in (self.awg, self.detector, self.lockin):
            if instrument is not None:
                instrument.close()

    def __enter__(self) -> Bench:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
