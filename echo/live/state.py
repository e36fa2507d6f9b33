"""What the live view shows of a record: its figure, points finished, fit and status.

:class:`RecordWatcher` is polled (every fraction of a second); it looks at the file's identity
(inode, size, modification time) and re-reads the record only when that changed, at most once
per ``interval_s``. A new point is analysed and drawn by the code of ``spin-echo plot``
(:func:`spin_echo.echo.cli.plot.analyse`, :func:`spin_echo.echo.cli.plot.draw`): the live
figure is the figure ``plot`` draws of the record at that moment.

Statuses (:data:`STATUSES`):

- ``waiting``: the record does not exist yet (``watch --wait``) or holds no finished point;
- ``running``: points are arriving (``complete = 0`` and a process writes the record);
- ``complete``: the record says ``complete = 1``; the figure is final;
- ``error``: the record cannot be read (it vanished, or it is not a valid record), or the run
  stopped without completing it: no process holds its output lock (``.NAME.lock``, see
  :mod:`spin_echo.echo.output_lock`), or no new point came for ``stale_s`` seconds. The
  watcher keeps looking: a record that becomes readable again, or a resumed run, clears it.

A run given ``--overwrite`` writes ``STEM.partial-PID.nc`` and renames it onto ``STEM.nc`` once
complete (:mod:`spin_echo.echo.output`): watching the partial file follows it there
(:func:`replaced_record`), and its writer is the holder of ``STEM.nc``'s lock.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np

from spin_echo.echo.output_lock import OutputLock
from spin_echo.sequences.errors import SpinEchoError, SpinEchoWarning

__all__ = ["STATUSES", "LiveState", "RecordWatcher", "replaced_record", "writer_pid"]

#: Every status a :class:`LiveState` can have.
STATUSES = ("waiting", "running", "complete", "error")


@dataclass(frozen=True)
class LiveState:
    """One view of the record: what the page or the window shows.

    Attributes
    ----------
    record
        The record's path, as given.
    status
        One of :data:`STATUSES`.
    message
        One line about the status (why it is an error, what it waits for).
    points_done, points_total
        Sweep points finished, and in the whole record (0 before the record is first read).
    report
        The fit as ``spin-echo plot`` prints it (``""`` without a fit).
    fit
        The analysis as plain data (``plot --json``), or None.
    notes
        What ``plot`` notes about the record (why no fit is drawn, a signal below its error).
    version
        Number of the current figure: it grows by one with each new drawing (0: none yet).
    figure_png
        The figure as PNG bytes (None before the first finished point).
    """

    record: str
    status: str = "waiting"
    message: str = ""
    points_done: int = 0
    points_total: int = 0
    report: str = ""
    fit: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    version: int = 0
    figure_png: bytes | None = field(default=None, repr=False)

    @property
    def final(self) -> bool:
        """True once the record is complete: nothing will change any more."""
        return self.status == "complete"

    def as_json(self) -> dict[str, Any]:
        """Return the state as the page's JSON (everything but the figure's bytes)."""
        return {
            "record": self.record,
            "status": self.status,
            "message": self.message,
            "points_done": self.points_done,
            "points_total": self.points_total,
            "report": self.report,
            "fit": _finite(self.fit),
            "notes": list(self.notes),
            "version": self.version,
        }

    def line(self) -> str:
        """Return one line for a terminal: ``running: 5 of 12 points — T_M = ...``."""
        text = f"{self.status}: {self.points_done} of {self.points_total} points"
        if self.message:
            text += f" ({self.message})"
        values = [line.strip() for line in self.report.splitlines()[1:] if " = " in line]
        return text + (f" — {'; '.join(values)}" if values else "")


def _finite(value: Any) -> Any:
    """Return ``value`` with every non-finite float spelled as text (JSON has no NaN or inf)."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else str(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def writer_pid(path: str | Path) -> int | None:
    """Return the process id of the spin-echo process writing ``path``, or None if none is.

    The writer holds ``.NAME.lock`` beside the record and wrote its process id into it
    (:class:`~spin_echo.echo.output_lock.OutputLock`); the lock file is removed when the
    writer finishes, and a killed writer's is left with the id of a process that is gone.
    """
    try:
        text = OutputLock(path).path.read_text(encoding="ascii", errors="replace").strip()
        pid = int(text)
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # alive, another user's
    return pid


def replaced_record(path: str | Path) -> Path | None:
    """Return the record that ``path`` will replace if it is a partial one, else None.

    A run given ``--overwrite`` writes ``STEM.partial-PID.SUFFIX`` (or ``STEM.partial-PID-N``)
    beside ``STEM.SUFFIX``, holds the latter's lock, and renames its file onto it once complete
    (:mod:`spin_echo.echo.output`).
    """
    path = Path(path)
    match = re.fullmatch(r"(.+)\.partial-\d+(?:-\d+)?", path.stem)
    return path.with_name(match.group(1) + path.suffix) if match else None


def _identity(path: Path) -> tuple[int, int, int] | None:
    """Return (inode, size, mtime in ns) of ``path``, or None when it does not exist."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class RecordWatcher:
    """Re-read a record as it grows and keep its :class:`LiveState` (figure, fit, status).

    Parameters
    ----------
    path
        The record.
    analysis
        The analysis to draw, as ``plot --analysis`` (``"auto"``: the one the protocol calls
        for).
    interval_s
        Least time between two readings (and drawings) of the record.
    stale_s
        A record with ``complete = 0`` that gains no point for this long is an error (None:
        never; a run whose writer has gone is an error at once, whatever this is).
    clock
        The monotonic clock (seconds).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        analysis: str = "auto",
        interval_s: float = 1.0,
        stale_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.target = replaced_record(self.path) or self.path
        self.analysis = analysis
        self.interval_s = float(interval_s)
        self.stale_s = stale_s
        self.clock = clock
        self.state = LiveState(record=str(path))
        self._seen = False  # the file existed once
        self._created: str | None = None  # the record's ``created`` when last read
        self._identity: tuple[int, int, int] | None = None
        self._read_at = -np.inf
        self._grew_at = clock()
        self._drawn: tuple[int, bool] | None = None  # (points, complete) of the figure
        self._folder = tempfile.TemporaryDirectory(prefix="spin-echo-watch-")

    def close(self) -> None:
        """Remove the watcher's temporary folder (where it draws the figure)."""
        self._folder.cleanup()

    def __enter__(self) -> RecordWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def poll(self) -> LiveState:
        """Look at the record; re-read and redraw it if it changed; return the current state."""
        now = self.clock()
        writer = writer_pid(self.target)  # before reading: a writer gone now has finished
        identity = _identity(self.path)
        if identity is None and self._seen and self._moved_in_place():
            identity = _identity(self.path)
        if identity is None:
            if self._seen:
                self._set("error", "the record file is gone")
            else:
                self._set("waiting", "waiting for the record to be created")
            self._identity = None
            return self.state
        self._seen = True
        if identity != self._identity:
            if now - self._read_at >= self.interval_s:
                self._read_at = now
                if self._read(writer, now):
                    self._identity = identity
            return self.state  # a change not yet read: judge nothing before reading it
        if self.state.status in ("waiting", "running"):
            self._check_progress(writer, now)
        return self.state

    def _moved_in_place(self) -> bool:
        """Follow a partial record that, complete, replaced the record it was written for.

        True (and :attr:`path` is the target now) when the target holds the same record: its
        ``created`` is the partial file's.
        """
        if self.target == self.path or self._created is None:
            return False
        try:
            with netCDF4.Dataset(self.target, "r") as ds:
                created = str(getattr(ds, "created", ""))
        except (OSError, RuntimeError, ValueError):
            return False
        if created != self._created:
            return False
        self.path = self.target
        return True

    def _set(self, status: str, message: str = "", **changes: Any) -> None:
        self.state = replace(self.state, status=status, message=message, **changes)

    def _check_progress(self, writer: int | None, now: float) -> None:
        """Turn ``running`` into ``error`` when nobody writes the record or it went stale."""
        done, total = self.state.points_done, self.state.points_total
        if writer is None:
            self._set("error", f"the run stopped at {done} of {total} points: no spin-echo "
                      "process is writing the record (complete = 0)")  # fmt: skip
        elif self.stale_s is not None and now - self._grew_at > self.stale_s:
            self._set("error", f"no new point for {now - self._grew_at:.0f} s "
                      f"({done} of {total} points, complete = 0)")  # fmt: skip

    def _read(self, writer: int | None, now: float) -> bool:
        """Read the record and update the state; return False if it could not be read."""
        from spin_echo.echo.record import read_record
        from spin_echo.echo.record_info import record_info

        try:
            dataset = read_record(self.path)
            complete = bool(record_info(dataset).complete)
        except SpinEchoError as err:
            self._set("error", f"cannot read the record: {err}")
            return False
        flags = np.asarray(dataset["point_complete"].values) if "point_complete" in dataset \
            else np.ones(1, dtype=np.int8)  # fmt: skip
        done, total = int(np.count_nonzero(flags == 1)), int(flags.size)
        self._created = str(dataset.attrs.get("created", ""))
        if done != self.state.points_done:
            self._grew_at = now
        status = "complete" if complete else "running" if done else "waiting"
        message = "" if done or complete else "waiting for the first point"
        self._set(status, message, points_done=done, points_total=total)
        if done and (self._drawn != (done, complete) or self.state.figure_png is None):
            self._draw(dataset, done, total, complete)
        if self.state.status in ("waiting", "running"):
            self._check_progress(writer, now)
        return True

    def _draw(self, dataset: Any, done: int, total: int, complete: bool) -> None:
        """Analyse and draw the record as ``spin-echo plot`` does; keep the PNG's bytes."""
        from spin_echo.echo.analysis.noise import signal_below_error
        from spin_echo.echo.cli.plot import analyse, draw

        image = Path(self._folder.name) / "figure.png"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                analysis, notes = analyse(dataset, self.analysis)
            except (SpinEchoError, ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
                analysis, notes = None, [f"no fit drawn: {err}"]
            label = signal_below_error(dataset)
            try:
                text = draw(dataset, analysis, image)
                png = image.read_bytes()
            except (SpinEchoError, OSError) as err:
                self._set("error", f"cannot draw the record: {err}", points_done=done,
                          points_total=total)  # fmt: skip
                return
        notes += [str(w.message) for w in caught if issubclass(w.category, SpinEchoWarning)]
        if label:
            notes.append(label)
        with contextlib.suppress(OSError):
            image.unlink()
        self._drawn = (done, complete)
        self._set(
            self.state.status,
            self.state.message,
            points_done=done,
            points_total=total,
            report=text if analysis is not None and analysis.fit is not None else "",
            fit=analysis.as_dict() if analysis is not None else None,
            notes=tuple(notes),
            version=self.state.version + 1,
            figure_png=png,
        )
