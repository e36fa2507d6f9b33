"""End-to-end tests of ``spin-echo run``: virtual bench, VISA path, dry run, faults, exit codes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spin_echo.drivers.emulated.lab import VirtualLab
from spin_echo.drivers.emulated.server import Fault
from spin_echo.drivers.virtual import FrontEnd
from spin_echo.echo.cli.main import main
from spin_echo.echo.record import complex_signal, read_record
from spin_echo.sequences import combine_phase_cycle, compile_timeline, load_protocol
from spin_echo.simulator import load_sample, propagate
from tests.drivers.conftest import SHORT_ECHO, quiet_virtual_bench, small_sample
from tests.images import assert_plot_image

pytestmark = pytest.mark.timeout(120)

BARE = Path(__file__).resolve().parents[2] / "simulator" / "samples" / "bare.yaml"


@pytest.fixture
def files(tmp_path):
    protocol = tmp_path / "short-echo.yaml"
    protocol.write_text(SHORT_ECHO)
    sample = tmp_path / "small.yaml"
    sample.write_text(BARE.read_text().replace("packets: 4000", "packets: 200"))
    return protocol, sample


def test_virtual_run_writes_a_complete_record_and_plot(tmp_path, files):
    protocol, sample = files
    record, plot = tmp_path / "run.nc", tmp_path / "run.png"
    bench = quiet_virtual_bench(tmp_path)
    args = ["run", str(protocol), "--bench", str(bench), "--sample", str(sample)]
    assert main([*args, "-o", str(record), "--plot", str(plot)]) == 0
    assert_plot_image(plot)
    with xr.open_dataset(record) as ds:
        assert ds["signal_re"].dims == ("tau", "time")
        assert ds.attrs["source"] == "run:virtual-quiet"
        assert ds.attrs["bench"] == bench.read_text()
        assert ds.attrs["sample"].startswith("# A sample without environment")
        assert ds.attrs["protocol"].startswith("name: short-echo")
        assert ds.attrs["units"].startswith("normalised magnetisation")
        assert ds.attrs["complete"] == 1
        assert ds.attrs["seed"] == 1
        np.testing.assert_allclose(ds["time"], np.arange(64) * 2e-6 / 64, rtol=1e-12)
    got = complex_signal(read_record(record)).values
    # independent reference: the lab-frame propagator (the compiler samples the drive at the
    # middle of each held sample, so the AWG adds no delay); the 200 MHz front end adds
    # 1.1 deg, the noise 1e-6
    p, s = load_protocol(protocol), load_sample(sample)
    reference = np.array(
        [
            combine_phase_cycle(
                [
                    propagate(compile_timeline(p.sequence(v, k)), s.ensemble(), frame="lab").signal
                    for k in range(2)
                ],
                p.phase_cycle,
            )
            for _, v in p.iter_points()
        ]
    )
    peak = np.abs(reference).max()
    np.testing.assert_allclose(got, reference, rtol=0, atol=0.02 * peak)
    # the same seed gives the same record bit for bit; another seed other noise
    again = tmp_path / "again.nc"
    assert main([*args, "-o", str(again)]) == 0
    np.testing.assert_array_equal(complex_signal(read_record(again)).values, got)
    other = tmp_path / "other.nc"
    assert main([*args, "-o", str(other), "--seed", "7"]) == 0
    difference = complex_signal(read_record(other)).values - got
    assert 0 < np.abs(difference).max() < 1e-4


def test_dry_run_prints_the_scpi_and_contacts_nothing(tmp_path, files, capsys):
    protocol, _ = files
    bench = tmp_path / "lab.yaml"
    bench.write_text(
        textwrap.dedent(
            """\
            name: lab-dry
            awg: {driver: keysight-33600a, resource: "TCPIP::192.0.2.1::5025::SOCKET",
                  sample_rate: 250 MHz, amplitude: 1 V}
            detector: {driver: keysight-infiniivision, resource: "TCPIP::192.0.2.2::5025::SOCKET"}
            """
        )
    )
    assert main(["run", str(protocol), "--bench", str(bench), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "awg> *IDN?"
    uploads = [line for line in lines if line.startswith("awg> SOUR1:DATA:ARB SPINECHO,#")]
    assert len(uploads) == 4  # 2 sweep points x 2 phase steps
    assert lines.count("awg> *TRG") == 8  # x 2 shots
    assert lines.count("detector> :WAV:DATA?") == 8
    assert not list(tmp_path.glob("*.nc"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bench", "virtual", "--dry-run", "--sample", "bare"], "the virtual bench sends none"),
        (["--bench", "virtual"], "needs a sample"),
        (["--bench", "no-such-bench"], "no such bench file"),
    ],
    ids=["dry-run-virtual", "no-sample", "unknown-bench"],
)
def test_bad_input_exits_2(files, capsys, args, message):
    protocol, _ = files
    assert main(["run", str(protocol), *args]) == 2
    assert message in capsys.readouterr().err


def test_bench_file_error_exits_2_naming_file_line_key(tmp_path, files, capsys):
    protocol, sample = files
    bench = tmp_path / "bad.yaml"
    bench.write_text(
        "name: bad\nawg:\n  driver: virtual-awg\n  amplitude: 3 V\n  limits: {amplitude_vpp: 2}\n"
        "detector: {driver: virtual-detector}\n"
    )
    assert main(["run", str(protocol), "--bench", str(bench), "--sample", str(sample)]) == 2
    err = capsys.readouterr().err
    assert f"{bench}:4: awg.amplitude = '3 V': must be between 0.001 and 2 Vpp" in err


FAULTS = {
    "timeout-mid-acquisition": (
        "scope",
        Fault(":WAVeform:DATA?", "hang", after=4),
        "no reply within",
    ),
    "instrument-error": (
        "awg",
        Fault("[SOURce#:]VOLTage", "error", after=2, error=(-222, "Data out of range")),
        '-222, "Data out of range"',
    ),
    "dropped-connection": (
        "scope",
        Fault(":SINGle", "drop", after=4),
        "detector (keysight-infiniivision",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_faults_exit_1_and_keep_finished_points(tmp_path, files, capsys, fault):
    protocol, _ = files
    where, injected, message = FAULTS[fault]
    front = FrontEnd(pickup_v=1.0, bandwidth_hz=200e6, noise_v=0.0, seed=1)
    record = tmp_path / "fault.nc"
    with VirtualLab(small_sample(50), full_scale_rabi_hz=2e6, front_end=front) as lab:
        bench = tmp_path / "lab.yaml"
        # cold, the first simulated acquisition takes about a second: 3 s leaves a margin
        bench.write_text(lab.bench_yaml(timeout_s=3.0))
        (lab.scope if where == "scope" else lab.awg).faults.append(injected)
        status = main(["run", str(protocol), "--bench", str(bench), "-o", str(record)])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("spin-echo: failed: ")
    assert message in err
    data = read_record(record)
    assert data.attrs["complete"] == 0
    signal = complex_signal(data).values
    assert np.all(np.isfinite(signal[0]))  # the first sweep point was finished and kept
    assert np.all(np.isnan(signal[1]))


def test_waveform_beyond_the_awg_memory_is_refused_before_connecting(tmp_path, files, capsys):
    protocol, _ = files
    long = tmp_path / "long-echo.yaml"
    long.write_text(
        protocol.read_text()
        .replace("values: [1.5 us, 2 us]", "values: [1.5 us, 3 ms]")
        .replace("repetition_time: 100 us", "repetition_time: 10 ms")
    )
    front = FrontEnd(pickup_v=1.0, bandwidth_hz=200e6, noise_v=0.0, seed=1)
    record = tmp_path / "long.nc"
    with VirtualLab(small_sample(50), awg="keysight-33500b", front_end=front) as lab:
        bench = tmp_path / "lab.yaml"
        bench.write_text(lab.bench_yaml())
        status = main(["run", str(long), "--bench", str(bench), "-o", str(record)])
        received = list(lab.awg.log)
    assert status == 2  # an input error, found by compiling for the model before connecting
    err = capsys.readouterr().err
    assert f"{bench}: awg: protocol 'short-echo' at tau = 0.003" in err
    assert "does not fit this AWG (keysight-33500b" in err and "at most 1000000" in err
    assert received == [] and not record.exists()
