"""A teslameter's record (``signal_kind = held_mz``) analysed through m_z, on synthetic records.

Independent references: closed forms written here, not the code's output --
``m_z = m_eq cos(2 pi f_R t_p)`` after a pulse of length t_p (nutation; f_R from the drive),
``m_z = M_0 (1 - 2 b exp(-T/T_1))`` after a pi pulse (inversion recovery), a Lorentzian hole
in m_z against the probe offset, and for compare,
measured = c x simulated + Gaussian shot noise of known size over many seeds (the reduced
chi-square of a model that fits has the mean 1 and the standard deviation sqrt(2/dof)).
Records are written to real files and read back (the validated path of every command).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from spin_echo.echo.analysis.compare import compare_records
from spin_echo.echo.analysis.mz import mz_curve, mz_noise
from spin_echo.echo.analysis.record_analysis import analyse_record
from spin_echo.echo.cli.main import main
from spin_echo.echo.plots_mz import plot_mz
from spin_echo.echo.record import read_record
from spin_echo.sequences import Protocol

NUTATION = """\
name: mz-nutation
parameters: {carrier: 4 MHz, amplitude: 0.5, t_p: 100 ns}
sequence:
  - pulse: {amplitude: amplitude, duration: t_p}
  - delay: 3 us
  - detect: {duration: 1 us, points: 8}
sweep:
  t_p: {start: 20 ns, stop: 4 us, points: 41}
shots: 4
full_scale_rabi: 1 MHz
"""
RECOVERY = """\
name: mz-recovery
parameters: {carrier: 4 MHz, T: 1 us}
sequence:
  - pulse: {angle: pi, duration: 500 ns}
  - delay: T
  - detect: {duration: 1 us, points: 8}
sweep:
  T: {start: 1 us, stop: 200 us, points: 30}
shots: 4
full_scale_rabi: 1 MHz
"""
HOLE = """\
name: mz-hole
parameters: {carrier: 4 MHz, probe_offset: 0 Hz}
sequence:
  - pulse: {amplitude: 0.05, duration: 20 us}
  - delay: 2 us
  - pulse: {angle: pi/2, duration: 1 us, frequency: probe_offset}
  - delay: 5 us
  - pulse: {angle: pi, duration: 2 us, frequency: probe_offset}
  - delay: 3 us
  - detect: {duration: 1 us, points: 8}
sweep:
  probe_offset: {start: -1 MHz, stop: 1 MHz, points: 41}
shots: 4
full_scale_rabi: 1 MHz
"""
SHOTS = 4
#: The drive the synthetic sample really sees: 10 % above the protocol's 0.5 x 1 MHz.
F_RABI_HZ = 0.55e6


def held_dataset(protocol_text, mz_of_x, *, sigma_shot, seed=0, kind="held_mz"):
    """Return a teslameter-like record: per point, SHOTS readings of mz_of_x(x) + noise."""
    protocol = Protocol.from_yaml(protocol_text)
    axis = protocol.sweep_axes[0]
    x = np.asarray(axis.values, dtype=float)
    rng = np.random.default_rng(seed)
    shots = mz_of_x(x)[:, None] + sigma_shot * rng.standard_normal((x.size, SHOTS))
    mean = shots.mean(axis=1)
    sem = shots.std(axis=1, ddof=1) / np.sqrt(SHOTS)
    time_s = np.arange(8) * 125e-9
    held = np.repeat(mean[:, None], time_s.size, axis=1)
    dims = (axis.name, "time")
    attrs = {"protocol": protocol_text, "source": "run:lab", "complete": 1, "shots": SHOTS,
             "units": "normalised magnetisation", "signal_kind": kind}  # fmt: skip
    data = xr.Dataset(
        {
            "signal_re": (dims, held),
            "signal_im": (dims, np.zeros_like(held)),
            "mz": (dims, held),
            "signal_sem_re": (dims, np.repeat(sem[:, None], time_s.size, axis=1)),
            "signal_sem_im": (dims, np.zeros_like(held)),
        },
        coords={
            axis.name: (axis.name, x, {"units": "s"}),
            "time": ("time", time_s, {"units": "s"}),
        },
        attrs=attrs,
    )
    return data


def held_record(path, protocol_text, mz_of_x, **options):
    """Write :func:`held_dataset` to ``path`` and return the path."""
    held_dataset(protocol_text, mz_of_x, **options).to_netcdf(path)
    return path


def simulated_record(path, protocol_text, mz_of_x):
    """Write a simulate-like record: an unrelated FID signal and the exact mz."""
    protocol = Protocol.from_yaml(protocol_text)
    axis = protocol.sweep_axes[0]
    x = np.asarray(axis.values, dtype=float)
    time_s = np.arange(8) * 125e-9
    mz = np.repeat(mz_of_x(x)[:, None], time_s.size, axis=1)
    fid = 0.05 * np.exp(2j * np.pi * 1e6 * time_s)[None, :] * np.ones((x.size, 1))
    dims = (axis.name, "time")
    xr.Dataset(
        {"signal_re": (dims, fid.real), "signal_im": (dims, fid.imag), "mz": (dims, mz)},
        coords={
            axis.name: (axis.name, x, {"units": "s"}),
            "time": ("time", time_s, {"units": "s"}),
        },
        attrs={
            "protocol": protocol_text,
            "source": "simulate",
            "complete": 1,
            "frame": "lab",
            "units": "normalised magnetisation",
        },
    ).to_netcdf(path)
    return path


def nutation(t_p):
    return 0.3 * np.cos(2 * np.pi * F_RABI_HZ * t_p)


def test_nutation_in_mz_recovers_the_rabi_frequency_and_keeps_the_sign(tmp_path):
    data = read_record(held_record(tmp_path / "n.nc", NUTATION, nutation, sigma_shot=0.01))
    analysis = analyse_record(data)
    assert analysis.kind == "nutation" and analysis.y_name == "m_z"
    fit = analysis.fit
    f, error = fit.value("f"), fit.error("f")
    assert error < 2e-3 * F_RABI_HZ  # measured 0.05 %
    assert abs(f - F_RABI_HZ) < 3 * error
    rabi = next(d for d in analysis.derived if d.name == "full_scale_rabi")
    assert abs(rabi.value - 1.1e6) < 3 * rabi.error  # protocol 1 MHz; the drive is 10 % more
    assert fit.reliable, fit.health.reasons
    # sign kept: after a pi pulse (t_p = 1/(2 f_R) = 909 ns) m_z is -m_eq, not flipped
    curve = mz_curve(data)
    near_pi = np.argmin(np.abs(curve.x - 0.5 / F_RABI_HZ))
    assert curve.y[near_pi] < -0.28
    assert fit.predict(np.array([0.5 / F_RABI_HZ]))[0] == pytest.approx(-0.3, abs=0.01)
    figure = plot_mz(data, analysis, tmp_path / "n.png")
    assert figure.axes[0].get_ylabel().startswith("m_z")


def test_mz_noise_is_the_pooled_shot_scatter_of_the_real_part():
    sigma_shot, seeds = 0.02, 100
    variances = [
        mz_noise(held_dataset(NUTATION, nutation, sigma_shot=sigma_shot, seed=seed)).sigma ** 2
        for seed in range(seeds)
    ]
    # the variance of a mean of 4 shots, pooled over 41 points (41 x 3 degrees of freedom:
    # relative scatter sqrt(2/123) per seed), 4 sigma; the complex estimator would give half
    tolerance = 4 * np.sqrt(2 / 123) / np.sqrt(seeds)
    assert np.mean(variances) == pytest.approx(sigma_shot**2 / SHOTS, rel=tolerance)


def test_inversion_recovery_in_mz_fits_t1_with_its_sign(tmp_path):
    t1_s = 40e-6

    def recovery(t):
        return 0.25 * (1 - 2 * 0.95 * np.exp(-t / t1_s))

    data = read_record(held_record(tmp_path / "r.nc", RECOVERY, recovery, sigma_shot=0.004))
    analysis = analyse_record(data)
    assert analysis.kind == "inversion-recovery" and analysis.y_name == "m_z"
    fit = analysis.fit
    assert abs(fit.value("T_1") - t1_s) < 3 * fit.error("T_1")
    assert fit.error("T_1") < 0.03 * t1_s
    assert abs(fit.value("M_0") - 0.25) < 3 * fit.error("M_0")
    assert mz_curve(data).y[0] < 0  # inverted: negative, as read


def test_hole_read_through_mz_is_fitted_with_the_hole_model(tmp_path):
    def hole(f):
        return 0.2 * (1 - 0.5 / (1 + 4 * ((f - 0.1e6) / 0.3e6) ** 2))

    data = read_record(held_record(tmp_path / "h.nc", HOLE, hole, sigma_shot=0.004))
    analysis = analyse_record(data)
    assert analysis.kind == "hole" and analysis.y_name == "m_z"
    fit = analysis.fit
    for name, truth in (("f0", 0.1e6), ("w", 0.3e6), ("d", 0.5), ("b0", 0.2)):
        assert abs(fit.value(name) - truth) < 3 * fit.error(name), name


def test_compare_chi_square_over_many_seeds(tmp_path):
    """measured = 0.97 x simulated + shot noise: chi2/dof has mean 1, c is found within error."""
    sim = read_record(simulated_record(tmp_path / "sim.nc", NUTATION, nutation))
    chi2, pulls = [], []
    for seed in range(60):
        path = held_record(tmp_path / f"m{seed}.nc", NUTATION, lambda x: 0.97 * nutation(x),
                           sigma_shot=0.01, seed=seed)  # fmt: skip
        result = compare_records(read_record(path), sim)
        assert result.quantity == "mz" and result.dof == 40
        chi2.append(result.chi2_reduced)
        pulls.append((result.scale.real - 0.97) / result.scale_error)
    # mean of chi2/dof: 1 (x 1.02, the sigma estimated from 41 x 3 shot degrees of freedom)
    assert np.mean(chi2) == pytest.approx(1.0, abs=3 * np.sqrt(2 / 40) / np.sqrt(60) + 0.03)
    assert np.std(pulls) == pytest.approx(1.0, abs=0.25)
    assert abs(np.mean(pulls)) < 0.4


def test_plot_cli_json_says_mz(tmp_path, capsys):
    path = held_record(tmp_path / "n.nc", NUTATION, nutation, sigma_shot=0.01)
    assert main(["plot", str(path), "-o", str(tmp_path / "n.png"), "--json",
                 str(tmp_path / "n.json")]) == 0  # fmt: skip
    report = json.loads((tmp_path / "n.json").read_text())
    assert report["quantity"] == "m_z" and report["analysis"] == "nutation"
    assert "full_scale_rabi" in report["derived"]
    assert "signed, no phase correction" in capsys.readouterr().out


@pytest.mark.parametrize("analysis", ["stretched", "cpmg"])
def test_an_echo_analysis_of_held_mz_is_refused(tmp_path, capsys, analysis):
    path = held_record(tmp_path / "n.nc", NUTATION, nutation, sigma_shot=0.01)
    assert main(["plot", str(path), "-o", str(tmp_path / "n.png"), "--analysis", analysis]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds m_z" in err[0] and not (tmp_path / "n.png").exists()


def test_a_bad_signal_kind_is_refused_on_read(tmp_path, capsys):
    path = held_record(tmp_path / "b.nc", NUTATION, nutation, sigma_shot=0.01, kind="mz")
    assert main(["plot", str(path), "-o", str(tmp_path / "b.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "b.nc: signal_kind = 'mz': must be one of demodulated, held_mz" in err[0]
