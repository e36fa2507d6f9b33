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
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spin_echo.echo.analysis.extraction import find_echo, integrate_echo, record_signal, sweep_dims

if TYPE_CHECKING:
    from spin_echo.echo.analysis.compare import Comparison
    from spin_echo.echo.analysis.fitting import FitResult

__all__ = [
    "axis_label",
    "display_scale",
    "plot_compare",
    "plot_decay_fit",
    "plot_hole_spectrum",
    "plot_record",
    "short_units",
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


def short_units(units: str) -> str:
    """Return ``units`` without a trailing explanation in parentheses.

    ``"normalised magnetisation (1 = all packets fully polarised and coupled)"`` becomes
    ``"normalised magnetisation"``; ``"V"`` stays ``"V"``.
    """
    head, sep, _ = units.partition(" (")
    return head.strip() if sep and head.strip() else units


def axis_label(name: str, units: str) -> str:
    """Return ``"name (units)"``, or ``name`` alone for dimensionless quantities."""
    units = short_units(units)
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


def _set_scale(ax: Axes, which: str, scale: str) -> None:
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
        _set_scale(ax_map, "y", scale)
        ax_map.set_xlabel("time in detect window (µs)")
        ax_map.set_ylabel(sweep_label)
        figure.colorbar(mesh, ax=ax_map, label=axis_label("|s|", units))
        ax_map.set_title(_title(dataset))
        window = find_echo(signal)
        echo = integrate_echo(signal, window=window, mode="quadrature")
        ax_curve.plot(sweep, echo.values, "o-", color="C0", ms=3.5, lw=1.0)
        ax_curve.axhline(0.0, color="0.6", lw=0.6)
        _set_scale(ax_curve, "x", scale)
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
    _set_scale(ax, "x", x_scale)
    _set_scale(ax, "y", y_scale)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    figure.colorbar(mesh, ax=ax, label=axis_label("integrated |s|", units))
    fixed = ", ".join(f"{d} = {float(dataset[d].values[0]):.4g}" for d in dims[2:])
    ax.set_title(_title(dataset) + (f"\n{fixed}" if fixed else ""))
    return _save(figure, path)


def _fit_legend(fit: FitResult) -> str:
    parts = []
    for name, unit, value, error in zip(fit.names, fit.units, fit.values, fit.errors, strict=True):
        factor, shown = display_scale([value], unit)
        parts.append(f"{name} = {value / factor:.4g} ± {error / factor:.2g} {shown}".rstrip())
    return "\n".join(parts)


def _fit_figure(
    fit: FitResult, *, x_name: str, x_units: str, y_units: str
) -> tuple[Figure, Axes, float]:
    """Draw data with error bars, the fitted curve and normalised residuals (2 axes)."""
    factor, shown = display_scale(fit.x, x_units)
    x_label = axis_label(x_name, shown)
    figure = _new_figure(6.4, 6.0)
    ax_fit, ax_res = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    dense = np.linspace(fit.x.min(), fit.x.max(), 400)
    ax_fit.errorbar(
        fit.x / factor, fit.y, yerr=fit.sigma, fmt="o", ms=3.5, color="k", lw=0.8, label="data"
    )
    ax_fit.plot(dense / factor, fit.predict(dense), color="C3", lw=1.5, label=fit.formula)
    ax_fit.set_ylabel(axis_label("integrated echo", y_units))
    ax_fit.legend(frameon=False, loc="best", title=_fit_legend(fit), title_fontsize="small")
    quality = (
        f"reduced chi-square {fit.chi2_reduced:.3g} ({fit.dof} dof)"
        if fit.sigma_known
        else "noise estimated from the residuals"
    )
    ax_fit.set_title(f"{fit.model}, {quality}", fontsize="medium")
    ax_res.axhline(0.0, color="0.6", lw=0.6)
    ax_res.plot(fit.x / factor, (fit.y - fit.predict(fit.x)) / fit.sigma, "o", ms=3, color="k")
    ax_res.set_ylabel("residual (σ)")
    ax_res.set_xlabel(x_label)
    return figure, ax_fit, factor


def plot_decay_fit(
    fit: FitResult,
    path: str | Path,
    *,
    x_name: str = "tau",
    x_units: str = "s",
    y_units: str = "",
) -> Figure:
    """Draw a decay (or nutation) fit: data with error bars and the model, residuals below.

    Parameters
    ----------
    fit
        A result of :mod:`spin_echo.echo.analysis.decay_fits` or
        :func:`spin_echo.echo.analysis.spectroscopy.fit_nutation`.
    path
        Output image.
    x_name, x_units
        Swept quantity and its SI unit (``"tau"``, ``"s"``).
    y_units
        Units of the echo.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: data with fit (legend lists the parameters with standard errors) and the
        residuals in units of the noise.
    """
    figure, _, _ = _fit_figure(fit, x_name=x_name, x_units=x_units, y_units=y_units)
    return _save(figure, path)


def plot_hole_spectrum(fit: FitResult, path: str | Path, *, y_units: str = "") -> Figure:
    """Draw a hole-burning spectrum: probe echo versus offset, the fitted hole and baseline.

    Parameters
    ----------
    fit
        A result of :func:`spin_echo.echo.analysis.spectroscopy.fit_hole`.
    path
        Output image.
    y_units
        Units of the echo.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: spectrum with fit, baseline and the FWHM marked; residuals below.
    """
    figure, ax_fit, factor = _fit_figure(fit, x_name="probe offset", x_units="Hz", y_units=y_units)
    b0, b1, depth, f0, width = (fit.value(n) for n in ("b0", "b1", "d", "f0", "w"))
    dense = np.linspace(fit.x.min(), fit.x.max(), 400)
    ax_fit.plot(dense / factor, b0 + b1 * (dense - f0), "--", color="0.5", lw=1.0)
    bottom = b0 * (1.0 - depth)
    half = b0 * (1.0 - depth / 2.0)
    arrow = {"arrowstyle": "<->", "color": "C0", "lw": 1.0}
    ax_fit.annotate("", xy=(f0 / factor, b0), xytext=(f0 / factor, bottom), arrowprops=arrow)
    ax_fit.annotate(
        "",
        xy=((f0 - width / 2) / factor, half),
        xytext=((f0 + width / 2) / factor, half),
        arrowprops=arrow,
    )
    width_factor, width_unit = display_scale([width], "Hz")
    label = f"  FWHM {width / width_factor:.3g} {width_unit}"
    label += f"\n  depth {depth:.3g} ± {fit.error('d'):.2g}"
    ax_fit.text(
        (f0 + width / 2) / factor,
        half,
        label,
        color="C0",
        va="center",
        ha="left",
        fontsize="small",
    )
    return _save(figure, path)


def plot_compare(comparison: Comparison, path: str | Path) -> Figure:
    """Overlay a measured and a scaled simulated record, residuals below.

    Without sweep axes the traces are drawn versus time (Re and Im of both); with sweep axes
    the phase-corrected integrated echo (window and phase from the measured record) is drawn
    versus the first sweep axis, other axes at their first point.

    Parameters
    ----------
    comparison
        A result of :func:`spin_echo.echo.analysis.compare.compare_records`.
    path
        Output image.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: overlay and residual.
    """
    measured, simulated = comparison.measured, comparison.simulated
    units = str(measured.attrs.get("units", ""))
    dims = [d for d in measured.dims if d != "time"]
    figure = _new_figure(6.4, 6.0)
    ax_top, ax_res = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    scale = comparison.scale
    title = (
        f"scale |c| = {abs(scale):.4g}, arg c = {np.degrees(np.angle(scale)):.1f} deg; "
        f"reduced chi-square {comparison.chi2_reduced:.3g}"
    )
    if not dims:
        time_us = np.asarray(measured["time"].values) * 1e6
        sigma = comparison.noise_sigma
        for part, colour, label in ((np.real, "C0", "Re"), (np.imag, "C3", "Im")):
            ax_top.errorbar(
                time_us,
                part(measured.values),
                yerr=sigma if sigma > 0 else None,
                fmt="o",
                ms=2.5,
                lw=0.6,
                color=colour,
                alpha=0.7,
                label=f"{label} measured",
            )
            ax_top.plot(
                time_us,
                part(simulated.values),
                color=colour,
                lw=1.5,
                label=f"{label} simulated × c",
            )
            ax_res.plot(time_us, part(comparison.residual.values), color=colour, lw=1.0)
        ax_res.set_xlabel("time in detect window (µs)")
        ax_top.set_ylabel(axis_label("signal", units))
    else:
        reduced_m = measured.isel({d: 0 for d in dims[1:]})
        reduced_s = simulated.isel({d: 0 for d in dims[1:]})
        window = find_echo(reduced_m)
        phase = float(np.angle(integrate_echo(reduced_m, window=window, mode="complex").sum()))
        echo_m = integrate_echo(reduced_m, window=window, mode="quadrature", phase_rad=phase)
        echo_s = integrate_echo(reduced_s, window=window, mode="quadrature", phase_rad=phase)
        inside = (measured["time"] >= window.start_s) & (measured["time"] <= window.stop_s)
        error = comparison.noise_sigma / np.sqrt(int(inside.sum()))
        x, x_label, x_scale = _coordinate(measured, dims[0])
        ax_top.errorbar(
            x,
            echo_m.values,
            yerr=error if error > 0 else None,
            fmt="o",
            ms=3.5,
            color="k",
            lw=0.8,
            label="measured",
        )
        ax_top.plot(x, echo_s.values, color="C3", lw=1.5, label="simulated × c")
        ax_res.plot(x, echo_m.values - echo_s.values, "o-", ms=3, lw=0.8, color="k")
        _set_scale(ax_res, "x", x_scale)
        ax_res.set_xlabel(x_label)
        ax_top.set_ylabel(axis_label("integrated echo", units))
        fixed = ", ".join(f"{d} = {float(measured[d].values[0]):.4g}" for d in dims[1:])
        if fixed:
            title += f"\n{fixed}"
    ax_top.axhline(0.0, color="0.6", lw=0.6)
    ax_res.axhline(0.0, color="0.6", lw=0.6)
    ax_res.set_ylabel(axis_label("residual", units))
    ax_top.legend(frameon=False, fontsize="small")
    ax_top.set_title(title, fontsize="medium")
    return _save(figure, path)
