"""Resource bounds of a simulation, checked before anything is allocated, and the NaN guard.

- :data:`MAX_PACKETS`: the most packets a sample file's ``packets`` or a ``--packets`` option
  may ask for (one constant for both).
- :func:`estimate_simulation_bytes`: the peak memory of a simulation, estimated from its
  packets, its detection points per sweep point and its sweep points, with per-item costs
  measured on the built-in samples (README "Limits"); :func:`check_simulation_size` refuses
  an estimate above :data:`MAX_SIMULATION_BYTES` before the first packet is drawn.
- :func:`check_diffusion_work`: spin diffusion steps every packet's bias at most T2/20 apart
  (shorter in pulses), so a short T2 or a wide drift asks for unbounded time: refused above
  :data:`MAX_DIFFUSION_PACKET_STEPS` before the first step.
- :func:`check_finite`: the last guard where a point's signal is produced; a NaN or an infinity
  is an error, never data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spin_echo.sequences.errors import InputError

__all__ = [
    "BYTES_PER_DETECTION_POINT",
    "BYTES_PER_PACKET",
    "BYTES_PER_RECORD_VALUE",
    "MAX_DIFFUSION_PACKET_STEPS",
    "MAX_PACKETS",
    "MAX_SIMULATION_BYTES",
    "NonFiniteResultError",
    "check_diffusion_work",
    "check_finite",
    "check_packets",
    "check_simulation_size",
    "estimate_simulation_bytes",
]

#: Most packets of one simulation (a sample's ``packets``, ``--packets``).
MAX_PACKETS = 10_000_000
#: Peak bytes per packet: measured 55 (``bare``) to 500 (``ferritin``: nuclear bath, bias
#: sampling) at 10^6 packets; the larger, rounded up.
BYTES_PER_PACKET = 512
#: Peak bytes per detection point of one sweep point: measured 1.1 kB (1000 packets) to
#: 2.1 kB (20 000 packets) at 10^5 points.
BYTES_PER_DETECTION_POINT = 2048
#: Bytes per record value (sweep point x detection point): signal, its error and m_z.
BYTES_PER_RECORD_VALUE = 40
#: Largest estimated peak memory of one simulation, bytes.
MAX_SIMULATION_BYTES = 8 * 1024**3


#: Most packet-steps of the spin-diffusion propagation of one simulation: about 0.4 µs each
#: (``simulate hahn-echo --sample ferritin --packets 2000``, 1.8e7 packet-steps, 8 s), so 10^10
#: are about an hour; the built-in protocols on ferritin take at most 1.9e9 (hole-burning).
MAX_DIFFUSION_PACKET_STEPS = 10**10


def check_diffusion_work(
    steps_per_packet: float,
    packets: int,
    runs: int,
    *,
    t2_s: float,
    width_hz: float,
    file: str | None = None,
) -> None:
    """Refuse a spin-diffusion simulation of more than :data:`MAX_DIFFUSION_PACKET_STEPS`.

    Parameters
    ----------
    steps_per_packet
        Drift steps of one packet through one phase step of one sweep point
        (:func:`simulator.diffusion.diffusion_steps`).
    packets
        Packets of the ensemble.
    runs
        Sweep points times phase steps.
    t2_s, width_hz
        The drift's correlation time (s) and width (Hz), for the message.
    file
        The sample file, for the message.

    Raises
    ------
    InputError
        Keyed ``environment.spin_diffusion``, with the counts, before any step is taken.
    """
    total = float(steps_per_packet) * packets * runs
    if total > MAX_DIFFUSION_PACKET_STEPS:
        raise InputError(
            f"T2 = {t2_s:.3g} s, width = {width_hz:.3g} Hz: the drift takes {steps_per_packet:.3g} "
            "steps per packet and run (of at most T2/20, shorter within pulses): "
            f"{packets} packets x {runs} runs = {total:.3g} packet-steps; "
            f"at most {MAX_DIFFUSION_PACKET_STEPS:.0e} (a longer T2, a narrower width, fewer "
            "packets or sweep points)",
            file=file,
            key="environment.spin_diffusion",
        )


class NonFiniteResultError(InputError):
    """A computed result is NaN or infinite: the inputs are beyond what the model represents."""


def check_packets(packets: Any, *, file: str | None = None, key: str = "--packets") -> int:
    """Return ``packets`` as an int if it is a whole number from 1 to :data:`MAX_PACKETS`.

    Raises
    ------
    InputError
        Naming ``file`` and ``key``, otherwise.
    """
    if isinstance(packets, bool) or not isinstance(packets, (int, np.integer)):
        raise InputError(
            f"must be a whole number from 1 to {MAX_PACKETS}", file=file, key=key, value=packets
        )
    if not 1 <= packets <= MAX_PACKETS:
        raise InputError(
            f"must be a whole number from 1 to {MAX_PACKETS}", file=file, key=key, value=packets
        )
    return int(packets)


def estimate_simulation_bytes(packets: int, detection_points: int, sweep_points: int) -> int:
    r"""Estimate the peak memory of a simulation, bytes.

    .. math:: B = 512\,N_p + 2048\,N_d + 40\,N_s N_d

    with :math:`N_p` packets, :math:`N_d` detection points per sweep point and :math:`N_s`
    sweep points (the per-item costs are :data:`BYTES_PER_PACKET`,
    :data:`BYTES_PER_DETECTION_POINT` and :data:`BYTES_PER_RECORD_VALUE`). The interpreter and
    its libraries (about 300 MB) come on top.
    """
    return (
        int(packets) * BYTES_PER_PACKET
        + int(detection_points) * BYTES_PER_DETECTION_POINT
        + int(sweep_points) * int(detection_points) * BYTES_PER_RECORD_VALUE
    )


def check_simulation_size(
    packets: int,
    detection_points: int,
    sweep_points: int,
    *,
    file: str | None = None,
    key: str | None = None,
) -> int:
    """Refuse a simulation whose estimated memory exceeds :data:`MAX_SIMULATION_BYTES`.

    Returns
    -------
    int
        The estimate, bytes (:func:`estimate_simulation_bytes`).

    Raises
    ------
    InputError
        Naming ``file`` and ``key`` and the three counts, before anything is allocated.
    """
    estimate = estimate_simulation_bytes(packets, detection_points, sweep_points)
    if estimate > MAX_SIMULATION_BYTES:
        raise InputError(
            f"{packets} packets, {detection_points} detection points and {sweep_points} sweep "
            f"points need about {estimate / 1024**3:.3g} GiB; at most "
            f"{MAX_SIMULATION_BYTES / 1024**3:.3g} GiB are allowed (fewer packets, detection "
            "points or sweep points)",
            file=file,
            key=key,
        )
    return estimate


def check_finite(
    values: Any, *, what: str = "signal", file: str | None = None, key: str | None = None
) -> np.ndarray:
    """Return ``values`` as an array if every element is finite; raise if any is NaN or inf.

    Call it where a sweep point's signal is produced, before it is written as data.

    Parameters
    ----------
    values
        The computed values (real or complex).
    what
        What they are, for the message (``"signal at sweep point (3,)"``).
    file, key
        Where the inputs came from (the protocol or sample file, the sweep point).

    Raises
    ------
    NonFiniteResultError
        Saying how many values are not finite.
    """
    array = np.asarray(values)
    bad = ~np.isfinite(array)
    if np.any(bad):
        raise NonFiniteResultError(
            f"the computed {what} has {int(np.count_nonzero(bad))} of {array.size} values that "
            "are NaN or infinite: the sample or protocol values are beyond what the simulation "
            "represents (see README, Limits)",
            file=file,
            key=key,
        )
    return array
