"""What a bench file says, as values: one :class:`InstrumentConfig` per role, and the bench.

A driver class declares the keys it accepts in a bench file as :class:`Option` objects (kind,
default, and the :class:`~drivers.settings.Setting` that validates the value). The loader in
:mod:`drivers.bench` parses and validates them generically, so that the documentation of every
key, its unit and its limits lives next to the SCPI command that uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from spin_echo.drivers.magnetometer import MagnetometerChain

__all__ = ["BenchSpec", "Coil", "InstrumentConfig", "Option"]

#: Quantity kinds an option may have besides those of :mod:`sequences.quantity`.
OPTION_KINDS = ("integer", "choice")


@dataclass(frozen=True)
class Option:
    """A key a driver accepts in its bench-file block.

    Attributes
    ----------
    kind
        A quantity kind (``"time"``, ``"frequency"``, ``"voltage"``, ...), ``"integer"`` or
        ``"choice"``.
    help
        One line for the documentation.
    default
        Value when the key is absent; None makes the key required.
    setting
        Name of the driver :class:`~drivers.settings.Setting` that validates the value
        (with the bench limits); None when the option is not written to the instrument as is.
    choices
        Allowed words for ``kind="choice"``.
    """

    kind: str
    help: str
    default: float | int | str | None = None
    setting: str | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstrumentConfig:
    """One instrument of a bench, as the bench file describes it.

    Attributes
    ----------
    role
        ``"awg"``, ``"detector"`` or ``"lockin"``.
    driver
        Driver name, e.g. ``"keysight-33600a"``.
    resource
        VISA resource string (None for virtual instruments).
    timeout_s
        I/O timeout, seconds.
    limits
        Bench safety limits (keys of :data:`drivers.settings.BENCH_LIMITS`), SI.
    options
        Driver options, parsed to SI values (defaults filled in).
    backend
        PyVISA backend (``"@py"`` for pyvisa-py, ``"file.yaml@sim"`` for pyvisa-sim).
    """

    role: str
    driver: str
    resource: str | None
    timeout_s: float
    limits: Mapping[str, float] = field(default_factory=dict)
    options: Mapping[str, float | int | str] = field(default_factory=dict)
    backend: str = "@py"

    @property
    def label(self) -> str:
        """``"awg (keysight-33600a at TCPIP::10.0.0.20::INSTR)"``: who, for messages."""
        where = f" at {self.resource}" if self.resource else ""
        return f"{self.role} ({self.driver}{where})"


@dataclass(frozen=True)
class Coil:
    """The magnet coil and pickup calibration of a bench.

    Attributes
    ----------
    field_per_volt_t
        Drive coil constant, tesla per volt of AWG output; None on a virtual bench means the
        drive is ideally calibrated (full scale gives the protocol's full-scale Rabi
        frequency).
    pickup_v
        Detector voltage for a normalised magnetisation of 1; when given, run records are in
        normalised magnetisation (comparable with simulations), otherwise in volts.
    """

    field_per_volt_t: float | None = None
    pickup_v: float | None = None


@dataclass(frozen=True)
class BenchSpec:
    """A parsed bench file.

    Attributes
    ----------
    name
        Bench name (``source = "run:<name>"`` in records).
    text
        The bench YAML text as read (stored in records).
    awg, detector
        The two instruments every bench needs.
    lockin
        An optional lock-in amplifier.
    coil
        Drive and pickup calibration.
    receiver_bandwidth_hz
        Low-pass bandwidth of the I/Q demodulation; None: half the carrier frequency.
    receiver_noise_v
        Declared rms noise per quadrature of one demodulated shot at the receiver's output,
        volts at the detector (``receiver.noise``; what ``spin-echo design`` predicts with on a
        lab bench); None: not declared.
    magnetometer
        The calibration chain of a magnetometer detector (bench key ``magnetometer``): run
        records are then in magnetisation units and hold the measured ``mz``; None for a
        pickup-coil bench.
    source
        The bench file's path or built-in name, for messages.
    """

    name: str
    text: str
    awg: InstrumentConfig
    detector: InstrumentConfig
    lockin: InstrumentConfig | None = None
    coil: Coil = Coil()
    receiver_bandwidth_hz: float | None = None
    receiver_noise_v: float | None = None
    magnetometer: MagnetometerChain | None = None
    source: str = ""

    @property
    def is_virtual(self) -> bool:
        """True when no instrument of the bench has a VISA resource."""
        return self.awg.resource is None and self.detector.resource is None
