"""``spin-echo compare MEASURED.nc SIMULATED.nc``: one scale factor, residual, chi-square."""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from spin_echo.echo.analysis.compare import Comparison, compare_records
from spin_echo.echo.analysis.mz import QUANTITIES
from spin_echo.echo.cli.options import add_overwrite_option, image_output
from spin_echo.echo.plots import plot_compare
from spin_echo.echo.plots_mz import plot_mz_compare
from spin_echo.echo.record import read_record
from spin_echo.echo.units_format import format_quantity, short_units

__all__ = ["format_value", "register", "report", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` sub-command."""
    parser = sub.add_parser(
        "compare",
        description="Align MEASURED and SIMULATED on their common time and sweep axes "
        "(interpolating the simulation onto the measured grid), fit one complex scale factor "
        "(amplitude and phase) and report the residual, the reduced chi-square with the noise of "
        "the measured record (its shot-to-shot standard error where stored, else fourth "
        "differences at the receiver's resolution), and the mismatch at every sweep point. "
        "A teslameter's record (its signal is the m_z the sequence left behind) is compared "
        "with the simulated record's mz at the last detection time, with one real gain and "
        "the shot-to-shot scatter of m_z. Exit 2 when the records cannot be compared.",
    )
    parser.add_argument("measured", type=Path, metavar="MEASURED.nc", help="measured record")
    parser.add_argument("simulated", type=Path, metavar="SIMULATED.nc", help="simulated record")
    parser.add_argument(
        "--noise",
        type=float,
        metavar="SIGMA",
        help="noise per quadrature of the measured signal, in its units (default: estimated)",
    )
    parser.add_argument(
        "--quantity",
        choices=QUANTITIES,
        default="auto",
        help="what to compare: signal (the demodulated signal) or mz (both records' mz; for a "
        "SQUID loop's record, chi-square only with --noise); auto: mz for a teslameter's "
        "record, else signal",
    )
    parser.add_argument(
        "--plot", type=Path, metavar="PNG", help="overlay of both records, residuals below"
    )
    add_overwrite_option(parser)
    parser.set_defaults(func=run)


def format_value(value: float, units: str) -> str:
    """Return ``value`` with an SI prefix, e.g. ``format_value(2e-6, "s") == "2 µs"``."""
    return format_quantity(value, units)


def report(comparison: Comparison, names: tuple[str, str]) -> str:
    """Return the text report of a comparison (what ``spin-echo compare`` prints)."""
    units = short_units(str(comparison.measured.attrs.get("units", "")))
    scale = comparison.scale
    magnitude = abs(scale)
    phase_error = np.degrees(comparison.scale_error / magnitude) if magnitude else float("inf")
    mz = comparison.quantity == "mz"
    lines = [
        f"compare {names[0]} (measured) with {names[1]} (simulated)" + (": m_z" if mz else ""),
        "  common grid: "
        + ", ".join(f"{dim} {size} points" for dim, size in comparison.measured.sizes.items()),
    ]
    lines += [f"  {note}" for note in comparison.notes]
    if mz:
        error = comparison.scale_error
        shown = f" ± {error:.2g}" if np.isfinite(error) else ""
        lines.append(f"  scale: c = {scale.real:.6g}{shown} (real: a calibration gain; m_z has "
                     "no phase)")  # fmt: skip
    else:
        phase = np.degrees(np.angle(scale))
        lines.append(f"  scale: |c| = {magnitude:.6g} ± {comparison.scale_error:.2g}, "
                     f"arg c = {phase:.3f} ± {phase_error:.2g} deg")  # fmt: skip
    per = "" if mz else " per quadrature"
    noise = f"  noise: {comparison.noise_source}"
    if np.isfinite(comparison.noise_sigma):
        noise = (f"  noise: sigma = {comparison.noise_sigma:.4g} ± {comparison.noise_error:.2g} "
                 f"{units}{per} ({comparison.noise_source})")  # fmt: skip
    lines += [
        noise,
        f"  residual: rms {comparison.rms_residual:.4g} {units}, "
        f"relative {100 * comparison.relative_residual:.3g} %",
        "  reduced chi-square: " + _chi2_line(comparison),
    ]
    if not comparison.health.reliable:
        lines.append("  " + comparison.health.line())
    per_point = comparison.per_point
    dims = list(per_point.dims)
    if dims:
        lines.append("  per sweep point:")
        header = "".join(f"{dim:>14}" for dim in dims)
        lines.append(f"    {header}  {'rms residual':>14}  {'relative':>9}  {'chi2/dof':>9}")
        axis_units = {d: str(comparison.measured[d].attrs.get("units", "")) for d in dims}
        for index in itertools.product(*(range(per_point.sizes[d]) for d in dims)):
            point = per_point.isel(dict(zip(dims, index, strict=True)))
            where = "".join(f"{format_value(float(point[d]), axis_units[d]):>14}" for d in dims)
            lines.append(
                f"    {where}  {float(point['rms_residual']):>14.4g}  "
                f"{100 * float(point['relative_residual']):>8.3g}%  "
                f"{float(point['chi2_reduced']):>9.4g}"
            )
    return "\n".join(lines)


def _chi2_line(comparison: Comparison) -> str:
    """Return the reduced chi-square with its dof and expected band, or why there is none."""
    sigma, chi2 = comparison.noise_sigma, comparison.chi2_reduced
    if not np.isfinite(sigma):
        return f"not computed: noise {comparison.noise_source}"
    if sigma == 0.0:
        return (f"{chi2:.4g}: the shots agree exactly (a noise-free detector), no scatter "
                "weights the residual; give --noise")  # fmt: skip
    band = f"1 ± {np.sqrt(2.0 / comparison.independent):.2g} expected"
    if comparison.quantity == "mz":
        return f"{chi2:.4g} ({comparison.dof} dof; {band})"
    return (f"{chi2:.4g} ({comparison.dof} dof; noise correlated along time: "
            f"{comparison.independent:.4g} independent values, {band})")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Compare the two records, print the report, optionally plot; return the exit status."""
    names = (str(args.measured), str(args.simulated))
    plot = image_output(args.plot, overwrite=args.overwrite, inputs=(args.measured, args.simulated))
    comparison = compare_records(
        read_record(args.measured),
        read_record(args.simulated),
        noise_sigma=args.noise,
        names=names,
        quantity=args.quantity,
    )
    print(report(comparison, names))
    if plot is not None:
        with plot:
            draw = plot_mz_compare if comparison.quantity == "mz" else plot_compare
            draw(comparison, plot.partial)
        print(f"plot: {plot.path}")
    return 0
