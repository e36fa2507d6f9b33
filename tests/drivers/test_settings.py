"""Declared settings: validators, bench tightening, SCPI number format."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spin_echo.drivers.settings import OneOf, Range, Setting, declare, scpi_number

AMPLITUDE = Setting("amplitude_vpp", "SOUR{channel}:VOLT {value}", "Vpp", Range(1e-3, 10.0))
OFFSET = Setting("offset_v", "VOLT:OFFS {value}", "V", Range(-4.995, 4.995), symmetric=True)

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)
limits = st.floats(min_value=1e-4, max_value=1e2, allow_nan=False)


@given(finite, limits)
def test_allowed_is_the_tighter_of_model_and_bench(value, limit):
    allowed = AMPLITUDE.violation(value, {"amplitude_vpp": limit}) is None
    assert allowed == (1e-3 <= value <= min(10.0, limit))


@given(finite, limits)
def test_symmetric_limit_bounds_the_magnitude(value, limit):
    allowed = OFFSET.violation(value, {"offset_v": limit}) is None
    assert allowed == (abs(value) <= min(4.995, limit))


@given(finite)
def test_without_bench_limit_the_model_range_applies(value):
    assert (AMPLITUDE.violation(value, {}) is None) == (1e-3 <= value <= 10.0)


def test_message_names_value_unit_and_both_limits():
    why = AMPLITUDE.violation(3.0, {"amplitude_vpp": 2.0})
    assert why == (
        "must be between 0.001 and 2 Vpp (model limits between 0.001 and 10 Vpp, "
        "tightened by the bench)"
    )


def test_limit_below_model_minimum_allows_nothing():
    assert "empty range" in AMPLITUDE.violation(5e-4, {"amplitude_vpp": 5e-4})


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, "2", True], ids=["nan", "inf", "text", "bool"]
)
def test_non_numbers_are_refused(value):
    assert AMPLITUDE.violation(value, {}) is not None


def test_one_of():
    setting = Setting("trigger_source", "TRIG:SOUR {value}", "", OneOf(("BUS", "EXT")))
    assert setting.violation("BUS", {}) is None
    assert setting.violation("IMM", {}) == "must be one of BUS, EXT"


@given(st.floats(min_value=-1e300, max_value=1e300, allow_nan=False))
def test_scpi_number_keeps_ten_significant_digits(value):
    text = scpi_number(value)
    assert float(text) == pytest.approx(value, rel=5e-10, abs=0)
    assert "E" in text


@pytest.mark.parametrize(
    ("value", "text"),
    [(1, "1"), (250e6, "2.500000000E+08"), (-5e-9, "-5.000000000E-09"), (0.0, "0.000000000E+00")],
    ids=["int", "rate", "negative", "zero"],
)
def test_scpi_number_format(value, text):
    assert scpi_number(value) == text


def test_render_fills_fields():
    assert AMPLITUDE.render(0.5, channel=2) == "SOUR2:VOLT 5.000000000E-01"


def test_declare_refuses_duplicates():
    with pytest.raises(ValueError, match="declared twice"):
        declare(AMPLITUDE, AMPLITUDE)
