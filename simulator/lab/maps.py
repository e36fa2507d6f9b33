r"""Affine Bloch maps as arrays, vectorised over packets and steps: compose, power, apply, exp.

A map :math:`\vec r \to M\vec r + \vec v` of the Bloch vector (see :mod:`simulator.bloch`) is
stored as an array ``a`` of shape ``(3, 4, ...)``: ``a[:, :3]`` is M and ``a[:, 3]`` is
:math:`\vec v`, the trailing axes run over steps and packets (structure of arrays: every matrix
entry is one contiguous array, so that a product of maps is a dozen whole-array operations).

:func:`field_exp` is the exact map of a constant lab-frame field :math:`\vec h = (h_x, 0, h_z)`
with relaxation,

.. math:: \dot{\vec r} = A\vec r + \vec b,\quad
          A = \begin{pmatrix} -\Gamma_2 & -\omega_z & 0\\ \omega_z & -\Gamma_2 & -\omega_x\\
          0 & \omega_x & -\Gamma_1 \end{pmatrix},\quad \vec b = (0, 0, \Gamma_1 z_{eq}),
          \quad \vec\omega = 4\pi\vec h,

over t: :math:`M = e^{At}`, :math:`\vec v = t\,\varphi_1(At)\vec b`,
:math:`\varphi_1(X) = \sum_k X^k/(k+1)!`. Both series are summed in the basis
:math:`(I, X, X^2)` by the Cayley-Hamilton theorem, :math:`X^3 = p_2X^2 - p_1X + p_0I` (trace,
sum of principal minors and determinant of :math:`X = At`), so that a term costs a few
operations per packet instead of a matrix product; :math:`\|X\|` is brought below
:data:`simulator.kernels.TAYLOR_NORM` by scaling and squaring and the series is cut where its
remainder is below :math:`10^{-17}` (at most :data:`simulator.kernels.TAYLOR_DEGREE` terms).
"""

from __future__ import annotations

import math

import numpy as np

from spin_echo.simulator.kernels import TAYLOR_DEGREE, TAYLOR_NORM

__all__ = ["apply", "compose", "field_exp", "identity", "power", "product"]

FOUR_PI = 4.0 * math.pi
#: Truncation bound of the exponential's Taylor series, relative to the identity.
SERIES_TOLERANCE = 1e-17


def identity(shape: tuple[int, ...]) -> np.ndarray:
    """Return identity maps of batch shape ``shape`` (array ``(3, 4, *shape)``)."""
    out = np.zeros((3, 4, *shape))
    for i in range(3):
        out[i, i] = 1.0
    return out


def compose(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Return the map ``later`` after ``earlier`` (batch axes broadcast)."""
    out = later[:, 0:1] * earlier[0] + later[:, 1:2] * earlier[1] + later[:, 2:3] * earlier[2]
    out[:, 3] += later[:, 3]
    return out


def product(maps: np.ndarray) -> np.ndarray:
    r"""Return ``maps[:, :, S-1] ∘ ... ∘ maps[:, :, 0]`` (axis 2 in order of application).

    Pairwise (a tree of depth :math:`\lceil\log_2 S\rceil`), one array operation per level.
    """
    while maps.shape[2] > 1:
        count = maps.shape[2]
        even = count - count % 2
        paired = compose(maps[:, :, 1:even:2], maps[:, :, 0:even:2])
        if count % 2:
            paired = np.concatenate([paired, maps[:, :, even:]], axis=2)
        maps = paired
    return maps[:, :, 0]


def power(a: np.ndarray, count: int) -> np.ndarray:
    """Return ``a`` applied ``count`` times (binary powering: about 2 log2(count) products)."""
    result: np.ndarray | None = None
    square = a
    while count > 0:
        if count & 1:
            result = square if result is None else compose(square, result)
        count >>= 1
        if count:
            square = compose(square, square)
    return identity(a.shape[2:]) if result is None else result


def apply(
    a: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray, offset: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the Bloch vector ``(x, y, z)`` mapped by ``a``.

    ``offset`` scales the map's affine part (the relaxation towards equilibrium): a weighted sum
    of states with weights adding up to ``offset`` maps to the same sum of their images
    (:mod:`simulator.cycle`).
    """
    return tuple(a[i, 0] * x + a[i, 1] * y + a[i, 2] * z + offset * a[i, 3] for i in range(3))


def _degree(norm: float) -> int:
    term, k = 1.0, 0
    while k < TAYLOR_DEGREE:
        k += 1
        term *= norm / k
        if term * norm / (k + 1) < SERIES_TOLERANCE:
            break
    return k


def field_exp(
    hx_hz: np.ndarray,
    hz_hz: np.ndarray,
    gamma1: float,
    gamma2: float,
    z_eq: np.ndarray,
    duration_s: float | np.ndarray,
) -> np.ndarray:
    r"""Exact map of the constant field :math:`(h_x, 0, h_z)` (Hz) with relaxation.

    See the module docstring. ``hx_hz``, ``hz_hz``, ``z_eq`` and ``duration_s`` broadcast to
    the batch shape of the result; ``gamma1``, ``gamma2`` are :math:`\Gamma_1, \Gamma_2` in 1/s.

    Returns
    -------
    numpy.ndarray
        Maps of shape ``(3, 4, *batch)``.
    """
    t = np.asarray(duration_s, dtype=float)
    wx, wz = FOUR_PI * np.asarray(hx_hz) * t, FOUR_PI * np.asarray(hz_hz) * t
    g1, g2 = gamma1 * t, gamma2 * t
    bz = g1 * np.asarray(z_eq)
    shape = np.broadcast_shapes(wx.shape, wz.shape, bz.shape)
    a_wx, a_wz, a_bz = np.abs(wx), np.abs(wz), np.abs(bz)
    norm = float(np.max(np.maximum(a_wx + a_wz + np.abs(g2), a_wx + np.abs(g1) + a_bz)))
    squarings = max(0, math.ceil(math.log2(norm / TAYLOR_NORM))) if norm > 0 else 0
    scale = 0.5**squarings
    wx, wz, bz = wx * scale, wz * scale, bz * scale
    g1, g2 = g1 * scale, g2 * scale
    # X = At (scaled): x00 = x11 = -g2, x22 = -g1, x01 = -wz, x10 = wz, x12 = -wx, x21 = wx.
    wzz, wxx = wz * wz, wx * wx
    p2 = -(2.0 * g2 + g1)
    p1 = g2 * g2 + wzz + 2.0 * g1 * g2 + wxx
    p0 = -(g1 * g2 * g2 + g2 * wxx + g1 * wzz)
    ea, eb, ec = 1.0, 1.0, 0.5  # sums of X^k/k! in the basis (I, X, X^2), k <= 2
    fa, fb, fc = 1.0, 0.5, 1.0 / 6.0  # sums of X^k/(k+1)!
    al, be, ga = 0.0, 0.0, 0.5  # X^2/2!
    for k in range(2, _degree(norm * scale)):
        al, be, ga = ga * p0 / (k + 1), (al - ga * p1) / (k + 1), (be + ga * p2) / (k + 1)
        ea, eb, ec = ea + al, eb + be, ec + ga
        fa, fb, fc = fa + al / (k + 2), fb + be / (k + 2), fc + ga / (k + 2)
    gs = g1 + g2
    x = {
        (0, 0): -g2, (0, 1): -wz, (0, 2): 0.0,
        (1, 0): wz, (1, 1): -g2, (1, 2): -wx,
        (2, 0): 0.0, (2, 1): wx, (2, 2): -g1,
    }  # fmt: skip
    g2wz, gswx = 2.0 * g2 * wz, gs * wx
    x2 = {
        (0, 0): g2 * g2 - wzz, (0, 1): g2wz, (0, 2): wz * wx,
        (1, 0): -g2wz, (1, 1): g2 * g2 - wzz - wxx, (1, 2): gswx,
        (2, 0): wx * wz, (2, 1): -gswx, (2, 2): g1 * g1 - wxx,
    }  # fmt: skip
    out = np.empty((3, 4, *shape))
    for i in range(3):
        for j in range(3):
            out[i, j] = eb * x[i, j] + ec * x2[i, j]
        out[i, i] += ea
        out[i, 3] = bz * (fb * x[i, 2] + fc * x2[i, 2] + (fa if i == 2 else 0.0))
    for _ in range(squarings):
        out = compose(out, out)
    return out
