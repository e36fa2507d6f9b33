"""The ``spin-echo`` command line: one sub-command per module of :mod:`spin_echo.echo.cli`.

Exit status: 0 success, 2 bad input (the message names the file, key and value), 1 instrument
or runtime failure (the message names the instrument and its error), 130 interrupted (Ctrl-C),
143 terminated (SIGTERM, handled as Ctrl-C is).
Nothing but an unexpected bug prints a traceback.
"""

from __future__ import annotations

import argparse
import decimal
import gc
import importlib
import signal
import sys
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from spin_echo.sequences.errors import InputError, SpinEchoError, SpinEchoWarning

__all__ = ["COMMANDS", "CommandParser", "Terminated", "build_parser", "main", "whole_number"]

#: Every sub-command, in the order ``--help`` lists them: its module (which has
#: ``register(sub)`` and ``run(args)``) and the one line that ``spin-echo --help`` shows.
#: A command's module is imported only when that command runs (or its help is asked for), so
#: ``spin-echo --help`` imports no command and ``spin-echo protocols`` only the listing.
COMMANDS: dict[str, tuple[str, str]] = {
    "protocols": (
        "spin_echo.echo.cli.protocols",
        "list the built-in protocols and samples, or print one's YAML",
    ),
    "show": (
        "spin_echo.echo.cli.show",
        "print a protocol's compiled timeline; optionally plot its waveform",
    ),
    "simulate": (
        "spin_echo.echo.cli.simulate",
        "simulate a protocol on a sample and write a record",
    ),
    "compare": (
        "spin_echo.echo.cli.compare",
        "compare a measured record with a simulated one",
    ),
    "budget": ("spin_echo.echo.cli.budget", "the paper's decoherence budget of a sample"),
    "design": (
        "spin_echo.echo.cli.design",
        "predict a protocol's signal-to-noise on a bench: detectable or not, and what it takes",
    ),
    "fit": ("spin_echo.echo.cli.fit", "fit sample parameters to a measured record"),
    "paper": ("spin_echo.echo.cli.paper", "reproduce the paper's results (figures + report)"),
    "plot": ("spin_echo.echo.cli.plot", "draw a record, with the fit its protocol calls for"),
    "run": (
        "spin_echo.echo.cli.run",
        "run a protocol on a bench (virtual or VISA instruments) and write a record",
    ),
    "watch": (
        "spin_echo.echo.cli.lab.watch",
        "redraw a record's figure and fit as a run writes it (window or local web page)",
    ),
    "info": (
        "spin_echo.echo.cli.lab.info",
        "print a record's provenance (instruments, settings read back, versions) and progress",
    ),
    "records": (
        "spin_echo.echo.cli.lab.records",
        "list the records under a folder: protocol, sample, points, complete, created",
    ),
    "serve-virtual-lab": (
        "spin_echo.echo.cli.serve_virtual_lab",
        "serve an emulated AWG and scope on 127.0.0.1 around a simulated sample",
    ),
}


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill PID``), handled as Ctrl-C is: records keep every finished point."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


class CommandParser(argparse.ArgumentParser):
    """The command line's parser: a bad option is one line on stderr and exit status 2.

    argparse's own :meth:`~argparse.ArgumentParser.error` prints the whole usage first; here
    the message names the option and the value, and points to ``--help``. Sub-command parsers
    are of this class too (argparse gives them their parent's class).
    """

    def error(self, message: str) -> NoReturn:
        """Print ``message`` on one line and exit 2."""
        self.exit(2, f"spin-echo: error: {message} (see '{self.prog} --help')\n")


def whole_number(text: str) -> int:
    """Parse an option's whole number: ``12``, ``-3``, ``1e3``; nothing fractional or huge.

    Raises
    ------
    argparse.ArgumentTypeError
        For text that is not a whole number of at most 30 digits (the option's own range is
        checked by its command, with its message).
    """
    try:
        value = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        value = decimal.Decimal("nan")
    if not value.is_finite() or value.adjusted() > 30 or value != value.to_integral_value():
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}")
    return int(value)


class _Registrar:
    """The sub-parsers action as a command module sees it: ``add_parser`` adds the help line."""

    def __init__(self, sub: argparse._SubParsersAction) -> None:
        self._sub = sub

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return self._sub.add_parser(name, help=COMMANDS[name][1], **kwargs)


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """Return the argument parser, with ``commands`` (default: all) registered in full.

    The other commands get a placeholder that only lists them in ``spin-echo --help``.
    """
    parser = CommandParser(
        prog="spin-echo",
        description="Pulsed coherence experiments on magnetic grains: simulate, run, compare.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    full = set(COMMANDS) if commands is None else set(commands)
    registrar = _Registrar(sub)
    for name, (module, line) in COMMANDS.items():
        if name in full:
            importlib.import_module(module).register(registrar)
        else:
            sub.add_parser(name, help=line, add_help=False)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """Return the sub-command named in ``argv`` (its first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Run as the process's own command (``argv`` None), it freezes the garbage collector's objects
    before returning: the process ends next, and the interpreter's collections at exit would
    otherwise walk every object of numba and scipy (0.25 s measured after a 10^6-packet
    ``simulate``).
    """
    own = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    if own:
        signal.signal(signal.SIGTERM, _terminate)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        status = _run(argv)
    if own:
        gc.freeze()
    return status


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a :class:`SpinEchoWarning` as one line; any other warning as Python does."""
    if issubclass(category, SpinEchoWarning):
        print(f"spin-echo: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _run(argv: list[str]) -> int:
    """Parse ``argv`` and run its command; return the exit status."""
    command = _command_of(argv)
    args = build_parser([command] if command in COMMANDS else []).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as err:
        print(f"spin-echo: error: {err}", file=sys.stderr)
        return 2
    except SpinEchoError as err:
        print(f"spin-echo: failed: {err}", file=sys.stderr)
        return 1
    except Terminated:
        print("spin-echo: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("spin-echo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (``spin-echo compare ... | head``): not an error
        sys.stdout = None
        return 0


if __name__ == "__main__":
    sys.exit(main())
