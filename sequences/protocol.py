"""Protocols: a parameterised sequence with its sweeps and phase cycle; the built-in library.

Top-level keys of a protocol file (unknown keys are errors):

``name`` (required), ``description`` (one line first)
``parameters`` (required)
    Named defaults, in order; each is a quantity or an expression over the parameters above
    it (``t_pi: 2*t_pi2``). ``carrier`` (a frequency, the drive and receiver reference) is
    required. Parameters are overridable (``--set``) and sweepable; a parameter keeps the
    dimension of its default.
``sequence`` (required)
    The pulses, delays and detection windows (:mod:`sequences.binding`); a record needs a
    window (:meth:`Protocol.require_detect`).
``sweep``
    ``NAME: {start, stop, points, scale: linear|log}`` or ``NAME: {values: [...]}`` for one or
    more parameters; the axes span a grid iterated in C order (last axis fastest). Their
    values are distinct and their names none of :data:`RECORD_NAMES` (record coordinates).
``phase_cycle``
    A list of steps ``{pulses: [phase per pulse], receiver: +1 | -1 | ANGLE}``; step ``k`` adds
    its phases to the pulses and weights the detected signal by ``receiver_k`` (an angle
    ``a`` means ``exp(i a)``): ``signal = mean_k(receiver_k * signal_k)``
    (:func:`combine_phase_cycle`). Default: one step, no phases, receiver +1.
``shots`` (default 1), ``repetition_time`` (default ``1 ms``, at least the sequence length)
``full_scale_rabi`` (default ``1 MHz``)
    The nominal Rabi frequency at amplitude 1.0 (full-scale drive), as calibrated with the
    ``nutation`` protocol: a pulse given by ``angle`` needs
    ``amplitude = angle / (2 pi full_scale_rabi area_factor(shape) duration) <= 1``.
    Overridable like a parameter (``--set full_scale_rabi='2 MHz'``).

Overrides (``--set NAME=VALUE``, :meth:`Protocol.with_overrides`) replace a parameter's
default; an override of a *swept* parameter replaces its sweep axis (the protocol then runs at
that one value, and its YAML, :meth:`Protocol.to_yaml`, no longer has the axis).

Limits: at most :data:`~sequences.parameters.MAX_SWEEP_POINTS` sweep points and
:data:`MAX_RECORD_VALUES` detection points over the whole sweep (the size of a record).

Every point of the sweep (and the defaults) is bound and laid out, and its shaped pulses cut
into timeline segments, when the protocol is loaded, so a protocol that loads compiles to a
timeline at every point (errors at their line: :meth:`Protocol.located`).

Built-in protocols live in ``sequences/library/NAME.yaml``; loading one by name or path, and
listing them, is :mod:`spin_echo.sequences.protocol_files`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import yaml

from spin_echo.sequences.binding import bind_element, check_element
from spin_echo.sequences.compile import layout
from spin_echo.sequences.errors import InputError, ProtocolError
from spin_echo.sequences.model import Pulse, Sequence
from spin_echo.sequences.parameters import (
    MAX_SWEEP_POINTS,
    RECORD_NAMES,
    Parameter,
    PhaseStep,
    SweepAxis,
    combine_phase_cycle,
    parse_parameters,
    parse_phase_cycle,
    parse_sweep,
)
from spin_echo.sequences.quantity import Quantity, evaluate, format_quantity, parse_quantity
from spin_echo.sequences.yamlio import MapNode, Node, load_yaml

__all__ = [
    "FULL_SCALE_KEY",
    "MAX_RECORD_VALUES",
    "RECORD_NAMES",
    "Parameter",
    "PhaseStep",
    "Protocol",
    "SweepAxis",
    "combine_phase_cycle",
    "parse_protocol",
]

#: The top-level key that ``--set`` may override besides the parameters.
FULL_SCALE_KEY = "full_scale_rabi"
#: Most detection points over a whole sweep (sweep points x points per sweep point): the
#: size of a record, about 40 bytes a value in memory when it is written or read.
MAX_RECORD_VALUES = 20_000_000

_TOP_KEYS = (
    "name",
    "description",
    "parameters",
    "sequence",
    "sweep",
    "phase_cycle",
    "shots",
    "repetition_time",
    "full_scale_rabi",
)


def _relocated(err: InputError, message: str) -> ProtocolError:
    """Return a ProtocolError with ``message`` at the location of ``err``."""
    return ProtocolError(message, file=err.file, line=err.line, key=err.key, value=err.value)


@dataclass(frozen=True, eq=False)
class Protocol:
    """A named, parameterised sequence with sweeps and a phase cycle (see the module doc).

    Build one with :func:`~spin_echo.sequences.protocol_files.load_protocol` or
    :func:`parse_protocol`.
    Two protocols are equal when their YAML texts (:meth:`to_yaml`) are equal.

    Attributes
    ----------
    name, description
        As written in the file.
    parameters
        Name -> :class:`Parameter` (text as written or overridden, SI default value, kind).
    sweep_axes
        The sweep axes, outermost first.
    phase_cycle
        The phase-cycle steps (at least one).
    shots
        Averages per phase step (hardware) or noise realisations (virtual).
    repetition_time_s
        Time between shots, seconds.
    full_scale_rabi_hz
        Nominal Rabi frequency at amplitude 1.0, Hz.
    source
        File name used in messages.
    root
        The document as read (with locations), the source of :meth:`to_yaml`.
    overrides
        Parameter texts given with :meth:`with_overrides`.
    elements
        ``(kind, node)`` of every ``sequence`` entry, checked, bound by :meth:`sequence`.
    """

    name: str
    description: str
    parameters: Mapping[str, Parameter]
    sweep_axes: tuple[SweepAxis, ...]
    phase_cycle: tuple[PhaseStep, ...]
    shots: int
    repetition_time_s: float
    full_scale_rabi_hz: float
    source: str
    root: MapNode
    overrides: Mapping[str, str]
    elements: tuple[tuple[str, Node], ...]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Protocol):
            return NotImplemented
        return self.to_yaml() == other.to_yaml()

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle as the document and overrides (for process pools); rebuilt on load."""
        return (_restore, (self.root, dict(self.overrides)))

    @property
    def carrier_hz(self) -> float:
        """Default carrier (parameter ``carrier``), Hz."""
        return self.parameters["carrier"].value

    @property
    def sweep_shape(self) -> tuple[int, ...]:
        """Number of points on each sweep axis (``()`` without sweep)."""
        return tuple(len(axis.values) for axis in self.sweep_axes)

    def iter_points(self) -> Iterator[tuple[tuple[int, ...], dict[str, float]]]:
        """Yield ``(index, {axis name: SI value})`` for every sweep point, in C order."""
        for index in np.ndindex(*self.sweep_shape):
            yield (
                index,
                {
                    ax.name: float(ax.values[i])
                    for ax, i in zip(self.sweep_axes, index, strict=True)
                },
            )

    def _environment(self, point: Mapping[str, float]) -> dict[str, Quantity]:
        env: dict[str, Quantity] = {}
        for name, parameter in self.parameters.items():
            if name in point:
                env[name] = Quantity(float(point[name]), parameter.dim)
                continue
            node = self.root["parameters"].as_map()[name]
            try:
                env[name] = evaluate(parameter.text, env)
            except InputError as err:
                if name in self.overrides:
                    raise ProtocolError(
                        err.message, file="--set", key=name, value=parameter.text
                    ) from None
                raise node.error(err.message) from None
        return env

    def sequence(self, point: Mapping[str, float] | None = None, phase_step: int = 0) -> Sequence:
        """Bind the parameters and return the concrete :class:`~sequences.model.Sequence`.

        Parameters
        ----------
        point
            Parameter values in SI (as yielded by :meth:`iter_points`); the others keep their
            defaults (or overrides).
        phase_step
            Index into :attr:`phase_cycle`; its phases are added to the pulses.

        Raises
        ------
        ProtocolError
            For an unknown parameter in ``point``, a bad ``phase_step``, or values that make an
            element invalid (located at the element).
        """
        point = dict(point or {})
        for name, value in point.items():
            if name not in self.parameters:
                raise ProtocolError(
                    f"unknown parameter; known parameters are {', '.join(self.parameters)}",
                    file=self.source,
                    key=name,
                    value=value,
                )
        if not 0 <= phase_step < len(self.phase_cycle):
            raise ProtocolError(
                f"phase step must be in 0..{len(self.phase_cycle) - 1}",
                file=self.source,
                key="phase_cycle",
                value=phase_step,
            )
        env = self._environment(point)
        carrier = env["carrier"].value
        if not (env["carrier"].dim == (-1, 0, 0, 0, 0) and carrier > 0):
            raise self.root["parameters"].as_map()["carrier"].error("must be a positive frequency")
        phases = iter(self.phase_cycle[phase_step].pulse_phases_rad)
        elements = []
        for kind, body in self.elements:
            element = bind_element(kind, body, env, self.full_scale_rabi_hz)
            if isinstance(element, Pulse):
                element = Pulse(
                    duration_s=element.duration_s,
                    amplitude=element.amplitude,
                    phase_rad=element.phase_rad + next(phases),
                    shape=element.shape,
                    frequency_hz=element.frequency_hz,
                    angle_rad=element.angle_rad,
                )
            elements.append(element)
        return Sequence(
            elements=tuple(elements),
            carrier_hz=carrier,
            full_scale_rabi_hz=self.full_scale_rabi_hz,
        )

    def check(self) -> None:
        """Bind and lay out the defaults and every sweep point; raise a located ProtocolError.

        Also counts the timeline segments of every shaped pulse, so that a pulse the timeline
        compiler would refuse (:data:`~sequences.compile.MAX_SUBSEGMENTS`) is refused here,
        at its line.
        """
        kinds = {axis.name: axis.kind for axis in self.sweep_axes}
        swept = [point for _, point in self.iter_points()] if self.sweep_axes else []
        counted: set[tuple[Any, ...]] = set()
        for point in [{}, *swept]:
            where = ", ".join(
                f"{k} = {format_quantity(v, kinds[k], digits=6)}" for k, v in point.items()
            )
            suffix = f" (at sweep point {where})" if where else " (at the defaults)"
            try:
                seq = self.sequence(point)
                placed = layout(seq)
                for drive in placed.pulses:
                    if (drive.pulse, seq.carrier_hz) not in counted:
                        drive.subsegments(seq.carrier_hz)
                        counted.add((drive.pulse, seq.carrier_hz))
            except InputError as err:
                raise self.located(err, suffix) from None
            if placed.total_s > self.repetition_time_s:
                lasts = f"the sequence lasts {placed.total_s:.6g} s, longer than the repetition"
                if "repetition_time" in self.root:
                    raise self.root["repetition_time"].error(
                        f"{lasts} time {self.repetition_time_s:.6g} s{suffix}"
                    )
                raise self._at_key(
                    "sequence",
                    f"{lasts} time, which is {self.repetition_time_s:.6g} s when repetition_time "
                    f"is not given: set repetition_time to at least that{suffix}",
                )

    def located(self, err: InputError, suffix: str = "") -> InputError:
        """Return ``err`` located in this protocol's file, its message followed by ``suffix``.

        An error without a file (a :class:`CompileError` keyed ``sequence[i].pulse...``) is
        put at that element, or at the key inside it it names (``sequence[i].pulse.duration``);
        one with a file keeps its location.
        """
        element = re.match(r"sequence\[(\d+)\]", err.key or "")
        if err.file is not None or element is None:
            return _relocated(err, err.message + suffix)
        node = self.root["sequence"].as_list().items[int(element.group(1))]
        parts = (err.key or "")[element.end() :].split(".")[1:]
        for part in parts if len(parts) > 1 else ():
            if not (isinstance(node, MapNode) and part in node):
                break
            node = node[part]
        return node.error(err.message + suffix)

    def require_detect(self) -> None:
        """Raise a ProtocolError at ``sequence`` unless it has a ``detect`` (a record needs one).

        ``show`` shows a protocol without one; ``simulate``, ``run`` and ``design`` call this.
        """
        if not any(kind == "detect" for kind, _ in self.elements):
            raise self._at_key(
                "sequence",
                f"protocol {self.name!r} has no detect step: nothing to record; "
                "add a detect element such as '- detect: {duration: 4 us, points: 256}'",
            )

    def _at_key(self, key: str, message: str) -> ProtocolError:
        """Return a ProtocolError at the line of the top-level ``key``."""
        line = self.root.key_lines.get(key, self.root.line)
        return ProtocolError(message, file=self.source, line=line, key=key)

    def with_overrides(self, overrides: Mapping[str, str]) -> Protocol:
        """Return a copy with parameter defaults replaced, e.g. ``{"tau": "2 us"}``.

        Raises
        ------
        ProtocolError
            With ``file="--set"`` and the parameter as key, for an unknown parameter (the
            message lists the known ones), a value that does not parse or has another dimension
            than the default, or a value that makes the protocol invalid.
        """
        merged = {**self.overrides, **{str(k): str(v) for k, v in overrides.items()}}
        try:
            return parse_protocol(self.root, overrides=merged)
        except InputError as err:
            if err.file == "--set":
                raise
            if len(overrides) == 1:
                ((key, value),) = overrides.items()
                raise ProtocolError(
                    f"makes the protocol invalid: {err}", file="--set", key=key, value=str(value)
                ) from None
            names = ", ".join(f"{k}={v}" for k, v in overrides.items())
            raise ProtocolError(
                f"makes the protocol invalid: {err}", file="--set", value=names
            ) from None

    def with_values(self, **values: str) -> Protocol:
        """Return :meth:`with_overrides` of the keywords, e.g. ``with_values(tau="3 us")``."""
        return self.with_overrides(values)

    def to_yaml(self) -> str:
        """Return the protocol as YAML text (overrides applied, original strings kept)."""
        document = self.root.plain()
        document["parameters"] = {
            name: parameter.text if name in self.overrides else document["parameters"][name]
            for name, parameter in self.parameters.items()
        }
        if FULL_SCALE_KEY in self.overrides and FULL_SCALE_KEY not in self.parameters:
            document[FULL_SCALE_KEY] = self.overrides[FULL_SCALE_KEY]
        if "sweep" in document:
            kept = {k: v for k, v in document["sweep"].items() if k not in self.overrides}
            if kept:
                document["sweep"] = kept
            else:
                del document["sweep"]
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<string>") -> Protocol:
        """Parse protocol YAML ``text``; ``source`` names it in messages."""
        return parse_protocol(load_yaml(source, text=text, error_class=ProtocolError))


def _restore(root: MapNode, overrides: dict[str, str]) -> Protocol:
    """Rebuild a pickled :class:`Protocol`."""
    return parse_protocol(root, overrides=overrides)


def parse_protocol(root: MapNode, *, overrides: Mapping[str, str] | None = None) -> Protocol:
    """Build and check a :class:`Protocol` from a loaded YAML document.

    Parameters
    ----------
    root
        The document (loaded with ``error_class=ProtocolError``).
    overrides
        Parameter texts replacing the defaults (from ``--set``).

    Raises
    ------
    ProtocolError
        Located at the offending key (or ``--set`` for overrides).
    """
    overrides = dict(overrides or {})
    root.check_keys(_TOP_KEYS, required=("name", "parameters", "sequence"))
    name = root["name"].as_str()
    description = root["description"].as_str() if "description" in root else ""
    scale_override = None
    if FULL_SCALE_KEY in overrides and FULL_SCALE_KEY not in root["parameters"].as_map():
        scale_override = overrides[FULL_SCALE_KEY]
    parameters = parse_parameters(
        root["parameters"],
        {k: v for k, v in overrides.items() if k != FULL_SCALE_KEY}
        if scale_override is not None
        else overrides,
    )
    elements = tuple(check_element(node) for node in root["sequence"].as_list())
    if not elements:
        raise root["sequence"].error("must list at least one pulse, delay or detect")
    n_pulses = sum(kind == "pulse" for kind, _ in elements)
    full_scale = _full_scale(root, scale_override)
    shots = root["shots"].integer(minimum=1, maximum=10**9) if "shots" in root else 1
    repetition = (
        root["repetition_time"].quantity("time", positive=True)
        if "repetition_time" in root
        else 1e-3
    )
    sweep = parse_sweep(root.get("sweep"), parameters)
    sweep = tuple(axis for axis in sweep if axis.name not in overrides)
    total = math.prod(len(axis.values) for axis in sweep)
    if total > MAX_SWEEP_POINTS:
        raise root["sweep"].error(f"has {total} points; at most {MAX_SWEEP_POINTS} are allowed")
    _check_record_size(root, elements, total)
    protocol = Protocol(
        name=name,
        description=description,
        parameters=MappingProxyType(parameters),
        sweep_axes=sweep,
        phase_cycle=parse_phase_cycle(root.get("phase_cycle"), n_pulses),
        shots=shots,
        repetition_time_s=repetition,
        full_scale_rabi_hz=full_scale,
        source=root.file,
        root=root,
        overrides=MappingProxyType(overrides),
        elements=elements,
    )
    protocol.check()
    return protocol


def _full_scale(root: MapNode, override: str | None) -> float:
    """Return the full-scale Rabi frequency: the ``--set`` override, the file's or 1 MHz."""
    if override is not None:
        try:
            value = parse_quantity(override, "frequency")
        except InputError as err:
            raise ProtocolError(
                err.message, file="--set", key=FULL_SCALE_KEY, value=override
            ) from None
        if not value > 0:
            raise ProtocolError(
                "must be a positive frequency", file="--set", key=FULL_SCALE_KEY, value=override
            )
        return value
    if FULL_SCALE_KEY in root:
        return root[FULL_SCALE_KEY].quantity("frequency", positive=True)
    return 1e6


def _check_record_size(
    root: MapNode, elements: tuple[tuple[str, Node], ...], sweep_points: int
) -> None:
    """Refuse a protocol whose record would exceed :data:`MAX_RECORD_VALUES` detection points.

    Counts the points of every ``detect`` written as a literal whole number (an expression is
    counted when the sequence is bound, by :class:`~sequences.model.Detect`'s own limit).
    """
    per_point = 0
    for kind, body in elements:
        if kind == "detect":
            written = body.as_map()["points"].plain()
            if isinstance(written, int) and not isinstance(written, bool):
                per_point += max(written, 0)
    if per_point * sweep_points > MAX_RECORD_VALUES:
        raise (root["sweep"] if "sweep" in root else root["sequence"]).error(
            f"{sweep_points} sweep points x {per_point} detection points = "
            f"{per_point * sweep_points} values; a record holds at most {MAX_RECORD_VALUES} "
            "(about 40 bytes each in memory): fewer sweep points or detection points"
        )
