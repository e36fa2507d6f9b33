"""``--resume`` continues an interrupted record to the bits of an uninterrupted run (issue 17).

Runs are interrupted at several points -- Ctrl-C from the progress callback in this process,
SIGKILL of a real ``spin-echo`` process -- then resumed with ``--resume``; the finished record
must equal an uninterrupted run's with the same seed bit for bit (signals, standard errors,
``mz``), in simulation and on the virtual bench (whose detector noise is keyed by point). Bad
input (another protocol, seed, sample, packets, frame or bench seed; a complete record; no
record) exits 2 with one line naming the file and the attribute, and changes no file.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from spin_echo.drivers import load_bench, open_bench
from spin_echo.echo.cli.main import main
from spin_echo.echo.runs.lab_run import run_protocol
from spin_echo.echo.runs.simulation import simulate_protocol
from spin_echo.sequences import load_protocol
from spin_echo.simulator import load_sample
from tests.cli.bad_input import Case, check_case

pytestmark = pytest.mark.timeout(300)

SIMULATE = ["simulate", "hahn-echo", "--sample", "bare", "--packets", "3000", "--seed", "7"]
#: The built-in hahn-echo's text: the virtual bench runs it with 4 shots a point (:func:`run`).
HAHN = Path(__file__).parents[2] / "sequences" / "library" / "hahn-echo.yaml"
DATA = ("signal_re", "signal_im", "mz", "signal_sem_re", "signal_sem_im")


class Stop:
    """A progress callback that presses Ctrl-C once ``after`` points are done."""

    def __init__(self, after: int) -> None:
        self.after = after

    def __call__(self, done: int, total: int) -> None:
        if done >= self.after:
            raise KeyboardInterrupt


def finished(path: Path) -> int:
    with netCDF4.Dataset(path) as ds:
        return int(ds["point_complete"][...].sum())


def assert_same_record(path: Path, reference: Path) -> None:
    """Every data variable equal bit for bit, the record complete."""
    with xr.open_dataset(path) as got, xr.open_dataset(reference) as want:
        assert int(got.attrs["complete"]) == 1
        assert int(got["point_complete"].sum()) == got["point_complete"].size
        names = [name for name in DATA if name in want]
        assert set(names) == {name for name in DATA if name in got}
        for name in names:
            np.testing.assert_array_equal(got[name].values, want[name].values, err_msg=name)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reference") / "simulated.nc"
    assert main([*SIMULATE, "-o", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> list[str]:
    """``spin-echo run`` of hahn-echo (4 shots) on the virtual bench around 300 packets."""
    folder = tmp_path_factory.mktemp("inputs")
    protocol, sample = folder / "hahn-4.yaml", folder / "t2-300.yaml"
    text = HAHN.read_text(encoding="utf-8")
    assert "\nshots: 16\n" in text
    protocol.write_text(text.replace("\nshots: 16\n", "\nshots: 4\n"), encoding="utf-8")
    sample.write_text(load_sample("bare-t2").with_values(packets=300).to_yaml())
    return ["run", str(protocol), "--bench", "virtual", "--sample", str(sample), "--seed", "5"]


@pytest.fixture(scope="module")
def measured(tmp_path_factory, run) -> Path:
    path = tmp_path_factory.mktemp("reference") / "measured.nc"
    assert main([*run, "-o", str(path)]) == 0
    return path


@pytest.mark.parametrize("after", [1, 6, 11])
def test_simulate_interrupted_then_resumed_equals_an_uninterrupted_run(
    simulated, tmp_path, after, caplog
):
    record = tmp_path / "rec.nc"
    protocol, sample = load_protocol("hahn-echo"), load_sample("bare")
    with pytest.raises(KeyboardInterrupt):
        simulate_protocol(protocol, sample, record, seed=7, packets=3000, progress=Stop(after))
    assert finished(record) == after
    note = f"{record} holds {after} of 12 points; the same command with --resume continues it"
    assert note in caplog.text
    assert main([*SIMULATE, "-o", str(record), "--resume"]) == 0
    assert_same_record(record, simulated)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.nc"]
    with xr.open_dataset(record) as ds:
        assert len(ds.attrs["resumed"].split()) == 1


@pytest.mark.parametrize("after", [1, 8])
def test_run_on_the_virtual_bench_interrupted_then_resumed_is_bit_identical(
    run, measured, tmp_path, after
):
    record = tmp_path / "rec.nc"
    protocol, sample = load_protocol(run[1]), load_sample(run[5])
    with (
        pytest.raises(KeyboardInterrupt),
        open_bench(load_bench("virtual"), sample=sample, seed=5) as bench,
    ):
        run_protocol(protocol, bench, record, sample=sample, progress=Stop(after))
    assert finished(record) == after
    assert main([*run, "-o", str(record), "--resume"]) == 0
    assert_same_record(record, measured)


def _kill_after(command: list[str], record: Path, points: int) -> None:
    """Start ``spin-echo COMMAND``, SIGKILL it once ``record`` shows ``points`` points."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "spin_echo.echo.cli", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if record.exists() and finished(record) >= points:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err.decode()


def test_a_killed_run_resumes_to_the_uninterrupted_record(run, measured, tmp_path):
    record = tmp_path / "rec.nc"
    _kill_after([*run, "-o", str(record)], record, 3)
    assert 3 <= finished(record) < 12
    assert any(p.name.endswith(".working") for p in tmp_path.iterdir())  # the killed writer's
    assert main([*run, "-o", str(record), "--resume"]) == 0
    assert_same_record(record, measured)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.nc"]


def test_resume_continues_from_a_killed_writers_working_file(simulated, tmp_path):
    """Points the killed writer flushed after its last snapshot are not measured again."""
    record = tmp_path / "rec.nc"
    protocol, sample = load_protocol("hahn-echo"), load_sample("bare")
    with pytest.raises(KeyboardInterrupt):
        simulate_protocol(protocol, sample, record, seed=7, packets=3000, progress=Stop(7))
    # a killed writer's state: its last snapshot (4 points) at the name, all 7 in the working file
    working = tmp_path / ".rec.partial-999999.nc.working"
    shutil.copyfile(record, working)
    with netCDF4.Dataset(record, "a") as ds:
        ds["point_complete"][4:] = 0
        for name in DATA:
            ds[name][4:, :] = np.nan
    assert finished(record) == 4
    counted: list[tuple[int, int]] = []
    simulate_protocol(
        protocol,
        sample,
        record,
        seed=7,
        packets=3000,
        resume=True,
        progress=lambda done, total: counted.append((done, total)),
    )
    assert counted[0] == (8, 12)  # points 1-7 came from the working file
    assert_same_record(record, simulated)
    assert not working.exists()


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory) -> bytes:
    """The bytes of a simulated record interrupted after 3 points."""
    path = tmp_path_factory.mktemp("interrupted") / "rec.nc"
    with pytest.raises(KeyboardInterrupt):
        simulate_protocol(
            load_protocol("hahn-echo"),
            load_sample("bare"),
            path,
            seed=7,
            packets=3000,
            progress=Stop(3),
        )
    return path.read_bytes()


def _cases(interrupted: bytes, complete: bytes, run: list[str]) -> list[Case]:
    files = {"rec.nc": interrupted}
    resume = ["-o", "rec.nc", "--resume"]
    return [
        Case(
            "protocol",
            (*SIMULATE, "--set", "t_pi2=400 ns", *resume),
            files,
            ("rec.nc", "protocol", "line"),
        ),
        Case("seed", (*SIMULATE[:-1], "8", *resume), files, ("rec.nc", "seed", "7")),
        Case(
            "sample",
            (*SIMULATE[:3], "bare-t2", *SIMULATE[4:], *resume),
            files,
            ("rec.nc", "sample"),
        ),
        Case(
            "packets",
            (*SIMULATE[:5], "2000", *SIMULATE[6:], *resume),
            files,
            ("rec.nc", "packets", "3000"),
        ),
        Case(
            "frame", (*SIMULATE, "--frame", "lab", *resume), files, ("rec.nc", "frame", "rotating")
        ),
        Case("bench", (*run, *resume), files, ("rec.nc", "source", "simulate")),
        Case(
            "complete", (*SIMULATE, *resume), {"rec.nc": complete}, ("rec.nc", "nothing to resume")
        ),
        Case("missing", (*SIMULATE, *resume), {}, ("rec.nc", "no record to resume")),
        Case("no-output", (*SIMULATE, "--resume"), files, ("--resume", "-o")),
        Case(
            "with-overwrite",
            (*SIMULATE, *resume, "--overwrite"),
            files,
            ("--resume", "--overwrite"),
        ),
        Case(
            "not-a-record",
            (*SIMULATE, *resume),
            {"rec.nc": b"not netcdf"},
            ("rec.nc", "cannot read"),
        ),
    ]


CASE_IDS = [
    "protocol",
    "seed",
    "sample",
    "packets",
    "frame",
    "bench",
    "complete",
    "missing",
    "no-output",
    "with-overwrite",
    "not-a-record",
]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_bad_resume_exits_2_naming_what_differs_and_changes_nothing(
    case_id, interrupted, simulated, run, tmp_path
):
    cases = {case.id: case for case in _cases(interrupted, simulated.read_bytes(), run)}
    check_case(cases[case_id], tmp_path, isolated=False)


def test_a_different_bench_seed_is_refused_and_changes_nothing(run, measured, tmp_path, capsys):
    record = tmp_path / "rec.nc"
    shutil.copyfile(measured, record)
    with netCDF4.Dataset(record, "a") as ds:  # the measured record, as if interrupted
        ds.complete = np.int8(0)
        ds["point_complete"][5:] = 0
    before = record.read_bytes()
    assert main([*run[:-1], "6", "-o", str(record), "--resume"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert f"{record}: seed: differs from the record's (5 in the record, 6 in this run)" in line
    assert record.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.nc"]


def test_the_api_resumes_too(simulated, tmp_path):
    import spin_echo as se

    record = tmp_path / "rec.nc"
    protocol, sample = load_protocol("hahn-echo"), load_sample("bare")
    with pytest.raises(KeyboardInterrupt):
        simulate_protocol(protocol, sample, record, seed=7, packets=3000, progress=Stop(4))
    with pytest.raises(se.InputError, match="seed"):
        se.simulate("hahn-echo", "bare", packets=3000, seed=8, path=record, resume=True)
    with pytest.raises(se.InputError, match="needs path"):
        se.simulate("hahn-echo", "bare", packets=3000, seed=7, resume=True)
    result = se.simulate("hahn-echo", "bare", packets=3000, seed=7, path=record, resume=True)
    assert int(result.attrs["complete"]) == 1
    assert_same_record(record, simulated)


def test_the_partial_file_of_an_interrupted_overwrite_is_resumed_in_place(
    simulated, tmp_path, capsys
):
    """The new run's points stay in NAME.partial-PID.nc; --resume -o that file finishes it."""
    record = tmp_path / "rec.nc"
    shutil.copyfile(simulated, record)
    old = record.read_bytes()
    protocol, sample = load_protocol("hahn-echo"), load_sample("bare")
    with pytest.raises(KeyboardInterrupt):
        simulate_protocol(
            protocol, sample, record, seed=7, packets=3000, overwrite=True, progress=Stop(5)
        )
    (partial,) = tmp_path.glob("rec.partial-*.nc")
    assert main([*SIMULATE, "-o", str(record), "--resume"]) == 2
    err = capsys.readouterr().err
    left = f"an interrupted --overwrite run left {partial.name}"
    assert f"nothing to resume: the record is complete; {left}" in err
    assert main([*SIMULATE, "-o", str(partial), "--resume"]) == 0
    assert_same_record(partial, simulated)
    assert record.read_bytes() == old  # never replaced implicitly
