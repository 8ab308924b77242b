"""Objective library for inverse design of optical-binding arrays (coupling, EPs, cooling).

Every objective is a pure, differentiable function of one design point returning a real
scalar to *minimise* with :func:`jaxbind.workflows.design.optimize.optimize`; none re-implements
physics — they call :mod:`jaxbind.mechanics` and :mod:`jaxbind.quantum`:

* :func:`pair_array` / :func:`pair_coupling_loss` — reach target two-particle rates
  (g_r, g_a) in units of g = C/(2mω) (paper 000 eq. 6 = paper 001 eq. 87, via
  :func:`~jaxbind.mechanics.rates.two_particle_rates`) by tuning the phase φ and distance
  kd. Analytic points (paper 001 after eq. 87): one-way coupling g_r = g_a = g/2 needs
  cos(kd + φ) = 0 and cos(kd − φ) = 1, i.e. kd ≡ φ (mod 2π) and kd ≡ π/4 (mod π/2) — the
  printed "φ = kd = π/4" is one of four points per period (φ = kd = 3π/4 gives
  g_r = g cos²kd = g_a = g sin²kd = g/2 as well); purely reciprocal (g_a = 0, g_r = g)
  needs kd ≡ φ (mod 2π), kd ≡ 0 (mod π); purely antireciprocal (g_r = 0, g_a = g)
  kd ≡ φ (mod 2π), kd ≡ π/2 (mod π).
* :func:`ep_loss` — place an exceptional point at a chosen detuning δω: the two-mode
  discriminant δω² − 4g_aδω + 4g_r² (= (ω₊ − ω₋)² of
  :func:`~jaxbind.mechanics.modes.two_mode_eigenfrequencies`, paper 000 eq. 12) vanishes.
* :func:`pt_splitting_loss` — maximise the imaginary splitting Im(ω₊ − ω₋) = √(−disc) in the
  PT-broken phase; the loss is disc/g² (smooth, also informative in the unbroken phase, and
  minimal where the splitting is maximal). At δω = 2g the optimum is kd ≡ φ ≡ π/2 (mod π)
  with splitting 2g.
* :class:`ArrayDesign` / :func:`coupling_matrix_loss` — an N-tweezer array's coupling
  matrix C (paper 001 eq. 77) from the exact autodiff linearization
  (:func:`~jaxbind.mechanics.array.linearize`, ``method="exact"``) against a target.
* :func:`cooling_system` / :func:`cooling_loss` / :func:`cooling_rate_estimate` — paper
  004's cavity + non-reciprocal pair as a Gaussian linear system (steady-state occupation
  of the target particle B from the Lyapunov equation) and the paper's rate-equation
  estimate for the same parameters.

The one-way Kerker pair objectives (paper 003) are in
:mod:`jaxbind.workflows.design.objectives_kerker`.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ..._types import Array
from ...mechanics.array import TweezerArray, linearize
from ...mechanics.modes import two_mode_eigenfrequencies
from ...mechanics.rates import coupling_rates, two_particle_rates
from ...quantum.cooling import CoolingParams, steady_state_occupations
from ...quantum.gaussian import LinearSystem, steady_state
from ...quantum.models import add_cavity, add_thermal_bath
from ...quantum.observables import occupations
from .constraints import Constrained

__all__ = [
    "pair_array",
    "pair_coupling_loss",
    "ep_loss",
    "pt_splitting_loss",
    "ArrayDesign",
    "coupling_matrix_loss",
    "CoolingDesign",
    "cooling_system",
    "cooling_loss",
    "cooling_rate_estimate",
]


def _check_array(array, n=None):
    if not isinstance(array, TweezerArray):
        raise TypeError(f"array must be a TweezerArray, got {type(array).__name__}")
    if n is not None and array.n != n:
        raise ValueError(f"array must hold exactly {n} tweezers, got {array.n}")


# --------------------------------------------------------------------------------------
# two particles: target rates, exceptional points, PT splitting
# --------------------------------------------------------------------------------------


def pair_array(base: TweezerArray, kd, phase) -> TweezerArray:
    """``base`` (two tweezers) with tweezer 1 at distance d = kd/k along e_y from tweezer 0
    (paper 001's geometry: polarization along e_x is then perpendicular to the axis) and
    relative phase φ = φ_0 − φ_1 = ``phase`` (rad). Differentiable in kd and phase."""
    _check_array(base, 2)
    rdt = base.positions.dtype
    kd = jnp.asarray(kd, rdt)
    phase = jnp.asarray(phase, rdt)
    pos = jnp.zeros((2, 3), rdt).at[1, 1].set(kd / base.k.astype(rdt))
    phases = jnp.stack([phase, jnp.zeros((), rdt)])
    return eqx.tree_at(lambda a: (a.positions, a.phases), base, (pos, phases))


def pair_coupling_loss(array: TweezerArray, g_r, g_a) -> Array:
    """Squared distance of the rates (g_r/g, g_a/g) of a two-tweezer array from a target.

    Args:
        array: two-tweezer :class:`~jaxbind.mechanics.array.TweezerArray`.
        g_r, g_a: target reciprocal / antireciprocal rates in units of g = C/(2mω)
            (dimensionless, |·| ≤ 1; e.g. (½, ½) one-way, (1, 0) reciprocal, (0, 1)
            antireciprocal).
    Returns:
        (g_r/g − g_r*)² + (g_a/g − g_a*)² (dimensionless), from paper 001 eq. 87.
    """
    _check_array(array, 2)
    r = two_particle_rates(array)
    return (r.g_r / r.g - g_r) ** 2 + (r.g_a / r.g - g_a) ** 2


def _discriminant_over_g2(array, delta_omega_over_g):
    r = two_particle_rates(array)
    dw = jnp.asarray(delta_omega_over_g) * r.g
    w = two_mode_eigenfrequencies(r.g_r, r.g_a, dw)
    return jnp.real((w[1] - w[0]) ** 2) / r.g**2


def ep_loss(array: TweezerArray, delta_omega_over_g) -> Array:
    """(disc/g²)² with disc = (ω₊ − ω₋)² = δω² − 4g_aδω + 4g_r² (paper 000 eq. 12):
    zero iff the array has an exceptional point at detuning δω = ``delta_omega_over_g``·g."""
    _check_array(array, 2)
    return _discriminant_over_g2(array, delta_omega_over_g) ** 2


def pt_splitting_loss(array: TweezerArray, delta_omega_over_g) -> Array:
    """disc/g² at detuning δω = ``delta_omega_over_g``·g (paper 000 eq. 12); in the
    PT-broken phase it equals −(Im(ω₊ − ω₋)/g)², so minimising it maximises the imaginary
    eigenfrequency splitting."""
    _check_array(array, 2)
    return _discriminant_over_g2(array, delta_omega_over_g)


# --------------------------------------------------------------------------------------
# N tweezers: coupling matrix through the exact linearization
# --------------------------------------------------------------------------------------


class ArrayDesign(eqx.Module):
    """Design variables of an N-tweezer array relative to a base :class:`TweezerArray`.

    Attributes:
        offsets: (N, 2) focal displacements in the focal plane, scaled k·Δr (dimensionless).
        phases: (N,) tweezer phases (rad), replacing the base phases.
        log_powers: (N,) log(P_j/P_base,j) (dimensionless; powers stay positive).
    """

    offsets: Array
    phases: Array
    log_powers: Array

    @classmethod
    def zeros(cls, base: TweezerArray) -> "ArrayDesign":
        rdt = base.positions.dtype
        return cls(jnp.zeros((base.n, 2), rdt), base.phases, jnp.zeros((base.n,), rdt))

    def apply(self, base: TweezerArray) -> TweezerArray:
        """The designed array (positions, phases and powers replaced; everything else kept)."""
        _check_array(base)
        rdt = base.positions.dtype
        off = jnp.asarray(self.offsets, rdt) / base.k.astype(rdt)
        pos = base.positions.at[:, :2].add(off)
        return eqx.tree_at(lambda a: (a.positions, a.phases, a.powers), base,
                           (pos, jnp.asarray(self.phases, rdt),
                            base.powers * jnp.exp(jnp.asarray(self.log_powers, rdt))))


def coupling_matrix_loss(array: TweezerArray, target_C, *, method: str = "exact",
                         scale=None) -> Array:
    """Relative squared Frobenius residual ‖C − C*‖²/‖C*‖² of the coupling matrix.

    Args:
        array: the :class:`TweezerArray` (any N).
        target_C: (N, N) target C_jj' (N/m, paper 001 eq. 77: force on j per metre
            displacement of j'); the diagonal is ignored.
        method: "exact" (autodiff of the self-consistent dipole forces, near field and
            multiple scattering included) or "far_field" (paper 001 closed forms).
        scale: normalisation (N/m)²; default ‖C*‖²_F (off-diagonal).
    Returns:
        Dimensionless residual.
    """
    _check_array(array)
    T = jnp.asarray(target_C)
    if T.shape != (array.n, array.n):
        raise ValueError(f"target_C must have shape ({array.n}, {array.n}), got {T.shape}")
    C = linearize(array, method).C
    off = 1.0 - jnp.eye(array.n, dtype=C.dtype)
    T = T.astype(C.dtype) * off
    s = jnp.sum(T**2) if scale is None else jnp.asarray(scale, C.dtype)
    return jnp.sum((C * off - T) ** 2) / s


# --------------------------------------------------------------------------------------
# cooling (paper 004): Gaussian steady state vs rate equations
# --------------------------------------------------------------------------------------


class CoolingDesign(eqx.Module):
    """Tunable parameters of the paper 004 cooling scheme (all rates in units of ω = 1).

    Attributes:
        kd: () k × tweezer distance (dimensionless).
        phase: () relative tweezer phase φ (rad).
        coupling: () optical-binding strength G of paper 000 eq. A7 (∝ tweezer powers);
            g_r, g_a = :func:`~jaxbind.mechanics.rates.coupling_rates` (φ, kd, G).
        detuning: () cavity detuning Δ = ω_c − ω_L.
    """

    # each field may hold a Constrained leaf until jb.optimize resolves it
    kd: Array | Constrained
    phase: Array | Constrained
    coupling: Array | Constrained
    detuning: Array | Constrained

    def rates(self):
        """(g1, g2) = (g_r, g_a) of paper 000 eq. 6, the g1, g2 of paper 004 eq. 1."""
        g_r, g_a, _ = coupling_rates(self.phase, self.kd, self.coupling)
        return g_r, g_a


def cooling_system(design: CoolingDesign, *, g, kappa_c, gamma_a, gamma_b, nbar_a,
                   nbar_b, gamma_rec=0.0, omega=1.0):
    """Two optically bound particles (A cavity-cooled, B the target) plus a cavity, as a
    Gaussian :class:`LinearSystem` in units of ω (paper 001 eqs. 80–81 + paper 004 eq. 2).

    Particles: trap frequency ω, coupling C_AB = 2(g_r + g_a), C_BA = 2(g_r − g_a) and
    diffusion D_AB = (G/kd) sin(kd) cos φ + i g_a (paper 000 eqs. 6, 8 — the correlated
    noise that makes the non-reciprocal coupling physical, paper 001 eq. 81), built by
    :meth:`LinearSystem.from_langevin` (dimensionless: m = ħ = ω_ref = 1) with recoil
    D_jj = |D_AB| + γ_rec (|D_AB| is the least that keeps D ⪰ 0).
    g_r, g_a play paper 004's g1, g2 (g_ba = g1 + g2 carries B → A). Thermal baths of
    energy rates γ_a, γ_b and occupations n̄_a, n̄_b; a cavity (detuning Δ, energy decay κ_c)
    beam-splitter coupled to A with strength g.

    Returns:
        :class:`~jaxbind.quantum.gaussian.LinearSystem` (rates in units of ω).
    """
    g_r, g_a, d12 = coupling_rates(design.phase, design.kd, design.coupling)
    dt = jnp.result_type(g_r, float)
    cdt = jnp.result_type(dt, jnp.complex64)
    z = jnp.zeros((), dt)
    C = jnp.stack([jnp.stack([z, 2 * (g_r + g_a)]), jnp.stack([2 * (g_r - g_a), z])])
    # D ⪰ 0 (a Lindblad form) needs D_jj ≥ |D_AB|: the coupling's own recoil |D_AB| is the
    # least diffusion consistent with it; ``gamma_rec`` adds any further recoil heating.
    rec = jnp.abs(d12) + jnp.asarray(gamma_rec, dt)
    D = jnp.stack([jnp.stack([rec + 0j, d12]), jnp.stack([jnp.conj(d12), rec + 0j])]).astype(cdt)
    w = jnp.asarray(omega, dt)
    sys = LinearSystem.from_langevin(jnp.stack([w, w]), C, D, mass=1.0, omega_ref=w, hbar=1.0)
    sys = add_thermal_bath(sys, 0, gamma_a, nbar_a)
    sys = add_thermal_bath(sys, 1, gamma_b, nbar_b)
    g = jnp.asarray(g, dt)
    return add_cavity(sys, design.detuning, kappa_c, jnp.stack([g, z]), kind="beam_splitter")


def cooling_loss(design: CoolingDesign, **model) -> Array:
    """Steady-state occupation n_B of the target particle (Lyapunov steady state of
    :func:`cooling_system`); NaN — and so a stopped optimisation, never a silent number — when
    the design has no steady state (A not Hurwitz)."""
    ss = steady_state(cooling_system(design, **model))
    return occupations(ss.cov)[1]


def cooling_rate_estimate(design: CoolingDesign, *, g, kappa_c, gamma_a, gamma_b, nbar_a,
                          nbar_b, gamma_rec=0.0, omega=1.0, throw: bool = False):
    """Paper 004's rate-equation estimate (eqs. 13–15) of (n_A, n_B, status) for the same
    parameters (recoil heating ``gamma_rec`` is not part of paper 004's model and is
    ignored), in the ``"master_equation"`` convention (amplitude rates = half the energy
    rates used by :func:`cooling_system`; RWA cavity), via
    :func:`~jaxbind.quantum.cooling.steady_state_occupations`."""
    g1, g2 = design.rates()
    p = CoolingParams(g1, g2, g, gamma=0.5 * kappa_c, delta=design.detuning, omega=omega,
                      kappa_a=0.5 * gamma_a, kappa_b=0.5 * gamma_b, nbar_a=nbar_a,
                      nbar_b=nbar_b, convention="master_equation")
    return steady_state_occupations(p, throw=throw)
