"""The command line starts without importing heavy libraries (issue 14, "Start-up").

``spin-echo --help`` and ``spin-echo protocols`` must not import xarray, matplotlib, scipy,
pyvisa, numba or netCDF4: the command line imports a command's module only when that command
runs (:data:`spin_echo.echo.cli.main.COMMANDS`). Checked in a fresh interpreter through
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
import contextlib, io
from spin_echo.echo.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
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
        "pass",
        "main(['--help'])",
        "main(['protocols'])",
    ],
    ids=["import", "help", "protocols"],
)
def test_the_command_line_starts_light(extra: str) -> None:
    assert _heavy_after(extra) == []


def test_the_probe_sees_a_heavy_import() -> None:
    assert "xarray" in _heavy_after("import xarray")


@pytest.mark.parametrize(
    ("command", "absent"),
    [
        ("simulate', 'hahn-echo', '--sample', 'bare', '--packets', '100", ("matplotlib", "xarray")),
        ("run', 'fid', '--bench', 'virtual', '--sample', 'bare", ("matplotlib",)),
    ],
    ids=["simulate", "run"],
)
def test_a_record_without_a_figure_does_not_import_matplotlib(tmp_path, command, absent):
    # simulate imported matplotlib (0.28 s) to learn which suffixes are images' (for -o)
    out = tmp_path / "out.nc"
    heavy = _heavy_after(f"main(['{command}', '-o', {str(out)!r}])")
    assert out.exists() and not set(absent) & set(heavy), heavy
