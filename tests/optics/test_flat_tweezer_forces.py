"""Forces and stiffness of particles in paper 002's flat tweezers (optics.potentials
flat_tweezer_forces / flat_tweezer_stiffness, the force engine with FlatTweezerBeam)."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind import constants as C
from jaxbind.optics.particles import Particles
from jaxbind.optics.potentials import (
    FlatTweezerBeam,
    FlatTweezers,
    binding_potentials,
    flat_tweezer_forces,
    flat_tweezer_stiffness,
)
from jaxbind.solvers import Born, Direct

LAM = 1064e-9
K = 2 * math.pi / LAM
R = 100e-9
I0 = 1e10  # 1e-2 W/µm², paper 002
E0 = math.sqrt(2 * I0 / (C.c * C.epsilon0))
ATILDE = 0.28  # real Clausius–Mossotti factor (ε − 1)/(ε + 2) of silica-like spheres
ALPHA = 4 * math.pi * C.epsilon0 * R**3 * ATILDE
F0 = 4 * math.pi * C.epsilon0 * E0**2 / K**2  # force unit of the scaled kernels


def _pair(pos, dphi, scale=1.0, pols=(math.pi / 2, math.pi / 2)):
    ps = Particles(pos, R, alpha_e=scale * ALPHA)
    ill = FlatTweezers(jnp.full((2,), I0), jnp.stack([jnp.asarray(dphi), jnp.zeros(())]),
                       jnp.asarray(pols), LAM)
    return ps, ill


# an off-axis pair (all 3×3 blocks of K non-trivial), two phases (conservative / not)
POS = np.array([[0.02e-6, 0.01e-6, 0.03e-6], [0.93e-6, 0.25e-6, -0.12e-6]])  # NumPy: no eager ops
PHIS = jnp.array([0.0, math.pi / 3])


@jax.jit
def _born_parts(pos, dphi):
    """O(α²) parts of the Born(1) forces and stiffness: Born order 1 gives
    X(α) = α² X2 + α³ X3 exactly, so X2 = 2 X(α) − X(2α)/4."""
    def at(s):
        ps, ill = _pair(pos, dphi, s, pols=(0.3, math.pi / 2))
        return flat_tweezer_forces(ps, ill, Born(1)), flat_tweezer_stiffness(ps, ill, Born(1))
    (f1, k1), (f2, k2) = at(1.0), at(2.0)
    return 2 * f1 - f2 / 4, 2 * k1 - k2 / 4


@jax.jit
def _potential_route(pos, dphi):
    """The autodiff-of-potentials route (notebook 002 before this module had forces):
    F_i = −∂U_i/∂r_i at fixed r_j, K = −∂F/∂r."""
    def forces(p):
        ps, ill = _pair(p, dphi, pols=(0.3, math.pi / 2))
        J = jax.jacrev(lambda q: binding_potentials(ps.with_positions(q), ill).per_particle)(p)
        return -jnp.stack([J[0, 0], J[1, 1]])
    return forces(pos), -jax.jacfwd(forces)(pos).reshape(6, 6)


# slow: the flat-tweezer forces stay covered by default against the exact two-dipole closed form
# (test_forces_match_closed_form_two_dipole_solution) and the stiffness against finite differences
@pytest.mark.slow
def test_order_alpha2_equals_gradient_of_per_particle_potentials():
    # paper 002 eq. 29: the O(α²) forces are −∂U_i/∂r_i; the stiffness is their Jacobian
    for d in PHIS:
        f2, k2 = _born_parts(POS, d)
        fp, kp = _potential_route(POS, d)
        scale_f, scale_k = float(jnp.max(jnp.abs(fp))), float(jnp.max(jnp.abs(kp)))
        assert scale_f > 1e-16 and scale_k > 1e-10  # a real interaction, not zeros
        np.testing.assert_allclose(np.asarray(f2), np.asarray(fp), rtol=1e-8, atol=1e-9 * scale_f)
        np.testing.assert_allclose(np.asarray(k2), np.asarray(kp), rtol=1e-8, atol=1e-9 * scale_k)
    # Δφ = π/3 is non-conservative: F_A + F_B ≠ 0 (a self-propelling pair), Δφ = 0 is not
    f_cons, _ = _potential_route(POS, 0.0)
    f_nc, _ = _potential_route(POS, math.pi / 3)
    assert float(jnp.max(jnp.abs(f_cons[0] + f_cons[1]))) < 1e-8 * float(jnp.max(jnp.abs(f_cons)))
    assert float(jnp.max(jnp.abs(f_nc[0] + f_nc[1]))) > 1e-2 * float(jnp.max(jnp.abs(f_nc)))


def _closed_form_forces(x, dphi, alpha_t):
    """Two y-polarized dipoles on the x axis in flat fields Ẽ_A = e^{iΔφ} ŷ, Ẽ_B = ŷ, solved
    exactly by hand (scaled units): p_A = α(E_A + f1 p_B), p_B = α(E_B + f1 p_A),
    f1(u) = e^{iu}(1/u + i/u² − 1/u³); F_B,x = ½ Re[p_B* f1'(u) p_A], F_A,x = −½ Re[p_A* f1'(u) p_B]."""
    u = K * x
    f1 = np.exp(1j * u) * (1 / u + 1j / u**2 - 1 / u**3)
    df1 = 1j * f1 + np.exp(1j * u) * (-1 / u**2 - 2j / u**3 + 3 / u**4)
    ea, eb = np.exp(1j * dphi), 1.0
    det = 1 - (alpha_t * f1) ** 2
    pa = alpha_t * (ea + alpha_t * f1 * eb) / det
    pb = alpha_t * (eb + alpha_t * f1 * ea) / det
    fb = 0.5 * np.real(np.conj(pb) * df1 * pa)
    fa = -0.5 * np.real(np.conj(pa) * df1 * pb)
    return F0 * np.array([fa, fb])


# one program for the file's float64 pair sweeps (always 4 points: same shapes, same program);
# throw=False: an overlapping point gives NaN forces
_direct_x = jax.jit(jax.vmap(lambda x, d: flat_tweezer_forces(
    *_pair(jnp.stack([jnp.zeros(3), jnp.stack([x, 0.0, 0.0])]), d), throw=False)))


def test_forces_match_closed_form_two_dipole_solution():
    xs = jnp.array([0.3e-6, 1.0067e-6, 2.1e-6, 3.3e-6])
    ds = jnp.array([0.0, math.pi / 4, math.pi / 3, 2.0])
    out = np.asarray(_direct_x(xs, ds))[..., 0]
    alpha_t = (K * R) ** 3 * ATILDE
    for i in range(len(xs)):
        ref = _closed_form_forces(float(xs[i]), float(ds[i]), alpha_t)
        np.testing.assert_allclose(out[i], ref, rtol=1e-10, atol=1e-12 * np.max(np.abs(ref)))


def test_stiffness_matches_finite_differences_and_translation_invariance():
    ps, ill = _pair(POS, math.pi / 3, pols=(0.3, math.pi / 2))
    Kmat = np.asarray(jax.jit(flat_tweezer_stiffness)(ps, ill))
    force = jax.jit(lambda p: flat_tweezer_forces(ps.with_positions(p), ill))
    h = 1e-12  # m; forces vary on the scale of λ
    fd = np.zeros((6, 6))
    for c in range(6):
        e = np.zeros(6)
        e[c] = h
        e = e.reshape(2, 3)
        fd[:, c] = -(np.asarray(force(POS + e)) - np.asarray(force(POS - e))).ravel() / (2 * h)
    np.testing.assert_allclose(Kmat, fd, rtol=1e-5, atol=1e-6 * np.abs(Kmat).max())
    # flat fields: the forces depend on separations only → three exact zero modes
    col = Kmat[:, :3] + Kmat[:, 3:]
    assert np.abs(col).max() < 1e-12 * np.abs(Kmat).max()
    assert not np.allclose(Kmat, Kmat.T, rtol=1e-3)  # non-conservative (Δφ = π/3): K ≠ Kᵀ


def test_beam_interface_float32_and_errors():
    ill = _pair(POS, 0.5)[1]
    beam = ill.as_beam(POS)
    assert isinstance(beam, FlatTweezerBeam)
    # nearest focus decides; the field is flat (gradient zero)
    E, H = beam.fields(POS[1] + np.array([0.1e-6, -0.05e-6, 0.2e-6]))
    np.testing.assert_allclose(np.asarray(E), E0 * np.array([0.0, 1.0, 0.0]), rtol=1e-12, atol=1e-6)
    assert np.abs(np.asarray(H)).max() == 0.0
    E, _ = beam.fields(POS[0])
    np.testing.assert_allclose(np.asarray(E), E0 * np.exp(0.5j) * np.array([0.0, 1.0, 0.0]), atol=1e-6)
    dE, _ = beam.field_gradients(POS[0])
    assert np.abs(np.asarray(dE)).max() == 0.0
    # float32 agrees with float64 (scaled units)
    x32 = jnp.array([[0.0, 0, 0], [1.1e-6, 0, 0]], jnp.float32)
    p32 = Particles(x32, jnp.float32(R), alpha_e=jnp.float32(ALPHA))
    i32 = FlatTweezers(jnp.full((2,), I0, jnp.float32), jnp.array([0.7, 0.0], jnp.float32),
                       jnp.array([math.pi / 2] * 2, jnp.float32), jnp.float32(LAM))
    f32 = flat_tweezer_forces(p32, i32, Direct())
    assert f32.dtype == jnp.float32
    f64 = _direct_x(jnp.array([1.1e-6, 150e-9, 1e-6, 2e-6]), jnp.array([0.7, 0.0, 0.0, 0.0]))[0, :, 0]
    np.testing.assert_allclose(np.asarray(f32)[:, 0], np.asarray(f64), rtol=2e-5)
    # bad input: named errors
    ps, _ = _pair(POS, 0.0)
    with pytest.raises(TypeError, match="FlatTweezers"):
        flat_tweezer_forces(ps, "laser")
    with pytest.raises(ValueError, match="one tweezer per particle"):
        flat_tweezer_stiffness(Particles(np.arange(9.0).reshape(3, 3) * 1e-6, R, alpha_e=ALPHA),
                               ill)
    with pytest.raises(ValueError, match="no magnetic field"):
        flat_tweezer_forces(Particles(POS, R, alpha_e=ALPHA, alpha_m=0.1 * ALPHA), ill)
    with pytest.raises(ValueError, match="foci"):
        FlatTweezerBeam(ill, jnp.zeros((3, 3)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="overlap"):  # float32: the program above
        flat_tweezer_forces(p32.with_positions(jnp.array([[0.0, 0, 0], [150e-9, 0, 0]],
                                                         jnp.float32)), i32, Direct())
    nan = np.asarray(_direct_x(jnp.array([150e-9, 1e-6, 2e-6, 3e-6]), jnp.zeros(4)))  # overlap: NaN
    assert np.all(np.isnan(nan[0])) and np.all(np.isfinite(nan[1:]))
