r"""Compare a measured record with a simulated one: align, scale, residual, chi-square.

Alignment. The two records must come from protocols of the same *structure*: the same ordered
list of sequence step kinds (e.g. pulse, delay, pulse, delay, detect) and the same nominal
angle of each pulse as written (pi/2 - pi is a Hahn echo, pi - pi/2 an inversion recovery; a
pulse given by amplitude and duration matches any), and the same sweep axes (by name).
Parameter values may differ. On every axis (``time`` and each sweep axis) the comparison uses
the measured grid points that lie inside the range both records cover, and the simulated
record is interpolated linearly onto them (real and imaginary parts). An axis whose ranges do
not overlap, or a single-point axis whose values differ, is refused. Sweep points an
interrupted measurement never wrote (NaN) are left out.

Scale. One complex factor ``c`` (amplitude ``|c|`` and phase ``arg c``) maps the simulation
onto the measurement, by linear least squares over every common point:

.. math:: c = \frac{\sum \bar{s}\, m}{\sum |s|^2}, \qquad r = m - c\,s

Noise. ``sigma`` per quadrature comes from the measured record itself
(:func:`spin_echo.echo.analysis.noise.record_noise`): the pooled standard error of the mean from
the shot-to-shot
scatter where the record stores it (``signal_sem_re``, ``signal_sem_im``), else fourth
differences at the resolution of the receiver that band-limited the noise; a known value can be
passed instead. The noise is correlated along time by the receiver (correlation matrix ``R``
per trace, :func:`spin_echo.echo.analysis.noise.correlation_matrix`), so the standard error of each
of the real and
imaginary parts of ``c`` is ``sigma sqrt(sum s^H R s) / sum |s|^2``.

Figures of merit. ``rms residual = sqrt(mean |r|^2)``; the reduced chi-square
``sum |r|^2 / sigma^2 / (2 N - 2)`` (N complex points are 2 N real values; 2 real parameters);
per sweep point, the rms residual, the residual relative to the rms measured signal, and the
reduced chi-square of that point alone (2 n_time degrees of freedom). With correlated noise the
reduced chi-square still has the mean 1 for a model that fits, but it scatters as if there were
only ``independent`` = (number of traces) ``N_t^2 / sum R_ij^2`` values: its standard deviation
is ``sqrt(2 / independent)``.

Magnetisation (``quantity``, :mod:`~.mz`). A teslameter's record (``signal_kind = held_mz``)
holds no transient: its :math:`m_z` is compared with the simulated record's ``mz`` (refused
when it has none), both taken at the last detection time of each sweep point (the instant
nearest the meter's reading, :func:`~.mz.reading`): one real value per point. ``quantity="mz"``
compares a SQUID record's ``mz`` at every detection time. For :math:`m_z` the factor ``c`` is
real (a calibration gain; :math:`m_z` has no phase), ``c = sum s m / sum s^2``, the reduced
chi-square is ``sum r^2 / sigma^2 / (N - 1)`` over the N real values, and ``sigma`` is the
shot-to-shot scatter of the held :math:`m_z` (:func:`~.mz.mz_noise`) or the value given; a
SQUID record stores no scatter of its ``mz``, so its chi-square needs ``noise_sigma``
(``nan`` without it). Values of a held :math:`m_z` are independent; a SQUID ``mz`` is smoothed
over the receiver's guard, its values along time are not, so ``independent`` counts sweep
points there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import xarray as xr

from spin_echo.echo.analysis.extraction import record_signal, sweep_dims
from spin_echo.echo.analysis.fitting import MAX_MAGNITUDE, check_magnitude
from spin_echo.echo.analysis.health import FitHealth, chi2_outside
from spin_echo.echo.analysis.mz import compared_quantity, held_mz, mz_noise, reading, record_mz
from spin_echo.echo.analysis.noise import (
    correlate,
    correlation_sum,
    receiver_bandwidth_hz,
    record_noise,
)
from spin_echo.echo.record_info import RecordError, record_info
from spin_echo.echo.units_format import format_quantity
from spin_echo.sequences.errors import InputError

__all__ = ["CompareError", "Comparison", "align_records", "compare_records", "protocol_structure"]

_RTOL = 1e-9


class CompareError(InputError):
    """Two records that cannot be compared: different structure, axes or no overlap."""


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare_records`.

    Attributes
    ----------
    measured
        Measured complex signal on the common grid (dims: sweep axes, then ``time``).
    simulated
        Simulated signal interpolated onto the common grid and multiplied by ``scale``.
    scale
        Complex factor ``c`` applied to the simulation.
    scale_error
        Standard error of the real and of the imaginary part of ``c``.
    noise_sigma
        Noise standard deviation per quadrature of the measured signal (its units).
    noise_source
        How ``noise_sigma`` was obtained.
    noise_error
        Standard error of ``noise_sigma`` (0 when given).
    rms_residual
        ``sqrt(mean |m - c s|^2)`` over the common grid (units of the measured signal).
    relative_residual
        ``||m - c s|| / ||m||``.
    chi2_reduced
        ``sum |r|^2 / sigma^2 / dof``; 0 for a zero residual, inf for noise-free data that differ.
    dof
        Degrees of freedom ``2 N - 2``.
    independent
        Number of independent values the correlated noise amounts to; the reduced chi-square
        of a good model is ``1 +- sqrt(2 / independent)``.
    per_point
        Dataset over the sweep axes with ``rms_residual``, ``relative_residual`` and
        ``chi2_reduced`` of each sweep point.
    notes
        What alignment did (axes cut, interpolation), one line each.
    quantity
        What was compared: ``"signal"`` (complex ``c``) or ``"mz"`` (real ``c``).
    """

    measured: xr.DataArray
    simulated: xr.DataArray
    scale: complex
    scale_error: float
    noise_sigma: float
    noise_source: str
    noise_error: float
    rms_residual: float
    relative_residual: float
    chi2_reduced: float
    dof: int
    independent: float
    per_point: xr.Dataset
    notes: tuple[str, ...]
    quantity: str = "signal"

    @property
    def residual(self) -> xr.DataArray:
        """Return ``m - c s`` on the common grid."""
        return self.measured - self.simulated

    @cached_property
    def health(self) -> FitHealth:
        """The comparison's check: a reduced chi-square inside the band the noise allows.

        The band is :func:`~spin_echo.echo.analysis.health.chi2_band` at the independent values
        the correlated noise amounts to, less the two fitted parts of ``c``; outside it the
        simulation does not describe the measurement (or the noise is misjudged) and the
        errors of ``c`` do not hold. Without a noise (unknown, or zero: shots that agree
        exactly) there is no band and the errors of ``c`` are 0 or unknown: unreliable too.
        """
        if not (np.isfinite(self.noise_sigma) and self.noise_sigma > 0):
            what = "unknown" if np.isnan(self.noise_sigma) else "0 (the shots agree exactly)"
            return FitHealth((
                f"the measured noise is {what}: the errors of the scale and the chi-square do "
                "not hold; give --noise",
            ))  # fmt: skip
        dof = max(round(self.independent) - (1 if self.quantity == "mz" else 2), 1)
        band = chi2_outside(self.chi2_reduced, dof)
        if band is None:
            return FitHealth()
        low, high = band
        why = (
            "the simulation does not describe the measurement, or the noise is underestimated"
            if self.chi2_reduced > high
            else "the noise is overestimated, or the records share their noise"
        )
        return FitHealth((
            f"reduced chi-square {self.chi2_reduced:.3g} outside [{low:.2g}, {high:.2g}] "
            f"allowed by the noise at {dof} independent values: {why}; the errors of the "
            "scale do not hold",
        ))  # fmt: skip


def protocol_structure(dataset: xr.Dataset, *, name: str) -> tuple[str, ...]:
    """Return the ordered step kinds of a record's protocol (``("pulse", "delay", ...)``).

    Parameters
    ----------
    dataset
        A record with a ``protocol`` attribute (YAML text).
    name
        The record's file name, for messages.
    """
    try:
        info = record_info(dataset)
    except RecordError as err:
        raise CompareError(err.message, file=name, key=err.key, value=err.value) from None
    if info.protocol_text is None:
        raise CompareError("record has no protocol attribute", file=name)
    if not info.structure:
        raise CompareError("record's protocol has no sequence", file=name)
    return info.structure


def _check_same_structure(
    measured: xr.Dataset, simulated: xr.Dataset, names: tuple[str, str]
) -> None:
    """Refuse records whose protocols differ in step kinds or in pulse angles."""
    structures = [
        protocol_structure(measured, name=names[0]),
        protocol_structure(simulated, name=names[1]),
    ]
    if structures[0] != structures[1]:
        raise CompareError(
            f"protocols differ in structure: {names[0]} has {' - '.join(structures[0])}, "
            f"{names[1]} has {' - '.join(structures[1])}",
            key="protocol",
        )
    angles = [record_info(measured).pulse_angles, record_info(simulated).pulse_angles]
    for index, (first, second) in enumerate(zip(*angles, strict=False)):
        if first and second and first != second:
            shown = [", ".join(a or "?" for a in pulse) for pulse in angles]
            raise CompareError(
                f"protocols differ in structure: pulse {index + 1} is {first} in {names[0]}, "
                f"{second} in {names[1]} (pulse angles {names[0]}: {shown[0]}; "
                f"{names[1]}: {shown[1]})",
                key="protocol",
            )


def _common_axis(
    dim: str, measured: np.ndarray, simulated: np.ndarray, names: tuple[str, str]
) -> tuple[np.ndarray, str | None]:
    """Return (indices of measured points inside the common range, note or None)."""
    low = max(measured.min(), simulated.min())
    high = min(measured.max(), simulated.max())
    tolerance = _RTOL * max(np.abs(measured).max(), np.abs(simulated).max(), 1e-300)
    inside = np.flatnonzero((measured >= low - tolerance) & (measured <= high + tolerance))
    if inside.size == 0:
        raise CompareError(
            f"axis {dim!r} does not overlap: {names[0]} covers "
            f"[{measured.min():.6g}, {measured.max():.6g}], {names[1]} covers "
            f"[{simulated.min():.6g}, {simulated.max():.6g}]",
            key=dim,
        )
    note = None
    same_grid = measured.shape == simulated.shape and np.allclose(
        measured, simulated, rtol=_RTOL, atol=tolerance
    )
    if not same_grid:
        note = f"{dim}: {inside.size} of {measured.size} measured points in the common range"
        note += f" [{low:.6g}, {high:.6g}], simulated interpolated linearly"
    return inside, note


def align_records(
    measured: xr.Dataset,
    simulated: xr.Dataset,
    *,
    names: tuple[str, str] = ("measured", "simulated"),
    quantity: str = "signal",
) -> tuple[xr.DataArray, xr.DataArray, tuple[str, ...]]:
    """Put two records on the measured grid restricted to the common ranges.

    Parameters
    ----------
    measured, simulated
        The records.
    names
        File names for messages.
    quantity
        ``"signal"``: the complex signals; ``"mz"``: both records' ``mz``, at the last
        detection time only when the measured record holds a teslameter's :math:`m_z`.

    Returns
    -------
    tuple
        ``(measured, simulated, notes)``: values on the same grid and one note per axis that
        needed cutting or interpolation.
    """
    _check_same_structure(measured, simulated, names)
    dims_m, dims_s = sweep_dims(measured), sweep_dims(simulated)
    if set(dims_m) != set(dims_s):
        raise CompareError(
            f"sweep axes differ: {names[0]} has {list(dims_m) or 'none'}, "
            f"{names[1]} has {list(dims_s) or 'none'}",
            key="sweep",
        )
    if quantity == "mz":
        signal_m, signal_s = record_mz(measured, name=names[0]), record_mz(simulated, name=names[1])
        if held_mz(measured):
            signal_m, signal_s = reading(signal_m), reading(signal_s)
            signal_s = signal_s.assign_coords(time=signal_m["time"].values)
        signal_s = signal_s.transpose(*dims_m, "time")
    else:
        signal_m = record_signal(measured)
        signal_s = record_signal(simulated).transpose(*dims_m, "time")
    notes = []
    selection: dict[str, np.ndarray] = {}
    axes = (*dims_m, "time") if signal_m.sizes["time"] > 1 else dims_m  # a reading: no time axis
    for dim in axes:
        grid_m = np.asarray(signal_m[dim].values, dtype=float)
        grid_s = np.asarray(signal_s[dim].values, dtype=float)
        inside, note = _common_axis(dim, grid_m, grid_s, names)
        selection[dim] = inside
        if note:
            notes.append(note)
    signal_m = signal_m.isel(selection)
    if notes:
        target = {dim: signal_m[dim].values for dim in axes}
        real = signal_s.real.interp(target, method="linear", kwargs={"fill_value": None})
        imag = signal_s.imag.interp(target, method="linear", kwargs={"fill_value": None})
        signal_s = real if quantity == "mz" else real + 1j * imag
    else:
        signal_s = signal_s.isel(selection)
        signal_s = signal_s.assign_coords({d: signal_m[d] for d in signal_m.dims})
    return signal_m, signal_s, tuple(notes)


def compare_records(
    measured: xr.Dataset,
    simulated: xr.Dataset,
    *,
    noise_sigma: float | None = None,
    names: tuple[str, str] = ("measured", "simulated"),
    quantity: str = "auto",
) -> Comparison:
    """Compare a measured and a simulated record (see the module docstring for definitions).

    Parameters
    ----------
    measured, simulated
        Records (SPEC.md), e.g. from :func:`echo.record.read_record`.
    noise_sigma
        Known noise per quadrature of the measured signal (of one :math:`m_z` value); estimated
        from it when None.
    names
        File names for messages.
    quantity
        ``"auto"`` (:math:`m_z` for a teslameter's record, else the signal), ``"signal"`` or
        ``"mz"`` (:func:`~.mz.compared_quantity`).

    Returns
    -------
    Comparison
        Scale factor, residuals, chi-square and per-point mismatch.
    """
    quantity = compared_quantity(measured, quantity, name=names[0])
    if noise_sigma is not None and not (np.isfinite(noise_sigma) and noise_sigma > 0):
        raise CompareError("must be a positive number", key="noise", value=noise_sigma)
    signal_m, signal_s, notes = align_records(measured, simulated, names=names, quantity=quantity)
    written = np.isfinite(signal_m.values).all(axis=-1) & np.isfinite(signal_s.values).all(axis=-1)
    m = signal_m.values[written]
    s = signal_s.values[written]
    for name, values in zip(names, (m, s), strict=True):
        try:
            check_magnitude(values, what=quantity, file=name)
        except InputError as err:
            raise CompareError(err.message, file=err.file, key=err.key) from None
    largest = float(np.max(np.abs(m), initial=0.0))
    if noise_sigma is not None and not 1 / MAX_MAGNITUDE < noise_sigma / largest < MAX_MAGNITUDE:
        raise CompareError(
            f"is {noise_sigma:.3g} against a largest measured value of {largest:.3g}: their "
            f"ratio must lie within 1e±{np.log10(MAX_MAGNITUDE):.0f} (chi-square overflows)",
            key="noise",
            value=noise_sigma,
        )
    norm_s = float(np.sum(np.abs(s) ** 2))
    if norm_s == 0.0:
        raise CompareError("is zero on the common grid: nothing to scale", key=names[1])
    scale = complex(np.sum(np.conj(s) * m) / norm_s)
    residual = m - scale * s
    if quantity == "mz":
        sigma, source, sigma_error = _mz_noise(measured, noise_sigma)
        notes = (*notes, *_mz_notes(measured, simulated, signal_m, names))
        independent = float(m.size if held_mz(measured) else m.shape[0])
        dof, values_per_time = m.size - 1, 1
        spread = float(np.sum(np.abs(s) ** 2))
    else:
        if noise_sigma is None:
            estimate = record_noise(measured)
            sigma, source, sigma_error = estimate.sigma, estimate.source, estimate.error
        else:
            sigma, source, sigma_error = float(noise_sigma), "given", 0.0
        window = None
        if "window" in measured:
            window = measured["window"].sel(time=signal_m["time"].values).values
        bandwidth = receiver_bandwidth_hz(measured)
        time_s = signal_m["time"].values
        squares = correlation_sum(time_s, bandwidth, window=window, squared=True)
        independent = 2 * m.shape[0] * m.shape[-1] ** 2 / squares
        dof, values_per_time = 2 * m.size - 2, 2
        # s^H rho s, rho real and symmetric: the real and imaginary parts apart
        parts = np.concatenate([s.real, s.imag]).T  # (time, 2 x points)
        spread = float(np.sum(parts * correlate(parts, time_s, bandwidth, window=window)))
    total = float(np.sum(np.abs(residual) ** 2))
    chi2 = _chi2(total, sigma, dof)
    simulated_scaled = scale.real * signal_s if quantity == "mz" else scale * signal_s
    point_residual = np.abs(signal_m - simulated_scaled) ** 2
    point_signal = np.abs(signal_m) ** 2
    n_time = signal_m.sizes["time"]
    rms_point = np.sqrt(point_residual.mean("time"))
    per_point = xr.Dataset(
        {
            "rms_residual": rms_point,
            "relative_residual": np.sqrt(point_residual.sum("time") / point_signal.sum("time")),
            "chi2_reduced": xr.apply_ufunc(
                np.vectorize(lambda value: _chi2(value, sigma, values_per_time * n_time)),
                point_residual.sum("time"),
            ),
        }
    )
    return Comparison(
        measured=signal_m,
        simulated=simulated_scaled,
        scale=scale,
        scale_error=float(sigma * np.sqrt(spread) / norm_s),
        noise_sigma=float(sigma),
        noise_source=source,
        noise_error=float(sigma_error),
        rms_residual=float(np.sqrt(total / m.size)),
        relative_residual=float(np.sqrt(total / np.sum(np.abs(m) ** 2))),
        chi2_reduced=chi2,
        dof=dof,
        independent=float(independent),
        per_point=per_point,
        notes=notes,
        quantity=quantity,
    )


def _mz_noise(measured: xr.Dataset, given: float | None) -> tuple[float, str, float]:
    """Return (sigma, source, its error) of one m_z value; sigma nan when unknown."""
    if given is not None:
        return float(given), "given", 0.0
    noise = mz_noise(measured)
    if noise is not None:
        return noise.sigma, noise.source, noise.error
    what = "single-shot record" if held_mz(measured) else "record stores no scatter of its mz"
    return float("nan"), f"unknown: {what}; give --noise", 0.0


def _mz_notes(
    measured: xr.Dataset, simulated: xr.Dataset, mz_m: xr.DataArray, names: tuple[str, str]
) -> tuple[str, ...]:
    """Say which simulated m_z a held reading is set against, and how much it varies there."""
    if not held_mz(measured):
        return ("m_z at every detection time (a SQUID loop's mz is the trace Hann-weighted "
                "over the receiver's guard: neighbouring values are not independent)",)  # fmt: skip
    when = format_quantity(float(mz_m["time"].values[-1]), "s")
    spread = np.nanmax(np.ptp(record_mz(simulated, name=names[1]).values, axis=-1))
    return (f"m_z at the last detection time ({when} into the window): the simulated instant "
            "nearest the teslameter's reading after the sequence (the simulated mz changes by "
            f"up to {spread:.3g} over the detection times)",)  # fmt: skip


def _chi2(total: float, sigma: float, dof: int) -> float:
    if dof <= 0:
        return float("nan")
    if sigma == 0.0:
        return 0.0 if total == 0.0 else float("inf")
    return float(total / sigma / sigma / dof)  # sigma**2 alone may underflow or overflow
