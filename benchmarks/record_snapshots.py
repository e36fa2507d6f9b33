"""What publishing a record being written costs: one snapshot per point (issue 17).

A record is written in a hidden working file and published after each point as a snapshot
(copy, fsync, rename; :mod:`spin_echo.echo.record_file`). This writes records of a given
shape point by point with :class:`~spin_echo.echo.record.RecordWriter` and prints, per point,
the time of writing and flushing the point and the time of a snapshot after it::

    python -m benchmarks.record_snapshots            # 12 x 256 and 64 x 65536, 5 series
    python -m benchmarks.record_snapshots 200 16384  # points, times per point
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from spin_echo.echo.record import RecordWriter

__all__ = ["measure"]


def measure(points: int, times: int, folder: Path) -> dict[str, float]:
    """Write a ``points x times`` record with mz and errors (5 series); return the timings.

    Each point is written (the writer's throttle may publish it), then a snapshot is forced:
    its time is what publishing every point would cost.

    Returns
    -------
    dict
        ``size_mib``; ``write_ms``, the median time of writing and flushing a point (with any
        snapshot the throttle let through); ``snapshot_ms``, the median time of one snapshot.
    """
    time_s = np.arange(times) * 1e-9
    path = folder / f"bench-{points}x{times}.nc"
    signal = np.exp(1j * np.arange(times) * 0.01)
    writes, snaps = [], []
    with RecordWriter(
        path,
        axes=[("tau", np.arange(float(points)), "time")],
        time_s=time_s,
        attrs={"protocol": "name: bench"},
        with_mz=True,
        with_sem=True,
    ) as writer:
        for k in range(points):
            start = time.perf_counter()
            writer.write_point((k,), signal, np.real(signal), sem=0.01 * signal)
            middle = time.perf_counter()
            writer.live.snapshot(force=True)
            writes.append(middle - start)
            snaps.append(time.perf_counter() - middle)
    size = path.stat().st_size / 2**20
    path.unlink()
    return {
        "size_mib": size,
        "write_ms": 1e3 * float(np.median(writes)),
        "snapshot_ms": 1e3 * float(np.median(snaps)),
    }


def main(argv: list[str]) -> None:
    """Print the timings of the shapes in ``argv`` (default: a small and a large record)."""
    shapes = [(int(argv[0]), int(argv[1]))] if len(argv) == 2 else [(12, 256), (64, 65536)]
    with tempfile.TemporaryDirectory(dir=".") as folder:
        for points, times in shapes:
            r = measure(points, times, Path(folder))
            print(
                f"{points} x {times}: {r['size_mib']:.2f} MiB; per point (medians): write "
                f"and flush {r['write_ms']:.2f} ms, snapshot {r['snapshot_ms']:.2f} ms"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
