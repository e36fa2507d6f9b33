"""Benchmark of the propagator against QuTiP, a scipy expm loop and the machine floor.

Run ``python bench/propagator.py [--packets N] [--points M] [--shaped-packets K] [--quick]
[--profile]``.

1. Measures the machine floor now (:mod:`machine_floor`).
2. Canonical workload (:mod:`workloads`): Hahn echo, rectangular pulses, T1 = T2, N packets,
   M detection points. Before any timing, QuTiP ``mesolve`` per packet, a per-packet scipy
   ``expm`` loop and ``simulator.propagate`` are compared on a common subsample of packets (each
   packet alone, and their ensemble sum); they must agree to 1e-8 of the largest signal.
3. Times them: the references per packet on the subsample (median, scaled to N), the project
   on all N packets (median over repeats).
4. Shaped workload: Gaussian pulses as a timeline of sub-segments (``simulator.propagate``)
   and as a 1 GS/s AWG waveform, one segment per sample (``simulator.propagate_sampled``, lab
   frame), each checked against the expm loop, reported in packet-segments per second.

The floor of a workload (:func:`machine_floor.floor_seconds`) counts one sin/cos pair per
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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine_floor import MachineFloor, floor_seconds, measure_floor
from reference_propagators import (
    expm_loop_lab_mz,
    expm_loop_signal,
    qutip_signal,
)
from workloads import (
    T1_S,
    T2_S,
    Packets,
    draw_packets,
    hahn_timeline,
    shaped_timeline,
    shaped_waveform,
)

from simulator import Ensemble, propagate, propagate_sampled

TOLERANCE = 1e-8
PACKET_BYTES = 32
RELAX = {"t1_s": T1_S, "t2_s": T2_S}


@dataclass(frozen=True)
class Measured:
    """Wall times of one implementation on one workload (references: per packet, times N).

    ``floor_counts`` (sin/cos evaluations, complex multiply-adds, bytes) marks the machine
    floor row, whose time is computed from the measured throughputs.
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
            f"bench/propagator.py: {label} disagree: max |difference| = {error:.3g} of the "
            f"largest signal > {TOLERANCE:g}; no timing is reported for a wrong result"
        )
    return error


def hahn(args: argparse.Namespace) -> list[Measured]:
    """Check, then time, the canonical Hahn-echo workload."""
    n, m = args.packets, args.points
    timeline = hahn_timeline(m)
    packets = draw_packets(n)
    sub = packets.head(args.subsample)

    def with_project(p: Packets) -> np.ndarray:
        return propagate(timeline, _ensemble(p), **RELAX).signal[None, :]

    s_qutip, t_qutip = _per_packet(lambda p: qutip_signal(timeline, *_arrays(p), **RELAX), sub)
    s_loop, t_loop = _per_packet(lambda p: expm_loop_signal(timeline, *_arrays(p), **RELAX), sub)
    s_project, _ = _per_packet(with_project, sub)
    errors = {
        "QuTiP vs loop": _check("QuTiP and the expm loop", s_qutip, s_loop),
        "project vs loop": _check("simulator.propagate and the expm loop", s_project, s_loop),
        "project vs QuTiP": _check("simulator.propagate and QuTiP", s_project, s_qutip),
        "ensemble sums": _check(
            "the ensemble sums of simulator.propagate and the expm loop",
            propagate(timeline, _ensemble(sub), **RELAX).signal,
            sub.weight @ s_loop / sub.weight.sum(),
        ),
    }
    print(
        f"Hahn echo: agreement on {len(sub)} packets, max |difference| / max |signal| "
        f"(tolerance {TOLERANCE:g}): " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
    )
    ensemble = _ensemble(packets)
    work = float(n) * m
    segments = len(timeline.start_s)
    rows = [
        _reference("QuTiP mesolve", n, m, work, t_qutip),
        _reference("scipy expm loop", n, m, work, t_loop),
        _timed(
            "spin-echo propagate",
            n,
            m,
            work,
            lambda: propagate(timeline, ensemble, **RELAX),
            args.repeats,
        ),
        Measured(
            "machine floor", n, m, work, floor_counts=(2.0 * n * segments, work, PACKET_BYTES * n)
        ),
    ]
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(propagate, timeline, ensemble, **RELAX)
        print(f"profile of simulator.propagate, N = {n}, M = {m} (top functions by own time):")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(12)
    return rows


def shaped(args: argparse.Namespace) -> tuple[list[Measured], list[Measured]]:
    """Check, then time, the shaped-pulse timeline and the sampled waveform."""
    n, m = args.shaped_packets, args.points
    timeline = shaped_timeline(m)
    packets = draw_packets(n, seed=2)
    sub = packets.head(args.subsample)
    s_loop, t_loop = _per_packet(lambda p: expm_loop_signal(timeline, *_arrays(p), **RELAX), sub)
    s_project, _ = _per_packet(
        lambda p: propagate(timeline, _ensemble(p), **RELAX).signal[None, :], sub
    )
    e_timeline = _check("simulator.propagate and the expm loop (shaped)", s_project, s_loop)
    ensemble = _ensemble(packets)
    segments = len(timeline.start_s)
    work = float(n) * segments
    timeline_rows = [
        _reference("scipy expm loop", n, m, work, t_loop),
        _timed(
            "spin-echo propagate",
            n,
            m,
            work,
            lambda: propagate(timeline, ensemble, **RELAX),
            args.repeats,
        ),
        Measured(
            "machine floor", n, m, work, floor_counts=(2.0 * work, float(n) * m, PACKET_BYTES * n)
        ),
    ]

    waveform = shaped_waveform(m)
    samples = len(waveform.samples)
    lab_sub = packets.head(args.lab_subsample)
    mz_loop, t_lab = _per_packet(
        lambda p: expm_loop_lab_mz(waveform, *_arrays(p), **RELAX), lab_sub
    )
    mz_project, _ = _per_packet(
        lambda p: propagate_sampled(waveform, _ensemble(p), **RELAX)[None, :], lab_sub
    )
    e_sampled = _check(
        "simulator.propagate_sampled and the lab-frame expm loop", mz_project, mz_loop
    )
    driven = int(np.count_nonzero(waveform.samples))
    lab_work = float(n) * samples
    sampled_rows = [
        _reference("scipy expm loop", n, samples, lab_work, t_lab),
        _timed(
            "spin-echo propagate_sampled",
            n,
            samples,
            lab_work,
            lambda: propagate_sampled(waveform, ensemble, **RELAX),
            args.repeats,
        ),
        Measured(
            "machine floor",
            n,
            samples,
            lab_work,
            floor_counts=(2.0 * n * driven, lab_work, PACKET_BYTES * n),
        ),
    ]
    print(
        f"shaped pulses: agreement with the expm loop, max |difference| / max |signal|: "
        f"timeline {e_timeline:.1e} ({len(sub)} packets), sampled waveform {e_sampled:.1e} "
        f"({len(lab_sub)} packets)"
    )
    return timeline_rows, sampled_rows


def _print_table(title: str, rate_name: str, rows: list[Measured], machine: MachineFloor) -> None:
    """Print one workload's table; ratios use median times, the best time is shown beside."""
    floors = [
        floor_seconds(machine, trig=c[0], cmac=c[1], bytes_moved=c[2])
        for r in rows
        if (c := r.floor_counts) is not None
    ]
    floor = floors[0] if floors else None
    timed = [
        Measured(r.name, r.n, r.m, r.work, floor, floor) if r.floor_counts is not None else r
        for r in rows
    ]
    by_name = {r.name: r.median_s for r in timed}
    qutip, loop = by_name.get("QuTiP mesolve"), by_name.get("scipy expm loop")
    print(f"\n{title}")
    header = (
        f"{'implementation':<29}{'N':>8}{'M':>6}{'median s':>11}{'best s':>10}{rate_name:>13}"
        f"{'vs QuTiP':>10}{'vs loop':>9}{'x floor':>9}"
    )
    print(header)
    print("-" * len(header))

    def ratio(num: float | None, den: float, width: int) -> str:
        return f"{'-':>{width}}" if num is None else f"{num / den:>{width}.3g}"

    for r in timed:
        name = r.name + (" *" if r.scaled else "")
        print(
            f"{name:<29}{r.n:>8}{r.m:>6}{r.median_s:>11.4g}{r.best_s:>10.4g}"
            f"{r.work / r.median_s:>13.3e}{ratio(qutip, r.median_s, 10)}"
            f"{ratio(loop, r.median_s, 9)}{ratio(r.median_s, floor, 9) if floor else '-':>9}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the machine floor and the tables."""
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
    parser.add_argument("--profile", action="store_true", help="cProfile simulator.propagate")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {"packets": 10**5, "points": 256, "shaped_packets": 10**4}
    if not quick:
        defaults = {"packets": 10**6, "points": 1024, "shaped_packets": 10**5}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in defaults:
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    args.repeats = 3 if quick else 5
    args.subsample = min(4 if quick else 8, args.packets, args.shaped_packets)
    args.lab_subsample = min(1 if quick else 2, args.shaped_packets)

    print(
        f"spin-echo propagator benchmark: {platform.machine()}, {len(os.sched_getaffinity(0))} "
        f"cores, Python {platform.python_version()}, numpy {np.__version__}"
    )
    first = measure_floor(quick=quick)
    hahn_rows = hahn(args)
    timeline_rows, sampled_rows = shaped(args)
    machine = first.best_with(measure_floor(quick=quick))
    print(
        f"machine floor (best of two measurements, before and after): sin/cos "
        f"{machine.trig_per_s:.3g}/s ({machine.trig_per_s_one_core:.3g}/s on one core), complex "
        f"multiply-add {machine.cmac_per_s:.3g}/s (zgemm), memory "
        f"{machine.copy_bytes_per_s / 1e9:.3g} GB/s copy, "
        f"{machine.triad_bytes_per_s / 1e9:.3g} GB/s triad"
    )
    segments = len(shaped_timeline(args.points).start_s)
    _print_table(
        f"Hahn echo, rectangular pulses, T1 = T2 = {T1_S * 1e6:g} us",
        "pkt-points/s",
        hahn_rows,
        machine,
    )
    _print_table(
        f"Gaussian pulses, timeline of {segments} segments, rotating frame (M: detection points)",
        "pkt-segs/s",
        timeline_rows,
        machine,
    )
    _print_table(
        "Gaussian pulses, AWG waveform at 1 GS/s, one segment per sample, lab frame (M: samples)",
        "pkt-segs/s",
        sampled_rows,
        machine,
    )
    print(
        "* per-packet time on a subsample (median; best), scaled to N. Ratios use medians. "
        "Floor: 2 sin/cos per packet and segment (sampled: per driven sample), 1 complex "
        "multiply-add per packet and output point, 32 bytes per packet."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
