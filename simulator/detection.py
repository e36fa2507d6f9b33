r"""What every propagator shares: packet chunks, the detection sums and the observables.

Observables at the detection times (timeline.py's convention):

.. math::

    s(t) = 2\,\mathrm{LPF}[M_z e^{2\pi i f_c t}]
         = -\frac{1}{W}\sum_p w_p\cos\theta_p\sin\eta_p\, \overline{m_p(t)},
    \qquad
    m_z(t) = \frac{1}{W}\sum_p w_p\cos\theta_p\cos\eta_p\, z_p(t),

with :math:`M_z = \sum_p w_p\cos\theta_p\langle\tau_z\rangle_p / W`
(the equilibrium part :math:`z_{eq}` weighted by the grain weight, see
:class:`~simulator.ensemble.Ensemble`),
:math:`\langle\tau_z\rangle = \cos\eta\,z - \sin\eta\,x`, :math:`x = \mathrm{Re}(m\,e^{2\pi i f_c
t})` and W the ensemble's normaliser; the filter removes the :math:`2f_c` term only.

Detection during free evolution costs one complex multiply-add per packet and point: the sum
:math:`S_j = \sum_p a_p q_p^j` over a uniform run of points is a power sum
(:func:`simulator.kernels.power_sums`), no N x M sin/cos (:func:`free_run`).

The propagators (:mod:`simulator.propagator`, :mod:`simulator.lab.frame`, :mod:`simulator.diffusion`
and the dynamic bath) split the ensemble into chunks (:func:`map_chunks`), add each chunk's
sums into an :class:`Accumulator` in chunk order, and normalise once
(:meth:`Accumulator.observables`). The accumulator can also keep the signal of groups of
consecutive whole chunks (:func:`chunk_groups`), for the Monte-Carlo error of
:meth:`simulator.simulation.Simulation.run_with_error` in the same pass: each chunk's sums are
added to the total exactly as without groups (the same additions in the same order, so the
same bits) and, separately, to its group's sum. Or it keeps the signal of groups of consecutive
packets at any edges (``packet_edges``; the lab frame's Monte-Carlo error in one pass): each
detection sum is then also taken over each group's packets, beside the unchanged total.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from spin_echo.sequences.timeline import Timeline
from spin_echo.simulator import kernels
from spin_echo.simulator.bloch import PacketFrame, Relaxation, free_evolve
from spin_echo.simulator.ensemble import Ensemble

__all__ = [
    "DEFAULT_CHUNK",
    "KERNEL_CHUNK",
    "Accumulator",
    "DetectionRun",
    "Observables",
    "chunk_groups",
    "free_run",
    "group_edges",
    "map_chunk_ranges",
    "map_chunks",
    "runs_by_segment",
]

#: Packets processed together by the spin-diffusion propagator (:mod:`simulator.diffusion`,
#: whose noise streams are seeded per chunk); about 1 kB per packet at 1024 points.
DEFAULT_CHUNK = 65536
#: Packets processed together by :func:`simulator.propagate` and
#: :func:`simulator.propagate_sampled`: small enough for numpy's temporaries to stay in cache
#: (30% faster than 65536 with numpy, the same with numba) and to share a 10^5-packet ensemble
#: between threads.
KERNEL_CHUNK = 16384
TWO_PI = 2.0 * math.pi
_T = TypeVar("_T")


def map_chunks(
    work: Callable[[Ensemble], _T], ensemble: Ensemble, chunk: int, threads: int | None = None
) -> Iterator[_T]:
    """Yield ``work(part)`` for consecutive chunks of ``chunk`` packets, in chunk order.

    ``threads`` chunks run at once (:func:`simulator.kernels.default_threads` when None); the
    order of the results, and so of any sum over them, does not depend on it.
    """
    return map_chunk_ranges(lambda part, _start: work(part), ensemble, chunk, threads)


def map_chunk_ranges(
    work: Callable[[Ensemble, int], _T],
    ensemble: Ensemble,
    chunk: int,
    threads: int | None = None,
) -> Iterator[_T]:
    """Yield ``work(part, start)`` for the chunks of :func:`map_chunks` (first packet ``start``)."""
    starts = range(0, len(ensemble), chunk)
    parts = (ensemble.chunk(start, start + chunk) for start in starts)
    count = kernels.default_threads() if threads is None else threads
    if count <= 1 or len(ensemble) <= chunk:
        yield from map(work, parts, starts)
        return
    with ThreadPoolExecutor(count) as pool:
        yield from pool.map(work, parts, starts)


@dataclass(frozen=True, eq=False)
class Observables:
    r"""Ensemble observables at the detection times.

    Attributes
    ----------
    times_s
        Absolute detection times, seconds from the sequence start.
    signal
        Complex detected signal :math:`s(t)` (timeline.py convention), normalised by the
        ensemble's total weight.
    mz
        Slowly varying part of the normalised magnetisation :math:`M_z`, in [-1, 1].
    eigen_x, eigen_y
        Ensemble averages of the transverse Bloch components in each packet's eigenbasis,
        :math:`\sum_p w_p(\langle\sigma_x'\rangle_p + i\langle\sigma_y'\rangle_p)/W =`
        ``eigen_x + 1j * eigen_y``, in the frame rotating at the carrier (phase reference at
        t = 0, the frame of :mod:`simulator.bloch`); weights w as for the signal, but without
        the coupling :math:`\cos\theta\sin\eta`. None unless asked for
        (``propagate(..., eigenbasis=True)``): a second detection sum, about 10% more time
        with the numba backend and 50% with numpy.
    group_signals
        Signal of each group of :func:`chunk_groups`, shape ``(groups, points)``, normalised
        by the whole ensemble's weight (so the groups add up to ``signal``, to rounding).
        None unless asked for (``propagate_chunks(..., groups=...)``).
    """

    times_s: np.ndarray
    signal: np.ndarray
    mz: np.ndarray
    eigen_x: np.ndarray | None = None
    eigen_y: np.ndarray | None = None
    group_signals: np.ndarray | None = None


@dataclass(frozen=True)
class DetectionRun:
    """A uniform run of detection points inside one segment.

    Attributes
    ----------
    offset
        Index of the run's first point among all detection points.
    count
        Number of points.
    first_s
        Time of the first point, seconds from the sequence start.
    spacing_s
        Spacing of the points, seconds.
    """

    offset: int
    count: int
    first_s: float
    spacing_s: float


def runs_by_segment(timeline: Timeline) -> dict[int, list[DetectionRun]]:
    """Return the detection points of ``timeline`` as uniform runs, by segment index.

    Raises
    ------
    ValueError
        If a detection window lies outside the timeline.
    """
    starts = np.asarray(timeline.start_s, dtype=float)
    total = timeline.total_s
    runs: dict[int, list[DetectionRun]] = {}
    offset = 0
    for window in timeline.detect:
        times = window.times_s
        if len(times) and (times[0] < 0 or times[-1] > total * (1 + 1e-12)):
            raise ValueError(
                f"detection window [{times[0]!r}, {times[-1]!r}] s is outside the timeline "
                f"[0, {total!r}] s"
            )
        seg = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(starts) - 1)
        spacing = window.duration_s / window.points
        begin = 0
        for end in range(1, len(times) + 1):
            if end == len(times) or seg[end] != seg[begin]:
                run = DetectionRun(offset + begin, end - begin, float(times[begin]), spacing)
                runs.setdefault(int(seg[begin]), []).append(run)
                begin = end
        offset += len(times)
    return runs


def chunk_groups(packets: int, chunk: int, groups: int) -> tuple[int, ...] | None:
    """Return the chunk edges of ``groups`` groups of consecutive whole chunks, or None.

    The ``ceil(packets / chunk)`` chunks of :func:`map_chunks` are split as evenly as whole
    chunks allow: group r holds chunks ``[C r // groups, C (r + 1) // groups)`` of the C
    chunks, so its packets are ``[chunk * edges[r], min(packets, chunk * edges[r + 1]))``.
    None when there are fewer chunks than groups (the groups would split a chunk).

    Raises
    ------
    ValueError
        If ``chunk`` or ``groups`` is not positive.
    """
    if chunk < 1 or groups < 1:
        raise ValueError(f"chunk and groups must be positive, got {chunk!r} and {groups!r}")
    count = -(-packets // chunk)
    if count < groups:
        return None
    return tuple(count * r // groups for r in range(groups + 1))


def group_edges(packets: int, chunk: int, groups: int) -> tuple[int, ...]:
    """Return :func:`chunk_groups`' edges for a propagation asked for ``groups`` (0: none, ``()``).

    Raises
    ------
    ValueError
        If there are fewer chunks than groups.
    """
    if not groups:
        return ()
    found = chunk_groups(packets, chunk, groups)
    if found is None:
        raise ValueError(f"{packets} packets make fewer than {groups} chunks of {chunk}")
    return found


class Accumulator:
    """Running sums of the signal, of m_z and (optionally) of the eigenbasis m over chunks.

    Parameters
    ----------
    points
        Number of detection points.
    eigenbasis
        Also sum the eigenbasis transverse components (:attr:`Observables.eigen_x`).
    group_edges
        Chunk edges of signal groups (:func:`chunk_groups`): :meth:`add` also sums each
        chunk's signal into its group's (:attr:`Observables.group_signals`).
    packet_edges
        Packet edges of signal groups instead, relative to this accumulator's first packet
        (a chunk's: clipped to ``[0, chunk size]``; the total's: the whole ensemble's): every
        detection sum is also taken over each group's packets, and :meth:`add` adds the
        groups of ``other`` to these.
    with_signal
        False: sum m_z only (the signal stays zero; :func:`free_run` then skips the power
        sums, nearly all of a detection's cost).
    """

    def __init__(
        self,
        points: int,
        *,
        eigenbasis: bool = False,
        group_edges: tuple[int, ...] = (),
        packet_edges: tuple[int, ...] = (),
        with_signal: bool = True,
    ) -> None:
        if group_edges and packet_edges:
            raise ValueError("give chunk group edges or packet group edges, not both")
        self.signal = np.zeros(points, dtype=complex)
        self.mz = np.zeros(points)
        self.eigen = np.zeros(points, dtype=complex) if eigenbasis else None
        self.group_edges = tuple(group_edges)
        self.packet_edges = tuple(int(e) for e in packet_edges)
        edges = self.group_edges or self.packet_edges
        self.groups = np.zeros((max(0, len(edges) - 1), points), dtype=complex)
        self.chunks = 0
        self.with_signal = with_signal

    def packet_groups(self) -> Iterator[tuple[int, slice]]:
        """Yield ``(group, packets)`` for every non-empty packet group (``packet_edges``)."""
        for group, (lo, hi) in enumerate(itertools.pairwise(self.packet_edges)):
            if hi > lo:
                yield group, slice(lo, hi)

    def point(self, index: int, frame: PacketFrame, m: np.ndarray, z: np.ndarray) -> None:
        """Add the chunk's packets in state ``(m, z)`` (carrier frame) to point ``index``."""
        a = frame.weight * frame.coupling
        across = a * frame.sin_eta
        if self.with_signal:
            self.signal[index] -= kernels.dot(across, np.conj(m))
        self.mz[index] += kernels.dot(a * frame.cos_eta, z - frame.z_eq) + frame.mz_eq
        if self.eigen is not None:
            self.eigen[index] += kernels.dot(frame.weight, m)
        for group, sl in self.packet_groups():
            self.groups[group, index] -= kernels.dot(across[sl], np.conj(m[sl]))

    def add(self, other: Accumulator) -> None:
        """Add the sums of ``other``, the next chunk's (chunks are added in chunk order).

        The totals get the same additions in the same order with or without groups; with
        chunk groups, the chunk's signal is also added to the sum of the group it falls in,
        with packet groups the chunk's group sums to these.
        """
        self.signal += other.signal
        self.mz += other.mz
        if self.eigen is not None:
            self.eigen += other.eigen
        if self.packet_edges:
            self.groups += other.groups
        elif len(self.groups):
            group = bisect.bisect_right(self.group_edges, self.chunks) - 1
            self.groups[min(group, len(self.groups) - 1)] += other.signal
        self.chunks += 1

    def observables(self, times_s: np.ndarray, norm: float) -> Observables:
        """Return the sums normalised by ``norm`` (the ensemble's total weight)."""
        groups = self.groups / norm if len(self.groups) else None
        if self.eigen is None:
            return Observables(times_s, self.signal / norm, self.mz / norm, group_signals=groups)
        eigen = self.eigen / norm
        return Observables(
            times_s, self.signal / norm, self.mz / norm, eigen.real, eigen.imag, groups
        )


def free_run(
    acc: Accumulator,
    run: DetectionRun,
    frame: PacketFrame,
    relax: Relaxation,
    m: np.ndarray,
    z: np.ndarray,
    seg_start_s: float,
    carrier_hz: float,
) -> None:
    r"""Add the detection points of ``run``, inside a free segment, to ``acc``.

    ``(m, z)`` is the chunk's state (carrier frame) at the segment start ``seg_start_s``.
    Between points each packet's transverse part turns by
    :math:`2\pi(2E - f_c)\Delta t` and decays with :math:`\Gamma_2`, so the signal is a power
    sum over packets (:func:`simulator.kernels.power_sums`); :math:`z` relaxes with
    :math:`\Gamma_1`.
    """
    tau0 = run.first_s - seg_start_s
    m0, z0 = free_evolve(m, z, frame, relax, tau0, carrier_hz)
    a = frame.weight * frame.coupling
    j = np.arange(run.count) * run.spacing_s
    sl = slice(run.offset, run.offset + run.count)
    b = a * frame.cos_eta
    acc.mz[sl] += frame.mz_eq + kernels.dot(b, z0 - frame.z_eq) * np.exp(-relax.gamma1 * j)
    if not acc.with_signal:
        return
    omega = TWO_PI * (2.0 * frame.energy_hz - carrier_hz)
    coeff = a * frame.sin_eta * m0
    if acc.eigen is not None:
        coeff = np.stack([coeff, frame.weight * m0])
    sums = kernels.power_sums(coeff, omega * run.spacing_s, run.count)
    decay = np.exp(-relax.gamma2 * j)
    if acc.eigen is not None:
        acc.eigen[sl] += sums[1] * decay
        sums = sums[0]
    acc.signal[sl] -= np.conj(sums) * decay
    for group, part in acc.packet_groups():
        group_sums = kernels.power_sums(
            a[part] * frame.sin_eta[part] * m0[part], omega[part] * run.spacing_s, run.count
        )
        acc.groups[group, sl] -= np.conj(group_sums) * decay
