"""A record is readable at every moment while a real ``spin-echo`` process writes it (issue 17).

The writer publishes snapshots of a hidden working file (:mod:`spin_echo.echo.record_file`);
this process reads the record in a loop, with HDF5's default file locking, through
``xarray.open_dataset`` (default engine), spin_echo's checked reader and ``spin-echo plot``,
while ``spin-echo simulate`` writes it: no read may fail, the finished points only grow, and
every read is consistent (finished points finite and equal to the final record's, unfinished
ones NaN, ``complete`` 0 until the end).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import spin_echo as se
from spin_echo.echo.record import RecordWriter
from spin_echo.echo.record_file import LiveFile, remove_leftovers

pytestmark = pytest.mark.timeout(120)

DATA = ("signal_re", "signal_im", "mz", "signal_sem_re", "signal_sem_im")


def _state(ds: xr.Dataset) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Finished-point mask, the data, and ``complete`` of a loaded record."""
    done = ds["point_complete"].values.astype(bool)
    return done, {name: ds[name].values for name in DATA}, int(ds.attrs["complete"])


def test_a_record_is_readable_at_every_moment_while_it_is_written(tmp_path):
    record = tmp_path / "live.nc"
    env = {key: value for key, value in os.environ.items() if key != "HDF5_USE_FILE_LOCKING"}
    command = [sys.executable, "-m", "spin_echo.echo.cli", "simulate", "hahn-echo"]
    command += ["--sample", "bare", "--packets", "150000", "-o", str(record)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    reads: list[tuple[np.ndarray, dict[str, np.ndarray], int]] = []
    failures: list[str] = []
    plot: subprocess.Popen | None = None
    deadline = time.monotonic() + 100
    while time.monotonic() < deadline:
        running = proc.poll() is None
        if not record.exists():
            assert running, proc.communicate()[1].decode()
            time.sleep(0.002)
            continue
        try:
            with xr.open_dataset(record) as opened:  # default engine, default HDF5 locking
                reads.append(_state(opened.load()))
            reads.append(_state(se.read(record)))
            if plot is None and reads[-1][0].any() and not reads[-1][0].all():
                # mid-run: spin-echo plot reads the same file, in a process of its own
                plot = subprocess.Popen(
                    [sys.executable, "-m", "spin_echo.echo.cli", "plot", str(record)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                    cwd=tmp_path,
                )
        except Exception as err:  # every failed read is the finding
            failures.append(f"{type(err).__name__}: {err}")
        if not running:
            break
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert failures == []
    final_done, final, complete = _state(xr.load_dataset(record))
    assert final_done.all() and complete == 1
    counts = [int(done.sum()) for done, _, _ in reads]
    assert counts == sorted(counts), counts
    assert len(set(counts)) >= 4, counts  # the reads saw the record grow, point by point
    assert plot is not None
    _, err = plot.communicate(timeout=60)
    assert plot.returncode == 0, err.decode()
    for done, data, complete in reads:
        # complete only with every point; every point may be published a moment before the
        # writer closes and sets complete (a crash then leaves all points, complete = 0)
        assert complete in (0, 1) and (complete == 0 or done.all())
        for name in DATA:
            np.testing.assert_array_equal(data[name][done], final[name][done], name)
            assert np.isfinite(data[name][done]).all(), name
            assert np.isnan(data[name][~done]).all(), name
    # nothing is left beside the record once the writer is done
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.nc", "live.png"]


def test_fast_points_are_published_together_and_all_at_the_end(tmp_path):
    """Snapshots are throttled (at most SNAPSHOT_SHARE of the run); the working file is not."""
    time_s = np.arange(2**12) * 1e-9  # 200 points x 2 series x 8 B x 2**12: 12.5 MiB
    path = tmp_path / "big.nc"
    with RecordWriter(
        path, axes=[("tau", np.arange(200.0), "time")], time_s=time_s, attrs={"protocol": "p"}
    ) as writer:
        live: LiveFile = writer.live
        for k in range(200):
            writer.write_point((k,), np.full(len(time_s), k + 1.0))
        taken = live.snapshots
        with xr.open_dataset(path) as ds:
            published = int(ds["point_complete"].sum())
    assert taken < 100 and published < 200
    with xr.open_dataset(path) as ds:
        assert int(ds["point_complete"].sum()) == 200 and int(ds.attrs["complete"]) == 1
        np.testing.assert_array_equal(ds["signal_re"].values[:, -1], np.arange(1.0, 201.0))


def test_leftovers_of_killed_writers_are_removed_and_nothing_else(tmp_path):
    path = tmp_path / "rec.nc"
    leftovers = [
        tmp_path / ".rec.partial-123.nc.working",
        tmp_path / ".rec.partial-123-2.nc.snapshot",
        tmp_path / ".rec.partial-9.nc.creating",
    ]
    others = [
        tmp_path / ".rec.partial-5.partial-7.nc.working",  # a writer of rec.partial-5.nc
        tmp_path / "rec.partial-123.nc",  # an interrupted --overwrite run's record
        tmp_path / ".rec.partial-123.nc.lock",
        tmp_path / ".other.partial-1.nc.working",
    ]
    for file in leftovers + others:
        file.write_bytes(b"x")
    assert sorted(remove_leftovers(path)) == sorted(leftovers)
    assert sorted(tmp_path.iterdir()) == sorted(others)


def test_a_kill_leaves_the_last_snapshot_and_the_next_writer_cleans_up(tmp_path):
    path = tmp_path / "rec.nc"
    script = (
        "import os, time, numpy as np\n"
        "from spin_echo.echo.record import RecordWriter\n"
        f"rec = RecordWriter({str(path)!r}, axes=[('tau', np.arange(3.0), 'time')],\n"
        "    time_s=np.arange(4.0), attrs={'source': 'simulate', 'protocol': 'name: p'})\n"
        "time.sleep(max(0.0, rec.live.due_s - time.monotonic()) + 0.01)  # published at once\n"
        "rec.write_point((0,), np.ones(4))\n"
        "os._exit(9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == 9, proc.stderr.decode()
    hidden = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".working"))
    assert len(hidden) == 1
    with xr.open_dataset(path) as ds:
        assert ds["point_complete"].values.tolist() == [1, 0, 0]
    with RecordWriter(
        path,
        axes=[("tau", np.arange(3.0), "time")],
        time_s=np.arange(4.0),
        attrs={},
        overwrite=True,
    ) as rec:
        for k in range(3):
            rec.write_point((k,), np.ones(4))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.nc"]
    assert Path(path).stat().st_size > 0
