"""Tests for jaxbind.optics.materials: permittivity models and Clausius–Mossotti."""

import equinox as eqx
import jax
import jax.numpy as jnp
import miepython
import numpy as np
import pytest
from scipy import integrate

from helpers import check_jvp
from jaxbind import constants
from jaxbind.optics.materials import (
    ConstantIndex,
    DrudeLorentz,
    Permittivity,
    Sellmeier,
    clausius_mossotti,
    clausius_mossotti_scaled,
    radiative_correction_scaled,
)

C = constants.c
# Paper 002 eq. 35 parameters, typed in again here (rad/s) for an independent evaluation.
WP = np.array([1.75e14, 2.96e16])
WT = np.array([1.32e14, 2.72e16])
GAM = np.array([4.28e13, 8.09e15])


def eq35(w):
    """Paper 002 eq. 35 evaluated with NumPy at (possibly complex) ω."""
    w = np.asarray(w, dtype=complex)[..., None]
    return 1.0 + np.sum(WP**2 / (WT**2 - w**2 - 1j * GAM * w), axis=-1)


# --- Sellmeier ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wavelength_nm, n_published",
    [
        (1064.0, 1.4496),  # Nd:YAG
        (589.3, 1.4585),  # sodium D (Malitson 1965 table: 1.45846)
        (486.13, 1.4631),  # hydrogen F
        (656.27, 1.4564),  # hydrogen C
    ],
)
def test_sellmeier_fused_silica_published(wavelength_nm, n_published):
    n = jnp.sqrt(Sellmeier.fused_silica().permittivity_at_wavelength(wavelength_nm * 1e-9))
    assert abs(float(n.real) - n_published) < 1e-4
    assert float(n.imag) == 0.0


def test_sellmeier_frequency_and_wavelength_agree_and_valid_range():
    s = Sellmeier.fused_silica()
    lam = jnp.array([0.3e-6, 0.8e-6, 1.55e-6, 3.0e-6])
    np.testing.assert_allclose(s.permittivity_at_wavelength(lam),
                               s.permittivity(2 * np.pi * C / lam), rtol=1e-14)
    # Malitson's formula written in λ (µm), evaluated independently.
    lum = np.asarray(lam) * 1e6
    n2 = 1 + (0.6961663 * lum**2 / (lum**2 - 0.0684043**2)
              + 0.4079426 * lum**2 / (lum**2 - 0.1162414**2)
              + 0.8974794 * lum**2 / (lum**2 - 9.896161**2))
    np.testing.assert_allclose(s.permittivity_at_wavelength(lam).real, n2, rtol=1e-13)
    assert s.valid_range == (0.21e-6, 3.71e-6)
    # Normal dispersion inside the fitted range: n decreases with wavelength.
    assert np.all(np.diff(np.asarray(s.permittivity_at_wavelength(lam).real)) < 0)


def test_sellmeier_imaginary_frequency():
    s = Sellmeier.fused_silica()
    xi = jnp.logspace(12, 18, 50)
    e = s.permittivity_imag(xi)
    assert e.dtype == jnp.float64
    assert np.all(np.diff(np.asarray(e)) < 0) and np.all(np.asarray(e) > 1)
    np.testing.assert_allclose(s.permittivity_imag(0.0), 1 + 0.6961663 + 0.4079426 + 0.8974794)


# --- Drude–Lorentz ------------------------------------------------------------------------


def test_drude_lorentz_matches_paper_002_eq35_real_and_imaginary_axis():
    m = DrudeLorentz.silica()
    w = jnp.logspace(12, 18, 31)
    np.testing.assert_allclose(m.permittivity(w), eq35(np.asarray(w)), rtol=1e-12)
    # ε(iξ) is the analytic continuation of eq. 35 to ω = iξ.
    xi = jnp.logspace(11, 18, 31)
    ref = eq35(1j * np.asarray(xi))
    assert np.max(np.abs(ref.imag)) < 1e-12 * np.max(np.abs(ref.real))
    np.testing.assert_allclose(m.permittivity_imag(xi), ref.real, rtol=1e-12)


def test_drude_lorentz_imaginary_axis_real_above_one_decreasing():
    m = DrudeLorentz.silica()
    xi = jnp.concatenate([jnp.zeros(1), jnp.logspace(10, 20, 400)])
    e = np.asarray(m.permittivity_imag(xi))
    assert e.dtype == np.float64
    assert np.all(e > 1.0)
    assert np.all(np.diff(e) < 0)
    # Static limit 1 + Σ (ω_p/ω_t)²: silica's ε(0) ≈ 3.9.
    np.testing.assert_allclose(e[0], 1 + np.sum((WP / WT) ** 2), rtol=1e-14)
    assert 3.7 < e[0] < 4.1
    # Passive medium: Im ε(ω) > 0 for ω > 0.
    assert np.all(np.asarray(m.permittivity(jnp.logspace(10, 20, 200)).imag) > 0)


@pytest.mark.parametrize("xi", [0.0, 5e13, 1e16, 1e17])
def test_drude_lorentz_kramers_kronig(xi):
    """ε(iξ) − 1 = (2/π) ∫_0^∞ ω Im ε(ω) / (ω² + ξ²) dω (numerically, scipy.quad)."""
    m = DrudeLorentz.silica()
    im_eps = jax.jit(lambda w: m.permittivity(w).imag)
    s = 1e16  # integrate in u = ω/s

    def f(u):
        return u * float(im_eps(u * s)) / (u * u + (xi / s) ** 2)

    total = 0.0
    for lo, hi in [(0.0, 0.02), (0.02, 1.0), (1.0, 10.0), (10.0, np.inf)]:
        val, err = integrate.quad(f, lo, hi, limit=200, epsabs=0, epsrel=1e-10)
        total += val
    np.testing.assert_allclose(1 + 2 / np.pi * total, float(m.permittivity_imag(xi)), rtol=1e-7)


def test_refractive_index_branch_and_wavelength_convenience():
    m = DrudeLorentz.silica()
    lam = 1064e-9
    n = m.refractive_index(2 * np.pi * C / lam)
    assert float(n.real) > 0 and float(n.imag) > 0
    np.testing.assert_allclose(n * n, m.permittivity_at_wavelength(lam), rtol=1e-14)
    # Both silica models agree on n at 1064 nm to ~2 % (different fits of the same glass).
    ns = jnp.sqrt(Sellmeier.fused_silica().permittivity_at_wavelength(lam))
    assert abs(float(n.real) / float(ns.real) - 1) < 0.02


# --- constant index -----------------------------------------------------------------------


def test_constant_index():
    c = ConstantIndex(1.45 + 0.01j)
    w = jnp.array([1e14, 2e15])
    np.testing.assert_allclose(c.permittivity(w), np.full(2, (1.45 + 0.01j) ** 2), rtol=1e-15)
    assert isinstance(c, Permittivity)
    with pytest.raises(ValueError, match="absorbing"):
        c.permittivity_imag(1e15)
    np.testing.assert_allclose(ConstantIndex(2.0).permittivity_imag(jnp.array([0.0, 1e16])), [4.0, 4.0])
    assert ConstantIndex(2.0).permittivity(1e15).dtype == jnp.complex128


# --- Clausius–Mossotti --------------------------------------------------------------------


def test_clausius_mossotti_static_formula():
    a, eps = 75e-9, 2.1 + 0.3j
    ref = 4 * np.pi * constants.epsilon0 * a**3 * (eps - 1) / (eps + 2)
    np.testing.assert_allclose(clausius_mossotti(eps, a), ref, rtol=1e-14)
    np.testing.assert_allclose(clausius_mossotti(eps, a, 1e7, radiative=False), ref, rtol=1e-13)
    # Real ε, no radiation correction: a real polarizability (grad-friendly).
    assert not jnp.iscomplexobj(clausius_mossotti(2.1, a))


def test_radiative_correction_optical_theorem():
    """Lossless sphere: extinction = scattering, i.e. Im α̃ = (2/3)|α̃|² exactly."""
    for ka in [0.05, 0.5, 1.0]:
        at = clausius_mossotti_scaled(2.1, ka)
        np.testing.assert_allclose(float(at.imag), 2 / 3 * abs(complex(at)) ** 2, rtol=1e-13)
    # Absorbing sphere: extinction exceeds scattering.
    at = clausius_mossotti_scaled(2.1 + 0.1j, 0.3)
    assert float(at.imag) > 2 / 3 * abs(complex(at)) ** 2
    # SI form of the correction: α = α0/(1 − i k³ α0/(6π ε0)).
    k, a = 2 * np.pi / 1064e-9, 100e-9
    a0 = complex(clausius_mossotti(2.1, a))
    np.testing.assert_allclose(clausius_mossotti(2.1, a, k),
                               a0 / (1 - 1j * k**3 * a0 / (6 * np.pi * constants.epsilon0)), rtol=1e-12)


@pytest.mark.parametrize("n", [1.45, 2.0])
def test_small_sphere_matches_mie_dipole(n):
    """α̃ = (3i/2) a1 (Mie electric dipole, miepython) up to O((ka)²)."""
    x = 0.02
    a1 = miepython.coefficients(n, x, n_pole=1)[0]
    mie = complex(1.5j * np.ravel(a1)[0])
    ours = complex(clausius_mossotti_scaled(n * n, x))
    np.testing.assert_allclose(ours.real, mie.real, rtol=2e-3)
    np.testing.assert_allclose(ours.imag, mie.imag, rtol=5e-3)


def test_clausius_mossotti_grad_jit_vmap():
    eps = 2.1
    f = lambda a: clausius_mossotti(eps, a)  # noqa: E731
    a = 80e-9
    # dα/da = 3α/a for the static real polarizability (closed form written with NumPy)
    radii = np.linspace(20e-9, 150e-9, 5)
    alpha = 4 * np.pi * constants.epsilon0 * radii**3 * (eps - 1) / (eps + 2)
    np.testing.assert_allclose(jax.jit(jax.vmap(jax.grad(f)))(radii), 3 * alpha / radii, rtol=1e-13)
    fj = jax.jit(lambda e, a, k: clausius_mossotti(e, a, k))
    np.testing.assert_allclose(fj(2.1 + 0.1j, a, 6e6), clausius_mossotti(2.1 + 0.1j, a, 6e6), rtol=1e-14)


# slow: more derivative programs (check_jvp, jacfwd); jit ∘ vmap ∘ grad of the polarizability stays
# covered by default in test_clausius_mossotti_grad_jit_vmap against the closed form 3α/a
@pytest.mark.slow
def test_clausius_mossotti_derivatives_vs_finite_differences():
    eps = 2.1
    f = lambda a: clausius_mossotti(eps, a)  # noqa: E731
    a = 80e-9
    g = jax.grad(f)(a)
    np.testing.assert_allclose(g, 3 * f(a) / a, rtol=1e-13)
    # Complex-valued radiative α̃ against finite differences, in ka and in ε (real part).
    check_jvp(lambda x: clausius_mossotti_scaled(2.1 + 0.05j, x), jnp.asarray(0.7), rtol=1e-6)
    check_jvp(lambda e: clausius_mossotti_scaled(e, 0.7), jnp.asarray(3.0), rtol=1e-6)
    jac = jax.jacfwd(lambda x: clausius_mossotti_scaled(2.1, x, radiative=False))(0.5)
    np.testing.assert_allclose(jac, 3 * 0.5**2 * 1.1 / 4.1, rtol=1e-13)


def test_permittivity_grad_vmap_jit():
    m = DrudeLorentz.silica()
    # dε(iξ)/dξ = −Σ ω_p² (2ξ + γ)/(ω_t² + ξ² + γξ)², scaled by 1e16 to keep numbers O(1).
    xi = 3e15
    d = jax.grad(lambda s: m.permittivity_imag(s * 1e16))(xi / 1e16)
    ref = -np.sum(WP**2 * (2 * xi + GAM) / (WT**2 + xi**2 + GAM * xi) ** 2) * 1e16
    np.testing.assert_allclose(d, ref, rtol=1e-12)
    xs = jnp.array([0.1, 0.5, 2.0])
    g1 = jax.jit(jax.grad(lambda s: m.permittivity_imag(s * 1e16)))
    np.testing.assert_allclose(jax.jit(jax.vmap(jax.grad(lambda s: m.permittivity_imag(s * 1e16))))(xs),
                               [g1(x) for x in xs],
                               rtol=1e-13)
    # Gradient with respect to the model parameters (a material fit), e.g. ∂ε(0)/∂ω_p.
    gm = eqx.filter_grad(lambda mm: mm.permittivity_imag(0.0))(m)
    np.testing.assert_allclose(gm.omega_p, 2 * WP / WT**2, rtol=1e-12)
    f = eqx.filter_jit(lambda mm, lam: mm.permittivity_at_wavelength(lam))
    np.testing.assert_allclose(f(Sellmeier.fused_silica(), 1064e-9),
                               Sellmeier.fused_silica().permittivity_at_wavelength(1064e-9), rtol=1e-15)


# slow: jvp of the complex ε(ω) against central differences; real-axis ε and its gradients stay
# covered by default (eq. 35 in test_drude_lorentz_matches_paper_002_eq35_real_and_imaginary_axis,
# grad in test_permittivity_grad_vmap_jit)
@pytest.mark.slow
def test_permittivity_jvp_vs_finite_differences():
    m = DrudeLorentz.silica()
    check_jvp(lambda s: m.permittivity(s * 1e15), jnp.asarray(3.0), rtol=1e-6)


def test_float32_matches_float64():
    m = DrudeLorentz.silica()
    w64 = jnp.logspace(13, 17.5, 11)
    w32 = w64.astype(jnp.float32)
    e32 = m.permittivity(w32)
    assert e32.dtype == jnp.complex64
    np.testing.assert_allclose(e32, m.permittivity(w64), rtol=2e-5)
    i32 = m.permittivity_imag(w32)
    assert i32.dtype == jnp.float32
    np.testing.assert_allclose(i32, m.permittivity_imag(w64), rtol=1e-5)
    s = Sellmeier.fused_silica()
    lam = jnp.array([500e-9, 1064e-9, 1550e-9])
    s32 = s.permittivity_at_wavelength(lam.astype(jnp.float32))
    assert s32.dtype == jnp.complex64
    np.testing.assert_allclose(s32, s.permittivity_at_wavelength(lam), rtol=1e-5)
    eps = jnp.asarray(2.1 + 0.02j)
    a32 = clausius_mossotti_scaled(eps.astype(jnp.complex64), jnp.float32(0.6))
    assert a32.dtype == jnp.complex64
    np.testing.assert_allclose(a32, clausius_mossotti_scaled(eps, 0.6), rtol=1e-5)
    # SI output (≈1e-32 C·m²/V) computed through the scaled path does not underflow.
    k, a = 2 * np.pi / 1064e-9, 100e-9
    si32 = clausius_mossotti(eps.astype(jnp.complex64), jnp.float32(a), jnp.float32(k))
    assert si32.dtype == jnp.complex64
    np.testing.assert_allclose(si32, clausius_mossotti(eps, a, k), rtol=1e-5)


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.unchecked  # wrong shapes on purpose: the library's own messages
def test_bad_input_raises_naming_argument():
    with pytest.raises(ValueError, match="radius"):
        clausius_mossotti(2.1, -1e-7)
    with pytest.raises(ValueError, match="radius"):
        clausius_mossotti(2.1, float("nan"))
    with pytest.raises(ValueError, match="eps"):
        clausius_mossotti(jnp.array([2.1, 2.2]), 1e-7)
    with pytest.raises(ValueError, match="eps"):
        clausius_mossotti(complex("nan+1j"), 1e-7)
    with pytest.raises(ValueError, match="needs the wavenumber k"):
        clausius_mossotti(2.1, 1e-7, radiative=True)
    with pytest.raises(ValueError, match="k must be"):
        clausius_mossotti(2.1, 1e-7, -1.0)
    with pytest.raises(ValueError, match="ka"):
        clausius_mossotti_scaled(2.1, 0.0)
    with pytest.raises(ValueError, match="wavelength"):
        Sellmeier.fused_silica().permittivity_at_wavelength(-1e-6)
    with pytest.raises(ValueError, match="xi"):
        DrudeLorentz.silica().permittivity_imag(-1.0)
    with pytest.raises(ValueError, match="omega"):
        DrudeLorentz.silica().permittivity(jnp.inf)
    with pytest.raises(TypeError, match="omega"):
        DrudeLorentz.silica().permittivity(1e15 + 0j)
    with pytest.raises(ValueError, match="gamma"):
        DrudeLorentz(omega_p=[1e15], omega_t=[1e15], gamma=[-1.0])
    with pytest.raises(ValueError, match="equal lengths"):
        DrudeLorentz(omega_p=[1e15, 1e16], omega_t=[1e15], gamma=[1e13])
    with pytest.raises(ValueError, match="resonance_wavelengths"):
        Sellmeier(coefficients=[1.0], resonance_wavelengths=[0.0])
    with pytest.raises(ValueError, match="n must"):
        ConstantIndex(1.5 - 0.1j)
    with pytest.raises(ValueError, match="n must"):
        ConstantIndex(jnp.array([1.5, 1.6]))


def test_bad_input_is_an_error_eagerly_and_nan_under_jit():
    """Eager bad input raises naming the argument; under a user's jit the bad point is NaN
    (no host callback; its neighbours are unaffected), never inf or a finite substitute."""
    with pytest.raises(ValueError, match="radius"):
        clausius_mossotti(2.1, -1e-7)
    with pytest.raises(eqx.EquinoxRuntimeError, match="Fröhlich"):
        clausius_mossotti(-2.0, 1e-7)
    f = eqx.filter_jit(lambda a: clausius_mossotti(2.1, a))
    assert np.isnan(f(-1e-7)) and np.isfinite(f(1e-7))
    assert np.isnan(eqx.filter_jit(lambda e: clausius_mossotti(e, 1e-7))(-2.0))
    g = eqx.filter_jit(DrudeLorentz.silica().permittivity_imag)
    out = np.asarray(g(jnp.array([1.0, -1.0])))
    assert np.isfinite(out[0]) and np.isnan(out[1])
    with pytest.raises(ValueError, match="xi"):
        DrudeLorentz.silica().permittivity_imag(jnp.array([1.0, -1.0]))
    # An undamped resonance hit exactly is reported (NaN under jit, an error eagerly), never inf.
    undamped = DrudeLorentz(omega_p=[1e15], omega_t=[2e15], gamma=[0.0])
    h = eqx.filter_jit(undamped.permittivity)
    assert np.isnan(h(jnp.asarray(2e15)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="non-finite"):
        undamped.permittivity(jnp.asarray(2e15))
    np.testing.assert_allclose(radiative_correction_scaled(jnp.asarray(0.0)), 0.0)


def test_tabulated_index_silicon_green_2008():
    """The tabulated silicon of Green (2008) returns the table at its nodes, interpolates
    linearly between them, ε = (n + iκ)², and refuses imaginary frequencies and bad tables."""
    from jaxbind.optics.materials import TabulatedIndex

    si = TabulatedIndex.silicon_green_2008()
    np.testing.assert_allclose(complex(si.index_at_wavelength(420e-9)), 5.119 + 0.176j, rtol=1e-12)
    np.testing.assert_allclose(complex(si.index_at_wavelength(425e-9)),
                               (5.119 + 4.949) / 2 + 0.5j * (0.176 + 0.138), rtol=1e-12)
    np.testing.assert_allclose(complex(si.permittivity_at_wavelength(600e-9)), (3.940 + 0.020j) ** 2,
                               rtol=1e-12)
    g = jax.grad(lambda lam: jnp.real(si.index_at_wavelength(lam)))(425e-9)
    np.testing.assert_allclose(float(g), (4.949 - 5.119) / 10e-9, rtol=1e-9)
    with pytest.raises(ValueError, match="imaginary frequency"):
        si.permittivity_imag(1e15)
    with pytest.raises(ValueError, match="increasing"):
        TabulatedIndex([2e-7, 1e-7], [1.5, 1.5], [0.0, 0.0])
    with pytest.raises(ValueError, match="kappa"):
        TabulatedIndex([1e-7, 2e-7], [1.5, 1.5], [0.0, -0.1])
