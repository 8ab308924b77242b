"""Vector spherical wave functions (VSWFs) and the scalar waves they are built from.

Conventions (time dependence e^{−iωt}, lengths scaled by the wavenumber: ρ = k r):

* scalar waves ψ_lm = z_l(ρ) Y_lm(r̂) with the orthonormal spherical harmonics of Condon and
  Shortley, Y_lm = P̄_l^m(cos θ) e^{imφ}, Y_{l,−m} = (−1)^m Y*_lm (Jackson, *Classical
  Electrodynamics*, 3rd ed., §3.6), z_l = j_l (regular) or h_l = h_l^{(1)} (outgoing);
* vector spherical harmonics X_lm = L Y_lm / √(l(l+1)), L = −i r × ∇ (Jackson eq. 9.119);
* VSWFs (Jackson §9.7; Tsang, Kong & Ding, *Scattering of Electromagnetic Waves*, 2000,
  ch. 3, normalised so that X_lm and r̂ × X_lm are orthonormal on the unit sphere):

      M_lm = z_l(ρ) X_lm,
      N_lm = ∇̃ × M_lm = i√(l(l+1)) z_l(ρ)/ρ Y_lm r̂ + (z_{l−1} − l z_l/ρ) r̂ × X_lm,

  with ∇̃ × N_lm = M_lm. A field is Ẽ = Σ_lm (a_lm N_lm + b_lm M_lm) (a: electric /
  TM, b: magnetic / TE) and then H̃ = Z0 H/E0 = −i Σ_lm (a_lm M_lm + b_lm N_lm).

Coefficient vectors are ordered [a (electric), b (magnetic)], each over (l, m) with
l = 1..l_max, m = −l..l at index l² + l + m − 1 (:func:`vswf_index`); their length is
2 l_max (l_max + 2) (:func:`n_coefficients`).

Numerics (all jit/vmap/grad-safe):

* Y_lm is evaluated without angles: Y_lm = Q_l^m(cos θ) ((x + i y)/r)^m for m ≥ 0, where
  Q_l^m = P̄_l^m / sin^m θ obeys the standard stable three-term recurrence of the normalised
  associated Legendre functions in l (e.g. Holmes & Featherstone, J. Geodesy 76, 279
  (2002), eq. 11) started from a constant. Nothing divides by sin θ or takes atan2, so
  values and gradients are finite on the axis (θ = 0, π);
* j_l by Miller's downward recurrence normalised with the sum rule Σ (2l+1) j_l² = 1
  (Abramowitz & Stegun 10.1.50) where ρ < l_max (no division by a possibly vanishing j_0),
  by the upward recurrence where ρ ≥ l_max (stable there); h_l = h_l^{(1)} by the upward
  recurrence (the dominant solution, stable for all l).
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..._types import Array, ArrayLike, Complex, Num, RealDtype

__all__ = [
    "n_coefficients",
    "vswf_index",
    "scalar_index",
    "spherical_harmonics",
    "spherical_jn",
    "spherical_hn",
    "vswf",
    "expansion_fields",
]

# extra orders of Miller's downward recurrence above max(l_max, ρ)
_MILLER_MARGIN = 24


def n_coefficients(l_max: int) -> int:
    """Length 2 l_max (l_max + 2) of a coefficient vector [a; b]."""
    return 2 * l_max * (l_max + 2)


def vswf_index(l: int, m: int) -> int:
    """Index l² + l + m − 1 of (l, m) inside the a (or b) half of a coefficient vector."""
    return l * l + l + m - 1


def scalar_index(l: int, m: int) -> int:
    """Index l² + l + m of the scalar wave ψ_lm (l ≥ 0)."""
    return l * l + l + m


def _legendre_q_table(l_max: int):
    """Static recurrence constants of Q_l^m = P̄_l^m / sin^m θ (host, NumPy)."""
    start = np.zeros(l_max + 1)  # Q_m^m (constants)
    start[0] = 1.0 / math.sqrt(4.0 * math.pi)
    for m in range(1, l_max + 1):
        start[m] = -math.sqrt((2.0 * m + 1.0) / (2.0 * m)) * start[m - 1]
    a = np.zeros((l_max + 1, l_max + 1))
    b = np.zeros((l_max + 1, l_max + 1))
    for m in range(l_max + 1):
        for l in range(m + 1, l_max + 1):
            a[l, m] = math.sqrt((4.0 * l * l - 1.0) / (l * l - m * m))
            b[l, m] = math.sqrt(((l - 1.0) ** 2 - m * m) / (4.0 * (l - 1.0) ** 2 - 1.0))
    return start, a, b


@functools.lru_cache(maxsize=None)
def _harmonic_gather(l_max: int):
    """Static index tables mapping the (l, |m|) table to the (l² + l + m) vector."""
    n = (l_max + 1) ** 2
    src = np.zeros(n, int)
    neg = np.zeros(n, bool)
    sign = np.ones(n)
    for l in range(l_max + 1):
        for m in range(-l, l + 1):
            i = scalar_index(l, m)
            src[i] = l * (l_max + 1) + abs(m)
            neg[i] = m < 0
            sign[i] = -1.0 if (m < 0 and m % 2) else 1.0
    return src, neg, sign


def spherical_harmonics(l_max: int, rhat, xp=jnp):
    """Y_lm(r̂) for l = 0..l_max, all m, at index l² + l + m: ((l_max+1)²,) complex.

    Args:
        l_max: static maximum degree.
        rhat: (3,) direction (need not be normalised; must be non-zero).
        xp: array module (``jax.numpy``, or ``numpy`` for host tables in float64).
    """
    rhat = xp.asarray(rhat)
    rdt = rhat.dtype
    cdt = np.result_type(rdt, np.complex64)
    r = xp.sqrt(xp.sum(rhat * rhat))
    c = rhat[2] / r
    w = (rhat[0] + 1j * rhat[1]).astype(cdt) / r  # sin θ e^{iφ}
    start, a, b = _legendre_q_table(l_max)
    ms = np.arange(l_max + 1)
    # Q_l^m for all m at once, recurrence in l (rows l, columns m; 0 where m > l)
    rows = [xp.asarray(np.where(ms == 0, start, 0.0), rdt)]
    prev2 = xp.zeros(l_max + 1, rdt)
    for l in range(1, l_max + 1):
        prev = rows[-1]
        rec = xp.asarray(a[l], rdt) * (c * prev - xp.asarray(b[l], rdt) * prev2)
        rows.append(xp.where(xp.asarray(ms == l), xp.asarray(start, rdt), xp.asarray(rec, rdt)))
        prev2 = prev
    Q = xp.stack(rows)  # (l_max + 1, l_max + 1)
    powers = [xp.ones((), cdt)]
    for _ in range(l_max):
        powers.append(powers[-1] * w)
    table = (Q.astype(cdt) * xp.stack(powers)[None, :]).reshape(-1)
    src, neg, sign = _harmonic_gather(l_max)
    y = table[src]
    return xp.where(xp.asarray(neg), xp.asarray(sign, rdt) * xp.conj(y), y)


def spherical_jn(l_max: int, x):
    """j_l(x) for l = 0..l_max: (l_max + 1,) real, for real x > 0 (module docstring)."""
    x = jnp.asarray(x)
    xs = jnp.where(x > 0, x, 1.0)
    inv = 1.0 / xs
    n_start = l_max + _MILLER_MARGIN

    # Miller: f_{n−1} = (2n+1)/x f_n − f_{n+1} from f_{n_start+1} = 0, f_{n_start} = 1,
    # rescaled every step (log of the scale kept) so nothing overflows at small x.
    def step(carry, n):
        f, f_next, norm, logc = carry
        f_prev = (2.0 * n + 1.0) * inv * f - f_next
        s = jnp.abs(f_prev) + jnp.abs(f)
        f_next, f = f / s, f_prev / s
        norm = norm / (s * s) + (2.0 * n - 1.0) * f * f
        logc = logc + jnp.log(s)
        return (f, f_next, norm, logc), (f, logc)

    one = jnp.ones_like(xs)
    init = (one, 0.0 * one, (2.0 * n_start + 1.0) * one, 0.0 * one)
    ns = jnp.arange(n_start, 0, -1, dtype=xs.dtype)
    (_, _, norm, logc), (vals, logs) = jax.lax.scan(step, init, ns)
    vals, logs = vals[::-1][: l_max + 1], logs[::-1][: l_max + 1]  # orders 0..l_max
    down = vals * jnp.exp(logs - logc) / jnp.sqrt(norm)
    sx, cx = jnp.sin(xs), jnp.cos(xs)
    j0 = sx * inv
    j1 = (j0 - cx) * inv
    ref = down[0] * j0 + (down[1] * j1 if l_max >= 1 else 0.0)
    down = jnp.where(ref < 0, -down, down)
    up = [j0, j1]
    for n in range(1, l_max):
        up.append((2.0 * n + 1.0) * inv * up[n] - up[n - 1])
    up = jnp.stack(up[: l_max + 1])
    return jnp.where(xs >= l_max, up, down)


def spherical_hn(l_max: int, x):
    """h_l^{(1)}(x) for l = 0..l_max ((l_max+1,) complex, real x > 0), by the upward
    recurrence h_{l+1} = (2l+1)/x h_l − h_{l−1} from h_0 = −i e^{ix}/x, h_1 = −e^{ix}(x+i)/x²
    (stable: h_l is the dominant solution; its real part j_l is then accurate relative to
    |h_l|, which is all the outgoing waves need)."""
    x = jnp.asarray(x)
    cdt = jnp.result_type(x.dtype, jnp.complex64)
    inv = 1.0 / x
    e = jax.lax.complex(jnp.cos(x), jnp.sin(x)).astype(cdt)
    h = [-1j * e * inv, -e * (x + 1j) * inv * inv]
    for n in range(1, l_max):
        h.append((2.0 * n + 1.0) * inv * h[n] - h[n - 1])
    return jnp.stack(h[: l_max + 1])


@functools.lru_cache(maxsize=None)
def _ladder_tables(l_max: int):
    """Static gathers/weights of X_lm = L Y_lm/√(l(l+1)) (ladder operators L±, L_z)."""
    nv = l_max * (l_max + 2)
    ip, im, iz = np.zeros(nv, int), np.zeros(nv, int), np.zeros(nv, int)
    cp, cm, cz = np.zeros(nv), np.zeros(nv), np.zeros(nv)
    for l in range(1, l_max + 1):
        norm = 1.0 / math.sqrt(l * (l + 1.0))
        for m in range(-l, l + 1):
            v = vswf_index(l, m)
            iz[v], cz[v] = scalar_index(l, m), norm * m
            if m < l:  # L+ Y_lm = √((l−m)(l+m+1)) Y_{l,m+1}
                ip[v], cp[v] = scalar_index(l, m + 1), norm * math.sqrt((l - m) * (l + m + 1.0))
            if m > -l:  # L− Y_lm = √((l+m)(l−m+1)) Y_{l,m−1}
                im[v], cm[v] = scalar_index(l, m - 1), norm * math.sqrt((l + m) * (l - m + 1.0))
    return ip, im, iz, cp, cm, cz


def _ladder(l_max: int, Y, xp=jnp):
    """X_lm (Cartesian components) for l = 1..l_max: (l_max(l_max+2), 3) complex."""
    ip, im, iz, cp, cm, cz = _ladder_tables(l_max)
    rdt = Y.real.dtype
    cp, cm, cz = (xp.asarray(v, rdt) for v in (cp, cm, cz))
    yp = cp * Y[ip]
    ym = cm * Y[im]
    return xp.stack([0.5 * (yp + ym), -0.5j * (yp - ym), cz * Y[iz]], axis=-1)


def vswf(l_max: int, rho, kind: str = "regular"):
    """(N_lm, M_lm) at the scaled point ρ (3,), each (l_max(l_max+2), 3) complex.

    Args:
        l_max: static maximum degree (≥ 1).
        rho: (3,) scaled position k r relative to the expansion centre (non-zero).
        kind: "regular" (z_l = j_l) or "outgoing" (z_l = h_l^{(1)}).
    """
    rho = jnp.asarray(rho)
    r = jnp.sqrt(jnp.sum(rho * rho))
    rhat = rho / r
    Y = spherical_harmonics(l_max, rho)
    X = _ladder(l_max, Y)
    if kind == "regular":
        z = spherical_jn(l_max, r).astype(Y.dtype)
    elif kind == "outgoing":
        z = spherical_hn(l_max, r)
    else:
        raise ValueError(f"kind must be 'regular' or 'outgoing', got {kind!r}")
    ls = np.concatenate([[l] * (2 * l + 1) for l in range(1, l_max + 1)])
    zl = z[ls]
    zlm1 = z[ls - 1]
    Ylm = Y[np.array([scalar_index(l, m) for l in range(1, l_max + 1) for m in range(-l, l + 1)])]
    rx = jnp.cross(jnp.broadcast_to(rhat.astype(X.dtype), X.shape), X)
    lsf = jnp.asarray(ls, rho.dtype)
    M = zl[:, None] * X
    N = ((1j * jnp.sqrt(lsf * (lsf + 1.0)) / r) * zl * Ylm)[:, None] * rhat.astype(X.dtype)[None, :] \
        + (zlm1 - lsf * zl / r)[:, None] * rx
    return N, M


def expansion_fields(coeffs: Num[ArrayLike, " nc"],
                     rho: RealDtype[ArrayLike, "3"] | Sequence[float],
                     kind: str = "regular") -> tuple[Complex[Array, "3"], Complex[Array, "3"]]:
    """(Ẽ, H̃) of the expansion Ẽ = Σ a N + b M at ρ (3,): (3,) complex each.

    Args:
        coeffs: (2 l_max(l_max+2),) coefficients [a; b] (l_max is read from the length).
        rho: (3,) scaled position relative to the expansion centre.
        kind: "regular" or "outgoing".
    """
    coeffs = jnp.asarray(coeffs)
    nv = coeffs.shape[-1] // 2
    l_max = int(round(math.sqrt(nv + 1))) - 1
    if n_coefficients(l_max) != coeffs.shape[-1]:
        raise ValueError(f"coeffs must have length 2 l_max (l_max + 2), got {coeffs.shape[-1]}")
    N, M = vswf(l_max, rho, kind)
    a, b = coeffs[:nv], coeffs[nv:]
    E = a @ N + b @ M
    H = -1j * (a @ M + b @ N)
    return E, H
