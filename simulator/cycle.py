r"""Phase steps that end alike, propagated as one: the phase cycle combined before detection.

The steps of a phase cycle often differ only in their first pulses: the built-in Hahn echo
flips its pi/2 pulse, EXORCYCLE turns its pi pulse. Every map of a propagation, in the
rotating frame or the lab frame, is affine in a packet's Bloch vector, :math:`x \to A x + b`
with :math:`b` proportional to the packet's equilibrium :math:`z_{eq}` (relaxation towards it),
and the detected signal is real-linear in :math:`x` (:mod:`simulator.detection`). So the
combined signal :math:`\sum_k c_k s_k` with real weights :math:`c_k` (receiver / number of
steps, :func:`sequences.combine_phase_cycle`) is the signal of the one vector
:math:`X = \sum_k c_k x_k`, taken just before the segments every step shares, propagated through
those segments with :math:`b` scaled by :math:`\sum_k c_k` (a frame whose :math:`z_{eq}` and
equilibrium magnetisation are scaled so, :meth:`simulator.bloch.PacketFrame.scaled`; the lab
frame's memoised pulse maps get their affine column scaled, :func:`simulator.lab.maps.apply`).
Complex receivers (:math:`\pm i`) split into the real
and imaginary parts of the weights, two vectors. The power sums of the detection, nearly all of
a propagation's cost, are then done once (twice) instead of once per step; m_z, which is that of
step 0 (:class:`simulator.simulation.PointSignal`), is carried through the shared segments on
step 0's own state, without power sums.

The result equals the step-by-step combination to rounding (not bit for bit: the additions come
in another order). Used by :meth:`simulator.simulation.Simulation.run_point` in either frame
(the lab frame with its fast maps, :class:`simulator.lab.frame.LabSpan`, not its step-by-step
reference) without spin diffusion or a dynamic bath (their per-packet noise and redraws follow
each step's own segments), when the steps share at least their detection's segments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from spin_echo.sequences.timeline import Timeline
from spin_echo.simulator import kernels
from spin_echo.simulator.bloch import PacketFrame, Relaxation
from spin_echo.simulator.detection import (
    KERNEL_CHUNK,
    Accumulator,
    Observables,
    group_edges,
    map_chunk_ranges,
    runs_by_segment,
)
from spin_echo.simulator.ensemble import Ensemble
from spin_echo.simulator.lab.frame import LabSpan, default_method
from spin_echo.simulator.lab.pulse import PERIOD_STEPS
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


def shared_cycle(
    steps: Sequence[Timeline], receivers: Sequence[complex], frame: str = "rotating"
) -> SharedCycle | None:
    """Return the steps as a :class:`SharedCycle` if propagating them as one saves work, else None.

    They must have one carrier, the same detection times, every detection point in segments
    they all end with, and fewer combined vectors than steps (one for real receivers, two for
    complex ones); ``frame`` must be the rotating frame or the lab frame with its fast maps
    (not the step-by-step reference, :func:`simulator.lab.frame.default_method`).
    """
    if frame not in ("rotating", "lab") or (frame == "lab" and default_method() != "fast"):
        return None
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


def propagate_cycle(
    cycle: SharedCycle,
    ensemble: Ensemble,
    relax: Relaxation,
    temperature_k: float,
    groups: int = 0,
    *,
    frame: str = "rotating",
    edges: tuple[int, ...] = (),
    chunk: int = KERNEL_CHUNK,
    threads: int | None = None,
    backend: kernels.Backend | None = None,
) -> Observables:
    """Propagate every step of ``cycle`` and return the combined observables (module docstring).

    ``frame="lab"`` propagates with the lab frame's fast maps (:class:`simulator.lab.frame.
    LabSpan`, as :func:`simulator.lab.frame.propagate_lab` with its default method); ``groups``
    (rotating frame) and ``edges`` (lab frame) are the Monte-Carlo groups of
    :func:`simulator.propagator.propagate_chunks` and :func:`~simulator.lab.frame.propagate_lab`.

    Returns
    -------
    Observables
        ``signal`` (and ``group_signals``) of the phase cycle combined; ``mz`` of step 0.

    Raises
    ------
    ValueError
        If ``groups`` is given and there are fewer chunks than groups.
    """
    points = len(cycle.detect_times_s)
    chunk_edges = group_edges(len(ensemble), chunk, groups)
    parts = _parts(cycle.weights)
    carry = _carrier(cycle, relax, frame)
    last = cycle.steps[0]
    tail = range(len(last.start_s) - cycle.shared, len(last.start_s))

    def work(part: Ensemble, start: int) -> tuple[Accumulator, list[Accumulator]]:
        local = tuple(int(np.clip(e - start, 0, len(part))) for e in edges)
        packets = PacketFrame.build(part, temperature_k)
        states = []
        for k, t in enumerate(cycle.steps):
            segments = range(len(t.start_s) - cycle.shared)
            states.append(carry(k, packets, Accumulator(0), None, segments, 1.0))
        mz = Accumulator(points, with_signal=False)
        carry(0, packets, mz, states[0], tail, 1.0)
        sums = []
        for weights, _ in parts:
            m = sum(w * s[0] for w, s in zip(weights, states, strict=True) if w != 0.0)
            z = sum(w * s[1] for w, s in zip(weights, states, strict=True) if w != 0.0)
            acc = Accumulator(points, packet_edges=local)
            carry(0, packets, acc, (m + 0j, z + 0.0), tail, float(weights.sum()))
            sums.append(acc)
        return mz, sums

    # the backend a step propagated alone would get (it decides by one propagation's work)
    if frame == "lab":
        work_steps = max(len(ensemble) * (len(t.start_s) + points) for t in cycle.steps)
    else:
        work_steps = max(timeline_work(t, len(ensemble), relax) for t in cycle.steps)
    mz_total = Accumulator(points)
    totals = [Accumulator(points, group_edges=chunk_edges, packet_edges=edges) for _ in parts]
    with (
        kernels.backend_for(work_steps, backend),
        kernels.blas_single_thread(),
    ):
        for mz, sums in map_chunk_ranges(work, ensemble, chunk, threads):
            mz_total.add(mz)
            for total, acc in zip(totals, sums, strict=True):
                total.add(acc)
    norm = ensemble.norm
    times = cycle.detect_times_s
    observed = [total.observables(times, norm) for total in totals]
    signal = sum(factor * o.signal for (_, factor), o in zip(parts, observed, strict=True))
    group_signals = None
    if groups or edges:
        group_signals = sum(
            factor * o.group_signals for (_, factor), o in zip(parts, observed, strict=True)
        )
    return Observables(times, np.asarray(signal), mz_total.mz / norm, group_signals=group_signals)


#: ``carry(step, packets, acc, state, segments, offset) -> (m, z)``: one chunk through segments.
State = tuple[np.ndarray, np.ndarray]
Carry = Callable[[int, PacketFrame, Accumulator, State | None, range, float], State]


def _carrier(cycle: SharedCycle, relax: Relaxation, frame: str) -> Carry:
    """Return how a chunk is carried through a run of one step's segments in ``frame``."""
    spans = [LabSpan(t, relax, PERIOD_STEPS) for t in cycle.steps] if frame == "lab" else []
    runs = [runs_by_segment(t) for t in cycle.steps]

    def carry(
        step: int,
        packets: PacketFrame,
        acc: Accumulator,
        state: State | None,
        segments: range,
        offset: float,
    ) -> State:
        if spans:
            return spans[step].carry(packets, acc, state, segments, offset=offset)
        timeline = cycle.steps[step]
        frame = packets.scaled(offset)
        return propagate_segments(timeline, frame, relax, runs[step], acc, state, segments)

    return carry
