"""Phase steps that end alike, propagated as one (simulator/cycle.py).

The reference is the step-by-step path: every step propagated alone (itself checked against
the closed forms, the Bloch equations and QuTiP elsewhere) and combined with the receivers.
The combined propagation does the same sums in another order, so it must agree to rounding of
the steps' own signals (a cycle may cancel most of them): with the numpy backend the largest
difference seen on these cases is 2e-16 of the largest step signal, asserted at 2e-15; the
numba backend's detection sums are a non-uniform FFT accurate to 1e-14 of the sum of the packet
amplitudes (simulator/kernels/nufft.py; at most 1 for a normalised signal), done on other
amplitudes here, so 1e-14 absolute (6e-15 seen). m_z is step 0's own propagation and must keep
its bits (with either backend).
"""

from __future__ import annotations

import textwrap
from types import SimpleNamespace

import numpy as np
import pytest

from spin_echo.sequences import combine_phase_cycle
from spin_echo.simulator import kernels, load_sample
from spin_echo.simulator.cycle import shared_cycle
from spin_echo.simulator.lab.frame import METHOD_ENV
from spin_echo.simulator.simulation import REPLICAS, Simulation

ROUNDING = 2e-15
NUFFT = 1e-14
PI = np.pi


def _sample(tmp_path, relaxation: str, temperature: str = "0 K"):
    path = tmp_path / "grains.yaml"
    path.write_text(
        textwrap.dedent(f"""\
            name: grains
            description: Bare grains for the cycle tests.
            spin: 4000
            g: 2.0
            tunnel_splitting: {{distribution: lognormal, median: 1 MHz, sigma: 0.05}}
            bias: {{distribution: gaussian, mean: 0 Hz, width: 0.3 MHz}}
            orientation: {{distribution: fixed, theta: 0 deg}}
            packets: 3000
            seed: 5
            temperature: {temperature}
            relaxation: {relaxation}
            """),
        encoding="utf-8",
    )
    return load_sample(path)


def _echo(make_timeline, phase1: float, phase2: float, *, detect_in_pulse: bool = False):
    """pi/2 (phase1) - 2 us - pi (phase2) - 1 us - window 2 us with 64 points."""
    segments = [(0.25e-6, 1e6, phase1), (2e-6, 0.0, 0.0), (0.5e-6, 1e6, phase2)]
    if detect_in_pulse:  # the window starts inside a last, weak pulse
        segments += [(0.8e-6, 0.0, 0.0), (2.2e-6, 0.05e6, 0.3)]
        return make_timeline(segments, detect=[(3.3e-6, 2e-6, 64)])
    segments += [(1e-6, 0.0, 0.0), (2e-6, 0.0, 0.0)]
    return make_timeline(segments, detect=[(3.75e-6, 2e-6, 64)])


def _cycle(receivers):
    return tuple(SimpleNamespace(receiver=r) for r in receivers)


def _by_steps(sim: Simulation, steps, cycle, replicas: int = 0):
    """The step-by-step reference: each step alone, combined with the receivers."""
    if not replicas:
        signals = [sim.run(t).signal for t in steps]
        return combine_phase_cycle(signals, cycle), max(np.abs(s).max() for s in signals)
    runs = [sim.run_with_error(t, replicas) for t in steps]
    signal = combine_phase_cycle([r.observables.signal for r in runs], cycle)
    estimates = combine_phase_cycle(np.array([r.replicas for r in runs]), cycle)
    scale = 1.0 / np.sqrt(replicas)
    sem = scale * (
        np.std(estimates.real, axis=0, ddof=1) + 1j * np.std(estimates.imag, axis=0, ddof=1)
    )
    return signal, sem


CASES = {
    # the built-in Hahn echo's two steps: the pi/2 pulse flipped, receiver -1
    "pi/2 flipped": ([(0.0, PI / 2), (PI, PI / 2)], [1, -1]),
    # EXORCYCLE: the pi pulse turned by 90 degrees a step, receivers +-1: only the last delay
    # and the detection are shared
    "exorcycle": ([(0.0, 0.0), (0.0, PI / 2), (0.0, PI), (0.0, 1.5 * PI)], [1, -1, 1, -1]),
    # complex receivers: two combined vectors for four steps
    "quadrature": (
        [(0.0, PI / 2), (PI / 2, PI / 2), (PI, PI / 2), (1.5 * PI, PI / 2)],
        [1, -1j, -1, 1j],
    ),
    # receivers that add up to 2: the equilibrium part of the maps is scaled, not cancelled
    "receivers add": ([(0.0, PI / 2), (PI, PI / 2)], [1, 1]),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(
    ("relaxation", "temperature"),
    [("{T2: 20 us}", "0 K"), ("{T1: 8 us, T2: 5 us}", "40 uK")],
    ids=["T2", "T1,T2,warm"],
)
@pytest.mark.parametrize("in_pulse", [False, True], ids=["free", "in-pulse"])
@pytest.mark.parametrize("frame", ["rotating", "lab"])
def test_combined_cycle_equals_the_steps(
    case, relaxation, temperature, in_pulse, frame, tmp_path, make_timeline, kernel_backend
):
    phases, receivers = CASES[case]
    steps = [_echo(make_timeline, a, b, detect_in_pulse=in_pulse) for a, b in phases]
    cycle = _cycle(receivers)
    packets = 1000 if frame == "rotating" else 200  # the lab frame steps through the pulses
    sim = Simulation(_sample(tmp_path, relaxation, temperature), packets=packets, frame=frame)
    assert shared_cycle(steps, receivers) is not None
    point = sim.run_point(steps, cycle)
    expected, scale = _by_steps(sim, steps, cycle)
    assert np.abs(expected).max() > 1e-3  # a combined signal worth comparing
    atol = NUFFT if kernel_backend == "numba" else ROUNDING * scale
    np.testing.assert_allclose(point.signal, expected, rtol=0, atol=atol)
    np.testing.assert_array_equal(point.mz, sim.run(steps[0]).mz)


@pytest.mark.parametrize(
    ("packets", "frame"),
    [(3000, "rotating"), (9 * 16384, "rotating"), (3000, "lab")],
    ids=["separate groups", "one pass", "lab groups"],
)
def test_combined_cycle_error_equals_the_steps(
    packets, frame, tmp_path, make_timeline, kernel_backend
):
    phases, receivers = CASES["pi/2 flipped"]
    steps = [_echo(make_timeline, a, b) for a, b in phases]
    cycle = _cycle(receivers)
    sim = Simulation(_sample(tmp_path, "{T2: 20 us}"), packets=packets, frame=frame)
    point = sim.run_point(steps, cycle, replicas=REPLICAS)
    signal, sem = _by_steps(sim, steps, cycle, REPLICAS)
    atol = NUFFT if kernel_backend == "numba" else ROUNDING * np.abs(signal).max()
    np.testing.assert_allclose(point.signal, signal, rtol=0, atol=atol)
    assert np.abs(sem).min() > 0
    np.testing.assert_allclose(point.sem, sem, rtol=1e-11)


def test_identical_steps_share_everything(tmp_path, make_timeline):
    """Steps equal in every segment: the combination starts from the equilibrium itself."""
    steps = [_echo(make_timeline, 0.0, PI / 2)] * 3
    found = shared_cycle(steps, [1, 1, -1])
    assert found is not None and found.shared == len(steps[0].start_s)
    sim = Simulation(_sample(tmp_path, "{T1: 8 us, T2: 5 us}", "40 uK"))
    point = sim.run_point(steps, _cycle([1, 1, -1]))
    single = sim.run(steps[0]).signal / 3  # (1 + 1 - 1) / 3 of one step
    np.testing.assert_allclose(point.signal, single, rtol=0, atol=ROUNDING * abs(single).max())


def test_steps_that_cannot_share_are_not_combined(make_timeline, monkeypatch):
    flipped = [_echo(make_timeline, a, b) for a, b in CASES["pi/2 flipped"][0]]
    assert shared_cycle(flipped[:1], [1]) is None  # one step
    assert shared_cycle(flipped, [1, -1], "lab") is not None
    monkeypatch.setenv(METHOD_ENV, "exact")  # the lab frame's step-by-step reference
    assert shared_cycle(flipped, [1, -1], "lab") is None
    assert shared_cycle(flipped, [1, -1], "rotating") is not None
    assert shared_cycle(flipped, [1, 1j]) is None  # two vectors for two steps: no saving
    last = [_echo(make_timeline, 0.0, PI / 2), _echo(make_timeline, 0.0, PI / 2)]
    differs = make_timeline(
        [(0.25e-6, 1e6, 0.0), (2e-6, 0.0, 0.0), (0.5e-6, 1e6, PI / 2), (3e-6, 0.0, 0.0)],
        detect=[(3.75e-6, 2e-6, 64)],
    )
    assert shared_cycle([last[0], differs], [1, -1]) is None  # nothing alike at the end
    early = [  # a detection point before the pulse that differs
        make_timeline(
            [(0.25e-6, 1e6, 0.0), (2e-6, 0.0, 0.0), (0.5e-6, 1e6, p), (3e-6, 0.0, 0.0)],
            detect=[(0.5e-6, 1e-6, 8), (3.75e-6, 2e-6, 64)],
        )
        for p in (0.0, PI)
    ]
    assert shared_cycle(early, [1, -1]) is None
    other_carrier = make_timeline(
        [(0.25e-6, 1e6, PI), (2e-6, 0.0, 0.0), (0.5e-6, 1e6, PI / 2), (1e-6, 0.0, 0.0),
         (2e-6, 0.0, 0.0)], carrier_hz=5e6, detect=[(3.75e-6, 2e-6, 64)],
    )  # fmt: skip
    assert shared_cycle([flipped[0], other_carrier], [1, -1]) is None


def test_the_combined_cycle_propagates_the_shared_segments_once(
    tmp_path, make_timeline, monkeypatch
):
    """The point of it: one set of power sums for the whole cycle (counted, not timed)."""
    phases, receivers = CASES["exorcycle"]
    steps = [_echo(make_timeline, a, b) for a, b in phases]
    sim = Simulation(_sample(tmp_path, "{T2: 20 us}"))
    calls = []
    original = kernels.power_sums

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(kernels, "power_sums", counting)
    sim.run_point(steps, _cycle(receivers))
    combined = len(calls)
    calls.clear()
    _by_steps(sim, steps, _cycle(receivers))
    assert combined >= 1
    assert combined * 4 == len(calls)
