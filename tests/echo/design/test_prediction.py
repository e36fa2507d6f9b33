"""The predicted noise and SNR of ``spin-echo design`` against independent references.

- the receiver's noise gain against white noise put through :func:`demodulate` itself, and
  against the closed form :math:`\\sqrt{4BI/f_s}` for :math:`B \\ll f_s`;
- the predicted SNR of the integrated echo against what the virtual bench measures for the same
  protocol over many noise seeds (the issue's 20 %);
- the noise taken from a measured record (``--noise-from``) against the bench's noise model;
- a lab bench's declared ``receiver.noise`` against the arithmetic of shots and phase steps.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from scipy.integrate import quad

import spin_echo as se
from spin_echo.drivers.interface import Trace
from spin_echo.drivers.receiver import demodulate, quadrature_noise_gain
from spin_echo.echo.analysis.curves import echo_curve
from spin_echo.echo.analysis.noise import correlation_matrix, record_noise
from spin_echo.echo.design.noise import bench_noise, noise_per_point, protocol_time_axis
from spin_echo.echo.design.predict import predict
from spin_echo.echo.design.scatter import plot_scatter
from spin_echo.echo.design.verdict import shots_for_snr
from spin_echo.sequences.errors import InputError

#: A small Hahn echo: two tau values, 64 points per window, 4 shots, two phase steps.
SMALL_HAHN = """name: small-hahn
parameters: {carrier: 4 MHz, t_pi2: 500 ns, tau: 5 us, window: 4 us}
sequence:
  - pulse: {angle: pi/2, duration: t_pi2, phase: 0 deg}
  - delay: tau
  - pulse: {angle: pi, duration: 2*t_pi2, phase: 90 deg}
  - delay: tau - window/2
  - detect: {duration: window, points: 64}
sweep:
  tau: {values: [2 us, 12 us]}
phase_cycle:
  - {pulses: [0 deg, 0 deg], receiver: +1}
  - {pulses: [180 deg, 0 deg], receiver: -1}
shots: 4
repetition_time: 1 ms
full_scale_rabi: 1 MHz
"""

#: A virtual bench at 50 MSa/s with 0.9 V of noise per sample: SNR about 13 at tau = 2 us.
NOISY_BENCH = """name: noisy
awg: {driver: virtual-awg, sample_rate: 50 MHz, amplitude: 1 V}
detector: {driver: virtual-detector, bandwidth: 200 MHz, noise: 0.9 V, seed: 1}
coil: {pickup: 1 V}
"""

SEEDS = 32


@pytest.mark.parametrize(("bandwidth_hz", "rate_hz"), [(2e6, 250e6), (1e6, 50e6)])
def test_noise_gain_matches_demodulated_white_noise(bandwidth_hz, rate_hz) -> None:
    rng = np.random.default_rng(7)
    n = 60_000
    t = np.arange(n) / rate_hz
    inner = t[3000:-3000:40]
    values = []
    for _ in range(12):
        trace = Trace(t, rng.standard_normal(n), "V")
        values.append(demodulate(trace, 4e6, inner, bandwidth_hz=bandwidth_hz))
    out = np.concatenate(values)
    measured = np.sqrt(0.5 * (out.real.var() + out.imag.var()))
    gain = quadrature_noise_gain(4e6, bandwidth_hz, rate_hz)
    # ~10^4 values 1/(40 samples) apart, correlated over ~rate/(2B): a few % of scatter
    assert measured == pytest.approx(gain, rel=0.04)
    integral = quad(lambda x: (1 + x**8) ** -2, 0, np.inf)[0]
    assert gain == pytest.approx(np.sqrt(4 * bandwidth_hz * integral / rate_hz), rel=0.01)


@pytest.fixture(scope="module")
def bench_runs():
    """The prediction and SEEDS runs of the small Hahn echo on the noisy virtual bench."""
    protocol = se.load_protocol(SMALL_HAHN)
    bench = se.load_bench(NOISY_BENCH)
    sample = se.load_sample("bare-t2").with_values(packets="100")
    prediction = predict(protocol, sample, bench, frame="lab")
    records = [se.run(protocol, bench, sample=sample, seed=seed) for seed in range(SEEDS)]
    return prediction, records


def test_predicted_snr_matches_the_virtual_bench_over_seeds(bench_runs) -> None:
    prediction, records = bench_runs
    y = np.array([echo_curve(rec, window=prediction.window).y for rec in records])
    scatter = np.sqrt(y.var(axis=0, ddof=1).mean())  # the noise is the same at both points
    # the prediction is in the regime: SNR ~ 5-20
    assert 5 < prediction.points[0].snr < 20
    # noise: 2 x (SEEDS - 1) degrees of freedom, standard error of the scatter ~9 %
    assert scatter == pytest.approx(prediction.noise.integrated, rel=0.2)
    measured_snr = y.mean(axis=0)[0] / scatter
    assert measured_snr == pytest.approx(prediction.points[0].snr, rel=0.2)
    # the signal: the lab-frame simulation is the bench's physics (Monte-Carlo error 100 packets)
    signal = [point.signal for point in prediction.points]
    assert y.mean(axis=0) == pytest.approx(signal, abs=3 * scatter / np.sqrt(SEEDS))


def test_plot_scatter_matches_plot_on_the_virtual_bench(bench_runs) -> None:
    # spin-echo plot finds its window on each noisy record: more scatter than a fixed window
    prediction, records = bench_runs
    y = np.array([echo_curve(rec).y for rec in records])
    mean, std = plot_scatter(prediction, realisations=100)
    measured = np.sqrt(y.var(axis=0, ddof=1).mean())
    assert measured > 1.3 * prediction.noise.integrated  # 1.35x measured here
    assert np.sqrt(np.mean(std**2)) == pytest.approx(measured, rel=0.25)
    measured_snr = y.mean(axis=0)[0] / y.std(axis=0, ddof=1)[0]
    assert mean[0] / std[0] == pytest.approx(measured_snr, rel=0.2)


def test_predicted_noise_per_value_matches_the_stored_shot_scatter(bench_runs) -> None:
    prediction, records = bench_runs
    pooled = np.sqrt(np.mean([record_noise(rec).sigma ** 2 for rec in records]))
    assert pooled == pytest.approx(prediction.noise.quadrature, rel=0.05)


def test_noise_from_a_measured_record_agrees_with_the_noise_model(bench_runs) -> None:
    prediction, records = bench_runs
    protocol, bench = prediction.protocol, prediction.bench
    from_record = bench_noise(protocol, bench, record=records[0], record_name="rec.nc")
    assert "rec.nc" in from_record.source
    # one record: 4 shots x 2 points x 64 correlated times, roughly 10 % error
    assert from_record.shot_sigma == pytest.approx(prediction.noise.bench.shot_sigma, rel=0.15)
    # 16 shots instead of 4: the integrated noise halves
    more = noise_per_point(protocol, bench, window=prediction.window, shots=16)
    assert more.integrated == pytest.approx(prediction.noise.integrated / 2, rel=1e-12)


def test_a_simulated_record_gives_no_noise(bench_runs) -> None:
    prediction, _ = bench_runs
    with pytest.raises(InputError, match="measured record"):
        bench_noise(prediction.protocol, prediction.bench, record=prediction.record)


def test_lab_bench_declared_noise() -> None:
    bench_text = """name: lab
awg: {driver: keysight-33600a, resource: "TCPIP::10.0.0.20::INSTR", sample_rate: 250 MHz,
      amplitude: 20 mV}
detector: {driver: keysight-infiniivision, resource: "TCPIP::10.0.0.21::INSTR", channel: 1}
coil: {pickup: 2 mV}
receiver: {bandwidth: 2 MHz, noise: 0.5 mV}
"""
    protocol = se.load_protocol("hahn-echo")
    noise = noise_per_point(protocol, se.load_bench(bench_text))
    # 0.5 mV / 2 mV per unit, over 16 shots x 2 phase steps
    assert noise.quadrature == pytest.approx(0.25 / np.sqrt(32), rel=1e-12)
    undeclared = bench_text.replace(", noise: 0.5 mV", "")
    with pytest.raises(InputError, match=r"receiver\.noise"):
        noise_per_point(protocol, se.load_bench(undeclared))


def test_integrated_noise_is_the_dense_correlation_sum() -> None:
    """CPMG's four windows: sigma sqrt(sum rho) / n with the N x N matrix, to rounding."""
    protocol = se.load_protocol("cpmg")
    noise = noise_per_point(protocol, se.load_bench("virtual"))
    time_s, windows = protocol_time_axis(protocol)
    rho = correlation_matrix(time_s, noise.bench.bandwidth_hz, window=windows)
    dense = noise.quadrature * np.sqrt(rho.sum()) / len(time_s)
    assert noise.integrated == pytest.approx(dense, rel=1e-12)


def test_a_window_of_100000_points_is_predicted_in_bounded_memory() -> None:
    """100 ps in 100000 points (the matrix: 75 GB): far inside the correlation's reach, the
    window's mean is nearly as noisy as one value."""
    protocol = se.load_protocol(
        "name: t\nparameters: {carrier: 4 MHz}\nsequence:\n"
        "  - pulse: {angle: pi/2, duration: 500 ns}\n"
        "  - detect: {duration: 100 ps, points: 100000}\n"
    )
    tracemalloc.start()
    try:
        noise = noise_per_point(protocol, se.load_bench("virtual"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200e6, f"peak {peak / 1e6:.0f} MB"
    assert noise.integrated == pytest.approx(noise.quadrature, rel=1e-2)
    assert noise.integrated < noise.quadrature


@pytest.mark.parametrize(
    ("snr", "shots", "needed"), [(1.5, 16, 64), (3.0, 16, 16), (6.0, 16, 4), (300.0, 16, 1)]
)
def test_shots_for_snr(snr, shots, needed) -> None:
    # SNR grows as sqrt(shots): n (3/SNR)^2, rounded up
    assert shots_for_snr(snr, shots) == needed
