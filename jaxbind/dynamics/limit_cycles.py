"""Stationary amplitude, frequency and relative phase of self-sustained (limit-cycle) motion.

Past the linear instability (the PT-broken regime of papers 000, 001: an eigenvalue of the
dynamical matrix with positive real part) the linear model has no steady state; the motion of
the full nonlinear Langevin model (:func:`jaxbind.dynamics.simulate`, deterministic at T = 0
or stochastic) saturates into a limit cycle. :func:`limit_cycle` reads that cycle off the
stationary window of an ensemble of trajectories:

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

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..results import RESULTS
from .result import Trajectories, _masked_mean

__all__ = ["LimitCycle", "limit_cycle"]


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
