"""``simulate``: a timeline on a sample, with everything the sample's environment does.

A thin function over :class:`simulator.simulation.Simulation` (as QuTiP's ``mesolve`` over
``MESolver``): it prepares the sample's packets and propagates one timeline. To propagate
several timelines through the same packets, build the :class:`Simulation` once. What the
environment does, the seed rule and the frames are described in :mod:`simulator.simulation`.

The same ``(timeline, sample, seed, packets, frame)`` gives the same result bit for bit.
"""

from __future__ import annotations

from spin_echo.sequences.timeline import Timeline
from spin_echo.simulator.detection import Observables
from spin_echo.simulator.environment import FRAMES, environment_rates, flip_segments
from spin_echo.simulator.sample import Sample
from spin_echo.simulator.simulation import Simulation

__all__ = ["FRAMES", "environment_rates", "flip_segments", "simulate"]


def simulate(
    timeline: Timeline,
    sample: Sample,
    *,
    seed: int | None = None,
    packets: int | None = None,
    frame: str = "rotating",
) -> Observables:
    """Simulate ``timeline`` on ``sample``: ensemble, relaxation, diffusion, environment rates.

    Parameters
    ----------
    timeline
        The compiled protocol.
    sample
        The sample.
    seed
        Seed of the ensemble and of the stochastic environments; the sample's seed when None.
    packets
        Number of packets; the sample's when None.
    frame
        ``"rotating"`` (rotating-wave approximation, fast) or ``"lab"`` (exact, with the
        carrier; not with spin diffusion or a dynamic bath).

    Returns
    -------
    Observables
        Signal and m_z at the detection times, normalised by the total weight.

    Raises
    ------
    InputError
        For an unknown frame, or a frame that cannot carry the sample's environment.
    """
    return Simulation(sample, seed=seed, packets=packets, frame=frame).run(timeline)
