"""Running sweep chunks on a ``concurrent.futures.Executor`` or a Dask ``Client``.

Each chunk is a pure, picklable task (:class:`_ChunkTask`: ``fn``, a small spec, the chunk's
parameter slices). A worker traces and compiles once (cached per process) and returns host
arrays; the driver writes them, so workers need no shared filesystem. Failed tasks (a worker
died) are resubmitted up to ``max_retries`` times; chunks already written stay written.
See :mod:`jaxbind.workflows.sweep` for the contract and cluster usage.
"""

from __future__ import annotations

import concurrent.futures as cf
import pickle

import jax
import numpy as np

from ._chunks import _Evaluator, _quiet_callbacks, _short, _Spec
from .sweep import _block_inputs, _n_valid, _store_block, _trace

_WORKER_CACHE: dict = {}


class _ChunkTask:
    """A picklable chunk evaluation: ``task(vals, n_valid)`` → host arrays (runs on a worker)."""

    def __init__(self, fn, spec: _Spec):
        self.fn, self.spec = fn, spec

    def __call__(self, vals, n_valid):
        spec = self.spec
        with jax.enable_x64(spec.x64), _quiet_callbacks():
            ev = _WORKER_CACHE.get(spec)
            if ev is None:
                traced = _trace(self.fn, spec.names, spec.dtypes)
                if traced.fingerprint != spec.fingerprint:
                    raise RuntimeError("sweep worker traced a different computation than the driver "
                                       "(different jax/jaxbind versions or fn?)")
                ev = _Evaluator(traced, spec, jax.local_devices())
                _WORKER_CACHE.clear()
                _WORKER_CACHE[spec] = ev
            return ev.run(vals, n_valid)


def _as_executor(executor):
    if hasattr(executor, "get_executor") and hasattr(executor, "scheduler_info"):  # dask Client
        return executor.get_executor(pure=False), len(executor.scheduler_info().get("workers", {})) or 1, True
    if not isinstance(executor, cf.Executor):
        raise TypeError(f"executor must be a concurrent.futures.Executor or a dask Client, got {executor!r}")
    ctx = getattr(executor, "_mp_context", None)
    if ctx is not None and ctx.get_start_method() == "fork":
        raise ValueError("executor uses the 'fork' start method, which is unsafe after JAX started; "
                         "use ProcessPoolExecutor(mp_context=multiprocessing.get_context('spawn'))")
    return executor, getattr(executor, "_max_workers", 2) or 2, False



def _run_executor(task, names, executor, g, plan, todo, sink, stats, bar, max_retries, max_inflight):
    ex, n_workers, is_dask = _as_executor(executor)
    try:
        pickle.dumps(task)
    except Exception as err:
        if not is_dask:
            raise TypeError(f"fn must be picklable to run on an executor (define it at module level; "
                            f"use functools.partial for fixed arguments): {err}") from err
    window = max_inflight or 2 * n_workers
    queue = list(todo)
    tries = {b: 0 for b in todo}
    running = {}

    def submit(b):
        running[ex.submit(task, _block_inputs(g, plan, b), _n_valid(plan, b))] = b

    while queue or running:
        while queue and len(running) < window:
            submit(queue.pop(0))
        finished, _ = cf.wait(list(running), return_when=cf.FIRST_COMPLETED)
        for fut in finished:
            b = running.pop(fut)
            try:
                res, st, err, fell_back = fut.result()
            except Exception as exc:  # noqa: BLE001 - worker/infrastructure failure
                tries[b] += 1
                if tries[b] > max_retries:
                    for f in running:
                        f.cancel()
                    done = int(np.sum(sink.done))
                    raise RuntimeError(f"sweep chunk {b} failed {tries[b]} times on the executor "
                                       f"({_short(exc)}); {done} of {plan.n_blocks} chunks are "
                                       "complete (in the store, if one was given)") from exc
                queue.append(b)
                continue
            if fell_back:
                stats["chunks_fallback"] += 1
            if err and len(stats["errors"]) < 5:
                stats["errors"].append(err)
            _store_block(sink, plan, b, names, res, st)
            stats["chunks_computed"] += 1
            bar.update(_n_valid(plan, b))
