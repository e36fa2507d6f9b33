"""A minimal progress bar for long runs: on a terminal only, silent otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


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
