"""``--resume`` on the emulated lab (``serve-virtual-lab``) ends as an uninterrupted run (issue 17).

The lab's scope noise is keyed by what the lab can know - the seed, the digest of the burst
the AWG plays and the triggers since the AWG was armed - not by what it played before, so a
``spin-echo run`` killed after two points and resumed against the same server records the
same bits (signals and standard errors) as an uninterrupted run against another server with
the same seed. The noise itself is still white with the rms of ``--noise`` per sample.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spin_echo.drivers import load_bench, open_bench
from spin_echo.drivers.emulated.lab import VirtualLab
from spin_echo.drivers.virtual import FrontEnd
from spin_echo.echo.cli.main import main
from spin_echo.sequences import compile_waveform, load_protocol
from tests.cli.test_resume import _kill_after, assert_same_record, finished
from tests.cli.test_serve_virtual_lab import BARE, read_until
from tests.drivers.conftest import SHORT_ECHO, small_sample

pytestmark = pytest.mark.timeout(120)

#: Five sweep points of two phase steps and two shots each: a run of a few seconds.
FIVE_POINTS = SHORT_ECHO.replace("[1.5 us, 2 us]", "[1.5 us, 2 us, 2.5 us, 3 us, 3.5 us]")


@contextmanager
def served_lab(folder: Path, sample: Path, seed: int) -> Iterator[Path]:
    """Run ``spin-echo serve-virtual-lab`` in its own process; yield its bench file."""
    folder.mkdir()
    bench = folder / "lab.yaml"
    command = [
        *(sys.executable, "-m", "spin_echo.echo.cli.main", "serve-virtual-lab"),
        *("--sample", str(sample), "--full-scale-rabi", "2 MHz", "--noise", "20 mV"),
        *("--seed", str(seed), "--bench-file", str(bench), "--duration", "100 s"),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout])
    reader.start()
    try:
        read_until(lines, "serving", 60)
        yield bench
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        err = proc.stderr.read()
        reader.join(timeout=10)
    assert proc.returncode == 0, err


def test_a_run_killed_on_the_emulated_lab_resumes_to_the_uninterrupted_record(tmp_path):
    protocol, sample = tmp_path / "five.yaml", tmp_path / "small.yaml"
    protocol.write_text(FIVE_POINTS)
    sample.write_text(BARE.read_text().replace("packets: 4000", "packets: 200"))
    reference, record = tmp_path / "reference.nc", tmp_path / "rec.nc"
    with served_lab(tmp_path / "first", sample, seed=3) as bench:
        assert main(["run", str(protocol), "--bench", str(bench), "-o", str(reference)]) == 0
    with served_lab(tmp_path / "second", sample, seed=3) as bench:
        run = ["run", str(protocol), "--bench", str(bench), "-o", str(record)]
        _kill_after(run, record, 2)
        assert 2 <= finished(record) < 5
        assert main([*run, "--resume"]) == 0
    assert_same_record(record, reference)
    with xr.open_dataset(reference) as ds:
        assert ds.attrs["shots"] == 2
        assert ds["signal_sem_re"].shape == ds["signal_re"].shape == (5, 64)
        # the noise is in the record (so that equal bits mean equal noise): measured 1.1e-3
        sem = np.hypot(ds["signal_sem_re"].values, ds["signal_sem_im"].values)
        assert 2e-4 < float(np.median(sem)) < 1e-2


@pytest.mark.parametrize(
    ("awg", "scope"),
    [("keysight-33600a", "keysight-infiniivision"), ("tektronix-awg5200", "tektronix-mso")],
    ids=["keysight", "tektronix"],
)
def test_the_labs_noise_is_white_with_the_noise_rms_and_keyed_by_burst_and_shot(
    tmp_path, awg, scope
):
    """Traces over TCP from a lab with 20 mV noise minus the same lab's without noise."""
    protocol = tmp_path / "short.yaml"
    protocol.write_text(SHORT_ECHO)
    loaded, sample = load_protocol(protocol), small_sample()
    shots, noise_v = 12, 0.02
    traces = {}
    for noise in (0.0, noise_v):
        front = FrontEnd(pickup_v=1.0, bandwidth_hz=200e6, noise_v=noise, seed=3)
        lab = VirtualLab(sample, awg=awg, scope=scope, full_scale_rabi_hz=2e6, front_end=front)
        with lab:
            bench_path = tmp_path / f"lab-{noise}.yaml"
            bench_path.write_text(lab.bench_yaml(points=4000, range_v=4.0))
            with open_bench(load_bench(bench_path)) as bench:
                got = []
                for tau_s, step in ((1.5e-6, 0), (1.5e-6, 1), (2e-6, 0), (1.5e-6, 0)):
                    sequence = loaded.sequence({"tau": tau_s}, step)
                    out = bench.awg
                    waveform = compile_waveform(sequence, out.constraints(), out.sample_rate_hz)
                    out.upload(waveform)
                    out.arm()
                    for _ in range(shots):
                        bench.detector.arm(0.0, 6e-6)
                        out.trigger()
                        got.append(bench.detector.acquire().values)
        traces[noise] = np.array(got).reshape(4, shots, -1)
    residual = traces[noise_v] - traces[0.0]
    n = residual[:3].size
    # rms per sample: relative scatter 1/sqrt(2 n) = 0.4 % here (16-bit codes of 62.5 uV add
    # 3e-5 of the variance); 4 sigma
    assert np.sqrt(np.mean(residual[:3] ** 2)) == pytest.approx(noise_v, rel=4 / np.sqrt(2 * n))
    flat = residual[:3].reshape(3 * shots, -1)
    corr = np.corrcoef(flat)[np.triu_indices(3 * shots, 1)]  # shots, steps, points apart
    assert np.max(np.abs(corr)) < 5 / np.sqrt(flat.shape[1])
    # the same burst after a new arm: the same shots' noise, whatever was played in between
    np.testing.assert_array_equal(traces[noise_v][3], traces[noise_v][0])
