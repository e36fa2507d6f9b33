r"""The verdict on a prediction: detectable or not, and the shots and time it would take.

Criterion: the echo is *detectable* when the signal-to-noise ratio of the integrated echo is at
least :data:`SNR_DETECTABLE` = 3 at the best sweep point (a 3-sigma echo at one point; the
fit of a decay needs more). The noise of the integrated echo falls as
:math:`1/\sqrt{n}` with the shots :math:`n` per phase step, so the shots needed are
:math:`n_3 = \lceil n\,(3/\mathrm{SNR})^2 \rceil` and the time needed
:func:`~spin_echo.echo.design.predict.measuring_time_s` with them.

When the simulated echo at the best point is below twice its own Monte-Carlo error the
simulation does not resolve it: the shots needed are then computed from the upper bound
:math:`|s| + 2\,\mathrm{sem}` and are a lower bound (``shots_needed_is_lower_bound``); more
packets would tighten it. An echo the simulation does not resolve is never called detectable.

Hole burning (the analysis divides the pump-on echo by a pump-off reference): the verdict is on
the hole depth :math:`d = |s_\mathrm{off}| - |s_\mathrm{on}|` at the best probe offset against
the noise of a difference of two points, :math:`\sqrt{2}\,\sigma`, with the reference taken
from the protocol's pump-off row, or simulated with the pump amplitude set to zero when the
protocol has none (its time then counts the reference row too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spin_echo.echo.design.predict import Prediction, measuring_time_s

__all__ = ["SNR_DETECTABLE", "HoleDepth", "Verdict", "shots_for_snr", "verdict"]

#: The SNR of the integrated echo at the best point that counts as detectable.
SNR_DETECTABLE = 3.0


@dataclass(frozen=True)
class HoleDepth:
    r"""The hole depth against the pump-off reference, per probe point.

    Attributes
    ----------
    depth, depth_sem
        :math:`|s_\mathrm{off}| - |s_\mathrm{on}|` and its Monte-Carlo error, per probe point.
    noise
        Standard deviation of one depth on the bench, :math:`\sqrt{2}\,\sigma`.
    snr
        ``|depth| / noise`` per probe point.
    reference
        Where the pump-off reference comes from.
    time_s
        Measuring time including the reference.
    """

    depth: np.ndarray
    depth_sem: np.ndarray
    noise: float
    snr: np.ndarray
    reference: str
    time_s: float


@dataclass(frozen=True)
class Verdict:
    """Detectable or not, and what it takes.

    Attributes
    ----------
    detectable
        ``snr >= SNR_DETECTABLE`` at the best point.
    snr
        The best point's SNR (of the hole depth for hole burning).
    best
        Index (C order) of the best point.
    shots_needed
        Shots per phase step for SNR = 3 at the best point.
    shots_needed_is_lower_bound
        The simulation does not resolve the echo (see the module docstring).
    time_needed_s
        Measuring time with ``shots_needed``.
    criterion
        The criterion, in words.
    quantity
        ``"integrated echo"`` or ``"hole depth"``.
    """

    detectable: bool
    snr: float
    best: int
    shots_needed: int
    shots_needed_is_lower_bound: bool
    time_needed_s: float
    criterion: str
    quantity: str

    @property
    def word(self) -> str:
        """``"detectable"`` or ``"not detectable"``."""
        return "detectable" if self.detectable else "not detectable"


def shots_for_snr(snr: float, shots: int, target: float = SNR_DETECTABLE) -> int:
    r"""Return the shots per phase step that bring ``snr`` (at ``shots``) to ``target``.

    Parameters
    ----------
    snr
        The SNR with ``shots`` shots (> 0).
    shots
        Shots it was computed for.
    target
        The SNR wanted.

    Returns
    -------
    int
        :math:`\lceil n\,(t/\mathrm{SNR})^2 \rceil`, at least 1 (a huge number for SNR 0).
    """
    if not snr > 0:
        return 2**63 - 1
    if math.isinf(snr):
        return 1
    needed = shots * (target / snr) ** 2
    return max(1, min(2**63 - 1, math.ceil(needed * (1 - 1e-12))))


def verdict(prediction: Prediction, hole: HoleDepth | None = None) -> Verdict:
    """Return the verdict on ``prediction`` (on ``hole`` for hole burning).

    Parameters
    ----------
    prediction
        From :func:`spin_echo.echo.design.predict.predict`.
    hole
        The hole depth (:func:`spin_echo.echo.design.hole.hole_depth`), for hole burning.

    Returns
    -------
    Verdict
        See the module docstring for the criterion.
    """
    protocol = prediction.protocol
    if hole is not None:
        snr = np.asarray(hole.snr)
        best = int(np.argmax(snr))
        signal, sem, noise = abs(float(hole.depth[best])), float(hole.depth_sem[best]), hole.noise
        quantity, time_scale = "hole depth", hole.time_s / max(prediction.time_s, 1e-300)
    else:
        snrs = [point.snr for point in prediction.points]
        best = int(np.argmax(snrs))
        point = prediction.points[best]
        signal, sem, noise = abs(point.signal), point.signal_sem, point.noise
        quantity, time_scale = "integrated echo", 1.0
    unresolved = signal < 2.0 * sem
    bound = signal + 2.0 * sem if unresolved else signal
    best_snr = signal / noise if noise > 0 else math.inf
    shots = shots_for_snr(bound / noise if noise > 0 else math.inf, protocol.shots)
    criterion = (
        f"SNR of the {quantity} >= {SNR_DETECTABLE:g} at the best sweep point "
        f"(noise of the {quantity} for {protocol.shots} shots x "
        f"{len(protocol.phase_cycle)} phase steps)"
    )
    return Verdict(
        detectable=bool(best_snr >= SNR_DETECTABLE) and not unresolved,
        snr=float(best_snr),
        best=best,
        shots_needed=shots,
        shots_needed_is_lower_bound=bool(unresolved),
        time_needed_s=measuring_time_s(protocol, shots=shots) * time_scale,
        criterion=criterion,
        quantity=quantity,
    )
