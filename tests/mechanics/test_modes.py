"""Tests for mechanics.modes and mechanics.regimes (paper 000 eqs. 10–12, Fig. 3; paper 001
eqs. 80, 86, Fig. 3, Sec. IV.B.5)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.mechanics.array import TweezerArray, linearize
from jaxbind.mechanics.modes import (
    drift_matrix,
    dynamical_matrix,
    eigenfrequencies,
    exceptional_points,
    localization,
    modes,
    nonhermitian_hamiltonian,
    pt_phase,
    two_mode_eigenfrequencies,
)
from jaxbind.mechanics.rates import coupling_rates, two_particle_rates
from jaxbind.mechanics.regimes import (
    ANTIRECIPROCAL,
    DIRECTIONAL,
    NOISE,
    RECIPROCAL,
    regime,
    regime_map,
    regime_point,
    unidirectional_chain,
)

from jaxbind.results import RESULTS, code  # noqa: E402

EP_SUCCESS = int(code(RESULTS.successful))
LAM = 1550e-9
K = 2 * np.pi / LAM
# One compiled program per check instead of op-by-op dispatch (each eager op on a new shape
# compiles its own XLA program): keeps the file within the default suite's budget.
lin_ff = eqx.filter_jit(linearize)
rates = eqx.filter_jit(two_particle_rates)
eigs = eqx.filter_jit(eigenfrequencies)
drift = eqx.filter_jit(drift_matrix)
eq12 = jax.jit(two_mode_eigenfrequencies)
modes_j = jax.jit(modes)


def pair(kd, phi, powers=(0.3, 0.28), gamma=0.0):
    d = kd / K
    return TweezerArray([[0, 0], [0, d]], powers=powers, wavelength=LAM, NA=0.6,
                        phases=[phi, 0.0], radius=100e-9, index=1.45, density=2200.0,
                        gamma=gamma)


@pytest.fixture(scope="module")
def two():
    arr = pair(2 * np.pi * 3 + 0.8, 1.1)
    return lin_ff(arr), rates(arr)


def test_full_eigenfrequencies_match_eq86(two):
    lin, tp = two
    w = eigs(lin)
    ref = eq12(tp.g_r, tp.g_a, tp.delta_omega, tp.omega_m)
    np.testing.assert_allclose(np.sort_complex(np.asarray(ref)), w, rtol=1e-12)
    # drift matrix (eq. 80): eigenvalues ∓iω_n
    ev = np.linalg.eigvals(np.asarray(drift(lin)))
    np.testing.assert_allclose(np.sort(np.abs(ev.imag)), np.sort(np.concatenate([w.real, w.real])),
                               rtol=1e-10)


def test_rwa_matrix_is_paper_000_eq11(two):
    lin, tp = two
    H = nonhermitian_hamiltonian(lin, tp.omega_m)
    dw, gr, ga = tp.delta_omega, tp.g_r, tp.g_a
    H11 = np.array([[-dw / 2 + ga, -gr - ga], [-gr + ga, dw / 2 - ga]])
    np.testing.assert_allclose(H, H11 + gr * np.eye(2), rtol=1e-12, atol=1e-12 * abs(tp.g))
    w = eigs(lin, rwa=True, omega_ref=tp.omega_m)
    ref = tp.omega_m + gr + np.asarray(eq12(gr, ga, dw))  # eq. 12
    np.testing.assert_allclose(np.sort_complex(np.asarray(ref)), w, rtol=1e-12)
    # the RWA and the full spectra agree to O((δω/ω)², g/ω)
    np.testing.assert_allclose(w.real, eigs(lin).real, rtol=(dw / tp.omega_m) ** 2)


# slow: the drift matrix stays covered by default in test_full_eigenfrequencies_match_eq86
@pytest.mark.slow
def test_gas_damping_in_drift(two):
    arr = pair(2 * np.pi * 3 + 0.8, 1.1, gamma=50.0)
    ev = np.linalg.eigvals(np.asarray(drift(lin_ff(arr))))
    np.testing.assert_allclose(ev.real, -25.0, rtol=1e-6)


def test_exceptional_points_vs_closed_form():
    g_r = jnp.array([0.3, 0.0, -0.5, 1.3, 0.2])
    g_a = jnp.array([1.0, 0.7, 0.9, 1.0, -0.6])
    # one program: the RWA search vmapped over the table and the full (non-RWA) matrix below
    ep, full = jax.jit(lambda gr, ga: (jax.vmap(exceptional_points)(gr, ga),
                                       exceptional_points(0.3, 1.0, omega_m=1e3)))(g_r, g_a)
    for i in range(5):
        gr, ga = float(g_r[i]), float(g_a[i])
        if abs(ga) > abs(gr):
            ref = np.sort(2 * ga + np.array([-2, 2]) * np.sqrt(ga**2 - gr**2))
            np.testing.assert_allclose(ep.delta_omega[i], ref, rtol=1e-8, atol=1e-10)
            assert np.all(ep.status[i] == EP_SUCCESS)
        else:  # PT-unbroken for every δω: no EP, a (failed) result and no number
            assert np.all(ep.status[i] != EP_SUCCESS)
            assert np.all(np.isnan(ep.delta_omega[i]))
    # the full (non-RWA) matrix of eq. 80 has the same EPs (eq. 86 discriminant)
    np.testing.assert_allclose(full.delta_omega, 2 + np.array([-2, 2]) * np.sqrt(0.91), rtol=1e-8)


# slow: exceptional points stay covered by default against the closed form in
# test_exceptional_points_vs_closed_form
@pytest.mark.slow
def test_ep_spectrum_petermann_and_pt_phase():
    gr, ga = 0.3, 1.0
    ep = np.asarray(jax.jit(exceptional_points)(gr, ga).delta_omega)
    H = lambda dw: np.array([[-dw / 2 + ga, -gr - ga], [-gr + ga, dw / 2 - ga]])  # eq. 11
    near = modes_j(H(ep[0] - 1e-8))
    assert np.all(near.petermann > 1e3)  # diverges at the EP
    Hh = H(0.7)
    Hh[0, 1] = Hh[1, 0] = -gr  # g_a = 0 off-diagonal: Hermitian
    herm = modes_j(Hh)
    np.testing.assert_allclose(herm.petermann, 1.0, rtol=1e-10)
    np.testing.assert_allclose(near.left.conj().T @ near.right, np.eye(2), atol=1e-6)
    dws = jnp.linspace(-2, 6, 81)
    gas = jnp.linspace(-1.5, 1.5, 61)
    ph, im = jax.jit(lambda gas: (jax.vmap(lambda a: pt_phase(gr, a, dws))(gas),
                                  jax.vmap(lambda a: jnp.abs(two_mode_eigenfrequencies(gr, a, dws).imag)
                                           .max(0))(gas)))(gas)
    np.testing.assert_array_equal(np.asarray(ph) == 2, np.asarray(im) > 1e-12)
    assert np.all(np.asarray(ph)[np.abs(gas) <= gr] == 0)


# slow: a paper-figure reproduction; regime_point and the growth rate stay covered by default in
# test_transformations_and_float32, the regime codes of a bad point in
# test_exceptional_point_results_and_bad_rates
@pytest.mark.slow
def test_fig3a_points_and_map():
    g = lambda phi, kd: coupling_rates(phi, kd)
    cases = [((0.0, np.pi), RECIPROCAL),           # (I) g_a = D12 = 0
             ((np.pi / 4, np.pi / 4), DIRECTIONAL),  # (II) g_a = g_r
             ((np.pi / 2, np.pi / 2), ANTIRECIPROCAL),  # (III) g_r = Re D12 = 0
             ((0.0, np.pi / 2), NOISE)]             # (IV) g_r = g_a = 0
    for (phi, kd), want in cases:
        gr, ga, D = g(phi, kd)
        assert int(regime(gr, ga, D.real)) == want
    # map against a NumPy transcription of paper 000's Fig. 3 caption
    phis = np.linspace(0.0123, np.pi - 0.0071, 101)  # no exact ties (e.g. φ = π/4)
    kds = np.linspace(0.05, 2 * np.pi, 97)
    codes, growth = jax.jit(regime_map)(phis, kds)
    P, Q = np.meshgrid(phis, kds, indexing="ij")
    gr, ga, rd = np.cos(Q) * np.cos(P) / Q, np.sin(Q) * np.sin(P) / Q, np.sin(Q) * np.cos(P) / Q
    s, d = np.abs(gr + ga), np.abs(gr - ga)
    ref = np.zeros(P.shape, int)
    ref[(np.abs(gr) > np.abs(ga)) & (np.abs(gr) > np.abs(rd))] = RECIPROCAL
    ref[(np.abs(ga) > np.abs(gr)) & (np.abs(ga) > np.abs(rd))] = ANTIRECIPROCAL
    ref[(s > 2 * d) | (d > 2 * s)] = DIRECTIONAL
    ref[np.abs(rd) > 2 * np.maximum(s, d)] = NOISE
    np.testing.assert_array_equal(np.asarray(codes), ref)
    disc = 4 * gr**2  # δω = 0: eq. 12 is real, no growth
    assert np.all(disc >= 0) and np.allclose(growth, 0.0)


# slow: the far-field linearization of arrays stays covered by default in
# tests/mechanics/test_array.py, modes in test_full_eigenfrequencies_match_eq86
@pytest.mark.slow
def test_chain_sign_pattern_and_skin_indicators():
    """Paper 001 Sec. IV.B.5: phase step π/4 and spacing (2πn + π/4)/k."""
    n = 10
    arr = unidirectional_chain(n, LAM, powers=0.3, NA=0.6, radius=50e-9, index=1.45, density=2200.0)
    C = np.asarray(lin_ff(arr).C)
    for m in range(1, n):
        up = np.diagonal(C, m)     # C_{j, j+m}
        down = np.diagonal(C, -m)  # C_{j+m, j}
        assert np.all(up > 0)
        np.testing.assert_allclose(up * m, up[0] * m, rtol=1e-12)
        if m % 2:
            assert np.all(np.abs(down) < 1e-9 * up.max())
        else:
            assert np.all(np.sign(down) == (1 if m % 4 == 0 else -1))
    # skin-effect indicator on the nearest-neighbour Hatano-Nelson limit: every right
    # eigenvector piles up at the edge the stronger hopping points to
    hn = jnp.diag(jnp.full(n - 1, -1.0), 1) + jnp.diag(jnp.full(n - 1, -0.2), -1)
    loc = jax.jit(lambda h: localization(modes(h).right))
    ipr, centre = loc(hn)
    assert np.all(np.asarray(centre) < -0.3) and np.all(np.asarray(ipr) > 1.0 / n)
    ipr_h, centre_h = loc(hn + hn.T)
    assert abs(float(np.mean(centre_h))) < 1e-8


def test_transformations_and_float32():
    f = lambda ga: jnp.max(jnp.imag(two_mode_eigenfrequencies(0.3, ga, 2 * ga)))
    # growth rate at δω = 2g_a: √(g_a² − g_r²)
    # jit ∘ vmap ∘ grad in one program
    np.testing.assert_allclose(jax.jit(jax.vmap(jax.grad(f)))(jnp.array([1.0, 0.5, 2.0])),
                               [1.0 / np.sqrt(1 - 0.09), 0.5 / np.sqrt(0.25 - 0.09),
                                2.0 / np.sqrt(4 - 0.09)], rtol=1e-10)
    # regime_point's real-discriminant growth rate equals max Im of eq. 12
    P, Q = jnp.meshgrid(jnp.linspace(0.01, 3.1, 23), jnp.linspace(0.1, 6.0, 19))

    @jax.jit
    def growth_and_eq12(p, q, dw):
        _, grow = jax.vmap(regime_point, in_axes=(0, 0, None))(p, q, dw)
        gr_, ga_, _ = coupling_rates(p, q)
        return grow, jnp.max(jnp.imag(two_mode_eigenfrequencies(gr_, ga_, dw)), axis=0)

    for dw in (0.0, 0.2, -0.35):
        grow, ref = growth_and_eq12(P.ravel(), Q.ravel(), dw)
        np.testing.assert_allclose(grow, ref, atol=1e-12)
        assert dw == 0.0 or np.any(np.asarray(grow) > 0)
    rp = jax.jit(regime_point)
    code32, gr32 = rp(jnp.float32(0.7), jnp.float32(2.1), jnp.float32(0.3))
    code64, gr64 = rp(0.7, 2.1, 0.3)
    assert int(code32) == int(code64) and gr32.dtype == jnp.float32
    np.testing.assert_allclose(gr32, gr64, rtol=1e-5, atol=1e-7)
    ep32 = jax.jit(lambda a, b: exceptional_points(a, b, rtol=1e-5, atol=1e-6))(jnp.float32(0.3), jnp.float32(1.0))
    np.testing.assert_allclose(ep32.delta_omega, jax.jit(exceptional_points)(0.3, 1.0).delta_omega, rtol=1e-5)


@pytest.mark.unchecked  # wrong shapes and types on purpose
def test_bad_input(two):
    lin, _ = two
    with pytest.raises(ValueError, match="square"):
        modes(jnp.ones((2, 3)))
    with pytest.raises(TypeError, match="LinearizedArray"):
        dynamical_matrix(jnp.ones((2, 2)))
    assert dynamical_matrix(lin).shape == (2, 2)


def test_exceptional_point_results_and_bad_rates():
    """A failed EP search carries the promoted optimistix result (not a boolean) and NaN;
    coupling_rates at kd = 0 is an error naming kd (NaN under jit, never inf)."""
    ep = exceptional_points(1.0, 0.3)  # |g_a| < |g_r|: no EP
    assert isinstance(ep.result, type(RESULTS.successful))
    assert not np.any(np.asarray(ep.result == RESULTS.successful))
    assert np.all(np.isnan(ep.delta_omega)) and ep.status.dtype == jnp.int32
    ok = exceptional_points(0.3, 1.0)
    assert np.all(np.asarray(ok.result == RESULTS.successful))
    with pytest.raises(ValueError, match="kd must be finite and > 0"):
        coupling_rates(0.0, 0.0)
    with pytest.raises(ValueError, match="phase must be finite"):
        coupling_rates(np.nan, 1.0)
    g_r, g_a, d12 = jax.jit(coupling_rates)(jnp.array([0.3, 0.3]), jnp.array([0.0, 2.0]))
    assert np.isnan(g_r[0]) and np.isnan(g_a[0]) and np.isnan(d12[0])
    np.testing.assert_allclose(g_r[1], np.cos(2.0) * np.cos(0.3) / 2.0, rtol=1e-14)
    code_, growth = jax.jit(regime_point)(0.3, 0.0)
    assert np.isnan(growth)
