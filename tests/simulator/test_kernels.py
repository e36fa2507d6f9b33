"""Kernels of the propagators against independent references, in every available backend.

References: numpy's libm ``cos``/``sin``/``exp`` for the trigonometry, direct sums for the
powers, scipy's ``Rotation`` (rotation vector) for the Bloch rotation and scipy's ``expm`` of
the affine Bloch generator for the rotation with relaxation.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.spatial.transform import Rotation
from threadpoolctl import threadpool_info

from spin_echo.simulator import kernels


def test_dot_products(kernel_backend):
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=1003), rng.normal(size=1003) + 1j * rng.normal(size=1003)
    exact = np.sum(a.astype(np.longdouble) * b.real) + 1j * np.sum(a.astype(np.longdouble) * b.imag)
    assert abs(kernels.dot(a, b) - complex(exact)) < 1e-13
    assert abs(kernels.dot(a, b.real) - float(exact.real)) < 1e-13


def test_cos_sin_through_the_half_angle_tangent():
    rng = np.random.default_rng(0)
    angle = np.concatenate(
        [rng.uniform(-s, s, 20000) for s in (1e-6, 1.0, 10.0, 1e4, 1e8)] + [np.pi * np.ones(1)]
    )
    c, s, one_c = kernels.cos_sin(angle)
    np.testing.assert_allclose(c, np.cos(angle), rtol=0, atol=4e-16)
    np.testing.assert_allclose(s, np.sin(angle), rtol=0, atol=4e-16)
    # 1 - cos without cancellation: relative accuracy even for tiny angles.
    np.testing.assert_allclose(one_c, 2 * np.sin(angle / 2) ** 2, rtol=4e-15, atol=0)


def test_phasor_at_small_and_large_phases(kernel_backend):
    rng = np.random.default_rng(1)
    phase = np.concatenate([rng.uniform(-s, s, 5000) for s in (1.0, 1e3, 9e4, 3e5, 1e9)])
    np.testing.assert_allclose(kernels.phasor(phase), np.exp(1j * phase), rtol=0, atol=6e-16)


@pytest.mark.parametrize("count", [1, 2, 5, 33], ids=["one", "two", "five", "thirty-three"])
def test_powers_are_direct_powers(kernel_backend, count):
    rng = np.random.default_rng(2)
    first = rng.normal(size=300) + 1j * rng.normal(size=300)
    phase = rng.uniform(-4, 4, 300)
    # Rounding grows like j * eps for the j-th power (a running product).
    bound = 1e-15 * count * np.abs(first)
    direct = first * np.exp(1j * np.arange(count)[:, None] * phase)
    assert np.all(np.abs(kernels.powers(first, phase, count) - direct) <= bound)
    unit = kernels.powers(None, phase, count)
    assert np.all(np.abs(unit - np.exp(1j * np.arange(count)[:, None] * phase)) <= 1e-15 * count)


def _states(rng, n):
    r = rng.normal(size=(n, 3))
    r *= (rng.uniform(0, 1, n) / np.linalg.norm(r, axis=1))[:, None]
    return r


@pytest.mark.parametrize("duration", [0.37e-6, 3e-3], ids=["tens-of-radians", "above-1e5-rad"])
def test_rotation_is_the_rotation_by_the_field_vector(kernel_backend, duration):
    rng = np.random.default_rng(3)
    n = 500
    field = rng.normal(scale=3e6, size=(n, 3))
    field[0] = 0.0
    r = _states(rng, n)
    m, z = kernels.rotate(
        r[:, 0] + 1j * r[:, 1], r[:, 2], tuple(field.T), 0.0, -np.ones(n), duration
    )
    expected = Rotation.from_rotvec(4 * np.pi * field * duration).apply(r)
    # The angle itself is rounded: 1e-13 plus 2e-16 per radian.
    atol = 1e-13 + 2e-16 * 4 * np.pi * np.abs(field).max() * np.sqrt(3) * duration
    np.testing.assert_allclose(m, expected[:, 0] + 1j * expected[:, 1], rtol=0, atol=atol)
    np.testing.assert_allclose(z, expected[:, 2], rtol=0, atol=atol)


def test_rotation_with_isotropic_decay_is_the_affine_exponential(kernel_backend):
    rng = np.random.default_rng(4)
    n, duration, gamma = 200, 0.8e-6, 1 / 0.6e-6
    field = rng.normal(scale=2e6, size=(n, 3))
    z_eq = -rng.uniform(0.2, 1, n)
    r = _states(rng, n)
    m, z = kernels.rotate(r[:, 0] + 1j * r[:, 1], r[:, 2], tuple(field.T), gamma, z_eq, duration)
    for p in range(n):
        ox, oy, oz = 4 * np.pi * field[p]
        generator = np.array(
            [
                [-gamma, -oz, oy, 0.0],
                [oz, -gamma, -ox, 0.0],
                [-oy, ox, -gamma, gamma * z_eq[p]],
                [0.0, 0.0, 0.0, 0.0],
            ]
        )
        x, y, zz, _ = expm(generator * duration) @ np.append(r[p], 1.0)
        assert abs(m[p] - (x + 1j * y)) < 1e-13
        assert abs(z[p] - zz) < 1e-13


def _exp_long_double(generator):
    """Exponential by its Taylor series (degree 30, scaled to norm 1/16) in long double."""
    x = np.asarray(generator, dtype=np.longdouble)
    squarings = max(0, int(np.ceil(np.log2(float(np.abs(x).sum(axis=1).max()) * 16))))
    x = x / np.longdouble(2.0**squarings)
    total, term = np.eye(4, dtype=np.longdouble), np.eye(4, dtype=np.longdouble)
    for k in range(1, 31):
        term = term @ x / k
        total = total + term
    for _ in range(squarings):
        total = total @ total
    return total


@pytest.mark.parametrize(
    ("scale_hz", "duration_s"),
    [(3e6, 0.2e-6), (3e6, 10e-6), (0.0, 1e-6)],
    ids=["few-turns", "hundred-turns", "relaxation-only"],
)
def test_anisotropic_map_is_the_affine_exponential(kernel_backend, scale_hz, duration_s):
    # Reference: the exponential series in long double (scipy's expm is accurate to ~2e-13
    # only, above the error of the kernels).
    rng = np.random.default_rng(6)
    n, gamma1, gamma2 = 40, 1 / 5e-6, 1 / 0.8e-6
    field = rng.normal(scale=scale_hz, size=(n, 3))
    z_eq = -rng.uniform(0.2, 1, n)
    r = _states(rng, n)
    m, z = kernels.rotate_anisotropic(
        r[:, 0] + 1j * r[:, 1], r[:, 2], tuple(field.T), gamma1, gamma2, z_eq, duration_s
    )
    for p in range(n):
        ox, oy, oz = 4 * np.pi * field[p]
        generator = np.array(
            [
                [-gamma2, -oz, oy, 0.0],
                [oz, -gamma2, -ox, 0.0],
                [-oy, ox, -gamma1, gamma1 * z_eq[p]],
                [0.0, 0.0, 0.0, 0.0],
            ]
        )
        x, y, zz, _ = (_exp_long_double(generator * duration_s) @ np.append(r[p], 1.0)).astype(
            float
        )
        # Rounding of the scaling and squaring: 1e-14 plus 1e-14 per radian of rotation.
        bound = 1e-14 * (1 + 4 * np.pi * np.linalg.norm(field[p]) * duration_s)
        assert abs(m[p] - (x + 1j * y)) < bound
        assert abs(z[p] - zz) < bound


def test_sampled_run_backends_agree_with_rotations(kernel_backend):
    rng = np.random.default_rng(5)
    n, dt, gamma = 120, 1e-9, 1 / 2e-6
    energy = rng.uniform(40e6, 60e6, n)
    eta = rng.uniform(0, np.pi, n)
    coupling = rng.uniform(-1, 1, n)
    transverse, longitudinal = coupling * np.sin(eta), coupling * np.cos(eta)
    z_eq = -np.ones(n)
    weight = rng.uniform(0, 1, n)
    drive = 20e6 * np.cos(2 * np.pi * 0.1 * np.arange(40))
    r = _states(rng, n)
    m0, z0 = r[:, 0] + 1j * r[:, 1], r[:, 2]
    out = np.zeros(len(drive))
    packet = (energy, transverse, longitudinal, z_eq)
    weighted = (weight * longitudinal, weight * transverse)
    m, z = kernels.sampled_run(m0, z0, packet, weighted, drive, dt, gamma, out)
    # Reference: scipy rotation vectors and the exact relaxation integral, sample by sample.
    state = r.copy()
    for k, b in enumerate(drive):
        expected = weight @ (longitudinal * (state[:, 2] - z_eq) - transverse * state[:, 0])
        assert abs(out[k] - expected) < 1e-12 * n
        field = np.stack([-transverse * b, np.zeros(n), energy + longitudinal * b], axis=1)
        for p in range(n):
            ox, oy, oz = 4 * np.pi * field[p]
            generator = np.array(
                [
                    [-gamma, -oz, oy, 0.0],
                    [oz, -gamma, -ox, 0.0],
                    [-oy, ox, -gamma, gamma * z_eq[p]],
                    [0.0, 0.0, 0.0, 0.0],
                ]
            )
            state[p] = (expm(generator * dt) @ np.append(state[p], 1.0))[:3]
    np.testing.assert_allclose(m, state[:, 0] + 1j * state[:, 1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(z, state[:, 2], rtol=0, atol=1e-12)


def test_backend_selection(monkeypatch):
    assert "numpy" in kernels.available_backends()
    with kernels.use_backend("numpy"):
        assert kernels.backend() == "numpy"
    with (
        pytest.raises(kernels.KernelError, match="kernel backend = 'fortran': must be one of"),
        kernels.use_backend("fortran"),
    ):
        pass
    monkeypatch.setenv("SPIN_ECHO_KERNELS", "fortran")
    with pytest.raises(kernels.KernelError, match="SPIN_ECHO_KERNELS = 'fortran'"):
        kernels.default_backend()
    monkeypatch.setenv("SPIN_ECHO_KERNELS", " NumPy")
    assert kernels.default_backend() == "numpy"
    assert kernels.parse_backend("NUMBA ") == "numba" or "numba" not in kernels.available_backends()


def test_a_chosen_backend_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("SPIN_ECHO_KERNELS", "numpy")
    for name in kernels.available_backends():
        with kernels.backend_for(10**12, name):
            assert kernels.backend() == name


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SPIN_ECHO_KERNELS", "fortran"), ("SPIN_ECHO_THREADS", "many")],
    ids=["kernels", "threads"],
)
def test_a_bad_environment_value_is_an_input_error(variable, value, monkeypatch, capsys, tmp_path):
    from spin_echo.echo.cli.main import main

    monkeypatch.setenv(variable, value)
    argv = ["simulate", "fid", "--sample", "bare", "--packets", "20", "-o", str(tmp_path / "r.nc")]
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert f"{variable} = {value!r}" in err
    assert "Traceback" not in err


def test_default_threads(monkeypatch):
    monkeypatch.setenv("SPIN_ECHO_THREADS", "3")
    assert kernels.default_threads() == 3
    monkeypatch.setenv("SPIN_ECHO_THREADS", "0")
    with pytest.raises(kernels.KernelError, match="SPIN_ECHO_THREADS = '0'"):
        kernels.default_threads()
    monkeypatch.delenv("SPIN_ECHO_THREADS")
    assert 1 <= kernels.default_threads() <= (os.cpu_count() or 1)


def test_small_jobs_default_to_numpy(monkeypatch):
    monkeypatch.delenv("SPIN_ECHO_KERNELS", raising=False)
    default = kernels.available_backends()[0]
    with kernels.backend_for(kernels.NUMBA_MIN_WORK):
        assert kernels.backend() == default
    with kernels.backend_for(10):
        assert kernels.backend() == "numpy"
    # A chosen backend is kept whatever the size of the job.
    for name in kernels.available_backends():
        with kernels.use_backend(name), kernels.backend_for(10):
            assert kernels.backend() == name


def test_blas_runs_single_threaded_inside_the_propagators():
    with kernels.blas_single_thread():
        inside = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert inside
    assert inside == [1] * len(inside)


def test_a_run_of_many_small_jobs_chooses_its_backend_once(monkeypatch):
    """backend_for_run: the total decides for every propagation inside; a chosen one wins."""
    if "numba" not in kernels.available_backends():
        pytest.skip("numba is not installed (pip install -e '.[fast]')")
    monkeypatch.delenv("SPIN_ECHO_KERNELS", raising=False)
    with kernels.backend_for_run(kernels.NUMBA_MIN_WORK), kernels.backend_for(1.0):
        assert kernels.backend() == "numba"  # a small job inside a large run
    with kernels.backend_for_run(kernels.NUMBA_MIN_WORK - 1), kernels.backend_for(1.0):
        assert kernels.backend() == "numpy"  # a small run: each job decides, as before
    with kernels.use_backend("numpy"), kernels.backend_for_run(1e12):
        assert kernels.backend() == "numpy"


def test_sampled_work_counts_maps_and_points():
    from spin_echo.simulator.bloch import Relaxation
    from spin_echo.simulator.lab.sampled import sampled_work

    samples = np.array([0.0, 0.0, 0.5, -1.0, 0.25, 0.0])
    step = kernels.STEP_WORK
    rotation = 10 * (3 * step["rotation"] + 3 * step["free_point"])
    assert sampled_work(samples, 10, Relaxation.from_times(None, None)) == pytest.approx(rotation)
    affine = 10 * (3 * step["affine"] + 3 * step["free_point"])
    assert sampled_work(samples, 10, Relaxation.from_times(None, 20e-6)) == pytest.approx(affine)
