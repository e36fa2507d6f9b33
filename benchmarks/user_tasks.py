r"""End-to-end user tasks of issue 14, each timed against its reference in the same run.

``python -m benchmarks.user_tasks [--quick]``. Every task runs as the user runs it, the
``spin-echo`` command line in a subprocess (start-up, imports, record writing included), and
every reference in the same sitting, so that the printed ratios hold on a machine whose load
changes between runs:

1. ``simulate`` of a one-point Hahn echo (the library's ``hahn-echo`` without its sweep, 1024
   detection points, both phase steps; sample ``bare-t2``, 10^6 packets, 10^5 with
   ``--quick``) against a plain numpy script of the same physics (closed-form rotating-frame
   rotations, free precession with T2, detection as a direct sum over packets, both phase
   steps combined; T2 is left out during the pulses, which have no closed form with it), run
   the same way, and against the start-up floor: a process that only imports numpy, netCDF4
   and numba, loads a cached kernel (what the command cannot avoid before a packet moves) and
   leaves as the command leaves; beside it the same command called a second time in one
   process (the task without the process's start-up), and the sum of the two;
2. ``spin-echo --help`` and ``spin-echo protocols`` (target < 0.3 s, no reference);
3. ``simulate hahn-echo --frame lab`` at 1000 packets (12 tau x 2 phase steps), samples
   ``bare`` and ``bare-t2``, against the same command in the rotating frame;
4. the virtual-bench ``run hahn-echo --bench virtual --sample bare`` against the
   rotating-frame ``simulate hahn-echo --sample bare``;
5. the README's worked-example fit (``--frame lab``, a ``hahn-echo-exorcycle`` record of the
   virtual bench; with the fit's own checks) against the same fit through the
   step-by-step lab-frame path (``SPIN_ECHO_LAB_METHOD=exact``; left out with ``--quick``, it
   takes minutes).

Row 3 also runs the step-by-step lab-frame path (``SPIN_ECHO_LAB_METHOD=exact``, the lab
frame's reference and its path before issue 14; it shares the rest of today's code, such as the
Monte-Carlo groups from one propagation).

Peak memory is the largest resident set of the task's child processes, and CPU time their
user + system time (``resource.getrusage(RUSAGE_CHILDREN)``, read in a fresh helper process per
task): on a shared machine the CPU time moves less with the load than the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

__all__ = ["main", "run_task"]

PYTHON = sys.executable
CLI = [PYTHON, "-m", "spin_echo.echo.cli"]
#: Environment of the step-by-step lab-frame path (:data:`simulator.lab.frame.METHOD_ENV`).
EXACT = {"SPIN_ECHO_LAB_METHOD": "exact"}

_HAHN_ONE = """\
name: hahn-one
description: The library's hahn-echo without its sweep, 1024 points (benchmarks/user_tasks.py).
parameters: {carrier: 4 MHz, t_pi2: 500 ns, tau: 5 us, window: 4 us}
sequence:
  - pulse: {angle: pi/2, duration: t_pi2, phase: 0 deg}
  - delay: tau
  - pulse: {angle: pi, duration: 2*t_pi2, phase: 90 deg}
  - delay: tau - window/2
  - detect: {duration: window, points: 1024}
phase_cycle:
  - {pulses: [0 deg, 0 deg], receiver: +1}
  - {pulses: [180 deg, 0 deg], receiver: -1}
full_scale_rabi: 1 MHz
"""

_NUMPY_ECHO = """\
import sys
import numpy as np
n, points = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(1)
delta = 1e6 * np.exp(0.05 * rng.standard_normal(n))
eps = 0.3e6 * rng.standard_normal(n)
E = np.hypot(eps, 2 * delta)
kappa = 2 * delta / E
fc, rabi, tp, tau, window, t2 = 4e6, 0.5e6, 500e-9, 5e-6, 4e-6, 20e-6

def rotate(m, z, phase, duration):
    ox = kappa * rabi * np.cos(phase)
    oy = kappa * rabi * np.sin(phase)
    oz = 2 * E - fc
    w = np.sqrt(ox**2 + oy**2 + oz**2)
    nx, ny, nz = ox / w, oy / w, oz / w
    a = 2 * np.pi * w * duration
    c, s = np.cos(a), np.sin(a)
    x, y = m.real, m.imag
    d = (nx * x + ny * y + nz * z) * (1 - c)
    x1 = x * c + (ny * z - nz * y) * s + nx * d
    y1 = y * c + (nz * x - nx * z) * s + ny * d
    return x1 + 1j * y1, z * c + (nx * y - ny * x) * s + nz * d

t = tau - window / 2 + np.arange(points) * window / points
signal = np.zeros(points, complex)
for first, receiver in ((0.0, 1.0), (np.pi, -1.0)):
    m, z = np.zeros(n, complex), -np.ones(n)
    m, z = rotate(m, z, first, tp)
    m = m * np.exp((2j * np.pi * (2 * E - fc) - 1 / t2) * tau)
    m, z = rotate(m, z, np.pi / 2, 2 * tp)
    for lo in range(0, n, 8192):
        sl = slice(lo, lo + 8192)
        phases = np.exp(np.outer(t, 2j * np.pi * (2 * E[sl] - fc)) - t[:, None] / t2)
        signal -= receiver * np.conj(phases @ (kappa[sl] * m[sl])) / (2 * n)
print(abs(signal).max())
"""

#: What row 1 cannot avoid: the interpreter, numpy, netCDF4 (the record) and numba with the
#: kernels it runs loaded from numba's cache (the first call starts numba's CPU target); it
#: leaves as the command leaves, its objects frozen (:func:`spin_echo.echo.cli.main.main`).
_FLOOR = """\
import gc
import numpy as np
import netCDF4
from spin_echo.simulator.kernels import numba_backend, nufft
numba_backend.dot(np.ones(4), np.ones(4))
gc.freeze()
"""

#: Row 1's command run twice in one process (``main`` of the command line, as the ``spin-echo``
#: script calls it): the second call is the task without the process's start-up.
_WARM = """\
import json, sys, time
from spin_echo.echo.cli.main import main
argv = json.loads(sys.argv[1])
times = []
for k in range(2):
    start = time.perf_counter()
    assert main([*argv, "-o", f"{sys.argv[2]}{k}.nc"]) == 0
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""

_RUNNER = """\
import json, resource, subprocess, sys, time
command, env = json.loads(sys.argv[1]), json.loads(sys.argv[2])
start = time.perf_counter()
done = subprocess.run(command, env=env, capture_output=True, text=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": done.returncode, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "peak_mb": usage.ru_maxrss / 1024, "err": done.stderr[-400:]}))
"""


def run_task(command: list[str], *, env: dict[str, str] | None = None) -> dict:
    """Run ``command`` in a fresh helper process; return its wall and CPU time and peak memory.

    Raises
    ------
    RuntimeError
        If the command fails.
    """
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        [PYTHON, "-c", _RUNNER, json.dumps(command), json.dumps(full_env)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result['err']}")
    return result


def run_warm(argv: list[str], output_stem: str) -> dict:
    """Time ``spin-echo ARGV`` a second time in the process that ran it once.

    Returns
    -------
    dict
        ``wall_s`` of the second call (CPU time and memory not measured: ``nan`` and 0).
    """
    done = subprocess.run(
        [PYTHON, "-c", _WARM, json.dumps(argv), output_stem],
        capture_output=True,
        text=True,
        check=True,
    )
    return {"wall_s": json.loads(done.stdout.splitlines()[-1])[1], "cpu_s": float("nan"),
            "peak_mb": 0.0}  # fmt: skip


def _row(task: str, got: dict, reference: dict | None, ref_name: str, target: str) -> None:
    ratio = f"{got['wall_s'] / reference['wall_s']:7.2f}x" if reference else "      -"
    ref_s = f"{reference['wall_s']:8.2f}" if reference else "       -"
    ref_cpu = f"{reference['cpu_s']:7.2f}" if reference else "      -"
    cpu = f"{got['cpu_s']:7.2f}" if got["cpu_s"] == got["cpu_s"] else "      -"
    peak = f"{got['peak_mb']:7.0f}" if got["peak_mb"] else "      -"
    print(
        f"{task:<44} {got['wall_s']:8.2f} {cpu} {ref_s} {ref_cpu} {ratio}  "
        f"{peak}  {ref_name:<26} {target}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the tasks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^5 packets, no reference fit")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="spin-echo-tasks-"))
    packets = 100_000 if args.quick else 1_000_000
    (work / "hahn-one.yaml").write_text(_HAHN_ONE)
    (work / "echo.py").write_text(_NUMPY_ECHO)
    print(f"{'task':<44} {'time s':>8} {'cpu s':>7} {'ref s':>8} {'ref cpu':>7} {'ratio':>8}  "
          f"{'peak MB':>7}  {'reference':<26} target")  # fmt: skip
    names = (str(work / f"out{k}.nc") for k in range(1000))
    row1 = ["simulate", str(work / "hahn-one.yaml"), "--sample", "bare-t2", "--packets",
            str(packets)]  # fmt: skip
    one = run_task([*CLI, *row1, "-o", next(names)])
    floor = run_task([PYTHON, "-c", _FLOOR])
    warm = run_warm(row1, str(work / "warm"))
    script = run_task([PYTHON, str(work / "echo.py"), str(packets), "1024"])
    _row(f"1 simulate one Hahn echo, {packets} pk x 1024", one, floor, "start-up floor",
         "<= 0.5 s")  # fmt: skip
    _row("  start-up floor: numpy, netCDF4, numba", floor, None, "-", "(reference)")
    _row("  the same simulate, 2nd call in one process", warm, None, "-", "(reference)")
    _row("  start-up floor + 2nd call", {"wall_s": floor["wall_s"] + warm["wall_s"],
         "cpu_s": float("nan"), "peak_mb": 0.0}, None, "-", "(reference)")  # fmt: skip
    _row("  plain numpy script (direct sum)", script, None, "-", "(reference)")
    for command in (["--help"], ["protocols"]):
        _row(f"2 spin-echo {' '.join(command)}", run_task([*CLI, *command]), None, "-", "< 0.3 s")
    for sample in ("bare", "bare-t2"):
        base = [*CLI, "simulate", "hahn-echo", "--sample", sample, "--packets", "1000", "-o"]
        rotating = run_task([*base, next(names)])
        lab = run_task([*base, next(names), "--frame", "lab"])
        _row(f"3 simulate --frame lab, {sample}, 1000 pk", lab, rotating, "rotating frame",
             "<= 1.5x")  # fmt: skip
        former = run_task([*base, next(names), "--frame", "lab"], env=EXACT)
        _row("  the same, step-by-step lab path", former, rotating, "rotating frame", "(reference)")
    rotating = run_task([*CLI, "simulate", "hahn-echo", "--sample", "bare", "-o", next(names)])
    bench = run_task([*CLI, "run", "hahn-echo", "--bench", "virtual", "--sample", "bare",
                      "-o", str(work / "measured-bare.nc")])  # fmt: skip
    _row("4 run --bench virtual, bare", bench, rotating, "rotating simulate", "<= 3x")
    grains = work / "grains.yaml"
    grains.write_text(textwrap.dedent("""\
        name: grains
        description: Bare grains with a phenomenological T2.
        spin: 4000
        g: 2.0
        tunnel_splitting: {distribution: lognormal, median: 1 MHz, sigma: 0.05}
        bias: {distribution: gaussian, mean: 0 Hz, width: 0.3 MHz}
        orientation: {distribution: fixed, theta: 0 deg}
        packets: 1000
        seed: 1
        temperature: 0 K
        relaxation: {T2: 20 us}
        """))  # fmt: skip
    measured = str(work / "measured.nc")
    run_task([*CLI, "run", "hahn-echo-exorcycle", "--bench", "virtual", "--sample", str(grains),
              "-o", measured])  # fmt: skip
    fit = [*CLI, "fit", measured, "--sample", str(grains), "--set", "relaxation.T2=26 us",
           "--set", "bias.width=0.21 MHz", "--free", "relaxation.T2,bias.width",
           "--frame", "lab", "-o"]  # fmt: skip
    new = run_task([*fit, str(work / "fitted.yaml")])
    old = None
    if not args.quick:
        old = run_task([*fit, str(work / "fitted-exact.yaml")], env=EXACT)
    _row("5 README fit --frame lab", new, old, "step-by-step lab path", "<= 15 s")
    print(f"(files in {work}; {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
