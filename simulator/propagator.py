r"""The propagator: a compiled :class:`~sequences.timeline.Timeline` over an ensemble of packets.

Every segment of the timeline is applied to every packet as an exact map (see
:mod:`simulator.bloch`): a rotation with relaxation in the frame rotating at the segment's drive
frequency (carrier + ``offset_hz``, phase ``phase_rad`` relative to the carrier at the segment
start) for driven segments, a diagonal map for free evolution. The packet state is kept in the
frame rotating at the carrier; for a segment with a frequency offset the state is carried into
the segment's frame (aligned with the carrier frame at the segment start) and back.

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
:math:`S_j = \sum_p a_p q_p^j` over a uniform run of points is evaluated as the matrix product
:math:`S_{j_1 B + j_0} = \sum_p (q_p^B)^{j_1} (a_p q_p^{j_0})` (no N x M sin/cos).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

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
from spin_echo.simulator.ensemble import Ensemble

__all__ = [
    "DEFAULT_CHUNK",
    "KERNEL_CHUNK",
    "Observables",
    "map_chunks",
    "power_sums",
    "propagate",
]

#: Packets processed together by the spin-diffusion propagator (:mod:`simulator.diffusion`,
#: whose noise streams are seeded per chunk); about 1 kB per packet at 1024 points.
DEFAULT_CHUNK = 65536
#: Packets processed together by :func:`propagate` and :func:`simulator.propagate_sampled`:
#: small enough for numpy's temporaries to stay in cache (30% faster than 65536 with numpy,
#: the same with numba) and to share a 10^5-packet ensemble between threads.
KERNEL_CHUNK = 16384
_BLOCK = 2048
TWO_PI = 2.0 * math.pi
_T = TypeVar("_T")


def map_chunks(
    work: Callable[[Ensemble], _T], ensemble: Ensemble, chunk: int, threads: int | None = None
) -> Iterator[_T]:
    """Yield ``work(part)`` for consecutive chunks of ``chunk`` packets, in chunk order.

    ``threads`` chunks run at once (:func:`simulator.kernels.default_threads` when None); the
    order of the results, and so of any sum over them, does not depend on it.
    """
    parts = (ensemble.chunk(start, start + chunk) for start in range(0, len(ensemble), chunk))
    count = kernels.default_threads() if threads is None else threads
    if count <= 1 or len(ensemble) <= chunk:
        yield from map(work, parts)
        return
    with ThreadPoolExecutor(count) as pool:
        yield from pool.map(work, parts)


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
    """

    times_s: np.ndarray
    signal: np.ndarray
    mz: np.ndarray
    eigen_x: np.ndarray | None = None
    eigen_y: np.ndarray | None = None


def power_sums(coeff: np.ndarray, phase_rad: np.ndarray, count: int) -> np.ndarray:
    r"""Return :math:`S_j = \sum_p c_p e^{i j \phi_p}` for :math:`j = 0 \dots count-1`.

    Factorised as :math:`j = j_1 B + j_0`, :math:`B = \lceil\sqrt{count}\rceil`:
    :math:`S_{j_1 B + j_0} = \sum_p V_{j_1 p} U_{j_0 p}` with :math:`U_{j_0 p} = c_p
    e^{ij_0\phi_p}` and :math:`V_{j_1 p} = e^{ij_1 B\phi_p}`
    (:func:`simulator.kernels.powers`), one complex matrix product per block of packets, the
    blocks small enough for U and V to stay in cache (BLAS). The numba backend uses no BLAS:
    :func:`simulator.kernels.numba_power_sums`. ``coeff`` may be 2-D, several coefficient
    sets over the same phases (one result row each, sharing the work on the phases).
    """
    if kernels.backend() == "numba":
        return kernels.numba_power_sums(coeff, phase_rad, count)
    sets = np.atleast_2d(coeff)
    b0 = max(1, math.isqrt(count - 1) + 1) if count > 1 else 1
    b1 = -(-count // b0)
    total = np.zeros((len(sets), b1, b0), dtype=complex)
    for start in range(0, sets.shape[1], _BLOCK):
        ph = phase_rad[start : start + _BLOCK]
        v = kernels.powers(None, b0 * ph, b1)
        for q, row in enumerate(sets):
            total[q] += v @ kernels.powers(row[start : start + _BLOCK], ph, b0).T
    result = total.reshape(len(sets), -1)[:, :count]
    return result if np.ndim(coeff) == 2 else result[0]


@dataclass(frozen=True)
class _Run:
    """A uniform run of detection points inside one segment."""

    offset: int
    count: int
    first_s: float
    spacing_s: float


def _runs_by_segment(timeline: Timeline) -> dict[int, list[_Run]]:
    starts = np.asarray(timeline.start_s, dtype=float)
    total = timeline.total_s
    runs: dict[int, list[_Run]] = {}
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
                run = _Run(offset + begin, end - begin, float(times[begin]), spacing)
                runs.setdefault(int(seg[begin]), []).append(run)
                begin = end
        offset += len(times)
    return runs


class _Accumulator:
    """Running sums of the signal, of m_z and (optionally) of the eigenbasis m over chunks."""

    def __init__(self, points: int, *, eigenbasis: bool = False) -> None:
        self.signal = np.zeros(points, dtype=complex)
        self.mz = np.zeros(points)
        self.eigen = np.zeros(points, dtype=complex) if eigenbasis else None

    def point(self, index: int, frame: PacketFrame, m: np.ndarray, z: np.ndarray) -> None:
        a = frame.weight * frame.coupling
        self.signal[index] -= kernels.dot(a * frame.sin_eta, np.conj(m))
        self.mz[index] += kernels.dot(a * frame.cos_eta, z - frame.z_eq) + frame.mz_eq
        if self.eigen is not None:
            self.eigen[index] += kernels.dot(frame.weight, m)

    def add(self, other: _Accumulator) -> None:
        """Add the sums of ``other`` (another chunk's)."""
        self.signal += other.signal
        self.mz += other.mz
        if self.eigen is not None:
            self.eigen += other.eigen

    def observables(self, times_s: np.ndarray, norm: float) -> Observables:
        """Return the sums normalised by ``norm`` (the ensemble's total weight)."""
        if self.eigen is None:
            return Observables(times_s, self.signal / norm, self.mz / norm)
        eigen = self.eigen / norm
        return Observables(times_s, self.signal / norm, self.mz / norm, eigen.real, eigen.imag)


def _free_run(
    acc: _Accumulator,
    run: _Run,
    frame: PacketFrame,
    relax: Relaxation,
    m: np.ndarray,
    z: np.ndarray,
    seg_start_s: float,
    carrier_hz: float,
) -> None:
    tau0 = run.first_s - seg_start_s
    m0, z0 = free_evolve(m, z, frame, relax, tau0, carrier_hz)
    a = frame.weight * frame.coupling
    omega = TWO_PI * (2.0 * frame.energy_hz - carrier_hz)
    coeff = a * frame.sin_eta * m0
    if acc.eigen is not None:
        coeff = np.stack([coeff, frame.weight * m0])
    sums = power_sums(coeff, omega * run.spacing_s, run.count)
    j = np.arange(run.count) * run.spacing_s
    sl = slice(run.offset, run.offset + run.count)
    decay = np.exp(-relax.gamma2 * j)
    if acc.eigen is not None:
        acc.eigen[sl] += sums[1] * decay
        sums = sums[0]
    acc.signal[sl] -= np.conj(sums) * decay
    b = a * frame.cos_eta
    acc.mz[sl] += frame.mz_eq + kernels.dot(b, z0 - frame.z_eq) * np.exp(-relax.gamma1 * j)


def _driven(
    frame: PacketFrame,
    relax: Relaxation,
    timeline: Timeline,
    k: int,
) -> Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]:
    """Return the map of the first ``tau`` seconds of driven segment ``k`` (carrier frame)."""
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


def _propagate_chunk(
    timeline: Timeline,
    frame: PacketFrame,
    relax: Relaxation,
    runs: dict[int, list[_Run]],
    acc: _Accumulator,
) -> None:
    m = np.zeros(len(frame.energy_hz), dtype=complex)
    z = frame.z_eq.copy()
    for k in range(len(timeline.start_s)):
        t_k, d_k = float(timeline.start_s[k]), float(timeline.duration_s[k])
        if timeline.rabi_hz[k] == 0.0:
            for run in runs.get(k, ()):
                _free_run(acc, run, frame, relax, m, z, t_k, timeline.carrier_hz)
            m, z = free_evolve(m, z, frame, relax, d_k, timeline.carrier_hz)
            continue
        apply = _driven(frame, relax, timeline, k)
        for run in runs.get(k, ()):
            for j in range(run.count):
                tau = run.first_s + j * run.spacing_s - t_k
                acc.point(run.offset + j, frame, *apply(m, z, tau))
        m, z = apply(m, z, d_k)


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
        (:func:`simulator.lab.propagate_lab`).
    chunk
        Packets processed together.
    eigenbasis
        Also return the ensemble-averaged transverse components in the packets' eigenbasis
        (:attr:`Observables.eigen_x`, :attr:`Observables.eigen_y`).
    threads
        Chunks propagated at once (:func:`simulator.kernels.default_threads` when None); the
        result is the same bit for bit whatever the number.

    Returns
    -------
    Observables
        Signal and m_z (and the eigenbasis components if asked for) at
        ``timeline.detect_times_s``.
    """
    if frame == "lab":
        from spin_echo.simulator.lab import propagate_lab

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
        timeline, ensemble, relax, temperature_k, chunk, eigenbasis=eigenbasis, threads=threads
    )


def propagate_chunks(
    timeline: Timeline,
    ensemble: Ensemble,
    relax: Relaxation,
    temperature_k: float,
    chunk: int = KERNEL_CHUNK,
    *,
    eigenbasis: bool = False,
    threads: int | None = None,
) -> Observables:
    """Rotating-frame propagation with given rates, in chunks of packets (see :func:`propagate`)."""
    runs = _runs_by_segment(timeline)
    points = len(timeline.detect_times_s)

    def work(part: Ensemble) -> _Accumulator:
        acc = _Accumulator(points, eigenbasis=eigenbasis)
        _propagate_chunk(timeline, PacketFrame.build(part, temperature_k), relax, runs, acc)
        return acc

    total = _Accumulator(points, eigenbasis=eigenbasis)
    with (
        kernels.backend_for(len(ensemble) * (len(timeline.start_s) + points)),
        kernels.blas_single_thread(),
    ):
        for acc in map_chunks(work, ensemble, chunk, threads):
            total.add(acc)
    return total.observables(timeline.detect_times_s, ensemble.norm)
