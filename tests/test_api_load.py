"""The Python API's loaders and save (issue 15): names, paths and YAML text, the CLI's messages.

Every name is used through the public import path, ``import spin_echo as se``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import spin_echo as se
from spin_echo.drivers.interface import BenchError
from spin_echo.echo.output import OutputPathError
from spin_echo.sequences.errors import ProtocolError
from spin_echo.simulator.sample import SampleError

SMALL_HAHN = """name: small-hahn
description: A small Hahn echo.
parameters: {carrier: 4 MHz, t_pi2: 500 ns, tau: 5 us, window: 4 us}
sequence:
  - pulse: {angle: pi/2, duration: t_pi2, phase: 0 deg}
  - delay: tau
  - pulse: {angle: pi, duration: 2*t_pi2, phase: 90 deg}
  - delay: tau - window/2
  - detect: {duration: window, points: 64}
sweep:
  tau: {start: 2 us, stop: 12 us, points: 4}
phase_cycle:
  - {pulses: [0 deg, 0 deg], receiver: +1}
  - {pulses: [180 deg, 0 deg], receiver: -1}
shots: 4
"""
BAD_PROTOCOL = SMALL_HAHN.replace("duration: t_pi2, phase: 0 deg", "duration: -5 ns, phase: 0 deg")


def cli_error(*argv: str) -> str:
    """Return the one line ``spin-echo`` prints on stderr for bad input (exit status 2)."""
    done = subprocess.run(
        [sys.executable, "-m", "spin_echo.echo.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    return done.stderr.strip()


@pytest.mark.parametrize(
    ("load", "name"),
    [(se.load_protocol, "hahn-echo"), (se.load_sample, "bare-t2"), (se.load_bench, "virtual")],
    ids=["protocol", "sample", "bench"],
)
def test_a_name_a_path_yaml_text_and_an_object_load_the_same(load, name, tmp_path):
    def yaml_of(item):
        return item.text if load is se.load_bench else item.to_yaml()

    by_name = load(name)
    text = yaml_of(by_name)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    for other in (load(path), load(str(path)), load(text)):
        assert yaml_of(other) == text
    assert load(by_name) is by_name


def test_yaml_text_errors_name_string_line_and_key():
    with pytest.raises(ProtocolError) as caught:
        se.load_protocol(BAD_PROTOCOL)
    err = caught.value
    assert (err.file, err.line) == ("<string>", 5)
    assert err.key == "sequence[0].pulse.duration"
    assert str(err).startswith("<string>:5: sequence[0].pulse.duration = '-5 ns': ")


def test_file_errors_are_the_command_lines_messages(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_PROTOCOL, encoding="utf-8")
    with pytest.raises(ProtocolError) as caught:
        se.load_protocol(path)
    assert cli_error("show", str(path)) == f"spin-echo: error: {caught.value}"
    sample = tmp_path / "bad-sample.yaml"
    sample.write_text(
        "name: s\nbias: {distribution: fixed, value: 0 Hz}\n"
        "tunnel_splitting: {distribution: fixed, value: -1 MHz}\n"
    )
    with pytest.raises(SampleError) as caught:
        se.load_sample(sample)
    assert caught.value.line == 3
    assert cli_error("budget", str(sample)) == f"spin-echo: error: {caught.value}"


def test_unknown_names_list_the_built_ins():
    with pytest.raises(ProtocolError, match="hahn-echo"):
        se.load_protocol("no-such-protocol")
    with pytest.raises(SampleError, match="bare-t2"):
        se.load_sample("no-such-sample")
    with pytest.raises(BenchError, match="virtual"):
        se.load_bench("no-such-bench")
    with pytest.raises(BenchError) as caught:
        se.load_bench("name: b\nawg: {driver: no-such-awg}\ndetector: {driver: virtual-detector}\n")
    assert caught.value.file == "<string>"


def test_with_values_sets_parameters_and_sample_keys():
    protocol = se.load_protocol("hahn-echo").with_values(tau="3 us", t_pi2="400 ns")
    assert protocol.parameters["tau"].value == pytest.approx(3e-6, rel=1e-15)
    assert protocol.parameters["t_pi2"].value == pytest.approx(4e-7, rel=1e-15)
    assert protocol.sweep_shape == ()  # tau was swept: set, it runs at one value
    sample = se.load_sample("bare").with_values(**{"relaxation.T2": "15 us", "packets": 300})
    assert (sample.t2_s, sample.packets) == (pytest.approx(15e-6, rel=1e-15), 300)
    with pytest.raises(ProtocolError) as caught:
        se.load_protocol("hahn-echo").with_values(tau="3 MHz")
    assert (caught.value.file, caught.value.key) == ("--set", "tau")
    with pytest.raises(SampleError):
        sample.with_values(**{"relaxation.T9": "1 us"})


def test_saved_objects_round_trip_and_simulate_the_same(tmp_path):
    protocol = se.load_protocol(SMALL_HAHN).with_values(window="3 us")
    sample = se.load_sample("bare").with_values(**{"relaxation.T2": "15 us", "packets": 200})
    p_path = se.save(protocol, tmp_path / "p.yaml")
    s_path = se.save(sample, tmp_path / "s.yaml")
    assert se.load_protocol(p_path) == protocol
    assert se.load_sample(s_path).to_yaml() == sample.to_yaml()
    direct = se.simulate(protocol, sample)
    reloaded = se.simulate(p_path, s_path)
    for name in ("signal_re", "signal_im", "mz"):
        assert (direct[name].values == reloaded[name].values).all()
    bench = se.load_bench("virtual")
    assert se.load_bench(se.save(bench, tmp_path / "b.yaml")).text == bench.text


def test_save_follows_the_overwrite_rules(tmp_path):
    sample = se.load_sample("bare")
    path = se.save(sample, tmp_path / "s.yaml")
    changed = sample.with_values(**{"relaxation.T2": "15 us"})
    with pytest.raises(OutputPathError, match="exists; nothing was written"):
        se.save(changed, path)
    assert se.load_sample(path).to_yaml() == sample.to_yaml()
    se.save(changed, path, overwrite=True)
    assert se.load_sample(path).t2_s == pytest.approx(15e-6, rel=1e-15)
    with pytest.raises(OutputPathError, match="folder"):
        se.save(sample, tmp_path / "missing" / "s.yaml")
    with pytest.raises(TypeError, match="not dict"):
        se.save({}, tmp_path / "x.yaml")
    assert not (tmp_path / "x.yaml").exists()


def test_a_saved_record_reads_back_equal(tmp_path):
    record = se.simulate(SMALL_HAHN, "bare", packets=100)
    path = se.save(record, tmp_path / "r.nc")
    again = se.read(path)
    assert set(again.data_vars) == set(record.data_vars)
    for name in record.variables:
        assert record[name].equals(again[name]), name
    assert again.attrs == record.attrs
    with pytest.raises(OutputPathError):
        se.save(record, Path(path))
