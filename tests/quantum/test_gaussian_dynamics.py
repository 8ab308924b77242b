"""evolve, spectrum, entanglement and other observables against closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.quantum.gaussian import (
    GaussianState,
    LinearSystem,
    TimeDependentSystem,
    evolve,
    steady_state,
)
from jaxbind.quantum.models import add_thermal_bath
from jaxbind.quantum.observables import (
    collective_occupation,
    epr_variance,
    log_negativity,
    mode_correlations,
    occupations,
    purity,
    symplectic_eigenvalues,
)
from jaxbind.quantum.response import heat_currents, spectrum


def _pair(w=1.0, g=0.1, k=0.2, n1=2.0, n2=0.5):
    """Two oscillators (lab frame) with beam-splitter coupling g(a1†a2 + h.c.) and baths."""
    H = jnp.array([[w, 0, g, 0], [0, w, 0, g], [g, 0, w, 0], [0, g, 0, w]])
    s = add_thermal_bath(LinearSystem.from_lindblad(H), 0, k, n1)
    return add_thermal_bath(s, 1, k, n2)


def test_evolve_thermalisation_closed_form():
    # Damped oscillator: n(t) = n̄ + (n0 − n̄) e^{−κt}; coherent amplitude decays as e^{−κt/2}.
    w, k, nth, n0 = 1.0, 0.3, 1.5, 4.0
    s = add_thermal_bath(LinearSystem.from_lindblad(w * jnp.eye(2)), 0, k, nth)
    ts = jnp.array([0.0, 0.7, 3.0, 11.0])
    st0 = GaussianState(jnp.array([1.0, 0.0]), (n0 + 0.5) * jnp.eye(2))
    out = evolve(s, st0, ts)  # eager: one compiled program
    exact = nth + (n0 - nth) * np.exp(-k * np.asarray(ts))
    np.testing.assert_allclose(occupations(out.cov)[:, 0], exact, rtol=1e-12)  # (T, n, n) batch
    amp = np.hypot(out.mean[:, 0], out.mean[:, 1])
    np.testing.assert_allclose(amp, np.exp(-k * np.asarray(ts) / 2), rtol=1e-12)
    # time-dependent path (diffrax), same physics
    out_td = evolve(TimeDependentSystem(lambda t: s), st0, ts)
    np.testing.assert_allclose(occupations(out_td.cov)[:, 0], exact, rtol=1e-7)


def test_evolve_reaches_steady_state_and_grad():
    s = _pair()
    ss = steady_state(s)
    out = evolve(s, GaussianState.vacuum(2), jnp.array([200.0]))
    np.testing.assert_allclose(out.cov[0], ss.cov, rtol=1e-8, atol=1e-10)

    def f(g):
        return occupations(evolve(_pair(g=g), GaussianState.vacuum(2), jnp.array([5.0])).cov[0])[1]

    # one program (jit∘value_and_grad) for the gradient and the central difference's values
    vg = jax.jit(jax.value_and_grad(f))
    (_, gr), (n_p, _), (n_m, _) = (vg(x) for x in (0.1, 0.1 + 1e-6, 0.1 - 1e-6))
    fd = (n_p - n_m) / 2e-6
    np.testing.assert_allclose(gr, fd, rtol=1e-6)


def test_spectrum_integrates_to_covariance():
    s = _pair(k=0.5)
    ss = steady_state(s)
    # ω = tan θ maps R onto (−π/2, π/2); Gauss–Legendre on the smooth integrand.
    x, wts = np.polynomial.legendre.leggauss(800)
    th = 0.5 * np.pi * x
    om = np.tan(th)
    S = jax.jit(jax.vmap(lambda o: spectrum(s, o)))(jnp.asarray(om))
    integ = np.einsum("k,kij->ij", wts * 0.5 * np.pi / np.cos(th) ** 2, np.asarray(S)) / (2 * np.pi)
    np.testing.assert_allclose(integ.real, ss.cov, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(integ.imag, 0.0, atol=1e-10)
    # Hermitian, PSD, and S(−ω) = S(ω)*
    S1, S2 = spectrum(s, 0.9), spectrum(s, -0.9)
    np.testing.assert_allclose(S1, S1.conj().T, atol=1e-14)
    np.testing.assert_allclose(S2, S1.conj(), atol=1e-14)
    assert np.all(np.linalg.eigvalsh(np.asarray(S1)) > -1e-12)


@pytest.mark.unchecked  # an array omega where a scalar is due, on purpose
def test_spectrum_rejects_array_omega():
    with pytest.raises(ValueError, match="omega must be a scalar"):
        spectrum(_pair(k=0.5), jnp.ones(3))


def test_single_oscillator_spectrum_closed_form():
    # S_zz(ω) of a thermal oscillator (A = [[−κ/2, ω0], [−ω0, −κ/2]], D = κ(n̄+½)):
    # S_zz = κ(n̄+½)/2 [1/((ω−ω0)²+κ²/4) + 1/((ω+ω0)²+κ²/4)].
    w0, k, nth = 1.0, 0.1, 3.0
    s = add_thermal_bath(LinearSystem.from_lindblad(w0 * jnp.eye(2)), 0, k, nth)
    om = jnp.linspace(-3, 3, 41)
    S = jax.jit(jax.vmap(lambda o: spectrum(s, o)[0, 0].real))(om)  # one program
    ref = 0.5 * k * (nth + 0.5) * (1 / ((om - w0) ** 2 + k**2 / 4) + 1 / ((om + w0) ** 2 + k**2 / 4))
    np.testing.assert_allclose(S, ref, rtol=1e-12)


def test_log_negativity_two_mode_squeezed():
    # Two-mode squeezed vacuum: E_N = 2r; V = ½[[c, s σz], [s σz, c]] (c = cosh 2r, s = sinh 2r).
    rs = np.array([0.0, 0.3, 1.1])
    sz = np.diag([1.0, -1.0])
    Vs = np.stack([0.5 * np.block([[np.cosh(2 * r) * np.eye(2), np.sinh(2 * r) * sz],
                                   [np.sinh(2 * r) * sz, np.cosh(2 * r) * np.eye(2)]]) for r in rs])
    # the three states in one jit∘vmap program
    en_, epr_, pur_ = jax.jit(jax.vmap(lambda V: (log_negativity(V, [1]), epr_variance(V), purity(V))))(Vs)
    np.testing.assert_allclose(en_, 2 * rs, atol=1e-12)
    np.testing.assert_allclose(epr_, np.exp(-2 * rs), rtol=1e-12)
    np.testing.assert_allclose(pur_, 1.0, rtol=1e-12)
    # gradient vs closed form dE_N/dr = 2 (r > 0)
    def en(r):
        c, sh = jnp.cosh(2 * r), jnp.sinh(2 * r)
        sz = jnp.diag(jnp.array([1.0, -1.0]))
        V = 0.5 * jnp.block([[c * jnp.eye(2), sh * sz], [sh * sz, c * jnp.eye(2)]])
        return log_negativity(V, [1])

    np.testing.assert_allclose(jax.jit(jax.grad(en))(0.4), 2.0, rtol=1e-8)
    # thermal product state: separable
    assert float(log_negativity(GaussianState.thermal([0.2, 1.0]).cov, [0])) == 0.0
    with pytest.raises(ValueError, match="partition"):
        log_negativity(jnp.eye(4) * 0.5, [2])


def test_state_constructors_and_invariants():
    th = GaussianState.thermal([0.5, 2.0])
    np.testing.assert_allclose(th.symplectic_eigenvalues(), [1.0, 2.5], rtol=1e-12)
    np.testing.assert_allclose(th.purity(), 1 / ((2 * 0.5 + 1) * (2 * 2.0 + 1)), rtol=1e-12)
    sq = GaussianState.squeezed(0.7, np.pi / 3)
    np.testing.assert_allclose(sq.purity(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(sq.symplectic_eigenvalues(), [0.5], rtol=1e-12)
    np.testing.assert_allclose(sq.occupations(), [np.sinh(0.7) ** 2], rtol=1e-12)
    co = GaussianState.coherent(jnp.array([1.0 + 2.0j]))
    np.testing.assert_allclose(co.occupations(), [5.0], rtol=1e-12)
    vac = GaussianState.vacuum(3)
    np.testing.assert_allclose(vac.occupations(), np.zeros(3), atol=1e-15)
    # collective modes (a1 ± i a2)/√2 of a thermal product state with n1, n2: (n1+n2)/2
    u = jnp.array([1.0, 1j]) / np.sqrt(2)
    np.testing.assert_allclose(collective_occupation(th.cov, u), 1.25, rtol=1e-12)
    np.testing.assert_allclose(jnp.diag(mode_correlations(th.cov)).real, [0.5, 2.0], rtol=1e-12)


@pytest.mark.unchecked  # mean and cov of mismatched sizes on purpose
def test_state_constructor_rejects_bad_shapes():
    with pytest.raises(ValueError, match="cov must have shape"):
        GaussianState(None, jnp.eye(3))
    with pytest.raises(ValueError, match="mean must have shape"):
        GaussianState(jnp.zeros(3), jnp.eye(2))


def test_heat_currents_beam_splitter_closed_form():
    # Number-conserving pair: J_{1→2} = ω · 2g²κ(n1 − n2)/(κ² + 4g²) (rate equations).
    w, g, k, n1, n2 = 1.0, 0.1, 0.2, 2.0, 0.5
    s = _pair(w, g, k, n1, n2)
    V = steady_state(s).cov
    J = heat_currents(s, V)
    ref = w * 2 * g**2 * k * (n1 - n2) / (k**2 + 4 * g**2)
    np.testing.assert_allclose(J[1, 0], ref, rtol=1e-10)
    np.testing.assert_allclose(J[0, 1], -ref, rtol=1e-10)
    np.testing.assert_allclose(J.sum(axis=1), 0.0, atol=1e-12)


def test_observables_float32():
    V64 = np.asarray(steady_state(_pair()).cov)
    V32 = jnp.asarray(V64, jnp.float32)
    # the four observables in one program per dtype
    fns = jax.jit(lambda V: (log_negativity(V, [1]), purity(V), symplectic_eigenvalues(V), occupations(V)))
    for a, b in zip(fns(V32), fns(V64)):
        assert a.dtype == jnp.float32
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=1e-6)
