"""Checks against the real instruments of a lab bench file: opt-in, never in CI.

    python -m pytest tests/hardware --instrument-bench lab-a.yaml

Nothing here plays a waveform: the checks identify each instrument, clear its status, read its
error queue, and compare what the AWG says it can do with the bench file's limits.
"""

import pytest

from spin_echo.drivers.bench import load_bench, open_bench
from spin_echo.sequences import compile_waveform, load_protocol

pytestmark = pytest.mark.hardware


def test_every_instrument_identifies_as_its_driver_and_reports_no_error(instrument_bench):
    spec = load_bench(instrument_bench)
    with open_bench(spec) as bench:
        for instrument in (bench.awg, bench.detector, bench.lockin):
            if instrument is not None:
                assert instrument.identify()


def test_awg_constraints_respect_the_bench_limits_and_fit_the_library_echo(instrument_bench):
    spec = load_bench(instrument_bench)
    with open_bench(spec) as bench:
        constraints = bench.awg.constraints()
        assert constraints.sample_rate_min_hz <= bench.awg.sample_rate_hz
        assert bench.awg.sample_rate_hz <= constraints.sample_rate_max_hz
        protocol = load_protocol("hahn-echo")
        waveform = compile_waveform(protocol.sequence(), constraints, bench.awg.sample_rate_hz)
        assert len(waveform.samples) % constraints.length_step == 0
