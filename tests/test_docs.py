"""The documentation builds with warnings as errors (numpydoc checks the API's docstrings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("sphinx", reason="the docs extra is not installed (pip install -e '.[docs]')")
pytest.importorskip("numpydoc", reason="the docs extra is not installed")


def test_sphinx_builds_without_warnings(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(ROOT / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    api = (tmp_path / "html" / "api.html").read_text(encoding="utf-8")
    for name in ("simulate", "analyse", "fit", "budget", "load_protocol", "virtual_lab"):
        assert f'id="spin_echo.{name}"' in api, name
    assert "Examples" in api
