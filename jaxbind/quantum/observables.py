"""Observables of Gaussian states and linear systems (papers 000, 001; docs/conventions.md).

Covariances V = ½⟨{Δx, Δxᵀ}⟩ in quadratures (z1, p1, z2, p2, …), vacuum V = 1/2, mode
operators a_j = (z_j + i p_j)/√2. All functions take one state (no batch axes; use vmap).
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float

from .gaussian import LinearSystem, mode_matrix, symplectic_form

__all__ = [
    "occupations",
    "mode_correlations",
    "collective_occupation",
    "mode_covariance",
    "min_quadrature_variance",
    "quadrature_variance",
    "epr_variance",
    "symplectic_eigenvalues",
    "purity",
    "log_negativity",
    "spectrum",
    "heat_currents",
]


def _square(name, V):
    V = jnp.asarray(V)
    if V.ndim != 2 or V.shape[0] != V.shape[1] or V.shape[0] % 2:
        raise ValueError(f"{name} must be an (n, n) covariance with n = 2M even, got shape {V.shape}")
    if jnp.iscomplexobj(V):
        raise TypeError(f"{name} must be real, got dtype {V.dtype}")
    return V


def occupations(V: Float[Array, "n n"], mean: Float[Array, " n"] | None = None) -> Float[Array, " m"]:
    """Oscillator occupations n_j = (V_zz + V_pp − 1)/2 (+ (⟨z⟩² + ⟨p⟩²)/2 if ``mean``).

    Args:
        V: (2M, 2M) covariance (dimensionless).
        mean: optional (2M,) mean quadratures; adds the coherent part |⟨a_j⟩|².
    Returns:
        (M,) mean phonon numbers.
    """
    V = _square("V", V)
    d = jnp.diagonal(V)
    n = 0.5 * (d[0::2] + d[1::2] - 1.0)
    if mean is not None:
        mean = jnp.asarray(mean)
        n = n + 0.5 * (mean[0::2] ** 2 + mean[1::2] ** 2)
    return n


def mode_correlations(V: Float[Array, "n n"]) -> Complex[Array, "m m"]:
    """N_jk = ⟨Δa_j† Δa_k⟩ = ½[V_zz + V_pp + i(V_zp − V_pz)]_jk − ½δ_jk (fluctuations)."""
    V = _square("V", V)
    m = V.shape[0] // 2
    T = mode_matrix(m, V.dtype)
    # ⟨a_j† a_k⟩ = (T* V Tᵀ)_jk from the symmetric part, minus the commutator half.
    return T.conj() @ V.astype(T.dtype) @ T.T - 0.5 * jnp.eye(m, dtype=T.dtype)


def mode_covariance(V: Float[Array, "n n"], u: ArrayLike) -> Float[Array, "2 2"]:
    """2×2 covariance of the quadratures X = (c + c†)/√2, P = (c − c†)/(√2 i) of the
    collective mode c = Σ_j u_j a_j (e.g. u = (1, ±i)/√2 for (a1 ± i a2)/√2, paper 001 eq. 89;
    u = (−1, 1)/√2 for a₋ = (a2 − a1)/√2, eq. 92)."""
    V = _square("V", V)
    m = V.shape[0] // 2
    u = jnp.asarray(u)
    if u.shape != (m,):
        raise ValueError(f"u must have shape ({m},), got {u.shape}")
    w = u.astype(jnp.result_type(V.dtype, jnp.complex64)) @ mode_matrix(m, V.dtype)  # c = w·x
    R = jnp.sqrt(2.0) * jnp.stack([w.real, w.imag]).astype(V.dtype)
    return R @ V @ R.T


def collective_occupation(V: Float[Array, "n n"], u: ArrayLike) -> Float[Array, ""]:
    """⟨Δc†Δc⟩ of the collective mode c = Σ u_j a_j: (tr mode_covariance − |u|²)/2."""
    u = jnp.asarray(u)
    return 0.5 * (jnp.trace(mode_covariance(V, u)) - jnp.sum(jnp.abs(u) ** 2))


def min_quadrature_variance(V: Float[Array, "n n"], u: ArrayLike) -> Float[Array, ""]:
    """Smallest variance over the rotated quadratures of c = Σ u_j a_j (squashing:
    < |u|²/2 means squeezed below the zero-point width, paper 000 eq. B6)."""
    return jnp.linalg.eigvalsh(mode_covariance(V, u))[0]


def quadrature_variance(V: Float[Array, "n n"], u: ArrayLike) -> Float[Array, ""]:
    """Variance uᵀ V u of the real quadrature combination u·x."""
    V = _square("V", V)
    u = jnp.asarray(u, V.dtype)
    return u @ V @ u


def epr_variance(V: Float[Array, "n n"], j: int = 0, k: int = 1) -> Float[Array, ""]:
    """Two-mode squeezing (Duan) variance var((z_j − z_k)/√2) + var((p_j + p_k)/√2);
    vacuum = 1, separable states ≥ 1."""
    V = _square("V", V)
    n = V.shape[0]
    e = jnp.eye(n, dtype=V.dtype)
    uz = (e[2 * j] - e[2 * k]) / jnp.sqrt(2.0)
    up = (e[2 * j + 1] + e[2 * k + 1]) / jnp.sqrt(2.0)
    return uz @ V @ uz + up @ V @ up


def symplectic_eigenvalues(V: Float[Array, "n n"]) -> Float[Array, " m"]:
    """Symplectic eigenvalues ν_j (ascending; ν ≥ 1/2 for physical states).

    Eigenvalues ±ν of iΩV, computed from the Hermitian Lᵀ(iΩ)L with V = LLᵀ (Cholesky;
    V must be positive definite).
    """
    V = _square("V", V)
    n = V.shape[0]
    L = jnp.linalg.cholesky(V)
    Om = symplectic_form(n, V.dtype)
    M = 1j * (L.T @ Om @ L)
    ev = jnp.linalg.eigvalsh(M)
    return ev[n // 2 :]


def purity(V: Float[Array, "n n"]) -> Float[Array, ""]:
    """Tr ρ² = 1/(2^M √det V) (1 for pure states)."""
    V = _square("V", V)
    m = V.shape[0] // 2
    _, logdet = jnp.linalg.slogdet(V)
    return jnp.exp(-m * jnp.log(2.0) - 0.5 * logdet)


def log_negativity(V: Float[Array, "n n"], partition: Sequence[int] | ArrayLike) -> Float[Array, ""]:
    """Logarithmic negativity E_N = Σ_j max(0, −ln 2ν̃_j) across a bipartition.

    ν̃ are the symplectic eigenvalues of the partially transposed covariance (momenta of
    the modes in ``partition`` flipped). E_N > 0 ⇔ entangled (for 1 × N-mode Gaussian
    states; sufficient in general).

    Args:
        V: (2M, 2M) covariance.
        partition: mode indices of one side (static sequence of ints), e.g. ``[1]``.
    Returns:
        E_N (natural log).
    """
    V = _square("V", V)
    m = V.shape[0] // 2
    idx = np.atleast_1d(np.asarray(partition, dtype=int))
    if idx.size == 0 or idx.min() < 0 or idx.max() >= m or np.unique(idx).size != idx.size:
        raise ValueError(f"partition must list distinct mode indices in [0, {m}), got {list(idx)}")
    flip = np.ones(2 * m)
    flip[2 * idx + 1] = -1.0
    flip = jnp.asarray(flip, V.dtype)
    nu = symplectic_eigenvalues(V * flip[:, None] * flip[None, :])
    return jnp.sum(jnp.maximum(0.0, -jnp.log(2.0 * nu)))


def spectrum(system: LinearSystem, omega: ArrayLike) -> Complex[Array, "n n"]:
    """Symmetrized power spectral density matrix S(ω) = (A + iω)⁻¹ D (Aᵀ − iω)⁻¹.

    Convention x(ω) = ∫ x(t) e^{iωt} dt, S_ij(ω) = ∫ ½⟨{Δx_i(t), Δx_j(0)}⟩ e^{iωt} dt, so
    ∫ S(ω) dω/2π = V (steady state). S is Hermitian; its diagonal is real and ≥ 0 and
    even in ω (S(−ω) = S(ω)*). For the experimentally measured displacement PSD of
    particle j use S[2j, 2j] (times ħ/(m ω_ref) for m²/Hz-type units).

    Args:
        system: stable :class:`LinearSystem` (time unit 1/ω_ref).
        omega: scalar angular frequency in units of ω_ref (vmap for many).
    Returns:
        (n, n) complex PSD matrix (units of 1/ω_ref).
    """
    A, D = system.A, system.D
    n = A.shape[0]
    omega = jnp.asarray(omega)
    if omega.ndim != 0:
        raise ValueError(f"omega must be a scalar (use jax.vmap for many), got shape {omega.shape}")
    cdt = jnp.result_type(A.dtype, jnp.complex64)
    G = jnp.linalg.solve(A.astype(cdt) + 1j * omega * jnp.eye(n, dtype=cdt), jnp.eye(n, dtype=cdt))
    S = G @ D.astype(cdt) @ G.conj().T
    return 0.5 * (S + S.conj().T)


def heat_currents(system: LinearSystem, V: Float[Array, "n n"]) -> Float[Array, "m m"]:
    """Energy currents between oscillators and from their local baths.

    With the local Hamiltonian blocks H_k = sym(−Ω A)_kk (ħω_ref units) and local energies
    E_k = ½ tr(H_k V_kk), dE_k/dt = Σ_k' J_kk' where
    J_kk' = tr(H_k A_kk' V_k'k) (k' ≠ k) is the flow from oscillator k' into k and
    J_kk = tr(H_k A_kk V_kk) + ½ tr(H_k D_kk) the net flow from k's local environment
    (damping + noise). In a steady state every row sums to zero.

    Args:
        system: :class:`LinearSystem`.
        V: (n, n) covariance (e.g. ``steady_state(system).cov``).
    Returns:
        (M, M) currents in units of ħω_ref·ω_ref (quanta of the reference frequency per
        unit time).
    """
    V = _square("V", V)
    A, D = system.A, system.D
    n = A.shape[0]
    m = n // 2
    Om = symplectic_form(n, A.dtype)
    Hf = -Om @ A
    Hf = 0.5 * (Hf + Hf.T)
    blk = lambda X: X.reshape(m, 2, m, 2).transpose(0, 2, 1, 3)  # noqa: E731  [k, k', 2, 2]
    Hk = jnp.diagonal(blk(Hf), axis1=0, axis2=1).transpose(2, 0, 1)  # (m, 2, 2)
    Ab, Vb, Db = blk(A), blk(V), blk(D)
    # J[k, k'] = tr(H_k A_kk' V_k'k)
    J = jnp.einsum("kab,kjbc,jkca->kj", Hk, Ab, Vb)
    local = 0.5 * jnp.einsum("kab,kkba->k", Hk, Db)
    return J + jnp.diag(local)
