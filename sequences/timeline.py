r"""Compiled targets of a sequence: the :class:`Timeline`, the :class:`Waveform`, AWG limits.

The piecewise-constant :class:`Timeline` feeds the propagator; the sampled :class:`Waveform`
feeds an arbitrary waveform generator and must satisfy its :class:`AwgConstraints`.

These types are the contract between ``sequences`` (which produces them) and ``simulator`` /
``drivers`` (which consume them).

Drive convention (see ``DESIGN.md``). With energies as frequencies (E/h, Hz), a packet obeys

.. math::  H/h = 2\delta\,\tau_x + (\epsilon + \cos\theta\, b(t))\,\tau_z ,

and the drive :math:`b(t)` is written as the *nominal Rabi frequency*: a resonant packet with
full coupling (:math:`\epsilon = 0`, :math:`\cos\theta = 1`) driven by
:math:`b(t) = b_1\cos(2\pi f t)` nutates at :math:`b_1` Hz in the rotating-wave approximation.
In segment ``k`` of a timeline (``start_s[k] <= t < start_s[k] + duration_s[k]``)

.. math::  b(t) = r_k \cos\big(2\pi f_c t + \varphi_k + 2\pi \Delta f_k (t - t_k)\big),

with :math:`r_k` = ``rabi_hz[k]``, :math:`f_c` = ``carrier_hz``, :math:`\varphi_k` =
``phase_rad[k]`` (phase relative to the carrier at the segment start), :math:`\Delta f_k` =
``offset_hz[k]`` and :math:`t_k` = ``start_s[k]``. Time zero is the start of the sequence.

Detection: a window samples ``points`` times ``start_s + j * duration_s / points``. The detected
complex signal is the quadrature demodulation of the lab-frame magnetisation at the carrier,

.. math::  s(t) = 2\,\mathrm{LPF}\big[M_z(t)\, e^{+2\pi i f_c t}\big],

so that :math:`M_z(t) \approx \mathrm{Re}[s(t) e^{-2\pi i f_c t}]` near resonance; the phase
reference is the carrier at absolute time zero, the same for simulator and hardware.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AwgConstraints", "DetectWindow", "Timeline", "Waveform"]


@dataclass(frozen=True)
class DetectWindow:
    """A detection window: ``points`` samples from ``start_s``, spaced ``duration_s/points``."""

    start_s: float
    duration_s: float
    points: int

    @property
    def times_s(self) -> np.ndarray:
        """Absolute sample times of the window, in seconds from the sequence start."""
        return self.start_s + np.arange(self.points) * (self.duration_s / self.points)


@dataclass(frozen=True, eq=False)
class Timeline:
    """Piecewise-constant drive segments tiling ``[0, total_s]``, and detection windows.

    Attributes
    ----------
    start_s, duration_s
        Segment start times and durations, seconds; contiguous, no gaps (delays are segments
        with ``rabi_hz = 0``).
    rabi_hz
        Drive amplitude of each segment as a nominal Rabi frequency (Hz), >= 0.
    phase_rad
        Drive phase relative to the carrier at the start of each segment, radians.
    offset_hz
        Frequency offset from the carrier within each segment (Hz); non-zero for pulses with a
        ``frequency`` key and for the sub-segments of a chirp.
    pulse_index
        Index of the protocol pulse each segment belongs to, ``-1`` for delays and detection.
    carrier_hz
        Carrier (and receiver reference) frequency, Hz.
    full_scale_rabi_hz
        Nominal Rabi frequency at full-scale drive (amplitude 1.0), Hz.
    detect
        Detection windows in time order.
    """

    start_s: np.ndarray
    duration_s: np.ndarray
    rabi_hz: np.ndarray
    phase_rad: np.ndarray
    offset_hz: np.ndarray
    pulse_index: np.ndarray
    carrier_hz: float
    full_scale_rabi_hz: float
    detect: tuple[DetectWindow, ...]

    @property
    def total_s(self) -> float:
        """Total duration of the timeline, seconds."""
        if len(self.start_s) == 0:
            return 0.0
        return float(self.start_s[-1] + self.duration_s[-1])

    @property
    def detect_times_s(self) -> np.ndarray:
        """All detection times of all windows, concatenated, seconds."""
        if not self.detect:
            return np.empty(0)
        return np.concatenate([w.times_s for w in self.detect])


@dataclass(frozen=True)
class AwgConstraints:
    """What an arbitrary waveform generator can play (asked of the AWG driver).

    Attributes
    ----------
    sample_rate_min_hz, sample_rate_max_hz
        Allowed sample rates, Hz.
    min_length
        Minimum number of samples of a waveform.
    length_step
        Granularity: the number of samples must be a multiple of this.
    max_length
        Waveform memory, samples.
    dac_bits
        DAC resolution; samples are quantised to ``2**(dac_bits-1) - 1`` levels per sign.
    markers
        Number of marker channels (marker 1: trigger out; marker 2: detection gate).
    """

    sample_rate_min_hz: float = 1e3
    sample_rate_max_hz: float = 1e9
    min_length: int = 8
    length_step: int = 1
    max_length: int = 16_000_000
    dac_bits: int = 16
    markers: int = 2


@dataclass(frozen=True, eq=False)
class Waveform:
    """Samples for an AWG channel, with markers.

    Sample ``k`` is held for ``[k, k+1) / sample_rate_hz`` (zero-order hold). ``samples`` is the
    drive :math:`b(t_k)`, :math:`t_k = (k + 1/2)/f_s` (the middle of the hold), as a fraction of
    full scale, already quantised to the DAC levels:
    ``samples == codes / (2**(dac_bits-1) - 1)``.

    Attributes
    ----------
    sample_rate_hz
        Sample rate, Hz.
    samples
        Float64 samples in ``[-1, 1]``.
    dac_bits
        DAC resolution the samples were quantised to.
    markers
        Boolean array ``(n_markers, n_samples)``: row 0 the trigger, row 1 the detection gate.
    carrier_hz
        Carrier frequency (receiver reference), Hz.
    full_scale_rabi_hz
        Nominal Rabi frequency that sample value 1.0 produces, Hz.
    detect
        Detection windows (times in seconds from the first sample).
    """

    sample_rate_hz: float
    samples: np.ndarray
    dac_bits: int
    markers: np.ndarray
    carrier_hz: float
    full_scale_rabi_hz: float
    detect: tuple[DetectWindow, ...]

    @property
    def full_scale_code(self) -> int:
        """The DAC code of full scale, ``2**(dac_bits-1) - 1``."""
        return 2 ** (self.dac_bits - 1) - 1

    @property
    def codes(self) -> np.ndarray:
        """Signed integer DAC codes of the samples (int16 for up to 16 bits)."""
        dtype = np.int16 if self.dac_bits <= 16 else np.int32
        return np.rint(self.samples * self.full_scale_code).astype(dtype)

    @property
    def duration_s(self) -> float:
        """Length of the waveform, seconds."""
        return len(self.samples) / self.sample_rate_hz
