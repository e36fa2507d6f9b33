"""NetCDF-4 records of runs, written point by point so that nothing recorded is ever lost.

Layout (SPEC.md, "Record"): data variables ``signal_re`` and ``signal_im`` with dimensions
``(<one per sweep axis, named after the parameter>..., time)``, optionally ``mz``; a coordinate
``time`` in seconds from the start of the detection window (with several windows, as in CPMG,
the windows are laid end to end: see :func:`record_time_axis`) and a coordinate ``window``
along ``time`` (index of the window of each point); one coordinate per sweep axis in SI units;
a variable ``point_complete`` (1 where a sweep point has been written); optionally
``signal_sem_re`` and ``signal_sem_im`` (dims as ``signal_re``): the standard error of the mean
of each quadrature of the signal, from the shot-to-shot scatter of a measurement or the
packet replicas of a simulation (:mod:`simulator.simulation`);
attributes ``protocol``, ``sample`` or ``bench``, ``source``, ``units``, ``spin_echo_version``,
``created``, ``seed`` and ``complete``.

:class:`RecordWriter` creates the file with every point unwritten (NaN), then writes and
flushes one sweep point at a time; ``complete`` is set to 1 only when every point is written
and the writer closes normally. After a crash or Ctrl-C the file is valid, holds every finished
point, and has ``complete = 0``. The record is readable at every moment while it is written:
the writer works in a hidden file and publishes snapshots of it under the record's name
(:mod:`spin_echo.echo.record_file`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import netCDF4
import numpy as np

from spin_echo.echo import __version__
from spin_echo.echo.output import OutputFile, reserve_space, write_error
from spin_echo.echo.record_file import LiveFile, check_free_space, hidden_file, remove_leftovers
from spin_echo.echo.record_info import RecordError, check_record_file, describe_record, remember
from spin_echo.echo.record_resume import check_resume, open_to_resume
from spin_echo.sequences.protocol import RECORD_NAMES
from spin_echo.sequences.timeline import DetectWindow

if TYPE_CHECKING:  # xarray (with pandas, ~0.4 s) is imported only where a record is read
    import xarray as xr

__all__ = [
    "RecordError",
    "RecordWriter",
    "check_detection_grid",
    "complex_signal",
    "read_record",
    "record_time_axis",
    "unit_of_kind",
]

_LOG = logging.getLogger(__name__)

_UNITS = {
    "time": "s",
    "frequency": "Hz",
    "energy": "Hz",
    "angle": "rad",
    "temperature": "K",
    "field": "T",
    "field_per_volt": "T/V",
    "voltage": "V",
    "dimensionless": "1",
}


def unit_of_kind(kind: str) -> str:
    """Return the SI unit string stored for a quantity kind (``"time"`` -> ``"s"``)."""
    return _UNITS.get(kind, "1")


def record_time_axis(windows: Sequence[DetectWindow]) -> tuple[np.ndarray, np.ndarray]:
    r"""Return the record's ``time`` axis and ``window`` index for a list of detection windows.

    Point j of window w is at :math:`D_0 + \dots + D_{w-1} + j D_w / n_w` (``D`` the windows'
    durations, ``n`` their points): the windows laid end to end, each on its own sample grid
    relative to its start. The times are computed in exact rational arithmetic from the
    durations and point counts alone and rounded once, so the axis does not depend on where the
    windows sit in the sequence: it is the same, bit for bit, at every sweep point whose
    windows have the same durations and points (:func:`check_detection_grid`), even when they
    move (a Hahn echo's window follows tau, CPMG's echoes sit at multiples of tau).

    Returns
    -------
    time_s, window
        Times in seconds, and the index of the window each time belongs to.
    """
    times: list[float] = []
    offset = Fraction(0)
    for w in windows:
        step = Fraction(w.duration_s) / w.points
        times += [float(offset + j * step) for j in range(w.points)]
        offset += Fraction(w.duration_s)
    window = np.concatenate([np.full(w.points, k) for k, w in enumerate(windows)])
    return np.array(times, dtype=float), window


def check_detection_grid(
    windows: Sequence[DetectWindow], reference: Sequence[DetectWindow], *, point: object
) -> None:
    """Refuse detection windows whose record grid differs from the reference (first) point's.

    The rule shared by ``simulate`` and ``run``: a record holds one time axis
    (:func:`record_time_axis`), fixed by each window's duration and number of points; those
    are compared exactly (no tolerance: they are the protocol's own numbers, not sums of
    rounded times).

    Raises
    ------
    RecordError
        If the number of windows, a duration or a point count differs.
    """
    grid = [(float(w.duration_s), int(w.points)) for w in windows]
    first = [(float(w.duration_s), int(w.points)) for w in reference]
    if grid != first:
        raise RecordError(
            f"sweep point {point}: detection windows (duration, points) {grid} differ from the "
            f"first point's {first}; a record needs the same detection grid at every sweep point",
            key="detect",
        )


class RecordWriter:
    """Write a record incrementally; use as a context manager.

    Parameters
    ----------
    path
        Output file (``.nc``). An existing file is refused (:class:`~.output.OutputPathError`)
        unless ``overwrite``; a second writer of the same path is refused
        (:class:`~.output.OutputBusyError`). See "Writing" below.
    axes
        Sweep axes as ``(name, values_si, kind)`` in the order of the data dimensions.
    time_s
        The record's time axis, seconds (see :func:`record_time_axis`).
    attrs
        Global attributes: ``protocol`` (YAML text), ``sample`` or ``bench`` (YAML text),
        ``source``, ``units``, ``seed``. ``spin_echo_version``, ``created`` and ``complete`` are
        added here.
    with_mz
        Also store the normalised magnetisation ``mz`` (simulations).
    window
        Index of the detection window of each time (default: all 0).
    with_sem
        Also store ``signal_sem_re`` and ``signal_sem_im``, the standard error of the mean of
        each quadrature of the signal (measurements that average several shots).
    overwrite
        Replace an existing ``path``, once the new record is complete.
    resume
        Continue the interrupted record at ``path`` in place
        (:mod:`~spin_echo.echo.record_resume`): it must hold the same run (``attrs``, axes,
        time, variables); its finished points are kept (:attr:`written`) and snapshots of the
        continued record replace it.

    Notes
    -----
    Writing (:mod:`spin_echo.echo.output`, :mod:`spin_echo.echo.record_file`): the file is made
    under a hidden name (``.STEM.partial-PID.nc.creating``) at its full size with every point
    NaN (so a full disk is found before the first point, and a point is written in place
    without growing the file), flushed, and only then becomes the hidden working file
    (``.STEM.partial-PID.nc.working``), which only this writer opens. Readers see snapshots
    of it: the first is published as ``STEM.partial-PID.nc`` beside ``path``, and a new
    record is then linked in place at once, so that a crash leaves its finished points at
    ``path``; after each point (throttled for large records) a new snapshot replaces it in one
    rename, and when the writer ends the closed working file itself does. A kill while the
    file is being made leaves no half-made record under a public name. A record that replaces
    an existing file stays at the partial name until every point is written and the writer
    closes normally; only then does it replace ``path`` in one rename. If it ends incomplete
    (an error, Ctrl-C, a kill), ``path`` is unchanged and the partial file keeps the new run's
    finished points. Each point's data are flushed before its ``point_complete`` flag, so a
    flag set in a snapshot always has its data. A failed write raises
    :class:`~.output.OutputWriteError` naming the file and the operating system's error.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        axes: Sequence[tuple[str, np.ndarray, str]],
        time_s: np.ndarray,
        attrs: Mapping[str, Any],
        with_mz: bool = False,
        window: np.ndarray | None = None,
        with_sem: bool = False,
        overwrite: bool = False,
        resume: bool = False,
    ) -> None:
        self.path = Path(path)
        self.shape = tuple(len(values) for _, values, _ in axes)
        self._written = np.zeros(self.shape, dtype=bool)
        names = [name for name, _, _ in axes]
        if set(names) & set(RECORD_NAMES) or len(set(names)) != len(names):
            raise RecordError(
                f"sweep axes need distinct names not in {RECORD_NAMES}", key="sweep", value=names
            )
        self._output = OutputFile(self.path, overwrite=overwrite or resume, option="record").open()
        partial = self._output.partial
        self._creating = hidden_file(partial, "creating")
        self._live = LiveFile(hidden_file(partial, "working"), partial)
        self._ds: netCDF4.Dataset | None = None
        try:
            if resume:
                self._reopen(axes, time_s, attrs, with_mz=with_mz, with_sem=with_sem)
            remove_leftovers(self.path, keep=(self._live.working,))  # we hold the lock
            if not resume:
                self._create(axes, time_s, attrs, with_mz=with_mz, window=window, with_sem=with_sem)
        except BaseException as err:
            failure = None
            if isinstance(err, (OSError, RuntimeError)):
                probe = self._creating if self._creating.exists() else self._live.working
                failure = write_error(self.path, err, probe=probe)
            self._drop(keep=False)
            if failure is not None:
                raise failure from None
            raise

    def _create(
        self,
        axes: Sequence[tuple[str, np.ndarray, str]],
        time_s: np.ndarray,
        attrs: Mapping[str, Any],
        *,
        with_mz: bool,
        window: np.ndarray | None,
        with_sem: bool,
    ) -> None:
        """Create the file at its full size, every point NaN; link it in place if it is new."""
        names = [name for name, _, _ in axes]
        series = 2 + int(with_mz) + 2 * int(with_sem)
        # built under a hidden name and renamed once valid: a kill while the file is being
        # made leaves no half-made record under the partial (or the final) name
        self._creating.unlink(missing_ok=True)
        size = 8 * series * int(np.prod(self.shape)) * len(time_s)
        reserve_space(self._creating, size)
        check_free_space(self.path.parent, 3 * size)  # working file, snapshot, scratch copy
        self._ds = netCDF4.Dataset(self._creating, "w", format="NETCDF4")
        ds = self._ds
        for name, values, kind in axes:
            ds.createDimension(name, len(values))
            var = ds.createVariable(name, "f8", (name,))
            var[:] = np.asarray(values, dtype=float)
            var.units = unit_of_kind(kind)
        ds.createDimension("time", len(time_s))
        tvar = ds.createVariable("time", "f8", ("time",))
        tvar[:] = np.asarray(time_s, dtype=float)
        tvar.units = "s"
        tvar.long_name = "time from the start of the detection window (windows end to end)"
        wvar = ds.createVariable("window", "i4", ("time",))
        wvar[:] = np.zeros(len(time_s), dtype=int) if window is None else np.asarray(window)
        wvar.long_name = "index of the detection window"
        dims = (*names, "time")
        self._vars = {
            key: ds.createVariable(key, "f8", dims, fill_value=np.nan)
            for key in (
                "signal_re",
                "signal_im",
                *(("mz",) if with_mz else ()),
                *(("signal_sem_re", "signal_sem_im") if with_sem else ()),
            )
        }
        for quadrature in ("re", "im") if with_sem else ():
            self._vars[f"signal_sem_{quadrature}"].long_name = (
                f"standard error of the mean of signal_{quadrature} (shot-to-shot scatter; "
                "Monte-Carlo packet replicas in a simulation)"
            )
        done = ds.createVariable("point_complete", "i1", tuple(names), fill_value=False)
        done.long_name = "1 where the sweep point has been written"
        done[...] = np.zeros(self.shape, dtype=np.int8)
        self._done = done
        for key, value in attrs.items():
            ds.setncattr(key, value if value is not None else "")
        ds.spin_echo_version = __version__
        ds.created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        ds.complete = np.int8(0)
        for var in self._vars.values():  # allocate every byte now: no growth while running
            for row in range(var.shape[0]) if len(var.shape) > 1 else (slice(None),):
                var[row, ...] = np.full(var.shape[1:] if len(var.shape) > 1 else var.shape, np.nan)
        ds.sync()
        os.replace(self._creating, self._live.working)
        self._live.snapshot(force=True)  # at the partial name
        if not self._output.replaces_existing:
            self._output.publish()
            self._live.public = self.path

    def _reopen(
        self,
        axes: Sequence[tuple[str, np.ndarray, str]],
        time_s: np.ndarray,
        attrs: Mapping[str, Any],
        *,
        with_mz: bool,
        with_sem: bool,
    ) -> None:
        """Open a copy of the record to resume as the working file; it is public at ``path``."""
        keys = ("signal_re", "signal_im", "mz", "signal_sem_re", "signal_sem_im")
        variables = [k for k in keys if with_mz or k != "mz" if with_sem or "sem" not in k]
        resume = check_resume(self.path, attrs)  # again, now that we hold the lock
        self._ds = open_to_resume(
            resume, self._live.working, axes=axes, time_s=time_s, variables=variables
        )
        self._vars = {key: self._ds[key] for key in variables}
        self._done = self._ds["point_complete"]
        self._written = np.asarray(self._done[...], dtype=bool).reshape(self.shape)
        self._output.published = True
        self._live.public = self.path
        if resume.source != self.path:  # a killed writer's points, beyond its last snapshot
            self._live.snapshot(force=True)
            resume.source.unlink(missing_ok=True)

    def write_point(
        self,
        index: tuple[int, ...],
        signal: np.ndarray,
        mz: np.ndarray | None = None,
        *,
        sem: np.ndarray | None = None,
    ) -> None:
        """Write one sweep point and flush it.

        Parameters
        ----------
        index
            Index of the sweep point.
        signal
            Complex signal over time.
        mz
            Normalised magnetisation over time (stored when the writer has ``with_mz``).
        sem
            Complex standard error of the mean over time: real part for ``signal_re``,
            imaginary part for ``signal_im`` (stored when the writer has ``with_sem``).
        """
        try:
            self._write_point(index, signal, mz, sem)
            self._written[index] = True
            self._live.snapshot()
        except (OSError, RuntimeError) as err:
            raise write_error(self.path, err, probe=self._live.working) from None

    def _write_point(
        self,
        index: tuple[int, ...],
        signal: np.ndarray,
        mz: np.ndarray | None,
        sem: np.ndarray | None,
    ) -> None:
        signal = np.asarray(signal)
        self._vars["signal_re"][(*index, slice(None))] = signal.real
        self._vars["signal_im"][(*index, slice(None))] = signal.imag
        if mz is not None and "mz" in self._vars:
            self._vars["mz"][(*index, slice(None))] = np.asarray(mz, dtype=float)
        if sem is not None and "signal_sem_re" in self._vars:
            sem = np.asarray(sem)
            self._vars["signal_sem_re"][(*index, slice(None))] = sem.real
            self._vars["signal_sem_im"][(*index, slice(None))] = sem.imag
        self._ds.sync()  # the data reach the file before the flag that says they are there
        if index:
            self._done[index] = 1
        else:
            self._done.assignValue(1)
        self._ds.sync()

    @property
    def complete(self) -> bool:
        """True when every sweep point has been written."""
        return bool(self._written.all())

    @property
    def written(self) -> np.ndarray:
        """Boolean array over the sweep grid: True where a point has been written."""
        return self._written.copy()

    @property
    def live(self) -> LiveFile:
        """The working file and its snapshots (their count and cost)."""
        return self._live

    def close(self) -> None:
        """Mark the record complete if every point was written, close it, and publish it.

        A record that replaces an existing file replaces it here, if it is complete.
        """
        if self._ds is None or not self._ds.isopen():
            return
        try:
            self._ds.complete = np.int8(1 if self.complete else 0)
            self._ds.close()
            self._live.finish()
        except (OSError, RuntimeError) as err:
            failure = write_error(self.path, err, probe=self._live.working)
            self._drop(keep=True)
            raise failure from None
        if self.complete and not self._output.published:
            try:
                self._output.publish()
            finally:
                self._output.close()
        self._drop(keep=True)

    def abort(self) -> None:
        """Close the file leaving ``complete = 0`` (after an error or an interruption).

        A record that was to replace an existing file does not: the file is unchanged, and the
        partial file keeps the finished points (it is removed if there are none).
        """
        self._drop(keep=True)

    def _drop(self, *, keep: bool) -> None:
        """Close the file quietly, keep or remove an unpublished partial file, release the lock.

        With ``keep``, the closed working file (every finished point) replaces the last
        snapshot; if it cannot be closed, the last snapshot stays.
        """
        closed = True
        if self._ds is not None and self._ds.isopen():
            # a second failure while closing: the first one is the one reported
            try:
                self._ds.close()
            except (OSError, RuntimeError):
                closed = False
        if keep and closed and self._live.working.exists() and self._live.public.exists():
            with contextlib.suppress(OSError):
                self._live.finish()
        self._live.discard()
        self._creating.unlink(missing_ok=True)
        if not self._output.published and self._live.public.exists():
            if keep and self._written.any():
                _LOG.warning(
                    "spin-echo: note: %s is unchanged; the new record (%d of %d points) is %s",
                    self.path,
                    int(self._written.sum()),
                    self._written.size,
                    self._live.public,
                )
            else:
                self._output.discard()
        self._output.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
            return
        self.abort()
        if issubclass(exc_type, KeyboardInterrupt) and self._output.published:
            _LOG.warning(
                "spin-echo: note: %s holds %d of %d points; the same command with --resume "
                "continues it",
                self.path,
                int(self._written.sum()),
                self._written.size,
            )


def read_record(path: str | Path) -> xr.Dataset:
    """Open a record as an :class:`xarray.Dataset` (loaded into memory, file closed).

    The record is checked and described once as it is read
    (:func:`spin_echo.echo.record_info.describe_record`); every reader gets that description
    with :func:`spin_echo.echo.record_info.record_info`. The dimensions the file declares are
    checked before any data are read (:data:`spin_echo.echo.record_info.MAX_RECORD_BYTES`).

    Raises
    ------
    RecordError
        If the file is missing, not a regular file, unreadable, larger than the limit, not a
        spin-echo record, or inconsistent (naming the file and the variable or attribute).
    """
    path = Path(path)
    if not path.exists():
        raise RecordError("record file not found", file=str(path))
    if not path.is_file():
        raise RecordError("not a regular file; expected a record (.nc)", file=str(path))
    check_record_file(path)
    import xarray as xr

    try:
        with xr.open_dataset(path, decode_times=False, decode_timedelta=False) as ds:
            data = ds.load()
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, IndexError) as err:
        raise RecordError(f"cannot read record: {err}", file=str(path)) from None
    return remember(data, describe_record(data, file=str(path)))


def complex_signal(dataset: xr.Dataset) -> xr.DataArray:
    """Return ``signal_re + 1j * signal_im`` of a record as a complex DataArray."""
    return dataset["signal_re"] + 1j * dataset["signal_im"]
