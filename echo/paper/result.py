"""What one reproduced result of the paper is, and the helpers every part of it shares.

A :class:`PaperResult` holds, for one figure or equation of Prokof'ev & Stamp (1995), the
paper's formula, the convention used, a table of (quantity, paper, simulated, difference) rows,
how the error bars were obtained and the figure file; :mod:`spin_echo.echo.paper.report` writes
them into the
markdown report.  Error bars are standard errors of the mean over independent replicas of the
ensemble (:func:`replica_stats`): ``K`` ensembles drawn with seeds ``seed, seed + 1, ...``.

Verdicts (:func:`verdict`) follow the statistics: a claim is "reproduced" only when a one-sided
bound at :data:`CONFIDENCE` (Student t over the replicas) makes it so, "NOT reproduced" when the
opposite bound contradicts it, and "undecided" otherwise. "Present" needs the lower bound
above zero; "absent" needs the upper bound below a stated fraction of a reference value (by
default :data:`ABSENT_FRACTION` of the lambda = 0 value).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

from spin_echo.simulator import Ensemble, Sample, load_sample

__all__ = [
    "ABSENT_FRACTION",
    "CONFIDENCE",
    "REPLICAS",
    "PaperResult",
    "ReplicaStats",
    "load_paper_sample",
    "new_figure",
    "replica_stats",
    "save_figure",
    "t_quantile",
    "verdict",
    "z_scores",
]

#: Independent ensembles each statistical estimate is split into.
REPLICAS = 16
#: One-sided confidence of every verdict's bound.
CONFIDENCE = 0.95
#: "Absent" means below this fraction of the reference (lambda = 0) value.
ABSENT_FRACTION = 0.2


def t_quantile(replicas: int, confidence: float = CONFIDENCE) -> float:
    """Return the one-sided Student-t quantile for a mean over ``replicas`` (>= 2) values."""
    if replicas < 2:
        raise ValueError(f"a bound needs at least 2 replicas, got {replicas}")
    return float(stats.t.ppf(confidence, replicas - 1))


def verdict(
    value: tuple[float, float],
    replicas: int,
    *,
    claim: str,
    reference: tuple[float, float] | None = None,
    fraction: float = ABSENT_FRACTION,
) -> str:
    r"""Return the verdict on a claim about a mean over ``replicas`` independent replicas.

    Parameters
    ----------
    value
        (mean, standard error) of the simulated quantity.
    replicas
        Number of replicas behind the standard errors (Student t with ``replicas - 1``
        degrees of freedom, the fewer of the two when a reference is given).
    claim
        ``"present"``: reproduced when the lower bound :math:`\bar x - t\,s` is above zero,
        NOT reproduced when the upper bound is below ``fraction`` x the reference (or below
        zero without one). ``"absent"``: with :math:`d = \bar x - f\,\bar r` and
        :math:`s_d = (s_x^2 + f^2 s_r^2)^{1/2}`, reproduced when :math:`d + t\,s_d < 0` (the
        value is bounded below f times the reference), NOT reproduced when :math:`d - t\,s_d >
        0`.
    reference
        (mean, standard error) of the reference (lambda = 0) value; required for "absent".
    fraction
        The fraction f of the reference that "absent" must be below.

    Returns
    -------
    str
        ``"<bounds>: reproduced"``, ``"...: NOT reproduced"`` or ``"...: undecided"``, the
        bounds printed at :data:`CONFIDENCE`.
    """
    t = t_quantile(replicas)
    mean, error = value
    level = f"{100 * CONFIDENCE:.0f}%"
    if claim == "present":
        lower, upper = mean - t * error, mean + t * error
        floor = 0.0 if reference is None else fraction * reference[0]
        text = f"{level} bounds [{lower:.3g}, {upper:.3g}]"
        if lower > 0.0:
            return f"{text} > 0: reproduced"
        if upper < floor:
            return f"{text} < {floor:.3g}: NOT reproduced"
        return f"{text}: undecided"
    if claim != "absent":
        raise ValueError(f"claim must be 'present' or 'absent', got {claim!r}")
    if reference is None:
        raise ValueError("an 'absent' claim needs a reference value")
    ceiling = fraction * reference[0]
    spread = t * math.hypot(error, fraction * reference[1])
    text = f"{level} bounds [{mean - spread:.3g}, {mean + spread:.3g}] against {ceiling:.3g}"
    if mean + spread < ceiling:
        return f"{text}: reproduced"
    if mean - spread > ceiling:
        return f"{text}: NOT reproduced"
    return f"{text}: undecided"


@dataclass(frozen=True)
class PaperResult:
    """One result of the paper, reproduced.

    Attributes
    ----------
    key
        Short identifier (``"pt"``, ``"eq7"``, ``"fig1"``, ``"eq8"``, ``"echo"``).
    title
        Heading of the report section.
    formula
        The paper's formula (markdown).
    convention
        Which convention and units the comparison uses.
    rows
        ``(quantity, paper, simulated, difference)`` rows, already formatted.
    statistics
        Packet counts and how the error bars were obtained.
    figure
        File name of the figure (in the output directory).
    metrics
        The same comparisons as numbers, ``(name, value)`` (for JSON and tests).
    """

    key: str
    title: str
    formula: str
    convention: str
    rows: tuple[tuple[str, str, str, str], ...]
    statistics: str
    figure: str
    metrics: tuple[tuple[str, float], ...] = ()

    def metric(self, name: str) -> float:
        """Return the metric ``name``."""
        return dict(self.metrics)[name]


@dataclass(frozen=True)
class ReplicaStats:
    """Mean, standard error and smallest value of an estimate over independent replicas."""

    mean: np.ndarray
    error: np.ndarray
    minimum: np.ndarray
    replicas: int
    packets: int

    def part(self, start: int, stop: int | None = None) -> ReplicaStats:
        """Return the statistics of elements ``start:stop`` of the estimate."""
        cut = slice(start, stop)
        return ReplicaStats(
            self.mean[cut], self.error[cut], self.minimum[cut], self.replicas, self.packets
        )


def load_paper_sample(outdir: Path, text: str) -> Sample:
    """Write a sample's YAML ``text`` to ``outdir/samples/NAME.yaml`` and load it.

    The files stay in the output directory, so each figure can be re-run with
    ``spin-echo simulate ... --sample outdir/samples/NAME.yaml``.
    """
    folder = outdir / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    name = text.split("name:", 1)[1].split("\n", 1)[0].strip()
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_sample(path)


def replica_stats(
    sample: Sample,
    estimate: Callable[[Ensemble], np.ndarray],
    *,
    packets: int,
    seed: int,
    replicas: int = REPLICAS,
) -> ReplicaStats:
    """Evaluate ``estimate`` on independent ensembles; return its mean and standard error.

    Parameters
    ----------
    sample
        The sample whose ensembles are drawn (:meth:`simulator.Sample.ensemble`).
    estimate
        Function of one ensemble returning an array (the same shape for every ensemble).
    packets
        Total number of packets, split evenly over the replicas.
    seed
        Seed of the first replica; replica k uses ``seed + k``.
    replicas
        Number of replicas (at least 2).
    """
    per = max(1, packets // replicas)
    values = np.array(
        [estimate(sample.ensemble(packets=per, seed=seed + k)) for k in range(replicas)]
    )
    mean = values.mean(axis=0)
    error = values.std(axis=0, ddof=1) / math.sqrt(replicas)
    return ReplicaStats(mean, error, values.min(axis=0), replicas, per * replicas)


def z_scores(stats: ReplicaStats, reference: np.ndarray) -> np.ndarray:
    """Return ``(mean - reference) / error`` where the error is positive (elsewhere 0)."""
    diff = stats.mean - reference
    positive = stats.error > 0
    return np.where(positive, diff / np.where(positive, stats.error, 1.0), 0.0)


def new_figure(columns: int = 1, *, height: float = 3.6) -> tuple[Figure, list]:
    """Return a figure with ``columns`` side-by-side axes (Agg canvas, no pyplot state)."""
    fig = Figure(figsize=(5.2 * columns, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, columns, k + 1) for k in range(columns)]
    return fig, axes


def save_figure(fig: Figure, outdir: Path, name: str) -> str:
    """Write ``fig`` as ``outdir/name`` (PNG, 130 dpi) and return ``name``."""
    fig.savefig(outdir / name, dpi=130)
    return name
