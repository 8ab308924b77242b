"""The coupled multi-particle T-matrix system and its solve (multiple scattering).

Each particle i scatters the field exciting it, the incident beam plus the fields scattered by
all other particles (Mackowski, J. Opt. Soc. Am. A 11, 2851 (1994) eq. 3; Mishchenko et al.
2002 §5.9):

    p_i = T_i ( a_i + Σ_{j≠i} A(ρ_i − ρ_j) p_j ),

i.e. (1 − T A) p = T a with T block-diagonal (single-particle T-matrices, :mod:`.tmatrix`),
A the translation matrices of :mod:`.translation` and a the incident regular-wave
coefficients of :mod:`.incident`. Writing the system in this form is the block-diagonal (T)
preconditioning of (T⁻¹ − A) p = a.

Translations are applied, not formed (:class:`_Interactions`): since A(d) = W·u(d) with
static weights W and the pair factors u_P = h_p(|d|) Y_pq(d̂) (:mod:`.translation`), a
product A p is one dense matrix product of the stored (N, N, (2 l_max + 1)²) pair factors
with small per-particle moments W·p, and the N↔M symmetry of the translations halves it
again. Measured at N = 200, l_max = 2 (benchmarks/bench_multipoles.py): the whole
assemble + BiCGStab solve + forces in ≈ 0.17 CPU-s, 14× faster than session 8's solve,
which formed the translation matrix and iterated on it.

Solvers (objects of :mod:`jaxbind.solvers`): :class:`~jaxbind.solvers.Direct` (default;
dense LU through lineax, memory O(N² l_max⁴)), :class:`~jaxbind.solvers.GMRES` or a lineax
Krylov solver such as ``lineax.BiCGStab`` (on the stored pair factors while they take
≤ ``DENSE_BLOCK_BYTES`` = 512 MiB, e.g. N ≤ 1158 at l_max = 2 in float64; above that the
pair factors are formed again in every step, a block of rows at a time, O(N l_max²)
memory), :class:`~jaxbind.solvers.Born` ``(order)`` (scattering events), or any lineax
solver. A configuration whose circumscribing
spheres intersect (centre distance < sum of radii: the addition theorem does not hold
there) raises with ``throw=True`` (naming the pair for N ≤ 24) and gives NaN and
``RESULTS.overlap`` with ``throw=False`` (same criterion and code as the dipole engine).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._types import Array, Bool, Complex, Float, Int
from ...results import RESULTS, code, message
from ...solvers import GMRES, Born
from ..dipoles import (_MATRIX_FREE, _NAMED_PAIRS_MAX_N, _overlap, _rel_residual,
                       classify_solution, linear_solve)
from .translation import (_rows_p_max, pair_factors, translate_rows, translation_matrices,
                          translation_rows)
from .vswf import n_coefficients

__all__ = ["MultipoleSystem", "MultipoleSolution", "truncate", "interaction_matrix",
           "apply_interaction", "solve_system"]


def truncate(c, l_from: int, l_to: int):
    """Coefficients (..., n(l_from)) → (..., n(l_to)) (drop or zero-pad degrees)."""
    nf, nt = n_coefficients(l_from) // 2, n_coefficients(l_to) // 2
    a, b = c[..., :nf], c[..., nf:]
    if nt <= nf:
        return jnp.concatenate([a[..., :nt], b[..., :nt]], axis=-1)
    pad = [(0, 0)] * (c.ndim - 1) + [(0, nt - nf)]
    return jnp.concatenate([jnp.pad(a, pad), jnp.pad(b, pad)], axis=-1)


def _rows(l_from: int, l_to: int) -> np.ndarray:
    """Static positions of the degree-≤ l_to entries inside a degree-≤ l_from vector."""
    nf, nt = n_coefficients(l_from) // 2, n_coefficients(l_to) // 2
    return np.concatenate([np.arange(nt), nf + np.arange(nt)])


def _safe_displacements(ri, rj, same):
    """ρ_i − ρ_j with a harmless stand-in (1, 1, 1) where ``same`` (the i = j diagonal)."""
    d = ri - rj
    return jnp.where(same[..., None], jnp.ones_like(d), d)


def interaction_blocks(rho, l_src: int, l_dst: int):
    """(N, N, n_dst, n_src) translations A(ρ_i − ρ_j), zero blocks i = j (formed in one
    batched call of :func:`.translation.translation_matrices`)."""
    n = rho.shape[0]
    same = jnp.eye(n, dtype=bool)
    A = translation_matrices(l_src, l_dst, _safe_displacements(rho[:, None], rho[None, :], same))
    return jnp.where(same[:, :, None, None], jnp.zeros((), A.dtype), A)


def interaction_matrix(rho, l_src: int, l_dst: int):
    """Dense (N n_dst, N n_src) matrix of the translations A(ρ_i − ρ_j), zero blocks i = j."""
    blocks = interaction_blocks(rho, l_src, l_dst)
    n, nd, ns = blocks.shape[0], blocks.shape[2], blocks.shape[3]
    return jnp.transpose(blocks, (0, 2, 1, 3)).reshape(n * nd, n * ns)


def apply_interaction(rho, p, l_src: int, l_dst: int, batch: int = 64):
    """Σ_{j≠i} A(ρ_i − ρ_j) p_j for every i, matrix-free: (N, n_dst).

    The pair factors of ``batch`` destination particles at a time are formed and used at once
    (``lax.map``; :func:`.translation.translate_rows`), so memory is O(batch · N · l_max²)
    instead of the dense O(N² l_max⁴).
    """
    hd = n_coefficients(l_dst) // 2
    e, m = _electric_magnetic(_rows_on_the_fly(rho, _two_columns(p), l_src, l_dst, 0, hd, batch))
    return jnp.concatenate([e, m], axis=-1)


def _rows_on_the_fly(rho, q, l_src: int, l_dst: int, lo: int, hi: int, batch: int = 64):
    """:func:`.translation.translate_rows` with the pair factors formed ``batch`` rows at a
    time: (N, hi − lo, 2)."""
    n = rho.shape[0]
    idx = jnp.arange(n)
    p_max = _rows_p_max(l_src, l_dst, lo, hi)

    def chunk(ri, i):
        u = pair_factors(ri[None], rho, p_max, same=(idx == i)[None])
        return translate_rows(u, q, l_src, l_dst, lo, hi)[0]

    return jax.lax.map(lambda a: chunk(*a), (rho, idx), batch_size=min(n, batch))


# an iterative solve stores the (N, N, (2 l_max + 1)²) pair factors of the translations once
# when they take at most this many bytes (then each Krylov step is one dense matrix product
# with them, :class:`_Interactions`); above it they are formed again in every step, a block
# of rows at a time (memory O(N)).
DENSE_BLOCK_BYTES = 2**29


class MultipoleSystem(eqx.Module):
    """The scaled system (1 − T A) p = T a of N particles (module docstring).

    Attributes:
        rho: (N, 3) scaled centres k x (a spread-out substitute where ``overlap``).
        tmatrix: (N, n, n) single-particle T-matrices, n = 2 l_max(l_max + 2).
        incident: (N, n₁) incident coefficients to degree l_max + 1 (the forces need one
            degree more than the solve).
        l_max: static truncation degree.
        overlap, worst: bool flag and flat index i·N + j of the closest pair.
        k, E0: wavenumber (rad/m) and reference amplitude (V/m) of the beam.
        tdiag: (N, n) the diagonals of ``tmatrix`` when every T-matrix is diagonal in
            (l, m, p) (Mie, core–shell and dipole spheres), else None; then T is applied as
            a vector scale. Whoever replaces ``tmatrix`` must replace (or drop) it too.
    """

    rho: Float[Array, "n 3"]
    tmatrix: Complex[Array, "n nc nc"]
    incident: Complex[Array, "n nc1"]
    l_max: int = eqx.field(static=True)
    overlap: Bool[Array, ""]
    worst: Int[Array, ""]
    k: Float[Array, "..."]
    E0: Float[Array, "..."]
    tdiag: Complex[Array, "n nc"] | None = None

    @property
    def n(self) -> int:
        return self.rho.shape[0]

    def rhs(self):
        return _apply_t(self, truncate(self.incident, self.l_max + 1, self.l_max))

    def apply(self, p):
        """(1 − T A) p, matrix-free, p (N, n)."""
        Ap = apply_interaction(self.rho, p, self.l_max, self.l_max)
        return p - jnp.einsum("iab,ib->ia", self.tmatrix, Ap)

    def matrix(self):
        """1 − T A as a dense (N n, N n) matrix."""
        M = interaction_matrix(self.rho, self.l_max, self.l_max)
        n, nc = self.tmatrix.shape[0], self.tmatrix.shape[1]
        TM = jnp.einsum("iab,ibc->iac", self.tmatrix, M.reshape(n, nc, n * nc)).reshape(n * nc, n * nc)
        return jnp.eye(n * nc, dtype=TM.dtype) - TM


class MultipoleSolution(eqx.Module):
    """Scattered coefficients of every particle (scaled units).

    Attributes:
        p: (N, n) outgoing-wave coefficients [a; b] of each particle (NaN if the solve failed).
        exciting: (N, n₁) regular coefficients (degree ≤ l_max + 1) of the field exciting each
            particle: incident plus the waves scattered by the others.
        incident: (N, n₁) regular coefficients of the incident beam alone.
        rho: (N, 3) scaled centres.
        result: :data:`jaxbind.RESULTS` item; residual: relative residual of the system.
        l_max: static truncation; k, E0: wavenumber and reference amplitude.
    """

    p: Complex[Array, "n nc"]
    exciting: Complex[Array, "n nc1"]
    incident: Complex[Array, "n nc1"]
    rho: Float[Array, "n 3"]
    result: RESULTS
    residual: Float[Array, ""]
    l_max: int = eqx.field(static=True)
    k: Float[Array, "..."]
    E0: Float[Array, "..."]

    @property
    def status(self):
        return code(self.result)


def _pair_messages(n, fn):
    return [f"{fn}: particles {i} and {j} overlap (their circumscribing spheres intersect; "
            "the addition theorem does not hold there)" for i, j in
            (divmod(f, n) for f in range(n * n))]


def check_overlap(rho, radii_scaled, throw: bool, fn: str):
    """(ρ or a spread-out substitute, overlap flag, worst pair); raises with ``throw``."""
    n = rho.shape[0]
    overlap, worst = _overlap(rho, radii_scaled)
    if throw:
        if n <= _NAMED_PAIRS_MAX_N:
            rho = eqx.branched_error_if(rho, overlap, worst, _pair_messages(n, fn))
        else:
            rho = eqx.error_if(rho, overlap, f"{fn}: " + message(code(RESULTS.overlap)))
    spread = jnp.zeros_like(rho).at[:, 0].set(10.0 * jnp.arange(n, dtype=rho.dtype))
    return jnp.where(overlap, spread, rho), overlap, worst


def _swap_halves(p):
    """[a; b] → [b; a] on the last axis."""
    h = p.shape[-1] // 2
    return jnp.concatenate([p[..., h:], p[..., :h]], axis=-1)


def _two_columns(p):
    """(N, n) → (n, N, 2): p and p with its electric/magnetic halves swapped, laid out
    (b, j, column) as :func:`.translation.translate_rows` takes them."""
    return jnp.stack([p.T, _swap_halves(p).T], axis=-1)


def _electric_magnetic(y):
    """(N, h, 2) products of the electric rows with (p, swapped p) → the (N, h) electric and
    magnetic rows of A p (the N↔M symmetry, :class:`_Interactions`)."""
    return y[..., 0], y[..., 1]


class _Interactions:
    """Σ_{j≠i} A(ρ_i − ρ_j) p_j for a solve, from pair factors stored once.

    Only the pair factors u_P = h_p Y_pq (degrees p ≤ 2L) are stored, (N, N, (2L + 1)²); a
    product with the translations is one dense matrix product with them
    (:func:`.translation.translate_rows`), never the (N n)² matrix — which a Krylov step
    would have to read — except for a direct solve (:meth:`matrix`). The translations of
    [N; M] coefficients have the block form [[A, B], [B, A]] (Stein 1961; Cruzan 1962: the
    same A translates N to N and M to M, the same B couples them; checked on the weights in
    the tests): the magnetic rows are the electric ones with the two source halves exchanged,
    so only electric rows are applied, to the two columns (p, p with halves swapped).
    The degree-(L + 1) rows (the exciting coefficients the forces need, once after the
    solve) are formed on the fly, ``batch`` rows at a time.
    """

    def __init__(self, rho, L: int):
        self.rho, self.L, self.n = rho, L, rho.shape[0]
        self.h = n_coefficients(L) // 2
        self.u = pair_factors(rho, rho, 2 * L)

    def apply(self, p):
        """A p on degrees ≤ L: (N, n)."""
        e, m = _electric_magnetic(translate_rows(self.u, _two_columns(p), self.L, self.L,
                                                 0, self.h))
        return jnp.concatenate([e, m], axis=-1)

    def exciting(self, p):
        """A p to degree L + 1 (the scattered part of the exciting coefficients): (N, n₁)."""
        L, h = self.L, self.h
        q = _two_columns(p)
        e, m = _electric_magnetic(translate_rows(self.u, q, L, L, 0, h))
        eo, mo = _electric_magnetic(_rows_on_the_fly(self.rho, q, L, L + 1, h,
                                                     n_coefficients(L + 1) // 2))
        return jnp.concatenate([e, eo, m, mo], axis=-1)

    def matrix(self):
        """The dense A on degrees ≤ L, (N n, N n) in the (i, a) × (j, b) order of p, its
        electric rows gathered from the pair factors (direct solves only)."""
        n, h = self.n, self.h
        top = translation_rows(self.u, self.L, self.L, 0, h)  # (i, a, b = (h', b'), j)
        top = top.reshape(n, h, 2, h, n)
        full = jnp.stack([top, top[:, :, ::-1]], axis=1)  # (i, h, a, h', b, j)
        return jnp.moveaxis(full, -1, 3).reshape(2 * n * h, 2 * n * h)


def _apply_t(system, x):
    """T x per particle (a vector scale for diagonal T-matrices)."""
    if system.tdiag is not None:
        return system.tdiag * x
    return jnp.einsum("iab,ib->ia", system.tmatrix, x)


def solve_system(system: MultipoleSystem, solver, *, throw: bool, fn: str) -> MultipoleSolution:
    """Solve ``system`` with a solver object (module docstring)."""
    n, L = system.n, system.l_max
    nc = n_coefficients(L)
    b = system.rhs()
    result = RESULTS.where(system.overlap, RESULTS.overlap, RESULTS.successful)
    iterative = isinstance(solver, (GMRES, *_MATRIX_FREE))
    stored_bytes = n * n * (2 * L + 1) ** 2 * jnp.dtype(b.dtype).itemsize  # pair factors
    if n == 1:
        # one particle: no other particle's wave reaches it (A = 0, the system is p = T a);
        # the translation tables (host cost growing like l_max⁸) are never built
        n1 = n_coefficients(L + 1)
        interact = lambda p: jnp.zeros((1, n1), p.dtype)  # noqa: E731
        TAi = jnp.zeros_like

        def matrix():
            return jnp.eye(nc, dtype=b.dtype)
    elif (iterative or isinstance(solver, Born)) and stored_bytes > DENSE_BLOCK_BYTES:
        # matrix-free: the translations (to degree L + 1, the forces need it) on the fly
        interact = lambda p: apply_interaction(system.rho, p, L, L + 1)  # noqa: E731
        # inside the iteration only degrees ≤ L are needed: half the translation work
        TAi = lambda p: _apply_t(system, apply_interaction(system.rho, p, L, L))  # noqa: E731
        matrix = None
    else:
        # the pair factors stored once (:class:`_Interactions`); each Krylov step is one
        # product with them; the dense 1 − T A only for a direct solve
        A = _Interactions(system.rho, L)
        interact = A.exciting
        TAi = lambda p: _apply_t(system, A.apply(p))  # noqa: E731

        def matrix():
            M = A.matrix()
            if system.tdiag is not None:
                TM = system.tdiag.reshape(-1)[:, None] * M
            else:
                TM = jnp.einsum("iab,ibc->iac", system.tmatrix,
                                M.reshape(n, nc, n * nc)).reshape(n * nc, n * nc)
            return jnp.eye(n * nc, dtype=TM.dtype) - TM
    apply = lambda p: p - TAi(p)  # noqa: E731
    keep = _rows(L + 1, L)
    if isinstance(solver, Born):
        p = jax.lax.fori_loop(0, solver.order, lambda _, p: b + TAi(p), b)
    else:
        pf, lres = linear_solve(solver, b.reshape(-1),
                                lambda v: apply(v.reshape(n, nc)).reshape(-1), matrix)
        p = pf.reshape(n, nc)
        result = RESULTS.where(result == RESULTS.successful, RESULTS.promote(lres), result)
    scattered = interact(p)  # (N, n₁): the other particles' waves at each particle
    residual = _rel_residual(p - _apply_t(system, scattered[:, keep]) - b, b)
    p, result = classify_solution(p, residual, b, result, solver, throw=throw, fn=fn,
                                  dtype=system.rho.dtype)
    ok = result == RESULTS.successful
    nan = jnp.asarray(jnp.nan, p.dtype)
    exciting = system.incident + jnp.where(ok, scattered, nan)
    return MultipoleSolution(p, exciting, system.incident, system.rho, result, residual, L,
                             system.k, system.E0)
