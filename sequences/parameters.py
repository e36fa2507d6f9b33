"""Protocol parameters, sweep axes and phase-cycle steps, read from a protocol file.

- ``parameters:`` maps names to quantities or expressions over earlier parameters; each gets a
  *kind* (``time``, ``frequency``, ``angle``, ``dimensionless``, ...) from the dimension of its
  default. Overrides (``--set``) and sweep values must keep that dimension (angles and plain
  numbers are interchangeable: radians are plain numbers).
  A parameter may not be named like ``pi``, a function or a unit (:func:`reserved_name`).
- ``sweep:`` ``NAME: {start, stop, points, scale}`` (``scale``: ``linear``, the default, or
  ``log``, which needs positive ends) or ``NAME: {values: [...]}``. An axis becomes a
  coordinate of the record, so its values must be distinct and its name none of the record's
  own variables (:data:`RECORD_NAMES`).
- ``phase_cycle:`` a list of ``{pulses: [one phase per pulse], receiver: +1 | -1 | ANGLE}``;
  an angle is read as a pulse phase is (range-checked; ``pi/2`` is radians).
"""

from __future__ import annotations

import cmath
import keyword
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from spin_echo.sequences.errors import InputError, ProtocolError
from spin_echo.sequences.quantity import (
    KINDS,
    Quantity,
    check_range,
    describe_kind,
    evaluate,
    format_quantity,
    reserved_name,
)
from spin_echo.sequences.yamlio import MapNode, Node, reads_as_number

__all__ = [
    "MAX_SWEEP_POINTS",
    "RECORD_NAMES",
    "Parameter",
    "PhaseStep",
    "SweepAxis",
    "combine_phase_cycle",
    "parse_parameters",
    "parse_phase_cycle",
    "parse_sweep",
]

#: Most points a protocol's sweep grid may have.
MAX_SWEEP_POINTS = 10_000
#: The variables and dimensions a record writes besides one coordinate per sweep axis: no
#: sweep axis may have one of these names (``echo.record`` writes them, and refuses them too).
RECORD_NAMES = (
    "time",
    "window",
    "signal_re",
    "signal_im",
    "signal_sem_re",
    "signal_sem_im",
    "mz",
    "point_complete",
)
_KIND_ORDER = ("time", "frequency", "angle", "dimensionless", "temperature", "field", "voltage")
_ANGLE_DIM = (0, 0, 0, 0, 1)
_PLAIN_DIM = (0, 0, 0, 0, 0)


def _normalised(dim: tuple[int, ...]) -> tuple[int, ...]:
    """Dimension with radians dropped (angles and plain numbers are compatible)."""
    return _PLAIN_DIM if dim == _ANGLE_DIM else dim


def _kind_of(dim: tuple[int, ...]) -> str | None:
    for kind in _KIND_ORDER:
        if KINDS[kind].accepts[0] == dim:
            return kind
    return None


@dataclass(frozen=True)
class Parameter:
    """A protocol parameter.

    Attributes
    ----------
    name
        Its name in expressions.
    text
        Its default as written in the file (or as given with ``--set``).
    value
        The default in SI units.
    kind
        ``time``, ``frequency``, ``angle``, ``dimensionless``, ``temperature``, ``field`` or
        ``voltage`` (from the dimension of the default).
    dim
        Dimension vector (exponents of s, K, T, V, rad).
    """

    name: str
    text: str
    value: float
    kind: str
    dim: tuple[int, int, int, int, int]


@dataclass(frozen=True, eq=False)
class SweepAxis:
    """One sweep axis.

    Attributes
    ----------
    name
        The swept parameter.
    values
        Values in SI units (float64 array).
    kind
        The parameter's kind (``time``, ``frequency``, ...).
    scale
        ``linear``, ``log`` or ``list``.
    """

    name: str
    values: np.ndarray
    kind: str
    scale: str


@dataclass(frozen=True)
class PhaseStep:
    """One phase-cycle step: phases added to each pulse, and the receiver weight.

    Attributes
    ----------
    pulse_phases_rad
        Phase added to each pulse, in pulse order, radians.
    receiver
        Complex weight of this step's signal (+1, -1 or ``exp(i angle)``).
    """

    pulse_phases_rad: tuple[float, ...]
    receiver: complex


def parse_parameters(node: Node, overrides: Mapping[str, str]) -> dict[str, Parameter]:
    """Read ``parameters:`` in order, applying ``overrides`` (errors from them name ``--set``).

    Raises
    ------
    ProtocolError
        For bad names or values, a missing ``carrier``, an unknown override (listing the known
        parameters) or an override of another dimension than its default.
    """
    mapping = node.as_map()
    for name in overrides:
        if name not in mapping:
            raise ProtocolError(
                f"unknown parameter; known parameters are {', '.join(mapping.keys())} "
                "(and full_scale_rabi)",
                file="--set",
                key=name,
                value=overrides[name],
            )
    env: dict[str, Quantity] = {}
    result: dict[str, Parameter] = {}
    for name, value_node in mapping.items():
        if not name.isidentifier() or keyword.iskeyword(name):
            raise value_node.error("parameter names must be identifiers (letters, digits, _)")
        reserved = reserved_name(name)
        if reserved is not None:
            raise value_node.error(f"{reserved}: a parameter may not be named like it")
        written = value_node.plain()
        if isinstance(written, bool) or not isinstance(written, (str, int, float)):
            raise value_node.error("must be a quantity such as '50 ns' or an expression")
        try:
            default = evaluate(written, env)
        except InputError as err:
            raise value_node.error(err.message) from None
        kind = _kind_of(default.dim)
        if kind is None:
            raise value_node.error(
                "must be a time, frequency, angle, plain number, temperature, field or voltage"
            )
        try:
            check_range(default.value, kind)
        except InputError as err:
            raise value_node.error(err.message) from None
        text = str(written)
        quantity = default
        if name in overrides:
            text = overrides[name]
            try:
                quantity = evaluate(text, env)
            except InputError as err:
                raise ProtocolError(err.message, file="--set", key=name, value=text) from None
            if _normalised(quantity.dim) != _normalised(default.dim):
                raise ProtocolError(
                    f"must be {KINDS[kind].expected} like its default {written!r}",
                    file="--set",
                    key=name,
                    value=text,
                )
            try:
                check_range(quantity.value, kind)
            except InputError as err:
                raise ProtocolError(err.message, file="--set", key=name, value=text) from None
        env[name] = quantity
        result[name] = Parameter(name, text, quantity.value, kind, default.dim)
    if "carrier" not in result:
        raise node.error("the parameters must include 'carrier' (the drive frequency)")
    carrier = result["carrier"]
    if carrier.kind != "frequency" or not carrier.value > 0:
        if "carrier" in overrides:
            raise ProtocolError(
                "must be a positive frequency", file="--set", key="carrier", value=carrier.text
            )
        raise mapping["carrier"].error("must be a positive frequency")
    return result


def _axis_value(node: Node, parameter: Parameter) -> float:
    written = node.plain()
    if isinstance(written, bool) or not isinstance(written, (str, int, float)):
        raise node.error(f"must be {KINDS[parameter.kind].expected}")
    try:
        quantity = evaluate(written)
    except InputError as err:
        raise node.error(err.message) from None
    if _normalised(quantity.dim) != _normalised(parameter.dim):
        raise node.error(
            f"must be {KINDS[parameter.kind].expected} like parameter {parameter.name}"
        )
    try:
        value = check_range(quantity.value, parameter.kind)
    except InputError as err:
        raise node.error(err.message) from None
    if parameter.name == "carrier" and not value > 0:
        raise node.error("must be a positive frequency (the carrier)")
    return value


def _axis_name(sweep: MapNode, name: str, parameters: Mapping[str, Parameter]) -> Parameter:
    """Return the parameter an axis sweeps; refuse an unknown one or a record's own name."""
    where = {"file": sweep.file, "line": sweep.key_lines[name], "key": f"sweep.{name}"}
    if name not in parameters:
        raise sweep.error_class(
            f"sweeps an unknown parameter; known parameters are {', '.join(parameters)}", **where
        )
    if name in RECORD_NAMES:
        raise sweep.error_class(
            f"a sweep axis becomes a coordinate of the record, which has its own {name!r}: "
            f"rename the parameter (a record's own names are {', '.join(RECORD_NAMES)})",
            **where,
        )
    return parameters[name]


def parse_sweep(node: Node | None, parameters: Mapping[str, Parameter]) -> tuple[SweepAxis, ...]:
    """Read ``sweep:`` into axes (outermost first).

    Raises
    ------
    ProtocolError
        For an axis that is not a parameter (listing the parameters) or is named like a
        variable of the record (:data:`RECORD_NAMES`), bad keys, a log scale with non-positive
        ends, a value of the wrong dimension, a carrier that is not positive, or an axis that
        repeats a value (a record's coordinates are distinct).
    """
    if node is None:
        return ()
    axes = []
    sweep = node.as_map()
    for name, spec_node in sweep.items():
        parameter = _axis_name(sweep, name, parameters)
        spec = spec_node.as_map()
        if "values" in spec:
            spec.check_keys(("values",))
            items = spec["values"].as_list()
            if len(items) == 0:
                raise items.error("must list at least one value")
            values = np.array([_axis_value(item, parameter) for item in items])
            _distinct_values(values, items, parameter)
            axes.append(SweepAxis(name, values, parameter.kind, "list"))
            continue
        spec.check_keys(
            ("start", "stop", "points", "scale", "step"), required=("start", "stop", "points")
        )
        start = _axis_value(spec["start"], parameter)
        stop = _axis_value(spec["stop"], parameter)
        points = spec["points"].integer(minimum=1, maximum=MAX_SWEEP_POINTS)
        scale = spec["scale"].as_str() if "scale" in spec else "linear"
        if scale == "linear":
            values = np.linspace(start, stop, points)
        elif scale == "log":
            if not (start > 0 and stop > 0):
                raise spec.error("a log sweep needs positive start and stop")
            values = np.geomspace(start, stop, points)
        else:
            raise spec["scale"].error("must be 'linear' or 'log'")
        values[0] = start
        if points > 1:
            values[-1] = stop
        if "step" in spec:
            values = _on_grid(values, spec["step"], parameter)
        else:
            _refuse_repeats(
                values,
                spec["points"],
                "the same value",
                f"start and stop are both {format_quantity(start, parameter.kind, digits=6)}: "
                "points: 1, or a stop other than the start"
                if start == stop
                else "the range is too narrow for so many points: fewer points or a wider range",
            )
        axes.append(SweepAxis(name, values, parameter.kind, scale))
    return tuple(axes)


def _refuse_repeats(values: np.ndarray, node: Node, what: str, advice: str) -> None:
    """Refuse a range's ``values`` with equal neighbours: a record's coordinates are distinct.

    The error, at ``node``, says the points meet on ``what`` and ends with ``advice``.
    """
    collisions = int(np.count_nonzero(np.diff(values) == 0))
    if collisions:
        plural = "s" if collisions > 1 else ""
        raise node.error(f"puts sweep points on {what} ({collisions} collision{plural}): {advice}")


def _distinct_values(values: np.ndarray, items: Node, parameter: Parameter) -> None:
    """Refuse a ``values:`` list that gives one value twice, at the second occurrence."""
    seen: dict[float, int] = {}
    for index, value in enumerate(values.tolist()):
        if value in seen:
            shown = format_quantity(value, parameter.kind, digits=12)
            node = items.as_list().items[index]
            raise node.error(
                f"repeats values[{seen[value]}] ({shown}): a sweep axis is a coordinate of the "
                "record, its values must be distinct"
            )
        seen[value] = index


def _on_grid(values: np.ndarray, node: Node, parameter: Parameter) -> np.ndarray:
    """Round a range sweep's ``values`` to the nearest whole multiples of ``step:``.

    Each value becomes k x step with k a whole number, written to 12 significant digits (so
    ``step: 250 ns`` gives 2.75e-06, not 2.7500000000000004e-06); values that meet on the
    grid, or a grid point of 0 on a log sweep, are errors naming the step.
    """
    step = _axis_value(node, parameter)
    if not step > 0:
        raise node.error(f"must be {describe_kind(parameter.kind, 'positive')}")
    multiples = np.rint(values / step)
    snapped = np.array([float(f"{k * step:.12g}") for k in multiples])
    _refuse_repeats(
        snapped,
        node,
        "the same multiple of the step",
        "fewer points, a wider range or a finer step",
    )
    if np.any(multiples == 0) and np.all(values > 0):
        raise node.error("rounds the first sweep point to 0: a start of at least half the step")
    return snapped


def _receiver(node: Node | None) -> complex:
    """Read a step's receiver: a weight +1 or -1, or an angle ``a`` meaning ``exp(i a)``.

    A number is a weight; text is an angle, read and range-checked as a pulse phase is
    (``90 deg``, ``pi/2`` in radians), except text that is just a number (``'-1'``): refused,
    as a quoted number is everywhere, since it could mean a weight or radians.
    """
    if node is None:
        return 1 + 0j
    written = node.plain()
    message = "must be +1, -1 or an angle such as '90 deg' or 'pi/2' (meaning exp(i angle))"
    if isinstance(written, str) and reads_as_number(written):
        raise node.error(f"{message}; a weight is written without quotes")
    if isinstance(written, bool) or not isinstance(written, (str, int, float)):
        raise node.error(message)
    if not isinstance(written, str):
        if written not in (1, -1):
            raise node.error(message)
        return complex(written)
    return cmath.exp(1j * node.quantity("angle"))


def combine_phase_cycle(signals: Any, phase_cycle: tuple[PhaseStep, ...]) -> np.ndarray:
    """Combine the signals of the phase-cycle steps: ``mean_k(receiver_k * signal_k)``.

    Parameters
    ----------
    signals
        Complex array whose first axis runs over the steps of ``phase_cycle``.
    phase_cycle
        The protocol's steps.

    Returns
    -------
    numpy.ndarray
        The combined complex signal (the first axis removed).
    """
    data = np.asarray(signals)
    if data.ndim == 0 or data.shape[0] != len(phase_cycle):
        raise ValueError(
            f"expected {len(phase_cycle)} phase steps on the first axis, got shape {data.shape}"
        )
    receivers = np.array([step.receiver for step in phase_cycle], dtype=complex)
    weights = receivers.reshape((-1,) + (1,) * (data.ndim - 1))
    return np.mean(weights * data, axis=0)


def parse_phase_cycle(node: Node | None, n_pulses: int) -> tuple[PhaseStep, ...]:
    """Read ``phase_cycle:``; every step lists one phase per pulse.

    Raises
    ------
    ProtocolError
        For bad keys, a phase list of the wrong length, or a bad receiver.
    """
    if node is None:
        return (PhaseStep((0.0,) * n_pulses, 1 + 0j),)
    steps = []
    items = node.as_list()
    if len(items) == 0:
        raise node.error("must list at least one step")
    for item in items:
        step = item.as_map()
        step.check_keys(("pulses", "receiver"), required=("pulses",))
        phases = step["pulses"].as_list()
        if len(phases) != n_pulses:
            raise phases.error(
                f"lists {len(phases)} phases; the sequence has {n_pulses} pulses (one phase each)"
            )
        steps.append(
            PhaseStep(
                tuple(p.quantity("angle") for p in phases),
                _receiver(step.get("receiver")),
            )
        )
    return tuple(steps)
