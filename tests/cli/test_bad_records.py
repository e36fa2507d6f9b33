"""Broken records through every command: one line, exit 2, the same verdict everywhere.

The spoilt records of :mod:`tests.echo.bad_records` (built in ``tmp_path``, as the tester's
``make_bad.py`` built them) are given to ``info``, ``plot``, ``compare``, ``fit`` and ``watch``:
each exits 2 with one line ``spin-echo: error: FILE: KEY ...``, and ``records`` lists the file
as ``not a record`` with the same reason (R2 ``point_complete``, R4 attributes, R8 core
variables). An analysis that fails names the record's file (R3); ``watch`` shows an UNRELIABLE
fit as such, refuses a complete record it cannot draw as ``plot`` does, and stops on
``--stale`` when nobody writes the record (R6); ``records`` lists, never drops, links that lead
nowhere and FIFOs (R8).
"""

from __future__ import annotations

import os
import time

import pytest

from spin_echo.echo.cli.main import main
from spin_echo.echo.live.state import LiveState, RecordWatcher
from tests.echo.bad_records import HEADER, VALUES, both, good, spoil, values

pytestmark = pytest.mark.timeout(120)


def run(capsys, *args):
    """Run ``spin-echo ARGS`` in this process; return (status, stdout, stderr)."""
    capsys.readouterr()
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_error_line(err, *, notes=False):
    """The stderr of a refused command: exactly one line, ``spin-echo: error: ...``.

    ``notes``: plot's own ``spin-echo: note:`` lines may come first (why no fit is drawn).
    """
    lines = [line for line in err.splitlines() if line.strip()]
    if notes:
        lines = [line for line in lines if not line.startswith("spin-echo: note: ")]
    assert len(lines) == 1 and lines[0].startswith("spin-echo: error: "), err
    assert "Traceback" not in err
    return lines[0].removeprefix("spin-echo: error: ")


FIT = ["--sample", "bare", "--free", "relaxation.T2"]
READERS = {
    "info": lambda bad, ok, tmp: ["info", bad],
    "plot": lambda bad, ok, tmp: ["plot", bad, "-o", tmp / "p.png"],
    "compare-second": lambda bad, ok, tmp: ["compare", ok, bad],
    "compare-first": lambda bad, ok, tmp: ["compare", bad, ok],
    "fit": lambda bad, ok, tmp: ["fit", bad, *FIT, "-o", tmp / "f.yaml"],
    "watch": lambda bad, ok, tmp: ["watch", bad, "--view", "web", "--quiet"],
}


@pytest.mark.parametrize("reader", READERS.keys())
@pytest.mark.parametrize(("edit", "key", "phrase"), HEADER.values(), ids=HEADER.keys())
def test_every_reader_refuses_a_spoilt_header_alike(tmp_path, capsys, reader, edit, key, phrase):
    bad = spoil(good(tmp_path / "bad.nc"), edit)
    ok = good(tmp_path / "ok.nc")
    status, out, err = run(capsys, *READERS[reader](bad, ok, tmp_path))
    message = one_error_line(err)
    assert status == 2 and message.startswith((f"{bad}: {key}", f"{bad}:{key}")), message
    assert phrase in message
    assert not (tmp_path / "p.png").exists() and not (tmp_path / "f.yaml").exists()
    if reader == "info":  # and the catalogue lists it with the same reason
        status, out, _ = run(capsys, "records", tmp_path)
        row = next(line for line in out.splitlines() if line.startswith("bad.nc"))
        reason = message.removeprefix(str(bad)).removeprefix(":").removeprefix(" ")
        assert (
            row.split(None, 1)[1]
            == f"not a record: {reason.removeprefix('not a spin-echo record: ')}"
        )


@pytest.mark.parametrize("reader", ["info", "plot", "compare-second", "watch"])
@pytest.mark.parametrize(("edit", "key", "phrase"), VALUES.values(), ids=VALUES.keys())
def test_every_reader_refuses_spoilt_values_alike(tmp_path, capsys, reader, edit, key, phrase):
    bad = spoil(good(tmp_path / "bad.nc"), edit)
    ok = good(tmp_path / "ok.nc")
    status, _, err = run(capsys, *READERS[reader](bad, ok, tmp_path))
    message = one_error_line(err)
    assert status == 2 and message.startswith(f"{bad}: {key}") and phrase in message, message


def test_a_record_without_point_complete_reads_alike_everywhere(tmp_path, capsys):
    """Missing point_complete with complete = 1: every point written, for every reader."""
    record = spoil(good(tmp_path / "r.nc"), lambda ds: ds.renameVariable("point_complete", "x"))
    status, out, _ = run(capsys, "info", record)
    assert status == 0 and "progress:    12 of 12 points, complete" in out
    status, out, _ = run(capsys, "records", tmp_path)
    assert status == 0 and out.splitlines()[1].split()[3:5] == ["12/12", "yes"]
    status, out, _ = run(capsys, "watch", record, "--view", "web")
    assert status == 0 and f"watch: {record} is complete (12 points)" in out
    status, out, _ = run(capsys, "plot", record, "-o", tmp_path / "r.png")
    assert status == 0 and "T_M = " in out


@pytest.mark.parametrize(
    ("edit", "phrase"),
    [
        (values("signal_re", float("nan"), (3, 10)), "record signal: holds 1 NaN or infinite"),
        (values("signal_im", float("inf"), (0, 0)), "record signal: holds 1 NaN or infinite"),
    ],
    ids=["one-nan", "one-inf"],
)
def test_analysis_errors_name_the_record(tmp_path, capsys, edit, phrase):
    """R3: with two records the message says which one cannot be analysed."""
    bad = spoil(good(tmp_path / "bad.nc"), edit)
    ok = good(tmp_path / "ok.nc")
    for args in (["plot", bad, "-o", tmp_path / "p.png"], ["compare", ok, bad],
                 ["compare", bad, ok]):  # fmt: skip
        status, _, err = run(capsys, *args)
        assert status == 2 and one_error_line(err, notes=True) == f"{bad}: {phrase} values"


def test_a_signal_zero_everywhere_names_the_record(tmp_path, capsys):
    bad = good(tmp_path / "zero.nc", scale=0.0)
    status, _, err = run(capsys, "plot", bad, "-o", tmp_path / "p.png")
    assert status == 2
    message = one_error_line(err, notes=True)
    assert message == f"{bad}: record signal: is zero everywhere: nothing to analyse"


def test_watch_refuses_a_complete_record_it_cannot_draw_as_plot_does(tmp_path, capsys):
    """R6b: complete, nobody writes it, plot refuses it: watch ends at once with plot's error."""
    bad = good(tmp_path / "zero.nc", scale=0.0)
    status, _, plotted = run(capsys, "plot", bad, "-o", tmp_path / "p.png")
    started = time.monotonic()
    watched, _, err = run(capsys, "watch", bad, "--view", "web")
    assert (status, watched) == (2, 2) and time.monotonic() - started < 30
    assert one_error_line(err) == one_error_line(plotted, notes=True)


def test_watch_line_says_unreliable_as_plot_does(tmp_path, capsys):
    """R6a: a fit that fails its checks is UNRELIABLE on the terminal line too."""
    record = good(tmp_path / "flat.nc", decay=False)
    status, plotted, _ = run(capsys, "plot", record, "-o", tmp_path / "p.png")
    assert status == 0 and "UNRELIABLE: " in plotted
    reasons = plotted.split("UNRELIABLE: ", 1)[1].splitlines()[0]
    status, out, _ = run(capsys, "watch", record, "--view", "web")
    line = next(line for line in out.splitlines() if line.startswith("watch: complete: "))
    assert status == 0 and f"— UNRELIABLE: {reasons}; A = " in line


def test_state_line_puts_the_verdict_first():
    fit = {"reliable": False, "reasons": ["T_M error > value", "x at its start value"]}
    report = "model  UNRELIABLE: ...\n  T_M = 2 ± 9 s\n  noise"
    state = LiveState(record="r.nc", status="complete", points_done=12, points_total=12,
                      report=report, fit=fit)  # fmt: skip
    assert state.line() == (
        "complete: 12 of 12 points — UNRELIABLE: T_M error > value; x at its start value; "
        "T_M = 2 ± 9 s"
    )
    reliable = LiveState(record="r.nc", report="m\n  A = 1", fit={"reliable": True})
    assert "UNRELIABLE" not in reliable.line()


def test_watch_of_an_abandoned_record_stops_on_stale(tmp_path, capsys):
    """R6c: a killed run's record (complete = 0, no lock holder) ends the watch with --stale."""
    record = good(tmp_path / "killed.nc", points=5)
    started = time.monotonic()
    status, out, err = run(capsys, "watch", record, "--view", "web", "--stale", "0.5")
    assert status == 1 and time.monotonic() - started < 30
    assert "watch: error: 5 of 12 points (the run stopped at 5 of 12 points" in out
    last = err.strip().splitlines()[-1]
    assert last.startswith("spin-echo: watch: error: 5 of 12 points")
    assert "(--stale 0.5): stopped watching" in last


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_stale_ends_the_watcher_whether_or_not_a_writer_holds_the_record(tmp_path):
    record = good(tmp_path / "killed.nc", points=5)
    clock = Clock()
    with RecordWatcher(record, interval_s=0.0, stale_s=10.0, stale_ends=True,
                       clock=clock) as watcher:  # fmt: skip
        state = watcher.poll()
        assert (state.status, state.final) == ("error", False)  # no writer: an error at once
        clock.now += 11.0
        state = watcher.poll()
        assert state.final and state.status == "error" and "stopped watching" in state.message
    with RecordWatcher(record, interval_s=0.0, stale_s=10.0, clock=clock) as watcher:
        watcher.poll()
        clock.now += 11.0
        assert not watcher.poll().final  # without stale_ends it keeps looking (interactive)


def test_records_lists_links_that_lead_nowhere_and_fifos(tmp_path, capsys):
    """R8: never dropped, never opened (a FIFO would block), each with why."""
    good(tmp_path / "ok.nc")
    (tmp_path / "dangling.nc").symlink_to(tmp_path / "nowhere.nc")
    (tmp_path / "loop.nc").symlink_to(tmp_path / "loop.nc")
    os.mkfifo(tmp_path / "fifo.nc")
    (tmp_path / "folder.nc").mkdir()  # walked, not listed
    good(tmp_path / "folder.nc" / "inner.nc")
    status, out, _ = run(capsys, "records", tmp_path)
    rows = {line.split()[0]: line.split(None, 1)[1] for line in out.splitlines()[1:-1]}
    assert status == 0 and set(rows) == {"ok.nc", "folder.nc/inner.nc", "dangling.nc",
                                         "loop.nc", "fifo.nc"}  # fmt: skip
    assert rows["dangling.nc"] == f"unreadable: a broken symbolic link to '{tmp_path}/nowhere.nc'"
    assert rows["loop.nc"] == "unreadable: a symbolic link loop"
    assert rows["fifo.nc"] == "unreadable: not a regular file: a FIFO"
    assert out.splitlines()[-1] == "2 record(s), 3 other .nc file(s)"


def test_a_record_without_any_standard_error_is_named_by_compare(tmp_path, capsys):
    """R3 in the noise estimate: 'signal_sem_re: holds no written standard error' named no file."""
    bad = spoil(
        good(tmp_path / "bad.nc", source="run:lab"),
        both(values("signal_sem_re", float("nan")), values("signal_sem_im", float("nan"))),
    )
    ok = good(tmp_path / "ok.nc")
    status, _, err = run(capsys, "compare", bad, ok)
    assert status == 2
    assert (
        one_error_line(err, notes=True) == f"{bad}: signal_sem_re: holds no written standard error"
    )
