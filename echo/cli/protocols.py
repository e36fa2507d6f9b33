"""``spin-echo protocols``: list the built-in protocols (and other built-ins) with descriptions.

The listing is a sequence of sections, each a title and ``(name, description)`` rows; a package
with built-ins of its own (samples, benches) adds a section to :func:`sections`.
"""

from __future__ import annotations

import argparse

from spin_echo.sequences import list_protocols
from spin_echo.simulator import list_samples

__all__ = ["format_sections", "register", "run", "sections"]


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
        help="list the built-in protocols and samples",
        description="List the built-in protocols and samples with a one-line description each.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the listing; return the exit status."""
    print(format_sections(sections()))
    return 0
