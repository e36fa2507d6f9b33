"""plot, compare and fit on magnetometer records from the emulated lab (issue 17 item 6).

The records come from ``spin-echo run`` through the real drivers against the emulated lab
(the fixtures of :mod:`tests.cli.test_run_magnetometer`: a pulse of swept length on biased
grains); the reference is ``spin-echo simulate --frame lab`` of the same protocol, whose
``mz`` comes from the propagator's populations. The emulated teslameter is noise-free: its
shots agree exactly, so compare reports the residual (within the tolerance that test states,
4e-4) and says that no scatter weights a chi-square; the chi-square's normalisation is tested
on synthetic records over many seeds (tests/echo/analysis/test_mz.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.echo.cli.main import main
from spin_echo.echo.record import read_record
from tests.cli.test_run_magnetometer import files, run  # noqa: F401 (module fixture)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def teslameter(files):  # noqa: F811
    folder, _ = files
    run(folder, "f71", scope="lakeshore-f71", tesla_per_unit_t=2e-3)
    return folder


def compare_output(capsys, *args):
    code = main(["compare", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def value_after(text, label):
    line = next(line for line in text.splitlines() if label in line)
    return float(line.split(label)[1].split()[0])


def test_teslameter_record_says_it_holds_mz(teslameter):
    assert read_record(teslameter / "f71.nc").attrs["signal_kind"] == "held_mz"
    assert "signal_kind" not in read_record(teslameter / "sim.nc").attrs


def test_compare_sets_teslameter_mz_against_simulated_mz(teslameter, capsys, tmp_path):
    code, out, _ = compare_output(
        capsys, teslameter / "f71.nc", teslameter / "sim.nc", "--plot", tmp_path / "c.png"
    )
    assert code == 0 and (tmp_path / "c.png").exists()
    assert out.splitlines()[0].endswith(": m_z")
    assert "m_z at the last detection time" in out
    assert abs(value_after(out, "scale: c =") - 1.0) < 1e-3  # measured 0.99994
    assert value_after(out, "residual: rms") < 4e-4  # measured 1.8e-4 (max 3.0e-4)
    assert "the shots agree exactly" in out  # the emulator is noise-free: no chi-square
    # a stated noise weights it: chi2 = rms^2 / sigma^2 x N / (N - 1)
    code, out, _ = compare_output(
        capsys, teslameter / "f71.nc", teslameter / "sim.nc", "--noise", "3e-4"
    )
    rms = value_after(out, "residual: rms")
    assert value_after(out, "reduced chi-square:") == pytest.approx(rms**2 / 9e-8 * 4 / 3, 1e-3)


def test_compare_without_simulated_mz_or_as_signal_is_refused(teslameter, capsys, tmp_path):
    bare = read_record(teslameter / "sim.nc").drop_vars("mz")
    bare.to_netcdf(tmp_path / "bare.nc")
    code, out, err = compare_output(capsys, teslameter / "f71.nc", tmp_path / "bare.nc")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "bare.nc: mz: has no variable mz" in err
    code, _, err = compare_output(
        capsys, teslameter / "f71.nc", teslameter / "sim.nc", "--quantity", "signal"
    )
    assert code == 2 and "compare it as --quantity mz" in err
    assert len(err.strip().splitlines()) == 1


def test_squid_record_compares_signal_or_mz(files, capsys):  # noqa: F811
    folder, _ = files
    run(folder, "squid")
    code, out, _ = compare_output(capsys, folder / "squid.nc", folder / "sim.nc")
    assert code == 0 and "arg c" in out  # the demodulated signal, complex scale
    code, out, _ = compare_output(
        capsys, folder / "squid.nc", folder / "sim.nc", "--quantity", "mz"
    )
    assert code == 0 and out.splitlines()[0].endswith(": m_z")
    assert value_after(out, "residual: rms") < 4e-4  # measured 1.8e-4
    assert "noise: unknown" in out and "chi-square: not computed" in out


def test_plot_of_a_short_teslameter_sweep_draws_mz_without_a_fit(teslameter, capsys, tmp_path):
    assert main(["plot", str(teslameter / "f71.nc"), "-o", str(tmp_path / "p.png")]) == 0
    out = capsys.readouterr().out
    assert "no m_z nutation fit: values: has 4 points, needs at least 7" in out
    assert (tmp_path / "p.png").exists()
    mz = read_record(teslameter / "f71.nc")["mz"].values[:, -1]
    assert mz[0] < -0.15  # signed as read: no phase correction flips it


def test_fit_refuses_a_teslameter_record(teslameter, capsys, tmp_path):
    out = tmp_path / "fitted.yaml"
    args = ["fit", str(teslameter / "f71.nc"), "--sample", str(teslameter / "biased.yaml")]
    assert main([*args, "--free", "bias.width", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "signal_kind = 'held_mz'" in err[0] and "fit does not" in err[0]
    assert not out.exists()
    assert np.isfinite(read_record(teslameter / "f71.nc")["mz"].values).all()


def test_api_draws_mz(teslameter, tmp_path):
    import spin_echo as se

    figure = se.analyse(str(teslameter / "f71.nc")).plot(tmp_path / "a.png")
    assert figure.axes[0].get_ylabel().startswith("m_z")
    comparison = se.compare(str(teslameter / "f71.nc"), str(teslameter / "sim.nc"))
    figure = comparison.plot(tmp_path / "c.png")
    assert figure.axes[0].get_ylabel().startswith("m_z")
