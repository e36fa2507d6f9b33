import math

import pytest

from spin_echo.sequences.binding import bind_element, check_element
from spin_echo.sequences.errors import ProtocolError
from spin_echo.sequences.model import Delay, Detect, Pulse
from spin_echo.sequences.quantity import Quantity
from spin_echo.sequences.shapes import Chirp, Gaussian, Rect, Sech
from spin_echo.sequences.yamlio import load_yaml

ENV = {"t": Quantity(2e-6, (1, 0, 0, 0, 0)), "n": Quantity(32.0)}


def _bind(entry, full_scale=1e6):
    node = load_yaml("b.yaml", text=f"s:\n  - {entry}\n", error_class=ProtocolError)["s"]
    kind, body = check_element(node.as_list().items[0])
    return bind_element(kind, body, ENV, full_scale)


@pytest.mark.parametrize(
    ("entry", "shape"),
    [
        ("pulse: {amplitude: 0.5, duration: t}", Rect()),
        ("pulse: {amplitude: 0.5, duration: t, shape: gaussian}", Gaussian(3.0)),
        (
            "pulse: {amplitude: 0.5, duration: t, shape: {type: gaussian, sigma: t/8}}",
            Gaussian(4.0),
        ),
        (
            "pulse: {amplitude: 0.5, duration: t, shape: {type: gaussian, truncation: 2}}",
            Gaussian(2.0),
        ),
        (
            "pulse: {amplitude: 0.5, duration: t, shape: {type: sech, bandwidth: 2 MHz}}",
            Sech(5.3, 2e6),
        ),
        (
            "pulse: {amplitude: 0.5, duration: t, shape: {type: sech, beta: 3, bandwidth: 1 MHz}}",
            Sech(3.0, 1e6),
        ),
        (
            "pulse: {amplitude: 0.5, duration: t, shape: {type: chirp, bandwidth: 4 MHz}}",
            Chirp(4e6),
        ),
    ],
    ids=["default-rect", "gaussian", "sigma", "truncation", "sech", "sech-beta", "chirp"],
)
def test_shapes_are_read(entry, shape):
    pulse = _bind(entry)
    assert isinstance(pulse, Pulse) and pulse.shape == shape


def test_angle_sets_the_amplitude_by_pulse_area():
    pulse = _bind(
        "pulse: {angle: pi, duration: t, shape: gaussian, phase: 45 deg, frequency: -1 MHz}"
    )
    area_factor = math.sqrt(2 * math.pi) * math.erf(3 / math.sqrt(2)) / 6
    assert pulse.amplitude == pytest.approx(0.5 / (2e-6 * 1e6 * area_factor), rel=1e-14)
    assert pulse.angle_rad == math.pi and pulse.phase_rad == pytest.approx(math.pi / 4)
    assert pulse.frequency_hz == -1e6
    exact = _bind("pulse: {angle: pi, duration: 500 ns}")
    assert exact.amplitude == 1.0


def test_delays_and_detection_windows():
    delay = _bind("delay: t - 1 us")
    assert isinstance(delay, Delay) and delay.duration_s == pytest.approx(1e-6, rel=1e-15)
    detect = _bind("detect: {duration: t, points: 2*n, offset: -t/2}")
    assert detect == Detect(duration_s=2e-6, points=64, offset_s=-1e-6)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("wait: 1 us", "unknown key 'wait'"),
        ("pulse: {angle: pi}", "missing required key 'duration'"),
        ("pulse: {duration: t}", "exactly one of 'angle' or 'amplitude'"),
        ("pulse: {angle: -1, duration: t}", "must be a non-negative angle"),
        ("pulse: {amplitude: 0.5, duration: t, shape: sech}", "needs a mapping"),
        (
            "pulse: {amplitude: 0.5, duration: t, shape: {sigma: 1 us}}",
            "missing required key 'type'",
        ),
        (
            "pulse: {amplitude: 0.5, duration: t, "
            "shape: {type: gaussian, sigma: 1 us, truncation: 3}}",
            "either 'sigma' or 'truncation'",
        ),
        (
            "pulse: {amplitude: 0.5, duration: t, shape: {type: sech, bandwidth: 1 MHz, beta: 60}}",
            "must be at most 50",
        ),
        (
            "pulse: {amplitude: 0.5, duration: t, shape: {type: chirp, bandwidth: 1 MHz, beta: 2}}",
            "unknown key 'beta'",
        ),
        ("detect: {duration: t, points: n/3}", "must be a whole number"),
        ("detect: {duration: t, points: 2.5}", "must be a whole number"),
        ("detect: {duration: t}", "missing required key 'points'"),
        ("delay: 3 us - t - t", "must be a non-negative time"),
    ],
    ids=[
        "unknown-kind",
        "no-duration",
        "no-strength",
        "negative-angle",
        "sech-without-mapping",
        "shape-without-type",
        "sigma-and-truncation",
        "beta-too-large",
        "chirp-with-beta",
        "fractional-points",
        "float-points",
        "no-points",
        "negative-delay",
    ],
)
def test_bad_entries_are_located(entry, message):
    with pytest.raises(ProtocolError) as info:
        _bind(entry)
    assert message in str(info.value)
    assert str(info.value).startswith("b.yaml:2: s[0]")
