"""Evaluation of sweep chunks: the compiled chunk program, per-point status, fallback.

Internal to :mod:`jaxbind.workflows.sweep` (see its docstring for the contract) and
:mod:`jaxbind.workflows.executors` (workers build the same :class:`_Evaluator`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import jaxpr_as_fun

from .store import ERROR, NONFINITE, OK

_HOST_CHECK_PLATFORMS = ("cpu",)  # where NumPy checks finiteness on the fetched chunk


@dataclass(frozen=True)
class _Spec:
    """Everything a worker needs besides ``fn`` and a chunk's inputs (picklable, small)."""

    names: tuple
    dtypes: tuple
    factor_of: tuple  # factor index of each parameter
    k: int
    block: tuple
    batch_size: int | None
    fill_value: complex
    x64: bool
    fingerprint: str


def _point_fn(traced, check_finite: bool = True):
    """Per-point outputs and status (int32; None if ``check_finite`` is False and the kernel
    has no status leaf — the host then derives it, :func:`_host_status`). Outputs of bad
    points are replaced by the fill value on the host (only where status ≠ 0): a ``where``
    here would be a second consumer of every output, and XLA then recomputes expensive
    elementwise kernels in two fusions."""
    f = jaxpr_as_fun(traced.closed)

    def point(*params):
        leaves = f(*params)
        st = None if traced.status_idx is None else leaves[traced.status_idx].astype(jnp.int32)
        vals = [leaf for i, leaf in enumerate(leaves) if i != traced.status_idx]
        if not check_finite:
            return vals, st
        if st is None:
            st = jnp.int32(OK)
        # the barrier makes the finiteness check read the outputs instead of letting XLA
        # recompute the whole kernel inside a separate status fusion
        vals = jax.lax.optimization_barrier(vals)
        bad = jnp.zeros((), bool)
        for v in vals:
            if jnp.issubdtype(v.dtype, jnp.inexact):
                bad = bad | ~jnp.all(jnp.isfinite(v))
        return vals, jnp.where((st == OK) & bad, jnp.int32(NONFINITE), st)

    return point


def _all_finite(v: np.ndarray) -> bool:
    if np.issubdtype(v.dtype, np.complexfloating):  # as real pairs: NumPy's SIMD loop
        v = np.ascontiguousarray(v)
        v = v.view(v.real.dtype)
    return bool(np.isfinite(v).all())


def _host_status(vals, st, n, zeros):
    """Status of ``n`` fetched points from the kernel's status leaf ``st`` (or None) and the
    finiteness of the outputs, checked with NumPy on the host. On CPU backends a chunk is
    cache-sized and was just written, so this pass is several times cheaper than a status
    fusion in the chunk program (XLA re-reads the outputs and vectorises is-finite poorly);
    the per-point pass runs only for a chunk that has a non-finite value."""
    st = zeros[:n] if st is None else np.asarray(st, np.int32)[:n]
    inexact = [v for v in vals if np.issubdtype(v.dtype, np.inexact)]
    if all(_all_finite(v) for v in inexact):
        return st
    bad = np.zeros(n, bool)
    for v in inexact:
        bad |= ~np.isfinite(v.reshape(n, -1)).all(axis=1)
    return np.where((st == OK) & bad, np.int32(NONFINITE), st)


def _fill_bad(vals, st, fill_value):
    """Replace the outputs of points with status ≠ 0 by ``fill_value`` (host, in place)."""
    if not st.any():  # OK == 0; the common case costs one pass over the status only
        return vals
    bad = st != OK
    out = []
    for v in vals:
        v = np.array(v)  # device_get results may be read-only
        v[bad] = np.asarray(fill_value).astype(v.dtype)
        out.append(v)
    return out


def _expand(vals, spec: _Spec, xp, padded):
    """Per-point parameter vectors (padded,) for one block from its per-factor slices."""
    out = []
    for v, j in zip(vals, spec.factor_of):
        v = xp.asarray(v)
        if j < spec.k:
            a = xp.broadcast_to(v, spec.block)
        else:
            s = [1] * len(spec.block)
            s[j - spec.k] = spec.block[j - spec.k]
            a = xp.broadcast_to(v.reshape(s), spec.block)
        a = a.reshape(-1)
        if padded > a.shape[0]:
            a = xp.pad(a, (0, padded - a.shape[0]), mode="edge")
        out.append(a)
    return out


class _Evaluator:
    """One compiled chunk function (+ a lazily compiled single-point fallback)."""

    def __init__(self, traced: _Traced, spec: _Spec, devices):
        self.traced, self.spec, self.devices = traced, spec, list(devices)
        n_dev = len(self.devices)
        self.padded = -(-math.prod(spec.block) // n_dev) * n_dev
        # CPU: "device" buffers are host memory, the finiteness check runs in NumPy on the
        # fetched chunk (see _host_status); accelerators check on the device, so only
        # outputs and status cross the bus and the host never scans the outputs
        self.host_check = all(d.platform in _HOST_CHECK_PLATFORMS for d in self.devices)
        point = _point_fn(traced, check_finite=not self.host_check)

        def local(*flat):
            if spec.batch_size:
                return jax.lax.map(lambda p: point(*p), flat, batch_size=spec.batch_size)
            return jax.vmap(point)(*flat)

        if n_dev > 1:
            from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

            mesh = Mesh(np.array(self.devices), ("points",))
            sharded = jax.shard_map(local, mesh=mesh, in_specs=P("points"), out_specs=P("points"),
                                    check_vma=False)
            self.in_sharding = NamedSharding(mesh, P())
        else:
            sharded = local
            self.in_sharding = jax.sharding.SingleDeviceSharding(self.devices[0])

        def chunk(*vals):
            return sharded(*_expand(vals, spec, jnp, self.padded))

        self._point = _point_fn(traced)  # the single-point fallback always checks on device
        self._inputs = {}  # parameter index -> (host array, device array) of trailing axes
        self._zeros = np.zeros(self.padded, np.int32)  # the all-OK status of a chunk
        self._zeros.flags.writeable = False
        self._point_compiled = None
        args = [jax.ShapeDtypeStruct(s, np.dtype(d), sharding=self.in_sharding)
                for s, d in zip(self.input_shapes(), spec.dtypes)]
        self.compiled = jax.jit(chunk).lower(*args).compile()
        try:
            m = self.compiled.memory_analysis()
            self.device_bytes = int(m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes)
        except Exception:  # pragma: no cover - backend without memory analysis
            self.device_bytes = None

    def input_shapes(self):
        s = self.spec
        return [() if j < s.k else ((s.block[0],) if j == s.k else (s.block[j - s.k],)) for j in s.factor_of]

    def launch(self, vals):
        """Dispatch one chunk (asynchronously). Parameters along the trailing axes are the same
        array for every chunk: they are put on the device once and reused; the rest go in one
        batched transfer."""
        args = [None] * len(vals)
        put = []
        for i, (v, d, j) in enumerate(zip(vals, self.spec.dtypes, self.spec.factor_of)):
            hit = self._inputs.get(i) if j > self.spec.k else None
            if hit is not None and hit[0] is v:
                args[i] = hit[1]
            else:
                put.append((i, np.asarray(v, dtype=d)))
        if put:
            for (i, _), x in zip(put, jax.device_put([x for _, x in put], self.in_sharding)):
                args[i] = x
                if self.spec.factor_of[i] > self.spec.k:
                    self._inputs[i] = (vals[i], x)  # keeps vals[i] alive, so `is` stays valid
        return self.compiled(*args)

    def fetch(self, outs, n_valid):
        if self.host_check:  # CPU: np.asarray is a zero-copy view of the XLA buffer
            vals, st = outs
            vals = [np.asarray(v)[:n_valid] for v in vals]
            st = _host_status(vals, st, n_valid, self._zeros)
        else:  # accelerators: start every transfer before waiting for any
            vals, st = jax.device_get(outs)
            vals = [np.asarray(v)[:n_valid] for v in vals]
            st = np.asarray(st)[:n_valid]
        return _fill_bad(vals, st, self.spec.fill_value), st

    def fallback(self, vals, n_valid):
        """Evaluate a chunk point by point; points that raise get status ERROR."""
        if self._point_compiled is None:
            avals = [jax.ShapeDtypeStruct((), np.dtype(d)) for d in self.spec.dtypes]
            self._point_compiled = jax.jit(self._point).lower(*avals).compile()
        flat = _expand(vals, self.spec, np, n_valid)
        outs = [np.zeros((n_valid,) + s, d) for s, d in zip(self.traced.shapes, self.traced.dtypes)]
        for o in outs:
            o[...] = np.asarray(self.spec.fill_value).astype(o.dtype)
        st = np.full(n_valid, ERROR, np.int32)
        first_error = None
        for i in range(n_valid):
            try:
                v, s = jax.device_get(self._point_compiled(*[np.asarray(a[i], d) for a, d in
                                                              zip(flat, self.spec.dtypes)]))
            except Exception as err:  # noqa: BLE001 - any kernel error becomes status ERROR
                first_error = first_error or _short(err)
                continue
            st[i] = s
            if s == OK:
                for o, x in zip(outs, v):
                    o[i] = x
        return outs, st, first_error

    def run(self, vals, n_valid):
        """Evaluate one chunk synchronously (worker path) with the per-point fallback."""
        try:
            return (*self.fetch(self.launch(vals), n_valid), None, False)
        except Exception:  # noqa: BLE001
            return (*self.fallback(vals, n_valid), True)


_EVAL_CACHE: dict = {}


def _cached_evaluator(traced, spec, devices):
    """Reuse the executable of an identical computation (same jaxpr fingerprint, dtypes,
    chunk shape, devices), like ``jax.jit``'s cache: repeated sweeps do not recompile."""
    key = (spec, tuple(devices))
    ev = _EVAL_CACHE.pop(key, None) or _Evaluator(traced, spec, devices)
    _EVAL_CACHE[key] = ev
    while len(_EVAL_CACHE) > 8:
        _EVAL_CACHE.pop(next(iter(_EVAL_CACHE)))
    return ev


def _short(err) -> str:
    """One line naming the error (the eqx.error_if message when there is one)."""
    lines = [m.strip() for m in str(err).splitlines() if m.strip()]
    for m in reversed(lines):
        if "EquinoxRuntimeError:" in m or "EquinoxTracetimeError:" in m:
            return m.split("Error:", 1)[1].strip()[:300]
    return f"{type(err).__name__}: {lines[0] if lines else ''}"[:300]


class _quiet_callbacks:
    """Silence JAX's log of a failing pure_callback (eqx.error_if): it is handled per point."""

    def __enter__(self):
        self.log = logging.getLogger("jax._src.callback")
        self.level = self.log.level
        self.log.setLevel(logging.CRITICAL)

    def __exit__(self, *exc):
        self.log.setLevel(self.level)
