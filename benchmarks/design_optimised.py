r"""Does ``design --vary`` really help? The optimised protocol's fit error against the built-in's.

``python -m benchmarks.design_optimised [--seeds N] [--packets N]``. The question of issue 16:
for the same measuring time, does the protocol ``spin-echo design --vary ... --target KEY``
chooses give a smaller ``fit`` error on the virtual bench than the built-in protocol? Both are
*measured*, not predicted:

1. the sample: ``bare-t2`` with T2 = 4 µs (the built-in ``hahn-echo`` sweeps tau to 40 µs,
   made for T2 = 20 µs: most of its points see no echo) and ``--packets`` packets;
2. the optimisation: ``design hahn-echo --vary tau.stop=4us:40us,t_pi2 --target relaxation.T2``
   in the built-in's own time (:mod:`spin_echo.echo.design.optimise`; ``--vary`` to change);
3. for each protocol, ``--seeds`` runs on the virtual bench (detector noise seeds 0, 1, ...)
   and ``fit --free relaxation.T2 --frame lab`` of each record;
   the scatter of the fitted T2 (with its standard error ``s/sqrt(2(n-1))``) against the
   predicted error (:func:`spin_echo.echo.design.fisher.predict_errors`).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from spin_echo.drivers.bench import load_bench, open_bench
from spin_echo.echo.analysis.fit_sample import fit_sample
from spin_echo.echo.design.knobs import parse_vary
from spin_echo.echo.design.objective import evaluator
from spin_echo.echo.design.optimise import optimise
from spin_echo.echo.design.plan import extend_design, plan_design
from spin_echo.echo.design.report import design_experiment
from spin_echo.echo.record import read_record
from spin_echo.echo.runs.lab_run import run_protocol
from spin_echo.sequences import Protocol, load_protocol
from spin_echo.simulator import Sample, load_sample

__all__ = ["fit_scatter", "main"]

KEY = "relaxation.T2"


def fit_scatter(
    protocol: Protocol, sample: Sample, seeds: int, folder: Path
) -> tuple[float, float, float]:
    """Return (mean, scatter, its standard error) of ``seeds`` fitted T2 on the virtual bench."""
    values = []
    for seed in range(seeds):  # the detector's noise seed
        path = folder / f"run-{seed}.nc"
        with open_bench(load_bench("virtual"), sample=sample, seed=seed) as bench:
            run_protocol(protocol, bench, path, sample=sample, overwrite=True)
        fit = fit_sample(read_record(path), sample, [KEY], frame="lab")
        values.append(fit.values[0])
    scatter = float(np.std(values, ddof=1))
    return float(np.mean(values)), scatter, scatter / np.sqrt(2 * (seeds - 1))


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30, help="bench runs per protocol")
    parser.add_argument("--packets", type=int, default=500, help="packets of the sample")
    parser.add_argument("--vary", default="tau.stop=4us:40us,t_pi2", help="what design varies")
    args = parser.parse_args(argv)
    sample = load_sample("bare-t2").with_values(packets=args.packets, **{KEY: "4 us"})
    builtin = load_protocol("hahn-echo")
    bench = load_bench("virtual")
    started = time.perf_counter()
    result = optimise(
        builtin,
        parse_vary(args.vary, builtin, bench),
        evaluator(sample, bench, target=KEY),
        bench=bench,
        target=KEY,
    )
    chosen = result.best.protocol
    assert chosen is not None
    print(f"optimisation: {len(result.history)} protocols, {time.perf_counter() - started:.0f} s")
    print(f"chosen: {result.best.values}, shots {chosen.shots}, time {result.best.time_s:.4g} s")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, protocol in (("built-in", builtin), ("optimised", chosen)):
            plan = plan_design(protocol, sample, bench, target=KEY)
            design = extend_design(plan, design_experiment(protocol, sample, bench))
            predicted = design.extra["predicted_error"][0]
            started = time.perf_counter()
            mean, scatter, error = fit_scatter(protocol, sample, args.seeds, Path(folder))
            rows.append((label, predicted, scatter, error, mean))
            print(
                f"{label:>10}: predicted {predicted * 1e9:.1f} ns, scatter of {args.seeds} fits "
                f"{scatter * 1e9:.1f} ± {error * 1e9:.1f} ns (ratio {predicted / scatter:.2f}), "
                f"mean T2 {mean * 1e6:.3f} us, {time.perf_counter() - started:.0f} s"
            )
    (_, p0, s0, e0, _), (_, p1, s1, e1, _) = rows
    print(
        f"error ratio built-in/optimised: predicted {p0 / p1:.2f}, measured {s0 / s1:.2f} "
        f"± {s0 / s1 * np.hypot(e0 / s0, e1 / s1):.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
