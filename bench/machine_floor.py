"""The machine floor of a propagator: what this machine can do per second, measured now.

Three throughputs bound any propagator from below, whatever its code:

- transcendental functions: ``numpy.sin`` and ``numpy.cos`` per element, on every core
  (numpy releases the GIL, so one thread per core works on its own slice);
- complex multiply-adds: a complex128 matrix product (BLAS ``zgemm``, the best this machine's
  numpy offers), counted as one multiply-add per inner-product term;
- memory bandwidth: a threaded copy and a threaded triad ``a = b + s*c`` of arrays far larger
  than the caches, in the STREAM convention (bytes the kernel names: 16 per copied element,
  24 per triad element).

:func:`floor_seconds` combines them into the time a workload cannot beat.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = ["MachineFloor", "best_time", "floor_seconds", "measure_floor", "median_time"]


@dataclass(frozen=True)
class MachineFloor:
    """Throughputs measured on this machine.

    Attributes
    ----------
    cores
        Cores available to this process.
    trig_per_s
        ``sin`` or ``cos`` evaluations per second, all cores together.
    trig_per_s_one_core
        The same on one core (what a single-threaded numpy expression gets).
    cmac_per_s
        Complex (complex128) multiply-adds per second in a matrix product, all cores.
    copy_bytes_per_s, triad_bytes_per_s
        Memory bandwidth of a copy and a triad, all cores, bytes per second.
    """

    cores: int
    trig_per_s: float
    trig_per_s_one_core: float
    cmac_per_s: float
    copy_bytes_per_s: float
    triad_bytes_per_s: float

    def best_with(self, other: MachineFloor) -> MachineFloor:
        """Return the better of each throughput of ``self`` and ``other`` (two measurements)."""
        return MachineFloor(
            cores=self.cores,
            trig_per_s=max(self.trig_per_s, other.trig_per_s),
            trig_per_s_one_core=max(self.trig_per_s_one_core, other.trig_per_s_one_core),
            cmac_per_s=max(self.cmac_per_s, other.cmac_per_s),
            copy_bytes_per_s=max(self.copy_bytes_per_s, other.copy_bytes_per_s),
            triad_bytes_per_s=max(self.triad_bytes_per_s, other.triad_bytes_per_s),
        )

    @property
    def bandwidth_bytes_per_s(self) -> float:
        """The better of the copy and triad bandwidths, bytes per second."""
        return max(self.copy_bytes_per_s, self.triad_bytes_per_s)


def _times(fn: Callable[[], object], repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median_time(fn: Callable[[], object], *, repeats: int, warmup: int = 1) -> float:
    """Return the median wall time of ``fn()`` over ``repeats`` calls, after ``warmup`` calls."""
    return float(np.median(_times(fn, repeats, warmup)))


def best_time(fn: Callable[[], object], *, repeats: int, warmup: int = 1) -> float:
    """Return the shortest wall time of ``fn()`` over ``repeats`` calls (after ``warmup``)."""
    return min(_times(fn, repeats, warmup))


def _on_threads(pool: ThreadPoolExecutor, work: Callable[[int], object], cores: int) -> None:
    """Run ``work(k)`` for ``k`` in ``range(cores)`` on the pool and wait for all."""
    for result in pool.map(work, range(cores)):
        del result


def measure_floor(*, quick: bool = False) -> MachineFloor:
    """Measure the throughputs of :class:`MachineFloor` on this machine, now.

    Parameters
    ----------
    quick
        Smaller arrays and fewer repeats (a rough figure in about a second).

    Returns
    -------
    MachineFloor
        Best of the repeats (the floor is what the machine can do when nothing interferes),
        after warm-up calls that start the BLAS and thread pools.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = max(1, cores or 1)
    repeats = 3 if quick else 7
    rng = np.random.default_rng(0)

    n_trig = 1 << (18 if quick else 21)
    x = rng.uniform(-50.0, 50.0, n_trig)
    out = np.empty_like(x)
    slices = np.array_split(np.arange(n_trig), cores)
    bounds = [(int(s[0]), int(s[-1]) + 1) for s in slices]

    def trig_slice(k: int) -> None:
        lo, hi = bounds[k]
        np.sin(x[lo:hi], out=out[lo:hi])
        np.cos(x[lo:hi], out=out[lo:hi])

    with ThreadPoolExecutor(cores) as pool:
        t_all = best_time(lambda: _on_threads(pool, trig_slice, cores), repeats=repeats)
        trig_per_s = 2 * n_trig / t_all

        def one_core() -> None:
            np.sin(x, out=out)
            np.cos(x, out=out)

        trig_one = 2 * n_trig / best_time(one_core, repeats=repeats)

        n_mem = 1 << (22 if quick else 25)
        a = np.zeros(n_mem)
        b = rng.random(n_mem)
        c = rng.random(n_mem)
        mem_bounds = [(int(s[0]), int(s[-1]) + 1) for s in np.array_split(np.arange(n_mem), cores)]

        def copy_slice(k: int) -> None:
            lo, hi = mem_bounds[k]
            np.copyto(a[lo:hi], b[lo:hi])

        def triad_slice(k: int) -> None:
            lo, hi = mem_bounds[k]
            np.multiply(c[lo:hi], 3.0, out=a[lo:hi])
            np.add(a[lo:hi], b[lo:hi], out=a[lo:hi])

        copy_bw = (
            16 * n_mem / best_time(lambda: _on_threads(pool, copy_slice, cores), repeats=repeats)
        )
        triad_bw = (
            24 * n_mem / best_time(lambda: _on_threads(pool, triad_slice, cores), repeats=repeats)
        )

    inner = 1 << (14 if quick else 17)
    left = rng.standard_normal((64, inner)) + 1j * rng.standard_normal((64, inner))
    right = rng.standard_normal((inner, 64)) + 1j * rng.standard_normal((inner, 64))
    t_gemm = best_time(lambda: left @ right, repeats=repeats, warmup=3)
    cmac_per_s = 64 * 64 * inner / t_gemm

    return MachineFloor(
        cores=cores,
        trig_per_s=trig_per_s,
        trig_per_s_one_core=trig_one,
        cmac_per_s=cmac_per_s,
        copy_bytes_per_s=copy_bw,
        triad_bytes_per_s=triad_bw,
    )


def floor_seconds(
    machine: MachineFloor,
    *,
    trig: float,
    cmac: float,
    bytes_moved: float,
) -> float:
    r"""Return the least time a workload can take on ``machine``, seconds.

    .. math:: T_\mathrm{floor} = n_\mathrm{trig}/R_\mathrm{trig}
              + n_\mathrm{cmac}/R_\mathrm{cmac} + B/R_\mathrm{mem}

    The three terms are summed, not overlapped: numpy runs them one after the other.

    Parameters
    ----------
    machine
        The measured throughputs.
    trig
        Number of sin/cos evaluations the workload needs.
    cmac
        Number of complex multiply-adds it needs.
    bytes_moved
        Bytes it must read or write at least once from main memory.
    """
    return (
        trig / machine.trig_per_s
        + cmac / machine.cmac_per_s
        + bytes_moved / machine.bandwidth_bytes_per_s
    )
