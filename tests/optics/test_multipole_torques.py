"""Multipole torques (angular-momentum flux from the expansion coefficients): the dipole
engine at l_max = 1, Mie's σ_abs I/ω for one absorbing sphere in circular light, the Maxwell
stress tensor's angular-momentum flux on a finite sphere, jit / vmap / grad / float32."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxbind as jb
from jaxbind.optics.beams import PlaneWave
from jaxbind.optics.mie import mie_efficiencies
from jaxbind.optics.multipoles import Multipole, multipole_torques, solve_multipoles
from jaxbind.optics.multipoles import forces as MF
from jaxbind.optics.multipoles import incident as MI
from jaxbind.optics.multipoles import translation as MT
from jaxbind.optics.multipoles import vswf as MV
from jaxbind.optics.particles import Particles

LAM = 1064e-9
K = 2 * math.pi / LAM
C0 = 299792458.0
S2 = 1 / math.sqrt(2)
CIRC = PlaneWave(LAM, 1e9, direction=(0.0, 0.0, 1.0), polarization=(S2, 1j * S2, 0.0))
POS3 = np.array([[0.0, 0.0, 0.0], [0.9e-6, 0.1e-6, 0.2e-6], [-0.3e-6, 0.8e-6, -0.4e-6]])


def _oblique_elliptic():
    n = np.array([0.3, -0.2, 0.9])
    n /= np.linalg.norm(n)
    e = np.cross(n, [0.0, 0.0, 1.0])
    e /= np.linalg.norm(e)
    return PlaneWave(LAM, 1e9, direction=n, polarization=e + 0.5j * np.cross(n, e), phase=0.3)


# slow: two more force engines compiled (~3 CPU-s); multipole torques stay checked by default
# against Mie's closed-form absorption, also through jb.optical_torques with a Multipole model
# (test_single_sphere_circular_light_equals_mie_absorption), and, for coupled spheres, against
# miepy (test_multipole_coreshell.py::test_coreshell_pairs_equal_miepy: forces and torques)
@pytest.mark.slow
def test_lmax1_equals_dipole_torques():
    """jb.optical_torques with Multipole(l_max=1) = the coupled-dipole engine's torques
    (electric + magnetic dipoles, radiation-reaction terms) to ≤ 1e-10, absorbing spheres,
    circular and elliptic (oblique) light; all three components are non-trivial."""
    for beam in (CIRC, _oblique_elliptic()):
        kw = dict(index=1.45 + 0.1j)
        Td = jb.optical_torques(Particles(POS3, 100e-9, **kw), beam)
        T1 = jb.optical_torques(Particles(POS3, 100e-9, model=Multipole(l_max=1), **kw), beam)
        assert np.abs(Td[:, :2]).max() > 1e-3 * np.abs(Td).max()  # coupling tilts the torque
        assert np.abs(T1 - Td).max() <= 1e-10 * np.abs(Td).max()


def test_single_sphere_circular_light_equals_mie_absorption():
    """One absorbing sphere (ka = 0.89) in circularly polarised light: T_z = σ_abs I/ω with
    σ_abs from Mie's closed-form efficiencies (converged l); T_x = T_y = 0; opposite helicity
    reverses it (through jb.optical_torques and the Multipole model); a lossless sphere feels
    none."""
    a, m = 150e-9, 1.45 + 0.1j
    ps = Particles(np.zeros((1, 3)), a, index=m)
    T = multipole_torques(ps, CIRC, 8)
    ef = mie_efficiencies(m, K * a, 20)
    Tz = CIRC.intensity * math.pi * a**2 * ef.qabs / (K * C0)
    np.testing.assert_allclose(T[0, 2], Tz, rtol=1e-9)
    assert np.abs(T[0, :2]).max() < 1e-12 * Tz
    left = PlaneWave(LAM, 1e9, direction=(0.0, 0.0, 1.0), polarization=(S2, -1j * S2, 0.0))
    # through the public entry point: jb.optical_torques hands the Multipole model over
    model = Particles(np.zeros((1, 3)), a, index=m, model=Multipole(l_max=8))
    np.testing.assert_allclose(jb.optical_torques(model, left)[0, 2], -Tz, rtol=1e-9)
    lossless = Particles(np.zeros((1, 3)), a, index=1.45 + 0j)
    assert np.abs(multipole_torques(lossless, CIRC, 8)).max() < 1e-12 * Tz


def test_single_sphere_in_water_circular_light_equals_mie_absorption():
    """In a host medium (n = 1.33) the torque on one absorbing sphere in circular light is
    still σ_abs I/ω, with σ_abs from Mie at the relative index m/n and x = n k0 a, and ω = c k0
    (the medium's force unit 4π ε0 n² E0²/k² divided by the medium's k)."""
    a, m, n = 150e-9, 1.6 + 0.1j, 1.33
    beam = PlaneWave(LAM, 1e9, direction=(0.0, 0.0, 1.0), polarization=(S2, 1j * S2, 0.0),
                     n_medium=n)
    T = multipole_torques(Particles(np.zeros((1, 3)), a, index=m), beam, 8)
    ef = mie_efficiencies(m / n, n * K * a, 20)
    Tz = beam.intensity * math.pi * a**2 * ef.qabs / (K * C0)
    np.testing.assert_allclose(T[0, 2], Tz, rtol=1e-9)


@pytest.fixture(scope="module")
def pair_l2():
    """Two absorbing spheres (a = 200 nm) at l_max = 2 in oblique elliptic light."""
    pos = np.array([[0.0, 0.0, 0.0], [0.55e-6, 0.2e-6, 0.1e-6]])
    ps = Particles(pos, 200e-9, index=1.45 + 0.05j)
    beam = _oblique_elliptic()
    return ps, beam, solve_multipoles(ps, beam, 2), multipole_torques(ps, beam, 2)


# slow: the surface integral of the Maxwell stress tensor (~11 CPU-s); multipole torques stay
# covered by default against Mie's closed-form absorption
# (test_single_sphere_circular_light_equals_mie_absorption, also in water) and against the
# coupled-dipole torques for two coupled spheres at l_max = 1 (test_lmax1_equals_dipole_torques)
@pytest.mark.slow
def test_torque_equals_maxwell_stress_angular_momentum_flux(pair_l2):
    """The coefficient formula equals ∮ r × (T·n) dS of the Maxwell stress tensor on a finite
    sphere about particle 0 (radius between the particles: near fields, no asymptotics),
    exciting field to degree 14 (incident + particle 1's translated wave), ≤ 1e-8."""
    ps, beam, sol, T = pair_l2
    L, Lh = 2, 14
    inc = MI.beam_coefficients(beam, sol.rho[:1], Lh)[0]
    e_hi = inc + MT.translation_matrix(L, Lh, sol.rho[0] - sol.rho[1]) @ sol.p[1]
    R = 0.5 * np.linalg.norm(sol.rho[1] - sol.rho[0])
    pts, wts = MI._quadrature(32, 64)

    @jax.jit
    def moment(u):
        r = R * u
        Ei, Hi = MV.expansion_fields(e_hi, r, "regular")
        Es, Hs = MV.expansion_fields(sol.p[0], r, "outgoing")
        E, H = Ei + Es, Hi + Hs
        t = 0.5 * jnp.real(E * jnp.vdot(u, E).conj() + H * jnp.vdot(u, H).conj()
                           - 0.5 * (jnp.vdot(E, E) + jnp.vdot(H, H)) * u)
        return jnp.cross(u, t)

    M = jax.vmap(moment)(jnp.asarray(pts))
    Tmst = R**3 * jnp.einsum("q,qc->c", jnp.asarray(wts), M) / (4 * math.pi)  # unit F0/k
    T0 = MF.torques_scaled(sol.p, sol.exciting, L)[0]
    assert np.abs(T0).min() > 1e-3 * np.abs(T0).max()  # all components non-trivial
    np.testing.assert_allclose(Tmst, T0, atol=1e-8 * np.abs(T0).max())
    unit = jb.constants.force_unit(K, beam.reference_amplitude) / K
    np.testing.assert_allclose(T[0], unit * T0, rtol=1e-12)


@pytest.mark.slow
def test_torque_transforms_and_float32(pair_l2):
    """jit (the entry is compiled), vmap over positions, grad w.r.t. positions equals central
    differences, float32 ≈ float64 (1e-5 of the largest component)."""
    ps, beam, _, T = pair_l2

    def tz(pos):
        return multipole_torques(ps.with_positions(pos), beam, 2)[1, 2]

    g = jax.grad(tz)(ps.positions)
    h = 1e-11
    dp = np.zeros((2, 3))
    dp[1, 0] = h
    fd = (tz(ps.positions + dp) - tz(ps.positions - dp)) / (2 * h)
    np.testing.assert_allclose(g[1, 0], fd, rtol=1e-5)
    Tv = jax.vmap(lambda s: multipole_torques(ps.with_positions(ps.positions * s), beam, 2))(
        jnp.array([1.0, 1.1]))
    np.testing.assert_allclose(Tv[0], T, rtol=1e-12, atol=1e-12 * np.abs(T).max())
    ps32 = Particles(np.asarray(ps.positions, np.float32), np.float32(200e-9),
                     index=np.complex64(1.45 + 0.05j))
    T32 = multipole_torques(ps32, beam, 2)
    assert T32.dtype == np.float32
    assert np.abs(T32 - T).max() < 1e-5 * np.abs(T).max()
