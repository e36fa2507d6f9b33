r"""Per-packet reference propagators for the benchmark: QuTiP ``mesolve`` and a scipy ``expm`` loop.

Both solve one packet at a time, the way a physicist would without this project, from the
contract in :mod:`sequences.timeline` alone (they share no code with :mod:`simulator`).

Model. In the eigenbasis of :math:`H_0/h = 2\delta\tau_x + \epsilon\tau_z = E\sigma_z'`
(:math:`E = \sqrt{\epsilon^2 + 4\delta^2}`), :math:`\tau_z = (\epsilon/E)\sigma_z' +
(2\delta/E)\sigma_x'`. The drive :math:`\cos\theta\, b(t)\tau_z` with
:math:`b = r_k\cos(2\pi f_c t + \varphi_k)`, in the frame rotating at the carrier
(:math:`V = e^{i\pi f_c t\sigma_z'}`, absolute time) and the rotating-wave approximation, gives

.. math:: H_\mathrm{rot}/h = \tfrac12\,\vec\Omega\cdot\vec\sigma', \qquad
          \vec\Omega = (\kappa r_k\cos\varphi_k,\ \kappa r_k\sin\varphi_k,\ 2E - f_c),
          \qquad \kappa = \cos\theta\,2\delta/E ,

so the Bloch vector obeys :math:`\dot{\vec m} = 2\pi\vec\Omega\times\vec m - R(\vec m -
\vec m_\mathrm{eq})` with :math:`R = \mathrm{diag}(1/T_2, 1/T_2, 1/T_1)` and
:math:`m_{z,\mathrm{eq}} = -\tanh(hE/k_BT)` (-1 at zero temperature), starting at equilibrium.
The detected signal :math:`s = 2\,\mathrm{LPF}[M_z e^{2\pi i f_c t}]` of a packet is
:math:`s_p = \kappa_p\,(m_x - i m_y)` (rotating frame), and the ensemble signal is
:math:`\sum_p w_p s_p / \sum_p w_p`.

Lab frame (sampled waveforms): no rotating frame, no RWA. Sample :math:`k` holds
:math:`b_k = r_\mathrm{full}\,x_k` for one sample period, so
:math:`\vec\Omega_k = (2\kappa b_k,\ 0,\ 2E + 2\cos\theta\,b_k\,\epsilon/E)` and the packet's
:math:`M_z = \cos\theta\,[(\epsilon/E) m_z + (2\delta/E) m_x]`.
"""

from __future__ import annotations

import math

import numpy as np
import qutip
import scipy.linalg

from spin_echo.sequences.timeline import Timeline, Waveform

__all__ = [
    "equilibrium_mz",
    "expm_loop_lab_mz",
    "expm_loop_signal",
    "qutip_signal",
]

_H_OVER_KB = 4.799243073366221e-11  # Planck / Boltzmann, K s


def equilibrium_mz(energy_hz: np.ndarray, temperature_k: float) -> np.ndarray:
    r"""Return :math:`m_{z,\mathrm{eq}} = -\tanh(hE/k_BT)` (-1 at zero temperature)."""
    if temperature_k <= 0:
        return -np.ones_like(energy_hz)
    return -np.tanh(_H_OVER_KB * energy_hz / temperature_k)


def _packet_constants(
    delta_hz: float, epsilon_hz: float, cos_theta: float
) -> tuple[float, float, float]:
    """Return ``(E, kappa, eps/E)`` of one packet."""
    energy = math.hypot(epsilon_hz, 2.0 * delta_hz)
    return energy, cos_theta * 2.0 * delta_hz / energy, epsilon_hz / energy


def _rates(t1_s: float | None, t2_s: float | None) -> tuple[float, float]:
    return (0.0 if t1_s is None else 1.0 / t1_s), (0.0 if t2_s is None else 1.0 / t2_s)


def _generator(omega_hz: np.ndarray, g1: float, g2: float, mz_eq: float) -> np.ndarray:
    """Homogeneous 4x4 generator of the Bloch equation, per second."""
    ox, oy, oz = 2.0 * math.pi * omega_hz
    return np.array(
        [
            [-g2, -oz, oy, 0.0],
            [oz, -g2, -ox, 0.0],
            [-oy, ox, -g1, g1 * mz_eq],
            [0.0, 0.0, 0.0, 0.0],
        ]
    )


def _check_no_offsets(timeline: Timeline) -> None:
    if np.any(timeline.offset_hz != 0):
        raise ValueError("the reference propagators take segments without frequency offsets")


def _split_detection(timeline: Timeline) -> list[np.ndarray]:
    """Return, per segment, the detection times in ``[start, end)`` (last: ``[start, end]``)."""
    times = timeline.detect_times_s
    ends = timeline.start_s + timeline.duration_s
    out = []
    for k, (start, end) in enumerate(zip(timeline.start_s, ends, strict=True)):
        last = k == len(ends) - 1
        inside = (times >= start) & ((times <= end) if last else (times < end))
        out.append(times[inside])
    return out


def _uniform_step(times: np.ndarray) -> float:
    """Return the spacing of a uniform grid of detection times, seconds."""
    step = (times[-1] - times[0]) / (len(times) - 1)
    if np.max(np.abs(np.diff(times) - step)) > 1e-9 * step:
        raise ValueError("detection times inside one segment must be uniformly spaced")
    return float(step)


def expm_loop_signal(
    timeline: Timeline,
    delta_hz: np.ndarray,
    epsilon_hz: np.ndarray,
    cos_theta: np.ndarray,
    *,
    t1_s: float | None,
    t2_s: float | None,
    temperature_k: float = 0.0,
) -> np.ndarray:
    """Rotating-frame detected signal of each packet, by a loop over packets and segments.

    Each segment's propagator is ``scipy.linalg.expm`` of the 4x4 Bloch generator; inside a
    segment the detection grid is walked with the propagator of one grid step.

    Returns
    -------
    numpy.ndarray
        Complex array ``(packets, detection points)``: :math:`s_p(t_j)` per packet, unweighted.
    """
    _check_no_offsets(timeline)
    g1, g2 = _rates(t1_s, t2_s)
    detect = _split_detection(timeline)
    fc = timeline.carrier_hz
    out = np.empty((len(delta_hz), len(timeline.detect_times_s)), dtype=complex)
    for p in range(len(delta_hz)):
        energy, kappa, _ = _packet_constants(delta_hz[p], epsilon_hz[p], cos_theta[p])
        mz_eq = float(equilibrium_mz(np.array([energy]), temperature_k)[0])
        m = np.array([0.0, 0.0, mz_eq, 1.0])
        column = 0
        for k in range(len(timeline.start_s)):
            r, phi = timeline.rabi_hz[k], timeline.phase_rad[k]
            omega = np.array(
                [kappa * r * math.cos(phi), kappa * r * math.sin(phi), 2 * energy - fc]
            )
            gen = _generator(omega, g1, g2, mz_eq)
            start = timeline.start_s[k]
            times = detect[k]
            if len(times):
                m = scipy.linalg.expm(gen * (times[0] - start)) @ m
                out[p, column] = kappa * (m[0] - 1j * m[1])
                if len(times) > 1:
                    step = scipy.linalg.expm(gen * _uniform_step(times))
                    for j in range(1, len(times)):
                        m = step @ m
                        out[p, column + j] = kappa * (m[0] - 1j * m[1])
                column += len(times)
                m = scipy.linalg.expm(gen * (start + timeline.duration_s[k] - times[-1])) @ m
            else:
                m = scipy.linalg.expm(gen * timeline.duration_s[k]) @ m
    return out


def qutip_signal(
    timeline: Timeline,
    delta_hz: np.ndarray,
    epsilon_hz: np.ndarray,
    cos_theta: np.ndarray,
    *,
    t1_s: float | None,
    t2_s: float | None,
    temperature_k: float = 0.0,
    atol: float = 1e-12,
    rtol: float = 1e-11,
) -> np.ndarray:
    r"""Rotating-frame detected signal of each packet, by QuTiP ``mesolve`` per packet and segment.

    The Lindblad operators are :math:`\sqrt{\gamma_\downarrow}\sigma_-`,
    :math:`\sqrt{\gamma_\uparrow}\sigma_+` with :math:`\gamma_\downarrow + \gamma_\uparrow
    = 1/T_1`, :math:`(\gamma_\uparrow - \gamma_\downarrow)T_1 = m_{z,\mathrm{eq}}`, and the
    dephasing :math:`\sqrt{\gamma_\phi}\sigma_z` with :math:`\gamma_\phi = (1/T_2 -
    1/2T_1)/2`. Time runs in microseconds inside QuTiP.

    Returns
    -------
    numpy.ndarray
        Complex array ``(packets, detection points)``, unweighted.
    """
    _check_no_offsets(timeline)
    g1, g2 = _rates(t1_s, t2_s)
    if g2 < g1 / 2:
        raise ValueError("T2 <= 2 T1 is needed for a Lindblad evolution")
    detect = _split_detection(timeline)
    fc = timeline.carrier_hz
    sx, sy, sz = qutip.sigmax(), qutip.sigmay(), qutip.sigmaz()
    sm, sp = qutip.sigmam(), qutip.sigmap()
    options = {"atol": atol, "rtol": rtol, "nsteps": 1_000_000, "store_final_state": True}
    us = 1e-6
    out = np.empty((len(delta_hz), len(timeline.detect_times_s)), dtype=complex)
    for p in range(len(delta_hz)):
        energy, kappa, _ = _packet_constants(delta_hz[p], epsilon_hz[p], cos_theta[p])
        mz_eq = float(equilibrium_mz(np.array([energy]), temperature_k)[0])
        c_ops = []
        if g1 > 0:
            down, up = g1 * (1 - mz_eq) / 2, g1 * (1 + mz_eq) / 2
            c_ops += [math.sqrt(down * us) * sm, math.sqrt(up * us) * sp]
        dephase = (g2 - g1 / 2) / 2
        if dephase > 0:
            c_ops.append(math.sqrt(dephase * us) * sz)
        rho = qutip.Qobj(np.diag([(1 + mz_eq) / 2, (1 - mz_eq) / 2]).astype(complex))
        column = 0
        for k in range(len(timeline.start_s)):
            r, phi = timeline.rabi_hz[k], timeline.phase_rad[k]
            ox, oy, oz = kappa * r * math.cos(phi), kappa * r * math.sin(phi), 2 * energy - fc
            hamiltonian = math.pi * us * (ox * sx + oy * sy + oz * sz)
            start, end = timeline.start_s[k], timeline.start_s[k] + timeline.duration_s[k]
            times = detect[k]
            tlist = np.unique(np.concatenate(([start], times, [end])))
            result = qutip.mesolve(
                hamiltonian, rho, tlist / us, c_ops, e_ops=[sx, sy], options=options
            )
            if len(times):
                sel = np.searchsorted(tlist, times)
                mx, my = np.asarray(result.expect[0])[sel], np.asarray(result.expect[1])[sel]
                out[p, column : column + len(times)] = kappa * (mx - 1j * my)
                column += len(times)
            rho = result.final_state
    return out


def expm_loop_lab_mz(
    waveform: Waveform,
    delta_hz: np.ndarray,
    epsilon_hz: np.ndarray,
    cos_theta: np.ndarray,
    *,
    t1_s: float | None,
    t2_s: float | None,
    temperature_k: float = 0.0,
) -> np.ndarray:
    """Lab-frame :math:`M_z` of each packet at every sample time of ``waveform`` (expm loop).

    Returns
    -------
    numpy.ndarray
        Real array ``(packets, samples)``: :math:`M_z` at each sample time :math:`k/f_s`,
        before sample ``k`` acts; unweighted.
    """
    g1, g2 = _rates(t1_s, t2_s)
    dt = 1.0 / waveform.sample_rate_hz
    drive = waveform.full_scale_rabi_hz * waveform.samples
    values, index = np.unique(drive, return_inverse=True)
    out = np.empty((len(delta_hz), len(drive)))
    for p in range(len(delta_hz)):
        energy, kappa, eps_ratio = _packet_constants(delta_hz[p], epsilon_hz[p], cos_theta[p])
        mz_eq = float(equilibrium_mz(np.array([energy]), temperature_k)[0])
        steps = [
            scipy.linalg.expm(
                _generator(
                    np.array([2 * kappa * b, 0.0, 2 * energy + 2 * cos_theta[p] * b * eps_ratio]),
                    g1,
                    g2,
                    mz_eq,
                )
                * dt
            )
            for b in values
        ]
        m = np.array([0.0, 0.0, mz_eq, 1.0])
        weight_z, weight_x = cos_theta[p] * eps_ratio, kappa
        for j, which in enumerate(index):
            out[p, j] = weight_z * m[2] + weight_x * m[0]
            m = steps[which] @ m
    return out
