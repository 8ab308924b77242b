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

Methods:

* ``"direct"``: dense LU through ``lineax`` (exact up to rounding);
* ``"born"``: ``order`` = n scattering events, x⁽⁰⁾ = A y, x⁽ˢ⁾ = A (y + M x⁽ˢ⁻¹⁾) (paper 003
  "one iteration of eq. (4)" is n = 1). The local field acting on the dipoles x⁽ⁿ⁾ is
  y + M x⁽ⁿ⁻¹⁾, so the moments that radiate the scattered field (``source_p``,
  ``source_m``) are the previous iterate; forces use both (paper 003 eqs. 3–4);
* ``"gmres"``: matrix-free restarted GMRES through ``lineax`` (O(N) memory, for large N),
  non-convergence reported as a status.

Every method is differentiable w.r.t. positions, polarizabilities, wavelength and beam
parameters; the linear solves are differentiated implicitly by ``lineax`` (not unrolled).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx

from .. import constants as C
from .._types import Array
from .green import coupled_green_matrix_scaled, green_matrix_scaled
from .particles import Particles, as_particles

__all__ = [
    "DipoleSolution",
    "solve_dipoles",
    "SUCCESS",
    "OVERLAP",
    "NOT_CONVERGED",
    "SINGULAR",
    "STATUS_MESSAGES",
]

SUCCESS = 0
OVERLAP = 1
NOT_CONVERGED = 2
SINGULAR = 3
STATUS_MESSAGES = (
    "success",
    "solve_dipoles: two particles overlap (centre distance < sum of radii)",
    "solve_dipoles: the iterative solver did not converge (raise max_steps or use 'direct')",
    "solve_dipoles: singular or ill-posed system (non-finite or inaccurate solution)",
)
_METHODS = ("direct", "born", "gmres")
# Largest N for which an overlap error names the offending pair (one message per pair).
_NAMED_PAIRS_MAX_N = 24
# Observer chunk for the O(N²) matrix-free kernels (bounds memory at chunk·N·3 complex).
_CHUNK = 256


class DipoleSolution(eqx.Module):
    """Result of :func:`solve_dipoles` (scaled units, see :mod:`jaxbind.constants`).

    Attributes:
        p: (N, 3) complex scaled electric dipoles p̃ = k³p/(4πε0E0).
        m: (N, 3) complex scaled magnetic dipoles m̃ = k³Z0 m/(4πE0), or None.
        source_p, source_m: the moments whose scattered fields make up the local field that
            acts on p, m (equal to p, m for the exact methods; the previous Born iterate for
            ``"born"``).
        status: int32 scalar, 0 success, 1 overlap, 2 not converged, 3 singular.
        residual: relative residual ‖(1 − AM)x − Ay‖/‖Ay‖ of the exact system (for
            ``"born"`` it measures how far the truncated series is from self-consistency).
        k: wavenumber (rad/m); E0: reference field amplitude (V/m) of the beam.
    """

    p: Array
    m: Array | None
    source_p: Array
    source_m: Array | None
    status: Array
    residual: Array
    k: Array
    E0: Array

    @property
    def dipole_moments(self):
        """(N, 3) complex electric dipole moments p (C·m)."""
        return self.p * ((4.0 * jnp.pi * C.epsilon0) * self.E0 / self.k**3)

    @property
    def magnetic_moments(self):
        """(N, 3) complex magnetic dipole moments m (A·m²), or None."""
        if self.m is None:
            return None
        return self.m * ((4.0 * jnp.pi / C.Z0) * self.E0 / self.k**3)


# --------------------------------------------------------------------------------------
# small helpers shared with forces.py
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


def _radial(r):
    """Radial functions of g = f1 1 + f2 n⊗n and gc v = h n × v, ρ = r (green.py docstring)."""
    inv = 1.0 / r
    ph = jnp.exp(1j * r)
    f1 = ph * (inv + 1j * inv**2 - inv**3)
    f2 = ph * (-inv - 3j * inv**2 + 3.0 * inv**3)
    h = ph * (inv + 1j * inv**2)
    return f1, f2, h


def _safe_separations(rho_i, rho_src, mask):
    """d = ρ_i − ρ_j (N,3), |d| and n with masked (self) entries replaced by a unit vector."""
    d = rho_i[None, :] - rho_src
    unit = jnp.zeros_like(d).at[:, 0].set(1.0)
    d = jnp.where(mask[:, None], d, unit)
    r = jnp.sqrt(jnp.sum(d * d, axis=-1))
    return d, r, d / r[:, None]


def _fields_at(rho_i, mask, rho_src, P, Mm):
    """Scattered (Ẽ, H̃) at ρ_i from dipoles P, Mm (N,3) at rho_src, sources where mask."""
    d, r, n = _safe_separations(rho_i, rho_src, mask)
    f1, f2, h = _radial(r)
    w = mask.astype(r.dtype)
    f1, f2, h = f1 * w, f2 * w, h * w
    nP = jnp.sum(n * P, axis=-1)
    E = jnp.sum(f1[:, None] * P + (f2 * nP)[:, None] * n, axis=0)
    if Mm is None:
        return E, None
    nM = jnp.sum(n * Mm, axis=-1)
    E = E - jnp.sum(h[:, None] * jnp.cross(n, Mm), axis=0)
    H = jnp.sum(h[:, None] * jnp.cross(n, P) + f1[:, None] * Mm + (f2 * nM)[:, None] * n, axis=0)
    return E, H


def _scattered_fields(rho, P, Mm):
    """Scattered (Ẽ, H̃) (N,3) at every particle from all the others, matrix-free, chunked."""
    n = rho.shape[0]
    idx = jnp.arange(n)

    def one(args):
        rho_i, i = args
        E, H = _fields_at(rho_i, idx != i, rho, P, Mm)
        return E, (jnp.zeros_like(E) if H is None else H)

    E, H = _map_rows(one, (rho, idx), n)
    return E, (None if Mm is None else H)


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


class _Problem(eqx.Module):
    """Scaled problem data: ρ (N,3), incident fields y (K,3), polarizability (K[,3,3])."""

    rho: Array
    y: Array
    alpha: Array
    magnetic: bool = eqx.field(static=True)
    overlap: Array
    worst: Array
    k: Array
    E0: Array


def _prepare(particles, beam, *, throw):
    ps = as_particles(particles)
    rdt = ps.positions.dtype
    k = jnp.asarray(beam.k).astype(rdt)
    E0 = jnp.asarray(beam.reference_amplitude).astype(rdt)
    rho = ps.positions * k
    overlap, worst = _overlap(rho, ps.radii.astype(rdt) * k)
    n = ps.n
    if throw:
        if n <= _NAMED_PAIRS_MAX_N:
            rho = eqx.branched_error_if(rho, overlap, worst, _pair_messages(n))
        else:
            rho = eqx.error_if(rho, overlap, STATUS_MESSAGES[OVERLAP])
    # Overlapping (possibly coincident) particles make the Green tensors singular: in a
    # non-throwing sweep, evaluate a harmless spread-out configuration instead; the status
    # says the point is invalid.
    spread = jnp.zeros_like(rho).at[:, 0].set(10.0 * jnp.arange(n, dtype=rdt))
    rho = jnp.where(overlap, spread, rho)
    ae, am = ps.polarizabilities_scaled(k)
    magnetic = am is not None
    E_inc, H_inc = jax.vmap(beam.fields_scaled)(rho)
    y = jnp.concatenate([E_inc, H_inc], axis=0) if magnetic else E_inc
    return _Problem(rho, y, _stack_pol(ae, am), magnetic, overlap, worst, k, E0)


def _dense_interaction(prob):
    return coupled_green_matrix_scaled(prob.rho) if prob.magnetic else green_matrix_scaled(prob.rho)


def _dense_system(prob, Mmat):
    """1 − A M as a dense (3K, 3K) matrix."""
    K = prob.y.shape[0]
    if prob.alpha.ndim == 1:
        AM = jnp.repeat(prob.alpha, 3)[:, None] * Mmat
    else:
        AM = jnp.einsum("kab,kbm->kam", prob.alpha, Mmat.reshape(K, 3, 3 * K)).reshape(3 * K, 3 * K)
    return jnp.eye(3 * K, dtype=AM.dtype) - AM


def _matfree_interaction(prob):
    """x (K,3) ↦ M x without assembling M (O(N) memory)."""
    n = prob.rho.shape[0]

    def mv(x):
        if prob.magnetic:
            E, H = _scattered_fields(prob.rho, x[:n], x[n:])
            return jnp.concatenate([E, H], axis=0)
        E, _ = _scattered_fields(prob.rho, x, None)
        return E

    return mv


def _rel_residual(r, b):
    nb = jnp.sqrt(jnp.sum(jnp.abs(b) ** 2))
    return jnp.sqrt(jnp.sum(jnp.abs(r) ** 2)) / jnp.where(nb > 0, nb, 1.0)


@eqx.filter_jit
def solve_dipoles(
    particles,
    beam,
    method: str = "direct",
    *,
    order: int = 1,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_steps: int | None = None,
    restart: int = 30,
    throw: bool = True,
) -> DipoleSolution:
    """Self-consistent dipole moments of N particles in a beam (paper 003 eq. 4, N-particle).

    Args:
        particles: :class:`~jaxbind.optics.particles.Particles` (or a sequence of
            :class:`~jaxbind.optics.particles.Particle`); positions (N, 3) m, radii (N,) m,
            polarizabilities scalar or tensor, electric or electric + magnetic.
        beam: any beam of :mod:`jaxbind.optics.beams` (``k``, ``reference_amplitude``,
            ``fields_scaled``).
        method: "direct" (dense LU), "born" (``order`` scattering events) or "gmres"
            (matrix-free).
        order: number of scattering events for "born" (static int ≥ 0; 0 = isolated
            particles, 1 = paper 003's single iteration).
        rtol, atol, max_steps, restart: GMRES settings (relative/absolute tolerance, maximum
            iterations — default 10·3K —, Krylov restart length).
        throw: raise (``EquinoxRuntimeError``, naming the overlapping pair for N ≤ 24) on a
            non-zero status; use ``throw=False`` inside sweeps and read ``status``.
    Returns:
        :class:`DipoleSolution` (scaled moments, status, relative residual, k, E0).
    """
    _check_method(method, order)
    prob = _prepare(particles, beam, throw=throw)
    return _solve_prepared(prob, method, order=order, rtol=rtol, atol=atol,
                           max_steps=max_steps, restart=restart, throw=throw)


def _check_method(method, order):
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be a non-negative int, got {order!r}")


def _solve_prepared(prob, method, *, order, rtol, atol, max_steps, restart, throw):
    K = prob.y.shape[0]
    b = _apply_pol(prob.alpha, prob.y)  # A y, (K, 3)
    status = jnp.where(prob.overlap, OVERLAP, SUCCESS).astype(jnp.int32)

    if method == "direct":
        Mmat = _dense_interaction(prob)

        def mv(x):
            return (Mmat @ x.reshape(-1)).reshape(K, 3)

    else:
        mv = _matfree_interaction(prob)

    def op_apply(x):  # (1 − A M) x
        return x - _apply_pol(prob.alpha, mv(x))

    if method == "direct":
        op = lx.MatrixLinearOperator(_dense_system(prob, Mmat))
        sol = lx.linear_solve(op, b.reshape(-1), solver=lx.LU(), throw=False)
        x = sol.value.reshape(K, 3)
        src = x
    elif method == "gmres":
        struct = jax.ShapeDtypeStruct((3 * K,), b.dtype)
        op = lx.FunctionLinearOperator(lambda v: op_apply(v.reshape(K, 3)).reshape(-1), struct)
        steps = 10 * 3 * K if max_steps is None else max_steps
        solver = lx.GMRES(rtol=rtol, atol=atol, max_steps=steps, restart=restart)
        sol = lx.linear_solve(op, b.reshape(-1), solver=solver, throw=False)
        x = sol.value.reshape(K, 3)
        src = x
        conv = sol.result == lx.RESULTS.successful
        status = jnp.where((status == SUCCESS) & ~conv, NOT_CONVERGED, status).astype(jnp.int32)
    else:
        def step(_, carry):
            _, cur = carry
            return cur, b + _apply_pol(prob.alpha, mv(cur))

        src, x = jax.lax.fori_loop(0, order, step, (jnp.zeros_like(b), b))

    residual = _rel_residual(op_apply(x) - b, b)
    finite = jnp.all(jnp.isfinite(x)) & jnp.isfinite(residual)
    eps = jnp.finfo(prob.rho.dtype).eps
    # LU is backward stable, so a genuine solve has residual ~ eps; a large one means a
    # (numerically) singular system.
    bad = ~finite | ((residual > jnp.sqrt(eps)) & (method == "direct"))
    status = jnp.where((status == SUCCESS) & bad, SINGULAR, status).astype(jnp.int32)
    if throw:
        x = eqx.branched_error_if(x, status != SUCCESS, status, STATUS_MESSAGES)
    n = prob.rho.shape[0]
    if prob.magnetic:
        p, m, sp, sm = x[:n], x[n:], src[:n], src[n:]
    else:
        p, m, sp, sm = x, None, src, None
    return DipoleSolution(p, m, sp, sm, status, residual, prob.k, prob.E0)
