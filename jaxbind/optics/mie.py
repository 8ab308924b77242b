"""Mie theory of a homogeneous sphere: coefficients, efficiencies, dipole polarizabilities.

Conventions (Bohren & Huffman, "Absorption and Scattering of Light by Small Particles",
1983, ch. 4; hereafter B&H): time dependence e^{−iωt}, relative refractive index
m = n + iκ with κ ≥ 0 for a passive particle, size parameter x = k a (k the wavenumber in
the surrounding medium, a the radius). miepython uses m = n − iκ for the same physics: its
``coefficients`` conjugate the input and return the same a_n, b_n as here, so compare
``miepython.coefficients(m, x)`` with ``mie_coefficients(m, x, ...)`` for m = n + iκ.

Numerics (ratio-only recurrences, stable for 1e-3 ≤ x ≤ 30, |m| ≤ 10, float32 at small x)
live in :mod:`jaxbind.optics._mie_numerics`; this module holds the public API, input
validation, the static-size helpers, dipole polarizabilities and the Kerker conditions.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float, Inexact

from .._types import NumLike, Real, RealLike  # Real: a real scalar that may be a Python int

from .. import constants
from .._checks import check_positive, check_shape, is_concrete, nan_if
from ._mie_numerics import mie_kernel

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


def wiscombe_n_max(x: RealLike) -> int:
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


def required_n_start(max_abs_mx: RealLike, n_max: int) -> int:
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
    """Default static start order ``max(4 n_max, 32) + 16`` for ``n_max`` orders.

    Accurate (see :func:`required_n_start`) for w = max(|m x|, x) up to 20 when n_max ≤ 16
    and up to w + 4 w^{1/3} ≤ 4 n_max beyond (|m| ≲ 3 at the Wiscombe size limit of
    ``n_max``). Larger |m x| under jit need an explicit ``n_start``; eager calls with
    concrete (m, x) enlarge it automatically.
    """
    return max(4 * n_max, 32) + _START_MARGIN


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
    return nan_if(
        m, bad, f"{fn}: {name} must be finite, non-zero and have Im({name}) ≥ 0 (no gain)"
    )


def _validate_positive(v, fn: str, name: str):
    """Real, finite, > 0 (concrete → ValueError naming ``name``; traced → NaN, ``nan_if``)."""
    check_shape(name, v, ())
    if jnp.iscomplexobj(v):
        raise TypeError(f"{fn}: {name} must be real, got a complex value")
    if is_concrete(v):
        check_positive(f"{fn}: {name}", v)
        return v
    return nan_if(v, ~(v > 0) | ~jnp.isfinite(v), f"{fn}: {name} must be positive and finite")


# --------------------------------------------------------------------------------------
# coefficients
# --------------------------------------------------------------------------------------


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
    ``nan_if`` (NaN for a bad point, no host callback; the guarded arrays are what the kernel
    receives).
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
        x = nan_if(
            x, big, f"{fn}: max(|m x|, x) is too large for the static n_start = {n_start}; "
            "pass n_start = required_n_start(max |m x|, n_max)"
        )
    return m, x, n_max, n_start


def _static_sizes(m, x, n_max: int, n_start, fn: str, *, efficiencies: bool = False):
    """(n_max, n_start) as Python ints, with the concrete input checks done in NumPy.

    First-call latency (issue 15 §10): on concrete inputs this validates on the host (no
    XLA program per check) and resolves the static sizes, so that the public functions can
    run as ONE jitted program (``_coefficients_jit`` …), where ``_prepare`` takes its traced
    branch (the host checks already raised what concrete inputs can raise).  Under a
    caller's transformation nothing is concrete and the traced guards do the work.
    """
    n_max = _check_static_int("n_max", n_max, 1)
    if not is_concrete((m, x)):
        return n_max, _resolve_n_start(m, x, n_max, n_start)
    xv = _validate_positive(np.asarray(x), fn, "x")
    mv = _validate_m(np.asarray(m), fn)
    n_start = _resolve_n_start(mv, xv, n_max, n_start)
    w = max(abs(complex(mv)) * float(xv), float(xv))
    if w + _margin(w) > n_start:
        raise ValueError(
            f"{fn}: |m x| = {abs(complex(mv)) * float(xv):.4g} needs n_start ≥ "
            f"{_required_start(mv, xv, n_max)}, got n_start = {n_start}"
        )
    if efficiencies and float(xv) + 4.0 * np.cbrt(float(xv)) + 1.0 > n_max:
        raise ValueError(
            f"{fn}: n_max = {n_max} truncates the series for x = {float(xv):.4g}; "
            f"use n_max ≥ {wiscombe_n_max(xv)} (wiscombe_n_max)"
        )
    return n_max, n_start


class MieEfficiencies(eqx.Module):
    """Efficiencies of a sphere (cross sections divided by π a²), B&H §4.4–4.5.

    Attributes:
        qext: extinction efficiency, B&H eq. 4.62, evaluated as qsca + qabs.
        qsca: scattering efficiency, B&H eq. 4.61.
        qabs: absorption efficiency (2/x²) Σ (2n+1)[Re(a_n) − |a_n|² + Re(b_n) − |b_n|²],
            computed without cancellation (exactly 0 for real m), see ``_mie_numerics.mie_kernel``.
        qback: backscattering (radar) efficiency, B&H eq. 4.82:
            Q_back = |Σ (2n+1)(−1)^n (a_n − b_n)|² / x² = 4π (dC_sca/dΩ)(θ=π) / (π a²).
            This is exactly miepython's ``qback`` (``efficiencies_mx``); some codes divide
            by 4π instead (differential efficiency per steradian).
        qfwd: the same quantity in the forward direction,
            Q_fwd = |Σ (2n+1)(a_n + b_n)|² / x² = 4π (dC_sca/dΩ)(θ=0) / (π a²).
        g: asymmetry parameter ⟨cos θ⟩, B&H eq. 4.79 (0 when qsca = 0).
    """

    qext: Float[Array, "*batch"]
    qsca: Float[Array, "*batch"]
    qabs: Float[Array, "*batch"]
    qback: Float[Array, "*batch"]
    qfwd: Float[Array, "*batch"]
    g: Float[Array, "*batch"]

    @property
    def forward_backward_ratio(self) -> Array:
        """Forward-to-backward differential scattering ratio qfwd/qback (∞ if qback = 0)."""
        pos = self.qback > 0
        return jnp.where(pos, self.qfwd / jnp.where(pos, self.qback, 1.0), jnp.inf)


def mie_coefficients(
    m: Complex[ArrayLike, ""] | Real,
    x: Real,
    n_max: int,
    *,
    n_start: int | None = None,
) -> tuple[Complex[Array, " n_max"], Complex[Array, " n_max"]]:
    """Mie scattering coefficients a_n, b_n, n = 1..n_max, of a homogeneous sphere.

    B&H eqs. 4.53 / 4.88 (e^{−iωt}, m = n + iκ), evaluated with ratios only
    (:mod:`jaxbind.optics._mie_numerics`): stable for 1e-3 ≤ x ≤ 30 and |m| ≤ 10 (and
    beyond). Differentiable in m (holomorphic) and x.

    Accuracy (relative to max_n |a_n|, measured against independent references and
    float64): float64 ~1e-14 (1e-12 at x = 30, |m| = 10). float32, for |m| ≤ 4: ~5e-7 for
    x ≤ 0.1, ~4e-6 at x ~ 1, ~1.5e-5 up to x ~ 10; beyond, near the sharp high-order
    resonances of weakly absorbing high-index spheres the error grows with the resonance
    Q (up to ~2e-3 at x ≈ 35, m ≈ 3.8) — an ill-conditioning of the coefficients, not of
    the recurrences: use float64 there.

    Args:
        m: complex relative refractive index n_particle/n_medium, Im m ≥ 0 (scalar).
        x: size parameter k a = 2π n_medium a / λ0 (dimensionless, real, > 0, scalar).
        n_max: number of orders (static Python int ≥ 1); :func:`wiscombe_n_max` gives the
            number needed for a converged series.
        n_start: static start order of the downward recurrence, ≥ n_max + 16; accurate
            when ≥ :func:`required_n_start` (max(|m x|, x), n_max). Default:
            :func:`default_n_start`, enlarged automatically when m and x are concrete; under
            ``jit``/``vmap`` a point that needs more is NaN (no host callback) — pass
            ``required_n_start(max |m x| over the batch, n_max)``.
    Returns:
        ``(a, b)``: complex arrays of shape (n_max,), dtype following (m, x)
        (complex64 for a float32 x and a Python-complex m).
    """
    n_max, n_start = _static_sizes(m, x, n_max, n_start, "mie_coefficients")
    return _coefficients_jit(m, x, n_max, n_start)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _coefficients_jit(m, x, n_max: int, n_start: int):
    m, x, n_max, n_start = _prepare(m, x, n_max, n_start, "mie_coefficients")
    a, b, _, _ = mie_kernel(m, x, n_max, n_start, False)
    return a, b


# --------------------------------------------------------------------------------------
# efficiencies
# --------------------------------------------------------------------------------------


def mie_efficiencies(
    m: Complex[ArrayLike, ""] | Real,
    x: Real,
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
        :class:`MieEfficiencies` (dimensionless; cross sections are Q π a²). float32
        accuracy (|m| ≤ 4): qext, qsca, g ~1e-6 for x ≤ 0.1, ~1e-5 up to x ~ 10, ~1e-4 at
        x ~ 30; qback is ill-conditioned where backscattering nearly cancels (~1e-4 there).
    """
    fn = "mie_efficiencies"
    n_max, n_start = _static_sizes(m, x, n_max, n_start, fn, efficiencies=True)
    return _efficiencies_jit(m, x, n_max, n_start)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _efficiencies_jit(m, x, n_max: int, n_start: int) -> MieEfficiencies:
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
        x = nan_if(
            x, short, f"{fn}: n_max = {n_max} is too small for this x (need x + 4x^(1/3) + 2)"
        )
    qext, qsca, qabs, qback, qfwd, g = mie_kernel(m, x, n_max, n_start, True)
    return MieEfficiencies(qext=qext, qsca=qsca, qabs=qabs, qback=qback, qfwd=qfwd, g=g)


# --------------------------------------------------------------------------------------
# dipole polarizabilities and Kerker conditions
# --------------------------------------------------------------------------------------


class DipolePolarizabilities(NamedTuple):
    """Electric and magnetic dipole polarizabilities of a sphere.

    SI (from :func:`dipole_polarizabilities`): ``alpha_e`` in C·m²/V (p = α_e E),
    ``alpha_m`` in m³ (m = α_m H). Scaled (from :func:`scaled_dipole_polarizabilities`):
    α̃e = k³ α_e/(4π ε), α̃m = k³ α_m/(4π), dimensionless.
    """

    alpha_e: Inexact[Array, "*batch"]
    alpha_m: Inexact[Array, "*batch"]


def scaled_dipole_polarizabilities(
    m: Complex[ArrayLike, ""] | Real,
    x: Real,
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
        n_start: static recurrence start (the default, 48, covers max(|m x|, x) ≤ 20;
            see :func:`required_n_start`).
    Returns:
        :class:`DipolePolarizabilities` holding (α̃e, α̃m).
    """
    a, b = mie_coefficients(m, x, 1, n_start=n_start)
    return DipolePolarizabilities(alpha_e=1.5j * a[0], alpha_m=1.5j * b[0])


def dipole_polarizabilities(
    m: Complex[ArrayLike, ""] | Real,
    radius: Real,
    wavelength: Real,
    medium_index: Real = 1.0,
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
    if is_concrete((m, radius, wavelength, medium_index)):
        # host checks + static n_start, then one jitted program (see _static_sizes)
        a = _validate_positive(np.asarray(radius), fn, "radius")
        lam = _validate_positive(np.asarray(wavelength), fn, "wavelength")
        nm = _validate_positive(np.asarray(medium_index), fn, "medium_index")
        mv = _validate_m(np.asarray(m), fn)
        x = 2.0 * np.pi * float(nm) / float(lam) * float(a)
        _, n_start = _static_sizes(complex(mv) / float(nm), x, 1, n_start, "mie_coefficients")
    return _dipole_polarizabilities_jit(m, radius, wavelength, medium_index, n_start)


@functools.partial(jax.jit, static_argnums=(4,))
def _dipole_polarizabilities_jit(m, radius, wavelength, medium_index, n_start):
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
    alpha_e: NumLike,
    kind: int = 2,
    *,
    units: str = "scaled",
    medium_index: RealLike = 1.0,
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
    if units not in ("scaled", "si"):
        raise ValueError(f"units must be 'scaled' or 'si', got {units!r}")
    return _kerker_polarizabilities(jnp.asarray(alpha_e), jnp.asarray(medium_index), s, units)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _kerker_polarizabilities(alpha_e, medium_index, s: float, units: str):
    # one compiled program for an eager call (traced inline under a user's transform)
    if units == "scaled":
        return DipolePolarizabilities(alpha_e=alpha_e, alpha_m=s * alpha_e)
    eps = constants.epsilon0 * medium_index**2
    return DipolePolarizabilities(alpha_e=alpha_e, alpha_m=s * alpha_e / eps)


def kerker_deviation(alpha_e: NumLike, alpha_m: NumLike, kind: int = 2) -> Float[Array, "..."]:
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
    return _kerker_deviation(jnp.asarray(alpha_e), jnp.asarray(alpha_m), s)


@functools.partial(jax.jit, static_argnums=(2,))
def _kerker_deviation(alpha_e, alpha_m, s: float):
    # one compiled program for an eager call (traced inline under a user's transform)
    den = jnp.abs(alpha_e) + jnp.abs(alpha_m)
    pos = den > 0
    return jnp.where(pos, jnp.abs(alpha_m - s * alpha_e) / jnp.where(pos, den, 1.0), 0.0)
