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

__all__ = ["REALISATIONS", "plot_scatter"]

#: Noisy records drawn by default (the standard deviation to about 7 %).
REALISATIONS = 100


def plot_scatter(
    prediction: Prediction, *, realisations: int = REALISATIONS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and standard deviation of ``plot``'s integrated echo per sweep point.

    Parameters
    ----------
    prediction
        From :func:`spin_echo.echo.design.predict.predict` (its simulated record and noise).
    realisations
        Noisy records drawn.
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
    rng = np.random.default_rng(seed)
    noise = np.empty((realisations, *signal.shape), dtype=complex)
    for w in np.unique(windows):
        inside = windows == w
        noise[..., inside] = sigma * _receiver_noise(
            rng,
            (realisations, *signal.shape[:-1]),
            time_s[inside],
            prediction.noise.bench.bandwidth_hz,
        )
    results = []
    for draw in noise:
        noisy = signal + draw
        noisy.attrs = signal.attrs
        echo = integrate_echo(noisy, window=find_echo(noisy), mode=prediction.mode)  # type: ignore[arg-type]
        results.append(np.asarray(echo.values, dtype=float).ravel())
    table = np.array(results)
    return table.mean(axis=0), table.std(axis=0, ddof=1)


def _receiver_noise(
    rng: np.random.Generator, shape: tuple[int, ...], time_s: np.ndarray, bandwidth_hz: float
) -> np.ndarray:
    r"""Return unit complex noise on the uniform ``time_s`` with the receiver's spectrum.

    White noise on a grid padded by :math:`16/B` at each end is shaped in frequency by
    :math:`\sqrt{P(f)}`, :math:`P = (1 + (f/B)^8)^{-2}` (the spectrum of
    :func:`~spin_echo.echo.analysis.noise.receiver_correlation`), normalised to unit variance
    per quadrature; the padding keeps the circular wrap beyond the correlation's reach.
    """
    n = len(time_s)
    step = float(time_s[1] - time_s[0]) if n > 1 else 1.0
    pad = int(np.ceil(16.0 / (bandwidth_hz * step))) if n > 1 else 0
    size = n + 2 * pad
    f = np.fft.fftfreq(size, d=step)
    power = (1.0 + (f / bandwidth_hz) ** (2 * FILTER_ORDER)) ** -2
    gain = np.sqrt(power / power.mean())
    white = rng.standard_normal((*shape, size)) + 1j * rng.standard_normal((*shape, size))
    shaped = np.fft.ifft(np.fft.fft(white, axis=-1) * gain, axis=-1)
    return shaped[..., pad : pad + n]
