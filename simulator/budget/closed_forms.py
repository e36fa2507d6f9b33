"""Closed forms of Prokof'ev & Stamp (1995): the decoherence budget of a magnetic grain.

Every function here is a formula printed in the paper (or in the paragraph that derives it),
evaluated with the project's units:

- energies are frequencies ``E/h`` in hertz at every interface (``delta0_hz``, ``omega0_hz``);
  temperatures are in kelvin and become frequencies through ``k_B T / h`` (:data:`HZ_PER_K`);
- the paper sets hbar = 1 and writes its formulas in angular units.  A formula homogeneous in
  the energies (a ratio, or an energy built from energies) is therefore evaluated as printed
  with every energy replaced by its value in hertz;
- a *rate* (the ``1/s`` of ``exp(-Gamma t)``) is the paper's energy ``Gamma`` divided by hbar:
  ``rate = Gamma / hbar = 2 pi (Gamma / h)``, i.e. ``2 pi`` times the formula evaluated in hertz;
- a *time* argument of an oscillation, such as the ``4 Delta_o t`` of the Bessel series, is an
  angular frequency times a time: ``4 Delta_o t -> 2 pi (4 delta0_hz) t``.

Misprints read as the paper's own derivation requires (see ``DESIGN.md``):

- Eq. (8) prints ``[(delta omega_o)^2 T_2^-1]^(-1/3) N^(1/3)``; the paragraph above it
  (``Delta eps ~ mu omega_o (T_2 Delta_o)^(-1/2) << Delta_o`` with ``mu omega_o =
  N^(1/2) delta omega``) gives the exponent ``+1/3``, the only one with units of energy;
- the paper's ``lambda ~ 4e-5`` for ferritin is ``N omega_o^2 / (4 Omega_o^2)``, while its
  printed couplings ``alpha_k = sqrt(2) pi omega_k / (2 Omega_o)`` give ``lambda = 1/2 sum_k
  alpha_k^2 = pi^2 N omega_o^2 / (4 Omega_o^2)``, ten times larger (:func:`lambda_from_couplings`
  implements the printed couplings; both are << 1 for ferritin).

The P(t) and chi''(omega) closed forms use the paper's convention for Eq. (4) (no factor 2:
``P = 1 - sum W P_M``); the physical correlator ``<tau_z(t) tau_z(0)>`` is ``1 - 2 (1 - P)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from spin_echo.sequences.quantity import HZ_PER_K

__all__ = [
    "InsulatingGrainCondition",
    "alpha_bulk",
    "alpha_surface",
    "bessel_amplitude",
    "chi_pp_channels_binned",
    "chi_pp_eq7",
    "chi_pp_eq7_binned",
    "correlator_bessel",
    "fraction_unblocked_mu_large",
    "fraction_unblocked_mu_small",
    "insulating_grain_condition",
    "lambda_from_couplings",
    "nuclear_mu",
    "ohmic_damping_rate_per_s",
    "phonon_rate_per_s",
    "renormalised_splitting_hz",
    "spin_diffusion_threshold_hz",
    "spin_diffusion_threshold_simple_hz",
]


def nuclear_mu(n_spins: float, delta_omega_hz: float, omega0_hz: float) -> float:
    r"""Overlap parameter of the nuclear polarisation groups.

    .. math:: \mu = N^{1/2}\, \delta\omega_k / \omega_o

    ``mu << 1``: separate polarisation groups of width ``mu omega_o``; ``mu >> 1``: they overlap
    into a Gaussian envelope of width ``N^(1/2) omega_o`` (text below Eq. 1).

    Parameters
    ----------
    n_spins
        Number N of nuclear spins coupled to the grain.
    delta_omega_hz
        Spread ``delta omega_k`` of the hyperfine couplings, Hz.
    omega0_hz
        Dominant hyperfine coupling ``omega_o``, Hz.
    """
    return math.sqrt(n_spins) * delta_omega_hz / omega0_hz


def fraction_unblocked_mu_small(delta0_hz: float, n_spins: float, delta_omega_hz: float) -> float:
    r"""Fraction A of grains not degeneracy-blocked when ``mu << 1`` (text below Eq. 1).

    .. math:: A \sim \Delta_o / (N\, \delta\omega_k)

    (a fraction ``Delta_o / (N^(1/2) delta omega)`` of the ``f = sqrt(2 / pi N)`` grains with
    ``Delta N = 0``; the paper drops the factor ``sqrt(2/pi)``, and so does this function).
    """
    return delta0_hz / (n_spins * delta_omega_hz)


def fraction_unblocked_mu_large(delta0_hz: float, n_spins: float, omega0_hz: float) -> float:
    r"""Fraction A of grains not degeneracy-blocked when ``mu >> 1`` (text below Eq. 1).

    .. math:: A \sim \Delta_o / (N^{1/2}\, \omega_o)
    """
    return delta0_hz / (math.sqrt(n_spins) * omega0_hz)


def bessel_amplitude(delta0_hz: float, n_spins: float, omega0_hz: float) -> float:
    r"""Amplitude A of the Bessel series and of Eq. (7) (``lambda << 1``, ``k_B T >> omega_o``).

    .. math:: A = \frac{\pi \tilde\Delta_o}{\omega_o \sqrt{2 \pi N}}

    It is ``pi Delta_o W(0)`` for the flat bias density ``W(0) = 1 / (sqrt(2 pi N) omega_o)``
    of overlapping polarisation groups.  Ferritin (``Delta_o = 1 MHz``, ``omega_o = 50 MHz``,
    ``N = 100``): ``A = 2.5e-3``.
    """
    return math.pi * delta0_hz / (omega0_hz * math.sqrt(2.0 * math.pi * n_spins))


def lambda_from_couplings(n_spins: float, omega0_hz: float, omega0_big_hz: float) -> float:
    r"""Return lambda, the number of nuclei co-flipping with the grain (printed couplings).

    .. math::
        \lambda = \tfrac12 \sum_k \alpha_k^2, \quad \alpha_k = \sqrt2\, \xi_k
        = \frac{\pi \omega_k}{\sqrt2\, \Omega_o}
        \;\Rightarrow\; \lambda = \frac{\pi^2 N \omega_o^2}{4 \Omega_o^2}

    (text below Eq. 3, small ``omega_k / Omega_o``).  The paper quotes ``lambda ~ 4e-5`` for
    ferritin, which is this value without the ``pi^2`` (see the module docstring).
    """
    return math.pi**2 * n_spins * omega0_hz**2 / (4.0 * omega0_big_hz**2)


def correlator_bessel(
    times_s: ArrayLike, delta0_hz: float, amplitude: float
) -> NDArray[np.float64]:
    r"""Return the paper's P(t) for ``lambda << 1``, paper convention (no factor 2 in Eq. 4).

    .. math::
        P(t) = 1 - 2A \sum_{k \ge 0} J_{2k+1}(4 \tilde\Delta_o t)
             = 1 - A \int_0^{4 \tilde\Delta_o t} J_0(x)\, dx

    with ``4 Delta_o t = 2 pi (4 delta0_hz) t``.  The physical correlator
    ``<tau_z(t) tau_z(0)>`` of the same packets is ``1 - 2 (1 - P(t))``.

    Parameters
    ----------
    times_s
        Times, s (any shape).
    delta0_hz
        Tunnelling amplitude ``Delta_o``, Hz.
    amplitude
        The fraction A (:func:`bessel_amplitude`).
    """
    x = 2.0 * math.pi * 4.0 * delta0_hz * np.abs(np.asarray(times_s, dtype=float))
    integral_j0, _ = special.itj0y0(x)
    return 1.0 - amplitude * integral_j0


def chi_pp_eq7(frequency_hz: ArrayLike, delta0_hz: float, amplitude: float) -> NDArray[np.float64]:
    r"""Absorption spectrum of Eq. (7), per hertz, in the paper's convention.

    .. math::
        \chi''(\omega) = \frac{8 \tilde\Delta_o A}{\omega \sqrt{\omega^2 - 16 \tilde\Delta_o^2}}
        \,\theta(\omega - 4 \tilde\Delta_o)

    The formula is homogeneous of degree -1, so evaluated with ``omega -> frequency_hz`` and
    ``Delta_o -> delta0_hz`` it is the spectrum per hertz, normalised so that
    ``1 - P(t) = (1/pi) integral chi''(f) (1 - cos 2 pi f t) df`` with the P(t) of
    :func:`correlator_bessel` (total weight ``integral chi'' df = pi A``).
    """
    f = np.asarray(frequency_hz, dtype=float)
    edge = 4.0 * delta0_hz
    above = f > edge
    root = np.sqrt(np.where(above, f * f - edge * edge, 1.0))
    return np.where(above, 8.0 * delta0_hz * amplitude / (np.where(above, f, 1.0) * root), 0.0)


def chi_pp_eq7_binned(
    edges_hz: ArrayLike, delta0_hz: float, amplitude: float
) -> NDArray[np.float64]:
    r"""Mean of Eq. (7) over frequency bins (what a histogram of packets estimates).

    .. math::
        \int_{f_1}^{f_2} \chi''\, df = 2A \left[\arccos\frac{4\Delta_o}{f_2}
        - \arccos\frac{4\Delta_o}{f_1}\right], \quad f_i \to \max(f_i, 4\Delta_o)

    Parameters
    ----------
    edges_hz
        Increasing bin edges, Hz (``n + 1`` values for ``n`` bins).
    delta0_hz, amplitude
        As in :func:`chi_pp_eq7`.

    Returns
    -------
    numpy.ndarray
        The bin-averaged ``chi''`` per hertz, ``n`` values.
    """
    edges = np.asarray(edges_hz, dtype=float)
    edge = 4.0 * delta0_hz
    clipped = np.maximum(edges, edge)
    cumulative = 2.0 * amplitude * np.arccos(edge / clipped)
    return np.diff(cumulative) / np.diff(edges)


def chi_pp_channels_binned(
    edges_hz: ArrayLike,
    delta0_hz: float,
    kappa: float,
    *,
    omega0_hz: float,
    bias_density: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    y_points: int = 4096,
) -> NDArray[np.float64]:
    r"""Bin-averaged chi'' of Eqs. (4)-(6) with the channel sum (Fig. 1), ``lambda' = 0``.

    Each channel M and orthogonality variable y is a set of biased two-level systems with
    :math:`\Delta_M = 2\Delta_o |J_M(2\sqrt{\kappa y})|`, ``kappa = lambda - lambda'``, whose
    bias density near resonance is :math:`W(M\omega_o/2)` (flat on the scale
    :math:`\Delta_M`).  Like Eq. (7) with :math:`4\Delta_o \to 2\Delta_M` and
    :math:`A \to \pi \Delta_M W / 2`:

    .. math::
        \int_{f_1}^{f_2} \chi''\, df = \sum_M \int_0^\infty dy\, e^{-y}\,
        \pi \Delta_M W(M\omega_o/2) \left[\arccos\frac{2\Delta_M}{f_2}
        - \arccos\frac{2\Delta_M}{f_1}\right]

    (``f_i -> max(f_i, 2 Delta_M)``), in the paper's convention.  The y integral is a
    midpoint rule in ``u = 1 - exp(-y)``; channels run over ``|M| <= 2 kappa +
    12 sqrt(2 kappa + 1) + 12``, beyond which ``<J_M^2>`` is below double precision.

    Parameters
    ----------
    edges_hz
        Increasing bin edges, Hz.
    delta0_hz
        Bare tunnelling amplitude ``Delta_o``, Hz.
    kappa
        ``lambda - lambda'`` (>= 0).
    omega0_hz
        Hyperfine coupling ``omega_o``, Hz (channel M is shifted by ``M omega_o / 2``).
    bias_density
        The bias density ``W(epsilon)``, 1/Hz, as a vectorised function of ``epsilon`` (Hz).
    y_points
        Quadrature points of the y integral.

    Returns
    -------
    numpy.ndarray
        The bin-averaged ``chi''`` per hertz.
    """
    edges = np.asarray(edges_hz, dtype=float)
    top = int(2.0 * kappa + 12.0 * math.sqrt(2.0 * kappa + 1.0) + 12.0) if kappa > 0 else 0
    channels = np.arange(-top, top + 1)
    u = (np.arange(y_points) + 0.5) / y_points
    y = -np.log1p(-u)
    splitting = 2.0 * delta0_hz * np.abs(special.jv(channels[:, None], 2.0 * np.sqrt(kappa * y)))
    density = bias_density(channels * omega0_hz / 2.0)
    cumulative = np.zeros(edges.shape)
    for m_index in range(channels.size):
        a = splitting[m_index][:, None]
        safe = np.where(a > 0, a, 1.0)
        angle = np.where(
            a > 0, np.arccos(np.minimum(2.0 * safe / np.maximum(edges, 1e-300), 1.0)), 0.0
        )
        cumulative += math.pi * density[m_index] * np.mean(a * angle, axis=0)
    return np.diff(cumulative) / np.diff(edges)


def spin_diffusion_threshold_hz(group_width_hz: float, t2_s: float) -> float:
    r"""Smallest ``Delta_o`` that keeps coherence under nuclear spin diffusion, Eq. (8).

    .. math::
        \tilde\Delta_o \gg \left[(\mu\omega_o)^2 T_2^{-1}\right]^{1/3}
        = \left[(\delta\omega_o)^2 T_2^{-1}\right]^{1/3} N^{1/3}

    from ``Delta eps ~ mu omega_o (T_2 Delta_o)^(-1/2) << Delta_o``: the bias wanders over the
    polarisation group of width ``mu omega_o = N^(1/2) delta omega`` at the rate ``T_2^-1``
    (exponent ``+1/3`` as derived in the text; the printed ``-1/3`` is a misprint).  The rate
    ``T_2^-1`` (1/s) enters as the energy ``hbar / T_2``, i.e. the frequency
    ``1 / (2 pi t2_s)`` in hertz, like every rate in this module.

    Parameters
    ----------
    group_width_hz
        Range ``mu omega_o = N^(1/2) delta omega`` over which the bias diffuses, Hz.
    t2_s
        Nuclear spin-diffusion time ``T_2``, s.

    Returns
    -------
    float
        The threshold, Hz: coherence requires ``delta0_hz`` well above it.
    """
    rate_hz = 1.0 / (2.0 * math.pi * t2_s)
    return (group_width_hz**2 * rate_hz) ** (1.0 / 3.0)


def spin_diffusion_threshold_simple_hz(n_spins: float, t2_s: float) -> float:
    r"""Eq. (8) when ``delta omega_o ~ T_2^-1`` (dipolar spreading): ``Delta_o >> T_2^-1 N^(1/3)``.

    .. math:: \tilde\Delta_o \gg T_2^{-1} N^{1/3}

    with ``T_2^-1 -> 1 / (2 pi t2_s)`` Hz.  Ferritin, ``N ~ 5000`` protons and
    ``Delta_o = 1 MHz``: coherence requires ``1 / (2 pi T_2) << 1e6 / 5000^(1/3) = 5.8e4 Hz``,
    the paper's ``T_2^-1 << 1e5 Hz``.

    Returns
    -------
    float
        The threshold, Hz.
    """
    return n_spins ** (1.0 / 3.0) / (2.0 * math.pi * t2_s)


def alpha_bulk(kondo_g: float, spin: float) -> float:
    r"""Ohmic coupling of a conducting grain to its own electrons, Eq. (10).

    .. math:: \alpha_b \sim \left(\frac{g S}{k_F R_o}\right)^2 \sim g^2 S^{4/3}

    Parameters
    ----------
    kondo_g
        Dimensionless Kondo coupling ``g = J N(0)`` (about 0.1 for metals).
    spin
        Giant spin S.
    """
    return kondo_g**2 * spin ** (4.0 / 3.0)


def alpha_surface(surface_g: float, spin: float) -> float:
    r"""Ohmic coupling of the surface spins of a grain to substrate electrons (text below Eq. 10).

    .. math:: \alpha_s \sim g_s^2 S^{2/3}
    """
    return surface_g**2 * spin ** (2.0 / 3.0)


def renormalised_splitting_hz(delta0_hz: float, omega0_big_hz: float, alpha: float) -> float:
    r"""Tunnelling splitting renormalised by an Ohmic bath (text below Eq. 10).

    .. math:: \Delta_r = \Delta_o (\Delta_o / \Omega_o)^{\alpha / (1 - \alpha)}

    Parameters
    ----------
    delta0_hz
        Bare tunnelling amplitude ``Delta_o``, Hz.
    omega0_big_hz
        Bare attempt frequency ``Omega_o`` (the bath cut-off), Hz.
    alpha
        Ohmic coupling; for ``alpha >= 1`` the grain localises and ``Delta_r = 0``.

    Returns
    -------
    float
        ``Delta_r``, Hz.
    """
    if alpha >= 1.0:
        return 0.0
    return delta0_hz * (delta0_hz / omega0_big_hz) ** (alpha / (1.0 - alpha))


def ohmic_damping_rate_per_s(alpha: float, temperature_k: float) -> float:
    r"""Damping rate of the coherent oscillation by an Ohmic bath (text below Eq. 10).

    .. math:: \Gamma_s \sim 2 \pi \alpha k_B T

    The paper's ``Gamma_s`` is an energy (hbar = 1); the rate of ``exp(-Gamma_s t)`` is
    ``Gamma_s / hbar = 2 pi alpha k_B T / hbar = 4 pi^2 alpha (k_B T / h)``, returned in 1/s.
    As an energy written as a frequency, ``Gamma_s / h = 2 pi alpha k_B T / h`` Hz is this rate
    over ``2 pi``: that is the number to set against ``Delta_r`` in hertz.

    Parameters
    ----------
    alpha
        Ohmic coupling (``alpha_s`` or ``alpha_b``).
    temperature_k
        Temperature, K.

    Returns
    -------
    float
        The damping rate, 1/s.
    """
    return 4.0 * math.pi**2 * alpha * temperature_k * HZ_PER_K


@dataclass(frozen=True)
class InsulatingGrainCondition:
    """The two sides of Eq. (11); coherence is almost perfect when ``lhs << rhs``.

    Attributes
    ----------
    lhs
        ``S k_B T / D`` (``k_B T / Delta eps`` with the level spacing ``Delta eps ~ D / S``).
    rhs
        ``1 / ln(2 pi g^2 S^(2/3) D / (S Delta_r))``; infinite when the logarithm is not
        positive (the formula does not apply there).
    scale_hz
        ``2 pi g^2 S^(2/3) D``, Hz: Eq. (11) applies for ``S Delta_r`` below it.
    """

    lhs: float
    rhs: float
    scale_hz: float = math.inf


def insulating_grain_condition(
    spin: float, temperature_k: float, bandwidth_k: float, kondo_g: float, delta_r_hz: float
) -> InsulatingGrainCondition:
    r"""Return both sides of Eq. (11), the insulating-substrate condition for a conducting grain.

    Coherence is almost perfect when

    .. math::
        \frac{k_B T}{\Delta\epsilon} \sim S \frac{k_B T}{D}
        \ll \frac{1}{\ln \frac{2 \pi g^2 S^{2/3} D}{S \Delta_r}}

    Parameters
    ----------
    spin
        Giant spin S.
    temperature_k
        Temperature, K.
    bandwidth_k
        Electronic bandwidth D as a temperature, K (the paper: ``D/S >= 1e4 / S`` K).
    kondo_g
        Exchange coupling g of the surface spins.
    delta_r_hz
        Renormalised splitting ``Delta_r``, Hz.
    """
    lhs = spin * temperature_k / bandwidth_k
    bandwidth_hz = bandwidth_k * HZ_PER_K
    argument = 2.0 * math.pi * kondo_g**2 * spin ** (2.0 / 3.0) * bandwidth_hz
    if delta_r_hz <= 0.0:
        return InsulatingGrainCondition(lhs=lhs, rhs=0.0, scale_hz=argument)
    log = math.log(argument / (spin * delta_r_hz))
    return InsulatingGrainCondition(
        lhs=lhs, rhs=math.inf if log <= 0.0 else 1.0 / log, scale_hz=argument
    )


def phonon_rate_per_s(
    delta0_hz: float,
    omega0_big_hz: float,
    debye_temperature_k: float,
    anisotropy_k: float,
    spin: float,
    temperature_k: float,
) -> float:
    r"""Phonon damping rate of the coherent oscillation, Eq. (12).

    .. math::
        \Gamma_\phi \sim \left(\frac{\Delta_o}{\Omega_o}\right)^2 J(\Delta_o)
        \coth\frac{\Delta_o}{2 k_B T}, \quad
        J(\omega) = C \left(\frac{\omega}{\Theta_D}\right)^3, \quad
        C = \frac{(K S)^2}{\Theta_D}

    evaluated as printed (with ``Delta_o``, not the splitting ``4 Delta_o``), every energy in
    hertz (``Theta_D``, ``K`` and ``k_B T`` through ``k_B / h``), which gives ``Gamma_phi / h``;
    the rate is ``2 pi`` times that.  At ``T = 0`` the ``coth`` is 1.

    Parameters
    ----------
    delta0_hz
        Tunnelling amplitude ``Delta_o``, Hz.
    omega0_big_hz
        Bare attempt frequency ``Omega_o``, Hz.
    debye_temperature_k
        Debye temperature ``Theta_D``, K.
    anisotropy_k
        Typical anisotropy energy K, K.
    spin
        Giant spin S.
    temperature_k
        Temperature, K.

    Returns
    -------
    float
        The damping rate, 1/s.
    """
    debye_hz = debye_temperature_k * HZ_PER_K
    coupling_hz = (anisotropy_k * HZ_PER_K * spin) ** 2 / debye_hz
    spectral_hz = coupling_hz * (delta0_hz / debye_hz) ** 3
    thermal = 1.0
    if temperature_k > 0.0:
        thermal = 1.0 / math.tanh(delta0_hz / (2.0 * temperature_k * HZ_PER_K))
    gamma_hz = (delta0_hz / omega0_big_hz) ** 2 * spectral_hz * thermal
    return 2.0 * math.pi * gamma_hz
