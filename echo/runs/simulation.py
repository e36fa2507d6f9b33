"""Run a protocol through the simulator: every sweep point and phase step, into a record.

Each sweep point is an independent job (all its phase steps, combined with the protocol's
receiver weights, :meth:`simulator.simulation.Simulation.run_point`), so jobs go through an
executor and are written to the record in order as they finish. Every point uses the same seed:
the same packets of the same sample are measured at each point (common random numbers), and the
result does not depend on which executor or how many workers ran it. A worker prepares the
sample's packets once (:class:`simulator.simulation.Simulation`) and reuses them for every
point it runs.

The record holds ``signal_sem_re``/``signal_sem_im``, the Monte-Carlo standard error of the
signal from :data:`simulator.simulation.REPLICAS` independent packet groups (the module
docstring of :mod:`simulator.simulation`); the signal itself is the result of all packets
together, bit for bit what it was without the error estimate.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from spin_echo.echo.record import RecordWriter, check_detection_grid, record_time_axis
from spin_echo.echo.runs.progress import ProgressCallback
from spin_echo.sequences import compile_timeline
from spin_echo.sequences.protocol import Protocol
from spin_echo.sequences.timeline import Timeline
from spin_echo.simulator import Sample
from spin_echo.simulator.diffusion import OrnsteinUhlenbeck, diffusion_steps
from spin_echo.simulator.limits import check_diffusion_work, check_finite, check_simulation_size
from spin_echo.simulator.rwa import RotatingWaveWarning, rwa_error
from spin_echo.simulator.simulation import (
    REPLICAS,
    PointSignal,
    Simulation,
    compile_point,
)

__all__ = [
    "MapFunction",
    "PointResult",
    "StepsJob",
    "check_drift_work",
    "check_protocol_drift",
    "simulate_point",
    "simulate_protocol",
    "simulate_steps",
]

#: An ordered ``map`` (the builtin, or an executor's :meth:`~echo.runs.executor.Executor.map`).
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
    replicas: int


@dataclass(frozen=True)
class StepsJob:
    """One sweep point's compiled phase steps on a sample (:func:`simulate_steps`).

    Attributes
    ----------
    sample, seed, packets, frame
        As :class:`simulator.simulation.Simulation`.
    steps
        The compiled phase steps (:func:`simulator.simulation.compile_point`).
    phase_cycle
        The protocol's phase cycle.
    replicas
        Replica groups of the Monte-Carlo error (0: none).
    """

    sample: Sample
    seed: int | None
    packets: int | None
    frame: str
    steps: tuple[Timeline, ...]
    phase_cycle: tuple
    replicas: int = 0


@dataclass(frozen=True)
class PointResult:
    """The simulated record of one sweep point.

    Attributes
    ----------
    index
        Index of the point in the sweep grid.
    detect
        Detection windows of phase step 0 (their grid is checked against the first point's).
    signal
        Detected complex signal, phase cycle combined.
    mz
        Normalised magnetisation of phase step 0 (the protocol as written).
    sem
        Complex Monte-Carlo standard error of the signal (None without replicas).
    """

    index: tuple[int, ...]
    detect: tuple
    signal: np.ndarray
    mz: np.ndarray
    sem: np.ndarray | None


_PREPARED: dict[tuple, Simulation] = {}


def _prepared(sample: Sample, seed: int | None, packets: int | None, frame: str) -> Simulation:
    """Return the :class:`Simulation` of a job, prepared once per worker for consecutive jobs.

    A job on another sample with the same seed, packets and frame (a fit's next trial) gets
    :meth:`Simulation.with_sample` of the previous one: its packets are shared when the draw
    is the same.
    """
    key = (sample.to_yaml(), seed, packets, frame)
    simulation = _PREPARED.get(key)
    if simulation is None:
        previous = list(_PREPARED.items())[:1]  # one atomic copy: threads may share the cache
        if previous and previous[0][0][1:] == key[1:]:
            simulation = previous[0][1].with_sample(sample)
        else:
            simulation = Simulation(sample, seed=seed, packets=packets, frame=frame)
        _PREPARED.clear()
        _PREPARED[key] = simulation
    return simulation


def simulate_steps(job: StepsJob) -> PointSignal:
    """Simulate one sweep point from its compiled phase steps (executor entry point).

    The one path every caller takes for a sweep point (``simulate``, ``fit``, the paper
    reproduction): :meth:`simulator.simulation.Simulation.run_point` on the worker's prepared
    packets. BLAS runs on one thread (see :func:`simulate_point`).
    """
    count = job.sample.packets if job.packets is None else job.packets
    check_drift_work(job.sample, job.steps, count)
    with threadpool_limits(limits=1, user_api="blas"):
        simulation = _prepared(job.sample, job.seed, job.packets, job.frame)
        return simulation.run_point(job.steps, job.phase_cycle, replicas=job.replicas)


def check_drift_work(sample: Sample, timelines: Iterable[Timeline], packets: int) -> None:
    """Refuse a spin-diffusion simulation too long to run (:func:`~.limits.check_diffusion_work`).

    Parameters
    ----------
    sample
        The sample (nothing is checked without ``environment.spin_diffusion``).
    timelines
        Every run of the simulation (phase steps of the sweep points it simulates).
    packets
        Packets of the ensemble.
    """
    if sample.diffusion is None:
        return
    timelines = list(timelines)
    t2_s, width_hz = sample.diffusion.t2_s, sample.diffusion.width_hz
    process = OrnsteinUhlenbeck(t2_s, width_hz)
    steps = sum(diffusion_steps(timeline, process) for timeline in timelines)
    check_diffusion_work(
        steps / len(timelines),
        packets,
        len(timelines),
        t2_s=t2_s,
        width_hz=width_hz,
        file=sample.source,
    )


def check_protocol_drift(protocol: Protocol, sample: Sample, packets: int) -> None:
    """:func:`check_drift_work` over every sweep point and phase step of ``protocol``.

    Called before a record is opened (``simulate``, a virtual-bench ``run``); compiles the
    timelines only when the sample has spin diffusion.
    """
    if sample.diffusion is None:
        return
    steps = range(len(protocol.phase_cycle))
    timelines = (
        compile_timeline(protocol.sequence(values, k))
        for _, values in protocol.iter_points()
        for k in steps
    )
    check_drift_work(sample, timelines, packets)


def simulate_point(job: _PointJob) -> PointResult:
    """Simulate every phase step of one sweep point and combine them (executor entry point).

    The job carries the protocol as its YAML text (what the record stores), so that it pickles
    to worker processes and the record's text is exactly what ran. BLAS runs on one thread
    inside a point: a multi-threaded BLAS may sum in another order, and the result must be the
    same bit for bit whichever executor (and how many workers) ran the point.
    """
    protocol = Protocol.from_yaml(job.protocol_yaml)
    steps = compile_point(protocol, job.values)
    point = simulate_steps(
        StepsJob(
            job.sample, job.seed, job.packets, job.frame, steps, protocol.phase_cycle, job.replicas
        )
    )
    check_finite(point.signal, what=f"signal at sweep point {job.index}")
    return PointResult(job.index, point.detect, point.signal, point.mz, point.sem)


def simulate_protocol(
    protocol: Protocol,
    sample: Sample,
    path: str | Path,
    *,
    seed: int | None = None,
    packets: int | None = None,
    frame: str = "rotating",
    replicas: int = REPLICAS,
    map_function: MapFunction = map,
    overwrite: bool = False,
    resume: bool = False,
    progress: ProgressCallback | None = None,
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
    replicas
        Packet groups for the Monte-Carlo standard error (``signal_sem_re``/``_im``); 0, or
        fewer packets than twice as many, leaves the error out.
    map_function
        An ordered ``map`` (the builtin, or an executor's ``map``) that runs the point jobs.
    overwrite
        Replace an existing record once the new one is complete (:class:`.record.RecordWriter`).
    resume
        Continue the interrupted record at ``path``: it must hold this run (protocol, sample,
        seed, packets, frame, replicas: :mod:`spin_echo.echo.record_resume`); its finished
        points are skipped, and the record ends bit for bit as an uninterrupted run's.
    progress
        Called as ``progress(done, total)`` after each sweep point is written (``done``
        counts the points a resumed record already held).

    Returns
    -------
    Path
        The record path. The record is marked ``complete`` only if every point was written;
        an interruption leaves a valid file with the finished points.

    Raises
    ------
    RecordError
        When a sweep point's detection grid differs from the first point's
        (:func:`echo.record.check_detection_grid`).
    """
    protocol.require_detect()
    seed = sample.seed if seed is None else seed
    count = sample.packets if packets is None else packets
    replicas = replicas if replicas >= 2 and count >= 2 * replicas else 0
    protocol_yaml = protocol.to_yaml()
    jobs = [
        _PointJob(protocol_yaml, sample, index, values, seed, packets, frame, replicas)
        for index, values in protocol.iter_points()
    ]
    first = compile_timeline(protocol.sequence(jobs[0].values, 0))
    detection_points = sum(w.points for w in first.detect)
    check_simulation_size(count, detection_points, len(jobs), file=protocol.source)
    check_protocol_drift(protocol, sample, count)
    time_s, window = record_time_axis(first.detect)
    axes = [(axis.name, axis.values, axis.kind) for axis in protocol.sweep_axes]
    attrs = {}
    if frame == "rotating":
        rwa = rwa_error(first)
        rwa.check()
        attrs["rwa_error_estimate"] = rwa.estimate
    attrs |= {
        "protocol": protocol_yaml,
        "sample": sample.to_yaml(),
        "source": "simulate",
        "units": "normalised",
        "seed": -1 if seed is None else int(seed),
        "frame": frame,
        "replicas": int(replicas),
        "packets": int(count),
    }
    with RecordWriter(
        path,
        axes=axes,
        time_s=time_s,
        attrs=attrs,
        with_mz=True,
        window=window,
        with_sem=bool(replicas),
        overwrite=overwrite,
        resume=resume,
    ) as record:
        if frame == "rotating" and rwa.warning():
            # said once the record is open: a run refused for its output does not warn
            warnings.warn(rwa.warning(), RotatingWaveWarning, stacklevel=2)
        written = record.written
        left = [job for job in jobs if not written[job.index]]
        start = len(jobs) - len(left)
        for done, result in enumerate(map_function(simulate_point, left), start + 1):
            check_detection_grid(result.detect, first.detect, point=result.index)
            record.write_point(result.index, result.signal, result.mz, sem=result.sem)
            if progress is not None:
                progress(done, len(jobs))
    return Path(path)
