"""Core–shell spheres: Yang's recursive Aden–Kerker coefficients against miepy's direct 8 × 8
boundary-condition solve (tests/data/make_miepy_coreshell.py), the homogeneous limits, and
the model in the multipole engine (cross-sections, forces, gradient in the core radius)."""

import math
import pathlib

import equinox as eqx
import jax
import numpy as np
import pytest

import jaxbind as jb
from jaxbind.optics.beams import PlaneWave
from jaxbind.optics.mie import mie_coefficients
from jaxbind.optics.multipoles import (CoreShell, Multipole, coreshell_coefficients,
                                       cross_sections, multipole_forces)
from jaxbind.optics.particles import Particles

REF = np.load(pathlib.Path(__file__).parents[1] / "data" / "miepy_coreshell.npz")
LAM = float(REF["wavelength"])
K = 2 * math.pi / LAM
PW = PlaneWave(LAM, 1e9, direction=(0.0, 0.0, 1.0), polarization=(1.0, 0.0, 0.0))
_jit_coeffs = jax.jit(coreshell_coefficients, static_argnums=4)
_jit_mie = jax.jit(mie_coefficients, static_argnums=2)


def _coeffs(*args):
    """Core–shell a_n, b_n as NumPy arrays (one compiled program; NumPy arithmetic after)."""
    return tuple(np.asarray(c) for c in _jit_coeffs(*args))


def _mie(*args):
    return tuple(np.asarray(c) for c in _jit_mie(*args))


def test_coefficients_equal_miepy():
    """Five core–shell spheres (silicon core in silica, metal shell, thick absorbing
    high-index shell, hollow shell, x = 0.12): a_n, b_n (n ≤ 10) equal miepy to ≤ 1e-12 of
    max|a_n|; miepy's homogeneous sphere confirms the shared (B&H) convention."""
    for (mc, ms, rc, rs), ab in zip(REF["cases"], REF["ab"]):
        a, b = _coeffs(mc, ms, K * rc.real, K * rs.real, 10)
        scale = np.abs(ab).max()
        np.testing.assert_allclose(a, ab[0], rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(b, ab[1], rtol=0, atol=1e-12 * scale)
    m, a = REF["homogeneous_case"]
    ah, bh = _mie(m, K * a.real, 10)
    np.testing.assert_allclose(np.stack([ah, bh]), REF["homogeneous"], rtol=0, atol=1e-13)


def test_homogeneous_limits():
    """Same index in core and shell, a vanishing core, a core filling the sphere: the
    homogeneous sphere (≤ 1e-13); a shell of relative thickness ε differs by O(ε)."""
    ms, mc, x = 1.45 + 0.01j, 3.6 + 0.1j, K * 150e-9
    a0, b0 = _mie(ms, x, 10)
    for args in ((ms, ms, 0.4 * x), (mc, ms, 1e-9 * x)):
        a, b = _coeffs(*args, x, 10)
        assert max(np.abs(a - a0).max(), np.abs(b - b0).max()) < 1e-13
    ac, bc = _mie(mc, x, 10)
    a, b = _coeffs(mc, ms, x, x, 10)
    assert max(np.abs(a - ac).max(), np.abs(b - bc).max()) < 1e-13
    errs = []
    for eps in (1e-4, 1e-6):
        a, b = _coeffs(mc, ms, (1 - eps) * x, x, 10)
        errs.append(max(np.abs(a - ac).max(), np.abs(b - bc).max()))
    assert 90 < errs[0] / errs[1] < 110 and errs[1] < 1e-5, errs  # linear in ε → 0 (≈ 4 ε)


@pytest.fixture(scope="module")
def silicon_in_silica():
    """Silicon core (80 nm) in silica (outer radius 150 nm)."""
    return CoreShell(core_index=3.6 + 0.01j, core_radius=80e-9)


# slow (~5 CPU-s: l_max = 6 programs); core-shell spheres in the engine stay default against
# miepy (test_coreshell_pairs_equal_miepy) and the coefficients (test_coefficients_equal_miepy)
@pytest.mark.slow
def test_engine_single_sphere_equals_coreshell_mie(silicon_in_silica):
    """One core–shell sphere through the engine: σ_ext, σ_sca and the radiation-pressure
    force equal the closed-form Mie sums of its coefficients (l_max = 6, converged)."""
    model = Multipole(l_max=6, tmatrix=silicon_in_silica)
    ps = Particles(np.zeros((1, 3)), 150e-9, index=1.45, model=model)
    a, b = _coeffs(3.6 + 0.01j, 1.45, K * 80e-9, K * 150e-9, 20)
    n = np.arange(1, 21)
    ext = 2 * math.pi / K**2 * np.sum((2 * n + 1) * np.real(a + b))
    sca = 2 * math.pi / K**2 * np.sum((2 * n + 1) * (np.abs(a) ** 2 + np.abs(b) ** 2))
    g = (np.sum(n[:-1] * (n[:-1] + 2) / (n[:-1] + 1) * np.real(a[:-1] * np.conj(a[1:]) + b[:-1] * np.conj(b[1:])))
         + np.sum((2 * n + 1) / (n * (n + 1)) * np.real(a * np.conj(b)))) * 4 * math.pi / K**2
    cs = model.cross_sections(ps, PW)
    np.testing.assert_allclose([cs.extinction, cs.scattering], [ext, sca], rtol=1e-8)
    F = jb.optical_forces(ps, PW)
    np.testing.assert_allclose(F[0, 2], PW.intensity * (ext - g) / 299792458.0, rtol=1e-8)
    # a different core changes it (the provider is really used)
    cs2 = cross_sections(ps, PW, 6, tmatrix=CoreShell(1.45, 80e-9))
    assert abs(cs2.extinction - cs.extinction) > 0.1 * cs.extinction


def _water_beam():
    return PlaneWave(LAM, 1e9, direction=(0.0, 0.0, 1.0), polarization=(1.0, 0.0, 0.0),
                     n_medium=1.33)


# slow: two more compiled pair-force programs (~3 CPU-s); that core_index is absolute in a host
# medium stays checked by default (test_in_water_core_and_shell_indices_are_absolute: σ_ext of
# a silicon core in silica in water against the coefficients at the relative indices)
@pytest.mark.slow
def test_in_water_core_of_the_shell_material_is_the_homogeneous_sphere():
    """In water, a core of the shell's own material is the homogeneous sphere (Mie, relative
    index index/n): a pair's forces through the model equal the Mie path's."""
    pw = _water_beam()
    pos = np.array([[0.0, 0.0, 0.0], [0.9e-6, 0.2e-6, 0.3e-6]])
    homo = Particles(pos, 120e-9, index=1.9 + 0.01j, model=Multipole(l_max=3))
    same = Particles(pos, 120e-9, index=1.9 + 0.01j,
                     model=Multipole(l_max=3, tmatrix=CoreShell(1.9 + 0.01j, 60e-9)))
    np.testing.assert_allclose(jb.optical_forces(same, pw), jb.optical_forces(homo, pw),
                               rtol=1e-10, atol=1e-12 * float(np.max(np.abs(jb.optical_forces(homo, pw)))))


def test_in_water_core_and_shell_indices_are_absolute():
    """In a host medium both the shell index (the particles' ``index``) and ``core_index`` are
    absolute and divided by n_medium (a core of the shell's own material is the homogeneous
    sphere: the slow test above): a core–shell sphere in water equals the same
    sphere in vacuum with every index (and the wavelength) scaled by 1/n — the forces scale
    with the medium's force unit, so compare the relative indices through the Mie
    coefficients of the two descriptions."""
    n_w = 1.33
    pw = _water_beam()
    # a silicon core in silica, in water: σ_ext from the coefficients at the relative indices
    ps = Particles(np.zeros((1, 3)), 150e-9, index=1.45,
                   model=Multipole(l_max=6, tmatrix=CoreShell(3.6 + 0.01j, 80e-9)))
    k = K * n_w
    a, b = _coeffs((3.6 + 0.01j) / n_w, 1.45 / n_w, k * 80e-9, k * 150e-9, 20)
    nn = np.arange(1, 21)
    ext = 2 * math.pi / k**2 * np.sum((2 * nn + 1) * np.real(a + b))
    np.testing.assert_allclose(ps.model.cross_sections(ps, pw).extinction, ext, rtol=1e-8)


@pytest.mark.slow
def test_pair_forces_and_core_radius_gradient(silicon_in_silica):
    """A core–shell pair (l_max = 3): jb.optical_forces through the model equals
    multipole_forces(tmatrix=CoreShell), and d F / d core_radius equals central differences."""
    pos = np.array([[0.0, 0.0, 0.0], [0.6e-6, 0.1e-6, 0.2e-6]])
    ps = Particles(pos, 150e-9, index=1.45, model=Multipole(3, tmatrix=silicon_in_silica))
    F = jb.optical_forces(ps, PW)
    np.testing.assert_allclose(multipole_forces(ps, PW, 3, tmatrix=silicon_in_silica), F,
                               rtol=1e-13)

    def fx(rc):
        return multipole_forces(ps, PW, 3, tmatrix=CoreShell(3.6 + 0.01j, rc))[1, 0]

    g = jax.grad(fx)(80e-9)
    h = 1e-12
    np.testing.assert_allclose(g, (fx(80e-9 + h) - fx(80e-9 - h)) / (2 * h), rtol=1e-5)


@pytest.mark.unchecked
def test_bad_input_per_particle_core():
    with pytest.raises(ValueError, match="core_index and core_radius must be scalars"):
        CoreShell(np.array([1.5, 2.0]), 50e-9)


def test_bad_input_core_larger_than_particle():
    ps = Particles(np.zeros((1, 3)), 50e-9, index=1.45)
    with pytest.raises(eqx.EquinoxRuntimeError, match="core_radius must be > 0"):
        cross_sections(ps, PW, 2, tmatrix=CoreShell(2.0, 60e-9))


# --- coupled core–shell spheres against miepy (tests/data/make_miepy_coreshell_cluster.py) ---

CLU = np.load(pathlib.Path(__file__).parents[1] / "data" / "miepy_coreshell_cluster.npz")


@eqx.filter_jit
def _coreshell_cluster(pos, lam, mc, ms, rc, rs):
    """(F with the exciting field truncated at l_max as miepy's force formula, T), SI at
    E0 = 1 V/m (conventions: tests/optics/test_multipoles_miepy.py)."""
    import jax.numpy as jnp

    from jaxbind import constants as C
    from jaxbind.optics.multipoles import forces as MF
    from jaxbind.optics.multipoles import solve_multipoles
    from jaxbind.optics.multipoles.solve import truncate

    L = int(CLU["lmax"])
    pol = jnp.asarray(CLU["pol"])
    beam = PlaneWave(lam, C.c * C.epsilon0 / 2, direction=(0.0, 0.0, 1.0),
                     polarization=jnp.stack([pol[0], pol[1], 0.0 * pol[0]]))
    ps = Particles(pos, rs, index=ms)
    sol = solve_multipoles(ps, beam, L, tmatrix=CoreShell(mc, rc))
    e = truncate(truncate(sol.exciting, L + 1, L), L, L + 1)
    unit = C.force_unit(sol.k, sol.E0)
    return (unit * MF.forces_scaled(sol.p, e, L),
            unit / sol.k * MF.torques_scaled(sol.p, sol.exciting, L))


def _case(name):
    lam, mc, ms, rc, rs = CLU[f"{name}_case"]
    return float(lam.real), complex(mc), complex(ms), float(rc.real), float(rs.real)


def _check_coreshell_pairs(name):
    lam, mc, ms, rc, rs = _case(name)
    Fm_all, Tm_all = CLU[f"{name}_pair_F"], CLU[f"{name}_pair_T"]
    for s, Fm, Tm in zip(CLU["seps"], Fm_all, Tm_all):
        pos = np.array([[0.0, 0.0, 0.0], s * lam * CLU["dir"]])
        F, T = (np.asarray(x) for x in _coreshell_cluster(pos, lam, mc, ms, rc, rs))
        what = f"{name}, d = {s} λ"
        # the inter-particle force (F_0 − F_1: identical spheres, same isolated force)
        dF, dFm = F[0] - F[1], Fm[0] - Fm[1]
        assert np.linalg.norm(dF - dFm) <= 1e-6 * np.linalg.norm(dFm), what
        np.testing.assert_allclose(F, Fm, rtol=0, atol=1e-6 * np.abs(Fm).max(), err_msg=what)
        np.testing.assert_allclose(T, Tm, rtol=0, atol=1e-6 * np.abs(Tm).max(), err_msg=what)
    # the interaction is really there: F_0 − F_1 at 0.5 λ is > 1e-3 of |F|
    assert np.linalg.norm(Fm_all[0, 0] - Fm_all[0, 1]) > 1e-3 * np.abs(Fm_all[0]).max()


def test_coreshell_pairs_equal_miepy():
    """Silicon core / silica shell (60 / 90 nm) pairs at 1064 nm, centre distances 0.5–5 λ,
    l_max = 3: forces (incl. the inter-particle part) and torques equal miepy's core–shell
    cluster to ≤ 1e-6 relative."""
    _check_coreshell_pairs("si_sio2")


@pytest.mark.slow
def test_gold_core_pairs_equal_miepy():
    """Gold core / silica shell (30 / 50 nm) pairs at 532 nm, 0.5–5 λ, l_max = 3 (≤ 1e-6)."""
    _check_coreshell_pairs("au_sio2")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["si_sio2", "au_sio2"])
def test_coreshell_clusters_equal_miepy(name):
    """N = 6 (Si/SiO2, 1064 nm) and N = 4 (Au/SiO2, 532 nm) random clusters in a 2λ box,
    l_max = 3: forces and torques on every particle equal miepy to ≤ 1e-6 of the largest."""
    lam, mc, ms, rc, rs = _case(name)
    pos = CLU[f"{name}_cluster_pos"]
    F, T = (np.asarray(x) for x in _coreshell_cluster(pos, lam, mc, ms, rc, rs))
    Fm, Tm = CLU[f"{name}_cluster_F"], CLU[f"{name}_cluster_T"]
    np.testing.assert_allclose(F, Fm, rtol=0, atol=1e-6 * np.abs(Fm).max())
    np.testing.assert_allclose(T, Tm, rtol=0, atol=1e-6 * np.abs(Tm).max())
    assert np.abs(Fm - Fm.mean(0)).max() > 1e-2 * np.abs(Fm).max()  # interactions matter
