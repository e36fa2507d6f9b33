"""Bad input over bench files, records, instruments and ``serve-virtual-lab`` options.

Every case runs ``spin-echo`` in a subprocess bounded in time and address space and asserts:
the expected exit status (2 for bad input, 1 for an instrument that fails at run time), no
Python traceback, the location in the one-line message (the file and the key or variable, or
the instrument and the command), and no file created or modified in the working folder.

Records are crafted from one simulated record (built once per session) by rewriting a variable
or an attribute with netCDF4/xarray; bench files are written from a valid VISA bench with one
key spoiled; misbehaving instruments are real TCP servers on 127.0.0.1 in this process.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

pytestmark = pytest.mark.timeout(600)

#: Wall-clock bound of one command, seconds (a hang is a failure, not a slow pass).
TIME_LIMIT_S = 60.0
#: Address-space bound of one command, bytes: a record that would exhaust memory fails here.
MEMORY_LIMIT_BYTES = 3 * 1024**3
#: VISA timeout written into the bench files of the instrument cases, seconds.
VISA_TIMEOUT_S = 1.0


# -- harness ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one bounded command did."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def _limit_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def spin_echo(args: list[str], cwd: Path, *, time_limit_s: float = TIME_LIMIT_S) -> Outcome:
    """Run ``spin-echo ARGS`` in ``cwd`` with the time and memory bounds."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
    start = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "spin_echo.echo.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limit_memory,
    )
    try:
        out, err = process.communicate(timeout=time_limit_s)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        code = None
    return Outcome(code, out, err, time.monotonic() - start)


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> content digest of every file under ``folder``."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def classify(outcome: Outcome, expected: int, needles: tuple[str, ...]) -> str:
    """One word for what happened: ok, hang, memory, traceback, exit0, exitN, unlocated."""
    text = outcome.stderr + outcome.stdout
    if outcome.timed_out:
        return "hang"
    if "MemoryError" in text or outcome.returncode in (-9, 137):
        return "memory"
    if "Traceback" in text:
        return "traceback"
    if outcome.returncode == 0:
        return "exit0"
    if outcome.returncode != expected:
        return f"exit{outcome.returncode}"
    if not all(needle in text for needle in needles):
        return "unlocated"
    return "ok"


@dataclass(frozen=True)
class Case:
    """A bad input: files to write, the command, the status and what the message must name."""

    id: str
    args: list[str]
    needles: tuple[str, ...]
    files: dict[str, str] = field(default_factory=dict)
    record: Callable[[Path], None] | None = None
    expected: int = 2
    server: str | None = None


def check(case: Case, folder: Path) -> None:
    """Run one case in ``folder`` and assert everything the module docstring promises."""
    before = snapshot(folder)
    outcome = spin_echo(case.args, folder)
    after = snapshot(folder)
    kind = classify(outcome, case.expected, case.needles)
    message = (outcome.stderr + outcome.stdout).strip()
    assert kind == "ok", f"outcome={kind} ({outcome.seconds:.1f} s): {message[-800:]}"
    assert len(outcome.stderr.strip().splitlines()) == 1, message
    assert after == before, "a file was created or modified"
    assert outcome.seconds < TIME_LIMIT_S
    if case.expected == 1:  # the instrument must give up at its 1 s timeout, not later
        assert outcome.seconds < 15 * VISA_TIMEOUT_S


# -- instruments that misbehave (real sockets) -----------------------------------------------


class Misbehaving:
    """A TCP server on 127.0.0.1 that answers every connection with one kind of bad behaviour.

    ``stream``: endless bytes with no terminator; ``silent``: reads, never answers;
    ``drop``: closes at once; ``wrong-idn``: answers every query with another model's name.
    """

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def resource(self) -> str:
        return f"TCPIP::127.0.0.1::{self.port}::SOCKET"

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.1)
            if self.behaviour == "drop":
                return
            garbage = b"x" * 65536
            while not self.stop.is_set():
                try:
                    if self.behaviour == "stream":
                        conn.sendall(garbage)
                        continue
                    data = conn.recv(4096)
                    if not data:
                        return
                    if self.behaviour == "wrong-idn":
                        conn.sendall(b"ACME,Toaster 3000,1,1.0\n" * data.count(b"?"))
                except TimeoutError:
                    continue
                except OSError:
                    return

    def __enter__(self) -> Misbehaving:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- bench files -----------------------------------------------------------------------------

AWG = (
    'awg: {driver: keysight-33600a, resource: "TCPIP::127.0.0.1::5025::SOCKET", '
    "sample_rate: 250 MHz, amplitude: 1 V, timeout: 1 s}\n"
)
SCOPE = (
    'detector: {driver: keysight-infiniivision, resource: "TCPIP::127.0.0.1::5026::SOCKET", '
    "points: 2000, range: 4 V, timeout: 1 s}\n"
)
VISA_BENCH = "name: lab\n" + AWG + SCOPE


def bench(**replace: str) -> str:
    """The valid VISA bench with lines replaced (``awg=...``, ``detector=...``) or added."""
    lines = {"name": "name: lab\n", "awg": AWG, "detector": SCOPE}
    for key, text in replace.items():
        lines[key] = text if text.endswith("\n") or not text else text + "\n"
    return "".join(lines.values())


def awg_line(**options: str) -> str:
    values = {
        "driver": "keysight-33600a",
        "resource": '"TCPIP::127.0.0.1::5025::SOCKET"',
        "sample_rate": "250 MHz",
        "amplitude": "1 V",
        "timeout": "1 s",
    }
    values.update(options)
    return "awg: {" + ", ".join(f"{k}: {v}" for k, v in values.items() if v != "") + "}\n"


def scope_line(**options: str) -> str:
    values = {
        "driver": "keysight-infiniivision",
        "resource": '"TCPIP::127.0.0.1::5026::SOCKET"',
        "points": "2000",
        "range": "4 V",
        "timeout": "1 s",
    }
    values.update(options)
    return "detector: {" + ", ".join(f"{k}: {v}" for k, v in values.items() if v != "") + "}\n"


VIRTUAL_BENCH = (
    "name: v\nawg: {driver: virtual-awg, sample_rate: 250 MHz, amplitude: 1 V}\n"
    "detector: {driver: virtual-detector, noise: 0 V}\n"
)

RUN = ["run", "hahn-echo", "--bench", "b.yaml", "--sample", "bare-t2", "-o", "out.nc"]

LONG_PROTOCOL = """name: long
parameters: {carrier: 4 MHz, tau: 3 ms}
sequence:
  - pulse: {angle: pi/2, duration: 500 ns}
  - delay: tau
  - pulse: {angle: pi, duration: 1 us}
  - delay: tau
  - detect: {duration: 4 us, points: 64}
repetition_time: 10 ms
full_scale_rabi: 1 MHz
"""

BENCH_CASES = [
    ("resource-not-visa", bench(awg=awg_line(resource='"not a resource"')), ("awg.resource",)),
    ("resource-bare-host", bench(awg=awg_line(resource='"10.0.0.20"')), ("awg.resource",)),
    ("resource-number", bench(awg=awg_line(resource="42")), ("awg.resource",)),
    ("resource-empty", bench(awg=awg_line(resource='""')), ("awg.resource",)),
    ("resource-colons", bench(detector=scope_line(resource='"foo::bar"')), ("detector.resource",)),
    ("resource-bad-port", bench(awg=awg_line(resource='"TCPIP::h::port::SOCKET"')), ("awg",)),
    ("sample-rate-word", bench(awg=awg_line(sample_rate="fast")), ("awg.sample_rate",)),
    ("sample-rate-negative", bench(awg=awg_line(sample_rate="-1 MHz")), ("awg.sample_rate",)),
    ("sample-rate-huge", bench(awg=awg_line(sample_rate="1e308 Hz")), ("awg.sample_rate",)),
    ("sample-rate-inf", bench(awg=awg_line(sample_rate=".inf")), ("awg.sample_rate",)),
    ("amplitude-nan", bench(awg=awg_line(amplitude=".nan")), ("awg.amplitude",)),
    ("amplitude-zero", bench(awg=awg_line(amplitude="0 V")), ("awg.amplitude",)),
    ("amplitude-too-big", bench(awg=awg_line(amplitude="100 V")), ("awg.amplitude",)),
    ("amplitude-wrong-unit", bench(awg=awg_line(amplitude="1 Hz")), ("awg.amplitude",)),
    ("timeout-negative", bench(awg=awg_line(timeout="-1 s")), ("awg.timeout",)),
    ("timeout-zero", bench(awg=awg_line(timeout="0 s")), ("awg.timeout",)),
    ("timeout-huge", bench(awg=awg_line(timeout="1e308 s")), ("awg.timeout",)),
    ("timeout-unit", bench(detector=scope_line(timeout="5 Hz")), ("detector.timeout",)),
    ("limit-negative", bench(awg=awg_line(limits="{amplitude_vpp: -1}")), ("awg.limits",)),
    ("limit-unknown", bench(awg=awg_line(limits="{volume: 11}")), ("awg.limits",)),
    ("limit-not-map", bench(awg=awg_line(limits="5")), ("awg.limits",)),
    ("limit-inf", bench(awg=awg_line(limits="{amplitude_vpp: .inf}")), ("awg.limits",)),
    ("limit-nan", bench(awg=awg_line(limits="{sample_rate_hz: .nan}")), ("awg.limits",)),
    ("awg-unknown-key", bench(awg=awg_line(amplitud="1 V")), ("awg.amplitud",)),
    ("top-unknown-key", bench(extra="colour: blue"), ("colour",)),
    ("missing-detector", bench(detector=""), ("detector",)),
    ("driver-unknown", bench(awg=awg_line(driver="acme-9000")), ("awg.driver",)),
    ("driver-wrong-role", bench(awg=awg_line(driver="keysight-infiniivision")), ("awg.driver",)),
    ("channel-three", bench(awg=awg_line(channel="3")), ("awg.channel",)),
    ("channel-word", bench(awg=awg_line(channel="one")), ("awg.channel",)),
    ("load-75", bench(awg=awg_line(load="75")), ("awg.load",)),
    ("trigger-soft", bench(awg=awg_line(trigger="SOFT")), ("awg.trigger",)),
    ("points-zero", bench(detector=scope_line(points="0")), ("detector.points",)),
    ("points-huge", bench(detector=scope_line(points="10000000000")), ("detector.points",)),
    ("coil-negative", bench(coil="coil: {field_per_volt: -1 T/V}"), ("coil.field_per_volt",)),
    ("coil-pickup-unit", bench(coil="coil: {pickup: 1 Hz}"), ("coil.pickup",)),
    ("receiver-zero", bench(rx="receiver: {bandwidth: 0 Hz}"), ("receiver.bandwidth",)),
    ("receiver-unknown-key", bench(rx="receiver: {bandwith: 2 MHz}"), ("receiver.bandwith",)),
    ("receiver-noise-negative", bench(rx="receiver: {noise: -1 mV}"), ("receiver.noise",)),
    ("backend-no-at", bench(be="visa_backend: nonesuch"), ("visa_backend",)),
    ("mixed-virtual-visa", bench(detector="detector: {driver: virtual-detector}"), ("b.yaml",)),
    ("name-list", bench(name="name: [a, b]"), ("name",)),
    ("yaml-syntax", "name: lab\nawg: {driver: [\n", ("b.yaml:",)),
    ("root-list", "- awg\n- detector\n", ("b.yaml",)),
    (
        "virtual-with-resource",
        VIRTUAL_BENCH.replace("virtual-awg,", 'virtual-awg, resource: "ASRL1::INSTR",'),
        ("awg.resource",),
    ),
    ("virtual-noise-negative", VIRTUAL_BENCH.replace("0 V}", "-1 V}"), ("detector.noise",)),
    ("virtual-seed-negative", VIRTUAL_BENCH.replace("noise: 0 V", "seed: -1"), ("detector.seed",)),
    ("virtual-seed-float", VIRTUAL_BENCH.replace("noise: 0 V", "seed: 1.5"), ("detector.seed",)),
]

CASES: list[Case] = [
    Case(f"bench-{name}", RUN, ("b.yaml", *needles), files={"b.yaml": text})
    for name, text, needles in BENCH_CASES
]
CASES += [
    Case(
        "bench-waveform-beyond-awg-memory",
        ["run", "long.yaml", "--bench", "b.yaml", "-o", "out.nc"],
        ("b.yaml", "awg", "1000000"),
        files={
            "b.yaml": bench(awg=awg_line(driver="keysight-33500b")),
            "long.yaml": LONG_PROTOCOL,
        },
    ),
    Case(
        "bench-waveform-beyond-awg-memory-dry-run",
        ["run", "long.yaml", "--bench", "b.yaml", "--dry-run"],
        ("b.yaml", "awg", "1000000"),
        files={
            "b.yaml": bench(awg=awg_line(driver="keysight-33500b")),
            "long.yaml": LONG_PROTOCOL,
        },
    ),
    Case("bench-missing-file", ["run", "hahn-echo", "--bench", "nope.yaml"], ("nope.yaml",)),
]


# -- instruments at run time (exit 1, naming the instrument and the command) -----------------


def _instrument_case(name: str, behaviour: str, needles: tuple[str, ...]) -> Case:
    return Case(f"instrument-{name}", RUN, needles, expected=1, server=behaviour)


CASES += [
    _instrument_case("streams-without-terminator", "stream", ("keysight-33600a", "*IDN?")),
    _instrument_case("never-answers", "silent", ("keysight-33600a", "*IDN?")),
    _instrument_case("drops-the-link", "drop", ("keysight-33600a",)),
    _instrument_case("wrong-model", "wrong-idn", ("keysight-33600a", "*IDN?")),
    _instrument_case("refuses-connection", "closed", ("keysight-33600a",)),
]


# -- records ---------------------------------------------------------------------------------


def _rewrite(change: Callable[[xr.Dataset], xr.Dataset]) -> Callable[[Path], None]:
    """A record spoiler that loads the record with xarray, changes it, writes it back."""

    def spoil(path: Path) -> None:
        with xr.open_dataset(path, decode_times=False) as ds:
            data = ds.load()
        data = change(data)
        path.unlink()
        data.to_netcdf(path)

    return spoil


def _attr(name: str, value: object) -> Callable[[Path], None]:
    def spoil(path: Path) -> None:
        with netCDF4.Dataset(path, "a") as ds:
            if value is None:
                ds.delncattr(name)
            else:
                ds.setncattr(name, value)

    return spoil


def _var_attr(var: str, name: str, value: object) -> Callable[[Path], None]:
    def spoil(path: Path) -> None:
        with netCDF4.Dataset(path, "a") as ds:
            ds[var].setncattr(name, value)

    return spoil


def _replace_var(name: str, make: Callable[[xr.Dataset], object]) -> Callable[[Path], None]:
    def change(ds: xr.Dataset) -> xr.Dataset:
        return ds.assign({name: make(ds)})

    return _rewrite(change)


def _huge(dim: str, size: int) -> Callable[[Path], None]:
    """A small file declaring ``size`` points along ``time`` or ``tau`` (nothing written)."""

    def spoil(path: Path) -> None:
        with xr.open_dataset(path) as ds:
            attrs = dict(ds.attrs)
            tau = ds["tau"].values
        path.unlink()
        with netCDF4.Dataset(path, "w") as out:
            sizes = {"tau": len(tau), "time": 256}
            sizes[dim] = size
            for name, n in sizes.items():
                out.createDimension(name, n)
                out.createVariable(name, "f8", (name,), chunksizes=(min(n, 1024),))
            for name in ("signal_re", "signal_im"):
                chunks = (1, min(sizes["time"], 1024))
                out.createVariable(name, "f8", ("tau", "time"), chunksizes=chunks)
            out.createVariable("point_complete", "i1", ("tau",), chunksizes=(1,))
            for key, value in attrs.items():
                out.setncattr(key, value)

    return spoil


def _protocol(edit: Callable[[str], str]) -> Callable[[Path], None]:
    def spoil(path: Path) -> None:
        with netCDF4.Dataset(path, "a") as ds:
            ds.setncattr("protocol", edit(ds.getncattr("protocol")))

    return spoil


def _swap_signal_dims(ds: xr.Dataset) -> xr.Dataset:
    return ds.assign(signal_re=ds["signal_re"].transpose("time", "tau"))


PLOT = ["plot", "rec.nc", "-o", "out.png"]

RECORD_CASES = [
    ("time-strings", _replace_var("time", lambda ds: ("time", ds.time.values.astype(str))), "time"),
    ("tau-strings", _replace_var("tau", lambda ds: ("tau", ds.tau.values.astype(str))), "tau"),
    ("time-dates", _var_attr("time", "units", "days since 2000-01-01"), "time"),
    ("time-reversed", _replace_var("time", lambda ds: ("time", ds.time.values[::-1])), "time"),
    ("time-nan", _replace_var("time", lambda ds: ("time", ds.time.values * np.nan)), "time"),
    ("tau-inf", _replace_var("tau", lambda ds: ("tau", ds.tau.values * np.inf)), "tau"),
    ("time-2d", _replace_var("time", lambda ds: (("tau", "time"), ds.signal_re.values)), "time"),
    ("complete-text", _attr("complete", "yes"), "complete"),
    ("complete-nan", _attr("complete", np.nan), "complete"),
    ("complete-five", _attr("complete", np.int8(5)), "complete"),
    ("complete-missing", _attr("complete", None), "complete"),
    ("seed-text", _attr("seed", "abc"), "seed"),
    ("seed-fraction", _attr("seed", 1.5), "seed"),
    ("shots-zero", _attr("shots", np.int32(0)), "shots"),
    ("shots-negative", _attr("shots", np.int32(-3)), "shots"),
    ("bandwidth-zero", _attr("receiver_bandwidth_hz", 0.0), "receiver_bandwidth_hz"),
    ("bandwidth-nan", _attr("receiver_bandwidth_hz", np.nan), "receiver_bandwidth_hz"),
    ("bandwidth-text", _attr("receiver_bandwidth_hz", "wide"), "receiver_bandwidth_hz"),
    ("protocol-number", _attr("protocol", np.int32(0)), "protocol"),
    ("protocol-empty", _attr("protocol", ""), "protocol"),
    ("protocol-missing", _attr("protocol", None), "protocol"),
    ("protocol-yaml-syntax", _attr("protocol", "name: [unclosed\n"), "protocol"),
    ("protocol-not-map", _attr("protocol", "- just\n- a list\n"), "protocol"),
    (
        "protocol-sweep-disagrees",
        _protocol(lambda text: text.replace("    - 40 us\n", "")),
        "tau",
    ),
    (
        "protocol-detect-disagrees",
        _protocol(lambda text: text.replace("points: 256", "points: 128")),
        "time",
    ),
    ("protocol-other-axis", _protocol(lambda text: text.replace("tau", "tau_x")), "tau"),
    ("source-number", _attr("source", np.int32(7)), "source"),
    ("units-number", _attr("units", np.nan), "units"),
    ("frame-unknown", _attr("frame", "sideways"), "frame"),
    ("sample-number", _attr("sample", np.int32(5)), "sample"),
    ("bench-bad-yaml", _attr("bench", "name: [x\n"), "bench"),
    ("signal-re-missing", _rewrite(lambda ds: ds.drop_vars("signal_re")), "signal_re"),
    (
        "signal-im-strings",
        _replace_var("signal_im", lambda ds: (("tau", "time"), ds.signal_im.values.astype(str))),
        "signal_im",
    ),
    ("signal-dims-swapped", _rewrite(_swap_signal_dims), "signal_re"),
    (
        "signal-im-other-dims",
        _replace_var("signal_im", lambda ds: (("time",), ds.signal_im.values[0])),
        "signal_im",
    ),
    ("mz-other-dims", _replace_var("mz", lambda ds: (("time",), ds.mz.values[0])), "mz"),
    (
        "window-fractional",
        _replace_var("window", lambda ds: ("time", ds.window.values + 0.5)),
        "window",
    ),
    (
        "point-complete-text",
        _replace_var("point_complete", lambda ds: ("tau", ds.point_complete.values.astype(str))),
        "point_complete",
    ),
    ("declares-2e8-time-points", _huge("time", 200_000_000), "time"),
    ("declares-2e8-sweep-points", _huge("tau", 200_000_000), "tau"),
]

CASES += [
    Case(f"record-plot-{name}", PLOT, ("rec.nc", needle), record=spoil)
    for name, spoil, needle in RECORD_CASES
]
CASES += [
    Case(
        "record-compare-measured-bad",
        ["compare", "rec.nc", "good.nc"],
        ("rec.nc", "time"),
        record=RECORD_CASES[0][1],
    ),
    Case(
        "record-compare-simulated-bad",
        ["compare", "good.nc", "rec.nc"],
        ("rec.nc", "complete"),
        record=_attr("complete", "yes"),
    ),
    Case(
        "record-compare-inversion-recovery-vs-hahn",
        ["compare", "ir.nc", "hahn.nc"],
        ("ir.nc", "hahn.nc", "protocol"),
    ),
    Case(
        "record-fit-seed-text",
        ["fit", "rec.nc", "--sample", "bare-t2", "--free", "relaxation.T2", "-o", "f.yaml"],
        ("rec.nc", "seed"),
        record=_attr("seed", "abc"),
    ),
    Case(
        "record-fit-protocol-disagrees",
        ["fit", "rec.nc", "--sample", "bare-t2", "--free", "relaxation.T2", "-o", "f.yaml"],
        ("rec.nc", "tau"),
        record=_protocol(lambda text: text.replace("    - 40 us\n", "")),
    ),
    Case("record-not-netcdf", PLOT, ("rec.nc",), files={"rec.nc": "not a record\n"}),
    Case("record-empty-file", PLOT, ("rec.nc",), files={"rec.nc": ""}),
    Case("record-missing", PLOT, ("rec.nc",)),
    Case("record-fifo", PLOT, ("rec.nc",), files={"rec.nc": "<fifo>"}),
    Case("record-link-to-dev-zero", PLOT, ("rec.nc",), files={"rec.nc": "<dev-zero>"}),
    Case("record-is-a-folder", PLOT, ("rec.nc",), files={"rec.nc": "<folder>"}),
]


# -- serve-virtual-lab options ---------------------------------------------------------------

SERVE = ["serve-virtual-lab", "--sample", "bare-t2", "--duration", "0.2 s"]
SERVE_CASES = [
    ("amplitude-negative", ["--amplitude", "-1 V"], "--amplitude"),
    ("amplitude-zero", ["--amplitude", "0 V"], "--amplitude"),
    ("amplitude-nan", ["--amplitude", "nan V"], "--amplitude"),
    ("amplitude-beyond-awg", ["--amplitude", "100 V"], "--amplitude"),
    ("rabi-zero", ["--full-scale-rabi", "0 Hz"], "--full-scale-rabi"),
    ("rabi-negative", ["--full-scale-rabi", "-1 MHz"], "--full-scale-rabi"),
    ("duration-negative", ["--duration", "-1 s"], "--duration"),
    ("duration-zero", ["--duration", "0 s"], "--duration"),
    ("duration-unit", ["--duration", "5 Hz"], "--duration"),
    ("points-zero", ["--points", "0"], "--points"),
    ("points-negative", ["--points", "-5"], "--points"),
    ("points-huge", ["--points", "10000000000"], "--points"),
    ("noise-negative", ["--noise", "-1 V"], "--noise"),
    ("pickup-zero", ["--pickup", "0 V"], "--pickup"),
    ("bandwidth-zero", ["--bandwidth", "0 Hz"], "--bandwidth"),
    ("sample-rate-zero", ["--sample-rate", "0 Hz"], "--sample-rate"),
    ("sample-rate-huge", ["--sample-rate", "1e308 Hz"], "--sample-rate"),
    ("range-negative", ["--range", "-4 V"], "--range"),
    ("seed-negative", ["--seed", "-1"], "--seed"),
    ("bench-file-missing-folder", ["--bench-file", "no/such/b.yaml"], "no/such/b.yaml"),
]
CASES += [Case(f"serve-{name}", [*SERVE, *extra], (needle,)) for name, extra, needle in SERVE_CASES]


# -- fixtures and the test -------------------------------------------------------------------


def _unswept(name: str) -> str:
    """A built-in protocol without its sweep (one point), as YAML text."""
    text = (LIBRARY / f"{name}.yaml").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("sweep:"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))
    return "".join(lines[:start] + lines[end:])


LIBRARY = Path(__file__).resolve().parents[2] / "sequences" / "library"


@pytest.fixture(scope="session")
def records(tmp_path_factory) -> dict[str, Path]:
    """Simulated records built once: a swept Hahn echo, and unswept Hahn and inversion recovery."""
    folder = tmp_path_factory.mktemp("records")
    (folder / "ir.yaml").write_text(_unswept("inversion-recovery"), encoding="utf-8")
    (folder / "hahn.yaml").write_text(_unswept("hahn-echo"), encoding="utf-8")
    made = {}
    pairs = (("good.nc", "hahn-echo"), ("ir.nc", "ir.yaml"), ("hahn.nc", "hahn.yaml"))
    for name, protocol in pairs:
        outcome = spin_echo(
            ["simulate", protocol, "--sample", "bare-t2", "--packets", "64", "-o", name],
            folder,
            time_limit_s=300,
        )
        assert outcome.returncode == 0, outcome.stderr
        made[name] = folder / name
    return made


def _prepare(case: Case, folder: Path, records: dict[str, Path]) -> None:
    for name, text in case.files.items():
        target = folder / name
        if text == "<fifo>":
            os.mkfifo(target)
        elif text == "<dev-zero>":
            target.symlink_to("/dev/zero")
        elif text == "<folder>":
            target.mkdir()
        else:
            target.write_text(text, encoding="utf-8")
    if any(arg.endswith(".nc") for arg in case.args) and not case.files:
        for name in ("good.nc", "ir.nc", "hahn.nc"):
            shutil.copy(records[name], folder / name)
        if case.record is not None:
            shutil.copy(records["good.nc"], folder / "rec.nc")
            case.record(folder / "rec.nc")


@pytest.fixture
def server(request) -> Iterator[str | None]:
    behaviour = request.param
    if behaviour is None:
        yield None
    elif behaviour == "closed":
        yield f"TCPIP::127.0.0.1::{closed_port()}::SOCKET"
    else:
        with Misbehaving(behaviour) as served:
            yield served.resource


@pytest.mark.parametrize(
    ("case", "server"),
    [(c, c.server) for c in CASES],
    ids=[c.id for c in CASES],
    indirect=["server"],
)
def test_bad_input(case: Case, server: str | None, tmp_path: Path, records) -> None:
    _prepare(case, tmp_path, records)
    if server is not None:
        text = bench(
            awg=awg_line(resource=f'"{server}"'), detector=scope_line(resource=f'"{server}"')
        )
        (tmp_path / "b.yaml").write_text(text, encoding="utf-8")
    check(case, tmp_path)


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)
