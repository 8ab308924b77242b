"""Tests for jaxbind.optics.pair: closed-form forces on an isotropic dipole pair."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.contrib import CPU_COMPILER_OPTIONS, pair_forces_axial, sincos
from jaxbind.results import RESULTS, code
from jaxbind.solvers import Born, Direct

from jaxbind import constants as C
from jaxbind.optics.beams import CoherentBeams, PlaneWave, Tweezer
from jaxbind.optics.forces import interparticle_forces, nonreciprocity_factors, optical_forces
from jaxbind.optics.pair import (
    pair_forces,
    pair_forces_scaled,
    pair_nonreciprocity_factors,
)
from jaxbind.optics.particles import Particles

# Paper 003 setting: λ = 420 nm, I = 1.3 mW/µm², plane wave along +x, E ∥ y.
OV = int(code(RESULTS.overlap))
LAM = 420e-9
K = 2 * np.pi / LAM
I003 = 1.3e9
A_SI = 45e-9
N_SI = 5.1 + 0.2j
AT0 = (K * A_SI) ** 3 * (N_SI**2 - 1) / (N_SI**2 + 2)  # scaled Rayleigh α̃e
AT_RAD = AT0 / (1 - 2j / 3 * AT0)  # with the radiative correction
PW003 = PlaneWave(LAM, I003, direction=(1.0, 0.0, 0.0), polarization=(0.0, 1.0, 0.0))
SIDE = PlaneWave(LAM, I003, direction=(0.0, 0.0, 1.0), polarization=(0.0, 1.0, 0.0))


def _particles(pos, ate, atm, radius=1e-9):
    return Particles(pos, radius, alpha_e=C.unscale_polarizability(np.asarray(ate), K),
                     alpha_m=C.unscale_magnetic_polarizability(np.asarray(atm), K))


def _rand_alpha(rng):
    return rng.normal(scale=0.3) + 1j * abs(rng.normal(scale=0.2))


# --------------------------------------------------------------------------------------
# independent implementations
# --------------------------------------------------------------------------------------

BEAMS = {
    "plane": PlaneWave(LAM, I003, direction=(0.3, -0.5, 0.8),
                       polarization=np.cross((0.3, -0.5, 0.8), (1.0, 0.2j, 0.3))),
    "two_beam": CoherentBeams([
        PlaneWave(LAM, I003, direction=(1.0, 0, 0), polarization=(0, 1.0, 1j)),
        PlaneWave(LAM, 0.5 * I003, direction=(0, -1.0, 0), polarization=(0.6, 0, 0.8), phase=0.7)]),
    "tweezer": Tweezer(0.05, LAM, waist=0.6e-6, phase=0.3, polarization_angle=0.4),
}


# slow: every beam (~21 CPU-s for the tweezer: nine force programs). By default pair_forces is checked
# against paper 003 eqs. 3–5 for Born(1) and the exact solve (test_paper003_scalar_equations), and
# its general-frame d/dL against pair_forces_axial (test_axial_sweep_jit_vmap_grad_float32)
@pytest.mark.slow
@pytest.mark.parametrize("beam_name", list(BEAMS))
def test_matches_general_coupled_dipole_engine(beam_name, rng):
    """Random positions, different particles, random α̃e, α̃m: equal to the N-particle
    solve_dipoles/optical_forces/interparticle_forces path (dense LU, Born series)."""
    beam = BEAMS[beam_name]
    for _ in range(1):
        pos = rng.normal(size=(2, 3)) * 0.4 * LAM
        ps = _particles(pos, [_rand_alpha(rng) for _ in range(2)],
                        [_rand_alpha(rng) for _ in range(2)])
        for order, method in ((None, Direct()), (1, Born(1)), (3, Born(3))):
            got = pair_forces(ps, beam, order=order)
            f = np.asarray(interparticle_forces(ps, beam, method))
            F = np.asarray(optical_forces(ps, beam, method))
            assert int(got.status) == 0
            np.testing.assert_allclose(got.f, f, rtol=1e-10, atol=1e-10 * np.abs(f).max())
            np.testing.assert_allclose(got.F, F, rtol=1e-10, atol=1e-10 * np.abs(F).max())
            s, d = f[0] + f[1], f[0] - f[1]
            np.testing.assert_allclose(got.nrf0, np.abs(s) / (np.abs(s) + np.abs(d)), atol=1e-8)
    # order 0: no interaction at all, F = F_iso
    got = pair_forces(ps, beam, order=0)
    np.testing.assert_array_equal(got.f, 0.0)


def paper003_numpy(L, ae, am, order):
    """Paper 003 eqs. 3–5 in scaled units (scalar fields, pair on the x axis, plane wave
    along +x with E ∥ y): (f_A, f_B), ``order`` 1 (one iteration of eq. 4) or None."""
    e = np.exp(1j * L)
    phi = (-1 / L**3 + 1j / L**2 + 1 / L) * e
    psi = (1j / L**2 + 1 / L) * e
    dphi = (3 / L**4 - 3j / L**3 - 2 / L**2 + 1j / L) * e
    dpsi = (-2j / L**3 - 2 / L**2 + 1j / L) * e
    EA0, EB0 = np.ones_like(e), e
    HA0, HB0 = EA0, EB0
    if order == 1:
        src = (EA0, EB0, HA0, HB0)
        EA, EB = EA0 + ae * EB0 * phi - am * HB0 * psi, EB0 + ae * EA0 * phi + am * HA0 * psi
        HA, HB = HA0 - ae * EB0 * psi + am * HB0 * phi, HB0 + ae * EA0 * psi + am * HA0 * phi
    else:
        A = np.zeros(L.shape + (4, 4), complex)
        for i in range(4):
            A[..., i, i] = 1
        A[..., 0, 1], A[..., 0, 3] = -ae * phi, am * psi
        A[..., 1, 0], A[..., 1, 2] = -ae * phi, -am * psi
        A[..., 2, 1], A[..., 2, 3] = ae * psi, -am * phi
        A[..., 3, 0], A[..., 3, 2] = -ae * psi, -am * phi
        rhs = np.stack(np.broadcast_arrays(EA0, EB0, HA0, HB0), -1)[..., None]
        EA, EB, HA, HB = np.moveaxis(np.linalg.solve(A, rhs)[..., 0], -1, 0)
        src = (EA, EB, HA, HB)
    sEA, sEB, sHA, sHB = src
    dEA = 1j * EA0 - ae * sEB * dphi + am * sHB * dpsi
    dHA = 1j * HA0 + ae * sEB * dpsi - am * sHB * dphi
    dEB = 1j * EB0 + ae * sEA * dphi + am * sHA * dpsi
    dHB = 1j * HB0 + ae * sEA * dpsi + am * sHA * dphi

    def force(E, H, dE, dH):  # scaled eq. 3: ½Re(p* ∂E) + ½Re(m* ∂H) − ⅓Re(p* m)
        p, m = ae * E, am * H
        return 0.5 * np.real(np.conj(p) * dE + np.conj(m) * dH) - np.real(np.conj(p) * m) / 3

    iso = force(EA0, HA0, 1j * EA0, 1j * HA0)
    return force(EA, HA, dEA, dHA) - iso, force(EB, HB, dEB, dHB) - iso


@functools.lru_cache(maxsize=None)
def _sweeper(order, beam_name):
    """One compilation per (order, beam): α̃ are traced. CPU_COMPILER_OPTIONS keeps the
    compile short (see jaxbind.optics.pair)."""
    beam = PW003 if beam_name == "003" else SIDE

    def one(r, ate, atm):
        return pair_forces_scaled(jnp.zeros(3), jnp.zeros(3).at[0].set(r), jnp.stack([ate, ate]),
                                  jnp.stack([atm, atm]), beam, order=order, throw=False)
    return jax.jit(jax.vmap(one, in_axes=(0, None, None)), compiler_options=CPU_COMPILER_OPTIONS)


def _sweep(ate, atm, order, rhos, beam="003"):
    return _sweeper(order, beam)(jnp.asarray(rhos), jnp.asarray(ate, complex),
                                 jnp.asarray(atm, complex))


# slow: order 1 (the Born-1 path is checked by default against the same paper 003 eqs. 3–5 through
# the same _kernel in test_axial_sweep_jit_vmap_grad_float32); the exact solve stays default
@pytest.mark.parametrize("order", [pytest.param(1, marks=pytest.mark.slow), None])
def test_paper003_scalar_equations(order):
    """Ideal 1st/2nd-Kerker and electric pairs on the beam axis = paper 003 eqs. 3–5."""
    rhos = np.linspace(0.3, 5.0, 64) * 2 * np.pi
    for atm in (-AT_RAD, AT_RAD, 0.0):
        res = _sweep(AT_RAD, atm, order, rhos)
        fA, fB = paper003_numpy(rhos, AT_RAD, atm, order)
        scale = np.abs(fA).max()
        np.testing.assert_allclose(res.f[:, 0, 0], fA, atol=1e-11 * scale)
        np.testing.assert_allclose(res.f[:, 1, 0], fB, atol=1e-11 * scale)
        np.testing.assert_allclose(res.f[:, :, 1:], 0.0, atol=1e-13 * scale)


# slow: paper 003 Sec. V at full resolution (4000 separations × 4 sweeps); paper 003 eqs. 3–5 stay
# covered by default for the same three pairs in test_paper003_scalar_equations, NRF⁽⁰⁾ = ½ for
# the Kerker pair in tests/optics/test_forces.py::test_nonreciprocity_factors_kerker_and_jacobian
@pytest.mark.slow
def test_paper003_one_way_second_kerker():
    """Paper 003 Sec. V: ideal 2nd-Kerker pair (α_m = −α_e/ε0) is one-way — NRF⁽⁰⁾_x within
    0.02 of ½ over most of 0.3λ ≤ L ≤ 5λ, f_B ≪ f_A; the electric pair is not. Dense sweep."""
    rhos = np.linspace(0.3, 5.0, 4000) * 2 * np.pi
    for order in (1, None):
        kerker = _sweep(AT_RAD, -AT_RAD, order, rhos)
        electric = _sweep(AT_RAD, 0.0, order, rhos)
        assert np.mean(np.abs(kerker.nrf0[:, 0] - 0.5) < 0.02) > 0.85
        assert np.mean(np.abs(electric.nrf0[:, 0] - 0.5) < 0.02) < 0.05
        fA, fB = np.asarray(kerker.f[:, 0, 0]), np.asarray(kerker.f[:, 1, 0])
        assert np.median(np.abs(fB) / np.abs(fA)) < 0.02


# slow: pair_forces stays covered by default against the general engine
# (test_matches_general_coupled_dipole_engine) and paper 003 (test_paper003_scalar_equations)
@pytest.mark.slow
def test_newton_third_law_and_its_violation():
    """Identical particles in a wave symmetric under A ↔ B (propagating ⟂ to the axis):
    f_A = −f_B along the axis. Along the beam the phases differ and the law fails; for the
    ideal 2nd-Kerker pair the net force f_A + f_B has the sign of f_A (B feels ~nothing)."""
    rhos = np.array([1.3, 4.1, 9.7, 22.0])
    for atm in (0.0, -AT_RAD, 0.5 * AT_RAD):
        r = _sweep(AT_RAD, atm, None, rhos, "side")
        np.testing.assert_allclose(r.f[:, 0, 0], -r.f[:, 1, 0], rtol=1e-12,
                                   atol=1e-14 * np.abs(r.f).max())
        np.testing.assert_allclose(r.nrf0[:, 0], 0.0, atol=1e-10)
    r = _sweep(AT_RAD, -AT_RAD, None, rhos)
    net = np.asarray(r.f[:, 0, 0] + r.f[:, 1, 0])
    assert np.all(np.abs(net) > 0.5 * np.abs(np.asarray(r.f[:, 0, 0])))
    np.testing.assert_array_equal(np.sign(net), np.sign(np.asarray(r.f[:, 0, 0])))


@pytest.mark.slow
def test_nonreciprocity_factors_match_general(rng):
    """pair_nonreciprocity_factors = forces.nonreciprocity_factors (jacfwd through both)."""
    pos = np.array([[0.0, 0, 0], [1.37 * LAM, 0.1 * LAM, -0.05 * LAM]])
    ps = _particles(pos, [AT_RAD, 0.8 * AT_RAD], [-AT_RAD, 0.3j])
    for order, method in ((1, Born(1)), (None, Direct())):
        got = pair_nonreciprocity_factors(ps, PW003, order=order)
        want = nonreciprocity_factors(ps, PW003, method)
        np.testing.assert_allclose(got.jacobian, want.jacobian, rtol=1e-9,
                                   atol=1e-9 * np.abs(want.jacobian).max())
        np.testing.assert_allclose(got.zeroth, want.zeroth, atol=1e-8)
        np.testing.assert_allclose(got.first, want.first, atol=1e-8)


# slow: the Mie input path of the pair kernel (_pair_inputs with index=) runs by default in
# test_axial_bad_input_and_status, the Mie α̃ against SciPy in tests/optics/test_mie.py;
# pair_forces = the general engine in test_matches_general_coupled_dipole_engine
@pytest.mark.slow
def test_mie_particles():
    """Particles(index=…) take α̃e, α̃m from Mie; same as the general engine."""
    pos = np.array([[0.0, 0, 0], [0.9 * LAM, 0, 0]])
    ps = Particles(pos, A_SI, index=N_SI)
    got = pair_forces(ps, PW003)
    want = np.asarray(interparticle_forces(ps, PW003))
    np.testing.assert_allclose(got.f, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


# --------------------------------------------------------------------------------------
# transforms, dtypes, errors
# --------------------------------------------------------------------------------------


def test_sincos_accuracy_and_derivative():
    # jitted: one program per dtype / transform (eager, sincos runs op by op: ~50 compiles)
    x = np.concatenate([np.linspace(-50, 50, 2001), [0.0, np.pi / 4, 1e5 + 0.3, -7e5]])
    s, c = jax.jit(sincos)(jnp.asarray(x))
    tol = 4e-16 * np.maximum(1, np.abs(x) / 1e3)  # ulps of the reduced argument
    assert np.all(np.abs(np.asarray(s) - np.sin(x)) <= tol)
    assert np.all(np.abs(np.asarray(c) - np.cos(x)) <= tol)
    g = jax.jit(jax.vmap(jax.grad(lambda t: sincos(t)[0] * sincos(t)[1])))(jnp.asarray(x[:50]))
    np.testing.assert_allclose(g, np.cos(2 * x[:50]), atol=1e-14)
    s32, c32 = jax.jit(sincos)(jnp.asarray(x[:2001], jnp.float32))
    assert s32.dtype == jnp.float32
    np.testing.assert_allclose(s32, np.sin(x[:2001]), atol=2e-6)
    np.testing.assert_allclose(c32, np.cos(x[:2001]), atol=2e-6)


L0, A0 = 0.77 * LAM, 0.3
A0_DEFAULT = A0


def _fA(L, ar):
    """f_A,x (fN) and the PairForces of a pair A = 0, B = (L, 0.1λ, 0), α̃e = ar + 0.1i,
    α̃m = −α̃e."""
    pos = jnp.zeros((2, 3)).at[1, 0].set(L).at[1, 1].set(0.1 * LAM)
    ps = Particles(pos, A_SI, alpha_e=C.unscale_polarizability(ar + 0.1j, K),
                   alpha_m=C.unscale_magnetic_polarizability(-(ar + 0.1j), K))
    r = pair_forces(ps, PW003, throw=False)
    return r.f[0, 0] / 1e-15, r


def _particles32(pos, ar=A0_DEFAULT):
    """_fA's particles in float32 (positions (2, 3) in m)."""
    at = ar + 0.1j
    return Particles(jnp.asarray(pos, jnp.float32), jnp.float32(A_SI),
                     alpha_e=np.complex64(C.unscale_polarizability(at, K)),
                     alpha_m=np.complex64(C.unscale_magnetic_polarizability(-at, K)))


PW32 = PlaneWave(jnp.float32(LAM), jnp.float32(I003), direction=(1.0, 0.0, 0.0),
                 polarization=(0.0, 1.0, 0.0))


# One program for the file's transform checks: jit ∘ vmap ∘ value_and_grad (d/dL, d/dα̃), with
# the PairForces as aux (the sweep-status test reuses it: same shapes, same program).
_pair_vg = jax.jit(jax.vmap(jax.value_and_grad(_fA, argnums=(0, 1), has_aux=True)),
                   compiler_options=CPU_COMPILER_OPTIONS)
HL, HA = 1e-13, 1e-6
_LS = np.array([0.5, 0.77, 2.3]) * LAM
# points: L ∈ _LS each at L, L + h, L − h (α̃ = A0); then (L0, A0 ± h_α)
_VG_L = np.concatenate([np.repeat(_LS, 3) + np.tile([0.0, HL, -HL], 3), [L0, L0]])
_VG_A = np.concatenate([np.full(9, A0), [A0 + HA, A0 - HA]])


# slow (~5 CPU-s: a reverse-mode program through the pair solve); d/dL of the pair stays default in
# test_axial_sweep_jit_vmap_grad_float32, gradients of the force solve in tests/optics/test_forces.py::test_vmap_grad_and_sweep_status
@pytest.mark.slow
def test_grad_vmap_grad_and_jit():
    """jit ∘ vmap ∘ grad w.r.t. distance and polarizability vs central differences (of the
    same program's values) at three distances."""
    (v, _), (gL, ga) = _pair_vg(jnp.asarray(_VG_L), jnp.asarray(_VG_A))
    v, gL, ga = (np.asarray(a) for a in (v, gL, ga))
    assert np.all(np.isfinite(v)) and np.all(np.abs(gL) > 0)
    for i in range(3):  # d/dL at 0.5λ, 0.77λ, 2.3λ
        np.testing.assert_allclose(gL[3 * i], (v[3 * i + 1] - v[3 * i + 2]) / (2 * HL), rtol=1e-6)
    np.testing.assert_allclose(ga[3], (v[9] - v[10]) / (2 * HA), rtol=1e-6)  # d/dα̃ at L0


# slow (~2 CPU-s); float32 of the pair kernel stays default in test_axial_sweep_jit_vmap_grad_float32
@pytest.mark.slow
def test_float32_matches_float64():
    """float32 = float64 (the transform test's program, point 3 = (L0, A0)) to ~1e-5."""
    (_, ref), _ = _pair_vg(jnp.asarray(_VG_L), jnp.asarray(_VG_A))
    out = pair_forces(_particles32([[0.0, 0, 0], [L0, 0.1 * LAM, 0.0]]), PW32)
    assert out.f.dtype == jnp.float32
    for a, b in ((out.f, ref.f[3]), (out.F, ref.F[3])):
        b = np.asarray(b)
        assert np.all(np.abs(b[:, :2]) > 0)  # x, y non-zero (z vanishes by symmetry)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max())
    with pytest.raises(eqx.EquinoxRuntimeError, match="overlap"):  # the same float32 program
        pair_forces(_particles32(np.array([[0.0, 0, 0], [60e-9, 0, 0]])), PW32)


@pytest.mark.unchecked  # wrong shapes on purpose: the library's own messages
def test_bad_input_and_sweep_status():
    pos = np.array([[0.0, 0, 0], [0.5 * LAM, 0, 0]])
    with pytest.raises(ValueError, match="exactly 2"):
        pair_forces(Particles(np.zeros((3, 3)) + np.arange(3)[:, None] * 1e-7, 1e-9,
                              alpha_e=1e-33), PW003)
    with pytest.raises(ValueError, match="isotropic"):
        pair_forces(Particles(pos, 1e-9, alpha_e=np.eye(3)[None].repeat(2, 0) * 1e-33), PW003)
    with pytest.raises(ValueError, match="order"):
        pair_forces(_particles(pos, [0.1, 0.1], [0, 0]), PW003, order=-1)
    with pytest.raises(ValueError, match="alpha_m"):
        pair_forces_scaled(jnp.zeros(3), jnp.ones(3), jnp.ones(2), jnp.ones(3), PW003)
    with pytest.raises(ValueError, match="rho_b"):
        pair_forces_scaled(jnp.zeros(3), jnp.ones(2), jnp.ones(2), jnp.ones(2), PW003)
    with pytest.raises(TypeError, match="beam"):
        pair_forces_scaled(jnp.zeros(3), jnp.ones(3), jnp.ones(2), jnp.ones(2), "plane wave")
    overlapping = np.array([[0.0, 0, 0], [60e-9, 0, 0]])
    with pytest.raises(eqx.EquinoxRuntimeError, match="overlap"):
        pair_forces(_particles(overlapping, [0.1, 0.1], [0, 0], radius=50e-9), PW003)

    # a sweep through a coincident pair (test_paper003_scalar_equations' program: same shape)
    rhos = np.linspace(0.3, 5.0, 64) * 2 * np.pi
    rhos[0] = 0.0
    r = _sweep(AT_RAD, 0.0, None, rhos)
    np.testing.assert_array_equal(r.status[:2], [OV, 0])
    f = np.asarray(r.f)
    assert np.all(np.isnan(f[0])) and np.all(np.isfinite(f[1:]))  # NaN + code, never finite


# --------------------------------------------------------------------------------------
# pair on a fixed axis (pair_forces_axial)
# --------------------------------------------------------------------------------------


# slow: pair_forces_axial stays covered by default against paper 003 eqs. 3–5 and the general-
# frame pair_forces (values, d/dL, vmap∘grad, float32) in test_axial_sweep_jit_vmap_grad_float32
@pytest.mark.slow
def test_axial_path_matches_general_engine(rng):
    """pair_forces_axial (constant pair frame) = the N-particle engine (f) and pair_forces
    (F, nrf0) for pairs along x, y, z, different random particles, plane / two-beam /
    tweezer beams, exact and Born orders."""
    cases = ((0, "plane", None, Direct()), (1, "two_beam", 1, Born(1)),
             (2, "tweezer", 2, Born(2)))
    for axis, beam_name, order, method in cases:
        beam = BEAMS[beam_name]
        rA = rng.normal(size=3) * 0.3 * LAM
        L = (0.4 + rng.uniform()) * LAM
        ate, atm = [_rand_alpha(rng) for _ in range(2)], [_rand_alpha(rng) for _ in range(2)]
        ps = _particles(np.stack([rA, rA + L * np.eye(3)[axis]]), ate, atm)
        # positions[1] is not used by the axial path (B = r_A + L ê_axis): any placeholder
        got = pair_forces_axial(_particles(np.stack([rA, rA + 0.3 * LAM]), ate, atm), beam, L,
                                axis=axis, order=order)
        f = np.asarray(interparticle_forces(ps, beam, method))
        ref = pair_forces(ps, beam, order=order)
        assert int(got.status) == 0
        np.testing.assert_allclose(got.f, f, rtol=1e-10, atol=1e-10 * np.abs(f).max())
        F = np.asarray(ref.F)
        np.testing.assert_allclose(got.F, F, rtol=1e-10, atol=1e-10 * np.abs(F).max())
        np.testing.assert_allclose(got.nrf0, ref.nrf0, atol=1e-9)


AE_K2, AM_K2 = C.unscale_polarizability(AT_RAD, K), C.unscale_magnetic_polarizability(-AT_RAD, K)


def _axial_fx(L, dtype=jnp.float64):
    """Ideal 2nd-Kerker pair on the x axis (radius A_SI), Born-1: (f_A,x, f_B,x), status."""
    ps = Particles(jnp.zeros((2, 3), dtype), jnp.asarray(A_SI, dtype), alpha_e=AE_K2,
                   alpha_m=AM_K2)
    r = pair_forces_axial(ps, PW003, L, order=1, throw=False)
    return r.f[:, 0], r.status


def _axial_general(L):
    ps = Particles(jnp.zeros((2, 3)).at[1, 0].set(L), A_SI, alpha_e=AE_K2, alpha_m=AM_K2)
    return pair_forces(ps, PW003, order=1).f[:, 0]


@functools.partial(jax.jit, compiler_options=CPU_COMPILER_OPTIONS)
def _axial_run(Ls, Lg):
    """One float64 program: the vmapped sweep (values, status) and vmap ∘ grad of f_A,x."""
    vals, status = jax.vmap(_axial_fx)(Ls)
    vg = jax.vmap(jax.grad(lambda L: _axial_fx(L)[0][0] / 1e-15))(Lg)
    return vals, status, vg


_AX_RHOS = np.linspace(0.3, 5.0, 200) * 2 * np.pi  # kL
_AX_H = 1e-13  # m, central differences
_AX_LG = np.array([0.5, 0.77, 2.3]) * LAM  # vmap ∘ grad points
# the sweep: the paper's 200 distances, each _AX_LG ± h (central differences), then _AX_LG[1]
_AX_LS = np.concatenate([_AX_RHOS / K, (_AX_LG[:, None] + np.array([_AX_H, -_AX_H])).ravel(),
                         _AX_LG[1:2]])


def test_axial_sweep_jit_vmap_grad_float32():
    """Jitted vmapped sweep (CPU_COMPILER_OPTIONS) = paper 003 eqs. 3–5 in NumPy; vmap ∘ grad
    (d/dL) = central differences of the same program's values; float32 = float64 to ~1e-5."""
    unit = 4 * np.pi * C.epsilon0 * (np.sqrt(2 * I003 / (C.c * C.epsilon0))) ** 2 / K**2
    got, status, vg = _axial_run(jnp.asarray(_AX_LS), jnp.asarray(_AX_LG))
    got, vg = np.asarray(got), np.asarray(vg)
    np.testing.assert_array_equal(status, 0)
    fA, fB = paper003_numpy(_AX_RHOS, AT_RAD, -AT_RAD, 1)
    scale = np.abs(fA).max() * unit
    np.testing.assert_allclose(got[:200, 0], fA * unit, atol=1e-11 * scale)
    np.testing.assert_allclose(got[:200, 1], fB * unit, atol=1e-11 * scale)
    fd = (got[200:206:2, 0] - got[201:206:2, 0]) / (2 * _AX_H) / 1e-15
    np.testing.assert_allclose(vg, fd, rtol=1e-6)
    f32 = jax.jit(lambda L: _axial_fx(L, jnp.float32)[0])(jnp.float32(_AX_LG[1]))
    assert f32.dtype == jnp.float32
    f64 = got[-1]  # the sweep's last point, _AX_LG[1]
    np.testing.assert_allclose(f32, f64, rtol=1e-5, atol=1e-5 * np.abs(f64).max())


# slow: a second derivative reference (~4 CPU-s: the forward-mode programs of both kernels); by
# default d/dL of the axial kernel is checked against central differences in
# test_axial_sweep_jit_vmap_grad_float32 and d/dL of pair_forces in test_grad_vmap_grad_and_jit
@pytest.mark.slow
def test_axial_derivative_equals_general_frame():
    """d/dL of pair_forces_axial (jacfwd) = that of pair_forces (general frame), and = the
    vmapped reverse-mode gradient of the sweep program."""
    g, g_general = jax.jit(lambda L: (jax.jacfwd(lambda x: _axial_fx(x)[0])(L),
                                      jax.jacfwd(_axial_general)(L)))(_AX_LG[1])
    np.testing.assert_allclose(g, g_general, rtol=1e-10, atol=1e-10 * np.abs(np.asarray(g)).max())
    vg = _axial_run(jnp.asarray(_AX_LS), jnp.asarray(_AX_LG))[2]
    np.testing.assert_allclose(vg[1] * 1e-15, g[0], rtol=1e-12)


def test_axial_bad_input_and_status():
    ps = Particles(np.zeros((2, 3)), A_SI, index=N_SI)
    with pytest.raises(ValueError, match="axis"):
        pair_forces_axial(ps, PW003, 0.5 * LAM, axis=3)
    with pytest.raises(ValueError, match="distance"):
        pair_forces_axial(ps, PW003, jnp.ones(2) * LAM)
    with pytest.raises(ValueError, match="order"):
        pair_forces_axial(ps, PW003, 0.5 * LAM, order=-2)
    with pytest.raises(eqx.EquinoxRuntimeError, match="overlap"):
        pair_forces_axial(ps, PW003, 60e-9)
    # a sweep through overlapping points: the sweep test's program (same shapes), padded
    Ls = np.concatenate([[0.0, 60e-9, -0.5 * LAM, 0.5 * LAM], np.full(len(_AX_LS) - 4, 0.5 * LAM)])
    f, status = _axial_run(jnp.asarray(Ls), jnp.asarray(_AX_LG))[:2]
    np.testing.assert_array_equal(status[:4], [OV, OV, OV, 0])
    f = np.asarray(f)
    assert np.all(np.isnan(f[:3])) and np.all(np.isfinite(f[3]))
