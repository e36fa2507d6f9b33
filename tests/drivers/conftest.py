"""Shared fixtures: emulated instruments on real sockets of 127.0.0.1, driver configs, waveforms."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from spin_echo.drivers.bench import DRIVERS
from spin_echo.drivers.config import InstrumentConfig
from spin_echo.drivers.emulated.keysight import EmulatedInfiniiVision, EmulatedTrueform
from spin_echo.drivers.emulated.server import ScpiServer
from spin_echo.drivers.emulated.wiring import EmulatedLab
from spin_echo.drivers.settings import Range, Setting
from spin_echo.sequences.timeline import DetectWindow, Waveform

#: VISA timeout of every socket test, seconds (short: fault tests wait for it).
TIMEOUT_S = 0.5


@dataclass
class KeysightLab:
    lab: EmulatedLab
    awg: EmulatedTrueform
    scope: EmulatedInfiniiVision
    awg_resource: str
    scope_resource: str


def _serve(model: str) -> Iterator[KeysightLab]:
    lab = EmulatedLab()
    awg = EmulatedTrueform(lab, model)
    scope = EmulatedInfiniiVision(lab)
    with ScpiServer(awg) as awg_server, ScpiServer(scope) as scope_server:
        yield KeysightLab(lab, awg, scope, awg_server.resource, scope_server.resource)


@pytest.fixture(params=["33600A", "33500B"], ids=["33600A", "33500B"])
def keysight_lab(request) -> Iterator[KeysightLab]:
    """Emulated Trueform AWG (each model) and InfiniiVision scope, on sockets."""
    yield from _serve(request.param)


@pytest.fixture
def scope_lab() -> Iterator[KeysightLab]:
    """Emulated 33600A and InfiniiVision scope, on sockets."""
    yield from _serve("33600A")


def awg_config(
    driver: str, resource: str | None, *, limits=None, timeout_s=TIMEOUT_S, **options
) -> InstrumentConfig:
    values = {
        "channel": 1,
        "sample_rate": 250e6,
        "amplitude": 0.5,
        "offset": 0.0,
        "load": "50",
        "trigger": "BUS",
    }
    values.update(options)
    return InstrumentConfig(
        role="awg",
        driver=driver,
        resource=resource,
        timeout_s=timeout_s,
        limits=dict(limits or {"amplitude_vpp": 2.0}),
        options=values,
    )


def scope_config(driver: str, resource: str | None, *, timeout_s=TIMEOUT_S, **options):
    values = {"channel": 1, "points": 500, "range": 1.0, "trigger_level": 1.0, "byte_order": "LSB"}
    values.update(options)
    return InstrumentConfig(
        role="detector",
        driver=driver,
        resource=resource,
        timeout_s=timeout_s,
        limits={},
        options=values,
    )


def sine_waveform(n: int, rate_hz: float, dac_bits: int, *, cycles: float = 7.0) -> Waveform:
    """A quantised sine burst with a trigger marker at sample 0 and one detect window."""
    full = 2 ** (dac_bits - 1) - 1
    codes = np.rint(0.9 * full * np.sin(2 * np.pi * cycles * np.arange(n) / n))
    markers = np.zeros((1, n), dtype=bool)
    markers[0, :4] = True
    window = DetectWindow(start_s=n / rate_hz / 2, duration_s=n / rate_hz / 4, points=64)
    return Waveform(rate_hz, codes / full, dac_bits, markers, 4e6, 1e6, (window,))


SIM_DIR = Path(__file__).resolve().parents[2] / "drivers" / "sim"


def sim_config(role: str, driver: str, sim_file: str, resource: str, **options) -> InstrumentConfig:
    """A config reaching a pyvisa-sim device of drivers/sim/<sim_file>."""
    cls = DRIVERS[driver]
    values = {key: option.default for key, option in cls.OPTIONS.items()}
    values.update(options)
    limits = values.pop("limits", {})
    return InstrumentConfig(
        role=role,
        driver=driver,
        resource=resource,
        timeout_s=TIMEOUT_S,
        limits=limits,
        options=values,
        backend=f"{SIM_DIR / sim_file}@sim",
    )


def assert_sim_specs_match(sim_file: str, device: str, settings: dict[str, Setting]) -> None:
    """Every property of the simulated device is a driver setting with the same limits."""
    data = yaml.safe_load((SIM_DIR / sim_file).read_text())
    properties = data["devices"][device]["properties"]
    assert properties, "no properties to compare"
    for name, prop in properties.items():
        setting = settings[name]
        specs = prop["specs"]
        scale = setting.written_scale
        if isinstance(setting.validator, Range):
            assert float(specs["min"]) == pytest.approx(
                setting.validator.minimum * scale, rel=1e-12
            )
            assert float(specs["max"]) == pytest.approx(
                setting.validator.maximum * scale, rel=1e-12
            )
        else:
            assert {str(v) for v in specs["valid"]} == {str(c) for c in setting.validator.choices}


#: A short Hahn echo (two sweep points, two phase steps) for end-to-end tests.
SHORT_ECHO = """\
name: short-echo
description: A short Hahn echo for tests.
parameters:
  carrier: 4 MHz
  t_pi2: 250 ns
  tau: 1 us
  window: 2 us
sequence:
  - pulse: {angle: pi/2, duration: t_pi2, phase: 0 deg}
  - delay: tau
  - pulse: {angle: pi, duration: 2*t_pi2, phase: 90 deg}
  - delay: tau - window/2
  - detect: {duration: window, points: 64}
sweep:
  tau: {values: [1.5 us, 2 us]}
phase_cycle:
  - {pulses: [0 deg, 0 deg], receiver: +1}
  - {pulses: [180 deg, 0 deg], receiver: -1}
shots: 2
repetition_time: 100 us
full_scale_rabi: 2 MHz
"""


def small_sample(packets: int = 200):
    """The built-in ``bare`` sample with fewer packets (fast, strong echo at 4 MHz)."""
    from spin_echo.simulator import load_sample

    return load_sample("bare").with_overrides({"packets": packets})


def wait_recorded(scope, timeout_s: float = 10.0) -> None:
    """Wait until an emulated scope has stored its triggered record (computed in background),
    so that the driver's status polls, and hence the traffic, are deterministic."""
    deadline = time.monotonic() + timeout_s
    while scope.record is None or scope.armed:
        assert time.monotonic() < deadline, "the emulated scope never stored its record"
        time.sleep(0.001)


def quiet_virtual_bench(folder: Path) -> Path:
    """Write the built-in ``virtual`` bench with 1 uV of noise (not 150 mV) into ``folder``,
    as ``virtual-quiet.yaml``, for tests that compare a run with a reference sample by sample."""
    builtin = Path(__file__).resolve().parents[2] / "drivers" / "benches" / "virtual.yaml"
    text = builtin.read_text()
    assert "noise: 150 mV" in text and text.startswith("name: virtual\n")
    path = folder / "virtual-quiet.yaml"
    path.write_text(
        text.replace("noise: 150 mV", "noise: 1 uV").replace(
            "name: virtual\n", "name: virtual-quiet\n", 1
        )
    )
    return path
