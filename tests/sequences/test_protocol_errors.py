"""Failure classes a fuzzer found in protocol files, each tested over all its members.

Every bad input is an :class:`InputError` whose one line names the file, the line, the key and
the value, and the command line exits 2 before writing anything (README "Limits"). The classes:
a sweep axis named like a record variable (C5), receiver angles (C6), a protocol without a
detection window (C7), YAML control characters (C9), messages that named the wrong key or value
(C10), values echoed whole (C11) and questionable input that was accepted (C12).
"""

from __future__ import annotations

import re
import subprocess
import sys

import netCDF4
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spin_echo.echo.cli.main import main
from spin_echo.echo.record import RecordError, RecordWriter
from spin_echo.sequences import CompileError, InputError, Protocol, ProtocolError
from spin_echo.sequences.errors import MAX_SHOWN_CHARS
from spin_echo.sequences.protocol import RECORD_NAMES
from spin_echo.sequences.quantity import KINDS, describe_kind, evaluate
from spin_echo.sequences.yamlio import load_yaml, read_document

BASE = """\
name: t
parameters:
  carrier: 4 MHz
  tau: 1 us
  n: 3
  theta: 90 deg
sequence:
  - pulse: {angle: pi/2, duration: 500 ns}
  - delay: tau
  - detect: {duration: 2 us, points: 16}
"""


def _error(text: str) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        Protocol.from_yaml(text, source="p.yaml")
    assert "\n" not in str(info.value)
    return info.value


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _cli(tmp_path, capsys, text: str, *argv: str) -> str:
    """Run ``spin-echo COMMAND p.yaml ARGS`` in-process; return its one error line.

    Asserts exit 2, nothing on stdout and no file written beside the protocol; the line is
    returned with ``spin-echo: error: `` and the protocol's path removed.
    """
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    command, *rest = argv
    assert main([command, str(path), *rest]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    (line,) = captured.err.splitlines()
    assert line.startswith("spin-echo: error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]
    return line.removeprefix("spin-echo: error: ").replace(str(path), "p.yaml")


# C5: a sweep axis named like a variable or dimension of the record --------------------------


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_a_sweep_axis_named_like_a_record_variable_is_refused_at_its_key(name):
    text = BASE.replace("  tau: 1 us\n", f"  tau: 1 us\n  {name}: 2 us\n") + (
        f"sweep:\n  {name}: {{values: [1 us, 2 us]}}\n"
    )
    err = _error(text)
    assert (err.file, err.line, err.key) == (
        "p.yaml",
        _line_of(text, f"  {name}: {{"),
        f"sweep.{name}",
    )
    assert f"has its own {name!r}" in err.message and "rename the parameter" in err.message


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_an_unswept_parameter_may_have_a_record_variable_name(name):
    text = BASE.replace("  tau: 1 us\n", f"  tau: 1 us\n  {name}: 2 us\n").replace(
        "duration: 2 us, points", f"duration: {name}, points"
    )
    assert Protocol.from_yaml(text).sequence().elements[2].duration_s == 2e-6


def test_the_record_writes_exactly_the_reserved_names_and_refuses_them_as_axes(tmp_path):
    axes = [("tau", np.array([1e-6, 2e-6]), "time")]
    path = tmp_path / "r.nc"
    attrs = {"protocol": "name: p\n", "source": "simulate", "units": "1", "seed": 1}
    with RecordWriter(
        path, axes=axes, time_s=np.arange(4) * 1e-8, attrs=attrs, with_mz=True, with_sem=True
    ):
        pass
    with netCDF4.Dataset(path) as ds:
        written = set(ds.variables) | set(ds.dimensions)
    assert written == {"tau", *RECORD_NAMES}
    for name in RECORD_NAMES:
        with pytest.raises(RecordError, match="distinct names"):
            RecordWriter(
                tmp_path / f"{name}.nc",
                axes=[(name, np.ones(1), "time")],
                time_s=np.ones(1),
                attrs=attrs,
            )


def test_simulate_refuses_a_sweep_of_window_with_exit_2_before_any_file(tmp_path, capsys):
    text = (
        BASE.replace("  tau: 1 us\n", "  tau: 1 us\n  window: 2 us\n").replace(
            "duration: 2 us, points", "duration: window, points"
        )
        + "sweep:\n  window: {values: [1 us, 2 us]}\n"
    )
    out = str(tmp_path / "r.nc")
    line = _cli(
        tmp_path, capsys, text, "simulate", "--sample", "bare", "--packets", "20", "-o", out
    )
    assert line.startswith(f"p.yaml:{_line_of(text, '  window: {')}: sweep.window: a sweep axis")


# C6: receiver angles are read as every angle is ----------------------------------------------

ANGLE_KEYS = {
    "pulse.angle": lambda v: BASE.replace("angle: pi/2,", f"angle: {v},"),
    "pulse.phase": lambda v: BASE.replace("duration: 500 ns}", f"duration: 500 ns, phase: {v}}}"),
    "phase_cycle.pulses": lambda v: BASE + f"phase_cycle:\n  - {{pulses: [{v}]}}\n",
    "phase_cycle.receiver": lambda v: BASE + f"phase_cycle:\n  - {{pulses: [0], receiver: {v}}}\n",
}
BAD_ANGLES = {
    "'1e400 deg'": "must be finite (an angle is a magnitude of at most 1e+06 rad)",
    "'1e308 deg'": "is out of range: an angle is a magnitude of at most 1e+06 rad",
    "2e6 rad": "is out of range: an angle is a magnitude of at most 1e+06 rad",
    "'-1e30 deg'": "is out of range: an angle is a magnitude of at most 1e+06 rad",
    "'1e-400 rad'": "is out of range: non-zero but too small to represent",
    "5 ns": "must be an angle such as 'pi/2', '90 deg' or '1.57 rad', got a time",
}


@pytest.mark.parametrize("value", BAD_ANGLES, ids=list(BAD_ANGLES))
@pytest.mark.parametrize("key", ANGLE_KEYS)
def test_every_angle_key_refuses_the_same_angles_with_the_same_message(key, value):
    err = _error(ANGLE_KEYS[key](value))
    assert err.message.startswith(BAD_ANGLES[value])
    assert err.line == _line_of(ANGLE_KEYS[key](value), value)


@pytest.mark.parametrize(
    ("written", "weight"),
    [("+1", 1), ("-1", -1), ("pi/2", 1j), ("90 deg", 1j), ("'-90 deg'", -1j), ("pi", -1)],
)
def test_a_receiver_is_a_weight_or_an_angle_also_as_a_plain_expression(written, weight):
    p = Protocol.from_yaml(BASE + f"phase_cycle:\n  - {{pulses: [0], receiver: {written}}}\n")
    assert p.phase_cycle[0].receiver == pytest.approx(weight, abs=1e-15)


@pytest.mark.parametrize("written", ["'-1'", "'+1'", "0.5", "'0.5'", "2", "true"])
def test_a_receiver_number_other_than_plus_or_minus_one_or_quoted_is_refused(written):
    err = _error(BASE + f"phase_cycle:\n  - {{pulses: [0], receiver: {written}}}\n")
    assert err.message.startswith("must be +1, -1 or an angle")


# C7: a protocol without a detection window ---------------------------------------------------

NO_DETECT = BASE.replace("  - detect: {duration: 2 us, points: 16}\n", "")


def test_a_protocol_without_detect_loads_and_shows_but_records_nothing(capsys, tmp_path):
    p = Protocol.from_yaml(NO_DETECT, source="p.yaml")
    with pytest.raises(ProtocolError) as info:
        p.require_detect()
    assert (info.value.file, info.value.line, info.value.key) == ("p.yaml", 7, "sequence")
    assert "no detect step: nothing to record" in info.value.message
    Protocol.from_yaml(BASE).require_detect()
    path = tmp_path / "p.yaml"
    path.write_text(NO_DETECT, encoding="utf-8")
    assert main(["show", str(path)]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ("simulate", "--sample", "bare", "--packets", "20", "-o", "OUT"),
        ("run", "--bench", "virtual", "--sample", "bare", "-o", "OUT"),
        ("design", "--sample", "bare", "--bench", "virtual"),
    ],
    ids=["simulate", "run", "design"],
)
def test_commands_that_record_refuse_a_protocol_without_detect_with_exit_2(argv, tmp_path, capsys):
    argv = [str(tmp_path / "r.nc") if a == "OUT" else a for a in argv]
    line = _cli(tmp_path, capsys, NO_DETECT, *argv)
    assert line.startswith("p.yaml:7: sequence: protocol 't' has no detect step: nothing to record")


# C9: characters YAML refuses ---------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x07", "\x7f", "\ufffe"])
def test_a_control_character_is_one_line_with_its_line_and_column(char):
    text = BASE.replace("name: t\n", f"name: t\ndescription: ab{char}c\n")
    with pytest.raises(ProtocolError) as info:
        load_yaml("p.yaml", text=text, error_class=ProtocolError)
    assert (info.value.file, info.value.line) == ("p.yaml", 2)
    assert f"character {char!r} (U+{ord(char):04X}) at column 16" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("byte", [b"\xff", b"\xc3(", b"\x80"])
def test_a_byte_that_is_not_utf8_is_located_by_line_and_column(byte, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"name: t\ndescription: ab" + byte + b"\n" + BASE.encode()[8:])
    with pytest.raises(ProtocolError) as info:
        read_document(path, error_class=ProtocolError)
    assert (info.value.file, info.value.line) == (str(path), 2)
    assert info.value.message == f"file is not UTF-8 text (byte {byte[0]:#04x} at column 16)"


def test_a_nul_byte_in_a_file_exits_2_with_one_located_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(BASE.replace("name: t\n", "name: t\ndescription: a\x00b\n"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "spin_echo.echo.cli", "show", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"spin-echo: error: {path}:2: YAML syntax error: character '\\x00' (U+0000) at column 15 "
        "is not allowed in YAML: remove it or write it as an escape in a double-quoted string"
    ]


# C10: messages name the right key, value and unit ---------------------------------------------


def test_a_sequence_longer_than_the_default_repetition_time_blames_the_sequence():
    err = _error(BASE.replace("tau: 1 us", "tau: 2 ms"))
    assert (err.line, err.key) == (7, "sequence")
    assert "which is 0.001 s when repetition_time is not given" in err.message
    given = _error(BASE.replace("tau: 1 us", "tau: 2 ms") + "repetition_time: 1 ms\n")
    assert (given.line, given.key, given.value) == (11, "repetition_time", "1 ms")


@pytest.mark.parametrize(
    ("sweep", "key", "value"),
    [
        ("{values: [4 MHz, 0 Hz]}", "sweep.carrier.values[1]", "0 Hz"),
        ("{values: [-4 MHz]}", "sweep.carrier.values[0]", "-4 MHz"),
        ("{start: 0 Hz, stop: 4 MHz, points: 3}", "sweep.carrier.start", "0 Hz"),
        ("{start: 4 MHz, stop: -1 MHz, points: 3}", "sweep.carrier.stop", "-1 MHz"),
    ],
)
def test_a_bad_swept_carrier_names_the_sweep_value(sweep, key, value):
    err = _error(BASE + f"sweep:\n  carrier: {sweep}\n")
    assert (err.line, err.key, err.value) == (12, key, value)
    assert err.message == "must be a positive frequency (the carrier)"


@pytest.mark.parametrize(
    ("delay", "sweep", "shown"),
    [
        ("tau - 1 us", "tau: {values: [2 us, 500 ns]}", "tau = 500 ns"),
        ("theta/(1 rad) * 1 us", "theta: {values: [1 rad, -1.5 rad]}", "theta = -1.5 rad"),
        ("n * 1 us", "n: {values: [1, -2]}", "n = -2"),
        ("1 us - 4/carrier", "carrier: {values: [4 MHz, 2 MHz]}", "carrier = 2 MHz"),
    ],
    ids=["time", "angle", "plain-number", "frequency"],
)
def test_a_failing_sweep_point_is_shown_with_its_unit(delay, sweep, shown):
    text = BASE.replace("  - delay: tau\n", f"  - delay: {delay}\n") + f"sweep:\n  {sweep}\n"
    err = _error(text)
    assert (err.line, err.key) == (9, "sequence[1].delay")
    assert err.message == f"must be a non-negative time (at sweep point {shown})"


def test_a_set_that_makes_the_protocol_invalid_shows_its_own_value():
    p = Protocol.from_yaml(BASE, source="p.yaml")
    with pytest.raises(ProtocolError) as info:
        p.with_overrides({"tau": "1e6 s"})
    assert (info.value.file, info.value.key, info.value.value) == ("--set", "tau", "1e6 s")
    assert str(info.value).startswith("--set: tau = '1e6 s': makes the protocol invalid: p.yaml:7")


@pytest.mark.parametrize(
    "shape",
    ["{type: chirp, bandwidth: 1e15 Hz}", "{type: sech, bandwidth: 1e14 Hz}", "gaussian"],
)
def test_a_pulse_the_timeline_cannot_hold_is_refused_at_its_line(shape):
    duration = "1 s" if shape == "gaussian" else "500 ns"
    text = BASE.replace("duration: 500 ns}", f"duration: {duration}, shape: {shape}}}")
    text += "repetition_time: 10 s\nfull_scale_rabi: 10 Hz\n" if shape == "gaussian" else ""
    text += "full_scale_rabi: 10 MHz\n" if "sech" in shape else ""
    err = _error(text)
    assert (err.file, err.line, err.key) == ("p.yaml", 8, "sequence[0]")
    assert "segments; at most 100000 are allowed" in err.message


@pytest.mark.parametrize(
    ("key", "line", "shown"),
    [
        ("sequence[0].pulse.duration", 8, "sequence[0].pulse.duration = '500 ns'"),
        ("sequence[2].detect", 10, "sequence[2]"),
        ("sequence[1]", 9, "sequence[1]"),
    ],
)
def test_a_compile_error_keyed_by_element_is_put_at_its_line(key, line, shown):
    located = Protocol.from_yaml(BASE, source="p.yaml").located(CompileError("bad", key=key))
    assert (located.file, located.line) == ("p.yaml", line)
    assert str(located) == f"p.yaml:{line}: {shown}: bad"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2*ns", "'ns' is a unit: a unit is written after a number, as in '2 ns'"),
        ("us", "'us' is a unit"),
        ("nan s", "must be a finite number with a unit"),
        ("inf s", "must be a finite number with a unit"),
        ("-inf", "must be a finite number with a unit"),
        ("tua", "unknown name 'tua' (not a parameter, unit or 'pi')"),
    ],
)
def test_expression_messages_say_what_was_meant(text, message):
    with pytest.raises(InputError) as info:
        evaluate(text)
    assert message in info.value.message


@pytest.mark.parametrize("kind", KINDS)
def test_kind_phrases_have_the_right_article(kind):
    for qualifier in ("", "positive", "non-negative"):
        phrase = describe_kind(kind, qualifier)
        article, first = phrase.split()[:2]
        assert article == ("an" if first[0] in "aeiou" else "a")
    assert not re.search(r"\ban? an?\b", KINDS[kind].expected)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("delay: -1 us", "must be a non-negative time"),
        ("detect: {duration: -1 us, points: 4}", "must be a positive time"),
        ("pulse: {amplitude: -1, duration: 1 us}", "must be a non-negative plain number"),
        ("pulse: {angle: [1], duration: 1 us}", "must be an angle (a number or a string"),
        ("pulse: {angle: -1 rad, duration: 1 us}", "must be a non-negative angle"),
    ],
)
def test_messages_about_kinds_are_grammatical(entry, message):
    err = _error(BASE.replace("  - delay: tau\n", f"  - {entry}\n"))
    assert message in err.message


def test_a_step_of_the_wrong_sign_says_a_positive_kind():
    err = _error(BASE + "sweep:\n  tau: {start: 1 us, stop: 2 us, points: 3, step: -1 ns}\n")
    assert err.message == "must be a positive time"


# C11: long values are cut in messages ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        BASE.replace("tau: 1 us", "tau: " + "+".join(["1 ns"] * 20_000)),
        BASE.replace("delay: tau", "delay: " + "x" * 5000),
        BASE.replace("name: t", "name: t\n" + "k" * 1000 + ": 1"),
    ],
    ids=["long-expression", "long-name", "long-key"],
)
def test_a_long_value_or_key_is_cut_in_the_message(text):
    err = _error(text)
    assert len(str(err)) < 600
    assert re.search(r"… \(\d+ characters\)", str(err))


@given(st.text(), st.text(), st.one_of(st.none(), st.text(), st.lists(st.integers())))
def test_an_input_error_is_one_bounded_line(message, key, value):
    rendered = str(InputError(message, file="f", line=1, key=key or None, value=value))
    assert "\n" not in rendered and "\r" not in rendered
    assert len(rendered) <= len(message) + 2 * (MAX_SHOWN_CHARS + 40) + 10


def test_a_long_set_value_is_cut(tmp_path, capsys):
    line = _cli(tmp_path, capsys, BASE, "show", "--set", "tau=" + "1 ns+" * 2000 + "1 ns")
    assert line.startswith("--set: tau = '1 ns+1 ns+")
    assert line.endswith("… (10004 characters): expression longer than 500 characters")
    assert len(line) < 250


# C12: questionable input is refused -----------------------------------------------------------


@pytest.mark.parametrize(
    ("sweep", "key", "message"),
    [
        ("{values: [3 us, 3 us]}", "sweep.tau.values[1]", "repeats values[0] (3 us)"),
        ("{values: [3 us, 1 us, 3000 ns]}", "sweep.tau.values[2]", "repeats values[0] (3 us)"),
        (
            "{start: 3 us, stop: 3 us, points: 2}",
            "sweep.tau.points",
            "start and stop are both 3 us",
        ),
        ("{start: 1 us, stop: 2 us, points: 9, step: 250 ns}", "sweep.tau.step", "same multiple"),
        (
            "{start: 1e-6 s, stop: 1.0000000000000002e-6 s, points: 5}",
            "sweep.tau.points",
            "too narrow",
        ),
    ],
)
def test_repeated_sweep_values_are_refused(sweep, key, message):
    err = _error(BASE + f"sweep:\n  tau: {sweep}\n")
    assert err.key == key and message in err.message


def test_a_single_point_range_may_start_and_stop_at_one_value():
    p = Protocol.from_yaml(BASE + "sweep:\n  tau: {start: 3 us, stop: 3 us, points: 1}\n")
    assert p.sweep_shape == (1,)


RESERVED = ["pi", "sqrt", "exp", "log", "log10", "sin", "cos", "abs", "min", "max"]
UNITS = [
    "us",
    "ns",
    "ms",
    "ps",
    "MHz",
    "Hz",
    "kHz",
    "mK",
    "mT",
    "uV",
    "rad",
    "mrad",
    "deg",
    "Sa",
    "Vpp",
]


@pytest.mark.parametrize("name", RESERVED + UNITS)
def test_a_parameter_named_like_a_unit_function_or_pi_is_refused(name):
    err = _error(BASE.replace("  tau: 1 us\n", f"  tau: 1 us\n  {name}: 1 ns\n"))
    assert (err.line, err.key) == (5, f"parameters.{name}")
    assert err.message.startswith(f"{name!r} is ") and "may not be named like it" in err.message


@pytest.mark.parametrize("name", ["T", "s", "K", "G", "V", "tau_us", "MHz_1", "pi2"])
def test_single_letter_symbols_and_other_names_stay_parameter_names(name):
    p = Protocol.from_yaml(
        BASE.replace("delay: tau", f"delay: 2*{name}").replace(
            "  tau: 1 us\n", f"  tau: 1 us\n  {name}: 1 us\n"
        )
    )
    assert p.sequence().elements[1].duration_s == pytest.approx(2e-6)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (BASE + "shots: '2'\n", "shots"),
        (BASE.replace("points: 16", "points: '16'"), "sequence[2].detect.points"),
        (BASE.replace("points: 16", "points: 1.6e1"), "sequence[2].detect.points"),
        (BASE + "sweep:\n  tau: {start: 1 us, stop: 2 us, points: '3'}\n", "sweep.tau.points"),
        (BASE + "sweep:\n  tau: {start: 1 us, stop: 2 us, points: 3e0}\n", "sweep.tau.points"),
    ],
    ids=["shots", "detect-points", "detect-points-exponent", "sweep-points", "sweep-exponent"],
)
def test_whole_numbers_written_as_text_are_refused_everywhere(text, key):
    err = _error(text)
    assert err.key == key
    assert err.message.startswith("must be a whole number written as digits, such as 64")


def test_detect_points_may_still_be_an_expression_over_the_parameters():
    p = Protocol.from_yaml(BASE.replace("points: 16", "points: 2*n"))
    assert p.sequence().elements[2].points == 6


@pytest.mark.parametrize(
    "written",
    [
        "'1e-400 s'",
        "'1e-400'",
        "1.0e-400",
        "'1e-315 ps'",
        "'1 us * 1e-320'",
        "'1e-200 s / 1e200'",
        "'(1e-200 s)**2 / 1 s'",
        "'1e-99999 ns'",
    ],
)
def test_a_non_zero_number_that_underflows_to_zero_is_out_of_range(written):
    text = BASE.replace("  tau: 1 us\n", f"  tau: 1 us\n  tiny: {written}\n")
    err = _error(text)
    assert (err.line, err.key) == (5, "parameters.tiny")
    assert err.message.startswith("is out of range: non-zero but too small to represent")


@pytest.mark.parametrize("written", ["0 s", "0.0e-400 s", "'0e-5000'", "0 * 1e-300 s", "0.0"])
def test_zero_written_any_way_is_still_zero(written):
    p = Protocol.from_yaml(BASE.replace("  tau: 1 us\n", f"  tau: 1 us\n  zero: {written}\n"))
    assert p.parameters["zero"].value == 0
