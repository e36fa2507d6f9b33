"""``spin-echo plot`` end to end: every record kind gives an image; fits are chosen and printed."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest

from spin_echo.echo.cli.main import main
from spin_echo.echo.record import RecordWriter

TIME = np.linspace(0.0, 2e-6, 64, endpoint=False)


def protocol(name):
    return f"name: {name}\nsequence:\n  - pulse: {{angle: pi/2}}\n  - detect: {{points: 64}}\n"


def write(path, name, axis, amplitudes, *, noise=0.005, seed=0):
    """A record whose echo at each sweep point is amplitude * Gaussian, plus noise."""
    rng = np.random.default_rng(seed)
    shape = np.exp(-(((TIME - 1e-6) / 0.2e-6) ** 2)) * np.exp(0.3j)
    attrs = {"protocol": protocol(name), "bench": "name: lab\n", "source": "run:lab"}
    axes = [axis] if axis else []
    with RecordWriter(path, axes=axes, time_s=TIME, attrs={**attrs, "units": "V", "seed": -1}) as w:
        points = [((i,), a) for i, a in enumerate(amplitudes)] if axis else [((), amplitudes[0])]
        for index, amplitude in points:
            signal = amplitude * shape + noise * (
                rng.standard_normal(TIME.size) + 1j * rng.standard_normal(TIME.size)
            )
            w.write_point(index, signal)
    return path


TAU = np.linspace(0.5e-6, 10e-6, 14)
OFFSET = np.linspace(-3e6, 3e6, 31)
RECORDS = {
    "transient": (lambda p: write(p, "fid", None, [1.0]), None),
    "carrier-sweep": (
        lambda p: write(p, "fid", ("carrier", np.array([3.5e6, 4e6, 4.5e6]), "frequency"), [1] * 3),
        None,
    ),
    "hahn-echo": (
        lambda p: write(p, "hahn-echo", ("tau", TAU, "time"), np.exp(-((2 * TAU / 6e-6) ** 1.4))),
        "T_M = ",
    ),
    "hole-burning": (
        lambda p: write(
            p,
            "hole-burning",
            ("probe_offset", OFFSET, "frequency"),
            1 - 0.5 / (1 + (2 * OFFSET / 0.8e6) ** 2),
        ),
        "w = ",
    ),
}


@pytest.mark.parametrize(("make", "printed"), RECORDS.values(), ids=RECORDS.keys())
def test_plot_every_record_kind(tmp_path, capsys, make, printed):
    record = make(tmp_path / "rec.nc")
    assert main(["plot", str(record)]) == 0
    out = capsys.readouterr().out
    image = mpimg.imread(tmp_path / "rec.png")
    assert image.shape[0] > 100 and image.shape[1] > 100 and image[..., :3].std() > 0.05
    assert out.strip().endswith(f"plot: {tmp_path / 'rec.png'}")
    if printed:
        assert printed in out and "±" in out
    else:
        assert "±" not in out


def test_analysis_none_and_output_option(tmp_path, capsys):
    record = RECORDS["hahn-echo"][0](tmp_path / "rec.nc")
    assert main(["plot", str(record), "--analysis", "none", "-o", str(tmp_path / "m.pdf")]) == 0
    assert "T_M" not in capsys.readouterr().out
    assert (tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")


def test_auto_falls_back_when_the_fit_fails(tmp_path, capsys):
    flat = write(tmp_path / "rec.nc", "hole-burning", ("probe_offset", OFFSET, "frequency"),
                 np.exp(-((OFFSET / 1e6) ** 2)))  # fmt: skip
    assert main(["plot", str(flat)]) == 0
    captured = capsys.readouterr()
    assert "no fit drawn" in captured.err and "no hole is resolved" in captured.err
    assert mpimg.imread(tmp_path / "rec.png").shape[0] > 100


def test_explicit_analysis_that_fails_exits_2(tmp_path, capsys):
    record = RECORDS["transient"][0](tmp_path / "rec.nc")
    assert main(["plot", str(record), "--analysis", "stretched"]) == 2
    assert "exactly one sweep axis" in capsys.readouterr().err


def test_missing_record_exits_2(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nope.nc")]) == 2
    assert "not found" in capsys.readouterr().err
