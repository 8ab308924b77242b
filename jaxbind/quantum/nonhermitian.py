"""Gaussian (moment/Riccati) solution of paper 004's trace-normalised non-Hermitian master
equation (paper 004 eq. 3), without Fock-space truncation.

Equation (paper 004 eq. 3), H = H_h + i H_a with H_h, H_a Hermitian:

    dρ/dt = −i(Hρ − ρH†) + i Tr[ρ(H − H†)] ρ + Σ_k r_k D_{x_k} ρ
          = −i[H_h, ρ] + {H_a − ⟨H_a⟩, ρ} + Σ_k r_k D_{x_k} ρ,     ⟨H_a⟩ = Tr[ρ H_a],

with D_x ρ = 2xρx† − x†xρ − ρx†x (so a rate r damps ⟨x⟩ at r and energy at 2r). Its solution
is ρ = σ/Tr σ with σ̇ = L₀σ the same equation without the trace-correction term
(:mod:`jaxbind.quantum.fock` module docstring). For a quadratic H and jump operators linear in
the mode operators L₀ maps Gaussian operators to Gaussian operators (it is the generator of a
linear Lindblad evolution plus the "imaginary-time" factor e^{H_a t}· e^{H_a t}, both of which
keep σ ∝ exp(quadratic form)), so ρ(t) stays Gaussian if ρ(0) is. This module integrates the
equations of motion of its mean and covariance exactly.

Derivation. Quadratures x = (z1, p1, z2, p2, …), [x, xᵀ] = iΩ, a_j = (z_j + i p_j)/√2 (the
conventions of :mod:`jaxbind.quantum.gaussian`); m = ⟨x⟩, V = ½⟨{Δx, Δxᵀ}⟩. Write

    H_h + Lindblad terms  →  A, D, b of :class:`~jaxbind.quantum.gaussian.LinearSystem`,
    H_a = ½ xᵀ S x + s₀  (S real symmetric, x in symmetric/Weyl order).

For H = Σ_jk h_jk a_j† a_k (paper 004 eq. 2) and H_a = Σ (h − h†)_jk/(2i) a_j† a_k one has
S = 2 Re(T† H_a T) (a = T x) and s₀ = −½ tr H_a (a†a = ½(z² + p²) − ½).

From the second form of eq. 3 every observable obeys

    d⟨O⟩/dt = (Hermitian + Lindblad part) + ⟨{H_a, O}⟩ − 2⟨H_a⟩⟨O⟩
            = (Hermitian + Lindblad part) + 2 Cov(H_a, O),   Cov(P, O) = ½⟨{P, O}⟩ − ⟨P⟩⟨O⟩.

For a Gaussian state the symmetrised covariance of two quadratic (or a quadratic and a
linear) operators is a polynomial in (m, V): odd central moments vanish; Isserlis' theorem on
the Wigner function gives the c-number part, and the Moyal product of two quadratics adds
the constant −¼ ΩSΩᵀ (second-order term of a⋆b, with ∂²(x_j x_k) ∂²(½xᵀSx) contracted by Ω
twice). With O = x_j and O = ½{x_j, x_k}:

    2 Cov(H_a, x)              = 2 V S m,
    2 Cov(H_a, ½{Δx, Δxᵀ})     = 2 V S V − ½ Ω S Ωᵀ,

so (the mean-dependent parts of the second moment cancel against d(m mᵀ)/dt)

    dm/dt = (A + 2VS) m + b,                                     (N1)
    dV/dt = A V + V Aᵀ + D − ½ ΩSΩᵀ + 2 V S V,                   (N2)
    d ln Tr σ/dt = 2⟨H_a⟩ = tr(S V) + mᵀ S m + 2 s₀ ≡ μ(t).      (N3)

(N2) is a matrix Riccati equation: the quadratic term 2VSV is the trace normalisation (the
nonlinear term of eq. 3), not an approximation; (N1) and (N2) are exact for eq. 3. Checks:
for one mode with H_a = λ a†a a thermal state e^{−βn} evolves into e^{−(β − 2λt)n} (the
factor e^{λnt}·e^{λnt}) and (N2) gives dV/dt = (λ/2) csch²(β/2) = d/dt[½ coth(β/2)]; a
coherent state |α⟩ becomes |αe^{λt}⟩, dm/dt = λm. μ(t) is the growth rate of the trace of the
unnormalised σ (``FockSteadyState.growth_rate`` in the Fock solver).

Finite-time divergence. S is in general indefinite (for paper 004's coupling H_a has
eigenvalues ±g2: one collective mode has gain), so (N2) can blow up at a finite time t*:
the weight e^{H_a t} of the highly excited states beats the dissipation, σ(t) stops being
trace class and eq. 3 has no solution beyond t* — in the untruncated space, not only in a
Fock truncation. :func:`evolve` stops at ‖V‖_max > ``blowup`` and returns
``RESULTS.finite_time_divergence`` with the time reached.

Steady state. A fixed point V* of (N2) solves the algebraic Riccati equation
F(V) = A V + V Aᵀ + D − ½ΩSΩᵀ + 2VSV = 0; linearising the flow about V* gives
δV̇ = A_V δV + δV A_Vᵀ with A_V = A + 2V*S (also the drift of the mean, N1), so V* is an
attracting steady state iff A_V is Hurwitz. :func:`steady_state` (i) integrates the flow
(N2) from ``state0`` (default: vacuum) with diffrax until a steady-state event (or
divergence, or ``t_max``), (ii) polishes with Newton's method on F = 0 in Kleinman's form —
each step the Lyapunov equation A_k V + V A_kᵀ + D − ½ΩSΩᵀ − 2V_kSV_k = 0, A_k = A + 2V_kS,
solved by :func:`jaxbind.quantum.lyapunov.solve_lyapunov`, whose factorisation also decides
whether A_k is Hurwitz — and (iii) applies one more Newton step outside the stop-gradient, so
derivatives are those of the implicit function V*(θ) (exact at a converged root).
Results: ``successful``; ``finite_time_divergence`` (the flow blew up — no steady state is
reached from ``state0``); ``unstable`` (a fixed point exists but is not attracting);
``nonlinear_max_steps_reached`` (no convergence within ``t_max``/Newton steps);
``nonfinite_input``. Outputs of a failed point are NaN.

Validation: ``tests/quantum/test_nonhermitian.py`` compares against the truncated Fock-space
solver :mod:`jaxbind.quantum.fock` (an independent method) at couplings where the truncation
converges, against the closed forms above, and against the Lyapunov steady state for
Hermitian H (S = 0).

Units: frequencies in any consistent unit (paper 004: ω = 1); time in its inverse.
Works under jit and vmap; steady states and evolutions are differentiable (reverse mode).
Limits: H must be quadratic (no linear anti-Hermitian part); dense n×n algebra (n = 2M).
"""

from __future__ import annotations

import functools

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._types import Real, RealDtype

from .._checks import as_float_array, check_positive, is_concrete
from ..results import RESULTS
from .fock_model import three_mode_parameters
from .gaussian import GaussianState, LinearSystem, mode_matrix, symplectic_form
from .lyapunov import solve_lyapunov
from .models import add_thermal_bath
from .observables import occupations as _occupations

__all__ = [
    "NonHermitianSystem",
    "NonHermitianEvolution",
    "NonHermitianSteadyState",
    "three_mode_system",
    "evolve",
    "steady_state",
]


class NonHermitianSystem(eqx.Module):
    """Generator of paper 004 eq. 3 for Gaussian states (module docstring, eqs. N1–N3).

    Attributes:
        system: :class:`~jaxbind.quantum.gaussian.LinearSystem` (A, D, b) of the Hermitian
            part H_h and the Lindblad terms.
        S: (n, n) real symmetric matrix of the anti-Hermitian part H_a = ½ xᵀ S x + s₀.
        s0: constant s₀ of H_a (enters only the trace growth rate μ).
    """

    system: LinearSystem
    S: Float[Array, "n n"]
    s0: Float[Array, ""]

    def __init__(self, system: LinearSystem, S: RealDtype[ArrayLike, "n n"],
                 s0: Real = 0.0) -> None:
        if not isinstance(system, LinearSystem):
            raise TypeError(f"system must be a LinearSystem, got {type(system).__name__}")
        if jnp.iscomplexobj(jnp.asarray(S)):
            raise TypeError("S must be real (H_a = ½ xᵀ S x + s₀ with real symmetric S)")
        S = jnp.asarray(S, system.A.dtype)
        if S.shape != system.A.shape:
            raise ValueError(f"S must have shape {system.A.shape}, got {S.shape}")
        self.system = system
        self.S = S
        self.s0 = jnp.asarray(s0, system.A.dtype)

    def __check_init__(self):
        if is_concrete(self.S):
            S = np.asarray(self.S)
            if not np.all(np.isfinite(S)):
                raise ValueError("S must be finite")
            if np.max(np.abs(S - S.T), initial=0.0) > 1e3 * np.finfo(S.dtype).eps * max(
                    np.max(np.abs(S), initial=0.0), 1.0):
                raise ValueError("S must be symmetric (H_a = ½ xᵀ S x)")

    @property
    def n_modes(self) -> int:
        return self.system.n_modes

    @classmethod
    def from_modes(cls, h: ArrayLike, kappa: ArrayLike, nbar: ArrayLike) -> "NonHermitianSystem":
        """H = Σ_jk h_jk a_j† a_k (h non-Hermitian) with a thermal bath on every mode in paper
        004's convention κ_j(1 + n̄_j) D_{a_j} + κ_j n̄_j D_{a_j†}, D_x = 2xρx† − x†xρ − ρx†x
        (energy damping rate 2κ_j towards n̄_j).

        Args:
            h: (M, M) complex matrix (rate units).
            kappa: (M,) rates κ_j ≥ 0 (0: no bath on that mode).
            nbar: (M,) bath occupations n̄_j ≥ 0.
        """
        h = jnp.asarray(h)
        if h.ndim != 2 or h.shape[0] != h.shape[1]:
            raise ValueError(f"h must be a square (M, M) matrix, got shape {h.shape}")
        m = h.shape[0]
        dt = jnp.finfo(jnp.result_type(h.dtype, jnp.float32)).dtype
        h = h.astype(jnp.result_type(dt, jnp.complex64))
        kappa = jnp.broadcast_to(as_float_array(kappa, "kappa"), (m,)).astype(dt)
        nbar = jnp.broadcast_to(as_float_array(nbar, "nbar"), (m,)).astype(dt)
        check_positive("kappa", kappa, allow_zero=True)
        check_positive("nbar", nbar, allow_zero=True)
        A, D, b, S, s0 = _mode_parts(h, kappa, nbar)
        return cls(LinearSystem(A, D, b), S, s0)


@jax.jit  # one program (eager: one XLA compilation per op)
def _mode_parts(h, kappa, nbar):
    """(A, D, b, S, s₀) of :meth:`NonHermitianSystem.from_modes` (its docstring)."""
    m = h.shape[0]
    hh = 0.5 * (h + h.conj().T)
    ha = (h - h.conj().T) / 2j
    system = LinearSystem.from_modes(hh)
    for j in range(m):
        system = add_thermal_bath(system, j, 2.0 * kappa[j], nbar[j])
    T = mode_matrix(m, kappa.dtype)
    S = 2.0 * jnp.real(T.conj().T @ ha @ T)
    return system.A, system.D, system.b, 0.5 * (S + S.T), -0.5 * jnp.real(jnp.trace(ha))


def three_mode_system(g1: Real, g2: Real, g: Real, *, gamma: Real, kappa_a: Real,
                      kappa_b: Real, nbar_a: Real, nbar_b: Real, omega_a: Real = 1.0,
                      omega_b: Real = 1.0, delta: Real = 1.0, detuning_sign: str = "cooling",
                      frame_frequency: Real | None = None) -> NonHermitianSystem:
    """Paper 004's particle A + particle B + cavity model (eqs. 2, 3), modes ordered (A, B, C),
    the same model as :func:`jaxbind.quantum.fock.three_mode_model` (see there for the
    detuning sign and the rotating frame ω_f, default ω_a):

        H = (sΔ − ω_f) c†c + (ω_a − ω_f) a†a + (ω_b − ω_f) b†b + (g1 − g2) a b† + (g1 + g2) a† b
            + g(a†c + a c†),
        κ_a(1+n̄_a) D_a + κ_a n̄_a D_a† + κ_b(1+n̄_b) D_b + κ_b n̄_b D_b† + γ D_c.
    """
    vals = three_mode_parameters(g1, g2, g, gamma, kappa_a, kappa_b, nbar_a, nbar_b, omega_a,
                                 omega_b, delta, detuning_sign)
    s = 1.0 if detuning_sign == "cooling" else -1.0
    wf = vals[8] if frame_frequency is None else as_float_array(frame_frequency, "frame_frequency")
    return NonHermitianSystem.from_modes(*_three_mode_matrices(tuple(vals), wf, s))


@functools.partial(jax.jit, static_argnums=(2,))  # one program (eager: one per op)
def _three_mode_matrices(vals, wf, s):
    """(h, κ, n̄) of :func:`three_mode_system` (its docstring)."""
    g1, g2, g, gamma, ka, kb, na, nb, wa, wb, delta = vals
    dt = jnp.result_type(*vals, wf)
    z = jnp.zeros((), dt)
    h = jnp.stack([jnp.stack([wa - wf, g1 + g2, g]),
                   jnp.stack([g1 - g2, wb - wf, z]),
                   jnp.stack([g, z, s * delta - wf])])
    return (h.astype(jnp.result_type(dt, jnp.complex64)), jnp.stack([ka, kb, gamma]),
            jnp.stack([na, nb, z]))


# --------------------------------------------------------------------------------------
# equations of motion (N1–N3)
# --------------------------------------------------------------------------------------


def _shifted_diffusion(model: NonHermitianSystem):
    Om = symplectic_form(model.S.shape[0], model.S.dtype)
    return model.system.D - 0.5 * Om @ model.S @ Om.T


def _growth_rate(model, mean, cov):
    """μ = d ln Tr σ/dt = 2⟨H_a⟩ (N3)."""
    return jnp.trace(model.S @ cov) + mean @ model.S @ mean + 2 * model.s0


def _rhs(t, y, args):
    model, Dt = args
    m, V, _ = y
    A, b, S = model.system.A, model.system.b, model.S
    VS = V @ S
    dm = (A + 2 * VS) @ m + b
    dV = A @ V + V @ A.T + Dt + 2 * VS @ V
    return dm, 0.5 * (dV + dV.T), _growth_rate(model, m, V)


def riccati_residual(model: NonHermitianSystem, cov: Float[Array, "n n"]) -> Float[Array, "n n"]:
    """F(V) = A V + V Aᵀ + D − ½ΩSΩᵀ + 2VSV (right-hand side of N2; zero at a steady state)."""
    A, S = model.system.A, model.S
    F = A @ cov + cov @ A.T + _shifted_diffusion(model) + 2 * cov @ S @ cov
    return 0.5 * (F + F.T)


def _blowup_event(blowup):
    def cond(t, y, args, **kwargs):
        return jnp.max(jnp.abs(y[1])) > blowup
    return cond


def _map_result(sol_result, diverged):
    """diffrax result → jaxbind RESULTS (event = divergence)."""
    out = RESULTS.successful
    for name in ("max_steps_reached", "singular", "breakdown", "nonfinite_input",
                 "nonlinear_max_steps_reached", "nonlinear_divergence", "nonfinite"):
        out = RESULTS.where(sol_result == getattr(diffrax.RESULTS, name), getattr(RESULTS, name), out)
    out = RESULTS.where((sol_result == diffrax.RESULTS.dt_min_reached)
                        | (sol_result == diffrax.RESULTS.max_steps_rejected)
                        | (sol_result == diffrax.RESULTS.internal_error), RESULTS.nonfinite, out)
    return RESULTS.where(diverged, RESULTS.finite_time_divergence, out)


def _check_state(model, state0):
    if state0 is None:
        return GaussianState.vacuum(model.n_modes, model.S.dtype)
    if not isinstance(state0, GaussianState):
        raise TypeError(f"state0 must be a GaussianState, got {type(state0).__name__}")
    if state0.cov.shape != model.S.shape:
        raise ValueError(f"state0 must have {model.n_modes} modes (cov shape {model.S.shape}), "
                         f"got cov shape {state0.cov.shape}")
    return state0


class NonHermitianEvolution(eqx.Module):
    """Output of :func:`evolve` at the requested times.

    mean (t, n), cov (t, n, n): moments of the normalised state ρ(t) (NaN after a divergence);
    log_trace (t,): ln Tr σ(t) of the unnormalised solution of σ̇ = L₀σ (σ(0) = ρ(0));
    growth_rate (t,): μ(t) = d ln Tr σ/dt (N3); t_end: time the integration reached;
    result: ``RESULTS.successful`` or ``finite_time_divergence`` (V exceeded ``blowup``
    at t_end), or the integrator's failure."""

    mean: Float[Array, "t n"]
    cov: Float[Array, "t n n"]
    log_trace: Float[Array, " t"]
    growth_rate: Float[Array, " t"]
    t_end: Float[Array, ""]
    result: RESULTS

    def occupations(self) -> Float[Array, "t m"]:
        """⟨a_j†a_j⟩ at every output time, (t, M)."""
        return jax.vmap(_occupations)(self.cov, self.mean)


def evolve(model: NonHermitianSystem, state0: GaussianState | None, ts: Float[ArrayLike, " t"],
           *, rtol: float = 1e-8, atol: float = 1e-10, max_steps: int = 100_000,
           blowup: float = 1e8, adjoint: diffrax.AbstractAdjoint | None = None,
           throw: bool = False) -> NonHermitianEvolution:
    """Integrate (N1)–(N3) with diffrax (adaptive Tsit5) from the Gaussian ``state0``.

    Args:
        model: :class:`NonHermitianSystem`.
        state0: initial Gaussian state (default vacuum).
        ts: (t,) increasing output times; ts[0] is the initial time.
        blowup: the integration stops with ``finite_time_divergence`` once max|V_jk| exceeds
            this (vacuum = ½); outputs after that time are NaN.
        adjoint: diffrax adjoint (default ``RecursiveCheckpointAdjoint``: reverse mode);
            ``diffrax.ForwardMode()`` for forward-mode derivatives (e.g. Taylor coefficients in
            an initial-state parameter, as paper 004's Fock initial state |2⟩ is the x² term of
            Σ xⁿ|n⟩⟨n| ∝ a thermal state).
        throw: raise on a failure instead of returning its result code.
    Returns:
        :class:`NonHermitianEvolution`.
    """
    if not isinstance(model, NonHermitianSystem):
        raise TypeError(f"model must be a NonHermitianSystem, got {type(model).__name__}")
    state0 = _check_state(model, state0)
    ts = as_float_array(ts, "ts").astype(model.S.dtype)
    if ts.ndim != 1 or ts.shape[0] < 2:
        raise ValueError(f"ts must be a 1-d array of at least 2 times, got shape {ts.shape}")
    if is_concrete(ts) and np.any(np.diff(np.asarray(ts)) <= 0):
        raise ValueError("ts must be strictly increasing")
    adjoint = diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint
    m, V, lz, mu, t_end, result = _evolve(model, state0, ts, rtol=rtol, atol=atol,
                                          max_steps=max_steps, blowup=blowup, adjoint=adjoint)
    if throw:
        V = result.error_if(V, result != RESULTS.successful)
    return NonHermitianEvolution(m, V, lz, mu, t_end, result)


@eqx.filter_jit
def _evolve(model, state0, ts, *, rtol, atol, max_steps, blowup, adjoint):
    y0 = (state0.mean.astype(ts.dtype), state0.cov.astype(ts.dtype), jnp.zeros((), ts.dtype))
    args = (model, _shifted_diffusion(model))
    saveat = diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=ts), diffrax.SubSaveAt(t1=True)])
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(_rhs), diffrax.Tsit5(), ts[0], ts[-1], None, y0, args=args,
        saveat=saveat, stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        event=diffrax.Event(_blowup_event(blowup)), max_steps=max_steps, adjoint=adjoint,
        throw=False)
    (m, V, lz), (_, V1, _) = sol.ys
    t_end = sol.ts[1][0]
    diverged = (sol.result == diffrax.RESULTS.event_occurred)
    result = _map_result(sol.result, diverged)
    valid = (ts <= t_end) & (result == RESULTS.successful) | (ts < t_end) & diverged
    m = jnp.where(valid[:, None], m, jnp.nan)
    V = jnp.where(valid[:, None, None], V, jnp.nan)
    lz = jnp.where(valid, lz, jnp.nan)
    mu = jax.vmap(lambda a, b: _growth_rate(model, a, b))(m, V)
    return m, V, lz, mu, t_end, result


# --------------------------------------------------------------------------------------
# steady state
# --------------------------------------------------------------------------------------


class NonHermitianSteadyState(eqx.Module):
    """Output of :func:`steady_state` (NaN numbers unless ``result`` is successful).

    mean (n,), cov (n, n): the attracting fixed point of (N1)–(N2); growth_rate: μ (N3), the
    eigenvalue of L₀ whose eigenvector the steady state is; residual: max|F(V)| relative to
    max|D|; t_flow: time the flow ran before Newton (the divergence time when
    ``result == finite_time_divergence``); result."""

    mean: Float[Array, " n"]
    cov: Float[Array, "n n"]
    growth_rate: Float[Array, ""]
    residual: Float[Array, ""]
    t_flow: Float[Array, ""]
    result: RESULTS

    @property
    def state(self) -> GaussianState:
        return GaussianState(self.mean, self.cov)

    def occupations(self) -> Float[Array, " m"]:
        """⟨a_j†a_j⟩ of every mode, (M,)."""
        return _occupations(self.cov, self.mean)


def _kleinman_step(model, Dt, V):
    """One Newton step on F(V) = 0: A_k V' + V' A_kᵀ + Dt − 2 V S V = 0, A_k = A + 2 V S."""
    Ak = model.system.A + 2 * V @ model.S
    X, hurwitz = solve_lyapunov(Ak, Dt - 2 * V @ model.S @ V)
    return 0.5 * (X + X.T), hurwitz


def steady_state(model: NonHermitianSystem, *, state0: GaussianState | None = None,
                 t_max: float = 1e6, flow_rtol: float = 1e-4, max_newton: int = 30,
                 tol: float | None = None, blowup: float = 1e8, max_steps: int = 200_000,
                 throw: bool = False) -> NonHermitianSteadyState:
    """Steady state of paper 004 eq. 3 for Gaussian states: the attracting fixed point of the
    Riccati flow (N2) reached from ``state0`` (module docstring: flow, then Kleinman–Newton,
    then one differentiable Newton step).

    Args:
        model: :class:`NonHermitianSystem`.
        state0: where the flow starts (default vacuum).
        t_max: longest flow time before Newton takes over.
        flow_rtol: relative tolerance of diffrax's steady-state event.
        max_newton: Newton steps.
        tol: convergence of max|F(V)|/max(|D|, |A|) (default 1e3·eps).
        blowup: divergence threshold on max|V_jk| (see :func:`evolve`).
        throw: raise on failure instead of returning the result code.
    Returns:
        :class:`NonHermitianSteadyState`.
    """
    if not isinstance(model, NonHermitianSystem):
        raise TypeError(f"model must be a NonHermitianSystem, got {type(model).__name__}")
    state0 = _check_state(model, state0)
    eps = float(jnp.finfo(model.S.dtype).eps)
    tol = 1e3 * eps if tol is None else float(tol)
    out = _steady_state(model, state0, t_max=float(t_max), flow_rtol=float(flow_rtol),
                        max_newton=int(max_newton), tol=tol, blowup=float(blowup),
                        max_steps=int(max_steps))
    if throw:
        out = eqx.tree_at(lambda o: o.cov, out, out.result.error_if(out.cov, out.result != RESULTS.successful))
    return out


@eqx.filter_jit
def _steady_state(model, state0, *, t_max, flow_rtol, max_newton, tol, blowup, max_steps):
    dt = model.S.dtype
    eps = float(jnp.finfo(dt).eps)
    A, D, b = model.system.A, model.system.D, model.system.b
    finite = (jnp.all(jnp.isfinite(A)) & jnp.all(jnp.isfinite(D)) & jnp.all(jnp.isfinite(b))
              & jnp.all(jnp.isfinite(model.S)))
    n = A.shape[0]
    eye = jnp.eye(n, dtype=dt)
    # keep non-finite points away from the solvers (a bad point never poisons a vmap)
    safe = NonHermitianSystem(LinearSystem(jnp.where(finite, A, -eye), jnp.where(finite, D, eye),
                                           jnp.where(finite, b, 0.0)),
                              jnp.where(finite, model.S, 0.0), jnp.where(finite, model.s0, 0.0))
    Dt = _shifted_diffusion(safe)
    scale = jnp.maximum(jnp.max(jnp.abs(Dt)), jnp.max(jnp.abs(safe.system.A)))

    # (i) the flow (no gradients: it only selects the fixed point)
    nograd = jax.lax.stop_gradient(safe)
    y0 = (state0.mean.astype(dt), state0.cov.astype(dt), jnp.zeros((), dt))
    steady = diffrax.steady_state_event(rtol=flow_rtol, atol=flow_rtol * 1e-2)
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(_rhs), diffrax.Tsit5(), jnp.zeros((), dt), jnp.asarray(t_max, dt), None,
        jax.lax.stop_gradient(y0), args=(nograd, jax.lax.stop_gradient(Dt)),
        saveat=diffrax.SaveAt(t1=True),
        stepsize_controller=diffrax.PIDController(rtol=flow_rtol * 1e-2, atol=flow_rtol * 1e-4),
        event=diffrax.Event([steady, _blowup_event(blowup)]), max_steps=max_steps, throw=False)
    V0 = sol.ys[1][0].astype(dt)
    t_flow = sol.ts[0]
    diverged = (sol.result == diffrax.RESULTS.event_occurred) & sol.event_mask[1]
    flow_ok = ((sol.result == diffrax.RESULTS.successful)
               | (sol.result == diffrax.RESULTS.event_occurred)) & ~diverged
    V0 = jnp.where(flow_ok & jnp.all(jnp.isfinite(V0)), V0, 0.5 * eye)

    # (ii) Kleinman–Newton polish
    Dt_ng = jax.lax.stop_gradient(Dt)

    def resid(V):
        return jnp.max(jnp.abs(riccati_residual(nograd, V))) / jax.lax.stop_gradient(scale)

    def cond(st):
        V, k, r, ok = st
        return (k < max_newton) & (r > tol) & ok

    def body(st):
        V, k, _, _ = st
        V2, hurwitz = _kleinman_step(nograd, Dt_ng, V)
        ok = hurwitz & jnp.all(jnp.isfinite(V2))
        return V2, k + 1, resid(V2), ok

    V, k, r, newton_ok = jax.lax.while_loop(cond, body, (V0, jnp.asarray(0), resid(V0),
                                                         jnp.asarray(True)))
    V = jax.lax.stop_gradient(V)
    # (iii) one differentiable Newton step: exact first derivatives at a converged root
    Vd, hurwitz = _kleinman_step(safe, Dt, V)
    r = jnp.max(jnp.abs(riccati_residual(safe, Vd))) / scale
    stable = hurwitz  # A_V = A + 2VS at the converged V: the fixed point attracts the flow
    AV = safe.system.A + 2 * Vd @ safe.S
    mean = -jnp.linalg.solve(jnp.where(stable, AV, -eye), safe.system.b)

    result = RESULTS.where(~(r <= jnp.maximum(tol, 1e2 * eps)), RESULTS.nonlinear_max_steps_reached,
                           RESULTS.successful)
    result = RESULTS.where(~stable & (r <= jnp.maximum(tol, 1e2 * eps)), RESULTS.unstable, result)
    result = RESULTS.where(diverged, RESULTS.finite_time_divergence, result)
    result = RESULTS.where(~finite, RESULTS.nonfinite_input, result)
    ok = result == RESULTS.successful
    cov = jnp.where(ok, Vd, jnp.nan)
    mean = jnp.where(ok, mean, jnp.nan)
    mu = jnp.where(ok, _growth_rate(safe, mean, cov), jnp.nan)
    return NonHermitianSteadyState(mean, cov, mu, jnp.where(ok, r, jnp.nan), t_flow, result)
