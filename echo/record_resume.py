"""Continue an interrupted record in place (``--resume``): what must agree, where to start from.

A record with ``complete = 0`` (an interrupted, killed or failed ``simulate`` or ``run``) is
continued only by the same run: every attribute in :data:`RESUME_KEYS` that the new run would
write (the protocol after ``--set``, the sample or bench, the seed, the frame, the packets, the
replica groups, the shots, ...) must equal the record's, and so must its sweep axes, its time
axis and its variables (:func:`check_resume`, :func:`open_to_resume`). A complete record has
nothing to resume; a missing file is not resumed (drop ``--resume`` to start one).

Where a killed writer left its hidden working file beside the record
(:mod:`spin_echo.echo.record_file`) holding more finished points than the record's last
snapshot -- the same run (same ``created`` time and protocol), a superset of its points -- the
run continues from that file, so a kill loses no point that was written.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np

from spin_echo.echo.record_file import check_free_space
from spin_echo.echo.record_info import RecordError, check_record_file

__all__ = ["RESUME_KEYS", "ResumeSource", "check_resume", "open_to_resume"]

#: Attributes that must agree between a record and the run that resumes it.
RESUME_KEYS = (
    "source",
    "protocol",
    "sample",
    "bench",
    "seed",
    "frame",
    "packets",
    "replicas",
    "units",
    "shots",
    "receiver_bandwidth_hz",
)

_PARTIAL = re.compile(r"(?P<stem>.+)\.partial-(?P<pid>\d+)(-\d+)?")


@dataclass(frozen=True)
class ResumeSource:
    """Where a resumed run starts from.

    Attributes
    ----------
    record
        The record to continue (written in place).
    source
        The file its points are read from: the record, or a killed writer's working file of
        the same run holding more points.
    finished, total
        Finished points in ``source``, and points of the sweep.
    """

    record: Path
    source: Path
    finished: int
    total: int


def _read(path: Path) -> tuple[dict[str, Any], np.ndarray]:
    """Attributes and the finished-point mask of a record file (RecordError if unreadable)."""
    try:
        with netCDF4.Dataset(path, "r") as ds:
            attrs = {key: ds.getncattr(key) for key in ds.ncattrs()}
            done = np.asarray(ds["point_complete"][...], dtype=bool)
    except (OSError, RuntimeError, ValueError, KeyError, IndexError) as err:
        raise RecordError(f"cannot read record to resume: {err}", file=str(path)) from None
    return attrs, done


def _first_difference(have: str, want: str) -> str:
    """``line N: 'a' in the record, 'b' in this run`` for two texts."""
    for number, (a, b) in enumerate(
        zip_longest(have.splitlines(), want.splitlines(), fillvalue="<end>"), 1
    ):
        if a != b:
            return f"line {number}: {a.strip()!r} in the record, {b.strip()!r} in this run"
    return "they differ in white space"


def _same(have: Any, want: Any) -> bool:
    if isinstance(want, str) or isinstance(have, str):
        return str(have) == str(want)
    return bool(np.all(np.asarray(have) == np.asarray(want)))


def _writer_alive(path: Path) -> int | None:
    """Return the pid in a partial name ``STEM.partial-PID.SUFFIX`` if it is alive, else None."""
    match = _PARTIAL.fullmatch(path.name.removesuffix(path.suffix))
    if match is None or int(match["pid"]) == os.getpid():
        return None
    pid = int(match["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _leftover(path: Path, attrs: Mapping[str, Any], done: np.ndarray) -> tuple[Path, int] | None:
    """Return a killed writer's working file of the same run with more points, and its count."""
    pattern = re.compile(
        rf"\.{re.escape(path.stem)}\.partial-\d+(-\d+)?{re.escape(path.suffix)}\.working"
    )
    candidates = [
        p for p in path.parent.glob(f".{path.stem}.partial-*") if pattern.fullmatch(p.name)
    ]
    candidates.append(path.with_name(f".{path.name}.working"))  # path is itself a partial
    best = None
    for candidate in candidates:
        if not candidate.is_file():
            continue
        try:
            theirs, more = _read(candidate)
        except RecordError:
            continue
        same_run = all(
            _same(theirs.get(key), attrs.get(key)) for key in ("created", "protocol", "source")
        )
        if same_run and more.shape == done.shape and (more | ~done).all():
            count = int(more.sum())
            if count > int(done.sum()) and (best is None or count > best[1]):
                best = (candidate, count)
    return best


def check_resume(path: str | Path, expected: Mapping[str, Any]) -> ResumeSource:
    """Check that the record at ``path`` can be resumed by a run writing ``expected``.

    Parameters
    ----------
    path
        The record (``-o``).
    expected
        Attributes of the resuming run; those in :data:`RESUME_KEYS` must equal the record's.

    Returns
    -------
    ResumeSource
        The record, the file to continue from, and its finished points.

    Raises
    ------
    RecordError
        No such file, not a record, a complete record ("nothing to resume"), a partial file
        still being written, or an attribute that differs (naming it, and for texts the first
        line that differs).
    """
    path = Path(path)
    if not path.exists():
        raise RecordError(
            "no record to resume (file not found); drop --resume to start a new record",
            file=str(path),
        )
    if not path.is_file():
        raise RecordError("not a regular file; expected a record (.nc) to resume", file=str(path))
    pid = _writer_alive(path)
    if pid is not None:
        raise RecordError(
            f"is being written by spin-echo process {pid}; resume it once that run has ended",
            file=str(path),
        )
    check_record_file(path)
    attrs, done = _read(path)
    if int(attrs.get("complete", 0)) == 1:
        partials = sorted(p.name for p in path.parent.glob(f"{path.stem}.partial-*{path.suffix}"))
        hint = f"; an interrupted --overwrite run left {', '.join(partials)}" if partials else ""
        raise RecordError(f"nothing to resume: the record is complete{hint}", file=str(path))
    for key in RESUME_KEYS:
        if key not in expected:
            continue
        want, have = expected[key], attrs.get(key)
        if have is None:
            raise RecordError(
                "the record does not say it (made before --resume existed?); it cannot be resumed",
                file=str(path),
                key=key,
            )
        if not _same(have, want):
            if isinstance(want, str) and "\n" in f"{want}{have}":
                detail = _first_difference(str(have), want)
            else:
                plain = [v.item() if isinstance(v, np.generic) else v for v in (have, want)]
                detail = f"{plain[0]!r} in the record, {plain[1]!r} in this run"
            raise RecordError(
                f"differs from the record's ({detail}); --resume continues only the run the "
                "record holds",
                file=str(path),
                key=key,
            )
    found = _leftover(path, attrs, done)
    source, finished = found if found is not None else (path, int(done.sum()))
    return ResumeSource(path, source, finished, int(done.size))


def _check_layout(
    ds: netCDF4.Dataset,
    path: Path,
    axes: Sequence[tuple[str, np.ndarray, str]],
    time_s: np.ndarray,
    variables: Sequence[str],
) -> None:
    """Refuse a record whose sweep axes, time axis or data variables differ from the run's."""
    names = [name for name, _, _ in axes]
    if list(ds["point_complete"].dimensions) != names:
        raise RecordError(
            f"sweep axes {list(ds['point_complete'].dimensions)} in the record, {names} in "
            "this run",
            file=str(path),
            key="point_complete",
        )
    for name, values, _ in [*axes, ("time", time_s, "time")]:
        stored = np.asarray(ds[name][...], dtype=float)
        if stored.shape != np.shape(values) or not np.array_equal(stored, values):
            raise RecordError(
                "values differ from this run's; --resume continues only the run the record holds",
                file=str(path),
                key=name,
            )
    for name in variables:
        if name not in ds.variables:
            raise RecordError("missing; this run writes it", file=str(path), key=name)


def open_to_resume(
    resume: ResumeSource,
    working: Path,
    *,
    axes: Sequence[tuple[str, np.ndarray, str]],
    time_s: np.ndarray,
    variables: Sequence[str],
) -> netCDF4.Dataset:
    """Copy the resumed record (or the killed writer's working file) to ``working``; open it.

    The caller holds the record's lock. The record is not touched; the copy is opened for
    appending, its layout checked against the run's, and ``resumed`` (ISO 8601 times, one per
    resumption) extended.

    Raises
    ------
    RecordError
        The record's layout differs from the run's.
    OSError
        The disk cannot hold the copy.
    """
    check_free_space(working.parent, 2 * resume.source.stat().st_size)
    shutil.copyfile(resume.source, working)
    ds = netCDF4.Dataset(working, "a")
    try:
        _check_layout(ds, resume.record, axes, time_s, variables)
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        before = str(ds.getncattr("resumed")) if "resumed" in ds.ncattrs() else ""
        ds.resumed = f"{before} {now}".strip()
        ds.sync()
    except BaseException:
        ds.close()
        raise
    return ds
