"""The acquisition loop of ``spin-echo run``: a protocol played on a bench, into a record.

For each sweep point and phase step the sequence is compiled for the bench's AWG (its
:meth:`~drivers.interface.Awg.constraints` and sample rate), uploaded and armed; then ``shots``
times the detector is armed over the detection windows (plus the receiver's settling guard on
both sides), the AWG triggered and the trace acquired. Each trace is demodulated at
the carrier (:func:`drivers.receiver.demodulate`, the convention of :mod:`sequences.timeline`)
at the detection times shot by shot, the phase steps are combined
(:func:`sequences.combine_phase_cycle`) shot by shot, and the mean over shots is written with
its standard error from the shot-to-shot scatter (``signal_sem_re``, ``signal_sem_im``; left out
with a single shot). The record's attributes ``receiver_bandwidth_hz`` and ``shots`` tell the
analysis the receiver's low-pass (the noise correlation along time) and the number of shots.
The point is written to the record at once, so an instrument failure leaves a valid record
holding every finished point (``complete = 0``). The record is created once the first point is
measured: the instruments are then configured, and their identities and the settings they
read back are stored with it (attributes ``instruments`` and ``versions``,
:mod:`echo.provenance`).

On hardware, shots are spaced by the protocol's ``repetition_time``; the virtual bench starts
each shot from equilibrium and needs no wait. With ``coil.pickup`` in the bench file the signal
is divided by it: records are then in normalised magnetisation, comparable with
``spin-echo simulate``; otherwise in volts. A bench with a ``magnetometer`` block records
magnetisation in that block's units, with ``mz`` (:mod:`.magnetisation`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from spin_echo.drivers import Bench, InstrumentError, Trace
from spin_echo.drivers.receiver import default_bandwidth_hz, demodulate, guard_s
from spin_echo.drivers.virtual import VirtualDetector
from spin_echo.echo.provenance import provenance_attrs
from spin_echo.echo.record import RecordWriter, check_detection_grid, record_time_axis
from spin_echo.echo.record_resume import check_resume
from spin_echo.echo.runs.magnetisation import (
    Reader,
    combine_magnetisation,
    magnetisation_reader,
    signal_kind_attrs,
)
from spin_echo.echo.runs.progress import ProgressCallback
from spin_echo.sequences import Protocol, combine_phase_cycle, compile_waveform
from spin_echo.sequences.errors import CompileError
from spin_echo.sequences.timeline import Waveform
from spin_echo.simulator import kernels
from spin_echo.simulator.limits import check_finite

__all__ = [
    "acquire_shots",
    "acquire_step",
    "combine_shots",
    "detection_times",
    "run_protocol",
]

#: Units of a record whose bench gives the pickup calibration (as ``spin-echo simulate``).
NORMALISED_UNITS = "normalised magnetisation (1 = all packets fully polarised and coupled)"


def detection_times(waveform: Waveform) -> np.ndarray:
    """Absolute times of every detection window of ``waveform``, seconds."""
    if not waveform.detect:
        return np.empty(0)
    return np.concatenate([window.times_s for window in waveform.detect])


def _compile(protocol: Protocol, bench: Bench, values: dict[str, float], step: int) -> Waveform:
    awg = bench.awg
    try:
        return compile_waveform(
            protocol.sequence(values, step), awg.constraints(), awg.sample_rate_hz
        )
    except CompileError as err:
        raise InstrumentError(
            awg.label, "compile", f"the protocol does not fit this AWG: {err}"
        ) from None


def acquire_shots(
    bench: Bench,
    waveform: Waveform,
    *,
    shots: int,
    bandwidth_hz: float,
    repetition_time_s: float,
    realtime: bool,
    read: Reader | None = None,
) -> np.ndarray:
    """Upload, arm, then trigger and acquire ``shots`` times; return every demodulated shot.

    Parameters
    ----------
    bench
        The open bench.
    waveform
        The compiled phase step.
    shots
        Number of shots.
    bandwidth_hz
        Receiver bandwidth, Hz.
    repetition_time_s
        Minimum time between two triggers (applied when ``realtime``).
    realtime
        Space the triggers by ``repetition_time_s`` (hardware).
    read
        What a shot's trace gives (:func:`.magnetisation.magnetisation_reader` on a bench with a
        magnetometer); None: :func:`drivers.receiver.demodulate`.

    Returns
    -------
    numpy.ndarray
        Complex signal of each shot at the detection times, shape ``(shots, times)``, in the
        detector's units (with ``read``: ``(shots, ...)`` of what it returns).
    """
    times = detection_times(waveform)
    guard = guard_s(bandwidth_hz)
    start, stop = times[0] - guard, times[-1] + guard
    bench.awg.upload(waveform)
    bench.awg.arm()
    signals = []
    first: Trace | None = None
    last_trigger = -np.inf
    for _ in range(shots):
        if realtime:
            time.sleep(max(0.0, last_trigger + repetition_time_s - time.monotonic()))
        bench.detector.arm(start, stop - start)
        bench.awg.trigger()
        last_trigger = time.monotonic()
        trace = bench.detector.acquire()
        if first is None:
            first = trace
        elif np.shape(trace.values) != np.shape(first.values):
            raise InstrumentError(
                bench.detector.label,
                "acquire",
                f"shot returned {len(trace.values)} points, the first {len(first.values)}",
            )
        try:
            if read is not None:
                signals.append(read(trace, waveform.carrier_hz, times, bandwidth_hz))
            else:
                signals.append(
                    demodulate(trace, waveform.carrier_hz, times, bandwidth_hz=bandwidth_hz)
                )
        except ValueError as err:
            raise InstrumentError(bench.detector.label, "demodulate", str(err)) from None
    return np.array(signals)


def acquire_step(
    bench: Bench,
    waveform: Waveform,
    *,
    shots: int,
    bandwidth_hz: float,
    repetition_time_s: float,
    realtime: bool,
) -> np.ndarray:
    """Return the mean of :func:`acquire_shots` (same parameters): the averaged signal."""
    return acquire_shots(
        bench,
        waveform,
        shots=shots,
        bandwidth_hz=bandwidth_hz,
        repetition_time_s=repetition_time_s,
        realtime=realtime,
    ).mean(axis=0)


def combine_shots(signals: np.ndarray, phase_cycle: tuple) -> tuple[np.ndarray, np.ndarray | None]:
    r"""Combine the phase cycle shot by shot; return the mean and its standard error.

    Shot :math:`j` of the combined signal is :math:`c_j = \mathrm{mean}_k(r_k s_{kj})` (the
    shots of the different phase steps are independent, so pairing them by index is
    arbitrary and exact); the record holds :math:`\bar c` and, per quadrature, the standard
    error of the mean :math:`\mathrm{std}(c_j)/\sqrt{n}` (``std`` with ``n - 1``).

    Parameters
    ----------
    signals
        Complex array ``(phase steps, shots, times)``.
    phase_cycle
        The protocol's phase steps.

    Returns
    -------
    mean, sem
        Complex mean over shots and the complex standard error (real part for the real
        quadrature, imaginary part for the imaginary one); ``sem`` is None with one shot.
    """
    combined = combine_phase_cycle(signals, phase_cycle)
    shots = combined.shape[0]
    mean = combined.mean(axis=0)
    if shots < 2:
        return mean, None
    scale = 1.0 / np.sqrt(shots)
    sem = scale * (
        np.std(combined.real, axis=0, ddof=1) + 1j * np.std(combined.imag, axis=0, ddof=1)
    )
    return mean, sem


def run_protocol(
    protocol: Protocol,
    bench: Bench,
    path: str | Path | None,
    *,
    sample: Any = None,
    dry_run: bool = False,
    overwrite: bool = False,
    resume: bool = False,
    progress: ProgressCallback | None = None,
) -> Path | None:
    """Play every sweep point and phase step of ``protocol`` on ``bench``; write the record.

    Parameters
    ----------
    protocol
        The protocol, ``--set`` overrides applied.
    bench
        The open bench (:func:`drivers.open_bench`).
    path
        Record file; ignored for a dry run.
    sample
        The sample behind a virtual bench, stored in the record.
    dry_run
        Run the loop without writing a record (the bench prints its SCPI instead of sending).
    overwrite
        Replace an existing record once the new one is complete (:class:`.record.RecordWriter`).
    resume
        Continue the interrupted record at ``path`` (same protocol, bench, sample, seed, ...:
        :mod:`spin_echo.echo.record_resume`), skipping its finished points. On the virtual
        bench the record ends bit for bit as an uninterrupted run's (its noise is keyed by
        point); the first point is measured again to configure the instruments, and kept only
        if the record lacks it.
    progress
        Called as ``progress(done, total)`` after each sweep point (the CLI draws a bar).

    Returns
    -------
    Path or None
        The record path (None for a dry run).

    Raises
    ------
    InstrumentError
        An instrument failed, timed out or refused (the record keeps the finished points), or
        the protocol does not fit the AWG.
    """
    protocol.require_detect()
    points = list(protocol.iter_points())
    reference = _compile(protocol, bench, points[0][1], 0)
    time_s, window = record_time_axis(reference.detect)
    bandwidth = bench.spec.receiver_bandwidth_hz or default_bandwidth_hz(reference.carrier_hz)
    pickup = bench.spec.coil.pickup_v
    chain, read = bench.spec.magnetometer, magnetisation_reader(bench)
    seed = getattr(bench.detector, "seed", -1)
    attrs = {
        "protocol": protocol.to_yaml(),
        "bench": bench.spec.text,
        "source": f"run:{bench.spec.name}",
        "units": chain.units if chain else "V" if pickup is None else NORMALISED_UNITS,
        "seed": int(seed),
        "receiver_bandwidth_hz": float(bandwidth),
        "shots": int(protocol.shots),
        **signal_kind_attrs(bench),
    }
    if sample is not None:
        attrs["sample"] = sample.to_yaml()
    axes = [(axis.name, axis.values, axis.kind) for axis in protocol.sweep_axes]
    realtime = bench.realtime and not dry_run
    total_work = 0.0  # the virtual bench: one kernel backend for the whole run, from all points
    if isinstance(bench.detector, VirtualDetector):
        per_waveform = bench.detector.response.work(reference.samples)
        total_work = len(points) * len(protocol.phase_cycle) * per_waveform

    def measure(
        index: tuple[int, ...], values: dict[str, float]
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        signals = []
        for step in range(len(protocol.phase_cycle)):
            waveform = _compile(protocol, bench, values, step)
            check_detection_grid(waveform.detect, reference.detect, point=index)
            if isinstance(bench.detector, VirtualDetector):  # noise of (seed, point, step, shot)
                bench.detector.key_noise(index, step)
            with kernels.backend_for_run(total_work):
                signals.append(
                    acquire_shots(
                        bench,
                        waveform,
                        shots=protocol.shots,
                        bandwidth_hz=bandwidth,
                        repetition_time_s=protocol.repetition_time_s,
                        realtime=realtime,
                        read=read,
                    )
                )
        if read is not None:
            mean, sem, mz = combine_magnetisation(
                np.array(signals), protocol.phase_cycle, bench=bench, combine=combine_shots
            )
            check_finite(mean, what=f"signal at sweep point {index}")
            return mean, sem, mz
        mean, sem = combine_shots(np.array(signals), protocol.phase_cycle)
        check_finite(mean, what=f"signal at sweep point {index}")
        if pickup is None:
            return mean, sem, None
        return mean / pickup, None if sem is None else sem / pickup, None

    if dry_run:
        for done, (index, values) in enumerate(points, 1):
            measure(index, values)
            if progress is not None:
                progress(done, len(points))
        return None
    with_sem = protocol.shots > 1
    # The first point configures every instrument; what they then read back is stored with the
    # record (echo.provenance), which is therefore created once that point is measured.
    if resume:  # refused before an instrument is played
        check_resume(path, attrs)
    first = {points[0][0]: measure(*points[0])}
    attrs.update(provenance_attrs(bench))
    with RecordWriter(
        path,
        axes=axes,
        time_s=time_s,
        attrs=attrs,
        window=window,
        with_sem=with_sem,
        with_mz=read is not None,
        overwrite=overwrite,
        resume=resume,
    ) as record:
        written = record.written
        left = [(index, values) for index, values in points if not written[index]]
        for done, (index, values) in enumerate(left, len(points) - len(left) + 1):
            signal, sem, mz = first.pop(index) if index in first else measure(index, values)
            record.write_point(index, signal, mz, sem=sem)
            if progress is not None:
                progress(done, len(points))
    return Path(path)
