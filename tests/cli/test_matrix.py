"""The matrix of issue 12.1: every built-in protocol x every built-in sample x every way to run it.

Covered: each protocol of ``spin-echo protocols`` on each built-in sample, through
``spin-echo simulate --frame rotating``, ``spin-echo simulate --frame lab`` and
``spin-echo run --bench virtual``, in process, with 48 packets (the samples' own packet count
overridden in a copy of the sample file) and each sweep axis cut to its first and last point (a
copy of the protocol file: the last point is where late windows used to fail, the first is the
grid every point must share). Each cell must exit 0 and write a valid record: complete,
finite, one time axis on the exact grid of the protocol's windows (the axis that every sweep
point shares, :func:`spin_echo.echo.record.record_time_axis`), ``mz`` within [-1, 1] and the
Monte-Carlo standard error (``signal_sem_re``/``_im``, positive) for simulations, the
shot-to-shot error for runs. A cell the physics cannot do must say so in one line with exit 2
(``InputError``), listed in :data:`REFUSED` with its reason; there is none (ferritin's spin
diffusion in the lab frame, refused until the lab frame carried it, now exits 0).
Each record is then drawn by ``spin-echo plot``, which must exit 0, draw a figure and name the
analysis that the protocol's structure calls for (:data:`ANALYSIS`; with two sweep points most
fits are marked UNRELIABLE or not drawn, and say so: the fits themselves are tested in
``tests/echo/analysis``).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

from spin_echo.echo.cli.main import main
from spin_echo.echo.record import read_record, record_time_axis
from spin_echo.sequences import compile_timeline, list_protocols, load_protocol
from spin_echo.simulator import list_samples, load_sample
from tests.images import assert_plot_image

pytestmark = pytest.mark.timeout(300)

PROTOCOLS = [name for name, _ in list_protocols()]
SAMPLES = [name for name, _ in list_samples()]
MODES = ("rotating", "lab", "bench")
PACKETS = 48
#: Cells refused on purpose, with the reason the command prints (exit 2).
REFUSED: dict[tuple[str, str], str] = {}
#: What ``spin-echo plot`` names for each built-in protocol (its analysis, chosen by structure).
ANALYSIS = {
    "fid": "FID spectrum",
    "nutation": "nutation",
    "hahn-echo": "echo decay|no hahn-echo fit",
    "hahn-echo-exorcycle": "echo decay|no hahn-echo fit",
    "cpmg": "CPMG train|no cpmg fit",
    "stimulated-echo": "stimulated-echo decay|no stimulated-echo fit",
    "inversion-recovery": "inversion recovery|no inversion-recovery fit",
    "hole-burning": "hole",
}


def test_the_matrix_covers_every_builtin():
    assert len(PROTOCOLS) >= 7 and {"stimulated-echo", "inversion-recovery"} <= set(PROTOCOLS)
    assert set(ANALYSIS) == set(PROTOCOLS)
    assert {"bare", "bare-t2", "tb-grain", "ferritin"} <= set(SAMPLES)


@pytest.fixture(scope="module")
def small_samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    paths = {}
    for name in SAMPLES:
        path = folder / f"{name}.yaml"
        path.write_text(load_sample(name).with_overrides({"packets": PACKETS}).to_yaml())
        paths[name] = path
    return paths


@pytest.fixture(scope="module")
def small_protocols(tmp_path_factory):
    folder = tmp_path_factory.mktemp("protocols")
    paths = {}
    for name in PROTOCOLS:
        doc = yaml.safe_load(load_protocol(name).to_yaml())
        for axis in doc.get("sweep", {}).values():
            if "points" in axis:
                axis["points"] = 2
            else:
                axis["values"] = [axis["values"][0], axis["values"][-1]]
        paths[name] = folder / f"{name}.yaml"
        paths[name].write_text(yaml.safe_dump(doc, sort_keys=False))
    return paths


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_protocol_runs_on_every_sample(protocol, sample, mode, small_samples,
                                             small_protocols, tmp_path, capsys):  # fmt: skip
    record = tmp_path / "rec.nc"
    path, steps = str(small_samples[sample]), str(small_protocols[protocol])
    if mode == "bench":
        argv = ["run", steps, "--bench", "virtual", "--sample", path, "-o", str(record)]
    else:
        argv = ["simulate", steps, "--sample", path, "--frame", mode, "-o", str(record)]
    code = main(argv)
    out = capsys.readouterr()
    if (sample, mode) in REFUSED:
        assert code == 2
        assert REFUSED[sample, mode] in out.err
        assert len(out.err.strip().splitlines()) == 1
        return
    assert code == 0, out.err
    ds = read_record(record)
    assert ds.attrs["complete"] == 1
    for name in ("signal_re", "signal_im", "signal_sem_re", "signal_sem_im"):
        assert np.all(np.isfinite(ds[name].values)), name
    assert np.all(ds["signal_sem_re"].values >= 0)
    p = load_protocol(small_protocols[protocol])
    assert ds.sizes[p.sweep_axes[0].name] == 2
    first = compile_timeline(p.sequence(next(iter(p.iter_points()))[1], 0))
    np.testing.assert_array_equal(ds["time"].values, record_time_axis(first.detect)[0])
    if mode != "bench":
        assert np.all(np.abs(ds["mz"].values) <= 1.0 + 1e-12)
        assert ds.attrs["frame"] == mode
        assert np.any(ds["signal_sem_re"].values > 0)
    image = tmp_path / "rec.png"
    assert main(["plot", str(record), "-o", str(image)]) == 0
    said = capsys.readouterr()
    assert re.search(ANALYSIS[protocol], said.out + said.err), said.out + said.err
    assert_plot_image(image)
