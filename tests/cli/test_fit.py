"""``spin-echo fit`` end to end: simulate, add noise, fit two parameters 30 % off, compare.

The worked example of the README, on a small protocol so that it runs in seconds.
"""

from __future__ import annotations

import re

import matplotlib.image as mpimg
import numpy as np
import pytest

from spin_echo.echo.cli.main import main
from spin_echo.echo.record import RecordWriter, read_record
from spin_echo.simulator import load_sample

PROTOCOL = """name: small-hahn
description: A small Hahn echo.
parameters: {carrier: 4 MHz, t_pi2: 500 ns, tau: 5 us, window: 4 us}
sequence:
  - pulse: {angle: pi/2, duration: t_pi2, phase: 0 deg}
  - delay: tau
  - pulse: {angle: pi, duration: 2*t_pi2, phase: 90 deg}
  - delay: tau - window/2
  - detect: {duration: window, points: 64}
sweep:
  tau: {start: 2 us, stop: 12 us, points: 4}
phase_cycle:  # EXORCYCLE, as the library's hahn-echo
  - {pulses: [0 deg, 0 deg], receiver: +1}
  - {pulses: [0 deg, 90 deg], receiver: -1}
  - {pulses: [0 deg, 180 deg], receiver: +1}
  - {pulses: [0 deg, 270 deg], receiver: -1}
shots: 8
repetition_time: 1 ms
full_scale_rabi: 1 MHz
"""
#: The same with the two-step cycle that flips only the pi/2 pulse: the coherence the pi pulse
#: does not refocus survives it, as a residue of order 1/sqrt(packets) that winds with each
#: packet's bias, and makes chi-square far from quadratic in the bias width (README, fit).
TWO_STEP = (
    PROTOCOL.split("phase_cycle:")[0]
    + """phase_cycle:
  - {pulses: [0 deg, 0 deg], receiver: +1}
  - {pulses: [180 deg, 0 deg], receiver: -1}
shots: 16
repetition_time: 1 ms
full_scale_rabi: 1 MHz
"""
)
SAMPLE = """name: truth
description: The bare sample with T2 = 8 us and a 0.3 MHz bias width.
spin: 4000
g: 2.0
tunnel_splitting: {distribution: lognormal, median: 1 MHz, sigma: 0.05}
bias: {distribution: gaussian, mean: 0 Hz, width: 0.3 MHz}
orientation: {distribution: fixed, theta: 0 deg}
packets: 300
seed: 1
temperature: 0 K
relaxation: {T2: 8 us}
"""
NOISE = 0.01


def add_noise(source, target, *, seed=0):
    """Write a copy of a record with Gaussian noise of NOISE per quadrature."""
    data = read_record(source)
    rng = np.random.default_rng(seed)
    signal = (data["signal_re"] + 1j * data["signal_im"]).values
    axes = [("tau", data["tau"].values, "time")]
    attrs = {key: data.attrs[key] for key in ("protocol", "sample", "source", "units", "seed")}
    with RecordWriter(target, axes=axes, time_s=data["time"].values, attrs=attrs) as writer:
        for i in range(signal.shape[0]):
            noise = rng.standard_normal(signal.shape[1]) + 1j * rng.standard_normal(signal.shape[1])
            writer.write_point((i,), signal[i] + NOISE * noise)
    return target


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fitcli")
    (folder / "small-hahn.yaml").write_text(PROTOCOL)
    (folder / "truth.yaml").write_text(SAMPLE)
    clean = folder / "clean.nc"
    protocol, sample = str(folder / "small-hahn.yaml"), str(folder / "truth.yaml")
    code = main(["simulate", protocol, "--sample", sample, "-o", str(clean)])
    assert code == 0
    return folder, add_noise(clean, folder / "measured.nc")


def values_with_errors(out):
    found = {}
    for key, value, error, unit in re.findall(r"  (\S+) = (\S+) ± (\S+) (\S+)\n", out):
        factor = {"µs": 1e-6, "kHz": 1e3, "MHz": 1e6, "ns": 1e-9}[unit]
        found[key] = (float(value) * factor, float(error) * factor)
    return found


def test_fit_then_compare_worked_example(measured, capsys):
    folder, record = measured
    fitted = folder / "fitted.yaml"
    start = ["--set", "relaxation.T2=10.4 us", "--set", "bias.width=0.21 MHz"]
    free = ["--free", "relaxation.T2,bias.width", "-o", str(fitted)]
    code = main(["fit", str(record), "--sample", str(folder / "truth.yaml"), *start, *free])
    assert code == 0
    out = capsys.readouterr().out
    found = values_with_errors(out)
    for key, truth in (("relaxation.T2", 8e-6), ("bias.width", 0.3e6)):
        value, error = found[key]
        assert abs(value - truth) < 3 * error, (key, value, error)
    chi2 = float(out.split("reduced chi-square = ")[1].split()[0])
    assert 0.7 < chi2 < 1.3
    assert "UNRELIABLE" not in out and "UNRELIABLE" not in fitted.read_text()
    sample = load_sample(fitted)
    assert sample.value("relaxation.T2") == pytest.approx(found["relaxation.T2"][0], rel=0.01)
    assert "# fitted: ±" in fitted.read_text()

    check = folder / "fitted.nc"
    protocol = str(folder / "small-hahn.yaml")
    assert main(["simulate", protocol, "--sample", str(fitted), "-o", str(check)]) == 0
    overlay = folder / "overlay.png"
    assert main(["compare", str(record), str(check), "--plot", str(overlay)]) == 0
    out = capsys.readouterr().out
    assert 0.7 < float(out.split("reduced chi-square: ")[1].split()[0]) < 1.3
    image = mpimg.imread(overlay)
    assert image.shape[0] > 100 and image[..., :3].std() > 0.05


def test_the_two_step_cycle_makes_the_width_error_unreliable(tmp_path, capsys):
    """Same sample and noise as the worked example, the pi pulse not cycled: flagged (29 of 30
    noise seeds at 3000 packets, 23 of 40 at 300; EXORCYCLE: 0 of 70, T2: 0 of 140)."""
    (tmp_path / "two-step.yaml").write_text(TWO_STEP)
    (tmp_path / "truth.yaml").write_text(SAMPLE)
    clean = tmp_path / "clean.nc"
    truth = str(tmp_path / "truth.yaml")
    assert (
        main(["simulate", str(tmp_path / "two-step.yaml"), "--sample", truth, "-o", str(clean)])
        == 0
    )
    record = add_noise(clean, tmp_path / "measured.nc")
    argv = ["fit", str(record), "--sample", truth, "--free", "relaxation.T2,bias.width"]
    assert main([*argv, "--set", "bias.width=0.21 MHz", "-o", str(tmp_path / "f.yaml")]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "UNRELIABLE" in line)
    assert "bias.width: chi-square not quadratic within its error" in line
    assert "relaxation.T2" not in line


def test_a_fit_that_fails_its_checks_says_unreliable(measured, capsys):
    """Noise given at half its true value: the chi-square (about 4) is outside its band."""
    folder, record = measured
    fitted = folder / "half-noise.yaml"
    argv = ["fit", str(record), "--sample", str(folder / "truth.yaml"), "--free", "bias.width"]
    assert main([*argv, "--noise", str(NOISE / 2), "-o", str(fitted)]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "UNRELIABLE" in line)
    assert "reduced chi-square" in line and "outside" in line
    assert "# UNRELIABLE: reduced chi-square" in fitted.read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--free", "packets"], "whole number"),
        (["--free", "relaxation.T1"], "does not set this key"),
        (["--free", "bias.width", "--noise", "-1"], "positive"),
        (["--free", "bias.width", "--packets", "0"], "whole number from 1"),
        (["--free", "bias.width", "--set", "bias.width=-3 MHz"], "bias.width"),
    ],
    ids=["integer", "absent", "noise", "packets", "bad-set"],
)
def test_bad_input_exits_2(measured, capsys, extra, message):
    folder, record = measured
    code = main(["fit", str(record), "--sample", str(folder / "truth.yaml"), *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("spin-echo: error: ") and message in err


def test_unwritable_output_exits_2(measured, capsys):
    folder, record = measured
    output = ["--max-evaluations", "2", "-o", str(folder / "missing" / "x.yaml")]
    sample = str(folder / "truth.yaml")
    code = main(["fit", str(record), "--sample", sample, "--free", "bias.width", *output])
    assert code == 2
    assert "no such folder" in capsys.readouterr().err
