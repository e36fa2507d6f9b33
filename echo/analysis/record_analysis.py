"""Choose and run the analysis a record calls for: decay, CPMG, recovery, nutation, hole.

:func:`analyse_record` reads the protocol name stored in the record and picks:

============================  ======================  ==========================================
protocol                      analysis                data fitted
============================  ======================  ==========================================
``hahn-echo``                 ``stretched``           phase-corrected echo versus ``tau``
``stimulated-echo``           ``stretched``           echo versus the one swept time
``cpmg``                      ``cpmg``                every echo of the train versus its time
``inversion-recovery``        ``inversion-recovery``  signed echo/FID versus the recovery time
``nutation``                  ``nutation``            signed FID versus pulse length/amplitude
``hole-burning``              ``hole``                echo magnitude versus probe offset
============================  ======================  ==========================================

or the analysis named explicitly. The noise of each value is the record's noise
(:func:`spin_echo.echo.analysis.extraction.estimate_noise`) over the square root of the samples
averaged, except for
a simulation (``source = "simulate"``), which has no measurement noise: it is fitted with the
noise estimated from the residuals (the standard errors then measure how well the model
function describes the simulated curve).
CPMG echo times come from the protocol compiled at each sweep point: the time from the centre of
the first pulse to the centre of each detection window, which is where the echo is refocused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from spin_echo.echo.analysis.decay_fits import fit_cpmg, fit_echo_decay, fit_inversion_recovery
from spin_echo.echo.analysis.extraction import (
    AnalysisError,
    echo_curve,
    estimate_noise,
    record_signal,
    sweep_dims,
)
from spin_echo.echo.analysis.fitting import FitResult
from spin_echo.echo.analysis.spectroscopy import fit_hole, fit_nutation
from spin_echo.sequences import Protocol, compile_timeline
from spin_echo.sequences.yamlio import load_yaml

__all__ = ["ANALYSES", "RecordAnalysis", "analyse_record", "cpmg_train", "protocol_name"]

#: Analyses :func:`analyse_record` knows, besides ``"auto"``.
ANALYSES = ("exponential", "stretched", "cpmg", "inversion-recovery", "nutation", "hole")

_BY_PROTOCOL = {
    "hahn-echo": "stretched",
    "stimulated-echo": "stretched",
    "cpmg": "cpmg",
    "inversion-recovery": "inversion-recovery",
    "nutation": "nutation",
    "hole-burning": "hole",
}


@dataclass(frozen=True)
class RecordAnalysis:
    """An analysis of a record: the fit and what its x axis is.

    Attributes
    ----------
    kind
        One of :data:`ANALYSES`.
    fit
        The curve fit, with standard errors.
    x_name, x_units
        The quantity on the x axis and its SI unit.
    y_units
        Units of the signal.
    """

    kind: str
    fit: FitResult
    x_name: str
    x_units: str
    y_units: str


def protocol_name(dataset: xr.Dataset) -> str:
    """Return the ``name`` of the protocol stored in a record (``""`` if there is none)."""
    text = dataset.attrs.get("protocol")
    if not isinstance(text, str) or not text.strip():
        return ""
    name = load_yaml("record:protocol", text=text, error_class=AnalysisError).get("name")
    return "" if name is None else str(name.plain())


def cpmg_train(dataset: xr.Dataset) -> tuple[np.ndarray, np.ndarray, float]:
    """Integrate every echo of a CPMG record.

    Returns
    -------
    tuple
        ``(echo_times_s, echo, sigma)``: the time of each echo after the centre of the first
        pulse, its phase-corrected window average (one phase for the whole record), and the
        noise of one value; all written sweep points together.
    """
    text = dataset.attrs.get("protocol")
    if not isinstance(text, str) or not text.strip():
        raise AnalysisError("the record has no protocol: echo times unknown", key="protocol")
    protocol = Protocol.from_yaml(text, source="record:protocol")
    signal = record_signal(dataset)
    values = signal.values.reshape(-1, signal.sizes["time"])
    times, means, counts = [], [], []
    for (_, point), trace in zip(protocol.iter_points(), values, strict=True):
        if not np.all(np.isfinite(trace)):
            continue
        timeline = compile_timeline(protocol.sequence(point, 0))
        first = timeline.pulse_index == 0
        pulse_centre = 0.5 * (
            timeline.start_s[first].min() + (timeline.start_s + timeline.duration_s)[first].max()
        )
        sizes = [window.points for window in timeline.detect]
        if sum(sizes) != trace.size or len(sizes) < 2:
            raise AnalysisError(
                f"the protocol has {len(sizes)} detection windows of {sum(sizes)} points, the "
                f"record {trace.size} points; a CPMG record needs one window per echo",
                key="time",
            )
        chunks = np.split(trace, np.cumsum(sizes)[:-1])
        for window, chunk in zip(timeline.detect, chunks, strict=True):
            times.append(window.start_s + window.duration_s / 2 - pulse_centre)
            means.append(chunk.mean())
            counts.append(window.points)
    if not means:
        raise AnalysisError("holds no written sweep point", key="record signal")
    means_array = np.array(means)
    phase = np.angle(means_array.sum())
    sigma = estimate_noise(signal) / np.sqrt(min(counts))
    return np.array(times), np.real(means_array * np.exp(-1j * phase)), float(sigma)


def analyse_record(dataset: xr.Dataset, kind: str = "auto") -> RecordAnalysis | None:
    """Run the analysis that fits the record (``kind="auto"``) or the one named.

    Parameters
    ----------
    dataset
        A record.
    kind
        ``"auto"`` or one of :data:`ANALYSES`.

    Returns
    -------
    RecordAnalysis or None
        None when ``kind="auto"`` and the protocol calls for no fit (or the record has not the
        one sweep axis the fit needs).
    """
    if kind == "auto":
        kind = _BY_PROTOCOL.get(protocol_name(dataset), "")
        if not kind or (kind != "cpmg" and len(sweep_dims(dataset)) != 1):
            return None
    if kind not in ANALYSES:
        raise AnalysisError(f"must be 'auto' or one of {', '.join(ANALYSES)}", key="analysis")
    units = str(dataset.attrs.get("units", ""))
    measured = str(dataset.attrs.get("source", "")) != "simulate"
    if kind == "cpmg":
        times, echo, noise = cpmg_train(dataset)
        fit = fit_cpmg(times, echo, sigma=noise if measured and noise > 0 else None)
        return RecordAnalysis(kind, fit, "echo time", "s", units)
    curve = echo_curve(dataset, mode="magnitude" if kind == "hole" else "quadrature")
    sigma = curve.sigma if measured and curve.sigma > 0 else None
    if kind in ("exponential", "stretched"):
        fit = fit_echo_decay(curve.x, curve.y, stretched=kind == "stretched", sigma=sigma)
    elif kind == "inversion-recovery":
        fit = fit_inversion_recovery(curve.x, curve.y, sigma=sigma)
    elif kind == "nutation":
        units_x = "" if curve.units == "1" else curve.units
        fit = fit_nutation(curve.x, curve.y, units=units_x, sigma=sigma)
    else:
        fit = fit_hole(curve.x, curve.y, sigma=sigma)
    return RecordAnalysis(kind, fit, curve.name, curve.units, units)
