"""What an AWG model can play, and the checks every AWG driver makes before uploading.

:class:`AwgModel` holds a model's fixed capabilities (sample rates, memory, minimum length,
granularity, DAC resolution, markers). :func:`check_waveform` compares a compiled
:class:`~sequences.timeline.Waveform` with the :class:`~sequences.timeline.AwgConstraints` the
driver announced (already tightened by the bench limits) and with the sample rate the bench
asks for, and says what does not fit; drivers refuse such a waveform before sending a byte.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spin_echo.sequences.timeline import AwgConstraints, Waveform

__all__ = ["AwgModel", "check_waveform"]


@dataclass(frozen=True)
class AwgModel:
    """Fixed capabilities of one AWG model (from its data sheet).

    Attributes
    ----------
    sample_rate_min_hz, sample_rate_max_hz
        Sample-rate range, Sa/s.
    memory
        Waveform memory per channel, samples (standard memory option).
    min_length, length_step
        Minimum waveform length and granularity, samples.
    dac_bits
        DAC resolution.
    markers
        Marker outputs usable as trigger out / detection gate.
    """

    sample_rate_min_hz: float
    sample_rate_max_hz: float
    memory: int
    min_length: int
    length_step: int
    dac_bits: int
    markers: int

    def constraints(self, sample_rate_limit_hz: float | None) -> AwgConstraints:
        """Return the model's constraints, with the bench's sample-rate limit applied."""
        high = self.sample_rate_max_hz
        if sample_rate_limit_hz is not None:
            high = min(high, sample_rate_limit_hz)
        return AwgConstraints(
            sample_rate_min_hz=self.sample_rate_min_hz,
            sample_rate_max_hz=high,
            min_length=self.min_length,
            length_step=self.length_step,
            max_length=self.memory,
            dac_bits=self.dac_bits,
            markers=self.markers,
        )


def check_waveform(
    waveform: Waveform, constraints: AwgConstraints, sample_rate_hz: float
) -> str | None:
    """Return why ``waveform`` cannot be played as configured, or None if it can.

    Parameters
    ----------
    waveform
        The compiled waveform.
    constraints
        What the AWG announced (model and bench limits).
    sample_rate_hz
        The sample rate the bench file configures; the waveform must have been compiled for it.
    """
    n = len(waveform.samples)
    if not np.isclose(waveform.sample_rate_hz, sample_rate_hz, rtol=1e-12, atol=0.0):
        return (
            f"waveform sample rate {waveform.sample_rate_hz:g} Sa/s differs from the bench's "
            f"{sample_rate_hz:g} Sa/s"
        )
    if not constraints.sample_rate_min_hz <= sample_rate_hz <= constraints.sample_rate_max_hz:
        return (
            f"sample rate {sample_rate_hz:g} Sa/s is outside {constraints.sample_rate_min_hz:g}"
            f"..{constraints.sample_rate_max_hz:g} Sa/s"
        )
    if n < constraints.min_length:
        return f"waveform has {n} samples; the AWG needs at least {constraints.min_length}"
    if n > constraints.max_length:
        return f"waveform has {n} samples; the AWG memory holds at most {constraints.max_length}"
    if n % constraints.length_step:
        return f"waveform has {n} samples, not a multiple of {constraints.length_step}"
    if waveform.dac_bits != constraints.dac_bits:
        return (
            f"waveform is quantised to {waveform.dac_bits} bits; this AWG's DAC has "
            f"{constraints.dac_bits}"
        )
    peak = float(np.max(np.abs(waveform.samples))) if n else 0.0
    if not np.isfinite(peak) or peak > 1.0:
        return f"waveform peak {peak:g} exceeds full scale 1.0 (no clipping is done)"
    if waveform.markers.ndim != 2 or waveform.markers.shape[1] != n:
        return f"marker array has shape {waveform.markers.shape}; expected (rows, {n})"
    return None
