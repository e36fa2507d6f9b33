r"""What a sample's environment does to a simulation, decided once for every caller.

* :func:`environment_rates`: the extra relaxation rates of the electrons and the phonons;
* :func:`check_frame`: the frames (:data:`FRAMES`) and the environments they carry;
* :func:`flip_segments` and :func:`pulse_runs`: where the pulses start, in a timeline and in a
  sampled waveform (the dynamic nuclear bath redraws its channels there);
* :func:`ensemble_key`: the part of a sample that its packets are drawn from (two samples with
  the same key draw the same ensemble, :meth:`simulator.simulation.Simulation.with_sample`).
"""

from __future__ import annotations

import json

import numpy as np
import yaml

from spin_echo.sequences.errors import InputError
from spin_echo.sequences.quantity import HZ_PER_K
from spin_echo.sequences.timeline import Timeline
from spin_echo.simulator.lab.frame import MIN_FREE_SAMPLES
from spin_echo.simulator.sample import Sample

__all__ = [
    "FRAMES",
    "RATE_KEYS",
    "check_frame",
    "ensemble_key",
    "environment_rates",
    "flip_segments",
    "pulse_runs",
]

#: The frames a :class:`~simulator.simulation.Simulation` can work in.
FRAMES = ("rotating", "lab")


def environment_rates(sample: Sample) -> tuple[float, float]:
    """Return the extra (population, coherence) rates in 1/s from electrons and phonons.

    Uses :func:`simulator.budget.closed_forms.ohmic_damping_rate_per_s` and
    :func:`simulator.budget.closed_forms.phonon_rate_per_s` (paper Eqs. 10-12).
    """
    extra1 = extra2 = 0.0
    if sample.electron_alpha is not None:
        from spin_echo.simulator.budget.closed_forms import ohmic_damping_rate_per_s

        extra2 += ohmic_damping_rate_per_s(sample.electron_alpha, sample.temperature_k)
    if sample.phonons is not None:
        from spin_echo.simulator.budget.closed_forms import phonon_rate_per_s

        rate = phonon_rate_per_s(
            sample.tunnel_splitting.typical_hz,
            sample.omega0_big_hz,
            sample.phonons.debye_temperature_k,
            sample.phonons.anisotropy_hz / HZ_PER_K,
            sample.spin,
            sample.temperature_k,
        )
        extra1 += rate
    return extra1, extra2


def check_frame(frame: str) -> None:
    """Refuse a frame that is unknown.

    Both frames carry spin diffusion and the dynamic bath (:mod:`simulator.simulation`), but
    not the two together: the sample file refuses that pair where it names them
    (:func:`simulator.sample.load_sample`), before any record is opened.

    Raises
    ------
    InputError
        For an unknown frame.
    """
    if frame not in FRAMES:
        raise InputError(f"must be one of {', '.join(FRAMES)}", key="frame", value=frame)


def flip_segments(timeline: Timeline) -> list[int]:
    """Return the driven segments that start a pulse, after the first pulse (flip events)."""
    driven = [float(r) != 0.0 for r in timeline.rabi_hz]
    starts = [k for k, on in enumerate(driven) if on and (k == 0 or not driven[k - 1])]
    return starts[1:]


#: Sample keys that do not enter the ensemble draw
#: (:meth:`simulator.simulation.Simulation.with_sample`).
RATE_KEYS = (
    ("relaxation",),
    ("name",),
    ("description",),
    ("environment", "electrons"),
    ("environment", "phonons"),
    ("environment", "spin_diffusion"),
)


def ensemble_key(sample: Sample) -> str:
    """Return the sample's YAML without the keys that do not enter the ensemble draw."""
    doc = yaml.safe_load(sample.to_yaml())
    for path in RATE_KEYS:
        node = doc
        for part in path[:-1]:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return json.dumps(doc, sort_keys=True, default=str)


def pulse_runs(samples: np.ndarray) -> list[tuple[int, int, bool]]:
    """Split a waveform into runs ``(start, stop, driven)``: pulses and the gaps between them.

    A pulse is a run of non-zero samples; zero gaps shorter than
    :data:`simulator.lab.frame.MIN_FREE_SAMPLES` inside it (a shaped pulse crossing zero) belong to
    it.
    """
    driven = np.flatnonzero(samples != 0.0)
    if driven.size == 0:
        return [(0, len(samples), False)]
    breaks = np.flatnonzero(np.diff(driven) > MIN_FREE_SAMPLES)
    firsts = [int(driven[0]), *(int(driven[i + 1]) for i in breaks)]
    lasts = [*(int(driven[i]) + 1 for i in breaks), int(driven[-1]) + 1]
    runs: list[tuple[int, int, bool]] = []
    end = 0
    for a, b in zip(firsts, lasts, strict=True):
        if a > end:
            runs.append((end, a, False))
        runs.append((a, b, True))
        end = b
    if end < len(samples):
        runs.append((end, len(samples), False))
    return runs
