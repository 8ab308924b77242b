"""Matrix-free preconditioned steady state of paper 004 eq. 3 for truncations too large for a
dense Liouvillian (issue 6 §2).

Structure used.  For a model with a conserved integer charge (total excitation number of the
RWA model of eq. 2, ``FockModel.charges``) H conserves the charge and every jump operator
shifts it by a constant, so the charge-diagonal part of ρ, ρ = ⊕_q ρ_q (ρ_q: d_q × d_q), is
invariant under L₀ and holds the steady state.  The blocks are padded to a common size d
(padding decoupled: zero rows/columns in the jumps, −1 on K's diagonal, so padded entries
decay and stay 0) and stored as one (Q, d, d) array, so every term of

    L₀ρ = Kρ + ρK† + Σ_k 2 r_k x_k ρ x_k†,   K = −iH − Σ_k r_k x_k†x_k

is a batched d × d matrix product: O(Q d³) per action instead of O(n³) for dense (n, n) ρ, or
O(P²) memory for the materialized Liouvillian on P = Σ d_q² unknowns.

Solver.  The trace-constrained linear system (L₀ + u tᵀ)ρ = u (t = trace functional, Tr u = 1;
equivalent to L₀ρ = 0, Tr ρ = 1 — the row-replacement method of paper 004 Sec. IV in a
well-conditioned form) is solved by lineax GMRES with the no-jump propagator as
preconditioner: S ρ = Kρ + ρK† is block diagonal and each block is a Sylvester equation
K_q ρ_q + ρ_q K_q† = R_q, solved exactly through the eigendecomposition K_q = V Λ V⁻¹
(computed once): ρ_q = V [(V⁻¹ R_q V⁻†)_ij / (λ_i + λ_j*)] V†.  The preconditioned operator is
1 + S⁻¹J (J the jump "recycling" term), whose spectrum is clustered (S⁻¹J is the transition
operator of the embedded jump chain), so GMRES needs tens, not thousands, of iterations.
With the non-Hermitian H of eq. 3 and the trace correction, the steady state is the dominant
eigenvector of L₀ (see :mod:`jaxbind.quantum.fock`); Newton on the bordered eigenproblem
[[L₀ − μ, −ρ], [Tr, 0]] then polishes (ρ, μ), each step one preconditioned GMRES solve
(S shifted by μ).  For Hermitian H the first solve is already the answer (μ = 0).

Accuracy: the steady state's condition number is ~ (largest rate)/(smallest rate) (~1e2 for
κ = 0.01, γ = 1), so float32 reaches ~1e-6 relative for Hermitian H but only ~1e-3 for the
non-Hermitian eigenproblem, whose growth rate μ is itself ~ eps·scale small; use float64 there.

Limits: the eigendecomposition (``jnp.linalg.eig``) runs on CPU; everything else is batched
matrix products.  Steady states run ``while_loop``s (jit/vmap ok, no reverse-mode autodiff).

Entry point: ``jaxbind.quantum.fock.steady_state(model, solver=BlockGMRES(...))``
(``steady_state_iterative`` is its deprecated former name).
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np

from .._types import Array, ArrayLike, Complex
from ..results import RESULTS
from ..solvers import BlockGMRES
from .fock_model import FockModel, FockSteadyState, _bordered_newton, _finish, _generator, _steady_result

__all__ = ["block_structure", "block_liouvillian_apply", "block_steady_state",
           "steady_state_iterative"]

#: Default GMRES iterations per solve of :class:`~jaxbind.solvers.BlockGMRES` with
#: ``max_steps=None`` (preconditioned: tens suffice; the generic 10 × size would be far more).
BLOCK_GMRES_MAX_STEPS = 400


class _Blocks(NamedTuple):  # internal static structure (not a result type)
    idx: np.ndarray  # (Q, d) basis indices, −1 = padding
    dest: tuple  # per jump: (Q,) destination block of each block
    valid: tuple  # per jump: (Q,) bool, destination exists


def block_structure(model: FockModel):
    """Charge blocks of ``model``: (idx (Q, d) basis indices padded with −1, per-jump
    destination block (Q,) and validity (Q,)).  Needs ``model.charges``."""
    if model.charges is None:
        raise ValueError("model: the iterative steady state needs a model with charges "
                         "(e.g. three_mode_model)")
    q = np.asarray(model.charges)
    qs = np.unique(q)
    members = [np.nonzero(q == v)[0] for v in qs]
    d = max(len(m) for m in members)
    idx = -np.ones((len(qs), d), dtype=np.int64)
    for b, m in enumerate(members):
        idx[b, : len(m)] = m
    pos = {int(v): b for b, v in enumerate(qs)}
    x = np.asarray(jax.device_get(model.jump_ops)) if _concrete(model.jump_ops) else None
    if x is None and model.jump_shifts is None:
        raise ValueError("model: traced jump operators need FockModel.jump_shifts (set by "
                         "three_mode_model) for the block structure")
    dests, valids = [], []
    for k in range(model.jump_ops.shape[0]):
        shift = model.jump_shifts[k] if model.jump_shifts is not None else _jump_shift(x[k], q)
        dst = np.array([pos.get(int(v) + shift, -1) for v in qs])
        valids.append(dst >= 0)
        dests.append(np.where(dst >= 0, dst, np.arange(len(qs))))
    return _Blocks(idx, tuple(dests), tuple(valids))


def _concrete(x):
    return not isinstance(x, jax.core.Tracer)


def _jump_shift(x, q):
    nz = np.nonzero(np.abs(x) > 0)
    if nz[0].size == 0:
        return 0
    return int(q[nz[0][0]] - q[nz[1][0]])


def _gather(mat, idx):
    """(n, n) matrix → (Q, d, d) blocks mat[idx_q, idx_q'] of the charge pairs (padding 0)."""
    ok = idx >= 0
    i = np.where(ok, idx, 0)
    m = mat[i[:, :, None], i[:, None, :]]
    return jnp.where(jnp.asarray(ok[:, :, None] & ok[:, None, :]), m, 0)


def _gather_jump(x, idx, dest):
    ok = idx >= 0
    i = np.where(ok, idx, 0)
    rows, rok = i[dest], ok[dest]
    m = x[rows[:, :, None], i[:, None, :]]
    return jnp.where(jnp.asarray(rok[:, :, None] & ok[:, None, :]), m, 0)


def _operators(model: FockModel, blocks: _Blocks):
    idx = blocks.idx
    pad = jnp.asarray(idx < 0)
    K = _generator(model)
    Kb = _gather(K, idx)
    Kb = Kb - jnp.where(pad[:, :, None] & jnp.eye(idx.shape[1], dtype=bool), 1.0, 0.0)
    Xb = jnp.stack([_gather_jump(model.jump_ops[k], idx, blocks.dest[k])
                    * jnp.asarray(blocks.valid[k])[:, None, None]
                    for k in range(model.jump_ops.shape[0])])
    return Kb, Xb


def _apply(Kb, Xb, rates, dests, v):
    out = Kb @ v + v @ jnp.conj(jnp.swapaxes(Kb, -1, -2))
    for k in range(Xb.shape[0]):
        x = Xb[k]
        term = 2 * rates[k] * (x @ v @ jnp.conj(jnp.swapaxes(x, -1, -2)))
        out = out.at[dests[k]].add(term)
    return out


def block_liouvillian_apply(model: FockModel, rho_blocks: Complex[Array, "q d d"],
                            blocks=None) -> Complex[Array, "q d d"]:
    """L₀ρ (paper 004 eq. 3 without the trace correction) on charge blocks (Q, d, d)."""
    blocks = block_structure(model) if blocks is None else blocks
    Kb, Xb = _operators(model, blocks)
    return _apply(Kb, Xb, model.rates, [jnp.asarray(d) for d in blocks.dest], rho_blocks)


def _to_dense(vb, idx, n):
    ok = idx >= 0
    i = np.where(ok, idx, n)  # padding → dropped row/column n
    rho = jnp.zeros((n + 1, n + 1), vb.dtype)
    rho = rho.at[i[:, :, None], i[:, None, :]].set(vb)
    return rho[:n, :n]


def steady_state_iterative(model: FockModel, *, rho0: Complex[ArrayLike, "n n"] | None = None,
                           tol: float | None = None, gmres_rtol: float | None = None,
                           restart: int = 40, max_gmres_steps: int = 400, max_newton: int = 10,
                           truncation_tol: float = 1e-3, positivity_tol: float | None = None,
                           throw: bool = True) -> FockSteadyState:
    """Deprecated (one release): ``jaxbind.quantum.fock.steady_state(model,
    solver=BlockGMRES(rtol=gmres_rtol, max_steps=max_gmres_steps, restart=restart))``."""
    warnings.warn("steady_state_iterative is deprecated; use jaxbind.quantum.fock.steady_state("
                  "model, solver=jaxbind.solvers.BlockGMRES(rtol=..., max_steps=..., restart=...))",
                  DeprecationWarning, stacklevel=2)
    eps = float(jnp.finfo(model.hamiltonian.dtype).eps)
    t = 1e2 * eps if tol is None else tol
    rt = 10 * t if gmres_rtol is None else gmres_rtol  # the old default
    solver = BlockGMRES(rtol=rt, atol=rt * 1e-6, max_steps=max_gmres_steps, restart=restart)
    return block_steady_state(model, solver, rho0=rho0, tol=tol, max_newton=max_newton,
                              truncation_tol=truncation_tol, positivity_tol=positivity_tol,
                              throw=throw)


def block_steady_state(model: FockModel, solver: BlockGMRES = BlockGMRES(), *,
                       rho0: Complex[ArrayLike, "n n"] | None = None, tol: float | None = None,
                       max_newton: int = 10, truncation_tol: float = 1e-3,
                       positivity_tol: float | None = None, throw: bool = True
                       ) -> FockSteadyState:
    """Steady state of paper 004 eq. 3 (dominant eigenvector of L₀, unit trace) by
    preconditioned matrix-free GMRES on the charge blocks (module docstring); called by
    ``jaxbind.quantum.fock.steady_state(model, solver=BlockGMRES(...))``.

    Args:
        model: master equation with ``charges`` (e.g. ``three_mode_model``).
        solver: :class:`~jaxbind.solvers.BlockGMRES` — GMRES tolerance per solve ``rtol``
            (floored at 10·tol: below that the dtype cannot follow), ``atol`` (first solve;
            the Newton corrections use 1e-6 × their rtol, as their right-hand side shrinks
            with the residual), ``restart`` and ``max_steps`` per solve (None:
            :data:`BLOCK_GMRES_MAX_STEPS`).
        rho0: optional (n, n) initial guess (e.g. a smaller truncation's state, padded).
        tol: relative residual ‖L₀ρ − μρ‖∞ / ‖L₀‖ for convergence (default 1e2·eps).
        max_newton: Newton steps on (ρ, μ) after the first solve (non-Hermitian H).
        truncation_tol: top-Fock-level population above which the result is
            ``RESULTS.fock_truncation``.
        positivity_tol: min eigenvalue below −tol → ``RESULTS.not_positive`` (default 1e4·eps).
        throw: raise on non-convergence, non-positivity or trace errors (truncation only sets
            the result).
    Returns:
        :class:`~jaxbind.quantum.fock_model.FockSteadyState` (``rho`` dense (n, n)).
    """
    if not isinstance(solver, BlockGMRES):
        raise TypeError(f"solver must be a jaxbind.solvers.BlockGMRES, got {type(solver).__name__}")
    blocks = block_structure(model)
    idx = blocks.idx
    n = math.prod(model.dims)
    cd = model.hamiltonian.dtype
    rd = jnp.zeros((), cd).real.dtype
    eps = float(jnp.finfo(cd).eps)
    tol = 1e2 * eps if tol is None else tol
    gmres_rtol = max(solver.rtol, 10 * tol)
    max_gmres_steps = BLOCK_GMRES_MAX_STEPS if solver.max_steps is None else solver.max_steps
    positivity_tol = 1e4 * eps if positivity_tol is None else positivity_tol
    newton_rtol = max(gmres_rtol, 1e-6)  # inexact Newton: the outer residual decides
    Kb, Xb = _operators(model, blocks)
    dests = [jnp.asarray(d) for d in blocks.dest]
    Q, d = idx.shape
    real = jnp.asarray(idx >= 0)
    tr_mask = (real[:, :, None] & jnp.eye(d, dtype=bool)[None]).astype(cd)  # trace functional t
    n_real = float(np.sum(idx >= 0))
    u = tr_mask / n_real

    def L(v):
        return _apply(Kb, Xb, model.rates, dests, v)

    def tr(v):
        return jnp.sum(tr_mask * v)

    scale = jnp.max(jnp.abs(Kb)) + 2 * jnp.sum(
        model.rates * jnp.max(jnp.abs(Xb), axis=(1, 2, 3)) ** 2)
    # no-jump propagator S = K· + ·K†, block Sylvester solves via K_q = V Λ V⁻¹
    lam, V = jnp.linalg.eig(Kb)
    Vi = jnp.linalg.inv(V)
    Vh, Vih = jnp.conj(jnp.swapaxes(V, -1, -2)), jnp.conj(jnp.swapaxes(Vi, -1, -2))

    def S_inv(r, shift):
        den = lam[:, :, None] + jnp.conj(lam)[:, None, :] - shift
        tiny = 1e-8 * scale
        den = jnp.where(jnp.abs(den) < tiny, -tiny, den)
        return V @ ((Vi @ r @ Vih) / den) @ Vh

    struct = jax.ShapeDtypeStruct((Q, d, d), cd)

    def gmres(op_fn, rhs, prec_fn, y0, structure, rtol):
        op = lx.FunctionLinearOperator(op_fn, structure)
        pre = lx.FunctionLinearOperator(prec_fn, structure)
        # the first solve uses the solver's atol; a Newton correction's right-hand side shrinks
        # with the residual, so its absolute floor is relative (1e-6·rtol) or GMRES stalls
        atol = solver.atol if rtol == gmres_rtol else 1e-6 * rtol
        sol = lx.linear_solve(op, rhs, lx.GMRES(rtol=rtol, atol=atol, max_steps=max_gmres_steps,
                                                restart=solver.restart),
                              options={"preconditioner": pre, "y0": y0}, throw=False)
        return sol.value, RESULTS.promote(sol.result)

    # 1. trace-constrained linear solve (L₀ + u tᵀ)ρ = u
    if rho0 is None:
        y0 = S_inv(-u, 0.0)
        y0 = y0 / tr(y0)
    else:
        y0 = _gather(jnp.asarray(rho0, cd), idx)
    v, _ = gmres(lambda v: L(v) + u * tr(v), u, lambda r: S_inv(r, 0.0), y0, struct,
                 gmres_rtol)
    v = v / tr(v)
    mu = jnp.real(tr(L(v)))

    def resid(v, mu):
        return jnp.max(jnp.abs(L(v) - mu * v)) / scale

    # 2. Newton on the bordered eigenproblem (only acts when H is non-Hermitian)
    bstruct = (struct, jax.ShapeDtypeStruct((), cd))

    def bordered_solve(v, mu, rhs):
        def op_fn(z):
            zv, zm = z
            return (L(zv) - mu * zv - zm * v, tr(zv))

        # bordered preconditioner [[S − μ, −v], [tᵀ, 0]]⁻¹ by block elimination (exact
        # for the border, so only the jump part is left to GMRES)
        w = S_inv(v, mu)
        tw = tr(w)

        def prec(z):
            zv, zm = z
            y = S_inv(zv, mu)
            m = (zm - tr(y)) / tw
            return (y + m * w, m)

        return gmres(op_fn, (rhs[0], rhs[1].astype(cd)), prec,
                     (jnp.zeros_like(v), jnp.zeros((), cd)), bstruct, newton_rtol)

    # a first solve stopped by max_gmres_steps is refined by Newton; the final residual
    # decides. An inexact inner solve is fine while the outer residual falls (float32 GMRES
    # may not reach newton_rtol); stop once a step no longer improves it.
    v, mu, k, result, r = _bordered_newton(L, tr, bordered_solve, resid, v, mu,
                                           RESULTS.successful, max_newton=max_newton, tol=tol,
                                           accept_inexact=True)
    pair = real[:, :, None] & real[:, None, :]
    v = jnp.where(pair, (v + jnp.conj(jnp.swapaxes(v, -1, -2))) / 2, 0)
    v = v / tr(v)
    # validity checks of Sec. IV on the blocks (ρ is block diagonal)
    trace = jnp.real(tr(v))
    diag = jnp.real(jnp.diagonal(v, axis1=1, axis2=2))
    md = jnp.min(jnp.where(real, diag, jnp.inf))
    # padding → identity on the diagonal so it never sets the smallest eigenvalue
    me = jnp.min(jnp.linalg.eigvalsh(v + jnp.where(~real[:, :, None] & jnp.eye(d, dtype=bool),
                                                   1.0, 0.0).astype(cd)))
    p = jnp.zeros((n + 1,), rd).at[np.where(idx >= 0, idx, n)].set(diag)[:n].reshape(model.dims)
    tp = jnp.stack([jnp.sum(p, axis=tuple(j for j in range(len(model.dims)) if j != i))[-1]
                    for i in range(len(model.dims))])
    rho = _to_dense(v, idx, n)
    result = _steady_result(result, r, trace, me, tp, tol=tol, positivity_tol=positivity_tol,
                            truncation_tol=truncation_tol)
    return _finish(rho, mu, r, trace, md, me, tp, result, k, throw)
