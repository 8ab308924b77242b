"""Public entry points compiled as whole programs when called eagerly (issue 15 §10).

A notebook user pays a kernel's first call at every kernel restart.  Called eagerly, a kernel
written with ``jnp`` ops dispatches op by op, and every op on a new shape/dtype compiles its
own tiny XLA program (hundreds for ``steady_state``); compiled as ONE program it costs one
trace and one compilation, which the persistent cache (:mod:`jaxbind._compilation_cache`)
can then store.

:func:`compiled_entry` wraps a public kernel so that

* an **eager call** (no JAX tracer among the arguments) runs ``eqx.filter_jit`` of the
  kernel: arrays are traced, other leaves (solver objects, strings, Python ints, flags) are
  static.  Python ``float``/``complex`` arguments named in ``scalars`` are passed as arrays,
  so a new value does not re-trace.
* ``throw=True`` in an eager call compiles the kernel's ``throw=False`` form (no
  ``eqx.error_if`` host callback: the program can be cached persistently and lowered for
  any backend) and raises on the host from the returned ``result``
  (``eqx.EquinoxRuntimeError`` with the kernel's message for that RESULTS item).
* ``host_check`` (for kernels without ``throw``): an eager call first checks the concrete
  inputs on the host (raising the kernel's own ``EquinoxRuntimeError``/``ValueError``), then
  runs a program traced with :func:`host_checked` True, in which the kernel's input checks
  add no ``eqx.error_if``: the program has no host callback.
* **under a user's transform** (``jit``/``vmap``/``grad``: a tracer among the arguments) the
  kernel body is traced inline, unchanged; its ``throw=True`` checks stay ``eqx.error_if``
  (the user's choice).

``wrapper.__wrapped__`` is the undecorated kernel.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .results import index, message

__all__ = ["compiled_entry", "host_checked", "raise_on_result"]

_STATE = threading.local()


def host_checked() -> bool:
    """True while the compiled core of a kernel whose inputs the host has already checked is
    traced (:func:`compiled_entry` with ``host_check``): that kernel's input-check helpers
    then skip their ``eqx.error_if``.  Only the kernel's OWN input checks may consult it."""
    return getattr(_STATE, "on", False)


@contextlib.contextmanager
def _checks_on_host():
    prev = host_checked()
    _STATE.on = True
    try:
        yield
    finally:
        _STATE.on = prev


def _has_tracer(tree) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(tree))


def raise_on_result(result, messages: Sequence[str] | None = None,
                    tolerate: Sequence[int] = ()) -> None:
    """Raise ``eqx.EquinoxRuntimeError`` on the host unless a concrete ``result`` (a RESULTS
    item, any batch shape) is successful (or one of the codes in ``tolerate``) everywhere;
    the message is ``messages[code]`` (default: the RESULTS message) of the first failing
    entry."""
    codes = np.atleast_1d(np.asarray(result._value))
    bad = codes[(codes != 0) & ~np.isin(codes, np.asarray(tolerate, codes.dtype))]
    if bad.size == 0:
        return
    c = int(bad[0])
    text = messages[c] if messages is not None else message(c)
    raise eqx.EquinoxRuntimeError(text)


def compiled_entry(fn: Callable | None = None, *, scalars: Sequence[str] = (),
                   messages: Sequence[str] | None = None,
                   inline_if: Callable[[inspect.BoundArguments], bool] | None = None,
                   tolerate: Sequence = (),
                   host_check: Callable[[inspect.BoundArguments], None] | None = None):
    """Decorator: whole-program jit of a public kernel for eager calls (module docstring).

    Args:
        fn: the kernel (its output, when it has a ``throw`` keyword, must carry a
            ``result`` field for the host-side raise).
        scalars: names of arguments that, passed as Python ``float``/``complex``, become
            arrays (traced, no re-trace per value).
        messages: per-RESULTS-index messages for the host-side raise (default RESULTS').
        inline_if: predicate on the bound arguments: True runs the kernel eagerly, op by
            op, as before (e.g. deprecated spellings, whose warning is issued at trace time
            and would be silent on a cached program's later calls).
        tolerate: RESULTS items that ``throw=True`` does not raise on (e.g.
            ``fock_truncation``, which the Fock solvers only report).
        host_check: validates the concrete bound arguments on the host (raises); the
            compiled core is then traced with :func:`host_checked` True.
    """
    if fn is None:
        return functools.partial(compiled_entry, scalars=scalars, messages=messages,
                                 inline_if=inline_if, tolerate=tolerate, host_check=host_check)
    sig = inspect.signature(fn)
    has_throw = "throw" in sig.parameters
    if host_check is None:
        jitted = eqx.filter_jit(fn)
    else:
        def core(*args, **kwargs):
            with _checks_on_host():
                return fn(*args, **kwargs)

        jitted = eqx.filter_jit(core)
    tolerated = tuple(index(r) for r in tolerate)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _has_tracer((args, kwargs)):
            return fn(*args, **kwargs)
        if not scalars and not has_throw and inline_if is None and host_check is None:
            return jitted(*args, **kwargs)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            return fn(*args, **kwargs)  # let the kernel raise its own error
        bound.apply_defaults()
        if inline_if is not None and inline_if(bound):
            return fn(*args, **kwargs)
        for name in scalars:
            v = bound.arguments.get(name)
            if isinstance(v, (float, complex)) and not isinstance(v, bool):
                bound.arguments[name] = jnp.asarray(v)
        if host_check is not None:
            host_check(bound)
        throw = bool(bound.arguments.get("throw", False)) if has_throw else False
        if throw:
            bound.arguments["throw"] = False
        out = jitted(*bound.args, **bound.kwargs)
        if throw:
            raise_on_result(out.result, messages, tolerated)
        return out

    wrapper.__wrapped__ = fn
    return wrapper
