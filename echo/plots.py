"""Figures of records and analyses: echo transient, sweep map, decay fit, hole spectrum, compare.

Every function draws on its own :class:`matplotlib.figure.Figure` rendered by the Agg canvas
(no pyplot global state, no backend switch at import), writes it to ``path`` (format from the
suffix: ``.png``, ``.pdf``, ``.svg``) and returns the figure so callers and tests can inspect its
axes. Axes carry quantities with units; times are shown in microseconds, sweep parameters with
an SI prefix chosen from their range (angles in degrees).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spin_echo.echo.analysis.extraction import find_echo, integrate_echo, record_signal, sweep_dims
from spin_echo.echo.analysis.noise import signal_below_error
from spin_echo.echo.figure import (
    axis_label,
    coordinate,
    draw_sweep_overlay,
    figure_title,
    finish_overlay,
    first_value,
    new_figure,
    overlay_axes,
    save_figure,
    set_scale,
    spacing,
    write_warnings,
)
from spin_echo.echo.record_info import record_info
from spin_echo.echo.units_format import (
    display_scale,
    format_quantity,
    format_with_error,
    short_units,
)

if TYPE_CHECKING:
    from spin_echo.echo.analysis.compare import Comparison
    from spin_echo.echo.analysis.fitting import FitResult

__all__ = [
    "plot_compare",
    "plot_decay_fit",
    "plot_hole_spectrum",
    "plot_record",
    "plot_spectrum",
]


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
        figure = new_figure(6.4, 4.0)
        ax = figure.add_subplot()
        values = signal.values
        ax.plot(time_us, np.abs(values), color="k", lw=1.6, label="|s|")
        ax.plot(time_us, values.real, color="C0", lw=1.0, label="Re s (I)")
        ax.plot(time_us, values.imag, color="C3", lw=1.0, label="Im s (Q)")
        ax.axhline(0.0, color="0.6", lw=0.6)
        ax.set_xlabel("time in detect window (µs)")
        ax.set_ylabel(axis_label("signal", units))
        ax.legend(frameon=False)
        ax.set_title(figure_title(dataset))
        write_warnings(figure, [signal_below_error(dataset)] if signal_below_error(dataset) else [])
        return save_figure(figure, path)
    if len(dims) == 1:
        dim = dims[0]
        sweep, sweep_label, scale = coordinate(dataset, dim)
        figure = new_figure(6.4, 7.2)
        ax_map, ax_curve = figure.subplots(2, 1)
        mesh = ax_map.pcolormesh(
            time_us, sweep, np.abs(signal.values), shading="nearest", cmap="viridis"
        )
        set_scale(ax_map, "y", scale)
        ax_map.set_xlabel("time in detect window (µs)")
        ax_map.set_ylabel(sweep_label)
        figure.colorbar(mesh, ax=ax_map, label=axis_label("|s|", units))
        ax_map.set_title(figure_title(dataset))
        window = find_echo(signal)
        echo = integrate_echo(signal, window=window, mode="quadrature")
        ax_curve.plot(sweep, echo.values, "o-", color="C0", ms=3.5, lw=1.0)
        ax_curve.axhline(0.0, color="0.6", lw=0.6)
        set_scale(ax_curve, "x", scale)
        ax_curve.set_xlabel(sweep_label)
        ax_curve.set_ylabel(axis_label("integrated echo (phase-corrected)", units))
        ax_curve.set_title(
            f"window {format_quantity(window.start_s, 's', digits=3)} – "
            f"{format_quantity(window.stop_s, 's', digits=3)}",
            fontsize="medium",
        )
        write_warnings(figure, [signal_below_error(dataset)] if signal_below_error(dataset) else [])
        return save_figure(figure, path)
    first, second = dims[0], dims[1]
    reduced = signal.isel({d: 0 for d in dims[2:]}) if len(dims) > 2 else signal
    echo = integrate_echo(reduced, window=find_echo(reduced), mode="magnitude")
    x, x_label, x_scale = coordinate(dataset, second)
    y, y_label, y_scale = coordinate(dataset, first)
    figure = new_figure(6.4, 5.0)
    ax = figure.add_subplot()
    mesh = ax.pcolormesh(
        x, y, echo.transpose(first, second).values, shading="nearest", cmap="viridis"
    )
    set_scale(ax, "x", x_scale)
    set_scale(ax, "y", y_scale)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    figure.colorbar(mesh, ax=ax, label=axis_label("integrated |s|", units))
    fixed = ", ".join(f"{d} = {first_value(dataset, d)}" for d in dims[2:])
    ax.set_title(figure_title(dataset) + (f"\n{fixed}" if fixed else ""))
    write_warnings(figure, [signal_below_error(dataset)] if signal_below_error(dataset) else [])
    return save_figure(figure, path)


def plot_spectrum(dataset: xr.Dataset, path: str | Path) -> Figure:
    r"""Draw the spectrum of an FID record: ``|S(f)|`` against absolute frequency.

    Each trace (one per sweep point) is Fourier transformed along time (Hann window, zero
    padded to 4096 points); the demodulated signal of a packet at frequency f goes as
    :math:`e^{-2\pi i (f - f_c) t}`, so the absolute frequency is the trace's carrier
    :math:`f_c` (the ``carrier`` coordinate when it is swept, else the protocol's) minus the
    transform frequency. Traces at different carriers then line up on the sample's line.

    Parameters
    ----------
    dataset
        A record whose detection follows one pulse (an FID), any sweep.
    path
        Output image.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, one curve per sweep point (first point of any further axis).
    """
    signal = record_signal(dataset)
    dims = sweep_dims(dataset)
    traces = signal.values.reshape(-1, signal.sizes["time"])
    time_s = np.asarray(dataset["time"].values, dtype=float)
    step = float(np.median(np.diff(time_s)))
    size = max(4096, 2 * time_s.size)
    offsets = np.fft.fftshift(np.fft.fftfreq(size, step))
    protocol = record_info(dataset).protocol_or_none
    default = protocol.carrier_hz if protocol is not None else 0.0
    if "carrier" in dims:
        carriers = np.broadcast_to(
            dataset["carrier"].values.reshape([-1 if d == "carrier" else 1 for d in dims]),
            signal.shape[:-1],
        ).ravel()
    else:
        carriers = np.full(len(traces), default)
    labels = [", ".join(f"{d} = {first_value(dataset.isel({d: [i]}), d)}" for d, i in zip(
        dims, index, strict=True)) for index in np.ndindex(*signal.shape[:-1])]  # fmt: skip
    frequency = np.array([carriers[k] - offsets for k in range(len(traces))])
    factor, shown = display_scale(frequency, "Hz")
    figure = new_figure(6.4, 4.4)
    ax = figure.add_subplot()
    window = np.hanning(time_s.size)
    spectra = []
    for k, trace in enumerate(traces[:12]):
        if not np.all(np.isfinite(trace)):
            continue
        spectrum = np.abs(np.fft.fftshift(np.fft.fft(trace * window, size))) / window.sum()
        ax.plot(frequency[k] / factor, spectrum, lw=1.2, label=labels[k] or None)
        spectra.append((frequency[k], spectrum))
    top = max(float(spectrum.max()) for _, spectrum in spectra)
    strong = np.concatenate([f[spectrum > 0.01 * top] for f, spectrum in spectra])
    margin = 0.25 * float(np.ptp(strong)) + 4.0 / (time_s.size * step)
    ax.set_xlim((strong.min() - margin) / factor, (strong.max() + margin) / factor)
    ax.set_xlabel(axis_label("frequency", shown))
    ax.set_ylabel(axis_label("|S(f)|", short_units(signal.attrs["units"])))
    if any(labels):
        ax.legend(frameon=False, fontsize="small")
    ax.set_title(f"{figure_title(dataset)}: FID spectrum", fontsize="medium")
    write_warnings(figure, [signal_below_error(dataset)] if signal_below_error(dataset) else [])
    return save_figure(figure, path)


def _fit_legend(fit: FitResult, extra: Sequence[str] = ()) -> str:
    """Return the parameter box: ``name = value ± error unit`` per line, then ``extra``."""
    wrapped = [textwrap.fill(line, 34, subsequent_indent="  ") for line in extra]
    return "\n".join([*fit.parameter_lines(), *wrapped])


def _alternation(fit: FitResult) -> np.ndarray | None:
    """Return +1 (even echo) / -1 (odd) per point of a CPMG fit with alternation, else None."""
    if "a" not in fit.names or "(-1)^n" not in fit.formula:
        return None
    envelope = fit.values[0] * np.exp(-fit.x / fit.values[1])
    return np.sign(fit.predict(fit.x) - envelope) * np.sign(fit.value("a") or 1.0)


def _fit_figure(
    fit: FitResult,
    *,
    x_name: str,
    x_units: str,
    y_units: str,
    notes: Sequence[str] = (),
    derived: Sequence[str] = (),
) -> tuple[Figure, Axes, float]:
    """Draw data with error bars, the fitted curve and normalised residuals (2 axes).

    The parameter box (with ``derived`` lines) and the model's legend sit to the right of the
    axes, outside the data; the health line (``UNRELIABLE: ...``) and ``notes`` across the top.
    """
    factor, shown = display_scale(fit.x, x_units)
    x_label = axis_label(x_name, shown)
    figure = new_figure(8.6, 6.0)
    ax_fit, ax_res = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    scale = spacing(np.unique(fit.x))
    dense = (np.geomspace if scale == "log" else np.linspace)(fit.x.min(), fit.x.max(), 400)
    parity = _alternation(fit)
    if parity is None:
        ax_fit.errorbar(fit.x / factor, fit.y, yerr=fit.sigma, fmt="o", ms=3.5, color="k",
                        lw=0.8, label="data")  # fmt: skip
        ax_fit.plot(dense / factor, fit.predict(dense), color="C3", lw=1.5, label=fit.formula)
    else:
        a = fit.value("a")
        envelope = fit.values[0] * np.exp(-dense / fit.values[1])
        for sign, marker, name in ((1.0, "o", "even echoes"), (-1.0, "s", "odd echoes")):
            chosen = parity == sign
            ax_fit.errorbar(fit.x[chosen] / factor, fit.y[chosen], yerr=fit.sigma[chosen],
                            fmt=marker, ms=3.5, lw=0.8, mfc="none" if sign < 0 else None,
                            color="k", label=name)  # fmt: skip
            ax_fit.plot(dense / factor, envelope * (1 + sign * a), lw=1.2,
                        color="C3" if sign > 0 else "C0", ls="-" if sign > 0 else "--",
                        label=f"A exp(-t/T_2) (1 {'+' if sign > 0 else '-'} a)")  # fmt: skip
    ax_fit.set_ylabel(axis_label("integrated echo", y_units))
    ax_fit.legend(frameon=True, fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  borderaxespad=0.0, title=_fit_legend(fit, derived), title_fontsize="small",
                  alignment="left")  # fmt: skip
    ax_fit.set_title(textwrap.fill(f"{fit.model}, {fit.quality_line()}", 64), fontsize="medium")
    ax_res.axhline(0.0, color="0.6", lw=0.6)
    ax_res.plot(fit.x / factor, (fit.y - fit.predict(fit.x)) / fit.sigma, "o", ms=3, color="k")
    ax_res.set_ylabel("residual (σ)")
    ax_res.set_xlabel(x_label)
    set_scale(ax_res, "x", scale)
    health = fit.health.lines()
    write_warnings(figure, health, [n for n in notes if n not in fit.health.reasons])
    return figure, ax_fit, factor


def plot_decay_fit(
    fit: FitResult,
    path: str | Path,
    *,
    x_name: str = "tau",
    x_units: str = "s",
    y_units: str = "",
    notes: Sequence[str] = (),
    derived: Sequence[str] = (),
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
    notes
        Lines written in red across the top (with ``UNRELIABLE: ...`` when the fit failed its
        checks).
    derived
        Lines added to the parameter box (e.g. the calibrated ``full_scale_rabi``).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: data with fit (the box beside it lists the parameters with standard errors)
        and the residuals in units of the noise. A CPMG fit with odd/even alternation draws
        the odd and even echoes and their two branches.
    """
    figure, _, _ = _fit_figure(
        fit, x_name=x_name, x_units=x_units, y_units=y_units, notes=notes, derived=derived
    )
    return save_figure(figure, path)


def plot_hole_spectrum(
    fit: FitResult,
    path: str | Path,
    *,
    y_units: str = "",
    x_name: str = "probe offset",
    notes: Sequence[str] = (),
) -> Figure:
    """Draw a hole-burning spectrum: probe echo versus offset, the fitted hole and baseline.

    Parameters
    ----------
    fit
        A result of :func:`spin_echo.echo.analysis.spectroscopy.fit_hole`.
    path
        Output image.
    y_units
        Units of the echo (``""`` for the pump-on / pump-off ratio).
    x_name
        Name of the probe-offset axis.
    notes
        Lines written across the top (with ``UNRELIABLE: ...`` for a fit that failed).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: spectrum with fit, baseline and the FWHM marked; residuals below.
    """
    figure, ax_fit, factor = _fit_figure(
        fit, x_name=x_name, x_units="Hz", y_units=y_units, notes=notes
    )
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
    label = f"  FWHM {format_quantity(width, 'Hz', digits=3)}"
    label += f"\n  depth {format_with_error(depth, fit.error('d'), '')}"
    ax_fit.text(
        (f0 + width / 2) / factor,
        half,
        label,
        color="C0",
        va="center",
        ha="left",
        fontsize="small",
    )
    return save_figure(figure, path)


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
    figure, ax_top, ax_res = overlay_axes()
    scale = comparison.scale
    title = (
        f"scale |c| = {format_quantity(abs(scale), '')}, "
        f"arg c = {format_quantity(float(np.angle(scale)), 'rad', digits=3)}; "
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
        fixed = draw_sweep_overlay(
            (ax_top, ax_res),
            measured,
            (echo_m.values, echo_s.values),
            error if error > 0 else None,
            quantity="integrated echo",
            simulated_label="simulated × c",
        )
        if fixed:
            title += f"\n{fixed}"
    return finish_overlay(figure, (ax_top, ax_res), title, units, path, comparison.health.lines())
