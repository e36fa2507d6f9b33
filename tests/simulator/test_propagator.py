"""Rotating-frame propagator against closed forms and conservation laws."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import Ensemble, propagate


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
