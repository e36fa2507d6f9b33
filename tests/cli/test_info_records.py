"""``spin-echo info`` and ``spin-echo records`` on real records: run (emulated lab over TCP,
virtual bench), simulate, interrupted, partial, and files that are not records."""

from __future__ import annotations

import json
import platform
import shutil
from importlib import metadata
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import pyvisa

from spin_echo.drivers.emulated.lab import VirtualLab
from spin_echo.drivers.virtual import FrontEnd
from spin_echo.echo.cli.main import main
from spin_echo.echo.provenance import read_provenance, software_versions
from tests.drivers.conftest import SHORT_ECHO, quiet_virtual_bench, small_sample
from tests.drivers.test_readback import IDN, KEYSIGHT_AWG, KEYSIGHT_SCOPE

pytestmark = pytest.mark.timeout(120)

BARE = Path(__file__).resolve().parents[2] / "simulator" / "samples" / "bare.yaml"


@pytest.fixture
def files(tmp_path):
    protocol = tmp_path / "short-echo.yaml"
    protocol.write_text(SHORT_ECHO)
    sample = tmp_path / "small.yaml"
    sample.write_text(BARE.read_text().replace("packets: 4000", "packets: 100"))
    return protocol, sample


def _simulate(protocol: Path, sample: Path, out: Path) -> Path:
    assert main(["simulate", str(protocol), "--sample", str(sample), "-o", str(out)]) == 0
    return out


def _set_attrs(path: Path, **attrs) -> None:
    with netCDF4.Dataset(path, "a") as ds:
        for name, value in attrs.items():
            ds.setncattr(name, value)


def test_run_on_the_emulated_lab_stores_and_info_prints_the_provenance(tmp_path, files, capsys):
    protocol, _ = files
    record = tmp_path / "lab.nc"
    front = FrontEnd(pickup_v=1.0, bandwidth_hz=200e6, noise_v=0.0, seed=1)
    with VirtualLab(small_sample(20), full_scale_rabi_hz=2e6, front_end=front) as lab:
        bench = tmp_path / "lab.yaml"
        bench.write_text(lab.bench_yaml(timeout_s=5.0))
        assert main(["run", str(protocol), "--bench", str(bench), "-o", str(record)]) == 0
        resources = lab.resources
    with netCDF4.Dataset(record) as ds:
        instruments = json.loads(ds.getncattr("instruments"))
        versions = json.loads(ds.getncattr("versions"))
    awg, scope = instruments
    assert (awg["role"], awg["driver"], awg["resource"]) == ("awg", "keysight-33600a", resources[0])
    assert (scope["role"], scope["driver"], scope["resource"]) == (
        "detector",
        "keysight-infiniivision",
        resources[1],
    )
    fields = ("manufacturer", "model", "serial", "firmware")
    assert awg["identity"] == dict(zip(fields, IDN["keysight-33600a"], strict=True))
    assert scope["identity"] == dict(zip(fields, IDN["keysight-infiniivision"], strict=True))
    assert [(s["name"], s["query"], s["read"]) for s in awg["settings"]] == KEYSIGHT_AWG
    assert [(s["name"], s["query"], s["read"]) for s in scope["settings"][:-2]] == KEYSIGHT_SCOPE
    assert [s["name"] for s in scope["settings"][-2:]] == ["time_range_s", "time_position_s"]
    assert all(s["agrees"] for s in awg["settings"] + scope["settings"])
    assert all(s["sent"] == s["read"] for s in awg["settings"] + scope["settings"][:-2])
    assert versions == {
        "spin-echo": metadata.version("spin-echo"),
        "numpy": np.__version__,
        "pyvisa": pyvisa.__version__,
        "python": platform.python_version(),
        "visa_backend": "@py",
        "pyvisa-py": metadata.version("pyvisa-py"),
    }
    capsys.readouterr()
    assert main(["info", str(record)]) == 0
    out = capsys.readouterr().out
    assert "source:      run:virtual-lab\n" in out
    assert "protocol:    short-echo\n" in out
    assert "bench:       virtual-lab\n" in out
    assert "progress:    2 of 2 points, complete\n" in out
    assert (
        "  awg: Keysight Technologies 33622A, serial MY59000001, firmware "
        f"A.02.02-3.15-2.01-60-00 (keysight-33600a at {resources[0]})\n"
    ) in out
    assert "    amplitude_vpp      sent 1 Vpp              read 1 Vpp (SOUR1:VOLT?)\n" in out
    assert "    load               sent 50 ohm             read 50 ohm (OUTP1:LOAD?)\n" in out
    assert "DIFFERS" not in out
    assert f"pyvisa {pyvisa.__version__}, python {platform.python_version()}" in out
    assert main(["info", str(record), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["instruments"] == instruments and data["versions"] == versions
    assert (data["points_done"], data["points_total"], data["complete"]) == (2, 2, True)


def test_virtual_bench_record_and_simulate_record_in_info(tmp_path, files, capsys):
    protocol, sample = files
    run = tmp_path / "virtual.nc"
    bench = quiet_virtual_bench(tmp_path)
    args = ["run", str(protocol), "--bench", str(bench), "--sample", str(sample), "--seed", "7"]
    assert main([*args, "-o", str(run)]) == 0
    sim = _simulate(protocol, sample, tmp_path / "sim.nc")
    capsys.readouterr()
    assert main(["info", str(run), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    awg, detector = data["instruments"]
    version = metadata.version("spin-echo")
    assert awg["identity"] == {
        "manufacturer": "spin-echo",
        "model": "virtual-awg",
        "serial": "virtual",
        "firmware": version,
    }
    assert detector["identity"]["model"] == "virtual-detector"
    assert [(s["name"], s["read"]) for s in awg["settings"]] == [
        ("sample_rate_hz", 250e6),
        ("amplitude_vpp", 1.0),
    ]
    # the bench file says 1 uV and seed 1; --seed 7 is what the detector used
    assert [(s["name"], s["sent"], s["read"]) for s in detector["settings"]] == [
        ("bandwidth_hz", 200e6, 200e6),
        ("noise_v", 1e-6, 1e-6),
        ("seed", 7, 7),
    ]
    assert (data["sample"], data["bench"], data["seed"]) == ("bare", "virtual-quiet", 7)
    assert data["versions"]["visa_backend"] == "none"
    assert main(["info", str(sim)]) == 0
    out = capsys.readouterr().out
    assert "source:      simulate\n" in out and "sample:      bare\n" in out
    assert "progress:    2 of 2 points, complete\n" in out
    assert "instruments:" not in out
    assert f"versions:    spin-echo {version}" in out


def test_info_of_an_interrupted_record_says_how_far_it_got(tmp_path, files, capsys):
    protocol, sample = files
    record = _simulate(protocol, sample, tmp_path / "cut.nc")
    with netCDF4.Dataset(record, "a") as ds:  # as a run killed after its first point leaves it
        ds.variables["point_complete"][1] = 0
        ds.setncattr("complete", 0)
    capsys.readouterr()
    assert main(["info", str(record)]) == 0
    assert "progress:    1 of 2 points, not complete\n" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.write_text("not a record\n"), "cannot read record"),
        (lambda p: None, "record file not found"),
    ],
    ids=["text-file", "missing"],
)
def test_info_of_what_is_not_a_record_exits_2(tmp_path, capsys, make, expected):
    path = tmp_path / "x.nc"
    make(path)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spin-echo: error: ") and expected in err and str(path) in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"instruments": "[{"}, "instruments: is not JSON"),
        ({"instruments": '{"role": "awg"}'}, "instruments: must be a JSON list of instruments"),
        ({"instruments": '[{"role": "awg"}]'}, "instruments[0].identity: must be an object"),
        (
            {
                "instruments": '[{"role": "awg", "driver": "d", "resource": null, "identity": '
                '{"manufacturer": "a", "model": "b", "serial": "c", "firmware": "d"}, '
                '"settings": [{"name": "x", "unit": "", "sent": 1, "read": 1, "query": "X?", '
                '"agrees": "yes"}]}]'
            },
            "instruments[0].settings[0].agrees = 'yes': must be true or false",
        ),
        ({"versions": '{"numpy": 2}'}, "versions: must be a JSON object of package name"),
    ],
    ids=["not-json", "not-a-list", "no-identity", "agrees-not-bool", "version-not-text"],
)
def test_malformed_provenance_is_refused_when_read(tmp_path, files, capsys, attrs, message):
    protocol, sample = files
    record = _simulate(protocol, sample, tmp_path / "bad.nc")
    _set_attrs(record, **attrs)
    capsys.readouterr()
    assert main(["info", str(record)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"spin-echo: error: {record}: ") and message in err, err
    assert main(["plot", str(record), "-o", str(tmp_path / "bad.png")]) == 2  # every reader
    assert not (tmp_path / "bad.png").exists()


def test_software_versions_name_the_backend_in_use():
    assert software_versions("/x/lab.yaml@sim")["visa_backend"] == "@sim"
    assert software_versions("/x/lab.yaml@sim")["pyvisa-sim"] == metadata.version("pyvisa-sim")
    assert "pyvisa-py" not in software_versions("/x/lab.yaml@sim")
    assert read_provenance({}, "f").as_dict() == {"instruments": [], "versions": {}}


@pytest.fixture
def folder(tmp_path, files):
    """A folder of records and other .nc files, with the creation times set."""
    protocol, sample = files
    root = tmp_path / "records"
    (root / "sub").mkdir(parents=True)
    _simulate(protocol, sample, root / "b.nc")
    _set_attrs(root / "b.nc", created="2026-01-02T10:00:00+00:00")
    bench = quiet_virtual_bench(tmp_path)
    args = ["run", str(protocol), "--bench", str(bench), "--sample", str(sample)]
    assert main([*args, "-o", str(root / "sub" / "a.nc")]) == 0
    _set_attrs(root / "sub" / "a.nc", created="2026-01-03T10:00:00+00:00")
    fid = tmp_path / "fid-short.yaml"
    fid.write_text(SHORT_ECHO.replace("name: short-echo", "name: other-echo"))
    _simulate(fid, sample, root / "c.nc")
    with netCDF4.Dataset(root / "c.nc", "a") as ds:  # interrupted after its first point
        ds.variables["point_complete"][1] = 0
        ds.setncattr("complete", 0)
        ds.setncattr("created", "2026-01-01T10:00:00+00:00")
    shutil.copy(root / "b.nc", root / "b.partial-4242.nc")
    _set_attrs(root / "b.partial-4242.nc", created="2026-01-04T10:00:00+00:00")
    shutil.copy(root / "b.nc", root / ".b.partial-4242.nc.working")  # hidden: skipped
    (root / "junk.nc").write_text("not netcdf\n")
    with netCDF4.Dataset(root / "plain.nc", "w") as ds:
        ds.createDimension("x", 3)
        ds.createVariable("y", "f8", ("x",))[:] = [1.0, 2.0, 3.0]
    return root


def test_records_lists_sorts_and_marks_every_nc_file(folder, capsys):
    capsys.readouterr()
    assert main(["records", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["path", "protocol", "sample/bench", "points", "complete", "created"]
    rows = [line.split() for line in lines[1:5]]
    assert rows == [
        ["c.nc", "other-echo", "bare", "1/2", "no", "2026-01-01T10:00:00+00:00"],
        ["b.nc", "short-echo", "bare", "2/2", "yes", "2026-01-02T10:00:00+00:00"],
        ["sub/a.nc", "short-echo", "bare", "2/2", "yes", "2026-01-03T10:00:00+00:00"],
        ["b.partial-4242.nc", "short-echo", "bare", "2/2", "partial", "2026-01-04T10:00:00+00:00"],
    ]
    others = sorted(lines[5:7])
    assert others[0].startswith("junk.nc") and "unreadable: cannot read:" in others[0]
    assert others[1].startswith("plain.nc")
    assert "not a record: missing signal_im, signal_re, time" in others[1]
    assert lines[7] == "4 record(s), 2 other .nc file(s)"
    assert len(lines) == 8  # the hidden working file is not listed


def test_records_filters_sorts_and_prints_json(folder, capsys):
    capsys.readouterr()
    assert (
        main(["records", str(folder), "--protocol", "short-echo", "--sort", "path", "--json"]) == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [Path(r["path"]).relative_to(folder).as_posix() for r in rows] == [
        "b.nc",
        "b.partial-4242.nc",
        "sub/a.nc",
    ]
    assert [r["status"] for r in rows] == ["record", "partial", "record"]
    assert rows[2]["source"] == "run:virtual-quiet" and rows[2]["bench"] == "virtual-quiet"
    assert (rows[2]["points_done"], rows[2]["points_total"], rows[2]["complete"]) == (2, 2, True)
    assert main(["records", str(folder), "--sample", "virtual-quiet", "--json"]) == 0
    assert [Path(r["path"]).name for r in json.loads(capsys.readouterr().out)] == ["a.nc"]
    assert main(["records", str(folder), "--sort", "progress", "--protocol", "other-echo"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("c.nc")


@pytest.mark.parametrize("what", ["missing", "a-file"])
def test_records_of_what_is_not_a_folder_exits_2(tmp_path, capsys, what):
    path = tmp_path / "nowhere"
    if what == "a-file":
        path.write_text("x")
    assert main(["records", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"spin-echo: error: {path}: expected a folder to search for records"
