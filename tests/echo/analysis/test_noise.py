"""spin_echo.echo.analysis.noise: receiver correlation, band-limited noise estimate, pooled
shot-to-shot error.

Independent references: the correlation is checked against the autocorrelation of scipy's own
Butterworth filter applied forwards and backwards to an impulse; the noise estimate against
seeded noise filtered that way, whose sigma follows in closed form from the input sigma.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, signal

from spin_echo.echo.analysis.noise import (
    NoiseEstimate,
    band_limited_noise,
    correlate,
    correlation_matrix,
    correlation_sum,
    receiver_bandwidth_hz,
    receiver_correlation,
    record_noise,
)

FS, B = 256e6, 2e6  # fine simulation rate and receiver bandwidth
STEP = 4  # record at 64 MSa/s, as spin-echo run's Hahn echo
FACTOR = integrate.quad(lambda x: (1.0 + x**8) ** -2, 0.0, np.inf)[0]


def band_limited(shape, sigma_in, seed):
    """Complex white noise at FS through the zero-phase order-4 Butterworth, every STEP-th."""
    rng = np.random.default_rng(seed)
    sos = signal.butter(4, B, fs=FS, output="sos")
    white = rng.standard_normal((*shape, 2)) * sigma_in
    out = signal.sosfiltfilt(sos, white, axis=-2)[..., 2000:-2000:STEP, :]
    return out[..., 0] + 1j * out[..., 1]


def sigma_out(sigma_in):
    """Closed form: variance sigma_in^2 / FS * 2 B int_0^inf (1 + x^8)^-2 dx."""
    return sigma_in * np.sqrt(2 * B * FACTOR / FS)


def test_correlation_is_the_filter_autocorrelation():
    sos = signal.butter(4, B, fs=FS, output="sos")
    impulse = np.zeros(1 << 16)
    impulse[1 << 15] = 1.0
    response = signal.sosfiltfilt(sos, impulse)
    auto = np.fft.irfft(np.abs(np.fft.rfft(response, 2 * len(response))) ** 2)
    lags = np.arange(0, 400, 7)
    expected = auto[lags] / auto[0]
    got = receiver_correlation(lags / FS, B)
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-3)
    assert receiver_correlation(np.array(0.0), B) == pytest.approx(1.0, abs=1e-12)


def test_white_noise_has_identity_correlation_and_the_classic_estimate():
    np.testing.assert_array_equal(correlation_matrix(np.arange(5.0), None), np.eye(5))
    rng = np.random.default_rng(4)
    data = rng.standard_normal((6, 200)) + 1j * rng.standard_normal((6, 200))
    estimate = band_limited_noise(data, np.arange(200.0), None)
    fourth = np.diff(data, n=4, axis=-1)
    parts = np.concatenate([fourth.real.ravel(), fourth.imag.ravel()])
    classic = 1.482602218505602 * np.median(np.abs(parts - np.median(parts))) / np.sqrt(70.0)
    assert estimate.sigma == pytest.approx(classic, rel=1e-12)


def test_windows_are_uncorrelated():
    rho = correlation_matrix(np.arange(4) * 1e-8, B, window=np.array([0, 0, 1, 1]))
    assert rho[0, 1] > 0.9 and rho[1, 2] == 0.0 and rho[2, 3] > 0.9


@pytest.mark.parametrize("seed", range(8), ids=[f"seed{k}" for k in range(8)])
def test_band_limited_noise_is_recovered_within_its_error(seed):
    """A smooth echo plus band-limited noise of known sigma; the plain fourth difference would
    see almost none of it (the failure this module fixes)."""
    time_s = np.arange(256) / (FS / STEP)
    noise = band_limited((12, 256 * STEP + 4000), 0.05, seed)[:, :256]
    echo = 0.02 * np.exp(-(((time_s - 2e-6) / 0.6e-6) ** 2))
    data = echo + noise
    truth = sigma_out(0.05)
    estimate = band_limited_noise(data, time_s, B)
    assert abs(estimate.sigma - truth) < 3 * estimate.error, (estimate, truth)
    assert estimate.error < 0.15 * truth
    assert band_limited_noise(data, time_s, None).sigma < 0.1 * truth


def test_error_is_neither_under_nor_overstated():
    time_s = np.arange(256) / (FS / STEP)
    truth = sigma_out(0.05)
    z = []
    for seed in range(20, 36):
        data = band_limited((12, 256 * STEP + 4000), 0.05, seed)[:, :256]
        estimate = band_limited_noise(data, time_s, B)
        z.append((estimate.sigma - truth) / estimate.error)
    assert 0.5 < np.sqrt(np.mean(np.square(z))) < 1.6
    assert abs(np.mean(z)) < 3 / np.sqrt(len(z)) * 1.6


def record(sem=None, **attrs):
    time_s = np.arange(64) * 1.5625e-8
    rng = np.random.default_rng(1)
    data = {
        "signal_re": (("tau", "time"), rng.standard_normal((3, 64))),
        "signal_im": (("tau", "time"), rng.standard_normal((3, 64))),
    }
    if sem is not None:
        data["signal_sem_re"] = (("tau", "time"), sem.real)
        data["signal_sem_im"] = (("tau", "time"), sem.imag)
    return xr.Dataset(data, coords={"time": time_s, "tau": [1e-6, 2e-6, 3e-6]}, attrs=attrs)


def test_stored_standard_error_is_pooled():
    sem = np.full((3, 64), 0.03 + 0.04j)
    sem[1] = np.nan  # a point never written
    estimate = record_noise(record(sem, shots=16, receiver_bandwidth_hz=B))
    assert estimate.sigma == pytest.approx(np.sqrt((0.03**2 + 0.04**2) / 2), rel=1e-12)
    assert estimate.source == "shot-to-shot scatter, 16 shots"
    assert 0 < estimate.error < 0.05 * estimate.sigma


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"receiver_bandwidth_hz": 3e6}, 3e6),
        ({"bench": "name: b\nreceiver: {bandwidth: 1.5 MHz}\n"}, 1.5e6),
        ({}, None),
    ],
    ids=["attribute", "bench-receiver", "simulation"],
)
def test_receiver_bandwidth_of_a_record(attrs, expected):
    assert receiver_bandwidth_hz(record(**attrs)) == expected


def test_bench_without_receiver_uses_half_the_carrier():
    protocol = (
        "name: p\nparameters: {carrier: 6 MHz}\nsequence:\n"
        "  - pulse: {angle: pi/2, duration: 500 ns}\n  - detect: {duration: 1 us, points: 64}\n"
    )
    assert receiver_bandwidth_hz(record(bench="name: b\n", protocol=protocol)) == 3e6


def test_echo_curve_error_counts_the_correlated_samples_once():
    """A window mean of n correlated samples has the variance sigma^2 sum(rho) / n^2."""
    from spin_echo.echo.analysis.curves import echo_curve

    sem = np.full((3, 64), 0.01 + 0.01j)
    data = record(sem, shots=4, receiver_bandwidth_hz=B)
    data["signal_re"] = data["signal_re"] * 0 + np.exp(-(((data["time"] - 5e-7) / 1e-7) ** 2))
    data["signal_im"] = data["signal_im"] * 0
    curve = echo_curve(data)
    inside = (data["time"] >= curve.window.start_s) & (data["time"] <= curve.window.stop_s)
    n = int(inside.sum())
    assert n > 10
    times = data["time"].values[inside.values]
    lags = np.abs(np.subtract.outer(times, times))
    by_filter = np.interp(
        lags, np.arange(0, 2e-6, 1e-9), receiver_correlation(np.arange(0, 2e-6, 1e-9), B)
    )
    assert curve.sigma == pytest.approx(0.01 * np.sqrt(by_filter.sum()) / n, rel=1e-3)
    assert curve.sigma > 2 * 0.01 / np.sqrt(n)  # far above the white-noise figure


def _axes():
    """Record axes: (time_s, window) as record_time_axis lays them out, and harder ones."""
    laid = np.concatenate(
        [np.arange(40) * 1e-8, 4e-7 + np.arange(75) * 4e-9, 7e-7 + np.arange(30) * 1.5625e-8]
    )
    windows = np.repeat(np.arange(3), (40, 75, 30))
    rng = np.random.default_rng(5)
    scattered = np.sort(rng.uniform(0.0, 2e-6, 90))
    return {
        "uniform": (np.arange(200) * 1.5625e-8, None),
        "three-windows": (laid, windows),
        "three-windows-as-one": (laid, None),  # no window: one non-uniform axis
        "interleaved-windows": (np.arange(120) * 1e-8, np.arange(120) % 2),
        "non-uniform": (scattered, rng.integers(0, 2, 90)),
        "one-time": (np.array([3e-6]), None),
    }


@pytest.mark.parametrize("axis", list(_axes()))
def test_sums_and_products_are_the_dense_matrixs(axis):
    time_s, window = _axes()[axis]
    rho = correlation_matrix(time_s, B, window=window)
    assert correlation_sum(time_s, B, window=window) == pytest.approx(rho.sum(), rel=1e-12)
    squared = correlation_sum(time_s, B, window=window, squared=True)
    assert squared == pytest.approx(np.sum(rho**2), rel=1e-12)
    values = np.random.default_rng(2).normal(size=(len(time_s), 3, 2))
    dense = np.tensordot(rho, values, axes=1)
    got = correlate(values, time_s, B, window=window)
    np.testing.assert_allclose(got, dense, rtol=0, atol=1e-12 * np.abs(dense).max())
    assert correlation_sum(time_s, None, window=window) == len(time_s)
    np.testing.assert_array_equal(correlate(values, time_s, None, window=window), values)
    carlo = NoiseEstimate(1.0, 0.0, "", None, monte_carlo=True)
    groups = np.zeros(len(time_s)) if window is None else np.asarray(window)
    same_window = np.equal.outer(groups, groups).astype(float)  # Monte-Carlo: 1 within a window
    assert carlo.correlation_sum(time_s, window) == same_window.sum()


def test_a_long_window_needs_no_n_by_n_matrix():
    """20000 times (the 4 us, 20000-point window that took 6.3 GB): O(N) memory, and the two
    algorithms (weighted diagonals, FFT convolution) agree on 1^T rho 1."""
    time_s = np.arange(20000) * 2e-10
    tracemalloc.start()
    try:
        total = correlation_sum(time_s, B)
        row_sums = correlate(np.ones((len(time_s), 2)), time_s, B)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200e6, f"peak {peak / 1e6:.0f} MB"  # the matrix alone: 3.2 GB
    assert row_sums[:, 0].sum() == pytest.approx(total, rel=1e-12)


def test_correlation_does_not_come_back_after_its_reach():
    """The trapezoid sum over f in steps of B/1000 repeats itself every 1000/B in the lag."""
    far = np.array([16.0, 100.0, 499.0, 999.0, 1000.0, 2000.0]) / B
    assert np.all(np.abs(receiver_correlation(far, B)) < 1e-14)  # was 1 at 1000/B
