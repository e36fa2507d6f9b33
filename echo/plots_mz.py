"""Figures of a magnetisation :math:`m_z`: a teslameter's record, and an m_z comparison.

:func:`plot_mz` draws what ``spin-echo plot`` shows for a record whose signal is a held
:math:`m_z` (:mod:`spin_echo.echo.analysis.mz`): :math:`m_z` against the sweep with the error
of one value (the shot-to-shot scatter), signed, with the fitted curve and normalised
residuals when an analysis fits. :func:`plot_mz_compare` overlays a measured and a scaled
simulated :math:`m_z` (``spin-echo compare`` on such a record), residuals below.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from spin_echo.echo.analysis.mz import mz_curve
from spin_echo.echo.figure import (
    axis_label,
    draw_sweep_overlay,
    figure_title,
    finish_overlay,
    new_figure,
    overlay_axes,
    save_figure,
    set_scale,
    spacing,
    write_warnings,
)
from spin_echo.echo.units_format import display_scale, format_quantity

if TYPE_CHECKING:
    from spin_echo.echo.analysis.compare import Comparison
    from spin_echo.echo.analysis.record_analysis import RecordAnalysis

__all__ = ["plot_mz", "plot_mz_compare"]


def plot_mz(dataset: xr.Dataset, analysis: RecordAnalysis, path: str | Path) -> Figure:
    """Draw a held :math:`m_z` against the sweep, with the analysis' fit when there is one.

    Parameters
    ----------
    dataset
        A record whose ``signal_kind`` is ``held_mz``, one sweep axis.
    analysis
        Its analysis (:func:`spin_echo.echo.analysis.record_analysis.analyse_record`).
    path
        Output image.

    Returns
    -------
    matplotlib.figure.Figure
        One axes (no fit) or two (fit above, residuals in units of the noise below); the y
        axis reads ``m_z``.
    """
    curve = mz_curve(dataset)
    fit = analysis.fit
    factor, shown = display_scale(curve.x, curve.units)
    figure = new_figure(8.6 if fit else 6.4, 6.0 if fit else 4.4)
    if fit is None:
        ax_top, ax_res = figure.subplots(1, 1), None
    else:
        ax_top, ax_res = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    error = fit.sigma if fit is not None else curve.sigma
    ax_top.errorbar(curve.x / factor, curve.y, yerr=error if np.any(error) else None, fmt="o",
                    ms=3.5, color="k", lw=0.8, label="m_z measured")  # fmt: skip
    ax_top.axhline(0.0, color="0.6", lw=0.6)
    ax_top.set_ylabel(axis_label("m_z", analysis.y_units))
    scale = spacing(np.unique(curve.x))
    bottom = ax_top if ax_res is None else ax_res
    if fit is not None and ax_res is not None:
        dense = (np.geomspace if scale == "log" else np.linspace)(fit.x.min(), fit.x.max(), 400)
        ax_top.plot(dense / factor, fit.predict(dense), color="C3", lw=1.5, label=fit.formula)
        lines = [*fit.parameter_lines(), *(d.line() for d in analysis.derived)]
        box = "\n".join(textwrap.fill(line, 34, subsequent_indent="  ") for line in lines)
        ax_top.legend(frameon=True, fontsize="small", loc="upper left", title=box,
                      bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, title_fontsize="small",
                      alignment="left")  # fmt: skip
        ax_top.set_title(textwrap.fill(f"{fit.model} of m_z, {fit.quality_line()}", 64),
                         fontsize="medium")  # fmt: skip
        ax_res.axhline(0.0, color="0.6", lw=0.6)
        ax_res.plot(fit.x / factor, (fit.y - fit.predict(fit.x)) / fit.sigma, "o", ms=3,
                    color="k")  # fmt: skip
        ax_res.set_ylabel("residual (σ)")
    else:
        ax_top.set_title(f"{figure_title(dataset)}: m_z, no fit", fontsize="medium")
        ax_top.legend(frameon=False, fontsize="small")
    bottom.set_xlabel(axis_label(curve.name, shown))
    set_scale(bottom, "x", scale)
    health = [] if fit is None else fit.health.lines()
    reasons = () if fit is None else fit.health.reasons
    write_warnings(figure, health, [n for n in analysis.notes if n not in reasons])
    return save_figure(figure, path)


def plot_mz_compare(comparison: Comparison, path: str | Path) -> Figure:
    """Overlay a measured and a scaled simulated :math:`m_z`, residuals below.

    Against the first sweep axis (other axes at their first point), at the compared time (a
    held reading), or the mean over the detection times (a SQUID loop's ``mz``).

    Parameters
    ----------
    comparison
        A result of :func:`spin_echo.echo.analysis.compare.compare_records` with quantity
        ``"mz"``.
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
    title = (f"m_z: scale c = {format_quantity(comparison.scale.real, '')}; "
             f"reduced chi-square {comparison.chi2_reduced:.3g}")  # fmt: skip
    first = {d: 0 for d in dims[1:]}
    mean_m = measured.isel(first).mean("time")
    mean_s = simulated.isel(first).mean("time")
    sigma = comparison.noise_sigma
    error = sigma / np.sqrt(measured.sizes["time"]) if np.isfinite(sigma) and sigma > 0 else None
    fixed = draw_sweep_overlay(
        (ax_top, ax_res),
        measured,
        (mean_m.values, mean_s.values),
        error,
        quantity="m_z",
        simulated_label="simulated mz × c",
    )
    if fixed:
        title += f"\n{fixed}"
    return finish_overlay(figure, (ax_top, ax_res), title, units, path, comparison.health.lines())
