r"""Exact Bloch maps of one packet per piecewise-constant segment, vectorised over packets.

Each packet :math:`H_0/h = 2\delta\tau_x + \epsilon\tau_z = E\,\sigma_z'` is described in its
eigenbasis, :math:`\sigma_z' = \cos\eta\,\tau_z + \sin\eta\,\tau_x`, :math:`\sigma_x' =
\cos\eta\,\tau_x - \sin\eta\,\tau_z`, :math:`\sigma_y' = \tau_y` with :math:`\cos\eta =
\epsilon/E`, :math:`\sin\eta = 2\delta/E`, so that :math:`\tau_z = \cos\eta\,\sigma_z' -
\sin\eta\,\sigma_x'`. The state is the Bloch vector :math:`(x, y, z) = \langle\sigma'\rangle`
stored as :math:`m = x + iy` and :math:`z`; for :math:`H/h = \vec h\cdot\vec\sigma` (Hz)

.. math:: \dot{\vec r} = 4\pi\,\vec h\times\vec r - \Gamma(\vec r - \vec r_{eq}),
          \quad \Gamma = \mathrm{diag}(\Gamma_2, \Gamma_2, \Gamma_1),
          \quad \vec r_{eq} = (0, 0, -\tanh(E/k_BT)),

which is the Lindblad equation with amplitude damping (rates giving :math:`\Gamma_1`) and pure
dephasing (:math:`\Gamma_2 - \Gamma_1/2 \ge 0`) in the eigenbasis. The drive
:math:`\cos\theta\, b(t)\tau_z` with :math:`b = r\cos(2\pi f t + \varphi)`, in the frame rotating
at f (rotating-wave approximation), is the static field :math:`\vec h = (B\cos\varphi,
B\sin\varphi, E - f/2)` with :math:`B = -r\cos\theta\sin\eta/2` (Rabi frequency
:math:`r\cos\theta\,2\delta/E`). Maps per segment: rotation (Rodrigues) with isotropic decay
and its closed-form affine term when :math:`\Gamma_1 = \Gamma_2`; otherwise the 4x4 affine
generator is exponentiated (scaling and squaring of its Taylor series). Free evolution is
diagonal. The loops over packets run in :mod:`simulator.kernels` (numpy or numba).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from spin_echo.sequences.quantity import HZ_PER_K
from spin_echo.simulator import kernels
from spin_echo.simulator.ensemble import Ensemble

__all__ = ["PacketFrame", "Relaxation", "drive_field", "free_evolve", "rotate_relax"]

TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class Relaxation:
    r"""Bloch relaxation rates (1/s): population :math:`\Gamma_1`, coherence :math:`\Gamma_2`."""

    gamma1: float = 0.0
    gamma2: float = 0.0

    @classmethod
    def from_times(
        cls, t1_s: float | None, t2_s: float | None, *, extra1: float = 0.0, extra2: float = 0.0
    ) -> Relaxation:
        r"""Rates from T1/T2 (None = no such process) plus extra rates (1/s).

        T1 alone implies :math:`\Gamma_2 = \Gamma_1/2` (pure amplitude damping).

        Raises
        ------
        ValueError
            If T1 or T2 is not positive, or :math:`\Gamma_2 < \Gamma_1/2` (T2 > 2 T1), which
            no Lindblad evolution can produce.
        """
        for name, value in (("t1_s", t1_s), ("t2_s", t2_s)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        g1 = (0.0 if t1_s is None else 1.0 / t1_s) + extra1
        g2 = (0.5 * g1 if t2_s is None else 1.0 / t2_s + extra1 / 2.0) + extra2
        if t2_s is not None and t1_s is not None and g2 < 0.5 * g1 * (1 - 1e-12):
            raise ValueError(f"T2 = {t2_s!r} s exceeds 2 T1 = {2 * t1_s!r} s: not a Lindblad map")
        return cls(g1, g2)

    @property
    def isotropic(self) -> bool:
        """True when both rates are equal (closed-form maps apply)."""
        return self.gamma1 == self.gamma2


@dataclass(frozen=True, eq=False)
class PacketFrame:
    r"""Quantities of a chunk of packets that every map needs.

    Attributes
    ----------
    energy_hz
        :math:`E = \sqrt{\epsilon^2 + 4\delta^2}` (Hz); the transition frequency is 2E.
    cos_eta, sin_eta
        :math:`\epsilon/E` and :math:`2\delta/E` (1 and 0 when E = 0).
    coupling
        :math:`\cos\theta`.
    weight
        Packet weights.
    z_eq
        Thermal :math:`\langle\sigma_z'\rangle = -\tanh(E/k_BT)` (-1 at T = 0).
    mz_eq
        Equilibrium magnetisation of the chunk, :math:`\sum_p g_p\cos\theta_p\cos\eta_p
        z_{eq,p}` with the grain weights g (not normalised).
    """

    energy_hz: np.ndarray
    cos_eta: np.ndarray
    sin_eta: np.ndarray
    coupling: np.ndarray
    weight: np.ndarray
    z_eq: np.ndarray
    mz_eq: float

    @classmethod
    def build(
        cls, ensemble: Ensemble, temperature_k: float, epsilon_hz: np.ndarray | None = None
    ) -> PacketFrame:
        """Derive the frame of ``ensemble`` (with ``epsilon_hz`` replacing its bias if given)."""
        eps = ensemble.epsilon_hz if epsilon_hz is None else epsilon_hz
        energy = np.hypot(eps, 2.0 * ensemble.delta_hz)
        safe = np.where(energy > 0, energy, 1.0)
        cos_eta = np.where(energy > 0, eps / safe, 1.0)
        sin_eta = np.where(energy > 0, 2.0 * ensemble.delta_hz / safe, 0.0)
        if temperature_k > 0:
            z_eq = -np.tanh(energy / (HZ_PER_K * temperature_k))
        else:
            z_eq = np.where(energy > 0, -1.0, 0.0)
        mz_eq = float(kernels.dot(ensemble.grain_weight * ensemble.cos_theta * cos_eta, z_eq))
        return cls(energy, cos_eta, sin_eta, ensemble.cos_theta, ensemble.weight, z_eq, mz_eq)

    def scaled(self, factor: float) -> PacketFrame:
        """Return the frame with its equilibrium (``z_eq``, ``mz_eq``) scaled by ``factor``.

        The maps towards it then carry a weighted sum of states whose weights add up to
        ``factor`` (:mod:`simulator.cycle`); the frame itself for a factor of 1.
        """
        if factor == 1.0:
            return self
        return dataclasses.replace(self, z_eq=factor * self.z_eq, mz_eq=factor * self.mz_eq)


def free_evolve(
    m: np.ndarray,
    z: np.ndarray,
    frame: PacketFrame,
    relax: Relaxation,
    duration_s: float,
    carrier_hz: float,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Free evolution for ``duration_s`` in the frame rotating at the carrier.

    .. math:: m \to m\,e^{(2\pi i(2E - f_c) - \Gamma_2)t},\qquad
              z \to z_{eq} + (z - z_{eq})e^{-\Gamma_1 t}
    """
    phase = (TWO_PI * duration_s) * (2.0 * frame.energy_hz - carrier_hz)
    m = m * (math.exp(-relax.gamma2 * duration_s) * kernels.phasor(phase))
    z = frame.z_eq + (z - frame.z_eq) * math.exp(-relax.gamma1 * duration_s)
    return m, z


def drive_field(
    frame: PacketFrame, rabi_hz: float, phase_rad: float, frame_hz: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the static rotating-frame field (Hz) ``(hx, hy, hz)`` of a segment (eigenbasis)."""
    b = -0.5 * rabi_hz * frame.coupling * frame.sin_eta
    return b * math.cos(phase_rad), b * math.sin(phase_rad), frame.energy_hz - 0.5 * frame_hz


def rotate_relax(
    m: np.ndarray,
    z: np.ndarray,
    field: tuple[np.ndarray, np.ndarray, np.ndarray],
    relax: Relaxation,
    z_eq: np.ndarray,
    duration_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact map of a constant field and relaxation over ``duration_s``.

    With :math:`\Gamma_1 = \Gamma_2 = \Gamma` (or none), the closed form

    .. math:: \vec r(t) = e^{-\Gamma t}R(t)\vec r_0 + \Gamma\int_0^t e^{-\Gamma s}R(s)\,
              \vec r_{eq}\,ds,

    with :math:`R` the rotation by :math:`|\vec\Omega| t` about :math:`\vec n`,
    :math:`\vec\Omega = 4\pi\vec h`; otherwise the exponential of the 4x4 affine generator
    (:func:`simulator.kernels.rotate_anisotropic`).
    """
    if not relax.isotropic:
        return kernels.rotate_anisotropic(m, z, field, relax.gamma1, relax.gamma2, z_eq, duration_s)
    return kernels.rotate(m, z, field, relax.gamma1, z_eq, duration_s)
