"""Keysight 33500B/33600A driver against the emulated instrument over a real TCP socket."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.drivers.emulated.server import Fault
from spin_echo.drivers.interface import InstrumentError
from spin_echo.drivers.visa.keysight_awg import (
    Keysight33500B,
    Keysight33600A,
    keysight_level_violation,
)
from spin_echo.drivers.visa.scpi import open_transport
from spin_echo.sequences.timeline import Waveform
from tests.drivers.conftest import assert_sim_specs_match, awg_config, sim_config, sine_waveform

pytestmark = pytest.mark.timeout(30)

DRIVERS = {"33600A": Keysight33600A, "33500B": Keysight33500B}


def confirmed(command: str) -> list[str]:
    return [command, "*OPC?", "SYST:ERR?"]


CONNECT = ["*IDN?", *confirmed("*CLS")]


def open_awg(lab, **options):
    cls = DRIVERS[lab.awg.model]
    config = awg_config(cls.DRIVER, lab.awg_resource, **options)
    driver = cls(config, open_transport(config))
    driver.connect()
    return driver


def test_upload_arm_trigger_send_exactly_this_traffic(keysight_lab):
    awg = open_awg(keysight_lab)
    waveform = sine_waveform(1000, 250e6, awg.MODEL.dac_bits)
    awg.upload(waveform)
    awg.arm()
    awg.trigger()
    awg.close()
    data, nbytes = (
        ("DATA:ARB:DAC", 2000) if keysight_lab.awg.model == "33500B" else ("DATA:ARB", 4000)
    )
    expected = [
        *CONNECT,
        *confirmed("OUTP1 OFF"),
        *confirmed("FORM:BORD SWAP"),
        *confirmed("SOUR1:DATA:VOL:CLE"),
        *confirmed(f"SOUR1:{data} SPINECHO,#4{nbytes}<{nbytes} bytes>"),
        *confirmed("SOUR1:FUNC:ARB SPINECHO"),
        *confirmed("SOUR1:FUNC ARB"),
        *confirmed("SOUR1:FUNC:ARB:SRAT 2.500000000E+08"),
        *confirmed("SOUR1:VOLT:UNIT VPP"),
        *confirmed("OUTP1:LOAD 50"),
        *confirmed("SOUR1:VOLT 5.000000000E-01"),
        *confirmed("SOUR1:VOLT:OFFS 0.000000000E+00"),
        *confirmed("SOUR1:BURS:MODE TRIG"),
        *confirmed("SOUR1:BURS:NCYC 1"),
        *confirmed("TRIG1:SOUR BUS"),
        *confirmed("SOUR1:BURS:STAT ON"),
        *confirmed("OUTP:SYNC ON"),
        *confirmed("OUTP1 ON"),
        *confirmed("*TRG"),
    ]
    assert keysight_lab.awg.log == expected
    assert keysight_lab.awg.errors == type(keysight_lab.awg.errors)()


def test_block_bytes_are_little_endian_and_exact(keysight_lab):
    awg = open_awg(keysight_lab)
    waveform = sine_waveform(640, 250e6, awg.MODEL.dac_bits)
    awg.upload(waveform)
    awg.close()
    raw = keysight_lab.awg.blocks[-1]
    stored = keysight_lab.awg.arbs["SPINECHO"]
    if keysight_lab.awg.model == "33500B":
        assert raw == waveform.codes.astype("<i2").tobytes()
        np.testing.assert_array_equal(stored * 32767, waveform.codes)
    else:
        assert raw == waveform.samples.astype("<f4").tobytes()
        np.testing.assert_array_equal(stored, waveform.samples.astype(np.float32))


def test_trigger_plays_one_burst_at_the_programmed_voltage(keysight_lab):
    awg = open_awg(keysight_lab, amplitude=0.8, offset=0.1)
    waveform = sine_waveform(800, 250e6, awg.MODEL.dac_bits)
    awg.upload(waveform)
    awg.arm()
    awg.trigger()
    awg.close()
    (played,) = keysight_lab.lab.played
    assert played.sample_rate_hz == 250e6
    # float32 transfer on the 33600A: 2**-24 relative rounding of each sample
    np.testing.assert_allclose(played.volts, waveform.samples * 0.4 + 0.1, rtol=0, atol=1e-7)


def test_upload_twice_replaces_the_arb(keysight_lab):
    awg = open_awg(keysight_lab)
    awg.upload(sine_waveform(400, 250e6, awg.MODEL.dac_bits, cycles=3))
    second = sine_waveform(500, 250e6, awg.MODEL.dac_bits, cycles=5)
    awg.upload(second)
    awg.close()
    assert len(keysight_lab.awg.arbs["SPINECHO"]) == 500
    assert not keysight_lab.awg.errors


def _waveform_with(samples: np.ndarray, rate_hz: float, dac_bits: int) -> Waveform:
    return Waveform(rate_hz, samples, dac_bits, np.zeros((1, len(samples)), bool), 4e6, 1e6, ())


REFUSALS = {
    "amplitude-above-bench-limit": (
        {"amplitude": 1.5, "limits": {"amplitude_vpp": 1.0}},
        lambda bits: sine_waveform(400, 250e6, bits),
        "amplitude_vpp = 1.5 Vpp: must be between 0.001 and 1 Vpp",
    ),
    "offset-plus-amplitude-beyond-range": (
        {"amplitude": 8.0, "offset": 2.0, "limits": {"amplitude_vpp": 10.0}},
        lambda bits: sine_waveform(400, 250e6, bits),
        "exceeds the 5 V output range",
    ),
    "too-short": ({}, lambda bits: sine_waveform(4, 250e6, bits), "needs at least"),
    "wrong-sample-rate": ({}, lambda bits: sine_waveform(400, 200e6, bits), "differs from"),
    "sample-rate-above-bench-limit": (
        {"limits": {"amplitude_vpp": 2.0, "sample_rate_hz": 100e6}},
        lambda bits: sine_waveform(400, 250e6, bits),
        "is outside",
    ),
    "wrong-dac-bits": ({}, lambda bits: sine_waveform(400, 250e6, bits + 1), "DAC has"),
    "beyond-full-scale": (
        {},
        lambda bits: _waveform_with(np.full(400, 1.25), 250e6, bits),
        "exceeds full scale",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_refused_waveforms_and_settings_send_nothing(keysight_lab, case):
    options, make, message = REFUSALS[case]
    awg = open_awg(keysight_lab, **options)
    with pytest.raises(InstrumentError) as info:
        awg.upload(make(awg.MODEL.dac_bits))
    awg.close()
    assert "refused" in str(info.value)
    assert message in str(info.value)
    assert info.value.instrument.startswith("awg (keysight-33")
    assert keysight_lab.awg.log == CONNECT


def test_instrument_error_names_the_command_and_the_message(keysight_lab):
    keysight_lab.awg.faults.append(
        Fault("[SOURce#:]VOLTage", "error", error=(-222, "Data out of range;VOLT"))
    )
    awg = open_awg(keysight_lab)
    with pytest.raises(InstrumentError) as info:
        awg.upload(sine_waveform(400, 250e6, awg.MODEL.dac_bits))
    awg.close()
    assert info.value.command == "SOUR1:VOLT 5.000000000E-01"
    assert info.value.instrument_message == '-222, "Data out of range;VOLT"'
    assert "OUTP1 ON" not in keysight_lab.awg.log


def test_connect_refuses_another_instrument(keysight_lab):
    keysight_lab.awg.IDN = "Rigol Technologies,DG1062Z,DG1ZA0000,00.01.14"
    with pytest.raises(InstrumentError, match="not an instrument the keysight-33"):
        open_awg(keysight_lab)


@pytest.mark.parametrize(
    ("amplitude", "offset", "load", "ok"),
    [
        (10.0, 0.0, "50", True),
        (8.0, 1.0, "50", True),
        (8.0, 1.1, "50", False),
        (10.0, 4.9, "INF", True),
        (10.0, 5.1, "INF", False),
    ],
    ids=["full-swing", "at-edge", "beyond", "high-z-doubles", "high-z-beyond"],
)
def test_level_rule(amplitude, offset, load, ok):
    assert (keysight_level_violation(amplitude, offset, load) is None) == ok


def test_constraints_are_tightened_by_the_bench():
    config = awg_config("keysight-33600a", None, limits={"sample_rate_hz": 300e6})
    awg = Keysight33600A(config, transport=None)
    constraints = awg.constraints()
    assert constraints.sample_rate_max_hz == 300e6
    assert constraints.dac_bits == 14
    assert constraints.min_length == 32
    assert constraints.max_length == 4_000_000


SIM = "keysight-trueform.yaml"
SIM_DEVICES = {
    "keysight-33600a": (Keysight33600A, "TCPIP::trueform.sim::INSTR"),
    "keysight-33500b": (Keysight33500B, "TCPIP::trueform-b.sim::INSTR"),
}


@pytest.mark.parametrize("driver", list(SIM_DEVICES), ids=list(SIM_DEVICES))
def test_simulated_instrument_has_the_drivers_limits(driver):
    assert_sim_specs_match(SIM, driver, SIM_DEVICES[driver][0].SETTINGS)


@pytest.mark.parametrize("driver", list(SIM_DEVICES), ids=list(SIM_DEVICES))
def test_text_dialogue_on_pyvisa_sim(driver):
    cls, resource = SIM_DEVICES[driver]
    config = sim_config("awg", driver, SIM, resource, sample_rate=2e8, amplitude=0.25, offset=-0.1)
    awg = cls(config, open_transport(config))
    awg.connect()
    awg.configure()
    awg._waveform_length = 100
    awg.arm()
    awg.trigger()
    assert float(awg.query("SOUR1:VOLT?")) == 0.25
    assert float(awg.query("SOUR1:VOLT:OFFS?")) == -0.1
    assert float(awg.query("SOUR1:FUNC:ARB:SRAT?")) == 2e8
    assert awg.query("TRIG1:SOUR?") == "BUS"
    assert awg.query("SOUR1:BURS:STAT?") == "ON"
    assert awg.query("OUTP1?") == "ON"
    assert awg.query("SYST:ERR?") == '+0,"No error"'
    awg.close()


def test_simulator_refuses_what_the_model_cannot_do():
    """The simulated instrument is not looser than the driver: beyond 10 Vpp is an error."""
    config = sim_config(
        "awg", "keysight-33600a", SIM, "TCPIP::trueform.sim::INSTR", sample_rate=1e8, amplitude=0.5
    )
    awg = Keysight33600A(config, open_transport(config))
    awg.write("SOUR1:VOLT 1.2E+01")
    with pytest.raises(InstrumentError, match="-113"):
        awg.complete("SOUR1:VOLT 1.2E+01")
    awg.close()


def test_bench_limit_refusal_leaves_the_simulator_untouched():
    resource = "TCPIP::trueform.sim::INSTR"
    options = {"sample_rate": 1e8, "amplitude": 0.5}
    config = sim_config("awg", "keysight-33600a", SIM, resource, **options)
    awg = Keysight33600A(config, open_transport(config))
    awg.connect()
    awg.configure()
    tight = sim_config(
        "awg", "keysight-33600a", SIM, resource, **options, limits={"amplitude_vpp": 0.3}
    )
    limited = Keysight33600A(tight, open_transport(tight))
    with pytest.raises(InstrumentError, match="refused, not sent"):
        limited.configure()
    assert float(awg.query("SOUR1:VOLT?")) == 0.5
    limited.close()
    awg.close()
