"""The magnetometer calibration chain: bench keys validated, SI conversion, what a shot gives."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.drivers.bench import load_bench
from spin_echo.drivers.interface import BenchError, Trace
from spin_echo.drivers.magnetometer import MAGNETISATION_UNITS, MagnetometerChain
from spin_echo.echo.runs.magnetisation import read_magnetisation

AWG = (
    'awg: {driver: keysight-33600a, resource: "TCPIP::10.0.0.20::INSTR", sample_rate: 250 MHz, '
    "amplitude: 20 mV}"
)
TESLAMETER = f"""\
name: f71
{AWG}
detector: {{driver: lakeshore-f71, resource: "TCPIP::10.0.0.22::7777::SOCKET", axis: Z}}
magnetometer: {{tesla_per_unit: 2 mT, background: -50 uT, per: normalised}}
"""
SQUID = f"""\
name: squid
{AWG}
detector: {{driver: keysight-infiniivision, resource: "TCPIP::10.0.0.21::INSTR"}}
magnetometer:
  volts_per_flux_quantum: 1.25 V
  flux_quanta_per_unit: 4e-3
  per: A/m
"""


def write(tmp_path, text):
    path = tmp_path / "bench.yaml"
    path.write_text(text)
    return path


def test_teslameter_chain_in_si(tmp_path):
    spec = load_bench(write(tmp_path, TESLAMETER))
    chain = spec.magnetometer
    assert (chain.per, chain.tesla_per_unit_t, chain.background_t) == ("normalised", 2e-3, -5e-5)
    assert spec.detector.options == {"axis": "Z", "range": 0.035, "averaging": 1, "readings": 1}
    # M = (B - B0) / k_B
    np.testing.assert_allclose(chain.magnetisation([1.95e-3, -5e-5], "T"), [1.0, 0.0], atol=1e-15)
    assert chain.units == MAGNETISATION_UNITS["normalised"]


def test_squid_chain_in_si(tmp_path):
    chain = load_bench(write(tmp_path, SQUID)).magnetometer
    # M = V / (V/Phi0 * Phi0 per A/m): 1 V -> 1 / (1.25 * 4e-3) = 200 A/m
    np.testing.assert_allclose(chain.magnetisation([1.0], "V"), [200.0], rtol=1e-15)
    assert chain.units == "A/m"
    with pytest.raises(ValueError, match="converts V, the detector gave T"):
        chain.magnetisation([1.0], "T")


ERRORS = {
    "negative": ((TESLAMETER, "2 mT", "-2 mT"), "4: magnetometer.tesla_per_unit = '-2 mT'"),
    "infinite": ((SQUID, "4e-3", "inf"), "magnetometer.flux_quanta_per_unit"),
    "not-a-voltage": ((SQUID, "1.25 V", "1.25 T"), "must be a voltage"),
    "per": ((TESLAMETER, "normalised", "emu"), "magnetometer.per = 'emu': must be one of"),
    "both": ((TESLAMETER, "per:", "flux_quanta_per_unit: 1, per:"), "not both"),
    "half-squid": ((SQUID, "  flux_quanta_per_unit: 4e-3\n", ""), "expected volts_per_flux"),
    "unknown-key": ((TESLAMETER, "background", "offset"), "unknown key 'offset'"),
    "squid-background": ((SQUID, "per: A/m", "per: A/m\n  background: 1 mT"), "a SQUID chain"),
    "wrong-chain": ((SQUID, "keysight-infiniivision", "lakeshore-f71"), "needs tesla_per_unit"),
    "no-chain": (
        (
            TESLAMETER,
            "magnetometer: {tesla_per_unit: 2 mT, background: -50 uT, per: normalised}",
            "",
        ),
        "3: detector",
    ),
    "axis": ((TESLAMETER, "axis: Z", "axis: W"), "axis = 'W': must be one of"),
    "averaging": ((TESLAMETER, "axis: Z", "axis: Z, averaging: 0"), "averaging = 0: must be"),
    "readings": ((TESLAMETER, "axis: Z", "axis: Z, readings: 500"), "readings = 500: must be"),
    "range": ((TESLAMETER, "axis: Z", "axis: Z, range: 40 T"), "range = '40 T': must be"),
    "coil-too": ((TESLAMETER, "name: f71", "name: f71\ncoil: {pickup: 1 mV}"), "coil.pickup"),
}


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_bench_errors_name_file_line_key_value(tmp_path, case):
    (text, old, new), message = ERRORS[case]
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(BenchError) as info:
        load_bench(path)
    assert str(info.value).startswith(f"{path}:")
    assert message in str(info.value)


def test_f41_has_no_z_axis(tmp_path):
    text = TESLAMETER.replace("lakeshore-f71", "lakeshore-f41")
    with pytest.raises(BenchError, match="axis Z is not one of this model's: MAGNITUDE, X"):
        load_bench(write(tmp_path, text))


def test_a_fast_magnetometer_shot_gives_the_echo_and_the_baseline():
    # M(t) = m0 + a cos(2 pi f_c t - phi) sampled at 100 MS/s: the demodulated signal is
    # a e^{+i phi} (s = 2 LPF[M e^{+2 pi i f_c t}]) and m_z is m0, both in A/m
    chain = MagnetometerChain("A/m", volts_per_flux_quantum_v=0.5, flux_quanta_per_unit=0.01)
    t = np.arange(4000) / 100e6
    m0, a, phi, fc = 30.0, 12.0, 0.7, 4e6
    volts = 0.5 * 0.01 * (m0 + a * np.cos(2 * np.pi * fc * t - phi))
    times = t[1500:2500:100]
    shot = read_magnetisation(Trace(t, volts, "V"), chain, fc, times, bandwidth_hz=2e6, slow=False)
    np.testing.assert_allclose(shot[0], a * np.exp(1j * phi), rtol=2e-4)
    np.testing.assert_allclose(shot[1].real, m0, rtol=1e-5)


def test_a_slow_magnetometer_shot_is_the_mean_reading_held_over_the_window():
    chain = MagnetometerChain("normalised", tesla_per_unit_t=2e-3, background_t=1e-4)
    trace = Trace(np.array([0.01, 0.02]), np.array([1.0e-3, 1.2e-3]), "T")
    times = np.linspace(1e-6, 2e-6, 5)
    shot = read_magnetisation(trace, chain, 4e6, times, bandwidth_hz=2e6, slow=True)
    # ((1.0 + 1.2) / 2 mT - 0.1 mT) / 2 mT = 0.5: signal and m_z alike
    np.testing.assert_allclose(shot, np.full((2, 5), 0.5 + 0j), rtol=1e-12)
