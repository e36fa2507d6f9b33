"""``spin-echo paper``: reproduce Prokof'ev & Stamp (1995) -- figures and a markdown report.

Writes into ``--outdir`` (default ``paper/``) one PNG per result, ``report.md`` (for each result
the paper's formula, the simulated value and their difference with error bars), ``metrics.json``
and the sample files the simulations used (:mod:`spin_echo.echo.paper.report`).
"""

from __future__ import annotations

import argparse
import sys

from spin_echo.echo.cli.main import whole_number
from spin_echo.echo.cli.options import add_overwrite_option, check_counts
from spin_echo.echo.paper.report import DEFAULT_PACKETS, reproduce_paper
from spin_echo.sequences.errors import InputError

__all__ = ["register", "run"]

#: Fewest packets that still leave every replica a few resonant packets.
MIN_PACKETS = 16_000


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``paper`` sub-command."""
    parser = sub.add_parser(
        "paper",
        description=(
            "Reproduce Prokof'ev & Stamp (1995) from the simulator's packet ensembles: P(t) and "
            "the Bessel series, Eq. (7), Fig. 1, Eq. (8) and the spin-echo proposal; write the "
            "figures and a markdown report comparing each simulated value with the paper's "
            "formula."
        ),
    )
    parser.add_argument("--outdir", default="paper", help="output directory (default: paper)")
    parser.add_argument(
        "--packets",
        type=whole_number,
        default=DEFAULT_PACKETS,
        help=f"packets of the spectral ensembles (default {DEFAULT_PACKETS:,}; "
        f"at least {MIN_PACKETS:,}); the pulse simulations use 1/40 and 1/160 of it",
    )
    parser.add_argument("--seed", type=whole_number, default=1, help="seed of the first replica")
    add_overwrite_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the reproduction; print where the report is; return the exit status."""
    if args.packets < MIN_PACKETS:
        raise InputError(f"must be at least {MIN_PACKETS}", key="--packets", value=args.packets)
    check_counts(args)
    report = reproduce_paper(
        args.outdir,
        packets=args.packets,
        seed=args.seed,
        progress=lambda name: print(f"spin-echo paper: {name} ...", file=sys.stderr),
        overwrite=args.overwrite,
    )
    for result in report.results:
        print(f"{result.figure}: {result.title}")
    print(f"report: {report.report_path} ({report.elapsed_s:.0f} s)")
    return 0
