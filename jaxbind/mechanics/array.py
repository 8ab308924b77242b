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

Exact linearization (``method="exact"``): the Jacobian (``jax.jacfwd``) of the full
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

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import constants as Cst
from .._checks import as_float_array, check_finite, check_positive, is_concrete
from .._types import Array
from ..optics.beams import CoherentBeams
from ..optics.dipoles import DipoleSolution, solve_dipoles
from ..optics.green import green_matrix_scaled
from ..optics.forces import dipole_forces, isolated_forces
from ..optics.particles import Particles

__all__ = ["TweezerArray", "LinearizedArray", "linearize"]

_METHODS = ("far_field", "exact")
_AXES = {"x": (0,), "y": (1,), "z": (2,), "xyz": (0, 1, 2)}


def _complex_dtype(rdt):
    return jnp.promote_types(rdt, jnp.complex64)


class TweezerArray(eqx.Module):
    """N optical tweezers along e_z with one spherical particle each (paper 001 eq. 69).

    Args:
        positions: (N, 2) or (N, 3) focal positions in metres; foci lie in the focal plane,
            so a z column must be 0.
        powers: (N,) or scalar tweezer powers (W), > 0.
        wavelength: vacuum wavelength λ (m), > 0 (common to all tweezers: coherent array).
        waist: scalar or (N,) beam waists w0 (m); or ``NA`` (scalar or (N,), w0 = λ/(π NA)).
        phases: scalar or (N,) optical phases φ_j (rad); paper 000's relative phase is
            φ = φ_1 − φ_2.
        polarization_angles: scalar or (N,) linear-polarization angles ψ_j from e_x (rad);
            paper 001 eq. 82 calls them Θ_j.
        radius: scalar or (N,) particle radii (m), > 0.
        index: scalar or (N,) complex refractive index of the spheres; or ``alpha``: scalar or
            (N,) electric polarizability (C·m²/V, complex allowed). Exactly one.
        density: scalar or (N,) mass densities (kg/m³), > 0 (mass = density·4πa³/3).
        gamma: scalar or (N,) gas damping rates (1/s, energy-damping convention ṗ = −γp), ≥ 0.
        temperature: gas temperature (K), ≥ 0.
        model: polarizability model with ``index``: "clausius_mossotti" (default; electric
            dipole with radiative correction, the papers' model) or "mie" (dipolar Mie
            coefficients, adds a magnetic dipole used by ``method="exact"`` forces).

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
    model: str = eqx.field(static=True, default="clausius_mossotti")

    def __init__(self, positions, powers, wavelength, *, waist=None, NA=None, phases=0.0,
                 polarization_angles=0.0, radius, index=None, alpha=None, density,
                 gamma=0.0, temperature=0.0, model="clausius_mossotti"):
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

        if (waist is None) == (NA is None):
            raise ValueError("TweezerArray: give exactly one of waist and NA")
        lam = as_float_array(wavelength, "wavelength")
        if lam.shape != ():
            raise ValueError(f"wavelength must be a scalar, got shape {tuple(lam.shape)}")
        if waist is not None:
            w = per("waist", waist)
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
        self.radii = per("radius", radius)
        self.index = None if index is None else per("index", index, cplx=True)
        self.alpha = None if alpha is None else per("alpha", alpha, cplx=True)
        self.density = per("density", density)
        self.gamma = per("gamma", gamma)
        self.temperature = as_float_array(temperature, "temperature")
        self.model = model

    def __check_init__(self):
        if self.model not in ("clausius_mossotti", "mie"):
            raise ValueError(f"model must be 'clausius_mossotti' or 'mie', got {self.model!r}")
        if self.temperature.shape != ():
            raise ValueError(f"temperature must be a scalar, got shape {self.temperature.shape}")
        for name, v in (("powers", self.powers), ("wavelength", self.wavelength),
                        ("waist", self.waists), ("radius", self.radii),
                        ("density", self.density)):
            check_positive(name, v)
        check_positive("gamma", self.gamma, allow_zero=True)
        check_positive("temperature", self.temperature, allow_zero=True)
        for name, v in (("phases", self.phases), ("polarization_angles", self.polarization_angles),
                        ("positions", self.positions), ("index", self.index),
                        ("alpha", self.alpha)):
            check_finite(name, v)
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
    def k(self):
        """Vacuum wavenumber 2π/λ (rad/m)."""
        return 2.0 * jnp.pi / self.wavelength

    @property
    def rayleigh_ranges(self):
        """(N,) z_R = π w0²/λ (m)."""
        return jnp.pi * self.waists**2 / self.wavelength

    @property
    def masses(self):
        """(N,) particle masses density·4πa³/3 (kg)."""
        return self.density * (4.0 * math.pi / 3.0) * self.radii**3

    @property
    def focal_amplitudes(self):
        """(N,) focal field amplitudes |E_j| = sqrt(4P/(π w0² c ε0)) (V/m)."""
        return jnp.sqrt(4.0 * self.powers / (jnp.pi * self.waists**2 * Cst.c * Cst.epsilon0))

    def beam(self) -> CoherentBeams:
        """The coherent tweezer field (paper 001 eq. 69) as a :class:`CoherentBeams`."""
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
        """(N,) complex α̃_e = k³α_e/(4πε0) at the array's wavelength."""
        ae, _ = self.particles().polarizabilities_scaled(self.k)
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
        wavenumber: () k = 2π/λ (rad/m); k_eff: (M,) Gouy-reduced k − 1/z_R (rad/m).
        axis: static, "z" (the papers' model) or "xyz" (then M = 3N, μ = 3j + a).
        method: static, "far_field" or "exact".
    """

    omega: Array
    C: Array
    K: Array
    F: Array
    D: Array
    mass: Array
    gamma: Array
    temperature: Array
    wavenumber: Array
    k_eff: Array
    axis: str = eqx.field(static=True)
    method: str = eqx.field(static=True)

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


# --------------------------------------------------------------------------------------
# exact (autodiff of the self-consistent dipole forces)
# --------------------------------------------------------------------------------------

# Crossover of the series / closed form in _sinc_derivative (u = ρ²).
_U_SERIES = 9.0
_N_SERIES = 34


def _series_coefficients(n):
    """Taylor coefficients of dⁿ/duⁿ j0(√u) = Σ_m (−1)^m u^m/(2m+1)! differentiated n times."""
    return [(-1.0) ** m * math.factorial(m) / (math.factorial(2 * m + 1) * math.factorial(m - n))
            for m in range(n, n + _N_SERIES)]


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _sinc_derivative(n, u):
    """s⁽ⁿ⁾(u) for s(u) = j0(√u) = sin(√u)/√u (entire in u).

    Closed form s⁽ⁿ⁾(u) = (−½)ⁿ j_n(x)/xⁿ, x = √u (spherical Bessel functions by upward
    recurrence), Taylor series below u = 9 where the closed form cancels; the custom JVP
    (d s⁽ⁿ⁾/du = s⁽ⁿ⁺¹⁾) keeps nested autodiff cheap to compile and exact at u → 0.
    """
    small = u < _U_SERIES
    us = jnp.where(small, u, 0.0)
    coef = _series_coefficients(n)
    ser = coef[-1]
    for c in coef[-2::-1]:
        ser = ser * us + c
    x = jnp.sqrt(jnp.where(small, _U_SERIES, u))
    jm, j = jnp.sin(x) / x, jnp.sin(x) / x**2 - jnp.cos(x) / x
    if n == 0:
        jn = jm
    else:
        for l in range(1, n):
            jm, j = j, (2 * l + 1) / x * j - jm
        jn = j
    return jnp.where(small, ser, (-0.5) ** n * jn / x**n)


@_sinc_derivative.defjvp
def _sinc_derivative_jvp(n, primals, tangents):
    (u,), (du,) = primals, tangents
    return _sinc_derivative(n, u), _sinc_derivative(n + 1, u) * du


def _angular_kernel(R):
    """W(R) = ⟨(1 − n⊗n) e^{i n·R}⟩_Ω = δ j0 + ∂∂ j0 = Im g(R), real (3, 3), smooth at R = 0.

    With s(u) = j0(√u), u = R·R: W_ab = δ_ab (s + 2s') + 4 R_a R_b s''.
    """
    u = jnp.dot(R, R)
    eye = jnp.eye(3, dtype=R.dtype)
    s0, s1, s2 = (_sinc_derivative(i, u) for i in range(3))
    return eye * (s0 + 2.0 * s1) + 4.0 * jnp.outer(R, R) * s2


def _exact_diffusion_scaled(rho, p, dp, axes):
    """⟨B̃_μ B̃_ν*⟩_Ω (M, M) complex (module docstring), scaled units.

    Args: rho (N,3) positions ×k; p (N,3) scaled dipoles; dp (N,3,M) ∂p̃_i/∂ρ_μ;
    axes: tuple of Cartesian axes of the degrees of freedom μ = (j, a).
    """
    n = rho.shape[0]
    na = len(axes)
    R = rho[None, :, :] - rho[:, None, :]  # R[i, l] = ρ_l − ρ_i
    Rf = R.reshape(-1, 3)
    W = jax.vmap(_angular_kernel)(Rf)                                  # (NN,3,3)
    dW = jax.vmap(jax.jacfwd(_angular_kernel))(Rf)                     # (NN,3,3,3)
    ddW = jax.vmap(jax.jacfwd(jax.jacfwd(_angular_kernel)))(Rf)        # (NN,3,3,3,3)
    ax = jnp.asarray(axes)
    W = W.reshape(n, n, 3, 3)
    dW = dW.reshape(n, n, 3, 3, 3)[..., ax]                            # [i,l,a,c,axis]
    ddW = ddW.reshape(n, n, 3, 3, 3, 3)[..., ax, :][..., ax]           # [i,l,a,c,ax,ax]
    cdt = dp.dtype
    W = W.astype(cdt)
    dW = dW.astype(cdt)
    ddW = ddW.astype(cdt)
    dpc = jnp.conj(dp)
    pc = jnp.conj(p)
    M = n * na
    # T1 = Σ_il a_iμ^T W(R_il) a_lν*
    X = jnp.einsum("ilac,lcn->ian", W, dpc)
    T1 = jnp.einsum("iam,ian->mn", dp, X)
    # T2_μν = Σ_i a_iμ^T ∂_b W(ρ_j' − ρ_i) p_j'*,  ν = (j', b)
    Y = jnp.einsum("ilacb,lc->ialb", dW, pc).reshape(n, 3, M)
    T2 = jnp.einsum("iam,ian->mn", dp, Y)
    # T3_μν = −Σ_l p_j^T ∂_a W(ρ_l − ρ_j) a_lν*,  μ = (j, a)
    Z = jnp.einsum("jb,jlbcx->jxlc", p, dW).reshape(M, n, 3)
    T3 = -jnp.einsum("mlc,lcn->mn", Z, dpc)
    # T4_μν = −p_j^T ∂_a∂_b W(ρ_j' − ρ_j) p_j'*
    T4 = -jnp.einsum("jb,jlbcxy,lc->jxly", p, ddW, pc).reshape(M, M)
    T = T1 + T2 + T3 + T4
    return 0.5 * (T + jnp.conj(T.T))


@jax.custom_jvp
def _real_solve(A, b):
    """x = A⁻¹ b for a real matrix, with a JVP that reuses one LU factorization.

    Why: ``jnp.linalg.solve``'s JVP (``custom_linear_solve``) under ``jacfwd`` ran ~90×
    slower than this rule on CPU (96×96, 16 tangents: 40 ms vs 0.45 ms).
    """
    return jnp.linalg.solve(A, b)


@_real_solve.defjvp
def _real_solve_jvp(primals, tangents):
    A, b = primals
    dA, db = tangents
    lu = jax.scipy.linalg.lu_factor(A)
    x = jax.scipy.linalg.lu_solve(lu, b)
    return x, jax.scipy.linalg.lu_solve(lu, db - dA @ x)


def _electric_dipoles_real(ps, beam, k) -> DipoleSolution:
    """Self-consistent electric dipoles (1 − α̃ g) p̃ = α̃ Ẽ_inc (same equations as
    :func:`jaxbind.optics.dipoles.solve_dipoles`, method "direct"), solved as the equivalent
    real system [[Re S, −Im S], [Im S, Re S]] of twice the size.

    Why: the Jacobian of the dipoles needs triangular solves per tangent, and XLA's CPU complex
    triangular solve is ~10³× slower than the real one (measured 28 ms vs 15 µs for 48×48 with
    16 right-hand sides); with the complex LU, ``jacfwd`` was slower than finite differences.
    """
    rdt = ps.positions.dtype
    rho = ps.positions * k
    ae, _ = ps.polarizabilities_scaled(k)
    E_inc, _ = jax.vmap(beam.fields_scaled)(rho)
    n3 = 3 * rho.shape[0]
    a3 = jnp.repeat(ae, 3)
    S = jnp.eye(n3, dtype=a3.dtype) - a3[:, None] * green_matrix_scaled(rho)
    b = a3 * E_inc.reshape(-1)
    Sr = jnp.block([[jnp.real(S), -jnp.imag(S)], [jnp.imag(S), jnp.real(S)]])
    xr = _real_solve(Sr, jnp.concatenate([jnp.real(b), jnp.imag(b)]))
    x = xr[:n3] + 1j * xr[n3:]
    res = jnp.linalg.norm(S @ x - b) / jnp.linalg.norm(b)
    ok = jnp.all(jnp.isfinite(x)) & (res < jnp.sqrt(jnp.finfo(rdt).eps))
    x = eqx.error_if(x, ~ok, "linearize: singular dipole system (non-finite or inaccurate solve)")
    p = x.reshape(-1, 3)
    E0 = jnp.asarray(beam.reference_amplitude).astype(rdt)
    return DipoleSolution(p, None, p, None, jnp.zeros((), jnp.int32), res, k, E0)


def _exact(arr: TweezerArray, axes, throw):
    rdt = arr.positions.dtype
    k = arr.k.astype(rdt)
    beam = arr.beam()
    base = arr.particles()
    ax = jnp.asarray(axes)
    n = arr.n
    na = len(axes)

    def f(x):
        pos = arr.positions.at[:, ax].add(x.reshape(n, na))
        ps = base.with_positions(pos)
        if ps.magnetic:
            sol = solve_dipoles(ps, beam, "direct", throw=throw)
        else:
            sol = _electric_dipoles_real(ps, beam, k)
        F = dipole_forces(ps, beam, sol)[:, ax].reshape(-1)
        Fi = isolated_forces(ps, beam)[:, ax].reshape(-1)
        return (F, Fi, sol.p), (F, sol.p, sol.E0, sol.status)

    x0 = jnp.zeros((n * na,), rdt)
    (JF, JFi, Jp), (F, p, E0, status) = jax.jacfwd(f, has_aux=True)(x0)
    # Jacobians are per metre; ∂p̃/∂ρ = (∂p̃/∂r)/k.
    dp = Jp / k
    rho = arr.positions * k
    T = _exact_diffusion_scaled(rho, p, dp, axes)
    F0 = 4.0 * jnp.pi * Cst.epsilon0 * E0**2 / k**2
    D = (0.25 * k * F0) * T
    m = jnp.repeat(arr.masses, na)
    S_iso = -jnp.diagonal(JFi)
    S_iso = eqx.error_if(S_iso, jnp.any(S_iso <= 0),
                         "linearize: a particle is not trapped (non-positive isolated stiffness)")
    omega = jnp.sqrt(S_iso / m)
    K = -jnp.diagonal(JF) - S_iso
    C = JF - jnp.diag(jnp.diagonal(JF))
    # Gouy-reduced wavenumber: phase gradient of each tweezer's field at its own focus.
    kap = 1.0 - 1.0 / (k * arr.rayleigh_ranges)
    return omega, C, K, F, D, m, jnp.repeat(kap, na) * k


def linearize(array: TweezerArray, method: str = "far_field", *, axis: str = "z",
              throw: bool = True) -> LinearizedArray:
    """Linearized optomechanics of a tweezer array around the foci (paper 001 eqs. 71–81).

    Args:
        array: the :class:`TweezerArray`.
        method: "far_field" — the closed forms of paper 001 eqs. 71, 76–79 (far-field Green
            tensor, Gouy-shifted wavenumber k − 1/z_R, first-order scattering; only
            ``axis="z"``); "exact" — Jacobians (``jax.jacfwd``) of the self-consistent dipole
            forces at the foci (near field and multiple scattering included) and the
            diffusion of the self-consistent dipoles (module docstring).
        axis: "z" (motion along the tweezer axis, the papers' model) or, with "exact",
            "x", "y" or "xyz" (all three axes, μ = 3j + a).
        throw: with "exact", raise on a failed dipole solve / untrapped particle (use
            ``throw=False`` inside sweeps; failures then show up as non-finite entries… of
            the solve status only: the model is still returned).
    Returns:
        :class:`LinearizedArray` (SI units; D divided by ħ).
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if axis not in _AXES:
        raise ValueError(f"axis must be one of {tuple(_AXES)}, got {axis!r}")
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
        F0 = 4.0 * jnp.pi * Cst.epsilon0 * E0**2 / k**2
        m = array.masses.astype(rdt)
        S = (F0 * k) * St
        S = eqx.error_if(S, jnp.any(S <= 0), "linearize: a particle is not trapped "
                         "(Re α ≤ 0 gives no gradient trap)")
        omega = jnp.sqrt(S / m)
        C = (F0 * k) * Ct
        K = jnp.sum(C, axis=1)
        F = F0 * Ft
        D = (0.25 * k * F0) * Dt
        k_eff = kap * k
    else:
        omega, C, K, F, D, m, k_eff = _exact(array, _AXES[axis], throw)
    na = len(_AXES[axis])
    return LinearizedArray(
        omega=omega, C=C, K=K, F=F, D=D, mass=m,
        gamma=jnp.repeat(array.gamma, na), temperature=array.temperature,
        wavenumber=k, k_eff=k_eff, axis=axis, method=method,
    )
