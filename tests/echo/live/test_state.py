"""RecordWatcher: the live state of a record that grows, fails, vanishes or goes stale.

Real record files, replaced in one rename as a writer publishes them; a real output lock held
by this process stands for the run that writes them.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import matplotlib.image as mpimg
import netCDF4
import numpy as np
import pytest

from spin_echo.echo.cli.main import main
from spin_echo.echo.live.state import (
    STATUSES,
    LiveState,
    RecordWatcher,
    replaced_record,
    writer_pid,
)
from spin_echo.echo.output_lock import OutputLock
from tests.echo.live.records import T_M_S, write

PNG = b"\x89PNG\r\n\x1a\n"


def publish(tmp_path, record, points, **kwargs):
    """Write a record of ``points`` points beside ``record`` and rename it onto ``record``."""
    snapshot = write(tmp_path / f"snapshot-{points}.nc", points, **kwargs)
    os.replace(snapshot, record)


#: The locks the ``writer`` fixture holds, by record path.
LOCKS = {}


@pytest.fixture
def writer(tmp_path):
    """The record's output lock, held by this process as a running writer holds it."""
    record = tmp_path / "live.nc"
    LOCKS[record] = OutputLock(record)
    LOCKS[record].acquire()
    yield record
    LOCKS.pop(record).release()


def finish(record):
    """The writer ends: it releases the record's lock."""
    LOCKS[record].release()


class Clock:
    """A monotonic clock the test moves by hand (for --stale)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_points_arrive_and_the_fit_updates(tmp_path, writer):
    record = writer
    publish(tmp_path, record, 3)
    with RecordWatcher(record, interval_s=0.0) as watcher:
        state = watcher.poll()
        assert (state.status, state.points_done, state.points_total) == ("running", 3, 12)
        assert state.version == 1 and state.figure_png.startswith(PNG)
        assert state.report == "" and state.fit is None  # 3 points: no fit yet, plot says why
        assert any("needs at least 5" in note for note in state.notes), state.notes
        assert watcher.poll().version == 1  # nothing changed: not redrawn

        publish(tmp_path, record, 7)
        state = watcher.poll()
        assert (state.status, state.points_done, state.version) == ("running", 7, 2)
        assert "T_M = " in state.report
        first = state.fit["parameters"]["T_M"]

        publish(tmp_path, record, 12)
        state = watcher.poll()
        assert (state.status, state.points_done, state.version) == ("running", 12, 3)
        assert state.message.startswith("complete = 1, and a spin-echo process still holds it")
        finish(record)
        state = watcher.poll()
        assert (state.status, state.version, state.final) == ("complete", 3, True)
    final = state.fit["parameters"]["T_M"]
    assert final["error"] < first["error"]
    assert abs(final["value"] - T_M_S) < 4 * final["error"] and final["error"] < 0.01 * T_M_S


def test_the_figure_is_the_one_plot_draws(tmp_path, writer, capsys):
    publish(tmp_path, writer, 8)
    with RecordWatcher(writer, interval_s=0.0) as watcher:
        state = watcher.poll()
    assert main(["plot", str(writer), "-o", str(tmp_path / "plot.png")]) == 0
    live = mpimg.imread(io.BytesIO(state.figure_png), format="png")
    drawn = mpimg.imread(tmp_path / "plot.png")
    assert live.shape == drawn.shape and np.array_equal(live, drawn)
    assert "T_M = " in state.report and state.report in capsys.readouterr().out


def test_a_run_that_stops_without_completing_is_an_error(tmp_path):
    record = write(tmp_path / "rec.nc", 5)
    assert writer_pid(record) is None
    with RecordWatcher(record, interval_s=0.0) as watcher:
        state = watcher.poll()
    assert state.status == "error"
    assert "stopped at 5 of 12 points" in state.message and "complete = 0" in state.message
    assert state.figure_png is not None  # the points it has are still drawn


def test_a_killed_writer_is_noticed(tmp_path):
    """The lock file a SIGKILLed writer leaves names a process that is gone."""
    record = tmp_path / "rec.nc"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom spin_echo.echo.output_lock import "
         f"OutputLock\nOutputLock({str(record)!r}).acquire()\nprint('held', flush=True)\n"
         "time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline() == "held\n"
    assert writer_pid(record) == holder.pid
    publish(tmp_path, record, 4)
    with RecordWatcher(record, interval_s=0.0) as watcher:
        assert watcher.poll().status == "running"
        holder.kill()
        holder.wait()
        assert OutputLock(record).path.exists()  # left behind by the kill
        state = watcher.poll()
    assert state.status == "error" and "stopped at 4 of 12" in state.message


def test_vanished_invalid_and_restored_record(tmp_path, writer):
    record = writer
    publish(tmp_path, record, 4)
    with RecordWatcher(record, interval_s=0.0) as watcher:
        assert watcher.poll().status == "running"
        record.unlink()
        state = watcher.poll()
        assert (state.status, state.message) == ("error", "the record file is gone")
        record.write_bytes(b"not a record\n")
        state = watcher.poll()
        assert state.status == "error" and state.message.startswith("cannot read the record: ")
        assert str(record) in state.message
        publish(tmp_path, record, 6)
        state = watcher.poll()
        assert (state.status, state.points_done) == ("running", 6)


def test_waiting_for_the_record_then_for_its_first_point(tmp_path, writer):
    record = writer
    with RecordWatcher(record, interval_s=0.0) as watcher:
        state = watcher.poll()
        assert (state.status, state.message) == ("waiting", "waiting for the record to be created")
        publish(tmp_path, record, 0)
        state = watcher.poll()
        assert (state.status, state.points_total, state.figure_png) == ("waiting", 12, None)
        publish(tmp_path, record, 2)
        assert watcher.poll().status == "running"


def test_stale_record(tmp_path, writer):
    clock = Clock()
    publish(tmp_path, writer, 4)
    with RecordWatcher(writer, interval_s=0.0, stale_s=30.0, clock=clock) as watcher:
        assert watcher.poll().status == "running"
        clock.now += 29.0
        assert watcher.poll().status == "running"
        clock.now += 2.0
        state = watcher.poll()
        assert state.status == "error" and state.message.startswith("no new point for 31 s")
        publish(tmp_path, writer, 5)
        assert watcher.poll().status == "running"


def test_redrawn_at_most_every_interval(tmp_path, writer):
    clock = Clock()
    publish(tmp_path, writer, 5)
    with RecordWatcher(writer, interval_s=2.0, clock=clock) as watcher:
        assert watcher.poll().points_done == 5
        publish(tmp_path, writer, 6)
        clock.now += 1.0
        assert watcher.poll().points_done == 5  # changed, but read only after the interval
        clock.now += 1.0
        assert watcher.poll().points_done == 6


def test_state_as_json_and_line():
    state = LiveState(
        record="r.nc", status="running", points_done=3, points_total=12,
        report="model\n  T_M = 19.9 ± 0.2 µs\n  x = 1.0 ± 0.1\n  noise ...",
        fit={"chi2_reduced": float("nan"), "parameters": {"a": {"error": float("inf")}}},
        figure_png=PNG,
    )  # fmt: skip
    data = state.as_json()
    assert "figure_png" not in data and data["status"] in STATUSES
    assert data["fit"] == {"chi2_reduced": "nan", "parameters": {"a": {"error": "inf"}}}
    assert state.line() == "running: 3 of 12 points — T_M = 19.9 ± 0.2 µs; x = 1.0 ± 0.1"


def set_created(path, created):
    with netCDF4.Dataset(path, "a") as ds:
        ds.created = created


def old_record(tmp_path, record):
    old = write(tmp_path / "old.nc", 12, seed=1)
    set_created(old, "2020-01-01T00:00:00+00:00")
    os.replace(old, record)


def test_a_partial_record_is_followed_onto_the_record_it_replaces(tmp_path, writer):
    """--overwrite: STEM.partial-PID.nc, written under STEM.nc's lock, renamed onto it."""
    old_record(tmp_path, writer)  # kept until the new one is complete
    partial = tmp_path / "live.partial-4242.nc"
    assert replaced_record(partial) == writer and replaced_record(writer) is None
    assert replaced_record(tmp_path / "live.partial-4242-2.nc") == writer
    publish(tmp_path, partial, 6)
    with RecordWatcher(partial, interval_s=0.0) as watcher:
        state = watcher.poll()
        assert (state.status, state.points_done) == ("running", 6)  # the target's lock: a writer
        new = write(tmp_path / "new.nc", 12)
        set_created(new, str(netCDF4.Dataset(partial).created))
        os.replace(new, writer)  # the complete record replaces the old one, the partial is gone
        partial.unlink()
        finish(writer)
        state = watcher.poll()
        assert (state.status, state.points_done, state.record) == ("complete", 12, str(partial))
        assert watcher.path == writer


def test_a_partial_record_that_vanishes_without_replacing_is_gone(tmp_path, writer):
    old_record(tmp_path, writer)
    partial = tmp_path / "live.partial-4242.nc"
    publish(tmp_path, partial, 6)
    with RecordWatcher(partial, interval_s=0.0) as watcher:
        assert watcher.poll().status == "running"
        partial.unlink()  # the old record is unchanged: it is not this run's
        state = watcher.poll()
    assert (state.status, state.message) == ("error", "the record file is gone")


def test_a_run_about_to_start_is_waited_for(tmp_path):
    """watch --wait S: an interrupted record that --resume is about to continue."""
    clock = Clock()
    record = write(tmp_path / "rec.nc", 5)
    with RecordWatcher(record, interval_s=0.0, start_s=10.0, clock=clock) as watcher:
        assert watcher.poll().status == "running"
        clock.now += 9.0
        assert watcher.poll().status == "running"
        clock.now += 2.0
        assert watcher.poll().status == "error"
        lock = OutputLock(record)
        lock.acquire()  # the run has begun after all
        try:
            assert watcher.poll().status == "running"
            publish(tmp_path, record, 6)
            assert watcher.poll().points_done == 6
            lock.release()
            publish(tmp_path, record, 7)
            assert watcher.poll().status == "error"  # seen, then gone: no grace any more
        finally:
            lock.release()


@pytest.fixture
def run_process():
    """A process standing for the run that --live watches (ended by the test)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


def test_live_view_of_an_overwrite_run(tmp_path, writer, run_process):
    """--live --overwrite: the old record is not the run's; its partial file is followed."""
    old_record(tmp_path, writer)
    with RecordWatcher(writer, interval_s=0.0, run_pid=run_process.pid) as watcher:
        state = watcher.poll()
        assert state.status == "waiting"
        assert state.message == "waiting for the run to write the record"
        assert not state.final
        partial = tmp_path / f"live.partial-{os.getpid()}.nc"  # this process holds the lock
        publish(tmp_path, partial, 5)
        state = watcher.poll()
        assert (state.status, state.points_done, watcher.path) == ("running", 5, partial)
        new = write(tmp_path / "new.nc", 12)
        set_created(new, str(netCDF4.Dataset(partial).created))
        os.replace(new, writer)
        partial.unlink()
        finish(writer)
        state = watcher.poll()
        assert (state.status, state.points_done, watcher.path) == ("complete", 12, writer)
        run_process.kill()
        run_process.wait()
        state = watcher.poll()
        assert state.final and state.ended and state.as_json()["ended"]


def test_the_run_ends_before_creating_its_record(tmp_path, run_process):
    with RecordWatcher(tmp_path / "rec.nc", interval_s=0.0, run_pid=run_process.pid) as watcher:
        state = watcher.poll()
        assert (state.status, state.final) == ("waiting", False)
        run_process.kill()
        run_process.wait()
        state = watcher.poll()
    assert (state.status, state.message) == ("error", "the run ended before it created the record")
    assert state.final


def test_the_run_ends_with_its_record_incomplete(tmp_path, run_process):
    record = write(tmp_path / "rec.nc", 4)  # written, then its writer gone: the run is exiting
    with RecordWatcher(record, interval_s=0.0, run_pid=run_process.pid) as watcher:
        state = watcher.poll()
        assert (state.status, state.points_done, state.final) == ("running", 4, False)
        run_process.kill()
        run_process.wait()
        state = watcher.poll()
    assert state.status == "error" and "stopped at 4 of 12" in state.message and state.final
