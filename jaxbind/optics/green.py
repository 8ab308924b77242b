"""Free-space dyadic Green tensors (paper 000 after eq. 1; paper 001 eqs. 1, 57).

Normalization: the electric field of a point dipole p at the origin is E(r) = Ḡ(r) p / ε0,
with

    Ḡ(r) = e^{ikr}/(4π) [ (1 − ikr)(3 r⊗r − r² 1)/r⁵ + k² (r² 1 − r⊗r)/r³ ].

Internally everything is written with the dimensionless ρ = k r:
Ḡ(r) = k³/(4π) g(ρ n),  g = e^{iρ}[(1 − iρ)(3 n⊗n − 1)/ρ³ + (1 − n⊗n)/ρ].
"""

from __future__ import annotations

import jax.numpy as jnp

from .._checks import check_shape, error_if_nonfinite
import equinox as eqx


def _split(r):
    """Return (|r|, unit vector) with a gradient-safe norm (r = 0 is caught separately)."""
    r2 = jnp.sum(r * r)
    safe = r2 > 0
    rn = jnp.sqrt(jnp.where(safe, r2, 1.0))
    return rn, r / rn


def green_scaled(rho_vec, kscale=1.0):
    """Dimensionless Green tensor g(ρ) with Ḡ(r) = k³ g(k r)/(4π).

    Args:
        rho_vec: (3,) real, k·r (dimensionless separation).
        kscale: complex factor multiplying ρ in the phase and polynomial (1 for real k;
            1j for imaginary wavenumber handled by :func:`green_tensor`).
    Returns:
        (3, 3) complex.
    """
    rho, n = _split(rho_vec)
    rho_c = kscale * rho
    nn = jnp.outer(n, n)
    eye = jnp.eye(3, dtype=nn.dtype)
    near = (1.0 - 1j * rho_c) * (3.0 * nn - eye) / rho_c**3
    far = (eye - nn) / rho_c
    return jnp.exp(1j * rho_c) * (near + far)


def green_tensor(r, k):
    """Free-space electric dyadic Green tensor Ḡ(r) (1/m³), E = Ḡ p / ε0.

    Paper 000 (after eq. 1) / paper 001 eq. 57.

    Args:
        r: (3,) separation vector in metres (field point minus source point), r ≠ 0.
        k: wavenumber in rad/m (real; complex allowed for e.g. k = iξ/c).
    Returns:
        (3, 3) complex Green tensor in 1/m³.
    """
    r = jnp.asarray(r)
    check_shape("r", r, (3,))
    r = error_if_nonfinite(r, "r")
    r = eqx.error_if(r, jnp.sum(r * r) == 0, "green_tensor: r = 0 (coincident points) is singular")
    k = jnp.asarray(k)
    kabs = jnp.abs(k)
    g = green_scaled(r * kabs, k / kabs)
    # Ḡ = k³ g(k r)/(4π) holds for complex k too (ρ_c = k r inside g).
    return (k**3 / (4.0 * jnp.pi)) * g
