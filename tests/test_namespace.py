"""The project installs under one import namespace, ``spin_echo`` (issue 13, section 1)."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import importlib.util, json
names = ["echo", "simulator", "drivers", "sequences"]
plain = {name: importlib.util.find_spec(name) is not None for name in names}
spaced = {name: importlib.util.find_spec("spin_echo." + name) is not None for name in names}
print(json.dumps({"plain": plain, "spaced": spaced}))
"""


def test_only_the_spin_echo_names_are_importable(tmp_path):
    # run outside the repository, as an installed package is used
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(done.stdout)
    assert found["spaced"] == dict.fromkeys(found["spaced"], True)
    assert found["plain"] == dict.fromkeys(found["plain"], False)
