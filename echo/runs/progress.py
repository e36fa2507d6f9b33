"""A minimal progress bar for long runs: on a terminal only, silent otherwise.

Runs report progress through a callback ``progress(done, total)`` and draw nothing themselves;
the command line passes a :class:`Progress` (it is such a callback), a notebook or a GUI its
own function.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress", "ProgressCallback"]

#: ``progress(done, total)``: called by a run after each finished point.
ProgressCallback = Callable[[int, int], None]


class Progress:
    """Show ``label [#####.....] done/total  elapsed  eta`` on a terminal.

    Parameters
    ----------
    total
        Number of steps.
    label
        Text before the bar.
    stream
        Where to draw (default ``sys.stderr``); nothing is drawn unless it is a terminal,
        so logs and pipes stay clean.
    """

    def __init__(self, total: int, label: str, *, stream: TextIO | None = None) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self._start = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        """Draw ``done`` of ``total`` steps (the :data:`ProgressCallback` of a run)."""
        self.total = max(int(total), 1)
        self.advance(int(done) - self.done)

    def advance(self, steps: int = 1) -> None:
        """Record ``steps`` more finished steps and redraw."""
        self.done += steps
        if not self.enabled:
            return
        elapsed = time.monotonic() - self._start
        width = 30
        filled = int(width * self.done / self.total)
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{self.done}/{self.total}  {elapsed:6.1f} s  eta {eta:6.1f} s"
        )
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()
