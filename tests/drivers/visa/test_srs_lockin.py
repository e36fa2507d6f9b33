"""SR830 / SR860 drivers: exact traffic at the TCP emulator, text dialogues on pyvisa-sim."""

from __future__ import annotations

import math

import pytest

from spin_echo.drivers.config import InstrumentConfig
from spin_echo.drivers.emulated.server import ScpiServer
from spin_echo.drivers.emulated.srs import EmulatedLockIn
from spin_echo.drivers.interface import InstrumentError
from spin_echo.drivers.visa.scpi import open_transport
from spin_echo.drivers.visa.srs_lockin import SR830, SR860
from tests.drivers.conftest import TIMEOUT_S, assert_sim_specs_match, sim_config

pytestmark = pytest.mark.timeout(30)

SIM = "srs-lockins.yaml"
MODELS = {"SR830": SR830, "SR860": SR860}


def emulated(model: str, resource: str, phase_rad: float) -> InstrumentConfig:
    return InstrumentConfig(
        "lockin", MODELS[model].DRIVER, resource, TIMEOUT_S, options={"phase": phase_rad}
    )


EXPECTED = {
    "SR830": [
        "OUTX 1",
        "*ESR?",
        "*IDN?",
        "*CLS",
        "*ESR?",
        "PHAS 9.000000000E+01",
        "*ESR?",
        "SNAP? 1,2,3,4",
        "*ESR?",
    ],
    "SR860": [
        "*IDN?",
        "*CLS",
        "*OPC?",
        "*ESR?",
        "PHAS 9.000000000E+01",
        "*OPC?",
        "*ESR?",
        "SNAP? 0,1,3",
        "*OPC?",
        "*ESR?",
    ],
}


@pytest.mark.parametrize("model", list(MODELS), ids=list(MODELS))
def test_exact_traffic_and_reading(model):
    instrument = EmulatedLockIn(model, x_v=1e-6, y_v=2e-6)
    with ScpiServer(instrument) as server:
        lockin = MODELS[model](emulated(model, server.resource, math.pi / 2), None)
        lockin._transport = open_transport(lockin.config)
        lockin.connect()
        reading = lockin.read()
        lockin.close()
    assert instrument.log == EXPECTED[model]
    # input phasor (1 + 2i) uV seen with a 90 deg reference phase: (2 - 1i) uV
    assert reading.x_v == pytest.approx(2e-6, rel=1e-6)
    assert reading.y_v == pytest.approx(-1e-6, rel=1e-6)
    assert reading.r_v == pytest.approx(math.sqrt(5) * 1e-6, rel=1e-6)
    assert reading.theta_rad == pytest.approx(math.atan2(-1, 2), rel=1e-6)


def test_phase_beyond_the_model_is_refused_before_sending():
    instrument = EmulatedLockIn("SR830")
    with ScpiServer(instrument) as server:
        lockin = SR830(emulated("SR830", server.resource, math.radians(800)), None)
        lockin._transport = open_transport(lockin.config)
        with pytest.raises(InstrumentError, match=r"phase_deg = 800 deg: must be between -360"):
            lockin.connect()
        lockin.close()
    assert not any(entry.startswith("PHAS") for entry in instrument.log)


SIM_RESOURCES = {"SR830": "GPIB0::8::INSTR", "SR860": "TCPIP::sr860.sim::INSTR"}


@pytest.mark.parametrize("model", list(MODELS), ids=list(MODELS))
def test_simulated_lockins_have_the_drivers_limits(model):
    assert_sim_specs_match(SIM, MODELS[model].DRIVER, MODELS[model].SETTINGS)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("SR830", (1.0e-06, -2.5e-07, 1.030776e-06, math.radians(-14.036243))),
        ("SR860", (3.0e-03, 4.0e-03, 5.0e-03, math.radians(53.130102))),
    ],
    ids=list(MODELS),
)
def test_reading_on_pyvisa_sim(model, expected):
    config = sim_config("lockin", MODELS[model].DRIVER, SIM, SIM_RESOURCES[model])
    lockin = MODELS[model](config, open_transport(config))
    lockin.connect()
    reading = lockin.read()
    assert float(lockin.query("PHAS?")) == 0.0
    lockin.close()
    got = (reading.x_v, reading.y_v, reading.r_v, reading.theta_rad)
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("model", list(MODELS), ids=list(MODELS))
def test_esr_reports_a_command_error(model):
    config = sim_config("lockin", MODELS[model].DRIVER, SIM, SIM_RESOURCES[model])
    lockin = MODELS[model](config, open_transport(config))
    lockin.connect()
    with pytest.raises(InstrumentError) as info:
        lockin.send("BOGUS 1")
    lockin.close()
    assert info.value.command == "BOGUS 1"
    assert info.value.instrument_message == "*ESR? bit 5: command error (not understood)"
