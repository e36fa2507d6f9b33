"""Small valid records, and the ways a tester spoilt records (one edit each, with netCDF4).

:func:`good` writes a complete Hahn-echo record of the built-in ``hahn-echo`` (12 tau values,
a 64-point window) through :class:`~spin_echo.echo.record.RecordWriter`, with ``mz`` and the
standard errors, as ``simulate`` (``source="simulate"``) or ``run`` (``source="run:lab"``)
write it; its echo decays with T_M = 20 us. :data:`HEADER` holds spoilt headers (layout,
attributes, ``point_complete``: what every reader and ``spin-echo records`` refuse) and
:data:`VALUES` spoilt values (what the readers refuse once they read the data), each as
``(spoil, key, phrase)``: the edit, the variable or attribute the message must name, and a
phrase of the message.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import netCDF4
import numpy as np

from spin_echo.echo.record import RecordWriter
from spin_echo.sequences import load_protocol

T_M_S = 20e-6
TIME_S = np.linspace(0.0, 4e-6, 64, endpoint=False)
_PROTOCOL = load_protocol("hahn-echo")
TAU_S = np.asarray(_PROTOCOL.sweep_axes[0].values, dtype=float)
TEXT = _PROTOCOL.to_yaml().replace("points: 256", "points: 64")

Spoil = Callable[[netCDF4.Dataset], None]


def good(
    path: Path,
    *,
    source: str = "simulate",
    decay: bool = True,
    scale: float = 1.0,
    points: int | None = None,
) -> Path:
    """Write a valid record to ``path`` (``points`` written: all by default); return ``path``.

    ``decay=False`` writes an echo that does not decay (its fit is UNRELIABLE); ``scale=0`` a
    signal that is zero everywhere.
    """
    rng = np.random.default_rng(0)
    shape = np.exp(-(((TIME_S - 2e-6) / 0.3e-6) ** 2)) * np.exp(0.3j)
    attrs = {"protocol": TEXT, "units": "normalised", "seed": 1, "source": source}
    if source == "simulate":
        attrs |= {"sample": "name: grains\n", "frame": "rotating", "packets": 200, "replicas": 8}
    else:
        attrs |= {"bench": "name: lab\n", "shots": 16, "receiver_bandwidth_hz": 2e6}
    written = TAU_S.size if points is None else points
    writer = RecordWriter(path, axes=[("tau", TAU_S, "time")], time_s=TIME_S, attrs=attrs,
                          with_mz=True, with_sem=True)  # fmt: skip
    for index in range(written):
        amplitude = np.exp(-2 * TAU_S[index] / T_M_S) if decay else 0.8
        noise = 1e-3 * (rng.standard_normal(TIME_S.size) + 1j * rng.standard_normal(TIME_S.size))
        signal = scale * (amplitude * shape + noise)
        mz = np.full(TIME_S.size, 0.5 * amplitude)
        sem = np.full(TIME_S.size, 1e-3 * scale) * (1 + 1j)
        writer.write_point((index,), signal, mz, sem=sem)
    writer.close()  # complete = 1 only when every point was written
    return path


def spoil(path: Path, edit: Spoil) -> Path:
    """Apply ``edit`` to the record at ``path`` in place; return ``path``."""
    with netCDF4.Dataset(path, "a") as ds:
        edit(ds)
    return path


def attr(name: str, value: object) -> Spoil:
    """Set (None: delete) a global attribute."""

    def edit(ds: netCDF4.Dataset) -> None:
        if value is None:
            if name in ds.ncattrs():
                ds.delncattr(name)
        else:
            ds.setncattr(name, value)

    return edit


def values(name: str, value: object, where: object = slice(None)) -> Spoil:
    """Set ``variable[where] = value``."""

    def edit(ds: netCDF4.Dataset) -> None:
        ds.variables[name][where] = value

    return edit


def var_attr(name: str, key: str, value: object) -> Spoil:
    """Set (None: delete) an attribute of a variable."""

    def edit(ds: netCDF4.Dataset) -> None:
        if value is None:
            ds.variables[name].delncattr(key)
        else:
            ds.variables[name].setncattr(key, value)

    return edit


def rename(name: str, new: str) -> Spoil:
    """Rename a variable (it is then missing under its own name)."""
    return lambda ds: ds.renameVariable(name, new)


def both(*edits: Spoil) -> Spoil:
    """Apply several edits."""

    def edit(ds: netCDF4.Dataset) -> None:
        for one in edits:
            one(ds)

    return edit


#: Spoilt headers: what every reader and ``spin-echo records`` refuse (spoil, key, phrase).
HEADER: dict[str, tuple[Spoil, str, str]] = {
    # R2: point_complete and complete
    "pc-5": (values("point_complete", 5), "point_complete = 5", "expected 0 or 1"),
    "pc-neg": (values("point_complete", -1), "point_complete = -1", "expected 0 or 1"),
    "pc-zero-complete": (values("point_complete", 0), "complete = 1", "0 of 12 sweep points"),
    "pc-half-complete": (
        values("point_complete", 0, slice(6, None)),
        "complete = 1",
        "6 of 12 sweep points",
    ),
    "pc-missing-incomplete": (
        both(rename("point_complete", "pc_x"), attr("complete", 0)),
        "point_complete",
        "complete = 0 must say which",
    ),
    "complete-2": (attr("complete", 2), "complete = 2", "must be 0 or 1"),
    "complete-missing": (attr("complete", None), "complete", "missing attribute"),
    # R4: attributes
    "sample-garbage": (attr("sample", "{{{: ["), "sample:1", "YAML syntax error"),
    "sample-int": (attr("sample", "7"), "sample:1", "must be a mapping"),
    "bench-garbage": (attr("bench", "{{{: ["), "bench:1", "YAML syntax error"),
    "protocol-garbage": (attr("protocol", "{{{ : [ garbage"), "protocol:1", "YAML syntax"),
    "created-garbage": (attr("created", "not a date"), "created = 'not a date'", "ISO 8601"),
    "packets-0": (attr("packets", 0), "packets = 0", "whole number >= 1"),
    "packets-text": (attr("packets", "many"), "packets = 'many'", "whole number >= 1"),
    "replicas-neg": (attr("replicas", -3), "replicas = -3", "whole number >= 0"),
    "replicas-1": (attr("replicas", 1), "replicas = 1", "0 (no Monte-Carlo error) or"),
    "seed-neg": (attr("seed", -5), "seed = -5", "whole number >= -1"),
    "source-run-nameless": (attr("source", "run:"), "source = 'run:'", "'run:<bench name>'"),
    "shots-0": (attr("shots", 0), "shots = 0", "whole number >= 1"),
    "time-no-units": (var_attr("time", "units", None), "time", "missing attribute units"),
    "time-ms": (var_attr("time", "units", "ms"), "time.units = 'ms'", "expected units 's'"),
    "tau-furlongs": (var_attr("tau", "units", "furlongs"), "tau.units = 'furlongs'", "SI"),
    "scale-factor": (var_attr("signal_re", "scale_factor", 0.0), "signal_re", "scale_factor"),
    "valid-max": (var_attr("signal_re", "valid_max", -1e9), "signal_re", "valid_max"),
    # R8: core variables
    "no-signal_re": (rename("signal_re", "sigre"), "not a spin-echo record", "signal_re"),
    "no-time": (rename("time", "zz"), "not a spin-echo record", "missing time"),
}

#: Spoilt values: what the readers refuse once they read the data (spoil, key, phrase).
VALUES: dict[str, tuple[Spoil, str, str]] = {
    "sem-negative": (values("signal_sem_re", -0.1), "signal_sem_re = -0.1", "standard error"),
    "sem-infinite": (values("signal_sem_im", np.inf), "signal_sem_im = inf", "standard error"),
    "mz-outside": (values("mz", 7.0), "mz = 7.0", "in [-1, 1]"),
    "window-99": (values("window", 99), "window = 99.0", "numbered 0, 1, 2"),
    "written-but-empty": (
        values("signal_re", np.nan, slice(5, 8)),
        "signal_re",
        "3 sweep point(s) that point_complete says were written",
    ),
    "time-reversed": (lambda ds: values("time", ds["time"][::-1])(ds), "time", "increasing"),
}
