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
:class:`~spin_echo.echo.analysis.extraction.AnalysisError`. Every result carries its self-checks
(:func:`spin_echo.echo.analysis.health.check_fit`): parameters at bounds or start values, errors
larger than the value or below machine precision, a reduced chi-square outside the noise's band,
too few points, a feature the sampling does not resolve.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import least_squares

from spin_echo.echo.analysis.extraction import AnalysisError, check_signal
from spin_echo.echo.analysis.health import FitHealth, check_fit
from spin_echo.echo.units_format import format_with_error

__all__ = ["MAX_MAGNITUDE", "FitResult", "Model", "check_magnitude", "least_squares_fit"]

#: Largest magnitude of data a least-squares analysis takes: its squares and sums stay finite
#: in double precision (about 1e308) with room to spare.
MAX_MAGNITUDE = 1e150


def check_magnitude(values: np.ndarray, *, what: str, file: str | None = None) -> None:
    """Refuse data a chi-square cannot square (magnitudes outside 1e±150).

    The largest magnitude must not exceed :data:`MAX_MAGNITUDE`, nor lie below its inverse
    unless it is zero.

    Raises
    ------
    AnalysisError
        Naming ``what`` (and ``file``) and the largest magnitude.
    """
    largest = float(np.nanmax(np.abs(values), initial=0.0))
    if largest > MAX_MAGNITUDE or 0 < largest < 1 / MAX_MAGNITUDE:
        way = "overflow" if largest > MAX_MAGNITUDE else "underflow"
        raise AnalysisError(
            f"holds values up to {largest:.3g}, outside 1e±{np.log10(MAX_MAGNITUDE):.0f}: their "
            f"squares {way}; is the record in its units?",
            file=file,
            key=what,
        )


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
    start
        Start values of the parameters.
    health
        The fit's self-checks (:class:`~spin_echo.echo.analysis.health.FitHealth`).
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
    start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    health: FitHealth = field(default_factory=FitHealth)

    @property
    def reliable(self) -> bool:
        """True when every self-check passed (see :attr:`health`)."""
        return self.health.reliable

    def flagged(self, *reasons: str) -> FitResult:
        """Return a copy whose health carries further ``reasons`` (e.g. from the analysis)."""
        return replace(self, health=self.health.with_reasons(*reasons))

    def as_dict(self) -> dict[str, object]:
        """Return the result as plain data: model, parameters, chi-square, reliability."""
        return {
            "model": self.model,
            "formula": self.formula,
            "parameters": {
                name: {"value": float(value), "error": float(error), "units": unit}
                for name, unit, value, error in zip(
                    self.names, self.units, self.values, self.errors, strict=True
                )
            },
            "chi2_reduced": float(self.chi2_reduced),
            "dof": int(self.dof),
            "sigma_known": bool(self.sigma_known),
            **self.health.as_dict(),
        }

    def value(self, name: str) -> float:
        """Return the best-fit value of parameter ``name``."""
        return float(self.values[self._index(name)])

    def error(self, name: str) -> float:
        """Return the standard error of parameter ``name``."""
        return float(self.errors[self._index(name)])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Evaluate the fitted model at ``x``."""
        return np.asarray(self.function(np.asarray(x, dtype=float), *self.values))

    def parameter_lines(self) -> list[str]:
        """Return ``name = value ± error unit`` per parameter (engineering units)."""
        return [
            f"{name} = {format_with_error(value, error, unit)}"
            for name, unit, value, error in zip(
                self.names, self.units, self.values, self.errors, strict=True
            )
        ]

    def quality_line(self) -> str:
        """Return the chi-square (noise known) or that the noise came from the residuals."""
        if self.sigma_known:
            return f"reduced chi-square = {self.chi2_reduced:.3g} ({self.dof} dof)"
        return f"noise estimated from the residuals ({self.dof} dof)"

    def summary(self) -> str:
        """Return the model, one line per parameter, the chi-square and ``UNRELIABLE: ...``."""
        head = f"{self.model}: {self.formula}"
        if not self.reliable:
            head += f"  {self.health.line()}"
        lines = [head, *(f"  {line}" for line in self.parameter_lines())]
        lines.append(f"  {self.quality_line()}")
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
    magnitudes: Sequence[bool] | None = None,
    resolved: Mapping[str, tuple[float, float]] | None = None,
) -> FitResult:
    """Fit ``y = function(x, *p)`` by weighted least squares and check the result.

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
    magnitudes, resolved
        For the health checks (:func:`~spin_echo.echo.analysis.health.check_fit`): which
        parameters are magnitudes, and the range of each parameter the sampling resolves.

    Returns
    -------
    FitResult
        Values, standard errors, covariance, reduced chi-square and health.
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
    check_magnitude(y, what="y")
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
        start=start_v,
        health=check_fit(
            names=names,
            units=units,
            values=values,
            errors=errors,
            start=start_v,
            lower=lower_b,
            upper=upper_b,
            points=y.size,
            chi2_reduced=chi2_reduced if known else None,
            magnitudes=magnitudes,
            resolved=resolved,
        ),
    )
