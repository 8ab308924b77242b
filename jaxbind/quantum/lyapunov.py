"""Continuous Lyapunov equations A X + X Aᵀ + D = 0 (docs/conventions.md, "Gaussian moments").

The steady-state covariance of a linear quantum system (paper 001 eqs. 80–81; paper 000
eq. 10) solves the continuous Lyapunov equation. Two solvers, both GPU-capable, batchable
with ``jax.vmap`` and free of eigendecompositions (so they stay accurate at and near
exceptional points, where A is not diagonalizable):

* :class:`~jaxbind.solvers.Kron`: the vectorised equation (A ⊗ 1 + 1 ⊗ A) vec X = −vec D restricted to the
  n(n+1)/2 independent entries of the symmetric X (D symmetric), solved by LU with partial
  pivoting: ``Kron.linear_solver`` (default by backend: on CPU ``batched_lu.SmallLU``, under
  ``vmap`` one vectorised elimination for the whole batch with the operator assembled from A
  inside it and no per-matrix LAPACK call; elsewhere ``lineax.LU``). Cost O(n⁶/12); best for
  n ≲ 8 (up to 4 oscillators).
  Stability comes from the same factorisation (Lyapunov's theorem: A is Hurwitz iff the
  solution Y of A Y + Y Aᵀ + 1 = 0 is positive definite — tested by Cholesky).
* :class:`~jaxbind.solvers.Sign`: the matrix-sign-function Newton iteration (Roberts 1971; Byers 1987).
  For Z = [[A, D], [0, −Aᵀ]] with A Hurwitz, sign(Z) = [[−1, 2X], [0, 1]]; the Newton
  iteration Z ← (μZ + (μZ)⁻¹)/2 acts blockwise as

      A_{k+1} = (μ_k A_k + A_k⁻¹/μ_k)/2,
      D_{k+1} = (μ_k D_k + A_k⁻¹ D_k A_k⁻ᵀ/μ_k)/2,

  with determinant scaling μ_k = |det A_k|^(−1/n) while far from convergence, and converges
  quadratically. Cost O(n³) per step, ~10 steps.

Both are wrapped in ``lineax.linear_solve`` on the Lyapunov operator X ↦ A X + X Aᵀ, so
derivatives are by implicit differentiation: lineax's JVP/transpose rules solve the tangent
equation with the same operator and the *adjoint* Lyapunov equation Aᵀ Λ + Λ A + X̄ = 0 for
the cotangent; iterations are never differentiated. For the sign method the iterates A_k⁻¹
are stored once, so the adjoint solve costs only 2 matrix products per step.

Stability (A Hurwitz, i.e. max Re λ(A) < 0) is decided without eigenvalues: by the
Lyapunov test above (kron), or (sign) because the sign iteration applied to A alone converges to sign(A) = −1 exactly when A is Hurwitz; a matrix
with an eigenvalue in the right half plane converges to sign(A) ≠ −1 (‖sign(A) + 1‖ ≥ 2),
and one with eigenvalues on the imaginary axis does not converge.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from ..solvers import Kron, Sign, deprecated_method
from .batched_lu import SmallLU, _on_cpu, _pd_bt, _solve_bt, is_positive_definite, vmap_blocked
from .phase_space import physical_bt

__all__ = [
    "solve_lyapunov",
    "sign_iterates",
    "is_hurwitz",
    "KRON_MAX_SIZE",
    "MAX_SIGN_STEPS",
]

#: Largest matrix size n for which ``solver=None`` uses :class:`~jaxbind.solvers.Kron`.
KRON_MAX_SIZE = 8
#: Upper bound on sign-function Newton steps (convergence needs ~8–15 in practice; more
#: only when A has eigenvalues extremely close to the imaginary axis).
MAX_SIGN_STEPS = 64


class SignState(eqx.Module):
    """Stored Newton sign iterates of A: inverses A_k⁻¹, scales μ_k, number of steps."""

    inverses: Float[Array, "k n n"]
    scales: Float[Array, " k"]
    n_steps: Int[Array, ""]
    converged: Bool[Array, ""]
    final: Float[Array, "n n"]


def sign_iterates(A: Float[Array, "n n"], max_steps: int = MAX_SIGN_STEPS) -> SignState:
    """Run the scaled Newton iteration for sign(A), storing what the D-update needs.

    Args:
        A: (n, n) real matrix.
        max_steps: static bound on the number of Newton steps.
    Returns:
        :class:`SignState`; ``final`` approximates sign(A).
    """
    n = A.shape[0]
    dtype = A.dtype
    eps = jnp.finfo(dtype).eps
    # Stop one step after the relative change drops below sqrt(eps): quadratic
    # convergence then puts the last iterate at rounding level.
    tol = jnp.sqrt(eps) * n
    eye = jnp.eye(n, dtype=dtype)
    # Padding steps (A⁻¹ = −1, μ = 1) leave D unchanged once A_k = −1.
    inverses = jnp.broadcast_to(-eye, (max_steps, n, n))
    scales = jnp.ones((max_steps,), dtype)

    def cond(carry):
        k, _, _, _, _, n_small = carry
        return (k < max_steps) & (n_small < 2)

    def body(carry):
        k, Ak, invs, mus, delta, n_small = carry
        Ainv = jnp.linalg.inv(Ak)
        _, logdet = jnp.linalg.slogdet(Ak)
        # Determinant scaling accelerates the early steps; switched off near convergence
        # to keep the quadratic rate. Guard non-finite logdet (singular A_k).
        mu = jnp.where((delta > 1e-2) & jnp.isfinite(logdet), jnp.exp(-logdet / n), 1.0)
        Anew = 0.5 * (mu * Ak + Ainv / mu)
        num = jnp.sum(jnp.abs(Anew - Ak))
        den = jnp.sum(jnp.abs(Anew))
        delta_new = jnp.where(jnp.isfinite(num), num / den, jnp.inf)
        invs = invs.at[k].set(Ainv)
        mus = mus.at[k].set(mu.astype(dtype))
        n_small = n_small + (delta_new <= tol).astype(n_small.dtype)
        return k + 1, Anew, invs, mus, delta_new, n_small

    init = (
        jnp.asarray(0, jnp.int32),
        A,
        inverses,
        scales,
        jnp.asarray(jnp.inf, dtype),
        jnp.asarray(0, jnp.int32),
    )
    k, Ak, invs, mus, _, n_small = jax.lax.while_loop(cond, body, init)
    converged = (n_small >= 1) & jnp.all(jnp.isfinite(Ak))
    return SignState(invs, mus, k, converged, Ak)


def is_hurwitz(A: Float[Array, "n n"], max_steps: int = MAX_SIGN_STEPS) -> Bool[Array, ""]:
    """True when every eigenvalue of A has negative real part (sign(A) = −1).

    Uses the Newton sign iteration, not an eigendecomposition (GPU-capable, robust for
    defective A). Marginal matrices (eigenvalues on the imaginary axis) report False.
    """
    return _hurwitz_from_state(sign_iterates(A, max_steps))


def _hurwitz_from_state(state: SignState) -> Bool[Array, ""]:
    n = state.final.shape[0]
    dev = jnp.max(jnp.sum(jnp.abs(state.final + jnp.eye(n, dtype=state.final.dtype)), axis=0))
    # sign(A) + 1 has an eigenvalue 2 when A is not Hurwitz, so its norm is ≥ 2.
    return state.converged & (dev < 0.5)


def _apply_sign(state: SignState, D: Float[Array, "n n"]) -> Float[Array, "n n"]:
    """D_∞ of the coupled iteration; X = D_∞/2 solves A X + X Aᵀ + D = 0."""

    def body(k, Dk):
        Ai = state.inverses[k]
        mu = state.scales[k]
        return 0.5 * (mu * Dk + (Ai @ Dk @ Ai.T) / mu)

    return jax.lax.fori_loop(0, state.n_steps, body, D)


class _SignLyapunovSolver(lx.AbstractLinearSolver):
    """lineax solver for X ↦ A X + X Aᵀ from precomputed sign iterates (pass ``state=``).

    Transposition (needed for reverse-mode implicit differentiation) maps the stored
    iterates A_k⁻¹ to their transposes, which are the iterates of Aᵀ.
    """

    def init(self, operator, options):
        raise NotImplementedError(
            "_SignLyapunovSolver needs its state precomputed by sign_iterates(A)."
        )

    def compute(self, state: Any, vector, options):
        del options
        # L(X) = v  ⇔  A X + X Aᵀ + (−v) = 0  ⇔  X = −D_∞(v)/2 (linear in v).
        return -0.5 * _apply_sign(state, vector), lx.RESULTS.successful, {}

    def transpose(self, state: Any, options):
        st = SignState(
            jnp.swapaxes(state.inverses, -1, -2),
            state.scales,
            state.n_steps,
            state.converged,
            state.final.T,
        )
        return st, options

    def conj(self, state: Any, options):
        return state, options  # real matrices

    def assume_full_rank(self):
        return True


@functools.lru_cache(maxsize=None)
def _kron_tables(n: int) -> np.ndarray:
    """Static gather table of the symmetric-Kronecker Lyapunov operator.

    Row (i, j), column (k, l) (upper-triangle coordinates, k ≤ l) of X ↦ A X + X Aᵀ equals
    A_ik δ_jl + δ_ik A_jl + [k ≠ l](A_il δ_jk + δ_il A_jk): four terms, each a single entry of
    A or zero. Returns (4, m·m) flat indices into A (index n·n = a zero pad).
    """
    iu, ju = np.triu_indices(n)
    m = iu.size
    i, j = iu[:, None], ju[:, None]
    k, l = iu[None, :], ju[None, :]
    off = k != l
    terms = [
        (i * n + k, j == l),
        (j * n + l, i == k),
        (i * n + l, off & (j == k)),
        (j * n + k, off & (i == l)),
    ]
    return np.stack([np.where(c, f, n * n).reshape(m * m) for f, c in terms])


@functools.lru_cache(maxsize=None)
def _upper_positions(n: int) -> np.ndarray:
    """(n, n) table: position of entry (i, j) of a symmetric matrix in its upper-triangle
    coordinates (np.triu_indices order)."""
    iu, ju = np.triu_indices(n)
    pos = np.zeros((n, n), np.int32)
    pos[iu, ju] = pos[ju, iu] = np.arange(iu.size)
    return pos


def _sym_kron_builder(A, trans: bool):
    """Symmetric-Kronecker operator of X ↦ A X + X Aᵀ for a trailing batch: A (n, n, C) →
    (m, m, C), m = n(n+1)/2 (its transpose for ``trans``); a gather, no arithmetic."""
    n, C = A.shape[0], A.shape[-1]
    idx = _kron_tables(n)
    m = n * (n + 1) // 2
    Af = jnp.concatenate([A.reshape(n * n, C), jnp.zeros((1, C), A.dtype)])
    K = (Af[idx[0]] + Af[idx[1]] + Af[idx[2]] + Af[idx[3]]).reshape(m, m, C)
    return jnp.swapaxes(K, 0, 1) if trans else K


def _apply_sym(A, v):
    """Upper-triangle coordinates v (m,) ↦ those of A X + X Aᵀ."""
    n = A.shape[0]
    X = _from_upper(v, n)
    return (A @ X + X @ A.T)[np.triu_indices(n)]


def _from_upper(x, n):
    """Symmetric (n, n) matrix from its upper-triangle coordinates (a static gather: XLA
    scatters are slow on CPU under vmap)."""
    return x[_upper_positions(n)]


def _kron_bt(A, D, phys: bool = False):
    """The whole kron solve for a trailing batch, A, D (n, n, C) → (X (n, n, C), Hurwitz (C,))
    — and with ``phys`` the physicality verdict (C,) of (A, D) as a third output
    (:func:`jaxbind.quantum.phase_space.physical_bt`, in the same batch-trailing pass).

    Right-hand sides −D (symmetric part) and −1 in one elimination; X expanded from its
    upper-triangle coordinates and Y (the solution for −1) tested for positive definiteness
    (Lyapunov: A Hurwitz ⇔ Y ≻ 0) in the same pass. Every index is static and runs along the
    leading axes, so all gathers move whole contiguous batch rows.
    """
    n, C = A.shape[0], A.shape[-1]
    iu, ju = np.triu_indices(n)
    Ds = 0.5 * (D[iu, ju] + D[ju, iu])
    ones = jnp.broadcast_to((iu == ju).astype(A.dtype)[:, None], Ds.shape)
    XY = _solve_bt(_sym_kron_builder(A, False), -jnp.stack([Ds, ones], axis=1))
    pos = _upper_positions(n).reshape(-1)
    X = XY[pos, 0].reshape(n, n, C)
    Y = XY[pos, 1].reshape(n, n, C)
    if phys:
        return X, _pd_bt(Y), physical_bt(A, D)
    return X, _pd_bt(Y)


@functools.lru_cache(maxsize=None)
def _kron_lyapunov_fn(phys: bool):
    """custom_jvp'd ``(A, D) ↦ (X, Hurwitz[, physical])`` by the batched kron kernel."""
    n_out = 3 if phys else 2
    body = functools.partial(_kron_bt, phys=phys)

    @jax.custom_batching.custom_vmap
    def kernel(A, D):
        out = body(A[..., None], D[..., None])
        return (out[0][..., 0],) + tuple(o[0] for o in out[1:])

    @kernel.def_vmap
    def _rule(axis_size, in_batched, A, D):
        return vmap_blocked(body, [A, D], list(in_batched), axis_size), (True,) * n_out

    @jax.custom_jvp
    def solve(A, D):
        return kernel(A, D)

    @solve.defjvp
    def _jvp(primals, tangents):
        # Implicit differentiation: A dX + dX Aᵀ = −(dA X + X dAᵀ + sym dD), solved by lineax
        # with the same batched LU (its transpose rule gives the adjoint Lyapunov equation for
        # reverse mode); the elimination itself is never differentiated.
        A, D = primals
        dA, dD = tangents
        out = solve(A, D)
        X = out[0]
        n = A.shape[0]
        idx = np.triu_indices(n)
        m = idx[0].size
        rhs = -(dA @ X + X @ dA.T + 0.5 * (dD + dD.T))
        op = lx.FunctionLinearOperator(lambda v: _apply_sym(A, v), jax.ShapeDtypeStruct((m,), X.dtype))
        sol = lx.linear_solve(op, rhs[idx], SmallLU(builder=_sym_kron_builder),
                              state=(jax.lax.stop_gradient(A), False), throw=False)
        dX = _from_upper(sol.value, n)
        return out, (dX,) + tuple(np.zeros(np.shape(o), jax.dtypes.float0) for o in out[1:])

    return solve


def _kron_lyapunov(A, D):
    """(X, Hurwitz) with A X + X Aᵀ + sym(D) = 0 by the batched kron kernel."""
    return _kron_lyapunov_fn(False)(A, D)


def _check_square(name: str, x) -> None:
    s = jnp.shape(x)
    if len(s) != 2 or s[0] != s[1]:
        raise ValueError(f"{name} must be a square matrix of shape (n, n), got shape {tuple(s)}")


def _kron_lineax(A, D, linear_solver):
    """Kron solve with a lineax solver on the assembled symmetric-Kronecker matrix (the
    default off CPU): lineax differentiates it implicitly; stability by Cholesky of Y."""
    n = A.shape[0]
    iu, ju = np.triu_indices(n)
    K = _sym_kron_builder(A[..., None], False)[..., 0]
    op = lx.MatrixLinearOperator(K)
    Ds = 0.5 * (D[iu, ju] + D[ju, iu])
    sol = lx.linear_solve(op, -Ds, linear_solver, throw=False)
    Kc = jax.lax.stop_gradient(K)
    ones = (iu == ju).astype(A.dtype)
    y = lx.linear_solve(lx.MatrixLinearOperator(Kc), -ones, linear_solver, throw=False).value
    X = _from_upper(sol.value, n)
    hurwitz = (sol.result == lx.RESULTS.successful) & is_positive_definite(_from_upper(y, n))
    return X, hurwitz


def resolve_solver(solver: Kron | Sign | None, n: int, *, method: str | None = None,
                   max_steps: int | None = None, fn: str = "solve_lyapunov") -> Kron | Sign:
    """The Lyapunov solver object for ``solver``/the deprecated ``method``/``max_steps``."""
    if method is not None:
        if solver is not None:
            raise ValueError(f"{fn}: pass either solver= or the deprecated method=, not both")
        if method not in ("auto", "kron", "sign"):
            raise ValueError(f"method must be 'auto', 'kron' or 'sign', got {method!r}")
        repl = {"auto": "None", "kron": "jaxbind.solvers.Kron()",
                "sign": "jaxbind.solvers.Sign(max_steps=...)"}[method]
        deprecated_method(fn, method, repl)
        solver = {"auto": None, "kron": Kron(), "sign": Sign()}[method]
    if max_steps is not None:
        warnings.warn(f"{fn}(max_steps=...) is deprecated; pass solver=jaxbind.solvers.Sign("
                      "max_steps=...) instead", DeprecationWarning, stacklevel=3)
        if isinstance(solver, Sign) or (solver is None and n > KRON_MAX_SIZE):
            solver = Sign(max_steps=max_steps)  # (Kron has no steps: ignored there, as before)
    if solver is None:
        solver = Kron() if n <= KRON_MAX_SIZE else Sign()
    if not isinstance(solver, (Kron, Sign)):
        raise TypeError(f"solver must be None, jaxbind.solvers.Kron() or jaxbind.solvers.Sign(), "
                        f"got {type(solver).__name__}")
    return solver


def solve_lyapunov(
    A: Float[ArrayLike, "n n"],
    D: Float[ArrayLike, "n n"],
    solver: Kron | Sign | None = None,
    *,
    method: str | None = None,
    max_steps: int | None = None,
) -> tuple[Float[Array, "n n"], Bool[Array, ""]]:
    """Solve A X + X Aᵀ + D = 0 for X; differentiable by implicit differentiation.

    Steady-state covariance equation of the Gaussian-moment conventions (paper 001
    eqs. 80–81: dV/dt = A V + V Aᵀ + D = 0). Note the sign: SciPy's
    ``solve_continuous_lyapunov(A, Q)`` solves A X + X Aᵀ = Q, i.e. Q = −D.

    Args:
        A: (n, n) real drift matrix (any time unit; X is dimensionless when D/A is).
        D: (n, n) real matrix (symmetric for covariances; :class:`~jaxbind.solvers.Kron`
            uses its symmetric part).
        solver: :class:`~jaxbind.solvers.Kron` (vectorised LU, n ≲ 8; its
            ``linear_solver`` picks the LU), :class:`~jaxbind.solvers.Sign` (Newton sign
            iteration, ``Sign.max_steps``), or None: Kron for n ≤ ``KRON_MAX_SIZE``, else Sign.
        method: deprecated string form (``"auto"``, ``"kron"``, ``"sign"``; warns).
        max_steps: deprecated; use ``Sign(max_steps=...)`` (warns).
    Returns:
        ``(X, hurwitz)``: the (n, n) solution and a boolean that is True when A is Hurwitz
        (stable) — X is meaningful only then.
    """
    A = jnp.asarray(A)
    D = jnp.asarray(D)
    _check_square("A", A)
    _check_square("D", D)
    if A.shape != D.shape:
        raise ValueError(f"A and D must have the same shape, got A {A.shape} and D {D.shape}")
    if jnp.iscomplexobj(A) or jnp.iscomplexobj(D):
        raise TypeError("A and D must be real")
    dtype = jnp.result_type(A, D)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    A = A.astype(dtype)
    D = D.astype(dtype)
    n = A.shape[0]
    solver = resolve_solver(solver, n, method=method, max_steps=max_steps)

    if isinstance(solver, Kron):
        ls = solver.linear_solver
        if ls is None:  # backend-aware default (Kron's docstring)
            ls = SmallLU() if _on_cpu() else lx.LU()
        if isinstance(ls, SmallLU):
            # One batched-LU pass (batched_lu: vectorised across vmap, no per-matrix LAPACK
            # call) for the right-hand sides −D (symmetric part; the solution of the symmetric
            # problem is symmetric) and −1 (Lyapunov stability test: A is Hurwitz iff that
            # solution is positive definite), operator assembled from A inside the kernel;
            # implicit derivatives (custom JVP through lineax), never through the elimination.
            X, hurwitz = _kron_lyapunov(A, D)
        else:
            X, hurwitz = _kron_lineax(A, D, ls)
    else:
        state = sign_iterates(jax.lax.stop_gradient(A), solver.max_steps)
        hurwitz = _hurwitz_from_state(state)
        struct = jax.ShapeDtypeStruct((n, n), dtype)
        op = lx.FunctionLinearOperator(lambda Y: A @ Y + Y @ A.T, struct)
        sol = lx.linear_solve(op, -D, _SignLyapunovSolver(), state=state, throw=False)
        X = sol.value
    return X, hurwitz


def solve_lyapunov_checked(A: Float[Array, "n n"], D: Float[Array, "n n"], solver: Kron | Sign
                           ) -> tuple[Float[Array, "n n"], Bool[Array, ""], Bool[Array, ""]]:
    """(X, Hurwitz, physical) for steady states: :func:`solve_lyapunov` plus the
    physicality verdict of (A, D) (:func:`jaxbind.quantum.phase_space.physical_bt`), inside
    the batched kron kernel when that is the solver (one pass over the batch), else
    separately. A, D: prepared (n, n) real arrays of one dtype; ``solver`` resolved."""
    if isinstance(solver, Kron) and (solver.linear_solver is None and _on_cpu()
                                     or isinstance(solver.linear_solver, SmallLU)):
        return _kron_lyapunov_fn(True)(A, D)
    X, hurwitz = solve_lyapunov(A, D, solver)
    phys = physical_bt(jax.lax.stop_gradient(A)[..., None], jax.lax.stop_gradient(D)[..., None])[0]
    return X, hurwitz, phys
