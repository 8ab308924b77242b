"""Measurement-based feedback cooling of linear quantum systems (Gaussian states).

Continuous position measurement of oscillator j at measurement rate Γ_j with detection
efficiency η (the normalisation of :func:`jaxbind.quantum.models.add_cold_damping`, paper 000
App. B): the measurement back-action is the Lindblad term 2Γ_j D[z_j] (momentum diffusion
D_pp += 2Γ_j in the conventions of :mod:`jaxbind.quantum.gaussian`), and the homodyne record
is dy_j = √(8ηΓ_j) ⟨z_j⟩ dt + dW_j. The state conditioned on the record is Gaussian with the
Kalman–Bucy covariance V_c, the stabilising solution of the filter Riccati equation

    A V_c + V_c Aᵀ + D − V_c Cᵀ C V_c = 0,     C_j· = √(8ηΓ_j) e_{z_j}ᵀ

(Doherty & Jacobs, PRA 60, 2700 (1999), eqs. 13–16; Wiseman & Milburn, *Quantum
Measurement and Control* (CUP 2010), Sec. 6.6), and the conditional mean obeys
dx̂ = (A x̂ + B u) dt + V_c Cᵀ dw (dw the innovation, unit white noise).

Feedback (a force u_j on the momentum of oscillator j, B = Σ_j e_{p_j} e_jᵀ):

* :func:`lqg_cooling` — optimal linear-quadratic-Gaussian control minimising
  ⟨xᵀ Q x⟩/2 + r ⟨uᵀ u⟩ with Q = 1 (the summed energies): u = −K x̂, K = Bᵀ X/r where X is
  the stabilising solution of the control Riccati equation Aᵀ X + X A − X B Bᵀ X/r + Q = 0.
  The estimate's covariance Σ solves (A − BK) Σ + Σ (A − BK)ᵀ + V_c CᵀC V_c = 0 and the
  unconditional steady state is V = V_c + Σ (separation principle; Doherty & Jacobs
  eq. 22). For a single oscillator in the weak-coupling limit (γ, Γ ≪ ω; Wieczorek et al.,
  PRL 114, 223601 (2015), supplement) the conditional state is isotropic with

      V_c = [−γ + √(γ² + 16ηΓ(γ(n̄ + ½) + Γ))]/(8ηΓ),

  and cheap control (r → 0) cools to n = V_c − ½ (ground state at η = 1, γ → 0).
* :func:`cold_damping` — velocity feedback with a filter: the record drives a two-stage low
  pass of cut-off ω_c whose band-limited derivative v̂ = ω_c(w₁ − w₂) (→ ż for ω ≪ ω_c)
  feeds back u_j = −g_j v̂_j (Genes, Vitali, Tombesi, Gigan & Aspelmeyer, PRA 77, 033804
  (2008), Sec. III, with their derivative filter replaced by this realisable one). The
  closed loop (x, w) is linear; its stationary covariance is one Lyapunov equation.

Algebraic Riccati equations: no well-kept JAX solver exists, so :func:`solve_care` solves
them by the matrix sign function of the Hamiltonian matrix (Roberts' iteration with
determinant scaling; Byers, Linear Algebra Appl. 85, 267 (1987)) — no stabilising initial
guess is needed, so unstable (e.g. PT-broken) arrays are handled — followed by one
Newton–Kleinman step through the project's Lyapunov solver in which the converged solution
is a constant: the output's derivative is then exactly the implicit derivative
−L⁻¹ ∂R/∂θ (L the closed-loop Lyapunov operator, R the Riccati residual), so gradients
never unroll the iteration.

Results: ``successful``, ``invalid_input`` (a non-positive measurement rate, η outside
[0, 1], a non-positive cut-off or control cost), ``not_stabilizable`` (no stabilising Riccati
solution: an unstable mode the feedback cannot reach or the measurement cannot see),
``unstable`` (cold damping whose closed loop is not stable); outputs are NaN unless
successful.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._precision import highest_precision
from ..results import RESULTS
from .gaussian import LinearSystem
from .lyapunov import solve_lyapunov
from .observables import occupations as _occupations

__all__ = [
    "solve_care",
    "position_measurement",
    "conditional_covariance",
    "FeedbackResult",
    "lqg_cooling",
    "cold_damping",
]


# --------------------------------------------------------------------------------------
# algebraic Riccati equation
# --------------------------------------------------------------------------------------

def _sign(H, steps):
    """Matrix sign by Newton's iteration with determinant scaling, stopped at convergence
    (relative change ≤ 100 eps) or after ``steps`` iterations."""
    n = H.shape[0]
    tol = 100.0 * jnp.finfo(H.dtype).eps

    def step(Z):
        Zi = jnp.linalg.inv(Z)
        _, logdet = jnp.linalg.slogdet(Z)
        c = jnp.exp(logdet / n)
        c = jnp.where(jnp.isfinite(c) & (c > 0), c, 1.0)
        return 0.5 * (Z / c + c * Zi)

    def cond(state):
        k, _, change = state
        return (k < steps) & (change > tol)

    def body(state):
        k, Z, _ = state
        Zn = step(Z)
        change = jnp.max(jnp.abs(Zn - Z)) / jnp.maximum(jnp.max(jnp.abs(Zn)), 1e-300)
        change = jnp.where(jnp.isfinite(change), change, 0.0)  # a NaN stops (and is reported)
        return k + 1, Zn, change

    _, Z, _ = jax.lax.while_loop(cond, body, (0, H, jnp.asarray(jnp.inf, H.dtype)))
    return Z


def _residual(a, G, Q, X):
    return a.T @ X + X @ a - X @ G @ X + Q


@highest_precision
def solve_care(a: Float[ArrayLike, "n n"], G: Float[ArrayLike, "n n"],
               Q: Float[ArrayLike, "n n"], *,
               max_steps: int = 60) -> tuple[Float[Array, "n n"], RESULTS]:
    """Stabilising solution X of aᵀX + X a − X G X + Q = 0 (G, Q symmetric ⪰ 0).

    SciPy's ``solve_continuous_are(a, b, q, r)`` is the case G = b r⁻¹ bᵀ. Sign-function
    solve plus one implicit-gradient Newton–Kleinman step (module docstring); works under
    jit/vmap/grad.

    Args:
        a, G, Q: (n, n) real matrices.
        max_steps: sign iterations (static; quadratic convergence, 60 is ample).
    Returns:
        (X, result): X (n, n) symmetric, NaN unless ``result`` is successful;
        ``not_stabilizable`` if a − G X is not Hurwitz (no stabilising solution) or the
        iteration did not converge.
    """
    a, G, Q = (jnp.asarray(m) for m in (a, G, Q))
    n = a.shape[0]
    for name, m in (("a", a), ("G", G), ("Q", Q)):
        if m.shape != (n, n):
            raise ValueError(f"{name} must have shape ({n}, {n}), got {m.shape}")
    G = 0.5 * (G + G.T)
    Q = 0.5 * (Q + Q.T)
    ac, Gc, Qc = jax.lax.stop_gradient((a, G, Q))
    H = jnp.block([[ac, -Gc], [-Qc, -ac.T]])
    W = _sign(H, max_steps)
    eye = jnp.eye(n, dtype=a.dtype)
    lhs = jnp.concatenate([W[:n, n:], W[n:, n:] + eye], axis=0)
    rhs = -jnp.concatenate([W[:n, :n] + eye, W[n:, :n]], axis=0)
    X0 = jnp.linalg.lstsq(lhs, rhs)[0]
    X0 = 0.5 * (X0 + X0.T)
    finite = jnp.all(jnp.isfinite(X0))
    X0 = jnp.where(finite, X0, 0.0)
    # one Newton–Kleinman step with X0 constant: value refined, derivative implicit
    acl = a - G @ X0
    dX, hurwitz = solve_lyapunov(acl.T, _residual(a, G, Q, X0))
    X = X0 + 0.5 * (dX + dX.T)
    res = _residual(ac, Gc, Qc, jax.lax.stop_gradient(X))
    scale = jnp.maximum(jnp.max(jnp.abs(Qc)), jnp.max(jnp.abs(ac.T @ X0)) + 1e-30)
    conv = jnp.max(jnp.abs(res)) <= 1e-6 * scale
    ok = finite & hurwitz & conv & jnp.all(jnp.isfinite(X))
    result = RESULTS.where(ok, RESULTS.successful, RESULTS.not_stabilizable)
    return jnp.where(ok, X, jnp.nan), result


# --------------------------------------------------------------------------------------
# measurement
# --------------------------------------------------------------------------------------

def _rates(system, rates):
    m = system.n_modes
    r = jnp.broadcast_to(jnp.asarray(rates, system.A.dtype), (m,))
    return r


def _input_ok(*conds):
    ok = jnp.asarray(True)
    for c in conds:
        ok = ok & jnp.all(c)
    return ok


def position_measurement(system: LinearSystem, rates: Float[ArrayLike, "*m"],
                         efficiency: Float[ArrayLike, ""] = 1.0
                         ) -> tuple[LinearSystem, Float[Array, "m n"]]:
    """Continuous position measurement of every oscillator (module docstring).

    Args:
        system: :class:`~jaxbind.quantum.gaussian.LinearSystem` (M oscillators).
        rates: scalar or (M,) measurement rates Γ_j (units of ω_ref), ≥ 0 (0: not measured).
        efficiency: detection efficiency η ∈ [0, 1].
    Returns:
        (system with the back-action 2Γ_j on D_pp, C (M, 2M) measurement matrix).
    """
    dt = system.A.dtype
    D, C = _measurement(system.D, jnp.asarray(rates, dt), jnp.asarray(efficiency, dt))
    return LinearSystem(system.A, D, system.b), C


@jax.jit  # one program (eager: one XLA compilation per op)
def _measurement(D0, rates, eta):
    """(D with the back-action 2Γ_j on D_pp, C) of :func:`position_measurement`."""
    dt = D0.dtype
    m = D0.shape[0] // 2
    G = jnp.broadcast_to(rates, (m,))
    j = jnp.arange(m)
    D = jnp.zeros_like(D0).at[2 * j + 1, 2 * j + 1].set(2.0 * G)
    C = jnp.zeros((m, 2 * m), dt).at[j, 2 * j].set(jnp.sqrt(8.0 * jnp.clip(eta, 0.0) * jnp.clip(G, 0.0)))
    return D0 + D, C


def conditional_covariance(system: LinearSystem, C: Float[Array, "k n"]
                           ) -> tuple[Float[Array, "n n"], RESULTS]:
    """Kalman–Bucy steady-state conditional covariance: A V + V Aᵀ + D − V CᵀC V = 0.

    Returns:
        (V_c, result) (``not_stabilizable`` if no stabilising solution: an unstable mode the
        record does not see).
    """
    return solve_care(system.A.T, C.T @ C, system.D)


class FeedbackResult(eqx.Module):
    """Steady state under measurement-based feedback.

    Attributes:
        occupations: (M,) mean phonon numbers of every oscillator (NaN unless successful).
        cov: (2M, 2M) unconditional covariance of the oscillators.
        conditional_cov: (2M, 2M) Kalman–Bucy conditional covariance (LQG), or the
            oscillators' block of the closed-loop covariance (cold damping).
        gain: the feedback gain matrix (LQG: K (M, 2M)); cold damping: the (M,) gains.
        result: :data:`jaxbind.RESULTS` item.
    """

    occupations: Float[Array, " m"]
    cov: Float[Array, "n n"]
    conditional_cov: Float[Array, "n n"]
    gain: Float[Array, "..."]
    result: RESULTS


def _finish(V, Vc, gain, result, ok_input, throw):
    result = RESULTS.where(ok_input, result, RESULTS.invalid_input)
    ok = result == RESULTS.successful
    V = jnp.where(ok, 0.5 * (V + V.T), jnp.nan)
    Vc = jnp.where(ok, Vc, jnp.nan)
    d = jnp.diagonal(V)
    occ = 0.5 * (d[0::2] + d[1::2] - 1.0)
    if throw:
        occ = result.error_if(occ, ~ok)
    return FeedbackResult(occ, V, Vc, gain, result)


@highest_precision
def lqg_cooling(system: LinearSystem, rates: Float[ArrayLike, "*m"],
                efficiency: Float[ArrayLike, ""] = 1.0, control_cost: Float[ArrayLike, ""] = 1e-3,
                *, throw: bool = False) -> FeedbackResult:
    """Optimal (LQG) feedback cooling of every oscillator from continuous position records.

    Args:
        system: :class:`~jaxbind.quantum.gaussian.LinearSystem` without the measurement
            (its back-action is added here).
        rates: scalar or (M,) measurement rates Γ_j (units of ω_ref), > 0.
        efficiency: η ∈ [0, 1] (η = 0: no information, no feedback, the unconditional
            steady state with back-action).
        control_cost: r > 0 in the cost ⟨xᵀx⟩/2 + r⟨uᵀu⟩ (r → 0: cheap control, the
            occupations approach the conditional state's).
        throw: raise unless successful (default False: the result code).
    Returns:
        :class:`FeedbackResult` (differentiable in rates, η, r and the system's entries).
    """
    dt = system.A.dtype
    G = _rates(system, rates)
    eta = jnp.asarray(efficiency, dt)
    r = jnp.asarray(control_cost, dt)
    ok_in = _input_ok(G > 0, eta >= 0, eta <= 1, r > 0, jnp.isfinite(r))
    G = jnp.where(ok_in, G, 1.0)
    eta = jnp.where(ok_in, eta, 1.0)
    r = jnp.where(ok_in, r, 1.0)
    sysm, C = position_measurement(system, G, eta)
    A, D = sysm.A, sysm.D
    m = system.n_modes
    n = 2 * m
    B = jnp.zeros((n, m), dt).at[2 * jnp.arange(m) + 1, jnp.arange(m)].set(1.0)
    Vc, res_f = conditional_covariance(sysm, C)
    X, res_c = solve_care(A, B @ B.T / r, 0.5 * jnp.eye(n, dtype=dt))
    K = B.T @ X / r
    L = jnp.where(jnp.isfinite(Vc), Vc, 0.0) @ C.T
    Acl = A - B @ jnp.where(jnp.isfinite(K), K, 0.0)
    Sigma, hur = solve_lyapunov(Acl, L @ L.T)
    result = RESULTS.where(res_f == RESULTS.successful, res_c, res_f)
    result = RESULTS.where(hur | (result != RESULTS.successful), result, RESULTS.unstable)
    return _finish(Vc + Sigma, Vc, K, result, ok_in, throw)


@highest_precision
def cold_damping(system: LinearSystem, rates: Float[ArrayLike, "*m"],
                 efficiency: Float[ArrayLike, ""], gain: Float[ArrayLike, "*m"],
                 cutoff: Float[ArrayLike, ""], *, throw: bool = False) -> FeedbackResult:
    """Cold-damping feedback with a band-limited derivative filter (module docstring).

    Closed loop, per oscillator j (units of ω_ref): the record dy_j = √(8ηΓ_j) z_j dt + dW_j
    is rescaled to position units, ẇ₁ = ω_c(z + ξ/√(8ηΓ) − w₁), ẇ₂ = ω_c(w₁ − w₂), and the
    force −g_j ω_c (w₁ − w₂) acts on p_j.

    Args:
        system: :class:`~jaxbind.quantum.gaussian.LinearSystem` without the measurement.
        rates: scalar or (M,) measurement rates Γ_j > 0; efficiency: η ∈ (0, 1].
        gain: scalar or (M,) velocity gains g_j ≥ 0 (the added damping rate for
            ω ≪ ω_c, units of ω_ref); cutoff: ω_c > 0 (units of ω_ref).
    Returns:
        :class:`FeedbackResult` (``unstable`` if the closed loop is not stable).
    """
    dt = system.A.dtype
    m = system.n_modes
    G = _rates(system, rates)
    eta = jnp.asarray(efficiency, dt)
    g = jnp.broadcast_to(jnp.asarray(gain, dt), (m,))
    wc = jnp.asarray(cutoff, dt)
    ok_in = _input_ok(G > 0, eta > 0, eta <= 1, g >= 0, wc > 0, jnp.isfinite(wc))
    G = jnp.where(ok_in, G, 1.0)
    eta = jnp.where(ok_in, eta, 1.0)
    wc = jnp.where(ok_in, wc, 1.0)
    sysm, _ = position_measurement(system, G, eta)
    n = 2 * m
    j = jnp.arange(m)
    N = n + 2 * m
    A = jnp.zeros((N, N), dt).at[:n, :n].set(sysm.A)
    w1, w2 = n + 2 * j, n + 2 * j + 1
    A = A.at[2 * j + 1, w1].add(-g * wc).at[2 * j + 1, w2].add(g * wc)
    A = A.at[w1, 2 * j].set(wc).at[w1, w1].set(-wc).at[w2, w1].set(wc).at[w2, w2].set(-wc)
    D = jnp.zeros((N, N), dt).at[:n, :n].set(sysm.D)
    D = D.at[w1, w1].set(wc**2 / (8.0 * eta * G))
    V, hur = solve_lyapunov(A, D)
    result = RESULTS.where(hur, RESULTS.successful, RESULTS.unstable)
    return _finish(V[:n, :n], V[:n, :n], g, result, ok_in, throw)
