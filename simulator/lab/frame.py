r"""Lab-frame propagation: the full drive :math:`\cos\theta\, b(t)\tau_z` with its carrier.

In the lab frame a packet's field in its eigenbasis (see :mod:`simulator.bloch`) is

.. math:: \vec h(t) = \big(-\cos\theta\sin\eta\, b(t),\; 0,\; E + \cos\theta\cos\eta\, b(t)\big),

with no rotating-wave approximation: counter-rotating terms (Bloch-Siegert shift) and the
longitudinal modulation of the splitting are kept.

* :func:`propagate_lab` (``propagate(..., frame="lab")``): a timeline's cosine drive. Each driven
  segment is cut at the detection times and into steps of at most 1/64 of a drive period; a
  step applies the fourth-order commutator-free Magnus integrator
  :math:`e^{(a_1 A_1 + a_2 A_2)h} e^{(a_2 A_1 + a_1 A_2)h}` (Gauss points
  :math:`t_{1,2} = h/2 \mp \sqrt3 h/6`, :math:`a_{1,2} = 1/4 \pm \sqrt3/6`), each factor an
  exact Bloch map (:func:`simulator.lab.drive.drive_span`). Local error
  :math:`O((2\pi f h)^5)`; free segments are exact. Packets that change at given segments
  (the dynamic nuclear bath, :class:`simulator.propagator.SegmentChanges`) are carried
  unchanged in their eigenbasis across the change, as in the rotating frame.
* spin diffusion in the lab frame: :func:`simulator.diffusion.propagate_diffusing` with the
  lab frame's piece map :func:`simulator.lab.drive.lab_piece`.
* :func:`simulator.lab.sampled.propagate_sampled`: a sampled AWG waveform, exactly
  (:mod:`simulator.lab.sampled`); :data:`MIN_FREE_SAMPLES` is its shortest free run.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from functools import partial
from typing import Protocol

import numpy as np

from spin_echo.sequences.timeline import Timeline
from spin_echo.simulator import kernels
from spin_echo.simulator.bloch import PacketFrame, Relaxation, free_evolve
from spin_echo.simulator.detection import (
    KERNEL_CHUNK,
    Accumulator,
    DetectionRun,
    Observables,
    free_run,
    map_chunk_ranges,
    runs_by_segment,
)
from spin_echo.simulator.ensemble import Ensemble
from spin_echo.simulator.lab.drive import SegmentDrive, drive_span
from spin_echo.simulator.lab.maps import apply, product
from spin_echo.simulator.lab.memo import SHARED_MAPS, MapMemo
from spin_echo.simulator.lab.pulse import (
    PERIOD_STEPS,
    SHARED_GRIDS,
    GridCache,
    cf4_pieces,
    segment_map,
)

__all__ = [
    "METHODS",
    "METHOD_ENV",
    "MIN_FREE_SAMPLES",
    "STEPS_PER_PERIOD",
    "ChangingPackets",
    "LabSpan",
    "default_method",
    "propagate_lab",
]

#: Lab-frame propagation methods: the fast maps and the step-by-step reference.
METHODS = ("fast", "exact")
#: Environment variable that sets the default method.
METHOD_ENV = "SPIN_ECHO_LAB_METHOD"
#: Integrator steps per drive period in lab-frame driven segments.
STEPS_PER_PERIOD = 64
#: Shortest run of zero samples that :func:`simulator.lab.sampled.propagate_sampled` evaluates
#: as free evolution.
MIN_FREE_SAMPLES = 16
TWO_PI = 2.0 * math.pi


class ChangingPackets(Protocol):
    """Packets that change at the start of given segments.

    :class:`simulator.propagator.SegmentChanges` (the dynamic nuclear bath).
    """

    @property
    def ensemble(self) -> Ensemble:
        """The packets at time zero."""

    @property
    def at_segment(self) -> Mapping[int, Ensemble]:
        """For each segment index, the packets from that segment on."""

    @property
    def norm(self) -> float:
        """The normaliser of the ensemble."""

    def __len__(self) -> int:
        """Return the number of packets."""

    def chunk(self, start: int, stop: int) -> ChangingPackets:
        """Packets ``start:stop`` of every ensemble."""


def _drive_segment(
    m: np.ndarray,
    z: np.ndarray,
    frame: PacketFrame,
    relax: Relaxation,
    timeline: Timeline,
    k: int,
    runs: list[DetectionRun],
    acc: Accumulator,
    steps_per_period: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Step driven segment ``k`` sample by sample (CF4), recording its detection points."""
    fc = timeline.carrier_hz
    t_k, d_k = float(timeline.start_s[k]), float(timeline.duration_s[k])
    drive = SegmentDrive.of(timeline, k)
    events = [
        (run.offset + j, run.first_s + j * run.spacing_s) for run in runs for j in range(run.count)
    ]
    events.append((-1, t_k + d_k))
    t = t_k
    for index, t_event in events:
        m, z = drive_span(m, z, frame, relax, drive, t, t_event - t, steps_per_period)
        t = t_event
        if index >= 0:
            acc.point(index, frame, m * np.exp(-1j * TWO_PI * fc * t), z)
    return m, z


def _free_segment(
    m: np.ndarray,
    z: np.ndarray,
    frame: PacketFrame,
    relax: Relaxation,
    timeline: Timeline,
    k: int,
    runs: list[DetectionRun],
    acc: Accumulator,
) -> tuple[np.ndarray, np.ndarray]:
    """Evolve freely through segment ``k`` (exact), recording its detection points."""
    fc = timeline.carrier_hz
    t_k, d_k = float(timeline.start_s[k]), float(timeline.duration_s[k])
    carrier_frame = m * np.exp(-1j * TWO_PI * fc * t_k)
    for run in runs:
        free_run(acc, run, frame, relax, carrier_frame, z, t_k, fc)
    return free_evolve(m, z, frame, relax, d_k, 0.0)


def _lab_chunk(
    timeline: Timeline,
    frame: PacketFrame,
    relax: Relaxation,
    acc: Accumulator,
    steps_per_period: int,
    frames: Mapping[int, PacketFrame],
) -> None:
    runs = runs_by_segment(timeline)
    m = np.zeros(len(frame.energy_hz), dtype=complex)
    z = frame.z_eq.copy()
    for k in range(len(timeline.start_s)):
        frame = frames.get(k, frame)
        if timeline.rabi_hz[k] == 0.0:
            m, z = _free_segment(m, z, frame, relax, timeline, k, runs.get(k, []), acc)
        else:
            m, z = _drive_segment(
                m, z, frame, relax, timeline, k, runs.get(k, []), acc, steps_per_period
            )


def _pieces_map(
    frame: PacketFrame, relax: Relaxation, pieces: tuple[np.ndarray, ...], steps: int
) -> np.ndarray:
    return product(cf4_pieces(frame, relax, *pieces, steps))


def _fast_chunk(
    timeline: Timeline,
    frame: PacketFrame,
    relax: Relaxation,
    acc: Accumulator,
    steps_per_period: int,
    cache: GridCache,
    frames: Mapping[int, PacketFrame],
    memo: MapMemo,
) -> None:
    """Propagate a chunk with each driven segment as one map (:mod:`simulator.lab.pulse`).

    ``frames``: the packets from the given segments on (the state carried unchanged); the
    maps are kept in ``memo`` (:mod:`simulator.lab.memo`).
    """
    span = LabSpan(timeline, relax, steps_per_period, cache, memo)
    span.carry(frame, acc, frames=frames)


class LabSpan:
    """The fast lab-frame maps of a timeline, applied to a chunk over a run of its segments.

    Parameters
    ----------
    timeline
        The compiled timeline.
    relax
        Relaxation rates.
    steps_per_period, cache, memo
        As :func:`propagate_lab` (``steps_per_period`` for the fast maps).
    """

    def __init__(
        self,
        timeline: Timeline,
        relax: Relaxation,
        steps_per_period: int,
        cache: GridCache | None = None,
        memo: MapMemo | None = None,
    ) -> None:
        self.timeline = timeline
        self.relax = relax
        self.steps_per_period = steps_per_period
        self.cache = SHARED_GRIDS if cache is None else cache
        self.memo = SHARED_MAPS if memo is None else memo
        self.runs = runs_by_segment(timeline)
        fc = timeline.carrier_hz
        self.freq = fc + np.asarray(timeline.offset_hz, dtype=float)
        start = np.asarray(timeline.start_s)
        self.cycles = (fc * start) % 1.0 + np.asarray(timeline.phase_rad) / TWO_PI
        self.length = self.freq * np.asarray(timeline.duration_s)

    def carry(
        self,
        frame: PacketFrame,
        acc: Accumulator,
        state: tuple[np.ndarray, np.ndarray] | None = None,
        segments: range | None = None,
        *,
        frames: Mapping[int, PacketFrame] | None = None,
        offset: float = 1.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Carry a chunk's lab-frame ``(m, z)`` through ``segments``; return it.

        ``state``: at the first segment's start (the equilibrium of ``frame`` when None);
        ``segments``: all when None; the detection points in them are added to ``acc``.
        ``offset`` scales the maps' equilibrium part, for a weighted sum of states whose
        weights add up to it (:mod:`simulator.cycle`).
        """
        timeline, relax, runs = self.timeline, self.relax, self.runs
        frames = frames or {}
        if state is None:
            m, z = np.zeros(len(frame.energy_hz), dtype=complex), frame.z_eq.copy()
        else:
            m, z = state
        scaled = frame.scaled(offset)
        spp = self.steps_per_period
        k, count = (
            (0, len(timeline.start_s)) if segments is None else (segments.start, segments.stop)
        )
        while k < count:
            if k in frames:
                frame = frames[k]
                scaled = frame.scaled(offset)
            here = runs.get(k, [])
            if timeline.rabi_hz[k] == 0.0:
                m, z = _free_segment(m, z, scaled, relax, timeline, k, here, acc)
                k += 1
                continue
            if here or self.freq[k] <= 0.0:
                m, z = _drive_segment(m, z, scaled, relax, timeline, k, here, acc, spp)
                k += 1
                continue
            a, k = self._map(frame, k, count, frames)
            x, y, z = apply(a, m.real, m.imag, z, offset)
            m = x + 1j * y
        return m, z

    def _map(
        self, frame: PacketFrame, k: int, count: int, frames: Mapping[int, PacketFrame]
    ) -> tuple[np.ndarray, int]:
        """Return the map of driven segment ``k`` (and of the short ones after it), and the next."""
        timeline, relax, memo, spp = self.timeline, self.relax, self.memo, self.steps_per_period
        length, freq, cycles = self.length, self.freq, self.cycles
        if length[k] >= 1.0:
            drive = (float(timeline.rabi_hz[k]), float(freq[k]), float(cycles[k]) % 1.0)
            drive += (float(length[k]),)
            build = partial(
                segment_map, frame, relax, *drive, steps_per_period=spp, cache=self.cache
            )
            return memo.get(("segment", *drive, spp), frame, relax, build), k + 1
        stop = k + 1
        while (
            stop < count
            and timeline.rabi_hz[stop] != 0.0
            and not self.runs.get(stop)
            and 0.0 < length[stop] < 1.0
            and stop not in frames
        ):
            stop += 1
        part = slice(k, stop)
        steps = max(1, math.ceil(float(np.max(length[part])) * spp))
        pieces = (timeline.rabi_hz[part], freq[part], cycles[part], length[part])
        key = ("pieces", *(np.asarray(v, dtype=float).tobytes() for v in pieces), steps)
        return memo.get(key, frame, relax, partial(_pieces_map, frame, relax, pieces, steps)), stop


def default_method() -> str:
    """Return the lab-frame method: ``SPIN_ECHO_LAB_METHOD`` if set, else ``"fast"``."""
    return os.environ.get(METHOD_ENV, "").strip().lower() or "fast"


def propagate_lab(
    timeline: Timeline,
    ensemble: Ensemble | ChangingPackets,
    *,
    t1_s: float | None = None,
    t2_s: float | None = None,
    temperature_k: float = 0.0,
    chunk: int = KERNEL_CHUNK,
    eigenbasis: bool = False,
    threads: int | None = None,
    method: str | None = None,
    steps_per_period: int | None = None,
    grid_cache: GridCache | None = None,
    map_memo: MapMemo | None = None,
    groups: tuple[int, ...] = (),
) -> Observables:
    r"""Propagate in the lab frame with the full cosine drive (see the module docstring).

    Parameters and result as :func:`simulator.propagator.propagate`; the signal is the exact
    quadrature demodulation :math:`-\sum_p w_p\cos\theta_p\sin\eta_p\,\overline{m_p}
    e^{2\pi i f_c t}/W` of the lab-frame state (the :math:`2f_c` term dropped) and m_z its
    longitudinal part, so :math:`M_z(t) = m_z + \mathrm{Re}[s\,e^{-2\pi i f_c t}]` exactly.
    ``ensemble`` may be packets that change at given segments (:class:`ChangingPackets`,
    :class:`simulator.propagator.SegmentChanges`).

    Other Parameters
    ----------------
    method
        ``"fast"``: each driven segment without detection points is one map per packet
        (:func:`simulator.lab.pulse.segment_map`: carrier-period maps raised to the number of
        periods; consecutive short segments, such as a shaped pulse's, as one batch);
        ``"exact"``: the reference, every CF4 step applied in turn. When None, the environment
        variable ``SPIN_ECHO_LAB_METHOD`` if set (benchmarks of the reference end to end), else
        ``"fast"``.
    steps_per_period
        CF4 steps per drive period: :data:`simulator.lab.pulse.PERIOD_STEPS` (fast) or
        :data:`STEPS_PER_PERIOD` (exact) when None.
    grid_cache
        Where period grids are kept between calls (a shared one when None).
    map_memo
        Where whole segment maps are kept between calls (a shared one when None,
        :data:`simulator.lab.memo.SHARED_MAPS`): a pulse met again, in another phase step or
        sweep point, is not integrated again.
    groups
        Packet edges ``0 = e_0 < ... < e_R = N`` of signal groups: the result's
        :attr:`~simulator.detection.Observables.group_signals` holds the signal of packets
        ``[e_r, e_{r+1})`` of each, normalised by the whole ensemble, from the same
        propagation (the Monte-Carlo error of :meth:`simulator.Simulation.run_with_error`).
    """
    if method is None:
        method = default_method()
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    relax = Relaxation.from_times(t1_s, t2_s)
    points = len(timeline.detect_times_s)
    fast = method == "fast"
    if steps_per_period is None:
        steps_per_period = PERIOD_STEPS if fast else STEPS_PER_PERIOD
    cache = SHARED_GRIDS if grid_cache is None else grid_cache
    memo = SHARED_MAPS if map_memo is None else map_memo

    if groups and (groups[0] != 0 or groups[-1] != len(ensemble) or np.any(np.diff(groups) < 1)):
        raise ValueError(f"group edges must rise from 0 to {len(ensemble)}, got {groups!r}")

    def work(part: Ensemble | ChangingPackets, start: int) -> Accumulator:
        local = tuple(int(np.clip(e - start, 0, len(part))) for e in groups)
        acc = Accumulator(points, eigenbasis=eigenbasis, packet_edges=local)
        frames: dict[int, PacketFrame] = {}
        if not isinstance(part, Ensemble):
            frames = {k: PacketFrame.build(e, temperature_k) for k, e in part.at_segment.items()}
            part = part.ensemble
        frame = PacketFrame.build(part, temperature_k)
        if fast:
            _fast_chunk(timeline, frame, relax, acc, steps_per_period, cache, frames, memo)
        else:
            _lab_chunk(timeline, frame, relax, acc, steps_per_period, frames)
        return acc

    driven = timeline.rabi_hz != 0.0
    frequency = np.abs(timeline.carrier_hz + timeline.offset_hz[driven])
    steps = 0.0 if fast else float(np.sum(timeline.duration_s[driven] * frequency))
    steps *= steps_per_period
    total = Accumulator(points, eigenbasis=eigenbasis, packet_edges=groups)
    with (
        kernels.backend_for(len(ensemble) * (len(timeline.start_s) + points + steps)),
        kernels.blas_single_thread(),
    ):
        for acc in map_chunk_ranges(work, ensemble, chunk, threads):
            total.add(acc)
    return total.observables(timeline.detect_times_s, ensemble.norm)
