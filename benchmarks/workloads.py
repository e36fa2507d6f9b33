r"""The benchmark's workloads: protocols (compiled by :mod:`sequences`) and packet ensembles.

Canonical workload: a Hahn echo with rectangular pulses (pi/2 of 25 ns at a 10 MHz Rabi
frequency, tau = 1 us, a 1.6 us window centred on the echo, M points) at a 100 MHz carrier, with
T1 = T2 = 4 us at zero temperature, on N packets whose transition frequency 2E is Gaussian about
the carrier (sigma 2 MHz) and whose coupling :math:`2\delta/E` is uniform in [0.5, 1] (bias
:math:`\epsilon = \pm E\sqrt{1 - (2\delta/E)^2}`, random sign), :math:`\cos\theta = 1`,
equal weights.

Second workload: the same echo with Gaussian pulses (100 ns pi/2, truncated at 3 sigma), as a
timeline of piecewise-constant sub-segments (the propagator) and as an AWG waveform sampled at
1 GS/s (one segment per sample, lab frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spin_echo.sequences import (
    AwgConstraints,
    Protocol,
    Timeline,
    Waveform,
    compile_timeline,
    compile_waveform,
)

__all__ = [
    "CARRIER_HZ",
    "SAMPLE_RATE_HZ",
    "T1_S",
    "T2_S",
    "Packets",
    "draw_packets",
    "hahn_timeline",
    "shaped_timeline",
    "shaped_waveform",
]

CARRIER_HZ = 100e6
T1_S = 4e-6
T2_S = 4e-6
DETUNING_WIDTH_HZ = 2e6
SAMPLE_RATE_HZ = 1e9

_HAHN = """\
name: bench-hahn
description: Hahn echo of the propagator benchmark.
parameters:
  carrier: 100 MHz
  t_pi2: {t_pi2}
  tau: 1 us
  window: 1.6 us
sequence:
  - pulse: {{angle: pi/2, duration: t_pi2, phase: 0 deg, shape: {shape}}}
  - delay: tau
  - pulse: {{angle: pi, duration: 2*t_pi2, phase: 90 deg, shape: {shape}}}
  - delay: tau - window/2
  - detect: {{duration: window, points: {points}}}
full_scale_rabi: 20 MHz
"""


def _protocol(points: int, shape: str, t_pi2: str) -> Protocol:
    return Protocol.from_yaml(
        _HAHN.format(points=points, shape=shape, t_pi2=t_pi2), source="bench/workloads.py"
    )


def hahn_timeline(points: int) -> Timeline:
    """Return the canonical Hahn echo (rectangular pulses) with ``points`` detection points."""
    return compile_timeline(_protocol(points, "rect", "25 ns").sequence())


def shaped_timeline(points: int) -> Timeline:
    """Return the Hahn echo with Gaussian pulses, compiled to sub-segments."""
    return compile_timeline(_protocol(points, "gaussian", "100 ns").sequence())


def shaped_waveform(points: int) -> Waveform:
    """Return the Hahn echo with Gaussian pulses as a 16-bit AWG waveform at 1 GS/s."""
    sequence = _protocol(points, "gaussian", "100 ns").sequence()
    return compile_waveform(sequence, AwgConstraints(), SAMPLE_RATE_HZ)


@dataclass(frozen=True, eq=False)
class Packets:
    """Packet parameters as plain arrays (Hz), shared by the references and the project."""

    delta_hz: np.ndarray
    epsilon_hz: np.ndarray
    cos_theta: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.delta_hz)

    def head(self, count: int) -> Packets:
        """Return the first ``count`` packets."""
        return Packets(
            self.delta_hz[:count],
            self.epsilon_hz[:count],
            self.cos_theta[:count],
            self.weight[:count],
        )


def draw_packets(count: int, *, seed: int = 1) -> Packets:
    """Draw the benchmark ensemble (see the module docstring); the same seed, the same packets."""
    rng = np.random.default_rng(seed)
    energy = 0.5 * (CARRIER_HZ + DETUNING_WIDTH_HZ * rng.standard_normal(count))
    coupling = rng.uniform(0.5, 1.0, count)
    sign = np.where(rng.random(count) < 0.5, -1.0, 1.0)
    return Packets(
        delta_hz=0.5 * coupling * energy,
        epsilon_hz=sign * energy * np.sqrt(1.0 - coupling**2),
        cos_theta=np.ones(count),
        weight=np.ones(count),
    )
