"""Pseudo-arclength continuation of periodic orbits (jaxbind.dynamics.continuation) against
the closed-form branches of the Hopf normal form: supercritical (r = √μ, Ω = ω + bμ, the
threshold μ_c = 0) and subcritical with a fold of cycles (μ + r² − r⁴ = 0), failed points,
bounds, vmap. One compiled program serves every branch of the module (the coefficients are
traced); the tweezer-pair branch in the tweezer phase is a slow test at the end."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.dynamics.continuation import STOP_REASONS, continue_orbit
from jaxbind.results import RESULTS

W, B = 2.0, 0.5
SUPER = (W, B, -1.0, 0.0)  # ż = (μ + iω)z − |z|²z (+ ib|z|²z): supercritical
SUB = (W, B, 1.0, -1.0)  # ż = (μ + iω)z + |z|²z − |z|⁴z: subcritical, fold at μ = −1/4


def normal_form(t, y, a):
    """ż = (μ + iω) z + (c₃ + ib)|z|² z + c₅|z|⁴ z in (Re z, Im z) (Guckenheimer & Holmes
    §3.4): cycles |z| = r with μ + c₃r² + c₅r⁴ = 0, frequency Ω = ω + b r²."""
    mu, w, b, c3, c5 = a
    r2 = y[0] ** 2 + y[1] ** 2
    gr = mu + c3 * r2 + c5 * r2**2
    gi = w + b * r2
    return jnp.stack([gr * y[0] - gi * y[1], gi * y[0] + gr * y[1]])


def args_of(coef, mu):
    """(μ, ω, b, c₃, c₅); the vector field is NaN for μ < coef[4] (a wall for the
    failed-point test; −∞ elsewhere)."""
    mu = jnp.where(mu < coef[4], jnp.nan, mu)
    return (mu, coef[0], coef[1], coef[2], coef[3])


def branch(coef, mu0, r0, cut=-np.inf, **kw):
    c = jnp.asarray(coef + (cut,))
    settings = dict(direction=-1, step=0.05, steps=48, max_points=24, min_amplitude=1e-2)
    settings.update(kw)
    return continue_orbit(normal_form, eqx.Partial(args_of, c), mu0,
                          jnp.stack([1.05 * r0, 0.0]), 2 * np.pi / (coef[0] + coef[1] * r0**2),
                          **settings)


def accepted(br):
    n = int(br.n_points)
    return n, np.asarray(br.parameter[:n]), np.asarray(br.amplitude[:n, 0])


@pytest.fixture(scope="module")
def supercritical():
    return branch(SUPER, 0.3, np.sqrt(0.3))


@pytest.fixture(scope="module")
def subcritical():
    return branch(SUB, 0.2, np.sqrt((1 + np.sqrt(1.8)) / 2))


def test_supercritical_branch_is_the_closed_form(supercritical):
    br = supercritical
    n, mu, r = accepted(br)
    assert int(br.stop) == 3, STOP_REASONS[int(br.stop)]  # ended at the Hopf threshold
    assert n >= 6 and mu[0] == pytest.approx(0.3) and np.all(np.diff(mu) < 0)
    # r² = μ on every point, up to the Runge–Kutta shift of the Hopf point (≈ 3e-9 at 48
    # steps per period: the discrete flow of ż = (μ + iω)z grows at a slightly other rate)
    np.testing.assert_allclose(r**2, mu, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.asarray(br.amplitude[:n, 1]) ** 2, mu, rtol=1e-6, atol=1e-8)
    T = np.asarray(br.period[:n])
    np.testing.assert_allclose(T, 2 * np.pi / (W + B * mu), rtol=1e-7)
    # amplitude multiplier e^{−2μT} (stable: supercritical), the trivial one 1
    mult = np.asarray(br.multipliers[:n])
    np.testing.assert_allclose(mult[:, 0], 1.0, atol=1e-7)
    np.testing.assert_allclose(mult[:, 1].real, np.exp(-2 * mu * T), rtol=1e-5)
    assert np.all(np.asarray(br.max_multiplier[:n]) < 1)
    # the continuation approached the threshold: last amplitude within 2× min_amplitude
    assert r[-1] < 2e-2
    # μ_c = 0: the A²-extrapolation is exact up to the Runge–Kutta error (48 steps/period)
    assert abs(float(br.threshold)) < 1e-7
    # phases: the two components of a circle are a quarter period apart
    np.testing.assert_allclose(np.abs(np.asarray(br.phase[:n, 1])), np.pi / 2, atol=1e-6)
    # the slots after the branch: a code and NaN, never numbers
    assert np.all(np.asarray(br.result._value[:n]) == 0)
    assert np.all(np.asarray(br.result._value[n:]) == int(RESULTS.no_limit_cycle._value))
    assert np.all(np.isnan(np.asarray(br.parameter[n:])))
    assert np.all(np.isnan(np.asarray(br.y0[n:])))


def test_subcritical_branch_turns_at_the_fold(subcritical):
    """From the large stable cycle at μ = 0.2 down to the fold μ = −1/4 (r² = 1/2), round it
    (pseudo-arclength), up the small unstable branch to the subcritical Hopf point μ = 0⁻."""
    br = subcritical
    n, mu, r = accepted(br)
    assert int(br.stop) == 3, STOP_REASONS[int(br.stop)]
    # on the closed-form branch (up to the Runge–Kutta error, 2e-7 at r ≈ 1)
    np.testing.assert_allclose(mu + r**2 - r**4, 0.0, atol=1e-6)
    dp = np.asarray(br.dparameter[:n])
    assert np.count_nonzero(np.diff(np.sign(dp))) == 1  # one fold
    k = np.argmin(mu)
    assert -0.25 <= mu[k] < -0.24 and abs(r[k] ** 2 - 0.5) < 0.06
    T = np.asarray(br.period[:n])
    np.testing.assert_allclose(T, 2 * np.pi / (W + B * r**2), rtol=1e-7)
    # amplitude multiplier exp(T r d(ṙ/r)/dr) = exp(2r²(1 − 2r²) T): > 1 on the small branch
    mult = np.asarray(br.multipliers[:n, 1]).real
    np.testing.assert_allclose(mult, np.exp(2 * r**2 * (1 - 2 * r**2) * T), rtol=1e-4)
    stable = np.asarray(br.max_multiplier[:n]) < 1
    assert np.all(stable == (r**2 > 0.5))
    # the small cycles exist where the equilibrium is stable (μ < 0) and are unstable:
    # subcritical; the threshold is μ_c = 0, approached from below
    assert np.all(mu[-3:] < 0) and not stable[-1]
    assert abs(float(br.threshold)) < 1e-7


def test_branch_from_a_hopf_point():
    """Branch switching at μ_c = 0 (start_direction: the first corrector fixes the size along
    the critical direction, μ is free): the supercritical cycles appear at μ = r² > 0 and
    are stable; the subcritical ones at μ = r⁴ − r² < 0, unstable, and fold at μ = −1/4."""
    for coef, side in ((SUPER, 1.0), (SUB, -1.0)):
        c = jnp.asarray(coef + (-np.inf,))
        br = continue_orbit(normal_form, eqx.Partial(args_of, c), 0.0, jnp.array([0.05, 0.0]),
                            2 * np.pi / W, start_direction=jnp.array([1.0, 0.0]), step=0.05,
                            steps=48, max_points=24, min_amplitude=1e-2, bounds=(-1.0, 0.3))
        n, mu, r = accepted(br)
        assert n >= 5 and int(br.stop) == 2, STOP_REASONS[int(br.stop)]  # grew to a bound
        np.testing.assert_allclose(r[0], 0.05, rtol=1e-3)  # the size fixed at the start
        assert np.sign(mu[0]) == side and np.all(np.diff(r) > 0)
        np.testing.assert_allclose(mu + coef[2] * r**2 + coef[3] * r**4, 0.0, atol=1e-6)
        stable = np.asarray(br.max_multiplier[:n]) < 1
        assert stable[0] == (side > 0)
        if side < 0:
            assert np.count_nonzero(np.diff(np.sign(np.asarray(br.dparameter[:n])))) == 1


def test_failed_points_keep_the_finished_branch():
    """A wall at μ = 0.1 (the vector field is NaN below): the corrector fails there, the
    step is halved down to min_step, the branch stops with the finished points intact and
    the failed slot coded — no exception in the middle of a branch."""
    br = branch(SUPER, 0.3, np.sqrt(0.3), cut=0.1)
    n, mu, r = accepted(br)
    assert int(br.stop) == 4, STOP_REASONS[int(br.stop)]  # step_failed
    assert n >= 2 and np.all(mu >= 0.1)
    np.testing.assert_allclose(r**2, mu, rtol=1e-6, atol=1e-8)
    assert int(br.result._value[n]) == int(RESULTS.no_limit_cycle._value)
    assert np.isnan(float(br.parameter[n])) and np.isnan(float(br.threshold))
    # bounds: the branch stops before leaving them
    bb = branch(SUPER, 0.3, np.sqrt(0.3), bounds=(0.12, 1.0))
    n, mu, _ = accepted(bb)
    assert int(bb.stop) == 2 and np.all(mu >= 0.12) and n >= 2
    # a guess with no cycle at p0 (μ < 0: supercritical, only the equilibrium): start_failed
    bs = branch(SUPER, -0.1, 0.3)
    assert int(bs.stop) == 5 and int(bs.n_points) == 0
    assert int(bs.result._value[0]) == int(RESULTS.no_limit_cycle._value)


# slow: the vmapped branch is a second compile of the whole continuation (~6 CPU-s); by default
# the module's one unbatched program serves every branch test above and below, and the shooting
# corrector it is built on keeps jit ∘ vmap ∘ grad in tests/dynamics/test_periodic_orbits.py
@pytest.mark.slow
def test_vmap_over_model_coefficients(supercritical):
    """A batch of branches (the frequency shear b traced inside equinox.Partial)."""
    bs = jnp.asarray([0.5, -0.8])

    def run(b):
        c = jnp.stack([W, b, -1.0, 0.0, -jnp.inf])
        return continue_orbit(normal_form, eqx.Partial(args_of, c), 0.3,
                              jnp.stack([1.05 * np.sqrt(0.3), 0.0]), 2 * np.pi / 2.15,
                              direction=-1, step=0.05, steps=48, max_points=24,
                              min_amplitude=1e-2)

    out = jax.vmap(run)(bs)
    for j, b in enumerate(np.asarray(bs)):
        n = int(out.n_points[j])
        mu = np.asarray(out.parameter[j, :n])
        assert int(out.stop[j]) == 3 and n >= 6
        np.testing.assert_allclose(np.asarray(out.amplitude[j, :n, 0]) ** 2, mu, rtol=1e-6,
                                   atol=1e-8)
        np.testing.assert_allclose(np.asarray(out.period[j, :n]), 2 * np.pi / (W + b * mu),
                                   rtol=1e-7)
    # the first member is the unbatched branch
    n = int(supercritical.n_points)
    np.testing.assert_allclose(np.asarray(out.parameter[0, :n]),
                               np.asarray(supercritical.parameter[:n]), rtol=1e-9)


@pytest.mark.unchecked
def test_bad_settings_are_named():
    kw = dict(direction=-1, steps=48)
    y0, c = jnp.array([0.5, 0.0]), eqx.Partial(args_of, jnp.asarray(SUPER + (-np.inf,)))
    for bad, match in ((dict(direction=0), "direction"), (dict(step=0.0), "step"),
                       (dict(step=0.1, max_step=0.01), "max_step"),
                       (dict(bounds=(1.0, 0.0)), "bounds"), (dict(max_points=1), "max_points"),
                       (dict(n_size=3), "n_size"), (dict(parameter_scale=-1.0), "parameter_scale"),
                       (dict(min_amplitude=-1.0), "min_amplitude"), (dict(steps=2), "steps")):
        with pytest.raises(ValueError, match=match):
            continue_orbit(normal_form, c, 0.3, y0, 3.0, **{**kw, **bad})
    with pytest.raises(ValueError, match="y0"):
        continue_orbit(normal_form, c, 0.3, jnp.ones((2, 2)), 3.0)


@pytest.mark.slow
def test_tweezer_pair_branch_in_phase_ends_at_the_linear_threshold():
    """The pair of tests/dynamics/test_limit_cycles_pair.py (full optical forces, γ = 200 /s)
    continued in the tweezer phase from φ = π/2 upwards: the cycle shrinks onto the
    equilibrium at the Hopf point, which equals the root of the linear growth rate σ(φ) of
    the equilibrium (brentq on the drift's eigenvalues), with A² ∝ φ_c − φ and stable cycles
    on the unstable side (supercritical)."""
    from scipy.optimize import brentq

    from jaxbind.dynamics import LangevinModel, find_limit_cycle
    from jaxbind.dynamics.continuation import continue_limit_cycle
    from jaxbind.dynamics.limit_cycles import _linear_analysis
    from jaxbind.mechanics.array import TweezerArray

    lam = 1550e-9

    def pair(phase):
        return TweezerArray([[0, 0], [1.25 * lam, 0]], powers=[0.3 * 0.994, 0.3 * 1.006],
                            wavelength=lam, NA=0.6, phases=jnp.stack([phase, 0.0]),
                            polarization_angles=np.pi / 2, radii=50e-9, index=1.45,
                            density=2200.0, gamma=200.0, temperature=0.0)

    model0 = LangevinModel.from_array(pair(jnp.asarray(np.pi / 2)), recoil=False)

    def make(phi):
        return eqx.tree_at(lambda m: m.beam, model0, pair(phi).beam())

    def sigma(phi):
        _, J, _ = _linear_analysis(make(jnp.asarray(phi)), None)
        return float(np.max(np.linalg.eigvals(np.asarray(J)).real))

    phi_c = brentq(sigma, 1.7, 2.9, xtol=1e-10)
    orbit = find_limit_cycle(model0)
    br = continue_limit_cycle(make, np.pi / 2, orbit, direction=1, step=0.1, steps=160,
                              max_points=30, min_amplitude=10e-9)
    n = int(br.n_points)
    phi, A = np.asarray(br.parameter[:n]), np.asarray(br.amplitude[:n, 2])
    info = f"{n} points, stop {int(br.stop)}, threshold {float(br.threshold)}, φ_c {phi_c}"
    assert int(br.stop) == 3, info
    np.testing.assert_allclose(A[0], float(orbit.amplitude[2]), rtol=1e-6)
    # measured on the development machine: |threshold − φ_c| = 6.7e-6 rad
    assert abs(float(br.threshold) - phi_c) < 1e-4, info
    assert np.all(np.asarray(br.max_multiplier[:n]) < 1), info  # stable throughout
    # Hopf scaling: A² linear in φ_c − φ for the small cycles (< 40 nm), zero at φ_c (the
    # intercept of the linear fit, measured: 3.5 % of the largest A², is the A⁴ term)
    near = A < 40e-9
    assert near.sum() >= 3, info
    a, c = np.polyfit(phi_c - phi[near], A[near] ** 2, 1)
    assert a > 0 and abs(c) < 0.06 * np.max(A[near] ** 2), (a, c, info)
    assert np.all(phi[near] < phi_c)  # on the unstable side: supercritical
