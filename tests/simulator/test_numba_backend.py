"""The numba backend's blocked T1 != T2 map gives each packet the bits of that packet alone.

:func:`spin_echo.simulator.kernels.numba_backend.rotate_anisotropic` runs its packets in blocks
(each Taylor and squaring step over the whole block, packets with fewer squarings keeping their
map through the extra steps); a packet's result must not depend on its neighbours.
"""

from __future__ import annotations

import numpy as np
import pytest

numba_backend = pytest.importorskip("spin_echo.simulator.kernels.numba_backend")


def test_each_packet_of_a_block_is_the_packet_alone():
    rng = np.random.default_rng(11)
    n = 203  # several blocks and a short last one
    # field magnitudes over four decades: from none to many squarings within each block
    h = rng.normal(size=(3, n)) * np.logspace(2, 7, n)
    h[:, :3] = 0.0
    m = rng.normal(size=n) + 1j * rng.normal(size=n)
    z, z_eq = rng.normal(size=n), -rng.uniform(0.1, 1.0, n)
    args = (3e3, 7e4, z_eq, 2e-7)
    together = numba_backend.rotate_anisotropic(m, z, h[0], h[1], h[2], *args)
    for p in range(n):
        one = slice(p, p + 1)
        alone = numba_backend.rotate_anisotropic(
            m[one], z[one], h[0, one], h[1, one], h[2, one], 3e3, 7e4, z_eq[one], 2e-7
        )
        assert together[0][p].tobytes() == alone[0][0].tobytes(), p
        assert together[1][p].tobytes() == alone[1][0].tobytes(), p
