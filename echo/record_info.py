"""What a record says about itself, as one typed description parsed and validated once.

A record (SPEC.md, "Record") carries its metadata as netCDF attributes and coordinates.
:func:`describe_record` reads all of it once into a frozen :class:`RecordInfo`, checking every
value against what the readers need; :func:`record_info` hands the same description to every
reader of a dataset (plots, analyses, compare, fit, info, watch), so that no reader re-parses
attributes.

Checks (each failure is a :class:`RecordError` naming the file and the variable or attribute):

- the header -- layout, attributes, ``point_complete`` against ``complete`` -- by
  :func:`spin_echo.echo.record_header.read_header`, the check ``spin-echo records`` makes too;
- the values: ``time`` finite and strictly increasing; sweep coordinates finite; ``window``
  numbers the detection windows 0, 1, 2, ... in order; a sweep point ``point_complete`` marks
  written holds values (not NaN over its whole trace); ``signal_sem_re``/``_im`` are >= 0
  (NaN: not written); a ``simulate`` record's ``mz`` lies in [-1, 1];
- in a file, a stored protocol that parses must agree with the data: its sweep axes (names,
  order, values), the points of its detection windows (the length of ``time``) and their
  number. A protocol text that does not parse as a full protocol (an outline) is kept as text:
  plots and compare use its name and structure, fit refuses it.

:func:`check_record_file` checks a file's header with netCDF4 before any data are read,
which bounds what reading it may allocate (:data:`MAX_RECORD_BYTES`).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import netCDF4
import numpy as np

from spin_echo.echo.record_header import (
    FRAMES,
    MAX_RECORD_BYTES,
    RecordError,
    RecordHeader,
    VariableHeader,
    netcdf_header,
    plain_attribute,
    read_header,
)
from spin_echo.sequences import Protocol
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.protocol import parse_protocol
from spin_echo.sequences.yamlio import load_yaml

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

_RTOL = 1e-9
#: How far a simulated ``mz`` may pass +-1 (rounding of a sum over packets).
_MZ_SLACK = 1e-6


@dataclass(frozen=True)
class SweepAxis:
    """One sweep axis of a record: the swept parameter, its SI values and unit (or ``""``)."""

    name: str
    values: tuple[float, ...]
    units: str


@dataclass(frozen=True)
class RecordInfo(RecordHeader):
    """The description of a record: its checked header and its sweep values.

    Attributes
    ----------
    sweep
        The sweep axes, in the order of the data dimensions, with their values.

    Every attribute of :class:`~spin_echo.echo.record_header.RecordHeader` too: ``file``,
    ``protocol_text``, ``protocol_name``, ``structure``, ``pulse_angles``, ``source``,
    ``units``, ``complete``, ``points_done``, ``points_total``, ``time_points``, ``sample_text``,
    ``bench_text``, ``frame``, ``seed``, ``shots``, ``receiver_bandwidth_hz``, ``created``...
    """

    sweep: tuple[SweepAxis, ...] = ()

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


def _finite_axis(dataset: xr.Dataset, name: str, file: str) -> np.ndarray:
    """Return the values of coordinate ``name`` (its layout checked by the header), finite."""
    values = np.asarray(dataset.variables[name].values, dtype=float)
    if not np.all(np.isfinite(values)):
        raise RecordError("must hold finite numbers only", file=file, key=name)
    return values


def _check_values(dataset: xr.Dataset, header: RecordHeader) -> None:
    """Check the values the header does not: time, window, standard errors, mz."""
    file = header.file
    time_s = _finite_axis(dataset, "time", file)
    if time_s.size > 1 and not np.all(np.diff(time_s) > 0):
        raise RecordError("must be strictly increasing", file=file, key="time")
    if "window" in dataset.variables:
        window = np.asarray(dataset.variables["window"].values, dtype=float)
        if not np.all(np.isfinite(window) & (window >= 0) & (window == np.round(window))):
            raise RecordError("must hold whole numbers >= 0", file=file, key="window")
        if window[0] != 0 or not np.all(np.isin(np.diff(window), (0.0, 1.0))):
            bad = window[0] if window[0] != 0 else window[1:][np.diff(window) > 1][0]
            raise RecordError("expected the detection windows numbered 0, 1, 2, ... in order "
                              "(windows laid end to end)", file=file, key="window",
                              value=plain_attribute(bad))  # fmt: skip
    if "point_complete" in dataset.variables and header.sweep_dims:
        written = np.asarray(dataset["point_complete"].values) == 1
        for name in ("signal_re", "signal_im"):
            empty = written & ~np.isfinite(np.asarray(dataset[name].values)).any(axis=-1)
            if empty.any():
                first = zip(header.sweep_dims, np.argwhere(empty)[0], strict=True)
                point = ", ".join(f"{d} = {dataset[d].values[i]:.6g}" for d, i in first)
                raise RecordError(f"holds no value at {int(empty.sum())} sweep point(s) that "
                                  f"point_complete says were written (the first: {point})",
                                  file=file, key=name)  # fmt: skip
    for name in ("signal_sem_re", "signal_sem_im"):
        if name in dataset.variables:
            sem = np.asarray(dataset[name].values, dtype=float)
            bad = np.isinf(sem) | (sem < 0)
            if bad.any():
                raise RecordError(f"expected a standard error >= 0 and finite (NaN: not written); "
                                  f"{int(bad.sum())} values are not", file=file, key=name,
                                  value=plain_attribute(sem[bad][0]))  # fmt: skip
    if "mz" in dataset.variables and not header.measured:
        mz = np.asarray(dataset["mz"].values, dtype=float)
        bad = np.abs(mz) > 1.0 + _MZ_SLACK  # NaN (not written) compares False
        if bad.any():
            raise RecordError(f"expected the normalised magnetisation, in [-1, 1]; "
                              f"{int(bad.sum())} values are outside", file=file, key="mz",
                              value=plain_attribute(mz[bad][0]))  # fmt: skip


def _check_protocol_agrees(info: RecordInfo, windows: int | None) -> None:
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
    detects = [e for e in sequence.elements if type(e).__name__ == "Detect"]
    points = sum(e.points for e in detects)
    if points != info.time_points:
        raise RecordError(
            f"has {info.time_points} points; the stored protocol detects {points}",
            file=info.file,
            key="time",
        )
    if windows is not None and windows != len(detects):
        raise RecordError(f"numbers {windows} detection windows; the stored protocol has "
                          f"{len(detects)}", file=info.file, key="window")  # fmt: skip


def describe_record(dataset: xr.Dataset, *, file: str, strict: bool = True) -> RecordInfo:
    """Check a record and return its description (see the module docstring).

    Parameters
    ----------
    dataset
        The record.
    file
        Its name, for messages.
    strict
        Also require ``protocol``, ``source`` and ``complete`` and the units of ``time`` and
        the sweep axes, and check a parsable protocol against the data (files); False
        describes in-memory datasets built by callers.

    Raises
    ------
    RecordError
        Naming the file and the variable or attribute at fault.
    """
    variables = {
        str(name): VariableHeader(
            dims=tuple(str(d) for d in variable.dims),
            shape=tuple(variable.shape),
            kind=variable.dtype.kind,
            itemsize=variable.dtype.itemsize,
            attrs=dict(variable.attrs),
        )
        for name, variable in dataset.variables.items()
    }
    flags = dataset["point_complete"].values if "point_complete" in dataset.variables else None
    header = read_header(variables, dict(dataset.attrs), flags, file=file, strict=strict)
    _check_values(dataset, header)
    sweep = tuple(
        SweepAxis(
            name,
            tuple(float(v) for v in _finite_axis(dataset, name, file)),
            str(plain_attribute(dataset[name].attrs.get("units", ""))),
        )
        for name in header.sweep_dims
    )
    info = RecordInfo(**{f.name: getattr(header, f.name) for f in fields(header)}, sweep=sweep)
    if strict:
        window = dataset.variables.get("window")
        windows = None if window is None else int(np.max(window.values)) + 1
        _check_protocol_agrees(info, windows)
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


def check_record_file(path: Path) -> RecordHeader:
    """Check a record file's header, reading nothing but attributes and ``point_complete``.

    The check of every reader (:func:`spin_echo.echo.record_header.netcdf_header`), made
    before any data are read: it refuses, among the rest, a file that declares more data than
    :data:`MAX_RECORD_BYTES`.

    Raises
    ------
    RecordError
        Naming the file and the variable or attribute at fault, or saying why the file
        cannot be read.
    """
    try:
        with netCDF4.Dataset(path, "r") as ds:
            return netcdf_header(ds, file=str(path))
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError) as err:
        if isinstance(err, InputError):
            raise
        raise RecordError(f"cannot read record: {err}", file=str(path)) from None
