r"""What a protocol asks of a bench beyond the AWG's memory, checked before connecting.

:func:`spin_echo.drivers.bench.check_protocol_fits` compiles every sweep point and phase step
for the bench's AWG; these checks then refuse, as input errors (exit 2), what would otherwise
play or record nonsense without an error, or fail late:

* **Drive frequencies within the AWG's Nyquist frequency.** A pulse drives at
  :math:`f_c + \Delta f` (carrier plus the pulse's ``frequency``) and its swept shapes (chirp,
  sech) sweep symmetrically about it over ``span_hz``, so its instantaneous frequency reaches
  :math:`|f_c + \Delta f| + \mathrm{span}/2`. At or above :math:`f_s/2` the samples play an
  alias (a drive at :math:`10^{15}` Hz, a multiple of 250 MHz, aliases onto resonance).
* **Pulses the DAC can play.** A pulse whose peak is below half a DAC step,
  :math:`a\,(2^{b-1}-1) < 1/2` (``a`` its amplitude as a fraction of full scale), quantises to
  zero samples: the AWG would play nothing.
* **A receiver that can demodulate the carrier** (benches that demodulate a pickup trace, not
  those with a magnetometer): bandwidth below the carrier, and, where the trace's sample rate is
  known before connecting (the virtual detector records at the AWG's rate), carrier plus
  bandwidth below its Nyquist frequency and a trace of at most :data:`MAX_TRACE_SAMPLES`
  samples per shot: the trace spans the detection windows plus the filter's settling
  :func:`~spin_echo.drivers.receiver.guard_s` = 4/bandwidth on each side, which at a 1 Hz
  carrier (bandwidth 0.5 Hz) is 8 s, 2×10⁹ samples at 250 MSa/s.
"""

from __future__ import annotations

import math

from spin_echo.drivers.receiver import guard_s
from spin_echo.sequences.compile import layout
from spin_echo.sequences.errors import CompileError
from spin_echo.sequences.model import Pulse, Sequence
from spin_echo.sequences.timeline import AwgConstraints, Waveform

__all__ = ["MAX_TRACE_SAMPLES", "check_drive", "check_receiver", "drive_frequency_hz"]

#: Most samples of one shot's trace recorded at a known rate (the virtual detector's), before
#: demodulation: 2×10⁷, the record's own limit of detection points per sweep.
MAX_TRACE_SAMPLES = 20_000_000


def drive_frequency_hz(carrier_hz: float, pulse: Pulse) -> float:
    r"""Return the highest instantaneous frequency of ``pulse``'s drive, Hz.

    :math:`|f_c + \Delta f| + \mathrm{span}/2` (module docstring); ``carrier_hz`` in Hz.
    """
    return abs(carrier_hz + pulse.frequency_hz) + pulse.shape.span_hz / 2.0


def check_drive(seq: Sequence, constraints: AwgConstraints, sample_rate_hz: float) -> None:
    """Refuse a pulse the AWG would alias or play as zeros.

    Parameters
    ----------
    seq
        One sweep point and phase step of the protocol.
    constraints
        The AWG's (its DAC resolution).
    sample_rate_hz
        The bench's AWG sample rate, Hz.

    Raises
    ------
    CompileError
        Keyed by the pulse (``sequence[i].pulse``): its frequency at or above the Nyquist
        frequency, or its amplitude below half a DAC step.
    """
    nyquist = sample_rate_hz / 2.0
    steps = 2 ** (constraints.dac_bits - 1) - 1
    for drive in layout(seq).pulses:
        top = drive_frequency_hz(seq.carrier_hz, drive.pulse)
        if top >= nyquist:
            raise CompileError(
                f"drives at up to {top:.6g} Hz (carrier + frequency + half the sweep), at or "
                f"above the AWG's Nyquist frequency {nyquist:.6g} Hz ({sample_rate_hz:.6g} Sa/s):"
                " its samples would play an alias",
                key=f"sequence[{drive.element}].pulse",
            )
        fraction = drive.peak_rabi_hz / seq.full_scale_rabi_hz
        if 0 < fraction * steps < 0.5:
            raise CompileError(
                f"peaks at {fraction:.3g} of full scale, below half a DAC step (1/{steps} at "
                f"{constraints.dac_bits} bits): the AWG would play zeros (lower full_scale_rabi "
                "or lengthen the pulse)",
                key=f"sequence[{drive.element}].pulse",
            )


def check_receiver(
    waveform: Waveform, bandwidth_hz: float, trace_rate_hz: float | None
) -> str | None:
    """Return why the receiver cannot demodulate ``waveform``'s detection, or None.

    Parameters
    ----------
    waveform
        One compiled sweep point and phase step (its carrier and detection windows).
    bandwidth_hz
        The receiver's low-pass bandwidth, Hz.
    trace_rate_hz
        The detector's sample rate where known before connecting (None: not checked).
    """
    carrier = waveform.carrier_hz
    if not bandwidth_hz < carrier:
        return (
            f"the receiver bandwidth {bandwidth_hz:.6g} Hz must lie below the carrier "
            f"{carrier:.6g} Hz"
        )
    if trace_rate_hz is None or not waveform.detect:
        return None
    if not carrier + bandwidth_hz < trace_rate_hz / 2.0:
        return (
            f"the carrier {carrier:.6g} Hz plus the receiver bandwidth {bandwidth_hz:.6g} Hz must "
            f"lie below the detector's Nyquist frequency {trace_rate_hz / 2:.6g} Hz"
        )
    first = min(window.times_s[0] for window in waveform.detect)
    last = max(window.times_s[-1] for window in waveform.detect)
    span = last - first + 2.0 * guard_s(bandwidth_hz)
    samples = span * trace_rate_hz
    if samples > MAX_TRACE_SAMPLES:
        return (
            f"a shot's trace needs {math.ceil(samples)} samples ({span:.3g} s at "
            f"{trace_rate_hz:.6g} Sa/s: "
            f"the detection plus 4/bandwidth = {guard_s(bandwidth_hz):.3g} s on each side for the "
            f"receiver's filter to settle); at most {MAX_TRACE_SAMPLES} (raise the carrier or "
            "the bench's receiver bandwidth, or shorten the detection)"
        )
    return None
