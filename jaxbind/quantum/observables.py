"""Observables of Gaussian states (papers 000, 001; quadrature conventions in
:mod:`jaxbind.quantum.phase_space` and docs/conventions.md).

Covariances V = ½⟨{Δx, Δxᵀ}⟩ in quadratures (z1, p1, z2, p2, …), vacuum V = 1/2, mode
operators a_j = (z_j + i p_j)/√2. :func:`occupations`, :func:`purity` and
:func:`symplectic_eigenvalues` accept leading batch/time axes (…, n, n) (e.g. the output of
:func:`jaxbind.quantum.gaussian.evolve`); the other functions take one state (use vmap).
Observables of a *system* (noise spectra, heat currents) are in
:mod:`jaxbind.quantum.response`.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float, Int, Num

from .._precision import highest_precision
from .._checks import is_concrete
from .phase_space import mode_matrix, symplectic_form

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
]


def _square(name, V):
    V = jnp.asarray(V)
    if V.ndim != 2 or V.shape[0] != V.shape[1] or V.shape[0] % 2:
        raise ValueError(f"{name} must be an (n, n) covariance with n = 2M even, got shape {V.shape}")
    if jnp.iscomplexobj(V):
        raise TypeError(f"{name} must be real, got dtype {V.dtype}")
    return V


def _stacked(name, V):
    """A (…, n, n) real covariance (leading batch/time axes allowed)."""
    V = jnp.asarray(V)
    if V.ndim < 2 or V.shape[-1] != V.shape[-2] or V.shape[-1] % 2:
        raise ValueError(f"{name} must be a covariance of shape (..., n, n) with n = 2M even, "
                         f"got shape {V.shape}")
    if jnp.iscomplexobj(V):
        raise TypeError(f"{name} must be real, got dtype {V.dtype}")
    if not jnp.issubdtype(V.dtype, jnp.floating):
        V = V.astype(jnp.result_type(float))
    return V


def occupations(V: Float[ArrayLike, "*batch n n"],
                mean: Float[ArrayLike, "*batch n"] | None = None) -> Float[Array, "*batch m"]:
    """Oscillator occupations n_j = (V_zz + V_pp − 1)/2 (+ (⟨z⟩² + ⟨p⟩²)/2 if ``mean``).

    A physical covariance obeys the uncertainty relation, hence V_zz + V_pp ≥ 1 (n_j ≥ 0).
    A covariance below the vacuum (n_j < −√eps·max(1, V_zz + V_pp): more than rounding) is
    not a quantum state: concrete input raises ``ValueError`` naming ``V``; under
    jit/vmap those occupations are NaN (never a negative number).

    Args:
        V: (…, 2M, 2M) covariance (dimensionless), leading batch/time axes allowed.
        mean: optional (…, 2M) mean quadratures; adds the coherent part |⟨a_j⟩|².
    Returns:
        (…, M) mean phonon numbers.
    """
    V = _stacked("V", V)
    if mean is not None:
        mean = jnp.asarray(mean)
        if mean.shape != V.shape[:-1]:
            raise ValueError(f"mean must have shape {V.shape[:-1]}, got {mean.shape}")
    n, n_vac, below = _occupations(V, mean)
    if is_concrete(below) and bool(np.any(np.asarray(below))):
        j = np.argwhere(np.asarray(below))[0]
        raise ValueError(
            f"V is below the vacuum (violates the uncertainty relation V_zz + V_pp ≥ 1): "
            f"occupation {float(np.asarray(n_vac)[tuple(j)]):.6g} of mode {int(j[-1])}"
            + (f" at batch index {tuple(int(i) for i in j[:-1])}" if len(j) > 1 else ""))
    return n


@jax.jit  # one program per shape (eager: one XLA compilation per op)
def _occupations(V, mean):
    """(n with NaN below the vacuum (+ coherent part), n of the fluctuations, below-vacuum mask)."""
    d = jnp.diagonal(V, axis1=-2, axis2=-1)
    s = d[..., 0::2] + d[..., 1::2]
    n_vac = 0.5 * (s - 1.0)
    tol = jnp.sqrt(jnp.finfo(V.dtype).eps) * jnp.maximum(1.0, jnp.abs(s))
    below = n_vac < -tol
    n = jnp.where(below, jnp.nan, n_vac)
    if mean is not None:
        n = n + 0.5 * (mean[..., 0::2] ** 2 + mean[..., 1::2] ** 2)
    return n, n_vac, below


def mode_correlations(V: Float[ArrayLike, "n n"]) -> Complex[Array, "m m"]:
    """N_jk = ⟨Δa_j† Δa_k⟩ = ½[V_zz + V_pp + i(V_zp − V_pz)]_jk − ½δ_jk (fluctuations)."""
    return _mode_correlations(_square("V", V))


@jax.jit  # one program (eager: one XLA compilation per op)
def _mode_correlations(V):
    m = V.shape[0] // 2
    T = mode_matrix(m, V.dtype)
    # ⟨a_j† a_k⟩ = (T* V Tᵀ)_jk from the symmetric part, minus the commutator half.
    return T.conj() @ V.astype(T.dtype) @ T.T - 0.5 * jnp.eye(m, dtype=T.dtype)


def mode_covariance(V: Float[ArrayLike, "n n"], u: Num[ArrayLike, " m"] | Sequence[complex]) -> Float[Array, "2 2"]:
    """2×2 covariance of the quadratures X = (c + c†)/√2, P = (c − c†)/(√2 i) of the
    collective mode c = Σ_j u_j a_j (e.g. u = (1, ±i)/√2 for (a1 ± i a2)/√2, paper 001 eq. 89;
    u = (−1, 1)/√2 for a₋ = (a2 − a1)/√2, eq. 92)."""
    V = _square("V", V)
    m = V.shape[0] // 2
    u = jnp.asarray(u)
    if u.shape != (m,):
        raise ValueError(f"u must have shape ({m},), got {u.shape}")
    return _mode_covariance(V, u)


@jax.jit  # one program (eager: one XLA compilation per op)
def _mode_covariance(V, u):
    m = V.shape[0] // 2
    w = u.astype(jnp.result_type(V.dtype, jnp.complex64)) @ mode_matrix(m, V.dtype)  # c = w·x
    R = jnp.sqrt(2.0) * jnp.stack([w.real, w.imag]).astype(V.dtype)
    return R @ V @ R.T


def collective_occupation(V: Float[ArrayLike, "n n"], u: Num[ArrayLike, " m"] | Sequence[complex]) -> Float[Array, ""]:
    """⟨Δc†Δc⟩ of the collective mode c = Σ u_j a_j: (tr mode_covariance − |u|²)/2."""
    u = jnp.asarray(u)
    return _collective_occupation(mode_covariance(V, u), u)


@jax.jit  # one program (eager: one XLA compilation per op)
def _collective_occupation(cov, u):
    return 0.5 * (jnp.trace(cov) - jnp.sum(jnp.abs(u) ** 2))


def min_quadrature_variance(V: Float[ArrayLike, "n n"], u: Num[ArrayLike, " m"] | Sequence[complex]) -> Float[Array, ""]:
    """Smallest variance over the rotated quadratures of c = Σ u_j a_j (squashing:
    < |u|²/2 means squeezed below the zero-point width, paper 000 eq. B6)."""
    return jnp.linalg.eigvalsh(mode_covariance(V, u))[0]


def quadrature_variance(V: Float[ArrayLike, "n n"], u: Num[ArrayLike, " m"] | Sequence[complex]) -> Float[Array, ""]:
    """Variance uᵀ V u of the real quadrature combination u·x."""
    V = _square("V", V)
    u = jnp.asarray(u, V.dtype)
    return u @ V @ u


def epr_variance(V: Float[ArrayLike, "n n"], j: int = 0, k: int = 1) -> Float[Array, ""]:
    """Two-mode squeezing (Duan) variance var((z_j − z_k)/√2) + var((p_j + p_k)/√2);
    vacuum = 1, separable states ≥ 1."""
    V = _square("V", V)
    n = V.shape[0]
    e = jnp.eye(n, dtype=V.dtype)
    uz = (e[2 * j] - e[2 * k]) / jnp.sqrt(2.0)
    up = (e[2 * j + 1] + e[2 * k + 1]) / jnp.sqrt(2.0)
    return uz @ V @ uz + up @ V @ up


def symplectic_eigenvalues(V: Float[ArrayLike, "*batch n n"]) -> Float[Array, "*batch m"]:
    """Symplectic eigenvalues ν_j (ascending; ν ≥ 1/2 for physical states).

    Eigenvalues ±ν of iΩV, computed from the Hermitian Lᵀ(iΩ)L with V = LLᵀ (Cholesky;
    V must be positive definite, otherwise NaN). Leading batch/time axes allowed.
    """
    return _symplectic_eigenvalues(_stacked("V", V))


@jax.jit  # one program per shape (eager: one XLA compilation per op)
def _symplectic_eigenvalues(V):
    n = V.shape[-1]
    L = jnp.linalg.cholesky(V)
    Om = symplectic_form(n, V.dtype)
    M = 1j * (jnp.swapaxes(L, -1, -2) @ Om @ L)
    ev = jnp.linalg.eigvalsh(M)
    return ev[..., n // 2 :]


def purity(V: Float[ArrayLike, "*batch n n"]) -> Float[Array, "*batch"]:
    """Tr ρ² = 1/(2^M √det V) (1 for pure states). Leading batch/time axes allowed."""
    return _purity(_stacked("V", V))


@jax.jit  # one program per shape (eager: one XLA compilation per op)
def _purity(V):
    m = V.shape[-1] // 2
    _, logdet = jnp.linalg.slogdet(V)
    return jnp.exp(-m * jnp.log(2.0) - 0.5 * logdet)


@highest_precision
def log_negativity(V: Float[ArrayLike, "n n"], partition: Sequence[int] | Int[ArrayLike, " p"]) -> Float[Array, ""]:
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


_MOVED = {"spectrum", "heat_currents"}


def __getattr__(name):
    # one-release shims: the system observables moved to jaxbind.quantum.response
    if name in _MOVED:
        warnings.warn(f"jaxbind.quantum.observables.{name} moved to jaxbind.quantum.response.{name}",
                      DeprecationWarning, stacklevel=2)
        from . import response

        return getattr(response, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
