"""The library's two Hahn-echo phase cycles against the Bloch rotations of one packet.

Every packet at zero bias with Delta_o = 1 MHz sits on the 4 MHz carrier (2E = 4 Delta_o); with
its easy axis at theta to the field its Rabi frequency is cos(theta) times the nominal one, so
the library's pulses turn it by alpha = c pi/2 and beta = c pi (c = cos theta; rotating frame,
no relaxation: nothing moves between the pulses). Written out with rotation matrices (numpy
below, independent of the simulator): the pi pulse at phase phi maps the coherence m+ to
cos^2(beta/2) m+ + sin^2(beta/2) e^{2 i phi} m- plus a part of z turned by e^{i phi}.

* ``hahn-echo-exorcycle`` (phi = 90, 180, 270, 360 deg, receiver +, -, +, -) keeps only the
  echo pathway: ``|s| = c sin(alpha) sin^2(beta/2)``;
* ``hahn-echo`` (the pi/2 pulse flipped) cancels the z part only: the pi pulse about y leaves
  the y coherence of the pi/2 pulse whole, ``|s| = c sin(alpha)`` whatever beta.

The simulator's signal is -(1/W) sum w cos(theta) sin(eta) conj(m): ``|s| = c |m|`` here.
Agreement to 1e-13 (the rotations' rounding).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spin_echo.sequences import load_protocol
from spin_echo.simulator import load_sample
from spin_echo.simulator.simulation import Simulation, compile_point

SAMPLE = """\
name: one-packet
description: Every packet on resonance at the 4 MHz carrier, easy axis at {theta} deg.
spin: 4000
g: 2.0
tunnel_splitting: {{distribution: fixed, value: 1 MHz}}
bias: {{distribution: fixed, value: 0 Hz}}
orientation: {{distribution: fixed, theta: {theta} deg}}
packets: 16
seed: 1
temperature: 0 K
"""


def _rotation(angle: float, phase: float) -> np.ndarray:
    """Rotation by ``angle`` about the axis (cos phase, sin phase, 0) (Rodrigues)."""
    n = np.array([math.cos(phase), math.sin(phase), 0.0])
    k = np.array([[0, -n[2], n[1]], [n[2], 0, -n[0]], [-n[1], n[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)


def _combined(c: float, cycle) -> complex:
    """Receiver-weighted mean of m = x + i y after the two pulses, from rotation matrices."""
    total = 0j
    for step in cycle:
        first, second = step["pulses"]
        v = _rotation(c * math.pi / 2, first) @ np.array([0.0, 0.0, -1.0])
        v = _rotation(c * math.pi, math.pi / 2 + second) @ v
        total += step["receiver"] * (v[0] + 1j * v[1])
    return total / len(cycle)


@pytest.mark.parametrize("theta_deg", [0.0, 25.0, 40.0, 60.0])
@pytest.mark.parametrize("name", ["hahn-echo", "hahn-echo-exorcycle"])
def test_the_cycles_keep_the_pathways_the_rotations_say(name, theta_deg, tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(SAMPLE.format(theta=theta_deg), encoding="utf-8")
    protocol = load_protocol(name)
    steps = compile_point(protocol, {"tau": 5e-6})
    point = Simulation(load_sample(path)).run_point(steps, protocol.phase_cycle)
    c = math.cos(math.radians(theta_deg))
    alpha, beta = c * math.pi / 2, c * math.pi
    cycle = [{"pulses": s.pulse_phases_rad, "receiver": s.receiver} for s in protocol.phase_cycle]
    by_rotations = c * abs(_combined(c, cycle))
    if name == "hahn-echo-exorcycle":
        closed = c * math.sin(alpha) * math.sin(beta / 2) ** 2
    else:
        closed = c * math.sin(alpha)
    assert by_rotations == pytest.approx(closed, abs=1e-15)
    np.testing.assert_allclose(np.abs(point.signal), closed, rtol=0, atol=1e-13)
