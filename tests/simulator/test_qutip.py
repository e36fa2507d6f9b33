"""The rotating-frame propagator against QuTiP ``mesolve`` (test-only reference).

QuTiP integrates the Lindblad equation numerically (tolerances 1e-12) segment by segment, with
each packet's operators built from the numerical eigenvectors of :math:`H_0 = 2\\delta\\tau_x +
\\epsilon\\tau_z`; the propagator applies closed-form maps. The reference Hamiltonian in the
frame rotating at the carrier is the rotating-wave form of the drive
:math:`\\cos\\theta\\, b(t)\\tau_z`, whose transverse part :math:`-\\cos\\theta\\sin\\eta\\, b(t)
\\sigma_x'` keeps its co-rotating half :math:`-r\\cos\\theta\\sin\\eta/2\\,(\\cos\\psi\\sigma_x'
+ \\sin\\psi\\sigma_y')`, :math:`\\psi = \\varphi + 2\\pi\\Delta f(t - t_k)`.
Agreement: 1e-8 of the signal's maximum.
"""

from __future__ import annotations

import numpy as np
import pytest
import qutip

from spin_echo.sequences.quantity import HZ_PER_K
from spin_echo.simulator import Ensemble, propagate

TWO_PI = 2 * np.pi
OPTIONS = {"atol": 1e-13, "rtol": 1e-12, "nsteps": 1_000_000}


def _operators(delta_hz, epsilon_hz):
    tx, tz = qutip.sigmax(), qutip.sigmaz()
    h0 = 2 * delta_hz * tx + epsilon_hz * tz
    _, (g, e) = h0.eigenstates()
    phase = complex(e.dag() * tz * g)
    e = e * (-np.conj(phase) / abs(phase))
    xp = e * g.dag() + g * e.dag()
    yp = -1j * e * g.dag() + 1j * g * e.dag()
    zp = e * e.dag() - g * g.dag()
    return xp, yp, zp, g, e


def _reference(timeline, packet, *, t1_s=None, t2_s=None, temperature_k=0.0):
    """Signal and m_z of one packet from QuTiP, segment by segment."""
    delta, eps, cos_t = packet
    energy = np.hypot(eps, 2 * delta)
    sin_eta, cos_eta = 2 * delta / energy, eps / energy
    xp, yp, zp, g, e = _operators(delta, eps)
    z_eq = -np.tanh(energy / (HZ_PER_K * temperature_k)) if temperature_k > 0 else -1.0
    g1 = 0.0 if t1_s is None else 1 / t1_s
    g2 = g1 / 2 if t2_s is None else 1 / t2_s
    c_ops = []
    if g1 > 0:
        c_ops += [
            np.sqrt(g1 * (1 - z_eq) / 2) * g * e.dag(),
            np.sqrt(g1 * (1 + z_eq) / 2) * e * g.dag(),
        ]
    if g2 - g1 / 2 > 0:
        c_ops.append(np.sqrt((g2 - g1 / 2) / 2) * zp)
    rho = 0.5 * (qutip.qeye(2) + z_eq * zp)
    times = timeline.detect_times_s
    signal = np.zeros(len(times), dtype=complex)
    mz = np.zeros(len(times))
    fc = timeline.carrier_hz
    for k, (t_k, d_k) in enumerate(zip(timeline.start_s, timeline.duration_s, strict=True)):
        b = -0.5 * timeline.rabi_hz[k] * cos_t * sin_eta
        phi, df = timeline.phase_rad[k], timeline.offset_hz[k]
        h_static = TWO_PI * (energy - fc / 2) * zp
        hamiltonian = [
            h_static,
            [
                TWO_PI * b * xp,
                lambda t, phi=phi, df=df, t_k=t_k: np.cos(phi + TWO_PI * df * (t - t_k)),
            ],
            [
                TWO_PI * b * yp,
                lambda t, phi=phi, df=df, t_k=t_k: np.sin(phi + TWO_PI * df * (t - t_k)),
            ],
        ]
        inside = np.flatnonzero((times >= t_k) & (times < t_k + d_k))
        tlist = np.concatenate([[t_k], times[inside], [t_k + d_k]])
        result = mesolve(hamiltonian, rho, tlist, c_ops, options=OPTIONS)
        for j, state in zip(inside, result.states[1:-1], strict=True):
            x, y, z = (qutip.expect(op, state) for op in (xp, yp, zp))
            signal[j] = -cos_t * sin_eta * (x - 1j * y)
            mz[j] = cos_t * cos_eta * z
        rho = result.states[-1]
    return signal, mz


def mesolve(hamiltonian, rho, tlist, c_ops, options):
    if all(abs(h[0].norm()) == 0 for h in hamiltonian[1:]):
        hamiltonian = hamiltonian[0]
    return qutip.mesolve(
        qutip.QobjEvo(hamiltonian) if isinstance(hamiltonian, list) else hamiltonian,
        rho,
        tlist,
        c_ops,
        options=options,
    )


PACKETS = [(1.0e6, 0.05e6, 1.0), (0.93e6, -0.4e6, 0.6), (1.1e6, 0.7e6, -0.8)]
WEIGHTS = np.array([1.0, 0.5, 2.0])


def _ensemble(packets):
    d, e, c = (np.array(v) for v in zip(*packets, strict=True))
    return Ensemble(d, e, c, WEIGHTS[: len(packets)])


def _compare(timeline, packets, **kwargs):
    ens = _ensemble(packets)
    obs = propagate(timeline, ens, **kwargs)
    ref_s = np.zeros(len(obs.times_s), dtype=complex)
    ref_m = np.zeros(len(obs.times_s))
    for w, packet in zip(ens.weight, packets, strict=True):
        s, m = _reference(timeline, packet, **kwargs)
        ref_s += w * s
        ref_m += w * m
    ref_s /= ens.weight.sum()
    ref_m /= ens.weight.sum()
    scale = max(np.abs(ref_s).max(), np.abs(ref_m).max())
    np.testing.assert_allclose(obs.signal, ref_s, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(obs.mz, ref_m, rtol=0, atol=1e-8 * scale)


RELAX = {
    "none": {},
    "isotropic": {"t1_s": 2e-6, "t2_s": 2e-6, "temperature_k": 1e-4},
    "t1-t2": {"t1_s": 3e-6, "t2_s": 1e-6, "temperature_k": 2e-4},
}


@pytest.mark.parametrize("relax", RELAX.values(), ids=RELAX.keys())
def test_hahn_echo_small_ensemble(make_hahn, relax):
    timeline = make_hahn(0.6e-6, t_pi2_s=60e-9, rabi_hz=4e6, window_s=0.8e-6, points=24)
    _compare(timeline, PACKETS, **relax)


@pytest.mark.parametrize("relax", RELAX.values(), ids=RELAX.keys())
def test_shaped_pulse_with_offsets_and_detection_inside_pulses(make_timeline, relax):
    envelope = np.exp(-0.5 * np.linspace(-2, 2, 7) ** 2) * 5e6
    segments = [(25e-9, r, 0.2 * i, 0.3e6 * (i - 3)) for i, r in enumerate(envelope)]
    segments += [(0.4e-6, 0.0, 0.0), (0.2e-6, 2e6, 1.0, 0.5e6), (0.5e-6, 0.0, 0.0)]
    timeline = make_timeline(segments, detect=[(60e-9, 0.4e-6, 9), (0.7e-6, 0.6e-6, 12)])
    _compare(timeline, PACKETS, **relax)


def test_single_packet_free_precession(make_timeline):
    timeline = make_timeline([(40e-9, 6e6, 0.0), (1e-6, 0.0, 0.0)], detect=[(40e-9, 1e-6, 16)])
    _compare(timeline, PACKETS[1:2], t1_s=5e-6, t2_s=0.8e-6)
