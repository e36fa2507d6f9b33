r"""The bench's noise for a protocol, before it runs: per shot, per recorded value, per echo.

Three levels, each the standard deviation per quadrature of the complex signal ``s`` of a
record (``spin-echo run``), in the record's units (normalised magnetisation when the bench
gives ``coil.pickup``, else volts):

1. *one demodulated shot* of one phase step, :math:`\sigma_1` (:func:`bench_noise`):

   - the **virtual bench**: its detector adds white noise of rms :math:`\sigma_V` per sample
     (``detector.noise``) at the AWG's sample rate :math:`f_s` after the front end (which
     therefore filters the signal, not the noise); the receiver
     (:func:`spin_echo.drivers.receiver.demodulate`) turns it into
     :math:`\sigma_1 = g\,\sigma_V/V_\mathrm{pickup}`, with the gain
     :math:`g \approx \sqrt{4 B I/f_s}` computed from the digital filters' responses by
     :func:`spin_echo.drivers.receiver.quadrature_noise_gain`;
   - a **lab bench** file: its declared ``receiver.noise`` (rms per quadrature of one
     demodulated shot, volts), divided by ``coil.pickup``;
   - a **measured record** (``--noise-from REC``): its pooled shot-to-shot standard error
     (:func:`spin_echo.echo.analysis.noise.record_noise`) times :math:`\sqrt{n K}` for its
     ``n`` shots and ``K`` phase steps, scaled by :math:`\sqrt{B/B_\mathrm{rec}}` when the
     protocol's receiver bandwidth :math:`B` differs from the record's (white input noise).

2. *one recorded value* (:attr:`PointNoise.quadrature`): the mean of ``shots`` shots of
   :math:`c = \mathrm{mean}_k(r_k s_k)` over the ``K`` phase steps, :math:`|r_k| = 1`, all
   independent: :math:`\sigma = \sigma_1/\sqrt{n K}`. This is what a run stores as
   ``signal_sem_re``/``_im``.

3. *the integrated echo* (:attr:`PointNoise.integrated`), the quantity ``spin-echo plot``
   fits: :func:`spin_echo.echo.analysis.curves.echo_curve`'s ``y``, the phase-corrected window
   average :math:`\mathrm{Re}(e^{-i\phi}\langle s\rangle_W)` over the ``n_W`` record times in
   the echo window :math:`W` (:func:`spin_echo.echo.analysis.extraction.find_echo`). Its
   standard deviation is that of ``EchoCurve.sigma``,
   :math:`\sigma\sqrt{\sum_{ij\in W}\rho_{ij}}/n_W`, with :math:`\rho` the receiver's noise
   correlation (:meth:`spin_echo.echo.analysis.noise.NoiseEstimate.correlation_sum`: O(n_W),
   without the matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from spin_echo.drivers.config import BenchSpec
from spin_echo.drivers.receiver import default_bandwidth_hz, quadrature_noise_gain
from spin_echo.echo.analysis.extraction import EchoWindow
from spin_echo.echo.analysis.noise import NoiseEstimate, record_noise
from spin_echo.echo.record import record_time_axis
from spin_echo.echo.record_info import record_info
from spin_echo.sequences import Protocol, compile_timeline
from spin_echo.sequences.errors import InputError

__all__ = ["BenchNoise", "PointNoise", "bench_noise", "noise_per_point", "protocol_time_axis"]


@dataclass(frozen=True)
class BenchNoise:
    """The noise of one demodulated shot of one phase step, per quadrature.

    Attributes
    ----------
    shot_sigma
        Standard deviation per quadrature of one shot, in the record's units.
    bandwidth_hz
        Receiver bandwidth (correlates the noise along time), Hz.
    source
        Where the number comes from, for reports.
    """

    shot_sigma: float
    bandwidth_hz: float
    source: str


@dataclass(frozen=True)
class PointNoise:
    """The noise of one sweep point of a protocol on a bench (see the module docstring).

    Attributes
    ----------
    quadrature
        Standard deviation per quadrature of one recorded value of ``s(t)``: shots averaged,
        phase cycle combined (a run's ``signal_sem_re``), record units.
    integrated
        Standard deviation of the integrated echo over the window (``EchoCurve.y``).
    samples
        Record times in the window.
    shots, phase_steps
        What was averaged.
    bench
        The per-shot noise it started from.
    """

    quadrature: float
    integrated: float
    samples: int
    shots: int
    phase_steps: int
    bench: BenchNoise


def _bandwidth_hz(protocol: Protocol, bench: BenchSpec) -> float:
    return bench.receiver_bandwidth_hz or default_bandwidth_hz(protocol.carrier_hz)


def _from_record(protocol: Protocol, bench: BenchSpec, record: xr.Dataset, name: str) -> BenchNoise:
    info = record_info(record)
    if not info.measured or "signal_sem_re" not in record:
        raise InputError(
            "needs a measured record with its shot-to-shot error (spin-echo run, 2 or more shots)",
            key="--noise-from",
            value=name,
        )
    estimate = record_noise(record)
    if not estimate.sigma > 0:
        raise InputError(
            "has a shot-to-shot error of 0 (its shots agree exactly): it gives no noise to "
            "predict with; give a record whose shots scatter",
            key="--noise-from",
            value=name,
        )
    measured = info.protocol
    steps = len(measured.phase_cycle)
    shots = info.shots or measured.shots
    recorded = estimate.bandwidth_hz or default_bandwidth_hz(measured.carrier_hz)
    wanted = _bandwidth_hz(protocol, bench)
    sigma = estimate.sigma * np.sqrt(shots * steps) * np.sqrt(wanted / recorded)
    return BenchNoise(
        float(sigma), wanted, f"record {name}: {estimate.source}, {steps} phase steps"
    )


def bench_noise(
    protocol: Protocol,
    bench: BenchSpec,
    *,
    record: xr.Dataset | None = None,
    record_name: str = "record",
) -> BenchNoise:
    """Return the noise of one demodulated shot for ``protocol`` on ``bench``.

    Parameters
    ----------
    protocol
        The protocol (its carrier sets the default receiver bandwidth).
    bench
        The bench: virtual (noise model), or a lab bench with ``receiver.noise``.
    record
        A measured record whose shot-to-shot scatter gives the noise instead (``--noise-from``).
    record_name
        The record's name, for messages.

    Returns
    -------
    BenchNoise
        Per quadrature, in normalised magnetisation when the bench gives ``coil.pickup`` (the
        virtual bench's pickup defaults to 1 V per unit), else volts.

    Raises
    ------
    InputError
        A lab bench without ``receiver.noise`` and no record.
    """
    if record is not None:
        return _from_record(protocol, bench, record, record_name)
    bandwidth = _bandwidth_hz(protocol, bench)
    pickup = bench.coil.pickup_v
    if bench.is_virtual:
        options = bench.detector.options
        noise_v = float(options.get("noise", 0.0))
        rate = float(bench.awg.options.get("sample_rate", 0.0))
        gain = quadrature_noise_gain(protocol.carrier_hz, bandwidth, rate)
        sigma = gain * noise_v / (1.0 if pickup is None else pickup)
        source = (
            f"virtual bench: {noise_v:.4g} V rms per sample at {rate:.4g} Sa/s through the "
            f"{bandwidth:.4g} Hz receiver (gain {gain:.4g})"
        )
        return BenchNoise(sigma, bandwidth, source)
    if bench.receiver_noise_v is None:
        raise InputError(
            "declares no noise: add receiver: {noise: <rms per quadrature of one demodulated "
            "shot>} to the bench file, or give --noise-from a measured record",
            file=bench.source or None,
            key="receiver.noise",
        )
    sigma = bench.receiver_noise_v / (1.0 if pickup is None else pickup)
    return BenchNoise(sigma, bandwidth, f"bench {bench.name}: declared receiver.noise")


def protocol_time_axis(protocol: Protocol) -> tuple[np.ndarray, np.ndarray]:
    """Return the record ``time`` axis and ``window`` index the protocol's records will have."""
    first = next(iter(protocol.iter_points()))[1]
    timeline = compile_timeline(protocol.sequence(first, 0))
    return record_time_axis(timeline.detect)


def noise_per_point(
    protocol: Protocol,
    bench: BenchSpec,
    *,
    window: EchoWindow | None = None,
    shots: int | None = None,
    record: xr.Dataset | None = None,
    record_name: str = "record",
) -> PointNoise:
    r"""Return the noise of one sweep point of ``protocol`` on ``bench``.

    The quantities are defined in the module docstring: per quadrature of a recorded value,
    and of the integrated echo that ``spin-echo plot`` extracts
    (:func:`spin_echo.echo.analysis.curves.echo_curve`), over ``window``.

    Parameters
    ----------
    protocol
        The protocol (its shots, phase cycle, carrier and detection windows are used).
    bench
        The bench (see :func:`bench_noise`).
    window
        The echo window (record times, as :func:`~spin_echo.echo.analysis.extraction.find_echo`
        returns it); None: every record time.
    shots
        Shots per phase step instead of the protocol's.
    record, record_name
        A measured record giving the noise (:func:`bench_noise`).

    Returns
    -------
    PointNoise
        The noise of a recorded value and of the integrated echo.

    Examples
    --------
    >>> import spin_echo as se
    >>> from spin_echo.echo.design.noise import noise_per_point
    >>> noise = noise_per_point(se.load_protocol("hahn-echo"), se.load_bench("virtual"))
    >>> round(noise.quadrature, 5)
    0.00449
    """
    shots = protocol.shots if shots is None else shots
    if shots < 1:
        raise InputError("must be at least 1", key="shots", value=shots)
    per_shot = bench_noise(protocol, bench, record=record, record_name=record_name)
    steps = len(protocol.phase_cycle)
    sigma = per_shot.shot_sigma / np.sqrt(shots * steps)
    time_s, windows = protocol_time_axis(protocol)
    if window is not None:
        inside = (time_s >= window.start_s) & (time_s <= window.stop_s)
        time_s, windows = time_s[inside], windows[inside]
    estimate = NoiseEstimate(sigma, 0.0, per_shot.source, per_shot.bandwidth_hz)
    total = estimate.correlation_sum(time_s, windows)
    integrated = float(sigma * np.sqrt(total) / max(len(time_s), 1))
    return PointNoise(float(sigma), integrated, len(time_s), shots, steps, per_shot)
