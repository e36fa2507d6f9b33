"""``spin-echo fit MEASURED.nc --sample SAMPLE --free NAME[,NAME...]``: learn sample parameters."""

from __future__ import annotations

import argparse
from pathlib import Path

from spin_echo.echo.analysis.fit_sample import fit_sample
from spin_echo.echo.analysis.fit_yaml import format_with_error, unit_of_key
from spin_echo.echo.cli.main import whole_number
from spin_echo.echo.cli.options import (
    add_executor_options,
    add_overwrite_option,
    add_set_option,
    check_counts,
    parse_sets,
)
from spin_echo.echo.output import OutputFile, write_error
from spin_echo.echo.record import read_record
from spin_echo.echo.runs.executor import make_executor
from spin_echo.sequences.errors import InputError
from spin_echo.simulator import load_sample

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``fit`` sub-command."""
    parser = sub.add_parser(
        "fit",
        description="Re-run the record's protocol through the simulator on SAMPLE and adjust "
        "the --free sample keys by least squares against the measured signal (one complex "
        "scale factor profiled out; the same seed at every evaluation), then write the fitted "
        "sample YAML with the standard errors as comments. Start values are the sample's "
        "(change them with --set KEY=VALUE). A fit that fails its self-checks (a value at a "
        "bound or its start, an error beyond the value or the range, chi-square outside its "
        "band or not quadratic within an error, no convergence) prints UNRELIABLE with the "
        "reasons.",
    )
    parser.add_argument("measured", type=Path, metavar="MEASURED.nc", help="measured record")
    parser.add_argument(
        "--sample", required=True, metavar="SAMPLE", help="built-in sample name or YAML path"
    )
    parser.add_argument(
        "--free",
        required=True,
        metavar="NAME[,NAME...]",
        help="dotted sample keys to fit, e.g. relaxation.T2,bias.width",
    )
    add_set_option(parser, what="a sample key's start value", example='relaxation.T2="26 us"')
    parser.add_argument(
        "-o", "--output", type=Path, help="fitted sample YAML (default: SAMPLE-fitted.yaml)"
    )
    add_overwrite_option(parser)
    parser.add_argument(
        "--seed", type=whole_number, help="seed of every simulation (default: sample's)"
    )
    parser.add_argument(
        "--packets", type=whole_number, help="packets per simulation (default: sample's)"
    )
    parser.add_argument(
        "--noise",
        type=float,
        metavar="SIGMA",
        help="noise per quadrature of the measured signal (default: estimated from it)",
    )
    parser.add_argument(
        "--frame",
        choices=("rotating", "lab"),
        default="rotating",
        help="simulation frame: rotating (RWA, fast; default) or lab (exact, as the virtual "
        "bench; use it for records from --bench virtual)",
    )
    parser.add_argument(
        "--fixed-scale",
        action="store_true",
        help="compare without a free gain and phase (both records in normalised units)",
    )
    parser.add_argument(
        "--max-evaluations", type=whole_number, default=200, help="largest number of simulations"
    )
    add_executor_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Fit, print the result, write the fitted sample; return the exit status."""
    free = [name.strip() for name in args.free.split(",") if name.strip()]
    check_counts(args)
    if args.max_evaluations < 1:
        raise InputError(
            "must be a positive whole number", key="--max-evaluations", value=args.max_evaluations
        )
    output = OutputFile(
        args.output or Path(f"{Path(args.sample).stem}-fitted.yaml"),
        overwrite=args.overwrite,
        inputs=(args.measured, args.sample),
    )
    sample = load_sample(args.sample)
    sets = parse_sets(args.sets)
    if sets:
        sample = sample.with_overrides(sets)
    # the output is locked from here: a second writer of the same file is refused
    with output, make_executor(workers=args.workers, scheduler=args.scheduler) as executor:
        result = fit_sample(
            read_record(args.measured),
            sample,
            free,
            seed=args.seed,
            packets=args.packets,
            noise_sigma=args.noise,
            fit_scale=not args.fixed_scale,
            frame=args.frame,
            max_evaluations=args.max_evaluations,
            map_function=executor.map,
        )
        try:
            output.partial.write_text(result.to_yaml(record=str(args.measured)), encoding="utf-8")
        except OSError as err:
            raise write_error(output.path, err) from None
    print(f"fit {args.measured} with sample {sample.name}: {result.evaluations} evaluations")
    if not result.converged:
        print(f"  not converged within {args.max_evaluations} evaluations (--max-evaluations)")
    for parameter, value, error in zip(
        result.parameters, result.values, result.errors, strict=True
    ):
        print(f"  {parameter.key} = {format_with_error(value, error, unit_of_key(parameter.key))}")
    print(f"  reduced chi-square = {result.chi2_reduced:.4g} ({result.dof} dof)")
    print(f"  noise sigma = {result.noise_sigma:.4g} per quadrature ({result.noise_source})")
    if not result.health.reliable:
        print(f"  {result.health.line()}")
    print(f"fitted sample: {output.path}")
    return 0
