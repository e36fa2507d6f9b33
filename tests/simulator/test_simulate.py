"""simulate(): reproducibility, the built-in samples, and environment rates in the dynamics."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.simulator import list_samples, load_sample, simulate
from spin_echo.simulator.budget.closed_forms import ohmic_damping_rate_per_s

ONE_PACKET = """\
name: one
tunnel_splitting: {distribution: fixed, value: 1 MHz}
bias: {distribution: fixed, value: 0.3 MHz}
packets: 1
temperature: 1 mK
environment:
  electrons: {alpha: 1e-4}
"""


@pytest.mark.parametrize("name", [n for n, _ in list_samples()])
def test_builtin_samples_simulate_a_hahn_echo(make_hahn, name):
    sample = load_sample(name)
    obs = simulate(make_hahn(1e-6, points=64), sample, packets=2000)
    assert obs.signal.shape == (64,)
    assert np.all(np.isfinite(obs.signal))
    assert np.all(np.abs(obs.mz) <= 1)
    assert np.abs(obs.signal).max() > 0


def test_bare_sample_gives_a_strong_echo(make_hahn):
    obs = simulate(make_hahn(2e-6, points=128), load_sample("bare"))
    peak = np.argmax(np.abs(obs.signal))
    assert np.abs(obs.signal[peak]) > 0.5
    assert 40 < peak < 90  # near the centre of the window, where the echo refocuses


def test_seeded_runs_are_reproducible_bit_for_bit(make_hahn):
    sample = load_sample("ferritin")
    timeline = make_hahn(1.5e-6, points=32)
    first = simulate(timeline, sample, seed=7, packets=3000)
    again = simulate(timeline, sample, seed=7, packets=3000)
    other = simulate(timeline, sample, seed=8, packets=3000)
    assert np.array_equal(first.signal, again.signal)
    assert np.array_equal(first.mz, again.mz)
    assert not np.array_equal(first.signal, other.signal)


def test_electron_damping_enters_as_a_coherence_rate(make_timeline, tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(ONE_PACKET)
    sample = load_sample(path)
    rate = ohmic_damping_rate_per_s(1e-4, 1e-3)
    timeline = make_timeline([(50e-9, 5e6, 0.0), (4e-6, 0.0, 0.0)], detect=[(0.1e-6, 3e-6, 30)])
    obs = simulate(timeline, sample)
    lag = obs.times_s - obs.times_s[0]
    ratio = np.abs(obs.signal) / np.abs(obs.signal[0])
    np.testing.assert_allclose(ratio, np.exp(-rate * lag), rtol=1e-10)
    assert rate * lag[-1] > 0.1  # the decay is visible
