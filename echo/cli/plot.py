"""``spin-echo plot REC [-o out.png]``: the figure a record calls for, with its fit."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import xarray as xr

from spin_echo.echo.analysis.extraction import AnalysisError
from spin_echo.echo.analysis.noise import signal_below_error
from spin_echo.echo.analysis.record_analysis import (
    ANALYSES,
    RecordAnalysis,
    analyse_record,
    classify_record,
)
from spin_echo.echo.cli.options import add_overwrite_option
from spin_echo.echo.output import OutputFile, image_formats, write_error
from spin_echo.echo.plots import plot_decay_fit, plot_hole_spectrum, plot_record, plot_spectrum
from spin_echo.echo.plots_mz import plot_mz
from spin_echo.echo.record import read_record

__all__ = ["analyse", "draw", "register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``plot`` sub-command."""
    parser = sub.add_parser(
        "plot",
        description="Draw REC with the analysis its protocol's structure calls for (whatever "
        "its name): Hahn echo, stretched-exponential decay in tau (T_M); stimulated echo, decay "
        "in the mixing time (T_stim); inversion recovery, T1; CPMG, train decay with its "
        "odd/even alternation; nutation, Rabi frequency and the calibrated full_scale_rabi; "
        "FID, its spectrum; hole burning, hole depth, width and position. Parameters are "
        "printed with their errors; a fit that fails its self-checks is marked UNRELIABLE "
        "with the reasons. Without a fit: the echo transient or the sweep map.",
    )
    parser.add_argument("record", type=Path, metavar="REC", help="record file (.nc)")
    parser.add_argument(
        "-o", "--output", type=Path, help="image file, format from the suffix (default: REC.png)"
    )
    parser.add_argument(
        "--analysis",
        choices=("auto", "none", *ANALYSES),
        default="auto",
        help="fit to draw (default: chosen from the protocol's structure; none: the record only)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="also write the analysis as JSON (parameters, errors, reliable, reasons; "
        '{"analysis": null, "notes": [...]} when there is none)',
    )
    add_overwrite_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Analyse and draw the record; return the exit status."""
    output = OutputFile(
        args.output or args.record.with_suffix(".png"),
        overwrite=args.overwrite,
        formats=image_formats(),
        inputs=(args.record,),
    )
    report = None
    if args.json is not None:
        inputs = (args.record, output.path)
        report = OutputFile(args.json, overwrite=args.overwrite, option="--json", inputs=inputs)
    dataset = read_record(args.record)
    analysis, notes = analyse(dataset, args.analysis)
    for note in notes:
        print(f"spin-echo: note: {note}", file=sys.stderr)
    label = signal_below_error(dataset)
    if label:
        print(f"note: {label}")
    with output:
        text = draw(dataset, analysis, output.partial)
        if text:
            print(text)
    if report is not None:
        data = analysis.as_dict() if analysis is not None else {"analysis": None, "notes": notes}
        with report:
            try:
                report.partial.write_text(json.dumps(data, indent=2) + "\n")
            except OSError as err:
                raise write_error(report.path, err) from None
    print(f"plot: {output.path}")
    return 0


def analyse(dataset: xr.Dataset, kind: str = "auto") -> tuple[RecordAnalysis | None, list[str]]:
    """Run the analysis ``plot`` draws for ``dataset``: the one its protocol calls for, or ``kind``.

    Parameters
    ----------
    dataset
        A record (:func:`~spin_echo.echo.record.read_record`), complete or not.
    kind
        ``"auto"``, ``"none"`` or one of :data:`~spin_echo.echo.analysis.record_analysis.ANALYSES`.

    Returns
    -------
    analysis : RecordAnalysis or None
        None when no analysis applies (or ``kind="none"``).
    notes : list of str
        Why no fit is drawn, when ``kind="auto"`` finds none (``plot`` prints them as notes).

    Raises
    ------
    AnalysisError
        The analysis named by ``kind`` does not fit the record.
    """
    if kind == "none":
        return None, []
    try:
        analysis = analyse_record(dataset, kind)
    except AnalysisError as err:
        if kind != "auto":
            raise
        family = classify_record(dataset).name or "the"
        return None, [f"no {family} fit drawn: {err}"]
    family = classify_record(dataset)
    if analysis is None and kind == "auto" and not family.name:
        return None, [f"no analysis: {family.reason}"]
    return analysis, []


def draw(dataset: xr.Dataset, analysis: RecordAnalysis | None, path: Path) -> str:
    """Draw the figure of ``plot`` for ``dataset`` and its ``analysis`` into ``path``.

    Parameters
    ----------
    dataset
        The record.
    analysis
        What :func:`analyse` returned for it.
    path
        The image file to write (format from the suffix).

    Returns
    -------
    str
        What ``plot`` prints about it: the fit report, ``FID spectrum drawn, no fit``, or ``""``.
    """
    if analysis is not None and analysis.y_name == "m_z":  # a teslameter's held m_z
        plot_mz(dataset, analysis, path)
        return analysis.report() or "m_z against the sweep, no fit"
    if analysis is None or analysis.fit is None:
        if analysis is not None and analysis.kind == "spectrum":
            plot_spectrum(dataset, path)
            return "FID spectrum drawn, no fit"
        plot_record(dataset, path)
        return ""
    derived = [d.line() for d in analysis.derived]
    if analysis.kind == "hole":
        plot_hole_spectrum(analysis.fit, path, y_units=analysis.y_units,
                           x_name=analysis.x_name, notes=analysis.notes)  # fmt: skip
    else:
        plot_decay_fit(analysis.fit, path, x_name=analysis.x_name,
                       x_units=analysis.x_units, y_units=analysis.y_units,
                       notes=analysis.notes, derived=derived)  # fmt: skip
    return analysis.report()
