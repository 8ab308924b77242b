"""Tests of the optax loop and constraints: closed-form optima (quadratic, Rosenbrock),
trainable filters, restarts, tolerances, non-finite stops, reparametrizations, projections."""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxbind.results import RESULTS, code
from jaxbind.workflows.design.constraints import (
    Bounded,
    Constrained,
    MinDistance,
    Passive,
    Periodic,
    Positive,
    SpacedChain,
    check_min_distance_feasible,
    constrained,
    min_distance_penalty,
    project_imag_nonnegative,
    project_passive,
    resolve,
    wrap_phase,
)
from jaxbind.workflows.design.optimize import (
    OptimizationWarning,
    optimize,
    optimize_restarts,
    trainable_mask,
    trainable_only,
)


def rosenbrock(p):
    return (1 - p["x"]) ** 2 + 100 * (p["y"] - p["x"] ** 2) ** 2


class Quad(eqx.Module):
    a: jax.Array
    b: jax.Array
    n: int = eqx.field(static=True, default=3)


def test_quadratic_exact_minimum_and_history():
    # L = ½ (x − c)ᵀ H (x − c): minimum at c, loss 0
    H = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    c = jnp.array([0.7, -1.3])
    loss = lambda x: 0.5 * (x - c) @ H @ (x - c)  # noqa: E731
    r = optimize(loss, jnp.zeros(2), optax.sgd(0.2), 300)
    np.testing.assert_allclose(r.params, c, rtol=1e-10)
    assert bool(r.result == RESULTS.successful) and not bool(r.converged) and int(r.n_steps) == 300
    assert r.loss_history.shape == (300,) and r.grad_norm_history.shape == (300,)
    # first history entries are the loss/gradient at the start, computed by hand
    np.testing.assert_allclose(r.loss_history[0], loss(jnp.zeros(2)), rtol=1e-12)
    np.testing.assert_allclose(r.grad_norm_history[0], jnp.linalg.norm(H @ c), rtol=1e-12)
    assert np.all(np.diff(np.asarray(r.loss_history)) <= 1e-15)  # gradient descent on a convex quadratic


def test_rosenbrock_adam_scan_and_lbfgs_while():
    p0 = {"x": jnp.array(-1.2), "y": jnp.array(1.0)}
    r = optimize(rosenbrock, p0, optax.adam(2e-2), 4000)
    np.testing.assert_allclose([r.params["x"], r.params["y"]], [1.0, 1.0], atol=2e-3)
    r = optimize(rosenbrock, p0, optax.lbfgs(), 500, gtol=1e-9)
    assert bool(r.result == RESULTS.successful) and bool(r.converged) and int(r.n_steps) < 500
    np.testing.assert_allclose([r.params["x"], r.params["y"]], [1.0, 1.0], atol=1e-8)
    assert np.all(np.isnan(np.asarray(r.loss_history)[int(r.n_steps) + 1:]))


def test_args_are_traced_no_recompile():
    loss = lambda x, c: jnp.sum((x - c) ** 2)  # noqa: E731
    opt = optax.adam(0.1)
    r1 = optimize(loss, jnp.zeros(3), opt, 400, args=jnp.array([1.0, 2.0, 3.0]))
    n1 = jax.tree_util.tree_leaves(r1)  # noqa: F841
    r2 = optimize(loss, jnp.zeros(3), opt, 400, args=jnp.array([-1.0, 0.5, 0.0]))
    np.testing.assert_allclose(r1.params, [1, 2, 3], atol=1e-6)
    np.testing.assert_allclose(r2.params, [-1, 0.5, 0], atol=1e-6)


def test_trainable_filter_module_and_only():
    q = Quad(a=jnp.array([5.0, 5.0]), b=jnp.array(2.0))
    loss = lambda m: jnp.sum((m.a - m.b) ** 2) + (m.b - 1.0) ** 2  # noqa: E731
    r = optimize(loss, q, optax.adam(0.05), 1500, trainable=trainable_only(q, lambda m: m.a))
    np.testing.assert_allclose(r.params.a, [2.0, 2.0], atol=1e-5)
    assert float(r.params.b) == 2.0 and r.params.n == 3
    r = optimize(loss, q, optax.adam(0.05), 1500, trainable=Quad(a=False, b=True))
    np.testing.assert_allclose(r.params.a, [5.0, 5.0])
    # the optimum of (5 − b)²·2 + (b − 1)² is b = 11/3
    np.testing.assert_allclose(r.params.b, 11.0 / 3.0, atol=1e-5)
    with pytest.raises(ValueError, match="no trainable"):
        optimize(loss, q, optax.adam(0.05), 10, trainable=lambda x: False)


def test_integer_leaves_never_trained_and_complex_leaf():
    p = {"z": jnp.array(0.0 + 0.0j), "k": jnp.array(3)}
    r = optimize(lambda q: jnp.abs(q["z"] - (1 + 2j)) ** 2 + q["k"], p, optax.adam(5e-2), 600)
    np.testing.assert_allclose(r.params["z"], 1 + 2j, atol=1e-6)
    assert int(r.params["k"]) == 3
    assert trainable_mask(p) == {"z": True, "k": False}


def test_restarts_pick_global_minimum():
    # f(x) = x⁴ − 3x² + x: local minimum near x = 1.13, global near x = −1.30
    f = lambda x: x**4 - 3 * x**2 + x  # noqa: E731
    init = lambda k: jax.random.uniform(k, (), minval=-2.0, maxval=2.0)  # noqa: E731
    r = optimize_restarts(f, init, optax.adam(0.02), 800, n_restarts=16, key=jax.random.PRNGKey(1))
    xs = np.roots([4, 0, -6, 1])
    xg = min(xs.real, key=lambda x: x**4 - 3 * x**2 + x)
    np.testing.assert_allclose(r.params, xg, atol=1e-6)
    assert r.restart_losses.shape == (16,) and r.all_params.shape == (16,)
    assert float(r.loss) == pytest.approx(float(jnp.min(r.restart_losses)))
    # both basins were found by some restarts
    assert np.any(np.asarray(r.all_params) > 0.5) and np.any(np.asarray(r.all_params) < -0.5)
    # batched init given directly (one compiled program, same answer per start)
    batch = jnp.array([-1.0, 1.0])
    r2 = optimize_restarts(f, batch, optax.adam(0.02), 800)
    assert int(r2.best_restart) == 0


def test_nonfinite_loss_stops_with_last_good_params():
    f = lambda x: jnp.where(x > 3.0, jnp.nan, (x - 10.0) ** 2)  # noqa: E731
    with pytest.warns(OptimizationWarning, match="non-finite"):
        r = optimize(f, jnp.array(0.0), optax.sgd(0.1), 50)
    # sgd: 0 → 2 → 3.6 (NaN): the last finite point is 2
    assert bool(r.result == RESULTS.nonfinite) and not bool(r.ok)
    assert float(r.params) == pytest.approx(2.0) and float(r.loss) == pytest.approx(64.0)
    assert int(r.n_steps) == 2 and "non-finite" in r.message
    with pytest.raises(FloatingPointError, match="non-finite"):
        optimize(f, jnp.array(0.0), optax.sgd(0.1), 50, throw=True)


def test_bad_settings():
    with pytest.raises(ValueError, match="steps"):
        optimize(lambda x: x**2, jnp.array(1.0), optax.sgd(0.1), 0)
    with pytest.raises(ValueError, match="loop"):
        optimize(lambda x: x**2, jnp.array(1.0), optax.sgd(0.1), 5, loop="for")
    with pytest.raises(ValueError, match="gtol"):
        optimize(lambda x: x**2, jnp.array(1.0), optax.sgd(0.1), 5, gtol=-1.0)
    with pytest.raises(TypeError, match="optimizer"):
        optimize(lambda x: x**2, jnp.array(1.0), "adam", 5)
    with pytest.raises(ValueError, match="scalar"):
        optimize(lambda x: x**2, jnp.ones(2), optax.sgd(0.1), 5)


def test_reparametrizations():
    b = Bounded(1.0, 3.0)
    p = Positive(0.5)
    ch = SpacedChain(1.0)
    pas = Passive()
    a0 = np.array(0.3 + 0.5j)

    @jax.jit
    def values():  # every transform in one compiled program (eagerly: ~50 tiny programs)
        return (b.forward(b.inverse(jnp.array([1.5, 2.9]))), p.forward(p.inverse(jnp.array([0.6, 40.0]))),
                Periodic().forward(jnp.array([7.0, -4.0])), ch.forward(jnp.array([-30.0, 0.0, 30.0])),
                ch.forward(ch.inverse(jnp.array([0.0, 1.5, 4.0]))),
                pas.forward(jax.random.normal(jax.random.PRNGKey(0), (500, 2)) * 3),
                pas.forward(pas.inverse(jnp.asarray(a0))))

    fb, fp, fper, x, fch, a, fpas = values()
    np.testing.assert_allclose(fb, [1.5, 2.9], rtol=1e-12)
    np.testing.assert_allclose(fp, [0.6, 40.0], rtol=1e-12)
    np.testing.assert_allclose(fper, [7.0 - 2 * np.pi, -4.0 + 2 * np.pi], rtol=1e-12)
    assert np.all(np.diff(np.asarray(x)) >= 1.0)
    np.testing.assert_allclose(fch, [0.0, 1.5, 4.0], rtol=1e-12)
    assert np.all(np.imag(a) > (2 / 3) * np.abs(a) ** 2)
    np.testing.assert_allclose(fpas, a0, rtol=1e-12)
    # infeasible starting values and bounds are rejected before optimizing
    with pytest.raises(ValueError, match="low < high"):
        Bounded(2.0, 1.0)
    with pytest.raises(ValueError, match="outside"):
        constrained(jnp.array(5.0), b)
    with pytest.raises(ValueError, match="passive"):
        pas.inverse(jnp.array(1.0 + 0.1j))
    with pytest.raises(ValueError, match="d_max > d_min"):
        SpacedChain(2.0, 1.0)


def test_bounded_power_optimum_on_the_boundary():
    # unconstrained optimum P = 2 lies outside (0, 1): the reparametrised run approaches 1
    p = {"P": constrained(jnp.array(0.5), Bounded(0.0, 1.0))}
    r = optimize(lambda q: (q["P"] - 2.0) ** 2, p, optax.adam(0.1), 500)
    assert 0.99 < float(r.value["P"]) < 1.0
    assert isinstance(r.params["P"], Constrained)
    assert float(r.params["P"].transform.high) == 1.0  # bounds are never trained


def test_min_distance_projection_and_feasibility():
    md = MinDistance(1.0, 6, box=((0.0, 0.0), (3.0, 2.0)))
    x = np.random.default_rng(0).uniform(size=(6, 2)) * 0.2  # all crowded together
    y = jax.jit(md)(x)  # one program (eagerly the projection ran op by op)
    d = np.linalg.norm(np.asarray(y)[:, None] - np.asarray(y)[None], axis=-1)
    assert d[np.triu_indices(6, 1)].min() >= 1.0 - 1e-6
    assert np.all(np.asarray(y) >= 0) and np.all(np.asarray(y) <= [3.0, 2.0])
    # projection inside the loop: pull 4 points to the origin, keep them ≥ 1 apart
    r = optimize(lambda p: jnp.sum(p**2), np.random.default_rng(1).normal(size=(4, 2)), optax.adam(0.05), 400,
                 project=MinDistance(1.0, 4))
    d = np.linalg.norm(np.asarray(r.params)[:, None] - np.asarray(r.params)[None], axis=-1)
    assert d[np.triu_indices(4, 1)].min() >= 1.0 - 1e-6
    # 1-D: 4 points 1 apart need a box of length ≥ 3 (exact bound)
    check_min_distance_feasible(4, 1.0, ((0.0,), (3.0,)))
    with pytest.raises(ValueError, match="infeasible"):
        MinDistance(1.0, 4, box=((0.0,), (2.9,)))
    with pytest.raises(ValueError, match="infeasible"):
        MinDistance(1.0, 50, box=((0.0, 0.0), (3.0, 3.0)))
    assert float(jax.jit(min_distance_penalty)(np.array([[0.0, 0.0], [5.0, 0.0]]), 1.0)) < 1e-10


def test_passive_projection():
    a = np.array([2.0 + 0.0j, 0.1 + 0.5j, -1.0 - 1.0j])
    pa, pi, w = jax.jit(lambda a: (project_passive(a), project_imag_nonnegative(a),
                                   wrap_phase(jnp.array(3 * np.pi))))(a)  # one program
    assert np.all(np.imag(pa) >= (2 / 3) * np.abs(pa) ** 2 - 1e-12)
    np.testing.assert_allclose(pa[1], a[1])  # already passive: unchanged
    np.testing.assert_allclose(pi, [2.0, 0.1 + 0.5j, -1.0])
    np.testing.assert_allclose(w, -np.pi, rtol=1e-12)


def test_resolve_nested_and_float32():
    tree = {"a": constrained(jnp.array(0.25, jnp.float32), Bounded(0.0, 1.0)), "b": jnp.ones(2, jnp.float32)}
    out = resolve(tree)
    assert out["a"].dtype == jnp.float32
    np.testing.assert_allclose(out["a"], 0.25, rtol=1e-6)
    r = optimize(lambda p: (p["a"] - 0.75) ** 2 + jnp.sum(p["b"] ** 2), tree, optax.adam(0.05), 400)
    assert r.params["b"].dtype == jnp.float32
    np.testing.assert_allclose(r.value["a"], 0.75, atol=1e-4)


def test_progress_bar_ordered(capsys):
    r = optimize(lambda x: (x - 1.0) ** 2, jnp.array(0.0), optax.adam(0.1), 200, progress=True,
                 progress_every=50)
    err = capsys.readouterr().err
    assert "200/200" in err
    np.testing.assert_allclose(r.params, 1.0, atol=1e-3)


def test_restart_with_nonfinite_members_warns_and_selects_finite():
    f = lambda x: jnp.where(x < 0, jnp.nan, (x - 1.0) ** 2)  # noqa: E731
    with pytest.warns(OptimizationWarning, match="some restarts"):
        r = optimize_restarts(f, jnp.array([-1.0, 0.5, 3.0]), optax.adam(0.05), 300)
    assert int(r.restart_results._value[0]) == int(code(RESULTS.nonfinite)) and np.isinf(r.restart_losses[0])
    np.testing.assert_allclose(r.params, 1.0, atol=1e-3)
