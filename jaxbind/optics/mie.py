"""Mie theory of a homogeneous sphere: coefficients, efficiencies, dipole polarizabilities.

Conventions (Bohren & Huffman, "Absorption and Scattering of Light by Small Particles",
1983, ch. 4; hereafter B&H): time dependence e^{−iωt}, relative refractive index
m = n + iκ with κ ≥ 0 for a passive particle, size parameter x = k a (k the wavenumber in
the surrounding medium, a the radius). miepython uses m = n − iκ for the same physics: its
``coefficients`` conjugate the input and return the same a_n, b_n as here, so compare
``miepython.coefficients(m, x)`` with ``mie_coefficients(m, x, ...)`` for m = n + iκ.

Numerics (B&H §4.8 and Wiscombe, Appl. Opt. 19, 1505 (1980)). With D_n(z) = ψ_n'(z)/ψ_n(z)
and the Riccati–Bessel functions ψ_n(x) = x j_n(x), ξ_n(x) = x h_n^{(1)}(x), B&H eq. 4.88,

    a_n = [(D_n(mx)/m + n/x) ψ_n − ψ_{n−1}] / [(D_n(mx)/m + n/x) ξ_n − ξ_{n−1}]
    b_n = [(m D_n(mx) + n/x) ψ_n − ψ_{n−1}] / [(m D_n(mx) + n/x) ξ_n − ξ_{n−1}],

is divided through by ψ_n and ξ_n and written with ratios only,

    a_n = R_n (D_n(mx)/m − D_n(x)) / (D_n(mx)/m + n/x − ξ_{n−1}/ξ_n),   R_n = ψ_n(x)/ξ_n(x),

(and the same for b_n with m D_n(mx)). This is what makes small x (1e-3) stable in float32:

* ρ_n(z) = ψ_{n+1}(z)/ψ_n(z) at z = mx and z = x comes from the downward recurrence
  ρ_{n−1} = 1/((2n+1)/z − ρ_n) (equivalent to B&H eq. 4.89 for D_n = (n+1)/z − ρ_n),
  started from ρ_N = 0 at a *static* N ≥ w + 16 + 4 w^{1/3}, w = max(|mx|, x) (Wiscombe's
  w + 16, widened by the w^{1/3} transition region), run with ``lax.fori_loop``/``lax.scan``;
  in terms of ρ the large (n+1)/x parts of D_n(mx)/m − D_n(x) cancel analytically, which
  keeps b_n accurate at small x (the D_n form loses ~x^{-2} ulps there);
* ψ_n(x) is never formed by its upward recurrence, which is unstable (ψ_n is the
  *decaying* solution for n > x: upward it loses all digits at x = 1e-3);
* ξ_n/ξ_{n−1} follows the upward recurrence q_{n+1} = (2n+1)/x − 1/q_n, q_1 = 1/x − i,
  which is stable because ξ_n is the dominant solution;
* R_n = R_{n−1} ρ_{n−1}(x) / q_n is a product of O(1)-conditioned ratios, so tiny
  coefficients underflow gracefully to 0 instead of forming ∞/∞ from ψ_n ≈ 0, ξ_n ≈ ∞.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float

from .. import constants
from .._checks import check_positive, check_shape, is_concrete

__all__ = [
    "wiscombe_n_max",
    "default_n_start",
    "required_n_start",
    "mie_coefficients",
    "MieEfficiencies",
    "mie_efficiencies",
    "DipolePolarizabilities",
    "scaled_dipole_polarizabilities",
    "dipole_polarizabilities",
    "kerker_polarizabilities",
    "kerker_deviation",
]

# The downward recurrence starts from an arbitrary value (ρ_N = 0) at a static order N.
# Its error decays super-exponentially once n exceeds w = max(|m x|, x), over a transition
# region ∝ w^{1/3}; measured for real m (the slowest case) up to w = 300, the coefficients
# reach float64 round-off for N ≥ w + 16 + 4 w^{1/3} (Wiscombe's w + 16 gives only ~1e-8
# at w = 50 and ~1e-2 at w = 300), and N ≥ n_max + 16 covers orders above w.
_START_MARGIN = 16


def _margin(w):
    return _START_MARGIN + 4.0 * w ** (1.0 / 3.0)


# --------------------------------------------------------------------------------------
# static sizes
# --------------------------------------------------------------------------------------


def wiscombe_n_max(x) -> int:
    """Number of Mie orders for a converged series: ⌈x + 4 x^{1/3} + 2⌉ (Wiscombe 1980, B&H).

    Args:
        x: concrete size parameter(s) (scalar or array, > 0); for a batch pass the largest
            or the whole array — the maximum is used.
    Returns:
        A Python int, usable as the static ``n_max`` of :func:`mie_coefficients`.
    """
    if not is_concrete(x):
        raise TypeError(
            "wiscombe_n_max: x must be concrete (n_max is static); call it outside jit on "
            "the largest size parameter of your batch"
        )
    xmax = float(np.max(np.asarray(x)))
    check_positive("x", xmax)
    return max(1, math.ceil(xmax + 4.0 * xmax ** (1.0 / 3.0) + 2.0))


def required_n_start(max_abs_mx, n_max: int) -> int:
    """Smallest accurate static start order of the downward recurrence.

    n_start = max(n_max + 16, ⌈w + 16 + 4 w^{1/3}⌉) with w the largest max(|m x|, x) the
    call will see (see the comment at ``_START_MARGIN`` for how this was measured).

    Args:
        max_abs_mx: concrete bound on max(|m| x, x) over the points of a batch.
        n_max: the static number of orders.
    Returns:
        A Python int for the ``n_start`` argument.
    """
    w = float(np.max(np.asarray(max_abs_mx)))
    return max(int(n_max) + _START_MARGIN, math.ceil(w + _margin(w)))


def default_n_start(n_max: int) -> int:
    """Default static start order ``max(2 n_max, 32) + 16`` for ``n_max`` orders.

    Accurate (see :func:`required_n_start`) for max(|m x|, x) up to ~20 at n_max ≤ 16 and
    up to ~2 n_max − 12 beyond: |m| ≲ 2 at the Wiscombe size limit of ``n_max``. Larger
    |m x| under jit need an explicit ``n_start`` (eager calls enlarge it automatically).
    """
    return max(2 * n_max, 32) + _START_MARGIN


def _check_static_int(name: str, v, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be a Python int (it is static), got {type(v).__name__}")
    if v < minimum:
        raise ValueError(f"{name} must be ≥ {minimum}, got {v}")
    return int(v)


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


def _dtypes(m, x):
    """(complex dtype, real dtype) following the inputs (weak Python scalars don't upcast)."""
    cdt = jnp.promote_types(jnp.result_type(m, x), jnp.complex64)
    rdt = jnp.finfo(cdt).dtype
    return cdt, rdt


def _validate_m(m, fn: str, name: str = "m"):
    """Finite, non-zero, passive (Im m ≥ 0) refractive index; returns the guarded value."""
    check_shape(name, m, ())
    if is_concrete(m):
        v = complex(np.asarray(m))
        if not (math.isfinite(v.real) and math.isfinite(v.imag)):
            raise ValueError(f"{fn}: {name} must be finite, got {v}")
        if v.imag < 0:
            raise ValueError(
                f"{fn}: {name} = {v} has a negative imaginary part (optical gain). jaxbind uses "
                "m = n + iκ with κ ≥ 0 (e^{-iωt}); miepython's n − iκ must be conjugated"
            )
        if v == 0:
            raise ValueError(f"{fn}: {name} must be non-zero")
        return m
    bad = (jnp.imag(m) < 0) | ~jnp.isfinite(m) | (m == 0)
    return eqx.error_if(
        m, bad, f"{fn}: {name} must be finite, non-zero and have Im({name}) ≥ 0 (no gain)"
    )


def _validate_positive(v, fn: str, name: str):
    """Real, finite, > 0 (concrete → ValueError naming ``name``; traced → eqx.error_if)."""
    check_shape(name, v, ())
    if jnp.iscomplexobj(v):
        raise TypeError(f"{fn}: {name} must be real, got a complex value")
    if is_concrete(v):
        check_positive(f"{fn}: {name}", v)
        return v
    return eqx.error_if(v, ~(v > 0) | ~jnp.isfinite(v), f"{fn}: {name} must be positive and finite")


# --------------------------------------------------------------------------------------
# coefficients
# --------------------------------------------------------------------------------------


def _recip(w):
    """1/w for complex w as conj(w)/|w|²: several times cheaper than XLA's general complex
    division on CPU; |w|² stays in range because |w| ≤ (2 n_start + 1)/|z| here."""
    inv_d = 1.0 / (w.real * w.real + w.imag * w.imag)
    return jax.lax.complex(w.real * inv_d, -w.imag * inv_d)


def _abs2(w):
    return w.real * w.real + w.imag * w.imag


def _psi_ratios(z, x, n_max: int, n_start: int):
    """ρ_n = ψ_{n+1}/ψ_n at z (complex) and x (real) by downward recurrence.

    ρ_{n−1} = 1/((2n+1)/z − ρ_n) (the ψ three-term recurrence divided by ψ_n; equivalent
    to B&H eq. 4.89 for D_n = (n+1)/z − ρ_n), started from ρ_{n_start} = 0. The first
    ``n_start − n_max`` steps only converge the start value (fori_loop, nothing stored);
    the last ``n_max`` steps are recorded (scan). Unlike D_n, ρ_n ≈ z/(2n+3) is small for
    small z, so the differences D_n(mx) − D_n(x) can be formed without cancellation.

    Returns:
        ``(rho_z, rho_x)`` for n = 0..n_max − 1 (shape (n_max,)) and ``(rho_z, rho_x)`` at
        n = n_max (scalars).
    """
    inv_z, inv_x = _recip(z), 1.0 / x

    def step(n, r_z, r_x):
        c = 2.0 * n + 1.0
        return _recip(c * inv_z - r_z), 1.0 / (c * inv_x - r_x)

    def warm(i, carry):
        n = (n_start - i).astype(x.dtype)
        return step(n, *carry)

    carry = (jnp.zeros((), z.dtype), jnp.zeros((), x.dtype))
    top = jax.lax.fori_loop(0, n_start - n_max, warm, carry)  # ρ_{n_max}

    def record(carry, n):
        new = step(n, *carry)  # ρ_{n−1}
        return new, new

    # reverse=True runs n = n_max, …, 1 and stores ρ_{n−1} at index n − 1 (increasing order)
    _, low = jax.lax.scan(record, top, jnp.arange(1, n_max + 1, dtype=x.dtype), reverse=True)
    return low, top


def _required_start(m, x, n_max: int) -> int:
    return required_n_start(max(abs(complex(np.asarray(m))) * float(x), float(x)), n_max)


def _resolve_n_start(m, x, n_max: int, n_start) -> int:
    if n_start is None:
        n_start = default_n_start(n_max)
        if is_concrete((m, x)) and np.ndim(m) == 0 and np.ndim(x) == 0:
            req = _required_start(m, x, n_max)
            if req > n_start:  # round up to limit recompilations of the eager path
                n_start = 16 * math.ceil(req / 16)
    return _check_static_int("n_start", n_start, n_max + _START_MARGIN)


def _prepare(m, x, n_max: int, n_start, fn: str):
    """Static sizes, dtypes and input checks, outside the jitted kernel.

    Concrete values raise ``ValueError`` naming the argument; traced values are guarded with
    ``eqx.error_if`` (the guarded arrays are what the kernel receives).
    """
    n_max = _check_static_int("n_max", n_max, 1)
    cdt, rdt = _dtypes(m, x)
    x = _validate_positive(jnp.asarray(x), fn, "x").astype(rdt)
    m = _validate_m(jnp.asarray(m), fn).astype(cdt)
    n_start = _resolve_n_start(m, x, n_max, n_start)
    w = jnp.maximum(jnp.abs(m) * x, x)
    big = w + _margin(w) > n_start
    if is_concrete(big):
        if bool(big):
            raise ValueError(
                f"{fn}: |m x| = {float(jnp.abs(m) * x):.4g} needs n_start ≥ "
                f"{_required_start(m, x, n_max)}, got n_start = {n_start}"
            )
    else:
        x = eqx.error_if(
            x, big, f"{fn}: max(|m x|, x) is too large for the static n_start = {n_start}; "
            "pass n_start = required_n_start(max |m x|, n_max)"
        )
    return m, x, n_max, n_start


class MieEfficiencies(eqx.Module):
    """Efficiencies of a sphere (cross sections divided by π a²), B&H §4.4–4.5.

    Attributes:
        qext: extinction efficiency, B&H eq. 4.62, evaluated as qsca + qabs.
        qsca: scattering efficiency, B&H eq. 4.61.
        qabs: absorption efficiency (2/x²) Σ (2n+1)[Re(a_n) − |a_n|² + Re(b_n) − |b_n|²],
            computed without cancellation (exactly 0 for real m), see ``_mie_kernel``.
        qback: backscattering (radar) efficiency, B&H eq. 4.82:
            Q_back = |Σ (2n+1)(−1)^n (a_n − b_n)|² / x² = 4π (dC_sca/dΩ)(θ=π) / (π a²).
            This is exactly miepython's ``qback`` (``efficiencies_mx``); some codes divide
            by 4π instead (differential efficiency per steradian).
        qfwd: the same quantity in the forward direction,
            Q_fwd = |Σ (2n+1)(a_n + b_n)|² / x² = 4π (dC_sca/dΩ)(θ=0) / (π a²).
        g: asymmetry parameter ⟨cos θ⟩, B&H eq. 4.79 (0 when qsca = 0).
    """

    qext: Array
    qsca: Array
    qabs: Array
    qback: Array
    qfwd: Array
    g: Array

    @property
    def forward_backward_ratio(self) -> Array:
        """Forward-to-backward differential scattering ratio qfwd/qback (∞ if qback = 0)."""
        pos = self.qback > 0
        return jnp.where(pos, self.qfwd / jnp.where(pos, self.qback, 1.0), jnp.inf)


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _mie_kernel(m, x, n_max: int, n_start: int, efficiencies: bool):
    """a_n, b_n and the per-order absorption, or directly the efficiency sums.

    One upward ``lax.scan`` over n = 1..n_max forms q_n = ξ_n/ξ_{n−1} (stable: ξ_n is the
    dominant solution), R_n = ψ_n/ξ_n and s_n = 1/ξ_n as products of ratios (tiny values
    underflow gracefully to 0), then a_n, b_n, and either stacks them (``efficiencies`` =
    False) or accumulates the B&H sums in the carry (True; no (n_max,) intermediates, which
    roughly halves the vmapped cost on CPU).

    Absorption: with ξ = ψ − iχ (B&H) one has a_n = 1/(1 − i w_n) and, from the Wronskian
    ψ_{n−1}χ_n − ψ_nχ_{n−1} = 1, Re(a_n) − |a_n|² = −Im(D_n(mx)/m) / (|ξ_n|² |den_a|²)
    (den_a the reduced denominator below; same for b_n with m D_n(mx)). This is exactly 0
    for real m and has no cancellation, whereas Re(a_n) − |a_n|² formed from a_n ≈ −i x³…
    loses ~x^{-3} ulps (Q_ext of a 1e-3 sphere would be wrong by 20 % in float32).

    Jitted so that repeated eager calls reuse one compilation per (dtype, static args).
    """
    cdt = m.dtype
    rdt = x.dtype
    rho_low, (rho_mx_top, rho_x_top) = _psi_ratios(m * x, x, n_max, n_start)
    rho_mx_low, rho_x_low = rho_low  # n = 0..n_max − 1
    rho_mx_n = jnp.concatenate([rho_mx_low[1:], rho_mx_top[None]])  # n = 1..n_max
    rho_x_n = jnp.concatenate([rho_x_low[1:], rho_x_top[None]])
    inv_x = 1.0 / x
    inv_m = _recip(m)
    inv_m2 = inv_m * inv_m
    contrast = (1.0 - m) * (1.0 + m) * inv_m2  # (1 − m²)/m²

    sin_x, cos_x = jnp.sin(x), jnp.cos(x)
    eix = jax.lax.complex(cos_x, -sin_x)  # e^{−ix}
    # ψ_0/ξ_0 with ξ_0 = −i e^{ix}, ψ_0 = sin x. Near a zero of sin x, sin x and ρ_0 = ψ_1/ψ_0
    # (from the recurrence) carry independent rounding errors that the product R_1 = R_0 ρ_0
    # would amplify by 1/|sin x| (1e-3 in float32 at x ≈ 3π); there ψ_0 = ψ_{−1} ρ_{−1} with
    # ψ_{−1} = cos x and ρ_{−1} = 1/(1/x − ρ_0) from the same recurrence is used instead, so
    # the errors cancel. |cot x| ≥ 1 on that branch, so the division is safe.
    use_sin = jnp.abs(sin_x) >= jnp.abs(cos_x)
    den_m1 = jnp.where(use_sin, 1.0, inv_x - rho_x_low[0])
    psi0 = jnp.where(use_sin, sin_x, cos_x / den_m1)
    r0 = (1j * psi0 * eix).astype(cdt)  # R_0
    s0 = (1j * eix).astype(cdt)  # 1/ξ_0
    q1 = jax.lax.complex(inv_x, -jnp.ones_like(x))  # ξ_1/ξ_0 = 1/x − i

    zero_c = jnp.zeros((), cdt)
    zero_r = jnp.zeros((), rdt)
    # acc: Σc(|a|²+|b|²), Σc·abs, Σc(−1)^n(a−b), Σc(a+b), Σ g-terms, a_{n−1}, b_{n−1}, (−1)^n
    acc0 = (zero_r, zero_r, zero_c, zero_c, zero_r, zero_c, zero_c, -jnp.ones((), rdt))

    def up(carry, inp):
        q, r, s, acc = carry
        n, psi_ratio, rm, rx = inp  # ψ_n/ψ_{n−1} = ρ_{n−1}(x), ρ_n(mx), ρ_n(x)
        inv_q = _recip(q)  # ξ_{n−1}/ξ_n
        r = r * (psi_ratio * inv_q)
        s = s * inv_q
        # D_n(z) = (n+1)/z − ρ_n(z): the large (n+1)/x parts cancel analytically in
        #   D_n(mx)/m − D_n(x) = (n+1)/x (1 − m²)/m² + ρ_n(x) − ρ_n(mx)/m,
        #   m D_n(mx) − D_n(x) = ρ_n(x) − m ρ_n(mx);
        # denominators D_n(mx)/m + n/x − ξ_{n−1}/ξ_n and m D_n(mx) + n/x − ξ_{n−1}/ξ_n.
        np1_x = (n + 1.0) * inv_x
        rm_m = rm * inv_m
        dm_over_m = np1_x * inv_m2 - rm_m
        m_dm = np1_x - m * rm
        tail = n * inv_x - inv_q
        inv_den_a = _recip(dm_over_m + tail)
        inv_den_b = _recip(m_dm + tail)
        a = r * (np1_x * contrast + rx - rm_m) * inv_den_a
        b = r * (rx - m * rm) * inv_den_b
        s2 = _abs2(s)
        abs_a = -jnp.imag(dm_over_m) * s2 * _abs2(inv_den_a)
        abs_b = -jnp.imag(m_dm) * s2 * _abs2(inv_den_b)
        q_next = (2.0 * n + 1.0) * inv_x - inv_q
        if not efficiencies:
            return (q_next, r, s, acc), (a, b, abs_a, abs_b)
        sca, ab, back, fwd, g, a_prev, b_prev, sign = acc
        c = 2.0 * n + 1.0
        g_lag = (n - 1.0) * (n + 1.0) / n * jnp.real(a_prev * jnp.conj(a) + b_prev * jnp.conj(b))
        acc = (
            sca + c * (_abs2(a) + _abs2(b)),
            ab + c * (abs_a + abs_b),
            back + (c * sign) * (a - b),
            fwd + c * (a + b),
            g + g_lag + c / (n * (n + 1.0)) * jnp.real(a * jnp.conj(b)),
            a,
            b,
            -sign,
        )
        return (q_next, r, s, acc), None

    n = jnp.arange(1, n_max + 1, dtype=rdt)
    init = (q1.astype(cdt), r0, s0, acc0)
    (_, _, _, acc), out = jax.lax.scan(up, init, (n, rho_x_low, rho_mx_n, rho_x_n))
    if not efficiencies:
        return out
    sca, ab, back, fwd, g, _, _, _ = acc
    inv_x2 = inv_x * inv_x
    qsca = 2.0 * inv_x2 * sca
    qabs = 2.0 * inv_x2 * ab
    pos = qsca > 0
    # B&H eq. 4.79: g Q_sca = (4/x²) Σ [...]
    g = jnp.where(pos, 4.0 * inv_x2 * g / jnp.where(pos, qsca, 1.0), 0.0)
    return MieEfficiencies(
        qext=qsca + qabs,
        qsca=qsca,
        qabs=qabs,
        qback=inv_x2 * _abs2(back),
        qfwd=inv_x2 * _abs2(fwd),
        g=g,
    )


def mie_coefficients(
    m: Complex[ArrayLike, ""] | Float[ArrayLike, ""],
    x: Float[ArrayLike, ""],
    n_max: int,
    *,
    n_start: int | None = None,
) -> tuple[Complex[Array, " n_max"], Complex[Array, " n_max"]]:
    """Mie scattering coefficients a_n, b_n, n = 1..n_max, of a homogeneous sphere.

    B&H eqs. 4.53 / 4.88 (e^{−iωt}, m = n + iκ), evaluated with ratios only (module
    docstring): stable for 1e-3 ≤ x ≤ 30 and |m| ≤ 10 (and beyond), ~1e-14 relative in
    float64 and ~1e-6 in float32. Differentiable in m (holomorphic) and x.

    Args:
        m: complex relative refractive index n_particle/n_medium, Im m ≥ 0 (scalar).
        x: size parameter k a = 2π n_medium a / λ0 (dimensionless, real, > 0, scalar).
        n_max: number of orders (static Python int ≥ 1); :func:`wiscombe_n_max` gives the
            number needed for a converged series.
        n_start: static start order of the downward recurrence, ≥ n_max + 16; accurate
            when ≥ :func:`required_n_start` (max(|m x|, x), n_max). Default:
            :func:`default_n_start`, enlarged automatically when m and x are concrete; under
            ``jit``/``vmap`` a point that needs more raises (``eqx.error_if``) — pass
            ``required_n_start(max |m x| over the batch, n_max)``.
    Returns:
        ``(a, b)``: complex arrays of shape (n_max,), dtype following (m, x)
        (complex64 for a float32 x and a Python-complex m).
    """
    m, x, n_max, n_start = _prepare(m, x, n_max, n_start, "mie_coefficients")
    a, b, _, _ = _mie_kernel(m, x, n_max, n_start, False)
    return a, b


# --------------------------------------------------------------------------------------
# efficiencies
# --------------------------------------------------------------------------------------


def mie_efficiencies(
    m: Complex[ArrayLike, ""] | Float[ArrayLike, ""],
    x: Float[ArrayLike, ""],
    n_max: int,
    *,
    n_start: int | None = None,
) -> MieEfficiencies:
    """Q_ext, Q_sca, Q_abs, Q_back, Q_fwd and g of a homogeneous sphere (B&H §4.4–4.5).

    Args:
        m: complex relative refractive index, Im m ≥ 0 (scalar).
        x: size parameter k a (real, > 0, scalar).
        n_max: static number of orders; must be ≥ x + 4 x^{1/3} + 1 so the series is
            converged (checked; use :func:`wiscombe_n_max` on the largest x of a batch).
        n_start: static start of the downward recurrence (see :func:`mie_coefficients`).
    Returns:
        :class:`MieEfficiencies` (dimensionless; cross sections are Q π a²).
    """
    fn = "mie_efficiencies"
    m, x, n_max, n_start = _prepare(m, x, n_max, n_start, fn)
    # Wiscombe's x + 4x^{1/3} + 2 with one order of slack for its rounding.
    short = x + 4.0 * jnp.cbrt(x) + 1.0 > n_max
    if is_concrete(short):
        if bool(short):
            raise ValueError(
                f"{fn}: n_max = {n_max} truncates the series for x = {float(x):.4g}; "
                f"use n_max ≥ {wiscombe_n_max(x)} (wiscombe_n_max)"
            )
    else:
        x = eqx.error_if(
            x, short, f"{fn}: n_max = {n_max} is too small for this x (need x + 4x^(1/3) + 2)"
        )
    return _mie_kernel(m, x, n_max, n_start, True)


# --------------------------------------------------------------------------------------
# dipole polarizabilities and Kerker conditions
# --------------------------------------------------------------------------------------


class DipolePolarizabilities(NamedTuple):
    """Electric and magnetic dipole polarizabilities of a sphere.

    SI (from :func:`dipole_polarizabilities`): ``alpha_e`` in C·m²/V (p = α_e E),
    ``alpha_m`` in m³ (m = α_m H). Scaled (from :func:`scaled_dipole_polarizabilities`):
    α̃e = k³ α_e/(4π ε), α̃m = k³ α_m/(4π), dimensionless.
    """

    alpha_e: Array
    alpha_m: Array


def scaled_dipole_polarizabilities(
    m: Complex[ArrayLike, ""] | Float[ArrayLike, ""],
    x: Float[ArrayLike, ""],
    *,
    n_start: int | None = None,
) -> DipolePolarizabilities:
    """Scaled dipole polarizabilities α̃e = (3i/2) a_1, α̃m = (3i/2) b_1 (dimensionless).

    α̃e = k³ α_e/(4π ε) and α̃m = k³ α_m/(4π) with ε the permittivity of the surrounding
    medium (ε0 in vacuum, where α̃e is exactly :func:`jaxbind.constants.scale_polarizability`
    of α_e). Small-x limit: α̃e → x³ (m²−1)/(m²+2) / (1 − (2i/3) x³ (m²−1)/(m²+2))
    (Clausius–Mossotti with radiative correction). A passive particle has
    Im α̃ ≥ (2/3)|α̃|², with equality when lossless (the optical theorem for a dipole).

    Args:
        m: complex relative refractive index, Im m ≥ 0.
        x: size parameter k a (> 0).
        n_start: static recurrence start (default covers |m x| ≤ 33).
    Returns:
        :class:`DipolePolarizabilities` holding (α̃e, α̃m).
    """
    a, b = mie_coefficients(m, x, 1, n_start=n_start)
    return DipolePolarizabilities(alpha_e=1.5j * a[0], alpha_m=1.5j * b[0])


def dipole_polarizabilities(
    m: Complex[ArrayLike, ""] | Float[ArrayLike, ""],
    radius: Float[ArrayLike, ""],
    wavelength: Float[ArrayLike, ""],
    medium_index: Float[ArrayLike, ""] = 1.0,
    *,
    n_start: int | None = None,
) -> DipolePolarizabilities:
    """SI dipole polarizabilities of a sphere from its first Mie coefficients.

    α_e = 6π i ε a_1 / k³ (C·m²/V, p = α_e E) and α_m = 6π i b_1 / k³ (m³, m = α_m H),
    k = 2π n_medium/λ0, ε = ε0 n_medium² the permittivity of the medium (paper 003 eq. 4
    uses p = α_e E, m = α_m H with the medium's ε; in vacuum ε = ε0). Computed in scaled
    units (:func:`scaled_dipole_polarizabilities`) and converted at the end.

    Args:
        m: complex refractive index of the particle material n + iκ (κ ≥ 0); the relative
            index used in Mie theory is m / medium_index.
        radius: sphere radius (m, > 0).
        wavelength: vacuum wavelength λ0 (m, > 0).
        medium_index: real refractive index of the surrounding medium (> 0).
        n_start: static recurrence start (see :func:`mie_coefficients`).
    Returns:
        :class:`DipolePolarizabilities` (alpha_e in C·m²/V, alpha_m in m³).
    """
    fn = "dipole_polarizabilities"
    radius = _validate_positive(jnp.asarray(radius), fn, "radius")
    wavelength = _validate_positive(jnp.asarray(wavelength), fn, "wavelength")
    medium_index = _validate_positive(jnp.asarray(medium_index), fn, "medium_index")
    m = _validate_m(jnp.asarray(m), fn)
    k = 2.0 * jnp.pi * medium_index / wavelength
    x = k * radius
    ae, am = scaled_dipole_polarizabilities(m / medium_index, x, n_start=n_start)
    # α = 4π ε α̃ / k³: form 4π/k³ ~ 1e-20 m³ first so float32 stays in range.
    vol = 4.0 * jnp.pi / k**3
    return DipolePolarizabilities(
        alpha_e=ae * (vol * (constants.epsilon0 * medium_index**2)), alpha_m=am * vol
    )


def _kerker_sign(kind) -> float:
    if kind not in (1, 2):
        raise ValueError(f"kind must be 1 (zero backward scattering) or 2 (zero forward), got {kind!r}")
    return 1.0 if kind == 1 else -1.0


def kerker_polarizabilities(
    alpha_e: ArrayLike,
    kind: int = 2,
    *,
    units: str = "scaled",
    medium_index: ArrayLike = 1.0,
) -> DipolePolarizabilities:
    """Ideal Kerker particle: the magnetic polarizability matching a given electric one.

    Paper 003 (sec. IV): 1st Kerker (zero backward scattering) α_m = +α_e/ε, 2nd Kerker
    (zero forward scattering) α_m = −α_e/ε, ε = ε0 n_medium² the medium permittivity. In
    scaled units (α̃e = k³α_e/(4πε), α̃m = k³α_m/(4π)) this is α̃m = ±α̃e, i.e. b_1 = ±a_1:
    the dipolar far field along ±k̂ is ∝ α̃e ± α̃m. Note that for a passive α̃e
    (Im α̃e > 0) the 2nd-Kerker α̃m has Im α̃m < 0 — it needs gain (paper 003 sec. V).

    Args:
        alpha_e: electric polarizability (scaled, or C·m²/V with ``units="si"``).
        kind: 1 or 2 (static).
        units: ``"scaled"`` (default) or ``"si"``.
        medium_index: refractive index of the medium (only used with ``units="si"``).
    Returns:
        :class:`DipolePolarizabilities` (alpha_e unchanged, alpha_m in the same system:
        scaled, or m³ for SI).
    """
    s = _kerker_sign(kind)
    alpha_e = jnp.asarray(alpha_e)
    if units == "scaled":
        return DipolePolarizabilities(alpha_e=alpha_e, alpha_m=s * alpha_e)
    if units == "si":
        eps = constants.epsilon0 * jnp.asarray(medium_index) ** 2
        return DipolePolarizabilities(alpha_e=alpha_e, alpha_m=s * alpha_e / eps)
    raise ValueError(f"units must be 'scaled' or 'si', got {units!r}")


def kerker_deviation(alpha_e: ArrayLike, alpha_m: ArrayLike, kind: int = 2) -> Array:
    """Distance from the ideal Kerker condition, |α̃m ∓ α̃e| / (|α̃e| + |α̃m|) ∈ [0, 1].

    Scaled polarizabilities (paper 003: α̃m = +α̃e for kind 1, −α̃e for kind 2). 0 means
    ideal; 1 means the opposite Kerker condition. For the dipolar far field this is the
    ratio |E(unwanted direction)| / (|E_e| + |E_m|). A passive sphere
    (α̃ = (3i/2)(a_1, b_1), Re a_1 ≥ |a_1|², Re b_1 ≥ |b_1|²) obeys, for kind 2,
    deviation ≥ (2/3)(|α̃e|² + |α̃m|²)/(|α̃e| + |α̃m|) > 0: zero forward scattering is
    forbidden by the optical theorem.

    Args:
        alpha_e, alpha_m: scaled polarizabilities (complex).
        kind: 1 or 2 (static).
    Returns:
        Real array (dimensionless); 0 when both polarizabilities vanish.
    """
    s = _kerker_sign(kind)
    alpha_e = jnp.asarray(alpha_e)
    alpha_m = jnp.asarray(alpha_m)
    den = jnp.abs(alpha_e) + jnp.abs(alpha_m)
    pos = den > 0
    return jnp.where(pos, jnp.abs(alpha_m - s * alpha_e) / jnp.where(pos, den, 1.0), 0.0)
