import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr

from spin_echo.echo.record import RecordError, RecordWriter, complex_signal, read_record

TIME_S = np.arange(8) * 1e-8
AXES = [
    ("tau", np.array([1e-6, 2e-6, 3e-6]), "time"),
    ("carrier", np.array([4e6, 5e6]), "frequency"),
]
ATTRS = {
    "protocol": "name: p\n",
    "sample": "name: s\n",
    "source": "simulate",
    "units": "1",
    "seed": 3,
}


def _signal(i: int, j: int) -> np.ndarray:
    return (i + 1) * np.exp(1j * (j + 1) * TIME_S * 1e7)


def test_complete_record_reads_back_with_xarray(tmp_path):
    path = tmp_path / "r.nc"
    with RecordWriter(path, axes=AXES, time_s=TIME_S, attrs=ATTRS, with_mz=True) as rec:
        for i in range(3):
            for j in range(2):
                rec.write_point((i, j), _signal(i, j), mz=np.full(8, 0.1 * i))
    ds = xr.open_dataset(path)
    assert ds["signal_re"].dims == ("tau", "carrier", "time")
    assert ds.attrs["complete"] == 1
    assert ds.attrs["source"] == "simulate"
    assert ds.attrs["seed"] == 3
    assert ds["tau"].attrs["units"] == "s"
    assert ds["carrier"].attrs["units"] == "Hz"
    assert ds["time"].attrs["units"] == "s"
    np.testing.assert_array_equal(ds["time"].values, TIME_S)
    np.testing.assert_array_equal(complex_signal(ds).values[2, 1], _signal(2, 1))
    np.testing.assert_array_equal(ds["mz"].values[1, 0], np.full(8, 0.1))
    assert int(ds["point_complete"].sum()) == 6
    for key in ("spin_echo_version", "created", "protocol", "sample", "units"):
        assert key in ds.attrs
    ds.close()


def test_interruption_keeps_finished_points_and_marks_incomplete(tmp_path):
    path = tmp_path / "r.nc"
    with (
        pytest.raises(KeyboardInterrupt),
        RecordWriter(path, axes=AXES, time_s=TIME_S, attrs=ATTRS) as rec,
    ):
        rec.write_point((0, 0), _signal(0, 0))
        rec.write_point((0, 1), _signal(0, 1))
        raise KeyboardInterrupt
    ds = read_record(path)
    assert ds.attrs["complete"] == 0
    np.testing.assert_array_equal(complex_signal(ds).values[0, 1], _signal(0, 1))
    assert np.isnan(ds["signal_re"].values[1:]).all()
    assert ds["point_complete"].values.tolist() == [[1, 1], [0, 0], [0, 0]]


def test_hard_crash_leaves_a_valid_file_with_finished_points(tmp_path):
    path = tmp_path / "crash.nc"
    script = textwrap.dedent(
        f"""
        import os
        import time
        import numpy as np
        from spin_echo.echo.record import RecordWriter
        rec = RecordWriter({str(path)!r}, axes=[("tau", np.arange(5.0), "time")],
                           time_s=np.arange(4.0),
                           attrs={{"source": "simulate", "protocol": "name: p"}})
        for k, value in enumerate((1j, 2)):
            # a point ending after the throttle's due time (9x the last snapshot's cost after
            # it) is published at once
            time.sleep(max(0.0, rec.live.due_s - time.monotonic()) + 0.01)
            rec.write_point((k,), np.ones(4) * value)
        os._exit(9)  # no cleanup at all, as in a crash
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == 9, proc.stderr.decode()
    ds = read_record(path)
    assert ds.attrs["complete"] == 0
    np.testing.assert_array_equal(complex_signal(ds).values[:2], [[1j] * 4, [2] * 4])
    assert np.isnan(ds["signal_re"].values[2:]).all()


def test_record_without_sweep_axes(tmp_path):
    path = tmp_path / "r.nc"
    with RecordWriter(path, axes=[], time_s=TIME_S, attrs=ATTRS) as rec:
        rec.write_point((), _signal(0, 0))
    ds = read_record(path)
    assert ds["signal_re"].dims == ("time",)
    assert ds.attrs["complete"] == 1
    np.testing.assert_array_equal(complex_signal(ds).values, _signal(0, 0))


def test_partial_record_closed_normally_is_incomplete(tmp_path):
    path = tmp_path / "r.nc"
    with RecordWriter(path, axes=AXES, time_s=TIME_S, attrs=ATTRS) as rec:
        rec.write_point((0, 0), _signal(0, 0))
    assert read_record(path).attrs["complete"] == 0


@pytest.mark.parametrize(
    "axes",
    [[("time", np.arange(2.0), "time")], [("a", np.arange(2.0), "time")] * 2],
    ids=["axis-named-time", "duplicate-axis"],
)
def test_bad_axis_names_are_refused(tmp_path, axes):
    with pytest.raises(RecordError, match="distinct names"):
        RecordWriter(tmp_path / "r.nc", axes=axes, time_s=TIME_S, attrs=ATTRS)


def test_read_record_errors_name_the_file(tmp_path):
    with pytest.raises(RecordError, match="not found"):
        read_record(tmp_path / "missing.nc")
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(RecordError, match=r"junk\.nc"):
        read_record(junk)
    other = tmp_path / "other.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(other)
    with pytest.raises(RecordError, match="missing signal_im, signal_re, time"):
        read_record(other)


def test_record_time_axis_lays_windows_end_to_end():
    from spin_echo.echo.record import record_time_axis
    from spin_echo.sequences.timeline import DetectWindow

    windows = [DetectWindow(5e-6, 2e-6, 4), DetectWindow(11e-6, 1e-6, 2)]
    time_s, window = record_time_axis(windows)
    np.testing.assert_allclose(time_s, [0, 0.5e-6, 1e-6, 1.5e-6, 2e-6, 2.5e-6], rtol=0, atol=1e-21)
    assert window.tolist() == [0, 0, 0, 0, 1, 1]


def test_standard_errors_are_stored_per_quadrature_when_asked(tmp_path):
    path = tmp_path / "sem.nc"
    with RecordWriter(path, axes=AXES[:1], time_s=TIME_S, attrs=ATTRS, with_sem=True) as rec:
        for i in range(3):
            rec.write_point((i,), _signal(i, 0), sem=(i + 1) * (0.5 + 0.25j) * np.ones(8))
    ds = read_record(path)
    assert ds["signal_sem_re"].dims == ds["signal_re"].dims
    np.testing.assert_array_equal(ds["signal_sem_re"].values[2], np.full(8, 1.5))
    np.testing.assert_array_equal(ds["signal_sem_im"].values[1], np.full(8, 0.5))
    assert "shot-to-shot" in ds["signal_sem_im"].attrs["long_name"]


def test_standard_errors_are_absent_unless_asked(tmp_path):
    path = tmp_path / "nosem.nc"
    with RecordWriter(path, axes=AXES[:1], time_s=TIME_S, attrs=ATTRS) as rec:
        for i in range(3):
            rec.write_point((i,), _signal(i, 0), sem=np.ones(8))
    ds = read_record(path)
    assert "signal_sem_re" not in ds and "signal_sem_im" not in ds


def _fill(rec: RecordWriter, points: int) -> None:
    for i in range(points):
        rec.write_point((i, 0), _signal(i, 0))


def test_an_existing_file_is_refused_untouched(tmp_path):
    from spin_echo.echo.output import OutputPathError

    path = tmp_path / "r.nc"
    path.write_bytes(b"a finished measurement")
    with pytest.raises(OutputPathError, match="exists"):
        RecordWriter(path, axes=AXES, time_s=TIME_S, attrs=ATTRS)
    assert path.read_bytes() == b"a finished measurement"
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]


def test_a_second_writer_in_the_same_process_is_refused(tmp_path):
    from spin_echo.echo.output_lock import OutputBusyError

    path = tmp_path / "r.nc"
    with RecordWriter(path, axes=AXES, time_s=TIME_S, attrs=ATTRS) as rec:
        with pytest.raises(OutputBusyError):
            RecordWriter(path, axes=AXES, time_s=TIME_S, attrs=ATTRS, overwrite=True)
        rec.write_point((0, 0), _signal(0, 0))
    assert int(read_record(path)["point_complete"].sum()) == 1


def test_the_record_has_its_full_size_before_the_first_point(tmp_path):
    path = tmp_path / "r.nc"
    with RecordWriter(path, axes=AXES, time_s=TIME_S, attrs=ATTRS, with_mz=True) as rec:
        size = path.stat().st_size
        assert size > 3 * 6 * 8 * 8  # every data variable's bytes are allocated now
        for i in range(3):
            for j in range(2):
                rec.write_point((i, j), _signal(i, j), mz=np.ones(8))
                assert path.stat().st_size == size
    assert path.stat().st_size == size
    assert read_record(path).attrs["complete"] == 1


def test_overwrite_replaces_the_old_record_only_when_complete(tmp_path):
    path = tmp_path / "r.nc"
    path.write_bytes(b"old record")
    with RecordWriter(path, axes=AXES, time_s=TIME_S, attrs=ATTRS, overwrite=True) as rec:
        _fill(rec, 3)
        rec.write_point((0, 1), _signal(0, 1))
        rec.write_point((1, 1), _signal(1, 1))
        assert path.read_bytes() == b"old record"
        rec.write_point((2, 1), _signal(2, 1))
        assert path.read_bytes() == b"old record"  # complete, but not yet closed
    ds = read_record(path)
    assert ds.attrs["complete"] == 1
    np.testing.assert_array_equal(complex_signal(ds).values[2, 1], _signal(2, 1))
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]


def test_an_interrupted_overwrite_keeps_both_records(tmp_path, caplog):
    path = tmp_path / "r.nc"
    path.write_bytes(b"old record")
    with (
        pytest.raises(KeyboardInterrupt),
        RecordWriter(path, axes=AXES, time_s=TIME_S, attrs=ATTRS, overwrite=True) as rec,
    ):
        _fill(rec, 2)
        raise KeyboardInterrupt
    assert path.read_bytes() == b"old record"
    (partial,) = tmp_path.glob("r.partial-*.nc")
    ds = read_record(partial)
    assert ds.attrs["complete"] == 0 and int(ds["point_complete"].sum()) == 2
    np.testing.assert_array_equal(complex_signal(ds).values[1, 0], _signal(1, 0))
    assert f"{path} is unchanged; the new record (2 of 6 points) is {partial}" in caplog.text


def test_an_overwrite_that_wrote_nothing_leaves_nothing(tmp_path):
    path = tmp_path / "r.nc"
    path.write_bytes(b"old record")
    with (
        pytest.raises(RuntimeError),
        RecordWriter(path, axes=AXES, time_s=TIME_S, attrs=ATTRS, overwrite=True),
    ):
        raise RuntimeError("the first point failed")
    assert path.read_bytes() == b"old record"
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]
