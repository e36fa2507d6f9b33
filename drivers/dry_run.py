"""A recording transport for ``spin-echo run --dry-run``: prints the SCPI a run would send.

:class:`DryRunTransport` has the methods of a PyVISA message-based resource that the drivers
use. It sends nothing: every command is passed to ``emit`` as one line, binary blocks shown
with their exact IEEE 488.2 header and a summary of the payload; queries are answered by the
driver's :meth:`~spin_echo.drivers.visa.scpi.ScpiDriver.dry_reply` / ``dry_block`` so that the run
can go on.
It exists for dry-run output only; the drivers are tested against pyvisa-sim and a real TCP
SCPI emulator, never against this class.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from pyvisa import util

__all__ = ["DryRunTransport", "describe_block"]

_TYPE_NAMES = {"h": "int16", "H": "uint16", "f": "float32", "B": "uint8", "b": "int8"}


class Responder(Protocol):
    """What answers queries in a dry run (a driver)."""

    def dry_reply(self, command: str) -> str:
        """Reply text to ``command``."""

    def dry_block(self, command: str) -> np.ndarray:
        """Binary reply to ``command``."""


def describe_block(values: Sequence[Any], datatype: str, big_endian: bool) -> str:
    """Return ``#42468<1234 x int16, little-endian>``: the exact header and a payload summary."""
    block = util.to_ieee_block(values, datatype, big_endian)
    header_length = 2 + int(chr(block[1]))
    order = "big-endian" if big_endian else "little-endian"
    name = _TYPE_NAMES.get(datatype, datatype)
    count = (len(block) - header_length) // struct.calcsize(datatype)
    return f"{block[:header_length].decode('ascii')}<{count} x {name}, {order}>"


class DryRunTransport:
    """Record commands instead of sending them (see the module docstring).

    Parameters
    ----------
    prefix
        Shown before each line (the instrument role, e.g. ``"awg"``).
    emit
        Receives each line (``print`` for the command line).
    """

    def __init__(self, prefix: str, emit: Callable[[str], None]) -> None:
        self.prefix = prefix
        self.emit = emit
        self.responder: Responder | None = None

    def _line(self, text: str) -> None:
        self.emit(f"{self.prefix}> {text}")

    def write(self, message: str) -> int:
        """Record a command."""
        self._line(message)
        return len(message)

    def query(self, message: str) -> str:
        """Record a query; answer it from the responder."""
        self._line(message)
        return self.responder.dry_reply(message) if self.responder is not None else ""

    def write_binary_values(
        self,
        message: str,
        values: Sequence[Any],
        datatype: str = "f",
        is_big_endian: bool = False,
    ) -> int:
        """Record a command with a block (header exact, payload summarised)."""
        self._line(message + describe_block(values, datatype, is_big_endian))
        return len(values)

    def query_binary_values(
        self,
        message: str,
        datatype: str = "f",
        is_big_endian: bool = False,
        container: Any = list,
    ) -> Any:
        """Record a block query; answer it from the responder."""
        self._line(message)
        values = self.responder.dry_block(message) if self.responder is not None else []
        return container(values)

    def close(self) -> None:
        """Nothing to close."""
