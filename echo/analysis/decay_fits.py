r"""Decay fits: Hahn echo (exponential, stretched), stimulated echo, CPMG train, inversion recovery.

Each function takes the swept times (s) and the integrated echo (any units, e.g. from
:func:`spin_echo.echo.analysis.curves.echo_curve`), finds its own starting point, and returns a
:class:`~spin_echo.echo.analysis.fitting.FitResult` with standard errors:

- Hahn echo, phase memory time T_M and stretch exponent x:
  :math:`A \exp[-(2\tau/T_M)^x]` (x = 1 for the exponential);
- stimulated echo, decay with the mixing time T: :math:`A \exp(-T/T_\mathrm{stim})`
  (T1 shortened by spectral diffusion);
- CPMG, decay of the echo train with the time t of each echo after the first pulse, with the
  odd/even alternation of imperfect pi pulses: :math:`A \exp(-t/T_2) [1 + a (-1)^n]`;
- inversion recovery, the echo after a recovery time t following an inversion pulse:
  :math:`M_0 [1 - 2 b \exp(-t/T_1)]` (0 <= b <= 1, b = 1 for a perfect inversion).

Bounds keep times positive (the stretch exponent in (0.05, 10)); every fit declares the time
constants its sampling resolves (:func:`decay_resolution`) for its health check; nonsense data
(all zero, NaN, too few points, non-positive times) raise
:class:`~spin_echo.echo.analysis.extraction.AnalysisError`.
"""

from __future__ import annotations

import numpy as np

from spin_echo.echo.analysis.extraction import AnalysisError, check_signal
from spin_echo.echo.analysis.fitting import FitResult, Model, least_squares_fit

__all__ = [
    "decay_resolution",
    "fit_cpmg",
    "fit_echo_decay",
    "fit_inversion_recovery",
    "fit_stimulated_decay",
]

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


def decay_resolution(times_s: np.ndarray) -> tuple[float, float]:
    """Return the time constants a sampling resolves: its smallest step to 10 times its range.

    A decay faster than the smallest step between distinct times is over between two points; one
    slower than ten times the range changes by less than 10 % across it.
    """
    times = np.unique(np.asarray(times_s, dtype=float))
    return float(np.min(np.diff(times))), 10.0 * float(np.ptp(times))


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
    resolved = {"T_M": decay_resolution(2.0 * tau)}
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
        magnitudes=(True, True),
        resolved=resolved,
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
        magnitudes=(True, True, True),
        resolved=resolved,
    )


def _decay(t: np.ndarray, amplitude: float, time_constant: float) -> np.ndarray:
    return amplitude * np.exp(-t / time_constant)


def _fit_decay(
    t: np.ndarray,
    y: np.ndarray,
    sigma: float | np.ndarray | None,
    *,
    model: str,
    formula: str,
    name: str,
) -> FitResult:
    """Fit ``A exp(-t/T)`` (the time constant called ``name``), started from a log-linear fit."""
    amplitude, constant = _log_linear_decay(t, y)
    return least_squares_fit(
        _decay,
        t,
        y,
        [amplitude, constant],
        model=model,
        formula=formula,
        names=("A", name),
        units=("", "s"),
        lower=[-np.inf, _TINY_S],
        sigma=sigma,
        magnitudes=(True, True),
        resolved={name: decay_resolution(t)},
    )


def _alternating_train(times_s: np.ndarray, parity: np.ndarray) -> Model:
    """Return ``f(t, A, T_2, a) = A exp(-t/T_2) (1 + a p(t))``, p = +-1 at the echo times.

    ``p(t)`` is the parity of the echo measured at ``t`` (+1 even, -1 odd); at any other time it
    is 0, so a dense evaluation draws the envelope between the two branches.
    """
    order = np.argsort(times_s)
    known_t, known_p = np.asarray(times_s)[order], np.asarray(parity, dtype=float)[order]

    def model(t: np.ndarray, amplitude: float, t2: float, a: float) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        at = np.clip(np.searchsorted(known_t, t), 0, known_t.size - 1)
        hit = np.isclose(known_t[at], t, rtol=1e-12, atol=0.0)
        sign = np.where(hit, known_p[at], 0.0)
        return amplitude * np.exp(-t / t2) * (1.0 + a * sign)

    return model


def fit_cpmg(
    echo_times_s: np.ndarray,
    echo: np.ndarray,
    *,
    echo_index: np.ndarray | None = None,
    sigma: float | np.ndarray | None = None,
) -> FitResult:
    r"""Fit the decay of a CPMG echo train, with its odd/even alternation when indices are given.

    .. math:: E(t_n) = A\, e^{-t_n / T_2}\, [1 + a (-1)^n], \quad t_n \approx 2 n \tau

    Flip-angle errors of the :math:`\pi` pulses (the packets' drive strengths and detunings
    spread around the nominal ones) are refocused on every second echo of a CPMG train: the even
    echoes are larger than the odd ones by the factor :math:`(1 + a)/(1 - a)`, with the same
    decay. ``a`` models that alternation instead of leaving it in the residuals; without
    ``echo_index`` the plain train :math:`A e^{-t/T_2}` is fitted.

    Parameters
    ----------
    echo_times_s
        Time of each echo after the first (pi/2) pulse (s).
    echo
        Integrated amplitude of each echo.
    echo_index
        Number n (1, 2, ...) of each echo in its train; None fits no alternation.
    sigma
        Noise standard deviation of one echo value; ``None`` estimates it from the residuals.

    Returns
    -------
    FitResult
        Parameters ``A``, ``T_2`` (s) and, with ``echo_index``, ``a`` (even/odd asymmetry, in
        (-1, 1)).
    """
    _check_times(echo_times_s, echo, what="echo_times", parameters=2 if echo_index is None else 3)
    t = np.asarray(echo_times_s, dtype=float)
    y = np.asarray(echo, dtype=float)
    if echo_index is None:
        return _fit_decay(
            t, y, sigma, model="CPMG train decay", formula="A exp(-t/T_2)", name="T_2"
        )
    amplitude, constant = _log_linear_decay(t, y)
    resolved = {"T_2": decay_resolution(t)}
    index = np.asarray(echo_index)
    if index.shape != t.shape or np.unique(index % 2).size < 2:
        raise AnalysisError(
            "needs one index per echo, with both odd and even echoes", key="echo_index"
        )
    parity = np.where(index % 2 == 0, 1.0, -1.0)
    return least_squares_fit(
        _alternating_train(t, parity),
        t,
        y,
        [amplitude, constant, 0.0],
        model="CPMG train decay, odd/even alternation",
        formula="A exp(-t/T_2) (1 + a (-1)^n)",
        names=("A", "T_2", "a"),
        units=("", "s", ""),
        lower=[-np.inf, _TINY_S, -1.0],
        upper=[np.inf, np.inf, 1.0],
        sigma=sigma,
        magnitudes=(True, True, False),
        resolved=resolved,
    )


def _recovery(t: np.ndarray, m0: float, b: float, t1: float) -> np.ndarray:
    return m0 * (1.0 - 2.0 * b * np.exp(-t / t1))


def fit_inversion_recovery(
    recovery_s: np.ndarray, echo: np.ndarray, *, sigma: float | np.ndarray | None = None
) -> FitResult:
    r"""Fit the inversion-recovery curve (signed, phase-corrected echo).

    .. math:: E(t) = M_0 \left[1 - 2 b\, e^{-t/T_1}\right], \quad 0 \le b \le 1

    Sign convention: :math:`M_0` is the signal of the recovered magnetisation (positive once the
    caller has fixed the receiver phase so that the longest recovery time reads positive); the
    inverted magnetisation reads negative. The inversion efficiency b is kept physical: b = 1 is
    a perfect inversion (:math:`E(0) = -M_0`), b = 0 no inversion; a readout that would need
    b > 1 (:math:`|E(0)| > M_0`) is not proportional to the longitudinal magnetisation -- e.g.
    an FID read after a dead time, whose dephased shape depends on what preceded the read pulse
    -- and ends at the bound, which the fit's health check reports.

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
        Parameters ``M_0`` (units of the echo), ``b`` (inversion efficiency in [0, 1]) and
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
        b = float(np.clip(np.exp(intercept), 0.1, 0.99))
    else:
        t1, b = span / 3.0, 0.9
    return least_squares_fit(
        _recovery,
        t,
        y,
        [m0, b, float(np.clip(t1, span / 100.0, 100.0 * span))],
        model="inversion recovery",
        formula="M_0 (1 - 2 b exp(-t/T_1))",
        names=("M_0", "b", "T_1"),
        units=("", "", "s"),
        lower=[-np.inf, 0.0, _TINY_S],
        upper=[np.inf, 1.0, np.inf],
        sigma=sigma,
        magnitudes=(True, True, True),
        resolved={"T_1": decay_resolution(t)},
    )


def fit_stimulated_decay(
    mixing_s: np.ndarray, echo: np.ndarray, *, sigma: float | np.ndarray | None = None
) -> FitResult:
    r"""Fit the decay of a stimulated echo with the mixing time T (tau fixed).

    .. math:: E(T) = A\, e^{-T/T_\mathrm{stim}}, \qquad
        \frac{1}{T_\mathrm{stim}} = \frac{1}{T_1} + \Gamma_\mathrm{SD}

    During T the information is stored as a population grating, so the echo decays with the
    longitudinal relaxation T1 and with spectral diffusion (packets moving out of the grating,
    rate :math:`\Gamma_\mathrm{SD}`); the phase memory of the two tau intervals is a constant
    factor in A. Not the Hahn formula: T is not 2 tau.

    Parameters
    ----------
    mixing_s
        Mixing time T between the second and third pulse (s).
    echo
        Integrated stimulated echo at each T.
    sigma
        Noise standard deviation of one echo value; ``None`` estimates it from the residuals.

    Returns
    -------
    FitResult
        Parameters ``A`` and ``T_stim`` (s): T1 when spectral diffusion is negligible.
    """
    _check_times(mixing_s, echo, what="mixing", parameters=2)
    t = np.asarray(mixing_s, dtype=float)
    y = np.asarray(echo, dtype=float)
    return _fit_decay(
        t, y, sigma, model="stimulated-echo decay", formula="A exp(-T/T_stim)", name="T_stim"
    )
