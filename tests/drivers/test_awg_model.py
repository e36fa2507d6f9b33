"""AWG model capabilities and the pre-upload waveform check."""

from __future__ import annotations

import numpy as np
import pytest

from spin_echo.drivers.awg_model import AwgModel, check_waveform
from spin_echo.sequences.timeline import Waveform

MODEL = AwgModel(1e3, 1e9, 1000, 16, 8, 14, 2)


def waveform(n=64, rate=1e8, bits=14, peak=0.5, markers=(2, 64)):
    samples = np.full(n, peak)
    return Waveform(rate, samples, bits, np.zeros(markers, bool), 4e6, 1e6, ())


def test_constraints_take_the_lower_sample_rate():
    assert MODEL.constraints(None).sample_rate_max_hz == 1e9
    assert MODEL.constraints(2e8).sample_rate_max_hz == 2e8
    assert MODEL.constraints(5e9).sample_rate_max_hz == 1e9
    assert MODEL.constraints(None).max_length == 1000


CASES = {
    "fits": (waveform(), None),
    "too-short": (waveform(n=8, markers=(2, 8)), "at least 16"),
    "too-long": (waveform(n=1008, markers=(2, 1008)), "at most 1000"),
    "granularity": (waveform(n=68, markers=(2, 68)), "multiple of 8"),
    "dac-bits": (waveform(bits=16), "DAC has 14"),
    "peak": (waveform(peak=1.0000001), "exceeds full scale"),
    "markers": (waveform(markers=(2, 63)), "marker array"),
    "rate-mismatch": (waveform(rate=2e8), "differs from"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_check_waveform(case):
    wf, message = CASES[case]
    why = check_waveform(wf, MODEL.constraints(None), 1e8)
    assert (why is None) if message is None else (message in why)


def test_rate_beyond_bench_limit():
    why = check_waveform(waveform(rate=5e8), MODEL.constraints(2e8), 5e8)
    assert "outside 1000..2e+08" in why
