"""The files behind a record being written: a hidden working file, published as snapshots.

A record being written must be readable at any moment by any reader (``spin-echo plot``,
``xarray.open_dataset`` with HDF5's default file locking, another machine over NFS), yet
HDF5 keeps a file that is open for writing locked and, between two flushes, inconsistent.
So the writer (:class:`~spin_echo.echo.record.RecordWriter`) writes into a **working file**
that only it ever opens, hidden beside the record (``.STEM.partial-PID.SUFFIX.working``), and
after a point is flushed publishes a **snapshot** of it (:meth:`LiveFile.snapshot`): the
working file is copied to a hidden scratch file (``.STEM.partial-PID.SUFFIX.snapshot``),
synced to disk, and renamed onto the record's public name in one ``rename``. A reader
therefore only ever opens a closed, complete, consistent file, which holds every point up to
that snapshot; a reader that has the previous snapshot open keeps reading its inode, unchanged.
When the writer ends (complete, interrupted or failed) the closed working file itself is
renamed onto the public name (:meth:`LiveFile.finish`): no copy, and every finished point.

A snapshot costs time: the copy grows with the record's size, and the sync to disk costs
milliseconds even for a small file (measured, README "Records"). Snapshots are throttled by one
rule: after a snapshot that took ``c`` seconds, the next is taken after the first point that
ends at least ``c (1 - s) / s`` seconds later, with ``s`` = :data:`SNAPSHOT_SHARE` -- the
snapshots take at most that share of the run's time. A point that takes longer than that (a
simulation of a few thousand packets, any measurement with real shots) is published as soon as
it is written; faster points are published together. The working file always holds every
point, and the final rename publishes them all.

The file is synced before it is renamed (a power cut never leaves the public name pointing
at unwritten data); the folder is synced only when the record is finished (a power cut may
then show the previous snapshot). A writer killed with SIGKILL leaves its last snapshot under
the public name and its working file (every point flushed before the kill) under the hidden
name. ``--resume`` continues from that working file when it holds more points than the record
(:mod:`spin_echo.echo.record_resume`); any other writer of the same record removes such
leftovers (:func:`remove_leftovers`): it holds the record's lock, so no living writer owns
them.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import time
from pathlib import Path

__all__ = [
    "HIDDEN_KINDS",
    "SNAPSHOT_SHARE",
    "LiveFile",
    "check_free_space",
    "hidden_file",
    "remove_leftovers",
]

#: Largest share of a run's wall time that snapshots of a large record may take.
SNAPSHOT_SHARE = 0.1

#: The hidden files of a record being written: made at full size, written, copied.
HIDDEN_KINDS = ("creating", "working", "snapshot")


def hidden_file(partial: Path, kind: str) -> Path:
    """Return the hidden file ``.PARTIAL.KIND`` beside ``partial`` (``kind`` in HIDDEN_KINDS)."""
    if kind not in HIDDEN_KINDS:
        raise ValueError(f"kind must be one of {HIDDEN_KINDS}, not {kind!r}")
    return partial.with_name(f".{partial.name}.{kind}")


def remove_leftovers(path: Path, *, keep: tuple[Path, ...] = ()) -> list[Path]:
    """Remove the hidden files that killed writers of the record ``path`` left beside it.

    Only the files named after ``path``'s partial files (``.STEM.partial-PID[-N].SUFFIX.KIND``)
    are removed, except those in ``keep`` (the caller's own); the caller must hold ``path``'s
    lock (:class:`~.output_lock.OutputLock`), so that no living writer owns them.

    Returns
    -------
    list of Path
        The files removed.
    """
    pattern = re.compile(
        rf"\.{re.escape(path.stem)}\.partial-\d+(-\d+)?{re.escape(path.suffix)}"
        rf"\.({'|'.join(HIDDEN_KINDS)})"
    )
    removed = []
    for candidate in path.parent.glob(f".{path.stem}.partial-*"):
        if pattern.fullmatch(candidate.name) and candidate.is_file() and candidate not in keep:
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def check_free_space(folder: Path, size_bytes: int) -> None:
    """Raise ``OSError(ENOSPC)`` unless ``size_bytes`` are free for this user in ``folder``."""
    stat = os.statvfs(folder)
    if stat.f_bavail * stat.f_frsize < size_bytes:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LiveFile:
    """A working file published as snapshots at a public name (see the module docstring).

    Parameters
    ----------
    working
        The working file (hidden; only the writer opens it).
    public
        Where readers find the record; may change once (a new record is linked in place).

    Attributes
    ----------
    snapshots, snapshot_s
        Number of snapshots published, and the wall time they took in total, seconds.
    """

    @property
    def due_s(self) -> float:
        """``time.monotonic()`` from which the next point is published (the throttle rule)."""
        return self._next

    def __init__(self, working: Path, public: Path) -> None:
        self.working = working
        self.public = public
        name = working.name.removesuffix(".working")
        self.scratch = working.with_name(f"{name}.snapshot")
        self.snapshots = 0
        self.snapshot_s = 0.0
        self._next = 0.0

    def snapshot(self, *, force: bool = False) -> bool:
        """Publish a copy of the (flushed) working file at :attr:`public`, unless throttled.

        Parameters
        ----------
        force
            Publish whatever the throttle rule says.

        Returns
        -------
        bool
            True if a snapshot was published.

        Raises
        ------
        OSError
            The copy or the rename failed (the public file is then unchanged).
        """
        start = time.monotonic()
        if not force and start < self._next:
            return False
        try:
            shutil.copyfile(self.working, self.scratch)
            _fsync(self.scratch)
            os.replace(self.scratch, self.public)
        except BaseException:
            self.scratch.unlink(missing_ok=True)
            raise
        end = time.monotonic()
        self.snapshots += 1
        self.snapshot_s += end - start
        self._next = end + (end - start) * (1.0 - SNAPSHOT_SHARE) / SNAPSHOT_SHARE
        return True

    def finish(self) -> None:
        """Move the closed working file onto :attr:`public` in one rename; sync both.

        Raises
        ------
        OSError
            The file could not be synced or moved.
        """
        _fsync(self.working)
        os.replace(self.working, self.public)
        _fsync(self.public.parent)

    def discard(self) -> None:
        """Remove the working and scratch files (never the public file)."""
        self.working.unlink(missing_ok=True)
        self.scratch.unlink(missing_ok=True)
