r"""Parameter distributions of a sample file: tunnel splitting, bias, orientation of the easy axis.

Every distribution is written the same way wherever one is allowed (SPEC.md, "Sample"):

``{distribution: fixed, value: X}``
    Every packet has ``X``.
``{distribution: gaussian, mean: X, width: SIGMA}``
    Normal density with standard deviation ``SIGMA``.
``{distribution: lognormal, median: X, sigma: S}``
    ``exp(N(ln X, S^2))``; ``S`` is dimensionless (the standard deviation of the logarithm),
    at most :data:`MAX_LOG_SIGMA` (a spread of e^5 ~ 150 per standard deviation; beyond it the
    draws leave the range of energies).
``{distribution: uniform, low: X, high: Y}``
    Flat density on ``[X, Y)``.
``{distribution: list, values: [X1, X2, ...], weights: [w1, w2, ...]}``
    Discrete values; ``weights`` (optional, default equal, >= 0, not all zero) are the relative
    probabilities. Packets are drawn with these probabilities.

The easy-axis orientation (angle :math:`\theta` between the easy axis and the drive field) is
``{distribution: fixed, theta: 30 deg}`` or ``{distribution: isotropic}`` (:math:`\cos\theta`
uniform on ``[-1, 1]``).

Values are energies written as frequencies (``1 MHz``) or temperatures (``50 mK``), kept in Hz,
each within the energy range of :data:`sequences.quantity.RANGES`; weights are plain numbers
within its dimensionless range, so their sum is finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spin_echo.sequences.yamlio import MapNode, Node

__all__ = [
    "DISTRIBUTION_KEYS",
    "MAX_LOG_SIGMA",
    "Distribution",
    "Orientation",
    "parse_distribution",
    "parse_orientation",
]

#: Largest ``sigma`` of a lognormal distribution (standard deviation of the logarithm).
MAX_LOG_SIGMA = 5.0

#: Keys of each distribution kind (besides ``distribution``): (required, optional).
DISTRIBUTION_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fixed": (("value",), ()),
    "gaussian": (("mean", "width"), ()),
    "lognormal": (("median", "sigma"), ()),
    "uniform": (("low", "high"), ()),
    "list": (("values",), ("weights",)),
}


@dataclass(frozen=True)
class Distribution:
    """A distribution of an energy (Hz).

    Attributes
    ----------
    kind
        ``"fixed"``, ``"gaussian"``, ``"lognormal"``, ``"uniform"`` or ``"list"``.
    params
        The parameters in SI (Hz; ``sigma`` dimensionless): ``value``; ``mean``, ``width``;
        ``median``, ``sigma``; ``low``, ``high``.
    values, weights
        For ``list``: the values (Hz) and their probabilities (normalised to sum 1).
    """

    kind: str
    params: tuple[tuple[str, float], ...] = ()
    values: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()

    def param(self, name: str) -> float:
        """Return the parameter ``name`` (SI)."""
        return dict(self.params)[name]

    @property
    def has_density(self) -> bool:
        """True for the continuous kinds (gaussian, lognormal, uniform), which have a pdf."""
        return self.kind in ("gaussian", "lognormal", "uniform")

    @property
    def typical_hz(self) -> float:
        """A representative value: the value, mean, median, mid-point or weighted mean (Hz)."""
        p = dict(self.params)
        if self.kind == "fixed":
            return p["value"]
        if self.kind == "gaussian":
            return p["mean"]
        if self.kind == "lognormal":
            return p["median"]
        if self.kind == "uniform":
            return 0.5 * (p["low"] + p["high"])
        return float(np.dot(self.values, self.weights))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values (Hz)."""
        p = dict(self.params)
        if self.kind == "fixed":
            return np.full(n, p["value"])
        if self.kind == "gaussian":
            return p["mean"] + p["width"] * rng.standard_normal(n)
        if self.kind == "lognormal":
            return p["median"] * np.exp(p["sigma"] * rng.standard_normal(n))
        if self.kind == "uniform":
            return p["low"] + (p["high"] - p["low"]) * rng.random(n)
        idx = rng.choice(len(self.values), size=n, p=np.asarray(self.weights))
        return np.asarray(self.values)[idx]

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Return the log of the probability density at ``x`` (1/Hz); continuous kinds only."""
        p = dict(self.params)
        x = np.asarray(x, dtype=float)
        if self.kind == "gaussian":
            z = (x - p["mean"]) / p["width"]
            return -0.5 * z * z - math.log(p["width"] * math.sqrt(2.0 * math.pi))
        if self.kind == "lognormal":
            with np.errstate(divide="ignore", invalid="ignore"):
                z = (np.log(np.where(x > 0, x, 1.0)) - math.log(p["median"])) / p["sigma"]
                out = -0.5 * z * z - np.log(
                    np.where(x > 0, x, 1.0) * p["sigma"] * math.sqrt(2 * math.pi)
                )
            return np.where(x > 0, out, -np.inf)
        if self.kind == "uniform":
            inside = (x >= p["low"]) & (x < p["high"])
            return np.where(inside, -math.log(p["high"] - p["low"]), -np.inf)
        raise ValueError(f"a {self.kind} distribution has no density")


@dataclass(frozen=True)
class Orientation:
    """Orientation of the easy axis relative to the drive field.

    Attributes
    ----------
    isotropic
        True for an isotropic powder (cos(theta) uniform on [-1, 1]).
    theta_rad
        The fixed angle when not isotropic, radians.
    """

    isotropic: bool = False
    theta_rad: float = 0.0

    def sample_cos(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values of cos(theta)."""
        if self.isotropic:
            return rng.uniform(-1.0, 1.0, n)
        return np.full(n, math.cos(self.theta_rad))


def parse_distribution(node: Node, *, positive: bool = False) -> Distribution:
    """Read a distribution block (see the module docstring).

    Parameters
    ----------
    node
        The YAML mapping.
    positive
        Require every value the distribution can produce to be > 0 (tunnel splittings):
        allows ``fixed``/``list`` with positive values, ``lognormal``, and ``uniform`` with
        ``low > 0``.

    Raises
    ------
    InputError
        (the document's class) naming the key, for unknown kinds or keys and bad values.
    """
    block = node.as_map()
    kind_node = block["distribution"]
    kind = kind_node.as_str()
    if kind not in DISTRIBUTION_KEYS:
        raise kind_node.error(
            f"unknown distribution; expected one of {', '.join(DISTRIBUTION_KEYS)}"
        )
    required, optional = DISTRIBUTION_KEYS[kind]
    block.check_keys(("distribution", *required, *optional), required)
    if kind == "list":
        return _parse_list(block, positive)
    params: dict[str, float] = {}
    for key in required:
        if key == "sigma":
            params[key] = block[key].quantity("dimensionless", positive=True)
            if params[key] > MAX_LOG_SIGMA:
                raise block[key].error(f"must be at most {MAX_LOG_SIGMA:g}")
        elif key in ("width", "median"):
            params[key] = block[key].quantity("energy", positive=True)
        else:
            params[key] = block[key].quantity("energy", positive=positive)
    if kind == "uniform" and not params["high"] > params["low"]:
        raise block["high"].error("must be larger than 'low'")
    if positive and kind == "gaussian":
        raise kind_node.error("a gaussian can give negative values; use lognormal or uniform")
    return Distribution(kind, tuple(params.items()))


def _parse_list(block: MapNode, positive: bool) -> Distribution:
    values_node = block["values"].as_list()
    if len(values_node) == 0:
        raise values_node.error("must hold at least one value")
    values = tuple(item.quantity("energy", positive=positive) for item in values_node)
    weights_node = block.get("weights")
    if weights_node is None:
        weights = (1.0,) * len(values)
    else:
        items = weights_node.as_list()
        if len(items) != len(values):
            raise items.error(f"must have one weight per value ({len(values)})")
        weights = tuple(item.quantity("dimensionless", nonnegative=True) for item in items)
        if sum(weights) <= 0:
            raise items.error("weights must not all be zero")
    total = sum(weights)
    return Distribution("list", (), values, tuple(w / total for w in weights))


def parse_orientation(node: Node) -> Orientation:
    """Read an orientation block: ``{distribution: fixed, theta: X}`` or ``isotropic``."""
    block = node.as_map()
    kind_node = block["distribution"]
    kind = kind_node.as_str()
    if kind == "isotropic":
        block.check_keys(("distribution",))
        return Orientation(isotropic=True)
    if kind == "fixed":
        block.check_keys(("distribution", "theta"), ("theta",))
        return Orientation(theta_rad=block["theta"].quantity("angle"))
    raise kind_node.error("unknown orientation; expected 'fixed' (with theta) or 'isotropic'")
