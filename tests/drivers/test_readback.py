"""Identification and settings read back after configuring: emulated lab over TCP, pyvisa-sim.

The expected values are written out: the ``*IDN?`` fields as the instruments report them, and
the value each setting must read back, from the bench file (amplitude, sample rate, points,
range) or the window of the first acquisition.
"""

from __future__ import annotations

import math

import pytest

from spin_echo.drivers import InstrumentError
from spin_echo.drivers.bench import DRIVERS, load_bench, open_bench
from spin_echo.drivers.config import InstrumentConfig
from spin_echo.drivers.emulated.lab import VirtualLab
from spin_echo.drivers.emulated.server import ScpiServer
from spin_echo.drivers.emulated.srs import EmulatedLockIn
from spin_echo.drivers.interface import Identity, SettingReadBack
from spin_echo.drivers.settings import BOOLEAN_REPLIES, OneOf, Range, Setting
from spin_echo.drivers.visa.scpi import open_transport
from spin_echo.echo.runs.lab_run import acquire_shots
from spin_echo.sequences import compile_waveform, load_protocol
from tests.drivers.conftest import SHORT_ECHO, sim_config, small_sample, wait_recorded

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("reply", "fields"),
    [
        (
            "Keysight Technologies,33622A,MY59000001,A.02.02-3.15-2.01-60-00\n",
            ("Keysight Technologies", "33622A", "MY59000001", "A.02.02-3.15-2.01-60-00"),
        ),
        (
            "TEKTRONIX,MSO54,C010001,CF:91.1CT FV:1.38.2",
            ("TEKTRONIX", "MSO54", "C010001", "CF:91.1CT FV:1.38.2"),
        ),
        ("ACME,X1,7,fw 1,2,3", ("ACME", "X1", "7", "fw 1,2,3")),  # commas stay in the firmware
        ("ACME, X1", ("ACME", "X1", "", "")),  # a short reply: the fields it has
    ],
    ids=["keysight", "tektronix", "commas-in-firmware", "short"],
)
def test_idn_reply_is_parsed_into_its_four_fields(reply, fields):
    assert Identity.from_idn(reply) == Identity(*fields)


def test_query_forms_and_replies_of_settings():
    volt = Setting("amplitude_vpp", "SOUR{channel}:VOLT {value}", "Vpp", Range(1e-3, 10.0))
    assert volt.query_command(channel=2) == "SOUR2:VOLT?"
    assert volt.parse_reply("+2.500000000000000E-01") == 0.25
    assert Setting("channel", "{value}", "", OneOf((1, 2))).query_command() is None
    assert Setting("seed", "", "", Range(0, 9)).query_command() is None
    assert Setting("x", "X {value}", "", Range(0, 1), query=None).query_command() is None
    scale = Setting("time_range_s", "HOR:SCA {value}", "s", Range(1e-9, 1.0), written_scale=0.1)
    assert scale.parse_reply("4.0E-07") == pytest.approx(4e-6, rel=1e-15)  # per division x 10
    state = Setting("output", "OUTP1 {value}", "", OneOf(("ON", "OFF")), replies=BOOLEAN_REPLIES)
    assert [state.parse_reply(r) for r in ("1", "+0", "ON", "off")] == ["ON", "OFF", "ON", "OFF"]
    encoding = Setting("encoding", "DAT:ENC {value}", "", OneOf(("SRI", "RIB")))
    assert [encoding.parse_reply(r) for r in ("SRIBINARY", "RIBINARY", "RIB")] == [
        "SRI",
        "RIB",
        "RIB",
    ]
    load = Setting(
        "load", "L {value}", "", OneOf(("50", "INF")), replies=(("9.9E+37", "INF"), ("50", "50"))
    )
    assert [load.parse_reply(r) for r in ("+9.900000000000000E+37", "+5.0E+01")] == ["INF", "50"]
    with pytest.raises(ValueError):
        volt.parse_reply("OFF")


def test_agreement_within_the_declared_resolution():
    assert SettingReadBack("a", "V", 0.25, 0.25 * (1 + 0.9e-6), rtol=1e-6).agrees
    assert not SettingReadBack("a", "V", 0.25, 0.25 * (1 + 1.1e-6), rtol=1e-6).agrees
    assert not SettingReadBack("o", "V", 0.0, 1e-12).agrees  # no absolute slack
    assert SettingReadBack("s", "", "on", "ON").agrees
    assert not SettingReadBack("s", "", "ON", "OFF").agrees


IDN = {
    "keysight-33600a": ("Keysight Technologies", "33622A", "MY59000001", "A.02.02-3.15-2.01-60-00"),
    "keysight-33500b": ("Keysight Technologies", "33522B", "MY59000002", "4.00-1.19-2.00-58-00"),
    "tektronix-awg5200": ("TEKTRONIX", "AWG5204", "B010001", "FV:6.6.0000.0"),
    "tektronix-awg70000": ("TEKTRONIX", "AWG70002A", "B020001", "FV:7.1.0170.0"),
    "keysight-infiniivision": (
        "KEYSIGHT TECHNOLOGIES",
        "DSOX3024T",
        "MY59000003",
        "07.50.2021102830",
    ),
    "tektronix-mso": ("TEKTRONIX", "MSO54", "C010001", "CF:91.1CT FV:1.38.2"),
}

#: (name, query, value read back) in the order first written; the bench file of
#: VirtualLab.bench_yaml: 250 MSa/s, 1 Vpp (Keysight) or 0.5 Vpp (Tektronix), 4000 points, 4 V.
KEYSIGHT_AWG = [
    ("byte_order", "FORM:BORD?", "SWAP"),
    ("function", "SOUR1:FUNC?", "ARB"),
    ("sample_rate_hz", "SOUR1:FUNC:ARB:SRAT?", 250e6),
    ("amplitude_unit", "SOUR1:VOLT:UNIT?", "VPP"),
    ("load", "OUTP1:LOAD?", "50"),
    ("amplitude_vpp", "SOUR1:VOLT?", 1.0),
    ("offset_v", "SOUR1:VOLT:OFFS?", 0.0),
    ("burst_mode", "SOUR1:BURS:MODE?", "TRIG"),
    ("burst_cycles", "SOUR1:BURS:NCYC?", 1),
    ("trigger_source", "TRIG1:SOUR?", "BUS"),
    ("burst_state", "SOUR1:BURS:STAT?", "ON"),
    ("sync", "OUTP:SYNC?", "ON"),
    ("output", "OUTP1?", "ON"),
]
TEKTRONIX_AWG = [
    ("sample_rate_hz", "CLOC:SRAT?", 250e6),
    ("amplitude_vpp", "SOUR1:VOLT:AMPL?", 0.5),
    ("run_mode", "SOUR1:RMOD?", "TRIG"),
    ("trigger_input", "SOUR1:TINP?", "ATR"),
    ("output", "OUTP1?", "ON"),
]
#: The scopes' settings before the window (time base), which depends on the protocol.
KEYSIGHT_SCOPE = [
    ("channel", ":WAV:SOUR?", 1),
    ("format", ":WAV:FORM?", "WORD"),
    ("byte_order", ":WAV:BYT?", "LSBF"),
    ("unsigned", ":WAV:UNS?", 0),
    ("points_mode", ":WAV:POIN:MODE?", "RAW"),
    ("points", ":WAV:POIN?", 4000),
    ("range_v", ":CHAN1:RANG?", 4.0),
    ("reference", ":TIM:REF?", "LEFT"),
    ("trigger_mode", ":TRIG:MODE?", "EDGE"),
    ("trigger_source", ":TRIG:EDGE:SOUR?", "EXT"),
    ("trigger_level_v", ":TRIG:EDGE:LEV?", 1.0),
    ("sweep", ":TRIG:SWE?", "NORM"),
]
TEKTRONIX_SCOPE = [
    ("header", "HEAD?", "OFF"),
    ("channel", "DAT:SOU?", 1),
    ("encoding", "DAT:ENC?", "SRI"),
    ("bytes_per_point", "WFMO:BYT_N?", 2),
    ("start", "DAT:STAR?", 1),
    ("points", "DAT:STOP?", 4000),
    ("horizontal_mode", "HOR:MODE?", "MAN"),
    ("record_length", "HOR:RECO?", 4000),
    ("range_v", "CH1:SCA?", 4.0),
    ("trigger_source", "TRIG:A:EDGE:SOU?", "AUX"),
    ("trigger_level_v", "TRIG:A:LEV:AUX?", 1.0),
    ("stop_after", "ACQ:STOPA?", "SEQ"),
    ("delay_mode", "HOR:DEL:MOD?", "ON"),
    ("position_percent", "HOR:POS?", 0),
]
EXPECTED = {
    "keysight-33600a": KEYSIGHT_AWG,
    "keysight-33500b": KEYSIGHT_AWG,
    "tektronix-awg5200": TEKTRONIX_AWG,
    "tektronix-awg70000": TEKTRONIX_AWG,
    "keysight-infiniivision": KEYSIGHT_SCOPE,
    "tektronix-mso": TEKTRONIX_SCOPE,
}
#: Queries confirming the read-back: *OPC? and the error queue (*ESR? where there is none).
COMPLETION = {
    "keysight-33600a": ["*OPC?", "SYST:ERR?"],
    "keysight-33500b": ["*OPC?", "SYST:ERR?"],
    "tektronix-awg5200": ["*OPC?", "SYST:ERR?"],
    "tektronix-awg70000": ["*OPC?", "SYST:ERR?"],
    "keysight-infiniivision": ["*OPC?", ":SYST:ERR?"],
    "tektronix-mso": ["*OPC?", "*ESR?"],
}
#: Window settings of each scope: (name, query, emulator attribute giving the instrument's state).
WINDOW = {
    "keysight-infiniivision": [
        ("time_range_s", ":TIM:RANG?", lambda s: s.time_range),
        ("time_position_s", ":TIM:POS?", lambda s: s.position),
    ],
    "tektronix-mso": [
        ("delay_s", "HOR:DEL:TIM?", lambda s: s.delay),
        ("time_range_s", "HOR:SCA?", lambda s: 10 * s.time_scale),
    ],
}


def _listed(readings):
    return [(r.name, r.query, r.read) for r in readings]


def _one_shot(lab: VirtualLab, bench, folder) -> None:
    """Upload, arm, trigger and acquire the first phase step of the short echo once."""
    (folder / "short-echo.yaml").write_text(SHORT_ECHO)
    protocol = load_protocol(folder / "short-echo.yaml")
    waveform = compile_waveform(
        protocol.sequence(next(protocol.iter_points())[1], 0),
        bench.awg.constraints(),
        bench.awg.sample_rate_hz,
    )
    acquire_shots(bench, waveform, shots=1, bandwidth_hz=2e6, repetition_time_s=0.0, realtime=False)
    wait_recorded(lab.scope)


@pytest.mark.parametrize(
    ("awg", "scope"),
    [
        ("keysight-33600a", "keysight-infiniivision"),
        ("keysight-33500b", "tektronix-mso"),
        ("tektronix-awg5200", "keysight-infiniivision"),
        ("tektronix-awg70000", "tektronix-mso"),
    ],
)
def test_emulated_lab_identifies_and_reads_back_what_was_written(tmp_path, awg, scope):
    """Over real TCP: after one shot, each instrument answers every setting's query exactly."""
    with VirtualLab(small_sample(20), awg=awg, scope=scope) as lab:
        bench_file = tmp_path / "lab.yaml"
        bench_file.write_text(lab.bench_yaml(timeout_s=5.0))
        with open_bench(load_bench(bench_file)) as bench:
            _one_shot(lab, bench, tmp_path)
            sent_before = len(lab.awg.log), len(lab.scope.log)
            awg_snapshot, scope_snapshot = bench.snapshot()
            traffic = lab.awg.log[sent_before[0] :], lab.scope.log[sent_before[1] :]
    assert awg_snapshot.identity == Identity(*IDN[awg])
    assert scope_snapshot.identity == Identity(*IDN[scope])
    assert (awg_snapshot.role, awg_snapshot.driver) == ("awg", awg)
    assert _listed(awg_snapshot.settings) == EXPECTED[awg]
    window = WINDOW[scope]
    assert _listed(scope_snapshot.settings[: -len(window)]) == EXPECTED[scope]
    timebase = scope_snapshot.settings[-len(window) :]
    for reading, (name, query, state) in zip(timebase, window, strict=True):
        assert (reading.name, reading.query) == (name, query)
        assert reading.read == pytest.approx(state(lab.scope), rel=1e-9)
    for snapshot in (awg_snapshot, scope_snapshot):
        assert all(s.agrees for s in snapshot.settings), snapshot
    # the exact traffic of the read-back: one query per setting, then the completion check
    assert traffic[0] == [q for _, q, _ in EXPECTED[awg]] + COMPLETION[awg]
    queries = [q for _, q, _ in EXPECTED[scope]] + [q for _, q, _ in window]
    assert traffic[1] == queries + COMPLETION[scope]


def test_a_drive_setting_that_reads_back_otherwise_is_an_instrument_error(tmp_path):
    """The amplitude changed behind the driver's back (front panel): the run must not go on;
    a time base the scope coerced is recorded as differing, not refused."""
    with VirtualLab(small_sample(20)) as lab:
        bench_file = tmp_path / "lab.yaml"
        bench_file.write_text(lab.bench_yaml(timeout_s=5.0))
        with open_bench(load_bench(bench_file)) as bench:
            _one_shot(lab, bench, tmp_path)
            lab.awg.amplitude = 0.8
            with pytest.raises(InstrumentError) as info:
                bench.awg.read_back()
            lab.scope.time_range = 1.5 * lab.scope.time_range
            readings = {r.name: r for r in bench.detector.read_back()}
            coerced = lab.scope.time_range
    assert info.value.command == "SOUR1:VOLT?"
    assert "amplitude_vpp reads back 0.8 Vpp, but 1.0 was written" in info.value.instrument_message
    assert readings["time_range_s"].read == coerced and not readings["time_range_s"].agrees
    assert readings["time_range_s"].sent == pytest.approx(coerced / 1.5, rel=1e-12)
    assert readings["points"].agrees and readings["points"].read == 4000


SIM_CASES = {
    "keysight-33600a": ("awg", "keysight-trueform.yaml", "TCPIP::trueform.sim::INSTR"),
    "tektronix-awg5200": ("awg", "tektronix-awg.yaml", "TCPIP::awg5200.sim::INSTR"),
    "keysight-infiniivision": (
        "detector",
        "keysight-infiniivision.yaml",
        "TCPIP::infiniivision.sim::INSTR",
    ),
    "tektronix-mso": ("detector", "tektronix-mso.yaml", "TCPIP::mso.sim::INSTR"),
    "srs-sr830": ("lockin", "srs-lockins.yaml", "GPIB0::8::INSTR"),
    "srs-sr860": ("lockin", "srs-lockins.yaml", "TCPIP::sr860.sim::INSTR"),
}
#: What pyvisa-sim answers: the values as written (its properties echo the setter's text).
SIM_EXPECTED = {
    "keysight-33600a": [
        ("function", "ARB"),
        ("sample_rate_hz", 2e8),
        ("amplitude_unit", "VPP"),
        ("load", "50"),
        ("amplitude_vpp", 0.25),
        ("offset_v", -0.1),
        ("burst_mode", "TRIG"),
        ("burst_cycles", 1),
        ("trigger_source", "BUS"),
        ("burst_state", "ON"),
        ("sync", "ON"),
    ],
    "tektronix-awg5200": [
        ("sample_rate_hz", 1e9),
        ("amplitude_vpp", 0.4),
        ("run_mode", "TRIG"),
        ("trigger_input", "ATR"),
    ],
    "keysight-infiniivision": [
        *((n, v) for n, _, v in KEYSIGHT_SCOPE if n not in ("points", "range_v")),
        ("time_range_s", 2e-7),
        ("time_position_s", 5e-7),
    ],
    "tektronix-mso": [
        *((n, v) for n, _, v in TEKTRONIX_SCOPE if n not in ("points", "record_length", "range_v")),
        ("delay_s", 5e-7),
        ("time_range_s", 2e-7),
    ],
    "srs-sr830": [("output_interface", 1), ("phase_deg", 0.0)],
    "srs-sr860": [("phase_deg", 0.0)],
}
SIM_IDN = {
    "keysight-33600a": IDN["keysight-33600a"],
    "tektronix-awg5200": IDN["tektronix-awg5200"],
    "keysight-infiniivision": IDN["keysight-infiniivision"],
    "tektronix-mso": IDN["tektronix-mso"],
    "srs-sr830": ("Stanford_Research_Systems", "SR830", "s/n12345", "ver1.07"),
    "srs-sr860": ("Stanford_Research_Systems", "SR860", "003112", "V1.51"),
}


@pytest.mark.parametrize("driver", list(SIM_CASES))
def test_pyvisa_sim_identifies_and_reads_back_what_was_written(driver):
    role, sim_file, resource = SIM_CASES[driver]
    options = {
        "awg": {"sample_rate": 2e8, "amplitude": 0.25, "offset": -0.1},
        "detector": {"points": 1000, "range": 0.04},
        "lockin": {},
    }[role]
    if driver == "tektronix-awg5200":
        options = {"sample_rate": 1e9, "amplitude": 0.4}
    config = sim_config(role, driver, sim_file, resource, **options)
    instrument = DRIVERS[driver](config, open_transport(config))
    instrument.connect()
    if role == "awg":
        instrument.configure()
    elif role == "detector":
        instrument.arm(5e-7, 2e-7)
    readings = instrument.read_back()
    instrument.close()
    assert instrument.identity() == Identity(*SIM_IDN[driver])
    got = {r.name: r.read for r in readings}
    for name, value in SIM_EXPECTED[driver]:
        expected = pytest.approx(value, rel=1e-9) if isinstance(value, float) else value
        assert got[name] == expected, name
    if role == "detector":
        assert got["points"] == 1000 and got["range_v"] == pytest.approx(0.04, rel=1e-9)
    assert all(r.agrees for r in readings)


@pytest.mark.parametrize(
    ("model", "expected", "traffic"),
    [
        (
            "SR830",
            [("output_interface", "OUTX?", 1), ("phase_deg", "PHAS?", 90.0)],
            ["OUTX?", "PHAS?", "*ESR?"],
        ),
        ("SR860", [("phase_deg", "PHAS?", 90.0)], ["PHAS?", "*OPC?", "*ESR?"]),
    ],
)
def test_emulated_lockins_identify_and_read_back_over_tcp(model, expected, traffic):
    emulator = EmulatedLockIn(model)
    with ScpiServer(emulator) as server:
        driver = DRIVERS[f"srs-{model.lower()}"]
        config = InstrumentConfig(
            "lockin", driver.DRIVER, server.resource, 0.5, options={"phase": math.pi / 2}
        )
        lockin = driver(config, open_transport(config))
        lockin.connect()
        before = len(emulator.log)
        snapshot = lockin.snapshot()
        lockin.close()
    assert snapshot.identity == Identity(*SIM_IDN[f"srs-{model.lower()}"])
    assert _listed(snapshot.settings) == expected
    assert emulator.log[before:] == traffic
