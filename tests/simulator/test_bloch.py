"""Bloch maps: the density matrix stays a density matrix.

The state :math:`\\rho = (1 + \\vec r\\cdot\\vec\\sigma)/2` has unit trace by construction;
positivity is :math:`|\\vec r| \\le 1`, purity without relaxation is :math:`|\\vec r| = 1`
conserved. Fields, durations and rates are random; both the closed form (T1 = T2) and the
matrix-exponential path (T1 != T2) are exercised.
"""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.simulator.bloch import PacketFrame, Relaxation, free_evolve, rotate_relax
from spin_echo.simulator.ensemble import Ensemble

N = 2000


def _random_states(rng, pure):
    v = rng.normal(size=(N, 3))
    v /= np.linalg.norm(v, axis=1)[:, None]
    if not pure:
        v *= rng.uniform(0, 1, N)[:, None]
    return v[:, 0] + 1j * v[:, 1], v[:, 2]


def _random_field(rng):
    return tuple(rng.normal(scale=3e6, size=N) for _ in range(3))


def _frame(rng, temperature_k=0.0):
    ens = Ensemble(rng.uniform(0, 2e6, N), rng.normal(0, 2e6, N), rng.uniform(-1, 1, N), 1.0)
    return PacketFrame.build(ens, temperature_k)


def test_purity_is_conserved_without_relaxation(kernel_backend):
    rng = np.random.default_rng(0)
    m, z = _random_states(rng, pure=True)
    frame = _frame(rng)
    for _ in range(20):
        m, z = rotate_relax(
            m, z, _random_field(rng), Relaxation(), frame.z_eq, rng.uniform(0, 1e-6)
        )
        m, z = free_evolve(m, z, frame, Relaxation(), rng.uniform(0, 1e-6), 4e6)
    np.testing.assert_allclose(np.abs(m) ** 2 + z**2, 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("t1_s", "t2_s", "temperature_k"),
    [(1e-6, 1e-6, 0.0), (2e-6, 0.5e-6, 1e-4), (1e-6, 2e-6, 0.0), (1e-6, None, 3e-4)],
    ids=["isotropic", "t2-short", "t2-equals-2t1", "t1-only"],
)
def test_positivity_and_trace_with_relaxation(t1_s, t2_s, temperature_k):
    rng = np.random.default_rng(1)
    relax = Relaxation.from_times(t1_s, t2_s)
    frame = _frame(rng, temperature_k)
    m, z = _random_states(rng, pure=True)
    for _ in range(10):
        m, z = rotate_relax(m, z, _random_field(rng), relax, frame.z_eq, rng.uniform(0, 2e-6))
        assert np.all(np.abs(m) ** 2 + z**2 <= 1 + 1e-12)
        m, z = free_evolve(m, z, frame, relax, rng.uniform(0, 2e-6), 4e6)
        assert np.all(np.abs(m) ** 2 + z**2 <= 1 + 1e-12)
        # rho = (1 + r.sigma)/2: trace 1, eigenvalues (1 +- |r|)/2 >= 0.
        r = np.sqrt(np.abs(m) ** 2 + z**2)
        assert np.all((1 - r) / 2 >= -1e-12)
    # After many T1 the state relaxes to the thermal equilibrium of each packet.
    m, z = free_evolve(m, z, frame, relax, 60 * t1_s, 4e6)
    np.testing.assert_allclose(z, frame.z_eq, rtol=0, atol=1e-12)
    np.testing.assert_allclose(m, 0, atol=1e-12)


def test_closed_form_and_matrix_exponential_agree(kernel_backend):
    rng = np.random.default_rng(2)
    frame = _frame(rng, 2e-4)
    m, z = _random_states(rng, pure=False)
    field = _random_field(rng)
    iso = Relaxation(1 / 1.3e-6, 1 / 1.3e-6)
    nudged = Relaxation(1 / 1.3e-6, 1 / 1.3e-6 * (1 + 1e-13))
    assert not nudged.isotropic
    a = rotate_relax(m, z, field, iso, frame.z_eq, 0.7e-6)
    b = rotate_relax(m, z, field, nudged, frame.z_eq, 0.7e-6)
    np.testing.assert_allclose(a[0], b[0], rtol=0, atol=1e-11)
    np.testing.assert_allclose(a[1], b[1], rtol=0, atol=1e-11)


def test_relaxation_rates():
    assert Relaxation.from_times(None, None) == Relaxation(0.0, 0.0)
    assert Relaxation.from_times(2.0, None) == Relaxation(0.5, 0.25)
    assert Relaxation.from_times(None, 4.0) == Relaxation(0.0, 0.25)
    with pytest.raises(ValueError, match="positive"):
        Relaxation.from_times(-1.0, None)
