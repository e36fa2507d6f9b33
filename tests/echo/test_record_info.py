"""spin_echo.echo.record_info: one checked description per record, every bad field named."""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest
import xarray as xr

from spin_echo.echo.analysis.compare import CompareError, compare_records
from spin_echo.echo.record import RecordWriter, read_record
from spin_echo.echo.record_info import (
    MAX_RECORD_BYTES,
    RecordError,
    describe_record,
    record_info,
)
from spin_echo.sequences import Protocol

PROTOCOL = """name: echo
parameters: {carrier: 4 MHz, tau: 1 us, window: 400 ns}
sequence:
  - pulse: {angle: pi/2, duration: 50 ns}
  - delay: tau
  - pulse: {angle: 180 deg, duration: 100 ns}
  - delay: tau - window/2
  - detect: {duration: window, points: 16}
sweep:
  tau: {values: [1 us, 2 us, 3 us]}
full_scale_rabi: 20 MHz
"""
TIME = np.arange(16) * 25e-9


def write(path, *, protocol=PROTOCOL, **attrs):
    taus = next(axis.values for axis in Protocol.from_yaml(PROTOCOL).sweep_axes)
    base = {"protocol": protocol, "source": "run:lab", "units": "V", "seed": 3, "shots": 4}
    with RecordWriter(
        path, axes=[("tau", taus, "time")], time_s=TIME, attrs={**base, **attrs}
    ) as writer:
        for i in range(3):
            writer.write_point((i,), np.exp(1j * TIME * 1e7) * (i + 1))
    return path


def test_a_record_is_described_once_with_typed_values(tmp_path):
    data = read_record(write(tmp_path / "r.nc", receiver_bandwidth_hz=2e6, frame="lab"))
    info = record_info(data)
    assert record_info(data) is info  # the description made at read time
    assert info.protocol_name == "echo" and info.source == "run:lab" and info.measured
    assert info.structure == ("pulse", "delay", "pulse", "delay", "detect")
    assert info.pulse_angles == ("90 deg", "180 deg")
    assert (info.seed, info.shots, info.receiver_bandwidth_hz) == (3, 4, 2e6)
    assert info.complete and info.frame == "lab" and info.time_points == 16
    assert info.sweep[0].name == "tau" and info.sweep[0].units == "s"
    np.testing.assert_allclose(info.sweep[0].values, [1e-6, 2e-6, 3e-6], rtol=1e-15)
    assert info.protocol.carrier_hz == 4e6


def _set(name, value):
    def spoil(path):
        with netCDF4.Dataset(path, "a") as ds:
            if value is None:
                ds.delncattr(name)
            else:
                ds.setncattr(name, value)

    return spoil


BAD = {
    "complete-text": (_set("complete", "yes"), "complete", "whole number"),
    "complete-two": (_set("complete", np.int8(2)), "complete", "must be 0 or 1"),
    "complete-missing": (_set("complete", None), "complete", "missing attribute"),
    "seed-fraction": (_set("seed", 1.5), "seed", "whole number"),
    "shots-zero": (_set("shots", np.int32(0)), "shots", ">= 1"),
    "bandwidth-nan": (_set("receiver_bandwidth_hz", np.nan), "receiver_bandwidth_hz", "finite"),
    "frame": (_set("frame", "sideways"), "frame", "rotating, lab"),
    "source-number": (_set("source", np.int32(1)), "source", "must be text"),
    "protocol-yaml": (_set("protocol", "a: [b\n"), "protocol", "YAML syntax"),
    "bench-yaml": (_set("bench", "a: [b\n"), "bench", "YAML syntax"),
    "sweep-values": (
        _set("protocol", PROTOCOL.replace("3 us]", "4 us]")),
        "tau",
        "not the stored protocol's sweep",
    ),
    "detect-points": (
        _set("protocol", PROTOCOL.replace("points: 16", "points: 8")),
        "time",
        "detects 8",
    ),
}


@pytest.mark.parametrize(("spoil", "key", "why"), BAD.values(), ids=BAD.keys())
def test_a_bad_field_names_the_file_and_the_field(tmp_path, spoil, key, why):
    path = write(tmp_path / "r.nc")
    spoil(path)
    with pytest.raises(RecordError, match=why) as info:
        read_record(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}") or message.startswith(f"{path}:{key}:")


def test_time_must_increase_and_be_numeric():
    data = xr.Dataset(
        {"signal_re": ("time", np.ones(4)), "signal_im": ("time", np.ones(4))},
        coords={"time": [0.0, 2.0, 1.0, 3.0]},
    )
    with pytest.raises(RecordError, match="strictly increasing"):
        describe_record(data, file="m.nc", strict=False)
    data = data.assign_coords(time=["a", "b", "c", "d"])
    with pytest.raises(RecordError, match=r"m.nc: time: must hold real numbers"):
        describe_record(data, file="m.nc", strict=False)


def test_a_declared_size_beyond_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.nc"
    points = MAX_RECORD_BYTES // 8 + 1
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("time", points)
        for name in ("time", "signal_re", "signal_im"):
            ds.createVariable(name, "f8", ("time",), chunksizes=(1024,))
    assert path.stat().st_size < 100_000
    with pytest.raises(RecordError, match=rf"time = {points}.*at most 512 MiB") as info:
        read_record(path)
    assert info.value.file == str(path)


def test_compare_refuses_pulses_of_other_angles(tmp_path):
    hahn = read_record(write(tmp_path / "hahn.nc"))
    inverted = PROTOCOL.replace("angle: pi/2", "angle: PI").replace(
        "angle: 180 deg", "angle: 90 deg"
    )
    inversion = read_record(write(tmp_path / "ir.nc", protocol=inverted.replace("PI", "pi")))
    with pytest.raises(CompareError, match=r"pulse 1 is 180 deg in a, 90 deg in b") as info:
        compare_records(inversion, hahn, names=("a", "b"))
    assert info.value.key == "protocol"
    assert compare_records(hahn, hahn).scale == pytest.approx(1.0, abs=1e-12)
