"""``spin-echo budget`` end to end: the built-in samples give the paper's conclusions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from spin_echo.echo.cli.main import main


def test_budget_ferritin_table(capsys) -> None:
    assert main(["budget", "ferritin"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "decoherence budget of sample 'ferritin' (Prokof'ev & Stamp 1995)"
    lam = next(line for line in lines if line.startswith("lambda (nuclei co-flipping)"))
    # lambda = 4e-5 << 1: the nuclear bath is a static field
    assert "4e-05" in lam and lam.endswith("coherence visible")
    # A = pi 1e6 / (5e7 sqrt(200 pi)) = 2.51e-3 (the paper's "A ~ 2e-3")
    assert "0.00251" in next(line for line in lines if line.startswith("A = pi D0"))
    # Eq. (8) in the paper's form: T2^-1 / 2 pi << 1e6 / 100^(1/3) = 2.15e5 Hz
    assert "2.15e+05 Hz" in next(line for line in lines if line.startswith("T2^-1 N^1/3"))
    conclusion = next(line for line in lines if line.startswith("conclusion: "))
    assert "topological" not in conclusion
    # the closed forms point to the bench's question (spin-echo design), which points back
    assert lines[-1].endswith("spin-echo design hahn-echo --sample ferritin --bench virtual")


def test_budget_tb_grain_json(capsys) -> None:
    assert main(["budget", "tb-grain", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sample"] == "tb-grain"
    rows = {row["quantity"]: row for row in data["rows"]}
    assert rows["lambda - lambda'"]["value"] == 10.0
    assert rows["lambda - lambda'"]["verdict"].startswith("blocked: topological decoherence")
    assert data["conclusion"].startswith("coherence blocked by topological decoherence")


def test_budget_sample_file(tmp_path, capsys) -> None:
    path = tmp_path / "metal.yaml"
    path.write_text(
        "name: metal\nspin: 1000\nOmega0: 40 GHz\ntemperature: 20 mK\n"
        "tunnel_splitting: {distribution: fixed, value: 1 MHz}\n"
        "bias: {distribution: fixed, value: 0 Hz}\n"
        "environment: {electrons: {alpha: 0.2}}\n",
        encoding="utf-8",
    )
    assert main(["budget", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\nconclusion: coherence blocked by electrons (Ohmic damping)\n" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["budget", "no-such-sample"], "no-such-sample"),
        (["budget", "missing/file.yaml"], "missing/file.yaml"),
    ],
    ids=["unknown-name", "missing-file"],
)
def test_budget_bad_sample_exit_2(argv, needle, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("spin-echo: error: ") and needle in err
    assert "Traceback" not in err


def test_budget_console_script() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "spin_echo.echo.cli.main", "budget", "ferritin", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sample"] == "ferritin"
