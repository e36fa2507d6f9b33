r"""The one formatter of quantities with units, for every number plot, fit and compare print.

Numbers are SI floats inside the code; people read them with an SI prefix (``20.03 µs``,
``250 MHz``) and angles in degrees. Three functions, used by every printed report, plot legend
and fitted-sample comment:

- :func:`display_scale` chooses the prefix: the largest of G, M, k, (none), m, µ, n, p not
  exceeding the largest magnitude of the values (so one axis, or a value and its error, share
  one prefix); ``rad`` becomes ``deg``; units without prefixes are left as they are;
- :func:`format_quantity` writes one value, ``format_quantity(2.003e-5, "s") == "20.03 µs"``;
- :func:`format_with_error` writes a value and its standard error with the error's two
  significant digits deciding the decimals, ``"19.948 ± 0.085 µs"``.

Long unit descriptions (``"normalised magnetisation (1 = all packets ...)"``) are shortened to
their head by :func:`short_units` first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "PREFIXED_UNITS",
    "display_scale",
    "format_quantity",
    "format_with_error",
    "short_units",
]

_PREFIXES = (
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
    (1e-3, "m"),
    (1e-6, "µ"),
    (1e-9, "n"),
    (1e-12, "p"),
)
#: SI units that take a prefix.
PREFIXED_UNITS = frozenset({"s", "Hz", "T", "V", "K", "A", "W", "T/V", "1/Hz", "rad/s", "Sa/s"})


def short_units(units: str) -> str:
    """Return ``units`` without a trailing explanation in parentheses.

    ``"normalised magnetisation (1 = all packets fully polarised and coupled)"`` becomes
    ``"normalised magnetisation"``; ``"V"`` stays ``"V"``.
    """
    head, sep, _ = units.partition(" (")
    return head.strip() if sep and head.strip() else units


def display_scale(values: np.ndarray | Sequence[float], units: str) -> tuple[float, str]:
    """Return ``(factor, unit)`` so that ``values / factor`` reads well in ``unit``.

    Parameters
    ----------
    values
        The numbers to be shown together (SI).
    units
        Their SI unit.

    Returns
    -------
    tuple
        ``(factor, shown unit)``: the largest SI prefix not exceeding the largest finite
        magnitude (within 0.1 %); ``rad`` is shown in ``deg``; a unit that takes no prefix
        (``""``, ``"normalised"``) is returned with factor 1.
    """
    if units == "rad":
        return math.pi / 180.0, "deg"
    if units not in PREFIXED_UNITS:
        return 1.0, units
    finite = np.abs(np.asarray(values, dtype=float))
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size == 0:
        return 1.0, units
    top = float(finite.max())
    if units == "1/Hz":
        factor, shown = display_scale([1.0 / top], "Hz")
        return 1.0 / factor, f"1/{shown}"
    for factor, prefix in _PREFIXES:
        if top >= factor * 0.999:
            return factor, prefix + units
    return _PREFIXES[-1][0], _PREFIXES[-1][1] + units


def format_quantity(value: float, units: str, *, digits: int = 4) -> str:
    """Return ``value`` with an SI prefix and ``digits`` significant digits.

    Parameters
    ----------
    value
        SI value.
    units
        Its unit (see :func:`display_scale`).
    digits
        Significant digits.

    Returns
    -------
    str
        e.g. ``"20.03 µs"``, ``"250 MHz"``, ``"90 deg"``, ``"0.5163"`` (no unit).
    """
    units = short_units(units)
    if not math.isfinite(value):
        return f"{value} {units}".rstrip()
    factor, shown = display_scale([value], units)
    return f"{value / factor:.{digits}g} {shown}".rstrip()


def format_with_error(value: float, error: float, units: str) -> str:
    """Return ``"19.948 ± 0.085 µs"``: value and error with one SI prefix, two error digits.

    Parameters
    ----------
    value, error
        SI value and its standard error.
    units
        Their unit.

    Returns
    -------
    str
        The prefix follows the value (the error when the value is 0); the value is rounded to
        the error's second significant digit. An error that is zero, not finite or larger than
        the value gives the value to 4 significant digits and the error to 2
        (``"12.93 ± 2.5e+06 s"``).
    """
    units = short_units(units)
    factor, shown = display_scale([value] if value != 0 else [error], units)
    scaled, scaled_error = value / factor, error / factor
    finite = bool(np.isfinite(scaled) and np.isfinite(scaled_error))
    if finite and 0 < scaled_error < abs(scaled) + (scaled == 0):
        decimals = max(0, 1 - int(np.floor(np.log10(scaled_error))))
        text = (
            f"{scaled:.{decimals}f} ± {scaled_error:.{decimals}f}"
            if decimals <= 12
            else f"{scaled:.6g} ± {scaled_error:.2g}"
        )
    else:
        text = f"{scaled:.4g} ± {scaled_error:.2g}"
    return f"{text} {shown}".rstrip()
