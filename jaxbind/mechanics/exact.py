"""Exact linearization of a tweezer array: Jacobians of the self-consistent dipole forces and
the diffusion of the self-consistent dipoles (used by :func:`jaxbind.mechanics.array.linearize`
with ``method="exact"``; the physics is described in that module's docstring).

The recoil diffusion follows from the quadratic expansion of the Lindblad operators (paper 001
eq. 68, paper 000 eq. 5) applied to the self-consistent dipoles p̃_i(x):

    2 D_μν/ħ² = ∫dΩ Σ_s B_μ(n,s) B_ν(n,s)*,   B_μ = ∂/∂x_μ Σ_i t_ns*·p_i(x) e^{−ik n·r_i},

evaluated in closed form with W(R) = ⟨(1 − n⊗n) e^{in·R}⟩_Ω = Im g(R) and its first and second
derivatives (:func:`_angular_kernel`), so no angular quadrature is needed. Particles with
magnetic dipoles radiate the far-field amplitude (1 − n⊗n)(p̃_i − n × m̃_i) (scaled units,
m̃ = k³Z0 m/(4πE0)); with q_i = (p̃_i, m̃_i) the polarization sum is q_iᵀ K q_l* with the
6×6 kernel K = [[W, iX], [−iX, W]], X(R) = [∇j0(R)]_× (from ⟨n e^{in·R}⟩_Ω = −i∇j0(R) and
(n × a)·(n × b) = aᵀ(1 − n⊗n)b; :func:`_angular_kernel_em`), so the identity
C − Cᵀ = 4 Im D/ħ (paper 001) holds for electric-and-magnetic dipole particles too.

The Jacobians of forces and dipoles w.r.t. the displacements are exact (autodiff, no finite
differences) and structured (:func:`_electric_exact_scaled`): implicit differentiation of
the dipole solve with one LU factorization shared by all tangents, pair derivatives of the
Green tensor by ``jax.jacfwd``, and the multiple-scattering term as one matrix product —
O(N²) + O(N³)-BLAS instead of ``jax.jacfwd`` through the dense pair matrices (O(N³)
elementwise work and memory: 0.12–0.2× of finite differences at N = 16 before, see
benchmarks/RESULTS.md). Particles with magnetic dipoles (``model=MieDipole()``, the default) use
``jax.jacfwd`` through :func:`~jaxbind.optics.dipoles.solve_dipoles`.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp

import lineax as lx

from .. import constants as Cst
from ..optics.dipoles import DipoleSolution, dipole_system, solve_dipoles
from ..optics.forces import dipole_forces, isolated_forces
from ..optics.green import dipole_field_scaled
from ..results import RESULTS
from ..solvers import Direct

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


def _angular_kernel_em(R):
    """6×6 kernel ⟨…⟩_Ω of electric + magnetic dipoles (module docstring), as a real pair
    (Re K, Im K): K = [[W, iX], [−iX, W]], X = [∇j0(R)]_×, ∇j0 = 2 s'(u) R."""
    u = jnp.dot(R, R)
    W = _angular_kernel(R)
    v = 2.0 * _sinc_derivative(1, u) * R
    z = jnp.zeros_like(v[0])
    X = jnp.array([[z, -v[2], v[1]], [v[2], z, -v[0]], [-v[1], v[0], z]])
    O = jnp.zeros((3, 3), R.dtype)
    return jnp.stack([jnp.block([[W, O], [O, W]]), jnp.block([[O, X], [-X, O]])])


def _exact_diffusion_scaled(rho, p, dp, axes):
    """⟨B̃_μ B̃_ν*⟩_Ω (M, M) complex (module docstring), scaled units.

    Args: rho (N,3) positions ×k; p (N,3) scaled dipoles, or (N,6) electric and magnetic
    moments q = (p̃, m̃); dp (N,3|6,M) their derivatives ∂/∂ρ_μ;
    axes: tuple of Cartesian axes of the degrees of freedom μ = (j, a).
    """
    n = rho.shape[0]
    na = len(axes)
    nq = p.shape[-1]
    R = rho[None, :, :] - rho[:, None, :]  # R[i, l] = ρ_l − ρ_i
    Rf = R.reshape(-1, 3)
    kern = _angular_kernel if nq == 3 else _angular_kernel_em
    W, dW, ddW = (jax.vmap(f)(Rf) for f in (kern, jax.jacfwd(kern), jax.jacfwd(jax.jacfwd(kern))))
    if nq != 3:  # the 6×6 kernel comes as a real pair (autodiff of real functions only)
        W, dW, ddW = (x[:, 0] + 1j * x[:, 1] for x in (W, dW, ddW))
    ax = jnp.asarray(axes)
    W = W.reshape(n, n, nq, nq)
    dW = dW.reshape(n, n, nq, nq, 3)[..., ax]                          # [i,l,a,c,axis]
    ddW = ddW.reshape(n, n, nq, nq, 3, 3)[..., ax, :][..., ax]         # [i,l,a,c,ax,ax]
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
    Y = jnp.einsum("ilacb,lc->ialb", dW, pc).reshape(n, nq, M)
    T2 = jnp.einsum("iam,ian->mn", dp, Y)
    # T3_μν = −Σ_l p_j^T ∂_a W(ρ_l − ρ_j) a_lν*,  μ = (j, a)
    Z = jnp.einsum("jb,jlbcx->jxlc", p, dW).reshape(M, n, nq)
    T3 = -jnp.einsum("mlc,lcn->mn", Z, dpc)
    # T4_μν = −p_j^T ∂_a∂_b W(ρ_j' − ρ_j) p_j'*
    T4 = -jnp.einsum("jb,jlbcxy,lc->jxly", p, ddW, pc).reshape(M, M)
    T = T1 + T2 + T3 + T4
    return 0.5 * (T + jnp.conj(T.T))


def _pair_derivatives(d, pi_c, pl):
    """Pair (i, l) terms at fixed dipoles, by forward-mode autodiff in the separation d:

    K[b, c] = ∂_c (g p_l)_b (field gradient at i from l), J[e, c] = ∂_c (g p_i*)_e (g is
    symmetric, so Σ_b p_ib* ∂_c g_be), H[c, a] = ∂_a ∂_c (p_i*·g p_l) (force curvature).
    """
    K = jax.jacfwd(dipole_field_scaled)(d, pl)
    J = jax.jacfwd(dipole_field_scaled)(d, pi_c)
    H = jax.jacfwd(jax.jacfwd(lambda x: jnp.sum(pi_c * dipole_field_scaled(x, pl))))(d)
    return K, J, H


def _electric_exact_scaled(arr, axes, throw):
    """Dipoles, forces and their exact derivatives for electric point dipoles (scaled units).

    p̃ solves S p̃ = α̃ Ẽ_inc with S = 1 − α̃ g (optics.dipoles, method "direct"). With
    ρ = k r, the derivative of p̃ w.r.t. a displacement ρ_{j,a} is, by the implicit function
    theorem, S ∂p̃ = ∂_ρ[α̃(Ẽ_inc + g p̃)] at fixed p̃, i.e.

        S ∂p̃/∂ρ_{ja} = R_{·,ja},  R_{ib,ja} = α̃_i [δ_ij ∂_a Ẽ^loc_{ib} − K_{ij}[b, a]],

    where Ẽ^loc = Ẽ_inc + Σ_l g p̃_l is the local field and K_{il} = ∇(g(ρ_i − ρ_l) p̃_l). The
    right-hand sides are O(N²) pair terms and all 3N (or N) tangents share one LU
    factorization of S. The force F̃_ic = ½ Re Σ_b p̃_ib* ∂_c Ẽ^loc_ib (optics.forces, electric
    dipoles) then has

        ∂F̃_ic/∂ρ_{ja} = ½ Re[ Σ_b ∂p̃*_ib ∂_c Ẽ^loc_ib + δ_ij p̃_i*·∂_a∂_c Ẽ_inc(ρ_i)
                          + Σ_l J_il[·, c]·∂p̃_l + δ_ij Σ_l H_il[c, a] − H_ij[c, a] ]

    (K, J, H of :func:`_pair_derivatives`), the J term being one dense matrix product. In
    the code p̃ is split into the isolated dipoles α̃Ẽ_inc and the scattering correction δp̃
    (both solved with the same LU), so the interaction stiffness K is formed directly rather
    than as the small difference of total and trap stiffness (float32). Why
    not ``jax.jacfwd`` of the whole chain: forward mode pushes every tangent through the
    dense pair matrices (N tangents × N² pairs, O(N³) elementwise work and memory), although
    the displacement of particle j only changes row and column j; this form is O(N²)
    autodiff plus O(N³) BLAS/LAPACK (measured in benchmarks/bench_array.py).

    Returns (p (N,3), dp (N,3,M) = ∂p̃/∂ρ_μ, F (M,) F̃, JF (M,M) ∂F̃/∂ρ, JF_int (M,M) its
    interaction part ∂(F̃ − F̃_iso)/∂ρ, S_iso (M,) −∂F̃_iso/∂ρ diagonal, result) for the
    degrees of freedom μ = (j, a ∈ axes), μ = j·len(axes) + a.
    """
    rdt = arr.positions.dtype
    k = arr.k.astype(rdt)
    beam = arr.beam()
    ps = arr.particles()
    n = arr.n
    na = len(axes)
    ax = jnp.asarray(axes)
    # the coupled-dipole system of jaxbind.optics.dipoles; one LU (lineax) reused for every
    # tangent below
    system = dipole_system(ps, beam, throw=throw)
    rho = system.rho
    ae = system.alpha  # (N,) complex (spheres)
    E_inc = system.y                                                                # (N,3)
    dE_inc = jax.vmap(lambda r: beam.field_gradients_scaled(r)[0])(rho)             # [i,b,c]
    ddE_inc = jax.vmap(jax.jacfwd(lambda r: beam.field_gradients_scaled(r)[0]))(rho)  # [i,b,c,a]
    a3 = jnp.repeat(ae, 3)
    G = system.interaction_matrix()
    op = lx.MatrixLinearOperator(system.matrix(G))
    lu = lx.LU()
    state = lu.init(op, {})

    def solve(rhs):
        return lx.linear_solve(op, rhs, solver=lu, state=state, throw=False)

    def solve_columns(R):
        return jax.vmap(lambda c: solve(c).value, in_axes=1, out_axes=1)(R)

    b = system.rhs().reshape(-1)
    sol = solve(b)
    x = sol.value
    res = jnp.linalg.norm(system.matrix(G) @ x - b) / jnp.linalg.norm(b)
    ok = jnp.all(jnp.isfinite(x)) & (res < jnp.sqrt(jnp.finfo(rdt).eps))
    result = RESULTS.where(system.overlap, RESULTS.overlap, RESULTS.promote(sol.result))
    result = RESULTS.where((result == RESULTS.successful) & ~ok, RESULTS.singular, result)
    if throw:
        x = eqx.error_if(x, result != RESULTS.successful,
                         "linearize: singular dipole system (non-finite or inaccurate solve)")
    p = x.reshape(n, 3)

    # pair terms at fixed dipoles (self pairs masked with a harmless separation)
    off = ~jnp.eye(n, dtype=bool)
    D = rho[:, None, :] - rho[None, :, :]
    D = jnp.where(off[..., None], D, jnp.array([1.0, 0.0, 0.0], rdt))
    pc = jnp.conj(p)
    K, J, H = jax.vmap(jax.vmap(_pair_derivatives, in_axes=(0, None, 0)),
                       in_axes=(0, 0, None))(D, pc, p)
    w = off.astype(rdt)[:, :, None, None]
    K, J, H = K * w, J * w, H * w

    # ∂p̃/∂ρ_{ja}, split as p̃ = p̃⁰ + δp̃ with the isolated dipoles p̃⁰_i = α̃_i Ẽ_inc(ρ_i),
    # so that the interaction part (K, C) is computed directly and not as a difference of
    # two trap-sized numbers (float32): S δp̃ = α̃ g p̃⁰, and with ∂p̃⁰ = δ_ij α̃_i ∂_a Ẽ_inc,
    # S ∂δp̃ = R − S ∂p̃⁰ = α̃[δ_ij ∂_a Ẽ_scat,i − K_ij + g ∂p̃⁰] (one multi-RHS solve).
    eye_n = jnp.eye(n, dtype=rdt)
    dEs = jnp.sum(K, axis=1)                                                        # ∇Ẽ_scat [i,b,c]
    dp0 = (eye_n[:, None, :, None] * (ae[:, None, None] * dE_inc)[:, :, None, :])[..., ax]
    dp0 = dp0.reshape(3 * n, n * na)                                                # [(i,b), μ]
    Rint = eye_n[:, None, :, None] * dEs[:, :, None, :] - jnp.transpose(K, (0, 2, 1, 3))
    Rint = a3[:, None] * (Rint[..., ax].reshape(3 * n, n * na) + G @ dp0)
    ddp = solve_columns(Rint)                                       # ∂δp̃
    dP = dp0 + ddp
    dp = dP.reshape(n, 3, n * na)
    ddp = ddp.reshape(n, 3, n * na)
    p0 = (ae[:, None] * E_inc).reshape(-1)
    dlt = solve(a3 * (G @ p0)).value.reshape(n, 3)                # δp̃

    # forces F̃ = F̃_iso + F̃_int and their Jacobians (rows c ∈ axes); per-particle 3×3
    # contractions as broadcasts + sums (tiny batched dots are slow on CPU)
    def dot_b(u, T):  # Σ_b u[i,b,...] T[i,b,c,...]
        return jnp.sum(u[:, :, None] * T, axis=1)

    ddE_sum_int = dot_b(jnp.conj(dlt)[..., None], ddE_inc) + jnp.sum(H, axis=1)      # [i,c,a]
    t1 = (jnp.sum(jnp.conj(ddp)[:, :, None, :] * dE_inc[..., None], axis=1)
          + jnp.sum(jnp.conj(dp)[:, :, None, :] * dEs[..., None], axis=1))          # [i,c,μ]
    Jm = jnp.transpose(J, (0, 3, 1, 2)).reshape(n, 3, 3 * n)                        # [i,c,(l,e)]
    t3 = jnp.einsum("icl,lm->icm", Jm, dP)                                          # Σ_l J ∂p
    loc = eye_n[:, None, :, None] * ddE_sum_int[:, :, None, :] - H.transpose(0, 2, 1, 3)
    JF_int = 0.5 * jnp.real((t1 + t3)[:, ax].reshape(n * na, n * na)
                            + loc[:, ax][..., ax].reshape(n * na, n * na))

    # isolated particles: F̃_iso = ½ Re α̃* Ẽ_inc*·∂Ẽ_inc, a function of ρ_i only
    ai = jnp.conj(ae)[:, None, None]
    Jiso = 0.5 * jnp.real(ai * (jnp.sum(jnp.conj(dE_inc)[:, :, None, :] * dE_inc[..., None], axis=1)
                                + dot_b(jnp.conj(E_inc)[..., None], ddE_inc)))      # [i,c,a]
    Jiso_sel = Jiso[:, ax][..., ax]                                                 # [i,c,a]
    JF_iso = (eye_n[:, None, :, None] * Jiso_sel[:, :, None, :]).reshape(n * na, n * na)
    S_iso = -jnp.diagonal(Jiso_sel, axis1=1, axis2=2).reshape(-1)
    # the forces themselves from the one force assembly of jaxbind.optics.forces (SI → F̃)
    sol = DipoleSolution(p, None, p, None, result, res, k, system.E0, system.n_medium)
    F = (dipole_forces(ps, beam, sol)
         / Cst.force_unit(k, system.E0, system.n_medium))[:, ax].reshape(-1)
    return p, dp, F, JF_iso + JF_int, JF_int, S_iso, result


def exact_linearization(arr, axes, throw=True):
    """(ω, C, K, F, D/ħ, mass, k_eff, result) per degree of freedom (SI) of a TweezerArray ``arr`` for
    the Cartesian ``axes`` (tuple of 0/1/2): exact derivatives at the foci (electric dipoles:
    :func:`_electric_exact_scaled`; with magnetic dipoles, ``jax.jacfwd`` through
    :func:`~jaxbind.optics.dipoles.solve_dipoles`)."""
    rdt = arr.positions.dtype
    k = arr.k.astype(rdt)
    beam = arr.beam()
    E0 = jnp.asarray(beam.reference_amplitude).astype(rdt)
    F0 = Cst.force_unit(k, E0, jnp.asarray(arr.n_medium).astype(rdt))
    if arr.particles().magnetic:
        JF, JFi, F, p, dp, result = _generic_jacobians(arr, axes, throw)
        S_iso = -jnp.diagonal(JFi)
        K_int = -jnp.diagonal(JF) - S_iso
    else:
        p, dp, Ft, JFt, JFint, Sit, result = _electric_exact_scaled(arr, axes, throw)
        # scaled → SI: force unit F0, per metre = k per unit ρ
        F, JF, S_iso = F0 * Ft, (F0 * k) * JFt, (F0 * k) * Sit
        K_int = -(F0 * k) * jnp.diagonal(JFint)
    rho = arr.positions * k
    T = _exact_diffusion_scaled(rho, p, dp, axes)
    D = (0.25 * k * F0) * T
    m = jnp.repeat(arr.masses, len(axes))
    if throw:
        S_iso = eqx.error_if(S_iso, jnp.any(S_iso <= 0), "linearize: a particle is not "
                             "trapped (non-positive isolated stiffness)")
    trapped = jnp.all(S_iso > 0)
    result = RESULTS.where((result == RESULTS.successful) & ~trapped, RESULTS.not_trapped, result)
    omega = jnp.sqrt(jnp.where(S_iso > 0, S_iso, 1.0) / m)
    K = K_int
    C = JF - jnp.diag(jnp.diagonal(JF))
    # Gouy-reduced wavenumber: phase gradient of each tweezer's field at its own focus.
    kap = 1.0 - 1.0 / (k * arr.rayleigh_ranges)
    return omega, C, K, F, D, m, jnp.repeat(kap, len(axes)) * k, result


def _generic_jacobians(arr, axes, throw):
    """(JF, JF_iso (N/m), F (N), q̃, ∂q̃/∂ρ, result) by ``jax.jacfwd`` through solve_dipoles (any
    particles, incl. magnetic dipoles; O(N³) forward-mode work, see _electric_exact_scaled);
    q̃ = p̃ (N, 3), or (p̃, m̃) (N, 6) with magnetic dipoles."""
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
        sol = solve_dipoles(ps, beam, Direct(), throw=throw)
        F = dipole_forces(ps, beam, sol)[:, ax].reshape(-1)
        Fi = isolated_forces(ps, beam)[:, ax].reshape(-1)
        q = sol.p if sol.m is None else jnp.concatenate([sol.p, sol.m], axis=-1)
        return (F, Fi, q), (F, q, sol.result)

    x0 = jnp.zeros((n * na,), rdt)
    (JF, JFi, Jq), (F, q, result) = jax.jacfwd(f, has_aux=True)(x0)
    # Jacobians are per metre; ∂q̃/∂ρ = (∂q̃/∂r)/k.
    return JF, JFi, F, q, Jq / k, result
