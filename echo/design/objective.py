r"""What one candidate protocol gives: the best point's SNR and the target's predicted error.

The optimiser (:mod:`spin_echo.echo.design.optimise`) calls :func:`protocol_figures` for every
candidate. The SNR is that of :func:`spin_echo.echo.design.predict.predict` (the integrated
echo over the bench's noise) at the best sweep point; for hole burning, that of the hole depth
against the pump-off reference (:func:`spin_echo.echo.design.hole.hole_depth`), scaled to the
protocol's time when the reference is a second run (its SNR in the same total time: a factor
:math:`1/\sqrt 2` below the verdict's, which adds the reference's time). The error is
:func:`spin_echo.echo.design.fisher.predict_errors` for the record ``fit`` would see, with the
noise per recorded value of
:func:`spin_echo.echo.design.noise.noise_per_point` divided by the signal's gain (the virtual
front end at the carrier, :func:`~spin_echo.echo.design.predict.front_end_gain`, and the
recovery between shots).

Recovery between shots (:func:`recovery_factor`): a sample with ``relaxation.T1`` recovers
from :math:`M_z \approx 0` (where an echo sequence leaves it) during the dead time
:math:`T_\mathrm{rep} - T_\mathrm{seq}` between two shots, to
:math:`1 - e^{-(T_\mathrm{rep} - T_\mathrm{seq})/T_1}` of equilibrium, and every shot's echo
is that fraction of the simulated one (the simulation starts each shot from equilibrium, as
the virtual bench does).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import xarray as xr

from spin_echo.drivers.config import BenchSpec
from spin_echo.echo.design.fisher import predict_errors
from spin_echo.echo.design.hole import hole_depth
from spin_echo.echo.design.noise import noise_per_point
from spin_echo.echo.design.optimise import Figures
from spin_echo.echo.design.predict import MapFunction, front_end_gain, predict
from spin_echo.sequences.compile import layout
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.protocol import Protocol
from spin_echo.simulator import Sample

__all__ = ["evaluator", "protocol_figures", "recovery_factor"]


def recovery_factor(protocol: Protocol, sample: Sample) -> float:
    """Return the fraction of the equilibrium magnetisation a shot starts from (1 without T1).

    Parameters
    ----------
    protocol
        The protocol (its repetition time and longest sequence).
    sample
        The sample (``relaxation.T1`` if it sets one).
    """
    try:
        t1_s = sample.value("relaxation.T1")
    except InputError:
        return 1.0
    longest = max(layout(protocol.sequence(values)).total_s for _, values in protocol.iter_points())
    return float(1.0 - math.exp(-(protocol.repetition_time_s - longest) / t1_s))


def protocol_figures(
    protocol: Protocol,
    sample: Sample,
    bench: BenchSpec,
    *,
    target: str | None = None,
    snr: bool = True,
    frame: str = "rotating",
    target_frame: str = "lab",
    packets: int | None = None,
    seed: int | None = None,
    noise_record: xr.Dataset | None = None,
    map_function: MapFunction = map,
) -> Figures:
    """Return the best point's SNR and the target's predicted error at the protocol's shots.

    Parameters
    ----------
    protocol, sample, bench
        The experiment.
    target
        Sample key whose ``fit`` error is predicted (None: no error).
    snr
        Compute the SNR (one simulation with the Monte-Carlo replicas).
    frame
        Frame of the SNR's simulation (as ``simulate --frame``).
    target_frame
        Frame of the error's simulations (``"lab"``, as ``fit --frame lab`` for a bench).
    packets, seed
        The ensemble of every simulation (common random numbers).
    noise_record
        A measured record giving the bench's noise (``--noise-from``).
    map_function
        Ordered ``map`` over the sweep points.

    Returns
    -------
    Figures
        SNR and error (NaN where not asked for).
    """
    recovery = recovery_factor(protocol, sample)
    value = float("nan")
    if snr:
        prediction = predict(
            protocol,
            sample,
            bench,
            frame=frame,
            packets=packets,
            seed=seed,
            noise_record=noise_record,
            map_function=map_function,
        )
        value = prediction.best.snr * recovery
        hole = hole_depth(prediction, map_function=map_function, seed=seed)
        if hole is not None:  # the hole depth, its pump-off reference's time included
            value = float(np.max(hole.snr)) * math.sqrt(prediction.time_s / hole.time_s) * recovery
    error = float("nan")
    if target is not None:
        noise = noise_per_point(protocol, bench, record=noise_record)
        gain = front_end_gain(protocol, bench) * recovery
        errors = predict_errors(
            protocol,
            sample,
            [target],
            noise_sigma=noise.quadrature / gain,
            bandwidth_hz=noise.bench.bandwidth_hz,
            seed=seed,
            packets=packets,
            frame=target_frame,
            check=False,
            map_function=map_function,
        )
        error = float(errors.errors[0])
    return Figures(value, error)


def evaluator(
    sample: Sample, bench: BenchSpec, *, target: str | None = None, **options: object
) -> Callable[[Protocol], Figures]:
    """Return the optimiser's evaluation: the error with a target, else the SNR.

    Parameters
    ----------
    sample, bench
        The experiment.
    target
        Sample key to minimise the error of (None: maximise the SNR).
    **options
        Passed to :func:`protocol_figures` (frame, packets, seed, noise_record, map_function).
    """

    def evaluate(protocol: Protocol) -> Figures:
        return protocol_figures(
            protocol,
            sample,
            bench,
            target=target,
            snr=target is None,
            **options,  # type: ignore[arg-type]
        )

    return evaluate
