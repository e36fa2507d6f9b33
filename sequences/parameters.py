"""Protocol parameters, sweep axes and phase-cycle steps, read from a protocol file.

- ``parameters:`` maps names to quantities or expressions over earlier parameters; each gets a
  *kind* (``time``, ``frequency``, ``angle``, ``dimensionless``, ...) from the dimension of its
  default. Overrides (``--set``) and sweep values must keep that dimension (angles and plain
  numbers are interchangeable: radians are plain numbers).
- ``sweep:`` ``NAME: {start, stop, points, scale}`` (``scale``: ``linear``, the default, or
  ``log``, which needs positive ends) or ``NAME: {values: [...]}``.
- ``phase_cycle:`` a list of ``{pulses: [one phase per pulse], receiver: +1 | -1 | ANGLE}``.
"""

from __future__ import annotations

import cmath
import keyword
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from spin_echo.sequences.errors import InputError, ProtocolError
from spin_echo.sequences.quantity import KINDS, Quantity, check_range, evaluate
from spin_echo.sequences.yamlio import Node

__all__ = [
    "MAX_SWEEP_POINTS",
    "Parameter",
    "PhaseStep",
    "SweepAxis",
    "parse_parameters",
    "parse_phase_cycle",
    "parse_sweep",
]

#: Most points a protocol's sweep grid may have.
MAX_SWEEP_POINTS = 10_000
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
        if not name.isidentifier() or keyword.iskeyword(name) or name == "pi":
            raise value_node.error("parameter names must be identifiers (letters, digits, _)")
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
        return check_range(quantity.value, parameter.kind)
    except InputError as err:
        raise node.error(err.message) from None


def parse_sweep(node: Node | None, parameters: Mapping[str, Parameter]) -> tuple[SweepAxis, ...]:
    """Read ``sweep:`` into axes (outermost first).

    Raises
    ------
    ProtocolError
        For an axis that is not a parameter (listing the parameters), bad keys, a log scale
        with non-positive ends, or a value of the wrong dimension.
    """
    if node is None:
        return ()
    axes = []
    for name, spec_node in node.as_map().items():
        if name not in parameters:
            raise spec_node.error(
                f"sweeps an unknown parameter; known parameters are {', '.join(parameters)}"
            )
        parameter = parameters[name]
        spec = spec_node.as_map()
        if "values" in spec:
            spec.check_keys(("values",))
            items = spec["values"].as_list()
            if len(items) == 0:
                raise items.error("must list at least one value")
            values = np.array([_axis_value(item, parameter) for item in items])
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
        axes.append(SweepAxis(name, values, parameter.kind, scale))
    return tuple(axes)


def _on_grid(values: np.ndarray, node: Node, parameter: Parameter) -> np.ndarray:
    """Round a range sweep's ``values`` to the nearest whole multiples of ``step:``.

    Each value becomes k x step with k a whole number, written to 12 significant digits (so
    ``step: 250 ns`` gives 2.75e-06, not 2.7500000000000004e-06); values that meet on the
    grid, or a grid point of 0 on a log sweep, are errors naming the step.
    """
    step = _axis_value(node, parameter)
    if not step > 0:
        raise node.error(f"must be a positive {KINDS[parameter.kind].expected}")
    multiples = np.rint(values / step)
    snapped = np.array([float(f"{k * step:.12g}") for k in multiples])
    if snapped.size > 1 and np.any(np.diff(snapped) == 0):
        raise node.error(
            f"puts two sweep points on the same multiple of the step "
            f"({np.count_nonzero(np.diff(snapped) == 0)} collisions): "
            "fewer points, a wider range or a finer step"
        )
    if np.any(multiples == 0) and np.all(values > 0):
        raise node.error("rounds the first sweep point to 0: a start of at least half the step")
    return snapped


def _receiver(node: Node | None) -> complex:
    if node is None:
        return 1 + 0j
    written = node.plain()
    message = "must be +1, -1 or an angle such as '90 deg' (meaning exp(i angle))"
    if isinstance(written, bool):
        raise node.error(message)
    if isinstance(written, (int, float)):
        if written not in (1, -1):
            raise node.error(message)
        return complex(written)
    if not isinstance(written, str):
        raise node.error(message)
    try:
        quantity = evaluate(written)
    except InputError as err:
        raise node.error(err.message) from None
    if quantity.dim != _ANGLE_DIM:
        raise node.error(message)
    return cmath.exp(1j * quantity.value)


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
