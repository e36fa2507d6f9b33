"""Resource bounds and the NaN guard of :mod:`simulator.limits`."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spin_echo.sequences.errors import InputError
from spin_echo.simulator.limits import (
    BYTES_PER_DETECTION_POINT,
    BYTES_PER_PACKET,
    BYTES_PER_RECORD_VALUE,
    MAX_PACKETS,
    MAX_SIMULATION_BYTES,
    NonFiniteResultError,
    check_finite,
    check_packets,
    check_simulation_size,
    estimate_simulation_bytes,
)


def test_estimate_is_the_documented_sum():
    assert estimate_simulation_bytes(3, 5, 7) == (
        3 * BYTES_PER_PACKET + 5 * BYTES_PER_DETECTION_POINT + 7 * 5 * BYTES_PER_RECORD_VALUE
    )


def test_the_largest_packet_count_fits_the_memory_bound():
    assert check_simulation_size(MAX_PACKETS, 1024, 100) <= MAX_SIMULATION_BYTES


def test_a_simulation_over_the_memory_bound_is_refused_before_allocating():
    points = MAX_SIMULATION_BYTES // BYTES_PER_DETECTION_POINT + 1
    with pytest.raises(InputError, match="GiB; at most 8 GiB") as info:
        check_simulation_size(1000, points, 1, file="p.yaml", key="sequence")
    assert str(info.value).startswith("p.yaml: sequence: 1000 packets, ")


@pytest.mark.parametrize("packets", [0, -1, MAX_PACKETS + 1, 1.0, True, "10"])
def test_check_packets_refuses_all_but_whole_numbers_in_range(packets):
    with pytest.raises(InputError, match=f"from 1 to {MAX_PACKETS}"):
        check_packets(packets)


def test_check_packets_accepts_the_edges():
    assert check_packets(1) == 1 and check_packets(np.int64(MAX_PACKETS)) == MAX_PACKETS


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, complex(0, math.nan)])
def test_check_finite_refuses_nan_and_inf_and_counts_them(bad):
    values = np.ones(4, dtype=complex)
    values[2] = bad
    with pytest.raises(NonFiniteResultError, match="has 1 of 4 values that are NaN") as info:
        check_finite(values, what="signal at sweep point (3,)", file="s.yaml")
    assert str(info.value).startswith("s.yaml: the computed signal at sweep point (3,)")
    assert isinstance(info.value, InputError)


def test_check_finite_returns_finite_values_unchanged():
    values = np.array([0.0, -1e300, 1e-300j])
    assert check_finite(values) is not None
    np.testing.assert_array_equal(check_finite(values), values)
