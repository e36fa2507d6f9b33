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
  It stops (the state is final) where nothing can change: a complete record that nobody
  writes and that cannot be drawn (:attr:`RecordWatcher.refusal`: what ``plot`` refuses it
  for), and, with ``stale_ends``, an incomplete record that gained no point for ``stale_s``
  seconds, whether its writer hangs or is gone (a killed run: ``watch --stale S``).

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
from spin_echo.sequences.errors import InputError, SpinEchoError, SpinEchoWarning

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
    ended
        Nothing will change any more, whatever the status: the run the view was started for
        (``watch --run-pid``) has ended and the record was read after it, or the watcher
        stopped (a complete record that cannot be drawn; ``stale_ends``).
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
    ended: bool = False

    @property
    def final(self) -> bool:
        """True once the record is complete or its run has ended: nothing will change."""
        return self.status == "complete" or self.ended

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
            "figure": self.figure_png is not None,
            "ended": self.final,
        }

    def line(self) -> str:
        """Return one line for a terminal: ``running: 5 of 12 points — T_M = ...``.

        A fit that failed its checks says so first, as ``plot`` does:
        ``— UNRELIABLE: reason; reason; A = ...``.
        """
        text = f"{self.status}: {self.points_done} of {self.points_total} points"
        if self.message:
            text += f" ({self.message})"
        values = [line.strip() for line in self.report.splitlines()[1:] if " = " in line]
        if self.fit is not None and self.fit.get("reliable") is False:
            reasons = "; ".join(str(r) for r in self.fit.get("reasons", ()))
            values.insert(0, f"UNRELIABLE: {reasons}" if reasons else "UNRELIABLE")
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
    return pid if _alive(pid) else None


def replaced_record(path: str | Path) -> Path | None:
    """Return the record that ``path`` will replace if it is a partial one, else None.

    A run given ``--overwrite`` writes ``STEM.partial-PID.SUFFIX`` (or ``STEM.partial-PID-N``)
    beside ``STEM.SUFFIX``, holds the latter's lock, and renames its file onto it once complete
    (:mod:`spin_echo.echo.output`).
    """
    path = Path(path)
    match = re.fullmatch(r"(.+)\.partial-\d+(?:-\d+)?", path.stem)
    return path.with_name(match.group(1) + path.suffix) if match else None


def _alive(pid: int | None) -> bool:
    """Return True if process ``pid`` exists and has not ended (a zombie has: Linux's /proc)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


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
    stale_ends
        Stop watching (the state is final, an error) once an incomplete record has gained no
        point for ``stale_s`` seconds -- its writer hangs, or no process writes it (killed) --
        and ``start_s`` has passed; False: such a record stays an error that a new point clears.
    start_s
        For this long after the watcher starts, an incomplete record that no process writes
        is not an error until a writer has been seen: the run may not have begun yet.
    run_pid
        The process of the run that writes the record (``--live``): while it lives and has
        not been seen writing, the record is waited for (a complete one is the old record it
        will replace); once it has ended, the record is read once more and the state is
        final (:attr:`LiveState.ended`).
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
        stale_ends: bool = False,
        start_s: float = 0.0,
        run_pid: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.target = replaced_record(self.path) or self.path
        self.analysis = analysis
        self.interval_s = float(interval_s)
        self.stale_s = stale_s
        self.stale_ends = stale_ends
        self.start_s = float(start_s)
        self._refusal: SpinEchoError | None = None  # why the record last read cannot be drawn
        self.run_pid = run_pid
        self._writer_seen = False
        self._run_alive = run_pid is not None
        self._run_ended = False  # the run ended, and the record is to be read once more
        self.clock = clock
        self.state = LiveState(record=str(path))
        self._seen = False  # the file existed once
        self._created: str | None = None  # the record's ``created`` when last read
        self._identity: tuple[int, int, int] | None = None
        self._read_at = -np.inf
        self._grew_at = self._started = clock()
        self._drawn: tuple[int, bool] | None = None  # (points, complete) of the figure
        self._complete = False  # the record last read says complete = 1
        self._seen_incomplete = False  # a record read said complete = 0
        self._judged = False  # the record was read and drawn: its status follows its writer
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
        if self.state.ended:
            return self.state
        if self._run_alive and not _alive(self.run_pid):
            self._run_alive, self._run_ended = False, True
            self._identity, self._read_at = None, -np.inf  # read it once more, now
        writer = writer_pid(self.target)  # before reading: a writer gone now has finished
        self._writer_seen = self._writer_seen or writer is not None
        self._follow_partial(writer)
        identity = _identity(self.path)
        if identity is None and self._seen and self._moved_in_place():
            identity = _identity(self.path)
        if identity is None:
            if self._seen:
                self._set("error", "the record file is gone")
            elif self._run_ended:
                self._set("error", "the run ended before it created the record")
            else:
                self._set("waiting", "waiting for the record to be created")
            self._identity, self._judged = None, False
        else:
            self._seen = True
            if identity != self._identity:
                if now - self._read_at < self.interval_s:
                    return self.state  # a change not yet read: judge nothing before reading it
                self._read_at = now
                if self._read():
                    self._identity = identity
            if self._judged:
                self._judge(writer, now)
        if self._run_ended or self._undrawable(writer):
            self.state = replace(self.state, ended=True)
        elif self._gave_up(now):
            message = f"{self.state.message}; " if self.state.message else ""
            self._set("error", f"{message}no new point for {now - self._grew_at:.0f} s "
                      f"(--stale {self.stale_s:g}): stopped watching", ended=True)  # fmt: skip
        return self.state

    @property
    def refusal(self) -> InputError | None:
        """Why a complete record that nobody writes cannot be drawn (once final), else None.

        The error ``spin-echo plot`` stops with for the same record (``watch`` exits 2 with it).
        """
        if not self.state.ended or not isinstance(self._refusal, InputError):
            return None
        return self._refusal

    def _undrawable(self, writer: int | None) -> bool:
        """Return True for a complete record that cannot be drawn and no process writes."""
        return self._refusal is not None and self._complete and writer is None \
            and not self._run_alive  # fmt: skip

    def _gave_up(self, now: float) -> bool:
        """Return True when, with ``stale_ends``, no point came for ``stale_s`` seconds."""
        if not self.stale_ends or self.stale_s is None or self.state.status == "complete":
            return False
        waited = now - self._grew_at > self.stale_s and now - self._started >= self.start_s
        return waited and not (self._complete and self.state.status == "running")

    def _follow_partial(self, writer: int | None) -> None:
        """Watch the partial file of a writer that replaces the record (``--overwrite``)."""
        if writer is None or self.path != self.target:
            return
        stem, suffix = self.target.stem, self.target.suffix
        partial = self.target.with_name(f"{stem}.partial-{writer}{suffix}")
        if partial.exists():
            self.path, self._identity, self._read_at, self._drawn = partial, None, -np.inf, None
            self._set("waiting", "", points_done=0, report="", fit=None, notes=(),
                      figure_png=None, version=self.state.version + 1)  # fmt: skip

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

    def _judge(self, writer: int | None, now: float) -> None:
        """Set the status of the record last read from its writer, its run and its progress.

        A complete record is final once no process writes it (its writer still holds the lock
        while it finishes; a writer that replaces it holds it too) and, for a ``run_pid``, once
        it was seen incomplete or the run has ended; an incomplete one is an error when nobody
        writes it (after ``start_s`` or the run's end) or it went stale.
        """
        done, total = self.state.points_done, self.state.points_total
        starting = not self._writer_seen and (self._run_alive or now - self._started < self.start_s)
        if self._complete:
            if self._run_alive and not self._seen_incomplete:
                self._set("waiting", "waiting for the run to write the record")
            elif writer is not None:
                self._set("running", "complete = 1, and a spin-echo process still holds it "
                          "(finishing, or about to replace it)")  # fmt: skip
            else:
                self._set("complete")
        elif writer is None and not starting:
            self._set("error", f"the run stopped at {done} of {total} points: no spin-echo "
                      "process is writing the record (complete = 0)")  # fmt: skip
        elif writer is not None and self.stale_s is not None and now - self._grew_at > self.stale_s:
            self._set("error", f"no new point for {now - self._grew_at:.0f} s "
                      f"({done} of {total} points, complete = 0)")  # fmt: skip
        elif done:
            self._set("running")
        else:
            self._set("waiting", "waiting for the first point")

    def _read(self) -> bool:
        """Read and draw the record; return False if it could not be read."""
        from spin_echo.echo.record import read_record
        from spin_echo.echo.record_info import record_info

        self._judged, self._refusal = False, None
        try:
            dataset = read_record(self.path)
            info = record_info(dataset)
        except SpinEchoError as err:
            self._set("error", f"cannot read the record: {err}")
            return False
        complete, done, total = info.complete, info.points_done, info.points_total
        self._created = str(dataset.attrs.get("created", ""))
        self._complete = complete
        self._seen_incomplete = self._seen_incomplete or not complete
        if done != self.state.points_done:
            self._grew_at = self.clock()
        self._set(self.state.status, points_done=done, points_total=total)
        drawn = self._drawn == (done, complete) and self.state.figure_png is not None
        if done and not drawn and not self._draw(dataset, done, complete):
            return True  # drawn again only when the record changes
        self._judged = True
        return True

    def _draw(self, dataset: Any, done: int, complete: bool) -> bool:
        """Analyse and draw the record as ``spin-echo plot`` does; keep the PNG's bytes.

        Returns False (and the state is an error) if the record cannot be drawn.
        """
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
                self._set("error", f"cannot draw the record: {err}")
                self._refusal = err if isinstance(err, SpinEchoError) else None
                return False
        notes += [str(w.message) for w in caught if issubclass(w.category, SpinEchoWarning)]
        if label:
            notes.append(label)
        with contextlib.suppress(OSError):
            image.unlink()
        self._drawn = (done, complete)
        self._set(
            self.state.status,
            self.state.message,
            report=text if analysis is not None and analysis.fit is not None else "",
            fit=analysis.as_dict() if analysis is not None else None,
            notes=tuple(notes),
            version=self.state.version + 1,
            figure_png=png,
        )
        return True
