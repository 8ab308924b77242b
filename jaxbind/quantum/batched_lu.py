"""Dense LU solves of many small matrices at once, vectorised across the batch.

Why this exists: a sweep of Gaussian steady states solves 10⁴–10⁶ independent Lyapunov
equations of a few modes (a 21×21 symmetric-Kronecker system for three modes). Under
``jax.vmap`` the generic path (``jnp.linalg.solve`` / ``lineax.LU``) becomes one LAPACK
``getrf`` call per matrix on CPU, which for a 21×21 matrix costs ~6 µs of per-call overhead
around ~1 µs of arithmetic. Here the elimination is written once for a whole batch, with the
batch as the *trailing* (contiguous) axis, so every elimination step is one vectorised pass
over all matrices (partial pivoting by a per-matrix pivot index; rows are exchanged by a
masked sum and a select, never by data-dependent control flow).

* :func:`solve_small` — ``M X = R`` (or ``Mᵀ X = R``) for one (m, m) matrix; under ``vmap``
  its batching rule (``jax.custom_batching.custom_vmap``) moves the batch axis last and runs
  the vectorised elimination.
* :class:`SmallLU` — a ``lineax`` solver built on it, so ``lineax.linear_solve`` keeps its
  implicit-differentiation rules (JVP: same operator; transpose: ``Mᵀ``) and the batched
  kernel is never differentiated.
* ``builder``: the matrix may be given through a static function of the solver state (e.g.
  the symmetric Kronecker operator of a Lyapunov equation assembled from A inside the batched
  kernel), so the large operator never leaves the vectorised layout.
* :func:`positive_definite` (Cholesky pivots, batched the same way) and
  :func:`vmap_blocked`, the batching-rule body other batch-trailing kernels reuse (the kron
  Lyapunov solve in ``lyapunov.py``).

Partial pivoting is the same strategy as LAPACK ``getrf`` (row exchange to the largest
|pivot|), so accuracy matches ``numpy.linalg.solve``; a singular matrix yields non-finite
entries (callers turn that into a status). Real floating dtypes only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import lineax as lx

__all__ = [
    "solve_small",
    "SmallLU",
    "positive_definite",
    "identity_builder",
    "vmap_blocked",
    "SMALL_LU_MAX_SIZE",
    "default_dense_solver",
    "is_positive_definite",
]

#: Largest matrix size for which callers should pick :class:`SmallLU` (the elimination is
#: unrolled: compile time grows with m; beyond this LAPACK is as fast per call).
SMALL_LU_MAX_SIZE = 16


# --------------------------------------------------------------- batch-trailing kernels
def _solve_bt(M, R):
    """Solve M X = R for a trailing batch: M (m, m, C), R (m, r, C) → X (m, r, C)."""
    m = M.shape[0]
    cur = jnp.concatenate([M, R], axis=1)  # augmented [M | R], rows in elimination order
    urows = []
    for k in range(m):
        mm = m - k
        p = jnp.argmax(jnp.abs(cur[:, 0, :]), axis=0)  # local pivot row, per matrix
        # pivot row by a masked sum: keeps (column, matrix) layout contiguous (XLA's
        # gather would emit it matrix-major and the update below would read it strided)
        prow = jnp.sum(jnp.where((jnp.arange(mm)[:, None] == p[None, :])[:, None, :], cur, 0), axis=0)
        if mm > 1:
            # the pivot row's old place receives the current first row
            moved = (jnp.arange(1, mm)[:, None] == p[None, :])[:, None, :]
            rest = jnp.where(moved, cur[0][None], cur[1:])
            l = rest[:, 0, :] / prow[0][None]
            cur = rest[:, 1:, :] - l[:, None, :] * prow[None, 1:, :]
        urows.append(prow)
    xs: list[Any] = [None] * m
    for k in reversed(range(m)):
        u = urows[k]  # [u_kk, u_k,k+1 … u_k,m−1, r̂_k (r entries)]
        s = u[m - k:]
        if k < m - 1:
            s = s - jnp.sum(u[1:m - k, None, :] * jnp.stack(xs[k + 1:]), axis=0)
        xs[k] = s / u[0][None]
    return jnp.stack(xs)


def _pd_bt(Y):
    """All Cholesky pivots of the symmetric Y (n, n, C) positive (NaN → False): (C,)."""
    n = Y.shape[0]
    ok = jnp.ones(Y.shape[-1], bool)
    cur = Y
    for k in range(n):
        d = cur[0, 0]
        ok = ok & (d > 0)
        if k < n - 1:
            cur = cur[1:, 1:] - cur[1:, 0][:, None] * (cur[0, 1:] / d)[None]
    return ok


def identity_builder(M, trans: bool):
    """Builder for an explicitly given matrix: (m, m, C) → itself or its transpose."""
    return jnp.swapaxes(M, 0, 1) if trans else M


# ------------------------------------------------------------------ custom_vmap wrappers
#: Matrices per vectorised pass on CPU. Blocks of a few hundred keep a 21×21 elimination in
#: L2; larger vmaps are cut into blocks of this size (lax.map). Accelerators take the whole
#: batch in one pass (``ACCELERATOR_BLOCK``): there, parallelism across matrices is the point.
BLOCK = 256
ACCELERATOR_BLOCK = 1 << 22


def _block_size() -> int:
    # the backend jit will lower for (the default one, unless the caller pins another)
    return BLOCK if jax.default_backend() == "cpu" else ACCELERATOR_BLOCK


def vmap_blocked(fn, args, batched, size):
    """Body of a ``custom_vmap`` batching rule for batch-trailing kernels.

    ``fn`` maps batch-*trailing* arrays to a pytree of batch-trailing arrays; ``args`` are
    batch-leading (where ``batched``) or shared by all matrices. Runs block by block
    (:func:`_block_size`), moving the batch axis last inside each (cache-resident) block, and
    returns the pytree batch-leading.
    """
    tmap = jax.tree_util.tree_map

    def run(arrays, n):
        xs = [jnp.moveaxis(x, 0, -1) if b else jnp.broadcast_to(x[..., None], x.shape + (n,))
              for x, b in zip(arrays, batched)]
        return tmap(lambda y: jnp.moveaxis(y, -1, 0), fn(*xs))

    block = _block_size()
    if size <= block:
        return run(args, size)
    nb = -(-size // block)
    pad = nb * block - size

    def split(x):
        # edge-pad (a copy of a real matrix, never a singular zero block) → (nb, block, …)
        if pad:
            x = jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1), mode="edge")
        return x.reshape((nb, block) + x.shape[1:])

    blocked = [split(x) for x, b in zip(args, batched) if b]
    shared = [x for x, b in zip(args, batched) if not b]

    def body(bl):
        it_b, it_s = iter(bl), iter(shared)
        return run([next(it_b) if b else next(it_s) for b in batched], block)

    out = jax.lax.map(body, blocked)

    def merge(y):
        y = y.reshape((nb * block,) + y.shape[2:])
        return y[:size] if pad else y

    return tmap(merge, out)


@functools.lru_cache(maxsize=None)
def _solver(builder: Callable, trans: bool):
    """custom_vmap'd ``(state, R) ↦ X`` with M = builder(state) (or its transpose)."""

    @jax.custom_batching.custom_vmap
    def solve(state, R):
        st = jax.tree_util.tree_map(lambda x: jnp.asarray(x)[..., None], state)
        return _solve_bt(builder(st, trans), R[..., None])[..., 0]

    @solve.def_vmap
    def _rule(axis_size, in_batched, state, R):
        leaves, tree = jax.tree_util.tree_flatten(state)
        flags = jax.tree_util.tree_leaves(in_batched[0]) + [in_batched[1]]

        def fn(*xs):
            st = jax.tree_util.tree_unflatten(tree, xs[:-1])
            return _solve_bt(builder(st, trans), xs[-1])

        return vmap_blocked(fn, [jnp.asarray(x) for x in leaves] + [jnp.asarray(R)], flags,
                             axis_size), True

    return solve


@jax.custom_batching.custom_vmap
def positive_definite(Y):
    """True when the symmetric matrix Y (n, n) is positive definite (all Cholesky pivots
    > 0; NaN/inf → False). Vectorised across the batch under ``vmap`` (no LAPACK call)."""
    return _pd_bt(jnp.asarray(Y)[..., None])[0]


@positive_definite.def_vmap
def _pd_rule(axis_size, in_batched, Y):
    return vmap_blocked(_pd_bt, [jnp.asarray(Y)], [in_batched[0]], axis_size), True


def solve_small(M, R, *, trans: bool = False, builder: Callable = identity_builder):
    """Solve M X = R (``trans``: Mᵀ X = R) by LU with partial pivoting; batch-vectorised
    under ``jax.vmap``.

    Args:
        M: the solver state: an (m, m) real matrix, or any pytree that ``builder`` turns
            into one (``builder(state_with_trailing_batch, trans) → (m, m, C)``; must be a
            hashable static function).
        R: (m,) or (m, r) right-hand side(s).
        trans: solve with the transpose (static).
    Returns:
        X with R's shape. Not differentiable itself — use :class:`SmallLU` with
        ``lineax.linear_solve`` for implicit derivatives.
    """
    R = jnp.asarray(R)
    if R.ndim not in (1, 2) or not jnp.issubdtype(R.dtype, jnp.floating):
        raise ValueError(f"solve_small: R must be a real (m,) or (m, r) array, got shape {R.shape} "
                         f"and dtype {R.dtype}")
    if builder is identity_builder:
        M = jnp.asarray(M)
        if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] != R.shape[0]:
            raise ValueError(f"solve_small: M must be a square (m, m) matrix matching R's first "
                             f"dimension, got M {M.shape} and R {R.shape}")
        if not jnp.issubdtype(M.dtype, jnp.floating):
            raise ValueError(f"solve_small: M must be real floating point, got dtype {M.dtype}")
    vec = R.ndim == 1
    X = _solver(builder, bool(trans))(M, R[:, None] if vec else R)
    return X[:, 0] if vec else X


class SmallLU(lx.AbstractLinearSolver):
    """``lineax`` solver for small dense systems, vectorised across ``vmap`` batches.

    ``init`` keeps the (stop-gradient) matrix — or, with ``builder``, the pytree it is built
    from — and every ``compute`` factorises and solves in one batched pass (no LAPACK
    per-matrix calls). Transposition flips a static flag, so reverse-mode implicit
    differentiation solves with Mᵀ. Use for m ≲ 30.
    """

    builder: Callable = identity_builder

    def init(self, operator, options):
        del options
        if operator.in_size() != operator.out_size():
            raise ValueError("SmallLU needs a square operator")
        if not jnp.issubdtype(operator.out_structure().dtype, jnp.floating):
            raise ValueError("SmallLU handles real operators only; use lineax.LU for complex ones")
        return (jax.lax.stop_gradient(operator.as_matrix()), False)

    def compute(self, state, vector, options):
        del options
        M, trans = state
        return solve_small(M, vector, trans=trans, builder=self.builder), lx.RESULTS.successful, {}

    def transpose(self, state, options):
        M, trans = state
        return (M, not trans), options

    def conj(self, state, options):
        return state, options  # real matrices only

    def assume_full_rank(self):
        return True


# ----------------------------------------------------------------- backend-aware defaults
def _on_cpu() -> bool:
    # the backend jit lowers for (the default one unless the caller pins another device)
    return jax.default_backend() == "cpu"


def default_dense_solver(n: int) -> lx.AbstractLinearSolver:
    """Default solver for a real (n, n) system inside the Gaussian kernels.

    :class:`SmallLU` on CPU for n ≤ :data:`SMALL_LU_MAX_SIZE` (measured against
    ``lineax.LU`` under ``vmap`` in ``benchmarks/bench_gaussian.py``: LAPACK's per-matrix call
    overhead dominates there), ``lineax.LU`` otherwise and on every other backend (where
    batched LAPACK/cuSOLVER is the natural choice and SmallLU was never measured).
    """
    return SmallLU() if _on_cpu() and n <= SMALL_LU_MAX_SIZE else lx.LU()


def is_positive_definite(Y):
    """True when the symmetric Y (n, n) is positive definite (NaN → False), vmap-friendly:
    :func:`positive_definite` (batch-vectorised Cholesky pivots) on CPU for
    n ≤ :data:`SMALL_LU_MAX_SIZE` · 2, ``jnp.linalg.cholesky`` otherwise and on other
    backends."""
    Y = jnp.asarray(Y)
    if _on_cpu() and Y.shape[-1] <= 2 * SMALL_LU_MAX_SIZE:
        return positive_definite(Y)
    return jnp.all(jnp.isfinite(jnp.linalg.cholesky(Y)))
