r"""What ``spin-echo plot`` will measure: the integrated echo of noisy records, by Monte Carlo.

The prediction's noise (:func:`spin_echo.echo.design.noise.noise_per_point`) is that of the
integrated echo over a *fixed* window, the echo window of the expected signal. ``spin-echo
plot`` finds its window on the measured record itself
(:func:`~spin_echo.echo.analysis.extraction.find_echo`: the half maximum of the noisy
:math:`|s(t)|` profile) and its zero-order phase from the noisy sum, so at a modest SNR its
window moves from record to record and its integrated echo scatters more, and is biased up
(the noise raises the profile's floor and narrows the window around the peak).

:func:`plot_scatter` puts the bench's noise on the simulated record many times -- complex
Gaussian noise per quadrature :math:`\sigma` (:attr:`PointNoise.quadrature`) with the
receiver's spectrum along time, as :mod:`spin_echo.echo.analysis.noise` models it (shaped in
frequency, windows independent) --
and runs the extraction ``plot`` runs on each: mean and standard deviation per point.
"""

from __future__ import annotations

import numpy as np

from spin_echo.drivers.receiver import FILTER_ORDER
from spin_echo.echo.analysis.extraction import find_echo, integrate_echo, record_signal
from spin_echo.echo.design.predict import Prediction, front_end_gain

__all__ = ["BATCH", "REALISATIONS", "plot_scatter", "receiver_noise"]

#: Noisy records drawn by default (the standard deviation to about 7 %).
REALISATIONS = 100
#: Complex values drawn at once (64 MB): realisations, sweep points and FFT grids beyond it go
#: in batches, and a window whose padded FFT grid alone exceeds it is drawn mode by mode.
BATCH = 1 << 22


def plot_scatter(
    prediction: Prediction, *, realisations: int = REALISATIONS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and standard deviation of ``plot``'s integrated echo per sweep point.

    Parameters
    ----------
    prediction
        From :func:`spin_echo.echo.design.predict.predict` (its simulated record and noise).
    realisations
        Noisy records drawn, all at once when their noise takes at most :data:`BATCH` values
        (with its FFT padding), else in batches.
    seed
        Seed of the noise.

    Returns
    -------
    mean, std
        Per sweep point in C order (flattened), in the units of the signal.
    """
    record = prediction.record
    signal = record_signal(record) * front_end_gain(prediction.protocol, prediction.bench)
    dims = [d for d in signal.dims if d != "time"]
    signal = signal.transpose(*dims, "time")
    time_s = np.asarray(record["time"].values, dtype=float)
    windows = record["window"].values if "window" in record else np.zeros(len(time_s), int)
    sigma = prediction.noise.quadrature
    bandwidth_hz = prediction.noise.bench.bandwidth_hz
    rng = np.random.default_rng(seed)
    points = int(np.prod(signal.shape[:-1]))
    values = sum(_footprint(time_s[windows == w], bandwidth_hz) for w in np.unique(windows))
    batch = realisations
    if realisations * points * values > BATCH:
        batch = max(1, BATCH // (points * values))
    results = []
    for first in range(0, realisations, batch):
        count = min(batch, realisations - first)
        noise = np.empty((count, *signal.shape), dtype=complex)
        for w in np.unique(windows):
            inside = windows == w
            noise[..., inside] = sigma * receiver_noise(
                rng, (count, *signal.shape[:-1]), time_s[inside], bandwidth_hz
            )
        for draw in noise:
            noisy = signal + draw
            noisy.attrs = signal.attrs
            echo = integrate_echo(noisy, window=find_echo(noisy), mode=prediction.mode)  # type: ignore[arg-type]
            results.append(np.asarray(echo.values, dtype=float).ravel())
    table = np.array(results)
    return table.mean(axis=0), table.std(axis=0, ddof=1)


def _grid(time_s: np.ndarray, bandwidth_hz: float) -> tuple[float, int]:
    """Return the step of the uniform ``time_s`` and the FFT grid's size, padded by 16/B."""
    n = len(time_s)
    step = float(time_s[1] - time_s[0]) if n > 1 else 1.0
    pad = int(np.ceil(16.0 / (bandwidth_hz * step))) if n > 1 else 0
    return step, n + 2 * pad


def _footprint(time_s: np.ndarray, bandwidth_hz: float) -> int:
    """Return the values one draw over ``time_s`` holds: its FFT grid, or its times (modes)."""
    size = _grid(time_s, bandwidth_hz)[1]
    return size if size <= BATCH else len(time_s)


def receiver_noise(
    rng: np.random.Generator, shape: tuple[int, ...], time_s: np.ndarray, bandwidth_hz: float
) -> np.ndarray:
    r"""Return unit complex noise on the uniform ``time_s`` with the receiver's spectrum.

    White noise on a grid padded by :math:`16/B` at each end is shaped in frequency by
    :math:`\sqrt{P(f)}`, :math:`P = (1 + (f/B)^8)^{-2}` (the spectrum of
    :func:`~spin_echo.echo.analysis.noise.receiver_correlation`), normalised to unit variance
    per quadrature; the padding keeps the circular wrap beyond the correlation's reach. The
    rows of ``shape`` go :data:`BATCH` values at a time. When the padded grid alone exceeds
    :data:`BATCH` (a window much shorter than :math:`1/B` on a fine grid, or a narrow
    bandwidth), the same periodic process is summed mode by mode at the times instead:
    :math:`\sum_k c_k e^{2\pi i f_k (t - t_0)}` over the grid's frequencies
    :math:`f_k = k/T` (:math:`T` its period) with :math:`|f_k| \le 6B` (:math:`P < 4 \cdot
    10^{-13}` beyond), :math:`c_k` complex Gaussian of variance :math:`2P_k/\sum_k P_k`:
    memory O(len(time_s)) whatever the bandwidth.

    Parameters
    ----------
    rng
        Source of the draws.
    shape
        Leading shape of the result (realisations, sweep points).
    time_s
        Uniform times, seconds.
    bandwidth_hz
        Receiver bandwidth :math:`B`, Hz.

    Returns
    -------
    numpy.ndarray
        Complex, ``(*shape, len(time_s))``.
    """
    n = len(time_s)
    step, size = _grid(time_s, bandwidth_hz)
    if size > BATCH:
        return _mode_noise(rng, shape, np.asarray(time_s, dtype=float), step * size, bandwidth_hz)
    f = np.fft.fftfreq(size, d=step)
    power = (1.0 + (f / bandwidth_hz) ** (2 * FILTER_ORDER)) ** -2
    gain = np.sqrt(power / power.mean())
    pad = (size - n) // 2
    rows = int(np.prod(shape))
    if rows * size <= BATCH:
        return _shaped(rng, shape, gain)[..., pad : pad + n]
    out = np.empty((rows, n), dtype=complex)
    batch = max(1, BATCH // size)
    for first in range(0, rows, batch):
        count = min(batch, rows - first)
        out[first : first + count] = _shaped(rng, (count,), gain)[:, pad : pad + n]
    return out.reshape(*shape, n)


def _shaped(rng: np.random.Generator, shape: tuple[int, ...], gain: np.ndarray) -> np.ndarray:
    """Return complex white noise of ``shape`` x ``len(gain)`` shaped by ``gain`` (FFT)."""
    size = len(gain)
    white = rng.standard_normal((*shape, size)) + 1j * rng.standard_normal((*shape, size))
    return np.fft.ifft(np.fft.fft(white, axis=-1) * gain, axis=-1)


def _mode_noise(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    time_s: np.ndarray,
    period_s: float,
    bandwidth_hz: float,
) -> np.ndarray:
    """Return :func:`receiver_noise` summed over the modes below 6B at ``time_s``."""
    reach = int(6.0 * bandwidth_hz * period_s)
    f = np.arange(-reach, reach + 1) / period_s
    power = (1.0 + (f / bandwidth_hz) ** (2 * FILTER_ORDER)) ** -2
    amplitude = np.sqrt(power / power.sum())
    draws = (*shape, len(f))
    modes = (rng.standard_normal(draws) + 1j * rng.standard_normal(draws)) * amplitude
    modes = modes.reshape(-1, len(f))
    out = np.empty((len(modes), len(time_s)), dtype=complex)
    times = max(1, BATCH // (4 * len(f)))  # (modes x times) phases of 16 MB
    for first in range(0, len(time_s), times):
        phase = np.multiply.outer(2.0 * np.pi * f, time_s[first : first + times] - time_s[0])
        waves = np.empty(phase.shape, dtype=complex)
        np.cos(phase, out=waves.real)
        np.sin(phase, out=waves.imag)
        out[:, first : first + times] = modes @ waves
    return out.reshape(*shape, len(time_s))
