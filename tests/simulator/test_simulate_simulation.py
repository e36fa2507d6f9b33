"""Simulation: the one path that prepares a sample's packets once and propagates through them."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.sequences import compile_waveform, load_protocol
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.timeline import AwgConstraints
from spin_echo.simulator import load_sample, propagate, propagate_sampled, simulate
from spin_echo.simulator.bloch import Relaxation
from spin_echo.simulator.diffusion import OrnsteinUhlenbeck, propagate_diffusing
from spin_echo.simulator.propagator import propagate_chunks
from spin_echo.simulator.simulation import REPLICAS, Simulation, compile_point

DYNAMIC = """\
name: dyn
tunnel_splitting: {distribution: lognormal, median: 1 MHz, sigma: 1.0}
bias_sampling: {width: 2 MHz, fraction: 0.9}
orientation: {distribution: fixed, theta: 0 deg}
temperature: 0 K
packets: 600
seed: 2
environment:
  nuclear: {N: 100, omega0: 50 MHz, delta_omega: 6 MHz, lambda: LAM, lambda_prime: LAMP,
            dynamic: DYN}
"""


def dynamic_sample(tmp_path, lam="1", lam_prime="0", dynamic="true"):
    path = tmp_path / f"dyn-{lam}-{lam_prime}-{dynamic}.yaml"
    text = DYNAMIC.replace("LAMP", lam_prime).replace("LAM", lam).replace("DYN", dynamic)
    path.write_text(text)
    return load_sample(path)


@pytest.fixture
def hahn():
    protocol = load_protocol("hahn-echo")
    return protocol, compile_point(protocol, {"tau": 2e-6})


def test_no_seed_means_the_samples_seed_and_the_draw_is_made_once(hahn):
    sample = load_sample("bare-t2")
    simulation = Simulation(sample, packets=500)
    assert simulation.seed == sample.seed
    drawn = sample.ensemble(packets=500, seed=sample.seed)
    np.testing.assert_array_equal(simulation.ensemble.epsilon_hz, drawn.epsilon_hz)
    first = simulation.run(hahn[1][0])
    again = simulation.run(hahn[1][0])
    assert simulation.ensemble is not None and np.array_equal(first.signal, again.signal)


def test_the_rotating_path_is_the_propagator_with_the_samples_rates(hahn):
    sample = load_sample("bare-t2")
    timeline = hahn[1][0]
    got = Simulation(sample, packets=700, seed=5).run(timeline)
    ensemble = sample.ensemble(packets=700, seed=5)
    want = propagate_chunks(timeline, ensemble, Relaxation.from_times(None, 20e-6), 0.0)
    np.testing.assert_array_equal(got.signal, want.signal)
    np.testing.assert_array_equal(got.mz, want.mz)


def test_the_lab_path_is_the_lab_propagator(hahn):
    sample = load_sample("bare-t2")
    timeline = hahn[1][1]
    got = simulate(timeline, sample, packets=300, frame="lab")
    want = propagate(timeline, sample.ensemble(packets=300), t2_s=1.0 / (1.0 / 20e-6), frame="lab")
    np.testing.assert_array_equal(got.signal, want.signal)


def test_spin_diffusion_is_the_diffusion_propagator_with_the_seed(hahn):
    sample = load_sample("ferritin")
    timeline = hahn[1][0]
    got = Simulation(sample, packets=400, seed=9).run(timeline)
    process = OrnsteinUhlenbeck(sample.diffusion.t2_s, sample.diffusion.width_hz)
    want = propagate_diffusing(
        timeline, sample.ensemble(packets=400, seed=9), Relaxation(), sample.temperature_k,
        process, seed=9,
    )  # fmt: skip
    np.testing.assert_array_equal(got.signal, want.signal)


def test_a_dynamic_bath_with_a_single_channel_is_the_static_bath(tmp_path, hahn):
    # lambda = lambda' = 0: the only channel is M = 0, y and phi do not enter: a redraw changes
    # nothing, so the dynamic path (packets replaced at each flip) equals the static one
    dynamic = Simulation(dynamic_sample(tmp_path, "0", "0", "true")).run(hahn[1][0])
    static = Simulation(dynamic_sample(tmp_path, "0", "0", "false")).run(hahn[1][0])
    np.testing.assert_array_equal(dynamic.signal, static.signal)


def test_an_unknown_frame_is_an_input_error():
    # both frames carry spin diffusion (tests/simulator/test_lab_environment.py)
    Simulation(load_sample("ferritin"), packets=10, frame="lab")
    with pytest.raises(InputError):
        Simulation(load_sample("ferritin"), packets=10, frame="bogus")


def test_with_sample_shares_the_packets_only_when_the_draw_is_the_same(hahn):
    sample = load_sample("bare-t2")
    base = Simulation(sample, packets=400)
    slower = base.with_sample(sample.with_overrides({"relaxation.T2": "30 us"}))
    assert slower.ensemble is base.ensemble
    fresh = Simulation(sample.with_overrides({"relaxation.T2": "30 us"}), packets=400)
    np.testing.assert_array_equal(slower.run(hahn[1][0]).signal, fresh.run(hahn[1][0]).signal)
    wider = base.with_sample(sample.with_overrides({"bias.width": "0.4 MHz"}))
    assert wider.ensemble is not base.ensemble
    assert not np.array_equal(wider.ensemble.epsilon_hz, base.ensemble.epsilon_hz)


def test_replicas_average_to_the_signal_and_their_error_is_the_monte_carlo_scatter(hahn):
    sample = load_sample("bare-t2")
    timeline = hahn[1][0]
    result = Simulation(sample, packets=800).run_with_error(timeline)
    assert result.replicas.shape == (REPLICAS, timeline.detect_times_s.size)
    # equal groups: the mean of the replica estimates is the signal, to rounding
    scale = np.max(np.abs(result.observables.signal))
    np.testing.assert_allclose(
        result.replicas.mean(axis=0), result.observables.signal, rtol=0, atol=1e-13 * scale
    )
    # the standard error predicts the scatter of the whole signal over independent seeds
    seeds = [simulate(timeline, sample, packets=800, seed=100 + k).signal for k in range(24)]
    scatter = np.std(np.real(seeds), axis=0, ddof=1)
    errors = [
        Simulation(sample, packets=800, seed=100 + k).run_with_error(timeline).sem.real
        for k in range(6)
    ]
    ratio = np.mean(errors) / np.mean(scatter)
    assert 0.7 < ratio < 1.4, ratio


def test_a_point_combines_its_phase_steps_and_their_replicas(hahn):
    protocol, steps = hahn
    simulation = Simulation(load_sample("bare-t2"), packets=400)
    point = simulation.run_point(steps, protocol.phase_cycle, replicas=REPLICAS)
    plain = simulation.run_point(steps, protocol.phase_cycle)
    np.testing.assert_array_equal(point.signal, plain.signal)
    assert plain.sem is None and point.sem.shape == point.signal.shape
    assert np.all(point.sem.real > 0) and np.all(point.sem.imag > 0)


def sampled(protocol, values, rate=250e6):
    constraints = AwgConstraints(sample_rate_max_hz=1e9)
    return compile_waveform(protocol.sequence(values, 0), constraints, rate)


def test_a_waveform_without_stochastic_environment_is_the_sampled_propagator():
    sample = load_sample("bare-t2")
    waveform = sampled(load_protocol("hahn-echo"), {"tau": 2e-6})
    got = Simulation(sample, packets=200).run_waveform(waveform)
    want = propagate_sampled(waveform, sample.ensemble(packets=200), t2_s=1.0 / (1.0 / 20e-6))
    np.testing.assert_array_equal(got, want)


def test_a_waveform_through_a_motionless_environment_is_the_static_one(tmp_path):
    waveform = sampled(load_protocol("hahn-echo"), {"tau": 2e-6})
    # diffusion of the smallest width (1e-6 Hz: a phase of 1e-10 rad over the waveform): the
    # pieces carry the state unchanged
    ferritin = load_sample("ferritin").with_overrides({"packets": 300})
    still = ferritin.with_overrides({"environment.spin_diffusion.width": "1e-6 Hz"})
    static_text = ferritin.to_yaml().replace("  spin_diffusion:\n    T2: 1 ms\n", "")
    assert static_text != ferritin.to_yaml()
    path = tmp_path / "static.yaml"
    path.write_text(static_text)
    got = Simulation(still).run_waveform(waveform)
    want = Simulation(load_sample(path)).run_waveform(waveform)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * np.max(np.abs(want - want[0])))
    # a dynamic bath with a single channel: the redraw at the pi pulse changes nothing
    dynamic = Simulation(dynamic_sample(tmp_path, "0", "0", "true")).run_waveform(waveform)
    static = Simulation(dynamic_sample(tmp_path, "0", "0", "false")).run_waveform(waveform)
    np.testing.assert_allclose(dynamic, static, rtol=0, atol=1e-13)


def test_the_bench_path_redraws_the_dynamic_bath_at_the_pi_pulse(tmp_path, hahn):
    protocol = load_protocol("hahn-echo")
    waveform = sampled(protocol, {"tau": 2e-6})
    dynamic = Simulation(dynamic_sample(tmp_path, "1", "0", "true")).run_waveform(waveform)
    static = Simulation(dynamic_sample(tmp_path, "1", "0", "false")).run_waveform(waveform)
    split = round(waveform.detect[0].start_s * waveform.sample_rate_hz)
    before = round(2.5e-6 * waveform.sample_rate_hz)  # before the pi pulse: unchanged
    np.testing.assert_allclose(dynamic[:before], static[:before], rtol=0, atol=1e-13)
    assert np.max(np.abs(dynamic[split:] - static[split:])) > 1e-3
