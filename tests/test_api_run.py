"""The Python API's runs (issue 15): simulate and run give the CLI's record, in memory.

Records are compared with those of ``spin-echo simulate``/``run`` bit for bit: the API is a thin
layer over the same code, so any difference is a bug.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import spin_echo as se
from spin_echo.echo.cli.main import main
from spin_echo.echo.output import OutputPathError
from spin_echo.echo.record import read_record
from spin_echo.sequences.errors import InputError
from tests.test_api_load import SMALL_HAHN


def assert_same_record(api: xr.Dataset, cli: xr.Dataset) -> None:
    """Every variable and coordinate equal bit for bit, every attribute but ``created``."""
    assert set(api.variables) == set(cli.variables)
    for name in cli.variables:
        assert api[name].dims == cli[name].dims, name
        np.testing.assert_array_equal(api[name].values, cli[name].values, err_msg=name)
        assert api[name].attrs == cli[name].attrs, name
    assert set(api.attrs) == set(cli.attrs)
    for key, value in cli.attrs.items():
        if key != "created":
            assert api.attrs[key] == value, key


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small-hahn.yaml"
    path.write_text(SMALL_HAHN, encoding="utf-8")
    return path


@pytest.mark.parametrize("frame", ["rotating", "lab"])
def test_simulate_returns_the_record_of_the_command_line(frame, small, tmp_path):
    out = tmp_path / "cli.nc"
    argv = ["simulate", str(small), "--sample", "bare-t2", "--packets", "200", "--seed", "3"]
    assert main([*argv, "--frame", frame, "-o", str(out)]) == 0
    record = se.simulate(small, "bare-t2", packets=200, seed=3, frame=frame)
    assert_same_record(record, read_record(out))
    assert int(record.attrs["complete"]) == 1


def test_simulate_with_values_path_and_workers(small, tmp_path):
    record = se.simulate(small, "bare", values={"tau": "3 us"}, packets=200)
    assert record.signal_re.dims == ("time",)
    assert "tau: 3 us" in record.attrs["protocol"]
    path = tmp_path / "kept.nc"
    kept = se.simulate(small, "bare", packets=200, path=path, workers=2)
    assert_same_record(kept, read_record(path))
    assert_same_record(kept, se.simulate(small, "bare", packets=200))  # any executor, same bits
    before = path.read_bytes()
    with pytest.raises(OutputPathError, match="exists"):
        se.simulate(small, "bare", packets=200, path=path)
    assert path.read_bytes() == before
    replaced = se.simulate(small, "bare", packets=200, seed=5, path=path, overwrite=True)
    assert int(read_record(path).attrs["seed"]) == 5 == int(replaced.attrs["seed"])


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"frame": "lab-ish"}, "frame"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"packets": 0}, "packets"),
        ({"packets": True}, "packets"),
        ({"values": {"tau": "3 MHz"}}, "tau"),
    ],
    ids=["frame", "seed-negative", "seed-float", "packets-zero", "packets-bool", "value"],
)
def test_simulate_refuses_bad_options_by_key(options, key, small):
    with pytest.raises(InputError) as caught:
        se.simulate(small, "bare", **options)
    assert caught.value.key == key


def test_simulate_draws_progress_when_asked(small, capsys):
    se.simulate(small, "bare", packets=100, progress=True)
    assert "simulate small-hahn [" in capsys.readouterr().err
    se.simulate(small, "bare", packets=100)
    assert capsys.readouterr().err == ""


def test_run_returns_the_record_of_the_command_line(small, tmp_path):
    out = tmp_path / "cli.nc"
    sample = se.save(se.load_sample("bare-t2").with_values(packets=200), tmp_path / "s.yaml")
    argv = ["run", str(small), "--bench", "virtual", "--sample", str(sample), "--seed", "4"]
    assert main([*argv, "--set", "tau=3 us", "-o", str(out)]) == 0
    record = se.run(small, "virtual", sample=sample, seed=4, values={"tau": "3 us"})
    assert_same_record(record, read_record(out))
    assert record.attrs["source"] == "run:virtual"


def test_run_refuses_a_protocol_the_awg_cannot_play_before_connecting(small):
    too_short = SMALL_HAHN.replace("t_pi2: 500 ns", "t_pi2: 1 ns") + "full_scale_rabi: 1 GHz\n"
    with pytest.raises(InputError, match=r"shorter than one sample .*\(bench virtual: awg"):
        se.run(too_short, "virtual", sample="bare")


def test_the_virtual_lab_rehearses_the_visa_drivers(tmp_path):
    """Emulated AWG and scope over TCP, noise off: the lab-frame simulation within 1e-3.

    The residual comes from the emulated cables (the magnetisation on the AWG's sample grid,
    interpolated at the scope's times): measured 4.3e-4 relative.
    """
    sample = se.load_sample("bare").with_values(packets=200)
    with se.virtual_lab(sample) as lab:
        bench = se.load_bench(lab.bench_yaml(points=2000))
        record = se.run("hahn-echo", bench, values={"tau": "4 us"})
    assert record.attrs["source"] == "run:virtual-lab"
    simulated = se.simulate("hahn-echo", sample, values={"tau": "4 us"}, frame="lab")
    comparison = se.compare(record, simulated)
    assert comparison.relative_residual < 1e-3
    assert abs(comparison.scale - 1) < 1e-2


@pytest.mark.parametrize(
    ("options", "key"),
    [({"awg": "no-such-awg"}, "awg"), ({"scope": "x"}, "scope"), ({"noise": "-1 V"}, "noise")],
    ids=["awg", "scope", "noise"],
)
def test_virtual_lab_refuses_bad_options(options, key):
    with pytest.raises(InputError) as caught:
        se.virtual_lab("bare", **options)
    assert caught.value.key == key
