"""Small truncated Fock-space master equations (paper 004 eq. 3), for validation.

Master equation (paper 004 eq. 3), for a possibly non-Hermitian H and jump operators x_k with
rates r_k ≥ 0:

    dρ/dt = −i(Hρ − ρH†) + i Tr[ρ(H − H†)] ρ + Σ_k r_k D_{x_k} ρ,
    D_x ρ = 2xρx† − x†xρ − ρx†x.

With this D_x a rate r damps the amplitude ⟨x⟩ at r and the energy at 2r (QuTiP's collapse
operator for r D_x is √(2r) x).  The trace-correction term is nonlinear; it makes ρ(t) the
*normalized* solution of the linear equation σ̇ = L₀σ without it (L₀σ = −i(Hσ − σH†) + Σ r D σ):
ρ = σ/Tr σ solves eq. 3 exactly.  Hence the steady state of eq. 3 is the eigenvector of L₀
with the largest real eigenvalue μ (real, with a positive semi-definite eigenvector, by the
Perron–Frobenius theorem for completely positive semigroups), normalized to unit trace; μ is
the growth rate of Tr σ and vanishes for Hermitian H.  Paper 004 Appendix A argues that the
trace correction vanishes because ⟨a†b − ab†⟩ = 0; that is true of any phase-averaged
*product* state but not of the correlated steady state, where 2 Im⟨a†b⟩ is exactly the A–B
phonon current, so μ ≠ 0 in general (``FockSteadyState.growth_rate`` reports it).

Steady state (``steady_state``, one entry point, the solver an object): Newton's method on
the eigenpair (ρ, μ) with Tr ρ = 1, bordered Jacobian [[L₀ − μ, −ρ], [Tr, 0]], each step one
lineax solve — :class:`~jaxbind.solvers.Direct` (dense LU of the materialized Liouvillian),
:class:`~jaxbind.solvers.GMRES` (matrix-free, unpreconditioned) or
:class:`~jaxbind.solvers.BlockGMRES` (matrix-free on the charge blocks, preconditioned:
:mod:`jaxbind.quantum.fock_iterative`).  It starts from the trace-constrained linear solution of L₀ρ = 0 (the
paper's row-replacement method, exact for Hermitian H).  When the model conserves an integer
charge (total excitation number for the RWA beam-splitter model of eq. 2) only the block
q_i = q_j of ρ is kept: it is invariant under L₀ and holds the steady state, which cuts the
unknowns from n² to Σ_q d_q² (e.g. 36 864 → 2 376 for dims (8, 8, 3)).

Validity checks of Sec. IV (``diagnostics``): trace, minimum diagonal element, smallest
eigenvalue of the Hermitian part, and truncation: the population of each mode's top Fock
level must stay below ``tol`` (result ``RESULTS.fock_truncation`` otherwise).

Units: frequencies in any consistent unit (paper 004: ω = 1); time in its inverse.
Dense states are (n, n) complex matrices over the tensor-product basis, first mode slowest
(``jnp.kron`` order).  Limits: dense LU up to a few thousand unknowns (dims ≲ 8 per mode for
three modes); ``GMRES()`` is unpreconditioned and converges slowly for strongly separated
rates — for large truncations use ``BlockGMRES()``.  Steady states run a ``while_loop`` (no
reverse-mode autodiff; jit/vmap ok).

Operators, the model and the shared steady-state core live in
:mod:`jaxbind.quantum.fock_model` and are re-exported here.
"""

from __future__ import annotations

import math
import warnings

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optimistix as optx
from equinox._enum import EnumerationItem  # results from integer codes (see _from_diffrax)

from .._entry import compiled_entry
from .._precision import highest_precision
from .._checks import as_float_array
from .._types import Array, ArrayLike, Complex, Float, Int
from ..results import RESULTS, code
from ..solvers import GMRES, BlockGMRES, Direct, deprecated_method
from ._compat import deprecated_codes
from .fock_iterative import block_steady_state
from .fock_model import (  # noqa: F401  (re-exported: the public home of the Fock layer)
    FockModel,
    FockSteadyState,
    _bordered_newton,
    _cdtype,
    _finish,
    _generator,
    _steady_result,
    destroy,
    diagnostics,
    dissipator,
    embed,
    expect,
    fock_state,
    liouvillian_apply,
    mode_operators,
    number,
    occupations,
    thermal_state,
    three_mode_model,
    top_populations,
)

__all__ = [
    "FockModel",
    "FockSteadyState",
    "FockEvolution",
    "destroy",
    "number",
    "embed",
    "mode_operators",
    "fock_state",
    "thermal_state",
    "dissipator",
    "expect",
    "three_mode_model",
    "liouvillian_apply",
    "liouvillian_matrix",
    "sector_pairs",
    "top_populations",
    "diagnostics",
    "occupations",
    "evolve",
    "steady_state",
]

#: deprecated integer statuses (one release): the codes of the RESULTS items
__getattr__ = deprecated_codes(__name__, {
    "STATUS_OK": "successful", "STATUS_TRUNCATION": "fock_truncation",
    "STATUS_NOT_POSITIVE": "not_positive", "STATUS_TRACE": "trace_not_preserved",
    "STATUS_NOT_CONVERGED": "nonlinear_max_steps_reached"})


# --------------------------------------------------------------------------------------
# dynamics
# --------------------------------------------------------------------------------------


class FockEvolution(eqx.Module):
    """Output of ``evolve`` at the requested times: expectation values (t, m) of the given
    observables (real parts), and eq. 3's validity checks per time: trace (t,), minimum
    diagonal element (t,), smallest eigenvalue of the Hermitian part (t,), top-Fock-level
    population of every mode (t, modes); plus the final state (n, n), and ``result`` (the
    ODE solver's, as a :data:`jaxbind.results.RESULTS` item; all outputs NaN unless
    successful)."""

    expect: Float[Array, "t m"]
    trace: Float[Array, " t"]
    min_diag: Float[Array, " t"]
    min_eig: Float[Array, " t"]
    top_population: Float[Array, "t modes"]
    rho_final: Complex[Array, "n n"]
    result: RESULTS


def _from_diffrax(r) -> RESULTS:
    # diffrax.RESULTS extends optimistix.RESULTS (same codes); its own items (dt_min_reached,
    # event_occurred, max_steps_rejected, internal_error) have no jaxbind counterpart → the
    # nonlinear solver's "divergence"
    n_shared = len(optx.RESULTS._index_to_message)
    v = jnp.asarray(r._value, jnp.int32)
    return EnumerationItem(jnp.where(v < n_shared, v, code(RESULTS.nonlinear_divergence)), RESULTS)



@compiled_entry  # eager call: one program (throw=True raises on the host from its result)
@highest_precision
def evolve(model: FockModel, rho0: Complex[ArrayLike, "n n"], ts: Float[ArrayLike, " t"],
           observables: Complex[ArrayLike, "m n n"] | None = None, *, rtol: float = 1e-7,
           atol: float = 1e-9, max_steps: int = 1_000_000, throw: bool = True) -> FockEvolution:
    """Integrate paper 004 eq. 3 with diffrax (adaptive Tsit5, ρ split into real and
    imaginary parts so diffrax sees real numbers).

    Args:
        model: the master equation.
        rho0: (n, n) initial density matrix (trace 1).
        ts: (t,) increasing output times; ts[0] is the initial time.
        observables: (m, n, n) operators whose ⟨·⟩ is recorded (default: each mode's number).
        throw: raise if the ODE solver fails; False returns NaN outputs and its result.
    Returns:
        ``FockEvolution`` (validity diagnostics at every output time).
    """
    if not isinstance(model, FockModel):
        raise TypeError(f"model must be a FockModel, got {type(model).__name__}")
    ts = as_float_array(ts, "ts")
    rho0 = jnp.asarray(rho0, model.hamiltonian.dtype)
    n = model.hamiltonian.shape[0]
    if rho0.shape != (n, n):
        raise ValueError(f"rho0 must have shape {(n, n)}, got {rho0.shape}")
    if observables is None:
        observables = jnp.stack([o.conj().T @ o for o in mode_operators(model.dims,
                                                                          rho0.dtype)])
    observables = jnp.asarray(observables, rho0.dtype)
    ts = ts.astype(jnp.real(rho0).dtype)

    def rhs(t, y, args):
        d = liouvillian_apply(model, y[0] + 1j * y[1])
        return jnp.stack([d.real, d.imag])

    def save(t, y, args):
        rho = y[0] + 1j * y[1]
        herm = (rho + rho.conj().T) / 2
        return (jnp.real(jnp.einsum("mij,ji->m", observables, rho)), jnp.real(jnp.trace(rho)),
                jnp.min(jnp.real(jnp.diagonal(rho))), jnp.linalg.eigvalsh(herm)[0],
                top_populations(rho, model.dims))

    y0 = jnp.stack([rho0.real, rho0.imag])
    saveat = diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=ts, fn=save), diffrax.SubSaveAt(t1=True)])
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(rhs), diffrax.Tsit5(), ts[0], ts[-1], None, y0, saveat=saveat,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps, throw=throw)
    (ex, tr, md, me, tp), yf = sol.ys
    result = _from_diffrax(sol.result)
    ok = result == RESULTS.successful
    nan = lambda x: jnp.where(ok, x, jnp.nan)  # noqa: E731
    return FockEvolution(nan(ex), nan(tr), nan(md), nan(me), nan(tp),
                         nan(yf[0, 0] + 1j * yf[0, 1]), result)



# --------------------------------------------------------------------------------------
# steady state
# --------------------------------------------------------------------------------------


def _pairs(model: FockModel, sector: bool):
    n = math.prod(model.dims)
    if sector:
        if model.charges is None:
            raise ValueError("sector=True needs a model with charges (e.g. three_mode_model)")
        q = np.asarray(model.charges)
        ip, jp = np.nonzero(q[:, None] == q[None, :])
    else:
        ip, jp = np.divmod(np.arange(n * n), n)
    return ip, jp


def liouvillian_matrix(model: FockModel, *, sector: bool = False) -> Complex[Array, "p p"]:
    """Dense matrix of the linear part L₀ of paper 004 eq. 3 (no trace correction) acting on
    the row-major vector of ρ — restricted to the charge-diagonal block (pairs (i, j) with
    q_i = q_j, see ``sector_pairs``) when ``sector``.  Size P² with P = n² or Σ d_q²."""
    ip, jp = _pairs(model, sector)
    K = _generator(model)
    di = jnp.asarray(ip[:, None] == ip[None, :])
    dj = jnp.asarray(jp[:, None] == jp[None, :])
    m = K[ip[:, None], ip[None, :]] * dj + di * K[jp[:, None], jp[None, :]].conj()
    for k in range(model.jump_ops.shape[0]):
        x = model.jump_ops[k]
        m = m + 2 * model.rates[k] * x[ip[:, None], ip[None, :]] * x[jp[:, None], jp[None, :]].conj()
    return m


def sector_pairs(model: FockModel, sector: bool = True
                 ) -> tuple[Int[np.ndarray, " p"], Int[np.ndarray, " p"]]:
    """Row/column indices (i_p, j_p) of the unknowns used by the steady-state solver."""
    return _pairs(model, sector)



def _resolve_fock_solver(solver, method, gmres_rtol, gmres_max_steps):
    if method is not None:
        if solver is not None:
            raise ValueError("steady_state: pass either solver= or the deprecated method=, not both")
        if method not in ("dense", "gmres"):
            raise ValueError(f"method must be 'dense' or 'gmres', got {method!r}")
        if method == "dense":
            deprecated_method("steady_state", method, "jaxbind.solvers.Direct()")
            solver = Direct()
        else:
            deprecated_method("steady_state", method, "jaxbind.solvers.GMRES(...)")
            rt = 1e-10 if gmres_rtol is None else gmres_rtol  # the old defaults
            solver = GMRES(rtol=rt, atol=rt * 1e-3,
                           max_steps=2000 if gmres_max_steps is None else gmres_max_steps,
                           restart=50)
            gmres_rtol = gmres_max_steps = None
    if gmres_rtol is not None or gmres_max_steps is not None:
        warnings.warn("steady_state(gmres_rtol=..., gmres_max_steps=...) are deprecated; set "
                      "rtol/max_steps on the solver object (jaxbind.solvers.GMRES(...))",
                      DeprecationWarning, stacklevel=3)
        if isinstance(solver, (GMRES, BlockGMRES)):
            solver = eqx.tree_at(lambda s: (s.rtol, s.max_steps), solver,
                                 (solver.rtol if gmres_rtol is None else gmres_rtol,
                                  solver.max_steps if gmres_max_steps is None else gmres_max_steps))
    if solver is None:
        return Direct(), None
    if isinstance(solver, lx.GMRES):  # a lineax GMRES acts like GMRES (matrix-free)
        return GMRES(rtol=solver.rtol, atol=solver.atol, max_steps=solver.max_steps,
                     restart=solver.restart), None
    if isinstance(solver, lx.AbstractLinearSolver):  # a dense lineax solver acts like Direct
        return Direct(), solver
    if not isinstance(solver, (Direct, GMRES, BlockGMRES)):
        raise TypeError("solver must be None, jaxbind.solvers.Direct(), GMRES(), BlockGMRES() or a "
                        f"lineax.AbstractLinearSolver, got {type(solver).__name__}")
    return solver, None


@compiled_entry(tolerate=(RESULTS.fock_truncation,),
                inline_if=lambda b: isinstance(b.arguments["solver"], str) or any(
                    b.arguments[k] is not None for k in ("method", "gmres_rtol", "gmres_max_steps")))
@highest_precision
def steady_state(model: FockModel, solver: Direct | GMRES | BlockGMRES | lx.AbstractLinearSolver
                 | None = None, *, sector: bool | None = None,
                 rho0: Complex[ArrayLike, "n n"] | None = None, tol: float | None = None,
                 max_newton: int | None = None, max_inverse_iterations: int = 20_000,
                 truncation_tol: float = 1e-3, positivity_tol: float | None = None,
                 throw: bool = True, method: str | None = None, gmres_rtol: float | None = None,
                 gmres_max_steps: int | None = None) -> FockSteadyState:
    """Steady state of paper 004 eq. 3: the eigenvector of L₀ with the largest real
    eigenvalue μ, unit trace (module docstring), with lineax solves.

    ``Direct()`` (default): materialized Liouvillian block; shifted inverse iteration
    v ← (L₀ − σ)⁻¹v with one LU (lineax, factorization reused) and a real shift σ above the
    bound μ ≤ λ_max(−i(H − H†)) — since |σ − λ| ≥ σ − Re λ ≥ σ − μ for every eigenvalue λ it
    converges to the dominant eigenvector and never to a spurious one — then Newton on the
    bordered eigenproblem [[L₀ − μ, −ρ], [Tr, 0]] to machine precision.
    ``GMRES(rtol, atol, max_steps, restart)``: matrix-free; Newton only (lineax GMRES per
    step), started from ``rho0`` (e.g. the final state of ``evolve``) or from the
    trace-constrained solution of L₀ρ = 0 (exact for Hermitian H); a non-positive result
    (another eigenvector) gets ``RESULTS.not_positive``.
    ``BlockGMRES(...)``: matrix-free on the charge blocks with the no-jump preconditioner
    (:mod:`jaxbind.quantum.fock_iterative`; needs ``model.charges``) — for truncations too
    large for a dense Liouvillian.

    Args:
        model: the master equation.
        solver: ``Direct()``, ``GMRES(...)``, ``BlockGMRES(...)`` (settings on the object), a
            dense ``lineax`` solver (used for Direct's LU) or ``lineax.GMRES`` (as GMRES).
        sector: keep only the charge-diagonal block (default: when the model has charges;
            BlockGMRES always works on the blocks).
        rho0: optional (n, n) starting state for Newton (GMRES, BlockGMRES).
        tol: relative residual ‖L₀ρ − μρ‖∞/max|L₀| for convergence (default 1e2·eps).
        max_newton: Newton steps (default 20; 10 after BlockGMRES's first solve).
        max_inverse_iterations: inverse-iteration cap (Direct).
        truncation_tol: top-Fock-level population above which the result is
            ``RESULTS.fock_truncation``.
        positivity_tol: min eigenvalue below −tol → ``RESULTS.not_positive`` (default
            1e4·eps).
        throw: raise (with the RESULTS message) on non-convergence, non-positivity or trace
            errors; truncation only sets the result (it is what convergence studies look for).
        method, gmres_rtol, gmres_max_steps: deprecated (warn): ``method="dense"`` →
            ``Direct()``, ``"gmres"`` → ``GMRES(rtol=gmres_rtol, max_steps=gmres_max_steps)``.
    Returns:
        :class:`~jaxbind.quantum.fock_model.FockSteadyState`.
    """
    if not isinstance(model, FockModel):
        raise TypeError(f"model must be a FockModel, got {type(model).__name__}")
    solver, dense_solver = _resolve_fock_solver(solver, method, gmres_rtol, gmres_max_steps)
    if isinstance(solver, BlockGMRES):
        return block_steady_state(model, solver, rho0=rho0, tol=tol,
                                  max_newton=10 if max_newton is None else max_newton,
                                  truncation_tol=truncation_tol,
                                  positivity_tol=positivity_tol, throw=throw)
    max_newton = 20 if max_newton is None else max_newton
    sector = model.charges is not None if sector is None else sector
    ip, jp = _pairs(model, sector)
    n = math.prod(model.dims)
    P = ip.size
    cd = model.hamiltonian.dtype
    eps = float(jnp.finfo(cd).eps)
    tol = 1e2 * eps if tol is None else tol
    positivity_tol = 1e4 * eps if positivity_tol is None else positivity_tol
    t = jnp.asarray(ip == jp, cd)  # trace functional on the unknowns
    K = _generator(model)
    scale = jnp.max(jnp.abs(K)) + 2 * jnp.sum(model.rates * jnp.max(jnp.abs(model.jump_ops),
                                                                     axis=(1, 2)) ** 2)
    dense = isinstance(solver, Direct)
    lu = lx.LU() if dense_solver is None else dense_solver
    if dense:
        M = liouvillian_matrix(model, sector=sector)
        scale = jnp.max(jnp.abs(M))
        matvec = lambda v: M @ v  # noqa: E731
    else:
        def matvec(v):
            rho = jnp.zeros((n, n), cd).at[ip, jp].set(v)
            return liouvillian_apply(model, rho, trace_correction=False)[ip, jp]

    def solve(op_fn, rhs, a_mat):
        if dense:
            sol = lx.linear_solve(lx.MatrixLinearOperator(a_mat), rhs, lu, throw=False)
        else:
            op = lx.FunctionLinearOperator(op_fn, jax.ShapeDtypeStruct((rhs.size,), cd))
            sol = lx.linear_solve(op, rhs, solver.lineax(rhs.size), throw=False)
        return sol.value, RESULTS.promote(sol.result)

    def resid(v, mu):
        return jnp.max(jnp.abs(matvec(v) - mu * v)) / scale

    if dense:
        h = model.hamiltonian
        bound = jnp.linalg.eigvalsh(-1j * (h - h.conj().T))[-1]
        sigma = bound + 1e-2 * scale
        op = lx.MatrixLinearOperator(M - sigma * jnp.eye(P, dtype=cd))
        state = lu.init(op, {})
        u = jnp.where(t != 0, 1.0, 0.0).astype(cd) / n

        def icond(st):
            v, k, dv = st
            return (k < max_inverse_iterations) & (dv > 10 * tol)

        def ibody(st):
            v, k, _ = st
            w = lx.linear_solve(op, v, lu, state=state, throw=False).value
            w = w / (t @ w)
            return w, k + 1, jnp.max(jnp.abs(w - v))

        v0, _, _ = jax.lax.while_loop(icond, ibody, (u, jnp.asarray(0), jnp.asarray(jnp.inf)))
        res0 = RESULTS.where(jnp.all(jnp.isfinite(v0)), RESULTS.successful, RESULTS.nonfinite)
    elif rho0 is not None:
        v0 = jnp.asarray(rho0, cd)[ip, jp]
        res0 = RESULTS.successful
    else:
        # trace-constrained solution of L₀ρ = 0: (L₀ + u tᵀ)ρ = u with Tr u = 1 (the
        # paper's row-replacement method in a well-conditioned form)
        u = t / n
        v0, res0 = solve(lambda v: matvec(v) + u * (t @ v), u, None)
    v0 = v0 / (t @ v0)
    mu0 = (t @ matvec(v0)).real

    def bordered_solve(v, mu, rhs):
        def op_fn(z):
            return jnp.concatenate([matvec(z[:P]) - mu * z[:P] - z[P] * v, (t @ z[:P])[None]])

        a_mat = None
        if dense:
            a_mat = jnp.block([[M - mu * jnp.eye(P, dtype=cd), -v[:, None]],
                               [t[None, :], jnp.zeros((1, 1), cd)]])
        dz, rk = solve(op_fn, jnp.concatenate([rhs[0], rhs[1][None]]), a_mat)
        return (dz[:P], dz[P]), rk

    v, mu, k, result, r = _bordered_newton(matvec, lambda v: t @ v, bordered_solve, resid, v0,
                                           mu0, res0, max_newton=max_newton, tol=tol)
    rho = jnp.zeros((n, n), cd).at[ip, jp].set(v)
    rho = (rho + rho.conj().T) / 2
    tr, md, me, tp = diagnostics(rho, model.dims)
    result = _steady_result(result, r, tr, me, tp, tol=tol, positivity_tol=positivity_tol,
                            truncation_tol=truncation_tol)
    return _finish(rho, mu, r, tr, md, me, tp, result, k, throw)
