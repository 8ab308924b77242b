"""Transform safety net (issue 15 §8): every public kernel of ``tests/kernel_registry.py``
under jit, vmap, grad, vmap∘grad and float32, plus no re-trace inside ``jb.sweep``.

Checks, per registry entry (float64 unless stated):

* ``jit``: ``jax.jit(f)(x) == f(x)`` called eagerly (op by op), rtol 1e-10.
* ``vmap``: ``vmap(f)`` over a leading axis of two points == the two single calls.
* ``grad``: ∇L of the real loss L = Σ w·Re(out)/s + w'·Im(out)/s (fixed random weights, s the
  leaf's scale) against a central finite difference along three random directions.
* ``vmap_grad``: ``vmap(grad L)`` == the stacked single gradients.
* ``f32``: with float32 inputs every inexact output stays float32/complex64 (no silent
  promotion) and agrees with float64 to ``f32_rtol`` (max |Δ| / max |ref| per leaf, 1e-5
  unless the registry documents why physics forbids it); integer outputs (codes) are equal.

Compiled programs are cached per (kernel, transform) so each is compiled once per session.

Default suite vs ``make test-all`` (issue 20 §3: one XLA compilation per program is the cost):
by default ``test_transforms_in_one_program`` checks jit, vmap, grad and float32 for each
representative kernel of ``kernel_registry.DEFAULT`` (one per family: green_tensor,
mie_coefficients, tweezer_fields, optical_forces, linearize_far_field, steady_state,
cooling_steady_state; optical_forces and steady_state, whose program alone costs ≳ 5 CPU-s,
in ``make test-all``: their family files check them by default) in ONE compiled program per
kernel (the kernel vmapped over the base point, a second point and the finite-difference
points, the unbatched value-and-gradient at the base point and the float32 call); the five
separate per-check tests (including jit vs the eager call, whose op-by-op dispatch compiles
many small programs) run for every registry kernel in ``make test-all`` (marked ``slow``). The no-re-trace
sweep check runs by default for ``green_tensor`` only (the others: slow). Each family's own
test file keeps its own jit/vmap/grad/float32 checks by default.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxbind as jb

from kernel_registry import REGISTRY, Kernel, in_default

CHECKS = ("jit", "vmap", "grad", "vmap_grad", "f32")


def _params(check):
    out = []
    for name, k in REGISTRY.items():
        # every kernel's separate per-check test runs in `make test-all`; the default suite
        # covers each check for the representatives (kernel_registry.DEFAULT) in
        # test_transforms_in_one_program, and each family's own test file keeps its own
        marks = [pytest.mark.slow]
        if check in k.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=k.xfail[check]))
        if check in ("grad", "vmap_grad") and not k.grad:
            continue
        out.append(pytest.param(name, marks=marks, id=name))
    return out


def _leaves(out):
    """[(path string, leaf)] of the output pytree."""
    return [(jax.tree_util.keystr(p), v) for p, v in jax.tree_util.tree_flatten_with_path(out)[0]]


def _inexact(k: Kernel, out):
    return [(p, v) for p, v in _leaves(out)
            if jnp.issubdtype(jnp.asarray(v).dtype, jnp.inexact) and not any(i in p for i in k.ignore)]


def _assert_close(k, a, b, *, rtol, what):
    la, lb = _leaves(a), _leaves(b)
    assert [p for p, _ in la] == [p for p, _ in lb], f"{k.name}: {what}: output structures differ"
    for (p, x), (_, y) in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape, f"{k.name}{p}: {what}: shapes {x.shape} vs {y.shape}"
        if not np.issubdtype(x.dtype, np.inexact):
            np.testing.assert_array_equal(x, y, err_msg=f"{k.name}{p}: {what}")
        elif not any(i in p for i in k.ignore):
            scale = max(float(np.max(np.abs(y))), np.finfo(np.float64).tiny) if y.size else 1.0
            np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * scale, err_msg=f"{k.name}{p}: {what}")


@functools.cache
def _jit(name):
    return jax.jit(REGISTRY[name].fn)


@functools.cache
def _x(name, dtype=jnp.float64):
    return jnp.asarray(REGISTRY[name].x0, dtype)


@functools.cache
def _ref(name):
    """float64 jitted output at the base point (shared by several checks)."""
    return jax.block_until_ready(_jit(name)(_x(name)))


def _stack(name):
    """Two points: x0 and a 1 % perturbation of it (same structure, different values)."""
    x = _x(name)
    d = jnp.asarray(np.random.default_rng(1).uniform(-1.0, 1.0, x.shape))
    return jnp.stack([x, x * (1 + 0.01 * d) + 0.001 * d])


@functools.cache
def _loss(name):
    """A real scalar loss of the kernel's inexact outputs: fixed random weights per leaf,
    each leaf scaled by its float64 magnitude at x0 so all outputs count. Returns
    (loss of an output pytree, jitted gradient in x)."""
    k = REGISTRY[name]
    ref = _inexact(k, _ref(name))
    rng = np.random.default_rng(7)
    weights = {p: (rng.standard_normal(np.shape(v)), rng.standard_normal(np.shape(v)),
                   1.0 / max(float(np.max(np.abs(np.asarray(v)))), 1e-300)) for p, v in ref}

    def of_output(out, xnp=jnp):
        tot = 0.0
        for p, v in _inexact(k, out):
            wr, wi, s = weights[p]
            tot = tot + s * xnp.sum(wr * xnp.real(v)) + s * xnp.sum(wi * xnp.imag(v))
        return tot

    return of_output, jax.jit(jax.grad(lambda x: of_output(k.fn(x))))


@pytest.mark.parametrize("name", _params("jit"))
def test_jit_matches_eager(name):
    k = REGISTRY[name]
    eager = k.fn(_x(name))
    _assert_close(k, _ref(name), eager, rtol=1e-10, what="jit vs eager")


@pytest.mark.parametrize("name", _params("vmap"))
def test_vmap_matches_single_calls(name):
    k = REGISTRY[name]
    X = _stack(name)
    batched = jax.jit(jax.vmap(k.fn))(X)
    singles = [_jit(name)(X[i]) for i in range(X.shape[0])]
    stacked = jax.tree.map(lambda *v: jnp.stack(v), *singles)
    _assert_close(k, batched, stacked, rtol=1e-10, what="vmap vs stacked single calls")


@pytest.mark.parametrize("name", _params("grad"))
def test_grad_matches_finite_differences(name):
    k = REGISTRY[name]
    loss_of, grad = _loss(name)
    x = _x(name)

    def loss(x):  # the forward program is the cached jit: no extra compile
        return loss_of(jax.tree.map(np.asarray, _jit(name)(x)), np)

    g = np.asarray(grad(x))
    assert g.shape == x.shape and np.all(np.isfinite(g)), f"{name}: gradient not finite: {g}"
    rng = np.random.default_rng(3)
    for _ in range(3):
        v = rng.standard_normal(x.shape)
        v /= np.linalg.norm(v)
        h = k.fd_eps
        fd = (loss(x + h * v) - loss(x - h * v)) / (2 * h)
        ad = float(g @ v)
        np.testing.assert_allclose(ad, fd, rtol=k.grad_rtol, atol=k.grad_rtol * np.linalg.norm(g),
                                   err_msg=f"{name}: directional derivative, AD vs central FD")


@pytest.mark.parametrize("name", _params("vmap_grad"))
def test_vmap_grad_matches_single_grads(name):
    k = REGISTRY[name]
    _, grad = _loss(name)
    X = _stack(name)
    batched = jax.jit(jax.vmap(grad))(X)
    singles = jnp.stack([grad(X[i]) for i in range(X.shape[0])])
    _assert_close(k, batched, singles, rtol=1e-9, what="vmap∘grad vs stacked grads")


@pytest.mark.parametrize("name", _params("f32"))
def test_float32_matches_float64(name):
    k = REGISTRY[name]
    assert k.f32_rtol <= 1e-5 or k.f32_reason, f"{name}: a looser float32 tolerance needs a documented reason"
    out32 = _jit(name)(_x(name, jnp.float32))
    for p, v in _leaves(out32):
        dt = jnp.asarray(v).dtype
        assert dt not in (jnp.float64, jnp.complex128, jnp.int64), f"{name}{p}: float32 inputs gave {dt}"
    _assert_close(k, out32, _ref(name), rtol=k.f32_rtol, what="float32 vs float64")


# --------------------------------------------------------------------------------------
# the default suite: all five checks in one compiled program per representative kernel
# --------------------------------------------------------------------------------------

FD_DIRECTIONS = 3
ONE_PROGRAM = ("jit", "vmap", "grad", "f32")  # the checks of test_transforms_in_one_program


# Representatives whose one program alone costs ≳ 5 CPU-s (measured): slow here; their
# default jit/vmap/grad/float32 coverage is their family's own test file:
ONE_PROGRAM_SLOW = {
    "optical_forces": "tests/optics/test_forces.py::test_vmap_grad_and_sweep_status, test_float32_matches_float64",
    "steady_state": "tests/quantum/test_gaussian.py::test_vmap_jit_grad_many_systems, "
                    "test_steady_state_grad_vs_fd, test_float32_matches_float64",
}


def _one_program_params():
    out = []
    for name in REGISTRY:
        if not in_default(name):
            continue
        k = REGISTRY[name]
        marks = [pytest.mark.xfail(strict=True, reason="; ".join(k.xfail[c] for c in ONE_PROGRAM if c in k.xfail))] \
            if any(c in k.xfail for c in ONE_PROGRAM) else []
        if name in ONE_PROGRAM_SLOW:  # default coverage: ONE_PROGRAM_SLOW[name]
            marks.append(pytest.mark.slow)
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.parametrize("name", _one_program_params())
def test_transforms_in_one_program(name):
    """jit, vmap, grad and float32 ≈ float64 of one registry kernel, with the same tolerances
    as the separate checks, from ONE compiled program:

    * ``vmap`` of the kernel over the rows x0, x1 (a 1 % perturbation) and x0 ± h·v_i (three
      random unit directions);
    * the unbatched outputs and ∇L at x0 (``jax.value_and_grad``);
    * the float32 outputs at x0.

    vmap: the batched row x0 == the unbatched call (rtol 1e-10) and rows x0, x1 differ;
    grad: ∇L(x0)·v_i == central differences of L over the batched rows; float32: dtypes stay
    32-bit and outputs agree with float64 to ``f32_rtol``. L is the loss of ``_loss`` (its
    weights are arguments: the program is compiled once and called twice, first to measure
    the output scales that normalise them). vmap∘grad (a program about as large as the rest
    together) is checked per kernel in ``make test-all`` (test_vmap_grad_matches_single_grads)."""
    k = REGISTRY[name]
    x0 = np.asarray(k.x0, np.float64)
    rng = np.random.default_rng(3)
    V = rng.standard_normal((FD_DIRECTIONS, x0.size))
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    d = np.random.default_rng(1).uniform(-1.0, 1.0, x0.shape)  # as _stack
    x1 = x0 * (1 + 0.01 * d) + 0.001 * d
    h = k.fd_eps
    X = np.stack([x0, x1] + [x0 + s * h * v for v in V for s in (1, -1)])

    shapes = jax.eval_shape(k.fn, jax.ShapeDtypeStruct(x0.shape, jnp.float64))
    inexact = [(p, v) for p, v in _leaves(shapes)
               if jnp.issubdtype(v.dtype, jnp.inexact) and not any(i in p for i in k.ignore)]

    def loss(out, W):
        tot = 0.0
        for p, v in _inexact(k, out):
            wr, wi = W[p]
            tot = tot + jnp.sum(wr * jnp.real(v)) + jnp.sum(wi * jnp.imag(v))
        return tot

    @jax.jit
    def program(X, W):
        batched = jax.vmap(k.fn)(X)
        if k.grad:
            g, single = jax.grad(lambda y: (lambda o: (loss(o, W), o))(k.fn(y)), has_aux=True)(X[0])
        else:
            g, single = jnp.zeros_like(X[0]), k.fn(X[0])
        out32 = k.fn(X[0].astype(jnp.float32))
        return batched, single, g, out32

    w_rng = np.random.default_rng(7)
    raw = {p: (w_rng.standard_normal(v.shape), w_rng.standard_normal(v.shape)) for p, v in inexact}
    zeros = {p: (np.zeros(v.shape), np.zeros(v.shape)) for p, v in inexact}
    _, ref, _, _ = program(X, zeros)  # output scales at x0 (same program, no re-compile)
    scale = {p: 1.0 / max(float(np.max(np.abs(np.asarray(v)))), 1e-300) for p, v in _inexact(k, ref)}
    W = {p: (wr * scale[p], wi * scale[p]) for p, (wr, wi) in raw.items()}
    out_b, out_0, g_0, out32 = jax.tree.map(np.asarray, program(X, W))

    def L(out):  # the loss in NumPy, of one row's outputs
        return sum(float(np.sum(W[p][0] * np.real(v)) + np.sum(W[p][1] * np.imag(v)))
                   for p, v in _inexact(k, out))

    row = [jax.tree.map(lambda v, i=i: v[i], out_b) for i in range(X.shape[0])]
    _assert_close(k, row[0], out_0, rtol=1e-10, what="vmap vs the single call")
    assert L(row[0]) != L(row[1]), f"{name}: vmap gave the same outputs at two different points"
    if k.grad:
        assert g_0.shape == x0.shape and np.all(np.isfinite(g_0)), f"{name}: gradient not finite: {g_0}"
        for i, v in enumerate(V):
            fd = (L(row[2 + 2 * i]) - L(row[3 + 2 * i])) / (2 * h)
            np.testing.assert_allclose(float(g_0 @ v), fd, rtol=k.grad_rtol,
                                       atol=k.grad_rtol * np.linalg.norm(g_0),
                                       err_msg=f"{name}: directional derivative {i}, AD vs central FD")
    assert k.f32_rtol <= 1e-5 or k.f32_reason, f"{name}: a looser float32 tolerance needs a documented reason"
    for p, v in _leaves(out32):
        assert v.dtype not in (np.float64, np.complex128, np.int64), f"{name}{p}: float32 inputs gave {v.dtype}"
    _assert_close(k, out32, out_0, rtol=k.f32_rtol, what="float32 vs float64")


def test_registry_covers_the_listed_kernels():
    """The kernels named in issue 15 §8 are all registered (guards against silent removal)."""
    required = {
        "green_tensor", "green_matrix", "mie_coefficients", "mie_efficiencies", "dipole_polarizabilities",
        "tweezer_fields", "solve_dipoles_direct", "solve_dipoles_born", "solve_dipoles_gmres",
        "optical_forces", "interparticle_forces", "stiffness_matrix", "pair_forces", "linearize_exact",
        "linearize_far_field", "two_particle_rates", "eigenfrequencies", "steady_state", "evolve",
        "occupations", "log_negativity", "spectrum", "fock_steady_state_dense",
        "fock_steady_state_iterative", "cooling_steady_state", "trap_potential", "binding_potentials",
        "casimir_polder",
    }
    assert required <= set(REGISTRY), sorted(required - set(REGISTRY))


# --------------------------------------------------------------------------------------
# no re-trace inside sweep paths
# --------------------------------------------------------------------------------------

SWEEP_KERNELS = ("green_tensor", "mie_efficiencies", "steady_state", "cooling_steady_state")


def _counted_point(name):
    """A sweep point function of one scalar around the kernel's x0, counting its traces."""
    k = REGISTRY[name]
    x0 = np.asarray(k.x0)
    calls = []

    def point(s):
        calls.append(1)
        return _inexact(k, k.fn(jnp.asarray(x0, s.dtype) * (1 + 0.01 * s)))[0][1]

    return point, calls


# default: green_tensor (the cheapest program: the check is of the sweep driver, not the
# kernel); the other kernels' sweep chunks are further compiles of the same check
# (test_sweep.py::test_one_trace_one_compile_many_chunks covers the driver by default)
@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if n == "green_tensor" else [pytest.mark.slow])
                                  for n in SWEEP_KERNELS])
def test_sweep_traces_once_per_call_across_chunks(name):
    """``jb.sweep`` on a tiny grid cut into three chunks traces the point function once."""
    point, calls = _counted_point(name)
    jb.sweep(point, {"s": np.linspace(-1.0, 1.0, 6)}, chunk_size=2, progress=False)
    assert len(calls) == 1


@pytest.mark.xfail(strict=True, reason="sweep re-traces fn on every call (workflows/sweep/driver.py:159-171: _trace "
                                       "runs jax.make_jaxpr to fingerprint fn before the compiled-evaluator cache "
                                       "is consulted); the compile is cached, the trace is not")
def test_sweep_does_not_retrace_on_a_second_call():
    """Calling ``jb.sweep`` twice with the same function and grid dtypes traces it once in
    total (as ``jax.jit`` does), and gives identical results."""
    point, calls = _counted_point("green_tensor")  # the cheapest kernel: the defect is the driver's
    grid = {"s": np.linspace(-1.0, 1.0, 6)}
    a = jb.sweep(point, grid, chunk_size=2, progress=False)
    b = jb.sweep(point, grid, chunk_size=2, progress=False)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values)
    assert len(calls) == 1, f"traced {len(calls)} times over two sweeps"


# --------------------------------------------------------------------------------------
# defects found while building the registry
# --------------------------------------------------------------------------------------


def test_gmres_success_means_a_small_residual():
    """A dipole solve reported successful has a residual ≤ its rtol (here: atol = 0, a valid
    'relative tolerance only' request; lineax's GMRES returned x = 0 with "successful" and a
    relative residual of 1.0 — the solve now checks the residual itself)."""
    from kernel_registry import _scene

    s = jax.jit(lambda x: jb.solve_dipoles(*_scene(x), jb.GMRES(rtol=1e-10, atol=0.0), throw=False))(
        _x("solve_dipoles_gmres"))
    assert int(s.status) != 0 or float(s.residual) <= 1e-8, (int(s.status), float(s.residual))
