r"""Nuclear spin diffusion: each packet's bias drifts in time (paper, discussion before Eq. 8).

The paper: spin diffusion at rate :math:`T_2^{-1}` makes :math:`\epsilon` fluctuate over the range
:math:`\mu\omega_o` of the polarisation group, so that in a time t it moves by about
:math:`\mu\omega_o (t/T_2)^{1/2}`. Here every packet's bias is
:math:`\epsilon_p(t) = \epsilon_p + \xi_p(t)` with :math:`\xi_p` an Ornstein-Uhlenbeck process,

.. math:: d\xi = -\xi\,dt/T_2 + \sigma\sqrt{2/T_2}\,dW,\qquad \xi(0) = 0,

of stationary width :math:`\sigma` (``spin_diffusion.width``, default :math:`\mu\omega_o`), so
:math:`\langle(\epsilon(t)-\epsilon(0))^2\rangle = \sigma^2(1 - e^{-2t/T_2}) \approx
2\sigma^2 t/T_2` at short times, as in the paper. The process runs through the whole timeline,
pulses included.

Step rule: time is cut into steps, ending at every detection time and segment edge. Over a
step of length h the endpoint :math:`\xi(t+h)` and the path average
:math:`\bar\xi = h^{-1}\int_t^{t+h}\xi` are drawn *jointly and exactly* (they are Gaussian
given :math:`\xi(t)`; with :math:`u = h/T_2`, :math:`\mathrm{Var}\,\xi(t+h) =
\sigma^2(1-e^{-2u})`, :math:`\mathrm{Var}\int\xi = \sigma^2T_2^2[2(u - 1 + e^{-u}) -
(1-e^{-u})^2]`, :math:`\mathrm{Cov} = \sigma^2T_2(1-e^{-u})^2`), and the packet evolves over
the step with the bias :math:`\epsilon_p + \bar\xi`: the first Magnus term of the step, exact
to first order in the drift (what remains is the curvature of :math:`E(\epsilon)` and of the
coupling within one step).

* Free evolution: steps of at most :math:`T_2/20`. The free map commutes with itself at any
  bias, so there is no further error.
* Driven segments: the rotation about a field whose z part moves with :math:`\xi` does not
  commute with itself at another time; the second Magnus term of a step is bounded by
  :math:`\tfrac12(4\pi)^2|B|\int_0^h\!\int_0^{t_1}|\xi(t_1)-\xi(t_2)|`, and
  :math:`\langle|\xi(t_1)-\xi(t_2)|\rangle \le \sigma\sqrt{2|t_1-t_2|/T_2}` (for
  :math:`\mathrm{Var}\,\xi\le\sigma^2`), so over a pulse of rotation angle
  :math:`\theta = 4\pi|B|T` the mean rotation error is at most
  :math:`\theta\,\frac{8\pi}{15}\sigma\sqrt{2/T_2}\,h^{3/2}`. Steps are cut so that this is at
  most :data:`PULSE_TOLERANCE` of the angle (:meth:`OrnsteinUhlenbeck.driven_step_s`), and at
  most :math:`T_2/20`. (The coupling :math:`B \propto \sin\eta` moves with the bias too; near
  resonance, where a pulse acts, its share of the commutator is of the same order or smaller.)

The bias moves adiabatically (its rate is far below the splitting 2E), so each packet's state
is carried in the instantaneous eigenbasis: its phase accumulates :math:`2\pi\int 2E(t)\,dt`,
and its coupling, drive field and thermal equilibrium follow the current bias. Noise comes
from a generator seeded by ``(seed, chunk index)``: results are reproducible bit for bit for a
given seed and chunk size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from spin_echo.sequences.timeline import Timeline
from spin_echo.simulator.bloch import PacketFrame, Relaxation, free_evolve
from spin_echo.simulator.detection import (
    DEFAULT_CHUNK,
    Accumulator,
    Observables,
    runs_by_segment,
)
from spin_echo.simulator.ensemble import Ensemble
from spin_echo.simulator.propagator import driven_map

__all__ = [
    "PULSE_TOLERANCE",
    "DrivenPiece",
    "OrnsteinUhlenbeck",
    "diffusion_steps",
    "propagate_diffusing",
    "rotating_piece",
]

#: Bound on the mean rotation error of a pulse from the bias moving within one step, as a
#: fraction of the pulse's rotation angle (see the module docstring).
PULSE_TOLERANCE = 1e-3
TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class OrnsteinUhlenbeck:
    """The bias drift: correlation time ``t2_s`` (s), stationary width ``width_hz`` (Hz)."""

    t2_s: float
    width_hz: float

    @property
    def max_step_s(self) -> float:
        """Longest free-evolution step, :math:`T_2/20` (see the module docstring)."""
        return self.t2_s / 20.0

    def driven_step_s(self, tolerance: float = PULSE_TOLERANCE) -> float:
        r"""Longest step within a pulse, seconds: rotation error at most ``tolerance`` x angle.

        .. math:: h = \min\left(\frac{T_2}{20},\,
                  \left[\frac{15\,\mathrm{tol}}{8\pi\sigma\sqrt{2/T_2}}\right]^{2/3}\right)

        (second-Magnus-term bound of the module docstring).
        """
        if self.width_hz <= 0:
            return self.max_step_s
        rate = 8.0 * math.pi / 15.0 * self.width_hz * math.sqrt(2.0 / self.t2_s)
        return min(self.max_step_s, (tolerance / rate) ** (2.0 / 3.0))

    def step(
        self, xi: np.ndarray, h: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Advance the drift ``xi`` (Hz) by ``h`` seconds, exactly in distribution.

        Returns
        -------
        tuple of numpy.ndarray
            The drift at the end of the step and its average over the step (Hz).
        """
        u = h / self.t2_s
        e1 = -math.expm1(-u)
        var_end = self.width_hz**2 * -math.expm1(-2.0 * u)
        var_int = self.width_hz**2 * self.t2_s**2 * max(0.0, 2.0 * (u - e1) - e1 * e1)
        cov = self.width_hz**2 * self.t2_s * e1 * e1
        z1, z2 = rng.standard_normal(len(xi)), rng.standard_normal(len(xi))
        end_noise = math.sqrt(var_end) * z1
        slope = cov / var_end if var_end > 0 else 0.0
        int_noise = slope * end_noise + math.sqrt(max(0.0, var_int - slope * cov)) * z2
        end = xi * (1.0 - e1) + end_noise
        mean = (xi * self.t2_s * e1 + int_noise) / h
        return end, mean


def diffusion_steps(timeline: Timeline, process: OrnsteinUhlenbeck) -> int:
    """Return the drift steps one packet takes through ``timeline`` (the step rule above).

    Every segment in steps of at most :attr:`OrnsteinUhlenbeck.max_step_s` (free) or
    :meth:`OrnsteinUhlenbeck.driven_step_s` (driven), at least one, plus one per detection
    time (each ends a step); a float, so that an absurd count does not overflow.
    """
    driven, free = process.driven_step_s(), process.max_step_s
    steps = sum(
        max(1.0, math.ceil(duration / (driven if rabi > 0 else free)))
        for duration, rabi in zip(timeline.duration_s, timeline.rabi_hz, strict=True)
    )
    return steps + sum(window.points for window in timeline.detect)


#: The map of a piece of a driven segment at constant packets, ``piece(frame, relax, timeline,
#: k, since_s, span_s, m, z) -> (m, z)``: segment ``k`` from ``since_s`` after its start for
#: ``span_s`` seconds, the state in the frame rotating at the carrier (phase reference t = 0).
DrivenPiece = Callable[
    [PacketFrame, Relaxation, Timeline, int, float, float, np.ndarray, np.ndarray],
    tuple[np.ndarray, np.ndarray],
]


def rotating_piece(
    frame: PacketFrame,
    relax: Relaxation,
    timeline: Timeline,
    k: int,
    since_s: float,
    span_s: float,
    m: np.ndarray,
    z: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the rotating frame's :data:`DrivenPiece`: one exact rotation in the segment's frame.

    The segment's frame (carrier + offset) is aligned with the carrier frame at the segment
    start: the state is shifted to it and back.
    """
    offset = float(timeline.offset_hz[k])
    apply = driven_map(frame, relax, timeline, k)
    shift = np.exp(1j * TWO_PI * offset * since_s) if offset != 0.0 else 1.0
    m, z = apply(m / shift, z, span_s)
    return m * shift, z


@dataclass(frozen=True)
class _Stepper:
    """What every step of one chunk needs: packets, rates, drift, carrier, noise, pulse map."""

    part: Ensemble
    relax: Relaxation
    temperature_k: float
    process: OrnsteinUhlenbeck
    timeline: Timeline
    rng: np.random.Generator
    piece: DrivenPiece = rotating_piece

    def free(
        self, state: tuple[np.ndarray, np.ndarray, np.ndarray], span_s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Free evolution over ``span_s`` in steps of at most ``T2/20``."""
        m, z, xi = state
        part, relax, fc = self.part, self.relax, self.timeline.carrier_hz
        steps = max(1, math.ceil(span_s / self.process.max_step_s))
        h = span_s / steps
        decay2 = math.exp(-relax.gamma2 * h)
        for _ in range(steps):
            xi, mean = self.process.step(xi, h, self.rng)
            if relax.gamma1 > 0:
                frame = PacketFrame.build(part, self.temperature_k, part.epsilon_hz + mean)
                m, z = free_evolve(m, z, frame, relax, h, fc)
                continue
            energy = np.hypot(part.epsilon_hz + mean, 2.0 * part.delta_hz)
            m = m * (decay2 * np.exp(2j * math.pi * h * (2.0 * energy - fc)))
        return m, z, xi

    def driven(
        self,
        state: tuple[np.ndarray, np.ndarray, np.ndarray],
        k: int,
        since_s: float,
        span_s: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Driven segment ``k`` from ``since_s`` after its start, for ``span_s`` seconds.

        Steps of at most :meth:`OrnsteinUhlenbeck.driven_step_s`, each the frame's
        :data:`DrivenPiece` at the step's mean bias.
        """
        m, z, xi = state
        steps = max(1, math.ceil(span_s / self.process.driven_step_s()))
        h = span_s / steps
        for j in range(steps):
            xi, mean = self.process.step(xi, h, self.rng)
            frame = PacketFrame.build(self.part, self.temperature_k, self.part.epsilon_hz + mean)
            m, z = self.piece(frame, self.relax, self.timeline, k, since_s + j * h, h, m, z)
        return m, z, xi


def propagate_diffusing(
    timeline: Timeline,
    ensemble: Ensemble,
    relax: Relaxation,
    temperature_k: float,
    process: OrnsteinUhlenbeck,
    *,
    seed: int,
    chunk: int = DEFAULT_CHUNK,
    piece: DrivenPiece = rotating_piece,
) -> Observables:
    """Propagation with a drifting bias (see the module docstring), rotating frame by default.

    Parameters
    ----------
    timeline
        The compiled protocol.
    ensemble
        Packets; ``epsilon_hz`` is each packet's bias at time zero.
    relax
        Relaxation rates.
    temperature_k
        Temperature of the initial state and of the relaxation's equilibrium, kelvin.
    process
        The bias drift (running through free evolution and pulses alike).
    seed
        Seed of the drift noise.
    chunk
        Packets processed together.
    piece
        The map of a driven piece at constant bias: :func:`rotating_piece` (the rotating
        frame), or the lab frame's (:func:`simulator.lab.drift.lab_piece`). The steps and the
        noise do not depend on it, so two frames see the same bias paths.

    Returns
    -------
    Observables
        Signal and m_z at the detection times.
    """
    times = timeline.detect_times_s
    runs = runs_by_segment(timeline)
    acc = Accumulator(len(times))
    for number, start in enumerate(range(0, len(ensemble), chunk)):
        part = ensemble.chunk(start, start + chunk)
        rng = np.random.default_rng([seed, 1, number])
        stepper = _Stepper(part, relax, temperature_k, process, timeline, rng, piece)
        z0 = PacketFrame.build(part, temperature_k).z_eq.copy()
        state = (np.zeros(len(part), dtype=complex), z0, np.zeros(len(part)))
        for k in range(len(timeline.start_s)):
            t_k, d_k = float(timeline.start_s[k]), float(timeline.duration_s[k])
            driven = timeline.rabi_hz[k] != 0.0
            points = [
                (run.offset + j, run.first_s + j * run.spacing_s)
                for run in runs.get(k, ())
                for j in range(run.count)
            ]
            t = t_k
            for index, t_point in [*points, (-1, t_k + d_k)]:
                if t_point > t:
                    if driven:
                        state = stepper.driven(state, k, t - t_k, t_point - t)
                    else:
                        state = stepper.free(state, t_point - t)
                t = max(t, t_point)
                if index >= 0:
                    m, z, xi = state
                    frame = PacketFrame.build(part, temperature_k, part.epsilon_hz + xi)
                    acc.point(index, frame, m, z)
    norm = ensemble.norm
    return Observables(times, acc.signal / norm, acc.mz / norm)
