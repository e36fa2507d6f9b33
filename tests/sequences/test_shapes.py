import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from spin_echo.sequences.shapes import Chirp, Gaussian, Rect, Sech

T = 2e-6


def _envelope_reference(shape, u):
    """Textbook envelopes, written independently of sequences.shapes."""
    if isinstance(shape, Gaussian):
        sigma = T / (2 * shape.truncation)
        return math.exp(-((u - T / 2) ** 2) / (2 * sigma**2))
    if isinstance(shape, Sech):
        return 1 / math.cosh(shape.beta * (2 * u / T - 1))
    return 1.0


def _sweep_reference(shape, u):
    """Instantaneous frequency offset, Hz."""
    if isinstance(shape, Sech):
        return shape.bandwidth_hz / 2 * math.tanh(shape.beta * (2 * u / T - 1))
    if isinstance(shape, Chirp):
        return shape.bandwidth_hz * (u / T - 0.5)
    return 0.0


SHAPES = [Rect(), Gaussian(), Gaussian(0.8), Sech(), Sech(2.0, 3e6), Chirp(2e6)]
IDS = ["rect", "gaussian-3", "gaussian-0.8", "sech-5.3", "sech-2", "chirp"]


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_envelope_and_running_area_match_quadrature(shape):
    u = np.linspace(0, T, 17)
    np.testing.assert_allclose(
        shape.envelope(u, T), [_envelope_reference(shape, x) for x in u], rtol=1e-13
    )
    for x in u[1:]:
        area = quad(lambda s: _envelope_reference(shape, s), 0, x, epsabs=0, epsrel=1e-13)[0]
        assert float(shape.cumulative(np.array(x), T)) == pytest.approx(area, rel=1e-12)
    assert shape.area_factor == pytest.approx(float(shape.cumulative(np.array(T), T)) / T, 1e-14)
    assert float(np.max(shape.envelope(u, T))) == pytest.approx(1.0)


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_sweep_phase_integrates_the_instantaneous_frequency(shape):
    for x in np.linspace(0, T, 9):
        expected = 2 * math.pi * quad(lambda s: _sweep_reference(shape, s), 0, x, epsrel=1e-13)[0]
        assert float(shape.sweep_phase_rad(np.array(x), T)) == pytest.approx(expected, abs=1e-9)
    frequencies = [_sweep_reference(shape, x) for x in np.linspace(0, T, 2001)]
    assert max(frequencies) - min(frequencies) == pytest.approx(shape.span_hz, rel=1e-6)


@settings(max_examples=50)
@given(truncation=st.floats(0.05, 10), beta=st.floats(0.05, 50))
def test_area_factors_are_in_unit_interval_and_closed_form(truncation, beta):
    g = Gaussian(truncation)
    assert 0 < g.area_factor <= 1
    assert g.area_factor == pytest.approx(
        math.sqrt(math.pi / 2) * math.erf(truncation / math.sqrt(2)) / truncation, rel=1e-14
    )
    s = Sech(beta, 1e6)
    assert 0 < s.area_factor <= 1
    # the integral of sech over [-b, b] is 2 gd(b) = 4 atan(tanh(b/2))
    assert s.area_factor == pytest.approx(2 * math.atan(math.tanh(beta / 2)) / beta, rel=1e-12)


@pytest.mark.parametrize(
    "make",
    [lambda: Gaussian(0), lambda: Sech(0, 1e6), lambda: Sech(60, 1e6), lambda: Chirp(-1)],
    ids=["gaussian-zero", "sech-beta-zero", "sech-beta-large", "chirp-negative"],
)
def test_invalid_shape_parameters_raise(make):
    with pytest.raises(ValueError):
        make()
