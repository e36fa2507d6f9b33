import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spin_echo.sequences import (
    AwgConstraints,
    Chirp,
    CompileError,
    Delay,
    Detect,
    Gaussian,
    Pulse,
    Rect,
    Sech,
    Sequence,
    Shape,
    compile_timeline,
    compile_waveform,
)
from spin_echo.sequences.compile import PULSE_TOLERANCE, layout

FULL = 1e6
CARRIER = 4e6

durations = st.floats(min_value=20e-9, max_value=5e-6)
shapes = st.one_of(
    st.just(Rect()),
    st.builds(Gaussian, st.floats(0.5, 5)),
    st.builds(Sech, st.floats(1, 8), st.floats(1e5, 5e6)),
    st.builds(Chirp, st.floats(1e5, 5e6)),
)
pulses = st.builds(
    lambda d, a, p, s, f: Pulse(duration_s=d, amplitude=a, phase_rad=p, shape=s, frequency_hz=f),
    durations,
    st.floats(0.0, 1.0),
    st.floats(-7.0, 7.0),
    shapes,
    st.floats(-2e6, 2e6),
)
elements = st.one_of(
    pulses,
    st.builds(lambda d: Delay(duration_s=d), st.floats(0.0, 5e-6)),
    st.builds(lambda d, n: Detect(duration_s=d, points=n), durations, st.integers(1, 64)),
)
sequences = st.builds(
    lambda e: Sequence(elements=tuple(e), carrier_hz=CARRIER, full_scale_rabi_hz=FULL),
    st.lists(elements, min_size=1, max_size=8),
)


def _seq(*elements):
    return Sequence(elements=elements, carrier_hz=CARRIER, full_scale_rabi_hz=FULL)


def _exact_edges(seq):
    """Element start times summed exactly (independent of the compiler)."""
    now, edges = Fraction(0), []
    for element in seq.elements:
        edges.append(now)
        now += Fraction(element.duration_s)
    return edges, now


@settings(max_examples=150, deadline=None)
@given(sequences)
def test_timeline_tiles_the_sequence_and_conserves_durations(seq):
    timeline = compile_timeline(seq)
    _, total = _exact_edges(seq)
    assert timeline.total_s == pytest.approx(float(total), rel=1e-15, abs=0)
    assert timeline.duration_s.sum() == pytest.approx(float(total), rel=1e-13, abs=1e-30)
    if len(timeline.start_s):
        assert timeline.start_s[0] == 0
        np.testing.assert_allclose(
            timeline.start_s[1:], timeline.start_s[:-1] + timeline.duration_s[:-1], rtol=1e-15
        )
        assert (timeline.duration_s > 0).all()
        assert (timeline.rabi_hz >= 0).all()
    assert len(timeline.detect) == sum(isinstance(e, Detect) for e in seq.elements)


@settings(max_examples=150, deadline=None)
@given(sequences)
def test_every_pulse_area_equals_its_nominal_angle(seq):
    timeline = compile_timeline(seq)
    for i, pulse in enumerate(seq.pulses):
        mine = timeline.pulse_index == i
        area = 2 * math.pi * np.sum(timeline.rabi_hz[mine] * timeline.duration_s[mine])
        # edges are rounded once on the absolute axis: a pulse's duration carries up to one
        # ulp of its end time, i.e. a relative error spacing(end) / duration
        end = timeline.start_s[mine][-1] + timeline.duration_s[mine][-1]
        rel = 2e-14 + 2 * float(np.spacing(end)) / pulse.duration_s
        assert area == pytest.approx(pulse.nominal_angle_rad(FULL), rel=rel, abs=1e-15)
        assert timeline.duration_s[mine].sum() == pytest.approx(pulse.duration_s, rel=1e-12)
        if isinstance(pulse.shape, Rect):
            assert mine.sum() == 1
            assert timeline.offset_hz[mine][0] == pulse.frequency_hz
        else:
            peak = pulse.amplitude * FULL
            assert mine.sum() >= 64
            assert (timeline.duration_s[mine] * 20 * peak <= 1 + 1e-9).all()
            assert (timeline.duration_s[mine] * 20 * pulse.shape.span_hz <= 1 + 1e-9).all()


@settings(max_examples=100, deadline=None)
@given(sequences)
def test_drive_phase_is_continuous_within_pulses(seq):
    timeline = compile_timeline(seq)
    for i in range(len(seq.pulses)):
        (k,) = np.nonzero(timeline.pulse_index == i)
        end_phase = (
            timeline.phase_rad[k[:-1]]
            + 2 * math.pi * timeline.offset_hz[k[:-1]] * timeline.duration_s[k[:-1]]
        )
        gap = np.angle(np.exp(1j * (timeline.phase_rad[k[1:]] - end_phase)))
        np.testing.assert_allclose(gap, 0, atol=1e-13)


def test_rect_pulse_phase_follows_a_continuous_oscillator_at_its_offset():
    seq = _seq(
        Delay(duration_s=1.25e-6),
        Pulse(duration_s=1e-6, amplitude=0.5, phase_rad=0.3, frequency_hz=2e5),
    )
    timeline = compile_timeline(seq)
    (k,) = np.nonzero(timeline.pulse_index == 0)
    expected = (0.3 + 2 * math.pi * 2e5 * 1.25e-6) % (2 * math.pi)
    assert timeline.phase_rad[k[0]] == pytest.approx(expected, abs=1e-12)
    assert timeline.rabi_hz[k[0]] == 0.5 * FULL


def test_gaussian_subsegments_follow_the_envelope():
    pulse = Pulse(duration_s=2e-6, amplitude=0.8, shape=Gaussian(3.0))
    timeline = compile_timeline(_seq(pulse))
    mid = timeline.start_s + timeline.duration_s / 2
    sigma = 2e-6 / 6
    envelope = 0.8 * FULL * np.exp(-((mid - 1e-6) ** 2) / (2 * sigma**2))
    # the sub-segment mean differs from the midpoint value by dt^2/24 * r''
    np.testing.assert_allclose(timeline.rabi_hz, envelope, rtol=0, atol=1e-3 * 0.8 * FULL)


def test_detection_windows_with_offset_and_overlaps():
    window = Detect(duration_s=2e-6, points=8, offset_s=-1e-6)
    timeline = compile_timeline(
        _seq(Pulse(duration_s=1e-6, amplitude=0.5), Delay(duration_s=3e-6), window)
    )
    (w,) = timeline.detect
    assert w.start_s == pytest.approx(3e-6) and timeline.total_s == pytest.approx(5e-6)
    assert np.isin(w.start_s, timeline.start_s)
    with pytest.raises(CompileError, match="inside pulse 0"):
        compile_timeline(
            _seq(Pulse(duration_s=1e-6, amplitude=0.5), Delay(duration_s=5e-7), window)
        )
    with pytest.raises(CompileError, match="overlaps the previous detection window"):
        compile_timeline(_seq(Detect(duration_s=2e-6, points=4), window))
    with pytest.raises(CompileError, match="before time zero"):
        compile_timeline(_seq(window))


def test_overlong_shaped_pulse_is_refused():
    pulse = Pulse(duration_s=1e-3, amplitude=1.0, shape=Chirp(1e7))
    with pytest.raises(CompileError, match="segments"):
        compile_timeline(_seq(pulse))


constraints_st = st.builds(
    AwgConstraints,
    sample_rate_min_hz=st.just(1e6),
    sample_rate_max_hz=st.just(2e9),
    min_length=st.integers(1, 5000),
    length_step=st.integers(1, 64),
    max_length=st.just(10**7),
    dac_bits=st.integers(4, 16),
    markers=st.integers(0, 2),
)


@settings(max_examples=100, deadline=None)
@given(sequences, constraints_st, st.floats(5e7, 1e9))
def test_waveform_respects_granularity_length_and_dac_levels(seq, constraints, rate):
    waveform = compile_waveform(seq, constraints, rate)
    n = len(waveform.samples)
    _, total = _exact_edges(seq)
    assert n % constraints.length_step == 0
    assert n >= constraints.min_length and n >= round(float(total) * rate)
    assert n - max(constraints.min_length, round(float(total) * rate)) < constraints.length_step
    full = 2 ** (constraints.dac_bits - 1) - 1
    codes = waveform.samples * full
    np.testing.assert_allclose(codes, np.rint(codes), atol=1e-9)
    assert np.abs(waveform.samples).max(initial=0) <= 1
    np.testing.assert_array_equal(waveform.codes, np.rint(codes).astype(int))
    assert waveform.markers.shape == (constraints.markers, n)
    if constraints.markers >= 2:
        edges, _ = _exact_edges(seq)
        expected = 0
        for element, edge in zip(seq.elements, edges, strict=True):
            if isinstance(element, Detect):
                # the window opens ``offset`` after the previous element's end (= this edge)
                start = edge + Fraction(element.offset_s)
                end = start + Fraction(element.duration_s)
                expected += round(float(end) * rate) - round(float(start) * rate)
        assert int(waveform.markers[1].sum()) == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(1.0, 3.0), min_size=1, max_size=200),
    st.floats(0.0, 1.0),
)
def test_pulse_edges_are_rounded_once_without_drift(samples_per_pulse, phase):
    rate = 1e8
    elements = []
    for n in samples_per_pulse:
        elements += [
            Pulse(duration_s=n / rate, amplitude=1.0, phase_rad=phase),
            Delay(duration_s=n / rate),
        ]
    seq = Sequence(elements=tuple(elements), carrier_hz=1e3, full_scale_rabi_hz=FULL)
    waveform = compile_waveform(seq, AwgConstraints(min_length=1), rate)
    edges, _ = _exact_edges(seq)
    expected = np.zeros(len(waveform.samples), dtype=bool)
    for j in range(0, len(elements), 2):
        start, stop = round(float(edges[j]) * rate), round(float(edges[j + 1]) * rate)
        expected[start:stop] = True
    # the carrier is slow (1 kHz) and the phase below pi/2 - 1 rad, so every pulse sample is > 0
    np.testing.assert_array_equal(waveform.samples > 0.4, expected)


def test_rect_waveform_samples_match_the_drive_formula():
    seq = _seq(
        Delay(duration_s=1e-6),
        Pulse(duration_s=2e-6, amplitude=0.7, phase_rad=0.4, frequency_hz=-3e5),
        Detect(duration_s=1e-6, points=16),
    )
    rate = 2.5e8
    waveform = compile_waveform(seq, AwgConstraints(dac_bits=16), rate)
    t = (np.arange(len(waveform.samples)) + 0.5) / rate
    inside = (np.arange(len(t)) >= 250) & (np.arange(len(t)) < 750)
    expected = np.where(inside, 0.7 * np.cos(2 * np.pi * (CARRIER - 3e5) * t + 0.4), 0.0)
    np.testing.assert_allclose(waveform.samples, expected, atol=0.5 / 32767 + 1e-12)
    assert waveform.markers[1].sum() == 250 and waveform.markers[1][750:1000].all()
    assert waveform.markers[0][: math.ceil(100e-9 * rate)].all()
    assert not waveform.markers[0][math.ceil(100e-9 * rate) :].any()
    assert waveform.detect == compile_timeline(seq).detect


def test_sampled_gaussian_area_matches_the_nominal_angle():
    pulse = Pulse(duration_s=2e-6, amplitude=0.6, shape=Gaussian(3.0))
    rate = 1e9
    waveform = compile_waveform(_seq(pulse), AwgConstraints(), rate)
    t = (np.arange(len(waveform.samples)) + 0.5) / rate
    # demodulate: the envelope is 2 <b(t) cos(2 pi f_c t)> averaged over carrier cycles
    area = 2 * np.sum(waveform.samples * np.cos(2 * np.pi * CARRIER * t)) / rate * FULL * 2 * np.pi
    assert area == pytest.approx(pulse.nominal_angle_rad(FULL), rel=2e-3)


@dataclass(frozen=True)
class _Overdriven(Shape):
    """A user-defined shape whose envelope exceeds 1."""

    def envelope(self, u_s, duration_s):
        return 2 * np.ones_like(np.asarray(u_s, dtype=float))


@pytest.mark.parametrize(
    ("seq", "constraints", "rate", "message"),
    [
        (_seq(Pulse(duration_s=1e-6, amplitude=0.5)), AwgConstraints(), 2e9, "must be between"),
        (_seq(Pulse(duration_s=1e-6, amplitude=0.5)), AwgConstraints(), 5e2, "must be between"),
        (_seq(Pulse(duration_s=5e-9, amplitude=0.5)), AwgConstraints(), 1e8, "shorter than one"),
        (
            _seq(Pulse(duration_s=1e-6, amplitude=0.5), Delay(duration_s=1e-3)),
            AwgConstraints(max_length=10_000),
            1e8,
            "the AWG holds at most 10000",
        ),
        (
            _seq(Pulse(duration_s=1e-6, amplitude=0.8, shape=_Overdriven())),
            AwgConstraints(),
            1e8,
            "of full scale",
        ),
    ],
    ids=["rate-high", "rate-low", "pulse-too-short", "too-long", "over-full-scale"],
)
def test_waveform_violations_are_compile_errors(seq, constraints, rate, message):
    with pytest.raises(CompileError, match=message):
        compile_waveform(seq, constraints, rate)


# Shaped-pulse subdivision: the timeline's piecewise-constant pulse against the continuous one,
# both integrated by scipy (DOP853, rtol 1e-12) for packets at several detunings from the drive,
# in the rotating frame (field (B cos Phi, B sin Phi, E - f_c/2), B = -r sin(eta)/2) and in the
# lab frame (field (-sin(eta) b, 0, E + cos(eta) b), b = r cos(2 pi f_c t + Phi)); dr/dt =
# 4 pi h x r from r = (0, 0, -1). The error is |r_timeline - r_continuous| over the pulse angle.
SIN_ETA, COS_ETA = 0.8, 0.6
DETUNINGS_HZ = np.array([0.0, 0.3e6, -1.0e6, 3.0e6])  # 2E - (f_c + offset)
SHAPED = [
    Pulse(duration_s=1e-6, amplitude=0.6, shape=Gaussian(3.0)),
    Pulse(duration_s=1e-6, amplitude=0.6, shape=Gaussian(3.0), frequency_hz=-0.5e6),
    Pulse(duration_s=2e-6, amplitude=0.6, shape=Sech(5, 2e6)),
    Pulse(duration_s=1e-6, amplitude=0.6, shape=Chirp(2e6)),
]


def _field(frame: str, energy_hz, rabi_hz, phase_rad, t):
    if frame == "rotating":
        b = -0.5 * SIN_ETA * rabi_hz
        return b * np.cos(phase_rad), b * np.sin(phase_rad), energy_hz - CARRIER / 2
    drive = rabi_hz * np.cos(2 * math.pi * CARRIER * t + phase_rad)
    return -SIN_ETA * drive, np.zeros_like(energy_hz), energy_hz + COS_ETA * drive


def _integrate(frame, energy_hz, rabi_phase, t0, t1, r0):
    from scipy.integrate import solve_ivp

    def rhs(t, flat):
        x, y, z = flat.reshape(3, -1)
        hx, hy, hz = (4 * math.pi * c for c in _field(frame, energy_hz, *rabi_phase(t), t))
        return np.concatenate([hy * z - hz * y, hz * x - hx * z, hx * y - hy * x])

    sol = solve_ivp(rhs, (t0, t1), r0.ravel(), method="DOP853", rtol=1e-12, atol=1e-13)
    return sol.y[:, -1].reshape(3, -1)


def _pulse_errors(pulse: Pulse, frame: str, carrier_hz: float) -> np.ndarray:
    """Errors of the timeline compiled at ``carrier_hz`` (which sets the rule's N)."""
    seq = Sequence(elements=(pulse,), carrier_hz=carrier_hz, full_scale_rabi_hz=FULL)
    drive = layout(seq).pulses[0]
    timeline = compile_timeline(seq)
    energy = 0.5 * (CARRIER + pulse.frequency_hz + DETUNINGS_HZ)
    start = np.zeros((3, len(energy)))
    start[2] = -1.0
    exact = _integrate(
        frame, energy, lambda t: (drive.rabi_hz(t), drive.phase_rad(t)), 0.0, drive.end_s, start
    )
    r = start
    for t0, d, rabi, phase, offset in zip(
        timeline.start_s, timeline.duration_s, timeline.rabi_hz, timeline.phase_rad,
        timeline.offset_hz, strict=True,
    ):  # fmt: skip

        def step(t, a=rabi, p=phase, f=offset, t0=t0):
            return a, p + 2 * math.pi * f * (t - t0)

        r = _integrate(frame, energy, step, t0, t0 + d, r)
    angle = 2 * math.pi * SIN_ETA * pulse.peak_rabi_hz(FULL) * pulse.shape.area_factor * (
        pulse.duration_s
    )
    return np.linalg.norm(r - exact, axis=0) / angle


@pytest.mark.parametrize("frame", ["rotating", "lab"])
@pytest.mark.parametrize("pulse", SHAPED, ids=["gaussian", "gaussian-offset", "sech", "chirp"])
def test_shaped_pulse_subdivision_meets_its_tolerance_in_both_frames(pulse, frame):
    errors = _pulse_errors(pulse, frame, CARRIER)
    assert np.all(errors < PULSE_TOLERANCE), errors


@pytest.mark.parametrize("frame", ["rotating", "lab"])
def test_the_former_rule_misses_the_tolerance(frame):
    # compiled at a 1 Hz carrier the rule falls back to the former 64 sub-segments for a 1 us
    # gaussian: 4.7e-4 (rotating) and 5.1e-4 (lab) at 1 MHz from the drive; the rule's 446
    # sub-segments give 9.7e-6 and 1.1e-5 (errors fall as 1/N^2)
    errors = _pulse_errors(SHAPED[0], frame, 1.0)
    assert np.max(errors) > 3 * PULSE_TOLERANCE
