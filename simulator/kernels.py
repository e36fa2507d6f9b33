r"""The propagators' inner loops over packets, and the choice of the backend that runs them.

Two backends compute the same kernels (equal to rounding: about 1e-16 of the state, 1e-15 of
the summed magnitudes for detection sums):

* ``"numpy"``, always available: array expressions over a chunk of packets. numpy's ``sin``
  and ``cos`` are scalar libm calls (about 10 ns each here) while ``tan`` is vectorised (under
  1 ns), so angles go through the tangent of the half angle :math:`t = \tan(\theta/2)`:
  :math:`\cos\theta = (1 - t^2)/(1 + t^2)`, :math:`\sin\theta = 2t/(1 + t^2)`,
  :math:`1 - \cos\theta = 2t^2/(1 + t^2)` (accurate to 2e-16 at every angle, and
  :math:`1 - \cos\theta` without cancellation).
  Detection sums are complex matrix products (BLAS).
* ``"numba"``, when numba is importable (``pip install spin-echo[fast]``):
  :mod:`simulator.kernels_numba`, compiled loops with a vectorised polynomial sine and cosine,
  one loop over every sample of a sampled waveform (see :func:`sampled_run`), and detection
  sums by a non-uniform FFT (:mod:`simulator.kernels_nufft`); no BLAS, whose threads stall
  when other processes share the cores.

The default is ``"numba"`` when numba is importable, else ``"numpy"``, and numpy for jobs too
small to repay numba's start-up (:func:`backend_for`); the environment variable
``SPIN_ECHO_KERNELS`` (``numpy`` or ``numba``) overrides it, and :func:`use_backend` switches
it for a block of code (one choice per process: not for threads choosing differently).
Within a backend every kernel is deterministic, so seeded runs are reproducible bit for bit.

The propagators run their packet chunks on :func:`default_threads` threads (the kernels
release the GIL), with one BLAS thread (:func:`blas_single_thread`); each chunk's sums are
added in chunk order, so the result does not depend on the number of threads.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import types
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from threadpoolctl import ThreadpoolController

__all__ = [
    "BACKENDS",
    "NUFFT_MIN_COUNT",
    "NUMBA_MIN_WORK",
    "TAYLOR_DEGREE",
    "TAYLOR_NORM",
    "available_backends",
    "backend",
    "backend_for",
    "blas_single_thread",
    "cos_sin",
    "default_threads",
    "dot",
    "numba_power_sums",
    "phasor",
    "powers",
    "rotate",
    "rotate_anisotropic",
    "sampled_run",
    "use_backend",
]

#: Fewest points of a power sum that the numba backend computes by a non-uniform FFT.
NUFFT_MIN_COUNT = 16
#: Packet-steps from which the default backend is numba (see :func:`backend_for`).
NUMBA_MIN_WORK = 20_000_000
#: Every backend's name, in order of preference.
BACKENDS = ("numba", "numpy")
FOUR_PI = 4.0 * math.pi
_ENV = "SPIN_ECHO_KERNELS"
_THREADS_ENV = "SPIN_ECHO_THREADS"


@functools.cache
def available_backends() -> tuple[str, ...]:
    """Return the backends that can run here (``"numpy"`` always)."""
    found = importlib.util.find_spec("numba") is not None
    return BACKENDS if found else ("numpy",)


def _from_environment() -> str | None:
    wanted = os.environ.get(_ENV, "").strip().lower()
    if not wanted:
        return None
    if wanted not in BACKENDS:
        raise ValueError(f"{_ENV} = {wanted!r}: must be one of {', '.join(BACKENDS)}")
    if wanted not in available_backends():
        raise ValueError(f"{_ENV} = {wanted!r}: numba is not installed")
    return wanted


def _default() -> str:
    return _from_environment() or available_backends()[0]


_active: list[str] = []
_chosen: list[bool] = []


def default_threads() -> int:
    """Threads over packet chunks: ``SPIN_ECHO_THREADS``, else the cores this process may use.

    Set ``SPIN_ECHO_THREADS=1`` in worker processes that already share the cores.
    """
    text = os.environ.get(_THREADS_ENV, "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"{_THREADS_ENV} = {text!r}: must be a positive whole number")
        return int(text)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def backend() -> str:
    """Return the name of the active backend (``"numba"`` or ``"numpy"``)."""
    return _active[-1] if _active else _default()


def _chosen_backend() -> bool:
    return _chosen[-1] if _chosen else _from_environment() is not None


def _push(name: str, chosen: bool) -> None:
    _active.append(name)
    _chosen.append(chosen)


def _pop() -> None:
    _active.pop()
    _chosen.pop()


@contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run the enclosed block with backend ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not a backend or cannot run here.
    """
    if name not in available_backends():
        raise ValueError(
            f"kernel backend {name!r}: must be one of {', '.join(available_backends())}"
        )
    _push(name, True)
    try:
        yield
    finally:
        _pop()


@contextmanager
def backend_for(work: float) -> Iterator[None]:
    """Run the block with the backend for a job of ``work`` packet-steps.

    Unless a backend was chosen (``SPIN_ECHO_KERNELS`` or :func:`use_backend`), jobs below
    :data:`NUMBA_MIN_WORK` packet-steps (packets x (segments + detection points), or packets
    x samples) run with numpy: numba's import and the loading of its compiled kernels take
    about a second per process, more than such a job.
    """
    small = backend() == "numba" and not _chosen_backend() and work < NUMBA_MIN_WORK
    if not small:
        yield
        return
    _push("numpy", False)
    try:
        yield
    finally:
        _pop()


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
    from spin_echo.simulator import kernels_numba

    return kernels_numba


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


def cos_sin(angle_rad: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Return :math:`\cos\theta`, :math:`\sin\theta` and :math:`1 - \cos\theta` (numpy).

    Through :math:`t = \tan(\theta/2)` (see the module docstring).
    """
    t = np.tan(0.5 * angle_rad)
    t2 = t * t
    d = 1.0 / (1.0 + t2)
    return (1.0 - t2) * d, 2.0 * t * d, 2.0 * t2 * d


def phasor(phase_rad: np.ndarray) -> np.ndarray:
    r"""Return :math:`e^{i\phi}` for an array of phases (radians)."""
    phase_rad = np.asarray(phase_rad, dtype=float)
    if backend() == "numba":
        return _numba().phasor(np.ascontiguousarray(phase_rad))
    t = np.tan(0.5 * phase_rad)
    t2 = t * t
    d = 1.0 / (1.0 + t2)
    out = np.empty(phase_rad.shape, dtype=complex)
    out.real = (1.0 - t2) * d
    out.imag = 2.0 * t * d
    return out


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
    n = z.shape[0]
    hx, hy, hz = (np.broadcast_to(np.asarray(f, dtype=float), (n,)) for f in field_hz)
    if backend() == "numba":
        return _numba().rotate(m, z, hx, hy, hz, float(gamma), z_eq, float(duration_s))
    ox, oy, oz = FOUR_PI * hx, FOUR_PI * hy, FOUR_PI * hz
    w = np.sqrt(ox * ox + oy * oy + oz * oz)
    inv = np.divide(1.0, w, out=np.zeros_like(w), where=w > 0)
    nx, ny, nz = ox * inv, oy * inv, oz * inv
    c, s, one_c = cos_sin(w * duration_s)
    x, y = m.real, m.imag
    ndr = (nx * x + ny * y + nz * z) * one_c
    x1 = x * c + (ny * z - nz * y) * s + nx * ndr
    y1 = y * c + (nz * x - nx * z) * s + ny * ndr
    z1 = z * c + (nx * y - ny * x) * s + nz * ndr
    out = np.empty(n, dtype=complex)
    if gamma == 0.0:
        out.real, out.imag = x1, y1
        return out, z1
    decay = math.exp(-gamma * duration_s)
    i1 = -math.expm1(-gamma * duration_s) / gamma
    den = 1.0 / (gamma * gamma + w * w)
    ic = (gamma - decay * (gamma * c - w * s)) * den
    i_s = (w - decay * (gamma * s + w * c)) * den
    par = (i1 - ic) * nz
    gz = gamma * z_eq
    out.real = decay * x1 + gz * (i_s * ny + par * nx)
    out.imag = decay * y1 + gz * (par * ny - i_s * nx)
    return out, decay * z1 + gz * (ic + par * nz)


#: Taylor degree and largest scaled norm of :func:`rotate_anisotropic` (truncation < 1e-18).
TAYLOR_DEGREE = 12
TAYLOR_NORM = 0.25


def _generator(
    field_hz: tuple[np.ndarray, np.ndarray, np.ndarray],
    gamma1: float,
    gamma2: float,
    z_eq: np.ndarray,
    duration_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the generator ``A t`` (shape ``(3, 3, n)``) and the affine term ``b t``."""
    ox, oy, oz = (FOUR_PI * duration_s * f for f in field_hz)
    n = z_eq.shape[0]
    a = np.zeros((3, 3, n))
    a[0, 0] = a[1, 1] = -gamma2 * duration_s
    a[2, 2] = -gamma1 * duration_s
    a[0, 1], a[0, 2] = -oz, oy
    a[1, 0], a[1, 2] = oz, -ox
    a[2, 0], a[2, 1] = -oy, ox
    b = np.zeros((3, n))
    b[2] = gamma1 * duration_s * z_eq
    return a, b


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
    n = z.shape[0]
    hx, hy, hz = (np.broadcast_to(np.asarray(f, dtype=float), (n,)) for f in field_hz)
    if backend() == "numba":
        return _numba().rotate_anisotropic(
            m, z, hx, hy, hz, float(gamma1), float(gamma2), z_eq, float(duration_s)
        )
    a, b = _generator((hx, hy, hz), gamma1, gamma2, z_eq, duration_s)
    norm = float(np.max(np.abs(a).sum(axis=1) + np.abs(b), initial=0.0))
    squarings = max(0, math.ceil(math.log2(norm / TAYLOR_NORM))) if norm > 0 else 0
    a *= 0.5**squarings
    b *= 0.5**squarings
    eye = np.eye(3)[:, :, None]
    p, q = np.broadcast_to(eye, a.shape), np.zeros_like(b)
    for k in range(TAYLOR_DEGREE, 0, -1):
        p, q = eye + _matmul(a, p) / k, (_matvec(a, q) + b) / k
    for _ in range(squarings):
        p, q = _matmul(p, p), _matvec(p, q) + q
    r = np.stack([m.real, m.imag, z])
    x, y, z1 = _matvec(p, r) + q
    out = np.empty(n, dtype=complex)
    out.real, out.imag = x, y
    return out, z1


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ikn,kjn->ijn", a, b)


def _matvec(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.einsum("ikn,kn->in", a, v)


def powers(first: np.ndarray | None, phase_rad: np.ndarray, count: int) -> np.ndarray:
    r"""Return the ``(count, n)`` array :math:`P_{jp} = c_p e^{ij\phi_p}` (:math:`c = 1` if None).

    Built by doubling (:math:`P_{j + 2^k} = P_j e^{i 2^k\phi}`), so the rounding error grows
    like :math:`j\epsilon`, as for a running product.
    """
    if backend() == "numba":
        c = np.ones(len(phase_rad), dtype=complex) if first is None else first
        return _numba().powers(np.ascontiguousarray(c), np.ascontiguousarray(phase_rad), count)
    out = np.empty((count, len(phase_rad)), dtype=complex)
    out[0] = 1.0 if first is None else first
    step = phasor(phase_rad)
    filled = 1
    while filled < count:
        k = min(filled, count - filled)
        np.multiply(out[:k], step, out=out[filled : filled + k])
        filled += k
        if filled < count:
            step = step * step
    return out


def numba_power_sums(coeff: np.ndarray, phase_rad: np.ndarray, count: int) -> np.ndarray:
    r"""Power sums :math:`\sum_p c_p e^{ij\phi_p}` with the numba backend, without BLAS.

    A non-uniform FFT (:mod:`simulator.kernels_nufft`) from :data:`NUFFT_MIN_COUNT` points
    on, compiled direct sums below. ``coeff`` may hold several rows (one result row each).
    """
    phase_rad = np.ascontiguousarray(phase_rad, dtype=float)
    if count >= NUFFT_MIN_COUNT:
        from spin_echo.simulator.kernels_nufft import power_sums

        return power_sums(coeff, phase_rad, count)
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
