"""Fit health: every check fires on a fit crafted to fail it, and names the parameter.

The other side (the checks stay quiet on healthy fits) is tested on the 400-seed coverage sets of
test_decay_fits.py and test_spectroscopy.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from spin_echo.echo.analysis.decay_fits import fit_echo_decay
from spin_echo.echo.analysis.health import FitHealth, check_fit, check_quadratic, chi2_band
from spin_echo.echo.analysis.spectroscopy import fit_hole

TAU = np.linspace(0.1e-6, 8e-6, 30)
RNG = np.random.default_rng(11)
NOISE = 0.01 * RNG.standard_normal(TAU.size)


def decay(t_m, amplitude=1.0, tau=TAU):
    return amplitude * np.exp(-2 * tau / t_m)


def one_point_hole():
    """An 11-point scan with a 20 kHz hole on one point (0.2 MHz, 200 kHz steps)."""
    offsets = np.linspace(-1e6, 1e6, 11)
    line = 1 - 0.5 / (1 + (2 * (offsets - 0.2e6) / 20e3) ** 2)
    return fit_hole(offsets, line + 0.002 * RNG.standard_normal(11), sigma=0.002)


CRAFTED = {
    "chi2-too-large": (lambda: fit_echo_decay(TAU, decay(3e-6) + NOISE, sigma=0.001),
                       "reduced chi-square"),
    "chi2-too-small": (lambda: fit_echo_decay(TAU, decay(3e-6) + NOISE, sigma=0.1),
                       "reduced chi-square"),
    "error-larger-than-value": (lambda: fit_echo_decay(TAU, decay(1e-4, 0.003) + NOISE, sigma=0.01),
                                "T_M error 4.1 µs > value"),
    "error-below-precision": (lambda: fit_echo_decay(TAU, decay(3e-6) * (1 + 1e-15 * np.sin(TAU))),
                              "below what data determine"),
    "at-start": (lambda: fit_echo_decay(TAU, decay(3e-6), sigma=0.01), "still at its start value"),
    "stretch-at-bound": (
        lambda: fit_echo_decay(TAU, np.where(TAU < 3e-6, 1.0, 0.0) + NOISE, stretched=True,
                               sigma=0.01),
        "x = 10 at its upper bound",
    ),
    "decay-faster-than-sampling": (
        lambda: fit_echo_decay(TAU[::3], decay(0.2e-6, tau=TAU[::3]) + NOISE[:10], sigma=0.01),
        "not resolved by the sampling",
    ),
    "hole-through-one-point": (one_point_hole, "w = "),
    "too-few-points": (
        lambda: fit_hole(np.linspace(-2e6, 2e6, 8),
                         1 - 0.5 / (1 + (np.linspace(-2e6, 2e6, 8) / 0.5e6) ** 2)
                         + 0.01 * RNG.standard_normal(8), sigma=0.01),
        "too few points: 8 for 5 parameters",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("make", "reason"), CRAFTED.values(), ids=CRAFTED.keys())
def test_check_fires_on_crafted_bad_fit(make, reason):
    result = make()
    assert not result.reliable
    assert reason in result.health.line()
    assert result.health.line().startswith("UNRELIABLE: ")
    assert "UNRELIABLE: " in result.summary().splitlines()[0]
    data = result.as_dict()
    assert data["reliable"] is False and any(reason in r for r in data["reasons"])


def test_hole_through_one_point_is_not_resolved():
    reasons = one_point_hole().health.line()
    assert "not resolved by the sampling" in reasons


def test_chi2_band_is_the_chi2_quantile():
    low, high = chi2_band(10, 0.99)
    assert low == pytest.approx(stats.chi2.ppf(0.005, 10) / 10, rel=1e-12)
    assert high == pytest.approx(stats.chi2.isf(0.005, 10) / 10, rel=1e-12)
    assert stats.chi2.cdf(high * 10, 10) - stats.chi2.cdf(low * 10, 10) == pytest.approx(0.99)


def test_check_fit_on_values_directly():
    common = dict(names=("A", "T"), units=("", "s"), start=np.array([1.0, 2e-6]),
                  lower=np.array([-np.inf, 0.0]), upper=np.array([np.inf, np.inf]), points=20,
                  magnitudes=(True, True))  # fmt: skip
    healthy = check_fit(values=np.array([0.9, 3e-6]), errors=np.array([0.01, 1e-7]),
                        chi2_reduced=1.1, **common)  # fmt: skip
    assert healthy == FitHealth() and healthy.reliable and healthy.line() == ""
    sick = check_fit(values=np.array([0.9, 0.0]), errors=np.array([0.01, 1e-18]),
                     chi2_reduced=2.5e29, **common)  # fmt: skip
    assert [r.split()[0] for r in sick.reasons] == ["T", "T", "reduced"]
    assert "T = 0 s at its lower bound" in sick.line()
    assert sick.with_reasons("signal below its Monte-Carlo error").reasons[-1].startswith("signal")


@pytest.mark.parametrize(("error", "flagged"), [(3.2, True), (3.1, False)])
def test_an_error_wider_than_the_whole_range_is_unreliable(error, flagged):
    """An angle on [0, pi] rad: an error above pi (and only then) says nothing is determined."""
    health = check_fit(names=("theta",), units=("rad",), values=np.array([1.0]),
                       errors=np.array([error]), start=np.array([0.5]), lower=np.array([0.0]),
                       upper=np.array([np.pi]), points=50, chi2_reduced=1.0,
                       magnitudes=(False,))  # fmt: skip
    assert (not health.reliable) is flagged
    if flagged:
        assert health.reasons == ("theta error 1.8e+02 deg > its whole range [0 deg, 180 deg]",)


@pytest.mark.parametrize(("b", "flagged"), [(0.0, False), (0.3, False), (0.33, True), (0.5, True)])
def test_chi_square_not_quadratic_within_the_error(b, flagged):
    """r(q) = (q, b q^2): A = 1 at q = 0, and one error either side chi-square rises by exactly
    1 + b^2 (1 for the linear model b = 0); the tolerance 0.1 falls between b = 0.3 and 0.33."""
    calls = []

    def residuals(q):
        calls.append(float(q[0]))
        return np.array([q[0], b * q[0] ** 2])

    reasons = check_quadratic(residuals, np.array([0.0]), np.array([[1.0]]), ["k"], [-1e9], [1e9])
    assert sorted(calls) == [-1.0, 0.0, 1.0]
    rise = 1.0 + b * b
    if flagged:
        assert reasons == [
            f"k: chi-square not quadratic within its error (it rises by {rise:.3g}, {rise:.3g} "
            "one error either side, 1 if linear): the error does not hold"
        ]
    else:
        assert reasons == []


def test_a_probe_beyond_a_bound_is_skipped():
    reasons = check_quadratic(
        lambda q: np.array([q[0], q[0] ** 2]), np.array([0.0]), np.array([[1.0]]), ["k"], [0.0],
        [1e9],
    )  # fmt: skip
    assert reasons == ["k: chi-square not quadratic within its error (it rises by 2 one error "
                       "either side, 1 if linear): the error does not hold"]  # fmt: skip


def test_a_probe_outside_the_model_domain_is_skipped():
    """A probe whose parameters the model refuses (or that gives no finite residual) is left
    out; the other side still speaks."""

    def residuals(q):
        if q[0] > 0.5:
            raise ValueError("relaxation.T1 = 'inf s': is not a valid quantity")
        if q[0] < -0.5:
            return np.array([np.nan, 0.0])
        return np.array([q[0], 0.0])

    assert check_quadratic(residuals, np.array([0.0]), np.array([[1.0]]), ["k"], [-9], [9]) == []
    assert check_quadratic(
        lambda q: np.array([q[0], q[0] ** 2]) if q[0] < 0.5 else 1 / 0.0 * q,
        np.array([0.0]), np.array([[1.0]]), ["k"], [-9], [9],
    ) == ["k: chi-square not quadratic within its error (it rises by 2 one error either side, "
          "1 if linear): the error does not hold"]  # fmt: skip
