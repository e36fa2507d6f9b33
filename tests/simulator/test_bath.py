"""The spin-bath packet generator against the paper's averages, computed independently."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from spin_echo.simulator.bath import (
    NuclearBath,
    bath_log_density,
    channel_probabilities,
    draw_bath_bias,
    draw_splitting,
)


@pytest.mark.parametrize("kappa", [1e-3, 0.7, 10.0], ids=["ferritin-like", "unit", "tb"])
def test_channel_probabilities_are_the_orthogonality_average(kappa):
    m, p = channel_probabilities(kappa)
    assert p.sum() == pytest.approx(1.0, abs=1e-13)
    for channel in (0, 1, 3):
        exact, _ = integrate.quad(
            lambda y, c=channel: np.exp(-y) * special.jv(c, 2 * np.sqrt(kappa * y)) ** 2,
            0,
            np.inf,
            epsabs=1e-14,
            limit=400,
        )
        got = p[m == channel][0] if channel in m else 0.0
        assert got == pytest.approx(exact, rel=1e-8, abs=1e-14)


@pytest.mark.parametrize(
    ("n_spins", "delta_omega"), [(12, 2e6), (12, 40e6), (200, 5e6)], ids=["mu<1", "mu>1", "many"]
)
def test_bias_density_is_the_polarisation_group_mixture(n_spins, delta_omega):
    bath = NuclearBath(n_spins, 20e6, delta_omega)
    s = np.sqrt(n_spins) * delta_omega
    x = np.linspace(-2.5 * np.sqrt(n_spins) * 20e6 - 3 * s, 0.3e9, 301)
    k = np.arange(n_spins + 1)
    direct = (
        stats.binom.pmf(k, n_spins, 0.5)[None, :]
        * stats.norm.pdf(x[:, None], loc=20e6 * (2 * k - n_spins)[None, :], scale=s)
    ).sum(axis=1)
    got = np.exp(bath_log_density(bath, x))
    np.testing.assert_allclose(got, direct, rtol=1e-10, atol=1e-12 * direct.max())
    reach = n_spins * 20e6 + 12 * s
    grid = np.linspace(-reach, reach, int(2 * reach / (s / 20)) + 1)
    total = np.trapezoid(np.exp(bath_log_density(bath, grid)), grid)
    assert total == pytest.approx(1.0, rel=1e-9)


def _direct_log_density(bath, x):
    """ln W by scipy's binomial and normal densities over every group k = 0..N (reference)."""
    k = np.arange(bath.n_spins + 1)
    logs = stats.binom.logpmf(k, bath.n_spins, 0.5)[None, :] + stats.norm.logpdf(
        x[:, None], loc=bath.omega0_hz * (2 * k - bath.n_spins)[None, :], scale=bath.group_width_hz
    )
    return special.logsumexp(logs, axis=1)


@pytest.mark.parametrize(
    ("n_spins", "omega0_hz"), [(100, 1e-6), (3000, 1.0)], ids=["omega0-1uHz", "groups-overlap"]
)
def test_densely_overlapping_groups_are_summed_exactly_in_bounded_chunks(n_spins, omega0_hz):
    # every group within 9 s of every x (omega0 1 uHz asked for 9e13 terms per x before),
    # fewer than MAX_GROUP_TERMS in the binomial's window: the exact sum, chunk by chunk
    bath = NuclearBath(n_spins, omega0_hz, 1e6 / np.sqrt(n_spins))
    x = np.linspace(-5e6, 5e6, 3001)
    np.testing.assert_allclose(
        bath_log_density(bath, x), _direct_log_density(bath, x), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("n_spins", [20_000, 100_000])
def test_many_overlapping_groups_take_the_gaussian_limit(n_spins):
    # s = 460 omega0 and 40 sqrt(N) > MAX_GROUP_TERMS groups: the Gaussian of variance
    # s^2 + N omega0^2; measured against the full binomial sum: <= 2.6e-6 in ln W within
    # 3 standard deviations, <= 7.4e-5 at 6
    omega0 = 1e3
    s = 460 * omega0
    bath = NuclearBath(n_spins, omega0, s / np.sqrt(n_spins))
    sd = np.hypot(s, np.sqrt(n_spins) * omega0)
    x = np.linspace(-6 * sd, 6 * sd, 61)
    error = np.abs(bath_log_density(bath, x) - _direct_log_density(bath, x))
    assert error[np.abs(x) <= 3 * sd].max() < 3e-6
    assert error.max() < 2e-4


def test_a_bath_of_1e12_spins_costs_no_more_than_its_draws():
    import tracemalloc

    bath = NuclearBath(10**12, 1e-6, 1e6)  # asked for 655 TiB before
    x = np.linspace(-1e7, 1e7, 100_000)
    tracemalloc.start()
    values = bath_log_density(bath, x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    variance = 1e6**2 * 1e12 + 1e12 * 1e-12
    np.testing.assert_allclose(values, stats.norm.logpdf(x, scale=np.sqrt(variance)), rtol=1e-14)
    assert peak < 10 * x.nbytes


def test_drawn_biases_have_the_envelope_moments():
    bath = NuclearBath(100, 50e6, 1e6)
    rng = np.random.default_rng(0)
    eps = draw_bath_bias(rng, bath, 200_000)
    variance = 100 * 50e6**2 + (10 * 1e6) ** 2
    assert abs(eps.mean()) < 5 * np.sqrt(variance / len(eps))
    assert eps.var() == pytest.approx(variance, rel=5 * np.sqrt(2 / len(eps)))
    # Separate groups (mu = 0.2): the weight near omega0 * DeltaN for DeltaN = 0 is C(100,50)/2^100.
    near_zero = np.mean(np.abs(eps) < 5 * 10e6)
    expected = stats.binom.pmf(50, 100, 0.5)
    assert near_zero == pytest.approx(expected, abs=5 * np.sqrt(expected / len(eps)))


@pytest.mark.parametrize(
    ("lam", "lam_prime"),
    [(0.5, 0.0), (10.0, 0.2), (2.0, 2.0)],
    ids=["no-winding", "winding", "lambda-equal"],
)
def test_channel_sum_conserves_the_tunnelling_weight(lam, lam_prime):
    # sum_M J_M^2 = 1 (Neumann) and <cos^2 phi> = (1 + exp(-4 lambda')) / 2 for integer S:
    # the channel-weighted mean of delta^2 is Delta0^2 (1 + exp(-4 lambda')) / 2.
    bath = NuclearBath(100, 50e6, 1e6, lam, lam_prime)
    rng = np.random.default_rng(1)
    n = 200_000
    delta0 = np.full(n, 1e6)
    delta, channel, log_p = draw_splitting(rng, delta0, bath, spin=4000)
    values = np.exp(-log_p) * delta**2
    expected = 1e12 * (1 + np.exp(-4 * lam_prime)) / 2
    assert values.mean() == pytest.approx(expected, abs=5 * values.std() / np.sqrt(n))
    if lam == lam_prime:
        assert np.all(channel == 0)


def test_half_integer_spin_blocks_tunnelling_without_winding():
    bath = NuclearBath(100, 50e6, 1e6, 0.3, 0.0)
    delta, _, _ = draw_splitting(np.random.default_rng(2), np.full(100, 1e6), bath, spin=4000.5)
    assert np.all(delta < 1e-9)
