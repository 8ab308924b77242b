"""Langevin trajectories of one trapped particle: thermal closed forms, cold-damping feedback
against an independent (SciPy) Lyapunov solution of the same linear filter loop, per-trajectory
result codes, time-step warnings and bad input. Kept cheap: one particle, 200 trajectories,
a few thousand steps (the 6-DOF linear-model comparison is tests/dynamics/test_linear_limit.py)."""

import warnings

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sla

from jaxbind import constants as Cst
from jaxbind.dynamics import ColdDamping, LangevinModel, simulate
from jaxbind.dynamics.langevin import _check_step
from jaxbind.mechanics.array import TweezerArray
from jaxbind.results import RESULTS

LAM = 1550e-9
TEMP = 1.0
GAMMA = 1e5
N_TRAJ = 200


@pytest.fixture(scope="module")
def model():
    arr = TweezerArray([[0, 0]], powers=0.3, wavelength=LAM, NA=0.6, radii=50e-9, index=1.45,
                       density=2200.0, gamma=GAMMA, temperature=TEMP)
    guess = LangevinModel(arr.particles(), arr.beam(), omega=1e6, gamma=GAMMA, temperature=TEMP,
                          escape=float(arr.waists[0]))
    # the trap's stiffness from the engine's forces (autodiff), independent of linearize
    K = -np.asarray(jax.jit(jax.jacfwd(guess.forces))(np.zeros(3)))  # one program, not op by op
    assert np.allclose(K, np.diag(np.diag(K)), atol=1e-6 * np.max(np.abs(K)))
    m = float(guess.masses[0])
    om = np.sqrt(np.diag(K) / m)
    return eqx.tree_at(lambda md: md.omega, guess, jnp.asarray(om)), K


def thermal_initial(model, K, n, seed):
    m = float(model.masses[0])
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=(n, 3)) * np.sqrt(Cst.k_B * TEMP / np.diag(K))
    v0 = rng.normal(size=(n, 3)) * np.sqrt(Cst.k_B * TEMP / m)
    return x0, v0


@pytest.fixture(scope="module")
def thermal(model):
    mdl, K = model
    period = 2 * np.pi / float(np.max(mdl.omega))
    x0, v0 = thermal_initial(mdl, K, N_TRAJ, 0)
    return simulate(mdl, 40 * period, period / 40, key=jax.random.PRNGKey(0), n_traj=N_TRAJ,
                    x0=x0, v0=v0, save_every=2), period


def test_equipartition(model, thermal):
    """⟨x_a²⟩ = k_B T/K_aa and m⟨v_a²⟩ = k_B T (fluctuation–dissipation), 4 standard errors."""
    mdl, K = model
    tr, period = thermal
    assert tr.x.shape == (N_TRAJ, 801, 3)
    assert bool(jnp.all(tr.ok))
    # the scattering force pushes the particle ~9 nm along z: discard 2 damping times
    t0 = 2 * 2 / GAMMA
    C = np.asarray(tr.covariance(t0))
    E = np.asarray(tr.covariance_error(t0))
    m = float(mdl.masses[0])
    ref_x = Cst.k_B * TEMP / np.diag(K)
    ref_v = np.full(3, Cst.k_B * TEMP / m)
    ref = np.stack([ref_x, ref_v], -1).ravel()
    z = (np.diag(C) - ref) / np.diag(E)
    assert np.all(np.abs(z) < 4), z
    np.testing.assert_allclose(np.diag(C), ref, rtol=0.1)
    # energies: k_B T per degree of freedom
    np.testing.assert_allclose(np.asarray(tr.mean_energy(t0)) / (Cst.k_B * TEMP), 1.0, rtol=0.1)
    # correlation function at lag 0 is the variance
    lags, Cx = tr.correlation(5, t0)
    np.testing.assert_allclose(np.asarray(Cx[:, 0]), np.diag(C)[0::2], rtol=1e-6)
    assert float(lags[1]) == pytest.approx(float(tr.ts[1] - tr.ts[0]))


# slow: a trajectory's result code stays covered by default in
# test_cold_damping_matches_linear_loop_and_flags_bad_trajectory (a NaN start gets
# trajectory_nonfinite), the integration in test_equipartition
@pytest.mark.slow
def test_time_step_too_large_warns_and_reports_nonfinite(model, thermal):
    """dt = T/2: the explicit scheme amplifies the energy 25× per step → the particles are
    thrown out of the trap: every trajectory is reported (``particle_escaped`` or
    ``trajectory_nonfinite``), none averaged as NaN."""
    mdl, K = model
    _, period = thermal
    x0, v0 = thermal_initial(mdl, K, N_TRAJ, 0)
    with pytest.warns(UserWarning, match="trap period"):
        tr = simulate(mdl, 800 * period, period / 2, key=jax.random.PRNGKey(0),
                      n_traj=N_TRAJ, x0=x0, v0=v0, save_every=2)
    bad = (tr.result == RESULTS.trajectory_nonfinite) | (tr.result == RESULTS.particle_escaped)
    assert bool(jnp.all(bad))
    assert int(tr.n_ok) == 0
    assert bool(jnp.all(jnp.isnan(tr.x)))


def loop_reference(K, m, gamma, T, fb: ColdDamping):
    """Stationary covariance of the linear feedback loop per axis (x, v, w1, w2) by SciPy."""
    out = []
    wc = float(fb.cutoff)
    for a in range(3):
        k = K[a, a] / m
        A = np.array([[0, 1, 0, 0],
                      [-k, -gamma, -float(fb.gain) * wc - float(fb.position_gain), float(fb.gain) * wc],
                      [wc, 0, -wc, 0],
                      [0, 0, wc, -wc]])
        Q = np.diag([0, 2 * gamma * Cst.k_B * T / m, wc**2 * float(fb.imprecision), 0])
        out.append(sla.solve_continuous_lyapunov(A, -Q))
    return out


def test_cold_damping_matches_linear_loop_and_flags_bad_trajectory(model):
    """Feedback loop (filter, gain, imprecision noise) vs SciPy's Lyapunov solution of the same
    linear loop; one trajectory started at NaN gets its code and does not touch the others."""
    mdl, K = model
    m = float(mdl.masses[0])
    period = 2 * np.pi / float(np.max(mdl.omega))
    kx = K[0, 0]
    # imprecision chosen so the force noise it feeds back at the trap frequency,
    # m²γ_fb²ω²S_imp, is 30 % of the thermal force noise 2mγk_BT
    g_fb = 3e5
    s_imp = 0.3 * 2 * GAMMA * Cst.k_B * TEMP / (m * g_fb**2 * (kx / m))
    fb = ColdDamping(gain=g_fb, cutoff=2.5e6, imprecision=s_imp)
    n = N_TRAJ + 1
    x0, v0 = thermal_initial(mdl, K, n, 1)
    x0[-1, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the step resolves trap and filter: no warning
        tr = simulate(mdl, 40 * period, period / 60, key=jax.random.PRNGKey(1), n_traj=n,
                      feedback=fb, x0=x0, v0=v0, save_every=3)
    res = np.asarray(tr.status)
    assert res[-1] == int(RESULTS.trajectory_nonfinite._value)
    assert np.all(res[:-1] == 0)
    assert int(tr.n_ok) == N_TRAJ
    assert tr.estimate.shape == tr.x.shape
    t0 = 2.0 / (GAMMA + 3e5) * 6
    C = np.asarray(tr.covariance(t0))
    E = np.asarray(tr.covariance_error(t0))
    assert np.all(np.isfinite(C))
    refs = loop_reference(K, m, GAMMA, TEMP, fb)
    with pytest.warns(UserWarning, match="cut-off"):  # the check simulate runs first
        _check_step(mdl, ColdDamping(gain=g_fb, cutoff=2e7), period / 60)
    for a, R in enumerate(refs):
        got = np.array([C[2 * a, 2 * a], C[2 * a + 1, 2 * a + 1]])
        err = np.array([E[2 * a, 2 * a], E[2 * a + 1, 2 * a + 1]])
        want = np.array([R[0, 0], R[1, 1]])
        assert np.all(np.abs(got - want) < 4 * err), (a, got / want, (got - want) / err)
    # feedback cools: x variance well below the thermal value k_B T/K
    assert C[0, 0] < 0.7 * Cst.k_B * TEMP / kx


def test_bad_input(model):
    mdl, _ = model
    p, b = mdl.particles, mdl.beam
    with pytest.raises(ValueError, match="gamma"):
        LangevinModel(p, b, omega=1e6, gamma=-1.0)
    with pytest.raises(ValueError, match="temperature"):
        LangevinModel(p, b, omega=1e6, temperature=-1.0)
    with pytest.raises(ValueError, match="omega"):
        LangevinModel(p, b, omega=0.0)
    with pytest.raises(ValueError, match="escape"):
        LangevinModel(p, b, omega=1e6, escape=0.0)
    assert float(LangevinModel(p, b, omega=1e6).escape) == np.inf  # the default: never escaped
    with pytest.raises(ValueError, match="cutoff"):
        ColdDamping(gain=1.0, cutoff=0.0)
    with pytest.raises(ValueError, match="gain"):
        ColdDamping(gain=-1.0, cutoff=1.0)
    with pytest.raises(ValueError, match="imprecision"):
        ColdDamping(gain=1.0, cutoff=1.0, imprecision=-1.0)
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="dt"):
        simulate(mdl, 1e-5, 0.0, key=key)
    with pytest.raises(ValueError, match="t1"):
        simulate(mdl, 1e-9, 1e-8, key=key)
    with pytest.raises(ValueError, match="brownian"):
        simulate(mdl, 1e-5, 1e-8, key=key, brownian="bad")
    with pytest.raises(ValueError, match="x0"):
        simulate(mdl, 1e-5, 1e-8, key=key, n_traj=2, x0=np.zeros((3, 3)))
    with pytest.raises(TypeError, match="feedback"):
        simulate(mdl, 1e-5, 1e-8, key=key, feedback="cold")


def _to_float32(tree):
    def cast(x):
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.complexfloating):
            return x.astype(jnp.complex64)
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.floating):
            return x.astype(jnp.float32)
        return x
    return jax.tree_util.tree_map(cast, tree)


# slow (~5.5 CPU-s: a third compile of the stochastic integrator); the integrator stays
# checked by default in float64 (test_equipartition, test_cold_damping_matches_linear_loop_and_flags_bad_trajectory)
@pytest.mark.slow
def test_float32_model_runs_in_float32_and_agrees_with_float64(model):
    """A float32 model under jax_enable_x64 integrates in float32 (the Brownian increments
    take the model's dtype instead of promoting the state to float64) and, with no noise
    (T = 0, no recoil), follows the float64 trajectory from a displaced start."""
    mdl, _ = model
    mdl = eqx.tree_at(lambda md: md.temperature, mdl, jnp.zeros(()))
    m32 = _to_float32(mdl)
    assert m32.particles.positions.dtype == jnp.float32
    period = 2 * np.pi / float(np.max(mdl.omega))
    x0 = np.array([[20e-9, -10e-9, 30e-9]])
    kw = dict(key=jax.random.PRNGKey(0), n_traj=1, x0=x0, save_every=50,
              solver=diffrax.Euler())
    r64 = simulate(mdl, 200 * period / 40, period / 40, **kw)
    r32 = simulate(m32, 200 * period / 40, period / 40, **kw)
    assert r32.x.dtype == jnp.float32
    assert bool(jnp.all(r32.result == RESULTS.successful))
    x64, x32 = np.asarray(r64.x), np.asarray(r32.x)
    assert np.max(np.abs(x32 - x64)) <= 1e-4 * np.max(np.abs(x64))


def test_per_particle_gamma_with_per_dof_omega():
    """gamma is per particle (N,), omega per degree of freedom (3N,): the annotations must not
    tie their shapes (from_array of any N ≥ 2 array passes exactly these)."""
    arr = TweezerArray([[0, 0], [1.25 * LAM, 0]], powers=0.3, wavelength=LAM, NA=0.6,
                       radii=50e-9, index=1.45, density=2200.0, gamma=GAMMA, temperature=TEMP)
    mdl = LangevinModel(arr.particles(), arr.beam(), omega=np.full(6, 1e6),
                        gamma=np.array([GAMMA, 2 * GAMMA]), temperature=TEMP)
    assert mdl.gamma.shape == (2,) and mdl.omega.shape == (6,)
