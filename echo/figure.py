"""Figure building blocks shared by the plots of :mod:`spin_echo.echo.plots`.

A new Agg-backed figure (no pyplot state), saving at 150 dpi, axis labels with units that wrap
instead of clipping, sweep coordinates scaled to an SI prefix with a log axis where the sweep is
geometric, the record's title, the warning lines (``UNRELIABLE: ...``, labels) written
across the top of a figure, and the overlay of a measured and a scaled simulated record with
its residual below (``spin-echo compare``, for the signal and for m_z alike).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spin_echo.echo.record_info import record_info
from spin_echo.echo.units_format import display_scale, format_quantity, short_units

__all__ = [
    "axis_label",
    "coordinate",
    "draw_sweep_overlay",
    "figure_title",
    "finish_overlay",
    "first_value",
    "new_figure",
    "overlay_axes",
    "save_figure",
    "set_scale",
    "spacing",
    "write_warnings",
]

_DPI = 150
#: Labels longer than this put their units on a second line (nothing is clipped).
_LABEL_CHARS = 22


def axis_label(name: str, units: str) -> str:
    """Return ``"name (units)"``, or ``name`` alone for dimensionless quantities.

    A label longer than 22 characters puts ``(units)`` on a second line, so that a y label on a
    short axes is not clipped at the figure edge.
    """
    units = short_units(units)
    if not units or units in {"1", "dimensionless"}:
        return name
    separator = "\n" if len(name) + len(units) + 3 > _LABEL_CHARS else " "
    return f"{name}{separator}({units})"


def coordinate(dataset: xr.Dataset | xr.DataArray, dim: str) -> tuple[np.ndarray, str, str]:
    """Return (scaled values, label, scale) of a sweep coordinate; scale is 'log' or 'linear'."""
    values = np.asarray(dataset[dim].values, dtype=float)
    units = str(dataset[dim].attrs.get("units", ""))
    factor, shown = display_scale(values, units)
    scale = spacing(values)
    return values / factor, axis_label(dim, shown), scale


def spacing(values: np.ndarray) -> str:
    """Return ``"log"`` for positive values in (near-)geometric, not arithmetic, progression.

    Near-geometric: the steps of ``log(values)`` within 25 % of their mean over a range of at
    least a factor 4 (a log sweep rounded onto a time grid, like the built-in Hahn echo's).
    """
    values = np.sort(np.asarray(values, dtype=float))
    if values.size > 2 and np.all(values > 0) and values[-1] >= 4 * values[0]:
        steps = np.diff(np.log(values))
        if np.all(steps > 0) and np.all(np.abs(steps - steps.mean()) <= 0.25 * steps.mean()):
            return "log"
    return "linear"


def set_scale(ax: Axes, which: str, scale: str) -> None:
    """Set the x or y scale; log axes get plain-number labels at 1, 2 and 5 per decade."""
    if which == "x":
        ax.set_xscale(scale)
        axis = ax.xaxis
    else:
        ax.set_yscale(scale)
        axis = ax.yaxis
    if scale == "log":
        axis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        axis.set_minor_locator(ticker.LogLocator(subs=(2.0, 5.0)))
        axis.set_minor_formatter(ticker.FormatStrFormatter("%g"))


def new_figure(width_in: float, height_in: float) -> Figure:
    """Return a constrained-layout figure on its own Agg canvas (no pyplot state)."""
    figure = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: str | Path) -> Figure:
    """Write ``figure`` to ``path`` at 150 dpi (format from the suffix) and return it."""
    figure.savefig(Path(path), dpi=_DPI)
    return figure


def figure_title(dataset: xr.Dataset) -> str:
    """Return ``"<protocol name> — <source>"`` (``(incomplete)`` for an interrupted run)."""
    info = record_info(dataset)
    suffix = "" if info.complete else " (incomplete)"
    return f"{info.protocol_name or 'protocol'} — {info.source or 'record'}{suffix}"


def first_value(dataset: xr.Dataset | xr.DataArray, dim: str) -> str:
    """Return the first value of a sweep coordinate with its unit (``"1 µs"``)."""
    units = str(dataset[dim].attrs.get("units", ""))
    return format_quantity(float(dataset[dim].values[0]), units)


def write_warnings(figure: Figure, lines: Sequence[str], notes: Sequence[str] = ()) -> None:
    """Write warnings (``UNRELIABLE: ...``, labels) in red, then notes in grey, across the top."""
    if not lines and not notes:
        return
    text = "\n".join(textwrap.fill(line, 100) for line in [*lines, *notes])
    figure.suptitle(text, color="C3" if lines else "0.3", fontsize="small", ha="left", x=0.02)


def overlay_axes() -> tuple[Figure, Axes, Axes]:
    """Return a comparison figure: the overlay axes above, the residual axes (shared x) below."""
    figure = new_figure(6.4, 6.0)
    top, residual = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    return figure, top, residual


def draw_sweep_overlay(
    axes: tuple[Axes, Axes],
    measured: xr.DataArray,
    values: tuple[np.ndarray, np.ndarray],
    error: float | None,
    *,
    quantity: str,
    simulated_label: str,
) -> str:
    """Draw one value per sweep point, measured and simulated, against the first sweep axis.

    Parameters
    ----------
    axes
        The overlay and residual axes of :func:`overlay_axes`.
    measured
        The measured record (its sweep coordinates and ``units``); other sweep axes are at their
        first point, and without a sweep axis the one value is drawn at x = 0.
    values
        The measured and the (scaled) simulated value at each point of the first axis.
    error
        The error bar of a measured value, or None.
    quantity, simulated_label
        The y label's quantity and the simulated curve's legend label.

    Returns
    -------
    str
        The fixed values of the other sweep axes (``"B = 1 mT"``), for the title; ``""`` if none.
    """
    top, residual = axes
    dims = [d for d in measured.dims if d != "time"]
    units = str(measured.attrs.get("units", ""))
    if dims:
        x, x_label, x_scale = coordinate(measured, dims[0])
    else:
        x, x_label, x_scale = np.zeros(1), "", "linear"
    y_measured, y_simulated = values
    top.errorbar(x, y_measured, yerr=error, fmt="o", ms=3.5, color="k", lw=0.8, label="measured")
    top.plot(x, y_simulated, color="C3", lw=1.5, label=simulated_label)
    residual.plot(x, y_measured - y_simulated, "o-", ms=3, lw=0.8, color="k")
    set_scale(residual, "x", x_scale)
    residual.set_xlabel(x_label)
    top.set_ylabel(axis_label(quantity, units))
    return ", ".join(f"{d} = {first_value(measured, d)}" for d in dims[1:])


def finish_overlay(
    figure: Figure,
    axes: tuple[Axes, Axes],
    title: str,
    units: str,
    path: str | Path,
    warnings: Sequence[str] = (),
) -> Figure:
    """Add the zero lines, the residual's label, the legend and ``title``; write to ``path``.

    ``warnings`` are written in red across the top (the comparison's ``UNRELIABLE: ...``).
    """
    write_warnings(figure, warnings)
    top, residual = axes
    top.axhline(0.0, color="0.6", lw=0.6)
    residual.axhline(0.0, color="0.6", lw=0.6)
    residual.set_ylabel(axis_label("residual", units))
    top.legend(frameon=False, fontsize="small")
    top.set_title(title, fontsize="medium")
    return save_figure(figure, path)
