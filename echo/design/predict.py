r"""What a protocol will show on a bench: the expected echo, its noise and the SNR per sweep point.

The prediction for every sweep point of a protocol as written:

- *signal*: the integrated echo that ``spin-echo plot`` extracts
  (:func:`spin_echo.echo.analysis.extraction.integrate_echo` over the window
  :func:`~spin_echo.echo.analysis.extraction.find_echo` finds; quadrature mode, magnitude for
  hole burning, as the analysis of that family), from a simulation of the protocol on the
  sample (:func:`spin_echo.echo.runs.simulation.simulate_protocol`, the code of ``simulate``);
  on the virtual bench multiplied by its front end's gain at the carrier,
  :math:`1/\sqrt{1 + (f_c/B_\mathrm{fe})^2}`. The echo is assumed to lie within the receiver's
  bandwidth (the simulation does not low-pass it);
- *signal_sem*: its Monte-Carlo error, from the simulation's packet replicas
  (``signal_sem_re``/``_im``), taken fully correlated over the window (as
  :mod:`spin_echo.echo.analysis.noise` does for a simulation);
- *noise*: the standard deviation of that integrated echo on the bench for the protocol's
  shots and phase cycle (:func:`spin_echo.echo.design.noise.noise_per_point`);
- *snr*: :math:`|\mathrm{signal}|/\mathrm{noise}`.

The measuring time is :func:`measuring_time_s`: repetition time x shots x phase steps x sweep
points (the time the triggers take on hardware). Uploads, transfers and the instruments' own
overheads are not known for a bench and not included; the virtual bench computes its shots
without waiting.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from spin_echo.drivers.config import BenchSpec
from spin_echo.echo.analysis.extraction import (
    EchoWindow,
    find_echo,
    integrate_echo,
    record_signal,
    sweep_dims,
)
from spin_echo.echo.analysis.families import Family, classify_protocol
from spin_echo.echo.design.noise import PointNoise, noise_per_point
from spin_echo.echo.record import read_record
from spin_echo.echo.runs.simulation import MapFunction, simulate_protocol
from spin_echo.sequences import Protocol
from spin_echo.simulator.sample import Sample

__all__ = [
    "PointPrediction",
    "Prediction",
    "echo_prediction",
    "front_end_gain",
    "measuring_time_s",
    "predict",
    "simulate_record",
]


@dataclass(frozen=True)
class PointPrediction:
    """The prediction at one sweep point.

    Attributes
    ----------
    values
        The sweep values of the point, SI, by axis name (empty without a sweep).
    signal
        Expected integrated echo, record units (normalised magnetisation).
    signal_sem
        Its Monte-Carlo error.
    noise
        Standard deviation of the integrated echo on the bench.
    snr
        ``|signal| / noise``.
    """

    values: dict[str, float]
    signal: float
    signal_sem: float
    noise: float
    snr: float


@dataclass(frozen=True)
class Prediction:
    """The prediction for a protocol on a sample and a bench.

    Attributes
    ----------
    protocol, sample, bench
        What was predicted for.
    points
        One :class:`PointPrediction` per sweep point, in C order.
    noise
        The bench's noise per point (:func:`spin_echo.echo.design.noise.noise_per_point`).
    window
        The echo window the signal and noise are integrated over.
    mode
        ``"quadrature"`` or ``"magnitude"`` (hole burning).
    family
        What the protocol is (:func:`spin_echo.echo.analysis.families.classify_protocol`).
    time_s
        Measuring time of the protocol as written (:func:`measuring_time_s`).
    frame, packets
        How the signal was simulated.
    record
        The simulated record the signal came from.
    """

    protocol: Protocol
    sample: Sample
    bench: BenchSpec
    points: tuple[PointPrediction, ...]
    noise: PointNoise
    window: EchoWindow
    mode: str
    family: Family
    time_s: float
    frame: str
    packets: int
    record: xr.Dataset = field(repr=False)

    @property
    def best(self) -> PointPrediction:
        """The point of the largest SNR."""
        return max(self.points, key=lambda point: point.snr)


def measuring_time_s(protocol: Protocol, *, shots: int | None = None) -> float:
    """Return repetition time x shots x phase steps x sweep points, seconds.

    Parameters
    ----------
    protocol
        The protocol.
    shots
        Shots per phase step instead of the protocol's.
    """
    shots = protocol.shots if shots is None else shots
    points = int(np.prod(protocol.sweep_shape)) if protocol.sweep_shape else 1
    return protocol.repetition_time_s * shots * len(protocol.phase_cycle) * points


def front_end_gain(protocol: Protocol, bench: BenchSpec) -> float:
    """Return the virtual detector's RC front-end gain at the carrier (1 for a lab bench)."""
    if not bench.is_virtual:
        return 1.0
    bandwidth = float(bench.detector.options.get("bandwidth", np.inf))
    return float(1.0 / np.sqrt(1.0 + (protocol.carrier_hz / bandwidth) ** 2))


def simulate_record(
    protocol: Protocol,
    sample: Sample,
    *,
    frame: str = "rotating",
    packets: int | None = None,
    seed: int | None = None,
    map_function: MapFunction = map,
) -> xr.Dataset:
    """Simulate ``protocol`` on ``sample`` as ``spin-echo simulate`` does; return the record.

    Parameters
    ----------
    protocol, sample
        What to simulate.
    frame, packets, seed
        As ``simulate``'s ``--frame``, ``--packets``, ``--seed``.
    map_function
        An ordered ``map`` over the sweep points (an executor's, for workers).

    Returns
    -------
    xarray.Dataset
        The record, in memory (written to a temporary file and read back).
    """
    with tempfile.TemporaryDirectory(prefix="spin-echo-design-") as folder:
        path = Path(folder) / "predicted.nc"
        simulate_protocol(
            protocol,
            sample,
            path,
            seed=seed,
            packets=packets,
            frame=frame,
            map_function=map_function,
        )
        return read_record(path)


def echo_prediction(
    record: xr.Dataset, *, mode: str = "quadrature", window: EchoWindow | None = None
) -> tuple[np.ndarray, np.ndarray, EchoWindow]:
    r"""Return the integrated echo, its Monte-Carlo error and the window, per sweep point.

    Parameters
    ----------
    record
        A simulated record.
    mode
        ``"quadrature"`` or ``"magnitude"`` (:func:`integrate_echo`).
    window
        The echo window; None: :func:`find_echo` on the record.

    Returns
    -------
    signal, sem, window
        Arrays over the record's sweep dimensions (0-d without a sweep) and the echo window.
        ``sem`` is the window average of the Monte-Carlo error per quadrature,
        :math:`\sqrt{(\mathrm{sem}_\mathrm{re}^2 + \mathrm{sem}_\mathrm{im}^2)/2}`
        (errors fully correlated over the window); zero when the record stores none.
    """
    signal = record_signal(record)
    window = find_echo(signal) if window is None else window
    echo = integrate_echo(signal, window=window, mode=mode)  # type: ignore[arg-type]
    dims = sweep_dims(record)
    values = np.asarray(echo.transpose(*dims).values if dims else echo.values, dtype=float)
    if "signal_sem_re" not in record:
        return values, np.zeros_like(values), window
    sem = np.sqrt(0.5 * (record["signal_sem_re"] ** 2 + record["signal_sem_im"] ** 2))
    inside = (record["time"] >= window.start_s) & (record["time"] <= window.stop_s)
    mean = sem.where(inside, drop=True).mean("time")
    sem_values = np.asarray(mean.transpose(*dims).values if dims else mean.values, dtype=float)
    return values, sem_values, window


def predict(
    protocol: Protocol,
    sample: Sample,
    bench: BenchSpec,
    *,
    frame: str = "rotating",
    packets: int | None = None,
    seed: int | None = None,
    noise_record: xr.Dataset | None = None,
    noise_record_name: str = "record",
    map_function: MapFunction = map,
    record: xr.Dataset | None = None,
) -> Prediction:
    """Predict the signal, noise and SNR at every sweep point of ``protocol`` on ``bench``.

    Parameters
    ----------
    protocol, sample, bench
        The experiment.
    frame, packets, seed
        How to simulate the signal (as ``spin-echo simulate``).
    noise_record, noise_record_name
        A measured record giving the bench's noise (``--noise-from``).
    map_function
        An ordered ``map`` over the sweep points.
    record
        A simulation of ``protocol`` on ``sample`` already at hand (then nothing is
        simulated).

    Returns
    -------
    Prediction
        Per point: values, signal, signal_sem, noise, snr; the measuring time.
    """
    family = classify_protocol(protocol)
    mode = "magnitude" if family.name == "hole-burning" else "quadrature"
    if record is None:
        record = simulate_record(
            protocol, sample, frame=frame, packets=packets, seed=seed, map_function=map_function
        )
    signal, sem, window = echo_prediction(record, mode=mode)
    gain = front_end_gain(protocol, bench)
    signal, sem = signal * gain, sem * gain
    noise = noise_per_point(
        protocol, bench, window=window, record=noise_record, record_name=noise_record_name
    )
    points = []
    for index, values in protocol.iter_points():
        value = float(signal[index])
        points.append(
            PointPrediction(
                values=dict(values),
                signal=value,
                signal_sem=float(sem[index]),
                noise=noise.integrated,
                snr=abs(value) / noise.integrated if noise.integrated > 0 else float("inf"),
            )
        )
    return Prediction(
        protocol=protocol,
        sample=sample,
        bench=bench,
        points=tuple(points),
        noise=noise,
        window=window,
        mode=mode,
        family=family,
        time_s=measuring_time_s(protocol),
        frame=frame,
        packets=sample.packets if packets is None else packets,
        record=record,
    )
