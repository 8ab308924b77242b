"""Tweezer arrays and their linearized optomechanics (paper 001 Sec. IV.A, paper 000 App. A).

:class:`TweezerArray` holds N paraxial tweezers propagating along e_z with foci in the focal
plane z = 0 (paper 001 eq. 69) and one spherical particle per tweezer. :func:`linearize`
turns it into the linear non-Hermitian coupling model of paper 001 eqs. 74–81,

    ż_j = p_j/m_j,
    ṗ_j = −(m_j ω_j² + K_j) z_j + Σ_{j'≠j} C_jj' z_j' + F_j − γ_j p_j + ξ_j,
    ⟨ξ_j'(t') ξ_j(t)⟩ = 2 D_jj' δ(t − t'),

returned as a :class:`LinearizedArray` (SI units; D stored divided by ħ, see there).

Units inside: every formula is evaluated in the scaled variables of :mod:`jaxbind.constants`
(ρ = k r, α̃ = k³α/(4πε0), ẽ_j = E_j/E0 with E0 the largest focal amplitude, force unit
F0 = 4πε0E0²/k²) and converted at the end, so float32 agrees with float64.

Far-field closed forms (``method="far_field"``), with κ_j = 1 − 1/(k z_R,j) the Gouy-reduced
wavenumber k'_j = k − 1/z_R,j in units of k, ρ = k d_jj', P = 1 − n_jj'⊗n_jj' and
B_jj' = ẽ_j*·P ẽ_j' (complex, includes the tweezer phases):

    m_j ω_j²  = F0 k · α̃_j |ẽ_j|² / (2 (k z_R,j)²)                       (eq. 71)
    C_jj'     = F0 k · α̃_j α̃_j' κ_j κ_j' Re[e^{iρ} B_jj'] / (2ρ)          (eq. 77)
    K_j       = Σ_{j'≠j} C_jj'                                             (eq. 76)
    F_j       = F0 [α̃_j² κ_j |ẽ_j|²/3 + Σ_j' α̃_j α̃_j' κ_j Im(e^{iρ} B_jj')/(2ρ)]   (eq. 78)
    D_jj/ħ    = (k F0/4) · (2/15) α̃_j² |ẽ_j|² (5κ_j² + 2)                  (eq. 79a)
    D_jj'/ħ   = (k F0/4) · α̃_j α̃_j' κ_j κ_j' sin(ρ) B_j'j / ρ               (eq. 79b)

These are paper 001's eqs. with ε0 χ V_j = α_j (real part of the particle polarizability,
as the paper's χ is real) and per-tweezer Rayleigh ranges (k − 1/z_R)² → k'_j k'_j'. They were
re-derived from the dipole force F = (α²/2ε0) ∂ Re[E*·Ḡ E] (paper 000 eq. 1) with the far-field
Green tensor and from the Lindblad operators (paper 000 eq. 5); the identity
C_jj' − C_j'j = 4 Im D_jj'/ħ (paper 001 after eq. 81) holds exactly for them.

Exact linearization (``method="exact"``): the Jacobian (implicit autodiff, mechanics/exact.py) of the full
self-consistent dipole forces (:func:`jaxbind.optics.forces.dipole_forces`, near field and
multiple scattering included) at the foci gives C, K and F; the isolated-particle forces
give ω; the diffusion follows from the same quadratic expansion of the Lindblad operators
(paper 001 eq. 68, paper 000 eq. 5) applied to the self-consistent dipoles p̃_i(x):

    2 D_μν/ħ² = ∫dΩ Σ_s B_μ(n,s) B_ν(n,s)*,   B_μ = ∂/∂x_μ Σ_i t_ns*·p_i(x) e^{−ik n·r_i},

evaluated in closed form with W(R) = ⟨(1 − n⊗n) e^{in·R}⟩_Ω = Im g(R) and its derivatives
(:func:`_angular_kernel`), so no angular quadrature is needed. It reduces to eqs. 79a/79b
for isolated first-order dipoles in the far field.
"""

from __future__ import annotations

import math

import warnings

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._entry import compiled_entry
from .._precision import highest_precision
from .. import constants as Cst
from .._checks import as_float_array, check_finite, check_passive_index, check_positive, is_concrete
from collections.abc import Sequence

from .._types import Array, ArrayLike, Complex, Float, NumLike, Real, RealDtype, RealLike
from ..optics.beams import CoherentBeams
from ..optics.focused import FocusedBeam, focused_array
from ..optics.multipoles import Multipole
from ..optics.particles import Particles
from ..optics.scatterers import DEFAULT_MODEL, DipoleModel, ScattererModel, as_model
from ..results import RESULTS, code, message, index as result_index
from .exact import exact_linearization
from .exact_multipole import exact_multipole_linearization

__all__ = ["TweezerArray", "LinearizedArray", "linearize"]

_METHODS = ("far_field", "exact")
_LINEARIZE_MESSAGES = [
    "linearize: " + ("a particle is not trapped (non-positive isolated stiffness; e.g. Re α ≤ 0 "
                     "gives no gradient trap)" if i == result_index(RESULTS.not_trapped) else message(i))
    for i in range(len(RESULTS._index_to_message))
]
_AXES = {"x": (0,), "y": (1,), "z": (2,), "xyz": (0, 1, 2)}


def _renamed(old: str, old_value, new: str, new_value):
    """The value of a keyword renamed from ``old`` to ``new`` (old spelling deprecated)."""
    if old_value is None:
        return new_value
    if new_value is not None:
        raise TypeError(f"TweezerArray: give {new}= (or the deprecated {old}=), not both")
    warnings.warn(f"TweezerArray({old}=...) is deprecated; use {new}=", DeprecationWarning,
                  stacklevel=3)
    return old_value


def _complex_dtype(rdt):
    return jnp.promote_types(rdt, jnp.complex64)


class TweezerArray(eqx.Module):
    """N optical tweezers along e_z with one spherical particle each (paper 001 eq. 69).

    Args:
        positions: (N, 2) or (N, 3) focal positions in metres; foci lie in the focal plane,
            so a z column must be 0.
        powers: (N,) or scalar tweezer powers (W), > 0.
        wavelength: vacuum wavelength λ (m), > 0 (common to all tweezers: coherent array).
        waists: scalar or (N,) beam waists w0 (m); or ``NA`` (scalar or (N,), w0 = λ/(π NA)).
        phases: scalar or (N,) optical phases φ_j (rad); paper 000's relative phase is
            φ = φ_1 − φ_2.
        polarization_angles: scalar or (N,) linear-polarization angles ψ_j from e_x (rad);
            paper 001 eq. 82 calls them Θ_j.
        radii: scalar or (N,) particle radii (m), > 0.
        index: scalar or (N,) complex refractive index of the spheres; or ``alpha``: scalar or
            (N,) electric polarizability (C·m²/V, complex allowed). Exactly one.
        density: scalar or (N,) mass densities (kg/m³), > 0 (mass = density·4πa³/3).
        gamma: scalar or (N,) gas damping rates (1/s, energy-damping convention ṗ = −γp), ≥ 0.
        temperature: gas temperature (K), ≥ 0.
        model: scatterer model with ``index`` (:mod:`jaxbind.optics.scatterers`):
            :class:`~jaxbind.optics.scatterers.MieDipole` (default, as everywhere; dipolar
            Mie coefficients, electric and magnetic dipole — the magnetic one enters the
            ``method="exact"`` forces) or :class:`~jaxbind.optics.scatterers.ClausiusMossotti`
            (electric dipole with radiative correction, the model of papers 000–001). The far
            field closed forms use Re α̃_e of either.
            Or :class:`~jaxbind.optics.multipoles.Multipole` ``(l_max)``: spheres as
            multipoles (T-matrix engine), for ``method="exact"`` only; it needs ``index`` and
            ``focus`` (the paraxial tweezer is not a Maxwell field, see
            :mod:`jaxbind.optics.multipoles.incident`), see
            :mod:`jaxbind.mechanics.exact_multipole`.
        focus: optional :class:`~jaxbind.optics.focused.FocusedBeam`, the objective model
            (its NA, n_medium, filling, quadrature order and pupil masks; its power, phase,
            focus, polarization and wavelength are ignored): every tweezer is then the
            vectorial (Richards–Wolf) focal field of that objective at its focus, with the
            array's powers (input powers), phases and polarization angles, so
            ``linearize(method="exact")`` gives trap frequencies and binding from the exact
            focused fields of all tweezers. ``waists``/``NA`` are then omitted (``waists``
            becomes the objective's paraxial waist λ/(π f0 NA), used for overlap checks);
            the far-field closed forms are paraxial and refuse a focused array.

    The singular keywords ``waist=`` and ``radius=`` are deprecated spellings of ``waists=``
    and ``radii=`` (the names of the stored attributes, like ``powers`` and ``phases``).

    Errors (ValueError naming the argument): overlapping tweezers (two foci closer than the
    larger waist) or particles (closer than the sum of radii), non-positive power, radius or
    density, a per-tweezer array of the wrong length, foci off the focal plane.
    """

    positions: Array
    powers: Array
    wavelength: Array
    waists: Array
    phases: Array
    polarization_angles: Array
    radii: Array
    index: Array | None
    alpha: Array | None
    density: Array
    gamma: Array
    temperature: Array
    model: ScattererModel = DEFAULT_MODEL
    focus: FocusedBeam | None = None

    def __init__(self, positions: RealDtype[ArrayLike, "n 2"] | RealDtype[ArrayLike, "n 3"]
                 | Sequence[Sequence[float]],
                 powers: RealLike | Sequence[float], wavelength: Real, *,
                 waists: RealLike | Sequence[float] | None = None, NA: RealLike | Sequence[float] | None = None,
                 phases: RealLike | Sequence[float] = 0.0, polarization_angles: RealLike | Sequence[float] = 0.0,
                 radii: RealLike | Sequence[float] | None = None,
                 index: NumLike | Sequence[complex] | None = None,
                 alpha: NumLike | Sequence[complex] | None = None, density: RealLike | Sequence[float],
                 gamma: RealLike | Sequence[float] = 0.0, temperature: Real = 0.0,
                 model: ScattererModel | str | None = None, waist: RealLike | Sequence[float] | None = None,
                 radius: RealLike | Sequence[float] | None = None, focus: FocusedBeam | None = None) -> None:
        waists = _renamed("waist", waist, "waists", waists)
        radii = _renamed("radius", radius, "radii", radii)
        if radii is None:
            raise TypeError("TweezerArray: radii (particle radii in m) is required")
        pos = as_float_array(positions, "positions")
        if pos.ndim != 2 or pos.shape[-1] not in (2, 3):
            raise ValueError(f"positions must have shape (N, 2) or (N, 3), got {tuple(pos.shape)}")
        n = pos.shape[0]
        if n == 0:
            raise ValueError("positions must contain at least one tweezer")
        if pos.shape[-1] == 3:
            if is_concrete(pos) and np.any(np.asarray(pos[:, 2]) != 0.0):
                raise ValueError("positions: foci must lie in the focal plane z = 0 "
                                 f"(got z = {np.asarray(pos[:, 2])})")
            pos = pos.at[:, 2].set(0.0)
        else:
            pos = jnp.concatenate([pos, jnp.zeros((n, 1), pos.dtype)], axis=1)

        def per(name, v, cplx=False):
            a = jnp.asarray(v)
            if cplx:
                if not jnp.issubdtype(a.dtype, jnp.inexact):
                    a = a.astype(jnp.result_type(float))
                a = a.astype(_complex_dtype(a.dtype))
            else:
                a = as_float_array(a, name)
            if a.ndim == 0:
                a = jnp.broadcast_to(a, (n,))
            if a.shape != (n,):
                raise ValueError(f"{name} must be a scalar or have shape ({n},) (one per "
                                 f"tweezer), got {tuple(a.shape)}")
            return a

        if focus is not None:
            if not isinstance(focus, FocusedBeam):
                raise TypeError(f"focus must be a FocusedBeam, got {type(focus).__name__}")
            if waists is not None or NA is not None:
                raise ValueError("TweezerArray: with focus=, give neither waists nor NA "
                                 "(the objective's NA and filling set the focus)")
        elif (waists is None) == (NA is None):
            raise ValueError("TweezerArray: give exactly one of waists and NA")
        lam = as_float_array(wavelength, "wavelength")
        if lam.shape != ():
            raise ValueError(f"wavelength must be a scalar, got shape {tuple(lam.shape)}")
        if focus is not None:
            w = per("waists", lam / (jnp.pi * focus.filling * focus.NA))
        elif waists is not None:
            w = per("waists", waists)
        else:
            na = per("NA", NA)
            check_positive("NA", na)
            if is_concrete(na) and np.any(np.asarray(na) >= 1.0):
                raise ValueError(f"NA must be < 1 (free space), got {np.asarray(na)}")
            w = lam / (jnp.pi * na)
        if (index is None) == (alpha is None):
            raise ValueError("TweezerArray: give exactly one of index and alpha")
        self.positions = pos
        self.powers = per("powers", powers)
        self.wavelength = lam
        self.waists = w
        self.phases = per("phases", phases)
        self.polarization_angles = per("polarization_angles", polarization_angles)
        self.radii = per("radii", radii)
        self.index = None if index is None else per("index", index, cplx=True)
        self.alpha = None if alpha is None else per("alpha", alpha, cplx=True)
        self.density = per("density", density)
        self.gamma = per("gamma", gamma)
        self.temperature = as_float_array(temperature, "temperature")
        self.model = as_model(model)
        self.focus = focus

    def __check_init__(self):
        if isinstance(self.model, Multipole):
            if self.focus is None:
                raise ValueError("model: Multipole(...) needs focus=FocusedBeam(...): the paraxial "
                                 "tweezer field is not a Maxwell field (no longitudinal E_z), so its "
                                 "multipole expansion and the transverse gradient force are wrong at "
                                 "leading order (see jaxbind.optics.multipoles.incident)")
            if self.index is None:
                raise ValueError("model: Multipole(...) describes spheres by their refractive "
                                 "index; give index=, not alpha=")
        elif not isinstance(self.model, DipoleModel):
            raise TypeError(f"model: a TweezerArray is linearized with the coupled-dipole engine "
                            f"or the multipole engine; {type(self.model).__name__} is neither a "
                            "DipoleModel nor Multipole")
        if self.temperature.shape != ():
            raise ValueError(f"temperature must be a scalar, got shape {self.temperature.shape}")
        for name, v in (("powers", self.powers), ("wavelength", self.wavelength),
                        ("waists", self.waists), ("radii", self.radii),
                        ("density", self.density)):
            check_positive(name, v)
        check_positive("gamma", self.gamma, allow_zero=True)
        check_positive("temperature", self.temperature, allow_zero=True)
        for name, v in (("phases", self.phases), ("polarization_angles", self.polarization_angles),
                        ("positions", self.positions), ("index", self.index),
                        ("alpha", self.alpha)):
            check_finite(name, v)
        check_passive_index("index", self.index)
        if is_concrete((self.positions, self.waists, self.radii)) and self.n > 1:
            p = np.asarray(self.positions)
            dist = np.linalg.norm(p[:, None, :] - p[None, :, :], axis=-1)
            iu = np.triu_indices(self.n, 1)
            r = np.asarray(self.radii)
            w = np.asarray(self.waists)
            bad = dist[iu] < (r[:, None] + r[None, :])[iu]
            if np.any(bad):
                i, j = iu[0][np.argmax(bad)], iu[1][np.argmax(bad)]
                raise ValueError(f"positions: particles {i} and {j} overlap (distance "
                                 f"{dist[i, j]:.3g} m < sum of radii)")
            bad = dist[iu] < np.maximum(w[:, None], w[None, :])[iu]
            if np.any(bad):
                i, j = iu[0][np.argmax(bad)], iu[1][np.argmax(bad)]
                raise ValueError(f"positions: tweezers {i} and {j} overlap (focal distance "
                                 f"{dist[i, j]:.3g} m < waist {max(w[i], w[j]):.3g} m)")

    # ---------------------------------------------------------------- derived quantities
    @property
    def n(self) -> int:
        """Number of tweezers/particles (static)."""
        return self.positions.shape[0]

    @property
    def n_medium(self):
        """Real index of the host medium: the objective's ``focus.n_medium`` for a focused
        array (particles in liquid), 1 (vacuum) for the paraxial array."""
        if self.focus is None:
            return jnp.asarray(1.0, self.wavelength.dtype)
        return self.focus.n_medium

    @property
    def k(self):
        """Wavenumber in the host medium 2π n_medium/λ (rad/m; λ the vacuum wavelength)."""
        return 2.0 * jnp.pi * self.n_medium / self.wavelength

    @property
    def rayleigh_ranges(self):
        """(N,) z_R = π w0²/λ (m); for a focused array the effective value from the focal
        field's on-axis Gouy phase gradient, k_eff = k − 1/z_R (the same for every tweezer;
        k the wavenumber in the medium)."""
        if self.focus is None:
            return jnp.pi * self.waists**2 / self.wavelength
        f = self.focus
        b = FocusedBeam(1.0, self.wavelength, f.NA, f.n_medium, f.filling, order=f.order,
                        extent=self.wavelength)
        E, _, dE, _ = b.fields_and_gradients_scaled(jnp.zeros(3, self.positions.dtype))
        kappa = jnp.imag(dE[0, 2] / E[0])  # k_eff / k
        zr = 1.0 / (self.k * (1.0 - kappa))
        return jnp.broadcast_to(zr, (self.n,))

    @property
    def masses(self):
        """(N,) particle masses density·4πa³/3 (kg)."""
        return self.density * (4.0 * math.pi / 3.0) * self.radii**3

    @property
    def focal_amplitudes(self):
        """(N,) focal field amplitudes |E_j| = sqrt(4P/(π w0² c ε0)) (V/m)."""
        return jnp.sqrt(4.0 * self.powers / (jnp.pi * self.waists**2 * Cst.c * Cst.epsilon0))

    def beam(self) -> CoherentBeams:
        """The coherent tweezer field (paper 001 eq. 69) as a :class:`CoherentBeams`
        (vectorial focused beams when the array has a ``focus``)."""
        if self.focus is not None:
            f = self.focus
            return focused_array(self.powers, self.wavelength, self.positions, f.NA,
                                 f.n_medium, f.filling, phases=self.phases,
                                 polarization_angles=self.polarization_angles, order=f.order,
                                 extent=self.wavelength, radial_mask=f.radial_mask,
                                 pupil_mask=f.pupil if f.pupil is not None else f.pupil_mask,
                                 azimuthal_order=f.azimuthal_order)
        return CoherentBeams.from_tweezers(self.powers, self.wavelength, self.positions,
                                           waist=self.waists, phases=self.phases,
                                           polarization_angles=self.polarization_angles)

    def particles(self, positions=None) -> Particles:
        """The particles (at the foci unless ``positions`` (N, 3) m is given)."""
        pos = self.positions if positions is None else positions
        if self.alpha is not None:
            return Particles(pos, self.radii, alpha_e=self.alpha, density=self.density)
        return Particles(pos, self.radii, index=self.index, density=self.density,
                         model=self.model)

    def polarizabilities_scaled(self):
        """(N,) complex α̃_e = k³α_e/(4πε) at the array's wavelength (ε = ε0 n² of the
        host medium)."""
        ae, _ = self.particles().polarizabilities_scaled(self.k, self.n_medium)
        return ae

    def focal_fields_scaled(self):
        """(N, 3) complex ẽ_j = E_j e^{iφ_j} ε̂_j / E0 with E0 = max_j |E_j| (the focal field
        of tweezer j at its own focus, paper 001 eq. 82)."""
        rdt = self.positions.dtype
        amp = self.focal_amplitudes
        rel = (amp / jnp.max(amp)).astype(rdt)
        psi = self.polarization_angles
        eps = jnp.stack([jnp.cos(psi), jnp.sin(psi), jnp.zeros_like(psi)], axis=-1)
        return (rel * jnp.exp(1j * self.phases))[:, None] * eps.astype(_complex_dtype(rdt))


class LinearizedArray(eqx.Module):
    """Linear coupling model of a tweezer array (paper 001 eqs. 74–81), SI units.

    The Langevin equations are, for degrees of freedom μ (particle j(μ), axis a(μ)),

        ẋ_μ = p_μ/m_μ,
        ṗ_μ = −(m_μ ω_μ² + K_μ) x_μ + Σ_{ν≠μ} C_μν x_ν + F_μ − γ_μ p_μ + ξ_μ,
        ⟨ξ_ν(t') ξ_μ(t)⟩ = 2 ħ D_μν δ(t − t')   (paper 001 eq. 81 with D_001 = ħ D).

    Attributes:
        omega: (M,) bare trap frequencies ω_μ (rad/s), eq. 71.
        C: (M, M) coupling constants C_μν (N/m): force on μ per metre displacement of ν;
            zero diagonal; eq. 77.
        K: (M,) interaction-induced stiffness shifts K_μ (N/m), eq. 76.
        F: (M,) constant forces at the foci (N), eq. 78.
        D: (M, M) complex Hermitian diffusion matrix divided by ħ, D_μν = D^(001)_μν/ħ in N/m
            (ħD would underflow float32); ħ·D is paper 001's D (N²·s, eq. 79), and
            D_μν/(m ω) is paper 000's dimensionless-quadrature D (1/s, eq. 8).
            With this normalization C_μν − C_νμ = 4 Im D_μν.
        mass: (M,) masses (kg) of the particle each degree of freedom belongs to.
        gamma: (M,) gas damping rates (1/s); temperature: () gas temperature (K).
        wavenumber: () k = 2π n/λ (rad/m, n the array's host medium, 1 unless focus= sets it);
            k_eff: (M,) Gouy-reduced k − 1/z_R (rad/m).
        axis: static, "z" (the papers' model) or "xyz" (then M = 3N, μ = 3j + a).
        method: static, "far_field" or "exact".
        result: :data:`jaxbind.RESULTS` item: ``successful``, ``not_trapped`` (a
            non-positive isolated stiffness), or the dipole solve's code (``overlap``,
            ``singular``) for "exact"; every array is NaN unless successful.
    """

    omega: Float[Array, " M"]
    C: Float[Array, "M M"]
    K: Float[Array, " M"]
    F: Float[Array, " M"]
    D: Complex[Array, "M M"]
    mass: Float[Array, " M"]
    gamma: Float[Array, " M"]
    temperature: Float[Array, ""]
    wavenumber: Float[Array, ""]
    k_eff: Float[Array, " M"]
    axis: str = eqx.field(static=True)
    method: str = eqx.field(static=True)
    result: RESULTS

    @property
    def status(self):
        """int32 code of :attr:`result`."""
        return code(self.result)

    @property
    def n_dof(self) -> int:
        return self.omega.shape[0]

    @property
    def diffusion_si(self):
        """Paper 001's diffusion matrix ħD (N²·s); use float64 (values ~1e-40)."""
        return Cst.hbar * self.D

    @property
    def recoil_rates(self):
        """(M,) recoil heating rates γ_rec = D_μμ/(m_μ ω_μ) (1/s) (paper 001 before eq. 89)."""
        return jnp.real(jnp.diagonal(self.D)) / (self.mass * self.omega)

    @property
    def stiffness(self):
        """(M, M) total stiffness S with ṗ = −S x + …: S = diag(mω² + K) − C (N/m)."""
        return jnp.diag(self.mass * self.omega**2 + self.K) - self.C


# --------------------------------------------------------------------------------------
# far field (closed forms)
# --------------------------------------------------------------------------------------


def _pair_geometry(rho):
    """ρ_jj' (N,N) with safe diagonal, projector P (N,N,3,3) and off-diagonal mask."""
    n = rho.shape[0]
    d = rho[:, None, :] - rho[None, :, :]
    off = ~jnp.eye(n, dtype=bool)
    d = jnp.where(off[..., None], d, jnp.array([1.0, 0.0, 0.0], rho.dtype))
    r = jnp.sqrt(jnp.sum(d * d, axis=-1))
    nv = d / r[..., None]
    P = jnp.eye(3, dtype=rho.dtype) - nv[..., :, None] * nv[..., None, :]
    return r, P, off


def _far_field_scaled(arr: TweezerArray):
    """Scaled (S̃ trap, C̃, F̃, D̃) of the far-field model (module docstring)."""
    rdt = arr.positions.dtype
    k = arr.k.astype(rdt)
    rho = arr.positions * k
    kzr = (k * arr.rayleigh_ranges).astype(rdt)
    kap = 1.0 - 1.0 / kzr
    a = jnp.real(arr.polarizabilities_scaled()).astype(rdt)
    e = arr.focal_fields_scaled()
    e2 = jnp.sum(jnp.abs(e) ** 2, axis=-1)
    r, P, off = _pair_geometry(rho)
    B = jnp.einsum("ia,ijab,jb->ij", jnp.conj(e), P, e)  # B_jj' = e_j*·P e_j'
    ph = jnp.exp(1j * r)
    aa = a[:, None] * a[None, :]
    kk = kap[:, None] * kap[None, :]
    w = off.astype(rdt)
    Ct = w * aa * kk * jnp.real(ph * B) / (2.0 * r)
    Ft = a**2 * kap * e2 / 3.0 + jnp.sum(w * aa * kap[:, None] * jnp.imag(ph * B) / (2.0 * r), axis=1)
    Doff = w * aa * kk * jnp.sin(r) * jnp.conj(B) / r
    Ddiag = (2.0 / 15.0) * a**2 * e2 * (5.0 * kap**2 + 2.0)
    Dt = Doff + jnp.diag(Ddiag).astype(Doff.dtype)
    St = a * e2 / (2.0 * kzr**2)
    return St, Ct, Ft, Dt, kap


# An eager call (no tracer among the arguments) compiles the throw=False program and raises on
# the host from ``result`` with the same messages: no host callback in the program, so JAX's
# persistent compilation cache can store it and a new process reloads it (issue 15 §10).
@compiled_entry(messages=_LINEARIZE_MESSAGES)
@eqx.filter_jit
@highest_precision
def linearize(array: TweezerArray, method: str = "far_field", *, axis: str = "z",
              throw: bool = True) -> LinearizedArray:
    """Linearized optomechanics of a tweezer array around the foci (paper 001 eqs. 71–81).

    Args:
        array: the :class:`TweezerArray`.
        method: "far_field" — the closed forms of paper 001 eqs. 71, 76–79 (far-field Green
            tensor, Gouy-shifted wavenumber k − 1/z_R, first-order scattering; only
            ``axis="z"``); "exact" — Jacobians (implicit autodiff through one LU, mechanics/exact.py) of the self-consistent dipole
            forces at the foci (near field and multiple scattering included) and the
            diffusion of the self-consistent dipoles (module docstring); with ``model=Multipole(l_max)`` the same quantities from the
            multipole engine (mechanics/exact_multipole.py).
        axis: "z" (motion along the tweezer axis, the papers' model) or, with "exact",
            "x", "y" or "xyz" (all three axes, μ = 3j + a).
        throw: raise (``EquinoxRuntimeError``) on an untrapped particle or (with "exact") a
            failed dipole solve; with ``throw=False`` (vmapped sweeps) the point's arrays are
            NaN and ``result`` says why.
    Returns:
        :class:`LinearizedArray` (SI units; D divided by ħ).
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if axis not in _AXES:
        raise ValueError(f"axis must be one of {tuple(_AXES)}, got {axis!r}")
    if method == "far_field" and isinstance(getattr(array, "model", None), Multipole):
        raise ValueError("method: the far-field closed forms are those of point dipoles; a "
                         "TweezerArray with model=Multipole(...) needs method='exact'")
    if method == "far_field" and getattr(array, "focus", None) is not None:
        raise ValueError("method: the far-field closed forms are paraxial; a TweezerArray with "
                         "focus= needs method='exact'")
    if method == "far_field" and axis != "z":
        raise ValueError("axis: the far-field closed forms describe the z motion only "
                         "(paper 001 Sec. IV.A); use method='exact' for other axes")
    if not isinstance(array, TweezerArray):
        raise TypeError(f"array must be a TweezerArray, got {type(array).__name__}")
    rdt = array.positions.dtype
    k = array.k.astype(rdt)
    if method == "far_field":
        St, Ct, Ft, Dt, kap = _far_field_scaled(array)
        E0 = jnp.max(array.focal_amplitudes).astype(rdt)
        F0 = Cst.force_unit(k, E0)
        m = array.masses.astype(rdt)
        S = (F0 * k) * St
        result = RESULTS.where(jnp.all(S > 0), RESULTS.successful, RESULTS.not_trapped)
        omega = jnp.sqrt(jnp.where(S > 0, S, 1.0) / m)
        C = (F0 * k) * Ct
        K = jnp.sum(C, axis=1)
        F = F0 * Ft
        D = (0.25 * k * F0) * Dt
        k_eff = kap * k
    elif isinstance(array.model, Multipole):
        omega, C, K, F, D, m, k_eff, result = exact_multipole_linearization(array, _AXES[axis],
                                                                            throw)
    else:
        omega, C, K, F, D, m, k_eff, result = exact_linearization(array, _AXES[axis], throw)
    ok = result == RESULTS.successful

    def nan_unless_ok(x):
        return jnp.where(ok, x, jnp.asarray(jnp.nan, x.dtype))

    omega, C, K, F, D, k_eff = (nan_unless_ok(x) for x in (omega, C, K, F, D, k_eff))
    if throw:  # after the NaN mask (a check on a discarded value can be folded away)
        omega = eqx.branched_error_if(omega, ~ok, code(result), _LINEARIZE_MESSAGES)
    na = len(_AXES[axis])
    return LinearizedArray(
        omega=omega, C=C, K=K, F=F, D=D, mass=m,
        gamma=jnp.repeat(array.gamma, na), temperature=array.temperature,
        wavenumber=k, k_eff=k_eff, axis=axis, method=method, result=result,
    )
