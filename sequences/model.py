"""Concrete pulse sequences: :class:`Pulse`, :class:`Delay`, :class:`Detect`, :class:`Sequence`.

A :class:`Sequence` is what a protocol becomes once its parameters are bound to numbers: every
value is an SI float, phase-cycle phases are already added, and nothing refers to a parameter.
It is the input of both compilers (:func:`sequences.compile.compile_timeline` and
:func:`sequences.compile.compile_waveform`).

Elements are played one after the other. A :class:`Detect` opens a detection window of
``duration_s`` with ``points`` samples; its ``offset_s`` moves the window start relative to the
end of the previous element (negative: the window opens during the preceding delay, e.g.
``-window/2`` centres it on an echo expected at the end of that delay). The next element starts
at the later of the previous end and the window end. A window may overlap delays only, never a
pulse or another window.

Drive strength: ``amplitude`` is the fraction of full-scale drive; the nominal Rabi frequency of
a pulse is ``amplitude * full_scale_rabi_hz * envelope``. A pulse written with an ``angle`` gets
``amplitude = angle / (2 pi full_scale_rabi_hz * area_factor(shape) * duration_s)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from spin_echo.sequences.errors import ProtocolError
from spin_echo.sequences.shapes import Rect, Shape

__all__ = ["MAX_DETECT_POINTS", "Delay", "Detect", "Element", "Pulse", "Sequence"]

#: Largest number of detection points in one window.
MAX_DETECT_POINTS = 1_000_000


def _require(ok: bool, message: str, key: str, value: object) -> None:
    if not ok:
        raise ProtocolError(message, key=key, value=value)


@dataclass(frozen=True, kw_only=True)
class Pulse:
    """A drive pulse.

    Attributes
    ----------
    duration_s
        Duration, seconds (> 0).
    amplitude
        Peak drive as a fraction of full scale, in ``[0, 1]``.
    phase_rad
        Phase of the pulse, radians, relative to a continuous oscillator at
        ``carrier + frequency_hz`` whose phase is zero at the sequence start.
    shape
        Envelope and frequency sweep (:mod:`sequences.shapes`).
    frequency_hz
        Frequency offset from the carrier, Hz.
    angle_rad
        Nominal rotation angle when the pulse was written with ``angle`` (else None).
    """

    duration_s: float
    amplitude: float
    phase_rad: float = 0.0
    shape: Shape = field(default_factory=Rect)
    frequency_hz: float = 0.0
    angle_rad: float | None = None

    def __post_init__(self) -> None:
        d = self.duration_s
        _require(math.isfinite(d) and d > 0, "must be a positive time", "pulse.duration", d)
        a = self.amplitude
        _require(
            math.isfinite(a) and 0 <= a <= 1,
            "must be a fraction of full scale in [0, 1]",
            "pulse.amplitude",
            a,
        )
        _require(math.isfinite(self.phase_rad), "must be finite", "pulse.phase", self.phase_rad)
        f = self.frequency_hz
        _require(math.isfinite(f), "must be finite", "pulse.frequency", f)

    def peak_rabi_hz(self, full_scale_rabi_hz: float) -> float:
        """Peak nominal Rabi frequency, Hz: ``amplitude * full_scale_rabi_hz``."""
        return self.amplitude * full_scale_rabi_hz

    def nominal_angle_rad(self, full_scale_rabi_hz: float) -> float:
        r"""Rotation of a resonant, fully coupled packet: :math:`2\pi\int r(t)\,dt`, radians."""
        return (
            2
            * math.pi
            * self.peak_rabi_hz(full_scale_rabi_hz)
            * self.shape.area_factor
            * self.duration_s
        )


@dataclass(frozen=True, kw_only=True)
class Delay:
    """Free evolution for ``duration_s`` seconds (>= 0)."""

    duration_s: float

    def __post_init__(self) -> None:
        d = self.duration_s
        _require(math.isfinite(d) and d >= 0, "must be a non-negative time", "delay", d)


@dataclass(frozen=True, kw_only=True)
class Detect:
    """A detection window of ``points`` samples over ``duration_s``, opened at ``offset_s``.

    ``offset_s`` is relative to the end of the previous element (see the module docstring).
    """

    duration_s: float
    points: int
    offset_s: float = 0.0

    def __post_init__(self) -> None:
        d = self.duration_s
        _require(math.isfinite(d) and d > 0, "must be a positive time", "detect.duration", d)
        n = self.points
        _require(
            isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_DETECT_POINTS,
            f"must be a whole number from 1 to {MAX_DETECT_POINTS}",
            "detect.points",
            n,
        )
        o = self.offset_s
        _require(math.isfinite(o), "must be a finite time", "detect.offset", o)


#: One element of a sequence.
Element = Pulse | Delay | Detect


@dataclass(frozen=True, kw_only=True)
class Sequence:
    """A concrete sequence: elements in time order, carrier and full-scale drive.

    Attributes
    ----------
    elements
        Pulses, delays and detection windows, played in order.
    carrier_hz
        Carrier (and receiver reference) frequency, Hz (> 0).
    full_scale_rabi_hz
        Nominal Rabi frequency at amplitude 1.0, Hz (> 0).
    """

    elements: tuple[Element, ...]
    carrier_hz: float
    full_scale_rabi_hz: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(self.elements))
        for i, element in enumerate(self.elements):
            _require(
                isinstance(element, (Pulse, Delay, Detect)),
                "must be a Pulse, Delay or Detect",
                f"sequence[{i}]",
                type(element).__name__,
            )
        c = self.carrier_hz
        _require(math.isfinite(c) and c > 0, "must be a positive frequency", "carrier", c)
        f = self.full_scale_rabi_hz
        _require(math.isfinite(f) and f > 0, "must be a positive frequency", "full_scale_rabi", f)

    @property
    def pulses(self) -> tuple[Pulse, ...]:
        """The pulses, in order (the order phase-cycle steps refer to)."""
        return tuple(e for e in self.elements if isinstance(e, Pulse))
