r"""One simulation path: a sample's packets prepared once, any timeline propagated through them.

:class:`Simulation` is to :func:`simulator.simulate` what QuTiP 5's ``MESolver`` is to
``mesolve``: it holds the prepared physics of one sample and propagates any compiled
:class:`~sequences.timeline.Timeline` (``simulate``, ``fit``, the paper reproduction) or any
sampled AWG :class:`~sequences.timeline.Waveform` (the virtual bench) through it. Decided here
and only here:

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
  :func:`simulator.lab.propagate_lab`). Spin diffusion and the dynamic bath are simulated in
  the rotating frame only (an :class:`~sequences.errors.InputError` otherwise).

The same ``(timeline, sample, seed, packets, frame)`` gives the same result bit for bit.

Monte-Carlo error (:meth:`Simulation.run_with_error`): the packets are split into
:data:`REPLICAS` groups of consecutive packets (sizes differing by at most one); each group is
propagated alone with the normaliser of the whole ensemble, so its sum :math:`G_r` times
:math:`N/n_r` is an independent estimate of the ensemble signal (the packets are independent
draws; stochastic environments get a noise stream per group). The standard error is
:math:`\mathrm{std}_r(N G_r/n_r)/\sqrt{R}` per quadrature (``ddof = 1``). The signal itself is
the one-group result (the same bits as :meth:`Simulation.run`); it equals
:math:`\sum_r G_r` in exact arithmetic (to rounding with equal group sizes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from spin_echo.sequences.compile import compile_timeline
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.protocol import Protocol, combine_phase_cycle
from spin_echo.sequences.quantity import HZ_PER_K
from spin_echo.sequences.timeline import DetectWindow, Timeline, Waveform
from spin_echo.simulator.bath import redraw_channels
from spin_echo.simulator.bloch import Relaxation
from spin_echo.simulator.detection import Observables
from spin_echo.simulator.diffusion import OrnsteinUhlenbeck, propagate_diffusing
from spin_echo.simulator.ensemble import Ensemble
from spin_echo.simulator.lab import propagate_sampled
from spin_echo.simulator.propagator import SegmentChanges, propagate, propagate_chunks
from spin_echo.simulator.sample import Sample

__all__ = [
    "FRAMES",
    "REPLICAS",
    "PointSignal",
    "SimulatedSignal",
    "Simulation",
    "check_frame",
    "compile_point",
    "environment_rates",
    "flip_segments",
]

#: The frames a :class:`Simulation` can work in.
FRAMES = ("rotating", "lab")
#: Replica groups of :meth:`Simulation.run_with_error` (the Monte-Carlo standard error).
REPLICAS = 8


def environment_rates(sample: Sample) -> tuple[float, float]:
    """Return the extra (population, coherence) rates in 1/s from electrons and phonons.

    Uses :func:`simulator.decoherence.ohmic_damping_rate_hz` and
    :func:`simulator.decoherence.phonon_rate_hz` (paper Eqs. 10-12).
    """
    extra1 = extra2 = 0.0
    if sample.electron_alpha is not None:
        from spin_echo.simulator.decoherence import ohmic_damping_rate_hz

        extra2 += ohmic_damping_rate_hz(sample.electron_alpha, sample.temperature_k)
    if sample.phonons is not None:
        from spin_echo.simulator.decoherence import phonon_rate_hz

        rate = phonon_rate_hz(
            sample.tunnel_splitting.typical_hz,
            sample.omega0_big_hz,
            sample.phonons.debye_temperature_k,
            sample.phonons.anisotropy_hz / HZ_PER_K,
            sample.spin,
            sample.temperature_k,
        )
        extra1 += rate
    return extra1, extra2


def check_frame(sample: Sample, frame: str) -> None:
    """Refuse a frame that is unknown or cannot carry the sample's environment.

    Raises
    ------
    InputError
        For an unknown frame, or the lab frame with spin diffusion or a dynamic bath, or a
        dynamic bath with spin diffusion.
    """
    if frame not in FRAMES:
        raise InputError(f"must be one of {', '.join(FRAMES)}", key="frame", value=frame)
    dynamic = sample.nuclear is not None and sample.nuclear.dynamic
    if dynamic and (frame == "lab" or sample.diffusion is not None):
        raise InputError(
            "a dynamic nuclear bath is simulated in the rotating frame without spin diffusion",
            key="environment.nuclear.dynamic",
            value="true",
        )
    if frame == "lab" and sample.diffusion is not None:
        raise InputError(
            "spin diffusion is simulated in the rotating frame only; use the rotating frame "
            "or remove environment.spin_diffusion",
            key="frame",
            value=frame,
        )


def flip_segments(timeline: Timeline) -> list[int]:
    """Return the driven segments that start a pulse, after the first pulse (flip events)."""
    driven = [float(r) != 0.0 for r in timeline.rabi_hz]
    starts = [k for k, on in enumerate(driven) if on and (k == 0 or not driven[k - 1])]
    return starts[1:]


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
        For a frame that cannot carry the sample's environment (:func:`check_frame`).
    """

    def __init__(
        self,
        sample: Sample,
        *,
        seed: int | None = None,
        packets: int | None = None,
        frame: str = "rotating",
    ) -> None:
        check_frame(sample, frame)
        self.sample = sample
        self.frame = frame
        self.seed = int(sample.seed if seed is None else seed)
        self._packets_asked = packets
        self.ensemble = sample.ensemble(packets=packets, seed=self.seed)
        self._key = _ensemble_key(sample)
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
        self._channels: tuple[np.ndarray, np.ndarray] | None = None

    def with_sample(self, sample: Sample) -> Simulation:
        """Return the simulation of ``sample`` with this one's seed, packet count and frame.

        When ``sample`` draws the same packets (it differs from this one's sample only in
        ``relaxation``, ``environment.electrons``, ``environment.phonons``,
        ``environment.spin_diffusion``, ``name`` or ``description``, none of which enters the
        draw of :func:`simulator.ensemble.sample_ensemble`), the prepared ensemble is shared
        instead of drawn again; the result is the same bit for bit either way.
        """
        if _ensemble_key(sample) != self._key:
            return Simulation(sample, seed=self.seed, packets=self._packets_asked, frame=self.frame)
        other = Simulation.__new__(Simulation)
        other.__dict__.update(self.__dict__)
        check_frame(sample, self.frame)
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

    def run(self, timeline: Timeline) -> Observables:
        """Propagate ``timeline`` through every packet; return the normalised observables."""
        return self._propagate(timeline, self.ensemble, self.seed, 0, self.packets)

    def run_with_error(self, timeline: Timeline, replicas: int = REPLICAS) -> SimulatedSignal:
        """Return :meth:`run` with the Monte-Carlo standard error of ``replicas`` groups.

        Raises
        ------
        ValueError
            With fewer than two replicas, or fewer packets than replicas.
        """
        if replicas < 2 or replicas > self.packets:
            raise ValueError(f"need 2 <= replicas <= packets ({self.packets}), got {replicas}")
        observed = self.run(timeline)
        estimates = self.replica_signals(timeline, replicas)
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
        """
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

        Group r holds packets ``[N r // R, N (r + 1) // R)``; its estimate is its sum,
        normalised by the whole ensemble, times ``N / n_r`` (module docstring).
        """
        edges = [self.packets * r // replicas for r in range(replicas + 1)]
        rows = []
        for r in range(replicas):
            start, stop = edges[r], edges[r + 1]
            noise = int(np.random.SeedSequence([self.seed, 4, r]).generate_state(1)[0] >> 1)
            part = self.ensemble.chunk(start, stop)
            signal = self._propagate(timeline, part, noise, start, stop).signal
            rows.append(signal * (self.packets / (stop - start)))
        return np.array(rows)

    def run_waveform(self, waveform: Waveform) -> np.ndarray:
        r"""Lab-frame :math:`M_z` at every sample time of a played waveform (the virtual bench).

        The sampled drive is propagated exactly (:func:`simulator.propagate_sampled`) with the
        rates of :meth:`run`'s lab frame.

        Raises
        ------
        InputError
            For a sample with spin diffusion or a dynamic bath: the sampled propagation does
            not carry them.
        """
        check_frame(self.sample, "lab")
        t1_s, t2_s = self.relaxation_times_s
        return propagate_sampled(
            waveform,
            self.ensemble,
            t1_s=t1_s,
            t2_s=t2_s,
            temperature_k=self.sample.temperature_k,
        )

    def _propagate(
        self, timeline: Timeline, ensemble: Ensemble, noise_seed: int, start: int, stop: int
    ) -> Observables:
        """Propagate packets ``start:stop`` of the ensemble (``ensemble`` is that chunk)."""
        temperature_k = self.sample.temperature_k
        if self.frame == "lab":
            t1_s, t2_s = self.relaxation_times_s
            return propagate(
                timeline,
                ensemble,
                t1_s=t1_s,
                t2_s=t2_s,
                temperature_k=temperature_k,
                frame="lab",
            )
        if self.dynamic:
            changes = self._segment_changes(timeline)
            at = {k: e.chunk(start, stop) for k, e in changes.items()}
            return propagate_chunks(
                timeline, SegmentChanges(ensemble, at), self.relaxation, temperature_k
            )
        if self.diffusion is None:
            return propagate_chunks(timeline, ensemble, self.relaxation, temperature_k)
        return propagate_diffusing(
            timeline, ensemble, self.relaxation, temperature_k, self.diffusion, seed=noise_seed
        )

    def _segment_changes(self, timeline: Timeline) -> dict[int, Ensemble]:
        """Return the whole ensemble after each flip of ``timeline`` (the dynamic bath)."""
        bath = self.sample.nuclear
        assert bath is not None
        if self._channels is None:
            self._channels = self.ensemble.channel_base()
        delta0, base = self._channels
        rng = np.random.default_rng([self.seed, 3])
        e = self.ensemble
        changes = {}
        for k in flip_segments(timeline):
            delta, epsilon = redraw_channels(rng, delta0, base, bath, self.sample.spin)
            changes[k] = Ensemble(delta, epsilon, e.cos_theta, e.weight, e.channel_weight, e.norm)
        return changes


def _standard_error(estimates: np.ndarray) -> np.ndarray:
    """Complex standard error of the mean over the first axis, per quadrature (ddof = 1)."""
    scale = 1.0 / np.sqrt(len(estimates))
    real = np.std(estimates.real, axis=0, ddof=1)
    return scale * (real + 1j * np.std(estimates.imag, axis=0, ddof=1))


#: Sample keys that do not enter the ensemble draw (:meth:`Simulation.with_sample`).
_RATE_KEYS = (
    ("relaxation",),
    ("name",),
    ("description",),
    ("environment", "electrons"),
    ("environment", "phonons"),
    ("environment", "spin_diffusion"),
)


def _ensemble_key(sample: Sample) -> str:
    """Return the sample's YAML without the keys that do not enter the ensemble draw."""
    doc = yaml.safe_load(sample.to_yaml())
    for path in _RATE_KEYS:
        node = doc
        for part in path[:-1]:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return json.dumps(doc, sort_keys=True, default=str)
