"""Fast evaluation of the paper-004 rate-equation steady states over parameter grids and sweeps.

The closed form of :func:`jaxbind.quantum.cooling.steady_state_occupations` (paper 004
eqs. 14–15, C1–C2, physical root, result codes) evaluated over many points in cache-sized
blocks (``lax.map``), with the separable parts of a grid evaluated once on its axes.  Same
values and results as the per-point function.

On CPU the kernels are compiled with XLA options preferring 512-bit vectors (an internal
tuning, applied automatically when called outside jit: see ``_GRID_COMPILER_OPTIONS``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

import warnings

from .._checks import is_concrete
from .cooling import CoolingParams, CoolingSteadyState, _closed_form, _result

__all__ = ["steady_state_grid", "steady_state_sweep"]

# Per-executable XLA options for the grid/sweep kernels on CPU (internal; not public API),
# used automatically by ``steady_state_grid``/``steady_state_sweep`` when called outside jit
# on the CPU backend (a user's own jit gets XLA's defaults, ~1.7× slower on AVX-512
# CPUs — ``benchmarks/bench_cooling.py`` measures both).  XLA CPU asks
#: LLVM for 256-bit vectors by default even on AVX-512 hardware; the closed form is
#: compute-bound (~40 flops, 2 sqrt, 2 div per point, recomputed by XLA in each of the three
#: output fusions), so 512-bit vectors halve its time (11–14 → 5–6 ns per grid point on the
#: development CPU, AMD Zen 5).  Results are bitwise identical (no fast-math: elementwise
#: IEEE operations do not depend on the vector width).  Other ISAs ignore the preference.
_GRID_COMPILER_OPTIONS = {"xla_cpu_prefer_vector_width": 512}


def __getattr__(name):
    # one release: the CPU tuning is no longer public API
    if name == "GRID_COMPILER_OPTIONS":
        warnings.warn("jaxbind.quantum.cooling_grid.GRID_COMPILER_OPTIONS is internal and will be "
                      "removed; steady_state_grid/steady_state_sweep apply it on CPU by themselves",
                      DeprecationWarning, stacklevel=2)
        return dict(_GRID_COMPILER_OPTIONS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _chunked(p, rows_per_chunk, shape):
    # lax.map over blocks of the leading axis of the broadcast shape; fields that do not vary
    # along it stay whole (closure constants), so separable parts are never broadcast to the
    # full grid.  The tail is padded by repeating the last row (never a new bad status); the
    # padded length is a multiple of the block so lax.map writes its outputs in place.
    leaves, treedef = jax.tree_util.tree_flatten(p)
    nd = len(shape)
    leaves = [jnp.reshape(x, (1,) * (nd - jnp.ndim(x)) + jnp.shape(x)) for x in leaves]
    n0 = shape[0]
    rows = max(1, min(int(rows_per_chunk), n0))
    pad = (-n0) % rows
    chunked = [x.shape[0] > 1 for x in leaves]
    xs = [jnp.pad(x, [(0, pad)] + [(0, 0)] * (nd - 1), mode="edge").reshape(
        (-1, rows) + x.shape[1:]) for x, c in zip(leaves, chunked) if c]
    block = (rows,) + tuple(shape[1:])

    def run(blk):
        it = iter(blk)
        q = jax.tree_util.tree_unflatten(treedef, [next(it) if c else x
                                                   for x, c in zip(leaves, chunked)])
        return tuple(jnp.broadcast_to(o, block) for o in _closed_form(q))

    out = jax.lax.map(run, xs)
    return tuple(o.reshape((-1,) + tuple(shape[1:]))[:n0] for o in out)


def _wrap(na, nb, status):
    return CoolingSteadyState(na, nb, _result(status))


def steady_state_sweep(p: CoolingParams, *, chunk_size: int = 2048) -> CoolingSteadyState:
    """Closed-form steady states (``steady_state_occupations``, ``throw=False``) over a batch of
    parameter points given point by point (fields broadcast to the full shape).

    Why this exists: under a plain ``jax.vmap`` over 10⁶ points XLA materializes every
    intermediate shared by the outputs and the status bookkeeping (divides and square roots
    are not duplicated into several consumers), ~13 full passes over 8 MB arrays, so the
    kernel is memory-bound.  Evaluating it in cache-sized chunks (``lax.map`` over
    ``chunk_size``-point blocks) keeps those intermediates in cache; results and statuses
    are identical to the per-point function.  For parameters on the axes of a grid (e.g.
    K_g × g) use ``steady_state_grid``, which also skips the separable work.

    Args:
        p: ``CoolingParams`` whose array fields broadcast to a common shape (any rank).
        chunk_size: points per block (≈ 2k: blocks stay in L1/L2, and XLA does not split
            loops this small over threads — larger blocks ran on 2 threads at ~1.5× the CPU
            time for the same wall time).
    Returns:
        ``CoolingSteadyState`` with fields of the broadcast shape; bad points carry NaN and
        their result.

    Called outside jit (concrete ``p``) it runs a cached executable, on CPU compiled with
    512-bit vector preference (module docstring).
    """
    if is_concrete(p):
        return _compiled("sweep")(p, int(chunk_size))
    return _sweep_impl(p, chunk_size)


def _sweep_impl(p, chunk_size):
    leaves, treedef = jax.tree_util.tree_flatten(p)
    shape = jnp.broadcast_shapes(*(jnp.shape(x) for x in leaves))
    n = int(math.prod(shape))
    if n == 0:
        raise ValueError("steady_state_sweep: p has no points")
    # scalar fields stay unbatched constants (broadcasting them would add full-size passes)
    flat = [jnp.broadcast_to(x, shape).reshape(n) if jnp.size(x) > 1 else jnp.reshape(x, ())
            for x in leaves]
    out = _chunked(jax.tree_util.tree_unflatten(treedef, flat), chunk_size, (n,))
    return _wrap(*(x.reshape(shape) for x in out))


def steady_state_grid(p: CoolingParams, *, chunk_size: int = 2048) -> CoolingSteadyState:
    """Closed-form steady states (paper 004 eqs. 14–15, C1–C2; same values and statuses as
    ``steady_state_occupations(..., throw=False)`` point by point) on a grid whose parameters
    are given on its axes, e.g. Fig. 2: ``CoolingParams.from_kg(kg[:, None], g2, g[None, :])``.

    The fields are *not* broadcast to the grid: everything that depends only on the bath side
    (g, Δ, γ, κ, n̄ → κ'_a, n̄'_a, 1/(κ'_a+κ_b), …) or only on the coupling (g1, g2 →
    2(g1 ± g2)², 8 g1 g2) is evaluated once on its axis, and a grid point costs ~40 flops,
    2 square roots and 2 divisions in one fused pass.  Evaluated in blocks of whole rows of
    the leading axis (``lax.map``, ≈ ``chunk_size`` points each) so the working set stays in
    cache.

    Args:
        p: ``CoolingParams`` whose array fields broadcast to a common shape of rank ≥ 1
            (typically (n, 1) and (1, m)).
        chunk_size: target points per block; a block holds at least one leading-axis row
            (≈ 2k, see ``steady_state_sweep``).
    Returns:
        ``CoolingSteadyState`` with fields of the broadcast shape; bad points carry NaN and
        their result.

    Performance: called outside jit (concrete ``p``) it runs a cached executable, on CPU
    compiled with a 512-bit vector preference (~1.7× faster on AVX-512 CPUs; compiler
    options belong to the outermost executable, so a user's own jit gets XLA's defaults).
    """
    if is_concrete(p):
        return _compiled("grid")(p, int(chunk_size))
    return _grid_impl(p, chunk_size)


_COMPILED = {}


def _compiled(kind):
    # one cached jit per (kind, backend); the XLA CPU options only on the CPU backend
    backend = jax.default_backend()
    key = (kind, backend)
    if key not in _COMPILED:
        impl = _grid_impl if kind == "grid" else _sweep_impl
        opts = _GRID_COMPILER_OPTIONS if backend == "cpu" else None
        _COMPILED[key] = jax.jit(impl, static_argnums=1, compiler_options=opts)
    return _COMPILED[key]


def _grid_impl(p, chunk_size):
    leaves = jax.tree_util.tree_leaves(p)
    shape = tuple(jnp.broadcast_shapes(*(jnp.shape(x) for x in leaves)))
    if math.prod(shape) == 0:
        raise ValueError("steady_state_grid: p has no points")
    if len(shape) == 0:
        shape = (1,)
        out = _chunked(p, 1, shape)
        return _wrap(*(o.reshape(()) for o in out))
    row = max(1, math.prod(shape[1:]))
    return _wrap(*_chunked(p, max(1, int(chunk_size) // row), shape))
