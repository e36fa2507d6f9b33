"""Tektronix AWG5200/AWG70000 driver: emulator over TCP (blocks) and pyvisa-sim (text)."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.drivers.config import InstrumentConfig
from spin_echo.drivers.emulated.server import Fault, ScpiServer
from spin_echo.drivers.emulated.tektronix import EmulatedTekAwg
from spin_echo.drivers.emulated.wiring import EmulatedLab
from spin_echo.drivers.interface import InstrumentError
from spin_echo.drivers.visa.scpi import open_transport
from spin_echo.drivers.visa.tektronix_awg import TektronixAWG5200, TektronixAWG70000
from spin_echo.sequences.timeline import Waveform
from tests.drivers.conftest import TIMEOUT_S, assert_sim_specs_match, sim_config

pytestmark = pytest.mark.timeout(30)

MODELS = {"AWG5200": TektronixAWG5200, "AWG70000": TektronixAWG70000}


def confirmed(command: str) -> list[str]:
    return [command, "*OPC?", "SYST:ERR?"]


@pytest.fixture(params=list(MODELS), ids=list(MODELS))
def tek(request):
    lab = EmulatedLab()
    instrument = EmulatedTekAwg(lab, request.param)
    with ScpiServer(instrument) as server:
        yield lab, instrument, server.resource


def open_awg(instrument, resource, **options):
    cls = MODELS[instrument.model]
    values = {
        "channel": 1,
        "sample_rate": 1e9,
        "amplitude": 0.5,
        "trigger_input": "ATR",
        "trigger": "BUS",
    }
    values.update(options)
    config = InstrumentConfig("awg", cls.DRIVER, resource, TIMEOUT_S, options=values)
    awg = cls(config, open_transport(config))
    awg.connect()
    return awg


def waveform(n: int, bits: int) -> Waveform:
    full = 2 ** (bits - 1) - 1
    samples = np.rint(full * 0.8 * np.sin(np.arange(n) / 5.0)) / full
    markers = np.zeros((2, n), dtype=bool)
    markers[0, :10] = True
    markers[1, 100:200] = True
    return Waveform(1e9, samples, bits, markers, 4e6, 1e6, ())


def test_upload_arm_trigger_traffic_and_bytes(tek):
    lab, instrument, resource = tek
    awg = open_awg(instrument, resource)
    wf = waveform(1000, awg.MODEL.dac_bits)
    awg.upload(wf)
    awg.upload(wf)
    awg.arm()
    awg.trigger()
    awg.close()
    upload = [
        *confirmed("OUTP1 OFF"),
        *confirmed("AWGC:STOP:IMM"),
        "WLIS:LIST?",
    ]
    rest = [
        *confirmed('WLIS:WAV:NEW "SPINECHO",1000'),
        *confirmed('WLIS:WAV:DATA "SPINECHO",0,1000,#44000<4000 bytes>'),
        *confirmed('WLIS:WAV:MARK:DATA "SPINECHO",0,1000,#41000<1000 bytes>'),
        *confirmed('SOUR1:CASS:WAV "SPINECHO"'),
        *confirmed("CLOC:SRAT 1.000000000E+09"),
        *confirmed("SOUR1:VOLT:AMPL 5.000000000E-01"),
        *confirmed("SOUR1:RMOD TRIG"),
        *confirmed("SOUR1:TINP ATR"),
    ]
    assert instrument.log == [
        "*IDN?",
        *confirmed("*CLS"),
        "WLIS:WAV:LMIN?",
        "WLIS:WAV:LMAX?",
        "WLIS:WAV:GRAN?",
        "*OPC?",
        "SYST:ERR?",
        *upload,
        *rest,
        *upload,
        *confirmed('WLIS:WAV:DEL "SPINECHO"'),
        *rest,
        *confirmed("OUTP1 ON"),
        *confirmed("AWGC:RUN:IMM"),
        "AWGC:RST?",
        *confirmed("TRIG:IMM ATR"),
    ]
    data, markers = instrument.blocks[-2:]
    assert data == wf.samples.astype("<f4").tobytes()
    bits = {"AWG5200": (0, 1), "AWG70000": (6, 7)}[instrument.model]
    expected = (wf.markers[0].astype(np.uint8) << bits[0]) | (
        wf.markers[1].astype(np.uint8) << bits[1]
    )
    assert markers == expected.tobytes()
    (played,) = lab.played
    np.testing.assert_allclose(played.volts, wf.samples * 0.25, rtol=0, atol=1e-8)
    assert not instrument.errors


def test_constraints_follow_the_instruments_waveform_list(tek):
    _, instrument, resource = tek
    instrument.limits = (2400, 1_000_000, 4)
    awg = open_awg(instrument, resource)
    constraints = awg.constraints()
    awg.close()
    assert (constraints.min_length, constraints.max_length, constraints.length_step) == (
        2400,
        1_000_000,
        4,
    )


def test_refused_amplitude_sends_nothing(tek):
    _, instrument, resource = tek
    awg = open_awg(instrument, resource, amplitude=0.9)
    count = len(instrument.log)
    with pytest.raises(InstrumentError, match=r"amplitude_vpp = 0\.9 Vpp: must be between"):
        awg.upload(waveform(1000, awg.MODEL.dac_bits))
    awg.close()
    assert len(instrument.log) == count


def test_instrument_error_names_its_command(tek):
    _, instrument, resource = tek
    instrument.faults.append(Fault("CLOCk:SRATe", "error", error=(-222, "Data out of range")))
    awg = open_awg(instrument, resource)
    with pytest.raises(InstrumentError) as info:
        awg.upload(waveform(1000, awg.MODEL.dac_bits))
    awg.close()
    assert info.value.command == "CLOC:SRAT 1.000000000E+09"
    assert info.value.instrument_message == '-222, "Data out of range"'


SIM = "tektronix-awg.yaml"
SIM_RESOURCES = {"AWG5200": "TCPIP::awg5200.sim::INSTR", "AWG70000": "TCPIP::awg70000.sim::INSTR"}


@pytest.mark.parametrize("model", list(MODELS), ids=list(MODELS))
def test_simulated_awgs_have_the_drivers_limits(model):
    assert_sim_specs_match(SIM, MODELS[model].DRIVER, MODELS[model].SETTINGS)


@pytest.mark.parametrize("model", list(MODELS), ids=list(MODELS))
def test_text_dialogue_on_pyvisa_sim(model):
    cls = MODELS[model]
    config = sim_config(
        "awg", cls.DRIVER, SIM, SIM_RESOURCES[model], sample_rate=1e9, amplitude=0.4
    )
    awg = cls(config, open_transport(config))
    awg.connect()
    awg.configure()
    awg._uploaded = True
    awg.arm()
    awg.trigger()
    assert float(awg.query("CLOC:SRAT?")) == 1e9
    assert float(awg.query("SOUR1:VOLT:AMPL?")) == 0.4
    assert awg.query("SOUR1:RMOD?") == "TRIG"
    assert awg.query("OUTP1?") == "ON"
    constraints = awg.constraints()
    awg.close()
    assert constraints.length_step == (1 if model == "AWG5200" else 2)
