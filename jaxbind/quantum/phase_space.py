"""Phase-space conventions of the Gaussian-moment code (papers 000, 001).

Quadratures x = (z1, p1, z2, p2, …) with [z, p] = i (ħ = 1), so [x, xᵀ] = iΩ with the
symplectic form Ω = ⊕ [[0, 1], [−1, 0]], and mode operators a_j = (z_j + i p_j)/√2, i.e.
a = T x with the mode matrix T. Both the state observables
(:mod:`jaxbind.quantum.observables`) and the linear systems
(:mod:`jaxbind.quantum.gaussian`) build on these two matrices.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Complex, Float

__all__ = ["symplectic_form", "mode_matrix", "physical_bt"]


def symplectic_form(n: int, dtype=None) -> Float[Array, "n n"]:
    """Ω = ⊕ [[0, 1], [−1, 0]] for n quadratures ordered (z1, p1, z2, p2, …); [x, xᵀ] = iΩ."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2 or n % 2:
        raise ValueError(f"n (number of quadratures) must be a positive even int, got {n!r}")
    # built in NumPy: a constant, no XLA program per size (eager calls compiled op by op)
    w = np.array([[0.0, 1.0], [-1.0, 0.0]])
    return jnp.asarray(np.kron(np.eye(n // 2), w), dtype=jnp.result_type(dtype or float))


def mode_matrix(n_modes: int, dtype=None) -> Complex[Array, "m n"]:
    """T with a = T x: a_j = (z_j + i p_j)/√2 for the interleaved quadrature ordering."""
    if isinstance(n_modes, bool) or not isinstance(n_modes, (int, np.integer)) or n_modes < 1:
        raise ValueError(f"n_modes must be a positive int, got {n_modes!r}")
    cdt = jnp.result_type(dtype or float, jnp.complex64)
    t = np.array([1.0, 1j], dtype=cdt) / np.sqrt(2.0)  # NumPy: a constant, no XLA program
    return jnp.asarray(np.kron(np.eye(n_modes, dtype=cdt), t[None, :]), dtype=cdt)


@functools.partial(jax.jit, static_argnames=("rtol",))  # one program, not n eager elimination steps
def physical_bt(A: Float[Array, "n n C"], D: Float[Array, "n n C"],
                rtol: float | None = None) -> Bool[Array, " C"]:
    """Physicality verdict D + (i/2)(AΩ + ΩAᵀ) ⪰ 0 (complete positivity of the Gaussian
    semigroup; the one implementation behind :func:`jaxbind.quantum.gaussian.physicality`
    and :func:`jaxbind.quantum.gaussian.steady_state`) for a *trailing* batch C.

    P = R + iS (R = sym(D), S = ½(AΩ + ΩAᵀ) antisymmetric) is Hermitian; the verdict is
    "P + tol·1 positive definite" ⇔ λ_min(P) > −tol, tol = rtol·max(|A|, |D|) (default rtol
    1e3·eps), by the pivots of a complex Cholesky elimination vectorised across the batch
    (no eigendecomposition; NaN → False; half the cost of the real 2n × 2n embedding).
    """
    n = A.shape[0]
    if rtol is None:
        rtol = 1e3 * float(jnp.finfo(A.dtype).eps)
    dt = np.dtype(A.dtype)
    # AΩ by a static column swap and sign: (AΩ)[:, 2k+1] = A[:, 2k], (AΩ)[:, 2k] = −A[:, 2k+1]
    swap = np.arange(n).reshape(-1, 2)[:, ::-1].reshape(-1)
    sign = np.tile(np.array([-1.0, 1.0]), n // 2).astype(dt)
    AO = A[:, swap] * sign[None, :, None]
    S = 0.5 * (AO - jnp.swapaxes(AO, 0, 1))  # ΩAᵀ = −(AΩ)ᵀ
    R = 0.5 * (D + jnp.swapaxes(D, 0, 1))
    scale = jnp.maximum(jnp.max(jnp.abs(A), axis=(0, 1)), jnp.max(jnp.abs(D), axis=(0, 1)))
    cur = (R + np.eye(n, dtype=dt)[:, :, None] * (rtol * scale)[None, None, :]) + 1j * S
    ok = jnp.ones(A.shape[-1], bool)
    for k in range(n):
        d = cur[0, 0].real
        ok = ok & (d > 0)
        if k < n - 1:  # P' = P₂₂ − a a†/d with a the first column (P Hermitian)
            a = cur[1:, 0]
            cur = cur[1:, 1:] - a[:, None] * (jnp.conj(a) / d)[None]
    return ok
