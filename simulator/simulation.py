r"""One simulation path: a sample's packets prepared once, any timeline propagated through them.

:class:`Simulation` is to :func:`simulate` (a thin function over it) what QuTiP 5's
``MESolver`` is to ``mesolve``: it holds the prepared physics of one sample and propagates any
compiled :class:`~sequences.timeline.Timeline` (``simulate``, ``fit``, the paper reproduction) or
any sampled AWG :class:`~sequences.timeline.Waveform` (the virtual bench) through it. Decided
here and only here:

* the seed: ``seed=None`` means the sample's own seed (:attr:`Simulation.seed`);
* the ensemble: drawn once, ``sample.ensemble(packets, seed)`` (:attr:`Simulation.ensemble`);
* the rates: ``relaxation: {T1, T2}`` plus the environment's (:func:`environment_rates`):

  - ``environment.electrons.alpha``: Ohmic damping :math:`\Gamma_s = 2\pi\alpha k_B T`
    (paper, after Eq. 10), added to :math:`\Gamma_2` (an Ohmic bath coupled to
    :math:`\tau_z` dephases the packet);
  - ``environment.phonons``: the rate :math:`\Gamma_\phi` of paper Eq. (12) at the sample's
    typical :math:`\Delta_o`, added to :math:`\Gamma_1` (phonons flip the spin, exchanging
    the energy 2E) and, as :math:`\Gamma_\phi/2`, to :math:`\Gamma_2`;

* the stochastic environments: ``environment.spin_diffusion`` (bias trajectories,
  :mod:`simulator.diffusion`) and ``environment.nuclear.dynamic`` (the nuclear channel
  :math:`(M, y, \varphi)` of every packet redrawn at the start of every pulse after the first,
  :mod:`simulator.bath`; a pulse is a run of consecutive driven segments). The dynamic bath
  changes each packet's :math:`\delta` and :math:`\epsilon` between timeline segments; the
  state is carried in the instantaneous eigenbasis (the convention of
  :mod:`simulator.diffusion`). The redraws come from one generator seeded by ``(seed, 3)``
  over the whole ensemble, so the result does not depend on chunking or threads; with
  :math:`\lambda = \lambda'` the only channel is M = 0 and the redraw leaves every packet as
  it was;
* the frame: ``"rotating"`` (exact maps in the rotating-wave approximation, an error of order
  Rabi/carrier) or ``"lab"`` (the full lab-frame Hamiltonian with the carrier,
  :func:`simulator.lab.frame.propagate_lab`). Both carry every environment the same way (the
  same bias paths of spin diffusion, with the lab frame's driven pieces
  :func:`simulator.lab.drive.lab_piece`, and the same channel redraws), so they differ by the
  rotating-wave error only. The dynamic bath is not simulated with spin diffusion.

The same ``(timeline, sample, seed, packets, frame)`` gives the same result bit for bit.

Monte-Carlo error (:meth:`Simulation.run_with_error`): the packets are split into
:data:`REPLICAS` groups of consecutive packets; the sum :math:`G_r` of group r's :math:`n_r`
packets, normalised by the whole ensemble, times :math:`N/n_r` is an independent estimate of
the ensemble signal (the packets are independent draws). The standard error is
:math:`\mathrm{std}_r(N G_r/n_r)/\sqrt{R}` per quadrature (``ddof = 1``). The signal itself is
the one-group result (the same bits as :meth:`Simulation.run`); it equals
:math:`\sum_r G_r` in exact arithmetic. The groups are formed in one of two ways:

* one pass, in the rotating frame without spin diffusion from :data:`REPLICAS` propagator
  chunks on (114,689 packets): the groups are runs of whole chunks (sizes differing by at most
  one, :func:`simulator.detection.chunk_groups`); each chunk is summed into its group as well
  as into the total (whose additions, and bits, are unchanged) — no second propagation;
* in the lab frame without spin diffusion, the groups are packets ``[N r // R, N (r + 1) // R)``
  (sizes differing by at most one): the detection sums are also taken over each group's
  packets in the one propagation (:func:`simulator.lab.frame.propagate_lab` ``groups``);
* otherwise each of those groups is propagated again alone (stochastic environments get a
  noise stream per group).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spin_echo.sequences.compile import compile_timeline
from spin_echo.sequences.protocol import Protocol, combine_phase_cycle
from spin_echo.sequences.timeline import DetectWindow, Timeline, Waveform
from spin_echo.simulator.bloch import Relaxation
from spin_echo.simulator.cycle import SharedCycle, propagate_cycle, shared_cycle
from spin_echo.simulator.detection import KERNEL_CHUNK, Observables, chunk_groups
from spin_echo.simulator.diffusion import OrnsteinUhlenbeck, propagate_diffusing
from spin_echo.simulator.ensemble import Ensemble
from spin_echo.simulator.environment import (
    FRAMES,
    check_frame,
    ensemble_key,
    environment_rates,
    flip_segments,
    pulse_runs,
)
from spin_echo.simulator.lab.drive import lab_piece
from spin_echo.simulator.lab.frame import propagate_lab
from spin_echo.simulator.lab.sampled import (
    diffusion_pieces,
    propagate_sampled,
    propagate_sampled_pieces,
)
from spin_echo.simulator.propagator import SegmentChanges, propagate_chunks
from spin_echo.simulator.sample import Sample

__all__ = [
    "FRAMES",
    "REPLICAS",
    "PointSignal",
    "SimulatedSignal",
    "Simulation",
    "compile_point",
    "simulate",
]

#: Replica groups of :meth:`Simulation.run_with_error` (the Monte-Carlo standard error).
REPLICAS = 8


def compile_point(protocol: Protocol, values: Mapping[str, float]) -> tuple[Timeline, ...]:
    """Compile every phase step of one sweep point of ``protocol`` (step 0 first)."""
    return tuple(
        compile_timeline(protocol.sequence(dict(values), step))
        for step in range(len(protocol.phase_cycle))
    )


@dataclass(frozen=True, eq=False)
class PointSignal:
    """One sweep point, phase cycle combined (:meth:`Simulation.run_point`).

    Attributes
    ----------
    signal
        Detected complex signal, phase cycle combined as the protocol says.
    mz
        Normalised magnetisation of phase step 0 (the protocol as written).
    sem
        Complex Monte-Carlo standard error of ``signal`` (None unless replicas were asked for).
    detect
        Detection windows of phase step 0.
    """

    signal: np.ndarray
    mz: np.ndarray
    sem: np.ndarray | None
    detect: tuple[DetectWindow, ...]


@dataclass(frozen=True, eq=False)
class SimulatedSignal:
    """A simulated signal with its Monte-Carlo standard error.

    Attributes
    ----------
    observables
        Signal and m_z of the whole ensemble (:meth:`Simulation.run`).
    sem
        Complex standard error of the signal: real part for the real quadrature, imaginary
        part for the imaginary one (module docstring).
    replicas
        The replica estimates, shape ``(REPLICAS, points)``.
    """

    observables: Observables
    sem: np.ndarray
    replicas: np.ndarray


class Simulation:
    """A sample's packets, rates and environments, prepared once (module docstring).

    Parameters
    ----------
    sample
        The sample.
    seed
        Seed of the ensemble and of the stochastic environments; the sample's when None.
    packets
        Number of packets; the sample's when None.
    frame
        ``"rotating"`` or ``"lab"``.

    Raises
    ------
    InputError
        For an unknown frame (:func:`check_frame`); the sample refuses an environment no frame
        carries.
    """

    def __init__(
        self,
        sample: Sample,
        *,
        seed: int | None = None,
        packets: int | None = None,
        frame: str = "rotating",
    ) -> None:
        check_frame(frame)
        self.sample = sample
        self.frame = frame
        self.seed = int(sample.seed if seed is None else seed)
        self._packets_asked = packets
        self.ensemble = sample.ensemble(packets=packets, seed=self.seed)
        self._key = ensemble_key(sample)
        extra1, extra2 = environment_rates(sample)
        self.relaxation = Relaxation.from_times(
            sample.t1_s, sample.t2_s, extra1=extra1, extra2=extra2
        )
        self.diffusion = (
            None
            if sample.diffusion is None
            else OrnsteinUhlenbeck(sample.diffusion.t2_s, sample.diffusion.width_hz)
        )
        self.dynamic = sample.nuclear is not None and sample.nuclear.dynamic

    def with_sample(self, sample: Sample) -> Simulation:
        """Return the simulation of ``sample`` with this one's seed, packet count and frame.

        When ``sample`` draws the same packets (it differs from this one's sample only in
        ``relaxation``, ``environment.electrons``, ``environment.phonons``,
        ``environment.spin_diffusion``, ``name`` or ``description``, none of which enters the
        draw of :func:`simulator.ensemble.sample_ensemble`), the prepared ensemble is shared
        instead of drawn again; the result is the same bit for bit either way.
        """
        if ensemble_key(sample) != self._key:
            return Simulation(sample, seed=self.seed, packets=self._packets_asked, frame=self.frame)
        other = Simulation.__new__(Simulation)
        other.__dict__.update(self.__dict__)
        extra1, extra2 = environment_rates(sample)
        other.sample = sample
        other.relaxation = Relaxation.from_times(
            sample.t1_s, sample.t2_s, extra1=extra1, extra2=extra2
        )
        other.diffusion = (
            None
            if sample.diffusion is None
            else OrnsteinUhlenbeck(sample.diffusion.t2_s, sample.diffusion.width_hz)
        )
        return other

    @property
    def packets(self) -> int:
        """Number of packets."""
        return len(self.ensemble)

    @property
    def relaxation_times_s(self) -> tuple[float | None, float | None]:
        """``(T1, T2)`` of the total rates, seconds (None for a zero rate): the lab frame's."""
        g1, g2 = self.relaxation.gamma1, self.relaxation.gamma2
        return (1.0 / g1 if g1 > 0 else None, 1.0 / g2 if g2 > 0 else None)

    def run(self, timeline: Timeline | SharedCycle) -> Observables:
        """Propagate ``timeline`` through every packet; return the normalised observables."""
        return self._propagate(timeline, self.ensemble, self.seed, 0, self.packets)

    def run_with_error(
        self, timeline: Timeline | SharedCycle, replicas: int = REPLICAS
    ) -> SimulatedSignal:
        """Return :meth:`run` with the Monte-Carlo standard error of ``replicas`` groups.

        Raises
        ------
        ValueError
            With fewer than two replicas, or fewer packets than replicas.
        """
        if replicas < 2 or replicas > self.packets:
            raise ValueError(f"need 2 <= replicas <= packets ({self.packets}), got {replicas}")
        if self._replica_edges(replicas) is not None or self._lab_groups():
            observed, estimates = self._one_pass_replicas(timeline, replicas)
        else:
            observed = self.run(timeline)
            estimates = self._separate_replicas(timeline, replicas)
        return SimulatedSignal(observed, _standard_error(estimates), estimates)

    def run_point(
        self, steps: Sequence[Timeline], phase_cycle: Sequence[Any], *, replicas: int = 0
    ) -> PointSignal:
        """Simulate every phase step of one sweep point and combine them.

        Parameters
        ----------
        steps
            The compiled phase steps (:func:`compile_point`).
        phase_cycle
            The protocol's phase cycle (:func:`sequences.combine_phase_cycle`).
        replicas
            Replica groups for the Monte-Carlo error (0: none). The replicas of every step are
            combined with the phase cycle replica by replica (the same packets in each).
            Steps that end alike are propagated as one where they can (:mod:`simulator.cycle`).
        """
        receivers = [s.receiver for s in phase_cycle]
        alone = self.diffusion is not None or self.dynamic  # per-step noise and redraws
        if not alone and (cycle := shared_cycle(steps, receivers, self.frame)):
            run = self.run_with_error(cycle, replicas) if replicas else None
            observed = run.observables if run else self.run(cycle)
            return PointSignal(observed.signal, observed.mz, run and run.sem, steps[0].detect)
        if replicas:
            runs = [self.run_with_error(t, replicas) for t in steps]
            signals = [r.observables.signal for r in runs]
            first = runs[0].observables
            combined = combine_phase_cycle(np.array([r.replicas for r in runs]), phase_cycle)
            sem = _standard_error(combined)
        else:
            observed = [self.run(t) for t in steps]
            signals = [o.signal for o in observed]
            first, sem = observed[0], None
        signal = combine_phase_cycle(signals, phase_cycle)
        return PointSignal(np.asarray(signal), np.asarray(first.mz), sem, steps[0].detect)

    def replica_signals(self, timeline: Timeline, replicas: int = REPLICAS) -> np.ndarray:
        """Return ``replicas`` independent estimates of the signal, shape ``(replicas, points)``.

        Group r's estimate is its sum, normalised by the whole ensemble, times ``N / n_r``;
        the groups are those of :meth:`run_with_error` (module docstring).
        """
        if self._replica_edges(replicas) is None and not self._lab_groups():
            return self._separate_replicas(timeline, replicas)
        return self._one_pass_replicas(timeline, replicas)[1]

    def _replica_edges(self, replicas: int) -> tuple[int, ...] | None:
        """Chunk edges of the one-pass replica groups, None where they cannot be used."""
        if self.frame != "rotating" or self.diffusion is not None:
            return None
        return chunk_groups(self.packets, KERNEL_CHUNK, replicas)

    def _lab_groups(self) -> bool:
        """Whether the replica groups come from one propagation in the lab frame."""
        return self.frame == "lab" and self.diffusion is None

    def _one_pass_replicas(
        self, timeline: Timeline, replicas: int
    ) -> tuple[Observables, np.ndarray]:
        """Propagate the whole ensemble once, with the signal of each replica group."""
        if self._lab_groups():
            starts = np.array([self.packets * r // replicas for r in range(replicas + 1)])
            groups = tuple(int(e) for e in starts)
        else:
            edges = self._replica_edges(replicas)
            assert edges is not None
            starts = np.minimum(self.packets, KERNEL_CHUNK * np.asarray(edges))
            groups = ()
        observed = self._propagate(
            timeline, self.ensemble, self.seed, 0, self.packets, groups=replicas, edges=groups
        )
        assert observed.group_signals is not None
        return observed, observed.group_signals * (self.packets / np.diff(starts))[:, None]

    def _separate_replicas(self, timeline: Timeline, replicas: int) -> np.ndarray:
        """Group r, packets ``[N r // R, N (r + 1) // R)``, propagated alone (module docstring)."""
        edges = [self.packets * r // replicas for r in range(replicas + 1)]
        rows = []
        for r in range(replicas):
            start, stop = edges[r], edges[r + 1]
            noise = int(np.random.SeedSequence([self.seed, 4, r]).generate_state(1)[0] >> 1)
            part = self.ensemble.chunk(start, stop)
            signal = self._propagate(timeline, part, noise, start, stop).signal
            rows.append(signal * (self.packets / (stop - start)))
        return np.array(rows)

    def run_waveform(self, waveform: Waveform, first_sample: int = 0) -> np.ndarray:
        r"""Lab-frame :math:`M_z` at every sample time of a played waveform (the virtual bench).

        The sampled drive is propagated exactly (:func:`simulator.propagate_sampled`) with
        the lab frame's rates, through every environment of the sample: spin diffusion
        (pieces of :func:`simulator.lab.sampled.diffusion_pieces`) and the dynamic bath (the
        channels redrawn, the draws of :meth:`run`, at the first sample of every pulse after
        the first, a pulse as :func:`simulator.environment.pulse_runs` finds it), by
        :func:`simulator.lab.sampled.propagate_sampled_pieces` (noise streams
        ``(seed, 5, chunk)``). ``first_sample``: without those environments :math:`M_z` is
        computed from that sample on only (earlier entries are zero; pulses before it are
        whole-pulse maps, :func:`simulator.propagate_sampled`).

        Returns
        -------
        numpy.ndarray
            :math:`M_z(k/f_s)`, normalised, one value per sample.
        """
        t1_s, t2_s = self.relaxation_times_s
        if not self.dynamic and self.diffusion is None:
            return propagate_sampled(
                waveform,
                self.ensemble,
                t1_s=t1_s,
                t2_s=t2_s,
                temperature_k=self.sample.temperature_k,
                first_sample=first_sample,
            )
        samples = np.asarray(waveform.samples, dtype=float)
        runs = pulse_runs(samples)
        changes: dict[int, Ensemble] = {}
        if self.dynamic:
            flips = [a for a, _, driven in runs if driven][1:]
            changes = dict(zip(flips, self._redraws(len(flips)), strict=True))
            pieces = list(itertools.pairwise(sorted({0, *flips, len(samples)})))
        else:
            assert self.diffusion is not None
            pieces = diffusion_pieces(runs, self.diffusion, waveform.sample_rate_hz)
        return propagate_sampled_pieces(
            waveform,
            self.ensemble,
            Relaxation.from_times(t1_s, t2_s),
            self.sample.temperature_k,
            pieces,
            changes=changes,
            diffusion=self.diffusion,
            seed=self.seed,
        )

    def _propagate(
        self,
        timeline: Timeline,
        ensemble: Ensemble,
        noise_seed: int,
        start: int,
        stop: int,
        groups: int = 0,
        edges: tuple[int, ...] = (),
    ) -> Observables:
        """Propagate packets ``start:stop`` of the ensemble (``ensemble`` is that chunk).

        ``groups``: also the signal of groups of whole chunks (rotating frame, no diffusion);
        ``edges``: of groups of packets at these edges (lab frame, no diffusion).
        """
        temperature_k = self.sample.temperature_k
        if isinstance(timeline, SharedCycle):  # run_point's: no stochastic environments
            lab = self.frame == "lab"  # the lab frame's rates as below
            relax = Relaxation.from_times(*self.relaxation_times_s) if lab else self.relaxation
            chunks = 0 if lab else groups  # the lab frame's groups are packet edges
            return propagate_cycle(
                timeline, ensemble, relax, temperature_k, chunks, frame=self.frame, edges=edges
            )
        packets: Ensemble | SegmentChanges = ensemble
        if self.dynamic:  # the same redraws in both frames
            flips = flip_segments(timeline)  # the whole ensemble after each flip
            after = zip(flips, self._redraws(len(flips)), strict=True)
            at = {k: e.chunk(start, stop) for k, e in after}
            packets = SegmentChanges(ensemble, at)
        if self.frame == "lab":  # the environments as below, each pulse the lab frame's
            t1_s, t2_s = self.relaxation_times_s
            if self.diffusion is not None:  # the same bias paths (steps, noise) as below
                relax = Relaxation.from_times(t1_s, t2_s)
                return propagate_diffusing(
                    timeline, ensemble, relax, temperature_k, self.diffusion, seed=noise_seed,
                    piece=lab_piece,
                )  # fmt: skip
            return propagate_lab(
                timeline, packets, t1_s=t1_s, t2_s=t2_s, temperature_k=temperature_k, groups=edges
            )
        if self.dynamic:
            return propagate_chunks(
                timeline,
                packets,
                self.relaxation,
                temperature_k,
                groups=groups,
            )
        if self.diffusion is None:
            return propagate_chunks(
                timeline, ensemble, self.relaxation, temperature_k, groups=groups
            )
        return propagate_diffusing(
            timeline, ensemble, self.relaxation, temperature_k, self.diffusion, seed=noise_seed
        )

    def _redraws(self, count: int) -> list[Ensemble]:
        """Return the whole ensemble after each of ``count`` flips (stream ``(seed, 3)``)."""
        assert self.sample.nuclear is not None
        return self.ensemble.redrawn(self.sample.nuclear, self.sample.spin, self.seed, count)


def simulate(
    timeline: Timeline,
    sample: Sample,
    *,
    seed: int | None = None,
    packets: int | None = None,
    frame: str = "rotating",
) -> Observables:
    """Simulate ``timeline`` on ``sample``: ensemble, relaxation, diffusion, environment rates.

    Parameters
    ----------
    timeline
        The compiled protocol.
    sample
        The sample.
    seed
        Seed of the ensemble and of the stochastic environments; the sample's seed when None.
    packets
        Number of packets; the sample's when None.
    frame
        ``"rotating"`` (rotating-wave approximation, fast) or ``"lab"`` (exact, with the
        carrier).

    Returns
    -------
    Observables
        Signal and m_z at the detection times, normalised by the total weight.

    Raises
    ------
    InputError
        For an unknown frame, or a frame that cannot carry the sample's environment.
    """
    return Simulation(sample, seed=seed, packets=packets, frame=frame).run(timeline)


def _standard_error(estimates: np.ndarray) -> np.ndarray:
    """Complex standard error of the mean over the first axis, per quadrature (ddof = 1)."""
    scale = 1.0 / np.sqrt(len(estimates))
    real = np.std(estimates.real, axis=0, ddof=1)
    return scale * (real + 1j * np.std(estimates.imag, axis=0, ddof=1))
