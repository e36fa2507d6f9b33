"""Echo extraction from a record: complex signal, baseline, echo window, phase, integration, noise.

Everything here works on the detected complex signal ``s = signal_re + 1j*signal_im`` of a record
(dims: one per sweep axis, then ``time``), as an :class:`xarray.DataArray` so that sweep
coordinates and their units travel with the numbers. Definitions used across the package:

- *baseline*: the complex offset estimated from the first and last ``edge_fraction`` of the
  detect window (where an echo centred in the window has decayed), removed by subtraction;
- *echo window*: centre at the maximum of ``|s(t)|`` averaged over sweep points, half-width
  ``width_factor`` times the half width at half maximum;
- *zero-order phase*: ``phi = arg(sum over every sweep point of the window-averaged signal)``, one
  phase for the whole record, so sign changes along a sweep (inversion recovery, nutation)
  survive phase correction;
- *integrated echo*: the window average of ``s(t)`` (integral over the window divided by its
  length, in the units of the signal); ``"quadrature"`` mode returns
  ``Re(exp(-i phi) <s>_window)``, ``"magnitude"`` mode returns ``<|s(t)|>_window``;
- *noise*: from :func:`spin_echo.echo.analysis.noise.record_noise`, the one noise estimator
  (stored shot-to-shot or Monte-Carlo standard error, else band-limited fourth differences).

An :class:`AnalysisError` about a record's data names the record's file
(:func:`record_file`): with two records (``compare A B``) the message says which one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import xarray as xr

from spin_echo.echo.record_info import record_info
from spin_echo.sequences.errors import InputError

__all__ = [
    "AnalysisError",
    "EchoWindow",
    "check_signal",
    "find_echo",
    "integrate_echo",
    "locate_error",
    "record_file",
    "record_signal",
    "remove_baseline",
    "sweep_dims",
    "zero_order_phase",
]


class AnalysisError(InputError):
    """Data that cannot be analysed: empty, all zero, not finite, too few points, bad window."""


@dataclass(frozen=True)
class EchoWindow:
    """Integration window on the detect-window time axis.

    Attributes
    ----------
    start_s, stop_s
        Window edges in seconds from the start of the detect window (inclusive).
    center_s
        Echo maximum in seconds.
    """

    start_s: float
    stop_s: float
    center_s: float


def record_file(dataset: xr.Dataset) -> str | None:
    """Return the name of the record's file for messages (None for a dataset made in memory)."""
    file = record_info(dataset).file
    return None if file == "<record>" else file


def locate_error(err: AnalysisError, dataset: xr.Dataset) -> AnalysisError:
    """Return ``err`` naming the record's file (``err`` itself if it names a file already)."""
    file = record_file(dataset)
    if err.file is not None or file is None:
        return err
    return AnalysisError(err.message, file=file, line=err.line, key=err.key, value=err.value)


def sweep_dims(dataset: xr.Dataset) -> tuple[str, ...]:
    """Return the sweep dimensions of a record (every dimension of ``signal_re`` but ``time``)."""
    if "signal_re" not in dataset or "signal_im" not in dataset:
        raise AnalysisError("not a spin-echo record: needs data variables signal_re and signal_im")
    dims = tuple(str(d) for d in dataset["signal_re"].dims)
    if not dims or dims[-1] != "time":
        raise AnalysisError(f"signal_re must have 'time' as its last dimension, has {dims}")
    return dims[:-1]


def record_signal(dataset: xr.Dataset) -> xr.DataArray:
    """Return the complex detected signal of a record, checked for finite, non-empty data.

    Parameters
    ----------
    dataset
        A record (see SPEC.md): ``signal_re``, ``signal_im`` with dims ``(sweep..., time)`` and
        coordinate ``time`` in s.

    Returns
    -------
    xarray.DataArray
        ``signal_re + 1j*signal_im`` with the record's coordinates, ``attrs["units"]`` and
        ``attrs["record"]`` (the file, named by the errors of :func:`find_echo` and
        :func:`integrate_echo`).

    Raises
    ------
    AnalysisError
        Naming the record's file: the signal holds no written sweep point, NaN or infinite
        values inside a written one, or is zero everywhere.
    """
    sweep_dims(dataset)
    signal = dataset["signal_re"] + 1j * dataset["signal_im"]
    signal.name = "signal"
    signal.attrs["units"] = record_info(dataset).units or "arb. units"
    file = record_file(dataset)
    if file is not None:
        signal.attrs["record"] = file
    check_signal(signal.values, what="record signal", missing_points_ok=True, file=file)
    return signal


def check_signal(
    values: np.ndarray,
    *,
    what: str,
    minimum_points: int = 1,
    missing_points_ok: bool = False,
    file: str | None = None,
) -> None:
    """Raise :class:`AnalysisError` unless ``values`` is finite, not all zero and large enough.

    Parameters
    ----------
    values
        Data whose last axis is time (or a 1-D series).
    what
        Name used in the message.
    minimum_points
        Smallest acceptable number of values.
    missing_points_ok
        Accept sweep points that are NaN over their whole time trace (points an interrupted
        run never wrote); NaN inside a written trace is refused either way.
    file
        The record the values come from, named in the message (None: not a record's data).
    """
    array = np.asarray(values)
    if array.size < minimum_points:
        raise AnalysisError(
            f"has {array.size} points, needs at least {minimum_points}", file=file, key=what
        )
    finite = np.isfinite(array)
    if missing_points_ok and array.ndim > 1:
        missing = ~finite.any(axis=-1, keepdims=True)
        finite = finite | missing
        if missing.all():
            raise AnalysisError("holds no written sweep point", file=file, key=what)
    if not finite.all():
        bad = int(np.count_nonzero(~finite))
        raise AnalysisError(f"holds {bad} NaN or infinite values", file=file, key=what)
    if not np.any(np.nan_to_num(array) != 0):
        raise AnalysisError("is zero everywhere: nothing to analyse", file=file, key=what)


def remove_baseline(signal: xr.DataArray, *, edge_fraction: float = 0.1) -> xr.DataArray:
    """Subtract the complex offset estimated from both edges of the detect window.

    Parameters
    ----------
    signal
        Complex signal with a ``time`` dimension.
    edge_fraction
        Fraction of the window (0 < f <= 0.5) taken at each edge; at least one point each.

    Returns
    -------
    xarray.DataArray
        ``s(t) - mean(s over both edges)``, one offset per sweep point.
    """
    if not 0.0 < edge_fraction <= 0.5:
        raise AnalysisError("must be in (0, 0.5]", key="edge_fraction", value=edge_fraction)
    n = signal.sizes["time"]
    k = max(1, round(edge_fraction * n))
    edges = xr.concat([signal.isel(time=slice(0, k)), signal.isel(time=slice(n - k, n))], "time")
    return signal - edges.mean("time")


def find_echo(signal: xr.DataArray, *, width_factor: float = 1.5) -> EchoWindow:
    """Locate the echo: maximum of the sweep-averaged magnitude and its half width at half max.

    Parameters
    ----------
    signal
        Complex signal with a ``time`` dimension (coordinate in s).
    width_factor
        Half-width of the window in units of the echo's half width at half maximum.

    Returns
    -------
    EchoWindow
        ``center +- width_factor * HWHM``, clipped to the detect window.
    """
    time_s = np.asarray(signal["time"].values, dtype=float)
    check_signal(signal.values, what="signal", minimum_points=3, missing_points_ok=True,
                 file=signal.attrs.get("record"))  # fmt: skip
    other = [d for d in signal.dims if d != "time"]
    profile = np.abs(signal).mean(other).values if other else np.abs(signal.values)
    peak = int(np.argmax(profile))
    half = profile[peak] / 2.0
    left = peak
    while left > 0 and profile[left - 1] >= half:
        left -= 1
    right = peak
    while right < profile.size - 1 and profile[right + 1] >= half:
        right += 1
    step = float(np.median(np.diff(time_s)))
    hwhm = max((time_s[right] - time_s[left]) / 2.0, step)
    center = float(time_s[peak])
    return EchoWindow(
        start_s=max(float(time_s[0]), center - width_factor * hwhm),
        stop_s=min(float(time_s[-1]), center + width_factor * hwhm),
        center_s=center,
    )


def _window_mean(signal: xr.DataArray, window: EchoWindow | None) -> xr.DataArray:
    if window is None:
        return signal.mean("time")
    if not window.start_s <= window.stop_s:
        raise AnalysisError("window start is after its stop", key="window", value=window)
    inside = (signal["time"] >= window.start_s) & (signal["time"] <= window.stop_s)
    if not bool(inside.any()):
        raise AnalysisError("holds no sample of the detect window", key="window", value=window)
    return signal.where(inside, drop=True).mean("time")


def zero_order_phase(signal: xr.DataArray, *, window: EchoWindow | None = None) -> float:
    r"""Return the zero-order phase (rad) that makes the record's summed echo real and positive.

    .. math:: \phi = \arg \sum_{\text{sweep points}} \langle s(t) \rangle_{\text{window}}
    """
    total = complex(_window_mean(signal, window).sum().values)
    if total == 0:
        raise AnalysisError("sums to zero in the window: phase undefined", key="signal")
    return float(np.angle(total))


def integrate_echo(
    signal: xr.DataArray,
    *,
    window: EchoWindow | None = None,
    mode: Literal["quadrature", "magnitude", "complex"] = "quadrature",
    phase_rad: float | None = None,
) -> xr.DataArray:
    """Integrate the echo over a window, for every sweep point.

    Parameters
    ----------
    signal
        Complex signal ``(sweep..., time)`` (see :func:`record_signal`).
    window
        Integration window; ``None`` takes the whole detect window.
    mode
        ``"quadrature"``: ``Re(exp(-i phi) <s>)`` with the zero-order phase ``phi``;
        ``"magnitude"``: ``<|s(t)|>``; ``"complex"``: ``<s>`` unchanged.
    phase_rad
        Phase to use in quadrature mode; ``None`` finds it with :func:`zero_order_phase`.

    Returns
    -------
    xarray.DataArray
        The window average per sweep point (dims: the sweep dimensions), units of the signal.
    """
    check_signal(signal.values, what="signal", missing_points_ok=True,
                 file=signal.attrs.get("record"))  # fmt: skip
    units = signal.attrs.get("units", "arb. units")
    if mode == "magnitude":
        result = _window_mean(np.abs(signal), window)
    elif mode == "complex":
        result = _window_mean(signal, window)
    elif mode == "quadrature":
        phi = zero_order_phase(signal, window=window) if phase_rad is None else phase_rad
        result = np.real(_window_mean(signal, window) * np.exp(-1j * phi))
    else:
        raise AnalysisError(
            "must be 'quadrature', 'magnitude' or 'complex'", key="mode", value=mode
        )
    result.attrs["units"] = units
    result.name = "echo"
    return result
