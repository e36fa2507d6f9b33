"""The VISA driver base: timeout conversion, connection failures, error-queue draining."""

from __future__ import annotations

import socket

import pytest

from spin_echo.drivers.config import InstrumentConfig
from spin_echo.drivers.emulated.keysight import EmulatedTrueform
from spin_echo.drivers.emulated.server import ScpiServer
from spin_echo.drivers.emulated.wiring import EmulatedLab
from spin_echo.drivers.interface import InstrumentError
from spin_echo.drivers.visa.keysight_awg import Keysight33600A
from spin_echo.drivers.visa.scpi import MAX_QUEUED_ERRORS, open_transport, timeout_ms
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
        resource = open_transport(awg_config("keysight-33600a", server.resource, timeout_s=1.25))
        assert resource.timeout == 1250
        assert resource.read_termination == "\n"
        assert resource.write_termination == "\n"
        resource.close()


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
