"""The one instrument interface shared by the virtual bench and the VISA drivers.

A protocol is played through three roles:

- an :class:`Awg` that states what it can play (:meth:`Awg.constraints`), receives the
  sampled :class:`~sequences.timeline.Waveform` (:meth:`Awg.upload`), enables its output
  (:meth:`Awg.arm`) and starts one shot (:meth:`Awg.trigger`);
- a :class:`Detector` (digitizing oscilloscope, or the virtual magnetometer front end) that is
  armed for a time window after the trigger (:meth:`Detector.arm`) and returns the recorded
  :class:`Trace` (:meth:`Detector.acquire`);
- optionally a :class:`LockIn` that reads X, Y, R and theta at one instant.

A :class:`Bench` holds the connected instruments of one bench file, virtual or VISA; it lives
beside the roles so that both the VISA opener (:mod:`drivers.bench`) and the virtual bench
(:mod:`drivers.virtual`) build it without importing each other.

Errors: :class:`BenchError` for a bad bench file (an :class:`~sequences.errors.InputError`,
exit status 2), :class:`InstrumentError` for everything an instrument refuses, reports or
fails to answer (exit status 1); it names the instrument, the command and the instrument's
own message.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType

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
    "Instrument",
    "InstrumentError",
    "LockIn",
    "LockInReading",
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


class Instrument:
    """What every instrument of a bench has: a name for messages and a way to let go.

    Attributes
    ----------
    label
        ``"<role> (<driver> at <resource>)"``, used in every error message.
    """

    label: str

    def close(self) -> None:
        """Release the instrument (close its VISA session); idempotent."""


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
    """A digitizer that records one trace per trigger."""

    @abstractmethod
    def arm(self, start_s: float, duration_s: float) -> None:
        """Prepare a single acquisition covering ``[start_s, start_s + duration_s]``.

        Times are seconds after the trigger (the first sample of the waveform). The actual
        record may be longer; :meth:`acquire` returns its true time axis.
        """

    @abstractmethod
    def acquire(self) -> Trace:
        """Wait for the armed acquisition to finish and return it, in volts."""


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
