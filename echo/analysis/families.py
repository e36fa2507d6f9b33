"""Protocol families, recognised from what a protocol is, not from its name.

:func:`classify_protocol` lays out the protocol's sequence at its first sweep point (pulses with
their nominal rotation angles, delays, detection windows) and again with each sweep axis moved
to its second value, and reads off what each axis changes: a pulse's length or amplitude (its
nominal angle), a pulse's frequency offset, the carrier, or the gap between two pulses. The
family follows from that structure:

=====================  =========================================================================
family                 structure
=====================  =========================================================================
``hahn-echo``          pi/2, pi, one window after; an axis moves both gaps (tau)
``stimulated-echo``    pi/2, pi/2, pi/2, one window after; an axis moves only the middle gap (T)
``inversion-recovery`` pi, pi/2, one window after; an axis moves the gap between them
``cpmg``               pi/2 followed by two or more pi pulses, one window per echo
``nutation``           one pulse, one window after; an axis changes the pulse's nominal angle
``fid``                one pulse, one window after; no axis changes the pulse (carrier sweep)
``hole-burning``       a long pump, then a pi/2 - pi probe echo; an axis moves the probe pulses'
                       frequency offset; optionally a second axis switches or changes the pump
                       (pump on/off x offset)
=====================  =========================================================================

A nominal angle within 25 % of pi/2 or pi counts as one. A protocol that fits none of these gets a
one-line reason (``Family.reason``), which ``spin-echo plot`` prints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from spin_echo.sequences import Protocol
from spin_echo.sequences.model import Detect, Pulse

__all__ = ["FAMILIES", "Family", "Layout", "classify_protocol", "layout"]

#: Families :func:`classify_protocol` recognises.
FAMILIES = (
    "hahn-echo",
    "stimulated-echo",
    "inversion-recovery",
    "cpmg",
    "nutation",
    "fid",
    "hole-burning",
)
_ANGLE_TOLERANCE = 0.25
_PUMP_RATIO = 3.0


@dataclass(frozen=True)
class Layout:
    """A bound sequence as the classifier sees it.

    Attributes
    ----------
    angles_rad, durations_s, amplitudes, offsets_hz, starts_s
        Per pulse: nominal rotation angle, length, amplitude, frequency offset, start time.
    gaps_s
        Time from the end of pulse i to the start of pulse i + 1.
    windows_s
        ``(start, stop)`` of each detection window.
    carrier_hz
        The carrier.
    """

    angles_rad: tuple[float, ...]
    durations_s: tuple[float, ...]
    amplitudes: tuple[float, ...]
    offsets_hz: tuple[float, ...]
    starts_s: tuple[float, ...]
    gaps_s: tuple[float, ...]
    windows_s: tuple[tuple[float, float], ...]
    carrier_hz: float

    @property
    def after_last_pulse(self) -> bool:
        """True when every detection window opens after the last pulse ends."""
        if not self.starts_s:
            return True
        end = self.starts_s[-1] + self.durations_s[-1]
        return all(start >= end * (1 - 1e-12) for start, _ in self.windows_s)


@dataclass(frozen=True)
class Family:
    """What a protocol is, for the analysis.

    Attributes
    ----------
    name
        One of :data:`FAMILIES`, or ``""`` when none fits.
    axis
        The sweep axis the analysis runs along (None: no sweep, or none needed).
    pump_axis
        Hole burning: the axis that switches or changes the pump (None if there is none).
    reason
        One line: the structure that was recognised, or why nothing fits.
    """

    name: str
    axis: str | None
    pump_axis: str | None
    reason: str


def layout(protocol: Protocol, point: Mapping[str, float]) -> Layout:
    """Lay out the protocol's sequence at ``point`` (first phase step) for classification."""
    sequence = protocol.sequence(point, 0)
    t = 0.0
    pulses: list[tuple[float, float, float, float, float]] = []
    windows: list[tuple[float, float]] = []
    for element in sequence.elements:
        if isinstance(element, Pulse):
            angle = element.nominal_angle_rad(sequence.full_scale_rabi_hz)
            pulses.append((angle, element.duration_s, element.amplitude, element.frequency_hz, t))
            t += element.duration_s
        elif isinstance(element, Detect):
            start = t + element.offset_s
            windows.append((start, start + element.duration_s))
            t = max(t, start + element.duration_s)
        else:
            t += element.duration_s
    gaps = tuple(pulses[i + 1][4] - (pulses[i][4] + pulses[i][1]) for i in range(len(pulses) - 1))
    return Layout(
        angles_rad=tuple(p[0] for p in pulses),
        durations_s=tuple(p[1] for p in pulses),
        amplitudes=tuple(p[2] for p in pulses),
        offsets_hz=tuple(p[3] for p in pulses),
        starts_s=tuple(p[4] for p in pulses),
        gaps_s=gaps,
        windows_s=tuple(windows),
        carrier_hz=sequence.carrier_hz,
    )


def _changed(first: tuple[float, ...], second: tuple[float, ...]) -> set[int]:
    return {
        i
        for i, (a, b) in enumerate(zip(first, second, strict=True))
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)
    }


@dataclass(frozen=True)
class _Role:
    """What moving one sweep axis changes."""

    name: str
    angles: set[int]
    offsets: set[int]
    amplitudes: set[int]
    gaps: set[int]
    carrier: bool


def _roles(protocol: Protocol) -> tuple[Layout, list[_Role]]:
    base = {axis.name: float(axis.values[0]) for axis in protocol.sweep_axes}
    first = layout(protocol, base)
    roles = []
    for axis in protocol.sweep_axes:
        if len(axis.values) < 2:
            continue
        moved = layout(protocol, {**base, axis.name: float(axis.values[1])})
        if len(moved.angles_rad) != len(first.angles_rad):
            continue
        roles.append(
            _Role(
                name=axis.name,
                angles=_changed(first.angles_rad, moved.angles_rad),
                offsets=_changed(first.offsets_hz, moved.offsets_hz),
                amplitudes=_changed(first.amplitudes, moved.amplitudes),
                gaps=_changed(first.gaps_s, moved.gaps_s),
                carrier=not math.isclose(first.carrier_hz, moved.carrier_hz, rel_tol=1e-12),
            )
        )
    return first, roles


def _is(angle: float, target: float) -> bool:
    return abs(angle / target - 1.0) <= _ANGLE_TOLERANCE


def _angles_text(angles: tuple[float, ...]) -> str:
    names = []
    for angle in angles:
        if _is(angle, math.pi / 2):
            names.append("pi/2")
        elif _is(angle, math.pi):
            names.append("pi")
        else:
            names.append(f"{math.degrees(angle):.0f} deg")
    return ", ".join(names)


def _hole_burning(first: Layout, roles: list[_Role]) -> Family | None:
    n = len(first.angles_rad)
    if n < 3 or not (_is(first.angles_rad[-2], math.pi / 2) and _is(first.angles_rad[-1], math.pi)):
        return None
    probe = max(first.durations_s[-2:])
    if min(first.durations_s[:-2]) < _PUMP_RATIO * probe:
        return None
    pumps = set(range(n - 2))
    probe_axes = [r for r in roles if {n - 2, n - 1} <= r.offsets and not r.offsets & pumps]
    if not probe_axes:
        return None
    axis = probe_axes[0].name
    pump_axes = [
        r.name
        for r in roles
        if r.name != axis and (r.amplitudes | r.angles | r.offsets) & pumps and not r.gaps
    ]
    pump = pump_axes[0] if pump_axes else None
    extra = f", pump switched by '{pump}'" if pump else ""
    return Family(
        "hole-burning",
        axis,
        pump,
        f"hole burning: pump then a pi/2 - pi probe echo, probe offset swept by '{axis}'{extra}",
    )


def classify_protocol(protocol: Protocol) -> Family:
    """Return the family of a protocol from its structure (see the module docstring).

    Parameters
    ----------
    protocol
        A parsed protocol (its name is not used).

    Returns
    -------
    Family
        The family and the axis its analysis runs along, or ``Family("", ...)`` with the reason
        none fits.
    """
    first, roles = _roles(protocol)
    angles = first.angles_rad
    n, windows = len(angles), len(first.windows_s)
    shape = (
        f"{n} pulse{'s' if n != 1 else ''} ({_angles_text(angles)}), "
        f"{windows} detection window{'s' if windows != 1 else ''}"
    )
    swept = ", ".join(f"'{r.name}'" for r in roles) or "nothing"
    if n == 0 or windows == 0:
        return Family("", None, None, f"no analysis fits {shape}")
    hole = _hole_burning(first, roles)
    if hole is not None:
        return hole
    other_axes = len(roles) > 1
    train = n >= 2 and _is(angles[0], math.pi / 2) and all(_is(a, math.pi) for a in angles[1:])
    if windows >= 2 and train:
        axis = next((r.name for r in roles if r.gaps), None)
        return Family("cpmg", axis, None, f"CPMG: pi/2 then {n - 1} pi pulses, one window each")
    if windows == 1 and first.after_last_pulse and not other_axes:
        role = roles[0] if roles else None
        if n == 1:
            if role is not None and role.angles:
                return Family("nutation", role.name, None, f"nutation: pulse angle swept by "
                              f"'{role.name}'")  # fmt: skip
            return Family("fid", role.name if role else None, None, "FID: one pulse, then the "
                          "free induction decay")  # fmt: skip
        if n == 2 and role is not None and role.gaps == {0}:
            if _is(angles[0], math.pi / 2) and _is(angles[1], math.pi):
                return Family("hahn-echo", role.name, None, f"Hahn echo: pi/2 - tau - pi, tau "
                              f"swept by '{role.name}'")  # fmt: skip
            if _is(angles[0], math.pi) and _is(angles[1], math.pi / 2):
                return Family("inversion-recovery", role.name, None, "inversion recovery: pi - "
                              f"T - pi/2, T swept by '{role.name}'")  # fmt: skip
        three = n == 3 and all(_is(a, math.pi / 2) for a in angles)
        if three and role is not None and role.gaps == {1}:
            return Family("stimulated-echo", role.name, None, "stimulated echo: pi/2 - tau - "
                          f"pi/2 - T - pi/2, T swept by '{role.name}'")  # fmt: skip
    return Family("", None, None, f"no analysis fits {shape} with {swept} swept")
