"""Truncation degree of the multipole series: the Wiscombe criterion and its warning.

Wiscombe (Appl. Opt. 19, 1505 (1980), eq. 1 and the text after it) recommends
n_stop = x + 4 x^{1/3} + 2 orders for a sphere of size parameter x for converged far-field
quantities of a single sphere; coupled spheres close together need more (the translated
fields of a neighbour at distance d excite degrees up to ~ k d). An eager call of a multipole
entry point whose ``l_max`` is below the criterion for its largest sphere warns
(:class:`TruncationWarning`, once per call site with Python's default filter) with the
recommended value; under a user's ``jit``/``vmap``/``grad`` the radii are traced and nothing
is checked.
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings

import jax
import numpy as np

__all__ = ["TruncationWarning", "wiscombe_l_max", "warns_truncation"]


class TruncationWarning(UserWarning):
    """``l_max`` below the Wiscombe criterion for the size parameter of the largest sphere."""


def wiscombe_l_max(x: float) -> int:
    """Recommended truncation ⌈x + 4 x^{1/3} + 2⌉ for size parameter x = k a ≥ 0 (host)."""
    x = float(x)
    return int(math.ceil(x + 4.0 * x ** (1.0 / 3.0) + 2.0))


def _concrete(tree) -> bool:
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(tree))


def check_truncation(particles, beam, l_max, fn: str, stacklevel: int = 3) -> None:
    """Warn if ``l_max`` < :func:`wiscombe_l_max` of the largest k a (concrete inputs only)."""
    from ..particles import as_particles

    if not isinstance(l_max, int) or isinstance(l_max, bool):
        return  # the entry point's own check raises
    try:
        ps = as_particles(particles)
        radii, k = ps.radii, beam.k
    except Exception:  # noqa: BLE001 - malformed input: the entry point raises its own error
        return
    if radii is None or ps.index is None or not _concrete((radii, k)):
        return  # point dipoles given by polarizabilities: no size parameter
    x = float(np.max(np.asarray(radii)) * np.asarray(k))
    need = wiscombe_l_max(x)
    if np.isfinite(x) and l_max < need:
        warnings.warn(
            f"{fn}: l_max = {l_max} is below the Wiscombe criterion x + 4 x^(1/3) + 2 for the "
            f"largest sphere (size parameter x = k a = {x:.3g}): pass l_max = {need} for "
            "converged single-sphere scattering (close pairs may need more)",
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
        if {"particles", "beam", "l_max"} <= bound.keys():
            check_truncation(bound["particles"], bound["beam"], bound["l_max"], fn.__name__)
        return fn(*args, **kwargs)

    return wrapper
