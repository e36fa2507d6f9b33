"""The built-in protocols load, bind at every sweep point and compile to both targets."""

import math

import numpy as np
import pytest

from spin_echo.sequences import (
    AwgConstraints,
    Pulse,
    compile_timeline,
    compile_waveform,
    list_protocols,
    load_protocol,
)
from spin_echo.sequences.protocol_files import LIBRARY_DIR

LIBRARY = (
    "fid",
    "nutation",
    "hahn-echo",
    "cpmg",
    "stimulated-echo",
    "inversion-recovery",
    "hole-burning",
)


def test_list_protocols_names_every_library_file_with_a_description():
    listed = dict(list_protocols())
    assert set(LIBRARY) <= set(listed)
    assert set(listed) == {p.stem for p in LIBRARY_DIR.glob("*.yaml")}
    for name in LIBRARY:
        assert listed[name] and "\n" not in listed[name]


@pytest.mark.parametrize("name", LIBRARY, ids=LIBRARY)
def test_library_protocol_is_cheap_and_compiles_everywhere(name):
    protocol = load_protocol(name)
    assert protocol.name == name
    assert protocol.carrier_hz == 4e6
    assert protocol.full_scale_rabi_hz == 1e6
    assert 1 <= math.prod(protocol.sweep_shape) <= 20
    assert len(protocol.phase_cycle) >= 2
    assert sum(abs(step.receiver) for step in protocol.phase_cycle) == len(protocol.phase_cycle)
    constraints = AwgConstraints()
    for _, point in protocol.iter_points():
        for step in range(len(protocol.phase_cycle)):
            seq = protocol.sequence(point, phase_step=step)
            timeline = compile_timeline(seq)
            assert 1 <= sum(w.points for w in timeline.detect) <= 512
            assert len(timeline.start_s) <= 40
            assert timeline.total_s <= protocol.repetition_time_s
            for pulse in seq.pulses:
                # the rotating-wave approximation needs Rabi << carrier
                assert pulse.peak_rabi_hz(seq.full_scale_rabi_hz) <= seq.carrier_hz / 4
    waveform = compile_waveform(protocol.sequence(), constraints, 100e6)
    assert waveform.markers[1].any()
    assert np.abs(waveform.samples).max() <= 1


def test_hahn_echo_defaults_match_the_ferritin_sample():
    protocol = load_protocol("hahn-echo")
    seq = protocol.sequence()
    first, second = seq.pulses
    assert isinstance(first, Pulse)
    assert first.duration_s == pytest.approx(500e-9, rel=1e-15)
    assert first.nominal_angle_rad(seq.full_scale_rabi_hz) == pytest.approx(math.pi / 2, rel=1e-14)
    assert second.nominal_angle_rad(seq.full_scale_rabi_hz) == pytest.approx(math.pi, rel=1e-14)
    (axis,) = protocol.sweep_axes
    assert axis.name == "tau" and len(axis.values) == 12
    assert axis.values[0] == pytest.approx(2e-6) and axis.values[-1] == pytest.approx(40e-6)
    # on the carrier's period grid (every pi pulse at the same carrier phase), near log-spaced
    periods = np.asarray(axis.values) * seq.carrier_hz
    np.testing.assert_allclose(periods, np.rint(periods), rtol=0, atol=1e-9)
    steps = np.diff(np.log(axis.values))
    assert np.all(np.abs(steps / steps.mean() - 1) < 0.25)
    (window,) = compile_timeline(seq).detect
    # the window is centred on the echo, tau after the end of the pi pulse
    pi_end = 500e-9 + 5e-6 + 1e-6
    assert window.start_s + window.duration_s / 2 == pytest.approx(pi_end + 5e-6, rel=1e-12)
    assert window.points == 256
    receivers = [step.receiver for step in protocol.phase_cycle]
    assert receivers == [1, -1]
    first_phases = [step.pulse_phases_rad[0] for step in protocol.phase_cycle]
    assert first_phases == [0, pytest.approx(math.pi)]
