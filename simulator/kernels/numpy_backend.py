r"""The ``"numpy"`` kernel backend: array expressions over a chunk of packets.

Always available. numpy's ``sin`` and ``cos`` are scalar libm calls (about 10 ns each here)
while ``tan`` is vectorised (under 1 ns), so angles go through the tangent of the half angle
:math:`t = \tan(\theta/2)`: :math:`\cos\theta = (1 - t^2)/(1 + t^2)`,
:math:`\sin\theta = 2t/(1 + t^2)`, :math:`1 - \cos\theta = 2t^2/(1 + t^2)` (accurate to 2e-16
at every angle, and :math:`1 - \cos\theta` without cancellation). Detection sums are complex
matrix products (BLAS). The dispatcher :mod:`simulator.kernels` documents each kernel.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "FOUR_PI",
    "TAYLOR_DEGREE",
    "TAYLOR_NORM",
    "broadcast_field",
    "cos_sin",
    "phasor",
    "power_sums",
    "powers",
    "rotate",
    "rotate_anisotropic",
]

FOUR_PI = 4.0 * math.pi
#: Taylor degree and largest scaled norm of :func:`rotate_anisotropic` (truncation < 1e-18).
TAYLOR_DEGREE = 12
TAYLOR_NORM = 0.25
_BLOCK = 2048


def broadcast_field(
    field_hz: tuple[np.ndarray, np.ndarray, np.ndarray], n: int
) -> tuple[np.ndarray, ...]:
    """Return the three field components as float arrays of ``n`` packets."""
    return tuple(np.broadcast_to(np.asarray(f, dtype=float), (n,)) for f in field_hz)


def cos_sin(angle_rad: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Return :math:`\cos\theta`, :math:`\sin\theta` and :math:`1 - \cos\theta`.

    Through :math:`t = \tan(\theta/2)` (see the module docstring).
    """
    t = np.tan(0.5 * angle_rad)
    t2 = t * t
    d = 1.0 / (1.0 + t2)
    return (1.0 - t2) * d, 2.0 * t * d, 2.0 * t2 * d


def phasor(phase_rad: np.ndarray) -> np.ndarray:
    r"""Return :math:`e^{i\phi}` for a float array of phases (radians)."""
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
    r"""Rotation about :math:`\vec\Omega = 4\pi\vec h` with isotropic decay to :math:`z_{eq}`."""
    n = z.shape[0]
    hx, hy, hz = broadcast_field(field_hz, n)
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


def _generator(
    field_hz: tuple[np.ndarray, ...],
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
    r"""Exact Bloch map with :math:`\Gamma_1 \ne \Gamma_2`, one scaling for all packets."""
    n = z.shape[0]
    a, b = _generator(broadcast_field(field_hz, n), gamma1, gamma2, z_eq, duration_s)
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
    r"""Return the ``(count, n)`` array :math:`P_{jp} = c_p e^{ij\phi_p}`, by doubling."""
    out = np.empty((count, len(phase_rad)), dtype=complex)
    out[0] = 1.0 if first is None else first
    step = phasor(np.asarray(phase_rad, dtype=float))
    filled = 1
    while filled < count:
        k = min(filled, count - filled)
        np.multiply(out[:k], step, out=out[filled : filled + k])
        filled += k
        if filled < count:
            step = step * step
    return out


def power_sums(coeff: np.ndarray, phase_rad: np.ndarray, count: int) -> np.ndarray:
    r"""Power sums :math:`\sum_p c_p e^{ij\phi_p}` as complex matrix products (BLAS).

    Factorised as :math:`j = j_1 B + j_0`, :math:`B = \lceil\sqrt{count}\rceil`:
    :math:`S_{j_1 B + j_0} = \sum_p V_{j_1 p} U_{j_0 p}` with :math:`U_{j_0 p} = c_p
    e^{ij_0\phi_p}` and :math:`V_{j_1 p} = e^{ij_1 B\phi_p}` (:func:`powers`), one product per
    block of packets, the blocks small enough for U and V to stay in cache.
    """
    sets = np.atleast_2d(coeff)
    b0 = max(1, math.isqrt(count - 1) + 1) if count > 1 else 1
    b1 = -(-count // b0)
    total = np.zeros((len(sets), b1, b0), dtype=complex)
    for start in range(0, sets.shape[1], _BLOCK):
        ph = phase_rad[start : start + _BLOCK]
        v = powers(None, b0 * ph, b1)
        for q, row in enumerate(sets):
            total[q] += v @ powers(row[start : start + _BLOCK], ph, b0).T
    result = total.reshape(len(sets), -1)[:, :count]
    return result if np.ndim(coeff) == 2 else result[0]
