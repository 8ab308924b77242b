"""Tests for jaxbind.quantum.fock (paper 004 eq. 3 on a truncated Fock space)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

from jaxbind.quantum.fock import (
    FockModel,
    destroy,
    dissipator,
    embed,
    evolve,
    expect,
    fock_state,
    liouvillian_apply,
    liouvillian_matrix,
    mode_operators,
    number,
    occupations,
    steady_state,
    thermal_state,
    three_mode_model,
)

from jaxbind.results import RESULTS, code  # noqa: E402
from jaxbind.solvers import GMRES, Direct  # noqa: E402

STATUS_OK = int(code(RESULTS.successful))
STATUS_TRUNCATION = int(code(RESULTS.fock_truncation))

FIG3 = dict(gamma=1.0, kappa_a=0.01, kappa_b=0.01, nbar_a=1.0, nbar_b=1.0)


def oscillator(N, kappa=0.05, nbar=0.5, omega=1.0, dtype=jnp.complex128):
    a = destroy(N, dtype)
    H = omega * number(N, dtype)
    rd = jnp.zeros((), dtype).real.dtype
    return FockModel(H, jnp.stack([a, a.conj().T]),
                     jnp.array([kappa * (1 + nbar), kappa * nbar], rd), (N,), True,
                     tuple(range(N)))


# one steady-state program per model shape and dtype, shared by the tests below
_steady = jax.jit(lambda m: steady_state(m, throw=False))


def test_operators():
    a = destroy(4)
    np.testing.assert_allclose(a.conj().T @ a, number(4), atol=1e-15)
    A, B = mode_operators((3, 2))
    np.testing.assert_allclose(A, np.kron(np.diag(np.sqrt([1, 2]), 1), np.eye(2)))
    np.testing.assert_allclose(A @ B - B @ A, 0)
    np.testing.assert_allclose(embed(number(2), 1, (3, 2)), B.conj().T @ B)
    rho = thermal_state((3, 2), [0.5, 0.2])
    np.testing.assert_allclose(jnp.trace(rho), 1)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(6, 6)), complex)
    np.testing.assert_allclose(jnp.trace(dissipator(x, rho)), 0, atol=1e-14)


def test_damped_thermal_oscillator():
    """Steady state → thermal state with n̄ (D_x convention)."""
    kappa, nbar = 0.05, 0.5
    m = oscillator(24, kappa, nbar)
    s = _steady(m)
    p = (nbar / (1 + nbar)) ** np.arange(24)
    np.testing.assert_allclose(occupations(s.rho, (24,)), [nbar], rtol=1e-9)
    np.testing.assert_allclose(np.diag(s.rho).real, p / p.sum(), atol=1e-12)
    np.testing.assert_allclose(s.growth_rate, 0, atol=1e-13)
    assert int(s.status) == STATUS_OK


# Two more compiles (a full-space steady state, an N = 30 evolution). By default the steady
# state is checked in the sector basis above (and the full-space Liouvillian in
# test_liouvillian_matrix_matches_apply), evolve against QuTiP's mesolve in
# test_hermitian_part_vs_qutip.
@pytest.mark.slow
def test_damped_thermal_oscillator_full_space_and_evolution():
    """The full (non-sector) space gives the thermal state too; ⟨n⟩(t) = n̄ + (n0 − n̄) e^{−2κt}."""
    kappa, nbar = 0.05, 0.5
    p = (nbar / (1 + nbar)) ** np.arange(24)
    # the full (non-sector) space gives the same
    s2 = jax.jit(lambda m: steady_state(m, sector=False))(oscillator(8, kappa, nbar))
    p8 = p[:8] / p[:8].sum()  # detailed balance makes the truncated state exactly geometric
    np.testing.assert_allclose(occupations(s2.rho, (8,)), [np.sum(np.arange(8) * p8)],
                               rtol=1e-10)
    ts = jnp.array([0.0, 3.0, 10.0])
    ev = evolve(oscillator(30, kappa, nbar), fock_state((30,), (3,)), ts, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ev.expect[:, 0], nbar + (3 - nbar) * np.exp(-2 * kappa * ts),
                               rtol=1e-6)
    np.testing.assert_allclose(ev.trace, 1, atol=1e-10)


def _qutip_three_mode(dims, g1, g, delta, wa=1.0):
    a, b, c = (qutip.tensor(*[qutip.destroy(d) if i == j else qutip.qeye(d)
                              for j, d in enumerate(dims)]) for i in range(3))
    H = (delta - wa) * c.dag() * c + g1 * (a * b.dag() + a.dag() * b) + g * (a.dag() * c
                                                                           + a * c.dag())
    k, nb, gam = FIG3["kappa_a"], FIG3["nbar_a"], FIG3["gamma"]
    cops = [np.sqrt(2 * k * (1 + nb)) * a, np.sqrt(2 * k * nb) * a.dag(),
            np.sqrt(2 * k * (1 + nb)) * b, np.sqrt(2 * k * nb) * b.dag(), np.sqrt(2 * gam) * c]
    return H, cops, [a.dag() * a, b.dag() * b, c.dag() * c]


def test_hermitian_part_vs_qutip():
    """g2 = 0 (Hermitian beam splitters): evolve vs QuTiP mesolve, steady state vs QuTiP
    steadystate (collapse operators √(2r) x for r D_x)."""
    dims = (3, 4, 2)
    m = three_mode_model(0.2, 0.0, 0.1, dims=dims, delta=1.3, **FIG3)
    H, cops, nops = _qutip_three_mode(dims, 0.2, 0.1, 1.3)
    ts = np.linspace(0, 20, 5)
    rho0 = qutip.tensor(qutip.fock_dm(3, 0), qutip.fock_dm(4, 2), qutip.fock_dm(2, 0))
    ref = qutip.mesolve(H, rho0, ts, cops, e_ops=nops,
                        options={"atol": 1e-10, "rtol": 1e-10}).expect
    ev = evolve(m, fock_state(dims, (0, 2, 0)), jnp.asarray(ts))
    assert ev.result == RESULTS.successful  # a good solve (the failed one: test_evolution_result)
    np.testing.assert_allclose(ev.expect, np.array(ref).T, atol=2e-6)
    ss = qutip.expect(nops, qutip.steadystate(H, cops))
    s = steady_state(m)
    np.testing.assert_allclose(occupations(s.rho, dims), ss, rtol=1e-8)
    np.testing.assert_allclose(s.growth_rate, 0, atol=1e-12)


# ~12 CPU-s (two evolutions to t = 400, dense and GMRES steady states). By default the
# trace-corrected steady state, its growth rate and the GMRES Newton solver are checked by
# test_fock_iterative.py::test_agrees_with_dense[0.1] and test_nonhermitian.py::
# test_steady_state_matches_fock_space_solver (vs the Gaussian growth rate).
@pytest.mark.slow
def test_trace_correction_is_normalized_linear_evolution_and_steady_state():
    """Eq. 3 with the trace correction = normalized solution of the linear equation without
    it; its long-time limit is the dominant eigenvector that steady_state returns, with
    growth rate μ = −i Tr[(H − H†)ρ]."""
    dims = (3, 3, 2)
    m = three_mode_model(0.4, 0.1, 0.1, dims=dims, **FIG3)
    lin = three_mode_model(0.4, 0.1, 0.1, dims=dims, trace_correction=False, **FIG3)
    rho0 = fock_state(dims, (0, 2, 0))
    ts = jnp.array([0.0, 5.0, 400.0])
    ev = evolve(m, rho0, ts)
    ev_lin = evolve(lin, rho0, ts)
    np.testing.assert_allclose(ev.expect, ev_lin.expect / ev_lin.trace[:, None], rtol=1e-6)
    np.testing.assert_allclose(ev.trace, 1, atol=1e-8)
    s = steady_state(m, throw=False)
    np.testing.assert_allclose(occupations(s.rho, dims), ev.expect[-1], rtol=1e-5)
    h = m.hamiltonian
    np.testing.assert_allclose(s.growth_rate, expect(-1j * (h - h.conj().T), s.rho).real,
                               rtol=1e-8)
    assert s.growth_rate > 0  # Appendix A's claim (trace correction vanishes) fails here
    np.testing.assert_allclose(liouvillian_apply(m, s.rho), 0, atol=1e-12)
    # matrix-free GMRES Newton from the evolved state agrees with the dense solver
    sg = steady_state(m, GMRES(rtol=1e-10, atol=1e-13, max_steps=2000, restart=50),
                      rho0=ev.rho_final, throw=False)
    np.testing.assert_allclose(sg.rho, s.rho, atol=1e-8)
    with pytest.warns(DeprecationWarning, match="method='gmres'"):
        old = steady_state(m, method="gmres", rho0=ev.rho_final, throw=False)
    np.testing.assert_array_equal(old.rho, sg.rho)


def test_liouvillian_matrix_matches_apply(rng):
    dims = (2, 3, 2)
    m = three_mode_model(0.3, 0.1, 0.2, dims=dims, trace_correction=False, **FIG3)
    x = rng.normal(size=(12, 12)) + 1j * rng.normal(size=(12, 12))
    L = liouvillian_matrix(m)
    np.testing.assert_allclose((L @ x.reshape(-1)).reshape(12, 12), liouvillian_apply(m, x),
                               atol=1e-12)


def test_truncation_status():
    s = steady_state(oscillator(5, nbar=3.0))
    assert int(s.status) == STATUS_TRUNCATION and s.top_population[0] > 0.1


@pytest.mark.unchecked  # a string solver and a bare matrix model on purpose
def test_bad_input():
    with pytest.raises(ValueError, match="method"):
        steady_state(oscillator(3), method="eig")
    with pytest.raises(TypeError, match="solver must be"):
        steady_state(oscillator(3), "dense")
    with pytest.raises(TypeError, match="model must be a FockModel"):
        steady_state(np.eye(3), Direct())
    with pytest.raises(ValueError, match="rates"):
        FockModel(number(3), destroy(3)[None], jnp.array([-1.0]), (3,))
    with pytest.raises(ValueError, match="hamiltonian"):
        FockModel(number(3), destroy(3)[None], jnp.array([1.0]), (4,))
    with pytest.raises(ValueError, match="charges"):
        FockModel(number(3) + destroy(3), destroy(3)[None], jnp.array([1.0]), (3,), True,
                  (0, 1, 2))
    with pytest.raises(ValueError, match="occupations"):
        fock_state((2, 2), (0, 2))
    with pytest.raises(ValueError, match="detuning_sign"):
        three_mode_model(0.1, 0.1, 0.1, detuning_sign="minus", **FIG3)
    with pytest.raises(ValueError, match="kappa_a"):
        three_mode_model(0.1, 0.1, 0.1, **{**FIG3, "kappa_a": -1.0})


# slow (~9 CPU-s: vmap, grad and float32 programs of the Fock solvers); by default the Fock model
# stays checked against QuTiP (test_hermitian_part_vs_qutip) and its result codes (test_evolution_result)
@pytest.mark.slow
def test_jit_vmap_grad_float32():
    dims = (2, 2, 2)

    def nb_ss(g1):
        m = three_mode_model(g1, 0.1, 0.1, dims=dims, **FIG3)
        return occupations(steady_state(m, throw=False).rho, dims)[1]

    g1s = jnp.array([0.2, 0.4])
    v = jax.jit(jax.vmap(nb_ss))(g1s)
    np.testing.assert_allclose(v[1], jax.jit(nb_ss)(0.4), rtol=1e-10)

    def nb_t(x):  # short evolution is differentiable (diffrax)
        m = three_mode_model(x[0], 0.1, x[1], dims=dims, **FIG3)
        return evolve(m, fock_state(dims, (0, 1, 0)), jnp.array([0.0, 2.0]),
                      rtol=1e-10, atol=1e-12).expect[-1, 1]

    # (jit(grad) + jit(f): 6 CPU-s; one vmapped value_and_grad program costs 7, measured)
    x, v = np.array([0.3, 0.1]), np.array([0.6, -0.8])
    g = jax.jit(jax.grad(nb_t))(x)
    f = jax.jit(nb_t)
    np.testing.assert_allclose(g @ v, (f(x + 1e-5 * v) - f(x - 1e-5 * v)) / 2e-5, rtol=1e-5)
    # float32 (N = 12: at N = 24 the float32 LU error reaches 2e-4, measured)
    s32 = _steady(oscillator(12, 0.05, 0.3, dtype=jnp.complex64))
    assert s32.rho.dtype == jnp.complex64
    s64 = _steady(oscillator(12, 0.05, 0.3))
    np.testing.assert_allclose(occupations(s32.rho, (12,)), occupations(s64.rho, (12,)),
                               rtol=5e-5)


def test_evolution_result():
    """evolve: a failed ODE solve (max_steps) is its promoted result and NaN with
    throw=False, an error with throw=True; a good solve is successful."""
    import equinox as eqx

    m = oscillator(4)
    rho0 = fock_state((4,), (2,))
    ev = evolve(m, rho0, jnp.array([0.0, 50.0]), max_steps=2, throw=False)
    assert ev.result == RESULTS.max_steps_reached and np.all(np.isnan(ev.expect))
    with pytest.raises(eqx.EquinoxRuntimeError):
        jax.block_until_ready(evolve(m, rho0, jnp.array([0.0, 50.0]), max_steps=2).expect)


# slow: one more evolution program (default max_steps); a good solve's result stays checked by
# default in test_hermitian_part_vs_qutip
@pytest.mark.slow
def test_evolution_result_good_solve():
    good = evolve(oscillator(4), fock_state((4,), (2,)), jnp.array([0.0, 1.0]))
    assert good.result == RESULTS.successful


@pytest.mark.slow  # three more steady-state compiles (Direct is used throughout this file)
def test_lineax_solver_objects():
    """steady_state accepts lineax solvers (LU as Direct, GMRES as GMRES)."""
    import lineax as lx

    m = oscillator(4)
    d = steady_state(m, Direct())
    np.testing.assert_array_equal(steady_state(m, lx.LU()).rho, d.rho)
    g = steady_state(m, lx.GMRES(rtol=1e-12, atol=1e-14, max_steps=500, restart=20))
    np.testing.assert_allclose(g.rho, d.rho, atol=1e-10)
    assert int(d.status) == int(code(d.result))
