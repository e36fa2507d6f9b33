"""Rotating-wave error estimate against lab-minus-rotating differences of real simulations.

Each case: a Hahn echo (tau = 5 us) on the ``bare`` sample, simulated in the rotating and in
the lab frame with the same packets; the measured error is the largest |lab - rotating| over
the detection window relative to the largest rotating-frame signal. The estimate must be within
a factor 2 of it (measured 0.74-1.13 of it on the full records), and the warning must appear
exactly when the estimate exceeds 1 %.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spin_echo.sequences import compile_timeline, load_protocol
from spin_echo.simulator import simulate
from spin_echo.simulator.rwa import WARN_ABOVE, rwa_error, rwa_error_estimate
from spin_echo.simulator.sample import load_sample

CASES = {
    "library-1/8": {"t_pi2": "500 ns"},
    "fast-1/4": {"t_pi2": "250 ns"},
    "fast-0.625": {"t_pi2": "100 ns"},
}


def timeline(overrides):
    protocol = load_protocol("hahn-echo")
    text = protocol.to_yaml().replace("full_scale_rabi: 1 MHz", "full_scale_rabi: 5 MHz")
    protocol = type(protocol).from_yaml(text).with_overrides({**overrides, "tau": "5 us"})
    return compile_timeline(protocol.sequence())


@pytest.mark.parametrize("overrides", CASES.values(), ids=CASES.keys())
def test_estimate_matches_lab_minus_rotating(overrides):
    line = timeline(overrides)
    sample = load_sample("bare")
    signals = {
        frame: np.asarray(simulate(line, sample, packets=400, frame=frame).signal)
        for frame in ("rotating", "lab")
    }
    measured = np.abs(signals["lab"] - signals["rotating"]).max()
    measured /= np.abs(signals["rotating"]).max()
    estimate = rwa_error(line).estimate
    assert 0.5 < estimate / measured < 2.0, (estimate, measured)
    assert rwa_error(line).warning().endswith("simulate with --frame lab")


def test_parts_and_threshold():
    error = rwa_error_estimate([0.5e6, 0.5e6], [0.5e-6, 1e-6], 4e6)
    assert error.rabi_over_carrier == pytest.approx(0.125)
    assert error.bloch_siegert_hz == pytest.approx(0.5e6**2 / 16e6)
    assert error.bandwidth_over_carrier == pytest.approx(0.5)
    assert error.estimate == pytest.approx(0.0625)
    # A pulse shorter than a carrier cycle: the bandwidth term takes over.
    short = rwa_error_estimate(2e6, 50e-9, 4e6)
    assert short.estimate == pytest.approx(0.5 * 5.0 / (2 * math.pi))
    quiet = rwa_error_estimate(0.04e6, 10e-6, 4e6)
    assert quiet.estimate == pytest.approx(0.005) and quiet.warning() == ""
    assert quiet.estimate < WARN_ABOVE < error.estimate
    assert rwa_error_estimate(0.0, 1e-6, 4e6).estimate == 0.0
    with pytest.raises(ValueError, match="positive"):
        rwa_error_estimate(1e6, 1e-6, 0.0)


@pytest.mark.parametrize(("carrier", "refused"), [("1e-6 Hz", True), ("100 kHz", True),
                                                  ("1 MHz", False), ("4 MHz", False)])  # fmt: skip
def test_the_rotating_frame_is_refused_where_its_error_exceeds_the_signal(
    tmp_path, capsys, carrier, refused
):
    # a 1 uHz carrier gave a rotating-frame record with a warning of 1.6e25 % and exit 0
    from spin_echo.echo.cli.main import main
    from spin_echo.simulator.rwa import REFUSE_ABOVE

    protocol = load_protocol("hahn-echo").with_overrides({"carrier": carrier})
    rwa = rwa_error(compile_timeline(protocol.sequence(dict(next(protocol.iter_points())[1]), 0)))
    assert (rwa.estimate > REFUSE_ABOVE) == refused
    out = tmp_path / "r.nc"
    args = ["simulate", "hahn-echo", "--sample", "bare", "--packets", "50", "--set"]
    status = main([*args, f"carrier={carrier}", "-o", str(out)])
    err = capsys.readouterr().err
    if refused:
        assert status == 2 and not out.exists()
        assert "--frame = 'rotating': does not describe this protocol: rotating-wave error" in err
        lab = main([*args, f"carrier={carrier}", "--frame", "lab", "-o", str(out)])
        assert lab == 0 and out.exists()
    else:
        assert status == 0
