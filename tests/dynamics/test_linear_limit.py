"""Stochastic trajectories vs the linearized Gaussian model in the small-amplitude limit.

A tweezer pair (6 degrees of freedom) with the full nonlinear optical forces, gas damping,
thermal and correlated recoil noise: the ensemble's stationary covariance and displacement
PSDs must equal the Lyapunov steady state and ``spectrum`` of the linear model built by
``LinearSystem.from_linearized(linearize(array, "exact", axis="xyz"))`` (with the gas damping
in its classical Brownian form ṗ = −γp, the form the trajectories integrate), within the
statistical error of N_TRAJ = 200 trajectories of 60 fast trap periods.

Geometry: d = 1.25 λ and tweezer phase difference φ = π/2, where the far-field binding force
at the foci vanishes and the coupling is purely anti-reciprocal (C₁₂ = −C₂₁, paper 000
eq. 6 with kd = 5π/2): the nonlinear equilibrium stays at the foci (a displaced equilibrium
would sample a different trap curvature, a genuinely nonlinear effect) while the
non-reciprocal coupling and the correlated recoil are both present.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sla

from jaxbind import constants as Cst
from jaxbind.dynamics import LangevinModel, simulate
from jaxbind.mechanics.array import TweezerArray, linearize
from jaxbind.quantum.gaussian import LinearSystem
from jaxbind.quantum.lyapunov import solve_lyapunov
from jaxbind.quantum.response import spectrum

LAM = 1550e-9
N_TRAJ = 200
TEMPERATURE = 1.0  # K: thermal amplitude ~ 4 nm ≪ waist, the small-amplitude limit
GAMMA = 1e5  # 1/s

# ~32 CPU-s (two compilations of the 6-DOF force field, 200 × 2400 steps): slow suite
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup():
    arr = TweezerArray([[0, 0], [1.25 * LAM, 0]], powers=0.3, wavelength=LAM, NA=0.6,
                       phases=[np.pi / 2, 0.0], polarization_angles=np.pi / 2, radii=50e-9,
                       index=1.45, density=2200.0, gamma=GAMMA, temperature=TEMPERATURE)
    lin = linearize(arr, "exact", axis="xyz")
    model = LangevinModel.from_array(arr)
    M = 6
    m = np.asarray(lin.mass)
    om = np.asarray(lin.omega)
    wr = float(om.mean())
    # the linear model, with gas damping in the classical Brownian form (momentum only)
    system = LinearSystem.from_linearized(lin, omega_ref=wr, gas_damping=False)
    A = np.zeros((2 * M, 2 * M))
    D = np.zeros((2 * M, 2 * M))
    for mu in range(M):
        A[2 * mu + 1, 2 * mu + 1] = -GAMMA / wr
        D[2 * mu + 1, 2 * mu + 1] = 2 * GAMMA * Cst.k_B * TEMPERATURE / (Cst.hbar * wr**2)
    system = system + LinearSystem(jnp.asarray(A), jnp.asarray(D))
    X, hurwitz = solve_lyapunov(system.A, system.D)
    assert bool(hurwitz)
    # SI scaling of the quadratures (z̃ = z √(mω/ħ), p̃ = m v/√(ħ m ω))
    s = np.empty(2 * M)
    s[0::2] = np.sqrt(Cst.hbar / (m * wr))
    s[1::2] = np.sqrt(Cst.hbar * wr / m)
    V = s[:, None] * np.asarray(X) * s[None, :]
    mean = s * -np.linalg.solve(np.asarray(system.A), np.asarray(system.b))
    # start in the linear model's stationary state (no transient to discard)
    y0 = np.random.default_rng(7).multivariate_normal(mean, V, size=N_TRAJ)
    period = 2 * np.pi / om.max()
    tr = simulate(model, 60 * period, period / 40, key=jax.random.PRNGKey(3), n_traj=N_TRAJ,
                  x0=y0[:, 0::2], v0=y0[:, 1::2], save_every=2)
    return dict(system=system, X=X, V=V, mean=mean, tr=tr, m=m, wr=wr, om=om)


def test_lyapunov_reference_matches_scipy(setup):
    X = np.asarray(setup["X"])
    A, D = (np.asarray(a) for a in (setup["system"].A, setup["system"].D))
    np.testing.assert_allclose(X, sla.solve_continuous_lyapunov(A, -D), rtol=1e-8,
                               atol=1e-10 * np.max(np.abs(X)))


def test_stationary_covariance_equals_linear_model(setup):
    tr, V = setup["tr"], setup["V"]
    assert int(tr.n_ok) == N_TRAJ
    C = np.asarray(tr.covariance())
    E = np.asarray(tr.covariance_error())
    d = np.diag(V)
    # variances: within 4 standard errors (≈ 2–3 % here), and within 8 % outright
    z = (np.diag(C) - d) / np.diag(E)
    assert np.all(np.abs(z) < 4.0), z
    np.testing.assert_allclose(np.diag(C), d, rtol=0.08)
    # all correlations (normalised), incl. the inter-particle ones the coupling creates
    nrm = np.sqrt(d[:, None] * d[None, :])
    assert np.max(np.abs(C - V) / nrm) < 0.06
    assert np.all(np.abs(C - V) < 5.0 * E + 1e-3 * nrm)


def test_psd_equals_linear_spectrum(setup):
    """Welch PSDs vs ``spectrum`` of the linear model convolved with the Hann window kernel
    (the estimator's exact expectation; aliasing included), within 5 standard errors."""
    tr, system, m, wr = setup["tr"], setup["system"], setup["m"], setup["wr"]
    seg = 256
    w, P = tr.psd(segment=seg, average=False)
    w, P = np.asarray(w), np.asarray(P)  # P: (n, M, K)
    Pm = P.mean(0)
    Pe = P.std(0, ddof=1) / np.sqrt(P.shape[0])
    dt = float(tr.ts[1] - tr.ts[0])
    # S(ω') on a fine grid, up to 6 Nyquist frequencies (S ∝ ω⁻⁴ beyond the peaks)
    nyq = np.pi / dt
    wp = np.linspace(-6 * nyq, 6 * nyq, 24001)
    S = jax.vmap(lambda x: jnp.real(jnp.diagonal(spectrum(system, x))))(jnp.asarray(wp / wr))
    S = np.asarray(S)[:, 0::2] * (Cst.hbar / (m * wr)) / wr  # (K', M) in m²·s
    win = np.hanning(seg + 2)[1:-1]
    nvec = np.arange(seg)
    k_sel = np.arange(2, 40)
    expected = np.empty((6, len(k_sel)))
    for i, k in enumerate(k_sel):
        kern = np.abs(np.exp(1j * np.outer(w[k] - wp, nvec * dt)) @ win) ** 2 * dt / np.sum(win**2)
        expected[:, i] = np.trapezoid(S * kern[:, None], wp, axis=0) / (2 * np.pi)
    got = Pm[:, k_sel]
    err = Pe[:, k_sel]
    z = (got - expected) / err
    assert np.all(np.abs(z) < 5.0), np.round(z, 1)
    # and the peaks (bins above 10 % of the maximum) agree within 15 % outright
    big = expected > 0.1 * expected.max(axis=1, keepdims=True)
    np.testing.assert_allclose(got[big], expected[big], rtol=0.15)
