"""Tests for jaxbind.optics.potentials: trap, per-particle binding, joint, total potentials."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

from jaxbind import constants as C
from jaxbind.optics.beams import CoherentBeams, PlaneWave, Tweezer
from jaxbind.optics.casimir import casimir_polder_energy
from jaxbind.optics.forces import interparticle_forces
from jaxbind.optics.particles import Particles
from jaxbind.solvers import Born
from jaxbind.optics.potentials import (
    FlatTweezers,
    binding_potentials,
    joint_binding_potential,
    potential_minima,
    total_potentials,
    trap_potential,
    tweezer_pair,
)
from jaxbind.results import RESULTS, code

POT_SUCCESS, POT_OVERLAP = int(code(RESULTS.successful)), int(code(RESULTS.overlap))

LAM = 1064e-9
K = 2 * math.pi / LAM
R = 100e-9
I0 = 1e10  # 1e-2 W/µm²
E0 = math.sqrt(2 * I0 / (C.c * C.epsilon0))
ATILDE = 0.28  # a real Clausius–Mossotti factor
ALPHA = 4 * math.pi * C.epsilon0 * R**3 * ATILDE


def _green_np(r, k):
    """Paper 000 (after eq. 1) Green tensor, written out in NumPy (E = G p/ε0)."""
    r = np.asarray(r, float)
    d = np.linalg.norm(r)
    rr = np.outer(r, r)
    return np.exp(1j * k * d) / (4 * np.pi) * ((1 - 1j * k * d) * (3 * rr - d**2 * np.eye(3)) / d**5
                                               + k**2 * (d**2 * np.eye(3) - rr) / d**3)


def _c7(x, dphi, at=ATILDE, intensity=I0):
    """Paper 002 eq. C7 (y-polarized spheres on the x axis, sphere A: kr − Δφ), in J."""
    kr = K * x
    a = kr - dphi
    return 4 * math.pi * R**6 * intensity * at**2 / (C.c * x**3) * (
        math.cos(a) + kr * math.sin(a) - kr**2 * math.cos(a))


def _flat_pair(x, dphi=0.0, pols=(math.pi / 2, math.pi / 2), dtype=jnp.float64, radius=R):
    sep = jnp.asarray(x, dtype)
    sep = jnp.stack([sep, 0 * sep, 0 * sep]) if sep.ndim == 0 else sep
    ps = Particles(jnp.stack([jnp.zeros(3, dtype), sep]), jnp.asarray(radius, dtype),
                   alpha_e=jnp.asarray(ALPHA))
    ill = FlatTweezers(jnp.full((2,), I0, dtype), jnp.stack([jnp.asarray(dphi, dtype),
                                                              jnp.zeros((), dtype)]),
                       jnp.asarray(pols, dtype), jnp.asarray(LAM, dtype))
    return ps, ill


_per = jax.jit(lambda x, d: binding_potentials(*_flat_pair(x, d)).per_particle)
# Same α, tiny radius (the radius only enters the overlap check): for sub-2R near-field limits.
_per_small = jax.jit(lambda x, d: binding_potentials(*_flat_pair(x, d, radius=1e-13)).per_particle)
_binding = eqx.filter_jit(binding_potentials)
_trap = eqx.filter_jit(trap_potential)


# --------------------------------------------------------------------------------------
# trap potential
# --------------------------------------------------------------------------------------


def test_trap_potential_closed_forms():
    ps, ill = _flat_pair(1e-6)
    # −¼ α |E|² = −2π R³ α̃ I/c for each flat tweezer (paper 002 eq. 28)
    np.testing.assert_allclose(np.asarray(trap_potential(ps, ill)),
                               -2 * math.pi * R**3 * ATILDE * I0 / C.c, rtol=1e-12)
    # Gaussian tweezer in the focal plane: −¼ α E0² exp(−2ρ²/w0²)
    w0 = 0.7e-6
    tw = Tweezer(power=0.05, wavelength=LAM, waist=w0)
    pos = jnp.array([[0.0, 0.0, 0.0], [0.3e-6, 0.2e-6, 0.0]])
    u = _trap(Particles(pos, R, alpha_e=ALPHA), tw)
    e0 = float(tw.reference_amplitude)
    rho2 = np.sum(np.asarray(pos)[:, :2] ** 2, axis=1)
    np.testing.assert_allclose(np.asarray(u), -0.25 * ALPHA * e0**2 * np.exp(-2 * rho2 / w0**2),
                               rtol=1e-12)


# --------------------------------------------------------------------------------------
# binding potential: closed forms, identities
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dphi", [0.0, 0.9, math.pi / 2, math.pi])
def test_binding_matches_paper002_C7_per_particle(dphi):
    for x in (0.25e-6, 1.064e-6, 2.7e-6):
        ua, ub = np.asarray(_per(x, dphi))
        np.testing.assert_allclose(ua, _c7(x, dphi), rtol=1e-11)
        np.testing.assert_allclose(ub, _c7(x, -dphi), rtol=1e-11)  # U_A(Δφ) = U_B(−Δφ)


def test_binding_general_geometry_eq30_and_lamb_shift_paper000_eq4(rng):
    # Three spheres, arbitrary positions and complex fields of a plane wave + tweezer sum.
    pos = np.array([[0.0, 0.0, 0.0], [0.9e-6, 0.3e-6, 0.1e-6], [-0.4e-6, 1.1e-6, -0.2e-6]])
    alphas = ALPHA * np.array([1.0, 0.7, 1.3])
    beam = CoherentBeams([PlaneWave(LAM, I0, direction=(0, 0, 1), polarization=(1, 0.3j, 0),
                                    phase=0.4),
                          Tweezer(0.02, LAM, waist=1e-6, phase=1.1, polarization_angle=0.3)])
    b = _binding(Particles(jnp.asarray(pos), R, alpha_e=jnp.asarray(alphas)), beam)
    E = np.asarray(eqx.filter_jit(jax.vmap(lambda p: beam.fields(p)[0]))(jnp.asarray(pos)))
    n = 3
    u = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:  # paper 002 eq. 29 (free-space part): −(1/2ε0) Re[α_iE_i*·G·α_jE_j]
                u[i, j] = -0.5 / C.epsilon0 * np.real(
                    alphas[i] * alphas[j] * np.conj(E[i]) @ _green_np(pos[i] - pos[j], K) @ E[j])
    np.testing.assert_allclose(np.asarray(b.pairwise), u, rtol=1e-10, atol=1e-12 * np.abs(u).max())
    np.testing.assert_allclose(np.asarray(b.per_particle), u.sum(1), rtol=1e-10)
    # paper 000 eq. 4 / paper 001 eq. 67: V_opt = −(1/4ε0) Σ_{j≠j'} α_jα_j' E_j'*·Re G·E_j
    v = sum(-0.25 / C.epsilon0 * alphas[j] * alphas[jp]
            * np.conj(E[jp]) @ np.real(_green_np(pos[j] - pos[jp], K)) @ E[j]
            for j in range(n) for jp in range(n) if j != jp)
    np.testing.assert_allclose(float(b.lamb_shift), np.real(v), rtol=1e-10)
    # decomposition U_i = Σ_j (U_ij + U_ji)/2 + N_i, with Σ_i N_i = 0
    np.testing.assert_allclose(np.asarray(b.nonconservative),
                               u.sum(1) - 0.5 * (u + u.T).sum(1), atol=1e-12 * np.abs(u).max())
    assert abs(float(jnp.sum(b.nonconservative))) < 1e-12 * np.abs(u).max()
    assert not bool(b.is_conservative)


# slow: the limits of paper 002 eq. C7; the full closed form C7 stays covered by default in
# test_binding_matches_paper002_C7_per_particle
@pytest.mark.slow
def test_near_and_far_field_limits_eqs39_40():
    # eq. 39 (near, kr ≪ 1): 4π I R³ (R/r)³ α̃² cos Δφ / c;  eq. 40 (far, kr ≫ 1):
    # −4π I R³ (kR)² (R/r) α̃² cos(kr ∓ Δφ)/c.
    dphi = 0.3
    x = 1e-3 / K
    near = 4 * math.pi * I0 * R**3 * (R / x) ** 3 * ATILDE**2 * math.cos(dphi) / C.c
    np.testing.assert_allclose(float(_per_small(x, dphi)[0]), near, rtol=1e-5)
    x = (2 * math.pi * 300 + dphi) / K  # cos(kr − Δφ) = 1 for sphere A
    far = -4 * math.pi * I0 * R**3 * (K * R) ** 2 * (R / x) * ATILDE**2 / C.c
    np.testing.assert_allclose(float(_per(x, dphi)[0]), far, rtol=1e-5)


def test_joint_potential_only_when_conservative():
    for dphi in (0.0, math.pi):
        ps, ill = _flat_pair(1.2e-6, dphi)
        b = binding_potentials(ps, ill)
        assert bool(b.is_conservative)
        v = joint_binding_potential(ps, ill)
        np.testing.assert_allclose(float(v), np.asarray(b.per_particle), rtol=1e-13)
        np.testing.assert_allclose(float(v), _c7(1.2e-6, dphi), rtol=1e-11)
    ps, ill = _flat_pair(1.2e-6, math.pi / 2)
    with pytest.raises(eqx.EquinoxRuntimeError, match="not conservative"):
        joint_binding_potential(ps, ill)
    # xy polarizations at Δφ = 0 are conservative too (the fields are in phase)
    ps, ill = _flat_pair(jnp.array([0.8e-6, 0.5e-6, 0.0]), 0.0, pols=(0.0, math.pi / 2))
    assert bool(binding_potentials(ps, ill).is_conservative)


# --------------------------------------------------------------------------------------
# forces: −∂U_i/∂r_i equals the O(α²) coupled-dipole interparticle force
# --------------------------------------------------------------------------------------


# slow: Δφ = 0 (~12 CPU-s: it adds the Lamb-shift force, two more gradient programs); the
# default Δφ = π/2 case checks −∂U_i/∂r_i = the O(α²) force, and the Lamb shift's value is
# checked by default in test_binding_general_geometry_eq30_and_lamb_shift_paper000_eq4
@pytest.mark.parametrize("dphi", [pytest.param(0.0, marks=pytest.mark.slow), math.pi / 2])
def test_gradient_equals_born1_interparticle_force(dphi):
    pos = jnp.array([[0.02e-6, 0.01e-6, 0.03e-6], [0.9e-6, 0.05e-6, -0.02e-6]])
    foci = jnp.array([[0.0, 0.0, 0.0], [0.85e-6, 0.0, 0.0]])
    beam = CoherentBeams.from_tweezers(jnp.array([0.05, 0.05]), LAM, foci, waist=0.8e-6,
                                       phases=jnp.array([dphi, 0.0]),
                                       polarization_angles=math.pi / 2)
    f = jax.jit(jax.vmap(lambda s: interparticle_forces(Particles(pos, R, alpha_e=s * ALPHA),
                                                        beam, Born(1))))
    fb = f(jnp.array([1.0, 2.0]))
    # Born order 1 gives F(α) = α² F2 + α³ F3 exactly; F2 = 2F(α) − F(2α)/4 is the O(α²) part.
    f2 = 2 * fb[0] - fb[1] / 4

    def u(p, i):
        return binding_potentials(Particles(p, R, alpha_e=ALPHA), beam).per_particle[i]

    grads = jax.jit(lambda p: jnp.stack([-jax.grad(u)(p, 0)[0], -jax.grad(u)(p, 1)[1]]))(pos)
    np.testing.assert_allclose(np.asarray(grads), np.asarray(f2), rtol=1e-9,
                               atol=1e-9 * float(jnp.max(jnp.abs(f2))))
    if dphi == 0.0:
        # In the focal plane the conservative (Lamb-shift) potential gives the in-plane force.
        pos0 = pos.at[:, 2].set(0.0)
        g = jax.grad(lambda p: binding_potentials(Particles(p, R, alpha_e=ALPHA), beam).lamb_shift)
        f0 = jax.vmap(lambda s: interparticle_forces(Particles(pos0, R, alpha_e=s * ALPHA), beam,
                                                     Born(1)))(jnp.array([1.0, 2.0]))
        f20 = 2 * f0[0] - f0[1] / 4
        np.testing.assert_allclose(np.asarray(-g(pos0))[:, :2], np.asarray(f20)[:, :2],
                                   rtol=1e-9, atol=1e-9 * float(jnp.max(jnp.abs(f20))))


# --------------------------------------------------------------------------------------
# Gaussian profile, total potentials, minima
# --------------------------------------------------------------------------------------


# slow: the Gaussian-profile pair (~9 CPU-s); the Gaussian trap potential's closed form stays
# covered by default in test_trap_potential_closed_forms, total_potentials (trap + binding +
# Casimir–Polder) in test_vmap_grad_float32
@pytest.mark.slow
def test_gaussian_pair_trap_interference_and_total():
    x, dphi, w0 = 0.9e-6, 0.6, 0.8e-6
    ps, ill = tweezer_pair(x, dphi, profile="gaussian", waist=w0)
    tot = total_potentials(ps, ill, 300.0)
    alpha = float(jnp.real(ps.alpha_e[0]))
    # each sphere sits at its focus and also sees the other tweezer's Gaussian tail
    trap = -0.25 * alpha * E0**2 * abs(np.exp(1j * dphi) + np.exp(-x**2 / w0**2)) ** 2
    np.testing.assert_allclose(np.asarray(tot.trap), trap, rtol=1e-10)
    cp = float(casimir_polder_energy(x, 300.0, R))
    np.testing.assert_allclose(np.asarray(tot.casimir), cp, rtol=1e-12)
    b = binding_potentials(ps, ill)
    np.testing.assert_allclose(np.asarray(tot.total), trap + np.asarray(b.per_particle) + cp,
                               rtol=1e-12)
    assert int(tot.status) == POT_SUCCESS


def test_well_near_lambda_matches_independent_root_find():
    # Minimum of U_A (flat, yy, Δφ = 0) near x = λ from jaxbind (grad + optimistix bisection)
    # vs scipy brentq on the derivative of the closed form C7 (Casimir–Polder is ~1e-4 K there).
    f = lambda x: _per(x * 1e-6, 0.0)[0] / C.k_B  # noqa: E731  K, x in µm
    xs, vals, valid = potential_minima(f, jnp.linspace(0.6, 1.6, 41))
    assert int(jnp.sum(valid)) == 1
    g = lambda x: (_c7(x * 1e-6 + 1e-13, 0.0) - _c7(x * 1e-6 - 1e-13, 0.0))  # noqa: E731
    x_ref = optimize.brentq(g, 0.8, 1.3, xtol=1e-12)
    np.testing.assert_allclose(float(xs[0]), x_ref, rtol=1e-7)
    # a plain function: minima of cos on [0, 4π] at π and 3π
    xs, _, valid = potential_minima(jnp.cos, jnp.linspace(0.0, 4 * math.pi, 50), max_count=4)
    np.testing.assert_allclose(np.asarray(xs)[np.asarray(valid)], [math.pi, 3 * math.pi], rtol=1e-9)


# --------------------------------------------------------------------------------------
# transformations, dtypes, bad input
# --------------------------------------------------------------------------------------


# slow (~2.2 CPU-s); jax.grad of the binding potential stays default in
# test_gradient_equals_born1_interparticle_force (−∇U equals the force)
@pytest.mark.slow
def test_vmap_grad_float32():
    xs = jnp.array([0.3e-6, 1.0e-6, 2.0e-6])
    phis = jnp.array([0.0, 1.0, 2.5])
    # one program: both potentials and d U_A / dΔφ (jit ∘ vmap ∘ value_and_grad with aux)
    def ua(x, d):
        u = _per(x, d)
        return u[0], u

    (_, out), dphi = jax.jit(jax.vmap(jax.value_and_grad(ua, argnums=1, has_aux=True)))(xs, phis)
    for i in range(3):
        np.testing.assert_allclose(np.asarray(out[i]), [_c7(float(xs[i]), float(phis[i])),
                                                        _c7(float(xs[i]), -float(phis[i]))],
                                   rtol=1e-11)
    # d U_A / dΔφ against the closed form derivative; vmap∘grad
    for i in range(3):
        x, p = float(xs[i]), float(phis[i])
        kr = K * x
        a = kr - p
        ref = 4 * math.pi * R**6 * I0 * ATILDE**2 / (C.c * x**3) * (
            math.sin(a) - kr * math.cos(a) - kr**2 * math.sin(a))
        np.testing.assert_allclose(float(dphi[i]), ref, rtol=1e-10)
    # float32: scaled units keep the relative accuracy
    f32 = binding_potentials(*_flat_pair(1.1e-6, 0.7, dtype=jnp.float32))
    assert f32.per_particle.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(f32.per_particle), np.asarray(_per(1.1e-6, 0.7)),
                               rtol=2e-5)
    t32 = total_potentials(*_flat_pair(0.5e-6, 0.0, dtype=jnp.float32), jnp.float32(300.0))
    t64 = total_potentials(*_flat_pair(0.5e-6, 0.0), 300.0)
    np.testing.assert_allclose(np.asarray(t32.total), np.asarray(t64.total), rtol=2e-5)


def test_bad_input():
    ps, ill = _flat_pair(150e-9)  # closer than 2R
    with pytest.raises(eqx.EquinoxRuntimeError, match="overlap"):
        binding_potentials(ps, ill)
    with pytest.raises(eqx.EquinoxRuntimeError, match="overlap"):
        _trap(ps, ill).block_until_ready()
    st = jax.jit(jax.vmap(lambda x: binding_potentials(*_flat_pair(x), throw=False).status))(
        jnp.array([150e-9, 1e-6]))
    np.testing.assert_array_equal(np.asarray(st), [POT_OVERLAP, POT_SUCCESS])
    with pytest.raises(ValueError, match="intensities"):
        FlatTweezers([-1.0, 1.0], [0.0, 0.0], [0.0, 0.0], LAM)
    with pytest.raises(ValueError, match="intensity"):
        tweezer_pair(1e-6, intensity=-1.0)
    with pytest.raises(ValueError, match="profile must be 'flat' or 'gaussian', got 'top-hat'"):
        tweezer_pair(1e-6, profile="top-hat")
    with pytest.raises(ValueError, match="needs a waist"):
        tweezer_pair(1e-6, profile="gaussian")
    with pytest.raises(ValueError, match="one tweezer per particle"):
        binding_potentials(Particles(jnp.zeros((3, 3)).at[:, 0].set(jnp.arange(3.0) * 1e-6), R,
                                     alpha_e=ALPHA), _flat_pair(1e-6)[1])
    with pytest.raises(ValueError, match="electric dipoles only"):
        binding_potentials(Particles(jnp.array([[0.0, 0, 0], [1e-6, 0, 0]]), R, index=1.45), ill)
    with pytest.raises(ValueError, match="temperature"):
        total_potentials(*_flat_pair(1e-6), -3.0)
    with pytest.raises(TypeError, match="illumination"):
        trap_potential(_flat_pair(1e-6)[0], "laser")
    with pytest.raises(ValueError, match="profile"):
        tweezer_pair(1e-6, profile="tophat")
