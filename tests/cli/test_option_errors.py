"""A bad option is one line on stderr and exit status 2, naming the option and the value.

argparse printed its usage block before the error; ``CommandParser`` prints one line that
points to ``--help``, for every command (sub-command parsers are of its class), and
``whole_number`` reads every whole-number option (``1e3`` is 1000; nothing fractional).
"""

from __future__ import annotations

import argparse

import pytest

from spin_echo.echo.cli.main import COMMANDS, main, whole_number

CASES = [
    (["simulate", "hahn-echo", "--sample", "bare", "--packets", "1.5"], "--packets", "'1.5'"),
    (["simulate", "hahn-echo", "--sample", "bare", "--packets", "abc"], "--packets", "'abc'"),
    (["simulate", "hahn-echo", "--sample", "bare", "--seed", "1e999"], "--seed", "'1e999'"),
    (["simulate", "hahn-echo", "--sample", "bare", "--frame", "bogus"], "--frame", "'bogus'"),
    (
        ["fit", "r.nc", "--sample", "bare", "--free", "x", "--max-evaluations", "1.5"],
        "--max-evaluations",
        "'1.5'",
    ),
    (["fit", "r.nc", "--sample", "bare", "--free", "x", "--noise", "abc"], "--noise", "'abc'"),
    (
        ["design", "hahn-echo", "--sample", "bare", "--bench", "virtual", "--packets", "x"],
        "--packets",
        "'x'",
    ),
    (["paper", "--packets", "many"], "--packets", "'many'"),
    (["run", "hahn-echo", "--bench", "virtual", "--seed", "0.5"], "--seed", "'0.5'"),
    (["watch", "r.nc", "--port", "http"], "--port", "'http'"),
    (["serve-virtual-lab", "--sample", "bare", "--seed", "two"], "--seed", "'two'"),
    (["nosuch"], "COMMAND", "'nosuch'"),
]


@pytest.mark.parametrize(("args", "option", "value"), CASES, ids=lambda v: str(v)[:40])
def test_a_bad_option_is_one_line_naming_option_and_value(args, option, value, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("spin-echo: error: argument ") and option in lines[0]
    assert value in lines[0] and "--help')" in lines[0]


def test_every_command_has_the_one_line_parser(capsys):
    for command in COMMANDS:
        with pytest.raises(SystemExit) as info:
            main([command, "--no-such-option"])
        assert info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("spin-echo: error: "), (command, err)
        assert "--help')" in err[0]  # the option, or the argument the command needs first


@pytest.mark.parametrize(
    ("text", "value"), [("12", 12), ("-3", -3), ("1e3", 1000), (" 7 ", 7), ("2e30", 2 * 10**30)]
)
def test_whole_numbers_read_as_written(text, value):
    assert whole_number(text) == value and isinstance(whole_number(text), int)


@pytest.mark.parametrize("text", ["1.5", "abc", "", "nan", "inf", "1e31", "1e999999999", "0x10"])
def test_anything_else_is_not_a_whole_number(text):
    with pytest.raises(argparse.ArgumentTypeError, match="must be a whole number, got"):
        whole_number(text)


@pytest.mark.parametrize("command", ["simulate", "run"])
@pytest.mark.parametrize("name", ["rec.png", "rec.PDF", "rec.svg"])
def test_a_record_named_like_an_image_is_refused(tmp_path, capsys, command, name):
    # simulate -o X.png wrote a netCDF record under an image's name
    extra = ["--bench", "virtual"] if command == "run" else ["--packets", "10"]
    out = tmp_path / name
    args = [command, "hahn-echo", *extra, "--sample", "bare", "-o", str(out)]
    assert main(args) == 2
    assert "is an image's name; a record is a netCDF file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
