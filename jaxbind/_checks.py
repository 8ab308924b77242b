"""Input validation shared by all modules (docs/architecture.md, "Errors and result codes").

Two kinds of checks:

* structural / concrete-value checks that raise ``ValueError``/``TypeError`` immediately
  (at construction or trace time) with a message naming the argument;
* value checks on traced arrays inside jitted code, through ``eqx.error_if`` — the
  *returned* array must be used, otherwise the check is dead code.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds actual values (not a tracer under jit/vmap/grad)."""
    leaves = jax.tree_util.tree_leaves(x)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def _values(x):
    return np.asarray(x)


def check_positive(name: str, x: Any, *, allow_zero: bool = False) -> None:
    """Raise ``ValueError`` if a concrete ``x`` has a non-positive (or non-finite) entry."""
    if x is None or not is_concrete(x):
        return
    v = _values(x)
    if np.iscomplexobj(v):
        raise TypeError(f"{name} must be real, got a complex value")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite, got {v}")
    bad = v < 0 if allow_zero else v <= 0
    if np.any(bad):
        rel = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be {rel}, got {v}")


def check_finite(name: str, x: Any) -> None:
    """Raise ``ValueError`` if a concrete ``x`` has a non-finite entry."""
    if x is None or not is_concrete(x):
        return
    if not np.all(np.isfinite(_values(x))):
        raise ValueError(f"{name} must be finite, got {_values(x)}")


def check_passive_index(name: str, x: Any) -> None:
    """Raise ``ValueError`` if a concrete complex refractive index is not that of a passive
    medium: Re n > 0 and Im n ≥ 0 (absorption, e^{−iωt} convention)."""
    if x is None or not is_concrete(x):
        return
    v = np.asarray(x)
    if np.any(np.real(v) <= 0):
        raise ValueError(f"{name} must have a positive real part (a passive particle), got {v}")
    if np.any(np.imag(v) < 0):
        raise ValueError(f"{name} must have Im ≥ 0 (absorption; Im < 0 would be gain with the "
                         f"e^(-iωt) convention), got {v}")


def check_shape(name: str, x: Any, shape: tuple) -> None:
    """Raise ``ValueError`` unless ``jnp.shape(x)`` matches ``shape``.

    ``shape`` entries may be ``None`` (any size) or an int.
    """
    s = jnp.shape(x)
    ok = len(s) == len(shape) and all(e is None or e == a for e, a in zip(shape, s))
    if not ok:
        want = "(" + ", ".join("*" if e is None else str(e) for e in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {tuple(s)}")


def error_if_nonfinite(x, name: str):
    """Return ``x`` checked against NaN/inf entries (an error naming ``name`` when concrete,
    all-NaN when traced: :func:`nan_if`, no host callback)."""
    if is_concrete(x):  # NumPy on the host: no eager XLA programs (first-call latency)
        return nan_if(x, not np.all(np.isfinite(np.asarray(x))), f"{name} contains non-finite values")
    return nan_if(x, ~jnp.all(jnp.isfinite(x)), f"{name} contains non-finite values")


def as_float_array(x, name: str):
    """``jnp.asarray`` of a real input; complex input is a ``TypeError`` naming ``name``."""
    a = jnp.asarray(x)
    if jnp.iscomplexobj(a):
        raise TypeError(f"{name} must be real, got dtype {a.dtype}")
    if not jnp.issubdtype(a.dtype, jnp.floating):
        a = a.astype(jnp.result_type(float))
    return a


def nan_if(x, bad, message: str):
    """A value check with no host callback, for kernels without a ``throw`` argument.

    Eager (``bad`` concrete): raise ``eqx.EquinoxRuntimeError(message)`` now if any entry of
    ``bad`` is True (the error an eager ``eqx.error_if`` raises; the message names the
    argument). Traced (under a user's ``jit``/``vmap``/``grad``): return ``x`` with NaN where
    ``bad`` (broadcast; a scalar ``bad`` masks all of ``x``), so that a bad point's outputs
    are NaN and its neighbours in a batch are unaffected — never a finite number computed
    for a substituted input, and no ``eqx.error_if`` host callback (a device→host sync per
    check) in the user's program (docs/architecture.md, "Errors and result codes").
    ``x`` should be inexact (real or complex floating point). The NaN is a Python float, so
    ``x``'s dtype and weak type are kept (a weakly typed default such as ``medium_index=1.0``
    does not turn a float32 program into float64).
    """
    if is_concrete(bad):
        if np.any(np.asarray(bad)):
            raise eqx.EquinoxRuntimeError(message)
        return x
    return jnp.where(bad, float("nan"), x)
