"""Phase-space conventions of the Gaussian-moment code (papers 000, 001).

Quadratures x = (z1, p1, z2, p2, …) with [z, p] = i (ħ = 1), so [x, xᵀ] = iΩ with the
symplectic form Ω = ⊕ [[0, 1], [−1, 0]], and mode operators a_j = (z_j + i p_j)/√2, i.e.
a = T x with the mode matrix T. Both the state observables
(:mod:`jaxbind.quantum.observables`) and the linear systems
(:mod:`jaxbind.quantum.gaussian`) build on these two matrices.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

__all__ = ["symplectic_form", "mode_matrix"]


def symplectic_form(n: int, dtype=None) -> Float[Array, "n n"]:
    """Ω = ⊕ [[0, 1], [−1, 0]] for n quadratures ordered (z1, p1, z2, p2, …); [x, xᵀ] = iΩ."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2 or n % 2:
        raise ValueError(f"n (number of quadratures) must be a positive even int, got {n!r}")
    w = jnp.array([[0.0, 1.0], [-1.0, 0.0]], dtype=dtype)
    return jnp.kron(jnp.eye(n // 2, dtype=dtype), w)


def mode_matrix(n_modes: int, dtype=None) -> Complex[Array, "m n"]:
    """T with a = T x: a_j = (z_j + i p_j)/√2 for the interleaved quadrature ordering."""
    if isinstance(n_modes, bool) or not isinstance(n_modes, (int, np.integer)) or n_modes < 1:
        raise ValueError(f"n_modes must be a positive int, got {n_modes!r}")
    cdt = jnp.result_type(dtype or float, jnp.complex64)
    t = jnp.array([1.0, 1j], dtype=cdt) / np.sqrt(2.0)
    return jnp.kron(jnp.eye(n_modes, dtype=cdt), t[None, :])
