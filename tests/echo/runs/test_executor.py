"""Tests of echo/executor.py: in-process, a local process pool, and a dask LocalCluster."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from spin_echo.echo.runs.executor import (
    SCHEDULER_ENV,
    Executor,
    ExecutorError,
    make_executor,
    point_seed,
)
from spin_echo.sequences import compile_timeline, load_protocol
from spin_echo.sequences.errors import InputError, SpinEchoError
from spin_echo.simulator import load_sample, simulate

distributed = pytest.importorskip("distributed")


def seeded_work(item: tuple[int, int]) -> bytes:
    """A seeded computation with random draws, linear algebra and transcendental functions."""
    seed, n = item
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    spd = a @ a.T + n * np.eye(n)
    x = np.linalg.solve(spd, rng.standard_normal(n))
    w = np.linalg.eigvalsh(spd)
    z = np.exp(1j * rng.uniform(0, 2 * np.pi, 1000)) * np.sin(rng.standard_normal(1000))
    return x.tobytes() + w.tobytes() + np.cumsum(z).tobytes()


def simulate_hahn_point(item: tuple[float, int]) -> bytes:
    """One sweep point of the built-in Hahn echo on ferritin (spin bath, spin diffusion)."""
    tau_s, seed = item
    protocol = load_protocol("hahn-echo")
    timeline = compile_timeline(protocol.sequence({"tau": tau_s}))
    observed = simulate(timeline, load_sample("ferritin"), seed=seed, packets=1000)
    return observed.signal.tobytes() + observed.mz.tobytes()


def slow_identity(item: tuple[int, float]) -> int:
    index, delay_s = item
    time.sleep(delay_s)
    return index


def fail_on_three(index: int) -> int:
    if index == 3:
        raise ValueError(f"bad point {index}")
    return index


def blas_threads(_: int) -> list[int]:
    """Threads of every BLAS library loaded in this process (numpy's and scipy's)."""
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def record_pid_and_sleep(path: str) -> int:
    Path(path).write_text(str(os.getpid()))
    time.sleep(60)
    return os.getpid()


ITEMS = [(point_seed(1234, i), 48) for i in range(10)]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as local:
        yield local


@pytest.fixture(params=["in-process", "pool", "dask"])
def executor(request, monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    if request.param == "in-process":
        made = make_executor()
    elif request.param == "pool":
        made = make_executor(workers=2)
    else:
        made = make_executor(scheduler=request.getfixturevalue("cluster").scheduler_address)
    with made as ex:
        yield ex


def test_results_are_bitwise_identical_across_executors(cluster, monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    with make_executor() as ex:
        reference = list(ex.map(seeded_work, ITEMS))
    with make_executor(workers=2) as ex:
        pooled = list(ex.map(seeded_work, ITEMS))
    with make_executor(scheduler=cluster.scheduler_address) as ex:
        assert ex.name == "dask"
        assert ex.workers == 2
        clustered = list(ex.map(seeded_work, ITEMS))
    assert len(set(reference)) == len(ITEMS)
    assert pooled == reference
    assert clustered == reference


def test_simulated_sweep_points_are_bitwise_identical_across_executors(cluster, monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    items = [(tau_s, point_seed(7, i)) for i, tau_s in enumerate([2e-6, 5e-6, 12e-6])]
    with make_executor() as ex:
        reference = list(ex.map(simulate_hahn_point, items))
    with make_executor(workers=2) as ex:
        pooled = list(ex.map(simulate_hahn_point, items))
    with make_executor(scheduler=cluster.scheduler_address) as ex:
        clustered = list(ex.map(simulate_hahn_point, items))
    assert len(set(reference)) == len(items)
    assert pooled == reference
    assert clustered == reference


def test_results_come_in_input_order(executor):
    items = [(i, 0.02 * (5 - i)) for i in range(6)]
    assert list(executor.map(slow_identity, items)) == list(range(6))


def test_in_flight_work_is_bounded(executor):
    consumed = []

    def items():
        for i in range(40):
            consumed.append(i)
            yield (i, 0.0)

    results = executor.map(slow_identity, items())
    assert next(results) == 0
    assert len(consumed) <= 2 * executor.workers
    assert list(results) == list(range(1, 40))
    assert len(consumed) == 40


def test_exception_in_fn_surfaces_with_its_message(executor):
    with pytest.raises(ValueError, match="bad point 3"):
        list(executor.map(fail_on_three, range(8)))


def test_pool_workers_run_blas_on_one_thread(monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    with make_executor(workers=2) as ex:
        per_worker = list(ex.map(blas_threads, range(4)))
    assert all(len(threads) >= 2 for threads in per_worker)
    assert all(threads == [1] * len(threads) for threads in per_worker)


def test_environment_variable_selects_the_cluster(cluster, monkeypatch):
    monkeypatch.setenv(SCHEDULER_ENV, cluster.scheduler_address)
    with make_executor() as ex:
        assert ex.name == "dask"
        assert list(ex.map(fail_on_three, [0, 1, 2])) == [0, 1, 2]
    with make_executor(workers=2) as ex:
        assert ex.name == "process-pool"


def test_unreachable_scheduler_fails_quickly_with_a_clear_message(monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(ExecutorError, match="cannot reach dask scheduler") as info:
        make_executor(scheduler=address, timeout_s=1.0)
    assert isinstance(info.value, SpinEchoError)
    assert info.value.scheduler == address
    assert address in str(info.value)


def test_malformed_scheduler_address_from_environment_is_an_input_error(monkeypatch):
    monkeypatch.setenv(SCHEDULER_ENV, "bogus://host:1")
    with pytest.raises(InputError, match="SPIN_ECHO_SCHEDULER = 'bogus://host:1'"):
        make_executor(timeout_s=1.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 0}, "--workers = 0: must be a positive integer"),
        ({"workers": 2.5}, "--workers = 2.5: must be a positive integer"),
        ({"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "not both"),
        ({"scheduler": "  "}, "--scheduler: must be a scheduler address"),
    ],
    ids=["zero-workers", "fractional-workers", "both", "blank-scheduler"],
)
def test_bad_options_are_input_errors(options, message):
    with pytest.raises(InputError, match=message):
        make_executor(**options)


def test_default_is_in_process(monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    for ex in (make_executor(), make_executor(workers=1)):
        assert type(ex) is Executor
        assert ex.name == "in-process"


@pytest.mark.timeout(30)
def test_keyboard_interrupt_cancels_and_stops_the_pool(tmp_path, monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    pid_files = [tmp_path / f"pid{i}" for i in range(10)]

    def interrupt_once_running():
        while not pid_files[0].exists():
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    interrupter = threading.Thread(target=interrupt_once_running)
    with pytest.raises(KeyboardInterrupt), make_executor(workers=2) as ex:
        interrupter.start()
        list(ex.map(record_pid_and_sleep, [str(path) for path in pid_files]))
    interrupter.join()
    started = [path for path in pid_files if path.exists()]
    assert 1 <= len(started) <= 2
    for path in started:
        with pytest.raises(ProcessLookupError):
            os.kill(int(path.read_text()), 0)


@pytest.mark.parametrize("index", [0, 5, (2, 7)], ids=["first", "sixth", "tuple"])
def test_point_seed_matches_seed_sequence_spawn(index):
    base = np.random.SeedSequence(99)
    if isinstance(index, tuple):
        child = base.spawn(index[0] + 1)[index[0]].spawn(index[1] + 1)[index[1]]
    else:
        child = base.spawn(index + 1)[index]
    assert point_seed(99, index) == int(child.generate_state(1, dtype=np.uint64)[0])
