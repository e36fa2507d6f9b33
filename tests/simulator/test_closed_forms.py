"""Closed forms of Prokof'ev & Stamp against values worked out by hand at the paper's numbers.

Ferritin (the paper's example): N ~ 100 spin-1/2 57Fe nuclei, omega_o ~ 50 MHz,
Omega_o ~ 4e10 Hz, Delta_o ~ 1 MHz; k_B / h = 2.0836619e10 Hz/K.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from spin_echo.simulator.budget import closed_forms as d

K_B_OVER_H = 2.0836619123e10  # Hz per kelvin (CODATA k_B / h)


def test_mu_ferritin() -> None:
    # mu = N^(1/2) delta_omega / omega_o = 10 * 1e6 / 5e7 = 0.2
    assert d.nuclear_mu(100, 1e6, 5e7) == pytest.approx(0.2, rel=1e-12)


def test_fraction_mu_large_is_papers_ferritin_value() -> None:
    # A ~ Delta_o / (N^(1/2) omega_o) = 1e6 / (10 * 5e7) = 2e-3  (the paper's "A ~ 2e-3")
    assert d.fraction_unblocked_mu_large(1e6, 100, 5e7) == pytest.approx(2e-3, rel=1e-12)


def test_fraction_mu_small() -> None:
    # mu = 10 * 1e5 / 5e7 = 0.02 << 1: A ~ Delta_o / (N delta_omega) = 1e6 / (100 * 1e5) = 0.1
    assert d.fraction_unblocked_mu_small(1e6, 100, 1e5) == pytest.approx(0.1, rel=1e-12)


def test_bessel_amplitude_ferritin() -> None:
    # A = pi * 1e6 / (5e7 * sqrt(2 pi 100)) = sqrt(pi / 200) / 50 = 0.1253314 / 50 = 2.506628e-3
    assert d.bessel_amplitude(1e6, 100, 5e7) == pytest.approx(2.506628e-3, rel=1e-6)


def test_lambda_from_printed_couplings_and_papers_value() -> None:
    # lambda = pi^2 N omega_o^2 / (4 Omega_o^2) = 9.8696 * 100 * (1.25e-3)^2 / 4
    #        = 9.8696 * 100 * 1.5625e-6 / 4 = 3.8553e-4
    lam = d.lambda_from_couplings(100, 5e7, 4e10)
    assert lam == pytest.approx(3.8553e-4, rel=1e-4)
    # the paper's "lambda ~ 4e-5" is the same without pi^2: 100 * 1.5625e-6 / 4 = 3.906e-5
    assert lam / math.pi**2 == pytest.approx(3.90625e-5, rel=1e-12)


def test_bessel_correlator_small_time_by_hand() -> None:
    # x = 4 Delta_o t with Delta_o = 2 pi * 1 MHz, t = 1 ns: x = 2 pi * 4e6 * 1e-9 = 0.02513274
    # integral_0^x J0 = x - x^3/12 + x^5/320 = 0.02513142
    # P = 1 - A * 0.02513142 with A = 2.506628e-3: 1 - P = 6.29952e-5
    p = d.correlator_bessel(1e-9, 1e6, 2.506628e-3)
    assert 1.0 - p == pytest.approx(2.506628e-3 * 0.02513142, rel=1e-6)


@pytest.mark.parametrize("x", [0.5, 3.0, 17.0, 60.0], ids=["x0.5", "x3", "x17", "x60"])
def test_bessel_correlator_against_odd_bessel_sum(x: float) -> None:
    # P(t) = 1 - 2A sum_k J_{2k+1}(x), x = 2 pi * 4 Delta_o t: the printed series, summed directly
    delta0_hz, amplitude = 1e6, 2.5e-3
    t = x / (2.0 * math.pi * 4.0 * delta0_hz)
    series = 2.0 * sum(special.jv(2 * k + 1, x) for k in range(200))
    assert d.correlator_bessel(t, delta0_hz, amplitude) == pytest.approx(
        1.0 - amplitude * series, rel=1e-12, abs=1e-13
    )


def test_bessel_correlator_long_time_limit() -> None:
    # integral_0^inf J0 = 1, so P -> 1 - A; the remainder falls as sqrt(2 / (pi x)) ~ 5e-3 here
    p = d.correlator_bessel(1e-3, 1e6, 2.5e-3)
    assert p == pytest.approx(1.0 - 2.5e-3, abs=2.5e-3 * 6e-3)


def test_eq7_value_and_edge() -> None:
    # f = 5 MHz, Delta_o = 1 MHz, A = 2.5e-3:
    # 8 * 1e6 * 2.5e-3 / (5e6 * sqrt(25e12 - 16e12)) = 2e4 / (5e6 * 3e6) = 1.333333e-9 per Hz
    chi = d.chi_pp_eq7(np.array([3.9e6, 4.0e6, 5e6]), 1e6, 2.5e-3)
    assert chi[0] == 0.0 and chi[1] == 0.0
    assert chi[2] == pytest.approx(1.3333333e-9, rel=1e-7)


def test_eq7_binned_by_hand() -> None:
    # bin [4 MHz, 5 MHz]: 2A arccos(4/5) / 1 MHz = 2 * 2.5e-3 * 0.6435011 / 1e6 = 3.2175055e-9
    # bin [0, 4 MHz] (below the edge): 0;  total weight over [4 MHz, inf) = 2A * pi/2 = pi A
    binned = d.chi_pp_eq7_binned([0.0, 4e6, 5e6], 1e6, 2.5e-3)
    assert binned[0] == 0.0
    assert binned[1] == pytest.approx(3.2175055e-9, rel=1e-7)
    total = d.chi_pp_eq7_binned([4e6, 1e18], 1e6, 2.5e-3)[0] * (1e18 - 4e6)
    assert total == pytest.approx(math.pi * 2.5e-3, rel=1e-9)


@pytest.mark.parametrize("t_s", [5e-8, 3e-7, 2e-6], ids=["50ns", "300ns", "2us"])
def test_eq7_is_the_spectrum_of_the_bessel_series(t_s: float) -> None:
    # 1 - P(t) = (1/pi) int chi''(f) (1 - cos 2 pi f t) df; with f = 4 Delta_o v,
    # chi'' df = 2A dv / (v sqrt(v^2 - 1)), whose integral over v > 1 is 2A * pi/2 = pi A, so
    # 1 - P(t) = A - (2A/pi) int_1^inf cos(w v) / (v sqrt(v^2 - 1)) dv,  w = 2 pi 4 Delta_o t.
    # [1, 2] with v = 1 + s^2 (smooth), [2, inf) as a Fourier integral (QUADPACK QAWF)
    delta0_hz, amplitude = 1e6, 2.5e-3
    w = 2.0 * math.pi * 4.0 * delta0_hz * t_s

    def near(s: float) -> float:
        return 2.0 * math.cos(w * (1.0 + s * s)) / ((1.0 + s * s) * math.sqrt(2.0 + s * s))

    head, _ = integrate.quad(near, 0.0, 1.0, limit=500, epsabs=1e-13)
    tail, _ = integrate.quad(
        lambda v: 1.0 / (v * math.sqrt(v * v - 1.0)), 2.0, np.inf, weight="cos", wvar=w
    )
    expected = amplitude - 2.0 * amplitude / math.pi * (head + tail)
    p = d.correlator_bessel(t_s, delta0_hz, amplitude)
    assert 1.0 - p == pytest.approx(expected, rel=1e-7)


def test_spin_diffusion_ferritin_protons() -> None:
    # N = 5000 protons, 1 / (2 pi T2) = 1e5 Hz: T2^-1 N^(1/3) = 1e5 * 17.09976 = 1.709976e6 Hz,
    # above Delta_o = 1 MHz: coherence needs T2^-1 << Delta_o / N^(1/3) = 5.85e4 Hz ~ 1e5 Hz
    t2_s = 1.0 / (2.0 * math.pi * 1e5)
    assert d.spin_diffusion_threshold_simple_hz(5000, t2_s) == pytest.approx(1.709976e6, rel=1e-6)
    # full form with delta_omega = T2^-1 = 1e5 Hz, width = 5000^(1/2) * 1e5 = 7.071068e6 Hz:
    # (5e13 * 1e5)^(1/3) = (5e18)^(1/3) = 1.709976e6 Hz, the same
    width = math.sqrt(5000) * 1e5
    assert d.spin_diffusion_threshold_hz(width, t2_s) == pytest.approx(1.709976e6, rel=1e-6)


def test_spin_diffusion_full_form_by_hand() -> None:
    # N = 100, delta_omega = 1 MHz (width mu omega_o = 10 * 1e6 = 1e7 Hz), 1/(2 pi T2) = 1e3 Hz:
    # (1e12 * 1e3)^(1/3) * 100^(1/3) = 1e5 * 4.641589 = 4.641589e5 Hz
    t2_s = 1.0 / (2.0 * math.pi * 1e3)
    assert d.spin_diffusion_threshold_hz(1e7, t2_s) == pytest.approx(4.641589e5, rel=1e-6)


def test_ohmic_couplings_by_hand() -> None:
    # S = 1000: S^(4/3) = 1e4, S^(2/3) = 100; g = 0.1 (metals):
    # alpha_b = 0.01 * 1e4 = 100 >> 1 (coherence destroyed); alpha_s = 0.01 * 100 = 1
    assert d.alpha_bulk(0.1, 1000) == pytest.approx(100.0, rel=1e-12)
    assert d.alpha_surface(0.1, 1000) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    ("alpha", "expected_hz"),
    [
        (0.0, 1e6),  # exponent 0: Delta_r = Delta_o
        (0.2, 7.071068e4),  # exponent 1/4: 1e6 * (2.5e-5)^(1/4) = 1e6 * 0.07071068
        (0.5, 25.0),  # exponent 1: 1e6 * 2.5e-5 = 25 Hz
        (1.0, 0.0),  # localised
    ],
    ids=["alpha0", "alpha0.2", "alpha0.5", "alpha1"],
)
def test_renormalised_splitting(alpha: float, expected_hz: float) -> None:
    # Delta_o = 1 MHz, Omega_o = 4e10 Hz: Delta_o / Omega_o = 2.5e-5
    assert d.renormalised_splitting_hz(1e6, 4e10, alpha) == pytest.approx(expected_hz, rel=1e-6)


def test_ohmic_damping_rate_by_hand() -> None:
    # alpha = 0.01, T = 20 mK: k_B T / h = 0.02 * 2.0836619e10 = 4.167324e8 Hz
    # Gamma_s / h = 2 pi * 0.01 * 4.167324e8 = 2.618407e7 Hz; rate = 2 pi * that = 1.645194e8 /s
    assert d.ohmic_damping_rate_per_s(0.01, 0.02) == pytest.approx(1.645194e8, rel=1e-6)


def test_phonon_rate_ferritin_by_hand() -> None:
    # Delta_o = 1 MHz, Omega_o = 4e10 Hz, Theta_D = 300 K, K = 1 K, S = 4000, T = 20 mK
    # Theta_D = 300 * 2.0836619e10 = 6.250986e12 Hz;  K S = 8.334648e13 Hz
    # C = (K S)^2 / Theta_D = 6.946638e27 / 6.250986e12 = 1.111286e15 Hz
    # J(Delta_o) = C (1e6 / 6.250986e12)^3 = 1.111286e15 * 4.094084e-21 = 4.549676e-6 Hz
    # coth(1e6 / (2 * 4.167324e8)) = coth(1.199810e-3) = 833.4652
    # Gamma / h = (2.5e-5)^2 * 4.549676e-6 * 833.4652 = 2.369998e-12 Hz
    # rate = 2 pi * 2.369998e-12 = 1.489113e-11 /s
    rate = d.phonon_rate_per_s(1e6, 4e10, 300.0, 1.0, 4000, 0.02)
    assert rate == pytest.approx(1.489113e-11, rel=1e-5)
    # "inverse minutes or hours": far below 1 / hour
    assert rate < 1.0 / 3600.0


def test_phonon_rate_zero_temperature() -> None:
    # coth -> 1 at T = 0: rate(20 mK) / rate(0) = 833.4652 (the coth above)
    ratio = d.phonon_rate_per_s(1e6, 4e10, 300.0, 1.0, 4000, 0.02) / d.phonon_rate_per_s(
        1e6, 4e10, 300.0, 1.0, 4000, 0.0
    )
    assert ratio == pytest.approx(833.4652, rel=1e-6)


def test_insulating_grain_condition_by_hand() -> None:
    # S = 1e5, T = 1 mK, D = 1e4 K, g = 0.1, Delta_r = 1 MHz:
    # lhs = 1e5 * 1e-3 / 1e4 = 0.01
    # argument = 2 pi * 0.01 * (1e5)^(2/3) * (1e4 * 2.0836619e10) / (1e5 * 1e6)
    #          = 0.06283185 * 2154.435 * 2.0836619e14 / 1e11 = 2.820593e5
    # rhs = 1 / ln(2.820593e5) = 1 / 12.549873 = 0.0796821
    cond = d.insulating_grain_condition(1e5, 1e-3, 1e4, 0.1, 1e6)
    assert cond.lhs == pytest.approx(0.01, rel=1e-12)
    assert cond.rhs == pytest.approx(0.0796821, rel=1e-5)


def test_insulating_grain_condition_limits() -> None:
    # Delta_r = 0 (localised): no coherence to keep, rhs = 0;
    # a tiny bandwidth makes the logarithm negative: no electronic constraint, rhs = inf
    assert d.insulating_grain_condition(1e3, 0.01, 1e4, 0.1, 0.0).rhs == 0.0
    assert d.insulating_grain_condition(1e3, 0.01, 1e-9, 0.1, 1e6).rhs == math.inf


def test_rate_conversion_matches_hz_per_k() -> None:
    # the module converts temperatures with the project's k_B / h
    assert d.ohmic_damping_rate_per_s(1.0 / (4 * math.pi**2), 1.0) == pytest.approx(
        K_B_OVER_H, rel=1e-9
    )


def _gaussian_density(width_hz: float):
    def density(x):
        return np.exp(-0.5 * (np.asarray(x) / width_hz) ** 2) / (math.sqrt(2 * math.pi) * width_hz)

    return density


def test_channel_sum_without_coflips_is_eq7() -> None:
    # kappa = 0: only M = 0 with Delta_M = 2 Delta_o; A = pi Delta_o W(0)
    # W(0) = 1 / (sqrt(2 pi) 5e8) = 7.978846e-10 /Hz, A = pi 1e6 * 7.978846e-10 = 2.506628e-3
    edges = np.linspace(0.0, 2e7, 81)
    chi = d.chi_pp_channels_binned(
        edges, 1e6, 0.0, omega0_hz=5e7, bias_density=_gaussian_density(5e8), y_points=16
    )
    expected = d.chi_pp_eq7_binned(edges, 1e6, 2.506628e-3)
    np.testing.assert_allclose(chi, expected, rtol=1e-6, atol=0.0)


def test_channel_sum_first_coflip_weight_by_hand() -> None:
    # kappa = 1e-8: |J_1(2 sqrt(kappa y))| = sqrt(kappa y), <sqrt(y)> = Gamma(3/2) = sqrt(pi)/2.
    # Each channel's total weight is pi Delta_M W (pi/2); M = +-1 together, W(+-omega_o/2) for a
    # Gaussian of width 5e8 and omega_o/2 = 2.5e7: W = 7.978846e-10 * exp(-0.00125) = 7.968879e-10
    #   2 * (pi^2/2) * 2e6 * 1e-4 * 0.8862269 * 7.968879e-10 = 1.394029e-6
    # below 3.9 MHz (their 1/f^2 tail above it holds ~ (2/pi) 2 Delta_M / 3.9 MHz ~ 1e-4 of it);
    # M = 0 (edge at 4 Delta_o J_0 ~ 4 MHz) carries pi A = pi * 2.506628e-3 = 7.874805e-3
    edges = np.array([0.0, 3.9e6, 1e18])
    chi = d.chi_pp_channels_binned(
        edges, 1e6, 1e-8, omega0_hz=5e7, bias_density=_gaussian_density(5e8), y_points=20_000
    )
    weights = chi * np.diff(edges)
    assert weights[0] == pytest.approx(1.394029e-6, rel=1e-3)
    assert weights[1] == pytest.approx(7.874805e-3, rel=1e-6)
