"""Two-particle optical-binding constants in closed form (paper 000 eqs. 6–9, A7; paper 001
eqs. 82–87).

Two tweezers at distance d with phases φ_1, φ_2 (φ = φ_1 − φ_2), polarization angles ψ_j
from e_x and connecting unit vector n = (cos β, sin β, 0):

    C    = α_1 α_2 k² k'_1 k'_2 E_1 E_2 sin(ψ_1 − β) sin(ψ_2 − β) / (8π ε0 d)     (001 eq. 84)
    C12  = C cos(kd − φ),   C21 = C cos(kd + φ)                                 (001 eq. 83)
    D12  = ħ C sin(kd) e^{iφ}/2 = D21*                                          (001 after 84)
    g    = C/(2 m ω_m),  g_r = g cos(kd) cos φ,  g_a = g sin(kd) sin φ          (001 eq. 87)
    G    = g·kd  (paper 000 eq. A7 with k² → k'_1 k'_2, i.e. the 1/z_R kept)       (000 eq. A7)
    δH0/ħ = (g_r + g_a) z_1² + (g_r − g_a) z_2²                                 (000 eq. 9)
    γ_rec = D_jj/(ħ m ω_m)                                                      (001 before 89)

Paper 001 places the second tweezer at d e_y and measures Θ_j from e_x, so its
cos Θ_1 cos Θ_2 is our sin(ψ_1 − β) sin(ψ_2 − β) at β = π/2; paper 000 separates along e_x
with polarization at π/2 − θ from e_x, giving cos²θ. In both, (1 − n⊗n) projects out the
polarization component along the connecting axis (far-field dipole radiation is transverse).

Consistency of the papers (checked in the tests): with these definitions C12 = 2mω(g_r + g_a),
C21 = 2mω(g_r − g_a), D12/(ħmω) = (G/kd) sin(kd) cos φ + i g_a (000 eq. 8) and
C12 − C21 = 4 Im D12/ħ. Paper 000 prints eq. 6b as "y_a" (extraction) and A7 drops 1/z_R.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .. import constants as Cst
from .._checks import as_float_array, check_finite, is_concrete
from .._entry import compiled_entry
from .._types import Array, ArrayLike, Complex, Float
from .array import TweezerArray

__all__ = ["TwoParticleRates", "two_particle_rates", "coupling_rates"]


def coupling_rates(phase: Float[ArrayLike, "*#b"], kd: Float[ArrayLike, "*#b"],
                   G: Float[ArrayLike, "*#b"] = 1.0
                   ) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"], Complex[Array, "*batch"]]:
    """Dimensionless two-particle rates (paper 000 eqs. 6, 8) for regime maps.

    Args:
        phase: relative tweezer phase φ = φ_1 − φ_2 (rad), finite.
        kd: k × tweezer distance (dimensionless, finite and > 0: the rates scale as 1/kd).
        G: coupling constant G of paper 000 eq. A7 (any rate unit; default 1).
    Returns:
        (g_r, g_a, D12) in the unit of G; D12 = (G/kd) sin(kd) cos φ + i g_a is paper 000's
        off-diagonal diffusion (eq. 8, complex).
    Errors:
        concrete kd ≤ 0 or non-finite, or non-finite phase: ``ValueError`` naming the
        argument; under jit/vmap such points give NaN rates (never inf).
    """
    phase = as_float_array(phase, "phase")
    kd = as_float_array(kd, "kd")
    if is_concrete(kd):
        k = np.asarray(kd)
        if not np.all(np.isfinite(k) & (k > 0)):
            raise ValueError(f"kd must be finite and > 0 (k × tweezer distance), got {k}")
    check_finite("phase", phase)
    bad = ~(jnp.isfinite(kd) & (kd > 0))
    g = jnp.where(bad, jnp.nan, G / jnp.where(bad, 1.0, kd))
    sk, ck = jnp.sin(kd), jnp.cos(kd)
    sp, cp = jnp.sin(phase), jnp.cos(phase)
    g_r = g * ck * cp
    g_a = g * sk * sp
    return g_r, g_a, jnp.asarray(g * sk * cp) + 1j * g_a


class TwoParticleRates(eqx.Module):
    """Closed-form constants of two tweezer-trapped particles (module docstring), SI units.

    Attributes:
        kd: () k d; phase: () φ = φ_1 − φ_2 (rad).
        omega: (2,) trap frequencies ω_j (rad/s, paper 001 eq. 71); omega_m: () their mean;
            delta_omega: () ω_2 − ω_1 (rad/s).
        C: () coupling constant (N/m, eq. 84); C12, C21: () (N/m, eq. 83).
        D12: () complex off-diagonal diffusion / ħ (N/m): paper 001's D12 is ħ·D12.
        D11, D22: () recoil diffusion / ħ (N/m, eq. 79a).
        g: () C/(2 m ω_m) (rad/s); g_r, g_a: () reciprocal / antireciprocal rates (rad/s,
            eq. 87 = paper 000 eq. 6); G: () g·kd (rad/s, paper 000 eq. A7).
        delta_H0: (2,) (g_r + g_a, g_r − g_a) (rad/s): coefficients of z_1², z_2² (000 eq. 9).
        F: (2,) constant forces (N, eq. 85).
        gamma_rec: (2,) recoil rates D_jj/(m ω_m) (1/s).
        mass: () √(m_1 m_2) (kg), the m of g = C/(2mω_m).
    """

    kd: Float[Array, ""]
    phase: Float[Array, ""]
    omega: Float[Array, "2"]
    omega_m: Float[Array, ""]
    delta_omega: Float[Array, ""]
    C: Float[Array, ""]
    C12: Float[Array, ""]
    C21: Float[Array, ""]
    D12: Complex[Array, ""]
    D11: Float[Array, ""]
    D22: Float[Array, ""]
    g: Float[Array, ""]
    g_r: Float[Array, ""]
    g_a: Float[Array, ""]
    G: Float[Array, ""]
    delta_H0: Float[Array, "2"]
    F: Float[Array, "2"]
    gamma_rec: Float[Array, "2"]
    mass: Float[Array, ""]


@compiled_entry  # one program per eager call (issue 15 §10)
def two_particle_rates(array: TweezerArray) -> TwoParticleRates:
    """Closed-form optical-binding constants of a two-tweezer array (paper 001 eqs. 82–87,
    paper 000 eqs. 6–9 and A7); see the module docstring for the formulas.

    Uses Re α of each particle (the papers' real χ) and the Gouy-reduced k'_j = k − 1/z_R,j.

    Args:
        array: a :class:`~jaxbind.mechanics.array.TweezerArray` with N = 2.
    Returns:
        :class:`TwoParticleRates` (SI units, D divided by ħ).
    """
    if not isinstance(array, TweezerArray):
        raise TypeError(f"array must be a TweezerArray, got {type(array).__name__}")
    if array.n != 2:
        raise ValueError(f"array must hold exactly 2 tweezers, got {array.n}")
    rdt = array.positions.dtype
    k = array.k.astype(rdt)
    dvec = array.positions[1] - array.positions[0]
    kd = k * jnp.sqrt(jnp.sum(dvec**2))
    beta = jnp.arctan2(dvec[1], dvec[0])
    psi = array.polarization_angles
    geo = jnp.sin(psi[0] - beta) * jnp.sin(psi[1] - beta)
    phi = array.phases[0] - array.phases[1]
    a = jnp.real(array.polarizabilities_scaled()).astype(rdt)
    amp = array.focal_amplitudes
    E0 = jnp.max(amp)
    e = (amp / E0).astype(rdt)
    kzr = k * array.rayleigh_ranges
    kap = 1.0 - 1.0 / kzr
    F0 = 4.0 * jnp.pi * Cst.epsilon0 * E0**2 / k**2
    # scaled C̃ = α̃1 α̃2 κ1 κ2 e1 e2 geo / (2 kd); C = F0 k C̃
    Ct = a[0] * a[1] * kap[0] * kap[1] * e[0] * e[1] * geo / (2.0 * kd)
    C = F0 * k * Ct
    C12 = C * jnp.cos(kd - phi)
    C21 = C * jnp.cos(kd + phi)
    D12 = 0.5 * C * jnp.sin(kd) * jnp.exp(1j * phi)
    Djj = (0.25 * k * F0) * (2.0 / 15.0) * a**2 * e**2 * (5.0 * kap**2 + 2.0)
    m = array.masses
    omega = jnp.sqrt(F0 * k * a * e**2 / (2.0 * kzr**2) / m)
    om = 0.5 * (omega[0] + omega[1])
    mm = jnp.sqrt(m[0] * m[1])
    g = C / (2.0 * mm * om)
    g_r = g * jnp.cos(kd) * jnp.cos(phi)
    g_a = g * jnp.sin(kd) * jnp.sin(phi)
    rad = F0 * a**2 * kap * e**2 / 3.0
    sgn = jnp.array([1.0, -1.0], rdt)
    F = rad + F0 * a[0] * a[1] * kap * e[0] * e[1] * geo * jnp.sin(kd - sgn * phi) / (2.0 * kd)
    return TwoParticleRates(
        kd=kd, phase=phi, omega=omega, omega_m=om, delta_omega=omega[1] - omega[0],
        C=C, C12=C12, C21=C21, D12=D12, D11=Djj[0], D22=Djj[1], g=g, g_r=g_r, g_a=g_a,
        G=g * kd, delta_H0=jnp.stack([g_r + g_a, g_r - g_a]), F=F,
        gamma_rec=Djj / (m * om), mass=mm,
    )
