"""Choose and run the analysis a record calls for, from what its protocol *is*.

:func:`classify_record` recognises the protocol's family from its structure
(:func:`spin_echo.echo.analysis.families.classify_protocol`: its pulses, what its sweep changes,
its detection windows), so a user's copy of a built-in protocol under another name gets the same
analysis. Each family has its own model, parameters and labels:

=======================  ===================  ============================================
family                   analysis             fitted
=======================  ===================  ============================================
``hahn-echo``            ``stretched``        echo vs tau: A exp(-(2 tau/T_M)^x)
``stimulated-echo``      ``stimulated``       echo vs mixing time T: A exp(-T/T_stim)
``inversion-recovery``   ``inversion-recovery``  signed echo vs T: M_0 (1 - 2b exp(-T/T_1))
``cpmg``                 ``cpmg``             every echo of the train vs its time, with the
                                              odd/even alternation
``nutation``             ``nutation``         signed FID vs pulse length/amplitude; gives
                                              the calibrated ``full_scale_rabi``
``fid``                  ``spectrum``         no fit: the spectrum of the FID
``hole-burning``         ``hole``             echo magnitude vs probe offset (against the
                                              pump-off row when the record has one)
=======================  ===================  ============================================

or the analysis named explicitly (``exponential`` too). Noise: a measurement is fitted with its
noise (:func:`spin_echo.echo.analysis.noise.record_noise`, the one estimator). A simulation is
fitted with the noise estimated from the residuals (its standard errors then measure how well the
model describes the simulated curve): its Monte-Carlo error (``signal_sem_re``/``_im``, from
packet replicas) comes from one set of packets shared by every sweep point, so it is correlated
across the curve and cannot weight a chi-square; it is what a simulated signal is compared with.
A signal whose largest value is below twice its error is labelled (``signal below its Monte-Carlo
error`` for a simulation, ``signal below the noise`` for a measurement) and its fit marked
UNRELIABLE.
CPMG echo times come from the protocol compiled at each sweep point: from the centre of the first
pulse to the centre of each detection window, where the echo is refocused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from spin_echo.echo.analysis.curves import echo_curve
from spin_echo.echo.analysis.decay_fits import (
    fit_cpmg,
    fit_echo_decay,
    fit_inversion_recovery,
    fit_stimulated_decay,
)
from spin_echo.echo.analysis.extraction import (
    AnalysisError,
    find_echo,
    integrate_echo,
    locate_error,
    record_signal,
    sweep_dims,
)
from spin_echo.echo.analysis.families import Family, classify_protocol, layout
from spin_echo.echo.analysis.fitting import FitResult
from spin_echo.echo.analysis.mz import fit_mz, held_mz, mz_analysis_kind, mz_curve
from spin_echo.echo.analysis.noise import record_noise
from spin_echo.echo.analysis.spectroscopy import fit_hole, fit_nutation
from spin_echo.echo.record_info import record_info
from spin_echo.echo.units_format import format_quantity, format_with_error
from spin_echo.sequences import compile_timeline

__all__ = [
    "ANALYSES",
    "Derived",
    "EchoTrain",
    "RecordAnalysis",
    "analyse_record",
    "classify_record",
    "cpmg_train",
    "protocol_name",
]

#: Analyses :func:`analyse_record` knows, besides ``"auto"``.
ANALYSES = (
    "exponential",
    "stretched",
    "stimulated",
    "cpmg",
    "inversion-recovery",
    "nutation",
    "hole",
    "spectrum",
)

_BY_FAMILY = {
    "hahn-echo": "stretched",
    "stimulated-echo": "stimulated",
    "inversion-recovery": "inversion-recovery",
    "cpmg": "cpmg",
    "nutation": "nutation",
    "fid": "spectrum",
    "hole-burning": "hole",
}
_X_NAMES = {"stimulated": "mixing time T", "inversion-recovery": "recovery time T"}


@dataclass(frozen=True)
class Derived:
    """A quantity computed from the fit, e.g. the ``full_scale_rabi`` a nutation calibrates."""

    name: str
    value: float
    error: float
    units: str
    note: str = ""

    def line(self) -> str:
        """Return ``name = value ± error unit (note)``."""
        text = f"{self.name} = {format_with_error(self.value, self.error, self.units)}"
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True)
class RecordAnalysis:
    """An analysis of a record: the fit, its axes, what it derives and what it notes.

    Attributes
    ----------
    kind
        One of :data:`ANALYSES`.
    fit
        The curve fit with standard errors and health (None for ``spectrum``).
    x_name, x_units
        The quantity on the x axis and its SI unit.
    y_units
        Units of the signal.
    family
        The protocol family (:func:`classify_record`).
    derived
        Quantities computed from the fit.
    notes
        Lines for the report and the figure (sign conventions, labels such as a signal below
        its Monte-Carlo error).
    y_name
        What the values are: ``"integrated echo"``, or ``"m_z"`` for a teslameter's record
        (:mod:`~.mz`; kind ``"mz"`` and no fit when no m_z analysis fits its protocol).
    """

    kind: str
    fit: FitResult | None
    x_name: str
    x_units: str
    y_units: str
    family: Family | None = None
    derived: tuple[Derived, ...] = ()
    notes: tuple[str, ...] = field(default=())
    y_name: str = "integrated echo"

    def report(self) -> str:
        """Return what ``spin-echo plot`` prints: the fit summary, derived values and notes."""
        lines = [] if self.fit is None else [self.fit.summary()]
        lines += [f"  {d.line()}" for d in self.derived]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        """Return the analysis as plain data (``reliable: false`` with reasons when flagged)."""
        data: dict[str, object] = {"analysis": self.kind, "notes": list(self.notes)}
        data["quantity"] = self.y_name
        data["family"] = self.family.name if self.family else ""
        if self.fit is not None:
            data.update(self.fit.as_dict())
        data["derived"] = {
            d.name: {"value": d.value, "error": d.error, "units": d.units} for d in self.derived
        }
        return data


@dataclass(frozen=True)
class EchoTrain:
    """Every echo of a CPMG record: time after the first pulse, index in its train, value."""

    times_s: np.ndarray
    index: np.ndarray
    echo: np.ndarray
    sigma: float
    #: Largest fraction, over the written sweep points, of the time from the first pulse's
    #: centre to the last echo that the refocusing pulses fill.
    pulse_fraction: float = 0.0


#: Shot-to-shot scatter, relative to the signal's maximum, below which a measurement counts as
#: noiseless (rounding of the averaged shots of an emulated bench without noise is ~1e-17).
_ROUNDING_SCATTER = 1e-12

#: Pulse fraction of a CPMG train above which the fit's note says T_2 is not the sample's T2
#: (bare-t2: 1 us pi pulses fill up to 20 % of the library train: T_2 = 21.2 us for T2 = 20 us).
_PULSE_FRACTION_NOTE = 0.05


def protocol_name(dataset: xr.Dataset) -> str:
    """Return the ``name`` of the protocol stored in a record (``""`` if there is none)."""
    return record_info(dataset).protocol_name


def classify_record(dataset: xr.Dataset) -> Family:
    """Return the family of the record's protocol (see :mod:`~.families`), from its structure."""
    protocol = record_info(dataset).protocol_or_none
    if protocol is None:
        return Family("", None, None, "the record's protocol does not parse: no analysis chosen")
    return classify_protocol(protocol)


def cpmg_train(dataset: xr.Dataset) -> EchoTrain:
    """Integrate every echo of a CPMG record.

    Returns
    -------
    EchoTrain
        The time of each echo after the centre of the first pulse, its number in the train
        (1, 2, ...), its phase-corrected window average (one phase for the whole record), and
        the noise of one value (:func:`~spin_echo.echo.analysis.noise.record_noise` averaged
        over the shortest window); all written sweep points together.
    """
    info = record_info(dataset)
    if info.protocol_text is None:
        raise AnalysisError("the record has no protocol: echo times unknown", key="protocol")
    protocol = info.protocol
    signal = record_signal(dataset)
    values = signal.values.reshape(-1, signal.sizes["time"])
    time_s = np.asarray(dataset["time"].values, dtype=float)
    times, index, means, sigmas, fractions = [], [], [], [], []
    noise = record_noise(dataset)
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
        last = timeline.detect[-1]
        refocusing = (timeline.pulse_index > 0) & (timeline.start_s < last.start_s)
        span = last.start_s + last.duration_s / 2 - pulse_centre
        fractions.append(float(timeline.duration_s[refocusing].sum()) / span)
        bounds = np.cumsum(sizes)[:-1]
        for n, (window, chunk, local) in enumerate(
            zip(timeline.detect, np.split(trace, bounds), np.split(time_s, bounds), strict=True)
        ):
            times.append(window.start_s + window.duration_s / 2 - pulse_centre)
            index.append(n + 1)
            means.append(chunk.mean())
            sigmas.append(noise.mean_sigma(local))
    if not means:
        raise AnalysisError("holds no written sweep point", key="record signal")
    means_array = np.array(means)
    phase = np.angle(means_array.sum())
    return EchoTrain(
        np.array(times),
        np.array(index),
        np.real(means_array * np.exp(-1j * phase)),
        float(max(sigmas)),
        max(fractions),
    )


def _noise_label(dataset: xr.Dataset, y: np.ndarray, sigma: float | None) -> tuple[str, ...]:
    """Label a signal whose largest value is below twice its error."""
    if sigma is None or np.max(np.abs(y)) >= 2.0 * sigma:
        return ()
    if record_info(dataset).measured:
        return (f"signal below the noise (largest {format_quantity(float(np.max(np.abs(y))), '')}"
                f" < 2 sigma = {format_quantity(2 * sigma, '')})",)  # fmt: skip
    return (f"signal below its Monte-Carlo error (largest "
            f"{format_quantity(float(np.max(np.abs(y))), '')} < 2 sigma = "
            f"{format_quantity(2 * sigma, '')}): more packets needed",)  # fmt: skip


def _sigma_known(dataset: xr.Dataset) -> bool:
    """Return True for a measurement whose shot-to-shot scatter weights the fit.

    A measurement without noise (an emulated bench at ``--noise 0``: a scatter of ~1e-17 of
    the signal, rounding) weights nothing: its fit estimates the noise from the residuals, as
    for a simulation, rather than reporting a reduced chi-square of 1e27.
    """
    if not record_info(dataset).measured:
        return False
    if "signal_sem_re" not in dataset:
        return True
    sem = np.hypot(dataset["signal_sem_re"].values, dataset["signal_sem_im"].values)
    signal = np.hypot(dataset["signal_re"].values, dataset["signal_im"].values)
    finite = np.isfinite(sem) & np.isfinite(signal)
    if not finite.any():
        return True
    return bool(np.max(sem[finite]) > _ROUNDING_SCATTER * np.max(signal[finite]))


def _error(dataset: xr.Dataset, sigma: float) -> float | None:
    """Return the error a signal is compared with: the noise, or the Monte-Carlo error."""
    if _sigma_known(dataset) or "signal_sem_re" in dataset:
        return sigma
    return None


def _nutation_calibration(dataset: xr.Dataset, axis: str, fit: FitResult) -> tuple[Derived, ...]:
    r"""Turn the fitted nutation frequency into the ``full_scale_rabi`` it calibrates.

    The protocol's nominal rotation angle changes with the swept value x at the rate
    :math:`2\pi f_\mathrm{nom}` (from the laid-out pulses at two sweep points); the measured
    rate is :math:`2\pi f`, so the calibrated value is ``full_scale_rabi * f / f_nom``.
    """
    protocol = record_info(dataset).protocol_or_none
    if protocol is None or axis not in [a.name for a in protocol.sweep_axes]:
        return ()
    sweep = next(a for a in protocol.sweep_axes if a.name == axis)
    base = {a.name: float(a.values[0]) for a in protocol.sweep_axes}
    x0, x1 = float(sweep.values[0]), float(sweep.values[-1])
    angle0 = layout(protocol, {**base, axis: x0}).angles_rad[0]
    angle1 = layout(protocol, {**base, axis: x1}).angles_rad[0]
    nominal = (angle1 - angle0) / (2.0 * np.pi * (x1 - x0))
    if nominal <= 0:
        return ()
    ratio = protocol.full_scale_rabi_hz / nominal
    assumed = format_quantity(protocol.full_scale_rabi_hz, "Hz")
    return (
        Derived(
            "full_scale_rabi",
            fit.value("f") * ratio,
            fit.error("f") * ratio,
            "Hz",
            f"calibrated; protocol: {assumed}",
        ),
    )


def _hole(dataset: xr.Dataset, family: Family | None) -> tuple[FitResult, str, tuple[str, ...]]:
    """Fit the hole: along the probe axis, against the pump-off row of a 2-D record."""
    dims = sweep_dims(dataset)
    pump = family.pump_axis if family else None
    if len(dims) == 1 or pump is None:
        curve = echo_curve(dataset, mode="magnitude")
        sigma = curve.sigma if _sigma_known(dataset) and curve.sigma > 0 else None
        return fit_hole(curve.x, curve.y, sigma=sigma), curve.name, ()
    probe = family.axis if family and family.axis else dims[-1]
    if set(dims) != {probe, pump}:
        raise AnalysisError(f"a hole-burning record needs the axes {probe} and {pump}", key="sweep")
    signal = record_signal(dataset)
    window = find_echo(signal)
    echo = integrate_echo(signal, window=window, mode="magnitude").transpose(pump, probe)
    protocol = record_info(dataset).protocol
    base = {a.name: float(a.values[0]) for a in protocol.sweep_axes}
    off = [
        i
        for i, value in enumerate(dataset[pump].values)
        if max(layout(protocol, {**base, pump: float(value)}).amplitudes[:-2]) == 0
    ]
    on = [i for i in range(echo.sizes[pump]) if i not in off]
    if not off or not on:
        raise AnalysisError(
            f"needs a pump-off row (pump amplitude 0) and a pump-on row along '{pump}'", key=pump
        )
    inside = ((signal["time"] >= window.start_s) & (signal["time"] <= window.stop_s)).values
    sigma = record_noise(dataset).mean_sigma(np.asarray(signal["time"].values)[inside])
    reference, burnt = echo.values[off[0]], echo.values[on[0]]
    ratio = burnt / reference
    ratio_sigma = np.abs(ratio) * sigma * np.sqrt(1 / burnt**2 + 1 / reference**2)
    fit = fit_hole(
        np.asarray(dataset[probe].values, dtype=float),
        ratio,
        sigma=ratio_sigma if _sigma_known(dataset) and sigma > 0 else None,
    )
    note = f"echo with the pump on divided by the pump-off row ({pump} = off)"
    return fit, probe, (note,)


def _held_mz(dataset: xr.Dataset, kind: str, family: Family) -> RecordAnalysis | None:
    """Analyse a teslameter's record: its m_z per sweep point, signed, no phase (:mod:`~.mz`)."""
    if len(sweep_dims(dataset)) != 1:
        if kind == "auto":
            return None
        raise AnalysisError("an m_z analysis needs a record with one sweep axis", key="sweep")
    curve = mz_curve(dataset)
    reason = ""
    if kind == "auto":
        kind, reason = mz_analysis_kind(dataset, family)
    labels = _noise_label(dataset, curve.y, curve.sigma)
    units, name = curve.y_units, "m_z"
    if not kind:
        return RecordAnalysis("mz", None, curve.name, curve.units, units, family,
                              notes=(reason, *labels), y_name=name)  # fmt: skip
    try:
        fit = fit_mz(curve, kind)
    except AnalysisError as err:
        if not reason:  # the analysis was named: say why it does not fit
            raise
        return RecordAnalysis("mz", None, curve.name, curve.units, units, family, notes=(
            f"no m_z {kind} fit: {err}", *labels), y_name=name)  # fmt: skip
    derived = _nutation_calibration(dataset, curve.name, fit) if kind == "nutation" else ()
    x_name = _X_NAMES.get(kind, curve.name)
    x_name = x_name if x_name == curve.name else f"{x_name} ({curve.name})"
    notes = (*labels, "m_z as the teslameter read it: signed, no phase correction")
    return RecordAnalysis(kind, fit.flagged(*labels), x_name, curve.units, units, family,
                          derived, notes, y_name=name)  # fmt: skip


def analyse_record(dataset: xr.Dataset, kind: str = "auto") -> RecordAnalysis | None:
    """Run the analysis the record's protocol calls for (``kind="auto"``) or the one named.

    Parameters
    ----------
    dataset
        A record.
    kind
        ``"auto"`` or one of :data:`ANALYSES`.

    Returns
    -------
    RecordAnalysis or None
        None when ``kind="auto"`` and no family fits the protocol (:func:`classify_record`
        says why) or the record has not the sweep its family's fit needs. A teslameter's
        record (``signal_kind = held_mz``) is analysed through its m_z (:mod:`~.mz`).

    Raises
    ------
    AnalysisError
        Naming the record's file, whichever step found the problem (``compare A B``).
    """
    try:
        return _analyse(dataset, kind)
    except AnalysisError as err:
        raise locate_error(err, dataset) from None


def _analyse(dataset: xr.Dataset, kind: str) -> RecordAnalysis | None:
    """Run :func:`analyse_record` (its errors not yet located in the record's file)."""
    family = classify_record(dataset)
    if kind != "auto" and kind not in ANALYSES:
        raise AnalysisError(f"must be 'auto' or one of {', '.join(ANALYSES)}", key="analysis")
    if held_mz(dataset):
        return _held_mz(dataset, kind, family)
    if kind == "auto":
        kind = _BY_FAMILY.get(family.name, "")
        dims = sweep_dims(dataset)
        one_axis = len(dims) == 1 or (kind == "hole" and family.pump_axis is not None)
        if not kind or (kind not in ("cpmg", "spectrum") and not one_axis):
            return None
    units = record_info(dataset).units
    known = _sigma_known(dataset)
    if kind == "spectrum":
        return RecordAnalysis(kind, None, "frequency", "Hz", units, family)
    if kind == "cpmg":
        train = cpmg_train(dataset)
        sigma = train.sigma if known and train.sigma > 0 else None
        alternating = np.unique(train.index % 2).size == 2 and train.echo.size >= 6
        fit = fit_cpmg(
            train.times_s, train.echo, echo_index=train.index if alternating else None, sigma=sigma
        )
        labels = _noise_label(dataset, train.echo, _error(dataset, train.sigma))
        notes = labels
        if alternating:
            notes += ("a: odd/even echo alternation, (1 + a)/(1 - a) = even/odd (flip-angle "
                      "errors of the pi pulses cancel on every second echo)",)  # fmt: skip
        if train.pulse_fraction > _PULSE_FRACTION_NOTE:
            notes += (f"the pi pulses fill up to {100 * train.pulse_fraction:.0f} % of the "
                      "train; during a pulse the off-resonant packets turn through z, out of reach "
                      "of T2, so the train's T_2 is longer than the sample's T2 (README, "
                      "'Analysis': shorter pulses measure T2)",)  # fmt: skip
        return RecordAnalysis(kind, fit.flagged(*labels), "echo time", "s", units, family,
                              notes=notes)  # fmt: skip
    if kind == "hole":
        fit, x_name, notes = _hole(dataset, family)
        ratio = bool(notes)
        return RecordAnalysis(kind, fit, x_name, "Hz", "" if ratio else units, family,
                              notes=notes)  # fmt: skip
    curve = echo_curve(dataset, mode="quadrature")
    sigma = curve.sigma if known and curve.sigma > 0 else None
    y = curve.y
    notes: tuple[str, ...] = ()
    derived: tuple[Derived, ...] = ()
    if kind in ("exponential", "stretched"):
        fit = fit_echo_decay(curve.x, y, stretched=kind == "stretched", sigma=sigma)
    elif kind == "stimulated":
        fit = fit_stimulated_decay(curve.x, y, sigma=sigma)
    elif kind == "inversion-recovery":
        y = y * (1.0 if y[np.argmax(curve.x)] >= 0 else -1.0)
        fit = fit_inversion_recovery(curve.x, y, sigma=sigma)
        notes = ("sign convention: the recovered magnetisation (longest T) reads positive, "
                 "the inverted one negative; b = 1 is a perfect inversion",)  # fmt: skip
    else:
        units_x = "" if curve.units == "1" else curve.units
        fit = fit_nutation(curve.x, y, units=units_x, sigma=sigma)
        derived = _nutation_calibration(dataset, curve.name, fit)
    labels = _noise_label(dataset, y, _error(dataset, curve.sigma))
    x_name = _X_NAMES.get(kind, curve.name)
    if x_name != curve.name:
        x_name = f"{x_name} ({curve.name})"
    return RecordAnalysis(kind, fit.flagged(*labels), x_name, curve.units, units, family,
                          derived, labels + notes)  # fmt: skip
