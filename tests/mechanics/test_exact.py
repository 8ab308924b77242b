"""Tests for the structured exact linearization (mechanics.exact): the implicit-function
Jacobian with one LU against forward-mode autodiff straight through the public optics API
(solve_dipoles, dipole_forces, isolated_forces), for electric dipoles (ClausiusMossotti)
and electric + magnetic dipoles (MieDipole, the default); the paper 001 identity
C − Cᵀ = 4 Im D/ħ; float32; gradients through linearize."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind import constants as Cst
from jaxbind.mechanics.array import TweezerArray, linearize
from jaxbind.mechanics.exact import _exact_diffusion_scaled
from jaxbind.optics.dipoles import solve_dipoles
from jaxbind.optics.forces import dipole_forces, isolated_forces
from jaxbind.optics.scatterers import ClausiusMossotti, MieDipole

from helpers import check_jvp

LAM = 1064e-9
K = 2 * np.pi / LAM
PHASES = np.array([0.4, 1.9, 2.8, 0.1])


def make(phases, dtype=jnp.float64, model=ClausiusMossotti(), n=4, radii=(60e-9, 80e-9, 70e-9, 90e-9),
         index=1.45 + 0.01j):
    """Up to four dissimilar particles close enough for near-field and multiple scattering."""
    pos = np.array([[0.0, 0.0], [1.3, 0.2], [0.4, 1.5], [1.9, 1.7]])[:n] * 1e-6
    arr = jnp.asarray
    return TweezerArray(arr(pos, dtype), powers=arr([0.3, 0.2, 0.25, 0.35][:n], dtype),
                        wavelength=arr(LAM, dtype), waists=arr([0.7e-6, 0.8e-6, 0.75e-6, 0.72e-6][:n], dtype),
                        phases=arr(phases[:n], dtype),
                        polarization_angles=arr([0.3, 1.2, 2.0, 0.8][:n], dtype),
                        radii=arr(radii[:n], dtype), index=index, density=arr(2200.0, dtype), model=model)


# Mie particles large enough that the magnetic dipole matters (|α̃_m/α̃_e| ≈ 0.1 at 180 nm).
MIE_RADII = (160e-9, 180e-9, 170e-9, 190e-9)
lin_exact = eqx.filter_jit(lambda a, axis: linearize(a, "exact", axis=axis))


@eqx.filter_jit
def reference(arr):
    """Everything by one jax.jacfwd through the public optics functions (the generic path the
    structured Jacobian replaces): −∂F/∂r (3N, 3N), the isolated own-particle stiffness
    (N, 3), F, the moments q̃ = p̃ or (p̃, m̃) and ∂q̃/∂ρ."""
    ps, beam = arr.particles(), arr.beam()
    n = ps.n

    def f(r):
        psr = ps.with_positions(r)
        sol = solve_dipoles(psr, beam)
        q = sol.p if sol.m is None else jnp.concatenate([sol.p, sol.m], axis=-1)
        out = (dipole_forces(psr, beam, sol), isolated_forces(psr, beam), q)
        return out, out

    (JF, JFi, Jq), (F, _, q) = jax.jacfwd(f, has_aux=True)(ps.positions)
    S_iso = -jnp.einsum("iaia->ia", JFi.reshape(n, 3, n, 3))      # own-particle diagonal
    dq = Jq.reshape(n, q.shape[1], 3 * n) / arr.k                   # ∂q̃/∂ρ
    return -JF.reshape(3 * n, 3 * n), S_iso, F, q, dq


@eqx.filter_jit
def reference_diffusion(arr, q, dq):
    """D from the same Lindblad expansion but with ∂q̃/∂ρ from jacfwd of the solve (SI, /ħ;
    one compiled program instead of op-by-op dispatch)."""
    E0 = arr.beam().reference_amplitude
    F0 = 4 * np.pi * Cst.epsilon0 * E0**2 / K**2
    return 0.25 * K * F0 * _exact_diffusion_scaled(arr.positions * K, q, dq, (0, 1, 2))


def assert_matches_reference(arr, lin, rtol):
    n = arr.n
    S, S_iso, F, q, dq = reference(arr)
    S = np.asarray(S)
    scale = np.abs(S).max()
    off = ~np.eye(3 * n, dtype=bool)
    np.testing.assert_allclose(np.asarray(lin.C)[off], -S[off], rtol=rtol, atol=rtol * scale)
    m = np.repeat(np.asarray(arr.density) * 4 / 3 * np.pi * np.asarray(arr.radii) ** 3, 3)
    np.testing.assert_allclose(m * np.asarray(lin.omega) ** 2, np.asarray(S_iso).ravel(), rtol=rtol)
    np.testing.assert_allclose(np.asarray(lin.K) + m * np.asarray(lin.omega) ** 2, np.diagonal(S),
                               rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(lin.F, np.asarray(F).ravel(), rtol=rtol, atol=rtol * np.abs(F).max())
    # diffusion from the same Lindblad expansion but with ∂q̃/∂ρ from jacfwd of the solve
    D = np.asarray(reference_diffusion(arr, q, dq))
    np.testing.assert_allclose(lin.D, D, rtol=rtol, atol=rtol * np.abs(D).max())
    return S


@pytest.fixture(scope="module")
def mie3():
    """Three lossless MieDipole particles (electric + magnetic dipoles), all axes."""
    arr = make(PHASES, model=MieDipole(), n=3, radii=MIE_RADII, index=1.45)
    assert arr.particles().magnetic
    return arr, lin_exact(arr, "xyz")


def test_magnetic_jacobian_matches_forward_mode_through_the_solve(mie3):
    """Electric + magnetic dipoles (6N unknowns): C, K, ω, F and D of the structured path equal
    jax.jacfwd through solve_dipoles / optical_forces to 1e-10."""
    arr, lin = mie3
    assert_matches_reference(arr, lin, rtol=1e-10)
    # the magnetic dipoles are not negligible here (|m̃| ≈ 0.1 |p̃|)
    q = np.asarray(reference(arr)[3])
    assert q.shape == (3, 6) and np.abs(q[:, 3:]).max() > 0.05 * np.abs(q[:, :3]).max()


def test_identity_with_magnetic_dipoles(mie3):
    """Paper 001: C_jj' − C_j'j = 4 Im D_jj'/ħ for lossless particles, here with magnetic
    dipoles (the 6×6 angular kernel of the diffusion) and all three axes (the intra-particle
    x/y/z blocks included); D Hermitian and positive definite."""
    _, lin = mie3
    C, D = np.asarray(lin.C), np.asarray(lin.D)
    np.testing.assert_allclose(C - C.T, 4 * np.imag(D), atol=1e-12 * np.abs(C).max())
    assert np.abs(C - C.T).max() > 1e-2 * np.abs(C).max()  # genuinely non-reciprocal
    np.testing.assert_allclose(D, D.conj().T, atol=1e-14 * np.abs(D).max())
    assert np.all(np.linalg.eigvalsh(D) > 0)


# ~20 CPU-s each (jacfwd through the 4-particle solve): in `make test-all`. The default suite
# keeps the 3-particle magnetic comparison above and the electric physics of test_array.py.
@pytest.mark.slow
@pytest.mark.parametrize("model", [ClausiusMossotti(), MieDipole()], ids=["electric", "magnetic"])
def test_exact_jacobian_matches_forward_mode_through_the_solve(model):
    radii = MIE_RADII if model.magnetic else (60e-9, 80e-9, 70e-9, 90e-9)
    arr = make(PHASES, model=model, radii=radii)  # absorbing spheres, N = 4
    lin = lin_exact(arr, "xyz")
    assert_matches_reference(arr, lin, rtol=1e-10)
    # the z model is the z block of the full one
    C, Dm = np.asarray(lin.C), np.asarray(lin.D)
    lz = lin_exact(arr, "z")
    np.testing.assert_allclose(lz.C, C[2::3, 2::3], rtol=1e-12, atol=1e-14 * np.abs(C).max())
    np.testing.assert_allclose(lz.D, Dm[2::3, 2::3], rtol=1e-12)


def _assert_float32_close(l32, l64, tol):
    assert l32.C.dtype == jnp.float32 and l32.D.dtype == jnp.complex64
    for a, b in ((l32.omega, l64.omega), (l32.C, l64.C), (l32.K, l64.K), (l32.D, l64.D),
                 (l32.F, l64.F)):
        b = np.asarray(b)
        np.testing.assert_allclose(np.asarray(a), b, rtol=tol, atol=tol * np.abs(b).max())


# The electric-only float32 and forward-mode checks (the same structured code as the magnetic
# tests below with 3 components per particle; ~17 CPU-s together): in `make test-all`.
@pytest.mark.slow
def test_float32_matches_float64():
    l64 = lin_exact(make(PHASES), "z")
    l32 = lin_exact(make(jnp.asarray(PHASES, jnp.float32), jnp.float32), "z")
    _assert_float32_close(l32, l64, 1e-5)


def test_float32_matches_float64_magnetic(mie3):
    """The structured path keeps float32 at the solve's accuracy with magnetic dipoles too
    (jacfwd through the solve: K a difference of large Jacobians, 5.7e-5)."""
    _, l64 = mie3
    l32 = lin_exact(make(jnp.asarray(PHASES, jnp.float32), jnp.float32, model=MieDipole(), n=3,
                         radii=MIE_RADII, index=1.45), "xyz")
    _assert_float32_close(l32, l64, 1e-5)


@pytest.mark.slow
def test_gradient_through_exact_linearization():
    """jit∘jvp of the exact couplings w.r.t. the tweezer phases (design use) against central
    finite differences of the same function (test-side only)."""

    def couplings(ph):
        lin = linearize(make(ph), "exact")
        return jnp.concatenate([lin.C.ravel(), lin.K, jnp.real(lin.D).ravel()])

    f = jax.jit(couplings)
    scale = float(jnp.abs(f(jnp.asarray(PHASES))).max())
    check_jvp(f, jnp.asarray(PHASES), eps=1e-6, rtol=1e-5, atol=1e-7 * scale, n_dirs=1)


# slow: one reverse-mode compile through the implicit solve (~9 CPU-s, intrinsic: an electric
# 2-particle z-only variant costs the same); by default the exact path keeps jit + vmap in
# tests/mechanics/test_array.py (exact_batch), its Jacobians against jacfwd in
# test_magnetic_jacobian_matches_forward_mode_through_the_solve, float32 in
# test_float32_matches_float64_magnetic, and grad through linearize (far field) in
# test_array.py::test_jit_vmap_grad
@pytest.mark.slow
def test_grad_through_magnetic_linearization(mie3):
    """jax.grad (reverse mode, through the implicit solve and its LU) of a coupling loss of
    MieDipole particles w.r.t. t, which shifts one tweezer phase (the right-hand side) and moves
    that tweezer with its particle by t·0.1 µm (the coupled-dipole matrix too), against central
    finite differences (the same jitted linearization at shifted t)."""
    arr0, l0 = mie3
    sC, sD, sK = (float(jnp.abs(x).max()) for x in (l0.C, l0.D, l0.K))
    w = jnp.arange(9.0).reshape(3, 3)

    def loss_of(lin):
        return (jnp.sum(lin.C[:3, 3:6] * w) / sC + jnp.sum(jnp.imag(lin.D[:3, 3:6])) / sD
                + jnp.sum(lin.K) / sK)

    def arr_at(t):
        a = eqx.tree_at(lambda a: a.phases, arr0, arr0.phases.at[1].add(t))
        return eqx.tree_at(lambda a: a.positions, a, a.positions.at[1, 0].add(1e-7 * t))

    val, g = jax.jit(jax.value_and_grad(lambda t: loss_of(linearize(arr_at(t), "exact",
                                                                   axis="xyz"))))(0.0)
    eps = 1e-5
    fd = (loss_of(lin_exact(arr_at(eps), "xyz")) - loss_of(lin_exact(arr_at(-eps), "xyz"))) / (2 * eps)
    np.testing.assert_allclose(float(val), float(loss_of(l0)), rtol=1e-12)
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-6)
    assert abs(float(fd)) > 1e-2


def test_angular_kernel_closed_form_derivatives():
    """The closed-form (W, ∂W, ∂∂W) of the diffusion kernels against central finite
    differences of the kernels themselves (3×3 electric, 6×6 electric + magnetic), across the
    series / closed-form crossover of s⁽ⁿ⁾(u) (u = 9). The points R and R ± h e_c go through
    one jitted call per kernel (one program each, not op-by-op dispatch)."""
    from jaxbind.mechanics.exact import _angular_kernel, _angular_kernel_derivatives, _angular_kernel_em

    rng = np.random.default_rng(1)
    R = np.concatenate([rng.normal(size=(6, 3)) * s for s in (0.2, 1.7, 4.0)])
    h = 1e-5
    P = len(R)
    shifts = np.concatenate([np.zeros((1, 3)), h * np.eye(3), -h * np.eye(3)])  # 0, +h e_c, −h e_c
    pts = jnp.asarray((R[None] + shifts[:, None]).reshape(-1, 3))
    for magnetic, kern in ((False, _angular_kernel), (True, _angular_kernel_em)):
        @jax.jit
        def both(x):
            k = jax.vmap(kern)(x)
            return (k[:, 0] + 1j * k[:, 1] if magnetic else k), _angular_kernel_derivatives(x, magnetic)

        kv, (W, dW, ddW) = both(pts)
        kv, W, dW, ddW = (np.asarray(x).reshape((7, P) + x.shape[1:]) for x in (kv, W, dW, ddW))
        np.testing.assert_allclose(W[0], kv[0], atol=1e-14)
        for c in range(3):
            fd = (kv[1 + c] - kv[4 + c]) / (2 * h)
            np.testing.assert_allclose(dW[0][..., c], fd, atol=1e-9)
            fd2 = (dW[1 + c] - dW[4 + c]) / (2 * h)
            np.testing.assert_allclose(ddW[0][..., c, :], fd2, atol=1e-9)

