"""Measurement-based feedback cooling (quantum.feedback): Riccati solutions vs SciPy, the
Kalman–Bucy conditional state and LQG cooling vs the weak-coupling closed form, η = 0 vs the
unconditional Lyapunov steady state, cold damping vs the rotating-wave model, bad input,
jit/vmap/grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sla

from jaxbind.quantum.feedback import (
    cold_damping,
    lqg_cooling,
    position_measurement,
    solve_care,
)
from jaxbind.quantum.gaussian import LinearSystem, steady_state
from jaxbind.quantum.models import add_cold_damping, add_thermal_bath
from jaxbind.results import RESULTS

# one compilation per kernel and input structure (op-by-op dispatch is slow)
lqg = jax.jit(lqg_cooling)
cold = jax.jit(cold_damping)
care = jax.jit(solve_care)


def oscillator(gamma, nth, omega=1.0):
    s = LinearSystem(jnp.array([[0.0, 1.0], [-omega**2, 0.0]]), jnp.zeros((2, 2)))
    return add_thermal_bath(s, 0, gamma, nth)


def coupled_pair():
    """Two oscillators (ω = 1, 1.1) with (reciprocal) position coupling and thermal baths."""
    A = jnp.array([[0.0, 1.0, 0.0, 0.0],
                   [-1.0, 0.0, 0.02, 0.0],
                   [0.0, 0.0, 0.0, 1.0],
                   [0.02, 0.0, -1.21, 0.0]])
    s = LinearSystem(A, jnp.zeros((4, 4)))
    s = add_thermal_bath(s, 0, 1e-3, 50.0)
    return add_thermal_bath(s, 1, 2e-3, 30.0)


def scipy_lqg(system, rate, eta, r):
    """The same LQG steady state assembled from SciPy's Riccati/Lyapunov solvers."""
    sm, C = position_measurement(system, rate, eta)
    A, D, C = (np.asarray(x) for x in (sm.A, sm.D, C))
    m = A.shape[0] // 2
    Vc = sla.solve_continuous_are(A.T, C.T, D, np.eye(C.shape[0]))
    B = np.zeros((2 * m, m))
    B[1::2, :] = np.eye(m)
    X = sla.solve_continuous_are(A, B, 0.5 * np.eye(2 * m), r * np.eye(m))
    K = B.T @ X / r
    L = Vc @ C.T
    V = Vc + sla.solve_continuous_lyapunov(A - B @ K, -L @ L.T)
    d = np.diag(V)
    return 0.5 * (d[0::2] + d[1::2] - 1.0)


def test_care_matches_scipy_and_vmaps(rng):
    a = rng.normal(size=(3, 5, 5))
    b = rng.normal(size=(3, 5, 2))
    q = rng.normal(size=(3, 5, 5))
    q = q @ np.swapaxes(q, 1, 2)
    X, res = jax.jit(jax.vmap(solve_care))(a, b @ np.swapaxes(b, 1, 2), q)
    assert bool(jnp.all(res == RESULTS.successful))
    for i in range(3):
        ref = sla.solve_continuous_are(a[i], b[i], q[i], np.eye(2))
        np.testing.assert_allclose(np.asarray(X[i]), ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())


# slow: the CARE's implicit gradient wrt a; it stays checked by default end to end (through both
# Riccati solves of lqg_cooling, vs SciPy differences) in test_grad_in_efficiency_single_oscillator
@pytest.mark.slow
def test_care_gradient_is_implicit_and_exact(rng):
    a = rng.normal(size=(4, 4))
    b = rng.normal(size=(4, 2))
    q = np.eye(4)
    w = rng.normal(size=(4, 4))

    def f(a):
        return jnp.sum(w * solve_care(a, b @ b.T, q)[0])

    g = np.asarray(jax.jit(jax.grad(f))(jnp.asarray(a)))
    eps = 1e-6
    for (i, j) in [(0, 1), (2, 3), (3, 0)]:
        da = np.zeros((4, 4))
        da[i, j] = eps
        fd = (np.sum(w * sla.solve_continuous_are(a + da, b, q, np.eye(2)))
              - np.sum(w * sla.solve_continuous_are(a - da, b, q, np.eye(2)))) / (2 * eps)
        assert g[i, j] == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_care_unstabilizable_is_a_named_result():
    # mode 0 grows (a = +1) and the control (G) does not reach it
    X, res = care(np.diag([1.0, -1.0]), np.diag([0.0, 1.0]), np.eye(2))  # NumPy inputs: no eager compiles
    assert res == RESULTS.not_stabilizable
    assert bool(jnp.all(jnp.isnan(X)))


def test_lqg_single_oscillator_closed_form():
    """Weak coupling (γn̄, Γ ≪ ω): V_c = [−γ + √(γ² + 16ηΓ(γ(n̄+½) + Γ))]/(8ηΓ) on both
    quadratures and cheap control cools to n = V_c − ½ (module docstring), up to O(rate/ω)."""
    gam, nth, G, eta = 1e-5, 100.0, 1e-3, 0.5
    out = lqg(oscillator(gam, nth), G, eta, 1e-8)
    assert out.result == RESULTS.successful
    Vc = (-gam + np.sqrt(gam**2 + 16 * eta * G * (gam * (nth + 0.5) + G))) / (8 * eta * G)
    np.testing.assert_allclose(np.diag(np.asarray(out.conditional_cov)), Vc, rtol=2e-3)
    assert float(out.occupations[0]) == pytest.approx(Vc - 0.5, abs=5e-3)
    # η = 1, negligible bath: the ground state
    out1 = lqg(oscillator(1e-9, 0.0), 1e-3, 1.0, 1e-8)
    assert float(out1.occupations[0]) == pytest.approx(0.0, abs=5e-3)


# default: one oscillator (the lqg program of the closed-form test: no extra compile); slow: the
# coupled pair at two (rate, η, r) points (the same comparison with a non-diagonal drift)
@pytest.mark.parametrize("pair,rate,eta,r", [
    (False, 1e-3, 0.3, 1e-4),
    pytest.param(True, 1e-3, 0.3, 1e-4, marks=pytest.mark.slow),
    pytest.param(True, 3e-3, 0.9, 1e-2, marks=pytest.mark.slow)])
def test_lqg_array_matches_scipy_pipeline(pair, rate, eta, r):
    s = coupled_pair() if pair else oscillator(1e-3, 10.0)
    out = lqg(s, rate, eta, r)
    assert out.result == RESULTS.successful
    np.testing.assert_allclose(np.asarray(out.occupations), scipy_lqg(s, rate, eta, r), rtol=1e-7)


# slow: the η = 0 identity; lqg_cooling stays checked by default against SciPy's Riccati/Lyapunov
# pipeline (test_lqg_array_matches_scipy_pipeline) and the closed form (test_lqg_single_oscillator_closed_form)
@pytest.mark.slow
def test_zero_efficiency_is_the_unconditional_state():
    s = coupled_pair()
    out = lqg(s, 2e-3, 0.0, 1e-4)
    sm, _ = position_measurement(s, 2e-3, 0.0)
    ss = jax.jit(steady_state)(sm)
    d = np.diag(np.asarray(ss.cov))
    np.testing.assert_allclose(np.asarray(out.occupations), 0.5 * (d[0::2] + d[1::2] - 1),
                               rtol=1e-9)
    np.testing.assert_allclose(np.asarray(out.cov), np.asarray(ss.cov), rtol=1e-9, atol=1e-12)


def test_cold_damping_matches_rotating_wave_model():
    """The closed loop vs SciPy's Lyapunov solution of the same loop (exact), and, for small
    rates and a fast filter (ω_c = 50 ω), the rotating-wave cold-damping model
    (add_cold_damping: n = (γ(n̄+½) + d/2)/(γ + g) − ½, d = 2Γ + g²/(8ηΓ)) within 8 %: the
    rest is the imprecision noise fed back off resonance, which the rotating-wave model drops."""
    gam, nth = 1e-4, 1e3
    s = oscillator(gam, nth)
    for G, eta, g in [(1e-3, 0.5, 1e-2), (3e-3, 1.0, 3e-2)]:
        out = cold(s, G, eta, g, 50.0)
        assert out.result == RESULTS.successful
        rwa = jax.jit(steady_state)(add_cold_damping(s, 0, g, G, eta))
        d = np.diag(np.asarray(rwa.cov))
        n_rwa = 0.5 * (d[0] + d[1] - 1)
        assert float(out.occupations[0]) == pytest.approx(n_rwa, rel=0.08)
        wc = 50.0
        A = np.array([[-gam / 2, 1, 0, 0], [-1, -gam / 2, -g * wc, g * wc],
                      [wc, 0, -wc, 0], [0, 0, wc, -wc]])
        Q = np.diag([gam * (nth + 0.5), gam * (nth + 0.5) + 2 * G, wc**2 / (8 * eta * G), 0])
        V = sla.solve_continuous_lyapunov(A, -Q)
        assert float(out.occupations[0]) == pytest.approx(0.5 * (V[0, 0] + V[1, 1] - 1), rel=1e-8)
        assert float(out.occupations[0]) < 0.2 * nth  # it cools


def test_bad_input_codes_and_throw():
    s = oscillator(1e-3, 10.0)
    for args in [(-1e-3, 0.5, 1e-3), (0.0, 0.5, 1e-3), (1e-3, 1.5, 1e-3), (1e-3, -0.1, 1e-3),
                 (1e-3, 0.5, 0.0)]:
        out = lqg(s, *args)
        assert out.result == RESULTS.invalid_input, args
        assert bool(jnp.all(jnp.isnan(out.occupations)))
    out = cold(s, 1e-3, 0.0, 1e-2, 10.0)
    assert out.result == RESULTS.invalid_input
    out = cold(s, 1e-3, 0.5, -1e-2, 10.0)  # a negative (anti-damping) gain
    assert out.result == RESULTS.invalid_input


def test_grad_in_efficiency_single_oscillator():
    s = oscillator(1e-4, 100.0)
    g = jax.jit(jax.grad(lambda e: lqg_cooling(s, 1e-3, e, 1e-3).occupations[0]))(0.5)
    h = 1e-5
    fd = (scipy_lqg(s, 1e-3, 0.5 + h, 1e-3)[0] - scipy_lqg(s, 1e-3, 0.5 - h, 1e-3)[0]) / (2 * h)
    assert float(g) == pytest.approx(fd, rel=1e-5)
    assert float(g) < 0  # more information, colder


@pytest.mark.slow
def test_throw_raises_the_message():
    with pytest.raises(Exception, match="outside its valid range"):
        lqg_cooling(oscillator(1e-3, 10.0), 1e-3, 2.0, throw=True)


@pytest.mark.slow
def test_vmap_and_grad_in_efficiency_and_rate():
    s = coupled_pair()
    etas = jnp.array([0.2, 0.5, 0.9])
    n = jax.jit(jax.vmap(lambda e: lqg_cooling(s, 1e-3, e, 1e-3).occupations))(etas)
    for i, e in enumerate([0.2, 0.5, 0.9]):
        np.testing.assert_allclose(np.asarray(n[i]), scipy_lqg(s, 1e-3, e, 1e-3), rtol=1e-7)
    assert bool(jnp.all(jnp.diff(n, axis=0) < 0))  # more information, colder

    def total(p):
        return jnp.sum(lqg_cooling(s, p[0], p[1], 1e-3).occupations)

    p = jnp.array([1e-3, 0.5])
    g = np.asarray(jax.jit(jax.grad(total))(p))
    for k, h in [(0, 1e-7), (1, 1e-5)]:
        dp = np.zeros(2)
        dp[k] = h
        fd = (scipy_lqg(s, *(np.asarray(p) + dp), 1e-3).sum()
              - scipy_lqg(s, *(np.asarray(p) - dp), 1e-3).sum()) / (2 * h)
        assert g[k] == pytest.approx(fd, rel=1e-4)
    # gradient of cold damping in its gain (vs central differences of the same kernel)
    cd = jax.jit(jax.grad(lambda g: cold_damping(s, 1e-3, 0.5, g, 20.0).occupations.sum()))(0.01)
    fd = (cold(s, 1e-3, 0.5, 0.01 + 1e-6, 20.0).occupations.sum()
          - cold(s, 1e-3, 0.5, 0.01 - 1e-6, 20.0).occupations.sum()) / 2e-6
    assert float(cd) == pytest.approx(float(fd), rel=1e-4)


@pytest.mark.slow
def test_gradient_through_the_array_design():
    """d(total LQG occupation)/d(tweezer phase) through linearize → from_linearized →
    lqg_cooling equals central differences of the same pipeline (joint array + feedback design)."""
    from jaxbind.mechanics.array import TweezerArray, linearize

    lam = 1550e-9

    def total(phi):
        arr = TweezerArray(jnp.array([[0.0, 0.0], [1.25 * lam, 0.0]]), powers=0.3,
                           wavelength=lam, NA=0.6, phases=jnp.stack([phi, 0.0]),
                           polarization_angles=np.pi / 2, radii=50e-9, index=1.45,
                           density=2200.0, gamma=1e3, temperature=300.0)
        s = LinearSystem.from_linearized(linearize(arr), forces=False)
        return jnp.sum(lqg_cooling(s, 1e-2, 0.8, 1e-3).occupations)

    g = float(jax.jit(jax.grad(total))(0.3))
    f = jax.jit(total)
    h = 3e-3  # the occupations are ~5e5: smaller steps drown in round-off
    fd = float((f(0.3 + h) - f(0.3 - h)) / (2 * h))
    assert g == pytest.approx(fd, rel=1e-3)
