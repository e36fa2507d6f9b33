r"""The paper's observables of an ensemble: the correlator P(t) and the absorption chi''.

Both are sums over packets of the biased two-level result (paper Eqs. 4-7), each packet with
:math:`a = 2\delta` and :math:`E = \sqrt{\epsilon^2 + a^2}` (Hz):

* :func:`correlator`: :math:`\langle\tau_z(t)\rangle` from :math:`|\!\uparrow\rangle` under free
  evolution, in the *physical* convention

  .. math:: P(t) = 1 - \frac{2}{W}\sum_p w_p \frac{a_p^2}{E_p^2}\sin^2(2\pi E_p t).

  The paper's Eq. (4) omits the factor 2 (DESIGN.md, "Reading the paper's formulas exactly"):
  its :math:`P_{paper} = 1 - (1 - P)/2`, e.g. :math:`1 - 2A\sum_k J_{2k+1}(2\pi\,4\Delta_o t)`
  for a flat bias density.
* :func:`absorption_spectrum`: the weighted histogram of the transition frequencies
  :math:`f = 2E` with weights :math:`(a/E)^2`, divided by the bin width and by W, so that
  :math:`\int\chi''(f)\,df = \sum_p w_p (a_p/E_p)^2 / W`. For a flat bias density
  :math:`W_0` (fraction of grains per Hz of bias) and one :math:`\Delta_o` it is

  .. math:: \chi''(f) = \frac{16 W_0\Delta_o^2}{f\sqrt{f^2 - 16\Delta_o^2}}\,
            \theta(f - 4\Delta_o),

  the shape of paper Eq. (7) (whose printed prefactor :math:`8\Delta_o A`, with
  :math:`A = \pi\Delta_o W_0`, is this one times :math:`\pi/2`, a normalisation convention).

W is the ensemble's normaliser (the weight of the grains, :class:`~simulator.ensemble.Ensemble`).
"""

from __future__ import annotations

import numpy as np

from spin_echo.simulator import kernels
from spin_echo.simulator.ensemble import Ensemble

__all__ = ["absorption_spectrum", "correlator"]

_BLOCK = 16384


def correlator(ensemble: Ensemble, times_s: np.ndarray) -> np.ndarray:
    r"""Return :math:`P(t)` (physical convention, see the module docstring) at ``times_s``.

    Parameters
    ----------
    ensemble
        Packets.
    times_s
        Times from the preparation in :math:`|\!\uparrow\rangle`, seconds.

    Returns
    -------
    numpy.ndarray
        :math:`P(t) = 1 - 2\sum_p w_p (a_p/E_p)^2\sin^2(2\pi E_p t)/W`, using
        :math:`\sin^2 x = (1 - \cos 2x)/2`; uniform time grids go through
        :func:`~simulator.kernels.power_sums`.
    """
    times = np.asarray(times_s, dtype=float)
    energy = ensemble.energy_hz
    safe = np.where(energy > 0, energy, 1.0)
    amp = ensemble.weight * np.where(energy > 0, (2.0 * ensemble.delta_hz / safe) ** 2, 0.0)
    omega = 4.0 * np.pi * energy
    spacing = np.diff(times)
    if len(times) > 2 and np.allclose(spacing, spacing[0], rtol=1e-12, atol=0):
        start = amp * np.exp(1j * omega * times[0])
        cos_sum = kernels.power_sums(start, omega * spacing[0], len(times)).real
    else:
        cos_sum = np.zeros(len(times))
        for first in range(0, len(amp), _BLOCK):
            part = slice(first, first + _BLOCK)
            cos_sum += amp[part] @ np.cos(np.outer(omega[part], times))
    deficit = amp.sum() - cos_sum
    return 1.0 - deficit / ensemble.norm


def absorption_spectrum(ensemble: Ensemble, freq_edges_hz: np.ndarray) -> np.ndarray:
    r"""Return :math:`\chi''` (1/Hz) in the bins ``freq_edges_hz`` (see the module docstring).

    Parameters
    ----------
    ensemble
        Packets.
    freq_edges_hz
        Increasing bin edges of the transition frequency :math:`f = 2E`, Hz.

    Returns
    -------
    numpy.ndarray
        One value per bin: :math:`\sum_{p\in\text{bin}} w_p(a_p/E_p)^2 / (W\,\Delta f)`.
    """
    edges = np.asarray(freq_edges_hz, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("freq_edges_hz must be at least two increasing frequencies")
    energy = ensemble.energy_hz
    safe = np.where(energy > 0, energy, 1.0)
    weight = ensemble.weight * np.where(energy > 0, (2.0 * ensemble.delta_hz / safe) ** 2, 0.0)
    hist, _ = np.histogram(2.0 * energy, bins=edges, weights=weight)
    return hist / (ensemble.norm * np.diff(edges))
