"""``spin-echo watch REC``: the record's figure and fit, redrawn as its points arrive.

The figure is the one ``spin-echo plot`` draws, with the same analysis, re-drawn at most every
``--interval`` seconds while a run writes the record; shown in a matplotlib window where there
is a display, otherwise on a local web page (``http://127.0.0.1:PORT/``). The command ends by
itself when the record is complete (exit 0); Ctrl-C ends it with 130. A complete record that
cannot be drawn ends it with plot's error (exit 2); ``--stale S`` ends it (exit 1) once an
incomplete record has gained no point for S seconds, its writer hung or gone (a killed run),
so that a script watching a record is never left waiting for ever.
:func:`spin_echo.echo.live.launch.live_view` starts it beside a run (``simulate --live``,
``run --live``), in its own process, so the run's own process does no drawing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from spin_echo.echo.analysis.record_analysis import ANALYSES
from spin_echo.echo.cli.main import whole_number
from spin_echo.echo.live.server import LiveServer, check_port
from spin_echo.echo.live.state import LiveState, RecordWatcher, replaced_record, writer_pid
from spin_echo.echo.live.window import VIEWS, choose_view, show_in_window, window_backend
from spin_echo.sequences.errors import InputError

__all__ = ["register", "run"]

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
        "it, and keeps looking (a resumed run clears it) unless --stale is given. A complete "
        "record that cannot be drawn exits 2, as plot does.",
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
        "--port",
        type=whole_number,
        default=0,
        help="web page's TCP port on 127.0.0.1 (default: any free)",
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
        help="stop watching (exit 1) once an incomplete record has gained no point for "
        "SECONDS, whether its writer hangs or no process writes it any more (a killed run); "
        "default: keep looking",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for REC to be created and a run to write it (default: REC "
        "must exist; an incomplete record nobody writes is an error at once)",
    )
    parser.add_argument(
        "--run-pid",
        type=whole_number,
        metavar="PID",
        help="the process of the run writing REC (what --live passes): until it has been seen "
        "writing, REC is waited for; when it ends, so does the watch (exit 0 if REC is "
        "complete, else 1)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the page's address (and errors)"
    )
    parser.set_defaults(func=run)


def _check_pid(pid: int | None) -> None:
    """Refuse a ``--run-pid`` that is not a process id."""
    if pid is not None and not 0 < pid < 2**31:
        raise InputError("must be a process id, a whole number from 1", key="--run-pid", value=pid)


def _positive(value: float | None, key: str, *, zero: bool = False) -> None:
    """Refuse a time option that is not a finite positive number (or zero, if allowed)."""
    if value is None:
        return
    if not (value >= 0 if zero else value > 0) or value == float("inf"):
        what = "zero or more" if zero else "more than zero"
        raise InputError(f"must be a number of seconds, {what}", key=key, value=value)


def _check_record(path: Path, wait_s: float, run_pid: int | None) -> None:
    """Refuse a path that is not a record (exit 2), waiting ``wait_s`` for it to appear.

    With ``run_pid`` (``--live``) nothing is checked: the run checked its output.
    """
    from spin_echo.echo.record import read_record

    if run_pid is not None:
        return
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
    _check_pid(args.run_pid)
    view = choose_view(args.view, os.environ)
    _check_record(args.record, args.wait, args.run_pid)
    say = (lambda state: None) if args.quiet else _print_line
    with RecordWatcher(
        args.record,
        analysis=args.analysis,
        interval_s=args.interval,
        stale_s=args.stale,
        stale_ends=args.stale is not None,
        start_s=args.wait,
        run_pid=args.run_pid,
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
        refusal = watcher.refusal
    if refusal is not None:
        raise refusal  # as plot refuses the same record: one line, exit 2
    if state.status == "complete":
        if not args.quiet:
            print(f"watch: {args.record} is complete ({state.points_done} points)")
        return 0
    if not state.final:
        print(f"watch: window closed ({state.line()})")
        return 0
    if not args.quiet:  # --live: the run itself says why it ended
        why = "the run ended: " if args.run_pid is not None else ""
        print(f"spin-echo: watch: {why}{state.line()}", file=sys.stderr)
    return 1


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
