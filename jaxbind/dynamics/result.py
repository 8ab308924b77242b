"""Ensembles of stochastic trajectories and their summary statistics.

:class:`Trajectories` is what :func:`jaxbind.dynamics.simulate` returns: time series of the
displacements and velocities of every degree of freedom (particle j, axis a; index
μ = 3j + a), one :data:`jaxbind.RESULTS` item per trajectory, and the statistics a
physicist reads off an ensemble. Every statistic uses the *successful* trajectories only
(``result == RESULTS.successful``): a diverged trajectory is reported by its code and never
enters an average as NaN.

Conventions (the same as :func:`jaxbind.quantum.spectrum`, so the two compare directly):

* covariance: phase-space ordering (x_0, v_0, x_1, v_1, …), about the ensemble mean,
  averaged over the stationary window t ≥ t_min;
* PSD: two-sided, angular frequency, S_μν(ω) = ∫ ⟨δx_μ(t) δx_ν(0)⟩ e^{iωt} dt, so that
  ∫ S_μμ(ω) dω/2π = ⟨δx_μ²⟩ (units m²·s = m²/(rad/s)). Estimated by Welch's method (Hann
  window, 50 % overlap; P. D. Welch, IEEE Trans. Audio Electroacoust. 15, 70 (1967)),
  averaged over segments and trajectories;
* correlation functions: C_μ(τ) = ⟨δx_μ(t + τ) δx_μ(t)⟩ (stationary, time- and
  ensemble-averaged).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from .._checks import is_concrete
from ..results import RESULTS, code

__all__ = ["Trajectories"]


def _masked_mean(x, ok):
    """Mean over axis 0 of the rows where ``ok`` (NaN rows excluded, not propagated)."""
    w = ok.astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))
    n = jnp.maximum(jnp.sum(ok), 1)
    return jnp.sum(jnp.where(w > 0, x, 0.0) * w, axis=0) / n


def _phase_space(x, v):
    return jnp.stack([x, v], axis=-1).reshape(x.shape[:2] + (2 * x.shape[-1],))


# The statistics below are compiled as one program per (shapes, window start) instead of
# running op by op on the concrete ensemble (each eager op on a new shape compiles its own
# tiny XLA program: ~20 per statistic). Under a user's jit they are traced inline as usual.
@eqx.filter_jit
def _moments(x, v, result, i0):
    """(mean (2M,), per-trajectory covariance (n, 2M, 2M), covariance (2M, 2M), its standard
    error (2M, 2M)) over the window t ≥ ts[i0] and the successful trajectories."""
    ok = result == RESULTS.successful
    y = _phase_space(x[:, i0:], v[:, i0:])
    mean = _masked_mean(jnp.mean(y, axis=1), ok)
    d = y - mean
    c = jnp.einsum("ntm,ntk->nmk", d, d) / y.shape[1]
    m = _masked_mean(c, ok)
    var = _masked_mean((c - m) ** 2, ok)
    n = jnp.maximum(jnp.sum(ok), 2)
    return mean, c, m, jnp.sqrt(var * n / (n - 1) / n)


@eqx.filter_jit
def _energy(c, mass, omega):
    xx = jnp.diagonal(c)[0::2]
    vv = jnp.diagonal(c)[1::2]
    return 0.5 * mass * (vv + omega**2 * xx)


@eqx.filter_jit
def _psd(x, ts, result, i0, seg, average):
    x = x[:, i0:]
    ok = result == RESULTS.successful
    n_t = x.shape[1]
    dt = (ts[-1] - ts[0]) / (ts.shape[0] - 1)
    step = max(seg // 2, 1)
    starts = range(0, n_t - seg + 1, step)
    w = jnp.asarray(np.hanning(seg + 2)[1:-1], x.dtype)
    mu = _masked_mean(jnp.mean(x, axis=1), ok)
    segs = jnp.stack([x[:, s:s + seg] for s in starts], axis=1) - mu  # (n, S, seg, M)
    f = jnp.fft.rfft(segs * w[:, None], axis=2)
    P = jnp.mean(jnp.abs(f) ** 2, axis=1) * dt / jnp.sum(w**2)  # (n, K, M)
    if average:
        S = _masked_mean(P, ok).T
    else:
        S = jnp.where(ok[:, None, None], jnp.swapaxes(P, 1, 2), jnp.nan)
    omega = 2.0 * jnp.pi * jnp.fft.rfftfreq(seg, 1.0) / dt
    return omega, S


@eqx.filter_jit
def _correlation(x, ts, result, i0, max_lag):
    x = x[:, i0:]
    ok = result == RESULTS.successful
    n_t = x.shape[1]
    d = x - _masked_mean(jnp.mean(x, axis=1), ok)
    nfft = int(2 ** np.ceil(np.log2(2 * n_t)))
    f = jnp.fft.rfft(d, n=nfft, axis=1)
    acf = jnp.fft.irfft(jnp.abs(f) ** 2, n=nfft, axis=1)[:, : max_lag + 1]
    acf = acf / (n_t - jnp.arange(max_lag + 1, dtype=x.dtype))[None, :, None]
    C = _masked_mean(acf, ok).T
    dt = (ts[-1] - ts[0]) / (ts.shape[0] - 1)
    return dt * jnp.arange(max_lag + 1, dtype=x.dtype), C


class Trajectories(eqx.Module):
    """An ensemble of trajectories (output of :func:`jaxbind.dynamics.simulate`).

    Attributes:
        ts: (T,) save times (s).
        x: (n, T, M) displacements from the reference positions (m); M = 3N, μ = 3j + a.
        v: (n, T, M) velocities (m/s).
        estimate: (n, T, M) the feedback's filtered velocity estimate (m/s), or None
            without feedback.
        mass: (M,) mass of the particle of each degree of freedom (kg).
        omega: (M,) linearized trap frequencies (rad/s), used by :meth:`mean_energy`.
        result: (n,) :data:`jaxbind.RESULTS` items: ``successful``,
            ``trajectory_nonfinite`` (the state became non-finite, e.g. a time step too
            large for the trap) or ``particle_escaped`` (a particle moved further than the
            model's escape distance); x, v are NaN for those.
    """

    ts: Float[Array, " T"]
    x: Float[Array, "n T M"]
    v: Float[Array, "n T M"]
    estimate: Float[Array, "n T M"] | None
    mass: Float[Array, " M"]
    omega: Float[Array, " M"]
    result: RESULTS

    # ------------------------------------------------------------------ bookkeeping
    @property
    def status(self):
        """(n,) int32 codes of :attr:`result`."""
        return code(self.result)

    @property
    def ok(self) -> Bool[Array, " n"]:
        """(n,) True for the successful trajectories."""
        return self.result == RESULTS.successful

    @property
    def n_ok(self):
        """Number of successful trajectories (the statistics' sample size)."""
        return jnp.sum(self.ok)

    def _start(self, t_min):
        if t_min is None:
            return 0
        if not is_concrete(self.ts):
            raise ValueError("t_min needs concrete save times (call the statistics outside jit)")
        return int(np.searchsorted(np.asarray(self.ts), float(t_min) - 1e-12 * abs(float(t_min))))

    def _window_start(self, t_min):
        i0 = self._start(t_min)
        if i0 >= self.ts.shape[0] - 1:
            raise ValueError(f"t_min = {t_min} leaves fewer than 2 saved samples")
        return i0

    def _window(self, t_min):
        i0 = self._window_start(t_min)
        return self.x[:, i0:], self.v[:, i0:]

    # ------------------------------------------------------------------ statistics
    def phase_space(self, t_min: float | None = None):
        """(n, T', 2M) states (x_0, v_0, x_1, v_1, …) in the window t ≥ t_min."""
        x, v = self._window(t_min)
        return _phase_space(x, v)

    def _moments(self, t_min):
        return _moments(self.x, self.v, self.result, self._window_start(t_min))

    def mean(self, t_min: float | None = None) -> Float[Array, " twoM"]:
        """(2M,) stationary mean of (x_0, v_0, …) over the window and the successful runs."""
        return self._moments(t_min)[0]

    def covariance_per_trajectory(self, t_min: float | None = None) -> Float[Array, "n twoM twoM"]:
        """(n, 2M, 2M) time-averaged covariance of each trajectory about the ensemble mean.

        Independent trajectories give independent samples: their scatter is the honest
        statistical error of :meth:`covariance` (see :meth:`covariance_error`).
        """
        return self._moments(t_min)[1]

    def covariance(self, t_min: float | None = None) -> Float[Array, "twoM twoM"]:
        """(2M, 2M) stationary phase-space covariance (SI: m², m²/s, m²/s²)."""
        return self._moments(t_min)[2]

    def covariance_error(self, t_min: float | None = None) -> Float[Array, "twoM twoM"]:
        """(2M, 2M) standard error of :meth:`covariance` (trajectory-to-trajectory scatter
        / √n_ok)."""
        return self._moments(t_min)[3]

    def mean_energy(self, t_min: float | None = None) -> Float[Array, " M"]:
        """(M,) mean energy per degree of freedom ½m⟨δv²⟩ + ½mω²⟨δx²⟩ (J), ω the linearized
        trap frequency (harmonic estimate of the potential energy; k_B T per degree of
        freedom in thermal equilibrium)."""
        return _energy(self.covariance(t_min), self.mass, self.omega)

    def psd(self, t_min: float | None = None, *, segment: int | None = None,
            average: bool = True):
        """Two-sided displacement PSDs by Welch's method (module docstring convention).

        Args:
            t_min: start of the stationary window (s).
            segment: samples per Welch segment (default: the whole window, i.e. a
                Hann-windowed periodogram); segments overlap by half.
            average: average over the successful trajectories (default); False returns
                each trajectory's estimate (NaN rows for failed ones; their scatter gives
                the statistical error).
        Returns:
            (omega, S): omega (K,) angular frequencies ≥ 0 (rad/s) and S (M, K) the PSD of
            each displacement (m²·s), averaged over segments and successful trajectories
            ((n, M, K) with ``average=False``). Its expectation is the true PSD convolved
            with the window's kernel (resolution 2π/(segment·Δt)).
        """
        i0 = self._window_start(t_min)
        n_t = self.ts.shape[0] - i0
        seg = n_t if segment is None else int(segment)
        if not 4 <= seg <= n_t:
            raise ValueError(f"segment must be in [4, {n_t}] samples, got {seg}")
        return _psd(self.x, self.ts, self.result, i0, seg, bool(average))

    def correlation(self, max_lag: int, t_min: float | None = None):
        """Stationary autocorrelation C_μ(τ) = ⟨δx_μ(t+τ)δx_μ(t)⟩ for τ = 0 … max_lag·Δt.

        Returns:
            (lags, C): lags (L,) in s and C (M, L) in m².
        """
        i0 = self._window_start(t_min)
        n_t = self.ts.shape[0] - i0
        if not 0 <= max_lag < n_t:
            raise ValueError(f"max_lag must be in [0, {n_t - 1}], got {max_lag}")
        return _correlation(self.x, self.ts, self.result, i0, int(max_lag))
