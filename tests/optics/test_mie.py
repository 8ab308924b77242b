"""Tests for jaxbind.optics.mie against published numbers and independent codes.

References used (never the module's own earlier output):
* an independent implementation of B&H eq. 4.53 with scipy spherical Bessel functions;
* a cancellation-free power-series implementation for small x (below);
* Bohren & Huffman appendix A (BHMIE sample output) and Wiscombe's MIEV0 test cases
  (NCAR/TN-140+STR, 1979; m given there as n − iκ, conjugated here);
* miepython 3.x (same Q_back convention, m = n − iκ on its side);
* closed forms: Clausius–Mossotti with radiative correction, optical theorem, dipole far
  fields for the Kerker conditions (paper 003).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import miepython
import numpy as np
import pytest
from scipy.special import spherical_jn, spherical_yn

from jaxbind import constants
from jaxbind.optics.mie import (
    DipolePolarizabilities,
    MieEfficiencies,
    default_n_start,
    dipole_polarizabilities,
    kerker_deviation,
    kerker_polarizabilities,
    mie_coefficients,
    mie_efficiencies,
    required_n_start,
    scaled_dipole_polarizabilities,
    wiscombe_n_max,
)
from tests.helpers import check_jvp

# --------------------------------------------------------------------------------------
# independent references
# --------------------------------------------------------------------------------------


def scipy_ab(m, x, n_max):
    """B&H eq. 4.53 with scipy's spherical Bessel functions (ξ = x h^{(1)})."""
    n = np.arange(1, n_max + 1)
    m = complex(m)
    mx = m * x
    jx, djx = spherical_jn(n, x), spherical_jn(n, x, derivative=True)
    yx, dyx = spherical_yn(n, x), spherical_yn(n, x, derivative=True)
    jm, djm = spherical_jn(n, mx), spherical_jn(n, mx, derivative=True)
    psi, dpsi = x * jx, jx + x * djx
    hx, dhx = jx + 1j * yx, djx + 1j * dyx
    xi, dxi = x * hx, hx + x * dhx
    pm, dpm = mx * jm, jm + mx * djm
    a = (m * pm * dpsi - psi * dpm) / (m * pm * dxi - xi * dpm)
    b = (pm * dpsi - m * psi * dpm) / (pm * dxi - m * xi * dpm)
    return a, b


def _psi_coeffs(n, k_terms=30):
    """c_k with ψ_n(z) = Σ_k c_k z^{n+1+2k} (power series of z j_n(z))."""
    c = [1.0 / math.prod(range(1, 2 * n + 2, 2))]
    for k in range(1, k_terms):
        c.append(c[-1] * (-0.5) / k / (2 * n + 2 * k + 1))
    return np.array(c)


def series_ab(m, x, n_max):
    """Small-x reference (|m x| ≲ 1) free of the O(x²) cancellation of eq. 4.53.

    With ψ_n(z) = Σ c_k z^{n+1+2k}, the numerators expand as double sums in which the
    leading terms cancel *analytically*:
      ψ_n(mx)ψ_n'(x) − m ψ_n(x)ψ_n'(mx) = Σ_jk c_j c_k (n+1+2k) x^{2n+1+2j+2k}
                                            (m^{n+1+2j} − m^{n+1+2k}),
      m ψ_n(mx)ψ_n'(x) − ψ_n(x)ψ_n'(mx) = Σ_jk c_j c_k (n+1+2k) x^{2n+1+2j+2k}
                                            (m^{n+2+2j} − m^{n+2k}),
    and the denominators use ξ = ψ − iχ with χ_n from its (stable) upward recurrence.
    """
    m = complex(m)
    chi = [math.cos(x), math.cos(x) / x + math.sin(x)]
    for n in range(1, n_max + 1):
        chi.append((2 * n + 1) / x * chi[n] - chi[n - 1])
    a, b = [], []
    for n in range(1, n_max + 1):
        c = _psi_coeffs(n)
        k = np.arange(len(c))
        cj, ck = c[:, None], c[None, :]
        kj, kk = k[:, None], k[None, :]
        w = cj * ck * (n + 1 + 2 * kk) * x ** (2 * n + 1 + 2 * kj + 2 * kk)
        num_b = np.sum(w * (m ** (n + 1 + 2 * kj) - m ** (n + 1 + 2 * kk)))
        num_a = np.sum(w * (m ** (n + 2 + 2 * kj) - m ** (n + 2 * kk)))
        pz = np.sum(c * (m * x) ** (n + 1 + 2 * k))
        dpz = np.sum(c * (n + 1 + 2 * k) * (m * x) ** (n + 2 * k))
        px = np.sum(c * x ** (n + 1 + 2 * k))
        dpx = np.sum(c * (n + 1 + 2 * k) * x ** (n + 2 * k))
        ch, dch = chi[n], chi[n - 1] - n / x * chi[n]
        # denominators = numerators − i (the same with χ in place of ψ at argument x)
        a.append(num_a / (num_a - 1j * (m * pz * dch - ch * dpz)))
        b.append(num_b / (num_b - 1j * (pz * dch - m * ch * dpz)))
    return np.array(a), np.array(b)


def assert_rel(actual, desired, rtol):
    """max |actual − desired| / |desired| elementwise ≤ rtol."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    err = np.max(np.abs(actual - desired) / np.abs(desired))
    assert err <= rtol, f"max relative error {err:.3e} > {rtol:.1e}"


# --------------------------------------------------------------------------------------
# coefficients
# --------------------------------------------------------------------------------------


# slow: four of the five spheres (each n_max one compile); the default water droplet checks the
# coefficients against SciPy, the published sphere tables (test_wiscombe_miev0) cover the range
@pytest.mark.parametrize(
    "m, x, n_max",
    [
        (1.33, 3.0, 11),  # B&H water droplet; a1..b2 in particular
        pytest.param(3.41 + 1.94j, 1.3, 8, marks=pytest.mark.slow),  # van de Hulst's absorbing sphere
        pytest.param(1.5 + 0.1j, 10.0, 21, marks=pytest.mark.slow),
        # Wiscombe's large |m|, the end of the supported range
        pytest.param(10.0 + 10.0j, 30.0, 45, marks=pytest.mark.slow),
        # m < 1: recurrence start set by x, not |m x|
        pytest.param(0.75, 5.0, 13, marks=pytest.mark.slow),
    ],
)
def test_coefficients_vs_scipy_reference(m, x, n_max):
    a, b = mie_coefficients(m, x, n_max)
    ar, br = scipy_ab(m, x, n_max)
    assert_rel(a, ar, 1e-11)
    assert_rel(b, br, 1e-11)
    assert a.shape == b.shape == (n_max,)


# slow: the water droplet's coefficients stay covered by default against SciPy in
# test_coefficients_vs_scipy_reference[1.33-3.0-11] (this adds the n_max = 2 program)
@pytest.mark.slow
def test_bh_water_first_coefficients():
    """m = 1.33, x = 3: the four leading coefficients, element by element."""
    a, b = mie_coefficients(1.33, 3.0, 2)
    ar, br = scipy_ab(1.33, 3.0, 2)
    np.testing.assert_allclose(np.asarray(a), ar, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(b), br, rtol=1e-12)
    # lossless sphere: every order lies on the circle Re(c) = |c|² (per-order optical theorem)
    np.testing.assert_allclose(np.real(a), np.abs(a) ** 2, rtol=1e-12)
    np.testing.assert_allclose(np.real(b), np.abs(b) ** 2, rtol=1e-12)


@pytest.mark.parametrize("m, x", [(1.5, 1e-3), (1.05, 1e-3), (1.5 + 0.01j, 0.05), (3.41 + 1.94j, 0.05)])
def test_small_x_vs_series_reference(m, x):
    """x = 1e-3: ψ_n's upward recurrence and the D_n(mx) − D_n(x) form both lose digits."""
    a, b = mie_coefficients(m, x, 3)
    ar, br = series_ab(m, x, 3)
    assert_rel(a, ar, 1e-13)
    assert_rel(b, br, 1e-13)


def test_small_x_clausius_mossotti_radiative_correction():
    """α̃ = (3i/2) a1 → α̃0/(1 − (2i/3) α̃0), α̃0 = x³(ε−1)/(ε+2), with O(x²) corrections."""
    for m in (1.45, 2.0 + 0.3j, 3.5 + 0.01j):
        eps = m * m
        for x, rtol in ((1e-3, 1e-5), (1e-2, 1e-3)):
            a0 = x**3 * (eps - 1) / (eps + 2)
            want = a0 / (1 - 2j / 3 * a0)
            ae, am = scaled_dipole_polarizabilities(m, x)
            assert_rel(ae, want, rtol)
            # magnetic dipole: b1 → −i x⁵ (m² − 1)/45, α̃m = x⁵ (m² − 1)/30
            assert_rel(am, x**5 * (eps - 1) / 30, 10 * rtol)


# slow: the vacuum case; the SI polarizabilities stay covered by default (exactly, against the
# series, and against the host-medium Clausius–Mossotti law) in test_dipole_polarizabilities_in_a_medium
@pytest.mark.slow
def test_si_dipole_polarizabilities_clausius_mossotti():
    """SI α_e → 4πε0 a³(ε−1)/(ε+2) with α = α0/(1 − i k³α0/(6πε0)); α_m = 2π k² a⁵ (ε−1)/15."""
    m, radius, lam = 1.45 + 0.001j, 5e-9, 1064e-9
    k = 2 * np.pi / lam
    eps = m * m
    a0 = 4 * np.pi * constants.epsilon0 * radius**3 * (eps - 1) / (eps + 2)
    want = a0 / (1 - 1j * k**3 * a0 / (6 * np.pi * constants.epsilon0))
    pol = dipole_polarizabilities(m, radius, lam)
    assert isinstance(pol, DipolePolarizabilities)
    assert_rel(pol.alpha_e, want, 1e-4)  # (ka)² ≈ 9e-4 corrections × O(0.1)
    assert_rel(pol.alpha_m, 2 * np.pi * k**2 * radius**5 * (eps - 1) / 15, 1e-3)
    # scaled ↔ SI through jaxbind.constants (vacuum: ε = ε0)
    sc = scaled_dipole_polarizabilities(m, k * radius)
    assert_rel(constants.scale_polarizability(pol.alpha_e, k), sc.alpha_e, 1e-12)
    assert_rel(constants.scale_magnetic_polarizability(pol.alpha_m, k), sc.alpha_m, 1e-12)


def test_dipole_polarizabilities_in_a_medium():
    """In water, α_e = 6πi ε0 n² a1(m/n, k a)/k³ with k = 2π n/λ0: the host-medium CM law."""
    m_p, n_med, radius, lam = 1.59, 1.33, 4e-9, 800e-9
    k = 2 * np.pi * n_med / lam
    a, b = series_ab(m_p / n_med, k * radius, 1)  # x ≈ 0.04: the scipy form loses ~1e-11
    pol = dipole_polarizabilities(m_p, radius, lam, medium_index=n_med)
    eps_h = constants.epsilon0 * n_med**2
    assert_rel(pol.alpha_e, 6j * np.pi * eps_h * a[0] / k**3, 1e-11)
    assert_rel(pol.alpha_m, 6j * np.pi * b[0] / k**3, 1e-11)
    cm = 4 * np.pi * eps_h * radius**3 * (m_p**2 - n_med**2) / (m_p**2 + 2 * n_med**2)
    assert_rel(pol.alpha_e.real, cm, 1e-3)


# --------------------------------------------------------------------------------------
# efficiencies: published values
# --------------------------------------------------------------------------------------


def test_bhmie_published_sample():
    """B&H appendix A, BHMIE sample: m = 1.55, a = 0.525 µm, λ = 0.6328 µm."""
    x = 2 * np.pi * 0.525 / 0.6328
    # m passed complex: the same program as the (complex) Wiscombe cases
    e = mie_efficiencies(1.55 + 0j, x, N_PUB, n_start=N_PUB_START)
    np.testing.assert_allclose(float(e.qext), 3.10543, atol=6e-6)
    np.testing.assert_allclose(float(e.qsca), 3.10543, atol=6e-6)
    np.testing.assert_allclose(float(e.qback), 2.92534, atol=6e-6)
    np.testing.assert_allclose(float(e.g), 0.63314, atol=6e-6)


# One static size for all published cases (x ≤ 10, |m x| ≤ 15): one compilation.
N_PUB = wiscombe_n_max(10.0)
N_PUB_START = required_n_start(15.0, N_PUB)

# Wiscombe MIEV0 test cases with x ≤ 30 (m conjugated to n + iκ). `s1pi` is the printed
# S1(180°), giving Q_back = |2 S1(π)/x|² (B&H eq. 4.82 convention); `s10` is S1(0°),
# giving Q_fwd = |2 S1(0)/x|². None = not printed.
WISCOMBE = [
    # m, x, qext, qsca, g, s1pi, s10, atol
    (0.75, 0.099, None, None, 0.001448, 1.81756e-8 - 1.64810e-4j, None, 1e-6),
    (0.75, 0.101, None, None, 0.001507, 2.04875e-8 - 1.74965e-4j, None, 1e-6),
    (0.75, 10.0, 2.232265, 2.232265, 0.896473, -1.07857 - 3.60881e-2j, None, 1e-6),
    (1.5, 10.0, 2.8820, 2.8820, None, 4.322 + 4.868j, None, 1e-4),
    (1.33 + 1e-5j, 1.0, None, 0.093923, 0.184517, None, None, 1e-6),
    (1.5 + 1j, 0.055, 0.101491, None, 0.000491, None, None, 1e-6),
    (1.5 + 1j, 0.056, 0.103347, None, 0.000509, None, None, 1e-6),
    (1.5 + 1j, 1.0, 2.336321, 0.6634538, 0.192136, None, 0.584080 + 0.190515j, 1e-6),
    (10 + 10j, 1.0, None, 2.049405, -0.110664, None, None, 1e-6),
]


@pytest.mark.parametrize("m, x, qext, qsca, g, s1pi, s10, atol", WISCOMBE)
def test_wiscombe_miev0(m, x, qext, qsca, g, s1pi, s10, atol):
    e = mie_efficiencies(m, x, N_PUB, n_start=N_PUB_START)
    if qext is not None:
        np.testing.assert_allclose(float(e.qext), qext, atol=atol)
    if qsca is not None:
        np.testing.assert_allclose(float(e.qsca), qsca, atol=atol)
    if g is not None:
        np.testing.assert_allclose(float(e.g), g, atol=atol)
    if s1pi is not None:  # printed to 6 significant digits
        np.testing.assert_allclose(float(e.qback), abs(2 * s1pi / x) ** 2, rtol=2e-5 if atol < 1e-5 else 2e-3)
    if s10 is not None:
        np.testing.assert_allclose(float(e.qfwd), abs(2 * s10 / x) ** 2, rtol=2e-5)


# slow: its own n_max/n_start programs; Q_ext = Q_sca for real m stays covered by default by the
# published lossless cases of test_wiscombe_miev0 and Q_ext, Q_sca of absorbing spheres against
# miepython in test_efficiencies_vs_miepython_random_sample
@pytest.mark.slow
def test_optical_theorem_and_absorption():
    """Real m: Q_ext = Q_sca exactly (Q_abs ≡ 0); absorbing m: Q_abs agrees with the
    textbook Q_ext − Q_sca from the coefficients (B&H 4.61, 4.62) where that has no
    cancellation, and is positive."""
    n_max = wiscombe_n_max(7.0)
    n_start = required_n_start(50 * 2**0.5, n_max)
    for m, x in ((1.33, 1e-3), (1.33, 3.0), (4.0, 7.0), (0.75, 0.5)):
        e = mie_efficiencies(m, x, n_max, n_start=n_start)
        assert float(e.qabs) == 0.0
        assert float(e.qext) == float(e.qsca) > 0
    for m, x in ((1.5 + 0.1j, 2.0), (3.41 + 1.94j, 1.3), (10 + 10j, 5.0)):
        e = mie_efficiencies(m, x, n_max, n_start=n_start)
        a, b = mie_coefficients(m, x, n_max, n_start=n_start)
        c = 2 * np.arange(1, n_max + 1) + 1
        qext_bh = 2 / x**2 * np.sum(c * np.real(a + b))
        np.testing.assert_allclose(float(e.qext), qext_bh, rtol=1e-12)
        assert float(e.qabs) > 0


def test_efficiencies_vs_miepython_random_sample(rng):
    """vmapped over a random sample of (m, x), x ∈ [0.1, 30], |m| ≤ 3.2 (one compilation).

    miepython 3.x takes m = n − iκ; its ``coefficients`` return the same B&H a_n, b_n and
    its ``efficiencies_mx`` the same Q_back = |Σ(2n+1)(−1)^n(a_n − b_n)|²/x² (B&H 4.82).
    """
    k = 24
    x = np.exp(rng.uniform(np.log(0.1), np.log(30.0), k))
    nr = rng.uniform(1.05, 3.0, k)
    kappa = np.where(rng.uniform(size=k) < 0.3, 0.0, 10 ** rng.uniform(-4, 0, k))
    m = nr + 1j * kappa
    n_max = wiscombe_n_max(x)
    n_start = required_n_start(np.max(np.abs(m) * x), n_max)
    f = jax.jit(
        jax.vmap(
            lambda mm, xx: (
                mie_efficiencies(mm, xx, n_max, n_start=n_start),
                mie_coefficients(mm, xx, n_max, n_start=n_start),
            )
        )
    )
    e, (a, b) = jax.tree_util.tree_map(np.asarray, f(jnp.asarray(m), jnp.asarray(x)))
    for i in range(k):
        nt = miepython.core.wiscombe_terms(x[i])
        am, bm = miepython.coefficients(np.conj(m[i]), x[i], n_pole=nt)
        assert_rel(a[i, :nt], am, 1e-9)
        assert_rel(b[i, :nt], bm, 1e-9)
        qext, qsca, qback, gg = miepython.efficiencies_mx(np.conj(m[i]), x[i])
        # our series has ≥ miepython's number of terms: truncation differences ≲ 1e-7
        np.testing.assert_allclose(float(e.qext[i]), qext, rtol=1e-7)
        np.testing.assert_allclose(float(e.qsca[i]), qsca, rtol=1e-7)
        np.testing.assert_allclose(float(e.qback[i]), qback, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(float(e.g[i]), gg, rtol=1e-7, atol=1e-9)


# slow: a paper reproduction (its own n_max programs); the Mie series it uses stays covered by
# default against SciPy, the published tables and miepython above
@pytest.mark.slow
def test_paper003_silicon_dipole_dominance():
    """Paper 003 sec. V: a 90-nm Si sphere at 420 nm (m = 5.1 + 0.2i) is an electric +
    magnetic dipole (a1, b1 ≫ higher orders) that scatters much more backward than
    forward (we find Q_fwd/Q_back ≈ 0.18 from full Mie theory)."""
    m, x = 5.1 + 0.2j, 2 * np.pi * 45 / 420
    a, b = mie_coefficients(m, x, 4)
    assert float(jnp.max(jnp.abs(jnp.concatenate([a[1:], b[1:]])))) < 0.03 * float(jnp.abs(b[0]))
    e = mie_efficiencies(m, x, wiscombe_n_max(x))
    assert 0.1 < float(e.forward_backward_ratio) < 0.3


# --------------------------------------------------------------------------------------
# Kerker conditions (paper 003)
# --------------------------------------------------------------------------------------


def _dipole_far_field(alpha_e, alpha_m, n_hat):
    """SI far-field amplitude (up to e^{ikr}k²/(4π r)) of p = α_e E, m = α_m H for a plane
    wave E0 x̂ e^{ikz}, H0 = E0/Z0 ŷ in vacuum: E ∝ (n×p)×n/ε0 − Z0 n×m."""
    e0 = 1.0
    p = alpha_e * e0 * np.array([1.0, 0, 0])
    mm = alpha_m * (e0 / constants.Z0) * np.array([0, 1.0, 0])
    return np.cross(np.cross(n_hat, p), n_hat) / constants.epsilon0 - constants.Z0 * np.cross(n_hat, mm)


def test_kerker_conditions_zero_far_field():
    """1st Kerker α_m = +α_e/ε0 kills backscattering, 2nd (α_m = −α_e/ε0) forward; in
    scaled units α̃m = ±α̃e."""
    alpha_e = complex(dipole_polarizabilities(3.5 + 0.01j, 70e-9, 600e-9).alpha_e)
    k = 2 * np.pi / 600e-9
    z = np.array([0, 0, 1.0])
    for kind, dead, alive in ((1, -z, z), (2, z, -z)):
        si = kerker_polarizabilities(alpha_e, kind, units="si")
        ref = np.linalg.norm(_dipole_far_field(alpha_e, 0.0, z))
        assert np.linalg.norm(_dipole_far_field(si.alpha_e, complex(si.alpha_m), dead)) < 1e-12 * ref
        assert np.linalg.norm(_dipole_far_field(si.alpha_e, complex(si.alpha_m), alive)) > ref
        sc = kerker_polarizabilities(constants.scale_polarizability(alpha_e, k), kind)
        np.testing.assert_allclose(
            complex(sc.alpha_m), complex(constants.scale_magnetic_polarizability(si.alpha_m, k)), rtol=1e-12
        )
        assert float(kerker_deviation(sc.alpha_e, sc.alpha_m, kind)) == 0.0
        assert float(kerker_deviation(sc.alpha_e, sc.alpha_m, 3 - kind)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="kind"):
        kerker_polarizabilities(alpha_e, 3)
    with pytest.raises(ValueError, match="units"):
        kerker_polarizabilities(alpha_e, 1, units="cgs")


# slow: a vmapped polarizability program; kerker_deviation stays covered by default in
# test_kerker_conditions_zero_far_field (0 at the condition, 1 at the opposite one)
@pytest.mark.slow
def test_kerker_deviation_passive_bound(rng):
    """Optical theorem (paper 003 sec. V): a passive sphere cannot reach the 2nd Kerker
    condition; deviation ≥ (2/3)(|α̃e|² + |α̃m|²)/(|α̃e| + |α̃m|) > 0."""
    m = rng.uniform(1.5, 5.0, 16) + 1j * rng.uniform(0.0, 0.3, 16)
    x = rng.uniform(0.2, 1.5, 16)
    pol, dev = jax.jit(
        jax.vmap(lambda mm, xx: (p := scaled_dipole_polarizabilities(mm, xx), kerker_deviation(*p)))
    )(jnp.asarray(m), jnp.asarray(x))
    dev = np.asarray(dev)
    ae, am = np.abs(np.asarray(pol.alpha_e)), np.abs(np.asarray(pol.alpha_m))
    assert np.all(dev >= (2 / 3) * (ae**2 + am**2) / (ae + am) * (1 - 1e-12))
    # passive dipoles: Im α̃ ≥ (2/3)|α̃|² (radiation damping)
    assert np.all(np.imag(pol.alpha_e) >= (2 / 3) * ae**2 * (1 - 1e-12))
    assert np.all(np.imag(pol.alpha_m) >= (2 / 3) * am**2 * (1 - 1e-12))


# --------------------------------------------------------------------------------------
# transformations: jit, vmap, grad, jacfwd, float32
# --------------------------------------------------------------------------------------


def _coeffs_real(v, n_max=4):
    a, b = mie_coefficients(v[0] + 1j * v[1], v[2], n_max, n_start=48)
    return jnp.concatenate([a.real, a.imag, b.real, b.imag])


# slow: derivatives of the Mie series stay covered by default against central differences in
# test_grad_vmap_jit_of_efficiencies (jit ∘ vmap ∘ grad of Q_sca in (Re m, Im m, x))
@pytest.mark.slow
@pytest.mark.parametrize("v", [[1.5, 0.1, 2.0], [3.41, 1.94, 1.3], [1.33, 1e-3, 0.05]])
def test_jvp_vs_finite_differences(v):
    check_jvp(jax.jit(_coeffs_real), jnp.asarray(v), rtol=1e-6, atol=1e-10)


# slow: derivatives of the Mie coefficients stay covered by default against finite differences in
# test_jvp_vs_finite_differences and test_grad_vmap_jit_of_efficiencies
@pytest.mark.slow
def test_holomorphic_derivative_in_m():
    """a_n(m) is holomorphic: jacfwd(holomorphic) = complex-direction finite differences."""
    x, m = 1.7, 2.0 + 0.3j
    d = jax.jacfwd(lambda mm: mie_coefficients(mm, x, 3, n_start=48)[0], holomorphic=True)(jnp.asarray(m))
    h = 1e-6
    for step in (h, 1j * h):
        fd = (np.asarray(mie_coefficients(m + step, x, 3)[0]) - np.asarray(mie_coefficients(m - step, x, 3)[0])) / (2 * step)
        np.testing.assert_allclose(np.asarray(d), fd, rtol=1e-6)


def test_grad_vmap_jit_of_efficiencies():
    """grad of Q_sca w.r.t. (Re m, Im m, x), under jit and vmap∘grad, vs finite differences."""

    def qsca(v):
        return mie_efficiencies(v[0] + 1j * v[1], v[2], 10, n_start=48).qsca

    v = np.array([[1.5, 0.05, 1.2], [2.5, 0.3, 3.0]])
    g = np.asarray(jax.jit(jax.vmap(jax.grad(qsca)))(jnp.asarray(v)))
    # the central differences of both points in ONE vmapped program, which also checks that
    # every field is a plain array pytree under vmap
    shifted = v[:, None, None, :] + np.array([1e-6, -1e-6])[None, :, None, None] * np.eye(3)[None, None]
    e = jax.jit(jax.vmap(lambda w: mie_efficiencies(w[0] + 1j * w[1], w[2], 10, n_start=48)))(
        jnp.asarray(shifted.reshape(-1, 3)))
    assert isinstance(e, MieEfficiencies) and e.qext.shape == (12,)
    q = np.asarray(e.qsca).reshape(2, 2, 3)
    for i in range(2):
        fd = (q[i, 0] - q[i, 1]) / 2e-6
        np.testing.assert_allclose(g[i], fd, rtol=1e-6)


# slow: transforms of the Mie series stay covered by default in test_grad_vmap_jit_of_efficiencies,
# the dipole polarizabilities' values in test_small_x_clausius_mossotti_radiative_correction
@pytest.mark.slow
def test_grad_dipole_polarizabilities_jit():
    """d Re α̃e / d x under jit and its small-x law 3x²(ε−1)/(ε+2); SI path differentiable."""
    f = jax.jit(jax.grad(lambda x: jnp.real(scaled_dipole_polarizabilities(1.5, x).alpha_e)))
    x = 1e-2
    np.testing.assert_allclose(float(f(x)), 3 * x**2 * (1.25 / 4.25), rtol=1e-3)
    gr = jax.grad(lambda r: jnp.real(dipole_polarizabilities(1.5, r, 1e-6).alpha_e))(5e-9)
    assert np.isfinite(gr) and gr > 0


def test_float32_matches_float64():
    """float32 inputs give float32/complex64 outputs within ~1e-5 of float64 (x ∈ [0.1, 10];
    measured: ~1e-6 for coefficients and Q's, up to ~2e-5 for Q_back at x ≳ 10)."""
    # includes x ≈ 3π, π/2 (zeros of sin x, cos x: the R_0 branch) and x = 1e-3
    m64 = np.array([1.5 + 0.0j, 1.5 + 0.1j, 4.0 + 0.1j, 1.5 + 0.1j, 10 + 10j, 1.05 + 0.0j, 1.45 + 0.008j, 1.7])
    x64 = np.array([0.1, 1.0, 3.0, 10.0, 1.0, 1e-3, 3 * np.pi, np.pi / 2])
    ns = required_n_start(np.max(np.abs(m64) * x64), 21)
    f = jax.jit(
        jax.vmap(
            lambda mm, xx: (
                mie_efficiencies(mm, xx, 21, n_start=ns),
                mie_coefficients(mm, xx, 21, n_start=ns)[0],
            )
        )
    )
    e64, a64 = f(m64, x64)
    e32, a32 = f(m64.astype(np.complex64), x64.astype(np.float32))
    assert a32.dtype == jnp.complex64 and e32.qext.dtype == jnp.float32
    for name in ("qext", "qsca", "qback", "qfwd", "g"):
        np.testing.assert_allclose(getattr(e32, name), getattr(e64, name), rtol=2e-5)
    # x32 differs from x64 by rounding; compare with float64 at the float32 inputs too
    e64r, _ = f(m64.astype(np.complex64).astype(complex), x64.astype(np.float32).astype(float))
    np.testing.assert_allclose(e32.qext, e64r.qext, rtol=1e-5)
    scale = np.max(np.abs(np.asarray(a64)), axis=1, keepdims=True)
    assert np.max(np.abs(np.asarray(a32) - np.asarray(a64)) / scale) < 1e-5


# slow: four more programs; float32 of the Mie series (which these evaluate) stays covered by
# default in test_float32_matches_float64
@pytest.mark.slow
def test_float32_dipole_polarizabilities():
    # small x in float32: no underflow/overflow (products of ratios), scaled α̃ accurate
    p32 = scaled_dipole_polarizabilities(np.complex64(1.5), np.float32(1e-3))
    p64 = scaled_dipole_polarizabilities(1.5, 1e-3)
    assert p32.alpha_e.dtype == jnp.complex64
    np.testing.assert_allclose(complex(p32.alpha_e), complex(p64.alpha_e), rtol=1e-5)
    np.testing.assert_allclose(complex(p32.alpha_m), complex(p64.alpha_m), rtol=1e-5)
    d32 = dipole_polarizabilities(np.complex64(1.45), np.float32(50e-9), np.float32(1064e-9))
    d64 = dipole_polarizabilities(1.45, 50e-9, 1064e-9)
    np.testing.assert_allclose(complex(d32.alpha_e), complex(d64.alpha_e), rtol=1e-5)


# --------------------------------------------------------------------------------------
# static sizes and input validation
# --------------------------------------------------------------------------------------


def test_static_sizes():
    assert wiscombe_n_max(10.0) == 21  # ⌈10 + 4·10^{1/3} + 2⌉ = ⌈20.62⌉
    assert wiscombe_n_max(np.array([0.5, 3.0])) == wiscombe_n_max(3.0)
    assert default_n_start(1) == 48 and default_n_start(40) == 176
    assert required_n_start(300.0, 45) == math.ceil(316 + 4 * 300 ** (1 / 3))
    assert required_n_start(0.1, 45) == 61
    with pytest.raises(TypeError, match="concrete"):
        jax.jit(wiscombe_n_max)(1.0)
    with pytest.raises(ValueError, match="n_max"):
        mie_coefficients(1.5, 1.0, 0)
    with pytest.raises(TypeError, match="n_max"):
        mie_coefficients(1.5, 1.0, 3.0)
    with pytest.raises(ValueError, match="n_start"):
        mie_coefficients(1.5, 1.0, 10, n_start=20)
    with pytest.raises(ValueError, match="n_max = 3 truncates"):
        mie_efficiencies(1.5, 5.0, 3)


@pytest.mark.parametrize(
    "args, match",
    [
        ((1.5, 0.0), "x must be positive"),
        ((1.5, -1.0), "x must be positive"),
        ((1.5, np.nan), "x must be finite"),
        ((1.5 - 0.1j, 1.0), "m = .*negative imaginary part"),
        ((complex(np.inf, 0), 1.0), "m must be finite"),
        ((0.0, 1.0), "m must be non-zero"),
        ((10 + 10j, 30.0, 45, 64), "needs n_start"),
    ],
)
def test_bad_input_concrete(args, match):
    m, x, *rest = args
    n_max = rest[0] if rest else 3
    kw = {"n_start": rest[1]} if len(rest) > 1 else {}
    with pytest.raises(ValueError, match=match):
        mie_coefficients(m, x, n_max, **kw)


def test_bad_input_traced_is_nan():
    """Under a user's jit a bad point is NaN (no host callback), never a finite substitute."""
    f = jax.jit(lambda m, x: mie_coefficients(m, x, 3)[0])
    assert np.all(np.isfinite(np.asarray(f(1.5 + 0j, 1.0))))
    assert np.all(np.isnan(np.asarray(f(1.5 + 0j, -1.0))))  # x must be positive
    assert np.all(np.isnan(np.asarray(f(1.5 - 0.1j, 1.0))))  # no gain
    assert np.all(np.isnan(np.asarray(f(10 + 10j, 30.0))))  # |m x| = 424 > default n_start
    g = jax.jit(lambda x: mie_efficiencies(1.5, x, 3).qext)
    assert np.isnan(g(5.0))  # n_max = 3 is too small
    h = jax.jit(lambda r, lam: dipole_polarizabilities(1.5, r, lam).alpha_e)
    assert np.isfinite(h(1e-9, 1e-6))
    assert np.isnan(h(-1e-9, 1e-6)) and np.isnan(h(1e-9, 0.0))
    # the same inputs eagerly: errors naming the argument
    with pytest.raises(ValueError, match="x must be positive"):
        mie_coefficients(1.5 + 0j, -1.0, 3)
    with pytest.raises(ValueError, match="n_max = 3 truncates"):
        mie_efficiencies(1.5, 5.0, 3)


@pytest.mark.unchecked  # wrong dtypes and shapes on purpose: the library's own messages
def test_bad_input_dipole_concrete():
    with pytest.raises(ValueError, match="radius"):
        dipole_polarizabilities(1.5, 0.0, 1e-6)
    with pytest.raises(ValueError, match="wavelength"):
        dipole_polarizabilities(1.5, 1e-8, -1e-6)
    with pytest.raises(ValueError, match="medium_index"):
        dipole_polarizabilities(1.5, 1e-8, 1e-6, medium_index=0.0)
    with pytest.raises(ValueError, match="gain"):
        dipole_polarizabilities(1.5 - 0.01j, 1e-8, 1e-6)
    with pytest.raises(TypeError, match="real"):
        mie_coefficients(1.5, 1.0 + 0j, 3)
    with pytest.raises(ValueError, match="shape"):
        mie_coefficients(1.5, jnp.ones(2), 3)


def test_guarded_value_is_used():
    """The guarded value flows into the result: a traced bad point is NaN, its neighbours in
    the batch are unaffected."""
    f = jax.jit(jax.vmap(lambda x: mie_efficiencies(1.5, x, 10, n_start=48).qext))
    good = np.asarray(f(jnp.asarray([0.5, 1.0, 2.0])))
    assert np.all(np.isfinite(good))
    out = np.asarray(f(jnp.asarray([0.5, np.nan, 2.0])))
    assert np.isnan(out[1]) and out[0] == good[0] and out[2] == good[2]
