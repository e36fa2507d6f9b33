"""Write a fitted sample as YAML with its uncertainties as comments.

The sample text comes from :meth:`simulator.Sample.to_yaml` (block style, two-space indents);
a header of comments lists every fitted key with its value, standard error and the
correlations, and each fitted key's line gets an inline ``# fitted: ± error`` comment, so the
file still loads with :func:`simulator.load_sample` and shows where each number came from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spin_echo.echo.record import unit_of_kind
from spin_echo.echo.units_format import display_scale, format_with_error
from spin_echo.simulator.sample import key_kind

__all__ = ["annotate_sample_yaml", "format_with_error", "unit_of_key"]


def unit_of_key(key: str) -> str:
    """Return the SI unit of a sample key's value (energies in Hz), ``""`` if dimensionless."""
    kind = key_kind(key)
    return "" if kind in ("dimensionless", "int") else unit_of_kind(kind)


def _key_lines(lines: Sequence[str]) -> dict[str, int]:
    """Map the dotted path of every block-style ``key: value`` line to its index."""
    found: dict[str, int] = {}
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(lines):
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith(("#", "-")) or ":" not in stripped:
            continue
        indent = len(line) - len(stripped)
        key = stripped.split(":", 1)[0].strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        found[".".join(name for _, name in stack)] = number
    return found


def annotate_sample_yaml(
    text: str,
    *,
    keys: Sequence[str],
    values: Sequence[float],
    errors: Sequence[float],
    correlation: np.ndarray,
    header: Sequence[str],
) -> str:
    """Return ``text`` with a comment header and an inline error comment on each fitted key.

    Parameters
    ----------
    text
        Sample YAML (block style) holding the fitted values.
    keys, values, errors
        Fitted dotted keys, their values and standard errors (SI, energies in Hz).
    correlation
        Correlation matrix of the fitted values.
    header
        Lines for the top of the file (without ``#``).
    """
    lines = text.rstrip("\n").splitlines()
    where = _key_lines(lines)
    for key, error in zip(keys, errors, strict=True):
        if key in where:
            index = where[key]
            factor, shown = display_scale([error], unit_of_key(key))
            lines[index] += f"  # fitted: ± {error / factor:.2g} {shown}".rstrip() + " (1 sigma)"
    comments = [f"# {line}" for line in header]
    comments.append("# free parameters (value ± standard error):")
    for key, value, error in zip(keys, values, errors, strict=True):
        comments.append(f"#   {key} = {format_with_error(value, error, unit_of_key(key))}")
    if len(keys) > 1:
        comments.append("# correlations:")
        for i in range(len(keys)):
            for j in range(i + 1, len(keys)):
                comments.append(f"#   {keys[i]} / {keys[j]}: {correlation[i, j]:+.3f}")
    return "\n".join(comments + lines) + "\n"
