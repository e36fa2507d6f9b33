"""Weighted least squares with standard errors: the engine under every curve fit of ``echo``.

:func:`least_squares_fit` wraps :func:`scipy.optimize.least_squares` (trust-region reflective,
bounds honoured) and returns a :class:`FitResult` with the covariance from the Jacobian at the
optimum, ``C = (J^T W J)^-1`` with ``W = 1/sigma^2``:

- when the noise ``sigma`` is known (``absolute_sigma=True``), ``C`` is used as it is;
- when it is not, ``sigma`` is estimated from the residuals, ``sigma^2 = chi^2 / (n - p)``,
  i.e. ``C`` is scaled by the reduced chi-square (as ``scipy.optimize.curve_fit`` does).

Standard errors are the square roots of the diagonal of ``C``. They are linearised errors,
accurate when the signal-to-noise ratio makes the model locally linear over one sigma; the
coverage tests of :mod:`spin_echo.echo.analysis.decay_fits` and
:mod:`spin_echo.echo.analysis.spectroscopy` check that they are.
Data that cannot determine the parameters (too few points, NaN, a singular Jacobian) raise
:class:`~spin_echo.echo.analysis.extraction.AnalysisError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from spin_echo.echo.analysis.extraction import AnalysisError, check_signal

__all__ = ["FitResult", "least_squares_fit"]

Model = Callable[..., np.ndarray]


@dataclass(frozen=True)
class FitResult:
    """Parameters of a curve fit with their standard errors.

    Attributes
    ----------
    model
        Short name of the model, e.g. ``"stretched exponential"``.
    formula
        The model as text, for legends (``"A exp(-(2 tau/T_M)^x)"``).
    names, units
        Parameter names and their units.
    values, errors
        Best-fit values and standard errors (one sigma).
    covariance
        Parameter covariance matrix.
    x, y
        The data fitted.
    sigma
        Noise standard deviation per point used for the weights and the errors.
    sigma_known
        True when ``sigma`` was given, False when it was estimated from the residuals.
    chi2_reduced
        ``sum((y - f)^2 / sigma^2) / (n - p)``; 1 by construction when sigma was estimated.
    dof
        Degrees of freedom ``n - p``.
    function
        The model function ``f(x, *values)``.
    """

    model: str
    formula: str
    names: tuple[str, ...]
    units: tuple[str, ...]
    values: np.ndarray
    errors: np.ndarray
    covariance: np.ndarray
    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray
    sigma_known: bool
    chi2_reduced: float
    dof: int
    function: Model

    def value(self, name: str) -> float:
        """Return the best-fit value of parameter ``name``."""
        return float(self.values[self._index(name)])

    def error(self, name: str) -> float:
        """Return the standard error of parameter ``name``."""
        return float(self.errors[self._index(name)])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Evaluate the fitted model at ``x``."""
        return np.asarray(self.function(np.asarray(x, dtype=float), *self.values))

    def summary(self) -> str:
        """Return one line per parameter, ``name = value ± error unit``, and the chi-square."""
        lines = [f"{self.model}: {self.formula}"]
        for name, unit, value, error in zip(
            self.names, self.units, self.values, self.errors, strict=True
        ):
            lines.append(f"  {name} = {value:.6g} ± {error:.2g} {unit}".rstrip())
        lines.append(f"  reduced chi-square = {self.chi2_reduced:.3g} ({self.dof} dof)")
        return "\n".join(lines)

    def _index(self, name: str) -> int:
        if name not in self.names:
            raise AnalysisError(f"unknown fit parameter; have {', '.join(self.names)}", key=name)
        return self.names.index(name)


def least_squares_fit(
    function: Model,
    x: np.ndarray,
    y: np.ndarray,
    start: Sequence[float],
    *,
    model: str,
    formula: str,
    names: Sequence[str],
    units: Sequence[str],
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    sigma: float | np.ndarray | None = None,
) -> FitResult:
    """Fit ``y = function(x, *p)`` by weighted least squares.

    Parameters
    ----------
    function
        Model ``f(x, *p)`` returning an array shaped like ``x``.
    x, y
        Data (1-D, finite, same length, more points than parameters).
    start
        Initial parameter values (inside the bounds).
    model, formula, names, units
        Labels stored in the result.
    lower, upper
        Bounds per parameter (default unbounded).
    sigma
        Known noise standard deviation per point (scalar or array); ``None`` estimates it from
        the residuals.

    Returns
    -------
    FitResult
        Values, standard errors, covariance and reduced chi-square.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    p = len(start)
    if x.ndim != 1 or x.shape != y.shape:
        raise AnalysisError(
            f"x and y must be 1-D of the same length, got {x.shape} and {y.shape}", key="data"
        )
    check_signal(x, what="x")
    check_signal(y, what="y", minimum_points=p + 2)
    lower_b = np.full(p, -np.inf) if lower is None else np.asarray(lower, dtype=float)
    upper_b = np.full(p, np.inf) if upper is None else np.asarray(upper, dtype=float)
    start_v = np.clip(np.asarray(start, dtype=float), lower_b, upper_b)
    known = sigma is not None
    weights = np.ones_like(y) if sigma is None else np.broadcast_to(sigma, y.shape).astype(float)
    if known and not (np.all(np.isfinite(weights)) and np.all(weights > 0)):
        raise AnalysisError("must be positive and finite", key="sigma", value=sigma)
    scale = np.where(np.abs(start_v) > 0, np.abs(start_v), 1.0)

    def residuals(q: np.ndarray) -> np.ndarray:
        return (function(x, *(q * scale)) - y) / weights

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        solution = least_squares(
            residuals, start_v / scale, bounds=(lower_b / scale, upper_b / scale), x_scale="jac"
        )
    values = solution.x * scale
    jac = solution.jac / scale
    chi2 = float(np.sum(solution.fun**2))
    dof = y.size - p
    curvature = jac.T @ jac
    norm = np.sqrt(np.diag(curvature))
    if not np.all(norm > 0) or np.linalg.cond(curvature / np.outer(norm, norm)) > 1e12:
        raise AnalysisError(
            f"the data do not determine the {model} parameters (singular Jacobian)", key="data"
        )
    covariance = np.linalg.inv(curvature)
    if known:
        chi2_reduced = chi2 / dof
        point_sigma = weights
    else:
        chi2_reduced = 1.0
        covariance = covariance * chi2 / dof
        point_sigma = np.full_like(y, np.sqrt(chi2 / dof))
    errors = np.sqrt(np.diag(covariance))
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(errors))):
        raise AnalysisError(f"the {model} fit did not converge to finite values", key="data")
    return FitResult(
        model=model,
        formula=formula,
        names=tuple(names),
        units=tuple(units),
        values=values,
        errors=errors,
        covariance=covariance,
        x=x,
        y=y,
        sigma=np.asarray(point_sigma, dtype=float),
        sigma_known=known,
        chi2_reduced=chi2_reduced,
        dof=dof,
        function=function,
    )
