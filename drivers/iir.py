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
the section's state-space matrices, over at most :data:`PIECE_BLOCKS` blocks at once (a longer
trace goes piece by piece, the state after one piece starting the next: time and memory grow
as the trace's length). The same arithmetic in another order: against a
sequential long-double reference it is as accurate as ``scipy.signal`` while the poles stay
away from the unit circle (4th-order low-pass at cutoff/rate 4e-3: 5.5e-14 of the output's
maximum, scipy 1.1e-13), but the error grows as the poles approach it (2e-3: 2.5e-12 against
2.5e-13; 1e-3: 9e-11), so sections with a squared pole radius above
:data:`NARROW_POLE_RADIUS2` (4th order: cutoff/rate below about 3.5e-3) are left to
``scipy.signal``. The receiver's filters at the bench defaults (carrier 4 MHz, bandwidth half
of it, 250 MS/s: 8e-3 and 4e-3) take the blocked path; ``tests/drivers/test_iir.py`` compares
both paths with ``scipy.signal``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = [
    "BLOCK",
    "NARROW_POLE_RADIUS2",
    "PIECE_BLOCKS",
    "butter_lowpass",
    "sos_response",
    "sosfilt",
    "sosfilt_zi",
    "sosfiltfilt",
]

#: Samples per block of the blocked recursion.
BLOCK = 128
#: Most blocks filtered in one product (32768 samples: a carry matrix of 2 MB); longer traces
#: go piece by piece. Every trace of the built-in protocols on the virtual bench (at most
#: 32274 samples, CPMG) is one piece.
PIECE_BLOCKS = 256
#: Largest squared pole radius (``a2`` of a complex pair) filtered by the blocked recursion.
NARROW_POLE_RADIUS2 = 0.985


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


def _narrow(sos: np.ndarray) -> bool:
    """Whether a section's poles are too near the unit circle for the blocked recursion."""
    sos = np.ascontiguousarray(sos, dtype=float)
    return _narrow_sections(sos.tobytes())


@functools.lru_cache(maxsize=64)
def _narrow_sections(data: bytes) -> bool:
    sos = np.frombuffer(data).reshape(-1, 6)
    a1, a2 = sos[:, 4] / sos[:, 3], sos[:, 5] / sos[:, 3]
    root = np.sqrt(a1.astype(complex) ** 2 - 4.0 * a2)
    radius = np.maximum(np.abs(-a1 + root), np.abs(-a1 - root)) / 2.0
    return bool(np.max(radius) ** 2 > NARROW_POLE_RADIUS2)


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """Return the initial states ``(sections, 2)`` whose output for a unit step is constant.

    Narrow sections (:data:`NARROW_POLE_RADIUS2`): ``scipy.signal.sosfilt_zi``.
    """
    if _narrow(sos):
        from scipy import signal

        return signal.sosfilt_zi(sos)
    zi = np.empty((len(sos), 2))
    scale = 1.0
    for k, section in enumerate(np.asarray(sos, dtype=float) / np.asarray(sos)[:, 3:4]):
        _, b, _ = _state_space(section)
        # (I - A) z = B: (1 + a1) z1 - z2 = B1, a2 z1 + z2 = B2
        z1 = (b[0] + b[1]) / (1.0 + section[4] + section[5])
        zi[k] = scale * np.array([z1, b[1] - section[5] * z1])
        scale *= section[:3].sum() / section[3:].sum()
    return zi


@functools.lru_cache(maxsize=64)
def _block_matrices(section: tuple[float, ...], size: int, blocks: int) -> tuple[np.ndarray, ...]:
    r"""Return the matrices of :func:`_piece` for blocks of ``size`` samples (read-only).

    With the state-space form :math:`s_{k+1} = A s_k + B x_k`, :math:`y_k = C s_k + D x_k`,
    :math:`C = (1, 0)`: the Toeplitz matrix of the impulse response :math:`(D, CB, CAB,
    \dots)`, the observation :math:`C A^k` of a block's initial state, the gathering
    :math:`A^{L-1-j} B` of its input into its final state, the block-to-block carry of the
    states, :math:`s_j = A^{Lj} s_0 + \sum_{i<j} A^{L(j-1-i)} e_i` (:math:`e_i` the zero-state
    final state of block i), as two matrices over all blocks at once, and :math:`(A^L)^T`,
    which carries the state from a piece to the next (:func:`_section`). ``blocks`` is at most
    :data:`PIECE_BLOCKS`, so these take at most 2.3 MB.
    """
    a, b, d = _state_space(np.array(section))
    powers = np.empty((size + 1, 2, 2))
    powers[0] = np.eye(2)
    for k in range(size):
        powers[k + 1] = a @ powers[k]
    impulse = np.empty(size)
    impulse[0] = d
    impulse[1:] = powers[: size - 1, 0] @ b  # C A^(k-1) B
    lags = np.arange(size)[:, None] - np.arange(size)[None, :]
    toeplitz = np.where(lags >= 0, impulse[np.maximum(lags, 0)], 0.0)
    gather = powers[size - 1 :: -1] @ b  # A^(size-1-j) B, (size, 2)
    carry = np.empty((blocks + 1, 2, 2))
    carry[0] = np.eye(2)
    for k in range(blocks):
        carry[k + 1] = powers[size] @ carry[k]
    start = carry[:blocks].reshape(2 * blocks, 2)  # rows (j, a): (A^{Lj})[a, :]
    behind = np.arange(blocks)[:, None] - np.arange(blocks)[None, :] - 1  # j - 1 - i
    mix = np.where(behind[..., None, None] >= 0, carry[np.maximum(behind, 0)], 0.0)
    mix = mix.transpose(0, 2, 1, 3)  # (j, a, i, b): carry[j - 1 - i][a, b] for i < j
    out = (
        toeplitz.T,
        powers[:size, 0].T,
        gather,
        start.T,
        mix.reshape(2 * blocks, -1).T,
        powers[size].T,
    )
    for m in out:
        m.flags.writeable = False
    return out


def _piece(
    section: tuple[float, ...], x: np.ndarray, state: np.ndarray, size: int, *, last: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Filter ``x`` ``(rows, n)`` by one section from states ``(rows, 2)`` in one product.

    Returns the output and, unless ``last``, the state after the piece's final sample (the
    piece then holds whole blocks).
    """
    rows, n = x.shape
    blocks = -(-n // size)
    toeplitz_t, observe_t, gather, start_t, mix_t, step_t = _block_matrices(section, size, blocks)
    padded = np.zeros((rows, blocks * size))
    padded[:, :n] = x
    chunks = padded.reshape(rows, blocks, size)
    ends = (chunks @ gather).reshape(rows, 2 * blocks)
    initial = np.array(state, dtype=float).reshape(rows, 2)
    states = (initial @ start_t + ends @ mix_t).reshape(rows, blocks, 2)
    out = chunks @ toeplitz_t + states @ observe_t
    after = None if last else states[:, -1] @ step_t + ends[:, -2:]
    return out.reshape(rows, -1)[:, :n], after


def _section(section: np.ndarray, x: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Filter the rows of ``x`` ``(rows, n)`` by one section from states ``(rows, 2)``.

    A trace of up to :data:`PIECE_BLOCKS` blocks is one product (:func:`_piece`); a longer one
    is filtered piece by piece, each piece's final state starting the next: memory and time
    O(n) instead of the O(n^2) of one carry matrix over all blocks.
    """
    key = tuple(map(float, section))
    n = x.shape[1]
    size = min(BLOCK, n)
    if n <= PIECE_BLOCKS * size:
        return _piece(key, x, state, size, last=True)[0]
    out = np.empty(x.shape)
    length = PIECE_BLOCKS * size
    for begin in range(0, n, length):
        last = begin + length >= n
        out[:, begin : begin + length], state = _piece(
            key, x[:, begin : begin + length], state, size, last=last
        )
    return out


def sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Filter ``x`` (last axis) by the sections from states ``zi`` (``(sections, ..., 2)``).

    Sections with a pole pair nearer the unit circle than :data:`NARROW_POLE_RADIUS2` go
    through ``scipy.signal.sosfilt`` (imported then): the blocked recursion loses accuracy
    there (module docstring).
    """
    sos = np.asarray(sos, dtype=float)
    sos = sos / sos[:, 3:4]
    x = np.asarray(x, dtype=float)
    shape = x.shape
    y = x.reshape(-1, shape[-1])
    zi = np.asarray(zi, dtype=float).reshape(len(sos), -1, 2)
    if _narrow(sos):
        from scipy import signal

        full = np.broadcast_to(zi, (len(sos), len(y), 2))
        return signal.sosfilt(sos, y, axis=-1, zi=full)[0].reshape(shape)
    for k, section in enumerate(sos):
        y = _section(section, y, np.broadcast_to(zi[k], (len(y), 2)))
    return y.reshape(shape)


def _odd_extension(x: np.ndarray, pad: int) -> np.ndarray:
    left = 2.0 * x[..., :1] - x[..., pad:0:-1]
    right = 2.0 * x[..., -1:] - x[..., -2 : -pad - 2 : -1]
    return np.concatenate([left, x, right], axis=-1)


def sosfiltfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Zero-phase filtering of ``x`` (last axis): forwards, then backwards (``sosfiltfilt``).

    Narrow sections (:data:`NARROW_POLE_RADIUS2`): ``scipy.signal.sosfiltfilt``.

    Raises
    ------
    ValueError
        If ``x`` is not longer than the padding, ``3 (2 sections + 1)`` samples less the
        sections' trailing zero coefficients (as ``scipy.signal.sosfiltfilt``).
    """
    sos = np.asarray(sos, dtype=float)
    x = np.asarray(x, dtype=float)
    if _narrow(sos):
        from scipy import signal

        return signal.sosfiltfilt(sos, x, axis=-1)
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
