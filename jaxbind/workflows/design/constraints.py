"""Constraints for gradient-based design: reparametrizations and projections.

Two mechanisms, both used by :func:`jaxbind.workflows.design.optimize.optimize`:

* **Reparametrization** — a :class:`Constrained` leaf holds an unconstrained latent
  variable u and a transform; the loss only ever sees ``transform.forward(u)``, which lies in
  the feasible set for every u, so no step can leave it. :func:`resolve` replaces every
  :class:`Constrained` leaf of a pytree by its physical value; :func:`constrained` builds one
  from a physical starting value (and rejects infeasible ones). Transforms:

  - :class:`Bounded` — low + (high − low)·sigmoid(u) (tweezer powers in a range, distances);
  - :class:`Positive` — lower + scale·softplus(u/scale) (powers, rates);
  - :class:`Periodic` — phases wrapped to [centre − p/2, centre + p/2);
  - :class:`SpacedChain` — 1-D positions with every gap ≥ d_min (and ≤ d_max): a chain
    whose neighbours can never come closer than d_min;
  - :class:`Passive` — a scaled dipole polarizability α̃ = k³α/(4πε0) with
    Im α̃ ≥ (2/3)|α̃|² (passivity *including* radiation damping, the optical theorem for a
    point dipole; equivalently a dipolar Mie coefficient a₁ = 2α̃/(3i) with
    Re a₁ ≥ |a₁|²). Written as 1/α̃ = a − i(2/3 + softplus(s)), which covers exactly the
    interior of the disk |α̃ − 3i/4| ≤ 3/4 — the set of α̃ a passive sphere can realize
    (Kerker parameters in their Mie-realizable range; the ideal 2nd-Kerker pair
    α̃_m = −α̃_e is outside it, paper 003 Sec. IV).

* **Projection** — functions ``x -> x`` applied after each optimizer step:
  :func:`project_box`, :func:`wrap_phase`, :func:`project_passive` (closest point of the
  passive disk), :func:`project_imag_nonnegative` (Im α ≥ 0 only) and :class:`MinDistance`
  (pushes particles apart until every pair is ≥ d_min, inside an optional box).

Infeasible constraints (d_min larger than the box admits, low ≥ high, a starting value
outside the set) raise ``ValueError`` naming the argument before anything is optimised.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np

from ..._checks import as_float_array, check_finite, check_positive, is_concrete
from ..._types import Array

__all__ = [
    "AbstractTransform",
    "Bounded",
    "Positive",
    "Periodic",
    "SpacedChain",
    "Passive",
    "Constrained",
    "constrained",
    "resolve",
    "MinDistance",
    "check_min_distance_feasible",
    "min_distance_penalty",
    "project_box",
    "wrap_phase",
    "project_passive",
    "project_imag_nonnegative",
]


def _softplus_inv(y):
    # log(e^y − 1), stable for large y
    return y + jnp.log(-jnp.expm1(-y))


class AbstractTransform(eqx.Module):
    """A smooth map from unconstrained latent variables onto a feasible set."""

    def forward(self, u):  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse(self, x):  # pragma: no cover - abstract
        raise NotImplementedError


class Bounded(AbstractTransform):
    """x = low + (high − low)·sigmoid(u) ∈ (low, high) (elementwise; low < high)."""

    low: Array
    high: Array

    def __init__(self, low, high):
        self.low = as_float_array(low, "low")
        self.high = as_float_array(high, "high")

    def __check_init__(self):
        check_finite("low", self.low)
        check_finite("high", self.high)
        if is_concrete((self.low, self.high)) and np.any(np.asarray(self.low) >= np.asarray(self.high)):
            raise ValueError(f"Bounded: need low < high, got low={np.asarray(self.low)}, "
                             f"high={np.asarray(self.high)}")

    def forward(self, u):
        return self.low + (self.high - self.low) * jax.nn.sigmoid(u)

    def inverse(self, x):
        x = jnp.asarray(x)
        if is_concrete(x) and np.any((np.asarray(x) <= np.asarray(self.low))
                                     | (np.asarray(x) >= np.asarray(self.high))):
            raise ValueError(f"value {np.asarray(x)} is outside the open interval "
                             f"({np.asarray(self.low)}, {np.asarray(self.high)})")
        t = (x - self.low) / (self.high - self.low)
        return jnp.log(t) - jnp.log1p(-t)


class Positive(AbstractTransform):
    """x = lower + scale·softplus(u) > lower (elementwise); ``scale`` sets the unit of u."""

    lower: Array
    scale: Array

    def __init__(self, lower=0.0, scale=1.0):
        self.lower = as_float_array(lower, "lower")
        self.scale = as_float_array(scale, "scale")

    def __check_init__(self):
        check_finite("lower", self.lower)
        check_positive("scale", self.scale)

    def forward(self, u):
        return self.lower + self.scale * jax.nn.softplus(u)

    def inverse(self, x):
        x = jnp.asarray(x)
        if is_concrete(x) and np.any(np.asarray(x) <= np.asarray(self.lower)):
            raise ValueError(f"value {np.asarray(x)} must be > lower = {np.asarray(self.lower)}")
        return _softplus_inv((x - self.lower) / self.scale)


def wrap_phase(phi, period=2.0 * math.pi, centre=0.0):
    """φ wrapped into [centre − period/2, centre + period/2) (gradient 1 almost everywhere)."""
    phi = jnp.asarray(phi)
    return centre + jnp.mod(phi - centre + 0.5 * period, period) - 0.5 * period


class Periodic(AbstractTransform):
    """Phases: x = wrap(u) ∈ [centre − period/2, centre + period/2)."""

    period: Array
    centre: Array

    def __init__(self, period=2.0 * math.pi, centre=0.0):
        self.period = as_float_array(period, "period")
        self.centre = as_float_array(centre, "centre")

    def __check_init__(self):
        check_positive("period", self.period)
        check_finite("centre", self.centre)

    def forward(self, u):
        return wrap_phase(u, self.period, self.centre)

    def inverse(self, x):
        return jnp.asarray(x)


class SpacedChain(AbstractTransform):
    """Offsets of a 1-D chain from its first site with every gap in [d_min, d_max).

    Latent u: (N − 1,) gap variables. forward(u) = (0, s₁, s₁ + s₂, …) with
    s_i = d_min + softplus(u_i) (no upper bound) or d_min + (d_max − d_min)·sigmoid(u_i).
    """

    d_min: Array
    d_max: Array | None

    def __init__(self, d_min, d_max=None):
        self.d_min = as_float_array(d_min, "d_min")
        self.d_max = None if d_max is None else as_float_array(d_max, "d_max")

    def __check_init__(self):
        check_positive("d_min", self.d_min, allow_zero=True)
        if self.d_max is not None:
            check_finite("d_max", self.d_max)
            if is_concrete((self.d_min, self.d_max)) and np.any(
                    np.asarray(self.d_max) <= np.asarray(self.d_min)):
                raise ValueError(f"SpacedChain: need d_max > d_min, got d_min="
                                 f"{np.asarray(self.d_min)}, d_max={np.asarray(self.d_max)}")

    def gaps(self, u):
        if self.d_max is None:
            return self.d_min + jax.nn.softplus(u)
        return self.d_min + (self.d_max - self.d_min) * jax.nn.sigmoid(u)

    def forward(self, u):
        g = self.gaps(u)
        return jnp.concatenate([jnp.zeros((1,), g.dtype), jnp.cumsum(g)])

    def inverse(self, x):
        x = jnp.asarray(x)
        g = jnp.diff(x)
        if is_concrete(g):
            gv = np.asarray(g)
            hi = np.inf if self.d_max is None else np.asarray(self.d_max)
            if np.any(gv <= np.asarray(self.d_min)) or np.any(gv >= hi):
                raise ValueError(f"SpacedChain: gaps {gv} must lie in (d_min, d_max) = "
                                 f"({np.asarray(self.d_min)}, {hi})")
        if self.d_max is None:
            return _softplus_inv(g - self.d_min)
        t = (g - self.d_min) / (self.d_max - self.d_min)
        return jnp.log(t) - jnp.log1p(-t)


class Passive(AbstractTransform):
    """Passive scaled dipole polarizability α̃ (complex) from a real latent (..., 2).

    1/α̃ = u₀ − i(2/3 + softplus(u₁)), so Im α̃ > (2/3)|α̃|² (module docstring): the open
    disk |α̃ − 3i/4| < 3/4 of polarizabilities a passive sphere can have. ``inverse`` needs a
    strictly passive α̃ (lossy, non-zero).
    """

    def forward(self, u):
        u = jnp.asarray(u)
        if u.shape[-1:] != (2,):
            raise ValueError(f"Passive: latent must have a trailing axis of size 2, got {u.shape}")
        c = 2.0 / 3.0 + jax.nn.softplus(u[..., 1])
        return 1.0 / (u[..., 0] - 1j * c)

    def inverse(self, x):
        x = jnp.asarray(x)
        if is_concrete(x):
            xv = np.asarray(x, complex)
            if np.any(xv == 0) or np.any(xv.imag <= (2.0 / 3.0) * np.abs(xv) ** 2):
                raise ValueError(f"Passive: α̃ = {xv} is not strictly passive (need Im α̃ > "
                                 "(2/3)|α̃|², the optical theorem with radiation damping)")
        inv = 1.0 / x
        return jnp.stack([jnp.real(inv), _softplus_inv(-jnp.imag(inv) - 2.0 / 3.0)], axis=-1)


class Constrained(eqx.Module):
    """A parameter stored as an unconstrained latent variable plus its transform.

    Only ``latent`` is trained by :func:`~jaxbind.workflows.design.optimize.optimize`; use
    :func:`constrained` to build one from a physical value and :func:`resolve` (or
    ``.value``) to read the physical value.
    """

    latent: Array
    transform: AbstractTransform

    @property
    def value(self):
        return self.transform.forward(self.latent)


def constrained(value, transform: AbstractTransform) -> Constrained:
    """A :class:`Constrained` leaf whose physical value is ``value`` (must be feasible)."""
    if not isinstance(transform, AbstractTransform):
        raise TypeError(f"transform must be an AbstractTransform, got {type(transform).__name__}")
    return Constrained(transform.inverse(value), transform)


def resolve(tree):
    """``tree`` with every :class:`Constrained` leaf replaced by its physical value."""
    return jtu.tree_map(lambda x: x.value if isinstance(x, Constrained) else x, tree,
                        is_leaf=lambda x: isinstance(x, Constrained))


# --------------------------------------------------------------------------------------
# projections
# --------------------------------------------------------------------------------------


def project_box(x, low, high):
    """Clip ``x`` into [low, high] (elementwise)."""
    return jnp.clip(x, low, high)


def project_passive(alpha):
    """Closest passive scaled polarizability: projection of α̃ onto the disk
    |α̃ − 3i/4| ≤ 3/4 (Im α̃ ≥ (2/3)|α̃|², see module docstring)."""
    alpha = jnp.asarray(alpha)
    c = 0.75j
    d = alpha - c
    r = jnp.abs(d)
    scale = jnp.where(r > 0.75, 0.75 / jnp.where(r > 0, r, 1.0), 1.0)
    return c + d * scale


def project_imag_nonnegative(alpha):
    """α with Im α clipped at 0 (the weaker, absorption-only passivity Im α ≥ 0)."""
    alpha = jnp.asarray(alpha)
    return jnp.real(alpha) + 1j * jnp.maximum(jnp.imag(alpha), 0.0)


def check_min_distance_feasible(n: int, d_min: float, box=None) -> None:
    """Raise ``ValueError`` when n points cannot keep pairwise distances ≥ d_min in ``box``.

    Necessary condition (exact in one dimension): the n disjoint balls of radius d_min/2
    fit into the box enlarged by d_min/2 on every side, n·V_d(d_min/2) ≤ Π_k (L_k + d_min),
    counting only the box axes of non-zero length L_k (d of them).
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    d = float(d_min)
    if not np.isfinite(d) or d < 0:
        raise ValueError(f"d_min must be finite and ≥ 0, got {d_min!r}")
    if box is None or n == 1 or d == 0:
        return
    lo, hi = (np.asarray(b, float) for b in box)
    L = hi - lo
    if np.any(L < 0) or not np.all(np.isfinite(L)):
        raise ValueError(f"box: need finite low ≤ high, got low={lo}, high={hi}")
    L = L[L > 0]
    dim = L.size
    if dim == 0:
        raise ValueError(f"box has zero extent: {n} points cannot be {d_min} apart")
    vol_ball = math.pi ** (dim / 2) / math.gamma(dim / 2 + 1) * (d / 2) ** dim
    if n * vol_ball > float(np.prod(L + d)) * (1 + 1e-12):
        raise ValueError(f"d_min = {d_min} is infeasible: {n} points with pairwise distance "
                         f"≥ d_min do not fit in the box of extent {(hi - lo).tolist()}")


class MinDistance(eqx.Module):
    """Projection keeping every pair of N positions at least ``d_min`` apart (inside ``box``).

    Each of ``n_iter`` sweeps moves both members of every too-close pair apart along their
    separation by 0.6 of the overlap (Jacobi update, then clipping into the box) — an
    alternating-projection scheme that reaches a feasible configuration for feasible
    constraints. Coincident points are separated along a fixed per-pair direction.

    Args:
        d_min: minimum distance (same unit as the positions), ≥ 0.
        n: number of points (static; used for the feasibility check).
        box: optional (low, high) per-axis bounds, each (D,).
        n_iter: sweeps per projection (static).
    """

    d_min: float = eqx.field(static=True)
    n: int = eqx.field(static=True)
    box: tuple | None = eqx.field(static=True, default=None)
    n_iter: int = eqx.field(static=True, default=100)

    def __init__(self, d_min, n, box=None, n_iter=100):
        self.d_min = float(d_min)
        self.n = n
        self.box = None if box is None else tuple(
            tuple(float(v) for v in np.atleast_1d(np.asarray(b, float))) for b in box)
        self.n_iter = n_iter

    def __check_init__(self):
        if self.box is not None and len(self.box) != 2:
            raise ValueError(f"box must be (low, high), got {self.box!r}")
        check_min_distance_feasible(self.n, self.d_min, self.box)
        if not isinstance(self.n_iter, int) or self.n_iter < 1:
            raise ValueError(f"n_iter must be a positive int, got {self.n_iter!r}")

    def __call__(self, x):
        x = jnp.asarray(x)
        if x.ndim != 2 or x.shape[0] != self.n:
            raise ValueError(f"positions must have shape ({self.n}, D), got {x.shape}")
        n, dim = x.shape
        eye = jnp.eye(n, dtype=bool)
        # fixed fallback directions for coincident pairs (antisymmetric in i, j)
        ang = jnp.arange(n, dtype=x.dtype)[:, None] - jnp.arange(n, dtype=x.dtype)[None, :]
        fallback = jnp.stack([jnp.sign(ang)] + [jnp.zeros_like(ang)] * (dim - 1), axis=-1)
        lo = hi = None
        if self.box is not None:
            lo, hi = (jnp.asarray(b, x.dtype) for b in self.box)

        def sweep(_, y):
            d = y[:, None, :] - y[None, :, :]
            r = jnp.sqrt(jnp.sum(d * d, axis=-1) + jnp.where(eye, 1.0, 0.0))
            u = jnp.where((r > 1e-12 * (self.d_min + 1e-300))[..., None], d / r[..., None], fallback)
            # slight over-relaxation (0.6 > ½ of the overlap per member) so crowded clusters
            # separate in a few sweeps instead of approaching d_min only asymptotically
            push = jnp.where(eye, 0.0, jnp.maximum(self.d_min - r, 0.0))
            y = y + 0.6 * jnp.sum(push[..., None] * u, axis=1)
            if lo is not None:
                y = jnp.clip(y, lo, hi)
            return y

        return jax.lax.fori_loop(0, self.n_iter, sweep, x)


def min_distance_penalty(x, d_min, sharpness=10.0):
    """Smooth penalty Σ_{i<j} softplus(s(d_min − r_ij)/d_min)²/s² (≈ 0 when all pairs are
    comfortably ≥ d_min apart; a soft alternative to :class:`MinDistance`)."""
    x = jnp.asarray(x)
    n = x.shape[0]
    iu = jnp.triu_indices(n, 1)
    d = x[:, None, :] - x[None, :, :]
    r = jnp.sqrt(jnp.maximum(jnp.sum(d * d, axis=-1)[iu], jnp.finfo(x.dtype).tiny))
    return jnp.sum(jax.nn.softplus(sharpness * (d_min - r) / d_min) ** 2) / sharpness**2
