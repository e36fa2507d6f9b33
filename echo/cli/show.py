"""``spin-echo show PROTOCOL``: the compiled timeline as a table, optionally the waveform plot.

The table lists every timeline segment (start, duration, nominal Rabi frequency, phase relative
to the carrier, frequency offset) and the detection windows, for the default parameters (with
``--set`` overrides) and the first phase-cycle step. ``--plot out.png`` draws the sampled
waveform at ``--sample-rate`` (default 100 MHz) with its trigger and detection-gate markers.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spin_echo.echo.cli.options import (
    add_overwrite_option,
    add_set_option,
    image_output,
    parse_sets,
)
from spin_echo.echo.output import write_error
from spin_echo.echo.units_format import format_quantity
from spin_echo.sequences import (
    AwgConstraints,
    InputError,
    Protocol,
    Timeline,
    Waveform,
    compile_timeline,
    compile_waveform,
    load_protocol,
)
from spin_echo.sequences.quantity import parse_quantity

__all__ = ["format_timeline", "plot_waveform", "register", "run"]


def _si(value: float, unit: str) -> str:
    """Format ``value`` with an SI prefix and 6 significant digits (``"500 ns"``)."""
    return format_quantity(value, unit, digits=6)


def _idle_label(timeline: Timeline, k: int) -> str:
    """``detect j`` for an undriven segment inside detection window ``j``, else ``delay``."""
    start = float(timeline.start_s[k])
    for j, window in enumerate(timeline.detect):
        if window.start_s <= start < window.start_s + window.duration_s:
            return f"detect {j}"
    return "delay"


def format_timeline(protocol: Protocol, timeline: Timeline, *, phase_step: int = 0) -> str:
    """Return the timeline of ``protocol`` as a text table with units."""
    header = (
        f"{protocol.name}: {protocol.description.strip()}\n"
        f"carrier {_si(timeline.carrier_hz, 'Hz')}, full-scale Rabi "
        f"{_si(timeline.full_scale_rabi_hz, 'Hz')}, phase step {phase_step} "
        f"(of {len(protocol.phase_cycle)}), total {_si(timeline.total_s, 's')}, "
        f"{len(timeline.start_s)} segments"
    )
    columns = ("segment", "element", "start", "duration", "Rabi", "phase", "offset")
    rows = []
    for k in range(len(timeline.start_s)):
        index = int(timeline.pulse_index[k])
        rows.append(
            (
                str(k),
                f"pulse {index}" if index >= 0 else _idle_label(timeline, k),
                _si(float(timeline.start_s[k]), "s"),
                _si(float(timeline.duration_s[k]), "s"),
                _si(float(timeline.rabi_hz[k]), "Hz"),
                f"{math.degrees(float(timeline.phase_rad[k])):.6g} deg",
                _si(float(timeline.offset_hz[k]), "Hz"),
            )
        )
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    lines = [header, ""]
    lines.append("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines += ["", "detection windows:"]
    for j, window in enumerate(timeline.detect):
        lines.append(
            f"  {j}  start {_si(window.start_s, 's')}  duration {_si(window.duration_s, 's')}  "
            f"points {window.points}  spacing {_si(window.duration_s / window.points, 's')}"
        )
    if not timeline.detect:
        lines.append("  (none)")
    return "\n".join(lines)


def plot_waveform(waveform: Waveform, path: Path, *, title: str = "") -> None:
    """Draw the sampled waveform and its markers to ``path`` (PNG, Agg backend)."""
    time_us = np.arange(len(waveform.samples)) / waveform.sample_rate_hz * 1e6
    figure = Figure(figsize=(10, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(time_us, waveform.samples, lw=0.6, color="C0", label="drive samples")
    names = ("trigger marker", "detection gate")
    for row in range(waveform.markers.shape[0]):
        level = -1.25 - 0.35 * row
        trace = level + 0.25 * waveform.markers[row]
        label = names[row] if row < len(names) else f"marker {row + 1}"
        axes.step(time_us, trace, where="post", lw=1.0, color=f"C{row + 1}", label=label)
    axes.set_xlabel("time (µs)")
    axes.set_ylabel("drive (fraction of full scale)")
    axes.set_ylim(-1.25 - 0.35 * waveform.markers.shape[0], 1.1)
    axes.set_title(title or f"waveform at {_si(waveform.sample_rate_hz, 'Sa/s')}")
    axes.legend(loc="upper right", fontsize="small")
    figure.savefig(path, dpi=120)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``show`` sub-command."""
    parser = sub.add_parser(
        "show",
        description="Compile PROTOCOL (default parameters, first phase step) and print its "
        "timeline segments and detection windows.",
    )
    parser.add_argument("protocol", metavar="PROTOCOL", help="built-in protocol name or YAML path")
    add_set_option(parser)
    parser.add_argument("--plot", type=Path, metavar="PNG", help="draw the sampled waveform")
    add_overwrite_option(parser)
    parser.add_argument(
        "--sample-rate",
        default="100 MHz",
        metavar="RATE",
        help="AWG sample rate for --plot, e.g. '250 MHz' (default 100 MHz)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the timeline table, optionally plot the waveform; return the exit status."""
    protocol = load_protocol(args.protocol).with_overrides(parse_sets(args.sets))
    plot = image_output(args.plot, overwrite=args.overwrite, inputs=(args.protocol,))
    try:
        rate = parse_quantity(args.sample_rate, "frequency")
    except InputError as err:
        raise InputError(err.message, file="--sample-rate", value=args.sample_rate) from None
    sequence = protocol.sequence()
    timeline = compile_timeline(sequence)
    waveform = compile_waveform(sequence, AwgConstraints(), rate) if args.plot else None
    print(format_timeline(protocol, timeline))
    if plot is not None and waveform is not None:
        with plot:
            try:
                title = f"{protocol.name} at {_si(rate, 'Sa/s')}"
                plot_waveform(waveform, plot.partial, title=title)
            except OSError as err:
                raise write_error(plot.path, err) from None
        print(f"plot: {plot.path}")
    return 0
