"""Translation (addition-theorem) coefficients of the VSWFs for an arbitrary displacement.

An outgoing wave about x_j is re-expanded in regular waves about x_i (valid inside the
sphere |r − x_i| < |d|, d = x_i − x_j):

    [N, M]^{out}_ν(r − x_j) = Σ_μ A_{μν}(k d) [N, M]^{reg}_μ(r − x_i).

Method (the Stein–Cruzan form, Stein, Q. Appl. Math. 19, 15 (1961); Cruzan, Q. Appl. Math.
20, 33 (1962); Xu, J. Comput. Phys. 127, 285 (1996) eqs. 10–11): every coefficient is a
finite sum Σ_{p,q} W_{μν,pq} h_p(k|d|) Y_pq(d̂) with constant weights W. Here W is built once
per l_max on the host, from

1. the scalar addition theorem (Gumerov & Duraiswami, *Fast Multipole Methods for the
   Helmholtz Equation in Three Dimensions*, 2004, eq. 3.2.27 with orthonormal Y):
   h_l Y_lm(r + t) = Σ_{l'm'} 4π Σ_p i^{l'+p−l} h_p(|t|) Y_{p,m−m'}(t̂) G(lm; l'm'; p)
   j_{l'} Y_{l'm'}(r), |r| < |t|, with the Gaunt coefficients G = ∫ Y_lm Y*_{l'm'} Y*_{p,m−m'}
   integrated exactly (for their polynomial degree) by a Gauss product rule in float64 from
   the stable Legendre recurrence — no factorials, so no cancellation; the tests check them
   against Racah's formula evaluated in exact integer arithmetic (:func:`wigner3j`);
2. the Cartesian components of the VSWFs as scalar waves: M_lm = L ψ_lm/√(l(l+1)) (ladder
   operators) and N = ∇̃ × M with the gradient formulas of the scalar waves (Gumerov &
   Duraiswami 2004, eqs. 2.2.8–2.2.10), which hold for j_l and h_l alike;
3. back from translated Cartesian scalar coefficients to VSWF coefficients exactly, by the
   orthogonality of X_lm (b = ⟨X, F⟩) and of the curl (a = ⟨X, ∇̃ × F⟩), which only need
   scalar degrees ≤ l_out + 1 (so no truncation error enters the weights).

At run time only h_p (upward recurrence, stable for the outgoing function) and Y_pq (stable
normalised Legendre recurrence) are evaluated, by :mod:`.vswf`; the product W·u is a sparse
gather–multiply–sum per particle pair (the selection rules leave a few non-zero weights per
entry: 3 for l_max = 2). Accuracy: the weights are exact to round-off (~1e-15); the
translated field agrees with the addition theorem to ~1e-13 (float64) and ~1e-6 (float32)
relative for l_max ≤ 6 and k|d| ≥ 2 (tests/optics/test_multipoles.py); for large l_max at small
k|d| the terms h_p ~ (2p−1)!!/(k d)^{p+1} grow and the float32 range (3e38) is reached
around p ≈ 30 at k d ≈ 1 — use float64 beyond l_max ≈ 8.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..._types import Array, ArrayLike, Bool, Complex, RealDtype
from .vswf import n_coefficients, scalar_index, spherical_harmonics, spherical_hn, spherical_jn

__all__ = ["wigner3j", "gaunt", "translation_weights", "translation_matrix", "translation_matrices",
           "regular_translation_matrices", "translation_gradient", "pair_factors",
           "translation_rows", "translate_rows"]


# --------------------------------------------------------------------------------------
# exact angular-momentum algebra (host)
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _wigner3j_sq_sign(j1, j2, j3, m1, m2, m3):
    """(sign, square) of the 3j symbol as an exact (int, Fraction) (Racah's formula)."""
    if m1 + m2 + m3 != 0 or j3 < abs(j1 - j2) or j3 > j1 + j2:
        return 0, Fraction(0)
    if abs(m1) > j1 or abs(m2) > j2 or abs(m3) > j3:
        return 0, Fraction(0)
    f = math.factorial
    tri = Fraction(f(j1 + j2 - j3) * f(j1 - j2 + j3) * f(-j1 + j2 + j3), f(j1 + j2 + j3 + 1))
    pre = tri * f(j1 + m1) * f(j1 - m1) * f(j2 + m2) * f(j2 - m2) * f(j3 + m3) * f(j3 - m3)
    tmin = max(0, j2 - j3 - m1, j1 - j3 + m2)
    tmax = min(j1 + j2 - j3, j1 - m1, j2 + m2)
    # every denominator divides K! (K = j1 + j2 + j3: multinomial), so the alternating sum
    # is one exact integer over K!
    K = f(j1 + j2 + j3)
    num = 0
    for t in range(tmin, tmax + 1):
        den = (f(t) * f(j3 - j2 + t + m1) * f(j3 - j1 + t - m2) * f(j1 + j2 - j3 - t)
               * f(j1 - t - m1) * f(j2 - t + m2))
        num += (-1) ** t * (K // den)
    s = Fraction(num, K)
    if s == 0:
        return 0, Fraction(0)
    sign = (-1) ** (j1 - j2 - m3) * (1 if s > 0 else -1)
    return sign, pre * s * s


def wigner3j(j1, j2, j3, m1, m2, m3) -> float:
    """Wigner 3j symbol (integer arguments), exact up to the final square root."""
    sign, sq = _wigner3j_sq_sign(j1, j2, j3, m1, m2, m3)
    return sign * math.sqrt(sq) if sign else 0.0


def gaunt(l1, m1, l2, m2, l3, m3) -> float:
    """∫ Y_{l1 m1} Y_{l2 m2} Y_{l3 m3} dΩ (orthonormal Condon–Shortley harmonics)."""
    s0, q0 = _wigner3j_sq_sign(l1, l2, l3, 0, 0, 0)
    s1, q1 = _wigner3j_sq_sign(l1, l2, l3, m1, m2, m3)
    if not (s0 and s1):
        return 0.0
    q = q0 * q1 * (2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1)
    return s0 * s1 * math.sqrt(q) / math.sqrt(4.0 * math.pi)


# --------------------------------------------------------------------------------------
# scalar-wave operators (host)
# --------------------------------------------------------------------------------------


def _scalar_translation(l_src: int, l_dst: int):
    """W[s', s, P] with ψ^out_s(r + t) = Σ_{s'} (Σ_P W h_p Y_P(t̂)) ψ^reg_{s'}(r).

    All Gaunt coefficients G = ∫ Y_lm Y*_{l'm'} Y*_{pq} dΩ at once, by a Gauss–Legendre ×
    trapezoidal product rule that is exact for their polynomial degree (≤ 2(l_src + l_dst)),
    in float64 from the stable Legendre recurrence; :func:`gaunt` (exact 3j symbols) checks
    them in the tests.
    """
    from .incident import _quadrature

    p_max = l_src + l_dst
    n_theta = p_max + 1
    pts, wts = _quadrature(n_theta, 2 * p_max + 2)
    Y = np.stack([spherical_harmonics(p_max, u, xp=np) for u in pts])  # (Q, n_P)
    ys = Y[:, : (l_src + 1) ** 2]
    yd = Y[:, : (l_dst + 1) ** 2]
    A = (ys[:, :, None] * np.conj(yd)[:, None, :] * wts[:, None, None]).reshape(len(wts), -1)
    G = (A.T @ np.conj(Y)).reshape((l_src + 1) ** 2, (l_dst + 1) ** 2, -1)  # [s, s', P]
    G[np.abs(G) < 1e-13] = 0.0
    deg = np.concatenate([[l] * (2 * l + 1) for l in range(p_max + 1)])
    ph = 1j ** ((deg[: (l_dst + 1) ** 2, None, None] + deg[None, None, :]
                 - deg[None, : (l_src + 1) ** 2, None]) % 4)
    return 4.0 * math.pi * ph * np.transpose(G, (1, 0, 2))


def _gradient(l_max: int):
    """D[b] ((3, n, n), b = x, y, z): ∂̃_b ψ_s = Σ_{s'} D[b, s', s] ψ_{s'} for degrees ≤ l_max
    (components that would leave the range are dropped; callers only use rows they trust)."""
    n = (l_max + 1) ** 2
    Dz = np.zeros((n, n))
    Dp = np.zeros((n, n))  # ∂x + i∂y
    Dm = np.zeros((n, n))  # ∂x − i∂y
    for l in range(l_max + 1):
        for m in range(-l, l + 1):
            s = scalar_index(l, m)
            if l + 1 <= l_max:
                Dz[scalar_index(l + 1, m), s] = -math.sqrt(((l + 1) ** 2 - m * m) / ((2 * l + 1) * (2 * l + 3)))
                Dp[scalar_index(l + 1, m + 1), s] = math.sqrt((l + m + 1) * (l + m + 2) / ((2 * l + 1) * (2 * l + 3)))
                Dm[scalar_index(l + 1, m - 1), s] = -math.sqrt((l - m + 1) * (l - m + 2) / ((2 * l + 1) * (2 * l + 3)))
            if l - 1 >= 0:
                if abs(m) <= l - 1:
                    Dz[scalar_index(l - 1, m), s] = math.sqrt((l * l - m * m) / ((2 * l + 1) * (2 * l - 1)))
                if abs(m + 1) <= l - 1:
                    Dp[scalar_index(l - 1, m + 1), s] = math.sqrt((l - m - 1) * (l - m) / ((2 * l - 1) * (2 * l + 1)))
                if abs(m - 1) <= l - 1:
                    Dm[scalar_index(l - 1, m - 1), s] = -math.sqrt((l + m - 1) * (l + m) / ((2 * l - 1) * (2 * l + 1)))
    Dx = 0.5 * (Dp + Dm)
    Dy = -0.5j * (Dp - Dm)
    return np.stack([Dx.astype(complex), Dy, Dz.astype(complex)])


def _curl(D):
    """(3, n, 3, n) operator: (∇̃ × F)_a = Σ_{b,c} ε_abc D_b F_c on Cartesian scalar coefficients."""
    n = D.shape[1]
    C = np.zeros((3, n, 3, n), complex)
    for a, b, c, sgn in ((0, 1, 2, 1), (0, 2, 1, -1), (1, 2, 0, 1), (1, 0, 2, -1),
                         (2, 0, 1, 1), (2, 1, 0, -1)):
        C[a, :, c, :] += sgn * D[b]
    return C


def _vswf_to_cartesian(l_max: int):
    """U ((3, n_s, n_v)) with n_s = (l_max + 2)², n_v = 2 l_max(l_max+2): the Cartesian
    scalar-wave coefficients of each VSWF ([N; M] order)."""
    ls = l_max + 1
    ns = (ls + 1) ** 2
    nv = l_max * (l_max + 2)
    UM = np.zeros((3, ns, nv), complex)
    for l in range(1, l_max + 1):
        norm = 1.0 / math.sqrt(l * (l + 1.0))
        for m in range(-l, l + 1):
            v = l * l + l + m - 1
            if m < l:
                cp = math.sqrt((l - m) * (l + m + 1.0))
                UM[0, scalar_index(l, m + 1), v] += 0.5 * norm * cp
                UM[1, scalar_index(l, m + 1), v] += -0.5j * norm * cp
            if m > -l:
                cm = math.sqrt((l + m) * (l - m + 1.0))
                UM[0, scalar_index(l, m - 1), v] += 0.5 * norm * cm
                UM[1, scalar_index(l, m - 1), v] += 0.5j * norm * cm
            UM[2, scalar_index(l, m), v] += norm * m
    C = _curl(_gradient(ls))
    UN = np.einsum("ascn,cnv->asv", C, UM, optimize=True)
    return np.concatenate([UN, UM], axis=-1), UM, C


@functools.lru_cache(maxsize=None)
def translation_weights(l_src: int, l_dst: int) -> np.ndarray:
    """Static weights W (n_dst, n_src, (l_src + l_dst + 3)²) complex (NumPy, host).

    A(d) = W · u(d), u_P = h_p(k|d|) Y_pq(d̂) (P = p² + p + q), translates outgoing VSWF
    coefficients of degree ≤ ``l_src`` about x_j into regular ones of degree ≤ ``l_dst``
    about x_i, d = x_i − x_j (module docstring).
    """
    U_src, _, _ = _vswf_to_cartesian(l_src)  # (3, (l_src+2)², n_src)
    _, UM_dst, C_dst = _vswf_to_cartesian(l_dst)  # (3, (l_dst+2)², ·), curl (3, t, 3, t)
    S = _scalar_translation(l_src + 1, l_dst + 1)  # (t, s, P)
    PM = UM_dst.conj()  # projection b = ⟨X_v, F⟩
    VN = np.einsum("atv,atcu->vcu", PM, C_dst, optimize=True)  # a = ⟨X_v, ∇̃ × F⟩
    V = np.concatenate([VN, np.transpose(PM, (2, 0, 1))], axis=0)  # (n_dst, 3, t)
    W = sum(np.einsum("it,tsP,sj->ijP", V[:, c], S, U_src[c], optimize=True) for c in range(3))
    W[np.abs(W) < 1e-15 * np.max(np.abs(W))] = 0.0
    # selection rule of the Gaunt coefficients: a (l ← l') coefficient involves only the
    # degrees |l − l'| ≤ p ≤ l + l' of u; the quadrature leaves round-off (~1e-15 of max |W|)
    # outside that range, set exactly to zero here
    ld, ls, pd = _degrees(l_dst), _degrees(l_src), _scalar_degrees(int(round(math.sqrt(W.shape[2]))) - 1)
    out = ((pd[None, None, :] > ld[:, None, None] + ls[None, :, None])
           | (pd[None, None, :] < np.abs(ld[:, None, None] - ls[None, :, None])))
    W[out] = 0.0
    return W


def _degrees(l_max: int) -> np.ndarray:
    """Degree l of every entry of a coefficient vector [a; b] (length n_coefficients)."""
    half = np.concatenate([[l] * (2 * l + 1) for l in range(1, l_max + 1)])
    return np.concatenate([half, half])


def _scalar_degrees(p_max: int) -> np.ndarray:
    """Degree p of every scalar index P = p² + p + q, p ≤ p_max."""
    return np.concatenate([[p] * (2 * p + 1) for p in range(p_max + 1)])


@functools.lru_cache(maxsize=None)
def _sparse_weights(l_src: int, l_dst: int):
    """W in gather form: (idx, w), each (n_dst·n_src, K), with A_ds = Σ_k w[ds, k] u[idx[ds, k]].

    The selection rules of the Gaunt coefficients (q = m_dst − m_src, parity of l + l' + p)
    leave K ≤ l_src + l_dst + 2 non-zero weights per entry (K = 3 for l_max = 2; 2.4 % of
    the dense W), so this is ~10× fewer operations than the dense product W·u.
    """
    W = translation_weights(l_src, l_dst)
    nd, ns, nP = W.shape
    Wf = W.reshape(nd * ns, nP)
    nz = Wf != 0
    K = max(int(nz.sum(axis=1).max()), 1)
    idx = np.zeros((nd * ns, K), np.int32)
    w = np.zeros((nd * ns, K), complex)
    for r in range(nd * ns):
        cols = np.nonzero(nz[r])[0]
        idx[r, : len(cols)] = cols
        w[r, : len(cols)] = Wf[r, cols]
    return idx, w


@functools.lru_cache(maxsize=None)
def _row_gather(l_src: int, l_dst: int, lo: int, hi: int):
    """Gather form (idx, w), each (hi − lo, n_src, K), of the rows lo ≤ a < hi of W, and the
    highest degree p_max of u they use (selection rule: p ≤ l_src + l_dst)."""
    W = translation_weights(l_src, l_dst)[lo:hi]
    R, ns, _ = W.shape
    nz = W != 0
    K = max(int(nz.sum(axis=2).max()), 1)
    idx = np.zeros((R, ns, K), np.int32)
    w = np.zeros((R, ns, K), complex)
    for r in range(R):
        for c in range(ns):
            cols = np.nonzero(nz[r, c])[0]
            idx[r, c, : len(cols)] = cols
            w[r, c, : len(cols)] = W[r, c, cols]
    return idx, w, _rows_p_max(l_src, l_dst, lo, hi)


def _rows_p_max(l_src: int, l_dst: int, lo: int, hi: int) -> int:
    """Highest degree p of u that the rows lo ≤ a < hi (electric half) use: l_row + l_src."""
    return int(_degrees(l_dst)[hi - 1]) + l_src


@functools.lru_cache(maxsize=None)
def _row_weights(l_src: int, l_dst: int, lo: int, hi: int):
    """Dense weights W[lo:hi, :, :(p_max + 1)²] ((R, n_src, P) complex) and p_max."""
    p_max = _rows_p_max(l_src, l_dst, lo, hi)
    return translation_weights(l_src, l_dst)[lo:hi, :, : (p_max + 1) ** 2], p_max


def pair_factors(rho_dst: RealDtype[Array, "nd 3"], rho_src: RealDtype[Array, "ns 3"],
                 p_max: int, same: Bool[Array, "nd ns"] | None = None
                 ) -> Complex[Array, "nd ns np"]:
    """u_P(ρ_i − ρ_j) = h_p(|ρ_i − ρ_j|) Y_pq for every pair (i, j), P < (p_max + 1)²: the
    only run-time factors of the translations (module docstring). Entries where ``same``
    (default: i = j, for ``rho_dst`` and ``rho_src`` the same set) are exactly zero (a
    harmless stand-in displacement is evaluated there, so values and gradients stay finite),
    so the translations formed from them vanish on the diagonal.

    Rows are computed in chunks inside a loop (``lax.map``), which stores u as one array:
    written as a plain vectorised expression, XLA fuses the products and selections that
    finish u into the gather of every consumer and redoes them once per matrix entry instead
    of once per pair (4× the translation time at N = 200, l_max = 2;
    ``lax.optimization_barrier`` does not prevent it on CPU).
    """
    nd, ns = rho_dst.shape[0], rho_src.shape[0]
    if same is None:
        same = jnp.eye(nd, ns, dtype=bool)

    def row(ri, si):
        d = ri[None, :] - rho_src
        d = jnp.where(si[:, None], jnp.ones_like(d), d)
        u = jax.vmap(lambda x: _u(p_max, x))(d)
        return jnp.where(si[:, None], jnp.zeros((), u.dtype), u)

    if nd < 4:
        return jax.vmap(row)(rho_dst, same)
    return jax.lax.map(lambda a: row(*a), (rho_dst, same), batch_size=min(64, nd // 2))


def translation_rows(u: Complex[Array, "nd ns np"], l_src: int, l_dst: int, lo: int, hi: int
                     ) -> Complex[Array, "nd r c ns"]:
    """Rows lo ≤ a < hi of the translations A(ρ_i − ρ_j) from the pair factors ``u`` of
    :func:`pair_factors`, laid out (i, a, b, j) — (N_dst, hi − lo, n_src, N_src): the
    natural output of one gather–multiply–sum over the few non-zero weights from u stored
    as (i, P, j), so that reshaped to (N_dst (hi − lo), n_src N_src) they are rows of the
    interaction matrix (columns ordered (b, j)) with no transposition of the large array.
    """
    idx, w, p_max = _row_gather(l_src, l_dst, lo, hi)
    if u.shape[-1] < (p_max + 1) ** 2:
        raise ValueError(f"u holds degrees < {p_max}; need p_max ≥ {p_max}")
    uT = jnp.transpose(u[..., : (p_max + 1) ** 2], (0, 2, 1))  # (N_dst, P, N_src), small
    g = uT[:, idx, :]  # (N_dst, R, n_src, K, N_src)
    # a plain multiply–sum (an einsum would become a batched dot with transposed copies)
    return jnp.sum(g * jnp.asarray(w, u.dtype)[None, :, :, :, None], axis=3)


def translate_rows(u: Complex[Array, "nd ns np"], q: Complex[Array, "c ns two"], l_src: int,
                   l_dst: int, lo: int, hi: int) -> Complex[Array, "nd r two"]:
    """Σ_j A(ρ_i − ρ_j)[lo:hi, :] q_j for every i, without forming A: (N_dst, hi − lo, 2).

    ``q`` holds two coefficient vectors per source particle, laid out (b, j, column).
    Since A_ab = Σ_P W_abP u_P, the product is Σ_{j,P} u_P(ρ_i − ρ_j) Z_jPa with the
    per-particle moments Z_jPa = Σ_b W_abP q_bj (small): one dense matrix product of the
    (N_dst, N_src P) pair factors with Z. Fewer bytes than the translations themselves
    (P = (l_src + l_dst + 1)² factors per pair against (hi − lo) n_src entries: 25 against
    128 for the electric rows at l_max = 2), so it is about twice as fast as a product with
    the formed matrix, and the translations are never formed.
    """
    W, p_max = _row_weights(l_src, l_dst, lo, hi)
    P = (p_max + 1) ** 2
    if u.shape[-1] < P:
        raise ValueError(f"u holds degrees < {p_max}; need p_max ≥ {p_max}")
    if u.shape[-1] > P:
        u = u[..., :P]
    Z = jnp.einsum("abP,bjc->jPac", jnp.asarray(W, u.dtype), q)  # (N_src, P, R, 2)
    nd, ns = u.shape[0], u.shape[1]
    return (u.reshape(nd, ns * P) @ Z.reshape(ns * P, -1)).reshape(nd, hi - lo, -1)


def _u(p_max: int, d, radial=spherical_hn):
    """u_P = z_p(|d|) Y_pq(d̂) for P = p² + p + q, p ≤ p_max: ((p_max + 1)²,) complex; z_p = h_p
    (outgoing, the default) or j_p (``radial=spherical_jn``: the regular translation)."""
    r = jnp.sqrt(jnp.sum(d * d))
    ps = np.concatenate([[p] * (2 * p + 1) for p in range(p_max + 1)])
    return radial(p_max, r)[ps] * spherical_harmonics(p_max, d)


def translation_matrices(l_src: int, l_dst: int, d: RealDtype[Array, "*batch 3"]
                         ) -> Complex[Array, "*batch n_dst n_src"]:
    """A(d) for a batch of scaled displacements d (..., 3), all |d| > 0: (..., n_dst, n_src).

    The radial/angular factors u are computed for the whole batch first, then the sparse
    weights are applied as one gather–multiply–sum over the last axis (:func:`_sparse_weights`).
    """
    return _batched_translations(l_src, l_dst, d, spherical_hn)


def _batched_translations(l_src, l_dst, d, radial):
    d = jnp.asarray(d)
    cdt = jnp.result_type(d.dtype, jnp.complex64)
    idx, w = _sparse_weights(l_src, l_dst)
    nd, ns = n_coefficients(l_dst), n_coefficients(l_src)
    batch = d.shape[:-1]
    u = jax.vmap(lambda x: _u(l_src + l_dst + 2, x, radial))(d.reshape(-1, 3))
    A = jnp.sum(u[:, idx] * jnp.asarray(w, cdt), axis=-1)
    return A.reshape(*batch, nd, ns)


def translation_matrix(l_src: int, l_dst: int, d: RealDtype[ArrayLike, "3"] | Sequence[float]
                       ) -> Complex[Array, "n_dst n_src"]:
    """A(d) (n_coefficients(l_dst), n_coefficients(l_src)) complex for the scaled
    displacement d = k (x_i − x_j) (3,), |d| > 0 (module docstring).

    Evaluated as the sparse product A = W·u (:func:`_sparse_weights`: only the few non-zero
    weights per entry, one fused gather–multiply–sum)."""
    d = jnp.asarray(d)
    cdt = jnp.result_type(d.dtype, jnp.complex64)
    idx, w = _sparse_weights(l_src, l_dst)
    nd, ns = n_coefficients(l_dst), n_coefficients(l_src)
    u = _u(l_src + l_dst + 2, d)
    return jnp.sum(u[idx] * jnp.asarray(w, cdt), axis=-1).reshape(nd, ns)


# --------------------------------------------------------------------------------------
# regular-to-regular translation (the same weights with j_p)
# --------------------------------------------------------------------------------------


def regular_translation_matrices(l_src: int, l_dst: int, d: RealDtype[Array, "*batch 3"]
                                 ) -> Complex[Array, "*batch n_dst n_src"]:
    """J(d) for a batch of scaled displacements d (..., 3), all |d| > 0: (..., n_dst, n_src).

    The regular-to-regular translation: a regular field Σ_ν c_ν Rg_ν(r − x_j) equals
    Σ_μ (J(d) c)_μ Rg_μ(r − x_i) everywhere, d = k(x_i − x_j). The scalar addition theorem
    for regular waves has the same Gaunt weights as the outgoing one with h_p → j_p (Gumerov &
    Duraiswami 2004, eq. 3.2.27 and the (R|R) coefficients of their §3.2), and steps 2–3 of the
    module docstring are linear, so J = W·u with u_P = j_p(|d|) Y_pq(d̂) and the weights of
    :func:`translation_weights`. Equivalently (far-field / Herglotz form, tests),
    J_μν(d) = ∮ Φ_μ*(n̂)·Φ_ν(n̂) e^{i n̂·d} dΩ with Φ_ν the far-field patterns of the outgoing
    waves ((−i)^l r̂ × X_lm for N, (−i)^{l+1} X_lm for M, :mod:`.forces`): J(0) = 1 on a
    common degree range. Used by the multipole recoil diffusion (``jaxbind.mechanics``): the
    cross power of two outgoing multipole sets c_i at ρ_i and c_l at ρ_l is
    (1/4π)∮ F_i·F_l* dΩ = (1/4π) c_l^† J(ρ_l − ρ_i) c_i.
    """
    return _batched_translations(l_src, l_dst, d, spherical_jn)


@functools.lru_cache(maxsize=None)
def translation_gradient(l_src: int, l_dst: int) -> Complex[np.ndarray, "3 n_dst n_src"]:
    """∂J(t)/∂t_c at t = 0: static (3, n_dst, n_src) complex (NumPy, host), c = x, y, z.

    The derivative of the regular coefficients of a field w.r.t. a (scaled) displacement of the
    expansion centre, c(ρ + t) = J(t) c(ρ) (:func:`regular_translation_matrices`): only the
    p = 1 weights contribute, since u_P(t) = j_p(|t|) Y_pq(t̂) = O(|t|^p) and j_1(r) = r/3 +
    O(r³), so ∂_c u_{1q}(0) = Y_1q(ê_c)/3 (r Y_1q(r̂) is linear). It couples degree l to l ± 1
    and the electric and magnetic halves at equal l; exact when the source has degree
    ≥ l_dst + 1. The far-field pattern of an outgoing set c shifted by t is that of J(−t) c, so
    −∂J/∂t_c also gives the derivative of a moving source's far field.
    """
    W = translation_weights(l_src, l_dst)
    out = np.zeros((3,) + W.shape[:2], complex)
    for c in range(3):
        e = np.zeros(3)
        e[c] = 1.0
        Y = spherical_harmonics(1, e, xp=np)  # (4,), scalar_index(1, q) = 2 + q
        for q in (-1, 0, 1):
            P = scalar_index(1, q)
            out[c] += W[:, :, P] * Y[P] / 3.0
    return out
