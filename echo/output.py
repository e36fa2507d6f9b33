"""Output files that never lose data: checked before a run, locked, written beside, replaced.

Every file spin-echo writes (records, images, fitted samples, the paper's folder) goes through
this module, in three steps:

1. :func:`check_output` before any work: the folder exists and is writable, an image path has a
   format matplotlib can write, the path is not one of the command's inputs, and an existing
   file is refused unless ``overwrite`` (:class:`OutputPathError`, exit 2). Nothing is created.
2. :class:`OutputFile` (or :class:`OutputFolder`) when writing starts: a lock held by this
   process only (a POSIX record lock on ``.NAME.lock`` beside the file, released by the
   kernel when the process ends, however it ends, so no stale lock survives a crash) refuses a
   second writer of the same path (:mod:`~spin_echo.echo.output_lock`, exit 2); it writes to
   ``STEM.partial-PID.SUFFIX`` beside the target.
3. :meth:`OutputFile.publish`: the partial file is flushed to disk and moved onto the target in
   one ``rename`` (:func:`os.replace`), so the target is at every moment either the old file or
   the complete new one. A new file (no old one) is linked in place without replacing anything.

A failure to write (full disk, I/O error) raises :class:`OutputWriteError` (exit 1) naming the
file and the operating system's error.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from spin_echo.echo.output_lock import OutputLock
from spin_echo.sequences.errors import InputError, SpinEchoError

__all__ = [
    "OutputFile",
    "OutputFolder",
    "OutputPathError",
    "OutputWriteError",
    "check_folder",
    "check_output",
    "image_formats",
    "reserve_space",
    "write_error",
]


class OutputPathError(InputError):
    """An output path that must not be written: it exists, its folder is missing, ..."""


class OutputWriteError(SpinEchoError):
    """Writing an output file failed (full disk, I/O error); names the file and the OS error.

    Parameters
    ----------
    file
        The output file.
    reason
        The operating system's error, as text (``[Errno 28] No space left on device``).
    """

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(file, reason)
        self.file = file
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.file}: cannot write: {self.reason}"


def image_formats() -> frozenset[str]:
    """Return the file suffixes (lower case, no dot) matplotlib can write an image as here.

    ``pgf`` is left out where its TeX program (``rcParams["pgf.texsystem"]``) is not installed.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    formats = set(FigureCanvasAgg(Figure()).get_supported_filetypes())
    if shutil.which(str(matplotlib.rcParams["pgf.texsystem"])) is None:
        formats.discard("pgf")
    return frozenset(formats)


def _refuse(path: Path, option: str, message: str) -> OutputPathError:
    return OutputPathError(message, key=option, value=str(path))


def _check_writable_folder(folder: Path, path: Path, option: str) -> None:
    if not folder.is_dir():
        raise _refuse(path, option, f"no such folder: {folder}")
    read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    if read_only or not os.access(folder, os.W_OK | os.X_OK):
        raise _refuse(path, option, f"folder {folder} is not writable")


def check_output(
    path: str | Path,
    *,
    overwrite: bool = False,
    option: str = "-o",
    formats: Iterable[str] | None = None,
    inputs: Iterable[str | Path | None] = (),
) -> Path:
    """Check that ``path`` may be written; create nothing.

    Parameters
    ----------
    path
        The output file.
    overwrite
        Allow replacing an existing regular file (once the new one is complete).
    option
        The command-line option that named the path, for the message.
    formats
        Allowed suffixes (no dot, lower case), e.g. :func:`image_formats`; None: any.
    inputs
        Files the command reads, and its other outputs; the output may not be one of them,
        whether or not it exists yet.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    OutputPathError
        The path may not be written; the message says why.
    """
    path = Path(path)
    if path.name in ("", ".", ".."):
        raise _refuse(path, option, "is not a file name")
    if formats is not None:
        allowed = frozenset(formats)
        suffix = path.suffix.lower().lstrip(".")
        if suffix not in allowed:
            raise _refuse(
                path,
                option,
                f"unknown image format {suffix!r}: use one of {', '.join(sorted(allowed))}",
            )
    _check_writable_folder(path.parent, path, option)
    if path.is_dir():
        raise _refuse(path, option, "is a folder, expected a file")
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise _refuse(
                path,
                option,
                "exists; nothing was written (--overwrite replaces it once the new file is "
                "complete)",
            )
        if path.exists() and not path.is_file():
            raise _refuse(path, option, "is not a regular file; it is never replaced")
    for source in inputs:
        if source is not None and _same_file(Path(source), path):
            raise _refuse(path, option, "is also another file this command reads or writes")
    return path


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (also when either does not exist yet).

    The same inode, or the same resolved path: two outputs of one command given one new name.
    """
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_folder(path: str | Path, *, overwrite: bool = False, option: str = "--outdir") -> Path:
    """Check that the output folder ``path`` may be written (created if missing); create nothing.

    An existing folder that holds anything is refused unless ``overwrite`` (then the files the
    run writes replace their namesakes; other files are left alone).

    Raises
    ------
    OutputPathError
        The folder may not be written; the message says why.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise _refuse(path, option, "exists and is not a folder")
    _check_writable_folder(path.parent, path, option)
    if path.is_dir():
        _check_writable_folder(path, path, option)
        if not overwrite and any(path.iterdir()):
            raise _refuse(
                path,
                option,
                "is not empty; nothing was written (--overwrite replaces the files this run "
                "writes, once all are complete)",
            )
    return path


def write_error(
    path: str | Path, error: BaseException, *, probe: str | Path | None = None
) -> OutputWriteError:
    """Return the :class:`OutputWriteError` for a failed write of ``path``, with the OS error.

    netCDF and HDF5 report a failed write as ``NetCDF: HDF error`` without the operating
    system's error; the error is then found by rewriting the last byte of the file being
    written (``probe``, default ``path``) in place -- the same byte: the data do not change --
    and by the free space of its folder.
    """
    path = Path(path)
    if isinstance(error, OSError) and error.errno is not None:
        return OutputWriteError(str(path), f"[Errno {error.errno}] {error.strerror}")
    probe = Path(probe) if probe is not None else path
    with contextlib.suppress(OSError):
        fd = os.open(probe, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            if size:
                os.pwrite(fd, os.pread(fd, 1, size - 1), size - 1)
            os.fsync(fd)
        except OSError as failure:
            return OutputWriteError(str(path), f"[Errno {failure.errno}] {failure.strerror}")
        finally:
            os.close(fd)
    with contextlib.suppress(OSError):
        if os.statvfs(probe.parent).f_bavail == 0:
            return OutputWriteError(
                str(path), f"[Errno {errno.ENOSPC}] {os.strerror(errno.ENOSPC)}"
            )
    return OutputWriteError(str(path), str(error) or type(error).__name__)


def reserve_space(path: str | Path, size_bytes: int) -> None:
    """Create ``path`` (it must not exist) and check that ``size_bytes`` fit on its disk.

    The space is allocated (:func:`os.posix_fallocate`) and released again (the file is left
    empty): a disk too full or a file-size limit too small is found before any work is done,
    with the operating system's error. A file system that cannot allocate ahead is not
    checked.

    Raises
    ------
    OSError
        The space cannot be allocated (``ENOSPC``, ``EFBIG``, ...); the file is removed.
    """
    path = Path(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        if size_bytes > 0:
            os.posix_fallocate(fd, 0, int(size_bytes))
        os.ftruncate(fd, 0)
    except OSError as err:
        if err.errno in (errno.EOPNOTSUPP, errno.EINVAL):
            return
        os.close(fd)
        fd = -1
        path.unlink(missing_ok=True)
        raise
    finally:
        if fd >= 0:
            os.close(fd)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_new(source: Path, target: Path) -> bool:
    """Move ``source`` to ``target`` unless ``target`` exists; return False if it does."""
    try:
        os.link(source, target)
    except FileExistsError:
        return False
    except OSError as err:  # a file system without hard links
        if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
        if target.exists():
            return False
        os.replace(source, target)
        return True
    source.unlink()
    return True


def _partial_name(target: Path, suffix: str) -> Path:
    """``STEM.partial-PID.SUFFIX`` beside ``target``; a name in use (a killed run's) is kept."""
    base, count = f"{target.stem}.partial-{os.getpid()}", 1
    name = target.parent / f"{base}{suffix}"
    while name.exists() or name.is_symlink():
        count += 1
        name = target.parent / f"{base}-{count}{suffix}"
    return name


class _Output:
    """What :class:`OutputFile` and :class:`OutputFolder` share: the lock, the ``with`` protocol."""

    def __init__(self, path: Path, partial: Path, *, overwrite: bool, option: str) -> None:
        self.path = path
        self.partial = partial
        self.overwrite = overwrite
        self.option = option
        self.published = False
        self._lock = OutputLock(path, option=option)

    def _prepare(self) -> None:
        raise NotImplementedError

    def publish(self) -> Path:
        """Move what was written onto :attr:`path`."""
        raise NotImplementedError

    def discard(self) -> None:
        """Remove what was written, if not yet published."""
        raise NotImplementedError

    def open(self) -> _Output:
        """Take the lock and check the path again (no other writer can change it now)."""
        self._lock.acquire()
        try:
            self._prepare()
        except OSError as err:
            self._lock.release()
            raise write_error(self.partial, err) from None
        except BaseException:
            self._lock.release()
            raise
        return self

    def close(self) -> None:
        """Release the lock."""
        self._lock.release()

    def __enter__(self) -> Any:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None and not self.published:
                try:
                    self.publish()
                except BaseException:
                    self.discard()
                    raise
            elif exc_type is not None:
                self.discard()
        finally:
            self.close()


class OutputFile(_Output):
    """One output file written safely; a context manager.

    ``with OutputFile(path, overwrite=...) as out:`` checks the path (:func:`check_output`),
    takes the lock, and gives :attr:`partial`, the file to write; on a normal exit the partial
    file replaces ``path`` (:meth:`publish`), on an exception it is removed and ``path`` is
    untouched. A writer that publishes earlier (a record, linked in place when it is new so
    that a crash leaves its finished points) calls :meth:`publish` itself.

    Parameters
    ----------
    path
        The output file.
    overwrite
        Allow replacing an existing file (when the new one is published).
    option
        The command-line option that named the path, for messages.
    formats, inputs
        As :func:`check_output`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        overwrite: bool = False,
        option: str = "-o",
        formats: Iterable[str] | None = None,
        inputs: Iterable[str | Path | None] = (),
    ) -> None:
        path = check_output(
            path, overwrite=overwrite, option=option, formats=formats, inputs=inputs
        )
        super().__init__(path, _partial_name(path, path.suffix), overwrite=overwrite, option=option)
        self.replaces_existing = False

    def _prepare(self) -> None:
        check_output(self.path, overwrite=self.overwrite, option=self.option)
        self.replaces_existing = self.path.exists() or self.path.is_symlink()
        self.partial = _partial_name(self.path, self.path.suffix)  # free, now that we hold the lock

    def publish(self) -> Path:
        """Move the partial file onto the path: atomically replacing, or linking a new file.

        Raises
        ------
        OutputPathError
            The path appeared meanwhile and ``overwrite`` is off (nothing replaced).
        OutputWriteError
            The file could not be flushed or moved.
        """
        try:
            _fsync_path(self.partial)
            if self.overwrite:
                os.replace(self.partial, self.path)
            elif not _link_new(self.partial, self.path):
                raise _refuse(self.path, self.option, "appeared while it was written")
            _fsync_path(self.path.parent)
        except OSError as err:
            raise write_error(self.path, err) from None
        self.published = True
        return self.path

    def discard(self) -> None:
        """Remove the partial file, if any (never the published file)."""
        if not self.published:
            with contextlib.suppress(FileNotFoundError):
                self.partial.unlink()


class OutputFolder(_Output):
    """A folder of output files written safely (``spin-echo paper --outdir``); a context manager.

    The files are written into :attr:`partial` (``NAME.partial-PID`` beside the folder); on a
    normal exit each one replaces its namesake in the folder (:func:`os.replace`, one file at a
    time, each atomic) and the partial folder is removed; on an exception the partial folder is
    removed and the folder is untouched.
    """

    def __init__(
        self, path: str | Path, *, overwrite: bool = False, option: str = "--outdir"
    ) -> None:
        path = check_folder(path, overwrite=overwrite, option=option)
        super().__init__(path, _partial_name(path, ""), overwrite=overwrite, option=option)

    def _prepare(self) -> None:
        check_folder(self.path, overwrite=self.overwrite, option=self.option)
        self.partial = _partial_name(self.path, "")  # free, now that we hold the lock
        self.partial.mkdir()

    def publish(self) -> Path:
        """Move every file of the partial folder into the folder; remove the partial folder."""
        try:
            self.path.mkdir(exist_ok=True)
            folders = {self.path}
            for source in sorted(p for p in self.partial.rglob("*") if p.is_file()):
                target = self.path / source.relative_to(self.partial)
                target.parent.mkdir(parents=True, exist_ok=True)
                _fsync_path(source)
                os.replace(source, target)
                folders.add(target.parent)
            for folder in folders:
                _fsync_path(folder)
        except OSError as err:
            raise write_error(self.path, err) from None
        shutil.rmtree(self.partial, ignore_errors=True)
        self.published = True
        return self.path

    def discard(self) -> None:
        """Remove the partial folder and everything in it."""
        shutil.rmtree(self.partial, ignore_errors=True)
