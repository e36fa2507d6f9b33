"""Figures of every record kind are written, open back as images and have the expected axes."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest
import xarray as xr

from echo.analysis import AnalysisError
from echo.plots import axis_label, display_scale, plot_record

PROTOCOL = "name: hahn-echo\nsequence: []\n"


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


@pytest.mark.parametrize(
    ("values", "units", "expected"),
    [
        ([2e-7, 1e-5], "s", (1e-6, "µs")),
        ([0.0, 4e6], "Hz", (1e6, "MHz")),
        ([1e-10], "s", (1e-9, "ns")),
        ([0.0, 0.0], "s", (1.0, "s")),
        ([1.0, 2.0], "", (1.0, "")),
    ],
    ids=["us", "MHz", "below-nano", "all-zero", "dimensionless"],
)
def test_display_scale(values, units, expected):
    assert display_scale(np.array(values), units) == pytest.approx(expected)


def test_display_scale_angles_in_degrees():
    factor, unit = display_scale(np.array([np.pi]), "rad")
    assert unit == "deg"
    assert np.pi / factor == pytest.approx(180.0, rel=1e-12)


def test_axis_label_dimensionless():
    assert axis_label("x", "") == "x"
    assert axis_label("tau", "µs") == "tau (µs)"


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
