"""What a record's signal is: a demodulated transient, or the held :math:`m_z` of a teslameter.

A record's ``signal_re``/``signal_im`` are, by default, the demodulated detector signal over
the detection windows (a pickup coil, a SQUID loop read by a digitizer, a simulation). A
**slow magnetometer** (a teslameter, :mod:`spin_echo.echo.runs.magnetisation`) cannot see the
carrier: its record's signal is the :math:`m_z` the sequence left behind, real and the same at
every detection time. The attribute ``signal_kind`` says which, so that the analyses take the
right quantity (:mod:`spin_echo.echo.analysis.mz`):

- ``demodulated`` (the default, also for records written before the attribute existed);
- ``held_mz``: the signal is :math:`m_z` (imaginary part 0), held over the detection times;
  ``signal_sem_re`` is then the standard error of :math:`m_z` from the shot-to-shot scatter.

:func:`read_signal_kind` checks the attribute where records are described
(:func:`spin_echo.echo.record_info.describe_record`); a value other than these is refused
(:class:`SignalKindError`, an input error: exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from spin_echo.sequences.errors import InputError

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "DEMODULATED",
    "HELD_MZ",
    "SIGNAL_KINDS",
    "SignalKindError",
    "read_signal_kind",
    "signal_kind",
]

#: The signal is the demodulated detector signal (the default).
DEMODULATED = "demodulated"
#: The signal is the m_z a slow magnetometer read after the sequence, held over the window.
HELD_MZ = "held_mz"
#: Values the ``signal_kind`` attribute may take.
SIGNAL_KINDS = (DEMODULATED, HELD_MZ)


class SignalKindError(InputError):
    """A record whose ``signal_kind`` attribute is not one of :data:`SIGNAL_KINDS`."""


def read_signal_kind(attrs: Mapping[str, Any], file: str) -> str:
    """Return the record's ``signal_kind`` (``demodulated`` when absent), checked.

    Parameters
    ----------
    attrs
        The record's attributes.
    file
        Its name, for messages.

    Raises
    ------
    SignalKindError
        The attribute is not text naming one of :data:`SIGNAL_KINDS`.
    """
    if "signal_kind" not in attrs:
        return DEMODULATED
    value = attrs["signal_kind"]
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    if isinstance(value, np.generic):
        value = value.item()
    if value not in SIGNAL_KINDS:
        raise SignalKindError(
            f"must be one of {', '.join(SIGNAL_KINDS)}", file=file, key="signal_kind", value=value
        )
    return str(value)


def signal_kind(dataset: xr.Dataset) -> str:
    """Return what a record's signal is: :data:`DEMODULATED` or :data:`HELD_MZ` (checked)."""
    return read_signal_kind(dataset.attrs, str(dataset.encoding.get("source", "<record>")))
