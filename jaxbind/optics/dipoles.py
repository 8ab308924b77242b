"""Self-consistent electric (+ magnetic) dipoles of N particles in an incident beam.

Coupled-dipole equations (paper 003 eq. 4 generalized to N particles and tensors; paper 001
eq. 28; paper 002 Fig. 2), in the scaled units of :mod:`jaxbind.constants`
(ρ = k r, p̃ = α̃_e Ẽ, m̃ = α̃_m H̃, H̃ = Z0 H/E0):

    p̃_i = α̃_e,i [Ẽ_inc(ρ_i) + Σ_{j≠i} g(ρ_i − ρ_j) p̃_j − gc(ρ_i − ρ_j) m̃_j]
    m̃_i = α̃_m,i [H̃_inc(ρ_i) + Σ_{j≠i} gc(ρ_i − ρ_j) p̃_j + g(ρ_i − ρ_j) m̃_j]

i.e. (1 − A M) x = A y with x = [p̃_1 … p̃_N, m̃_1 … m̃_N], A the block-diagonal polarizability,
M the interaction matrix of :func:`jaxbind.optics.green.coupled_green_matrix_scaled` (or
:func:`~jaxbind.optics.green.green_matrix_scaled` for electric dipoles only) and y the
incident fields at the particles.

Solvers (objects of :mod:`jaxbind.solvers`, settings on the object):

* :class:`~jaxbind.solvers.Direct` (default): dense LU through ``lineax`` (exact up to
  rounding); any dense ``lineax`` solver (e.g. ``lineax.LU()``) is accepted as well;
* :class:`~jaxbind.solvers.Born` ``(order=n)``: n scattering events, x⁽⁰⁾ = A y,
  x⁽ˢ⁾ = A (y + M x⁽ˢ⁻¹⁾) (paper 003 "one iteration of eq. (4)" is n = 1). The local field
  acting on the dipoles x⁽ⁿ⁾ is y + M x⁽ⁿ⁻¹⁾, so the moments that radiate the scattered field
  (``source_p``, ``source_m``) are the previous iterate; forces use both (paper 003 eqs. 3–4);
* :class:`~jaxbind.solvers.GMRES`: matrix-free restarted GMRES through ``lineax`` (O(N)
  memory, for large N); ``lineax.GMRES``/``BiCGStab`` are accepted as well.

Results (:mod:`jaxbind.results`): a point whose system cannot be solved (overlapping
particles, a singular system, GMRES not converged, non-finite input) has NaN moments and its
``result`` code; ``throw=True`` raises instead (naming the overlapping pair for N ≤ 24).

Every solver is differentiable w.r.t. positions, polarizabilities, wavelength and beam
parameters; the linear solves are differentiated implicitly by ``lineax`` (not unrolled).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx

from .._precision import highest_precision
from .. import constants as C
from typing import Sequence

from .._types import Array, Bool, Complex, Float, Inexact, Int
from ..results import RESULTS, code, message, index as result_index
from ..solvers import GMRES, Born, Direct, deprecated_method
from . import _propagator as P
from .green import coupled_green_matrix_scaled, green_matrix_scaled
from .beams import AbstractBeam, medium_index
from .particles import Particle, Particles, as_particles

__all__ = [
    "DipoleSolution",
    "DipoleSystem",
    "dipole_system",
    "solve_dipoles",
    "resolve_solver",
]

# Largest N for which an overlap error names the offending pair (one message per pair).
_NAMED_PAIRS_MAX_N = 24
# Observer chunk for the O(N²) matrix-free kernels (bounds memory at chunk·N·3 complex).
_CHUNK = 256
# lineax solvers that only need operator–vector products (used matrix-free).
_MATRIX_FREE = (lx.GMRES, lx.BiCGStab, lx.CG)


class DipoleSolution(eqx.Module):
    """Result of :func:`solve_dipoles` (scaled units, see :mod:`jaxbind.constants`).

    Attributes:
        p: (N, 3) complex scaled electric dipoles p̃ = k³p/(4πε0E0) (NaN if the solve failed).
        m: (N, 3) complex scaled magnetic dipoles m̃ = k³Z0 m/(4πE0), or None.
        source_p, source_m: the moments whose scattered fields make up the local field that
            acts on p, m (equal to p, m for the exact solvers; the previous Born iterate for
            :class:`~jaxbind.solvers.Born`).
        result: :data:`jaxbind.RESULTS` item (``successful``, ``overlap``, ``singular``,
            ``max_steps_reached`` (GMRES), …).
        residual: relative residual ‖(1 − AM)x − Ay‖/‖Ay‖ of the exact system (for Born it
            measures how far the truncated series is from self-consistency).
        k: wavenumber in the medium (rad/m); E0: reference field amplitude (V/m) of the beam.
        n_medium: real index of the host medium (ε = ε0 n², Z = Z0/n in the unit conversions).
    """

    p: Complex[Array, "n 3"]
    m: Complex[Array, "n 3"] | None
    source_p: Complex[Array, "n 3"]
    source_m: Complex[Array, "n 3"] | None
    result: RESULTS
    residual: Float[Array, ""]
    k: Float[Array, "..."]
    E0: Float[Array, "..."]
    n_medium: Float[Array, "..."] | float = 1.0

    @property
    def status(self):
        """int32 code of :attr:`result` (:func:`jaxbind.results.code`)."""
        return code(self.result)

    @property
    def dipole_moments(self):
        """(N, 3) complex electric dipole moments p (C·m): p = 4πε E0 p̃/k³, ε = ε0 n²."""
        return self.p * ((4.0 * jnp.pi * C.epsilon0) * self.n_medium**2 * self.E0 / self.k**3)

    @property
    def magnetic_moments(self):
        """(N, 3) complex magnetic dipole moments m (A·m²): m = 4π E0 m̃/(k³ Z), Z = Z0/n;
        or None."""
        if self.m is None:
            return None
        return self.m * ((4.0 * jnp.pi / C.Z0) * self.n_medium * self.E0 / self.k**3)


# --------------------------------------------------------------------------------------
# polarizability and matrix-free field helpers (shared with forces.py)
# --------------------------------------------------------------------------------------


def _apply_pol(alpha, v):
    """α v for α (K,) isotropic or (K, 3, 3) tensors and v (K, 3)."""
    if alpha.ndim == 1:
        return alpha[:, None] * v
    # elementwise product + sum: XLA's batched dot for 3×3 blocks is slow under vmap
    return jnp.sum(alpha * v[:, None, :], axis=-1)


def _stack_pol(ae, am):
    """One (K,) or (K,3,3) polarizability for the unknowns [p̃; m̃] (K = N or 2N)."""
    if am is None:
        return ae
    if ae.ndim != am.ndim:
        eye = jnp.eye(3, dtype=ae.dtype)
        ae = ae[:, None, None] * eye if ae.ndim == 1 else ae
        am = am[:, None, None] * eye if am.ndim == 1 else am
    return jnp.concatenate([ae, am], axis=0)


def _safe_separations(rho_i, rho_src, mask):
    """d = ρ_i − ρ_j (N,3), |d| and n with masked (self) entries replaced by a unit vector."""
    d = rho_i[None, :] - rho_src
    unit = jnp.zeros_like(d).at[:, 0].set(1.0)
    d = jnp.where(mask[:, None], d, unit)
    r = jnp.sqrt(jnp.sum(d * d, axis=-1))
    return d, r, d / r[:, None]


def _fields_at(rho_i, mask, rho_src, P_src, M_src):
    """Scattered (Ẽ, H̃) at ρ_i from dipoles P_src, M_src (N,3) at rho_src, sources where mask."""
    d, r, n = _safe_separations(rho_i, rho_src, mask)
    w = mask.astype(r.dtype)
    f1, f2, h = (P.evaluate(f, r) * w for f in (P.F1, P.F2, P.H))
    nP = jnp.sum(n * P_src, axis=-1)
    E = jnp.sum(f1[:, None] * P_src + (f2 * nP)[:, None] * n, axis=0)
    if M_src is None:
        return E, None
    nM = jnp.sum(n * M_src, axis=-1)
    E = E - jnp.sum(h[:, None] * jnp.cross(n, M_src), axis=0)
    H = jnp.sum(h[:, None] * jnp.cross(n, P_src) + f1[:, None] * M_src + (f2 * nM)[:, None] * n,
                axis=0)
    return E, H


def _scattered_fields(rho, P_src, M_src):
    """Scattered (Ẽ, H̃) (N,3) at every particle from all the others, matrix-free, chunked."""
    n = rho.shape[0]
    idx = jnp.arange(n)

    def one(args):
        rho_i, i = args
        E, H = _fields_at(rho_i, idx != i, rho, P_src, M_src)
        return E, (jnp.zeros_like(E) if H is None else H)

    E, H = _map_rows(one, (rho, idx), n)
    return E, (None if M_src is None else H)


def _map_rows(f, xs, n):
    """vmap over observers; chunked with lax.map for large N to bound memory (chunk·N·3)."""
    if n <= _CHUNK:
        return jax.vmap(f)(xs)
    return jax.lax.map(f, xs, batch_size=_CHUNK)


def _overlap(rho, radii_scaled):
    """(any_overlap, flat index i*N + j of the worst pair) for particles of scaled radii."""
    n = rho.shape[0]
    d = rho[:, None, :] - rho[None, :, :]
    dist2 = jnp.sum(d * d, axis=-1)
    reach = radii_scaled[:, None] + radii_scaled[None, :]
    upper = jnp.triu(jnp.ones((n, n), dtype=bool), k=1)
    gap = jnp.where(upper, dist2 - reach**2, jnp.inf)
    worst = jnp.argmin(gap)
    return jnp.any(gap < 0), worst


def _pair_messages(n):
    msgs = []
    for flat in range(n * n):
        i, j = divmod(flat, n)
        msgs.append(f"solve_dipoles: particles {i} and {j} overlap (centre distance < sum of radii)")
    return msgs


# --------------------------------------------------------------------------------------
# the coupled-dipole system (one place; solve_dipoles, forces and the exact linearization
# of jaxbind.mechanics use it)
# --------------------------------------------------------------------------------------


class DipoleSystem(eqx.Module):
    """The scaled coupled-dipole system (1 − A M) x = A y of N particles in a beam.

    Attributes:
        rho: (N, 3) scaled positions ρ = k r (a spread-out substitute where ``overlap``, so
            that every derivative stays finite; the solution there is reported as NaN).
        y: (K, 3) incident fields at the particles, Ẽ (K = N) or [Ẽ; H̃] (K = 2N).
        alpha: (K,) or (K, 3, 3) scaled polarizabilities of the unknowns.
        magnetic: whether the unknowns include magnetic dipoles (static).
        overlap: bool, two particles overlap; worst: flat index i·N + j of the closest pair.
        k: wavenumber in the medium (rad/m); E0: reference amplitude (V/m) of the beam.
        n_medium: real index of the host medium (the beam's ``n_medium``).
    """

    rho: Float[Array, "n 3"]
    y: Complex[Array, "K 3"]
    alpha: Inexact[Array, " K"] | Inexact[Array, "K 3 3"]
    magnetic: bool = eqx.field(static=True)
    overlap: Bool[Array, ""]
    worst: Int[Array, ""]
    k: Float[Array, "..."]
    E0: Float[Array, "..."]
    n_medium: Float[Array, "..."] | float = 1.0

    @property
    def n(self) -> int:
        return self.rho.shape[0]

    def interaction_matrix(self) -> Array:
        """M (3K, 3K): scattered fields (Ẽ[, H̃]) = M x (green.py)."""
        return coupled_green_matrix_scaled(self.rho) if self.magnetic else green_matrix_scaled(self.rho)

    def matrix(self, M: Array | None = None) -> Array:
        """1 − A M as a dense (3K, 3K) matrix (M from :meth:`interaction_matrix` if None)."""
        M = self.interaction_matrix() if M is None else M
        K = self.y.shape[0]
        if self.alpha.ndim == 1:
            AM = jnp.repeat(self.alpha, 3)[:, None] * M
        else:
            AM = jnp.einsum("kab,kbm->kam", self.alpha, M.reshape(K, 3, 3 * K)).reshape(3 * K, 3 * K)
        return jnp.eye(3 * K, dtype=AM.dtype) - AM

    def interaction(self, x: Array) -> Array:
        """M x for x (K, 3), matrix-free (O(N) memory)."""
        n = self.n
        if self.magnetic:
            E, H = _scattered_fields(self.rho, x[:n], x[n:])
            return jnp.concatenate([E, H], axis=0)
        E, _ = _scattered_fields(self.rho, x, None)
        return E

    def apply(self, x: Array) -> Array:
        """(1 − A M) x for x (K, 3), matrix-free."""
        return x - _apply_pol(self.alpha, self.interaction(x))

    def rhs(self) -> Array:
        """A y (K, 3): the isolated (single-scattering) moments."""
        return _apply_pol(self.alpha, self.y)


def dipole_system(particles: Particles | Sequence[Particle], beam: AbstractBeam, *,
                  throw: bool = True) -> DipoleSystem:
    """The scaled coupled-dipole system of ``particles`` in ``beam`` (module docstring).

    Args:
        particles: :class:`~jaxbind.optics.particles.Particles` (or a sequence of
            :class:`~jaxbind.optics.particles.Particle`).
        beam: any beam of :mod:`jaxbind.optics.beams`.
        throw: raise on overlapping particles (naming the pair for N ≤ 24); with
            ``throw=False`` an overlapping configuration is replaced by a spread-out one and
            flagged in ``overlap``.
    """
    ps = as_particles(particles)
    rdt = ps.positions.dtype
    k = jnp.asarray(beam.k).astype(rdt)
    E0 = jnp.asarray(beam.reference_amplitude).astype(rdt)
    nm = jnp.asarray(medium_index(beam)).astype(rdt)
    rho = ps.positions * k
    overlap, worst = _overlap(rho, ps.radii.astype(rdt) * k)
    n = ps.n
    if throw:
        if n <= _NAMED_PAIRS_MAX_N:
            rho = eqx.branched_error_if(rho, overlap, worst, _pair_messages(n))
        else:
            rho = eqx.error_if(rho, overlap, "solve_dipoles: " + message(code(RESULTS.overlap)))
    # Overlapping (possibly coincident) particles make the Green tensors singular: evaluate a
    # harmless spread-out configuration (finite derivatives); the solution is NaN there.
    spread = jnp.zeros_like(rho).at[:, 0].set(10.0 * jnp.arange(n, dtype=rdt))
    rho = jnp.where(overlap, spread, rho)
    ae, am = ps.polarizabilities_scaled(k, nm)
    magnetic = am is not None
    E_inc, H_inc = jax.vmap(beam.fields_scaled)(rho)
    y = jnp.concatenate([E_inc, H_inc], axis=0) if magnetic else E_inc
    return DipoleSystem(rho, y, _stack_pol(ae, am), magnetic, overlap, worst, k, E0, nm)


# --------------------------------------------------------------------------------------
# solvers
# --------------------------------------------------------------------------------------

_STRING_SOLVERS = ("direct", "born", "gmres")


def resolve_solver(fn: str, solver, *, method=None, order=None, rtol=None, atol=None,
                   max_steps=None, restart=None):
    """A solver object from ``solver`` (object, None = Direct(), or a deprecated string with
    its old keyword settings); the keyword settings are only accepted with a string. The
    deprecated keyword ``method=`` is the old name of ``solver``."""
    if method is not None:
        if solver is not None:
            raise TypeError(f"{fn}: give solver= or the deprecated method=, not both")
        solver = method
    legacy = {k: v for k, v in dict(order=order, rtol=rtol, atol=atol, max_steps=max_steps,
                                    restart=restart).items() if v is not None}
    if isinstance(solver, str):
        if solver not in _STRING_SOLVERS:
            raise ValueError(f"{fn}: solver must be a solver object (jaxbind.solvers.Direct(), "
                             f"Born(order), GMRES(...)) or one of {_STRING_SOLVERS}, got {solver!r}")
        if solver == "direct":
            new = Direct()
        elif solver == "born":
            new = Born(order=1 if order is None else order)
        else:
            new = GMRES(**{k: legacy[k] for k in ("rtol", "atol", "max_steps", "restart") if k in legacy})
        deprecated_method(fn, solver, repr(new))
        return new
    if legacy:
        raise TypeError(f"{fn}: {sorted(legacy)} are settings of the solver object, e.g. "
                        "solver=jaxbind.solvers.Born(order=2) or GMRES(rtol=..., max_steps=...)")
    if solver is None:
        return Direct()
    if isinstance(solver, (Direct, Born, GMRES, lx.AbstractLinearSolver)):
        return solver
    raise TypeError(f"{fn}: solver must be Direct(), Born(order), GMRES(...) or a lineax "
                    f"linear solver, got {type(solver).__name__}")


def _rel_residual(r, b):
    nb = jnp.sqrt(jnp.sum(jnp.abs(b) ** 2))
    return jnp.sqrt(jnp.sum(jnp.abs(r) ** 2)) / jnp.where(nb > 0, nb, 1.0)


_SPECIFIC = {
    result_index(RESULTS.max_steps_reached): "the iterative solver did not converge (raise "
    "GMRES(max_steps=...) or use Direct())",
    result_index(RESULTS.singular): "singular or ill-posed system (non-finite or inaccurate solution)",
}


def _messages(fn):
    """Error message per result code, prefixed with the public function's name."""
    return [f"{fn}: " + _SPECIFIC.get(i, (m or "successful").split("\n")[0])
            for i, m in enumerate(RESULTS._index_to_message)]


def linear_solve(solver, b, apply, matrix):
    """(x, lineax result) of M x = b for a flat right-hand side ``b`` — the one dispatch of
    solver objects to lineax, shared by the coupled-dipole and multipole engines.

    ``apply`` (flat → flat, x ↦ M x) serves :class:`~jaxbind.solvers.GMRES` and matrix-free
    lineax solvers; ``matrix()`` (dense M, built only when needed) serves
    :class:`~jaxbind.solvers.Direct` (``lineax.LU``) and any other lineax solver.
    """
    if isinstance(solver, (GMRES, *_MATRIX_FREE)):
        op = lx.FunctionLinearOperator(apply, jax.ShapeDtypeStruct(b.shape, b.dtype))
        lsolver = solver.lineax(b.size) if isinstance(solver, GMRES) else solver
    else:
        op = lx.MatrixLinearOperator(matrix())
        lsolver = lx.LU() if isinstance(solver, Direct) else solver
    sol = lx.linear_solve(op, b, solver=lsolver, throw=False)
    return sol.value, sol.result


def classify_solution(x, residual, b, result, solver, *, throw: bool, fn: str, dtype):
    """The one result rule of a coupled solve: (x NaN unless successful, result).

    ``result`` enters as the overlap/lineax verdict. A non-finite solution or residual, or (for
    a direct solve, which is backward stable) a residual above √eps, is ``singular``; an
    iterative solver that reports success must also meet its own tolerance
    ‖r‖ ≤ atol + rtol‖b‖ (lineax's GMRES returns x = 0 and "successful" for atol = 0 in some
    cases), else ``breakdown``. Born iterations (``solver`` a :class:`Born`) are judged only
    on finiteness. With ``throw`` the error check is attached after the NaN mask (a check on
    a value a later ``where`` discards can be folded away).
    """
    iterative = isinstance(solver, (GMRES, *_MATRIX_FREE))
    eps = jnp.finfo(dtype).eps
    bad = ~(jnp.all(jnp.isfinite(x)) & jnp.isfinite(residual))
    if not iterative and not isinstance(solver, Born):
        bad = bad | (residual > jnp.sqrt(eps))
    result = RESULTS.where((result == RESULTS.successful) & bad, RESULTS.singular, result)
    if iterative:
        rtol = getattr(solver, "rtol", 0.0)
        atol = getattr(solver, "atol", 0.0)
        nb = jnp.sqrt(jnp.sum(jnp.abs(b) ** 2))
        allowed = 10.0 * (rtol + atol / jnp.where(nb > 0, nb, 1.0)) + 100.0 * eps
        result = RESULTS.where((result == RESULTS.successful) & (residual > allowed),
                               RESULTS.breakdown, result)
    ok = result == RESULTS.successful
    x = jnp.where(ok, x, jnp.asarray(jnp.nan, x.dtype))
    if throw:
        x = eqx.branched_error_if(x, ~ok, code(result), _messages(fn))
    return x, result


def _solve_system(system: DipoleSystem, solver, *, throw: bool, fn: str = "solve_dipoles"):
    """Solve ``system`` with a solver object; the one coupled-dipole solve of jaxbind."""
    K = system.y.shape[0]
    b = system.rhs()  # A y, (K, 3)
    result = RESULTS.where(system.overlap, RESULTS.overlap, RESULTS.successful)
    if isinstance(solver, Born):
        def step(_, carry):
            _, cur = carry
            return cur, b + _apply_pol(system.alpha, system.interaction(cur))

        src, x = jax.lax.fori_loop(0, solver.order, step, (jnp.zeros_like(b), b))
    else:
        xf, lres = linear_solve(solver, b.reshape(-1),
                                lambda v: system.apply(v.reshape(K, 3)).reshape(-1),
                                system.matrix)
        x = src = xf.reshape(K, 3)
        result = RESULTS.where(result == RESULTS.successful, RESULTS.promote(lres), result)
    residual = _rel_residual(system.apply(x) - b, b)
    x, result = classify_solution(x, residual, b, result, solver, throw=throw, fn=fn,
                                  dtype=system.rho.dtype)
    src = jnp.where(result == RESULTS.successful, src, jnp.asarray(jnp.nan, src.dtype))
    n = system.n
    if system.magnetic:
        p, m, sp, sm = x[:n], x[n:], src[:n], src[n:]
    else:
        p, m, sp, sm = x, None, src, None
    return DipoleSolution(p, m, sp, sm, result, residual, system.k, system.E0, system.n_medium)


@eqx.filter_jit
@highest_precision
def solve_dipoles(
    particles: Particles | Sequence[Particle],
    beam: AbstractBeam,
    solver: Direct | Born | GMRES | lx.AbstractLinearSolver | str | None = None,
    *,
    throw: bool = True,
    method: str | None = None,
    order: int | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int | None = None,
    restart: int | None = None,
) -> DipoleSolution:
    """Self-consistent dipole moments of N particles in a beam (paper 003 eq. 4, N-particle).

    Args:
        particles: :class:`~jaxbind.optics.particles.Particles` (or a sequence of
            :class:`~jaxbind.optics.particles.Particle`); positions (N, 3) m, radii (N,) m,
            polarizabilities scalar or tensor, electric or electric + magnetic.
        beam: any beam of :mod:`jaxbind.optics.beams` (``k``, ``reference_amplitude``,
            ``fields_scaled``).
        solver: :class:`~jaxbind.solvers.Direct` (default, dense LU),
            :class:`~jaxbind.solvers.Born` ``(order)`` or :class:`~jaxbind.solvers.GMRES`
            ``(rtol, atol, max_steps, restart)`` (matrix-free), or a ``lineax`` solver.
            The strings "direct" / "born" / "gmres" (also as ``method=``) with the keyword
            settings ``order``, ``rtol``, ``atol``, ``max_steps``, ``restart`` are deprecated.
        throw: raise (``EquinoxRuntimeError``, naming the overlapping pair for N ≤ 24) on a
            failed solve; use ``throw=False`` inside sweeps and read ``result``.
    Returns:
        :class:`DipoleSolution` (scaled moments, result, relative residual, k, E0).
    """
    solver = resolve_solver("solve_dipoles", solver, method=method, order=order, rtol=rtol, atol=atol,
                            max_steps=max_steps, restart=restart)
    system = dipole_system(particles, beam, throw=throw)
    return _solve_system(system, solver, throw=throw)
