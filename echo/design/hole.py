r"""Hole burning: the predicted hole depth against the pump-off reference.

``spin-echo plot`` divides the pump-on echo by the pump-off row of a hole-burning record
(:mod:`spin_echo.echo.analysis.record_analysis`); what must stand out of the noise is the
hole depth :math:`d = |s_\mathrm{off}| - |s_\mathrm{on}|` (integrated echo magnitudes) at each
probe offset. Its noise is that of a difference of two independent points,
:math:`\sqrt{2}\,\sigma`. The reference is the protocol's own pump-off row when a sweep axis
switches the pump off (amplitude 0); otherwise the protocol is simulated again with its pump
amplitude parameter set to 0 (the parameter that zeroes every pump pulse and leaves the probe
alone), and measuring it doubles the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from spin_echo.echo.analysis.families import layout
from spin_echo.echo.design.predict import Prediction, echo_prediction, simulate_record
from spin_echo.echo.design.verdict import HoleDepth
from spin_echo.sequences import Protocol
from spin_echo.sequences.errors import InputError

__all__ = ["hole_depth", "pump_switch"]


def _pump_off(protocol: Protocol, point: dict[str, float]) -> bool:
    return max(layout(protocol, point).amplitudes[:-2], default=0.0) == 0.0


def pump_switch(protocol: Protocol) -> str | None:
    """Return the parameter that turns the pump off when set to 0 (None if there is none).

    A dimensionless parameter qualifies when, set to 0, every pulse before the probe's last two
    has amplitude 0 and the probe's pulses are unchanged.
    """
    point = next(iter(protocol.iter_points()))[1]
    before = layout(protocol, point)
    swept = {axis.name for axis in protocol.sweep_axes}
    for name, parameter in protocol.parameters.items():
        if parameter.kind != "dimensionless" or name in swept or parameter.value == 0:
            continue
        try:
            off = protocol.with_overrides({name: "0"})
            after = layout(off, point)
        except InputError:
            continue
        if (
            max(after.amplitudes[:-2], default=0.0) == 0.0
            and after.amplitudes[-2:] == before.amplitudes[-2:]
        ):
            return name
    return None


def hole_depth(
    prediction: Prediction,
    *,
    map_function: Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]] = map,
    seed: int | None = None,
) -> HoleDepth | None:
    """Return the hole depth of a hole-burning prediction (None for another family).

    Parameters
    ----------
    prediction
        From :func:`spin_echo.echo.design.predict.predict` (magnitude mode).
    map_function, seed
        For the simulation of the pump-off reference.

    Returns
    -------
    HoleDepth or None
        Per probe point; None when the protocol is not hole burning or has no pump to switch.
    """
    if prediction.family.name != "hole-burning":
        return None
    protocol = prediction.protocol
    signal = np.array([p.signal for p in prediction.points]).reshape(protocol.sweep_shape)
    sem = np.array([p.signal_sem for p in prediction.points]).reshape(protocol.sweep_shape)
    noise = float(np.sqrt(2.0) * prediction.noise.integrated)
    pump = prediction.family.pump_axis
    if pump is not None:
        names = [axis.name for axis in protocol.sweep_axes]
        where = names.index(pump)
        axis = protocol.sweep_axes[where]
        base = next(iter(protocol.iter_points()))[1]
        off = [i for i, v in enumerate(axis.values) if _pump_off(protocol, {**base, pump: v})]
        if not off:
            return None
        reference = np.take(signal, off[:1], axis=where)
        reference_sem = np.take(sem, off[:1], axis=where)
        on = [i for i in range(len(axis.values)) if i not in off]
        burnt, burnt_sem = np.take(signal, on, axis=where), np.take(sem, on, axis=where)
        source, time_s = f"the pump-off row of '{pump}'", prediction.time_s
    else:
        name = pump_switch(protocol)
        if name is None:
            return None
        off_protocol = protocol.with_overrides({name: "0"})
        record = simulate_record(
            off_protocol,
            prediction.sample,
            frame=prediction.frame,
            packets=prediction.packets,
            seed=seed,
            map_function=map_function,
        )
        reference, reference_sem, _ = echo_prediction(
            record, mode="magnitude", window=prediction.window
        )
        burnt, burnt_sem = signal, sem
        source, time_s = (
            f"simulated with {name} = 0 (measured as a second run)",
            2 * prediction.time_s,
        )
    depth = (np.abs(reference) - np.abs(burnt)).ravel()
    depth_sem = np.sqrt(reference_sem**2 + burnt_sem**2).ravel()
    snr = np.abs(depth) / noise if noise > 0 else np.full(depth.shape, np.inf)
    return HoleDepth(depth, depth_sem, noise, snr, source, time_s)
