"""Issue 17 item 6, end to end: ``spin-echo run`` on a bench whose detector is a magnetometer.

The emulated lab (the server side of ``serve-virtual-lab``) plays the real drivers' SCPI
through a simulated sample whose grains are biased off zero field, so their populations carry
a static moment: a pulse of swept length leaves ``m_z = m_eq cos(angle)`` per packet. Two
magnetometers read it:

- a Lake Shore F71 teslameter (10 ms readings: far too slow for the carrier, so its record's
  signal is the ``m_z`` the pulse left behind);
- a SQUID flux-locked loop read by the InfiniiVision digitizer at 250 MS/s (the emulated
  scope's input is the sample's M_z times the loop's volts per unit magnetisation): its record
  holds the demodulated signal and ``m_z``, the trace's baseline.

The independent reference is ``spin-echo simulate --frame lab`` of the same protocol on the same
ensemble (same file, same seed): its ``mz`` is the quasi-static magnetisation computed from
the propagator's populations, not from a sampled waveform.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from spin_echo.drivers.emulated.lab import VirtualLab
from spin_echo.drivers.magnetometer import MAGNETISATION_UNITS
from spin_echo.echo.cli.main import main
from spin_echo.echo.record import read_record
from spin_echo.simulator import load_sample
from tests.cli.test_serve_virtual_lab import read_until

pytestmark = pytest.mark.timeout(120)

SAMPLE = """\
name: biased
description: Bare grains biased off zero field, so that their populations carry a moment.
spin: 4000
g: 2.0
tunnel_splitting: {distribution: lognormal, median: 1 MHz, sigma: 0.05}
bias: {distribution: gaussian, mean: 0.5 MHz, width: 0.1 MHz}
orientation: {distribution: fixed, theta: 0 deg}
packets: 300
seed: 1
temperature: 0 K
"""
# pulse lengths on the 4 ns sample grid of 250 MS/s, so the sampled pulses are exact
PROTOCOL = """\
name: mz-nutation
description: One pulse of swept length, then the magnetisation it leaves behind.
parameters:
  carrier: 4 MHz
  amplitude: 0.5
  t_p: 500 ns
  dead_time: 3 us
  window: 1 us
sequence:
  - pulse: {amplitude: amplitude, duration: t_p}
  - delay: dead_time
  - detect: {duration: window, points: 16}
sweep:
  t_p: {values: [200 ns, 600 ns, 1 us, 1.4 us]}
shots: 2
repetition_time: 1 ms
full_scale_rabi: 1 MHz
"""
SQUID = "magnetometer: {volts_per_flux_quantum: 0.5 V, flux_quanta_per_unit: 2, per: normalised}"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("magnetometer")
    (folder / "biased.yaml").write_text(SAMPLE)
    (folder / "mz-nutation.yaml").write_text(PROTOCOL)
    common = [str(folder / "mz-nutation.yaml"), "--sample", str(folder / "biased.yaml")]
    assert main(["simulate", *common, "--frame", "lab", "-o", str(folder / "sim.nc")]) == 0
    return folder, read_record(folder / "sim.nc")


def run(folder, name: str, **lab_options) -> object:
    sample = load_sample(str(folder / "biased.yaml"))
    with VirtualLab(sample, **lab_options) as lab:
        text = lab.bench_yaml(points=2000, range_v=2.0, timeout_s=30.0)
        if "magnetometer" not in text:  # the scope as a SQUID loop's digitizer
            text = text.replace("coil: {pickup: 1.0 V}", SQUID)
        bench = folder / f"{name}.yaml"
        bench.write_text(text)
        out = folder / f"{name}.nc"
        assert (
            main(["run", str(folder / "mz-nutation.yaml"), "--bench", str(bench), "-o", str(out)])
            == 0
        )
    return read_record(out)


def test_teslameter_records_the_mz_a_pulse_leaves(files):
    folder, simulated = files
    measured = run(folder, "f71", scope="lakeshore-f71", tesla_per_unit_t=2e-3)
    assert measured.attrs["units"] == MAGNETISATION_UNITS["normalised"]
    mz = measured["mz"].values
    np.testing.assert_array_equal(measured["signal_re"].values, mz)
    np.testing.assert_array_equal(measured["signal_im"].values, 0.0)
    # one reading held over the window; the simulation's mz is constant there (no T1)
    assert np.ptp(mz, axis=-1).max() == 0.0
    expected = simulated["mz"].values
    assert np.ptp(expected, axis=-1).max() < 1e-12
    assert np.abs(expected[:, 0]).max() > 0.15  # a swing through zero: -0.2 ... +0.17
    np.testing.assert_allclose(mz, expected, atol=4e-4)  # measured 3.0e-4


def test_squid_loop_records_the_signal_and_the_mz_in_magnetisation(files):
    folder, simulated = files
    measured = run(folder, "squid")
    assert measured.attrs["units"] == MAGNETISATION_UNITS["normalised"]
    # measured 3.2e-4 (m_z) and 2.4e-4 (signal): the sampled, DAC-quantised drive
    np.testing.assert_allclose(measured["mz"].values, simulated["mz"].values, atol=4e-4)
    # the FID after the pulse, in normalised magnetisation, as the simulation's signal
    signal = measured["signal_re"].values + 1j * measured["signal_im"].values
    expected = simulated["signal_re"].values + 1j * simulated["signal_im"].values
    assert np.abs(expected).max() > 0.05
    np.testing.assert_allclose(signal, expected, atol=3e-4)


def test_served_teslameter_gives_the_same_record(files, tmp_path):
    folder, _ = files
    bench = tmp_path / "served.yaml"
    command = [
        *(sys.executable, "-m", "spin_echo.echo.cli.main", "serve-virtual-lab"),
        *("--sample", str(folder / "biased.yaml"), "--magnetometer", "lakeshore-f71"),
        *("--tesla-per-unit", "2 mT", "--bench-file", str(bench), "--duration", "90 s"),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [output.put(line) for line in proc.stdout])
    reader.start()
    try:
        lines = read_until(output, "serving", 60)
        assert lines[2].split()[:2] == ["meter", "lakeshore-f71"]
        served = tmp_path / "served.nc"
        args = ["run", str(folder / "mz-nutation.yaml"), "--bench", str(bench), "-o", str(served)]
        assert main(args) == 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        err = proc.stderr.read()
        reader.join(timeout=10)
    assert proc.returncode == 0, err
    assert "magnetometer: {tesla_per_unit: 0.002 T, per: normalised}" in bench.read_text()
    direct = run(folder, "f71-direct", scope="lakeshore-f71", tesla_per_unit_t=2e-3)
    np.testing.assert_array_equal(read_record(served)["mz"].values, direct["mz"].values)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tesla-per-unit", "-1 mT"), "--tesla-per-unit: '-1 mT': must be a positive finite"),
        (("--tesla-per-unit", "1 V"), "--tesla-per-unit: '1 V': must be a magnetic field"),
    ],
    ids=["negative", "wrong-unit"],
)
def test_bad_magnetometer_options_exit_2(args, message, capsys):
    assert main(["serve-virtual-lab", "--sample", "bare", *args]) == 2
    assert message in capsys.readouterr().err


def test_unknown_magnetometer_model_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["serve-virtual-lab", "--sample", "bare", "--magnetometer", "lakeshore-f99"])
    assert info.value.code == 2
    assert "invalid choice: 'lakeshore-f99'" in capsys.readouterr().err
