r"""What ``--vary`` can change in a protocol, within what bounds, and how it is written.

What can vary (``--vary NAME[=LOW:HIGH][,NAME...]``):

- a protocol **parameter** by its name (``t_pi2``, ``carrier``, ``window``, ``pump_amplitude``,
  ``t_pump``, ...), unless a sweep axis sweeps it;
- a sweep's span, ``AXIS.start`` or ``AXIS.stop`` (``tau.stop``): the axis is rewritten as a
  range of as many points with its spacing (log where the values are near-geometric), on the
  carrier's period grid (``step:``) where the written values were on it (README, "Why the
  carrier grid");
- ``full_scale_rabi`` (the drive: the Rabi frequency at the AWG's full scale), at most the
  bench's amplitude limit over its amplitude times the protocol's value;
- ``repetition_time``: with the sample's ``relaxation.T1`` the echo of a shot is
  :math:`1 - e^{-(T_\mathrm{rep} - T_\mathrm{seq})/T_1}` of the equilibrium one (the
  sequence leaves :math:`M_z \approx 0`: recovery from zero during the dead time), so the best
  :math:`T_\mathrm{rep}` is about :math:`1.26\,T_1`; without ``T1`` it is as short as the
  sequence allows. The virtual bench starts every shot from equilibrium and does not show
  this;
- ``shots``: set by the budget, not searched (the figures of merit are per unit time).

Bounds: as given, else a factor 4 either side of the written value. What the bench cannot
play is refused by the protocol's own checks (a pulse amplitude above full scale, a sequence
longer than the repetition time) and by :func:`spin_echo.drivers.bench.check_protocol_fits`
(the AWG's sample rate, memory, granularity): such a candidate is infeasible, not an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import yaml

from spin_echo.drivers.config import BenchSpec
from spin_echo.echo.figure import spacing
from spin_echo.echo.record import unit_of_kind
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.protocol import Protocol
from spin_echo.sequences.quantity import format_quantity, parse_quantity

__all__ = [
    "RANGE_FACTOR",
    "Knob",
    "apply_knobs",
    "knob_unit",
    "knob_values",
    "parse_vary",
    "with_shots",
]

#: Default search range: this factor either side of the written value.
RANGE_FACTOR = 4.0
_SPECIAL = {"full_scale_rabi": "frequency", "repetition_time": "time", "shots": "int"}


@dataclass(frozen=True)
class Knob:
    """One varied protocol quantity.

    Attributes
    ----------
    name
        As given to ``--vary`` (``t_pi2``, ``tau.stop``, ``repetition_time``, ...).
    kind
        Quantity kind of its value (``time``, ``frequency``, ``dimensionless``, ``int``, ...).
    start, lower, upper
        The written value and the search bounds, SI.
    """

    name: str
    kind: str
    start: float
    lower: float
    upper: float

    @property
    def searched(self) -> bool:
        """False for ``shots``, which the budget sets."""
        return self.kind != "int"


def _axis_ends(protocol: Protocol, axis: str) -> np.ndarray:
    for item in protocol.sweep_axes:
        if item.name == axis:
            return np.asarray(item.values, dtype=float)
    raise KeyError(axis)


#: Knobs that are positive whatever their kind (times are, by their kind).
_POSITIVE = ("carrier", "full_scale_rabi")


def _bounds(text: str | None, kind: str, name: str, start: float) -> tuple[float, float]:
    if text is None:
        if start > 0:
            return start / RANGE_FACTOR, start * RANGE_FACTOR
        if start < 0:
            return start * RANGE_FACTOR, start / RANGE_FACTOR
        raise InputError(
            "is 0 in the protocol: give the range as NAME=LOW:HIGH", key="--vary", value=name
        )
    parts = text.split(":")
    if len(parts) != 2:
        raise InputError(
            f"the range must be LOW:HIGH, two {kind} values", key="--vary", value=f"{name}={text}"
        )
    try:
        low, high = (
            float(part) if kind == "dimensionless" else parse_quantity(part.strip(), kind)
            for part in parts
        )
    except (ValueError, InputError) as err:
        message = err.message if isinstance(err, InputError) else f"not a number: {err}"
        raise InputError(
            f"the range must be LOW:HIGH, two {kind} values ({message})",
            key="--vary",
            value=f"{name}={text}",
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise InputError(
            "the range LOW:HIGH needs LOW < HIGH", key="--vary", value=f"{name}={text}"
        )
    if (kind == "time" or name in _POSITIVE) and not low > 0:
        raise InputError(
            f"the range LOW:HIGH needs LOW > 0 ({name} is a positive {kind})",
            key="--vary",
            value=f"{name}={text}",
        )
    return float(low), float(high)


def _drive_limit(bench: BenchSpec) -> float:
    """Return the largest factor the bench's amplitude limit allows above its amplitude."""
    amplitude = bench.awg.options.get("amplitude")
    limit = bench.awg.limits.get("amplitude_vpp")
    if amplitude and limit:
        return max(1.0, float(limit) / float(amplitude))
    return 1.0


def parse_vary(text: str, protocol: Protocol, bench: BenchSpec) -> tuple[Knob, ...]:
    """Read ``--vary NAME[=LOW:HIGH][,NAME...]`` against the protocol and bench.

    Parameters
    ----------
    text
        The option's value.
    protocol
        The protocol as written (its values start the search).
    bench
        The bench (its amplitude limit caps ``full_scale_rabi``).

    Returns
    -------
    tuple of Knob
        One per name, in the order given.

    Raises
    ------
    InputError
        ``key="--vary"``: an unknown name (the message lists what can vary), a swept parameter,
        a name given twice, or a bad range.
    """
    swept = {axis.name for axis in protocol.sweep_axes}
    names = [*protocol.parameters, *(f"{a}.{e}" for a in swept for e in ("start", "stop"))]
    known = [n for n in names if n not in swept] + list(_SPECIAL)
    knobs: list[Knob] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, bounds = item.partition("=")
        name = name.strip()
        if name in (knob.name for knob in knobs):
            raise InputError("names a parameter twice", key="--vary", value=name)
        if name in swept:
            raise InputError(
                f"is swept; vary its span instead ({name}.start, {name}.stop)",
                key="--vary",
                value=name,
            )
        if name not in known:
            raise InputError(
                f"cannot be varied; {protocol.name!r} can vary {', '.join(known)}",
                key="--vary",
                value=name,
            )
        if name in _SPECIAL:
            kind = _SPECIAL[name]
            start = {
                "full_scale_rabi": protocol.full_scale_rabi_hz,
                "repetition_time": protocol.repetition_time_s,
                "shots": float(protocol.shots),
            }[name]
        elif "." in name:
            axis, end = name.rsplit(".", 1)
            values = _axis_ends(protocol, axis)
            kind = protocol.parameters[axis].kind
            start = float(values[0] if end == "start" else values[-1])
        else:
            kind = protocol.parameters[name].kind
            start = protocol.parameters[name].value
        if kind == "int":
            knobs.append(Knob(name, kind, start, start, start))
            continue
        lower, upper = _bounds(bounds or None, kind, name, start)
        if name == "full_scale_rabi" and not bounds:
            upper = start * _drive_limit(bench)
        if name == "pump_amplitude" and not bounds:
            upper = min(upper, 1.0)
        knobs.append(Knob(name, kind, start, lower, upper))
    if not knobs:
        raise InputError("name at least one parameter to vary", key="--vary", value=text)
    return tuple(knobs)


def _text(value: float, kind: str) -> str | float:
    """Return a value as protocol text, to 6 significant digits (SI units with a prefix)."""
    value = float(f"{value:.6g}")
    if kind == "dimensionless":
        return value
    number, _, unit = format_quantity(value, kind).partition(" ")
    return f"{float(number):.6g} {unit}".rstrip()  # 267.355 ns, not 267.35499999999996 ns


def _on_carrier_grid(values: np.ndarray, carrier_hz: float) -> bool:
    multiples = np.asarray(values) * carrier_hz
    return bool(np.all(np.abs(multiples - np.rint(multiples)) < 1e-6))


def apply_knobs(protocol: Protocol, values: dict[str, float], knobs: Sequence[Knob]) -> Protocol:
    """Return ``protocol`` with the knobs set to ``values`` (SI), rebuilt and checked.

    Raises
    ------
    InputError
        When the values make the protocol invalid (the protocol's own message).
    """
    document = yaml.safe_load(protocol.to_yaml())
    kinds = {knob.name: knob.kind for knob in knobs}
    carrier = values.get("carrier", protocol.carrier_hz)
    spans: dict[str, dict[str, float]] = {}
    for name, value in values.items():
        kind = kinds[name]
        if name == "shots":
            document["shots"] = int(value)
        elif name in _SPECIAL:
            document[name] = _text(value, kind)
        elif "." in name:
            axis, end = name.rsplit(".", 1)
            spans.setdefault(axis, {})[end] = value
        else:
            document["parameters"][name] = _text(value, kind)
    for axis, ends in spans.items():
        written = _axis_ends(protocol, axis)
        kind = protocol.parameters[axis].kind
        start = ends.get("start", float(written[0]))
        stop = ends.get("stop", float(written[-1]))
        on_grid = kind == "time" and _on_carrier_grid(written, protocol.carrier_hz)
        if on_grid:  # whole carrier periods, at least one
            start, stop = (max(round(x * carrier), 1) / carrier for x in (start, stop))
        spec: dict[str, object] = {
            "start": _text(start, kind),
            "stop": _text(stop, kind),
            "points": len(written),
            "scale": spacing(written),
        }
        if on_grid:
            spec["step"] = f"{1e9 / carrier:.12g} ns"
        document["sweep"][axis] = spec
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return Protocol.from_yaml(text, source=protocol.source)


def knob_unit(knob: Knob) -> str:
    """Return the SI unit of a knob's value (``""`` for counts and ratios)."""
    unit = unit_of_kind(knob.kind)
    return "" if knob.kind in ("int", "dimensionless") or unit == "1" else unit


def knob_values(protocol: Protocol, knobs: Sequence[Knob]) -> dict[str, float]:
    """Return every knob's value in ``protocol`` as it will run (sweep ends after the grid), SI."""
    values = {}
    for knob in knobs:
        if knob.name == "shots":
            values[knob.name] = float(protocol.shots)
        elif knob.name == "full_scale_rabi":
            values[knob.name] = protocol.full_scale_rabi_hz
        elif knob.name == "repetition_time":
            values[knob.name] = protocol.repetition_time_s
        elif "." in knob.name:
            axis, end = knob.name.rsplit(".", 1)
            ends = _axis_ends(protocol, axis)
            values[knob.name] = float(ends[0] if end == "start" else ends[-1])
        else:
            values[knob.name] = protocol.parameters[knob.name].value
    return values


def with_shots(protocol: Protocol, shots: int) -> Protocol:
    """Return ``protocol`` with ``shots`` shots per phase step (its YAML rewritten and checked)."""
    document = yaml.safe_load(protocol.to_yaml())
    document["shots"] = int(shots)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return Protocol.from_yaml(text, source=protocol.source)
