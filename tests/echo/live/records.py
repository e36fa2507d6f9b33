"""Records for the live-view tests: a Hahn echo whose integrated echo decays with T_M = 20 µs.

``write(path, points)`` writes the first ``points`` sweep points of the built-in ``hahn-echo``
(its own tau values, 64-point window) and leaves the record incomplete (``complete = 0``) unless
every point is written, as an interrupted run does. The data are exact Gaussian echoes times
exp(-2 tau / T_M), plus a little seeded noise, so the fit is known in closed form.
"""

from __future__ import annotations

import numpy as np

from spin_echo.echo.record import RecordWriter
from spin_echo.sequences import load_protocol

T_M_S = 20e-6
TIME_S = np.linspace(0.0, 4e-6, 64, endpoint=False)
_PROTOCOL = load_protocol("hahn-echo")
TAU_S = np.asarray(_PROTOCOL.sweep_axes[0].values, dtype=float)
TEXT = _PROTOCOL.to_yaml().replace("points: 256", "points: 64")


class _StopError(Exception):
    """Ends a writer early, as an interrupted run (the record keeps complete = 0)."""


def write(path, points: int, *, noise: float = 1e-3, seed: int = 0):
    """Write the first ``points`` of the 12 tau values to ``path``; return ``path``."""
    rng = np.random.default_rng(seed)
    shape = np.exp(-(((TIME_S - 2e-6) / 0.3e-6) ** 2)) * np.exp(0.3j)
    attrs = {"protocol": TEXT, "sample": "name: grains\n", "source": "simulate",
             "units": "normalised", "seed": 1}  # fmt: skip
    axes = [("tau", TAU_S, "time")]
    try:
        with RecordWriter(path, axes=axes, time_s=TIME_S, attrs=attrs) as writer:
            for index in range(points):
                amplitude = np.exp(-2 * TAU_S[index] / T_M_S)
                signal = amplitude * shape + noise * (
                    rng.standard_normal(TIME_S.size) + 1j * rng.standard_normal(TIME_S.size)
                )
                writer.write_point((index,), signal)
            if points < TAU_S.size:
                raise _StopError
    except _StopError:
        pass
    return path
