"""``spin-echo plot REC [-o out.png]``: the figure a record calls for, with its fit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spin_echo.echo.analysis.extraction import AnalysisError
from spin_echo.echo.analysis.record_analysis import ANALYSES, analyse_record
from spin_echo.echo.cli.options import add_overwrite_option
from spin_echo.echo.output import OutputFile, image_formats
from spin_echo.echo.plots import plot_decay_fit, plot_hole_spectrum, plot_record
from spin_echo.echo.record import read_record

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``plot`` sub-command."""
    parser = sub.add_parser(
        "plot",
        help="draw a record, with the fit its protocol calls for",
        description="Draw REC: the fit its protocol calls for (Hahn or stimulated echo: "
        "stretched-exponential decay; cpmg: train decay; inversion-recovery: T1; nutation: "
        "frequency; hole-burning: hole depth and width) with the parameters printed, or else "
        "the echo transient (no sweep) or the sweep map with the integrated echo.",
    )
    parser.add_argument("record", type=Path, metavar="REC", help="record file (.nc)")
    parser.add_argument(
        "-o", "--output", type=Path, help="image file, format from the suffix (default: REC.png)"
    )
    add_overwrite_option(parser)
    parser.add_argument(
        "--analysis",
        choices=("auto", "none", *ANALYSES),
        default="auto",
        help="fit to draw (default: chosen from the protocol; none: the record only)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Analyse and draw the record; return the exit status."""
    output = OutputFile(
        args.output or args.record.with_suffix(".png"),
        overwrite=args.overwrite,
        formats=image_formats(),
        inputs=(args.record,),
    )
    dataset = read_record(args.record)
    analysis = None
    if args.analysis != "none":
        try:
            analysis = analyse_record(dataset, args.analysis)
        except AnalysisError as err:
            if args.analysis != "auto":
                raise
            print(f"spin-echo: note: no fit drawn: {err}", file=sys.stderr)
    with output:
        if analysis is None:
            plot_record(dataset, output.partial)
        elif analysis.kind == "hole":
            print(analysis.fit.summary())
            plot_hole_spectrum(analysis.fit, output.partial, y_units=analysis.y_units)
        else:
            print(analysis.fit.summary())
            plot_decay_fit(
                analysis.fit,
                output.partial,
                x_name=analysis.x_name,
                x_units=analysis.x_units,
                y_units=analysis.y_units,
            )
    print(f"plot: {output.path}")
    return 0
