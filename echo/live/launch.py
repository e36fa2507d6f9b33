"""``simulate --live`` and ``run --live``: ``spin-echo watch`` beside the run, in its own process.

The run's process draws nothing: the view re-reads the snapshots the run publishes
(:mod:`spin_echo.echo.record`), at most every :data:`LIVE_INTERVAL_S`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LIVE_INTERVAL_S", "live_view"]

#: Least time between two drawings of the view that ``--live`` starts beside a run.
LIVE_INTERVAL_S = 2.0


@contextlib.contextmanager
def live_view(record: Path) -> Iterator[None]:
    """Run ``spin-echo watch RECORD --run-pid PID`` in its own process while the body runs.

    ``PID`` is this process: the view waits for it to write the record (with ``--overwrite``,
    it follows the partial file that will replace the record), redraws at most every
    :data:`LIVE_INTERVAL_S`, prints only its page's address, and ends by itself once this
    process has ended: the run never waits for it. A window stays open on the final figure
    until it is closed; the page shows the final state, or why the run failed.

    Parameters
    ----------
    record
        The record the body writes.
    """
    command = [sys.executable, "-m", "spin_echo.echo.cli", "watch", str(record),
               "--run-pid", str(os.getpid()), "--interval", str(LIVE_INTERVAL_S),
               "--quiet"]  # fmt: skip
    subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
    yield
