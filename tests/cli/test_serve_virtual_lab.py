"""End to end: ``spin-echo serve-virtual-lab`` in its own process, ``spin-echo run`` against it."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from spin_echo.echo.cli.main import main
from spin_echo.echo.record import complex_signal, read_record
from tests.drivers.conftest import SHORT_ECHO, quiet_virtual_bench

pytestmark = pytest.mark.timeout(120)

BARE = Path(__file__).resolve().parents[2] / "simulator" / "samples" / "bare.yaml"


def read_until(lines: queue.Queue, marker: str, timeout_s: float) -> list[str]:
    """Lines of the server's stdout up to the one starting with ``marker`` (bounded in time)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line.rstrip("\n"))
        if line.startswith(marker):
            return seen
    raise AssertionError(f"no {marker!r} within {timeout_s} s; got {seen}")


def test_run_through_the_served_lab_agrees_with_the_virtual_bench(tmp_path):
    protocol = tmp_path / "short-echo.yaml"
    protocol.write_text(SHORT_ECHO)
    sample = tmp_path / "small.yaml"
    sample.write_text(BARE.read_text().replace("packets: 4000", "packets: 200"))
    bench = tmp_path / "lab.yaml"
    command = [
        sys.executable,
        "-m",
        "spin_echo.echo.cli.main",
        "serve-virtual-lab",
        "--sample",
        str(sample),
        "--full-scale-rabi",
        "2 MHz",
        "--noise",
        "1 uV",
        "--bench-file",
        str(bench),
        "--duration",
        "90 s",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [output.put(line) for line in proc.stdout])
    reader.start()
    try:
        lines = read_until(output, "serving", 60)
        assert lines[1].split()[1:] == ["keysight-33600a", lines[1].split()[-1]]
        assert lines[1].split()[-1].startswith("TCPIP::127.0.0.1::")
        assert lines[2].split()[-1].startswith("TCPIP::127.0.0.1::")
        assert f"spin-echo run PROTOCOL --bench {bench}" in lines[3]
        served = tmp_path / "served.nc"
        assert main(["run", str(protocol), "--bench", str(bench), "-o", str(served)]) == 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)  # stdout belongs to the reader thread: communicate() would race it
        err = proc.stderr.read()
        reader.join(timeout=10)
    assert proc.returncode == 0, err
    assert read_until(output, "stopped", 1) == ["stopped"]
    direct = tmp_path / "direct.nc"
    quiet = quiet_virtual_bench(tmp_path)
    args = ["run", str(protocol), "--bench", str(quiet), "--sample", str(sample), "-o", str(direct)]
    assert main(args) == 0
    lab = read_record(served)
    assert lab.attrs["source"] == "run:virtual-lab"
    assert lab.attrs["bench"] == bench.read_text()
    got = complex_signal(lab).values
    reference = complex_signal(read_record(direct)).values
    peak = np.abs(reference).max()
    # DAC bits, scope grid and quantisation, and 1 uV noise on each: measured 0.6 %
    np.testing.assert_allclose(got, reference, rtol=0, atol=0.015 * peak)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--amplitude", "3 MHz", "--amplitude"), ("--duration", "-", "--duration")],
    ids=["wrong-unit", "unreadable"],
)
def test_bad_quantities_exit_2(option, value, message, capsys):
    assert main(["serve-virtual-lab", "--sample", "bare", option, value]) == 2
    assert message in capsys.readouterr().err
