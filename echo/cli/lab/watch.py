"""``spin-echo watch REC``: the record's figure and fit, redrawn as its points arrive.

The figure is the one ``spin-echo plot`` draws, with the same analysis, re-drawn at most every
``--interval`` seconds while a run writes the record; shown in a matplotlib window where there
is a display, otherwise on a local web page (``http://127.0.0.1:PORT/``). The command ends by
itself when the record is complete (exit 0); Ctrl-C ends it with 130. :func:`live_view` starts
it beside a run (``simulate --live``, ``run --live``), in its own process, so the run's own
process does no drawing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from spin_echo.echo.analysis.record_analysis import ANALYSES
from spin_echo.echo.live.server import LiveServer, check_port
from spin_echo.echo.live.state import LiveState, RecordWatcher, replaced_record, writer_pid
from spin_echo.echo.live.window import VIEWS, choose_view, show_in_window, window_backend
from spin_echo.sequences.errors import InputError

__all__ = ["LIVE_INTERVAL_S", "live_view", "register", "run"]

#: Least time between two drawings of the view that ``--live`` starts beside a run.
LIVE_INTERVAL_S = 2.0

#: How often the record's file is looked at (its drawing waits for ``--interval``).
_POLL_S = 0.2


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``watch`` sub-command."""
    parser = sub.add_parser(
        "watch",
        description="Show REC's figure and fit, the ones `spin-echo plot` draws, redrawn as "
        "a run writes its points: in a matplotlib window where there is a display, otherwise "
        "on a local web page at http://127.0.0.1:PORT/ (the address is printed). Ends by "
        "itself when the record is complete (exit 0); Ctrl-C stops it (exit 130). The page "
        "shows an error when the record cannot be read, or the run stopped before completing "
        "it.",
    )
    parser.add_argument("record", type=Path, metavar="REC", help="record file (.nc)")
    parser.add_argument(
        "--analysis",
        choices=("auto", "none", *ANALYSES),
        default="auto",
        help="fit to draw, as for plot (default: chosen from the protocol's structure)",
    )
    parser.add_argument(
        "--view",
        choices=VIEWS,
        default="auto",
        help="window, web page, or auto: a window where there is a display (default)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="web page's TCP port on 127.0.0.1 (default: any free)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="redraw at most every SECONDS (default 1)",
    )
    parser.add_argument(
        "--stale",
        type=float,
        metavar="SECONDS",
        help="an incomplete record that gains no point for SECONDS is an error (default: "
        "only when no process writes it any more)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for REC to be created (default: it must exist)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the page's address (and errors)"
    )
    parser.set_defaults(func=run)


def _positive(value: float | None, key: str, *, zero: bool = False) -> None:
    """Refuse a time option that is not a finite positive number (or zero, if allowed)."""
    if value is None:
        return
    if not (value >= 0 if zero else value > 0) or value == float("inf"):
        what = "zero or more" if zero else "more than zero"
        raise InputError(f"must be a number of seconds, {what}", key=key, value=value)


def _check_record(path: Path, wait_s: float) -> None:
    """Refuse a path that is not a record (exit 2), waiting ``wait_s`` for it to appear."""
    from spin_echo.echo.record import read_record

    end = time.monotonic() + wait_s
    while not path.exists() and time.monotonic() < end:
        time.sleep(0.05)
    if not path.exists():
        waited = f" after waiting {wait_s:g} s" if wait_s else ""
        raise InputError(f"record file not found{waited}", file=str(path))
    if writer_pid(replaced_record(path) or path) is None:
        read_record(path)  # not being written: it must be a record now (else exit 2)


def run(args: argparse.Namespace) -> int:
    """Watch the record until it is complete; return the exit status."""
    check_port(args.port)
    _positive(args.interval, "--interval")
    _positive(args.stale, "--stale")
    _positive(args.wait, "--wait", zero=True)
    view = choose_view(args.view, os.environ)
    _check_record(args.record, args.wait)
    say = (lambda state: None) if args.quiet else _print_line
    with RecordWatcher(
        args.record, analysis=args.analysis, interval_s=args.interval, stale_s=args.stale
    ) as watcher:
        if view == "window":
            backend = window_backend()
            if backend is None:
                print("spin-echo: note: matplotlib has no window backend here; serving the page",
                      file=sys.stderr)  # fmt: skip
                view = "web"
            else:
                state = show_in_window(watcher.poll, every_s=_POLL_S, on_change=say)
        if view == "web":
            with LiveServer(watcher.poll(), port=args.port) as server:
                print(f"watch: {server.url}  (Ctrl-C to stop)", flush=True)
                state = _serve(watcher, server, say)
                server.linger()
    if not args.quiet:
        if state.final:
            print(f"watch: {args.record} is complete ({state.points_done} points)")
        else:
            print(f"watch: window closed ({state.line()})")
    return 0


def _print_line(state: LiveState) -> None:
    """Print the state's line (status, points, the fit's values)."""
    print(f"watch: {state.line()}", flush=True)


def _serve(
    watcher: RecordWatcher, server: LiveServer, say: Callable[[LiveState], None]
) -> LiveState:
    """Publish the watcher's state to the page until the record is complete."""
    shown = None
    while True:
        state = watcher.poll()
        server.publish(state)
        key = (state.status, state.points_done, state.message)
        if key != shown:
            say(state)
            shown = key
        if state.final:
            return state
        time.sleep(_POLL_S)


@contextlib.contextmanager
def live_view(record: Path, *, enabled: bool, replacing: bool = False) -> Iterator[None]:
    """Run ``spin-echo watch RECORD`` in its own process while the body writes the record.

    The view waits for the record to be created, redraws at most every
    :data:`LIVE_INTERVAL_S`, prints only its page's address, and ends by itself when the
    record is complete (a window stays open on the final figure until it is closed): the run
    does not wait for it. When the body ends otherwise (an error, Ctrl-C), the view is given
    3 s to show why, then stopped.

    Parameters
    ----------
    record
        The record the body writes.
    enabled
        False: do nothing (``--live`` not given).
    replacing
        The body replaces an existing ``record`` (``--overwrite``): it writes
        ``STEM.partial-PID.SUFFIX`` until complete, and that is the file to watch.
    """
    if not enabled:
        yield
        return
    watched = record
    if replacing:
        watched = record.with_name(f"{record.stem}.partial-{os.getpid()}{record.suffix}")
    command = [sys.executable, "-m", "spin_echo.echo.cli", "watch", str(watched),
               "--wait", "60", "--interval", str(LIVE_INTERVAL_S), "--quiet"]  # fmt: skip
    view = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield
    except BaseException:
        # the run failed or was interrupted: give the view time to show it, then stop it
        try:
            view.wait(timeout=3.0)
        except subprocess.TimeoutExpired:
            view.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                view.wait(timeout=5.0)
        raise
