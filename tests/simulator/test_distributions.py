"""Distribution blocks: parsing (property-based), drawing and densities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spin_echo.sequences.yamlio import load_yaml
from spin_echo.simulator.distributions import (
    MAX_LOG_SIGMA,
    Distribution,
    parse_distribution,
    parse_orientation,
)
from spin_echo.simulator.sample import SampleError

positive = st.floats(min_value=1e-3, max_value=1e9, allow_nan=False, allow_infinity=False)
signed = st.just(0.0) | st.floats(1e-3, 1e9) | st.floats(-1e9, -1e-3)


def _parse(text, **kwargs):
    root = load_yaml("d.yaml", text=f"d: {text}\n", error_class=SampleError)
    return parse_distribution(root["d"], **kwargs)


@settings(max_examples=60, deadline=None)
@given(
    mean=signed,
    width=positive,
    median=positive,
    sigma=st.floats(min_value=1e-3, max_value=MAX_LOG_SIGMA),
    low=signed,
    span=positive,
)
def test_parsed_parameters_are_the_written_values(mean, width, median, sigma, low, span):
    high = low + span
    assert _parse(f"{{distribution: gaussian, mean: {mean!r} Hz, width: {width!r} Hz}}") == (
        Distribution("gaussian", (("mean", mean), ("width", width)))
    )
    lognormal = _parse(f"{{distribution: lognormal, median: {median!r} Hz, sigma: {sigma!r}}}")
    assert lognormal.param("median") == median and lognormal.param("sigma") == sigma
    text = f"{{distribution: uniform, low: {low!r} Hz, high: {high!r} Hz}}"
    if 0 < abs(high) < 1e-6:  # low + span rounded next to zero: below the smallest energy
        with pytest.raises(SampleError, match="a magnitude from 1e-06 Hz"):
            _parse(text)
    elif high > low:
        uniform = _parse(text)
        assert (uniform.param("low"), uniform.param("high")) == (low, high)


@settings(max_examples=80, deadline=None)
@given(value=st.one_of(st.text(max_size=12), st.integers(), st.floats(), st.booleans()))
def test_any_bad_value_is_a_located_sample_error(value):
    text = f"{{distribution: gaussian, mean: {value!r}, width: 1 MHz}}"
    # no unit-less, text or boolean value is a frequency: the file or the value is refused,
    # always with the file named, and with the key once the YAML itself parsed
    with pytest.raises(SampleError) as info:
        root = load_yaml("d.yaml", text=f"d: {text}\n", error_class=SampleError)
        parse_distribution(root["d"])
    assert info.value.file == "d.yaml"
    if info.value.key is not None:
        assert info.value.key.startswith("d")


@pytest.mark.parametrize(
    ("text", "mean", "var"),
    [
        ("{distribution: fixed, value: 2 MHz}", 2e6, 0.0),
        ("{distribution: gaussian, mean: 1 MHz, width: 0.2 MHz}", 1e6, 0.04e12),
        (
            "{distribution: lognormal, median: 1 MHz, sigma: 0.3}",
            1e6 * math.exp(0.045),
            1e12 * (math.exp(0.09) - 1) * math.exp(0.09),
        ),
        ("{distribution: uniform, low: 1 MHz, high: 3 MHz}", 2e6, 4e12 / 12),
        ("{distribution: list, values: [1 MHz, 2 MHz], weights: [3, 1]}", 1.25e6, 0.1875e12),
    ],
    ids=["fixed", "gaussian", "lognormal", "uniform", "list"],
)
def test_draws_have_the_closed_form_moments(text, mean, var):
    dist = _parse(text)
    x = dist.sample(np.random.default_rng(0), 200_000)
    assert x.mean() == pytest.approx(mean, abs=5 * math.sqrt(var / len(x)) + 1e-9)
    assert x.var() == pytest.approx(var, rel=0.02, abs=1e-9)


@pytest.mark.parametrize(
    "text",
    [
        "{distribution: gaussian, mean: 1 MHz, width: 0.2 MHz}",
        "{distribution: lognormal, median: 1 MHz, sigma: 0.3}",
        "{distribution: uniform, low: 1 MHz, high: 3 MHz}",
    ],
    ids=["gaussian", "lognormal", "uniform"],
)
def test_densities_integrate_to_one(text):
    dist = _parse(text)
    grid = np.linspace(-2e6, 8e6, 400_001)
    assert np.trapezoid(np.exp(dist.logpdf(grid)), grid) == pytest.approx(1.0, rel=1e-4)


def test_orientation():
    root = load_yaml(
        "o.yaml",
        text="a: {distribution: fixed, theta: 60 deg}\nb: {distribution: isotropic}\n",
        error_class=SampleError,
    )
    fixed, iso = parse_orientation(root["a"]), parse_orientation(root["b"])
    rng = np.random.default_rng(1)
    np.testing.assert_allclose(fixed.sample_cos(rng, 3), 0.5, rtol=1e-15)
    c = iso.sample_cos(rng, 100_000)
    assert abs(c.mean()) < 0.01 and c.var() == pytest.approx(1 / 3, rel=0.02)
