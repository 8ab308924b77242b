"""linearize(method="exact") with the multipole engine (mechanics.exact_multipole): l_max = 1
equals the coupled-dipole path; the regular translation J against its far-field (Herglotz)
integral; a single sphere's recoil diffusion against the momentum-flux second moment of SciPy
Mie scattering; the paper 001 identity C − Cᵀ = 4 Im D/ħ at l_max = 3; the stiffness against
central finite differences of the multipole forces; jit / vmap / grad / float32; the quantum
steady state downstream; bad input."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

import jaxbind as jb
from jaxbind.mechanics.array import TweezerArray, linearize
from jaxbind.mechanics.exact_multipole import multipole_exact_scaled
from jaxbind.optics.beams import PlaneWave
from jaxbind.optics.focused import FocusedBeam
from jaxbind.optics.multipoles import Multipole, regular_translation_matrices, translation_gradient
from jaxbind.optics.multipoles.forces import far_field_amplitudes
from jaxbind.optics.multipoles.incident import _quadrature
from jaxbind.optics.multipoles.vswf import n_coefficients
from jaxbind.optics.particles import Particles
from jaxbind.quantum.gaussian import LinearSystem, steady_state
from jaxbind.quantum.observables import occupations

LAM = 1064e-9
K = 2 * np.pi / LAM
FOCUS = FocusedBeam(1.0, LAM, 0.8, filling=1.0, order=20, extent=4 * LAM)
POS = np.array([[0.0, 0.0, 0.0], [1.6e-6, 0.3e-6, 0.0], [0.5e-6, 1.9e-6, 0.0]])


def make(model, radius=75e-9, n=2, phases=(0.0, 0.7, 1.3), dtype=jnp.float64, gamma=0.0):
    """Two or three focused tweezers (NA 0.8) with silica spheres, close enough for near-field
    binding, dissimilar powers, phases and polarizations."""
    arr = lambda x: jnp.asarray(x, dtype)  # noqa: E731
    return TweezerArray(arr(POS[:n]), powers=arr([0.2, 0.15, 0.1][:n]), wavelength=arr(LAM),
                        radii=arr(radius), index=1.45, density=arr(2200.0),
                        phases=jnp.asarray(phases, dtype)[:n],
                        polarization_angles=arr([0.0, 0.3, 1.2][:n]), gamma=gamma,
                        temperature=300.0 if gamma else 0.0, focus=FOCUS, model=model)


lin_exact = eqx.filter_jit(lambda a, axis: linearize(a, "exact", axis=axis))


@pytest.fixture(scope="module")
def pair_l1():
    arr = make(Multipole(1))
    return arr, lin_exact(arr, "xyz")


def test_l_max_1_equals_the_dipole_linearization(pair_l1):
    """Multipole(1) is the Mie dipole model: ω, C, K, F, D of a focused pair (all three axes)
    equal the coupled-dipole path's (mechanics.exact: implicit Jacobian, W-kernel diffusion, the
    beam's point gradients instead of projected coefficients) to ≤ 1e-10."""
    _, lm = pair_l1
    ld = lin_exact(make(jb.MieDipole()), "xyz")
    assert lm.result == jb.RESULTS.successful
    for name in ("omega", "C", "K", "F", "D"):
        a, b = np.asarray(getattr(lm, name)), np.asarray(getattr(ld, name))
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10 * np.abs(b).max(), err_msg=name)
    assert np.abs(np.asarray(ld.C)).max() > 0 and np.abs(np.asarray(ld.D)).max() > 0


def test_regular_translation_is_the_far_field_overlap():
    """J(d) = ∮ Φ_μ*·Φ_ν e^{i n̂·d} dΩ (Φ the outgoing waves' far-field patterns, by an exact
    product quadrature) and ∂J/∂d at 0 (translation_gradient) against the derivative of that
    integral, ∮ Φ_μ*·Φ_ν i n̂_c dΩ."""
    L = 2
    nc = n_coefficients(L)
    pts, w = _quadrature(24, 48)
    basis = jnp.eye(nc, dtype=jnp.complex128)
    Phi = jax.jit(jax.vmap(lambda u: jax.vmap(lambda c: far_field_amplitudes(c, u, L, "out"))(
        basis)))(jnp.asarray(pts))                                          # (Q, nc, 3)
    Phi = np.asarray(Phi)
    d = np.array([0.7, -1.1, 0.4])
    ref = np.einsum("qmc,qnc,q->mn", Phi.conj(), Phi, w * np.exp(1j * pts @ d))
    J = np.asarray(jax.jit(regular_translation_matrices, static_argnums=(0, 1))(L, L, d))
    np.testing.assert_allclose(J, ref, atol=1e-13)
    G = translation_gradient(L, L)
    for c in range(3):
        ref = np.einsum("qmc,qnc,q->mn", Phi.conj(), Phi, w * 1j * pts[:, c])
        np.testing.assert_allclose(G[c], ref, atol=1e-13)


def _mie_bh(m, x, L):
    """Bohren & Huffman a_n, b_n (n = 1..L) from SciPy's spherical Bessel functions."""
    n = np.arange(1, L + 1)
    psi = lambda z: z * special.spherical_jn(n, z)  # noqa: E731
    dpsi = lambda z: special.spherical_jn(n, z) + z * special.spherical_jn(n, z, True)  # noqa: E731
    h = lambda z: special.spherical_jn(n, z) + 1j * special.spherical_yn(n, z)  # noqa: E731
    dh = lambda z: h(z) + z * (special.spherical_jn(n, z, True)  # noqa: E731
                               + 1j * special.spherical_yn(n, z, True))
    xi, dxi = x * h(x), dh(x)
    a = (m * psi(m * x) * dpsi(x) - psi(x) * dpsi(m * x)) / (m * psi(m * x) * dxi - xi * dpsi(m * x))
    b = (psi(m * x) * dpsi(x) - m * psi(x) * dpsi(m * x)) / (psi(m * x) * dxi - m * xi * dpsi(m * x))
    return a, b


def test_single_sphere_diffusion_is_the_momentum_flux_second_moment():
    """One silica sphere (a = 150 nm, ka = 0.89, l_max = 3) in an x-polarized plane wave along z:
    B_μ = i(k̂ − n̂)_μ F, so T_μν = (1/4π)∮ (k̂ − n̂)_μ (k̂ − n̂)_ν |F|² dΩ with
    |F|² = |S2|² cos²φ + |S1|² sin²φ (Bohren & Huffman §4.4, a_n, b_n from SciPy, truncated at
    the same degree), by Gauss–Legendre × trapezoidal quadrature."""
    L, a, m = 3, 150e-9, 1.45
    x = K * a
    beam = PlaneWave(LAM, 1e9)
    ps = Particles(jnp.zeros((1, 3)), a, index=m, model=Multipole(L))
    *_, T, result, _ = eqx.filter_jit(multipole_exact_scaled)(ps, beam, Multipole(L), (0, 1, 2),
                                                              True)
    assert result == jb.RESULTS.successful
    an, bn = _mie_bh(m, x, L)
    mu, wmu = np.polynomial.legendre.leggauss(40)
    phi = 2 * np.pi * np.arange(64) / 64
    # angular functions π_n, τ_n (Bohren & Huffman eq. 4.47)
    pi = np.zeros((L + 1, mu.size))
    pi[1] = 1.0
    for k in range(2, L + 1):
        pi[k] = (2 * k - 1) / (k - 1) * mu * pi[k - 1] - k / (k - 1) * pi[k - 2]
    tau = np.array([k * mu * pi[k] - (k + 1) * pi[k - 1] for k in range(1, L + 1)])
    pi = pi[1:]
    f = ((2 * np.arange(1, L + 1) + 1) / (np.arange(1, L + 1) * np.arange(2, L + 2)))[:, None]
    S1 = np.sum(f * (an[:, None] * pi + bn[:, None] * tau), axis=0)
    S2 = np.sum(f * (an[:, None] * tau + bn[:, None] * pi), axis=0)
    F2 = np.abs(S2[:, None]) ** 2 * np.cos(phi) ** 2 + np.abs(S1[:, None]) ** 2 * np.sin(phi) ** 2
    st = np.sqrt(1 - mu**2)[:, None]
    nv = np.stack([st * np.cos(phi), st * np.sin(phi), mu[:, None] * np.ones_like(phi)], -1)
    q = np.array([0.0, 0.0, 1.0]) - nv
    ref = np.einsum("tpa,tpb,tp,t->ab", q, q, F2, wmu) * (2 * np.pi / 64) / (4 * np.pi)
    np.testing.assert_allclose(np.asarray(T), ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    assert abs(ref[2, 2]) > 1e-3 and abs(ref[0, 0] - ref[1, 1]) > 1e-3 * abs(ref[0, 0])


def test_paraxial_array_and_far_field_refuse_multipoles():
    """A paraxial TweezerArray with Multipole: a clear error naming model and focus (the
    paraxial field is not a Maxwell field); polarizabilities instead of index: an error; the
    far-field closed forms with Multipole: an error naming method."""
    with pytest.raises(ValueError, match="model: Multipole.*focus="):
        TweezerArray(POS[:2], powers=0.2, wavelength=LAM, waists=0.8e-6, radii=75e-9,
                     index=1.45, density=2200.0, model=Multipole(2))
    with pytest.raises(ValueError, match="model: Multipole.*index="):
        TweezerArray(POS[:2], powers=0.2, wavelength=LAM, radii=75e-9, alpha=1e-32,
                     density=2200.0, model=Multipole(2), focus=FOCUS)
    arr = make(Multipole(2))
    with pytest.raises(ValueError, match="method: .*Multipole.*method='exact'"):
        linearize(arr)


# slow: a pipeline run (finite, positive occupations), no reference; the multipole
# linearization it consumes stays checked by default (test_l_max_1_equals_the_dipole_linearization)
# and the hand-over to the quantum stage by tests/quantum/test_from_linearized.py
@pytest.mark.slow
def test_steady_state_downstream(pair_l1):
    """linearize → LinearSystem.from_linearized → steady_state → occupations runs with the
    multipole linearization (gas damping at 300 K: a stable, physical steady state)."""
    arr, lin = pair_l1
    arr = eqx.tree_at(lambda a: (a.gamma, a.temperature), arr,
                      (jnp.full(2, 1e3), jnp.asarray(300.0)))
    lin = eqx.tree_at(lambda l: (l.gamma, l.temperature), lin,
                      (jnp.full(6, 1e3), jnp.asarray(300.0)))
    # one compiled program (eagerly from_linearized and occupations dispatch op by op)
    result, n = eqx.filter_jit(lambda lin: (
        (ss := steady_state(LinearSystem.from_linearized(lin, forces=False), throw=False)).result,
        occupations(ss.cov)))(lin)
    assert result == jb.RESULTS.successful
    n = np.asarray(n)
    assert n.shape == (6,) and np.all(np.isfinite(n)) and np.all(n > 0)


# ---------------------------------------------------------------------------------- slow


@pytest.fixture(scope="module")
def pair_l3():
    arr = make(Multipole(3), radius=130e-9)
    return arr, lin_exact(arr, "xyz")


@pytest.mark.slow
def test_identity_at_l_max_3(pair_l3):
    """C − Cᵀ = 4 Im D/ħ (paper 001 after eq. 81) for a 130-nm silica pair at l_max = 3
    (mechanics.exact_multipole docstring: it holds for any multipole order of lossless spheres);
    the multipole result differs from the dipole one (the test is not the l_max = 1 case)."""
    _, lin = pair_l3
    C, D = np.asarray(lin.C), np.asarray(lin.D)
    np.testing.assert_allclose(C - C.T, 4 * D.imag, rtol=0, atol=1e-9 * np.abs(C).max())
    assert np.abs(C - C.T).max() > 1e-3 * np.abs(C).max()
    ld = lin_exact(make(jb.MieDipole(), radius=130e-9), "xyz")
    assert np.abs(np.asarray(ld.C) - C).max() > 1e-3 * np.abs(C).max()


@pytest.mark.slow
def test_stiffness_against_finite_differences_of_the_forces(pair_l3):
    """−∂F/∂r (the linearization's total stiffness S = diag(mω² + K) − C) against central
    finite differences of Multipole.optical_forces (the engine's forces at displaced particles,
    incident coefficients projected anew: independent of the jvp and the translation
    gradient), and F against the forces at the foci."""
    arr, lin = pair_l3
    beam, model = arr.beam(), arr.model
    forces = jax.jit(lambda r: model.optical_forces(arr.particles(r), beam))
    r0 = arr.positions
    h = 2e-10
    cols = []
    for mu in range(6):
        e = jnp.zeros(6).at[mu].set(h).reshape(2, 3)
        cols.append((forces(r0 + e) - forces(r0 - e)).reshape(-1) / (2 * h))
    JF = np.stack([np.asarray(c) for c in cols], axis=1)
    S = np.asarray(lin.stiffness)
    np.testing.assert_allclose(S, -JF, rtol=0, atol=1e-6 * np.abs(S).max())
    np.testing.assert_allclose(np.asarray(lin.F), np.asarray(forces(r0)).reshape(-1),
                               rtol=1e-12, atol=1e-12 * np.abs(np.asarray(lin.F)).max())


@pytest.mark.slow
def test_vmap_grad_and_float32():
    """vmap over the tweezer phase equals the loop; jax.grad of a steady-state occupation
    w.r.t. a tweezer phase equals central finite differences; float32 agrees with float64."""
    L1 = Multipole(1)

    def lin_at(ph, dtype=jnp.float64):
        return linearize(make(L1, phases=jnp.stack([jnp.zeros_like(ph), ph]), dtype=dtype,
                              gamma=1e3), "exact", axis="z")

    phs = jnp.asarray([0.3, 1.1])
    Cv = jax.jit(jax.vmap(lambda p: lin_at(p).C))(phs)
    for i, p in enumerate(phs):
        np.testing.assert_allclose(np.asarray(Cv[i]), np.asarray(lin_at(p).C), rtol=1e-12)

    def occ(ph):
        ss = steady_state(LinearSystem.from_linearized(lin_at(ph), forces=False))
        return jnp.sum(occupations(ss.cov))

    g = jax.jit(jax.grad(occ))(0.7)
    eps = 1e-5
    fd = (jax.jit(occ)(0.7 + eps) - jax.jit(occ)(0.7 - eps)) / (2 * eps)
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-5)
    assert abs(float(fd)) > 0
    l64 = lin_at(jnp.asarray(0.7))
    l32 = lin_at(jnp.asarray(0.7, jnp.float32), jnp.float32)
    assert l32.C.dtype == jnp.float32
    for a, b in ((l32.omega, l64.omega), (l32.C, l64.C), (l32.K, l64.K), (l32.D, l64.D),
                 (l32.F, l64.F)):
        b = np.asarray(b)
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-4, atol=1e-4 * np.abs(b).max())
