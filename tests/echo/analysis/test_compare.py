"""spin_echo.echo.analysis.compare: alignment, complex scale, residual, chi-square, refusals.

(The file name differs from the module's because tests/cli/test_compare.py exists and pytest's
default import mode needs distinct basenames in directories without ``__init__.py``.)
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from spin_echo.echo.analysis.compare import CompareError, compare_records, protocol_structure

HAHN = """name: hahn-echo
parameters: {tau: 1 us}
sequence:
  - pulse: {angle: pi/2, duration: 50 ns}
  - delay: tau
  - pulse: {angle: pi, duration: 100 ns}
  - delay: tau - window/2
  - detect: {duration: window, points: 64}
"""
FID = """name: fid
sequence:
  - pulse: {angle: pi/2, duration: 50 ns}
  - detect: {duration: 1 us, points: 64}
"""


def echo(tau_s, time_s):
    """Closed-form echo: Gaussian in time, exp decay in tau, a phase twist across the echo."""
    t = time_s - 200e-9
    return (
        np.exp(-2 * tau_s[:, None] / 4e-6)
        * np.exp(-((t / 50e-9) ** 2))
        * np.exp(1j * (0.3 + 2 * np.pi * 1e6 * t))
    )


def record(tau_s, time_s, *, scale=1.0 + 0j, noise=0.0, seed=0, protocol=HAHN, axis="tau"):
    signal = scale * echo(tau_s, time_s)
    rng = np.random.default_rng(seed)
    signal = signal + noise * (
        rng.standard_normal(signal.shape) + 1j * rng.standard_normal(signal.shape)
    )
    return xr.Dataset(
        {"signal_re": ((axis, "time"), signal.real), "signal_im": ((axis, "time"), signal.imag)},
        coords={axis: (axis, tau_s, {"units": "s"}), "time": ("time", time_s, {"units": "s"})},
        attrs={"protocol": protocol, "units": "V", "source": "run:lab", "complete": 1},
    )


TAU = np.linspace(0.5e-6, 6e-6, 12)
TIME = np.linspace(0.0, 400e-9, 128)


def test_record_with_itself_gives_zero_residual():
    data = record(TAU, TIME, noise=0.01)
    result = compare_records(data, data)
    assert result.scale == pytest.approx(1.0, abs=1e-14)
    assert result.rms_residual < 1e-15
    assert result.relative_residual < 1e-15
    assert result.chi2_reduced < 1e-25
    assert float(result.per_point["rms_residual"].max()) < 1e-15
    assert result.notes == ()
    (reason,) = result.health.reasons  # a record shares its noise with itself
    assert "outside" in reason and "the records share their noise" in reason


def test_scale_noise_and_chi_square_are_recovered():
    scale = 0.37 * np.exp(1j * 2.1)
    result = compare_records(record(TAU, TIME, scale=scale, noise=0.004), record(TAU, TIME))
    assert abs(result.scale - scale) < 4 * np.sqrt(2) * result.scale_error
    assert result.noise_sigma == pytest.approx(0.004, rel=0.05)
    dof = 2 * TAU.size * TIME.size - 2
    assert result.dof == dof
    assert abs(result.chi2_reduced - 1.0) < 0.05 + 5 * np.sqrt(2 / dof)
    assert result.per_point["chi2_reduced"].dims == ("tau",)
    assert result.rms_residual == pytest.approx(0.004 * np.sqrt(2), rel=0.1)
    assert result.health.reliable


def test_a_simulation_that_misses_the_measurement_is_unreliable():
    """The measured decay is 20 % slower than the simulated one: chi-square far above its band."""
    measured = record(TAU, TIME, noise=0.004)
    measured["signal_re"] = measured["signal_re"] * np.exp(0.2 * 2 * TAU / 4e-6)[:, None]
    measured["signal_im"] = measured["signal_im"] * np.exp(0.2 * 2 * TAU / 4e-6)[:, None]
    result = compare_records(measured, record(TAU, TIME))
    assert result.chi2_reduced > 2
    (reason,) = result.health.reasons
    assert reason.startswith("reduced chi-square") and "does not describe the measurement" in reason


def test_scale_error_coverage():
    """Re and Im of c fall within one standard error 68.3 % +- 3 binomial sd of 200 seeds."""
    scale = 0.8 - 0.3j
    simulated = record(TAU, TIME)
    hits, alarms = [], 0
    for seed in range(200):
        result = compare_records(
            record(TAU, TIME, scale=scale, noise=0.02, seed=seed), simulated, noise_sigma=0.02
        )
        error = result.scale - scale
        hits += [abs(error.real) < result.scale_error, abs(error.imag) < result.scale_error]
        alarms += not result.health.reliable
    margin = 3 * np.sqrt(0.6827 * 0.3173 / len(hits))
    assert abs(np.mean(hits) - 0.6827) < margin
    # the chi-square band holds 99.99 % of correct comparisons: 0.02 false alarms expected here
    assert alarms <= 1


def test_different_grids_are_interpolated_on_the_common_range():
    measured = record(TAU, TIME)
    fine_time = np.linspace(-50e-9, 450e-9, 2001)
    wide_tau = np.linspace(0.2e-6, 5e-6, 400)
    result = compare_records(measured, record(wide_tau, fine_time))
    assert result.measured.sizes == {"tau": int(np.sum(TAU <= 5e-6)), "time": TIME.size}
    assert result.relative_residual < 1e-3
    assert len(result.notes) == 2
    assert any("tau" in note for note in result.notes)


def test_unwritten_points_are_left_out():
    measured = record(TAU, TIME, scale=2.0)
    for key in ("signal_re", "signal_im"):
        measured[key][3, :] = np.nan
    result = compare_records(measured, record(TAU, TIME))
    assert result.scale == pytest.approx(2.0, abs=1e-12)
    assert result.dof == 2 * (TAU.size - 1) * TIME.size - 2


REFUSALS = {
    "no-overlap": (
        lambda: record(TAU + 20e-6, TIME),
        "axis 'tau' does not overlap",
    ),
    "time-no-overlap": (lambda: record(TAU, TIME + 1e-6), "axis 'time' does not overlap"),
    "structure": (lambda: record(TAU, TIME, protocol=FID), "differ in structure"),
    "axes": (lambda: record(TAU, TIME, axis="t_pi2"), "sweep axes differ"),
    "no-protocol": (lambda: record(TAU, TIME, protocol=""), "no protocol"),
    "all-zero": (lambda: record(TAU, TIME, scale=0.0), "zero everywhere"),
}


@pytest.mark.parametrize(("make", "message"), REFUSALS.values(), ids=REFUSALS.keys())
def test_incompatible_records_are_refused(make, message):
    with pytest.raises(CompareError if message != "zero everywhere" else ValueError, match=message):
        compare_records(record(TAU, TIME), make())


def test_bad_noise_is_refused():
    with pytest.raises(CompareError, match="positive"):
        compare_records(record(TAU, TIME), record(TAU, TIME), noise_sigma=-1.0)


def test_protocol_structure():
    assert protocol_structure(record(TAU, TIME), name="m.nc") == (
        "pulse",
        "delay",
        "pulse",
        "delay",
        "detect",
    )
    with pytest.raises(CompareError, match="anchors"):
        protocol_structure(
            record(TAU, TIME, protocol="a: &x 1\nb: *x\nsequence: [1]\n"), name="m.nc"
        )


def test_the_overlay_says_unreliable_across_its_top(tmp_path):
    from spin_echo.echo.plots import plot_compare

    measured = record(TAU, TIME, noise=0.004)
    for name in ("signal_re", "signal_im"):
        measured[name] = measured[name] * np.exp(0.2 * 2 * TAU / 4e-6)[:, None]
    figure = plot_compare(compare_records(measured, record(TAU, TIME)), tmp_path / "bad.png")
    assert figure.get_suptitle().startswith("UNRELIABLE: reduced chi-square")
    good = compare_records(record(TAU, TIME, noise=0.004), record(TAU, TIME))
    assert plot_compare(good, tmp_path / "good.png").get_suptitle() == ""


@pytest.mark.parametrize("sigma", [1e-300, 1e-151, 1e151, 1e300])
def test_a_noise_whose_chi_square_would_overflow_is_refused(sigma):
    # 1e-300 raised ZeroDivisionError, 1e300 OverflowError (sigma**2)
    with pytest.raises(CompareError, match=r"their ratio must lie within 1e±150") as info:
        compare_records(record(TAU, TIME, noise=0.01), record(TAU, TIME), noise_sigma=sigma)
    assert info.value.key == "noise"


def test_a_noise_within_the_ratio_gives_a_finite_chi_square():
    result = compare_records(record(TAU, TIME, noise=0.01), record(TAU, TIME), noise_sigma=1e-140)
    assert np.isfinite(result.chi2_reduced) and result.chi2_reduced > 1e270


@pytest.mark.parametrize("factor", [1e200, 1e-200], ids=["huge", "tiny"])
@pytest.mark.parametrize("which", [0, 1], ids=["measured", "simulated"])
def test_values_whose_squares_overflow_or_underflow_are_refused_naming_the_file(factor, which):
    # 1e300 values printed |c| = 2e300 and "relative nan %" with numpy warnings
    pair = [record(TAU, TIME, noise=0.01), record(TAU, TIME)]
    pair[which] = pair[which] * factor
    with pytest.raises(CompareError, match=r"outside 1e±150: their squares") as info:
        compare_records(*pair, names=("m.nc", "s.nc"))
    assert info.value.file == ("m.nc", "s.nc")[which]


def test_a_noise_free_measurement_is_unreliable():
    # shots that agree exactly: sigma 0, so the scale's errors printed "± 0" with no verdict
    data = record(TAU, TIME, noise=0.0).assign(
        signal_sem_re=(("tau", "time"), np.zeros((TAU.size, TIME.size))),
        signal_sem_im=(("tau", "time"), np.zeros((TAU.size, TIME.size))),
    )
    data.attrs["shots"] = 16
    result = compare_records(data, record(TAU, TIME, scale=0.5))
    assert result.noise_sigma == 0.0
    (reason,) = result.health.reasons
    assert reason.startswith("the measured noise is 0 (the shots agree exactly)")


def test_the_scale_error_and_independent_values_equal_the_dense_correlation():
    # compare applies the receiver's correlation without its N x N matrix (noise.correlate)
    from spin_echo.echo.analysis.noise import correlation_matrix

    measured = record(TAU, TIME, scale=0.6, noise=0.01)
    measured.attrs["receiver_bandwidth_hz"] = 20e6
    simulated = record(TAU, TIME)
    result = compare_records(measured, simulated, noise_sigma=0.01)
    rho = correlation_matrix(TIME, 20e6)
    s = echo(TAU, TIME)
    spread = float(np.einsum("pi,ij,pj->", np.conj(s), rho, s).real)
    norm = float(np.sum(np.abs(s) ** 2))
    assert result.scale_error == pytest.approx(0.01 * np.sqrt(spread) / norm, rel=1e-12)
    dense = 2 * TAU.size * TIME.size**2 / float(np.sum(rho**2))
    assert result.independent == pytest.approx(dense, rel=1e-12)
    assert result.independent < 0.5 * 2 * TAU.size * TIME.size  # the correlation counts
