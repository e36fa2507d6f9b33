r"""Decay fits: Hahn-echo decay (exponential, stretched), CPMG train decay, inversion recovery.

Each function takes the swept times (s) and the integrated echo (any units, e.g. from
:func:`spin_echo.echo.analysis.extraction.echo_curve`), finds its own starting point, and returns a
:class:`~spin_echo.echo.analysis.fitting.FitResult` with standard errors:

- Hahn echo, phase memory time T_M and stretch exponent x:
  :math:`A \exp[-(2\tau/T_M)^x]` (x = 1 for the exponential);
- CPMG, decay of the echo train with the time t of each echo after the first pulse:
  :math:`A \exp(-t/T_2)`;
- inversion recovery, the echo after a recovery time t following an inversion pulse:
  :math:`M_0 [1 - 2 b \exp(-t/T_1)]` (b = 1 for a perfect inversion).

Bounds keep times positive (and the stretch exponent in (0.05, 10)); nonsense data
(all zero, NaN, too few points, non-positive times) raise
:class:`~spin_echo.echo.analysis.extraction.AnalysisError`.
"""

from __future__ import annotations

import numpy as np

from spin_echo.echo.analysis.extraction import AnalysisError, check_signal
from spin_echo.echo.analysis.fitting import FitResult, least_squares_fit

__all__ = ["fit_cpmg", "fit_echo_decay", "fit_inversion_recovery"]

_TINY_S = 1e-15


def _check_times(times_s: np.ndarray, y: np.ndarray, *, what: str, parameters: int) -> None:
    times = np.asarray(times_s, dtype=float)
    values = np.asarray(y, dtype=float)
    if times.shape != values.shape or times.ndim != 1:
        raise AnalysisError(
            f"times and values must be 1-D of one length, got {times.shape} and {values.shape}",
            key=what,
        )
    check_signal(times, what=what)
    check_signal(values, what="values", minimum_points=parameters + 2)
    if np.any(times < 0):
        raise AnalysisError("must be non-negative times", key=what, value=float(times.min()))
    if np.unique(times).size < parameters + 1:
        raise AnalysisError(
            f"needs at least {parameters + 1} distinct times for {parameters} parameters", key=what
        )


def _log_linear_decay(times_s: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Return a starting (amplitude, time constant) of ``A exp(-t/T)`` from a log-linear fit."""
    sign = 1.0 if y[np.argmax(np.abs(y))] > 0 else -1.0
    usable = sign * y > 0.05 * np.max(np.abs(y))
    span = float(np.ptp(times_s)) or float(np.max(times_s))
    if np.count_nonzero(usable) < 2 or np.ptp(times_s[usable]) == 0:
        return float(y[np.argmax(np.abs(y))]), span
    slope, intercept = np.polyfit(times_s[usable], np.log(sign * y[usable]), 1)
    constant = -1.0 / slope if slope < 0 else 10.0 * span
    return sign * float(np.exp(intercept)), float(np.clip(constant, span / 100.0, 100.0 * span))


def _exponential(tau: np.ndarray, amplitude: float, t_m: float) -> np.ndarray:
    return amplitude * np.exp(-2.0 * tau / t_m)


def _stretched(tau: np.ndarray, amplitude: float, t_m: float, x: float) -> np.ndarray:
    return amplitude * np.exp(-((2.0 * tau / t_m) ** x))


def fit_echo_decay(
    tau_s: np.ndarray,
    echo: np.ndarray,
    *,
    stretched: bool = False,
    sigma: float | np.ndarray | None = None,
) -> FitResult:
    r"""Fit the Hahn-echo decay versus the pulse spacing tau.

    .. math:: E(\tau) = A \exp\left[-\left(\frac{2\tau}{T_M}\right)^x\right]

    Parameters
    ----------
    tau_s
        Pulse spacing tau (s); the echo comes at 2 tau after the first pulse.
    echo
        Integrated echo at each tau.
    stretched
        Fit the stretch exponent x too; otherwise x = 1.
    sigma
        Noise standard deviation of one echo value; ``None`` estimates it from the residuals.

    Returns
    -------
    FitResult
        Parameters ``A`` (units of the echo), ``T_M`` (s) and, if stretched, ``x``.
    """
    _check_times(tau_s, echo, what="tau", parameters=3 if stretched else 2)
    tau = np.asarray(tau_s, dtype=float)
    y = np.asarray(echo, dtype=float)
    amplitude, constant = _log_linear_decay(2.0 * tau, y)
    first = least_squares_fit(
        _exponential,
        tau,
        y,
        [amplitude, constant],
        model="exponential echo decay",
        formula="A exp(-2 tau/T_M)",
        names=("A", "T_M"),
        units=("", "s"),
        lower=[-np.inf, _TINY_S],
        sigma=sigma,
    )
    if not stretched:
        return first
    return least_squares_fit(
        _stretched,
        tau,
        y,
        [*first.values, 1.0],
        model="stretched exponential echo decay",
        formula="A exp(-(2 tau/T_M)^x)",
        names=("A", "T_M", "x"),
        units=("", "s", ""),
        lower=[-np.inf, _TINY_S, 0.05],
        upper=[np.inf, np.inf, 10.0],
        sigma=sigma,
    )


def _train(t: np.ndarray, amplitude: float, t2: float) -> np.ndarray:
    return amplitude * np.exp(-t / t2)


def fit_cpmg(
    echo_times_s: np.ndarray, echo: np.ndarray, *, sigma: float | np.ndarray | None = None
) -> FitResult:
    r"""Fit the decay of a CPMG echo train.

    .. math:: E(t_n) = A \exp(-t_n / T_2), \quad t_n = 2 n \tau

    Parameters
    ----------
    echo_times_s
        Time of each echo after the first (pi/2) pulse (s).
    echo
        Integrated amplitude of each echo.
    sigma
        Noise standard deviation of one echo value; ``None`` estimates it from the residuals.

    Returns
    -------
    FitResult
        Parameters ``A`` and ``T_2`` (s).
    """
    _check_times(echo_times_s, echo, what="echo_times", parameters=2)
    t = np.asarray(echo_times_s, dtype=float)
    y = np.asarray(echo, dtype=float)
    amplitude, constant = _log_linear_decay(t, y)
    return least_squares_fit(
        _train,
        t,
        y,
        [amplitude, constant],
        model="CPMG train decay",
        formula="A exp(-t/T_2)",
        names=("A", "T_2"),
        units=("", "s"),
        lower=[-np.inf, _TINY_S],
        sigma=sigma,
    )


def _recovery(t: np.ndarray, m0: float, b: float, t1: float) -> np.ndarray:
    return m0 * (1.0 - 2.0 * b * np.exp(-t / t1))


def fit_inversion_recovery(
    recovery_s: np.ndarray, echo: np.ndarray, *, sigma: float | np.ndarray | None = None
) -> FitResult:
    r"""Fit the inversion-recovery curve (signed, phase-corrected echo).

    .. math:: E(t) = M_0 \left[1 - 2 b\, e^{-t/T_1}\right]

    Parameters
    ----------
    recovery_s
        Delay between the inversion pulse and the detection sequence (s).
    echo
        Integrated echo (signed: the inverted magnetisation gives the opposite sign).
    sigma
        Noise standard deviation of one echo value; ``None`` estimates it from the residuals.

    Returns
    -------
    FitResult
        Parameters ``M_0`` (units of the echo), ``b`` (inversion efficiency, 1 = perfect) and
        ``T_1`` (s).
    """
    _check_times(recovery_s, echo, what="recovery", parameters=3)
    t = np.asarray(recovery_s, dtype=float)
    y = np.asarray(echo, dtype=float)
    order = np.argsort(t)
    m0 = float(y[order[-1]])
    if m0 == 0:
        m0 = float(y[np.argmax(np.abs(y))])
    span = float(np.ptp(t)) or float(np.max(t))
    ratio = (m0 - y) / (2.0 * m0)
    usable = ratio > 0.05
    if np.count_nonzero(usable) >= 2 and np.ptp(t[usable]) > 0:
        slope, intercept = np.polyfit(t[usable], np.log(ratio[usable]), 1)
        t1 = -1.0 / slope if slope < 0 else span
        b = float(np.clip(np.exp(intercept), 0.1, 1.5))
    else:
        t1, b = span / 3.0, 1.0
    return least_squares_fit(
        _recovery,
        t,
        y,
        [m0, b, float(np.clip(t1, span / 100.0, 100.0 * span))],
        model="inversion recovery",
        formula="M_0 (1 - 2 b exp(-t/T_1))",
        names=("M_0", "b", "T_1"),
        units=("", "", "s"),
        lower=[-np.inf, -2.0, _TINY_S],
        upper=[np.inf, 2.0, np.inf],
        sigma=sigma,
    )
