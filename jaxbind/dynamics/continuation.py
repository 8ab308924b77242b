"""Continuation of periodic orbits in one parameter: limit-cycle branches to the Hopf threshold.

A limit cycle found at one parameter value (:func:`jaxbind.dynamics.find_limit_cycle`,
:func:`jaxbind.dynamics.shoot_periodic_orbit`) is followed through a scalar parameter p of
the model — a tweezer phase, a distance, a power, a damping or feedback gain: anything a
user's ``make_model(p)`` / ``args_of(p)`` builds — by **pseudo-arclength continuation**
(H. B. Keller, "Numerical solution of bifurcation and nonlinear eigenvalue problems", in
*Applications of Bifurcation Theory*, Academic Press 1977, pp. 359–384; E. L. Allgower and
K. Georg, *Numerical Continuation Methods*, Springer 1990, ch. 2; R. Seydel,
*Practical Bifurcation and Stability Analysis*, 3rd ed., Springer 2010, chs. 4 and 7) of
the single-shooting equations of :mod:`jaxbind.dynamics.limit_cycles`. The unknowns are
z = (y, T, p/p_s) ∈ ℝⁿ⁺² (state on the orbit, period, parameter over its scale p_s) and the
point after z_k solves

    Φ_T(y; p) − y = 0                   (n equations: the orbit closes after one period)
    f(y_k; p_k)·(y − y_k) = 0           (Poincaré phase condition through the last point)
    τ_k·(z − z_k) − h = 0               (pseudo-arclength: a step h along the tangent τ_k)

* **predictor**: z_k + h τ_k, with τ_k the unit tangent of the branch at z_k: the null
  vector of the (n+1)×(n+2) Jacobian of the first two equations, obtained from the bordered
  system [J; τ_{k−1}ᵀ] τ = e_{n+2} and oriented by τ_k·τ_{k−1} > 0 (Allgower & Georg ch. 2),
  so the branch passes folds (a saddle-node of cycles: dp/ds changes sign) without a change
  of parameter;
* **corrector**: Newton's method with Armijo backtracking on the square (n+2) system (the
  damped Newton of :mod:`jaxbind.dynamics.limit_cycles`, optimistix);
* **step control** (Seydel ch. 4): a failed corrector (no convergence, non-finite orbit, a
  collapse onto the equilibrium, a tangent turning by more than ``max_turn``) halves h and
  retries from z_k; a success in ≤ 4 Newton iterations grows h by 1.5 up to ``max_step``;
  h is capped at ``amplitude_fraction`` × the current cycle amplitude (scaled state units),
  so near a Hopf point the steps shrink with the cycle and never jump through it;
* per point the Jacobian gives both the next tangent and the monodromy matrix
  ∂Φ_T/∂y = J_yy + 1, whose eigenvalues are the Floquet multipliers (the trivial one ≈ 1
  first; the cycle is orbitally stable when all others have |μ| < 1).

**The Hopf threshold.** A branch ends on the equilibrium at a Hopf bifurcation p_c: the
amplitude A → 0 and the non-trivial Floquet multiplier of the amplitude → 1. By the normal
form (J. Guckenheimer and P. Holmes, *Nonlinear Oscillations, Dynamical Systems, and
Bifurcations of Vector Fields*, Springer 1983, §3.4) p − p_c = a A² + b A⁴ + …, so the
branch stops when the amplitude falls below ``min_amplitude`` (stop reason ``threshold``)
and p_c is extrapolated by fitting p = p_c + a A² + b A⁴ through the last three points
(``threshold``). *Supercritical*: the small cycles exist where the equilibrium is unstable
and are stable (multiplier → 1 from below); *subcritical*: they exist where it is stable
and are unstable (multiplier → 1 from above; the branch usually turns at a fold into the
large stable cycles). The multipliers and ``dparameter`` (dp/ds) per point tell which.

**Never an exception inside a branch.** Each point carries a result code: the accepted points
come first (``successful``), the slot after the last one carries the code of the attempt that
ended the branch (``no_limit_cycle``: the corrector failed at the smallest step, or the
cycle shrank onto the equilibrium at the threshold; ``particle_escaped`` for a Langevin
orbit leaving the escape distance), and every unused slot is ``no_limit_cycle`` with NaN
outputs. ``stop`` says why the branch ended (:data:`STOP_REASONS`).

The whole branch is one ``lax.while_loop`` with a fixed number of slots (``max_points``),
so it runs as one compiled program, under ``jax.jit``, and batched by ``jax.vmap`` (e.g.
branches in φ for several distances: pass ``args_of``/``make_model`` as a pytree callable
such as ``equinox.Partial(fn, d)``). A branch point is not differentiated through the loop;
for derivatives re-solve that point with :func:`~jaxbind.dynamics.periodic_orbit` (implicit
gradients).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from equinox._enum import EnumerationItem  # not re-exported by equinox
from jaxtyping import Array, ArrayLike, Bool, Complex, Float, Int

from ..results import RESULTS, code
from .langevin import ColdDamping, LangevinModel, _Scaled
from .limit_cycles import (PeriodicOrbit, _DampedNewton, _default_steps, _flow, _initial_state,
                           _linear_analysis)

__all__ = ["OrbitBranch", "continue_orbit", "LimitCycleBranch", "continue_limit_cycle",
           "continue_from_hopf", "STOP_REASONS"]

#: why a branch ended (the ``stop`` field): code → meaning
STOP_REASONS: dict[int, str] = {
    0: "running (never returned)",
    1: "max_points: all slots are filled",
    2: "bound: the next point lies outside the parameter bounds",
    3: "threshold: the cycle amplitude fell below min_amplitude (Hopf point; see `threshold`)",
    4: "step_failed: the corrector failed at the smallest step (min_step)",
    5: "start_failed: the orbit did not converge at the starting parameter",
    6: "max_tries: the number of corrector attempts ran out",
}
_RUNNING, _MAX_POINTS, _BOUND, _THRESHOLD, _STEP_FAILED, _START_FAILED, _MAX_TRIES = range(7)


class OrbitBranch(eqx.Module):
    """A branch of periodic orbits of ẏ = f(t, y, args_of(p)) (:func:`continue_orbit`).

    P = ``max_points`` slots; the first ``n_points`` are the accepted points in the order of
    the continuation, the others NaN (module docstring for the result codes).

    Attributes:
        parameter: (P,) p of each point.
        period: (P,) period T.
        y0: (P, n) state on the orbit (on the Poincaré section of the continuation).
        centre: (P, n) time average of each state component over the orbit.
        amplitude: (P, n) first-harmonic amplitude of each component,
            y_i(t) ≈ centre_i + amplitude_i cos(2πt/T + phase_i).
        phase: (P, n) first-harmonic phase relative to component ``reference`` (rad).
        size: (P,) max amplitude over the first ``n_size`` components (the amplitude that
            the threshold test and the step cap use).
        multipliers: (P, n) Floquet multipliers (trivial one first, then by |μ − 1|).
        max_multiplier: (P,) the largest non-trivial |μ| (< 1: stable cycle).
        dparameter: (P,) dp/ds, the parameter component of the unit tangent (times p_s):
            a sign change between neighbours is a fold (saddle-node of cycles).
        newton_steps: (P,) corrector iterations of each accepted point.
        result: (P,) RESULTS per point.
        n_points: () number of accepted points.
        stop: () why the branch ended (:data:`STOP_REASONS`).
        threshold: () the Hopf point p_c extrapolated from the last three points
            (p = p_c + a A² + b A⁴; two points: linear in A²) when ``stop`` is
            ``threshold``, else NaN.
        reference: () int, the component of zero phase.
    """

    parameter: Float[Array, " P"]
    period: Float[Array, " P"]
    y0: Float[Array, "P n"]
    centre: Float[Array, "P n"]
    amplitude: Float[Array, "P n"]
    phase: Float[Array, "P n"]
    size: Float[Array, " P"]
    multipliers: Complex[Array, "P n"]
    max_multiplier: Float[Array, " P"]
    dparameter: Float[Array, " P"]
    newton_steps: Int[Array, " P"]
    result: RESULTS
    n_points: Int[Array, ""]
    stop: Int[Array, ""]
    threshold: Float[Array, ""]
    reference: Int[Array, ""]


# --------------------------------------------------------------------------------------
# the predictor–corrector loop (one compiled program)
# --------------------------------------------------------------------------------------


def _unit(v):
    return v / jnp.maximum(jnp.linalg.norm(v), jnp.finfo(v.dtype).tiny)


def _branch_core(f, args_of, valid, y0, T0, p0, direction, pscale, h0, hmin, hmax, lo, hi,
                 min_amp, amp_frac, cos_turn, start_row, *, n_size, steps, max_points,
                 max_tries, rtol, atol, max_newton):
    n = y0.shape[0]
    dt = y0.dtype
    solver = diffrax.Tsit5(scan_kind="bounded")
    s_grid = jnp.arange(1, steps + 1, dtype=dt) / steps
    e_last = jnp.zeros((n + 2,), dt).at[n + 1].set(1.0)

    def split(z):
        return z[:n], z[n], z[n + 1] * pscale

    def fhat_at(z):
        y, _, p = split(z)
        return _unit(f(0.0, y, args_of(p)))

    def shoot_residual(z, ysec, fhat):
        y, T, p = split(z)
        a = args_of(p)
        yT, ys = _flow(f, y, T, a, steps, solver)
        return jnp.concatenate([yT - y, jnp.dot(fhat, y - ysec)[None]]), (yT, ys, a)

    def correct(zp, tau, ysec, fhat):
        def H(z, _):
            r, _ = shoot_residual(z, ysec, fhat)
            return jnp.concatenate([r, jnp.dot(tau, z - zp)[None]])

        sol = optx.root_find(H, _DampedNewton(rtol=rtol, atol=atol), zp, None,
                             max_steps=max_newton, throw=False)
        return sol.value, sol.result == optx.RESULTS.successful, sol.stats["num_steps"]

    def analyse(z, tau_prev):
        """Jacobian (tangent + monodromy), orbit samples and the checks at a corrected z."""
        y, T, p = split(z)
        fhat = fhat_at(z)
        J, (yT, ys, a) = jax.jacfwd(lambda zz: shoot_residual(zz, y, fhat), has_aux=True)(z)
        J = jnp.where(jnp.all(jnp.isfinite(J)), J, 0.0)
        t = jnp.linalg.solve(jnp.concatenate([J, tau_prev[None]]), e_last)
        t = _unit(t)
        t = jnp.where(jnp.dot(t, tau_prev) < 0, -t, t)
        mu = jnp.linalg.eigvals(J[:n, :n] + jnp.eye(n, dtype=dt))
        mu = mu[jnp.argsort(jnp.abs(mu - 1.0))]
        mmax = jnp.max(jnp.abs(mu[1:]))
        centre = jnp.mean(ys, axis=0)
        c1 = 2.0 * jnp.mean((ys - centre) * jnp.exp(-2j * jnp.pi * s_grid)[:, None], axis=0)
        size = jnp.max(jnp.abs(c1[:n_size]))
        scale = 1.0 + jnp.max(jnp.abs(y))
        closed = jnp.max(jnp.abs(yT - y)) <= 1e3 * (atol + rtol * scale)
        spread = jnp.max(jnp.max(ys, axis=0) - jnp.min(ys, axis=0))
        ok = closed & (spread > 1e-6 * scale) & (T > 0) & jnp.all(jnp.isfinite(ys))
        ok = ok & jnp.all(jnp.isfinite(t)) & jnp.isfinite(T)
        inside = valid(ys, a) if valid is not None else jnp.asarray(True)
        return dict(t=t, mu=mu, mmax=mmax, centre=centre, c1=c1, size=size, ok=ok,
                    inside=inside)

    nan = jnp.asarray(jnp.nan, dt)
    cdt = jnp.promote_types(dt, jnp.complex64)
    no_cycle, escaped = code(RESULTS.no_limit_cycle), code(RESULTS.particle_escaped)
    buf = dict(p=jnp.full((max_points,), nan), T=jnp.full((max_points,), nan),
               y=jnp.full((max_points, n), nan), centre=jnp.full((max_points, n), nan),
               c1=jnp.full((max_points, n), nan, cdt), size=jnp.full((max_points,), nan),
               mu=jnp.full((max_points, n), nan, cdt), mmax=jnp.full((max_points,), nan),
               dp=jnp.full((max_points,), nan), ns=jnp.zeros((max_points,), jnp.int32),
               code=jnp.full((max_points,), no_cycle, jnp.int32))

    def store(buf, i, z, an, ns):
        _, T, p = split(z)
        new = dict(p=p, T=T, y=z[:n], centre=an["centre"], c1=an["c1"].astype(cdt),
                   size=an["size"], mu=an["mu"].astype(cdt), mmax=an["mmax"],
                   dp=an["t"][n + 1] * pscale, ns=jnp.asarray(ns, jnp.int32),
                   code=jnp.asarray(0, jnp.int32))
        return {k: buf[k].at[i].set(new[k]) for k in buf}

    def fail_code(an):
        return jnp.where(an["ok"] & ~an["inside"], escaped, no_cycle).astype(jnp.int32)

    # the first point: the orbit at p0 (arclength row = the parameter fixed at p0), or, from
    # a Hopf point, the orbit whose component along start_row is that of y0 (p and T free)
    z_start = jnp.concatenate([y0, jnp.stack([T0, p0 / pscale])])
    row = start_row
    zc, conv, ns = correct(z_start, row, y0, fhat_at(z_start))
    an = analyse(zc, direction * row)
    ok0 = conv & an["ok"] & an["inside"] & (an["size"] >= min_amp)
    buf = jax.tree.map(lambda new, old: jnp.where(ok0, new, old), store(buf, 0, zc, an, ns), buf)
    buf["code"] = buf["code"].at[0].set(jnp.where(ok0, 0, fail_code(an)))
    carry = dict(i=ok0.astype(jnp.int32), z=jnp.where(ok0, zc, z_start), tau=an["t"],
                 size=an["size"], h=jnp.asarray(h0, dt), tries=jnp.asarray(0, jnp.int32),
                 stop=jnp.where(ok0, _RUNNING, _START_FAILED).astype(jnp.int32), buf=buf)

    def cond(c):
        return c["stop"] == _RUNNING

    def body(c):
        z, tau, i = c["z"], c["tau"], c["i"]
        h = jnp.minimum(c["h"], amp_frac * c["size"])
        zp = z + h * tau
        zn, conv, ns = correct(zp, tau, z[:n], fhat_at(z))
        an = analyse(zn, tau)
        _, _, p = split(zn)
        good = conv & an["ok"] & an["inside"]
        small = an["size"] < min_amp
        inb = (p >= lo) & (p <= hi)
        turned = jnp.dot(an["t"], tau) < cos_turn
        accept = good & ~small & inb & ~turned
        failed = ~good | (good & ~small & inb & turned)
        h_new = jnp.where(accept, jnp.where(ns <= 4, jnp.minimum(1.5 * h, hmax), h), 0.5 * h)
        i_new = i + accept.astype(jnp.int32)
        tries = c["tries"] + 1
        stop = jnp.where(good & small, _THRESHOLD,
               jnp.where(good & ~small & ~inb, _BOUND,
               jnp.where(failed & (0.5 * h < hmin), _STEP_FAILED,
               jnp.where(accept & (i_new >= max_points), _MAX_POINTS,
               jnp.where(tries >= max_tries, _MAX_TRIES, _RUNNING))))).astype(jnp.int32)
        slot = jnp.minimum(i, max_points - 1)
        b_acc = store(c["buf"], slot, zn, an, ns)
        b = jax.tree.map(lambda new, old: jnp.where(accept, new, old), b_acc, c["buf"])
        # the attempt that failed (or ended the branch) leaves its code in the next slot
        b["code"] = jnp.where(accept, b["code"],
                              b["code"].at[slot].set(jnp.where(good, no_cycle, fail_code(an))))
        return dict(i=i_new, z=jnp.where(accept, zn, z), tau=jnp.where(accept, an["t"], tau),
                    size=jnp.where(accept, an["size"], c["size"]), h=h_new, tries=tries,
                    stop=stop, buf=b)

    c = jax.lax.while_loop(cond, body, carry)
    b, i = c["buf"], c["i"]
    # the Hopf point: p = p_c + a A² + b A⁴ through the last three points (two: linear)
    j = jnp.clip(jnp.stack([i - 3, i - 2, i - 1]), 0, max_points - 1)
    x, pv = b["size"][j] ** 2, b["p"][j]
    V = jnp.stack([jnp.ones_like(x), x, x**2], axis=1)
    quad = jnp.linalg.solve(jnp.where(i >= 3, V, jnp.eye(3, dtype=dt)), pv)[0]
    lin = pv[1] - x[1] * (pv[2] - pv[1]) / (x[2] - x[1])
    pc = jnp.where(i >= 3, quad, lin)
    threshold = jnp.where((c["stop"] == _THRESHOLD) & (i >= 2), pc, nan)
    return b, i, c["stop"], threshold


_branch_jit = eqx.filter_jit(_branch_core)


def _settings(dt, step, min_step, max_step, bounds, min_amplitude, amplitude_fraction, max_turn):
    lo, hi = (-np.inf, np.inf) if bounds is None else bounds
    h0 = float(step)
    hmax = 8.0 * h0 if max_step is None else float(max_step)
    hmin = h0 / 256.0 if min_step is None else float(min_step)
    for name, v in (("step", h0), ("max_step", hmax), ("min_step", hmin),
                    ("amplitude_fraction", amplitude_fraction)):
        if not (math.isfinite(float(v)) and float(v) > 0):
            raise ValueError(f"{name} must be positive and finite, got {v}")
    if not hmin <= h0 <= hmax:
        raise ValueError(f"need min_step ≤ step ≤ max_step, got {hmin}, {h0}, {hmax}")
    if not float(lo) < float(hi):
        raise ValueError(f"bounds must be (low, high) with low < high, got {bounds}")
    if not float(min_amplitude) >= 0:
        raise ValueError(f"min_amplitude must be ≥ 0, got {min_amplitude}")
    if not 0 < float(max_turn) < math.pi:
        raise ValueError(f"max_turn must be in (0, π), got {max_turn}")
    a = lambda v: jnp.asarray(v, dt)  # noqa: E731 - traced, so new values do not re-compile
    return dict(h0=a(h0), hmin=a(hmin), hmax=a(hmax), lo=a(lo), hi=a(hi),
                amp_frac=a(amplitude_fraction), cos_turn=a(math.cos(float(max_turn))))


def _check_counts(max_points, max_tries, steps, max_newton):
    if int(max_points) < 2:
        raise ValueError(f"max_points must be ≥ 2, got {max_points}")
    if max_tries is not None and int(max_tries) < 1:
        raise ValueError(f"max_tries must be ≥ 1, got {max_tries}")
    if int(steps) < 4:
        raise ValueError(f"steps must be ≥ 4, got {steps}")
    if int(max_newton) < 1:
        raise ValueError(f"max_newton must be ≥ 1, got {max_newton}")


def _start_row(n_free, n, v, dt):
    """The first corrector's extra row: the parameter fixed (v None), or the component of
    the state along v (a Hopf start)."""
    if v is None:  # built on the host: a constant, no eager XLA program
        row = np.zeros((n + 2,), np.dtype(dt))
        row[n + 1] = 1.0
        return jnp.asarray(row)
    v = jnp.asarray(v, dt)
    if v.shape != (n,) and v.shape != (n_free,):
        raise ValueError(f"start_direction must have shape ({n},), got {tuple(v.shape)}")
    v = jnp.zeros((n,), dt).at[:v.shape[0]].set(v)
    return jnp.concatenate([_unit(v), jnp.zeros((2,), dt)])


def _results(codes):
    return EnumerationItem(codes, RESULTS)


def continue_orbit(vector_field: Callable[..., Float[Array, " n"]],
                   args_of: Callable[..., Any], p0: Float[ArrayLike, ""],
                   y0: Float[ArrayLike, " n"], period: Float[ArrayLike, ""], *,
                   direction: int = 1, step: float = 0.05, min_step: float | None = None,
                   max_step: float | None = None, parameter_scale: float = 1.0,
                   bounds: tuple[float, float] | None = None, min_amplitude: float = 1e-2,
                   amplitude_fraction: float = 0.5, max_turn: float = 0.5,
                   max_points: int = 40, max_tries: int | None = None, steps: int = 64,
                   n_size: int | None = None, reference: int = 0,
                   start_direction: Float[ArrayLike, " n"] | None = None, rtol: float = 1e-10,
                   atol: float = 1e-10, max_newton: int = 15) -> OrbitBranch:
    """The branch of periodic orbits of ẏ = f(t, y, args_of(p)) through a guess at p0.

    Pseudo-arclength continuation of the shooting equations (module docstring): the orbit at
    p0 is converged from the guess (``y0``, ``period``), then followed in the direction
    ``direction`` (sign of dp at the start) until a stop (:data:`STOP_REASONS`): all
    ``max_points`` slots filled, the parameter leaving ``bounds``, the cycle shrinking below
    ``min_amplitude`` (a Hopf point: ``threshold`` extrapolates it), or the corrector failing
    at ``min_step``. Keller (1977); Allgower & Georg (1990) ch. 2; Seydel (2010) ch. 4.

    Args:
        vector_field: f(t, y, args) → (n,), autonomous, as for
            :func:`~jaxbind.dynamics.shoot_periodic_orbit`.
        args_of: p → args of f (traced in p; a pytree callable such as ``equinox.Partial``
            carries arrays that ``jax.vmap`` may batch).
        p0: starting parameter; y0: (n,) guess of a state on the orbit at p0; period: guess
            of its period (> 0).
        direction: +1 or −1, the sign of dp of the first step.
        step: first arclength step in the norm of (y, T, p/parameter_scale); min_step
            (default step/256), max_step (default 8 step): the range of adaptive steps.
        parameter_scale: p_s, the parameter's unit in the arclength norm (make p/p_s of order
            one over the branch, as the state and the period are).
        bounds: (low, high): the branch stops at the first point outside.
        min_amplitude: the branch stops (``threshold``) when the cycle's size (max
            first-harmonic amplitude over the first ``n_size`` components) falls below it.
        amplitude_fraction: cap of each step as a fraction of the current size.
        max_turn: largest angle (rad) between consecutive tangents; a larger turn is
            rejected as a jump and the step halved.
        max_points: slots in the output (static); max_tries: corrector attempts in all
            (default 4 max_points).
        steps: Runge–Kutta (Tsit5) steps per period (static).
        n_size: components that define the size (default all n).
        reference: the component of zero phase.
        start_direction: (n,) start at a Hopf point instead (branch switching, Seydel 2010
            ch. 7): ``y0`` = equilibrium + small multiple of the critical eigenvector v,
            ``p0`` ≈ p_c; the first corrector fixes the component of y along v (p and T
            free) and the branch grows from there (``direction`` then orients along v).
        rtol, atol: Newton tolerances; max_newton: Newton iterations per corrector.
    Returns:
        :class:`OrbitBranch`.
    """
    y0 = jnp.asarray(y0)
    if y0.ndim != 1:
        raise ValueError(f"y0 must be a 1-d state, got shape {tuple(y0.shape)}")
    if not jnp.issubdtype(y0.dtype, jnp.floating):
        y0 = y0.astype(jnp.result_type(float))
    # a strongly typed state: a guess built from Python floats (weakly typed) and one from
    # NumPy floats then share the compiled branch instead of compiling it twice
    y0 = jnp.asarray(y0, y0.dtype)
    n = y0.shape[0]
    n_size = n if n_size is None else int(n_size)
    if not 1 <= n_size <= n:
        raise ValueError(f"n_size must be in [1, {n}], got {n_size}")
    if not 0 <= int(reference) < n:
        raise ValueError(f"reference must be in [0, {n}), got {reference}")
    if int(direction) not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    if not (math.isfinite(float(parameter_scale)) and float(parameter_scale) > 0):
        raise ValueError(f"parameter_scale must be positive, got {parameter_scale}")
    _check_counts(max_points, max_tries, steps, max_newton)
    dt = y0.dtype
    st = _settings(dt, step, min_step, max_step, bounds, min_amplitude, amplitude_fraction,
                   max_turn)
    max_tries = 4 * int(max_points) if max_tries is None else int(max_tries)
    b, i, stop, thr = _branch_jit(
        vector_field, args_of, None, y0, jnp.asarray(period, dt), jnp.asarray(p0, dt),
        jnp.asarray(int(direction), dt), jnp.asarray(parameter_scale, dt), st["h0"], st["hmin"],
        st["hmax"], st["lo"], st["hi"], jnp.asarray(min_amplitude, dt), st["amp_frac"],
        st["cos_turn"], _start_row(n, n, start_direction, dt), n_size=n_size,
        steps=int(steps), max_points=int(max_points),
        max_tries=max_tries, rtol=rtol, atol=atol, max_newton=int(max_newton))
    return _orbit_branch(b, i, stop, thr, int(reference))


# The branch's outputs in one compiled program (not op by op on the concrete arrays).
@eqx.filter_jit
def _orbit_branch(b, i, stop, thr, reference):
    c1 = b["c1"]
    phase = jnp.angle(c1 * jnp.conj(c1[:, reference])[:, None])
    return OrbitBranch(parameter=b["p"], period=b["T"], y0=b["y"], centre=b["centre"],
                       amplitude=jnp.abs(c1), phase=phase, size=b["size"],
                       multipliers=b["mu"], max_multiplier=b["mmax"], dparameter=b["dp"],
                       newton_steps=b["ns"], result=_results(b["code"]), n_points=i,
                       stop=stop, threshold=thr, reference=jnp.asarray(reference))


# --------------------------------------------------------------------------------------
# branches of limit cycles of the Langevin model
# --------------------------------------------------------------------------------------


class LimitCycleBranch(eqx.Module):
    """A branch of limit cycles of the deterministic Langevin model, SI units
    (:func:`continue_limit_cycle`). Slots as in :class:`OrbitBranch`; per degree of freedom
    μ = 3j + a: δx_μ(t) ≈ centre_μ + amplitude_μ cos(Ωt + phase_μ).

    Attributes:
        parameter: (P,) p of each point.
        x0, v0: (P, M) displacement (m) and velocity (m/s) at the orbit's phase origin.
        period: (P,) period (s); frequency: (P,) Ω = 2π/period (rad/s).
        amplitude: (P, M) first-harmonic amplitudes (m).
        phase: (P, M) first-harmonic phases relative to degree of freedom ``reference`` (rad).
        centre: (P, M) time-averaged displacement (m).
        multipliers: (P, n_state) Floquet multipliers (trivial one first).
        max_multiplier: (P,) largest non-trivial |μ|; stable: (P,) max_multiplier < 1.
        dparameter: (P,) dp/ds (a sign change between neighbours is a fold).
        newton_steps: (P,) corrector iterations.
        result: (P,) RESULTS per point.
        n_points: () accepted points; stop: () :data:`STOP_REASONS` code.
        threshold: () the extrapolated Hopf point (module docstring) or NaN.
        reference: () int, the degree of freedom of zero phase.
    """

    parameter: Float[Array, " P"]
    x0: Float[Array, "P M"]
    v0: Float[Array, "P M"]
    period: Float[Array, " P"]
    frequency: Float[Array, " P"]
    amplitude: Float[Array, "P M"]
    phase: Float[Array, "P M"]
    centre: Float[Array, "P M"]
    multipliers: Complex[Array, "P n"]
    max_multiplier: Float[Array, " P"]
    stable: Bool[Array, " P"]
    dparameter: Float[Array, " P"]
    newton_steps: Int[Array, " P"]
    result: RESULTS
    n_points: Int[Array, ""]
    stop: Int[Array, ""]
    threshold: Float[Array, ""]
    reference: Int[Array, ""]


class _ModelArgs(eqx.Module):
    """p → (model, feedback, k0, ω0): the user's model at p and the fixed scaling of the
    starting model, so the continuation's unknowns keep one unit along the branch."""

    make_model: Callable
    k0: Array
    w0: Array

    def __call__(self, p):
        out = self.make_model(p)
        model, fb = out if isinstance(out, tuple) else (out, None)
        return model, fb, self.k0, self.w0


def _fixed_scale_drift(t, y, a):
    """The Langevin drift (:class:`jaxbind.dynamics.langevin._Scaled`) in the units of the
    starting model: y = (k₀δx, k₀v/ω₀[, k₀w₁, k₀w₂]), time ω₀t."""
    model, fb, k0, w0 = a
    sc = _Scaled(model, fb)
    M = model.n_dof
    ra, rb = sc.k / k0, sc.w / w0
    d = jnp.concatenate([jnp.full((M,), ra), jnp.full((M,), ra / rb)]
                        + ([jnp.full((2 * M,), ra)] if fb is not None else []))
    return sc(t * rb, d * y) / d * rb


def _inside(ys, a):
    """Whole orbit within the model's escape distance of the foci."""
    model, _, k0, _ = a
    M = model.n_dof
    x = jnp.reshape(ys[:, :M] / k0, (ys.shape[0], M // 3, 3))
    return jnp.all(jnp.sqrt(jnp.sum(x**2, axis=-1)) <= model.escape)


def _langevin_branch(make_model, p0, model0, fb0, y0, T0, start_row, *, direction, step,
                     min_step, max_step, parameter_scale, bounds, min_amplitude,
                     amplitude_fraction, max_turn, max_points, max_tries, steps, ref, rtol,
                     atol, max_newton):
    M = model0.n_dof
    rdt = model0.particles.positions.dtype
    sc0 = _Scaled(model0, fb0)
    k0, w0 = sc0.k, sc0.w
    if int(direction) not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    if not (math.isfinite(float(parameter_scale)) and float(parameter_scale) > 0):
        raise ValueError(f"parameter_scale must be positive, got {parameter_scale}")
    _check_counts(max_points, max_tries, steps, max_newton)
    if not 0 <= ref < M:
        raise ValueError(f"reference must be in [0, {M}), got {ref}")
    st = _settings(rdt, step, min_step, max_step, bounds, min_amplitude, amplitude_fraction,
                   max_turn)
    max_tries = 4 * int(max_points) if max_tries is None else int(max_tries)
    args_of = _ModelArgs(make_model, k0, w0)
    b, i, stop, thr = _branch_jit(
        _fixed_scale_drift, args_of, _inside, y0, T0, jnp.asarray(p0, rdt),
        jnp.asarray(int(direction), rdt), jnp.asarray(parameter_scale, rdt), st["h0"],
        st["hmin"], st["hmax"], st["lo"], st["hi"], jnp.asarray(min_amplitude, rdt) * k0,
        st["amp_frac"], st["cos_turn"], _start_row(M if fb0 is None else 2 * M, y0.shape[0],
                                                   start_row, rdt), n_size=M, steps=int(steps),
        max_points=int(max_points), max_tries=max_tries, rtol=rtol, atol=atol,
        max_newton=int(max_newton))
    c1 = b["c1"][:, :M] / k0
    T = b["T"] / w0
    return LimitCycleBranch(
        parameter=b["p"], x0=b["y"][:, :M] / k0, v0=b["y"][:, M:2 * M] * w0 / k0, period=T,
        frequency=2 * jnp.pi / T, amplitude=jnp.abs(c1),
        phase=jnp.angle(c1 * jnp.conj(c1[:, ref])[:, None]), centre=b["centre"][:, :M] / k0,
        multipliers=b["mu"], max_multiplier=b["mmax"], stable=b["mmax"] < 1.0,
        dparameter=b["dp"], newton_steps=b["ns"], result=_results(b["code"]), n_points=i,
        stop=stop, threshold=thr, reference=jnp.asarray(ref))


def _model_at(make_model, p):
    out = make_model(jnp.asarray(p))
    model, fb = out if isinstance(out, tuple) else (out, None)
    if not isinstance(model, LangevinModel):
        raise TypeError(f"make_model must return a LangevinModel (or (model, ColdDamping)), "
                        f"got {type(model).__name__}")
    if fb is not None and not isinstance(fb, ColdDamping):
        raise TypeError(f"the feedback from make_model must be a ColdDamping, got "
                        f"{type(fb).__name__}")
    return model, fb


def continue_limit_cycle(make_model: Callable[..., Any], p0: Float[ArrayLike, ""],
                         orbit: PeriodicOrbit, *, direction: int = 1, step: float = 0.05,
                         min_step: float | None = None, max_step: float | None = None,
                         parameter_scale: float = 1.0,
                         bounds: tuple[float, float] | None = None,
                         min_amplitude: float = 10e-9, amplitude_fraction: float = 0.5,
                         max_turn: float = 0.5, max_points: int = 40,
                         max_tries: int | None = None, steps: int | None = None,
                         reference: int | None = None, rtol: float = 1e-10,
                         atol: float = 1e-10, max_newton: int = 15) -> LimitCycleBranch:
    """The branch of limit cycles of the deterministic Langevin model through ``orbit``.

    ``make_model(p)`` builds the model at parameter p (a :class:`LangevinModel`, or a
    ``(LangevinModel, ColdDamping)`` pair to continue in a feedback setting); it is traced
    in p, e.g. ``lambda phi: eqx.tree_at(lambda m: m.beam, model, array_at(phi).beam())``
    for a tweezer phase, or particles and beam together for a distance (a new Python
    function object compiles a new program: define it once). The cycle ``orbit``
    (from :func:`~jaxbind.dynamics.find_limit_cycle` or
    :func:`~jaxbind.dynamics.periodic_orbit` at p0) is re-converged at p0 and continued by
    pseudo-arclength (module docstring) to the Hopf threshold, a bound, or ``max_points``.
    The state is continued in the units of the model at p0 (q = k₀δx, u = k₀v/ω₀, time
    ω₀t with ω₀ the mean trap frequency), in which ``step`` is an arclength: a step 0.05 moves
    the orbit by about 0.05/k₀ (12 nm at 1550 nm).

    Args:
        make_model: p → LangevinModel or (LangevinModel, ColdDamping).
        p0: starting parameter; orbit: a :class:`~jaxbind.dynamics.PeriodicOrbit` at p0.
        direction, step, min_step, max_step, parameter_scale, bounds: as in
            :func:`continue_orbit`, and so are amplitude_fraction, max_turn, max_points,
            max_tries, rtol, atol and max_newton.
        min_amplitude: the branch stops at the Hopf threshold when the largest
            first-harmonic displacement amplitude falls below this (m).
        steps: Runge–Kutta steps per period (default: ≥ 48 per fastest trap period).
        reference: degree of freedom of zero phase (default: ``orbit.reference``).
    Returns:
        :class:`LimitCycleBranch`; never raises inside the branch (per-point result codes).
    """
    if not isinstance(orbit, PeriodicOrbit):
        raise TypeError(f"orbit must be a PeriodicOrbit, got {type(orbit).__name__}")
    model0, fb0 = _model_at(make_model, p0)
    if (fb0 is None) != (orbit.filter0 is None):
        raise ValueError("orbit and make_model disagree on feedback (filter states)")
    rdt = model0.particles.positions.dtype
    steps = _default_steps(model0, float(orbit.period)) if steps is None else int(steps)
    ref = int(orbit.reference) if reference is None else int(reference)
    y0 = _initial_state(model0, fb0, orbit.x0, orbit.v0, orbit.filter0)
    T0 = jnp.asarray(orbit.period, rdt) * _Scaled(model0, fb0).w
    return _langevin_branch(
        make_model, p0, model0, fb0, y0, T0, None, direction=direction, step=step,
        min_step=min_step, max_step=max_step, parameter_scale=parameter_scale, bounds=bounds,
        min_amplitude=min_amplitude, amplitude_fraction=amplitude_fraction, max_turn=max_turn,
        max_points=max_points, max_tries=max_tries, steps=steps, ref=ref, rtol=rtol, atol=atol,
        max_newton=max_newton)


def continue_from_hopf(make_model: Callable[..., Any], p_c: Float[ArrayLike, ""], *,
                       amplitude: float = 20e-9, step: float = 0.05,
                       min_step: float | None = None, max_step: float | None = None,
                       parameter_scale: float = 1.0, bounds: tuple[float, float] | None = None,
                       amplitude_fraction: float = 0.5, max_turn: float = 0.5,
                       max_points: int = 40, max_tries: int | None = None,
                       steps: int | None = None, reference: int | None = None,
                       rtol: float = 1e-10, atol: float = 1e-10,
                       max_newton: int = 15) -> LimitCycleBranch:
    """The branch of limit cycles born at a Hopf point p_c of the equilibrium (branch
    switching; Seydel 2010 ch. 7; E. Doedel, H. B. Keller and J.-P. Kernévez, Int. J.
    Bifurcation Chaos 1, 745 (1991), the start of periodic branches at Hopf points).

    At p_c (e.g. the root of the linear growth rate) the equilibrium's drift Jacobian has
    a pair ±iω_c; its eigenvector v (real part, largest displacement component 1) gives
    the guess y_eq + (k₀·``amplitude``) v with period 2π/ω_c. The first corrector fixes the
    component of the state along v (not the parameter: p and T are unknowns), so it
    converges to the small cycle of that size on whichever side of p_c it lives —
    supercritical (on the unstable side, stable cycle) or subcritical (on the stable side,
    unstable cycle) — and the branch is continued from there towards larger cycles. Near
    p_c the normal form gives p − p_c ∝ A² (Guckenheimer & Holmes §3.4).

    Args:
        make_model: p → LangevinModel or (LangevinModel, ColdDamping) (as in
            :func:`continue_limit_cycle`).
        p_c: the Hopf point (an estimate within the first cycle's p − p_c ∝ A² is enough).
        amplitude: size of the first cycle (m): large enough for a well-posed shooting
            (the period is undetermined at zero amplitude), small for the normal form.
        other arguments: as in :func:`continue_limit_cycle` (no ``min_amplitude``: the branch
            grows).
    Returns:
        :class:`LimitCycleBranch` (``stop`` is never ``threshold``); ``start_failed`` when
        the Jacobian at p_c has no oscillatory pair.
    """
    if not (math.isfinite(float(amplitude)) and float(amplitude) > 0):
        raise ValueError(f"amplitude must be positive, got {amplitude}")
    model0, fb0 = _model_at(make_model, p_c)
    M = model0.n_dof
    rdt = model0.particles.positions.dtype
    y_eq, J, _ = _linear_analysis(model0, fb0)
    lam, vec = np.linalg.eig(np.asarray(J))
    osc = np.abs(lam.imag) > 1e-9 * np.max(np.abs(lam))
    i = int(np.argmin(np.where(osc, np.abs(lam.real), np.inf)))
    w_c = abs(float(lam[i].imag))
    v = vec[:, i] * np.exp(-1j * np.angle(vec[np.argmax(np.abs(vec[:M, i])), i]))
    v = np.real(v) / np.max(np.abs(v[:M]))
    k0 = float(_Scaled(model0, fb0).k)
    y0 = jnp.asarray(np.asarray(y_eq) + float(amplitude) * k0 * v, rdt)
    T0 = jnp.asarray(2 * np.pi / max(w_c, 1e-12), rdt)
    period = float(T0) / float(_Scaled(model0, fb0).w)
    steps = _default_steps(model0, period) if steps is None else int(steps)
    row = v
    if reference is None:
        reference = int(np.argmax(np.abs(vec[:M, i])))
    return _langevin_branch(
        make_model, p_c, model0, fb0, y0, T0, row, direction=1, step=step, min_step=min_step,
        max_step=max_step, parameter_scale=parameter_scale, bounds=bounds,
        min_amplitude=0.0, amplitude_fraction=amplitude_fraction, max_turn=max_turn,
        max_points=max_points, max_tries=max_tries, steps=steps, ref=int(reference),
        rtol=rtol, atol=atol, max_newton=max_newton)
