"""Tests for jaxbind.mechanics.trapping: trap frequencies from the exact (focused) field.

References: the closed-form dipole force F_i = ½ Re(α* E_j* ∂_i E_j) evaluated on the
focused beam's own fields (an independent assembly from the engine's), its Jacobian, and the
paraxial Gaussian tweezer in the low-NA limit (where both beams must agree to O((f0 NA)²)).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxbind as jb
from jaxbind.mechanics.trapping import trap_frequencies
from jaxbind.optics.focused import FocusedBeam, aperture_transmission

LAM = 1064e-9
RHO_SILICA = 2200.0
A = 50e-9
ALPHA = 4 * math.pi * 8.8541878128e-12 * A**3 * (1.45**2 - 1) / (1.45**2 + 2) * (1 + 0.02j)


@jax.jit
def closed_form_force(beam, r, alpha):
    """½ Re(α* Σ_j E_j* ∂_i E_j) (N) from the beam's fields and gradients (SI)."""
    E, _ = beam.fields(r)
    dE, _ = beam.field_gradients(r)  # [j, i] = ∂_i E_j
    return 0.5 * jnp.real(jnp.conj(alpha) * jnp.einsum("j,ji->i", jnp.conj(E), dE))


@pytest.fixture(scope="module")
def focused():
    return FocusedBeam(0.2, LAM, 0.8, filling=1.0, order=40, extent=2 * LAM)


_R_OFF = jnp.asarray([30e-9, -20e-9, 60e-9])  # off the focus: every force/stiffness component ≠ 0


_closed_form_jacobian = jax.jit(jax.jacfwd(closed_form_force, argnums=1))


def _closed_form_stiffness(beam):
    return -_closed_form_jacobian(beam, _R_OFF, ALPHA)


# slow: four compiles of the order-40 focused beam (~7 CPU-s); by default trap_frequencies stays
# covered against the independent pupil-moment closed form (SciPy quadrature) in
# test_trap_frequencies_equal_pupil_moment_closed_form, the focused fields and gradients the
# force is built from against SciPy quadrature in tests/optics/test_focused.py
@pytest.mark.slow
def test_dipole_force_and_trap_frequencies_equal_closed_form(focused):
    r = _R_OFF
    ps = jb.Particles(r[None], A, alpha_e=ALPHA, density=RHO_SILICA)
    F = jb.optical_forces(ps, focused)[0]
    Fc = closed_form_force(focused, r, ALPHA)
    np.testing.assert_allclose(np.asarray(F), np.asarray(Fc), rtol=1e-9,
                               atol=1e-9 * float(jnp.max(jnp.abs(Fc))))
    Kc = _closed_form_stiffness(focused)
    # at the focus: scattering force along +z, stiffness diagonal, κ_x ≠ κ_y (polarization)
    p0 = jb.Particles(jnp.zeros((1, 3)), A, alpha_e=ALPHA, density=RHO_SILICA)
    F0 = jb.optical_forces(p0, focused)[0]
    assert float(F0[2]) > 0 and abs(float(F0[0])) < 1e-6 * float(F0[2])
    m = RHO_SILICA * 4 / 3 * math.pi * A**3
    w = trap_frequencies(ps, focused)[0]  # at r
    np.testing.assert_allclose(np.asarray(w), np.sqrt(np.diag(np.asarray(Kc)) / m), rtol=1e-8)
    w0 = trap_frequencies(p0, focused)[0]
    assert float(w0[1]) > float(w0[0]) > float(w0[2]) > 0  # ω_y > ω_x > ω_z for x polarization


# ~4 CPU-s more (the stiffness program compiles separately from trap_frequencies'): by default
# the trap frequencies above check the stiffness diagonal against the same closed form, and
# tests/optics/test_forces.py::test_stiffness_matrix_matches_finite_differences the full matrix
@pytest.mark.slow
def test_stiffness_matrix_equals_closed_form_jacobian(focused):
    ps = jb.Particles(_R_OFF[None], A, alpha_e=ALPHA, density=RHO_SILICA)
    K = jb.stiffness_matrix(ps, focused)
    Kc = _closed_form_stiffness(focused)
    np.testing.assert_allclose(np.asarray(K), np.asarray(Kc), rtol=1e-8,
                               atol=1e-8 * float(jnp.max(jnp.abs(Kc))))


@pytest.mark.slow
def test_low_na_trap_equals_paraxial_tweezer():
    """NA 0.1, filling 0.3: the focused and paraxial traps (same focal power, waist
    λ/(π f0 NA)) agree to O((f0 NA)²) ≈ 1e-3 for a Mie silica sphere (scattering force too)."""
    NA, f0, P = 0.1, 0.3, 0.5
    fb = FocusedBeam(P, LAM, NA, filling=f0, order=40)
    tw = jb.Tweezer(P * float(aperture_transmission(f0)), LAM, waist=LAM / (math.pi * f0 * NA))
    ps = jb.Particles(jnp.zeros((1, 3)), A, index=1.45, density=RHO_SILICA)
    w_f, w_t = trap_frequencies(ps, fb)[0], trap_frequencies(ps, tw)[0]
    np.testing.assert_allclose(np.asarray(w_f), np.asarray(w_t), rtol=3e-3)
    Fz_f, Fz_t = jb.optical_forces(ps, fb)[0, 2], jb.optical_forces(ps, tw)[0, 2]
    assert float(Fz_f) == pytest.approx(float(Fz_t), rel=3e-3)


@pytest.mark.slow
def test_untrapped_axis_is_nan_and_masses_argument(focused):
    # a particle with negative real polarizability is pushed out of the intensity maximum
    ps = jb.Particles(jnp.zeros((1, 3)), A, alpha_e=-ALPHA.real, density=RHO_SILICA)
    w = trap_frequencies(ps, focused)
    assert bool(jnp.all(jnp.isnan(w)))
    ps2 = jb.Particles(jnp.zeros((1, 3)), A, alpha_e=ALPHA)
    with pytest.raises(ValueError, match="densit"):
        trap_frequencies(ps2, focused)
    m = RHO_SILICA * 4 / 3 * math.pi * A**3
    w2 = trap_frequencies(ps2, focused, masses=m)
    ps3 = jb.Particles(jnp.zeros((1, 3)), A, alpha_e=ALPHA, density=RHO_SILICA)
    np.testing.assert_allclose(np.asarray(w2), np.asarray(trap_frequencies(ps3, focused)), rtol=1e-12)


@pytest.mark.slow
def test_grad_of_trap_frequency_wrt_na_and_filling():
    """d ω_x / d(NA, f0) through the beam constructor, the solve and the stiffness (the
    design loop "choose NA and filling for a target trap frequency") vs central differences."""
    @jax.jit
    def wx(p):
        b = FocusedBeam(jnp.asarray(0.2), LAM, p[0], filling=p[1], order=32, extent=LAM)
        ps = jb.Particles(jnp.zeros((1, 3)), A, alpha_e=ALPHA, density=RHO_SILICA)
        return trap_frequencies(ps, b)[0, 0] / 1e6

    p0 = jnp.asarray([0.8, 1.0])
    g = jax.grad(wx)(p0)
    for i in range(2):
        e = jnp.zeros(2).at[i].set(1e-5)
        fd = (wx(p0 + e) - wx(p0 - e)) / 2e-5
        assert float(g[i]) == pytest.approx(float(fd), rel=1e-5)


@pytest.mark.slow
def test_tweezer_array_with_focus():
    """TweezerArray(focus=FocusedBeam): the array's beam is the coherent sum of focused beams,
    linearize(method="exact") gives the focused-field trap frequencies (= trap_frequencies for
    one tweezer) and the binding C between neighbouring focused tweezers; the paraxial
    far-field closed forms refuse it."""
    fb = FocusedBeam(1.0, LAM, 0.8, filling=1.0, order=32, extent=4 * LAM)
    one = jb.TweezerArray(jnp.zeros((1, 3)), powers=0.2, wavelength=LAM, radii=A, alpha=ALPHA,
                          density=RHO_SILICA, focus=fb)
    lin = jb.linearize(one, method="exact", axis="xyz")
    ref = trap_frequencies(one.particles(), FocusedBeam(0.2, LAM, 0.8, filling=1.0, order=32,
                                                        extent=4 * LAM))
    np.testing.assert_allclose(np.asarray(lin.omega), np.asarray(ref).ravel(), rtol=1e-10)
    with pytest.raises(ValueError, match="far-field"):
        jb.linearize(one)
    with pytest.raises(ValueError, match="neither waists nor NA"):
        jb.TweezerArray(jnp.zeros((1, 3)), powers=0.2, wavelength=LAM, radii=A, alpha=ALPHA,
                        density=RHO_SILICA, focus=fb, NA=0.8)
    two = jb.TweezerArray(jnp.asarray([[0.0, 0.0, 0.0], [3e-6, 0.0, 0.0]]), powers=0.2,
                          wavelength=LAM, radii=A, alpha=ALPHA, density=RHO_SILICA, focus=fb,
                          polarization_angles=math.pi / 2, phases=jnp.asarray([0.0, 0.4]))
    r = jnp.asarray([1.0e-6, 0.2e-6, 0.1e-6])
    parts = [FocusedBeam(0.2, LAM, 0.8, filling=1.0, order=32, extent=4 * LAM, phase=ph, focus=f,
                         polarization=(0.0, 1.0)) for ph, f in ((0.0, (0, 0, 0)), (0.4, (3e-6, 0, 0)))]
    np.testing.assert_allclose(np.asarray(two.beam().fields(r)[0]),
                               sum(np.asarray(b.fields(r)[0]) for b in parts), rtol=1e-10)
    lin2 = jb.linearize(two, method="exact", axis="z")
    C = np.asarray(lin2.C)
    assert np.all(np.isfinite(C)) and abs(C[0, 1]) > 0


def pupil_moment_frequencies(a, NA, P, f0, alpha, rho):
    """ω_x, ω_y, ω_z of the gradient force U = −α|E|²/4 (real α) at the focus of an aplanatic
    x-polarized focused Gaussian, in closed form from second moments of the pupil.

    Derivation (here, not from a paper): expand Novotny & Hecht eq. 3.66 to second order about
    the focus, J0(u) ≈ 1 − u²/4, J1(u) ≈ u/2, J2(u) ≈ u²/8, e^{ikz cos θ} ≈ 1 + ikz c − (kz c)²/2;
    with w(θ) = e^{−s²/(f0² s_m²)} √c s (s = sin θ, c = cos θ) and the pupil moments
    A0 = ∫w(1+c), A2 = ∫w(1+c)s², B2 = ∫w(1−c)s², D = ∫w s², M1 = ∫w(1+c)c, M2 = ∫w(1+c)c²,
    |E|² = |E(0)|² (1 − q_a (k r_a)²) with q_x = [A0(A2/2 − B2/4) − D²]/A0² (D from E_z),
    q_y = (A2/2 + B2/4)/A0, q_z = (A0 M2 − M1²)/A0², so κ_a = (α/2) k² q_a |E(0)|² and
    |E(0)|² = Z0 k² P A0²/(π f0² s_m²) (the FocusedBeam power normalisation).
    """
    from scipy.integrate import quad

    k = 2 * math.pi / LAM
    from jaxbind.constants import Z0
    tm = math.asin(NA)

    def I(g):  # noqa: E743
        f = lambda t: (math.exp(-(math.sin(t) / (f0 * NA)) ** 2) * math.sqrt(math.cos(t))  # noqa
                       * math.sin(t) * g(math.sin(t), math.cos(t)))
        return quad(f, 0, tm, epsabs=0, epsrel=1e-13)[0]

    A0, A2 = I(lambda s, c: 1 + c), I(lambda s, c: (1 + c) * s * s)
    B2, D = I(lambda s, c: (1 - c) * s * s), I(lambda s, c: s * s)
    M1, M2 = I(lambda s, c: (1 + c) * c), I(lambda s, c: (1 + c) * c * c)
    q = np.array([(A0 * (A2 / 2 - B2 / 4) - D * D) / A0**2, (A2 / 2 + B2 / 4) / A0,
                  (A0 * M2 - M1 * M1) / A0**2])
    E02 = Z0 * k**2 * P * A0**2 / (math.pi * f0**2 * NA**2)
    m = rho * 4 / 3 * math.pi * a**3
    return np.sqrt(0.5 * alpha * k**2 * q * E02 / m)


def test_trap_frequencies_equal_pupil_moment_closed_form(focused):
    """A real polarizability (gradient force only): the autodiff stiffness through the engine
    equals the closed-form second moments of the aplanatic pupil (NA 0.8, f0 = 1)."""
    alpha = ALPHA.real
    ps = jb.Particles(jnp.zeros((1, 3)), A, alpha_e=alpha + 0j, density=RHO_SILICA)
    w = np.asarray(trap_frequencies(ps, focused)[0])
    ref = pupil_moment_frequencies(A, 0.8, 0.2, 1.0, alpha, RHO_SILICA)
    np.testing.assert_allclose(w, ref, rtol=1e-9)
