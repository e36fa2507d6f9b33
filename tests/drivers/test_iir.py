"""drivers.iir against scipy.signal (the reference it replaces on the bench's path)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from scipy import signal

from spin_echo.drivers.iir import (
    BLOCK,
    PIECE_BLOCKS,
    butter_lowpass,
    sos_response,
    sosfilt,
    sosfilt_zi,
    sosfiltfilt,
)

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


def one_product_sosfilt(sos, x, zi):
    """The blocked recursion as it was before pieces: one carry matrix over all the blocks.

    A copy of the former ``drivers.iir._section`` (and its matrices), the reference that
    traces of at most ``PIECE_BLOCKS`` blocks must still match bit for bit.
    """
    y = np.asarray(x, dtype=float).reshape(-1, np.shape(x)[-1])
    zi = np.asarray(zi, dtype=float).reshape(len(sos), -1, 2)
    for k, section in enumerate(np.asarray(sos, dtype=float) / np.asarray(sos)[:, 3:4]):
        b0, b1, b2, _, a1, a2 = map(float, section)
        a = np.array([[-a1, 1.0], [-a2, 0.0]])
        b = np.array([b1 - a1 * b0, b2 - a2 * b0])
        rows, n = y.shape
        size = min(BLOCK, n)
        blocks = -(-n // size)
        powers = np.empty((size + 1, 2, 2))
        powers[0] = np.eye(2)
        for j in range(size):
            powers[j + 1] = a @ powers[j]
        impulse = np.empty(size)
        impulse[0] = b0
        impulse[1:] = powers[: size - 1, 0] @ b
        lags = np.arange(size)[:, None] - np.arange(size)[None, :]
        toeplitz = np.where(lags >= 0, impulse[np.maximum(lags, 0)], 0.0)
        gather = powers[size - 1 :: -1] @ b
        carry = np.empty((blocks + 1, 2, 2))
        carry[0] = np.eye(2)
        for j in range(blocks):
            carry[j + 1] = powers[size] @ carry[j]
        start = carry[:blocks].reshape(2 * blocks, 2)
        mix = np.zeros((blocks, 2, blocks, 2))
        for j in range(blocks):
            for i in range(j):
                mix[j, :, i, :] = carry[j - 1 - i]
        padded = np.zeros((rows, blocks * size))
        padded[:, :n] = y
        chunks = padded.reshape(rows, blocks, size)
        ends = (chunks @ gather).reshape(rows, 2 * blocks)
        initial = np.array(np.broadcast_to(zi[k], (rows, 2)), dtype=float)
        states = (initial @ start.T + ends @ mix.reshape(2 * blocks, -1).T).reshape(rows, blocks, 2)
        y = (chunks @ toeplitz.T + states @ powers[:size, 0].T).reshape(rows, -1)[:, :n]
    return y.reshape(np.shape(x))


@pytest.mark.parametrize("length", [17, 129, 2029, 32274, PIECE_BLOCKS * BLOCK])
def test_one_piece_is_the_one_product_bit_for_bit(length):
    """Up to PIECE_BLOCKS blocks (every built-in protocol's trace) nothing changed."""
    sos = butter_lowpass(4, 2e6, 250e6)
    rng = np.random.default_rng(length)
    x = rng.normal(size=(2, length))
    zi = rng.normal(size=(len(sos), 2, 2))
    np.testing.assert_array_equal(sosfilt(sos, x, zi), one_product_sosfilt(sos, x, zi))


@pytest.mark.parametrize("length", [PIECE_BLOCKS * BLOCK + 1, 2 * PIECE_BLOCKS * BLOCK + 300])
def test_pieces_match_the_one_product(length):
    sos = butter_lowpass(4, 1e6, 250e6)
    rng = np.random.default_rng(length)
    x = rng.normal(size=(2, length)) + np.linspace(0, 3, length)
    zi = rng.normal(size=(len(sos), 2, 2))
    want = one_product_sosfilt(sos, x, zi)
    np.testing.assert_allclose(sosfilt(sos, x, zi), want, rtol=0, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize(("order", "cutoff", "rate"), CASES[:4], ids=lambda v: f"{v:g}")
def test_a_million_samples_are_scipys(order, cutoff, rate):
    """Many pieces, several sections, a random initial state: scipy's tolerance as above."""
    sos = signal.butter(order, cutoff, fs=rate, output="sos")
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 10**6)) + np.linspace(0, 3, 10**6)
    zi = rng.normal(size=(len(sos), 2, 2))
    want = signal.sosfilt(sos, x, zi=zi)[0]
    scale = np.abs(want).max()
    np.testing.assert_allclose(sosfilt(sos, x, zi), want, rtol=0, atol=1e-12 * scale)
    want = signal.sosfiltfilt(sos, x)
    scale = np.abs(want).max()
    np.testing.assert_allclose(sosfiltfilt(sos, x), want, rtol=0, atol=1e-12 * scale)


def test_memory_grows_as_the_trace():
    """10^6 samples: a few copies of the trace, not a carry matrix over 7813 blocks (2 GB)."""
    sos = butter_lowpass(6, 3.1e6, 250e6)  # sections no other test filtered: matrices built here
    x = np.random.default_rng(3).normal(size=10**6)
    tracemalloc.start()
    try:
        sosfiltfilt(sos, x)
        sosfilt(sos, x, sosfilt_zi(sos) * x[0])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200e6, f"peak {peak / 1e6:.0f} MB"
