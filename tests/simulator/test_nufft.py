"""The non-uniform FFT's choice of grid length, against scipy's."""

from __future__ import annotations

import pytest
import scipy.fft

pytest.importorskip("numba")

from spin_echo.simulator.kernels.nufft import fast_length


def test_fast_length_is_scipys_next_fast_len_for_complex_data():
    got = [fast_length(n) for n in range(1, 5001)]
    assert got == [scipy.fft.next_fast_len(n) for n in range(1, 5001)]
    assert fast_length(2048) == 2048 and fast_length(2 * 1021) == 2048
