"""Vectorial focused beams (high NA): Richards–Wolf diffraction through an aplanatic objective.

A collimated Gaussian beam (waist w_in at the back aperture, input Jones vector or radial /
azimuthal polarization) is focused by an aplanatic objective of numerical aperture NA into a
medium of index n (NA < n).  The focal field is the angular spectrum of plane waves (Richards &
Wolf 1959; Novotny & Hecht, *Principles of Nano-Optics*, 2nd ed., eqs. 3.47–3.66):

    E(r) = E_N (1/(2π N)) ∫_0^{θ_m} dθ sin θ ∫_0^{2π} dφ  g(θ) a(θ, φ) e^{i n k0 k̂·(r − r_f)},
    g(θ) = f_w(θ) √cos θ  M(θ),          f_w(θ) = exp[−sin²θ / (f0² sin²θ_m)],

with sin θ_m = NA/n, the filling factor f0 = w_in/(f sin θ_m) (Novotny & Hecht eq. 3.56),
the apodisation √cos θ of the sine condition, k̂ = (sin θ cos φ, sin θ sin φ, cos θ), an
optional pupil mask M, and the refracted polarization a = (ε_in·ê_φ) ê_φ + (ε_in·ê_ρ) ê_θ
(N&H eq. 3.49).  The magnetic field of each plane wave is H = n k̂ × E / Z0, i.e. in the scaled
units of :mod:`jaxbind.optics.beams` (H̃ = Z H/E0 with Z = Z0/n the medium's impedance)
H̃ = k̂ × Ẽ.

Rotationally symmetric pupils (uniform polarization, radial, azimuthal; a radial mask M(θ))
— the φ integral is analytic: a(θ, φ) is a trigonometric polynomial of degree ≤ 2 in φ,
a = Σ_m a_m(θ) e^{imφ}, and ∫ e^{imφ} e^{iu cos(φ−φ_r)} dφ = 2π i^m J_m(u) e^{imφ_r}; for
x polarization this is N&H eq. 3.66 with its integrals I00, I01, I02.  The θ integral is a
fixed Gauss–Legendre sum of ``order`` nodes; spatial derivatives use the Bessel recurrences
∂_x[J_m e^{imφ}] = (q/2)(J_{m−1}e^{i(m−1)φ} − J_{m+1}e^{i(m+1)φ}) and
∂_y[J_m e^{imφ}] = (iq/2)(J_{m−1}e^{i(m−1)φ} + J_{m+1}e^{i(m+1)φ}) (q = n sin θ), so the
gradients are closed forms of the same sums.  A general pupil mask M(u, v) breaks the symmetry:
then a 2-D product rule (Gauss–Legendre in θ × ``azimuthal_order``-point trapezoid in φ,
spectrally accurate for periodic integrands) sums the plane waves directly.

Normalisation (power, not peak intensity).  The flux of the angular spectrum through any plane
z = const is (n/2Z0)(2π/k)² |E_N/(2πN)|² ∫∫ |g a|² sin θ dθ dφ (Parseval), and the input power
through the aperture is P T with the Gaussian aperture transmission T = 1 − exp(−2/f0²).  The
two agree for
    E_N² = 4 Z0 n k0² P N² / (π f0² sin²θ_m),
independent of T: the power through the focal plane is the input power times the aperture
transmission.  N = sin²θ_m (f0²/2)(1 − e^{−1/f0²}) makes Ẽ(focus) → 1 in the paraxial limit
(any filling), so the scaled fields stay O(1) (float32-safe).

Low-NA limit: for sin θ_m → 0 the field tends to the paraxial Gaussian :class:`Tweezer` of waist
w0 = λ/(π f0 NA) (in the medium, with the aperture clipping e^{−1/f0²}); the relative
deviation is O((f0 NA/n)²) (tested in tests/optics/test_focused.py).

Matching other codes' focused Gaussian beams (e.g. miepy 1.1.0 ``gaussian_beam``).  Some
codes define the focused Gaussian by the angular spectrum of a *focal-plane* Gaussian of waist
w, a far-field amplitude exp(−(k w tan θ/2)²) (no √cos θ), cut at θ_c, with the power P of
the *untruncated* spectrum.  That is the same field as a FocusedBeam with

    NA = n sin θ_c,   f0 = 2/(k w sin θ_c),
    radial_mask(r) = exp(−(k w/2)² tan²θ) / (e^{−r²/f0²} √cos θ),   sin θ = r sin θ_c,
    power = P f0² sin²θ_c / (4 (1 − √(πc) e^c erfc √c)),   c = (k w)²/2,

(k the medium wavenumber; the power line equates the two focal-plane fluxes, the
denominator is ∫_0^{π/2} e^{−c tan²θ} sin θ dθ).  With it, forces at and near the focus
and stiffnesses κ_x, κ_y, κ_z of a Mie dipole and of 100/150-nm silica spheres (Multipole
engine) equal miepy's for NA 0.05–0.9: forces to 4e-10 – 3e-8, stiffnesses to 6e-9 – 9e-8
relative (the reference's own accuracy is ~1e-8; tests/optics/test_focused_reference.py
asserts 1e-7 and 1e-6).  At the same NA and power the aplanatic beam (f0 = 1) and the
tan-Gaussian of w = λ/(π NA) give κ_x, κ_y, κ_z ratios 1.16, 1.24, 1.40 at NA 0.8 and 1.33,
1.59, 2.18 at NA 0.9 (50-nm silica): a convention difference, not an error.  The
two apodisations agree at low NA (w → the paraxial waist λ/(π f0 NA)) and differ at high NA:
the aplanatic √cos θ e^{−sin²θ/(f0² sin²θ_m)} weights the marginal rays more than
e^{−(k w tan θ/2)²}.

Conventions: e^{−iωt}; fields are evaluated at scaled positions ρ = k r with the wavenumber
in the medium k = n k0 = 2π n/λ (the AbstractBeam interface, as every beam), so each plane
wave is e^{i k̂·ρ}.  The engine (Green tensors, particle response with the relative index,
forces with ε = ε0 n²) reads the same ``n_medium``: a focused beam in water drives
``optical_forces`` with particles in water (docs/conventions.md, "Host medium").
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import constants as C
from .._checks import as_float_array, check_finite, check_shape, is_concrete, nan_if
from .._types import Array, ArrayLike, Float, Num, Real, RealLike, Vec3Like
from ._bessel import bessel_lambdas
from .beams import AbstractBeam, CoherentBeams, _as_rho, _complex_dtype, _host, medium_index
from .pupil import SampledPupil

__all__ = ["FocusedBeam", "focused_array", "aperture_transmission", "required_order",
           "flux_through_plane", "SampledPupil", "DEFAULT_ORDER"]

#: default number of Gauss–Legendre nodes in θ: relative accuracy ≤ 1e-8 within 10 λ of the
#: focus for NA ≤ 0.95 and filling ≥ 0.3 (see :func:`required_order`)
DEFAULT_ORDER = 48
_M_MAX = 2  # largest azimuthal harmonic of the refracted polarization
_N_DFT = 8  # samples of a(θ, φ) for its harmonics (exact for degree ≤ 3)


def aperture_transmission(filling: RealLike) -> Float[Array, "..."]:
    """Fraction of a Gaussian input beam's power inside the back aperture,
    T = 1 − exp(−2/f0²) (f0 = w_in/R, R the aperture radius)."""
    f0 = jnp.asarray(filling)
    return -jnp.expm1(-2.0 / f0**2)


def required_order(NA, extent, rtol=1e-8, n_medium=1.0, wavelength=1.0, filling=1.0) -> int:
    """Gauss–Legendre order in θ needed for relative accuracy ``rtol`` within ``extent`` of the
    focus (same length unit as ``wavelength``).

    The θ-integrand oscillates with total phase Φ = n k0 |r| θ_m over [0, θ_m]; Gauss–Legendre
    converges spectrally once N exceeds ≈ 0.3 Φ, plus a few nodes per decade of accuracy and
    a few more to resolve a narrow (underfilled) Gaussian pupil:

        N = ⌈0.4 Φ + 0.8 log10(1/rtol) + 2/f0 + 2⌉.

    Calibrated against order 300 (benchmarks/bench_beams.py's NumPy quadrature) for NA 0.3 –
    0.95, f0 0.3 – 2, |r| ≤ 1 – 10 λ, rtol 1e-6 and 1e-10: the formula over-estimates the
    needed order by 10–40 % (e.g. NA 0.9, f0 = 1, 3 λ: 14 needed for 1e-6, formula 18);
    re-checked in tests/optics/test_focused.py.  Concrete inputs only (a Python int).
    """
    na, n, lam, f0 = (float(np.asarray(v)) for v in (NA, n_medium, wavelength, filling))
    theta_m = math.asin(min(na / n, 1.0))
    phi = n * (2 * math.pi / lam) * float(extent) * theta_m
    digits = max(-math.log10(float(rtol)), 1.0)
    return int(math.ceil(0.4 * phi + 0.8 * digits + 2.0 / f0 + 2.0))


def _gauss_legendre(order):
    x, w = np.polynomial.legendre.leggauss(int(order))
    return 0.5 * (x + 1.0), 0.5 * w  # nodes/weights on [0, 1]


def _dft_matrix():
    """(2M+1, N_DFT): a_m = Σ_j D[m, j] a(φ_j), φ_j = 2πj/N_DFT, m = −M … M."""
    m = np.arange(-_M_MAX, _M_MAX + 1)[:, None]
    j = np.arange(_N_DFT)[None, :]
    return np.exp(-2j * np.pi * m * j / _N_DFT) / _N_DFT


def _es(spec, *ops):
    """einsum at full float32 precision (docs: jaxbind._precision)."""
    return jnp.einsum(spec, *ops, precision=jax.lax.Precision.HIGHEST)


def _check_scalar(name, v):
    check_shape(name, v, ())
    check_finite(name, v)


class FocusedBeam(AbstractBeam):
    """Vectorial focal field of an aplanatic objective (Richards–Wolf), see the module docstring.

    Args:
        power: input power P (W) of the collimated Gaussian beam before the aperture, > 0 (the
            power at the focus is P × :func:`aperture_transmission` (filling)).
        wavelength: vacuum wavelength λ (m), > 0.
        NA: numerical aperture, 0 < NA < n_medium.
        n_medium: real refractive index of the focal medium, > 0, default 1; the host medium
            of the particles this beam drives (k = 2π n_medium/λ, docs/conventions.md
            "Host medium").
        filling: filling factor f0 = w_in/(f sin θ_m) = input 1/e² radius / aperture radius,
            > 0 (f0 ≪ 1 underfilled, paraxial; f0 ≳ 1 overfilled).
        polarization: input Jones vector (2,) (complex allowed, normalised here), e.g.
            (1, 0) linear x, (cos ψ, sin ψ) linear at ψ, (1, i)/√2 circular; or the strings
            "radial" / "azimuthal" for the cylindrical-vector beams (E_z > 0 on axis at the
            focus for radial, resp. the ring field ê_φ).
        phase: φ (rad), a constant phase e^{iφ} of the whole field.
        focus: (3,) focal position (m).
        order: Gauss–Legendre nodes in θ (static int); default :data:`DEFAULT_ORDER`.
        extent, rtol: with these, the constructor warns when ``order`` is below
            :func:`required_order` (NA, extent, rtol) — the order needed for relative accuracy
            ``rtol`` at distances ≤ ``extent`` (m) from the focus (default 10 λ, 1e-8).
        radial_mask: optional callable M(r) of the normalised pupil radius r = sin θ/sin θ_m
            ∈ [0, 1] (complex amplitude/phase), jnp-traceable; keeps the Bessel (1-D) path.
        pupil_mask: optional callable M(u, v) of the normalised back-aperture coordinates
            (u² + v² ≤ 1) of the ray that forms each plane wave (the objective inverts the
            image: a pupil point at azimuth φ_p sends its plane wave along azimuth φ_p + π);
            jnp-traceable; switches to the 2-D product quadrature.  A linear phase
            M = exp(i γ u) moves the focus by Δx = +γ/(k0 NA) (a tilt on an SLM).  Or a
            :class:`~jaxbind.optics.pupil.SampledPupil` (phase/amplitude arrays on a grid,
            e.g. an SLM pattern): then the mask is a pytree field of the beam — differentiable
            w.r.t. its samples, vmappable, and a new pattern does not recompile.
        azimuthal_order: trapezoid nodes in φ for the 2-D path (static int, default 64).

    Masks are static (hashed) callables: close over NumPy/JAX constants; a new mask object
    recompiles.
    """

    power: Array
    wavelength: Array
    NA: Array
    n_medium: Array
    filling: Array
    polarization: Array
    phase: Array
    focus: Array
    mode: str = eqx.field(static=True)
    order: int = eqx.field(static=True)
    azimuthal_order: int = eqx.field(static=True)
    radial_mask: Callable | None = eqx.field(static=True)
    pupil_mask: Callable | None = eqx.field(static=True)
    pupil: SampledPupil | None

    def __init__(self, power: Real, wavelength: Real, NA: Real, n_medium: Real = 1.0,
                 filling: Real = 1.0,
                 polarization: Num[ArrayLike, "2"] | Sequence[complex] | str = (1.0, 0.0),
                 phase: Real = 0.0, focus: Vec3Like = (0.0, 0.0, 0.0), *,
                 order: int | None = None, extent: Real | None = None, rtol: float = 1e-8,
                 radial_mask: Callable | None = None,
                 pupil_mask: Callable | SampledPupil | None = None,
                 azimuthal_order: int = 64) -> None:
        power = as_float_array(power, "power")
        wavelength = as_float_array(wavelength, "wavelength")
        NA = as_float_array(NA, "NA")
        n_medium = as_float_array(n_medium, "n_medium")
        filling = as_float_array(filling, "filling")
        phase = as_float_array(phase, "phase")
        focus = as_float_array(focus, "focus")
        if isinstance(polarization, str):
            if polarization not in ("radial", "azimuthal"):
                raise ValueError("polarization must be a Jones vector (2,) or 'radial' / "
                                 f"'azimuthal', got {polarization!r}")
            mode = polarization
            pol = np.array([1.0, 0.0], dtype=np.result_type(power.dtype, np.complex64))
        else:
            mode = "uniform"
            pol = _host(polarization) if is_concrete(polarization) else jnp.asarray(polarization)
            check_shape("polarization", pol, (2,))
            check_finite("polarization", pol)
            if is_concrete(pol):
                p = np.asarray(pol, dtype=np.result_type(pol.dtype, power.dtype, np.complex64))
                nrm = float(np.sqrt(np.sum(np.abs(p) ** 2)))
                if nrm == 0.0:
                    raise ValueError("polarization must be a non-zero Jones vector")
                pol = p / nrm
            else:
                pol = pol.astype(_complex_dtype(jnp.result_type(pol.dtype, float)))
                nrm = jnp.sqrt(jnp.sum(jnp.abs(pol) ** 2))
                pol = pol / nan_if(nrm, nrm == 0, "polarization must be a non-zero Jones vector")
        for name, v in (("power", power), ("wavelength", wavelength), ("NA", NA),
                        ("n_medium", n_medium), ("filling", filling), ("phase", phase)):
            _check_scalar(name, v)
        check_shape("focus", focus, (3,))
        check_finite("focus", focus)
        if is_concrete((power, wavelength, NA, n_medium, filling)):
            P, lam, na, n, f0 = (float(np.asarray(v)) for v in (power, wavelength, NA, n_medium,
                                                                 filling))
            if not P > 0:
                raise ValueError(f"power must be positive, got {P}")
            if not lam > 0:
                raise ValueError(f"wavelength must be positive, got {lam}")
            if not n > 0:
                raise ValueError(f"n_medium must be positive, got {n}")
            if not 0 < na < n:
                raise ValueError(f"NA must lie in (0, n_medium) = (0, {n}), got {na}")
            if not f0 > 0:
                raise ValueError(f"filling must be positive, got {f0}")
        else:
            power = nan_if(power, ~(power > 0), "power must be positive")
            wavelength = nan_if(wavelength, ~(wavelength > 0), "wavelength must be positive")
            filling = nan_if(filling, ~(filling > 0), "filling must be positive")
            NA = nan_if(NA, ~((NA > 0) & (NA < n_medium)), "NA must lie in (0, n_medium)")
        order = DEFAULT_ORDER if order is None else order
        if not (isinstance(order, (int, np.integer)) and order >= 2):
            raise ValueError(f"order must be an integer ≥ 2, got {order!r}")
        if not (isinstance(azimuthal_order, (int, np.integer)) and azimuthal_order >= 8):
            raise ValueError(f"azimuthal_order must be an integer ≥ 8, got {azimuthal_order!r}")
        if is_concrete((NA, n_medium, wavelength, filling)):
            ext = 10.0 * float(np.asarray(wavelength)) if extent is None else float(extent)
            need = required_order(NA, ext, rtol, n_medium, wavelength, filling)
            if int(order) < need:
                warnings.warn(
                    f"FocusedBeam: order={int(order)} is below the {need} Gauss–Legendre nodes "
                    f"needed for rtol={rtol:g} within {ext:.3g} m of the focus; pass order={need}",
                    stacklevel=2)
        self.power = power
        self.wavelength = wavelength
        self.NA = NA
        self.n_medium = n_medium
        self.filling = filling
        self.polarization = pol if isinstance(pol, jax.Array) else jnp.asarray(pol)
        self.phase = phase
        self.focus = focus
        self.mode = mode
        self.order = int(order)
        self.azimuthal_order = int(azimuthal_order)
        self.radial_mask = radial_mask
        if isinstance(pupil_mask, SampledPupil):
            self.pupil_mask, self.pupil = None, pupil_mask
        else:
            if pupil_mask is not None and not callable(pupil_mask):
                raise TypeError("pupil_mask must be a callable M(u, v) or a SampledPupil, got "
                                f"{type(pupil_mask).__name__}")
            self.pupil_mask, self.pupil = pupil_mask, None

    # ---------------------------------------------------------------- interface
    @property
    def k(self):
        """Wavenumber in the medium 2π n_medium/λ (rad/m)."""
        return 2.0 * jnp.pi * self.n_medium / self.wavelength

    @property
    def sin_theta_max(self):
        """sin θ_m = NA / n_medium."""
        return self.NA / self.n_medium

    @property
    def transmission(self):
        """Aperture transmission T = 1 − exp(−2/f0²): focal power = T × power."""
        return aperture_transmission(self.filling)

    @property
    def paraxial_waist(self):
        """w0 = λ/(π f0 NA): waist of the paraxial Gaussian that the focus tends to at low NA."""
        return self.wavelength / (jnp.pi * self.filling * self.NA)

    def _norm(self):
        s2 = self.sin_theta_max**2
        f2 = self.filling**2
        return s2 * 0.5 * f2 * (-jnp.expm1(-1.0 / f2))

    @property
    def reference_amplitude(self):
        """E_N = sqrt(4 Z0 n k0² P/(π f0² sin²θ_m)) N (V/m) — ≈ the focal amplitude at low NA."""
        s2 = self.sin_theta_max**2
        k0 = 2.0 * jnp.pi / self.wavelength
        e2 = 4.0 * C.Z0 * self.n_medium * k0**2 * self.power / (jnp.pi * self.filling**2 * s2)
        return jnp.sqrt(e2) * self._norm()

    # ---------------------------------------------------------------- pupil
    def _pupil(self, dt):
        """θ nodes: (sin θ, cos θ, weight·sin θ·g(θ)/N) each (order,)."""
        x, w = _gauss_legendre(self.order)
        s_m = self.sin_theta_max.astype(dt)
        theta_m = jnp.arcsin(s_m)
        th = theta_m * jnp.asarray(x, dt)
        s, c = jnp.sin(th), jnp.cos(th)
        f0 = self.filling.astype(dt)
        fw = jnp.exp(-(s / (f0 * s_m)) ** 2)
        g = fw * jnp.sqrt(c)
        wt = theta_m * jnp.asarray(w, dt) * s * g / self._norm().astype(dt)
        wt = wt.astype(_complex_dtype(dt))
        if self.radial_mask is not None:
            wt = wt * jnp.asarray(self.radial_mask(s / s_m))
        return s, c, wt

    def _amplitudes(self, s, c, phi):
        """Refracted E and H̃ amplitudes a, b = k̂ × a at (θ nodes) × φ: (..., 3) each."""
        s, c = s[..., None], c[..., None]
        cp, sp = jnp.cos(phi), jnp.sin(phi)
        zero = jnp.zeros_like(s * cp)
        e_phi = jnp.stack([-sp + zero, cp + zero, zero], -1)
        e_th = jnp.stack([c * cp, c * sp, -s + zero], -1)
        cdt = _complex_dtype(s.dtype)
        if self.mode == "radial":
            alpha, beta = jnp.zeros_like(zero), -jnp.ones_like(zero)
        elif self.mode == "azimuthal":
            alpha, beta = -jnp.ones_like(zero), jnp.zeros_like(zero)
        else:
            px, py = (self.polarization.astype(cdt)[i] for i in range(2))
            alpha = -px * sp + py * cp + zero
            beta = px * cp + py * sp + zero
        alpha, beta = alpha.astype(cdt)[..., None], beta.astype(cdt)[..., None]
        a = alpha * e_phi + beta * e_th
        b = beta * e_phi - alpha * e_th
        return a, b

    def _harmonics(self, s, c):
        """a_m(θ), b_m(θ) for m = −2 … 2: (order, 5, 3) each."""
        phi = jnp.asarray(2 * np.pi * np.arange(_N_DFT) / _N_DFT, s.dtype)
        a, b = self._amplitudes(s, c, phi)  # (order, N_DFT, 3)
        D = jnp.asarray(_dft_matrix(), a.dtype)
        return _es("mj,tjc->tmc", D, a), _es("mj,tjc->tmc", D, b)

    # ---------------------------------------------------------------- evaluation
    def _local(self, rho):
        rho = _as_rho(rho)
        dt = rho.dtype
        return rho - (self.k * self.focus).astype(dt), dt

    def _global_phase(self, dt):
        return jnp.exp(1j * self.phase.astype(dt)).astype(_complex_dtype(dt))

    def _bessel_parts(self, d, dt, with_grad):
        """Sums over θ and m for the symmetric pupil: returns E, H (3,) and, when asked,
        dE, dH (3, 3) in ρ (index [i, j] = ∂_j F_i)."""
        s, c, wt = self._pupil(dt)
        am, bm = self._harmonics(s, c)  # (T, 5, 3)
        q = s  # (T,) transverse wavenumber in units of k = n k0
        x, y, z = d[0], d[1], d[2]
        u = q * jnp.sqrt(x * x + y * y + jnp.finfo(dt).tiny)  # tiny: finite gradient at axis
        lam = bessel_lambdas(u)  # (4, T)
        cdt = _complex_dtype(dt)
        wp = (q * (x + 1j * y)).astype(cdt)
        wm = (q * (x - 1j * y)).astype(cdt)
        one = jnp.ones_like(wp)
        pos = [one, wp, wp * wp, wp * wp * wp]
        neg = [one, wm, wm * wm, wm * wm * wm]
        # C_m, m = −3 … 3: J_m(u) e^{imφ_r} (C_{−m} = (−1)^m J_m e^{−imφ_r})
        Cm = jnp.stack([(-1.0) ** 3 * lam[3] * neg[3], lam[2] * neg[2], -lam[1] * neg[1],
                        lam[0] * one, lam[1] * pos[1], lam[2] * pos[2], lam[3] * pos[3]],
                       axis=-1)  # (T, 7), index m + 3
        im = jnp.asarray(np.array([1j**m for m in range(-_M_MAX, _M_MAX + 1)]), cdt)  # (5,)
        pz = wt * jnp.exp(1j * c * z)  # (T,)
        coef = pz[:, None] * im[None, :]  # (T, 5)
        mid = Cm[:, 1:6]  # m = −2 … 2
        AB = jnp.concatenate([am, bm], axis=-1)  # (T, 5, 6): E and H̃ amplitudes
        if not with_grad:
            out = _es("tm,tmc->c", coef * mid, AB)
            return out[:3], out[3:]
        lo, hi = Cm[:, 0:5], Cm[:, 2:7]  # C_{m−1}, C_{m+1}
        half_q = (0.5 * q).astype(cdt)[:, None]
        X = jnp.stack([mid, half_q * (lo - hi), 1j * half_q * (lo + hi),
                       (1j * c).astype(cdt)[:, None] * mid])  # (4, T, 5): 1, ∂x, ∂y, ∂z
        # one contraction over (θ, m): under vmap a single (4P × 5T) @ (5T × 6) product
        out = _es("ktm,tmc->kc", X * coef[None], AB)  # (4, 6)
        return out[0, :3], out[0, 3:], out[1:, :3].T, out[1:, 3:].T

    def _grid_parts(self, d, dt, with_grad):
        """2-D product quadrature (any pupil mask): direct plane-wave sum."""
        s, c, wt = self._pupil(dt)
        M = self.azimuthal_order
        phi = jnp.asarray(2 * np.pi * np.arange(M) / M, dt)
        a, b = self._amplitudes(s, c, phi)  # (T, M, 3)
        s2, c2 = s[:, None], c[:, None]
        kx, ky = s2 * jnp.cos(phi), s2 * jnp.sin(phi)
        kz = c2 + jnp.zeros_like(kx)
        s_m = self.sin_theta_max.astype(dt)
        u, v = -kx / s_m, -ky / s_m
        mask = (jnp.asarray(self.pupil_mask(u, v)) if self.pupil_mask is not None
                else self.pupil(u, v))
        ph = jnp.exp(1j * (kx * d[0] + ky * d[1] + kz * d[2]))
        w = (wt[:, None] / M) * mask * ph  # (T, M)
        E = _es("tm,tmc->c", w, a)
        H = _es("tm,tmc->c", w, b)
        if not with_grad:
            return E, H
        kv = 1j * jnp.stack([kx, ky, kz], -1).astype(_complex_dtype(dt))  # (T, M, 3)
        dE = _es("tm,tmj,tmc->cj", w, kv, a)
        dH = _es("tm,tmj,tmc->cj", w, kv, b)
        return E, H, dE, dH

    def _parts(self, rho, with_grad):
        d, dt = self._local(rho)
        two_d = self.pupil_mask is not None or self.pupil is not None
        fn = self._grid_parts if two_d else self._bessel_parts
        out = fn(d, dt, with_grad)
        g = self._global_phase(dt)
        return tuple(g * o for o in out)

    def fields_scaled(self, rho):
        """(Ẽ, H̃) = (E/E_N, Z H/E_N), Z = Z0/n, at ρ = k r = n k0 r (dimensionless (3,) each)."""
        return self._parts(rho, False)

    def field_gradients_scaled(self, rho):
        """Closed-form (∂Ẽ_i/∂ρ_j, ∂H̃_i/∂ρ_j) from the same quadrature (Bessel recurrences,
        resp. i k̂_j per plane wave)."""
        _, _, dE, dH = self._parts(rho, True)
        return dE, dH

    def fields_and_gradients_scaled(self, rho):
        """(Ẽ, H̃, ∂Ẽ, ∂H̃) in one pass (shares the Bessel functions)."""
        return self._parts(rho, True)


def focused_array(powers: RealLike, wavelength: Real, foci: Float[ArrayLike, "n 3"], NA: Real,
                  n_medium: Real = 1.0, filling: Real = 1.0, phases: RealLike = 0.0,
                  polarization: Num[ArrayLike, "2"] | Sequence[complex] | str = (1.0, 0.0),
                  polarization_angles: RealLike | None = None,
                  **kwargs: object) -> CoherentBeams:
    """N focused beams of one objective (displaced foci, e.g. from an SLM or AOD) as one
    :class:`~jaxbind.optics.beams.CoherentBeams` holding a stacked :class:`FocusedBeam`.

    Each focus is the objective's field translated to ``foci[i]`` (the aplanatic isoplanatic
    approximation: a small pupil phase tilt translates the focus) with power ``powers[i]`` and
    phase ``phases[i]``.

    Args:
        powers: scalar or (N,) input powers (W).  wavelength: λ (m).
        foci: (N, 3) focal positions (m), finite.
        NA, n_medium, filling, polarization: shared objective settings (see FocusedBeam).
        phases: scalar or (N,) phases (rad).
        polarization_angles: optional scalar or (N,) linear-polarization angles ψ from e_x
            (rad), instead of a shared ``polarization``: Jones vector (cos ψ, sin ψ) per focus.
        **kwargs: order, extent, rtol, radial_mask, pupil_mask, azimuthal_order.
    """
    foci = as_float_array(foci, "foci")
    check_shape("foci", foci, (None, 3))
    check_finite("foci", foci)
    n = foci.shape[0]
    if n == 0:
        raise ValueError("foci must contain at least one focus")

    def per(name, v):
        a = as_float_array(v, name)
        if a.ndim == 0:
            a = jnp.broadcast_to(a, (n,))
        check_shape(name, a, (n,))
        check_finite(name, a)
        return a

    powers = per("powers", powers)
    phases = per("phases", phases)
    if is_concrete(powers) and np.any(np.asarray(powers) <= 0):
        raise ValueError(f"powers must be positive, got {np.asarray(powers)}")
    template = FocusedBeam(1.0, wavelength, NA, n_medium, filling, polarization, **kwargs)
    stack = lambda leaf: jnp.broadcast_to(leaf, (n,) + jnp.shape(leaf))  # noqa: E731
    if polarization_angles is not None:
        if template.mode != "uniform":
            raise ValueError("polarization_angles needs a uniform (Jones) polarization")
        psi = per("polarization_angles", polarization_angles)
        pols = jnp.stack([jnp.cos(psi), jnp.sin(psi)], -1).astype(template.polarization.dtype)
    else:
        pols = stack(template.polarization)
    leaves = (powers.astype(template.power.dtype), stack(template.wavelength),
              stack(template.NA), stack(template.n_medium), stack(template.filling),
              pols, phases.astype(template.phase.dtype),
              foci.astype(template.focus.dtype))
    tw = eqx.tree_at(lambda t: (t.power, t.wavelength, t.NA, t.n_medium, t.filling,
                                t.polarization, t.phase, t.focus), template, leaves)
    if template.pupil is not None:  # one SLM pattern shared by every focus
        tw = eqx.tree_at(lambda t: t.pupil, tw, jax.tree_util.tree_map(stack, template.pupil))
    return CoherentBeams((tw,), stacked=(True,))


def flux_through_plane(beam: AbstractBeam, z, radius, n_radial=256, n_angle=64) -> Float[Array, ""]:
    """Power (W) through the disk of ``radius`` (m) centred on the z axis in the plane ``z``
    (m): ∫ ½ Re(E × H*)·ẑ dA by Gauss–Legendre in r × trapezoid in φ.  A check of the
    normalisation (module docstring), not a kernel."""
    # one compiled program (the quadrature sizes static), not op by op
    return _flux_through_plane(beam, jnp.asarray(z), jnp.asarray(radius), int(n_radial),
                               int(n_angle))


@eqx.filter_jit
def _flux_through_plane(beam, z, radius, n_radial: int, n_angle: int):
    x, w = _gauss_legendre(n_radial)
    r = jnp.asarray(x) * radius
    wr = jnp.asarray(w) * radius * r
    ph = jnp.asarray(2 * np.pi * np.arange(n_angle) / n_angle)
    R, P = jnp.meshgrid(r, ph, indexing="ij")
    pts = jnp.stack([R * jnp.cos(P), R * jnp.sin(P), jnp.full_like(R, z)], -1).reshape(-1, 3)
    S = _poynting_z(beam, pts).reshape(R.shape)
    return jnp.sum(wr[:, None] * S) * (2 * np.pi / n_angle)


@eqx.filter_jit
def _poynting_z(beam, pts):
    dt = pts.dtype
    k = jnp.asarray(beam.k).astype(dt)
    e0 = jnp.asarray(beam.reference_amplitude).astype(dt)
    nm = jnp.asarray(medium_index(beam)).astype(dt)

    def one(p):
        E, H = beam.fields_scaled(k * p)
        return jnp.real(E[0] * jnp.conj(H[1]) - E[1] * jnp.conj(H[0]))

    return (0.5 * nm * e0**2 / C.Z0) * jax.vmap(one)(pts)
