"""Rotating-frame propagator against closed forms and conservation laws."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.simulator import Ensemble, kernels, propagate

pytestmark = pytest.mark.usefixtures("kernel_backend")


def _single(delta_hz, epsilon_hz, cos_theta=1.0):
    return Ensemble(np.array([delta_hz]), np.array([epsilon_hz]), np.array([cos_theta]), np.ones(1))


@pytest.mark.parametrize(
    ("delta_hz", "epsilon_hz", "cos_theta", "duration_s"),
    [(1e6, 0.0, 1.0, 73e-9), (0.9e6, 0.4e6, 0.7, 0.31e-6), (1.2e6, -0.3e6, -0.5, 1.1e-6)],
    ids=["resonant", "detuned", "detuned-negative-coupling"],
)
def test_rabi_formula_for_a_detuned_packet(
    make_timeline, delta_hz, epsilon_hz, cos_theta, duration_s
):
    rabi, carrier = 3e6, 4e6
    tl = make_timeline(
        [(duration_s, rabi, 0.3), (1e-6, 0.0, 0.0)],
        carrier_hz=carrier,
        detect=[(duration_s, 1e-6, 4)],
    )
    obs = propagate(tl, _single(delta_hz, epsilon_hz, cos_theta))
    energy = np.hypot(epsilon_hz, 2 * delta_hz)
    sin_eta, cos_eta = 2 * delta_hz / energy, epsilon_hz / energy
    omega_r = rabi * cos_theta * sin_eta
    detuning = 2 * energy - carrier
    general = np.hypot(omega_r, detuning)
    z = -1 + 2 * (omega_r / general) ** 2 * np.sin(np.pi * general * duration_s) ** 2
    np.testing.assert_allclose(obs.mz, cos_theta * cos_eta * z, rtol=0, atol=1e-12)
    transverse = np.sqrt(1 - z**2)
    np.testing.assert_allclose(
        np.abs(obs.signal), abs(cos_theta) * sin_eta * transverse, rtol=0, atol=1e-12
    )


def test_free_precession_phase_and_t2_decay(make_timeline):
    delta, eps, carrier, t2 = 1.05e6, 0.2e6, 4e6, 0.7e-6
    tl = make_timeline(
        [(50e-9, 5e6, 0.0), (3e-6, 0.0, 0.0)], carrier_hz=carrier, detect=[(0.3e-6, 2e-6, 100)]
    )
    obs = propagate(tl, _single(delta, eps), t2_s=t2)
    detuning = 2 * np.hypot(eps, 2 * delta) - carrier
    lag = obs.times_s - obs.times_s[0]
    expected = obs.signal[0] * np.exp(-2j * np.pi * detuning * lag - lag / t2)
    np.testing.assert_allclose(obs.signal, expected, rtol=0, atol=1e-12)


def test_inversion_recovery_t1(make_timeline):
    delta, t1 = 1e6, 2e-6
    rabi = 10e6
    tl = make_timeline(
        [(1 / (2 * rabi), rabi, 0.0), (8e-6, 0.0, 0.0)], detect=[(0.05e-6, 6e-6, 30)]
    )
    obs = propagate(tl, _single(delta, 0.0, 1.0), t1_s=t1, t2_s=t1)
    # A resonant pi pulse inverts the packet (z: -1 -> +1); it recovers to z_eq = -1 at 1/T1.
    lag = obs.times_s - 1 / (2 * rabi)
    np.testing.assert_allclose(obs.mz, np.zeros_like(lag), atol=1e-12)  # cos(eta) = 0
    tilted = propagate(tl, _single(delta, 0.5e6, 1.0), t1_s=t1)
    energy = np.hypot(0.5e6, 2e6)
    z_end = tilted.mz[0] / (0.5e6 / energy)
    expected = -1 + (z_end + 1) * np.exp(-(lag - lag[0]) / t1)
    np.testing.assert_allclose(tilted.mz / (0.5e6 / energy), expected, rtol=0, atol=1e-12)


def test_hahn_echo_amplitude_of_ideal_pulses(make_timeline):
    # Pulses 1 ps long at 250 GHz Rabi: ideal rotations (detuning x t_p ~ 1e-6). The detunings
    # 2E - f_c = k / (K tau), k = 0..K-1, at fixed eta and theta make every term but the echo
    # cancel exactly at 2 tau, whatever the flip angles; the echo of each packet is
    # |cos theta| sin(eta) sin(b1) sin^2(b2/2).
    t_p, rabi, carrier, tau, k_count = 1e-12, 1 / (4e-12), 4e6, 1e-6, 5
    detuning = np.arange(k_count) / (k_count * tau)
    eta_values, cos_values = np.array([np.pi / 2, 1.2]), np.array([1.0, 0.6, -0.4])
    det, eta, cos_t = (a.ravel() for a in np.meshgrid(detuning, eta_values, cos_values))
    energy = (carrier + det) / 2
    eps, delta = energy * np.cos(eta), energy * np.sin(eta) / 2
    segments = [(t_p, rabi, 0.0), (tau, 0.0, 0.0), (2 * t_p, rabi, np.pi / 2), (2 * tau, 0.0, 0.0)]
    tl = make_timeline(segments, carrier_hz=carrier, detect=[(3 * t_p + 2 * tau, 1e-7, 1)])
    obs = propagate(tl, Ensemble(delta, eps, cos_t, np.ones(len(det))))
    sin_eta = 2 * delta / np.hypot(eps, 2 * delta)
    beta = 2 * np.pi * rabi * np.abs(cos_t) * sin_eta * t_p
    each = np.abs(cos_t) * sin_eta * np.abs(np.sin(beta)) * np.sin(beta) ** 2
    assert abs(obs.signal[0]) == pytest.approx(each.mean(), rel=1e-6)
    # A time tau later every term (echo included) cancels.
    off = make_timeline(segments, carrier_hz=carrier, detect=[(3 * t_p + 3 * tau, 1e-7, 1)])
    assert abs(propagate(off, Ensemble(delta, eps, cos_t, 1.0)).signal[0]) < 1e-6 * each.mean()


def _resonant_pair(carrier_hz, detuning_hz, eta, cos_theta, weights):
    """Packets at 2E = f_c and 2E = f_c + detuning, both with mixing angle eta."""
    energy = np.array([carrier_hz, carrier_hz + detuning_hz]) / 2
    return Ensemble(energy * np.sin(eta) / 2, energy * np.cos(eta), cos_theta, np.array(weights))


def test_eigenbasis_components_during_and_after_a_resonant_pulse(make_timeline):
    # Resonant packet from the ground state, drive phase phi: nutation by
    # alpha = 2 pi r cos(theta) sin(eta) t about -(cos phi, sin phi, 0), so
    # <sigma_x'> + i <sigma_y'> = -i exp(i phi) sin(alpha); after a pi/2 pulse it stays there.
    carrier, eta, cos_t, phase, t_p = 4e6, 1.1, 0.8, 0.7, 0.5e-6
    rabi = 1 / (4 * t_p * cos_t * np.sin(eta))
    tl = make_timeline(
        [(t_p, rabi, phase), (3e-6, 0.0, 0.0)],
        carrier_hz=carrier,
        detect=[(0.05e-6, 0.4e-6, 8), (t_p + 0.2e-6, 2e-6, 100)],
    )
    obs = propagate(tl, _resonant_pair(carrier, 0.0, eta, cos_t, [1.0, 0.0]), eigenbasis=True)
    alpha = 2 * np.pi * rabi * cos_t * np.sin(eta) * np.minimum(obs.times_s, t_p)
    expected = -1j * np.exp(1j * phase) * np.sin(alpha)
    np.testing.assert_allclose(obs.eigen_x + 1j * obs.eigen_y, expected, rtol=0, atol=1e-12)
    assert propagate(tl, _resonant_pair(carrier, 0.0, eta, cos_t, [1.0, 1.0])).eigen_x is None


def test_eigenbasis_components_in_free_precession_after_an_ideal_pulse(make_timeline):
    # A 1 ps pi/2 pulse is ideal to ~1e-6 (detuning x t_p, t_p / T2: the tolerance); then each
    # precesses at its detuning 2E - f_c in the carrier frame and decays at 1/T2:
    # m(t) = -i exp(i phi) exp((2 pi i detuning - 1/T2)(t - t_p)), weighted average.
    carrier, detuning, eta, cos_t, phase, t_p, t2 = 4e6, 0.37e6, 1.2, -0.6, 2.1, 1e-12, 1.5e-6
    rabi = 1 / (4 * t_p * abs(cos_t) * np.sin(eta))
    weights = np.array([0.7, 1.9])
    tl = make_timeline(
        [(t_p, rabi, phase), (4e-6, 0.0, 0.0)],
        carrier_hz=carrier,
        detect=[(0.3e-6, 3e-6, 150)],
    )
    ens = _resonant_pair(carrier, detuning, eta, cos_t, weights)
    obs = propagate(tl, ens, t1_s=t2, t2_s=t2, eigenbasis=True)
    lag = obs.times_s - t_p
    start = -1j * np.exp(1j * phase) * np.sign(cos_t)
    each = start * np.exp(np.outer([0.0, detuning], 2j * np.pi * lag) - lag / t2)
    expected = weights @ each / weights.sum()
    np.testing.assert_allclose(obs.eigen_x + 1j * obs.eigen_y, expected, rtol=0, atol=3e-6)


def test_power_sums_match_direct_sums():
    rng = np.random.default_rng(0)
    coeff = rng.normal(size=5000) + 1j * rng.normal(size=5000)
    phase = rng.uniform(-3, 3, 5000)
    for count in (1, 2, 7, 64, 300):
        direct = np.array([np.sum(coeff * np.exp(1j * j * phase)) for j in range(count)])
        sums = kernels.power_sums(coeff, phase, count)
        np.testing.assert_allclose(sums, direct, rtol=0, atol=1e-10 * np.abs(direct).max())
        # Several coefficient sets over the same phases: one row each.
        both = kernels.power_sums(np.stack([coeff, 2j * coeff]), phase, count)
        np.testing.assert_allclose(both[0], direct, rtol=0, atol=1e-10 * np.abs(direct).max())
        np.testing.assert_allclose(both[1], 2j * direct, rtol=0, atol=2e-10 * np.abs(direct).max())


@pytest.mark.parametrize("count", [64, 1000, 4097], ids=["64", "1000", "4097"])
def test_power_sums_to_rounding_of_the_summed_magnitude(count):
    # The numba backend's NUFFT (count >= 64) and the numpy matrix product alike: the error is
    # that of a running product of count phase factors, count * 2e-16 of sum |c|, with phases
    # in [-40, 40] rad (reference: direct sums in long double).
    rng = np.random.default_rng(7)
    coeff = rng.normal(size=3000) + 1j * rng.normal(size=3000)
    phase = rng.uniform(-40, 40, 3000)
    j = np.arange(count, dtype=np.longdouble)[:, None]
    angle = j * phase.astype(np.longdouble)
    direct = (np.cos(angle) + 1j * np.sin(angle)).astype(complex) @ coeff
    error = np.abs(kernels.power_sums(coeff, phase, count) - direct).max()
    assert error <= count * 2e-16 * np.abs(coeff).sum()


def test_chunking_does_not_change_the_result(make_hahn):
    rng = np.random.default_rng(1)
    n = 3000
    ens = Ensemble(
        rng.uniform(0.8e6, 1.2e6, n),
        rng.normal(0, 0.5e6, n),
        rng.uniform(-1, 1, n),
        rng.uniform(0, 1, n),
    )
    tl = make_hahn(1e-6, points=32)
    whole = propagate(tl, ens, t1_s=5e-6, t2_s=3e-6)
    parts = propagate(tl, ens, t1_s=5e-6, t2_s=3e-6, chunk=700)
    np.testing.assert_allclose(parts.signal, whole.signal, rtol=0, atol=1e-13)
    np.testing.assert_allclose(parts.mz, whole.mz, rtol=0, atol=1e-13)


@pytest.mark.parametrize("frame", ["rotating", "lab"], ids=["rotating", "lab"])
def test_threads_do_not_change_a_bit(make_hahn, frame):
    rng = np.random.default_rng(3)
    n = 2500
    ens = Ensemble(
        rng.uniform(0.8e6, 1.2e6, n), rng.normal(0, 0.5e6, n), rng.uniform(-1, 1, n), 1.0
    )
    tl = make_hahn(0.4e-6, t_pi2_s=0.1e-6, rabi_hz=2.5e6, window_s=0.4e-6, points=40)
    options = {"t1_s": 3e-6, "t2_s": 3e-6, "frame": frame, "chunk": 300, "eigenbasis": True}
    one = propagate(tl, ens, threads=1, **options)
    two = propagate(tl, ens, threads=2, **options)
    for name in ("signal", "mz", "eigen_x", "eigen_y"):
        assert np.array_equal(getattr(one, name), getattr(two, name))


def test_rejects_unphysical_relaxation_and_frames(make_hahn):
    with pytest.raises(ValueError, match="2 T1"):
        propagate(make_hahn(1e-6), _single(1e6, 0.0), t1_s=1e-6, t2_s=3e-6)
    with pytest.raises(ValueError, match="frame"):
        propagate(make_hahn(1e-6), _single(1e6, 0.0), frame="tilted")
