r"""Nuclear spin diffusion: each packet's bias drifts in time (paper, discussion before Eq. 8).

The paper: spin diffusion at rate :math:`T_2^{-1}` makes :math:`\epsilon` fluctuate over the range
:math:`\mu\omega_o` of the polarisation group, so that in a time t it moves by about
:math:`\mu\omega_o (t/T_2)^{1/2}`. Here every packet's bias is
:math:`\epsilon_p(t) = \epsilon_p + \xi_p(t)` with :math:`\xi_p` an Ornstein-Uhlenbeck process,

.. math:: d\xi = -\xi\,dt/T_2 + \sigma\sqrt{2/T_2}\,dW,\qquad \xi(0) = 0,

of stationary width :math:`\sigma` (``spin_diffusion.width``, default :math:`\mu\omega_o`), so
:math:`\langle(\epsilon(t)-\epsilon(0))^2\rangle = \sigma^2(1 - e^{-2t/T_2}) \approx
2\sigma^2 t/T_2` at short times, as in the paper.

Step rule: time is cut into steps of at most :math:`T_2/20` during free evolution, ending at
every detection time. Over a step of length h the endpoint :math:`\xi(t+h)` and the path
average :math:`\bar\xi = h^{-1}\int_t^{t+h}\xi` are drawn *jointly and exactly* (they are
Gaussian given :math:`\xi(t)`; with :math:`u = h/T_2`,
:math:`\mathrm{Var}\,\xi(t+h) = \sigma^2(1-e^{-2u})`,
:math:`\mathrm{Var}\int\xi = \sigma^2T_2^2[2(u - 1 + e^{-u}) - (1-e^{-u})^2]`,
:math:`\mathrm{Cov} = \sigma^2T_2(1-e^{-u})^2`), and the packet evolves over the step with the
bias :math:`\epsilon_p + \bar\xi`. The phase is therefore exact to first order in the drift
for any step length; what remains is the curvature of :math:`E(\epsilon)` within one step.
During a driven segment the bias keeps its value at the segment start (pulses are short
compared with :math:`T_2`). The bias moves adiabatically (its rate is far below the splitting
2E), so each packet's state is carried in the instantaneous eigenbasis: its phase accumulates
:math:`2\pi\int 2E(t)\,dt`, and its coupling and thermal equilibrium follow the current bias.
Noise comes from a generator seeded by ``(seed, chunk index)``: results are reproducible bit
for bit for a given seed and chunk size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spin_echo.sequences.timeline import Timeline
from spin_echo.simulator.bloch import PacketFrame, Relaxation, free_evolve
from spin_echo.simulator.ensemble import Ensemble
from spin_echo.simulator.propagator import (
    DEFAULT_CHUNK,
    Observables,
    _Accumulator,
    _driven,
    _runs_by_segment,
)

__all__ = ["OrnsteinUhlenbeck", "propagate_diffusing"]


@dataclass(frozen=True)
class OrnsteinUhlenbeck:
    """The bias drift: correlation time ``t2_s`` (s), stationary width ``width_hz`` (Hz)."""

    t2_s: float
    width_hz: float

    @property
    def max_step_s(self) -> float:
        """Longest free-evolution step, :math:`T_2/20` (see the module docstring)."""
        return self.t2_s / 20.0

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


def _free_diffusing(
    state: tuple[np.ndarray, np.ndarray, np.ndarray],
    ensemble: Ensemble,
    process: OrnsteinUhlenbeck,
    relax: Relaxation,
    temperature_k: float,
    carrier_hz: float,
    span_s: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m, z, xi = state
    steps = max(1, math.ceil(span_s / process.max_step_s))
    h = span_s / steps
    decay2 = math.exp(-relax.gamma2 * h)
    for _ in range(steps):
        xi, mean = process.step(xi, h, rng)
        if relax.gamma1 > 0:
            frame = PacketFrame.build(ensemble, temperature_k, ensemble.epsilon_hz + mean)
            m, z = free_evolve(m, z, frame, relax, h, carrier_hz)
            continue
        energy = np.hypot(ensemble.epsilon_hz + mean, 2.0 * ensemble.delta_hz)
        m = m * (decay2 * np.exp(2j * math.pi * h * (2.0 * energy - carrier_hz)))
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
) -> Observables:
    """Rotating-frame propagation with a drifting bias (see the module docstring).

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
        The bias drift.
    seed
        Seed of the drift noise.
    chunk
        Packets processed together.

    Returns
    -------
    Observables
        Signal and m_z at the detection times.
    """
    times = timeline.detect_times_s
    runs = _runs_by_segment(timeline)
    acc = _Accumulator(len(times))
    fc = timeline.carrier_hz
    for number, start in enumerate(range(0, len(ensemble), chunk)):
        part = ensemble.chunk(start, start + chunk)
        rng = np.random.default_rng([seed, 1, number])
        xi = np.zeros(len(part))
        frame = PacketFrame.build(part, temperature_k)
        m, z = np.zeros(len(part), dtype=complex), frame.z_eq.copy()
        for k in range(len(timeline.start_s)):
            t_k, d_k = float(timeline.start_s[k]), float(timeline.duration_s[k])
            points = [
                (run.offset + j, run.first_s + j * run.spacing_s)
                for run in runs.get(k, ())
                for j in range(run.count)
            ]
            if timeline.rabi_hz[k] == 0.0:
                t = t_k
                for index, t_point in [*points, (-1, t_k + d_k)]:
                    state = (m, z, xi)
                    if t_point > t:
                        state = _free_diffusing(
                            state, part, process, relax, temperature_k, fc, t_point - t, rng
                        )
                    m, z, xi = state
                    t = t_point
                    if index >= 0:
                        frame = PacketFrame.build(part, temperature_k, part.epsilon_hz + xi)
                        acc.point(index, frame, m, z)
                continue
            frame = PacketFrame.build(part, temperature_k, part.epsilon_hz + xi)
            apply = _driven(frame, relax, timeline, k)
            for index, t_point in points:
                acc.point(index, frame, *apply(m, z, t_point - t_k))
            m, z = apply(m, z, d_k)
    norm = ensemble.norm
    return Observables(times, acc.signal / norm, acc.mz / norm)
