"""Tests for jaxbind.optics.focused: the vectorial (Richards–Wolf) focused beam.

References are independent of the code: SciPy adaptive quadrature (``quad_vec`` in θ) of the
plane-wave (angular-spectrum) integral with a periodic trapezoid in φ, the Novotny–Hecht
Bessel-integral form (eq. 3.66, ``scipy.integrate.quad`` + ``scipy.special.jv``), the paraxial
Gaussian beam, Maxwell's equations by autodiff and the Poynting flux through planes.
"""

from __future__ import annotations

import math
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad, quad_vec
from scipy.special import jv

from jaxbind.optics.beams import CoherentBeams, Tweezer
from jaxbind.optics.focused import (
    FocusedBeam,
    aperture_transmission,
    flux_through_plane,
    focused_array,
    required_order,
)

LAM = 1064e-9
K0 = 2 * math.pi / LAM


# ----------------------------------------------------------------------------- references
def rw_reference(rho, NA, n=1.0, f0=1.0, pol=(1.0, 0.0), mode="uniform", M=128):
    """(E, H̃, ∂E, ∂H̃) scaled, from the angular-spectrum integral: SciPy adaptive quad_vec in
    θ, periodic trapezoid (spectrally exact) in φ, every plane wave written out."""
    rho = np.asarray(rho, float)
    sm = NA / n
    N = sm**2 * 0.5 * f0**2 * (-np.expm1(-1 / f0**2))
    phi = 2 * np.pi * np.arange(M) / M
    cp, sp = np.cos(phi), np.sin(phi)
    px, py = np.asarray(pol, complex) / np.linalg.norm(pol)

    def integrand(t):
        s, c = np.sin(t), np.cos(t)
        e_phi = np.stack([-sp, cp, 0 * cp], -1)
        e_th = np.stack([c * cp, c * sp, -s + 0 * cp], -1)
        if mode == "radial":
            al, be = 0 * cp, -1 + 0 * cp
        elif mode == "azimuthal":
            al, be = -1 + 0 * cp, 0 * cp
        else:
            al, be = -px * sp + py * cp, px * cp + py * sp
        a = al[:, None] * e_phi + be[:, None] * e_th
        b = n * (be[:, None] * e_phi - al[:, None] * e_th)  # n k̂ × a
        k = np.stack([s * cp, s * sp, c + 0 * cp], -1)
        ph = np.exp(1j * n * k @ rho)
        g = np.exp(-(s / (f0 * sm)) ** 2) * np.sqrt(c) * s / N / M
        E, H = g * (ph[:, None] * a).sum(0), g * (ph[:, None] * b).sum(0)
        dE = g * np.einsum("m,mc,mj->cj", ph, a, 1j * n * k)
        dH = g * np.einsum("m,mc,mj->cj", ph, b, 1j * n * k)
        v = np.concatenate([E, H, dE.ravel(), dH.ravel()])
        return np.concatenate([v.real, v.imag])

    out, _ = quad_vec(integrand, 0, np.arcsin(sm), epsabs=1e-13, epsrel=1e-12, limit=400)
    v = out[:24] + 1j * out[24:]
    return v[:3], v[3:6], v[6:15].reshape(3, 3), v[15:].reshape(3, 3)


def nh_reference(rho, NA, n=1.0, f0=1.0):
    """Novotny & Hecht eq. 3.66 (x polarization) with I00, I01, I02 by scipy quad."""
    x, y, z = rho
    r, ph = math.hypot(x, y), math.atan2(y, x)
    sm = NA / n
    N = sm**2 * 0.5 * f0**2 * (-np.expm1(-1 / f0**2))
    fw = lambda t: np.exp(-(np.sin(t) / (f0 * sm)) ** 2) * np.sqrt(np.cos(t))  # noqa: E731

    def integral(f):
        h = lambda t: f(t) * np.exp(1j * n * z * np.cos(t))  # noqa: E731
        kw = dict(epsabs=1e-14, epsrel=1e-13, limit=200)
        return (quad(lambda t: h(t).real, 0, np.arcsin(sm), **kw)[0]
                + 1j * quad(lambda t: h(t).imag, 0, np.arcsin(sm), **kw)[0])

    I00 = integral(lambda t: fw(t) * np.sin(t) * (1 + np.cos(t)) * jv(0, n * r * np.sin(t)))
    I01 = integral(lambda t: fw(t) * np.sin(t) ** 2 * jv(1, n * r * np.sin(t)))
    I02 = integral(lambda t: fw(t) * np.sin(t) * (1 - np.cos(t)) * jv(2, n * r * np.sin(t)))
    E = np.array([I00 + I02 * np.cos(2 * ph), I02 * np.sin(2 * ph), -2j * I01 * np.cos(ph)])
    H = n * np.array([I02 * np.sin(2 * ph), I00 - I02 * np.cos(2 * ph), -2j * I01 * np.sin(ph)])
    return E / (2 * N), H / (2 * N)


_eval = eqx.filter_jit(lambda b, p: b.fields_and_gradients_scaled(p))
_eval_many = eqx.filter_jit(
    jax.vmap(lambda b, p: b.fields_and_gradients_scaled(p), in_axes=(None, 0)))

POINTS = [(0.3, -0.7, 0.5), (2.0, 1.0, -3.0), (-4.0, 2.5, 6.0)]


def beam(NA=0.9, **kw):
    args = dict(power=0.2, wavelength=LAM, NA=NA, filling=1.0)
    args.update(kw)
    return FocusedBeam(**args)


# ------------------------------------------------------------------------ exact integrals
@pytest.mark.parametrize("NA", [0.3, 0.6, 0.9])
def test_fields_and_gradients_equal_scipy_quadrature(NA):
    b = beam(NA)
    got = _eval_many(b, jnp.asarray(POINTS))
    for i, rho in enumerate(POINTS):
        ref = rw_reference(rho, NA)
        for g, r in zip(got, ref):
            np.testing.assert_allclose(np.asarray(g[i]), r, rtol=0, atol=1e-8)
        En, Hn = nh_reference(rho, NA)
        np.testing.assert_allclose(np.asarray(got[0][i]), En, rtol=0, atol=1e-8)
        np.testing.assert_allclose(np.asarray(got[1][i]), Hn, rtol=0, atol=1e-8)


# slow: the radial and azimuthal pupils (one compile each); the default uniform cases check the
# same quadrature identity in the medium, the other pupils run in `make test-all`
@pytest.mark.parametrize("pol, mode", [((1.0, 1j), "uniform"), ((0.6, 0.8), "uniform"),
                                       pytest.param("radial", "radial", marks=pytest.mark.slow),
                                       pytest.param("azimuthal", "azimuthal",
                                                    marks=pytest.mark.slow)])
def test_polarizations_and_medium_equal_scipy_quadrature(pol, mode):
    n, NA, f0 = 1.33, 1.1, 0.7
    b = beam(NA, n_medium=n, filling=f0, polarization=pol)
    rho = (0.4, -0.9, 0.7)
    # the reference is written at ρ0 = k0 r with H̃0 = Z0 H/E0; every beam's scaled units are
    # ρ = k r = n ρ0 and H̃ = Z H/E0 = H̃0/n (docs/conventions.md, "Host medium")
    got = _eval(b, n * jnp.asarray(rho))
    E, H, dE, dH = rw_reference(rho, NA, n=n, f0=f0, pol=pol if mode == "uniform" else (1.0, 0.0),
                                mode=mode)
    for g, r in zip(got, (E, H / n, dE / n, dH / n**2)):
        np.testing.assert_allclose(np.asarray(g), r, rtol=0, atol=1e-8)
    # SI fields do not depend on the scaling
    r_si = np.asarray(rho) / K0
    E_si, H_si = b.fields(jnp.asarray(r_si))
    e0 = float(b.reference_amplitude)
    np.testing.assert_allclose(np.asarray(E_si), e0 * E, rtol=1e-9, atol=1e-9 * e0)
    np.testing.assert_allclose(np.asarray(H_si), e0 * H / 376.730313668, rtol=1e-9,
                               atol=1e-9 * e0 / 376.7)


# slow: four mask programs (each callable is a static field: its own compile); masked beams stay
# covered by default in tests/optics/test_pupil.py (the 2-D callable-mask path against sampled
# pupils) and the radial-mask path against miepy in test_focused_reference.py
@pytest.mark.slow
def test_pupil_masks():
    """The 2-D path with a unit mask equals the Bessel path; a radial mask agrees on both
    paths; a linear pupil phase e^{iγu} moves the focus by +γ/(k0 NA) along x."""
    rho = jnp.asarray([0.5, 0.8, -1.2])
    plain = _eval(beam(0.8), rho)
    grid = _eval(beam(0.8, pupil_mask=lambda u, v: jnp.ones_like(u)), rho)
    for a, b in zip(plain, grid):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-12)
    ring = lambda r: jnp.where(r > 0.5, 1.0, 0.3) * jnp.exp(0.7j * r**2)  # noqa: E731
    radial = _eval(beam(0.8, radial_mask=ring), rho)
    as2d = _eval(beam(0.8, pupil_mask=lambda u, v: ring(jnp.sqrt(u * u + v * v))), rho)
    for a, b in zip(radial, as2d):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-12)
    gamma = 2.0
    tilted = _eval(beam(0.8, pupil_mask=lambda u, v: jnp.exp(1j * gamma * u)), rho)
    shifted = _eval(beam(0.8, focus=(gamma / (K0 * 0.8), 0.0, 0.0)), rho)
    for a, b in zip(tilted, shifted):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-12)


# ------------------------------------------------------------------------ Maxwell
@eqx.filter_jit
def _jac_fields(b, rho):
    return jax.jacfwd(lambda r: jnp.stack([jnp.real(b.fields_scaled(r)[0]),
                                           jnp.imag(b.fields_scaled(r)[0])]))(rho)


@eqx.filter_jit
def _jac_gradients(b, rho):
    return jax.jacfwd(lambda r: jnp.stack([jnp.real(b.field_gradients_scaled(r)[0]),
                                           jnp.imag(b.field_gradients_scaled(r)[0])]))(rho)


# slow: two nested-jacfwd programs; the fields and their closed-form gradients stay covered by
# default against SciPy quadrature of the angular spectrum (E, H̃, ∂E, ∂H̃) in
# test_fields_and_gradients_equal_scipy_quadrature and test_polarizations_and_medium_...
@pytest.mark.slow
@pytest.mark.parametrize("NA", [0.6, 0.95])
def test_maxwell_divergence_helmholtz_faraday(NA):
    n = 1.2
    b = beam(NA, n_medium=n, polarization=(1.0, 0.5j))
    rho = jnp.asarray([0.7, -0.4, 0.9])
    E, H, dE, dH = _eval(b, rho)
    # closed-form gradients = autodiff of the fields
    jr = _jac_fields(b, rho)
    np.testing.assert_allclose(np.asarray(dE), np.asarray(jr[0] + 1j * jr[1]), atol=1e-12)
    # second derivatives of the closed-form gradient by jacfwd
    hess = _jac_gradients(b, rho)
    hess = hess[0] + 1j * hess[1]  # [i, j, l] = ∂_l ∂_j E_i
    lap = jnp.einsum("ijj->i", hess)
    scale = float(jnp.max(jnp.abs(E)))
    # scaled units of the medium (ρ = n k0 r, H̃ = Z H/E0 with Z = Z0/n): Maxwell's equations
    # read ∇·E = 0, (∇² + 1)E = 0, ∇×E = iH̃, ∇×H̃ = −iE for any n
    assert abs(complex(jnp.trace(dE))) < 1e-11 * scale  # ∇·E = 0
    assert abs(complex(jnp.trace(dH))) < 1e-11 * scale  # ∇·H = 0
    np.testing.assert_allclose(np.asarray(lap + E), 0, atol=1e-11 * scale)
    curl = lambda d: jnp.stack([d[2, 1] - d[1, 2], d[0, 2] - d[2, 0], d[1, 0] - d[0, 1]])  # noqa
    np.testing.assert_allclose(np.asarray(curl(dE)), np.asarray(1j * H), atol=1e-11 * scale)
    np.testing.assert_allclose(np.asarray(curl(dH)), np.asarray(-1j * E), atol=1e-11 * scale)


# ------------------------------------------------------------------------ power
# slow: a 7680-point field program per plane; the power normalisation stays covered by default in
# test_low_na_limit_is_the_paraxial_gaussian (the fields of a paraxial Gaussian of the same
# transmitted power) and through the forces against miepy in test_focused_reference.py
@pytest.mark.slow
@pytest.mark.parametrize("f0", [0.5, 1.0])
def test_flux_through_planes_equals_transmitted_power(f0):
    P = 0.3
    b = beam(0.8, power=P, filling=f0)
    T = float(aperture_transmission(f0))
    assert T == pytest.approx(1 - math.exp(-2 / f0**2), rel=1e-14)
    # flux inside a disk of radius R converges as 1/R for the hard-edged (f0 = 1) pupil
    R, tol = (12 * LAM, 2e-3) if f0 == 0.5 else (12 * LAM, 2e-2)
    for z in (0.0, 1.5 * LAM, -3.0 * LAM):
        flux = float(flux_through_plane(b, z, R, n_radial=160, n_angle=48))
        assert flux == pytest.approx(P * T, rel=tol)


# ------------------------------------------------------------------------ paraxial limit
def test_low_na_limit_is_the_paraxial_gaussian():
    """Transverse fields → the paraxial Gaussian of waist λ/(π f0 NA) with the same power,
    relative error O((f0 NA)²) (ratio ≈ 4 per halving of NA); E_z/E_x is O(f0 NA)."""
    f0 = 0.3  # clipping e^{−1/f0²} ≈ 1.5e-5 negligible
    errs, long = [], []
    for NA in (0.2, 0.1, 0.05):
        fb = beam(NA, filling=f0, power=0.1)
        w0 = LAM / (math.pi * f0 * NA)
        zr = math.pi * w0**2 / LAM
        tw = Tweezer(0.1 * float(aperture_transmission(f0)), LAM, waist=w0)
        pts = np.array([[0.0, 0.0, 0.0], [0.5 * w0, 0.3 * w0, 0.0], [0.4 * w0, -0.6 * w0, 0.7 * zr],
                        [-0.3 * w0, 0.2 * w0, -1.5 * zr]])
        e_tw = np.array([np.asarray(tw.fields(jnp.asarray(p))[0]) for p in pts])
        e_fb = np.array([np.asarray(fb.fields(jnp.asarray(p))[0]) for p in pts])
        scale = np.abs(e_tw[0, 0])
        errs.append(np.abs(e_fb[:, :2] - e_tw[:, :2]).max() / scale)
        long.append(np.abs(e_fb[:, 2]).max() / scale)
    ratios = [errs[0] / errs[1], errs[1] / errs[2]]
    assert errs[-1] < 1e-3
    for r in ratios:
        assert 3.0 < r < 5.0, (errs, ratios)
    assert 1.6 < long[0] / long[1] < 2.4 and 1.6 < long[1] / long[2] < 2.4, long


# ------------------------------------------------------------------------ quadrature order
NA_ORD, EXT_ORD, TOL_ORD = 0.9, 4 * LAM, 1e-8


def test_required_order_warns():
    need = required_order(NA_ORD, EXT_ORD, TOL_ORD, 1.0, LAM, 1.0)
    with pytest.warns(UserWarning, match=f"order={need}"):
        FocusedBeam(0.1, LAM, NA_ORD, order=need - 4, extent=EXT_ORD, rtol=TOL_ORD)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FocusedBeam(0.1, LAM, NA_ORD, order=need, extent=EXT_ORD, rtol=TOL_ORD)
        FocusedBeam(0.1, LAM, NA_ORD)  # the default order covers 10 λ at rtol 1e-8


@pytest.mark.slow
def test_required_order_is_sufficient():
    NA, ext, tol = NA_ORD, EXT_ORD, TOL_ORD
    need = required_order(NA, ext, tol, 1.0, LAM, 1.0)
    ok = FocusedBeam(0.1, LAM, NA, order=need, extent=ext, rtol=tol)
    fine = FocusedBeam(0.1, LAM, NA, order=200, extent=ext)
    rng = np.random.default_rng(3)
    d = rng.normal(size=(24, 3))
    d = d / np.linalg.norm(d, axis=1, keepdims=True) * K0 * ext
    a, b = _eval_many(ok, jnp.asarray(d)), _eval_many(fine, jnp.asarray(d))
    scale = float(jnp.max(jnp.abs(_eval(fine, jnp.zeros(3))[0])))
    for x, y in zip(a, b):
        assert float(jnp.max(jnp.abs(x - y))) < tol * scale


# ------------------------------------------------------------------------ arrays of foci
# slow: focused_array = the coherent sum of its focused beams stays covered by default in
# tests/optics/test_pupil.py::test_float32_and_focused_array
@pytest.mark.slow
def test_focused_array_is_the_coherent_sum():
    foci = np.array([[0.0, 0.0, 0.0], [2e-6, 0.0, 0.0], [0.0, -1.5e-6, 0.5e-6]])
    powers, phases = np.array([0.1, 0.2, 0.15]), np.array([0.0, 1.0, -2.0])
    arr = focused_array(powers, LAM, foci, 0.8, filling=0.9, phases=phases)
    assert isinstance(arr, CoherentBeams)
    r = jnp.asarray([0.7e-6, 0.3e-6, 0.2e-6])
    E, H = arr.fields(r)
    dE, _ = arr.field_gradients(r)
    parts = [FocusedBeam(p, LAM, 0.8, filling=0.9, phase=ph, focus=f)
             for p, ph, f in zip(powers, phases, foci)]
    Es = sum(np.asarray(b.fields(r)[0]) for b in parts)
    Hs = sum(np.asarray(b.fields(r)[1]) for b in parts)
    dEs = sum(np.asarray(b.field_gradients(r)[0]) for b in parts)
    np.testing.assert_allclose(np.asarray(E), Es, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(H), Hs, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(dE), dEs, rtol=1e-12)
    # per-focus linear polarizations
    psi = np.array([0.0, 0.5, 1.2])
    arr2 = focused_array(powers, LAM, foci, 0.8, filling=0.9, phases=phases, polarization_angles=psi)
    E2 = sum(np.asarray(FocusedBeam(p, LAM, 0.8, filling=0.9, phase=ph, focus=f,
                                    polarization=(np.cos(a), np.sin(a))).fields(r)[0])
             for p, ph, f, a in zip(powers, phases, foci, psi))
    np.testing.assert_allclose(np.asarray(arr2.fields(r)[0]), E2, rtol=1e-12)


# ------------------------------------------------------------------------ transforms
def test_jit_vmap_grad_float32():
    b = beam(0.9)
    pts = jnp.asarray(POINTS)
    E, H, dE, dH = _eval_many(b, pts)
    # float32 ≈ float64 (scaled units)
    # cast on the host (NumPy): no conversion programs
    b32 = jax.tree_util.tree_map(
        lambda x: np.asarray(x).astype(np.complex64 if np.iscomplexobj(x) else np.float32), b)
    o32 = _eval_many(b32, np.asarray(POINTS, np.float32))
    assert o32[0].dtype == jnp.complex64
    for a, c in zip(o32, (E, H, dE, dH)):
        a, c = np.asarray(a), np.asarray(c)
        assert np.max(np.abs(a - c)) < 1e-5 * np.max(np.abs(c))



@pytest.mark.slow
def test_grad_parameters_vs_central_differences():
    """grad of the intensity w.r.t. NA, filling, power and focus (beam built under the trace)."""
    @jax.jit
    def intensity(params, r):
        na, f0, p, fx = params
        bb = FocusedBeam(p, LAM, na, filling=f0, focus=jnp.stack([fx, 0.0, 0.0]))
        E, _ = bb.fields(r)
        return jnp.sum(jnp.abs(E) ** 2) * 1e-12

    r = jnp.asarray([0.2e-6, 0.1e-6, 0.3e-6])
    x0 = jnp.asarray([0.8, 0.9, 0.2, 0.05e-6])
    g = jax.jit(jax.grad(intensity))(x0, r)
    h = np.array([1e-6, 1e-6, 1e-6, 1e-12])
    for i in range(4):
        e = jnp.zeros(4).at[i].set(h[i])
        fd = (intensity(x0 + e, r) - intensity(x0 - e, r)) / (2 * h[i])
        assert float(g[i]) == pytest.approx(float(fd), rel=1e-6)


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kw, match", [
    (dict(NA=1.0), "NA"), (dict(NA=1.4, n_medium=1.33), "NA"), (dict(NA=0.0), "NA"),
    (dict(NA=-0.5), "NA"), (dict(filling=0.0), "filling"), (dict(filling=-1.0), "filling"),
    (dict(power=-0.1), "power"), (dict(power=0.0), "power"), (dict(wavelength=0.0), "wavelength"),
    (dict(focus=(0.0, np.nan, 0.0)), "focus"), (dict(focus=(0.0, 0.0)), "focus"),
    (dict(polarization=(0.0, 0.0)), "polarization"), (dict(polarization="diagonal"), "polarization"),
    (dict(polarization=(1.0, 0.0, 0.0)), "polarization"), (dict(order=1), "order"),
])
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        beam(**kw)


@pytest.mark.unchecked  # wrong foci shape on purpose
def test_bad_foci():
    with pytest.raises(ValueError, match="foci"):
        focused_array(0.1, LAM, np.zeros((2, 2)), 0.8)
    with pytest.raises(ValueError, match="foci"):
        focused_array(0.1, LAM, np.array([[0.0, 0.0, np.inf]]), 0.8)
    with pytest.raises(ValueError, match="powers"):
        focused_array(-0.1, LAM, np.zeros((2, 3)), 0.8)


def test_traced_bad_na_is_nan():
    """Under jit a bad NA makes the point's fields NaN (no host callback), eagerly an error."""
    f = jax.jit(lambda na: FocusedBeam(0.1, LAM, na).fields(jnp.zeros(3))[0])
    assert np.isfinite(np.asarray(f(0.8))).all()
    assert np.isnan(np.asarray(f(1.2))).all()
    with pytest.raises(ValueError, match="NA"):
        FocusedBeam(0.1, LAM, 1.2)
