"""``import spin_echo`` stays light, every public name resolves, every docstring example runs."""

from __future__ import annotations

import doctest
import importlib
import json
import subprocess
import sys

import pytest

import spin_echo

#: Libraries that ``import spin_echo`` must not load (each costs 0.1-1 s, numba and pyvisa more).
HEAVY = ("numba", "matplotlib", "xarray", "pyvisa", "scipy", "numpy", "netCDF4")

#: The modules of the API, whose docstring examples are run.
API_MODULES = (
    "spin_echo",
    "spin_echo.loading",
    "spin_echo.experiments",
    "spin_echo.evaluation",
    "spin_echo.results",
    "spin_echo.tables",
)


def loaded_after(code: str) -> list[str]:
    """Return which of :data:`HEAVY` are in ``sys.modules`` after running ``code`` afresh."""
    report = f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_spin_echo_loads_no_heavy_library():
    assert loaded_after("import spin_echo") == []
    assert loaded_after("import spin_echo; spin_echo.load_protocol; spin_echo.SpinEchoError") == []


def test_heavy_libraries_load_when_needed():
    """The probe can fail: the first simulation does load numpy, xarray and netCDF4."""
    loaded = loaded_after("import spin_echo\nspin_echo.simulate('fid', 'bare', packets=10)")
    assert {"numpy", "xarray", "netCDF4"} <= set(loaded)
    assert "pyvisa" not in loaded and "matplotlib" not in loaded


@pytest.mark.parametrize("name", spin_echo.__all__)
def test_every_public_name_resolves(name):
    assert getattr(spin_echo, name) is not None
    assert name in dir(spin_echo)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        spin_echo.no_such_name  # noqa: B018


@pytest.mark.parametrize("module", API_MODULES)
def test_docstring_examples_run(module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(importlib.import_module(module), verbose=False, report=True)
    assert result.failed == 0
    if module != "spin_echo.results":
        assert result.attempted > 0


@pytest.mark.parametrize("module", API_MODULES[1:])
def test_every_public_function_has_an_example(module):
    """Each function and class the API exports shows how it is called."""
    mod = importlib.import_module(module)
    for name in mod.__all__:
        item = getattr(mod, name)
        if module == "spin_echo.results" or not callable(item):
            continue
        assert ">>> " in (item.__doc__ or ""), f"{module}.{name} has no example"
