r"""Power sums over packets by a non-uniform FFT (type 1), compiled with numba.

The detection sum :math:`S_j = \sum_p c_p e^{ij\phi_p}`, :math:`j = 0 \dots M-1`, costs one
complex multiply-add per packet and point when done directly (or as a matrix product). As a
type-1 non-uniform FFT it costs :math:`w` kernel values per packet plus one FFT of
:math:`n_f \ge 2M` points, whatever M:

1. centre the modes, :math:`j = J_0 + k`, :math:`J_0 = \lfloor M/2\rfloor`, so
   :math:`S_{J_0+k} = \sum_p c'_p e^{ikx_p}` with :math:`c'_p = c_p e^{iJ_0 x_p}` and
   :math:`x_p = \phi_p \bmod 2\pi \in [-\pi, \pi]` (exact for :math:`|\phi_p| \le \pi`, else
   a three-part Cody-Waite reduction);
2. spread each packet onto a periodic grid of :math:`n_f` points (spacing
   :math:`h = 2\pi/n_f`) with the "exponential of semicircle" kernel
   :math:`\psi(u) = e^{\beta(\sqrt{1-(2u/w)^2}-1)}`, :math:`|u| < w/2` grid units,
   :math:`w = 16`, :math:`\beta = 2.30\,w` (Barnett, Magland & af Klinteberg, SIAM J. Sci.
   Comput. 41, C479 (2019)): :math:`b_l = \sum_p c'_p\psi(l - x_p/h)`;
3. :math:`S_{J_0+k} = \hat\psi(kh)^{-1}\sum_l b_l e^{iklh}` (one inverse FFT, numpy's
   pocketfft, of an 11-smooth length :func:`fast_length`), with
   :math:`\hat\psi(\xi) = \int\psi(u)\cos(\xi u)\,du` by Gauss-Legendre quadrature.

The kernel's w values per packet are piecewise polynomials of degree 20 in the packet's
offset from the grid (Chebyshev interpolation, converted to monomials once; Horner's rule
vectorised over blocks of 64 packets, whose chains are independent), so no exponential is
evaluated per packet. The error is below
1e-14 of :math:`\sum_p|c_p|` (the same order as the rounding of the phases themselves), and the
map is linear in c: splitting the packets into chunks changes only rounding.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit
from numpy.polynomial import chebyshev

from spin_echo.simulator.kernels.numba_backend import TRIG_LIMIT, sincos

__all__ = ["WIDTH", "fast_length", "power_sums"]

#: Kernel width (grid points per packet).
WIDTH = 16
_BETA = 2.30 * WIDTH
_DEGREE = 20
_BLOCK = 64
_TWO_PI = 2.0 * math.pi
# 2 pi in three parts (fdlibm's pi/2 split, times 4): turns * part 1 is exact below 2**20 turns.
_TWO_PI_1 = 4.0 * 1.57079632673412561417e00
_TWO_PI_2 = 4.0 * 6.07710050650619224932e-11
_TWO_PI_3 = 4.0 * 2.02226624879595063154e-21


def _kernel(u: np.ndarray) -> np.ndarray:
    v = 2.0 * u / WIDTH
    inside = np.abs(v) < 1.0
    return np.where(inside, np.exp(_BETA * (np.sqrt(np.where(inside, 1.0 - v * v, 0.0)) - 1.0)), 0)


@functools.cache
def _table() -> np.ndarray:
    """Monomial coefficients ``table[k, i]`` of kernel point i in s = 2 t - 1 (t: offset)."""
    theta = np.pi * (np.arange(_DEGREE + 1) + 0.5) / (_DEGREE + 1)
    nodes = np.cos(theta)
    basis = np.cos(np.outer(np.arange(_DEGREE + 1), theta))
    table = np.empty((_DEGREE + 1, WIDTH))
    for i in range(WIDTH):
        values = _kernel(i - WIDTH / 2 + (nodes + 1.0) / 2.0)
        cheb = (values * basis).sum(axis=1) * (2.0 / (_DEGREE + 1))
        cheb[0] /= 2.0
        table[:, i] = chebyshev.cheb2poly(cheb)
    return table


def fast_length(target: int) -> int:
    """Return the smallest length >= ``target`` whose prime factors are all at most 11.

    The FFT lengths that pocketfft transforms fastest (``scipy.fft.next_fast_len`` for complex
    data), found here without importing scipy.fft (about 40 ms).
    """
    length = max(1, int(target))
    while True:
        rest = length
        for prime in (2, 3, 5, 7, 11):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return length
        length += 1


@functools.lru_cache(maxsize=64)
def _plan(count: int) -> tuple[int, int, np.ndarray]:
    r"""Return the grid size, the centre mode J0 and :math:`1/\hat\psi` at the modes."""
    grid = fast_length(max(2 * count, 2 * WIDTH))
    centre = count // 2
    nodes, weights = np.polynomial.legendre.leggauss(4 * WIDTH)
    u, wu = (nodes + 1.0) * WIDTH / 4.0, weights * WIDTH / 4.0
    xi = (np.arange(count) - centre) * (_TWO_PI / grid)
    transform = 2.0 * (np.cos(np.outer(xi, u)) * (_kernel(u) * wu)).sum(axis=1)
    return grid, centre, 1.0 / transform


@njit(cache=True, nogil=True, error_model="numpy")
def _spread(
    coeff: np.ndarray,
    phase: np.ndarray,
    centre: int,
    grid: int,
    table: np.ndarray,
    out: np.ndarray,
) -> None:
    """Spread every row of ``coeff`` onto its grid (real and imaginary rows of ``out``)."""
    half = WIDTH // 2
    offset = grid // 2 + half + 1
    scale = grid / _TWO_PI
    ker = np.empty((WIDTH, _BLOCK))
    s, cs, sn = np.empty(_BLOCK), np.empty(_BLOCK), np.empty(_BLOCK)
    base = np.empty(_BLOCK, dtype=np.int64)
    n = phase.shape[0]
    for p0 in range(0, n, _BLOCK):
        nb = min(_BLOCK, n - p0)
        for j in range(nb):
            p = p0 + j
            turns = np.rint(phase[p] / _TWO_PI)
            x = ((phase[p] - turns * _TWO_PI_1) - turns * _TWO_PI_2) - turns * _TWO_PI_3
            a = centre * x
            if abs(a) <= TRIG_LIMIT:
                sn[j], cs[j] = sincos(a)
            else:
                sn[j], cs[j] = math.sin(a), math.cos(a)
            g = x * scale - half
            first = math.ceil(g)
            s[j] = 2.0 * (first - g) - 1.0
            base[j] = np.int64(first) + offset
        for i in range(WIDTH):
            row = ker[i]
            top = table[_DEGREE * WIDTH + i]
            for j in range(nb):
                row[j] = top
            for k in range(_DEGREE - 1, -1, -1):
                t = table[k * WIDTH + i]
                for j in range(nb):
                    row[j] = row[j] * s[j] + t
        for q in range(coeff.shape[0]):
            out_re, out_im = out[2 * q], out[2 * q + 1]
            for j in range(nb):
                c = coeff[q, p0 + j]
                cr = c.real * cs[j] - c.imag * sn[j]
                ci = c.real * sn[j] + c.imag * cs[j]
                b = base[j]
                for i in range(WIDTH):
                    out_re[b + i] += cr * ker[i, j]
                    out_im[b + i] += ci * ker[i, j]


def power_sums(coeff: np.ndarray, phase_rad: np.ndarray, count: int) -> np.ndarray:
    r"""Return :math:`S_j = \sum_p c_p e^{ij\phi_p}`, :math:`j < count`, by the NUFFT above.

    ``coeff`` may hold several rows (coefficient sets over the same phases): the kernel values
    are computed once for all, and the result has one row per set.
    """
    sets = np.ascontiguousarray(np.atleast_2d(coeff), dtype=complex)
    grid, centre, inverse = _plan(count)
    size = grid + WIDTH + 3
    out = np.zeros((2 * sets.shape[0], size))
    _spread(sets, np.ascontiguousarray(phase_rad, dtype=float), centre, grid, _table().ravel(), out)
    index = (np.arange(size) - (grid // 2 + WIDTH // 2 + 1)) % grid
    modes = (np.arange(count) - centre) % grid
    result = np.empty((sets.shape[0], count), dtype=complex)
    for q in range(sets.shape[0]):
        folded = np.bincount(index, out[2 * q], grid) + 1j * np.bincount(
            index, out[2 * q + 1], grid
        )
        result[q] = grid * np.fft.ifft(folded)[modes] * inverse
    return result if np.ndim(coeff) == 2 else result[0]
