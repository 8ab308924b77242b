"""Trap and optical-binding potentials, per particle; total potentials with Casimir–Polder.

Time-averaged potentials of point dipoles with *real* (conservative) polarizability α in a
monochromatic drive (paper 002 Sec. III C and App. B; paper 000 eqs. 3–4; paper 001 eq. 67):

* trap (paper 002 eq. 28 / B9, paper 000 eq. 3):  U_trap,i = −¼ E_i*·α_i E_i;
* optical binding seen by particle i (paper 002 eq. 29 / B10, free-space part; its eq. 30 and
  C7 for two spheres):

      U_i = Σ_{j≠i} U_ij,   U_ij = −(1/2ε0) Re[(α_i E_i)* · Ḡ(r_i − r_j) (α_j E_j)],

  with the *full* complex Green tensor Ḡ of :mod:`jaxbind.optics.green` (E = Ḡp/ε0; paper
  002's G is Ḡ/k², see green.py). The divergent self term of eq. 29 is position independent
  (a renormalization of α) and dropped, as in the paper.

Why per particle: the force that the scattered light of j exerts on i is F_i = −∂U_i/∂r_i
(at fixed r_j; this is paper 000 eq. 1 and equals the O(α²) part of the coupled-dipole force
of :func:`jaxbind.optics.forces.interparticle_forces`, which the tests check). But U_A ≠ U_B in
general: for two tweezers of relative phase Δφ = φ_A − φ_B, U_A(Δφ) = U_B(−Δφ). Splitting

      U_ij = V_ij + N_ij,  V_ij = (U_ij + U_ji)/2 (symmetric),  N_ij = (U_ij − U_ji)/2,

the symmetric part sums to the Lamb-shift potential of paper 000 eq. 4 / paper 001 eq. 67,
V_opt = −(1/4ε0) Σ_{j≠j'} (α_j' E_j')*·Re Ḡ(r_j − r_j')(α_j E_j) = ½ Σ_i U_i, and
N_ij = (1/2ε0) Im[(α_i E_i)*·Im Ḡ (α_j E_j)] is the non-conservative remainder. Only where
N vanishes (e.g. Δφ ∈ {0, π} with in-phase focal fields) do the particles share one joint
potential; :func:`binding_potentials` therefore returns per-particle potentials, the Lamb
shift and the non-conservative parts, and :func:`joint_binding_potential` returns a joint
potential only for a conservative configuration (otherwise it raises).

Illumination is either any beam of :mod:`jaxbind.optics.beams` (each particle sees the total
field at its position) or :class:`FlatTweezers`, paper 002's single-mode "flat tweezer
profile": particle j sees only its own tweezer, with a position-independent amplitude.

Forces and stiffness in flat tweezers: :meth:`FlatTweezers.as_beam` turns the flat tweezers
into a beam (:class:`FlatTweezerBeam`) that the one force engine of
:mod:`jaxbind.optics.forces` accepts, and :func:`flat_tweezer_forces` /
:func:`flat_tweezer_stiffness` call :func:`~jaxbind.optics.forces.optical_forces` /
:func:`~jaxbind.optics.forces.stiffness_matrix` with it: the full coupled-dipole forces
(all scattering orders, the polarizabilities as given), whose O(α²) part is −∂U_i/∂r_i of
the per-particle potentials above.

Units: SI at the API; kernels work in the scaled units of :mod:`jaxbind.constants`, where
the energy unit is ℰ = 4πε0 E0²/k³ and Ũ_trap = −¼ Ẽ*·α̃ Ẽ, Ũ_ij = −½ Re[p̃_i*·g p̃_j],
p̃ = α̃ Ẽ. Polarizabilities are taken as Re α̃ (the conservative part; the imaginary part —
absorption and radiation reaction — gives scattering forces, which no potential describes).
Only electric dipoles are supported.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import lineax as lx
import optimistix as optx

from .._precision import highest_precision
from .. import constants as C
from .._entry import compiled_entry, raise_on_result
from ..results import RESULTS, code, message
from ..results import index as result_index
from .._checks import as_float_array, check_finite, check_positive, check_shape, is_concrete
from typing import Any, Callable, Sequence

from .._types import Array, ArrayLike, Bool, Float, Real, RealDtype, RealLike
from .beams import AbstractBeam, CoherentBeams, medium_index
from .casimir import casimir_polder_sum
from .green import green_matrix_scaled
from .materials import DrudeLorentz, Permittivity, clausius_mossotti
from ..solvers import Born, Direct, GMRES
from .forces import optical_forces, stiffness_matrix
from .particles import Particle, Particles, as_particles

__all__ = [
    "FlatTweezers",
    "FlatTweezerBeam",
    "flat_tweezer_forces",
    "flat_tweezer_stiffness",
    "BindingPotentials",
    "TotalPotentials",
    "trap_potential",
    "binding_potentials",
    "joint_binding_potential",
    "total_potentials",
    "tweezer_pair",
    "potential_minima",
]


# --------------------------------------------------------------------------------------
# flat-profile illumination
# --------------------------------------------------------------------------------------


class FlatTweezers(eqx.Module):
    """Paper 002's flat single-mode tweezers: particle j sees only E_j = E0_j e^{iφ_j} ε̂_j.

    The field at particle j does not depend on its position (flat intensity profile), so the
    trap potential is a constant and the binding potential depends on the separations only
    (paper 002 Sec. IV, Figs. 3–6).

    Args:
        intensities: (N,) tweezer intensities I_j (W/m², > 0); E0_j = sqrt(2 I_j/(c ε0)).
        phases: (N,) optical phases φ_j (rad); paper 002's Δφ = φ_A − φ_B.
        polarization_angles: (N,) linear polarization angles ψ_j from e_x in the x–y plane
            (rad), ε̂_j = (cos ψ_j, sin ψ_j, 0); ψ = π/2 is "y-polarized".
        wavelength: vacuum wavelength λ (m, > 0).
    """

    intensities: Float[Array, " n"]
    phases: Float[Array, " n"]
    polarization_angles: Float[Array, " n"]
    wavelength: Float[Array, ""]

    def __init__(self, intensities: RealLike | Sequence[float], phases: RealLike | Sequence[float],
                 polarization_angles: RealLike | Sequence[float], wavelength: Real) -> None:
        self.intensities = as_float_array(intensities, "intensities")
        n = self.intensities.shape[0] if self.intensities.ndim == 1 else None
        self.phases = as_float_array(phases, "phases")
        self.polarization_angles = as_float_array(polarization_angles, "polarization_angles")
        if n is not None:
            if self.phases.ndim == 0:
                self.phases = jnp.broadcast_to(self.phases, (n,))
            if self.polarization_angles.ndim == 0:
                self.polarization_angles = jnp.broadcast_to(self.polarization_angles, (n,))
        self.wavelength = as_float_array(wavelength, "wavelength")

    def __check_init__(self):
        check_shape("intensities", self.intensities, (None,))
        n = self.intensities.shape[0]
        check_shape("phases", self.phases, (n,))
        check_shape("polarization_angles", self.polarization_angles, (n,))
        check_shape("wavelength", self.wavelength, ())
        check_positive("intensities", self.intensities)
        check_positive("wavelength", self.wavelength)
        check_finite("phases", self.phases)
        check_finite("polarization_angles", self.polarization_angles)

    @property
    def n(self) -> int:
        return self.intensities.shape[0]

    @property
    def k(self):
        return 2.0 * jnp.pi / self.wavelength

    @property
    def amplitudes(self):
        """(N,) field amplitudes E0_j = sqrt(2 I_j/(c ε0)) (V/m)."""
        return jnp.sqrt(2.0 * self.intensities / (C.c * C.epsilon0))

    @property
    def reference_amplitude(self):
        """Largest amplitude max_j E0_j (V/m): the scale of the scaled fields."""
        return jnp.max(self.amplitudes)

    def fields_scaled_at(self, rho):
        """(N, 3) scaled fields Ẽ_j = (E0_j/E0) e^{iφ_j} ε̂_j (independent of ``rho``)."""
        dt = rho.dtype
        amp = (self.amplitudes / self.reference_amplitude).astype(dt)
        psi = self.polarization_angles.astype(dt)
        pol = jnp.stack([jnp.cos(psi), jnp.sin(psi), jnp.zeros_like(psi)], axis=-1)
        ph = jnp.exp(1j * self.phases.astype(dt))
        return (amp * ph)[:, None] * pol

    def as_beam(self, foci) -> "FlatTweezerBeam":
        """These tweezers as a beam for the force engine, tweezer j centred on ``foci[j]``
        ((N, 3) m; normally the particle positions): see :class:`FlatTweezerBeam`."""
        return FlatTweezerBeam(self, foci)


class FlatTweezerBeam(AbstractBeam):
    """:class:`FlatTweezers` as a beam of :mod:`jaxbind.optics.beams` (paper 002 Sec. IV).

    Tweezer j is centred on ``foci[j]`` and flat: the incident field at ρ is that of the
    tweezer whose focus is nearest, Ẽ(ρ) = Ẽ_j, with ∂Ẽ/∂ρ = 0 (piecewise constant on the
    Voronoi cells of the foci). A particle displaced from its focus by less than half the
    focus spacing therefore sees its own tweezer's field, independent of its position — the
    flat-profile model — and the forces and stiffness of
    :func:`~jaxbind.optics.forces.optical_forces` / :func:`~jaxbind.optics.forces.stiffness_matrix`
    are purely interparticle (the incident field exerts no force).

    The flat model has no propagation direction (each sphere sits at a field antinode), so
    H̃ = 0: use it with electric-dipole particles only (:func:`flat_tweezer_forces` checks).

    Args:
        tweezers: the :class:`FlatTweezers` (N tweezers).
        foci: (N, 3) tweezer centres (m).
    """

    tweezers: FlatTweezers
    foci: Array

    def __init__(self, tweezers: FlatTweezers, foci: Float[ArrayLike, "n 3"]) -> None:
        if not isinstance(tweezers, FlatTweezers):
            raise TypeError(f"tweezers must be FlatTweezers, got {type(tweezers).__name__}")
        self.tweezers = tweezers
        self.foci = as_float_array(foci, "foci")

    def __check_init__(self):
        check_shape("foci", self.foci, (self.tweezers.n, 3))
        check_finite("foci", self.foci)

    @property
    def wavelength(self):
        return self.tweezers.wavelength

    @property
    def k(self):
        return self.tweezers.k

    @property
    def reference_amplitude(self):
        return self.tweezers.reference_amplitude

    def fields_scaled(self, rho):
        """(Ẽ_j, 0) of the tweezer j whose focus is nearest to ρ = k r."""
        rho = jnp.asarray(rho)
        dt = rho.dtype
        c = jax.lax.stop_gradient(self.foci.astype(dt) * jnp.asarray(self.k).astype(dt))
        j = jnp.argmin(jnp.sum((rho[None, :] - c) ** 2, axis=-1))
        E = self.tweezers.fields_scaled_at(c)[j]
        return E, jnp.zeros_like(E)

    def field_gradients_scaled(self, rho):
        """Zero (flat profile): two (3, 3) complex zeros."""
        rho = jnp.asarray(rho)
        z = jnp.zeros((3, 3), jnp.result_type(rho.dtype, jnp.complex64))
        return z, z


def _fields(illumination, rho):
    """(N, 3) scaled incident fields at the particles (each sees the total beam, or its own
    flat tweezer)."""
    if isinstance(illumination, FlatTweezers):
        if illumination.n != rho.shape[0]:
            raise ValueError(f"FlatTweezers has {illumination.n} tweezers but there are "
                             f"{rho.shape[0]} particles (one tweezer per particle)")
        return illumination.fields_scaled_at(rho)
    if isinstance(illumination, AbstractBeam):
        return jax.vmap(lambda x: illumination.fields_scaled(x)[0])(rho)
    raise TypeError("illumination must be a beam (jaxbind.optics.beams) or FlatTweezers, got "
                    f"{type(illumination).__name__}")


# --------------------------------------------------------------------------------------
# scaled kernels
# --------------------------------------------------------------------------------------


class _Setup(eqx.Module):
    rho: Array  # (N,3) k·positions (spread out where overlapping)
    alpha: Array  # (N,) or (N,3,3) real scaled polarizability
    E: Array  # (N,3) scaled incident fields
    overlap: Array
    k: Array
    unit: Array  # energy unit ℰ = 4π ε0 E0²/k³ (J)


def _prepare(particles, illumination) -> _Setup:
    if not isinstance(illumination, (AbstractBeam, FlatTweezers)):
        raise TypeError("illumination must be a beam (jaxbind.optics.beams) or FlatTweezers, "
                        f"got {type(illumination).__name__}")
    ps = as_particles(particles)
    if ps.magnetic or not ps.dipolar:
        raise ValueError("particles: potentials support electric dipoles only (paper 002): give "
                         "alpha_e without alpha_m, or index with model=ClausiusMossotti() "
                         "(jaxbind.optics.scatterers)")
    rdt = ps.positions.dtype
    k = jnp.asarray(illumination.k).astype(rdt)
    e0 = jnp.asarray(illumination.reference_amplitude).astype(rdt)
    rho = ps.positions * k
    n = ps.n
    d = rho[:, None, :] - rho[None, :, :]
    dist2 = jnp.sum(d * d, axis=-1)
    reach = (ps.radii.astype(rdt) * k)[:, None] + (ps.radii.astype(rdt) * k)[None, :]
    off = ~jnp.eye(n, dtype=bool)
    overlap = jnp.any(off & (dist2 < reach**2))
    # Overlapping points make Ḡ singular: evaluate a spread-out configuration instead; the
    # public functions attach the error (throw=True) or the status to their *outputs*, so no
    # `where` can discard the check.
    spread = jnp.zeros_like(rho).at[:, 0].set(10.0 * jnp.arange(n, dtype=rdt))
    rho_s = jnp.where(overlap, spread, rho)
    nm = jnp.asarray(medium_index(illumination)).astype(rdt)
    ae, _ = ps.polarizabilities_scaled(k, nm)
    E = _fields(illumination, rho)
    unit = C.force_unit(k, e0, nm) / k  # energy unit 4πε E0²/k³, ε = ε0 n² of the medium
    return _Setup(rho_s, jnp.real(ae), E, overlap, k, unit)


_OVERLAP_MSG = ("potentials: two particles overlap (centre distance below the sum of the "
                "radii; the point-dipole model is invalid)")


_TEMPERATURE_MSG = "total_potentials: temperature must be finite and positive"
# host-side messages of an eager throw=True (compiled_entry): the texts of the traced checks
_MESSAGES = [
    _OVERLAP_MSG if i == result_index(RESULTS.overlap) else
    _TEMPERATURE_MSG if i == result_index(RESULTS.bad_temperature) else message(i)
    for i in range(len(RESULTS._index_to_message))
]


def _nan_unless(values, result):
    """NaN outputs unless ``result`` is successful (a bad point is never a finite number)."""
    ok = result == RESULTS.successful
    return tuple(jnp.where(ok, v, jnp.asarray(jnp.nan, v.dtype)) for v in values)


def _guard(out, s: _Setup, throw: bool):
    return eqx.error_if(out, s.overlap, _OVERLAP_MSG) if throw else out


def _apply(alpha, E):
    if alpha.ndim == 1:
        return alpha[:, None] * E
    return jnp.einsum("nab,nb->na", alpha.astype(E.dtype), E)


def _trap_scaled(s: _Setup):
    p = _apply(s.alpha, s.E)
    return -0.25 * jnp.real(jnp.sum(jnp.conj(s.E) * p, axis=-1))


def _pair_scaled(s: _Setup):
    """Ũ_ij = −½ Re[p̃_i*·g(ρ_i − ρ_j)·p̃_j] (N, N), zero diagonal."""
    n = s.rho.shape[0]
    p = _apply(s.alpha, s.E)
    g = green_matrix_scaled(s.rho).reshape(n, 3, n, 3)
    return -0.5 * jnp.real(jnp.einsum("ia,iajb,jb->ij", jnp.conj(p), g, p))


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------


@eqx.filter_jit
def _trap_core(particles, illumination):
    """The compiled program of an eager :func:`trap_potential`: values and the overlap flag
    (raised on the host; no ``eqx.error_if`` host callback in the program)."""
    s = _prepare(particles, illumination)
    return s.unit * _trap_scaled(s), s.overlap


@highest_precision
def trap_potential(particles: Particles | Particle | Sequence[Particle], illumination: AbstractBeam | FlatTweezers,
                   *, throw: bool = True) -> Float[Array, " n"]:
    """Trap potential of each particle, U_i = −¼ E*(r_i)·Re α_i E(r_i) (J).

    Paper 002 eq. 28 / B9, paper 000 eq. 3 (single-particle, first order in α).

    Args:
        particles: :class:`~jaxbind.optics.particles.Particles` (electric dipoles; α taken real).
        illumination: any beam of :mod:`jaxbind.optics.beams` or :class:`FlatTweezers`.
        throw: raise if particles overlap (the value itself does not need separations).
    Returns:
        (N,) energies in J.
    """
    if is_concrete((particles, illumination)):  # eager: one compiled program, checked on the host
        u, overlap = _trap_core(particles, illumination)
        if throw and bool(overlap):
            raise eqx.EquinoxRuntimeError(_OVERLAP_MSG)
        return u
    s = _prepare(particles, illumination)
    return _guard(s.unit * _trap_scaled(s), s, throw)


class BindingPotentials(eqx.Module):
    """Optical-binding potentials of N particles (module docstring), all in J.

    Attributes:
        per_particle: (N,) U_i, the potential seen by particle i (paper 002 eq. 29): the
            binding force on i is −∂U_i/∂r_i at fixed other positions.
        pairwise: (N, N) U_ij, the part of U_i due to particle j (zero diagonal).
        lamb_shift: scalar V_opt = ½ Σ_i U_i (paper 000 eq. 4, paper 001 eq. 67), the
            conservative (Lamb-shift) part; it generates the *conservative part* of the
            binding forces only.
        nonconservative: (N,) U_i − Σ_j (U_ij + U_ji)/2; all zero iff the configuration is
            conservative (then every U_i equals V_opt for N = 2).
        result: :data:`jaxbind.RESULTS` item (``overlap`` for overlapping particles; every
            value is then NaN).
    """

    per_particle: Float[Array, " n"]
    pairwise: Float[Array, "n n"]
    lamb_shift: Float[Array, ""]
    nonconservative: Float[Array, " n"]
    result: RESULTS

    @property
    def status(self):
        """int32 code of :attr:`result`."""
        return code(self.result)

    @property
    def is_conservative(self):
        """True where every non-conservative part is below 1e-6 of the largest |U_ij|
        (float32 rounding is ~1e-7)."""
        scale = jnp.max(jnp.abs(self.pairwise))
        return jnp.all(jnp.abs(self.nonconservative) <= 1e-6 * scale)


@compiled_entry(messages=_MESSAGES)  # an eager call is one compiled program
@highest_precision
def binding_potentials(particles: Particles | Particle | Sequence[Particle], illumination: AbstractBeam | FlatTweezers,
                       *, throw: bool = True) -> BindingPotentials:
    """Per-particle optical-binding potentials with the full Green tensor (paper 002 eq. 29).

    U_i = −(1/2ε0) Σ_{j≠i} Re[(α_i E_i)*·Ḡ(r_i − r_j)(α_j E_j)], to second order in α
    (first Born order); for two y-polarized spheres on the x axis this is paper 002 eq. 30
    / C7. For Δφ ≠ 0, π the particles see different potentials (U_A(Δφ) = U_B(−Δφ)) and
    there is no joint potential: see :class:`BindingPotentials`.

    Args:
        particles: N ≥ 2 electric dipoles (α real, or Re α is used), radii for the overlap check.
        illumination: any beam (each particle sees the total field at its position) or
            :class:`FlatTweezers` (each particle sees its own flat tweezer).
        throw: raise (``EquinoxRuntimeError``) when particles overlap; with ``False`` the
            ``status`` reports it (for sweeps).
    Returns:
        :class:`BindingPotentials` (J).
    """
    s = _prepare(particles, illumination)
    u = s.unit * _pair_scaled(s)
    per = jnp.sum(u, axis=1)
    sym = 0.5 * (u + u.T)
    result = RESULTS.where(s.overlap, RESULTS.overlap, RESULTS.successful)
    out = _nan_unless((per, u, 0.5 * jnp.sum(per), per - jnp.sum(sym, axis=1)), result)
    return BindingPotentials(*_guard(out, s, throw), result)


_NONCONSERVATIVE_MSG = ("joint_binding_potential: the configuration is not conservative (the "
                        "particles see different binding potentials, e.g. relative phase not 0 "
                        "or π); use binding_potentials().per_particle")


def _joint_parts(particles, illumination, rtol, throw):
    b = binding_potentials(particles, illumination, throw=throw)
    scale = jnp.max(jnp.abs(b.pairwise))
    return b, jnp.any(jnp.abs(b.nonconservative) > rtol * scale)


@eqx.filter_jit
def _joint_core(particles, illumination, rtol):
    """The compiled program of an eager :func:`joint_binding_potential` (checks raised on the
    host; no ``eqx.error_if`` host callback in the program)."""
    b, bad = _joint_parts(particles, illumination, rtol, False)
    return b.lamb_shift, b.result, bad


@highest_precision
def joint_binding_potential(particles: Particles | Particle | Sequence[Particle], illumination: AbstractBeam | FlatTweezers,
                            *, rtol: float = 1e-6) -> Float[Array, ""]:
    """Joint optical-binding potential V (J) of a *conservative* configuration.

    Equals every U_i (N = 2) and the Lamb-shift potential of paper 000 eq. 4 / paper 001
    eq. 67. Raises (``EquinoxRuntimeError``) when the particles see different potentials
    (non-conservative: e.g. Δφ ∉ {0, π}), where no joint potential exists, and when they
    overlap. Its gradient gives the binding forces only for displacements that keep the
    configuration conservative (e.g. focal-plane motion with flat or focal-plane fields).

    Args:
        particles, illumination: as :func:`binding_potentials`.
        rtol: tolerance on |non-conservative part| / max |U_ij|.
    Returns:
        scalar V in J.
    """
    if is_concrete((particles, illumination)):  # eager: one compiled program, checked on the host
        v, result, bad = _joint_core(particles, illumination, rtol)
        raise_on_result(result, _MESSAGES)
        if bool(bad):
            raise eqx.EquinoxRuntimeError(_NONCONSERVATIVE_MSG)
        return v
    b, bad = _joint_parts(particles, illumination, rtol, True)
    return eqx.error_if(b.lamb_shift, bad, _NONCONSERVATIVE_MSG)


class TotalPotentials(eqx.Module):
    """Total potential of each particle (J): trap + optical binding + Casimir–Polder.

    Attributes:
        trap, binding, casimir: (N,) contributions (binding = ``per_particle`` of
            :func:`binding_potentials`; casimir_i = Σ_{j≠i} U_CP(r_ij), the pair energy seen
            by each sphere, paper 002 eq. 25).
        total: (N,) their sum.
        result: :data:`jaxbind.RESULTS` item (``overlap``, ``bad_temperature``; every value
            is then NaN).
    """

    trap: Float[Array, " n"]
    binding: Float[Array, " n"]
    casimir: Float[Array, " n"]
    total: Float[Array, " n"]
    result: RESULTS

    @property
    def status(self):
        """int32 code of :attr:`result`."""
        return code(self.result)


@highest_precision
def total_potentials(
    particles: Particles | Particle | Sequence[Particle],
    illumination: AbstractBeam | FlatTweezers,
    temperature: Real,
    material: Permittivity | None = None,
    *,
    casimir: bool = True,
    n_terms: int = 128,
    throw: bool = True,
) -> TotalPotentials:
    """Total potential seen by each particle: trap + binding + thermal Casimir–Polder (paper 002 Sec. IV).

    Args:
        particles: electric-dipole spheres (radii used for Casimir–Polder and overlap).
        illumination: beam or :class:`FlatTweezers`.
        temperature: T (K, > 0) of the thermal field.
        material: permittivity model of the spheres for Casimir–Polder (default: Drude–Lorentz
            silica, paper 002 eq. 35).
        casimir: include the Casimir–Polder energy (static).
        n_terms: exact Matsubara terms (see :func:`~jaxbind.optics.casimir.casimir_polder_sum`).
        throw: raise on overlap / bad temperature; ``False`` reports through ``status``.
    Returns:
        :class:`TotalPotentials` (J).
    """
    ps = as_particles(particles)
    t = as_float_array(temperature, "temperature")
    check_shape("temperature", t, ())
    if throw:  # a concrete bad temperature: ValueError before any compilation
        check_positive("temperature", t)
    return _total_potentials(ps, illumination, t, material, casimir=casimir, n_terms=n_terms,
                             throw=throw)


@compiled_entry(messages=_MESSAGES)  # an eager call is one compiled program
def _total_potentials(ps, illumination, t, material, *, casimir, n_terms, throw):
    s = _prepare(ps, illumination)
    trap = s.unit * _trap_scaled(s)
    binding = jnp.sum(s.unit * _pair_scaled(s), axis=1)
    result = RESULTS.where(s.overlap, RESULTS.overlap, RESULTS.successful)
    if casimir:
        n = ps.n
        rdt = ps.positions.dtype
        d = s.rho[:, None, :] - s.rho[None, :, :]
        off = ~jnp.eye(n, dtype=bool)
        r = jnp.sqrt(jnp.where(off, jnp.sum(d * d, axis=-1), 1.0)) / s.k
        t_s = jnp.where(jnp.isfinite(t) & (t > 0), t, 300.0).astype(rdt)
        sums = jax.vmap(jax.vmap(lambda rr: casimir_polder_sum(rr, t_s, material,
                                                               n_terms=n_terms)))(r)
        rad = ps.radii.astype(rdt)
        g6 = ((rad[:, None] / r) ** 3) * ((rad[None, :] / r) ** 3)
        cp = -C.k_B * t_s * jnp.sum(jnp.where(off, g6 * sums, 0.0), axis=1)
    else:
        cp = jnp.zeros_like(trap)
    bad_t = ~(jnp.isfinite(t) & (t > 0))
    result = RESULTS.where(bad_t, RESULTS.bad_temperature, result)
    out = _nan_unless((trap, binding, cp, trap + binding + cp), result)
    if throw:  # checks after the NaN mask (a check on a discarded value can be folded away)
        out = _guard(out, s, True)
        out = eqx.error_if(out, bad_t, _TEMPERATURE_MSG)
    return TotalPotentials(*out, result)


# --------------------------------------------------------------------------------------
# paper 002 configuration and minima
# --------------------------------------------------------------------------------------

_POL = {"x": 0.0, "y": 0.5 * math.pi}


def _as_working_dtype(a, rdt):
    """A floating/complex array leaf in the working precision ``rdt`` (other leaves, e.g.
    Python scalars — weakly typed — or callables, unchanged)."""
    if not isinstance(a, (jax.Array, np.ndarray)):
        return a
    if jnp.issubdtype(a.dtype, jnp.complexfloating):
        return a.astype(jnp.result_type(rdt, jnp.complex64))
    if jnp.issubdtype(a.dtype, jnp.floating):
        return a.astype(rdt)
    return a


def tweezer_pair(
    separation: RealDtype[ArrayLike, "3"] | RealDtype[ArrayLike, ""] | Sequence[float],
    delta_phi: Real = 0.0,
    *,
    intensity: Real = 1e10,
    wavelength: Real = 1064e-9,
    radius: Real = 100e-9,
    material: Permittivity | None = None,
    polarizations: tuple[str, str] = ("y", "y"),
    profile: str = "flat",
    waist: Real | None = None,
) -> tuple[Particles, FlatTweezers | CoherentBeams]:
    """Two silica spheres in two tweezers, the setting of paper 002 Sec. IV (Figs. 3–6).

    Sphere A at the origin, sphere B at ``separation`` ((3,) m, or a scalar x along e_x);
    tweezer phases φ_A = Δφ, φ_B = 0 (so sphere A sees cos(kr − Δφ) in eq. C7).
    Polarizability: static Clausius–Mossotti α = 4πε0R³ Re[(ε−1)/(ε+2)] with ε the material
    permittivity at the drive frequency (real α, as the paper assumes).

    Args:
        separation: B − A (m), scalar (along x) or (3,).
        delta_phi: relative optical phase Δφ = φ_A − φ_B (rad).
        intensity: peak intensity of each tweezer (W/m²; paper: 1e-2 W/µm² = 1e10 W/m²).
        wavelength: λ0 (m; paper: 1064 nm).
        radius: sphere radius (m; paper: 100 nm).
        material: default Drude–Lorentz silica (paper 002 eq. 35).
        polarizations: pair of "x"/"y" or of angles ψ (rad from e_x) for tweezers A, B.
        profile: "flat" (:class:`FlatTweezers`, each sphere sees its own tweezer) or
            "gaussian" (two paraxial Gaussian tweezers of waist ``waist`` focused on the two
            spheres and moving with them; each sphere sees the coherent sum).
        waist: Gaussian waist w0 (m), required for profile="gaussian" (power I π w0²/2).
    Returns:
        (particles, illumination).
    """
    if profile not in ("flat", "gaussian"):  # before any array work
        raise ValueError(f"profile must be 'flat' or 'gaussian', got {profile!r}")
    mat = DrudeLorentz.silica() if material is None else material
    check_positive("intensity", intensity)
    check_positive("radius", radius)
    check_positive("wavelength", wavelength)
    sep = as_float_array(separation, "separation")
    if sep.ndim == 0:
        sep = jnp.stack([sep, jnp.zeros_like(sep), jnp.zeros_like(sep)])
    check_shape("separation", sep, (3,))
    pos = jnp.stack([jnp.zeros_like(sep), sep])
    angles = jnp.asarray([_POL[p] if isinstance(p, str) else p for p in polarizations],
                         dtype=sep.dtype)
    check_shape("polarizations", angles, (2,))
    # the separation's dtype sets the program's precision: the material's parameters and the
    # scalars join it (a float64 material must not put float64 arithmetic into a float32 program)
    rdt = sep.dtype
    mat = jax.tree_util.tree_map(lambda a: _as_working_dtype(a, rdt), mat)
    omega = 2.0 * math.pi * C.c / jnp.asarray(wavelength, rdt)
    eps = jnp.real(mat.permittivity(omega))
    alpha = clausius_mossotti(eps, jnp.asarray(radius, rdt))
    ps = Particles(pos, radius, alpha_e=jnp.stack([alpha, alpha]))
    dphi = as_float_array(delta_phi, "delta_phi").astype(sep.dtype)
    phases = jnp.stack([dphi, jnp.zeros_like(dphi)])
    if profile == "flat":
        ill = FlatTweezers(jnp.full((2,), intensity, sep.dtype), phases, angles,
                           jnp.asarray(wavelength, sep.dtype))
    else:  # "gaussian" (profile checked on entry)
        if waist is None:
            raise ValueError("tweezer_pair: profile='gaussian' needs a waist")
        check_positive("waist", waist)
        power = jnp.asarray(intensity) * math.pi * jnp.asarray(waist) ** 2 / 2.0
        ill = CoherentBeams.from_tweezers(jnp.full((2,), power, sep.dtype), wavelength, pos,
                                          waist=waist, phases=phases, polarization_angles=angles)
    return ps, ill


@eqx.filter_jit  # one compiled program per call (f is static), not op by op
def potential_minima(f: Callable[[Float[Array, ""]], Float[Array, ""]],
                     grid: RealDtype[ArrayLike, " G"] | Sequence[float], *, max_count: int = 16,
                     rtol: float = 1e-10
                     ) -> tuple[Float[Array, " m"], Float[Array, " m"], Bool[Array, " m"]]:
    """Local minima of a scalar function of one variable, bracketed on a grid and refined.

    f' = ``jax.grad(f)`` is evaluated on ``grid``; every sign change from − to + brackets a
    minimum, which is refined by bisection on f' (``optimistix.Bisection``). Used for the
    stability analysis of paper 002 Fig. 6c (minima of each sphere's potential vs separation).

    Args:
        f: scalar → scalar differentiable function (e.g. a potential vs separation, in any
            unit; better scaled to O(1)).
        grid: (G,) increasing sample points; minima closer than the grid spacing to each
            other or to the ends may be missed.
        max_count: static maximum number of minima returned.
        rtol: relative tolerance of the bisection.
    Returns:
        (x, value, valid): (max_count,) positions, f values and a validity mask (minima in
        increasing x first; invalid slots hold grid[0]).
    """
    grid = as_float_array(grid, "grid")
    check_shape("grid", grid, (None,))
    if grid.shape[0] < 3:
        raise ValueError("grid must have at least 3 points")
    df = jax.grad(f)
    d = jax.vmap(df)(grid)
    up = (d[:-1] < 0) & (d[1:] >= 0)
    (idx,) = jnp.nonzero(up, size=max_count, fill_value=0)
    valid = jnp.arange(max_count) < jnp.sum(up)
    lo, hi = grid[idx], grid[idx + 1]
    span = jnp.max(grid) - jnp.min(grid)
    solver = optx.Bisection(rtol=rtol, atol=rtol * span)

    def refine(a, b, ok):
        # Empty slots get a trivially bracketed dummy root (the midpoint), so that the
        # bisection's bracket check passes; they are masked out below.
        mid = 0.5 * (a + b)
        fn = lambda x, _: jnp.where(ok, df(x), x - mid)  # noqa: E731
        sol = optx.root_find(fn, solver, mid, options={"lower": a, "upper": b}, throw=False)
        return sol.value

    x = jax.vmap(refine)(lo, hi, valid)
    x = jnp.where(valid, x, grid[0])
    return x, jax.vmap(f)(x), valid


# --------------------------------------------------------------------------------------
# forces and stiffness in flat tweezers (the force engine of optics/forces.py)
# --------------------------------------------------------------------------------------


def _flat_beam(fn, particles, tweezers):
    ps = as_particles(particles)
    if not isinstance(tweezers, FlatTweezers):
        raise TypeError(f"{fn}: tweezers must be FlatTweezers, got {type(tweezers).__name__}")
    if tweezers.n != ps.n:
        raise ValueError(f"{fn}: FlatTweezers has {tweezers.n} tweezers but there are {ps.n} "
                         "particles (one tweezer per particle)")
    if ps.magnetic or not ps.dipolar:
        raise ValueError(f"{fn}: flat tweezers carry no magnetic field (H = 0 at the field "
                         "antinode): give electric-dipole particles (alpha_e without alpha_m, "
                         "or index with model=ClausiusMossotti())")
    return ps, tweezers.as_beam(jax.lax.stop_gradient(ps.positions))


@highest_precision
def flat_tweezer_forces(particles: Particles | Sequence[Particle], tweezers: FlatTweezers,
                        solver: Direct | Born | GMRES | lx.AbstractLinearSolver | None = None, *,
                        throw: bool = True) -> Float[Array, "n 3"]:
    """Optical forces (N, 3) in N on particles in paper 002's flat tweezers (particle j in tweezer j).

    The coupled-dipole force of :func:`~jaxbind.optics.forces.optical_forces` (paper 003
    eq. 3) with the flat-profile illumination of :class:`FlatTweezerBeam` (tweezer j centred
    on particle j): F_i = ½ Re[p_i*·∇E_scat(r_i)], all scattering orders. To second order in
    α it is F_i = −∂U_i/∂r_i of the per-particle binding potentials (paper 002 eq. 29 /
    C7, :func:`binding_potentials`); for Δφ ∉ {0, π} the forces are non-conservative
    (F_A + F_B ≠ 0).

    Args:
        particles: N electric-dipole particles (e.g. from :func:`tweezer_pair`).
        tweezers: :class:`FlatTweezers` with N tweezers.
        solver: as :func:`~jaxbind.optics.dipoles.solve_dipoles` (default ``Direct()``).
        throw: raise on a failed solve (overlap, ...); ``False`` gives NaN forces.
    Returns:
        (N, 3) forces in newtons.
    """
    ps, beam = _flat_beam("flat_tweezer_forces", particles, tweezers)
    return optical_forces(ps, beam, solver, throw=throw)


@highest_precision
def flat_tweezer_stiffness(particles: Particles | Sequence[Particle], tweezers: FlatTweezers,
                           solver: Direct | Born | GMRES | lx.AbstractLinearSolver | None = None,
                           *, throw: bool = True) -> Float[Array, "m m"]:
    """Stiffness matrix K = −∂F/∂r (3N, 3N) in N/m of particles in flat tweezers.

    :func:`~jaxbind.optics.forces.stiffness_matrix` with the illumination of
    :class:`FlatTweezerBeam` (tweezers centred on the particles and fixed while they move):
    K[3i + a, 3j + b] = −∂F_{i,a}/∂r_{j,b}. The incident field is flat, so the forces
    depend on separations only and K has (at least) three zero modes, the common
    translations (Σ_j K[:, 3j + b] = 0). The linearized relative motion m r̈ = −K r is
    stable when the other eigenvalues are real and positive (paper 002 Fig. 6 for
    non-conservative pairs; paper 000 eq. 1).

    Args: as :func:`flat_tweezer_forces`.
    Returns:
        (3N, 3N) real, non-symmetric for non-conservative forces.
    """
    ps, beam = _flat_beam("flat_tweezer_stiffness", particles, tweezers)
    return stiffness_matrix(ps, beam, solver, throw=throw)
