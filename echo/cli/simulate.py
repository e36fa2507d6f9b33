"""``spin-echo simulate PROTOCOL --sample SAMPLE``: the main job, a simulated experiment."""

from __future__ import annotations

import argparse
from pathlib import Path

from spin_echo.echo.cli.main import whole_number
from spin_echo.echo.cli.options import (
    add_executor_options,
    add_live_option,
    add_overwrite_option,
    add_resume_option,
    add_set_option,
    check_counts,
    parse_sets,
    record_outputs,
)
from spin_echo.echo.runs.executor import make_executor
from spin_echo.echo.runs.progress import Progress
from spin_echo.echo.runs.simulation import simulate_protocol
from spin_echo.sequences import load_protocol
from spin_echo.simulator import load_sample
from spin_echo.simulator.environment import FRAMES

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` sub-command."""
    parser = sub.add_parser(
        "simulate",
        description="Run every sweep point and phase step of PROTOCOL through the "
        "density-matrix propagator over SAMPLE's ensemble, and write a NetCDF record.",
    )
    parser.add_argument("protocol", metavar="PROTOCOL", help="built-in protocol name or YAML path")
    parser.add_argument(
        "--sample", required=True, metavar="SAMPLE", help="built-in sample name or YAML path"
    )
    add_set_option(parser)
    parser.add_argument(
        "-o", "--output", type=Path, help="record file (default: PROTOCOL-SAMPLE-<time>.nc)"
    )
    parser.add_argument("--plot", type=Path, metavar="PNG", help="also draw the record")
    add_overwrite_option(parser)
    add_resume_option(parser)
    add_live_option(parser)
    parser.add_argument("--seed", type=whole_number, help="override the sample's seed")
    parser.add_argument("--packets", type=whole_number, help="override the sample's packet count")
    parser.add_argument(
        "--frame",
        choices=FRAMES,
        default="rotating",
        help="rotating: rotating-wave approximation, fast (default); lab: exact, with the "
        "carrier, as the virtual bench plays the sampled waveform",
    )
    add_executor_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Simulate, write the record, optionally plot; return the exit status.

    Every option and output path (with ``--resume``, the record to continue) is checked before
    the first packet is drawn.
    """
    check_counts(args)
    protocol = load_protocol(args.protocol).with_overrides(parse_sets(args.sets))
    sample = load_sample(args.sample)
    stem = f"{protocol.name}-{sample.name}"
    known = {"protocol": protocol.to_yaml(), "sample": sample.to_yaml(), "frame": args.frame}
    with (
        record_outputs(
            args, stem=stem, inputs=(args.protocol, args.sample), resume_attrs=known
        ) as output,
        make_executor(workers=args.workers, scheduler=args.scheduler) as executor,
    ):
        simulate_protocol(
            protocol,
            sample,
            output,
            seed=args.seed,
            packets=args.packets,
            frame=args.frame,
            map_function=executor.map,
            overwrite=args.overwrite,
            resume=args.resume,
            progress=Progress(0, f"simulate {protocol.name}"),
        )
    return 0
