"""The noise ``design`` puts on simulated records to predict ``plot``'s scatter.

References: the receiver's correlation (:func:`receiver_correlation`, itself checked against
scipy's filters in ``tests/echo/analysis/test_noise.py``) for every way the noise is drawn (one
FFT, FFTs in batches, mode by mode), the explicit FFT shaping for a batch that fits, and the
scatter ``plot`` sees whether the noisy records are drawn at once or in batches.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import spin_echo as se
from spin_echo.drivers.receiver import FILTER_ORDER
from spin_echo.echo.analysis.noise import receiver_correlation
from spin_echo.echo.design import scatter
from spin_echo.echo.design.predict import predict
from spin_echo.echo.design.scatter import plot_scatter, receiver_noise
from tests.echo.design.test_prediction import NOISY_BENCH, SMALL_HAHN

B = 2e6
TIMES = 3e-6 + np.arange(64) * 6.25e-8  # 64 points in 4 us, as a Hahn echo's window


def test_a_batch_that_fits_is_one_fft_of_white_noise():
    """The draws as before batches existed: white noise on the grid padded by 16/B, shaped."""
    step = TIMES[1] - TIMES[0]
    pad = int(np.ceil(16.0 / (B * step)))
    size = len(TIMES) + 2 * pad
    rng = np.random.default_rng(3)
    white = rng.standard_normal((5, 2, size)) + 1j * rng.standard_normal((5, 2, size))
    f = np.fft.fftfreq(size, d=step)
    power = (1.0 + (f / B) ** (2 * FILTER_ORDER)) ** -2
    shaped = np.fft.ifft(np.fft.fft(white, axis=-1) * np.sqrt(power / power.mean()), axis=-1)
    got = receiver_noise(np.random.default_rng(3), (5, 2), TIMES, B)
    np.testing.assert_array_equal(got, shaped[..., pad : pad + len(TIMES)])


@pytest.mark.parametrize(
    "batch", [scatter.BATCH, 2000, 300], ids=["one-fft", "fft-batches", "mode-by-mode"]
)
def test_every_way_of_drawing_has_the_receivers_correlation(monkeypatch, batch):
    monkeypatch.setattr(scatter, "BATCH", batch)
    noise = receiver_noise(np.random.default_rng(1), (2000, 2), TIMES, B).reshape(-1, len(TIMES))
    # 4000 complex rows: the correlation's standard error about 1/sqrt(8000) = 0.011
    assert np.mean(np.abs(noise) ** 2) / 2 == pytest.approx(1.0, abs=0.03)
    measured = np.mean((noise[:, :1].conj() * noise).real, axis=0) / 2
    expected = receiver_correlation(TIMES - TIMES[0], B)
    np.testing.assert_allclose(measured, expected, rtol=0, atol=0.05)


@pytest.mark.parametrize(
    ("points", "duration_s", "bandwidth_hz", "rows"),
    [(16, 2e-6, 0.5, 2000), (100_000, 10e-9, B, 3)],
    ids=["1-Hz-carrier", "100000-points-in-10-ns"],
)
def test_a_window_far_inside_the_correlation_is_drawn_in_bounded_memory(
    points, duration_s, bandwidth_hz, rows
):
    """The padded FFT grid would hold 16/B per side: 4.8e8 values at B = 0.5 Hz (7.6 GiB)."""
    time_s = np.arange(points) * (duration_s / points)
    tracemalloc.start()
    try:
        noise = receiver_noise(np.random.default_rng(2), (rows,), time_s, bandwidth_hz)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100e6, f"peak {peak / 1e6:.0f} MB"
    assert noise.shape == (rows, points)
    # the window is a small fraction of 1/B: the noise moves across it by about its increment
    # E|n(T) - n(0)|^2 = 4 (1 - rho(T)) (two quadratures of unit variance)
    increment = np.sqrt(4.0 * (1.0 - receiver_correlation(np.array(duration_s), bandwidth_hz)))
    assert 0 < np.max(np.abs(noise - noise[:, :1])) < 6 * increment
    if rows > 100:
        assert np.mean(np.abs(noise) ** 2) / 2 == pytest.approx(1.0, abs=0.1)


def test_plot_scatter_in_batches_has_the_same_statistics(monkeypatch):
    protocol, bench = se.load_protocol(SMALL_HAHN), se.load_bench(NOISY_BENCH)
    sample = se.load_sample("bare-t2").with_values(packets="50")
    prediction = predict(protocol, sample, bench, frame="rotating")
    mean, std = plot_scatter(prediction, realisations=200)
    for batch in (4480, 300):  # 7 records at a time by FFT; 2 at a time, mode by mode
        monkeypatch.setattr(scatter, "BATCH", batch)
        batched_mean, batched_std = plot_scatter(prediction, realisations=200)
        np.testing.assert_allclose(batched_std, std, rtol=0.25)
        assert np.all(np.abs(batched_mean - mean) < 4 * std * np.sqrt(2 / 200))
