r"""The ``"numba"`` kernel backend: compiled versions of the kernels of :mod:`simulator.kernels`.

Imported only when numba is installed and the ``"numba"`` backend is active. The loops over
packets are written so that LLVM vectorises them: sine and cosine come from a branch-free
polynomial (:func:`sincos`: Cody-Waite reduction by :math:`\pi/2` in three parts, then the
fdlibm minimax polynomials on :math:`[-\pi/4, \pi/4]`; absolute error below 5e-16) instead of
libm calls, which would keep every loop scalar. Angles above :data:`TRIG_LIMIT` radians, where
the three-part reduction would lose digits, are recomputed with libm in a second, cheap pass.
Sums over packets run in a fixed order (deterministic), and are formed in eight interleaved
partial sums so that they vectorise too.

Start-up: numba's CPU target, when it is first used, imports ``scipy.linalg`` (0.13-0.3 s of
CPU measured) only to learn whether compiled code may call BLAS (``numba.np.arraymath``'s
``_HAVE_BLAS``, which picks the inner product of compiled ``np.convolve``); no kernel here
calls BLAS. :func:`skip_blas_probe`, run on import, lets that probe fail at once and then sets
the flag as the probe would have (scipy is a dependency); compiled ``np.dot`` and the like
import scipy's BLAS when they are compiled, as before.
"""

from __future__ import annotations

import importlib.util
import math
import sys

import numpy as np
from numba import njit

from spin_echo.simulator.kernels.numpy_backend import TAYLOR_DEGREE, TAYLOR_NORM

__all__ = [
    "TRIG_LIMIT",
    "direct_sums",
    "dot",
    "phasor",
    "powers",
    "rotate",
    "rotate_anisotropic",
    "sampled_run",
    "sincos",
    "skip_blas_probe",
]


def skip_blas_probe() -> None:
    """Load numba's array functions without importing scipy.linalg (module docstring).

    Does nothing when numba's array functions are already loaded (their probe has run).
    """
    if "numba.np.arraymath" in sys.modules:
        return
    name = "scipy.linalg.cython_blas"
    stub = name not in sys.modules
    if stub:
        sys.modules[name] = None  # type: ignore[assignment]  # its import fails at once
    try:
        import numba.np.arraymath as arraymath
    finally:
        if stub and sys.modules.get(name, 0) is None:
            del sys.modules[name]
    arraymath._HAVE_BLAS = importlib.util.find_spec("scipy") is not None


skip_blas_probe()

#: Largest angle (rad) that the polynomial sine and cosine reduce exactly.
TRIG_LIMIT = 1.0e5
_FOUR_PI = 4.0 * math.pi
_INV_PIO2 = 6.36619772367581382433e-01
_PIO2_1 = 1.57079632673412561417e00
_PIO2_2 = 6.07710050650619224932e-11
_PIO2_3 = 2.02226624879595063154e-21
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11
_BLOCK = 256
_LANES = 8
#: Packets per block of :func:`rotate_anisotropic` (its 22 working rows stay in the L1 cache).
_AFFINE_BLOCK = 64
_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(inline="always", **_OPTIONS)
def sincos(x: float) -> tuple[float, float]:
    """Return ``(sin x, cos x)`` by the branch-free polynomial (for ``|x| <= TRIG_LIMIT``)."""
    k = np.rint(x * _INV_PIO2)
    r = ((x - k * _PIO2_1) - k * _PIO2_2) - k * _PIO2_3
    z = r * r
    s = r + r * z * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    c = 1.0 - 0.5 * z + z * z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))
    q = np.int64(k)
    odd = (q & 1) == 1
    s_q = c if odd else s
    c_q = s if odd else c
    return (1.0 - 2.0 * ((q >> 1) & 1)) * s_q, (1.0 - 2.0 * (((q + 1) >> 1) & 1)) * c_q


@njit(**_OPTIONS)
def _fill_cos_sin(theta: np.ndarray, c: np.ndarray, s: np.ndarray) -> None:
    for i in range(theta.shape[0]):
        s[i], c[i] = sincos(theta[i])
    for i in range(theta.shape[0]):
        if not abs(theta[i]) <= TRIG_LIMIT:
            s[i], c[i] = math.sin(theta[i]), math.cos(theta[i])


@njit(**_OPTIONS)
def phasor(phase: np.ndarray) -> np.ndarray:
    """Return ``exp(1j * phase)``."""
    n = phase.shape[0]
    c, s = np.empty(n), np.empty(n)
    _fill_cos_sin(phase, c, s)
    out = np.empty(n, dtype=np.complex128)
    for i in range(n):
        out[i] = complex(c[i], s[i])
    return out


@njit(**_OPTIONS)
def powers(first: np.ndarray, phase: np.ndarray, count: int) -> np.ndarray:
    """Return ``out[j, p] = first[p] * exp(1j * j * phase[p])``, ``j < count``."""
    n = phase.shape[0]
    step = phasor(phase)
    out = np.empty((count, n), dtype=np.complex128)
    for p in range(n):
        out[0, p] = first[p]
    filled = 1
    while filled < count:
        k = min(filled, count - filled)
        for j in range(k):
            for p in range(n):
                out[filled + j, p] = out[j, p] * step[p]
        filled += k
        if filled < count:
            for p in range(n):
                step[p] = step[p] * step[p]
    return out


@njit(inline="always", **_OPTIONS)
def _rotate_one(
    x: float,
    y: float,
    zz: float,
    ox: float,
    oy: float,
    oz: float,
    cp: float,
    sp: float,
    gamma: float,
    z_eq: float,
    decay: float,
    i1: float,
) -> tuple[float, float, float]:
    """Rotate (x, y, zz) about (ox, oy, oz) (rad/s) by the angle with cosine cp, sine sp."""
    w = math.sqrt(ox * ox + oy * oy + oz * oz)
    inv = 1.0 / w if w > 0.0 else 0.0
    nx, ny, nz = ox * inv, oy * inv, oz * inv
    ndr = (nx * x + ny * y + nz * zz) * (1.0 - cp)
    x1 = x * cp + (ny * zz - nz * y) * sp + nx * ndr
    y1 = y * cp + (nz * x - nx * zz) * sp + ny * ndr
    z1 = zz * cp + (nx * y - ny * x) * sp + nz * ndr
    if gamma > 0.0:
        den = 1.0 / (gamma * gamma + w * w)
        ic = (gamma - decay * (gamma * cp - w * sp)) * den
        i_s = (w - decay * (gamma * sp + w * cp)) * den
        par = (i1 - ic) * nz
        gz = gamma * z_eq
        x1 = decay * x1 + gz * (i_s * ny + par * nx)
        y1 = decay * y1 + gz * (par * ny - i_s * nx)
        z1 = decay * z1 + gz * (ic + par * nz)
    return x1, y1, z1


@njit(**_OPTIONS)
def rotate(
    m: np.ndarray,
    z: np.ndarray,
    hx: np.ndarray,
    hy: np.ndarray,
    hz: np.ndarray,
    gamma: float,
    z_eq: np.ndarray,
    duration: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Rotation about ``4 pi h`` for ``duration`` with isotropic decay ``gamma`` to ``z_eq``.

    One vectorised pass with the polynomial sine and cosine; packets whose angle exceeds
    :data:`TRIG_LIMIT` are redone with libm in a second pass.
    """
    n = z.shape[0]
    decay = math.exp(-gamma * duration)
    i1 = -math.expm1(-gamma * duration) / gamma if gamma > 0.0 else 0.0
    m_out, z_out = np.empty(n, dtype=np.complex128), np.empty(n)
    large = 0
    for p in range(n):
        ox, oy, oz = _FOUR_PI * hx[p], _FOUR_PI * hy[p], _FOUR_PI * hz[p]
        theta = math.sqrt(ox * ox + oy * oy + oz * oz) * duration
        large |= np.int64(not abs(theta) <= TRIG_LIMIT)
        sp, cp = sincos(theta)
        x1, y1, z1 = _rotate_one(
            m[p].real, m[p].imag, z[p], ox, oy, oz, cp, sp, gamma, z_eq[p], decay, i1
        )
        m_out[p] = complex(x1, y1)
        z_out[p] = z1
    if large:
        for p in range(n):
            ox, oy, oz = _FOUR_PI * hx[p], _FOUR_PI * hy[p], _FOUR_PI * hz[p]
            theta = math.sqrt(ox * ox + oy * oy + oz * oz) * duration
            if not abs(theta) <= TRIG_LIMIT:
                x1, y1, z1 = _rotate_one(
                    m[p].real,
                    m[p].imag,
                    z[p],
                    ox,
                    oy,
                    oz,
                    math.cos(theta),
                    math.sin(theta),
                    gamma,
                    z_eq[p],
                    decay,
                    i1,
                )
                m_out[p] = complex(x1, y1)
                z_out[p] = z1
    return m_out, z_out


@njit(inline="always", **_OPTIONS)
def _compose(
    p: tuple[float, float, float, float, float, float, float, float, float],
    q: tuple[float, float, float],
    a: tuple[float, float, float, float, float, float, float, float, float],
    b: tuple[float, float, float],
) -> tuple[tuple[float, float, float, float, float, float, float, float, float], tuple]:
    """Return the affine map ``(p, q) o (a, b)``: ``(p a, p b + q)``, 3x3 row-major."""
    m = (
        p[0] * a[0] + p[1] * a[3] + p[2] * a[6],
        p[0] * a[1] + p[1] * a[4] + p[2] * a[7],
        p[0] * a[2] + p[1] * a[5] + p[2] * a[8],
        p[3] * a[0] + p[4] * a[3] + p[5] * a[6],
        p[3] * a[1] + p[4] * a[4] + p[5] * a[7],
        p[3] * a[2] + p[4] * a[5] + p[5] * a[8],
        p[6] * a[0] + p[7] * a[3] + p[8] * a[6],
        p[6] * a[1] + p[7] * a[4] + p[8] * a[7],
        p[6] * a[2] + p[7] * a[5] + p[8] * a[8],
    )
    v = (
        p[0] * b[0] + p[1] * b[1] + p[2] * b[2] + q[0],
        p[3] * b[0] + p[4] * b[1] + p[5] * b[2] + q[1],
        p[6] * b[0] + p[7] * b[1] + p[8] * b[2] + q[2],
    )
    return m, v


@njit(**_OPTIONS)
def rotate_anisotropic(
    m: np.ndarray,
    z: np.ndarray,
    hx: np.ndarray,
    hy: np.ndarray,
    hz: np.ndarray,
    gamma1: float,
    gamma2: float,
    z_eq: np.ndarray,
    duration: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Affine Bloch map with unequal rates (see :func:`simulator.kernels.rotate_anisotropic`).

    Packets in blocks of :data:`_AFFINE_BLOCK`, each step of the Taylor series and of the
    squarings applied to the whole block in turn (a loop that LLVM vectorises); every packet
    gets the same operations in the same order as one packet alone, its own number of
    squarings included (a packet with fewer keeps its map through the extra steps).
    """
    n = z.shape[0]
    m_out, z_out = np.empty(n, dtype=np.complex128), np.empty(n)
    g1, g2 = gamma1 * duration, gamma2 * duration
    a = np.empty((9, _AFFINE_BLOCK))
    bz = np.empty(_AFFINE_BLOCK)
    mat = np.empty((9, _AFFINE_BLOCK))
    vec = np.empty((3, _AFFINE_BLOCK))
    squarings = np.empty(_AFFINE_BLOCK, dtype=np.int64)
    for p0 in range(0, n, _AFFINE_BLOCK):
        nb = min(_AFFINE_BLOCK, n - p0)
        most = 0
        for i in range(nb):
            p = p0 + i
            ox = _FOUR_PI * duration * hx[p]
            oy = _FOUR_PI * duration * hy[p]
            oz = _FOUR_PI * duration * hz[p]
            b = g1 * z_eq[p]
            norm = max(
                g2 + abs(oz) + abs(oy), abs(oz) + g2 + abs(ox), abs(oy) + abs(ox) + g1 + abs(b)
            )
            count, f = 0, 1.0
            while norm * f > TAYLOR_NORM:
                f *= 0.5
                count += 1
            squarings[i] = count
            most = max(most, count)
            a[0, i], a[1, i], a[2, i] = -g2 * f, -oz * f, oy * f
            a[3, i], a[4, i], a[5, i] = oz * f, -g2 * f, -ox * f
            a[6, i], a[7, i], a[8, i] = -oy * f, ox * f, -g1 * f
            bz[i] = b * f
            for j in range(9):
                mat[j, i] = 1.0 if j % 4 == 0 else 0.0
            vec[0, i], vec[1, i], vec[2, i] = 0.0, 0.0, 0.0
        for k in range(TAYLOR_DEGREE, 0, -1):
            inv = 1.0 / k
            for i in range(nb):
                prod, pv = _compose(
                    (a[0, i], a[1, i], a[2, i], a[3, i], a[4, i], a[5, i],
                     a[6, i], a[7, i], a[8, i]),
                    (0.0, 0.0, bz[i]),
                    (mat[0, i], mat[1, i], mat[2, i], mat[3, i], mat[4, i], mat[5, i],
                     mat[6, i], mat[7, i], mat[8, i]),
                    (vec[0, i], vec[1, i], vec[2, i]),
                )  # fmt: skip
                mat[0, i] = 1.0 + prod[0] * inv
                mat[1, i] = prod[1] * inv
                mat[2, i] = prod[2] * inv
                mat[3, i] = prod[3] * inv
                mat[4, i] = 1.0 + prod[4] * inv
                mat[5, i] = prod[5] * inv
                mat[6, i] = prod[6] * inv
                mat[7, i] = prod[7] * inv
                mat[8, i] = 1.0 + prod[8] * inv
                vec[0, i], vec[1, i], vec[2, i] = pv[0] * inv, pv[1] * inv, pv[2] * inv
        for step in range(most):
            for i in range(nb):
                mi = (mat[0, i], mat[1, i], mat[2, i], mat[3, i], mat[4, i], mat[5, i],
                      mat[6, i], mat[7, i], mat[8, i])  # fmt: skip
                vi = (vec[0, i], vec[1, i], vec[2, i])
                sq, sv = _compose(mi, vi, mi, vi)
                keep = step >= squarings[i]
                for j in range(9):
                    mat[j, i] = mi[j] if keep else sq[j]
                for j in range(3):
                    vec[j, i] = vi[j] if keep else sv[j]
        for i in range(nb):
            p = p0 + i
            x, y, zz = m[p].real, m[p].imag, z[p]
            m_out[p] = complex(
                mat[0, i] * x + mat[1, i] * y + mat[2, i] * zz + vec[0, i],
                mat[3, i] * x + mat[4, i] * y + mat[5, i] * zz + vec[1, i],
            )
            z_out[p] = mat[6, i] * x + mat[7, i] * y + mat[8, i] * zz + vec[2, i]
    return m_out, z_out


@njit(**_OPTIONS)
def _lane_sum(values: np.ndarray, count: int) -> float:
    lanes = np.zeros(_LANES)
    full = count - count % _LANES
    for i in range(0, full, _LANES):
        for j in range(_LANES):
            lanes[j] += values[i + j]
    total = 0.0
    for i in range(full, count):
        total += values[i]
    for j in range(_LANES):
        total += lanes[j]
    return total


@njit(**_OPTIONS)
def direct_sums(coeff: np.ndarray, phase: np.ndarray, count: int) -> np.ndarray:
    """Return ``sum_p coeff[q, p] * exp(1j * j * phase[p])`` for ``j < count``, every row q."""
    sets, n = coeff.shape
    re, im = np.zeros((sets, count, _LANES)), np.zeros((sets, count, _LANES))
    c, s = np.empty(_BLOCK), np.empty(_BLOCK)
    ar, ai = np.empty(_BLOCK), np.empty(_BLOCK)
    for q in range(sets):
        for p0 in range(0, n, _BLOCK):
            nb = min(_BLOCK, n - p0)
            _fill_cos_sin(phase[p0 : p0 + nb], c, s)
            for i in range(nb):
                ar[i], ai[i] = coeff[q, p0 + i].real, coeff[q, p0 + i].imag
            full = nb - nb % _LANES
            for j in range(count):
                for i in range(0, full, _LANES):
                    for k in range(_LANES):
                        re[q, j, k] += ar[i + k]
                        im[q, j, k] += ai[i + k]
                for i in range(full, nb):
                    re[q, j, 0] += ar[i]
                    im[q, j, 0] += ai[i]
                for i in range(nb):
                    ar[i], ai[i] = ar[i] * c[i] - ai[i] * s[i], ar[i] * s[i] + ai[i] * c[i]
    out = np.empty((sets, count), dtype=np.complex128)
    for q in range(sets):
        for j in range(count):
            out[q, j] = complex(_lane_sum(re[q, j], _LANES), _lane_sum(im[q, j], _LANES))
    return out


@njit(**_OPTIONS)
def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Return ``sum(a * b)`` in eight interleaved partial sums (fixed order)."""
    lanes = np.zeros(_LANES)
    n = a.shape[0]
    full = n - n % _LANES
    for i in range(0, full, _LANES):
        for j in range(_LANES):
            lanes[j] += a[i + j] * b[i + j]
    total = 0.0
    for i in range(full, n):
        total += a[i] * b[i]
    for j in range(_LANES):
        total += lanes[j]
    return total


@njit(**_OPTIONS)
def sampled_run(
    m: np.ndarray,
    z: np.ndarray,
    energy: np.ndarray,
    transverse: np.ndarray,
    longitudinal: np.ndarray,
    z_eq: np.ndarray,
    along: np.ndarray,
    across: np.ndarray,
    drive: np.ndarray,
    dt: float,
    gamma: float,
    out: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample-by-sample lab-frame maps (see :func:`simulator.kernels.sampled_run`).

    Packets in blocks that stay in the L1 cache; within a block, every sample in turn.
    All angles must be below :data:`TRIG_LIMIT` (checked by the caller).
    """
    n = z.shape[0]
    m_out, z_out = np.empty(n, dtype=np.complex128), np.empty(n)
    x, y, zz = np.empty(_BLOCK), np.empty(_BLOCK), np.empty(_BLOCK)
    contrib = np.empty(_BLOCK)
    decay = math.exp(-gamma * dt)
    i1 = -math.expm1(-gamma * dt) / gamma if gamma > 0.0 else 0.0
    scale = _FOUR_PI * dt
    for p0 in range(0, n, _BLOCK):
        nb = min(_BLOCK, n - p0)
        for i in range(nb):
            x[i], y[i], zz[i] = m[p0 + i].real, m[p0 + i].imag, z[p0 + i]
        for k in range(drive.shape[0]):
            b = drive[k]
            for i in range(nb):
                p = p0 + i
                contrib[i] = along[p] * (zz[i] - z_eq[p]) - across[p] * x[i]
                ox = -transverse[p] * b
                oz = energy[p] + longitudinal[p] * b
                w = math.sqrt(ox * ox + oz * oz)
                inv = 1.0 / w if w > 0.0 else 0.0
                nx, nz = ox * inv, oz * inv
                sp, cp = sincos(w * scale)
                xi, yi, zi = x[i], y[i], zz[i]
                ndr = (nx * xi + nz * zi) * (1.0 - cp)
                x1 = xi * cp - nz * yi * sp + nx * ndr
                y1 = yi * cp + (nz * xi - nx * zi) * sp
                z1 = zi * cp + nx * yi * sp + nz * ndr
                if gamma > 0.0:
                    wr = _FOUR_PI * w
                    den = 1.0 / (gamma * gamma + wr * wr)
                    ic = (gamma - decay * (gamma * cp - wr * sp)) * den
                    i_s = (wr - decay * (gamma * sp + wr * cp)) * den
                    par = (i1 - ic) * nz
                    gz = gamma * z_eq[p]
                    x1 = decay * x1 + gz * par * nx
                    y1 = decay * y1 - gz * i_s * nx
                    z1 = decay * z1 + gz * (ic + par * nz)
                x[i], y[i], zz[i] = x1, y1, z1
            out[k] += _lane_sum(contrib, nb)
        for i in range(nb):
            m_out[p0 + i] = complex(x[i], y[i])
            z_out[p0 + i] = zz[i]
    return m_out, z_out
