r"""Spectroscopic fits: nutation frequency, and the hole burnt into an inhomogeneous line.

- Nutation: the echo (or FID) after a pulse of swept length or amplitude x oscillates at the
  Rabi frequency of the resonant, fully coupled packets and dephases because packets see
  different drive strengths (the coupling ``2 delta0 / E cos(theta)``):
  :math:`y(x) = A \sin(2\pi f x + \phi) e^{-x/\tau_d} + c`. With x a pulse length in s,
  f is the nutation (Rabi) frequency in Hz; with x a relative amplitude, f is in cycles per
  unit amplitude.
- Hole burning: the probe echo versus its frequency offset, on a sloping baseline, with a
  dip of fractional depth d and full width at half maximum w:
  :math:`y(f) = [b_0 + b_1 (f - f_0)] [1 - d\, L((f - f_0)/w)]`, with
  :math:`L(u) = 1/(1 + 4u^2)` (Lorentzian) or :math:`L(u) = \exp(-4 \ln 2\, u^2)` (Gaussian).

Both return a :class:`~spin_echo.echo.analysis.fitting.FitResult` with standard errors and refuse
nonsense
input with :class:`~spin_echo.echo.analysis.extraction.AnalysisError`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from spin_echo.echo.analysis.extraction import AnalysisError, check_signal
from spin_echo.echo.analysis.fitting import FitResult, least_squares_fit
from spin_echo.echo.units_format import format_quantity

__all__ = ["fit_hole", "fit_nutation", "hole_profile"]


def _check(x: np.ndarray, y: np.ndarray, *, what: str, parameters: int) -> None:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise AnalysisError(
            f"x and y must be 1-D of one length, got {x.shape} and {y.shape}", key=what
        )
    check_signal(x, what=what)
    check_signal(y, what="values", minimum_points=parameters + 2)
    if np.unique(x).size < parameters + 1:
        raise AnalysisError(f"needs at least {parameters + 1} distinct values", key=what)


def _nutation(
    x: np.ndarray, amplitude: float, frequency: float, phase: float, decay: float, offset: float
) -> np.ndarray:
    return amplitude * np.sin(2.0 * np.pi * frequency * x + phase) * np.exp(-x / decay) + offset


def fit_nutation(
    x: np.ndarray,
    echo: np.ndarray,
    *,
    units: str = "s",
    sigma: float | np.ndarray | None = None,
) -> FitResult:
    r"""Fit a damped nutation oscillation and return its frequency.

    .. math:: y(x) = A \sin(2\pi f x + \phi)\, e^{-x/\tau_d} + c

    The starting frequency is the peak of the zero-padded periodogram of ``y - mean(y)``
    (uniform or not, through a direct non-uniform sum), so the fit starts on the right fringe.

    Parameters
    ----------
    x
        Swept pulse length (s) or amplitude, at least 7 distinct values covering more than
        half a period.
    echo
        Integrated echo at each x.
    units
        Units of x (``"s"`` gives the frequency in Hz).
    sigma
        Noise standard deviation of one value; ``None`` estimates it from the residuals.

    Returns
    -------
    FitResult
        Parameters ``A``, ``f`` (1/units of x; Hz for times), ``phi`` (rad), ``tau_d``
        (units of x), ``c``. When the damping time comes out longer than ten times the swept
        range (not resolved: the oscillation barely decays), the undamped model
        :math:`A \sin(2\pi f x + \phi) + c` is fitted instead and returned without ``tau_d``
        (its model name says so). The health check flags f outside
        ``[0.5/range, 0.5/step]`` (less than half a period, or above the sweep's Nyquist
        frequency).
    """
    _check(x, echo, what="x", parameters=5)
    x = np.asarray(x, dtype=float)
    y = np.asarray(echo, dtype=float)
    span = float(np.ptp(x))
    if span == 0:
        raise AnalysisError("all x values are equal", key="x")
    step = float(np.min(np.diff(np.unique(x))))
    frequencies = np.linspace(0.25 / span, 0.5 / step, 16 * x.size)
    centred = y - y.mean()
    spectrum = np.exp(-2j * np.pi * np.outer(frequencies, x)) @ centred
    peak = int(np.argmax(np.abs(spectrum)))
    frequency = float(frequencies[peak])
    phase = float(np.angle(spectrum[peak] * np.exp(2j * np.pi * frequency * x.min()))) + np.pi / 2
    amplitude = float(np.sqrt(2.0) * centred.std())
    frequency_unit = "Hz" if units == "s" else f"1/{units}" if units else ""
    resolved = {"f": (0.5 / span, 0.5 / step), "tau_d": (step, 10.0 * span)}
    damped = least_squares_fit(
        _nutation,
        x,
        y,
        [amplitude, frequency, phase, 2.0 * span, float(y.mean())],
        model="nutation",
        formula="A sin(2 pi f x + phi) exp(-x/tau_d) + c",
        names=("A", "f", "phi", "tau_d", "c"),
        units=("", frequency_unit, "rad", units, ""),
        lower=[0.0, 0.0, -np.inf, span / 1000.0, -np.inf],
        sigma=sigma,
        magnitudes=(True, True, False, True, False),
        resolved=resolved,
    )
    if damped.value("tau_d") <= resolved["tau_d"][1]:
        return damped
    undamped = least_squares_fit(
        _undamped_nutation,
        x,
        y,
        [amplitude, frequency, phase, float(y.mean())],
        model="nutation, damping not resolved (tau_d > 10 x range)",
        formula="A sin(2 pi f x + phi) + c",
        names=("A", "f", "phi", "c"),
        units=("", frequency_unit, "rad", ""),
        lower=[0.0, 0.0, -np.inf, -np.inf],
        sigma=sigma,
        magnitudes=(True, True, False, False),
        resolved=resolved,
    )
    return undamped


def _undamped_nutation(
    x: np.ndarray, amplitude: float, frequency: float, phase: float, offset: float
) -> np.ndarray:
    return amplitude * np.sin(2.0 * np.pi * frequency * x + phase) + offset


def hole_profile(u: np.ndarray, shape: Literal["lorentzian", "gaussian"]) -> np.ndarray:
    """Unit-height hole shape at ``u = (f - f0) / FWHM``: Lorentzian or Gaussian."""
    if shape == "lorentzian":
        return 1.0 / (1.0 + 4.0 * u**2)
    if shape == "gaussian":
        return np.exp(-4.0 * np.log(2.0) * u**2)
    raise AnalysisError("must be 'lorentzian' or 'gaussian'", key="shape", value=shape)


def fit_hole(
    offset_hz: np.ndarray,
    echo: np.ndarray,
    *,
    shape: Literal["lorentzian", "gaussian"] = "lorentzian",
    sigma: float | np.ndarray | None = None,
) -> FitResult:
    r"""Fit the spectral hole in a probe-echo spectrum.

    .. math::
        y(f) = [b_0 + b_1 (f - f_0)]\,[1 - d\, L((f - f_0)/w)]

    Parameters
    ----------
    offset_hz
        Probe frequency offset (Hz) for each point; the hole must lie inside the range.
    echo
        Integrated probe echo at each offset (positive where there is no hole).
    shape
        Hole line shape, ``"lorentzian"`` or ``"gaussian"``.
    sigma
        Noise standard deviation of one value; ``None`` estimates it from the residuals.

    Returns
    -------
    FitResult
        Parameters ``b0`` (echo away from the hole, at f0), ``b1`` (slope, 1/Hz),
        ``d`` (fractional depth in [0, 1], 1 = the echo vanishes at f0), ``f0`` (Hz),
        ``w`` (FWHM, Hz). A hole wider than half the scanned range is refused: the baseline on
        both sides is what defines its depth; one narrower than two offset steps is drawn
        through too few points and flagged by the health check.
    """
    if shape not in ("lorentzian", "gaussian"):
        raise AnalysisError("must be 'lorentzian' or 'gaussian'", key="shape", value=shape)
    _check(offset_hz, echo, what="offset", parameters=5)
    f = np.asarray(offset_hz, dtype=float)
    y = np.asarray(echo, dtype=float)
    order = np.argsort(f)
    f, y = f[order], y[order]
    quarter = max(2, f.size // 5)
    edges = np.concatenate([y[:quarter], y[-quarter:]])
    edge_f = np.concatenate([f[:quarter], f[-quarter:]])
    slope, intercept = np.polyfit(edge_f, edges, 1)
    baseline = intercept + slope * f
    if not np.all(baseline > 0):
        raise AnalysisError("the echo away from the hole must be positive", key="echo")
    relative = 1.0 - y / baseline
    centre = int(np.argmax(relative))
    depth = float(np.clip(relative[centre], 0.02, 1.0))
    above = relative >= depth / 2.0
    left = centre
    while left > 0 and above[left - 1]:
        left -= 1
    right = centre
    while right < f.size - 1 and above[right + 1]:
        right += 1
    step = float(np.median(np.diff(f)))
    width = max(float(f[right] - f[left]), step)

    def model(x: np.ndarray, b0: float, b1: float, d: float, f0: float, w: float) -> np.ndarray:
        return (b0 + b1 * (x - f0)) * (1.0 - d * hole_profile((x - f0) / w, shape))

    result = least_squares_fit(
        model,
        f,
        y,
        [float(intercept + slope * f[centre]), float(slope), depth, float(f[centre]), width],
        model=f"{shape} hole",
        formula="(b0 + b1 (f - f0)) (1 - d L((f - f0)/w))",
        names=("b0", "b1", "d", "f0", "w"),
        units=("", "1/Hz", "", "Hz", "Hz"),
        lower=[0.0, -np.inf, 0.0, float(f[0]), step / 10.0],
        upper=[np.inf, np.inf, 1.0, float(f[-1]), 10.0 * float(np.ptp(f))],
        sigma=sigma,
        magnitudes=(True, False, True, False, True),
        resolved={"w": (2.0 * step, 0.5 * float(np.ptp(f)))},
    )
    if result.value("w") > 0.5 * float(np.ptp(f)):
        raise AnalysisError(
            f"the fitted hole (FWHM {format_quantity(result.value('w'), 'Hz')}) is not narrower "
            f"than half the scanned range ({format_quantity(float(np.ptp(f)), 'Hz')}): no hole "
            "is resolved; scan a wider range",
            key="offset",
        )
    return result
