"""Fitting sample parameters to a record: round trip through the real simulator.

A "measured" record is simulated (spin_echo.echo.runs.simulation.simulate_protocol, the simulator
behind
``spin-echo simulate``) from a sample with known relaxation.T2 and bias.width, seeded Gaussian
noise is added, and the fit starts 30 % off on both. It must recover both within 3 standard
errors with a reduced chi-square near 1, whatever complex gain the "instrument" applied.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from spin_echo.echo.analysis.fit_sample import FitError, fit_sample, free_parameter
from spin_echo.echo.record import read_record
from spin_echo.echo.runs.simulation import simulate_protocol
from spin_echo.sequences import load_protocol
from spin_echo.simulator import load_sample

PROTOCOL = """name: small-hahn
description: A small Hahn echo for the fit round trip.
parameters:
  carrier: 4 MHz
  t_pi2: 500 ns
  tau: 5 us
  window: 4 us
sequence:
  - pulse: {angle: pi/2, duration: t_pi2, phase: 0 deg}
  - delay: tau
  - pulse: {angle: pi, duration: 2*t_pi2, phase: 90 deg}
  - delay: tau - window/2
  - detect: {duration: window, points: 64}
sweep:
  tau: {start: 2 us, stop: 12 us, points: 4}
phase_cycle:
  - {pulses: [0 deg, 0 deg], receiver: +1}
  - {pulses: [180 deg, 0 deg], receiver: -1}
shots: 16
repetition_time: 1 ms
full_scale_rabi: 1 MHz
"""
TRUE_T2, TRUE_WIDTH = 8e-6, 0.3e6
NOISE = 0.01


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fit")
    (folder / "small-hahn.yaml").write_text(PROTOCOL)
    sample = load_sample("bare").with_overrides(
        {"relaxation.T2": "8 us", "bias.width": "0.3 MHz", "packets": 300}
    )
    path = simulate_protocol(load_protocol(folder / "small-hahn.yaml"), sample, folder / "t.nc")
    return read_record(path), sample


def noisy(record, *, gain=1.0, seed=0):
    rng = np.random.default_rng(seed)
    data = record.copy(deep=True)
    signal = gain * (data["signal_re"] + 1j * data["signal_im"])
    shape = signal.shape
    data["signal_re"] = signal.real + NOISE * rng.standard_normal(shape)
    data["signal_im"] = signal.imag + NOISE * rng.standard_normal(shape)
    return data


def start(sample):
    return sample.with_overrides({"relaxation.T2": 1.3 * TRUE_T2, "bias.width": 0.7 * TRUE_WIDTH})


@pytest.fixture(scope="module", params=[(1.0, 0), (3.0 * np.exp(0.8j), 1)], ids=["unit", "gain"])
def fitted(truth, request):
    record, sample = truth
    gain, seed = request.param
    result = fit_sample(
        noisy(record, gain=gain, seed=seed),
        start(sample),
        ["relaxation.T2", "bias.width"],
        noise_sigma=NOISE,
    )
    return result, gain


def test_round_trip_recovers_two_parameters_within_3_sigma(fitted):
    result, gain = fitted
    z = (result.values - np.array([TRUE_T2, TRUE_WIDTH])) / result.errors
    assert np.all(np.abs(z) < 3), (result.values, result.errors)
    assert np.all(result.errors < 0.1 * np.array([TRUE_T2, TRUE_WIDTH]))
    assert result.converged
    assert abs(result.chi2_reduced - 1.0) < 0.25
    assert abs(result.scale - gain) < 0.05 * abs(gain)
    assert result.sample.t2_s == pytest.approx(result.values[0], rel=1e-12)
    assert result.dof == 2 * 4 * 64 - 2 - 2
    np.testing.assert_allclose(np.diag(result.correlation), 1.0, rtol=1e-12)
    assert result.health.reliable, result.health.line()


def test_noise_given_too_small_makes_the_fit_unreliable(truth):
    record, sample = truth
    result = fit_sample(
        noisy(record), start(sample), ["relaxation.T2", "bias.width"], noise_sigma=NOISE / 2
    )
    assert result.chi2_reduced == pytest.approx(4.0, rel=0.25)
    (reason,) = result.health.reasons
    assert reason.startswith("reduced chi-square") and "outside" in reason


def test_a_fit_stopped_at_its_evaluation_limit_is_unreliable(truth):
    record, sample = truth
    result = fit_sample(
        noisy(record), start(sample), ["relaxation.T2", "bias.width"], noise_sigma=NOISE,
        max_evaluations=2,
    )  # fmt: skip
    assert not result.converged
    assert any("before converging" in r for r in result.health.reasons)
    assert "# UNRELIABLE: " in result.to_yaml()


def test_a_key_the_data_barely_see_is_unreliable_not_a_crash(truth):
    """T1 of 1 s under a 12 us echo: its error is e^50 of itself, the checks' probes would ask
    for T1 = inf s (refused by the sample, so left out); the error > value check speaks."""
    record, sample = truth
    off = sample.with_overrides({"relaxation.T1": "1 s"})
    result = fit_sample(noisy(record), off, ["relaxation.T1"], noise_sigma=NOISE)
    assert result.errors[0] > result.values[0]
    (reason,) = result.health.reasons
    assert reason.startswith("relaxation.T1 error ") and reason.endswith(" > value")


def test_a_parameter_the_data_do_not_determine_is_unreliable(truth):
    """The grains lie along the field (theta = 0); with the gain profiled out, cos(theta) is
    nearly all scale: theta's error (about 2e3 rad) exceeds its whole range [0, 180 deg]."""
    record, sample = truth
    off = sample.with_overrides({"orientation.theta": "0.3 rad"})
    result = fit_sample(noisy(record), off, ["orientation.theta"], noise_sigma=NOISE)
    assert result.errors[0] > np.pi
    (reason,) = result.health.reasons
    assert (
        reason.startswith("orientation.theta error")
        and "> its whole range [0 deg, 180 deg]" in reason
    )


def test_noise_free_record_is_fitted_exactly(truth):
    record, sample = truth
    off = sample.with_overrides({"relaxation.T2": 1.3 * TRUE_T2})
    result = fit_sample(record, off, ["relaxation.T2"], noise_sigma=1e-6)
    assert result.values[0] == pytest.approx(TRUE_T2, rel=1e-5)
    assert result.chi2_reduced < 1e-3
    # a noise given far above the residuals: the chi-square is below its band
    assert "reduced chi-square" in result.health.line()


def test_fitted_yaml_loads_back_with_comments(fitted, tmp_path):
    result, _ = fitted
    text = result.to_yaml(record="m.nc")
    assert text.startswith("# fitted by spin-echo fit against m.nc")
    assert "#   relaxation.T2 = " in text and "# correlations:" in text
    assert "# fitted: ±" in text
    (tmp_path / "fitted.yaml").write_text(text)
    again = load_sample(tmp_path / "fitted.yaml")
    assert again.value("relaxation.T2") == pytest.approx(result.values[0], rel=1e-12)
    assert again.value("bias.width") == pytest.approx(result.values[1], rel=1e-12)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_line_per_evaluation_on_a_terminal(truth):
    record, sample = truth
    stream, quiet = Terminal(), io.StringIO()
    for output in (stream, quiet):
        result = fit_sample(record, sample, ["relaxation.T2"], noise_sigma=NOISE, progress=output)
    lines = stream.getvalue().splitlines()
    assert len(lines) == result.evaluations
    assert lines[0].startswith("fit: evaluation 1: relaxation.T2 = 8e-06 s")
    assert "chi2/dof" in lines[-1]
    assert quiet.getvalue() == ""


@pytest.mark.parametrize(
    ("free", "message"),
    [
        (["packets"], "whole number"),
        (["relaxation.T1"], "does not set this key"),
        (["colour"], "not a numeric sample key"),
        (["bias.width", "bias.width"], "twice"),
        ([], "at least one"),
    ],
    ids=["integer", "absent", "unknown", "twice", "none"],
)
def test_bad_free_parameters_are_refused(truth, free, message):
    record, sample = truth
    with pytest.raises(ValueError, match=message):
        fit_sample(record, sample, free, noise_sigma=NOISE)


def test_record_and_protocol_must_agree(truth):
    record, sample = truth
    cut = record.isel(time=slice(0, 32))
    with pytest.raises(FitError, match="detects 64 points"):
        fit_sample(cut, sample, ["bias.width"], noise_sigma=NOISE)
    shifted = record.assign_coords(tau=record["tau"] * 2)
    with pytest.raises(FitError, match="differ from the protocol"):
        fit_sample(shifted, sample, ["bias.width"], noise_sigma=NOISE)
    bare = record.copy()
    bare.attrs["protocol"] = ""
    with pytest.raises(FitError, match="no protocol"):
        fit_sample(bare, sample, ["bias.width"], noise_sigma=NOISE)
    with pytest.raises(FitError, match="positive"):
        fit_sample(record, sample, ["bias.width"], noise_sigma=-1.0)


def test_free_parameter_coordinates(truth):
    _, sample = truth
    width = free_parameter(sample, "bias.width")
    assert width.log and (width.lower, width.upper) == (1e-6, 1e15)  # the energy range, Hz
    assert width.to_value(width.to_internal(1.234e5)) == pytest.approx(1.234e5, rel=1e-14)
    assert width.derivative(0.0) == pytest.approx(TRUE_WIDTH)
    mean = free_parameter(sample, "bias.mean")
    assert not mean.log and (mean.lower, mean.upper) == (-1e15, 1e15)
    assert mean.to_value(mean.to_internal(-2.5e4)) == pytest.approx(-2.5e4)
    theta = free_parameter(sample, "orientation.theta")
    assert (theta.lower, theta.upper) == (0.0, np.pi)
    with pytest.raises(FitError, match="positive value"):
        free_parameter(load_sample("ferritin"), "environment.nuclear.lambda_prime")


def test_every_trial_value_is_one_the_sample_accepts(truth):
    # the fit's own trial values were refused as "--set" errors: bias.mean from 0 stepped by
    # 1.5e-8 Hz (below the 1 uHz the sample accepts), T2 beyond 2 T1 or 1e6 s, spin off the
    # half-integers
    _, sample = truth
    mean = free_parameter(sample, "bias.mean")
    assert mean.start == 0.0 and mean.derivative(0.0) == 1e3  # steps of 1 kHz from zero
    assert mean.to_value(1e-10) == 0.0 and mean.to_value(1e-8) == pytest.approx(1e-5)
    with_t1 = sample.with_overrides({"relaxation.T1": "5 us"})
    t2 = free_parameter(with_t1, "relaxation.T2")
    assert t2.upper == pytest.approx(10e-6, rel=1e-15)  # T2 <= 2 T1
    assert free_parameter(with_t1, "relaxation.T1").lower == pytest.approx(4e-6, rel=1e-15)
    assert free_parameter(sample, "relaxation.T2").upper == 1e6  # the time range, s
    lower, upper = t2.internal_bounds()
    assert upper == pytest.approx(np.log(10 / 8), rel=1e-14) and lower < -20
    with pytest.raises(FitError, match="is a spin, a whole or half-integer number"):
        free_parameter(sample, "spin")


def test_a_zero_bias_mean_is_fitted(truth):
    record, sample = truth
    result = fit_sample(noisy(record), sample, ["bias.mean"], noise_sigma=NOISE)
    assert abs(result.values[0]) < 5 * result.errors[0] and np.isfinite(result.errors[0])


@pytest.mark.parametrize("sigma", [1e-300, 1e-120])
def test_a_noise_that_overflows_chi_square_is_refused(truth, sigma):
    record, sample = truth
    with pytest.raises(FitError, match="below 1e-100 of the record's largest value") as info:
        fit_sample(noisy(record), sample, ["relaxation.T2"], noise_sigma=sigma)
    assert info.value.key == "noise"


def test_lab_frame_fit_of_a_lab_frame_record(truth, tmp_path):
    """A noise-free lab-frame record (no relaxation) is fitted exactly in the lab frame; the
    rotating frame misses the bias width by its rotating-wave error (Rabi/carrier = 1/8)."""
    (tmp_path / "small-hahn.yaml").write_text(PROTOCOL)
    sample = load_sample("bare").with_overrides({"bias.width": "0.3 MHz", "packets": 100})
    path = simulate_protocol(
        load_protocol(tmp_path / "small-hahn.yaml"), sample, tmp_path / "lab.nc", frame="lab"
    )
    record = read_record(path)
    off = sample.with_overrides({"bias.width": 0.7 * TRUE_WIDTH})
    lab = fit_sample(record, off, ["bias.width"], noise_sigma=1e-3, frame="lab")
    assert lab.values[0] == pytest.approx(TRUE_WIDTH, rel=1e-4)
    rotating = fit_sample(record, off, ["bias.width"], noise_sigma=1e-3)
    assert abs(rotating.values[0] / TRUE_WIDTH - 1) > 0.01
    assert rotating.chi2_reduced > 100 * max(lab.chi2_reduced, 1e-6)
    with pytest.raises(FitError, match="'rotating' or 'lab'"):
        fit_sample(record, off, ["bias.width"], noise_sigma=1e-3, frame="rwa")


def test_the_model_is_the_one_sweep_point_path_whatever_map_runs_it(truth):
    # every evaluation simulates each point through simulate_steps; the result is that of
    # simulate() on each phase step, combined (to rounding: the steps end alike, so they are
    # combined before their shared segments, simulator/cycle.py), and does not depend on the
    # map (bit for bit)
    # (the executors fit --workers uses: in-process and a process pool; threads would share
    # the process-wide one-BLAS-thread limit, which is not a supported way to run points)
    from spin_echo.echo.analysis.fit_sample import RecordModel
    from spin_echo.echo.runs.executor import make_executor
    from spin_echo.sequences import combine_phase_cycle
    from spin_echo.simulator import simulate

    record, sample = truth
    trial = sample.with_overrides({"relaxation.T2": "9 us"})
    model = RecordModel(record, seed=sample.seed, packets=None, frame="rotating")
    want = np.array(
        [
            combine_phase_cycle([simulate(t, trial).signal for t in steps], model.phase_cycle)
            for steps in model.timelines
        ]
    )
    np.testing.assert_array_equal(model(sample.with_overrides({})), model(sample))
    here = model(trial)
    np.testing.assert_allclose(here, want, rtol=0, atol=4e-15 * np.abs(want).max())
    with make_executor(workers=2, scheduler=None) as pool:
        pooled = RecordModel(
            record, seed=sample.seed, packets=None, frame="rotating", map_function=pool.map
        )
        np.testing.assert_array_equal(pooled(trial), here)
