r"""Ensembles of two-level packets and how a sample draws one.

A packet is a biased two-level system :math:`H/h = 2\delta\tau_x + \epsilon\tau_z` whose easy
axis makes the angle :math:`\theta` with the drive, carrying a weight. Ensemble sums
:math:`\sum_p w_p f_p` are normalised by :attr:`Ensemble.norm` (the total weight of the
*grains*; equal to the sum of the packet weights except for the channel sum of
:mod:`simulator.bath`).

Drawing a sample's ensemble (:func:`sample_ensemble`), all from one seeded generator:

1. :math:`\Delta_o` from ``tunnel_splitting``; :math:`\cos\theta` from ``orientation``.
2. Without a nuclear bath: :math:`\epsilon` from ``bias`` and :math:`\delta = \Delta_o
   |\cos\pi S|` (1 when ``spin`` is not given). With one: see :mod:`simulator.bath`; the
   nuclear bias plus the optional extra static ``bias``.
3. With ``bias_sampling`` (and a bias with a density), a fraction F of the packets draws the
   bias from a Cauchy density of half-width W about the centre C, and every packet gets the
   weight :math:`p/[(1-F)p + F c]`, so weighted averages are unbiased (defensive importance
   sampling; the weight is at most :math:`1/(1-F)`). With a nuclear bath the Cauchy is placed
   so that the *total* packet bias (nuclear + static - :math:`M\omega_o/2`) is near C.

With a nuclear bath the ensemble also keeps each packet's bare :math:`\Delta_o` and its bias
without the channel shift (:attr:`Ensemble.bare_delta_hz`, :attr:`Ensemble.base_bias_hz`): what
the dynamic bath needs to redraw a channel (:func:`simulator.bath.redraw_channels`), so no one
replays the random draws.

The draw reads a sample through :class:`EnsembleSource` (fields that
:class:`simulator.sample.Sample` has), so this module does not depend on the sample module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from spin_echo.sequences.quantity import HZ_PER_K
from spin_echo.simulator.bath import (
    NuclearBath,
    bath_log_density,
    cos_pi_spin,
    draw_bath_bias,
    draw_splitting,
    redraw_channels,
)
from spin_echo.simulator.distributions import Distribution, Orientation

__all__ = ["BiasSampling", "Ensemble", "EnsembleSource", "sample_ensemble"]


@dataclass(frozen=True)
class BiasSampling:
    """Importance sampling of the bias near resonance (see the module docstring, step 3).

    Attributes
    ----------
    width_hz
        Half-width W of the Cauchy density, Hz.
    fraction
        Fraction F of the packets drawn from it, 0 <= F < 1.
    center_hz
        Its centre C, Hz.
    """

    width_hz: float
    fraction: float
    center_hz: float = 0.0


class EnsembleSource(Protocol):
    """What a sample gives to draw its ensemble (:class:`simulator.sample.Sample` has it)."""

    @property
    def tunnel_splitting(self) -> Distribution:
        """Distribution of the bare tunnelling amplitude, Hz."""

    @property
    def bias(self) -> Distribution | None:
        """Distribution of the static bias, Hz (optional with a nuclear bath)."""

    @property
    def orientation(self) -> Orientation:
        """Distribution of the easy axes."""

    @property
    def packets(self) -> int:
        """Default number of packets."""

    @property
    def seed(self) -> int:
        """Default seed of the draw."""

    @property
    def spin(self) -> float | None:
        """Giant spin S, or None."""

    @property
    def bias_sampling(self) -> BiasSampling | None:
        """Importance sampling of the bias, or None."""

    @property
    def nuclear(self) -> NuclearBath | None:
        """The nuclear bath, or None."""


@dataclass(frozen=True, eq=False)
class Ensemble:
    r"""Packets ``(delta, epsilon, cos_theta, weight)``, one entry per packet.

    Attributes
    ----------
    delta_hz
        Tunnelling amplitude :math:`\delta` (Hz), in :math:`H/h = 2\delta\tau_x +
        \epsilon\tau_z`.
    epsilon_hz
        Bias :math:`\epsilon` (Hz).
    cos_theta
        Cosine of the angle between the easy axis and the drive field.
    weight
        Non-negative weights of the packets' transitions.
    channel_weight
        For packets drawn as one channel M of a grain (:mod:`simulator.bath`), the factor
        :math:`1/p_M` included in ``weight``; ones otherwise. A grain's weight is
        ``weight / channel_weight``: the equilibrium magnetisation and the normaliser count each
        grain once, while transitions are summed over channels (paper Eq. 4).
    total_weight
        The normaliser of ensemble sums, ``sum(weight / channel_weight)`` when None (a chunk
        keeps the normaliser of the whole ensemble).
    bare_delta_hz
        With a nuclear bath: each packet's bare tunnelling amplitude :math:`\Delta_o` (Hz),
        before the channel factor :math:`|\cos\varphi J_M|`; None otherwise.
    base_bias_hz
        With a nuclear bath: each packet's bias without its channel shift,
        :math:`\epsilon + M\omega_o/2` (Hz); None otherwise.
    """

    delta_hz: np.ndarray
    epsilon_hz: np.ndarray
    cos_theta: np.ndarray
    weight: np.ndarray
    channel_weight: np.ndarray | None = None
    total_weight: float | None = None
    bare_delta_hz: np.ndarray | None = None
    base_bias_hz: np.ndarray | None = None

    def __post_init__(self) -> None:
        cw = np.ones(1) if self.channel_weight is None else self.channel_weight
        arrays = [
            np.atleast_1d(np.asarray(a, dtype=float))
            for a in (self.delta_hz, self.epsilon_hz, self.cos_theta, self.weight, cw)
        ]
        n = max(a.shape[0] for a in arrays)
        names = ("delta_hz", "epsilon_hz", "cos_theta", "weight", "channel_weight")
        for name, a in zip(names, arrays, strict=True):
            if a.ndim != 1 or a.shape[0] not in (1, n):
                raise ValueError(f"{name} must be a 1-D array of length {n} or a scalar")
            object.__setattr__(self, name, np.ascontiguousarray(np.broadcast_to(a, (n,))))
        for name in ("bare_delta_hz", "base_bias_hz"):
            value = getattr(self, name)
            if value is not None:
                a = np.asarray(value, dtype=float)
                if a.shape != (n,):
                    raise ValueError(f"{name} must be a 1-D array of length {n}")
                object.__setattr__(self, name, np.ascontiguousarray(a))

    def __len__(self) -> int:
        return self.delta_hz.shape[0]

    @property
    def grain_weight(self) -> np.ndarray:
        """Weight of the grain each packet belongs to, ``weight / channel_weight``."""
        return self.weight / self.channel_weight

    @cached_property
    def norm(self) -> float:
        """The normaliser of weighted sums: ``total_weight`` or the sum of grain weights."""
        if self.total_weight is not None:
            return self.total_weight
        return float(self.grain_weight.sum())

    @property
    def energy_hz(self) -> np.ndarray:
        r"""Half the level splitting, :math:`E = \sqrt{\epsilon^2 + 4\delta^2}` (Hz)."""
        return np.hypot(self.epsilon_hz, 2.0 * self.delta_hz)

    def chunk(self, start: int, stop: int) -> Ensemble:
        """Return packets ``start:stop`` with the normaliser of the whole ensemble."""
        bare, base = self.bare_delta_hz, self.base_bias_hz
        return Ensemble(
            self.delta_hz[start:stop],
            self.epsilon_hz[start:stop],
            self.cos_theta[start:stop],
            self.weight[start:stop],
            self.channel_weight[start:stop],
            self.norm,
            None if bare is None else bare[start:stop],
            None if base is None else base[start:stop],
        )

    def channel_base(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Return each packet's bare :math:`\Delta_o` and its bias without the channel shift.

        Raises
        ------
        ValueError
            If the ensemble was not drawn with a nuclear bath (nothing to redraw).
        """
        if self.bare_delta_hz is None or self.base_bias_hz is None:
            raise ValueError("the ensemble was not drawn with a nuclear bath")
        return self.bare_delta_hz, self.base_bias_hz

    def redrawn(
        self, bath: NuclearBath, spin: float | None, seed: int, count: int
    ) -> list[Ensemble]:
        """Return the ensemble after each of ``count`` redraws of every packet's channel.

        The dynamic bath's redraws at the pulses (:func:`simulator.bath.redraw_channels`),
        from one generator seeded by ``(seed, 3)``.

        Raises
        ------
        ValueError
            If the ensemble was not drawn with a nuclear bath.
        """
        delta0, base = self.channel_base()
        rng = np.random.default_rng([seed, 3])
        draws = []
        for _ in range(count):
            delta, epsilon = redraw_channels(rng, delta0, base, bath, spin)
            draws.append(
                Ensemble(
                    delta, epsilon, self.cos_theta, self.weight, self.channel_weight, self.norm
                )
            )
        return draws


def _cauchy_logpdf(x: np.ndarray, center: np.ndarray | float, width: float) -> np.ndarray:
    z = (x - center) / width
    return -np.log(math.pi * width * (1.0 + z * z))


def _mixture_log_weight(log_p: np.ndarray, log_c: np.ndarray, fraction: float) -> np.ndarray:
    """Log of p / ((1-F) p + F c)."""
    if fraction == 0.0:
        return np.zeros_like(log_p)
    log_q = np.logaddexp(math.log1p(-fraction) + log_p, math.log(fraction) + log_c)
    return log_p - log_q


def sample_ensemble(
    sample: EnsembleSource, *, packets: int | None = None, seed: int | None = None
) -> Ensemble:
    """Draw the ensemble of ``sample`` (see the module docstring).

    Parameters
    ----------
    sample
        The sample (:class:`simulator.sample.Sample`, or anything with its fields).
    packets
        Number of packets; ``sample.packets`` when None.
    seed
        Seed; ``sample.seed`` when None. The same seed gives the same ensemble bit for bit.

    Returns
    -------
    Ensemble
        The packets, weights already normalised to a mean of order one.
    """
    n = sample.packets if packets is None else int(packets)
    rng = np.random.default_rng([sample.seed if seed is None else seed, 0])
    delta0 = np.abs(sample.tunnel_splitting.sample(rng, n))
    cos_theta = sample.orientation.sample_cos(rng, n)
    extra = np.zeros(n) if sample.bias is None else sample.bias.sample(rng, n)
    sampling = sample.bias_sampling
    if sample.nuclear is None:
        delta = delta0 * abs(cos_pi_spin(sample.spin))
        epsilon, log_w = extra, np.zeros(n)
        if sampling is not None and sample.bias is not None and sample.bias.has_density:
            pick = rng.random(n) < sampling.fraction
            cauchy = sampling.center_hz + sampling.width_hz * rng.standard_cauchy(n)
            epsilon = np.where(pick, cauchy, extra)
            log_w = _mixture_log_weight(
                sample.bias.logpdf(epsilon),
                _cauchy_logpdf(epsilon, sampling.center_hz, sampling.width_hz),
                sampling.fraction,
            )
        return _finish(delta, epsilon, cos_theta, log_w, np.zeros(n))
    bath = sample.nuclear
    delta, channel, log_pm = draw_splitting(rng, delta0, bath, sample.spin)
    shift = extra - channel * bath.omega0_hz / 2.0
    nuclear = draw_bath_bias(rng, bath, n)
    log_w = np.zeros(n)
    if sampling is not None and bath.group_width_hz > 0:
        pick = rng.random(n) < sampling.fraction
        center = sampling.center_hz - shift
        cauchy = center + sampling.width_hz * rng.standard_cauchy(n)
        nuclear = np.where(pick, cauchy, nuclear)
        log_w = _mixture_log_weight(
            bath_log_density(bath, nuclear),
            _cauchy_logpdf(nuclear, center, sampling.width_hz),
            sampling.fraction,
        )
    if bath.temperature_k is not None:
        log_w = log_w - nuclear / (HZ_PER_K * bath.temperature_k)
    epsilon = nuclear + shift
    base = epsilon + channel * bath.omega0_hz / 2.0
    return _finish(delta, epsilon, cos_theta, log_w, log_pm, (delta0, base))


def _finish(
    delta: np.ndarray,
    epsilon: np.ndarray,
    cos_theta: np.ndarray,
    log_grain: np.ndarray,
    log_channel: np.ndarray,
    bath_base: tuple[np.ndarray, np.ndarray] | None = None,
) -> Ensemble:
    grain = np.exp(log_grain - float(np.max(log_grain)))
    channel = np.exp(-log_channel)
    bare, base = (None, None) if bath_base is None else bath_base
    return Ensemble(delta, epsilon, cos_theta, grain * channel, channel, None, bare, base)
