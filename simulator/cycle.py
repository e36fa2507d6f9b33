r"""Phase steps that end alike, propagated as one: the phase cycle combined before detection.

The steps of a phase cycle often differ only in their first pulses: the built-in Hahn echo
flips its pi/2 pulse, EXORCYCLE turns its pi pulse. Every map of a rotating-frame propagation
is affine in a packet's Bloch vector, :math:`x \to A x + b` with :math:`b` proportional to the
packet's equilibrium :math:`z_{eq}` (relaxation towards it), and the detected signal is real-
linear in :math:`x` (:mod:`simulator.detection`). So the combined signal
:math:`\sum_k c_k s_k` with real weights :math:`c_k` (receiver / number of steps,
:func:`sequences.combine_phase_cycle`) is the signal of the one vector
:math:`X = \sum_k c_k x_k`, taken just before the segments every step shares, propagated through
those segments with :math:`b` scaled by :math:`\sum_k c_k` (a frame whose :math:`z_{eq}` and
equilibrium magnetisation are scaled so). Complex receivers (:math:`\pm i`) split into the real
and imaginary parts of the weights, two vectors. The power sums of the detection, nearly all of
a propagation's cost, are then done once (twice) instead of once per step; m_z, which is that of
step 0 (:class:`simulator.simulation.PointSignal`), is carried through the shared segments on
step 0's own state, without power sums.

The result equals the step-by-step combination to rounding (not bit for bit: the additions come
in another order). Used by :meth:`simulator.simulation.Simulation.run_point` in the rotating
frame without spin diffusion or a dynamic bath (their per-packet noise and redraws follow each
step's own segments), when the steps share at least their detection's segments.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spin_echo.sequences.timeline import Timeline
from spin_echo.simulator import kernels
from spin_echo.simulator.bloch import PacketFrame, Relaxation
from spin_echo.simulator.detection import (
    KERNEL_CHUNK,
    Accumulator,
    Observables,
    chunk_groups,
    map_chunks,
    runs_by_segment,
)
from spin_echo.simulator.ensemble import Ensemble
from spin_echo.simulator.propagator import propagate_segments, timeline_work

__all__ = ["SharedCycle", "propagate_cycle", "shared_cycle"]

_FIELDS = ("start_s", "duration_s", "rabi_hz", "phase_rad", "offset_hz")


@dataclass(frozen=True, eq=False)
class SharedCycle:
    """The phase steps of one sweep point, with the segments they all end with.

    Attributes
    ----------
    steps
        Every step's compiled timeline, step 0 first.
    weights
        Complex weight of each step's signal in the combined signal (receiver / steps).
    shared
        Number of trailing segments every step has alike (at least those with detection
        points).
    """

    steps: tuple[Timeline, ...]
    weights: np.ndarray
    shared: int

    @property
    def detect_times_s(self) -> np.ndarray:
        """Detection times, seconds (the same in every step)."""
        return self.steps[0].detect_times_s


def _shared_segments(steps: Sequence[Timeline]) -> int:
    """Return how many trailing segments every step has alike (equal to the bit)."""
    count = min(len(t.start_s) for t in steps)
    first = steps[0]
    shared = 0
    while shared < count:
        k = -1 - shared
        if not all(
            getattr(t, name)[k] == getattr(first, name)[k] for t in steps[1:] for name in _FIELDS
        ):
            break
        shared += 1
    return shared


def shared_cycle(steps: Sequence[Timeline], receivers: Sequence[complex]) -> SharedCycle | None:
    """Return the steps as a :class:`SharedCycle` if propagating them as one saves work, else None.

    They must have one carrier, the same detection times, every detection point in segments
    they all end with, and fewer combined vectors than steps (one for real receivers, two for
    complex ones).
    """
    if len(steps) < 2 or len(receivers) != len(steps):
        return None
    first = steps[0]
    times = first.detect_times_s
    if len(times) == 0 or any(
        t.carrier_hz != first.carrier_hz
        or not np.array_equal(t.detect_times_s, times)
        or len(t.detect) != len(first.detect)
        for t in steps[1:]
    ):
        return None
    weights = np.asarray(receivers, dtype=complex) / len(steps)
    if len(_parts(weights)) >= len(steps):
        return None
    shared = _shared_segments(steps)
    if shared == 0:
        return None
    for t in steps:
        split = len(t.start_s) - shared
        if any(k < split for k in runs_by_segment(t)):
            return None
    return SharedCycle(tuple(steps), weights, shared)


def _parts(weights: np.ndarray) -> list[tuple[np.ndarray, complex]]:
    """Return the non-zero real weight vectors to propagate, each with its factor in the signal."""
    parts = [(weights.real, 1.0 + 0.0j), (weights.imag, 1.0j)]
    return [(w, factor) for w, factor in parts if np.any(w != 0.0)]


def _scaled(frame: PacketFrame, factor: float) -> PacketFrame:
    """Return ``frame`` with its equilibrium scaled by ``factor`` (the affine part of a sum)."""
    return dataclasses.replace(frame, z_eq=factor * frame.z_eq, mz_eq=factor * frame.mz_eq)


def propagate_cycle(
    cycle: SharedCycle,
    ensemble: Ensemble,
    relax: Relaxation,
    temperature_k: float,
    groups: int = 0,
    *,
    chunk: int = KERNEL_CHUNK,
    threads: int | None = None,
    backend: kernels.Backend | None = None,
) -> Observables:
    """Propagate every step of ``cycle`` and return the combined observables (module docstring).

    Returns
    -------
    Observables
        ``signal`` (and ``group_signals`` with ``groups``, as
        :func:`simulator.propagator.propagate_chunks` gives them) of the phase cycle combined;
        ``mz`` of step 0.

    Raises
    ------
    ValueError
        If ``groups`` is given and there are fewer chunks than groups.
    """
    points = len(cycle.detect_times_s)
    edges: tuple[int, ...] = ()
    if groups:
        found = chunk_groups(len(ensemble), chunk, groups)
        if found is None:
            raise ValueError(f"{len(ensemble)} packets make fewer than {groups} chunks of {chunk}")
        edges = found
    parts = _parts(cycle.weights)
    suffix = runs_by_segment(cycle.steps[0])
    last = cycle.steps[0]
    split = len(last.start_s) - cycle.shared

    def work(part: Ensemble) -> tuple[Accumulator, list[Accumulator]]:
        frame = PacketFrame.build(part, temperature_k)
        states = []
        for t in cycle.steps:
            segments = range(len(t.start_s) - cycle.shared)
            states.append(propagate_segments(t, frame, relax, {}, Accumulator(0), None, segments))
        tail = range(split, len(last.start_s))
        mz = Accumulator(points, with_signal=False)
        propagate_segments(last, frame, relax, suffix, mz, states[0], tail)
        sums = []
        for weights, _ in parts:
            m = sum(w * s[0] for w, s in zip(weights, states, strict=True) if w != 0.0)
            z = sum(w * s[1] for w, s in zip(weights, states, strict=True) if w != 0.0)
            acc = Accumulator(points)
            scaled = _scaled(frame, float(weights.sum()))
            propagate_segments(last, scaled, relax, suffix, acc, (m + 0j, z + 0.0), tail)
            sums.append(acc)
        return mz, sums

    # the backend a step propagated alone would get (it decides by one propagation's work)
    work_steps = max(timeline_work(t, len(ensemble), relax) for t in cycle.steps)
    mz_total = Accumulator(points)
    totals = [Accumulator(points, group_edges=edges) for _ in parts]
    with (
        kernels.backend_for(work_steps, backend),
        kernels.blas_single_thread(),
    ):
        for mz, sums in map_chunks(work, ensemble, chunk, threads):
            mz_total.add(mz)
            for total, acc in zip(totals, sums, strict=True):
                total.add(acc)
    norm = ensemble.norm
    times = cycle.detect_times_s
    observed = [total.observables(times, norm) for total in totals]
    signal = sum(factor * o.signal for (_, factor), o in zip(parts, observed, strict=True))
    group_signals = None
    if groups:
        group_signals = sum(
            factor * o.group_signals for (_, factor), o in zip(parts, observed, strict=True)
        )
    return Observables(times, np.asarray(signal), mz_total.mz / norm, group_signals=group_signals)
