"""Lab-frame propagation: QuTiP ``mesolve`` with the full time-dependent Hamiltonian, the
sample-by-sample waveform propagator, and the rotating-wave approximation's range.

References are built in the tau basis, :math:`H/h = 2\\delta\\tau_x + (\\epsilon + \\cos\\theta\\,
b(t))\\tau_z`, with Lindblad operators on the numerical eigenvectors of :math:`H_0`.
"""

from __future__ import annotations

import numpy as np
import pytest
import qutip

from spin_echo.sequences.quantity import HZ_PER_K
from spin_echo.sequences.timeline import Waveform
from spin_echo.simulator import Ensemble, propagate, propagate_sampled
from spin_echo.simulator.lab.memo import MapMemo

TWO_PI = 2 * np.pi
OPTIONS = {"atol": 1e-13, "rtol": 1e-12, "nsteps": 10_000_000, "max_step": 2e-9}
PACKETS = [(1.0e6, 0.1e6, 1.0), (0.9e6, -0.5e6, -0.7)]
WEIGHTS = np.array([1.0, 0.6])


def _ensemble():
    d, e, c = (np.array(v) for v in zip(*PACKETS, strict=True))
    return Ensemble(d, e, c, WEIGHTS)


def _packet_ops(delta, eps, t1_s=None, t2_s=None, temperature_k=0.0):
    tx, tz = qutip.sigmax(), qutip.sigmaz()
    h0 = 2 * delta * tx + eps * tz
    _, (g, e) = h0.eigenstates()
    energy = np.hypot(eps, 2 * delta)
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
        c_ops.append(np.sqrt((g2 - g1 / 2) / 2) * (e * e.dag() - g * g.dag()))
    rho = 0.5 * (qutip.qeye(2) + z_eq * (e * e.dag() - g * g.dag()))
    return h0, tz, c_ops, rho


RELAX = {"none": {}, "relaxing": {"t1_s": 0.4e-6, "t2_s": 0.3e-6, "temperature_k": 1e-4}}


@pytest.mark.parametrize("relax", RELAX.values(), ids=RELAX.keys())
def test_lab_frame_against_qutip(make_timeline, relax):
    rabi, fc = 2e6, 4e6
    timeline = make_timeline(
        [
            (0.1e-6, rabi, 0.4),
            (0.15e-6, 0.0, 0.0),
            (0.12e-6, 1.5e6, 2.0, 0.3e6),
            (0.3e-6, 0.0, 0.0),
        ],
        carrier_hz=fc,
        detect=[(0.02e-6, 0.2e-6, 11), (0.4e-6, 0.25e-6, 9)],
    )
    obs = propagate(timeline, _ensemble(), frame="lab", **relax)
    lab_mz = obs.mz + (obs.signal * np.exp(-2j * np.pi * fc * obs.times_s)).real
    reference = np.zeros(len(obs.times_s))
    for w, (delta, eps, cos_t) in zip(WEIGHTS, PACKETS, strict=True):
        h0, tz, c_ops, rho = _packet_ops(delta, eps, **relax)
        for k, (t_k, d_k) in enumerate(zip(timeline.start_s, timeline.duration_s, strict=True)):
            r, phi, df = timeline.rabi_hz[k], timeline.phase_rad[k], timeline.offset_hz[k]

            def coeff(t, r=r, phi=phi, df=df, t_k=t_k, cos_t=cos_t):
                return TWO_PI * cos_t * r * np.cos(TWO_PI * fc * t + phi + TWO_PI * df * (t - t_k))

            inside = np.flatnonzero((obs.times_s >= t_k) & (obs.times_s < t_k + d_k))
            tlist = np.concatenate([[t_k], obs.times_s[inside], [t_k + d_k]])
            h = qutip.QobjEvo([TWO_PI * h0, [tz, coeff]]) if r > 0 else TWO_PI * h0
            result = qutip.mesolve(h, rho, tlist, c_ops, options=OPTIONS)
            for j, state in zip(inside, result.states[1:-1], strict=True):
                reference[j] += w * cos_t * qutip.expect(tz, state)
            rho = result.states[-1]
    reference /= WEIGHTS.sum()
    np.testing.assert_allclose(lab_mz, reference, rtol=0, atol=1e-7 * np.abs(reference).max())


@pytest.mark.parametrize("relax", RELAX.values(), ids=RELAX.keys())
def test_sampled_waveform_is_exact(kernel_backend, relax):
    rate, fc, full_scale = 50e6, 4e6, 5e6
    t = np.arange(120) / rate
    samples = np.where((t > 0.2e-6) & (t < 1.6e-6), 0.0, 0.8 * np.cos(TWO_PI * fc * t + 0.3))
    samples[:3] = 0.0
    samples = np.round(samples * 32767) / 32767
    waveform = Waveform(rate, samples, 16, np.zeros((2, len(samples)), bool), fc, full_scale, ())
    mz = propagate_sampled(waveform, _ensemble(), **relax)
    reference = np.zeros(len(samples))
    for w, (delta, eps, cos_t) in zip(WEIGHTS, PACKETS, strict=True):
        h0, tz, c_ops, rho = _packet_ops(delta, eps, **relax)
        for k, value in enumerate(samples):
            reference[k] += w * cos_t * qutip.expect(tz, rho)
            h = TWO_PI * (h0 + cos_t * value * full_scale * tz)
            rho = qutip.mesolve(h, rho, [0.0, 1 / rate], c_ops, options=OPTIONS).states[-1]
    reference /= WEIGHTS.sum()
    np.testing.assert_allclose(mz, reference, rtol=0, atol=1e-8 * np.abs(reference).max())


def test_sampled_threads_do_not_change_a_bit(kernel_backend):
    rate, fc = 100e6, 4e6
    t = np.arange(400) / rate
    samples = np.where(t < 1e-6, 0.5 * np.cos(TWO_PI * fc * t), 0.0)
    waveform = Waveform(rate, samples, 16, np.zeros((2, len(samples)), bool), fc, 5e6, ())
    rng = np.random.default_rng(4)
    n = 3000
    ens = Ensemble(rng.uniform(0.9e6, 1.1e6, n), rng.normal(0, 0.3e6, n), rng.uniform(-1, 1, n), 1)
    one = propagate_sampled(waveform, ens, t1_s=2e-6, t2_s=2e-6, chunk=400, threads=1)
    two = propagate_sampled(waveform, ens, t1_s=2e-6, t2_s=2e-6, chunk=400, threads=2)
    assert np.array_equal(one, two)


def test_rotating_frame_agrees_with_lab_frame_where_rwa_holds(make_timeline):
    """The rotating-wave error scales like Rabi / carrier: |s_rot - s_lab| <= 2 Rabi/f_c."""
    fc = 4e6
    ens = Ensemble(
        np.array([1e6, 0.95e6, 1.02e6]),
        np.array([0.05e6, -0.3e6, 0.2e6]),
        np.array([1.0, 0.7, -0.5]),
        np.array([1.0, 1.0, 2.0]),
    )
    errors = []
    for ratio in (2e-2, 5e-3):
        rabi = ratio * fc
        t_p = 1 / (4 * rabi)
        segments = [
            (t_p, rabi, 0.0),
            (2e-6, 0.0, 0.0),
            (2 * t_p, rabi, np.pi / 2),
            (6e-6, 0.0, 0.0),
        ]
        windows = [(0.5 * t_p, 0.4 * t_p, 5), (3 * t_p + 3e-6, 2e-6, 50)]
        timeline = make_timeline(segments, carrier_hz=fc, detect=windows)
        rot = propagate(timeline, ens, eigenbasis=True)
        lab = propagate(timeline, ens, frame="lab", eigenbasis=True)
        scale = np.abs(rot.signal).max()
        eigen_error = (
            np.abs((rot.eigen_x - lab.eigen_x) + 1j * (rot.eigen_y - lab.eigen_y)).max()
            / np.abs(rot.eigen_x + 1j * rot.eigen_y).max()
        )
        assert eigen_error <= 2 * ratio
        error = max(np.abs(rot.signal - lab.signal).max(), np.abs(rot.mz - lab.mz).max()) / scale
        assert error <= 2 * ratio
        errors.append(error)
    assert errors[1] < errors[0] / 2


@pytest.mark.parametrize("relax", RELAX.values(), ids=RELAX.keys())
def test_sampled_from_a_first_sample_agrees_with_every_sample(kernel_backend, relax):
    """Pulses before the first wanted sample as whole-run maps (memo) vs sample by sample."""
    rate, fc = 100e6, 4e6
    t = np.arange(600) / rate
    pulses = (t < 1e-6) | ((t > 2e-6) & (t < 3e-6)) | ((t > 4.5e-6) & (t < 4.8e-6))
    samples = np.where(pulses, 0.5 * np.cos(TWO_PI * fc * t + 0.2), 0.0)
    waveform = Waveform(rate, samples, 16, np.zeros((2, len(samples)), bool), fc, 5e6, ())
    ens = _ensemble()
    every = propagate_sampled(waveform, ens, **relax)
    scale = np.abs(every).max()
    memo = MapMemo()
    for first in (0, 150, 250, 470, 599):  # in a gap, inside a pulse, in the last pulse
        part = propagate_sampled(waveform, ens, first_sample=first, map_memo=memo, **relax)
        assert not part[:first].any()
        np.testing.assert_allclose(part[first:], every[first:], rtol=0, atol=1e-13 * scale)
        again = propagate_sampled(waveform, ens, first_sample=first, map_memo=memo, **relax)
        assert np.array_equal(part, again)
    assert memo.hits > 0
