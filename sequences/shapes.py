r"""Pulse shapes: envelope, exact pulse area and frequency sweep of one pulse.

A shape describes a pulse of duration :math:`T` on the relative time :math:`u \in [0, T]`:

- an envelope :math:`e(u)` with peak 1 (the drive is ``peak_rabi_hz * e(u)``);
- its exact running integral :math:`C(u) = \int_0^u e(s)\,ds` (closed forms), so that a
  compiler can give each sub-segment exactly the area of the shape over it;
- the *area factor* :math:`C(T)/T`: a pulse of nominal rotation angle :math:`\vartheta` has
  peak Rabi frequency :math:`\vartheta / (2\pi\,T\,C(T)/T)` (pulse-area rule);
- a frequency sweep :math:`\Delta f(u)` (Hz, relative to the pulse frequency) and its phase
  :math:`2\pi\int_0^u \Delta f(s)\,ds`, zero for ``rect`` and ``gaussian``.

Shapes (the ``shape`` key of a pulse):

``rect``
    :math:`e = 1`.
``gaussian`` (``truncation``: half-width in sigmas, default 3; or ``sigma``: a time)
    :math:`e = \exp(-(u - T/2)^2 / 2\sigma^2)` with :math:`\sigma = T / (2\,\mathrm{truncation})`,
    truncated (not shifted) at the pulse edges.
``sech`` (``bandwidth``: total sweep, Hz, required; ``beta``: truncation, default 5.3)
    the adiabatic hyperbolic secant of Silver, Joseph and Hoult:
    :math:`e = \mathrm{sech}(\beta x)`, :math:`\Delta f = (B/2)\tanh(\beta x)`,
    :math:`x = 2u/T - 1`; the envelope falls to ``sech(beta)`` (1 % for 5.3) at the edges.
``chirp`` (``bandwidth``: total sweep, Hz, required)
    rectangular envelope with a linear sweep :math:`\Delta f = B\,(u/T - 1/2)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SHAPE_NAMES", "Chirp", "Gaussian", "Rect", "Sech", "Shape"]

#: Names accepted by the ``shape`` key of a pulse.
SHAPE_NAMES = ("rect", "gaussian", "sech", "chirp")


@dataclass(frozen=True)
class Shape:
    """Base class of pulse shapes; the default methods describe a rectangular pulse."""

    @property
    def name(self) -> str:
        """Name of the shape as written in a protocol."""
        return "rect"

    @property
    def piecewise_constant(self) -> bool:
        """True when one constant segment represents the pulse exactly (``rect``)."""
        return True

    @property
    def area_factor(self) -> float:
        """Dimensionless :math:`C(T)/T`: pulse area relative to a rect pulse of equal peak."""
        return 1.0

    @property
    def span_hz(self) -> float:
        """Total width of the frequency sweep, Hz (0 for unswept shapes)."""
        return 0.0

    def envelope(self, u_s: np.ndarray, duration_s: float) -> np.ndarray:
        """Envelope :math:`e(u)` (peak 1) at relative times ``u_s`` in ``[0, duration_s]``."""
        return np.ones_like(np.asarray(u_s, dtype=float))

    def cumulative(self, u_s: np.ndarray, duration_s: float) -> np.ndarray:
        """Exact running area C(u), the integral of the envelope from 0 to u, seconds."""
        return np.asarray(u_s, dtype=float).copy()

    def sweep_phase_rad(self, u_s: np.ndarray, duration_s: float) -> np.ndarray:
        """Phase of the frequency sweep, 2 pi times the integral of the sweep from 0 to u, rad."""
        return np.zeros_like(np.asarray(u_s, dtype=float))

    def describe(self) -> str:
        """Short human-readable description (for tables)."""
        return self.name


@dataclass(frozen=True)
class Rect(Shape):
    """Rectangular pulse: constant envelope, no sweep."""


@dataclass(frozen=True)
class Gaussian(Shape):
    """Truncated Gaussian envelope, ``truncation`` sigmas on each side of the centre.

    Attributes
    ----------
    truncation
        Half-width of the pulse in units of sigma (> 0); sigma = duration / (2 truncation).
    """

    truncation: float = 3.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.truncation) and self.truncation > 0):
            raise ValueError(f"gaussian truncation must be positive, got {self.truncation!r}")

    @property
    def name(self) -> str:
        """See :class:`Shape`."""
        return "gaussian"

    @property
    def piecewise_constant(self) -> bool:
        """See :class:`Shape`."""
        return False

    @property
    def area_factor(self) -> float:
        """See :class:`Shape`."""
        k = self.truncation
        return math.sqrt(2 * math.pi) * math.erf(k / math.sqrt(2)) / (2 * k)

    def envelope(self, u_s: np.ndarray, duration_s: float) -> np.ndarray:
        """See :class:`Shape`."""
        sigma = duration_s / (2 * self.truncation)
        return np.exp(-((np.asarray(u_s, dtype=float) - duration_s / 2) ** 2) / (2 * sigma**2))

    def cumulative(self, u_s: np.ndarray, duration_s: float) -> np.ndarray:
        """See :class:`Shape`."""
        from scipy.special import erf  # scipy costs 0.5 s to import: only when compiling

        sigma = duration_s / (2 * self.truncation)
        scale = math.sqrt(2) * sigma
        u = np.asarray(u_s, dtype=float)
        return (
            sigma
            * math.sqrt(math.pi / 2)
            * (erf((u - duration_s / 2) / scale) + math.erf(self.truncation / math.sqrt(2)))
        )

    def describe(self) -> str:
        """See :class:`Shape`."""
        return f"gaussian ±{self.truncation:g}σ"


def _log_cosh(y: np.ndarray) -> np.ndarray:
    """``log(cosh(y))`` without overflow."""
    a = np.abs(y)
    return a + np.log1p(np.exp(-2 * a)) - math.log(2)


@dataclass(frozen=True)
class Sech(Shape):
    """Adiabatic hyperbolic-secant pulse with a tanh frequency sweep.

    Attributes
    ----------
    beta
        Truncation (dimensionless, 0 < beta <= 50): the envelope is sech(beta) at the edges.
    bandwidth_hz
        Total frequency sweep B (Hz, > 0): from -B/2 to +B/2 about the pulse frequency.
    """

    beta: float = 5.3
    bandwidth_hz: float = 1e6

    def __post_init__(self) -> None:
        if not (math.isfinite(self.beta) and 0 < self.beta <= 50):
            raise ValueError(f"sech beta must be in (0, 50], got {self.beta!r}")
        if not (math.isfinite(self.bandwidth_hz) and self.bandwidth_hz > 0):
            raise ValueError(f"sech bandwidth must be positive, got {self.bandwidth_hz!r}")

    @property
    def name(self) -> str:
        """See :class:`Shape`."""
        return "sech"

    @property
    def piecewise_constant(self) -> bool:
        """See :class:`Shape`."""
        return False

    @property
    def area_factor(self) -> float:
        """See :class:`Shape`."""
        return math.atan(math.sinh(self.beta)) / self.beta

    @property
    def span_hz(self) -> float:
        """See :class:`Shape`."""
        return self.bandwidth_hz * math.tanh(self.beta)

    def _x(self, u_s: np.ndarray, duration_s: float) -> np.ndarray:
        return self.beta * (2 * np.asarray(u_s, dtype=float) / duration_s - 1)

    def envelope(self, u_s: np.ndarray, duration_s: float) -> np.ndarray:
        """See :class:`Shape`."""
        return 1 / np.cosh(self._x(u_s, duration_s))

    def cumulative(self, u_s: np.ndarray, duration_s: float) -> np.ndarray:
        """See :class:`Shape`."""
        y = self._x(u_s, duration_s)
        return (
            duration_s / (2 * self.beta) * (np.arctan(np.sinh(y)) + math.atan(math.sinh(self.beta)))
        )

    def sweep_phase_rad(self, u_s: np.ndarray, duration_s: float) -> np.ndarray:
        """See :class:`Shape`."""
        y = self._x(u_s, duration_s)
        return (
            math.pi
            * self.bandwidth_hz
            * duration_s
            / (2 * self.beta)
            * (_log_cosh(y) - _log_cosh(np.float64(self.beta)))
        )

    def describe(self) -> str:
        """See :class:`Shape`."""
        return f"sech β={self.beta:g} B={self.bandwidth_hz / 1e6:g} MHz"


@dataclass(frozen=True)
class Chirp(Shape):
    """Rectangular envelope with a linear frequency sweep from -B/2 to +B/2.

    Attributes
    ----------
    bandwidth_hz
        Total frequency sweep B, Hz (> 0).
    """

    bandwidth_hz: float = 1e6

    def __post_init__(self) -> None:
        if not (math.isfinite(self.bandwidth_hz) and self.bandwidth_hz > 0):
            raise ValueError(f"chirp bandwidth must be positive, got {self.bandwidth_hz!r}")

    @property
    def name(self) -> str:
        """See :class:`Shape`."""
        return "chirp"

    @property
    def piecewise_constant(self) -> bool:
        """See :class:`Shape`."""
        return False

    @property
    def span_hz(self) -> float:
        """See :class:`Shape`."""
        return self.bandwidth_hz

    def sweep_phase_rad(self, u_s: np.ndarray, duration_s: float) -> np.ndarray:
        """See :class:`Shape`."""
        u = np.asarray(u_s, dtype=float)
        return 2 * math.pi * self.bandwidth_hz * (u * u / (2 * duration_s) - u / 2)

    def describe(self) -> str:
        """See :class:`Shape`."""
        return f"chirp B={self.bandwidth_hz / 1e6:g} MHz"
