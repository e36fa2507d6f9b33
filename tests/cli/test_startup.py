"""The command line starts without importing heavy libraries (issue 14, "Start-up").

Importing :mod:`spin_echo.echo.cli.main` and building its parser (what ``spin-echo --help``
does) must not import xarray, matplotlib, scipy, pyvisa, numba or netCDF4: each command
imports them inside the functions that run it. Checked in a fresh interpreter through
``sys.modules``, not by timing.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("xarray", "matplotlib", "scipy", "pyvisa", "numba", "netCDF4", "dask")

_PROBE = """
import json, sys
from spin_echo.echo.cli.main import build_parser
{extra}
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
print(json.dumps(heavy))
"""


def _heavy_after(extra: str) -> list[str]:
    code = _PROBE.format(extra=extra, heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "extra",
    [
        "",
        "build_parser()",
        "from spin_echo.echo.cli.protocols import sections; sections()",
    ],
    ids=["import", "parser", "protocols-listing"],
)
def test_the_command_line_starts_light(extra: str) -> None:
    assert _heavy_after(extra) == []


def test_the_probe_sees_a_heavy_import() -> None:
    assert "xarray" in _heavy_after("import xarray")
