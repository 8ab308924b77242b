"""Large parameter sweeps: chunked, sharded, distributed, checkpointed (docs/architecture.md, "Scale-out").

``sweep(fn, grid)`` evaluates a pure JAX function of one parameter point on every point of a
grid (:mod:`jaxbind.workflows.grid`) and returns an :class:`xarray.Dataset` whose coordinates
are the grid and whose variables are the outputs of ``fn`` plus ``status``.

Contract for ``fn``
-------------------
* Called as ``fn(**point)``: one keyword per grid parameter, each a scalar of the grid's
  dtype (float64 if x64 is enabled, else float32; ints and complex kept). Fix other arguments
  with ``functools.partial``. It must be traceable by JAX and pure (no Python side effects).
* Returns a pytree of arrays (a bare array, dict, tuple, ``eqx.Module``…). Each leaf becomes
  a variable named by its path (``"q_ext"``, ``"state_mean"``; a bare array is ``"value"``);
  per-point dims are ``<name>_d0, …`` unless ``output_dims={"G": ("i", "j")}`` names them.
  Complex leaves stay complex.
* ``fn`` is traced exactly once per sweep (to a jaxpr that is fingerprinted for resume) and
  the chunk computation is compiled exactly once; later chunks reuse the executable.

Per-point status (a bad point never aborts or poisons a sweep)
--------------------------------------------------------------
``status`` is an int32 variable: 0 ok, −1 a non-finite output (NaN/inf), −2 the point raised
when evaluated alone, −3 not computed yet (unfinished store), > 0 a code reported by the
kernel. For every point with status ≠ 0 all outputs are replaced by ``fill_value`` (default
0), so results are NaN-free; mask with ``ds.where(ds.status == 0)``.

* **Preferred: status-returning kernels.** If the output pytree has a top-level leaf
  ``status`` (integer scalar: a dict key or a Module/NamedTuple field), it is the point's
  status. jaxbind kernels that can fail on valid-looking input (overlapping particles,
  non-Hurwitz drift, non-convergence) expose such a variant for sweeps; their single-point
  API keeps ``eqx.error_if``.
* **Non-finite outputs** are detected for every kernel, so a kernel without a status leaf
  still yields a truthful status.
* **Kernels that raise.** ``eqx.error_if`` is checked per chunk: under ``vmap`` its
  predicate is reduced over the whole batch, so one bad point makes the whole chunk raise
  (and ``EQX_ON_ERROR=nan`` would NaN the whole chunk). When a chunk raises, that chunk
  alone is re-evaluated point by point (one extra compilation, of the single-point
  function, made the first time it is needed); points that still raise get −2, all others
  their value (which may differ from a vectorised evaluation in the last bits). Finished
  chunks are never lost. This fallback is for rare errors — kernels that fail often in a
  sweep should return a ``status`` leaf instead.

Evaluation
----------
The grid is split into rectangular blocks — chunks — each a contiguous range of points in C
order and exactly one zarr chunk of every stored variable. The chunk size comes from
``memory_budget`` (an upper bound on device bytes per chunk estimated from the jaxpr: inputs,
outputs and every intermediate, so it is conservative; the compiled executable's own
``memory_analysis`` is reported in ``ds.attrs["sweep_stats"]``) or from ``chunk_size``.
Inside a chunk the points run through ``jax.vmap`` (or ``lax.map(..., batch_size=...)`` when
``batch_size`` is given, which bounds the intermediates to ``batch_size`` points), sharded
over ``devices`` with ``jax.shard_map``. The last chunk is padded by repeating a real point.
Chunks are dispatched asynchronously, so the device computes chunk i+1 while chunk i is
copied to the host and written.

Store, resume, executors
------------------------
``store="path.zarr"`` writes each finished chunk to a zarr store (:mod:`.store`); the
returned Dataset is opened lazily from it. Rerunning the same call after a crash (SIGKILL,
node loss, disk full) computes only the missing chunks and gives a result identical to an
uninterrupted run; a different grid, function or output structure is refused.

``executor=`` takes any :class:`concurrent.futures.Executor` (e.g. ``ProcessPoolExecutor``
with ``mp_context=multiprocessing.get_context("spawn")`` — never fork after JAX started) or a
Dask ``distributed.Client`` (the reference engine). Each chunk is a pure, picklable task
(``fn``, the chunk's parameter slices and a small spec); a worker traces and compiles once and
caches the executable; the driver writes results, so workers need no shared filesystem.
A task that fails (worker died) is resubmitted up to ``max_retries`` times. On a cluster::

    from dask_jobqueue import SLURMCluster        # or PBSCluster
    cluster = SLURMCluster(cores=8, memory="64GB", processes=1,
                           job_extra_directives=["--gres=gpu:1"])
    cluster.scale(jobs=16)                         # 16 GPU nodes, one worker each
    ds = sweep(fn, grid, executor=Client(cluster), store="/scratch/run.zarr")

Ray works through ``ray.util.multiprocessing.Pool`` or any Executor adapter.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import re
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import ClosedJaxpr, Jaxpr

from ._chunks import _cached_evaluator, _Evaluator, _quiet_callbacks, _Spec
from .grid import Grid, as_grid
from .store import ERROR, NONFINITE, OK, PENDING, MemorySink, VarSpec, ZarrSink, check_resume

__all__ = ["sweep", "Grid", "OK", "NONFINITE", "ERROR", "PENDING"]

_DEFAULT_MAX_CHUNK = 1 << 24  # points; keeps progress/resume granular on big grids
_CPU_CHUNK_BYTES = 4 << 20  # inputs + outputs per chunk on CPU backends (cache-sized)


# --- tracing ---------------------------------------------------------------------------------


@dataclass
class _Traced:
    closed: object  # ClosedJaxpr of fn(*params) -> flat leaves
    names: list  # output variable names (without status)
    shapes: list
    dtypes: list
    status_idx: int | None
    fingerprint: str
    point_bytes: int  # conservative device bytes per point (inputs+outputs+intermediates)
    io_bytes: int  # inputs + outputs per point


def _leaf_name(path) -> str:
    parts = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                parts.append(str(getattr(k, attr)))
                break
        else:
            parts.append(re.sub(r"\W", "", str(k)))
    name = "_".join(parts) or "value"
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


def _trace(fn, names, dtypes) -> _Traced:
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
    status_idx = None
    for i, (p, n) in enumerate(zip(paths, leaf_names)):
        if len(p) == 1 and n == "status":
            s = shapes[i]
            if s.shape != () or not jnp.issubdtype(s.dtype, jnp.integer):
                raise TypeError(f"fn's 'status' output must be an integer scalar, got {s.dtype}{s.shape}")
            status_idx = i
    keep = [i for i in range(len(shapes)) if i != status_idx]
    if not keep:
        raise ValueError("fn returns no output arrays besides 'status'")
    out_names = [leaf_names[i] for i in keep]
    dup = {n for n in out_names if out_names.count(n) > 1}
    if dup:
        raise ValueError(f"fn's outputs have clashing names {sorted(dup)}; return a dict with distinct keys")
    h = hashlib.sha256(_sanitize(str(closed.jaxpr)).encode())
    h.update(repr((leaf_names, status_idx)).encode())
    for c in closed.consts:
        c = np.asarray(c)
        h.update(f"{c.dtype.str}{c.shape}".encode())
        h.update(np.ascontiguousarray(c).tobytes())
    io = sum(np.dtype(d).itemsize for d in dtypes) + sum(_aval_bytes(s) for s in shapes)
    return _Traced(closed, out_names, [tuple(shapes[i].shape) for i in keep],
                   [np.dtype(shapes[i].dtype).str for i in keep], status_idx, h.hexdigest(),
                   io + _jaxpr_bytes(closed.jaxpr), io)


# --- the chunk plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """Chunks are blocks (1, …, 1, c_k, n_{k+1}, …, n_last) of the grid (C order)."""

    shape: tuple
    k: int
    block: tuple  # (c_k, n_{k+1}, …)
    n_dev: int

    @property
    def block_grid(self) -> tuple:
        return self.shape[: self.k] + (-(-self.shape[self.k] // self.block[0]),)

    @property
    def n_blocks(self) -> int:
        return math.prod(self.block_grid)

    @property
    def points(self) -> int:
        return math.prod(self.block)

    @property
    def padded(self) -> int:
        return -(-self.points // self.n_dev) * self.n_dev

    def to_json(self) -> dict:
        return {"k": self.k, "block": list(self.block)}


def _make_plan(shape, max_points: int, n_dev: int) -> _Plan:
    max_points = max(1, int(max_points))
    k = len(shape) - 1
    while k > 0 and math.prod(shape[k:]) <= max_points:
        k -= 1
    trail = math.prod(shape[k + 1:])
    if trail > max_points:  # only when k is the last axis
        trail = 1
    c = max(1, min(shape[k], max_points // trail))
    return _Plan(tuple(shape), k, (c,) + tuple(shape[k + 1:]), n_dev)


def _parse_bytes(budget, devices) -> int:
    if budget is None or budget == "auto":
        stats = None
        try:
            stats = devices[0].memory_stats()
        except Exception:  # CPU backends have none
            pass
        if stats and stats.get("bytes_limit"):
            return int(0.4 * stats["bytes_limit"]) * len(devices)
        return 512 * 2**20
    if isinstance(budget, (int, float)) and not isinstance(budget, bool):
        b = int(budget)
    elif isinstance(budget, str):
        m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?i?B?)\s*", budget, re.I)
        if not m:
            raise ValueError(f"memory_budget {budget!r}: expected bytes or e.g. '512MB', '2GiB'")
        unit = m.group(2).upper().rstrip("B").rstrip("I")
        b = int(float(m.group(1)) * 1024 ** "_KMGT".index(unit or "_"))
    else:
        raise TypeError(f"memory_budget must be bytes or a string like '2GB', got {budget!r}")
    if b <= 0:
        raise ValueError(f"memory_budget must be positive, got {budget!r}")
    return b


# --- the public entry point --------------------------------------------------------------------


def _check_signature(fn, names) -> None:
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {fn!r}")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    ps = sig.parameters
    if any(p.kind == p.VAR_KEYWORD for p in ps.values()):
        return
    accepted = {n for n, p in ps.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    unknown = [n for n in names if n not in accepted]
    if unknown:
        raise ValueError(f"grid parameter(s) {unknown} are not arguments of fn{sig}")
    missing = [n for n, p in ps.items() if p.default is p.empty and n not in names
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if missing:
        raise ValueError(f"fn{sig} needs argument(s) {missing} that the grid does not give "
                         "(add them to the grid or fix them with functools.partial)")


def _resolve_devices(devices):
    if devices is None:
        return jax.local_devices()
    if isinstance(devices, int) and not isinstance(devices, bool):
        avail = jax.local_devices()
        if not 1 <= devices <= len(avail):
            raise ValueError(f"devices={devices}: between 1 and {len(avail)} local devices are available")
        return avail[:devices]
    devices = list(devices)
    if not devices:
        raise ValueError("devices is empty")
    return devices


def sweep(fn, grid, *, batch_size=None, memory_budget="auto", chunk_size=None, devices=None,
          executor=None, store=None, resume=True, overwrite=False, progress=True, fill_value=0,
          output_dims=None, max_retries=2, max_inflight=None):
    """Evaluate ``fn`` on every point of ``grid``; chunked, sharded, checkpointed.

    See the module docstring for the contract (status codes, resume, executors).

    Args:
        fn: pure JAX function ``fn(**point) -> pytree of arrays``.
        grid: ``{"name": 1-D values, …}`` (cartesian product) or a :class:`Grid`.
        batch_size: if given, points inside a chunk run through ``lax.map`` in vmapped
            batches of this size (bounds intermediates); default one ``vmap`` per chunk.
        memory_budget: device bytes per chunk (int or "512MB"); "auto": 40 % of accelerator
            memory, 512 MiB on CPU.
        chunk_size: maximum points per chunk (overrides the budget; for tests and tuning).
        devices: local devices to shard chunks over (None: all; int: the first n).
        executor: a ``concurrent.futures.Executor`` or dask ``Client`` that runs chunks.
        store: path of a zarr store written chunk by chunk (None: in memory).
        resume: continue an existing store written by the same sweep (True) or refuse (False).
        overwrite: discard an existing store first.
        progress: tqdm bar (True), none (False), or a callable ``progress(done, total)``.
        fill_value: placeholder output of points with status ≠ 0.
        output_dims: ``{output name: tuple of dim names}`` for per-point output dims.
        max_retries: resubmissions of a chunk whose task failed on an executor.
        max_inflight: chunks submitted to an executor at once (default 2 × workers).

    Returns:
        ``xarray.Dataset``: grid coordinates, one variable per output, ``status``; lazily
        backed by the store when ``store`` is given. ``ds.attrs["sweep_stats"]`` (JSON) has
        chunk counts, timings, points/s and the compiled chunk's device memory.
    """
    t0 = time.perf_counter()
    g = as_grid(grid)
    _check_signature(fn, g.names)
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    devs = _resolve_devices(devices)
    budget = _parse_bytes(memory_budget, devs)
    x64 = bool(jax.config.jax_enable_x64)
    pf = g.param_factor()
    dtypes = tuple(np.dtype(jax.dtypes.canonicalize_dtype(pf[n][1].dtype)).str for n in g.names)
    traced = _trace(fn, g.names, dtypes)

    output_dims = dict(output_dims or {})
    for n in output_dims:
        if n not in traced.names:
            raise ValueError(f"output_dims names {n!r}, which is not an output of fn ({traced.names})")
    variables = []
    for n, s, d in zip(traced.names, traced.shapes, traced.dtypes):
        dims = tuple(output_dims.get(n, tuple(f"{n}_d{i}" for i in range(len(s)))))
        if len(dims) != len(s):
            raise ValueError(f"output_dims[{n!r}] = {dims} does not match its per-point shape {s}")
        if n in g.names or n in g.dims:
            raise ValueError(f"output {n!r} has the same name as a grid parameter/dimension")
        variables.append(VarSpec(n, s, d, dims))

    meta = {"format": 1, "grid": g.fingerprint(), "function": traced.fingerprint,
            "outputs": [[v.name, list(v.shape), v.dtype] for v in variables],
            "fill_value": repr(complex(fill_value)), "x64": x64,
            "function_name": getattr(fn, "__name__", type(fn).__name__), "grid_summary": g.describe()}
    old = None
    if store is not None and not overwrite:
        old = ZarrSink.read_meta(store)
        if old is not None:
            if not resume:
                raise FileExistsError(f"store {store!r} exists; pass resume=True to continue it "
                                      "or overwrite=True to discard it")
            check_resume(old, meta, store)
    if old is not None:
        plan = _Plan(g.shape, old["plan"]["k"], tuple(old["plan"]["block"]), len(devs))
    else:
        per_point = (traced.io_bytes * 3 if batch_size else traced.point_bytes + 2 * traced.io_bytes)
        room = budget - (batch_size or 0) * traced.point_bytes * len(devs)
        max_pts = max(1, room // max(per_point, 1))
        max_pts = min(max_pts, chunk_size or _DEFAULT_MAX_CHUNK)
        if chunk_size is None and devs[0].platform == "cpu":
            # CPU "device" memory is host memory: a chunk whose inputs/outputs stay in cache is
            # computed, status-checked and copied into the result without extra DRAM passes
            max_pts = min(max_pts, max(1, _CPU_CHUNK_BYTES // max(traced.io_bytes, 1)))
        plan = _make_plan(g.shape, max_pts, len(devs))
    meta["plan"] = plan.to_json()
    if store is not None:
        sink = ZarrSink(store, g, variables, plan, meta, fill_value, create=old is None)
    else:
        sink = MemorySink(g, variables, plan, meta, fill_value)

    spec = _Spec(g.names, dtypes, tuple(pf[n][0] for n in g.names), plan.k, plan.block, batch_size,
                 complex(fill_value) if np.iscomplexobj(fill_value) else float(fill_value), x64,
                 traced.fingerprint)
    todo = [b for b in range(plan.n_blocks) if not sink.done[b]]
    stats = {"n_points": g.size, "n_chunks": plan.n_blocks, "chunk_points": plan.points,
             "chunks_resumed": plan.n_blocks - len(todo), "chunks_computed": 0, "chunks_fallback": 0,
             "memory_budget_bytes": budget, "devices": [str(d) for d in devs], "errors": []}
    bar = _Progress(progress, g.size, g.size - sum(_n_valid(plan, b) for b in todo))
    t1 = time.perf_counter()
    with _quiet_callbacks():
        if not todo:
            pass
        elif executor is None:
            ev = _cached_evaluator(traced, spec, devs)
            stats["device_bytes_per_chunk"] = ev.device_bytes
            _run_local(ev, traced.names, g, plan, todo, sink, stats, bar)
        else:
            from .executors import _ChunkTask, _run_executor

            _run_executor(_ChunkTask(fn, spec), traced.names, executor, g, plan, todo, sink, stats, bar,
                          max_retries, max_inflight)
    bar.close()
    dt = time.perf_counter() - t1
    computed = sum(_n_valid(plan, b) for b in todo)
    stats.update(seconds=time.perf_counter() - t0, compute_seconds=dt,
                 points_per_second=computed / dt if dt > 0 and computed else None)
    ds = sink.dataset()
    ds.attrs["sweep_stats"] = json.dumps(stats)
    return ds


def _n_valid(plan: _Plan, b: int) -> int:
    kb = b % -(-plan.shape[plan.k] // plan.block[0])  # index along the chunked axis
    c = min(plan.block[0], plan.shape[plan.k] - kb * plan.block[0])
    return c * math.prod(plan.block[1:])


def _block_inputs(g: Grid, plan: _Plan, b: int):
    """The per-parameter slices chunk ``b`` needs (lead scalars, padded axis slice, trailing)."""
    idx = np.unravel_index(b, plan.block_grid)
    vals = []
    for i, f in enumerate(g.factors):
        for _, v in f.params:
            if i < plan.k:
                vals.append(v[idx[i]])
            elif i == plan.k:
                s = int(idx[-1]) * plan.block[0]
                sl = v[s: s + plan.block[0]]
                if sl.shape[0] < plan.block[0]:  # the last chunk: pad by repeating a real point
                    sl = np.pad(sl, (0, plan.block[0] - sl.shape[0]), mode="edge")
                vals.append(sl)
            else:
                vals.append(v)
    return vals


def _store_block(sink, plan, b, names, outs, st):
    n = st.shape[0]
    bshape = (n // math.prod(plan.block[1:]),) + plan.block[1:]
    lead = (1,) * plan.k
    values = {nm: o.reshape(lead + bshape + o.shape[1:]) for nm, o in zip(names, outs)}
    sink.write(b, values, st.reshape(lead + bshape))


def _run_local(ev: _Evaluator, names, g, plan, todo, sink, stats, bar):
    # device copies of trailing-axis inputs live for one sweep only: a grid array mutated in
    # place between two sweeps must not be served from a stale copy
    ev._inputs.clear()
    try:
        _run_chunks(ev, names, g, plan, todo, sink, stats, bar)
    finally:
        ev._inputs.clear()


def _run_chunks(ev: _Evaluator, names, g, plan, todo, sink, stats, bar):
    pending = None

    def finish(p):
        b, vals, outs = p
        n = _n_valid(plan, b)
        try:
            if isinstance(outs, Exception):
                raise outs
            res, st = ev.fetch(outs, n)
        except Exception:  # noqa: BLE001 - the chunk raised: isolate the bad points
            res, st, err = ev.fallback(vals, n)
            stats["chunks_fallback"] += 1
            if err and len(stats["errors"]) < 5:
                stats["errors"].append(err)
        _store_block(sink, plan, b, names, res, st)
        stats["chunks_computed"] += 1
        bar.update(n)

    for b in todo:
        vals = _block_inputs(g, plan, b)
        try:
            outs = ev.launch(vals)
        except Exception as err:  # noqa: BLE001 - dispatch-time failure, handled in finish
            outs = err
        if pending is not None:
            finish(pending)
        pending = (b, vals, outs)
    if pending is not None:
        finish(pending)


class _Progress:
    """tqdm over points (shows points/s and ETA), a user callable, or nothing."""

    def __init__(self, progress, total, initial):
        self.cb, self.bar, self.done, self.total = None, None, initial, total
        if callable(progress):
            self.cb = progress
        elif progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="pt", unit_scale=True, desc="sweep",
                            smoothing=0.1)

    def update(self, n):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        if self.cb is not None:
            self.cb(self.done, self.total)

    def close(self):
        if self.bar is not None:
            self.bar.close()
