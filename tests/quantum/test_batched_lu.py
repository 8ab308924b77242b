"""Batch-vectorised small LU (jaxbind.quantum.batched_lu) against NumPy/LAPACK."""

import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest

from jaxbind.quantum import batched_lu as bl
from jaxbind.quantum.lyapunov import _sym_kron_builder


def _hard_matrices(rng, B, m):
    """Random matrices that need pivoting: zero diagonal, tiny leading entries."""
    M = rng.standard_normal((B, m, m))
    M[:, np.arange(m), np.arange(m)] = 0.0
    M[::3, 0, 0] = 1e-14
    return M


# slow: trans=True (the transposed solve stays covered by default through reverse mode in
# test_small_lu_lineax_gradients_match_dense_autodiff); trans=False stays default
@pytest.mark.parametrize("trans", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_vmap_matches_lapack_with_pivoting(trans):
    rng = np.random.default_rng(0)
    B, m = 300, 9  # > BLOCK (256): exercises the blocked, padded path
    M = _hard_matrices(rng, B, m)
    R = rng.standard_normal((B, m, 3))
    X = jax.jit(jax.vmap(lambda M, R: bl.solve_small(M, R, trans=trans)))(M, R)
    Mt = np.swapaxes(M, 1, 2) if trans else M
    ref = np.linalg.solve(Mt, R)
    # backward-stable like getrf: residual at rounding level relative to |M||X|
    res = np.abs(np.einsum("bij,bjk->bik", Mt, np.asarray(X)) - R).max()
    assert res < 1e-12 * np.abs(M).max() * np.abs(ref).max()
    np.testing.assert_allclose(X, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())


def test_unbatched_vector_rhs_and_mixed_batching():
    rng = np.random.default_rng(1)
    M = _hard_matrices(rng, 1, 6)[0]
    b = rng.standard_normal(6)
    np.testing.assert_allclose(jax.jit(bl.solve_small)(M, b), np.linalg.solve(M, b), rtol=1e-11)
    # batched right-hand sides, one matrix (in_batched = (False, True)), and nested vmap
    bs = rng.standard_normal((4, 5, 6))
    X = jax.jit(jax.vmap(jax.vmap(lambda v: bl.solve_small(M, v))))(bs)
    np.testing.assert_allclose(X, np.linalg.solve(M, bs[..., None])[..., 0], rtol=1e-10)


def test_small_lu_lineax_gradients_match_dense_autodiff():
    rng = np.random.default_rng(2)
    M0 = jnp.asarray(_hard_matrices(rng, 5, 5))
    b0 = jnp.asarray(rng.standard_normal((5, 5)))

    def ours(M, b):
        return lx.linear_solve(lx.MatrixLinearOperator(M), b, bl.SmallLU()).value

    def ref(M, b):
        return jnp.linalg.solve(M, b)

    f = lambda g: jax.vmap(lambda M, b: jnp.sum(jnp.sin(g(M, b))))  # noqa: E731
    def both(M, b):  # ours and the dense reference, reverse (wrt M and b) and forward mode
        grads = [jax.grad(lambda M, b: f(g)(M, b).sum(), argnums=(0, 1))(M, b) for g in (ours, ref)]
        jacs = [jax.jacfwd(lambda m: g(m, b[0]))(M[0]) for g in (ours, ref)]
        return grads, jacs

    (go, gr), (jo, jr) = jax.jit(both)(M0, b0)  # one program (eager: op by op)
    for argnum in (0, 1):
        np.testing.assert_allclose(go[argnum], gr[argnum], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(jo, jr, rtol=1e-8, atol=1e-10)


def test_singular_gives_nonfinite_not_garbage():
    M = np.ones((2, 4, 4))
    X = jax.jit(jax.vmap(bl.solve_small))(M, np.ones((2, 4)))
    assert not np.all(np.isfinite(np.asarray(X)))


def test_positive_definite_vs_eigenvalues():
    rng = np.random.default_rng(3)
    Q = rng.standard_normal((600, 5, 5))
    Y = Q @ np.swapaxes(Q, 1, 2) + np.linspace(-1.0, 1.0, 600)[:, None, None] * np.eye(5)
    ref = np.linalg.eigvalsh(Y)[:, 0] > 0
    got = np.asarray(jax.jit(jax.vmap(bl.positive_definite))(Y))
    np.testing.assert_array_equal(got, ref)
    pd3 = jax.jit(bl.positive_definite)  # one program for both 3 × 3 cases (eager: op by op)
    assert bool(pd3(np.eye(3)))
    assert not bool(pd3(np.full((3, 3), np.nan)))


def test_sym_kron_builder_is_the_lyapunov_operator():
    rng = np.random.default_rng(4)
    n = 4
    A = rng.standard_normal((n, n))
    S = rng.standard_normal((n, n))
    X = S + S.T
    iu = np.triu_indices(n)
    K = np.asarray(_sym_kron_builder(jnp.asarray(A)[..., None], False))[..., 0]
    np.testing.assert_allclose(K @ X[iu], (A @ X + X @ A.T)[iu], rtol=1e-12)
    Kt = np.asarray(_sym_kron_builder(jnp.asarray(A)[..., None], True))[..., 0]
    np.testing.assert_array_equal(Kt, K.T)


def test_float32_agrees_with_float64():
    rng = np.random.default_rng(5)
    M = rng.standard_normal((50, 8, 8)) + 4 * np.eye(8)
    R = rng.standard_normal((50, 8))
    solve = jax.jit(jax.vmap(bl.solve_small))  # one compile per dtype (eager: op by op)
    x64 = solve(M, R)
    x32 = solve(M.astype(np.float32), R.astype(np.float32))
    assert x32.dtype == jnp.float32
    np.testing.assert_allclose(x32, x64, rtol=2e-4, atol=2e-5)


def _kron_case(n=4):
    """Three stable (n, n) drifts A, three diffusions D (asymmetric on purpose) and the
    generator that made them (the slow Kron JVP checks below share them)."""
    rng = np.random.default_rng(6)
    A = rng.standard_normal((3, n, n)) - 2.5 * np.eye(n)
    D = rng.standard_normal((3, n, n))
    return A, D, rng


# slow: the kron solve's custom JVP stays checked by default against central differences through
# steady_state (tests/quantum/test_gaussian.py::test_steady_state_grad_vs_fd[kron], A and D both
# depend on the parameters there) and SmallLU's gradients in test_small_lu_lineax_gradients_match_dense_autodiff
@pytest.mark.slow
def test_kron_lyapunov_gradients_wrt_A_and_D_vs_central_differences():
    # custom JVP of the batched kron solve: forward and reverse mode, under vmap, for
    # asymmetric perturbations of D (only its symmetric part enters) and of A
    from jaxbind.quantum.lyapunov import solve_lyapunov
    from jaxbind.solvers import Kron

    A, D, rng = _kron_case()
    n = A.shape[-1]
    W = rng.standard_normal((n, n))

    def f(A, D):
        return jnp.sum(W * solve_lyapunov(A, D, Kron())[0])

    gA, gD = jax.jit(jax.vmap(jax.grad(f, argnums=(0, 1))))(A, D)
    fj = jax.jit(f)  # the 72 difference quotients: one compile instead of 144 eager calls
    eps = 1e-6
    for b in range(3):
        for (i, j) in ((0, 1), (2, 2), (3, 0)):
            E = np.zeros((n, n))
            E[i, j] = eps
            fdA = (fj(A[b] + E, D[b]) - fj(A[b] - E, D[b])) / (2 * eps)
            fdD = (fj(A[b], D[b] + E) - fj(A[b], D[b] - E)) / (2 * eps)
            np.testing.assert_allclose(gA[b, i, j], fdA, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(gD[b, i, j], fdD, rtol=1e-6, atol=1e-9)


# slow: forward vs reverse Jacobian of the same custom JVP (reverse mode stays checked against
# central differences by default through steady_state in test_gaussian.py::test_steady_state_grad_vs_fd)
@pytest.mark.slow
def test_kron_lyapunov_jacfwd_equals_jacrev():
    from jaxbind.quantum.lyapunov import solve_lyapunov
    from jaxbind.solvers import Kron

    A, D, _ = _kron_case()
    jf = jax.jit(jax.jacfwd(lambda a: solve_lyapunov(a, D[0], Kron())[0]))(A[0])
    jr = jax.jit(jax.jacrev(lambda a: solve_lyapunov(a, D[0], Kron())[0]))(A[0])
    np.testing.assert_allclose(jf, jr, rtol=1e-9, atol=1e-12)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="M must be a square"):
        bl.solve_small(np.ones((3, 4)), np.ones(3))
    with pytest.raises(ValueError, match="matching R"):
        bl.solve_small(np.eye(3), np.ones(4))
    with pytest.raises(ValueError, match="R must be a real"):
        bl.solve_small(np.eye(3), np.ones(3, complex))
    with pytest.raises(ValueError, match="M must be real"):
        bl.solve_small(np.eye(3, dtype=complex), np.ones(3))
    with pytest.raises(ValueError, match="real operators only"):
        lx.linear_solve(lx.MatrixLinearOperator(jnp.eye(2, dtype=complex)), jnp.ones(2, complex),
                        bl.SmallLU())
