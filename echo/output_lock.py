"""One writer per output file: a lock beside it that dies with the process that holds it.

:class:`OutputLock` takes a POSIX record lock (:func:`fcntl.lockf`) on ``.NAME.lock`` beside
the output ``NAME``. The kernel releases it when the process ends, however it ends (SIGKILL
included), so a crash leaves no stale lock, and a child process (a pool worker) does not
inherit it. A second writer, in another process or in the same one, is refused with
:class:`OutputBusyError` (exit 2) before it touches the file. The lock file holds the writer's
process id (for the message) and is removed on release. The lock is separate from HDF5's own
file locking (``HDF5_USE_FILE_LOCKING``), which only ever sees the record's hidden working file
(:mod:`~spin_echo.echo.record_file`), so readers of a record, finished or being written, are
not affected by it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from spin_echo.sequences.errors import InputError

__all__ = ["OutputBusyError", "OutputLock"]

#: Paths locked by this process (a POSIX lock does not refuse its own process: this does).
_HELD: set[Path] = set()


class OutputBusyError(InputError):
    """Another writer holds the output path (or its lock file cannot be made)."""


class OutputLock:
    """Exclusive lock of one output path for this process: ``.NAME.lock`` beside it.

    The lock is a POSIX record lock (:func:`fcntl.lockf`): the kernel releases it when the
    process ends, however it ends (SIGKILL included), and a child process (a pool worker) does
    not inherit it. The lock file holds the writer's process id and is removed on release; one
    left by a killed process is simply locked again.
    """

    def __init__(self, target: str | Path, *, option: str = "-o") -> None:
        self.target = Path(target)
        self.path = self.target.parent / f".{self.target.name}.lock"
        self.option = option
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`OutputBusyError` (another writer holds it)."""
        key = self.path.absolute()
        if key in _HELD:
            raise OutputBusyError(
                "is already an output of this command", key=self.option, value=str(self.target)
            )
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as err:
                raise OutputBusyError(
                    f"cannot create its lock file: {err.strerror}",
                    key=self.option,
                    value=str(self.target),
                ) from None
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise OutputBusyError(
                    f"another spin-echo process (pid {holder}) is writing it; wait for it to "
                    "finish or choose another path",
                    key=self.option,
                    value=str(self.target),
                ) from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the previous holder removed the file after we opened it: again
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        _HELD.add(key)

    def release(self) -> None:
        """Remove the lock file and release the lock (nothing if not held)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None
        _HELD.discard(self.path.absolute())
