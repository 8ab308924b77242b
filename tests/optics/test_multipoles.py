"""Multipole (T-matrix) engine: VSWFs, addition theorem, beams, l_max = 1 = coupled dipoles,
Mie limit, Maxwell stress tensor, Newton's third law, transforms, float32, bad input."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp

from jaxbind.optics.beams import CoherentBeams, PlaneWave
from jaxbind.optics.forces import optical_forces
from jaxbind.optics.mie import mie_efficiencies
from jaxbind.optics.multipoles import (Multipole, as_tmatrices, cross_sections,
                                       multipole_forces, solve_multipoles)
from jaxbind.optics.multipoles import forces as MF
from jaxbind.optics.multipoles import incident as MI
from jaxbind.optics.multipoles import translation as MT
from jaxbind.optics.multipoles import vswf as MV
from jaxbind.optics.multipoles.solve import truncate
from jaxbind.optics.particles import Particles
from jaxbind.results import RESULTS

LAM = 1064e-9
K = 2 * math.pi / LAM
PW = PlaneWave(LAM, 1e9, direction=(0.0, 0.0, 1.0), polarization=(1.0, 0.0, 0.0))


def _oblique_plane_wave(phase=0.3):
    n = np.array([0.3, -0.2, 0.9])
    n /= np.linalg.norm(n)
    e = np.cross(n, [0.0, 0.0, 1.0])
    e /= np.linalg.norm(e)
    return PlaneWave(LAM, 1e9, direction=n, polarization=e + 0.5j * np.cross(n, e), phase=phase)


_fields = jax.jit(MV.expansion_fields, static_argnums=2)

# ---------------------------------------------------------------------------------------
# special functions and VSWFs
# ---------------------------------------------------------------------------------------


def test_special_functions_match_scipy():
    L = 8
    jn = jax.jit(lambda x: MV.spherical_jn(L, x))
    hn = jax.jit(lambda x: MV.spherical_hn(L, x))
    ls = np.arange(L + 1)
    for x in (1e-3, 0.3, 1.0, math.pi, 5.5, 12.0):
        ref_j = sp.spherical_jn(ls, x)
        ref_h = ref_j + 1j * sp.spherical_yn(ls, x)
        np.testing.assert_allclose(jn(x), ref_j, rtol=1e-12, atol=1e-15 * np.abs(ref_j).max())
        np.testing.assert_allclose(hn(x), ref_h, rtol=1e-12)
    th, ph = 0.7, 1.3
    u = np.array([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])
    Y = np.asarray(jax.jit(lambda u: MV.spherical_harmonics(L, u))(u))
    for l in range(L + 1):
        for m in range(-l, l + 1):
            ref = sp.sph_harm_y(l, m, th, ph) if hasattr(sp, "sph_harm_y") else sp.sph_harm(m, l, ph, th)
            assert abs(Y[MV.scalar_index(l, m)] - ref) < 1e-14


@pytest.mark.parametrize("kind", ["regular", "outgoing"])
def test_vswf_curl_identities(kind):
    """∇̃ × M = N and ∇̃ × N = M (the definition of the basis), by autodiff."""
    L = 3
    rho = np.array([0.3, -0.7, 1.1])

    def curl(which, r):
        J = jax.jacfwd(lambda r: MV.vswf(L, r, kind)[which])(r)
        return jnp.stack([J[:, 2, 1] - J[:, 1, 2], J[:, 0, 2] - J[:, 2, 0], J[:, 1, 0] - J[:, 0, 1]], -1)

    # one compiled program (an eager jacfwd dispatches op by op: ~200 tiny compilations)
    curl_M, curl_N, (N, M) = jax.jit(lambda r: (curl(1, r), curl(0, r), MV.vswf(L, r, kind)))(rho)
    np.testing.assert_allclose(curl_M, N, atol=1e-13)
    np.testing.assert_allclose(curl_N, M, atol=1e-13)


def test_vswf_gradients_finite_on_axis():
    """No NaN gradients at θ = 0, π (the angles are never formed)."""
    # jitted: one program each (eager autodiff dispatches op by op)
    grad_vswf = jax.jit(jax.jacfwd(lambda r: jnp.abs(MV.vswf(3, r)[0]).sum()))
    for z in (1.2, -0.8):
        g = grad_vswf(np.array([0.0, 0.0, z]))
        assert np.all(np.isfinite(g))
    g = jax.jit(jax.grad(lambda d: jnp.abs(MT.translation_matrix(2, 2, d)).sum()))(
        np.array([0.0, 0.0, 3.0]))
    assert np.all(np.isfinite(g))


# ---------------------------------------------------------------------------------------
# addition theorem
# ---------------------------------------------------------------------------------------


def test_gaunt_quadrature_matches_exact_3j():
    """The translation weights' Gaunt coefficients (quadrature) = Racah's exact 3j formula."""
    W = MT._scalar_translation(3, 3)  # 4π i^{l'+p−l} G[s', s, P]
    for (l, m, lp, mp, p) in ((1, 0, 1, 0, 2), (2, 1, 1, -1, 3), (3, -2, 2, -1, 3), (3, 3, 3, -3, 6)):
        q = m - mp
        g = (-1) ** ((mp + q) % 2) * MT.gaunt(l, m, lp, -mp, p, -q)
        w = W[MV.scalar_index(lp, mp), MV.scalar_index(l, m), MV.scalar_index(p, q)]
        assert abs(w - 4 * math.pi * 1j ** ((lp + p - l) % 4) * g) < 1e-14 * max(1.0, abs(w))
        assert g != 0.0


def test_wigner3j_exact_values():
    # (1 1 0; 0 0 0) = −1/√3, (2 1 1; 0 0 0) = √(2/15); Σ_{m1 m2 m3} (j1 j2 j3; m1 m2 m3)² = 1
    assert MT.wigner3j(1, 1, 0, 0, 0, 0) == pytest.approx(-1 / math.sqrt(3), rel=1e-15)
    assert MT.wigner3j(2, 1, 1, 0, 0, 0) == pytest.approx(math.sqrt(2 / 15), rel=1e-15)
    tot = sum(MT.wigner3j(2, 3, 4, m1, m2, -m1 - m2) ** 2 for m1 in range(-2, 3)
              for m2 in range(-3, 4) if abs(m1 + m2) <= 4)
    assert tot == pytest.approx(1.0, rel=1e-14)


def test_translation_reproduces_the_addition_theorem():
    """Outgoing field of random coefficients about x_j, evaluated pointwise near x_i, equals
    the regular expansion A(x_i − x_j) c about x_i (the addition theorem itself)."""
    rng = np.random.default_rng(0)
    ls, ld = 3, 12
    c = rng.normal(size=MV.n_coefficients(ls)) + 1j * rng.normal(size=MV.n_coefficients(ls))
    xi, xj = np.array([1.0, 2.0, -2.5]), np.array([-0.5, 0.3, 0.2])
    cr = jax.jit(lambda d: MT.translation_matrix(ls, ld, d))(xi - xj) @ c
    # |r − x_i| ≤ 0.2 ≪ k|d| = 3.5: the truncated series (degree 12) converges to round-off
    for dr in ([0.1, 0.1, -0.1], [0.0, 0.0, 0.2], [-0.1, 0.15, 0.05], [0.0, 0.0, -0.2]):
        pt = xi + np.array(dr)
        E1, H1 = _fields(c, pt - xj, "outgoing")
        E2, H2 = _fields(cr, pt - xi, "regular")
        assert np.abs(E1 - E2).max() < 1e-12 * np.abs(E1).max()
        assert np.abs(H1 - H2).max() < 1e-12 * np.abs(H1).max()


# ---------------------------------------------------------------------------------------
# incident fields
# ---------------------------------------------------------------------------------------


def test_plane_wave_expansion_closed_form_and_projection():
    pw = _oblique_plane_wave()
    L = 8
    c0 = np.array([[0.2, 0.4, -0.1]])
    coefficients = eqx.filter_jit(MI.beam_coefficients)  # one program each (eager: ~260)
    projected = eqx.filter_jit(MI._projected)
    cf = coefficients(pw, c0, L)[0]
    for d in ([0.3, 0.2, -0.4], [0.0, 0.0, 0.7]):
        E, H = _fields(cf, np.array(d) * 0.3, "regular")  # |ρ| ≤ 0.21: converged at l = 8
        Er, Hr = pw.fields_scaled(c0[0] + np.array(d) * 0.3)
        np.testing.assert_allclose(E, Er, atol=1e-12)
        np.testing.assert_allclose(H, Hr, atol=1e-12)
    # the generic projection (any beam) gives the same coefficients for an exact field
    for L in (2, 4):
        pr = projected(pw, c0[0], L, MI.projection_radius(L), L + 16)
        np.testing.assert_allclose(pr, coefficients(pw, c0, L)[0], atol=1e-12)


# ---------------------------------------------------------------------------------------
# physics: dipole limit, Mie limit, stress tensor, Newton
# ---------------------------------------------------------------------------------------

POS3 = np.array([[0.0, 0.0, 0.0], [0.9e-6, 0.1e-6, 0.2e-6], [-0.3e-6, 0.8e-6, -0.4e-6]])


def _standing_beam():
    """An exact, non-uniform Maxwell field (three plane waves): goes through the projection."""
    return CoherentBeams([
        PlaneWave(LAM, 1e9, direction=(0.0, 0.0, 1.0), polarization=(1.0, 0.0, 0.0)),
        PlaneWave(LAM, 5e8, direction=(0.0, 0.6, -0.8), polarization=(1.0, 0.0, 0.0), phase=0.4),
        PlaneWave(LAM, 3e8, direction=(0.8, 0.0, 0.6), polarization=(0.0, 1.0, 0.0), phase=-1.0),
    ])


# slow: two force engines compiled (~3 CPU-s); l_max = 1 = the coupled Mie dipoles (F, C, K, D of
# a focused pair) stays checked by default in
# tests/mechanics/test_exact_multipole.py::test_l_max_1_equals_the_dipole_linearization, coupled
# multipole forces against miepy (test_multipoles_miepy.py::test_pair_grid_equals_miepy_lmax3)
# and the dispatch of jb.optical_forces to the model by
# test_multipole_coreshell.py::test_engine_single_sphere_equals_coreshell_mie
@pytest.mark.slow
def test_lmax1_equals_coupled_dipoles():
    """l_max = 1 with Mie T-matrices = the coupled electric + magnetic dipole engine
    (MieDipole polarizabilities) to ≤ 1e-10 (plane wave; the projected beam below)."""
    ps = Particles(POS3, 100e-9, index=1.45 + 0.01j)  # model=MieDipole() (the default)
    beam = _oblique_plane_wave()
    # through the public entry point: jb.optical_forces hands non-dipole models to the model
    F1 = optical_forces(Particles(POS3, 100e-9, index=1.45 + 0.01j, model=Multipole(l_max=1)), beam)
    Fd = optical_forces(ps, beam)
    assert np.abs(F1 - Fd).max() <= 1e-10 * np.abs(Fd).max()


@pytest.mark.slow
def test_lmax1_equals_coupled_dipoles_projected_beam():
    ps = Particles(POS3, 100e-9, index=1.45 + 0.01j)
    F1 = multipole_forces(ps, _standing_beam(), 1)
    Fd = optical_forces(ps, _standing_beam())
    assert np.abs(F1 - Fd).max() <= 1e-10 * np.abs(Fd).max()


@pytest.mark.slow
def test_end_to_end_stiffness_and_nonreciprocity():
    """Particles(model=Multipole(l_max)) through jb.stiffness_matrix and
    jb.nonreciprocity_factors: l_max = 1 equals the dipole engine; l_max = 3 runs (finite)."""
    import jaxbind as jb

    pos = np.array([[0.0, 0.0, 0.0], [0.8e-6, 0.1e-6, 0.0]])
    beam = _oblique_plane_wave()
    ref = Particles(pos, 100e-9, index=1.45)
    mp1 = Particles(pos, 100e-9, index=1.45, model=Multipole(l_max=1))
    K1, Kd = jb.stiffness_matrix(mp1, beam), jb.stiffness_matrix(ref, beam)
    assert np.abs(K1 - Kd).max() <= 1e-9 * np.abs(Kd).max()
    n1, nd = jb.nonreciprocity_factors(mp1, beam), jb.nonreciprocity_factors(ref, beam)
    np.testing.assert_allclose(n1.f, nd.f, atol=1e-9 * np.abs(nd.f).max())
    np.testing.assert_allclose(n1.zeroth, nd.zeroth, atol=1e-8)
    mp3 = Particles(pos, 100e-9, index=1.45, model=Multipole(l_max=3))
    K3 = jb.stiffness_matrix(mp3, beam)
    assert K3.shape == (6, 6) and np.all(np.isfinite(K3))
    assert 1e-4 < np.abs(K3 - Kd).max() / np.abs(Kd).max() < 0.2  # multipoles matter, a bit


@pytest.mark.slow
def test_isolated_and_interparticle_forces_lmax1():
    from jaxbind.optics.forces import interparticle_forces, isolated_forces

    ps = Particles(POS3, 100e-9, index=1.45 + 0.01j)
    beam = _oblique_plane_wave()
    model = Multipole(l_max=1)
    Fi, Fd = model.isolated_forces(ps, beam), isolated_forces(ps, beam)
    assert np.abs(Fi - Fd).max() <= 1e-10 * np.abs(Fd).max()
    fi, fd = model.interparticle_forces(ps, beam), interparticle_forces(ps, beam)
    assert np.abs(fi - fd).max() <= 1e-9 * np.abs(fd).max()


@pytest.mark.slow
def test_single_sphere_equals_mie():
    a, m = 150e-9, 1.45 + 0.01j
    ps = Particles(np.zeros((1, 3)), a, index=m)
    L = 5
    F = multipole_forces(ps, PW, L)
    cs = cross_sections(ps, PW, L)
    ef = mie_efficiencies(m, K * a, 12)
    area = math.pi * a**2
    Fz = PW.intensity * area * (ef.qext - ef.g * ef.qsca) / 299792458.0
    np.testing.assert_allclose(F[0, 2], Fz, rtol=1e-7)  # truncation at l = 5 (ka = 0.89)
    assert abs(F[0, 0]) < 1e-12 * Fz and abs(F[0, 1]) < 1e-12 * Fz
    np.testing.assert_allclose(cs.extinction, area * ef.qext, rtol=1e-7)
    np.testing.assert_allclose(cs.scattering, area * ef.qsca, rtol=1e-7)
    np.testing.assert_allclose(cs.absorption, area * ef.qabs, rtol=1e-7)


@pytest.fixture(scope="module")
def pair_l3():
    """Two silica spheres (a = 200 nm, ka = 1.18) at l_max = 3 in an oblique plane wave."""
    pos = np.array([[0.0, 0.0, 0.0], [0.55e-6, 0.2e-6, 0.1e-6]])
    ps = Particles(pos, 200e-9, index=1.45 + 0.02j)
    beam = _oblique_plane_wave()
    sol = solve_multipoles(ps, beam, 3)
    F = multipole_forces(ps, beam, 3)
    return ps, beam, sol, F


@pytest.mark.slow
def test_force_equals_maxwell_stress_tensor(pair_l3):
    """The far-field multipole force equals the Maxwell stress tensor integrated on a finite
    sphere about particle 0 (radius between the particles: near fields, no asymptotics)."""
    ps, beam, sol, F = pair_l3
    L = 3
    e = sol.exciting[0]  # degree ≤ L + 1; the stress tensor needs the converged exciting field
    # exciting field to high degree: incident + translation of particle 1's wave
    Lh = 14
    inc = MI.beam_coefficients(beam, sol.rho[:1], Lh)[0]
    A = MT.translation_matrix(L, Lh, sol.rho[0] - sol.rho[1])
    e_hi = inc + A @ sol.p[1]
    np.testing.assert_allclose(truncate(e_hi, Lh, L + 1), e, atol=1e-12)
    R = 0.5 * np.linalg.norm(sol.rho[1] - sol.rho[0])
    pts, wts = MI._quadrature(40, 80)

    @jax.jit
    def traction(u):
        r = R * u
        Ei, Hi = MV.expansion_fields(e_hi, r, "regular")
        Es, Hs = MV.expansion_fields(sol.p[0], r, "outgoing")
        E, H = Ei + Es, Hi + Hs
        # ⟨T⟩·n = ½Re[E(E*·n) + H(H*·n) − ½(|E|² + |H|²) n] (scaled: ε0 = 1, H̃ = Z0 H)
        return 0.5 * jnp.real(E * jnp.vdot(u, E).conj() + H * jnp.vdot(u, H).conj()
                              - 0.5 * (jnp.vdot(E, E) + jnp.vdot(H, H)) * u)

    T = jax.vmap(traction)(jnp.asarray(pts))
    Fmst = (R**2 * jnp.einsum("q,qc->c", jnp.asarray(wts), T)) / (4 * math.pi)  # unit 4πε0E0²/k²
    F0 = MF.forces_scaled(sol.p, sol.exciting, L)[0]
    np.testing.assert_allclose(Fmst, F0, atol=1e-8 * np.abs(F0).max())


@pytest.mark.slow
def test_optical_theorem_cluster(pair_l3):
    """σ_sca from the cluster's far field integrated over directions = σ_ext − σ_abs."""
    ps, beam, sol, _ = pair_l3
    ext, sca, ab = MF.cross_sections_scaled(sol.p, sol.exciting, sol.incident, 3)
    pts, wts = MI._quadrature(40, 80)
    ff = jax.vmap(lambda u: MF.far_field(sol.p, sol.rho, u, 3))(jnp.asarray(pts))
    sca_ff = jnp.sum(jnp.asarray(wts) * jnp.sum(jnp.abs(ff) ** 2, -1))
    np.testing.assert_allclose(sca_ff, sca, rtol=1e-10)
    assert ab > 0 and ext > sca


@pytest.mark.slow
def test_newton_third_law_exchange_symmetric():
    """Two identical spheres on the x axis in a plane wave along z polarised along y (the
    field is symmetric under x → −x): F_1x = −F_2x, F_1z = F_2z."""
    ps = Particles(np.array([[-0.4e-6, 0.0, 0.0], [0.4e-6, 0.0, 0.0]]), 180e-9, index=1.45)
    beam = PlaneWave(LAM, 1e9, direction=(0.0, 0.0, 1.0), polarization=(0.0, 1.0, 0.0))
    F = multipole_forces(ps, beam, 3)
    scale = np.abs(F).max()
    assert abs(F[0, 0] + F[1, 0]) < 1e-12 * scale
    assert abs(F[0, 2] - F[1, 2]) < 1e-12 * scale
    assert abs(F[0, 0]) > 1e-4 * scale  # the binding force is really there


@pytest.mark.slow
def test_convergence_in_lmax():
    ps = Particles(np.array([[0.0, 0.0, 0.0], [0.7e-6, 0.0, 0.3e-6]]), 200e-9, index=1.45)
    Fs = [np.asarray(multipole_forces(ps, PW, L)) for L in (1, 2, 3, 4, 5)]
    diffs = [np.abs(Fs[i + 1] - Fs[i]).max() for i in range(4)]
    assert all(diffs[i + 1] < 0.5 * diffs[i] for i in range(3)), diffs
    assert diffs[-1] < 1e-4 * np.abs(Fs[-1]).max()


# ---------------------------------------------------------------------------------------
# transforms, precision, solvers
# ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_grad_vmap_and_solvers(pair_l3):
    ps, beam, sol, F = pair_l3

    def total_x(pos):
        return jnp.sum(multipole_forces(ps.with_positions(pos), beam, 3)[:, 0] * jnp.array([1.0, -1.0]))

    g = jax.grad(total_x)(ps.positions)
    h = 1e-12
    dp = np.zeros_like(np.asarray(ps.positions))
    dp[1, 0] = h
    fd = (total_x(ps.positions + dp) - total_x(ps.positions - dp)) / (2 * h)
    np.testing.assert_allclose(g[1, 0], fd, rtol=1e-5)
    Fv = jax.vmap(lambda s: multipole_forces(ps.with_positions(ps.positions * s), beam, 3))(
        jnp.array([1.0, 1.2]))
    np.testing.assert_allclose(Fv[0], F, rtol=1e-12)
    from jaxbind.solvers import GMRES
    Fg = multipole_forces(ps, beam, 3, GMRES(rtol=1e-12, atol=1e-14))
    np.testing.assert_allclose(Fg, F, rtol=1e-8, atol=1e-8 * np.abs(F).max())


@pytest.mark.slow
def test_float32_matches_float64(pair_l3):
    ps, beam, _, F = pair_l3
    ps32 = Particles(np.asarray(ps.positions, np.float32), np.float32(200e-9),
                     index=np.complex64(1.45 + 0.02j))
    F32 = multipole_forces(ps32, beam, 3)
    assert F32.dtype == np.float32
    assert np.abs(F32 - F).max() < 1e-5 * np.abs(F).max()


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------


def test_bad_input():
    ps = Particles(POS3, 100e-9, index=1.45)
    with pytest.raises(ValueError, match="l_max"):
        Multipole(l_max=0)
    with pytest.raises(TypeError, match="l_max"):
        Multipole(l_max=2.0)
    with pytest.raises(ValueError, match="tmatrix must have shape"):
        as_tmatrices(np.eye(5), 3, 1)
    over = Particles(np.array([[0.0, 0, 0], [150e-9, 0, 0]]), 100e-9, index=1.45)
    with pytest.raises(eqx.EquinoxRuntimeError, match="particles 0 and 1 overlap"):
        solve_multipoles(over, PW, 1)
    sol = solve_multipoles(over, PW, 1, throw=False)
    assert sol.result == RESULTS.overlap and np.all(np.isnan(sol.p))
    del ps


@pytest.mark.slow
def test_cross_sections_equal_treams():
    """Two coupled spheres: cluster cross-sections = treams (independent T-matrix code) at the
    same l_max to ≤ 1e-10 (reference numbers and the script that made them in tests/data)."""
    import json
    import pathlib

    ref = json.loads((pathlib.Path(__file__).parents[1] / "data" / "multipoles_treams.json").read_text())
    beam = PlaneWave(ref["wavelength"], 1e9, direction=(0.0, 0.0, 1.0), polarization=(1.0, 0.0, 0.0))
    for case in ref["cases"]:
        ps = Particles(np.array(case["positions"]), case["radius"], index=complex(*case["index"]))
        for row in case["rows"]:
            cs = cross_sections(ps, beam, row["l_max"])
            np.testing.assert_allclose(cs.extinction, row["extinction"], rtol=1e-10)
            np.testing.assert_allclose(cs.scattering, row["scattering"], rtol=1e-10)
