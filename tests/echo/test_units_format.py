"""The one formatter of quantities with units: prefixes, degrees, value with error."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.echo.units_format import (
    display_scale,
    format_quantity,
    format_with_error,
    short_units,
)


@pytest.mark.parametrize(
    ("values", "units", "expected"),
    [
        ([2e-7, 1e-5], "s", (1e-6, "µs")),
        ([0.0, 4e6], "Hz", (1e6, "MHz")),
        ([1e-10], "s", (1e-12, "ps")),
        ([0.0, 0.0], "s", (1.0, "s")),
        ([1.0, 2.0], "", (1.0, "")),
        ([1e-8], "1/Hz", (1e-6, "1/MHz")),
    ],
    ids=["us", "MHz", "below-nano", "all-zero", "dimensionless", "per-hertz"],
)
def test_display_scale(values, units, expected):
    assert display_scale(np.array(values), units) == pytest.approx(expected)


def test_display_scale_angles_in_degrees():
    factor, unit = display_scale(np.array([np.pi]), "rad")
    assert unit == "deg"
    assert np.pi / factor == pytest.approx(180.0, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "units", "text"),
    [(2.003e-5, "s", "20.03 µs"), (250e6, "Hz", "250 MHz"), (np.pi / 2, "rad", "90 deg"),
     (0.51652, "", "0.5165"), (1e-7, "normalised (1 = full)", "1e-07 normalised")],
)  # fmt: skip
def test_format_quantity(value, units, text):
    assert format_quantity(value, units) == text


@pytest.mark.parametrize(
    ("value", "error", "units", "text"),
    [(19.948e-6, 0.085e-6, "s", "19.948 ± 0.085 µs"), (300.7e3, 1.3e3, "Hz", "300.7 ± 1.3 kHz"),
     (12345.0, 250.0, "", "12345 ± 250"), (12.93, 2.5e6, "s", "12.93 ± 2.5e+06 s"),
     (0.5, 1e-18, "", "0.5 ± 1e-18"), (0.0, 0.01, "", "0.000 ± 0.010")],
)  # fmt: skip
def test_format_with_error(value, error, units, text):
    assert format_with_error(value, error, units) == text


def test_short_units():
    assert short_units("normalised magnetisation (1 = all packets)") == "normalised magnetisation"
    assert short_units("V") == "V"
