"""Truncated Fock space and the master equation of paper 004 eq. 3 (model layer).

Operators and states on a tensor product of truncated oscillators (first mode slowest,
``jnp.kron`` order), the :class:`FockModel` of eq. 3

    dρ/dt = −i(Hρ − ρH†) + i Tr[ρ(H − H†)] ρ + Σ_k r_k D_{x_k} ρ,
    D_x ρ = 2xρx† − x†xρ − ρx†x,

its linear part L₀ (matrix-free), the validity diagnostics of Sec. IV, and what every
steady-state solver shares: the result type :class:`FockSteadyState`, Newton on the
bordered eigenproblem [[L₀ − μ, −ρ], [Tr, 0]] and the result classification. The solvers
themselves are :func:`jaxbind.quantum.fock.steady_state` (dense LU and matrix-free GMRES)
and :mod:`jaxbind.quantum.fock_iterative` (charge-block GMRES); see :mod:`jaxbind.quantum.fock`
for the physics of the steady state.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from typing import Sequence

from numpy.typing import DTypeLike

from .._checks import as_float_array, check_finite, check_positive, is_concrete
from .._types import Array, ArrayLike, Complex, Float, Inexact, Int, Real
from ..results import RESULTS, code

__all__ = [
    "destroy",
    "number",
    "embed",
    "mode_operators",
    "fock_state",
    "thermal_state",
    "dissipator",
    "expect",
    "FockModel",
    "three_mode_model",
    "liouvillian_apply",
    "top_populations",
    "diagnostics",
    "occupations",
    "FockSteadyState",
]


# --------------------------------------------------------------------------------------
# operators and states
# --------------------------------------------------------------------------------------


def _cdtype(dtype: DTypeLike | None = None):
    if dtype is None:
        return jnp.result_type(complex)
    return jnp.result_type(dtype, jnp.complex64)


def destroy(n: int, dtype: DTypeLike | None = None) -> Complex[Array, "n n"]:
    """Annihilation operator a|k⟩ = √k |k−1⟩ truncated to Fock levels 0..n−1."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    # built in NumPy (n is static): no XLA program per size when called eagerly
    return jnp.asarray(np.diag(np.sqrt(np.arange(1, n)), 1).astype(_cdtype(dtype)))


def number(n: int, dtype: DTypeLike | None = None) -> Complex[Array, "n n"]:
    """Number operator a†a = diag(0, …, n−1)."""
    return jnp.asarray(np.diag(np.arange(n)).astype(_cdtype(dtype)))


def embed(op: Inexact[ArrayLike, "m m"], mode: int, dims: tuple[int, ...]) -> Inexact[Array, "n n"]:
    """Single-mode operator ``op`` acting on ``mode`` of the tensor product over ``dims``."""
    dims = tuple(int(d) for d in dims)
    if not 0 <= mode < len(dims):
        raise ValueError(f"mode must be in [0, {len(dims)}), got {mode}")
    xp = np if is_concrete(op) else jnp  # concrete: NumPy, no XLA program per shape
    op = xp.asarray(op)
    if op.shape != (dims[mode], dims[mode]):
        raise ValueError(f"op must have shape {(dims[mode],) * 2}, got {op.shape}")
    out = xp.ones((1, 1), op.dtype)
    for i, d in enumerate(dims):
        out = xp.kron(out, op if i == mode else xp.eye(d, dtype=op.dtype))
    return jnp.asarray(out)


def mode_operators(dims: tuple[int, ...], dtype: DTypeLike | None = None) -> tuple[Complex[Array, "n n"], ...]:
    """Annihilation operators of every mode on the full space (first mode slowest)."""
    return tuple(embed(destroy(d, dtype), i, dims) for i, d in enumerate(dims))


def fock_state(dims: tuple[int, ...], occupations: tuple[int, ...], dtype: DTypeLike | None = None) -> Complex[Array, "n n"]:
    """Density matrix |n_1, n_2, …⟩⟨n_1, n_2, …| (e.g. paper 004's |0⟩_A|2⟩_B|0⟩_C)."""
    if len(occupations) != len(dims) or any(not 0 <= k < d for k, d in zip(occupations, dims)):
        raise ValueError(f"occupations {occupations} do not fit dims {dims}")
    idx = int(np.ravel_multi_index(tuple(occupations), tuple(dims)))
    n = math.prod(dims)
    rho = np.zeros((n, n), _cdtype(dtype))
    rho[idx, idx] = 1
    return jnp.asarray(rho)


def thermal_state(dims: tuple[int, ...], nbars: Float[ArrayLike, " m"] | Sequence[float], dtype: DTypeLike | None = None) -> Complex[Array, "n n"]:
    """Product of truncated thermal states with mean occupations ``nbars`` (renormalized)."""
    nbars = as_float_array(nbars, "nbars")
    check_positive("nbars", nbars, allow_zero=True)
    xp = np if is_concrete(nbars) else jnp  # concrete: NumPy, no XLA program per shape
    nbars = xp.asarray(nbars)
    p = xp.ones((1,), nbars.dtype)
    for d, nb in zip(dims, nbars):
        pk = (nb / (1 + nb)) ** xp.arange(d)
        p = xp.kron(p, pk / pk.sum())
    return jnp.asarray(xp.diag(p).astype(_cdtype(dtype if dtype is not None else nbars.dtype)))


def dissipator(x: Complex[Array, "n n"], rho: Complex[Array, "n n"]) -> Complex[Array, "n n"]:
    """D_x ρ = 2xρx† − x†xρ − ρx†x (paper 004 eq. 3)."""
    xd = x.conj().T
    xdx = xd @ x
    return 2 * x @ rho @ xd - xdx @ rho - rho @ xdx


def expect(op: Inexact[Array, "n n"], rho: Inexact[Array, "n n"]) -> Complex[Array, ""]:
    """Tr[op ρ] (complex)."""
    return jnp.einsum("ij,ji->", op, rho)


# --------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------


class FockModel(eqx.Module):
    """Master equation of paper 004 eq. 3 on a truncated Fock space.

    Args:
        hamiltonian: (n, n) complex, possibly non-Hermitian H_eff.
        jump_ops: (k, n, n) jump operators x_k.
        rates: (k,) rates r_k ≥ 0 multiplying D_{x_k} (D_x = 2xρx† − x†xρ − ρx†x).
        dims: per-mode truncations, prod(dims) = n (static).
        trace_correction: include i Tr[ρ(H − H†)]ρ in the dynamics (static).
        charges: optional (n,) integer charge conserved by H and shifted by a fixed amount by
            each x_k (e.g. total excitation number); enables the block reduction of
            ``steady_state`` (static, validated when the model is concrete).
        jump_shifts: optional (k,) charge change of each x_k (static; lets the block solver of
            :mod:`jaxbind.quantum.fock_iterative` run on traced models).
    """

    hamiltonian: Inexact[Array, "n n"]
    jump_ops: Inexact[Array, "k n n"]
    rates: Float[Array, " k"]
    dims: tuple = eqx.field(static=True)
    trace_correction: bool = eqx.field(static=True, default=True)
    charges: tuple | None = eqx.field(static=True, default=None)
    jump_shifts: tuple | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        n = math.prod(self.dims)
        if self.hamiltonian.shape != (n, n):
            raise ValueError(f"hamiltonian must have shape {(n, n)} for dims {self.dims}, "
                             f"got {self.hamiltonian.shape}")
        if self.jump_ops.ndim != 3 or self.jump_ops.shape[1:] != (n, n):
            raise ValueError(f"jump_ops must have shape (k, {n}, {n}), got {self.jump_ops.shape}")
        if self.rates.shape != self.jump_ops.shape[:1]:
            raise ValueError(f"rates must have shape {self.jump_ops.shape[:1]}, "
                             f"got {self.rates.shape}")
        check_positive("rates", self.rates, allow_zero=True)
        if self.charges is not None:
            if len(self.charges) != n:
                raise ValueError(f"charges must have length {n}, got {len(self.charges)}")
            if is_concrete((self.hamiltonian, self.jump_ops)):
                _check_charges(self)
        if self.jump_shifts is not None and len(self.jump_shifts) != self.jump_ops.shape[0]:
            raise ValueError(f"jump_shifts must have one entry per jump operator "
                             f"({self.jump_ops.shape[0]}), got {len(self.jump_shifts)}")


def _check_charges(model):
    q = np.asarray(model.charges)
    dq = q[:, None] - q[None, :]  # charge change of the matrix element |i⟩⟨j|
    h = np.asarray(model.hamiltonian)
    if np.any(np.abs(h[dq != 0]) > 0):
        raise ValueError("charges: the hamiltonian does not conserve the given charges")
    for k, x in enumerate(np.asarray(model.jump_ops)):
        nz = dq[np.abs(x) > 0]
        if nz.size and np.any(nz != nz[0]):
            raise ValueError(f"charges: jump_ops[{k}] does not shift the charge by a constant")
        if nz.size and model.jump_shifts is not None and nz[0] != model.jump_shifts[k]:
            raise ValueError(f"jump_shifts[{k}] = {model.jump_shifts[k]} but jump_ops[{k}] "
                             f"shifts the charge by {nz[0]}")


def three_mode_parameters(g1, g2, g, gamma, kappa_a, kappa_b, nbar_a, nbar_b, omega_a, omega_b,
                          delta, detuning_sign):
    """Validated parameters of paper 004's three-mode model (eqs. 1–3), shared by the Fock
    (:func:`three_mode_model`) and the Gaussian (:mod:`jaxbind.quantum.nonhermitian`) forms:
    finite values, non-negative rates and occupations, ``detuning_sign`` "cooling" or "eq2".
    Returns the 11 values as arrays, in argument order."""
    if detuning_sign not in ("cooling", "eq2"):
        raise ValueError(f"detuning_sign must be 'cooling' or 'eq2', got {detuning_sign!r}")
    names = ("g1", "g2", "g", "gamma", "kappa_a", "kappa_b", "nbar_a", "nbar_b", "omega_a",
             "omega_b", "delta")
    vals = [as_float_array(v, k) for k, v in zip(names, (g1, g2, g, gamma, kappa_a, kappa_b,
                                                          nbar_a, nbar_b, omega_a, omega_b,
                                                          delta))]
    for k, v in zip(names, vals):
        check_finite(k, v)
    for k, v in zip(names[3:8], vals[3:8]):
        check_positive(k, v, allow_zero=True)
    return vals


def three_mode_model(g1: Real, g2: Real, g: Real, *, gamma: Real, kappa_a: Real, kappa_b: Real,
                     nbar_a: Real, nbar_b: Real, omega_a: Real = 1.0, omega_b: Real = 1.0,
                     delta: Real = 1.0, dims: tuple[int, ...] = (6, 6, 3), detuning_sign: str = "cooling",
                     frame_frequency: Real | None = None, trace_correction: bool = True, dtype: DTypeLike | None = None) -> FockModel:
    """Paper 004's cavity + particle A + particle B model (eqs. 2, 3), modes ordered (A, B, C).

        H = s Δ c†c + ω_a a†a + ω_b b†b + (g1 − g2) a b† + (g1 + g2) a† b + g(a†c + a c†)
            − ω_f (a†a + b†b + c†c),
        jumps: κ_a(1+n̄_a) D_a + κ_a n̄_a D_a† + κ_b(1+n̄_b) D_b + κ_b n̄_b D_b† + γ D_c.

    Detuning sign ``s``: eq. 2 prints −Δc†c with Δ = ω_c − ω_L, but with Δ = ω = 1 (the
    paper's choice, and the cooling sideband Δ = ω_a of eqs. 5–6) that puts the cavity at −ω,
    two mechanical frequencies away from the RWA beam-splitter resonance.  In the frame of the
    drive the cavity term is +(ω_c − ω_L)c†c, so ``"cooling"`` (default) uses s = +1 and
    ``"eq2"`` reproduces eq. 2 as printed (s = −1).

    Frame: H and the dissipators conserve/shift N = a†a + b†b + c†c uniformly, so subtracting
    ω_f N (a frame rotating at ω_f) leaves all populations unchanged and removes the fast
    phase rotation; default ω_f = ω_a.

    Args:
        g1, g2, g: couplings (eq. 1); gamma: cavity rate γ of γ D_c; kappa_a, kappa_b,
            nbar_a, nbar_b: mechanical rates and bath occupations; omega_a, omega_b, delta:
            frequencies; dims: (N_A, N_B, N_C) truncations.
    """
    vals = three_mode_parameters(g1, g2, g, gamma, kappa_a, kappa_b, nbar_a, nbar_b, omega_a,
                                 omega_b, delta, detuning_sign)
    g1, g2, g, gamma, ka, kb, na, nb, wa, wb, delta = vals
    dims = tuple(int(d) for d in dims)
    if len(dims) != 3 or min(dims) < 2:
        raise ValueError(f"dims must be three truncations ≥ 2 (A, B, C), got {dims}")
    cd = _cdtype(dtype if dtype is not None else jnp.result_type(*vals))
    wf = wa if frame_frequency is None else as_float_array(frame_frequency, "frame_frequency")
    # concrete parameters: assembled in NumPy (one implementation, xp = np or jnp), so an
    # eager call compiles no XLA program per operator and shape
    xp = np if is_concrete((vals, wf)) else jnp
    g1, g2, g, gamma, ka, kb, na, nb, wa, wb, delta, wf = (
        xp.asarray(v) for v in (g1, g2, g, gamma, ka, kb, na, nb, wa, wb, delta, wf))
    a, b, c = (xp.asarray(x) for x in mode_operators(dims, cd))
    s = 1.0 if detuning_sign == "cooling" else -1.0
    num = lambda x: x.conj().T @ x  # noqa: E731
    ad, bd, cdg = a.conj().T, b.conj().T, c.conj().T
    H = ((s * delta - wf) * num(c) + (wa - wf) * num(a) + (wb - wf) * num(b)
         + (g1 - g2) * a @ bd + (g1 + g2) * ad @ b + g * (ad @ c + a @ cdg))
    jumps = xp.stack([a, ad, b, bd, c])
    rates = xp.stack([ka * (1 + na), ka * na, kb * (1 + nb), kb * nb, gamma])
    charges = tuple(int(x) for x in np.indices(dims).reshape(len(dims), -1).sum(0))
    rd = np.zeros((), cd).real.dtype
    return FockModel(jnp.asarray(H.astype(cd)), jnp.asarray(jumps.astype(cd)),
                     jnp.asarray(rates.astype(rd)), dims, trace_correction, charges,
                     (-1, 1, -1, 1, -1))



# --------------------------------------------------------------------------------------
# the linear part L₀ and the validity checks
# --------------------------------------------------------------------------------------


def _generator(model):
    # K = −iH − Σ r x†x so that L₀ρ = Kρ + ρK† + Σ 2r xρx†
    x = model.jump_ops
    xdx = jnp.einsum("kji,kjl->kil", x.conj(), x)
    return -1j * model.hamiltonian - jnp.einsum("k,kil->il", model.rates, xdx)


def liouvillian_apply(model: FockModel, rho: Inexact[ArrayLike, "n n"], *,
                      trace_correction: bool | None = None) -> Complex[Array, "n n"]:
    """dρ/dt of paper 004 eq. 3 (matrix-free), ``trace_correction`` defaults to the model's."""
    tc = model.trace_correction if trace_correction is None else trace_correction
    K = _generator(model)
    x = model.jump_ops
    rho = jnp.asarray(rho)
    out = K @ rho + rho @ K.conj().T
    out = out + 2 * jnp.einsum("k,kij,jl,kml->im", model.rates, x, rho, x.conj())
    if tc:
        h = model.hamiltonian
        out = out + 1j * expect(h - h.conj().T, rho) * rho
    return out


def top_populations(rho: Complex[Array, "n n"], dims: tuple[int, ...]) -> Float[Array, " modes"]:
    """Population of the highest Fock level of each mode (marginals of diag ρ), (modes,)."""
    p = jnp.real(jnp.diagonal(rho)).reshape(dims)
    out = []
    for i in range(len(dims)):
        m = jnp.sum(p, axis=tuple(j for j in range(len(dims)) if j != i))
        out.append(m[-1])
    return jnp.stack(out)


def diagnostics(rho: Complex[Array, "n n"], dims: tuple[int, ...]
                ) -> tuple[Float[Array, ""], Float[Array, ""], Float[Array, ""], Float[Array, " modes"]]:
    """Validity checks of paper 004 Sec. IV: (trace, min diagonal, smallest eigenvalue of the
    Hermitian part, top-Fock-level population per mode)."""
    herm = (rho + rho.conj().T) / 2
    return (jnp.real(jnp.trace(rho)), jnp.min(jnp.real(jnp.diagonal(rho))),
            jnp.linalg.eigvalsh(herm)[0], top_populations(rho, dims))


def occupations(rho: Complex[Array, "n n"], dims: tuple[int, ...]) -> Float[Array, " modes"]:
    """Mean occupation ⟨a_j†a_j⟩ of every mode, (modes,), from the diagonal of ρ."""
    p = jnp.real(jnp.diagonal(rho)).reshape(dims)
    out = []
    for i, d in enumerate(dims):
        m = jnp.sum(p, axis=tuple(j for j in range(len(dims)) if j != i))
        out.append(jnp.sum(m * jnp.arange(d)))
    return jnp.stack(out)


# --------------------------------------------------------------------------------------
# steady-state core shared by the solvers
# --------------------------------------------------------------------------------------


class FockSteadyState(eqx.Module):
    """Steady state of paper 004 eq. 3.

    rho: (n, n) density matrix (Hermitian part, unit trace); growth_rate: μ, the eigenvalue
    of L₀ (rate of the trace correction; 0 for Hermitian H); residual: ‖L₀ρ − μρ‖∞ relative
    to the largest rate; trace, min_diag, min_eig (Hermitian part), top_population (modes,):
    eq. 3's validity checks; result: a :data:`jaxbind.results.RESULTS` item
    (``successful``; ``fock_truncation`` — rho is kept, it is what convergence studies look
    at; ``not_positive``, ``trace_not_preserved``, ``nonlinear_max_steps_reached`` (Newton
    ran out of steps) or the promoted lineax result of a failed inner solve — rho and
    growth_rate NaN, the diagnostics describe the failed attempt); newton_steps: iterations
    used. ``status`` (deprecated, one release) is the integer code of ``result``."""

    rho: Complex[Array, "n n"]
    growth_rate: Float[Array, ""]
    residual: Float[Array, ""]
    trace: Float[Array, ""]
    min_diag: Float[Array, ""]
    min_eig: Float[Array, ""]
    top_population: Float[Array, " modes"]
    result: RESULTS
    newton_steps: Int[Array, ""]

    @property
    def status(self) -> Int[Array, "*batch"]:
        """Integer code of ``result`` (0 = successful)."""
        return code(self.result)


def _bordered_newton(L, tr, solve, resid, v, mu, result, *, max_newton, tol,
                     accept_inexact=False):
    """Newton on the bordered eigenproblem [[L₀ − μ, −ρ], [Tr, 0]] (module docstring);
    shared by the dense/GMRES steady state and the matrix-free block solver.

    ``v`` may be any pytree of arrays (flat vector or charge blocks). ``solve(v, mu, rhs)``
    returns ``((dv, dmu), result)`` (a RESULTS item) for the bordered system at (v, μ) with
    right-hand side ``rhs = (−(L₀v − μv), −(Tr v − 1))``. With ``accept_inexact`` a step
    whose inner solve stopped early still counts when it halves the residual (inexact
    Newton). ``result`` is the starting result (a failed initial solve stops at once).
    Returns (v, μ, steps, result, residual); result is the first failure, if any.
    """
    add = lambda a, b: jax.tree_util.tree_map(jnp.add, a, b)  # noqa: E731

    def cond(st):
        _, _, k, res, r = st
        return (k < max_newton) & (res == RESULTS.successful) & (r > tol)

    def body(st):
        v, mu, k, res, r = st
        Lv = L(v)
        rhs = (jax.tree_util.tree_map(lambda a, b: -(a - mu * b), Lv, v), -(tr(v) - 1))
        (dv, dm), rk = solve(v, mu, rhs)
        v2, mu2 = add(v, dv), mu + jnp.real(dm)  # dominant eigenvalue of L₀ is real
        r2 = resid(v2, mu2)
        okk = rk == RESULTS.successful
        if accept_inexact:
            okk = okk | (r2 < 0.5 * r)
        return v2, mu2, k + 1, RESULTS.where(okk, res, rk), r2

    st = (v, mu, jnp.asarray(0), result, resid(v, mu))
    return jax.lax.while_loop(cond, body, st)


def _steady_result(result, r, trace, min_eig, top, *, tol, positivity_tol, truncation_tol):
    """Result of a Fock steady state (precedence: solver failure, Newton not converged,
    trace, positivity, truncation)."""
    conv = r <= tol
    return RESULTS.where(
        result != RESULTS.successful, result,
        RESULTS.where(~conv, RESULTS.nonlinear_max_steps_reached,
                      RESULTS.where(jnp.abs(trace - 1) > 1e2 * tol, RESULTS.trace_not_preserved,
                                    RESULTS.where(min_eig < -positivity_tol, RESULTS.not_positive,
                                                  RESULTS.where(jnp.max(top) > truncation_tol,
                                                                RESULTS.fock_truncation,
                                                                RESULTS.successful)))))


def _finish(rho, mu, r, trace, md, me, tp, result, k, throw):
    """The FockSteadyState: NaN ρ, μ for a failed state (not for truncation, which only
    reports), and with ``throw`` an error carrying the result's message."""
    good = (result == RESULTS.successful) | (result == RESULTS.fock_truncation)
    rho = jnp.where(good, rho, jnp.nan)
    mu = jnp.where(good, mu, jnp.nan)
    if throw:
        rho = result.error_if(rho, ~good)
    return FockSteadyState(rho, mu, r, trace, md, me, tp, result, k)
