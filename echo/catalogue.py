"""A catalogue of the records under a folder: one summary per file, read from its header only.

:func:`summarise_record` opens a ``.nc`` file with netCDF4 (no xarray) and checks its header --
layout, attributes and the small ``point_complete`` variable, never the signals -- with the
check every reader makes (:func:`spin_echo.echo.record_header.netcdf_header`), so listing a
folder of large records costs milliseconds per file, and a file every reader refuses is listed
as ``not a record`` with the same reason. Each summary says the protocol, the sample (or, for a
measurement without one, the bench), points finished / total, whether the record is complete
and when it was created.

:func:`find_records` walks a folder recursively. Hidden files and folders (a leading ``.``:
a record's working, snapshot and ``.creating`` files, ``.venv``) are skipped -- they are never
records by themselves; the new record of an ``--overwrite`` run, ``NAME.partial-PID.nc``, is
listed with status ``partial``. A ``.nc`` entry that cannot be read -- a broken or looping
symbolic link, a FIFO or other special file (never opened), a file the netCDF library cannot
open -- is listed with status ``unreadable``, and one that is not a valid spin-echo record with
status ``not a record``, each with the reason: never dropped silently, never a crash.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import netCDF4

from spin_echo.echo.record_header import netcdf_header
from spin_echo.sequences.errors import InputError

__all__ = [
    "SORT_KEYS",
    "STATUSES",
    "RecordSummary",
    "find_records",
    "summarise_record",
]

#: What a listed file is: a record, the partial record of an ``--overwrite`` run, a readable
#: NetCDF file that is not a spin-echo record, or a file that cannot be read.
STATUSES = ("record", "partial", "not a record", "unreadable")
#: Orders :func:`find_records` can sort by.
SORT_KEYS = ("created", "path", "protocol", "sample", "progress")

_PARTIAL = re.compile(r"\.partial-\d+\.nc$")
#: File types that are never opened (opening a FIFO blocks until a writer comes).
_SPECIAL = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
            stat.S_IFBLK: "a block device", stat.S_IFDIR: "a folder"}  # fmt: skip


@dataclass(frozen=True)
class RecordSummary:
    """One file of a catalogue.

    Attributes
    ----------
    path
        The file.
    status
        One of :data:`STATUSES`.
    protocol, sample, bench
        Names from the stored YAML (``name:``), None where absent.
    source
        ``simulate`` or ``run:<bench>``.
    points_done, points_total
        Sweep points written, and in all (``point_complete``).
    complete
        The record's ``complete`` attribute.
    created
        ISO 8601 time the record was created.
    seed
        The record's seed.
    reason
        Why a file is ``not a record`` or ``unreadable`` (None otherwise).
    """

    path: Path
    status: str
    protocol: str | None = None
    sample: str | None = None
    bench: str | None = None
    source: str | None = None
    points_done: int | None = None
    points_total: int | None = None
    complete: bool | None = None
    created: str | None = None
    seed: int | None = None
    reason: str | None = None

    @property
    def sample_or_bench(self) -> str | None:
        """The sample's name, else ``bench:<name>`` (a measurement without a sample)."""
        if self.sample is not None:
            return self.sample
        return None if self.bench is None else f"bench:{self.bench}"

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as plain data (the path as text)."""
        return {
            "path": str(self.path),
            "status": self.status,
            "protocol": self.protocol,
            "sample": self.sample,
            "bench": self.bench,
            "source": self.source,
            "points_done": self.points_done,
            "points_total": self.points_total,
            "complete": self.complete,
            "created": self.created,
            "seed": self.seed,
            "reason": self.reason,
        }


def _not_openable(path: Path) -> str | None:
    """Return why ``path`` is not a regular file to open (a broken link, a FIFO...), or None."""
    try:
        mode = path.stat().st_mode
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "a symbolic link loop"
        if path.is_symlink():
            return f"a broken symbolic link to {os.readlink(path)!r}"
        return f"cannot read: {err.strerror or err}"
    if stat.S_ISREG(mode):
        return None
    return f"not a regular file: {_SPECIAL.get(stat.S_IFMT(mode), 'a special file')}"


def _reason(err: InputError, path: Path) -> str:
    """Return the message of a header check without the file name (the row names it)."""
    where = (err.file or "").removeprefix(str(path)).lstrip(":") or None  # FILE:sample -> sample
    text = str(InputError(err.message, file=where, line=err.line, key=err.key, value=err.value))
    return text.removeprefix("not a spin-echo record: ")


def summarise_record(path: str | Path) -> RecordSummary:
    """Summarise one ``.nc`` file from its header (attributes and ``point_complete``) only.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    RecordSummary
        With status ``unreadable`` or ``not a record`` (and the reason) where it is not a
        readable, valid spin-echo record; this function does not raise for a bad file.
    """
    path = Path(path)
    status = "partial" if _PARTIAL.search(path.name) else "record"
    why = _not_openable(path)
    if why is not None:
        return RecordSummary(path, "unreadable", reason=why)
    try:
        with netCDF4.Dataset(path, "r") as ds:
            header = netcdf_header(ds, file=str(path))
    except InputError as err:
        return RecordSummary(path, "not a record", reason=_reason(err, path))
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError) as err:
        return RecordSummary(path, "unreadable", reason=f"cannot read: {err}")
    bench = header.bench_name
    if bench is None and header.source.startswith("run:"):
        bench = header.source[4:]
    return RecordSummary(
        path,
        status,
        protocol=header.protocol_name or None,
        sample=header.sample_name,
        bench=bench,
        source=header.source,
        points_done=header.points_done,
        points_total=header.points_total,
        complete=header.complete,
        created=header.created,
        seed=header.seed,
    )


def _created_key(summary: RecordSummary) -> tuple[int, float, str]:
    """Sort oldest first; files without a readable creation time last, by path."""
    try:
        when = dt.datetime.fromisoformat(summary.created or "")
    except ValueError:
        return (1, 0.0, str(summary.path))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return (0, when.timestamp(), str(summary.path))


def _sort_key(key: str) -> Any:
    if key == "created":
        return _created_key
    if key == "progress":
        return lambda s: (
            -1.0 if not s.points_total else (s.points_done or 0) / s.points_total,
            str(s.path),
        )
    if key == "path":
        return lambda s: str(s.path)
    return lambda s: (getattr(s, key) or "\uffff", str(s.path))


def _visible_files(folder: Path) -> list[Path]:
    """Every ``.nc`` entry under ``folder`` but hidden ones and folders (links are kept)."""
    found = []
    for path in folder.rglob("*.nc"):
        parts = path.relative_to(folder).parts
        if any(part.startswith(".") for part in parts):
            continue
        if path.is_dir() and not path.is_symlink():
            continue  # a folder named *.nc: walked, not listed
        found.append(path)
    return found


def find_records(
    folder: str | Path,
    *,
    sort: str = "created",
    protocol: str | None = None,
    sample: str | None = None,
) -> list[RecordSummary]:
    """Summarise every ``.nc`` file under ``folder`` (recursively), filtered and sorted.

    Parameters
    ----------
    folder
        Where to look.
    sort
        One of :data:`SORT_KEYS` (``created``: oldest first).
    protocol, sample
        Keep only records of this protocol name / whose sample (or bench) has this name; a
        filter drops the files that are not readable records.

    Raises
    ------
    ValueError
        For a ``sort`` key not in :data:`SORT_KEYS`.
    """
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}, not {sort!r}")
    summaries = [summarise_record(path) for path in _visible_files(Path(folder))]
    if protocol is not None:
        summaries = [s for s in summaries if s.protocol == protocol]
    if sample is not None:
        summaries = [s for s in summaries if sample in (s.sample, s.bench)]
    return sorted(summaries, key=_sort_key(sort))
