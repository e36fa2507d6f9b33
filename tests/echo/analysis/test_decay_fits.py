"""Decay fits recover known parameters from closed-form data with seeded noise.

Coverage: over N_SEEDS independent noise realisations, the fraction of fits whose value lies
within one reported standard error of the truth must be 0.6827 within three binomial standard
deviations, sqrt(0.6827 * 0.3173 / N_SEEDS) = 0.023 for 400 seeds, i.e. +-0.070; within two
standard errors, 0.9545 +- 0.031. No single fit may be off by more than 5 standard errors.

Fit health (spin_echo.echo.analysis.health): on these coverage sets, healthy by construction, the
self-checks raise at most MAX_FALSE_ALARMS of the 400 fits of a set (measured: none of 3200).
"""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.echo.analysis.decay_fits import (
    fit_cpmg,
    fit_echo_decay,
    fit_inversion_recovery,
    fit_stimulated_decay,
)
from spin_echo.echo.analysis.extraction import AnalysisError

N_SEEDS = 400
ONE_SIGMA, TWO_SIGMA = 0.6827, 0.9545
MARGIN_1 = 3 * np.sqrt(ONE_SIGMA * (1 - ONE_SIGMA) / N_SEEDS)
MARGIN_2 = 3 * np.sqrt(TWO_SIGMA * (1 - TWO_SIGMA) / N_SEEDS)
MAX_FALSE_ALARMS = 2

TAU = np.linspace(0.1e-6, 8e-6, 30)
RECOVERY = np.linspace(0.0, 5e-3, 25)
TRAIN = 2e-6 * np.arange(1, 41)
MIXING = np.geomspace(10e-6, 500e-6, 20)


def exponential(tau, a, t_m):
    return a * np.exp(-2 * tau / t_m)


def stretched(tau, a, t_m, x):
    return a * np.exp(-((2 * tau / t_m) ** x))


def recovery(t, m0, b, t1):
    return m0 * (1 - 2 * b * np.exp(-t / t1))


CASES = {
    "exponential": (
        lambda y, s: fit_echo_decay(TAU, y, sigma=s),
        exponential(TAU, 0.9, 3e-6),
        (0.9, 3e-6),
        0.02,
    ),
    "stretched": (
        lambda y, s: fit_echo_decay(TAU, y, stretched=True, sigma=s),
        stretched(TAU, 1.0, 4e-6, 1.6),
        (1.0, 4e-6, 1.6),
        0.02,
    ),
    "cpmg": (
        lambda y, s: fit_cpmg(TRAIN, y, sigma=s),
        0.7 * np.exp(-TRAIN / 25e-6),
        (0.7, 25e-6),
        0.01,
    ),
    "inversion-recovery": (
        lambda y, s: fit_inversion_recovery(RECOVERY, y, sigma=s),
        recovery(RECOVERY, 0.9, 0.95, 1e-3),
        (0.9, 0.95, 1e-3),
        0.02,
    ),
    "stimulated": (
        lambda y, s: fit_stimulated_decay(MIXING, y, sigma=s),
        0.4 * np.exp(-MIXING / 80e-6),
        (0.4, 80e-6),
        0.01,
    ),
}


def pulls(fit, truth, clean, noise, *, known):
    z, alarms = [], []
    for seed in range(N_SEEDS):
        rng = np.random.default_rng(seed)
        result = fit(clean + noise * rng.standard_normal(clean.size), noise if known else None)
        z.append((result.values - np.array(truth)) / result.errors)
        if not result.reliable:
            alarms.append((seed, result.health.reasons))
    return np.abs(np.array(z)), alarms


@pytest.mark.parametrize("known", [True, False], ids=["sigma-known", "sigma-estimated"])
@pytest.mark.parametrize(("fit", "clean", "truth", "noise"), CASES.values(), ids=CASES.keys())
def test_coverage_of_standard_errors(fit, clean, truth, noise, known):
    z, alarms = pulls(fit, truth, clean, noise, known=known)
    assert len(alarms) <= MAX_FALSE_ALARMS, alarms
    within_1 = np.mean(z < 1, axis=0)
    within_2 = np.mean(z < 2, axis=0)
    assert np.all(np.abs(within_1 - ONE_SIGMA) < MARGIN_1), within_1
    assert np.all(np.abs(within_2 - TWO_SIGMA) < MARGIN_2), within_2
    assert z.max() < 5


@pytest.mark.parametrize(("fit", "clean", "truth", "noise"), CASES.values(), ids=CASES.keys())
def test_noise_free_data_is_fitted_exactly(fit, clean, truth, noise):
    result = fit(clean, noise)
    np.testing.assert_allclose(result.values, truth, rtol=1e-7)
    assert result.chi2_reduced < 1e-10


def test_stretched_reduces_to_exponential():
    result = fit_echo_decay(TAU, exponential(TAU, 0.5, 2e-6), stretched=True, sigma=0.01)
    np.testing.assert_allclose(result.values, [0.5, 2e-6, 1.0], rtol=1e-7)
    assert result.names == ("A", "T_M", "x")
    assert result.units == ("", "s", "")


def test_negative_echo_decays_too():
    result = fit_echo_decay(TAU, -exponential(TAU, 0.5, 2e-6), sigma=0.01)
    np.testing.assert_allclose(result.values, [-0.5, 2e-6], rtol=1e-7)


def test_summary_and_accessors():
    result = fit_echo_decay(TAU, exponential(TAU, 0.5, 2e-6), sigma=0.01)
    assert result.value("T_M") == pytest.approx(2e-6, rel=1e-7)
    assert result.error("T_M") == pytest.approx(result.errors[1])
    assert "T_M = 2.000 ± 0.058 µs" in result.summary()
    assert result.as_dict()["parameters"]["T_M"]["units"] == "s"
    np.testing.assert_allclose(result.predict(TAU), exponential(TAU, 0.5, 2e-6), rtol=1e-7)
    with pytest.raises(AnalysisError, match="unknown fit parameter"):
        result.value("T1")


NONSENSE = {
    "all-zero": (TAU, np.zeros_like(TAU), "zero everywhere"),
    "nan": (TAU, np.where(TAU > 1e-6, exponential(TAU, 1, 2e-6), np.nan), "NaN"),
    "inf": (TAU, np.where(TAU > 1e-6, exponential(TAU, 1, 2e-6), np.inf), "NaN or infinite"),
    "too-few": (TAU[:3], exponential(TAU[:3], 1, 2e-6), "needs at least"),
    "same-time": (np.full(10, 1e-6), np.linspace(1, 0.5, 10), "distinct"),
    "negative-time": (TAU - 1e-6, exponential(TAU, 1, 2e-6), "non-negative"),
    "shape": (TAU, exponential(TAU, 1, 2e-6)[:-1], "one length"),
}


@pytest.mark.parametrize(("x", "y", "message"), NONSENSE.values(), ids=NONSENSE.keys())
@pytest.mark.parametrize(
    "fit",
    [
        fit_echo_decay,
        lambda x, y: fit_echo_decay(x, y, stretched=True),
        fit_cpmg,
        fit_inversion_recovery,
        fit_stimulated_decay,
    ],
    ids=["exponential", "stretched", "cpmg", "inversion-recovery", "stimulated"],
)
def test_refuses_nonsense(fit, x, y, message):
    with pytest.raises(AnalysisError, match=message):
        fit(x, y)


def test_refuses_bad_sigma():
    with pytest.raises(AnalysisError, match="positive"):
        fit_echo_decay(TAU, exponential(TAU, 1, 2e-6), sigma=0.0)


def test_cpmg_alternation_is_modelled():
    """Even echoes (1 + a) and odd ones (1 - a) around one decay: a and T_2 come back."""
    index = np.tile(np.arange(1, 5), 10)
    times = TRAIN * (index / 4 + 0.1)
    clean = 0.7 * np.exp(-times / 25e-6) * (1 + 0.12 * np.where(index % 2 == 0, 1, -1))
    noisy = clean + 0.005 * np.random.default_rng(2).standard_normal(clean.size)
    result = fit_cpmg(times, noisy, echo_index=index, sigma=0.005)
    assert result.names == ("A", "T_2", "a")
    for name, truth in (("A", 0.7), ("T_2", 25e-6), ("a", 0.12)):
        assert abs(result.value(name) - truth) < 4 * result.error(name)
    assert result.reliable, result.health.reasons
    plain = fit_cpmg(times, noisy, sigma=0.005)
    assert not plain.reliable and "reduced chi-square" in plain.health.line()
    np.testing.assert_allclose(result.predict(times[:4]), clean[:4], rtol=0.02)
    assert result.predict(np.array([times[0] * 1.01]))[0] == pytest.approx(
        0.7 * np.exp(-times[0] * 1.01 / 25e-6), rel=0.05
    )


def test_inversion_efficiency_stays_physical():
    """|E(0)| > M_0 would need b > 1: the fit stops at b = 1 and says so."""
    result = fit_inversion_recovery(RECOVERY, recovery(RECOVERY, 0.9, 1.25, 1e-3), sigma=0.02)
    assert result.value("b") <= 1.0
    assert "b = 1 at its upper bound" in result.health.line()
