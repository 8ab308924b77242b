"""Gaussian-moment sympathetic cooling with paper-001 binding (issue 6, part 3)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.mechanics.rates import coupling_rates
from jaxbind.quantum.cooling import CoolingParams, effective_bath, steady_state_occupations
from jaxbind.quantum.gaussian import physicality
from jaxbind.quantum.sympathetic import (
    RECOIL_PER_G,
    SympatheticParams,
    binding_matrices,
    chain_params,
    cooling_objective,
    rate_equation_params,
    sympathetic_system,
)
from jaxbind.quantum.sympathetic import steady_occupations as _steady_occupations
from jaxbind.results import RESULTS, code

STATUS_UNSTABLE = int(code(RESULTS.unstable))
STATUS_NOT_PHYSICAL = int(code(RESULTS.not_physical))

# one compilation per model shape (eager evaluation re-traces the Lyapunov solver each call)
steady_occupations = eqx.filter_jit(_steady_occupations)

KD = 2 * np.pi + np.pi / 4  # cos kd = sin kd: K_g = cos(π/4 − φ)/cos(π/4 + φ) > 1 for φ ∈ (0, π/4)


def pair(phi, G, **kw):
    base = dict(kappa=1e-4, nbar=20.0, g_c=0.002, kappa_c=0.1)
    return SympatheticParams([0.0, KD], [phi, 0.0], G=G, **{**base, **kw})


def test_zero_coupling_gives_thermal_plus_recoil():
    p = SympatheticParams([0.0, 10.0], 0.0, G=0.0, gamma_rec=0.0, g_c=0.0, nbar=[5.0, 7.0])
    np.testing.assert_allclose(steady_occupations(p).n, [5.0, 7.0, 0.0], atol=1e-10)
    # recoil heating γ_rec p_j on top of the bath: n = n̄ + γ_rec p/κ
    p = SympatheticParams([0.0, 10.0], 0.0, powers=[1.0, 2.0], G=0.0, gamma_rec=1e-4, g_c=0.0,
                          kappa=1e-3, nbar=[5.0, 7.0])
    np.testing.assert_allclose(steady_occupations(p).n[:2], [5.1, 7.2], rtol=1e-10)


# slow: the cavity cooling of particle 0 stays covered by default against the linear rate
# equations in test_weak_coupling_exact_vs_linear_rates_vs_eq13 (n_a to 2e-2); this one compiles
# a second steady-state program (N = 1, position coupling)
@pytest.mark.slow
def test_sideband_cooling_limit():
    # one particle + cavity (full position coupling) vs the resolved-sideband weak-coupling
    # formula n = (κ n̄ + A₊)/(κ + A₋ − A₊) (paper 004 eqs. 5-10, standard optomechanics)
    p = SympatheticParams([0.0], [0.0], G=0.0, gamma_rec=0.0, kappa=1e-4, nbar=20.0, g_c=0.002,
                          kappa_c=0.1, cavity_kind="position")
    cp = CoolingParams(0.0, 0.0, 0.002, gamma=0.1, delta=1.0, omega=1.0, kappa_a=1e-4,
                       nbar_a=20.0)
    _, nbar_eff = effective_bath(cp)
    assert float(nbar_eff) < 20 / 2  # real cooling, not a trivial check
    np.testing.assert_allclose(steady_occupations(p).n[0], nbar_eff, rtol=3e-3)


def test_binding_matches_paper001_relations():
    p = pair(0.6, 1e-2)

    @eqx.filter_jit  # one program (eager: op by op)
    def run(p):
        return binding_matrices(p), coupling_rates(0.6, KD, 1e-2), rate_equation_params(p).kg

    (C, D), (g_r, g_a, _), kg = run(p)
    np.testing.assert_allclose(C[0, 1] - C[1, 0], 4 * D[0, 1].imag, rtol=1e-12)
    np.testing.assert_allclose(C[0, 1] / C[1, 0], (g_r + g_a) / (g_r - g_a), rtol=1e-12)
    # K_g of the mapped rate-equation model is C01/C10 = cos(kd − φ)/cos(kd + φ)
    np.testing.assert_allclose(kg, np.cos(KD - 0.6) / np.cos(KD + 0.6), rtol=1e-12)


def test_not_physical_status():
    """Correlated Im D with recoil below |D12| (D not ⪰ 0): the steady state is flagged
    RESULTS.not_physical (n NaN); with the recoil that comes with the binding it is fine."""
    p = pair(0.6, 1e-2, nbar=0.0)
    assert int(steady_occupations(p).status) == 0
    q = pair(0.6, 1e-2, nbar=0.0, gamma_rec=0.0)
    s = steady_occupations(q)
    assert int(s.status) == STATUS_NOT_PHYSICAL and np.all(np.isnan(np.asarray(s.n)))


# slow: three more programs (physicality twice, the correlated_noise=False steady state); the
# not_physical status stays covered by default by test_not_physical_status
@pytest.mark.slow
def test_physicality_flags_missing_correlated_noise():
    p = pair(0.6, 1e-2, nbar=0.0)
    phys = eqx.filter_jit(lambda p, c: physicality(sympathetic_system(p, correlated_noise=c)))
    assert bool(phys(p, True).is_physical)
    assert int(steady_occupations(p).status) == 0
    # the non-Hermitian (drift-only) model: same non-reciprocal C, no recoil noise
    q = pair(0.6, 1e-2, nbar=0.0, gamma_rec=0.0)
    ph = phys(q, False)
    assert not bool(ph.is_physical) and float(ph.min_eigenvalue) < -1e-4
    assert int(steady_occupations(q, correlated_noise=False).status) == STATUS_NOT_PHYSICAL
    # correlated Im D but recoil below |D12|: D not ⪰ 0 → flagged as well
    assert int(steady_occupations(q).status) == STATUS_NOT_PHYSICAL


@pytest.mark.parametrize("phi", [0.0, 0.5])
def test_weak_coupling_agrees_with_rate_equations(phi):
    # |g1 ± g2| ~ G/kd ≈ 1.4e-6 ≪ κ'_a + κ_b ~ 5e-4 and small occupation change: eq. 13 valid
    p = pair(phi, 1e-5)
    s = steady_occupations(p)
    r = steady_state_occupations(rate_equation_params(p))
    np.testing.assert_allclose(s.n[:2], [r.n_a, r.n_b], rtol=5e-3)


def test_nonreciprocal_mean_field_breaks():
    # strong non-reciprocity K_g ≈ 28 at moderate coupling: eq. 13's (R₊ − R₋) n_a n_b term
    # predicts strong cooling of B; the physical linear model (with recoil) heats it instead
    p = pair(0.75, 1e-2, kappa=1e-3, g_c=0.02, kappa_c=0.2)
    s = steady_occupations(p)
    r = steady_state_occupations(rate_equation_params(p))
    nbar_b = 20.0 + RECOIL_PER_G * 1e-2 / 1e-3
    assert float(r.n_b) < 0.5 * nbar_b
    assert float(s.n[1]) > 0.95 * nbar_b


# slow: two N-particle chain programs and an N = 3 objective (~13 CPU-s); the unstable status
# and the objective's finite penalty stay covered by default by test_objective_jit_vmap_grad
@pytest.mark.slow
def test_chain_and_instability_status():
    out = [steady_occupations(chain_params(n, KD, 0.0, G=3e-3, kappa=1e-4, g_c=0.01,
                                           nearest_neighbour=True)) for n in (2, 3)]
    assert all(int(o.status) == 0 for o in out)
    # particle 0 is cavity cooled (single particle: n ≈ 2.3 < n̄ = 20); the last particle of
    # the chain is less cold the longer the chain
    assert float(out[0].n[0]) < 5 and float(out[0].n[-2]) < float(out[1].n[-2])
    # a strongly directional all-to-all chain is a directional amplifier → unstable:
    # status, and the objective gives the finite penalty (never NaN)
    p = chain_params(3, KD, -0.7, G=3e-3, kappa=1e-4, g_c=0.01)
    val, st = eqx.filter_jit(cooling_objective)(p)
    assert int(st) == STATUS_UNSTABLE and float(val) == 1e6


def _params_of(x):
    # x = (φ_0, kx_1, p_1, Δ, g_c)
    return SympatheticParams(jnp.stack([0.0, x[1]]), jnp.stack([x[0], 0.0]),
                             powers=jnp.stack([1.0, x[2]]), G=1e-3, kappa=1e-3, nbar=20.0,
                             g_c=x[4], delta=x[3], kappa_c=0.2)


def _objective_and_status(x):
    return cooling_objective(_params_of(x))


# float64: ONE program for the vmapped values (finite-difference points, the unstable point),
# statuses and gradients; float32: a value program
_value_grad_batch = jax.jit(jax.vmap(jax.value_and_grad(_objective_and_status, has_aux=True)))
_objective_batch = jax.jit(jax.vmap(_objective_and_status))
X0 = np.array([0.3, KD, 1.2, 1.05, 0.01])
# φ_0 = 1.2 > π/4 with a strong second tweezer: C01 C10 < 0 and |C| > κ → a growing mode
X_UNSTABLE = np.array([1.2, KD, 200.0, 1.05, 0.01])
XS = np.stack([X0, np.where(np.arange(5) == 0, 0.6, X0)])
EPS, DIRS = 1e-6, np.random.default_rng(1).normal(size=(2, 5))
PTS = np.stack([X0 + s * EPS * v for v in DIRS for s in (1, -1)]
               + [XS[1] + s * EPS * np.eye(5)[0] for s in (1, -1)] + [X_UNSTABLE])


# slow (~5 CPU-s: the vmapped gradient through the Lyapunov solve); the steady-state physics stays
# default (test_zero_coupling_gives_thermal_plus_recoil, rate-equation tests), the gradient of
# steady_state by default in tests/quantum/test_gaussian.py::test_steady_state_grad_vs_fd
@pytest.mark.slow
def test_objective_jit_vmap_grad():
    (val, st), grads = _value_grad_batch(np.concatenate([XS, PTS]))
    gv, val, st = np.asarray(grads[:2]), np.asarray(val[2:]), np.asarray(st[2:])
    g = gv[0]
    assert np.all(np.isfinite(gv)) and np.all(g != 0)
    # reverse-mode gradient vs central finite differences along random directions, the
    # vmapped gradient at the second point vs finite differences along φ_0 (the values from
    # the same vmapped program), then the unstable point
    for i, v in enumerate(DIRS):
        fd = (val[2 * i] - val[2 * i + 1]) / (2 * EPS)
        np.testing.assert_allclose(np.dot(g, v), fd, rtol=1e-5)
    np.testing.assert_allclose(gv[1, 0], (val[4] - val[5]) / (2 * EPS), rtol=1e-5)
    # no steady state: the unstable status and the finite penalty (never NaN)
    assert list(st[:6]) == [0] * 6
    assert int(st[6]) == STATUS_UNSTABLE and float(val[6]) == 1e6


# slow (~3 CPU-s: the float32 program); float32 of steady_state stays default in
# tests/quantum/test_gaussian.py::test_float32_matches_float64
@pytest.mark.slow
def test_float32_matches_float64():
    (v64, s64), _ = _value_grad_batch(np.concatenate([XS, PTS]))
    v64, s64 = v64[2:], s64[2:]
    v32, s32 = _objective_batch(PTS.astype(np.float32))
    assert v32.dtype == jnp.float32
    np.testing.assert_array_equal(s32, s64)
    np.testing.assert_allclose(v32, v64, rtol=1e-4)


def test_bad_input():
    with pytest.raises(ValueError, match="kappa"):
        SympatheticParams([0.0, 7.0], 0.0, kappa=0.0)
    with pytest.raises(ValueError, match="cavity_kind"):
        SympatheticParams([0.0, 7.0], 0.0, cavity_kind="nope")
    with pytest.raises(ValueError, match="kx"):
        SympatheticParams([0.0, 0.0], 0.0)
    with pytest.raises(ValueError, match="phases"):
        SympatheticParams([0.0, 7.0], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="target"):
        cooling_objective(pair(0.1, 1e-3), target=5)
    with pytest.raises(ValueError, match="N = 2"):
        rate_equation_params(chain_params(3, KD, 0.0))
    with pytest.raises(ValueError, match="n must"):
        chain_params(0, KD, 0.0)
    assert isinstance(pair(0.1, 1e-3), eqx.Module)


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.77])
def test_weak_coupling_exact_vs_linear_rates_vs_eq13(phi):
    """Perturbative regime (|g1 ± g2| ≈ 0.03–0.04 s, s = κ'_a + κ_b) where the coupling
    matters (at K_g = 1 B is cooled from n̄_B + recoil = 300 to 111): the exact Gaussian steady state
    obeys the second-order linear rate equations derived in
    cooling.linear_rate_occupations (error O((g/s)²) ~ 1e-3); paper 004's eq. 13 agrees only
    at K_g = 1 (φ = 0, where its n_a n_b term cancels) and is off by > 2× for K_g ≥ 3."""
    from jaxbind.quantum.cooling import linear_rate_occupations

    p = pair(phi, 3e-4, kappa=[1e-4, 1e-6], g_c=0.01, kappa_c=0.2)
    s = steady_occupations(p)
    cp = rate_equation_params(p)
    lin = linear_rate_occupations(cp)
    r = steady_state_occupations(cp)
    uncoupled = 20.0 + RECOIL_PER_G * 3e-4 / 1e-6
    assert int(s.status) == 0
    np.testing.assert_allclose(s.n[1], lin.n_b, rtol=1e-3)
    np.testing.assert_allclose(s.n[0], lin.n_a, rtol=2e-2)  # cavity elimination: O(g_c²/κ_c²)
    if phi == 0.0:
        assert float(s.n[1]) < 0.5 * uncoupled  # the coupling matters
        np.testing.assert_allclose(r.n_b, s.n[1], rtol=1e-3)
    else:
        assert float(cp.kg) > 3 and float(r.n_b) < 0.5 * float(s.n[1])


def test_unidirectional_coupling_leaves_target_uncooled():
    """φ = π/4 at cos kd = sin kd: C_BA = 2(g_r − g_a) = 0, so B's dynamics does not depend on
    A and its occupation is exactly the uncoupled n̄_B + γ_rec/κ_B, at any coupling strength
    (exact, non-perturbative).  Eq. 13 (K_g = ∞) instead predicts deep cooling of B."""
    from jaxbind.quantum.cooling import linear_rate_occupations

    p = pair(np.pi / 4, 1e-2, kappa=1e-3, g_c=0.02, kappa_c=0.2)
    C, _ = binding_matrices(p)
    assert abs(float(C[1, 0])) < 1e-15 and abs(float(C[0, 1])) > 1e-3
    s = steady_occupations(p)
    nbar_b = 20.0 + RECOIL_PER_G * 1e-2 / 1e-3
    np.testing.assert_allclose(s.n[1], nbar_b, rtol=1e-9)
    cp = rate_equation_params(p)
    np.testing.assert_allclose(linear_rate_occupations(cp).n_b, nbar_b, rtol=1e-9)
    assert float(steady_state_occupations(cp).n_b) < 0.2 * nbar_b
