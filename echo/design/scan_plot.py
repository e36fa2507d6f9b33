"""The optimisation's figure: the predicted figure of merit against each varied parameter.

One panel per searched parameter (``design --vary ... --plot out.png``): the candidates of
that parameter's first line search (the grid and the bounded refinement, the other
parameters at their values then), as the predicted SNR of the best sweep point in the budget
(maximised) or, with ``--target``, the predicted standard error of the target in the budget
(minimised); the protocol as written and the chosen value are marked. Infeasible candidates
(a protocol the bench cannot play) are left out and counted in the panel's title. The
conventions are those of :mod:`spin_echo.echo.figure` (Agg figure, units with SI prefixes,
log axes for geometric grids).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from spin_echo.echo.analysis.fit_yaml import unit_of_key
from spin_echo.echo.design.knobs import knob_unit
from spin_echo.echo.design.optimise import Optimisation
from spin_echo.echo.figure import axis_label, new_figure, save_figure, set_scale, spacing
from spin_echo.echo.units_format import display_scale, format_quantity

__all__ = ["plot_optimisation"]


def plot_optimisation(result: Optimisation, path: str | Path | None = None) -> Figure:
    """Draw the figure of merit against every searched parameter; save it to ``path``.

    Parameters
    ----------
    result
        The optimisation (:func:`spin_echo.echo.design.optimise.optimise`).
    path
        Image file to write (format from the suffix); None: only return the figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    names = list(result.scans)
    figure = new_figure(4.2 * max(len(names), 1), 3.4)
    axes = figure.subplots(1, max(len(names), 1), squeeze=False)[0]
    target = result.target
    if target is None:
        quantity, units = "predicted SNR (best point)", ""
    else:
        quantity, units = f"predicted error of {target}", unit_of_key(target)
    for ax, name in zip(axes, names, strict=False):
        knob = next(k for k in result.knobs if k.name == name)
        scan = sorted(
            (c for c in result.scans[name] if c.protocol is not None), key=lambda c: c.values[name]
        )
        skipped = len({c.values[name] for c in result.scans[name] if c.protocol is None})
        x = np.array([c.values[name] for c in scan])
        y = np.array([c.error if target else c.snr for c in scan])
        x_factor, x_unit = display_scale(x if x.size else [knob.start], knob_unit(knob))
        y_factor, y_unit = display_scale(y if y.size else [1.0], units)
        ax.plot(x / x_factor, y / y_factor, "o-", color="C0", ms=3, label="candidates")
        start, best = result.start, result.best
        for found, style, label in ((start, "s", "as written"), (best, "*", "chosen")):
            if found.protocol is not None and name in found.values:
                # per-unit-time values: the budget's whole shots change both alike
                value = found.error if target else found.snr
                value *= (found.time_s / result.budget_s) ** (0.5 if target else -0.5)
                ax.plot(found.values[name] / x_factor, value / y_factor, style, ms=10, label=label)
        ax.set_xlabel(axis_label(name, x_unit))
        ax.set_ylabel(axis_label(quantity, y_unit))
        set_scale(ax, "x", spacing(x) if x.size > 2 else "linear")
        if target is not None and y.size and y.min() > 0:
            set_scale(ax, "y", "log" if y.max() > 4 * y.min() else "linear")
        title = f"search along {name}, each protocol in {format_quantity(result.budget_s, 's')}"
        ax.set_title(title + (f"; {skipped} not playable" if skipped else ""), fontsize="small")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    if path is not None:
        save_figure(figure, path)
    return figure
