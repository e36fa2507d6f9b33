"""The VISA driver base: timeout conversion, connection failures, error-queue draining."""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc

import pytest

from spin_echo.drivers.config import InstrumentConfig
from spin_echo.drivers.emulated.keysight import EmulatedTrueform
from spin_echo.drivers.emulated.server import ScpiServer
from spin_echo.drivers.emulated.wiring import EmulatedLab
from spin_echo.drivers.interface import InstrumentError
from spin_echo.drivers.visa.keysight_awg import Keysight33600A
from spin_echo.drivers.visa.scpi import (
    MAX_BLOCK_BYTES,
    MAX_QUEUED_ERRORS,
    MAX_REPLY_BYTES,
    open_transport,
    timeout_ms,
)
from tests.drivers.conftest import awg_config

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(
    ("seconds", "ms"),
    [(2.5, 2500), (0.0001, 1), (1e-3, 1), (10, 10000)],
    ids=["seconds", "floor-at-1ms", "one-ms", "integer"],
)
def test_timeout_ms_is_the_one_conversion(seconds, ms):
    assert timeout_ms(seconds) == ms


def test_open_sets_the_timeout_in_ms():
    with ScpiServer(EmulatedTrueform(EmulatedLab())) as server:
        transport = open_transport(awg_config("keysight-33600a", server.resource, timeout_s=1.25))
        assert transport.timeout_s == 1.25
        resource = transport.resource
        assert resource.timeout == 1250
        assert resource.read_termination == "\n"
        assert resource.write_termination == "\n"
        transport.close()


def test_refused_connection_is_an_instrument_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = awg_config("keysight-33600a", f"TCPIP::127.0.0.1::{port}::SOCKET")
    with pytest.raises(InstrumentError) as info:
        Keysight33600A(config, open_transport(config)).connect()
    # pyvisa-py reports a refused socket at the first exchange, not at open
    assert info.value.command in ("open", "*IDN?")
    assert "connect" in info.value.instrument_message


def test_unknown_backend_is_an_instrument_error():
    config = InstrumentConfig("awg", "keysight-33600a", "ASRL1::INSTR", 1.0, backend="@nonesuch")
    with pytest.raises(InstrumentError, match="cannot connect"):
        open_transport(config)


def test_every_queued_error_is_reported_in_order():
    instrument = EmulatedTrueform(EmulatedLab())
    with ScpiServer(instrument) as server:
        config = awg_config("keysight-33600a", server.resource)
        awg = Keysight33600A(config, open_transport(config))
        instrument.push_error(-222, "Data out of range")
        instrument.push_error(-113, "Undefined header")
        with pytest.raises(InstrumentError) as info:
            awg.complete("step")
        awg.close()
    assert info.value.command == "step"
    assert info.value.instrument_message == ('-222, "Data out of range"; -113, "Undefined header"')


class StuckQueue(EmulatedTrueform):
    def _next_error(self) -> str:
        return '-100,"Command error"'


def test_a_queue_that_never_empties_is_reported():
    instrument = StuckQueue(EmulatedLab())
    with ScpiServer(instrument) as server:
        config = awg_config("keysight-33600a", server.resource)
        awg = Keysight33600A(config, open_transport(config))
        with pytest.raises(InstrumentError, match=f"not empty after {MAX_QUEUED_ERRORS} reads"):
            awg.complete("step")
        awg.close()


def test_closed_driver_says_so():
    config = awg_config("keysight-33600a", None)
    awg = Keysight33600A(config, transport=None)
    with pytest.raises(InstrumentError, match="the session is closed"):
        awg.query("*IDN?")
    awg.close()


class Streamer:
    """A real TCP server on 127.0.0.1 that answers every connection with ``payload``, repeated
    every ``interval_s`` (0: as fast as the socket takes it), never sending a newline."""

    def __init__(self, payload: bytes, interval_s: float = 0.0, once: bool = False) -> None:
        self.payload, self.interval_s, self.once = payload, interval_s, once
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def resource(self) -> str:
        return f"TCPIP::127.0.0.1::{self.sock.getsockname()[1]}::SOCKET"

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(1024)  # the query
            while not self.stop.is_set():
                try:
                    conn.sendall(self.payload)
                except OSError:
                    return
                self.sent += len(self.payload)
                if self.once:
                    self.stop.wait()
                    return
                if self.interval_s:
                    time.sleep(self.interval_s)

    def __enter__(self) -> Streamer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize(
    ("payload", "interval_s", "why"),
    [
        (b"x" * 65536, 0.0, "without a terminator"),
        (b"garbage ", 0.05, "no complete reply within 0.5 s"),
    ],
    ids=["flood", "trickle"],
)
def test_a_reply_without_terminator_ends_at_the_timeout(payload, interval_s, why):
    with Streamer(payload, interval_s) as server:
        config = awg_config("keysight-33600a", server.resource, timeout_s=0.5)
        awg = Keysight33600A(config, open_transport(config))
        tracemalloc.start()
        start = time.monotonic()
        with pytest.raises(InstrumentError) as info:
            awg.query("*IDN?")
        elapsed = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        awg.close()
    assert info.value.command == "*IDN?"
    assert info.value.instrument == config.label
    assert why in info.value.instrument_message
    assert elapsed < 0.5 + 0.5  # the configured timeout, plus one bounded read
    assert peak < 8 * MAX_REPLY_BYTES
    if interval_s:
        assert elapsed >= 0.5


def test_a_block_declaring_more_than_the_limit_is_refused_unread():
    header = str(MAX_BLOCK_BYTES + 1).encode()
    with Streamer(b"#" + str(len(header)).encode() + header, once=True) as server:
        config = awg_config("keysight-33600a", server.resource, timeout_s=0.5)
        awg = Keysight33600A(config, open_transport(config))
        with pytest.raises(InstrumentError, match="at most 536870912 accepted") as info:
            awg.query_block("DATA?", datatype="h", big_endian=False)
        awg.close()
    assert info.value.command == "DATA?"


def test_a_block_reply_without_header_ends_at_the_timeout():
    with Streamer(b"no header here ", 0.02) as server:
        config = awg_config("keysight-33600a", server.resource, timeout_s=0.5)
        awg = Keysight33600A(config, open_transport(config))
        start = time.monotonic()
        with pytest.raises(InstrumentError, match="no block header"):
            awg.query_block("DATA?", datatype="h", big_endian=False)
        assert time.monotonic() - start < 1.0
        awg.close()
