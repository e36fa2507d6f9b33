"""The SCPI emulator: stream parsing, blocks in both byte orders, error queue, faults."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import pyvisa
from hypothesis import given, settings
from hypothesis import strategies as st

from spin_echo.drivers.emulated.keysight import EmulatedTrueform
from spin_echo.drivers.emulated.server import (
    EmulatedInstrument,
    MessageParser,
    ScpiServer,
    scpi_pattern,
    split_arguments,
    summarise,
)
from spin_echo.drivers.emulated.wiring import EmulatedLab

pytestmark = pytest.mark.timeout(30)


def block(payload: bytes) -> bytes:
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload


messages = st.lists(
    st.tuples(st.sampled_from(["DATA:ARB A,", "X ", ":WAV:DATA? "]), st.binary(max_size=300)),
    min_size=1,
    max_size=6,
)


@given(messages, st.integers(min_value=1, max_value=64))
@settings(max_examples=200, deadline=None)
def test_parser_recovers_messages_with_arbitrary_block_bytes(parts, chunk):
    """Blocks may hold newlines, '#', quotes: the parser still splits at the right newline."""
    sent = [head.encode() + block(payload) for head, payload in parts]
    stream = b"".join(m + b"\n" for m in sent)
    parser = MessageParser()
    received = []
    for i in range(0, len(stream), chunk):
        received.extend(parser.feed(stream[i : i + chunk]))
    assert received == sent
    assert parser.buffer == bytearray()
    for (_, payload), message in zip(parts, received, strict=True):
        assert split_arguments(message.partition(b" ")[2])[-1] == payload


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'"a,b", 3', ['"a,b"', "3"]),
        (b"SPINECHO," + block(b"\n,#"), ["SPINECHO", b"\n,#"]),
        (b"", []),
        (b" 1.5E+00 ", ["1.5E+00"]),
    ],
    ids=["quoted-comma", "block-with-newline", "empty", "padded"],
)
def test_split_arguments(text, expected):
    assert split_arguments(text) == expected


def test_indefinite_blocks_are_refused():
    with pytest.raises(ValueError, match="indefinite"):
        MessageParser().feed(b"DATA:ARB A,#0abc\n")


def test_summarise_keeps_header_and_counts_bytes():
    assert summarise(b'X "#a",' + block(b"abc\n")) == 'X "#a",#14<4 bytes>'


@pytest.mark.parametrize(
    ("spec", "header", "groups"),
    [
        ("[SOURce#:]VOLTage:OFFSet", "SOUR2:VOLT:OFFS", ("2",)),
        ("[SOURce#:]VOLTage:OFFSet", "source1:voltage:offset", ("1",)),
        ("[SOURce#:]VOLTage:OFFSet", ":VOLT:OFFS", (None,)),
        ("SYSTem:ERRor[:NEXT]?", "SYST:ERR:NEXT?", ()),
    ],
    ids=["short", "long-lower", "implied-node", "optional-tail"],
)
def test_scpi_pattern_accepts_short_and_long_forms(spec, header, groups):
    match = scpi_pattern(spec).match(header)
    assert match is not None
    assert match.groups() == groups


@pytest.mark.parametrize(
    ("spec", "header"),
    [("[SOURce#:]VOLTage", "SOURC1:VOLT"), ("[SOURce#:]VOLTage", "VOLT:OFFS"), ("*OPC?", "*OPC")],
    ids=["partial-long-form", "extra-node", "query-vs-command"],
)
def test_scpi_pattern_refuses(spec, header):
    assert scpi_pattern(spec).match(header) is None


@pytest.fixture
def trueform():
    instrument = EmulatedTrueform(EmulatedLab(), "33500B")
    with ScpiServer(instrument) as server:
        manager = pyvisa.ResourceManager("@py")
        resource = manager.open_resource(
            server.resource, read_termination="\n", write_termination="\n", timeout=500
        )
        yield instrument, resource
        resource.close()


CODES = np.array([0, 1, -1, 32767, -32767, 10, 2570, -2560], dtype=np.int16)


@pytest.mark.parametrize(
    ("order", "big_endian"), [("NORM", True), ("SWAP", False)], ids=["normal", "swapped"]
)
def test_blocks_decode_in_both_byte_orders(trueform, order, big_endian):
    instrument, visa = trueform
    visa.write(f"FORM:BORD {order}")
    visa.write_binary_values("DATA:ARB:DAC A,", CODES, datatype="h", is_big_endian=big_endian)
    assert visa.query("SYST:ERR?") == '+0,"No error"'
    np.testing.assert_array_equal(instrument.arbs["A"] * 32767, CODES)


def test_wrong_byte_order_is_not_silently_right(trueform):
    instrument, visa = trueform
    visa.write("FORM:BORD NORM")
    visa.write_binary_values("DATA:ARB:DAC A,", CODES, datatype="h", is_big_endian=False)
    visa.query("*OPC?")
    # the instrument stores what it was told the bytes mean: every code byte-swapped
    assert "A" in instrument.arbs
    np.testing.assert_array_equal(instrument.arbs["A"] * 32767, CODES.byteswap())
    assert not np.array_equal(instrument.arbs["A"] * 32767, CODES)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (b"BOGUS:CMD 1", '-113,"Undefined header; BOGUS:CMD"'),
        (b"DATA:ARB:DAC A," + block(b"\x00\x00\x00"), "-160,"),
        (b"DATA:ARB:DAC A," + block(struct.pack(">8h", -32768, *range(7))), "-222,"),
        (b"DATA:ARB:DAC A,1,2,3", "-104,"),
        (b"DATA:ARB:DAC A," + block(struct.pack(">4h", 1, 2, 3, 4)), "-222,"),
        (b"VOLT 12", "-222,"),
        (b"*TRG", '-211,"Trigger ignored"'),
    ],
    ids=["undefined", "odd-bytes", "dac-minus-32768", "not-a-block", "too-short", "volt", "trg"],
)
def test_checks_push_errors_to_the_queue(trueform, message, error):
    _, visa = trueform
    visa.write_raw(message + b"\n")
    assert visa.query("SYST:ERR?").startswith(error)
    assert visa.query("SYST:ERR?") == '+0,"No error"'


def test_esr_reports_command_and_execution_errors(trueform):
    _, visa = trueform
    visa.write("BOGUS")
    visa.write("VOLT 12")
    assert int(visa.query("*ESR?")) == (1 << 5) | (1 << 4)
    assert int(visa.query("*ESR?")) == 0


def test_error_queue_overflows_like_scpi():
    instrument = EmulatedInstrument()
    for i in range(40):
        instrument.push_error(-100 - i % 10, "x")
    assert len(instrument.errors) == 30
    assert instrument.errors[-1] == (-350, "Queue overflow")


def test_server_listens_on_loopback_only():
    with ScpiServer(EmulatedInstrument()) as server:
        assert server.resource.startswith("TCPIP::127.0.0.1::")
        assert server._server.server_address[0] == "127.0.0.1"
