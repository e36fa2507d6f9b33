r"""What ``spin-echo run`` records on a bench with a magnetometer: magnetisation, and :math:`m_z`.

With a ``magnetometer`` block in the bench file (:mod:`drivers.magnetometer`) every acquired
trace is first turned into magnetisation by the block's calibration chain; the record is then
in the chain's units (``normalised`` or ``A/m``, its ``units`` attribute says which) and also
holds ``mz``, the quasi-static magnetisation at the detection times - the quantity
``spin-echo simulate`` writes as ``mz`` (phase step 0, the protocol as written).

Two kinds of magnetometer, told apart by the detector:

- a **digitizer behind a SQUID flux-locked loop** (any oscilloscope driver) samples
  :math:`M_z(t)` fast enough to see the carrier: the signal is demodulated as usual
  (:func:`drivers.receiver.demodulate`, now in magnetisation units), and :math:`m_z` at a
  detection time is the Hann-weighted mean of the trace over the receiver's guard on each side
  (:func:`drivers.receiver.guard_s`, :math:`\pm 4/B`: 2 us at the default bandwidth), inside
  the trace that the run records anyway; it passes what varies slower than about
  :math:`B/6` and suppresses the precession near the carrier (the window spans 16 carrier
  periods at the default :math:`B = f_c/2`). Closer than that to a pulse it shows the pulse
  smeared;
- a **slow magnetometer** (:class:`drivers.interface.Magnetometer`, a teslameter) averages
  the field over milliseconds after the sequence: it cannot see the carrier, so its record's
  signal *is* :math:`m_z` (real; imaginary part 0), the mean of its readings held at every
  detection time. That is the magnetisation the sequence left behind, valid as a value at
  the detection window only while it does not change between the window and the readings
  (no :math:`T_1` recovery within the integration time), and the phase cycle does not apply
  to it: it is phase step 0's, averaged over the shots, as in a simulation. Its record says
  so (:func:`signal_kind_attrs`: ``signal_kind = held_mz``, :mod:`spin_echo.echo.signal_kind`),
  so that plot, compare and fit take :math:`m_z` for what it is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from spin_echo.drivers import Bench, Trace
from spin_echo.drivers.interface import Magnetometer
from spin_echo.drivers.magnetometer import MagnetometerChain
from spin_echo.drivers.receiver import demodulate, guard_s
from spin_echo.echo.signal_kind import HELD_MZ

__all__ = ["Reader", "combine_magnetisation", "magnetisation_reader", "signal_kind_attrs"]

#: ``read(trace, carrier_hz, times_s, bandwidth_hz)`` -> what one shot contributes.
Reader = Callable[[Trace, float, np.ndarray, float], np.ndarray]


def magnetisation_reader(bench: Bench) -> Reader | None:
    """Return the per-shot reader of a magnetometer bench, or None for a pickup-coil bench.

    The reader returns a complex array of shape ``(2, times)``: the shot's signal and its
    :math:`m_z` (real), both in the chain's magnetisation units (see the module docstring).
    """
    chain = bench.spec.magnetometer
    if chain is None:
        return None
    slow = isinstance(bench.detector, Magnetometer)

    def read(trace: Trace, carrier_hz: float, times_s: np.ndarray, bandwidth_hz: float):
        return read_magnetisation(
            trace, chain, carrier_hz, times_s, bandwidth_hz=bandwidth_hz, slow=slow
        )

    return read


def signal_kind_attrs(bench: Bench) -> dict[str, str]:
    """Return the record attributes that say what a run's signal is on ``bench``.

    ``{"signal_kind": "held_mz"}`` with a slow magnetometer (a teslameter: the signal is the
    held :math:`m_z`), else nothing (the default, ``demodulated``).
    """
    slow = bench.spec.magnetometer is not None and isinstance(bench.detector, Magnetometer)
    return {"signal_kind": HELD_MZ} if slow else {}


def read_magnetisation(
    trace: Trace,
    chain: MagnetometerChain,
    carrier_hz: float,
    times_s: np.ndarray,
    *,
    bandwidth_hz: float,
    slow: bool,
) -> np.ndarray:
    """Return one shot's ``[signal, mz]`` in magnetisation units at ``times_s``.

    Parameters
    ----------
    trace
        The detector's trace (volts of a SQUID loop's output, or a teslameter's tesla).
    chain
        The bench's calibration chain.
    carrier_hz, times_s, bandwidth_hz
        As :func:`drivers.receiver.demodulate`.
    slow
        The detector is a slow magnetometer (its readings are averages; see the module doc).

    Raises
    ------
    ValueError
        If the trace's units are not what the chain converts, or (fast detectors) the trace
        cannot be demodulated.
    """
    m = chain.magnetisation(trace.values, trace.units)
    times = np.asarray(times_s, dtype=float)
    if slow:
        mz = np.full(len(times), float(np.mean(m)))
        return np.stack([mz.astype(complex), mz.astype(complex)])
    magnetisation = Trace(trace.time_s, m, chain.per)
    signal = demodulate(magnetisation, carrier_hz, times, bandwidth_hz=bandwidth_hz)
    t = np.asarray(trace.time_s, dtype=float)
    half = max(1, round(guard_s(bandwidth_hz) * (len(t) - 1) / (t[-1] - t[0])))
    kernel = np.hanning(2 * half + 3)[1:-1]
    mz = np.interp(times, t, np.convolve(m, kernel / kernel.sum(), mode="same"))
    return np.stack([signal, mz.astype(complex)])


def combine_magnetisation(
    shots: np.ndarray, phase_cycle: tuple, *, bench: Bench, combine: Callable
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Return a sweep point's signal, its standard error and :math:`m_z` from every shot.

    Parameters
    ----------
    shots
        What the reader returned, shape ``(phase steps, shots, 2, times)``.
    phase_cycle
        The protocol's phase steps.
    bench
        The open bench; with a slow magnetometer the signal is :math:`m_z` of phase step 0
        (no phase cycle).
    combine
        The run's phase-cycle combination, ``combine(signals, phase_cycle) -> (mean, sem)``.
    """
    mz_shots = shots[0, :, 1].real
    mz = mz_shots.mean(axis=0)
    if not isinstance(bench.detector, Magnetometer):
        mean, sem = combine(shots[:, :, 0], phase_cycle)
        return mean, sem, mz
    count = mz_shots.shape[0]
    sem = None if count < 2 else np.std(mz_shots, axis=0, ddof=1) / np.sqrt(count) + 0j
    return mz + 0j, sem, mz
