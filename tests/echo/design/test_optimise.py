"""``design --vary/--target/--budget/-o/--plot``: the search, the budget, the written protocol.

References independent of the code under test:

- the repetition time against T1: the SNR in a fixed time is proportional to
  (1 - exp(-(T_rep - T_seq)/T1)) / sqrt(T_rep), whose maximum is found here by root finding
  with T_seq added up by hand from the protocol;
- the budget: twice the time gives twice the shots and 1/sqrt(2) of the predicted error;
- the written protocol: ``simulate`` and ``run`` (virtual bench) accept it, through the CLI;
- bad input: exit 2 with one located line, nothing written (tests/cli/bad_input.py).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.optimize import brentq

from spin_echo.drivers.bench import load_bench
from spin_echo.echo.cli.main import main
from spin_echo.echo.design.knobs import apply_knobs, parse_vary
from spin_echo.echo.design.objective import evaluator
from spin_echo.echo.design.optimise import optimise
from spin_echo.echo.design.plan import extend_design, plan_design
from spin_echo.echo.design.report import design_experiment
from spin_echo.sequences import Protocol
from spin_echo.simulator import load_sample
from tests.cli.bad_input import Case, check_case
from tests.images import assert_plot_image

ECHO = """name: short-echo
parameters: {carrier: 4 MHz, t_pi2: 500 ns, tau: 3 us, window: 3 us}
sequence:
  - pulse: {angle: pi/2, duration: t_pi2, phase: 0 deg}
  - delay: tau
  - pulse: {angle: pi, duration: 2*t_pi2, phase: 90 deg}
  - delay: tau - window/2
  - detect: {duration: window, points: 16}
sweep:
  tau: {values: [2 us, 5 us, 8 us]}
phase_cycle:
  - {pulses: [0 deg, 0 deg], receiver: +1}
  - {pulses: [180 deg, 0 deg], receiver: -1}
shots: 4
repetition_time: 1 ms
full_scale_rabi: 1 MHz
"""
SAMPLE = """name: small-t2
spin: 4000
g: 2.0
tunnel_splitting: {distribution: lognormal, median: 1 MHz, sigma: 0.05}
bias: {distribution: gaussian, mean: 0 Hz, width: 0.3 MHz}
orientation: {distribution: fixed, theta: 0 deg}
packets: 50
seed: 1
temperature: 0 K
relaxation: {T2: 8 us}
"""


def test_repetition_time_against_t1_finds_the_closed_form_optimum():
    protocol = Protocol.from_yaml(ECHO)
    bench = load_bench("virtual")
    t1_s = 100e-6
    sample = load_sample("bare-t2").with_values(
        packets=20, **{"relaxation.T1": "100 us", "relaxation.T2": "8 us"}
    )
    knobs = parse_vary("repetition_time=30us:1ms", protocol, bench)
    result = optimise(protocol, knobs, evaluator(sample, bench), bench=bench)
    # longest sequence (tau = 8 us): 0.5 + 8 + 1 + (8 - 1.5) + 3 us
    t_seq = 19e-6

    def slope(t: float) -> float:  # d/dt of log[(1 - exp(-(t - t_seq)/T1)) / sqrt(t)]
        e = math.exp(-(t - t_seq) / t1_s)
        return e / (t1_s * (1 - e)) - 0.5 / t

    expected = brentq(slope, 30e-6, 1e-3)
    assert result.best.values["repetition_time"] == pytest.approx(expected, rel=2e-3)
    # the SNR in the same time: the ratio of the closed form at the two repetition times
    gain = (1 - math.exp(-(expected - t_seq) / t1_s)) / math.sqrt(expected)
    gain /= (1 - math.exp(-(1e-3 - t_seq) / t1_s)) / math.sqrt(1e-3)
    # undo the whole shots of the budget: per unit time
    per_time = [c.snr * math.sqrt(result.budget_s / c.time_s) for c in (result.start, result.best)]
    assert per_time[1] / per_time[0] == pytest.approx(gain, rel=1e-4)


def test_a_budget_twice_as_long_doubles_the_shots_and_divides_the_error_by_sqrt_2():
    protocol = Protocol.from_yaml(ECHO)
    bench = load_bench("virtual")
    sample = load_sample("bare-t2").with_values(packets=50)
    design = design_experiment(protocol, sample, bench)
    errors = []
    for budget in ("24 ms", "48 ms"):
        plan = plan_design(protocol, sample, bench, target="relaxation.T2", budget=budget)
        extended = extend_design(plan, design)
        errors.append(extended.to_dict()["predicted_error"])
        assert extended.to_dict()["target"]["shots"] == int(budget.split()[0]) // 6
    assert errors[1] == pytest.approx(errors[0] / math.sqrt(2), rel=1e-9)


def test_sweep_span_is_rewritten_on_the_carrier_grid():
    protocol = Protocol.from_yaml(ECHO)
    knobs = parse_vary("tau.stop", protocol, load_bench("virtual"))
    changed = apply_knobs(protocol, {"tau.stop": 11.1e-6}, knobs)
    values = changed.sweep_axes[0].values
    np.testing.assert_allclose(values, [2e-6, 6.5e-6, 11e-6])  # multiples of 250 ns
    assert (knobs[0].lower, knobs[0].upper) == (2e-6, 32e-6)


def test_cli_writes_a_protocol_that_simulate_and_run_accept(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "echo.yaml").write_text(ECHO)
    (tmp_path / "s.yaml").write_text(SAMPLE)
    status = main(
        [
            "design", "echo.yaml", "--sample", "s.yaml", "--bench", "virtual",
            "--vary", "t_pi2", "--json", "-o", "best.yaml", "--plot", "scan.png",
        ]
    )  # fmt: skip
    assert status == 0
    answer = json.loads(capsys.readouterr().out)
    best, start = answer["optimisation"]["best"], answer["optimisation"]["start"]
    assert best["snr"] > start["snr"]
    assert best["time_s"] <= answer["optimisation"]["budget_s"]
    assert_plot_image(tmp_path / "scan.png")
    assert main(["simulate", "best.yaml", "--sample", "s.yaml", "-o", "sim.nc"]) == 0
    run = ["run", "best.yaml", "--bench", "virtual", "--sample", "s.yaml", "-o", "run.nc"]
    assert main(run) == 0
    written = Protocol.from_yaml((tmp_path / "best.yaml").read_text())
    assert written.parameters["t_pi2"].value == pytest.approx(best["values"]["t_pi2"])


DESIGN = ("design", "hahn-echo", "--sample", "bare-t2", "--bench", "virtual")


@pytest.mark.parametrize(
    "case",
    [
        Case("vary-unknown", (*DESIGN, "--vary", "t_pi3"), where=("--vary", "t_pi3")),
        Case("vary-swept", (*DESIGN, "--vary", "tau"), where=("--vary", "tau.stop")),
        Case("vary-range", (*DESIGN, "--vary", "t_pi2=2us:1us"), where=("--vary", "LOW < HIGH")),
        Case("budget-short", (*DESIGN, "--budget", "10 ms"), where=("--budget", "24 ms")),
        Case("budget-unit", (*DESIGN, "--budget", "3 V"), where=("--budget", "3 V")),
        Case("target-unknown", (*DESIGN, "--target", "relaxation.T9"), where=("--target",)),
        Case("target-integer", (*DESIGN, "--target", "packets"), where=("--target", "packets")),
        Case("target-absent", (*DESIGN, "--target", "relaxation.T1"), where=("--target",)),
        Case("output-alone", (*DESIGN, "-o", "best.yaml"), where=("-o", "--vary")),
        # a positive quantity's range below zero was searched silently as "not playable"
        Case("vary-negative", (*DESIGN, "--vary", "t_pi2=-1us:1us"), where=("--vary", "LOW > 0")),
        Case("vary-zero", (*DESIGN, "--vary", "t_pi2=0s:1us"), where=("--vary", "LOW > 0")),
        Case(
            "vary-rabi-zero",
            (*DESIGN, "--vary", "full_scale_rabi=0Hz:1MHz"),
            where=("--vary", "positive frequency"),
        ),
        # "not enough values to unpack (expected 2, got 1)"
        Case("vary-no-range", (*DESIGN, "--vary", "t_pi2=abc"), where=("--vary", "LOW:HIGH")),
        Case("vary-three", (*DESIGN, "--vary", "t_pi2=1us:2us:3us"), where=("--vary", "LOW:HIGH")),
        # the image and the chosen protocol under one name
        Case(
            "plot-is-output",
            (*DESIGN, "--vary", "t_pi2", "-o", "best.png", "--plot", "best.png"),
            where=("--plot", "another file this command"),
        ),
    ],
    ids=lambda case: case.id,
)
def test_bad_design_options_exit_2_with_one_located_line(case, tmp_path):
    check_case(case, tmp_path)


def test_nothing_outside_the_ranges_is_chosen(tmp_path, monkeypatch, capsys):
    # a carrier range the AWG cannot play reported "chosen 4 MHz", the protocol as written
    monkeypatch.chdir(tmp_path)
    args = [*DESIGN, "--packets", "50", "--vary", "carrier=1 GHz:100 GHz"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("spin-echo: error: --vary: no protocol in the range carrier=")
    assert "can be evaluated on this bench (" in err and "Nyquist frequency" in err


def test_a_noise_record_whose_shots_agree_exactly_is_refused(tmp_path, monkeypatch, capsys):
    # its zero scatter gave every SNR = inf and "DETECTABLE ... shots needed: 1"
    import xarray as xr

    monkeypatch.chdir(tmp_path)
    assert main(["run", "fid", "--bench", "virtual", "--sample", "bare", "-o", "m.nc"]) == 0
    with xr.open_dataset("m.nc") as ds:
        record = ds.load()
    record["signal_sem_re"][:] = 0.0
    record["signal_sem_im"][:] = 0.0
    record.to_netcdf("quiet.nc")
    assert main([*DESIGN, "--packets", "50", "--noise-from", "quiet.nc"]) == 2
    err = capsys.readouterr().err
    assert "--noise-from = 'quiet.nc': has a shot-to-shot error of 0" in err
