"""The VISA transport of the SCPI drivers: bounded reads of text replies and binary blocks.

Replies are read by :class:`VisaTransport` in bounded steps, not by PyVISA's read loop (which
keeps reading for as long as bytes arrive): a text reply must end with its terminator within
``timeout_s`` of the query and within :data:`MAX_REPLY_BYTES`, and a binary block may declare
at most :data:`MAX_BLOCK_BYTES`, so an instrument that streams bytes without a terminator
fails at its timeout (a :class:`ReplyError`, which :class:`~drivers.visa.scpi.ScpiDriver`
turns into an :class:`~drivers.interface.InstrumentError` naming the instrument and the
command) instead of holding the run and filling memory.

Timeouts are ``timeout_s`` everywhere in spin-echo; :func:`timeout_ms` is the one place that
converts them to PyVISA's milliseconds.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import pyvisa
import pyvisa.constants
import pyvisa.util

from spin_echo.drivers.config import InstrumentConfig
from spin_echo.drivers.interface import InstrumentError

__all__ = [
    "DEFAULT_BACKEND",
    "MAX_BLOCK_BYTES",
    "MAX_REPLY_BYTES",
    "ReplyError",
    "Transport",
    "VisaTransport",
    "open_transport",
    "timeout_ms",
]

#: PyVISA backend used unless a bench file says otherwise: pyvisa-py, no vendor library.
DEFAULT_BACKEND = "@py"


#: Longest text reply accepted, bytes (SCPI text replies are short).
MAX_REPLY_BYTES = 1024 * 1024

#: Largest binary block accepted, bytes.
MAX_BLOCK_BYTES = 512 * 1024 * 1024

#: Bytes asked of the VISA library per read while a text reply or a block header is awaited.
#: Small, because a backend may hold one read for as long as bytes keep arriving (pyvisa-py
#: does), so a reply that trickles in without a terminator overruns the timeout by at most the
#: time this many bytes take.
TEXT_CHUNK_BYTES = 32

#: Bytes asked per read of a block's payload.
BLOCK_CHUNK_BYTES = 1024 * 1024


class ReplyError(Exception):
    """A reply that is not one: no terminator within the timeout, too long, a bad block."""


class Transport(Protocol):
    """The subset of :class:`pyvisa.resources.MessageBasedResource` the drivers use."""

    def write(self, message: str) -> Any:
        """Send one command."""

    def query(self, message: str) -> str:
        """Send one query and return the reply text."""

    def write_binary_values(
        self, message: str, values: Any, datatype: str = ..., is_big_endian: bool = ...
    ) -> Any:
        """Send ``message`` followed by an IEEE 488.2 definite-length block of ``values``."""

    def query_binary_values(
        self,
        message: str,
        datatype: str = ...,
        is_big_endian: bool = ...,
        container: Any = ...,
    ) -> Any:
        """Send ``message`` and read back a definite-length block."""

    def close(self) -> None:
        """Close the session."""


def timeout_ms(timeout_s: float) -> int:
    """Convert a timeout in seconds to PyVISA's milliseconds (the only such conversion)."""
    return max(1, round(timeout_s * 1000.0))


class VisaTransport:
    """A PyVISA message-based resource whose every read is bounded in time and size.

    Parameters
    ----------
    resource
        The open :class:`pyvisa.resources.MessageBasedResource` (newline terminations).
    timeout_s
        Longest wait for a complete text reply, seconds (also the resource's own timeout).
    """

    def __init__(self, resource: Any, timeout_s: float) -> None:
        self.resource = resource
        self.timeout_s = timeout_s

    def write(self, message: str) -> Any:
        """Send one command."""
        return self.resource.write(message)

    def write_binary_values(
        self, message: str, values: Any, datatype: str = "f", is_big_endian: bool = False
    ) -> Any:
        """Send ``message`` followed by an IEEE 488.2 definite-length block of ``values``."""
        return self.resource.write_binary_values(
            message, values, datatype=datatype, is_big_endian=is_big_endian
        )

    def _read(self, size: int) -> tuple[bytes, bool]:
        """One VISA read of at most ``size`` bytes; True when the message ended."""
        more = pyvisa.constants.StatusCode.success_max_count_read
        with self.resource.ignore_warning(more):
            data, status = self.resource.visalib.read(self.resource.session, size)
        return bytes(data), status != more

    def _read_text(self, deadline: float, buffer: bytearray) -> bytes:
        """Read into ``buffer`` until a message ends; bounded by ``deadline`` and the size."""
        while True:
            data, ended = self._read(TEXT_CHUNK_BYTES)
            buffer += data
            if ended:
                return bytes(buffer)
            if len(buffer) > MAX_REPLY_BYTES:
                raise ReplyError(
                    f"reply exceeds {MAX_REPLY_BYTES} bytes without a terminator "
                    f"(starts {bytes(buffer[:20])!r})"
                )
            if time.monotonic() > deadline:
                raise ReplyError(
                    f"no complete reply within {self.timeout_s:g} s (timed out): "
                    f"{len(buffer)} bytes without a terminator (starts {bytes(buffer[:20])!r})"
                )

    def query(self, message: str) -> str:
        """Send one query and return the reply text (terminator removed)."""
        self.write(message)
        reply = self._read_text(time.monotonic() + self.timeout_s, bytearray())
        return reply.decode(self.resource.encoding).rstrip("\r\n")

    def query_binary_values(
        self,
        message: str,
        datatype: str = "f",
        is_big_endian: bool = False,
        container: Any = list,
    ) -> Any:
        """Send ``message`` and read back a definite-length block (at most the size limit)."""
        self.write(message)
        deadline = time.monotonic() + self.timeout_s
        buffer = bytearray()
        while not buffer.endswith(b"#"):  # byte by byte: a read returns at its exact count
            if len(buffer) > 1024 or time.monotonic() > deadline:
                raise ReplyError(
                    f"no block header within {self.timeout_s:g} s and {len(buffer)} bytes "
                    f"(starts {bytes(buffer[:20])!r})"
                )
            buffer += self._read(1)[0]
        buffer += self._read(1)[0]
        digits = chr(buffer[-1])
        if not digits.isdigit() or digits == "0":
            raise ReplyError(f"not a definite-length block header: {bytes(buffer[-20:])!r}")
        buffer += self._read(int(digits))[0]
        try:
            offset, length = pyvisa.util.parse_ieee_block_header(buffer)
        except ValueError as err:
            raise ReplyError(f"malformed block header {bytes(buffer[-20:])!r}: {err}") from None
        if length > MAX_BLOCK_BYTES:
            raise ReplyError(f"block declares {length} bytes; at most {MAX_BLOCK_BYTES} accepted")
        while len(buffer) < offset + length:
            data = self._read(min(BLOCK_CHUNK_BYTES, offset + length - len(buffer)))[0]
            if not data:
                raise ReplyError(f"block ended after {len(buffer) - offset} of {length} bytes")
            buffer += data
        if not buffer[offset + length :].endswith(b"\n"):
            self._read_text(time.monotonic() + self.timeout_s, buffer)
        return pyvisa.util.from_ieee_block(
            bytes(buffer[: offset + length]), datatype, is_big_endian, container
        )

    def close(self) -> None:
        """Close the session."""
        self.resource.close()


def open_transport(config: InstrumentConfig) -> Transport:
    """Open the VISA session of ``config`` with newline terminations and its timeout.

    Raises
    ------
    InstrumentError
        If the resource cannot be opened (unknown address, refused connection, no backend).
    """
    try:
        manager = pyvisa.ResourceManager(config.backend)
        resource = manager.open_resource(
            config.resource,
            read_termination="\n",
            write_termination="\n",
            timeout=timeout_ms(config.timeout_s),
        )
    except Exception as err:  # PyVISA backends raise a bare Exception when a connect fails
        raise InstrumentError(config.label, "open", f"cannot connect: {err}") from None
    return VisaTransport(resource, config.timeout_s)
