"""Benchmark of the propagator against QuTiP, a scipy expm loop and the machine floor.

Run ``python bench/propagator.py [--packets N] [--points M] [--quick] [--profile]``.

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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine_floor import MachineFloor, floor_seconds, measure_floor, median_time
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


def _ensemble(packets: Packets) -> Ensemble:
    return Ensemble(
        delta_hz=packets.delta_hz,
        epsilon_hz=packets.epsilon_hz,
        cos_theta=packets.cos_theta,
        weight=packets.weight,
    )


def _per_packet(fn, packets: Packets) -> tuple[np.ndarray, float]:
    """Call ``fn`` on one packet at a time; return stacked results and the median time per call."""
    fn(packets.head(1))
    results, times = [], []
    for p in range(len(packets)):
        one = Packets(*(a[p : p + 1] for a in _arrays(packets)))
        start = time.perf_counter()
        results.append(fn(one)[0])
        times.append(time.perf_counter() - start)
    return np.array(results), float(np.median(times))


def _arrays(packets: Packets) -> tuple[np.ndarray, ...]:
    return packets.delta_hz, packets.epsilon_hz, packets.cos_theta, packets.weight


def _check(label: str, got: np.ndarray, want: np.ndarray, scale: float) -> float:
    """Return max|got - want| / scale; stop the benchmark if it exceeds the tolerance."""
    error = float(np.max(np.abs(got - want)) / scale)
    if not error <= TOLERANCE:
        raise SystemExit(
            f"bench/propagator.py: {label} disagree: max |difference| = {error:.3g} of the "
            f"largest signal > {TOLERANCE:g}; no timing is reported for a wrong result"
        )
    return error


def _ensemble_sum(per_packet: np.ndarray, packets: Packets) -> np.ndarray:
    return packets.weight @ per_packet / packets.weight.sum()


def _row(name, n, m, seconds, work, *, qutip=None, loop=None, floor=None, scaled=False):
    return {
        "implementation": name + (" *" if scaled else ""),
        "N": n,
        "M": m,
        "seconds": seconds,
        "rate": work / seconds,
        "vs QuTiP": None if qutip is None else qutip / seconds,
        "vs loop": None if loop is None else loop / seconds,
        "x floor": None if floor is None else seconds / floor,
    }


def _print_table(title: str, rate_name: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    header = (
        f"{'implementation':<28}{'N':>9}{'M':>7}{'median s':>12}{rate_name:>16}"
        f"{'vs QuTiP':>10}{'vs loop':>10}{'x floor':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:

        def opt(value, width):
            return f"{value:>{width}.3g}" if value is not None else f"{'-':>{width}}"

        print(
            f"{r['implementation']:<28}{r['N']:>9}{r['M']:>7}{r['seconds']:>12.4g}"
            f"{r['rate']:>16.3e}{opt(r['vs QuTiP'], 10)}{opt(r['vs loop'], 10)}"
            f"{opt(r['x floor'], 9)}"
        )


def hahn(args: argparse.Namespace, machine: MachineFloor) -> None:
    """Check and time the canonical Hahn-echo workload; print its table."""
    n, m = args.packets, args.points
    timeline = hahn_timeline(m)
    packets = draw_packets(n)
    sub = packets.head(args.subsample)
    relax = {"t1_s": T1_S, "t2_s": T2_S}

    def with_qutip(p: Packets) -> np.ndarray:
        return qutip_signal(timeline, *_arrays(p)[:3], **relax)

    def with_loop(p: Packets) -> np.ndarray:
        return expm_loop_signal(timeline, *_arrays(p)[:3], **relax)

    def with_project(p: Packets) -> np.ndarray:
        return propagate(timeline, _ensemble(p), **relax).signal[None, :]

    s_qutip, t_qutip = _per_packet(with_qutip, sub)
    s_loop, t_loop = _per_packet(with_loop, sub)
    s_project, _ = _per_packet(with_project, sub)
    scale = float(np.max(np.abs(s_loop)))
    errors = {
        "QuTiP vs loop": _check("QuTiP and the expm loop", s_qutip, s_loop, scale),
        "project vs loop": _check(
            "simulator.propagate and the expm loop", s_project, s_loop, scale
        ),
        "project vs QuTiP": _check("simulator.propagate and QuTiP", s_project, s_qutip, scale),
    }
    ensemble_sum = _ensemble_sum(s_loop, sub)
    errors["ensemble sum"] = _check(
        "the ensemble sums of simulator.propagate and the expm loop",
        propagate(timeline, _ensemble(sub), **relax).signal,
        ensemble_sum,
        float(np.max(np.abs(ensemble_sum))),
    )
    print(
        f"\nagreement on {len(sub)} packets, max |difference| / max |signal| (tolerance "
        f"{TOLERANCE:g}): " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
    )

    ensemble = _ensemble(packets)
    t_project = median_time(lambda: propagate(timeline, ensemble, **relax), repeats=args.repeats)
    segments = len(timeline.start_s)
    floor = floor_seconds(
        machine, trig=2.0 * n * segments, cmac=float(n) * m, bytes_moved=PACKET_BYTES * n
    )
    work = float(n) * m
    full_qutip, full_loop = t_qutip * n, t_loop * n
    rows = [
        _row(
            "QuTiP mesolve", n, m, full_qutip, work, qutip=full_qutip, loop=full_loop, scaled=True
        ),
        _row(
            "scipy expm loop", n, m, full_loop, work, qutip=full_qutip, loop=full_loop, scaled=True
        ),
        _row(
            "spin-echo propagate",
            n,
            m,
            t_project,
            work,
            qutip=full_qutip,
            loop=full_loop,
            floor=floor,
        ),
        _row("machine floor", n, m, floor, work, qutip=full_qutip, loop=full_loop, floor=floor),
    ]
    _print_table(
        f"Hahn echo, rectangular pulses, T1 = T2 = {T1_S * 1e6:g} us, {segments} segments",
        "packet-pts/s",
        rows,
    )
    print(
        f"* per-packet median over {len(sub)} packets (QuTiP {t_qutip * 1e3:.3g} ms, loop "
        f"{t_loop * 1e3:.3g} ms per packet), scaled to N"
    )
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(propagate, timeline, ensemble, **relax)
        print(f"\nprofile of simulator.propagate, N = {n}, M = {m} (top functions by own time):")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(12)


def shaped(args: argparse.Namespace, machine: MachineFloor) -> None:
    """Check and time the shaped-pulse workloads (timeline and sampled waveform)."""
    relax = {"t1_s": T1_S, "t2_s": T2_S}
    n, m = args.packets, args.points
    timeline = shaped_timeline(m)
    packets = draw_packets(n, seed=2)
    sub = packets.head(args.subsample)

    def with_loop(p: Packets) -> np.ndarray:
        return expm_loop_signal(timeline, *_arrays(p)[:3], **relax)

    def with_project(p: Packets) -> np.ndarray:
        return propagate(timeline, _ensemble(p), **relax).signal[None, :]

    s_loop, t_loop = _per_packet(with_loop, sub)
    s_project, _ = _per_packet(with_project, sub)
    e_timeline = _check(
        "simulator.propagate and the expm loop (shaped pulses)",
        s_project,
        s_loop,
        float(np.max(np.abs(s_loop))),
    )
    ensemble = _ensemble(packets)
    t_project = median_time(lambda: propagate(timeline, ensemble, **relax), repeats=args.repeats)
    segments = len(timeline.start_s)
    work = float(n) * segments
    floor = floor_seconds(machine, trig=2.0 * work, cmac=float(n) * m, bytes_moved=PACKET_BYTES * n)
    rows = [
        _row("scipy expm loop (timeline)", n, m, t_loop * n, work, loop=t_loop * n, scaled=True),
        _row("spin-echo propagate", n, m, t_project, work, loop=t_loop * n, floor=floor),
        _row("machine floor", n, m, floor, work, loop=t_loop * n, floor=floor),
    ]

    ns = args.sampled_packets
    waveform = shaped_waveform(m)
    samples = len(waveform.samples)
    lab_packets = draw_packets(ns, seed=3)
    lab_sub = lab_packets.head(args.lab_subsample)

    def with_lab_loop(p: Packets) -> np.ndarray:
        return expm_loop_lab_mz(waveform, *_arrays(p)[:3], **relax)

    def with_sampled(p: Packets) -> np.ndarray:
        return propagate_sampled(waveform, _ensemble(p), **relax)[None, :]

    mz_loop, t_lab_loop = _per_packet(with_lab_loop, lab_sub)
    mz_project, _ = _per_packet(with_sampled, lab_sub)
    e_sampled = _check(
        "simulator.propagate_sampled and the lab-frame expm loop",
        mz_project,
        mz_loop,
        float(np.max(np.abs(mz_loop))),
    )
    lab_ensemble = _ensemble(lab_packets)
    t_sampled = median_time(
        lambda: propagate_sampled(waveform, lab_ensemble, **relax), repeats=args.repeats
    )
    driven = int(np.count_nonzero(waveform.samples))
    lab_work = float(ns) * samples
    lab_floor = floor_seconds(
        machine, trig=2.0 * ns * driven, cmac=lab_work, bytes_moved=PACKET_BYTES * ns
    )
    rows += [
        _row(
            "scipy expm loop (sampled)",
            ns,
            samples,
            t_lab_loop * ns,
            lab_work,
            loop=t_lab_loop * ns,
            scaled=True,
        ),
        _row(
            "spin-echo propagate_sampled",
            ns,
            samples,
            t_sampled,
            lab_work,
            loop=t_lab_loop * ns,
            floor=lab_floor,
        ),
        _row(
            "machine floor (sampled)",
            ns,
            samples,
            lab_floor,
            lab_work,
            loop=t_lab_loop * ns,
            floor=lab_floor,
        ),
    ]
    print(
        f"\nagreement, max |difference| / max |signal|: shaped timeline {e_timeline:.1e} "
        f"({len(sub)} packets), sampled waveform {e_sampled:.1e} ({len(lab_sub)} packets)"
    )
    _print_table(
        f"Gaussian pulses: timeline of {segments} segments (M = detection points); AWG waveform "
        f"at 1 GS/s, {samples} samples = segments (M = samples), lab frame",
        "pkt-segments/s",
        rows,
    )
    print("* per-packet median over the subsample, scaled to N; loop vs itself = 1")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the machine floor and the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=None, help="N (default 10^6; quick 10^5)")
    parser.add_argument("--points", type=int, default=None, help="M (default 1024; quick 256)")
    parser.add_argument(
        "--sampled-packets", type=int, default=None, help="packets of the sampled workload"
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--profile", action="store_true", help="cProfile simulator.propagate")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {"packets": 10**5, "points": 256, "sampled_packets": 10**4}
    if not quick:
        defaults = {"packets": 10**6, "points": 1024, "sampled_packets": 10**5}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.repeats = 3 if quick else 5
    args.subsample = 4 if quick else 8
    args.lab_subsample = 1 if quick else 2
    for name in ("packets", "points", "sampled_packets"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    args.subsample = min(args.subsample, args.packets)
    args.lab_subsample = min(args.lab_subsample, args.sampled_packets)

    print(
        f"spin-echo propagator benchmark: {platform.processor() or platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )
    machine = measure_floor(quick=quick)
    print(
        f"machine floor: sin/cos {machine.trig_per_s:.3g}/s ({machine.trig_per_s_one_core:.3g}/s "
        f"on one core), complex multiply-add {machine.cmac_per_s:.3g}/s (zgemm), memory "
        f"{machine.copy_bytes_per_s / 1e9:.3g} GB/s copy, {machine.triad_bytes_per_s / 1e9:.3g} "
        "GB/s triad"
    )
    hahn(args, machine)
    shaped(args, machine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
