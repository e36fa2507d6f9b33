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

Replies are read in bounded steps by :class:`~drivers.visa.transport.VisaTransport` (its
module holds the session, :func:`open_transport`; they are re-exported here).

After configuring, :meth:`ScpiDriver.read_back` reads every declared setting written so far
with its query form and compares it with the value written; :meth:`ScpiDriver.identity` is
the ``*IDN?`` reply of :meth:`ScpiDriver.identify`, parsed (a record's provenance).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import ClassVar, TypeVar

import numpy as np
import pyvisa.constants
import pyvisa.errors

from spin_echo.drivers.config import InstrumentConfig, Option
from spin_echo.drivers.interface import Identity, InstrumentError, SettingReadBack
from spin_echo.drivers.settings import Setting
from spin_echo.drivers.visa.transport import (
    DEFAULT_BACKEND,
    MAX_BLOCK_BYTES,
    MAX_REPLY_BYTES,
    ReplyError,
    Transport,
    VisaTransport,
    open_transport,
    timeout_ms,
)

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


#: Pause between two status polls, seconds.
POLL_INTERVAL_S = 0.001

#: At most this many entries are read from an error queue before giving up on draining it.
MAX_QUEUED_ERRORS = 64

_T = TypeVar("_T")


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
        self._identity: Identity | None = None
        #: Every declared setting written so far, with the last value written (in order).
        self.sent: dict[str, float | int | str] = {}

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
        for (name, value), command in zip(values, commands, strict=True):
            self.send(command)
            self.sent.pop(name, None)
            self.sent[name] = value

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
        self._identity = Identity.from_idn(reply)
        return reply

    def identity(self) -> Identity:
        """Return the ``*IDN?`` reply read when connecting, parsed.

        Raises
        ------
        InstrumentError
            If the instrument has not been identified (not connected).
        """
        if self._identity is None:
            raise InstrumentError(self.label, "*IDN?", "not identified yet (not connected)")
        return self._identity

    def read_back(self) -> tuple[SettingReadBack, ...]:
        """Query every declared setting written so far; compare with what was written.

        Each setting is read with its query form (:meth:`Setting.query_command`, e.g.
        ``SOUR1:VOLT?``), in the order first written; settings without a query form are left
        out. The error queue is drained afterwards (:meth:`complete`).

        Raises
        ------
        InstrumentError
            If a query fails, a reply is not a value of the setting, or a setting declared
            ``must_agree`` reads back outside its resolution (``read_rtol``).
        """
        readings = []
        for name, sent in self.sent.items():
            setting = self.SETTINGS[name]
            query = setting.query_command(**self.fields())
            if query is None:
                continue
            reply = self.query(query)
            try:
                read = setting.parse_reply(reply)
            except ValueError:
                raise InstrumentError(
                    self.label, query, f"{name}: expected a number, got {reply[:80]!r}"
                ) from None
            if isinstance(sent, int) and isinstance(read, float) and read.is_integer():
                read = int(read)  # a count, read back as NR3
            reading = SettingReadBack(name, setting.unit, sent, read, query, setting.read_rtol)
            if setting.must_agree and not reading.agrees:
                raise InstrumentError(
                    self.label,
                    query,
                    f"{name} reads back {read} {setting.unit}, but {sent} was written (beyond "
                    f"the resolution {setting.read_rtol:g}): the instrument is not set as the "
                    "record would say".replace("  ", " "),
                )
            readings.append(reading)
        if readings:
            self.complete("read back")
        return tuple(readings)

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
