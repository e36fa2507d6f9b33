"""Each emulated instrument enforces exactly the limits its driver declares (issue 13).

The limits of an instrument model are declared once, in the driver's ``SETTINGS`` and
``MODEL``; the emulators read them. Here every range-checked command of every emulator is sent
at the declared bounds (accepted: no error queued) and just beyond them (refused with -222,
"data out of range"), the bounds taken from the driver, scaled as the driver writes them.
"""

from __future__ import annotations

import pytest

from spin_echo.drivers.emulated.keysight import EmulatedInfiniiVision, EmulatedTrueform
from spin_echo.drivers.emulated.server import EmulatedInstrument
from spin_echo.drivers.emulated.srs import EmulatedLockIn
from spin_echo.drivers.emulated.tektronix import EmulatedTekAwg, EmulatedTekScope
from spin_echo.drivers.emulated.wiring import EmulatedLab
from spin_echo.drivers.settings import Range, Setting, scpi_number
from spin_echo.drivers.visa.keysight_awg import Keysight33500B, Keysight33600A
from spin_echo.drivers.visa.keysight_scope import KeysightInfiniiVision
from spin_echo.drivers.visa.srs_lockin import SR830, SR860
from spin_echo.drivers.visa.tektronix_awg import TektronixAWG5200, TektronixAWG70000
from spin_echo.drivers.visa.tektronix_scope import TektronixScope

# (emulator factory, commands sent first, SCPI command template, the driver's setting)
CASES = {
    "33600A-srat": (
        lambda: EmulatedTrueform(EmulatedLab(), "33600A"),
        [],
        "SOUR1:FUNC:ARB:SRAT {}",
        Keysight33600A.SETTINGS["sample_rate_hz"],
    ),
    "33500B-srat": (
        lambda: EmulatedTrueform(EmulatedLab(), "33500B"),
        [],
        "SOUR1:FUNC:ARB:SRAT {}",
        Keysight33500B.SETTINGS["sample_rate_hz"],
    ),
    "33600A-volt": (
        lambda: EmulatedTrueform(EmulatedLab(), "33600A"),
        ["OUTP1:LOAD INF"],
        "SOUR1:VOLT {}",
        Keysight33600A.SETTINGS["amplitude_vpp"],
    ),
    "33600A-offset": (
        lambda: EmulatedTrueform(EmulatedLab(), "33600A"),
        ["OUTP1:LOAD INF"],
        "SOUR1:VOLT:OFFS {}",
        Keysight33600A.SETTINGS["offset_v"],
    ),
    "infiniivision-points": (
        lambda: EmulatedInfiniiVision(EmulatedLab()),
        [],
        ":WAV:POIN {}",
        KeysightInfiniiVision.SETTINGS["points"],
    ),
    "infiniivision-range": (
        lambda: EmulatedInfiniiVision(EmulatedLab()),
        [],
        ":CHAN1:RANG {}",
        KeysightInfiniiVision.SETTINGS["range_v"],
    ),
    "infiniivision-time": (
        lambda: EmulatedInfiniiVision(EmulatedLab()),
        [],
        ":TIM:RANG {}",
        KeysightInfiniiVision.SETTINGS["time_range_s"],
    ),
    "awg5200-srat": (
        lambda: EmulatedTekAwg(EmulatedLab(), "AWG5200"),
        [],
        "CLOC:SRAT {}",
        TektronixAWG5200.SETTINGS["sample_rate_hz"],
    ),
    "awg5200-ampl": (
        lambda: EmulatedTekAwg(EmulatedLab(), "AWG5200"),
        [],
        "SOUR1:VOLT:AMPL {}",
        TektronixAWG5200.SETTINGS["amplitude_vpp"],
    ),
    "awg70000-srat": (
        lambda: EmulatedTekAwg(EmulatedLab(), "AWG70000"),
        [],
        "CLOC:SRAT {}",
        TektronixAWG70000.SETTINGS["sample_rate_hz"],
    ),
    "awg70000-ampl": (
        lambda: EmulatedTekAwg(EmulatedLab(), "AWG70000"),
        [],
        "SOUR1:VOLT:AMPL {}",
        TektronixAWG70000.SETTINGS["amplitude_vpp"],
    ),
    "mso-record": (
        lambda: EmulatedTekScope(EmulatedLab()),
        [],
        "HOR:RECO {}",
        TektronixScope.SETTINGS["record_length"],
    ),
    "mso-scale": (
        lambda: EmulatedTekScope(EmulatedLab()),
        [],
        "CH1:SCA {}",
        TektronixScope.SETTINGS["range_v"],
    ),
    "mso-time": (
        lambda: EmulatedTekScope(EmulatedLab()),
        [],
        "HOR:SCA {}",
        TektronixScope.SETTINGS["time_range_s"],
    ),
    "sr830-phase": (lambda: EmulatedLockIn("SR830"), [], "PHAS {}", SR830.SETTINGS["phase_deg"]),
    "sr860-phase": (lambda: EmulatedLockIn("SR860"), [], "PHAS {}", SR860.SETTINGS["phase_deg"]),
}


def _errors_after(instrument: EmulatedInstrument, command: str) -> list[int]:
    instrument.errors.clear()
    instrument.handle(command.encode())
    return [code for code, _ in instrument.errors]


def _outside(bound: float, direction: int, integer: bool) -> float:
    if integer:
        return bound + direction
    return bound + direction * max(abs(bound) * 1e-6, 1e-12)


@pytest.mark.parametrize("case", sorted(CASES), ids=sorted(CASES))
def test_emulator_enforces_the_drivers_limits(case: str) -> None:
    make, setup, template, setting = CASES[case]
    assert isinstance(setting, Setting) and isinstance(setting.validator, Range)
    integer = setting.unit == "points"
    instrument = make()
    for command in setup:
        assert _errors_after(instrument, command) == []
    scale = setting.written_scale
    for bound, direction in (
        (float(scpi_number(setting.validator.minimum * scale)), -1),
        (float(scpi_number(setting.validator.maximum * scale)), +1),
    ):
        text = f"{int(bound)}" if integer else f"{bound:.9E}"
        assert _errors_after(instrument, template.format(text)) == [], (case, bound)
        beyond = _outside(bound, direction, integer)
        text = f"{int(beyond)}" if integer else f"{beyond:.9E}"
        assert _errors_after(instrument, template.format(text)) == [-222], (case, beyond)


def test_written_scale_bounds_are_the_drivers_rendered_values() -> None:
    setting = TektronixScope.SETTINGS["range_v"]
    top = setting.validator.maximum
    written = float(setting.render(top, channel=1).split()[-1])
    assert setting.accepts_written(written)
    assert not setting.accepts_written(written * (1 + 1e-6))
