r"""Lab-frame propagation of a sampled AWG waveform: the virtual bench's physics, exactly.

A :class:`~sequences.timeline.Waveform` held sample by sample (zero-order hold, :math:`b =`
``sample`` :math:`\times` ``full_scale_rabi_hz``) *is* piecewise constant: every sample is one
exact map (rotation and relaxation in the packet's eigenbasis, :mod:`simulator.bloch`), so the
result is exact. Runs of at least :data:`simulator.lab.frame.MIN_FREE_SAMPLES` zero samples are
free evolution, evaluated at every sample time by power sums; driven runs go through
:func:`simulator.kernels.sampled_run`.

A caller that wants :math:`M_z` from a given sample on only (the virtual detector records a
window) passes ``first_sample``: before it, free runs are one closed-form step and a driven run
is one map per packet (:func:`driven_map`, the product of its samples' exact maps), kept in a
:class:`~simulator.lab.memo.MapMemo` so that the same pulse in the next waveform (another phase
step or sweep point) costs a lookup. The maps are products of the same exact maps, so the two
ways agree to rounding (measured in ``tests/simulator/test_lab.py``).

:func:`propagate_sampled_pieces` carries the state through pieces of a waveform between which
the packets change (spin diffusion, the dynamic nuclear bath:
:meth:`simulator.simulation.Simulation.run_waveform`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from functools import partial

import numpy as np

from spin_echo.sequences.timeline import Waveform
from spin_echo.simulator import kernels
from spin_echo.simulator.bloch import PacketFrame, Relaxation, free_evolve, rotate_relax
from spin_echo.simulator.detection import KERNEL_CHUNK, map_chunks
from spin_echo.simulator.diffusion import OrnsteinUhlenbeck
from spin_echo.simulator.ensemble import Ensemble
from spin_echo.simulator.lab.drive import lab_field
from spin_echo.simulator.lab.frame import MIN_FREE_SAMPLES
from spin_echo.simulator.lab.maps import apply
from spin_echo.simulator.lab.memo import SHARED_MAPS, MapMemo

__all__ = [
    "diffusion_pieces",
    "driven_map",
    "propagate_sampled",
    "propagate_sampled_pieces",
    "sampled_piece",
    "sampled_work",
    "zero_runs",
]

TWO_PI = 2.0 * np.pi


def zero_runs(samples: np.ndarray) -> list[tuple[int, int, bool]]:
    """Split sample indices into runs ``(start, stop, is_zero)``.

    Zero runs shorter than :data:`simulator.lab.frame.MIN_FREE_SAMPLES` stay in the driven runs
    around them (a zero sample is an exact map like any other; a separate power sum would cost
    more).
    """
    zero = samples == 0.0
    edges = np.flatnonzero(np.diff(zero.astype(np.int8))) + 1
    bounds = np.concatenate([[0], edges, [len(samples)]])
    runs: list[tuple[int, int, bool]] = []
    for a, b in itertools.pairwise(bounds):
        free = bool(zero[a]) and b - a >= MIN_FREE_SAMPLES
        if runs and not free and not runs[-1][2]:
            runs[-1] = (runs[-1][0], int(b), False)
        else:
            runs.append((int(a), int(b), free))
    return runs


def driven_map(
    frame: PacketFrame, relax: Relaxation, drive_hz: np.ndarray, dt_s: float
) -> np.ndarray:
    """Return the affine map ``(3, 4, packets)`` of holding each drive value for ``dt_s`` in turn.

    The map is read off the exact per-sample propagation (:func:`simulator.kernels.sampled_run`
    or :func:`simulator.bloch.rotate_relax`) of four states per packet, the unit vectors and
    the origin: the origin goes to the map's offset, unit vector j to column j plus the offset.
    """
    n = len(frame.energy_hz)
    tiled = PacketFrame(
        *(np.tile(v, 4) for v in (frame.energy_hz, frame.cos_eta, frame.sin_eta,
                                  frame.coupling, frame.weight, frame.z_eq)),
        0.0,
    )  # fmt: skip
    ones, zeros = np.ones(n), np.zeros(n)
    m = np.concatenate([ones, 1j * ones, zeros, zeros])
    z = np.concatenate([zeros, zeros, ones, zeros])
    m, z = _driven_run(tiled, relax, np.asarray(drive_hz, dtype=float), dt_s, m, z, None)
    x, y, z = (v.reshape(4, n) for v in (m.real, m.imag, z))
    out = np.empty((3, 4, n))
    for i, v in enumerate((x, y, z)):
        out[i, :3] = v[:3] - v[3]
        out[i, 3] = v[3]
    return out


def _driven_run(
    frame: PacketFrame,
    relax: Relaxation,
    drive: np.ndarray,
    dt: float,
    m: np.ndarray,
    z: np.ndarray,
    out: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply one exact map per drive sample; add the M_z sums before each to ``out`` if given."""
    transverse, longitudinal = frame.coupling * frame.sin_eta, frame.coupling * frame.cos_eta
    along, across = frame.weight * longitudinal, frame.weight * transverse
    if out is not None:
        out += frame.mz_eq
    if relax.isotropic:
        packet = (frame.energy_hz, transverse, longitudinal, frame.z_eq)
        sums = np.zeros(len(drive)) if out is None else out
        return kernels.sampled_run(m, z, packet, (along, across), drive, dt, relax.gamma1, sums)
    for k, b in enumerate(drive):
        if out is not None:
            out[k] += kernels.dot(along, z - frame.z_eq) - kernels.dot(across, m.real)
        m, z = rotate_relax(m, z, lab_field(frame, b), relax, frame.z_eq, dt)
    return m, z


def propagate_sampled(
    waveform: Waveform,
    ensemble: Ensemble,
    *,
    t1_s: float | None = None,
    t2_s: float | None = None,
    temperature_k: float = 0.0,
    chunk: int = KERNEL_CHUNK,
    threads: int | None = None,
    first_sample: int = 0,
    map_memo: MapMemo | None = None,
) -> np.ndarray:
    r"""Lab-frame ensemble :math:`M_z` at every sample time of an AWG waveform, exactly.

    Sample k holds :math:`b = ` ``samples[k] * full_scale_rabi_hz`` on
    :math:`[k, k+1)/f_s`; each sample is one exact Bloch map (rotation and relaxation in the
    packet's eigenbasis), zero runs are free evolution.

    Parameters
    ----------
    waveform
        The sampled drive.
    ensemble
        Packets.
    t1_s, t2_s, temperature_k
        Relaxation and temperature, as in :func:`simulator.propagator.propagate`.
    chunk
        Packets processed together.
    threads
        Chunks propagated at once (:func:`simulator.kernels.default_threads` when None); the
        result is the same bit for bit whatever the number.
    first_sample
        First sample time whose :math:`M_z` is wanted: the entries before it are zero, and
        the driven runs before it are whole-run maps (module docstring).
    map_memo
        Where those maps are kept (:data:`simulator.lab.memo.SHARED_MAPS` when None).

    Returns
    -------
    numpy.ndarray
        :math:`M_z(t_k) = \sum_p w_p\cos\theta_p\langle\tau_z\rangle_p/W` at
        :math:`t_k = k/f_s` (before sample k acts), one value per sample.
    """
    relax = Relaxation.from_times(t1_s, t2_s)
    samples = np.asarray(waveform.samples, dtype=float)
    runs = zero_runs(samples)
    first_sample = min(max(0, int(first_sample)), len(samples))
    memo = SHARED_MAPS if map_memo is None else map_memo

    def work(part: Ensemble) -> np.ndarray:
        frame = PacketFrame.build(part, temperature_k)
        out = np.zeros(len(samples))
        state = (np.zeros(len(part), dtype=complex), frame.z_eq.copy())
        sampled_piece(frame, relax, samples, runs, waveform, state, out, first_sample, memo)
        return out

    out = np.zeros(len(samples))
    driven_before = sum(min(b, first_sample) - a for a, b, free in runs if not free and a < b)
    work_units = len(ensemble) * (len(samples) - first_sample + max(0, driven_before))
    with kernels.backend_for(work_units), kernels.blas_single_thread():
        for partial_sums in map_chunks(work, ensemble, chunk, threads):
            out += partial_sums
    return out / ensemble.norm


def sampled_work(samples: np.ndarray, packets: int, relax: Relaxation) -> float:
    """Return the work of :func:`propagate_sampled` on ``samples`` with every map built.

    In the packet-steps of :data:`simulator.kernels.STEP_WORK` (one saves numba about 25 ns):
    each driven sample is one exact map (an affine map when T1 != T2), each free sample a
    detection point. For a run's backend (:func:`simulator.kernels.backend_for_run`).
    """
    per_map = kernels.STEP_WORK["rotation" if relax.isotropic else "affine"]
    driven = int(np.count_nonzero(np.asarray(samples) != 0.0))
    free = len(samples) - driven
    return packets * (driven * per_map + free * kernels.STEP_WORK["free_point"])


def sampled_piece(
    frame: PacketFrame,
    relax: Relaxation,
    samples: np.ndarray,
    runs: list[tuple[int, int, bool]] | None,
    waveform: Waveform,
    state: tuple[np.ndarray, np.ndarray],
    out: np.ndarray,
    first: int = 0,
    memo: MapMemo | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Propagate one chunk's lab-frame state ``(m, z)`` through ``samples``, exactly.

    The map of :func:`propagate_sampled` for a piece of a waveform (its sample rate and
    full-scale Rabi frequency): adds the chunk's unnormalised :math:`M_z` sums at every sample
    time from ``first`` on into ``out`` (one entry per sample) and returns the state after the
    last sample; before ``first``, driven runs are whole-run maps kept in ``memo``
    (:data:`simulator.lab.memo.SHARED_MAPS` when None). ``runs`` are the piece's zero/driven
    runs (computed when None). A caller whose packets change between pieces (a stochastic
    environment) carries the state from piece to piece.
    """
    dt = 1.0 / waveform.sample_rate_hz
    scale = waveform.full_scale_rabi_hz
    runs = zero_runs(samples) if runs is None else runs
    transverse, longitudinal = frame.coupling * frame.sin_eta, frame.coupling * frame.cos_eta
    along, across = frame.weight * longitudinal, frame.weight * transverse
    m, z = state
    for start, stop, is_zero in runs:
        if start < first:  # no output wanted here: whole-run maps
            cut = min(stop, first)
            if is_zero:
                m, z = free_evolve(m, z, frame, relax, (cut - start) * dt, 0.0)
            else:
                drive = samples[start:cut] * scale
                build = partial(driven_map, frame, relax, drive, dt)
                memo = SHARED_MAPS if memo is None else memo
                a = memo.get(("samples", drive.tobytes(), dt), frame, relax, build)
                x, y, z = apply(a, m.real, m.imag, z)
                m = x + 1j * y
            if cut == stop:
                continue
            start = cut
        count = stop - start
        if is_zero:
            omega = TWO_PI * 2.0 * frame.energy_hz * dt
            sums = kernels.power_sums(across * m, omega, count)
            j = np.arange(count) * dt
            decay1 = np.exp(-relax.gamma1 * j)
            out[start:stop] += frame.mz_eq + kernels.dot(along, z - frame.z_eq) * decay1
            out[start:stop] -= (sums * np.exp(-relax.gamma2 * j)).real
            m, z = free_evolve(m, z, frame, relax, count * dt, 0.0)
            continue
        drive = samples[start:stop] * scale
        m, z = _driven_run(frame, relax, drive, dt, m, z, out[start:stop])
    return m, z


def diffusion_pieces(
    runs: Sequence[tuple[int, int, bool]], diffusion: OrnsteinUhlenbeck, sample_rate_hz: float
) -> list[tuple[int, int]]:
    """Cut a waveform's pulse runs ``(start, stop, driven)`` into spin-diffusion pieces.

    Pieces of at most :attr:`~simulator.diffusion.OrnsteinUhlenbeck.max_step_s` in free runs
    and :meth:`~simulator.diffusion.OrnsteinUhlenbeck.driven_step_s` in pulses, whole samples
    (at least one), each run cut evenly.
    """
    pieces: list[tuple[int, int]] = []
    for a, b, driven in runs:
        step_s = diffusion.driven_step_s() if driven else diffusion.max_step_s
        count = math.ceil((b - a) / max(1, math.floor(step_s * sample_rate_hz)))
        edges = [a + (b - a) * j // count for j in range(count + 1)]
        pieces += list(itertools.pairwise(edges))
    return pieces


def propagate_sampled_pieces(
    waveform: Waveform,
    ensemble: Ensemble,
    relax: Relaxation,
    temperature_k: float,
    pieces: Sequence[tuple[int, int]],
    *,
    changes: Mapping[int, Ensemble],
    diffusion: OrnsteinUhlenbeck | None,
    seed: int,
) -> np.ndarray:
    r"""Lab-frame :math:`M_z` at every sample time, the packets changing between pieces.

    ``pieces`` are consecutive sample ranges ``(a, b)`` covering the waveform. At the start of
    a piece ``a`` in ``changes`` the packets become ``changes[a]`` (the dynamic bath's redraw,
    the whole ensemble); otherwise, with ``diffusion``, each packet gets the bias
    :math:`\epsilon + \bar\xi` of the exact joint draw over the piece
    (:meth:`simulator.diffusion.OrnsteinUhlenbeck.step`, noise stream ``(seed, 5, chunk)``).
    The state is carried in the eigenbasis across a change.

    Returns
    -------
    numpy.ndarray
        :math:`M_z(k/f_s)`, normalised, one value per sample.
    """
    samples = np.asarray(waveform.samples, dtype=float)
    out = np.zeros(len(samples))
    for number, start in enumerate(range(0, len(ensemble), KERNEL_CHUNK)):
        stop = min(start + KERNEL_CHUNK, len(ensemble))
        part = ensemble.chunk(start, stop)
        frame = PacketFrame.build(part, temperature_k)
        state = (np.zeros(len(part), dtype=complex), frame.z_eq.copy())
        rng = np.random.default_rng([seed, 5, number])
        xi = np.zeros(len(part))
        for a, b in pieces:
            if a in changes:
                frame = PacketFrame.build(changes[a].chunk(start, stop), temperature_k)
            elif diffusion is not None:
                xi, mean = diffusion.step(xi, (b - a) / waveform.sample_rate_hz, rng)
                frame = PacketFrame.build(part, temperature_k, part.epsilon_hz + mean)
            state = sampled_piece(frame, relax, samples[a:b], None, waveform, state, out[a:b])
    return out / ensemble.norm
