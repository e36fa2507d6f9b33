"""Benchmark of the propagator against QuTiP, a scipy expm loop and the machine floor.

Run ``python -m benchmarks.propagator [--packets N] [--points M] [--shaped-packets K] [--quick]
[--profile]``.

1. Measures the machine floor (:mod:`machine_floor`), before the workloads and again after
   them, and keeps the better figure of each throughput.
2. Canonical workload (:mod:`workloads`): Hahn echo, rectangular pulses, T1 = T2, N packets,
   M detection points. Before any timing, QuTiP ``mesolve`` per packet, a per-packet scipy
   ``expm`` loop and ``simulator.propagate`` (every kernel backend available here: numpy, and
   numba when installed) are compared on a common subsample of packets (each packet alone,
   and their ensemble sum); they must agree to 1e-8 of the largest signal, or the benchmark
   stops without timing anything.
3. Times them: the references one packet at a time on the subsample (scaled to N), with BLAS
   limited to one thread (a 4x4 ``expm`` gains nothing from threads, and on a shared machine
   waking BLAS threads for it costs milliseconds); the project on all N packets, with every
   core (median and best of the repeats).
4. Shaped workload: Gaussian pulses as a timeline of sub-segments (``simulator.propagate``)
   and as a 1 GS/s AWG waveform, one segment per sample (``simulator.propagate_sampled``, lab
   frame), each checked against the expm loop, in packet-segments per second.

The floor of a workload (:func:`machine_floor.floor_seconds`) counts one sine-cosine pair per
packet and segment (a rotation angle or a precession phase; for a sampled waveform, per driven
sample), one complex multiply-add per packet and output point, and one read of the packets'
four float64 parameters.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.machine_floor import MachineFloor, floor_seconds, measure_floor
from benchmarks.reference_propagators import expm_loop_lab_mz, expm_loop_signal, qutip_signal
from benchmarks.workloads import (
    T1_S,
    T2_S,
    Packets,
    draw_packets,
    hahn_timeline,
    shaped_timeline,
    shaped_waveform,
)
from spin_echo.simulator import Ensemble, propagate, propagate_sampled
from spin_echo.simulator.kernels import available_backends, use_backend

TOLERANCE = 1e-8
PACKET_BYTES = 32
RELAX = {"t1_s": T1_S, "t2_s": T2_S}
QUTIP = "QuTiP mesolve"
LOOP = "scipy expm loop"
#: The simulator's thread count over packet chunks (see ``simulator.kernels.default_threads``).
THREADS_ENV = "SPIN_ECHO_THREADS"


@dataclass(frozen=True)
class Measured:
    """Wall times of one implementation on one workload (references: per packet, times N).

    ``floor_counts`` (sine-cosine pairs, complex multiply-adds, bytes) marks the machine-floor
    row, whose time is computed from the measured throughputs when the table is printed.
    """

    name: str
    n: int
    m: int
    work: float
    median_s: float = 0.0
    best_s: float = 0.0
    scaled: bool = False
    floor_counts: tuple[float, float, float] | None = None


def _ensemble(packets: Packets) -> Ensemble:
    return Ensemble(
        delta_hz=packets.delta_hz,
        epsilon_hz=packets.epsilon_hz,
        cos_theta=packets.cos_theta,
        weight=packets.weight,
    )


def _arrays(packets: Packets) -> tuple[np.ndarray, ...]:
    return packets.delta_hz, packets.epsilon_hz, packets.cos_theta


def _per_packet(
    fn: Callable[[Packets], np.ndarray], packets: Packets
) -> tuple[np.ndarray, list[float]]:
    """Call ``fn`` on one packet at a time (after a warm-up call); return results and times."""
    fn(packets.head(1))
    results, times = [], []
    for p in range(len(packets)):
        one = Packets(*(a[p : p + 1] for a in (*_arrays(packets), packets.weight)))
        start = time.perf_counter()
        results.append(fn(one)[0])
        times.append(time.perf_counter() - start)
    return np.array(results), times


def _reference(name: str, n: int, m: int, work: float, times: list[float]) -> Measured:
    """Return a per-packet reference timing scaled to ``n`` packets."""
    return Measured(name, n, m, work, n * float(np.median(times)), n * min(times), scaled=True)


def _timed(name: str, n: int, m: int, work: float, fn: Callable[[], object], repeats: int):
    """Time ``fn()`` ``repeats`` times after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return Measured(name, n, m, work, float(np.median(times)), min(times))


def _check(label: str, got: np.ndarray, want: np.ndarray) -> float:
    """Return max|got - want| / max|want|; stop the benchmark above the tolerance."""
    error = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
    if not error <= TOLERANCE:
        raise SystemExit(
            f"benchmarks/propagator.py: {label} disagree: max |difference| = {error:.3g} of the "
            f"largest signal > {TOLERANCE:g}; no timing is reported for a wrong result"
        )
    return error


def _report(title: str, sub: int, errors: dict[str, float]) -> None:
    print(
        f"{title}: agreement on {sub} packets, max |difference| / max |signal|: "
        + ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
    )


def _profile(label: str, n: int, m: int, fn: Callable[[], object]) -> None:
    """Print the top functions of ``fn()`` by own time, on one thread so cProfile sees them."""
    saved = os.environ.get(THREADS_ENV)
    os.environ[THREADS_ENV] = "1"
    try:
        profiler = cProfile.Profile()
        profiler.runcall(fn)
    finally:
        if saved is None:
            del os.environ[THREADS_ENV]
        else:
            os.environ[THREADS_ENV] = saved
    print(f"profile of {label}, N = {n}, M = {m}, one thread (top functions by own time):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(12)


def hahn(args: argparse.Namespace) -> list[Measured]:
    """Check, then time, the canonical Hahn-echo workload."""
    n, m = args.packets, args.points
    timeline = hahn_timeline(m)
    packets = draw_packets(n)
    sub = packets.head(args.subsample)
    with threadpool_limits(limits=1):
        s_qutip, t_qutip = _per_packet(lambda p: qutip_signal(timeline, *_arrays(p), **RELAX), sub)
        s_loop, t_loop = _per_packet(
            lambda p: expm_loop_signal(timeline, *_arrays(p), **RELAX), sub
        )
    errors = {"QuTiP vs loop": _check("QuTiP and the expm loop", s_qutip, s_loop)}
    ensemble = _ensemble(packets)
    work = float(n) * m
    rows = [_reference(QUTIP, n, m, work, t_qutip), _reference(LOOP, n, m, work, t_loop)]
    for backend in available_backends():
        with use_backend(backend):
            s_project, _ = _per_packet(
                lambda p: propagate(timeline, _ensemble(p), **RELAX).signal[None, :], sub
            )
            label = f"simulator.propagate [{backend}]"
            errors[f"{backend} vs loop"] = _check(f"{label} and the expm loop", s_project, s_loop)
            errors[f"{backend} vs QuTiP"] = _check(f"{label} and QuTiP", s_project, s_qutip)
            errors[f"{backend} ensemble sum"] = _check(
                f"the ensemble sums of {label} and the expm loop",
                propagate(timeline, _ensemble(sub), **RELAX).signal,
                sub.weight @ s_loop / sub.weight.sum(),
            )
            rows.append(
                _timed(
                    f"spin-echo propagate [{backend}]",
                    n,
                    m,
                    work,
                    lambda: propagate(timeline, ensemble, **RELAX),
                    args.repeats,
                )
            )
            if args.profile:
                _profile(label, n, m, lambda: propagate(timeline, ensemble, **RELAX))
    _report(f"Hahn echo (tolerance {TOLERANCE:g})", len(sub), errors)
    pairs = float(n) * len(timeline.start_s)
    rows.append(Measured("machine floor", n, m, work, floor_counts=(pairs, work, PACKET_BYTES * n)))
    return rows


def shaped(args: argparse.Namespace) -> tuple[list[Measured], list[Measured]]:
    """Check, then time, the shaped-pulse timeline and the sampled waveform."""
    n, m = args.shaped_packets, args.points
    timeline = shaped_timeline(m)
    waveform = shaped_waveform(m)
    packets = draw_packets(n, seed=2)
    ensemble = _ensemble(packets)
    sub = packets.head(args.subsample)
    lab_sub = packets.head(args.lab_subsample)
    with threadpool_limits(limits=1):
        s_loop, t_loop = _per_packet(
            lambda p: expm_loop_signal(timeline, *_arrays(p), **RELAX), sub
        )
        mz_loop, t_lab = _per_packet(
            lambda p: expm_loop_lab_mz(waveform, *_arrays(p), **RELAX), lab_sub
        )
    segments, samples = len(timeline.start_s), len(waveform.samples)
    work, lab_work = float(n) * segments, float(n) * samples
    timeline_rows = [_reference(LOOP, n, m, work, t_loop)]
    sampled_rows = [_reference(LOOP, n, samples, lab_work, t_lab)]
    errors = {}
    for backend in available_backends():
        with use_backend(backend):
            s_project, _ = _per_packet(
                lambda p: propagate(timeline, _ensemble(p), **RELAX).signal[None, :], sub
            )
            mz_project, _ = _per_packet(
                lambda p: propagate_sampled(waveform, _ensemble(p), **RELAX)[None, :], lab_sub
            )
            errors[f"timeline [{backend}]"] = _check(
                f"simulator.propagate [{backend}] and the expm loop", s_project, s_loop
            )
            errors[f"sampled [{backend}]"] = _check(
                f"simulator.propagate_sampled [{backend}] and the lab-frame expm loop",
                mz_project,
                mz_loop,
            )
            timeline_rows.append(
                _timed(
                    f"spin-echo propagate [{backend}]",
                    n,
                    m,
                    work,
                    lambda: propagate(timeline, ensemble, **RELAX),
                    args.repeats,
                )
            )
            sampled_rows.append(
                _timed(
                    f"spin-echo propagate_sampled [{backend}]",
                    n,
                    samples,
                    lab_work,
                    lambda: propagate_sampled(waveform, ensemble, **RELAX),
                    args.repeats,
                )
            )
    _report(
        f"Gaussian pulses (timeline: {len(sub)} packets; sampled: {len(lab_sub)})",
        len(sub),
        errors,
    )
    driven = float(np.count_nonzero(waveform.samples))
    timeline_rows.append(
        Measured("machine floor", n, m, work, floor_counts=(work, float(n) * m, PACKET_BYTES * n))
    )
    sampled_rows.append(
        Measured(
            "machine floor",
            n,
            samples,
            lab_work,
            floor_counts=(n * driven, lab_work, PACKET_BYTES * n),
        )
    )
    return timeline_rows, sampled_rows


def _print_table(title: str, rate_name: str, rows: list[Measured], machine: MachineFloor) -> None:
    """Print one workload's table; ratios use median times, the best time is shown beside."""
    filled = []
    for r in rows:
        if r.floor_counts is not None:
            pairs, cmac, moved = r.floor_counts
            floor = floor_seconds(machine, pairs=pairs, cmac=cmac, bytes_moved=moved)
            r = Measured(r.name, r.n, r.m, r.work, floor, floor)
        filled.append(r)
    by_name = {r.name: r.median_s for r in filled}
    qutip, loop, floor = by_name.get(QUTIP), by_name.get(LOOP), by_name["machine floor"]
    print(f"\n{title}")
    header = (
        f"{'implementation':<38}{'N':>8}{'M':>6}{'median s':>11}{'best s':>10}{rate_name:>12}"
        f"{'vs QuTiP':>10}{'vs loop':>9}{'x floor':>9}"
    )
    print(header)
    print("-" * len(header))

    def ratio(num: float | None, den: float, width: int) -> str:
        return f"{'-':>{width}}" if num is None else f"{num / den:>{width}.3g}"

    for r in filled:
        name = r.name + (" *" if r.scaled else "")
        print(
            f"{name:<38}{r.n:>8}{r.m:>6}{r.median_s:>11.4g}{r.best_s:>10.4g}"
            f"{r.work / r.median_s:>12.3e}{ratio(qutip, r.median_s, 10)}"
            f"{ratio(loop, r.median_s, 9)}{ratio(r.median_s, floor, 9)}"
        )


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=None, help="N (default 10^6; quick 10^5)")
    parser.add_argument("--points", type=int, default=None, help="M (default 1024; quick 256)")
    parser.add_argument(
        "--shaped-packets",
        type=int,
        default=None,
        help="packets of the shaped and sampled workloads (default 10^5; quick 10^4)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile simulator.propagate on the Hahn echo"
    )
    args = parser.parse_args(argv)
    defaults = {"packets": 10**5, "points": 256, "shaped_packets": 10**4}
    if not args.quick:
        defaults = {"packets": 10**6, "points": 1024, "shaped_packets": 10**5}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    args.repeats = 3 if args.quick else 5
    args.subsample = min(4 if args.quick else 8, args.packets, args.shaped_packets)
    args.lab_subsample = min(1 if args.quick else 2, args.shaped_packets)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the machine floor and the tables."""
    args = _arguments(argv)
    print(
        f"spin-echo propagator benchmark: {platform.machine()}, {len(os.sched_getaffinity(0))} "
        f"cores, Python {platform.python_version()}, numpy {np.__version__}, kernel backends "
        f"{', '.join(available_backends())}"
    )
    load_before = os.getloadavg()[0]
    first = measure_floor(quick=args.quick)
    hahn_rows = hahn(args)
    timeline_rows, sampled_rows = shaped(args)
    machine = first.best_with(measure_floor(quick=args.quick))
    print(
        f"load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after: other "
        "processes on these cores slow every timing below, the BLAS-threaded ones most"
    )
    print(
        f"machine floor (better of two measurements): sin/cos pairs {machine.pair_per_s:.3g}/s "
        f"({machine.pair_per_s_one_core:.3g}/s on one core; np.sin or np.cos alone "
        f"{machine.sin_cos_per_s:.3g}/s), complex multiply-add {machine.cmac_per_s:.3g}/s "
        f"(zgemm), memory {machine.copy_bytes_per_s / 1e9:.3g} GB/s copy, "
        f"{machine.triad_bytes_per_s / 1e9:.3g} GB/s triad"
    )
    _print_table(
        f"Hahn echo, rectangular pulses, T1 = T2 = {T1_S * 1e6:g} us (M: detection points)",
        "pkt-pts/s",
        hahn_rows,
        machine,
    )
    segments = len(shaped_timeline(args.points).start_s)
    _print_table(
        f"Gaussian pulses, timeline of {segments} segments, rotating frame (M: detection points)",
        "pkt-segs/s",
        timeline_rows,
        machine,
    )
    waveform = shaped_waveform(args.points)
    _print_table(
        f"Gaussian pulses, AWG waveform at 1 GS/s, one segment per sample "
        f"({np.count_nonzero(waveform.samples)} of {len(waveform.samples)} driven), lab frame "
        "(M: samples)",
        "pkt-segs/s",
        sampled_rows,
        machine,
    )
    print(
        "* per-packet time on a subsample, scaled to N. Ratios use medians. Floor: one sin/cos "
        "pair per packet and segment (sampled: per driven sample), one complex multiply-add per "
        "packet and output point, 32 bytes per packet; compiled kernels (numba) and a "
        "non-uniform FFT can beat it."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
