"""Truncation degree of the multipole series: when to warn, and the Wiscombe criterion.

An eager call of a multipole entry point warns (:class:`TruncationWarning`, once per call
site with Python's default filter) when the first Mie order it omits, l_max + 1, is not
negligible: max(|a_{l_max+1}|, |b_{l_max+1}|) > ``TAIL_RTOL`` × max_{l ≤ l_max}(|a_l|, |b_l|)
for some sphere (Mie coefficients at the relative index and the size parameter x = k a in the
host medium).  The force is bilinear in the coefficients, so its relative truncation error is
of the order of that ratio (the issue that motivated the multipole engine measured 3–12 %
force errors for silicon spheres whose a₂, b₂ were below 3 % of b₁).  The message recommends
Wiscombe's n_stop = ⌈x + 4 x^{1/3} + 2⌉ (Wiscombe, Appl. Opt. 19, 1505 (1980);
:func:`jaxbind.optics.mie.wiscombe_n_max`, the one implementation), which converges single-
sphere far-field quantities to round-off; coupled spheres close together may need more (a
neighbour at distance d excites degrees up to ~ k d).  Warning at Wiscombe's value itself
would fire for almost every useful l_max (l_max = 3 at x = 0.2), so it is the recommendation,
not the trigger.  Under a user's ``jit``/``vmap``/``grad`` the radii are traced and nothing is
checked; user T-matrices (``tmatrix=``) are not checked either.
"""

from __future__ import annotations

import functools
import inspect
import warnings

import jax
import numpy as np

from ..mie import mie_coefficients, wiscombe_n_max

__all__ = ["TruncationWarning", "wiscombe_l_max", "warns_truncation", "TAIL_RTOL"]

#: relative size of the first omitted Mie order above which an eager call warns
TAIL_RTOL = 1e-3


class TruncationWarning(UserWarning):
    """The first omitted Mie order (l_max + 1) is not negligible for some sphere."""


def wiscombe_l_max(x: float) -> int:
    """Recommended truncation ⌈x + 4 x^{1/3} + 2⌉ for size parameter x = k a > 0 (host);
    the multipole name of :func:`jaxbind.optics.mie.wiscombe_n_max`."""
    return wiscombe_n_max(x)


def _concrete(tree) -> bool:
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(tree))


def omitted_order_ratio(m: complex, x: float, l_max: int) -> float:
    """max(|a_{l_max+1}|, |b_{l_max+1}|) / max_{l ≤ l_max}(|a_l|, |b_l|) of one sphere
    (relative index m, size parameter x; host floats)."""
    a, b = (np.abs(np.asarray(c)) for c in mie_coefficients(complex(m), float(x), l_max + 1))
    lead = max(a[:l_max].max(), b[:l_max].max())
    return float(max(a[l_max], b[l_max]) / lead) if lead > 0 else 0.0


def check_truncation(particles, beam, l_max, fn: str, stacklevel: int = 3) -> None:
    """Warn if the first omitted Mie order exceeds :data:`TAIL_RTOL` for some sphere
    (concrete inputs only)."""
    from ..beams import medium_index
    from ..particles import as_particles

    if not isinstance(l_max, int) or isinstance(l_max, bool) or l_max < 1:
        return  # the entry point's own check raises
    try:
        ps = as_particles(particles)
        radii, k, n_med = ps.radii, beam.k, medium_index(beam)
    except Exception:  # noqa: BLE001 - malformed input: the entry point raises its own error
        return
    if radii is None or ps.index is None or not _concrete((radii, k, ps.index, n_med)):
        return  # point dipoles given by polarizabilities: no size parameter
    x = np.broadcast_to(np.asarray(radii, float) * float(np.asarray(k)), np.shape(ps.index))
    m = np.asarray(ps.index) / float(np.asarray(n_med))
    if not (np.all(np.isfinite(x)) and np.all(x > 0) and np.all(np.isfinite(m))):
        return  # the entry point reports bad input
    worst, x_worst = 0.0, 0.0
    for mi, xi in {(complex(mi), float(xi)) for mi, xi in zip(m.ravel(), x.ravel())}:
        r = omitted_order_ratio(mi, xi, l_max)
        if r > worst:
            worst, x_worst = r, xi
    if worst > TAIL_RTOL:
        need = max(wiscombe_l_max(float(x.max())), l_max + 1)
        warnings.warn(
            f"{fn}: l_max = {l_max} truncates a Mie order that is not negligible: order "
            f"{l_max + 1} is {worst:.1e} of the leading one (sphere with k a = {x_worst:.3g}), "
            f"so forces are uncertain at about that level; pass l_max = {need} (Wiscombe "
            "criterion x + 4 x^(1/3) + 2 for the largest sphere; close pairs may need more)",
            TruncationWarning, stacklevel=stacklevel)


def warns_truncation(fn):
    """Decorator of an entry point ``f(particles, beam, l_max, ...)``: the host-side
    :func:`check_truncation` before the (compiled) call."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            bound = sig.bind_partial(*args, **kwargs).arguments
        except TypeError:
            bound = {}
        if ({"particles", "beam", "l_max"} <= bound.keys()
                and bound.get("tmatrix") is None):  # user T-matrices are not Mie spheres
            check_truncation(bound["particles"], bound["beam"], bound["l_max"], fn.__name__)
        return fn(*args, **kwargs)

    return wrapper
