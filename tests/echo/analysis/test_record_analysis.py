"""Automatic analysis of records built from closed forms, chosen by the protocol's structure."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spin_echo.echo.analysis.extraction import AnalysisError
from spin_echo.echo.analysis.record_analysis import (
    analyse_record,
    classify_record,
    cpmg_train,
    protocol_name,
)
from spin_echo.sequences import load_protocol

T_PI2, TAU, WINDOW, N_ECHOES, POINTS = 0.5e-6, 3e-6, 2e-6, 8, 32
TRAIN = (
    f"""name: my-train
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


def cpmg_record(t2_s, *, noise=0.0, seed=0, alternation=0.0):
    rng = np.random.default_rng(seed)
    local = np.arange(POINTS) * WINDOW / POINTS
    shape = np.exp(-(((local - WINDOW / 2) / 0.3e-6) ** 2))
    parity = np.where(np.arange(1, N_ECHOES + 1) % 2 == 0, 1.0, -1.0)
    amplitudes = np.exp(-echo_times() / t2_s) * (1 + alternation * parity)
    trace = np.concatenate([a * shape for a in amplitudes]) * np.exp(-0.9j)
    trace = trace + noise * (rng.standard_normal(trace.size) + 1j * rng.standard_normal(trace.size))
    time = np.concatenate([k * (WINDOW + 2 * TAU) + local for k in range(N_ECHOES)])
    window = np.repeat(np.arange(N_ECHOES), POINTS)
    return xr.Dataset(
        {"signal_re": ("time", trace.real), "signal_im": ("time", trace.imag)},
        coords={"time": ("time", time, {"units": "s"}), "window": ("time", window)},
        attrs={"protocol": TRAIN, "units": "V", "source": "run:lab", "complete": 1},
    )


def library_text(name, new_name=None):
    text = load_protocol(name).to_yaml()
    return text if new_name is None else text.replace(f"name: {name}", f"name: {new_name}", 1)


def swept_record(text, amplitudes, *, source="run:lab", noise=0.0, seed=0, sem=None):
    """A record of ``text``'s own sweep: a Gaussian echo of the given amplitude at each point."""
    from spin_echo.sequences import Protocol

    protocol = Protocol.from_yaml(text)
    axes = protocol.sweep_axes
    rng = np.random.default_rng(seed)
    time = np.linspace(0, 2e-6, 64)
    shape = np.exp(-(((time - 1e-6) / 0.2e-6) ** 2))
    amplitudes = np.asarray(amplitudes, dtype=float)
    signal = amplitudes[..., None] * shape * np.exp(0.5j)
    signal = signal + noise * (
        rng.standard_normal(signal.shape) + 1j * rng.standard_normal(signal.shape)
    )
    dims = (*(a.name for a in axes), "time")
    variables = {"signal_re": (dims, signal.real), "signal_im": (dims, signal.imag)}
    if sem is not None:
        variables["signal_sem_re"] = (dims, np.full(signal.shape, sem))
        variables["signal_sem_im"] = (dims, np.full(signal.shape, sem))
    units = {"time": "s", "frequency": "Hz"}
    coords = {
        a.name: (a.name, np.asarray(a.values), {"units": units.get(a.kind, "")}) for a in axes
    }
    coords["time"] = ("time", time, {"units": "s"})
    return xr.Dataset(
        variables,
        coords=coords,
        attrs={"protocol": text, "units": "V", "source": source, "complete": 1},
    )


def sweep(name):
    return np.asarray(load_protocol(name).sweep_axes[0].values, dtype=float)


def test_cpmg_echo_times_and_amplitudes_follow_the_closed_form():
    train = cpmg_train(cpmg_record(20e-6))
    np.testing.assert_allclose(train.times_s, echo_times(), rtol=1e-12)
    np.testing.assert_array_equal(train.index, np.arange(1, N_ECHOES + 1))
    np.testing.assert_allclose(
        train.echo / train.echo[0], np.exp(-(train.times_s - train.times_s[0]) / 20e-6), rtol=1e-12
    )
    assert train.sigma < 1e-4
    # every pi pulse (2 t_pi2 each) precedes the last window, whose centre is the span's end
    pulses_s = N_ECHOES * 2 * T_PI2
    assert train.pulse_fraction == pytest.approx(pulses_s / echo_times()[-1], rel=1e-12)


@pytest.mark.filterwarnings("ignore:rotating-wave error")  # the library's pulses: ~6 %
def test_cpmg_on_long_pulses_says_its_t2_is_not_the_samples():
    """bare-t2 (T2 = 20 us): the library's 1 us pi pulses lengthen the train's decay (the
    off-resonant packets turn through z during them); 100 ns pulses give T2 to 0.5 %."""
    import spin_echo as se

    sample = se.load_sample("bare-t2")
    library = analyse_record(se.simulate("cpmg", sample, packets=2000))
    assert library.fit.value("T_2") > 20.5e-6
    assert any("pi pulses fill up to 20 %" in note for note in library.notes)
    short = se.load_protocol("cpmg").with_values(full_scale_rabi="10 MHz", t_pi2="50 ns")
    fast = analyse_record(se.simulate(short, sample, packets=2000))
    assert fast.fit.value("T_2") == pytest.approx(20e-6, rel=5e-3)
    assert not any("pi pulses fill" in note for note in fast.notes)


def test_cpmg_fit_recovers_t2_and_the_alternation():
    analysis = analyse_record(cpmg_record(20e-6, noise=0.005, seed=4, alternation=0.1))
    assert analysis.kind == "cpmg" and analysis.family.name == "cpmg"
    for name, truth in (("T_2", 20e-6), ("a", 0.1)):
        assert abs(analysis.fit.value(name) - truth) < 4 * analysis.fit.error(name)
    assert analysis.x_name == "echo time" and analysis.y_units == "V"
    assert "alternation" in analysis.report()


def test_a_renamed_hahn_echo_gets_the_hahn_analysis():
    taus = sweep("hahn-echo")
    record = swept_record(library_text("hahn-echo", "my-own-echo"),
                          np.exp(-((2 * taus / 20e-6) ** 1.5)), noise=0.002)  # fmt: skip
    assert protocol_name(record) == "my-own-echo"
    analysis = analyse_record(record)
    assert analysis.kind == "stretched" and analysis.family.name == "hahn-echo"
    assert abs(analysis.fit.value("T_M") - 20e-6) < 4 * analysis.fit.error("T_M")
    assert analysis.fit.sigma_known and analysis.fit.reliable, analysis.fit.health.reasons


def test_stimulated_echo_decays_with_the_mixing_time_not_2_tau():
    """T1 = 20 us: the Hahn formula would read T_M = 40 us off exp(-T/T1)."""
    mixing = sweep("stimulated-echo")
    record = swept_record(library_text("stimulated-echo"), 0.5 * np.exp(-mixing / 20e-6) + 0.0,
                          noise=0.0005)  # fmt: skip
    analysis = analyse_record(record)
    assert analysis.kind == "stimulated" and analysis.fit.names == ("A", "T_stim")
    assert abs(analysis.fit.value("T_stim") - 20e-6) < 4 * analysis.fit.error("T_stim")
    assert analysis.x_name.startswith("mixing time T")


def test_inversion_recovery_sign_convention_and_physical_efficiency():
    t = sweep("inversion-recovery")
    record = swept_record(library_text("inversion-recovery"),
                          -0.8 * (1 - 2 * 0.9 * np.exp(-t / 50e-6)), noise=0.002)  # fmt: skip
    analysis = analyse_record(record)
    fit = analysis.fit
    assert analysis.kind == "inversion-recovery" and fit.value("M_0") > 0
    for name, truth in (("b", 0.9), ("T_1", 50e-6)):
        assert abs(fit.value(name) - truth) < 4 * fit.error(name)
    assert "sign convention" in analysis.report()


def test_nutation_calibrates_full_scale_rabi():
    """Amplitude 0.5, nutation at 450 kHz: full_scale_rabi = 900 kHz (the protocol says 1 MHz)."""
    t_p = sweep("nutation")
    record = swept_record(library_text("nutation"), np.sin(2 * np.pi * 450e3 * t_p)
                          * np.exp(-t_p / 3e-6), noise=0.002)  # fmt: skip
    analysis = analyse_record(record)
    assert analysis.kind == "nutation"
    (derived,) = analysis.derived
    assert derived.name == "full_scale_rabi" and derived.units == "Hz"
    assert derived.value == pytest.approx(2 * analysis.fit.value("f"), rel=1e-12)
    assert abs(derived.value - 900e3) < 4 * derived.error
    assert "full_scale_rabi = " in analysis.report() and "kHz" in analysis.report()


def test_fid_gets_a_spectrum_view():
    analysis = analyse_record(swept_record(library_text("fid", "my-fid"), [1.0, 1.0, 1.0]))
    assert analysis.kind == "spectrum" and analysis.fit is None


def hole_text(two_d):
    text = library_text("hole-burning", "my-holes")
    if two_d:
        text = text.replace("sweep:\n", "sweep:\n  pump_amplitude: {values: [0, 0.05]}\n", 1)
    return text


def test_hole_burning_record():
    offsets = sweep("hole-burning")
    line = 1 - 0.5 / (1 + (2 * (offsets - 0.2e6) / 0.6e6) ** 2)
    analysis = analyse_record(swept_record(hole_text(False), line))
    assert analysis.kind == "hole"
    assert analysis.fit.value("w") == pytest.approx(0.6e6, rel=1e-3)


def test_hole_against_the_pump_off_row():
    """2-D pump on/off x offset: the sloping line divides out, the hole stays."""
    offsets = sweep("hole-burning")
    line = 1 + 0.2 * offsets / 1e6
    hole = 1 - 0.4 / (1 + (2 * (offsets + 0.1e6) / 0.5e6) ** 2)
    record = swept_record(hole_text(True), np.stack([line, line * hole]))
    analysis = analyse_record(record)
    assert analysis.family.pump_axis == "pump_amplitude"
    values = dict(zip(analysis.fit.names, analysis.fit.values, strict=True))
    assert values["d"] == pytest.approx(0.4, rel=1e-6)
    assert values["f0"] == pytest.approx(-0.1e6, rel=1e-6)
    assert values["w"] == pytest.approx(0.5e6, rel=1e-6)
    assert values["b1"] == pytest.approx(0.0, abs=1e-9)
    assert "pump-off" in analysis.report()


def test_simulations_use_residual_noise():
    taus = sweep("hahn-echo")
    record = swept_record(library_text("hahn-echo"), np.exp(-2 * taus / 6e-6), source="simulate")
    analysis = analyse_record(record, "exponential")
    assert not analysis.fit.sigma_known
    assert analysis.fit.value("T_M") == pytest.approx(6e-6, rel=1e-6)


def test_a_signal_below_its_monte_carlo_error_is_labelled():
    taus = sweep("hahn-echo")
    clean = 1e-7 * np.exp(-2 * taus / 6e-6)
    tiny = swept_record(library_text("hahn-echo"), clean, source="simulate", sem=1e-6)
    analysis = analyse_record(tiny)
    assert not analysis.fit.sigma_known
    assert "signal below its Monte-Carlo error" in analysis.report()
    assert not analysis.fit.reliable
    assert analysis.as_dict()["reliable"] is False


def test_no_family_fits_says_why_in_one_line():
    text = library_text("hahn-echo").replace("angle: pi\n", "angle: pi/2\n")
    assert text.count("angle: pi/2") == 2
    record = swept_record(text, np.ones(12))
    assert analyse_record(record) is None
    reason = classify_record(record).reason
    assert "\n" not in reason and "pi/2, pi/2" in reason and "'tau'" in reason


def test_unknown_analysis_and_missing_windows_are_refused():
    record = swept_record(library_text("hahn-echo"), np.ones(12))
    with pytest.raises(AnalysisError, match="one of"):
        analyse_record(record, "fourier")
    with pytest.raises(AnalysisError, match="one window per echo"):
        cpmg_train(cpmg_record(20e-6).isel(time=slice(0, 100)))


def test_a_measurement_without_noise_is_fitted_on_its_residuals():
    """A bench without noise (serve-virtual-lab's default ``--noise 0 V``) stores a shot scatter
    of rounding size: it must not weight the fit (reduced chi-square ~1e27, UNRELIABLE)."""
    import spin_echo as se

    bench = (
        "name: quiet\nawg: {driver: virtual-awg, sample_rate: 250 MHz}\n"
        "detector: {driver: virtual-detector, noise: 0 V}\n"
    )
    library = Path(__file__).parents[3] / "sequences" / "library" / "hahn-echo.yaml"
    text = re.sub(
        r"tau: \{values: \[[^]]*\]\}",
        "tau: {values: [2 us, 3.5 us, 6 us, 10.25 us, 17.75 us, 30.5 us, 40 us]}",
        library.read_text(encoding="utf-8"),
    ).replace("shots: 16", "shots: 2")
    assert "17.75 us, 30.5 us, 40 us]" in text and "shots: 2\n" in text
    sample = se.load_sample("bare-t2").with_values(packets="300")
    record = se.run(se.load_protocol(text), bench, sample=sample)
    assert float(np.abs(record.signal_sem_re).max()) == 0.0  # identical shots in process
    # the emulated lab's averaged shots differ by rounding: a scatter of ~1e-17 (measured)
    record["signal_sem_re"] = record.signal_sem_re + 3e-18
    record["signal_sem_im"] = record.signal_sem_im + 3e-18
    analysis = analyse_record(record)
    assert analysis.fit.reliable, analysis.fit.health
    assert analysis.fit.value("T_M") == pytest.approx(20e-6, rel=0.05)
