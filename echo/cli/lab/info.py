"""``spin-echo info REC``: a record's provenance and progress.

Prints where the record comes from (``source``, the protocol's name, the sample and/or bench,
seed, created, spin-echo version), its progress (points finished / total, complete) and, for a
``run`` record, its instruments -- identity from ``*IDN?`` and every setting written beside
the value read back -- and the software versions (:mod:`echo.provenance`). ``--json`` prints
the same as JSON. The record is checked as every reader checks it (exit 2 for a file that is
not a valid record).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from spin_echo.echo.provenance import Provenance, read_provenance
from spin_echo.echo.record import read_record
from spin_echo.echo.record_header import plain_attribute
from spin_echo.echo.record_info import record_info

__all__ = ["format_info", "record_provenance", "register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``info`` sub-command."""
    parser = sub.add_parser(
        "info",
        description="Print a record's provenance -- source, protocol, sample or bench, seed, "
        "created; for a run record each instrument's identity (*IDN?) and the settings it "
        "read back after configuring, and the software versions -- and its progress (points "
        "finished / total, complete).",
    )
    parser.add_argument("record", type=Path, metavar="REC", help="record file (.nc)")
    parser.add_argument("--json", action="store_true", help="print the same as JSON")
    parser.set_defaults(func=run)


def record_provenance(path: Path) -> dict[str, Any]:
    """Return everything ``info`` prints about the record at ``path``, as plain data.

    The record is read and checked as every reader reads it
    (:func:`~spin_echo.echo.record.read_record`); names, progress and ``complete`` come from
    its one description (:func:`~spin_echo.echo.record_info.record_info`).

    Raises
    ------
    RecordError
        The file is missing, unreadable or not a valid record.
    ProvenanceError
        Its ``instruments`` or ``versions`` attribute is malformed.
    """
    dataset = read_record(path)
    try:
        info = record_info(dataset)
        attrs = {name: plain_attribute(value) for name, value in dataset.attrs.items()}
    finally:
        dataset.close()
    provenance: Provenance = read_provenance(attrs, str(path))
    versions = dict(provenance.versions)
    if not versions and "spin_echo_version" in attrs:
        versions["spin-echo"] = str(attrs["spin_echo_version"])
    bench = info.bench_name
    if bench is None and info.source.startswith("run:"):
        bench = info.source[4:]
    return {
        "record": str(path),
        "source": info.source,
        "protocol": info.protocol_name or None,
        "sample": info.sample_name,
        "bench": bench,
        "seed": info.seed,
        "created": info.created,
        "units": attrs.get("units"),
        "points_done": info.points_done,
        "points_total": info.points_total,
        "complete": info.complete,
        "instruments": provenance.as_dict()["instruments"],
        "versions": versions,
    }


def _number(value: Any, unit: str) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}".rstrip()


def format_info(info: dict[str, Any]) -> str:
    """Return the text ``spin-echo info`` prints for :func:`record_provenance`'s result."""
    state = "complete" if info["complete"] else "not complete"
    lines = [
        f"record:      {info['record']}",
        f"source:      {info['source']}",
        f"protocol:    {info['protocol'] or '?'}",
    ]
    if info["sample"] is not None:
        lines.append(f"sample:      {info['sample']}")
    if info["bench"] is not None:
        lines.append(f"bench:       {info['bench']}")
    lines += [
        f"seed:        {info['seed']}",
        f"created:     {info['created']}",
        f"units:       {info['units']}",
        f"progress:    {info['points_done']} of {info['points_total']} points, {state}",
    ]
    if info["instruments"]:
        lines.append("instruments:")
    for instrument in info["instruments"]:
        who = instrument["identity"]
        where = f" at {instrument['resource']}" if instrument["resource"] else ""
        lines.append(
            f"  {instrument['role']}: {who['manufacturer']} {who['model']}, serial "
            f"{who['serial']}, firmware {who['firmware']} ({instrument['driver']}{where})"
        )
        for s in instrument["settings"]:
            sent, read = _number(s["sent"], s["unit"]), _number(s["read"], s["unit"])
            agrees = "" if s["agrees"] else "   DIFFERS"
            query = f" ({s['query']})" if s["query"] else ""
            lines.append(f"    {s['name']:<18} sent {sent:<18} read {read}{query}{agrees}")
    if info["versions"]:
        shown = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        lines.append(f"versions:    {shown}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the provenance and progress of ``args.record``; return the exit status."""
    info = record_provenance(args.record)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(format_info(info))
    return 0
