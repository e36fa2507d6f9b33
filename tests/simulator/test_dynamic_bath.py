"""The dynamic nuclear bath: the channel (M, y, phi) redrawn at every flip (simulator.bath).

Hahn echoes use the ``hahn-echo`` protocol (phase-cycled) on a wide Delta_o distribution on the
ferritin bath, the sample of the paper's spin-echo proposal (spin_echo.echo.paper.dynamics).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from spin_echo.sequences import combine_phase_cycle, compile_timeline, load_protocol
from spin_echo.sequences.errors import InputError
from spin_echo.simulator import load_sample, simulate
from spin_echo.simulator.bath import (
    channel_probabilities,
    redraw_channels,
    same_channel_probability,
)
from spin_echo.simulator.environment import flip_segments
from spin_echo.simulator.sample import SampleError

WIDE = """name: wide
spin: 4000
tunnel_splitting: {{distribution: lognormal, median: 1 MHz, sigma: 1.0}}
bias_sampling: {{width: 2 MHz, fraction: 0.9}}
orientation: {{distribution: fixed, theta: 0 deg}}
temperature: {temperature}
environment:
  nuclear: {{N: 100, omega0: 50 MHz, delta_omega: 6 MHz, lambda: {lam}, lambda_prime: 0,
             dynamic: {dynamic}}}
"""
TAU_S = 5e-6
SEEDS = 8


def wide(tmp_path, lam: float, dynamic: bool, temperature: str = "0 K"):
    path = tmp_path / f"wide-{lam:g}-{dynamic}-{temperature.replace(' ', '')}.yaml"
    path.write_text(
        WIDE.format(lam=lam, dynamic=str(dynamic).lower(), temperature=temperature),
        encoding="utf-8",
    )
    return load_sample(path)


def hahn_signals(sample, packets: int, seeds: int = SEEDS) -> np.ndarray:
    """Phase-cycled Hahn-echo signals, one row per seed 0..seeds-1."""
    protocol = load_protocol("hahn-echo")
    timelines = [
        compile_timeline(protocol.sequence({"tau": TAU_S}, k))
        for k in range(len(protocol.phase_cycle))
    ]
    return np.array(
        [
            combine_phase_cycle(
                [simulate(t, sample, seed=s, packets=packets).signal for t in timelines],
                protocol.phase_cycle,
            )
            for s in range(seeds)
        ]
    )


def mean_and_error(values: np.ndarray) -> tuple[complex, float]:
    """Complex mean over seeds and its standard error."""
    error = math.sqrt((np.var(values.real, ddof=1) + np.var(values.imag, ddof=1)) / len(values))
    return complex(values.mean()), error


def test_sample_key_parses_and_defaults_to_static(tmp_path) -> None:
    assert wide(tmp_path, 1.0, True).nuclear.dynamic is True
    assert wide(tmp_path, 1.0, False).nuclear.dynamic is False
    assert load_sample("tb-grain").nuclear.dynamic is False
    bad = tmp_path / "bad.yaml"
    bad.write_text(WIDE.format(lam=1, dynamic="3 MHz", temperature="0 K"), encoding="utf-8")
    with pytest.raises(SampleError, match="dynamic"):
        load_sample(bad)


def test_dynamic_bath_refuses_diffusion(tmp_path) -> None:
    # the lab frame carries the dynamic bath (tests/simulator/test_lab_environment.py)
    sample = wide(tmp_path, 1.0, True)
    timeline = compile_timeline(load_protocol("hahn-echo").sequence({"tau": TAU_S}, 0))
    simulate(timeline, sample, packets=10, frame="lab")
    with pytest.raises(InputError, match="spin diffusion"):
        sample.with_overrides({"environment.spin_diffusion.T2": "10 us"})


def test_a_dynamic_bath_with_diffusion_is_refused_in_the_file_before_any_record(tmp_path, capsys):
    # refused where the file names it (it was found per sweep point, after the record opened)
    from spin_echo.echo.cli.main import main

    text = WIDE.format(lam=1.0, dynamic="true", temperature="0 K")
    text = text.replace("environment:\n", "environment:\n  spin_diffusion: {T2: 1 ms}\n", 1)
    path = tmp_path / "both.yaml"
    path.write_text(text, encoding="utf-8")
    line = 1 + next(k for k, row in enumerate(text.splitlines()) if "dynamic" in row)
    with pytest.raises(SampleError, match="simulated without spin diffusion") as info:
        load_sample(path)
    assert (info.value.file, info.value.line) == (str(path), line)
    out = tmp_path / "out.nc"
    assert main(["simulate", "hahn-echo", "--sample", str(path), "-o", str(out)]) == 2
    assert f"{path}:{line}: environment.nuclear.dynamic" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["both.yaml"]


def test_flip_events_are_the_pulses_after_the_first() -> None:
    timeline = compile_timeline(load_protocol("hahn-echo").sequence({"tau": TAU_S}, 0))
    driven = [k for k, r in enumerate(timeline.rabi_hz) if r != 0.0]
    flips = flip_segments(timeline)
    # hahn-echo: pi/2 and pi; the pi pulse is the one flip event
    assert len(flips) == 1 and flips[0] in driven and flips[0] > driven[0]


def test_the_ensemble_stores_the_channel_base(tmp_path) -> None:
    sample = wide(tmp_path, 10.0, True)
    ensemble = sample.ensemble(packets=5000, seed=3)
    delta0, base = ensemble.channel_base()
    # the ensemble's bias is the base minus M omega0/2 with M an integer channel
    channel = (base - ensemble.epsilon_hz) / (sample.nuclear.omega0_hz / 2.0)
    np.testing.assert_allclose(channel, np.rint(channel), atol=1e-6)
    assert np.all(ensemble.delta_hz <= delta0 + 1e-9)
    part = ensemble.chunk(100, 300)
    np.testing.assert_array_equal(part.channel_base()[0], delta0[100:300])
    np.testing.assert_array_equal(part.channel_base()[1], base[100:300])
    bare = load_sample("bare").ensemble(packets=10)
    with pytest.raises(ValueError, match="not drawn with a nuclear bath"):
        bare.channel_base()


@pytest.mark.parametrize("kappa", [0.0, 0.3, 1.0, 10.0])
def test_same_channel_probability_closed_form(kappa: float) -> None:
    # sum_M p_M^2 = e^{-4 kappa} sum_M I_M(2 kappa)^2 = e^{-4 kappa} I_0(4 kappa)
    assert same_channel_probability(kappa) == pytest.approx(special.ive(0, 4 * kappa), rel=1e-10)
    # and it is the frequency with which two redraws of the simulator agree (binomial error)
    sample_bath = load_sample("tb-grain").nuclear
    bath = type(sample_bath)(100, 50e6, 6e6, kappa, 0.0, None, True)
    n = 200_000
    rng = np.random.default_rng(5)
    delta0, base = np.full(n, 1e6), np.zeros(n)
    _, eps1 = redraw_channels(rng, delta0, base, bath, 4000)
    _, eps2 = redraw_channels(rng, delta0, base, bath, 4000)
    p = same_channel_probability(kappa)
    frequency = float(np.mean(eps1 == eps2))
    assert abs(frequency - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-12
    _, probs = channel_probabilities(kappa)
    assert probs.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("temperature", ["0 K", "50 mK"])
def test_no_topological_decoherence_dynamic_equals_static_exactly(tmp_path, temperature) -> None:
    # lambda - lambda' = 0: the only channel is M = 0 and J_0(0) = 1, so y is irrelevant and
    # the redraw returns every packet's delta and epsilon unchanged: identical bits
    static = wide(tmp_path, 0.0, False, temperature)
    dynamic = wide(tmp_path, 0.0, True, temperature)
    a = hahn_signals(static, 3000, seeds=2)
    b = hahn_signals(dynamic, 3000, seeds=2)
    assert np.abs(a).max() > 0
    np.testing.assert_array_equal(a, b)


def test_dynamic_bath_is_reproducible_and_seeded(tmp_path) -> None:
    sample = wide(tmp_path, 10.0, True)
    timeline = compile_timeline(load_protocol("hahn-echo").sequence({"tau": TAU_S}, 0))
    first = simulate(timeline, sample, seed=7, packets=4000)
    again = simulate(timeline, sample, seed=7, packets=4000)
    other = simulate(timeline, sample, seed=8, packets=4000)
    np.testing.assert_array_equal(first.signal, again.signal)
    np.testing.assert_array_equal(first.mz, again.mz)
    assert not np.array_equal(first.signal, other.signal)


@pytest.mark.parametrize("lam", [1.0, 10.0])
def test_topological_decoherence_removes_the_hahn_echo(tmp_path, lam: float) -> None:
    # 8 seeds x 20,000 packets; the echo is the mean complex signal at the static echo time.
    # Static bath: the pi pulse refocuses the channel broadening (echo > 10 s.e.).
    # Dynamic bath: a packet can refocus only if the pi pulse's redraw returns its channel
    # (probability p_M), so the echo is at most the channel-coincidence level
    # sum_M p_M g_M <= p_max * static; with g_M proportional to p_M it is
    # sum_M p_M^2 * static = e^{-4 kappa} I_0(4 kappa) * static (0.063 at kappa = 10,
    # 0.207 at kappa = 1). y and phi are redrawn too, which changes Delta_M and E_M even
    # within the same channel, so the echo falls below that level: measured about
    # 1e-5 +- 5e-6 against 9e-5 at kappa = 10.
    static = hahn_signals(wide(tmp_path, lam, False), 20_000)
    dynamic = hahn_signals(wide(tmp_path, lam, True), 20_000)
    at = int(np.argmax(np.abs(static.mean(axis=0))))
    s_mean, s_err = mean_and_error(static[:, at])
    d_mean, d_err = mean_and_error(dynamic[:, at])
    assert abs(s_mean) > 10 * s_err
    level = same_channel_probability(lam) * abs(s_mean)
    level_err = same_channel_probability(lam) * s_err
    assert abs(d_mean) < level + 3 * math.hypot(d_err, level_err)
    assert abs(d_mean) < 0.1 * abs(s_mean)
