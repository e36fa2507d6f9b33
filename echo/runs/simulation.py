"""Run a protocol through the simulator: every sweep point and phase step, into a record.

Each sweep point is an independent job (all its phase steps, combined with the protocol's
receiver weights), so jobs go through an executor and are written to the record in order as
they finish. Every point uses the same seed: the same packets of the same sample are measured
at each point (common random numbers), and the result does not depend on which executor or
how many workers ran it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from spin_echo.echo.record import RecordWriter, record_time_axis
from spin_echo.echo.runs.progress import Progress
from spin_echo.sequences import combine_phase_cycle, compile_timeline
from spin_echo.sequences.errors import SpinEchoError
from spin_echo.sequences.protocol import Protocol
from spin_echo.simulator import Sample, simulate

__all__ = ["PointResult", "simulate_point", "simulate_protocol"]

MapFunction = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]


@dataclass(frozen=True)
class _PointJob:
    protocol_yaml: str
    sample: Sample
    index: tuple[int, ...]
    values: dict[str, float]
    seed: int | None
    packets: int | None
    frame: str


@dataclass(frozen=True)
class PointResult:
    """The simulated record of one sweep point.

    Attributes
    ----------
    index
        Index of the point in the sweep grid.
    time_s
        The record's time axis of this point (:func:`echo.record.record_time_axis`).
    signal
        Detected complex signal, phase cycle combined.
    mz
        Normalised magnetisation of phase step 0 (the protocol as written).
    """

    index: tuple[int, ...]
    time_s: np.ndarray
    signal: np.ndarray
    mz: np.ndarray


def simulate_point(job: _PointJob) -> PointResult:
    """Simulate every phase step of one sweep point and combine them (executor entry point).

    The job carries the protocol as its YAML text (what the record stores), so that it pickles
    to worker processes and the record's text is exactly what ran. BLAS runs on one thread
    inside a point: a multi-threaded BLAS may sum in another order, and the result must be the
    same bit for bit whichever executor (and how many workers) ran the point.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _simulate_point(job)


def _simulate_point(job: _PointJob) -> PointResult:
    protocol = Protocol.from_yaml(job.protocol_yaml)
    signals = []
    mz = None
    time_s = None
    for step in range(len(protocol.phase_cycle)):
        timeline = compile_timeline(protocol.sequence(job.values, step))
        observed = simulate(
            timeline, job.sample, seed=job.seed, packets=job.packets, frame=job.frame
        )
        signals.append(observed.signal)
        if step == 0:
            mz, (time_s, _) = observed.mz, record_time_axis(timeline.detect)
    signal = combine_phase_cycle(signals, protocol.phase_cycle)
    return PointResult(job.index, np.asarray(time_s), np.asarray(signal), np.asarray(mz))


def simulate_protocol(
    protocol: Protocol,
    sample: Sample,
    path: str | Path,
    *,
    seed: int | None = None,
    packets: int | None = None,
    frame: str = "rotating",
    map_function: MapFunction = map,
) -> Path:
    """Simulate every sweep point of ``protocol`` on ``sample`` and write the record.

    Parameters
    ----------
    protocol
        The protocol, parameters already bound (``--set`` applied).
    sample
        The sample.
    path
        Record file to write (NetCDF-4, see :mod:`echo.record`).
    seed
        Seed of the ensemble and of stochastic environments; the sample's seed when None.
    packets
        Packet count override; the sample's when None.
    frame
        ``"rotating"`` (rotating-wave approximation) or ``"lab"`` (exact, with the carrier),
        see :func:`simulator.simulate`.
    map_function
        An ordered ``map`` (the builtin, or an executor's ``map``) that runs the point jobs.

    Returns
    -------
    Path
        The record path. The record is marked ``complete`` only if every point was written;
        an interruption leaves a valid file with the finished points.
    """
    seed = sample.seed if seed is None else seed
    protocol_yaml = protocol.to_yaml()
    jobs = [
        _PointJob(protocol_yaml, sample, index, values, seed, packets, frame)
        for index, values in protocol.iter_points()
    ]
    first = compile_timeline(protocol.sequence(jobs[0].values, 0))
    if not first.detect:
        raise SpinEchoError(f"protocol {protocol.name!r} has no detect step: nothing to record")
    time_s, window = record_time_axis(first.detect)
    axes = [(axis.name, axis.values, axis.kind) for axis in protocol.sweep_axes]
    attrs = {
        "protocol": protocol_yaml,
        "sample": sample.to_yaml(),
        "source": "simulate",
        "units": "normalised",
        "seed": -1 if seed is None else int(seed),
        "frame": frame,
    }
    progress = Progress(len(jobs), f"simulate {protocol.name}")
    with RecordWriter(
        path, axes=axes, time_s=time_s, attrs=attrs, with_mz=True, window=window
    ) as record:
        for result in map_function(simulate_point, jobs):
            if result.time_s.shape != time_s.shape or not np.allclose(
                result.time_s, time_s, rtol=1e-12, atol=0
            ):
                raise SpinEchoError(
                    f"sweep point {result.index}: detection times differ from the first point's; "
                    "a record needs the same detection grid at every sweep point"
                )
            record.write_point(result.index, result.signal, result.mz)
            progress.advance()
    return Path(path)
