"""The fast lab-frame path: exact affine maps, period grids and powering, against references.

References: ``scipy.linalg.expm`` of the 4x4 affine Bloch generator, sequential composition of
maps, and the step-by-step lab-frame propagation (``method="exact"``) run converged (512 CF4
steps per period: 1e-11 of the signal maximum from its limit on these protocols). Measured on
these protocols: fast path 0.9-1.4e-10 of the signal maximum (tolerance 1e-9); the former
default, 64 steps per period, 1.7-3.1e-8.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg

from spin_echo.simulator import Ensemble
from spin_echo.simulator.bloch import PacketFrame, Relaxation
from spin_echo.simulator.lab.frame import propagate_lab
from spin_echo.simulator.lab.maps import apply, compose, field_exp, identity, power, product
from spin_echo.simulator.lab.memo import MapMemo
from spin_echo.simulator.lab.pulse import GridCache, cf4_pieces, segment_map

RELAX = {
    "none": {},
    "t2-only": {"t2_s": 8e-6},
    "t1-t2": {"t1_s": 6e-6, "t2_s": 4e-6, "temperature_k": 1e-4},
    "isotropic": {"t1_s": 5e-6, "t2_s": 5e-6},
}


def _ensemble(n: int = 40, seed: int = 3) -> Ensemble:
    rng = np.random.default_rng(seed)
    return Ensemble(
        rng.uniform(0.9e6, 1.1e6, n),
        rng.normal(0.0, 0.3e6, n),
        rng.uniform(-1.0, 1.0, n),
        rng.uniform(0.5, 1.5, n),
    )


@pytest.mark.parametrize(
    ("gamma1", "gamma2", "duration_s"),
    [(0.0, 0.0, 3e-9), (1e5, 3e5, 3e-9), (0.0, 5e4, 2e-9), (2e6, 1.5e6, 1e-6), (3e5, 3e5, 5e-7)],
)
def test_field_exp_is_the_exponential_of_the_affine_generator(gamma1, gamma2, duration_s):
    rng = np.random.default_rng(0)
    hx, hz = rng.normal(0, 1e6, 30), rng.normal(2e6, 1e6, 30)
    z_eq = -rng.uniform(0.2, 1.0, 30)
    maps = field_exp(hx, hz, gamma1, gamma2, z_eq, duration_s)
    for p in range(30):
        wx, wz = 4 * np.pi * hx[p], 4 * np.pi * hz[p]
        generator = np.array(
            [
                [-gamma2, -wz, 0, 0],
                [wz, -gamma2, -wx, 0],
                [0, wx, -gamma1, gamma1 * z_eq[p]],
                [0, 0, 0, 0],
            ]
        )
        expected = scipy.linalg.expm(generator * duration_s)[:3]
        # many squarings for the long durations: scipy's own error is ~1e-13 there
        atol = 1e-13 if duration_s < 1e-8 else 1e-12
        np.testing.assert_allclose(maps[:, :, p], expected, rtol=0, atol=atol)


def test_zero_duration_is_the_identity():
    maps = field_exp(np.ones(4), np.ones(4), 1e5, 2e5, -np.ones(4), 0.0)
    assert np.array_equal(maps, identity((4,)))


def test_product_and_power_equal_sequential_composition():
    rng = np.random.default_rng(1)
    hx, hz = rng.normal(0, 1e6, (7, 5)), rng.normal(2e6, 1e6, (7, 5))
    maps = field_exp(hx, hz, 1e5, 2e5, -np.ones(5), 1e-8)
    sequential = maps[:, :, 0]
    for k in range(1, 7):
        sequential = compose(maps[:, :, k], sequential)
    np.testing.assert_allclose(product(maps), sequential, rtol=0, atol=1e-14)
    one = maps[:, :, 0]
    repeated = identity((5,))
    for count in range(12):
        np.testing.assert_allclose(power(one, count), repeated, rtol=0, atol=1e-14)
        repeated = compose(one, repeated)
    x, y, z = rng.normal(size=(3, 5))
    np.testing.assert_allclose(
        apply(compose(maps[:, :, 1], maps[:, :, 0]), x, y, z),
        apply(maps[:, :, 1], *apply(maps[:, :, 0], x, y, z)),
        rtol=0,
        atol=1e-15,
    )


def test_segment_map_of_many_periods_equals_its_steps():
    """37.3 periods from an arbitrary phase: grid, powering and ends vs 512 steps/period."""
    frame = PacketFrame.build(_ensemble(12), 0.0)
    relax = Relaxation.from_times(1.5e-6, 1e-6)
    start, length, rabi, freq = 0.417, 37.3, 0.6e6, 4e6
    fast = segment_map(frame, relax, rabi, freq, start, length, cache=GridCache())
    reference = cf4_pieces(frame, relax, rabi, freq, start, length, 512 * 38)[:, :, 0]
    np.testing.assert_allclose(fast, reference, rtol=0, atol=1e-9)


def _hahn(make_timeline, pulse_s: float, offset_hz: float = 0.0):
    rabi = 1 / (4 * pulse_s)
    segments = [
        (pulse_s, rabi, 0.3),
        (1.3e-6, 0.0, 0.0),
        (2 * pulse_s, rabi, np.pi / 2, offset_hz),
        (0.6e-6, 0.0, 0.0),
        (1.6e-6, 0.0, 0.0),
    ]
    start = 3 * pulse_s + 1.9e-6
    return make_timeline(segments, carrier_hz=4e6, detect=[(start, 1.6e-6, 40)])


def _shaped(make_timeline):
    """Gaussian pi/2 and pi pulses as 48 sub-segments each (about 1/12 period), a chirp."""
    u = (np.arange(48) + 0.5) / 48
    envelope = np.exp(-0.5 * ((u - 0.5) / 0.18) ** 2)
    dt = 1e-6 / 48
    first = [(dt, 0.4e6 * e, 0.0) for e in envelope]
    chirp = 1e5 * (u - 0.5)
    second = [(dt, 0.8e6 * e, np.pi / 2, df) for e, df in zip(envelope, chirp, strict=True)]
    segments = [*first, (1.1e-6, 0.0, 0.0), *second, (0.5e-6, 0.0, 0.0), (2e-6, 0.0, 0.0)]
    return make_timeline(segments, carrier_hz=4e6, detect=[(3.6e-6, 2e-6, 50)])


def _check(timeline, relax, tolerance=1e-9):
    ens = _ensemble()
    reference = propagate_lab(timeline, ens, method="exact", steps_per_period=512, **relax)
    fast = propagate_lab(timeline, ens, grid_cache=GridCache(), **relax)
    scale = np.abs(reference.signal).max()
    assert scale > 0.05
    error = max(np.abs(fast.signal - reference.signal).max(), np.abs(fast.mz - reference.mz).max())
    assert error <= tolerance * scale
    return fast


@pytest.mark.parametrize("relax", RELAX.values(), ids=RELAX.keys())
def test_fast_lab_frame_agrees_with_the_stepped_reference_rectangular(make_timeline, relax):
    _check(_hahn(make_timeline, 0.5e-6), relax)


@pytest.mark.parametrize("relax", RELAX.values(), ids=RELAX.keys())
def test_fast_lab_frame_agrees_with_the_stepped_reference_shaped(make_timeline, relax):
    _check(_shaped(make_timeline), relax)


def test_fast_lab_frame_with_offset_and_detection_during_a_pulse(make_timeline):
    segments = [(0.7e-6, 0.36e6, 0.0), (0.8e-6, 0.0, 0.0), (1.1e-6, 0.3e6, 1.0, 0.2e6)]
    timeline = make_timeline(
        segments, carrier_hz=4e6, detect=[(0.1e-6, 0.5e-6, 7), (1.6e-6, 0.9e-6, 11)]
    )
    _check(timeline, RELAX["t1-t2"])


def test_grid_cache_changes_no_bit(make_timeline):
    """Cold, warm, disabled and subset-warmed caches give the same result bit for bit."""
    timeline = _hahn(make_timeline, 0.25e-6)
    ens = _ensemble(60)
    relax = RELAX["t1-t2"]
    cache = GridCache()
    cold = propagate_lab(timeline, ens, grid_cache=cache, **relax)
    warm = propagate_lab(timeline, ens, grid_cache=cache, **relax)
    none = propagate_lab(timeline, ens, grid_cache=GridCache(0), **relax)
    subset = GridCache()
    propagate_lab(timeline, Ensemble(*(a[::3] for a in (ens.delta_hz, ens.epsilon_hz,
                  ens.cos_theta, ens.weight))), grid_cache=subset, **relax)  # fmt: skip
    partly = propagate_lab(timeline, ens, grid_cache=subset, **relax)
    for other in (warm, none, partly):
        assert np.array_equal(cold.signal, other.signal)
        assert np.array_equal(cold.mz, other.mz)


def test_fast_threads_do_not_change_a_bit(make_timeline):
    timeline = _shaped(make_timeline)
    ens = _ensemble(300)
    one = propagate_lab(timeline, ens, chunk=70, threads=1, t1_s=2e-6, t2_s=1e-6)
    two = propagate_lab(timeline, ens, chunk=70, threads=2, t1_s=2e-6, t2_s=1e-6)
    assert np.array_equal(one.signal, two.signal)
    assert np.array_equal(one.mz, two.mz)


def test_unknown_method_is_refused(make_timeline):
    with pytest.raises(ValueError, match="method"):
        propagate_lab(_hahn(make_timeline, 0.5e-6), _ensemble(3), method="rk4")


@pytest.mark.parametrize("shape", ["rectangular", "shaped", "detect-in-pulse"])
def test_packet_groups_equal_each_group_propagated_alone(make_timeline, shape):
    """One propagation's group sums against each group run alone; groups straddle chunks."""
    timeline = {
        "rectangular": lambda: _hahn(make_timeline, 0.5e-6),
        "shaped": lambda: _shaped(make_timeline),
        "detect-in-pulse": lambda: make_timeline(
            [(0.7e-6, 0.36e6, 0.0), (0.8e-6, 0.0, 0.0), (1.1e-6, 0.3e6, 1.0, 0.2e6)],
            carrier_hz=4e6,
            detect=[(0.1e-6, 0.5e-6, 7), (1.6e-6, 0.9e-6, 11)],
        ),
    }[shape]()
    ens = _ensemble(90)
    relax = RELAX["t1-t2"]
    edges = (0, 25, 50, 51, 90)
    plain = propagate_lab(timeline, ens, chunk=40, **relax)
    grouped = propagate_lab(timeline, ens, chunk=40, groups=edges, **relax)
    assert np.array_equal(plain.signal, grouped.signal)  # the total keeps its bits
    assert np.array_equal(plain.mz, grouped.mz)
    scale = np.abs(plain.signal).max()
    for r, (lo, hi) in enumerate(itertools.pairwise(edges)):
        alone = propagate_lab(timeline, ens.chunk(lo, hi), **relax).signal
        np.testing.assert_allclose(grouped.group_signals[r], alone, rtol=0, atol=2e-15 * scale)
    with pytest.raises(ValueError, match="group edges"):
        propagate_lab(timeline, ens, groups=(0, 50, 80), **relax)


def test_map_memo_changes_no_bit(make_timeline):
    """Segment maps from the memo (another phase step, sweep point) are the computed ones."""
    relax = RELAX["t1-t2"]
    ens = _ensemble(50)
    memo = MapMemo()
    for timeline in (_hahn(make_timeline, 0.25e-6), _shaped(make_timeline)):
        cold = propagate_lab(timeline, ens, map_memo=memo, **relax)
        misses = memo.misses
        warm = propagate_lab(timeline, ens, map_memo=memo, **relax)
        assert memo.misses == misses and memo.hits >= 2
        none = propagate_lab(timeline, ens, map_memo=MapMemo(0), **relax)
        for other in (warm, none):
            assert np.array_equal(cold.signal, other.signal)
            assert np.array_equal(cold.mz, other.mz)
