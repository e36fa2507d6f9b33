"""Scaling of oscilloscope codes to volts."""

from __future__ import annotations

import numpy as np

from spin_echo.drivers.visa.scope import linear_trace


def test_linear_trace_scaling():
    codes = np.array([-32000, 0, 100, 32000], dtype=np.int16)
    trace = linear_trace(
        codes,
        x_increment=2e-9,
        x_origin=1e-6,
        x_reference=1.0,
        y_increment=1e-4,
        y_origin=0.05,
        y_reference=100.0,
    )
    np.testing.assert_allclose(trace.time_s, [1e-6 - 2e-9, 1e-6, 1e-6 + 2e-9, 1e-6 + 4e-9])
    np.testing.assert_allclose(trace.values, [-3.21 + 0.05, -0.01 + 0.05, 0.05, 3.19 + 0.05])
    assert trace.units == "V"
