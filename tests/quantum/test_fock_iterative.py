"""Tests for jaxbind.quantum.fock_iterative (preconditioned matrix-free steady state of
paper 004 eq. 3)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.quantum.fock import (
    FockModel,
    destroy,
    number,
    occupations,
    steady_state,
    three_mode_model,
)
from jaxbind.quantum.fock_iterative import steady_state_iterative
from jaxbind.results import RESULTS, code
from jaxbind.solvers import BlockGMRES

STATUS_OK = int(code(RESULTS.successful))
STATUS_TRUNCATION = int(code(RESULTS.fock_truncation))

FIG3 = dict(gamma=1.0, kappa_a=0.01, kappa_b=0.01, nbar_a=1.0, nbar_b=1.0)


@eqx.filter_jit
def _solve(m):
    s = steady_state(m, BlockGMRES(), throw=False)
    return occupations(s.rho, m.dims), s


def gaussian_occupations(g1, g, gamma, kappa, nbar, delta=1.0):
    """Exact occupations of the Hermitian (g2 = 0) three-mode model of eq. 3 (it is linear):
    Gaussian moments, jump √(2r) x for r D_x (independent of the Fock code)."""
    from jaxbind.quantum.gaussian import LinearSystem
    from jaxbind.quantum.gaussian import steady_state as gss
    from jaxbind.quantum.observables import occupations as gocc

    h = jnp.array([[0.0, g1, g], [g1, 0.0, 0.0], [g, 0.0, delta - 1]])
    r1, r0 = np.sqrt(2 * kappa * (1 + nbar)), np.sqrt(2 * kappa * nbar)
    u = jnp.array([[r1, 0, 0], [0, 0, 0], [0, r1, 0], [0, 0, 0], [0, 0, np.sqrt(2 * gamma)]])
    v = jnp.array([[0, 0, 0], [r0, 0, 0], [0, 0, 0], [0, r0, 0], [0, 0, 0]])
    return np.asarray(gocc(gss(LinearSystem.from_modes(h, jumps_a=u, jumps_adag=v)).cov))


@pytest.mark.parametrize("g2", [0.0, 0.1])
def test_agrees_with_dense(g2):
    """Hermitian (μ = 0, one GMRES solve) and non-Hermitian with trace correction (Newton on
    the dominant eigenpair): same state, growth rate and validity checks as the dense LU."""
    dims = (4, 4, 3)
    m = three_mode_model(0.4, g2, 0.1, dims=dims, **FIG3)
    d = steady_state(m, throw=False)
    n_it, s = _solve(m)  # jit with a traced model (block structure from jump_shifts)
    np.testing.assert_allclose(s.rho, d.rho, atol=1e-10)
    np.testing.assert_allclose(n_it, occupations(d.rho, dims), rtol=1e-10)
    np.testing.assert_allclose(s.growth_rate, d.growth_rate, atol=1e-12)
    np.testing.assert_allclose(s.min_eig, d.min_eig, atol=1e-10)
    np.testing.assert_allclose(s.top_population, d.top_population, atol=1e-10)
    assert int(s.status) == int(d.status) == STATUS_TRUNCATION  # n̄ = 1 needs more levels
    assert (float(s.growth_rate) > 1e-3) == (g2 > 0)


@pytest.mark.slow  # ~20 CPU-s; test_agrees_with_dense checks this solver by default
def test_converges_to_gaussian_closed_form():
    """Cold baths (n̄ = 0.1): at (7, 7, 3) the Fock tail is ~1e-7, the iterative state matches
    the exact Gaussian occupations of the same linear master equation to 1e-5."""
    kw = dict(gamma=1.0, kappa_a=0.01, kappa_b=0.01, nbar_a=0.1, nbar_b=0.1)
    m = three_mode_model(0.2, 0.0, 0.1, dims=(7, 7, 3), **kw)
    n, s = _solve(m)
    exact = gaussian_occupations(0.2, 0.1, 1.0, 0.01, 0.1)
    assert int(s.status) == STATUS_OK
    np.testing.assert_allclose(n, exact, rtol=1e-5)


@pytest.mark.slow
def test_fig3_hermitian_converged_truncation():
    """Issue 6 §2: n̄ = 1, g1 = 0.2, g2 = 0, g = 0.1, κ = 0.01, γ = 1 reaches 1e-3 accuracy in
    all occupations at (12, 12, 3) (convergence study in benchmarks/bench_cooling.py), and
    (8, 8, 3) does not (truncation status)."""
    exact = gaussian_occupations(0.2, 0.1, 1.0, 0.01, 1.0)
    n, s = _solve(three_mode_model(0.2, 0.0, 0.1, dims=(12, 12, 3), **FIG3))
    assert int(s.status) == STATUS_OK
    np.testing.assert_allclose(n, exact, rtol=1e-3)
    n8, s8 = _solve(three_mode_model(0.2, 0.0, 0.1, dims=(8, 8, 3), **FIG3))
    assert int(s8.status) == STATUS_TRUNCATION and np.max(np.abs(n8 / exact - 1)) > 3e-3


# slow: two more block-solver programs (float32, float64 at these dims; ~4 CPU-s); float32 of
# the Fock steady state stays checked by default in test_fock.py::test_jit_vmap_grad_float32
# (dense solver), this solver's result codes in test_bad_input below
@pytest.mark.slow
def test_float32():
    # float32: 1e-5 for Hermitian H; the non-Hermitian eigenproblem (μ ~ 6e-4, condition
    # ~ γ/κ) is only meaningful to ~1e-2 in float32 (module docstring)
    kw = dict(gamma=1.0, kappa_a=0.01, kappa_b=0.01, nbar_a=0.1, nbar_b=0.1)
    for g2, rtol in ((0.0, 1e-5), (0.05, 1e-2)):
        m64 = three_mode_model(0.2, g2, 0.1, dims=(4, 4, 2), **kw)
        m32 = three_mode_model(*(np.float32(x) for x in (0.2, g2, 0.1)), dims=(4, 4, 2),
                               **{k: np.float32(v) for k, v in kw.items()})
        n64, _ = _solve(m64)
        n32, s32 = _solve(m32)
        assert s32.rho.dtype == jnp.complex64 and int(s32.status) == STATUS_OK
        np.testing.assert_allclose(n32, n64, rtol=rtol)


def test_bad_input():
    with pytest.raises(ValueError, match="charges"):
        steady_state(FockModel(number(3), destroy(3)[None], jnp.array([1.0]), (3,)), BlockGMRES())
    # a non-converged solve is an error when thrown, a result (and NaN state) otherwise
    m = three_mode_model(0.4, 0.1, 0.1, dims=(3, 3, 2), **FIG3)
    few = BlockGMRES(max_steps=1, restart=1)
    s = steady_state(m, few, max_newton=0, throw=False)
    assert s.result == RESULTS.nonlinear_max_steps_reached and np.all(np.isnan(s.rho))
    with pytest.raises(eqx.EquinoxRuntimeError, match="maximum number of steps"):
        jax.block_until_ready(steady_state(m, few, max_newton=0).rho)


# slow: ~8 CPU-s (the alias runs op by op, plus a second solver program); the alias only maps
# its arguments onto BlockGMRES, whose solver stays checked by default in test_agrees_with_dense
@pytest.mark.slow
def test_deprecated_entry_point_warns_and_agrees():
    m = three_mode_model(0.4, 0.1, 0.1, dims=(3, 3, 2), **FIG3)
    with pytest.warns(DeprecationWarning, match="BlockGMRES"):
        old = steady_state_iterative(m, throw=False)
    new = steady_state(m, BlockGMRES(rtol=1e-13, atol=1e-19, max_steps=400, restart=40),
                       throw=False)
    np.testing.assert_allclose(old.rho, new.rho, atol=1e-13)
    assert old.result == new.result
