r"""The bench's receiver: quadrature demodulation of a recorded trace at the carrier.

The detected complex signal has the convention of :mod:`sequences.timeline` (the same as the
simulator's):

.. math::  s(t) = 2\,\mathrm{LPF}\big[V(t)\, e^{+2\pi i f_c t}\big],

with the phase reference the carrier at absolute time zero - the first sample of the waveform,
which is also the detector's trigger - so that :math:`V(t) \approx \mathrm{Re}[s(t)
e^{-2\pi i f_c t}]` plus a slowly varying baseline.

The low-pass filter is a zero-phase Butterworth filter of bandwidth ``bandwidth_hz`` (applied
forwards and backwards: no delay, no phase shift). The baseline of :math:`V` (the longitudinal
magnetisation, which mixing would put at :math:`f_c`) is removed first with a low-pass at half
the lower band edge, :math:`(f_c - B)/2`, where the signal band :math:`f_c \pm B` is not
touched (attenuation of the carrier :math:`1/(1+4^8)` at the default :math:`B = f_c/2`). The
default bandwidth is half the carrier. A trace should extend :func:`guard_s` beyond the
detection windows on both sides, where the filter settles.
"""

from __future__ import annotations

import numpy as np

from spin_echo.drivers.iir import butter_lowpass, sos_response, sosfiltfilt
from spin_echo.drivers.interface import Trace

__all__ = [
    "FILTER_ORDER",
    "default_bandwidth_hz",
    "demodulate",
    "filters",
    "guard_s",
    "quadrature_noise_gain",
]

#: Order of the Butterworth low-pass (applied twice: zero phase, twice the roll-off).
FILTER_ORDER = 4
#: Settling time of the filter in units of 1/bandwidth.
GUARD_PERIODS = 4.0


def default_bandwidth_hz(carrier_hz: float) -> float:
    """Return the receiver bandwidth used when the bench gives none: half the carrier."""
    return 0.5 * carrier_hz


def guard_s(bandwidth_hz: float) -> float:
    """Return the time the filter needs on each side of a detection window, seconds."""
    return GUARD_PERIODS / bandwidth_hz


def filters(
    carrier_hz: float, bandwidth_hz: float, sample_rate_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the receiver's two Butterworth low-passes as second-order sections.

    Parameters
    ----------
    carrier_hz, bandwidth_hz, sample_rate_hz
        Carrier, receiver bandwidth and the trace's sample rate, Hz.

    Returns
    -------
    low_pass, baseline
        The demodulation low-pass at ``bandwidth_hz`` and the baseline low-pass at
        :math:`(f_c - B)/2`, each applied forwards and backwards by :func:`demodulate`.
    """
    low_pass = butter_lowpass(FILTER_ORDER, bandwidth_hz, sample_rate_hz)
    baseline = butter_lowpass(FILTER_ORDER, (carrier_hz - bandwidth_hz) / 2.0, sample_rate_hz)
    return low_pass, baseline


def quadrature_noise_gain(carrier_hz: float, bandwidth_hz: float, sample_rate_hz: float) -> float:
    r"""Return the rms per quadrature of :func:`demodulate`'s output for unit white input noise.

    White noise of variance :math:`\sigma^2` per sample has the two-sided density
    :math:`\sigma^2/f_s`. The baseline removal multiplies it by :math:`(1 - G_0(f))^2`, the
    mixing shifts it by :math:`f_c`, the low-pass (forwards and backwards) multiplies it by
    :math:`G(f)^2` and the factor 2 by 4, with :math:`G = |H|^2` and :math:`G_0 = |H_0|^2`
    the power responses of the digital filters of :func:`filters`. Each quadrature carries
    half of the complex output's variance:

    .. math:: \sigma_q^2 = \frac{2\sigma^2}{f_s} \int_{-f_s/2}^{f_s/2}
              \big(1 - G_0(f - f_c)\big)^2\, G(f)^2\, df,

    about :math:`4\sigma^2 B I/f_s` with :math:`I = \int_0^\infty (1 + x^8)^{-2} dx
    = 0.8979` for :math:`B \ll f_s`. Evaluated by the trapezoid rule over 20 001 frequencies
    of :math:`|f| \le \min(f_s/2, 8B)` (:math:`G^2 < 10^{-14}` beyond :math:`8B`).

    Parameters
    ----------
    carrier_hz, bandwidth_hz, sample_rate_hz
        Carrier, receiver bandwidth and the trace's sample rate, Hz (as :func:`demodulate`).

    Returns
    -------
    float
        :math:`\sigma_q/\sigma`, dimensionless.
    """
    low_pass, baseline = filters(carrier_hz, bandwidth_hz, sample_rate_hz)
    reach = min(sample_rate_hz / 2.0, 8.0 * bandwidth_hz)
    f = np.linspace(-reach, reach, 20001)
    h = sos_response(low_pass, f, sample_rate_hz)
    h0 = sos_response(baseline, f - carrier_hz, sample_rate_hz)
    density = (1.0 - np.abs(h0) ** 2) ** 2 * np.abs(h) ** 4
    return float(np.sqrt(2.0 / sample_rate_hz * np.trapezoid(density, f)))


def demodulate(
    trace: Trace, carrier_hz: float, times_s: np.ndarray, *, bandwidth_hz: float
) -> np.ndarray:
    r"""Return :math:`s(t) = 2\,\mathrm{LPF}[V e^{+2\pi i f_c t}]` at ``times_s``.

    Parameters
    ----------
    trace
        A uniformly sampled trace; its times are seconds from the trigger (absolute times).
    carrier_hz
        Carrier (receiver reference) frequency, Hz.
    times_s
        Absolute times at which the signal is wanted (within the trace), seconds.
    bandwidth_hz
        Low-pass bandwidth, Hz; must be below the carrier and the trace's Nyquist frequency.

    Returns
    -------
    numpy.ndarray
        Complex signal in the units of the trace, linearly interpolated at ``times_s``.

    Raises
    ------
    ValueError
        If the trace is not uniform, too short, or does not cover ``times_s``, or the
        bandwidth is not below the carrier and the Nyquist frequency.
    """
    t = np.asarray(trace.time_s, dtype=float)
    if len(t) < 16:
        raise ValueError(f"a trace of {len(t)} points is too short to demodulate")
    dt = (t[-1] - t[0]) / (len(t) - 1)
    if not np.allclose(np.diff(t), dt, rtol=1e-6, atol=0.0):
        raise ValueError("the trace is not uniformly sampled")
    fs = 1.0 / dt
    if not 0 < bandwidth_hz < min(carrier_hz, fs / 2):
        raise ValueError(
            f"bandwidth {bandwidth_hz:g} Hz must lie below the carrier {carrier_hz:g} Hz and "
            f"the Nyquist frequency {fs / 2:g} Hz of the trace"
        )
    wanted = np.asarray(times_s, dtype=float)
    if wanted.size and (wanted.min() < t[0] - dt / 2 or wanted.max() > t[-1] + dt / 2):
        raise ValueError(
            f"detection times {wanted.min():g}..{wanted.max():g} s lie outside the trace "
            f"{t[0]:g}..{t[-1]:g} s"
        )
    sos, slow = filters(carrier_hz, bandwidth_hz, fs)
    values = np.asarray(trace.values, dtype=float)
    passband = values - sosfiltfilt(slow, values)
    mixed = passband * np.exp(2j * np.pi * np.mod(carrier_hz * t, 1.0))
    real, imag = sosfiltfilt(sos, np.stack([mixed.real, mixed.imag]))
    baseband = 2.0 * (real + 1j * imag)
    return np.interp(wanted, t, baseband.real) + 1j * np.interp(wanted, t, baseband.imag)
