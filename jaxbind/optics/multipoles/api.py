"""Public entry points of the multipole engine and the :class:`Multipole` scatterer model."""

from __future__ import annotations

from typing import Sequence

import functools
import inspect

import equinox as eqx
import jax.numpy as jnp
import lineax as lx

from ..._precision import highest_precision
from ... import constants as C
from ..._types import Array, Float, NumLike
from ...results import RESULTS
from ..._checks import is_concrete
from ...solvers import GMRES, Born, Direct
from ..beams import AbstractBeam, medium_index
from ..dipoles import resolve_solver
from ..particles import Particle, Particles, as_particles
from ..scatterers import ScattererModel
from .forces import cross_sections_scaled, forces_scaled, torques_scaled
from .coreshell import CoreShell
from .incident import beam_coefficients
from .solve import MultipoleSolution, MultipoleSystem, check_overlap, solve_system
from .tmatrix import as_tmatrices, dipole_tmatrices, mie_tmatrices
from .tmatrix_io import TMatrixFile
from .truncation import warns_truncation
from .vswf import n_coefficients

__all__ = ["Multipole", "multipole_system", "solve_multipoles", "multipole_forces",
           "multipole_torques",
           "multipole_isolated_forces", "multipole_interparticle_forces", "cross_sections",
           "CrossSections"]


def _check_l_max(l_max):
    if isinstance(l_max, bool) or not isinstance(l_max, int):
        raise TypeError(f"l_max must be a Python int (it is static), got {type(l_max).__name__}")
    if l_max < 1:
        raise ValueError(f"l_max must be ≥ 1, got {l_max}")
    return l_max


def multipole_system(particles: Particles | Sequence[Particle], beam: AbstractBeam, l_max: int,
                     *, tmatrix: NumLike | CoreShell | TMatrixFile | None = None,
                     throw: bool = True,
                     fn: str = "solve_multipoles", extra_degrees: int = 0) -> MultipoleSystem:
    """The scaled multiple-scattering system of ``particles`` in ``beam`` (see :mod:`.solve`).

    T-matrices: ``tmatrix`` if given (an array, shape-checked, see
    :func:`~jaxbind.optics.multipoles.tmatrix.as_tmatrices`, used unchecked; or what
    :func:`~jaxbind.optics.multipoles.tmatrix_io.read_tmatrix` returns, a
    :class:`~jaxbind.optics.multipoles.tmatrix_io.TMatrixFile`, whose embedding index
    √(ε μ) must equal ``medium_index(beam)`` and one of whose vacuum wavelengths must equal
    the beam's (relative 1e-6; that frequency is used, its degrees fitted to ``l_max``):
    a ValueError naming ``tmatrix`` and both values otherwise (under a user's
    ``jit``/``vmap``/``grad`` of the beam: the same message from ``eqx.error_if``); or a
    provider such as
    :class:`~jaxbind.optics.multipoles.coreshell.CoreShell`, which builds them from the
    particles' index and radii); else Mie spheres from the
    particles' ``index`` and radii; else (particles given by isotropic polarizabilities) the
    point-dipole T-matrix.

    Host medium: ``k`` is the beam's wavenumber in the medium and the Mie T-matrices use the
    relative index index/n_medium (docs/conventions.md, "Host medium").

    ``extra_degrees`` (static, ≥ 0): the incident coefficients are computed to degree
    l_max + 1 + extra_degrees (one projection of the beam; the exact linearization of
    :mod:`jaxbind.mechanics.exact_multipole` needs one degree more for their displacement
    derivative). :func:`~jaxbind.optics.multipoles.solve.solve_system` needs degree l_max + 1:
    truncate before solving.
    """
    l_max = _check_l_max(l_max)
    ps = as_particles(particles)
    rdt = ps.positions.dtype
    k = jnp.asarray(beam.k).astype(rdt)
    nm = jnp.asarray(medium_index(beam)).astype(rdt)
    E0 = jnp.asarray(beam.reference_amplitude).astype(rdt)
    rho, overlap, worst = check_overlap(ps.positions * k, ps.radii.astype(rdt) * k, throw, fn)
    n = ps.n
    cdt = jnp.result_type(rdt, jnp.complex64)
    # the positions' dtype sets the program's precision (as Particles.polarizabilities_scaled)
    index = None if ps.index is None else ps.index.astype(cdt)
    d = None  # diagonals of T when all T-matrices are diagonal (the vector-scale fast path)
    if isinstance(tmatrix, CoreShell):
        if ps.index is None:
            raise ValueError(f"{fn}: tmatrix=CoreShell(...) needs particles given by their "
                             "(shell) index and (outer) radii")
        d = tmatrix.diagonals(index / nm, ps.radii.astype(rdt), k, l_max, nm)
    elif isinstance(tmatrix, TMatrixFile):
        T = (tmatrix.select(beam, l_max, fn) if is_concrete((k, nm))
             else tmatrix.select_traced(nm, k / nm, l_max, fn))
        T = as_tmatrices(T, n, l_max)
    elif tmatrix is not None:
        T = as_tmatrices(tmatrix, n, l_max)
    elif ps.index is not None:
        d = jnp.asarray(mie_tmatrices(index / nm, ps.radii.astype(rdt) * k, l_max))
    else:
        ae, am = ps.polarizabilities_scaled(k, nm)
        if ae.ndim != 1 or (am is not None and am.ndim != 1):
            raise ValueError(f"{fn}: tensor polarizabilities are not supported by the multipole "
                             "engine; pass tmatrix= or isotropic alpha_e / alpha_m")
        d = dipole_tmatrices(ae, am, l_max)
    if d is not None:
        d = jnp.broadcast_to(d, (n, n_coefficients(l_max))).astype(cdt)
        T = _diag(d)
    a = beam_coefficients(beam, rho, l_max + 1 + extra_degrees)
    return MultipoleSystem(rho, T.astype(cdt), a.astype(cdt), l_max, overlap, worst, k, E0,
                           tdiag=d)


def resolves_tmatrix_file(fn):
    """Decorator of an entry point ``f(particles, beam, l_max, ..., tmatrix=...)``: a
    :class:`~jaxbind.optics.multipoles.tmatrix_io.TMatrixFile` given with a concrete beam is
    checked against it on the host (ValueError) and replaced by the selected T-matrix array
    before the compiled call; with a traced beam it is passed on (:func:`multipole_system`
    checks it with ``eqx.error_if``)."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            bound = sig.bind_partial(*args, **kwargs)
        except TypeError:
            return fn(*args, **kwargs)
        arg = bound.arguments
        tm, beam, l_max = arg.get("tmatrix"), arg.get("beam"), arg.get("l_max")
        if (isinstance(tm, TMatrixFile) and getattr(beam, "k", None) is not None
                and is_concrete((beam.k, medium_index(beam)))):
            bound.arguments["tmatrix"] = tm.select(beam, _check_l_max(l_max), fn.__name__)
            return fn(*bound.args, **bound.kwargs)
        return fn(*args, **kwargs)

    return wrapper


def _force_unit(system, beam):
    """4π ε E0²/k² with ε = ε0 n² of the beam's host medium (Minkowski stress tensor, see
    :mod:`jaxbind.optics.forces`)."""
    nm = jnp.asarray(medium_index(beam)).astype(system.k.dtype)
    return C.force_unit(system.k, system.E0, nm)


def _diag(d):
    return jnp.einsum("ia,ab->iab", d, jnp.eye(d.shape[1], dtype=d.dtype))


@resolves_tmatrix_file
@warns_truncation
@eqx.filter_jit
@highest_precision
def solve_multipoles(particles: Particles | Sequence[Particle], beam: AbstractBeam, l_max: int,
                     solver: Direct | Born | GMRES | lx.AbstractLinearSolver | None = None, *,
                     tmatrix: NumLike | CoreShell | TMatrixFile | None = None, throw: bool = True
                     ) -> MultipoleSolution:
    """Self-consistent multipole coefficients of N particles in a beam (multiple scattering).

    Args:
        particles: :class:`~jaxbind.optics.particles.Particles` (index + radii: Mie spheres;
            isotropic polarizabilities: point dipoles).
        beam: any beam of :mod:`jaxbind.optics.beams`.
        l_max: static truncation degree (≥ 1); 1 reproduces the coupled dipoles.
        solver: :class:`~jaxbind.solvers.Direct` (default), :class:`~jaxbind.solvers.GMRES`,
            :class:`~jaxbind.solvers.Born` or a lineax solver.
        tmatrix: optional user T-matrices or a T-matrix provider such as
            :class:`~jaxbind.optics.multipoles.coreshell.CoreShell` (see
            :func:`multipole_system`).
        throw: raise on a failed solve; ``throw=False`` gives NaN + ``result``.
    Returns:
        :class:`~jaxbind.optics.multipoles.solve.MultipoleSolution`.
    """
    solver = resolve_solver("solve_multipoles", solver)
    system = multipole_system(particles, beam, l_max, tmatrix=tmatrix, throw=throw)
    return solve_system(system, solver, throw=throw, fn="solve_multipoles")


@resolves_tmatrix_file
@warns_truncation
@eqx.filter_jit
@highest_precision
def multipole_forces(particles: Particles | Sequence[Particle], beam: AbstractBeam, l_max: int,
                     solver: Direct | Born | GMRES | lx.AbstractLinearSolver | None = None, *,
                     tmatrix: NumLike | CoreShell | TMatrixFile | None = None, throw: bool = True
                     ) -> Float[Array, "n 3"]:
    """Time-averaged optical force (N, 3) in newtons on every particle, multipoles to l_max.

    Same units and conventions as :func:`jaxbind.optics.forces.optical_forces` (which it
    equals for l_max = 1 and Mie-dipole particles). Arguments as :func:`solve_multipoles`;
    NaN for a failed point with ``throw=False``.
    """
    solver = resolve_solver("multipole_forces", solver)
    system = multipole_system(particles, beam, l_max, tmatrix=tmatrix, throw=throw,
                              fn="multipole_forces")
    sol = solve_system(system, solver, throw=throw, fn="multipole_forces")
    F = forces_scaled(sol.p, sol.exciting, l_max)
    return _force_unit(system, beam) * F


@resolves_tmatrix_file
@warns_truncation
@eqx.filter_jit
@highest_precision
def multipole_torques(particles: Particles | Sequence[Particle], beam: AbstractBeam, l_max: int,
                      solver: Direct | Born | GMRES | lx.AbstractLinearSolver | None = None, *,
                      tmatrix: NumLike | CoreShell | TMatrixFile | None = None, throw: bool = True
                     ) -> Float[Array, "n 3"]:
    """Time-averaged optical torque (N, 3) in N·m on every particle about its centre,
    multipoles to l_max (angular-momentum flux, :func:`.forces.torques_scaled`).

    Same units and conventions as :func:`jaxbind.optics.forces.optical_torques` (which it
    equals for l_max = 1 and Mie-dipole particles); a single absorbing sphere in circularly
    polarised light feels σ_abs I/ω. Arguments as :func:`solve_multipoles`; NaN for a failed
    point with ``throw=False``.
    """
    solver = resolve_solver("multipole_torques", solver)
    system = multipole_system(particles, beam, l_max, tmatrix=tmatrix, throw=throw,
                              fn="multipole_torques")
    sol = solve_system(system, solver, throw=throw, fn="multipole_torques")
    T = torques_scaled(sol.p, sol.exciting, l_max)
    return (_force_unit(system, beam) / system.k) * T


@resolves_tmatrix_file
@warns_truncation
@eqx.filter_jit
@highest_precision
def multipole_isolated_forces(particles: Particles | Sequence[Particle], beam: AbstractBeam,
                              l_max: int, *,
                              tmatrix: NumLike | CoreShell | TMatrixFile | None = None
                              ) -> Float[Array, "n 3"]:
    """Force (N, 3) in newtons on each particle alone in the beam (no multiple scattering),
    F_iso of paper 003 Sec. II, multipoles to l_max."""
    system = multipole_system(particles, beam, l_max, tmatrix=tmatrix, throw=False,
                              fn="multipole_isolated_forces")
    F = forces_scaled(system.rhs(), system.incident, l_max)
    return _force_unit(system, beam) * F


@resolves_tmatrix_file
@warns_truncation
@eqx.filter_jit
@highest_precision
def multipole_interparticle_forces(particles: Particles | Sequence[Particle], beam: AbstractBeam,
                                   l_max: int,
                                   solver: Direct | Born | GMRES | lx.AbstractLinearSolver
                                   | None = None, *,
                                   tmatrix: NumLike | CoreShell | TMatrixFile | None = None,
                                   throw: bool = True) -> Float[Array, "n 3"]:
    """Force due to the other particles, f = F − F_iso (paper 003 Sec. II), (N, 3) newtons."""
    F = multipole_forces(particles, beam, l_max, solver, tmatrix=tmatrix, throw=throw)
    return F - multipole_isolated_forces(particles, beam, l_max, tmatrix=tmatrix)


class CrossSections(eqx.Module):
    """Extinction, scattering and absorption cross-sections (m²) of a cluster, relative to
    the beam's reference intensity I0 = n E0²/(2Z0) (n the host-medium index), and the
    solve's ``result``."""

    extinction: Float[Array, ""]
    scattering: Float[Array, ""]
    absorption: Float[Array, ""]
    result: RESULTS


@resolves_tmatrix_file
@warns_truncation
@eqx.filter_jit
@highest_precision
def cross_sections(particles: Particles | Sequence[Particle], beam: AbstractBeam, l_max: int,
                   solver: Direct | Born | GMRES | lx.AbstractLinearSolver | None = None, *,
                   tmatrix: NumLike | CoreShell | TMatrixFile | None = None, throw: bool = True
                   ) -> CrossSections:
    """Cluster cross-sections by the optical theorem (see :mod:`.forces`)."""
    solver = resolve_solver("cross_sections", solver)
    system = multipole_system(particles, beam, l_max, tmatrix=tmatrix, throw=throw,
                              fn="cross_sections")
    sol = solve_system(system, solver, throw=throw, fn="cross_sections")
    ext, sca, ab = cross_sections_scaled(sol.p, sol.exciting, sol.incident, l_max)
    u = 1.0 / system.k**2
    return CrossSections(u * ext, u * sca, u * ab, sol.result)


class Multipole(ScattererModel):
    """Spheres as multipoles up to degree ``l_max`` (T-matrix engine of
    :mod:`jaxbind.optics.multipoles`); l_max = 1 is the Mie dipole model.

    Use it as the scatterer model of particles given by their index:
    ``Particles(positions, radii, index=1.45, model=Multipole(l_max=3))``; then
    ``jb.optical_forces``, ``interparticle_forces``, ``stiffness_matrix`` and
    ``nonreciprocity_factors`` and ``jb.optical_torques`` run through this engine.

    Args:
        l_max: static truncation degree (≥ 1). Converged for l_max ≳ ka + 4 (ka)^{1/3} + 2
            (Wiscombe) for the largest sphere, and larger for touching spheres.
        tmatrix: optional T-matrix provider, e.g.
            :class:`~jaxbind.optics.multipoles.coreshell.CoreShell` (core–shell spheres;
            the particles' index and radii are the shell's), or a T-matrix file read by
            :func:`~jaxbind.optics.multipoles.tmatrix_io.read_tmatrix` (checked against the
            beam's medium and wavelength, see :func:`multipole_system`); default:
            homogeneous Mie spheres.
    """

    l_max: int = eqx.field(static=True, default=3)
    tmatrix: CoreShell | TMatrixFile | None = None

    def __check_init__(self):
        _check_l_max(self.l_max)

    def optical_forces(self, particles, beam, solver=None, *, throw: bool = True):
        """(N, 3) forces in newtons (as :func:`jaxbind.optics.forces.optical_forces`)."""
        return multipole_forces(particles, beam, self.l_max, solver, tmatrix=self.tmatrix,
            throw=throw)

    def optical_torques(self, particles, beam, solver=None, *, throw: bool = True):
        """(N, 3) torques in N·m (as :func:`jaxbind.optics.forces.optical_torques`)."""
        return multipole_torques(particles, beam, self.l_max, solver, tmatrix=self.tmatrix,
            throw=throw)

    def isolated_forces(self, particles, beam):
        """(N, 3) forces on each particle alone (see :func:`multipole_isolated_forces`)."""
        return multipole_isolated_forces(particles, beam, self.l_max, tmatrix=self.tmatrix)

    def interparticle_forces(self, particles, beam, solver=None, *, throw: bool = True):
        """f = F − F_iso (N, 3) newtons (see :func:`multipole_interparticle_forces`)."""
        return multipole_interparticle_forces(particles, beam, self.l_max, solver,
                                              tmatrix=self.tmatrix, throw=throw)

    def solve(self, particles, beam, solver=None, *, throw: bool = True):
        """:func:`solve_multipoles` at this model's l_max."""
        return solve_multipoles(particles, beam, self.l_max, solver, tmatrix=self.tmatrix,
            throw=throw)

    def cross_sections(self, particles, beam, solver=None, *, throw: bool = True):
        """:func:`cross_sections` at this model's l_max."""
        return cross_sections(particles, beam, self.l_max, solver, tmatrix=self.tmatrix,
            throw=throw)
