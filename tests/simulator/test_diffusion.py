"""Spin diffusion: Ornstein-Uhlenbeck statistics and the echo decay it causes, in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.simulator import Ensemble
from spin_echo.simulator.bloch import Relaxation
from spin_echo.simulator.diffusion import OrnsteinUhlenbeck, propagate_diffusing
from spin_echo.simulator.propagator import propagate_chunks

T2, WIDTH = 20e-6, 35e3


def test_drift_statistics_match_the_ou_process():
    process = OrnsteinUhlenbeck(T2, WIDTH)
    rng = np.random.default_rng(0)
    n, h, steps = 100_000, 3e-6, 8
    xi = np.zeros(n)
    integral = np.zeros(n)
    for _ in range(steps):
        xi, mean = process.step(xi, h, rng)
        integral += mean * h
    t = steps * h
    a = 1 / T2
    var_end = WIDTH**2 * (1 - np.exp(-2 * a * t))
    # Var of the integral from xi(0) = 0: double integral of sigma^2 (e^{-a|s-u|} - e^{-a(s+u)}).
    var_int = WIDTH**2 * (2 / a * (t - (1 - np.exp(-a * t)) / a) - ((1 - np.exp(-a * t)) / a) ** 2)
    cov = WIDTH**2 * (1 - np.exp(-a * t)) ** 2 / a
    tol = 5 * np.sqrt(2 / n)
    assert xi.var() == pytest.approx(var_end, rel=tol)
    assert integral.var() == pytest.approx(var_int, rel=tol)
    assert np.mean(xi * integral) == pytest.approx(cov, rel=tol)


@pytest.mark.parametrize("tau_s", [3e-6, 5e-6, 8e-6], ids=["3us", "5us", "8us"])
def test_hahn_echo_decay_from_spectral_diffusion(make_timeline, tau_s):
    # One packet kind far enough from zero bias that 2E is linear in the drift:
    # phase = 2 pi (2 eps/E) [int_0^tau xi - int_tau^2tau xi]; echo = exp(-<phase^2>/2).
    delta, eps, n = 1e6, 3e6, 20_000
    energy = np.hypot(eps, 2 * delta)
    sin_eta = 2 * delta / energy
    t_p = 1e-12
    rabi = 1 / (4 * sin_eta * t_p)
    segments = [(t_p, rabi, 0.0), (tau_s, 0.0, 0.0), (2 * t_p, rabi, np.pi / 2), (tau_s, 0, 0)]
    timeline = make_timeline(
        segments, carrier_hz=2 * energy, detect=[(3 * t_p + 2 * tau_s, 1e-9, 1)]
    )
    ens = Ensemble(np.full(n, delta), np.full(n, eps), np.ones(n), np.ones(n))
    obs = propagate_diffusing(
        timeline, ens, Relaxation(), 0.0, OrnsteinUhlenbeck(T2, WIDTH), seed=3
    )
    # Var of int s(t) xi(t) dt, s = +1 then -1, Cov = sigma^2 (e^{-a|t-u|} - e^{-a(t+u)}):
    a, e = 1 / T2, 1 - np.exp(-tau_s / T2)
    variance = WIDTH**2 * (4 * (tau_s / a - e / a**2) - 2 * e**2 / a**2 - e**4 / a**2)
    phase_var = (2 * np.pi * 2 * eps / energy) ** 2 * variance
    expected = sin_eta * np.exp(-phase_var / 2)
    assert 0.15 < phase_var < 8  # the decay is resolved
    assert abs(obs.signal[0]) == pytest.approx(expected, abs=5 * sin_eta / np.sqrt(2 * n))


# Finite pulses: the bias keeps drifting while the pulses act. Reference: an independent Monte
# Carlo written here from the model's definitions (bias eps + xi(t), xi an Ornstein-Uhlenbeck
# process from xi(0) = 0; each packet in its instantaneous eigenbasis, rotating at the carrier;
# the drive the static field (B cos phi, B sin phi, E(t) - f/2), B = -r sin eta(t) / 2, and
# dr/dt = 4 pi h x r), on a fine grid: exact AR(1) updates of xi, a rotation per grid step about
# the field at the step's mean bias (trapezoid).
# Pulses as long as the library's hahn-echo (pi/2: 0.5 us, pi: 1 us) at tau = 0.5 us, where the
# pulses carry a large share of the decay: a bias frozen during them gives an echo 5.8
# tolerances higher (0.73 against 0.53 of sin eta).
FINITE_DELTA, FINITE_EPS, FINITE_T2, FINITE_WIDTH = 1e6, 3e6, 1e-6, 120e3
T_PI2, TAU = 0.5e-6, 0.5e-6


def _finite_hahn_segments() -> tuple[list[tuple[float, float, float]], float, float]:
    energy = np.hypot(FINITE_EPS, 2 * FINITE_DELTA)
    rabi = 1 / (4 * (2 * FINITE_DELTA / energy) * T_PI2)  # pi/2 in T_PI2 on resonance
    segments = [(T_PI2, rabi, 0.0), (TAU, 0.0, 0.0), (2 * T_PI2, rabi, np.pi / 2), (TAU, 0, 0)]
    return segments, rabi, 2 * energy


def _reference_echo(n: int, dt: float, *, frozen_in_pulses: bool, seed: int) -> np.ndarray:
    """Per-trajectory detected signal at the end of the Hahn sequence (independent MC)."""
    segments, _, carrier = _finite_hahn_segments()
    rng = np.random.default_rng(seed)
    x, y, z = np.zeros(n), np.zeros(n), -np.ones(n)
    xi = np.zeros(n)
    decay = np.exp(-dt / FINITE_T2)
    kick = FINITE_WIDTH * np.sqrt(1 - decay**2)
    for duration, r, phase in segments:
        steps = round(duration / dt)
        held = xi.copy()
        for _ in range(steps):
            new = xi * decay + kick * rng.standard_normal(n)
            bias = FINITE_EPS + 0.5 * (xi + new)
            xi = new
            if r and frozen_in_pulses:
                bias = FINITE_EPS + held
            energy = np.hypot(bias, 2 * FINITE_DELTA)
            b = -0.5 * r * (2 * FINITE_DELTA / energy)
            ox, oy = 4 * np.pi * b * np.cos(phase), 4 * np.pi * b * np.sin(phase)
            oz = 4 * np.pi * (energy - carrier / 2)
            w = np.sqrt(ox**2 + oy**2 + oz**2)
            nx, ny, nz = ox / w, oy / w, oz / w
            c, s = np.cos(w * dt), np.sin(w * dt)
            dot = (nx * x + ny * y + nz * z) * (1 - c)
            x, y, z = (
                x * c + (ny * z - nz * y) * s + nx * dot,
                y * c + (nz * x - nx * z) * s + ny * dot,
                z * c + (nx * y - ny * x) * s + nz * dot,
            )
    sin_eta = 2 * FINITE_DELTA / np.hypot(FINITE_EPS + xi, 2 * FINITE_DELTA)
    return -sin_eta * (x - 1j * y)


def test_hahn_echo_with_finite_pulses_matches_an_independent_monte_carlo(make_timeline):
    n = 20_000
    segments, _, carrier = _finite_hahn_segments()
    end = 3 * T_PI2 + 2 * TAU
    timeline = make_timeline(segments, carrier_hz=carrier, detect=[(end, 1e-12, 1)])
    ens = Ensemble(np.full(n, FINITE_DELTA), np.full(n, FINITE_EPS), np.ones(n), np.ones(n))
    obs = propagate_diffusing(
        timeline, ens, Relaxation(), 0.0, OrnsteinUhlenbeck(FINITE_T2, FINITE_WIDTH), seed=4
    )
    running = _reference_echo(n, 2e-9, frozen_in_pulses=False, seed=5)
    frozen = _reference_echo(n, 2e-9, frozen_in_pulses=True, seed=6)
    sin_eta = 2 * FINITE_DELTA / np.hypot(FINITE_EPS, 2 * FINITE_DELTA)
    # the decay is resolved and the pulses' share of it is large
    assert 0.2 < abs(running.mean()) / sin_eta < 0.8
    # Monte-Carlo standard error of each estimate (the project's packets are the same kind of
    # trajectory, so their spread is the reference's); 4.5 s.e. of the difference of two
    # independent estimates. Grid error of the reference (2 ns steps, trapezoid bias): 2e-5 of
    # the echo against 1 ns steps on the same noise path.
    se = np.hypot(running.real.std(), running.imag.std()) / np.sqrt(n)
    tol = 4.5 * np.sqrt(2) * se
    assert abs(obs.signal[0] - running.mean()) < tol
    # the test resolves the bug it guards against: a bias frozen during pulses is far off
    assert abs(frozen.mean() - running.mean()) > 5 * tol


def test_without_drift_the_stepped_maps_equal_the_plain_propagator(make_timeline):
    # zero width: the cut into steps (T2/20 free, pulse steps, detection points inside a pulse
    # with a frequency offset) must compose to the unstepped exact maps
    rng = np.random.default_rng(8)
    n = 300
    ens = Ensemble(
        rng.uniform(0.8e6, 1.2e6, n), rng.normal(0, 0.5e6, n), np.ones(n), rng.uniform(0.5, 1, n)
    )
    segments = [
        (0.3e-6, 0.8e6, 0.2, 150e3), (1.1e-6, 0, 0), (0.6e-6, 0.8e6, 1.7, -90e3), (2e-6, 0, 0)
    ]
    detect = [(0.1e-6, 0.2e-6, 5), (1.45e-6, 0.5e-6, 7), (2.5e-6, 1.4e-6, 9)]
    timeline = make_timeline(segments, detect=detect)
    relax = Relaxation(gamma1=2e4, gamma2=5e4)
    process = OrnsteinUhlenbeck(0.1e-6, 0.0)
    stepped = propagate_diffusing(timeline, ens, relax, 0.0, process, seed=1)
    plain = propagate_chunks(timeline, ens, relax, 0.0)
    assert np.max(np.abs(stepped.signal - plain.signal)) < 1e-12
    assert np.max(np.abs(stepped.mz - plain.mz)) < 1e-12
