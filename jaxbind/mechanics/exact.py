"""Exact linearization of a tweezer array: Jacobians of the self-consistent dipole forces and
the diffusion of the self-consistent dipoles (used by :func:`jaxbind.mechanics.array.linearize`
with ``method="exact"``; the physics is described in that module's docstring).

The recoil diffusion follows from the quadratic expansion of the Lindblad operators (paper 001
eq. 68, paper 000 eq. 5) applied to the self-consistent dipoles p̃_i(x):

    2 D_μν/ħ² = ∫dΩ Σ_s B_μ(n,s) B_ν(n,s)*,   B_μ = ∂/∂x_μ Σ_i t_ns*·p_i(x) e^{−ik n·r_i},

evaluated in closed form with W(R) = ⟨(1 − n⊗n) e^{in·R}⟩_Ω = Im g(R) and its first and second
derivatives (:func:`_angular_kernel`), so no angular quadrature is needed.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import constants as Cst
from ..optics.dipoles import DipoleSolution, solve_dipoles
from ..optics.forces import dipole_forces, isolated_forces
from ..optics.green import green_matrix_scaled

__all__ = ["exact_linearization"]


# --------------------------------------------------------------------------------------
# exact (autodiff of the self-consistent dipole forces)
# --------------------------------------------------------------------------------------

# Crossover of the series / closed form in _sinc_derivative (u = ρ²).
_U_SERIES = 9.0
_N_SERIES = 34


def _series_coefficients(n):
    """Taylor coefficients of dⁿ/duⁿ j0(√u) = Σ_m (−1)^m u^m/(2m+1)! differentiated n times."""
    return [(-1.0) ** m * math.factorial(m) / (math.factorial(2 * m + 1) * math.factorial(m - n))
            for m in range(n, n + _N_SERIES)]


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _sinc_derivative(n, u):
    """s⁽ⁿ⁾(u) for s(u) = j0(√u) = sin(√u)/√u (entire in u).

    Closed form s⁽ⁿ⁾(u) = (−½)ⁿ j_n(x)/xⁿ, x = √u (spherical Bessel functions by upward
    recurrence), Taylor series below u = 9 where the closed form cancels; the custom JVP
    (d s⁽ⁿ⁾/du = s⁽ⁿ⁺¹⁾) keeps nested autodiff cheap to compile and exact at u → 0.
    """
    small = u < _U_SERIES
    us = jnp.where(small, u, 0.0)
    coef = _series_coefficients(n)
    ser = coef[-1]
    for c in coef[-2::-1]:
        ser = ser * us + c
    x = jnp.sqrt(jnp.where(small, _U_SERIES, u))
    jm, j = jnp.sin(x) / x, jnp.sin(x) / x**2 - jnp.cos(x) / x
    if n == 0:
        jn = jm
    else:
        for l in range(1, n):
            jm, j = j, (2 * l + 1) / x * j - jm
        jn = j
    return jnp.where(small, ser, (-0.5) ** n * jn / x**n)


@_sinc_derivative.defjvp
def _sinc_derivative_jvp(n, primals, tangents):
    (u,), (du,) = primals, tangents
    return _sinc_derivative(n, u), _sinc_derivative(n + 1, u) * du


def _angular_kernel(R):
    """W(R) = ⟨(1 − n⊗n) e^{i n·R}⟩_Ω = δ j0 + ∂∂ j0 = Im g(R), real (3, 3), smooth at R = 0.

    With s(u) = j0(√u), u = R·R: W_ab = δ_ab (s + 2s') + 4 R_a R_b s''.
    """
    u = jnp.dot(R, R)
    eye = jnp.eye(3, dtype=R.dtype)
    s0, s1, s2 = (_sinc_derivative(i, u) for i in range(3))
    return eye * (s0 + 2.0 * s1) + 4.0 * jnp.outer(R, R) * s2


def _exact_diffusion_scaled(rho, p, dp, axes):
    """⟨B̃_μ B̃_ν*⟩_Ω (M, M) complex (module docstring), scaled units.

    Args: rho (N,3) positions ×k; p (N,3) scaled dipoles; dp (N,3,M) ∂p̃_i/∂ρ_μ;
    axes: tuple of Cartesian axes of the degrees of freedom μ = (j, a).
    """
    n = rho.shape[0]
    na = len(axes)
    R = rho[None, :, :] - rho[:, None, :]  # R[i, l] = ρ_l − ρ_i
    Rf = R.reshape(-1, 3)
    W = jax.vmap(_angular_kernel)(Rf)                                  # (NN,3,3)
    dW = jax.vmap(jax.jacfwd(_angular_kernel))(Rf)                     # (NN,3,3,3)
    ddW = jax.vmap(jax.jacfwd(jax.jacfwd(_angular_kernel)))(Rf)        # (NN,3,3,3,3)
    ax = jnp.asarray(axes)
    W = W.reshape(n, n, 3, 3)
    dW = dW.reshape(n, n, 3, 3, 3)[..., ax]                            # [i,l,a,c,axis]
    ddW = ddW.reshape(n, n, 3, 3, 3, 3)[..., ax, :][..., ax]           # [i,l,a,c,ax,ax]
    cdt = dp.dtype
    W = W.astype(cdt)
    dW = dW.astype(cdt)
    ddW = ddW.astype(cdt)
    dpc = jnp.conj(dp)
    pc = jnp.conj(p)
    M = n * na
    # T1 = Σ_il a_iμ^T W(R_il) a_lν*
    X = jnp.einsum("ilac,lcn->ian", W, dpc)
    T1 = jnp.einsum("iam,ian->mn", dp, X)
    # T2_μν = Σ_i a_iμ^T ∂_b W(ρ_j' − ρ_i) p_j'*,  ν = (j', b)
    Y = jnp.einsum("ilacb,lc->ialb", dW, pc).reshape(n, 3, M)
    T2 = jnp.einsum("iam,ian->mn", dp, Y)
    # T3_μν = −Σ_l p_j^T ∂_a W(ρ_l − ρ_j) a_lν*,  μ = (j, a)
    Z = jnp.einsum("jb,jlbcx->jxlc", p, dW).reshape(M, n, 3)
    T3 = -jnp.einsum("mlc,lcn->mn", Z, dpc)
    # T4_μν = −p_j^T ∂_a∂_b W(ρ_j' − ρ_j) p_j'*
    T4 = -jnp.einsum("jb,jlbcxy,lc->jxly", p, ddW, pc).reshape(M, M)
    T = T1 + T2 + T3 + T4
    return 0.5 * (T + jnp.conj(T.T))


@jax.custom_jvp
def _real_solve(A, b):
    """x = A⁻¹ b for a real matrix, with a JVP that reuses one LU factorization.

    Why: ``jnp.linalg.solve``'s JVP (``custom_linear_solve``) under ``jacfwd`` ran ~90×
    slower than this rule on CPU (96×96, 16 tangents: 40 ms vs 0.45 ms).
    """
    return jnp.linalg.solve(A, b)


@_real_solve.defjvp
def _real_solve_jvp(primals, tangents):
    A, b = primals
    dA, db = tangents
    lu = jax.scipy.linalg.lu_factor(A)
    x = jax.scipy.linalg.lu_solve(lu, b)
    return x, jax.scipy.linalg.lu_solve(lu, db - dA @ x)


def _electric_dipoles_real(ps, beam, k, throw=True) -> DipoleSolution:
    """Self-consistent electric dipoles (1 − α̃ g) p̃ = α̃ Ẽ_inc (same equations as
    :func:`jaxbind.optics.dipoles.solve_dipoles`, method "direct"), solved as the equivalent
    real system [[Re S, −Im S], [Im S, Re S]] of twice the size.

    Why: the Jacobian of the dipoles needs triangular solves per tangent, and XLA's CPU complex
    triangular solve is ~10³× slower than the real one (measured 28 ms vs 15 µs for 48×48 with
    16 right-hand sides); with the complex LU, ``jacfwd`` was slower than finite differences.
    """
    rdt = ps.positions.dtype
    rho = ps.positions * k
    ae, _ = ps.polarizabilities_scaled(k)
    E_inc, _ = jax.vmap(beam.fields_scaled)(rho)
    n3 = 3 * rho.shape[0]
    a3 = jnp.repeat(ae, 3)
    S = jnp.eye(n3, dtype=a3.dtype) - a3[:, None] * green_matrix_scaled(rho)
    b = a3 * E_inc.reshape(-1)
    Sr = jnp.block([[jnp.real(S), -jnp.imag(S)], [jnp.imag(S), jnp.real(S)]])
    xr = _real_solve(Sr, jnp.concatenate([jnp.real(b), jnp.imag(b)]))
    x = xr[:n3] + 1j * xr[n3:]
    res = jnp.linalg.norm(S @ x - b) / jnp.linalg.norm(b)
    ok = jnp.all(jnp.isfinite(x)) & (res < jnp.sqrt(jnp.finfo(rdt).eps))
    if throw:
        x = eqx.error_if(x, ~ok, "linearize: singular dipole system (non-finite or inaccurate solve)")
    p = x.reshape(-1, 3)
    E0 = jnp.asarray(beam.reference_amplitude).astype(rdt)
    return DipoleSolution(p, None, p, None, jnp.zeros((), jnp.int32), res, k, E0)


def exact_linearization(arr, axes, throw=True):
    """(ω, C, K, F, D/ħ, mass, k_eff) per degree of freedom (SI) of a TweezerArray ``arr`` for
    the Cartesian ``axes`` (tuple of 0/1/2), by ``jax.jacfwd`` at the foci."""
    rdt = arr.positions.dtype
    k = arr.k.astype(rdt)
    beam = arr.beam()
    base = arr.particles()
    ax = jnp.asarray(axes)
    n = arr.n
    na = len(axes)

    def f(x):
        pos = arr.positions.at[:, ax].add(x.reshape(n, na))
        ps = base.with_positions(pos)
        if ps.magnetic:
            sol = solve_dipoles(ps, beam, "direct", throw=throw)
        else:
            sol = _electric_dipoles_real(ps, beam, k, throw)
        F = dipole_forces(ps, beam, sol)[:, ax].reshape(-1)
        Fi = isolated_forces(ps, beam)[:, ax].reshape(-1)
        return (F, Fi, sol.p), (F, sol.p, sol.E0, sol.status)

    x0 = jnp.zeros((n * na,), rdt)
    (JF, JFi, Jp), (F, p, E0, status) = jax.jacfwd(f, has_aux=True)(x0)
    # Jacobians are per metre; ∂p̃/∂ρ = (∂p̃/∂r)/k.
    dp = Jp / k
    rho = arr.positions * k
    T = _exact_diffusion_scaled(rho, p, dp, axes)
    F0 = 4.0 * jnp.pi * Cst.epsilon0 * E0**2 / k**2
    D = (0.25 * k * F0) * T
    m = jnp.repeat(arr.masses, na)
    S_iso = -jnp.diagonal(JFi)
    if throw:
        S_iso = eqx.error_if(S_iso, jnp.any(S_iso <= 0), "linearize: a particle is not "
                             "trapped (non-positive isolated stiffness)")
    omega = jnp.sqrt(S_iso / m)
    K = -jnp.diagonal(JF) - S_iso
    C = JF - jnp.diag(jnp.diagonal(JF))
    # Gouy-reduced wavenumber: phase gradient of each tweezer's field at its own focus.
    kap = 1.0 - 1.0 / (k * arr.rayleigh_ranges)
    return omega, C, K, F, D, m, jnp.repeat(kap, na) * k
