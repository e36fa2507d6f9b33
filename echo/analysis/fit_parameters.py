r"""The sample keys a fit may free, their coordinates and their bounds.

Positive quantities (times, widths, rates, couplings) are fitted as ``log(theta/theta_0)``
(they stay positive, and steps are relative); bias offsets (``bias.mean``, ``bias.value``,
``bias.low``, ``bias.high``, ``bias_sampling.center``) linearly, in steps of their start value,
or of 1 kHz from a zero start; ``orientation.theta`` in [0, pi]. Integer keys (``packets``,
``seed``, ``environment.nuclear.N``) and the spin (a whole or half-integer number) cannot be
fitted by least squares.

Every trial value is one the sample accepts, so that a fit never meets a refusal of its own
making: the bounds are the key's physical range (:data:`spin_echo.sequences.quantity.RANGES`,
:data:`spin_echo.simulator.sample.KEY_LIMITS`) narrowed by the sample's relations between keys
(``T2 <= 2 T1``; ``bias.low < bias.high``; ``lambda_prime <= lambda``), and a bias offset whose
magnitude falls below the smallest the sample accepts (1 µHz) is zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spin_echo.sequences.errors import InputError
from spin_echo.sequences.quantity import RANGES
from spin_echo.simulator import Sample
from spin_echo.simulator.sample import KEY_LIMITS, key_kind

__all__ = ["FitError", "FreeParameter", "free_parameter"]

_LINEAR = {"bias.mean", "bias.value", "bias.low", "bias.high", "bias_sampling.center"}
_INTEGER = {"packets", "seed", "environment.nuclear.N"}
#: Step of a bias offset that starts at zero, Hz.
_ZERO_START_STEP_HZ = 1e3


class FitError(InputError):
    """A fit that cannot be set up: unknown or integer parameter, record and protocol disagree."""


@dataclass(frozen=True)
class FreeParameter:
    """One fitted sample key and how it is stepped.

    Attributes
    ----------
    key
        Dotted sample key, e.g. ``"relaxation.T2"``.
    start
        Starting value (SI; energies in Hz).
    log
        Fitted as ``log(theta/start)`` (positive quantities) rather than linearly.
    lower, upper
        Bounds in SI.
    step
        A linear key's unit of the internal coordinate (SI): its start's magnitude, or
        1 kHz from a zero start (0 for log keys).
    smallest
        A linear key's smallest non-zero magnitude; values below it are zero.
    """

    key: str
    start: float
    log: bool
    lower: float
    upper: float
    step: float = 0.0
    smallest: float = 0.0

    def to_value(self, q: float) -> float:
        """Return the SI value at internal coordinate ``q``."""
        if self.log:
            return float(self.start * np.exp(q))
        value = float(self.start + q * self._step())
        return 0.0 if abs(value) < self.smallest else value

    def to_internal(self, value: float) -> float:
        """Return the internal coordinate of an SI value."""
        if self.log:
            return float(np.log(value / self.start))
        return float((value - self.start) / self._step())

    def derivative(self, q: float) -> float:
        """Return d(value)/dq at ``q`` (for propagating errors)."""
        return self.to_value(q) if self.log else self._step()

    def internal_bounds(self) -> tuple[float, float]:
        """Return the bounds in the internal coordinate (``-inf``/``inf`` where none)."""
        lower = self.to_internal(self.lower) if not self.log or self.lower > 0 else -np.inf
        upper = self.to_internal(self.upper) if math.isfinite(self.upper) else np.inf
        return lower, upper

    def _step(self) -> float:
        if self.step:
            return self.step
        return abs(self.start) if self.start != 0 else 1.0


def _relation_bounds(sample: Sample, key: str) -> tuple[float, float]:
    """Bounds that the sample's relations between keys put on ``key`` (SI)."""

    def other(name: str) -> float | None:
        try:
            return sample.value(name)
        except InputError:
            return None

    pairs = {
        "relaxation.T2": (None, ("relaxation.T1", 2.0)),
        "relaxation.T1": (("relaxation.T2", 0.5), None),
        "bias.low": (None, ("bias.high", 1.0)),
        "bias.high": (("bias.low", 1.0), None),
        "environment.nuclear.lambda_prime": (None, ("environment.nuclear.lambda", 1.0)),
        "environment.nuclear.lambda": (("environment.nuclear.lambda_prime", 1.0), None),
    }
    lower, upper = -np.inf, np.inf
    below, above = pairs.get(key, (None, None))
    if below is not None and (value := other(below[0])) is not None:
        lower = value * below[1]
    if above is not None and (value := other(above[0])) is not None:
        upper = value * above[1]
    return lower, upper


def free_parameter(sample: Sample, key: str) -> FreeParameter:
    """Describe a fit parameter from the sample's current value and the key's physics.

    Raises
    ------
    FitError
        For a whole-number key or the spin, or a positive quantity that does not start
        positive.
    SampleError
        For a key that is not a numeric sample key or that the sample does not set.
    """
    if key in _INTEGER:
        raise FitError("is a whole number and cannot be fitted by least squares", key=key)
    if key == "spin":
        raise FitError(
            "is a spin, a whole or half-integer number, and cannot be fitted by least squares",
            key=key,
        )
    start = sample.value(key)
    if key == "orientation.theta":
        return FreeParameter(key, start, False, 0.0, np.pi)
    bounds = RANGES[key_kind(key)]
    largest = min(bounds.largest, KEY_LIMITS.get(key, np.inf))
    related_lower, related_upper = _relation_bounds(sample, key)
    if key in _LINEAR:
        step = abs(start) if start != 0 else _ZERO_START_STEP_HZ
        return FreeParameter(
            key,
            start,
            False,
            max(-largest, related_lower),
            min(largest, related_upper),
            step=step,
            smallest=bounds.smallest,
        )
    if not start > 0:
        raise FitError(
            "must start at a positive value to be fitted (it is a positive quantity)",
            key=key,
            value=start,
        )
    lower = max(bounds.smallest, related_lower)
    return FreeParameter(key, start, True, lower, min(largest, related_upper))
