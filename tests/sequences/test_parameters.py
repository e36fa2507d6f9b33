import cmath
import math

import numpy as np
import pytest

from spin_echo.sequences.errors import ProtocolError
from spin_echo.sequences.parameters import parse_parameters, parse_phase_cycle, parse_sweep
from spin_echo.sequences.yamlio import load_yaml


def _node(text):
    return load_yaml("p.yaml", text=text, error_class=ProtocolError)


def test_parameters_in_order_with_kinds_and_dependencies():
    root = _node(
        "parameters:\n  carrier: 4 MHz\n  t_pi2: 50 ns\n  t_pi: 2*t_pi2\n  theta: 90 deg\n"
        "  n: 3\n  temp: 20 mK\n"
    )
    params = parse_parameters(root["parameters"], {})
    assert list(params) == ["carrier", "t_pi2", "t_pi", "theta", "n", "temp"]
    assert [p.kind for p in params.values()] == [
        "frequency",
        "time",
        "time",
        "angle",
        "dimensionless",
        "temperature",
    ]
    assert (
        params["t_pi"].value == pytest.approx(1e-7, rel=1e-15) and params["t_pi"].text == "2*t_pi2"
    )
    overridden = parse_parameters(root["parameters"], {"t_pi2": "1 us", "theta": "pi/4"})
    assert overridden["t_pi"].value == pytest.approx(2e-6, rel=1e-15)
    assert (
        overridden["theta"].value == pytest.approx(math.pi / 4)
        and overridden["theta"].kind == "angle"
    )


@pytest.mark.parametrize(
    ("text", "overrides", "message"),
    [
        ("parameters: {tau: 1 us}\n", {}, "must include 'carrier'"),
        ("parameters: {carrier: 1 us}\n", {}, "carrier = '1 us': must be a positive frequency"),
        ("parameters: {carrier: 4 MHz, 2x: 1}\n", {}, "must be identifiers"),
        ("parameters: {carrier: 4 MHz, pi: 3}\n", {}, "'pi' is reserved for the constant pi"),
        ("parameters: {carrier: 4 MHz, x: [1]}\n", {}, "must be a quantity"),
        ("parameters: {carrier: 4 MHz, x: 1 s * 1 s}\n", {}, "must be a time, frequency"),
        ("parameters: {carrier: 4 MHz, x: y}\n", {}, "unknown name 'y'"),
        ("parameters: {carrier: 4 MHz, x: 1e400}\n", {}, "must be finite"),
        ("parameters: {carrier: 4 MHz}\n", {"tau": "1 us"}, "known parameters are carrier"),
        ("parameters: {carrier: 4 MHz}\n", {"carrier": "1 us"}, "must be a frequency"),
        ("parameters: {carrier: 4 MHz}\n", {"carrier": "1 +"}, "not a valid quantity"),
    ],
    ids=[
        "no-carrier",
        "carrier-not-frequency",
        "bad-name",
        "name-pi",
        "list-value",
        "unsupported-dimension",
        "unknown-name",
        "infinite",
        "unknown-override",
        "override-dimension",
        "override-syntax",
    ],
)
def test_bad_parameters(text, overrides, message):
    with pytest.raises(ProtocolError, match=None) as info:
        parse_parameters(_node(text)["parameters"], overrides)
    assert message in str(info.value)
    if overrides:
        assert info.value.file == "--set"


def test_sweeps_linear_log_and_lists():
    root = _node(
        "parameters: {carrier: 4 MHz, tau: 1 us, f: 0 Hz}\n"
        "sweep:\n  tau: {start: 1 us, stop: 1 ms, points: 4, scale: log}\n"
        "  f: {values: [-1 MHz, 0 Hz, 2.5 MHz]}\n"
    )
    params = parse_parameters(root["parameters"], {})
    tau, f = parse_sweep(root["sweep"], params)
    assert tau.values[0] == 1e-6 and tau.values[-1] == 1e-3 and tau.scale == "log"
    np.testing.assert_allclose(tau.values, [1e-6, 1e-5, 1e-4, 1e-3], rtol=1e-14)
    assert f.kind == "frequency" and f.scale == "list"
    np.testing.assert_array_equal(f.values, [-1e6, 0.0, 2.5e6])
    linear = parse_sweep(_node("s: {tau: {start: 0 us, stop: 2 us, points: 5}}")["s"], params)
    np.testing.assert_allclose(linear[0].values, [0, 5e-7, 1e-6, 1.5e-6, 2e-6], rtol=1e-15)
    assert linear[0].scale == "linear"


def test_a_range_sweep_snaps_to_its_step_grid():
    params = parse_parameters(_node("p: {carrier: 4 MHz, tau: 1 us}")["p"], {})
    text = "s: {tau: {start: 2 us, stop: 20 us, points: 8, scale: log, step: 250 ns}}"
    (tau,) = parse_sweep(_node(text)["s"], params)
    exact = np.geomspace(2e-6, 20e-6, 8)
    multiples = np.rint(exact / 250e-9)
    np.testing.assert_array_equal(tau.values, [float(f"{k * 250e-9:.12g}") for k in multiples])
    assert np.all(np.abs(tau.values - exact) <= 125e-9)  # the nearest grid point
    assert tau.values[1] == 2.75e-6  # written to 12 digits, not 2.7500000000000004e-06
    assert tau.scale == "log"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{start: 1 us, stop: 2 us, points: 9, step: 250 ns}", "same multiple of the step"),
        ("{start: 100 ns, stop: 2 us, points: 3, step: 250 ns}", "rounds the first sweep point"),
        ("{start: 1 us, stop: 2 us, points: 3, step: 0 ns}", "must be a positive"),
        ("{start: 1 us, stop: 2 us, points: 3, step: 1 MHz}", "like parameter tau"),
    ],
)
def test_bad_sweep_steps_are_located(spec, message):
    params = parse_parameters(_node("p: {carrier: 4 MHz, tau: 1 us}")["p"], {})
    with pytest.raises(ProtocolError, match=message) as info:
        parse_sweep(_node(f"s:\n  tau: {spec}")["s"], params)
    assert info.value.line == 2 and "step" in str(info.value)


def test_phase_cycle_receivers():
    steps = parse_phase_cycle(
        _node(
            "pc:\n  - {pulses: [0 deg, pi], receiver: +1}\n"
            "  - {pulses: [90 deg, 0], receiver: -1}\n"
            "  - {pulses: [0, 0], receiver: 90 deg}\n  - {pulses: [0, 0]}\n"
        )["pc"],
        2,
    )
    assert steps[0].pulse_phases_rad == (0.0, math.pi) and steps[0].receiver == 1
    assert steps[1].pulse_phases_rad == (math.pi / 2, 0.0) and steps[1].receiver == -1
    assert steps[2].receiver == pytest.approx(cmath.exp(0.5j * math.pi))
    assert steps[3].receiver == 1
    (default,) = parse_phase_cycle(None, 3)
    assert default.pulse_phases_rad == (0.0, 0.0, 0.0) and default.receiver == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pc: []\n", "at least one step"),
        ("pc:\n  - {pulses: [0 deg], receiver: 0.5}\n", "must be +1, -1 or an angle"),
        ("pc:\n  - {pulses: [0 deg], receiver: '-1'}\n", "must be +1, -1 or an angle"),
        ("pc:\n  - {pulses: [0 deg], receiver: true}\n", "must be +1, -1 or an angle"),
        ("pc:\n  - {pulses: [5 ns]}\n", "must be an angle"),
        ("pc:\n  - {pulses: [0], rx: 1}\n", "unknown key 'rx'"),
    ],
    ids=["empty", "half", "string-minus-one", "boolean", "not-an-angle", "unknown-key"],
)
def test_bad_phase_cycles(text, message):
    with pytest.raises(ProtocolError) as info:
        parse_phase_cycle(_node(text)["pc"], 1)
    assert message in str(info.value)
