r"""The propagators' inner loops over packets: the choice of the backend, and the dispatch.

Two backends compute the same kernels (equal to rounding: about 1e-16 of the state, 1e-15 of
the summed magnitudes for detection sums), one module each:

* ``"numpy"`` (:mod:`simulator.kernels.numpy_backend`), always available: array expressions
  over a chunk of packets, angles through the half-angle tangent, detection sums as complex
  matrix products (BLAS).
* ``"numba"`` (:mod:`simulator.kernels.numba_backend`), when numba is importable
  (``pip install spin-echo[fast]``): compiled loops with a vectorised polynomial sine and
  cosine, one loop over every sample of a sampled waveform (see :func:`sampled_run`), and
  detection sums by a non-uniform FFT (:mod:`simulator.kernels.nufft`); no BLAS, whose threads
  stall when other processes share the cores. Imported only when it runs.

The backend is a typed option, :data:`Backend`: the propagators take ``backend=`` and run their
block with it (:func:`use_backend`). Without one, the default is ``"numba"`` when numba is
importable, else ``"numpy"``, and numpy for jobs too small to repay numba's start-up
(:func:`backend_for`, with the work of a rotating-frame propagation counted by
:func:`propagation_work`); the environment variable ``SPIN_ECHO_KERNELS`` (``numpy`` or ``numba``)
only sets that default. A bad name, in the variable or in ``backend=``, is a
:class:`KernelError` (an input error: the command line exits with status 2). The choice is one
per process: not for threads choosing differently. Within a backend every kernel is
deterministic, so seeded runs are reproducible bit for bit.

The propagators run their packet chunks on :func:`default_threads` threads (the kernels
release the GIL; ``SPIN_ECHO_THREADS`` sets the default), with one BLAS thread
(:func:`blas_single_thread`); each chunk's sums are added in chunk order, so the result does
not depend on the number of threads.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, cast, get_args

import numpy as np
from threadpoolctl import ThreadpoolController

from spin_echo.sequences.errors import InputError
from spin_echo.simulator.kernels import numpy_backend
from spin_echo.simulator.kernels.numpy_backend import (
    FOUR_PI,
    TAYLOR_DEGREE,
    TAYLOR_NORM,
    broadcast_field,
    cos_sin,
)

__all__ = [
    "BACKENDS",
    "NUFFT_MIN_COUNT",
    "NUMBA_MIN_WORK",
    "STEP_WORK",
    "TAYLOR_DEGREE",
    "TAYLOR_NORM",
    "Backend",
    "KernelError",
    "available_backends",
    "backend",
    "backend_for",
    "backend_for_run",
    "blas_single_thread",
    "cos_sin",
    "default_backend",
    "default_threads",
    "dot",
    "parse_backend",
    "phasor",
    "power_sums",
    "powers",
    "propagation_work",
    "rotate",
    "rotate_anisotropic",
    "sampled_run",
    "use_backend",
]

#: Fewest points of a power sum that the numba backend computes by a non-uniform FFT.
NUFFT_MIN_COUNT = 16
#: Packet-steps from which the default backend is numba (see :func:`backend_for`): numba's
#: fixed cost per process (about 0.5 s of CPU on the 2-core development machine: its import,
#: the loading of the cached kernels, scipy) over what it saves per packet-step (about 25 ns of
#: CPU for one rotation of one packet, :data:`STEP_WORK`).
NUMBA_MIN_WORK = 20_000_000
#: Packet-steps per packet of each kind of step of a rotating-frame propagation
#: (:func:`propagation_work`): one unit saves numba about 25 ns of CPU over numpy. Measured on
#: 16384-packet chunks, one thread (numpy / numba ns per packet): ``"rotation"`` (a map with
#: T1 = T2, a driven segment or a detection point inside one; 116 / 4), ``"affine"`` (the
#: same with T1 != T2; 756 / 32), ``"free"`` (a free segment, about 10 / 3) and
#: ``"free_point"`` (a detection point of a free run, a power sum: 0.26 / 0.07 at 1024 points,
#: 0.32 / 0.31 at 256).
STEP_WORK = {"rotation": 4.5, "affine": 29.0, "free": 0.3, "free_point": 0.01}
#: A kernel backend's name.
Backend = Literal["numba", "numpy"]
#: Every backend's name, in order of preference.
BACKENDS: tuple[Backend, ...] = get_args(Backend)
_ENV = "SPIN_ECHO_KERNELS"
_THREADS_ENV = "SPIN_ECHO_THREADS"


class KernelError(InputError):
    """A kernel backend or thread count that does not exist or cannot run here."""


@functools.cache
def available_backends() -> tuple[Backend, ...]:
    """Return the backends that can run here (``"numpy"`` always)."""
    found = importlib.util.find_spec("numba") is not None
    return BACKENDS if found else ("numpy",)


def parse_backend(text: str, *, source: str = "backend") -> Backend:
    """Return the backend named ``text`` (any case, surrounding blanks ignored).

    Raises
    ------
    KernelError
        If ``text`` names no backend, or one that cannot run here; ``source`` (the option or
        variable it came from) is named in the message.
    """
    wanted = text.strip().lower()
    if wanted not in BACKENDS:
        raise KernelError(f"must be one of {', '.join(BACKENDS)}", key=source, value=text)
    if wanted not in available_backends():
        raise KernelError(
            "numba is not installed (pip install spin-echo[fast])", key=source, value=text
        )
    return cast(Backend, wanted)


def _from_environment() -> Backend | None:
    wanted = os.environ.get(_ENV, "")
    return parse_backend(wanted, source=_ENV) if wanted.strip() else None


def default_backend() -> Backend:
    """Return the default backend: ``SPIN_ECHO_KERNELS`` if set, else the preferred one."""
    return _from_environment() or available_backends()[0]


_active: list[Backend] = []
_chosen: list[bool] = []


def default_threads() -> int:
    """Threads over packet chunks: ``SPIN_ECHO_THREADS``, else the cores this process may use.

    Set ``SPIN_ECHO_THREADS=1`` in worker processes that already share the cores.

    Raises
    ------
    KernelError
        If ``SPIN_ECHO_THREADS`` is not a positive whole number.
    """
    text = os.environ.get(_THREADS_ENV, "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise KernelError("must be a positive whole number", key=_THREADS_ENV, value=text)
        return int(text)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def backend() -> Backend:
    """Return the name of the active backend (``"numba"`` or ``"numpy"``)."""
    return _active[-1] if _active else default_backend()


def _chosen_backend() -> bool:
    return _chosen[-1] if _chosen else _from_environment() is not None


def _push(name: Backend, chosen: bool) -> None:
    _active.append(name)
    _chosen.append(chosen)


def _pop() -> None:
    _active.pop()
    _chosen.pop()


@contextmanager
def use_backend(name: Backend) -> Iterator[None]:
    """Run the enclosed block with backend ``name``.

    Raises
    ------
    KernelError
        If ``name`` is not a backend or cannot run here.
    """
    _push(parse_backend(name, source="kernel backend"), True)
    try:
        yield
    finally:
        _pop()


@contextmanager
def backend_for(work: float, chosen: Backend | None = None) -> Iterator[None]:
    """Run the block with the backend for a job of ``work`` packet-steps.

    With ``chosen``, that backend (:func:`use_backend`). Otherwise, unless a backend was
    chosen around the block (``SPIN_ECHO_KERNELS`` or :func:`use_backend`), jobs below
    :data:`NUMBA_MIN_WORK` packet-steps (:func:`propagation_work` for the rotating frame;
    packets x (segments + detection points + steps), or packets x samples, for the lab frame)
    run with numpy: numba's import and the loading of its compiled kernels take about 0.5 s of
    CPU per process, more than such a job gains from them.
    """
    if chosen is not None:
        with use_backend(chosen):
            yield
        return
    small = backend() == "numba" and not _chosen_backend() and work < NUMBA_MIN_WORK
    if not small:
        yield
        return
    _push("numpy", False)
    try:
        yield
    finally:
        _pop()


@contextmanager
def backend_for_run(total_work: float) -> Iterator[None]:
    """Choose the backend once for a run of many propagations whose work adds up to ``total_work``.

    Each propagation otherwise decides alone (:func:`backend_for`), so a run of many small ones
    (a virtual-bench run: one sampled waveform per phase step and sweep point) stays on numpy
    even when their sum repays numba's start-up many times over. When ``total_work`` reaches
    :data:`NUMBA_MIN_WORK` and no backend was chosen, the whole run uses the default backend
    (numba where installed); below it, each propagation decides as before. Deterministic in
    ``total_work``: a run computes it from its whole protocol, so a resumed run chooses the same.
    """
    if _chosen_backend() or total_work < NUMBA_MIN_WORK:
        yield
        return
    with use_backend(default_backend()):
        yield


def propagation_work(
    packets: int, *, maps: int, free_segments: int, free_points: int, anisotropic: bool
) -> float:
    """Return the work of a rotating-frame propagation, packet-steps (:data:`STEP_WORK`).

    Parameters
    ----------
    packets
        Number of packets.
    maps
        Driven segments plus the detection points inside them (one exact map each).
    free_segments
        Free segments.
    free_points
        Detection points inside free segments (power sums).
    anisotropic
        Whether the maps have T1 != T2 (:func:`rotate_anisotropic`).
    """
    per_map = STEP_WORK["affine" if anisotropic else "rotation"]
    per_packet = (
        maps * per_map + free_segments * STEP_WORK["free"] + free_points * STEP_WORK["free_point"]
    )
    return packets * per_packet


@functools.cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


@contextmanager
def blas_single_thread() -> Iterator[None]:
    """Run the block with one BLAS thread (the propagators parallelise over packet chunks).

    Multi-threaded BLAS calls on a chunk's small matrices measured 3 to 60 times slower as
    soon as other processes share the cores (their threads wait for one another), and no
    faster on an idle machine.
    """
    with _threadpools().limit(limits=1, user_api="blas"):
        yield


def _numba() -> types.ModuleType:
    from spin_echo.simulator.kernels import numba_backend

    return numba_backend


def dot(a: np.ndarray, b: np.ndarray) -> float | complex:
    """Return ``sum(a * b)`` (``a`` real): BLAS with numpy, a compiled loop with numba.

    The numba backend keeps BLAS, whose threads stall on a busy machine, out of its hot paths.
    """
    if backend() != "numba":
        return np.dot(a, b)
    a = np.ascontiguousarray(a, dtype=float)
    if np.iscomplexobj(b):
        return complex(_numba().dot(a, b.real), _numba().dot(a, b.imag))
    return _numba().dot(a, np.asarray(b, dtype=float))


def phasor(phase_rad: np.ndarray) -> np.ndarray:
    r"""Return :math:`e^{i\phi}` for an array of phases (radians)."""
    phase_rad = np.asarray(phase_rad, dtype=float)
    if backend() == "numba":
        return _numba().phasor(np.ascontiguousarray(phase_rad))
    return numpy_backend.phasor(phase_rad)


def rotate(
    m: np.ndarray,
    z: np.ndarray,
    field_hz: tuple[np.ndarray, np.ndarray, np.ndarray],
    gamma: float,
    z_eq: np.ndarray,
    duration_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Rotation about :math:`\vec\Omega = 4\pi\vec h` with isotropic decay to :math:`z_{eq}`.

    The closed form of :func:`simulator.bloch.rotate_relax` for :math:`\Gamma_1 = \Gamma_2 =`
    ``gamma`` (1/s); ``field_hz`` components broadcast against the packets.
    """
    if backend() == "numba":
        hx, hy, hz = broadcast_field(field_hz, z.shape[0])
        return _numba().rotate(m, z, hx, hy, hz, float(gamma), z_eq, float(duration_s))
    return numpy_backend.rotate(m, z, field_hz, gamma, z_eq, duration_s)


def rotate_anisotropic(
    m: np.ndarray,
    z: np.ndarray,
    field_hz: tuple[np.ndarray, np.ndarray, np.ndarray],
    gamma1: float,
    gamma2: float,
    z_eq: np.ndarray,
    duration_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact Bloch map of a constant field with :math:`\Gamma_1 \ne \Gamma_2`.

    :math:`\dot{\vec r} = A\vec r + \vec b` (see :mod:`simulator.bloch`) over
    :math:`t` = ``duration_s``: the exponential of the affine generator
    :math:`X = [[At, \vec bt], [0, 0]]` by scaling and squaring, :math:`e^X =
    (e^{X/2^s})^{2^s}` with :math:`\|X\|_\infty/2^s \le` :data:`TAYLOR_NORM` and the Taylor
    series of degree :data:`TAYLOR_DEGREE` (Horner's rule) for :math:`e^{X/2^s}`. The
    numpy backend takes one s per call (the largest norm), the numba backend one per packet.
    """
    if backend() == "numba":
        hx, hy, hz = broadcast_field(field_hz, z.shape[0])
        return _numba().rotate_anisotropic(
            m, z, hx, hy, hz, float(gamma1), float(gamma2), z_eq, float(duration_s)
        )
    return numpy_backend.rotate_anisotropic(m, z, field_hz, gamma1, gamma2, z_eq, duration_s)


def powers(first: np.ndarray | None, phase_rad: np.ndarray, count: int) -> np.ndarray:
    r"""Return the ``(count, n)`` array :math:`P_{jp} = c_p e^{ij\phi_p}` (:math:`c = 1` if None).

    Built by doubling (:math:`P_{j + 2^k} = P_j e^{i 2^k\phi}`), so the rounding error grows
    like :math:`j\epsilon`, as for a running product.
    """
    if backend() == "numba":
        c = np.ones(len(phase_rad), dtype=complex) if first is None else first
        return _numba().powers(np.ascontiguousarray(c), np.ascontiguousarray(phase_rad), count)
    return numpy_backend.powers(first, phase_rad, count)


def power_sums(coeff: np.ndarray, phase_rad: np.ndarray, count: int) -> np.ndarray:
    r"""Return :math:`S_j = \sum_p c_p e^{i j \phi_p}` for :math:`j = 0 \dots count-1`.

    The detection sum over packets: numpy by blocked complex matrix products
    (:func:`simulator.kernels.numpy_backend.power_sums`); numba without BLAS, by a non-uniform
    FFT (:mod:`simulator.kernels.nufft`) from :data:`NUFFT_MIN_COUNT` points on and compiled
    direct sums below. ``coeff`` may be 2-D, several coefficient sets over the same phases
    (one result row each, sharing the work on the phases).
    """
    if backend() != "numba":
        return numpy_backend.power_sums(coeff, phase_rad, count)
    phase_rad = np.ascontiguousarray(phase_rad, dtype=float)
    if count >= NUFFT_MIN_COUNT:
        from spin_echo.simulator.kernels import nufft

        return nufft.power_sums(coeff, phase_rad, count)
    sets = np.ascontiguousarray(np.atleast_2d(coeff), dtype=complex)
    result = _numba().direct_sums(sets, phase_rad, count)
    return result if np.ndim(coeff) == 2 else result[0]


def sampled_run(
    m: np.ndarray,
    z: np.ndarray,
    packet: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    weighted: tuple[np.ndarray, np.ndarray],
    drive_hz: np.ndarray,
    dt_s: float,
    gamma: float,
    out: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Apply one lab-frame map per sample of a drive, adding the ensemble sum before each.

    ``packet`` is ``(energy_hz, transverse, longitudinal, z_eq)`` with ``transverse`` =
    :math:`\cos\theta\sin\eta` and ``longitudinal`` = :math:`\cos\theta\cos\eta`: sample k
    holds the eigenbasis field :math:`(-\mathrm{transverse}\,b_k,\ 0,\ E +
    \mathrm{longitudinal}\,b_k)` (``drive_hz[k]`` = :math:`b_k`, Hz) for ``dt_s`` seconds with
    isotropic decay ``gamma`` (1/s). ``weighted`` is ``(along, across)``, the weighted
    couplings :math:`w\cos\theta\cos\eta` and :math:`w\cos\theta\sin\eta`: before sample k
    acts, ``out[k]`` (updated in place) gets
    :math:`\sum_p \mathrm{along}_p(z_p - z_{eq,p}) - \mathrm{across}_p x_p`.

    Returns
    -------
    tuple of numpy.ndarray
        The state ``(m, z)`` after the last sample.
    """
    energy, transverse, longitudinal, z_eq = packet
    along, across = weighted
    bound = FOUR_PI * dt_s * (float(np.max(energy)) + float(np.max(np.abs(drive_hz))))
    if backend() == "numba" and bound < _numba().TRIG_LIMIT:
        return _numba().sampled_run(
            m,
            z,
            energy,
            transverse,
            longitudinal,
            z_eq,
            along,
            across,
            drive_hz,
            float(dt_s),
            float(gamma),
            out,
        )
    zero = np.zeros(1)
    for k, b in enumerate(drive_hz):
        out[k] += np.dot(along, z - z_eq) - np.dot(across, m.real)
        field = (-b * transverse, zero, energy + b * longitudinal)
        m, z = rotate(m, z, field, gamma, z_eq, dt_s)
    return m, z
