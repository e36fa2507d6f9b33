r"""Butterworth low-passes and recursive filters in numpy, without importing ``scipy.signal``.

The receiver (:mod:`drivers.receiver`) and the virtual detector's front end
(:mod:`drivers.virtual`) filter every trace; ``scipy.signal`` costs about 0.45 s to import
(its array-API wrappers parse docstrings), more than all the filtering of a run. This module
implements what they use, with ``scipy.signal``'s conventions:

* :func:`butter_lowpass`: the digital Butterworth low-pass as second-order sections (analog
  prototype, pre-warped bilinear transform, conjugate pole pairs with the zeros at -1, the
  gain on the first section and the poles nearest the unit circle last), as
  ``scipy.signal.butter(order, cutoff, fs=fs, output="sos")``;
* :func:`sosfilt` (initial state ``zi``) and :func:`sosfilt_zi` (the steady state for a unit
  step), in the transposed direct form II of ``scipy.signal.sosfilt``;
* :func:`sosfiltfilt`: forwards and backwards with odd extension and steady-state initial
  conditions, as ``scipy.signal.sosfiltfilt`` with its defaults;
* :func:`sos_response`: the frequency response, as ``scipy.signal.sosfreqz``.

A section's recursion runs in blocks of :data:`BLOCK` samples: within a block the output is
the zero-state response (a product with the Toeplitz matrix of the impulse response) plus the
response to the state at the block's start; the states are carried from block to block by
the section's state-space matrices. The same arithmetic in another order: the results agree
with ``scipy.signal`` to rounding (``tests/drivers/test_iir.py``, which compares them).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "BLOCK",
    "butter_lowpass",
    "sos_response",
    "sosfilt",
    "sosfilt_zi",
    "sosfiltfilt",
]

#: Samples per block of the blocked recursion.
BLOCK = 128


def butter_lowpass(order: int, cutoff_hz: float, sample_rate_hz: float) -> np.ndarray:
    """Return the digital Butterworth low-pass of even ``order`` as sections ``(order/2, 6)``.

    Raises
    ------
    ValueError
        For an odd or non-positive order, or a cutoff not between 0 and the Nyquist frequency.
    """
    if order < 2 or order % 2:
        raise ValueError(f"order must be even and positive, got {order}")
    if not 0.0 < cutoff_hz < sample_rate_hz / 2.0:
        raise ValueError(f"cutoff {cutoff_hz!r} Hz must lie in (0, {sample_rate_hz / 2!r}) Hz")
    warped = 4.0 * math.tan(math.pi * (2.0 * cutoff_hz / sample_rate_hz) / 2.0)
    m = np.arange(-order + 1, order, 2)
    poles = warped * -np.exp(1j * math.pi * m / (2 * order))
    gain = warped**order
    digital = (4.0 + poles) / (4.0 - poles)
    gain = gain * np.real(1.0 / np.prod(4.0 - poles))
    upper = digital[digital.imag > 0]
    upper = upper[np.argsort(np.abs(upper))]
    sos = np.zeros((order // 2, 6))
    for row, pole in zip(sos, upper, strict=True):
        row[:3] = (1.0, 2.0, 1.0)
        row[3:] = (1.0, -2.0 * pole.real, pole.real**2 + pole.imag**2)
    sos[0, :3] *= gain
    return sos


def _state_space(section: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Return ``(A, B, D)`` of a normalised section, state ``(z1, z2)``, output ``z1 + D x``."""
    b0, b1, b2, _, a1, a2 = section
    a = np.array([[-a1, 1.0], [-a2, 0.0]])
    b = np.array([b1 - a1 * b0, b2 - a2 * b0])
    return a, b, float(b0)


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """Return the initial states ``(sections, 2)`` whose output for a unit step is constant."""
    zi = np.empty((len(sos), 2))
    scale = 1.0
    for k, section in enumerate(np.asarray(sos, dtype=float) / np.asarray(sos)[:, 3:4]):
        a, b, _ = _state_space(section)
        zi[k] = scale * np.linalg.solve(np.eye(2) - a, b)
        scale *= section[:3].sum() / section[3:].sum()
    return zi


def _section(section: np.ndarray, x: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Filter the rows of ``x`` ``(rows, n)`` by one section from states ``(rows, 2)``."""
    a, b, d = _state_space(section)
    rows, n = x.shape
    size = min(BLOCK, n)
    blocks = -(-n // size)
    padded = np.zeros((rows, blocks * size))
    padded[:, :n] = x
    powers = np.empty((size + 1, 2, 2))
    powers[0] = np.eye(2)
    for k in range(size):
        powers[k + 1] = a @ powers[k]
    impulse = np.empty(size)
    impulse[0] = d
    impulse[1:] = powers[: size - 1, 0] @ b  # C A^(k-1) B with C = (1, 0)
    lags = np.arange(size)[:, None] - np.arange(size)[None, :]
    toeplitz = np.where(lags >= 0, impulse[np.maximum(lags, 0)], 0.0)
    observe = powers[:size, 0]  # C A^k, (size, 2)
    gather = powers[size - 1 :: -1] @ b  # A^(size-1-j) B, (size, 2)
    chunks = padded.reshape(rows, blocks, size)
    out = chunks @ toeplitz.T
    ends = chunks @ gather
    carry = powers[size]
    s = np.array(state, dtype=float).reshape(rows, 2)
    for j in range(blocks):
        out[:, j] += s @ observe.T
        s = s @ carry.T + ends[:, j]
    return out.reshape(rows, -1)[:, :n]


def sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Filter ``x`` (last axis) by the sections from states ``zi`` (``(sections, ..., 2)``)."""
    sos = np.asarray(sos, dtype=float)
    sos = sos / sos[:, 3:4]
    x = np.asarray(x, dtype=float)
    shape = x.shape
    y = x.reshape(-1, shape[-1])
    zi = np.asarray(zi, dtype=float).reshape(len(sos), -1, 2)
    for k, section in enumerate(sos):
        y = _section(section, y, np.broadcast_to(zi[k], (len(y), 2)))
    return y.reshape(shape)


def _odd_extension(x: np.ndarray, pad: int) -> np.ndarray:
    left = 2.0 * x[..., :1] - x[..., pad:0:-1]
    right = 2.0 * x[..., -1:] - x[..., -2 : -pad - 2 : -1]
    return np.concatenate([left, x, right], axis=-1)


def sosfiltfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Zero-phase filtering of ``x`` (last axis): forwards, then backwards (``sosfiltfilt``).

    Raises
    ------
    ValueError
        If ``x`` is not longer than the padding, ``3 (2 sections + 1)`` samples less the
        sections' trailing zero coefficients (as ``scipy.signal.sosfiltfilt``).
    """
    sos = np.asarray(sos, dtype=float)
    x = np.asarray(x, dtype=float)
    taps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    pad = 3 * taps
    if x.shape[-1] <= pad:
        raise ValueError(f"the signal ({x.shape[-1]} samples) must be longer than {pad}")
    ext = _odd_extension(x, pad)
    zi = sosfilt_zi(sos)[:, None, :]
    rows = ext.reshape(-1, ext.shape[-1])
    y = sosfilt(sos, rows, zi * rows[:, :1])
    back = y[:, ::-1]
    y = sosfilt(sos, back, zi * back[:, :1])[:, ::-1]
    return y[:, pad:-pad].reshape(x.shape)


def sos_response(sos: np.ndarray, frequency_hz: np.ndarray, sample_rate_hz: float) -> np.ndarray:
    """Return the complex response of the sections at ``frequency_hz`` (``sosfreqz``)."""
    zm1 = np.exp(-2j * np.pi * np.asarray(frequency_hz, dtype=float) / sample_rate_hz)
    h = np.ones(zm1.shape, dtype=complex)
    for b0, b1, b2, a0, a1, a2 in np.asarray(sos, dtype=float):
        h *= (b0 + zm1 * (b1 + zm1 * b2)) / (a0 + zm1 * (a1 + zm1 * a2))
    return h
