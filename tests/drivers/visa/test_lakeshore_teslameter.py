"""Lake Shore F41/F71 teslameter: exact traffic at the TCP emulator, dialogues on pyvisa-sim."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.drivers.bench import load_bench, open_bench
from spin_echo.drivers.config import InstrumentConfig
from spin_echo.drivers.emulated.lakeshore import EmulatedTeslameter
from spin_echo.drivers.emulated.server import ScpiServer
from spin_echo.drivers.emulated.wiring import AwgOutput, EmulatedLab
from spin_echo.drivers.interface import InstrumentError
from spin_echo.drivers.visa.lakeshore_teslameter import LakeShoreF41, LakeShoreF71
from spin_echo.drivers.visa.scpi import open_transport
from tests.drivers.conftest import TIMEOUT_S, assert_sim_specs_match, sim_config

pytestmark = pytest.mark.timeout(30)

SIM = "lakeshore-teslameter.yaml"
CONFIRM = ["*OPC?", "SYSTem:ERRor:ALL?"]
POLL = ["FETCh:BUFFer:DC?", *CONFIRM]


class StepClock:
    """The emulator's clock: each reading of it is ``step_s`` later than the one before."""

    def __init__(self, step_s: float) -> None:
        self.now, self.step_s = 0.0, step_s

    def __call__(self) -> float:
        self.now += self.step_s
        return self.now


def config(resource: str, model=LakeShoreF71, **options) -> InstrumentConfig:
    values = {"axis": "X", "range": 0.035, "averaging": 1, "readings": 2, **options}
    return InstrumentConfig("detector", model.DRIVER, resource, TIMEOUT_S, options=values)


def connected(model, resource: str, **options):
    driver = model(config(resource, model, **options), None)
    driver._transport = open_transport(driver.config)
    driver.connect()
    return driver


def test_exact_traffic_and_readings_that_began_after_the_trigger():
    # B = 0.1 mT + 2 mT/unit * m, m = -0.2 before the burst and 0.5 after it: 1.1 mT after.
    # The clock moves 2 ms per look, so the window in progress when the driver empties the
    # buffer began before the burst (a mix of -0.3 and 1.1 mT): the driver must drop it.
    lab = EmulatedLab()
    meter = EmulatedTeslameter(
        lab,
        "F71",
        magnetisation=lambda output: 0.5,
        equilibrium=-0.2,
        tesla_per_unit_t=2e-3,
        background_t=1e-4,
        clock=StepClock(0.002),
    )
    with ScpiServer(meter) as server:
        driver = connected(LakeShoreF71, server.resource)
        driver.arm(1e-6, 1e-6)
        lab.play(AwgOutput(1e6, np.zeros(4), 1.0, 0.0))
        trace = driver.acquire()
        driver.close()
    assert meter.log == [
        "*IDN?",
        "*CLS",
        *CONFIRM,
        "SENSe:MODE DC",
        *CONFIRM,
        "UNIT:FIELD TESLA",
        *CONFIRM,
        "SENSe:RANGe:AUTO 0",
        *CONFIRM,
        "SENSe:RANGe 3.500000000E-02",
        *CONFIRM,
        "SENSe:AVERage:COUNt 1",
        *CONFIRM,
        *POLL * 14,
    ]
    np.testing.assert_allclose(trace.values, [1.1e-3, 1.1e-3], rtol=1e-9)
    np.testing.assert_allclose(trace.time_s, [0.01, 0.02], rtol=1e-12)
    assert trace.units == "T"


def test_reads_back_its_settings_and_refuses_a_range_beyond_the_model():
    meter = EmulatedTeslameter(EmulatedLab(), "F41")
    with ScpiServer(meter) as server:
        driver = connected(LakeShoreF41, server.resource, range=0.02, averaging=5)
        read = {r.name: r.read for r in driver.read_back()}
        with pytest.raises(InstrumentError, match=r"range_t = 40 T: must be between 0.001 and 35"):
            driver.apply_all([("range_t", 40.0)])
        driver.close()
    # the instrument takes the lowest range that holds 20 mT
    assert read == {
        "mode": "DC",
        "field_unit": "TESLA",
        "auto_range": 0,
        "range_t": 0.035,
        "averaging": 5,
    }
    assert "SENSe:RANGe 4.000000000E+01" not in meter.log


def test_an_instrument_error_names_the_command():
    meter = EmulatedTeslameter(EmulatedLab(), "F71", clock=StepClock(0.011))
    with ScpiServer(meter) as server:
        driver = connected(LakeShoreF71, server.resource)
        meter.mode = "AC"  # someone turned the knob: the buffer holds no DC readings
        driver.arm(0.0, 1e-6)
        with pytest.raises(InstrumentError, match=r"'FETCh:BUFFer:DC\?'.*-221.*Settings conflict"):
            driver.acquire()
        driver.close()


def test_simulated_teslameter_has_the_drivers_limits():
    assert_sim_specs_match(SIM, "lakeshore-f71", LakeShoreF71.SETTINGS)


def test_text_dialogue_on_pyvisa_sim():
    resource = "TCPIP::f71.sim::5025::SOCKET"
    cfg = sim_config("detector", "lakeshore-f71", SIM, resource, averaging=1, readings=1)
    meter = LakeShoreF71(cfg, open_transport(cfg))
    meter.connect()
    meter.arm(0.0, 1e-6)
    trace = meter.acquire()
    meter.close()
    # every buffer query answers 1.1 mT then 1.3 mT; the first reading is dropped
    np.testing.assert_allclose(trace.values, [1.3e-3], rtol=1e-12)


def test_dry_run_lists_the_traffic_and_reads_back_what_was_sent(tmp_path):
    bench_file = tmp_path / "f71.yaml"
    bench_file.write_text(
        "name: f71\n"
        'awg: {driver: keysight-33600a, resource: "TCPIP::10.0.0.20::INSTR", '
        "sample_rate: 250 MHz, amplitude: 1 V}\n"
        'detector: {driver: lakeshore-f71, resource: "TCPIP::10.0.0.22::7777::SOCKET", '
        "averaging: 2}\n"
        "magnetometer: {tesla_per_unit: 2 mT, per: normalised}\n"
    )
    lines: list[str] = []
    with open_bench(load_bench(bench_file), dry_run=lines.append) as bench:
        read = bench.detector.read_back()
        bench.detector.arm(0.0, 1e-6)
        trace = bench.detector.acquire()
    assert [r.name for r in read if r.agrees] == [
        "mode",
        "field_unit",
        "auto_range",
        "range_t",
        "averaging",
    ]
    assert "detector> SENSe:AVERage:COUNt 2" in lines
    assert lines[-6:] == [f"detector> {c}" for c in POLL * 2]
    np.testing.assert_array_equal(trace.values, [0.0])
