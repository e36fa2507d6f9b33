r"""The calibration chain of a magnetometer detector: a raw reading to magnetisation, in SI.

A bench measures the sample's magnetisation itself (not a pickup voltage of its precession)
when its bench file has a ``magnetometer`` block. Two chains are known:

- **SQUID flux-locked loop read by a digitizer** (any oscilloscope driver records the FLL
  output, in volts)::

      magnetometer: {volts_per_flux_quantum: 1.2 V, flux_quanta_per_unit: 0.05, per: normalised}

  :math:`M = V / (k_V\,k_\Phi)` with :math:`k_V` the FLL's output volts per flux quantum
  :math:`\Phi_0` and :math:`k_\Phi` the flux quanta coupled into the SQUID by a unit
  magnetisation of the sample (the pickup loop's and flux transformer's coupling);
- **teslameter** (a Hall probe, e.g. the Lake Shore F41/F71, reading tesla)::

      magnetometer: {tesla_per_unit: 2 mT, per: normalised}

  :math:`M = (B - B_0) / k_B` with :math:`k_B` the field at the probe per unit magnetisation
  (the sample's stray-field geometry) and :math:`B_0` the optional ``background`` field.

``per`` says which magnetisation the constants refer to, and so the record's units:
``normalised`` (1 = every packet fully polarised and coupled, as ``spin-echo simulate``'s
``mz``) or ``A/m`` (SI magnetisation). Every value is checked as it is loaded (positive and
finite; file, line, key and value on error), and the chain must match the detector: volts
need the SQUID pair, tesla the teslameter constant (:func:`check_chain`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spin_echo.sequences.yamlio import Node

__all__ = [
    "MAGNETISATION_UNITS",
    "MagnetometerChain",
    "check_chain",
    "parse_magnetometer",
]

#: ``per`` values of a bench file, with the record ``units`` text each gives.
MAGNETISATION_UNITS: dict[str, str] = {
    "normalised": "normalised magnetisation (1 = all packets fully polarised and coupled)",
    "A/m": "A/m",
}

_SQUID_KEYS = ("volts_per_flux_quantum", "flux_quanta_per_unit")
_KEYS = (*_SQUID_KEYS, "tesla_per_unit", "background", "per")


@dataclass(frozen=True)
class MagnetometerChain:
    """Calibration chain from a magnetometer's raw reading to magnetisation.

    Attributes
    ----------
    per
        ``"normalised"`` or ``"A/m"``: the magnetisation the constants refer to (the record's
        unit).
    volts_per_flux_quantum_v
        SQUID flux-locked loop output, volts per flux quantum (None for a teslameter).
    flux_quanta_per_unit
        Flux quanta in the SQUID per unit magnetisation (None for a teslameter).
    tesla_per_unit_t
        Field at a teslameter's probe per unit magnetisation, tesla (None for a SQUID).
    background_t
        Field the teslameter reads without the sample's moment, tesla (subtracted).
    """

    per: str
    volts_per_flux_quantum_v: float | None = None
    flux_quanta_per_unit: float | None = None
    tesla_per_unit_t: float | None = None
    background_t: float = 0.0

    @property
    def reading_units(self) -> str:
        """``"V"`` for a SQUID chain (a digitizer's trace), ``"T"`` for a teslameter."""
        return "T" if self.tesla_per_unit_t is not None else "V"

    @property
    def units(self) -> str:
        """The record's ``units`` text for this chain."""
        return MAGNETISATION_UNITS[self.per]

    def magnetisation(self, values: np.ndarray, units: str) -> np.ndarray:
        """Return the magnetisation (in :attr:`per` units) of raw readings in ``units``.

        Raises
        ------
        ValueError
            If ``units`` is not what the chain converts (``"V"`` or ``"T"``).
        """
        if units != self.reading_units:
            raise ValueError(
                f"the magnetometer chain converts {self.reading_units}, the detector gave {units}"
            )
        raw = np.asarray(values, dtype=float)
        if self.tesla_per_unit_t is not None:
            return (raw - self.background_t) / self.tesla_per_unit_t
        return raw / (self.volts_per_flux_quantum_v * self.flux_quanta_per_unit)


def _positive(node: Node, kind: str) -> float:
    value = node.quantity(kind, positive=True)
    if not math.isfinite(value):
        raise node.error(f"must be a finite {kind}")
    return value


def parse_magnetometer(node: Node) -> MagnetometerChain:
    """Read a bench file's ``magnetometer`` block (see the module docstring).

    Raises
    ------
    InputError
        (the bench file's error class) naming file, line, key and value: an unknown key, a
        value that is not positive and finite, ``per`` not ``normalised`` or ``A/m``, both or
        neither of the SQUID pair and ``tesla_per_unit``, or ``background`` without a
        teslameter.
    """
    block = node.as_map()
    block.check_keys(_KEYS, required=("per",))
    per = block["per"].as_str()
    if per not in MAGNETISATION_UNITS:
        raise block["per"].error(f"must be one of {', '.join(MAGNETISATION_UNITS)}")
    squid = [key for key in _SQUID_KEYS if key in block]
    tesla = block.get("tesla_per_unit")
    if tesla is not None and squid:
        raise block.error(
            "give either the SQUID chain (volts_per_flux_quantum, flux_quanta_per_unit) or a "
            "teslameter's tesla_per_unit, not both"
        )
    if tesla is None and len(squid) != len(_SQUID_KEYS):
        raise block.error(
            "expected volts_per_flux_quantum and flux_quanta_per_unit (a SQUID read by a "
            "digitizer) or tesla_per_unit (a teslameter)"
        )
    background = block.get("background")
    if background is not None and tesla is None:
        raise background.error("background is a teslameter's field; a SQUID chain has none")
    if tesla is not None:
        offset = 0.0 if background is None else background.quantity("field")
        return MagnetometerChain(
            per, tesla_per_unit_t=_positive(tesla, "field"), background_t=offset
        )
    return MagnetometerChain(
        per,
        volts_per_flux_quantum_v=_positive(block["volts_per_flux_quantum"], "voltage"),
        flux_quanta_per_unit=_positive(block["flux_quanta_per_unit"], "dimensionless"),
    )


def check_chain(chain: MagnetometerChain, node: Node, detector_units: str) -> None:
    """Refuse a chain that does not convert what the bench's detector records.

    Parameters
    ----------
    chain
        The parsed ``magnetometer`` block.
    node
        That block, for the error's location.
    detector_units
        What the detector driver records: ``"V"`` (digitizers) or ``"T"`` (teslameters).

    Raises
    ------
    InputError
        Naming the block and what the detector needs.
    """
    if chain.reading_units == detector_units:
        return
    need = (
        "tesla_per_unit (the detector is a teslameter, reading tesla)"
        if detector_units == "T"
        else "volts_per_flux_quantum and flux_quanta_per_unit (the detector digitizes volts)"
    )
    raise node.error(f"this detector needs {need}")
