"""Tests for the structured exact linearization (mechanics.exact): the implicit-function
Jacobian with one LU against forward-mode autodiff straight through the public optics API
(solve_dipoles, optical_forces, stiffness_matrix, isolated_forces), float32, gradients."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind import constants as Cst
from jaxbind.mechanics.array import TweezerArray, linearize
from jaxbind.mechanics.exact import _exact_diffusion_scaled
from jaxbind.optics.dipoles import solve_dipoles
from jaxbind.optics.forces import isolated_forces, optical_forces, stiffness_matrix
from jaxbind.optics.scatterers import ClausiusMossotti

from helpers import check_jvp

LAM = 1064e-9
K = 2 * np.pi / LAM


def make(phases, dtype=jnp.float64):
    """Four dissimilar particles close enough for near-field and multiple scattering; electric
    dipoles (ClausiusMossotti), the model the structured Jacobian of mechanics/exact.py serves
    (MieDipole particles take the jacfwd path, tested in test_array.py)."""
    pos = np.array([[0.0, 0.0], [1.3, 0.2], [0.4, 1.5], [1.9, 1.7]]) * 1e-6
    return TweezerArray(jnp.asarray(pos, dtype), powers=jnp.asarray([0.3, 0.2, 0.25, 0.35], dtype),
                        wavelength=jnp.asarray(LAM, dtype),
                        waists=jnp.asarray([0.7e-6, 0.8e-6, 0.75e-6, 0.72e-6], dtype),
                        phases=phases, polarization_angles=jnp.asarray([0.3, 1.2, 2.0, 0.8], dtype),
                        radii=jnp.asarray([60e-9, 80e-9, 70e-9, 90e-9], dtype), index=1.45 + 0.01j,
                        density=jnp.asarray(2200.0, dtype), model=ClausiusMossotti())


PHASES = np.array([0.4, 1.9, 2.8, 0.1])
lin_exact = eqx.filter_jit(lambda a, axis: linearize(a, "exact", axis=axis))


@eqx.filter_jit
def reference(arr):
    """Everything by jax.jacfwd through the public optics functions (generic path)."""
    ps, beam = arr.particles(), arr.beam()
    S = stiffness_matrix(ps, beam)                                  # −∂F/∂r, (3N, 3N)
    S_iso = -jax.jacfwd(lambda r: isolated_forces(ps.with_positions(r), beam))(ps.positions)
    S_iso = jnp.einsum("iaia->ia", S_iso.reshape(4, 3, 4, 3))      # own-particle diagonal
    F = optical_forces(ps, beam)
    p_of = lambda r: solve_dipoles(ps.with_positions(r), beam).p  # noqa: E731
    dp = jax.jacfwd(p_of)(ps.positions).reshape(4, 3, 12) / arr.k  # ∂p̃/∂ρ
    p = p_of(ps.positions)
    return S, S_iso, F, p, dp


# ~22 CPU-s (jacfwd through the 4-particle solve): in `make test-all`. The default suite keeps
# the exact linearization's physics (tests/mechanics/test_array.py: exact identities, O(1/kd)
# agreement with the far field, Gouy correction, jit∘vmap), its float32 and its gradient below.
@pytest.mark.slow
def test_exact_jacobian_matches_forward_mode_through_the_solve():
    arr = make(PHASES)
    lin = lin_exact(arr, "xyz")
    S, S_iso, F, p, dp = reference(arr)
    scale = np.abs(np.asarray(S)).max()
    off = ~np.eye(12, dtype=bool)
    np.testing.assert_allclose(np.asarray(lin.C)[off], -np.asarray(S)[off], rtol=1e-9, atol=1e-11 * scale)
    m = np.repeat(np.asarray(arr.masses), 3)
    np.testing.assert_allclose(m * np.asarray(lin.omega) ** 2, np.asarray(S_iso).ravel(), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(lin.K) + m * np.asarray(lin.omega) ** 2,
                               np.diagonal(np.asarray(S)), rtol=1e-9, atol=1e-11 * scale)
    np.testing.assert_allclose(lin.F, np.asarray(F).ravel(), rtol=1e-10, atol=1e-12 * np.abs(F).max())
    # diffusion from the same Lindblad expansion but with ∂p̃/∂ρ from jacfwd of the solve
    E0 = arr.beam().reference_amplitude
    F0 = 4 * np.pi * Cst.epsilon0 * E0**2 / K**2
    D = 0.25 * K * F0 * _exact_diffusion_scaled(arr.positions * K, p, dp, (0, 1, 2))
    np.testing.assert_allclose(lin.D, D, rtol=1e-9, atol=1e-11 * np.abs(D).max())
    # D is a covariance: Hermitian, positive definite
    C, Dm = np.asarray(lin.C), np.asarray(lin.D)
    np.testing.assert_allclose(Dm, Dm.conj().T, atol=1e-12 * np.abs(Dm).max())
    assert np.all(np.linalg.eigvalsh(Dm) > 0)
    # the z model is the z block of the full one
    lz = lin_exact(arr, "z")
    np.testing.assert_allclose(lz.C, C[2::3, 2::3], rtol=1e-12, atol=1e-14 * scale)
    np.testing.assert_allclose(lz.D, Dm[2::3, 2::3], rtol=1e-12)


def test_float32_matches_float64():
    l64 = lin_exact(make(PHASES), "z")
    l32 = lin_exact(make(jnp.asarray(PHASES, jnp.float32), jnp.float32), "z")
    assert l32.C.dtype == jnp.float32 and l32.D.dtype == jnp.complex64
    for a, b in ((l32.omega, l64.omega), (l32.C, l64.C), (l32.K, l64.K), (l32.D, l64.D),
                 (l32.F, l64.F)):
        b = np.asarray(b)
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-4, atol=2e-5 * np.abs(b).max())


def test_gradient_through_exact_linearization():
    """jit∘jvp of the exact couplings w.r.t. the tweezer phases (design use) against central
    finite differences of the same function (test-side only)."""

    def couplings(ph):
        lin = linearize(make(ph), "exact")
        return jnp.concatenate([lin.C.ravel(), lin.K, jnp.real(lin.D).ravel()])

    f = jax.jit(couplings)
    scale = float(jnp.abs(f(jnp.asarray(PHASES))).max())
    check_jvp(f, jnp.asarray(PHASES), eps=1e-6, rtol=1e-5, atol=1e-7 * scale, n_dirs=1)
