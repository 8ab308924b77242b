"""Incident laser beams: plane waves, paraxial Gaussian tweezers and coherent sums of them.

Conventions (docs/conventions.md): SI at the API, time dependence e^{−iωt} (so a wave travelling
along +z is e^{+ikz} and the Gouy phase of a focused beam *lags*, −arctan(z/z_R)).
Every beam is an ``eqx.Module`` with

* ``wavelength`` (vacuum, m), ``n_medium`` (real index n > 0 of the host medium the light
  propagates in, default 1), ``k = 2π n/λ`` (rad/m, the wavenumber *in the medium*),
* ``reference_amplitude`` E0 (V/m): the amplitude the scaled fields are relative to,
* ``fields_scaled(ρ)`` with ρ = k r: (Ẽ, H̃) = (E/E0, Z H/E0) with Z = Z0/n the impedance of
  the medium, dimensionless — the physics lives here, so float32 agrees with float64 to
  ~1e-5; in these units a plane wave has H̃ = k̂ × Ẽ in any medium;
* ``fields(r)``: (E in V/m, H = n E0 H̃/Z0 in A/m), a thin SI wrapper;
* ``field_gradients_scaled(ρ)`` / ``field_gradients(r)``: (∂E_i/∂ρ_j, ∂H̃_i/∂ρ_j) resp.
  (∂E_i/∂r_j in V/m², ∂H_i/∂r_j in A/m²), each (3, 3) complex with index [i, j].

The host medium is a property of the light (docs/conventions.md, "Host medium"): every beam
carries ``n_medium``; the engine reads it with :func:`medium_index` and uses k = 2π n/λ0,
ε = ε0 n² and Z = Z0/n everywhere (Green tensors, polarizabilities via the relative index,
forces). Beams combined coherently must share one medium.
"""

from __future__ import annotations

import abc
from typing import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import constants as C
from .._checks import (
    as_float_array,
    check_finite,
    check_positive,
    check_shape,
    error_if_nonfinite,
    is_concrete,
    nan_if,
)
from .._types import (Array, ArrayLike, CVec3, CVec3Like, Float, Real, RealDtype, RealLike,
                      Tensor3, Vec3Like)
from .._types import Inexact

#: second derivatives of a field, [i, j, l] = ∂_j∂_l F_i
Tensor33 = Inexact[Array, "3 3 3"]

__all__ = ["AbstractBeam", "PlaneWave", "Tweezer", "CoherentBeams", "intensity_map",
           "medium_index", "FocusedBeam", "focused_array", "aperture_transmission", "SampledPupil"]

#: the vectorial focused beam lives in ``optics.focused`` (it imports this module); its public
#: names are re-exported here lazily so that ``jb.beams`` is the one beams family
_FOCUSED = ("FocusedBeam", "focused_array", "aperture_transmission", "SampledPupil")


def __getattr__(name):
    if name in _FOCUSED:
        from . import focused

        return getattr(focused, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# Relative tolerance for "polarization ⟂ direction" (|n·ε| ≤ tol |ε|).
_PERP_TOL = 1e-6


def _complex_dtype(real_dtype):
    return jnp.result_type(real_dtype, jnp.complex64)


def _traced_positive(name, x):
    """Guard a traced parameter against x ≤ 0 / non-finite: NaN there (``nan_if``, no host
    callback).

    Concrete values are checked (with a ValueError) in ``__check_init__``.
    """
    if is_concrete(x):
        return x
    return nan_if(x, ~(jnp.isfinite(x) & (x > 0)), f"{name} must be positive and finite")


def _as_medium(n_medium, like):
    """``n_medium`` as a real scalar array, checked: finite and > 0 (ValueError naming it for
    concrete input; NaN under a transformation, see ``_traced_positive``). Its dtype follows
    the wavelength ``like`` (a Python default 1.0 is weakly typed: it must not put a float64
    parameter into a float32 program)."""
    n = as_float_array(n_medium, "n_medium")
    check_shape("n_medium", n, ())
    check_finite("n_medium", n)
    check_positive("n_medium", n)
    n = n.astype(jnp.result_type(n, jnp.asarray(like)))
    return _traced_positive("n_medium", n)


def medium_index(beam: object) -> Float[Array, "..."]:
    """Real refractive index n of the host medium a beam propagates in (its ``n_medium``;
    1.0 for a beam that does not define one, i.e. vacuum)."""
    n = getattr(beam, "n_medium", None)
    return jnp.asarray(1.0) if n is None else jnp.asarray(n)


def _as_rho(rho, name="rho"):
    rho = as_float_array(rho, name)
    check_shape(name, rho, (3,))
    return rho


# First-call latency (issue 15 §10): every eager ``jnp`` op on a new shape/dtype compiles
# its own XLA program, so constructors do their arithmetic on concrete inputs in NumPy
# (``_host``) and hand one finished array to JAX, and the public field evaluations run as
# one jitted program each (``_fields_si`` / ``_field_gradients_si`` below).


def _host(x, dtype=None):
    """NumPy view of a concrete value (no XLA program)."""
    return np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)


def _to_jax(v, like):
    """``v`` (NumPy) as a JAX array of ``like``'s dtype (a host-to-device copy, no compile)."""
    return jnp.asarray(np.asarray(v, dtype=jnp.asarray(like).dtype))


def _per_tweezer(name, v, n):
    """Scalar or (n,) real parameter → (n,) array (NumPy broadcast when concrete)."""
    a = as_float_array(v, name)
    if a.ndim == 0:
        a = _to_jax(np.broadcast_to(_host(a), (n,)), a) if is_concrete(a) else jnp.broadcast_to(a, (n,))
    check_shape(name, a, (n,))
    return a


@eqx.filter_jit
def _fields_si(beam, r):
    r = error_if_nonfinite(r, "r")
    dt = r.dtype
    k = jnp.asarray(beam.k).astype(dt)
    e0 = jnp.asarray(beam.reference_amplitude).astype(dt)
    nm = jnp.asarray(medium_index(beam)).astype(dt)
    Et, Ht = beam.fields_scaled(k * r)
    return e0 * Et, (e0 * nm / C.Z0) * Ht


@eqx.filter_jit
def _field_gradients_si(beam, r):
    r = error_if_nonfinite(r, "r")
    dt = r.dtype
    k = jnp.asarray(beam.k).astype(dt)
    e0 = jnp.asarray(beam.reference_amplitude).astype(dt)
    nm = jnp.asarray(medium_index(beam)).astype(dt)
    dE, dH = beam.field_gradients_scaled(k * r)
    return (e0 * k) * dE, (e0 * k * nm / C.Z0) * dH


def _plane_wave_vectors_host(direction, polarization):
    """Normalised n and ε̂ (checked) from concrete inputs, in NumPy (no XLA program)."""
    d, p = _host(direction), _host(polarization)
    n_norm = np.sqrt(np.sum(d**2))
    p_norm = np.sqrt(np.sum(np.abs(p) ** 2))
    if n_norm == 0.0:
        raise ValueError("direction must be a non-zero vector")
    if p_norm == 0.0:
        raise ValueError("polarization must be a non-zero vector")
    n = d / n_norm
    pol = p / p_norm
    overlap = float(np.abs(np.sum(n * pol)))
    if overlap > _PERP_TOL:
        raise ValueError(f"polarization must be perpendicular to direction (|n·ε|/|ε| = {overlap:.3g})")
    cdt = _complex_dtype(direction.dtype)
    return _to_jax(n, direction), jnp.asarray(pol.astype(cdt))


def _plane_wave_vectors_traced(direction, polarization):
    """Normalised n and ε̂ under a transformation, guarded with ``nan_if`` (NaN, no callback)."""
    n_norm = jnp.sqrt(jnp.sum(direction**2))
    p_norm = jnp.sqrt(jnp.sum(jnp.abs(polarization) ** 2))
    n_norm = nan_if(n_norm, n_norm == 0, "direction must be a non-zero vector")
    p_norm = nan_if(p_norm, p_norm == 0, "polarization must be a non-zero vector")
    n = direction / n_norm
    pol = (polarization / p_norm).astype(_complex_dtype(n.dtype))
    overlap = jnp.abs(jnp.sum(n * pol))
    pol = nan_if(pol, overlap > _PERP_TOL, "polarization must be perpendicular to direction")
    return n, pol



def _waist_from_na(wavelength, NA):
    """w0 = λ/(π NA) (paraxial far-field divergence), in NumPy for concrete inputs."""
    if is_concrete((wavelength, NA)):
        dt = jnp.result_type(wavelength, NA)
        return jnp.asarray(np.asarray(_host(wavelength) / (np.pi * _host(NA)), dtype=dt))
    return wavelength / (jnp.pi * NA)


class AbstractBeam(eqx.Module):
    """Interface shared by all beams (see module docstring)."""

    @property
    @abc.abstractmethod
    def k(self) -> Array:
        """Wavenumber in the host medium 2π n_medium/λ (rad/m; λ the vacuum wavelength)."""

    @property
    @abc.abstractmethod
    def reference_amplitude(self) -> Array:
        """E0 (V/m): the amplitude the scaled fields are relative to."""

    @abc.abstractmethod
    def fields_scaled(self, rho) -> tuple[CVec3, CVec3]:
        """(Ẽ, H̃) = (E/E0, Z0 H/E0) at ρ = k r (dimensionless, (3,) each)."""

    def field_gradients_scaled(self, rho) -> tuple[Tensor3, Tensor3]:
        """(∂Ẽ_i/∂ρ_j, ∂H̃_i/∂ρ_j), each (3, 3) complex, by forward-mode autodiff.

        Subclasses with a simple closed form override this.
        """
        rho = _as_rho(rho)
        return jax.jacfwd(self.fields_scaled)(rho)

    def field_hessians_scaled(self, rho) -> tuple[Tensor33, Tensor33]:
        """(∂²Ẽ_i/∂ρ_j∂ρ_l, ∂²H̃_i/∂ρ_j∂ρ_l), each (3, 3, 3) complex [i, j, l], by forward-mode
        autodiff of :meth:`field_gradients_scaled` (subclasses with a closed form override it).
        Used by the exact linearization (force curvature at the foci)."""
        rho = _as_rho(rho)
        return jax.jacfwd(self.field_gradients_scaled)(rho)

    def fields(self, r: RealDtype[ArrayLike, "3"]) -> tuple[CVec3, CVec3]:
        """Electric (V/m) and magnetic (A/m) field at position ``r`` (3,) in metres.

        Thin wrapper around :meth:`fields_scaled`: E = E0 Ẽ(k r), H = n E0 H̃(k r)/Z0
        (one jitted program).
        """
        # eager r: checked here, on the host (inside the jitted program it would be a NaN)
        return _fields_si(self, error_if_nonfinite(_as_rho(r, "r"), "r"))

    def field_gradients(self, r: RealDtype[ArrayLike, "3"]) -> tuple[Tensor3, Tensor3]:
        """(∂E_i/∂r_j in V/m², ∂H_i/∂r_j in A/m²) at ``r`` (3,) in metres, each (3, 3)
        (one jitted program)."""
        return _field_gradients_si(self, error_if_nonfinite(_as_rho(r, "r"), "r"))


# --------------------------------------------------------------------------------------
# Plane wave
# --------------------------------------------------------------------------------------


class PlaneWave(AbstractBeam):
    """Monochromatic plane wave E = E0 ε̂ e^{i(k k̂·r + φ)}, H = n_med k̂ × E / Z0, in a host
    medium of index n_med (k = 2π n_med/λ).

    Args:
        wavelength: vacuum wavelength λ (m), > 0.
        intensity: I (W/m²), > 0; the amplitude is E0 = sqrt(2 I/(n_med c ε0)).
        direction: (3,) real propagation direction n (normalised here).
        polarization: (3,) Jones vector ε (may be complex, e.g. (1, i, 0) for circular);
            must satisfy n·ε = 0 (both real and imaginary parts ⟂ n); normalised here so
            that Σ|ε_i|² = 1.
        phase: φ (rad), the phase of the field at r = 0.
        n_medium: real refractive index of the host medium (> 0, default 1: vacuum).
    """

    wavelength: Array
    intensity: Array
    direction: Array
    polarization: Array
    phase: Array
    n_medium: Array

    def __init__(self, wavelength: RealLike, intensity: RealLike,
                 direction: Vec3Like = (0.0, 0.0, 1.0), polarization: CVec3Like = (1.0, 0.0, 0.0),
                 phase: RealLike = 0.0, n_medium: RealLike = 1.0) -> None:
        wavelength = _traced_positive("wavelength", as_float_array(wavelength, "wavelength"))
        intensity = _traced_positive("intensity", as_float_array(intensity, "intensity"))
        phase = as_float_array(phase, "phase")
        direction = as_float_array(direction, "direction")
        check_shape("direction", direction, (3,))
        check_finite("direction", direction)
        # concrete input stays in NumPy (jnp.asarray of a Python tuple compiles a program)
        polarization = _host(polarization) if is_concrete(polarization) else jnp.asarray(polarization)
        check_shape("polarization", polarization, (3,))
        check_finite("polarization", polarization)
        if not jnp.issubdtype(polarization.dtype, jnp.inexact):
            polarization = polarization.astype(jnp.result_type(float))

        if is_concrete((direction, polarization)):
            n, pol = _plane_wave_vectors_host(direction, polarization)
        else:
            n, pol = _plane_wave_vectors_traced(direction, polarization)
        self.wavelength = wavelength
        self.intensity = intensity
        self.direction = n
        self.polarization = pol
        self.phase = phase
        self.n_medium = _as_medium(n_medium, wavelength)

    def __check_init__(self):
        for name in ("wavelength", "intensity", "phase", "n_medium"):
            check_shape(name, getattr(self, name), ())
        check_positive("wavelength", self.wavelength)
        check_positive("intensity", self.intensity)
        check_positive("n_medium", self.n_medium)
        check_finite("phase", self.phase)

    @property
    def k(self):
        return 2.0 * jnp.pi * self.n_medium / self.wavelength

    @property
    def reference_amplitude(self):
        """Plane-wave amplitude E0 = sqrt(2 I/(n_med c ε0)) (V/m)."""
        return jnp.sqrt(2.0 * self.intensity / (self.n_medium * C.c * C.epsilon0))

    def fields_scaled(self, rho):
        """(Ẽ, H̃) = (ε̂ e^{i(n·ρ + φ)}, n × Ẽ) at ρ = k r (dimensionless (3,) each)."""
        rho = _as_rho(rho)
        dt = rho.dtype
        n = self.direction.astype(dt)
        pol = self.polarization.astype(_complex_dtype(dt))
        ph = jnp.exp(1j * (jnp.sum(n * rho) + self.phase.astype(dt)))
        E = pol * ph
        return E, jnp.cross(n, E)

    def field_gradients_scaled(self, rho):
        """Closed form ∂Ẽ_i/∂ρ_j = i n_j Ẽ_i (same for H̃)."""
        rho = _as_rho(rho)
        E, H = self.fields_scaled(rho)
        n = self.direction.astype(rho.dtype)
        return 1j * jnp.outer(E, n), 1j * jnp.outer(H, n)

    def field_hessians_scaled(self, rho):
        """Closed form ∂_j∂_l Ẽ_i = −n_j n_l Ẽ_i (same for H̃)."""
        rho = _as_rho(rho)
        E, H = self.fields_scaled(rho)
        n = self.direction.astype(rho.dtype)
        nn = -jnp.outer(n, n)
        return E[:, None, None] * nn, H[:, None, None] * nn


# --------------------------------------------------------------------------------------
# Paraxial Gaussian tweezer
# --------------------------------------------------------------------------------------


class Tweezer(AbstractBeam):
    """Paraxial Gaussian optical tweezer propagating along +z (paper 000 eqs. A1–A2,
    paper 001 eqs. 69–70).

    Field (with Δ = r − focus, e^{−iωt} convention):

        E(r) = E0 e^{iφ} ε̂ e^{ik Δz} f_tw(Δ),
        f_tw(Δ) = exp[−(Δx² + Δy²)/(w0² (1 + iΔz/z_R))] / (1 + iΔz/z_R),

    with Rayleigh range z_R = π n w0²/λ = k w0²/2 (k = 2π n/λ in a host medium of index n)
    and focal amplitude from the power, E0² = 4P/(π w0² n c ε0) (so that
    ∫ n c ε0 |E|²/2 dA = P in every transverse plane).
    The on-axis phase relative to the plane wave e^{ikΔz} is the Gouy phase
    −arctan(Δz/z_R) (a lag, −π/4 at Δz = z_R); the 1/e² intensity radius is
    w(z) = w0 sqrt(1 + Δz²/z_R²).  The carrier phase is referenced to the focus (e^{ikΔz},
    not e^{ikz}); for foci in the plane z = 0 — the papers' setting — the two agree.

    Polarization: ε̂ = (cos ψ, sin ψ, 0) with ψ = ``polarization_angle`` measured from e_x
    in the focal plane.  Paper 000 (before eq. A5) describes the polarization by the angle
    π/2 − θ from the tweezer connecting axis e_x, so its θ = π/2 − ψ and the binding
    prefactor cos²θ of eqs. A5/A7 equals sin²ψ (ψ = π/2, polarization ⟂ e_x, maximises it).

    Magnetic field: the paraxial relation H ≈ n e_z × E / Z0.  The neglected longitudinal
    field components and the corrections to H are O(1/(k w0)) relative, as is the
    divergence ∇·E of this purely transverse field; the scalar envelope solves the paraxial
    wave equation exactly, so (∇² + k²)E = e^{ikΔz} ∂²_z f_tw is O(1/(k z_R)²) relative.

    Args:
        power: P (W), > 0.
        wavelength: vacuum wavelength λ (m), > 0.
        waist: beam waist (1/e² intensity radius at the focus) w0 (m), > 0.
        NA: numerical aperture, 0 < NA < n_medium, used instead of ``waist`` through the
            paraxial Gaussian far-field divergence relation w0 = λ/(π NA) (NA = n × tan of
            the 1/e² divergence half-angle ≈ n × its sine for small NA; only meaningful for
            NA ≲ 0.6 n). Exactly one of ``waist`` and ``NA`` must be given.
        phase: φ (rad), the phase of the field at the focus.
        polarization_angle: ψ (rad) from e_x in the focal plane.
        focus: (3,) focal position (m).
        n_medium: real refractive index of the host medium (> 0, default 1: vacuum).
    """

    power: Array
    wavelength: Array
    waist: Array
    phase: Array
    polarization_angle: Array
    focus: Array
    n_medium: Array

    def __init__(self, power: RealLike, wavelength: RealLike, waist: RealLike | None = None,
                 NA: RealLike | None = None, phase: RealLike = 0.0,
                 polarization_angle: RealLike = 0.0, focus: Vec3Like = (0.0, 0.0, 0.0),
                 n_medium: RealLike = 1.0) -> None:
        if (waist is None) == (NA is None):
            raise ValueError("Tweezer: give exactly one of waist and NA")
        power = _traced_positive("power", as_float_array(power, "power"))
        wavelength = _traced_positive("wavelength", as_float_array(wavelength, "wavelength"))
        phase = as_float_array(phase, "phase")
        polarization_angle = as_float_array(polarization_angle, "polarization_angle")
        focus = as_float_array(focus, "focus")
        n_medium = _as_medium(n_medium, wavelength)
        if waist is not None:
            waist = _traced_positive("waist", as_float_array(waist, "waist"))
        else:
            NA = as_float_array(NA, "NA")
            check_shape("NA", NA, ())
            check_positive("NA", NA)
            if is_concrete((NA, n_medium)):
                if float(NA) >= float(n_medium):
                    raise ValueError(f"NA must be < n_medium = {float(n_medium)}, got {float(NA)}")
            else:
                NA = nan_if(NA, ~((NA > 0) & (NA < n_medium)), "NA must lie in (0, n_medium)")
            check_shape("wavelength", wavelength, ())
            waist = _waist_from_na(wavelength, NA)
        self.power = power
        self.wavelength = wavelength
        self.waist = waist
        self.phase = phase
        self.polarization_angle = polarization_angle
        self.focus = focus
        self.n_medium = n_medium

    def __check_init__(self):
        for name in ("power", "wavelength", "waist", "phase", "polarization_angle", "n_medium"):
            check_shape(name, getattr(self, name), ())
        check_shape("focus", self.focus, (3,))
        for name in ("power", "wavelength", "waist", "n_medium"):
            check_positive(name, getattr(self, name))
        for name in ("phase", "polarization_angle", "focus"):
            check_finite(name, getattr(self, name))

    @property
    def k(self):
        return 2.0 * jnp.pi * self.n_medium / self.wavelength

    @property
    def rayleigh_range(self):
        """z_R = π n w0²/λ (m)."""
        return jnp.pi * self.n_medium * self.waist**2 / self.wavelength

    @property
    def reference_amplitude(self):
        """Focal amplitude E0 = sqrt(4P/(π w0² n c ε0)) (V/m)."""
        return jnp.sqrt(4.0 * self.power
                        / (jnp.pi * self.waist**2 * self.n_medium * C.c * C.epsilon0))

    def _scaled_parts(self, rho):
        """Dimensionless pieces: (Δ = ρ − k·focus, κ = k w0, ζ_R = κ²/2, q, g, ε̂, e_z×ε̂)."""
        rho = _as_rho(rho)
        dt = rho.dtype
        kappa = (self.k * self.waist).astype(dt)
        zr = 0.5 * kappa**2
        d = rho - (self.k * self.focus).astype(dt)
        q = 1.0 + 1j * d[2] / zr
        s = d[0] ** 2 + d[1] ** 2
        g = jnp.exp(1j * (d[2] + self.phase.astype(dt)) - s / (kappa**2 * q)) / q
        psi = self.polarization_angle.astype(dt)
        c, sn, z = jnp.cos(psi), jnp.sin(psi), jnp.zeros((), dt)
        eps = jnp.stack([c, sn, z])
        heps = jnp.stack([-sn, c, z])  # e_z × ε̂
        return d, kappa, zr, q, s, g, eps, heps

    def fields_scaled(self, rho):
        """(Ẽ, H̃) = (ε̂ g, e_z × ε̂ g), g = e^{i(Δz + φ)} f_tw(Δ) in scaled variables
        (Δ = k(r − focus), κ = k w0, ζ_R = κ²/2): paper 000 eqs. A1–A2."""
        _, _, _, _, _, g, eps, heps = self._scaled_parts(rho)
        return eps * g, heps * g

    def field_gradients_scaled(self, rho):
        """Closed form: ∂Ẽ_i/∂ρ_j = ε̂_i ∂_j g with ∂_x g = −2Δx g/(κ² q),
        ∂_y g = −2Δy g/(κ² q), ∂_z g = g [i − i/(ζ_R q) + i (Δx²+Δy²)/(ζ_R κ² q²)]."""
        d, kappa, zr, q, s, g, eps, heps = self._scaled_parts(rho)
        kq = kappa**2 * q
        grad = g * jnp.stack([
            -2.0 * d[0] / kq,
            -2.0 * d[1] / kq,
            1j - 1j / (zr * q) + 1j * s / (zr * kq * q),
        ])
        return jnp.outer(eps, grad), jnp.outer(heps, grad)

    def field_hessians_scaled(self, rho):
        """Closed-form second derivatives of paper 000 eq. A2: with ∂_j g = g L_j
        (:meth:`field_gradients_scaled`),
        ∂_j∂_l g = g (L_j L_l + ∂_l L_j), where ∂_x L_x = ∂_y L_y = −2/(κ² q),
        ∂_z L_x = 2iΔx/(ζ_R κ² q²) (x ↔ y), ∂_x L_y = 0 and
        ∂_z L_z = −1/(ζ_R² q²) + 2(Δx² + Δy²)/(ζ_R² κ² q³); ∂_j∂_l Ẽ_i = ε̂_i ∂_j∂_l g."""
        d, kappa, zr, q, s, g, eps, heps = self._scaled_parts(rho)
        kq = kappa**2 * q
        L = jnp.stack([-2.0 * d[0] / kq, -2.0 * d[1] / kq,
                       1j - 1j / (zr * q) + 1j * s / (zr * kq * q)])
        xx = -2.0 / kq
        xz, yz = 2j * d[0] / (zr * kq * q), 2j * d[1] / (zr * kq * q)
        zz = -1.0 / (zr * q) ** 2 + 2.0 * s / (zr**2 * kq * q**2)
        z = jnp.zeros_like(xx)
        dL = jnp.stack([jnp.stack([xx, z, xz]), jnp.stack([z, xx, yz]), jnp.stack([xz, yz, zz])])
        hess = g * (L[:, None] * L[None, :] + dL)
        return eps[:, None, None] * hess, heps[:, None, None] * hess


# --------------------------------------------------------------------------------------
# Coherent superposition
# --------------------------------------------------------------------------------------


def _stacked_amplitudes(beam, stacked):
    e0 = jnp.asarray(beam.reference_amplitude)
    return jnp.ravel(e0) if stacked else jnp.reshape(e0, (1,))


class CoherentBeams(AbstractBeam):
    """Coherent sum of beams of one wavelength: E = Σ_b E_b, H = Σ_b H_b (paper 000 eq. A1,
    paper 001 eq. 69 for the tweezer-array case).

    Each entry of ``beams`` keeps its own phase, so relative phases enter as e^{iφ_b}.
    An entry may be a *stacked* beam (every array leaf with a leading axis of length N,
    e.g. N tweezers from :meth:`from_tweezers`); it is evaluated with ``jax.vmap`` rather
    than a Python loop.  The reference amplitude is the largest reference amplitude of the
    constituents (for a tweezer array, the largest focal amplitude).

    Args:
        beams: sequence of beams (same vacuum wavelength and the same host medium
            ``n_medium``; a ValueError names a mismatch).
        stacked: optional sequence of bools, one per beam, marking stacked beams.
    """

    beams: tuple
    stacked: tuple = eqx.field(static=True)

    def __init__(self, beams: Sequence[AbstractBeam], stacked: Sequence[bool] | None = None
                 ) -> None:
        beams = tuple(beams)
        if len(beams) == 0:
            raise ValueError("beams must contain at least one beam")
        for i, b in enumerate(beams):
            if not isinstance(b, AbstractBeam):
                raise TypeError(f"beams[{i}] is not a beam (got {type(b).__name__})")
        stacked = (False,) * len(beams) if stacked is None else tuple(bool(s) for s in stacked)
        if len(stacked) != len(beams):
            raise ValueError(f"stacked must have one entry per beam ({len(beams)}), got {len(stacked)}")
        lams = [b.wavelength for b in beams]
        if is_concrete(lams):
            allv = np.concatenate([np.ravel(_host(v)) for v in lams])
            if not np.allclose(allv, allv[0], rtol=1e-12, atol=0.0):
                raise ValueError(
                    f"beams must share one wavelength for a coherent sum, got {np.unique(allv)}"
                )
        media = [medium_index(b) for b in beams]
        if is_concrete(media):
            allv = np.concatenate([np.ravel(_host(v)) for v in media])
            if not np.allclose(allv, allv[0], rtol=1e-12, atol=0.0):
                raise ValueError("beams must share one host medium (n_medium) for a coherent "
                                 f"sum, got n_medium = {np.unique(allv)}")
        self.beams = beams
        self.stacked = stacked

    @classmethod
    def from_tweezers(cls, powers, wavelength, foci, waist=None, NA=None, phases=0.0,
                      polarization_angles=0.0, n_medium=1.0) -> "CoherentBeams":
        """N tweezers propagating along +z with foci ``foci`` (N, 3) (paper 001 eq. 69).

        Args:
            powers: (N,) powers (W).
            wavelength: common vacuum wavelength (m).
            foci: (N, 3) focal positions (m).
            waist / NA: scalar or (N,) (exactly one of them), see :class:`Tweezer`.
            phases: scalar or (N,) tweezer phases (rad).
            polarization_angles: scalar or (N,) angles ψ from e_x (rad).
            n_medium: real index of the host medium (scalar, > 0, default 1).
        Returns:
            A :class:`CoherentBeams` holding one stacked :class:`Tweezer`.
        """
        if (waist is None) == (NA is None):
            raise ValueError("from_tweezers: give exactly one of waist and NA")
        foci = as_float_array(foci, "foci")
        check_shape("foci", foci, (None, 3))
        n = foci.shape[0]
        if n == 0:
            raise ValueError("foci must contain at least one focus")

        per = lambda name, v: _per_tweezer(name, v, n)  # noqa: E731
        powers = per("powers", powers)
        phases = per("phases", phases)
        angles = per("polarization_angles", polarization_angles)
        wavelength = as_float_array(wavelength, "wavelength")
        check_shape("wavelength", wavelength, ())
        lam = per("wavelength", wavelength)
        nmed = per("n_medium", _as_medium(n_medium, wavelength))
        check_positive("powers", powers)
        check_positive("wavelength", wavelength)
        check_finite("phases", phases)
        check_finite("polarization_angles", angles)
        check_finite("foci", foci)
        if waist is not None:
            w = per("waist", waist)
            check_positive("waist", w)
        else:
            na = per("NA", NA)
            check_positive("NA", na)
            if is_concrete((na, nmed)):
                if np.any(_host(na) >= _host(nmed)):
                    raise ValueError(f"NA must be < n_medium = {np.asarray(nmed)[0]}, got "
                                     f"{np.asarray(na)}")
            else:
                na = nan_if(na, ~((na > 0) & (na < nmed)), "NA must lie in (0, n_medium)")
            w = _waist_from_na(lam, na)
        leaves = tuple(_traced_positive(nm, v) for nm, v in
                       (("powers", powers), ("wavelength", lam), ("waist", w)))
        leaves += (phases, angles, foci, nmed)
        # One stacked Tweezer: a scalar template with its leaves replaced by the (N,)/(N, 3)
        # arrays (no per-tweezer Python loop, no eager vmap of the constructor).
        template = Tweezer(1.0, 1.0, waist=1.0)
        tw = eqx.tree_at(lambda t: (t.power, t.wavelength, t.waist, t.phase,
                                    t.polarization_angle, t.focus, t.n_medium), template, leaves)
        return cls((tw,), stacked=(True,))

    @property
    def wavelength(self):
        return jnp.ravel(jnp.asarray(self.beams[0].wavelength))[0]

    @property
    def n_medium(self):
        """Real index of the common host medium (checked equal across the beams)."""
        return jnp.ravel(medium_index(self.beams[0]))[0]

    @property
    def k(self):
        return 2.0 * jnp.pi * self.n_medium / self.wavelength

    @property
    def reference_amplitude(self):
        """max over constituents of their reference amplitudes (V/m)."""
        return jnp.max(jnp.concatenate(
            [_stacked_amplitudes(b, s) for b, s in zip(self.beams, self.stacked)]))

    def _sum(self, method, rho):
        rho = _as_rho(rho)
        dt = rho.dtype
        e_ref = self.reference_amplitude
        outE = outH = 0.0
        for b, s in zip(self.beams, self.stacked):
            # weights relative to the common reference (≤ 1), formed before the dtype cast
            wgt = (_stacked_amplitudes(b, s) / e_ref).astype(dt)
            if s:
                E, H = jax.vmap(lambda bb: getattr(bb, method)(rho))(b)
                wE = wgt.reshape((-1,) + (1,) * (E.ndim - 1))
                E, H = jnp.sum(wE * E, axis=0), jnp.sum(wE * H, axis=0)
            else:
                E, H = getattr(b, method)(rho)
                E, H = wgt[0] * E, wgt[0] * H
            outE, outH = outE + E, outH + H
        return outE, outH

    def fields_scaled(self, rho):
        """Σ_b (E0_b/E0) (Ẽ_b, H̃_b) at ρ = k r (dimensionless (3,) each)."""
        return self._sum("fields_scaled", rho)

    def field_gradients_scaled(self, rho):
        """Σ_b (E0_b/E0) ∂(Ẽ_b, H̃_b)/∂ρ (each (3, 3), closed forms of the constituents)."""
        return self._sum("field_gradients_scaled", rho)

    def field_hessians_scaled(self, rho):
        """Σ_b (E0_b/E0) ∂²(Ẽ_b, H̃_b)/∂ρ² (each (3, 3, 3), closed forms of the constituents)."""
        return self._sum("field_hessians_scaled", rho)


# --------------------------------------------------------------------------------------
# Plotting helper
# --------------------------------------------------------------------------------------


def intensity_map(beam: AbstractBeam, xs: RealDtype[ArrayLike, " nx"] | Sequence[float],
                  ys: RealDtype[ArrayLike, " ny"] | Sequence[float], z: Real = 0.0
                  ) -> Float[Array, "ny nx"]:
    """Intensity n c ε0 |E|²/2 (W/m²) on the grid (xs × ys) in the plane z (m), n the
    beam's host-medium index.

    Args:
        beam: any beam.
        xs: (nx,) x coordinates (m).  ys: (ny,) y coordinates (m).  z: plane (m).
    Returns:
        (ny, nx) intensities, I[j, i] = I(xs[i], ys[j], z), so that
        ``plt.pcolormesh(xs, ys, I)`` plots it directly.
    Raises:
        ValueError: a concrete ``xs``, ``ys`` or ``z`` with a NaN/inf entry (or a wrong
            shape), naming the argument; under a user's jit the map is NaN where an input is
            not finite (no host callback; never a finite substitute).
    """
    xs = as_float_array(xs, "xs")
    ys = as_float_array(ys, "ys")
    z = as_float_array(z, "z")
    check_shape("xs", xs, (None,))
    check_shape("ys", ys, (None,))
    check_shape("z", z, ())
    for name, v in (("xs", xs), ("ys", ys), ("z", z)):
        check_finite(name, v)
    dt = jnp.result_type(xs.dtype, ys.dtype)
    # z as an array (not a Python float, which the jit below would treat as static and
    # recompile for every new plane)
    return _intensity_map(beam, xs.astype(dt) if xs.dtype != dt else xs,
                          ys.astype(dt) if ys.dtype != dt else ys, jnp.asarray(z, dt))


@eqx.filter_jit
def _intensity_map(beam, xs, ys, zs):
    # traced inputs (a jitted caller): the same checks as the concrete ones above, as NaN
    xs = error_if_nonfinite(xs, "xs")
    ys = error_if_nonfinite(ys, "ys")
    zs = error_if_nonfinite(zs, "z")
    dt = xs.dtype
    k = jnp.asarray(beam.k).astype(dt)
    e0 = jnp.asarray(beam.reference_amplitude).astype(dt)
    nm = jnp.asarray(medium_index(beam)).astype(dt)

    def point(x, y):
        Et, _ = beam.fields_scaled(k * jnp.stack([x, y, zs]))
        return jnp.sum(jnp.abs(Et) ** 2)

    rel = jax.vmap(lambda y: jax.vmap(lambda x: point(x, y))(xs))(ys)
    return (0.5 * C.c * C.epsilon0) * nm * e0**2 * rel
