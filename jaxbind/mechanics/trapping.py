"""Trap frequencies of particles in any beam, by autodiff of the optical force.

For each particle j the harmonic frequencies along the lab axes are

    ω_{j,a} = sqrt(κ_{j,aa} / m_j),   κ_{j,ab} = −∂F_{j,a}/∂r_{j,b},

with the stiffness from :func:`jaxbind.optics.forces.stiffness_matrix` (``jax.jacfwd`` through
the self-consistent coupled-dipole solve, paper 003 eq. 3; paper 001 eqs. 76–77 for its use in
the linearized dynamics).  The beam may be any :class:`~jaxbind.optics.beams.AbstractBeam`:
the paraxial :class:`~jaxbind.optics.beams.Tweezer` or the vectorial
:class:`~jaxbind.optics.focused.FocusedBeam` (Richards–Wolf) that high-NA experiments need.
Evaluated at the particles' given positions (the focus is not the equilibrium once the
scattering force pushes the particle along z; locate it first where that matters).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from typing import Sequence

import lineax as lx

from .._types import Array, ArrayLike, Float
from ..optics.beams import AbstractBeam
from ..optics.forces import stiffness_matrix
from ..optics.particles import Particle, Particles, as_particles
from ..solvers import Born, Direct, GMRES

__all__ = ["trap_frequencies"]


@eqx.filter_jit
def trap_frequencies(particles: Particles | Sequence[Particle], beam: AbstractBeam,
                     solver: Direct | Born | GMRES | lx.AbstractLinearSolver | None = None, *,
                     masses: Float[ArrayLike, "*n"] | None = None,
                     throw: bool = True) -> Float[Array, "n 3"]:
    """Angular trap frequencies ω_x, ω_y, ω_z (rad/s) of every particle, (N, 3).

    Args:
        particles: :class:`~jaxbind.optics.particles.Particles` (or a Particle).
        beam: any beam (e.g. :class:`~jaxbind.optics.focused.FocusedBeam`).
        solver: dipole solver object (default ``Direct``), as in ``optical_forces``.
        masses: (N,) masses (kg); default ``particles.masses`` (needs densities).
        throw: as in ``optical_forces``.
    Returns:
        (N, 3) ω (rad/s) along x, y, z; NaN along an axis with κ ≤ 0 (not trapped there).
        The neighbours' scattered fields are included (the diagonal blocks of the full
        stiffness); for a single particle this is the trap of the beam alone.
    """
    ps = as_particles(particles)
    m = ps.masses if masses is None else jnp.broadcast_to(jnp.asarray(masses), (ps.n,))
    K = stiffness_matrix(ps, beam, solver, throw=throw)
    n = ps.n
    kdiag = jnp.diagonal(K).reshape(n, 3)
    ok = kdiag > 0
    w = jnp.sqrt(jnp.where(ok, kdiag, 1.0) / m[:, None])
    return jnp.where(ok, w, jnp.nan)
