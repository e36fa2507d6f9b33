r"""The machine floor of a propagator: what this machine can do per second, measured now.

Three throughputs bound a numpy propagator from below, whatever its code:

- sine-cosine pairs: one :math:`(\cos\theta, \sin\theta)` per element, the faster of
  ``numpy.sin`` + ``numpy.cos`` and the half-angle tangent (:math:`t = \tan(\theta/2)`,
  :math:`\cos\theta = (1-t^2)/(1+t^2)`, :math:`\sin\theta = 2t/(1+t^2)`; numpy vectorises
  ``tan`` but, on some machines, not ``sin``/``cos``), on every core (numpy releases the GIL,
  so one thread per core works on its own cache-sized blocks);
- complex multiply-adds: a complex128 matrix product (BLAS ``zgemm``, the best this machine's
  numpy offers), one multiply-add per inner-product term;
- memory bandwidth: a threaded copy and a threaded triad ``a = b + s*c`` of arrays far larger
  than the caches, in the STREAM convention (16 bytes per copied element, 24 per triad element).

:func:`floor_seconds` combines them into the time a workload cannot beat with these
operations. Compiled kernels with their own vectorised sine (numba) and transforms that avoid
the multiply-adds (non-uniform FFT) can go below it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields

import numpy as np

__all__ = ["MachineFloor", "best_time", "floor_seconds", "measure_floor", "median_time"]

_BLOCK = 1 << 16


@dataclass(frozen=True)
class MachineFloor:
    """Throughputs measured on this machine (per second, all cores unless named otherwise).

    Attributes
    ----------
    cores
        Cores available to this process.
    sin_cos_per_s
        ``numpy.sin`` or ``numpy.cos`` evaluations.
    pair_per_s
        Sine-cosine pairs by the faster method (see the module docstring).
    pair_per_s_one_core
        The same on one core (what a single-threaded numpy expression gets).
    cmac_per_s
        Complex (complex128) multiply-adds in a matrix product.
    copy_bytes_per_s, triad_bytes_per_s
        Memory bandwidth of a copy and a triad, bytes per second.
    """

    cores: int
    sin_cos_per_s: float
    pair_per_s: float
    pair_per_s_one_core: float
    cmac_per_s: float
    copy_bytes_per_s: float
    triad_bytes_per_s: float

    def best_with(self, other: MachineFloor) -> MachineFloor:
        """Return the better of each throughput of ``self`` and ``other`` (two measurements)."""
        return MachineFloor(
            **{f.name: max(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)}
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


def _sin_cos(x: np.ndarray, c: np.ndarray, s: np.ndarray, t: np.ndarray) -> None:
    np.cos(x, out=c)
    np.sin(x, out=s)


def _half_tangent(x: np.ndarray, c: np.ndarray, s: np.ndarray, t: np.ndarray) -> None:
    np.multiply(x, 0.5, out=t)
    np.tan(t, out=t)
    np.multiply(t, t, out=s)
    np.add(s, 1.0, out=c)
    np.reciprocal(c, out=c)
    np.subtract(1.0, s, out=s)
    np.multiply(s, c, out=s)
    np.multiply(t, c, out=t)
    np.multiply(t, 2.0, out=t)


def _pairs_per_s(method, x: np.ndarray, pool: ThreadPoolExecutor, threads: int, repeats: int):
    """Pairs per second of ``method`` over ``x`` in cache-sized blocks on ``threads`` threads."""
    parts = np.array_split(x, threads)
    scratch = [tuple(np.empty(_BLOCK) for _ in range(3)) for _ in range(threads)]

    def work(k: int) -> None:
        c, s, t = scratch[k]
        part = parts[k]
        for lo in range(0, len(part), _BLOCK):
            block = part[lo : lo + _BLOCK]
            n = len(block)
            method(block, c[:n], s[:n], t[:n])

    def run() -> None:
        for _ in pool.map(work, range(threads)):
            pass

    return len(x) / best_time(run, repeats=repeats)


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
    x = rng.uniform(-50.0, 50.0, 1 << (18 if quick else 21))

    with ThreadPoolExecutor(cores) as pool:
        sin_cos = _pairs_per_s(_sin_cos, x, pool, cores, repeats)
        tangent = _pairs_per_s(_half_tangent, x, pool, cores, repeats)
        tangent_one = _pairs_per_s(_half_tangent, x, pool, 1, repeats)
        sin_cos_one = _pairs_per_s(_sin_cos, x, pool, 1, repeats)

        n_mem = 1 << (22 if quick else 25)
        a = np.zeros(n_mem)
        b = rng.random(n_mem)
        c = rng.random(n_mem)
        bounds = [(int(s[0]), int(s[-1]) + 1) for s in np.array_split(np.arange(n_mem), cores)]

        def copy_slice(k: int) -> None:
            lo, hi = bounds[k]
            np.copyto(a[lo:hi], b[lo:hi])

        def triad_slice(k: int) -> None:
            lo, hi = bounds[k]
            np.multiply(c[lo:hi], 3.0, out=a[lo:hi])
            np.add(a[lo:hi], b[lo:hi], out=a[lo:hi])

        def on_threads(work: Callable[[int], None]) -> Callable[[], None]:
            def run() -> None:
                for _ in pool.map(work, range(cores)):
                    pass

            return run

        copy_bw = 16 * n_mem / best_time(on_threads(copy_slice), repeats=repeats)
        triad_bw = 24 * n_mem / best_time(on_threads(triad_slice), repeats=repeats)

    inner = 1 << (14 if quick else 17)
    left = rng.standard_normal((64, inner)) + 1j * rng.standard_normal((64, inner))
    right = rng.standard_normal((inner, 64)) + 1j * rng.standard_normal((inner, 64))
    t_gemm = best_time(lambda: left @ right, repeats=repeats, warmup=3)

    return MachineFloor(
        cores=cores,
        sin_cos_per_s=2 * sin_cos,
        pair_per_s=max(sin_cos, tangent),
        pair_per_s_one_core=max(sin_cos_one, tangent_one),
        cmac_per_s=64 * 64 * inner / t_gemm,
        copy_bytes_per_s=copy_bw,
        triad_bytes_per_s=triad_bw,
    )


def floor_seconds(
    machine: MachineFloor,
    *,
    pairs: float,
    cmac: float,
    bytes_moved: float,
) -> float:
    r"""Return the least time a workload can take on ``machine`` with numpy's operations.

    .. math:: T_\mathrm{floor} = n_\mathrm{pair}/R_\mathrm{pair}
              + n_\mathrm{cmac}/R_\mathrm{cmac} + B/R_\mathrm{mem}

    The three terms are summed, not overlapped: numpy runs them one after the other.

    Parameters
    ----------
    machine
        The measured throughputs.
    pairs
        Number of sine-cosine pairs the workload needs.
    cmac
        Number of complex multiply-adds it needs.
    bytes_moved
        Bytes it must read or write at least once from main memory.

    Returns
    -------
    float
        Seconds.
    """
    return (
        pairs / machine.pair_per_s
        + cmac / machine.cmac_per_s
        + bytes_moved / machine.bandwidth_bytes_per_s
    )
