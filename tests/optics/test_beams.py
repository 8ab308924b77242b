"""Tests for jaxbind.optics.beams: closed forms of Gaussian beams and plane waves,
Maxwell / paraxial-Helmholtz identities by autodiff, superposition, transforms, dtypes."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind import constants as C
from jaxbind.optics.beams import AbstractBeam, CoherentBeams, PlaneWave, Tweezer, intensity_map

LAM = 1064e-9
K = 2 * math.pi / LAM
W0 = 0.9e-6
P = 0.3
ZR = math.pi * W0**2 / LAM  # Rayleigh range, stated independently of the code
I0 = 2 * P / (math.pi * W0**2)  # focal intensity of a Gaussian beam of power P
E0SQ = 4 * P / (math.pi * W0**2 * C.c * C.epsilon0)


def tweezer(**kw):
    args = dict(power=P, wavelength=LAM, waist=W0)
    args.update(kw)
    return Tweezer(**args)


@jax.jit  # one program per beam type (eager jacfwd would compile every op on its own)
def jac_fields(beam, r):
    """Autodiff Jacobians (∂E_i/∂r_j, ∂H_i/∂r_j) via real and imaginary parts."""
    def split(r):
        E, H = beam.fields(r)
        return jnp.stack([E.real, E.imag, H.real, H.imag])

    J = jax.jacfwd(split)(jnp.asarray(r))
    return J[0] + 1j * J[1], J[2] + 1j * J[3]


# ------------------------------------------------------------------ tweezer closed forms


def test_focal_amplitude_and_intensity():
    tw = tweezer(focus=(1e-6, -2e-6, 0.5e-6))
    E, H = (np.asarray(f) for f in tw.fields(np.array([1e-6, -2e-6, 0.5e-6])))
    np.testing.assert_allclose(float(np.sum(np.abs(E) ** 2)), E0SQ, rtol=1e-12)
    np.testing.assert_allclose(float(tw.reference_amplitude) ** 2, E0SQ, rtol=1e-12)
    np.testing.assert_allclose(float(tw.rayleigh_range), ZR, rtol=1e-12)
    # time-averaged Poynting vector ½Re(E × H*) = I0 e_z at the focus (paraxial H)
    S = 0.5 * np.real(np.cross(E, np.conj(H)))
    np.testing.assert_allclose(S, [0.0, 0.0, I0], rtol=1e-12, atol=1e-6 * I0)


@pytest.mark.parametrize("z", [0.0, ZR])
def test_power_through_transverse_plane(z):
    """∫ c ε0 |E|²/2 dA = P in the focal plane and at z = z_R (2D trapezoid quadrature,
    spectrally accurate for a Gaussian on a wide grid)."""
    tw = tweezer(polarization_angle=0.7)
    half = 5.0 * W0 * math.sqrt(1 + (z / ZR) ** 2)
    xs = np.linspace(-half, half, 161)
    I = np.asarray(intensity_map(tw, xs, xs, z=z))
    power = np.trapezoid(np.trapezoid(I, xs, axis=1), xs)
    np.testing.assert_allclose(power, P, rtol=1e-8)
    np.testing.assert_allclose(I[80, 80], I0 / (1 + (z / ZR) ** 2), rtol=1e-12)


def test_waist_at_rayleigh_range():
    """1/e² intensity radius w(z_R) = √2 w0, on-axis intensity halves at z_R."""
    tw = tweezer()
    I = lambda r: float(jnp.sum(jnp.abs(tw.fields(jnp.array(r))[0]) ** 2))  # noqa: E731
    on_axis = I([0.0, 0.0, ZR])
    np.testing.assert_allclose(on_axis, E0SQ / 2, rtol=1e-12)
    w = math.sqrt(2) * W0
    for r in ([w, 0.0, ZR], [0.0, w, ZR], [w / math.sqrt(2), w / math.sqrt(2), ZR]):
        np.testing.assert_allclose(I(r) / on_axis, math.exp(-2.0), rtol=1e-12)
    # focal plane: 1/e² radius is w0
    np.testing.assert_allclose(I([W0, 0, 0]) / I([0, 0, 0]), math.exp(-2.0), rtol=1e-12)


# slow: the Gaussian beam's closed form (Gouy phase included) stays covered by default in
# test_tweezer_paraxial_helmholtz and test_focal_amplitude_and_intensity
@pytest.mark.slow
def test_gouy_phase():
    """On axis, arg[E(z) e^{−ikz}] = −arctan(z/z_R) (e^{−iωt}: the Gouy phase lags);
    −π/4 at z = z_R."""
    tw = tweezer(phase=0.0)
    zs = jnp.array([-2 * ZR, -0.3 * ZR, 0.0, ZR, 3 * ZR])
    Ex = jax.vmap(lambda z: tw.fields(jnp.stack([0.0, 0.0, z]))[0][0])(zs)
    rel = np.angle(np.asarray(Ex) * np.exp(-1j * K * np.asarray(zs)))
    np.testing.assert_allclose(rel, -np.arctan(np.asarray(zs) / ZR), atol=1e-10)
    np.testing.assert_allclose(rel[3], -math.pi / 4, atol=1e-10)


# slow: tweezer phases and foci stay covered by default in test_grad_of_intensity_wrt_phase and
# test_jit_vmap_grad_point_to_focus
@pytest.mark.slow
def test_phase_polarization_and_focus():
    """e^{iφ} multiplies the field; ε̂ = (cos ψ, sin ψ, 0); paper 000's cos²θ = sin²ψ;
    a displaced focus translates the field."""
    r = jnp.array([0.2e-6, -0.1e-6, 0.4e-6])
    base = tweezer()
    E0, H0 = base.fields(r)
    phi, psi = 1.1, 0.6
    E, H = tweezer(phase=phi, polarization_angle=psi).fields(r)
    np.testing.assert_allclose(E, E0[0] * np.exp(1j * phi) * np.array([np.cos(psi), np.sin(psi), 0]),
                               rtol=1e-12, atol=0)
    np.testing.assert_allclose(H, np.cross([0, 0, 1.0], E) / C.Z0, rtol=1e-12, atol=1e-20)
    # paper 000 A5–A7 prefactor: E*·(1 − e_x e_x)E / |E|² = cos²θ with θ = π/2 − ψ
    proj = float(jnp.real(jnp.vdot(E, E) - jnp.abs(E[0]) ** 2) / jnp.real(jnp.vdot(E, E)))
    np.testing.assert_allclose(proj, math.cos(math.pi / 2 - psi) ** 2, rtol=1e-12)
    f = jnp.array([1e-6, 2e-6, -0.5e-6])
    Es, _ = tweezer(focus=f).fields(r + f)
    np.testing.assert_allclose(Es, E0, rtol=1e-12)


def test_waist_from_NA():
    tw = Tweezer(power=P, wavelength=LAM, NA=0.3)
    np.testing.assert_allclose(float(tw.waist), LAM / (math.pi * 0.3), rtol=1e-14)


# ------------------------------------------------------------------ wave equations


def test_tweezer_paraxial_helmholtz():
    """The envelope solves the paraxial equation exactly, so (∇² + k²)E = e^{ikz} ∂²_z f:
    on axis that is −2/(ζ_R² q²) Ẽ (ζ_R = k z_R, q = 1 + iz/z_R), i.e. O(1/(k w0)⁴),
    and it shrinks as 1/(k w0)⁴ off axis too."""
    import equinox as eqx

    @eqx.filter_jit  # one program for the four points and both beams (eager: ~100 op compiles)
    def residual(tw, rho):
        def re_im(r):
            E, _ = tw.fields_scaled(r)
            return jnp.concatenate([E.real, E.imag])

        Hs = jax.hessian(re_im)(rho)
        lap = jnp.trace(Hs, axis1=1, axis2=2)
        E, _ = tw.fields_scaled(rho)
        return lap[:3] + 1j * lap[3:] + E, E

    tw = tweezer()
    zr = K * ZR
    for z in (0.0, 0.7 * zr):
        res, E = residual(tw, jnp.array([0.0, 0.0, z]))
        q = 1 + 1j * z / zr
        np.testing.assert_allclose(res, -2.0 / (zr**2 * q**2) * E, rtol=1e-8, atol=1e-14)
    rho = jnp.array([0.8, -0.5, 3.0]) * K * W0 / 2
    res1, E1 = residual(tw, rho)
    rel1 = float(jnp.linalg.norm(res1) / jnp.linalg.norm(E1))
    assert rel1 < 30.0 / (K * W0) ** 4
    tw2 = tweezer(waist=2 * W0)
    # the same point in beam units (x/w0, z/z_R): transverse ×2, axial ×4
    res2, E2 = residual(tw2, rho * jnp.array([2.0, 2.0, 4.0]))
    rel2 = float(jnp.linalg.norm(res2) / jnp.linalg.norm(E2))
    np.testing.assert_allclose(rel1 / rel2, 16.0, rtol=1e-6)


def test_plane_wave_maxwell():
    """∇·E = 0, ∇×E = iωμ0 H, ∇×H = −iωε0 E (autodiff), and ½Re(E×H*) = I n."""
    n = np.array([1.0, -2.0, 0.5])
    n /= np.linalg.norm(n)
    a = np.cross(n, [0, 0, 1.0])
    a /= np.linalg.norm(a)
    b = np.cross(n, a)
    pol = a + 0.4j * b
    intensity = 3e9
    pw = PlaneWave(LAM, intensity, direction=n * 2.0, polarization=pol * 1.7, phase=0.3)
    r = np.array([0.3e-6, -0.2e-6, 1.1e-6])
    E, H = (np.asarray(f) for f in pw.fields(r))
    dE, dH = (np.asarray(d) for d in jac_fields(pw, r))

    def curl(J):
        return np.array([J[2, 1] - J[1, 2], J[0, 2] - J[2, 0], J[1, 0] - J[0, 1]])

    omega = K * C.c
    scaleE = K * float(np.linalg.norm(E))
    assert abs(complex(np.trace(dE))) < 1e-12 * scaleE
    np.testing.assert_allclose(curl(dE), 1j * omega * C.mu0 * H, rtol=1e-10, atol=1e-12 * scaleE)
    np.testing.assert_allclose(curl(dH), -1j * omega * C.epsilon0 * E, rtol=1e-10,
                               atol=1e-12 * scaleE / C.Z0)
    S = 0.5 * np.real(np.cross(np.asarray(E), np.conj(np.asarray(H))))
    np.testing.assert_allclose(S, intensity * n, rtol=1e-12, atol=1e-6 * intensity)
    # amplitude, phase at the origin, normalised Jones vector
    E_orig, _ = pw.fields(np.zeros(3))
    np.testing.assert_allclose(E_orig, np.sqrt(2 * intensity / (C.c * C.epsilon0))
                               * pol / np.linalg.norm(pol) * np.exp(0.3j), rtol=1e-12)
    xs = np.linspace(-1e-6, 1e-6, 3)
    np.testing.assert_allclose(intensity_map(pw, xs, xs, z=0.2e-6), intensity, rtol=1e-12)


# ------------------------------------------------------------------ gradients


# slow: the closed-form field gradients stay covered by default through the forces they give in
# tests/optics/test_forces.py::test_tweezer_gradient_force_points_to_focus and
# test_forces_are_minus_gradient_of_conservative_potential, and in test_float32_matches_float64
# here
@pytest.mark.slow
def test_gradients_closed_form_vs_autodiff():
    r = jnp.array([0.3e-6, -0.45e-6, 0.8e-6])
    pw = PlaneWave(LAM, 1e9, direction=(0.0, 1.0, 1.0), polarization=(1.0, 0.5j, -0.5j))
    tw = tweezer(polarization_angle=0.4, phase=0.2, focus=(0.1e-6, 0.0, -0.2e-6))
    cb = CoherentBeams.from_tweezers([0.2, 0.3, 0.1], LAM, [[0, 0, 0], [1.5e-6, 0, 0], [0, 1e-6, 1e-7]],
                                     waist=W0, phases=[0.0, 1.0, 2.0],
                                     polarization_angles=[0.0, 0.5, 1.5])
    mix = CoherentBeams([pw, tw])
    # the base class's generic jacfwd path agrees with the closed forms
    rho = K * r
    for beam in (pw, tw):
        for a, b in zip(AbstractBeam.field_gradients_scaled(beam, rho),
                        beam.field_gradients_scaled(rho)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for beam in (pw, tw, cb, mix):
        dE, dH = beam.field_gradients(r)
        aE, aH = jac_fields(beam, r)
        scale = float(jnp.max(jnp.abs(aE)))
        assert scale > 0
        np.testing.assert_allclose(dE, aE, rtol=1e-10, atol=1e-12 * scale)
        np.testing.assert_allclose(dH, aH, rtol=1e-10, atol=1e-12 * scale / C.Z0)


def test_hessians_closed_form_vs_nested_autodiff():
    """field_hessians_scaled (closed forms of the plane wave and the paraxial tweezers, summed by
    CoherentBeams) against jacfwd∘jacfwd of fields_scaled (the independent path), in and off
    the focus; symmetric in the two derivative axes; float32 ≈ float64."""
    pw = PlaneWave(LAM, 1e9, direction=(0.0, 0.6, 0.8), polarization=(1.0, 0.8j, -0.6j), phase=0.3)
    cb = CoherentBeams.from_tweezers([0.2, 0.3, 0.1], LAM, [[0, 0, 0], [1.5e-6, 0, 0], [0, 1e-6, 1e-7]],
                                     waist=W0, phases=[0.0, 1.0, 2.0],
                                     polarization_angles=[0.0, 0.5, 1.5])
    rhos = K * jnp.array([[0.0, 0.0, 0.0], [0.3e-6, -0.45e-6, 0.8e-6], [1.1e-6, 0.2e-6, -2e-6]])

    @jax.jit
    def both(beam, rho):
        ref = jax.vmap(jax.jacfwd(jax.jacfwd(beam.fields_scaled)))(rho)
        return jax.vmap(beam.field_hessians_scaled)(rho), ref

    for beam in (pw, cb):  # cb: stacked paraxial tweezers (focus, phase, polarization)
        got, ref = both(beam, rhos)
        for a, b in zip(got, ref):
            scale = float(jnp.max(jnp.abs(b)))
            assert a.shape == (3, 3, 3, 3) and scale > 0
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * scale)
            np.testing.assert_allclose(a, jnp.swapaxes(a, -1, -2), rtol=0, atol=1e-14 * scale)
    got32 = jax.jit(jax.vmap(cb.field_hessians_scaled))(rhos.astype(jnp.float32))
    for a, b in zip(got32, got):
        assert a.dtype == jnp.complex64
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * float(jnp.max(jnp.abs(b))))


# ------------------------------------------------------------------ superposition


# slow: CoherentBeams superposition with phases stays covered by default in
# test_grad_of_intensity_wrt_phase
@pytest.mark.slow
def test_superposition_linear_and_phases():
    r = jnp.array([0.7e-6, 0.2e-6, 0.3e-6])
    foci = np.array([[0.0, 0, 0], [1.4e-6, 0, 0]])
    t1 = tweezer(power=0.2, polarization_angle=0.3)
    t2 = tweezer(power=0.5, polarization_angle=1.2, focus=foci[1])
    pw = PlaneWave(LAM, 2e9, polarization=(0.0, 1.0, 0.0))
    E1, H1 = t1.fields(r)
    E2, H2 = t2.fields(r)
    Ep, Hp = pw.fields(r)
    E, H = CoherentBeams([t1, t2, pw]).fields(r)
    np.testing.assert_allclose(E, E1 + E2 + Ep, rtol=1e-12)
    np.testing.assert_allclose(H, H1 + H2 + Hp, rtol=1e-12)
    phi = 2.3
    arr = CoherentBeams.from_tweezers([0.2, 0.5], LAM, foci, waist=W0, phases=[0.0, phi],
                                      polarization_angles=[0.3, 1.2])
    Ea, Ha = arr.fields(r)
    np.testing.assert_allclose(Ea, E1 + np.exp(1j * phi) * E2, rtol=1e-12)
    np.testing.assert_allclose(Ha, H1 + np.exp(1j * phi) * H2, rtol=1e-12)
    e_max = math.sqrt(4 * 0.5 / (math.pi * W0**2 * C.c * C.epsilon0))
    np.testing.assert_allclose(float(arr.reference_amplitude), e_max, rtol=1e-12)
    # a sum holding a stacked array and a plain beam
    Em, _ = CoherentBeams([arr.beams[0], pw], stacked=[True, False]).fields(r)
    np.testing.assert_allclose(Em, Ea + Ep, rtol=1e-12)


def test_grad_of_intensity_wrt_phase():
    """d|E1 + E2 e^{iφ}|²/dφ = −2 Im(E1* · E2 e^{iφ})."""
    r = np.array([0.7e-6, 0.1e-6, 0.0])
    foci = np.array([[0.0, 0, 0], [1.4e-6, 0, 0]])
    E1, _ = tweezer(power=0.2).fields(r)
    E2, _ = tweezer(power=0.4, focus=foci[1]).fields(r)

    @jax.jit  # one program (an eager grad would compile every op on its own)
    @jax.grad
    def intensity(phi):
        arr = CoherentBeams.from_tweezers(jnp.array([0.2, 0.4]), LAM, foci, waist=W0,
                                          phases=jnp.stack([jnp.zeros(()), phi]))
        E, _ = arr.fields(r)
        return jnp.sum(jnp.abs(E) ** 2)

    for phi in (0.0, 0.9):
        g = intensity(jnp.asarray(phi))
        expected = -2 * np.imag(np.vdot(E1, E2) * np.exp(1j * phi))
        np.testing.assert_allclose(g, expected, rtol=1e-10)


# ------------------------------------------------------------------ transforms and dtypes


def test_jit_vmap_grad_point_to_focus():
    tw = tweezer(focus=(0.2e-6, -0.1e-6, 0.0))
    f = np.array([0.2e-6, -0.1e-6, 0.0])

    @jax.jit
    def intensity(r):
        E, _ = tw.fields(r)
        return jnp.sum(jnp.abs(E) ** 2)

    pts = np.array([f + [0.3e-6, 0, 0], f - [0.3e-6, 0, 0], f + [0, 0.4e-6, 0], f - [0, 0.2e-6, 0]])
    grads = np.asarray(jax.jit(jax.vmap(jax.grad(intensity)))(pts))
    scale = float(np.max(np.abs(grads)))
    # transverse gradients point back to the focus, with the Gaussian's closed form
    for p, g in zip(pts, grads):
        d = p - f
        expected = -4 * d / W0**2 * E0SQ * np.exp(-2 * np.sum(d**2) / W0**2)
        np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-12 * scale)
        assert np.dot(g, d) < 0
    # vmap over positions matches single calls; grad w.r.t. a parameter (power)
    Ev, _ = jax.jit(jax.vmap(tw.fields))(pts)
    np.testing.assert_allclose(Ev[2], tw.fields(pts[2])[0], rtol=1e-13)
    focal = lambda p: jnp.sum(jnp.abs(tweezer(power=p).fields(jnp.zeros(3))[0]) ** 2)  # noqa: E731
    # vmap over parameter points (tweezers constructed inside vmap), value and grad in one program
    powers = np.array([0.1, 0.2, P])
    Ifoc, dIdP = jax.jit(jax.vmap(jax.value_and_grad(focal)))(powers)
    np.testing.assert_allclose(dIdP[2], E0SQ / P, rtol=1e-12)
    np.testing.assert_allclose(Ifoc, E0SQ * powers / P, rtol=1e-12)


def test_float32_matches_float64():
    rho64 = jnp.array([1.3, -0.7, 9.0])
    tw = tweezer(polarization_angle=0.3, phase=0.4, focus=(0.05e-6, 0.0, 0.1e-6))
    pw = PlaneWave(LAM, 1e9, direction=(0.0, 0.6, 0.8), polarization=(1.0, 0.8j, -0.6j))
    cb = CoherentBeams.from_tweezers([0.2, 0.3], LAM, [[0, 0, 0], [0.8e-6, 0, 0]], waist=W0,
                                     phases=[0.0, 1.0])
    fn = jax.jit(lambda b, x: (*b.fields_scaled(x), *b.field_gradients_scaled(x)))
    for beam in (tw, pw, cb):
        out64 = fn(beam, rho64)
        out32 = fn(beam, np.asarray(rho64, np.float32))
        for a, b in zip(out32, out64):
            assert a.dtype == jnp.complex64
            scale = float(np.max(np.abs(np.asarray(b))))
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * scale)


# slow: the SI entry points' float32 programs (three beam types); float32 of the scaled fields and
# gradients stays covered by default in test_float32_matches_float64
@pytest.mark.slow
def test_float32_si_fields_match_float64():
    rho64 = jnp.array([1.3, -0.7, 9.0])
    tw = tweezer(polarization_angle=0.3, phase=0.4, focus=(0.05e-6, 0.0, 0.1e-6))
    pw = PlaneWave(LAM, 1e9, direction=(0.0, 0.6, 0.8), polarization=(1.0, 0.8j, -0.6j))
    cb = CoherentBeams.from_tweezers([0.2, 0.3], LAM, [[0, 0, 0], [0.8e-6, 0, 0]], waist=W0,
                                     phases=[0.0, 1.0])
    for beam in (tw, pw, cb):
        r = rho64 / K
        E64, H64 = beam.fields(r)
        E32, H32 = beam.fields(r.astype(jnp.float32))
        assert E32.dtype == jnp.complex64
        np.testing.assert_allclose(E32, E64, rtol=1e-5, atol=1e-5 * float(jnp.max(jnp.abs(E64))))
        np.testing.assert_allclose(H32, H64, rtol=1e-5, atol=1e-5 * float(jnp.max(jnp.abs(H64))))
    # a beam whose own parameters are float32
    tw32 = Tweezer(np.float32(P), np.float32(LAM), waist=np.float32(W0))
    E32, _ = tw32.fields(np.array([0.1e-6, 0.0, 0.2e-6], np.float32))
    E64, _ = tweezer().fields(jnp.array([0.1e-6, 0.0, 0.2e-6]))
    np.testing.assert_allclose(E32, E64, rtol=1e-5)


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(power=0.0), "power"),
        (dict(power=-1.0), "power"),
        (dict(power=float("nan")), "power"),
        (dict(wavelength=0.0), "wavelength"),
        (dict(wavelength=float("inf")), "wavelength"),
        (dict(waist=-1e-6), "waist"),
        (dict(waist=None, NA=1.2), "NA"),
        (dict(waist=None, NA=1.0), "NA"),
        (dict(waist=None, NA=0.0), "NA"),
        (dict(NA=0.5), "exactly one"),
        (dict(waist=None), "exactly one"),
        (dict(focus=(0.0, 0.0)), "focus"),
        (dict(phase=float("nan")), "phase"),
    ],
)
def test_tweezer_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tweezer(**kwargs)


@pytest.mark.unchecked  # wrong shapes and types on purpose: the library's own messages
def test_other_bad_input():
    with pytest.raises(ValueError, match="intensity"):
        PlaneWave(LAM, -1.0)
    with pytest.raises(ValueError, match="wavelength"):
        PlaneWave(-LAM, 1.0)
    with pytest.raises(ValueError, match="perpendicular"):
        PlaneWave(LAM, 1.0, direction=(0, 0, 1.0), polarization=(1.0, 0, 0.1j))
    with pytest.raises(ValueError, match="direction"):
        PlaneWave(LAM, 1.0, direction=(0, 1.0))
    with pytest.raises(ValueError, match="direction"):
        PlaneWave(LAM, 1.0, direction=(0, 0, 0.0))
    with pytest.raises(ValueError, match="polarization"):
        PlaneWave(LAM, 1.0, polarization=(0, 0, 0.0))
    with pytest.raises(ValueError, match="r must have shape"):
        tweezer().fields(jnp.zeros(2))
    with pytest.raises(ValueError, match="rho must have shape"):
        tweezer().fields_scaled(jnp.zeros((3, 3)))
    with pytest.raises(Exception, match="non-finite"):
        tweezer().fields(jnp.array([0.0, jnp.nan, 0.0]))
    with pytest.raises(ValueError, match="wavelength"):
        CoherentBeams([tweezer(), tweezer(wavelength=1550e-9)])
    with pytest.raises(ValueError, match="at least one"):
        CoherentBeams([])
    with pytest.raises(ValueError, match="phases"):
        CoherentBeams.from_tweezers([0.1, 0.2], LAM, [[0, 0, 0], [1e-6, 0, 0]], waist=W0,
                                    phases=[0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="powers"):
        CoherentBeams.from_tweezers([0.1, -0.2], LAM, [[0, 0, 0], [1e-6, 0, 0]], waist=W0)
    with pytest.raises(ValueError, match="foci"):
        CoherentBeams.from_tweezers([0.1, 0.2], LAM, [0, 0, 0], waist=W0)
    with pytest.raises(ValueError, match="NA"):
        CoherentBeams.from_tweezers([0.1], LAM, [[0, 0, 0]], NA=1.5)


@pytest.mark.unchecked  # a wrong-shape z on purpose: the library's own error is under test
def test_intensity_map_bad_input():
    """issue 20 §2: a NaN/inf grid or plane is an error naming the argument, never a
    silently NaN map — a ValueError for concrete input, eqx.error_if under jit."""
    tw, xs = tweezer(), np.linspace(-1e-6, 1e-6, 3)
    bad = xs.copy()
    bad[1] = np.nan
    with pytest.raises(ValueError, match="xs must be finite"):
        intensity_map(tw, bad, xs)
    with pytest.raises(ValueError, match="ys must be finite"):
        intensity_map(tw, xs, np.where(xs > 0, np.inf, xs))
    with pytest.raises(ValueError, match="z must be finite"):
        intensity_map(tw, xs, xs, z=float("nan"))
    with pytest.raises(ValueError, match="z must have shape"):
        intensity_map(tw, xs, xs, z=np.zeros(2))
    traced = jax.jit(lambda x, y, z: intensity_map(tw, x, y, z))
    assert np.isfinite(np.asarray(traced(xs, xs, 0.0))).all()
    # under jit: a NaN map (no host callback), never a finite substitute
    assert np.isnan(np.asarray(traced(bad, xs, 0.0))).all()
    assert np.isnan(np.asarray(traced(xs, bad, 0.0))).all()
    assert np.isnan(np.asarray(traced(xs, xs, np.nan))).all()


def test_traced_bad_values_are_nan():
    """Under jit the parameter values are unknown at construction: the guards make the bad
    point's outputs NaN (no host callback in the user's program)."""
    focal = jax.jit(lambda p: tweezer(power=p).fields(jnp.zeros(3))[0])
    assert np.isfinite(np.asarray(focal(0.1))).all()
    assert np.isnan(np.asarray(focal(-0.1))).all()  # power must be positive
    assert np.isnan(jax.jit(lambda na: Tweezer(P, LAM, NA=na).waist)(1.5))  # NA must lie in (0, 1)
    pol = jax.jit(lambda n: PlaneWave(LAM, 1.0, direction=n).polarization)(jnp.array([1.0, 0, 0]))
    assert np.isnan(np.asarray(pol)).all()  # polarization must be perpendicular to direction
    fields = jax.jit(lambda r: tweezer().fields(r)[0])
    assert np.isnan(np.asarray(fields(jnp.array([0.0, jnp.nan, 0.0])))).all()
