"""Core–shell (coated) spheres: Mie coefficients and T-matrices.

A sphere of outer radius b and relative index m₂ (the shell) around a concentric core of
radius a and index m₁; size parameters x₁ = k a, x₂ = k b, all indices relative to the host.
The coefficients are Aden & Kerker's (J. Appl. Phys. 22, 1242 (1951); Bohren & Huffman 1983
§8.1) in the stable recursive form of Yang (Appl. Opt. 42, 1710 (2003), eqs. 12–22 for two
layers), which never forms the exponentially large ψ_n(m₂x), χ_n(m₂x) of an absorbing shell:

* log-derivatives D1_n(z) = ψ_n'/ψ_n by the downward recurrence of
  :func:`jaxbind.optics._mie_numerics.psi_ratios` (the homogeneous sphere's), and
  D3_n(z) = ζ_n'/ζ_n (ζ_n = ξ_n = z h_n⁽¹⁾(z)) from D3_n = D1_n + i/(ψ_nζ_n) with
  ψ_nζ_n = ψ_{n−1}ζ_{n−1} (n/z − D1_{n−1})(n/z − D3_{n−1}), ψ₀ζ₀ = (1 − e^{2iz})/2
  (bounded for Im z ≥ 0; Yang eqs. 18–20; D1 started at a static order ≥ |z| + 16 for
  |z| ≤ 60);
* Q_n = [ψ_n(z₁)/ζ_n(z₁)] / [ψ_n(z₂)/ζ_n(z₂)], z₁ = m₂x₁, z₂ = m₂x₂, upward from
  Q₀ = e^{2i(z₂−z₁)} (e^{2iz₁} − 1)/(e^{2iz₂} − 1) by
  Q_n = Q_{n−1} (n/z₁ − D1_{n−1}(z₁))(n/z₂ − D3_{n−1}(z₂)) / ((n/z₁ − D3_{n−1}(z₁))
  (n/z₂ − D1_{n−1}(z₂))) (Yang eq. 22), the factors n/z − D_{n−1} = ψ_n/ψ_{n−1}, ζ_n/ζ_{n−1}
  taken from the recurrences directly (no cancellation for a vanishing core);
* the shell's effective log-derivatives (Yang eq. 12–13, with H_n⁽¹⁾ = D1_n(m₁x₁)):
  H^a = (G₂ D1_n(z₂) − Q G₁ D3_n(z₂)) / (G₂ − Q G₁), G₁ = m₂D1_n(m₁x₁) − m₁D1_n(z₁),
  G₂ = m₂D1_n(m₁x₁) − m₁D3_n(z₁); H^b the same with m₁ ↔ m₂ in the G's;
* a_n, b_n as for a homogeneous sphere with D_n(mx)/m → H^a/m₂ and m D_n(mx) → m₂H^b
  (B&H eq. 4.88), written with the ratios R_n = ψ_n(x₂)/ξ_n(x₂), ξ_{n−1}/ξ_n of
  :mod:`jaxbind.optics._mie_numerics`:
  a_n = R_n (H^a/m₂ − D_n(x₂)) / (H^a/m₂ + n/x₂ − ξ_{n−1}/ξ_n).

m₁ = m₂ or x₁ → 0 give the homogeneous sphere exactly (G₁ = 0 resp. Q_n → 0), x₁ = x₂ the
homogeneous core (tests, with miepy's direct 8 × 8 boundary-condition solve). Accuracy:
float64 ~1e-12 relative to max|a_n| for x₂ ≤ 10, |m| ≤ 7; the difference H/m − D_n(x)
loses ~x^{-2} ulps for small spheres (float32 only for x₂ ≳ 0.1).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..._types import Array, ArrayLike, Complex, Num, Real, RealDtype
from .._mie_numerics import psi_ratios
from .tmatrix import degrees
from .vswf import n_coefficients

__all__ = ["coreshell_coefficients", "coreshell_tmatrix", "CoreShell"]


def _n_start(l_max: int, w: float = 60.0) -> int:
    return int(l_max + 16 + w + 4 * w ** (1 / 3))


def _d1(z, n_max: int, n_start: int):
    """(D1_n(z) = ψ_n'/ψ_n, ρ_n = ψ_{n+1}/ψ_n) for n = 0..n_max, (n_max + 1,) complex each
    (downward recurrence); ρ_{n−1} = n/z − D1_{n−1} is used as such (no cancellation at
    small z)."""
    xr = jnp.abs(z).astype(jnp.finfo(z.dtype).dtype)  # unused real partner of psi_ratios
    (rho_low, _), (rho_top, _) = psi_ratios(z, xr, n_max, n_start)
    rho = jnp.concatenate([rho_low, rho_top[None]])  # ρ_n = ψ_{n+1}/ψ_n, n = 0..n_max
    n = jnp.arange(n_max + 1, dtype=xr.dtype)
    return (n + 1.0) / z - rho, rho


def _d3(z, d1, rho, n_max: int):
    """(D3_n(z) = ζ_n'/ζ_n, ζ_{n+1}/ζ_n) for n = 0..n_max − 1 … n_max from D1 (Yang
    eqs. 18–20): D3 (n_max + 1,), ζ ratios (n_max,) for n = 1..n_max (ζ_n/ζ_{n−1})."""
    pz0 = 0.5 * (1.0 - jnp.exp(2j * z))
    d30 = jnp.asarray(1j, z.dtype)

    def step(carry, inp):
        pz, d3_prev = carry
        rho_prev, d1_n = inp  # ψ_n/ψ_{n−1}, D1_n
        zeta_ratio = rho_prev - 1j / pz  # ζ_n/ζ_{n−1} = n/z − D3_{n−1}
        pz = pz * rho_prev * zeta_ratio
        d3 = d1_n + 1j / pz
        return (pz, d3), (d3, zeta_ratio)

    _, (rest, zr) = jax.lax.scan(step, (pz0, d30), (rho[:-1], d1[1:]))
    return jnp.concatenate([d30[None], rest]), zr


def coreshell_coefficients(m_core: Complex[ArrayLike, ""] | Real,
                           m_shell: Complex[ArrayLike, ""] | Real,
                           x_core: Real, x_shell: Real, n_max: int
                           ) -> tuple[Complex[Array, " n_max"], Complex[Array, " n_max"]]:
    """Mie coefficients a_n, b_n (n = 1..n_max) of a core–shell sphere (module docstring).

    Args:
        m_core, m_shell: complex relative refractive indices (Im ≥ 0) of core and shell.
        x_core, x_shell: size parameters k a_core ≤ k a_shell (> 0).
        n_max: static number of orders.
    Returns:
        ``(a, b)``, (n_max,) complex each, B&H's convention (as
        :func:`jaxbind.optics.mie.mie_coefficients`, which they equal for m_core = m_shell).
    """
    x1 = jnp.asarray(x_core)
    x2 = jnp.asarray(x_shell)
    rdt = jnp.result_type(x1.dtype, x2.dtype, jnp.float32)
    cdt = jnp.result_type(rdt, jnp.complex64)
    x1, x2 = x1.astype(rdt), x2.astype(rdt)
    m1 = jnp.asarray(m_core).astype(cdt)
    m2 = jnp.asarray(m_shell).astype(cdt)
    ns = _n_start(n_max)
    z0, z1, z2 = m1 * x1, m2 * x1, m2 * x2
    d1_core, _ = _d1(z0, n_max, ns)
    (d1_z1, rho_z1), (d1_z2, rho_z2) = _d1(z1, n_max, ns), _d1(z2, n_max, ns)
    (d3_z1, zr_z1), (d3_z2, zr_z2) = _d3(z1, d1_z1, rho_z1, n_max), _d3(z2, d1_z2, rho_z2, n_max)
    q0 = jnp.exp(2j * (z2 - z1)) * (jnp.exp(2j * z1) - 1.0) / (jnp.exp(2j * z2) - 1.0)
    n = jnp.arange(1, n_max + 1, dtype=rdt)
    # Q_n/Q_{n−1} = (ψ_n/ψ_{n−1})(z₁) (ζ_n/ζ_{n−1})(z₂) / ((ζ_n/ζ_{n−1})(z₁) (ψ_n/ψ_{n−1})(z₂))
    fac = (rho_z1[:-1] * zr_z2) / (zr_z1 * rho_z2[:-1])
    Q = q0 * jnp.cumprod(fac)  # Q_n, n = 1..n_max
    dc, a1, a2, b1, b2 = d1_core[1:], d1_z1[1:], d1_z2[1:], d3_z1[1:], d3_z2[1:]
    g1a, g2a = m2 * dc - m1 * a1, m2 * dc - m1 * b1
    g1b, g2b = m1 * dc - m2 * a1, m1 * dc - m2 * b1
    ha = (g2a * a2 - Q * g1a * b2) / (g2a - Q * g1a)
    hb = (g2b * a2 - Q * g1b * b2) / (g2b - Q * g1b)
    # outer boundary: ratios of ψ_n(x₂), ξ_n(x₂) (x₂ real)
    d1_x, rho_x = _d1(x2.astype(cdt), n_max, ns)
    inv_x = 1.0 / x2
    q = [1.0 / x2 - 1j]  # ξ_1/ξ_0
    for k in range(1, n_max):
        q.append((2.0 * k + 1.0) * inv_x - 1.0 / q[-1])
    q = jnp.stack(q).astype(cdt)  # ξ_n/ξ_{n−1}, n = 1..n_max
    psi_ratio = rho_x[:-1]  # ψ_n/ψ_{n−1}
    r0 = 1j * jnp.sin(x2) * jnp.exp(-1j * x2)  # ψ_0/ξ_0
    R = r0 * jnp.cumprod(psi_ratio / q)  # ψ_n/ξ_n
    tail = n * inv_x - 1.0 / q
    dx = d1_x[1:]
    a = R * (ha / m2 - dx) / (ha / m2 + tail)
    b = R * (m2 * hb - dx) / (m2 * hb + tail)
    return a, b


def coreshell_tmatrix(m_core: Complex[ArrayLike, ""] | Real, m_shell: Complex[ArrayLike, ""] | Real,
                      x_core: Real, x_shell: Real, l_max: int) -> Complex[Array, " nc"]:
    """Diagonal (n_coefficients(l_max),) of the T-matrix of a core–shell sphere: −a_l on the
    electric half, −b_l on the magnetic half (as :func:`.tmatrix.mie_tmatrix`)."""
    a, b = coreshell_coefficients(m_core, m_shell, x_core, x_shell, l_max)
    l = degrees(l_max)
    nv = n_coefficients(l_max) // 2
    return jnp.concatenate([-a[l[:nv] - 1], -b[l[:nv] - 1]])


class CoreShell(eqx.Module):
    """T-matrix provider: every particle is a core–shell sphere whose *outer* radius and
    *shell* index are the particles' ``radii`` and ``index``; the core (the same for every
    particle) is given here.

    Use: ``Particles(positions, radii, index=n_shell, model=Multipole(l_max,
    tmatrix=CoreShell(core_index=3.6, core_radius=80e-9)))``, or
    ``multipole_forces(particles, beam, l_max, tmatrix=CoreShell(...))``. Particles with
    different cores: pass their T-matrices (:func:`coreshell_tmatrix`) as ``tmatrix`` arrays.

    Args:
        core_index: complex refractive index of the core (scalar; absolute, like the
            particles' ``index``: in a host medium both are divided by its index).
        core_radius: core radius in metres (scalar), 0 < core_radius ≤ every particle radius.
    """

    core_index: Complex[Array, ""]
    core_radius: RealDtype[Array, ""]

    def __init__(self, core_index: Num[ArrayLike, ""] | complex | float,
                 core_radius: RealDtype[ArrayLike, ""] | float) -> None:
        if jnp.ndim(core_index) or jnp.ndim(core_radius):
            raise ValueError("CoreShell: core_index and core_radius must be scalars (one core "
                             "for every particle; pass per-particle T-matrices otherwise), got "
                             f"shapes {jnp.shape(core_index)} and {jnp.shape(core_radius)}")
        ci = jnp.asarray(core_index)
        self.core_index = ci.astype(jnp.result_type(ci.dtype, jnp.complex64))
        cr = jnp.asarray(core_radius)
        self.core_radius = cr.astype(jnp.result_type(cr.dtype, jnp.float32))

    def diagonals(self, index, radii, k, l_max: int, n_medium=1.0):
        """(N, n_c) T-matrix diagonals for shell ``index`` (N,, relative to the host medium),
        outer ``radii`` (N,), k (the wavenumber in the medium); the core index (absolute) is
        divided by the medium's ``n_medium`` here."""
        n = radii.shape[0]
        rdt = radii.dtype
        mc = jnp.broadcast_to(self.core_index.astype(index.dtype) / n_medium, (n,))
        xc = jnp.broadcast_to(self.core_radius.astype(rdt) * k, (n,))
        xs = radii * k
        xc = eqx.error_if(xc, jnp.any((xc <= 0) | (xc > xs * (1 + 1e-12))),
                          "CoreShell: core_radius must be > 0 and ≤ the particle radius")
        return jax.vmap(lambda a, b, c, d: coreshell_tmatrix(a, b, c, d, l_max))(
            mc, index, xc, xs)

