"""``spin-echo paper`` end to end at a reduced packet count: figures, report, metrics, samples."""

from __future__ import annotations

import json

import matplotlib.image as mpimg
import pytest

from spin_echo.echo.cli.main import main
from spin_echo.simulator import load_sample

FIGURES = ("pt_bessel.png", "chi_eq7.png", "fig1.png", "eq8_spin_diffusion.png", "spin_echo.png")


def test_paper_end_to_end(tmp_path, capsys) -> None:
    outdir = tmp_path / "paper"
    assert main(["paper", "--outdir", str(outdir), "--packets", "16000", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith(f"report: {outdir / 'report.md'}")
    for name in FIGURES:
        image = mpimg.imread(outdir / name)
        assert image.shape[0] > 300 and image.shape[1] > 500
        assert name in out
    report = (outdir / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# Prokof'ev & Stamp (1995), reproduced by spin-echo")
    assert "--packets 16000 --seed 4" in report
    assert report.count("| quantity | paper | simulated | difference |") == len(FIGURES)
    for name in FIGURES:
        assert f"]({name})" in report
    metrics = json.loads((outdir / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["results"]) == {"pt", "eq7", "fig1", "eq8", "echo"}
    assert metrics["packets"] == 16000
    # the samples behind the figures are written out and load again
    samples = sorted((outdir / "samples").glob("*.yaml"))
    assert len(samples) > 5
    assert load_sample(outdir / "samples" / "paper-ferritin.yaml").nuclear.n_spins == 100


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["paper", "--packets", "10"], "--packets = 10: must be at least 16000"),
        (["paper", "--seed", "-1"], "--seed = -1"),
    ],
    ids=["too-few-packets", "negative-seed"],
)
def test_paper_bad_options_exit_2(tmp_path, argv, needle, capsys) -> None:
    assert main([*argv, "--outdir", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spin-echo: error: ") and needle in err
    assert not (tmp_path / "p").exists()
