"""Read the ``sequence`` entries of a protocol file into model values, with parameters bound.

Each entry of ``sequence:`` is a one-key mapping:

``pulse: {angle | amplitude, duration, phase, shape, frequency}``
    ``angle`` (nominal rotation, e.g. ``pi/2``, ``90 deg``) or ``amplitude`` (fraction of
    full-scale drive, 0..1): exactly one. ``duration`` (positive time). ``phase`` (angle,
    default 0). ``frequency`` (offset from the carrier, default ``0 Hz``). ``shape``: a name
    (``rect``, the default; ``gaussian``) or a mapping ``{type: NAME, ...}`` with the shape's
    keys: ``gaussian`` ``truncation`` (sigmas, default 3) or ``sigma`` (a time); ``sech``
    ``bandwidth`` (required) and ``beta`` (default 5.3); ``chirp`` ``bandwidth`` (required).
    A pulse written with ``angle`` gets
    ``amplitude = angle / (2 pi full_scale_rabi area_factor(shape) duration)``; an amplitude
    above 1 (beyond a rounding tolerance of 1e-12) is an error naming the pulse and the
    amplitude it would need.
``delay: TIME``
    Free evolution (>= 0).
``detect: {duration, points, offset}``
    A detection window of ``points`` samples over ``duration``; ``offset`` (default 0) moves
    its start relative to the end of the previous element (see :mod:`sequences.model`).

Every value may be an expression over the protocol's parameters (``tau - window/2``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from spin_echo.sequences.errors import InputError
from spin_echo.sequences.model import MAX_DETECT_POINTS, Delay, Detect, Element, Pulse
from spin_echo.sequences.quantity import Quantity
from spin_echo.sequences.shapes import SHAPE_NAMES, Chirp, Gaussian, Rect, Sech, Shape
from spin_echo.sequences.yamlio import MapNode, Node, reads_as_number

__all__ = ["ELEMENT_KINDS", "PULSE_KEYS", "bind_element", "check_element"]

#: The keys an entry of ``sequence:`` may have (exactly one of them).
ELEMENT_KINDS = ("pulse", "delay", "detect")
#: The keys of a pulse.
PULSE_KEYS = ("angle", "amplitude", "duration", "phase", "shape", "frequency")
#: Relative rounding tolerated when an angle asks for exactly full scale.
_ROUNDING = 1e-12
_DETECT_KEYS = ("duration", "points", "offset")
_SHAPE_KEYS = {
    "rect": ("type",),
    "gaussian": ("type", "truncation", "sigma"),
    "sech": ("type", "beta", "bandwidth"),
    "chirp": ("type", "bandwidth"),
}


def check_element(node: Node) -> tuple[str, Node]:
    """Check the structure of one ``sequence`` entry; return its kind and body node.

    Raises
    ------
    InputError
        (the document's error class) for an entry that is not a one-key mapping of
        ``pulse``, ``delay`` or ``detect``, or a pulse/detect with unknown or missing keys.
    """
    entry = node.as_map()
    if len(entry.entries) != 1:
        raise node.error(
            "each sequence entry must be a mapping with exactly one key: "
            + ", ".join(ELEMENT_KINDS)
        )
    entry.check_keys(ELEMENT_KINDS)
    ((kind, body),) = entry.items()
    if kind == "pulse":
        pulse = body.as_map()
        pulse.check_keys(PULSE_KEYS, required=("duration",))
        given = [k for k in ("angle", "amplitude") if k in pulse]
        if len(given) != 1:
            raise pulse.error("a pulse needs exactly one of 'angle' or 'amplitude'")
    elif kind == "detect":
        body.as_map().check_keys(_DETECT_KEYS, required=("duration", "points"))
    return kind, body


def _integer(node: Node, env: Mapping[str, Quantity]) -> int:
    """Read a whole number written as a literal or as a dimensionless expression.

    Text that is only a number (``'64'``, or ``6.4e1``, which YAML 1.1 reads as text) is
    refused, as for every whole-number key (:meth:`~sequences.yamlio.Node.integer`).
    """
    value = node.plain()
    if isinstance(value, str) and not reads_as_number(value):
        number = node.quantity("dimensionless", env)
        if number != round(number):
            raise node.error("must be a whole number")
        value = round(number)
    if isinstance(value, bool) or not isinstance(value, int):
        raise node.not_whole_number()
    if not 1 <= value <= MAX_DETECT_POINTS:
        raise node.error(f"must be a whole number from 1 to {MAX_DETECT_POINTS}")
    return value


def _shape(node: Node | None, duration_s: float, env: Mapping[str, Quantity]) -> Shape:
    if node is None:
        return Rect()
    if isinstance(node.plain(), str):
        name = node.as_str().strip()
        spec: MapNode | None = None
    else:
        spec = node.as_map()
        name = spec["type"].as_str().strip()
    if name not in SHAPE_NAMES:
        where = node if spec is None else spec["type"]
        raise where.error(f"unknown shape; known shapes are {', '.join(SHAPE_NAMES)}")
    if spec is not None:
        spec.check_keys(_SHAPE_KEYS[name])
    get = spec.get if spec is not None else (lambda _key: None)
    if name == "rect":
        return Rect()
    if name == "gaussian":
        sigma, truncation = get("sigma"), get("truncation")
        if sigma is not None and truncation is not None:
            raise node.error("give either 'sigma' or 'truncation', not both")
        if sigma is not None:
            return Gaussian(duration_s / (2 * sigma.quantity("time", env, positive=True)))
        if truncation is not None:
            return Gaussian(truncation.quantity("dimensionless", env, positive=True))
        return Gaussian()
    if spec is None:
        raise node.error(f"a {name} shape needs a mapping {{type: {name}, bandwidth: ...}}")
    bandwidth = spec["bandwidth"].quantity("frequency", env, positive=True)
    if name == "chirp":
        return Chirp(bandwidth)
    beta_node = spec.get("beta")
    beta = 5.3 if beta_node is None else beta_node.quantity("dimensionless", env, positive=True)
    if beta > 50:
        raise beta_node.error("must be at most 50")  # type: ignore[union-attr]
    return Sech(beta, bandwidth)


def _pulse(body: MapNode, env: Mapping[str, Quantity], full_scale_rabi_hz: float) -> Pulse:
    duration = body["duration"].quantity("time", env, positive=True)
    shape = _shape(body.get("shape"), duration, env)
    phase_node, freq_node = body.get("phase"), body.get("frequency")
    phase = 0.0 if phase_node is None else phase_node.quantity("angle", env)
    frequency = 0.0 if freq_node is None else freq_node.quantity("frequency", env)
    angle: float | None = None
    if "angle" in body:
        angle = body["angle"].quantity("angle", env, nonnegative=True)
        amplitude = angle / (2 * math.pi * full_scale_rabi_hz * shape.area_factor * duration)
        if amplitude > 1 + _ROUNDING:
            needed = amplitude * full_scale_rabi_hz
            raise body.error(
                f"angle {angle:.6g} rad over {duration:.6g} s as {shape.name} needs amplitude "
                f"{amplitude:.6g} (peak Rabi frequency {needed:.6g} Hz) but full scale is "
                f"{full_scale_rabi_hz:.6g} Hz; lengthen the pulse or raise full_scale_rabi"
            )
        amplitude = min(amplitude, 1.0)
    else:
        amplitude = body["amplitude"].quantity("dimensionless", env, nonnegative=True)
        if amplitude > 1:
            raise body["amplitude"].error("must be a fraction of full scale in [0, 1]")
    return Pulse(
        duration_s=duration,
        amplitude=amplitude,
        phase_rad=phase,
        shape=shape,
        frequency_hz=frequency,
        angle_rad=angle,
    )


def bind_element(
    kind: str, body: Node, env: Mapping[str, Quantity], full_scale_rabi_hz: float
) -> Element:
    """Build the model value of one checked ``sequence`` entry with parameters ``env``.

    Parameters
    ----------
    kind, body
        As returned by :func:`check_element`.
    env
        Parameter values (SI quantities) the expressions may use.
    full_scale_rabi_hz
        Nominal Rabi frequency at amplitude 1, Hz (turns ``angle`` into ``amplitude``).

    Raises
    ------
    InputError
        (the document's error class) located at the offending key.
    """
    try:
        if kind == "delay":
            return Delay(duration_s=body.quantity("time", env, nonnegative=True))
        if kind == "detect":
            detect = body.as_map()
            offset = detect.get("offset")
            return Detect(
                duration_s=detect["duration"].quantity("time", env, positive=True),
                points=_integer(detect["points"], env),
                offset_s=0.0 if offset is None else offset.quantity("time", env),
            )
        return _pulse(body.as_map(), env, full_scale_rabi_hz)
    except InputError as err:
        if err.file is None:
            raise body.error(err.message) from None
        raise
