"""``spin-echo plot`` end to end: every record kind gives an image; fits are chosen and printed."""

from __future__ import annotations

import json

import matplotlib.image as mpimg
import numpy as np
import pytest

from spin_echo.echo.cli.main import main
from spin_echo.echo.record import RecordWriter
from spin_echo.sequences import load_protocol

TIME = np.linspace(0.0, 2e-6, 64, endpoint=False)


def protocol(name, new_name=None):
    """A built-in protocol's YAML, optionally renamed, with 64-point windows and no sweep."""
    text = load_protocol(name).to_yaml().replace("points: 256", "points: 64")
    return text.replace(f"name: {name}", f"name: {new_name}", 1) if new_name else text


def write(path, text, axis, amplitudes, *, noise=0.005, seed=0):
    """A record of ``text`` whose echo at each sweep point is amplitude * Gaussian, plus noise."""
    rng = np.random.default_rng(seed)
    shape = np.exp(-(((TIME - 1e-6) / 0.2e-6) ** 2)) * np.exp(0.3j)
    attrs = {"protocol": text, "bench": "name: lab\n", "source": "run:lab"}
    axes = [axis] if axis else []
    with RecordWriter(path, axes=axes, time_s=TIME, attrs={**attrs, "units": "V", "seed": -1}) as w:
        points = [((i,), a) for i, a in enumerate(amplitudes)] if axis else [((), amplitudes[0])]
        for index, amplitude in points:
            signal = amplitude * shape + noise * (
                rng.standard_normal(TIME.size) + 1j * rng.standard_normal(TIME.size)
            )
            w.write_point(index, signal)
    return path


def swept(name, new_name=None):
    """The protocol's text and its own sweep axis (name, values, kind)."""
    text = protocol(name, new_name)
    axis = load_protocol(name).sweep_axes[0]
    return text, (axis.name, np.asarray(axis.values, dtype=float), axis.kind)


def unswept(name):
    text = protocol(name)
    head, _, tail = text.partition("sweep:\n")
    return head + tail[tail.index("phase_cycle:") :]


TAU = np.asarray(load_protocol("hahn-echo").sweep_axes[0].values, dtype=float)
OFFSET = np.asarray(load_protocol("hole-burning").sweep_axes[0].values, dtype=float)
RECORDS = {
    "transient": (lambda p: write(p, unswept("fid"), None, [1.0]), None),
    "fid-carrier-sweep": (lambda p: write(p, *swept("fid"), [1] * 3), "spectrum"),
    "renamed-hahn-echo": (
        lambda p: write(p, *swept("hahn-echo", "my-echo"), np.exp(-((2 * TAU / 20e-6) ** 1.4))),
        "T_M = ",
    ),
    "hole-burning": (
        lambda p: write(p, *swept("hole-burning"), 1 - 0.5 / (1 + (2 * OFFSET / 0.6e6) ** 2),
                        noise=0.001),
        "w = ",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("make", "printed"), RECORDS.values(), ids=RECORDS.keys())
def test_plot_every_record_kind(tmp_path, capsys, make, printed):
    record = make(tmp_path / "rec.nc")
    assert main(["plot", str(record)]) == 0
    out = capsys.readouterr().out
    image = mpimg.imread(tmp_path / "rec.png")
    assert image.shape[0] > 100 and image.shape[1] > 100 and image[..., :3].std() > 0.05
    assert out.strip().endswith(f"plot: {tmp_path / 'rec.png'}")
    if printed == "spectrum":
        assert "±" not in out and "FID spectrum drawn, no fit" in out
    elif printed:
        assert printed in out and "±" in out
    else:
        assert "±" not in out


def test_unreliable_fit_is_marked_and_written_as_data(tmp_path, capsys):
    text, axis = swept("hahn-echo")
    record = write(tmp_path / "rec.nc", text, axis, np.full(TAU.size, 0.5) * np.exp(-TAU / 1e-3))
    assert main(["plot", str(record), "--json", str(tmp_path / "fit.json")]) == 0
    out = capsys.readouterr().out
    assert "UNRELIABLE: " in out.splitlines()[0]
    data = json.loads((tmp_path / "fit.json").read_text())
    assert data["reliable"] is False and data["reasons"] and data["family"] == "hahn-echo"


def test_no_family_says_why(tmp_path, capsys):
    text, axis = swept("hahn-echo")
    text = text.replace("angle: pi\n", "angle: pi/2\n")
    assert main(["plot", str(write(tmp_path / "rec.nc", text, axis, np.ones(TAU.size)))]) == 0
    err = capsys.readouterr().err
    assert "no analysis: no analysis fits 2 pulses (pi/2, pi/2)" in err


def test_analysis_none_and_output_option(tmp_path, capsys):
    record = RECORDS["renamed-hahn-echo"][0](tmp_path / "rec.nc")
    assert main(["plot", str(record), "--analysis", "none", "-o", str(tmp_path / "m.pdf")]) == 0
    assert "T_M" not in capsys.readouterr().out
    assert (tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")


def test_auto_falls_back_when_the_fit_fails(tmp_path, capsys):
    flat = write(tmp_path / "rec.nc", *swept("hole-burning"), np.exp(-((OFFSET / 1e6) ** 2)))
    assert main(["plot", str(flat)]) == 0
    captured = capsys.readouterr()
    assert "no hole-burning fit drawn" in captured.err and "no hole is resolved" in captured.err
    assert mpimg.imread(tmp_path / "rec.png").shape[0] > 100


def test_explicit_analysis_that_fails_exits_2(tmp_path, capsys):
    record = RECORDS["transient"][0](tmp_path / "rec.nc")
    assert main(["plot", str(record), "--analysis", "stretched"]) == 2
    assert "exactly one sweep axis" in capsys.readouterr().err


def test_missing_record_exits_2(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nope.nc")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("overwrite", [False, True], ids=["new", "overwrite"])
def test_the_image_and_the_json_may_not_share_a_path(tmp_path, capsys, overwrite):
    # -o X.png --json X.png wrote the image, then refused the JSON (exit 2 with a file made),
    # or with --overwrite replaced the image by the JSON
    record = RECORDS["renamed-hahn-echo"][0](tmp_path / "rec.nc")
    target = tmp_path / "out.png"
    if overwrite:
        target.write_bytes(b"an image the user made")
    args = ["plot", str(record), "-o", str(target), "--json", str(target)]
    assert main([*args, *(["--overwrite"] if overwrite else [])]) == 2
    err = capsys.readouterr().err
    assert f"--json = '{target}': is also another file this command reads or writes" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["rec.nc", *(["out.png"] if overwrite else [])]
    )
    if overwrite:
        assert target.read_bytes() == b"an image the user made"


@pytest.mark.parametrize("option", ["none", "auto"])
def test_json_is_written_when_there_is_no_analysis(tmp_path, capsys, option):
    # it was skipped silently
    text, axis = swept("hahn-echo")
    text = text.replace("angle: pi\n", "angle: pi/2\n")  # no family: no analysis
    record = write(tmp_path / "rec.nc", text, axis, np.ones(TAU.size))
    report = tmp_path / "fit.json"
    assert main(["plot", str(record), "--analysis", option, "--json", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["analysis"] is None
    if option == "none":
        assert data["notes"] == []
    else:
        (note,) = data["notes"]
        assert note.startswith("no analysis: no analysis fits 2 pulses (pi/2, pi/2)")
