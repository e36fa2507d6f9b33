"""Small tables for the results of the Python API: plain text for a terminal, HTML for Jupyter.

The results of :mod:`spin_echo` (an analysis, a comparison, a fit, a decoherence budget) show a
few rows of ``name, value, ...``; :func:`text_table` lays them out in aligned columns for
``repr``, :func:`html_table` as an HTML ``<table>`` for ``_repr_html_`` (every cell escaped).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["html_table", "text_table"]


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, indent: str = "  ") -> str:
    """Return ``rows`` under ``header`` in left-aligned columns, a rule below the header.

    Parameters
    ----------
    header
        Column titles.
    rows
        One sequence of cell texts per row, as many cells as ``header``.
    indent
        Text before every line.

    Returns
    -------
    str
        The table, one line per row, trailing spaces removed.

    Examples
    --------
    >>> print(text_table(["name", "value"], [["T_M", "20.1 µs"], ["x", "1.01"]]))
      name  value
      ----  -------
      T_M   20.1 µs
      x     1.01
    """
    lines = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for k, line in enumerate(lines):
        cells = "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        out.append((indent + cells).rstrip())
        if k == 0:
            out.append((indent + "  ".join("-" * width for width in widths)).rstrip())
    return "\n".join(out)


def html_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    caption: str = "",
    footer: Sequence[str] = (),
) -> str:
    """Return an HTML table of ``rows`` (text cells, escaped), with a caption and footer lines.

    Parameters
    ----------
    header
        Column titles.
    rows
        One sequence of cell texts per row.
    caption
        Text above the table (bold).
    footer
        Lines below the table (a reliability warning, notes).

    Returns
    -------
    str
        A ``<div>`` holding the caption, the table and the footer.

    Examples
    --------
    >>> html_table(["name", "value"], [["x", "1 < 2"]])[:35]
    '<div><table><thead><tr><th style="t'
    """
    style = ' style="text-align:left"'
    parts = ["<div>"]
    if caption:
        parts.append(f"<p><b>{html.escape(caption)}</b></p>")
    parts.append("<table><thead><tr>")
    parts += [f"<th{style}>{html.escape(title)}</th>" for title in header]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        cells = "".join(f"<td{style}>{html.escape(cell)}</td>" for cell in row)
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</tbody></table>")
    parts += [f"<p>{html.escape(line)}</p>" for line in footer]
    parts.append("</div>")
    return "".join(parts)
