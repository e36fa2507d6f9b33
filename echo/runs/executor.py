"""One executor interface for sweeps, phase steps and fit evaluations.

Three back ends sit behind :func:`make_executor`:

- in-process (the default): ``fn`` runs in the caller, one item after the other;
- a local process pool (``workers=N``): :class:`concurrent.futures.ProcessPoolExecutor`, each
  worker process with one BLAS thread (the pool itself uses the cores);
- a ``dask.distributed`` cluster (``scheduler="tcp://host:8786"`` or the environment variable
  ``SPIN_ECHO_SCHEDULER``): an existing engine the user started, reached through
  :class:`distributed.Client`. ``dask[distributed]`` is needed only for this back end.

:meth:`Executor.map` yields results in input order, each as soon as it and every result before
it are done, so a caller writes a record point by point while later points still compute. At
most ``2 * workers`` items are in flight, so a sweep of a million points never floods memory.
Leaving the ``with`` block shuts the back end down; on an exception or ``KeyboardInterrupt``
pending work is cancelled first.

Rules for callers
-----------------
``fn`` must be a picklable top-level function (defined at module level of an importable
module, not a lambda or a closure), and items must be picklable: the pool and dask back ends
send both to other processes.

Results are identical bit for bit whichever back end runs them only if ``fn`` draws all its
randomness from seeds carried in its item. Derive one seed per point from the run's base seed
and the point's index, with :func:`point_seed` (``numpy.random.SeedSequence(base_seed,
spawn_key=index)``, the same as ``SeedSequence(base_seed).spawn``), never from global random
state, a counter, the clock or the order in which points finish. The workers must also run the
same library versions (numpy, BLAS) as the caller.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from spin_echo.sequences.errors import InputError, SpinEchoError

__all__ = [
    "SCHEDULER_ENV",
    "Executor",
    "ExecutorError",
    "make_executor",
    "point_seed",
]

#: Environment variable naming a dask scheduler address when no ``scheduler`` is passed.
SCHEDULER_ENV = "SPIN_ECHO_SCHEDULER"

T = TypeVar("T")
R = TypeVar("R")


class ExecutorError(SpinEchoError, RuntimeError):
    """The execution back end failed: a scheduler cannot be reached, a worker died.

    Attributes
    ----------
    scheduler
        The scheduler address involved, or ``None`` for a local back end.
    """

    def __init__(self, message: str, *, scheduler: str | None = None) -> None:
        self.scheduler = scheduler
        super().__init__(message)


def point_seed(base_seed: int, index: int | tuple[int, ...]) -> int:
    """Return the seed of one sweep point, independent of execution order.

    Parameters
    ----------
    base_seed
        The run's seed (a non-negative integer, e.g. the record's ``seed`` attribute).
    index
        The point's index: an integer, or the index tuple of a multi-axis sweep.

    Returns
    -------
    int
        A 64-bit seed, ``SeedSequence(base_seed, spawn_key=index).generate_state(1)``: the
        same stream ``SeedSequence(base_seed).spawn`` gives the point, whoever computes it.
    """
    key = (index,) if isinstance(index, (int, np.integer)) else tuple(index)
    sequence = np.random.SeedSequence(base_seed, spawn_key=tuple(int(k) for k in key))
    return int(sequence.generate_state(1, dtype=np.uint64)[0])


class Executor:
    """Runs ``fn`` over items in order; base class of the three back ends.

    Use as a context manager; :meth:`map` is the only way work goes in.

    Attributes
    ----------
    name
        ``"in-process"``, ``"process-pool"`` or ``"dask"``.
    workers
        Number of items that run at the same time (dask: the cluster's total threads).
    """

    name = "in-process"

    def __init__(self) -> None:
        self.workers = 1

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Yield ``fn(item)`` for every item, in input order.

        Parameters
        ----------
        fn
            A picklable top-level function of one argument.
        items
            Any iterable (consumed lazily); items must be picklable.

        Yields
        ------
        object
            ``fn(item)``, each as soon as it and all before it are done. An exception raised
            by ``fn`` is re-raised here with its own type and message, and pending work is
            cancelled.
        """
        for item in items:
            yield fn(item)

    def close(self) -> None:
        """Release the back end (nothing to release in-process)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}, {self.workers} worker(s)>"


def _init_pool_worker() -> None:
    """Pool worker initialiser: ignore Ctrl-C, run BLAS and the propagator on one thread.

    Ctrl-C is handled once, by the parent, which cancels the work. The pool already runs one
    item per core, so BLAS threads on top of it oversubscribe the cores; OpenBLAS threads that
    spin on a busy core stall every matrix product (measured: a 2-worker pool running the numpy
    propagator on a loaded 2-core machine took 25 s with the default threads, 1.3 s with one).
    numpy and scipy each load their own BLAS, so both are loaded before the limit is set.
    Dask workers get the same setting from dask's defaults (``OMP_NUM_THREADS=1``, ...). The
    propagator's own packet-chunk threads (``SPIN_ECHO_THREADS``, all cores by default) would
    oversubscribe the same way, so each worker runs them on one thread too; the results do not
    depend on the thread count.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["SPIN_ECHO_THREADS"] = "1"
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS so that the limit reaches it)

    threadpool_limits(limits=1)


def _map_ordered(
    submit: Callable[[T], Any],
    cancel: Callable[[list[Any]], None],
    items: Iterable[T],
    window: int,
) -> Iterator[Any]:
    """Yield the results of futures from ``submit`` in input order, ``window`` at most in flight.

    On an exception (from a future or thrown in by the consumer) and when the generator is
    closed early, the futures still pending are handed to ``cancel``.
    """
    pending: deque[Any] = deque()
    try:
        for item in items:
            pending.append(submit(item))
            if len(pending) >= window:
                result = pending[0].result()
                pending.popleft()
                yield result
        while pending:
            result = pending[0].result()
            pending.popleft()
            yield result
    finally:
        if pending:
            cancel(list(pending))


class _PoolExecutor(Executor):
    """A local :class:`~concurrent.futures.ProcessPoolExecutor` with ``workers`` processes."""

    name = "process-pool"

    def __init__(self, workers: int) -> None:
        super().__init__()
        self.workers = workers
        method = "forkserver" if sys.platform != "win32" else "spawn"
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context(method), initializer=_init_pool_worker
        )

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        def submit(item: T) -> Future[R]:
            return self._pool.submit(fn, item)

        def cancel(futures: list[Future[R]]) -> None:
            for future in futures:
                future.cancel()

        return _map_ordered(submit, cancel, items, 2 * self.workers)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self._terminate()
        else:
            self.close()

    def _terminate(self) -> None:
        """Stop now: cancel queued work and end the worker processes mid-item."""
        terminate = getattr(self._pool, "terminate_workers", None)
        if terminate is not None:
            terminate()
            return
        # Before Python 3.14 the pool has no public way to stop a running item; shutdown()
        # forgets the processes, so take them first.
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)


class _DaskExecutor(Executor):
    """A client of an existing ``dask.distributed`` scheduler."""

    name = "dask"

    def __init__(self, address: str, *, timeout_s: float, source: str) -> None:
        super().__init__()
        self.address = address
        try:
            from distributed import Client
        except ImportError as err:
            raise ExecutorError(
                f"scheduler {address!r} given but dask.distributed is not installed; "
                "install it with: pip install 'dask[distributed]'",
                scheduler=address,
            ) from err
        try:
            self._client = Client(address, timeout=timeout_s, set_as_default=False)
        except ValueError as err:
            problem: str | None = f"not a dask scheduler address: {err}"
            bad_input = True
        except (OSError, TimeoutError) as err:
            problem = f"cannot reach dask scheduler {address!r} within {timeout_s:g} s: {err}"
            bad_input = False
        else:
            problem = None
        if problem is not None:
            # The half-built client is only referenced by the dropped traceback: collect it
            # now, while its event loop still runs, so it does not time out at exit.
            gc.collect()
            if bad_input:
                raise InputError(problem, key=source, value=address)
            raise ExecutorError(problem, scheduler=address)
        self.workers = max(1, sum(self._client.nthreads().values()))

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        def submit(item: T) -> Any:
            return self._client.submit(fn, item, pure=False)

        return _map_ordered(submit, self._client.cancel, items, 2 * self.workers)

    def close(self) -> None:
        self._client.close()


def make_executor(
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout_s: float = 10.0,
) -> Executor:
    """Return the executor the options ask for.

    Precedence: ``scheduler``, then ``workers``, then the environment variable
    ``SPIN_ECHO_SCHEDULER``, then in-process.

    Parameters
    ----------
    workers
        Number of local worker processes (``--workers N``); ``None`` or 1 runs in-process.
    scheduler
        Address of a running dask scheduler (``--scheduler tcp://host:8786``).
    timeout_s
        How long to wait for the scheduler to answer, seconds.

    Returns
    -------
    Executor
        Use it as a context manager: ``with make_executor(workers=4) as ex: ...``.

    Raises
    ------
    InputError
        ``workers`` is not a positive integer, or both ``workers`` and ``scheduler`` are given.
    ExecutorError
        The scheduler cannot be reached within ``timeout_s``, or dask is not installed.
    """
    if workers is not None and (isinstance(workers, bool) or int(workers) != workers):
        raise InputError("must be a positive integer", key="--workers", value=workers)
    if workers is not None and workers < 1:
        raise InputError("must be a positive integer", key="--workers", value=workers)
    if workers is not None and scheduler is not None:
        raise InputError(
            "give either --workers (a local pool) or --scheduler (a dask cluster), not both",
            key="--scheduler",
            value=scheduler,
        )
    source = "--scheduler"
    if scheduler is None and workers is None and os.environ.get(SCHEDULER_ENV):
        scheduler, source = os.environ[SCHEDULER_ENV], SCHEDULER_ENV
    if scheduler is not None:
        if not scheduler.strip():
            raise InputError("must be a scheduler address, e.g. tcp://host:8786", key=source)
        return _DaskExecutor(scheduler.strip(), timeout_s=timeout_s, source=source)
    if workers is None or workers == 1:
        return Executor()
    return _PoolExecutor(int(workers))
