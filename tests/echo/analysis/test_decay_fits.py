"""Decay fits recover known parameters from closed-form data with seeded noise.

Coverage: over N_SEEDS independent noise realisations, the fraction of fits whose value lies
within one reported standard error of the truth must be 0.6827 within three binomial standard
deviations, sqrt(0.6827 * 0.3173 / N_SEEDS) = 0.023 for 400 seeds, i.e. +-0.070; within two
standard errors, 0.9545 +- 0.031. No single fit may be off by more than 5 standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.echo.analysis.decay_fits import fit_cpmg, fit_echo_decay, fit_inversion_recovery
from spin_echo.echo.analysis.extraction import AnalysisError

N_SEEDS = 400
ONE_SIGMA, TWO_SIGMA = 0.6827, 0.9545
MARGIN_1 = 3 * np.sqrt(ONE_SIGMA * (1 - ONE_SIGMA) / N_SEEDS)
MARGIN_2 = 3 * np.sqrt(TWO_SIGMA * (1 - TWO_SIGMA) / N_SEEDS)

TAU = np.linspace(0.1e-6, 8e-6, 30)
RECOVERY = np.linspace(0.0, 5e-3, 25)
TRAIN = 2e-6 * np.arange(1, 41)


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
}


def pulls(fit, truth, clean, noise, *, known):
    z = []
    for seed in range(N_SEEDS):
        rng = np.random.default_rng(seed)
        result = fit(clean + noise * rng.standard_normal(clean.size), noise if known else None)
        z.append((result.values - np.array(truth)) / result.errors)
    return np.abs(np.array(z))


@pytest.mark.parametrize("known", [True, False], ids=["sigma-known", "sigma-estimated"])
@pytest.mark.parametrize(("fit", "clean", "truth", "noise"), CASES.values(), ids=CASES.keys())
def test_coverage_of_standard_errors(fit, clean, truth, noise, known):
    z = pulls(fit, truth, clean, noise, known=known)
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
    assert "T_M = 2e-06" in result.summary()
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
    ],
    ids=["exponential", "stretched", "cpmg", "inversion-recovery"],
)
def test_refuses_nonsense(fit, x, y, message):
    with pytest.raises(AnalysisError, match=message):
        fit(x, y)


def test_refuses_bad_sigma():
    with pytest.raises(AnalysisError, match="positive"):
        fit_echo_decay(TAU, exponential(TAU, 1, 2e-6), sigma=0.0)
