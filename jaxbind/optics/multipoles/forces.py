"""Time-averaged optical forces and cross-sections from the expansion coefficients.

Force on particle i (Barton, Alexander & Schaub, J. Appl. Phys. 66, 4594 (1989); in VSWF
coefficients: Crichton & Marston, Electron. J. Differ. Equ. Conf. 04, 37 (2000); Nieminen,
Rubinsztein-Dunlop & Heckenberg, JQSRT 79–80, 1005 (2003)): the Maxwell stress tensor
integrated over any sphere enclosing particle i alone is independent of its radius, so it is
evaluated at infinity. There the exciting field (regular coefficients e, degree ≤ l_max + 1)
plus the scattered field (outgoing p, degree ≤ l_max) is an incoming and an outgoing
spherical wave, Ẽ ≈ F_in(r̂) e^{−iρ}/ρ + F_out(r̂) e^{iρ}/ρ with (j_l = (h_l⁽¹⁾ + h_l⁽²⁾)/2)

    F_out = Σ (p + e/2)_N (−i)^l r̂ × X_lm + (p + e/2)_M (−i)^{l+1} X_lm,
    F_in  = Σ (e/2)_N i^l r̂ × X_lm + (e/2)_M i^{l+1} X_lm,

and each carries the momentum flux −(ε0/2)|E|² r̂, so (force unit F0 = 4πε0E0²/k²)

    F̃_i = −(1/8π) ∮ r̂ (|F_out|² + |F_in|²) dΩ = −(1/8π) ∮ r̂ (|P|² + Re(P*·E)) dΩ,

P, E the outgoing amplitudes of p and e alone (the flux of the regular field alone vanishes).

The integrand is a polynomial of degree ≤ 2 l_max + 3 in r̂, integrated *exactly* by a
Gauss–Legendre × trapezoidal product rule: this is the closed-form double sum of the cited
papers (coupling degree l to l ± 1), written as an exact quadrature. The tests cross-check it
against the Maxwell stress tensor integrated numerically on a finite sphere around the
particle (near fields, no asymptotics) and against Mie theory and the dipole engine.

Torque on particle i about its centre (the angular-momentum flux through a sphere enclosing
particle i alone, evaluated at infinity like the force: Crichton & Marston 2000 eqs. 4.8–4.10;
Farsund & Felderhof, Physica A 227, 213 (1996); in the VSWF coefficients of the optical-tweezers
toolboxes: Nieminen, Rubinsztein-Dunlop & Heckenberg, JQSRT 79–80, 1005 (2003) eq. 18 for
the axial part). The total angular momentum J = L + S acts on X_lm and r̂ × X_lm as on |l m⟩
(J_z → m, J_± → √((l ∓ m)(l ± m + 1)) |l, m ± 1⟩, Condon–Shortley phases), does not mix l
or the electric / magnetic halves, and an outgoing (incoming) wave of amplitude F carries the
angular-momentum flux ⟨F|J|F⟩/ω out (in) per unit energy flux. With F_out, F_in as above
(torque unit F0/k = 4πε0E0²/k³)

    T̃_i = (1/8π) [⟨e/2|J|e/2⟩ − ⟨p + e/2|J|p + e/2⟩] = −(1/8π) Re⟨p|J|p + e⟩,

summed over both halves and l ≤ l_max (J conserves l, so the exciting coefficients are
needed only to l_max). For a single sphere in circularly polarised light this is σ_abs I/ω
(tests, with the Maxwell-stress angular-momentum flux integrated on a finite sphere and the
dipole engine's torque at l_max = 1).

Cross-sections of the cluster (scaled σ̃ = k²σ, relative to the beam's reference intensity
I0 = E0²/(2Z0)): extinction by the optical theorem, σ̃_ext = −Σ_i Re(a_i*·p_i) (a_i the
incident coefficients about particle i), absorption σ̃_abs = −Σ_i [Re(e_i*·p_i) + |p_i|²]
(e_i the exciting ones), scattering σ̃_sca = σ̃_ext − σ̃_abs; for one sphere these are Mie's
(2π/k²)Σ(2l+1)(…) sums (Mishchenko et al. 2002 eqs. 5.102–5.104 in this normalisation).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .incident import _quadrature
from .solve import truncate
from .vswf import _ladder, n_coefficients, spherical_harmonics, vswf_index

__all__ = ["far_field_amplitudes", "forces_scaled", "torques_scaled", "cross_sections_scaled", "far_field"]


def _angular(l_max: int, u):
    """(r̂ × X_lm, X_lm) at the unit vector u: (nv, 3) each."""
    X = _ladder(l_max, spherical_harmonics(l_max, u))
    uc = u.astype(X.dtype)
    return jnp.cross(jnp.broadcast_to(uc, X.shape), X), X


def far_field_amplitudes(coeffs, u, l_max: int, kind: str):
    """F(r̂) of outgoing ("out": Σ c (−i)^l …) or incoming ("in": Σ c i^l …) waves, (3,)."""
    ZX, X = _angular(l_max, u)
    nv = n_coefficients(l_max) // 2
    ls = np.concatenate([[l] * (2 * l + 1) for l in range(1, l_max + 1)])
    ph = (-1j) ** ls if kind == "out" else (1j) ** ls
    fN = jnp.asarray(ph, ZX.dtype)
    fM = jnp.asarray(ph * (-1j if kind == "out" else 1j), ZX.dtype)
    return (coeffs[:nv] * fN) @ ZX + (coeffs[nv:] * fM) @ X


def forces_scaled(p, exciting, l_max: int):
    """F̃ (N, 3) real from scattered p (N, n(l_max)) and exciting (N, n(l_max + 1))."""
    L1 = l_max + 1
    pts, wts = _quadrature(L1 + 2, 2 * L1 + 4)
    rdt = jnp.finfo(p.dtype).dtype
    pts = jnp.asarray(pts, rdt)
    wts = jnp.asarray(wts, rdt)
    ZX, X = jax.vmap(lambda u: _angular(L1, u))(pts)  # (Q, nv, 3)
    nv = n_coefficients(L1) // 2
    ls = np.concatenate([[l] * (2 * l + 1) for l in range(1, L1 + 1)])
    out_ph = jnp.asarray(np.concatenate([(-1j) ** ls, (-1j) ** (ls + 1)]), p.dtype)
    basis = jnp.concatenate([ZX, X], axis=1)  # (Q, 2nv, 3)
    pp = truncate(p, l_max, L1)
    # |F_out|² + |F_in|² = |P|² + Re(P*·E_out) + (|E_out|² + |E_in|²)/4 with P, E_out the
    # outgoing amplitudes of p and e; the last term is the momentum flux of the regular field
    # alone, which integrates to exactly 0 (a source-free field): it is dropped, so the force
    # is not a small difference of large fluxes (float32 for small particles, |T| ≪ 1).
    Fp = jnp.einsum("in,qnc->iqc", pp * out_ph, basis)
    Fe = jnp.einsum("in,qnc->iqc", exciting * out_ph, basis)
    dens = jnp.sum(jnp.abs(Fp) ** 2 + jnp.real(jnp.conj(Fp) * Fe), axis=-1)  # (N, Q)
    return -(1.0 / (8.0 * math.pi)) * jnp.einsum("iq,q,qc->ic", dens, wts, pts)


@functools.lru_cache(maxsize=None)
def _raising_tables(l_max: int):
    """Static gather and weights of (J₊c)_lm = √((l − m + 1)(l + m)) c_{l,m−1} on one half."""
    nv = n_coefficients(l_max) // 2
    src, w = np.zeros(nv, int), np.zeros(nv)
    mz = np.zeros(nv)
    for l in range(1, l_max + 1):
        for m in range(-l, l + 1):
            v = vswf_index(l, m)
            mz[v] = m
            if m > -l:
                src[v], w[v] = vswf_index(l, m - 1), math.sqrt((l - m + 1.0) * (l + m))
    return np.concatenate([src, nv + src]), np.concatenate([w, w]), np.concatenate([mz, mz])


def angular_momentum(c, d, l_max: int):
    """⟨c|J|d⟩ = Σ c* (J d) over both halves, (…, 3) complex, for coefficient vectors of
    degree ≤ l_max (module docstring)."""
    src, w, mz = _raising_tables(l_max)
    rdt = jnp.finfo(c.dtype).dtype
    jp = jnp.sum(jnp.conj(c) * (jnp.asarray(w, rdt) * d[..., src]), axis=-1)  # ⟨c|J₊|d⟩
    jm = jnp.sum(jnp.conj(d) * (jnp.asarray(w, rdt) * c[..., src]), axis=-1).conj()  # ⟨c|J₋|d⟩
    jz = jnp.sum(jnp.conj(c) * jnp.asarray(mz, rdt) * d, axis=-1)
    return jnp.stack([0.5 * (jp + jm), -0.5j * (jp - jm), jz], axis=-1)


def torques_scaled(p, exciting, l_max: int):
    """T̃ (N, 3) real about each particle's centre (module docstring), from scattered p
    (N, n(l_max)) and exciting (N, n(l ≥ l_max)) coefficients."""
    L_e = int(round(math.sqrt(exciting.shape[-1] // 2 + 1))) - 1
    e = truncate(exciting, L_e, l_max)
    return -(1.0 / (8.0 * math.pi)) * jnp.real(angular_momentum(p, p + e, l_max))


def cross_sections_scaled(p, exciting, incident, l_max: int):
    """(σ̃_ext, σ̃_sca, σ̃_abs) of the cluster (module docstring), k²σ."""
    e = truncate(exciting, l_max + 1, l_max)
    a = truncate(incident, l_max + 1, l_max)
    ext = -jnp.sum(jnp.real(jnp.conj(a) * p))
    ab = -jnp.sum(jnp.real(jnp.conj(e) * p) + jnp.abs(p) ** 2)
    return ext, ext - ab, ab


def far_field(p, rho, u, l_max: int):
    """Scattered far-field amplitude of the cluster in direction u (3,): Ẽ_sca ≈ F e^{iρ}/ρ
    with ρ measured from the origin, F = Σ_i e^{−i u·ρ_i} F_out,i(u), (3,) complex."""
    u = jnp.asarray(u)
    amps = jax.vmap(lambda c: far_field_amplitudes(c, u, l_max, "out"))(p)
    ph = jnp.exp(-1j * (rho @ u.astype(rho.dtype)))
    return jnp.sum(ph[:, None] * amps, axis=0)
