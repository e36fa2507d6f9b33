"""The lab frame through every environment of the rotating frame: spin diffusion, dynamic bath.

References: the lab frame's own step-by-step propagator (:func:`propagate_lab`, ``method=
"exact"``) where the environment does nothing; the rotating frame with the same bias paths and
the same redraws, which must differ from the lab frame by the rotating-wave error only; and an
independent lab-frame integrator written here from the model's definitions (a Monte Carlo of the
Hahn echo with a drifting bias, and a deterministic echo whose packets change at the pi pulse).
"""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.sequences.errors import InputError
from spin_echo.simulator import Ensemble, load_sample
from spin_echo.simulator.bath import redraw_channels
from spin_echo.simulator.bloch import Relaxation
from spin_echo.simulator.diffusion import OrnsteinUhlenbeck, propagate_diffusing
from spin_echo.simulator.environment import flip_segments
from spin_echo.simulator.lab.drive import lab_piece
from spin_echo.simulator.lab.frame import propagate_lab
from spin_echo.simulator.lab.pulse import PERIOD_STEPS
from spin_echo.simulator.propagator import SegmentChanges, propagate_chunks
from spin_echo.simulator.rwa import rwa_error
from spin_echo.simulator.simulation import Simulation

FRAMES = ("lab", "rotating")
RELAX = {
    "none": (None, None, 0.0),
    "t1-t2-temperature": (50e-6, 20e-6, 1e-4),
    "isotropic": (20e-6, 20e-6, 0.0),
}


def _packets(n: int, seed: int) -> Ensemble:
    rng = np.random.default_rng(seed)
    return Ensemble(
        rng.uniform(0.8e6, 1.2e6, n),
        rng.normal(0, 0.5e6, n),
        rng.uniform(-1.0, 1.0, n),
        rng.uniform(0.5, 1.0, n),
    )


def _offsets_and_points(make_timeline):
    # pulses with frequency offsets and detection points inside them and between them
    segments = [
        (0.3e-6, 0.8e6, 0.2, 150e3), (1.1e-6, 0, 0), (0.6e-6, 0.8e6, 1.7, -90e3), (2e-6, 0, 0)
    ]  # fmt: skip
    detect = [(0.1e-6, 0.2e-6, 5), (1.45e-6, 0.5e-6, 7), (2.5e-6, 1.4e-6, 9)]
    return make_timeline(segments, detect=detect)


@pytest.mark.parametrize("relax", RELAX.values(), ids=RELAX.keys())
def test_without_drift_the_lab_pieces_are_the_lab_propagator(make_timeline, relax):
    # zero width and steps longer than the timeline: one piece per stretch between detection
    # points, the same CF4 steps as the step-by-step propagator; what differs is rounding
    # (the carrier-frame phase of the state between pieces). Measured: 5.4-6.5e-15 of the
    # signal maximum, 4e-17 in m_z.
    t1_s, t2_s, temperature_k = relax
    timeline = _offsets_and_points(make_timeline)
    ens = _packets(300, 8)
    stepped = propagate_diffusing(
        timeline, ens, Relaxation.from_times(t1_s, t2_s), temperature_k,
        OrnsteinUhlenbeck(1e-3, 0.0), seed=1, piece=lab_piece,
    )  # fmt: skip
    exact = propagate_lab(
        timeline, ens, t1_s=t1_s, t2_s=t2_s, temperature_k=temperature_k, method="exact",
        steps_per_period=PERIOD_STEPS,
    )  # fmt: skip
    scale = np.max(np.abs(exact.signal))
    np.testing.assert_allclose(stepped.signal, exact.signal, rtol=0, atol=2e-14 * scale)
    np.testing.assert_allclose(stepped.mz, exact.mz, rtol=0, atol=1e-15)


def test_without_drift_cut_pieces_converge_to_the_lab_frame(make_timeline):
    # zero width, T2 = 0.1 us: pulses cut into 5 ns pieces, free evolution into T2/20 steps;
    # against the step-by-step reference converged (512 steps per period), within the fast
    # path's tolerance (tests/simulator/test_lab_fast.py). Measured: 5.8e-11.
    timeline = _offsets_and_points(make_timeline)
    ens = _packets(300, 8)
    relax = Relaxation.from_times(6e-6, 4e-6)
    process = OrnsteinUhlenbeck(0.1e-6, 0.0)
    stepped = propagate_diffusing(timeline, ens, relax, 1e-4, process, seed=1, piece=lab_piece)
    exact = propagate_lab(
        timeline, ens, t1_s=6e-6, t2_s=4e-6, temperature_k=1e-4, method="exact",
        steps_per_period=512,
    )  # fmt: skip
    scale = np.max(np.abs(exact.signal))
    np.testing.assert_allclose(stepped.signal, exact.signal, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(stepped.mz, exact.mz, rtol=0, atol=1e-9)


def _selective_hahn(make_timeline, ratio: float, carrier_hz: float = 4e6):
    """Hahn echo with rectangular pulses at Rabi/carrier = ``ratio``, tau = 5 us."""
    rabi = ratio * carrier_hz
    t_pi2, tau, window = 1.0 / (4.0 * rabi), 5e-6, 2e-6
    segments = [
        (t_pi2, rabi, 0.0), (tau, 0.0, 0.0), (2 * t_pi2, rabi, np.pi / 2),
        (tau - window / 2, 0.0, 0.0), (window, 0.0, 0.0),
    ]  # fmt: skip
    start = 3 * t_pi2 + 2 * tau - window / 2
    return make_timeline(segments, carrier_hz=carrier_hz, detect=[(start, window, 64)])


def test_lab_and_rotating_frames_share_the_bias_paths(make_timeline):
    # The two frames draw the same noise in the same steps, so with spin diffusion they differ
    # by the rotating-wave error only. Its size on these packets and pulses is measured without
    # diffusion (rwa.py's estimate r/2 of the maximum: 1.25e-2 and 6.3e-3; measured 3.4e-2 and
    # 2.8e-2 here, pulses selective against the spread of the packets). With diffusion: 5.7e-2
    # and 2.3e-2 of the (diffusion-damped) maximum, 0.42 and 0.57 of the diffusion-free error,
    # and halving with r; another noise stream moves the signal by 3.0 and 0.54 of it.
    rng = np.random.default_rng(3)
    ens = Ensemble(rng.uniform(0.9e6, 1.1e6, 400), rng.normal(0, 0.3e6, 400), *np.ones((2, 400)))
    process = OrnsteinUhlenbeck(20e-6, 300e3)
    relax = Relaxation()
    differences = []
    for ratio in (1 / 40, 1 / 80):
        timeline = _selective_hahn(make_timeline, ratio)
        lab = propagate_diffusing(timeline, ens, relax, 0.0, process, seed=1, piece=lab_piece)
        rot = propagate_diffusing(timeline, ens, relax, 0.0, process, seed=1)
        other = propagate_diffusing(timeline, ens, relax, 0.0, process, seed=2)
        still = np.max(np.abs(propagate_lab(timeline, ens).signal
                              - propagate_chunks(timeline, ens, relax, 0.0).signal))  # fmt: skip
        assert rwa_error(timeline).estimate == pytest.approx(ratio / 2)
        difference = np.max(np.abs(lab.signal - rot.signal))
        assert difference < 1.5 * still
        assert np.max(np.abs(other.signal - rot.signal)) > 10 * difference
        differences.append(difference)
    assert 0.35 < differences[1] / differences[0] < 0.7


# An independent lab-frame integrator: each packet's Bloch vector in its instantaneous
# eigenbasis, field (-b sin eta, 0, E + b cos eta) with b = r cos(2 pi f_c t + phase) at the
# middle of each grid step, rotated about it (exponential midpoint rule, second order: 1.7e-5 of
# the echo at 0.5 ns steps against the project's converged lab frame, 4.4e-6 at 0.25 ns); free
# evolution m -> m exp(4 pi i E dt); the bias eps + xi with xi on the grid by exact AR(1)
# updates (the Ornstein-Uhlenbeck process from xi(0) = 0), the step's bias the trapezoid mean.
# Hahn echo at Rabi/carrier = 1/8 (the library's), four packet kinds about resonance.
DELTA, KINDS = 1e6, np.array([2.8e6, 3.0e6, 3.2e6, 3.4e6])
CARRIER = 2 * np.hypot(3.0e6, 2 * DELTA)
RABI = CARRIER / 8
T2, WIDTH = 1e-6, 120e3
T_PI2, TAU = 0.5e-6, 0.5e-6
SEGMENTS = [(T_PI2, RABI, 0.0), (TAU, 0.0, 0.0), (2 * T_PI2, RABI, np.pi / 2), (TAU, 0.0, 0.0)]


def _reference_echo(
    delta: np.ndarray,
    eps: np.ndarray,
    dt: float,
    *,
    width_hz: float,
    seed: int,
    after: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Per-packet detected signal at the end of SEGMENTS; packets ``after`` from pulse 2 on."""
    n = len(eps)
    rng = np.random.default_rng(seed)
    x, y, z = np.zeros(n), np.zeros(n), -np.ones(n)
    xi = np.zeros(n)
    decay = np.exp(-dt / T2)
    kick = width_hz * np.sqrt(1 - decay**2)
    t, pulses = 0.0, 0
    for duration, r, phase in SEGMENTS:
        pulses += bool(r)
        if r and pulses > 1 and after is not None:
            delta, eps = after
        steps = round(duration / dt)
        for j in range(steps):
            new = xi * decay + kick * rng.standard_normal(n)
            bias = eps + 0.5 * (xi + new)
            xi = new
            energy = np.hypot(bias, 2 * delta)
            if not r:
                m = (x + 1j * y) * np.exp(4j * np.pi * energy * dt)
                x, y = m.real, m.imag
                continue
            b = r * np.cos(2 * np.pi * CARRIER * (t + (j + 0.5) * dt) + phase)
            ox = -4 * np.pi * b * 2 * delta / energy
            oz = 4 * np.pi * (energy + b * bias / energy)
            w = np.hypot(ox, oz)
            nx, nz = ox / w, oz / w
            c, s = np.cos(w * dt), np.sin(w * dt)
            dot = (nx * x + nz * z) * (1 - c)
            x, y, z = (
                x * c - nz * y * s + nx * dot,
                y * c + (nz * x - nx * z) * s,
                z * c + nx * y * s + nz * dot,
            )
        t += steps * dt
    sin_eta = 2 * delta / np.hypot(eps + xi, 2 * delta)
    return -sin_eta * (x - 1j * y) * np.exp(2j * np.pi * CARRIER * t)


@pytest.fixture
def echo_timeline(make_timeline):
    end = 3 * T_PI2 + 2 * TAU
    return make_timeline(SEGMENTS, carrier_hz=CARRIER, detect=[(end, 1e-12, 1)])


def test_hahn_echo_with_spin_diffusion_matches_an_independent_lab_frame_monte_carlo(
    echo_timeline,
):
    copies = 2500
    eps = np.repeat(KINDS, copies)
    n = len(eps)
    ens = Ensemble(np.full(n, DELTA), eps, np.ones(n), np.ones(n))
    process = OrnsteinUhlenbeck(T2, WIDTH)
    got = propagate_diffusing(
        echo_timeline, ens, Relaxation(), 0.0, process, seed=4, piece=lab_piece
    ).signal[0]
    reference = _reference_echo(np.full(n, DELTA), eps, 0.5e-9, width_hz=WIDTH, seed=5)
    kinds = reference.reshape(len(KINDS), copies)
    variance = np.var(kinds.real, axis=1, ddof=1) + np.var(kinds.imag, axis=1, ddof=1)
    se = np.sqrt(np.sum(variance / copies)) / len(KINDS)
    # the project's packets are the same kind of trajectories: 4.5 s.e. of the difference of
    # two independent estimates (measured: 1.3). The reference's grid error, 1.7e-5 of the
    # echo, is far below the s.e. (4.0e-3 of an echo of 0.17).
    tol = 4.5 * np.sqrt(2) * se
    assert abs(got - reference.mean()) < tol
    # the test resolves the diffusion: without it the echo is 0.34, twice as large
    still = propagate_lab(echo_timeline, ens).signal[0]
    assert abs(still - reference.mean()) > 5 * tol


def test_packets_changing_at_a_pulse_match_the_independent_lab_frame(echo_timeline):
    # the dynamic bath's mechanism, deterministic: every packet changes (delta, eps) at the
    # start of the pi pulse, its state carried in its eigenbasis. Reference: the integrator at
    # 0.5 and 0.25 ns (8.7e-5 and 2.2e-5 of the echo from the project's result, second order),
    # Richardson-extrapolated: 3e-10 of the echo (measured).
    before = Ensemble(np.full(4, DELTA), KINDS, np.ones(4), np.ones(4))
    after = Ensemble(np.array([0.9e6, 1.05e6, 1.1e6, 0.95e6]), KINDS[::-1], np.ones(4), np.ones(4))
    changing = SegmentChanges(before, {2: after})
    coarse, fine = (
        _reference_echo(
            before.delta_hz, before.epsilon_hz, dt, width_hz=0.0, seed=0,
            after=(after.delta_hz, after.epsilon_hz),
        ).mean()
        for dt in (0.5e-9, 0.25e-9)
    )  # fmt: skip
    reference = (4 * fine - coarse) / 3
    fast = propagate_lab(echo_timeline, changing).signal[0]
    exact = propagate_lab(
        echo_timeline, changing, method="exact", steps_per_period=PERIOD_STEPS
    ).signal[0]
    for got in (fast, exact):
        assert abs(got - reference) < 1e-8 * abs(reference)
    unchanged = propagate_lab(echo_timeline, before).signal[0]
    assert abs(unchanged - reference) > 0.05 * abs(reference)


DYNAMIC = """\
name: dyn
tunnel_splitting: {distribution: lognormal, median: 1 MHz, sigma: 1.0}
bias_sampling: {width: 2 MHz, fraction: 0.9}
orientation: {distribution: fixed, theta: 0 deg}
temperature: 0 K
packets: 300
seed: 2
environment:
  nuclear: {N: 100, omega0: 50 MHz, delta_omega: 6 MHz, lambda: LAM, lambda_prime: 0,
            dynamic: DYN}
"""


def _dynamic_sample(tmp_path, lam: str, dynamic: str):
    path = tmp_path / f"dyn-{lam}-{dynamic}.yaml"
    path.write_text(DYNAMIC.replace("LAM", lam).replace("DYN", dynamic), encoding="utf-8")
    return load_sample(path)


def test_a_dynamic_bath_with_a_single_channel_is_the_static_lab_frame(tmp_path, make_timeline):
    # lambda = lambda' = 0: a redraw changes nothing, so the packets are replaced by themselves
    timeline = _selective_hahn(make_timeline, 1 / 8)
    dynamic = Simulation(_dynamic_sample(tmp_path, "0", "true"), frame="lab").run(timeline)
    static = Simulation(_dynamic_sample(tmp_path, "0", "false"), frame="lab").run(timeline)
    np.testing.assert_array_equal(dynamic.signal, static.signal)
    np.testing.assert_array_equal(dynamic.mz, static.mz)


def test_the_lab_frame_redraws_the_channels_of_the_documented_rule(tmp_path, make_timeline):
    # simulation.py: the channels are redrawn at each flip from one generator seeded by
    # (seed, 3) over the whole ensemble; the same redraws in both frames
    sample = _dynamic_sample(tmp_path, "1", "true")
    timeline = _selective_hahn(make_timeline, 1 / 8)
    simulation = Simulation(sample, frame="lab")
    e = simulation.ensemble
    delta0, base = e.channel_base()
    rng = np.random.default_rng([simulation.seed, 3])
    at = {}
    for k in flip_segments(timeline):
        delta, epsilon = redraw_channels(rng, delta0, base, sample.nuclear, sample.spin)
        at[k] = Ensemble(delta, epsilon, e.cos_theta, e.weight, e.channel_weight, e.norm)
    assert len(at) == 1
    want = propagate_lab(timeline, SegmentChanges(e, at), temperature_k=sample.temperature_k)
    got = simulation.run(timeline)
    np.testing.assert_array_equal(got.signal, want.signal)
    np.testing.assert_array_equal(got.mz, want.mz)


def test_the_dynamic_bath_differs_between_frames_by_the_rotating_wave_error(
    tmp_path, make_timeline
):
    # lambda = 1: the redraws at the pi pulse move the echo far from the static bath's; the
    # two frames differ by 9 % of the echo at Rabi/carrier 1/40 and 1/80 (this broad sample's
    # off-resonant packets: the static bath's frames differ by 13 %), in absolute terms
    # halving with the Rabi frequency, and 12 times less than the redraws move it
    differences = []
    for ratio in (1 / 40, 1 / 80):
        timeline = _selective_hahn(make_timeline, ratio)
        signals = {
            (dynamic, frame): Simulation(_dynamic_sample(tmp_path, "1", dynamic), frame=frame)
            .run(timeline)
            .signal
            for dynamic in ("true", "false")
            for frame in FRAMES
        }
        lab, rot = signals["true", "lab"], signals["true", "rotating"]
        difference = np.max(np.abs(lab - rot))
        assert difference < 0.12 * np.max(np.abs(rot))
        assert np.max(np.abs(rot - signals["false", "rotating"])) > 8 * difference
        differences.append(difference)
    assert 0.35 < differences[1] / differences[0] < 0.7


def test_simulation_runs_spin_diffusion_in_the_lab_frame_with_the_seed(make_timeline):
    sample = load_sample("ferritin")
    timeline = _selective_hahn(make_timeline, 1 / 8)
    got = Simulation(sample, packets=200, seed=9, frame="lab").run(timeline)
    process = OrnsteinUhlenbeck(sample.diffusion.t2_s, sample.diffusion.width_hz)
    want = propagate_diffusing(
        timeline, sample.ensemble(packets=200, seed=9), Relaxation(), sample.temperature_k,
        process, seed=9, piece=lab_piece,
    )  # fmt: skip
    np.testing.assert_array_equal(got.signal, want.signal)
    np.testing.assert_array_equal(got.mz, want.mz)


def test_a_dynamic_bath_with_spin_diffusion_is_refused_by_the_sample(tmp_path):
    # both frames carry the dynamic bath; the sample refuses it with spin diffusion (no frame can)
    sample = _dynamic_sample(tmp_path, "1", "true")
    for frame in FRAMES:
        Simulation(sample, packets=10, frame=frame)
    with pytest.raises(InputError, match="spin diffusion"):
        sample.with_overrides({"environment.spin_diffusion.T2": "10 us"})


def test_lab_replica_groups_with_the_dynamic_bath_are_each_group_alone(tmp_path, make_timeline):
    # simulation.py: in the lab frame the replica groups come from the one propagation; each
    # must be its packets propagated alone, through the same redraws (normalised as documented)
    sample = _dynamic_sample(tmp_path, "1", "true")
    timeline = _selective_hahn(make_timeline, 1 / 8)
    simulation = Simulation(sample, frame="lab")
    result = simulation.run_with_error(timeline)
    e = simulation.ensemble
    delta0, base = e.channel_base()
    rng = np.random.default_rng([simulation.seed, 3])
    at = {}
    for k in flip_segments(timeline):
        delta, epsilon = redraw_channels(rng, delta0, base, sample.nuclear, sample.spin)
        at[k] = Ensemble(delta, epsilon, e.cos_theta, e.weight, e.channel_weight, e.norm)
    changing = SegmentChanges(e, at)
    n = simulation.packets
    assert np.array_equal(result.observables.signal, simulation.run(timeline).signal)
    scale = np.abs(result.observables.signal).max()
    for r in range(8):
        lo, hi = n * r // 8, n * (r + 1) // 8
        alone = propagate_lab(timeline, changing.chunk(lo, hi), temperature_k=0.0).signal
        np.testing.assert_allclose(result.replicas[r], alone * n / (hi - lo), atol=1e-15 * scale)
