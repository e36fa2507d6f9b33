"""Automatic analysis of records built from closed forms (with the protocols they name)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from spin_echo.echo.analysis.extraction import AnalysisError
from spin_echo.echo.analysis.record_analysis import analyse_record, cpmg_train, protocol_name

T_PI2, TAU, WINDOW, N_ECHOES, POINTS = 0.5e-6, 3e-6, 2e-6, 8, 32
TRAIN = (
    f"""name: cpmg
parameters:
  {{carrier: 4 MHz, t_pi2: {T_PI2 * 1e9:g} ns, tau: {TAU * 1e6:g} us, window: {WINDOW * 1e6:g} us}}
sequence:
  - pulse: {{angle: pi/2, duration: t_pi2}}
  - delay: tau
  - pulse: {{angle: pi, duration: 2*t_pi2, phase: 90 deg}}
  - delay: tau - window/2
  - detect: {{duration: window, points: {POINTS}}}
"""
    + (N_ECHOES - 1)
    * f"""  - delay: tau - window/2
  - pulse: {{angle: pi, duration: 2*t_pi2, phase: 90 deg}}
  - delay: tau - window/2
  - detect: {{duration: window, points: {POINTS}}}
"""
)


def echo_times():
    """Closed form: window n is centred t_pi2/2 + n (2 tau + 2 t_pi2) after the pi/2 centre.

    (pi/2 on [0, t_pi2]; each period is tau, a pi pulse of 2 t_pi2, tau; the first window is
    centred a time tau after the end of the first pi pulse.)
    """
    return T_PI2 / 2 + np.arange(1, N_ECHOES + 1) * (2 * TAU + 2 * T_PI2)


def cpmg_record(t2_s, *, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    local = np.arange(POINTS) * WINDOW / POINTS
    shape = np.exp(-(((local - WINDOW / 2) / 0.3e-6) ** 2))
    trace = np.concatenate([np.exp(-t / t2_s) * shape for t in echo_times()]) * np.exp(-0.9j)
    trace = trace + noise * (rng.standard_normal(trace.size) + 1j * rng.standard_normal(trace.size))
    time = np.concatenate([k * (WINDOW + 2 * TAU) + local for k in range(N_ECHOES)])
    return xr.Dataset(
        {"signal_re": ("time", trace.real), "signal_im": ("time", trace.imag)},
        coords={"time": ("time", time, {"units": "s"})},
        attrs={"protocol": TRAIN, "units": "V", "source": "run:lab", "complete": 1},
    )


def swept_record(name, axis, values, units, amplitudes, *, source="run:lab", noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    time = np.linspace(0, 2e-6, 64)
    shape = np.exp(-(((time - 1e-6) / 0.2e-6) ** 2))
    signal = np.asarray(amplitudes)[:, None] * shape * np.exp(0.5j)
    signal = signal + noise * (
        rng.standard_normal(signal.shape) + 1j * rng.standard_normal(signal.shape)
    )
    protocol = f"name: {name}\nsequence:\n  - pulse: {{angle: pi/2}}\n  - detect: {{points: 64}}\n"
    return xr.Dataset(
        {"signal_re": ((axis, "time"), signal.real), "signal_im": ((axis, "time"), signal.imag)},
        coords={axis: (axis, values, {"units": units}), "time": ("time", time)},
        attrs={"protocol": protocol, "units": "V", "source": source, "complete": 1},
    )


def test_cpmg_echo_times_and_amplitudes_follow_the_closed_form():
    times, echo, sigma = cpmg_train(cpmg_record(20e-6))
    np.testing.assert_allclose(times, echo_times(), rtol=1e-12)
    np.testing.assert_allclose(echo / echo[0], np.exp(-(times - times[0]) / 20e-6), rtol=1e-12)
    assert sigma < 1e-4


def test_cpmg_fit_recovers_t2():
    analysis = analyse_record(cpmg_record(20e-6, noise=0.005, seed=4))
    assert analysis.kind == "cpmg"
    assert abs(analysis.fit.value("T_2") - 20e-6) < 3 * analysis.fit.error("T_2")
    assert analysis.x_name == "echo time" and analysis.y_units == "V"


TAUS = np.linspace(0.5e-6, 10e-6, 16)
CASES = {
    "hahn-echo": (
        lambda: swept_record("hahn-echo", "tau", TAUS, "s", np.exp(-((2 * TAUS / 6e-6) ** 1.5)),
                             noise=0.005),
        "stretched",
        "T_M",
        6e-6,
    ),
    "inversion-recovery": (
        lambda: swept_record(
            "inversion-recovery", "T_rec", TAUS * 100, "s",
            0.8 * (1 - 2 * np.exp(-TAUS * 100 / 300e-6)), noise=0.005,
        ),
        "inversion-recovery",
        "T_1",
        300e-6,
    ),
    "nutation": (
        lambda: swept_record(
            "nutation", "t_p", TAUS / 5, "s",
            np.sin(2 * np.pi * 1.1e6 * TAUS / 5) * np.exp(-TAUS / 5 / 3e-6), noise=0.005,
        ),
        "nutation",
        "f",
        1.1e6,
    ),
}  # fmt: skip


@pytest.mark.parametrize(("make", "kind", "name", "truth"), CASES.values(), ids=CASES.keys())
def test_auto_analysis_by_protocol(make, kind, name, truth):
    record = make()
    analysis = analyse_record(record)
    assert analysis.kind == kind
    assert abs(analysis.fit.value(name) - truth) < 4 * analysis.fit.error(name)
    assert analysis.fit.sigma_known


def test_hole_burning_record():
    offsets = np.linspace(-3e6, 3e6, 41)
    line = 1 - 0.5 / (1 + (2 * (offsets - 0.2e6) / 0.6e6) ** 2)
    analysis = analyse_record(swept_record("hole-burning", "probe_offset", offsets, "Hz", line))
    assert analysis.kind == "hole"
    assert analysis.fit.value("w") == pytest.approx(0.6e6, rel=1e-3)


def test_simulations_use_residual_noise():
    record = swept_record(
        "hahn-echo", "tau", TAUS, "s", np.exp(-2 * TAUS / 6e-6), source="simulate"
    )
    analysis = analyse_record(record, "exponential")
    assert not analysis.fit.sigma_known
    assert analysis.fit.value("T_M") == pytest.approx(6e-6, rel=1e-6)


def test_auto_gives_none_when_no_fit_applies():
    assert analyse_record(swept_record("fid", "carrier", np.array([1e6, 2e6, 3e6]), "Hz",
                                       [1, 1, 1])) is None  # fmt: skip
    assert protocol_name(swept_record("fid", "x", np.arange(3.0), "", [1, 1, 1])) == "fid"


def test_unknown_analysis_and_missing_windows_are_refused():
    record = swept_record("hahn-echo", "tau", TAUS, "s", np.exp(-2 * TAUS / 6e-6))
    with pytest.raises(AnalysisError, match="one of"):
        analyse_record(record, "fourier")
    with pytest.raises(AnalysisError, match="one window per echo"):
        cpmg_train(cpmg_record(20e-6).isel(time=slice(0, 100)))
