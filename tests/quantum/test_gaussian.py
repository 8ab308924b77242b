"""LinearSystem, steady_state (Lyapunov solvers), physicality: vs SciPy and closed forms."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sl

from jaxbind.quantum.gaussian import (
    LinearSystem,
    physicality,
    steady_state,
)
from jaxbind.quantum.lyapunov import is_hurwitz, solve_lyapunov
from jaxbind.quantum.models import add_thermal_bath, from_nonhermitian, quantum_noise
from jaxbind.quantum.observables import occupations
from jaxbind.results import RESULTS, code
from jaxbind.solvers import Kron, Sign

STATUS_OK = int(code(RESULTS.successful))
STATUS_UNSTABLE = int(code(RESULTS.unstable))
STATUS_NONFINITE = int(code(RESULTS.nonfinite_input))
SOLVERS = {"kron": Kron(), "sign": Sign()}
# one jitted solve per solver, shared by the tests below (one compile per solver and shape)
LYAP = {m: jax.jit(functools.partial(solve_lyapunov, solver=sv)) for m, sv in SOLVERS.items()}


def _stable(rng, n, margin=0.3):
    M = rng.normal(size=(n, n))
    return M - (np.max(np.linalg.eigvals(M).real) + margin) * np.eye(n)


def _psd(rng, n):
    B = rng.normal(size=(n, n))
    return B @ B.T + 0.1 * np.eye(n)


# default: each solver at n = 4 (the size test_lyapunov_near_exceptional_point compiles too);
# the larger sizes are the same identity, one more compile each
@pytest.mark.parametrize("method,n", [("kron", 4), ("sign", 4),
                                      pytest.param("kron", 8, marks=pytest.mark.slow),
                                      pytest.param("sign", 6, marks=pytest.mark.slow),
                                      pytest.param("sign", 30, marks=pytest.mark.slow)])
def test_lyapunov_vs_scipy(rng, method, n):
    A, D = _stable(rng, n), _psd(rng, n)
    X, ok = LYAP[method](A, D)
    ref = sl.solve_continuous_lyapunov(A, -D)
    assert bool(ok)
    np.testing.assert_allclose(X, ref, rtol=1e-10, atol=1e-11 * np.abs(ref).max())


@pytest.mark.parametrize("method", ["kron", "sign"])
def test_lyapunov_near_exceptional_point(method):
    # Two coupled damped modes at (δ = 0) and near (δ = 1e-7) an exceptional point:
    # A = −γ + [[0, 1], [δ, 0]] ⊗ … is defective at δ = 0 (Jordan block).
    solve = LYAP[method]
    for delta in (0.0, 1e-7, 1e-4):
        J = np.array([[-0.2, 1.0, 0, 0], [delta, -0.2, 1.0, 0], [0, 0, -0.2, 1.0], [0, 0, delta, -0.2]])
        D = np.diag([1.0, 0.5, 0.2, 1.0])
        X, ok = solve(J, D)
        ref = sl.solve_continuous_lyapunov(J, -D)
        assert bool(ok)
        np.testing.assert_allclose(X, ref, rtol=1e-9)
        # residual of the equation itself (independent of SciPy's accuracy)
        res = J @ X + X @ J.T + D
        assert np.abs(res).max() < 1e-11 * np.abs(X).max() * np.abs(J).max()


def test_hurwitz_status():
    hz = jax.jit(is_hurwitz)
    assert bool(hz(-jnp.eye(2)))
    assert not bool(hz(jnp.array([[0.01, 1.0], [-1.0, 0.01]])))  # growing spiral
    assert not bool(hz(jnp.array([[0.0, 1.0], [-1.0, 0.0]])))  # marginal
    assert not bool(hz(jnp.array([[-0.5, 0.0], [0.0, 1e-3]])))  # one unstable direction
    # defective but stable
    assert bool(hz(jnp.array([[-1e-3, 1.0], [0.0, -1e-3]])))
    s = LinearSystem(jnp.array([[0.1, 1.0], [-1.0, 0.0]]), jnp.eye(2))
    res = steady_state(s)  # eager: one compiled program, shared by the 2 × 2 tests below
    assert int(res.status) == STATUS_UNSTABLE
    assert bool(jnp.all(jnp.isnan(res.cov)))
    with pytest.raises(Exception, match="not Hurwitz"):
        steady_state(s, throw=True).cov.block_until_ready()


def test_thermal_oscillator_closed_form():
    # H = ω a†a, bath κ(n̄+1)D[a] + κn̄D[a†]: V = (n̄ + ½)·1, ⟨x⟩ = −A⁻¹b.
    w, kappa, nth, F = 1.3, 0.07, 3.2, 0.4
    s = add_thermal_bath(LinearSystem.from_lindblad(w * np.eye(2), h=[-F, 0.0]), 0, kappa, nth)
    res = steady_state(s)  # the shared 2 × 2 program
    assert int(res.status) == STATUS_OK
    np.testing.assert_allclose(res.cov, (nth + 0.5) * np.eye(2), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(occupations(res.cov), [nth], rtol=1e-12)
    # static displacement of a damped oscillator driven by the force F (H = ½ω(z²+p²) − F z)
    z = F * w / (w**2 + kappa**2 / 4)
    p = F * kappa / 2 / (w**2 + kappa**2 / 4)
    np.testing.assert_allclose(res.mean, [z, p], rtol=1e-12)


def _chain_system(params):
    """Two thermal oscillators with beam-splitter coupling; params = (w1, w2, g, k1, k2)."""
    w1, w2, g, k1, k2 = params
    H = jnp.array([[w1, 0, g, 0], [0, w1, 0, g], [g, 0, w2, 0], [0, g, 0, w2]])
    s = LinearSystem.from_lindblad(H)
    s = add_thermal_bath(s, 0, k1, 2.0)
    return add_thermal_bath(s, 1, k2, 0.3)


# the chain's steady covariance at a (5, 5) batch of parameter points: one program per dtype,
# shared by the gradient (central differences) and the float32 checks below
CHAIN_COV = jax.jit(jax.vmap(lambda p: steady_state(_chain_system(p), Kron()).cov))
P0 = np.array([1.0, 1.1, 0.05, 0.1, 0.02])
EPS = 1e-6


def _n1(V):
    """Occupation of oscillator 1 from (…, 4, 4) covariances (NumPy: no compile)."""
    V = np.asarray(V)
    return 0.5 * (V[..., 2, 2] + V[..., 3, 3] - 1.0)


def _grad_fd():
    E = np.eye(5) * EPS
    return (_n1(CHAIN_COV(P0 + E)) - _n1(CHAIN_COV(P0 - E))) / (2 * EPS)


# default: kron (the CPU default), reverse mode under jit∘vmap (the transform check of
# steady_state); Sign's implicit derivative in `make test-all`, its forward solve stays checked
# by default in test_lyapunov_vs_scipy / near_exceptional_point
@pytest.mark.parametrize("method", ["kron", pytest.param("sign", marks=pytest.mark.slow)])
def test_steady_state_grad_vs_fd(method):
    def f(p):
        return occupations(steady_state(_chain_system(p), SOLVERS[method]).cov)[1]

    # jit∘vmap∘grad at two points (the second one a step away: same derivative to 1e-6)
    g = jax.jit(jax.vmap(jax.grad(f)))(jnp.asarray(np.stack([P0, P0 + 1e-9])))
    fd = _grad_fd()
    np.testing.assert_allclose(g[0], fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g[1], fd, rtol=1e-6, atol=1e-8)


# slow: forward mode is the same implicit derivative as the reverse mode checked by default in
# test_steady_state_grad_vs_fd[kron]
@pytest.mark.slow
@pytest.mark.parametrize("method", ["kron", "sign"])
def test_steady_state_jacfwd_vs_fd(method):
    def f(p):
        return occupations(steady_state(_chain_system(p), SOLVERS[method]).cov)[1]

    gf = jax.jit(jax.jacfwd(f))(jnp.asarray(P0))
    np.testing.assert_allclose(gf, _grad_fd(), rtol=1e-6, atol=1e-8)


# slow: vmap over 10^4 points; jit∘vmap∘grad stays checked by default in
# test_steady_state_grad_vs_fd[kron], the steady state vs SciPy in test_lyapunov_vs_scipy
@pytest.mark.slow
def test_vmap_jit_grad_many_systems(key):
    # vmap over 10^4 parameter points (jit), and vmap∘grad over a few.
    n = 10_000
    ks = jax.random.split(key, 3)
    w2 = 1.0 + 0.2 * jax.random.uniform(ks[0], (n,))
    g = 0.02 + 0.03 * jax.random.uniform(ks[1], (n,))
    P = jnp.stack([jnp.ones(n), w2, g, 0.1 * jnp.ones(n), 0.02 * jnp.ones(n)], axis=1)
    f = jax.jit(jax.vmap(lambda p: steady_state(_chain_system(p))))
    res = f(P)
    assert np.all(np.asarray(res.status) == STATUS_OK)
    # spot-check three points against SciPy
    for i in (0, 17, n - 1):
        s = _chain_system(P[i])
        ref = sl.solve_continuous_lyapunov(np.asarray(s.A), -np.asarray(s.D))
        np.testing.assert_allclose(res.cov[i], ref, rtol=1e-10, atol=1e-13)
    grads = jax.jit(jax.vmap(jax.grad(lambda p: occupations(steady_state(_chain_system(p)).cov)[1])))(
        P[:4])
    assert grads.shape == (4, 5) and np.all(np.isfinite(grads))


# default: kron (the CPU default), the shared CHAIN_COV program (float64 already compiled by
# the gradient check: one float32 compile); Sign in float32: two more compiles, `make test-all`
def test_float32_matches_float64():
    P = P0 + np.eye(5) * EPS
    v64 = CHAIN_COV(P)
    v32 = CHAIN_COV(P.astype(np.float32))
    assert v32.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(v32), np.asarray(v64), rtol=2e-5, atol=2e-5 * np.abs(v64).max())
    # the steady state itself vs SciPy (float64)
    s = _chain_system(P0)
    ref = sl.solve_continuous_lyapunov(np.asarray(s.A), -np.asarray(s.D))
    np.testing.assert_allclose(CHAIN_COV(P0 + 0 * np.eye(5))[0], ref, rtol=1e-10, atol=1e-13)


# slow: Sign in float32 (two more compiles); kron's float32 stays default in
# test_float32_matches_float64
@pytest.mark.slow
def test_float32_matches_float64_sign():
    p64 = np.array([1.0, 1.1, 0.05, 0.1, 0.02])
    f = jax.jit(lambda p: steady_state(_chain_system(p), SOLVERS["sign"]).cov)
    v64 = f(jnp.asarray(p64))
    v32 = f(jnp.asarray(p64, jnp.float32))
    assert v32.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(v32), np.asarray(v64), rtol=2e-5, atol=2e-5 * np.abs(v64).max())


@pytest.mark.unchecked  # wrong shapes, dtypes and types on purpose
def test_bad_input():
    with pytest.raises(ValueError, match="A must be a square"):
        LinearSystem(np.ones((2, 3)), np.eye(2))
    with pytest.raises(ValueError, match="D must have shape"):
        LinearSystem(-np.eye(2), np.eye(4))
    with pytest.raises(ValueError, match="D must be symmetric"):
        LinearSystem(-np.eye(2), np.array([[1.0, 0.3], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="A must be finite"):
        LinearSystem(np.array([[np.nan, 0], [0, -1.0]]), np.eye(2))
    with pytest.raises(ValueError, match="even size"):
        LinearSystem(-np.eye(3), np.eye(3))
    with pytest.raises(TypeError, match="A must be real"):
        LinearSystem(-np.eye(2) + 0j, np.eye(2))
    with pytest.raises(ValueError, match="A and D must have the same shape"):
        solve_lyapunov(-np.eye(2), np.eye(4))
    # traced NaN: status, not an exception, and neighbours in the batch are unaffected
    A = jnp.stack([-jnp.eye(2), jnp.full((2, 2), jnp.nan)])
    res = jax.jit(jax.vmap(lambda a: steady_state(LinearSystem(a, jnp.eye(2)))))(A)
    assert list(np.asarray(res.status)) == [STATUS_OK, STATUS_NONFINITE]
    np.testing.assert_allclose(res.cov[0], 0.5 * np.eye(2))


def test_physicality_reports_nonreciprocal_without_noise():
    # Non-reciprocal position coupling (paper 001 eq. 80) with too little noise: flagged.
    g, ga, grec = 0.05, 0.04, 0.01
    C = 2 * g * np.array([[0.0, 1.0 + ga / g], [1.0 - ga / g, 0.0]])
    bad = LinearSystem.from_langevin([1.0, 1.0], C, grec * np.eye(2), hbar=1.0, nonreciprocity="from_C")
    rep = physicality(bad)
    assert not bool(rep.is_physical) and float(rep.min_eigenvalue) < -1e-3
    # The same coupling with the matching Im D (eq. 81) and D11 D22 ≥ |D12|² is physical.
    grec = 0.05
    D = np.array([[grec, 0.25j * (C[0, 1] - C[1, 0])], [0, grec]])
    D[1, 0] = np.conj(D[0, 1])
    good = LinearSystem.from_langevin([1.0, 1.0], C, D, hbar=1.0)
    np.testing.assert_allclose(good.A, bad.A, atol=1e-15)
    assert bool(physicality(good).is_physical)
    D[0, 0] = D[1, 1] = 0.01  # |D12|² > D11 D22: not completely positive, reported
    assert not bool(physicality(LinearSystem.from_langevin([1.0, 1.0], C, D, hbar=1.0)).is_physical)
    # quantum_noise completion of a non-Hermitian coupling (paper 004 eq. 1) is physical
    s = from_nonhermitian(np.array([[1.0, 0.4], [0.1, 1.0]]))
    assert bool(physicality(s).is_physical)
    assert float(physicality(s).min_eigenvalue) > -1e-12
    np.testing.assert_allclose(quantum_noise(-0.5 * np.eye(2)), 0.5 * np.eye(2), atol=1e-15)
    # reservoir-engineered completion: same coupling, extra local damping c = λ_max(H_a) = 0.15
    r = from_nonhermitian(np.array([[1.0, 0.4], [0.1, 1.0]]), kind="reservoir")
    assert bool(physicality(r).is_physical)
    np.testing.assert_allclose(r.A - s.A, -0.15 * np.eye(4), atol=1e-12)
    # inconsistent antisymmetric C vs Im D under the default convention raises
    with pytest.raises(ValueError, match="antisymmetric part"):
        LinearSystem.from_langevin([1.0, 1.0], C, np.eye(2) * grec + 0.0j * 1, hbar=1.0)


def test_physicality_under_jit_never_raises():
    s = LinearSystem(jnp.array([[-1.0, 0.0], [0.0, -1.0]]), jnp.zeros((2, 2)))  # damping, no noise
    rep = eqx.filter_jit(physicality)(s)
    assert not bool(rep.is_physical)
    np.testing.assert_allclose(rep.min_eigenvalue, -1.0, rtol=1e-12)


# slow: the reservoir completion (the same derivative identity at the same degeneracy); the
# minimal-noise completion stays default
@pytest.mark.parametrize("kind", ["minimal_noise", pytest.param("reservoir", marks=pytest.mark.slow)])
def test_nonhermitian_completion_gradients_finite_at_degeneracies(kind):
    """Equal local damping makes (i/2)(AΩ + ΩAᵀ) and H_a degenerate; the completions'
    gradients (steady occupation of the target vs the coupling g_ab) must still be finite
    and match central differences."""

    def n_b(g):
        H = jnp.array([[1.0 - 0.3j, 0.1 + 0.0j], [g + 0.0j, 1.0 - 0.3j]])
        s = from_nonhermitian(H, kind=kind)
        s = add_thermal_bath(add_thermal_bath(s, 0, 0.2, 1.0), 1, 0.2, 2.0)
        return occupations(steady_state(s).cov)[1]

    # one program (value and gradient) at the three points of each central difference
    vg = jax.jit(jax.vmap(jax.value_and_grad(n_b)))
    h = 1e-6
    for g0 in (0.1, 0.25):  # g0 = 0.1: H_a degenerate as well (reciprocal coupling)
        n, g = vg(jnp.array([g0, g0 + h, g0 - h]))
        fd = (n[1] - n[2]) / (2 * h)
        assert np.isfinite(g[0])
        np.testing.assert_allclose(g[0], fd, rtol=1e-6, atol=1e-9)
    if kind != "minimal_noise":  # the check below does not depend on `kind`: run it once
        return
    # the Daleckii–Krein derivative of |M| itself vs central differences, degenerate M
    # (one jitted jvp program: its primal output gives the difference quotient's values)
    A = np.asarray(-0.5 * np.eye(4) + 0.0)
    dA = np.random.default_rng(3).normal(size=(4, 4))
    jvp = jax.jit(jax.vmap(lambda a, da: jax.jvp(quantum_noise, (a,), (da,))))
    (qn, jv) = jvp(np.stack([A, A + 1e-6 * dA, A - 1e-6 * dA]), np.stack([dA] * 3))
    fd = (qn[1] - qn[2]) / 2e-6
    assert np.all(np.isfinite(np.asarray(jv[0])))
    np.testing.assert_allclose(jv[0], fd, atol=1e-7)


# ------------------------------------------------ solver objects, results, bad input (issues 15, 20)
def test_deprecated_method_strings_warn_and_agree(rng):
    A, D = _stable(rng, 4), _psd(rng, 4)
    # jitted (the warning is raised while tracing): one compile instead of op-by-op dispatch;
    # the new spelling is the shared LYAP["kron"] program (same jaxpr: bitwise equal)
    with pytest.warns(DeprecationWarning, match="method='kron'"):
        X, _ = jax.jit(lambda a, d: solve_lyapunov(a, d, method="kron"))(A, D)
    np.testing.assert_array_equal(X, LYAP["kron"](A, D)[0])
    with pytest.warns(DeprecationWarning, match="Sign"):  # only the warning is asserted: trace only
        jax.eval_shape(lambda a, d: solve_lyapunov(a, d, method="sign", max_steps=30), A, D)
    import jaxbind.quantum.gaussian as g

    with pytest.warns(DeprecationWarning, match="RESULTS.unstable"):
        assert g.STATUS_UNSTABLE == int(code(RESULTS.unstable))


# slow: steady_state(method='sign') runs eagerly op by op (the deprecated spelling is not
# compiled whole); one deprecated alias stays default in test_deprecated_method_strings_warn_and_agree
@pytest.mark.slow
def test_deprecated_steady_state_method_string():
    s = _chain_system(jnp.array([1.0, 1.1, 0.05, 0.1, 0.02]))
    new = steady_state(s, Sign(max_steps=40)).cov
    with pytest.warns(DeprecationWarning, match="method='sign'"):
        old = steady_state(s, method="sign").cov
    np.testing.assert_array_equal(old, new)


def test_kron_lineax_lu_matches_small_lu_and_scipy(rng):
    """Kron(linear_solver=lineax.LU()) — the default off CPU — against SciPy and the stability
    test (it must be correct on CPU too); its gradient and vmap: test_kron_lineax_lu_grad_vmap."""
    import lineax as lx

    lu = Kron(linear_solver=lx.LU())
    A, D = _stable(rng, 6), _psd(rng, 6)
    solve = jax.jit(lambda a, d: solve_lyapunov(a, d, lu))
    X, ok = solve(A, D)
    np.testing.assert_allclose(X, sl.solve_continuous_lyapunov(A, -D), rtol=1e-10)
    assert bool(ok)
    assert not bool(solve(np.array([[0.1, 1.0], [-1.0, 0.0]]), np.eye(2))[1])


# slow: the implicit gradient and vmap of the lineax-LU path (the same custom JVP and batching
# as Kron()'s, checked by default in test_steady_state_grad_vs_fd[kron]); its forward solve stays
# default in test_kron_lineax_lu_matches_small_lu_and_scipy
@pytest.mark.slow
def test_kron_lineax_lu_grad_vmap():
    import lineax as lx

    lu = Kron(linear_solver=lx.LU())
    p0 = jnp.array([1.0, 1.1, 0.05, 0.1, 0.02])
    f = lambda p, sv: occupations(steady_state(_chain_system(p), sv).cov)[1]  # noqa: E731
    # jitted (one compile per solver instead of op-by-op eager dispatch)
    grad = jax.jit(jax.grad(f))
    np.testing.assert_allclose(grad(p0, lu), grad(p0, Kron()), rtol=1e-9)
    res = jax.jit(jax.vmap(lambda p: steady_state(_chain_system(p), lu)))(jnp.stack([p0, p0 * 1.01]))
    assert np.all(np.asarray(res.status) == STATUS_OK)


def test_unphysical_diffusion_is_reported_not_solved():
    """LinearSystem(−0.1·1 + J, −1): A is Hurwitz but D is negative: no quantum steady state
    (today's Lyapunov solution has n = −5.5). Carries RESULTS.not_physical and NaN; throw
    raises it; in a batch its neighbour is unaffected."""
    J = np.array([[0.0, 1.0], [-1.0, 0.0]])
    bad = LinearSystem(-0.1 * np.eye(2) + J, -np.eye(2))
    assert not bool(physicality(bad).is_physical)
    res = steady_state(bad)
    assert res.result == RESULTS.not_physical and int(res.status) == int(code(RESULTS.not_physical))
    assert np.all(np.isnan(res.cov)) and np.all(np.isnan(res.mean))
    with pytest.raises(Exception, match="not physical"):
        steady_state(bad, throw=True).cov.block_until_ready()
    good = add_thermal_bath(LinearSystem.from_lindblad(np.eye(2)), 0, 0.2, 1.0)
    both = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), good, bad)
    out = jax.jit(jax.vmap(steady_state))(both)
    assert list(np.asarray(out.status)) == [STATUS_OK, int(code(RESULTS.not_physical))]
    np.testing.assert_allclose(occupations(out.cov[0]), [1.0], rtol=1e-12)


@pytest.mark.unchecked  # a bare matrix where a LinearSystem is due, on purpose
def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="system must be a LinearSystem"):
        physicality(np.eye(2))
    with pytest.raises(TypeError, match="system must be a LinearSystem"):
        steady_state(np.eye(2))
    with pytest.raises(TypeError, match="solver must be"):  # a string only as deprecated method=
        steady_state(LinearSystem(-np.eye(2), np.eye(2)), "kron")
    # a covariance below the vacuum (n = −0.49) is not a state
    with pytest.raises(ValueError, match="V is below the vacuum"):
        occupations(0.01 * np.eye(2))
    nan = jax.jit(occupations)(jnp.asarray(0.01 * np.eye(4)).at[2, 2].set(1.0).at[3, 3].set(1.0))
    assert np.isnan(nan[0]) and float(nan[1]) == pytest.approx(0.5)
    from jaxbind.quantum.gaussian import GaussianState, evolve

    with pytest.raises(ValueError, match="cov must be symmetric"):
        GaussianState(None, np.array([[1.0, 0.3], [0.0, 1.0]]))
    s = add_thermal_bath(LinearSystem.from_lindblad(np.eye(2)), 0, 0.2, 1.0)
    with pytest.raises(ValueError, match="ts must be finite"):
        evolve(s, GaussianState.vacuum(1), np.array([0.0, np.nan, 1.0]))


def test_state_methods_on_time_stacked_state():
    """GaussianState.occupations/purity/symplectic_eigenvalues on the (T, n, n) output of
    evolve equal the per-slice values (closed form: thermalisation n(t) = n̄(1 − e^{−κt}))."""
    from jaxbind.quantum.gaussian import GaussianState, evolve
    from jaxbind.quantum.observables import purity, symplectic_eigenvalues

    s = LinearSystem.from_lindblad(np.diag([1.0, 1.0, 1.3, 1.3]))
    s = add_thermal_bath(add_thermal_bath(s, 0, 0.2, 1.5), 1, 0.1, 0.5)
    ts = jnp.array([0.0, 0.5, 2.0])
    st = evolve(s, GaussianState.coherent(np.array([0.3 + 0.1j, -0.2j])), ts)
    assert st.cov.shape == (3, 4, 4)
    occ, pur, nu = st.occupations(), st.purity(), st.symplectic_eigenvalues()
    assert occ.shape == (3, 2) and pur.shape == (3,) and nu.shape == (3, 2)
    for t in range(3):
        one = GaussianState(st.mean[t], st.cov[t])
        np.testing.assert_allclose(occ[t], one.occupations(), rtol=1e-13)
        np.testing.assert_allclose(pur[t], purity(st.cov[t]), rtol=1e-13)
        np.testing.assert_allclose(nu[t], symplectic_eigenvalues(st.cov[t]), rtol=1e-13)
    # independent check: thermal part n̄(1 − e^{−κt}) of each oscillator; ν_j = n_th,j + ½
    nth = np.array([1.5 * (1 - np.exp(-0.2 * ts)), 0.5 * (1 - np.exp(-0.1 * ts))]).T
    np.testing.assert_allclose(np.sort(nu, axis=-1), np.sort(nth + 0.5, axis=-1), rtol=1e-10)
    np.testing.assert_allclose(pur, 1 / np.prod(2 * nth + 1, axis=-1), rtol=1e-10)
