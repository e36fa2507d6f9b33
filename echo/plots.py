"""Figures of records and analyses: echo transient, sweep map, decay fit, hole spectrum, compare.

Every function draws on its own :class:`matplotlib.figure.Figure` rendered by the Agg canvas
(no pyplot global state, no backend switch at import), writes it to ``path`` (format from the
suffix: ``.png``, ``.pdf``, ``.svg``) and returns the figure so callers and tests can inspect its
axes. Axes carry quantities with units; times are shown in microseconds, sweep parameters with
an SI prefix chosen from their range (angles in degrees).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from echo.analysis import find_echo, integrate_echo, record_signal, sweep_dims

__all__ = [
    "axis_label",
    "display_scale",
    "plot_record",
]

_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))
_PREFIXED_UNITS = {"s", "Hz", "T", "V", "K", "A", "W", "T/V"}
_DPI = 150


def display_scale(values: np.ndarray | Sequence[float], units: str) -> tuple[float, str]:
    """Return ``(factor, unit)`` so that ``values / factor`` reads well in ``unit``.

    SI units with prefixes get the largest prefix not exceeding the largest magnitude; ``rad``
    is shown in degrees; anything else is left as it is.
    """
    if units == "rad":
        return np.pi / 180.0, "deg"
    if units not in _PREFIXED_UNITS:
        return 1.0, units
    finite = np.abs(np.asarray(values, dtype=float))
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size == 0:
        return 1.0, units
    top = float(finite.max())
    for factor, prefix in _PREFIXES:
        if top >= factor * 0.999:
            return factor, prefix + units
    return _PREFIXES[-1][0], _PREFIXES[-1][1] + units


def axis_label(name: str, units: str) -> str:
    """Return ``"name (units)"``, or ``name`` alone for dimensionless quantities."""
    return f"{name} ({units})" if units and units not in {"1", "dimensionless"} else name


def _coordinate(dataset: xr.Dataset | xr.DataArray, dim: str) -> tuple[np.ndarray, str, str]:
    """Return (scaled values, label, scale) of a sweep coordinate; scale is 'log' or 'linear'."""
    values = np.asarray(dataset[dim].values, dtype=float)
    units = str(dataset[dim].attrs.get("units", ""))
    factor, shown = display_scale(values, units)
    scale = "linear"
    if values.size > 2 and np.all(values > 0):
        ratios = values[1:] / values[:-1]
        if np.allclose(ratios, ratios[0], rtol=1e-6) and not np.isclose(ratios[0], 1.0):
            spacing = np.diff(values)
            if not np.allclose(spacing, spacing[0], rtol=1e-6):
                scale = "log"
    return values / factor, axis_label(dim, shown), scale


def _new_figure(width_in: float, height_in: float) -> Figure:
    figure = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: str | Path) -> Figure:
    figure.savefig(Path(path), dpi=_DPI)
    return figure


def _title(dataset: xr.Dataset) -> str:
    source = str(dataset.attrs.get("source", "record"))
    name = ""
    protocol = str(dataset.attrs.get("protocol", ""))
    for line in protocol.splitlines():
        if line.startswith("name:"):
            name = line.partition(":")[2].strip()
            break
    complete = dataset.attrs.get("complete", 1)
    suffix = "" if int(complete) else " (incomplete)"
    return f"{name or 'protocol'} — {source}{suffix}"


def plot_record(dataset: xr.Dataset, path: str | Path) -> Figure:
    """Draw the figure that fits a record and write it to ``path``.

    - no sweep axis: the echo transient, ``|s|``, ``Re s`` and ``Im s`` versus time (1 axes);
    - one sweep axis: the map of ``|s|`` (sweep versus time, with a colour bar) and the
      phase-corrected integrated echo versus the swept parameter (3 axes: map, bar, curve);
    - two or more sweep axes: the map of the integrated echo over the first two axes, at the
      first point of any further axis (2 axes: map, bar).

    Parameters
    ----------
    dataset
        A record (SPEC.md), e.g. from :func:`echo.record.read_record`.
    path
        Output image; the format follows the suffix.

    Returns
    -------
    matplotlib.figure.Figure
        The figure written.
    """
    signal = record_signal(dataset)
    dims = sweep_dims(dataset)
    units = signal.attrs["units"]
    time_us = np.asarray(dataset["time"].values, dtype=float) * 1e6
    if not dims:
        figure = _new_figure(6.4, 4.0)
        ax = figure.add_subplot()
        values = signal.values
        ax.plot(time_us, np.abs(values), color="k", lw=1.6, label="|s|")
        ax.plot(time_us, values.real, color="C0", lw=1.0, label="Re s (I)")
        ax.plot(time_us, values.imag, color="C3", lw=1.0, label="Im s (Q)")
        ax.axhline(0.0, color="0.6", lw=0.6)
        ax.set_xlabel("time in detect window (µs)")
        ax.set_ylabel(axis_label("signal", units))
        ax.legend(frameon=False)
        ax.set_title(_title(dataset))
        return _save(figure, path)
    if len(dims) == 1:
        dim = dims[0]
        sweep, sweep_label, scale = _coordinate(dataset, dim)
        figure = _new_figure(6.4, 7.2)
        ax_map, ax_curve = figure.subplots(2, 1)
        mesh = ax_map.pcolormesh(
            time_us, sweep, np.abs(signal.values), shading="nearest", cmap="viridis"
        )
        ax_map.set_yscale(scale)
        ax_map.set_xlabel("time in detect window (µs)")
        ax_map.set_ylabel(sweep_label)
        figure.colorbar(mesh, ax=ax_map, label=axis_label("|s|", units))
        ax_map.set_title(_title(dataset))
        window = find_echo(signal)
        echo = integrate_echo(signal, window=window, mode="quadrature")
        ax_curve.plot(sweep, echo.values, "o-", color="C0", ms=3.5, lw=1.0)
        ax_curve.axhline(0.0, color="0.6", lw=0.6)
        ax_curve.set_xscale(scale)
        ax_curve.set_xlabel(sweep_label)
        ax_curve.set_ylabel(axis_label("integrated echo (phase-corrected)", units))
        ax_curve.set_title(
            f"window {window.start_s * 1e6:.3g}–{window.stop_s * 1e6:.3g} µs", fontsize="medium"
        )
        return _save(figure, path)
    first, second = dims[0], dims[1]
    reduced = signal.isel({d: 0 for d in dims[2:]}) if len(dims) > 2 else signal
    echo = integrate_echo(reduced, window=find_echo(reduced), mode="magnitude")
    x, x_label, x_scale = _coordinate(dataset, second)
    y, y_label, y_scale = _coordinate(dataset, first)
    figure = _new_figure(6.4, 5.0)
    ax = figure.add_subplot()
    mesh = ax.pcolormesh(
        x, y, echo.transpose(first, second).values, shading="nearest", cmap="viridis"
    )
    ax.set_xscale(x_scale)
    ax.set_yscale(y_scale)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    figure.colorbar(mesh, ax=ax, label=axis_label("integrated |s|", units))
    fixed = ", ".join(f"{d} = {float(dataset[d].values[0]):.4g}" for d in dims[2:])
    ax.set_title(_title(dataset) + (f"\n{fixed}" if fixed else ""))
    return _save(figure, path)
