"""The dry-run recorder: exact block headers, replies from the driver."""

from __future__ import annotations

import numpy as np
import pytest
from pyvisa import util

from spin_echo.drivers.dry_run import DryRunTransport, describe_block
from spin_echo.drivers.visa.keysight_awg import Keysight33500B
from tests.drivers.conftest import awg_config, sine_waveform


@pytest.mark.parametrize(
    ("datatype", "big_endian", "name"),
    [
        ("h", False, "int16, little-endian"),
        ("f", True, "float32, big-endian"),
        ("B", False, "uint8, little-endian"),
    ],
    ids=["int16", "float32", "uint8"],
)
def test_block_header_is_exactly_pyvisas(datatype, big_endian, name):
    values = np.arange(1234) % 100
    block = util.to_ieee_block(values, datatype, big_endian)
    header = block[: 2 + int(chr(block[1]))].decode()
    assert describe_block(values, datatype, big_endian) == f"{header}<1234 x {name}>"


def test_a_dry_run_upload_lists_every_command():
    lines: list[str] = []
    transport = DryRunTransport("awg", lines.append)
    awg = Keysight33500B(awg_config("keysight-33500b", "TCPIP::10.0.0.9::INSTR"), transport)
    transport.responder = awg
    awg.connect()
    awg.upload(sine_waveform(1000, 250e6, 16))
    assert lines[:3] == ["awg> *IDN?", "awg> *CLS", "awg> *OPC?"]
    assert "awg> SOUR1:DATA:ARB:DAC SPINECHO,#42000<1000 x int16, little-endian>" in lines
    assert "awg> SOUR1:VOLT 5.000000000E-01" in lines
    assert lines.count("awg> SYST:ERR?") == lines.count("awg> *OPC?")
