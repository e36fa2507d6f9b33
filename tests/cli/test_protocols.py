import subprocess
import sys
from pathlib import Path

import pytest

from spin_echo.echo.cli.main import main
from spin_echo.echo.cli.protocols import format_sections, sections
from spin_echo.sequences import list_protocols

LIBRARY = (
    "fid",
    "nutation",
    "hahn-echo",
    "cpmg",
    "stimulated-echo",
    "inversion-recovery",
    "hole-burning",
)


def test_protocols_lists_every_builtin_with_its_description(capsys):
    assert main(["protocols"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Protocols:"
    for name, description in list_protocols():
        (line,) = [x for x in lines if x.split()[:1] == [name]]
        assert line.endswith(description)
    assert {x.split()[0] for x in lines[1:] if x.strip()} >= set(LIBRARY)


def test_sections_format_with_aligned_names_and_blank_lines_between():
    text = format_sections([("A", [("x", "first"), ("long-name", "second")]), ("B", [("y", "")])])
    assert text == "A:\n  x          first\n  long-name  second\n\nB:\n  y"
    assert sections()[0][0] == "Protocols"


def test_console_entry_point_runs_in_a_fresh_interpreter():
    result = subprocess.run(
        [sys.executable, "-m", "spin_echo.echo.cli.main", "protocols"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "hahn-echo" in result.stdout


def test_protocols_also_lists_the_builtin_samples(capsys):
    from spin_echo.simulator import list_samples

    assert main(["protocols"]) == 0
    out = capsys.readouterr().out
    _, samples_block = out.split("\n\nSamples:\n")
    names = [line.split()[0] for line in samples_block.splitlines() if line.strip()]
    assert names == [name for name, _ in list_samples()]
    assert {"bare", "ferritin", "tb-grain"} <= set(names)


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("hahn-echo", ("sequences", "library", "hahn-echo.yaml")),
        ("ferritin", ("simulator", "samples", "ferritin.yaml")),
        ("virtual", ("drivers", "benches", "virtual.yaml")),
    ],
)
def test_protocols_name_prints_the_builtin_file_verbatim(name, path, capsys):
    root = Path(__file__).resolve().parents[2]
    assert main(["protocols", name]) == 0
    assert capsys.readouterr().out == root.joinpath(*path).read_text(encoding="utf-8")


def test_protocols_unknown_name_lists_the_builtins(capsys):
    assert main(["protocols", "hahn"]) == 2
    err = capsys.readouterr().err
    assert "'hahn'" in err and "hahn-echo" in err and "ferritin" in err
    assert "benches: virtual" in err
