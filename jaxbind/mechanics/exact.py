"""Exact linearization of a tweezer array: Jacobians of the self-consistent dipole forces and
the diffusion of the self-consistent dipoles (used by :func:`jaxbind.mechanics.array.linearize`
with ``method="exact"``; the physics is described in that module's docstring).

The recoil diffusion follows from the quadratic expansion of the Lindblad operators (paper 001
eq. 68, paper 000 eq. 5) applied to the self-consistent dipoles p̃_i(x):

    2 D_μν/ħ² = ∫dΩ Σ_s B_μ(n,s) B_ν(n,s)*,   B_μ = ∂/∂x_μ Σ_i t_ns*·p_i(x) e^{−ik n·r_i},

evaluated in closed form with W(R) = ⟨(1 − n⊗n) e^{in·R}⟩_Ω = Im g(R) (:func:`_angular_kernel`)
and its first and second derivatives (closed forms in the derivatives of j0,
:func:`_angular_kernel_derivatives`), so no angular quadrature is needed. Particles with
magnetic dipoles radiate the far-field amplitude (1 − n⊗n)(p̃_i − n × m̃_i) (scaled units,
m̃ = k³Z0 m/(4πE0)); with q_i = (p̃_i, m̃_i) the polarization sum is q_iᵀ K q_l* with the
6×6 kernel K = [[W, iX], [−iX, W]], X(R) = [∇j0(R)]_× (from ⟨n e^{in·R}⟩_Ω = −i∇j0(R) and
(n × a)·(n × b) = aᵀ(1 − n⊗n)b; :func:`_angular_kernel_em`), so the identity
C − Cᵀ = 4 Im D/ħ (paper 001) holds for electric-and-magnetic dipole particles too.

The Jacobians of forces and moments w.r.t. the displacements are exact (autodiff, no finite
differences) and structured (:func:`_dipole_exact_scaled`), for electric dipoles
(``model=ClausiusMossotti()``) and electric + magnetic dipoles (``model=MieDipole()``, the
default) alike: implicit differentiation of the coupled-dipole solve with one LU
factorization shared by all tangents, closed-form pair derivatives of the propagator
(:func:`jaxbind.optics.green.dipole_field_derivatives_scaled`, from the radial functions of
:mod:`jaxbind.optics._propagator`), the forces from the same local-field gradients (no second
dipole system), and the multiple-scattering term as one matrix product — O(N²) + O(N³)-BLAS instead of
``jax.jacfwd`` through the dense pair matrices (O(N³) elementwise work and memory: 0.12–0.2×
of finite differences at N = 16 before, see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import lu_factor, lu_solve

from .. import constants as Cst
from ..optics.dipoles import dipole_system
from ..optics.green import dipole_field_derivatives_scaled
from ..results import RESULTS

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


def _sinc_derivatives(u, nmax):
    """[s⁽⁰⁾(u), …, s⁽ⁿ⁾(u)] (n = nmax) of :func:`_sinc_derivative` (same series and closed
    form), sharing one sin, cos and spherical-Bessel recurrence, and evaluating every Taylor
    series at once as the powers (1, u, …) times one coefficient matrix (no autodiff and no
    Horner chain per order: a small program)."""
    small = u < _U_SERIES
    us = jnp.where(small, u, 0.0)
    x = jnp.sqrt(jnp.where(small, _U_SERIES, u))
    sx, cx = jnp.sin(x), jnp.cos(x)
    jm, j = sx / x, sx / x**2 - cx / x
    js = [jm, j]
    for l in range(1, nmax):
        jm, j = j, (2 * l + 1) / x * j - jm
        js.append(j)
    powers = jnp.cumprod(jnp.broadcast_to(us[..., None], us.shape + (_N_SERIES - 1,)), axis=-1)
    powers = jnp.concatenate([jnp.ones_like(us)[..., None], powers], axis=-1)
    coef = jnp.asarray(np.array([_series_coefficients(n) for n in range(nmax + 1)]).T, u.dtype)
    ser = jnp.matmul(powers, coef, precision=jax.lax.Precision.HIGHEST)
    return [jnp.where(small, ser[..., n], (-0.5) ** n * js[n] / x**n) for n in range(nmax + 1)]


# Levi-Civita ε_aeb: ([v]_×)_ab = ε_aeb v_e.
_EPS = np.zeros((3, 3, 3))
for _a, _e, _b in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
    _EPS[_a, _e, _b], _EPS[_a, _b, _e] = 1.0, -1.0


def _delta(*axes):
    """δ on two of the four tensor axes (a, b, c, d) = (0, 1, 2, 3), with a leading batch axis."""
    return np.eye(3).reshape((1,) + tuple(3 if i in axes else 1 for i in range(4)))


def _angular_kernel_derivatives(R, magnetic):
    """(W, ∂_c W, ∂_c∂_d W) of :func:`_angular_kernel` (3×3, real) or, with ``magnetic``, of the
    6×6 kernel of :func:`_angular_kernel_em` (complex), for a batch R (P, 3); shapes
    (P, a, b), (P, a, b, c), (P, a, b, c, d). Closed forms in s⁽ⁿ⁾(u), u = R·R, ∂_c u = 2R_c:
    with W_ab = δ_ab A(u) + R_a R_b B(u), A = s + 2s', B = 4s'',

        ∂_c W_ab    = 2A' δ_ab R_c + B (δ_ac R_b + δ_bc R_a) + 2B' R_a R_b R_c,
        ∂_c∂_d W_ab = δ_ab (4A'' R_c R_d + 2A' δ_cd) + B (δ_ac δ_bd + δ_ad δ_bc)
                      + 2B' (δ_ac R_b R_d + δ_bc R_a R_d + δ_ad R_b R_c + δ_bd R_a R_c + δ_cd R_a R_b)
                      + 4B'' R_a R_b R_c R_d,

    and X_ab = ε_aeb v_e with v = ∇j0 = 2s' R, ∂_c v_e = 2s' δ_ec + 4s'' R_e R_c,
    ∂_c∂_d v_e = 4s'' (δ_ec R_d + δ_ed R_c + δ_cd R_e) + 8s''' R_e R_c R_d. (Nested
    ``jax.jacfwd`` of the kernels gives the same numbers with a program several times larger:
    compile latency, issue 15 §10.)
    """
    u = jnp.sum(R * R, axis=-1)
    s0, s1, s2, s3, s4 = _sinc_derivatives(u, 4)
    A0, A1, A2 = s0 + 2.0 * s1, s1 + 2.0 * s2, s2 + 2.0 * s3
    B0, B1, B2 = 4.0 * s2, 4.0 * s3, 4.0 * s4
    E = lambda *axes: np.asarray(_delta(*axes), R.dtype)  # noqa: E731

    def at(*axes):  # the product of R on the listed tensor axes, broadcast on the others
        out = 1.0
        for i in axes:
            out = out * R.reshape((-1,) + tuple(3 if j == i else 1 for j in range(4)))
        return out

    def sc(f):
        return f[:, None, None, None, None]

    W = (sc(A0) * E(0, 1) + sc(B0) * at(0, 1))[..., 0, 0]
    dW = (2.0 * sc(A1) * E(0, 1) * at(2) + sc(B0) * (E(0, 2) * at(1) + E(1, 2) * at(0))
          + 2.0 * sc(B1) * at(0, 1, 2))[..., 0]
    ddW = (4.0 * sc(A2) * E(0, 1) * at(2, 3) + 2.0 * sc(A1) * E(0, 1) * E(2, 3)
           + sc(B0) * (E(0, 2) * E(1, 3) + E(0, 3) * E(1, 2))
           + 2.0 * sc(B1) * (E(0, 2) * at(1, 3) + E(1, 2) * at(0, 3) + E(0, 3) * at(1, 2)
                             + E(1, 3) * at(0, 2) + E(2, 3) * at(0, 1))
           + 4.0 * sc(B2) * at(0, 1, 2, 3))
    if not magnetic:
        return W, dW, ddW
    # v_e, ∂_c v_e, ∂_c∂_d v_e with the tensor axes (e, c, d) on (0, 1, 2)
    v = (2.0 * s1)[:, None] * R
    dv = (2.0 * sc(s1) * E(0, 1) + 4.0 * sc(s2) * at(0, 1))[..., 0, 0]
    ddv = (4.0 * sc(s2) * (E(0, 1) * at(2) + E(0, 2) * at(1) + E(1, 2) * at(0))
           + 8.0 * sc(s3) * at(0, 1, 2))[..., 0]
    eps = _EPS.astype(R.dtype)
    X = jnp.einsum("aeb,pe->pab", eps, v)
    dX = jnp.einsum("aeb,pec->pabc", eps, dv)
    ddX = jnp.einsum("aeb,pecd->pabcd", eps, ddv)

    def block(W, X):  # [[W, iX], [−iX, W]] on the axes (a, b)
        top = jnp.concatenate([W + 0j, 1j * X], axis=2)
        bot = jnp.concatenate([-1j * X, W + 0j], axis=2)
        return jnp.concatenate([top, bot], axis=1)

    return block(W, X), block(dW, dX), block(ddW, ddX)


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
    W, dW, ddW = _angular_kernel_derivatives(Rf, nq == 6)
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


def _pair_derivatives(d, qi_c, ql):
    """Pair (i, l) terms at fixed moments, closed forms in the separation d
    (:func:`jaxbind.optics.green.dipole_field_derivatives_scaled`):

    K[b, c] = ∂_c (𝒢 q_l)_b (field gradient at i from l), J[e, c] = ∂_c (𝒢 q_i*)_e (𝒢 is
    symmetric, so Σ_b q_ib* ∂_c 𝒢_be), H[c, a] = ∂_a ∂_c (q_i*·𝒢 q_l) (force curvature);
    𝒢(d) q is the field of the moments q (electric: g p̃; electric + magnetic: (Ẽ, H̃) of
    (p̃, m̃)).
    """
    return dipole_field_derivatives_scaled(d, qi_c, ql)


def _cross1(u, v):
    """u × v over axis 1 (the rest broadcast)."""
    return jnp.stack([u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1],
                      u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2],
                      u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]], axis=1)


def _particle_order(n, magnetic):
    """Index map from the engine's unknowns [p̃_1 … p̃_N, m̃_1 … m̃_N] (flattened) to the
    per-particle order q_i = (p̃_i, m̃_i): x_particle = x_engine[perm] (None if they agree)."""
    if not magnetic:
        return None
    i, h, c = np.meshgrid(np.arange(n), np.arange(2), np.arange(3), indexing="ij")
    return (h * 3 * n + 3 * i + c).reshape(-1)


def _dipole_exact_scaled(arr, axes, throw):
    """Moments, forces and their exact derivatives for point dipoles (scaled units), electric
    (q̃ = p̃, 3 components per particle) or electric + magnetic (q̃ = (p̃, m̃), 6).

    q̃ solves q̃_i = A_i Φ^loc_i with the local fields Φ^loc_i = (Ẽ, H̃)^loc_i = Φ_inc(ρ_i) +
    Σ_l 𝒢(ρ_i − ρ_l) q̃_l, A_i = diag(α̃_e, α̃_m) and 𝒢 = [[g, −gc], [gc, g]] (optics.dipoles,
    the system S q̃ = A Φ_inc with S = 1 − A𝒢; electric dipoles: 𝒢 = g). With ρ = k r, the
    derivative of q̃ w.r.t. a displacement ρ_{j,a} is, by the implicit function theorem,
    S ∂q̃ = ∂_ρ[A(Φ_inc + 𝒢 q̃)] at fixed q̃, i.e.

        S ∂q̃/∂ρ_{ja} = R_{·,ja},  R_{ib,ja} = A_ib [δ_ij ∂_a Φ^loc_{ib} − K_{ij}[b, a]],

    where K_{il} = ∇(𝒢(ρ_i − ρ_l) q̃_l). The right-hand sides are O(N²) pair terms and all
    tangents share one LU factorization of S. The force (optics.forces)
    F̃_ic = ½ Re Σ_b q̃_ib* ∂_c Φ^loc_ib − ⅓ Re(p̃_i × m̃_i*)_c then has

        ∂F̃_ic/∂ρ_{ja} = ½ Re[ Σ_b ∂q̃*_ib ∂_c Φ^loc_ib + δ_ij q̃_i*·∂_a∂_c Φ_inc(ρ_i)
                          + Σ_l J_il[·, c]·∂q̃_l + δ_ij Σ_l H_il[c, a] − H_ij[c, a] ]
                        − ⅓ Re(∂p̃_i × m̃_i* + p̃_i × ∂m̃_i*)_c

    (K, J, H of :func:`_pair_derivatives`; 𝒢 is symmetric because gc is antisymmetric), the
    J term being one dense matrix product. In the code q̃ is split into the isolated moments
    q̃⁰ = A Φ_inc and the scattering correction δq̃ (both solved with the same LU), so the
    interaction stiffness K is formed directly rather than as the small difference of total
    and trap stiffness (float32); the recoil term's interaction part is written the same way,
    p̃ × m̃* − p̃⁰ × m̃⁰* = δp̃ × m̃* + p̃⁰ × δm̃*. Why not ``jax.jacfwd`` of the whole chain:
    forward mode pushes every tangent through the dense pair matrices (N tangents × N² pairs,
    O(N³) elementwise work and memory), although the displacement of particle j only
    changes row and column j; this form is O(N²) autodiff plus O(N³) BLAS/LAPACK (measured
    in benchmarks/bench_array.py), and float32 keeps the accuracy of the solve.

    Returns (q (N,nq), dq (N,nq,M) = ∂q̃/∂ρ_μ, F (M,) F̃, JF (M,M) ∂F̃/∂ρ, JF_int (M,M) its
    interaction part ∂(F̃ − F̃_iso)/∂ρ, S_iso (M,) −∂F̃_iso/∂ρ diagonal, result) for the
    degrees of freedom μ = (j, a ∈ axes), μ = j·len(axes) + a, nq = 3 or 6.
    """
    rdt = arr.positions.dtype
    beam = arr.beam()
    ps = arr.particles()
    n = arr.n
    na = len(axes)
    ax = jnp.asarray(axes)
    # the coupled-dipole system of jaxbind.optics.dipoles; one LU reused for every
    # tangent below, in the per-particle order q_i = (p̃_i[, m̃_i])
    system = dipole_system(ps, beam, throw=throw)
    magnetic = system.magnetic
    nq = 6 if magnetic else 3
    rho = system.rho
    perm = _particle_order(n, magnetic)

    def per_particle(x):  # engine order (3K, ...) → per-particle order (N·nq, ...)
        return x if perm is None else x[perm]

    # α̃ of the unknowns per component, (N, nq); spheres (a TweezerArray's DipoleModel)
    A = jnp.repeat(system.alpha.reshape(-1, n).T, 3, axis=1)
    Af = A.reshape(-1)
    y = system.y                                                                     # (K, 3)
    Phi = jnp.concatenate([y[:n], y[n:]], axis=1) if magnetic else y                 # (N, nq)

    def incident_gradients(r):
        dE, dH = beam.field_gradients_scaled(r)
        return jnp.concatenate([dE, dH], axis=0) if magnetic else dE

    def incident_hessians(r):  # closed forms for paraxial tweezers and plane waves
        ddE, ddH = beam.field_hessians_scaled(r)
        return jnp.concatenate([ddE, ddH], axis=0) if magnetic else ddE

    dPhi = jax.vmap(incident_gradients)(rho)                                        # [i,b,c]
    ddPhi = jax.vmap(incident_hessians)(rho)                                        # [i,b,c,a]
    G = system.interaction_matrix()
    S = system.matrix(G)
    if perm is not None:
        G = G[perm][:, perm]
        S = S[perm][:, perm]
    # one LU factorization for every right-hand side below (JAX's own LU: differentiable in
    # forward and reverse mode w.r.t. the matrix, e.g. through positions or wavelength, which a
    # lineax solve with a reused state is not)
    lu = lu_factor(S)

    def solve(rhs):
        return lu_solve(lu, rhs)

    b = per_particle(system.rhs().reshape(-1))
    x = solve(b)
    res = jnp.linalg.norm(S @ x - b) / jnp.linalg.norm(b)
    ok = jnp.all(jnp.isfinite(x)) & (res < jnp.sqrt(jnp.finfo(rdt).eps))
    result = RESULTS.where(system.overlap, RESULTS.overlap, RESULTS.successful)
    result = RESULTS.where((result == RESULTS.successful) & ~ok, RESULTS.singular, result)
    if throw:
        x = eqx.error_if(x, result != RESULTS.successful,
                         "linearize: singular dipole system (non-finite or inaccurate solve)")
    q = x.reshape(n, nq)

    # pair terms at fixed moments (self pairs masked with a harmless separation)
    off = ~jnp.eye(n, dtype=bool)
    D = rho[:, None, :] - rho[None, :, :]
    D = jnp.where(off[..., None], D, jnp.array([1.0, 0.0, 0.0], rdt))
    qc = jnp.conj(q)
    K, J, H = jax.vmap(jax.vmap(_pair_derivatives, in_axes=(0, None, 0)),
                       in_axes=(0, 0, None))(D, qc, q)
    w = off.astype(rdt)[:, :, None, None]
    K, J, H = K * w, J * w, H * w

    # ∂q̃/∂ρ_{ja}, split as q̃ = q̃⁰ + δq̃ with the isolated moments q̃⁰_i = A_i Φ_inc(ρ_i),
    # so that the interaction part (K, C) is computed directly and not as a difference of
    # two trap-sized numbers (float32): S δq̃ = A 𝒢 q̃⁰, and with ∂q̃⁰ = δ_ij A_i ∂_a Φ_inc,
    # S ∂δq̃ = R − S ∂q̃⁰ = A[δ_ij ∂_a Φ_scat,i − K_ij + 𝒢 ∂q̃⁰] (one multi-RHS solve).
    M = n * na
    eye_n = jnp.eye(n, dtype=rdt)
    dPs = jnp.sum(K, axis=1)                                                        # ∇Φ_scat [i,b,c]
    dq0 = (eye_n[:, None, :, None] * (A[:, :, None] * dPhi)[:, :, None, :])[..., ax]
    dq0 = dq0.reshape(n * nq, M)                                                    # [(i,b), μ]
    Rint = eye_n[:, None, :, None] * dPs[:, :, None, :] - jnp.transpose(K, (0, 2, 1, 3))
    Rint = Af[:, None] * (Rint[..., ax].reshape(n * nq, M) + G @ dq0)
    ddq = solve(Rint)                                               # ∂δq̃
    dQ = dq0 + ddq
    dq = dQ.reshape(n, nq, M)
    ddq = ddq.reshape(n, nq, M)
    q0 = A * Phi                                                                    # (N, nq)
    dlt = solve(Af * (G @ q0.reshape(-1))).reshape(n, nq)                           # δq̃

    # forces F̃ = F̃_iso + F̃_int and their Jacobians (rows c ∈ axes); per-particle
    # contractions as broadcasts + sums (tiny batched dots are slow on CPU)
    def dot_b(u, T):  # Σ_b u[i,b,...] T[i,b,c,...]
        return jnp.sum(u[:, :, None] * T, axis=1)

    ddE_sum_int = dot_b(jnp.conj(dlt)[..., None], ddPhi) + jnp.sum(H, axis=1)        # [i,c,a]
    t1 = (jnp.sum(jnp.conj(ddq)[:, :, None, :] * dPhi[..., None], axis=1)
          + jnp.sum(jnp.conj(dq)[:, :, None, :] * dPs[..., None], axis=1))          # [i,c,μ]
    Jm = jnp.transpose(J, (0, 3, 1, 2)).reshape(n, 3, nq * n)                       # [i,c,(l,e)]
    t3 = jnp.einsum("icl,lm->icm", Jm, dQ)                                          # Σ_l J ∂q
    loc = eye_n[:, None, :, None] * ddE_sum_int[:, :, None, :] - H.transpose(0, 2, 1, 3)
    JF_int = 0.5 * jnp.real((t1 + t3)[:, ax].reshape(M, M) + loc[:, ax][..., ax].reshape(M, M))

    # isolated particles: F̃_iso = ½ Re q̃⁰*·∂Φ_inc − ⅓ Re(p̃⁰ × m̃⁰*), functions of ρ_i only
    Ac = jnp.conj(A)[:, :, None, None]
    Jiso = 0.5 * jnp.real(jnp.sum(Ac * jnp.conj(dPhi)[:, :, None, :] * dPhi[..., None], axis=1)
                          + dot_b(jnp.conj(q0)[..., None], ddPhi))                  # [i,c,a]
    if magnetic:
        # recoil −⅓ Re(p̃ × m̃*): isolated part and the interaction part (δ-split, docstring)
        dq0a = A[:, :, None] * dPhi                                                 # ∂_a q̃⁰ [i,b,a]
        Jiso = Jiso - jnp.real(_cross1(dq0a[:, :3], jnp.conj(q0[:, 3:, None]))
                               + _cross1(q0[:, :3, None], jnp.conj(dq0a[:, 3:]))) / 3.0
        dq0 = dq0.reshape(n, nq, M)
        rec = (_cross1(dq0[:, :3], jnp.conj(dlt[:, 3:, None]))
               + _cross1(ddq[:, :3], jnp.conj(q[:, 3:, None]))
               + _cross1(dlt[:, :3, None], jnp.conj(dq0[:, 3:]))
               + _cross1(q[:, :3, None], jnp.conj(ddq[:, 3:])))                     # [i,c,μ]
        JF_int = JF_int - jnp.real(rec[:, ax].reshape(M, M)) / 3.0
    Jiso_sel = Jiso[:, ax][..., ax]                                                 # [i,c,a]
    JF_iso = (eye_n[:, None, :, None] * Jiso_sel[:, :, None, :]).reshape(M, M)
    S_iso = -jnp.diagonal(Jiso_sel, axis1=1, axis2=2).reshape(-1)
    # the forces themselves, F̃_ic = ½ Re Σ_b q̃_ib* ∂_c Φ^loc_ib − ⅓ Re(p̃_i × m̃_i*) (the force
    # of jaxbind.optics.forces, docstring above) from the local-field gradients already built
    # (∂Φ^loc = ∂Φ_inc + Σ_l K_il): no second dipole system, beam evaluation or solve
    Fs = 0.5 * jnp.real(dot_b(qc, dPhi + dPs))                                      # [i,c]
    if magnetic:
        Fs = Fs - jnp.real(jnp.cross(q[:, :3], jnp.conj(q[:, 3:]))) / 3.0
    F = Fs[:, ax].reshape(-1)
    return q, dq, F, JF_iso + JF_int, JF_int, S_iso, result


def linearization_to_si(arr, axes, Ft, JFt, JFint, Sit, Tm, result, k, F0, throw):
    """The scaled exact linearization (forces F̃, Jacobians ∂F̃/∂ρ total/interaction, isolated
    stiffnesses, diffusion T̃) of any scatterer model → (ω, C, K, F, D/ħ, mass, k_eff, result) in
    SI: force unit F0, per metre = k per unit ρ, D = (k F0/4) T̃; a particle with non-positive
    isolated stiffness is ``RESULTS.not_trapped``. Shared by the dipole path below and
    :mod:`jaxbind.mechanics.exact_multipole`."""
    F, JF, S_iso = F0 * Ft, (F0 * k) * JFt, (F0 * k) * Sit
    K = -(F0 * k) * jnp.diagonal(JFint)
    D = (0.25 * k * F0) * Tm
    m = jnp.repeat(arr.masses, len(axes))
    if throw:
        S_iso = eqx.error_if(S_iso, jnp.any(S_iso <= 0), "linearize: a particle is not "
                             "trapped (non-positive isolated stiffness)")
    trapped = jnp.all(S_iso > 0)
    result = RESULTS.where((result == RESULTS.successful) & ~trapped, RESULTS.not_trapped, result)
    omega = jnp.sqrt(jnp.where(S_iso > 0, S_iso, 1.0) / m)
    # C is JF off its diagonal: exact zeros there (JF − diag(JF) is not, when XLA recomputes the
    # fused diagonal with another rounding)
    C = jnp.where(jnp.eye(JF.shape[0], dtype=bool), jnp.zeros((), JF.dtype), JF)
    # Gouy-reduced wavenumber: phase gradient of each tweezer's field at its own focus.
    kap = 1.0 - 1.0 / (k * arr.rayleigh_ranges)
    return omega, C, K, F, D, m, jnp.repeat(kap, len(axes)) * k, result


def exact_linearization(arr, axes, throw=True):
    """(ω, C, K, F, D/ħ, mass, k_eff, result) per degree of freedom (SI) of a TweezerArray ``arr`` for
    the Cartesian ``axes`` (tuple of 0/1/2): exact derivatives at the foci
    (:func:`_dipole_exact_scaled`, electric or electric + magnetic dipoles)."""
    rdt = arr.positions.dtype
    k = arr.k.astype(rdt)
    beam = arr.beam()
    E0 = jnp.asarray(beam.reference_amplitude).astype(rdt)
    F0 = Cst.force_unit(k, E0, jnp.asarray(arr.n_medium).astype(rdt))
    q, dq, Ft, JFt, JFint, Sit, result = _dipole_exact_scaled(arr, axes, throw)
    T = _exact_diffusion_scaled(arr.positions * k, q, dq, axes)
    return linearization_to_si(arr, axes, Ft, JFt, JFint, Sit, T, result, k, F0, throw)
