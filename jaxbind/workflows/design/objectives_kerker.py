"""One-way Kerker pair objectives (paper 003): non-reciprocity factors close to ½.

Geometry of paper 003 Fig. 2(d): a plane wave propagating along +x (polarized along z)
illuminates particle A at the origin and particle B at L e_x. A one-way interaction has
NRF⁽⁰⁾_x = NRF⁽¹⁾_{x,x} = ½ (paper 003 eqs. 1, 2) independently of L; the ideal 2nd-Kerker
pair α̃_m = −α̃_e achieves it exactly with one scattering event (paper 003 Fig. 3) but is not
passive. :func:`kerker_nrf_loss` measures the mean squared deviation from ½ over a range
of kL (via :func:`jaxbind.optics.forces.nonreciprocity_factors`); :func:`silicon_kerker_loss`
evaluates it for a real silicon sphere of radius a at vacuum wavelength λ through the
dipolar Mie coefficients (:func:`jaxbind.optics.mie.scaled_dipole_polarizabilities`), with
silicon's index from Green (2008) (:class:`jaxbind.optics.materials.TabulatedIndex`) — paper 003 only picked a = 45 nm, λ = 420 nm and says it
did not optimise them.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ... import constants as Cst
from ..._types import Array
from ...optics.beams import PlaneWave
from ...optics.forces import nonreciprocity_factors
from ...optics.materials import SILICON_GREEN_2008, TabulatedIndex
from ...optics.mie import scaled_dipole_polarizabilities
from ...optics.particles import Particles
from ...solvers import Born, Direct

__all__ = [
    "SILICON_GREEN_2008",
    "silicon_index",
    "kerker_pair_nrf",
    "kerker_nrf_loss",
    "silicon_polarizabilities",
    "silicon_kerker_loss",
]

_SILICON = TabulatedIndex.silicon_green_2008()


def silicon_index(wavelength) -> Array:
    """Complex refractive index n + iκ of silicon at vacuum ``wavelength`` (m): Green (2008)
    between 400 and 800 nm (:meth:`jaxbind.optics.materials.TabulatedIndex.silicon_green_2008`;
    linear interpolation, clamped outside, differentiable in the wavelength)."""
    return _SILICON.index_at_wavelength(wavelength)


def kerker_pair_nrf(alpha_e, alpha_m, kL, *, method: str = "born", order: int = 1):
    """(NRF⁽⁰⁾_x, NRF⁽¹⁾_{x,x_A}) of two identical dipoles at distance L along the
    propagation axis of a plane wave (paper 003 eqs. 1, 2; Fig. 2(d)).

    Args:
        alpha_e, alpha_m: scaled polarizabilities α̃_e = k³α_e/(4πε0), α̃_m = k³α_m/(4π)
            (complex, dimensionless).
        kL: k × centre distance (dimensionless, > 0).
        method, order: dipole solve (default "born", order 1: paper 003's single
            scattering event; "direct" for the full self-consistent solution).
    Returns:
        (nrf0, nrf1), each () in [0, 1].
    """
    kL = jnp.asarray(kL)
    rdt = jnp.result_type(kL.dtype, jnp.float32)
    cdt = jnp.result_type(rdt, jnp.complex64)
    # Work at k = 1 m⁻¹ so SI and scaled quantities coincide up to 4πε0 / 4π.
    lam = jnp.asarray(2.0 * math.pi, rdt)
    ae = jnp.asarray(alpha_e).astype(cdt) * (4.0 * math.pi * Cst.epsilon0)
    am = jnp.asarray(alpha_m).astype(cdt) * (4.0 * math.pi)
    pos = jnp.zeros((2, 3), rdt).at[1, 0].set(kL.astype(rdt))
    ps = Particles(pos, jnp.full((2,), 1e-3, rdt), alpha_e=jnp.stack([ae, ae]),
                   alpha_m=jnp.stack([am, am]))
    beam = PlaneWave(lam, 1.0, direction=(1.0, 0.0, 0.0), polarization=(0.0, 0.0, 1.0))
    if method not in ("born", "direct"):
        raise ValueError(f"method must be 'born' or 'direct', got {method!r}")
    solver = Born(order=order) if method == "born" else Direct()
    nr = nonreciprocity_factors(ps, beam, solver, throw=False)
    return nr.zeroth[0], nr.first[0, 0, 0]


def kerker_nrf_loss(alpha_e, alpha_m, kLs, *, method: str = "born", order: int = 1) -> Array:
    """Mean over ``kLs`` of (NRF⁽⁰⁾_x − ½)² + (NRF⁽¹⁾_{x,x} − ½)² (dimensionless).

    Args:
        alpha_e, alpha_m: scaled polarizabilities (complex).
        kLs: (L,) distances × k at which the pair should be one-way.
    """
    kLs = jnp.asarray(kLs)
    if kLs.ndim != 1 or kLs.shape[0] == 0:
        raise ValueError(f"kLs must be a non-empty 1-D array, got shape {kLs.shape}")
    n0, n1 = jax.vmap(lambda x: kerker_pair_nrf(alpha_e, alpha_m, x, method=method,
                                                order=order))(kLs)
    return jnp.mean((n0 - 0.5) ** 2 + (n1 - 0.5) ** 2)


def silicon_polarizabilities(radius, wavelength):
    """Scaled dipole polarizabilities (α̃_e, α̃_m) = (3i/2)(a₁, b₁) of a silicon sphere of
    ``radius`` (m) in vacuum at ``wavelength`` (m) (Mie; Green 2008 index)."""
    m = silicon_index(wavelength)
    x = 2.0 * math.pi * jnp.asarray(radius) / jnp.asarray(wavelength)
    pol = scaled_dipole_polarizabilities(m, x)
    return pol.alpha_e, pol.alpha_m


def silicon_kerker_loss(radius, wavelength, kLs, *, method: str = "born",
                        order: int = 1) -> Array:
    """:func:`kerker_nrf_loss` of a pair of silicon spheres (radius, λ in metres)."""
    ae, am = silicon_polarizabilities(radius, wavelength)
    return kerker_nrf_loss(ae, am, kLs, method=method, order=order)
