"""Cavity cooling and non-reciprocal sympathetic cooling: rate-equation model (paper 004).

Model (paper 004 Sec. III).  A cavity (decay γ, detuning Δ = ω_c − ω_L, linearized coupling g)
cools particle A (frequency ω, intrinsic damping κ_a, bath occupation n̄_a).  Particle A is
coupled non-reciprocally to the target particle B (κ_b, n̄_b) by H = g_ab a b† + g_ba a† b with
g_ab = g1 − g2, g_ba = g1 + g2 (eq. 1); the non-reciprocity is K_g = (g1 + g2)/(g1 − g2).

* cavity-induced anti-Stokes/Stokes rates A∓ (eqs. 5, 6), optical damping Γ_opt = A₋ − A₊
  (eq. 7), optical occupation n_opt = A₊/Γ_opt (eq. 8), effective damping κ'_a = κ_a + Γ_opt
  (eq. 9) and bath occupation n̄'_a = (κ_a n̄_a + Γ_opt n_opt)/κ'_a (eq. 10);
* rate equations for ⟨n_a⟩, ⟨n_b⟩ (eq. 13) with transfer rates R₊ = 2(g1+g2)²/(κ'_a+κ_b)
  (B → A) and R₋ = 2(g1−g2)²/(κ'_a+κ_b) (A → B);
* their mean-field steady state from the quadratics of eqs. 14–15 (n_b) and C1–C2 (n_a);
* for comparison, the second-order rate equations of the physically consistent *linear*
  model with the same drift (``linear_rate_occupations``, derived in its docstring).

Physical root (derived here; the paper only says "excluding nonphysical solutions").  Adding
the two lines of eq. 13 gives the linear relation β_a(n̄'_a − n_a) + β_b(n̄_b − n_b) = 0.
Along it the n_b quadratic f(n_b) = A n_b² + B n_b + C has f(0) = C > 0 and f < 0 where n_a = 0,
so exactly one root has n_a ≥ 0 and n_b ≥ 0: the smaller root when A > 0 (g1 g2 > 0), the
positive one when A < 0.  Both cases are the single cancellation-free expression
n_b = 2C/(−B + √(B² − 4AC)); likewise n_a = 2F/(−E + √(E² − 4DF)).  The other root always has
a negative occupation and is never returned.

Conventions (paper 004 is not self-consistent; documented and selectable):

``convention="paper"`` — eqs. 5–15 exactly as printed (this is what Figs. 2 and 4 plot):
cavity Lorentzian of half width γ/2, bath terms κ(n̄ − n) (κ an *energy* damping rate) but
transfer rates 2g²/(κ'_a + κ_b) with κ the *amplitude* correlation decay rates of eq. B8/B9.

``convention="master_equation"`` — the same adiabatic elimination carried out consistently
for the master equation eq. 3 with D_x ρ = 2xρx† − x†xρ − ρx†x: there κ and γ are amplitude
decay rates (d⟨n⟩/dt = 2κ(n̄ − n); cavity field decays as e^{−γt}, Lorentzian half width γ),
and the RWA beam splitter g(a†c + ac†) of eq. 2 has no Stokes process (A₊ = 0).  So
A₋ = 2g²γ/((Δ − ω)² + γ²) (energy rate), κ'_a = κ_a + Γ_opt/2, n̄'_a = (κ_a n̄_a + A₊/2)/κ'_a,
bath terms 2κ'_a(n̄'_a − n_a), 2κ_b(n̄_b − n_b), transfer rates unchanged.  Use this one to
compare with the Fock-space solution of eq. 3 (jaxbind.quantum.fock).

Validity (not enforced, reported in the notebook): eq. 13 comes from second-order
perturbation theory in g1 ± g2 (eq. B2) and needs |g1 ± g2| ≪ κ'_a + κ_b; the parameters of
Figs. 2 and 4 (g1 ± g2 ~ 0.1–1 ≫ κ'_a ~ 1e-2) are far outside that regime.  The mean-field
factorization ⟨n_a n_b⟩ = ⟨n_a⟩⟨n_b⟩ is a further approximation.

Units: any consistent frequency unit (the paper sets ω = Δ = 1); occupations are numbers.

Errors and results: constructors raise ``ValueError`` naming the argument for concrete bad
values (κ_b ≤ 0, γ ≤ 0, n̄ < 0, K_g ≤ 1, non-finite).  The steady-state functions return a
``CoolingSteadyState`` with a ``result`` (:data:`jaxbind.results.RESULTS`: ``invalid_input``,
``no_cooling``, ``no_physical_root``, ``unstable``, or the promoted optimistix result of the
root finder); with ``throw=True`` (default) a bad result raises its message; with
``throw=False`` (sweeps) bad points carry NaN occupations *and* their result, never a silent
number.  Grid and sweep evaluation of the closed form: :mod:`jaxbind.quantum.cooling_grid`.
"""

from __future__ import annotations

import warnings

import diffrax
import equinox as eqx
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optimistix as optx
from equinox._enum import EnumerationItem  # an item from integer codes (see _result)

from .._checks import as_float_array, check_finite, check_positive, is_concrete
from .._entry import compiled_entry
from .._types import Array, ArrayLike, Float, Int, RealLike
from ..results import RESULTS, code
from ._compat import deprecated_codes

# integer codes of the RESULTS items the closed form can give (int8 inside the grid kernels)
_OK = int(code(RESULTS.successful))
_NO_COOLING = int(code(RESULTS.no_cooling))  # κ'_a ≤ 0: optical anti-damping beats κ_a
_NO_PHYSICAL_ROOT = int(code(RESULTS.no_physical_root))  # no root with n_a, n_b ≥ 0
_INVALID_INPUT = int(code(RESULTS.invalid_input))  # non-finite (e.g. K_g ≤ 1 traced)
_UNSTABLE = int(code(RESULTS.unstable))  # the fixed point of eq. 13 is not linearly stable

_deprecated = deprecated_codes(__name__, {
    "STATUS_OK": "successful", "STATUS_NO_COOLING": "no_cooling",
    "STATUS_NO_PHYSICAL_ROOT": "no_physical_root", "STATUS_INVALID_INPUT": "invalid_input",
    "STATUS_UNSTABLE": "unstable", "STATUS_NOT_CONVERGED": "nonlinear_max_steps_reached"})
_MOVED = ("steady_state_grid", "steady_state_sweep")


def __getattr__(name):
    # one release: the grid/sweep evaluation lives in cooling_grid (which imports this module)
    if name in _MOVED:
        warnings.warn(f"jaxbind.quantum.cooling.{name} moved to "
                      f"jaxbind.quantum.cooling_grid.{name}", DeprecationWarning, stacklevel=2)
        from . import cooling_grid

        return getattr(cooling_grid, name)
    return _deprecated(name)


def _result(codes) -> RESULTS:
    """The RESULTS item (any batch shape) of integer codes."""
    return EnumerationItem(jnp.asarray(codes, jnp.int32), RESULTS)

_CONVENTIONS = ("paper", "master_equation")


class CoolingParams(eqx.Module):
    """Parameters of paper 004's cavity + non-reciprocal two-particle cooling model.

    Args (all frequencies in one consistent unit, e.g. ω = 1):
        g1, g2: reciprocal and non-reciprocal parts of the A–B coupling, g_ab = g1 − g2,
            g_ba = g1 + g2 (paper 004 eq. 1).  Any real values; K_g = (g1+g2)/(g1−g2).
        g: linearized cavity–A coupling (eq. 4).
        gamma: cavity decay rate γ > 0 (meaning set by ``convention``).
        delta: detuning Δ = ω_c − ω_L (Δ = ω is the cooling sideband of eqs. 5–6).
        omega: mechanical frequency ω_a = ω_b (eq. 13 assumes equal frequencies, eq. B10).
        kappa_a: intrinsic damping of A, ≥ 0.
        kappa_b: intrinsic damping of B, > 0 (the steady-state formulas divide by it).
        nbar_a, nbar_b: bath occupations, ≥ 0.
        convention: ``"paper"`` (eqs. as printed) or ``"master_equation"`` (consistent with
            eq. 3); see the module docstring.
    """

    g1: Array
    g2: Array
    g: Array
    gamma: Array
    delta: Array
    omega: Array
    kappa_a: Array
    kappa_b: Array
    nbar_a: Array
    nbar_b: Array
    convention: str = eqx.field(static=True, default="paper")

    def __init__(self, g1: RealLike, g2: RealLike, g: RealLike, gamma: RealLike = 1.0,
                 delta: RealLike = 1.0, omega: RealLike = 1.0, kappa_a: RealLike = 1e-4,
                 kappa_b: RealLike = 1e-4, nbar_a: RealLike = 20.0, nbar_b: RealLike = 20.0,
                 convention: str = "paper") -> None:
        names = ("g1", "g2", "g", "gamma", "delta", "omega", "kappa_a", "kappa_b", "nbar_a",
                 "nbar_b")
        vals = (g1, g2, g, gamma, delta, omega, kappa_a, kappa_b, nbar_a, nbar_b)
        arrs = [as_float_array(v, n) for n, v in zip(names, vals)]
        dtype = jnp.result_type(*arrs)
        for n, a in zip(names, arrs):
            setattr(self, n, a.astype(dtype))
        self.convention = convention

    def __check_init__(self):
        if self.convention not in _CONVENTIONS:
            raise ValueError(f"convention must be one of {_CONVENTIONS}, got {self.convention!r}")
        for n in ("g1", "g2", "g", "delta", "omega"):
            # g1 may be NaN on purpose: from_kg marks traced K_g ≤ 1 that way (→ status)
            if n != "g1":
                check_finite(n, getattr(self, n))
        check_positive("gamma", self.gamma)
        check_positive("kappa_a", self.kappa_a, allow_zero=True)
        check_positive("kappa_b", self.kappa_b)
        check_positive("nbar_a", self.nbar_a, allow_zero=True)
        check_positive("nbar_b", self.nbar_b, allow_zero=True)

    @classmethod
    def from_kg(cls, kg, g2, g, **kwargs) -> "CoolingParams":
        """Parameters from the non-reciprocity K_g = (g1+g2)/(g1−g2) > 1 and g2 (paper 004
        Fig. 2: g1 = g2 (K_g + 1)/(K_g − 1)).

        K_g ≤ 1 (where this parameterization stops describing B → A dominated transfer and
        K_g = 1 is singular) raises ``ValueError`` for concrete input; under jit/vmap it makes
        g1 NaN so the steady-state functions report ``RESULTS.invalid_input``.
        """
        kg = as_float_array(kg, "kg")
        if is_concrete(kg):
            check_finite("kg", kg)
            if np.any(np.asarray(kg) <= 1):
                raise ValueError(f"kg must be > 1 (K_g = (g1+g2)/(g1-g2)), got {kg}")
        g2 = as_float_array(g2, "g2")
        # concrete input: NumPy (the same IEEE operations, no XLA program per shape)
        xp = np if is_concrete((kg, g2)) else jnp
        kg, g2 = xp.asarray(kg), xp.asarray(g2)
        g1 = xp.where(kg > 1, g2 * (kg + 1) / xp.where(kg > 1, kg - 1, 1), xp.nan)
        return cls(g1, g2, g, **kwargs)

    @property
    def kg(self) -> Array:
        """Non-reciprocity K_g = (g1 + g2)/(g1 − g2) (inf for g1 = g2)."""
        return (self.g1 + self.g2) / (self.g1 - self.g2)


class CoolingSteadyState(eqx.Module):
    """Steady state of eq. 13: occupations n_a, n_b (any batch shape; NaN unless successful)
    and ``result`` (a :data:`jaxbind.results.RESULTS` item). ``status`` (deprecated, one
    release) is its integer code."""

    n_a: Float[Array, "*batch"]
    n_b: Float[Array, "*batch"]
    result: RESULTS

    @property
    def status(self) -> Int[Array, "*batch"]:
        """Integer code of ``result`` (0 = successful)."""
        return code(self.result)


# --------------------------------------------------------------------------------------
# cavity-induced effective bath of particle A (eqs. 5-10)
# --------------------------------------------------------------------------------------


def cavity_rates(p: CoolingParams) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"]]:
    """Cavity-induced anti-Stokes and Stokes rates (A₋, A₊) (paper 004 eqs. 5, 6).

    ``"paper"``: A∓ = g² γ/((Δ ∓ ω)² + (γ/2)²).  ``"master_equation"``: the RWA cavity of
    eq. 3 (field decay γ): A₋ = 2g²γ/((Δ − ω)² + γ²), A₊ = 0.  Returns energy rates.
    """
    if p.convention == "paper":
        h2 = (p.gamma / 2) ** 2
        am = p.g**2 * p.gamma / ((p.delta - p.omega) ** 2 + h2)
        ap = p.g**2 * p.gamma / ((p.delta + p.omega) ** 2 + h2)
    else:
        am = 2 * p.g**2 * p.gamma / ((p.delta - p.omega) ** 2 + p.gamma**2)
        ap = jnp.zeros_like(am)
    return am, ap


def optical_damping(p: CoolingParams) -> Float[Array, "*batch"]:
    """Optical damping Γ_opt = A₋ − A₊ (paper 004 eq. 7), an energy rate."""
    am, ap = cavity_rates(p)
    return am - ap


def optical_occupation(p: CoolingParams) -> Float[Array, "*batch"]:
    """Occupation of the optical reservoir n_opt = A₊/(A₋ − A₊) (paper 004 eq. 8).

    Only defined for Γ_opt > 0 (red detuning); otherwise raises through ``eqx.error_if``.
    """
    am, ap = cavity_rates(p)
    gam = am - ap
    gam = eqx.error_if(gam, gam <= 0, "optical_occupation: Γ_opt = A₋ − A₊ ≤ 0 (no optical "
                       "cooling at this detuning), n_opt is undefined")
    return ap / gam


def _bath_factor(p):
    # bath term of eq. 13: κ(n̄ − n) as printed, 2κ(n̄ − n) for eq. 3's D_x (amplitude rates)
    return 1.0 if p.convention == "paper" else 2.0


def effective_bath(p: CoolingParams) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"]]:
    """Effective damping κ'_a and bath occupation n̄'_a of particle A (paper 004 eqs. 9, 10).

    κ'_a = κ_a + Γ_opt, n̄'_a = (κ_a n̄_a + Γ_opt n_opt)/κ'_a = (κ_a n̄_a + A₊)/κ'_a (paper
    convention; with ``"master_equation"`` Γ_opt and A₊ enter halved as amplitude rates).
    Valid only for κ'_a > 0; the caller gets κ'_a and decides (steady states give a status).
    """
    am, ap = cavity_rates(p)
    c = _bath_factor(p)
    kap = p.kappa_a + (am - ap) / c
    nbar = (p.kappa_a * p.nbar_a + ap / c) / kap
    return kap, nbar


def transfer_rates(p: CoolingParams) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"]]:
    """Phonon transfer rates (R₊, R₋) = 2(g1 ± g2)²/(κ'_a + κ_b) of eq. 13: R₊ carries B → A
    (term (1 + n_a) n_b), R₋ carries A → B (term n_a (1 + n_b))."""
    kap, _ = effective_bath(p)
    s = kap + p.kappa_b
    return 2 * (p.g1 + p.g2) ** 2 / s, 2 * (p.g1 - p.g2) ** 2 / s


# --------------------------------------------------------------------------------------
# rate equations (eq. 13) and their steady state (eqs. 14-15, C1-C2)
# --------------------------------------------------------------------------------------


def rate_equations(n: Float[ArrayLike, "2"], p: CoolingParams) -> Float[Array, "2"]:
    """Right-hand side d(n_a, n_b)/dt of the mean-field rate equations (paper 004 eq. 13).

    Args:
        n: (2,) occupations (n_a, n_b).
        p: parameters.
    Returns:
        (2,) time derivatives (per unit of time of the frequency unit).
    """
    n = jnp.asarray(n)
    kap, nbar = effective_bath(p)
    rp, rm = transfer_rates(p)
    c = _bath_factor(p)
    na, nb = n[0], n[1]
    flow = rp * (1 + na) * nb - rm * na * (1 + nb)  # net B → A phonon flow
    return jnp.stack([flow + c * kap * (nbar - na), -flow + c * p.kappa_b * (p.nbar_b - nb)])


def quadratic_coefficients(p: CoolingParams) -> tuple[Float[Array, "*batch"], ...]:
    """Coefficients (A, B, C) of eq. 14 for n_b (eq. 15) and (D, E, F) of eq. C1 for n_a
    (eq. C2).  With β the bath rates of eq. 13 (β_a = κ'_a, β_b = κ_b as printed) and
    R± the transfer rates:  A = (R₊−R₋)β_b/β_a,  B = −(R₊−R₋)(n̄'_a + n̄_b β_b/β_a) − R₊
    − R₋ β_b/β_a − β_b,  C = R₋(n̄'_a + n̄_b β_b/β_a) + β_b n̄_b, and symmetrically for D, E, F
    (R₊ − R₋ = 8 g1 g2/(κ'_a + κ_b) reproduces the printed eqs. 15 and C2).
    """
    return _quadratics(p)[:6]


def _quadratics(p):
    # Written so that every factor depends on as few parameters as possible: on a grid whose
    # fields broadcast (steady_state_grid) the bath part (functions of g, Δ, γ, κ, n̄) and the
    # coupling part (functions of g1, g2) are evaluated once on their axes and a grid point
    # costs only the products below.  R± = 2(g1 ± g2)²/s and R₊ − R₋ = 8 g1 g2/s share 1/s
    # (and 8 g1 g2 has no cancellation for K_g → 1⁺, unlike R₊ − R₋).
    c = _bath_factor(p)
    kap, nbar = effective_bath(p)
    ba, bb = c * kap, c * p.kappa_b
    inv_s = 1 / (kap + p.kappa_b)
    r = bb / ba
    q = ba / bb
    nn = nbar + r * p.nbar_b
    mm = p.nbar_b + q * nbar
    gp, gm = p.g1 + p.g2, p.g1 - p.g2
    rp = (2 * gp * gp) * inv_s
    rm = (2 * gm * gm) * inv_s
    dr = (8 * p.g1 * p.g2) * inv_s
    A = dr * r
    B = -dr * nn - rp - rm * r - bb
    C = rm * nn + bb * p.nbar_b
    D = -dr * q
    E = dr * mm - rp * q - rm - ba
    F = rp * mm + ba * nbar
    return A, B, C, D, E, F, kap, rp, rm


def _physical_root(a, b, c):
    # 2c/(−b + √(b² − 4ac)): the root with non-negative occupations (module docstring);
    # cancellation-free, and → −c/b as a → 0 (g1 g2 = 0, where eq. 14 becomes linear).
    disc = b * b - 4 * a * c
    ok = disc >= 0
    s = jnp.sqrt(jnp.where(ok, disc, 0))
    den = -b + s
    ok = ok & (den > 0)
    return 2 * c / jnp.where(ok, den, 1), ok


def _stable(na, nb, p, kap, rp, rm):
    # analytic Jacobian of eq. 13 at (n_a, n_b) (cheaper than jacfwd in 10^6-point sweeps)
    c = _bath_factor(p)
    fa = rp * nb - rm * (1 + nb)  # ∂flow/∂n_a
    fb = rp * (1 + na) - rm * na  # ∂flow/∂n_b
    j00, j01 = fa - c * kap, fb
    j10, j11 = -fa, -fb - c * p.kappa_b
    return (j00 + j11 < 0) & (j00 * j11 - j01 * j10 > 0)


def _finalize(na, nb, result, throw):
    bad = result != RESULTS.successful
    nan = jnp.asarray(jnp.nan, na.dtype)
    na = jnp.where(bad, nan, na)
    nb = jnp.where(bad, nan, nb)
    if throw:
        n = result.error_if(jnp.stack([na, nb]), bad)
        na, nb = n[0], n[1]
    return CoolingSteadyState(na, nb, result)


def _input_status(p):
    kap, _ = effective_bath(p)
    finite = jnp.all(jnp.isfinite(jnp.stack([p.g1, p.g2, p.g, p.delta, p.omega])))
    return jnp.where(~finite, _INVALID_INPUT,
                     jnp.where(kap <= 0, _NO_COOLING, _OK)).astype(jnp.int32)


def _closed_form(p):
    """Elementwise (broadcasting) closed-form steady state + status, NaN at bad points.

    Shared by the per-point function and the grid path, so both do the same arithmetic.
    """
    A, B, C, D, E, F, kap, rp, rm = _quadratics(p)
    nb, okb = _physical_root(A, B, C)
    na, oka = _physical_root(D, E, F)
    # "input finite" and "cooling" depend on the parameters only (cheap on grid axes)
    finite = (jnp.isfinite(p.g1) & jnp.isfinite(p.g2) & jnp.isfinite(p.g)
              & jnp.isfinite(p.delta) & jnp.isfinite(p.omega))
    pre = jnp.where(finite, jnp.where(kap > 0, _OK, _NO_COOLING),
                    _INVALID_INPUT).astype(jnp.int8)
    # a NaN/inf occupation fails one of the ordered comparisons (NaN) or isfinite (inf)
    phys = okb & oka & (na >= 0) & (nb >= 0) & (na < jnp.inf) & (nb < jnp.inf)
    stable = _stable(na, nb, p, kap, rp, rm)
    status = jnp.where(pre != _OK, pre,
                       jnp.where(phys, jnp.where(stable, _OK, _UNSTABLE),
                                 _NO_PHYSICAL_ROOT).astype(jnp.int8))
    bad = status != _OK
    nan = jnp.asarray(jnp.nan, na.dtype)
    return jnp.where(bad, nan, na), jnp.where(bad, nan, nb), status.astype(jnp.int32)


@compiled_entry  # an eager call is one compiled program (jaxbind._entry)
def steady_state_occupations(p: CoolingParams, *, throw: bool = True) -> CoolingSteadyState:
    """Mean-field steady state of eq. 13 from the closed-form quadratics (paper 004 eqs. 14–15
    for n_b, C1–C2 for n_a), physical root selected as derived in the module docstring.

    Args:
        p: parameters (one point; vmap over a batched ``CoolingParams`` for sweeps).
        throw: raise (``eqx.error_if``) on a bad status; use ``False`` inside sweeps.
    Returns:
        ``CoolingSteadyState(n_a, n_b, result)``; occupations are NaN unless successful.
    """
    na, nb, status = _closed_form(p)
    return _finalize(na, nb, _result(status), throw)


@compiled_entry  # an eager call is one compiled program (jaxbind._entry)
def linear_rate_occupations(p: CoolingParams, *, throw: bool = True) -> CoolingSteadyState:
    """Steady state of the second-order rate equations of the *linear* (Gaussian, physically
    consistent) model with the same drift as eq. 2 — the counterpart of eq. 13 derived here.

    Derivation (weak coupling |g1 ± g2| ≪ s = κ'_a + κ_b, amplitude rates, RWA).  For any
    completely positive linear model whose drift is ȧ = −κ'_a a − i g_ba b,
    ḃ = −κ_b b − i g_ab a (g_ba = g1 + g2, g_ab = g1 − g2; non-reciprocity realized with the
    correlated noise of paper 001 eq. 81), the symmetrized second moments obey linear equations
    in which the noise only adds constants; Re of the correlated noise feeds Re⟨a†b⟩, which
    does not enter d⟨n⟩/dt.  Eliminating c = ⟨a†b⟩ (dc/dt = −s c + i(g_ba ñ_b − g_ab ñ_a) + …,
    ñ = n + ½) gives the phonon current J = (g_ba ñ_b − g_ab ñ_a)/s and

        dn_a/dt = 2 g_ba J + β_a (n̄'_a − n_a),    dn_b/dt = −2 g_ab J + β_b (n̄_b − n_b),

    with β the bath rates of eq. 13 (``convention``).  Unlike eq. 13 (B loses
    R₊(1 + n_a) n_b = 2g_ba²(1 + n_a) n_b/s) B loses 2 g_ab g_ba ñ_b/s: the damping B receives
    is set by the *product* g_ab g_ba, and for g_ab → 0 (K_g → ∞) B is not cooled at all (its
    dynamics no longer depends on A).  The two agree only for g2 = 0 (K_g = 1), where eq. 13
    is linear.  Tested against the exact Gaussian steady state (``jaxbind.quantum.sympathetic``).

    Args:
        p: parameters (one point; ``convention="master_equation"`` for eq. 3's rates).
        throw: raise on a bad status (``eqx.error_if``); ``False`` in sweeps.
    Returns:
        ``CoolingSteadyState(n_a, n_b, result)`` (NaN occupations unless successful;
        ``RESULTS.unstable`` when the linear equations have no stable fixed point,
        ``RESULTS.no_physical_root`` for a negative occupation).
    """
    kap, nbar = effective_bath(p)
    c = _bath_factor(p)
    ba, bb = c * kap, c * p.kappa_b
    s = kap + p.kappa_b
    gb, ga = p.g1 + p.g2, p.g1 - p.g2
    # dn/dt = M n + r  (n = (n_a, n_b))
    m00, m01 = -2 * gb * ga / s - ba, 2 * gb * gb / s
    m10, m11 = 2 * ga * ga / s, -2 * ga * gb / s - bb
    vac = (gb - ga) / (2 * s)  # the ½ of the symmetrized occupations
    r0 = 2 * gb * vac + ba * nbar
    r1 = -2 * ga * vac + bb * p.nbar_b
    det = m00 * m11 - m01 * m10
    safe = jnp.where(det != 0, det, 1)
    na = (-r0 * m11 + m01 * r1) / safe
    nb = (-m00 * r1 + m10 * r0) / safe
    status = _input_status(p)
    stable = (m00 + m11 < 0) & (det > 0)
    phys = (na >= 0) & (nb >= 0) & jnp.isfinite(na) & jnp.isfinite(nb)
    status = jnp.where(status != _OK, status,
                       jnp.where(~stable, _UNSTABLE,
                                 jnp.where(phys, _OK, _NO_PHYSICAL_ROOT)))
    return _finalize(na, nb, _result(status), throw)


@compiled_entry  # an eager call is one compiled program (jaxbind._entry)
def steady_state_occupations_root(p: CoolingParams, *, throw: bool = True, rtol: float = 1e-10,
                                  atol: float = 1e-12, max_steps: int = 256) -> CoolingSteadyState:
    """Steady state of eq. 13 by Newton root finding (optimistix) — independent of the
    closed forms.  Starts from the uncoupled occupations (n̄'_a, n̄_b); a failed root find
    carries the promoted optimistix result, converged roots with a negative occupation or a
    linearly unstable fixed point ``no_physical_root`` / ``unstable``.

    Gradients flow by implicit differentiation (optimistix).  ``rtol``/``atol`` are relative
    to the occupation scale; float32 input should use ``rtol ≳ 1e-6``.
    """
    status = _input_status(p)
    _, nbar = effective_bath(p)
    scale = jnp.maximum(jnp.maximum(nbar, p.nbar_b), 1.0)
    # Newton on the occupations in units of the bath scale keeps float32 well conditioned
    y0 = jnp.stack([nbar, p.nbar_b]) / scale
    y0 = jnp.where(jnp.isfinite(y0), y0, 0)

    def fn(y, args):
        # eq. 13 recombined into (sum of both lines, B line): the sum is evaluated without
        # the transfer terms, which cancel in it but are up to ~1e10 × the bath terms for
        # K_g → 1⁺ — in the raw form rounding alone limits Newton to ~1e-6 relative.
        kap, nbar = effective_bath(args)
        rp, rm = transfer_rates(args)
        c = _bath_factor(args)
        na, nb = y[0] * scale, y[1] * scale
        total = c * kap * (nbar - na) + c * args.kappa_b * (args.nbar_b - nb)
        fb = rate_equations(y * scale, args)[1]
        return jnp.stack([total / (c * (kap + args.kappa_b)), fb / (rp + rm + c * args.kappa_b)]) / scale

    eps = jnp.finfo(y0.dtype).eps
    solver = optx.Newton(rtol=max(rtol, 10 * float(eps)), atol=max(atol, 10 * float(eps)),
                         linear_solver=lx.LU())
    sol = optx.root_find(fn, solver, y0, args=p, throw=False, max_steps=max_steps)
    n = sol.value * scale
    conv = sol.result == optx.RESULTS.successful
    phys = conv & jnp.all(n >= 0) & jnp.all(jnp.isfinite(n))
    kap, _ = effective_bath(p)
    rp, rm = transfer_rates(p)
    stable = _stable(n[0], n[1], p, kap, rp, rm)
    status = jnp.where(status != _OK, status,
                       jnp.where(conv, jnp.where(phys, jnp.where(stable, _OK, _UNSTABLE),
                                                 _NO_PHYSICAL_ROOT), _OK))
    result = RESULTS.where(status != _OK, _result(status),
                           RESULTS.where(conv, RESULTS.successful, RESULTS.promote(sol.result)))
    return _finalize(n[0], n[1], result, throw)


def evolve_occupations(p: CoolingParams, n0: Float[ArrayLike, "2"], ts: Float[ArrayLike, "t"],
                       *, rtol: float = 1e-8, atol: float = 1e-10,
                       max_steps: int = 100_000) -> Float[Array, "t 2"]:
    """Integrate the rate equations (paper 004 eq. 13) with diffrax.

    Uses the L-stable implicit Kvaerno5 solver: the transfer rates R± (~(g1±g2)²/κ) exceed
    the bath rates by up to ~10⁶ for the paper's parameters, so the system is stiff.

    Args:
        p: parameters.
        n0: (2,) initial occupations (n_a, n_b), ≥ 0.
        ts: (t,) increasing output times, ts[0] is the initial time.
    Returns:
        (t, 2) occupations at ``ts``; raises (``eqx.error_if``) if the solver fails.
    """
    n0 = as_float_array(n0, "n0")
    ts = as_float_array(ts, "ts")
    dtype = jnp.result_type(n0, p.g2)
    n0 = n0.astype(dtype)
    ts = ts.astype(dtype)
    check_positive("n0", n0, allow_zero=True)
    term = diffrax.ODETerm(lambda t, y, args: rate_equations(y, args))
    sol = diffrax.diffeqsolve(
        term, diffrax.Kvaerno5(), ts[0], ts[-1], None, n0, args=p,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps, throw=True)
    return sol.ys
