import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spin_echo.sequences import (
    PhaseStep,
    Protocol,
    ProtocolError,
    Rect,
    combine_phase_cycle,
    compile_timeline,
    load_protocol,
)

HAHN = """\
name: test-hahn
description: A Hahn echo for tests.
parameters:
  carrier: 4 MHz
  t_pi2: 500 ns
  t_pi: 2*t_pi2
  tau: 5 us
  window: 4 us
sequence:
  - pulse: {angle: pi/2, duration: t_pi2}
  - delay: tau
  - pulse: {angle: pi, duration: t_pi, phase: 90 deg}
  - delay: tau - window/2
  - detect: {duration: window, points: 128}
sweep:
  tau: {start: 2 us, stop: 8 us, points: 4}
  t_pi2: {values: [400 ns, 500 ns]}
phase_cycle:
  - {pulses: [0 deg, 0 deg], receiver: +1}
  - {pulses: [180 deg, 0 deg], receiver: -1}
  - {pulses: [90 deg, 0 deg], receiver: 90 deg}
shots: 4
repetition_time: 200 us
"""


def test_protocol_attributes_and_binding():
    p = Protocol.from_yaml(HAHN, source="hahn.yaml")
    assert p.name == "test-hahn" and p.description == "A Hahn echo for tests."
    assert p.parameters["t_pi"].text == "2*t_pi2" and p.parameters["t_pi"].value == 1e-6
    assert p.parameters["tau"].kind == "time" and p.parameters["carrier"].kind == "frequency"
    assert p.carrier_hz == 4e6 and p.full_scale_rabi_hz == 1e6
    assert p.shots == 4 and p.repetition_time_s == 200e-6
    assert p.sweep_shape == (4, 2)
    np.testing.assert_allclose(p.sweep_axes[0].values, [2e-6, 4e-6, 6e-6, 8e-6], rtol=1e-15)
    assert p.sweep_axes[1].scale == "list" and p.sweep_axes[1].kind == "time"
    points = list(p.iter_points())
    assert [index for index, _ in points] == [(i, j) for i in range(4) for j in range(2)]
    assert points[3][1] == {"tau": pytest.approx(4e-6), "t_pi2": pytest.approx(500e-9)}
    assert p.phase_cycle[2] == PhaseStep((math.pi / 2, 0.0), pytest.approx(1j))
    seq = p.sequence({"t_pi2": 400e-9, "tau": 2e-6}, phase_step=1)
    first, second = seq.pulses
    assert first.phase_rad == pytest.approx(math.pi) and second.phase_rad == pytest.approx(
        math.pi / 2
    )
    # dependent parameters follow the swept value: t_pi = 2*t_pi2
    assert second.duration_s == pytest.approx(800e-9, rel=1e-15)
    assert first.amplitude == pytest.approx(0.25 / 0.4, rel=1e-14)
    assert isinstance(first.shape, Rect)


def test_with_overrides_rebinds_and_reports_set_errors():
    p = Protocol.from_yaml(HAHN)
    q = p.with_overrides({"t_pi2": "250 ns", "window": "2 us"})
    assert q.parameters["t_pi"].value == pytest.approx(500e-9)
    assert q.sequence().pulses[0].amplitude == pytest.approx(1.0)
    assert "t_pi2: 250 ns" in q.to_yaml() and p.parameters["t_pi2"].text == "500 ns"
    with pytest.raises(ProtocolError) as info:
        p.with_overrides({"tua": "1 us"})
    assert info.value.file == "--set" and info.value.key == "tua"
    assert "known parameters are carrier, t_pi2, t_pi, tau, window" in str(info.value)
    with pytest.raises(ProtocolError, match="must be a time") as info:
        p.with_overrides({"tau": "1 MHz"})
    assert info.value.file == "--set"
    with pytest.raises(ProtocolError, match=r"needs amplitude 2\.5") as info:
        p.with_overrides({"t_pi2": "100 ns"})
    assert info.value.file == "--set" and info.value.key == "t_pi2"


def test_sequence_rejects_unknown_point_names_and_phase_steps():
    p = Protocol.from_yaml(HAHN)
    with pytest.raises(ProtocolError, match="unknown parameter"):
        p.sequence({"tua": 1e-6})
    with pytest.raises(ProtocolError, match="phase step"):
        p.sequence(phase_step=3)


def test_combine_phase_cycle_weights_by_receiver():
    steps = (PhaseStep((0.0,), 1), PhaseStep((math.pi,), -1), PhaseStep((0.5,), 1j))
    signals = np.array([[1 + 1j, 2], [-1 - 1j, -2], [-1j * (1 + 1j), -2j]])
    np.testing.assert_allclose(combine_phase_cycle(signals, steps), [1 + 1j, 2])
    with pytest.raises(ValueError, match="3 phase steps"):
        combine_phase_cycle(signals[:2], steps)


def _protocol_text(angle, duration_ns, shape, tau_us, points, start_us, stop_us, scale, receiver):
    if start_us == stop_us and points > 1:
        stop_us += 1.0  # equal sweep points are an error (test_repeated_sweep_values_are_refused)
    return f"""\
name: generated
description: generated protocol
parameters:
  carrier: 4 MHz
  theta: {angle!r}
  t_p: {duration_ns!r} ns
  tau: {tau_us!r} us
sequence:
  - pulse: {{angle: theta, duration: t_p, shape: {shape}, phase: 30 deg}}
  - delay: tau
  - detect: {{duration: 1 us, points: 16}}
sweep:
  tau: {{start: {start_us!r} us, stop: {stop_us!r} us, points: {points}, scale: {scale}}}
phase_cycle:
  - {{pulses: [0 deg], receiver: {receiver}}}
  - {{pulses: [pi], receiver: -1}}
full_scale_rabi: 2 MHz
"""


protocol_texts = st.builds(
    _protocol_text,
    st.floats(0.01, 3.5),
    st.floats(1000.0, 4000.0),
    st.sampled_from(
        [
            "rect",
            "gaussian",
            "{type: gaussian, sigma: t_p/4}",
            "{type: sech, bandwidth: 1 MHz}",
            "{type: chirp, bandwidth: 2 MHz}",
            "{type: sech, beta: 3, bandwidth: 500 kHz}",
        ]
    ),
    st.just(0.0) | st.floats(1e-6, 20.0),
    st.integers(1, 5),
    st.floats(0.1, 10.0),
    st.floats(0.1, 10.0),
    st.sampled_from(["linear", "log"]),
    st.sampled_from(["+1", "-1", "'90 deg'", "'-45 deg'"]),
)


@settings(max_examples=60, deadline=None)
@given(protocol_texts)
def test_yaml_round_trip_reproduces_the_protocol(text):
    p = Protocol.from_yaml(text)
    q = Protocol.from_yaml(p.to_yaml())
    assert q == p and q.to_yaml() == p.to_yaml()
    assert {k: (v.text, v.value, v.kind) for k, v in q.parameters.items()} == {
        k: (v.text, v.value, v.kind) for k, v in p.parameters.items()
    }
    for a, b in zip(p.sweep_axes, q.sweep_axes, strict=True):
        assert (a.name, a.kind, a.scale) == (b.name, b.kind, b.scale)
        np.testing.assert_array_equal(a.values, b.values)
    assert p.phase_cycle == q.phase_cycle
    assert (p.shots, p.repetition_time_s, p.full_scale_rabi_hz) == (
        q.shots,
        q.repetition_time_s,
        q.full_scale_rabi_hz,
    )
    for _, point in p.iter_points():
        assert p.sequence(point, 1) == q.sequence(point, 1)
    overridden = p.with_overrides({"tau": "3 us"})
    assert Protocol.from_yaml(overridden.to_yaml()) == overridden
    assert Protocol.from_yaml(overridden.to_yaml()).parameters["tau"].value == 3e-6


@settings(max_examples=60, deadline=None)
@given(protocol_texts)
def test_compiled_pulse_area_equals_the_angle_written_in_the_file(text):
    p = Protocol.from_yaml(text)
    angle = p.parameters["theta"].value
    for _, point in p.iter_points():
        timeline = compile_timeline(p.sequence(point))
        mine = timeline.pulse_index == 0
        area = 2 * math.pi * np.sum(timeline.rabi_hz[mine] * timeline.duration_s[mine])
        assert area == pytest.approx(angle, rel=1e-9)
        total = sum(e.duration_s for e in p.sequence(point).elements)
        assert timeline.total_s == pytest.approx(total, rel=1e-14)


def test_library_protocol_round_trips():
    for name in ("hahn-echo", "hole-burning", "stimulated-echo"):
        p = load_protocol(name)
        assert Protocol.from_yaml(p.to_yaml(), source="copy") == p


def test_protocols_pickle_for_process_pools():
    p = load_protocol("hahn-echo").with_overrides({"tau": "3 us"})
    q = pickle.loads(pickle.dumps(p))
    assert q == p and q.overrides == {"tau": "3 us"} and q.source == "hahn-echo.yaml"
    assert q.sequence() == p.sequence()


def test_set_on_a_swept_parameter_replaces_its_axis():
    swept = load_protocol("hahn-echo")
    assert [axis.name for axis in swept.sweep_axes] == ["tau"]
    fixed = swept.with_overrides({"tau": "3 us"})
    assert fixed.sweep_axes == () and fixed.sweep_shape == ()
    assert [point for _, point in fixed.iter_points()] == [{}]
    delays = [e for e in fixed.sequence().elements if type(e).__name__ == "Delay"]
    assert delays[0].duration_s == 3e-6
    assert "sweep" not in fixed.to_yaml()
    assert Protocol.from_yaml(fixed.to_yaml()) == fixed
    assert pickle.loads(pickle.dumps(fixed)).sweep_axes == ()


def test_set_on_one_of_two_axes_keeps_the_other():
    text = HAHN_TWO_AXES
    p = Protocol.from_yaml(text).with_overrides({"tau": "3 us"})
    assert [axis.name for axis in p.sweep_axes] == ["t_pi2"]
    again = Protocol.from_yaml(p.to_yaml())
    assert [axis.name for axis in again.sweep_axes] == ["t_pi2"]
    assert again.parameters["tau"].value == 3e-6


HAHN_TWO_AXES = """\
name: two-axes
parameters:
  carrier: 4 MHz
  t_pi2: 500 ns
  tau: 2 us
sequence:
  - pulse: {angle: pi/2, duration: t_pi2}
  - delay: tau
  - pulse: {angle: pi, duration: 2*t_pi2}
  - delay: tau
  - detect: {duration: 1 us, points: 8}
sweep:
  t_pi2: {values: [400 ns, 500 ns]}
  tau: {start: 2 us, stop: 4 us, points: 3}
"""


def test_full_scale_rabi_is_overridable():
    base = load_protocol("hahn-echo")
    doubled = base.with_overrides({"full_scale_rabi": "2 MHz"})
    assert doubled.full_scale_rabi_hz == 2e6
    assert doubled.sequence().pulses[0].amplitude == base.sequence().pulses[0].amplitude / 2
    assert Protocol.from_yaml(doubled.to_yaml()).full_scale_rabi_hz == 2e6
    assert pickle.loads(pickle.dumps(doubled)).full_scale_rabi_hz == 2e6


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0 Hz", "must be a positive frequency"),
        ("2 us", "must be a frequency"),
        ("1e308 Hz", "is out of range"),
        ("10 kHz", "needs amplitude"),
    ],
)
def test_bad_full_scale_rabi_override_names_set(value, message):
    with pytest.raises(ProtocolError, match=message) as info:
        load_protocol("hahn-echo").with_overrides({"full_scale_rabi": value})
    assert str(info.value).startswith("--set: full_scale_rabi = ")


def test_a_record_larger_than_the_limit_is_refused_at_the_sweep():
    text = HAHN_TWO_AXES.replace("points: 8", "points: 1000000").replace("points: 3", "points: 11")
    with pytest.raises(ProtocolError, match="a record holds at most 20000000") as info:
        Protocol.from_yaml(text, source="big.yaml")
    assert str(info.value).startswith("big.yaml:13: sweep: 22 sweep points x 1000000 detection")
