"""End to end through real sockets: the compiled Hahn echo uploaded to the emulated AWG,
triggered, and read back on the emulated scope through a loopback cable."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.drivers.visa.keysight_awg import Keysight33600A
from spin_echo.drivers.visa.keysight_scope import KeysightInfiniiVision
from spin_echo.drivers.visa.scpi import open_transport
from spin_echo.sequences import compile_waveform, load_protocol
from tests.drivers.conftest import awg_config, scope_config

pytestmark = pytest.mark.timeout(60)


def test_hahn_echo_bytes_and_scaling(scope_lab):
    protocol = load_protocol("hahn-echo")
    config = awg_config("keysight-33600a", scope_lab.awg_resource, sample_rate=250e6, amplitude=1.6)
    awg = Keysight33600A(config, open_transport(config))
    awg.connect()
    values = next(protocol.iter_points())[1]
    waveform = compile_waveform(protocol.sequence(values, 0), awg.constraints(), 250e6)
    awg.upload(waveform)
    awg.arm()
    # bytes: the block the AWG received is the waveform's float32 samples, little-endian
    assert scope_lab.awg.blocks[-1] == waveform.samples.astype("<f4").tobytes()
    assert len(waveform.samples) >= 32 and waveform.dac_bits == 14
    sconfig = scope_config(
        "keysight-infiniivision", scope_lab.scope_resource, points=2000, range=2.0
    )
    scope = KeysightInfiniiVision(sconfig, open_transport(sconfig))
    scope.connect()
    pulse_s = 1.6e-6  # covers both pulses of the first sweep point
    scope.arm(0.0, pulse_s)
    awg.trigger()
    trace = scope.acquire()
    awg.close()
    scope.close()
    # scaling: the loopback voltage is samples * Vpp / 2, held for one AWG sample; the scope
    # samples every 0.8 ns and quantises to range / 64000
    index = np.floor(trace.time_s * 250e6 + 1e-6).astype(int)
    expected = waveform.samples.astype(np.float32)[index] * 0.8
    np.testing.assert_allclose(trace.values, expected, rtol=0, atol=2.0 / 64000 / 2 + 1e-7)
    # the pulses are there: a pi/2 pulse of 500 ns at 1 MHz full scale is half scale, 0.4 V
    assert np.abs(trace.values).max() == pytest.approx(0.4, abs=1e-3)
