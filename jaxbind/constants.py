"""SI constants (CODATA 2018, exact where SI defines them) and the internal scaling.

Every kernel in jaxbind computes in dimensionless variables and converts back at the API
boundary (docs/conventions.md, "Units"). Raw SI products underflow or overflow in float32 (a silica
nanosphere has α ≈ 1e-32 C·m²/V, so α² ≈ 1e-64), while the scaled variables below are all of
order one for the physics jaxbind targets, so float32 agrees with float64 to ~1e-5 relative.

The scaling, for a reference wavenumber k (rad/m) and reference field amplitude E0 (V/m):

=====================  =====================================  ==========================
quantity               scaled (dimensionless)                 back to SI
=====================  =====================================  ==========================
length r               ρ = k r                                r = ρ / k
electric polarizab. α  α̃ = k³ α / (4π ε0)                     α = 4π ε0 α̃ / k³
magnetic polarizab. αm α̃m = k³ αm / (4π)                      αm = 4π α̃m / k³
electric field E       Ẽ = E / E0                             E = E0 Ẽ
magnetic field H       H̃ = Z0 H / E0                          H = E0 H̃ / Z0
dipole moment p        p̃ = k³ p / (4π ε0 E0) = α̃ Ẽ            p = 4π ε0 E0 p̃ / k³
magnetic moment m      m̃ = k³ Z0 m / (4π E0) = α̃m H̃           m = 4π E0 m̃ / (k³ Z0)
Green tensor Ḡ         g = 4π Ḡ / k³                          Ḡ = k³ g / (4π)
force F                F̃ = F / (4π ε0 E0² / k²)              F = 4π ε0 E0² F̃ / k²
=====================  =====================================  ==========================

With these, the field of a dipole is Ẽ = g(ρ) p̃ (from E = Ḡ p / ε0), and the same
relation holds for the magnetic field of a magnetic dipole, H̃ = g(ρ) m̃.

Host medium of real index n (docs/conventions.md, "Host medium"): the table holds with
ε0 → ε = ε0 n², Z0 → Z = Z0/n and k = 2π n/λ0 the wavenumber in the medium (μ = μ0), i.e.
the scaled kernels are unchanged and only these conversions carry n.
"""

from __future__ import annotations

import math

from ._types import NumLike, RealLike

# Exact SI defining constants
c = 299_792_458.0  # speed of light in vacuum, m/s
h = 6.626_070_15e-34  # Planck constant, J s
hbar = h / (2.0 * math.pi)  # reduced Planck constant, J s
k_B = 1.380_649e-23  # Boltzmann constant, J/K
e = 1.602_176_634e-19  # elementary charge, C

# CODATA 2018 measured values
mu0 = 1.256_637_062_12e-6  # vacuum permeability, N/A²
epsilon0 = 1.0 / (mu0 * c**2)  # vacuum permittivity, F/m (8.8541878128e-12)
Z0 = mu0 * c  # impedance of free space, Ω (376.730313668)
amu = 1.660_539_066_60e-27  # atomic mass unit, kg

# Convenient aliases used in docstrings
eps0 = epsilon0


def wavenumber(wavelength: RealLike, medium_index: RealLike = 1.0) -> RealLike:
    """Wavenumber k = 2π n / λ (rad/m) for vacuum wavelength λ (m) in a medium of index n."""
    return 2.0 * math.pi * medium_index / wavelength


# --- scaling to/from internal dimensionless units -------------------------------------


def scale_length(r: RealLike, k: RealLike) -> RealLike:
    """ρ = k r (dimensionless) from a length r (m) and wavenumber k (rad/m)."""
    return r * k


def unscale_length(rho: RealLike, k: RealLike) -> RealLike:
    """r = ρ / k (m)."""
    return rho / k


def scale_polarizability(alpha: NumLike, k: RealLike) -> NumLike:
    """α̃ = k³ α / (4π ε0) from an electric polarizability α (C·m²/V = F·m²)."""
    return alpha * (k**3 / (4.0 * math.pi * epsilon0))


def unscale_polarizability(alpha_t: NumLike, k: RealLike) -> NumLike:
    """α = 4π ε0 α̃ / k³ (C·m²/V)."""
    return alpha_t * (4.0 * math.pi * epsilon0 / k**3)


def scale_magnetic_polarizability(alpha_m: NumLike, k: RealLike) -> NumLike:
    """α̃m = k³ αm / (4π) from a magnetic polarizability αm (m³, m = αm H)."""
    return alpha_m * (k**3 / (4.0 * math.pi))


def unscale_magnetic_polarizability(alpha_mt: NumLike, k: RealLike) -> NumLike:
    """αm = 4π α̃m / k³ (m³)."""
    return alpha_mt * (4.0 * math.pi / k**3)


def force_unit(k: RealLike, E0: RealLike, n_medium: RealLike = 1.0) -> RealLike:
    """The SI value (N) of one unit of scaled force: 4π ε E0² / k², ε = ε0 n_medium² the
    permittivity of the host medium and k = 2π n_medium/λ0 its wavenumber."""
    return 4.0 * math.pi * epsilon0 * n_medium**2 * E0**2 / k**2


def field_amplitude_from_intensity(intensity: RealLike, n_medium: RealLike = 1.0) -> RealLike:
    """Plane-wave amplitude E0 (V/m) from intensity I (W/m²) in a medium of index n:
    I = n c ε0 E0² / 2."""
    return (2.0 * intensity / (n_medium * c * epsilon0)) ** 0.5
