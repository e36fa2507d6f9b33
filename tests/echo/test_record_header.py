"""spin_echo.echo.record_header: one check of a record's header for every reader and the catalogue.

Each spoilt record (:mod:`tests.echo.bad_records`) is refused by ``read_record`` (every reader:
plot, compare, fit, info, watch) naming the file and the variable or attribute, and listed by
the catalogue as ``not a record`` with the same message; spoilt values, which only a reader of
the data sees, are refused by ``read_record``.
"""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest
import xarray as xr

from spin_echo.echo.catalogue import summarise_record
from spin_echo.echo.record import read_record, unit_of_kind
from spin_echo.echo.record_header import SWEEP_UNITS, RecordError, plain_attribute
from spin_echo.echo.record_info import check_record_file, describe_record, record_info
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.quantity import KINDS
from tests.echo.bad_records import HEADER, TAU_S, VALUES, attr, both, good, rename, spoil


def _without_file(message: str, path) -> str:
    """The message as the catalogue shows it: no file name, no 'not a spin-echo record: '."""
    text = message.removeprefix(str(path)).removeprefix(":").removeprefix(" ")
    return text.removeprefix("not a spin-echo record: ")


@pytest.mark.parametrize(("edit", "key", "phrase"), HEADER.values(), ids=HEADER.keys())
def test_a_spoilt_header_is_refused_alike_by_readers_and_the_catalogue(tmp_path, edit, key, phrase):
    path = spoil(good(tmp_path / "r.nc"), edit)
    with pytest.raises(InputError) as refused:
        read_record(path)
    message = str(refused.value)
    assert message.startswith((f"{path}: {key}", f"{path}:{key}")), message
    assert phrase in message and "\n" not in message
    summary = summarise_record(path)
    assert (summary.status, summary.reason) == ("not a record", _without_file(message, path))
    with pytest.raises(InputError, match=None) as checked:
        check_record_file(path)  # the header alone, before any data are read
    assert str(checked.value) == message


@pytest.mark.parametrize(("edit", "key", "phrase"), VALUES.values(), ids=VALUES.keys())
def test_a_spoilt_value_is_refused_by_every_reader(tmp_path, edit, key, phrase):
    path = spoil(good(tmp_path / "r.nc"), edit)
    with pytest.raises(RecordError) as refused:
        read_record(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: {key}") and phrase in message, message
    assert summarise_record(path).status == "record"  # the catalogue reads no data


@pytest.mark.parametrize("source", ["simulate", "run:lab"])
def test_valid_records_read_with_their_progress(tmp_path, source):
    path = good(tmp_path / "r.nc", source=source, points=5)
    info = record_info(read_record(path))
    assert (info.points_done, info.points_total, info.complete) == (5, 12, False)
    assert info.protocol_name == "hahn-echo" and info.created is not None
    assert (info.sample_name, info.bench_name) == (
        ("grains", None) if source == "simulate" else (None, "lab")
    )
    summary = summarise_record(path)
    assert (summary.status, summary.points_done, summary.points_total) == ("record", 5, 12)
    assert summary.complete is False and summary.created == info.created


@pytest.mark.parametrize(
    "edit",
    [attr("sample", None), attr("sample", ""), attr("bench", None), attr("created", None)],
    ids=["no-sample", "empty-sample", "no-bench", "no-created"],
)
def test_optional_attributes_may_be_absent(tmp_path, edit):
    """A run on a bench without a sample stores no ``sample``; hand-made records may lack more."""
    for source in ("simulate", "run:lab"):
        path = spoil(good(tmp_path / f"{source[:3]}.nc", source=source), edit)
        assert record_info(read_record(path)).complete
        assert summarise_record(path).status == "record"


def test_a_record_without_point_complete_counts_every_point_as_written(tmp_path):
    """Missing ``point_complete`` (a hand-made record) means every point, if complete = 1."""
    path = spoil(good(tmp_path / "r.nc"), rename("point_complete", "pc_x"))
    info = record_info(read_record(path))
    assert (info.points_done, info.points_total, info.complete) == (12, 12, True)
    summary = summarise_record(path)
    assert (summary.status, summary.points_done, summary.points_total) == ("record", 12, 12)
    spoil(path, attr("complete", 0))
    with pytest.raises(RecordError, match=r"point_complete: missing: a record with complete = 0"):
        read_record(path)
    assert summarise_record(path).status == "not a record"


def test_in_memory_datasets_are_checked_without_the_file_rules():
    """strict=False: no units or protocol required; point_complete and complete still agree."""
    data = xr.Dataset(
        {
            "signal_re": (("tau", "time"), np.ones((3, 4))),
            "signal_im": (("tau", "time"), np.zeros((3, 4))),
            "point_complete": ("tau", np.array([1, 1, 0], dtype=np.int8)),
        },
        coords={"tau": [1e-6, 2e-6, 3e-6], "time": np.arange(4.0)},
        attrs={"complete": 0},
    )
    info = describe_record(data, file="m.nc", strict=False)
    assert (info.points_done, info.points_total, info.complete) == (2, 3, False)
    with pytest.raises(RecordError, match=r"m.nc: complete = 1: expected 0: point_complete says"):
        describe_record(data.assign_attrs(complete=1), file="m.nc", strict=False)
    with pytest.raises(RecordError, match=r"m.nc: point_complete = 2: expected 0 or 1"):
        describe_record(data.assign(point_complete=("tau", [1, 2, 0])), file="m.nc", strict=False)


def test_sweep_units_are_the_units_the_writer_stores():
    assert {unit_of_kind(kind) for kind in KINDS} <= set(SWEEP_UNITS)
    assert unit_of_kind("no such kind") in SWEEP_UNITS


def test_a_huge_declared_record_is_not_a_record_for_the_catalogue_either(tmp_path):
    path = good(tmp_path / "r.nc")
    with netCDF4.Dataset(path, "a") as ds:  # declares 7.2 GiB, stores almost nothing
        ds.createDimension("big", 900_000_000)
        ds.createVariable("extra", "f8", ("big",), chunksizes=(1024,))
    with pytest.raises(RecordError, match=r"extra: declares \d+ MiB of data \(big = 900000000\)"):
        read_record(path)
    reason = summarise_record(path).reason
    assert reason.startswith("extra: declares") and "at most 512 MiB" in reason


def test_plain_attribute_unwraps_numpy_values():
    assert plain_attribute(np.int8(1)) == 1 and isinstance(plain_attribute(np.int8(1)), int)
    assert plain_attribute(np.array([2.5])) == 2.5
    assert plain_attribute(np.array([1.0, 2.0])) == [1.0, 2.0]


def test_two_spoils_report_the_layout_first(tmp_path):
    """A file that is not a record says so before any attribute is judged."""
    path = spoil(good(tmp_path / "r.nc"), both(rename("time", "zz"), attr("complete", 7)))
    with pytest.raises(RecordError, match=r"not a spin-echo record: missing time"):
        read_record(path)
    assert TAU_S.size == 12
