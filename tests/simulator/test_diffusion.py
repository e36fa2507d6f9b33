"""Spin diffusion: Ornstein-Uhlenbeck statistics and the echo decay it causes, in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.simulator import Ensemble
from spin_echo.simulator.bloch import Relaxation
from spin_echo.simulator.diffusion import OrnsteinUhlenbeck, propagate_diffusing

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
