"""Shared helpers of the simulator tests: timelines built by hand (no compiler involved)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from spin_echo.sequences.timeline import DetectWindow, Timeline
from spin_echo.simulator import kernels

Segment = tuple[float, float, float] | tuple[float, float, float, float]


def build_timeline(
    segments: Sequence[Segment],
    *,
    carrier_hz: float = 4e6,
    detect: Sequence[tuple[float, float, int]] = (),
    full_scale_rabi_hz: float = 10e6,
) -> Timeline:
    """Segments ``(duration_s, rabi_hz, phase_rad[, offset_hz])``; detect ``(start, dur, n)``."""
    duration = np.array([s[0] for s in segments], dtype=float)
    start = np.concatenate([[0.0], np.cumsum(duration)[:-1]])
    rabi = np.array([s[1] for s in segments], dtype=float)
    phase = np.array([s[2] for s in segments], dtype=float)
    offset = np.array([s[3] if len(s) > 3 else 0.0 for s in segments], dtype=float)
    index = np.where(rabi > 0, np.cumsum(rabi > 0) - 1, -1)
    windows = tuple(DetectWindow(float(a), float(b), int(n)) for a, b, n in detect)
    return Timeline(
        start, duration, rabi, phase, offset, index, carrier_hz, full_scale_rabi_hz, windows
    )


def hahn_timeline(
    tau_s: float,
    *,
    t_pi2_s: float = 50e-9,
    rabi_hz: float = 5e6,
    carrier_hz: float = 4e6,
    window_s: float = 2e-6,
    points: int = 64,
    phase2_rad: float = np.pi / 2,
) -> Timeline:
    """pi/2 - tau - pi - (tau - window/2) - detect(window), rectangular pulses."""
    segments = [
        (t_pi2_s, rabi_hz, 0.0),
        (tau_s, 0.0, 0.0),
        (2 * t_pi2_s, rabi_hz, phase2_rad),
        (tau_s - window_s / 2, 0.0, 0.0),
        (window_s, 0.0, 0.0),
    ]
    start = 3 * t_pi2_s + 2 * tau_s - window_s / 2
    return build_timeline(segments, carrier_hz=carrier_hz, detect=[(start, window_s, points)])


@pytest.fixture
def make_timeline() -> Callable[..., Timeline]:
    return build_timeline


@pytest.fixture
def make_hahn() -> Callable[..., Timeline]:
    return hahn_timeline


def _backend_or_skip(name: str) -> str:
    """``name`` if that kernel backend can run here; else the test is reported as skipped."""
    if name not in kernels.available_backends():
        pytest.skip(f"the {name} kernel backend is not installed (pip install -e '.[fast]')")
    return name


@pytest.fixture(params=kernels.BACKENDS)
def backend(request) -> str:
    """Every kernel backend by name; one that is not installed is a reported skip, not a gap."""
    return _backend_or_skip(request.param)


@pytest.fixture(params=kernels.BACKENDS)
def kernel_backend(request):
    """Run the test with each kernel backend in force (numba reported as skipped if absent)."""
    with kernels.use_backend(_backend_or_skip(request.param)):
        yield request.param
