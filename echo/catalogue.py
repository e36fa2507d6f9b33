"""A catalogue of the records under a folder: one summary per file, read from attributes only.

:func:`summarise_record` opens a ``.nc`` file with netCDF4 (no xarray) and reads only its
attributes and the small ``point_complete`` variable -- never the signals -- so listing a
folder of large records costs milliseconds per file. Each summary says the protocol, the
sample (or, for a measurement without one, the bench), points finished / total, whether the
record is complete and when it was created.

:func:`find_records` walks a folder recursively. Hidden files and folders (a leading ``.``:
a record's working, snapshot and ``.creating`` files, ``.venv``) are skipped -- they are never
records by themselves; the new record of an ``--overwrite`` run, ``NAME.partial-PID.nc``, is
listed with status ``partial``. A ``.nc`` file that cannot be read, or is not a spin-echo
record, is listed with status ``unreadable`` or ``not a record`` and the reason -- never
dropped silently, never a crash.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import yaml

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
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    return value.item() if isinstance(value, np.generic) else value


def _yaml_name(text: Any) -> str | None:
    """Return the top-level ``name`` of stored YAML text (None when absent or not YAML)."""
    if not isinstance(text, str):
        return None
    try:
        data = yaml.load(text, Loader=_LOADER)  # a safe loader (C when available)
    except yaml.YAMLError:
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return None if name is None else str(name)


def _whole(value: Any) -> int | None:
    value = _plain(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def summarise_record(path: str | Path) -> RecordSummary:
    """Summarise one ``.nc`` file from its attributes and ``point_complete`` only.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    RecordSummary
        With status ``unreadable`` or ``not a record`` (and the reason) where it is not a
        readable spin-echo record; this function does not raise for a bad file.
    """
    path = Path(path)
    status = "partial" if _PARTIAL.search(path.name) else "record"
    try:
        with netCDF4.Dataset(path, "r") as ds:
            attrs = {name: _plain(ds.getncattr(name)) for name in ds.ncattrs()}
            flags = None
            if "point_complete" in ds.variables:
                flags = np.asarray(np.ma.filled(ds.variables["point_complete"][...], 0))
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as err:
        return RecordSummary(path, "unreadable", reason=f"cannot read: {err}")
    missing = [name for name in ("protocol", "source", "complete") if name not in attrs]
    if flags is None:
        missing.append("point_complete")
    if missing:
        return RecordSummary(
            path, "not a record", reason=f"no {', '.join(missing)}: not a spin-echo record"
        )
    complete = _whole(attrs["complete"])
    source = attrs["source"] if isinstance(attrs["source"], str) else None
    bench = _yaml_name(attrs.get("bench"))
    if bench is None and source is not None and source.startswith("run:"):
        bench = source[4:]
    created = attrs.get("created")
    return RecordSummary(
        path,
        status,
        protocol=_yaml_name(attrs["protocol"]),
        sample=_yaml_name(attrs.get("sample")),
        bench=bench,
        source=source,
        points_done=int(np.count_nonzero(flags == 1)),
        points_total=int(flags.size),
        complete=None if complete not in (0, 1) else bool(complete),
        created=created if isinstance(created, str) else None,
        seed=_whole(attrs["seed"]) if "seed" in attrs else None,
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
    found = []
    for path in folder.rglob("*.nc"):
        parts = path.relative_to(folder).parts
        if not any(part.startswith(".") for part in parts) and path.is_file():
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
