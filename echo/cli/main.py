"""The ``spin-echo`` command line: one sub-command per module of :mod:`spin_echo.echo.cli`.

Exit status: 0 success, 2 bad input (the message names the file, key and value), 1 instrument
or runtime failure (the message names the instrument and its error), 130 interrupted.
Nothing but an unexpected bug prints a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from spin_echo.echo.cli import (
    budget,
    compare,
    fit,
    paper,
    plot,
    protocols,
    run,
    serve_virtual_lab,
    show,
    simulate,
)
from spin_echo.sequences.errors import InputError, SpinEchoError

__all__ = ["COMMANDS", "build_parser", "main"]

#: Sub-command modules, in the order ``--help`` lists them. Each has ``register(sub)`` and
#: imports what its command needs (xarray, matplotlib, scipy, the drivers, numba) inside the
#: functions that run it, so that building this parser stays cheap.
COMMANDS = (
    protocols,
    show,
    simulate,
    compare,
    budget,
    fit,
    paper,
    plot,
    run,
    serve_virtual_lab,
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="spin-echo",
        description="Pulsed coherence experiments on magnetic grains: simulate, run, compare.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as err:
        print(f"spin-echo: error: {err}", file=sys.stderr)
        return 2
    except SpinEchoError as err:
        print(f"spin-echo: failed: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("spin-echo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (``spin-echo compare ... | head``): not an error
        sys.stdout = None
        return 0


if __name__ == "__main__":
    sys.exit(main())
