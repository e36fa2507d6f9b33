"""Issue 5, "Done when": the built-in virtual bench agrees with ``spin-echo simulate`` within the
noise. The bench (150 mV per sample, 16 shots) plays a Hahn echo on the bare sample; the
simulation is the exact lab-frame one on the same ensemble (same sample file, same seed).

Independent references: the noise of the record is predicted in closed form from the bench's
noise per sample, the receiver's spectrum and the number of averages; the reduced chi-square of
a model that describes the data has the mean 1 and, with the receiver-correlated noise, the
standard deviation ``sqrt(2 / independent)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

from spin_echo.echo.analysis.compare import compare_records
from spin_echo.echo.analysis.noise import record_noise
from spin_echo.echo.cli.main import main
from spin_echo.echo.record import read_record

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = (
    (ROOT / "sequences" / "library" / "hahn-echo.yaml")
    .read_text()
    .replace(
        "tau: {values: [2 us, 2.75 us, 3.5 us, 4.5 us, 6 us, 7.75 us, 10.25 us, 13.5 us, "
        "17.75 us, 23.25 us, 30.5 us, 40 us]}",
        "tau: {values: [2 us, 5 us, 11 us, 17 us, 23 us, 40 us]}",
    )
)
NOISE_V, SAMPLE_RATE_HZ, BANDWIDTH_HZ, SHOTS, STEPS = 0.15, 250e6, 2e6, 16, 2


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run-vs-simulate")
    assert "10.25 us" not in PROTOCOL
    protocol = folder / "hahn-6.yaml"
    protocol.write_text(PROTOCOL)
    sample = folder / "bare-500.yaml"
    bare = (ROOT / "simulator" / "samples" / "bare.yaml").read_text()
    sample.write_text(bare.replace("packets: 4000", "packets: 500"))
    measured, simulated, other = folder / "run.nc", folder / "sim.nc", folder / "rotating.nc"
    common = [str(protocol), "--sample", str(sample)]
    assert main(["run", *common, "--bench", "virtual", "-o", str(measured)]) == 0
    assert main(["simulate", *common, "--frame", "lab", "-o", str(simulated)]) == 0
    assert main(["simulate", *common, "-o", str(other)]) == 0
    return read_record(measured), read_record(simulated), read_record(other)


def test_record_noise_is_the_bench_noise_through_the_receiver(records):
    """sem^2 = 4 sigma_n^2 B I / (f_s K n), I = int_0^inf (1 + x^8)^-2 dx (order-4 Butterworth
    applied twice), for K phase steps of n shots: the standard error of each quadrature."""
    measured = records[0]
    assert measured.attrs["shots"] == SHOTS
    assert measured.attrs["receiver_bandwidth_hz"] == BANDWIDTH_HZ
    assert measured["signal_sem_re"].dims == measured["signal_re"].dims
    factor = integrate.quad(lambda x: (1.0 + x**8) ** -2, 0.0, np.inf)[0]
    expected = np.sqrt(4 * NOISE_V**2 * BANDWIDTH_HZ * factor / (SAMPLE_RATE_HZ * STEPS * SHOTS))
    noise = record_noise(measured)
    assert noise.source == "shot-to-shot scatter, 16 shots"
    assert abs(noise.sigma - expected) < 3 * noise.error, (noise, expected)
    # a realistic signal-to-noise ratio at the echo peak
    peak = float(np.abs(measured["signal_re"] + 1j * measured["signal_im"]).max())
    assert 100 < peak / noise.sigma < 300


def test_virtual_bench_agrees_with_lab_frame_simulation_within_the_noise(records, capsys):
    measured, simulated, _ = records
    result = compare_records(measured, simulated)
    spread = np.sqrt(2.0 / result.independent)
    assert 100 < result.independent < result.dof / 4  # correlated: far fewer than the values
    assert abs(result.chi2_reduced - 1.0) < 3 * spread, (result.chi2_reduced, spread)
    assert abs(abs(result.scale) - 1.0) < 3 * result.scale_error


def test_the_rotating_wave_error_is_seen_outside_the_noise(records):
    """The rotating-frame simulation differs by about 3 % (Rabi/carrier = 1/8): at an SNR near
    200 that is far outside the noise."""
    measured, _, wrong = records
    result = compare_records(measured, wrong)
    assert result.chi2_reduced > 1.0 + 10 * np.sqrt(2.0 / result.independent)


def test_compare_prints_the_noise_source_and_chi_square(records, tmp_path, capsys):
    measured, simulated, _ = records
    paths = []
    for name, data in (("m.nc", measured), ("s.nc", simulated)):
        data.to_netcdf(tmp_path / name)
        paths.append(str(tmp_path / name))
    assert main(["compare", *paths]) == 0
    out = capsys.readouterr().out
    assert "(shot-to-shot scatter, 16 shots)" in out
    assert "independent values" in out
