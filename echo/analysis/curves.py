"""An integrated echo curve with its error bars: a one-axis sweep ready for a decay fit.

:func:`echo_curve` integrates the echo at every written sweep point
(:mod:`spin_echo.echo.analysis.extraction`) and gives each value the standard deviation that the
record's noise implies (:mod:`spin_echo.echo.analysis.noise`), counting the receiver's noise
correlation over the integration window once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import xarray as xr

from spin_echo.echo.analysis.extraction import (
    AnalysisError,
    EchoWindow,
    find_echo,
    integrate_echo,
    record_signal,
    remove_baseline,
    sweep_dims,
)
from spin_echo.echo.analysis.noise import record_noise

__all__ = ["EchoCurve", "echo_curve"]


@dataclass(frozen=True)
class EchoCurve:
    """Integrated echo of a one-axis sweep, ready for a fit.

    Attributes
    ----------
    name, units
        Swept parameter and its SI unit (from the record's coordinate).
    x
        Swept values (SI), written points only.
    y
        Integrated echo per point (see :func:`integrate_echo`), units ``y_units``.
    sigma
        Standard deviation of one ``y`` value: the record's noise
        (:func:`spin_echo.echo.analysis.noise.record_noise`: shot-to-shot standard error where
        stored, else
        band-limited fourth differences) times ``sqrt(sum_ij rho_ij) / n`` over the ``n``
        samples of the window, ``rho`` the receiver's noise correlation (``1/sqrt(n)`` for
        white noise).
    y_units
        Units of the signal.
    window
        Integration window.
    """

    name: str
    units: str
    x: np.ndarray
    y: np.ndarray
    sigma: float
    y_units: str
    window: EchoWindow


def echo_curve(
    dataset: xr.Dataset,
    *,
    mode: Literal["quadrature", "magnitude"] = "quadrature",
    window: EchoWindow | None = None,
    baseline: bool = False,
) -> EchoCurve:
    """Integrate the echo at every point of a record with one sweep axis.

    Parameters
    ----------
    dataset
        A record with exactly one sweep axis.
    mode
        ``"quadrature"`` (phase-corrected, signed) or ``"magnitude"``; see :func:`integrate_echo`.
    window
        Integration window; ``None`` finds it with :func:`find_echo`.
    baseline
        Remove the edge baseline first (:func:`remove_baseline`).

    Returns
    -------
    EchoCurve
        One value per written sweep point.
    """
    dims = sweep_dims(dataset)
    if len(dims) != 1:
        raise AnalysisError(
            "an echo curve needs a record with exactly one sweep axis", key="sweep", value=dims
        )
    signal = record_signal(dataset)
    if baseline:
        signal = remove_baseline(signal)
    window = find_echo(signal) if window is None else window
    echo = integrate_echo(signal, window=window, mode=mode)
    inside = ((signal["time"] >= window.start_s) & (signal["time"] <= window.stop_s)).values
    noise = record_noise(dataset)
    written = np.isfinite(echo.values)
    x = np.asarray(dataset[dims[0]].values, dtype=float)[written]
    return EchoCurve(
        name=dims[0],
        units=str(dataset[dims[0]].attrs.get("units", "")),
        x=x,
        y=np.asarray(echo.values, dtype=float)[written],
        sigma=noise.mean_sigma(np.asarray(signal["time"].values)[inside]),
        y_units=str(signal.attrs["units"]),
        window=window,
    )
