"""Nothing a user records is ever lost: real processes, real files, no mocks (issue 11).

- an existing output is never touched without ``--overwrite``, and with it the old record
  survives until the new one is complete (also when the new run is killed);
- a second writer of the same record is refused (exit 2) before it touches the file, and a
  killed writer leaves no lock behind that refuses the next run;
- a file-size limit (``RLIMIT_FSIZE``, the kernel's ``EFBIG``, as a full disk's ``ENOSPC``) hit
  before the first point or in the middle of a run: exit 1, one line naming the file and the
  operating system's error, every finished point kept;
- SIGKILL at random moments (creation included) leaves a valid record (or none) whose finished
  points equal an uninterrupted run's bit for bit;
- a bad input never creates or modifies any file.
"""

from __future__ import annotations

import hashlib
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from spin_echo.echo.cli.main import main

pytestmark = pytest.mark.timeout(120)

SIMULATE = ["simulate", "hahn-echo", "--sample", "bare", "--packets", "200"]


def errors(stderr: str) -> list[str]:
    """The lines of ``stderr`` that are not warnings (the rotating-wave one, say)."""
    return [line for line in stderr.splitlines() if not line.startswith("spin-echo: warning:")]



DATA = ("signal_re", "signal_im", "mz")


def spin_echo(*args: str, **kwargs) -> subprocess.Popen:
    """Start ``spin-echo ARGS`` as a real process."""
    command = [sys.executable, "-m", "spin_echo.echo.cli", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def wait_for(path: Path, proc: subprocess.Popen, timeout_s: float = 60.0) -> bool:
    """Wait until ``path`` exists; False if the process ended first."""
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            return path.exists()
        time.sleep(0.002)
    return True


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``folder``: size, modification time (ns) and SHA-256."""
    return {
        str(p.relative_to(folder)): (
            p.stat().st_size,
            p.stat().st_mtime_ns,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_valid_prefix(path: Path, reference: xr.Dataset, where: str) -> int:
    """Assert ``path`` is a valid record whose finished points equal ``reference``'s."""
    with xr.open_dataset(path) as opened:
        ds = opened.load()
    done = ds["point_complete"].values.astype(bool)
    assert int(ds.attrs["complete"]) == int(done.all()), where
    for name in DATA:
        np.testing.assert_array_equal(ds[name].values[done], reference[name].values[done], where)
        assert np.isnan(ds[name].values[~done]).all(), where
    return int(done.sum())


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, xr.Dataset]:
    """An uninterrupted run's record (the bit-for-bit reference of every test here)."""
    path = tmp_path_factory.mktemp("reference") / "reference.nc"
    assert main([*SIMULATE, "-o", str(path)]) == 0
    return path, xr.load_dataset(path)


def test_existing_record_is_refused_without_overwrite(reference, tmp_path, capsys):
    record = tmp_path / "rec.nc"
    shutil.copyfile(reference[0], record)
    before = snapshot(tmp_path)
    assert main([*SIMULATE, "-o", str(record)]) == 2
    (line,) = errors(capsys.readouterr().err)
    assert f"-o = '{record}': exists" in line and "--overwrite" in line
    assert snapshot(tmp_path) == before


def test_overwrite_keeps_the_old_record_until_the_new_one_is_complete(reference, tmp_path):
    record = tmp_path / "rec.nc"
    shutil.copyfile(reference[0], record)
    old = record.read_bytes()
    # the new run is killed in the middle: the old record is untouched, the new one's finished
    # points are kept beside it
    proc = spin_echo(*SIMULATE, "-o", str(record), "--overwrite")
    partial = tmp_path / f"rec.partial-{proc.pid}.nc"
    assert wait_for(partial, proc)
    time.sleep(random.uniform(0.0, 0.05))
    proc.kill()
    if proc.wait(timeout=30) == 0:
        # it finished before the kill landed: then (and only then) the old record is replaced
        assert assert_valid_prefix(record, reference[1], "run that finished first") == 12
        pytest.skip("the run finished before it could be killed")
    assert record.read_bytes() == old
    assert_valid_prefix(partial, reference[1], "partial record of the killed run")
    # a run that completes replaces the old record in one rename, and leaves nothing beside it
    partial.unlink()
    inode = record.stat().st_ino
    assert main([*SIMULATE, "-o", str(record), "--overwrite"]) == 0
    assert record.stat().st_ino != inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.nc"]
    assert assert_valid_prefix(record, reference[1], "replaced record") == 12


def test_an_interrupted_overwrite_names_where_the_new_points_are(reference, tmp_path):
    record = tmp_path / "rec.nc"
    shutil.copyfile(reference[0], record)
    old = record.read_bytes()
    env = {**os.environ, "HDF5_USE_FILE_LOCKING": "FALSE"}
    proc = spin_echo(*SIMULATE, "-o", str(record), "--overwrite", env=env)
    partial = tmp_path / f"rec.partial-{proc.pid}.nc"
    assert wait_for(partial, proc)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with netCDF4.Dataset(partial) as ds:
                if int(ds["point_complete"][:].sum()) >= 1:
                    break
        except (OSError, RuntimeError, IndexError):
            pass
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before it could be interrupted")
    assert proc.returncode == 130, err.decode()
    assert f"{record} is unchanged; the new record" in err.decode()
    assert str(partial) in err.decode()
    assert record.read_bytes() == old
    assert assert_valid_prefix(partial, reference[1], "interrupted overwrite") >= 1


def test_a_second_writer_is_refused_before_it_touches_the_record(reference, tmp_path, capsys):
    record = tmp_path / "rec.nc"
    first = spin_echo(*SIMULATE, "-o", str(record))
    try:
        assert wait_for(record, first)
        first.send_signal(signal.SIGSTOP)  # the first writer holds the record, frozen mid-run
        before = snapshot(tmp_path)
        second = spin_echo(*SIMULATE, "-o", str(record), "--overwrite")
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2, err.decode()
        (line,) = errors(err.decode())
        assert f"another spin-echo process (pid {first.pid}) is writing it" in line
        assert main([*SIMULATE, "-o", str(record)]) == 2  # without --overwrite: it exists
        assert "exists" in capsys.readouterr().err
        assert snapshot(tmp_path) == before
    finally:
        first.send_signal(signal.SIGCONT)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err.decode()
    assert assert_valid_prefix(record, reference[1], "first writer's record") == 12


def _ignore_sigxfsz() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_a_disk_too_small_for_the_record_is_found_before_the_first_point(reference, tmp_path):
    def small_disk() -> None:
        _ignore_sigxfsz()
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    new, old = tmp_path / "new", tmp_path / "old"  # a new record, and one to replace
    new.mkdir()
    old.mkdir()
    shutil.copyfile(reference[0], old / "rec.nc")
    before = snapshot(old)
    runs = {
        folder: spin_echo(*SIMULATE, "-o", str(folder / "rec.nc"), *extra, preexec_fn=small_disk)
        for folder, extra in ((new, ()), (old, ("--overwrite",)))
    }
    for folder, proc in runs.items():
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, err.decode()
        (line,) = errors(err.decode())
        record = folder / "rec.nc"
        assert line == f"spin-echo: failed: {record}: cannot write: [Errno 27] File too large"
    assert list(new.iterdir()) == []
    assert snapshot(old) == before


def test_an_io_error_mid_run_keeps_every_finished_point(reference, tmp_path):
    record = tmp_path / "rec.nc"
    env = {**os.environ, "HDF5_USE_FILE_LOCKING": "FALSE"}  # let this test read while it runs
    proc = spin_echo(*SIMULATE, "-o", str(record), env=env, preexec_fn=_ignore_sigxfsz)
    assert wait_for(record, proc)
    done = 0
    while proc.poll() is None and done < 2:
        try:
            with netCDF4.Dataset(record) as ds:
                done = int(ds["point_complete"][:].sum())
        except (OSError, RuntimeError, IndexError):
            pass
        time.sleep(0.005)
    # from now on the kernel refuses every write to the record: EFBIG in the middle of the run
    resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (1000, 1000))
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the limit was set")
    assert proc.returncode == 1, err.decode()
    (line,) = errors(err.decode())
    assert line == f"spin-echo: failed: {record}: cannot write: [Errno 27] File too large"
    assert assert_valid_prefix(record, reference[1], "record after EFBIG") >= done >= 2


def test_sigkill_at_random_moments_leaves_a_valid_record(reference, tmp_path):
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    # (what to wait for, longest delay after it): creation of the file, then the run itself
    plan = [("lock", 0.05), ("record", 0.3), ("record", 1.0), ("record", 2.0)]
    outcomes: dict[int, str] = {}

    def kill_later(k: int, proc: subprocess.Popen, anchor: Path, delay: float) -> None:
        wait_for(anchor, proc)
        time.sleep(delay)
        proc.kill()
        proc.communicate(timeout=60)
        outcomes[k] = f"exit {proc.returncode}, {delay:.3f} s after {anchor.name}"

    threads = []
    for k, (what, longest) in enumerate(plan):
        record = tmp_path / f"rec{k}.nc"
        anchor = record if what == "record" else tmp_path / f".rec{k}.nc.lock"
        proc = spin_echo(*SIMULATE, "-o", str(record))
        thread = threading.Thread(
            target=kill_later, args=(k, proc, anchor, rng.uniform(0.0, longest))
        )
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=90)
    for k in range(len(plan)):
        record = tmp_path / f"rec{k}.nc"
        where = f"kill {k}: {outcomes.get(k)} (random seed {seed})"
        if record.exists():
            assert_valid_prefix(record, reference[1], where)
    # the lock file of the writer killed while it created its record stays behind, but its lock
    # died with it: no stale-lock trap
    record, lock = tmp_path / "rec0.nc", tmp_path / ".rec0.nc.lock"
    assert lock.exists()
    assert main([*SIMULATE, "-o", str(record), "--overwrite"]) == 0
    assert not lock.exists()
    assert assert_valid_prefix(record, reference[1], "record after a killed writer") == 12


@pytest.fixture(scope="module")
def workdir(reference, tmp_path_factory) -> Path:
    """A folder with a record, an image, a fitted sample and a paper folder in it."""
    folder = tmp_path_factory.mktemp("bad-input")
    shutil.copyfile(reference[0], folder / "rec.nc")
    (folder / "rec.png").write_bytes(b"\x89PNG not really")
    (folder / "bare-fitted.yaml").write_text("name: fitted\n")
    (folder / "paper").mkdir()
    (folder / "paper" / "report.md").write_text("# an earlier reproduction\n")
    return folder


F = ["--sample", "bare", "--free", "bias.width"]
BAD = {
    "seed-negative": ([*SIMULATE, "--seed", "-1", "-o", "new.nc"], "--seed = -1"),
    "packets-zero": ([*SIMULATE[:-1], "0", "-o", "new.nc"], "--packets = 0"),
    "packets-negative": ([*SIMULATE[:-1], "-5", "-o", "new.nc"], "--packets = -5"),
    "packets-huge": ([*SIMULATE[:-1], "1000000000", "-o", "new.nc"], "--packets = 1000000000"),
    "workers-zero": ([*SIMULATE, "--workers", "0", "-o", "new.nc"], "--workers = 0"),
    "record-exists": ([*SIMULATE, "-o", "rec.nc"], "-o = 'rec.nc': exists"),
    "bad-input-with-overwrite": ([*SIMULATE[:-1], "-1", "-o", "rec.nc", "--overwrite"], "-1"),
    "record-folder-missing": ([*SIMULATE, "-o", "missing/new.nc"], "no such folder: missing"),
    "record-is-a-folder": ([*SIMULATE, "-o", "paper", "--overwrite"], "is a folder"),
    "plot-format": ([*SIMULATE, "-o", "new.nc", "--plot", "new.xyz"], "image format 'xyz'"),
    "plot-folder-missing": ([*SIMULATE, "--plot", "missing/x.png"], "no such folder"),
    "plot-exists": ([*SIMULATE, "-o", "new.nc", "--plot", "rec.png"], "'rec.png': exists"),
    "plot-is-record": ([*SIMULATE, "-o", "rec.nc", "--plot", "rec.nc", "--overwrite"], "'nc'"),
    "run-seed-negative": (["run", "hahn-echo", "--bench", "virtual", "--seed", "-1"], "--seed"),
    "run-plot-format": (["run", "hahn-echo", "--bench", "virtual", "--plot", "x.nc"], "'nc'"),
    "run-record-exists": (["run", "hahn-echo", "--bench", "virtual", "-o", "rec.nc"], "exists"),
    "plot-output-exists": (["plot", "rec.nc"], "-o = 'rec.png': exists"),
    "plot-output-format": (["plot", "rec.nc", "-o", "rec.abc"], "image format 'abc'"),
    "plot-output-folder": (["plot", "rec.nc", "-o", "missing/x.png"], "no such folder"),
    "compare-plot-format": (["compare", "rec.nc", "rec.nc", "--plot", "x.nc"], "format 'nc'"),
    "compare-plot-exists": (["compare", "rec.nc", "rec.nc", "--plot", "rec.png"], "exists"),
    "show-plot-folder": (["show", "hahn-echo", "--plot", "missing/x.png"], "no such folder"),
    "show-plot-exists": (["show", "hahn-echo", "--plot", "rec.png"], "'rec.png': exists"),
    "fit-output-exists": (["fit", "rec.nc", *F], "-o = 'bare-fitted.yaml': exists"),
    "fit-seed-negative": (["fit", "rec.nc", *F, "--seed", "-1", "-o", "n.yaml"], "--seed = -1"),
    "fit-output-folder": (["fit", "rec.nc", *F, "-o", "missing/n.yaml"], "no such folder"),
    "paper-folder-not-empty": (["paper", "--outdir", "paper"], "--outdir = 'paper': is not empty"),
    "paper-parent-missing": (["paper", "--outdir", "missing/paper"], "no such folder: missing"),
    "paper-seed-negative": (["paper", "--seed", "-1", "--outdir", "new-paper"], "--seed = -1"),
    "lab-bench-file-exists": (
        ["serve-virtual-lab", "--sample", "bare", "--bench-file", "bare-fitted.yaml"],
        "--bench-file = 'bare-fitted.yaml': exists",
    ),
}


@pytest.mark.parametrize(("argv", "needle"), list(BAD.values()), ids=list(BAD))
def test_bad_input_never_creates_or_modifies_a_file(workdir, argv, needle, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    before = snapshot(workdir)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("spin-echo: error: ") and len(err.splitlines()) == 1, err
    assert needle in err
    assert snapshot(workdir) == before
    assert sorted(p.name for p in workdir.iterdir()) == sorted(
        ["rec.nc", "rec.png", "bare-fitted.yaml", "paper"]
    )
