"""The virtual lab: real VISA drivers against emulated instruments around a simulated sample."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.drivers import load_bench, open_bench
from spin_echo.drivers.emulated.lab import VirtualLab
from spin_echo.drivers.virtual import FrontEnd
from spin_echo.echo.record import complex_signal, read_record
from spin_echo.echo.runs.lab_run import run_protocol
from spin_echo.sequences import load_protocol
from tests.drivers.conftest import SHORT_ECHO, small_sample

pytestmark = pytest.mark.timeout(120)

PAIRS = [("keysight-33600a", "keysight-infiniivision"), ("tektronix-awg5200", "tektronix-mso")]


@pytest.mark.parametrize(("awg", "scope"), PAIRS, ids=["keysight", "tektronix"])
def test_served_lab_agrees_with_the_virtual_bench(tmp_path, awg, scope):
    protocol_path = tmp_path / "short-echo.yaml"
    protocol_path.write_text(SHORT_ECHO)
    protocol = load_protocol(protocol_path)
    sample = small_sample()
    front = FrontEnd(pickup_v=1.0, bandwidth_hz=200e6, noise_v=0.0, seed=1)
    with VirtualLab(sample, awg=awg, scope=scope, full_scale_rabi_hz=2e6, front_end=front) as lab:
        bench_path = tmp_path / "lab.yaml"
        bench_path.write_text(lab.bench_yaml(sample_rate_hz=250e6, points=4000, range_v=4.0))
        spec = load_bench(bench_path)
        with open_bench(spec) as bench:
            run_protocol(protocol, bench, tmp_path / "lab.nc")
    virtual = tmp_path / "virtual.yaml"
    virtual.write_text(
        "name: v\nawg: {driver: virtual-awg, sample_rate: 250 MHz}\n"
        "detector: {driver: virtual-detector, bandwidth: 200 MHz}\ncoil: {pickup: 1 V}\n"
    )
    with open_bench(load_bench(virtual), sample=sample) as bench:
        run_protocol(protocol, bench, tmp_path / "virtual.nc", sample=sample)
    served = read_record(tmp_path / "lab.nc")
    direct = complex_signal(read_record(tmp_path / "virtual.nc")).values
    assert served.attrs["source"] == "run:virtual-lab"
    assert served.attrs["complete"] == 1
    got = complex_signal(served).values
    peak = np.abs(direct).max()
    assert peak > 0.5
    # differences: the AWG's DAC (14 or 16 bits vs 16), the scope's grid (2 ns, linear
    # interpolation of M_z between 4 ns AWG samples: (2 pi f dt)^2 / 8 ~ 1e-3) and its 16-bit
    # quantisation (6e-5 V); measured 0.6 %
    np.testing.assert_allclose(got, direct, rtol=0, atol=0.015 * peak)
