"""Gradient-based design with optax: one compiled program per run (docs/architecture.md, "Workflows").

:func:`optimize` minimises a scalar ``loss(params)`` (or ``loss(params, args)``) over the
trainable leaves of an arbitrary pytree / ``eqx.Module`` of parameters:

* the whole optimisation — every step, the loss/gradient-norm history, the stopping logic —
  is one ``jax.jit`` program: steps run in ``lax.scan`` (fixed step count) or in
  ``lax.while_loop`` (early stop on a gradient-norm or relative loss-change tolerance);
* a per-leaf *trainable* filter (a pytree prefix of bools, a callable, or
  :func:`trainable_only`) splits the parameters with ``eqx.partition``/``eqx.combine``, so one
  can optimise only the phases, only the distances, …;
* constraints by reparametrization (:class:`jaxbind.workflows.design.constraints.Constrained`
  leaves are resolved to their physical value before the loss sees them; only their latent
  variable is trained) or by projection (``project(params) -> params`` after every step);
* :func:`optimize_restarts` runs many initial guesses in parallel — ``vmap`` over restarts
  inside the scanned step, one compiled program — and returns the best;
* a loss (or gradient) that turns non-finite stops that run: the result holds the *last
  parameters with a finite loss*, ``result == RESULTS.nonfinite`` and a message, and a
  :class:`OptimizationWarning` is emitted (``throw=True`` raises instead);
* an optional tqdm progress bar is driven by an *ordered* ``jax.debug.callback`` (never an
  unordered one, whose updates may arrive out of order).

Complex parameters: JAX's ``grad`` of a real loss w.r.t. a complex leaf returns the complex
conjugate of the steepest-ascent direction, so the gradient is conjugated before it reaches
optax (then ``z ← z − η ∂L/∂z*``-type updates descend, as for real leaves).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optax

from ..._checks import is_concrete
from ...results import RESULTS, code
from ..._types import Array, Bool, Float, Int, PRNGKeyArray
from .constraints import Constrained, resolve

__all__ = [
    "OptimizeResult",
    "OptimizationWarning",
    "optimize",
    "optimize_restarts",
    "trainable_only",
    "trainable_mask",
]

_MAX_STEPS = 0  # ran the requested number of steps (internal loop code)
_CONVERGED = 1  # a tolerance (gtol / ftol) was met before the last step
_NONFINITE = 2  # the loss or its gradient became non-finite: stopped early
_RUNNING = -1

_MESSAGES = {
    _MAX_STEPS: "ran all requested steps",
    _CONVERGED: "converged (tolerance met)",
    _NONFINITE: "stopped: the loss or its gradient became non-finite; the returned "
                      "parameters are the last ones with a finite loss",
}


class OptimizationWarning(RuntimeWarning):
    """Emitted when an optimisation stops on a non-finite loss or gradient."""


def _result(st):
    """(RESULTS item, converged) from the loop's internal codes (any batch shape)."""
    if jnp.ndim(st):
        return jax.vmap(_result)(st)
    return (RESULTS.where(st == _NONFINITE, RESULTS.nonfinite, RESULTS.successful),
            st == _CONVERGED)


class OptimizeResult(eqx.Module):
    """Outcome of :func:`optimize` / :func:`optimize_restarts`.

    Attributes:
        params: optimised parameters (same structure as the input; for restarts the best
            run's, without the restart axis). On ``RESULTS.nonfinite`` the last parameters
            whose loss was finite.
        loss: () loss at ``params``.
        loss_history: (steps,) loss at the parameters *before* each step (NaN after a stop).
        grad_norm_history: (steps,) global gradient norm ‖∇L‖₂ at those parameters.
        n_steps: () number of optimizer updates applied.
        result: :data:`jaxbind.RESULTS` item: ``successful`` (ran all steps or met a
            tolerance) or ``nonfinite`` (the loss or its gradient became non-finite: stopped).
        converged: () bool, a tolerance (``gtol``/``ftol``) was met before the last step.
        restart_losses: (R,) final loss of each restart (``inf`` where a run failed), or None.
        restart_results: (R,) result of each restart, or None.
        best_restart: () index of the selected restart, or None.
        all_params: the final parameters of every restart (leading axis R), or None.
    """

    params: Any
    loss: Float[Array, ""]
    loss_history: Float[Array, " steps"]
    grad_norm_history: Float[Array, " steps"]
    n_steps: Int[Array, ""]
    result: RESULTS
    converged: Bool[Array, ""]
    restart_losses: Float[Array, " R"] | None = None
    restart_results: RESULTS | None = None
    best_restart: Int[Array, ""] | None = None
    all_params: Any = None

    @property
    def status(self):
        """int32 code of :attr:`result` (:func:`jaxbind.results.code`)."""
        return code(self.result)

    @property
    def ok(self):
        """True unless the run stopped on a non-finite loss."""
        return self.result == RESULTS.successful

    @property
    def message(self) -> str:
        """Human-readable outcome (concrete results only)."""
        if not bool(self.ok):
            return _MESSAGES[_NONFINITE]
        return _MESSAGES[_CONVERGED] if bool(self.converged) else _MESSAGES[_MAX_STEPS]

    @property
    def value(self):
        """``params`` with every :class:`Constrained` leaf resolved to its physical value."""
        return resolve(self.params)


# --------------------------------------------------------------------------------------
# trainable filters
# --------------------------------------------------------------------------------------


def _is_constrained(x):
    return isinstance(x, Constrained)


def _expand_prefix(spec, params):
    """Broadcast a pytree-prefix of bools to the full structure of ``params``."""
    return jtu.tree_map(lambda s, sub: jtu.tree_map(lambda _: bool(s), sub), spec, params,
                        is_leaf=lambda x: isinstance(x, bool))


def trainable_mask(params, trainable=None):
    """The boolean pytree (same structure as ``params``) of the leaves that are optimised.

    A leaf is trainable when ``trainable`` says so *and* it is an inexact (floating or
    complex) array. Inside a :class:`Constrained` leaf only the latent variable can be
    trainable; the transform's own arrays (bounds, periods) never are.

    Args:
        params: the parameter pytree.
        trainable: None (every inexact array), a pytree prefix of bools, or a callable
            ``leaf -> bool`` (an equinox-style filter).
    """
    if trainable is None:
        base = jtu.tree_map(lambda _: True, params)
    elif callable(trainable):
        base = jtu.tree_map(lambda x: bool(trainable(x)), params)
    else:
        try:
            base = _expand_prefix(trainable, params)
        except ValueError as err:
            raise ValueError("trainable must be None, a callable, or a pytree prefix of params "
                             f"with bool leaves: {err}") from None
    mask = jtu.tree_map(lambda b, x: b and eqx.is_inexact_array(x), base, params)

    def fix(m):
        if isinstance(m, Constrained):
            return eqx.tree_at(lambda c: c.transform, m,
                               jtu.tree_map(lambda _: False, m.transform))
        return m

    return jtu.tree_map(fix, mask, is_leaf=_is_constrained)


def trainable_only(params, where: Callable[[Any], Any]):
    """Mask that trains only the nodes selected by ``where`` (an ``eqx.tree_at`` selector).

    Example: ``trainable_only(array, lambda a: (a.phases, a.positions))`` optimises the
    tweezer phases and positions of a :class:`~jaxbind.mechanics.array.TweezerArray`.
    """
    false = jtu.tree_map(lambda _: False, params)
    sel = where(params)
    nodes = sel if isinstance(sel, tuple) else (sel,)
    repl = tuple(jtu.tree_map(lambda _: True, n) for n in nodes)

    def pick(p):
        s = where(p)
        return s if isinstance(s, tuple) else (s,)

    return eqx.tree_at(pick, false, repl, is_leaf=lambda x: x is None)


# --------------------------------------------------------------------------------------
# the compiled loop
# --------------------------------------------------------------------------------------


def _conj_complex(tree):
    return jtu.tree_map(lambda g: jnp.conj(g) if jnp.iscomplexobj(g) else g, tree)


def _tree_where(pred, a, b):
    return jtu.tree_map(lambda x, y: jnp.where(pred, x, y), a, b)


def _all_finite(tree):
    leaves = jtu.tree_leaves(tree)
    if not leaves:
        return jnp.array(True)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


class _Problem(eqx.Module):
    """Static description of a run (hashable: functions and settings only)."""

    loss: Callable = eqx.field(static=True)
    optimizer: Any = eqx.field(static=True)
    project: Callable | None = eqx.field(static=True)
    has_args: bool = eqx.field(static=True)
    gtol: float | None = eqx.field(static=True)
    ftol: float | None = eqx.field(static=True)

    def value(self, diff, static, args):
        p = resolve(eqx.combine(diff, static))
        out = self.loss(p, args) if self.has_args else self.loss(p)
        out = jnp.asarray(out)
        if out.shape != ():
            raise ValueError(f"loss must return a scalar, got shape {out.shape}")
        if jnp.iscomplexobj(out):
            raise TypeError("loss must be real-valued, got a complex value")
        return out

    def apply_project(self, diff, static):
        if self.project is None:
            return diff
        p = self.project(eqx.combine(diff, static))
        new, _ = eqx.partition(p, jtu.tree_map(lambda x: x is not None, diff,
                                               is_leaf=lambda x: x is None))
        return new


class _Carry(eqx.Module):
    diff: Any  # current trainable parameters
    opt_state: Any
    good: Any  # last parameters whose loss was finite
    good_loss: Array
    prev_loss: Array
    status: Array
    n_steps: Array


def _step(prob: _Problem, c: _Carry, static, args):
    """One optimizer update of one run (vmapped over restarts by the caller)."""
    loss, g = jax.value_and_grad(prob.value)(c.diff, static, args)
    g = _conj_complex(g)
    gnorm = optax.tree.norm(g)
    finite = jnp.isfinite(loss) & jnp.isfinite(gnorm) & _all_finite(g)
    running = c.status == _RUNNING
    conv = jnp.array(False)
    if prob.gtol is not None:
        conv = conv | (gnorm <= prob.gtol)
    if prob.ftol is not None:
        scale = jnp.maximum(jnp.abs(loss), jnp.finfo(loss.dtype).tiny)
        conv = conv | (jnp.abs(c.prev_loss - loss) <= prob.ftol * scale)
    # guard optax against NaN gradients (a stopped run must not poison its state)
    g_safe = jtu.tree_map(lambda x: jnp.where(finite, x, jnp.zeros_like(x)), g)
    # extra args feed line-search optimizers (optax.lbfgs); plain transformations ignore them
    opt = optax.with_extra_args_support(prob.optimizer)
    updates, opt_state = opt.update(g_safe, c.opt_state, c.diff, value=loss, grad=g_safe,
                                    value_fn=lambda d: prob.value(d, static, args))
    new = prob.apply_project(optax.apply_updates(c.diff, updates), static)
    move = running & finite & ~conv
    status = jnp.where(running & ~finite, _NONFINITE,
                       jnp.where(running & finite & conv, _CONVERGED, c.status))
    good_now = running & finite
    carry = _Carry(
        diff=_tree_where(move, new, c.diff),
        opt_state=_tree_where(move, opt_state, c.opt_state),
        good=_tree_where(good_now, c.diff, c.good),
        good_loss=jnp.where(good_now, loss, c.good_loss),
        prev_loss=jnp.where(good_now, loss, c.prev_loss),
        status=status.astype(jnp.int32),
        n_steps=c.n_steps + move.astype(jnp.int32),
    )
    nan = jnp.asarray(jnp.nan, loss.dtype)
    return carry, (jnp.where(running, loss, nan), jnp.where(running, gnorm, nan))


class _Progress:
    """Host side of the ordered progress callback (one tqdm bar per run, counting steps).

    A single module-level callback (stable identity, so the compiled program is reused)
    updates whichever bar :func:`optimize` opened for the current run. The bar reads
    "compiling" until the first report arrives from the running program; then its clock is
    restarted, so the rate and ETA measure the steps, not the compilation.
    """

    bar = None
    total = 0
    done = 0
    desc = ""

    @classmethod
    def open(cls, total: int, desc: str):
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover
            tqdm = None
        cls.bar = (tqdm(total=total, desc=f"{desc} (compiling)", unit="step")
                   if tqdm is not None else None)
        cls.total, cls.done, cls.desc = total, 0, desc

    @classmethod
    def close(cls):
        if cls.bar is not None:
            cls.bar.close()
        cls.bar = None

    @classmethod
    def update(cls, i, loss):
        n = min(int(i) + 1, cls.total) - cls.done
        if cls.bar is not None:
            if cls.done == 0:  # first report: compilation is over, restart the clock
                cls.bar.set_description_str(cls.desc, refresh=False)
                cls.bar.reset(total=cls.total)
            cls.bar.update(n)
            finite = np.asarray(loss)[np.isfinite(np.asarray(loss))]
            if finite.size:
                cls.bar.set_postfix(loss=f"{float(np.min(finite)):.4g}")
        cls.done += n


def _progress_callback(i, loss):
    _Progress.update(i, loss)


def _restart_axes(tree, n):
    """vmap axes for the fixed parameters: 0 where a leaf carries the restart axis, else
    None (shared by all restarts, e.g. the bounds of a Constrained leaf)."""
    return jtu.tree_map(lambda x: 0 if eqx.is_array(x) and x.ndim > 0 and x.shape[0] == n
                        else None, tree)


@eqx.filter_jit
def _run(prob: _Problem, diff, static, args, *, steps: int, batched: bool, loop: str,
         progress: bool, progress_every: int):
    init = prob.optimizer.init
    step = lambda c, s: _step(prob, c, s, args)  # noqa: E731
    value = lambda d, s: prob.value(d, s, args)  # noqa: E731
    if batched:
        n = jtu.tree_leaves(diff)[0].shape[0]
        sax = _restart_axes(static, n)
        init = eqx.filter_vmap(init)
        step = eqx.filter_vmap(step, in_axes=(eqx.if_array(0), sax))
        value = eqx.filter_vmap(value, in_axes=(eqx.if_array(0), sax))
    opt_state = init(diff)
    probe = value(diff, static)
    dt = jnp.result_type(probe.dtype, jnp.float32)
    shape = probe.shape
    c0 = _Carry(
        diff=diff, opt_state=opt_state, good=diff,
        good_loss=jnp.full(shape, jnp.nan, dt), prev_loss=jnp.full(shape, jnp.inf, dt),
        status=jnp.full(shape, _RUNNING, jnp.int32), n_steps=jnp.zeros(shape, jnp.int32),
    )

    def report(i, losses):
        if progress:
            jax.lax.cond(
                (i % progress_every == progress_every - 1) | (i == steps - 1),
                lambda: jax.debug.callback(_progress_callback, i, losses, ordered=True),
                lambda: None,
            )

    if loop == "scan":
        def body(c, i):
            c, out = step(c, static)
            report(i, out[0])
            return c, out

        c, (lh, gh) = jax.lax.scan(body, c0, jnp.arange(steps))
        if batched:
            lh, gh = lh.T, gh.T
    else:
        hist = jnp.full(shape + (steps,), jnp.nan, dt)

        def cond(state):
            i, c, _, _ = state
            return (i < steps) & jnp.any(c.status == _RUNNING)

        def body(state):
            i, c, lh, gh = state
            c, (l, g) = step(c, static)
            report(i, l)
            return i + 1, c, lh.at[..., i].set(l), gh.at[..., i].set(g)

        _, c, lh, gh = jax.lax.while_loop(cond, body, (0, c0, hist, hist))

    # the final parameters have not been evaluated yet: do it, and fall back to the last
    # good ones if they are not finite
    final = value(c.diff, static)
    ok_final = jnp.isfinite(final) & (c.status != _NONFINITE)
    status = jnp.where(c.status == _RUNNING, _MAX_STEPS, c.status)
    status = jnp.where(~jnp.isfinite(final) & (status != _NONFINITE),
                       _NONFINITE, status).astype(jnp.int32)
    params = _tree_where(ok_final, c.diff, c.good) if not batched else jtu.tree_map(
        lambda x, y: jnp.where(ok_final.reshape(ok_final.shape + (1,) * (x.ndim - 1)), x, y),
        c.diff, c.good)
    loss = jnp.where(ok_final, final, c.good_loss)
    return params, loss, lh, gh, c.n_steps, status


def _check_settings(optimizer, steps, loop, gtol, ftol, progress_every):
    if optimizer is None:
        optimizer = optax.adam(1e-2)
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(f"optimizer must be an optax GradientTransformation, got {type(optimizer).__name__}")
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    for name, t in (("gtol", gtol), ("ftol", ftol)):
        if t is not None and not (isinstance(t, (int, float)) and np.isfinite(t) and t >= 0):
            raise ValueError(f"{name} must be a non-negative float or None, got {t!r}")
    if loop is None:
        loop = "while" if (gtol is not None or ftol is not None) else "scan"
    if loop not in ("scan", "while"):
        raise ValueError(f"loop must be 'scan' or 'while', got {loop!r}")
    if not isinstance(progress_every, int) or progress_every < 1:
        raise ValueError(f"progress_every must be a positive int, got {progress_every!r}")
    return optimizer, int(steps), loop


def _report(status, n_steps, throw, what):
    if not is_concrete(status):
        return
    bad = np.asarray(status) == _NONFINITE
    if not np.any(bad):
        return
    where = np.flatnonzero(np.atleast_1d(bad))
    msg = (f"{what}: {_MESSAGES[_NONFINITE]} (after "
           f"{int(np.atleast_1d(np.asarray(n_steps))[where[0]])} updates"
           + (f"; restarts {where.tolist()}" if np.ndim(status) else "") + ")")
    if throw:
        raise FloatingPointError(msg)
    warnings.warn(msg, OptimizationWarning, stacklevel=3)


def optimize(loss: Callable, params: Any, optimizer: optax.GradientTransformation | None = None,
             steps: int = 1000, *, args: Any = None, trainable: Any = None,
             project: Callable | None = None,
             gtol: float | None = None, ftol: float | None = None, loop: str | None = None,
             progress: bool = False, progress_every: int = 10, throw: bool = False
             ) -> OptimizeResult:
    """Minimise ``loss`` over the trainable leaves of ``params`` with an optax optimizer.

    The whole run is one jitted program (steps in ``lax.scan``, or ``lax.while_loop`` when a
    tolerance allows an early stop). Calling it again with the same ``loss``, ``optimizer``
    objects and shapes reuses the compiled program.

    Args:
        loss: ``loss(params) -> scalar`` (or ``loss(params, args)`` if ``args`` is given),
            real-valued, differentiable. :class:`Constrained` leaves are resolved to their
            physical values before ``loss`` sees them.
        params: pytree / ``eqx.Module`` of initial parameters.
        optimizer: an ``optax.GradientTransformation`` (default ``optax.adam(1e-2)``).
        steps: maximum number of updates (static).
        args: extra (non-differentiated) data passed to ``loss``; traced, so changing its
            values does not recompile.
        trainable: which leaves to optimise (see :func:`trainable_mask`); the others are
            held fixed.
        project: optional ``params -> params`` applied after every update (projection
            constraints, e.g. :func:`~jaxbind.workflows.design.constraints.project_min_distance`).
        gtol: stop when ‖∇L‖₂ ≤ gtol. ftol: stop when |ΔL| ≤ ftol·|L| between steps.
        loop: "scan" (fixed step count) or "while" (early stop); default "while" iff a
            tolerance is given.
        progress: show a tqdm progress bar (ordered host callback every ``progress_every``
            steps).
        throw: raise ``FloatingPointError`` instead of warning when the run stops on a
            non-finite loss.
    Returns:
        :class:`OptimizeResult`.
    """
    optimizer, steps, loop = _check_settings(optimizer, steps, loop, gtol, ftol, progress_every)
    mask = trainable_mask(params, trainable)
    diff, static = eqx.partition(params, mask)
    if not jtu.tree_leaves(diff):
        raise ValueError("optimize: no trainable parameters (check `trainable`)")
    prob = _Problem(loss, optimizer, project, args is not None,
                    None if gtol is None else float(gtol), None if ftol is None else float(ftol))
    if progress:
        _Progress.open(steps, "optimize: steps")
    p, l, lh, gh, n, st = _run(prob, diff, static, args, steps=steps, batched=False,
                               loop=loop, progress=bool(progress), progress_every=progress_every)
    if progress:
        jax.effects_barrier()
        _Progress.close()
    _report(st, n, throw, "optimize")
    result, converged = _result_compiled(st)
    return OptimizeResult(eqx.combine(p, static), l, lh, gh, n, result, converged)


@eqx.filter_jit
def _init_restarts(init, key, n):
    """``init`` vmapped over ``n`` keys split from ``key``: one compiled program."""
    return eqx.filter_vmap(init)(jax.random.split(key, n))


# The read-out after the compiled run is one compiled program too (called eagerly it ran op
# by op: a dozen tiny programs compiled on a user's first call; inlined under a user's jit).
_result_compiled = eqx.filter_jit(_result)


@eqx.filter_jit
def _best_restart(all_params, l, lh, gh, n, st) -> OptimizeResult:
    """The restart with the lowest finite final loss, and the per-restart read-out."""
    score = jnp.where(jnp.isfinite(l) & (st != _NONFINITE), l, jnp.inf)
    best = jnp.argmin(score)
    axes = _restart_axes(all_params, l.shape[0])
    pick = lambda x, a: x if a is None else x[best]  # noqa: E731
    result, converged = _result(st[best])
    return OptimizeResult(
        params=jtu.tree_map(pick, all_params, axes), loss=l[best], loss_history=lh[best],
        grad_norm_history=gh[best], n_steps=n[best], result=result,
        converged=converged, restart_losses=score, restart_results=_result(st)[0],
        best_restart=best, all_params=all_params,
    )


def optimize_restarts(loss: Callable, init: Any, optimizer: optax.GradientTransformation | None = None,
                      steps: int = 1000, *, n_restarts: int | None = None,
                      key: PRNGKeyArray | None = None, args: Any = None, trainable: Any = None,
                      project: Callable | None = None,
                      gtol: float | None = None, ftol: float | None = None,
                      loop: str | None = None, progress: bool = False,
                      progress_every: int = 10, throw: bool = False) -> OptimizeResult:
    """Many optimisations from different starts in parallel; the best is returned.

    The restarts are ``vmap``-ed inside each scanned step, so the whole batch is one compiled
    program (and one device dispatch per run, not per restart).

    Args:
        loss, optimizer, steps, args, trainable, project, gtol, ftol, loop, progress, throw:
            as :func:`optimize` (``loss`` sees one restart's parameters).
        init: either a callable ``init(key) -> params`` (vmapped over ``n_restarts`` keys
            split from ``key``) or a pytree of parameters whose array leaves carry a leading
            restart axis R.
        n_restarts, key: with a callable ``init``.
    Returns:
        :class:`OptimizeResult` of the best restart (lowest finite final loss), with
        ``restart_losses``, ``restart_results``, ``best_restart`` and ``all_params`` filled.
    """
    optimizer, steps, loop = _check_settings(optimizer, steps, loop, gtol, ftol, progress_every)
    if callable(init) and not isinstance(init, eqx.Module):
        if n_restarts is None or key is None:
            raise ValueError("optimize_restarts: a callable init needs n_restarts and key")
        if not isinstance(n_restarts, int) or n_restarts < 1:
            raise ValueError(f"n_restarts must be a positive int, got {n_restarts!r}")
        batch = _init_restarts(init, key, n_restarts)
    else:
        batch = init
    mask = trainable_mask(batch, trainable)
    diff, static = eqx.partition(batch, mask)
    if not jtu.tree_leaves(diff):
        raise ValueError("optimize_restarts: no trainable parameters (check `trainable`)")
    sizes = {np.shape(x)[0] if np.ndim(x) > 0 else None for x in jtu.tree_leaves(diff)}
    if len(sizes) != 1 or None in sizes:
        raise ValueError("optimize_restarts: every trainable leaf of init must carry the same "
                         f"leading restart axis, got sizes {sorted(map(str, sizes))}")
    n_r = sizes.pop()
    prob = _Problem(loss, optimizer, project, args is not None,
                    None if gtol is None else float(gtol), None if ftol is None else float(ftol))
    if progress:
        _Progress.open(steps, f"optimize: steps ({n_r} restarts in parallel)")
    p, l, lh, gh, n, st = _run(prob, diff, static, args, steps=steps, batched=True, loop=loop,
                               progress=bool(progress), progress_every=progress_every)
    if progress:
        jax.effects_barrier()
        _Progress.close()
    res = _best_restart(eqx.combine(p, static), l, lh, gh, n, st)
    if is_concrete(st) and np.all(np.asarray(st) == _NONFINITE):
        _report(st, n, throw, "optimize_restarts")
    elif is_concrete(st) and np.any(np.asarray(st) == _NONFINITE):
        warnings.warn("optimize_restarts: some restarts stopped on a non-finite loss "
                      f"({int(np.sum(np.asarray(st) == _NONFINITE))} of {st.shape[0]}); "
                      "the best finite one is returned", OptimizationWarning, stacklevel=2)
    return res
