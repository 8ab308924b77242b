"""Gaussian (Riccati) solver of paper 004 eq. 3 (jaxbind.quantum.nonhermitian).

Checked against closed forms (single mode with gain), the Lyapunov steady state for a
Hermitian H, and the truncated Fock-space solver (jaxbind.quantum.fock, an independent
method) at couplings where the truncation has converged.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.quantum import fock
from jaxbind.quantum import nonhermitian as nh
from jaxbind.quantum.gaussian import GaussianState, LinearSystem
from jaxbind.quantum.gaussian import steady_state as lyapunov_steady_state
from jaxbind.results import RESULTS, code

# weak couplings, cold baths: Fock truncation (4, 4, 3) converged to < 1e-5 in occupation
WEAK = dict(gamma=0.5, kappa_a=0.05, kappa_b=0.05, nbar_a=0.02, nbar_b=0.02)
G_WEAK = (0.04, 0.02, 0.1)  # g1, g2, g


def test_single_mode_gain_closed_form_and_divergence_time():
    # H = iλ a†a: a thermal state e^{−βn} evolves into e^{−(β−2λt)n} (module docstring):
    # V = ½ coth((β − 2λt)/2), ln Tr σ = ln[(1 − e^{−β})/(1 − e^{−(β−2λt)})], diverging at
    # t* = β/(2λ).
    lam, nth = 0.1, 1.0
    beta = np.log(1 + 1 / nth)
    model = nh.NonHermitianSystem.from_modes(jnp.array([[1j * lam]]), jnp.zeros(1), jnp.zeros(1))
    tstar = beta / (2 * lam)
    ts = jnp.linspace(0.0, 0.9 * tstar, 7)
    ev = nh.evolve(model, GaussianState.thermal(jnp.array([nth])), ts)
    assert ev.result == RESULTS.successful
    b = beta - 2 * lam * np.asarray(ts)
    np.testing.assert_allclose(ev.cov[:, 0, 0], 0.5 / np.tanh(b / 2), rtol=1e-7)
    np.testing.assert_allclose(ev.cov[:, 0, 1], 0.0, atol=1e-12)
    np.testing.assert_allclose(ev.log_trace, np.log((1 - np.exp(-beta)) / (1 - np.exp(-b))),
                               rtol=1e-7, atol=1e-10)
    # μ = 2λ n
    np.testing.assert_allclose(ev.growth_rate, 2 * lam * (0.5 / np.tanh(b / 2) - 0.5), rtol=1e-7)
    # beyond t*: finite-time divergence, detected just before t*
    ev2 = nh.evolve(model, GaussianState.thermal(jnp.array([nth])), jnp.array([0.0, 2 * tstar]))
    assert ev2.result == RESULTS.finite_time_divergence
    assert 0.999 * tstar < float(ev2.t_end) < tstar
    assert np.isnan(np.asarray(ev2.cov[-1])).all()
    # a coherent state |α⟩ becomes |α e^{λt}⟩ (vacuum covariance is stationary)
    ev3 = nh.evolve(model, GaussianState.coherent(jnp.array([0.3 + 0.2j])), jnp.array([0.0, 2.0]))
    np.testing.assert_allclose(ev3.mean[-1], np.array([0.3, 0.2]) * np.sqrt(2) * np.exp(2 * lam),
                               rtol=1e-7)
    np.testing.assert_allclose(ev3.cov[-1], 0.5 * np.eye(2), atol=1e-9)


@pytest.mark.slow
def test_hermitian_h_reduces_to_lyapunov():
    h = jnp.array([[0.0, 0.05, 0.1], [0.05, 0.0, 0.0], [0.1, 0.0, 0.2]], complex)
    model = nh.NonHermitianSystem.from_modes(h, jnp.array([0.02, 0.03, 0.5]),
                                             jnp.array([1.0, 2.0, 0.0]))
    np.testing.assert_array_equal(model.S, 0.0)
    s = nh.steady_state(model)
    ref = lyapunov_steady_state(model.system)
    assert s.result == RESULTS.successful
    np.testing.assert_allclose(s.cov, ref.cov, rtol=1e-10, atol=1e-12)
    assert abs(float(s.growth_rate)) < 1e-12


def test_steady_state_matches_fock_space_solver():
    g1, g2, g = G_WEAK
    s = nh.steady_state(nh.three_mode_system(g1, g2, g, **WEAK))
    assert s.result == RESULTS.successful
    n_gauss = np.asarray(s.occupations())
    out = []
    for dims in ((3, 3, 2), (4, 4, 3)):
        fs = fock.steady_state(fock.three_mode_model(g1, g2, g, dims=dims, **WEAK))
        out.append((np.asarray(fock.occupations(fs.rho, dims)), float(fs.growth_rate)))
    # the truncation has converged (the larger one changes the occupations by < 1e-3 rel.)
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=2e-2)
    # Gaussian (untruncated) vs Fock (4, 4, 3): occupations and the trace growth rate μ of L₀
    np.testing.assert_allclose(n_gauss, out[1][0], rtol=3e-4)
    np.testing.assert_allclose(float(s.growth_rate), out[1][1], rtol=1e-3)
    assert float(s.growth_rate) > 1e-4  # the trace correction is active (non-Hermitian H)


@pytest.mark.slow
def test_evolution_matches_fock_space_solver():
    g1, g2, g = G_WEAK
    dims = (5, 5, 3)
    ts = jnp.linspace(0.0, 20.0, 5)
    nth = jnp.array([0.0, 0.05, 0.0])  # thermal B, vacuum A and cavity
    ev = nh.evolve(nh.three_mode_system(g1, g2, g, **WEAK), GaussianState.thermal(nth), ts)
    fm = fock.three_mode_model(g1, g2, g, dims=dims, **WEAK)
    fe = fock.evolve(fm, fock.thermal_state(dims, nth), ts)
    assert float(fe.top_population.max()) < 1e-5
    np.testing.assert_allclose(ev.occupations(), fe.expect, rtol=1e-3, atol=1e-6)


@pytest.mark.slow
def test_fig3_runaway_is_a_result_code_and_batches_do_not_abort():
    P3 = dict(gamma=1.0, kappa_a=0.01, kappa_b=0.01, nbar_a=1.0, nbar_b=1.0)

    @eqx.filter_jit
    def occ(g1):
        s = nh.steady_state(nh.three_mode_system(g1, 0.1, 0.1, **P3))
        return s.occupations(), s.result

    n, res = jax.vmap(occ)(jnp.array([0.11, 0.40]))
    np.testing.assert_array_equal(code(res), [code(RESULTS.finite_time_divergence),
                                              code(RESULTS.successful)])
    assert np.isnan(np.asarray(n[0])).all()
    # an independent check that n[1] is the attracting root: its residual is zero and the
    # Fock truncation approaches it from below (fock notebook table: n_A = 1.146 … 1.392)
    assert 1.40 < float(n[1, 0]) < 1.7 and 0.55 < float(n[1, 1]) < 0.6


@pytest.mark.slow
def test_gradient_matches_finite_differences_and_float32():
    g1, g2, g = G_WEAK

    def nb(x):
        return nh.steady_state(nh.three_mode_system(x, g2, g, **WEAK)).occupations()[1]

    f = eqx.filter_jit(nb)
    d = jax.grad(nb)(g1)
    h = 1e-5
    fd = (f(g1 + h) - f(g1 - h)) / (2 * h)
    np.testing.assert_allclose(float(d), float(fd), rtol=1e-5)
    m32 = nh.three_mode_system(jnp.float32(g1), jnp.float32(g2), jnp.float32(g),
                               **{k: jnp.float32(v) for k, v in WEAK.items()})
    s32 = nh.steady_state(m32)
    assert s32.cov.dtype == jnp.float32 and s32.result == RESULTS.successful
    n32 = np.asarray(s32.occupations())
    n64 = np.asarray(nh.steady_state(nh.three_mode_system(g1, g2, g, **WEAK)).occupations())
    np.testing.assert_allclose(n32, n64, rtol=1e-4)


def test_bad_input_errors_name_the_argument():
    with pytest.raises(ValueError, match="kappa"):
        nh.NonHermitianSystem.from_modes(jnp.eye(2), jnp.array([-1.0, 0.0]), jnp.zeros(2))
    with pytest.raises(ValueError, match="h must be a square"):
        nh.NonHermitianSystem.from_modes(jnp.ones((2, 3)), 0.1, 0.0)
    with pytest.raises(ValueError, match="S must be symmetric"):
        nh.NonHermitianSystem(LinearSystem(-jnp.eye(2), jnp.eye(2)), jnp.array([[0.0, 1.0],
                                                                               [0.0, 0.0]]))
    with pytest.raises(ValueError, match="detuning_sign"):
        nh.three_mode_system(0.1, 0.1, 0.1, detuning_sign="x", **WEAK)


def test_throw_raises_the_divergence_message():
    P3 = dict(gamma=1.0, kappa_a=0.01, kappa_b=0.01, nbar_a=1.0, nbar_b=1.0)
    with pytest.raises(Exception, match="finite time"):
        nh.steady_state(nh.three_mode_system(0.11, 0.1, 0.1, **P3), throw=True)


@pytest.mark.slow
def test_fock_initial_state_by_taylor_coefficient_matches_fock_solver():
    # Σ_n xⁿ|n⟩⟨n| = ρ_th(x/(1−x))/(1−x): the evolution of |0,1,0⟩ is the x¹ coefficient of the
    # (unnormalised) Gaussian evolution; forward mode through diffrax (adjoint=ForwardMode).
    import diffrax

    g1, g2, g = G_WEAK
    ts = jnp.linspace(0.0, 10.0, 3)
    model = nh.three_mode_system(g1, g2, g, **WEAK)

    def moments(x):
        st = GaussianState.thermal(jnp.stack([0 * x, x / (1 - x), 0 * x]))
        ev = nh.evolve(model, st, ts, adjoint=diffrax.ForwardMode())
        Z = jnp.exp(ev.log_trace) / (1 - x)
        return jnp.concatenate([Z[:, None], Z[:, None] * ev.occupations()], 1)

    c1 = jax.jacfwd(moments)(0.0)
    n_exact = c1[:, 1:] / c1[:, :1]
    dims = (4, 4, 3)
    fe = fock.evolve(fock.three_mode_model(g1, g2, g, dims=dims, **WEAK),
                     fock.fock_state(dims, (0, 1, 0)), ts)
    np.testing.assert_allclose(n_exact, fe.expect, rtol=1e-4, atol=1e-7)
