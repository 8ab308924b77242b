"""Limit cycles past the linear instability: periodic orbits of the full nonlinear model.

Past the linear instability (the PT-broken regime of papers 000, 001: an eigenvalue of the
drift matrix with positive real part) the linear model has no steady state; with gas damping
the motion of the full nonlinear Langevin model (:class:`jaxbind.dynamics.LangevinModel`:
traps + binding from the engine's optical forces) saturates into a limit cycle. Two ways to
get it:

1. **Shooting for the periodic orbit** (the robust way): :func:`periodic_orbit` solves

       Φ_T(y₀) − y₀ = 0,   f(ŷ)·(y₀ − ŷ) = 0

   for the state y₀ and the period T (Φ_T the deterministic flow of the scaled drift of
   :mod:`jaxbind.dynamics.langevin`, integrated over one period with a fixed number of
   diffrax Runge–Kutta steps; the second equation is the Poincaré phase condition through the
   guess ŷ) by Newton's method (:func:`optimistix.root_find`), so its outputs are
   differentiable in every model parameter by the implicit function theorem (optimistix's
   implicit adjoint): tweezer phases, distances, powers, feedback gains.
   Stability: the Floquet multipliers, eigenvalues of the monodromy matrix ∂Φ_T/∂y₀; one is
   exactly 1 (along the orbit), the cycle is orbitally stable when all others have |μ| < 1
   (Seydel, *Practical Bifurcation and Stability Analysis*, 3rd ed., Springer 2010, §7.1–7.4).
   :func:`find_limit_cycle` supplies the guess: the equilibrium (Newton on the drift), its
   fastest-growing linear mode (growth rate σ = max Re λ, frequency Im λ), a deterministic
   transient from a small kick along that mode over a few tens of e-folding times 1/σ, then
   the shooting solve.
2. **Reading it off trajectories**: :func:`limit_cycle` takes the stationary window of an
   ensemble from :func:`jaxbind.dynamics.simulate` (deterministic at T = 0, or stochastic).

Why long direct runs are needed: the growth rate of the unstable mode is set by the
anti-reciprocal coupling, σ ≈ g_a − γ/2 at best (paper 000 eq. 12: max Im ω_± = g_a at the
optimal detuning δω = 2g_a), a few 10³ s⁻¹ for sub-100 nm spheres in 0.3 W tweezers, i.e.
10³–10⁴ trap periods per e-folding, and a thermal amplitude of ~1 nm must grow by e⁵–e⁷ to
reach a cycle of ~100 nm; runs of a few ms stay in the linear growth phase. The shooting
solve needs only one period per Newton step.

Why damping is needed: position-dependent forces (however non-conservative) give a
divergence-free flow in phase space (Liouville), so without gas damping or feedback no orbit
can attract: periodic orbits then come in neutral families (multipliers on the unit circle).
With damping γ the phase volume contracts at rate 3Nγ and an attracting cycle exists when the
nonlinearity saturates the growth (trap anharmonicity, and the averaging of the binding phase
k(z₁ − z₂) once the axial amplitude approaches 1/k).

Near the threshold (Hopf bifurcation) the amplitude grows as √(distance from threshold) and
the frequency tends to the linear model's Im λ (normal form; Guckenheimer & Holmes,
*Nonlinear Oscillations, Dynamical Systems, and Bifurcations of Vector Fields*, Springer
1983, §3.4) — both are tested.

Summary quantities (of an orbit or of trajectories), per degree of freedom μ = 3j + a:
amplitude A_μ and phase φ_μ of the first harmonic, δx_μ ≈ c_μ + A_μ cos(Ωt + φ_μ), with the
phase relative to a reference degree of freedom (φ_ref = 0).

:func:`limit_cycle` (trajectories) estimates them as

* amplitude A_μ = √2 · rms(δx_μ − ⟨δx_μ⟩) (the amplitude of a sinusoid with the same power);
* frequency ω_μ: the peak of the Hann-windowed periodogram, refined by Gaussian (parabolic in
  log power) interpolation between the three bins around it (error ≪ one bin 2π/T_window
  for a clean line);
* relative phase φ_μ = arg Σ_traj X_μ(ω_ref) X_ref*(ω_ref): the phase of the cross spectrum
  of degree of freedom μ with the reference one at the reference's peak (δx_μ ≈
  A_μ cos(ω t + φ_μ) when phase-locked; φ_ref = 0). The coherence |Σ X_μ X_ref*| /
  √(Σ|X_μ|² Σ|X_ref|²) ∈ [0, 1] says how well the phase is locked (1: locked, ≈ 0: free).

These are the quantities of a Hopf bifurcation diagram versus (φ, d) next to the linear
regime map of paper 000 Fig. 3.
"""

from __future__ import annotations

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optimistix as optx
from jaxtyping import Array, ArrayLike, Bool, Complex, Float

from .._entry import compiled_entry
from ..results import RESULTS
from .langevin import ColdDamping, LangevinModel, _Scaled
from .result import Trajectories, _masked_mean

__all__ = ["LimitCycle", "limit_cycle", "OrbitSolution", "shoot_periodic_orbit",
           "PeriodicOrbit", "periodic_orbit", "find_limit_cycle"]


class LimitCycle(eqx.Module):
    """Limit-cycle summary (module docstring), one entry per degree of freedom μ = 3j + a.

    Attributes:
        amplitude: (M,) amplitudes (m).
        frequency: (M,) angular frequencies of the dominant line (rad/s).
        phase: (M,) phases relative to the reference degree of freedom (rad, in (−π, π]).
        coherence: (M,) phase coherence with the reference at its line, in [0, 1].
        result: ``successful`` or ``trajectory_nonfinite`` when no trajectory succeeded.
    """

    amplitude: Float[Array, " M"]
    frequency: Float[Array, " M"]
    phase: Float[Array, " M"]
    coherence: Float[Array, " M"]
    result: RESULTS


def limit_cycle(traj: Trajectories, t_min: float | None = None, *,
                reference: int = 0) -> LimitCycle:
    """Amplitude, frequency and relative phase of the stationary motion (module docstring).

    Args:
        traj: :class:`~jaxbind.dynamics.Trajectories` (its successful trajectories are used).
        t_min: start of the stationary window (s), after the transient.
        reference: the degree of freedom whose phase is 0 and whose line defines ω_ref.
    Returns:
        :class:`LimitCycle`.
    """
    x, _ = traj._window(t_min)
    n_t, M = x.shape[1], x.shape[2]
    if not 0 <= reference < M:
        raise ValueError(f"reference must be in [0, {M}), got {reference}")
    ok = traj.ok
    dt = (traj.ts[-1] - traj.ts[0]) / (traj.ts.shape[0] - 1)
    d = x - jnp.mean(x, axis=1, keepdims=True)
    amp = jnp.sqrt(2.0 * _masked_mean(jnp.mean(d**2, axis=1), ok))
    w = jnp.asarray(np.hanning(n_t + 2)[1:-1], x.dtype)
    X = jnp.fft.rfft(d * w[:, None], axis=1)  # (n, K, M)
    X = jnp.where(ok[:, None, None], X, 0.0)
    P = jnp.sum(jnp.abs(X) ** 2, axis=0)  # (K, M)
    K = P.shape[0]
    k = jnp.clip(jnp.argmax(P[1:], axis=0) + 1, 1, K - 2)  # skip the DC bin
    idx = jnp.arange(M)
    lp = jnp.log(jnp.maximum(P, jnp.finfo(P.dtype).tiny))
    a, b, c = lp[k - 1, idx], lp[k, idx], lp[k + 1, idx]
    den = a - 2 * b + c
    shift = jnp.where(den < 0, 0.5 * (a - c) / jnp.where(den < 0, den, -1.0), 0.0)
    freq = 2.0 * jnp.pi * (k + jnp.clip(shift, -0.5, 0.5)) / (n_t * dt)
    kr = k[reference]
    cross = jnp.sum(X[:, kr, :] * jnp.conj(X[:, kr, reference])[:, None], axis=0)
    phase = jnp.angle(cross)
    coh = jnp.abs(cross) / jnp.sqrt(P[kr, :] * P[kr, reference] + jnp.finfo(P.dtype).tiny)
    any_ok = jnp.any(ok)
    result = RESULTS.where(any_ok, RESULTS.successful, RESULTS.trajectory_nonfinite)
    nan = jnp.asarray(jnp.nan, x.dtype)
    amp, freq, phase, coh = (jnp.where(any_ok, v, nan) for v in (amp, freq, phase, coh))
    return LimitCycle(amplitude=amp, frequency=freq, phase=phase, coherence=coh, result=result)


# --------------------------------------------------------------------------------------
# periodic orbits by shooting
# --------------------------------------------------------------------------------------


def _flow(vector_field, y0, T, args, steps, solver):
    """y(T) and the samples y(t_n), t_n = n T/steps (n = 1 … steps), of ẏ = f(t, y, args)
    from y(0) = y0: ``steps`` fixed steps of the diffrax Runge–Kutta scheme ``solver`` in the
    normalised time s = t/T (so T is a differentiable unknown), looped by ``lax.scan`` so the
    flow has forward and reverse derivatives in y0, T and args."""
    term = diffrax.ODETerm(lambda s, y, a: a[0] * vector_field(s * a[0], y, a[1]))
    h = 1.0 / steps
    a = (T, args)
    state = solver.init(term, 0.0, h, y0, a)

    def body(carry, i):
        y, st = carry
        s0 = i * h
        y1, _, _, st, _ = solver.step(term, s0, s0 + h, y, a, st, False)
        return (y1, st), y1

    (yT, _), ys = jax.lax.scan(body, (y0, state), jnp.arange(steps, dtype=y0.dtype))
    return yT, ys


class OrbitSolution(eqx.Module):
    """A periodic orbit of an autonomous ODE (:func:`shoot_periodic_orbit`).

    Attributes:
        y0: (n,) state on the orbit (on the Poincaré section through the guess).
        period: () period T.
        samples: (steps, n) the orbit at t_n = n T/steps, n = 1 … steps (the last is y0).
        multipliers: (n,) complex Floquet multipliers (eigenvalues of the monodromy matrix
            ∂Φ_T/∂y0), sorted by |μ − 1| (the first is the trivial one, ≈ 1).
        max_multiplier: () the largest |μ| of the non-trivial multipliers (< 1: orbitally
            stable, an attracting limit cycle; > 1: unstable).
        result: ``successful`` or ``no_limit_cycle`` (Newton did not converge, or the orbit
            collapsed onto an equilibrium); outputs are NaN unless successful.
    """

    y0: Float[Array, " n"]
    period: Float[Array, ""]
    samples: Float[Array, "steps n"]
    multipliers: Complex[Array, " n"]
    max_multiplier: Float[Array, ""]
    result: RESULTS


def _shoot(vector_field, y0, period, args, steps, solver, rtol, atol, max_steps):
    y0 = jnp.asarray(y0)
    T0 = jnp.asarray(period, y0.dtype)
    yhat = jax.lax.stop_gradient(y0)
    fhat = jax.lax.stop_gradient(vector_field(0.0, yhat, args))
    fhat = fhat / jnp.maximum(jnp.linalg.norm(fhat), jnp.finfo(y0.dtype).tiny)

    def residual(z, a):
        y, T = z
        yT, _ = _flow(vector_field, y, T, a, steps, solver)
        return yT - y, jnp.dot(fhat, y - yhat)

    z0 = (yhat, jax.lax.stop_gradient(T0))
    sol = optx.root_find(residual, optx.Newton(rtol=rtol, atol=atol), z0, args,
                         max_steps=max_steps, throw=False)
    y, T = sol.value
    yT, ys = _flow(vector_field, y, T, args, steps, solver)
    # checks on the converged point (after the solve; NaN-masked below)
    scale = 1.0 + jnp.max(jnp.abs(y))
    closed = jnp.max(jnp.abs(yT - y)) <= 1e3 * (atol + rtol * scale)
    spread = jnp.max(jnp.max(ys, axis=0) - jnp.min(ys, axis=0))
    nontrivial = spread > 1e-6 * scale
    ok = (sol.result == optx.RESULTS.successful) & closed & nontrivial & (T > 0)
    ok = ok & jnp.all(jnp.isfinite(ys)) & jnp.isfinite(T)
    mono = jax.jacfwd(lambda yy: _flow(vector_field, yy, jax.lax.stop_gradient(T),
                                        jax.lax.stop_gradient(args), steps, solver)[0])(
        jax.lax.stop_gradient(y))
    mono = jnp.where(jnp.all(jnp.isfinite(mono)), mono, 0.0)
    mu = jnp.linalg.eigvals(mono)
    mu = mu[jnp.argsort(jnp.abs(mu - 1.0))]
    mmax = jnp.max(jnp.abs(mu[1:]))
    result = RESULTS.where(ok, RESULTS.successful, RESULTS.no_limit_cycle)
    nan = jnp.asarray(jnp.nan, y.dtype)
    return OrbitSolution(y0=jnp.where(ok, y, nan), period=jnp.where(ok, T, nan),
                         samples=jnp.where(ok, ys, nan),
                         multipliers=jnp.where(ok, mu, nan).astype(mu.dtype),
                         max_multiplier=jnp.where(ok, mmax, nan), result=result)


def shoot_periodic_orbit(vector_field, y0: Float[ArrayLike, " n"], period: Float[ArrayLike, ""],
                         args=None, *, steps: int = 128,
                         solver: diffrax.AbstractRungeKutta | None = None,
                         rtol: float = 1e-10, atol: float = 1e-10, max_steps: int = 40,
                         throw: bool = True) -> OrbitSolution:
    """A periodic orbit of the autonomous ODE ẏ = f(t, y, args) by single shooting.

    Solves Φ_T(y) = y together with the phase condition f(ŷ)·(y − ŷ) = 0 (the Poincaré
    section through the guess ŷ = ``y0``) for (y, T) with Newton's method
    (:class:`optimistix.Newton`); Φ_T is ``steps`` fixed steps of ``solver`` (default
    :class:`diffrax.Tsit5`, order 5) over one period. The result is differentiable in
    ``args`` by the implicit function theorem (optimistix's implicit adjoint) — also under
    ``jax.jit``/``vmap``. Seydel (2010) §7.1–7.4 for the method and the Floquet multipliers.

    Args:
        vector_field: f(t, y, args) → (n,) (autonomous: t is ignored by the orbit).
        y0: (n,) guess of a state on the orbit; period: guess of the period (> 0).
        args: pytree passed to f (what gradients flow into).
        steps: Runge–Kutta steps per period (static).
        solver: a diffrax explicit Runge–Kutta solver.
        rtol, atol: Newton tolerances; max_steps: Newton iterations.
        throw: raise (``EquinoxRuntimeError``) unless successful; else see ``result``.
    Returns:
        :class:`OrbitSolution`.
    """
    steps = int(steps)
    if steps < 4:
        raise ValueError(f"steps must be ≥ 4, got {steps}")
    # "bounded" stage loop: the default checkpointed loop has no forward-mode derivative, "lax" no reverse one
    solver = diffrax.Tsit5(scan_kind="bounded") if solver is None else solver
    out = _shoot(vector_field, y0, period, args, steps, solver, rtol, atol, int(max_steps))
    if throw:
        out = eqx.tree_at(lambda o: o.period, out,
                          out.result.error_if(out.period, out.result != RESULTS.successful))
    return out
