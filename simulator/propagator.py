r"""The propagator: a compiled :class:`~sequences.timeline.Timeline` over an ensemble of packets.

Every segment of the timeline is applied to every packet as an exact map (see
:mod:`simulator.bloch`): a rotation with relaxation in the frame rotating at the segment's drive
frequency (carrier + ``offset_hz``, phase ``phase_rad`` relative to the carrier at the segment
start) for driven segments, a diagonal map for free evolution. The packet state is kept in the
frame rotating at the carrier; for a segment with a frequency offset the state is carried into
the segment's frame (aligned with the carrier frame at the segment start) and back.

The detection sums and the observables are those of :mod:`simulator.detection`, shared with
the other propagators. The kernel backend is a typed option (``backend=``, see
:mod:`simulator.kernels`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from spin_echo.sequences.timeline import Timeline
from spin_echo.simulator import kernels
from spin_echo.simulator.bloch import (
    PacketFrame,
    Relaxation,
    drive_field,
    free_evolve,
    rotate_relax,
)
from spin_echo.simulator.detection import (
    DEFAULT_CHUNK,
    KERNEL_CHUNK,
    Accumulator,
    DetectionRun,
    Observables,
    free_run,
    group_edges,
    map_chunks,
    runs_by_segment,
)
from spin_echo.simulator.ensemble import Ensemble

__all__ = [
    "DEFAULT_CHUNK",
    "KERNEL_CHUNK",
    "Observables",
    "SegmentChanges",
    "driven_map",
    "propagate",
    "propagate_chunks",
    "propagate_segments",
    "timeline_work",
]

TWO_PI = 2.0 * math.pi


def driven_map(
    frame: PacketFrame,
    relax: Relaxation,
    timeline: Timeline,
    k: int,
) -> Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]:
    """Return the map of the first ``tau`` seconds of driven segment ``k`` (carrier frame).

    The returned ``apply(m, z, tau)`` rotates with relaxation in the segment's frame
    (:func:`simulator.bloch.rotate_relax`) and carries the state back to the carrier frame.
    """
    offset = float(timeline.offset_hz[k])
    field = drive_field(
        frame,
        float(timeline.rabi_hz[k]),
        float(timeline.phase_rad[k]),
        timeline.carrier_hz + offset,
    )

    def apply(m: np.ndarray, z: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
        m, z = rotate_relax(m, z, field, relax, frame.z_eq, tau)
        if offset != 0.0:
            m = m * np.exp(1j * TWO_PI * offset * tau)
        return m, z

    return apply


@dataclass(frozen=True, eq=False)
class SegmentChanges:
    """Packets whose ``delta_hz`` and ``epsilon_hz`` change at the start of given segments.

    Attributes
    ----------
    ensemble
        The packets at time zero.
    at_segment
        For each segment index, the packets from that segment on (same length, same weights
        and normaliser as ``ensemble``); used by the dynamic nuclear bath
        (:mod:`simulator.simulation`).
    """

    ensemble: Ensemble
    at_segment: Mapping[int, Ensemble]

    def __len__(self) -> int:
        return len(self.ensemble)

    @property
    def norm(self) -> float:
        """The normaliser of the ensemble."""
        return self.ensemble.norm

    def chunk(self, start: int, stop: int) -> SegmentChanges:
        """Return packets ``start:stop`` of every ensemble (the whole normaliser kept)."""
        return SegmentChanges(
            self.ensemble.chunk(start, stop),
            {k: e.chunk(start, stop) for k, e in self.at_segment.items()},
        )


def propagate_segments(
    timeline: Timeline,
    frame: PacketFrame,
    relax: Relaxation,
    runs: Mapping[int, list[DetectionRun]],
    acc: Accumulator,
    state: tuple[np.ndarray, np.ndarray] | None = None,
    segments: range | None = None,
    frames: Mapping[int, PacketFrame] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Carry a chunk's packets through ``segments`` of ``timeline``; return their ``(m, z)``.

    ``state`` is the packets' ``(m, z)`` at the first segment's start (carrier frame; the
    equilibrium of ``frame`` when None), ``segments`` every segment when None. The detection
    points of ``runs`` in those segments are added to ``acc``; ``frames`` replaces the
    packets' frame from the given segments on (the dynamic bath).
    """
    if state is None:
        m, z = np.zeros(len(frame.energy_hz), dtype=complex), frame.z_eq.copy()
    else:
        m, z = state
    for k in range(len(timeline.start_s)) if segments is None else segments:
        t_k, d_k = float(timeline.start_s[k]), float(timeline.duration_s[k])
        if frames and k in frames:
            frame = frames[k]
        if timeline.rabi_hz[k] == 0.0:
            for run in runs.get(k, ()):
                free_run(acc, run, frame, relax, m, z, t_k, timeline.carrier_hz)
            m, z = free_evolve(m, z, frame, relax, d_k, timeline.carrier_hz)
            continue
        apply = driven_map(frame, relax, timeline, k)
        for run in runs.get(k, ()):
            for j in range(run.count):
                tau = run.first_s + j * run.spacing_s - t_k
                acc.point(run.offset + j, frame, *apply(m, z, tau))
        m, z = apply(m, z, d_k)
    return m, z


def timeline_work(timeline: Timeline, packets: int, relax: Relaxation) -> float:
    """Return the work of a rotating-frame propagation of ``timeline`` (packet-steps).

    The measure of :func:`simulator.kernels.propagation_work`, which picks the backend.
    """
    runs = runs_by_segment(timeline)
    driven = np.asarray(timeline.rabi_hz) != 0.0
    driven_points = sum(run.count for k, segment in runs.items() if driven[k] for run in segment)
    return kernels.propagation_work(
        packets,
        maps=int(np.count_nonzero(driven)) + driven_points,
        free_segments=int(np.count_nonzero(~driven)),
        free_points=len(timeline.detect_times_s) - driven_points,
        anisotropic=not relax.isotropic,
    )


def propagate(
    timeline: Timeline,
    ensemble: Ensemble,
    *,
    t1_s: float | None = None,
    t2_s: float | None = None,
    temperature_k: float = 0.0,
    frame: str = "rotating",
    chunk: int = KERNEL_CHUNK,
    eigenbasis: bool = False,
    threads: int | None = None,
    backend: kernels.Backend | None = None,
) -> Observables:
    """Propagate every packet through ``timeline`` and return the ensemble observables.

    Parameters
    ----------
    timeline
        Compiled protocol (piecewise-constant drive, detection windows).
    ensemble
        Packets (delta, epsilon, cos_theta, weight).
    t1_s, t2_s
        Lindblad relaxation times in each packet's eigenbasis, seconds (None: no such process;
        T1 alone gives T2 = 2 T1). Requires T2 <= 2 T1.
    temperature_k
        Temperature of the initial state and of the relaxation's equilibrium, kelvin.
    frame
        ``"rotating"``: exact maps in the rotating-wave approximation (the fast path);
        ``"lab"``: the full lab-frame Hamiltonian with the carrier
        (:func:`simulator.lab.frame.propagate_lab`).
    chunk
        Packets processed together.
    eigenbasis
        Also return the ensemble-averaged transverse components in the packets' eigenbasis
        (:attr:`Observables.eigen_x`, :attr:`Observables.eigen_y`).
    threads
        Chunks propagated at once (:func:`simulator.kernels.default_threads` when None); the
        result is the same bit for bit whatever the number.
    backend
        Kernel backend, ``"numpy"`` or ``"numba"``; None: the default for the size of the job
        (:func:`simulator.kernels.backend_for`, ``SPIN_ECHO_KERNELS``).

    Returns
    -------
    Observables
        Signal and m_z (and the eigenbasis components if asked for) at
        ``timeline.detect_times_s``.

    Raises
    ------
    simulator.kernels.KernelError
        For a backend that does not exist or cannot run here (an input error).
    """
    if frame == "lab":
        from spin_echo.simulator.lab.frame import propagate_lab

        with kernels.use_backend(backend) if backend else contextlib.nullcontext():
            return propagate_lab(
                timeline,
                ensemble,
                t1_s=t1_s,
                t2_s=t2_s,
                temperature_k=temperature_k,
                chunk=chunk,
                eigenbasis=eigenbasis,
                threads=threads,
            )
    if frame != "rotating":
        raise ValueError(f"frame must be 'rotating' or 'lab', got {frame!r}")
    relax = Relaxation.from_times(t1_s, t2_s)
    return propagate_chunks(
        timeline,
        ensemble,
        relax,
        temperature_k,
        chunk,
        eigenbasis=eigenbasis,
        threads=threads,
        backend=backend,
    )


def propagate_chunks(
    timeline: Timeline,
    ensemble: Ensemble | SegmentChanges,
    relax: Relaxation,
    temperature_k: float,
    chunk: int = KERNEL_CHUNK,
    *,
    eigenbasis: bool = False,
    threads: int | None = None,
    backend: kernels.Backend | None = None,
    groups: int = 0,
) -> Observables:
    """Rotating-frame propagation with given rates, in chunks of packets (see :func:`propagate`).

    ``ensemble`` may be :class:`SegmentChanges`: each chunk's packets then change at the start of
    the given segments (the state of every packet is carried unchanged in its eigenbasis).
    With ``groups``, the signal of that many groups of whole chunks is returned too
    (:attr:`Observables.group_signals`, groups of :func:`simulator.detection.chunk_groups`);
    the other observables are the same bit for bit.

    Raises
    ------
    ValueError
        If ``groups`` is given and there are fewer chunks than groups.
    """
    runs = runs_by_segment(timeline)
    points = len(timeline.detect_times_s)
    edges = group_edges(len(ensemble), chunk, groups)

    def work(part: Ensemble | SegmentChanges) -> Accumulator:
        acc = Accumulator(points, eigenbasis=eigenbasis)
        frames = None
        if isinstance(part, SegmentChanges):
            frames = {k: PacketFrame.build(e, temperature_k) for k, e in part.at_segment.items()}
            part = part.ensemble
        frame = PacketFrame.build(part, temperature_k)
        propagate_segments(timeline, frame, relax, runs, acc, frames=frames)
        return acc

    steps = timeline_work(timeline, len(ensemble), relax)
    total = Accumulator(points, eigenbasis=eigenbasis, group_edges=edges)
    with (
        kernels.backend_for(steps, backend),
        kernels.blas_single_thread(),
    ):
        for acc in map_chunks(work, ensemble, chunk, threads):
            total.add(acc)
    return total.observables(timeline.detect_times_s, ensemble.norm)
