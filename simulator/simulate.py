r"""``simulate``: a timeline on a sample, with everything the sample's environment does.

:func:`simulate` draws the sample's ensemble (:mod:`simulator.ensemble`), converts the
environment into relaxation rates and bias trajectories, and propagates
(:mod:`simulator.propagator`):

* ``relaxation: {T1, T2}``: Lindblad relaxation in each packet's eigenbasis;
* ``environment.electrons.alpha``: Ohmic damping
  :math:`\Gamma_s = 2\pi\alpha k_B T` (paper, after Eq. 10), added to :math:`\Gamma_2`
  (an Ohmic bath coupled to :math:`\tau_z` dephases the packet);
* ``environment.phonons``: the rate :math:`\Gamma_\phi` of paper Eq. (12) at the sample's
  typical :math:`\Delta_o`, added to :math:`\Gamma_1` (phonons flip the spin, exchanging the
  energy 2E) and, as :math:`\Gamma_\phi/2`, to :math:`\Gamma_2`;
* ``environment.spin_diffusion``: stochastic bias trajectories (:mod:`simulator.diffusion`).

The same ``(timeline, sample, seed, packets)`` gives the same result bit for bit.

``frame="rotating"`` (the default) uses the exact rotating-frame maps, whose only approximation
is the rotating-wave approximation (an error of order Rabi/carrier); ``frame="lab"`` propagates
the full lab-frame Hamiltonian with the carrier, as the virtual bench does with the sampled
waveform. Spin diffusion is implemented in the rotating frame only.
"""

from __future__ import annotations

from sequences.errors import InputError
from sequences.quantity import HZ_PER_K
from sequences.timeline import Timeline
from simulator.bloch import Relaxation
from simulator.diffusion import OrnsteinUhlenbeck, propagate_diffusing
from simulator.propagator import Observables, propagate, propagate_chunks
from simulator.sample import Sample

__all__ = ["FRAMES", "environment_rates", "simulate"]

#: The frames :func:`simulate` can work in.
FRAMES = ("rotating", "lab")


def environment_rates(sample: Sample) -> tuple[float, float]:
    """Return the extra (population, coherence) rates in 1/s from electrons and phonons.

    Uses :func:`simulator.decoherence.ohmic_damping_rate_hz` and
    :func:`simulator.decoherence.phonon_rate_hz` (paper Eqs. 10-12).
    """
    extra1 = extra2 = 0.0
    if sample.electron_alpha is not None:
        from simulator.decoherence import ohmic_damping_rate_hz

        extra2 += ohmic_damping_rate_hz(sample.electron_alpha, sample.temperature_k)
    if sample.phonons is not None:
        from simulator.decoherence import phonon_rate_hz

        rate = phonon_rate_hz(
            sample.tunnel_splitting.typical_hz,
            sample.omega0_big_hz,
            sample.phonons.debye_temperature_k,
            sample.phonons.anisotropy_hz / HZ_PER_K,
            sample.spin,
            sample.temperature_k,
        )
        extra1 += rate
    return extra1, extra2


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
        Seed of the ensemble and of the bias trajectories; the sample's seed when None.
    packets
        Number of packets; the sample's when None.
    frame
        ``"rotating"`` (rotating-wave approximation, fast) or ``"lab"`` (exact, with the
        carrier; not with spin diffusion).

    Returns
    -------
    Observables
        Signal and m_z at the detection times, normalised by the total weight.

    Raises
    ------
    InputError
        For an unknown frame, or the lab frame with spin diffusion.
    """
    if frame not in FRAMES:
        raise InputError(f"must be one of {', '.join(FRAMES)}", key="frame", value=frame)
    if frame == "lab" and sample.diffusion is not None:
        raise InputError(
            "spin diffusion is simulated in the rotating frame only; use the rotating frame "
            "or remove environment.spin_diffusion",
            key="frame",
            value=frame,
        )
    seed = sample.seed if seed is None else seed
    ensemble = sample.ensemble(packets=packets, seed=seed)
    extra1, extra2 = environment_rates(sample)
    relax = Relaxation.from_times(sample.t1_s, sample.t2_s, extra1=extra1, extra2=extra2)
    if frame == "lab":
        return propagate(
            timeline,
            ensemble,
            t1_s=1.0 / relax.gamma1 if relax.gamma1 > 0 else None,
            t2_s=1.0 / relax.gamma2 if relax.gamma2 > 0 else None,
            temperature_k=sample.temperature_k,
            frame="lab",
        )
    if sample.diffusion is None:
        return propagate_chunks(timeline, ensemble, relax, sample.temperature_k)
    process = OrnsteinUhlenbeck(sample.diffusion.t2_s, sample.diffusion.width_hz)
    return propagate_diffusing(
        timeline, ensemble, relax, sample.temperature_k, process, seed=int(seed)
    )
