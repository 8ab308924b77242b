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

Steady state (``steady_state``): Newton's method on the eigenpair (ρ, μ) with Tr ρ = 1,
bordered Jacobian [[L₀ − μ, −ρ], [Tr, 0]], each step one lineax solve (dense LU, or
matrix-free GMRES).  It starts from the trace-constrained linear solution of L₀ρ = 0 (the
paper's row-replacement method, exact for Hermitian H).  When the model conserves an integer
charge (total excitation number for the RWA beam-splitter model of eq. 2) only the block
q_i = q_j of ρ is kept: it is invariant under L₀ and holds the steady state, which cuts the
unknowns from n² to Σ_q d_q² (e.g. 36 864 → 2 376 for dims (8, 8, 3)).

Validity checks of Sec. IV (``diagnostics``): trace, minimum diagonal element, smallest
eigenvalue of the Hermitian part, and truncation: the population of each mode's top Fock
level must stay below ``tol`` (status ``STATUS_TRUNCATION`` otherwise).

Units: frequencies in any consistent unit (paper 004: ω = 1); time in its inverse.
Dense states are (n, n) complex matrices over the tensor-product basis, first mode slowest
(``jnp.kron`` order).  Limits: dense LU up to a few thousand unknowns (dims ≲ 8 per mode for
three modes); matrix-free GMRES here is unpreconditioned and converges slowly for strongly
separated rates — for large truncations use the preconditioned block solver
:func:`jaxbind.quantum.fock_iterative.steady_state_iterative`.  Steady states run a ``while_loop`` (no reverse-mode autodiff; jit/vmap ok).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np

from .._checks import as_float_array, check_finite, check_positive, is_concrete
from .._types import Array, ArrayLike, Complex, Float, Inexact

STATUS_OK = 0
STATUS_TRUNCATION = 1  # top Fock level of some mode populated above tol
STATUS_NOT_POSITIVE = 2  # Hermitian part has an eigenvalue below −tol (not a state)
STATUS_TRACE = 3  # trace differs from 1 by more than tol
STATUS_NOT_CONVERGED = 4  # Newton/linear solver did not converge

STATUS_MESSAGES = {
    STATUS_OK: "ok",
    STATUS_TRUNCATION: "population in the top Fock level above tolerance: increase dims",
    STATUS_NOT_POSITIVE: "density matrix not positive semi-definite",
    STATUS_TRACE: "trace not preserved",
    STATUS_NOT_CONVERGED: "steady-state solver did not converge",
}


# --------------------------------------------------------------------------------------
# operators and states
# --------------------------------------------------------------------------------------


def _cdtype(dtype=None):
    if dtype is None:
        return jnp.result_type(complex)
    return jnp.result_type(dtype, jnp.complex64)


def destroy(n: int, dtype=None) -> Complex[Array, "n n"]:
    """Annihilation operator a|k⟩ = √k |k−1⟩ truncated to Fock levels 0..n−1."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    return jnp.diag(jnp.sqrt(jnp.arange(1, n)), 1).astype(_cdtype(dtype))


def number(n: int, dtype=None) -> Complex[Array, "n n"]:
    """Number operator a†a = diag(0, …, n−1)."""
    return jnp.diag(jnp.arange(n)).astype(_cdtype(dtype))


def embed(op: Inexact[ArrayLike, "m m"], mode: int, dims: tuple[int, ...]) -> Array:
    """Single-mode operator ``op`` acting on ``mode`` of the tensor product over ``dims``."""
    dims = tuple(int(d) for d in dims)
    if not 0 <= mode < len(dims):
        raise ValueError(f"mode must be in [0, {len(dims)}), got {mode}")
    op = jnp.asarray(op)
    if op.shape != (dims[mode], dims[mode]):
        raise ValueError(f"op must have shape {(dims[mode],) * 2}, got {op.shape}")
    out = jnp.ones((1, 1), op.dtype)
    for i, d in enumerate(dims):
        out = jnp.kron(out, op if i == mode else jnp.eye(d, dtype=op.dtype))
    return out


def mode_operators(dims: tuple[int, ...], dtype=None) -> tuple[Array, ...]:
    """Annihilation operators of every mode on the full space (first mode slowest)."""
    return tuple(embed(destroy(d, dtype), i, dims) for i, d in enumerate(dims))


def fock_state(dims: tuple[int, ...], occupations: tuple[int, ...], dtype=None) -> Array:
    """Density matrix |n_1, n_2, …⟩⟨n_1, n_2, …| (e.g. paper 004's |0⟩_A|2⟩_B|0⟩_C)."""
    if len(occupations) != len(dims) or any(not 0 <= k < d for k, d in zip(occupations, dims)):
        raise ValueError(f"occupations {occupations} do not fit dims {dims}")
    idx = int(np.ravel_multi_index(tuple(occupations), tuple(dims)))
    n = math.prod(dims)
    return jnp.zeros((n, n), _cdtype(dtype)).at[idx, idx].set(1)


def thermal_state(dims: tuple[int, ...], nbars: Float[ArrayLike, "m"], dtype=None) -> Array:
    """Product of truncated thermal states with mean occupations ``nbars`` (renormalized)."""
    nbars = as_float_array(nbars, "nbars")
    check_positive("nbars", nbars, allow_zero=True)
    p = jnp.ones((1,), nbars.dtype)
    for d, nb in zip(dims, nbars):
        pk = (nb / (1 + nb)) ** jnp.arange(d)
        p = jnp.kron(p, pk / pk.sum())
    return jnp.diag(p).astype(_cdtype(dtype if dtype is not None else nbars.dtype))


def dissipator(x: Array, rho: Array) -> Array:
    """D_x ρ = 2xρx† − x†xρ − ρx†x (paper 004 eq. 3)."""
    xd = x.conj().T
    xdx = xd @ x
    return 2 * x @ rho @ xd - xdx @ rho - rho @ xdx


def expect(op: Array, rho: Array) -> Array:
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

    hamiltonian: Array
    jump_ops: Array
    rates: Array
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


def three_mode_model(g1, g2, g, *, gamma, kappa_a, kappa_b, nbar_a, nbar_b, omega_a=1.0,
                     omega_b=1.0, delta=1.0, dims=(6, 6, 3), detuning_sign: str = "cooling",
                     frame_frequency=None, trace_correction: bool = True, dtype=None) -> FockModel:
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
    g1, g2, g, gamma, ka, kb, na, nb, wa, wb, delta = vals
    dims = tuple(int(d) for d in dims)
    if len(dims) != 3 or min(dims) < 2:
        raise ValueError(f"dims must be three truncations ≥ 2 (A, B, C), got {dims}")
    cd = _cdtype(dtype if dtype is not None else jnp.result_type(*vals))
    a, b, c = mode_operators(dims, cd)
    s = 1.0 if detuning_sign == "cooling" else -1.0
    wf = wa if frame_frequency is None else as_float_array(frame_frequency, "frame_frequency")
    num = lambda x: x.conj().T @ x  # noqa: E731
    ad, bd, cdg = a.conj().T, b.conj().T, c.conj().T
    H = ((s * delta - wf) * num(c) + (wa - wf) * num(a) + (wb - wf) * num(b)
         + (g1 - g2) * a @ bd + (g1 + g2) * ad @ b + g * (ad @ c + a @ cdg))
    jumps = jnp.stack([a, ad, b, bd, c])
    rates = jnp.stack([ka * (1 + na), ka * na, kb * (1 + nb), kb * nb, gamma])
    charges = tuple(int(x) for x in np.indices(dims).reshape(len(dims), -1).sum(0))
    return FockModel(H.astype(cd), jumps.astype(cd), rates.astype(jnp.zeros((), cd).real.dtype),
                     dims, trace_correction, charges, (-1, 1, -1, 1, -1))


# --------------------------------------------------------------------------------------
# dynamics
# --------------------------------------------------------------------------------------


def _generator(model):
    # K = −iH − Σ r x†x so that L₀ρ = Kρ + ρK† + Σ 2r xρx†
    x = model.jump_ops
    xdx = jnp.einsum("kji,kjl->kil", x.conj(), x)
    return -1j * model.hamiltonian - jnp.einsum("k,kil->il", model.rates, xdx)


def liouvillian_apply(model: FockModel, rho: Array, *, trace_correction: bool | None = None):
    """dρ/dt of paper 004 eq. 3 (matrix-free), ``trace_correction`` defaults to the model's."""
    tc = model.trace_correction if trace_correction is None else trace_correction
    K = _generator(model)
    x = model.jump_ops
    out = K @ rho + rho @ K.conj().T
    out = out + 2 * jnp.einsum("k,kij,jl,kml->im", model.rates, x, rho, x.conj())
    if tc:
        h = model.hamiltonian
        out = out + 1j * expect(h - h.conj().T, rho) * rho
    return out


class FockEvolution(NamedTuple):
    """Output of ``evolve`` at the requested times: expectation values (t, m) of the given
    observables (real parts), and eq. 3's validity checks per time: trace (t,), minimum
    diagonal element (t,), smallest eigenvalue of the Hermitian part (t,), top-Fock-level
    population of every mode (t, modes); plus the final state (n, n)."""

    expect: Array
    trace: Array
    min_diag: Array
    min_eig: Array
    top_population: Array
    rho_final: Array


def top_populations(rho: Array, dims: tuple[int, ...]) -> Array:
    """Population of the highest Fock level of each mode (marginals of diag ρ), (modes,)."""
    p = jnp.real(jnp.diagonal(rho)).reshape(dims)
    out = []
    for i in range(len(dims)):
        m = jnp.sum(p, axis=tuple(j for j in range(len(dims)) if j != i))
        out.append(m[-1])
    return jnp.stack(out)


def evolve(model: FockModel, rho0: Array, ts: Float[ArrayLike, "t"], observables=None, *,
           rtol: float = 1e-7, atol: float = 1e-9, max_steps: int = 1_000_000) -> FockEvolution:
    """Integrate paper 004 eq. 3 with diffrax (adaptive Tsit5, ρ split into real and
    imaginary parts so diffrax sees real numbers).

    Args:
        model: the master equation.
        rho0: (n, n) initial density matrix (trace 1).
        ts: (t,) increasing output times; ts[0] is the initial time.
        observables: (m, n, n) operators whose ⟨·⟩ is recorded (default: each mode's number).
    Returns:
        ``FockEvolution`` (validity diagnostics at every output time).
    """
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
        max_steps=max_steps, throw=True)
    (ex, tr, md, me, tp), yf = sol.ys
    return FockEvolution(ex, tr, md, me, tp, yf[0, 0] + 1j * yf[0, 1])


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


def liouvillian_matrix(model: FockModel, *, sector: bool = False) -> Array:
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


def sector_pairs(model: FockModel, sector: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Row/column indices (i_p, j_p) of the unknowns used by the steady-state solver."""
    return _pairs(model, sector)


class FockSteadyState(NamedTuple):
    """Steady state of paper 004 eq. 3.

    rho: (n, n) density matrix (Hermitian part, unit trace); growth_rate: μ, the eigenvalue
    of L₀ (rate of the trace correction; 0 for Hermitian H); residual: ‖L₀ρ − μρ‖∞ relative
    to the largest rate; trace, min_diag, min_eig (Hermitian part), top_population (modes,):
    eq. 3's validity checks; status: ``STATUS_*``; newton_steps: iterations used."""

    rho: Array
    growth_rate: Array
    residual: Array
    trace: Array
    min_diag: Array
    min_eig: Array
    top_population: Array
    status: Array
    newton_steps: Array


def diagnostics(rho: Array, dims: tuple[int, ...]):
    """Validity checks of paper 004 Sec. IV: (trace, min diagonal, smallest eigenvalue of the
    Hermitian part, top-Fock-level population per mode)."""
    herm = (rho + rho.conj().T) / 2
    return (jnp.real(jnp.trace(rho)), jnp.min(jnp.real(jnp.diagonal(rho))),
            jnp.linalg.eigvalsh(herm)[0], top_populations(rho, dims))


def _bordered_newton(L, tr, solve, resid, v, mu, ok, *, max_newton, tol, accept_inexact=False):
    """Newton on the bordered eigenproblem [[L₀ − μ, −ρ], [Tr, 0]] (module docstring);
    shared by the dense/GMRES steady state here and the matrix-free block solver.

    ``v`` may be any pytree of arrays (flat vector or charge blocks). ``solve(v, mu, rhs)``
    returns ``((dv, dmu), ok)`` for the bordered system at (v, μ) with right-hand side
    ``rhs = (−(L₀v − μv), −(Tr v − 1))``. With ``accept_inexact`` a step whose inner solve
    stopped early still counts when it halves the residual (inexact Newton).
    Returns (v, μ, steps, ok, residual).
    """
    add = lambda a, b: jax.tree_util.tree_map(jnp.add, a, b)  # noqa: E731

    def cond(st):
        _, _, k, ok, r = st
        return (k < max_newton) & ok & (r > tol)

    def body(st):
        v, mu, k, ok, r = st
        Lv = L(v)
        rhs = (jax.tree_util.tree_map(lambda a, b: -(a - mu * b), Lv, v), -(tr(v) - 1))
        (dv, dm), okk = solve(v, mu, rhs)
        v2, mu2 = add(v, dv), mu + jnp.real(dm)  # dominant eigenvalue of L₀ is real
        r2 = resid(v2, mu2)
        if accept_inexact:
            okk = okk | (r2 < 0.5 * r)
        return v2, mu2, k + 1, ok & okk, r2

    st = (v, mu, jnp.asarray(0), jnp.asarray(ok), resid(v, mu))
    return jax.lax.while_loop(cond, body, st)


def _steady_status(ok, r, trace, min_eig, top, *, tol, positivity_tol, truncation_tol):
    """Status code of a Fock steady state (STATUS_* order of precedence)."""
    conv = ok & (r <= tol)
    status = jnp.where(~conv, STATUS_NOT_CONVERGED,
                       jnp.where(jnp.abs(trace - 1) > 1e2 * tol, STATUS_TRACE,
                                 jnp.where(min_eig < -positivity_tol, STATUS_NOT_POSITIVE,
                                           jnp.where(jnp.max(top) > truncation_tol,
                                                     STATUS_TRUNCATION, STATUS_OK))))
    return status.astype(jnp.int32)


def _raise_on_status(rho, status, name):
    msgs = [f"{name}: {STATUS_MESSAGES[s]}" for s in range(len(STATUS_MESSAGES))]
    return eqx.branched_error_if(rho, (status != STATUS_OK) & (status != STATUS_TRUNCATION),
                                 status, msgs)


def steady_state(model: FockModel, *, method: str = "dense", sector: bool | None = None,
                 rho0: Array | None = None, tol: float | None = None, max_newton: int = 20,
                 max_inverse_iterations: int = 20_000, truncation_tol: float = 1e-3,
                 positivity_tol: float | None = None, gmres_rtol: float = 1e-10,
                 gmres_max_steps: int = 2000, throw: bool = True) -> FockSteadyState:
    """Steady state of paper 004 eq. 3: the eigenvector of L₀ with the largest real
    eigenvalue μ, unit trace (module docstring), with lineax solves.

    ``"dense"``: materialized Liouvillian block; shifted inverse iteration
    v ← (L₀ − σ)⁻¹v with one LU (lineax, factorization reused) and a real shift σ above the
    bound μ ≤ λ_max(−i(H − H†)) — since |σ − λ| ≥ σ − Re λ ≥ σ − μ for every eigenvalue λ it
    converges to the dominant eigenvector and never to a spurious one — then Newton on the
    bordered eigenproblem [[L₀ − μ, −ρ], [Tr, 0]] to machine precision.
    ``"gmres"``: matrix-free; Newton only (lineax GMRES per step), started from ``rho0`` (e.g.
    the final state of ``evolve``) or from the trace-constrained solution of L₀ρ = 0 (exact
    for Hermitian H); a non-positive result (another eigenvector) gets STATUS_NOT_POSITIVE.

    Args:
        model: the master equation.
        method: ``"dense"`` or ``"gmres"``.
        sector: keep only the charge-diagonal block (default: when the model has charges).
        rho0: optional (n, n) starting state for Newton (``"gmres"``).
        tol: relative residual ‖L₀ρ − μρ‖∞/max|L₀| for convergence (default 1e2·eps).
        truncation_tol: top-Fock-level population above which status = STATUS_TRUNCATION.
        positivity_tol: min eigenvalue below −tol → STATUS_NOT_POSITIVE (default 1e4·eps).
        throw: raise (``eqx.error_if``) on non-convergence, non-positivity or trace errors;
            truncation only sets the status (it is what convergence studies look for).
    Returns:
        ``FockSteadyState``.
    """
    if method not in ("dense", "gmres"):
        raise ValueError(f"method must be 'dense' or 'gmres', got {method!r}")
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
    dense = method == "dense"
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
            sol = lx.linear_solve(lx.MatrixLinearOperator(a_mat), rhs, lx.LU(), throw=False)
        else:
            op = lx.FunctionLinearOperator(op_fn, jax.ShapeDtypeStruct((rhs.size,), cd))
            sol = lx.linear_solve(op, rhs, lx.GMRES(rtol=gmres_rtol, atol=gmres_rtol * 1e-3,
                                                    max_steps=gmres_max_steps, restart=50),
                                  throw=False)
        return sol.value, sol.result == lx.RESULTS.successful

    def resid(v, mu):
        return jnp.max(jnp.abs(matvec(v) - mu * v)) / scale

    if dense:
        h = model.hamiltonian
        bound = jnp.linalg.eigvalsh(-1j * (h - h.conj().T))[-1]
        sigma = bound + 1e-2 * scale
        op = lx.MatrixLinearOperator(M - sigma * jnp.eye(P, dtype=cd))
        solver = lx.LU()
        lu = solver.init(op, {})
        u = jnp.where(t != 0, 1.0, 0.0).astype(cd) / n

        def icond(st):
            v, k, dv = st
            return (k < max_inverse_iterations) & (dv > 10 * tol)

        def ibody(st):
            v, k, _ = st
            w = lx.linear_solve(op, v, solver, state=lu, throw=False).value
            w = w / (t @ w)
            return w, k + 1, jnp.max(jnp.abs(w - v))

        v0, _, _ = jax.lax.while_loop(icond, ibody, (u, jnp.asarray(0), jnp.asarray(jnp.inf)))
        ok0 = jnp.all(jnp.isfinite(v0))
    elif rho0 is not None:
        v0 = jnp.asarray(rho0, cd)[ip, jp]
        ok0 = jnp.asarray(True)
    else:
        # trace-constrained solution of L₀ρ = 0: (L₀ + u tᵀ)ρ = u with Tr u = 1 (the
        # paper's row-replacement method in a well-conditioned form)
        u = t / n
        v0, ok0 = solve(lambda v: matvec(v) + u * (t @ v), u, None)
    v0 = v0 / (t @ v0)
    mu0 = (t @ matvec(v0)).real

    def bordered_solve(v, mu, rhs):
        def op_fn(z):
            return jnp.concatenate([matvec(z[:P]) - mu * z[:P] - z[P] * v, (t @ z[:P])[None]])

        a_mat = None
        if dense:
            a_mat = jnp.block([[M - mu * jnp.eye(P, dtype=cd), -v[:, None]],
                               [t[None, :], jnp.zeros((1, 1), cd)]])
        dz, okk = solve(op_fn, jnp.concatenate([rhs[0], rhs[1][None]]), a_mat)
        return (dz[:P], dz[P]), okk

    v, mu, k, ok, r = _bordered_newton(matvec, lambda v: t @ v, bordered_solve, resid, v0, mu0,
                                       ok0, max_newton=max_newton, tol=tol)
    rho = jnp.zeros((n, n), cd).at[ip, jp].set(v)
    rho = (rho + rho.conj().T) / 2
    tr, md, me, tp = diagnostics(rho, model.dims)
    status = _steady_status(ok, r, tr, me, tp, tol=tol, positivity_tol=positivity_tol,
                            truncation_tol=truncation_tol)
    if throw:
        rho = _raise_on_status(rho, status, "fock.steady_state")
    return FockSteadyState(rho, mu, r, tr, md, me, tp, status, k)


def occupations(rho: Array, dims: tuple[int, ...]) -> Array:
    """Mean occupation ⟨a_j†a_j⟩ of every mode, (modes,), from the diagonal of ρ."""
    p = jnp.real(jnp.diagonal(rho)).reshape(dims)
    out = []
    for i, d in enumerate(dims):
        m = jnp.sum(p, axis=tuple(j for j in range(len(dims)) if j != i))
        out.append(jnp.sum(m * jnp.arange(d)))
    return jnp.stack(out)
