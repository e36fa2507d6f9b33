"""``spin-echo design`` end to end: the verdicts of the issue, the JSON, bad input.

- ``ferritin`` with the built-in Hahn echo on the virtual bench: not detectable, with the shots
  needed (a lower bound: the simulation does not resolve its echo);
- ``bare-t2``: detectable, and the predicted echo decays as exp(-2 tau/T2) with the sample's T2
  (the closed form the budget's physics rests on);
- ``design`` names ``budget`` (and ``budget`` names ``design``: tests/cli/test_budget.py);
- ``--json`` holds the issue's keys, and its time is repetition time x shots x steps x points;
- hole burning: the verdict is on the hole depth against the pump-off reference;
- bad input exits 2 with one located line, nothing written.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import spin_echo as se
from spin_echo.echo.cli.main import main
from tests.cli.bad_input import Case, check_case

LAB_BENCH = """name: lab
awg: {driver: keysight-33600a, resource: "TCPIP::10.0.0.20::INSTR", sample_rate: 250 MHz,
      amplitude: 20 mV}
detector: {driver: keysight-infiniivision, resource: "TCPIP::10.0.0.21::INSTR", channel: 1}
coil: {pickup: 2 mV}
receiver: {bandwidth: 2 MHz}
"""


def test_ferritin_hahn_echo_is_not_detectable_with_the_shots_needed() -> None:
    result = se.design("hahn-echo", "ferritin", "virtual", packets=500)
    data = result.data
    assert data["verdict"] == "not detectable"
    assert not result.detectable
    # the echo is below its own Monte-Carlo error at 500 packets: the count is a lower bound
    assert data["shots_needed_is_lower_bound"]
    best = max(data["points"], key=lambda point: point["snr"])
    bound = (abs(best["signal"]) + 2 * best["signal_sem"]) / best["noise"]
    assert data["shots_needed"] == math.ceil(16 * (3 / bound) ** 2)
    assert data["shots_needed"] > 10**6
    report = result.report()
    assert repr(result) == report
    assert "<table" in result._repr_html_() and "not detectable" in result._repr_html_()
    assert "NOT DETECTABLE" in report
    assert "spin-echo budget ferritin" in report
    assert data["budget"] == se.budget("ferritin").conclusion


def test_bare_t2_is_detectable_and_decays_with_the_samples_t2(capsys) -> None:
    assert main(["design", "hahn-echo", "--sample", "bare-t2", "--bench", "virtual",
                 "--packets", "400", "--json"]) == 0  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "detectable"
    for key in ("values", "signal", "signal_sem", "noise", "snr"):
        assert all(key in point for point in data["points"])
    protocol = se.load_protocol("hahn-echo")
    assert data["time_s"] == pytest.approx(1e-3 * 16 * 2 * 12, rel=1e-12)
    assert data["time_s"] == pytest.approx(protocol.repetition_time_s * 16 * 2 * 12)
    assert data["shots_needed"] == 1
    # echo decay over the sweep against exp(-2 tau / T2), T2 = 20 us, within the MC error
    tau = np.array([point["values"]["tau"] for point in data["points"]])
    signal = np.array([point["signal"] for point in data["points"]])
    sem = np.array([point["signal_sem"] for point in data["points"]])
    t2 = se.load_sample("bare-t2").t2_s
    expected = signal[0] * np.exp(-2 * (tau - tau[0]) / t2)
    assert signal == pytest.approx(expected, abs=float(3 * np.hypot(sem, sem[0]).max()))
    assert data["budget"] == "coherence visible"


def test_hole_burning_is_judged_on_the_hole_depth(capsys) -> None:
    assert main(["design", "hole-burning", "--sample", "bare", "--bench", "virtual",
                 "--packets", "400", "--json"]) == 0  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    hole = data["hole"]
    assert "pump_amplitude = 0" in hole["reference"]
    # the pump at the carrier burns the hole at probe offset 0: the deepest point is there
    probe = [point["values"]["probe_offset"] for point in data["points"]]
    assert abs(probe[int(np.argmax(hole["depth"]))]) <= 200e3
    assert "hole depth" in data["criterion"]
    # the reference is measured too: twice the time
    assert hole["time_s"] == pytest.approx(2 * data["time_s"])


@pytest.fixture(scope="module")
def simulated_record(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "sim.nc"
    se.simulate("hahn-echo", "bare", values={"tau": "4 us"}, packets=40, path=path)
    return path.read_bytes()


DESIGN = ("design", "hahn-echo", "--sample", "bare-t2", "--bench", "virtual")


@pytest.mark.parametrize(
    "case",
    [
        Case("lab-bench-without-noise", ("design", "hahn-echo", "--sample", "bare",
             "--bench", "lab.yaml"), {"lab.yaml": LAB_BENCH}, ("lab.yaml", "receiver.noise")),
        Case("bench-noise-negative", ("design", "hahn-echo", "--sample", "bare", "--bench",
             "lab.yaml"), {"lab.yaml": LAB_BENCH.replace("2 MHz}", "2 MHz, noise: -1 mV}")},
             ("lab.yaml:6", "receiver.noise")),
        Case("noise-from-missing", (*DESIGN, "--noise-from", "none.nc"), where=("none.nc",)),
        Case("packets-zero", (*DESIGN, "--packets", "0"), where=("--packets",)),
        Case("set-unknown", (*DESIGN, "--set", "tau9=1 us"), where=("--set", "tau9")),
        Case("bench-unknown", ("design", "hahn-echo", "--sample", "bare", "--bench", "nope"),
             where=("nope",)),
    ],
    ids=lambda case: case.id,
)  # fmt: skip
def test_bad_input_exits_2_with_one_located_line(case, tmp_path):
    check_case(case, tmp_path)


def test_noise_from_a_simulated_record_is_refused(simulated_record, tmp_path):
    case = Case("noise-from-simulated", (*DESIGN, "--noise-from", "sim.nc"),
                {"sim.nc": simulated_record}, ("--noise-from", "measured record"))  # fmt: skip
    check_case(case, tmp_path)
