"""drivers.iir against scipy.signal (the reference it replaces on the bench's path)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from spin_echo.drivers.iir import butter_lowpass, sos_response, sosfilt, sosfilt_zi, sosfiltfilt

#: Bench-like low-passes (blocked path), and two narrow ones (scipy.signal path).
CASES = [(4, 2e6, 250e6), (4, 1e6, 250e6), (4, 50e6, 1e9), (2, 0.4e9, 1e9)]
CASES += [(6, 3e3, 1e6), (4, 1e5, 1e9)]


@pytest.mark.parametrize(("order", "cutoff", "rate"), CASES)
def test_butterworth_sections_are_scipys(order, cutoff, rate):
    ours = butter_lowpass(order, cutoff, rate)
    theirs = signal.butter(order, cutoff, fs=rate, output="sos")
    np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=0)
    np.testing.assert_allclose(sosfilt_zi(ours), signal.sosfilt_zi(theirs), rtol=1e-11, atol=0)


@pytest.mark.parametrize(("order", "cutoff", "rate"), CASES)
@pytest.mark.parametrize("length", [17, 128, 129, 2000])
def test_filters_are_scipys(order, cutoff, rate, length):
    sos = signal.butter(order, cutoff, fs=rate, output="sos")
    rng = np.random.default_rng(length)
    x = rng.normal(size=(2, length)) + np.linspace(0, 3, length)
    zi = rng.normal(size=(len(sos), 2, 2))
    want = signal.sosfilt(sos, x, zi=zi)[0]
    scale = np.abs(want).max()  # a narrow filter's random initial state rings far above x
    np.testing.assert_allclose(sosfilt(sos, x, zi), want, rtol=0, atol=1e-12 * scale)
    if length > 3 * (2 * len(sos) + 1):
        want = signal.sosfiltfilt(sos, x)
        scale = np.abs(want).max()
        np.testing.assert_allclose(sosfiltfilt(sos, x), want, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("bandwidth", [10e6, 1e4])  # blocked path, scipy.signal path
def test_first_order_section_is_lfilter(bandwidth):
    a = np.exp(-2 * np.pi * bandwidth / 250e6)
    x = np.random.default_rng(2).normal(size=3000)
    sos = np.array([[1 - a, 0.0, 0.0, 1.0, -a, 0.0]])
    want = signal.lfilter([1 - a], [1, -a], x, zi=signal.lfilter_zi([1 - a], [1, -a]) * x[0])[0]
    np.testing.assert_allclose(sosfilt(sos, x, sosfilt_zi(sos) * x[0]), want, rtol=0, atol=1e-13)


def test_response_is_sosfreqz():
    sos = signal.butter(4, 2e6, fs=250e6, output="sos")
    f = np.linspace(-20e6, 20e6, 101)
    np.testing.assert_allclose(
        sos_response(sos, f, 250e6), signal.sosfreqz(sos, worN=f, fs=250e6)[1], rtol=1e-12
    )


def test_bad_designs_and_short_signals_are_refused():
    with pytest.raises(ValueError, match="even"):
        butter_lowpass(3, 1e6, 1e8)
    with pytest.raises(ValueError, match="cutoff"):
        butter_lowpass(4, 6e7, 1e8)
    with pytest.raises(ValueError, match="longer"):
        sosfiltfilt(butter_lowpass(4, 1e6, 1e8), np.ones(15))
