"""Tests for jaxbind.optics.green: closed forms, Maxwell identities by autodiff (Helmholtz,
transversality, curl relations), limits, the paper 002 / 003 forms, interaction matrices
against direct loops, transforms (jit, vmap, grad, jacfwd), float32 vs float64, errors."""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind import constants as C
from jaxbind.optics.green import (
    coupled_green_matrix_scaled,
    cross_green_scaled,
    cross_green_tensor,
    dipole_field_derivatives_scaled,
    green_matrix,
    green_matrix_scaled,
    green_scaled,
    green_tensor,
    green_tensor_derivative,
    green_tensor_parts,
    static_green_tensor,
)

from helpers import check_jvp

# Tests call jitted wrappers: one compilation per function/dtype is far cheaper than eager
# op-by-op dispatch (and it is how the kernels are used).
gt = jax.jit(green_tensor)
gtp = jax.jit(green_tensor_parts)
gtd = jax.jit(green_tensor_derivative)
cgt = jax.jit(cross_green_tensor)
sgt = jax.jit(static_green_tensor)
gs = jax.jit(green_scaled)
cgs = jax.jit(cross_green_scaled)
gms = jax.jit(green_matrix_scaled)
cgms = jax.jit(coupled_green_matrix_scaled)
gm = jax.jit(green_matrix)


def all_nan(tree) -> bool:
    """Every entry of every output array is NaN: a bad input under a user's jit (value checks
    are NaN masks there, no host callback; jaxbind._checks.nan_if)."""
    return all(np.all(np.isnan(np.asarray(leaf))) for leaf in jax.tree_util.tree_leaves(tree))


LAM = 1064e-9
K = 2 * math.pi / LAM
R = np.array([0.31e-6, -0.52e-6, 0.77e-6])  # generic separation, kr ≈ 5.7
EYE = np.eye(3)


def ref_green(r, k):
    """Ḡ written out independently from paper 001 eq. 57 (NumPy, complex k allowed)."""
    r = np.asarray(r, float)
    rn = np.linalg.norm(r)
    rr = np.outer(r, r)
    return np.exp(1j * k * rn) / (4 * np.pi) * (
        (1 - 1j * k * rn) * (3 * rr - rn**2 * EYE) / rn**5 + k**2 * (rn**2 * EYE - rr) / rn**3
    )


def cross_matrix(v):
    return np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])


def cjac(f, x):
    """Jacobian of a complex-valued f of a real x, last axis = derivative direction."""
    return jax.jit(jax.jacfwd(f))(jnp.asarray(x))


# --------------------------------------------------------------------------------------
# closed form, symmetries, relation to papers 002 and 003
# --------------------------------------------------------------------------------------


def test_green_tensor_closed_form_and_symmetries():
    G = np.asarray(gt(R, K))
    np.testing.assert_allclose(G, ref_green(R, K), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(gt(-R, K)), G, rtol=1e-12)
    np.testing.assert_allclose(G.T, G, rtol=1e-12)
    # scaled form: Ḡ = k³ g(k r)/(4π)
    np.testing.assert_allclose(K**3 / (4 * np.pi) * np.asarray(gs(K * R)), G, rtol=1e-12)


def test_relation_to_paper_002_eq_C1_and_A1():
    # Paper 002 eq. (C1) as printed: G = e^{ikr}/(4πk²r³){f 1 − h e⊗e}, f = 1 − ix − x²,
    # h = 3 − 3ix − x². The solution of its eq. (A1) is −(C1), and E = (k²/ε0) G_A1 p.
    r = np.linalg.norm(R)
    x = K * r
    e = R / r
    f = 1 - 1j * x - x**2
    h = 3 - 3j * x - x**2
    G_c1 = np.exp(1j * x) / (4 * np.pi * K**2 * r**3) * (f * EYE - h * np.outer(e, e))
    np.testing.assert_allclose(np.asarray(gt(R, K)), -(K**2) * G_c1, rtol=1e-12)
    # Paper 002 below eq. (20): Im G_free(r_i, r_i) = k/(6π) 1 for the (A1) tensor, i.e.
    # Im Ḡ → k³/(6π) 1 as r → 0 (radiation reaction); −(C1) has this sign, (C1) has not.
    small = np.array([1.0, 2.0, -1.5]) * 1e-4 / K
    np.testing.assert_allclose(np.asarray(gt(small, K)).imag, K**3 / (6 * np.pi) * EYE, rtol=1e-6, atol=1e-6 * K**3)


def test_paper_003_eq5_scalar_propagators():
    # Broadside (v ⟂ n): Ḡ v = ε0 φ v and c Ḡc v = ψ (n × v) with paper 003 eq. 5 (vacuum).
    k = K
    L = 0.9e-6
    n = np.array([1.0, 0.0, 0.0])
    v = np.array([0.0, 1.0, 0.0])
    phi = (-1 / L**3 + 1j * k / L**2 + k**2 / L) * np.exp(1j * k * L) / (4 * np.pi * C.epsilon0)
    psi = (1j * k / L**2 + k**2 / L) * np.exp(1j * k * L) / (4 * np.pi * math.sqrt(C.mu0 * C.epsilon0))
    np.testing.assert_allclose(np.asarray(gt(L * n, k)) @ v, C.epsilon0 * phi * v, rtol=1e-12)
    Gc = np.asarray(cgt(L * n, k))
    np.testing.assert_allclose(C.c * Gc @ v, psi * np.cross(n, v), rtol=1e-12)


def test_coupled_matrix_reproduces_paper_003_eq4():
    # Two particles on the x axis, B at +L from A, p ∥ ŝ_E = ŷ and m ∥ ŝ_H = x̂ × ŝ_E = ẑ.
    # Paper 003 eq. 4 (scattered parts, scaled): Ẽ_A = φ̃ p̃_B − ψ̃ m̃_B, Ẽ_B = φ̃ p̃_A + ψ̃ m̃_A,
    # H̃_A = −ψ̃ p̃_B + φ̃ m̃_B, H̃_B = ψ̃ p̃_A + φ̃ m̃_A.
    L = 2.3
    rho = jnp.array([[0.0, 0.0, 0.0], [L, 0.0, 0.0]])
    M = np.asarray(cgms(rho))
    phi = np.exp(1j * L) * (-1 / L**3 + 1j / L**2 + 1 / L)
    psi = np.exp(1j * L) * (1j / L**2 + 1 / L)
    y, z = 1, 2
    pA, pB, mA, mB = 0, 3, 6, 9  # row/column offsets of particle blocks
    np.testing.assert_allclose(M[pA + y, pB + y], phi, rtol=1e-12)
    np.testing.assert_allclose(M[pA + y, mB + z], -psi, rtol=1e-12)
    np.testing.assert_allclose(M[pB + y, mA + z], psi, rtol=1e-12)
    np.testing.assert_allclose(M[mA + z, pB + y], -psi, rtol=1e-12)
    np.testing.assert_allclose(M[mB + z, pA + y], psi, rtol=1e-12)
    np.testing.assert_allclose(M[mA + z, mB + z], phi, rtol=1e-12)


# --------------------------------------------------------------------------------------
# Maxwell identities by autodiff (scaled variables: ρ = k r, k = 1)
# --------------------------------------------------------------------------------------


RHO = jnp.array([0.7, -1.1, 1.9])
P = jnp.array([0.3 + 0.2j, -1.0, 0.5j])


# slow: Maxwell identities by second derivatives (two Hessian programs); the closed form Ḡ stays
# covered by default against an independent NumPy transcription
# (test_green_tensor_closed_form_and_symmetries) and papers 002/003
# (test_relation_to_paper_002_eq_C1_and_A1, test_paper_003_eq5_scalar_propagators)
@pytest.mark.slow
def test_dipole_field_satisfies_helmholtz_and_is_divergence_free():
    field = lambda x: gs(x) @ P  # noqa: E731
    hess = jax.jit(jax.jacfwd(jax.jacfwd(field)))(RHO)  # (3 components, 3, 3)
    lap = jnp.trace(hess, axis1=1, axis2=2)
    E = field(RHO)
    np.testing.assert_allclose(np.asarray(lap + E), 0.0, atol=1e-12 * float(jnp.max(jnp.abs(lap))))
    div = jnp.trace(cjac(field, RHO))
    np.testing.assert_allclose(np.asarray(div), 0.0, atol=1e-13)
    # SI form at a real wavenumber: ∇²E + k²E = 0
    fsi = lambda r: gt(r, K) @ P  # noqa: E731
    lap_si = jnp.trace(jax.jit(jax.jacfwd(jax.jacfwd(fsi)))(jnp.asarray(R)), axis1=1, axis2=2)
    np.testing.assert_allclose(np.asarray(lap_si), -(K**2) * np.asarray(fsi(R)), rtol=1e-9)


def curl(f, x):
    J = cjac(f, x)  # J[a, b] = ∂f_a/∂x_b
    return jnp.stack([J[2, 1] - J[1, 2], J[0, 2] - J[2, 0], J[1, 0] - J[0, 1]])


# slow: the cross propagator stays covered by default against paper 003 eqs. 4–5
# (test_paper_003_eq5_scalar_propagators, test_coupled_matrix_reproduces_paper_003_eq4)
@pytest.mark.slow
def test_cross_propagator_equals_curl_relation():
    # H = ∇×E/(iωμ0) ⇒ H̃ = −i ∇_ρ × Ẽ ; Ampère E = i ∇×H/(ωε0) ⇒ Ẽ = i ∇_ρ × H̃.
    H = cgs(RHO) @ P
    np.testing.assert_allclose(np.asarray(H), np.asarray(-1j * curl(lambda x: gs(x) @ P, RHO)), rtol=1e-12)
    # magnetic dipole m: H̃ = g m̃, Ẽ = −gc m̃
    E = -cgs(RHO) @ P
    np.testing.assert_allclose(np.asarray(E), np.asarray(1j * curl(lambda x: gs(x) @ P, RHO)), rtol=1e-12)
    # closed form e^{iρ}(1/ρ + i/ρ²) n × v
    rho = float(jnp.linalg.norm(RHO))
    n = np.asarray(RHO) / rho
    ref = np.exp(1j * rho) * (1 / rho + 1j / rho**2) * cross_matrix(n)
    np.testing.assert_allclose(np.asarray(cgs(RHO)), ref, rtol=1e-12)
    # SI: Ḡc p = ∇×(Ḡ p)/(ik), antisymmetric and odd in r
    Gc = np.asarray(cgt(R, K))
    np.testing.assert_allclose(Gc @ np.asarray(P), np.asarray(curl(lambda r: gt(r, K) @ P, R)) / (1j * K), rtol=1e-10)
    np.testing.assert_allclose(Gc, -Gc.T, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(cgt(-R, K)), -Gc, rtol=1e-12)
    np.testing.assert_allclose(K**3 / (4 * np.pi) * np.asarray(cgs(K * R)), Gc, rtol=1e-12)


# --------------------------------------------------------------------------------------
# parts and limits
# --------------------------------------------------------------------------------------


def test_parts_sum_scale_and_far_field_is_transverse():
    parts = gtp(R, K)
    np.testing.assert_allclose(np.asarray(sum(parts)), ref_green(R, K), rtol=1e-12)
    # each part scales as its power of r (for the magnitude; k r changes only the phase)
    for part, doubled, pw in zip(parts, gtp(2 * R, K), (3, 2, 1)):
        np.testing.assert_allclose(np.abs(np.asarray(doubled)), np.abs(np.asarray(part)) / 2**pw, rtol=1e-12)
    n = R / np.linalg.norm(R)
    far = np.asarray(parts.far)
    np.testing.assert_allclose(far @ n, 0.0, atol=1e-14 * np.abs(far).max())
    np.testing.assert_allclose(n @ far, 0.0, atol=1e-14 * np.abs(far).max())
    # the longitudinal (n n) component of the full tensor has no 1/r part
    r = np.linalg.norm(R)
    long = n @ np.asarray(gt(R, K)) @ n
    np.testing.assert_allclose(long, np.exp(1j * K * r) * 2 * (1 - 1j * K * r) / (4 * np.pi * r**3), rtol=1e-12)


@pytest.mark.parametrize("kr", [1e3, 1e5])
def test_far_field_limit(kr):
    r = kr / K * R / np.linalg.norm(R)
    n = R / np.linalg.norm(R)
    G = np.asarray(gt(r, K))
    far = K**2 * np.exp(1j * kr) / (4 * np.pi * np.linalg.norm(r)) * (EYE - np.outer(n, n))
    # corrections are O(1/kr) relative
    assert np.abs(G - far).max() / np.abs(far).max() < 2.0 / kr
    np.testing.assert_allclose(np.asarray(gtp(r, K).far), far, rtol=1e-9, atol=1e-9 * np.abs(far).max())


# slow: the static tensor stays covered by default in test_jit_vmap_grad (jit and vmap) and
# through green_tensor at k = 0 in the slow derivative case; the general closed form in
# test_green_tensor_closed_form_and_symmetries
@pytest.mark.slow
def test_near_field_limit_and_static_tensor():
    G0 = np.asarray(sgt(R))
    ref = (3 * np.outer(R, R) - R @ R * EYE) / (4 * np.pi * np.linalg.norm(R) ** 5)
    np.testing.assert_allclose(G0, ref, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(gt(R, 0.0)).real, G0, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(gt(R, 0.0)).imag, 0.0, atol=0.0)
    # kr ≪ 1: Re Ḡ = G0 (1 + O((kr)²))
    kr = 1e-3
    k = kr / np.linalg.norm(R)
    G = np.asarray(gt(R, k))
    np.testing.assert_allclose(G.real, G0, rtol=0, atol=2 * kr**2 * np.abs(G0).max())
    assert np.abs(G.real - G0).max() > 0.1 * kr**2 * np.abs(G0).max()  # the correction is really O((kr)²)


# slow: imaginary wavenumbers (Matsubara frequencies) stay covered by default through the
# Casimir–Polder energies in tests/optics/test_casimir.py
@pytest.mark.slow
def test_imaginary_wavenumber_closed_form():
    # k = iξ/c: Ḡ = e^{−κr}/(4π)[(1 + κr)(3 n n − 1)/r³ − κ²(1 − n n)/r], κ = ξ/c, real.
    kappa = 1.3 * K
    r = np.linalg.norm(R)
    n = R / r
    ref = np.exp(-kappa * r) / (4 * np.pi) * (
        (1 + kappa * r) * (3 * np.outer(n, n) - EYE) / r**3 - kappa**2 * (EYE - np.outer(n, n)) / r
    )
    G = np.asarray(gt(R, 1j * kappa))
    np.testing.assert_allclose(G.real, ref, rtol=1e-12)
    np.testing.assert_allclose(G.imag, 0.0, atol=1e-15 * np.abs(ref).max())
    # scaled form with kscale = i: Ḡ = k³ g(|k| r; i)/(4π)
    g = np.asarray(gs(kappa * R, 1j))
    np.testing.assert_allclose(((1j * kappa) ** 3 / (4 * np.pi) * g).real, ref, rtol=1e-12)
    D = gtd(R, 1j * kappa)
    np.testing.assert_allclose(np.asarray(D), np.asarray(cjac(lambda x: gt(x, 1j * kappa), R)), rtol=1e-10)


# --------------------------------------------------------------------------------------
# derivative closed form
# --------------------------------------------------------------------------------------


# slow: k = 0 and complex k (one compile each); the default real-k case checks the closed form
@pytest.mark.parametrize("k", [K, pytest.param(0.0, marks=pytest.mark.slow),
                               pytest.param(0.4 * K + 0.2j * K, marks=pytest.mark.slow)])
def test_derivative_closed_form_matches_jacfwd(k):
    D = np.asarray(gtd(R, k))
    J = np.asarray(cjac(lambda x: gt(x, k), R))
    np.testing.assert_allclose(D, J, rtol=1e-10, atol=1e-12 * np.abs(J).max())
    np.testing.assert_allclose(D, D.transpose(1, 0, 2), rtol=1e-12)


def _pair_propagator(d, q):
    """𝒢(d): g (q = 3) or [[g, −gc], [gc, g]] (q = 6) from the public single-pair tensors."""
    g = green_scaled(d)
    if q == 3:
        return g
    gc = cross_green_scaled(d)
    return jnp.block([[g, -gc], [gc, g]])


@functools.partial(jax.jit, static_argnums=0)
def _pair_derivative_pair(q, d, u, v):
    """(closed form, jacfwd of the Green tensors) of K, J, H for a batch of separations."""
    def ref(d, u, v):
        grad = lambda w: jax.jacfwd(lambda x: _pair_propagator(x, q) @ w)(d)  # noqa: E731
        hess = jax.jacfwd(jax.jacfwd(lambda x: u @ _pair_propagator(x, q) @ v))(d)
        return grad(v), grad(u), hess

    return jax.vmap(dipole_field_derivatives_scaled)(d, u, v), jax.vmap(ref)(d, u, v)


def _pairwise_error(a, b):
    """Largest |a − b| of each separation relative to that separation's largest |b|."""
    a, b = (np.asarray(x).reshape(len(x), -1) for x in (a, b))
    scale = np.abs(b).max(axis=1)
    assert np.all(scale > 0)
    return float((np.abs(a - b).max(axis=1) / scale).max())


# slow: q = 3 (the electric-only path, two more programs); q = 6 (electric + magnetic, the default
# MieDipole's coupling) stays in the default suite
@pytest.mark.parametrize("q", [pytest.param(3, marks=pytest.mark.slow), 6])
def test_pair_derivatives_closed_form_match_jacfwd_of_green_tensors(q, rng):
    """K = ∇(𝒢 v), J = ∇(𝒢 u), H = ∇∇(u·𝒢 v) in closed form (the radial D, D² orders of
    optics._propagator) against nested jacfwd of the public green_scaled / cross_green_scaled,
    from the near field (kr = 1e-3) to the far field (kr ≈ 60), to 1e-12; float32 to 1e-5."""
    scales = np.repeat([1e-3, 0.03, 0.5, 2.0, 8.0, 35.0], 2)
    d = rng.normal(size=(scales.size, 3)) * scales[:, None]
    u = rng.normal(size=(scales.size, q)) + 1j * rng.normal(size=(scales.size, q))
    v = rng.normal(size=(scales.size, q)) + 1j * rng.normal(size=(scales.size, q))
    got, ref = _pair_derivative_pair(q, jnp.asarray(d), jnp.asarray(u), jnp.asarray(v))
    for a, b in zip(got, ref):
        assert _pairwise_error(a, b) < 1e-12
    H = np.asarray(got[2])
    np.testing.assert_allclose(H, H.transpose(0, 2, 1), atol=1e-14 * np.abs(H).max())
    got32 = jax.jit(jax.vmap(dipole_field_derivatives_scaled))(
        jnp.asarray(d, jnp.float32), jnp.asarray(u, jnp.complex64), jnp.asarray(v, jnp.complex64))
    for a, b in zip(got32, got):
        assert a.dtype == jnp.complex64
        assert _pairwise_error(a, b) < 1e-5


# --------------------------------------------------------------------------------------
# interaction matrices
# --------------------------------------------------------------------------------------


def test_matrices_match_direct_loops(rng):
    num = 5
    rho = rng.normal(size=(num, 3)) * 2.0
    M = np.asarray(gms(rho))
    Mc = np.asarray(cgms(rho))
    ref = np.zeros((3 * num, 3 * num), complex)
    refc = np.zeros((6 * num, 6 * num), complex)
    for i in range(num):
        for j in range(num):
            if i == j:
                continue
            g = np.asarray(gs(rho[i] - rho[j]))
            gc = np.asarray(cgs(rho[i] - rho[j]))
            bi, bj = slice(3 * i, 3 * i + 3), slice(3 * j, 3 * j + 3)
            mi, mj = slice(3 * num + 3 * i, 3 * num + 3 * i + 3), slice(3 * num + 3 * j, 3 * num + 3 * j + 3)
            ref[bi, bj] = g
            refc[bi, bj], refc[bi, mj], refc[mi, bj], refc[mi, mj] = g, -gc, gc, g
    np.testing.assert_allclose(M, ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Mc, refc, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(M, M.T, rtol=1e-12)  # reciprocity
    # SI convenience form vs green_tensor
    pos = rho / K
    Msi = np.asarray(gm(pos, K))
    np.testing.assert_allclose(Msi[3:6, 9:12], np.asarray(gt(pos[1] - pos[3], K)), rtol=1e-12)
    np.testing.assert_allclose(Msi, K**3 / (4 * np.pi) * ref, rtol=1e-12, atol=1e-15 * K**3)
    assert np.all(np.asarray(gms(rho[:1])) == 0)


# slow: gradients through the Green matrices stay covered by default in
# tests/optics/test_dipoles.py::test_implicit_gradients_and_transforms, the kernels' grad in
# test_jit_vmap_grad
@pytest.mark.slow
def test_matrix_gradients_are_finite_with_zero_diagonal(rng):
    rho = jnp.asarray(rng.normal(size=(3, 3)) * 2.0)
    p = jnp.asarray(rng.normal(size=(18,)) + 1j * rng.normal(size=(18,)))

    def energy(x):
        return jnp.sum(jnp.abs(cgms(x) @ p) ** 2)

    g = jax.jit(jax.grad(energy))(rho)
    assert np.all(np.isfinite(np.asarray(g)))
    check_jvp(jax.jit(energy), rho, rtol=1e-6, n_dirs=1)
    g3 = jax.jit(jax.grad(lambda x: jnp.sum(jnp.abs(gms(x) @ p[:9]) ** 2)))(rho)
    assert np.all(np.isfinite(np.asarray(g3)))
    # grads of a batch of configurations (vmap ∘ grad)
    g_batch = jax.jit(jax.vmap(jax.grad(energy)))(jnp.stack([rho, rho * 1.5]))
    np.testing.assert_allclose(np.asarray(g_batch[0]), np.asarray(g), rtol=1e-12)


# --------------------------------------------------------------------------------------
# transforms
# --------------------------------------------------------------------------------------


def test_vmap_grad_jit_vs_closed_form_derivative(rng):
    """jit ∘ vmap ∘ grad of Re(p·Ḡ p) w.r.t. r against the closed-form ∂Ḡ, itself vmapped
    (two programs), and the k-derivative from the scaling identity r∂_r = k∂_k."""
    rs = rng.normal(size=(4, 3)) * 1e-6 + np.array([2e-6, 0.0, 0.0])
    pv = np.array([0.0, 1.0, 0.0])

    def u(r, k):
        return jnp.real(pv @ green_tensor(r, k) @ pv)

    gv, gk = jax.jit(jax.vmap(jax.grad(u, argnums=(0, 1)), in_axes=(0, None)))(rs, K)
    D = np.asarray(jax.jit(jax.vmap(green_tensor_derivative, in_axes=(0, None)))(rs, K))
    np.testing.assert_allclose(np.asarray(gv), np.einsum("a,nabc,b->nc", pv, D, pv).real, rtol=1e-10)
    # Ḡ depends on k only through u = kr, i.e. r∂_r = k∂_k radially
    uu = np.einsum("a,nab,b->n", pv, np.asarray(gt(rs[0], K))[None], pv).real
    np.testing.assert_allclose(float(gk[0]) * K, float(np.asarray(gv[0]) @ rs[0]) + 3 * float(uu[0]),
                               rtol=1e-9)


# slow: more programs (each kernel batched and single, parts, static, check_jvp); jit ∘ vmap ∘ grad
# against the closed-form derivative stays covered by default in
# test_vmap_grad_jit_vs_closed_form_derivative
@pytest.mark.slow
def test_jit_vmap_grad(key):
    rs = jax.random.normal(key, (4, 3)) * 1e-6 + jnp.array([2e-6, 0.0, 0.0])
    for f in (green_tensor, cross_green_tensor, green_tensor_derivative):
        batched = jax.jit(jax.vmap(f, in_axes=(0, None)))(rs, K)
        np.testing.assert_allclose(np.asarray(batched[2]), np.asarray(jax.jit(f)(rs[2], K)), rtol=1e-12)
    parts = jax.jit(jax.vmap(green_tensor_parts, in_axes=(0, None)))(rs, K)
    assert parts.far.shape == (4, 3, 3)
    np.testing.assert_allclose(np.asarray(jax.jit(jax.vmap(static_green_tensor))(rs)[1]), np.asarray(sgt(rs[1])), rtol=1e-12)

    # grad of a real binding-like quantity Re(p* · Ḡ p) w.r.t. r and k; vmap ∘ grad
    pv = jnp.array([0.0, 1.0, 0.0])

    def u(r, k):
        return jnp.real(pv @ gt(r, k) @ pv)

    gr = jax.jit(jax.grad(u))(rs[0], K)
    np.testing.assert_allclose(np.asarray(gr), np.einsum("a,abc,b->c", pv, np.asarray(gtd(rs[0], K)), pv).real, rtol=1e-10)
    gk = jax.jit(jax.grad(u, argnums=1))(rs[0], K)
    # ∂Ḡ/∂k from the closed form: Ḡ depends on k only through u = kr, i.e. r∂_r = k∂_k radially
    np.testing.assert_allclose(float(gk) * K, float(gr @ rs[0]) + 3 * float(u(rs[0], K)), rtol=1e-9)
    gv = jax.jit(jax.vmap(jax.grad(u), in_axes=(0, None)))(rs, K)
    np.testing.assert_allclose(np.asarray(gv[0]), np.asarray(gr), rtol=1e-12)
    # autodiff against central finite differences (test-side only)
    check_jvp(gs, RHO, rtol=1e-6)


# slow: jacfwd of one kernel vs its closed form stays covered by default in
# test_derivative_closed_form_matches_jacfwd, vmap and grad in test_jit_vmap_grad
@pytest.mark.slow
def test_vmap_jacfwd_of_every_single_pair_kernel(key):
    rs = jax.random.normal(key, (2, 3)) * 1e-6 + jnp.array([0.0, 1.5e-6, 0.0])
    vjac = lambda f: jax.jit(jax.vmap(jax.jacfwd(f)))(rs)  # noqa: E731
    D = jax.jit(jax.vmap(green_tensor_derivative, in_axes=(0, None)))(rs, K)
    # ∂G0 is the k = 0 derivative closed form; the parts sum to Ḡ
    np.testing.assert_allclose(np.asarray(vjac(static_green_tensor)), np.asarray(jax.vmap(gtd, in_axes=(0, None))(rs, 0.0)).real, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(vjac(lambda r: sum(green_tensor_parts(r, K)))), np.asarray(D), rtol=1e-10)
    # second derivatives of Ḡ: symmetric in the derivative axes, trace = ∇²Ḡ = −k² Ḡ
    H = np.asarray(vjac(lambda r: green_tensor_derivative(r, K)))
    np.testing.assert_allclose(H, H.transpose(0, 1, 2, 4, 3), rtol=1e-9, atol=1e-12 * np.abs(H).max())
    lap = np.trace(H, axis1=3, axis2=4)
    np.testing.assert_allclose(lap, -(K**2) * np.asarray(jax.vmap(gt, in_axes=(0, None))(rs, K)), rtol=1e-8)
    # cross propagator: jacfwd vs finite differences, batched = single
    Jc = np.asarray(vjac(lambda r: cross_green_tensor(r, K)))
    np.testing.assert_allclose(Jc[1], np.asarray(cjac(lambda r: cgt(r, K), rs[1])), rtol=1e-12)
    check_jvp(cgs, RHO, rtol=1e-6, n_dirs=2)


def test_float32_matches_float64(rng):
    rho64 = rng.uniform(-4, 4, size=(6, 3))
    rho32 = rho64.astype(np.float32)
    for f in (gs, cgs):
        a = f(jnp.asarray(rho32[0] - rho32[1]))
        assert a.dtype == jnp.complex64
        b = f(jnp.asarray(rho32[0] - rho32[1], dtype=jnp.float64))
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-5 * np.abs(np.asarray(b)).max())
    M32 = gms(jnp.asarray(rho32))
    assert M32.dtype == jnp.complex64
    M64 = np.asarray(gms(jnp.asarray(rho32, dtype=jnp.float64)))
    np.testing.assert_allclose(np.asarray(M32), M64, rtol=0, atol=2e-5 * np.abs(M64).max())


# slow: four more programs (the coupled matrix and the SI entry points in both precisions); float32
# of the scaled tensors and the interaction matrix stays covered by default in
# test_float32_matches_float64
@pytest.mark.slow
def test_float32_coupled_matrix_and_si_tensors(rng):
    rho32 = rng.uniform(-4, 4, size=(6, 3)).astype(np.float32)
    Mc32 = cgms(jnp.asarray(rho32))
    Mc64 = np.asarray(cgms(jnp.asarray(rho32, dtype=jnp.float64)))
    np.testing.assert_allclose(np.asarray(Mc32), Mc64, rtol=0, atol=2e-5 * np.abs(Mc64).max())
    # SI entry point: k r is formed in float32 without under/overflow (Ḡ ~ k³ ~ 1e20)
    r32 = jnp.asarray(R, dtype=jnp.float32)
    G32 = gt(r32, K)
    assert G32.dtype == jnp.complex64
    G64 = ref_green(np.asarray(r32, dtype=np.float64), K)
    np.testing.assert_allclose(np.asarray(G32), G64, rtol=0, atol=2e-5 * np.abs(G64).max())
    D32 = gtd(r32, K)
    D64 = np.asarray(gtd(jnp.asarray(r32, dtype=jnp.float64), K))
    np.testing.assert_allclose(np.asarray(D32), D64, rtol=0, atol=2e-5 * np.abs(D64).max())


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn", [lambda r: gt(r, K), lambda r: cgt(r, K), sgt, lambda r: gtd(r, K), lambda r: gtp(r, K), gs, cgs]
)
@pytest.mark.unchecked  # wrong shapes and dtypes on purpose: the library's own messages
def test_bad_separation_is_nan_under_jit(fn):
    assert all_nan(fn(np.zeros(3)))
    assert all_nan(fn(np.array([1.0, np.nan, 0.0])))
    with pytest.raises(ValueError, match="must have shape"):
        fn(np.ones(2))
    with pytest.raises(TypeError, match="must be real"):
        fn(np.ones(3, dtype=complex))


@pytest.mark.unchecked  # wrong shapes and dtypes on purpose: the library's own messages
def test_bad_input_errors_under_jit_and_matrices():
    # eager calls raise EquinoxRuntimeError naming the argument; under jax.jit the point's
    # outputs are NaN (no host callback in the user's program)
    with pytest.raises(eqx.EquinoxRuntimeError, match="r = 0"):
        static_green_tensor(np.zeros(3))
    with pytest.raises(eqx.EquinoxRuntimeError, match="r contains non-finite"):
        green_tensor_derivative(np.array([1e-6, np.inf, 0.0]), K)
    assert all_nan(gt(np.zeros(3), K))
    assert all_nan(gt(R, np.inf))
    with pytest.raises(ValueError, match="k must be a scalar"):
        gt(R, np.ones(2))
    pos = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # NumPy: no set-up programs

    def at(i, j, v):
        out = pos.copy()
        out[i, j] = v
        return out

    with pytest.raises(eqx.EquinoxRuntimeError, match="rho coincide"):
        green_matrix_scaled(pos)
    with pytest.raises(eqx.EquinoxRuntimeError, match="positions contains non-finite"):
        green_matrix(at(0, 0, np.inf), K)
    assert all_nan(gms(pos)) and all_nan(cgms(pos))
    assert all_nan(gms(at(0, 0, np.inf)))
    # a batch with one bad configuration: NaN there only
    batch = jax.jit(jax.vmap(green_matrix_scaled))(np.stack([at(2, 2, 2.0), pos]))
    assert np.all(np.isfinite(np.asarray(batch[0]))) and all_nan(batch[1])
    with pytest.raises(ValueError, match=r"rho must have shape \(\*, 3\)"):
        gms(np.ones((3, 2)))
    with pytest.raises(ValueError, match="positions must have shape"):
        gm(np.ones(3), K)
    with pytest.raises(TypeError, match="k must be real"):
        gm(pos[:2], 1j * K)
    with pytest.raises(eqx.EquinoxRuntimeError, match="k must be finite and positive"):
        green_matrix(pos[:2], -K)
    assert all_nan(gm(pos[:2], -K))


def test_negative_or_gain_wavenumber_is_an_error_naming_k():
    """k < 0 (incoming waves) or Im k < 0 (growing waves) is not a physical free-space
    propagator: a ValueError naming k eagerly, NaN under jit."""
    import equinox as eqx

    r = jnp.array([1e-6, 0.0, 0.0])
    with pytest.raises(ValueError, match="k must have Re k ≥ 0"):
        green_tensor(r, -1e7)
    with pytest.raises(ValueError, match="k must have Re k ≥ 0"):
        green_tensor(r, 1e7 - 1e5j)
    assert all_nan(jax.jit(green_tensor)(r, -1e7))
    # imaginary frequency (Matsubara) stays allowed
    assert np.all(np.isfinite(np.asarray(green_tensor(r, 1e6j))))
