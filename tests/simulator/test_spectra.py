"""The paper's P(t) and chi'' from a sampled spin bath, against the closed forms.

Flat bias density (paper, mu >> 1 and k_B T >> omega0): the bath of N = 10^4 nuclei with
overlapping polarisation groups (mu = 3) has W(eps) ~ W0 = 1/(sqrt(2 pi N) omega0) near zero
bias (curvature and group-width corrections ~ 1e-3 relative here). Then, in the paper's
convention, P(t) = 1 - 2A sum_k J_{2k+1}(2 pi 4 Delta0 t), A = pi Delta0 W0, and the spectrum is
16 W0 Delta0^2 / (f sqrt(f^2 - 16 Delta0^2)) above the edge f = 4 Delta0 (Eq. 7).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from spin_echo.simulator import Ensemble, absorption_spectrum, correlator
from spin_echo.simulator.sample import load_sample

DELTA0, OMEGA0, N_SPINS = 1e6, 50e6, 10_000
SAMPLE = f"""\
name: flat
spin: 4000
tunnel_splitting: {{distribution: fixed, value: {DELTA0} Hz}}
bias_sampling: {{width: 2 MHz, fraction: 0.9}}
packets: 400000
seed: 5
environment:
  nuclear: {{N: {N_SPINS}, omega0: {OMEGA0} Hz, delta_omega: 1.5 MHz, lambda: 0}}
"""
W0 = 1 / (np.sqrt(2 * np.pi * N_SPINS) * OMEGA0)
A = np.pi * DELTA0 * W0


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    path = tmp_path_factory.mktemp("spectra") / "flat.yaml"
    path.write_text(SAMPLE)
    return load_sample(path).ensemble()


def _odd_bessel_sum(x):
    k = np.arange(0, int(x.max()) + 60)
    return special.jv(2 * k[:, None] + 1, x[None, :]).sum(axis=0)


def _ratio_error(values, grains, norm):
    """Standard error of sum(values)/sum(grains) from the per-packet terms (delta method)."""
    n = len(values)
    ratio = values.sum() / grains.sum()
    resid = values - ratio * grains
    return np.sqrt(n * resid.var()) / norm


def test_correlator_converges_to_the_paper_closed_form(flat):
    times = np.linspace(0.0, 3e-6, 61)
    physical = correlator(flat, times)
    paper = 1 - (1 - physical) / 2
    expected = 1 - 2 * A * _odd_bessel_sum(2 * np.pi * 4 * DELTA0 * times)
    energy = flat.energy_hz
    flips = (2 * flat.delta_hz / energy) ** 2 * np.sin(2 * np.pi * energy * times[:, None]) ** 2
    sigma = np.array([_ratio_error(flat.weight * f, flat.grain_weight, flat.norm) for f in flips])
    deficit = 2 * A * _odd_bessel_sum(2 * np.pi * 4 * DELTA0 * times)
    # Sampling error (5 sigma) plus the 2e-3 relative deviation of W from flat.
    assert np.all(np.abs(paper - expected) <= 5 * sigma + 2e-3 * deficit + 1e-15)
    assert sigma[1:].max() < 0.02 * deficit[1:].max()  # the test resolves the curve


def test_correlator_of_one_packet_is_the_rabi_formula():
    times = np.array([0.0, 0.1e-6, 0.37e-6, 1.3e-6])
    ens = Ensemble(0.8e6, 0.5e6, 1.0, 1.0)
    energy = np.hypot(0.5e6, 1.6e6)
    expected = 1 - 2 * (1.6e6 / energy) ** 2 * np.sin(2 * np.pi * energy * times) ** 2
    np.testing.assert_allclose(correlator(ens, times), expected, rtol=0, atol=1e-13)
    zero_bias = correlator(Ensemble(1e6, 0.0, 1.0, 1.0), times)
    np.testing.assert_allclose(zero_bias, np.cos(2 * np.pi * 4e6 * times), rtol=0, atol=1e-13)


def test_spectrum_has_the_eq7_edge(flat):
    edges = np.linspace(2 * DELTA0, 12 * DELTA0, 41)
    chi = absorption_spectrum(flat, edges)
    below = edges[1:] <= 4 * DELTA0
    assert np.all(chi[below] == 0.0)
    # Bin integrals of 16 W0 D^2 / (f sqrt(f^2 - 16 D^2)): 4 W0 D arccos(4 D / f).
    lo, hi = np.maximum(edges[:-1], 4 * DELTA0), np.maximum(edges[1:], 4 * DELTA0)
    expected = 4 * W0 * DELTA0 * (np.arccos(4 * DELTA0 / hi) - np.arccos(4 * DELTA0 / lo))
    expected /= np.diff(edges)
    energy = flat.energy_hz
    flip = (2 * flat.delta_hz / energy) ** 2
    above = ~below
    for i in np.flatnonzero(above):
        inside = (2 * energy >= edges[i]) & (2 * energy < edges[i + 1])
        sigma = _ratio_error(flat.weight * flip * inside, flat.grain_weight, flat.norm)
        sigma /= edges[i + 1] - edges[i]
        assert abs(chi[i] - expected[i]) <= 5 * sigma + 3e-3 * expected[i]
    # The edge: the first bin above 4 Delta0 holds the integrable 1/sqrt divergence.
    first = np.flatnonzero(above)[0]
    assert chi[first] == chi[above].max()


def test_spectrum_rejects_bad_edges():
    with pytest.raises(ValueError, match="increasing"):
        absorption_spectrum(Ensemble(1e6, 0.0, 1.0, 1.0), np.array([2e6, 1e6]))
