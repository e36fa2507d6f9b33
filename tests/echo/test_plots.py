"""Figures of every record kind are written, open back as images and have the expected axes."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest
import xarray as xr

from spin_echo.echo.analysis.compare import compare_records
from spin_echo.echo.analysis.decay_fits import fit_echo_decay, fit_inversion_recovery
from spin_echo.echo.analysis.extraction import AnalysisError
from spin_echo.echo.analysis.spectroscopy import fit_hole, fit_nutation
from spin_echo.echo.figure import axis_label
from spin_echo.echo.plots import (
    plot_compare,
    plot_decay_fit,
    plot_hole_spectrum,
    plot_record,
)
from tests.images import assert_plot_image

PROTOCOL = "name: hahn-echo\nsequence:\n  - pulse: {angle: pi/2}\n  - detect: {points: 64}\n"


def make_record(axes: list[tuple[str, np.ndarray, str]], *, seed: int = 1) -> xr.Dataset:
    """A record as SPEC.md lays it out: Gaussian echoes decaying along the first axis."""
    rng = np.random.default_rng(seed)
    time_s = np.linspace(0.0, 400e-9, 64)
    shape = (*(v.size for _, v, _ in axes), time_s.size)
    envelope = np.exp(-(((time_s - 200e-9) / 50e-9) ** 2))
    amplitude = np.ones(shape[:-1])
    if axes:
        first = axes[0][1]
        decay = np.exp(-first / (first.max() / 2.0))
        amplitude = amplitude * decay.reshape((-1,) + (1,) * (len(axes) - 1))
    signal = amplitude[..., None] * envelope * np.exp(0.7j)
    signal = signal + 0.01 * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
    dims = [name for name, _, _ in axes] + ["time"]
    coords = {name: (name, values, {"units": units}) for name, values, units in axes}
    coords["time"] = ("time", time_s, {"units": "s"})
    return xr.Dataset(
        {"signal_re": (dims, signal.real), "signal_im": (dims, signal.imag)},
        coords=coords,
        attrs={
            "protocol": PROTOCOL,
            "sample": "name: bare\n",
            "source": "simulate",
            "units": "normalised",
            "seed": 1,
            "complete": 1,
        },
    )


RECORDS = {
    "transient": ([], 1),
    "tau-sweep-log": ([("tau", np.geomspace(200e-9, 10e-6, 12), "s")], 3),
    "frequency-sweep": ([("offset", np.linspace(-2e6, 2e6, 9), "Hz")], 3),
    "phase-sweep": ([("phase", np.linspace(0, np.pi, 5), "rad")], 3),
    "two-axes": (
        [("tau", np.linspace(1e-6, 4e-6, 4), "s"), ("offset", np.linspace(-1e6, 1e6, 5), "Hz")],
        2,
    ),
    "three-axes": (
        [
            ("tau", np.linspace(1e-6, 4e-6, 3), "s"),
            ("offset", np.linspace(-1e6, 1e6, 4), "Hz"),
            ("t_pi2", np.array([40e-9, 50e-9]), "s"),
        ],
        2,
    ),
}


@pytest.mark.parametrize(("axes", "n_axes"), RECORDS.values(), ids=RECORDS.keys())
def test_plot_record_writes_an_image_with_expected_axes(tmp_path, axes, n_axes):
    path = tmp_path / "record.png"
    figure = plot_record(make_record(axes), path)
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0.05
    assert len(figure.axes) == n_axes
    for ax in figure.axes[:1]:
        assert "(" in ax.get_xlabel() and "(" in ax.get_ylabel()


def test_sweep_axis_units_and_log_scale_are_shown(tmp_path):
    figure = plot_record(make_record(RECORDS["tau-sweep-log"][0]), tmp_path / "r.png")
    ax_map, ax_curve, _bar = figure.axes
    assert ax_map.get_ylabel() == "tau (µs)"
    assert ax_curve.get_xlabel() == "tau (µs)"
    assert ax_curve.get_xscale() == "log"
    assert ax_map.get_xlabel() == "time in detect window (µs)"


def test_incomplete_record_says_so_in_title(tmp_path):
    record = make_record([])
    record.attrs["complete"] = 0
    figure = plot_record(record, tmp_path / "r.png")
    assert "incomplete" in figure.axes[0].get_title()


def test_axis_label_dimensionless_and_long():
    assert axis_label("x", "") == "x"
    assert axis_label("tau", "µs") == "tau (µs)"
    assert axis_label("integrated echo", "normalised") == "integrated echo\n(normalised)"


@pytest.mark.parametrize(
    "corrupt",
    [lambda s: s * 0.0, lambda s: s.where(s.time > 1e-7)],
    ids=["all-zero", "nan"],
)
def test_plot_refuses_nonsense(tmp_path, corrupt):
    record = make_record([])
    record["signal_re"] = corrupt(record["signal_re"])
    record["signal_im"] = corrupt(record["signal_im"])
    with pytest.raises(AnalysisError, match=r"zero everywhere|NaN"):
        plot_record(record, tmp_path / "r.png")


def test_not_a_record(tmp_path):
    with pytest.raises(AnalysisError, match="signal_re"):
        plot_record(xr.Dataset({"x": ("time", np.ones(3))}), tmp_path / "r.png")


@pytest.mark.parametrize(
    "axes",
    [RECORDS["transient"][0], RECORDS["tau-sweep-log"][0], RECORDS["two-axes"][0]],
    ids=["transient", "sweep", "two-axes"],
)
def test_plot_compare(tmp_path, axes):
    measured = make_record(axes, seed=1)
    simulated = make_record(axes, seed=2)
    figure = plot_compare(compare_records(measured, simulated), tmp_path / "c.png")
    assert_plot_image(tmp_path / "c.png")
    assert len(figure.axes) == 2
    top, bottom = figure.axes
    assert "scale |c|" in top.get_title()
    assert "(" in bottom.get_xlabel() and "residual" in bottom.get_ylabel()


TAU = np.linspace(0.1e-6, 8e-6, 25)
RNG = np.random.default_rng(5)
FITS = {
    "stretched": (
        fit_echo_decay(
            TAU, np.exp(-((2 * TAU / 4e-6) ** 1.5)) + 0.02 * RNG.standard_normal(25), stretched=True
        ),
        "tau",
        "s",
    ),
    "inversion-recovery": (
        fit_inversion_recovery(
            TAU * 100, 1 - 2 * np.exp(-TAU / 2e-6) + 0.02 * RNG.standard_normal(25)
        ),
        "recovery",
        "s",
    ),
    "nutation": (
        fit_nutation(TAU / 8, np.sin(2 * np.pi * 3e6 * TAU / 8) + 0.02 * RNG.standard_normal(25)),
        "t_pulse",
        "s",
    ),
}


@pytest.mark.parametrize(("fit", "name", "units"), FITS.values(), ids=FITS.keys())
def test_plot_decay_fit(tmp_path, fit, name, units):
    figure = plot_decay_fit(fit, tmp_path / "f.pdf", x_name=name, x_units=units, y_units="V")
    figure = plot_decay_fit(fit, tmp_path / "f.png", x_name=name, x_units=units, y_units="V")
    assert (tmp_path / "f.pdf").stat().st_size > 1000
    assert_plot_image(tmp_path / "f.png")
    assert len(figure.axes) == 2
    assert figure.axes[1].get_xlabel().startswith(name + " (")
    assert figure.axes[0].get_ylabel() == "integrated echo (V)"
    legend = figure.axes[0].get_legend().get_title().get_text()
    assert all(parameter in legend for parameter in fit.names)


def test_plot_hole_spectrum(tmp_path):
    offset = np.linspace(-5e6, 5e6, 61)
    y = 1 - 0.5 / (1 + (2 * (offset - 0.5e6) / 1e6) ** 2) + 0.01 * RNG.standard_normal(61)
    figure = plot_hole_spectrum(fit_hole(offset, y), tmp_path / "h.png", y_units="V")
    assert_plot_image(tmp_path / "h.png")
    assert len(figure.axes) == 2
    assert figure.axes[1].get_xlabel() == "probe offset (MHz)"
    assert any("depth" in text.get_text() for text in figure.axes[0].texts)


def test_long_units_are_shortened_on_axes(tmp_path):
    record = make_record([])
    record.attrs["units"] = "normalised magnetisation (1 = all packets fully polarised and coupled)"
    figure = plot_record(record, tmp_path / "r.png")
    assert figure.axes[0].get_ylabel() == "signal\n(normalised magnetisation)"


def test_unreliable_fit_says_so_on_the_figure(tmp_path):
    tau = np.linspace(0.1e-6, 8e-6, 30)
    y = np.exp(-2 * tau / 3e-6) + 0.01 * RNG.standard_normal(30)
    fit = fit_echo_decay(tau, y, sigma=0.001)
    assert not fit.reliable
    figure = plot_decay_fit(fit, tmp_path / "u.png", notes=["a note"])
    assert figure.get_suptitle().startswith("UNRELIABLE: reduced chi-square")
    assert "a note" in figure.get_suptitle()


def test_labels_and_parameter_box_stay_inside_the_figure_and_off_the_data(tmp_path):
    """Every text's extent lies inside the canvas; the parameter box does not overlap the axes."""
    record = make_record([("tau", np.geomspace(200e-9, 10e-6, 12), "s")])
    record.attrs["units"] = "normalised magnetisation (1 = all packets fully polarised and coupled)"
    pulse = np.linspace(0.0, 4e-6, 20)
    nutation = 0.3 * np.sin(2 * np.pi * 0.5e6 * pulse) + 0.01 * RNG.standard_normal(20)
    fit = fit_nutation(pulse, nutation, sigma=0.01)
    figures = [
        plot_record(record, tmp_path / "r.png"),
        plot_decay_fit(fit, tmp_path / "n.png", x_name="t_p", y_units=record.attrs["units"],
                       derived=["full_scale_rabi = 977.8 ± 4.5 kHz (calibrated; protocol: 1 MHz)"]),
    ]  # fmt: skip
    for figure in figures:
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        width, height = figure.bbox.width, figure.bbox.height
        for ax in figure.axes:
            for text in (ax.yaxis.label, ax.xaxis.label, ax.title):
                box = text.get_window_extent(renderer)
                assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height
    legend = figures[1].axes[0].get_legend().get_window_extent(renderer)
    data = figures[1].axes[0].get_window_extent(renderer)
    assert legend.x0 >= data.x1
