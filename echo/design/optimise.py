r"""The best protocol for a time budget: bounded search over the ``--vary`` parameters.

What can vary and its bounds: :mod:`spin_echo.echo.design.knobs`.

Figures of merit, per unit time (SNR grows as :math:`\sqrt{\text{shots}}`, errors fall as
:math:`1/\sqrt{\text{shots}}`, time grows as shots): without a target, maximise the best
point's SNR reached in the budget, :math:`\mathrm{SNR}\sqrt{T_\mathrm{budget}/T}`; with a
target key, minimise its predicted standard error in the budget,
:math:`\sigma_\theta\sqrt{T/T_\mathrm{budget}}` (:mod:`spin_echo.echo.design.fisher`). The
budget defaults to the protocol's own measuring time; the chosen protocol gets the whole
number of shots that fits in it.

Search: every simulation uses the same seed and packets (common random numbers), so the
objective is a deterministic, smooth function of the parameters. Along one parameter: a grid
of 9 points over the bounds (log-spaced for positive bounds), then
:func:`scipy.optimize.minimize_scalar` (bounded) between the neighbours of the best grid point.
Several parameters: the same along each in turn, twice (cyclic coordinate search), each pass
from the best so far.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from spin_echo.drivers.bench import check_protocol_fits
from spin_echo.drivers.config import BenchSpec
from spin_echo.echo.design.knobs import Knob, apply_knobs, knob_values, with_shots
from spin_echo.echo.design.predict import measuring_time_s
from spin_echo.sequences.errors import InputError
from spin_echo.sequences.protocol import Protocol

__all__ = [
    "GRID_POINTS",
    "Candidate",
    "Figures",
    "Optimisation",
    "optimise",
    "shots_in_budget",
]

#: Grid points along a parameter before the bounded refinement.
GRID_POINTS = 9


def shots_in_budget(protocol: Protocol, budget_s: float) -> int:
    """Return the whole number of shots per phase step and point that fits in ``budget_s``."""
    return math.floor(budget_s / measuring_time_s(protocol, shots=1) * (1 + 1e-12))


@dataclass(frozen=True)
class Figures:
    """What a protocol gives at its own shots (the caller's evaluation).

    Attributes
    ----------
    snr
        Best point's SNR (NaN when not computed).
    error
        Predicted standard error of the target (NaN without one).
    """

    snr: float
    error: float


@dataclass(frozen=True)
class Candidate:
    """One evaluated protocol, its figures scaled to the budget.

    Attributes
    ----------
    values
        The knobs' values, SI.
    protocol
        The protocol (None when infeasible).
    snr, error
        Best point's SNR and the target's predicted error in the budget (NaN: not computed).
    time_s
        Measuring time of the protocol as it would run in the budget (whole shots).
    reason
        Why the candidate is infeasible (empty when feasible).
    """

    values: dict[str, float]
    protocol: Protocol | None
    snr: float = float("nan")
    error: float = float("nan")
    time_s: float = float("nan")
    reason: str = ""

    def score(self, target: bool) -> float:
        """Return the minimised quantity: the error, or minus the SNR (inf when infeasible)."""
        value = self.error if target else -self.snr
        return float(value) if self.protocol is not None and np.isfinite(value) else np.inf


@dataclass
class Optimisation:
    """Result of :func:`optimise`.

    Attributes
    ----------
    knobs
        The varied quantities.
    target
        The target key (None: SNR per unit time).
    budget_s
        The time budget.
    start
        The protocol as written, in the budget.
    best
        The chosen protocol, with the whole number of shots that fits in the budget.
    history
        Every candidate evaluated, in order.
    scans
        Per searched knob, the candidates of its first line search (grid and refinement,
        the other knobs fixed): the figure's curves.
    at_bound
        Knobs whose best grid point was at an end of their range in the last pass (the
        optimum may lie beyond: widen the range).
    """

    knobs: tuple[Knob, ...]
    target: str | None
    budget_s: float
    start: Candidate
    best: Candidate
    history: list[Candidate] = field(default_factory=list)
    scans: dict[str, list[Candidate]] = field(default_factory=dict)
    at_bound: list[str] = field(default_factory=list)


def optimise(
    protocol: Protocol,
    knobs: Sequence[Knob],
    evaluate: Callable[[Protocol], Figures],
    *,
    bench: BenchSpec,
    target: str | None = None,
    budget_s: float | None = None,
    passes: int = 2,
) -> Optimisation:
    """Search the knobs' bounds for the best protocol in the budget (module docstring).

    Parameters
    ----------
    protocol
        The protocol as written (the start).
    knobs
        What varies (:func:`parse_vary`).
    evaluate
        Returns the :class:`Figures` of a protocol at its own shots: the SNR (maximised without
        a target) or the target's predicted error (minimised).
    bench
        The bench (every candidate must fit its AWG).
    target
        The target key, or None to maximise the SNR.
    budget_s
        Time budget, seconds (default: the protocol's measuring time).
    passes
        Cyclic passes over several knobs.

    Returns
    -------
    Optimisation
        Start, best and every candidate.

    Raises
    ------
    InputError
        ``key="--budget"``: a budget shorter than one shot of every phase step and point of
        the protocol as written.
    """
    if budget_s is None:
        budget_s = measuring_time_s(protocol)
    one_shot = measuring_time_s(protocol, shots=1)
    if not (np.isfinite(budget_s) and budget_s >= one_shot * (1 - 1e-12)):
        raise InputError(
            f"is shorter than one shot of every phase step and sweep point of "
            f"{protocol.name!r} ({one_shot:.6g} s)",
            key="--budget",
            value=f"{budget_s:.6g} s",
        )
    history: list[Candidate] = []
    cache: dict[tuple, Candidate] = {}
    scan: list[Candidate] = []

    def candidate(values: dict[str, float]) -> Candidate:
        values = {k: float(f"{v:.6g}") for k, v in values.items()}  # as the protocol writes it
        key = tuple(sorted(values.items()))
        if key not in cache:
            cache[key] = _evaluated(protocol, values, knobs, evaluate, bench, budget_s)
            history.append(cache[key])
        scan.append(cache[key])
        return cache[key]

    is_target = target is not None
    current = {knob.name: knob.start for knob in knobs if knob.searched}
    start = candidate(dict(current))
    best = start
    searched = [knob for knob in knobs if knob.searched]
    scans: dict[str, list[Candidate]] = {}
    edges: dict[str, bool] = {}
    for _ in range(passes if len(searched) > 1 else 1):
        for knob in searched:
            scan.clear()
            best, edge = _line_search(knob, best, current, candidate, is_target)
            scans.setdefault(knob.name, list(scan))
            edges[knob.name] = edge
            current = dict(best.values)
    best = _best_in_range(best, history, searched, is_target)
    return Optimisation(
        tuple(knobs),
        target,
        float(budget_s),
        _in_budget(start, budget_s),
        _in_budget(best, budget_s),
        history,
        scans,
        [name for name, edge in edges.items() if edge],
    )


def _best_in_range(
    best: Candidate, history: list[Candidate], knobs: Sequence[Knob], is_target: bool
) -> Candidate:
    """Return ``best`` if its values lie in the knobs' ranges, else the best that does.

    The search starts from the protocol as written, which may lie outside the ranges given:
    it is never "chosen" from there.

    Raises
    ------
    InputError
        ``key="--vary"``: no protocol within the ranges could be evaluated (each reason).
    """

    def inside(candidate: Candidate) -> bool:
        return all(
            k.lower * (1 - 1e-9) <= candidate.values[k.name] <= k.upper * (1 + 1e-9)
            if k.lower >= 0
            else k.lower <= candidate.values[k.name] <= k.upper
            for k in knobs
        )

    if inside(best):
        return best
    ranged = [c for c in history if inside(c) and np.isfinite(c.score(is_target))]
    if not ranged:
        reasons = sorted({c.reason for c in history if inside(c) and c.reason})
        ranges = ", ".join(f"{k.name}={k.lower:.6g}:{k.upper:.6g}" for k in knobs)
        raise InputError(
            f"no protocol in the range{'s' if len(knobs) > 1 else ''} {ranges} can be evaluated "
            f"on this bench ({len(history)} tried): " + ("; ".join(reasons[:3]) or "none"),
            key="--vary",
        )
    return min(ranged, key=lambda c: c.score(is_target))


def _evaluated(
    protocol: Protocol,
    values: dict[str, float],
    knobs: Sequence[Knob],
    evaluate: Callable[[Protocol], Figures],
    bench: BenchSpec,
    budget_s: float,
) -> Candidate:
    """Build, check and evaluate one candidate (infeasible: its reason, nothing simulated)."""
    try:
        trial = apply_knobs(protocol, values, knobs) if values else protocol
        check_protocol_fits(bench, trial)
    except InputError as err:
        return Candidate(values, None, reason=str(err))
    if shots_in_budget(trial, budget_s) < 1:
        return Candidate(values, None, reason="one shot exceeds the budget")
    figures = evaluate(trial)
    per_time = math.sqrt(budget_s / measuring_time_s(trial))
    actual = knob_values(trial, knobs)  # sweep ends on the carrier grid, as it will run
    return Candidate(
        {name: actual[name] for name in values},
        trial,
        snr=figures.snr * per_time,
        error=figures.error / per_time,
        time_s=budget_s,
    )


def _line_search(
    knob: Knob,
    best: Candidate,
    current: dict[str, float],
    candidate: Callable[[dict[str, float]], Candidate],
    is_target: bool,
) -> tuple[Candidate, bool]:
    """Grid, then bounded refinement, along one knob from ``current``.

    Returns the best candidate so far and whether the grid's best was at an end of the range.
    """
    log = knob.lower > 0
    grid = (
        np.geomspace(knob.lower, knob.upper, GRID_POINTS)
        if log
        else np.linspace(knob.lower, knob.upper, GRID_POINTS)
    )
    results = [candidate({**current, knob.name: float(x)}) for x in grid]
    scores = np.array([c.score(is_target) for c in results])
    if not np.isfinite(scores).any():
        return best, False
    i = int(np.argmin(scores))
    edge = i in (0, len(grid) - 1)
    if results[i].score(is_target) < best.score(is_target):
        best = results[i]
    low, high = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    to_x = np.log if log else (lambda v: v)
    from_x = np.exp if log else (lambda v: v)

    def objective(x: float) -> float:
        score = candidate({**current, knob.name: float(from_x(x))}).score(is_target)
        return score if np.isfinite(score) else 1e300

    refined = minimize_scalar(
        objective,
        bounds=(float(to_x(low)), float(to_x(high))),
        method="bounded",
        options={"xatol": 1e-3 if log else 1e-3 * (high - low), "maxiter": 12},
    )
    found = candidate({**current, knob.name: float(from_x(refined.x))})
    return (found if found.score(is_target) < best.score(is_target) else best), edge


def _in_budget(found: Candidate, budget_s: float) -> Candidate:
    """Return the candidate with the whole number of shots that fits in the budget."""
    if found.protocol is None:
        return found
    protocol = with_shots(found.protocol, shots_in_budget(found.protocol, budget_s))
    time_s = measuring_time_s(protocol)
    factor = math.sqrt(time_s / budget_s)
    return Candidate(
        found.values, protocol, found.snr * factor, found.error / factor, time_s, found.reason
    )
