"""Physically consistent sympathetic cooling with Gaussian moments (paper 004 scheme realized
with paper 001's optical binding).

Model (issue 6, part 3).  N levitated particles j = 0 … N−1 in tweezers on a line at
positions k x_j with optical phases φ_j and relative powers p_j, plus one cavity mode
coupled to particle 0 (the auxiliary particle A of paper 004); particle N−1 is the target
(B for N = 2).  Units: frequencies in units of the trap frequency ω (= 1), quadratures
scaled as in :mod:`jaxbind.quantum.gaussian`.

* Binding (paper 001 eqs. 81–87 / paper 000 eqs. 6, 8), every pair i < j at kd = k|x_j − x_i|
  and φ = φ_i − φ_j, through :func:`jaxbind.mechanics.rates.coupling_rates` with coupling
  scale G √(p_i p_j) (C ∝ E_i E_j): g_r, g_a, D_ij = (G/kd) sin kd cos φ + i g_a.  In the
  dimensionless Langevin form of :meth:`LinearSystem.from_langevin` (ħ = m = ω = 1):
  C_ij = 2(g_r + g_a) (force on i per displacement of j), C_ji = 2(g_r − g_a), so
  C_ij − C_ji = 4 Im D_ij (paper 001 eq. 81): the non-reciprocity comes with the correlated
  recoil noise D_ij that keeps the master equation (74) completely positive.  Diagonal
  recoil D_jj = γ_rec p_j (heating γ_rec p_j phonons per unit time).
* Binding shifts the traps by K_j = Σ_j' C_jj' (eq. 76); with ``compensate=True`` the bare
  trap frequencies are retuned to ω_j² = 1 − K_j so all particles stay resonant (paper 004
  assumes ω_a = ω_b).
* Gas/thermal bath on every particle: energy rate κ_j, occupation n̄_j
  (:func:`~jaxbind.quantum.models.add_thermal_bath`), cavity: detuning Δ = ω_c − ω_L, energy
  decay κ_c, coupling g_c to particle 0 (:func:`~jaxbind.quantum.models.add_cavity`,
  ``"beam_splitter"`` = RWA of paper 004 eq. 2, ``"position"`` = full linearized coupling).

Mapping to paper 004 (N = 2, A = 0, B = 1), RWA of the position coupling: ȧ_A = −i g_ba a_B
with g_ba = −C_01/2 = −(g_r + g_a) = g1 + g2 and g_ab = g1 − g2 = −(g_r − g_a), so
K_g = C_01/C_10 = (g_r + g_a)/(g_r − g_a).  :func:`rate_equation_params` builds the
:class:`~jaxbind.quantum.cooling.CoolingParams` (``convention="master_equation"``, whose κ are
amplitude rates = energy rates / 2) including the recoil heating in the bath occupations.

Errors/results: constructors raise ``ValueError`` naming the argument (concrete input);
:func:`steady_occupations` returns the ``result`` of the Gaussian steady state
(:data:`jaxbind.results.RESULTS`: ``unstable``, ``nonfinite_input``, or ``not_physical`` for a
recoil diffusion matrix that is not positive semidefinite) and :func:`cooling_objective`
its integer code, never NaN in the objective.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._checks import as_float_array, check_finite, check_positive, is_concrete
from typing import Any, Sequence

from .._types import Array, Complex, Float, Int, Real, RealLike
from ..mechanics.rates import coupling_rates
from ..results import RESULTS, code
from ._compat import deprecated_codes
from .cooling import CoolingParams
from .gaussian import LinearSystem, steady_state
from .models import add_cavity, add_thermal_bath
from .observables import occupations

__all__ = [
    "SympatheticParams",
    "SympatheticSteadyState",
    "RECOIL_PER_G",
    "binding_matrices",
    "sympathetic_system",
    "steady_occupations",
    "rate_equation_params",
    "chain_params",
    "cooling_objective",
]

#: deprecated integer status (one release): the code of RESULTS.not_physical
__getattr__ = deprecated_codes(__name__, {"STATUS_NOT_PHYSICAL": "not_physical"})
#: γ_rec/G of paper 001's closed forms (jaxbind.mechanics.rates module docstring):
#: D_jj = (kF0/4)(2/15)α²(5κ'² + 2), G = C kd/(2mω) = F0 k α² κ'²/(4mω) for polarization
#: ⟂ the line, so γ_rec/G = 4(5κ'² + 2)/(30κ'²) → 14/15 for k' = k (z_R ≫ 1/k).  It keeps
#: the recoil matrix D ⪰ 0 for kd ≳ 1.1 (|D_12| ≤ G/kd).
RECOIL_PER_G = 14.0 / 15.0
_KINDS = ("beam_splitter", "position")


class SympatheticParams(eqx.Module):
    """Parameters of N optically bound particles + one cavity on particle 0 (module docstring).

    Args (frequencies in units of the trap frequency ω):
        kx: (N,) tweezer positions along the line times k (dimensionless; kd = k|x_i − x_j|).
        phases: (N,) tweezer phases φ_j (rad).
        powers: (N,) relative tweezer powers p_j > 0 (C_ij ∝ √(p_i p_j), recoil ∝ p_j).
        G: binding scale G of paper 000 eq. A7 at unit powers (g = G/kd).
        gamma_rec: recoil heating rate at unit power (paper 001 γ_rec), ≥ 0; default
            ``RECOIL_PER_G``·G, the ratio of paper 001's closed forms (see the constant).
        kappa: (N,) bath energy damping rates κ_j > 0; nbar: (N,) bath occupations ≥ 0.
        g_c: cavity–particle-0 coupling; delta: cavity detuning Δ = ω_c − ω_L;
        kappa_c: cavity energy decay rate > 0.
        cavity_kind: ``"beam_splitter"`` (RWA, paper 004 eq. 2) or ``"position"``.
        compensate: retune bare traps so binding shifts cancel (static).
        nearest_neighbour: keep only nearest-neighbour binding (idealized chain, static).
    """

    kx: Array
    phases: Array
    powers: Array
    G: Array
    gamma_rec: Array
    kappa: Array
    nbar: Array
    g_c: Array
    delta: Array
    kappa_c: Array
    cavity_kind: str = eqx.field(static=True, default="beam_splitter")
    compensate: bool = eqx.field(static=True, default=True)
    nearest_neighbour: bool = eqx.field(static=True, default=False)

    def __init__(self, kx: RealLike | Sequence[float], phases: RealLike | Sequence[float],
                 powers: RealLike | Sequence[float] = 1.0, G: Real = 1e-3,
                 gamma_rec: Real | None = None, kappa: RealLike | Sequence[float] = 1e-3,
                 nbar: RealLike | Sequence[float] = 20.0, g_c: Real = 0.02, delta: Real = 1.0,
                 kappa_c: Real = 0.2, *, cavity_kind: str = "beam_splitter",
                 compensate: bool = True, nearest_neighbour: bool = False) -> None:
        kx = jnp.atleast_1d(as_float_array(kx, "kx"))
        if kx.ndim != 1:
            raise ValueError(f"kx must have shape (N,), got {kx.shape}")
        n = kx.shape[0]
        names = ("phases", "powers", "G", "gamma_rec", "kappa", "nbar", "g_c", "delta",
                 "kappa_c")
        if gamma_rec is None:
            gamma_rec = RECOIL_PER_G * jnp.asarray(G)
        vals = [as_float_array(v, k) for k, v in zip(names, (phases, powers, G, gamma_rec,
                                                           kappa, nbar, g_c, delta, kappa_c))]
        dt = jnp.result_type(kx, *vals)
        self.kx = kx.astype(dt)
        for k, v in zip(names, vals):
            if k in ("phases", "powers", "kappa", "nbar"):
                v = jnp.broadcast_to(v, (n,)) if v.ndim == 0 else v
                if v.shape != (n,):
                    raise ValueError(f"{k} must be a scalar or have shape ({n},), got {v.shape}")
            setattr(self, k, v.astype(dt))
        self.cavity_kind = cavity_kind
        self.compensate = compensate
        self.nearest_neighbour = nearest_neighbour

    def __check_init__(self):
        if self.cavity_kind not in _KINDS:
            raise ValueError(f"cavity_kind must be one of {_KINDS}, got {self.cavity_kind!r}")
        for k in ("kx", "phases", "G", "g_c", "delta"):
            check_finite(k, getattr(self, k))
        check_positive("powers", self.powers)
        check_positive("kappa", self.kappa)
        check_positive("kappa_c", self.kappa_c)
        check_positive("gamma_rec", self.gamma_rec, allow_zero=True)
        check_positive("nbar", self.nbar, allow_zero=True)
        if is_concrete(self.kx) and self.kx.shape[0] > 1:
            d = np.abs(np.diff(np.asarray(self.kx)))
            if np.any(d <= 0):
                raise ValueError(f"kx: tweezer positions must be distinct, got {self.kx}")

    @property
    def n(self) -> int:
        return self.kx.shape[0]


class SympatheticSteadyState(eqx.Module):
    """Steady occupations n (N particles, then the cavity) and ``result`` (a
    :data:`jaxbind.results.RESULTS` item; n is NaN unless successful). ``status``
    (deprecated, one release) is its integer code."""

    n: Float[Array, " m"]
    result: RESULTS

    @property
    def status(self) -> Int[Array, "*batch"]:
        """Integer code of ``result`` (0 = successful)."""
        return code(self.result)


def binding_matrices(p: SympatheticParams) -> tuple[Float[Array, "n n"], Complex[Array, "n n"]]:
    """Dimensionless binding constants C (N, N) and Hermitian diffusion D (N, N) (paper 001
    eqs. 81–87 via :func:`jaxbind.mechanics.rates.coupling_rates`; ħ = m = ω = 1 so that
    C = 2g and D_jj = γ_rec p_j).  C_ij − C_ji = 4 Im D_ij holds exactly."""
    n = p.n
    i, j = np.triu_indices(n, 1)
    if p.nearest_neighbour:
        keep = j == i + 1
        i, j = i[keep], j[keep]
    dt = p.kx.dtype
    C = jnp.zeros((n, n), dt)
    D = jnp.diag(p.gamma_rec * p.powers).astype(jnp.result_type(dt, jnp.complex64))
    if i.size:
        kd = jnp.abs(p.kx[j] - p.kx[i])
        Gij = p.G * jnp.sqrt(p.powers[i] * p.powers[j])
        g_r, g_a, d12 = coupling_rates(p.phases[i] - p.phases[j], kd, Gij)
        C = C.at[i, j].set(2 * (g_r + g_a)).at[j, i].set(2 * (g_r - g_a))
        D = D.at[i, j].set(d12).at[j, i].set(jnp.conj(d12))
    return C, D


def sympathetic_system(p: SympatheticParams, *, correlated_noise: bool = True) -> LinearSystem:
    """Linear system of the N bound particles + cavity (quadratures z_0, p_0, …, x_c, p_c).

    Args:
        p: parameters.
        correlated_noise: True — paper 001's consistent model (drift non-reciprocity from
            Im D, noise from Re D incl. correlations); False — the same non-reciprocal drift
            C with only the local recoil noise (the model a non-Hermitian Hamiltonian
            suggests), which :func:`~jaxbind.quantum.gaussian.physicality` flags.
    Returns:
        :class:`~jaxbind.quantum.gaussian.LinearSystem` with N + 1 modes, rates in units of ω.
    """
    C, D = binding_matrices(p)
    K = jnp.sum(C, axis=1)
    one = jnp.ones_like(p.kx)
    omega = jnp.sqrt(jnp.maximum(one - K, 0.0)) if p.compensate else one
    if correlated_noise:
        sysm = LinearSystem.from_langevin(omega, C, D, mass=1.0, omega_ref=1.0, hbar=1.0)
    else:
        Dloc = jnp.diag(jnp.real(jnp.diagonal(D))).astype(D.dtype)
        sysm = LinearSystem.from_langevin(omega, C, Dloc, mass=1.0, omega_ref=1.0, hbar=1.0,
                                          nonreciprocity="from_C")
    for j in range(p.n):
        sysm = add_thermal_bath(sysm, j, p.kappa[j], p.nbar[j])
    gc = jnp.zeros_like(p.kx).at[0].set(p.g_c)
    return add_cavity(sysm, p.delta, p.kappa_c, gc, kind=p.cavity_kind)


def steady_occupations(p: SympatheticParams, *, correlated_noise: bool = True
                       ) -> SympatheticSteadyState:
    """Exact steady-state occupations of all particles and the cavity (Lyapunov equation,
    :func:`~jaxbind.quantum.gaussian.steady_state`).

    Returns:
        ``SympatheticSteadyState(n (N+1,), result)``: ``RESULTS.unstable``,
        ``RESULTS.nonfinite_input`` or ``RESULTS.not_physical`` (generator not completely
        positive — for ``correlated_noise=True`` when γ_rec is too small for Γ = 2D ⪰ 0 —
        the test of :func:`~jaxbind.quantum.gaussian.physicality`, applied by
        ``steady_state``); n is NaN unless successful.
    """
    sysm = sympathetic_system(p, correlated_noise=correlated_noise)
    ss = steady_state(sysm)
    n = occupations(ss.cov)
    return SympatheticSteadyState(jnp.where(ss.result == RESULTS.successful, n, jnp.nan),
                                  ss.result)


def rate_equation_params(p: SympatheticParams) -> CoolingParams:
    """Paper 004 rate-equation parameters for the same N = 2 system (module docstring):
    g1 = −g_r, g2 = −g_a, κ (amplitude) = κ_j/2, cavity field decay γ = κ_c/2,
    n̄'_j = n̄_j + γ_rec p_j/κ_j (recoil heating folded into the bath),
    ``convention="master_equation"``.  Valid for the RWA (``"beam_splitter"``) cavity."""
    if p.n != 2:
        raise ValueError(f"p: rate_equation_params needs N = 2 particles, got {p.n}")
    kd = jnp.abs(p.kx[1] - p.kx[0])
    g_r, g_a, _ = coupling_rates(p.phases[0] - p.phases[1], kd,
                                 p.G * jnp.sqrt(p.powers[0] * p.powers[1]))
    nb = p.nbar + p.gamma_rec * p.powers / p.kappa
    return CoolingParams(-g_r, -g_a, p.g_c, gamma=p.kappa_c / 2, delta=p.delta, omega=1.0,
                         kappa_a=p.kappa[0] / 2, kappa_b=p.kappa[1] / 2, nbar_a=nb[0],
                         nbar_b=nb[1], convention="master_equation")


def chain_params(n: int, kd: float, phase_step: float, **kwargs: Any) -> SympatheticParams:
    """Equally spaced chain: kx_j = j·kd, phases φ_j = j·phase_step (a phase gradient sets
    the direction of the binding, paper 000); cavity on particle 0, target particle n − 1."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    j = jnp.arange(n, dtype=jnp.result_type(float))
    return SympatheticParams(j * kd, j * phase_step, **kwargs)


def cooling_objective(p: SympatheticParams, target: int = -1, *, penalty: float = 1e6
                      ) -> tuple[Float[Array, ""], Int[Array, ""]]:
    """Steady-state occupation of particle ``target`` as a differentiable function of all
    parameters (tweezer phases, positions, powers, cavity detuning and coupling …).

    Args:
        p: parameters (differentiate through any array field).
        target: particle index (default: last = the target particle).
        penalty: finite value returned where no physical steady state exists.
    Returns:
        (occupation, status): occupation is ``penalty`` (never NaN) when status ≠ 0; status
        is the integer code (``jaxbind.results.code``) of the steady state's result.
    """
    if not isinstance(target, (int, np.integer)) or not -p.n <= target < p.n:
        raise ValueError(f"target must be an integer particle index in [{-p.n}, {p.n}), got "
                         f"{target!r}")
    s = steady_occupations(p)
    ok = s.result == RESULTS.successful
    val = s.n[target]
    return jnp.where(ok, jnp.where(ok, val, 0.0), jnp.asarray(penalty, val.dtype)), s.status
