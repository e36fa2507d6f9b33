"""Quadrature demodulation against closed forms: envelope, phase, baseline and image rejection."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.drivers.interface import Trace
from spin_echo.drivers.receiver import default_bandwidth_hz, demodulate, guard_s

FS = 250e6
FC = 4e6


def envelope(t: np.ndarray) -> np.ndarray:
    """A Gaussian echo 1 us wide centred at 10 us, with a linear phase (a 150 kHz offset)."""
    return 0.7 * np.exp(-(((t - 10e-6) / 1e-6) ** 2)) * np.exp(-2j * np.pi * 150e3 * (t - 10e-6))


@pytest.mark.parametrize("phase", [0.0, 1.0, -2.5], ids=["0", "1-rad", "-2.5-rad"])
def test_recovers_the_complex_envelope(phase):
    t = np.arange(int(20e-6 * FS)) / FS
    s = envelope(t) * np.exp(1j * phase)
    baseline = 0.3 + 0.05 * np.exp(-t / 30e-6)  # longitudinal magnetisation, slowly relaxing
    volts = (s * np.exp(-2j * np.pi * FC * t)).real + baseline
    wanted = np.linspace(8e-6, 12e-6, 64)
    out = demodulate(Trace(t, volts, "V"), FC, wanted, bandwidth_hz=default_bandwidth_hz(FC))
    expected = envelope(wanted) * np.exp(1j * phase)
    # the 2 MHz low-pass passes the envelope (spectral width ~ 0.3 MHz) to 1e-3 of its peak
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-3 * 0.7)


def test_phase_reference_is_absolute_time_zero():
    """A trace starting at 5 us gives the same signal as one starting at 0 (same carrier)."""
    t = np.arange(int(20e-6 * FS)) / FS
    volts = (envelope(t) * np.exp(-2j * np.pi * FC * t)).real
    wanted = np.linspace(9e-6, 11e-6, 16)
    full = demodulate(Trace(t, volts, "V"), FC, wanted, bandwidth_hz=2e6)
    late = t >= 5e-6
    part = demodulate(Trace(t[late], volts[late], "V"), FC, wanted, bandwidth_hz=2e6)
    np.testing.assert_allclose(part, full, rtol=0, atol=1e-4)


def test_guard_is_four_over_bandwidth():
    assert guard_s(2e6) == pytest.approx(2e-6)


@pytest.mark.parametrize(
    ("times", "bandwidth", "message"),
    [
        (np.array([30e-6]), 2e6, "outside the trace"),
        (np.array([1e-6]), 5e6, "below the carrier"),
    ],
    ids=["outside", "bandwidth"],
)
def test_refusals(times, bandwidth, message):
    t = np.arange(1000) / FS
    with pytest.raises(ValueError, match=message):
        demodulate(Trace(t, np.zeros(1000), "V"), FC, times, bandwidth_hz=bandwidth)


def test_non_uniform_trace_is_refused():
    t = np.sort(np.random.default_rng(1).uniform(0, 1e-6, 100))
    with pytest.raises(ValueError, match="not uniformly sampled"):
        demodulate(Trace(t, np.zeros(100), "V"), FC, t[10:11], bandwidth_hz=1e6)
