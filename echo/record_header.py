"""The cheap checks of a record: its layout, its attributes and ``point_complete``, no signal.

A record's header is everything but its data: the variables' names, dimensions, types and
attributes, the global attributes, and the small ``point_complete`` variable.
:func:`read_header` checks it and returns a :class:`RecordHeader`. It is the one check shared
by every reader: :func:`spin_echo.echo.record_info.describe_record` (plot, compare, fit,
info, watch, ``spin_echo.read``) and :mod:`spin_echo.echo.catalogue` (``spin-echo records``,
which reads no signal, through :func:`netcdf_header`), so a file is a record, or not, for the
same reason everywhere. Checks (each failure a :class:`RecordError` naming the file and the
variable or attribute):

- ``signal_re``, ``signal_im`` and ``time`` exist; the signals hold real numbers with
  dimensions ``(<sweep axes>..., time)``, as do ``mz`` and ``signal_sem_re``/``_im``; every
  sweep axis and ``time`` has a 1-D numeric coordinate of at least one value; ``window`` lies
  along ``time``; no variable is packed or range-masked (``scale_factor``, ``valid_max``...:
  the writer never sets them, and a reader would silently rescale or hide data); all the
  variables together declare at most :data:`MAX_RECORD_BYTES`;
- ``point_complete`` lies over the sweep axes and holds 0 or 1 only; ``complete = 1`` only
  when every point is 1. A record without ``point_complete`` (made by hand: the writer always
  stores it) counts every sweep point as written and, in a file, must say ``complete = 1``;
- attributes: ``protocol`` (YAML text of a mapping), ``source`` (``simulate`` or
  ``run:<bench>``) and ``complete`` (0 or 1) are required in a file; ``sample`` and ``bench``
  are YAML text of a mapping (or empty), ``units`` text, ``frame`` ``rotating`` or ``lab``,
  ``seed`` a whole number >= -1 (-1: no seed), ``shots`` and ``packets`` whole numbers >= 1,
  ``replicas`` 0 or a whole number >= 2, ``receiver_bandwidth_hz`` positive and finite,
  ``created`` an ISO 8601 time, ``instruments``/``versions`` (:mod:`~.provenance`) and
  ``signal_kind`` (:mod:`~.signal_kind`) well formed;
- in a file: ``time`` is in seconds and each sweep coordinate in one of the SI units the writer
  stores (:data:`SWEEP_UNITS`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import netCDF4
import numpy as np

from spin_echo.echo.provenance import read_provenance
from spin_echo.echo.signal_kind import read_signal_kind
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.quantity import parse_quantity
from spin_echo.sequences.yamlio import MapNode, load_yaml

__all__ = [
    "FRAMES",
    "MAX_RECORD_BYTES",
    "SWEEP_UNITS",
    "RecordError",
    "RecordHeader",
    "VariableHeader",
    "netcdf_header",
    "plain_attribute",
    "read_header",
]

#: Largest amount of data a record may declare (all variables together), bytes.
MAX_RECORD_BYTES = 512 * 1024**2
#: Simulation frames a record may name.
FRAMES = ("rotating", "lab")
#: Units a sweep coordinate may have: those the writer stores (``echo.record.unit_of_kind``).
SWEEP_UNITS = ("s", "Hz", "rad", "K", "T", "T/V", "V", "1")
#: Variables laid out like ``signal_re``: ``(<sweep axes>..., time)``.
_PER_POINT = ("signal_im", "mz", "signal_sem_re", "signal_sem_im")
#: netCDF attributes that make a reader rescale or mask values (the writer sets none).
_PACKING = ("scale_factor", "add_offset", "valid_min", "valid_max", "valid_range", "missing_value")


class RecordError(InputError):
    """A record file is missing, unreadable, not a spin-echo record, or inconsistent."""


@dataclass(frozen=True)
class VariableHeader:
    """One variable of a record without its values (``kind``: numpy's, ``"O"`` for text)."""

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    kind: str
    itemsize: int
    attrs: Mapping[str, Any]


@dataclass(frozen=True)
class RecordHeader:
    """A record's header, checked (see the module docstring).

    Attributes
    ----------
    file
        The name used in messages.
    protocol_text
        The stored protocol YAML (None if the record has none).
    protocol_name
        The protocol's ``name`` (``""`` if unknown).
    structure
        The ordered step kinds of the protocol's sequence (``("pulse", "delay", ...)``).
    pulse_angles
        Per pulse step, its nominal angle as written (``"90 deg"`` for a number, the expression
        text otherwise, ``""`` for a pulse given by amplitude and duration).
    source
        ``"simulate"`` or ``"run:<bench>"`` (``""`` if unknown).
    units
        Units of the signal.
    complete
        Whether every sweep point was written (``complete = 1``).
    sweep_dims
        Names of the sweep axes, in the order of the data dimensions.
    time_points
        Length of the time axis.
    points_done, points_total
        Sweep points written (``point_complete``; every point without it) and in all.
    sample_text, bench_text, frame, seed, shots, receiver_bandwidth_hz, packets, replicas
        The attributes of those names, checked (None where absent; seed -1: no seed).
    sample_name, bench_name
        The ``name`` in the stored sample and bench YAML (None where absent).
    bench_bandwidth_hz
        ``receiver.bandwidth`` of the stored bench, Hz (None if absent).
    created
        When the record was created (ISO 8601), None if it does not say.
    """

    file: str
    protocol_text: str | None
    protocol_name: str
    structure: tuple[str, ...]
    pulse_angles: tuple[str, ...]
    source: str
    units: str
    complete: bool
    sweep_dims: tuple[str, ...] = ()
    time_points: int = 0
    points_done: int = 1
    points_total: int = 1
    sample_text: str | None = None
    sample_name: str | None = None
    bench_text: str | None = None
    bench_name: str | None = None
    bench_bandwidth_hz: float | None = None
    frame: str | None = None
    seed: int | None = None
    shots: int | None = None
    receiver_bandwidth_hz: float | None = None
    packets: int | None = None
    replicas: int | None = None
    created: str | None = None

    @property
    def measured(self) -> bool:
        """True for a measurement (any source but ``simulate``)."""
        return self.source != "simulate"


def plain_attribute(value: Any) -> Any:
    """Return an attribute as a Python scalar (size-1 arrays unwrapped) or a list."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return value.tolist()
        value = value.reshape(-1)[0]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _text(attrs: Mapping[str, Any], name: str, file: str, *, required: bool) -> str | None:
    if name not in attrs:
        if required:
            raise RecordError("missing attribute; expected text", file=file, key=name)
        return None
    value = plain_attribute(attrs[name])
    if not isinstance(value, str):
        raise RecordError("must be text", file=file, key=name, value=value)
    return value


def _whole(attrs: Mapping[str, Any], name: str, file: str, *, minimum: int | None) -> int | None:
    if name not in attrs:
        return None
    value = plain_attribute(attrs[name])
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    if number is None or (minimum is not None and number < minimum):
        least = "" if minimum is None else f" >= {minimum}"
        raise RecordError(f"must be a whole number{least}", file=file, key=name, value=value)
    return number


def _positive(attrs: Mapping[str, Any], name: str, file: str) -> float | None:
    if name not in attrs:
        return None
    value = plain_attribute(attrs[name])
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not (math.isfinite(value) and value > 0):
        raise RecordError("must be a positive finite number", file=file, key=name, value=value)
    return float(value)


def _pulse_angle(step: Any) -> str:
    """Return a pulse step's angle as written: a number as degrees, an expression as its text."""
    body = step.get("pulse") if isinstance(step, dict) else None
    if not isinstance(body, dict) or body.get("angle") is None:
        return ""
    text = body["angle"]
    try:
        return f"{math.degrees(parse_quantity(text, 'angle')):.9g} deg"
    except (InputError, TypeError):
        return str(text)


def _protocol_outline(text: str | None, file: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Parse the protocol YAML once: (name, step kinds, pulse angles)."""
    if text is None:
        return "", (), ()
    if not text.strip():
        raise RecordError("is empty: the record has no protocol", file=file, key="protocol")
    root = load_yaml(f"{file}:protocol", text=text, error_class=RecordError)
    name = root.get("name")
    steps = root.get("sequence")
    plain = steps.plain() if steps is not None else None
    kinds: tuple[str, ...] = ()
    angles: tuple[str, ...] = ()
    if isinstance(plain, list):
        kinds = tuple(next(iter(s)) if isinstance(s, dict) and s else str(s) for s in plain)
        angles = tuple(_pulse_angle(s) for s in plain if isinstance(s, dict) and "pulse" in s)
    return "" if name is None else str(name.plain()), kinds, angles


def _document(text: str | None, key: str, file: str) -> MapNode | None:
    """Parse stored YAML text (``sample``, ``bench``) as a mapping; None when absent or empty."""
    if text is None or not text.strip():
        return None
    return load_yaml(f"{file}:{key}", text=text, error_class=RecordError)


def _name(root: MapNode | None) -> str | None:
    name = None if root is None else root.get("name")
    return None if name is None else str(name.plain())


def _bandwidth(bench: MapNode | None) -> float | None:
    receiver = None if bench is None else bench.get("receiver")
    if receiver is None or receiver.as_map().get("bandwidth") is None:
        return None
    return receiver.as_map()["bandwidth"].quantity("frequency", positive=True)


def _real(variable: VariableHeader, name: str, file: str) -> None:
    if variable.kind not in ("f", "i", "u"):
        raise RecordError(f"must hold real numbers, holds {variable.kind!r} values", file=file,
                          key=name)  # fmt: skip


def _coordinate(variables: Mapping[str, VariableHeader], name: str, file: str) -> VariableHeader:
    """Check the 1-D numeric coordinate along dimension ``name`` (at least one value)."""
    if name not in variables:
        raise RecordError("axis has no coordinate values", file=file, key=name)
    variable = variables[name]
    if variable.dims != (name,):
        raise RecordError(f"must be a coordinate along {name!r}, has dimensions "
                          f"{variable.dims}", file=file, key=name)  # fmt: skip
    _real(variable, name, file)
    if variable.shape[0] < 1:
        raise RecordError("has no values: expected at least one", file=file, key=name)
    return variable


def _units(variable: VariableHeader, name: str, file: str, allowed: tuple[str, ...]) -> None:
    if "units" not in variable.attrs:
        raise RecordError(f"missing attribute units; expected {' or '.join(map(repr, allowed))}",
                          file=file, key=name)  # fmt: skip
    units = plain_attribute(variable.attrs["units"])
    if units not in allowed:
        expected = f"one of {', '.join(allowed)}" if len(allowed) > 1 else repr(allowed[0])
        raise RecordError(f"expected units {expected} (SI, as the writer stores them)",
                          file=file, key=f"{name}.units", value=units)  # fmt: skip


def _check_layout(
    variables: Mapping[str, VariableHeader], file: str, *, strict: bool
) -> tuple[tuple[str, ...], tuple[int, ...], int]:
    """Check names, dimensions, types and size; return (sweep dims, their sizes, time points)."""
    missing = {"signal_re", "signal_im", "time"} - set(variables)
    if missing:
        raise RecordError(f"not a spin-echo record: missing {', '.join(sorted(missing))}",
                          file=file)  # fmt: skip
    sizes = [(math.prod(v.shape) * max(v.itemsize, 1), n, v) for n, v in variables.items()]
    total = sum(size for size, _, _ in sizes)
    if total > MAX_RECORD_BYTES:
        _, name, largest = max(sizes, key=lambda entry: entry[0])
        where = ", ".join(f"{d} = {n}" for d, n in zip(largest.dims, largest.shape, strict=True))
        limit = f"at most {MAX_RECORD_BYTES // 1024**2} MiB are read"
        raise RecordError(f"declares {total / 1024**2:.0f} MiB of data ({where}); {limit}",
                          file=file, key=name)  # fmt: skip
    signal = variables["signal_re"]
    if not signal.dims or signal.dims[-1] != "time":
        raise RecordError(f"must have dimensions (<sweep axes>..., time), has {signal.dims}",
                          file=file, key="signal_re")  # fmt: skip
    _real(signal, "signal_re", file)
    for name in (n for n in _PER_POINT if n in variables):
        if variables[name].dims != signal.dims:
            raise RecordError(f"must have the dimensions of signal_re {signal.dims}, has "
                              f"{variables[name].dims}", file=file, key=name)  # fmt: skip
        _real(variables[name], name, file)
    dims = tuple(signal.dims[:-1])
    time = _coordinate(variables, "time", file)
    if strict:
        _units(time, "time", file, ("s",))
    for name in dims:
        axis = _coordinate(variables, name, file)
        if strict:
            _units(axis, name, file, SWEEP_UNITS)
    if "window" in variables:
        if variables["window"].dims != ("time",):
            raise RecordError("must lie along time", file=file, key="window")
        _real(variables["window"], "window", file)
    if "point_complete" in variables:
        done = variables["point_complete"]
        if done.dims != dims:
            raise RecordError(f"must have the sweep dimensions {dims}, has {done.dims}",
                              file=file, key="point_complete")  # fmt: skip
        _real(done, "point_complete", file)
    for name in ("signal_re", *_PER_POINT, "time", "window", "point_complete", *dims):
        packed = [a for a in _PACKING if name in variables and a in variables[name].attrs]
        if packed:
            raise RecordError(f"has the attribute {packed[0]}, which makes readers rescale or "
                              "hide values; a record stores plain values", file=file,
                              key=name)  # fmt: skip
    return dims, tuple(variables[d].shape[0] for d in dims), time.shape[0]


def _check_points(flags: Any, complete: bool | None, total: int, file: str, strict: bool) -> int:
    """Check ``point_complete`` against ``complete``; return the number of written points."""
    if flags is None:
        if complete is False and strict:
            raise RecordError("missing: a record with complete = 0 must say which sweep points "
                              "were written (1) or not (0)", file=file,
                              key="point_complete")  # fmt: skip
        return total
    values = np.asarray(np.ma.filled(np.ma.asarray(flags, dtype=float), np.nan))
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        first = plain_attribute(np.asarray(np.ma.getdata(flags))[bad].reshape(-1)[0])
        raise RecordError(f"expected 0 or 1 (1: the sweep point was written); "
                          f"{int(bad.sum())} of {values.size} values are not", file=file,
                          key="point_complete", value=first)  # fmt: skip
    done = int(np.count_nonzero(values == 1.0))
    if complete and done < values.size:
        raise RecordError(f"expected 0: point_complete says {done} of {values.size} sweep "
                          "points were written", file=file, key="complete", value=1)  # fmt: skip
    return done


def _check_source(source: str | None, file: str) -> None:
    if source is None or source == "simulate":
        return
    if not source.startswith("run:") or not source[4:].strip():
        raise RecordError("expected 'simulate' or 'run:<bench name>'", file=file, key="source",
                          value=source)  # fmt: skip


def _created(attrs: Mapping[str, Any], file: str) -> str | None:
    text = _text(attrs, "created", file, required=False)
    if text is None:
        return None
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        raise RecordError("expected an ISO 8601 time such as '2026-12-06T09:32:48+00:00'",
                          file=file, key="created", value=text) from None  # fmt: skip
    return text


def read_header(
    variables: Mapping[str, VariableHeader],
    attrs: Mapping[str, Any],
    flags: Any,
    *,
    file: str,
    strict: bool = True,
) -> RecordHeader:
    """Check a record's header and return it (see the module docstring for what is checked).

    Parameters
    ----------
    variables
        Every variable of the record, by name (coordinates included), without values.
    attrs
        The record's global attributes.
    flags
        The values of ``point_complete`` (None when the record has none).
    file
        The record's name, for messages.
    strict
        A file: also require ``protocol``, ``source``, ``complete`` and the units of ``time``
        and the sweep axes. False describes in-memory datasets built by callers.

    Raises
    ------
    RecordError
        Naming the file and the variable or attribute at fault (``ProvenanceError`` and
        ``SignalKindError``, also :class:`~spin_echo.sequences.errors.InputError`, for
        ``instruments``, ``versions`` and ``signal_kind``).
    """
    dims, sweep_sizes, time_points = _check_layout(variables, file, strict=strict)
    protocol_text = _text(attrs, "protocol", file, required=strict)
    if protocol_text is not None and not protocol_text.strip() and not strict:
        protocol_text = None  # an in-memory dataset with an empty protocol has none
    name, structure, angles = _protocol_outline(protocol_text, file)
    source = _text(attrs, "source", file, required=strict)
    if strict:
        _check_source(source, file)
    complete = _whole(attrs, "complete", file, minimum=0)
    if complete is None and strict:
        raise RecordError("missing attribute; expected 0 or 1", file=file, key="complete")
    if complete is not None and complete > 1:
        raise RecordError("must be 0 or 1", file=file, key="complete", value=complete)
    total = math.prod(sweep_sizes)
    done = _check_points(flags, None if complete is None else bool(complete), total, file, strict)
    frame = _text(attrs, "frame", file, required=False)
    if frame is not None and frame not in FRAMES:
        raise RecordError(f"must be one of {', '.join(FRAMES)}", file=file, key="frame",
                          value=frame)  # fmt: skip
    sample_text = _text(attrs, "sample", file, required=False)
    sample = _document(sample_text, "sample", file)
    bench_text = _text(attrs, "bench", file, required=False)
    bench = _document(bench_text, "bench", file)
    replicas = _whole(attrs, "replicas", file, minimum=0)
    if replicas == 1:
        raise RecordError("must be 0 (no Monte-Carlo error) or a whole number >= 2", file=file,
                          key="replicas", value=replicas)  # fmt: skip
    seed = _whole(attrs, "seed", file, minimum=-1)
    _text(attrs, "spin_echo_version", file, required=False)
    read_provenance(attrs, file)  # instruments, versions: checked here, read by echo.provenance
    read_signal_kind(attrs, file)  # demodulated or held_mz: checked here, read by echo.signal_kind
    return RecordHeader(
        file=file,
        protocol_text=protocol_text,
        protocol_name=name,
        structure=structure,
        pulse_angles=angles,
        source=source or "",
        units=_text(attrs, "units", file, required=False) or "",
        complete=True if complete is None else bool(complete),
        sweep_dims=dims,
        time_points=time_points,
        points_done=done,
        points_total=total,
        sample_text=sample_text,
        sample_name=_name(sample),
        bench_text=bench_text,
        bench_name=_name(bench),
        bench_bandwidth_hz=_bandwidth(bench),
        frame=frame,
        seed=seed,
        shots=_whole(attrs, "shots", file, minimum=1),
        receiver_bandwidth_hz=_positive(attrs, "receiver_bandwidth_hz", file),
        packets=_whole(attrs, "packets", file, minimum=1),
        replicas=replicas,
        created=_created(attrs, file),
    )


def netcdf_header(ds: netCDF4.Dataset, *, file: str) -> RecordHeader:
    """Check the header of an open netCDF file; read nothing but attributes and point_complete.

    ``point_complete`` is read (raw, unmasked) only once its dimensions are known to be the
    sweep axes', and the size the variables declare has been checked.

    Raises
    ------
    RecordError
        As :func:`read_header`. Errors of the netCDF library reading ``point_complete``
        (``OSError``, ``RuntimeError``) are not caught.
    """
    variables = {}
    for name, variable in ds.variables.items():
        dtype = variable.dtype
        variables[name] = VariableHeader(
            dims=tuple(variable.dimensions),
            shape=tuple(len(ds.dimensions[d]) for d in variable.dimensions),
            kind=getattr(dtype, "kind", "O"),
            itemsize=getattr(dtype, "itemsize", 8) or 8,
            attrs={key: variable.getncattr(key) for key in variable.ncattrs()},
        )
    attrs = {name: ds.getncattr(name) for name in ds.ncattrs()}
    _check_layout(variables, file, strict=True)  # before reading point_complete
    flags = None
    if "point_complete" in ds.variables:
        flags_variable = ds.variables["point_complete"]
        flags_variable.set_auto_maskandscale(False)
        flags = np.asarray(flags_variable[...])
    return read_header(variables, attrs, flags, file=file, strict=True)
