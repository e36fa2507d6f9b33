"""What a record says about itself, as one typed description parsed and validated once.

A record (SPEC.md, "Record") carries its metadata as netCDF attributes and coordinates.
:func:`describe_record` reads all of it once into a frozen :class:`RecordInfo`, checking every
value against what the readers need; :func:`record_info` hands the same description to every
reader of a dataset (plots, analyses, compare, fit), so that no reader re-parses attributes.

Checks (each failure is a :class:`RecordError` naming the file and the variable or attribute):

- ``signal_re``, ``signal_im`` and ``time`` exist; the signals are real numbers with dimensions
  ``(<sweep axes>..., time)``, as are ``mz`` and ``signal_sem_re``/``_im``; ``point_complete``
  lies over the sweep axes; ``window`` holds whole numbers >= 0 along ``time``;
- ``time`` is 1-D, finite, strictly increasing, in seconds; sweep coordinates are 1-D, numeric
  and finite;
- attributes: ``protocol`` is YAML text of a mapping (required in a file, as are ``source`` and
  ``complete``); ``source``, ``units``, ``sample``, ``bench`` are text (``bench`` valid YAML);
  ``complete`` is 0 or 1, ``seed`` a whole number, ``shots`` a positive whole number,
  ``receiver_bandwidth_hz`` positive and finite, ``frame`` ``rotating`` or ``lab``;
- in a file, a stored protocol that parses must agree with the data: its sweep axes (names,
  order, values) and the points of its detection windows (the length of ``time``). A protocol
  text that does not parse as a full protocol (an outline) is kept as text: plots and compare
  use its name and structure, fit refuses it.

:func:`check_record_file` bounds what reading a file may allocate: the dimensions it declares
are checked before any data are read (:data:`MAX_RECORD_BYTES`).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import netCDF4
import numpy as np

from spin_echo.echo.provenance import read_provenance
from spin_echo.echo.signal_kind import read_signal_kind
from spin_echo.sequences import Protocol
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.protocol import parse_protocol
from spin_echo.sequences.quantity import parse_quantity
from spin_echo.sequences.yamlio import MapNode, load_yaml

if TYPE_CHECKING:  # xarray (with pandas, ~0.4 s) is imported only where a record is read
    import xarray as xr

__all__ = [
    "FRAMES",
    "MAX_RECORD_BYTES",
    "RecordError",
    "RecordInfo",
    "SweepAxis",
    "check_record_file",
    "describe_record",
    "record_info",
]

#: Largest amount of data a record may declare (all variables together), bytes.
MAX_RECORD_BYTES = 512 * 1024**2
#: Simulation frames a record may name.
FRAMES = ("rotating", "lab")
#: Variables laid out like ``signal_re``: ``(<sweep axes>..., time)``.
_PER_POINT = ("signal_im", "mz", "signal_sem_re", "signal_sem_im")
_RTOL = 1e-9


class RecordError(InputError):
    """A record file is missing, unreadable, not a spin-echo record, or inconsistent."""


@dataclass(frozen=True)
class SweepAxis:
    """One sweep axis of a record: the swept parameter, its SI values and unit (or ``""``)."""

    name: str
    values: tuple[float, ...]
    units: str


@dataclass(frozen=True)
class RecordInfo:
    """The description of a record (see the module docstring for what is checked).

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
        Whether every sweep point was written.
    sweep
        The sweep axes, in the order of the data dimensions.
    time_points
        Length of the time axis.
    sample_text, bench_text, frame, seed, shots, receiver_bandwidth_hz
        The attributes of those names, checked (None where absent; seed -1: no seed).
    bench_bandwidth_hz
        ``receiver.bandwidth`` of the stored bench, Hz (None if absent).
    """

    file: str
    protocol_text: str | None
    protocol_name: str
    structure: tuple[str, ...]
    pulse_angles: tuple[str, ...]
    source: str
    units: str
    complete: bool
    sweep: tuple[SweepAxis, ...]
    time_points: int
    sample_text: str | None = None
    bench_text: str | None = None
    frame: str | None = None
    seed: int | None = None
    shots: int | None = None
    receiver_bandwidth_hz: float | None = None
    bench_bandwidth_hz: float | None = None

    @property
    def measured(self) -> bool:
        """True for a measurement (any source but ``simulate``)."""
        return self.source != "simulate"

    @property
    def sweep_dims(self) -> tuple[str, ...]:
        """Names of the sweep axes, in data order."""
        return tuple(axis.name for axis in self.sweep)

    @cached_property
    def protocol(self) -> Protocol:
        """The stored protocol, parsed (once).

        Raises
        ------
        RecordError
            If the record has no protocol or it does not parse (located at
            ``<file>:protocol:<line>``).
        """
        if self.protocol_text is None:
            raise RecordError("the record has no protocol", file=self.file, key="protocol")
        root = load_yaml(f"{self.file}:protocol", text=self.protocol_text, error_class=RecordError)
        return parse_protocol(root)

    @cached_property
    def protocol_or_none(self) -> Protocol | None:
        """The stored protocol when it parses as a full protocol, else None."""
        try:
            return self.protocol
        except InputError:
            return None


def _plain(value: Any) -> Any:
    """Return an attribute as a Python scalar (size-1 arrays unwrapped) or a list."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return value.tolist()
        value = value.reshape(-1)[0]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _text_attr(attrs: dict, name: str, file: str, *, required: bool) -> str | None:
    if name not in attrs:
        if required:
            raise RecordError("missing attribute; expected text", file=file, key=name)
        return None
    value = _plain(attrs[name])
    if not isinstance(value, str):
        raise RecordError("must be text", file=file, key=name, value=value)
    return value


def _integer_attr(attrs: dict, name: str, file: str, *, minimum: int | None) -> int | None:
    if name not in attrs:
        return None
    value = _plain(attrs[name])
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    if number is None or (minimum is not None and number < minimum):
        least = "" if minimum is None else f" >= {minimum}"
        raise RecordError(f"must be a whole number{least}", file=file, key=name, value=value)
    return number


def _positive_attr(attrs: dict, name: str, file: str) -> float | None:
    if name not in attrs:
        return None
    value = _plain(attrs[name])
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not (math.isfinite(value) and value > 0):
        raise RecordError("must be a positive finite number", file=file, key=name, value=value)
    return float(value)


def _real_numbers(array: xr.DataArray | xr.Variable, name: str, file: str) -> None:
    kind = array.dtype.kind
    if kind not in "fiu":
        raise RecordError(f"must hold real numbers, holds {array.dtype}", file=file, key=name)


def _axis(dataset: xr.Dataset, name: str, file: str) -> np.ndarray:
    """Return the 1-D, numeric, finite coordinate along dimension ``name``."""
    if name not in dataset.variables:
        raise RecordError("axis has no coordinate values", file=file, key=name)
    variable = dataset.variables[name]
    if variable.dims != (name,):
        raise RecordError(
            f"must be a coordinate along {name!r}, has dimensions {variable.dims}",
            file=file,
            key=name,
        )
    _real_numbers(variable, name, file)
    values = np.asarray(variable.values, dtype=float)
    if not np.all(np.isfinite(values)):
        raise RecordError("must hold finite numbers only", file=file, key=name)
    return values


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


def _protocol_outline(
    text: str | None, file: str
) -> tuple[MapNode | None, str, tuple[str, ...], tuple[str, ...]]:
    """Parse the protocol YAML once: (root, name, step kinds, pulse angles)."""
    if text is None:
        return None, "", (), ()
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
    return root, "" if name is None else str(name.plain()), kinds, angles


def _check_variables(dataset: xr.Dataset, file: str) -> tuple[str, ...]:
    """Check the data variables; return the sweep dimensions."""
    missing = {"signal_re", "signal_im", "time"} - set(dataset.variables)
    if missing:
        raise RecordError(
            f"not a spin-echo record: missing {', '.join(sorted(missing))}", file=file
        )
    signal = dataset["signal_re"]
    if not signal.dims or signal.dims[-1] != "time":
        raise RecordError(
            f"must have dimensions (<sweep axes>..., time), has {signal.dims}",
            file=file,
            key="signal_re",
        )
    _real_numbers(signal, "signal_re", file)
    for name in _PER_POINT:
        if name in dataset.variables:
            if dataset[name].dims != signal.dims:
                raise RecordError(
                    f"must have the dimensions of signal_re {signal.dims}, has "
                    f"{dataset[name].dims}",
                    file=file,
                    key=name,
                )
            _real_numbers(dataset[name], name, file)
    dims = tuple(signal.dims[:-1])
    if "point_complete" in dataset.variables:
        done = dataset["point_complete"]
        if done.dims != dims:
            raise RecordError(
                f"must have the sweep dimensions {dims}, has {done.dims}",
                file=file,
                key="point_complete",
            )
        _real_numbers(done, "point_complete", file)
    return dims


def _check_time(dataset: xr.Dataset, file: str, *, strict: bool) -> int:
    time_s = _axis(dataset, "time", file)
    if time_s.size > 1 and not np.all(np.diff(time_s) > 0):
        raise RecordError("must be strictly increasing", file=file, key="time")
    units = dataset["time"].attrs.get("units")
    if strict and units is not None and _plain(units) != "s":
        raise RecordError("must be in seconds", file=file, key="time", value=_plain(units))
    if "window" in dataset.variables:
        window = dataset.variables["window"]
        if window.dims != ("time",):
            raise RecordError("must lie along time", file=file, key="window")
        _real_numbers(window, "window", file)
        values = np.asarray(window.values, dtype=float)
        if not np.all(np.isfinite(values) & (values >= 0) & (values == np.round(values))):
            raise RecordError("must hold whole numbers >= 0", file=file, key="window")
    return int(time_s.size)


def _bench_bandwidth(text: str | None, file: str) -> float | None:
    if text is None or not text.strip():
        return None
    root = load_yaml(f"{file}:bench", text=text, error_class=RecordError)
    receiver = root.get("receiver")
    if receiver is None or receiver.as_map().get("bandwidth") is None:
        return None
    return receiver.as_map()["bandwidth"].quantity("frequency", positive=True)


def _check_protocol_agrees(info: RecordInfo) -> None:
    """In a file: a stored protocol that parses must describe the data it is stored with."""
    protocol = info.protocol_or_none
    if protocol is None:
        return
    names = tuple(axis.name for axis in protocol.sweep_axes)
    if names != info.sweep_dims:
        key = next(
            (a for a, b in zip(info.sweep_dims, names, strict=False) if a != b),
            (info.sweep_dims or names or ("protocol",))[0],
        )
        raise RecordError(
            f"the stored protocol sweeps {list(names)}, the data {list(info.sweep_dims)}",
            file=info.file,
            key=key,
        )
    for axis, stored in zip(protocol.sweep_axes, info.sweep, strict=True):
        values = np.asarray(axis.values, dtype=float)
        if values.shape != (len(stored.values),) or not np.allclose(
            values, stored.values, rtol=_RTOL, atol=0.0
        ):
            raise RecordError(
                f"holds {len(stored.values)} values that are not the stored protocol's sweep "
                f"({values.size} values from {values.min():.6g} to {values.max():.6g})",
                file=info.file,
                key=axis.name,
            )
    sequence = protocol.sequence(next(iter(protocol.iter_points()))[1] if names else {})
    points = sum(e.points for e in sequence.elements if type(e).__name__ == "Detect")
    if points != info.time_points:
        raise RecordError(
            f"has {info.time_points} points; the stored protocol detects {points}",
            file=info.file,
            key="time",
        )


def describe_record(dataset: xr.Dataset, *, file: str, strict: bool = True) -> RecordInfo:
    """Check a record and return its description (see the module docstring).

    Parameters
    ----------
    dataset
        The record.
    file
        Its name, for messages.
    strict
        Also require ``protocol``, ``source`` and ``complete`` and check a parsable protocol
        against the data (files); False describes in-memory datasets built by callers.

    Raises
    ------
    RecordError
        Naming the file and the variable or attribute at fault.
    """
    dims = _check_variables(dataset, file)
    time_points = _check_time(dataset, file, strict=strict)
    sweep = tuple(
        SweepAxis(
            name,
            tuple(float(v) for v in _axis(dataset, name, file)),
            str(_plain(dataset[name].attrs.get("units", ""))),
        )
        for name in dims
    )
    attrs = dict(dataset.attrs)
    protocol_text = _text_attr(attrs, "protocol", file, required=strict)
    if protocol_text is not None and not protocol_text.strip() and not strict:
        protocol_text = None  # an in-memory dataset with an empty protocol has none
    _, name, structure, angles = _protocol_outline(protocol_text, file)
    complete = _integer_attr(attrs, "complete", file, minimum=0)
    if complete is None and strict:
        raise RecordError("missing attribute; expected 0 or 1", file=file, key="complete")
    if complete is not None and complete > 1:
        raise RecordError("must be 0 or 1", file=file, key="complete", value=complete)
    frame = _text_attr(attrs, "frame", file, required=False)
    if frame is not None and frame not in FRAMES:
        allowed = ", ".join(FRAMES)
        raise RecordError(f"must be one of {allowed}", file=file, key="frame", value=frame)
    bench_text = _text_attr(attrs, "bench", file, required=False)
    read_provenance(attrs, file)  # instruments, versions: checked here, read by echo.provenance
    read_signal_kind(attrs, file)  # demodulated or held_mz: checked here, read by echo.signal_kind
    info = RecordInfo(
        file=file,
        protocol_text=protocol_text,
        protocol_name=name,
        structure=structure,
        pulse_angles=angles,
        source=_text_attr(attrs, "source", file, required=strict) or "",
        units=_text_attr(attrs, "units", file, required=False) or "",
        complete=True if complete is None else bool(complete),
        sweep=sweep,
        time_points=time_points,
        sample_text=_text_attr(attrs, "sample", file, required=False),
        bench_text=bench_text,
        frame=frame,
        seed=_integer_attr(attrs, "seed", file, minimum=None),
        shots=_integer_attr(attrs, "shots", file, minimum=1),
        receiver_bandwidth_hz=_positive_attr(attrs, "receiver_bandwidth_hz", file),
        bench_bandwidth_hz=_bench_bandwidth(bench_text, file),
    )
    if strict:
        _check_protocol_agrees(info)
    return info


#: id(dataset) -> (weak reference to it, its description).
_DESCRIBED: dict[int, tuple[weakref.ref, RecordInfo]] = {}


def remember(dataset: xr.Dataset, info: RecordInfo) -> xr.Dataset:
    """Attach ``info`` to ``dataset`` so that :func:`record_info` returns it; return dataset."""
    key = id(dataset)
    _DESCRIBED[key] = (weakref.ref(dataset, lambda _ref, key=key: _DESCRIBED.pop(key, 0)), info)
    return dataset


def record_info(dataset: xr.Dataset) -> RecordInfo:
    """Return the description of a record: the one made when it was read, else a new one.

    A dataset from :func:`spin_echo.echo.record.read_record` was described (and checked) as
    its file was read; any other dataset is described here, once, without the file-only
    checks (:func:`describe_record` with ``strict=False``).
    """
    entry = _DESCRIBED.get(id(dataset))
    if entry is not None and entry[0]() is dataset:
        return entry[1]
    file = str(dataset.encoding.get("source", "<record>"))
    info = describe_record(
        dataset, file=Path(file).name if file != "<record>" else file, strict=False
    )
    remember(dataset, info)
    return info


def check_record_file(path: Path) -> None:
    """Refuse a file that declares more data than :data:`MAX_RECORD_BYTES` (nothing is read).

    Raises
    ------
    RecordError
        Naming the file and the largest variable and its dimensions.
    """
    try:
        with netCDF4.Dataset(path, "r") as ds:
            sizes = []
            for name, variable in ds.variables.items():
                itemsize = getattr(variable.dtype, "itemsize", 8) or 8
                shape = tuple(len(ds.dimensions[d]) for d in variable.dimensions)
                sizes.append((math.prod(shape) * itemsize, name, variable.dimensions, shape))
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as err:
        raise RecordError(f"cannot read record: {err}", file=str(path)) from None
    total = sum(size for size, *_ in sizes)
    if total > MAX_RECORD_BYTES:
        _, name, dims, shape = max(sizes)
        where = ", ".join(f"{d} = {n}" for d, n in zip(dims, shape, strict=True))
        raise RecordError(
            f"declares {total / 1024**2:.0f} MiB of data ({where}); at most "
            f"{MAX_RECORD_BYTES // 1024**2} MiB are read",
            file=str(path),
            key=name,
        )
