"""Material permittivities and the Clausius–Mossotti polarizability of a sphere.

Permittivity models (relative permittivity ε, e^{-iωt} convention, so Im ε(ω) ≥ 0 for a
passive material at ω > 0) share one interface, :class:`Permittivity`:

* ``permittivity(omega)`` — complex ε(ω) at real angular frequency ω (rad/s);
* ``permittivity_imag(xi)`` — real ε(iξ) at imaginary frequency ω = iξ (ξ ≥ 0, rad/s), the
  quantity Casimir–Polder / Lifshitz sums need (paper 002 eqs. 20–26, 36);
* ``permittivity_at_wavelength(wavelength)`` — ε at the vacuum wavelength λ, ω = 2πc/λ;
* ``refractive_index(omega)`` — √ε on the branch with Im n ≥ 0.

Every model evaluates in dimensionless frequency ratios (ω/ω_ref, λ_i/λ), so float32 inputs
give float32 (complex64) results that agree with float64 to ~1e-6 relative. The models
broadcast elementwise over the shape of their frequency argument.

The polarizability of a small sphere (paper 002 after eq. 35; paper 001 eq. 24 with N = 1/3)
is :func:`clausius_mossotti`; :func:`clausius_mossotti_scaled` gives the dimensionless
α̃ = k³α/(4πε0) that the kernels use (see :mod:`jaxbind.constants`).
"""

from __future__ import annotations

import abc
import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.lax import complex as lax_complex
import numpy as np

from .. import constants
from .._checks import as_float_array, check_finite, check_positive, check_shape, is_concrete, nan_if
from .._types import Array, ArrayLike, Float, Inexact, Number, Real

__all__ = [
    "ConstantIndex",
    "DrudeLorentz",
    "Permittivity",
    "Sellmeier",
    "SILICON_GREEN_2008",
    "TabulatedIndex",
    "clausius_mossotti",
    "clausius_mossotti_scaled",
    "radiative_correction_scaled",
]

_TWO_PI_C = 2.0 * math.pi * constants.c


def _complex_dtype(real_dtype):
    """complex64 for float32 (and narrower), complex128 for float64."""
    return jnp.promote_types(real_dtype, jnp.complex64)


def _host_frequency(x, name: str, *, nonnegative: bool = False, positive: bool = False):
    """Conversion + concrete checks of a real frequency-like input (ValueError naming it)."""
    x = as_float_array(x, name)
    if positive:
        check_positive(name, x)
    elif nonnegative:
        check_positive(name, x, allow_zero=True)
    else:
        check_finite(name, x)
    return x


def _real_frequency(x, name: str, *, nonnegative: bool = False, positive: bool = False):
    """Validated real frequency-like input: ValueError now if concrete; traced, NaN at the bad
    entries (:func:`~jaxbind._checks.nan_if`, no host callback)."""
    x = _host_frequency(x, name, nonnegative=nonnegative, positive=positive)
    bad = ~jnp.isfinite(x)
    what = "finite"
    if positive:
        bad, what = bad | (x <= 0), "finite and positive"
    elif nonnegative:
        bad, what = bad | (x < 0), "finite and non-negative"
    return nan_if(x, bad, f"{name} must be {what}")


def _nonfinite_message(who: str) -> str:
    return f"{who}: non-finite permittivity (frequency at an undamped resonance?)"


def _guard_result(eps, who: str):
    """No silent inf: a pole hit exactly (lossless resonance) is an error (eager) or NaN there
    (traced, :func:`~jaxbind._checks.nan_if`)."""
    return nan_if(eps, ~jnp.isfinite(eps), _nonfinite_message(who))


def _compiled_model_method(name: str, *, who: str | None = None, nonnegative: bool = False,
                           positive: bool = False):
    """An eager call of a model's ``method(self, x)`` checks ``x`` on the host (ValueError
    naming ``name``), runs the method as ONE compiled program (not op by op: first-call
    latency) and, with ``who``, raises ``eqx.EquinoxRuntimeError`` on a non-finite result
    (:func:`_guard_result`'s eager error); under a user's transform the body is traced inline
    and its guards are NaN masks."""

    def deco(body):
        jitted = eqx.filter_jit(body)

        @functools.wraps(body)
        def method(self, x):
            x = _host_frequency(x, name, nonnegative=nonnegative, positive=positive)
            out = jitted(self, x)
            if who is not None and is_concrete(out) and not np.all(np.isfinite(np.asarray(out))):
                raise eqx.EquinoxRuntimeError(_nonfinite_message(who))
            return out

        return method

    return deco


def _check_1d_params(named: dict, *, nonneg: tuple = (), positive: tuple = ()):
    """Concrete checks for 1-D oscillator parameter arrays of one common length."""
    shapes = {k: jnp.shape(v) for k, v in named.items()}
    for k, s in shapes.items():
        if len(s) != 1:
            raise ValueError(f"{k} must be a 1-D array (one entry per oscillator), got shape {s}")
    lens = {s[0] for s in shapes.values()}
    if len(lens) != 1:
        raise ValueError(f"oscillator parameters must have equal lengths, got {shapes}")
    for k, v in named.items():
        if k in positive:
            check_positive(k, v)
        elif k in nonneg:
            check_positive(k, v, allow_zero=True)
        else:
            check_finite(k, v)


class Permittivity(eqx.Module):
    """Abstract relative permittivity ε of a linear, isotropic, non-magnetic material.

    Subclasses implement :meth:`permittivity` and :meth:`permittivity_imag`.
    """

    @abc.abstractmethod
    def permittivity(self, omega: Float[ArrayLike, "..."]) -> Inexact[Array, "..."]:
        """Complex ε(ω) at real angular frequency ``omega`` (rad/s), elementwise."""

    @abc.abstractmethod
    def permittivity_imag(self, xi: Float[ArrayLike, "..."]) -> Float[Array, "..."]:
        """Real ε(iξ) at imaginary frequency ω = iξ, ``xi`` ≥ 0 (rad/s), elementwise."""

    def permittivity_at_wavelength(self, wavelength: Float[ArrayLike, "..."]) -> Inexact[Array, "..."]:
        """Complex ε at vacuum wavelength ``wavelength`` (m, > 0): ε(2πc/λ)."""
        lam = _real_frequency(wavelength, "wavelength", positive=True)
        return self.permittivity(_TWO_PI_C / lam)

    def refractive_index(self, omega: Float[ArrayLike, "..."]) -> Inexact[Array, "..."]:
        """Complex refractive index n + iκ = √ε(ω) (principal branch, κ ≥ 0 for Im ε ≥ 0)."""
        return jnp.sqrt(self.permittivity(omega))


class ConstantIndex(Permittivity):
    """Dispersionless material of complex refractive index n + iκ, ε = (n + iκ)².

    Args:
        n: complex (or real) scalar refractive index, Re n > 0, Im n = κ ≥ 0 (absorption).
    """

    n: Inexact[Array, ""] = eqx.field(converter=jnp.asarray)

    def __check_init__(self):
        check_shape("n", self.n, ())
        if is_concrete(self.n):
            v = complex(np.asarray(self.n))
            if not (math.isfinite(v.real) and math.isfinite(v.imag)):
                raise ValueError(f"n must be finite, got {v}")
            if v.real <= 0:
                raise ValueError(f"n must have a positive real part, got {v}")
            if v.imag < 0:
                raise ValueError(f"n must have a non-negative imaginary part (gain), got {v}")

    def permittivity(self, omega):
        """ε = n² (complex) broadcast to the shape of ``omega`` (rad/s)."""
        omega = _real_frequency(omega, "omega")
        n = self.n.astype(_complex_dtype(omega.dtype))
        return jnp.broadcast_to(n * n, omega.shape)

    def permittivity_imag(self, xi):
        """ε(iξ) = n² for a lossless dispersionless dielectric (requires κ = 0).

        A constant complex ε is not the boundary value of a causal response, so ε(iξ) is
        undefined for κ > 0: that is an error, not a number.
        """
        xi = _real_frequency(xi, "xi", nonnegative=True)
        if is_concrete(self.n) and np.iscomplexobj(np.asarray(self.n)) and np.imag(self.n) != 0:
            raise ValueError("permittivity_imag: undefined for an absorbing ConstantIndex "
                             f"(n = {complex(np.asarray(self.n))}); use a causal model (DrudeLorentz)")
        n = jnp.real(self.n).astype(xi.dtype)
        n = nan_if(n, jnp.imag(self.n) != 0, "permittivity_imag: undefined for an "
                         "absorbing ConstantIndex (Im n ≠ 0)")
        return jnp.broadcast_to(n * n, xi.shape)


class Sellmeier(Permittivity):
    """Lossless Sellmeier dispersion n² = 1 + Σ_i B_i λ² / (λ² − λ_i²).

    Written in frequency, ε(ω) = 1 + Σ_i B_i / (1 − (ω/ω_i)²) with ω_i = 2πc/λ_i, whose
    analytic continuation gives ε(iξ) = 1 + Σ_i B_i / (1 + (ξ/ω_i)²). Both are evaluated in
    the dimensionless ratio ω λ_i /(2πc).

    Args:
        coefficients: (m,) dimensionless oscillator strengths B_i.
        resonance_wavelengths: (m,) resonance wavelengths λ_i in metres (> 0).
        valid_range: static (λ_min, λ_max) in metres over which the fit is published, or
            None; outside it the formula is an extrapolation (no error is raised, so sweeps
            are not interrupted; check ``valid_range`` yourself).
    """

    coefficients: Float[Array, " m"] = eqx.field(converter=jnp.asarray)
    resonance_wavelengths: Float[Array, " m"] = eqx.field(converter=jnp.asarray)
    valid_range: tuple | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        _check_1d_params({"coefficients": self.coefficients,
                          "resonance_wavelengths": self.resonance_wavelengths},
                         positive=("resonance_wavelengths",))

    @classmethod
    def fused_silica(cls) -> "Sellmeier":
        """Fused silica at 20 °C, I. H. Malitson, J. Opt. Soc. Am. 55, 1205 (1965).

        Valid for 0.21–3.71 µm; n(589.3 nm) = 1.4585, n(1064 nm) = 1.4496.
        """
        return cls(
            coefficients=np.array([0.6961663, 0.4079426, 0.8974794]),
            resonance_wavelengths=np.array([0.0684043, 0.1162414, 9.896161]) * 1e-6,
            valid_range=(0.21e-6, 3.71e-6),
        )

    def _ratios(self, w):
        lam_i = self.resonance_wavelengths.astype(w.dtype)
        return w[..., None] * (lam_i / _TWO_PI_C)

    @_compiled_model_method("omega", who="Sellmeier")
    def permittivity(self, omega):
        """Complex ε(ω) (zero imaginary part: the model is lossless); ``omega`` in rad/s."""
        omega = _real_frequency(omega, "omega")
        x = self._ratios(omega)
        b = self.coefficients.astype(omega.dtype)
        eps = 1.0 + jnp.sum(b / (1.0 - x * x), axis=-1)
        return _guard_result(eps, "Sellmeier").astype(_complex_dtype(omega.dtype))

    @_compiled_model_method("wavelength", who="Sellmeier", positive=True)
    def permittivity_at_wavelength(self, wavelength):
        """Complex ε at vacuum wavelength ``wavelength`` (m, > 0): ε(2πc/λ)."""
        return Permittivity.permittivity_at_wavelength(self, wavelength)

    @_compiled_model_method("xi", nonnegative=True)
    def permittivity_imag(self, xi):
        """Real ε(iξ) = 1 + Σ B_i/(1 + (ξ/ω_i)²), the continuation of the fitted model.

        Outside the fitted range this is an extrapolation (for fused silica it gives
        ε(0) = 1 + ΣB ≈ 3.0, not the measured static 3.8); use :class:`DrudeLorentz` for
        Casimir–Polder work.
        """
        xi = _real_frequency(xi, "xi", nonnegative=True)
        y = self._ratios(xi)
        b = self.coefficients.astype(xi.dtype)
        return 1.0 + jnp.sum(b / (1.0 + y * y), axis=-1)


class DrudeLorentz(Permittivity):
    """Sum of damped (Drude–)Lorentz oscillators, paper 002 eq. 35.

        ε(ω) = ε_∞ + Σ_j ω_pj² / (ω_tj² − ω² − i γ_j ω),
        ε(iξ) = ε_∞ + Σ_j ω_pj² / (ω_tj² + ξ² + γ_j ξ)       (real, decreasing in ξ ≥ 0).

    A term with ω_t = 0 is a Drude (free-carrier) term. Frequencies are angular (rad/s);
    internally they are divided by the largest model frequency so float32 does not overflow
    (ω_p² ≈ 1e33 for silica).

    Args:
        omega_p: (m,) plasma frequencies ω_pj (rad/s, ≥ 0).
        omega_t: (m,) transition (resonance) frequencies ω_tj (rad/s, ≥ 0).
        gamma: (m,) damping rates γ_j (rad/s, ≥ 0).
        eps_inf: high-frequency permittivity ε_∞ (> 0; paper 002 uses 1).
    """

    omega_p: Float[Array, " m"] = eqx.field(converter=jnp.asarray)
    omega_t: Float[Array, " m"] = eqx.field(converter=jnp.asarray)
    gamma: Float[Array, " m"] = eqx.field(converter=jnp.asarray)
    eps_inf: Float[Array, ""] = eqx.field(converter=jnp.asarray, default=1.0)

    def __check_init__(self):
        _check_1d_params({"omega_p": self.omega_p, "omega_t": self.omega_t, "gamma": self.gamma},
                         nonneg=("omega_p", "omega_t", "gamma"))
        check_shape("eps_inf", self.eps_inf, ())
        check_positive("eps_inf", self.eps_inf)
        if is_concrete(self.omega_p) and not np.any(
                np.concatenate([np.asarray(self.omega_p), np.asarray(self.omega_t),
                                np.asarray(self.gamma)]) > 0):
            raise ValueError("omega_p, omega_t, gamma: at least one frequency must be positive")

    @classmethod
    def silica(cls) -> "DrudeLorentz":
        """Two-oscillator silica model of paper 002 eq. 35 (its ref. [41]).

        ω_p1 = 1.75e14, ω_p2 = 2.96e16, ω_t1 = 1.32e14, ω_t2 = 2.72e16, γ1 = 4.28e13,
        γ2 = 8.09e15, all read as angular frequencies in rad/s (the paper prints "Hz"; the
        rad/s reading gives the known static ε(0) ≈ 3.9 of silica and n ≈ 1.48 at 1064 nm).
        """
        return cls(
            omega_p=np.array([1.75e14, 2.96e16]),
            omega_t=np.array([1.32e14, 2.72e16]),
            gamma=np.array([4.28e13, 8.09e15]),
        )

    def _scaled(self, dtype):
        """Parameters divided by the largest model frequency (ε is invariant to the scale)."""
        ref = jax.lax.stop_gradient(jnp.max(jnp.concatenate(
            [self.omega_p, self.omega_t, self.gamma])))
        cast = lambda a: (a / ref).astype(dtype)  # noqa: E731
        return ref, cast(self.omega_p), cast(self.omega_t), cast(self.gamma)

    @_compiled_model_method("omega", who="DrudeLorentz")
    def permittivity(self, omega):
        """Complex ε(ω) (Im ε ≥ 0 for ω ≥ 0); ``omega`` in rad/s, any shape."""
        omega = _real_frequency(omega, "omega")
        ref, wp, wt, g = self._scaled(omega.dtype)
        w = (omega / ref.astype(omega.dtype))[..., None]
        den = (wt * wt - w * w) - 1j * (g * w)
        eps = self.eps_inf.astype(omega.dtype) + jnp.sum(wp * wp / den, axis=-1)
        return _guard_result(eps.astype(_complex_dtype(omega.dtype)), "DrudeLorentz")

    @_compiled_model_method("xi", who="DrudeLorentz", nonnegative=True)
    def permittivity_imag(self, xi):
        """Real ε(iξ) for ``xi`` ≥ 0 (rad/s), any shape."""
        xi = _real_frequency(xi, "xi", nonnegative=True)
        ref, wp, wt, g = self._scaled(xi.dtype)
        s = (xi / ref.astype(xi.dtype))[..., None]
        eps = self.eps_inf.astype(xi.dtype) + jnp.sum(wp * wp / (wt * wt + s * s + g * s), axis=-1)
        return _guard_result(eps, "DrudeLorentz")

    @_compiled_model_method("wavelength", who="DrudeLorentz", positive=True)
    def permittivity_at_wavelength(self, wavelength):
        """Complex ε at vacuum wavelength ``wavelength`` (m, > 0): ε(2πc/λ)."""
        return Permittivity.permittivity_at_wavelength(self, wavelength)


# --- Clausius–Mossotti -------------------------------------------------------------------


def _scalar_eps_checked(eps, name: str = "eps"):
    """Conversion + concrete checks of a scalar permittivity (no XLA program when concrete)."""
    eps = jnp.asarray(eps)
    check_shape(name, eps, ())
    check_finite(name, eps)
    if not jnp.issubdtype(eps.dtype, jnp.inexact):
        eps = eps.astype(jnp.result_type(float))
    return eps


class TabulatedIndex(Permittivity):
    """Complex refractive index n + iκ tabulated against vacuum wavelength (measured data).

    ε(ω) = (n + iκ)² with n, κ linearly interpolated in the vacuum wavelength λ = 2πc/ω
    (clamped to the end values outside the table; differentiable in ω inside it). Tabulated
    data carry no causal continuation, so ε(iξ) is undefined (an error, not a number): use a
    fitted model (:class:`Sellmeier`, :class:`DrudeLorentz`) for Casimir–Polder sums.

    Args:
        wavelengths: (M,) increasing vacuum wavelengths (m).
        n, kappa: (M,) real and imaginary parts of the index (n > 0, κ ≥ 0).
    """

    wavelengths: Float[Array, " m"] = eqx.field(converter=np.asarray)
    n: Float[Array, " m"] = eqx.field(converter=np.asarray)
    kappa: Float[Array, " m"] = eqx.field(converter=np.asarray)

    def __check_init__(self):
        lam, n, k = (np.asarray(v, float) for v in (self.wavelengths, self.n, self.kappa))
        if lam.ndim != 1 or lam.shape[0] < 2 or n.shape != lam.shape or k.shape != lam.shape:
            raise ValueError("wavelengths, n and kappa must be 1-D arrays of the same length ≥ 2, "
                             f"got shapes {lam.shape}, {n.shape}, {k.shape}")
        if not (np.all(np.isfinite(lam)) and np.all(lam > 0) and np.all(np.diff(lam) > 0)):
            raise ValueError("wavelengths must be finite, positive and increasing")
        if not (np.all(np.isfinite(n)) and np.all(n > 0)):
            raise ValueError("n must be finite and positive")
        if not (np.all(np.isfinite(k)) and np.all(k >= 0)):
            raise ValueError("kappa must be finite and non-negative (absorption)")

    def index_at_wavelength(self, wavelength: Float[ArrayLike, "..."]) -> Inexact[Array, "..."]:
        """Complex n + iκ at vacuum ``wavelength`` (m, > 0), linear interpolation."""
        lam = _host_frequency(wavelength, "wavelength", positive=True)
        # host checks above; the interpolation as one compiled program (not op by op)
        return _tabulated_index(lam, np.asarray(self.wavelengths) * 1e6, self.n, self.kappa, False)

    def permittivity(self, omega):
        """ε = (n + iκ)² at angular frequency ``omega`` (rad/s, > 0)."""
        omega = _host_frequency(omega, "omega", positive=True)
        return _tabulated_index(omega, np.asarray(self.wavelengths) * 1e6, self.n, self.kappa, True)

    def permittivity_imag(self, xi):
        """Undefined for tabulated data (no causal continuation): always an error."""
        raise ValueError("permittivity_imag: a TabulatedIndex has no continuation to imaginary "
                         "frequency; fit a Sellmeier or DrudeLorentz model for Matsubara sums")

    @classmethod
    def silicon_green_2008(cls) -> "TabulatedIndex":
        """Intrinsic crystalline silicon at 300 K, 400–800 nm: M. A. Green, Sol. Energy Mater.
        Sol. Cells 92, 1305 (2008), Table 1 (n, κ every 10 nm)."""
        t = SILICON_GREEN_2008
        return cls(t[:, 0] * 1e-6, t[:, 1], t[:, 2])


# Intrinsic crystalline silicon at 300 K, M. A. Green, Sol. Energy Mater. Sol. Cells 92,
# 1305 (2008), Table 1: vacuum wavelength (µm), n, κ (0.40–0.80 µm).
SILICON_GREEN_2008 = np.array([
    [0.40, 5.613, 0.296], [0.41, 5.330, 0.227], [0.42, 5.119, 0.176], [0.43, 4.949, 0.138],
    [0.44, 4.812, 0.107], [0.45, 4.691, 0.086], [0.46, 4.587, 0.071], [0.47, 4.497, 0.062],
    [0.48, 4.419, 0.055], [0.49, 4.350, 0.049], [0.50, 4.294, 0.044], [0.51, 4.241, 0.039],
    [0.52, 4.193, 0.036], [0.53, 4.151, 0.033], [0.54, 4.112, 0.030], [0.55, 4.077, 0.028],
    [0.56, 4.045, 0.026], [0.57, 4.015, 0.024], [0.58, 3.988, 0.023], [0.59, 3.963, 0.021],
    [0.60, 3.940, 0.020], [0.61, 3.918, 0.018], [0.62, 3.898, 0.017], [0.63, 3.879, 0.016],
    [0.64, 3.861, 0.015], [0.65, 3.844, 0.014], [0.66, 3.828, 0.013], [0.67, 3.813, 0.013],
    [0.68, 3.798, 0.012], [0.69, 3.784, 0.011], [0.70, 3.772, 0.011], [0.71, 3.759, 0.010],
    [0.72, 3.748, 0.010], [0.73, 3.737, 0.009], [0.74, 3.727, 0.008], [0.75, 3.717, 0.008],
    [0.76, 3.708, 0.007], [0.77, 3.699, 0.007], [0.78, 3.691, 0.006], [0.79, 3.683, 0.006],
    [0.80, 3.675, 0.005],
])


@functools.partial(jax.jit, static_argnums=(4,))
def _tabulated_index(x, t_um, n, kappa, permittivity: bool):
    """n + iκ interpolated at the vacuum wavelength x (or ε = (n + iκ)² at the angular
    frequency x, with ``permittivity``); ``t_um`` the table's wavelengths in µm."""
    if permittivity:
        lam = _TWO_PI_C / _real_frequency(x, "omega", positive=True)
    else:
        lam = x
    lam = _real_frequency(lam, "wavelength", positive=True)
    rdt = jnp.result_type(lam.dtype, jnp.float32)
    # interpolate in µm: float32-safe (metres squared would lose digits)
    xx = lam.astype(rdt) * 1e6
    t = t_um.astype(rdt)
    m = lax_complex(jnp.interp(xx, t, jnp.asarray(n, rdt)), jnp.interp(xx, t, jnp.asarray(kappa, rdt)))
    return m * m if permittivity else m


def _scalar_eps(eps, name: str = "eps"):
    eps = _scalar_eps_checked(eps, name)
    return nan_if(eps, ~jnp.isfinite(eps), f"{name} must be finite")


def radiative_correction_scaled(alpha0_t: Inexact[ArrayLike, "..."]) -> Inexact[Array, "..."]:
    """Radiation-reaction correction in scaled units: α̃ = α̃0 / (1 − (2i/3) α̃0).

    This is α = α0 / (1 − i k³ α0/(6π ε0)) written with α̃ = k³ α/(4π ε0). It restores the
    optical theorem (extinction = scattering for a lossless particle). Elementwise; for a
    tensor use it on the principal values (see :class:`jaxbind.optics.ellipsoids.Ellipsoid`).
    """
    a0 = jnp.asarray(alpha0_t)
    a0 = a0.astype(_complex_dtype(a0.dtype))
    return a0 / (1.0 - (2j / 3.0) * a0)


def clausius_mossotti_scaled(
    eps: Number, ka: Real, *, radiative: bool = True
) -> Inexact[Array, ""]:
    """Dimensionless sphere polarizability α̃ = k³α/(4πε0) (paper 002 after eq. 35).

        α̃0 = (ka)³ (ε − 1)/(ε + 2),    α̃ = α̃0 / (1 − (2i/3) α̃0)  if ``radiative``.

    Args:
        eps: scalar relative permittivity (real or complex) of the sphere, relative to the
            surrounding medium.
        ka: size parameter k·a (dimensionless, > 0), k the wavenumber in the medium.
        radiative: include the radiation-reaction correction.
    Returns:
        scalar α̃ (complex if ``eps`` is complex or ``radiative``; real otherwise).
    """
    eps = _scalar_eps_checked(eps)
    ka = as_float_array(ka, "ka")
    check_shape("ka", ka, ())
    check_positive("ka", ka)
    # concrete checks above; the arithmetic as one jitted program (first-call latency); an
    # eager call checks the output on the host (the Fröhlich pole is an error, not a NaN)
    out = _clausius_mossotti_scaled(eps, ka, radiative)
    if is_concrete(out) and not np.all(np.isfinite(np.asarray(out))):
        raise eqx.EquinoxRuntimeError(_FROHLICH)
    return out


_FROHLICH = "clausius_mossotti: non-finite polarizability (eps = -2, the Fröhlich pole?)"


@eqx.filter_jit
def _clausius_mossotti_scaled(eps, ka, radiative: bool):
    eps = _scalar_eps(eps)
    ka = nan_if(ka, ~(jnp.isfinite(ka) & (ka > 0)), "ka must be finite and positive")
    a0 = ka**3 * (eps - 1.0) / (eps + 2.0)
    out = radiative_correction_scaled(a0) if radiative else a0
    return nan_if(out, ~jnp.isfinite(out), "clausius_mossotti: non-finite polarizability "
                        "(eps = -2, the Fröhlich pole?)")


def clausius_mossotti(
    eps: Number,
    radius: Real,
    k: Real | None = None,
    *,
    radiative: bool | None = None,
) -> Inexact[Array, ""]:
    """Electric polarizability of a small sphere, α0 = 4π ε0 a³ (ε−1)/(ε+2) (C·m²/V).

    Paper 002 (after eq. 35); equals ε0 V χ of paper 001 eq. 24 with N = 1/3. With the
    radiation-reaction correction, α = α0 / (1 − i k³ α0/(6π ε0)), computed through the
    scaled α̃ (:func:`clausius_mossotti_scaled`) so float32 does not underflow.

    Args:
        eps: scalar relative permittivity of the sphere (relative to the medium).
        radius: sphere radius a in metres (> 0).
        k: wavenumber in the medium (rad/m, > 0); needed for the radiative correction.
        radiative: include the radiative correction; default: True iff ``k`` is given.
            ``radiative=True`` without ``k`` is a ValueError.
    Returns:
        scalar α in C·m²/V (= F·m²); complex if ``eps`` is complex or ``radiative``.
    """
    if radiative is None:
        radiative = k is not None
    if radiative and k is None:
        raise ValueError("clausius_mossotti: the radiative correction needs the wavenumber k "
                         "(pass k=..., or radiative=False for the static polarizability)")
    radius = as_float_array(radius, "radius")
    check_shape("radius", radius, ())
    check_positive("radius", radius)
    eps = _scalar_eps_checked(eps)
    if k is not None:
        k = as_float_array(k, "k")
        check_shape("k", k, ())
        check_positive("k", k)
    # concrete checks done above (NumPy); the arithmetic and the traced guards (NaN masks, no
    # host callback) run as one jitted program (first-call latency, issue 15 §10); an eager
    # call checks the output on the host (the Fröhlich pole eps = -2 is an error, not a NaN)
    out = _clausius_mossotti(eps, radius, k, radiative)
    if is_concrete(out) and not np.all(np.isfinite(np.asarray(out))):
        raise eqx.EquinoxRuntimeError("clausius_mossotti: non-finite polarizability (eps = -2, "
                                      "the Fröhlich pole?)")
    return out


@eqx.filter_jit
def _clausius_mossotti(eps, radius, k, radiative):
    radius = nan_if(radius, ~(jnp.isfinite(radius) & (radius > 0)),
                          "radius must be finite and positive")
    if k is None:
        eps = _scalar_eps(eps)
        a0 = (4.0 * math.pi * constants.epsilon0) * radius**3 * ((eps - 1.0) / (eps + 2.0))
        return nan_if(a0, ~jnp.isfinite(a0), "clausius_mossotti: non-finite "
                            "polarizability (eps = -2, the Fröhlich pole?)")
    k = nan_if(k, ~(jnp.isfinite(k) & (k > 0)), "k must be finite and positive")
    alpha_t = clausius_mossotti_scaled(eps, k * radius, radiative=radiative)
    return constants.unscale_polarizability(alpha_t, k)
