"""Tests for mechanics.array / mechanics.rates (paper 000 eqs. 6–9, A7; paper 001 eqs. 71–87)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind import constants as Cst
from jaxbind.mechanics.array import TweezerArray, linearize
from jaxbind.mechanics.exact import _angular_kernel, _angular_kernel_em
from jaxbind.optics.scatterers import ClausiusMossotti
from jaxbind.mechanics.rates import coupling_rates, two_particle_rates
from jaxbind.optics.green import green_scaled

LAM = 1550e-9
K = 2 * np.pi / LAM
# one compilation per input structure instead of op-by-op dispatch (keeps the file fast)
lin_ff = eqx.filter_jit(linearize)
rates = eqx.filter_jit(two_particle_rates)


def pair(kd, phi=0.0, psi=(np.pi / 2, np.pi / 2), beta=0.0, powers=(0.3, 0.3), a=50e-9,
         NA=0.6, dtype=jnp.float64, model=None, index=1.45):
    d = kd / K
    pos = jnp.array([[0.0, 0.0], [d * np.cos(beta), d * np.sin(beta)]], dtype)
    return TweezerArray(pos, powers=jnp.asarray(powers, dtype), wavelength=jnp.asarray(LAM, dtype),
                        NA=jnp.asarray(NA, dtype), phases=jnp.asarray([phi, 0.0], dtype),
                        polarization_angles=jnp.asarray(psi, dtype), radii=jnp.asarray(a, dtype),
                        index=index, density=jnp.asarray(2200.0, dtype), model=model)


def random_array(rng, n, a=50e-9):
    # points on a jittered grid with spacing > waist so tweezers never overlap
    grid = np.stack(np.meshgrid(np.arange(3), np.arange(3)), -1).reshape(-1, 2)[:n]
    pos = (grid * 4.0 + rng.uniform(-1, 1, (n, 2))) * 1e-6
    return TweezerArray(pos, powers=rng.uniform(0.1, 0.4, n), wavelength=LAM,
                        waists=rng.uniform(0.7e-6, 1.0e-6, n), phases=rng.uniform(0, 2 * np.pi, n),
                        polarization_angles=rng.uniform(0, np.pi, n), radii=a, index=1.45,
                        density=2200.0)


# --------------------------------------------------------------------------- closed forms


# slow: the angular kernel and its derivatives stay covered by default against the closed form in
# tests/mechanics/test_exact.py::test_angular_kernel_closed_form_derivatives, and through C − Cᵀ =
# 4 Im D in test_exact_identities
@pytest.mark.slow
def test_angular_kernel_is_imag_green_tensor():
    Rs = jnp.array([[1.3, -0.4, 0.7], [0.3, 2.9, 0.1], [7.0, 3.0, 0.0], [2.0, 2.0, 0.0]])
    np.testing.assert_allclose(jax.jit(jax.vmap(_angular_kernel))(Rs),
                               jnp.imag(jax.vmap(green_scaled)(Rs)), atol=1e-13)
    H1 = jax.jit(jax.vmap(jax.jacfwd(jax.jacfwd(_angular_kernel))))(Rs)
    H2 = jax.jit(jax.vmap(jax.jacfwd(jax.jacfwd(lambda r: jnp.imag(green_scaled(r))))))(Rs)
    np.testing.assert_allclose(H1, H2, atol=1e-12)
    # at R = 0: W = (2/3)1 (Im g(0)) and −∂z²W_xx = ⟨n_z²(1 − n_x²)⟩ = 4/15
    np.testing.assert_allclose(_angular_kernel(jnp.zeros(3)), 2 / 3 * np.eye(3), atol=1e-15)
    H0 = jax.jit(jax.jacfwd(jax.jacfwd(_angular_kernel)))(jnp.zeros(3))
    np.testing.assert_allclose(-H0[0, 0, 2, 2], 4 / 15, rtol=1e-12)


# slow: the 6×6 electric + magnetic kernel stays covered by default through C − Cᵀ = 4 Im D/ħ
# with MieDipole particles in tests/mechanics/test_exact.py::test_identity_with_magnetic_dipoles
# and by its closed-form derivatives in test_exact.py::test_angular_kernel_closed_form_derivatives
@pytest.mark.slow
def test_em_angular_kernel_is_the_polarization_sum():
    """The 6×6 diffusion kernel equals the angular average of the far-field polarization sum
    of electric + magnetic dipoles, (a − n×b)ᵀ(1 − n⊗n)(c − n×d)* e^{in·R}, by quadrature."""
    x, wx = np.polynomial.legendre.leggauss(48)
    ph = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    ct, p_ = np.meshgrid(x, ph, indexing="ij")
    st = np.sqrt(1 - ct**2)
    n = np.stack([st * np.cos(p_), st * np.sin(p_), ct], -1).reshape(-1, 3)
    w = (np.repeat(wx, ph.size) * (2 * np.pi / ph.size) / (4 * np.pi))
    rng = np.random.default_rng(3)
    q1 = rng.normal(size=6) + 1j * rng.normal(size=6)
    q2 = rng.normal(size=6) + 1j * rng.normal(size=6)

    def amp(q):  # transverse far-field amplitude (1 − nn)(p − n × m)
        v = q[:3] - np.cross(n, q[3:])
        return v - n * np.sum(n * v, -1, keepdims=True)

    for R in ([1.3, -0.4, 0.7], [0.3, 2.9, 0.1], [0.0, 0.0, 0.0]):
        quad = np.sum(w * np.sum(amp(q1) * np.conj(amp(q2)), -1) * np.exp(1j * n @ np.array(R)))
        Kr, Ki = _angular_kernel_em(jnp.asarray(R))
        np.testing.assert_allclose(q1 @ (np.asarray(Kr) + 1j * np.asarray(Ki)) @ np.conj(q2),
                                   quad, rtol=1e-10, atol=1e-12)


def test_two_particle_closed_forms_match_general_far_field():
    """Eqs. 83–85 (sin-angle closed forms) vs the general tensor eqs. 76–79, any geometry."""
    arr = pair(2 * np.pi * 7 + 1.1, phi=0.9, psi=(0.3, 1.2), beta=0.927, powers=(0.3, 0.2))
    lin = lin_ff(arr)
    tp = rates(arr)
    np.testing.assert_allclose([lin.C[0, 1], lin.C[1, 0]], [tp.C12, tp.C21], rtol=1e-12)
    np.testing.assert_allclose(lin.D[0, 1], tp.D12, rtol=1e-12)
    np.testing.assert_allclose(jnp.real(jnp.diag(lin.D)), [tp.D11, tp.D22], rtol=1e-12)
    np.testing.assert_allclose(lin.F, tp.F, rtol=1e-12)
    np.testing.assert_allclose(lin.K, [tp.C12, tp.C21], rtol=1e-12)
    np.testing.assert_allclose(lin.omega, tp.omega, rtol=1e-12)


def test_paper_000_and_001_conventions_agree():
    arr = pair(2 * np.pi * 5 + 0.4, phi=1.3)
    tp = rates(arr)
    mw = 2 * tp.mass * tp.omega_m
    np.testing.assert_allclose(tp.C12 / mw, tp.g_r + tp.g_a, rtol=1e-12)  # Fig. 2
    np.testing.assert_allclose(tp.C21 / mw, tp.g_r - tp.g_a, rtol=1e-12)
    g_r, g_a, D12 = coupling_rates(tp.phase, tp.kd, tp.G)  # paper 000 eqs. 6, 8
    np.testing.assert_allclose([g_r, g_a], [tp.g_r, tp.g_a], rtol=1e-12)
    np.testing.assert_allclose(D12, tp.D12 / (tp.mass * tp.omega_m), rtol=1e-12)
    np.testing.assert_allclose(tp.delta_H0, [tp.g_r + tp.g_a, tp.g_r - tp.g_a], rtol=1e-12)
    # paper 000 eq. A7 with the 1/z_R kept: G = α² k³ k'² E1E2 cos²θ/(16π ε0 m ω)
    alpha = jnp.real(arr.particles().polarizabilities_scaled(K)[0][0]) * 4 * np.pi * Cst.eps0 / K**3
    kp = K - 1 / arr.rayleigh_ranges[0]
    E = arr.focal_amplitudes[0]
    G = alpha**2 * K**3 * kp**2 * E**2 / (16 * np.pi * tp.mass * Cst.eps0 * tp.omega_m)
    np.testing.assert_allclose(tp.G, G, rtol=1e-10)
    # eq. 71: m ω² = α|E|²/(2 z_R²)
    np.testing.assert_allclose(tp.mass * tp.omega[0] ** 2,
                               alpha * E**2 / (2 * arr.rayleigh_ranges[0] ** 2), rtol=1e-10)
    # eq. 79a and γ_rec = D11/(ħ m ω)
    D11 = alpha**2 * K**3 * E**2 * (5 * kp**2 + 2 * K**2) / (120 * np.pi * Cst.eps0)
    np.testing.assert_allclose(tp.D11, D11, rtol=1e-10)
    np.testing.assert_allclose(tp.gamma_rec[0], D11 / (tp.mass * tp.omega_m), rtol=1e-10)


def test_unidirectional_point():
    """φ = kd = 2πn + π/4 (paper 001 Sec. IV.B.5): C21 = 0, C12 = C, D12 = ħC(1+i)/4."""
    kd = 2 * np.pi * 4 + np.pi / 4
    tp = rates(pair(kd, phi=kd))
    np.testing.assert_allclose(tp.C21, 0.0, atol=1e-12 * abs(tp.C))
    np.testing.assert_allclose(tp.C12, tp.C, rtol=1e-12)
    np.testing.assert_allclose(tp.D12, tp.C * (1 + 1j) / 4, rtol=1e-12)
    np.testing.assert_allclose(tp.g_r, tp.g_a, rtol=1e-12)


# slow: the second distance (the same identity); the first stays in the default suite
@pytest.mark.parametrize("kd", [2 * np.pi * 3 + 0.5,
                                pytest.param(2 * np.pi * 6 + 2.2, marks=pytest.mark.slow)])
def test_reciprocal_and_antireciprocal_phases(kd):
    r = rates(pair(kd, phi=0.0))
    np.testing.assert_allclose(r.C12, r.C21, rtol=1e-12)
    assert abs(jnp.imag(r.D12)) < 1e-12 * abs(r.C) and abs(r.g_a) < 1e-12 * abs(r.g)
    a = rates(pair(kd, phi=np.pi / 2))
    np.testing.assert_allclose(a.C12, -a.C21, rtol=1e-10)
    assert abs(jnp.real(a.D12)) < 1e-12 * abs(a.C) and abs(a.g_r) < 1e-12 * abs(a.g)


# slow: the second array size (one more compile); the same identities at N = 3 stay default
@pytest.mark.parametrize("n", [3, pytest.param(9, marks=pytest.mark.slow)])
def test_far_field_identities_random_arrays(rng, n):
    lin = lin_ff(random_array(rng, n))
    D = np.asarray(lin.D)
    np.testing.assert_allclose(lin.C - lin.C.T, 4 * np.imag(D), atol=1e-14 * np.abs(lin.C).max())
    np.testing.assert_allclose(D, D.conj().T, atol=0)
    dd = np.real(np.diag(D))
    off = ~np.eye(n, dtype=bool)
    assert np.all((dd[:, None] * dd[None, :])[off] > np.abs(D[off]) ** 2)
    assert np.all(np.linalg.eigvalsh(D) > 0)
    np.testing.assert_allclose(lin.K, lin.C.sum(1), rtol=1e-12)


# --------------------------------------------------------------------------- exact


@pytest.fixture(scope="module")
def exact_batch():
    """One vmapped, jitted exact linearization of 2-particle arrays (one compilation), with the
    papers' electric-dipole model (the far-field closed forms are derived for it)."""
    kds = np.array([2 * np.pi * 4 + 0.7, 2 * np.pi * 16 + 0.7, 2 * np.pi * 64 + 0.7, 2 * np.pi * 256 + 0.7])
    phis = np.array([0.4, 1.9, 2.8, 0.4])

    def build(kd, phi):
        return pair(kd, phi=phi, psi=(0.3, 1.2), beta=0.9, powers=(0.3, 0.2), a=30e-9,
                    model=ClausiusMossotti())

    arrs = jax.vmap(build)(jnp.asarray(kds), jnp.asarray(phis))
    lin_e = eqx.filter_jit(eqx.filter_vmap(lambda a: linearize(a, "exact")))(arrs)
    lin_f = eqx.filter_jit(eqx.filter_vmap(linearize))(arrs)
    return kds, arrs, lin_e, lin_f


@pytest.fixture(scope="module")
def exact_batch_magnetic():
    """Exact linearization (throw=False) with the default MieDipole model (electric + magnetic
    dipoles) of 100-nm spheres, where the magnetic dipole (b₁) changes C and D at the 1e-3
    level. The last array of the batch holds bubbles (index 0.7: Re α < 0, not trapped) for
    test_untrapped_particle_exact_method: one compiled program serves both."""
    kds = jnp.array([2 * np.pi * 2 + 0.7, 2 * np.pi * 9 + 1.9, 2 * np.pi * 9 + 1.9])
    index = jnp.array([1.45, 1.45, 0.7])
    arrs = jax.vmap(lambda kd, n: pair(kd, phi=1.1, psi=(0.3, 1.2), beta=0.9, powers=(0.3, 0.2),
                                       a=100e-9, index=n))(kds, index)
    assert arrs.model.magnetic  # the default model (MieDipole) has magnetic dipoles
    return eqx.filter_jit(eqx.filter_vmap(lambda a: linearize(a, "exact", throw=False)))(arrs)


# slow: the magnetic (MieDipole) batch (~6 CPU-s of compile); the same identity with magnetic
# dipoles stays covered by default in tests/mechanics/test_exact.py::test_identity_with_magnetic_dipoles
@pytest.mark.parametrize("which", ["electric", pytest.param("magnetic", marks=pytest.mark.slow)])
def test_exact_identities(which, request):
    """C − Cᵀ = 4 Im D/ħ (paper 001) for electric dipoles and, with the 6×6 angular kernel of
    the diffusion, for electric + magnetic (MieDipole) particles; D Hermitian and positive."""
    lin = (request.getfixturevalue("exact_batch")[2] if which == "electric"
           else request.getfixturevalue("exact_batch_magnetic"))
    n_trapped = 4 if which == "electric" else 2  # the magnetic batch ends with a bubble pair
    for b in range(n_trapped):
        C = np.asarray(lin.C[b])
        D = np.asarray(lin.D[b])
        np.testing.assert_allclose(C - C.T, 4 * np.imag(D), atol=1e-8 * np.abs(C).max())
        np.testing.assert_allclose(D, D.conj().T, atol=1e-30)
        assert np.real(D[0, 0] * D[1, 1]) > abs(D[0, 1]) ** 2


def test_exact_agrees_with_far_field_to_order_one_over_kd(exact_batch):
    kds, arrs, le, lf = exact_batch
    C = np.abs(lf.C).max(axis=(1, 2))
    errC = np.abs(le.C - lf.C).max(axis=(1, 2)) / C
    errD = np.abs(le.D[:, 0, 1] - lf.D[:, 0, 1]) / C
    errF = np.abs(le.F - lf.F).max(axis=1) / np.abs(lf.F).max(axis=1)
    # relative deviation × kd stays bounded (the near-field 1/ρ² terms), i.e. O(1/kd)
    assert np.all(errC * kds < 20) and np.all(errD * kds < 40)
    assert errC[-1] < 0.02 and errC[-1] < errC[0] / 20
    assert np.all(np.diff(errF) < 0)
    # isolated-particle quantities: recoil (eq. 79a) and trap frequency (eq. 71)
    np.testing.assert_allclose(np.real(le.D[-1, 0, 0]), np.real(lf.D[-1, 0, 0]), rtol=1e-4)
    np.testing.assert_allclose(le.omega[-1], lf.omega[-1], rtol=1e-4)


def test_exact_K_has_gouy_curvature_correction(exact_batch):
    """Exact K_j = Σ C_jj' (κ_j² + 1/(k z_R)²)/(κ_j κ_j'): the paraxial envelope curvature
    the papers drop when they expand E ≈ E_j e^{i(k − 1/z_R) z} (eq. 76 is its κ-only limit)."""
    kds, arrs, le, _ = exact_batch
    kzr = K * np.pi * arrs.waists[-1, 0] ** 2 / LAM
    kap = 1 - 1 / kzr
    fac = (kap**2 + 1 / kzr**2) / kap**2
    np.testing.assert_allclose(le.K[-1], le.C[-1].sum(1) * fac, rtol=5e-3)


# --------------------------------------------------------------------------- transformations


def test_jit_vmap_grad():
    """One program: jit ∘ vmap ∘ value_and_grad of C12(φ) through linearize, and the gradient
    w.r.t. the distance through two_particle_rates, against the closed forms."""
    kd0 = 2 * np.pi * 5 + 0.3

    def c12(phi):
        return linearize(pair(kd0, phi=phi)).C[0, 1]

    @jax.jit
    def program(phis, kd):
        # gradient w.r.t. distance through two_particle_rates: dC12/dkd at fixed φ
        g = jax.grad(lambda kd: two_particle_rates(pair(kd, phi=0.4)).C12 * kd)(kd)
        return jax.vmap(jax.value_and_grad(c12))(phis), g

    phis = jnp.concatenate([jnp.linspace(0.0, 2.0, 5), jnp.array([0.7])])
    C = rates(pair(kd0)).C
    (val, dval), g = program(phis, kd0)
    np.testing.assert_allclose(val, C * np.cos(kd0 - phis), rtol=1e-12)
    np.testing.assert_allclose(dval, C * np.sin(kd0 - phis), rtol=1e-10)
    np.testing.assert_allclose(g, -C * kd0 * np.sin(kd0 - 0.4), rtol=1e-8)


def test_float32_matches_float64():
    kd = 2 * np.pi * 5 + 0.3
    l64 = lin_ff(pair(kd, phi=0.6))
    l32 = lin_ff(pair(kd, phi=0.6, dtype=jnp.float32))
    assert l32.C.dtype == jnp.float32 and l32.D.dtype == jnp.complex64
    for a, b in ((l32.omega, l64.omega), (l32.C, l64.C), (l32.D, l64.D), (l32.F, l64.F)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-5 * np.abs(b).max())
    r = rates(pair(kd, phi=0.6, dtype=jnp.float32))
    np.testing.assert_allclose(r.gamma_rec, rates(pair(kd, phi=0.6)).gamma_rec, rtol=2e-5)


# --------------------------------------------------------------------------- bad input


def test_bad_input():
    base = dict(powers=0.3, wavelength=LAM, NA=0.6, radii=50e-9, index=1.45, density=2200.0)
    ok = [[0, 0], [5e-6, 0]]
    with pytest.raises(ValueError, match="tweezers 0 and 1 overlap"):
        TweezerArray([[0, 0], [0.3e-6, 0]], **base)
    with pytest.raises(ValueError, match="particles 0 and 1 overlap"):
        TweezerArray([[0, 0], [0.05e-6, 0]], **base)
    with pytest.raises(ValueError, match="powers"):
        TweezerArray(ok, **{**base, "powers": [0.3, 0.0]})
    with pytest.raises(ValueError, match="density"):
        TweezerArray(ok, **{**base, "density": -1.0})
    with pytest.raises(ValueError, match="radii"):
        TweezerArray(ok, **{**base, "radii": 0.0})
    with pytest.raises(ValueError, match="polarization_angles"):
        TweezerArray(ok, polarization_angles=[0.0, 0.1, 0.2], **base)
    with pytest.raises(ValueError, match="focal plane"):
        TweezerArray([[0, 0, 0], [5e-6, 0, 1e-7]], **base)
    with pytest.raises(ValueError, match="index and alpha"):
        TweezerArray(ok, **{**base, "alpha": 1e-32})
    arr = TweezerArray(ok, **base)
    with pytest.raises(ValueError, match="method"):
        linearize(arr, "nearfield")
    with pytest.raises(ValueError, match="axis"):
        linearize(arr, axis="xyz")
    with pytest.raises(ValueError, match="exactly 2"):
        two_particle_rates(TweezerArray([[0, 0], [5e-6, 0], [10e-6, 0]], **base))


def _untrapped(n_index, method, throw=False):
    base = dict(powers=0.2, wavelength=LAM, waists=1e-6, radii=50e-9, density=2200.0)
    arr = TweezerArray([[0.0, 0.0], [5e-6, 0.0]], index=n_index, **base)
    return linearize(arr, method, throw=throw)


def _assert_last_untrapped(out, status):
    np.testing.assert_array_equal(np.asarray(out.status), status)
    assert np.all(np.isfinite(np.asarray(out.omega[0])))
    assert np.all(np.isnan(np.asarray(out.omega[-1]))) and np.all(np.isnan(np.asarray(out.C[-1])))


def test_untrapped_particle_is_a_result_code_with_nan():
    """A particle with Re α < 0 (index < 1 in vacuum: a bubble) is not trapped: with
    throw=False the linearization carries RESULTS.not_trapped and NaN arrays (far field here,
    the exact method in test_untrapped_particle_exact_method)."""
    from jaxbind.results import RESULTS, code

    ok, bad = int(code(RESULTS.successful)), int(code(RESULTS.not_trapped))
    far = eqx.filter_jit(eqx.filter_vmap(lambda n: _untrapped(n, "far_field")))(jnp.array([1.45, 0.7]))
    _assert_last_untrapped(far, [ok, bad])
    with pytest.raises(eqx.EquinoxRuntimeError, match="not trapped"):
        _untrapped(0.7, "far_field", throw=True)


# slow: the exact method's half of the untrapped check (it needs the magnetic exact batch, one
# ~6 CPU-s compile); the result code and NaN masking stay covered by default for the far-field
# method in test_untrapped_particle_is_a_result_code_with_nan
@pytest.mark.slow
def test_untrapped_particle_exact_method(exact_batch_magnetic):
    """The exact linearization from the shared batch whose last array holds bubbles."""
    from jaxbind.results import RESULTS, code

    ok, bad = int(code(RESULTS.successful)), int(code(RESULTS.not_trapped))
    _assert_last_untrapped(exact_batch_magnetic, [ok, ok, bad])


def test_deprecated_singular_keywords():
    """waist=/radius= still work for one release (DeprecationWarning) and equal waists=/radii=."""
    base = dict(powers=0.2, wavelength=LAM, index=1.45, density=2200.0)
    new = TweezerArray([[0.0, 0.0], [5e-6, 0.0]], waists=1e-6, radii=50e-9, **base)
    with pytest.warns(DeprecationWarning, match="radii"):
        old = TweezerArray([[0.0, 0.0], [5e-6, 0.0]], waists=1e-6, radius=50e-9, **base)
    with pytest.warns(DeprecationWarning, match="waists"):
        old2 = TweezerArray([[0.0, 0.0], [5e-6, 0.0]], waist=1e-6, radii=50e-9, **base)
    for o in (old, old2):
        np.testing.assert_array_equal(np.asarray(o.radii), np.asarray(new.radii))
        np.testing.assert_array_equal(np.asarray(o.waists), np.asarray(new.waists))
    with pytest.raises(TypeError, match="not both"):
        TweezerArray([[0.0, 0.0], [5e-6, 0.0]], waists=1e-6, waist=1e-6, radii=50e-9, **base)
