"""The detection accumulator's groups of chunks and the one-pass Monte-Carlo error built on them.

The references are the propagations without groups: the totals must be the same bits, and
each group's sum the same bits as that group's packets propagated alone in the same chunks.
"""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.simulator import kernels, load_sample
from spin_echo.simulator.bloch import Relaxation
from spin_echo.simulator.detection import KERNEL_CHUNK, chunk_groups
from spin_echo.simulator.propagator import propagate_chunks
from spin_echo.simulator.simulation import REPLICAS, Simulation


@pytest.mark.parametrize(
    ("packets", "chunk", "groups", "edges"),
    [
        (1000, 100, 8, (0, 1, 2, 3, 5, 6, 7, 8, 10)),
        (1001, 100, 8, (0, 1, 2, 4, 5, 6, 8, 9, 11)),
        (800, 100, 8, (0, 1, 2, 3, 4, 5, 6, 7, 8)),
        (701, 100, 8, (0, 1, 2, 3, 4, 5, 6, 7, 8)),
        (700, 100, 8, None),
        (1, 100, 1, (0, 1)),
    ],
    ids=["ten-chunks", "eleven-chunks", "one-each", "short-last", "too-few", "one"],
)
def test_chunk_groups_are_runs_of_whole_chunks(packets, chunk, groups, edges):
    assert chunk_groups(packets, chunk, groups) == edges


def test_chunk_groups_refuse_a_non_positive_size():
    with pytest.raises(ValueError, match="positive"):
        chunk_groups(100, 0, 8)


@pytest.mark.parametrize("threads", [1, 2], ids=["one-thread", "two-threads"])
def test_groups_leave_the_totals_unchanged_and_sum_their_chunks(backend, threads, make_hahn):
    ensemble = load_sample("bare-t2").ensemble(packets=1003, seed=4)
    relax = Relaxation.from_times(None, 20e-6)
    timeline = make_hahn(3e-6, points=40)

    def run(part, groups=0):
        return propagate_chunks(
            timeline, part, relax, 0.0, 100, threads=threads, backend=backend, groups=groups
        )

    plain, grouped = run(ensemble), run(ensemble, groups=8)
    for name in ("signal", "mz"):
        np.testing.assert_array_equal(getattr(grouped, name), getattr(plain, name))
    assert plain.group_signals is None and grouped.group_signals.shape == (8, 40)
    edges = chunk_groups(len(ensemble), 100, 8)
    for r in range(8):
        alone = run(ensemble.chunk(100 * edges[r], min(1003, 100 * edges[r + 1])))
        np.testing.assert_array_equal(grouped.group_signals[r], alone.signal)
    scale = np.max(np.abs(plain.signal))
    np.testing.assert_allclose(
        grouped.group_signals.sum(axis=0), plain.signal, rtol=0, atol=1e-14 * scale
    )


def test_groups_need_as_many_chunks(make_hahn):
    ensemble = load_sample("bare").ensemble(packets=700, seed=4)
    with pytest.raises(ValueError, match="fewer than 8 chunks"):
        propagate_chunks(make_hahn(3e-6), ensemble, Relaxation(), 0.0, 100, groups=8)


def test_the_one_pass_error_keeps_the_signal_and_its_groups_are_whole_chunks(backend, make_hahn):
    packets = (REPLICAS - 1) * KERNEL_CHUNK + 1  # the fewest packets for one pass
    simulation = Simulation(load_sample("bare-t2"), packets=packets, seed=7)
    timeline = make_hahn(3e-6, points=8)
    with kernels.use_backend(backend):
        result = simulation.run_with_error(timeline)
        plain = simulation.run(timeline)
        replicas = simulation.replica_signals(timeline)
        np.testing.assert_array_equal(result.observables.signal, plain.signal)
        np.testing.assert_array_equal(result.observables.mz, plain.mz)
        np.testing.assert_array_equal(result.replicas, replicas)
        # group r: chunk r (the last one a single packet), its estimate scaled by N / n_r
        for r in (0, REPLICAS - 1):
            start, stop = r * KERNEL_CHUNK, min(packets, (r + 1) * KERNEL_CHUNK)
            alone = propagate_chunks(
                timeline,
                simulation.ensemble.chunk(start, stop),
                simulation.relaxation,
                0.0,
            )
            np.testing.assert_array_equal(
                result.replicas[r], alone.signal * (packets / (stop - start))
            )
    # the estimates weighted by their packets give back the signal
    sizes = np.diff(np.minimum(packets, KERNEL_CHUNK * np.arange(REPLICAS + 1)))
    weighted = (sizes[:, None] * result.replicas).sum(axis=0) / packets
    scale = np.max(np.abs(plain.signal))
    np.testing.assert_allclose(weighted, plain.signal, rtol=0, atol=1e-13 * scale)
    assert np.all(result.sem.real > 0) and np.all(result.sem.imag > 0)


def test_one_packet_fewer_propagates_the_groups_again(make_hahn):
    packets = (REPLICAS - 1) * KERNEL_CHUNK
    simulation = Simulation(load_sample("bare-t2"), packets=packets, seed=7)
    timeline = make_hahn(3e-6, points=8)
    result = simulation.run_with_error(timeline)
    # groups of N / R consecutive packets, each propagated alone
    size = packets // REPLICAS
    alone = simulation.run(timeline)
    assert result.observables.group_signals is None
    np.testing.assert_array_equal(result.observables.signal, alone.signal)
    first = propagate_chunks(
        timeline, simulation.ensemble.chunk(0, size), simulation.relaxation, 0.0
    )
    np.testing.assert_array_equal(result.replicas[0], first.signal * REPLICAS)
