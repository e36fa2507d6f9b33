"""``spin-echo run PROTOCOL --bench BENCH``: play a protocol on the virtual bench or on hardware."""

from __future__ import annotations

import argparse
from pathlib import Path

from spin_echo.drivers import load_bench, open_bench
from spin_echo.drivers.bench import check_protocol_fits
from spin_echo.echo.cli.main import whole_number
from spin_echo.echo.cli.options import (
    add_live_option,
    add_overwrite_option,
    add_resume_option,
    add_set_option,
    check_counts,
    parse_sets,
    record_outputs,
)
from spin_echo.echo.runs.lab_run import run_protocol
from spin_echo.echo.runs.progress import Progress
from spin_echo.echo.runs.simulation import check_protocol_drift
from spin_echo.sequences import load_protocol
from spin_echo.simulator import load_sample

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` sub-command."""
    parser = sub.add_parser(
        "run",
        description="For each sweep point and phase step: compile for the bench's AWG, "
        "upload, arm, trigger, acquire `shots` times, average, demodulate at the carrier, "
        "combine the phase cycle, and append to a NetCDF record (source run:<bench>).",
    )
    parser.add_argument("protocol", metavar="PROTOCOL", help="built-in protocol name or YAML path")
    parser.add_argument(
        "--bench", required=True, metavar="BENCH", help="built-in bench (virtual) or YAML path"
    )
    parser.add_argument(
        "--sample", metavar="SAMPLE", help="sample behind the virtual bench (name or YAML path)"
    )
    add_set_option(parser)
    parser.add_argument(
        "-o", "--output", type=Path, help="record file (default: PROTOCOL-BENCH-<time>.nc)"
    )
    parser.add_argument("--plot", type=Path, metavar="PNG", help="also draw the record")
    add_overwrite_option(parser)
    add_resume_option(parser)
    add_live_option(parser)
    parser.add_argument("--seed", type=whole_number, help="noise seed of a virtual detector")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print every SCPI command the run would send; contact no instrument",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the protocol on the bench, write the record, optionally plot; return the status.

    Every option and output path is checked before an instrument is contacted.
    """
    check_counts(args)
    protocol = load_protocol(args.protocol).with_overrides(parse_sets(args.sets))
    spec = load_bench(args.bench)
    check_protocol_fits(spec, protocol)
    sample = load_sample(args.sample) if args.sample is not None else None
    if sample is not None and spec.is_virtual:  # the simulator plays every waveform
        check_protocol_drift(protocol, sample, sample.packets)
    if args.dry_run:
        with open_bench(spec, sample=sample, dry_run=print) as bench:
            run_protocol(protocol, bench, None, dry_run=True)
        return 0
    inputs = (args.protocol, args.bench, args.sample)
    known = {"protocol": protocol.to_yaml(), "bench": spec.text, "source": f"run:{spec.name}"}
    if sample is not None:
        known["sample"] = sample.to_yaml()
    stem = f"{protocol.name}-{spec.name}"
    with (
        record_outputs(args, stem=stem, inputs=inputs, resume_attrs=known) as output,
        open_bench(spec, sample=sample, seed=args.seed) as bench,
    ):
        run_protocol(
            protocol,
            bench,
            output,
            sample=sample,
            overwrite=args.overwrite,
            resume=args.resume,
            progress=Progress(0, f"run {protocol.name} on {bench.spec.name}"),
        )
    return 0
