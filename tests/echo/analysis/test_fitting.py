"""The least-squares engine against the closed-form straight-line regression."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.echo.analysis.extraction import AnalysisError
from spin_echo.echo.analysis.fitting import least_squares_fit


def line(x, a, b):
    return a + b * x


X = np.linspace(-1.0, 3.0, 25)
Y = 0.4 + 1.7 * X + 0.05 * np.random.default_rng(7).standard_normal(X.size)
LABELS = {"model": "line", "formula": "a + b x", "names": ("a", "b"), "units": ("", "")}


def closed_form(sigma):
    """Ordinary least squares for a line: values and covariance (Bevington ch. 6)."""
    n = X.size
    delta = n * np.sum(X**2) - np.sum(X) ** 2
    a = (np.sum(X**2) * np.sum(Y) - np.sum(X) * np.sum(X * Y)) / delta
    b = (n * np.sum(X * Y) - np.sum(X) * np.sum(Y)) / delta
    covariance = sigma**2 / delta * np.array([[np.sum(X**2), -np.sum(X)], [-np.sum(X), n]])
    return np.array([a, b]), covariance


def test_known_sigma_matches_closed_form():
    result = least_squares_fit(line, X, Y, [0.0, 1.0], sigma=0.05, **LABELS)
    values, covariance = closed_form(0.05)
    np.testing.assert_allclose(result.values, values, rtol=1e-8)
    np.testing.assert_allclose(result.covariance, covariance, rtol=1e-8)
    chi2 = np.sum((Y - line(X, *values)) ** 2) / 0.05**2
    assert result.chi2_reduced == pytest.approx(chi2 / (X.size - 2), rel=1e-8)
    assert result.dof == X.size - 2


def test_estimated_sigma_scales_covariance_by_residuals():
    result = least_squares_fit(line, X, Y, [0.0, 1.0], **LABELS)
    values, _ = closed_form(1.0)
    s2 = np.sum((Y - line(X, *values)) ** 2) / (X.size - 2)
    _, covariance = closed_form(np.sqrt(s2))
    np.testing.assert_allclose(result.covariance, covariance, rtol=1e-7)
    np.testing.assert_allclose(result.sigma, np.sqrt(s2), rtol=1e-7)
    assert result.chi2_reduced == 1.0


def test_bounds_are_honoured():
    result = least_squares_fit(line, X, Y, [0.0, 1.0], upper=[np.inf, 1.0], sigma=0.05, **LABELS)
    assert result.value("b") <= 1.0


def test_undetermined_parameters_are_refused():
    def degenerate(x, a, b):
        return (a + b) * np.ones_like(x)

    with pytest.raises(AnalysisError, match="do not determine"):
        least_squares_fit(degenerate, X, Y, [1.0, 1.0], sigma=0.05, **LABELS)


def test_shape_mismatch_is_refused():
    with pytest.raises(AnalysisError, match="same length"):
        least_squares_fit(line, X, Y[:-1], [0.0, 1.0], **LABELS)


@pytest.mark.parametrize("factor", [1e200, 1e-200])
def test_data_whose_squares_overflow_or_underflow_are_refused(factor):
    # plot of a record of 1e300 values ended in scipy's "array must not contain infs or NaNs"
    from spin_echo.echo.analysis.fitting import check_magnitude

    x = np.linspace(0.0, 1.0, 20)
    y = factor * np.exp(-x)
    with pytest.raises(AnalysisError, match=r"outside 1e±150: their squares"):
        least_squares_fit(
            lambda x, a, b: a * np.exp(-x / b),
            x,
            y,
            [factor, 1.0],
            model="decay",
            formula="a exp(-x/b)",
            names=("a", "b"),
            units=("", ""),
        )
    check_magnitude(np.zeros(3), what="y")  # zero is a magnitude, not an underflow
    check_magnitude(np.array([1e150, -1e-150]), what="y")  # the limits themselves pass
