"""Fitted-sample YAML: values with errors, inline comments, and the file still loads."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from spin_echo.echo.analysis.fit_yaml import annotate_sample_yaml, format_with_error, unit_of_key
from spin_echo.simulator import load_sample


@pytest.mark.parametrize(
    ("value", "error", "unit", "expected"),
    [
        (5.0213e-6, 8.3e-8, "s", "5.021 ± 0.083 µs"),
        (299171.0, 4300.0, "Hz", "299.2 ± 4.3 kHz"),
        (1.5, 0.25, "", "1.50 ± 0.25"),
        (1234.0, 56.0, "", "1234 ± 56"),
        (2.0, 0.0, "", "2 ± 0"),
    ],
    ids=["time", "frequency", "dimensionless", "integer-digits", "zero-error"],
)
def test_format_with_error(value, error, unit, expected):
    assert format_with_error(value, error, unit) == expected


@pytest.mark.parametrize(
    ("key", "unit"),
    [
        ("relaxation.T2", "s"),
        ("bias.width", "Hz"),
        ("tunnel_splitting.sigma", ""),
        ("environment.nuclear.lambda", ""),
        ("environment.phonons.debye_temperature", "K"),
        ("orientation.theta", "rad"),
        ("environment.phonons.anisotropy", "Hz"),
    ],
)
def test_unit_of_key(key, unit):
    assert unit_of_key(key) == unit


def test_annotation_keeps_the_document_and_loads_as_a_sample(tmp_path):
    sample = load_sample("bare").with_overrides({"relaxation.T2": 7.93e-6, "bias.width": 2.99e5})
    text = annotate_sample_yaml(
        sample.to_yaml(),
        keys=["relaxation.T2", "bias.width"],
        values=[7.93e-6, 2.99e5],
        errors=[6.6e-8, 4.3e3],
        correlation=np.array([[1.0, 0.25], [0.25, 1.0]]),
        header=["fitted by a test"],
    )
    lines = text.splitlines()
    assert lines[0] == "# fitted by a test"
    assert "#   relaxation.T2 = 7.930 ± 0.066 µs" in lines
    assert "#   relaxation.T2 / bias.width: +0.250" in lines
    assert any(
        line.strip().startswith("width: ") and "# fitted: ± 4.3 kHz" in line for line in lines
    )
    assert any(line.strip().startswith("T2: ") and "# fitted: ± 66 ns" in line for line in lines)
    assert yaml.safe_load(text) == yaml.safe_load(sample.to_yaml())
    (tmp_path / "s.yaml").write_text(text)
    assert load_sample(tmp_path / "s.yaml").value("bias.width") == pytest.approx(2.99e5)
