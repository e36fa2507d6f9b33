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
* ``environment.spin_diffusion``: stochastic bias trajectories (:mod:`simulator.diffusion`);
* ``environment.nuclear.dynamic``: the nuclear channel :math:`(M, y, \varphi)` of every packet
  is redrawn at the start of every pulse after the first (:mod:`simulator.bath`; a pulse is a
  run of consecutive driven segments), so its :math:`\delta` and :math:`\epsilon` change
  between timeline pieces as the spin-diffusion bias does. State convention at the change,
  that of :mod:`simulator.diffusion`: each packet's state is carried in its instantaneous
  eigenbasis (the eigenbasis components m and z are kept; the frame, the coupling, the
  thermal equilibrium and the transition frequency 2E follow the new values). The redraws
  come from one generator seeded by ``(seed, 3)`` over the whole ensemble, so the result does
  not depend on chunking or threads. Rotating frame only, not with spin diffusion. With
  :math:`\lambda = \lambda'` the only channel is M = 0 and the redraw leaves every packet as
  it was: the result equals the static one bit for bit.

The same ``(timeline, sample, seed, packets)`` gives the same result bit for bit.

``frame="rotating"`` (the default) uses the exact rotating-frame maps, whose only approximation
is the rotating-wave approximation (an error of order Rabi/carrier); ``frame="lab"`` propagates
the full lab-frame Hamiltonian with the carrier, as the virtual bench does with the sampled
waveform. Spin diffusion is implemented in the rotating frame only.
"""

from __future__ import annotations

import numpy as np

from spin_echo.sequences.errors import InputError
from spin_echo.sequences.quantity import HZ_PER_K
from spin_echo.sequences.timeline import Timeline
from spin_echo.simulator import kernels
from spin_echo.simulator.bath import channel_base, redraw_channels
from spin_echo.simulator.bloch import PacketFrame, Relaxation, free_evolve
from spin_echo.simulator.diffusion import OrnsteinUhlenbeck, propagate_diffusing
from spin_echo.simulator.ensemble import Ensemble
from spin_echo.simulator.propagator import (
    KERNEL_CHUNK,
    Observables,
    _Accumulator,
    _driven,
    _free_run,
    _runs_by_segment,
    propagate,
    propagate_chunks,
)
from spin_echo.simulator.sample import Sample

__all__ = ["FRAMES", "environment_rates", "flip_segments", "propagate_dynamic", "simulate"]

#: The frames :func:`simulate` can work in.
FRAMES = ("rotating", "lab")


def environment_rates(sample: Sample) -> tuple[float, float]:
    """Return the extra (population, coherence) rates in 1/s from electrons and phonons.

    Uses :func:`simulator.decoherence.ohmic_damping_rate_hz` and
    :func:`simulator.decoherence.phonon_rate_hz` (paper Eqs. 10-12).
    """
    extra1 = extra2 = 0.0
    if sample.electron_alpha is not None:
        from spin_echo.simulator.decoherence import ohmic_damping_rate_hz

        extra2 += ohmic_damping_rate_hz(sample.electron_alpha, sample.temperature_k)
    if sample.phonons is not None:
        from spin_echo.simulator.decoherence import phonon_rate_hz

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
    dynamic = sample.nuclear is not None and sample.nuclear.dynamic
    if dynamic and (frame == "lab" or sample.diffusion is not None):
        raise InputError(
            "a dynamic nuclear bath is simulated in the rotating frame without spin diffusion",
            key="environment.nuclear.dynamic",
            value="true",
        )
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
    if dynamic:
        return propagate_dynamic(timeline, sample, ensemble, relax, seed=int(seed))
    if sample.diffusion is None:
        return propagate_chunks(timeline, ensemble, relax, sample.temperature_k)
    process = OrnsteinUhlenbeck(sample.diffusion.t2_s, sample.diffusion.width_hz)
    return propagate_diffusing(
        timeline, ensemble, relax, sample.temperature_k, process, seed=int(seed)
    )


def flip_segments(timeline: Timeline) -> list[int]:
    """Return the driven segments that start a pulse, after the first pulse (flip events)."""
    driven = [float(r) != 0.0 for r in timeline.rabi_hz]
    starts = [k for k, on in enumerate(driven) if on and (k == 0 or not driven[k - 1])]
    return starts[1:]


def propagate_dynamic(
    timeline: Timeline,
    sample: Sample,
    ensemble: Ensemble,
    relax: Relaxation,
    *,
    seed: int,
    chunk: int = KERNEL_CHUNK,
) -> Observables:
    """Rotating-frame propagation with the channel redrawn at every flip (module docstring).

    ``ensemble`` is ``sample.ensemble(packets=len(ensemble), seed=seed)``. The maps are those
    of :func:`simulator.propagator.propagate_chunks`; only the packets' ``delta_hz`` and
    ``epsilon_hz`` change at the segments of :func:`flip_segments`.
    """
    bath = sample.nuclear
    assert bath is not None
    delta0, base = channel_base(sample, ensemble, seed)
    rng = np.random.default_rng([seed, 3])
    draws = {
        k: redraw_channels(rng, delta0, base, bath, sample.spin) for k in flip_segments(timeline)
    }
    runs = _runs_by_segment(timeline)
    points = len(timeline.detect_times_s)
    fc = timeline.carrier_hz
    total = _Accumulator(points)
    with (
        kernels.backend_for(len(ensemble) * (len(timeline.start_s) + points)),
        kernels.blas_single_thread(),
    ):
        for start in range(0, len(ensemble), chunk):
            part = ensemble.chunk(start, start + chunk)
            cut = slice(start, start + len(part))
            acc = _Accumulator(points)
            frame = PacketFrame.build(part, sample.temperature_k)
            m, z = np.zeros(len(part), dtype=complex), frame.z_eq.copy()
            for k in range(len(timeline.start_s)):
                t_k, d_k = float(timeline.start_s[k]), float(timeline.duration_s[k])
                if k in draws:
                    delta, epsilon = draws[k]
                    part = Ensemble(
                        delta[cut], epsilon[cut], part.cos_theta, part.weight,
                        part.channel_weight, part.total_weight,
                    )  # fmt: skip
                    frame = PacketFrame.build(part, sample.temperature_k)
                if timeline.rabi_hz[k] == 0.0:
                    for run in runs.get(k, ()):
                        _free_run(acc, run, frame, relax, m, z, t_k, fc)
                    m, z = free_evolve(m, z, frame, relax, d_k, fc)
                    continue
                apply = _driven(frame, relax, timeline, k)
                for run in runs.get(k, ()):
                    for j in range(run.count):
                        tau = run.first_s + j * run.spacing_s - t_k
                        acc.point(run.offset + j, frame, *apply(m, z, tau))
                m, z = apply(m, z, d_k)
            total.add(acc)
    return total.observables(timeline.detect_times_s, ensemble.norm)
