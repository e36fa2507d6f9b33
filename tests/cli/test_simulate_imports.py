"""``spin-echo simulate`` imports what writing a record needs, no more (issue 14, row 1).

Writing a record uses netCDF4 directly: xarray and pandas (about 0.25 s) are imported only where a
record is read. A job too small to repay numba's start-up runs with numpy without importing
numba (:func:`spin_echo.simulator.kernels.backend_for`). Checked in a fresh interpreter through
``sys.modules``, not by timing.
"""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import contextlib, io, json, sys
from spin_echo.echo.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    status = main(["simulate", "hahn-echo", "--sample", "bare-t2", "--packets", "200",
                   "-o", sys.argv[1]])
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"xarray", "pandas", "numba"})
print(json.dumps([status, loaded]))
"""


def test_a_small_simulation_writes_its_record_without_xarray_or_numba(tmp_path):
    record = tmp_path / "r.nc"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(record)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"PATH": "", "SPIN_ECHO_THREADS": "1"},
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [0, []]
    assert record.stat().st_size > 0
