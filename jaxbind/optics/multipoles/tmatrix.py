"""Single-particle T-matrices in the VSWF basis of :mod:`.vswf`.

A particle with T-matrix T scatters the regular field Σ e_ν [N, M]^{reg}_ν exciting it into
the outgoing field Σ p_μ [N, M]^{out}_μ with p = T e.

* Homogeneous sphere (Mie; Bohren & Huffman 1983 eqs. 4.45 and 4.53 in this basis,
  Mishchenko, Travis & Lacis, *Scattering, Absorption, and Emission of Light by Small
  Particles*, 2002, eq. 5.42): T is diagonal, −a_l on the electric (N) half and −b_l on the
  magnetic (M) half, with a_l, b_l from :func:`jaxbind.optics.mie.mie_coefficients` (one
  implementation of the Mie coefficients).
* Point dipoles (l_max = 1): the scattered field of p̃ = α̃_e Ẽ, m̃ = α̃_m H̃ is T = (2i/3) α̃
  on the l = 1 block (α̃ = (3i/2) a_1 for :class:`~jaxbind.optics.scatterers.MieDipole`,
  paper 003 after eq. 3), so l_max = 1 reproduces the coupled-dipole engine.
* User-supplied T-matrices (e.g. from another T-matrix code): arrays in this basis and
  ordering, shape-checked by :func:`as_tmatrices`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..._types import Array, ArrayLike, Complex, Inexact, Num, NumLike, Real, RealDtype
from .vswf import n_coefficients

__all__ = ["mie_tmatrix", "mie_tmatrices", "dipole_tmatrices", "as_tmatrices", "degrees"]


def degrees(l_max: int) -> np.ndarray:
    """The degree l of every entry of a coefficient vector (host, (n_coefficients,))."""
    half = np.concatenate([[l] * (2 * l + 1) for l in range(1, l_max + 1)])
    return np.concatenate([half, half])


def mie_tmatrix(index: Complex[ArrayLike, ""] | Real, ka: Real, l_max: int
                ) -> Complex[Array, " nc"]:
    """Diagonal of the Mie T-matrix of one sphere: (n_coefficients(l_max),) complex.

    Args:
        index: complex refractive index relative to the medium (Im ≥ 0).
        ka: size parameter k a.
        l_max: static maximum degree.
    """
    from ..mie import mie_coefficients

    a, b = mie_coefficients(index, ka, l_max)
    l = degrees(l_max)
    nv = n_coefficients(l_max) // 2
    return jnp.concatenate([-a[l[:nv] - 1], -b[l[:nv] - 1]])


def mie_tmatrices(index: Num[ArrayLike, " n"], ka: RealDtype[ArrayLike, " n"], l_max: int
                  ) -> Complex[Array, "n nc"]:
    """(N, n) diagonals of the Mie T-matrices of N spheres (index, ka: (N,))."""
    return jax.vmap(lambda m, x: mie_tmatrix(m, x, l_max))(index, ka)


def dipole_tmatrices(alpha_e: Inexact[ArrayLike, " n"],
                     alpha_m: Inexact[ArrayLike, " n"] | None,
                     l_max: int) -> Inexact[Array, "n nc"]:
    """(N, n) diagonals for isotropic point dipoles of scaled polarizabilities α̃_e, α̃_m (N,)
    (α̃_m may be None): (2i/3)α̃ on the l = 1 entries, 0 above."""
    nv = n_coefficients(l_max) // 2
    lead = jnp.zeros((alpha_e.shape[0], nv), alpha_e.dtype)
    te = lead.at[:, :3].set((2j / 3) * alpha_e[:, None])
    tm = lead if alpha_m is None else lead.at[:, :3].set((2j / 3) * alpha_m[:, None])
    return jnp.concatenate([te, tm], axis=1)


def as_tmatrices(tmatrix: NumLike, n: int, l_max: int, name: str = "tmatrix"
                 ) -> Complex[Array, "n nc nc"]:
    """User T-matrices as (N, n_c, n_c) (a single (n_c, n_c) is broadcast); shape-checked.

    A (N, n_c) or (n_c,) array is read as the diagonals.
    """
    t = jnp.asarray(tmatrix)
    if not jnp.issubdtype(t.dtype, jnp.complexfloating):
        t = t.astype(jnp.result_type(t.dtype, jnp.complex64))
    nc = n_coefficients(l_max)
    shapes = {(nc,): "diag", (n, nc): "diag", (nc, nc): "full", (n, nc, nc): "full"}
    kind = shapes.get(tuple(t.shape))
    if kind is None:
        raise ValueError(
            f"{name} must have shape ({nc}, {nc}), ({n}, {nc}, {nc}) or diagonals ({nc},) / "
            f"({n}, {nc}) for l_max = {l_max} (2 l_max (l_max + 2) = {nc} coefficients), got "
            f"{tuple(t.shape)}")
    if kind == "diag":
        t = jnp.broadcast_to(t, (n, nc))
        return jax.vmap(jnp.diag)(t)
    return jnp.broadcast_to(t, (n, nc, nc))
