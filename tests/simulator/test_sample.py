"""Sample files: built-ins load, errors name file, line, key and value; overrides and values."""

from __future__ import annotations

import pytest

from spin_echo.sequences.errors import InputError
from spin_echo.simulator import SampleError, list_samples, load_sample

GOOD = """\
name: test
tunnel_splitting: {distribution: lognormal, median: 1 MHz, sigma: 0.1}
bias: {distribution: gaussian, mean: 0 Hz, width: 1 MHz}
relaxation: {T1: 1 ms, T2: 10 us}
"""


def _write(tmp_path, text):
    path = tmp_path / "sample.yaml"
    path.write_text(text)
    return path


def test_builtins_load_and_list():
    names = [name for name, _ in list_samples()]
    assert {"bare", "ferritin", "tb-grain"} <= set(names)
    for name in names:
        sample = load_sample(name)
        assert sample.name == name
        assert sample.description


def test_yaml_round_trip(tmp_path):
    sample = load_sample("ferritin")
    again = load_sample(_write(tmp_path, sample.to_yaml()))
    assert again.nuclear == sample.nuclear
    assert again.tunnel_splitting == sample.tunnel_splitting


def test_values_and_overrides(tmp_path):
    sample = load_sample(_write(tmp_path, GOOD))
    assert sample.value("relaxation.T2") == pytest.approx(10e-6, rel=1e-15)
    assert sample.value("bias.width") == pytest.approx(1e6, rel=1e-15)
    changed = sample.with_overrides({"relaxation.T2": "5 us", "bias.width": 2e6})
    assert changed.t2_s == pytest.approx(5e-6, rel=1e-15)
    assert changed.value("bias.width") == pytest.approx(2e6, rel=1e-12)
    assert sample.t2_s == pytest.approx(10e-6, rel=1e-15)
    nuclear = changed.with_overrides(
        {
            "environment.nuclear.lambda": 0.5,
            "environment.nuclear.N": "100",
            "environment.nuclear.omega0": "50 MHz",
        }
    )
    assert nuclear.nuclear.lam == 0.5
    assert nuclear.nuclear.n_spins == 100


BAD = [
    (
        "unknown-top",
        "name: x\ntunnel_splitting: {distribution: fixed, value: 1 MHz}\n"
        "bias: {distribution: fixed, value: 0 Hz}\ncolour: red\n",
        "colour",
        4,
    ),
    (
        "missing-tunnel",
        "name: x\nbias: {distribution: fixed, value: 0 Hz}\n",
        "tunnel_splitting",
        None,
    ),
    (
        "missing-bias",
        "name: x\ntunnel_splitting: {distribution: fixed, value: 1 MHz}\n",
        "bias",
        None,
    ),
    (
        "bad-kind",
        "name: x\ntunnel_splitting: {distribution: cauchy, value: 1 MHz}\n"
        "bias: {distribution: fixed, value: 0 Hz}\n",
        "tunnel_splitting.distribution",
        2,
    ),
    (
        "bad-unit",
        "name: x\ntunnel_splitting: {distribution: fixed, value: 1 us}\n"
        "bias: {distribution: fixed, value: 0 Hz}\n",
        "tunnel_splitting.value",
        2,
    ),
    (
        "negative-splitting",
        "name: x\ntunnel_splitting: {distribution: fixed, value: -1 MHz}\n"
        "bias: {distribution: fixed, value: 0 Hz}\n",
        "tunnel_splitting.value",
        2,
    ),
    (
        "gaussian-splitting",
        "name: x\n"
        "tunnel_splitting: {distribution: gaussian, mean: 1 MHz, width: 1 kHz}\n"
        "bias: {distribution: fixed, value: 0 Hz}\n",
        "tunnel_splitting.distribution",
        2,
    ),
    (
        "unknown-dist-key",
        "name: x\ntunnel_splitting: {distribution: fixed, value: 1 MHz}\n"
        "bias: {distribution: gaussian, mean: 0 Hz, width: 1 MHz, median: 2 Hz}\n",
        "bias.median",
        3,
    ),
    (
        "uniform-order",
        "name: x\ntunnel_splitting: {distribution: fixed, value: 1 MHz}\n"
        "bias: {distribution: uniform, low: 2 MHz, high: 1 MHz}\n",
        "bias.high",
        3,
    ),
    (
        "list-weights",
        "name: x\ntunnel_splitting: {distribution: fixed, value: 1 MHz}\n"
        "bias: {distribution: list, values: [0 Hz, 1 MHz], weights: [1]}\n",
        "bias.weights",
        3,
    ),
    ("t2-too-long", GOOD.replace("T2: 10 us", "T2: 3 ms"), "relaxation.T2", 4),
    ("packets", GOOD + "packets: 0\n", "packets", 5),
    ("orientation", GOOD + "orientation: {distribution: fixed}\n", "orientation.theta", 5),
    ("half-spin", GOOD + "spin: 2.3\n", "spin", 5),
    (
        "lambda-prime",
        GOOD + "environment:\n  nuclear: {N: 10, omega0: 1 MHz, lambda: 0.1, lambda_prime: 0.2}\n",
        "environment.nuclear.lambda_prime",
        6,
    ),
    ("env-unknown", GOOD + "environment:\n  phonon: {}\n", "environment.phonon", 6),
    (
        "diffusion-width",
        GOOD + "environment:\n  spin_diffusion: {T2: 1 ms}\n",
        "environment.spin_diffusion",
        6,
    ),
    (
        "sampling-fraction",
        GOOD + "bias_sampling: {width: 1 MHz, fraction: 1}\n",
        "bias_sampling.fraction",
        5,
    ),
    (
        "sampling-without-density",
        GOOD.replace("gaussian, mean: 0 Hz, width: 1 MHz", "fixed, value: 0 Hz")
        + "bias_sampling: {width: 1 MHz, fraction: 0.5}\n",
        "bias_sampling",
        5,
    ),
    (
        "phonons-need-spin",
        GOOD + "environment:\n  phonons: {debye_temperature: 300 K, anisotropy: 1 K}\n",
        "environment.phonons",
        6,
    ),
]


@pytest.mark.parametrize(("text", "key", "line"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_malformed_samples_name_the_key(tmp_path, text, key, line):
    path = _write(tmp_path, text)
    with pytest.raises(SampleError) as info:
        load_sample(path)
    err = info.value
    assert err.file == str(path)
    assert err.key == key
    if line is not None:
        assert err.line == line
    assert key in str(err)


def test_unknown_builtin_and_override_errors(tmp_path):
    with pytest.raises(SampleError, match="built-in"):
        load_sample("no-such-sample")
    sample = load_sample(_write(tmp_path, GOOD))
    with pytest.raises(SampleError) as info:
        sample.with_overrides({"relaxation.T2": "-5 us"})
    assert info.value.file == "--set"
    assert info.value.key == "relaxation.T2"
    with pytest.raises(SampleError, match="not a numeric sample key"):
        sample.with_overrides({"relaxation.T3": "5 us"})
    with pytest.raises(SampleError, match="does not set"):
        sample.value("temperature")


@pytest.mark.parametrize(
    ("line", "key", "message"),
    [
        ("spin: 1000000.5", "spin", r"must be at most 1e\+06"),
        ("g: 101", "g", "must be at most 100"),
        ("packets: 10000001", "packets", "must be at most 10000000"),
        ("seed: 9223372036854775808", "seed", "must be at most 9223372036854775807"),
        ("temperature: 1e-12 K", "temperature", "is out of range"),
    ],
)
def test_sample_keys_beyond_their_limits_are_refused(tmp_path, line, key, message):
    with pytest.raises(SampleError, match=message) as info:
        load_sample(_write(tmp_path, GOOD + line + "\n"))
    assert f"sample.yaml:5: {key} = " in str(info.value)


@pytest.mark.parametrize("key", ["lambda", "lambda_prime"])
def test_nuclear_couplings_are_bounded(tmp_path, key):
    block = "environment:\n  nuclear: {N: 10, omega0: 50 MHz, lambda: 1000, %s: 1000.5}\n"
    text = GOOD + (block % key).replace("lambda: 1000, lambda: 1000.5", "lambda: 1000.5")
    with pytest.raises(SampleError, match="must be at most 1000") as info:
        load_sample(_write(tmp_path, text))
    assert f"environment.nuclear.{key} = 1000.5" in str(info.value)
    ok = GOOD + "environment:\n  nuclear: {N: 10, omega0: 50 MHz, lambda: 1000, lambda_prime: 1}\n"
    assert load_sample(_write(tmp_path, ok)).nuclear.lam == 1000


@pytest.mark.timeout(20)
def test_a_sample_path_that_is_a_pipe_or_a_device_is_refused_without_blocking(tmp_path):
    import os

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    for path in (fifo, zero):
        with pytest.raises(SampleError, match="not a regular file"):
            load_sample(path)


@pytest.mark.parametrize("packets", [0, -5, 10_000_001, 2.5])
def test_ensemble_refuses_a_packet_count_outside_the_limit(packets):
    with pytest.raises(InputError, match="must be a whole number from 1 to 10000000") as info:
        load_sample("bare").ensemble(packets=packets)
    assert str(info.value).startswith("--packets = ")


def test_an_override_that_invalidates_another_key_names_both_and_no_false_line(tmp_path):
    # fit --set relaxation.T1=1us blamed relaxation.T2 on line 21 of a 14-line file
    path = tmp_path / "t2.yaml"
    path.write_text(load_sample("bare-t2").text)
    with pytest.raises(SampleError) as info:
        load_sample(path).with_overrides({"relaxation.T1": "1 us"})
    err = info.value
    assert (err.file, err.line, err.key) == (str(path), None, "relaxation.T2")
    assert str(err).startswith(f"{path}: relaxation.T2 = '20 us': must be at most 2*T1")
    assert str(err).endswith("(with --set relaxation.T1=1 us)")
