"""Predicted fit errors (Cramér–Rao / Fisher information of the recorded signal).

References independent of the code under test:

- the derivative of a phenomenological T2 decay: the ratio of the integrated echoes at two
  taus is exp(-2 (tau_2 - tau_1)/T2) (the pulses and the window act alike at every tau, and the
  phase cycle keeps only the pathway that is transverse during both free periods), so
  d/dT2 of its logarithm is 2 (tau_2 - tau_1)/T2^2;
- central differences with common random numbers converge as h^2;
- the scatter of ``fit`` results over noise seeds of the virtual bench (the real bench, the real
  fit), with the noise predicted from the bench's noise model, not measured.
"""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.drivers.bench import load_bench, open_bench
from spin_echo.echo.analysis.fit_sample import fit_sample
from spin_echo.echo.analysis.noise import correlation_matrix
from spin_echo.echo.design import fisher
from spin_echo.echo.design.fisher import (
    ProtocolSignal,
    predict_errors,
    signal_derivative,
    target_parameter,
)
from spin_echo.echo.design.noise import noise_per_point
from spin_echo.echo.record import read_record
from spin_echo.echo.runs.lab_run import run_protocol
from spin_echo.sequences import Protocol
from spin_echo.sequences.errors import InputError
from spin_echo.simulator import load_sample

ECHO = """name: short-echo
parameters: {carrier: 4 MHz, t_pi2: 500 ns, tau: 3 us, window: 3 us}
sequence:
  - pulse: {angle: pi/2, duration: t_pi2, phase: 0 deg}
  - delay: tau
  - pulse: {angle: pi, duration: 2*t_pi2, phase: 90 deg}
  - delay: tau - window/2
  - detect: {duration: window, points: POINTS}
sweep:
  tau: {values: [2 us, 5 us, 8 us]}
phase_cycle:
  - {pulses: [0 deg, 0 deg], receiver: +1}
  - {pulses: [180 deg, 0 deg], receiver: -1}
shots: 4
repetition_time: 1 ms
full_scale_rabi: 1 MHz
"""
T2_S = 8e-6


def _protocol(points: int = 32) -> Protocol:
    return Protocol.from_yaml(ECHO.replace("POINTS", str(points)))


def _sample(packets: int = 100):
    return load_sample("bare-t2").with_values(packets=packets, **{"relaxation.T2": "8 us"})


def test_derivative_of_a_t2_decay_matches_the_closed_form():
    protocol = _protocol()
    sample = _sample(packets=400)
    model = ProtocolSignal(protocol, seed=3, packets=None, frame="rotating")
    parameter = target_parameter(sample, "relaxation.T2")
    derivative = signal_derivative(model, sample, parameter)
    echo = model(sample).sum(axis=1)
    slope = (derivative.signal.sum(axis=1) / echo).real  # d ln|E_k| / dT2
    taus = np.array([2e-6, 5e-6, 8e-6])
    expected = 2.0 * (taus[1:] - taus[0]) / T2_S**2
    # the echo of a finite ensemble follows the exponential to a few 1e-3 (measured: 0.30 %
    # and 0.10 % here; 0.04 % and 0.8 % with 50 packets)
    np.testing.assert_allclose(slope[1:] - slope[0], expected, rtol=5e-3)
    assert derivative.convergence < 1e-6


def test_central_differences_converge_as_h_squared():
    protocol = _protocol()
    sample = _sample(packets=50)
    model = ProtocolSignal(protocol, seed=3, packets=None, frame="rotating")
    parameter = target_parameter(sample, "bias.width")
    coarse = signal_derivative(model, sample, parameter, step=1e-2)
    fine = signal_derivative(model, sample, parameter, step=1e-3)
    # truncation error ~ h^2: a tenth of the step, a hundredth of the error
    assert 80 < coarse.convergence / fine.convergence < 120
    relative = np.linalg.norm(coarse.signal - fine.signal) / np.linalg.norm(fine.signal)
    # D(h) - D(h/10) is the truncation error of D(h), which `convergence` estimates
    assert relative == pytest.approx(coarse.convergence, rel=0.05)


def test_predicted_error_matches_the_scatter_of_fits_on_the_virtual_bench(tmp_path):
    """30 noise seeds of the virtual bench, each fitted as `spin-echo fit --frame lab` does."""
    protocol = _protocol()
    sample = _sample()
    spec = load_bench("virtual")
    noise = noise_per_point(protocol, spec)  # the bench's noise model, not a measurement
    predicted = predict_errors(
        protocol,
        sample,
        ["relaxation.T2"],
        noise_sigma=noise.quadrature,
        bandwidth_hz=noise.bench.bandwidth_hz,
    )
    values, errors = [], []
    for seed in range(30):  # the detector's noise seed
        path = tmp_path / f"run{seed}.nc"
        with open_bench(spec, sample=sample, seed=seed) as bench:
            run_protocol(protocol, bench, path, sample=sample)
        fit = fit_sample(read_record(path), sample, ["relaxation.T2"], frame="lab")
        values.append(fit.values[0])
        errors.append(fit.errors[0])
    scatter = float(np.std(values, ddof=1))
    # 30 seeds: the scatter itself is known to 13 %; measured: predicted 0.1402 us, scatter
    # 0.159 us (ratio 0.88; 80 seeds of 4 sweep points before the bench's noise was keyed by
    # point: 1.03)
    assert predicted.errors[0] == pytest.approx(scatter, rel=0.25)
    # the errors fit itself reports (its sandwich at each noisy optimum): measured 0.03 % apart
    assert predicted.errors[0] == pytest.approx(np.mean(errors), rel=0.01)
    assert np.mean(values) == pytest.approx(T2_S, abs=3 * scatter / np.sqrt(len(values)))


def test_predicted_error_scales_with_shots_and_noise():
    protocol = _protocol(points=16)
    sample = _sample(packets=50)
    first = predict_errors(
        protocol, sample, ["relaxation.T2"], noise_sigma=0.01, bandwidth_hz=None, frame="rotating"
    )
    double = predict_errors(
        protocol, sample, ["relaxation.T2"], noise_sigma=0.02, bandwidth_hz=None, frame="rotating"
    )
    np.testing.assert_allclose(double.errors, 2 * first.errors, rtol=1e-12)
    # white noise: the sandwich is the Cramér-Rao bound itself
    np.testing.assert_allclose(first.errors, first.bound, rtol=1e-9)
    assert first.scaled(16).errors[0] == pytest.approx(first.errors[0] / 2, rel=1e-12)


def test_the_correlated_sandwich_is_the_dense_matrixs(monkeypatch):
    """X^T R X by FFT convolution, as with the N x N correlation matrix (``einsum``)."""
    protocol, sample = _protocol(points=48), _sample(packets=50)
    kwargs = {"noise_sigma": 0.01, "bandwidth_hz": 2e6, "frame": "rotating", "check": False}
    fast = predict_errors(protocol, sample, ["relaxation.T2"], **kwargs)

    def dense(values, time_s, bandwidth_hz, *, window=None):
        rho = correlation_matrix(time_s, bandwidth_hz, window=window)
        return np.tensordot(rho, values, axes=1)

    monkeypatch.setattr(fisher, "correlate", dense)
    slow = predict_errors(protocol, sample, ["relaxation.T2"], **kwargs)
    np.testing.assert_allclose(fast.errors, slow.errors, rtol=1e-12)
    assert fast.errors[0] > 1.5 * fast.bound[0]  # correlated: far from the white bound


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("relaxation.T9", "not a numeric sample key"),
        ("packets", "whole number"),
        ("relaxation.T1", "does not set this key"),
    ],
)
def test_a_target_that_is_not_a_numeric_sample_key_names_the_option(key, message):
    with pytest.raises(InputError, match=message) as caught:
        target_parameter(_sample(), key)
    assert caught.value.key == "--target"
    assert caught.value.value == key
