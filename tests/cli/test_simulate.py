"""End-to-end tests of ``spin-echo simulate``: the record, the plot, errors, interruption."""

import os
import signal
import subprocess
import sys
import time

import matplotlib.image
import numpy as np
import pytest
import xarray as xr
from threadpoolctl import threadpool_limits

from spin_echo.echo.cli.main import main
from spin_echo.sequences import combine_phase_cycle, compile_timeline, load_protocol
from spin_echo.simulator import load_sample, simulate

PACKETS = "300"


@pytest.fixture(scope="module")
def hahn_record(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    record, plot = out / "echo.nc", out / "echo.png"
    status = main(
        [
            "simulate",
            "hahn-echo",
            "--sample",
            "bare",
            "--packets",
            PACKETS,
            "--set",
            "window=3 us",
            "-o",
            str(record),
            "--plot",
            str(plot),
        ]
    )
    assert status == 0
    return record, plot


def test_record_has_the_documented_layout(hahn_record):
    record, _ = hahn_record
    with xr.open_dataset(record) as ds:
        protocol = load_protocol("hahn-echo")
        assert ds["signal_re"].dims == ("tau", "time")
        assert ds["signal_im"].dims == ("tau", "time")
        assert ds["mz"].dims == ("tau", "time")
        np.testing.assert_allclose(ds["tau"].values, protocol.sweep_axes[0].values, rtol=0)
        assert ds["tau"].attrs["units"] == "s"
        assert ds.attrs["complete"] == 1
        assert ds.attrs["source"] == "simulate"
        assert ds.attrs["seed"] == load_sample("bare").seed
        assert "hahn-echo" in ds.attrs["protocol"]
        assert "name: bare" in ds.attrs["sample"]
        assert ds["time"].values[0] == 0.0
        np.testing.assert_allclose(ds["time"].values[-1] + np.diff(ds["time"].values)[0], 3e-6)
        assert np.all(np.isfinite(ds["signal_re"].values))
        magnitude = np.hypot(ds["signal_re"].values, ds["signal_im"].values)
        assert magnitude.max() <= 1.0
        assert np.all(np.abs(ds["mz"].values) <= 1.0)


def test_record_holds_the_phase_cycled_simulation_of_each_point(hahn_record):
    record, _ = hahn_record
    protocol = load_protocol("hahn-echo").with_overrides({"window": "3 us"})
    sample = load_sample("bare")
    with xr.open_dataset(record) as ds:
        signal_rec = ds["signal_re"].values + 1j * ds["signal_im"].values
    # a point runs BLAS on one thread (same bits whichever executor ran it): do the same here
    with threadpool_limits(limits=1, user_api="blas"):
        for index, values in list(protocol.iter_points())[::5]:
            steps = [
                simulate(
                    compile_timeline(protocol.sequence(values, k)),
                    sample,
                    seed=sample.seed,
                    packets=int(PACKETS),
                ).signal
                for k in range(len(protocol.phase_cycle))
            ]
            expected = combine_phase_cycle(steps, protocol.phase_cycle)
            # the steps end alike, so the record's point combines them before their shared
            # segments (simulator/cycle.py): the same sums in another order, to rounding
            scale = np.abs(expected).max()
            np.testing.assert_allclose(signal_rec[index], expected, rtol=0, atol=4e-15 * scale)


def test_plot_is_an_image(hahn_record):
    _, plot = hahn_record
    image = matplotlib.image.imread(plot)
    assert image.shape[0] > 100 and image.shape[1] > 100


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["simulate", "hahn-echo", "--sample", "no-such-sample"], "no-such-sample"),
        (["simulate", "no-such-protocol", "--sample", "bare"], "no-such-protocol"),
        (["simulate", "hahn-echo", "--sample", "bare", "--set", "tau=3 MHz"], "tau"),
        (["simulate", "hahn-echo", "--sample", "bare", "--set", "nonsense"], "NAME=VALUE"),
    ],
    ids=["unknown-sample", "unknown-protocol", "wrong-dimension", "malformed-set"],
)
def test_bad_input_exits_2_with_one_line(argv, needle, capsys, tmp_path):
    status = main([*argv, "-o", str(tmp_path / "x.nc")])
    err = capsys.readouterr().err
    assert status == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("signum", "status", "said"),
    [
        (signal.SIGINT, 130, "spin-echo: interrupted"),
        (signal.SIGTERM, 143, "spin-echo: terminated"),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_or_sigterm_leaves_a_valid_incomplete_record(tmp_path, signum, status, said):
    # SIGTERM is handled as Ctrl-C is (before: exit 143 with the lock and working files left)
    record = tmp_path / "long.nc"
    env = {**os.environ, "HDF5_USE_FILE_LOCKING": "FALSE"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spin_echo.echo.cli.main",
            "simulate",
            "hahn-echo",
            "--sample",
            "ferritin",
            "--packets",
            "20000",
            "-o",
            str(record),
        ],
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 120
    written = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            with xr.open_dataset(record) as ds:
                written = int(ds["point_complete"].sum())
        except (OSError, ValueError, KeyError):
            continue
        if written >= 1:
            break
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err.decode()
    assert said in err.decode() and "--resume continues it" in err.decode()
    assert [p.name for p in tmp_path.iterdir()] == ["long.nc"]  # no lock, no working file
    with xr.open_dataset(record) as ds:
        done = ds["point_complete"].values.astype(bool)
        assert ds.attrs["complete"] == 0
        assert done.sum() >= written >= 1
        assert np.all(np.isfinite(ds["signal_re"].values[done]))
        assert np.all(np.isnan(ds["signal_re"].values[~done]))


def test_two_worker_processes_give_the_same_record_bit_for_bit(hahn_record, tmp_path):
    record, _ = hahn_record
    pooled = tmp_path / "pooled.nc"
    status = main(
        [
            "simulate",
            "hahn-echo",
            "--sample",
            "bare",
            "--packets",
            PACKETS,
            "--set",
            "window=3 us",
            "-o",
            str(pooled),
            "--workers",
            "2",
        ]
    )
    assert status == 0
    with xr.open_dataset(record) as a, xr.open_dataset(pooled) as b:
        for key in ("signal_re", "signal_im", "mz"):
            np.testing.assert_array_equal(a[key].values, b[key].values)


def test_multi_window_protocol_records_every_echo_of_the_train(tmp_path):
    record = tmp_path / "cpmg.nc"
    assert (
        main(["simulate", "cpmg", "--sample", "bare", "--packets", "200", "-o", str(record)]) == 0
    )
    protocol = load_protocol("cpmg")
    windows = compile_timeline(protocol.sequence(dict(next(protocol.iter_points())[1]))).detect
    with xr.open_dataset(record) as ds:
        assert ds.attrs["complete"] == 1
        expected = np.repeat(np.arange(len(windows)), [w.points for w in windows])
        np.testing.assert_array_equal(ds["window"].values, expected)
        assert len(windows) > 1
        assert np.all(np.diff(ds["time"].values) > 0)
        assert np.all(np.isfinite(ds["signal_re"].values))


def test_lab_frame_simulation_agrees_with_the_rotating_frame_to_order_rabi_over_carrier(
    hahn_record, tmp_path
):
    record, _ = hahn_record
    lab = tmp_path / "lab.nc"
    argv = ["simulate", "hahn-echo", "--sample", "bare", "--packets", PACKETS]
    assert main([*argv, "--set", "window=3 us", "--frame", "lab", "-o", str(lab)]) == 0
    with xr.open_dataset(record) as rot, xr.open_dataset(lab) as exact:
        assert exact.attrs["frame"] == "lab" and rot.attrs["frame"] == "rotating"
        a = rot["signal_re"].values + 1j * rot["signal_im"].values
        b = exact["signal_re"].values + 1j * exact["signal_im"].values
    # the rotating-wave error is of order Rabi/carrier = 0.5 MHz / 4 MHz; it is not zero
    difference = np.abs(a - b).max() / np.abs(b).max()
    assert 1e-3 < difference < 2 * 0.5 / 4


def test_a_dynamic_bath_with_spin_diffusion_is_refused_with_a_clear_message(capsys, tmp_path):
    # each frame carries each environment (tests/simulator/test_lab_environment.py), not these two
    sample = tmp_path / "dynamic-ferritin.yaml"
    text = load_sample("ferritin").to_yaml()
    sample.write_text(text.replace("lambda_prime: 0}", "lambda_prime: 0, dynamic: true}"))
    for frame in ("rotating", "lab"):
        argv = ["simulate", "hahn-echo", "--sample", str(sample), "--frame", frame]
        assert main([*argv, "-o", str(tmp_path / f"{frame}.nc")]) == 2
        err = capsys.readouterr().err
        assert "environment.nuclear.dynamic" in err and "spin diffusion" in err
        assert len([line for line in err.splitlines() if "warning" not in line]) == 1


def test_main_job_sample_decays_as_exp_minus_2tau_over_t2(tmp_path):
    """The README's main job: the Hahn echo of ``bare-t2`` decays as exp(-2 tau / T2).

    Independent closed form: Lindblad dephasing at 1/T2 acts on the coherence during both free
    periods (tau and tau - window/2 + t), the pulses and the refocused inhomogeneity do not depend
    on tau, so the integrated echo is A exp(-2 tau / T2). Tolerance 0.5 % (measured 0.06 % at
    4000 packets): dephasing during the finite pulses mixes in a small population path.
    """
    from spin_echo.echo.analysis.curves import echo_curve
    from spin_echo.echo.analysis.decay_fits import fit_echo_decay
    from spin_echo.echo.record import read_record

    record = tmp_path / "main.nc"
    argv = ["simulate", "hahn-echo", "--sample", "bare-t2", "--packets", "400", "-o", str(record)]
    assert main(argv) == 0
    curve = echo_curve(read_record(record))
    fit = fit_echo_decay(curve.x, curve.y)
    t2_s = load_sample("bare-t2").value("relaxation.T2")
    assert fit.value("T_M") == pytest.approx(t2_s, rel=0.005)
