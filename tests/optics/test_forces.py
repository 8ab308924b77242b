"""Tests for jaxbind.optics.forces: optical forces, torques, non-reciprocity, stiffness."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import scipy_mie_a1_b1
from jaxbind import constants as C
from jaxbind.optics.beams import CoherentBeams, PlaneWave, Tweezer
from jaxbind.optics.dipoles import solve_dipoles
from jaxbind.results import RESULTS, code
from jaxbind.solvers import GMRES, Born, Direct
from jaxbind.optics.forces import (
    dipole_forces,
    interparticle_forces,
    isolated_forces,
    nonreciprocity_factors,
    optical_forces,
    optical_torques,
    stiffness_matrix,
)
from jaxbind.optics.green import green_tensor
from jaxbind.optics.particles import Particles

# Paper 003 setting: λ = 420 nm, I = 1.3 mW/µm², plane wave along +x, E ∥ y, H ∥ z.
LAM = 420e-9
K = 2 * np.pi / LAM
I003 = 1.3e-3 / 1e-12
A_SI = 45e-9  # 90 nm *diameter* (paper 003 Fig. 3 caption)
N_SI = 5.1 + 0.2j
ALPHA_E = 4 * np.pi * C.epsilon0 * A_SI**3 * (N_SI**2 - 1) / (N_SI**2 + 2)  # Rayleigh


def _pw003(dtype=None):
    if dtype is None:
        return PlaneWave(LAM, I003, direction=(1.0, 0.0, 0.0), polarization=(0.0, 1.0, 0.0))
    return PlaneWave(jnp.asarray(LAM, dtype), jnp.asarray(I003, dtype),
                     direction=(1.0, 0.0, 0.0), polarization=(0.0, 1.0, 0.0))


def _pair(L, kerker=None, dtype=jnp.float64):
    pos = jnp.zeros((2, 3), dtype).at[1, 0].set(L)
    am = None if kerker is None else (-ALPHA_E if kerker == 2 else ALPHA_E) / C.epsilon0
    return Particles(pos, jnp.asarray(A_SI, dtype), alpha_e=ALPHA_E, alpha_m=am)


# --------------------------------------------------------------------------------------
# single particle: momentum conservation / optical theorem
# --------------------------------------------------------------------------------------


# slow: the same momentum balance F = σ_ext I/c (plus the magnetic and recoil terms) stays covered
# by default in test_silicon_sphere_radiation_pressure_mie
@pytest.mark.slow
def test_single_electric_dipole_optical_theorem():
    """F = σ_ext I/c along k for an isotropic dipole with radiative correction."""
    a0 = 0.3 + 0.02j
    at = a0 / (1 - 2j / 3 * a0)
    alpha = C.unscale_polarizability(at, K)
    beam = PlaneWave(LAM, I003, direction=(0.0, 0.6, 0.8), polarization=(1.0, 0.0, 0.0))
    F = optical_forces(Particles([[1e-7, -2e-7, 3e-7]], 1e-9, alpha_e=[alpha]), beam)
    sigma_ext = K * np.imag(alpha) / C.epsilon0
    np.testing.assert_allclose(F[0], sigma_ext * I003 / C.c * np.array([0, 0.6, 0.8]),
                               rtol=1e-12, atol=1e-12 * sigma_ext * I003 / C.c)


def test_silicon_sphere_radiation_pressure_mie():
    """Electric + magnetic dipole (Mie a1, b1 of 90-nm Si): F = (σ_ext − g σ_sca) I/c.

    This fixes the normalization of the recoil term −k⁴/(12πε0c) Re(p × m*) (paper 003 eq. 3)."""
    a1, b1 = scipy_mie_a1_b1(N_SI, K * A_SI)
    ae = C.unscale_polarizability(1.5j * a1, K)
    am = C.unscale_magnetic_polarizability(1.5j * b1, K)
    F = optical_forces(Particles([[0.0, 0, 0]], A_SI, alpha_e=[ae], alpha_m=[am]), _pw003())
    s_ext = 2 * np.pi / K**2 * 3 * np.real(a1 + b1)
    g_sca = 4 * np.pi / K**2 * 1.5 * np.real(a1 * np.conj(b1))
    np.testing.assert_allclose(F[0, 0], (s_ext - g_sca) * I003 / C.c, rtol=1e-12)
    np.testing.assert_allclose(F[0, 1:], 0.0, atol=1e-14 * abs(float(F[0, 0])))


def test_tweezer_gradient_force_points_to_focus():
    """Transverse force of a tweezer = ¼ Re α ∇|E|² (closed form), pointing to the focus."""
    at = 0.01 / (1 - 2j / 3 * 0.01)
    alpha = C.unscale_polarizability(at, 2 * np.pi / 1064e-9)
    tw = Tweezer(0.1, 1064e-9, waist=0.8e-6)
    offsets = np.array([[0.3e-6, 0, 0], [0, -0.2e-6, 0], [0.2e-6, 0.25e-6, 0]])
    ps = Particles(offsets, 1e-9, alpha_e=alpha)
    F = np.asarray(isolated_forces(ps, tw))

    def intensity(r):
        E, _ = tw.fields(r)
        return jnp.sum(jnp.abs(E) ** 2)

    grads = np.asarray(jax.jit(jax.vmap(jax.grad(intensity)))(jnp.asarray(offsets)))  # one program
    for r, f, grad in zip(offsets, F, grads):
        np.testing.assert_allclose(f[:2], 0.25 * np.real(alpha) * grad[:2], rtol=1e-10)
        assert np.dot(f[:2], r[:2]) < 0
    # a single particle: the full solve gives exactly the isolated force
    one = optical_forces(Particles(offsets[:1], 1e-9, alpha_e=alpha), tw)
    np.testing.assert_allclose(one[0], F[0], rtol=1e-12)


def test_torques_lossless_and_absorbing_sphere():
    """Circular polarization: T = 0 for a lossless sphere, σ_abs I/ω along k when absorbing."""
    beam = PlaneWave(LAM, I003, direction=(0.0, 0.0, 1.0), polarization=(1.0, 1j, 0.0))
    omega = C.c * K
    for a0 in (0.4, 0.4 + 0.1j):
        at = a0 / (1 - 2j / 3 * a0)
        alpha = C.unscale_polarizability(at, K)
        T = np.asarray(optical_torques(Particles([[0.0, 0, 0]], 1e-9, alpha_e=[alpha]), beam))
        s_abs = K * np.imag(alpha) / C.epsilon0 - K**4 * abs(alpha) ** 2 / (6 * np.pi * C.epsilon0**2)
        scale = K * np.imag(alpha) / C.epsilon0 * I003 / omega
        np.testing.assert_allclose(T[0], [0, 0, s_abs * I003 / omega], atol=1e-10 * scale)
    assert abs(T[0, 2]) > 0.1 * scale


# --------------------------------------------------------------------------------------
# pairs: Newton's third law, paper 000 eqs. 1 and 4, Born series
# --------------------------------------------------------------------------------------

LAM_TW = 1064e-9
K_TW = 2 * np.pi / LAM_TW


def _two_tweezers(d, phase, polarization_angle=np.pi / 2):
    foci = np.array([[-d / 2, 0.0, 0.0], [d / 2, 0.0, 0.0]])
    return foci, CoherentBeams.from_tweezers(
        [0.1, 0.1], LAM_TW, foci, waist=0.9e-6, phases=[0.0, phase],
        polarization_angles=polarization_angle)


# slow: interparticle forces of tweezer pairs stay covered by default against paper 000 eq. 1
# (test_born1_equals_paper000_eq1), the non-reciprocal pair in
# test_nonreciprocity_factors_kerker_and_jacobian and test_paper003_second_kerker_pair_is_one_way
@pytest.mark.slow
def test_newton_third_law_symmetric_and_phase_shifted():
    """Paper 000 Fig. 1b,c: f_1 = −f_2 (binding axis) for Δφ = 0; antireciprocal for Δφ = π/2."""
    at = 0.05 / (1 - 2j / 3 * 0.05)
    alpha = C.unscale_polarizability(at, K_TW)
    foci, sym = _two_tweezers(2.3e-6, 0.0)
    ps = Particles(foci, 50e-9, alpha_e=alpha)
    f = np.asarray(interparticle_forces(ps, sym))
    assert abs(f[0, 0]) > 0
    np.testing.assert_allclose(f[0, 0], -f[1, 0], rtol=1e-10)
    _, anti = _two_tweezers(2.3e-6, np.pi / 2)
    fa = np.asarray(interparticle_forces(ps, anti, Born(1)))
    # leading order (α²) is exactly antireciprocal; the α³ rest is O(|α̃|) smaller
    np.testing.assert_allclose(fa[0, 0], fa[1, 0], rtol=0.2)
    assert abs(fa[0, 0] + fa[1, 0]) > 10 * abs(fa[0, 0] - fa[1, 0])


def _alpha2_part(f_of_alpha, a):
    """f(α) = α² A + α³ B exactly (Born order 1, real α): A = (8 f(α) − f(2α)) / (4α²)."""
    return (8 * f_of_alpha(a) - f_of_alpha(2 * a)) / (4 * a**2)


def test_born1_equals_paper000_eq1():
    """First-order interparticle force = paper 000 eq. 1 at order α² (any tweezer phases)."""
    foci, beam = _two_tweezers(1.7e-6, 0.9, polarization_angle=1.2)
    pos = foci + np.array([[0.1e-6, -0.05e-6, 0.2e-6], [0.02e-6, 0.07e-6, -0.1e-6]])
    a = 1e-33  # real SI polarizability (paper 000 assumes real α)

    def f_of(alpha):
        ps = Particles(pos, 1e-9, alpha_e=alpha)
        return np.asarray(interparticle_forces(ps, beam, Born(1)))

    got = _alpha2_part(f_of, a)

    def eq1(r1, r2):
        E1, _ = beam.fields(r1)
        E2, _ = beam.fields(r2)
        return jnp.real(jnp.conj(E1) @ green_tensor(r1 - r2, K_TW) @ E2) / (2 * C.epsilon0)

    r1, r2 = jnp.asarray(pos[0]), jnp.asarray(pos[1])
    d_eq1 = jax.jit(jax.grad(eq1, 0))  # one program (eager: op by op)
    want = np.stack([d_eq1(r1, r2), d_eq1(r2, r1)])
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-7 * np.abs(want).max())


# slow: isolated and Born(1) interparticle forces stay covered by default in
# test_tweezer_gradient_force_points_to_focus and test_born1_equals_paper000_eq1, and −∇U = the
# O(α²) force in tests/optics/test_potentials.py::test_gradient_equals_born1_interparticle_force
@pytest.mark.slow
def test_forces_are_minus_gradient_of_conservative_potential():
    """Δφ = 0, real fields in the focal plane: in-plane F = −∇(V + V_opt) (paper 000 eqs. 3–4)."""
    foci, beam = _two_tweezers(1.9e-6, 0.0)
    pos = foci + np.array([[0.12e-6, -0.08e-6, 0.0], [-0.05e-6, 0.1e-6, 0.0]])
    a = 1e-33

    def V(r, alpha):  # paper 000 eq. 3 (trap) and eq. 4 (optical binding), real α
        E = [beam.fields(r[j])[0] for j in range(2)]
        v = -alpha / 4 * sum(jnp.sum(jnp.abs(e) ** 2) for e in E)
        for j, jp in ((0, 1), (1, 0)):
            G = jnp.real(green_tensor(r[j] - r[jp], K_TW))
            v = v - alpha**2 / (4 * C.epsilon0) * jnp.real(jnp.conj(E[jp]) @ G @ E[j])
        return v

    # split −∇V into its α and α² parts: V(α) = α V1 + α² V2
    dV = jax.jit(jax.grad(V))  # one program for both α (eager: op by op)
    g = lambda al: -np.asarray(dV(jnp.asarray(pos), al))  # noqa: E731
    part1 = (4 * g(a) - g(2 * a)) / (2 * a)
    part2 = (g(2 * a) - 2 * g(a)) / (2 * a**2)
    F_iso = np.asarray(isolated_forces(Particles(pos, 1e-9, alpha_e=a), beam)) / a
    np.testing.assert_allclose(F_iso[:, :2], part1[:, :2], rtol=1e-8, atol=1e-8 * np.abs(part1).max())

    def f_of(alpha):
        return np.asarray(interparticle_forces(Particles(pos, 1e-9, alpha_e=alpha), beam,
                                               Born(1)))

    got = _alpha2_part(f_of, a)
    np.testing.assert_allclose(got[:, :2], part2[:, :2], rtol=1e-6, atol=1e-6 * np.abs(part2).max())


# ~7 CPU-s (six force programs). By default: the forces of Born(1) and of the exact solve match
# paper 000 eq. 1 and paper 003 eqs. 3–5 (test_born1_equals_paper000_eq1,
# test_kerker_pair_matches_paper003_scalar_equations). Orders ≥ 2 (the same Born loop) run in
# `make test-all`: test_dipoles.py::test_born_series_converges_to_exact and
# tests/optics/test_pair.py::test_matches_general_coupled_dipole_engine.
@pytest.mark.slow
def test_born_forces_converge_to_exact():
    ps = _pair(0.6 * LAM, kerker=2)
    beam = _pw003()
    exact = np.asarray(interparticle_forces(ps, beam))
    errs = [np.abs(np.asarray(interparticle_forces(ps, beam, Born(order=n))) - exact).max()
            for n in (1, 3, 5, 9)]
    assert all(b < a for a, b in zip(errs, errs[1:]))
    assert errs[-1] < 1e-3 * errs[0]
    g = np.asarray(interparticle_forces(ps, beam, GMRES(rtol=1e-12, atol=1e-15)))
    np.testing.assert_allclose(g, exact, rtol=1e-8, atol=1e-9 * np.abs(exact).max())


def paper003_scalar_forces(L, alpha_e, alpha_m, lam, intensity, order=None):
    """NumPy implementation of paper 003 eqs. 3–5 (scalar fields, pair on the x axis).

    Returns (f_A, f_B) interparticle forces (N); ``order=1`` is one iteration of eq. 4, None
    the self-consistent solution.
    """
    eps, mu, eta = C.epsilon0, C.mu0, C.Z0
    k = 2 * np.pi / lam
    E0 = np.sqrt(2 * intensity / (C.c * eps))
    ph = np.exp(1j * k * L)
    phi = (-1 / L**3 + 1j * k / L**2 + k**2 / L) * ph / (4 * np.pi * eps)
    psi = (1j * k / L**2 + k**2 / L) * ph / (4 * np.pi * np.sqrt(mu * eps))
    dphi = (3 / L**4 - 3j * k / L**3 - 2 * k**2 / L**2 + 1j * k**3 / L) * ph / (4 * np.pi * eps)
    dpsi = (-2j * k / L**3 - 2 * k**2 / L**2 + 1j * k**3 / L) * ph / (4 * np.pi * np.sqrt(mu * eps))
    EA0, EB0 = E0 * np.ones_like(ph), E0 * ph
    HA0, HB0 = EA0 / eta, EB0 / eta
    ae, am = alpha_e, alpha_m

    def iterate(EA, EB, HA, HB):
        return (EA0 + ae * EB * phi - mu * am * HB * psi, EB0 + ae * EA * phi + mu * am * HA * psi,
                HA0 - ae * EB * psi + eps * am * HB * phi, HB0 + ae * EA * psi + eps * am * HA * phi)

    if order == 1:
        src = (EA0, EB0, HA0, HB0)
        EA, EB, HA, HB = iterate(*src)
    else:
        A = np.zeros(np.shape(L) + (4, 4), complex)
        A[..., 0, 0] = A[..., 1, 1] = A[..., 2, 2] = A[..., 3, 3] = 1
        A[..., 0, 1], A[..., 0, 3] = -ae * phi, mu * am * psi
        A[..., 1, 0], A[..., 1, 2] = -ae * phi, -mu * am * psi
        A[..., 2, 1], A[..., 2, 3] = ae * psi, -eps * am * phi
        A[..., 3, 0], A[..., 3, 2] = -ae * psi, -eps * am * phi
        rhs = np.stack(np.broadcast_arrays(EA0, EB0, HA0, HB0), -1)[..., None]
        EA, EB, HA, HB = np.moveaxis(np.linalg.solve(A, rhs)[..., 0], -1, 0)
        src = (EA, EB, HA, HB)
    sEA, sEB, sHA, sHB = src
    dEA = 1j * k * EA0 - ae * sEB * dphi + mu * am * sHB * dpsi
    dHA = 1j * k * HA0 + ae * sEB * dpsi - eps * am * sHB * dphi
    dEB = 1j * k * EB0 + ae * sEA * dphi + mu * am * sHA * dpsi
    dHB = 1j * k * HB0 + ae * sEA * dpsi + eps * am * sHA * dphi
    recoil = eta * k**4 / (12 * np.pi)

    def force(E, H, dE, dH):
        p, m = ae * E, am * H
        return (0.5 * np.real(np.conj(p) * dE) + 0.5 * mu * np.real(np.conj(m) * dH)
                - recoil * np.real(np.conj(p) * m))

    iso = force(EA0, HA0, 1j * k * EA0, 1j * k * HA0)
    return force(EA, HA, dEA, dHA) - iso, force(EB, HB, dEB, dHB) - iso


# slow: order 1, a second closed-form reference for the Born(1) forces, which stay covered by
# default against paper 000 eq. 1 in test_born1_equals_paper000_eq1 (the exact solve stays default)
@pytest.mark.parametrize("order", [pytest.param(1, marks=pytest.mark.slow), None])
def test_kerker_pair_matches_paper003_scalar_equations(order):
    """Vector N-particle code = paper 003 eqs. 3–5 (NumPy, scalar) for Kerker pairs."""
    Ls = np.array([0.31, 0.77, 1.93, 4.4]) * LAM
    method = Born(1) if order == 1 else Direct()
    for kerker in (1, 2):
        am = (-ALPHA_E if kerker == 2 else ALPHA_E) / C.epsilon0
        fA, fB = paper003_scalar_forces(Ls, ALPHA_E, am, LAM, I003, order)
        f = np.stack([np.asarray(interparticle_forces(_pair(L, kerker), _pw003(), method))
                      for L in Ls])
        np.testing.assert_allclose(f[:, 0, 0], fA, rtol=1e-9, atol=1e-9 * np.abs(fA).max())
        np.testing.assert_allclose(f[:, 1, 0], fB, rtol=1e-9, atol=1e-9 * np.abs(fA).max())
        np.testing.assert_allclose(f[:, :, 1:], 0.0, atol=1e-12 * np.abs(fA).max())


# slow: MieDipole's α̃ = (3i/2)(a1, b1) stays covered by default in tests/optics/test_mie.py
# (the Mie coefficients against SciPy, dipole polarizabilities in vacuum and a medium) and
# tests/optics/test_scatterers.py::test_one_default_everywhere
@pytest.mark.slow
def test_mie_model_particles():
    """Particles(index=…) with the default MieDipole model: α̃_e = (3i/2) a1, α̃_m = (3i/2) b1 (scipy Bessels)."""
    a1, b1 = scipy_mie_a1_b1(N_SI, K * A_SI)
    ae, am = Particles([[0.0, 0, 0]], A_SI, index=N_SI).polarizabilities_scaled(K)
    np.testing.assert_allclose([ae[0], am[0]], [1.5j * a1, 1.5j * b1], rtol=1e-10)


# --------------------------------------------------------------------------------------
# paper 003: one-way interaction of 2nd-Kerker particles
# --------------------------------------------------------------------------------------


# slow: paper 003 Fig. 3c at full resolution (400 separations, two solves each; ~5 CPU-s per
# method). By default paper 003 eqs. 3–5 are checked for Born(1) and the exact solve in
# test_kerker_pair_matches_paper003_scalar_equations, and NRF⁽⁰⁾ = ½ for the 2nd-Kerker pair in
# test_nonreciprocity_factors_kerker_and_jacobian
@pytest.mark.slow
@pytest.mark.parametrize("method", [Born(1), Direct()], ids=["born", "direct"])
def test_paper003_second_kerker_pair_is_one_way(method):
    """Paper 003 Fig. 3c: NRF⁽⁰⁾_x stays within 0.02 of ½ over most (> 85 %) of
    0.3λ ≤ L ≤ 5λ for the ideal 2nd-Kerker pair α_m = −α_e/ε0, but not for the electric pair.

    α_e is the Rayleigh (Clausius–Mossotti) polarizability of the 90-nm-diameter Si sphere,
    with the radiative correction (optical theorem). Without it (static α, Im α̃ = 0.0024
    from absorption only) the electric pair's f_B is ∝ Re α̃ Im α̃ in the far field and the
    electric pair is itself close to one-way for about half of the range (see the notebook).
    """
    Ls = jnp.linspace(0.3 * LAM, 5 * LAM, 400)
    beam = _pw003()
    at0 = C.scale_polarizability(ALPHA_E, K)

    def fraction(at, magnetic):
        ae = C.unscale_polarizability(at, K)

        def one(L):
            pos = jnp.zeros((2, 3)).at[1, 0].set(L)
            am = -ae / C.epsilon0 if magnetic else None
            f = interparticle_forces(Particles(pos, A_SI, alpha_e=ae, alpha_m=am), beam,
                                     method)
            s, d = f[0, 0] + f[1, 0], f[0, 0] - f[1, 0]
            return jnp.abs(s) / (jnp.abs(s) + jnp.abs(d))

        nrf = np.asarray(jax.jit(jax.vmap(one))(Ls))
        return np.mean(np.abs(nrf - 0.5) < 0.02)

    at = at0 / (1 - 2j / 3 * at0)
    assert fraction(at, True) > 0.85
    assert fraction(at, False) < 0.05
    # static Rayleigh α: the contrast is weaker but the electric pair still fails "most"
    assert fraction(at0, True) > 0.85
    assert fraction(at0, False) < 0.6


def test_nonreciprocity_factors_kerker_and_jacobian():
    """NRF via jacfwd: ½ for the 2nd-Kerker pair; Jacobian equals finite differences."""
    L = 1.37 * LAM
    ps = _pair(L, kerker=2)
    beam = _pw003()
    nr = nonreciprocity_factors(ps, beam, Born(1))
    np.testing.assert_allclose(nr.zeroth[0], 0.5, atol=0.02)
    np.testing.assert_allclose(nr.first[:, 0, 0], 0.5, atol=0.02)
    # translation invariance along x: ∂/∂x_A = −∂/∂x_B (paper 003 Sec. II)
    np.testing.assert_allclose(nr.jacobian[:, :, 0, 0], -nr.jacobian[:, :, 1, 0],
                               rtol=1e-9, atol=1e-9 * np.abs(nr.jacobian).max())
    h = 1e-12
    fp = interparticle_forces(_pair(L + h, 2), beam, Born(1))
    fm = interparticle_forces(_pair(L - h, 2), beam, Born(1))
    np.testing.assert_allclose(nr.jacobian[:, 0, 1, 0], (fp - fm)[:, 0] / (2 * h), rtol=1e-5)
    np.testing.assert_allclose(nr.f, interparticle_forces(ps, beam, Born(1)), rtol=1e-12)
    with pytest.raises(ValueError, match="exactly 2"):
        nonreciprocity_factors(Particles(np.zeros((1, 3)), 1e-9, alpha_e=[ALPHA_E]), beam)


# slow: the non-reciprocity factors stay covered by default in
# test_nonreciprocity_factors_kerker_and_jacobian (paper 003's Kerker pair, Jacobian vs finite
# differences)
@pytest.mark.slow
def test_electric_pair_parity_symmetry_factors():
    """Paper 003 Sec. III, Fig. 2a: z-polarized wave along y, pair on the x axis (parity
    x → −x): NRF⁽⁰⁾_x = NRF⁽¹⁾_xx = 0, NRF⁽⁰⁾_y = NRF⁽¹⁾_yx = NRF⁽¹⁾_xy = 1, NRF⁽¹⁾_yy = 0."""
    beam = PlaneWave(LAM, I003, direction=(0.0, 1.0, 0.0), polarization=(0.0, 0.0, 1.0))
    ps = Particles([[-0.4 * LAM, 0, 0], [0.4 * LAM, 0, 0]], A_SI, alpha_e=ALPHA_E)
    nr = nonreciprocity_factors(ps, beam)
    tol = 1e-8
    np.testing.assert_allclose(nr.zeroth[:2], [0.0, 1.0], atol=tol)
    for P in (0, 1):
        np.testing.assert_allclose(nr.first[P, :2, :2], [[0.0, 1.0], [1.0, 0.0]], atol=tol)


# --------------------------------------------------------------------------------------
# stiffness, transforms, dtypes
# --------------------------------------------------------------------------------------


def test_stiffness_matrix_matches_finite_differences():
    foci, beam = _two_tweezers(1.5e-6, 0.4)
    alpha = C.unscale_polarizability(0.05 / (1 - 2j / 3 * 0.05), K_TW)
    ps = Particles(foci + 1e-8, 50e-9, alpha_e=alpha)
    Km = np.asarray(stiffness_matrix(ps, beam))
    assert Km.shape == (6, 6)
    h = 1e-11
    for col in (0, 2, 3):
        dp = np.zeros(6)
        dp[col] = h
        Fp = optical_forces(ps.with_positions(ps.positions + dp.reshape(2, 3)), beam)
        Fm = optical_forces(ps.with_positions(ps.positions - dp.reshape(2, 3)), beam)
        np.testing.assert_allclose(Km[:, col], -np.ravel(Fp - Fm) / (2 * h),
                                   rtol=1e-5, atol=1e-6 * np.abs(Km).max())
    # trap stiffness along x is positive (restoring)
    assert Km[0, 0] > 0 and Km[3, 3] > 0


def test_vmap_grad_and_sweep_status():
    """jit ∘ vmap ∘ value_and_grad (one program) vs central differences of its values at three
    distances; a sweep through an overlapping point gives a code and NaN forces."""
    beam = _pw003()

    def fA(L):
        return interparticle_forces(_pair(L, 2), beam)[0, 0]

    h = 1e-12
    Ls = np.repeat(np.array([0.5, 1.1, 2.3]) * LAM, 3) + np.tile([0.0, h, -h], 3)
    v, g = (np.asarray(a) for a in jax.jit(jax.vmap(jax.value_and_grad(fA)))(jnp.asarray(Ls)))
    np.testing.assert_allclose(g[::3], (v[1::3] - v[2::3]) / (2 * h), rtol=1e-5)

    def swept(L):
        ps = _pair(L, 2)
        sol = solve_dipoles(ps, beam, throw=False)
        return sol.status, dipole_forces(ps, beam, sol)

    status, F = jax.jit(jax.vmap(swept))(jnp.array([0.5 * A_SI, 0.5 * LAM]))
    np.testing.assert_array_equal(status, [int(code(RESULTS.overlap)), 0])
    F = np.asarray(F)  # NaN + code at the overlapping point, never a substituted finite value
    assert np.all(np.isnan(F[0])) and np.all(np.isfinite(F[1]))


def test_float32_matches_float64():
    ref = np.asarray(optical_forces(_pair(0.77 * LAM, 2), _pw003()))
    out = optical_forces(_pair(jnp.float32(0.77 * LAM), 2, jnp.float32), _pw003(jnp.float32))
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, ref, rtol=2e-5, atol=2e-5 * np.abs(ref).max())
