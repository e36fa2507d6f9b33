"""Options shared by several sub-commands (``--set k=v``, ``--plot``, ``-o``)."""

from __future__ import annotations

import argparse

from spin_echo.sequences.errors import InputError

__all__ = ["add_executor_options", "add_set_option", "parse_sets"]


def add_set_option(
    parser: argparse.ArgumentParser,
    *,
    what: str = "a protocol parameter",
    example: str = "tau='2 us'",
) -> None:
    """Add the repeatable ``--set NAME=VALUE`` option to ``parser``.

    Parameters
    ----------
    parser
        The sub-command's parser.
    what
        What NAME names, for the help text.
    example
        A ``NAME=VALUE`` that this sub-command accepts, shown in the help text.
    """
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"override {what}, e.g. --set {example} (repeatable)",
    )


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--workers N`` and ``--scheduler ADDRESS`` (:func:`~.executor.make_executor`)."""
    group = parser.add_argument_group("scale-out")
    group.add_argument(
        "--workers", type=int, metavar="N", help="run sweep points in N local processes"
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run sweep points on a dask.distributed cluster, e.g. tcp://host:8786 "
        "(default: $SPIN_ECHO_SCHEDULER if set)",
    )


def parse_sets(items: list[str]) -> dict[str, str]:
    """Turn ``["tau=2 us", ...]`` into ``{"tau": "2 us"}``; raise InputError on bad items."""
    result: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InputError("expected NAME=VALUE, e.g. tau='2 us'", file="--set", value=item)
        result[name.strip()] = value.strip()
    return result
