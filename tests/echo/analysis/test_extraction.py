"""Echo extraction: window, phase, baseline, integration and noise against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from spin_echo.echo.analysis.curves import echo_curve
from spin_echo.echo.analysis.extraction import (
    AnalysisError,
    EchoWindow,
    find_echo,
    integrate_echo,
    record_signal,
    remove_baseline,
    sweep_dims,
    zero_order_phase,
)
from spin_echo.echo.analysis.noise import record_noise

TIME = np.linspace(0.0, 400e-9, 201)
CENTER, WIDTH = 210e-9, 40e-9


def gaussian(t):
    return np.exp(-(((t - CENTER) / WIDTH) ** 2))


def record(amplitudes, *, phase=0.7, noise=0.0, offset=0.0, seed=0, axis=("tau", "s")):
    amplitudes = np.asarray(amplitudes, dtype=float)
    rng = np.random.default_rng(seed)
    signal = amplitudes[..., None] * gaussian(TIME) * np.exp(1j * phase) + offset
    signal = signal + noise * (
        rng.standard_normal(signal.shape) + 1j * rng.standard_normal(signal.shape)
    )
    if amplitudes.ndim == 0:
        dims, coords = ["time"], {}
    else:
        values = np.linspace(1e-6, 1e-6 * amplitudes.size, amplitudes.size)
        dims, coords = [axis[0], "time"], {axis[0]: (axis[0], values, {"units": axis[1]})}
    coords["time"] = ("time", TIME)
    return xr.Dataset(
        {"signal_re": (dims, signal.real), "signal_im": (dims, signal.imag)},
        coords=coords,
        attrs={"units": "V", "source": "simulate", "complete": 1},
    )


def test_sweep_dims_and_complex_signal():
    data = record([1.0, 0.5])
    assert sweep_dims(data) == ("tau",)
    signal = record_signal(data)
    assert signal.dtype == complex
    assert signal.attrs["units"] == "V"
    np.testing.assert_allclose(signal.values[1], 0.5 * gaussian(TIME) * np.exp(0.7j))


def test_find_echo_centre_and_half_width():
    window = find_echo(record_signal(record([1.0, 0.3])), width_factor=1.0)
    step = TIME[1] - TIME[0]
    hwhm = WIDTH * np.sqrt(np.log(2))
    assert abs(window.center_s - CENTER) <= step / 2
    assert abs((window.stop_s - window.start_s) / 2 - hwhm) <= step
    assert window.start_s < CENTER < window.stop_s


def test_window_is_clipped_to_the_detect_window():
    window = find_echo(record_signal(record(1.0)), width_factor=100.0)
    assert window.start_s == TIME[0] and window.stop_s == TIME[-1]


@pytest.mark.parametrize("phase", [-2.5, 0.0, 0.7, 3.0], ids=["-2.5", "0", "0.7", "3.0"])
def test_zero_order_phase_is_recovered(phase):
    assert zero_order_phase(record_signal(record([1.0, -0.2], phase=phase))) == pytest.approx(
        phase, abs=1e-12
    )


def test_quadrature_integration_keeps_signs_and_matches_window_mean():
    amplitudes = np.array([-0.8, -0.1, 0.4, 0.9])
    signal = record_signal(record(amplitudes, phase=1.1))
    window = EchoWindow(start_s=150e-9, stop_s=270e-9, center_s=CENTER)
    inside = (TIME >= 150e-9) & (TIME <= 270e-9)
    expected = amplitudes * gaussian(TIME[inside]).mean()
    echo = integrate_echo(signal, window=window, mode="quadrature")
    np.testing.assert_allclose(echo.values, expected, rtol=1e-12)
    assert echo.attrs["units"] == "V"
    np.testing.assert_allclose(
        integrate_echo(signal, window=window, mode="magnitude").values, np.abs(expected)
    )
    np.testing.assert_allclose(
        integrate_echo(signal, window=window, mode="complex").values,
        expected * np.exp(1.1j),
        rtol=1e-12,
    )


def test_integration_over_a_constant_is_the_constant():
    signal = record_signal(record(1.0)) * 0 + (0.3 - 0.4j)
    signal.attrs["units"] = "V"
    assert complex(integrate_echo(signal, mode="complex").values) == pytest.approx(0.3 - 0.4j)
    assert float(integrate_echo(signal, mode="quadrature").values) == pytest.approx(0.5)


def test_remove_baseline_removes_a_constant_offset():
    clean = record_signal(record([1.0, 0.5]))
    shifted = record_signal(record([1.0, 0.5], offset=0.2 - 0.1j))
    np.testing.assert_allclose(
        remove_baseline(shifted).values,
        remove_baseline(clean).values,
        atol=1e-12,
    )
    edge = remove_baseline(shifted).isel(time=slice(0, 20))
    assert np.abs(edge.values).max() < 1e-3


@pytest.mark.parametrize("sigma", [0.003, 0.05], ids=["small", "large"])
def test_noise_estimate(sigma):
    assert record_noise(record(np.linspace(1, 0.2, 30), noise=sigma, seed=11)).sigma == (
        pytest.approx(sigma, rel=0.05)
    )


def test_noise_estimate_of_clean_smooth_echo_is_small():
    assert record_noise(record([1.0, 0.5])).sigma < 2e-3


def test_echo_curve_sigma_matches_scatter():
    amplitudes = np.exp(-np.linspace(0, 2, 12))
    window = EchoWindow(start_s=150e-9, stop_s=270e-9, center_s=CENTER)
    inside = (TIME >= 150e-9) & (TIME <= 270e-9)
    truth = amplitudes * gaussian(TIME[inside]).mean()
    deviations, sigmas = [], []
    for seed in range(40):
        curve = echo_curve(record(amplitudes, noise=0.02, seed=seed), window=window)
        deviations.append(curve.y - truth)
        sigmas.append(curve.sigma)
    scatter = np.std(np.concatenate(deviations))
    assert np.mean(sigmas) == pytest.approx(0.02 / np.sqrt(inside.sum()), rel=0.05)
    assert scatter == pytest.approx(np.mean(sigmas), rel=0.1)
    assert curve.name == "tau" and curve.units == "s" and curve.y_units == "V"


def test_echo_curve_skips_unwritten_points():
    data = record(np.array([1.0, 0.8, 0.6, 0.4]))
    for key in ("signal_re", "signal_im"):
        data[key][2, :] = np.nan
    curve = echo_curve(data)
    assert curve.y.size == 3
    np.testing.assert_allclose(curve.x, [1e-6, 2e-6, 4e-6])


def test_echo_curve_needs_one_axis():
    with pytest.raises(AnalysisError, match="exactly one sweep axis"):
        echo_curve(record(1.0))


NONSENSE = {
    "all-zero": (lambda d: d * 0.0, "zero everywhere"),
    "nan-inside-a-trace": (lambda d: d.where(d.time > 1e-7), "NaN"),
    "nothing-written": (lambda d: d * np.nan, "no written sweep point"),
}


@pytest.mark.parametrize(("corrupt", "message"), NONSENSE.values(), ids=NONSENSE.keys())
def test_refuses_nonsense(corrupt, message):
    data = record([1.0, 0.5])
    for key in ("signal_re", "signal_im"):
        data[key] = corrupt(data[key])
    with pytest.raises(AnalysisError, match=message):
        record_signal(data)


def test_refuses_non_records_and_bad_options():
    with pytest.raises(AnalysisError, match="signal_re and signal_im"):
        sweep_dims(xr.Dataset({"x": ("time", np.ones(3))}))
    signal = record_signal(record([1.0]))
    with pytest.raises(AnalysisError, match="edge_fraction"):
        remove_baseline(signal, edge_fraction=0.7)
    with pytest.raises(AnalysisError, match="mode"):
        integrate_echo(signal, mode="power")
    with pytest.raises(AnalysisError, match="no sample"):
        integrate_echo(signal, window=EchoWindow(start_s=1.0, stop_s=2.0, center_s=1.5))
