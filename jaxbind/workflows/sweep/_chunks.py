"""Evaluation of sweep chunks: tracing, the compiled chunk program, per-point status, fallback.

Internal to :mod:`jaxbind.workflows.sweep` (see its docstring for the contract) and
:mod:`jaxbind.workflows.sweep.executors` (workers build the same :class:`Evaluator` from a
:class:`Spec` and ``fn``; neither module imports the other). The names without a leading
underscore are this package-private module's interface to those modules.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import ClosedJaxpr, Jaxpr, Literal, jaxpr_as_fun

from .store import ERROR, KERNEL_STATUS, NONFINITE, OK, fill_for

_HOST_CHECK_PLATFORMS = ("cpu",)  # where NumPy checks finiteness on the fetched chunk


@dataclass(frozen=True)
class Spec:
    """Everything a worker needs besides ``fn`` and a chunk's inputs (picklable, small)."""

    names: tuple
    dtypes: tuple
    factor_of: tuple  # factor index of each parameter
    k: int
    block: tuple
    batch_size: int | None
    fill: str | None  # repr of the user's fill_value, None: NaN / integer sentinel by dtype
    x64: bool
    fingerprint: str
    compiler_options: tuple = ()  # ((flag, value), …) for the CPU backend

    def fill_value(self):
        return None if self.fill is None else complex(self.fill) if "j" in self.fill else float(self.fill)


# --- tracing -----------------------------------------------------------------------------------


@dataclass
class Traced:
    closed: object  # ClosedJaxpr of fn(*params) -> flat leaves
    names: list  # stored output variable names (the status leaf excluded, see status_kind)
    shapes: list
    dtypes: list
    status_idx: int | None  # leaf index of the kernel's result / legacy status (None: none)
    status_kind: str | None  # "result" (a RESULTS item) | "legacy" (integer status leaf) | None
    fingerprint: str
    point_bytes: int  # conservative device bytes per point (inputs+outputs+intermediates)
    io_bytes: int  # inputs + outputs per point
    keep: tuple = ()  # output indices never replaced by the fill (the raw legacy status)


def _key_name(k) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return re.sub(r"\W", "", str(k))


def _leaf_name(path) -> str:
    name = "_".join(_key_name(k) for k in path) or "value"
    return name if name[0].isalpha() else "v" + name


def _aval_bytes(aval) -> int:
    try:
        return int(math.prod(aval.shape)) * np.dtype(aval.dtype).itemsize
    except Exception:  # tokens, opaque types
        return 0


def _jaxpr_bytes(jaxpr) -> int:
    total = 0
    for eqn in jaxpr.eqns:
        total += sum(_aval_bytes(v.aval) for v in eqn.outvars)
        subs = [_jaxpr_bytes(getattr(j, "jaxpr", j)) for j in _sub_jaxprs(eqn.params)]
        total += max(subs, default=0)
    return total


def _sub_jaxprs(params):
    """The (closed) jaxprs among an equation's parameters (bodies of loops, conds, calls)."""
    for v in params.values():
        for x in v if isinstance(v, (tuple, list)) else (v,):
            if isinstance(x, (ClosedJaxpr, Jaxpr)):
                yield x


def _sanitize(text: str) -> str:
    return re.sub(r" at 0x[0-9a-fA-F]+", "", text)


def _status_leaf(paths, shapes):
    """(index, kind) of the kernel's per-point status: a top-level ``result`` (a RESULTS item,
    flattened to ``result._value``) or a legacy integer ``status`` leaf."""
    found = None
    for i, p in enumerate(paths):
        names = [_key_name(k) for k in p]
        if names in (["result"], ["result", "_value"]):
            kind = "result"
        elif names == ["status"]:
            kind = "legacy"
        else:
            continue
        s = shapes[i]
        if s.shape != () or not jnp.issubdtype(s.dtype, jnp.integer):
            raise TypeError(f"fn's {'.'.join(names)!r} output must be an integer scalar "
                            f"(a RESULTS item), got {s.dtype}{s.shape}")
        if found is None or kind == "result":  # a result leaf wins over a legacy status
            found = (i, kind)
    return found or (None, None)


def trace(fn, names, dtypes) -> Traced:
    """Trace ``fn`` once at one abstract point; fingerprint the jaxpr and its constants."""

    paths = []

    def flat_fn(*args):
        leaves = jax.tree_util.tree_flatten_with_path(fn(**dict(zip(names, args))))[0]
        paths[:] = [p for p, _ in leaves]
        return [jnp.asarray(x) for _, x in leaves]

    avals = [jax.ShapeDtypeStruct((), np.dtype(d)) for d in dtypes]
    try:
        closed, out = jax.make_jaxpr(flat_fn, return_shape=True)(*avals)
    except Exception as err:
        raise type(err)(f"sweep: tracing fn at one grid point failed: {err}") from err
    shapes = list(out)
    leaf_names = [_leaf_name(p) for p in paths]
    status_idx, kind = _status_leaf(paths, shapes)
    if kind == "legacy":  # the raw module-specific code stays available as kernel_status
        leaf_names[status_idx] = "kernel_status"
        keep_leaves = list(range(len(shapes)))
    else:
        keep_leaves = [i for i in range(len(shapes)) if i != status_idx]
    if not keep_leaves:
        raise ValueError("fn returns no output arrays besides its result/status")
    out_names = [leaf_names[i] for i in keep_leaves]
    dup = {n for n in out_names if out_names.count(n) > 1}
    if dup:
        raise ValueError(f"fn's outputs have clashing names {sorted(dup)}; return a dict with distinct keys")
    keep = tuple(j for j, i in enumerate(keep_leaves) if kind == "legacy" and i == status_idx)
    h = hashlib.sha256(_sanitize(str(closed.jaxpr)).encode())
    h.update(repr((leaf_names, status_idx, kind)).encode())
    for c in closed.consts:
        c = np.asarray(c)
        h.update(f"{c.dtype.str}{c.shape}".encode())
        h.update(np.ascontiguousarray(c).tobytes())
    io = sum(np.dtype(d).itemsize for d in dtypes) + sum(_aval_bytes(s) for s in shapes)
    return Traced(closed, out_names, [tuple(shapes[i].shape) for i in keep_leaves],
                   [np.dtype(shapes[i].dtype).str for i in keep_leaves], status_idx, kind,
                   h.hexdigest(), io + _jaxpr_bytes(closed.jaxpr), io, keep)


# --- evaluation ----------------------------------------------------------------------------------


# --- eqx.error_if checks as per-point flags -------------------------------------------------------
#
# ``eqx.error_if(x, pred, msg)`` traces to ``unvmap_any(pred)`` feeding a two-branch ``cond``
# whose first branch returns ``x`` unchanged and whose second calls a raising
# ``pure_callback``; under ``vmap`` the ``unvmap_any`` reduces ``pred`` over the batch, so one
# bad point makes the whole chunk raise. :func:`_flagged` re-evaluates the traced jaxpr with
# those checks turned into a per-point flag: ``unvmap_any``/``unvmap_max``/``unvmap_all``
# reduce the point's own values only, and an error ``cond`` returns ``x`` and records its
# predicate. Checks reached through call-like primitives (jit, custom_jvp/vjp calls) are
# rewritten; checks inside loops are left alone (a chunk holding such a bad point still
# raises and is resolved by the bisection fallback).

_CALLS = ("jit", "pjit", "closed_call", "core_call", "custom_jvp_call", "custom_vjp_call",
          "custom_vjp_call_jaxpr", "remat", "checkpoint")
_UNVMAP = {"unvmap_any": jnp.any, "unvmap_all": jnp.all, "unvmap_max": jnp.max}


def _call_jaxpr(eqn):
    for key in ("jaxpr", "call_jaxpr", "fun_jaxpr"):
        j = eqn.params.get(key)
        if isinstance(j, (ClosedJaxpr, Jaxpr)):
            return j
    return None


def _has_check(jaxpr) -> bool:
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name in _UNVMAP or _is_error_cond(eqn):
            return True
        if name in _CALLS:
            sub = _call_jaxpr(eqn)
            if sub is not None and _has_check(sub):
                return True
    return False


def _is_error_cond(eqn) -> bool:
    if eqn.primitive.name != "cond":
        return False
    br = eqn.params.get("branches", ())
    if len(br) != 2:
        return False
    ok = br[0].jaxpr
    if ok.eqns or list(ok.outvars) != list(ok.invars):
        return False
    return any(e.primitive.name == "pure_callback" for e in br[1].jaxpr.eqns)


def _eval_flagged(jaxpr, consts, args, flags):
    env = {}

    def read(v):
        return v.val if isinstance(v, Literal) else env[v]

    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x
    for eqn in jaxpr.eqns:
        invals = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        sub = _call_jaxpr(eqn) if name in _CALLS else None
        if name in _UNVMAP:
            outs = [_UNVMAP[name](invals[0])]
        elif _is_error_cond(eqn):
            flags.append(invals[0] != 0)
            outs = invals[1:]
        elif sub is not None and _has_check(sub):
            outs = _eval_flagged(getattr(sub, "jaxpr", sub), getattr(sub, "consts", ()), invals, flags)
        else:
            params = eqn.primitive.get_bind_params(eqn.params)
            subfuns = ()
            if isinstance(params, tuple):  # older jax: (subfuns, params)
                subfuns, params = params
            ctx = getattr(getattr(eqn, "ctx", None), "manager", None)
            if ctx is not None:
                with ctx:
                    outs = eqn.primitive.bind(*subfuns, *invals, **params)
            else:
                outs = eqn.primitive.bind(*subfuns, *invals, **params)
            if not eqn.primitive.multiple_results:
                outs = [outs]
        for v, x in zip(eqn.outvars, outs):
            env[v] = x
    return [read(v) for v in jaxpr.outvars]


def _flagged(closed):
    """``f(*params) -> (leaves, flag)``: the traced function with its top-level
    ``eqx.error_if`` checks as a per-point boolean ``flag`` (None if it has none)."""
    if not _has_check(closed.jaxpr):
        f = jaxpr_as_fun(closed)
        return lambda *a: (f(*a), None)

    def run(*params):
        flags = []
        leaves = _eval_flagged(closed.jaxpr, closed.consts, params, flags)
        flag = None
        for fl in flags:
            flag = fl if flag is None else flag | fl
        return leaves, flag

    return run


def _point_fn(traced, check_finite: bool = True, flag_checks: bool = True):
    """Per-point outputs and status (int32 RESULTS code; None if ``check_finite`` is False and
    the kernel has no status leaf — the host then derives it, :func:`_host_status`). Outputs
    of bad points are replaced by the fill value on the host (only where status ≠ 0): a
    ``where`` here would be a second consumer of every output, and XLA then recomputes
    expensive elementwise kernels in two fusions."""
    f = _flagged(traced.closed) if flag_checks else (lambda *a, _f=jaxpr_as_fun(traced.closed): (_f(*a), None))
    idx, kind = traced.status_idx, traced.status_kind

    def point(*params):
        leaves, raised = f(*params)
        st = None
        if kind == "result":
            st = leaves[idx].astype(jnp.int32)
            vals = [leaf for i, leaf in enumerate(leaves) if i != idx]
        else:
            vals = list(leaves)
            if kind == "legacy":
                st = jnp.where(leaves[idx] != 0, jnp.int32(KERNEL_STATUS), jnp.int32(OK))
        if raised is not None:  # a failed eqx.error_if check: the point "raised"
            st = jnp.where(raised, jnp.int32(ERROR), jnp.int32(OK) if st is None else st)
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


def _fill_bad(vals, st, fill, keep=()):
    """Replace the outputs of points with status ≠ 0 by the fill of their dtype (host, in
    place; NaN for floats, see :func:`jaxbind.workflows.sweep.store.fill_for`), except outputs in
    ``keep`` (the kernel's own raw status)."""
    if not st.any():  # OK == 0; the common case costs one pass over the status only
        return vals
    bad = st != OK
    out = []
    for i, v in enumerate(vals):
        if i not in keep:
            v = np.array(v)  # device_get results may be read-only
            v[bad] = fill_for(v.dtype, fill)
        out.append(v)
    return out


def _expand(vals, spec: Spec, xp, padded):
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


def _compile(fn, args, spec, devices):
    """``jit(fn).lower(*args).compile`` with the kernel's compiler options on CPU backends."""
    lowered = jax.jit(fn).lower(*args)
    if spec.compiler_options and all(d.platform == "cpu" for d in devices):
        return lowered.compile(compiler_options=dict(spec.compiler_options))
    return lowered.compile()


class Evaluator:
    """One compiled chunk function (+ a lazily compiled per-point-vector variant for the
    bisection fallback of kernels that raise)."""

    def __init__(self, traced: Traced, spec: Spec, devices):
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
            self.flat_sharding = NamedSharding(mesh, P("points"))
        else:
            sharded = local
            self.in_sharding = jax.sharding.SingleDeviceSharding(self.devices[0])
            self.flat_sharding = self.in_sharding

        def chunk(*vals):
            return sharded(*_expand(vals, spec, jnp, self.padded))

        self._sharded = sharded
        self._inputs = {}  # parameter index -> (host array, device array) of trailing axes
        self._zeros = np.zeros(self.padded, np.int32)  # the all-OK status of a chunk
        self._zeros.flags.writeable = False
        self._flat_compiled = None
        self._point_compiled = None
        args = [jax.ShapeDtypeStruct(s, np.dtype(d), sharding=self.in_sharding)
                for s, d in zip(self.input_shapes(), spec.dtypes)]
        self.compiled = _compile(chunk, args, spec, self.devices)
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

    def _fetch(self, outs, n_valid):
        if self.host_check:  # CPU: np.asarray is a zero-copy view of the XLA buffer
            vals, st = outs
            vals = [np.asarray(v)[:n_valid] for v in vals]
            st = _host_status(vals, st, n_valid, self._zeros)
        else:  # accelerators: start every transfer before waiting for any
            vals, st = jax.device_get(outs)
            vals = [np.asarray(v)[:n_valid] for v in vals]
            st = np.asarray(st)[:n_valid]
        return vals, st

    def fetch(self, outs, n_valid):
        vals, st = self._fetch(outs, n_valid)
        return _fill_bad(vals, st, self.spec.fill_value(), self.traced.keep), st

    def _run_flat(self, flat):
        if self._flat_compiled is None:
            args = [jax.ShapeDtypeStruct((self.padded,), np.dtype(d), sharding=self.flat_sharding)
                    for d in self.spec.dtypes]
            self._flat_compiled = _compile(self._sharded, args, self.spec, self.devices)
        x = jax.device_put(list(flat), self.flat_sharding)
        return self._fetch(self._flat_compiled(*x), self.padded)

    def fallback(self, vals, n_valid):
        """A chunk that raised (a kernel with ``eqx.error_if``): find its bad points by
        bisection. A range of points is evaluated with the same vectorised program, the
        rest of the chunk replaced by copies of the range's last point; a range that
        raises is split. k bad points cost about 2·k·log2(n) chunk evaluations (one extra
        compilation, of the per-point-vector program). After 16·(log2(n) + 1) evaluations
        (about 8 bad points) the remaining ranges go point by point through a compiled
        single-point program, so a chunk of mostly bad points costs no more than that. Points
        that raise alone get ``RESULTS.kernel_error``, all others their values (exactly the
        vectorised ones, up to the last bits for points evaluated singly)."""
        flat = _expand(vals, self.spec, np, self.padded)
        fill = self.spec.fill_value()
        outs = [np.full((n_valid,) + s, fill_for(d, fill), d) for s, d in zip(self.traced.shapes, self.traced.dtypes)]
        st = np.full(n_valid, ERROR, np.int32)
        first_error = None
        todo = [(0, n_valid)]
        pos = np.arange(self.padded)
        budget = 16 * (int(math.log2(max(n_valid, 1))) + 1)  # chunk evaluations ≈ 8 bad points
        while todo:
            lo, hi = todo.pop()
            if budget <= 0:  # many bad points: the rest point by point (one compiled call each)
                first_error = self._pointwise(flat, lo, hi, outs, st) or first_error
                continue
            budget -= 1
            idx = np.clip(pos, lo, hi - 1)
            try:
                v, s = self._run_flat([np.asarray(a[idx], d) for a, d in zip(flat, self.spec.dtypes)])
            except Exception as err:  # noqa: BLE001 - the range holds a point that raises
                if hi - lo == 1:
                    first_error = first_error or short_error(err)
                else:
                    mid = (lo + hi) // 2
                    todo += [(mid, hi), (lo, mid)]
                continue
            st[lo:hi] = s[lo:hi]  # position i holds point i inside the range
            for o, x in zip(outs, v):
                o[lo:hi] = x[lo:hi]
        return _fill_bad(outs, st, fill, self.traced.keep), st, first_error

    def _pointwise(self, flat, lo, hi, outs, st):
        if self._point_compiled is None:
            avals = [jax.ShapeDtypeStruct((), np.dtype(d)) for d in self.spec.dtypes]
            self._point_compiled = _compile(_point_fn(self.traced), avals, self.spec, self.devices[:1])
        first = None
        for i in range(lo, hi):
            try:
                v, s = jax.device_get(self._point_compiled(*[np.asarray(a[i], d) for a, d in
                                                             zip(flat, self.spec.dtypes)]))
            except Exception as err:  # noqa: BLE001 - this point raises alone
                first = first or short_error(err)
                continue
            st[i] = s
            for o, x in zip(outs, v):
                o[i] = x
        return first

    def run(self, vals, n_valid):
        """Evaluate one chunk synchronously (worker path) with the bisection fallback."""
        try:
            return (*self.fetch(self.launch(vals), n_valid), None, False)
        except Exception:  # noqa: BLE001
            return (*self.fallback(vals, n_valid), True)


_EVAL_CACHE: dict = {}


def cached_evaluator(traced, spec, devices):
    """Reuse the executable of an identical computation (same jaxpr fingerprint, dtypes,
    chunk shape, devices), like ``jax.jit``'s cache: repeated sweeps do not recompile."""
    key = (spec, tuple(devices))
    ev = _EVAL_CACHE.pop(key, None) or Evaluator(traced, spec, devices)
    _EVAL_CACHE[key] = ev
    while len(_EVAL_CACHE) > 8:
        _EVAL_CACHE.pop(next(iter(_EVAL_CACHE)))
    return ev


def short_error(err) -> str:
    """One line naming the error (the eqx.error_if message when there is one)."""
    lines = [m.strip() for m in str(err).splitlines() if m.strip()]
    for m in reversed(lines):
        if "EquinoxRuntimeError:" in m or "EquinoxTracetimeError:" in m:
            return m.split("Error:", 1)[1].strip()[:300]
    return f"{type(err).__name__}: {lines[0] if lines else ''}"[:300]


class quiet_callbacks:
    """Silence JAX's log of a failing pure_callback (eqx.error_if): it is handled per point."""

    def __enter__(self):
        self.log = logging.getLogger("jax._src.callback")
        self.level = self.log.level
        self.log.setLevel(logging.CRITICAL)

    def __exit__(self, *exc):
        self.log.setLevel(self.level)
