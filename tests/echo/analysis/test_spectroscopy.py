"""Nutation and hole fits recover closed-form parameters within their reported errors.

Coverage criterion as in test_decay_fits: over 400 seeds the fraction within one standard
error is 0.6827 +- 0.070 (three binomial standard deviations), within two 0.9545 +- 0.031.
The fits' self-checks (health) raise at most 2 of the 400 fits of each set (measured: none).
"""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.echo.analysis.extraction import AnalysisError
from spin_echo.echo.analysis.spectroscopy import fit_hole, fit_nutation, hole_profile

N_SEEDS = 400
ONE_SIGMA, TWO_SIGMA = 0.6827, 0.9545
MARGIN_1 = 3 * np.sqrt(ONE_SIGMA * (1 - ONE_SIGMA) / N_SEEDS)
MARGIN_2 = 3 * np.sqrt(TWO_SIGMA * (1 - TWO_SIGMA) / N_SEEDS)

PULSE = np.linspace(0.0, 1e-6, 60)
OFFSET = np.linspace(-5e6, 5e6, 81)


def nutation(x, a, f, phi, tau_d, c):
    return a * np.sin(2 * np.pi * f * x + phi) * np.exp(-x / tau_d) + c


def lorentzian_hole(f, b0, b1, d, f0, w):
    return (b0 + b1 * (f - f0)) * (1 - d / (1 + ((f - f0) / (w / 2)) ** 2))


def gaussian_hole(f, b0, b1, d, f0, w):
    sigma = w / (2 * np.sqrt(2 * np.log(2)))
    return (b0 + b1 * (f - f0)) * (1 - d * np.exp(-((f - f0) ** 2) / (2 * sigma**2)))


NUTATION = (0.8, 3.1e6, 0.3, 1e-6, 0.05)
LORENTZ = (1.0, 1e-8, 0.6, 0.3e6, 1e6)
GAUSS = (0.8, -5e-9, 0.4, -1.2e6, 1.5e6)

CASES = {
    "nutation": (
        lambda y, s: fit_nutation(PULSE, y, sigma=s),
        nutation(PULSE, *NUTATION),
        NUTATION,
    ),
    "lorentzian-hole": (
        lambda y, s: fit_hole(OFFSET, y, sigma=s),
        lorentzian_hole(OFFSET, *LORENTZ),
        LORENTZ,
    ),
    "gaussian-hole": (
        lambda y, s: fit_hole(OFFSET, y, shape="gaussian", sigma=s),
        gaussian_hole(OFFSET, *GAUSS),
        GAUSS,
    ),
}


@pytest.mark.parametrize(("fit", "clean", "truth"), CASES.values(), ids=CASES.keys())
def test_coverage_of_standard_errors(fit, clean, truth):
    noise = 0.02
    z, alarms = [], []
    for seed in range(N_SEEDS):
        rng = np.random.default_rng(seed)
        result = fit(clean + noise * rng.standard_normal(clean.size), noise)
        z.append((result.values - np.array(truth)) / result.errors)
        if not result.reliable:
            alarms.append((seed, result.health.reasons))
    assert len(alarms) <= 2, alarms
    z = np.abs(np.array(z))
    within_1 = np.mean(z < 1, axis=0)
    within_2 = np.mean(z < 2, axis=0)
    assert np.all(np.abs(within_1 - ONE_SIGMA) < MARGIN_1), within_1
    assert np.all(np.abs(within_2 - TWO_SIGMA) < MARGIN_2), within_2
    assert z.max() < 5


@pytest.mark.parametrize(("fit", "clean", "truth"), CASES.values(), ids=CASES.keys())
def test_noise_free_data_is_fitted_exactly(fit, clean, truth):
    result = fit(clean, 0.01)
    np.testing.assert_allclose(result.values, truth, rtol=1e-6)


@pytest.mark.parametrize("frequency_hz", [0.9e6, 2.2e6, 7.5e6, 20e6], ids=lambda f: f"{f:.2g}Hz")
def test_nutation_starts_on_the_right_fringe(frequency_hz):
    clean = nutation(PULSE, 1.0, frequency_hz, 0.0, 0.6e-6, 0.0)
    result = fit_nutation(PULSE, clean + 0.02 * np.random.default_rng(3).standard_normal(60))
    assert abs(result.value("f") - frequency_hz) < 5 * result.error("f")
    assert result.units[1] == "Hz"


def test_nutation_versus_amplitude_units():
    amplitude = np.linspace(0.0, 1.0, 40)
    result = fit_nutation(amplitude, np.sin(2 * np.pi * 1.5 * amplitude), units="")
    assert result.value("f") == pytest.approx(1.5, rel=1e-6)
    assert result.units[1] == ""


def test_hole_profile_half_maximum_at_half_width():
    u = np.array([0.0, 0.5, -0.5])
    for shape in ("lorentzian", "gaussian"):
        np.testing.assert_allclose(hole_profile(u, shape), [1.0, 0.5, 0.5], rtol=1e-12)


NONSENSE = {
    "all-zero": (OFFSET, np.zeros_like(OFFSET), "zero everywhere"),
    "nan": (OFFSET, np.where(OFFSET > 0, 1.0, np.nan), "NaN"),
    "too-few": (OFFSET[:5], np.ones(5), "needs at least"),
    "shape": (OFFSET, np.ones(3), "one length"),
}


@pytest.mark.parametrize(("x", "y", "message"), NONSENSE.values(), ids=NONSENSE.keys())
@pytest.mark.parametrize("fit", [fit_nutation, fit_hole], ids=["nutation", "hole"])
def test_refuses_nonsense(fit, x, y, message):
    with pytest.raises(AnalysisError, match=message):
        fit(x, y)


def test_hole_refuses_negative_baseline_and_unknown_shape():
    with pytest.raises(AnalysisError, match="positive"):
        fit_hole(OFFSET, -lorentzian_hole(OFFSET, *LORENTZ))
    with pytest.raises(AnalysisError, match="lorentzian"):
        fit_hole(OFFSET, lorentzian_hole(OFFSET, *LORENTZ), shape="voigt")


def test_undamped_nutation_drops_the_damping():
    """A nutation that does not decay over the range gives no tau_d (not 24 +- 8e6 s)."""
    clean = nutation(PULSE, 0.8, 3.1e6, 0.3, 1e3, 0.05)
    noisy = clean + 0.02 * np.random.default_rng(5).standard_normal(60)
    result = fit_nutation(PULSE, noisy, sigma=0.02)
    assert "tau_d" not in result.names and "not resolved" in result.model
    assert abs(result.value("f") - 3.1e6) < 4 * result.error("f")
    assert result.reliable, result.health.reasons
