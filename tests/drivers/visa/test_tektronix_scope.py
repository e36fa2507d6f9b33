"""Tektronix MSO driver: emulator over TCP (CURV? blocks, both encodings) and pyvisa-sim."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.drivers.emulated.server import Fault, ScpiServer
from spin_echo.drivers.emulated.tektronix import EmulatedTekScope
from spin_echo.drivers.emulated.wiring import AwgOutput, EmulatedLab
from spin_echo.drivers.interface import InstrumentError
from spin_echo.drivers.visa.scpi import open_transport
from spin_echo.drivers.visa.tektronix_scope import TektronixScope
from tests.drivers.conftest import (
    assert_sim_specs_match,
    scope_config,
    sim_config,
    wait_recorded,
)

pytestmark = pytest.mark.timeout(30)


def confirmed(command: str) -> list[str]:
    return [command, "*OPC?", "*ESR?"]


@pytest.fixture
def mso():
    lab = EmulatedLab()
    instrument = EmulatedTekScope(lab)
    with ScpiServer(instrument) as server:
        yield lab, instrument, server.resource


def open_scope(resource, **options):
    config = scope_config("tektronix-mso", resource, **{"points": 1000, **options})
    scope = TektronixScope(config, open_transport(config))
    scope.connect()
    return scope


@pytest.mark.parametrize("byte_order", ["LSB", "MSB"], ids=["sri", "rib"])
def test_traffic_and_scaling(mso, byte_order):
    lab, instrument, resource = mso
    scope = open_scope(resource, byte_order=byte_order, points=1000, range=2.0)
    output = AwgOutput(1e9, np.linspace(-1.0, 1.0, 5000), 1.6, 0.0)
    scope.arm(1e-6, 2e-6)
    lab.play(output)
    wait_recorded(instrument)
    trace = scope.acquire()
    scope.close()
    assert instrument.log == [
        "*IDN?",
        *confirmed("*CLS"),
        *confirmed("HEAD OFF"),
        *confirmed("DAT:SOU CH1"),
        *confirmed("DAT:ENC " + ("SRI" if byte_order == "LSB" else "RIB")),
        *confirmed("WFMO:BYT_N 2"),
        *confirmed("DAT:STAR 1"),
        *confirmed("DAT:STOP 1000"),
        *confirmed("HOR:MODE MAN"),
        *confirmed("HOR:RECO 1000"),
        *confirmed("CH1:SCA 2.000000000E-01"),
        *confirmed("TRIG:A:EDGE:SOU AUX"),
        *confirmed("TRIG:A:LEV:AUX 1.000000000E+00"),
        *confirmed("ACQ:STOPA SEQ"),
        *confirmed("HOR:DEL:MOD ON"),
        *confirmed("HOR:POS 0"),
        *confirmed("HOR:DEL:TIM 1.000000000E-06"),
        *confirmed("HOR:SCA 2.000000000E-07"),
        "ACQ:STATE ON",
        "TRIG:STATE?",
        "ACQ:STATE?",
        "*OPC?",
        "*ESR?",
        "WFMO:NR_P?",
        "WFMO:XIN?",
        "WFMO:XZE?",
        "WFMO:PT_O?",
        "WFMO:YMU?",
        "WFMO:YOF?",
        "WFMO:YZE?",
        "CURV?",
        "*OPC?",
        "*ESR?",
    ]
    times = 1e-6 + 2e-9 * np.arange(1000)
    np.testing.assert_allclose(trace.time_s, times, rtol=0, atol=1e-15)
    expected = output.volts[np.floor(times * 1e9 + 1e-6).astype(int)]
    quantum = 2.0 / 64000  # YMULT at 0.2 V/div
    np.testing.assert_allclose(trace.values, expected, rtol=0, atol=quantum / 2 + 1e-12)


def test_error_bits_fetch_the_event_messages(mso):
    _, instrument, resource = mso
    instrument.faults.append(
        Fault("HORizontal:DELay:TIMe", "error", error=(-222, "Data out of range"))
    )
    scope = open_scope(resource)
    with pytest.raises(InstrumentError) as info:
        scope.arm(0.0, 1e-6)
    scope.close()
    assert info.value.command == "HOR:DEL:TIM 0.000000000E+00"
    assert info.value.instrument_message == (
        '*ESR? bit 4: execution error (parameter out of range); ALLEV? -222,"Data out of range"'
    )


def test_no_trigger_is_reported(mso):
    _, _, resource = mso
    scope = open_scope(resource)
    scope.arm(0.0, 1e-6)
    with pytest.raises(InstrumentError, match="no trigger"):
        scope.acquire()
    scope.close()


SIM = "tektronix-mso.yaml"


def test_simulated_scope_has_the_drivers_limits():
    assert_sim_specs_match(SIM, "tektronix-mso", TektronixScope.SETTINGS)


def test_scaling_on_pyvisa_sim():
    config = sim_config("detector", "tektronix-mso", SIM, "TCPIP::mso.sim::INSTR", points=1000)
    scope = TektronixScope(config, open_transport(config))
    scope.connect()
    scope.arm(1e-6, 4e-6)
    trace = scope.acquire()
    assert float(scope.query("HOR:SCA?")) == 4e-7
    scope.close()
    # "#14ABCD" = 16961, 17475 (SRI little-endian); YOFF 16961, YMULT 1e-4, YZERO 0.5;
    # XZERO 1 us, XINCR 2 ns, PT_OFF 0
    np.testing.assert_allclose(trace.values, [0.5, 0.5 + 514e-4], rtol=1e-12)
    np.testing.assert_allclose(trace.time_s, [1e-6, 1.002e-6], rtol=1e-12)
