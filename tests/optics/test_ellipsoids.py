"""Tests for jaxbind.optics.ellipsoids (paper 001 eqs. 8, 24, 25)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special
from scipy.spatial.transform import Rotation

from helpers import check_jvp
from jaxbind import constants
from jaxbind.optics.ellipsoids import (
    Ellipsoid,
    depolarization_factors,
    rotation_matrix,
    spheroid_depolarization_factors,
    susceptibility_tensor,
)
from jaxbind.optics.materials import clausius_mossotti, clausius_mossotti_scaled


def n_scipy(a):
    """Eq. 25 through scipy's Carlson R_D (independent implementation)."""
    a = np.asarray(a, float)
    p = a.prod() / 3
    return np.array([p * special.elliprd(a[1] ** 2, a[2] ** 2, a[0] ** 2),
                     p * special.elliprd(a[2] ** 2, a[0] ** 2, a[1] ** 2),
                     p * special.elliprd(a[0] ** 2, a[1] ** 2, a[2] ** 2)])


# --- depolarization -----------------------------------------------------------------------


# slow: its own programs; the sphere stays covered by default in
# test_polarizability_sphere_equals_clausius_mossotti (χ, α of a sphere = Clausius–Mossotti) and
# the general factors against SciPy in test_general_vs_scipy_and_trace
@pytest.mark.slow
def test_sphere_limit():
    np.testing.assert_allclose(depolarization_factors(jnp.full(3, 2.5e-7)), np.full(3, 1 / 3), rtol=1e-15)
    np.testing.assert_allclose(spheroid_depolarization_factors(1.0, 1.0), np.full(3, 1 / 3), rtol=1e-15)
    eps = 2.1 + 0.2j
    chi = Ellipsoid.sphere(1e-7, eps).susceptibility()
    np.testing.assert_allclose(chi, 3 * (eps - 1) / (eps + 2) * np.eye(3), rtol=1e-14, atol=1e-16)


def test_eq25_integral_directly():
    """N_1 of eq. 25 by adaptive quadrature of the printed integral."""
    a = np.array([1.0, 0.4, 2.3])
    n = np.asarray(depolarization_factors(a))
    for i in range(3):
        ai, aj, ak = a[i], a[(i + 1) % 3], a[(i + 2) % 3]
        val, _ = integrate.quad(
            lambda s: 1 / np.sqrt((s + ai**2) ** 3 * (s + aj**2) * (s + ak**2)), 0, np.inf,
            epsabs=0, epsrel=1e-12, limit=200)
        np.testing.assert_allclose(n[i], a.prod() / 2 * val, rtol=1e-10)


def test_general_vs_scipy_and_trace(rng):
    axes = np.exp(rng.uniform(-3, 3, size=(40, 3)))
    n = np.asarray(jax.jit(jax.vmap(depolarization_factors))(jnp.asarray(axes)))
    np.testing.assert_allclose(n, np.stack([n_scipy(a) for a in axes]), rtol=1e-13)
    np.testing.assert_allclose(n.sum(axis=1), 1.0, rtol=1e-14)
    assert np.all((n > 0) & (n < 1))
    # Longer axis ⇒ smaller depolarization factor.
    order_a = np.argsort(axes, axis=1)
    assert np.all(np.take_along_axis(n, order_a, axis=1)[:, ::-1].argsort(axis=1) == np.arange(3))
    # Extreme aspect ratios (1e-6 … 1e6).
    for a in [(1.0, 1.0, 1e6), (1e-6, 1.0, 1.0), (1e-6, 1.0, 1e3)]:
        np.testing.assert_allclose(depolarization_factors(jnp.asarray(a)), n_scipy(a), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("q", [1e-3, 0.2, 0.7, 0.94, 0.9487, 0.96, 0.999, 1.001, 1.04, 1.0488, 1.06, 1.5, 4.0, 1e3])
def test_spheroid_closed_form_vs_general(q):
    """Prolate (q = c/a > 1) and oblate (q < 1) closed forms vs the general Carlson evaluation,
    including both sides of the series/closed-form switch at |1 − q²| = 0.1."""
    closed = spheroid_depolarization_factors(1.0, q)
    np.testing.assert_allclose(closed, depolarization_factors(jnp.array([1.0, 1.0, q])), rtol=1e-13)
    np.testing.assert_allclose(closed, n_scipy([1.0, 1.0, q]), rtol=1e-13)


# slow: a second reference for the spheroid closed form, which stays covered by default against
# the general Carlson evaluation and SciPy in test_spheroid_closed_form_vs_general
@pytest.mark.slow
def test_spheroid_textbook_limits():
    e = 0.8  # prolate eccentricity: N_c = (1 − e²)/e² (atanh(e)/e − 1)
    q = 1 / np.sqrt(1 - e**2)
    np.testing.assert_allclose(spheroid_depolarization_factors(1.0, q)[2],
                               (1 - e**2) / e**2 * (np.arctanh(e) / e - 1), rtol=1e-14)
    # Needle → (1/2, 1/2, 0); disk → (0, 0, 1).
    np.testing.assert_allclose(spheroid_depolarization_factors(1.0, 1e8), [0.5, 0.5, 0.0], atol=1e-14)
    np.testing.assert_allclose(spheroid_depolarization_factors(1.0, 1e-8), [0.0, 0.0, 1.0], atol=1e-7)


# slow: jit/vmap/grad through the depolarization factors stay covered by default in
# test_polarizability_jit_vmap_grad (the closed form against the general one in
# test_spheroid_closed_form_vs_general)
@pytest.mark.slow
def test_depolarization_gradients():
    a = jnp.array([1.0, 0.6, 1.7])
    check_jvp(jax.jit(depolarization_factors), a, rtol=1e-7)
    jac = jax.jit(jax.jacfwd(depolarization_factors))(a)
    np.testing.assert_allclose(jac.sum(axis=0), 0.0, atol=1e-14)  # tr N = 1 for all axes
    np.testing.assert_allclose(jac @ a, 0.0, atol=1e-14)  # scale invariance (Euler relation)
    # Closed form is differentiable through the sphere (series branch) and off it, on both
    # sides of the series switch, and agrees with the general evaluation.
    closed_nc = lambda c: spheroid_depolarization_factors(1.0, c)  # noqa: E731
    general_nc = lambda c: depolarization_factors(jnp.stack([1.0, 1.0, c]))  # noqa: E731
    qs = jnp.array([1.0, 1.02, 0.99, 0.5, 0.3, 2.0, 3.0])
    g_closed = jax.jit(jax.vmap(jax.jacfwd(closed_nc)))(qs)
    assert np.all(np.isfinite(g_closed))
    np.testing.assert_allclose(g_closed, jax.jit(jax.vmap(jax.jacfwd(general_nc)))(qs), rtol=1e-10, atol=1e-14)
    # Sphere: dN_c/dq = −4/15 (series coefficient −2·g_1); reverse mode, vmapped.
    np.testing.assert_allclose(g_closed[0, 2], -4 / 15, rtol=1e-13)
    np.testing.assert_allclose(jax.jit(jax.vmap(jax.grad(lambda c: closed_nc(c)[2])))(qs), g_closed[:, 2], rtol=1e-12)


# --- rotations ----------------------------------------------------------------------------


def test_rotation_matrix_properties(rng):
    angs = rng.uniform(-np.pi, np.pi, size=(8, 3))
    rs = np.asarray(jax.jit(jax.vmap(rotation_matrix))(*angs.T))

    def rotation_matrix_np(a, b, g):  # one compiled program for every call; products in NumPy
        return np.asarray(rotation_matrix(a, b, g))

    for r, (a, b, g) in zip(rs, angs):
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-14)
        np.testing.assert_allclose(np.linalg.det(r), 1.0, rtol=1e-14)
        # Intrinsic z-y'-z'' convention, independent implementation.
        np.testing.assert_allclose(r, Rotation.from_euler("ZYZ", [a, b, g]).as_matrix(), atol=1e-14)
        # Composition: R(α,β,γ) = R(α,0,0) R(0,β,0) R(0,0,γ) and its inverse R(−γ,−β,−α).
        comp = rotation_matrix_np(a, 0.0, 0.0) @ rotation_matrix_np(0.0, b, 0.0) @ rotation_matrix_np(0.0, 0.0, g)
        np.testing.assert_allclose(r, comp, atol=1e-14)
        np.testing.assert_allclose(rotation_matrix_np(-g, -b, -a), r.T, atol=1e-14)
    a1, a2 = angs[0, 0], angs[1, 0]
    np.testing.assert_allclose(rotation_matrix_np(a1, 0.0, 0.0) @ rotation_matrix_np(a2, 0.0, 0.0),
                               rotation_matrix_np(a1 + a2, 0.0, 0.0), atol=1e-14)
    # Body z axis maps to the lab direction (sinβ cosα, sinβ sinα, cosβ).
    a, b, g = angs[2]
    np.testing.assert_allclose(rotation_matrix_np(a, b, g)[:, 2],
                               [np.sin(b) * np.cos(a), np.sin(b) * np.sin(a), np.cos(b)], atol=1e-14)


# --- susceptibility and polarizability tensors --------------------------------------------


def test_lab_tensor_is_rotated_body_tensor(rng):
    axes = jnp.array([60e-9, 90e-9, 150e-9])
    angles = jnp.asarray(rng.uniform(-np.pi, np.pi, 3))
    for eps in [2.1, 2.1 + 0.3j]:
        e = Ellipsoid(axes, eps, angles)
        body = e.susceptibility(frame="body")
        lab = e.susceptibility(frame="lab")
        r = np.asarray(rotation_matrix(*angles))
        np.testing.assert_allclose(lab, r @ np.asarray(body) @ r.T, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(lab, np.asarray(lab).T, atol=1e-15)  # symmetric (not Hermitian)
        n = n_scipy(axes)
        np.testing.assert_allclose(np.diag(body), (eps - 1) / (1 + n * (eps - 1)), rtol=1e-13)
        np.testing.assert_allclose(body, susceptibility_tensor(eps, n), rtol=1e-13)
    assert not jnp.iscomplexobj(Ellipsoid(axes, 2.1, angles).susceptibility())
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(np.asarray(Ellipsoid(axes, 2.1, angles).susceptibility()))),
                               np.sort(np.diag(np.asarray(Ellipsoid(axes, 2.1).susceptibility("body")))), rtol=1e-13)


def test_rotation_semantics_long_axis():
    """A prolate body with its long axis on body z, turned by β = π/2 about y, has its
    largest susceptibility along lab x."""
    e = Ellipsoid(jnp.array([50e-9, 50e-9, 200e-9]), 2.1, jnp.array([0.0, np.pi / 2, 0.0]))
    lab = np.asarray(e.susceptibility())
    body = np.asarray(e.susceptibility("body"))
    np.testing.assert_allclose(lab[0, 0], body[2, 2], rtol=1e-14)
    np.testing.assert_allclose(lab[2, 2], body[0, 0], rtol=1e-14)
    assert lab[0, 0] > lab[1, 1]


def test_polarizability_sphere_equals_clausius_mossotti():
    a, eps, k = 80e-9, 2.1 + 0.05j, 2 * np.pi / 1064e-9
    s = Ellipsoid.sphere(a, eps)
    eye = np.eye(3)  # products on the host: no programs for them
    np.testing.assert_allclose(s.polarizability(), complex(clausius_mossotti(eps, a)) * eye, rtol=1e-13, atol=1e-50)
    np.testing.assert_allclose(s.polarizability(k), complex(clausius_mossotti(eps, a, k)) * eye, rtol=1e-13, atol=1e-50)
    np.testing.assert_allclose(s.polarizability_scaled(k), complex(clausius_mossotti_scaled(eps, k * a)) * eye,
                               rtol=1e-13, atol=1e-16)


# slow: the volume and susceptibility programs; the polarizability tensor stays covered by default
# against Clausius–Mossotti in test_polarizability_sphere_equals_clausius_mossotti
@pytest.mark.slow
def test_polarizability_is_eps0_volume_susceptibility():
    eps, k = 2.1 + 0.05j, 2 * np.pi / 1064e-9
    # α = ε0 V χ.
    e = Ellipsoid(jnp.array([60e-9, 90e-9, 150e-9]), eps, jnp.array([0.2, 0.4, 0.6]))
    np.testing.assert_allclose(e.polarizability(), constants.epsilon0 * e.volume() * e.susceptibility(),
                               rtol=1e-13, atol=1e-50)
    np.testing.assert_allclose(e.polarizability(k, radiative=False),
                               constants.epsilon0 * e.volume() * e.susceptibility(), rtol=1e-12, atol=1e-50)


def test_tensor_radiative_correction_optical_theorem():
    """Lossless ellipsoid: (α̃ − α̃†)/(2i) = (2/3) α̃ α̃† for the lab-frame tensor."""
    e = Ellipsoid(jnp.array([60e-9, 90e-9, 150e-9]), 2.1, jnp.array([0.3, 1.1, -0.4]))
    at = np.asarray(e.polarizability_scaled(2 * np.pi / 1064e-9))
    np.testing.assert_allclose((at - at.conj().T) / 2j, 2 / 3 * at @ at.conj().T, rtol=1e-12, atol=1e-18)


def test_polarizability_grad_vmap_jit_vs_central_differences():
    """jit ∘ vmap ∘ grad of Re α̃_xx(semi-axes) over three orientations against central
    differences of the same objective (both sides one vmapped program each)."""
    k = 2 * np.pi / 1064e-9

    def obj(ka, angles):
        return jnp.real(Ellipsoid(ka / k, 2.1 + 0.05j, angles).polarizability_scaled(k)[0, 0])

    ka0 = np.array([0.4, 0.6, 0.9])
    angs = np.array([[0.0, 0.0, 0.0], [0.0, np.pi / 2, 0.0], [1.0, 0.3, -0.2]])
    gv = np.asarray(jax.jit(jax.vmap(jax.grad(obj), in_axes=(None, 0)))(ka0, angs))
    h = 1e-6
    steps = np.array([h, -h])[:, None, None] * np.eye(3)[None]  # (±, direction, axis)
    pts = (ka0 + steps).reshape(-1, 3)
    ka_b = np.repeat(pts, len(angs), axis=0)
    ang_b = np.tile(angs, (len(pts), 1))
    vals = np.asarray(jax.jit(jax.vmap(obj))(ka_b, ang_b)).reshape(2, 3, len(angs))
    fd = ((vals[0] - vals[1]) / (2 * h)).T  # (orientation, axis)
    np.testing.assert_allclose(gv, fd, rtol=1e-6, atol=1e-9 * np.abs(fd).max())


# slow: jit, vmap and grad of the polarizability stay covered by default in
# test_polarizability_grad_vmap_jit_vs_central_differences (this adds the check_jvp programs,
# the body-frame identity and the SI radius scaling)
@pytest.mark.slow
def test_polarizability_jit_vmap_grad():
    k = 2 * np.pi / 1064e-9

    def alpha_t(ka, angles):
        return Ellipsoid(ka / k, 2.1 + 0.05j, angles).polarizability_scaled(k)

    ka0 = jnp.array([0.4, 0.6, 0.9])
    ang0 = jnp.array([0.3, 0.5, 0.7])
    f = jax.jit(alpha_t)
    np.testing.assert_allclose(f(ka0, ang0), alpha_t(ka0, ang0), rtol=1e-14)
    check_jvp(lambda x: f(x, ang0), ka0, rtol=1e-6)
    check_jvp(lambda t: f(ka0, t), ang0, rtol=1e-6)
    # Real objective: grad of the lab xx element w.r.t. the semi-axes, vmapped over orientations.
    obj = lambda x, t: jnp.real(alpha_t(x, t)[0, 0])  # noqa: E731
    angs = jnp.array([[0.0, 0.0, 0.0], [0.0, np.pi / 2, 0.0], [1.0, 0.3, -0.2]])
    gv = jax.jit(jax.vmap(jax.grad(obj), in_axes=(None, 0)))(ka0, angs)
    grad_obj = jax.jit(jax.grad(obj))
    for g, t in zip(gv, angs):
        np.testing.assert_allclose(g, grad_obj(ka0, t), rtol=1e-12)
    # β = π/2 puts body z on lab x, so lab α̃_xx is body α̃_zz and so are its gradients.
    body_zz = lambda x: jnp.real(Ellipsoid(x / k, 2.1 + 0.05j).polarizability_scaled(k, frame="body")[2, 2])  # noqa: E731
    np.testing.assert_allclose(gv[1], jax.jit(jax.grad(body_zz))(ka0), rtol=1e-10)
    # SI static polarizability: dα_xx/da for a sphere → 3α/a (radius scaling).
    si = lambda a: Ellipsoid.sphere(a, 2.1).polarizability()[0, 0]  # noqa: E731
    np.testing.assert_allclose(jax.jit(jax.grad(si))(80e-9), 3 * si(80e-9) / 80e-9, rtol=1e-12)


def test_float32_matches_float64():
    axes = np.array([0.4, 0.6, 1.7])  # set-up and casts in NumPy (no conversion programs)
    n32 = depolarization_factors(axes.astype(np.float32))
    assert n32.dtype == jnp.float32
    np.testing.assert_allclose(n32, depolarization_factors(axes), rtol=2e-6)
    sp32 = spheroid_depolarization_factors(np.float32(1.0), np.float32(1.03))
    np.testing.assert_allclose(sp32, spheroid_depolarization_factors(1.0, 1.03), rtol=1e-6)
    k = 2 * np.pi / 1064e-9
    ang = np.array([0.3, 0.5, 0.7])
    e64 = Ellipsoid(axes * 1e-7, 2.1 + 0.05j, ang)
    e32 = Ellipsoid((axes * 1e-7).astype(np.float32), np.complex64(2.1 + 0.05j), ang.astype(np.float32))
    a32 = e32.polarizability_scaled(np.float32(k))
    assert a32.dtype == jnp.complex64
    ref = np.asarray(e64.polarizability_scaled(k))
    np.testing.assert_allclose(a32, ref, rtol=1e-5, atol=1e-5 * float(np.max(np.abs(ref))))


# slow: the SI program in float32 and float64; float32 of the tensor (the scaled path the SI one
# goes through) stays covered by default in test_float32_matches_float64
@pytest.mark.slow
def test_float32_si_polarizability():
    axes = jnp.array([0.4, 0.6, 1.7])
    k = 2 * np.pi / 1064e-9
    ang = jnp.array([0.3, 0.5, 0.7])
    e64 = Ellipsoid(axes * 1e-7, 2.1 + 0.05j, ang)
    e32 = Ellipsoid((axes * 1e-7).astype(jnp.float32), jnp.complex64(2.1 + 0.05j), ang.astype(jnp.float32))
    # SI, ≈1e-32 C·m²/V, no float32 underflow.
    si32 = e32.polarizability(jnp.float32(k))
    ref = e64.polarizability(k)
    np.testing.assert_allclose(si32, ref, rtol=1e-5, atol=1e-5 * float(np.max(np.abs(np.asarray(ref)))))


@pytest.mark.unchecked  # wrong shapes on purpose: the library's own messages
def test_bad_input():
    with pytest.raises(ValueError, match="semi_axes"):
        Ellipsoid(jnp.array([1e-7, 0.0, 1e-7]), 2.1)
    with pytest.raises(ValueError, match="semi_axes"):
        Ellipsoid(jnp.array([1e-7, 1e-7]), 2.1)
    with pytest.raises(ValueError, match="semi_axes"):
        depolarization_factors(jnp.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="semi_axes"):
        depolarization_factors(jnp.array([1.0, jnp.nan, 1.0]))
    with pytest.raises(ValueError, match="eps"):
        Ellipsoid(jnp.full(3, 1e-7), jnp.array([2.1, 2.1, 2.1]))
    with pytest.raises(ValueError, match="eps"):
        Ellipsoid(jnp.full(3, 1e-7), jnp.inf)
    with pytest.raises(ValueError, match="euler_angles"):
        Ellipsoid(jnp.full(3, 1e-7), 2.1, jnp.array([0.0, jnp.nan, 0.0]))
    with pytest.raises(ValueError, match="radius"):
        Ellipsoid.sphere(-1e-7, 2.1)
    with pytest.raises(ValueError, match="frame"):
        Ellipsoid.sphere(1e-7, 2.1).susceptibility(frame="world")
    with pytest.raises(ValueError, match="needs the"):
        Ellipsoid.sphere(1e-7, 2.1).polarizability(radiative=True)
    with pytest.raises(ValueError, match="polar"):
        spheroid_depolarization_factors(1.0, 0.0)
    with pytest.raises(ValueError, match="gamma"):
        rotation_matrix(0.0, 0.0, jnp.inf)
    with pytest.raises(ValueError, match="depolarization"):
        susceptibility_tensor(2.1, jnp.array([0.5, 0.5]))
    # Traced: a non-positive semi-axis is an error, not a NaN.
    with pytest.raises(Exception, match="semi_axes"):
        eqx.filter_jit(depolarization_factors)(jnp.array([1.0, 0.0, 1.0])).block_until_ready()
