"""``spin-echo protocols [NAME]``: list the built-ins, or print one built-in's YAML to start from.

The listing is a sequence of sections, each a title and ``(name, description)`` rows; a package
with built-ins of its own (samples, benches) adds a section to :func:`sections`.
``spin-echo protocols hahn-echo > my-echo.yaml`` copies a built-in protocol (or sample, or bench)
as the text of its file, comments included, to edit and use as a path.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from spin_echo.sequences import list_protocols
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.protocol_files import LIBRARY_DIR
from spin_echo.simulator import list_samples
from spin_echo.simulator.sample import SAMPLES_DIR

__all__ = ["builtin_file", "format_sections", "register", "run", "sections"]


def _bench_dir() -> Path:
    """Return the built-in benches' folder, found without importing the drivers (pyvisa is slow)."""
    spec = importlib.util.find_spec("spin_echo.drivers")
    assert spec is not None and spec.submodule_search_locations is not None
    return Path(next(iter(spec.submodule_search_locations))) / "benches"


def builtin_file(name: str) -> Path:
    """Return the file of the built-in protocol, sample or bench called ``name``.

    Raises
    ------
    InputError
        No built-in has that name; the message lists the names there are.
    """
    folders = (("protocols", LIBRARY_DIR), ("samples", SAMPLES_DIR), ("benches", _bench_dir()))
    for _, folder in folders:
        path = folder / f"{name}.yaml"
        if path.is_file():
            return path
    known = "; ".join(
        f"{kinds}: " + ", ".join(sorted(path.stem for path in folder.glob("*.yaml")))
        for kinds, folder in folders
    )
    raise InputError(f"no built-in protocol, sample or bench is called {name!r} ({known})")


def sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """Return the listing: ``[(title, [(name, one-line description), ...]), ...]``."""
    return [("Protocols", list_protocols()), ("Samples", list_samples())]


def format_sections(listing: list[tuple[str, list[tuple[str, str]]]]) -> str:
    """Format sections as aligned text, one line per entry, a blank line between sections."""
    width = max((len(name) for _, rows in listing for name, _ in rows), default=0)
    blocks = []
    for title, rows in listing:
        lines = [f"{title}:"]
        lines += [f"  {name:<{width}}  {description}".rstrip() for name, description in rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``protocols`` sub-command."""
    parser = sub.add_parser(
        "protocols",
        description="List the built-in protocols and samples with a one-line description each; "
        "with NAME, print that built-in protocol's, sample's or bench's YAML file to start "
        "from (spin-echo protocols hahn-echo > my-echo.yaml).",
    )
    parser.add_argument(
        "name", nargs="?", metavar="NAME", help="a built-in protocol, sample or bench to print"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the listing, or the YAML of the built-in ``args.name``; return the exit status."""
    if getattr(args, "name", None):
        print(builtin_file(args.name).read_text(encoding="utf-8"), end="")
        return 0
    print(format_sections(sections()))
    return 0
