"""Stochastic Langevin trajectories of levitated particles in the full nonlinear optical field.

For N particles (degrees of freedom μ = 3j + a, particle j, axis a; M = 3N) displaced by
δx from reference positions r_j (the foci):

    dδx_μ = v_μ dt,
    m_μ dv_μ = [F_μ(r + δx) + F^fb_μ − m_μ γ_μ v_μ] dt + dξ_μ,
    ⟨dξ_μ dξ_ν⟩ = 2 [ħ Re D^rec_μν + δ_μν m_μ γ_μ k_B T] dt,

* F(r + δx): the **full** optical forces of the engine,
  :func:`jaxbind.optics.forces.optical_forces` at the displaced positions (traps, optical
  binding and its non-reciprocal part, multiple scattering — nonlinear in δx; paper 003
  eq. 3), never a second force code;
* gas damping γ_j and thermal noise at temperature T (fluctuation–dissipation: the force
  noise 2 m γ k_B T makes ⟨m v²⟩ = k_B T);
* photon-recoil shot noise with the anisotropic, inter-particle-correlated diffusion of
  paper 001 eqs. 68, 79 (paper 000 eq. 5): D^rec = Re ``LinearizedArray.D`` (stored divided
  by ħ) from :func:`jaxbind.mechanics.linearize` (``method="exact", axis="xyz"``), the one
  implementation of the recoil diffusion, evaluated at the reference positions (its change
  over the thermal amplitudes is second order);
* optional measurement-based feedback, :class:`ColdDamping`: a continuous position record
  x + imprecision noise, filtered into a velocity estimate, fed back as a force.

The state is integrated in scaled variables (q = k δx, u = k v/ω_ref, time ω_ref t, filter
states like q) so float32 and float64 agree; results are SI.

SDE solver: the noise is additive (the diffusion does not depend on the state), so the
default :class:`diffrax.ShARK` has **strong order 1.5** and deterministic (weak/ODE) order 2
(Foster, dos Reis & Strange, arXiv:2210.17543, eq. 6.1), two force evaluations per step,
fixed steps. Any diffrax SDE solver may be passed (e.g. ``diffrax.Heun()``, strong order 1
for additive noise). Brownian motion: :class:`diffrax.UnsafeBrownianPath` (fast; forward
simulation) or :class:`diffrax.VirtualBrownianTree` (``brownian="virtual"``; reproducible
and differentiable by reverse mode).

Time step: an explicit second-order scheme applied to an undamped oscillator multiplies its
energy by 1 + (ω dt)⁴/4 per step (stability polynomial 1 + z + z²/2 at z = iω dt), i.e.
a numerical heating rate ω⁴ dt³/4. :func:`simulate` warns when dt > T_min/20 (T_min the
fastest linearized trap period) or when this numerical heating exceeds 10 % of the smallest
physical damping rate; and when a feedback filter's cut-off ω_c has ω_c dt > 2π/20.
"""

from __future__ import annotations

import math
import warnings

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .. import constants as Cst
from .._checks import as_float_array, check_finite, check_positive, is_concrete
from ..mechanics.array import TweezerArray, linearize
from ..optics.beams import AbstractBeam
from ..optics.forces import optical_forces
from ..solvers import Born, Direct, GMRES
from ..optics.particles import Particles
from ..results import RESULTS
from .result import Trajectories

__all__ = ["LangevinModel", "ColdDamping", "simulate"]

#: dt warning threshold: dt > (fastest trap period)/_STEPS_PER_PERIOD
_STEPS_PER_PERIOD = 20


def _per(name, v, n, dtype=None):
    a = as_float_array(v, name)
    if dtype is not None:
        a = a.astype(dtype)
    if a.ndim == 0:
        a = jnp.broadcast_to(a, (n,))
    if a.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got {tuple(a.shape)}")
    return a


class LangevinModel(eqx.Module):
    """The stochastic model of N particles (module docstring), SI units.

    Build it from a :class:`~jaxbind.mechanics.TweezerArray` with :meth:`from_array`, or
    directly from any particles and beam (any optical model the engine supports).

    Attributes:
        particles: :class:`~jaxbind.optics.particles.Particles` at the reference positions
            (needs densities for the masses).
        beam: the incident beam (:mod:`jaxbind.optics.beams`).
        gamma: (N,) gas damping rates (1/s, ṗ = −γp), ≥ 0.
        temperature: () gas temperature (K), ≥ 0.
        omega: (M,) linearized trap frequencies (rad/s): the time scale (ω_ref = their mean),
            the time-step check and the harmonic energies of :class:`Trajectories`.
        recoil: (M, M) real symmetric recoil force diffusion divided by ħ (N/m): Re D of
            :func:`~jaxbind.mechanics.linearize` (paper 001 eq. 79), or zeros.
        escape: () displacement (m) beyond which a particle counts as lost from its trap
            (its trajectory gets the result ``particle_escaped``); default ∞, and the
            smallest tweezer waist for :meth:`from_array`.
        solver: the coupled-dipole solver of :func:`~jaxbind.optics.forces.optical_forces`
            (None: its default).
    """

    particles: Particles
    beam: object
    gamma: Float[Array, " N"]
    temperature: Float[Array, ""]
    omega: Float[Array, " M"]
    recoil: Float[Array, "M M"]
    escape: Float[Array, ""]
    solver: object = None

    def __init__(self, particles: Particles, beam: AbstractBeam, *,
                 omega: Float[ArrayLike, "*m"], gamma: Float[ArrayLike, "*n"] = 0.0,
                 temperature: Float[ArrayLike, ""] = 0.0,
                 recoil: Float[ArrayLike, "m m"] | None = None,
                 escape: Float[ArrayLike, ""] = np.inf,
                 solver: Direct | Born | GMRES | lx.AbstractLinearSolver | None = None) -> None:
        if not isinstance(particles, Particles):
            raise TypeError(f"particles must be Particles, got {type(particles).__name__}")
        n = particles.positions.shape[0]
        rdt = particles.positions.dtype
        self.particles = particles
        self.beam = beam
        self.gamma = _per("gamma", gamma, n, rdt)
        self.temperature = as_float_array(temperature, "temperature").astype(rdt)
        self.omega = _per("omega", omega, 3 * n, rdt)
        if recoil is None:
            recoil = jnp.zeros((3 * n, 3 * n), rdt)
        recoil = jnp.asarray(recoil)
        if jnp.iscomplexobj(recoil):
            recoil = jnp.real(recoil)
        if recoil.shape != (3 * n, 3 * n):
            raise ValueError(f"recoil must have shape ({3 * n}, {3 * n}), got {recoil.shape}")
        self.recoil = 0.5 * (recoil + recoil.T).astype(rdt)
        self.escape = as_float_array(escape, "escape").astype(rdt)
        self.solver = solver

    def __check_init__(self):
        if self.temperature.shape != ():
            raise ValueError(f"temperature must be a scalar, got shape {self.temperature.shape}")
        check_positive("gamma", self.gamma, allow_zero=True)
        check_positive("temperature", self.temperature, allow_zero=True)
        check_positive("omega", self.omega)
        check_finite("recoil", self.recoil)
        if self.escape.shape != ():
            raise ValueError(f"escape must be a scalar, got shape {self.escape.shape}")
        if is_concrete(self.escape) and not float(self.escape) > 0:  # ∞ (the default) allowed
            raise ValueError(f"escape must be positive (or inf), got {float(self.escape)}")
        if self.particles.density is None:
            raise ValueError("particles: the Langevin model needs densities (masses)")

    @classmethod
    def from_array(cls, array: TweezerArray, *, recoil: bool = True, solver=None) -> "LangevinModel":
        """The model of a tweezer array: its particles at the foci, its coherent beam, gas
        damping and temperature, and ω and the recoil diffusion of
        ``linearize(array, "exact", axis="xyz")`` (raises if the array does not trap).

        Args:
            array: :class:`~jaxbind.mechanics.TweezerArray`.
            recoil: include photon-recoil shot noise (paper 001 eq. 79).
            solver: coupled-dipole solver for the forces (None: default).
        """
        if not isinstance(array, TweezerArray):
            raise TypeError(f"array must be a TweezerArray, got {type(array).__name__}")
        lin = linearize(array, "exact", axis="xyz", throw=True)
        rec = jnp.real(lin.D) if recoil else None
        return cls(array.particles(), array.beam(), omega=lin.omega, gamma=array.gamma,
                   temperature=array.temperature, recoil=rec, escape=jnp.min(array.waists),
                   solver=solver)

    @property
    def n_dof(self) -> int:
        return 3 * self.particles.positions.shape[0]

    @property
    def masses(self) -> Float[Array, " M"]:
        """(M,) mass of the particle of each degree of freedom (kg)."""
        return jnp.repeat(self.particles.masses, 3)

    def forces(self, displacements: Float[ArrayLike, " M"]) -> Float[Array, " M"]:
        """(M,) optical forces (N) at the reference positions + displacements (M,) m: the
        engine's :func:`~jaxbind.optics.forces.optical_forces` (NaN if its solve fails)."""
        n = self.particles.positions.shape[0]
        d = jnp.asarray(displacements)
        finite = jnp.all(jnp.isfinite(d))
        # a non-finite state never reaches the engine's checks: its forces are NaN instead
        d = jnp.where(finite, d, 0.0)
        x = self.particles.positions + jnp.reshape(d, (n, 3))
        f = optical_forces(self.particles.with_positions(x), self.beam, self.solver, throw=False)
        return jnp.where(finite, jnp.reshape(f, (3 * n,)), jnp.nan)


class ColdDamping(eqx.Module):
    """Measurement-based feedback: cold damping of the measured, filtered velocity.

    Measurement record of every degree of freedom: x_m(t) = δx(t) + n(t), white imprecision
    noise ⟨n(t)n(t')⟩ = S_imp δ(t − t') (two-sided, angular-frequency convention: S_imp in
    m²·s). The filter is a two-stage low pass of cut-off ω_c,

        ẇ₁ = ω_c (x_m − w₁),   ẇ₂ = ω_c (w₁ − w₂),   v̂ = ω_c (w₁ − w₂),

    so v̂(s) = s ω_c²/(s + ω_c)² x_m(s) → ẋ for ω ≪ ω_c (a band-limited derivative, the
    usual cold-damping filter), and the feedback force is

        F^fb_μ = −m_μ (γ_fb,μ v̂_μ + ω_fb,μ² w₁,μ)

    (velocity gain γ_fb, optional position gain ω_fb² on the low-passed position). In the
    ideal limit (ω_c → ∞, S_imp → 0) it adds γ_fb to the damping: ⟨x²⟩ = k_B T γ/(m ω²
    (γ + γ_fb)) (Genes et al., PRA 77, 033804 (2008), classical limit). This is the
    classical model (the quantum back-action of the measurement is the photon recoil
    already in :class:`LangevinModel`); the quantum, Gaussian treatment is
    :mod:`jaxbind.quantum.feedback`.

    Args:
        gain: scalar or (M,) γ_fb (1/s), ≥ 0.
        cutoff: scalar filter cut-off ω_c (rad/s), > 0.
        imprecision: scalar or (M,) S_imp (m²·s), ≥ 0.
        position_gain: scalar or (M,) ω_fb² (rad²/s²), ≥ 0.
    """

    gain: Float[Array, "*M"]
    cutoff: Float[Array, ""]
    imprecision: Float[Array, "*M"]
    position_gain: Float[Array, "*M"]

    def __init__(self, gain: Float[ArrayLike, "*m"], cutoff: Float[ArrayLike, "*m"],
                 imprecision: Float[ArrayLike, "*m"] = 0.0,
                 position_gain: Float[ArrayLike, "*m"] = 0.0) -> None:
        self.gain = as_float_array(gain, "gain")
        self.cutoff = as_float_array(cutoff, "cutoff")
        self.imprecision = as_float_array(imprecision, "imprecision")
        self.position_gain = as_float_array(position_gain, "position_gain")

    def __check_init__(self):
        if self.cutoff.shape != ():
            raise ValueError(f"cutoff must be a scalar, got shape {self.cutoff.shape}")
        check_positive("gain", self.gain, allow_zero=True)
        check_positive("cutoff", self.cutoff)
        check_positive("imprecision", self.imprecision, allow_zero=True)
        check_positive("position_gain", self.position_gain, allow_zero=True)


def _check_feedback(feedback, n_dof):
    """TypeError unless ``feedback`` is a :class:`ColdDamping` or None; ValueError naming the
    field when a per-degree-of-freedom setting is neither a scalar nor of shape (M,)."""
    if feedback is None:
        return
    if not isinstance(feedback, ColdDamping):
        raise TypeError(f"feedback must be a ColdDamping or None, got {type(feedback).__name__}")
    for name in ("gain", "imprecision", "position_gain"):
        shape = tuple(jnp.shape(getattr(feedback, name)))
        if shape not in ((), (n_dof,)):
            raise ValueError(f"feedback.{name} must be a scalar or have shape ({n_dof},) (one "
                             f"entry per degree of freedom), got shape {shape}")


def _psd_sqrt(Q):
    """L with L Lᵀ = Q for a symmetric positive semi-definite Q (eigen-decomposition; a
    Cholesky factor would fail on the exactly singular recoil matrices)."""
    lam, V = jnp.linalg.eigh(0.5 * (Q + Q.T))
    return V * jnp.sqrt(jnp.clip(lam, 0.0))[None, :]


def _initial(name, v, n_traj, M, rdt):
    if v is None:
        return jnp.zeros((n_traj, M), rdt)
    a = as_float_array(v, name).astype(rdt)
    if a.shape == (M,):
        return jnp.broadcast_to(a, (n_traj, M))
    if a.shape != (n_traj, M):
        raise ValueError(f"{name} must have shape ({M},) or ({n_traj}, {M}), got {a.shape}")
    return a


def _check_step(model, feedback, dt):
    """Warn about a time step that resolves the fastest trap period badly (module docstring)."""
    if not is_concrete((model.omega, model.gamma, dt)):
        return
    w = float(np.max(np.asarray(model.omega)))
    h = float(dt)
    period = 2 * math.pi / w
    if h > period / _STEPS_PER_PERIOD:
        warnings.warn(f"simulate: dt = {h:.3g} s is more than 1/{_STEPS_PER_PERIOD} of the fastest "
                      f"trap period {period:.3g} s; the integration is inaccurate (reduce dt)",
                      stacklevel=3)
        return
    if feedback is not None and is_concrete(feedback.cutoff):
        wc = float(feedback.cutoff)
        if wc * h > 2 * math.pi / _STEPS_PER_PERIOD:
            warnings.warn(f"simulate: the feedback filter cut-off ω_c = {wc:.3g} rad/s is not "
                          f"resolved: ω_c dt = {wc * h:.3g} > 2π/{_STEPS_PER_PERIOD} (reduce dt "
                          "or the cut-off)", stacklevel=3)
            return
    damp = np.asarray(model.gamma, float)
    if feedback is not None and is_concrete(feedback.gain):
        damp = np.min(damp) + np.min(np.asarray(feedback.gain, float))
    gmin = float(np.min(damp))
    heat = w**4 * h**3 / 4.0
    if gmin > 0 and heat > 0.1 * gmin:
        warnings.warn(f"simulate: the numerical heating of the explicit scheme, ω⁴dt³/4 = "
                      f"{heat:.3g}/s, exceeds 10% of the smallest damping rate {gmin:.3g}/s; "
                      "reduce dt", stacklevel=3)


def simulate(
    model: LangevinModel,
    t1: float,
    dt: float,
    *,
    key: PRNGKeyArray,
    n_traj: int = 1,
    feedback: ColdDamping | None = None,
    x0: Float[ArrayLike, "*n M"] | None = None,
    v0: Float[ArrayLike, "*n M"] | None = None,
    save_every: int = 1,
    solver: diffrax.AbstractSolver | None = None,
    brownian: str = "unsafe",
    progress: bool = False,
) -> Trajectories:
    """Integrate an ensemble of stochastic trajectories (module docstring).

    Args:
        model: :class:`LangevinModel`.
        t1: duration (s), > dt; the run takes round(t1/dt) fixed steps.
        dt: time step (s), > 0 (warns above 1/20 of the fastest trap period).
        key: PRNG key; trajectory i uses ``jax.random.split(key, n_traj)[i]``.
        n_traj: number of trajectories (vmapped over keys).
        feedback: :class:`ColdDamping` or None.
        x0, v0: initial displacements (m) and velocities (m/s), (M,) or (n_traj, M);
            default 0 (at rest at the reference positions).
        save_every: save every this many steps.
        solver: diffrax SDE solver (default :class:`diffrax.ShARK`, strong order 1.5).
        brownian: "unsafe" (:class:`diffrax.UnsafeBrownianPath`, fast) or "virtual"
            (:class:`diffrax.VirtualBrownianTree`, reproducible and reverse-differentiable).
        progress: show a tqdm progress bar (:class:`diffrax.TqdmProgressMeter`).
    Returns:
        :class:`Trajectories`; a trajectory whose state became non-finite has result
        ``trajectory_nonfinite``, one in which a particle moved further than
        ``model.escape`` from its reference position ``particle_escaped``; their time series
        are NaN and no statistic uses them (the others are unaffected).
    """
    if not isinstance(model, LangevinModel):
        raise TypeError(f"model must be a LangevinModel, got {type(model).__name__}")
    _check_feedback(feedback, model.n_dof)
    if brownian not in ("unsafe", "virtual"):
        raise ValueError(f"brownian must be 'unsafe' or 'virtual', got {brownian!r}")
    dt_f, t1_f = float(dt), float(t1)
    if not (math.isfinite(dt_f) and dt_f > 0):
        raise ValueError(f"dt must be positive and finite, got {dt}")
    if not (math.isfinite(t1_f) and t1_f >= dt_f):
        raise ValueError(f"t1 must be finite and ≥ dt, got t1 = {t1}, dt = {dt}")
    n_traj, save_every = int(n_traj), int(save_every)
    if n_traj < 1:
        raise ValueError(f"n_traj must be ≥ 1, got {n_traj}")
    n_steps = int(round(t1_f / dt_f))
    if save_every < 1 or save_every > n_steps:
        raise ValueError(f"save_every must be in [1, {n_steps}], got {save_every}")
    _check_step(model, feedback, dt_f)
    M = model.n_dof
    rdt = model.particles.positions.dtype
    x0 = _initial("x0", x0, n_traj, M, rdt)
    v0 = _initial("v0", v0, n_traj, M, rdt)
    solver = diffrax.ShARK() if solver is None else solver
    return _simulate(model, feedback, x0, v0, key, jnp.asarray(dt_f, rdt), n_steps, n_traj,
                     save_every, solver, brownian, progress)


@eqx.filter_jit
def _simulate(model, feedback, x0, v0, key, dt, n_steps, n_traj, save_every, solver, brownian,
              progress):
    with jax.default_matmul_precision("highest"):
        return _simulate_body(model, feedback, x0, v0, key, dt, n_steps, n_traj, save_every,
                              solver, brownian, progress)


class _Scaled(eqx.Module):
    """The scaled deterministic drift of the Langevin model (module docstring): state
    y = (q, u[, w₁, w₂]) with q = k δx, u = k v/ω_ref, time ω_ref t; one implementation used
    by :func:`simulate` and by the periodic-orbit solve of :mod:`jaxbind.dynamics.limit_cycles`."""

    model: LangevinModel
    feedback: ColdDamping | None
    k: Array
    w: Array
    m: Array
    gam: Array

    def __init__(self, model, feedback):
        rdt = model.particles.positions.dtype
        self.model = model
        self.feedback = feedback
        self.k = jnp.asarray(model.beam.k, rdt)
        self.w = jnp.mean(model.omega)
        self.m = model.masses.astype(rdt)
        self.gam = jnp.repeat(model.gamma, 3)

    @property
    def n_state(self) -> int:
        return (4 if self.feedback is not None else 2) * self.model.n_dof

    def feedback_scaled(self):
        """(c, g_fb, p_fb): cut-off, velocity and position gains in units of ω_ref."""
        rdt = self.m.dtype
        M, fb, w = self.model.n_dof, self.feedback, self.w
        c = fb.cutoff.astype(rdt) / w
        g_fb = jnp.broadcast_to(fb.gain, (M,)).astype(rdt) / w
        p_fb = jnp.broadcast_to(fb.position_gain, (M,)).astype(rdt) / w**2
        return c, g_fb, p_fb

    def __call__(self, t, y, args=None):
        M = self.model.n_dof
        k, w = self.k, self.w
        kw = k / w
        q, u = y[:M], y[M:2 * M]
        F = self.model.forces(q / k)
        a = ((F / self.m) * kw) / w - (self.gam / w) * u
        if self.feedback is None:
            return jnp.concatenate([u, a])
        c, g_fb, p_fb = self.feedback_scaled()
        w1, w2 = y[2 * M:3 * M], y[3 * M:]
        vhat = c * (w1 - w2)
        a = a - g_fb * vhat - p_fb * w1
        return jnp.concatenate([u, a, c * (q - w1), c * (w1 - w2)])


def _simulate_body(model, feedback, x0, v0, key, dt, n_steps, n_traj, save_every, solver,
                   brownian, progress):
    rdt = model.particles.positions.dtype
    M = model.n_dof
    scaled = _Scaled(model, feedback)
    k, w, m, gam = scaled.k, scaled.w, scaled.m, scaled.gam
    kw = k / w
    # force-noise covariance per unit scaled time (module docstring), ordered against
    # under/overflow in float32: ħ k²/(m_i m_j ω³) D and 2 k² γ k_B T/(m ω³)
    Qrec = ((model.recoil / m[:, None]) / m[None, :]) * Cst.hbar * kw**2 / w
    Qth = jnp.diag((gam * model.temperature / m) * Cst.k_B * kw**2 / w)
    L = _psd_sqrt(2.0 * (Qrec + Qth))
    fb = feedback is not None
    if fb:
        c, _, _ = scaled.feedback_scaled()
        s_imp = jnp.broadcast_to(feedback.imprecision, (M,)).astype(rdt)
        meas = c * k * jnp.sqrt(s_imp * w)
        n_state, n_noise = 4 * M, 2 * M
        G = jnp.zeros((n_state, n_noise), rdt)
        G = G.at[M:2 * M, :M].set(L).at[2 * M:3 * M, M:].set(jnp.diag(meas))
    else:
        n_state, n_noise = 2 * M, M
        G = jnp.zeros((n_state, n_noise), rdt).at[M:, :].set(L)

    def drift(t, y, args):  # a closure: diffrax would warn about the model's complex leaves
        return scaled(t, y)

    def diffusion(t, y, args):
        return G

    dts = dt * w
    T = n_steps * dts
    save_idx = np.arange(0, n_steps + 1, save_every)
    ts = jnp.asarray(save_idx, rdt) * dts
    needs_area = isinstance(solver, diffrax.AbstractSRK) or getattr(solver, "minimal_levy_area", None) not in (None, diffrax.AbstractBrownianIncrement, diffrax.BrownianIncrement)
    area = diffrax.SpaceTimeLevyArea if needs_area else diffrax.BrownianIncrement
    meter = diffrax.TqdmProgressMeter() if progress else diffrax.NoProgressMeter()

    # the increments in the model's dtype: a bare shape would take the default float
    # (float64 under jax_enable_x64) and promote a float32 state
    noise_shape = jax.ShapeDtypeStruct((n_noise,), rdt)

    def one(key, x0, v0):
        q0 = x0 * k
        y0 = [q0, v0 * kw]
        if fb:
            y0 += [q0, q0]
        y0 = jnp.concatenate(y0)
        if brownian == "unsafe":
            bm = diffrax.UnsafeBrownianPath(shape=noise_shape, key=key, levy_area=area)
            adjoint = diffrax.ForwardMode()  # no reverse mode through an unsafe path
        else:
            adjoint = diffrax.RecursiveCheckpointAdjoint()
            bm = diffrax.VirtualBrownianTree(0.0, T, tol=dts / 2, shape=noise_shape, key=key,
                                             levy_area=area)
        terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(diffusion, bm))
        sol = diffrax.diffeqsolve(terms, solver, 0.0, T, dts, y0,
                                  saveat=diffrax.SaveAt(ts=ts),
                                  stepsize_controller=diffrax.ConstantStepSize(),
                                  max_steps=n_steps + 1, throw=False, progress_meter=meter,
                                  adjoint=adjoint)
        ys = sol.ys
        finite = jnp.all(jnp.isfinite(ys))
        disp = jnp.reshape(ys[:, :M], (ys.shape[0], M // 3, 3)) / k
        inside = jnp.all(jnp.sum(disp**2, axis=-1) <= model.escape**2)
        result = RESULTS.where(inside, RESULTS.successful, RESULTS.particle_escaped)
        result = RESULTS.where(finite, result, RESULTS.trajectory_nonfinite)
        result = RESULTS.where(sol.result == diffrax.RESULTS.successful, result,
                               RESULTS.max_steps_reached)
        ok = result == RESULTS.successful
        ys = jnp.where(ok, ys, jnp.nan)
        x = ys[:, :M] / k
        v = ys[:, M:2 * M] / kw
        est = (c * (ys[:, 2 * M:3 * M] - ys[:, 3 * M:]) / kw) if fb else None
        return x, v, est, result

    keys = jax.random.split(key, n_traj)
    x, v, est, result = jax.vmap(one)(keys, x0, v0)
    return Trajectories(ts=ts / w, x=x, v=v, estimate=est, mass=m, omega=model.omega,
                        result=result)
