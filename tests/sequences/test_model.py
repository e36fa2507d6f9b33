import math

import pytest

from spin_echo.sequences import Delay, Detect, Gaussian, ProtocolError, Pulse, Sequence


def test_pulse_angle_and_rabi():
    pulse = Pulse(duration_s=1e-6, amplitude=0.25)
    assert pulse.peak_rabi_hz(2e6) == 5e5
    assert pulse.nominal_angle_rad(2e6) == pytest.approx(math.pi, rel=1e-15)
    shaped = Pulse(duration_s=1e-6, amplitude=0.25, shape=Gaussian(3.0))
    area = math.sqrt(2 * math.pi) * (1e-6 / 6) * math.erf(3 / math.sqrt(2))
    assert shaped.nominal_angle_rad(2e6) == pytest.approx(2 * math.pi * 5e5 * area, rel=1e-14)


def test_sequence_lists_its_pulses_in_order():
    a, b = Pulse(duration_s=1e-6, amplitude=0.1), Pulse(duration_s=2e-6, amplitude=0.2)
    seq = Sequence(
        elements=[a, Delay(duration_s=1e-6), b, Detect(duration_s=1e-6, points=4)],
        carrier_hz=4e6,
        full_scale_rabi_hz=1e6,
    )
    assert seq.pulses == (a, b) and isinstance(seq.elements, tuple)


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda: Pulse(duration_s=0.0, amplitude=0.5), "pulse.duration"),
        (lambda: Pulse(duration_s=-1e-9, amplitude=0.5), "pulse.duration"),
        (lambda: Pulse(duration_s=math.inf, amplitude=0.5), "pulse.duration"),
        (lambda: Pulse(duration_s=1e-6, amplitude=1.01), "pulse.amplitude"),
        (lambda: Pulse(duration_s=1e-6, amplitude=-0.1), "pulse.amplitude"),
        (lambda: Pulse(duration_s=1e-6, amplitude=0.5, phase_rad=math.nan), "pulse.phase"),
        (lambda: Pulse(duration_s=1e-6, amplitude=0.5, frequency_hz=math.inf), "pulse.frequency"),
        (lambda: Delay(duration_s=-1e-9), "delay"),
        (lambda: Detect(duration_s=0.0, points=4), "detect.duration"),
        (lambda: Detect(duration_s=1e-6, points=0), "detect.points"),
        (lambda: Detect(duration_s=1e-6, points=True), "detect.points"),
        (lambda: Detect(duration_s=1e-6, points=4, offset_s=math.nan), "detect.offset"),
        (lambda: Sequence(elements=(), carrier_hz=0.0, full_scale_rabi_hz=1e6), "carrier"),
        (lambda: Sequence(elements=(), carrier_hz=1e6, full_scale_rabi_hz=-1.0), "full_scale_rabi"),
        (lambda: Sequence(elements=("x",), carrier_hz=1e6, full_scale_rabi_hz=1e6), "sequence[0]"),
    ],
    ids=[
        "zero-duration",
        "negative-duration",
        "infinite-duration",
        "amplitude-above-one",
        "negative-amplitude",
        "nan-phase",
        "infinite-frequency",
        "negative-delay",
        "zero-window",
        "zero-points",
        "boolean-points",
        "nan-offset",
        "zero-carrier",
        "negative-full-scale",
        "not-an-element",
    ],
)
def test_invalid_values_raise_protocol_errors_naming_the_key(make, key):
    with pytest.raises(ProtocolError) as info:
        make()
    assert info.value.key == key
