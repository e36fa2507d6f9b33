"""Keysight InfiniiVision driver against the emulated scope over a real TCP socket."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.drivers.emulated.server import Fault
from spin_echo.drivers.emulated.wiring import AwgOutput
from spin_echo.drivers.interface import InstrumentError
from spin_echo.drivers.visa.keysight_scope import KeysightInfiniiVision
from spin_echo.drivers.visa.scpi import open_transport
from tests.drivers.conftest import (
    TIMEOUT_S,
    assert_sim_specs_match,
    scope_config,
    sim_config,
    wait_recorded,
)

pytestmark = pytest.mark.timeout(30)


def confirmed(command: str) -> list[str]:
    return [command, "*OPC?", ":SYST:ERR?"]


#: One acquisition after arming: single, armed?, finished?, errors, preamble, data, errors.
SHOT = [
    ":SING",
    ":AER?",
    ":OPER:COND?",
    "*OPC?",
    ":SYST:ERR?",
    ":WAV:PRE?",
    ":WAV:DATA?",
    "*OPC?",
    ":SYST:ERR?",
]


def open_scope(lab, **options) -> KeysightInfiniiVision:
    config = scope_config("keysight-infiniivision", lab.scope_resource, **options)
    scope = KeysightInfiniiVision(config, open_transport(config))
    scope.connect()
    return scope


def ramp_output(n: int = 4000, rate_hz: float = 1e9) -> AwgOutput:
    """A burst whose voltage is a ramp from -0.4 V to +0.4 V (plus 10 mV offset)."""
    return AwgOutput(rate_hz, np.linspace(-1.0, 1.0, n), 0.8, 0.01)


def shot(lab, scope, start_s: float, duration_s: float, output: AwgOutput):
    scope.arm(start_s, duration_s)
    lab.lab.play(output)
    wait_recorded(lab.scope)
    return scope.acquire()


@pytest.mark.parametrize("byte_order", ["LSB", "MSB"], ids=["lsb-first", "msb-first"])
def test_traffic_and_scaling(scope_lab, byte_order):
    scope = open_scope(scope_lab, byte_order=byte_order, points=500)
    output = ramp_output()
    trace = shot(scope_lab, scope, 1e-6, 2e-6, output)
    second = shot(scope_lab, scope, 1e-6, 2e-6, output)
    scope.close()
    word = "LSBF" if byte_order == "LSB" else "MSBF"
    assert scope_lab.scope.log == [
        "*IDN?",
        *confirmed("*CLS"),
        *confirmed(":WAV:SOUR CHAN1"),
        *confirmed(":WAV:FORM WORD"),
        *confirmed(f":WAV:BYT {word}"),
        *confirmed(":WAV:UNS 0"),
        *confirmed(":WAV:POIN:MODE RAW"),
        *confirmed(":WAV:POIN 500"),
        *confirmed(":CHAN1:RANG 1.000000000E+00"),
        *confirmed(":TIM:REF LEFT"),
        *confirmed(":TRIG:MODE EDGE"),
        *confirmed(":TRIG:EDGE:SOUR EXT"),
        *confirmed(":TRIG:EDGE:LEV 1.000000000E+00"),
        *confirmed(":TRIG:SWE NORM"),
        *confirmed(":TIM:RANG 2.000000000E-06"),
        *confirmed(":TIM:POS 1.000000000E-06"),
        *SHOT,
        *SHOT,  # same window: no time-base commands on the second shot
    ]
    # the loopback puts the AWG voltage on the input: a ramp, sampled every 4 ns from 1 us
    expected_t = 1e-6 + 4e-9 * np.arange(500)
    np.testing.assert_allclose(trace.time_s, expected_t, rtol=0, atol=1e-15)
    expected_v = output.volts[np.floor(expected_t * 1e9 + 1e-6).astype(int)]
    quantum = 1.0 / 64000  # yincrement of WORD data at 1 V range
    assert trace.units == "V"
    np.testing.assert_allclose(trace.values, expected_v, rtol=0, atol=quantum / 2 + 1e-12)
    np.testing.assert_array_equal(second.values, trace.values)


def test_new_window_rewrites_the_time_base(scope_lab):
    scope = open_scope(scope_lab)
    shot(scope_lab, scope, 0.0, 1e-6, ramp_output())
    scope_lab.scope.log.clear()
    trace = shot(scope_lab, scope, 2e-6, 1e-6, ramp_output())
    scope.close()
    assert scope_lab.scope.log[:6] == [
        *confirmed(":TIM:RANG 1.000000000E-06"),
        *confirmed(":TIM:POS 2.000000000E-06"),
    ]
    assert trace.time_s[0] == pytest.approx(2e-6, abs=1e-18)


FAULTS = {
    "hang-on-data": (Fault(":WAVeform:DATA?", "hang"), ":WAV:DATA?", "no reply within"),
    "drop-on-preamble": (Fault(":WAVeform:PREamble?", "drop"), ":WAV:PRE?", ""),
    "instrument-error": (
        Fault(":WAVeform:PREamble?", "error", error=(-222, "Data out of range")),
        ":WAV:DATA?",
        '-222, "Data out of range"',
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_faults_mid_acquisition_raise_instrument_errors(scope_lab, fault):
    injected, command, message = FAULTS[fault]
    scope = open_scope(scope_lab)
    scope_lab.scope.faults.append(injected)
    with pytest.raises(InstrumentError) as info:
        shot(scope_lab, scope, 0.0, 1e-6, ramp_output())
    scope.close()
    assert info.value.command == command
    assert message in info.value.instrument_message
    assert info.value.instrument.startswith("detector (keysight-infiniivision at TCPIP::127.0.0.1")


def test_no_trigger_times_out_waiting(scope_lab):
    scope = open_scope(scope_lab)
    scope.arm(0.0, 1e-6)
    with pytest.raises(InstrumentError) as info:
        scope.acquire()
    scope.close()
    assert info.value.command == ":OPER:COND?"
    assert f"still '8' after {TIMEOUT_S:g} s: no trigger" in info.value.instrument_message


def test_dropped_link_then_write_says_so(scope_lab):
    scope = open_scope(scope_lab)
    scope_lab.scope.faults.append(Fault(":SINGle", "drop"))
    with pytest.raises(InstrumentError):
        shot(scope_lab, scope, 0.0, 1e-6, ramp_output())
    with pytest.raises(InstrumentError) as info:
        for _ in range(5):
            scope.arm(0.0, 1e-6)
    scope.close()
    assert info.value.instrument.startswith("detector (keysight-infiniivision")


def test_range_beyond_model_is_refused_before_sending(scope_lab):
    config = scope_config("keysight-infiniivision", scope_lab.scope_resource, range=50.0)
    scope = KeysightInfiniiVision(config, open_transport(config))
    with pytest.raises(InstrumentError, match=r"range_v = 50 V: must be between 0\.008 and 40 V"):
        scope.connect()
    scope.close()
    assert ":WAV:SOUR CHAN1" not in scope_lab.scope.log


def test_acquire_without_arm_is_an_error(scope_lab):
    scope = open_scope(scope_lab)
    with pytest.raises(InstrumentError, match="not armed"):
        scope.acquire()
    scope.close()


SIM = "keysight-infiniivision.yaml"


def test_simulated_scope_has_the_drivers_limits():
    assert_sim_specs_match(SIM, "keysight-infiniivision", KeysightInfiniiVision.SETTINGS)


def test_text_dialogue_and_scaling_on_pyvisa_sim():
    config = sim_config(
        "detector", "keysight-infiniivision", SIM, "TCPIP::infiniivision.sim::INSTR", points=2
    )
    with pytest.raises(InstrumentError, match="points = 2"):
        KeysightInfiniiVision(config, open_transport(config)).connect()
    config = sim_config(
        "detector", "keysight-infiniivision", SIM, "TCPIP::infiniivision.sim::INSTR", points=200
    )
    scope = KeysightInfiniiVision(config, open_transport(config))
    scope.connect()
    scope.arm(5e-7, 2e-7)
    trace = scope.acquire()
    assert scope.query(":TIM:POS?") == "5.000000000E-07"
    scope.close()
    # "#14ABCD": little-endian int16 0x4241 = 16961 and 0x4443 = 17475; preamble yinc 1 mV,
    # yorigin 10 mV, yref 0; xinc 1 ns, xorigin 500 ns, xref 0
    np.testing.assert_allclose(trace.values, [16.961 + 0.01, 17.475 + 0.01], rtol=1e-12)
    np.testing.assert_allclose(trace.time_s, [5e-7, 5.01e-7], rtol=1e-12)
