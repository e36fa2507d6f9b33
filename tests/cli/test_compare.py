"""``spin-echo compare`` end to end on record files written by the real RecordWriter."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest

from spin_echo.echo.cli.main import main
from spin_echo.echo.record import RecordWriter

HAHN = """name: hahn-echo
parameters: {tau: 1 us, window: 400 ns}
sequence:
  - pulse: {angle: pi/2, duration: 50 ns}
  - delay: tau
  - pulse: {angle: pi, duration: 100 ns}
  - delay: tau - window/2
  - detect: {duration: window, points: 64}
"""
FID = """name: fid
sequence:
  - pulse: {angle: pi/2, duration: 50 ns}
  - detect: {duration: 1 us, points: 64}
"""
TIME = np.linspace(0.0, 400e-9, 64, endpoint=False)


def echo(tau_s):
    t = TIME - 200e-9
    return np.exp(-2 * tau_s / 4e-6) * np.exp(-((t / 60e-9) ** 2)) * np.exp(0.4j)


def write(path, tau_s, *, scale=1.0, noise=0.0, seed=0, protocol=HAHN):
    rng = np.random.default_rng(seed)
    axes = [("tau", tau_s, "time")] if tau_s is not None else []
    attrs = {"protocol": protocol, "sample": "name: bare\n", "source": "simulate", "units": "V"}
    with RecordWriter(path, axes=axes, time_s=TIME, attrs={**attrs, "seed": 1}) as writer:
        points = [((i,), t) for i, t in enumerate(tau_s)] if tau_s is not None else [((), 1e-6)]
        for index, tau in points:
            signal = scale * echo(tau)
            signal = signal + noise * (
                rng.standard_normal(TIME.size) + 1j * rng.standard_normal(TIME.size)
            )
            writer.write_point(index, signal)
    return path


TAU = np.linspace(1e-6, 5e-6, 6)


def test_record_with_itself(tmp_path, capsys):
    path = write(tmp_path / "m.nc", TAU, noise=0.01)
    assert main(["compare", str(path), str(path)]) == 0
    out = capsys.readouterr().out
    assert float(out.split("|c| = ")[1].split()[0]) == pytest.approx(1.0, abs=1e-14)
    assert float(out.split("residual: rms ")[1].split()[0]) < 1e-15
    assert float(out.split("reduced chi-square: ")[1].split()[0]) < 1e-25
    rows = out.split("chi2/dof\n")[1].splitlines()
    assert len(rows) == TAU.size
    assert all(float(row.split()[2]) < 1e-15 for row in rows)


def test_scaled_noisy_measurement_with_plot(tmp_path, capsys):
    measured = write(tmp_path / "m.nc", TAU, scale=2.5, noise=0.01, seed=3)
    simulated = write(tmp_path / "s.nc", np.linspace(0.5e-6, 6e-6, 23))
    plot = tmp_path / "overlay.png"
    assert main(["compare", str(measured), str(simulated), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    magnitude = float(out.split("|c| = ")[1].split()[0])
    assert magnitude == pytest.approx(2.5, rel=0.02)
    assert "interpolated" in out
    assert "1 µs" in out and "5 µs" in out
    image = mpimg.imread(plot)
    assert image.shape[0] > 100 and image.shape[1] > 100 and image[..., :3].std() > 0.05


def test_transient_records(tmp_path, capsys):
    measured = write(tmp_path / "m.nc", None, noise=0.01)
    simulated = write(tmp_path / "s.nc", None)
    assert main(["compare", str(measured), str(simulated), "--noise", "0.01"]) == 0
    out = capsys.readouterr().out
    chi2 = float(out.split("reduced chi-square: ")[1].split()[0])
    assert abs(chi2 - 1.0) < 0.4
    assert "per sweep point" not in out


INCOMPATIBLE = {
    "no-overlap": (lambda p: write(p, TAU + 1e-3), "does not overlap"),
    "structure": (lambda p: write(p, TAU, protocol=FID), "differ in structure"),
    "axes": (lambda p: write(p, None), "sweep axes differ"),
}


@pytest.mark.parametrize(("make", "message"), INCOMPATIBLE.values(), ids=INCOMPATIBLE.keys())
def test_incompatible_records_exit_2(tmp_path, capsys, make, message):
    measured = write(tmp_path / "m.nc", TAU)
    other = make(tmp_path / "s.nc")
    assert main(["compare", str(measured), str(other)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spin-echo: error: ") and message in err
    assert err.count("\n") == 1


def test_missing_file_exits_2(tmp_path, capsys):
    measured = write(tmp_path / "m.nc", TAU)
    assert main(["compare", str(measured), str(tmp_path / "nope.nc")]) == 2
    assert "nope.nc" in capsys.readouterr().err


def test_installed_entry_point_exit_status(tmp_path):
    measured = write(tmp_path / "m.nc", TAU)
    other = write(tmp_path / "s.nc", TAU, protocol=FID)
    result = subprocess.run(
        [sys.executable, "-m", "spin_echo.echo.cli.main", "compare", str(measured), str(other)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "differ in structure" in result.stderr
    assert "Traceback" not in result.stderr
