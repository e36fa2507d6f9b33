"""``spin-echo records DIR``: the records under a folder, one row each, sorted and filtered.

Each row: path (relative to DIR), protocol, sample (or ``bench:<name>`` for a measurement
without a sample), points finished / total, complete, created. Only attributes and
``point_complete`` are read (:mod:`echo.catalogue`), never the signals. A ``.nc`` file that is
not a readable record is listed with the reason; hidden files are skipped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spin_echo.echo.catalogue import SORT_KEYS, RecordSummary, find_records
from spin_echo.sequences.errors import InputError

__all__ = ["format_records", "register", "run"]

_HEADER = ("path", "protocol", "sample/bench", "points", "complete", "created")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``records`` sub-command."""
    parser = sub.add_parser(
        "records",
        description="List the records under DIR (recursively): protocol, sample or bench, "
        "points finished / total, complete, created. Reads only attributes and "
        "point_complete. Files that are not readable records are listed with the reason; "
        "hidden files (a leading '.') are skipped; an --overwrite run's NAME.partial-PID.nc "
        "is marked partial.",
    )
    parser.add_argument("folder", type=Path, metavar="DIR", help="folder to search")
    parser.add_argument(
        "--sort", choices=SORT_KEYS, default="created", help="order of the rows (default created)"
    )
    parser.add_argument("--protocol", metavar="NAME", help="only records of this protocol")
    parser.add_argument("--sample", metavar="NAME", help="only records of this sample or bench")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.set_defaults(func=run)


def _row(summary: RecordSummary, folder: Path) -> tuple[str, ...]:
    path = str(summary.path.relative_to(folder))
    if summary.status in ("not a record", "unreadable"):
        return (path, f"{summary.status}: {summary.reason}")
    complete = "partial" if summary.status == "partial" else "yes" if summary.complete else "no"
    return (
        path,
        summary.protocol or "?",
        summary.sample_or_bench or "?",
        f"{summary.points_done}/{summary.points_total}",
        complete,
        summary.created or "?",
    )


def format_records(summaries: list[RecordSummary], folder: Path) -> str:
    """Return the table ``spin-echo records`` prints (a last line counts the files)."""
    rows = [_row(s, folder) for s in summaries]
    full = [_HEADER, *(r for r in rows if len(r) == len(_HEADER))]
    widths = [max(len(r[i]) for r in full) for i in range(len(_HEADER))]
    lines = []
    for row in [_HEADER, *rows]:
        if len(row) == len(_HEADER):
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        else:
            lines.append(f"{row[0].ljust(widths[0])}  {row[1]}")
    records = sum(s.status in ("record", "partial") for s in summaries)
    lines.append(f"{records} record(s), {len(summaries) - records} other .nc file(s)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """List the records under ``args.folder``; return the exit status."""
    folder: Path = args.folder
    if not folder.is_dir():
        raise InputError("expected a folder to search for records", file=str(folder))
    summaries = find_records(folder, sort=args.sort, protocol=args.protocol, sample=args.sample)
    if args.json:
        print(json.dumps([s.as_dict() for s in summaries], indent=2))
    else:
        print(format_records(summaries, folder))
    return 0
