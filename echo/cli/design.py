"""``spin-echo design PROTOCOL --sample SAMPLE --bench BENCH``: can the echo be seen, and how.

Predicts every sweep point of the protocol as written on the bench -- the integrated echo the
sample gives (simulated, with its Monte-Carlo error), the bench's noise for the protocol's shots
and phase cycle, their ratio -- and the measuring time; then the verdict (detectable when the
SNR is at least 3 at the best point) with the shots and time needed
(:mod:`spin_echo.echo.design`). ``--json`` prints the same as data.

The command runs in four steps, each a function, so that options plug in where they belong:
:func:`add_design_options` (more options), :func:`load_inputs` (protocol, sample, bench, the
``--noise-from`` record), :func:`check_options` (every option checked before anything is
simulated), :func:`extend_design` (an optimisation or a target added to the answer).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from spin_echo.drivers.bench import check_protocol_fits, load_bench
from spin_echo.drivers.config import BenchSpec
from spin_echo.echo.cli.main import whole_number
from spin_echo.echo.cli.options import (
    add_executor_options,
    add_overwrite_option,
    add_set_option,
    check_counts,
    parse_sets,
)
from spin_echo.echo.design.noise import bench_noise
from spin_echo.echo.design.plan import extend_design as extend_plan
from spin_echo.echo.design.plan import plan_design
from spin_echo.echo.design.report import Design, design_experiment
from spin_echo.echo.record import read_record
from spin_echo.echo.runs.executor import make_executor
from spin_echo.sequences import Protocol, load_protocol
from spin_echo.simulator import load_sample
from spin_echo.simulator.environment import FRAMES
from spin_echo.simulator.sample import Sample

__all__ = [
    "DesignInputs",
    "add_design_options",
    "check_options",
    "extend_design",
    "load_inputs",
    "register",
    "run",
]


@dataclass(frozen=True)
class DesignInputs:
    """What ``design`` works on, loaded and checked.

    Attributes
    ----------
    protocol, sample, bench
        The experiment (``--set`` applied).
    noise_record
        The ``--noise-from`` record, or None.
    noise_record_name
        Its path as given.
    """

    protocol: Protocol
    sample: Sample
    bench: BenchSpec
    noise_record: xr.Dataset | None
    noise_record_name: str


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``design`` sub-command."""
    parser = sub.add_parser(
        "design",
        description=(
            "Predict what PROTOCOL shows on BENCH with SAMPLE before going to the lab: the "
            "integrated echo at every sweep point (simulated, with its Monte-Carlo error), the "
            "bench's noise for the protocol's shots and phase cycle, the signal-to-noise ratio "
            "and the measuring time; then the verdict (detectable: SNR >= 3 at the best point) "
            "with the shots and time needed. The sample's decoherence budget (spin-echo budget) "
            "is printed beside it."
        ),
    )
    parser.add_argument("protocol", metavar="PROTOCOL", help="built-in protocol name or YAML path")
    parser.add_argument(
        "--sample", required=True, metavar="SAMPLE", help="built-in sample name or YAML path"
    )
    parser.add_argument(
        "--bench",
        required=True,
        metavar="BENCH",
        help="built-in bench name (virtual) or bench YAML path: its noise model, or its "
        "declared receiver.noise",
    )
    add_set_option(parser)
    parser.add_argument(
        "--noise-from",
        type=Path,
        metavar="REC",
        help="take the noise from a measured record's shot-to-shot scatter instead",
    )
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.add_argument("--seed", type=whole_number, help="override the sample's seed")
    parser.add_argument("--packets", type=whole_number, help="override the sample's packet count")
    parser.add_argument(
        "--frame",
        choices=FRAMES,
        default="rotating",
        help="frame of the simulation of the signal (as simulate; default rotating)",
    )
    add_executor_options(parser)
    add_design_options(parser)
    parser.set_defaults(func=run)


def add_design_options(parser: argparse.ArgumentParser) -> None:
    """Add the options of the optimisation (``--vary``, ``--target``, ``--budget``, ``-o``)."""
    parser.add_argument(
        "--vary",
        metavar="NAME[=LOW:HIGH][,...]",
        help="optimise these protocol quantities within the bench's limits: a parameter "
        "(t_pi2, carrier, window, pump_amplitude, ...), a sweep's span (tau.stop, tau.start), "
        "full_scale_rabi, repetition_time; default range a factor 4 either side",
    )
    parser.add_argument(
        "--target",
        metavar="KEY",
        help="a numeric sample key (as fit --free): predict fit's standard error of it "
        "(Cramér-Rao, Fisher information of the record); with --vary, minimise it",
    )
    parser.add_argument(
        "--budget",
        metavar="TIME",
        help="measuring time to spend (e.g. '20 s'): shots fill it (default: the protocol's)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="write the chosen protocol YAML (with --vary or --budget)"
    )
    parser.add_argument(
        "--plot", type=Path, help="figure: predicted SNR or error against each --vary parameter"
    )
    add_overwrite_option(parser)


def load_inputs(args: argparse.Namespace) -> DesignInputs:
    """Load and check the protocol, sample, bench and ``--noise-from`` record of ``args``."""
    check_counts(args)
    protocol = load_protocol(args.protocol).with_overrides(parse_sets(args.sets))
    sample = load_sample(args.sample)
    bench = load_bench(args.bench)
    check_protocol_fits(bench, protocol)
    record = None if args.noise_from is None else read_record(args.noise_from)
    name = str(args.noise_from or "")
    bench_noise(protocol, bench, record=record, record_name=name)  # refused before simulating
    return DesignInputs(protocol, sample, bench, record, name)


def check_options(args: argparse.Namespace, inputs: DesignInputs) -> None:
    """Check the optimisation's options against the inputs, before anything is simulated."""
    args.design_plan = plan_design(
        inputs.protocol,
        inputs.sample,
        inputs.bench,
        vary=args.vary,
        target=args.target,
        budget=args.budget,
        output=args.output,
        plot=args.plot,
        overwrite=args.overwrite,
        inputs=(args.protocol, args.sample, args.bench, args.noise_from),
    )


def extend_design(args: argparse.Namespace, inputs: DesignInputs, design: Design) -> Design:
    """Return ``design`` with what the optimisation's options add (unchanged without them)."""
    with make_executor(workers=args.workers, scheduler=args.scheduler) as executor:
        return extend_plan(
            args.design_plan,
            design,
            frame=args.frame,
            packets=args.packets,
            seed=args.seed,
            noise_record=inputs.noise_record,
            map_function=executor.map,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )


def run(args: argparse.Namespace) -> int:
    """Predict, judge and print; return the exit status."""
    inputs = load_inputs(args)
    check_options(args, inputs)
    with make_executor(workers=args.workers, scheduler=args.scheduler) as executor:
        design = design_experiment(
            inputs.protocol,
            inputs.sample,
            inputs.bench,
            frame=args.frame,
            packets=args.packets,
            seed=args.seed,
            noise_record=inputs.noise_record,
            noise_record_name=inputs.noise_record_name,
            map_function=executor.map,
        )
    design = extend_design(args, inputs, design)
    if args.json:
        print(json.dumps(design.to_dict(), indent=2, allow_nan=False))
    else:
        print(design.report())
    return 0
