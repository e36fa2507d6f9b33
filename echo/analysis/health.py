r"""Fit health: the checks every curve fit runs on itself before its numbers are believed.

:func:`check_fit` returns a :class:`FitHealth`, a tuple of reasons (empty when healthy). A fit
with reasons is *unreliable*: reports print ``UNRELIABLE: <reasons>`` on its result line, plots
print it on the figure, and data outputs carry ``reliable: false`` with the reasons. The checks:

``at bound``
    a parameter within :math:`10^{-6}` (relative to the bound or to its start value, whichever
    is larger) of a bound of the fit, or beyond it: the optimum lies outside the allowed
    (physical) range and the bound, not the data, set the value;
``at start``
    a parameter that did not move from its start value (relative change below
    :math:`10^{-9}`): the data do not constrain it;
``error > value``
    for magnitudes (times, rates, widths, amplitudes, depths): a standard error larger than the
    value, the quantity is not measured;
``error > range``
    a standard error larger than the whole range between two finite bounds (an angle in
    [0, pi] known to ±2000 rad): the data do not determine the parameter;
``error below precision``
    a standard error below :data:`PRECISION` times the value's magnitude (or zero): no data
    with noise determine a number to 13 digits; it means an exact fit of noise-free data or a
    degenerate weight;
``not quadratic``
    (:func:`check_quadratic`, for fits that can evaluate their residuals again) chi-square's
    rise one conditional standard error :math:`1/\sqrt{A_{ii}}` (:math:`A = J^TJ`) either side
    of the optimum differs from 1, its value for a model linear there, by more than
    :data:`QUADRATIC_TOLERANCE`: the residuals times the model's second derivative are not small
    against :math:`A`, and the linear standard errors do not hold;
``reduced chi-square``
    with a known noise: :math:`\chi^2_\nu` outside the central :data:`CHI2_CONFIDENCE` interval
    of the :math:`\chi^2_\nu/\nu` distribution for :math:`\nu` degrees of freedom (too large:
    the model does not describe the data or the noise is underestimated; too small: the noise
    is overestimated);
``too few points``
    fewer than twice as many points as parameters (:math:`\nu < p`): the standard errors and the
    chi-square test rest on too few residuals;
``not resolved``
    a feature outside what the sampling resolves (a hole narrower than two sampling steps, an
    oscillation above the Nyquist frequency of the sweep, a decay faster than the first step or
    slower than ten times the range): per-fit limits given by the caller.

The thresholds are set so that the checks stay quiet on healthy fits: on the 400-seed coverage
sets of the tests (closed-form data with Gaussian noise) the false-alarm rate is measured and
stated in the README.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from spin_echo.echo.units_format import format_quantity

__all__ = [
    "CHI2_CONFIDENCE",
    "PRECISION",
    "QUADRATIC_TOLERANCE",
    "FitHealth",
    "check_fit",
    "check_quadratic",
    "chi2_band",
    "chi2_outside",
]

#: Two-sided confidence of the reduced chi-square band (false alarm 1e-4 for a correct model).
CHI2_CONFIDENCE = 0.9999
#: Standard errors below this fraction of a value are below what noisy data can determine.
PRECISION = 1e-12
#: Largest departure from 1 of chi-square's rise one conditional error from the optimum.
QUADRATIC_TOLERANCE = 0.1
_AT_BOUND = 1e-6
_AT_START = 1e-9


@dataclass(frozen=True)
class FitHealth:
    """The outcome of a fit's self-checks.

    Attributes
    ----------
    reasons
        Why the fit is not to be believed, one short phrase each; empty when it passed.
    """

    reasons: tuple[str, ...] = ()

    @property
    def reliable(self) -> bool:
        """True when every check passed."""
        return not self.reasons

    def line(self) -> str:
        """Return ``"UNRELIABLE: reason; reason"``, or ``""`` for a reliable fit."""
        return "" if self.reliable else "UNRELIABLE: " + "; ".join(self.reasons)

    def lines(self) -> list[str]:
        """Return ``[self.line()]`` for an unreliable fit, ``[]`` for a reliable one."""
        return [] if self.reliable else [self.line()]

    def as_dict(self) -> dict[str, object]:
        """Return ``{"reliable": bool, "reasons": [...]}`` for data outputs."""
        return {"reliable": self.reliable, "reasons": list(self.reasons)}

    def with_reasons(self, *reasons: str) -> FitHealth:
        """Return a copy with more reasons (duplicates dropped)."""
        merged = list(self.reasons)
        merged += [r for r in reasons if r and r not in merged]
        return FitHealth(tuple(merged))


def chi2_band(dof: int, confidence: float = CHI2_CONFIDENCE) -> tuple[float, float]:
    r"""Return the central ``confidence`` interval of the reduced chi-square for ``dof``.

    .. math:: \chi^2_\nu = \chi^2/\nu, \quad \chi^2 \sim \chi^2(\nu)

    Parameters
    ----------
    dof
        Degrees of freedom :math:`\nu` (>= 1); for correlated noise, the effective number of
        independent values.
    confidence
        Two-sided probability inside the band.
    """
    tail = (1.0 - confidence) / 2.0
    return (
        float(stats.chi2.ppf(tail, dof) / dof),
        float(stats.chi2.isf(tail, dof) / dof),
    )


def chi2_outside(chi2_reduced: float, dof: int) -> tuple[float, float] | None:
    """Return :func:`chi2_band` for ``dof`` when ``chi2_reduced`` lies outside it, else None."""
    low, high = chi2_band(dof)
    return None if low <= chi2_reduced <= high else (low, high)


def check_fit(
    *,
    names: Sequence[str],
    units: Sequence[str],
    values: np.ndarray,
    errors: np.ndarray,
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    points: int,
    chi2_reduced: float | None,
    magnitudes: Sequence[bool] | None = None,
    resolved: Mapping[str, tuple[float, float]] | None = None,
) -> FitHealth:
    """Run every check of the module docstring on one fit.

    Parameters
    ----------
    names, units
        Parameter names and SI units (for the messages).
    values, errors, start, lower, upper
        Best-fit values, standard errors, start values and bounds (``±inf`` for none).
    points
        Number of data points fitted.
    chi2_reduced
        Reduced chi-square with a known noise; None when the noise was estimated from the
        residuals (the test is then void).
    magnitudes
        Per parameter, True when "error larger than the value" is meaningful (default: all
        parameters with a positive lower bound).
    resolved
        Parameter name -> ``(low, high)``: the range the sampling can resolve.

    Returns
    -------
    FitHealth
        The reasons that failed, in the order of the checks.
    """
    values = np.asarray(values, dtype=float)
    errors = np.asarray(errors, dtype=float)
    start = np.asarray(start, dtype=float)
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if magnitudes is None:
        magnitudes = [bool(b > 0) for b in lower]
    reasons: list[str] = []
    for k, name in enumerate(names):
        value, error, unit = float(values[k]), float(errors[k]), units[k]
        shown = format_quantity(value, unit)
        for bound, side in ((lower[k], "lower"), (upper[k], "upper")):
            if not np.isfinite(bound):
                continue
            reach = _AT_BOUND * max(abs(bound), abs(start[k]), 1e-300)
            beyond = value < bound if side == "lower" else value > bound
            if beyond or abs(value - bound) <= reach:
                reasons.append(f"{name} = {shown} at its {side} bound")
        if abs(value - start[k]) <= _AT_START * max(abs(start[k]), abs(value), 1e-300):
            reasons.append(f"{name} = {shown} still at its start value")
        if magnitudes[k] and np.isfinite(error) and error > abs(value):
            reasons.append(f"{name} error {format_quantity(error, unit, digits=2)} > value")
        span = upper[k] - lower[k]
        if np.isfinite(span) and np.isfinite(error) and error > span:
            reasons.append(
                f"{name} error {format_quantity(error, unit, digits=2)} > its whole range "
                f"[{format_quantity(lower[k], unit, digits=3)}, "
                f"{format_quantity(upper[k], unit, digits=3)}]"
            )
        if not np.isfinite(error) or error <= PRECISION * abs(value) or error == 0:
            reasons.append(
                f"{name} error {format_quantity(error, unit, digits=2)} below what data determine"
            )
    dof = points - len(names)
    if dof < len(names):
        reasons.append(f"too few points: {points} for {len(names)} parameters")
    if chi2_reduced is not None and dof >= 1 and (band := chi2_outside(chi2_reduced, dof)):
        low, high = band
        reasons.append(
            f"reduced chi-square {chi2_reduced:.3g} outside [{low:.2g}, {high:.2g}] "
            f"allowed by the noise at {dof} dof"
        )
    for name, (low, high) in (resolved or {}).items():
        if name not in names:
            continue
        k = list(names).index(name)
        value = float(values[k])
        if not low <= value <= high:
            unit = units[k]
            reasons.append(
                f"{name} = {format_quantity(value, unit)} not resolved by the sampling "
                f"(resolvable {format_quantity(low, unit, digits=3)} to "
                f"{format_quantity(high, unit, digits=3)})"
            )
    return FitHealth(tuple(reasons))


def check_quadratic(
    residuals: Callable[[np.ndarray], np.ndarray],
    optimum: np.ndarray,
    curvature: np.ndarray,
    names: Sequence[str],
    lower: Sequence[float],
    upper: Sequence[float],
    at_optimum: np.ndarray | None = None,
) -> list[str]:
    r"""Return a reason for each parameter along which chi-square is not quadratic.

    Parameters
    ----------
    residuals
        The fit's normalised residuals as a function of its parameters (chi-square is their
        sum of squares).
    optimum
        The best-fit parameters.
    curvature
        :math:`A = J^TJ` at the optimum.
    names
        Parameter names for the messages.
    lower, upper
        Bounds: a probe beyond one is skipped, as is one where ``residuals`` raises a
        ``ValueError`` or ``ArithmeticError`` or returns a value that is not finite (a
        parameter known to ±e^50 of itself: the "error > value" check speaks for it).
    at_optimum
        ``residuals(optimum)`` when the caller has it (evaluated here when None).

    Returns
    -------
    list of str
        One reason per parameter whose chi-square rises, one conditional standard error
        :math:`1/\sqrt{A_{ii}}` either side, by more than :data:`QUADRATIC_TOLERANCE` away
        from 1 (module docstring); 2 evaluations of ``residuals`` per parameter.
    """
    here = residuals(optimum) if at_optimum is None else at_optimum
    base = float(here @ here)
    reasons = []
    for i, name in enumerate(names):
        step = 1.0 / np.sqrt(curvature[i, i])
        rises = []
        for sign in (1.0, -1.0):
            probe = np.array(optimum, dtype=float)
            probe[i] += sign * step
            if not lower[i] <= probe[i] <= upper[i]:
                continue
            try:
                r = residuals(probe)
            except (ValueError, ArithmeticError):  # outside the model's domain (T1 = inf s)
                continue
            if np.all(np.isfinite(r)):
                rises.append(float(r @ r) - base)
        if any(abs(rise - 1.0) > QUADRATIC_TOLERANCE for rise in rises):
            shown = ", ".join(f"{rise:.3g}" for rise in rises)
            reasons.append(
                f"{name}: chi-square not quadratic within its error (it rises by {shown} one "
                "error either side, 1 if linear): the error does not hold"
            )
    return reasons
