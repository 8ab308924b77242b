"""Tests for jaxbind.optics.casimir: thermal Casimir–Polder energy of two spheres (paper 002)."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from helpers import check_jvp
from jaxbind import constants as C
from jaxbind.results import RESULTS, code
from jaxbind.optics.casimir import (
    casimir_polder,
    casimir_polder_energy,
    casimir_polder_limits,
    casimir_polder_sum,
    thermal_wavelength,
)
from jaxbind.optics.materials import ConstantIndex, DrudeLorentz, clausius_mossotti

# Paper 002 eq. 35 silica, written out independently of jaxbind (rad/s).
WP = np.array([1.75e14, 2.96e16])
WT = np.array([1.32e14, 2.72e16])
GAM = np.array([4.28e13, 8.09e15])
R = 100e-9


def _cm_np(w):
    """(ε − 1)/(ε + 2) of the Drude–Lorentz silica at complex frequency w (e^{−iωt})."""
    w = np.asarray(w, dtype=complex)[..., None]
    eps = 1.0 + np.sum(WP**2 / (WT**2 - w**2 - 1j * GAM * w), axis=-1)
    return (eps - 1.0) / (eps + 2.0)


def _sum_brute(r, T, nmax):
    """S(r, T) by a direct NumPy Matsubara sum of nmax terms (n = 0 with weight ½)."""
    xi1 = 2 * math.pi * C.k_B * T / C.hbar
    n = np.arange(nmax, dtype=float)
    v = n * xi1 * r / C.c
    f = _cm_np(1j * n * xi1).real ** 2 * (6 + 12 * v + 10 * v**2 + 4 * v**3 + 2 * v**4) * np.exp(-2 * v)
    f[0] *= 0.5
    return f.sum()


def _sum_ray(r, T, theta=math.pi / 4):
    """S(r, T) from the *real-frequency* integral (paper 002 eq. 26 / C2 with the lossy α(ω)),
    U = −(ħ/2πε0²) ∫_0^∞ dω coth(ħω/2k_BT) Im[α(ω)² Tr Ḡ(ω)²], evaluated independently of the
    Matsubara sum: the contour is rotated onto the ray ω = s e^{iθ} (0 < θ < π/2, no poles
    crossed; absolutely convergent there), plus θ/π × the residue of coth at ω = 0."""
    xi1 = 2 * math.pi * C.k_B * T / C.hbar
    tau = 2 * math.pi * C.k_B * T * r / (C.hbar * C.c)
    ph = np.exp(1j * theta)

    def integrand(t):
        y = math.exp(t)
        z = y * ph
        u = tau * z  # ω r/c
        q = 6 - 12j * u - 10 * u**2 + 4j * u**3 + 2 * u**4  # 16π²r⁶ e^{−2iu} Tr Ḡ(ω)²
        val = ph / np.tanh(math.pi * z) * _cm_np(xi1 * z) ** 2 * np.exp(2j * u) * q
        return val.imag * y

    tmax = math.log(min(60 / (tau * math.sin(theta)), 1e6 * WT[1] / xi1))
    pts = [math.log(w / xi1) for w in WT if -30 < math.log(w / xi1) < tmax]
    val, _ = integrate.quad(integrand, -30, tmax, points=pts or None, limit=500, epsabs=0,
                            epsrel=1e-12)
    return val + 6 * theta / math.pi * _cm_np(0.0).real ** 2


_sum_jit = jax.jit(lambda r, T: casimir_polder_sum(r, T))
_energy = eqx.filter_jit(casimir_polder_energy)
_cp = eqx.filter_jit(casimir_polder)


# --------------------------------------------------------------------------------------
# correctness against independent computations
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("T,r", [(1.0, 1e-10), (1.0, 1e-6), (300.0, 1e-9), (300.0, 1e-7),
                                 (300.0, 3e-6), (1000.0, 1e-8)])
def test_matsubara_sum_equals_real_frequency_integral(T, r):
    # Independent route (scipy quad on a rotated real-frequency contour, lossy α(ω)): checks
    # the Wick rotation, the ½ weight of n = 0, the prefactors and the truncation together.
    np.testing.assert_allclose(float(_sum_jit(r, T)), _sum_ray(r, T), rtol=1e-9)


@pytest.mark.parametrize("r", [1e-9, 2e-8, 2e-7])
def test_tail_against_brute_force_sum(r):
    T = 300.0
    np.testing.assert_allclose(float(_sum_jit(r, T)), _sum_brute(r, T, 1_000_000), rtol=1e-9)


# slow: a second reference for the n = 0 term; the far-thermal limit −3 k_BT (R/r)⁶ α̃(0)² with an
# independent NumPy α̃(0) stays covered by default in test_far_field_thermal_r6_is_half_of_paper_eq38
@pytest.mark.slow
def test_polarizability_is_clausius_mossotti():
    # The far-thermal value is exactly the n = 0 term, 3 α̃(0)², with α̃ from materials.
    mat = DrudeLorentz.silica()
    eps0 = float(mat.permittivity_imag(0.0))
    a0 = float(clausius_mossotti(eps0, R)) / (4 * math.pi * C.epsilon0 * R**3)
    np.testing.assert_allclose(float(_sum_jit(1e-3, 300.0)), 3 * a0**2, rtol=1e-12)


# --------------------------------------------------------------------------------------
# asymptotic regimes (paper 002 eqs. 36–38, Fig. 3), corrected coefficients
# --------------------------------------------------------------------------------------


def _slope(f, r1, r2):
    return math.log(abs(f(r2) / f(r1))) / math.log(r2 / r1)


def test_near_field_nonretarded_r6():
    # r ≪ c/ω_t2 ≈ 11 nm: U → −6 k_BT (R/r)⁶ Σ'α̃(iξ_n)² (retardation correction O((ξr/c)²)).
    T = 300.0
    e = lambda r: float(_energy(jnp.asarray(r), T, 1e-11))  # noqa: E731  tiny spheres: no overlap
    r = 5e-11
    # _sum_brute at r = 0 is Σ' 6 α̃(iξ_n)², i.e. 6 × the non-retarded sum:
    near = -C.k_B * T * (1e-11 / r) ** 6 * _sum_brute(0.0, T, 1_000_000)
    np.testing.assert_allclose(e(r), near, rtol=2e-4)
    assert abs(_slope(e, 3e-11, 6e-11) + 6) < 2e-3
    lim = casimir_polder_limits(r, T, 1e-11, n_terms=200_000)
    np.testing.assert_allclose(float(lim.near), near, rtol=1e-6)


def test_intermediate_retarded_r7_casimir_polder():
    # c/ω_t ≪ r ≪ λ_T: U → −(23/4π) ħc (R/r)⁶ α̃(0)²/r (paper 002 eq. 37 / C3). A
    # dispersionless sphere removes the dispersion corrections; T = 1 K puts λ_T = 2.3 mm ≫ r.
    mat = ConstantIndex(1.45)
    a0 = (1.45**2 - 1) / (1.45**2 + 2)
    T, rad = 1.0, 100e-9
    e = lambda r: float(_energy(jnp.asarray(r), T, rad, material=mat))  # noqa: E731
    r = 1e-6
    cp = -(23 / (4 * math.pi)) * C.hbar * C.c / r * (rad / r) ** 6 * a0**2
    np.testing.assert_allclose(e(r), cp, rtol=1e-6)
    assert abs(_slope(e, 0.5e-6, 2e-6) + 7) < 1e-4
    np.testing.assert_allclose(float(casimir_polder_limits(r, T, rad, material=mat).intermediate),
                               cp, rtol=1e-12)


def test_far_field_thermal_r6_is_half_of_paper_eq38():
    # r ≫ λ_T: only n = 0 survives, U → −3 k_BT (R/r)⁶ α̃(0)² (classical limit). Paper 002
    # eq. 38 / C4 print −6 k_BT: the n = 0 pole of coth sits on the real-frequency contour and
    # contributes half a residue (confirmed by the independent quadrature test above).
    T = 300.0
    assert thermal_wavelength(T) < 1e-5
    a0 = _cm_np(0.0).real
    e = lambda r: float(_energy(jnp.asarray(r), jnp.asarray(T), R))  # noqa: E731
    r = 1e-4
    far = -3 * C.k_B * T * (R / r) ** 6 * a0**2
    np.testing.assert_allclose(e(r), far, rtol=1e-10)
    assert abs(_slope(e, 5e-5, 2e-4) + 6) < 1e-8
    np.testing.assert_allclose(float(casimir_polder_limits(r, T, R).far), far, rtol=1e-12)
    # linear in T in this regime
    np.testing.assert_allclose(float(_energy(jnp.asarray(r), jnp.asarray(2 * T), R)), 2 * far,
                               rtol=1e-10)


def test_two_different_spheres():
    # U ∝ R_A³ R_B³ α̃_A α̃_B: swapping is symmetric, a dispersionless B scales as expected.
    ra, rb, r, T = 80e-9, 120e-9, 400e-9, 300.0
    u_ab = _energy(r, T, jnp.asarray(ra), jnp.asarray(rb))
    u_ba = _energy(r, T, jnp.asarray(rb), jnp.asarray(ra))
    np.testing.assert_allclose(float(u_ab), float(u_ba), rtol=1e-14)
    np.testing.assert_allclose(float(u_ab), float(_energy(r, T, jnp.asarray(100e-9), jnp.asarray(100e-9)))
                               * (ra * rb / 1e-14) ** 3, rtol=1e-12)
    mat_b = ConstantIndex(1.0 + 0j)  # ε = 1: no polarizability, no force
    assert float(_energy(r, T, ra, rb, material_b=mat_b)) == 0.0


# --------------------------------------------------------------------------------------
# transformations, dtypes
# --------------------------------------------------------------------------------------


# ~6 CPU-s (five programs at the default quadrature). By default the transform net
# (tests/test_transforms.py, registry entry `casimir_polder`) checks vmap, grad in (r, T, a)
# against central differences, vmap∘grad and float32; the sign and the closed-form limits are
# checked by the physics tests above.
@pytest.mark.slow
def test_jit_vmap_grad():
    rs = jnp.array([250e-9, 500e-9, 2e-6])
    Ts = jnp.array([10.0, 300.0])
    f = jax.jit(jax.vmap(jax.vmap(lambda r, T: casimir_polder_energy(r, T, R), (0, None)),
                         (None, 0)))
    out = f(rs, Ts)
    assert out.shape == (2, 3) and bool(jnp.all(out < 0))
    np.testing.assert_allclose(float(out[1, 1]), float(_energy(500e-9, 300.0, R)), rtol=1e-13)
    # Force along r by autodiff (attractive), against finite differences (test only).
    force = jax.jit(jax.vmap(jax.grad(
        lambda r: -casimir_polder_energy(r, 300.0, R) / (C.k_B * 300.0) * 1e-6)))(rs)
    assert bool(jnp.all(force < 0))
    check_jvp(jax.jit(lambda x: casimir_polder(x[0] * 1e-6, x[1], R).energy_kT),
              jnp.array([0.6, 300.0]), eps=1e-7, rtol=1e-6, atol=1e-12)
    # temperature and radius derivatives exist and are finite
    g = jax.jit(jax.grad(lambda T, a: casimir_polder(500e-9, T, a).energy_kT, argnums=(0, 1)))(
        300.0, R)
    assert all(bool(jnp.isfinite(x)) for x in g)


def test_float32_matches_float64():
    f = jax.jit(lambda r, T, a: casimir_polder(r, T, a))
    for r, T in [(250e-9, 300.0), (2e-9, 77.0), (5e-6, 300.0), (1e-6, 4.0)]:
        a = R * min(1.0, r / 3e-7)
        s64 = f(jnp.asarray(r), jnp.asarray(T), jnp.asarray(a))
        s32 = f(jnp.float32(r), jnp.float32(T), jnp.float32(a))
        assert s32.energy_kT.dtype == jnp.float32
        np.testing.assert_allclose(float(s32.energy_kT), float(s64.energy_kT), rtol=2e-5)
        assert np.isfinite(float(s32.energy)) and float(s32.energy) != 0.0


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------


@pytest.mark.unchecked  # wrong shapes on purpose: the library's own messages
def test_bad_input_errors():
    with pytest.raises(ValueError, match="sum of the radii"):
        casimir_polder_energy(150e-9, 300.0, R)
    with pytest.raises(ValueError, match="temperature"):
        casimir_polder_energy(500e-9, 0.0, R)
    with pytest.raises(ValueError, match="temperature"):
        casimir_polder_energy(500e-9, -4.0, R)
    with pytest.raises(ValueError, match="radius_b"):
        casimir_polder_energy(500e-9, 300.0, R, -1e-9)
    with pytest.raises(ValueError, match="separation"):
        casimir_polder_energy(jnp.ones(2), 300.0, R)
    with pytest.raises(ValueError, match="n_terms"):
        casimir_polder_sum(1e-7, 300.0, n_terms=1)
    f = eqx.filter_jit(lambda r, T: casimir_polder_energy(r, T, R))
    with pytest.raises(eqx.EquinoxRuntimeError, match="sum of the radii"):
        f(150e-9, 300.0).block_until_ready()
    with pytest.raises(eqx.EquinoxRuntimeError, match="temperature"):
        f(500e-9, -1.0).block_until_ready()


def test_status_in_sweeps():
    rs = jnp.array([150e-9, 500e-9, 500e-9])
    Ts = jnp.array([300.0, 300.0, -1.0])
    res = jax.jit(jax.vmap(lambda r, T: casimir_polder(r, T, R, throw=False)))(rs, Ts)
    codes = [int(code(r)) for r in (RESULTS.overlap, RESULTS.successful, RESULTS.bad_temperature)]
    np.testing.assert_array_equal(np.asarray(res.status), codes)
    e = np.asarray(res.energy)  # NaN + code at bad points, never a finite substitute
    assert np.isnan(e[0]) and np.isnan(e[2]) and np.isfinite(e[1])
    np.testing.assert_allclose(float(res.energy[1]), float(_energy(500e-9, 300.0, R)), rtol=1e-13)
