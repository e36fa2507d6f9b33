"""Every ``--set`` example a sub-command's ``--help`` shows is accepted by that sub-command."""

from __future__ import annotations

import re
import shlex

import pytest

from spin_echo.echo.cli.main import build_parser
from spin_echo.echo.cli.options import parse_sets
from spin_echo.sequences import load_protocol
from spin_echo.simulator import load_sample


def _set_example(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    option = next(a for a in sub._actions if a.dest == "sets")
    (example,) = re.findall(r"--set (.+) \(repeatable\)", option.help)
    (token,) = shlex.split(example)
    return token


@pytest.mark.parametrize("command", ["simulate", "show", "run"])
def test_protocol_commands_accept_their_set_example(command):
    sets = parse_sets([_set_example(command)])
    protocol = load_protocol("hahn-echo").with_overrides(sets)
    assert protocol.to_yaml() != load_protocol("hahn-echo").to_yaml()


def test_fit_accepts_its_set_example():
    sets = parse_sets([_set_example("fit")])
    sample = load_sample("bare-t2").with_overrides(sets)
    (key,) = sets
    assert sample.value(key) != load_sample("bare-t2").value(key)
