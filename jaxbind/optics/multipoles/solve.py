"""The coupled multi-particle T-matrix system and its solve (multiple scattering).

Each particle i scatters the field exciting it, the incident beam plus the fields scattered by
all other particles (Mackowski, J. Opt. Soc. Am. A 11, 2851 (1994) eq. 3; Mishchenko et al.
2002 §5.9):

    p_i = T_i ( a_i + Σ_{j≠i} A(ρ_i − ρ_j) p_j ),

i.e. (1 − T A) p = T a with T block-diagonal (single-particle T-matrices, :mod:`.tmatrix`),
A the translation matrices of :mod:`.translation` and a the incident regular-wave
coefficients of :mod:`.incident`. Writing the system in this form is the block-diagonal (T)
preconditioning of (T⁻¹ − A) p = a.

Solvers (objects of :mod:`jaxbind.solvers`): :class:`~jaxbind.solvers.Direct` (default;
dense LU through lineax, memory O(N² l_max⁴)), :class:`~jaxbind.solvers.GMRES` (on the dense
translation blocks while they take ≤ ``DENSE_BLOCK_BYTES`` = 512 MiB, e.g. N ≤ 264 at
l_max = 2 in float64; above that matrix-free, translations formed on the fly, O(N l_max⁴)
memory), :class:`~jaxbind.solvers.Born`
``(order)`` (scattering events), or a lineax solver. A configuration whose circumscribing
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
from .translation import translation_matrices
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


def apply_interaction(rho, p, l_src: int, l_dst: int, batch: int = 16):
    """Σ_{j≠i} A(ρ_i − ρ_j) p_j for every i, matrix-free: (N, n_dst).

    Rows are processed ``batch`` at a time (``lax.map``), so the translations alive at once
    are O(batch · N · n_dst · n_src): memory O(N) instead of the dense O(N²).
    """
    n = rho.shape[0]
    idx = jnp.arange(n)

    def one(ri, i):
        A = translation_matrices(l_src, l_dst, _safe_displacements(ri, rho, idx == i))
        A = jnp.where((idx == i)[:, None, None], jnp.zeros((), A.dtype), A)
        return jnp.einsum("jab,jb->a", A, p)

    return jax.lax.map(lambda a: one(*a), (rho, idx), batch_size=min(n, batch))


# the dense (N, N, n₁, n) translation blocks are formed once for an iterative solve when they
# take at most this many bytes (then each Krylov step is one matrix–vector product, as in
# other multiparticle Mie codes); above it the solve is matrix-free (memory O(N)).
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
    """

    rho: Float[Array, "n 3"]
    tmatrix: Complex[Array, "n nc nc"]
    incident: Complex[Array, "n nc1"]
    l_max: int = eqx.field(static=True)
    overlap: Bool[Array, ""]
    worst: Int[Array, ""]
    k: Float[Array, "..."]
    E0: Float[Array, "..."]

    @property
    def n(self) -> int:
        return self.rho.shape[0]

    def rhs(self):
        return jnp.einsum("iab,ib->ia", self.tmatrix, truncate(self.incident, self.l_max + 1, self.l_max))

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


def solve_system(system: MultipoleSystem, solver, *, throw: bool, fn: str) -> MultipoleSolution:
    """Solve ``system`` with a solver object (module docstring)."""
    n, L = system.n, system.l_max
    nc = n_coefficients(L)
    b = system.rhs()
    result = RESULTS.where(system.overlap, RESULTS.overlap, RESULTS.successful)
    iterative = isinstance(solver, (GMRES, *_MATRIX_FREE))
    keep = _rows(L + 1, L)
    TA = lambda Ap: jnp.einsum("iab,ib->ia", system.tmatrix, Ap[:, keep])  # noqa: E731
    nc1 = n_coefficients(L + 1)
    dense_bytes = n * n * nc1 * nc * jnp.dtype(b.dtype).itemsize
    if (iterative or isinstance(solver, Born)) and dense_bytes > DENSE_BLOCK_BYTES:
        # matrix-free: the translations (to degree L + 1, the forces need it) on the fly
        interact = lambda p: apply_interaction(system.rho, p, L, L + 1)  # noqa: E731
        # inside the iteration only degrees ≤ L are needed: half the translation work
        TAi = lambda p: jnp.einsum("iab,ib->ia", system.tmatrix,  # noqa: E731
                                   apply_interaction(system.rho, p, L, L))
        apply = lambda p: p - TAi(p)  # noqa: E731
        matrix = None
    else:
        # the translations formed once, as one dense (N n₁, N n) matrix (row-major blocks, so
        # each product is a plain matrix–vector product: the 4-index einsum over (N, N, n₁, n)
        # blocks ran ~10× slower), and the system matrix 1 − T A on degrees ≤ L from it
        blocks = interaction_blocks(system.rho, L, L + 1)  # (N, N, n₁, n)
        A1 = jnp.transpose(blocks, (0, 2, 1, 3)).reshape(n, nc1, n * nc)
        TM = jnp.einsum("iab,ibc->iac", system.tmatrix, A1[:, keep, :]).reshape(n * nc, n * nc)
        S = jnp.eye(n * nc, dtype=b.dtype) - TM
        A1 = A1.reshape(n * nc1, n * nc)
        interact = lambda p: (A1 @ p.reshape(-1)).reshape(n, nc1)  # noqa: E731
        apply = lambda p: (S @ p.reshape(-1)).reshape(n, nc)  # noqa: E731
        TAi = lambda p: p - apply(p)  # noqa: E731
        matrix = lambda: S  # noqa: E731
    if isinstance(solver, Born):
        p = jax.lax.fori_loop(0, solver.order, lambda _, p: b + TAi(p), b)
    else:
        pf, lres = linear_solve(solver, b.reshape(-1),
                                lambda v: apply(v.reshape(n, nc)).reshape(-1), matrix)
        p = pf.reshape(n, nc)
        result = RESULTS.where(result == RESULTS.successful, RESULTS.promote(lres), result)
    scattered = interact(p)  # (N, n₁): the other particles' waves at each particle
    residual = _rel_residual(p - TA(scattered) - b, b)
    p, result = classify_solution(p, residual, b, result, solver, throw=throw, fn=fn,
                                  dtype=system.rho.dtype)
    ok = result == RESULTS.successful
    nan = jnp.asarray(jnp.nan, p.dtype)
    exciting = system.incident + jnp.where(ok, scattered, nan)
    return MultipoleSolution(p, exciting, system.incident, system.rho, result, residual, L,
                             system.k, system.E0)
