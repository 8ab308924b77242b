"""Whole-program compilation of eager public calls (jaxbind/_entry.py, issue 15 §10)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import monitoring

import jaxbind as jb
from jaxbind import _entry
from jaxbind.optics import green

_COUNT = {"n": 0}


def _on_compile(event, duration, **_):
    if event == "/jax/core/compile/backend_compile_duration":
        _COUNT["n"] += 1


monitoring.register_event_duration_secs_listener(_on_compile)


def _compiles(f):
    n0 = _COUNT["n"]
    jax.block_until_ready(jax.tree_util.tree_leaves(f()))
    return _COUNT["n"] - n0


def test_steady_state_eager_is_one_program_and_throw_raises_on_the_host():
    A = np.array([[-0.1, 1.0], [-1.0, -0.1]])
    sys = jb.LinearSystem(A, 0.2 * np.eye(2))
    # one program, not hundreds of op-by-op compilations (the constructor's ops excluded)
    assert _compiles(lambda: jb.steady_state(sys)) <= 8  # 4 measured (eager: ~700)
    # a second system of the same shape: no compilation at all
    sys2 = jb.LinearSystem(A * 1.1, 0.3 * np.eye(2))
    assert _compiles(lambda: jb.steady_state(sys2)) == 0
    # the compiled program's numbers: SciPy's Lyapunov solution (the op-by-op run of the
    # undecorated kernel, ~150 compilations, is compared in the slow test below)
    import scipy.linalg as sla

    ref = sla.solve_continuous_lyapunov(np.asarray(sys2.A), -np.asarray(sys2.D))
    np.testing.assert_allclose(jb.steady_state(sys2).cov, ref, rtol=1e-12, atol=1e-14)
    unstable = jb.LinearSystem(np.array([[0.1, 1.0], [-1.0, 0.0]]), np.eye(2))
    with pytest.raises(eqx.EquinoxRuntimeError, match="not Hurwitz"):
        jb.steady_state(unstable, throw=True)
    assert not bool(jb.steady_state(unstable).ok)  # throw=False: the code, no raise


# slow: the op-by-op run of the undecorated kernel (~150 compilations); the compiled program
# stays checked by default against SciPy in test_steady_state_eager_is_one_program_and_throw_raises_on_the_host
@pytest.mark.slow
def test_steady_state_compiled_equals_op_by_op():
    sys2 = jb.LinearSystem(np.array([[-0.1, 1.0], [-1.0, -0.1]]) * 1.1, 0.3 * np.eye(2))
    ref = jb.steady_state.__wrapped__(sys2)
    np.testing.assert_allclose(jb.steady_state(sys2).cov, ref.cov, rtol=1e-12, atol=1e-14)


def test_pair_tensor_python_scalar_k_is_traced_and_host_checked():
    r = jnp.array([2e-6, 0.0, 0.0])
    green.green_tensor(r, 5e6)
    assert _compiles(lambda: green.green_tensor(r, 6e6)) == 0  # new k value: no re-trace
    np.testing.assert_allclose(green.green_tensor(r, 6e6), green.green_tensor.__wrapped__(r, 6e6),
                               rtol=1e-6)
    with pytest.raises(eqx.EquinoxRuntimeError, match="coincident"):
        green.green_tensor(jnp.zeros(3), 5e6)
    with pytest.raises(ValueError, match="Re k"):
        green.green_tensor(r, -5e6)


def test_host_checked_core_and_user_jit_have_no_callback_and_keep_the_checks():
    r = jnp.array([2e-6, 0.0, 0.0])
    with _entry._checks_on_host():
        core = jax.jit(green.green_tensor.__wrapped__).lower(r, 5e6).as_text()
    assert "callback" not in core
    # under the user's jit the checks are NaN masks (jaxbind._checks.nan_if), not callbacks
    assert "callback" not in jax.jit(green.green_tensor).lower(r, 5e6).as_text()
    assert np.all(np.isnan(np.asarray(jax.jit(green.green_tensor)(jnp.zeros(3), 5e6))))
