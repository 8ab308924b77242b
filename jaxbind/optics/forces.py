"""Time-averaged optical forces and torques on coupled dipoles; non-reciprocity; stiffness.

Force on particle i (paper 003 eq. 3 in vector form, Chaumet & Rahmani, Opt. Express 17,
2224 (2009)), with ∇ acting on the *local* field — incident plus the fields scattered by the
other particles — at fixed dipole moments:

    F_i = ½ Re Σ_a p_a* ∇E_a + (μ0/2) Re Σ_a m_a* ∇H_a − (k⁴/(12π ε0 c)) Re(p × m*).

In the scaled units of :mod:`jaxbind.constants` (p̃ = k³p/(4πε0E0), m̃ = k³Z0 m/(4πE0),
∇̃ = ∇/k, force unit F0 = 4πε0E0²/k²) every prefactor becomes simple:

    F̃_i = ½ Re Σ_a p̃_a* ∇̃Ẽ_a + ½ Re Σ_a m̃_a* ∇̃H̃_a − ⅓ Re(p̃ × m̃*)

(μ0/Z0² = ε0 makes the magnetic term symmetric; k⁴/(12πε0c)·(4πε0E0)(4πE0)/(k⁶Z0) = F0/3
gives the ⅓). For one isotropic dipole in a plane wave this is F = σ_ext I/c (optical
theorem) and with a magnetic dipole F = (σ_ext − g σ_sca) I/c, which the tests check against
the dipolar Mie expressions.

Host medium (docs/conventions.md, "Host medium"): for particles in a medium of real index n
(the beam's ``n_medium``) the same formulas hold with ε0 → ε = ε0 n², Z0 → Z0/n, c → c/n and
k = 2π n/λ0 — the time-averaged Maxwell stress tensor of the medium in its Minkowski form,
T = ε E⊗E + μ0 H⊗H − ½(ε|E|² + μ0|H|²)1, integrated on a sphere in the medium (as in the
optical-tweezers codes: Nieminen et al., J. Opt. A 9, S196 (2007); miepy). The scaled kernels
are therefore unchanged; only the force unit F0 = 4π ε E0²/k² carries n, and a sphere in a
plane wave feels F = (n I/c)(σ_ext − g σ_sca).

Torque (paper 001 eq. 9b in the dipole limit, including the radiation-reaction self field
(2i/3)p̃ of the point dipole, which makes the torque on a lossless sphere vanish):

    T̃_i = ½ Re(p̃* × Ẽ_loc + m̃* × H̃_loc) − ⅓ Im(p̃* × p̃ + m̃* × m̃),  unit 4πε0E0²/k³.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx

from .._precision import highest_precision
from .. import constants as C
from ..results import RESULTS
from .._types import Array, Float
from . import _propagator as P
from .dipoles import (
    DipoleSolution,
    _apply_pol,
    _map_rows,
    _safe_separations,
    _scattered_fields,
    _solve_system,
    dipole_system,
    resolve_solver,
)
from ..solvers import GMRES, Born, Direct
from .beams import AbstractBeam
from .particles import Particle, Particles, as_particles

__all__ = [
    "optical_forces",
    "dipole_forces",
    "optical_torques",
    "dipole_torques",
    "isolated_forces",
    "interparticle_forces",
    "nonreciprocity_from_jacobian",
    "NonReciprocity",
    "nonreciprocity_factors",
    "stiffness_matrix",
]


# --------------------------------------------------------------------------------------
# scaled kernels
# --------------------------------------------------------------------------------------


def _radial_derivatives(r):
    """f1', f2' − 2f2/ρ, f2/ρ, h' − h/ρ, h/ρ for g = f1 1 + f2 n⊗n and gc v = h n × v."""
    return tuple(P.evaluate(f, r) for f in (P.DF1, P.B1, P.F2R, P.H1, P.HR))


def _grad_g(n, coeffs, u, b):
    """∇_d [u·g(d) b] for each source row: (N,3) (u (3,), b (N,3))."""
    df1, b1, f2r, _, _ = coeffs
    ub = jnp.sum(b * u, axis=-1)
    un = jnp.sum(n * u, axis=-1)
    bn = jnp.sum(n * b, axis=-1)
    return (n * (df1 * ub + b1 * un * bn)[:, None]
            + f2r[:, None] * (u[None, :] * bn[:, None] + b * un[:, None]))


def _grad_gc(n, coeffs, u, b):
    """∇_d [u·gc(d) b] = ∇_d [h n·(b × u)] for each source row: (N,3)."""
    _, _, _, h1, hr = coeffs
    c = jnp.cross(b, u[None, :])
    nc = jnp.sum(n * c, axis=-1)
    return n * (h1 * nc)[:, None] + hr[:, None] * c


def _scattered_gradient_force(rho, p, m, sp, sm):
    """Σ_j ∇[p_i*·Ẽ_j + m_i*·H̃_j] at each particle i (N,3) complex, fields of sources sp, sm."""
    n = rho.shape[0]
    idx = jnp.arange(n)

    def one(args):
        rho_i, i, ue, um = args
        mask = idx != i
        _, r, nv = _safe_separations(rho_i, rho, mask)
        w = mask.astype(r.dtype)
        coeffs = tuple(c * w for c in _radial_derivatives(r))
        g = _grad_g(nv, coeffs, ue, sp)
        if sm is not None:
            g = (g - _grad_gc(nv, coeffs, ue, sm) + _grad_gc(nv, coeffs, um, sp)
                 + _grad_g(nv, coeffs, um, sm))
        return jnp.sum(g, axis=0)

    um = jnp.conj(m) if m is not None else jnp.zeros_like(p)
    return _map_rows(one, (rho, idx, jnp.conj(p), um), n)


def _contract(u, d):
    """Σ_a u_a d[a, c] per particle (elementwise: tiny batched dots are slow under vmap)."""
    return jnp.sum(u[:, :, None] * d, axis=1)


def _incident_gradients(prob, beam):
    """(∂_c Ẽ_a, ∂_c H̃_a) of the incident beam at every particle, (N, 3, 3) each."""
    return jax.vmap(beam.field_gradients_scaled)(prob.rho)


def _forces_scaled(prob, sol: DipoleSolution, beam, grads=None):
    """F̃ (N,3) real: incident-gradient + scattered-gradient + recoil terms."""
    rho, p, m = prob.rho, sol.p, sol.m
    dE, dH = _incident_gradients(prob, beam) if grads is None else grads
    tot = _contract(jnp.conj(p), dE)
    if m is not None:
        tot = tot + _contract(jnp.conj(m), dH)
    tot = tot + _scattered_gradient_force(rho, p, m, sol.source_p, sol.source_m)
    F = 0.5 * jnp.real(tot)
    if m is not None:
        F = F - jnp.real(jnp.cross(p, jnp.conj(m))) / 3.0
    return F


def _torques_scaled(prob, sol: DipoleSolution):
    """T̃ (N,3) real (module docstring)."""
    n = prob.rho.shape[0]
    Es, Hs = _scattered_fields(prob.rho, sol.source_p, sol.source_m)
    E = prob.y[:n] + Es
    p = sol.p
    T = 0.5 * jnp.real(jnp.cross(jnp.conj(p), E)) - jnp.imag(jnp.cross(jnp.conj(p), p)) / 3.0
    if sol.m is not None:
        H = prob.y[n:] + Hs
        m = sol.m
        T = T + 0.5 * jnp.real(jnp.cross(jnp.conj(m), H)) - jnp.imag(jnp.cross(jnp.conj(m), m)) / 3.0
    return T


def _isolated_scaled(prob, beam, grads=None):
    """F̃ (N,3) on each particle alone in the beam (no scattering between particles)."""
    n = prob.rho.shape[0]
    x = _apply_pol(prob.alpha, prob.y)
    p = x[:n]
    m = x[n:] if prob.magnetic else None
    dE, dH = _incident_gradients(prob, beam) if grads is None else grads
    tot = _contract(jnp.conj(p), dE)
    if m is not None:
        tot = tot + _contract(jnp.conj(m), dH)
    F = 0.5 * jnp.real(tot)
    if m is not None:
        F = F - jnp.real(jnp.cross(p, jnp.conj(m))) / 3.0
    return F


def _force_unit(prob):
    """4π ε E0²/k² with ε = ε0 n² and k = 2π n/λ0 of the host medium."""
    return C.force_unit(prob.k, prob.E0, prob.n_medium)


def _solve(fn, particles, beam, solver, legacy, throw):
    solver = resolve_solver(fn, solver, **legacy)
    prob = dipole_system(particles, beam, throw=throw)
    sol = _solve_system(prob, solver, throw=throw, fn=fn)
    return prob, sol


def _model_solver(fn, solver, legacy):
    """The solver for a non-dipole model: deprecated keyword settings resolved the same way."""
    if solver is None and all(v is None for v in legacy.values()):
        return None
    return resolve_solver(fn, solver, **legacy)


def _model_method(ps, name):
    """``ps.model.<name>`` of a non-dipole scatterer model (TypeError naming what is missing)."""
    f = getattr(ps.model, name, None)
    if f is None:
        raise TypeError(f"particles: the scatterer model {type(ps.model).__name__} provides no "
                        f"{name}")
    return f


def _single(ps, i):
    """Particle ``i`` (traced index allowed) of ``ps`` as a one-particle Particles."""
    take = (lambda x: None if x is None else jax.lax.dynamic_slice_in_dim(x, i, 1, axis=0))
    return Particles(take(ps.positions), take(ps.radii), alpha_e=take(ps.alpha_e),
                     alpha_m=take(ps.alpha_m), index=take(ps.index), density=take(ps.density),
                     model=ps.model)


def _model_isolated(ps, beam, solver, throw):
    """(N, 3) forces (N) on each particle of a non-dipole model alone in the beam."""
    forces = _model_method(ps, "optical_forces")
    one = lambda i: forces(_single(ps, i), beam, solver, throw=throw)[0]  # noqa: E731
    return jax.vmap(one)(jnp.arange(ps.n))


def _nan_unless_ok(x, sol):
    """Outputs of a failed solve are NaN (the dipoles already are; isolated terms are not)."""
    return jnp.where(sol.result == RESULTS.successful, x, jnp.asarray(jnp.nan, x.dtype))


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------

def _legacy(method, order, rtol, atol, max_steps, restart):
    """The deprecated keyword settings (``method`` string and its options)."""
    return dict(method=method, order=order, rtol=rtol, atol=atol, max_steps=max_steps,
                restart=restart)


@eqx.filter_jit
@highest_precision
def optical_forces(particles: Particles | Particle | Sequence[Particle], beam: AbstractBeam,
                   solver: Direct | Born | GMRES | lx.AbstractLinearSolver | str | None = None, *,
                   throw: bool = True, method: str | None = None, order: int | None = None,
                   rtol: float | None = None, atol: float | None = None, max_steps: int | None = None,
                   restart: int | None = None
                   ) -> Float[Array, "n 3"]:
    """Time-averaged optical force on every particle (paper 003 eq. 3, vector form).

    Solves the coupled dipoles (:func:`~jaxbind.optics.dipoles.solve_dipoles` with the same
    ``solver``) and evaluates F = ½Re(p*·∇)E_loc + (μ0/2)Re(m*·∇)H_loc − k⁴/(12πε0c)
    Re(p × m*), ∇ acting on the local field at fixed moments.

    Args:
        particles: :class:`~jaxbind.optics.particles.Particles` (N particles).
        beam: incident beam (:mod:`jaxbind.optics.beams`).
        solver: as :func:`~jaxbind.optics.dipoles.solve_dipoles`.
        throw: raise on a failed solve; with ``throw=False`` a failed point's forces are NaN
            (read the code with :func:`~jaxbind.optics.dipoles.solve_dipoles` and
            :func:`dipole_forces` in sweeps).
    Particles whose scatterer model is not a
    :class:`~jaxbind.optics.scatterers.DipoleModel` (e.g. multipoles) are handed to
    ``particles.model.optical_forces(particles, beam, solver, throw=throw)``.

    Returns:
        (N, 3) forces in newtons.
    """
    legacy = _legacy(method, order, rtol, atol, max_steps, restart)
    ps = as_particles(particles)
    if not ps.dipolar:
        return _model_method(ps, "optical_forces")(
            ps, beam, _model_solver("optical_forces", solver, legacy), throw=throw)
    prob, sol = _solve("optical_forces", ps, beam, solver, legacy, throw)
    return _force_unit(prob) * _forces_scaled(prob, sol, beam)


@eqx.filter_jit
@highest_precision
def dipole_forces(particles: Particles | Particle | Sequence[Particle], beam: AbstractBeam,
                  solution: DipoleSolution) -> Float[Array, "n 3"]:
    """Forces (N, 3) in newtons from an existing :class:`DipoleSolution` (paper 003 eq. 3).

    NaN where the solution failed (its ``result`` says why).
    """
    prob = dipole_system(particles, beam, throw=False)
    return _force_unit(prob) * _forces_scaled(prob, solution, beam)


@eqx.filter_jit
@highest_precision
def optical_torques(particles: Particles | Particle | Sequence[Particle], beam: AbstractBeam,
                    solver: Direct | Born | GMRES | lx.AbstractLinearSolver | str | None = None, *,
                    throw: bool = True, method: str | None = None, order: int | None = None,
                    rtol: float | None = None, atol: float | None = None, max_steps: int | None = None,
                    restart: int | None = None
                    ) -> Float[Array, "n 3"]:
    """Time-averaged torque on every particle about its centre (paper 001 eq. 9b, dipole limit).

    T = ½Re(p* × E_loc) + (μ0/2)Re(m* × H_loc) − k³/(12πε0) Im(p* × p) − μ0k³/(12π) Im(m* × m):
    the last two terms are the radiation-reaction self field, so a lossless isotropic sphere
    feels no torque and an absorbing one in circularly polarized light feels σ_abs I/ω.

    Args: as :func:`optical_forces` (non-dipole models: ``particles.model.optical_torques``).
    Returns:
        (N, 3) torques in N·m.
    """
    legacy = _legacy(method, order, rtol, atol, max_steps, restart)
    ps = as_particles(particles)
    if not ps.dipolar:
        return _model_method(ps, "optical_torques")(
            ps, beam, _model_solver("optical_torques", solver, legacy), throw=throw)
    prob, sol = _solve("optical_torques", ps, beam, solver, legacy, throw)
    return (_force_unit(prob) / prob.k) * _torques_scaled(prob, sol)


@eqx.filter_jit
@highest_precision
def dipole_torques(particles: Particles | Particle | Sequence[Particle], beam: AbstractBeam,
                   solution: DipoleSolution) -> Float[Array, "n 3"]:
    """Torques (N, 3) in N·m from an existing :class:`DipoleSolution` (see optical_torques)."""
    prob = dipole_system(particles, beam, throw=False)
    return (_force_unit(prob) / prob.k) * _torques_scaled(prob, solution)


@eqx.filter_jit
@highest_precision
def isolated_forces(particles: Particles | Particle | Sequence[Particle], beam: AbstractBeam
                    ) -> Float[Array, "n 3"]:
    """Force (N, 3) in newtons on each particle alone in the beam, F_iso (paper 003 Sec. II)."""
    ps = as_particles(particles)
    if not ps.dipolar:
        return _model_isolated(ps, beam, None, False)
    prob = dipole_system(ps, beam, throw=False)
    return _force_unit(prob) * _isolated_scaled(prob, beam)


def _interparticle_scaled(fn, particles, beam, solver, legacy, throw):
    prob, sol = _solve(fn, particles, beam, solver, legacy, throw)
    grads = _incident_gradients(prob, beam)
    f = _forces_scaled(prob, sol, beam, grads) - _isolated_scaled(prob, beam, grads)
    return prob, _nan_unless_ok(f, sol)


@eqx.filter_jit
@highest_precision
def interparticle_forces(particles: Particles | Particle | Sequence[Particle], beam: AbstractBeam,
                         solver: Direct | Born | GMRES | lx.AbstractLinearSolver | str | None = None, *,
                         throw: bool = True, method: str | None = None, order: int | None = None,
                         rtol: float | None = None, atol: float | None = None, max_steps: int | None = None,
                         restart: int | None = None
                         ) -> Float[Array, "n 3"]:
    """Force due to the other particles, f_j = F_j − F_j,iso (paper 003 Sec. II).

    Arguments as :func:`optical_forces`. Returns (N, 3) newtons (NaN for a failed solve with
    ``throw=False``).
    """
    legacy = _legacy(method, order, rtol, atol, max_steps, restart)
    ps = as_particles(particles)
    if not ps.dipolar:
        solver = _model_solver("interparticle_forces", solver, legacy)
        F = _model_method(ps, "optical_forces")(ps, beam, solver, throw=throw)
        return F - _model_isolated(ps, beam, solver, throw)
    prob, f = _interparticle_scaled("interparticle_forces", ps, beam, solver, legacy, throw)
    return _force_unit(prob) * f


class NonReciprocity(eqx.Module):
    """Non-reciprocity factors of a particle pair A = particle 0, B = particle 1 (paper 003).

    Attributes:
        zeroth: (3,) NRF⁽⁰⁾_α for α = x, y, z (eq. 1).
        first: (2, 3, 3) NRF⁽¹⁾_{v, w_P}, indexed [P, v, w] with P = 0 (A), 1 (B) (eq. 2).
        f: (2, 3) interparticle forces f_A, f_B (N).
        jacobian: (2, 3, 2, 3) ∂f_{Q,v}/∂r_{P,w} (N/m), by forward-mode autodiff.
    Where a numerator and its denominator both vanish exactly (no interaction along that
    axis) the factor is reported as 0.
    """

    zeroth: Float[Array, "3"]
    first: Float[Array, "2 3 3"]
    f: Float[Array, "2 3"]
    jacobian: Float[Array, "2 3 2 3"]


def _ratio(s, d):
    den = jnp.abs(d) + jnp.abs(s)
    return jnp.where(den > 0, jnp.abs(s) / jnp.where(den > 0, den, 1.0), 0.0)


def nonreciprocity_from_jacobian(f, jac, unit) -> NonReciprocity:
    """NRF⁽⁰⁾, NRF⁽¹⁾ (paper 003 eqs. 1–2) from f (2, 3) and ∂f/∂r (2, 3, 2, 3) (any unit;
    ``unit`` converts f and the Jacobian to N and N/m)."""
    zeroth = _ratio(f[0] + f[1], f[0] - f[1])
    s = jac[0] + jac[1]  # (3 v, 2 P, 3 w)
    d = jac[0] - jac[1]
    first = jnp.transpose(_ratio(s, d), (1, 0, 2))
    return NonReciprocity(zeroth, first, unit * f, unit * jac)


@eqx.filter_jit
@highest_precision
def nonreciprocity_factors(particles: Particles | Particle | Sequence[Particle], beam: AbstractBeam,
                           solver: Direct | Born | GMRES | lx.AbstractLinearSolver | str | None = None, *,
                           throw: bool = True, method: str | None = None, order: int | None = None,
                           rtol: float | None = None, atol: float | None = None, max_steps: int | None = None,
                           restart: int | None = None
                           ) -> NonReciprocity:
    """Zeroth- and first-order non-reciprocity factors of two particles (paper 003 eqs. 1–2).

    NRF⁽⁰⁾_α = |α·(f_A + f_B)| / (|α·(f_A − f_B)| + |α·(f_A + f_B)|) and
    NRF⁽¹⁾_{v,w_P} the same with ∂/∂w_P of v·f (w_P = w·r_P); 0 reciprocal, ½ one-way,
    1 fully non-reciprocal. The derivatives are exact (``jax.jacfwd`` through the solve).

    Args:
        particles: exactly two particles (A = 0, B = 1).
        beam, solver, throw: as :func:`interparticle_forces`.
    Returns:
        :class:`NonReciprocity`.
    """
    ps = as_particles(particles)
    if ps.n != 2:
        raise ValueError(f"nonreciprocity_factors needs exactly 2 particles, got {ps.n}")
    legacy = _legacy(method, order, rtol, atol, max_steps, restart)
    if not ps.dipolar:
        solver = _model_solver("nonreciprocity_factors", solver, legacy)

        def f_model(pos):
            f = interparticle_forces(ps.with_positions(pos), beam, solver, throw=throw)
            return f, f

        jac, f = jax.jacfwd(f_model, has_aux=True)(ps.positions)
        return nonreciprocity_from_jacobian(f, jac, jnp.ones((), f.dtype))
    solver = resolve_solver("nonreciprocity_factors", solver, **legacy)

    def f_of(pos):
        prob, f = _interparticle_scaled("nonreciprocity_factors", ps.with_positions(pos), beam,
                                        solver, {}, throw)
        return f, (f, prob)

    jac, (f, prob) = jax.jacfwd(f_of, has_aux=True)(ps.positions)  # jac in F0 per metre
    return nonreciprocity_from_jacobian(f, jac, _force_unit(prob))


@eqx.filter_jit
@highest_precision
def stiffness_matrix(particles: Particles | Particle | Sequence[Particle], beam: AbstractBeam,
                     solver: Direct | Born | GMRES | lx.AbstractLinearSolver | str | None = None, *,
                     throw: bool = True, method: str | None = None, order: int | None = None,
                     rtol: float | None = None, atol: float | None = None, max_steps: int | None = None,
                     restart: int | None = None
                     ) -> Float[Array, "m m"]:
    """Optical stiffness K = −∂F/∂r of all particles (N/m), by ``jax.jacfwd`` through the solve.

    Args: as :func:`optical_forces`.
    Returns:
        (3N, 3N) real, K[3i + a, 3j + b] = −∂F_{i,a}/∂r_{j,b}; non-symmetric when the
        forces are non-conservative (paper 000 eq. 1, paper 001 eqs. 76–77).
    """
    ps = as_particles(particles)
    legacy = _legacy(method, order, rtol, atol, max_steps, restart)
    solver = (resolve_solver("stiffness_matrix", solver, **legacy) if ps.dipolar
              else _model_solver("stiffness_matrix", solver, legacy))

    def F(pos):
        return optical_forces(ps.with_positions(pos), beam, solver, throw=throw)

    n = ps.n
    return -jax.jacfwd(F)(ps.positions).reshape(3 * n, 3 * n)
