"""The base of every VISA driver: one guarded path for each kind of SCPI exchange.

:class:`ScpiDriver` owns a PyVISA message-based resource (or, for ``--dry-run`` only, a
recording transport with the same methods) and gives drivers these operations: :meth:`write`,
:meth:`query`, :meth:`write_block` / :meth:`query_block` (PyVISA's own IEEE 488.2
definite-length block transfers, never hand-rolled ``#<n><len>`` parsing), :meth:`complete`
(``*OPC?``, then drain the error queue), :meth:`send` (a write confirmed by
:meth:`complete`, so that an error is attributed to the command that caused it) and
:meth:`apply_all` (declared :class:`~drivers.settings.Setting` values, all validated against
the model and bench limits before the first one is written).

Every failure becomes an :class:`~drivers.interface.InstrumentError` naming the instrument,
the command and what the instrument (or the link) said: a PyVISA timeout, a dropped
connection, a malformed block, an error in the instrument's queue.

Timeouts are ``timeout_s`` everywhere in spin-echo; :func:`timeout_ms` is the one place that
converts them to PyVISA's milliseconds.

Replies are read by :class:`VisaTransport` in bounded steps, not by PyVISA's read loop (which
keeps reading for as long as bytes arrive): a text reply must end with its terminator within
``timeout_s`` of the query and within :data:`MAX_REPLY_BYTES`, and a binary block may declare
at most :data:`MAX_BLOCK_BYTES`, so an instrument that streams bytes without a terminator
fails at its timeout (an :class:`~drivers.interface.InstrumentError` naming the instrument and
the command) instead of holding the run and filling memory.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np
import pyvisa
import pyvisa.constants
import pyvisa.errors
import pyvisa.util

from spin_echo.drivers.config import InstrumentConfig, Option
from spin_echo.drivers.interface import InstrumentError
from spin_echo.drivers.settings import Setting

__all__ = [
    "DEFAULT_BACKEND",
    "MAX_BLOCK_BYTES",
    "MAX_REPLY_BYTES",
    "ReplyError",
    "ScpiDriver",
    "Transport",
    "VisaTransport",
    "open_transport",
    "timeout_ms",
]

#: PyVISA backend used unless a bench file says otherwise: pyvisa-py, no vendor library.
DEFAULT_BACKEND = "@py"

#: Pause between two status polls, seconds.
POLL_INTERVAL_S = 0.001

#: At most this many entries are read from an error queue before giving up on draining it.
MAX_QUEUED_ERRORS = 64

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

_T = TypeVar("_T")


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


class ScpiDriver:
    """Base of the VISA drivers: guarded SCPI I/O, declared settings, completion checks.

    Subclasses set the class attributes below and build on these I/O operations.

    Attributes
    ----------
    DRIVER
        The driver name used in bench files.
    ROLE
        ``"awg"``, ``"detector"`` or ``"lockin"``.
    IDN_PATTERN
        Regular expression the ``*IDN?`` reply must match (manufacturer, model).
    SETTINGS
        The declared settings (see :func:`drivers.settings.declare`).
    OPTIONS
        Bench-file keys of this driver (beyond ``driver``, ``resource``, ``timeout``,
        ``limits``).
    ERROR_QUERY
        Query returning ``<code>,"<message>"`` until code 0 (``SYST:ERR?``); None for
        instruments reporting errors only through ``*ESR?``.
    USES_OPC
        Whether the instrument implements ``*OPC?``.
    """

    DRIVER: ClassVar[str]
    ROLE: ClassVar[str]
    IDN_PATTERN: ClassVar[str]
    SETTINGS: ClassVar[dict[str, Setting]] = {}
    OPTIONS: ClassVar[dict[str, Option]] = {}
    ERROR_QUERY: ClassVar[str | None] = "SYST:ERR?"
    USES_OPC: ClassVar[bool] = True
    #: ``*ESR?`` bits that mean an error: query (2), device (3), execution (4), command (5).
    ESR_ERROR_BITS: ClassVar[dict[int, str]] = {
        2: "query error",
        3: "device-dependent error",
        4: "execution error (parameter out of range)",
        5: "command error (not understood)",
    }

    def __init__(self, config: InstrumentConfig, transport: Transport) -> None:
        self.config = config
        self.label = config.label
        self._transport: Transport | None = transport

    # -- guarded I/O ---------------------------------------------------------------------

    def _guard(self, command: str, action: Callable[[Transport], _T]) -> _T:
        if self._transport is None:
            raise InstrumentError(self.label, command, "the session is closed")
        try:
            return action(self._transport)
        except pyvisa.errors.VisaIOError as err:
            if err.error_code == pyvisa.constants.StatusCode.error_timeout:
                message = (
                    f"no reply within {self.config.timeout_s:g} s (timed out; the instrument "
                    "may be busy, waiting for a trigger, or disconnected)"
                )
            else:
                message = f"VISA I/O error: {err.description}"
            raise InstrumentError(self.label, command, message) from None
        except pyvisa.errors.InvalidBinaryFormat as err:
            raise InstrumentError(self.label, command, f"malformed binary block: {err}") from None
        except UnicodeDecodeError:
            raise InstrumentError(self.label, command, "reply is not text") from None
        except ReplyError as err:
            raise InstrumentError(self.label, command, str(err)) from None
        except OSError as err:
            raise InstrumentError(self.label, command, f"connection lost: {err}") from None

    def write(self, command: str) -> None:
        """Send one command (no reply expected)."""
        self._guard(command, lambda t: t.write(command))

    def query(self, command: str) -> str:
        """Send one query and return its reply, stripped of whitespace."""
        return self._guard(command, lambda t: t.query(command)).strip()

    def write_block(
        self, command: str, values: np.ndarray, *, datatype: str, big_endian: bool
    ) -> None:
        """Send ``command`` followed by a definite-length block of ``values``.

        ``command`` ends where the block starts (``"DATA:ARB name,"``); ``datatype`` is a
        :mod:`struct` code (``"h"`` int16, ``"f"`` float32, ``"B"`` uint8).
        """
        self._guard(
            command,
            lambda t: t.write_binary_values(
                command, values, datatype=datatype, is_big_endian=big_endian
            ),
        )

    def query_block(self, command: str, *, datatype: str, big_endian: bool) -> np.ndarray:
        """Send ``command`` and return the definite-length block it answers, as an array."""
        return self._guard(
            command,
            lambda t: t.query_binary_values(
                command, datatype=datatype, is_big_endian=big_endian, container=np.array
            ),
        )

    def poll(self, command: str, done: Callable[[str], bool], waiting_for: str) -> str:
        """Repeat ``command`` until ``done(reply)``, for at most the timeout; return the reply.

        Raises
        ------
        InstrumentError
            If ``done`` is still false after ``timeout_s`` (``waiting_for`` says for what).
        """
        deadline = time.monotonic() + self.config.timeout_s
        while True:
            reply = self.query(command)
            if done(reply):
                return reply
            if time.monotonic() > deadline:
                raise InstrumentError(
                    self.label,
                    command,
                    f"still {reply!r} after {self.config.timeout_s:g} s: no {waiting_for}",
                )
            time.sleep(POLL_INTERVAL_S)

    def query_numbers(self, command: str, count: int) -> list[float]:
        """Query a comma-separated list of ``count`` numbers."""
        reply = self.query(command)
        try:
            values = [float(part) for part in reply.replace(";", ",").split(",")]
        except ValueError:
            values = []
        if len(values) != count:
            raise InstrumentError(
                self.label, command, f"expected {count} numbers, got {reply[:80]!r}"
            )
        return values

    # -- settings and completion -----------------------------------------------------------

    def fields(self) -> dict[str, object]:
        """Template fields of the commands (``channel``, ...), from the options."""
        return dict(self.config.options)

    def check(self, name: str, value: float | int | str) -> str:
        """Return the command writing ``value`` to setting ``name``, or refuse it.

        Raises
        ------
        InstrumentError
            If the value is outside the model's or the bench's limits (nothing is sent).
        """
        setting = self.SETTINGS[name]
        command = setting.render(value, **self.fields())
        why = setting.violation(value, self.config.limits)
        if why is not None:
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            raise InstrumentError(
                self.label,
                command,
                f"refused, not sent: {name} = {shown} {setting.unit}".rstrip() + f": {why}",
            )
        return command

    def apply_all(self, values: list[tuple[str, float | int | str]]) -> None:
        """Validate every ``(setting, value)`` first (all or nothing), then :meth:`send` each."""
        commands = [self.check(name, value) for name, value in values]
        for command in commands:
            self.send(command)

    def send(self, command: str) -> None:
        """Write ``command``, then confirm it with :meth:`complete`."""
        self.write(command)
        self.complete(command)

    def complete(self, after: str) -> None:
        """Wait for the operations so far (``*OPC?``), then drain the error queue.

        Parameters
        ----------
        after
            The command (or step) being confirmed, named in any error.
        """
        if self.USES_OPC:
            reply = self.query("*OPC?")
            if reply not in ("1", "+1"):
                raise InstrumentError(self.label, "*OPC?", f"unexpected reply {reply!r}")
        errors = self._drain_errors()
        if errors:
            raise InstrumentError(self.label, after, "; ".join(errors))

    def _drain_errors(self) -> list[str]:
        if self.ERROR_QUERY is None:
            return self._esr_errors()
        errors: list[str] = []
        for _ in range(MAX_QUEUED_ERRORS):
            reply = self.query(self.ERROR_QUERY)
            match = re.match(r"\s*([+-]?\d+)\s*,?\s*(.*)", reply)
            if match is None:
                raise InstrumentError(
                    self.label, self.ERROR_QUERY, f"unreadable error reply {reply!r}"
                )
            if int(match.group(1)) == 0:
                return errors
            errors.append(f"{int(match.group(1))}, {match.group(2).strip()}")
        errors.append(f"error queue not empty after {MAX_QUEUED_ERRORS} reads")
        return errors

    def _esr_errors(self) -> list[str]:
        reply = self.query("*ESR?")
        try:
            register = int(float(reply))
        except ValueError:
            raise InstrumentError(self.label, "*ESR?", f"unreadable reply {reply!r}") from None
        return [
            f"*ESR? bit {bit}: {meaning}"
            for bit, meaning in self.ESR_ERROR_BITS.items()
            if register & (1 << bit)
        ]

    # -- session ---------------------------------------------------------------------------

    def identify(self) -> str:
        """Check ``*IDN?`` against :attr:`IDN_PATTERN`, clear the status, return the reply."""
        reply = self.query("*IDN?")
        if re.search(self.IDN_PATTERN, reply, flags=re.IGNORECASE) is None:
            raise InstrumentError(
                self.label,
                "*IDN?",
                f"this is {reply!r}, not an instrument the {self.DRIVER} driver can drive",
            )
        self.send("*CLS")
        return reply

    def close(self) -> None:
        """Close the VISA session; idempotent."""
        if self._transport is not None:
            transport, self._transport = self._transport, None
            try:
                transport.close()
            except (pyvisa.errors.Error, OSError):
                return

    # -- dry run ---------------------------------------------------------------------------

    def dry_reply(self, command: str) -> str:
        """Return a plausible reply to ``command`` for ``--dry-run`` (no instrument is present)."""
        replies = {"*OPC?": "1", "*ESR?": "0", "*IDN?": self.DRY_RUN_IDN}
        if self.ERROR_QUERY is not None:
            replies[self.ERROR_QUERY] = '+0,"No error"'
        return replies.get(command.split(" ")[0], "0")

    def dry_block(self, command: str) -> np.ndarray:
        """Return a plausible binary reply to ``command`` for ``--dry-run`` (empty by default)."""
        return np.zeros(0)

    #: ``*IDN?`` reply used by ``--dry-run``.
    DRY_RUN_IDN: ClassVar[str] = ""
