"""An emulated SCPI instrument served on a real TCP socket (raw "SOCKET" port, 127.0.0.1).

LAN instruments listen on a raw TCP port (5025 for Keysight, 4000 for Tektronix) and speak
newline-terminated SCPI, with binary payloads as IEEE 488.2 definite-length blocks
(``#<n><length><bytes>``) that may contain any byte, newlines included. This module is that
protocol, server side, so that the real drivers can be exercised through PyVISA and
pyvisa-py (``TCPIP::127.0.0.1::<port>::SOCKET``) exactly as in the lab:

- :class:`MessageParser` splits the incoming byte stream into messages, skipping over block
  payloads and quoted strings, and refuses indefinite (``#0``) blocks;
- :class:`EmulatedInstrument` dispatches each command to a handler by SCPI mnemonic (short or
  long form, case-insensitive), keeps the error queue (``SYST:ERR?``) and the standard event
  register (``*ESR?``), answers ``*IDN?``, ``*CLS``, ``*OPC?``, logs every message it received
  (blocks summarised as ``#<n><len><N bytes>``) and can inject faults (:class:`Fault`: a query
  that never answers, a connection that drops, an error pushed to the queue);
- :class:`ScpiServer` serves one instrument on an ephemeral port of 127.0.0.1 only.

The instrument models themselves live in :mod:`spin_echo.drivers.emulated.wiring`.
"""

from __future__ import annotations

import re
import socket
import socketserver
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "DroppedConnectionError",
    "EmulatedInstrument",
    "Fault",
    "MessageParser",
    "ScpiServer",
    "parse_bool",
    "parse_keyword",
    "parse_number",
    "scpi_pattern",
]

#: Largest block the emulator accepts, bytes.
MAX_BLOCK_BYTES = 512 * 1024 * 1024


class DroppedConnectionError(Exception):
    """Raised by a handler to close the client's connection (a dropped link)."""


def scpi_pattern(spec: str) -> re.Pattern[str]:
    """Compile a SCPI mnemonic such as ``[SOURce#:]VOLTage:OFFSet?`` to a header regex.

    Upper-case letters are the short form, lower-case the optional rest of the long form;
    ``#`` is an optional numeric suffix (captured in order); ``[X:]`` (leading) or ``[:X]``
    is an optional node; a leading colon is always optional; matching ignores case.
    """
    query = spec.endswith("?")
    regex, first = "", True
    for match in re.finditer(r"(\[)?:?([A-Za-z0-9*_#]+):?\]?", spec.rstrip("?").lstrip(":")):
        optional, node = match.group(1) is not None, match.group(2)
        suffix = node.endswith("#")
        node = node.rstrip("#")
        short = re.match(r"[A-Z0-9*_]*", node).group(0)
        rest = node[len(short) :]
        piece = re.escape(short) + (f"(?:{rest.upper()})?" if rest else "")
        piece += r"(\d*)" if suffix else ""
        if first:
            regex += f"(?:{piece}:)?" if optional else piece
            first = optional
        else:
            regex += f"(?::{piece})?" if optional else f":{piece}"
    if query:
        regex += r"\?"
    return re.compile(f"^:?{regex}$", re.IGNORECASE)


class MessageParser:
    """Split a SCPI byte stream into messages (see the module docstring)."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every complete message (without its newline).

        Raises
        ------
        ValueError
            For an indefinite-length or oversize block.
        """
        self.buffer.extend(data)
        messages = []
        while True:
            end = self._message_end()
            if end is None:
                return messages
            messages.append(bytes(self.buffer[:end]))
            del self.buffer[: end + 1]

    def _message_end(self) -> int | None:
        buf, i, quote = self.buffer, 0, None
        while i < len(buf):
            c = buf[i]
            if quote is not None:
                quote = None if c == quote else quote
            elif c in (0x22, 0x27):
                quote = c
            elif c == 0x23:
                skip = block_extent(buf, i)
                if skip is None:
                    return None
                i += skip
                continue
            elif c == 0x0A:
                return i
            i += 1
        return None


def block_extent(buf: bytes | bytearray, i: int) -> int | None:
    """Return the length of the definite-length block starting at ``buf[i] == '#'``.

    None when more bytes are needed. Raises ValueError for ``#0`` or an oversize block.
    """
    if i + 1 >= len(buf):
        return None
    digits = buf[i + 1] - 0x30
    if not 0 <= digits <= 9:
        raise ValueError(f"'#' not followed by a digit: {bytes(buf[i : i + 2])!r}")
    if digits == 0:
        raise ValueError("indefinite-length (#0) blocks are not accepted")
    if i + 2 + digits > len(buf):
        return None
    length = int(bytes(buf[i + 2 : i + 2 + digits]))
    if length > MAX_BLOCK_BYTES:
        raise ValueError(f"block of {length} bytes is larger than {MAX_BLOCK_BYTES}")
    total = 2 + digits + length
    return total if i + total <= len(buf) else None


def split_arguments(text: bytes) -> list[str | bytes]:
    """Split the argument part of a command at commas (outside quotes and blocks).

    Text arguments are stripped strings; a block argument is its payload as bytes.

    Raises
    ------
    ValueError
        For a truncated block or garbage between arguments.
    """
    args: list[str | bytes] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] == 0x20:
            i += 1
        if i < n and text[i] == 0x23:
            extent = block_extent(text, i)
            if extent is None:
                raise ValueError("truncated block")
            args.append(bytes(text[i + 2 + text[i + 1] - 0x30 : i + extent]))
            i += extent
        else:
            start, quote = i, None
            while i < n and (quote is not None or text[i] != 0x2C):
                if quote is not None:
                    quote = None if text[i] == quote else quote
                elif text[i] in (0x22, 0x27):
                    quote = text[i]
                i += 1
            args.append(text[start:i].decode("ascii", "replace").strip())
        while i < n and text[i] == 0x20:
            i += 1
        if i < n:
            if text[i] != 0x2C:
                raise ValueError(f"unexpected {bytes(text[i : i + 8])!r} after an argument")
            i += 1
    return args


def summarise(message: bytes) -> str:
    """Return ``message`` as text with each block payload replaced by ``<N bytes>``."""
    out, i, quote = [], 0, None
    while i < len(message):
        c = message[i]
        if quote is None and c == 0x23:
            try:
                extent = block_extent(message, i)
            except ValueError:
                extent = None
            if extent is not None:
                digits = message[i + 1] - 0x30
                out.append(
                    f"{message[i : i + 2 + digits].decode('ascii')}<{extent - 2 - digits} bytes>"
                )
                i += extent
                continue
        if quote is not None:
            quote = None if c == quote else quote
        elif c in (0x22, 0x27):
            quote = c
        out.append(chr(c))
        i += 1
    return "".join(out)


def parse_number(text: str | bytes) -> float:
    """Read a numeric SCPI parameter (ValueError otherwise)."""
    if isinstance(text, bytes):
        raise ValueError("a number was expected, not a block")
    return float(text)


def parse_bool(text: str | bytes) -> bool:
    """Read a boolean SCPI parameter: ``ON``/``1`` or ``OFF``/``0`` (ValueError otherwise)."""
    word = parse_keyword(text, {"ON": "ON", "OFF": "OFF", "1": "1", "0": "0"})
    return word in ("ON", "1")


def parse_keyword(text: str | bytes, choices: dict[str, str]) -> str:
    """Match a keyword in short or long form (``choices``: long form -> short form)."""
    if isinstance(text, bytes):
        raise ValueError("a keyword was expected, not a block")
    word = text.strip().upper()
    for long, short in choices.items():
        if word in (long, short) or (word.startswith(short) and long.startswith(word)):
            return short
    raise ValueError(f"{text!r} is not one of {', '.join(choices)}")


@dataclass
class Fault:
    """A fault to inject when a command matching ``command`` arrives.

    Attributes
    ----------
    command
        SCPI mnemonic (see :func:`scpi_pattern`) of the command that triggers the fault.
    kind
        ``"hang"`` (the query is never answered), ``"drop"`` (the connection is closed) or
        ``"error"`` (``error`` is pushed to the error queue, the command still runs).
    after
        How many matching commands pass normally before the fault fires.
    error
        ``(code, message)`` for ``kind="error"``.
    """

    command: str
    kind: str
    after: int = 0
    error: tuple[int, str] = (-200, "Execution error")
    seen: int = field(default=0, init=False)


Handler = Callable[..., object]


class EmulatedInstrument:
    """A SCPI instrument: command dispatch, error queue, status, log, faults.

    Subclasses list ``COMMANDS`` as ``(mnemonic, method name)`` pairs; a handler gets the
    numeric suffixes captured by ``#`` and the arguments (str, or bytes for a block), and
    returns a reply (str or bytes) or None (no reply). Handlers run holding
    :attr:`lock`, which other connections (an AWG firing the scope's trigger) take too.
    """

    IDN = "spin-echo,emulated instrument,0,1.0"
    COMMANDS: tuple[tuple[str, str], ...] = ()
    COMMON = (
        ("*IDN?", "_idn"),
        ("*CLS", "_cls"),
        ("*RST", "_rst"),
        ("*OPC?", "_opc"),
        ("*ESR?", "_esr"),
        ("SYSTem:ERRor[:NEXT]?", "_next_error"),
    )

    def __init__(self) -> None:
        self.errors: deque[tuple[int, str]] = deque()
        self.esr = 0
        self.log: list[str] = []
        self.blocks: list[bytes] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._table = [
            (scpi_pattern(spec), getattr(self, name)) for spec, name in self.COMMON + self.COMMANDS
        ]

    # -- status ------------------------------------------------------------------------

    def push_error(self, code: int, message: str) -> None:
        """Queue an error (at most 30; then -350 "Queue overflow") and set its *ESR? bit."""
        if len(self.errors) >= 30:
            self.errors[-1] = (-350, "Queue overflow")
        else:
            self.errors.append((code, message))
        self.esr |= 1 << 5 if -199 <= code <= -100 else 1 << 4 if -299 <= code <= -200 else 1 << 3

    def _idn(self) -> str:
        return self.IDN

    def _cls(self) -> None:
        self.errors.clear()
        self.esr = 0

    def _rst(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Return to the power-on state (subclasses extend)."""

    def _opc(self) -> object:
        return "1"

    def _esr(self) -> str:
        value, self.esr = self.esr, 0
        return str(value)

    def _next_error(self) -> str:
        if not self.errors:
            return '+0,"No error"'
        code, message = self.errors.popleft()
        return f'{code:+d},"{message}"'

    # -- dispatch ------------------------------------------------------------------------

    def handle(self, message: bytes) -> bytes | None:
        """Run one received message; return the reply bytes (newline-terminated) or None.

        Raises
        ------
        DroppedConnectionError
            When a ``"drop"`` fault fires.
        """
        with self.lock:
            self.log.append(summarise(message))
            head, _, rest = message.partition(b" ")
            header = head.decode("ascii", "replace").strip()
            try:
                args = split_arguments(rest)
            except ValueError as err:
                self.push_error(-160, f"Block data error; {err}")
                return None
            self.blocks.extend(a for a in args if isinstance(a, bytes))
            found = next(((p.match(header), h) for p, h in self._table if p.match(header)), None)
            if found is None:
                self.push_error(-113, f"Undefined header; {header}")
                return None
            match, handler = found
            if self._fault(header) == "hang":
                return None
            suffixes = [int(g) if g else 1 for g in match.groups()]
            try:
                reply = handler(*suffixes, *args)
            except TypeError:
                self.push_error(-100, f"Command error; wrong number of parameters; {header}")
                return None
            except (ValueError, KeyError) as err:
                self.push_error(-224, f"Illegal parameter value; {header}: {err}")
                return None
        if reply is None:
            return None
        data = reply if isinstance(reply, bytes) else str(reply).encode("ascii")
        return data + b"\n"

    def _fault(self, header: str) -> str | None:
        for fault in self.faults:
            if scpi_pattern(fault.command).match(header) is None:
                continue
            fault.seen += 1
            if fault.seen <= fault.after:
                continue
            if fault.kind == "drop":
                raise DroppedConnectionError(header)
            if fault.kind == "error":
                self.push_error(*fault.error)
                return None
            return "hang"
        return None


def _quick_ack(sock: socket.socket) -> None:
    """Acknowledge received data at once (Linux ``TCP_QUICKACK``).

    A client writing two commands in a row otherwise waits for the delayed ACK of the first
    (Nagle's algorithm), about 40 ms per command.
    """
    if hasattr(socket, "TCP_QUICKACK"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        instrument = self.server.instrument
        parser = MessageParser()
        sock = self.request
        sock.settimeout(0.1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while not instrument.stopping.is_set():
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            _quick_ack(sock)
            try:
                messages = parser.feed(data)
            except ValueError as err:
                with instrument.lock:
                    instrument.push_error(-160, f"Block data error; {err}")
                parser = MessageParser()
                continue
            for message in messages:
                try:
                    reply = instrument.handle(message)
                except DroppedConnectionError:
                    sock.shutdown(socket.SHUT_RDWR)
                    return
                if reply is not None:
                    sock.sendall(reply)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, instrument: EmulatedInstrument) -> None:
        self.instrument = instrument
        super().__init__(("127.0.0.1", 0), _Handler)


class ScpiServer:
    """Serve ``instrument`` on an ephemeral TCP port of 127.0.0.1 (a context manager).

    Attributes
    ----------
    instrument
        The emulated instrument.
    port
        The port it listens on.
    """

    def __init__(self, instrument: EmulatedInstrument) -> None:
        self.instrument = instrument
        self._server = _Server(instrument)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def resource(self) -> str:
        """The VISA resource string of this server (raw socket)."""
        return f"TCPIP::127.0.0.1::{self.port}::SOCKET"

    def start(self) -> ScpiServer:
        """Start serving in a background thread; return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        self.instrument.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ScpiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
