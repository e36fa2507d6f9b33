r"""Compile a :class:`~sequences.model.Sequence` to a Timeline (propagator) or a Waveform (AWG).

Both targets come from one code path: :func:`layout` places every element on the absolute time
axis (edges summed exactly in rational arithmetic and rounded once), and :class:`PulseDrive`
gives the drive of one pulse as functions of time,

.. math::  b(t) = r(t)\cos\big(2\pi f_c t + \Phi(t)\big), \qquad
           \Phi(t) = \varphi + 2\pi\,\Delta f\,t + \phi_{\rm sweep}(t - t_0),

with :math:`r(t)` = peak Rabi frequency times the shape envelope, :math:`\varphi` the pulse phase,
:math:`\Delta f` its frequency offset (a continuous oscillator at :math:`f_c + \Delta f`, phase
zero at :math:`t = 0`) and :math:`\phi_{\rm sweep}` the shape's sweep phase from the pulse start
:math:`t_0`. The Timeline integrates this drive over segments; the Waveform samples it.

Timeline rule. A ``rect`` pulse without sweep is one segment (the propagator has a closed form
per segment). A shaped pulse of duration :math:`T`, peak Rabi frequency :math:`r_{\max}`, sweep
span :math:`B` and offset :math:`\Delta f` is cut into
:math:`N = \max(64, \lceil 20\,r_{\max} T\rceil, \lceil 20\,|B| T\rceil, N_\epsilon)` equal
sub-segments of length h, at most :data:`MAX_SUBSEGMENTS`, where :math:`N_\epsilon` meets
:data:`PULSE_TOLERANCE` in this error bound. With the area of every sub-segment exact, the
first Magnus term of each is exact; what is left, relative to the pulse's angle
:math:`2\pi A` (:math:`A = \int r\,dt`, cycles), is at most

.. math:: \frac{h^2}{12}\Big(2\pi\,D\,\frac{V}{A} + \max|\Phi''|\Big),

with :math:`V = \int|\dot r|\,dt` the envelope's total variation: the second Magnus term of a
packet detuned by D from the drive (the envelope's steps do not commute with the detuning),
plus the phase's curvature within a sub-segment (sweeps). The detuning D depends on the frame:
in the rotating frame, packets with :math:`2E < 2f_c` see :math:`D \le f_c + |\Delta f| + |B|`;
in the lab frame the counter-rotating component adds the carrier once more,
:math:`D \le 2f_c + |\Delta f| + |B|`. The rule uses the lab-frame D, so both frames meet the
tolerance. Sub-segment ``j`` gets the amplitude that makes
its area the exact area of the shape over it, so the pulse area is exact to rounding
(``~1e-12`` relative), and the phase :math:`\Phi(t_j)` at its start with the offset
:math:`(\Phi(t_{j+1}) - \Phi(t_j)) / 2\pi (t_{j+1} - t_j)`, so the phase is continuous.
Delays and detection time are segments with ``rabi_hz = 0``, cut at window edges; segments
tile ``[0, total]``.

Waveform rule. Sample :math:`k` is :math:`b((k + 1/2)/f_s)/r_{\rm full}`: an AWG holds each
sample for one period, so sampling the drive at the middle of that period makes the held
waveform free of the half-sample delay (2.9 degrees of a 4 MHz carrier at 250 MSa/s) that
sampling at its start would cause. Every edge (pulse, window)
is an absolute time rounded once to the nearest sample index; a pulse covers the samples
``round(t0 fs) <= k < round(t1 fs)``. The compiler refuses (:class:`CompileError`) a sample rate
outside the AWG range, a pulse shorter than one sample, a waveform longer than the AWG memory
and any sample beyond full scale; it never clips. The waveform is padded with zeros to
``min_length`` and to a multiple of ``length_step`` and quantised to ``dac_bits``. Markers:
row 0 (trigger) is high for the first ``max(length_step, ceil(100 ns * fs))`` samples; row 1
(detection gate) is high on the samples of every detection window.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from spin_echo.sequences.errors import CompileError
from spin_echo.sequences.model import Delay, Detect, Pulse, Sequence
from spin_echo.sequences.timeline import AwgConstraints, DetectWindow, Timeline, Waveform

__all__ = [
    "MAX_SUBSEGMENTS",
    "Layout",
    "PulseDrive",
    "compile_timeline",
    "compile_waveform",
    "layout",
]

#: Most sub-segments one shaped pulse may be cut into.
MAX_SUBSEGMENTS = 100_000
#: Fewest sub-segments of a shaped pulse.
MIN_SUBSEGMENTS = 64
#: Sub-segments per Rabi cycle and per cycle of sweep span.
SUBSEGMENTS_PER_CYCLE = 20
#: Error bound of a shaped pulse's piecewise-constant map, relative to its angle (module
#: docstring), in either frame.
PULSE_TOLERANCE = 1e-4
#: Points on which the envelope's variation and the phase's curvature are evaluated.
_SHAPE_GRID = 4097
#: Shortest trigger marker, seconds.
TRIGGER_S = 100e-9
_TWO_PI = 2 * math.pi


@dataclass(frozen=True)
class PulseDrive:
    """The drive of one placed pulse as functions of absolute time (seconds).

    Attributes
    ----------
    index
        Index of the pulse among the sequence's pulses.
    element
        Index of the pulse among the sequence's elements.
    pulse
        The pulse.
    start_s, end_s
        Absolute edges, seconds.
    full_scale_rabi_hz
        Nominal Rabi frequency at amplitude 1, Hz.
    """

    index: int
    element: int
    pulse: Pulse
    start_s: float
    end_s: float
    full_scale_rabi_hz: float

    @property
    def peak_rabi_hz(self) -> float:
        """Peak nominal Rabi frequency, Hz."""
        return self.pulse.peak_rabi_hz(self.full_scale_rabi_hz)

    def _u(self, t_s: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(t_s, dtype=float) - self.start_s, 0.0, self.pulse.duration_s)

    def rabi_hz(self, t_s: np.ndarray) -> np.ndarray:
        """Instantaneous nominal Rabi frequency r(t), Hz."""
        return self.peak_rabi_hz * self.pulse.shape.envelope(self._u(t_s), self.pulse.duration_s)

    def area_cycles(self, t_s: np.ndarray) -> np.ndarray:
        """Exact running area from the pulse start, cycles (integral of r(t) dt)."""
        return self.peak_rabi_hz * self.pulse.shape.cumulative(self._u(t_s), self.pulse.duration_s)

    def phase_rad(self, t_s: np.ndarray) -> np.ndarray:
        """Drive phase relative to the carrier, Phi(t), radians."""
        t = np.asarray(t_s, dtype=float)
        sweep = self.pulse.shape.sweep_phase_rad(self._u(t), self.pulse.duration_s)
        return self.pulse.phase_rad + _TWO_PI * self.pulse.frequency_hz * t + sweep

    def error_rate(self, carrier_hz: float) -> float:
        r"""Return :math:`2\pi D V/A + \max|\Phi''|` (1/s^2), the lab-frame error bound per h^2/12.

        See the module docstring; :math:`D = 2f_c + |\Delta f| + |B|`. Zero for a pulse of no
        area. ``carrier_hz`` is the sequence's carrier, Hz.
        """
        shape, duration = self.pulse.shape, self.pulse.duration_s
        u = np.linspace(0.0, duration, _SHAPE_GRID)
        area = self.peak_rabi_hz * float(shape.cumulative(np.array([duration]), duration)[0])
        if area <= 0.0:
            return 0.0
        variation = self.peak_rabi_hz * float(np.sum(np.abs(np.diff(shape.envelope(u, duration)))))
        step = duration / (_SHAPE_GRID - 1)
        curvature = np.diff(shape.sweep_phase_rad(u, duration), 2) / (step * step)
        detuning = 2.0 * abs(carrier_hz) + abs(self.pulse.frequency_hz) + abs(shape.span_hz)
        bend = float(np.max(np.abs(curvature))) if curvature.size else 0.0
        return _TWO_PI * detuning * variation / area + bend

    def subsegments(self, carrier_hz: float = 0.0) -> int:
        """Return the number of timeline segments of this pulse (rule in the module docstring).

        ``carrier_hz`` is the sequence's carrier (Hz), which enters the lab-frame error bound.
        """
        shape = self.pulse.shape
        if shape.piecewise_constant:
            return 1
        duration = self.pulse.duration_s
        bound = math.sqrt(self.error_rate(carrier_hz) / (12.0 * PULSE_TOLERANCE))
        n = max(
            MIN_SUBSEGMENTS,
            math.ceil(SUBSEGMENTS_PER_CYCLE * self.peak_rabi_hz * duration),
            math.ceil(SUBSEGMENTS_PER_CYCLE * shape.span_hz * duration),
            math.ceil(bound * duration),
        )
        if n > MAX_SUBSEGMENTS:
            raise CompileError(
                f"a {shape.name} pulse of {duration:g} s needs {n} segments; at most "
                f"{MAX_SUBSEGMENTS} are allowed (shorten it or lower its sweep)",
                key=f"sequence[{self.element}].pulse",
            )
        return n


@dataclass(frozen=True)
class Layout:
    """Elements placed on the absolute time axis.

    Attributes
    ----------
    pulses
        One :class:`PulseDrive` per pulse, in order.
    idle
        ``(start_s, end_s)`` of every stretch without drive (delays, detection time), in order.
    windows
        Detection windows, in order.
    window_edges
        ``(start_s, end_s)`` of every window (the end rounded once from the exact sum).
    total_s
        End of the last element, seconds.
    """

    pulses: tuple[PulseDrive, ...]
    idle: tuple[tuple[float, float], ...]
    windows: tuple[DetectWindow, ...]
    window_edges: tuple[tuple[float, float], ...]
    total_s: float


def layout(seq: Sequence) -> Layout:
    """Place the elements of ``seq`` in absolute time and check the detection windows.

    Raises
    ------
    CompileError
        If a detection window starts before time zero or overlaps a pulse or another window;
        the key names the element (``sequence[i]``).
    """
    now = Fraction(0)
    pulses: list[PulseDrive] = []
    idle: list[tuple[float, float]] = []
    windows: list[DetectWindow] = []
    window_edges: list[tuple[float, float]] = []
    last_pulse_end = Fraction(0)
    last_window_end = Fraction(0)
    for i, element in enumerate(seq.elements):
        if isinstance(element, Pulse):
            end = now + Fraction(element.duration_s)
            pulses.append(
                PulseDrive(len(pulses), i, element, float(now), float(end), seq.full_scale_rabi_hz)
            )
            now = last_pulse_end = end
        elif isinstance(element, Delay):
            end = now + Fraction(element.duration_s)
            idle.append((float(now), float(end)))
            now = end
        elif isinstance(element, Detect):
            start = now + Fraction(element.offset_s)
            end = start + Fraction(element.duration_s)
            key = f"sequence[{i}].detect"
            if start < 0:
                raise CompileError("detection window starts before time zero", key=key)
            if start < last_pulse_end:
                raise CompileError(
                    f"detection window opens at {float(start):g} s, inside pulse "
                    f"{len(pulses) - 1} (ending at {float(last_pulse_end):g} s)",
                    key=key,
                )
            if windows and start < last_window_end:
                raise CompileError(
                    f"detection window opens at {float(start):g} s and overlaps the previous "
                    f"detection window (ending at {float(last_window_end):g} s)",
                    key=key,
                )
            windows.append(DetectWindow(float(start), element.duration_s, element.points))
            window_edges.append((float(start), float(end)))
            if end > now:
                idle.append((float(now), float(end)))
                now = end
            last_window_end = end
    return Layout(tuple(pulses), tuple(idle), tuple(windows), tuple(window_edges), float(now))


def _pulse_segments(drive: PulseDrive, carrier_hz: float) -> tuple[np.ndarray, ...]:
    """Segments of one pulse: (starts, durations, rabi, phase, offset)."""
    n = drive.subsegments(carrier_hz)
    duration = drive.pulse.duration_s
    edges = drive.start_s + duration * (np.arange(n + 1) / n)
    edges[0], edges[-1] = drive.start_s, drive.end_s
    widths = np.diff(edges)
    rabi = np.array([drive.peak_rabi_hz]) if n == 1 else np.diff(drive.area_cycles(edges)) / widths
    phases = drive.phase_rad(edges)
    offsets = np.diff(phases) / (_TWO_PI * widths)
    if drive.pulse.shape.span_hz == 0:
        offsets[:] = drive.pulse.frequency_hz
    return edges[:-1], widths, rabi, np.mod(phases[:-1], _TWO_PI), offsets


def compile_timeline(seq: Sequence) -> Timeline:
    """Compile a sequence to piecewise-constant segments for the propagator.

    Parameters
    ----------
    seq
        The concrete sequence.

    Returns
    -------
    Timeline
        Segments tiling ``[0, total]`` (rules in the module docstring) and detection windows.

    Raises
    ------
    CompileError
        For overlapping or misplaced detection windows and over-long shaped pulses.
    """
    placed = layout(seq)
    cuts = {0.0, placed.total_s}
    for start, end in placed.idle:
        cuts.update((start, end))
    for start, end in placed.window_edges:
        cuts.update((start, end))
    for drive in placed.pulses:
        cuts.update((drive.start_s, drive.end_s))
    edges = sorted(c for c in cuts if 0.0 <= c <= placed.total_s)
    by_start = {drive.start_s: drive for drive in placed.pulses if drive.end_s > drive.start_s}
    parts: list[tuple[np.ndarray, ...]] = []
    index: list[np.ndarray] = []
    for a, b in itertools.pairwise(edges):
        drive = by_start.get(a)
        if drive is not None:
            segments = _pulse_segments(drive, seq.carrier_hz)
            parts.append(segments)
            index.append(np.full(len(segments[0]), drive.index))
        else:
            zero = np.zeros(1)
            parts.append((np.array([a]), np.array([b - a]), zero, zero, zero))
            index.append(np.array([-1]))
    columns = [np.concatenate([p[c] for p in parts]) if parts else np.empty(0) for c in range(5)]
    return Timeline(
        start_s=columns[0],
        duration_s=columns[1],
        rabi_hz=columns[2],
        phase_rad=columns[3],
        offset_hz=columns[4],
        pulse_index=np.concatenate(index).astype(np.int64) if index else np.empty(0, np.int64),
        carrier_hz=seq.carrier_hz,
        full_scale_rabi_hz=seq.full_scale_rabi_hz,
        detect=placed.windows,
    )


def _sample(t_s: float, rate_hz: float) -> int:
    """Nearest sample index of an absolute time."""
    return round(t_s * rate_hz)


def compile_waveform(seq: Sequence, constraints: AwgConstraints, sample_rate_hz: float) -> Waveform:
    r"""Compile a sequence to AWG samples with markers, within the AWG's constraints.

    Parameters
    ----------
    seq
        The concrete sequence.
    constraints
        What the AWG can play (sample rates, lengths, granularity, DAC bits, markers).
    sample_rate_hz
        Sample rate, Hz.

    Returns
    -------
    Waveform
        Quantised samples :math:`b(k/f_s)/r_{\rm full}` with trigger and gate markers.

    Raises
    ------
    CompileError
        For a sample rate outside the AWG range, a pulse shorter than one sample, a waveform
        longer than ``max_length`` or a sample beyond full scale (never clipped).
    """
    rate = float(sample_rate_hz)
    if not (constraints.sample_rate_min_hz <= rate <= constraints.sample_rate_max_hz):
        raise CompileError(
            f"must be between {constraints.sample_rate_min_hz:g} and "
            f"{constraints.sample_rate_max_hz:g} Hz for this AWG",
            key="sample_rate",
            value=rate,
        )
    placed = layout(seq)
    for drive in placed.pulses:
        if drive.pulse.duration_s * rate < 1:
            raise CompileError(
                f"pulse of {drive.pulse.duration_s:g} s is shorter than one sample "
                f"({1 / rate:g} s at {rate:g} Sa/s)",
                key=f"sequence[{drive.element}].pulse.duration",
            )
    n = max(_sample(placed.total_s, rate), constraints.min_length)
    step = max(1, constraints.length_step)
    n = -(-n // step) * step
    if n > constraints.max_length:
        raise CompileError(
            f"needs {n} samples ({placed.total_s:g} s at {rate:g} Sa/s); the AWG holds at most "
            f"{constraints.max_length}",
            key="sequence",
        )
    values = np.zeros(n)
    for drive in placed.pulses:
        k = np.arange(_sample(drive.start_s, rate), _sample(drive.end_s, rate))
        t = (k + 0.5) / rate
        carrier = _TWO_PI * np.mod(seq.carrier_hz * t, 1.0)
        values[k] = drive.rabi_hz(t) * np.cos(carrier + drive.phase_rad(t)) / seq.full_scale_rabi_hz
        peak = float(np.max(np.abs(values[k]), initial=0.0))
        if peak > 1:
            raise CompileError(
                f"reaches {peak:.6g} of full scale; samples must stay within [-1, 1]",
                key=f"sequence[{drive.element}].pulse",
            )
    full = 2 ** (constraints.dac_bits - 1) - 1
    codes = np.rint(values * full)
    markers = np.zeros((constraints.markers, n), dtype=bool)
    if constraints.markers >= 1:
        markers[0, : max(step, math.ceil(TRIGGER_S * rate))] = True
    if constraints.markers >= 2:
        for start, end in placed.window_edges:
            markers[1, _sample(start, rate) : _sample(end, rate)] = True
    return Waveform(
        sample_rate_hz=rate,
        samples=codes / full,
        dac_bits=constraints.dac_bits,
        markers=markers,
        carrier_hz=seq.carrier_hz,
        full_scale_rabi_hz=seq.full_scale_rabi_hz,
        detect=placed.windows,
    )
