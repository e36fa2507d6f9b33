"""Tests of :mod:`spin_echo.echo.output` and :mod:`spin_echo.echo.output_lock` on real files."""

from __future__ import annotations

import errno
import os
import pickle
import signal
import subprocess
import sys
import textwrap

import pytest

from spin_echo.echo.output import (
    OutputFile,
    OutputFolder,
    OutputPathError,
    OutputWriteError,
    check_folder,
    check_output,
    image_formats,
    reserve_space,
    write_error,
)
from spin_echo.echo.output_lock import OutputBusyError, OutputLock


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_image_formats_are_matplotlibs():
    formats = image_formats()
    assert {"png", "pdf", "svg", "jpg"} <= formats
    assert "nc" not in formats and "" not in formats


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("old.nc", {}, "exists; nothing was written"),
        ("missing/x.nc", {}, "no such folder"),
        ("sub", {"overwrite": True}, "is a folder"),
        ("x.xyz", {"formats": {"png"}}, "unknown image format 'xyz': use one of png"),
        ("x", {"formats": {"png"}}, "unknown image format ''"),
        ("fifo", {"overwrite": True}, "not a regular file"),
        ("old.nc", {"overwrite": True, "inputs": ["old.nc"]}, "is also another file this command"),
    ],
    ids=["exists", "no-folder", "folder", "format", "no-suffix", "fifo", "is-input"],
)
def test_check_output_refuses_and_creates_nothing(tmp_path, monkeypatch, name, kwargs, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.nc").write_bytes(b"old")
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "fifo")
    before = listing(tmp_path)
    with pytest.raises(OutputPathError, match=message) as caught:
        check_output(name, option="--plot", **kwargs)
    assert caught.value.key == "--plot" and caught.value.value == name
    assert listing(tmp_path) == before


def test_check_output_accepts_a_new_file_and_an_allowed_overwrite(tmp_path):
    (tmp_path / "old.png").write_bytes(b"old")
    assert check_output(tmp_path / "new.png", formats=image_formats()) == tmp_path / "new.png"
    assert check_output(tmp_path / "old.png", overwrite=True, formats={"png"}).name == "old.png"
    assert listing(tmp_path) == ["old.png"]


def test_a_new_file_appears_only_when_complete(tmp_path):
    target = tmp_path / "fit.yaml"
    with OutputFile(target) as out:
        out.partial.write_text("a: 1\n")
        assert not target.exists()
        assert out.partial.parent == tmp_path and out.partial.suffix == ".yaml"
    assert target.read_text() == "a: 1\n"
    assert listing(tmp_path) == ["fit.yaml"]


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path):
    target = tmp_path / "fit.yaml"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), OutputFile(target, overwrite=True) as out:
        out.partial.write_text("half")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old\n"
    assert listing(tmp_path) == ["fit.yaml"]


def test_overwrite_replaces_in_one_rename(tmp_path):
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    with open(target, "rb") as reader, OutputFile(target, overwrite=True) as out:
        out.partial.write_bytes(b"new")
        assert target.read_bytes() == b"old"
        out.publish()
        assert reader.read() == b"old"  # a reader of the old file keeps it whole
    assert target.read_bytes() == b"new"
    assert listing(tmp_path) == ["fig.png"]


def test_a_file_that_appears_while_writing_is_not_replaced(tmp_path):
    target = tmp_path / "fig.png"
    with pytest.raises(OutputPathError, match="appeared"), OutputFile(target) as out:
        out.partial.write_bytes(b"new")
        target.write_bytes(b"someone else's")
    assert target.read_bytes() == b"someone else's"
    assert listing(tmp_path) == ["fig.png"]


def test_the_same_output_twice_in_one_process_is_refused(tmp_path):
    with OutputFile(tmp_path / "a.png") as out:
        out.partial.write_bytes(b"png")
        with pytest.raises(OutputBusyError, match="already an output of this command"):
            OutputFile(tmp_path / "a.png", overwrite=True).open()
    with OutputFile(tmp_path / "a.png", overwrite=True) as out:  # released: usable again
        out.partial.write_bytes(b"new png")
    assert (tmp_path / "a.png").read_bytes() == b"new png"


HOLD = textwrap.dedent(
    """
    import sys, time
    from spin_echo.echo.output_lock import OutputLock
    OutputLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    time.sleep(60)
    """
)


def test_a_lock_held_by_another_process_refuses_and_dies_with_it(tmp_path):
    target = tmp_path / "rec.nc"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputBusyError, match=f"pid {holder.pid}"):
            OutputLock(target, option="-o").acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert (tmp_path / ".rec.nc.lock").exists()  # the file stays after SIGKILL ...
    lock = OutputLock(target)
    lock.acquire()  # ... its lock does not
    assert (tmp_path / ".rec.nc.lock").read_text() == f"{os.getpid()}\n"
    lock.release()
    assert listing(tmp_path) == []


def test_reserve_space_reports_the_os_error_and_leaves_nothing(tmp_path):
    with pytest.raises(OSError) as caught:
        reserve_space(tmp_path / "huge.nc", 2**62)
    assert caught.value.errno in (errno.EFBIG, errno.ENOSPC)
    assert listing(tmp_path) == []
    reserve_space(tmp_path / "small.nc", 4096)
    assert (tmp_path / "small.nc").stat().st_size == 0


def test_write_error_names_the_file_and_the_os_error_and_changes_nothing(tmp_path):
    path = tmp_path / "rec.nc"
    path.write_bytes(b"0123456789")
    error = write_error(path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    assert str(error) == f"{path}: cannot write: [Errno 28] No space left on device"
    # an error without an errno (netCDF's "HDF error"): the file is probed, not changed
    error = write_error(path, RuntimeError("NetCDF: HDF error"))
    assert str(error) == f"{path}: cannot write: NetCDF: HDF error"
    assert path.read_bytes() == b"0123456789"
    assert pickle.loads(pickle.dumps(error)).reason == error.reason
    assert isinstance(error, OutputWriteError)


def test_write_error_finds_efbig_behind_a_bare_hdf_error(tmp_path):
    path = tmp_path / "rec.nc"
    path.write_bytes(b"x" * 5000)
    script = textwrap.dedent(
        f"""
        import resource, signal
        from spin_echo.echo.output import write_error
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        print(write_error({str(path)!r}, RuntimeError("NetCDF: HDF error")))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.stdout.strip() == f"{path}: cannot write: [Errno 27] File too large", out.stderr
    assert path.read_bytes() == b"x" * 5000


def test_output_folder_moves_every_file_in_only_at_the_end(tmp_path):
    outdir = tmp_path / "paper"
    outdir.mkdir()
    (outdir / "report.md").write_text("old report")
    (outdir / "mine.txt").write_text("not the run's")
    with pytest.raises(OutputPathError, match="is not empty"):
        check_folder(outdir)
    with OutputFolder(outdir, overwrite=True) as folder:
        (folder.partial / "report.md").write_text("new report")
        (folder.partial / "samples").mkdir()
        (folder.partial / "samples" / "s.yaml").write_text("name: s\n")
        assert (outdir / "report.md").read_text() == "old report"
    assert (outdir / "report.md").read_text() == "new report"
    assert (outdir / "mine.txt").read_text() == "not the run's"
    assert listing(tmp_path) == [
        "paper",
        "paper/mine.txt",
        "paper/report.md",
        "paper/samples",
        "paper/samples/s.yaml",
    ]


def test_a_failed_output_folder_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), OutputFolder(tmp_path / "paper") as folder:
        (folder.partial / "fig.png").write_bytes(b"half")
        raise KeyboardInterrupt
    assert listing(tmp_path) == []
    with pytest.raises(OutputPathError, match="no such folder"):
        OutputFolder(tmp_path / "missing" / "paper")


def test_a_partial_file_left_by_a_killed_run_is_kept(tmp_path):
    leftover = tmp_path / f"a.partial-{os.getpid()}.png"  # a killed run that had our pid
    leftover.write_bytes(b"finished points of a killed run")
    with OutputFile(tmp_path / "a.png") as out:
        assert out.partial != leftover
        out.partial.write_bytes(b"png")
    assert leftover.read_bytes() == b"finished points of a killed run"
    assert (tmp_path / "a.png").read_bytes() == b"png"
