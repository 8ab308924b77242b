"""Large parameter sweeps: chunked, sharded, distributed, checkpointed, verified (docs/architecture.md, "Scale-out").

``sweep(fn, grid)`` evaluates a pure JAX function of one parameter point on every point of a
grid (:mod:`jaxbind.workflows.sweep.grid`) and returns an :class:`xarray.Dataset` whose coordinates
are the grid and whose variables are the outputs of ``fn`` plus ``status``.

Contract for ``fn``
-------------------
* Called as ``fn(**point)``: one keyword per grid parameter, each a scalar of the grid's
  dtype (float64 if x64 is enabled, else float32; ints and complex kept). Fix other arguments
  with ``functools.partial``. It must be traceable by JAX and pure (no Python side effects).
* Returns a pytree of arrays (a bare array, dict, tuple, ``eqx.Module``…). Each leaf becomes
  a variable named by its path (``"q_ext"``, ``"state_mean"``; a bare array is ``"value"``).
  Complex leaves stay complex.
* Declarations (optional; an argument of ``sweep`` wins over the function's attribute, and
  attributes are found through ``functools.partial``):

  - ``units={"f": "N"}`` / attribute ``fn.units``: the ``units`` attribute of each variable;
  - ``output_dims={"f": ("particle", "axis")}`` / attribute ``fn.output_dims`` (or
    ``fn.dims``): names of the per-point dims (undeclared ones are ``<name>_d0, …``);
  - ``compiler_options={...}`` / attribute ``fn.compiler_options``: XLA options the chunk
    program is compiled with on CPU backends (as ``jax.jit(f).lower(...).compile(options)``),
    so a kernel whose fast path needs them (``jaxbind.contrib.CPU_COMPILER_OPTIONS``)
    runs as fast in a sweep as called directly; ignored on accelerators.
* ``fn`` is traced exactly once per sweep (to a jaxpr that is fingerprinted for resume) and
  the chunk computation is compiled exactly once; later chunks reuse the executable.

Per-point status (a bad point never aborts or poisons a sweep)
--------------------------------------------------------------
``status`` is an int32 variable holding a :data:`jaxbind.RESULTS` code (decode it with
``jaxbind.results.message`` or the ``result_codes`` attribute the Dataset and the store
carry): 0 successful, ``RESULTS.nonfinite`` a non-finite output (NaN/inf),
``RESULTS.kernel_error`` the point raised when evaluated alone, ``RESULTS.not_computed`` not
computed yet (unfinished store), any other code as reported by the kernel. For every point
with status ≠ 0 all outputs read NaN (float), NaN + NaN·j (complex) or the integer sentinel
of :func:`jaxbind.workflows.sweep.store.fill_for`; mask with ``ds.where(ds.status == 0)``.

* **Preferred: result-returning kernels.** If the output pytree has a top-level ``result``
  leaf (a ``RESULTS`` item, e.g. the ``result`` field of every jaxbind result type, called
  with ``throw=False``), its code is the point's status, computed inside the compiled chunk:
  a bad point costs what a good point costs.
* **Legacy integer ``status`` leaf** (a dict key or a field, integer scalar): a non-zero
  value gives ``RESULTS.kernel_status``, and the raw value is kept in the variable
  ``kernel_status`` (its codes are the kernel module's own).
* **Non-finite outputs** are detected for every kernel, so a kernel without a status leaf
  still yields a truthful status.
* **Kernels that raise** (``eqx.error_if``, e.g. a single-point API with ``throw=True``).
  Under ``vmap`` an error check's predicate is reduced over the whole batch, so one bad
  point would make the whole chunk raise. The sweep therefore evaluates the traced program
  with every check reachable through calls (``jit``, custom JVP/VJP) turned into a per-point
  flag: a point whose check fails gets ``RESULTS.kernel_error``, at the cost of a good
  point. A check inside a loop body is left as it is; a chunk holding such a bad point
  raises, and its bad points are found by bisection with the same vectorised program (a
  range is evaluated with the rest of the chunk replaced by copies of one of its points;
  ranges that raise are split): k bad points cost about 2·k·log2(chunk) chunk evaluations,
  bounded by point-by-point cost for chunks of mostly bad points. Finished chunks are never
  lost.

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

Store, resume, locking, interruption
------------------------------------
``store="path.zarr"`` writes each finished chunk to a checksummed zarr store (:mod:`.store`);
the returned Dataset is opened lazily from it. Rerunning the same call after a crash
(SIGKILL, node loss, disk full) computes only the missing chunks and gives a result
identical to an uninterrupted run; a different grid, function or output structure is
refused. On resume every chunk flagged done is verified (every variable's chunk file exists
and its checksum matches); missing or damaged chunks are recomputed and reported by file
name (a ``RuntimeWarning`` and ``sweep_stats["damaged"]``). ``verify_store(path)`` /
``jaxbind verify STORE`` run the same check without computing. While a sweep writes a store
it holds ``<store>.lock``; a second sweep on the same store is refused with
:class:`~jaxbind.workflows.sweep.store.StoreLockedError` naming the owner (a stale lock of a dead
process is taken over). Ctrl-C (SIGINT) stops after the chunk being written and raises
:class:`SweepInterrupted` (a ``KeyboardInterrupt`` with a one-line message); the store is
resumable. A second Ctrl-C interrupts at once (still resumable: an unfinished chunk is
recomputed).

Executors
---------
``executor=`` runs chunks elsewhere; exactly what is supported (a Dask ``Client``, an
Executor factory, or a ``concurrent.futures.Executor`` instance) and how broken pools are
recreated is in :mod:`jaxbind.workflows.sweep.executors`. Each chunk is a pure, picklable task; a
worker traces and compiles once and caches the executable; the driver writes results, so
workers need no shared filesystem. A task that fails (worker died) is resubmitted up to
``max_retries`` times. On a cluster::

    from dask_jobqueue import SLURMCluster        # or PBSCluster
    cluster = SLURMCluster(cores=8, memory="64GB", processes=1,
                           job_extra_directives=["--gres=gpu:1"])
    cluster.scale(jobs=16)                         # 16 GPU nodes, one worker each
    ds = sweep(fn, grid, executor=Client(cluster), store="/scratch/run.zarr")
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import re
import signal
import threading
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence
import os

import jax
import numpy as np

if TYPE_CHECKING:  # optional dependency, imported when a sweep returns
    import xarray

from ._chunks import cached_evaluator, Evaluator, quiet_callbacks, Spec, trace
from .grid import Grid, as_grid
from .store import (ChunkGeometry, ERROR, FORMAT, NONFINITE, OK, PENDING, MemorySink, StoreLock, VarSpec, ZarrSink,
                    check_resume, result_attrs, verify_store)

__all__ = ["sweep", "Grid", "SweepInterrupted", "verify_store", "OK", "NONFINITE", "ERROR", "PENDING"]

_DEFAULT_MAX_CHUNK = 1 << 24  # points; keeps progress/resume granular on big grids
_CPU_CHUNK_BYTES = 4 << 20  # inputs + outputs per chunk on CPU backends (cache-sized)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a sweep; its message says how much is done and how to resume."""


# --- the chunk plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan(ChunkGeometry):
    """The chunk geometry of a sweep plus the number of devices it is sharded over."""

    n_dev: int = 1

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


def _declared(fn, attr):
    """``fn.<attr>``, looked up through ``functools.partial`` wrappers."""
    while fn is not None:
        v = getattr(fn, attr, None)
        if v is not None:
            return v
        fn = getattr(fn, "func", None) if isinstance(fn, functools.partial) else None
    return None


def _options(opts) -> tuple:
    if opts is None:
        return ()
    if not isinstance(opts, dict):
        raise TypeError(f"compiler_options must be a dict of XLA flags, got {type(opts).__name__}")
    return tuple(sorted((str(k), v) for k, v in opts.items()))


class _SigInt:
    """First Ctrl-C: finish the chunk being written, then stop (``stop()`` is True); a second
    one raises KeyboardInterrupt at once. Only in the main thread with the default handler."""

    def __init__(self):
        self.hit = False
        self.old = None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True

    def __call__(self) -> bool:
        return self.hit

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)


def sweep(fn: Callable[..., Any], grid: Grid | Mapping[str, Any], *, batch_size: int | None = None,
          memory_budget: int | str = "auto", chunk_size: int | None = None,
          devices: int | Sequence[jax.Device] | None = None, executor: Any = None,
          store: str | os.PathLike | None = None, resume: bool = True, overwrite: bool = False,
          progress: bool | Callable[[int, int], Any] = True, fill_value: complex | None = None,
          output_dims: Mapping[str, tuple[str, ...]] | None = None,
          units: Mapping[str, str] | None = None, compiler_options: Mapping[str, Any] | None = None,
          max_retries: int = 2, max_inflight: int | None = None) -> xarray.Dataset:
    """Evaluate ``fn`` on every point of ``grid``; chunked, sharded, checkpointed, verified.

    See the module docstring for the contract (status codes, declarations, resume, locking,
    executors).

    Args:
        fn: pure JAX function ``fn(**point) -> pytree of arrays``.
        grid: ``{"name": 1-D values, …}`` (cartesian product) or a :class:`Grid`.
        batch_size: if given, points inside a chunk run through ``lax.map`` in vmapped
            batches of this size (bounds intermediates); default one ``vmap`` per chunk.
        memory_budget: device bytes per chunk (int or "512MB"); "auto": 40 % of accelerator
            memory, 512 MiB on CPU.
        chunk_size: maximum points per chunk (overrides the budget; for tests and tuning).
        devices: local devices to shard chunks over (None: all; int: the first n).
        executor: a dask ``Client``, a ``concurrent.futures.Executor`` or a zero-argument
            function returning one (see :mod:`jaxbind.workflows.sweep.executors`).
        store: path of a zarr store written chunk by chunk (None: in memory).
        resume: continue an existing store written by the same sweep (True) or refuse (False).
        overwrite: discard an existing store first.
        progress: tqdm bar (True), none (False), or a callable ``progress(done, total)``.
        fill_value: value of outputs at points with status ≠ 0; default None: NaN for float
            and complex outputs, the sentinel of ``store.fill_for`` for integer ones.
        output_dims: ``{output name: tuple of dim names}`` for per-point output dims
            (default: ``fn.output_dims`` if declared).
        units: ``{output name: units string}`` (default: ``fn.units`` if declared).
        compiler_options: XLA compiler options for the chunk program on CPU backends
            (default: ``fn.compiler_options`` if declared).
        max_retries: resubmissions of a chunk whose task failed on an executor.
        max_inflight: chunks submitted to an executor at once (default 2 × workers).

    Returns:
        ``xarray.Dataset``: grid coordinates, one variable per output, ``status``; lazily
        backed by the store when ``store`` is given. ``ds.attrs["sweep_stats"]`` (JSON) has
        chunk counts, timings, points/s, the compiled chunk's device memory and the chunk
        files found damaged and recomputed; ``ds.attrs["result_codes"]`` decodes ``status``.

    Raises:
        SweepInterrupted: on Ctrl-C (the store is resumable).
        jaxbind.workflows.sweep.store.StoreLockedError: another sweep is writing ``store``.
    """
    t0 = time.perf_counter()
    g = as_grid(grid)
    _check_signature(fn, g.names)
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    if fill_value is not None and (isinstance(fill_value, bool) or not isinstance(fill_value, (int, float, complex))):
        raise TypeError(f"fill_value must be a number or None, got {fill_value!r}")
    devs = _resolve_devices(devices)
    budget = _parse_bytes(memory_budget, devs)
    x64 = bool(jax.config.jax_enable_x64)
    pf = g.param_factor()
    dtypes = tuple(np.dtype(jax.dtypes.canonicalize_dtype(pf[n][1].dtype)).str for n in g.names)
    traced = trace(fn, g.names, dtypes)
    copts = _options(compiler_options if compiler_options is not None else _declared(fn, "compiler_options"))

    if output_dims is None:
        output_dims = _declared(fn, "output_dims") or _declared(fn, "dims") or {}
    output_dims = dict(output_dims)
    if units is None:
        # a declaration on fn (e.g. the CLI registry) may also give the parameters' units:
        # keep those of the outputs
        units = {n: u for n, u in (_declared(fn, "units") or {}).items() if n in traced.names}
    units = dict(units)
    for what, decl in (("output_dims", output_dims), ("units", units)):
        for n in decl:
            if n not in traced.names:
                raise ValueError(f"{what} names {n!r}, which is not an output of fn ({traced.names})")
    for n, u in units.items():
        if not isinstance(u, str):
            raise TypeError(f"units[{n!r}] must be a string, got {u!r}")
    variables = []
    for n, sh, d in zip(traced.names, traced.shapes, traced.dtypes):
        dims = tuple(output_dims.get(n, tuple(f"{n}_d{i}" for i in range(len(sh)))))
        if len(dims) != len(sh):
            raise ValueError(f"output_dims[{n!r}] = {dims} does not match its per-point shape {sh}")
        if n in g.names or n in g.dims:
            raise ValueError(f"output {n!r} has the same name as a grid parameter/dimension")
        variables.append(VarSpec(n, sh, d, dims, units.get(n)))
    for n, (sh, dims) in {v.name: (v.shape, v.dims) for v in variables}.items():
        for dim, size in zip(dims, sh):
            for w in variables:
                if dim in w.dims and w.shape[w.dims.index(dim)] != size:
                    raise ValueError(f"dim {dim!r} has size {size} in {n!r} but "
                                     f"{w.shape[w.dims.index(dim)]} in {w.name!r}")

    fill = None if fill_value is None else repr(fill_value)
    meta = {"format": FORMAT, "grid": g.fingerprint(), "function": traced.fingerprint,
            "outputs": [[v.name, list(v.shape), v.dtype, list(v.dims), v.units] for v in variables],
            "fill": fill, "x64": x64,
            "function_name": getattr(fn, "__name__", type(fn).__name__), "grid_summary": g.describe()}
    lock = None
    if store is not None:
        lock = StoreLock(store, f"{meta['grid'][:16]}-{meta['function'][:16]}").acquire()
    try:
        return _sweep_locked(fn, g, traced, meta, variables, devs, budget, dtypes, pf, x64, copts,
                             t0=t0, batch_size=batch_size, chunk_size=chunk_size, executor=executor,
                             store=store, resume=resume, overwrite=overwrite, progress=progress,
                             fill=fill, max_retries=max_retries, max_inflight=max_inflight)
    finally:
        if lock is not None:
            lock.release()


def _sweep_locked(fn, g, traced, meta, variables, devs, budget, dtypes, pf, x64, copts, *, t0,
                  batch_size, chunk_size, executor, store, resume, overwrite, progress, fill,
                  max_retries, max_inflight):
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
        sink = ZarrSink(store, g, variables, plan, meta, create=old is None)
    else:
        sink = MemorySink(g, variables, plan, meta)
    if sink.damaged:
        warnings.warn(f"sweep store {store}: {len(sink.damaged)} chunk file(s) missing or damaged, "
                      f"recomputing: " + "; ".join(f"{f} ({p.split(' (')[0]})" for f, p in sink.damaged[:5])
                      + (" …" if len(sink.damaged) > 5 else ""), RuntimeWarning, stacklevel=3)

    spec = Spec(g.names, dtypes, tuple(pf[n][0] for n in g.names), plan.k, plan.block, batch_size,
                 fill, x64, traced.fingerprint, copts)
    todo = [b for b in range(plan.n_blocks) if not sink.done[b]]
    stats = {"n_points": g.size, "n_chunks": plan.n_blocks, "chunk_points": plan.points,
             "chunks_resumed": plan.n_blocks - len(todo), "chunks_computed": 0, "chunks_fallback": 0,
             "memory_budget_bytes": budget, "devices": [str(d) for d in devs], "errors": [],
             "damaged": [f"{f}: {p}" for f, p in sink.damaged]}
    bar = _Progress(progress, g.size, g.size - sum(_n_valid(plan, b) for b in todo))
    t1 = time.perf_counter()
    try:
        with quiet_callbacks(), _SigInt() as stop:
            if not todo:
                pass
            elif executor is None:
                ev = cached_evaluator(traced, spec, devs)
                stats["device_bytes_per_chunk"] = ev.device_bytes
                _run_local(ev, traced.names, g, plan, todo, sink, stats, bar, stop)
            else:
                from .executors import ChunkTask, run_on_executor

                def deliver(b, res):
                    vals, st, err, fell_back = res
                    _record(sink, plan, b, traced.names, vals, st, err, fell_back, stats, bar)

                run_on_executor(ChunkTask(fn, spec), todo, lambda b: _block_inputs(g, plan, b),
                                lambda b: _n_valid(plan, b), deliver, executor, max_retries=max_retries,
                                max_inflight=max_inflight, stop=stop, n_blocks=plan.n_blocks,
                                n_done=lambda: int(np.sum(sink.done)))
            if stop():
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        done = int(np.sum(sink.done))
        where = (f"{done} of {plan.n_blocks} chunks are complete in {store}; rerun the same sweep to resume"
                 if store is not None else f"{done} of {plan.n_blocks} chunks were computed (no store: "
                 "pass store= to make a sweep resumable)")
        raise SweepInterrupted(f"sweep interrupted: {where}") from None
    finally:
        bar.close()
    dt = time.perf_counter() - t1
    computed = sum(_n_valid(plan, b) for b in todo)
    stats.update(seconds=time.perf_counter() - t0, compute_seconds=dt,
                 points_per_second=computed / dt if dt > 0 and computed else None)
    ds = sink.dataset()
    ds.attrs["sweep_stats"] = json.dumps(stats)
    ds.attrs.update(result_attrs())
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


def _record(sink, plan, b, names, vals, st, err, fell_back, stats, bar):
    if fell_back:
        stats["chunks_fallback"] += 1
    if err and len(stats["errors"]) < 5:
        stats["errors"].append(err)
    _store_block(sink, plan, b, names, vals, st)
    stats["chunks_computed"] += 1
    bar.update(_n_valid(plan, b))


def _run_local(ev: Evaluator, names, g, plan, todo, sink, stats, bar, stop):
    # device copies of trailing-axis inputs live for one sweep only: a grid array mutated in
    # place between two sweeps must not be served from a stale copy
    ev._inputs.clear()
    try:
        _run_chunks(ev, names, g, plan, todo, sink, stats, bar, stop)
    finally:
        ev._inputs.clear()


def _run_chunks(ev: Evaluator, names, g, plan, todo, sink, stats, bar, stop):
    pending = None

    def finish(p):
        b, vals, outs = p
        n = _n_valid(plan, b)
        err, fell_back = None, False
        try:
            if isinstance(outs, Exception):
                raise outs
            res, st = ev.fetch(outs, n)
        except Exception:  # noqa: BLE001 - the chunk raised: isolate the bad points
            res, st, err = ev.fallback(vals, n)
            fell_back = True
        _record(sink, plan, b, names, res, st, err, fell_back, stats, bar)

    for b in todo:
        if stop():
            break
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
