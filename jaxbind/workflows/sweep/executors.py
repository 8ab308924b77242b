"""Running sweep chunks on an executor: what ``sweep(executor=...)`` accepts, and its retries.

Supported (each tested):

* a Dask ``distributed.Client`` (the reference engine for clusters; a lost worker's tasks are
  resubmitted);
* a zero-argument **factory** returning a :class:`concurrent.futures.Executor`, e.g.
  ``functools.partial(ProcessPoolExecutor, 4, mp_context=multiprocessing.get_context("spawn"))``:
  the sweep creates the executor, recreates it when it breaks (a process pool whose worker
  died raises ``BrokenProcessPool`` on every later submission) and shuts it down at the end —
  the recommended form for process pools;
* a :class:`concurrent.futures.Executor` instance (``ThreadPoolExecutor``,
  ``ProcessPoolExecutor`` with the ``spawn`` or ``forkserver`` start method, or any
  third-party Executor): failed tasks are resubmitted; if the instance itself breaks, a
  ``ProcessPoolExecutor`` is replaced by a new spawn pool (and a ``ThreadPoolExecutor`` by a
  new thread pool) of ``max_inflight`` (default: CPU count) workers that the sweep owns for
  the rest of the run; any other broken executor ends the sweep with a message (finished
  chunks stay in the store; pass a factory to let the sweep recreate it).

Anything else (e.g. ``ray.util.multiprocessing.Pool`` or ``multiprocessing.Pool``, which are
not Executors) is refused with a ``TypeError``; Ray users can run the sweep through Dask on
Ray or wrap Ray in a ``concurrent.futures.Executor``.

Workers must not be forked from a process in which JAX runs: a worker started with ``fork``
refuses its task (detected with :func:`os.register_at_fork`), and the sweep raises a
``ValueError`` naming the fix. Each chunk is a pure, picklable task (:class:`ChunkTask`:
``fn``, a small spec, the chunk's parameter slices). A worker traces and compiles once
(cached per process) and returns host arrays; the driver writes them, so workers need no
shared filesystem. A task that fails is resubmitted up to ``max_retries`` times; chunks
already written stay written.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import pickle
import warnings

import jax

from ._chunks import Evaluator, quiet_callbacks, short_error, Spec, trace

__all__ = ["ChunkTask", "ForkedWorkerError", "run_on_executor"]

_WORKER_CACHE: dict = {}
_FORKED = False


def _after_fork_in_child():  # pragma: no cover - runs in forked children
    global _FORKED
    _FORKED = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class ForkedWorkerError(RuntimeError):
    """A sweep task ran in a worker forked from a process where JAX had started."""


_FORK_MSG = ("the executor's workers are forked from a process in which JAX runs, which is unsafe "
             "(XLA's threads do not survive fork); use a spawn pool: "
             "ProcessPoolExecutor(n, mp_context=multiprocessing.get_context('spawn'))")


class ChunkTask:
    """A picklable chunk evaluation: ``task(vals, n_valid)`` → host arrays (runs on a worker)."""

    def __init__(self, fn, spec: Spec):
        self.fn, self.spec = fn, spec

    def __call__(self, vals, n_valid):
        if _FORKED:
            raise ForkedWorkerError(_FORK_MSG)
        spec = self.spec
        with jax.enable_x64(spec.x64), quiet_callbacks():
            ev = _WORKER_CACHE.get(spec)
            if ev is None:
                traced = trace(self.fn, spec.names, spec.dtypes)
                if traced.fingerprint != spec.fingerprint:
                    raise RuntimeError("sweep worker traced a different computation than the driver "
                                       "(different jax/jaxbind versions or fn?)")
                ev = Evaluator(traced, spec, jax.local_devices())
                _WORKER_CACHE.clear()
                _WORKER_CACHE[spec] = ev
            return ev.run(vals, n_valid)


def _is_dask_client(x) -> bool:
    return hasattr(x, "get_executor") and hasattr(x, "scheduler_info")


class _Pool:
    """The executor chunks are submitted to, recreated when it breaks (see module doc)."""

    def __init__(self, executor, max_inflight):
        self.factory, self.mine, self.generation = None, [], 0
        self.workers = max_inflight or os.cpu_count() or 2
        if _is_dask_client(executor):
            self.ex = executor.get_executor(pure=False)
            self.workers = len(executor.scheduler_info().get("workers", {})) or 1
            self.dask = True
            return
        self.dask = False
        if isinstance(executor, cf.Executor):
            self.ex = executor
        elif callable(executor) and not hasattr(executor, "apply_async"):
            self.factory = executor
            self.ex = self._make()
        else:
            raise TypeError(
                f"executor must be a concurrent.futures.Executor, a zero-argument function returning "
                f"one, or a dask distributed.Client; got {type(executor).__name__} (Pool-style objects "
                "such as multiprocessing.Pool or ray.util.multiprocessing.Pool are not supported)")

    def _make(self):
        ex = self.factory()
        if not isinstance(ex, cf.Executor):
            raise TypeError(f"the executor factory returned {type(ex).__name__}, not a "
                            "concurrent.futures.Executor")
        self.mine.append(ex)
        return ex

    def renew(self, cause) -> None:
        """Replace a broken executor (a worker died); raises if it cannot be recreated."""
        old = self.ex
        if self.factory is not None:
            self.ex = self._make()
        elif isinstance(old, cf.ProcessPoolExecutor):
            self.ex = cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            self.mine.append(self.ex)
            warnings.warn(f"sweep: the process pool broke ({short_error(cause)}); continuing on a new spawn "
                          f"pool of {self.workers} workers (pass a factory to control how pools are made)",
                          RuntimeWarning, stacklevel=4)
        elif isinstance(old, cf.ThreadPoolExecutor):
            self.ex = cf.ThreadPoolExecutor(self.workers)
            self.mine.append(self.ex)
        else:
            raise RuntimeError(f"the executor broke ({short_error(cause)}) and the sweep cannot recreate a "
                               f"{type(old).__name__}; pass a factory (executor=lambda: ...) instead")
        self.generation += 1
        if any(old is m for m in self.mine):
            old.shutdown(wait=False, cancel_futures=True)

    def submit(self, *args):
        try:
            return self.ex.submit(*args), self.generation
        except cf.BrokenExecutor as err:
            self.renew(err)
            return self.ex.submit(*args), self.generation

    def close(self):
        if any(self.ex is m for m in self.mine):
            self.ex.shutdown(wait=True, cancel_futures=True)


def run_on_executor(task, todo, inputs, n_valid, deliver, executor, *, max_retries, max_inflight,
                    stop=lambda: False, n_blocks=None, n_done=lambda: 0):
    """Run chunk ``b`` of ``todo`` as ``task(inputs(b), n_valid(b))`` on ``executor``;
    ``deliver(b, result)`` is called in the driver for each finished chunk. ``stop()`` is
    polled between completions (SIGINT): pending tasks are cancelled and it returns."""
    pool = _Pool(executor, max_inflight)
    try:
        try:
            pickle.dumps(task)
        except Exception as err:
            if not pool.dask:
                raise TypeError(f"fn must be picklable to run on an executor (define it at module level; "
                                f"use functools.partial for fixed arguments): {err}") from err
        window = max_inflight or 2 * pool.workers
        queue = list(todo)
        tries = {b: 0 for b in todo}
        running = {}

        def cancel_all():
            for f in running:
                f.cancel()

        while queue or running:
            if stop():
                cancel_all()
                return
            while queue and len(running) < window:
                b = queue.pop(0)
                fut, gen = pool.submit(task, inputs(b), n_valid(b))
                running[fut] = (b, gen)
            finished, _ = cf.wait(list(running), timeout=0.5, return_when=cf.FIRST_COMPLETED)
            broken = None
            for fut in finished:
                b, gen = running.pop(fut)
                try:
                    res = fut.result()
                except ForkedWorkerError as exc:
                    cancel_all()
                    raise ValueError(f"sweep: {exc}") from None
                except Exception as exc:  # noqa: BLE001 - worker/infrastructure failure
                    if isinstance(exc, cf.BrokenExecutor) and gen == pool.generation:
                        broken = exc
                    tries[b] += 1
                    if tries[b] > max_retries:
                        cancel_all()
                        raise RuntimeError(f"sweep chunk {b} failed {tries[b]} times on the executor "
                                           f"({short_error(exc)}); {n_done()} of {n_blocks} chunks are "
                                           "complete (in the store, if one was given)") from exc
                    queue.append(b)
                    continue
                deliver(b, res)
            if broken is not None:
                pool.renew(broken)
    finally:
        pool.close()
