"""A rotating-frame simulation says when its rotating-wave error passes 1 % (issue 12, sec. 5)."""

from __future__ import annotations

import pytest
import xarray as xr

from spin_echo.echo.cli.main import main


@pytest.mark.parametrize(
    ("sets", "frame", "warned", "estimate"),
    [
        # library pulses: Rabi/carrier = 1/8, estimate r/2 = 6.25 %
        ([], "rotating", True, 0.0625),
        # 5 us pi/2 pulses (Rabi 50 kHz) at 40 MHz: r/2 = 0.0625 %, below the 1 % threshold
        (
            ["carrier=40 MHz", "t_pi2=5 us", "window=10 us", "tau=20 us"],
            "rotating",
            False,
            0.000625,
        ),
        ([], "lab", False, None),
    ],
    ids=["library-pulses", "weak-drive", "lab-frame"],
)
def test_rotating_wave_error_is_stated(tmp_path, capsys, sets, frame, warned, estimate):
    path = tmp_path / "r.nc"
    argv = ["simulate", "hahn-echo", "--sample", "bare", "--packets", "40", "--frame", frame]
    argv += [item for value in sets for item in ("--set", value)]
    assert main([*argv, "-o", str(path)]) == 0
    err = capsys.readouterr().err
    line = "spin-echo: warning: rotating-wave error ~"
    assert (line in err) is warned
    if warned:
        assert "--frame lab" in err and err.count("\n") == 1
    with xr.open_dataset(path) as ds:
        if estimate is None:
            assert "rwa_error_estimate" not in ds.attrs
        else:
            assert ds.attrs["rwa_error_estimate"] == pytest.approx(estimate, rel=1e-12)
