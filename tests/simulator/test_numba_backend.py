"""The numba backend's blocked T1 != T2 map gives each packet the bits of that packet alone.

:func:`spin_echo.simulator.kernels.numba_backend.rotate_anisotropic` runs its packets in blocks
(each Taylor and squaring step over the whole block, packets with fewer squarings keeping their
map through the extra steps); a packet's result must not depend on its neighbours.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

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


def test_kernels_load_without_scipy_linalg_and_numba_keeps_its_blas():
    """numba's BLAS probe is skipped at start-up; compiled np.dot/np.convolve still work."""
    script = textwrap.dedent("""\
        import sys
        import numpy as np
        from spin_echo.simulator.kernels import numba_backend
        x = np.linspace(0.0, 1.0, 64)
        numba_backend.phasor(x)
        assert "scipy.linalg" not in sys.modules
        import numba
        import numba.np.arraymath
        assert numba.np.arraymath._HAVE_BLAS
        dot = numba.njit(lambda a, b: np.dot(a, b))
        convolve = numba.njit(lambda a, b: np.convolve(a, b))
        assert dot(x, x) == np.dot(x, x)
        assert np.allclose(convolve(x, x[:5]), np.convolve(x, x[:5]), rtol=1e-15, atol=0)
        """)  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
