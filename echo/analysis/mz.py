r"""The magnetisation :math:`m_z` of a record: picked, read, with its noise, and fitted.

A teslameter's record (``signal_kind = held_mz``, :mod:`spin_echo.echo.signal_kind`) holds no
echo: its signal is the :math:`m_z` the sequence left behind, real, the same at every detection
time, one value per sweep point. What an analysis of it does differently from an echo's:

- *the value*: the record's ``mz`` at the **last** detection time of each sweep point (held:
  every time holds it); no window, no baseline, no phase correction -- :math:`m_z` keeps its
  sign (negative after a pi pulse from a positive equilibrium);
- *the noise*: the standard error of :math:`m_z` from the shot-to-shot scatter
  (``signal_sem_re``), pooled over the written points,
  :math:`\sigma = \langle \mathrm{sem}^2 \rangle^{1/2}` (all of it is in the real part: the
  pooled complex estimator of :mod:`~.noise` would halve it), with the relative error
  :math:`1/\sqrt{2 P (n - 1)}` of P points of n shots; 0 when the shots agree exactly (the
  emulated teslameter is noise-free), none for a single shot;
- *the fits* (:func:`mz_analysis_kind`): a **nutation** (one pulse whose angle is swept) leaves
  :math:`m_z = m_\mathrm{eq} \cos\theta`, fitted by the nutation model
  :math:`A \sin(2\pi f x + \phi) e^{-x/\tau_d} + c` (:math:`\phi = \pi/2` for a cosine), whose
  f is the Rabi frequency (the calibrated ``full_scale_rabi`` as for an echo); an **inversion
  recovery** read through :math:`m_z` (one pi pulse, the time to the detection swept, no read
  pulse: it would turn :math:`m_z` into the plane) is :math:`M_0 (1 - 2 b e^{-T/T_1})`
  directly, :math:`M_0` the equilibrium :math:`m_z` with its sign; a **hole-burning** record
  (pump, then a probe with its offset swept) is fitted with the hole model on :math:`m_z`
  against the probe offset; anything else is :math:`m_z` against the sweep with its error,
  no fit.

``compare`` (:mod:`~.compare`) sets a held :math:`m_z` against the simulated record's ``mz``
at the same last detection time (:func:`reading`): the meter reads after the sequence, and the
last detection time is the simulated instant nearest that reading (a window mean would mix in
the earlier :math:`m_z` of a sample that relaxes during the window); a SQUID record's ``mz``
(``--quantity mz``) is compared at every detection time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from spin_echo.echo.analysis.decay_fits import fit_inversion_recovery
from spin_echo.echo.analysis.extraction import AnalysisError, check_signal, sweep_dims
from spin_echo.echo.analysis.families import Family, layout
from spin_echo.echo.analysis.fitting import FitResult
from spin_echo.echo.analysis.spectroscopy import fit_hole, fit_nutation
from spin_echo.echo.record_info import record_info
from spin_echo.echo.signal_kind import HELD_MZ, signal_kind

__all__ = [
    "MZ_ANALYSES",
    "QUANTITIES",
    "MzCurve",
    "MzNoise",
    "compared_quantity",
    "fit_mz",
    "held_mz",
    "mz_analysis_kind",
    "mz_curve",
    "mz_noise",
    "reading",
    "record_mz",
]

#: What ``compare --quantity`` may name.
QUANTITIES = ("auto", "signal", "mz")
#: Analyses of a held-m_z record (``plot --analysis``).
MZ_ANALYSES = ("nutation", "inversion-recovery", "hole")


def held_mz(dataset: xr.Dataset) -> bool:
    """Return True for a record whose signal is a held :math:`m_z` (a teslameter's)."""
    return signal_kind(dataset) == HELD_MZ


def compared_quantity(dataset: xr.Dataset, quantity: str = "auto", *, name: str = "") -> str:
    """Return what ``compare`` compares for the measured record: ``"signal"`` or ``"mz"``.

    ``auto`` is ``mz`` for a held-m_z record and ``signal`` otherwise; ``signal`` is refused
    for a held-m_z record (its signal is :math:`m_z`, not a transient to set against a
    simulated FID).
    """
    if quantity not in QUANTITIES:
        raise AnalysisError(
            f"must be one of {', '.join(QUANTITIES)}", key="--quantity", value=quantity
        )
    held = held_mz(dataset)
    if quantity == "auto":
        return "mz" if held else "signal"
    if quantity == "signal" and held:
        raise AnalysisError(
            "is a teslameter's record (signal_kind held_mz): its signal is the m_z the "
            "sequence left behind, not a transient; compare it as --quantity mz",
            file=name or None,
            key="--quantity",
            value=quantity,
        )
    return quantity


def record_mz(dataset: xr.Dataset, *, name: str = "") -> xr.DataArray:
    """Return a record's ``mz`` (dims: sweep axes, then ``time``), checked.

    Raises
    ------
    AnalysisError
        The record has no ``mz`` (a pickup-coil run, or a simulation from elsewhere), or it
        holds no finite value.
    """
    sweep_dims(dataset)
    if "mz" not in dataset:
        raise AnalysisError(
            "has no variable mz (spin-echo simulate writes it, as does run on a magnetometer "
            "bench): no m_z to compare",
            file=name or None,
            key="mz",
        )
    mz = dataset["mz"].astype(float)
    mz.name = "mz"
    mz.attrs = {"units": record_info(dataset).units or "normalised magnetisation"}
    check_signal(mz.values, what="mz", missing_points_ok=True)
    return mz


def reading(mz: xr.DataArray) -> xr.DataArray:
    """Return :math:`m_z` at the last detection time (the instant nearest a meter's reading).

    The ``time`` dimension is kept, of length one.
    """
    return mz.isel(time=[-1])


@dataclass(frozen=True)
class MzNoise:
    """Noise of a held :math:`m_z` (one value per sweep point).

    Attributes
    ----------
    sigma
        Standard deviation of one value (0 when the shots agree exactly).
    error
        Standard error of ``sigma``.
    source
        How it was obtained, for reports.
    """

    sigma: float
    error: float
    source: str


def mz_noise(dataset: xr.Dataset) -> MzNoise | None:
    """Return the shot-to-shot noise of a held-m_z record's value, or None without shots.

    See the module docstring: the pooled standard error of :math:`m_z` over the written
    points, all of it in the real part.
    """
    if "signal_sem_re" not in dataset or not held_mz(dataset):
        return None
    sem = np.asarray(dataset["signal_sem_re"].values, dtype=float)[..., -1]
    sem = sem[np.isfinite(sem)]
    if sem.size == 0:
        return None
    shots = record_info(dataset).shots or 2
    dof = sem.size * max(shots - 1, 1)
    sigma = float(np.sqrt(np.mean(sem**2)))
    source = f"shot-to-shot scatter of m_z, {shots} shots per point"
    return MzNoise(sigma, sigma / math.sqrt(2.0 * dof), source)


@dataclass(frozen=True)
class MzCurve:
    """The held :math:`m_z` of a one-axis sweep, ready for a fit.

    Attributes
    ----------
    name, units
        Swept parameter and its SI unit.
    x, y
        Swept values and :math:`m_z` (signed) at the written points.
    sigma
        Noise of one value (:func:`mz_noise`), None when the record has no shot scatter.
    y_units
        Units of :math:`m_z`.
    noise_source
        How ``sigma`` was obtained (``""`` when None).
    """

    name: str
    units: str
    x: np.ndarray
    y: np.ndarray
    sigma: float | None
    y_units: str
    noise_source: str = ""


def mz_curve(dataset: xr.Dataset) -> MzCurve:
    """Return the held :math:`m_z` of a record with exactly one sweep axis."""
    dims = sweep_dims(dataset)
    if len(dims) != 1:
        raise AnalysisError(
            "an m_z curve needs a record with exactly one sweep axis", key="sweep", value=dims
        )
    source = dataset if "mz" in dataset else dataset.assign(mz=dataset["signal_re"])
    mz = reading(record_mz(source)).isel(time=0)
    values = np.asarray(mz.values, dtype=float)
    written = np.isfinite(values)
    noise = mz_noise(dataset)
    return MzCurve(
        name=dims[0],
        units=str(dataset[dims[0]].attrs.get("units", "")),
        x=np.asarray(dataset[dims[0]].values, dtype=float)[written],
        y=values[written],
        sigma=None if noise is None else noise.sigma,
        y_units=str(mz.attrs["units"]),
        noise_source="" if noise is None else noise.source,
    )


def _delay_swept_after_pi(dataset: xr.Dataset, axis: str | None) -> bool:
    """Return True for one pi pulse, one window after it, ``axis`` moving the window."""
    protocol = record_info(dataset).protocol_or_none
    if protocol is None or axis is None:
        return False
    sweep = next((a for a in protocol.sweep_axes if a.name == axis), None)
    if sweep is None or len(sweep.values) < 2:
        return False
    base = {a.name: float(a.values[0]) for a in protocol.sweep_axes}
    first = layout(protocol, base)
    moved = layout(protocol, {**base, axis: float(sweep.values[1])})
    if len(first.angles_rad) != 1 or len(first.windows_s) != 1:
        return False
    if abs(first.angles_rad[0] / math.pi - 1.0) > 0.25 or first.angles_rad != moved.angles_rad:
        return False
    end = first.starts_s[0] + first.durations_s[0]
    gap = first.windows_s[0][0] - end
    gap_moved = moved.windows_s[0][0] - (moved.starts_s[0] + moved.durations_s[0])
    return not math.isclose(gap, gap_moved, rel_tol=1e-9, abs_tol=1e-15)


def mz_analysis_kind(dataset: xr.Dataset, family: Family) -> tuple[str, str]:
    """Return the analysis of a held-m_z record's :math:`m_z` and why (see the module doc).

    Returns
    -------
    tuple
        ``(kind, reason)``: kind one of :data:`MZ_ANALYSES`, or ``""`` (no fit: m_z against
        the sweep) with the reason.
    """
    axis = family.axis or next(iter(sweep_dims(dataset)), None)
    if family.name == "nutation":
        return "nutation", "m_z after a pulse of swept angle: m_eq cos(angle)"
    if family.name == "hole-burning" and family.pump_axis is None:
        return "hole", "m_z against the probe offset"
    if _delay_swept_after_pi(dataset, axis):
        return "inversion-recovery", "m_z after a pi pulse, the time to the detection swept"
    what = f"a {family.name} protocol" if family.name else "this protocol"
    return "", (
        f"no m_z analysis for {what} (m_z fits: nutation, inversion recovery as pi - T - "
        "detect, hole burning): m_z against the sweep"
    )


def fit_mz(curve: MzCurve, kind: str) -> FitResult:
    """Fit a held :math:`m_z` curve with the analysis ``kind`` (one of :data:`MZ_ANALYSES`).

    The shot scatter weights the fit when the record has it and it is not zero; otherwise
    the noise is estimated from the residuals.
    """
    sigma = curve.sigma if curve.sigma else None
    if kind == "nutation":
        units = "" if curve.units == "1" else curve.units
        return fit_nutation(curve.x, curve.y, units=units, sigma=sigma)
    if kind == "inversion-recovery":
        return fit_inversion_recovery(curve.x, curve.y, sigma=sigma)
    if kind == "hole":
        return fit_hole(curve.x, curve.y, sigma=sigma)
    raise AnalysisError(
        "has no echo: a teslameter's record (signal_kind held_mz) holds m_z; its analyses "
        f"are {', '.join(MZ_ANALYSES)}",
        key="analysis",
        value=kind,
    )
