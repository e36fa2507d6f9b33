r"""The noise of a measured record: its size per quadrature and its correlation along time.

A measured record (``spin-echo run``) samples the demodulated signal far above the receiver's
bandwidth (e.g. 64 MSa/s through a 2 MHz low-pass), so its noise is correlated between
neighbouring times. Two consequences handled here:

- *Size*. When the record holds the standard error of the mean from the shot-to-shot scatter
  (``signal_sem_re``, ``signal_sem_im``), the noise per quadrature is their pooled rms,
  :math:`\sigma^2 = \langle (\mathrm{sem}_\mathrm{re}^2 + \mathrm{sem}_\mathrm{im}^2)/2
  \rangle` over every written point (the noise of a bench is stationary; pooling avoids the
  :math:`(n-1)/(n-3)` bias of dividing by per-point variances estimated from n shots). Without
  them (a single shot, or a record from elsewhere), fourth differences are taken at a spacing of
  about :math:`1/(2B)` (the record decimated to its receiver bandwidth :math:`B`, every offset
  used), where band-limited noise is nearly white, and normalised by their exact variance for
  the receiver's noise spectrum (see below). A signal smooth on the scale :math:`1/(2B)`
  contributes little and the median absolute deviation ignores the few points where it does
  not; an echo much stronger than the noise and as narrow as the receiver allows can still
  inflate this estimate, which is why measurements store the standard error.
- *Correlation*. The receiver (:mod:`drivers.receiver`) is a Butterworth low-pass of order 4
  applied forwards and backwards, so white input noise leaves it with the power spectrum
  :math:`P(f) = (1 + (f/B)^8)^{-2}` per quadrature and the correlation

  .. math:: \rho(\tau) = \int_0^\infty P(f) \cos(2\pi f \tau)\, df \Big/ \int_0^\infty P(f)\, df.

  Times in different detection windows (``window`` coordinate) are uncorrelated. A sum of
  :math:`N` squared normalised residuals then has the mean :math:`N` but the variance
  :math:`2 \sum_{ij} \rho_{ij}^2`: the reduced chi-square scatters as if there were
  :math:`N_\mathrm{eff} = N^2 / \sum_{ij} \rho_{ij}^2` independent values. Those sums and the
  products with :math:`\rho` are taken without the N x N matrix (:func:`correlation_sum`,
  :func:`correlate`: :math:`\rho` is Toeplitz on a window's uniform grid), so a window of
  :math:`10^5` times costs O(N) memory, not 80 GB.

A simulated record carries the same variables as the Monte-Carlo standard error of its packet
sum (``signal_sem_re``/``_im`` from independent packet replicas): it is used like measured noise,
but its errors are those of one set of packets, correlated over the whole trace (a replica that
is high at one time is high at its neighbours), so :attr:`NoiseEstimate.monte_carlo` takes every
time of one detection window as fully correlated.

This module is the one noise estimator: every analysis (echo curves, CPMG trains, compare, fit)
takes its noise from :func:`record_noise`.

The receiver bandwidth comes from the record's ``receiver_bandwidth_hz`` attribute, else from
its ``bench`` (``receiver.bandwidth``, or half the protocol's carrier, the receiver's default);
a record without either (a simulation with added noise), or whose bench and protocol cannot be
read, is taken to have white noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from spin_echo.drivers.receiver import FILTER_ORDER, default_bandwidth_hz
from spin_echo.echo.analysis.extraction import AnalysisError, check_signal, locate_error
from spin_echo.echo.record_info import record_info
from spin_echo.echo.units_format import format_quantity

__all__ = [
    "MAD_TO_SIGMA",
    "NoiseEstimate",
    "band_limited_noise",
    "correlate",
    "correlation_matrix",
    "correlation_sum",
    "receiver_bandwidth_hz",
    "receiver_correlation",
    "record_noise",
    "shot_noise",
    "signal_below_error",
]

#: Robust conversion from median absolute deviation to standard deviation (Gaussian).
MAD_TO_SIGMA = 1.482602218505602
#: Relative standard error of a MAD-based sigma times sqrt(n) (Gaussian, 1/sqrt(2 * 0.3675)).
MAD_RELATIVE_ERROR = 1.1664
#: Lag times bandwidth from which :func:`receiver_correlation` is 0 (half its sum's period).
ALIAS_LAG = 500.0
#: Lags evaluated at once by :func:`receiver_correlation` (cosines of 100 MB).
LAG_CHUNK = 2048
#: The fourth-difference stencil.
STENCIL = np.array([1.0, -4.0, 6.0, -4.0, 1.0])


@dataclass(frozen=True)
class NoiseEstimate:
    """Noise of a record's signal, per quadrature.

    Attributes
    ----------
    sigma
        Standard deviation per quadrature of one recorded value (units of the signal).
    error
        Standard error of ``sigma``.
    source
        How it was obtained, for reports.
    bandwidth_hz
        Receiver bandwidth that correlates the noise along time; None for white noise.
    monte_carlo
        True for the Monte-Carlo error of a simulation: fully correlated within a window.
    """

    sigma: float
    error: float
    source: str
    bandwidth_hz: float | None
    monte_carlo: bool = False

    def correlation_sum(
        self, time_s: np.ndarray, window: np.ndarray | None = None, *, squared: bool = False
    ) -> float:
        """Return the sum of the noise correlation's elements (squared) over ``time_s``.

        The receiver's correlation by :func:`correlation_sum`; for a Monte-Carlo error, which
        is 1 between any two times of one window, the sum of the windows' squared sizes.

        Parameters
        ----------
        time_s, window
            Record times (seconds) and their detection windows (None: one window).
        squared
            Sum the squared elements.
        """
        if self.monte_carlo:
            return float(sum(len(g) ** 2 for g in _groups(len(np.asarray(time_s)), window)))
        return correlation_sum(time_s, self.bandwidth_hz, window=window, squared=squared)

    def mean_sigma(self, time_s: np.ndarray) -> float:
        r"""Return the standard deviation of the mean over ``time_s`` (one window).

        .. math:: \sigma_{\bar s} = \sigma \sqrt{\textstyle\sum_{ij} \rho_{ij}} / n
        """
        time_s = np.asarray(time_s, dtype=float)
        return self.sigma * float(np.sqrt(self.correlation_sum(time_s))) / len(time_s)

    def effective_count(self, time_s: np.ndarray, window: np.ndarray | None = None) -> float:
        r"""Return :math:`N^2/\sum_{ij}\rho_{ij}^2`, independent values in one trace over time."""
        return float(len(time_s) ** 2 / self.correlation_sum(time_s, window, squared=True))


def receiver_correlation(lags_s: np.ndarray, bandwidth_hz: float) -> np.ndarray:
    r"""Return the correlation :math:`\rho(\tau)` of the receiver's output noise at ``lags_s``.

    Parameters
    ----------
    lags_s
        Time lags, seconds (any shape).
    bandwidth_hz
        Receiver bandwidth :math:`B`, Hz.

    Returns
    -------
    numpy.ndarray
        :math:`\rho`, 1 at zero lag, by the trapezoid rule over :math:`0 \le f \le 6B`
        (where :math:`P < 10^{-12}`), 6000 intervals per :math:`6B`. That sum repeats itself
        with the period :math:`1000/B` in the lag; :math:`\rho` is 0 from :data:`ALIAS_LAG`
        :math:`/B` on (half the period; :math:`|\rho| < 10^{-15}` from :math:`16/B` on).
        Evaluated :data:`LAG_CHUNK` lags at a time.
    """
    f = np.linspace(0.0, 6.0 * bandwidth_hz, 6001)
    power = (1.0 + (f / bandwidth_hz) ** (2 * FILTER_ORDER)) ** -2
    lags = np.abs(np.asarray(lags_s, dtype=float))
    weights = power * np.gradient(f)
    weights[[0, -1]] /= 2.0
    near = np.flatnonzero(lags.ravel() * bandwidth_hz < ALIAS_LAG)
    values = np.zeros(lags.size)
    phases = np.empty((min(len(near), LAG_CHUNK), len(f)))
    for begin in range(0, len(near), LAG_CHUNK):
        part = near[begin : begin + LAG_CHUNK]
        chunk = np.multiply.outer(lags.ravel()[part], f, out=phases[: len(part)])
        chunk *= 2.0 * np.pi
        values[part] = np.cos(chunk, out=chunk) @ weights
    return (values / weights.sum()).reshape(lags.shape)


def _rows(time_s: np.ndarray, bandwidth_hz: float, rows: slice) -> np.ndarray:
    """Return rows ``rows`` of :func:`correlation_matrix` (one window), lags rounded to 10 fs."""
    lags = np.abs(np.subtract.outer(time_s[rows], time_s))
    unique, inverse = np.unique(np.round(lags * 1e14), return_inverse=True)
    return receiver_correlation(unique * 1e-14, bandwidth_hz)[inverse].reshape(lags.shape)


def correlation_matrix(
    time_s: np.ndarray, bandwidth_hz: float | None, *, window: np.ndarray | None = None
) -> np.ndarray:
    """Return the noise correlation between every two record times (identity for white noise).

    Parameters
    ----------
    time_s
        Record times, seconds.
    bandwidth_hz
        Receiver bandwidth, Hz; None for white noise.
    window
        Detection window of each time; different windows are uncorrelated.

    Lags are rounded to 10 fs so that a uniform grid needs one evaluation per distinct lag.
    The matrix is N x N: :func:`correlation_sum` and :func:`correlate` give its sums and its
    products in O(N) memory.
    """
    time_s = np.asarray(time_s, dtype=float)
    if bandwidth_hz is None:
        return np.eye(len(time_s))
    rho = _rows(time_s, bandwidth_hz, slice(None))
    if window is not None:
        window = np.asarray(window)
        rho = np.where(np.equal.outer(window, window), rho, 0.0)
    return rho


def _groups(size: int, window: np.ndarray | None) -> list[np.ndarray]:
    """Return the indices of each window (every index without windows): uncorrelated groups."""
    if size == 0:
        return []
    if window is None:
        return [np.arange(size)]
    _, inverse = np.unique(np.asarray(window), return_inverse=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    return np.split(order, np.cumsum(np.bincount(inverse.ravel()))[:-1])


def _diagonals(time_s: np.ndarray, bandwidth_hz: float) -> np.ndarray | None:
    """Return rho of each diagonal of a uniform axis (the first row's lags), else None."""
    n = len(time_s)
    step = (time_s[-1] - time_s[0]) / max(n - 1, 1)
    grid = time_s[0] + step * np.arange(n)
    if np.max(np.abs(time_s - grid)) > 1e-9 * abs(step):
        return None
    return _rows(time_s, bandwidth_hz, slice(0, 1))[0]


def _row_chunks(n: int) -> list[slice]:
    """Return slices of the rows of an ``n`` x ``n`` matrix, 2**21 elements (16 MB) each."""
    rows = max(1, (1 << 21) // n)
    return [slice(k, k + rows) for k in range(0, n, rows)]


def correlation_sum(
    time_s: np.ndarray,
    bandwidth_hz: float | None,
    *,
    window: np.ndarray | None = None,
    squared: bool = False,
) -> float:
    r"""Return :math:`\sum_{ij}\rho_{ij}` (``squared``: :math:`\sum_{ij}\rho_{ij}^2`).

    The sums of :func:`correlation_matrix`'s elements, window by window, without the N x N
    matrix: on a uniform window of ``n`` times (each within 1e-9 steps of its grid), with
    :math:`r_d` the correlation at the lag of ``d`` steps,

    .. math:: \sum_{ij}\rho_{ij} = n r_0 + 2\sum_{d=1}^{n-1}(n - d)\, r_d

    (O(n) memory and time); on any other window, rows of the matrix a few at a time. Equal to
    the matrix's sums to rounding, but for the matrix's rounding of each lag to 10 fs (one
    rounding per diagonal here: identical when the step is a multiple of 10 fs).

    Parameters
    ----------
    time_s
        Record times, seconds.
    bandwidth_hz
        Receiver bandwidth, Hz; None for white noise (the sum is the number of times).
    window
        Detection window of each time; different windows are uncorrelated.
    squared
        Sum the squared correlations (for :math:`N_\mathrm{eff}`).
    """
    time_s = np.asarray(time_s, dtype=float)
    if bandwidth_hz is None:
        return float(len(time_s))
    power = 2 if squared else 1
    total = 0.0
    for group in _groups(len(time_s), window):
        times = time_s[group]
        table = _diagonals(times, bandwidth_hz)
        if table is None:
            for rows in _row_chunks(len(times)):
                total += float(np.sum(_rows(times, bandwidth_hz, rows) ** power))
            continue
        weights = len(times) - np.arange(len(times), dtype=float)
        weights[1:] *= 2.0
        total += float(weights @ table**power)
    return total


def correlate(
    values: np.ndarray,
    time_s: np.ndarray,
    bandwidth_hz: float | None,
    *,
    window: np.ndarray | None = None,
) -> np.ndarray:
    r"""Return :math:`\rho\, v`: the correlation matrix times ``values`` along their first axis.

    What ``correlation_matrix(time_s, bandwidth_hz, window=window) @ values`` gives, without
    the N x N matrix: on a uniform window (see :func:`correlation_sum`) the product with its
    Toeplitz matrix is a circular convolution with the correlation's diagonals
    :math:`r_{|d|}`, by real FFTs of length :math:`2n` (O(n log n)); on any other window,
    rows of the matrix a few at a time (2**21 elements at a time).

    Parameters
    ----------
    values
        Real array of shape ``(len(time_s), ...)``.
    time_s, bandwidth_hz, window
        As for :func:`correlation_matrix` (None: white noise, ``values`` returned as a copy).
    """
    time_s = np.asarray(time_s, dtype=float)
    values = np.asarray(values, dtype=float)
    flat = values.reshape(len(time_s), -1)
    if bandwidth_hz is None:
        return values.copy()
    out = np.empty(flat.shape)
    for group in _groups(len(time_s), window):
        times, n = time_s[group], len(group)
        table = _diagonals(times, bandwidth_hz)
        if table is None:
            for rows in _row_chunks(n):
                out[group[rows]] = _rows(times, bandwidth_hz, rows) @ flat[group]
            continue
        size = 2 * n
        kernel = np.zeros(size)
        kernel[:n] = table
        kernel[size - n + 1 :] = table[:0:-1]
        spectrum = np.fft.rfft(kernel)[:, None]
        columns = max(1, (1 << 21) // size)
        for c in range(0, flat.shape[1], columns):
            part = np.fft.rfft(flat[group, c : c + columns], size, axis=0)
            out[group, c : c + columns] = np.fft.irfft(part * spectrum, size, axis=0)[:n]
    return out.reshape(values.shape)


def receiver_bandwidth_hz(dataset: xr.Dataset) -> float | None:
    """Return the receiver bandwidth a record was measured through, Hz (None: not a run).

    From the ``receiver_bandwidth_hz`` attribute; else the ``bench`` attribute's
    ``receiver.bandwidth``, or half the carrier of the record's protocol (the default); None
    (noise taken as white) when neither can be read.
    """
    info = record_info(dataset)
    if info.receiver_bandwidth_hz is not None:
        return info.receiver_bandwidth_hz
    if info.bench_text is None or not info.bench_text.strip():
        return None
    if info.bench_bandwidth_hz is not None:
        return info.bench_bandwidth_hz
    protocol = info.protocol_or_none
    return None if protocol is None else default_bandwidth_hz(protocol.carrier_hz)


def shot_noise(dataset: xr.Dataset) -> NoiseEstimate:
    """Return the pooled standard error of a record that stores ``signal_sem_re``/``_im``.

    For a simulation these are the Monte-Carlo error of its packet replicas
    (:attr:`NoiseEstimate.monte_carlo`); the error of the pooled value then counts the replicas
    (attribute ``replicas``) as the independent draws.
    """
    variance = 0.5 * (dataset["signal_sem_re"] ** 2 + dataset["signal_sem_im"] ** 2)
    values = np.asarray(variance.values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        error = AnalysisError("holds no written standard error", key="signal_sem_re")
        raise locate_error(error, dataset)
    info = record_info(dataset)
    shots = info.shots or 0
    if not info.measured:
        replicas = int(dataset.attrs.get("replicas", 0))
        sigma = float(np.sqrt(values.mean()))
        counted = f"{replicas} packet replicas" if replicas else "packet replicas"
        return NoiseEstimate(sigma, sigma / np.sqrt(max(2 * replicas - 2, 1)),
                             f"Monte-Carlo error, {counted}", None, monte_carlo=True)  # fmt: skip
    bandwidth = receiver_bandwidth_hz(dataset)
    estimate = NoiseEstimate(float(np.sqrt(values.mean())), 0.0, "", bandwidth)
    time_s = np.asarray(dataset["time"].values, dtype=float)
    window = dataset["window"].values if "window" in dataset else None
    traces = 2 * values.size / len(time_s)
    independent = traces * estimate.effective_count(time_s, window)
    relative = np.sqrt(2.0 / (max(shots - 1, 1) * independent)) / 2.0
    counted = f"{shots} shots" if shots else "shots"
    return NoiseEstimate(
        estimate.sigma, estimate.sigma * relative, f"shot-to-shot scatter, {counted}", bandwidth
    )


def band_limited_noise(
    signal: xr.DataArray | np.ndarray, time_s: np.ndarray, bandwidth_hz: float | None
) -> NoiseEstimate:
    r"""Estimate band-limited noise from fourth differences at the receiver's resolution.

    With record step :math:`\delta` the differences :math:`d_i = \sum_j c_j s_{i + jq}`
    (:math:`c = 1, -4, 6, -4, 1`) are taken at the spacing :math:`q\delta`,
    :math:`q = \max(1, \lfloor 1/(2B\delta) \rfloor)`, at every offset :math:`i`; for noise of
    correlation :math:`\rho`, :math:`\mathrm{var}(d) = \sigma^2 \sum_{jk} c_j c_k
    \rho((j-k)q\delta)` (70 for white noise), so
    :math:`\sigma = 1.4826\,\mathrm{MAD}(d) / \sqrt{\sum_{jk} c_j c_k \rho((j-k)q\delta)}`.
    Its standard error is :math:`1.166\,\sigma/\sqrt{n_\mathrm{eff}}`, with
    :math:`n_\mathrm{eff} = n / \sum_m \rho_d(m\delta)^2` for the :math:`n` differences of
    correlation :math:`\rho_d`.

    Parameters
    ----------
    signal
        Complex signal whose last axis is time (sweep points never written may be NaN).
    time_s
        The uniform time axis, seconds.
    bandwidth_hz
        Receiver bandwidth, Hz; None for white noise (:math:`q = 1`).
    """
    values = np.asarray(signal.values if isinstance(signal, xr.DataArray) else signal)
    check_signal(values, what="signal", missing_points_ok=True)
    values = values.reshape(-1, values.shape[-1])
    values = values[np.isfinite(values).all(axis=-1)]
    time_s = np.asarray(time_s, dtype=float)
    step = float(np.median(np.diff(time_s))) if time_s.size > 1 else 1.0
    q = 1 if bandwidth_hz is None else max(1, int(1.0 / (2.0 * bandwidth_hz * step)))
    if values.shape[-1] < 4 * q + 1:
        raise AnalysisError(
            f"needs at least {4 * q + 1} time points to estimate the noise at the receiver's "
            f"resolution (1 in {q})",
            key="signal",
        )
    taps = len(values[0]) - 4 * q
    d = sum(c * values[:, j * q : j * q + taps] for j, c in enumerate(STENCIL))
    parts = np.concatenate([d.real.ravel(), d.imag.ravel()])
    mad = float(np.median(np.abs(parts - np.median(parts))))

    reach = 12 * q
    lags = np.arange(-reach, reach + 1)
    if bandwidth_hz is None:
        table = (lags == 0).astype(float)
    else:
        table = receiver_correlation(lags * step, bandwidth_hz)
    offsets = np.subtract.outer(np.arange(5) * q, np.arange(5) * q) + reach
    gain = float(STENCIL @ table[offsets] @ STENCIL)
    shifts = np.arange(-8 * q, 8 * q + 1)
    rho_d = np.array([STENCIL @ table[offsets - m] @ STENCIL for m in shifts]) / gain
    independent = parts.size / float(np.sum(rho_d**2))
    sigma = MAD_TO_SIGMA * mad / np.sqrt(gain)
    where = "white noise" if bandwidth_hz is None else f"receiver bandwidth {bandwidth_hz:.4g} Hz"
    return NoiseEstimate(
        sigma,
        MAD_RELATIVE_ERROR * sigma / np.sqrt(independent),
        f"fourth differences at 1 in {q} time points ({where})",
        bandwidth_hz,
    )


def record_noise(dataset: xr.Dataset) -> NoiseEstimate:
    """Return the noise of a record: shot-to-shot standard error if stored, else band-limited.

    Parameters
    ----------
    dataset
        A record (SPEC.md), e.g. from :func:`echo.record.read_record`.
    """
    if "signal_sem_re" in dataset and "signal_sem_im" in dataset:
        return shot_noise(dataset)
    signal = dataset["signal_re"] + 1j * dataset["signal_im"]
    return band_limited_noise(signal.values, dataset["time"].values, receiver_bandwidth_hz(dataset))


def signal_below_error(dataset: xr.Dataset) -> str:
    """Return a label when the record's largest signal is below twice its stored error.

    Only for records that store their error (``signal_sem_re``/``_im``): a simulation's
    Monte-Carlo error or a measurement's shot-to-shot scatter.

    Returns
    -------
    str
        ``"signal below its Monte-Carlo error (...)"`` for a simulation, ``"signal below the
        noise (...)"`` for a measurement, ``""`` when the signal stands out.
    """
    if "signal_sem_re" not in dataset or "signal_sem_im" not in dataset:
        return ""
    signal = np.abs(np.asarray((dataset["signal_re"] + 1j * dataset["signal_im"]).values))
    largest = float(np.nanmax(signal)) if np.any(np.isfinite(signal)) else 0.0
    sigma = shot_noise(dataset).sigma
    if largest >= 2.0 * sigma:
        return ""
    what = "the noise" if record_info(dataset).measured else "its Monte-Carlo error"
    return (
        f"signal below {what} (largest |s| {format_quantity(largest, '', digits=2)} < 2 sigma "
        f"= {format_quantity(2 * sigma, '', digits=2)})"
    )
