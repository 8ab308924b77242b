"""Tests for jaxbind.quantum.cooling (paper 004 eqs. 5-15, C1-C2)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
from scipy.integrate import solve_ivp

from helpers import check_jvp
from jaxbind.quantum.cooling import (
    CoolingParams,
    cavity_rates,
    effective_bath,
    evolve_occupations,
    optical_occupation,
    quadratic_coefficients,
    rate_equations,
    steady_state_occupations,
    steady_state_occupations_root,
    transfer_rates,
)
from jaxbind.quantum.cooling_grid import _GRID_COMPILER_OPTIONS as GRID_COMPILER_OPTIONS
from jaxbind.quantum.cooling_grid import steady_state_grid, steady_state_sweep
from jaxbind.results import RESULTS, code

STATUS_OK = int(code(RESULTS.successful))
STATUS_NO_COOLING = int(code(RESULTS.no_cooling))
STATUS_INVALID_INPUT = int(code(RESULTS.invalid_input))
FIELDS = ("n_a", "n_b", "status")


def _pair_of(s):
    return s.n_a, s.n_b

FIG2 = dict(gamma=1.0, delta=1.0, omega=1.0, kappa_a=1e-4, kappa_b=1e-4, nbar_a=20.0, nbar_b=20.0)


def fig2(kg, g=0.05, **kw):
    return CoolingParams.from_kg(kg, 0.1, g, **{**FIG2, **kw})


def test_sideband_cooling_limit():
    """Uncoupled particles: n_a is the textbook sideband-cooling occupation
    (Γ_opt n_min + κ n̄)/(Γ_opt + κ) with n_min = (γ/4ω)² at Δ = ω, and n_b = n̄_b."""
    g, gam, w, ka, nb = 0.05, 0.3, 1.0, 1e-4, 20.0
    p = CoolingParams(0.0, 0.0, g, gamma=gam, delta=w, omega=w, kappa_a=ka, kappa_b=1e-4,
                      nbar_a=nb, nbar_b=7.0)
    n_min = (gam / (4 * w)) ** 2
    gopt = 4 * g**2 / gam - g**2 * gam / (4 * w**2 + gam**2 / 4)
    np.testing.assert_allclose(optical_occupation(p), n_min, rtol=1e-12)
    s = steady_state_occupations(p)
    np.testing.assert_allclose(s.n_a, (gopt * n_min + ka * nb) / (gopt + ka), rtol=1e-12)
    np.testing.assert_allclose(s.n_b, 7.0, rtol=1e-12)
    assert int(s.status) == STATUS_OK


def test_master_equation_convention_vs_qutip():
    """'master_equation' effective bath of A = exact steady state of eq. 3's cavity + A
    (RWA beam splitter, D_x = 2xρx† − ...) in the weak-coupling limit g ≪ γ (QuTiP)."""
    g, gam, ka, nba, delta = 0.02, 1.0, 2e-3, 1.0, 1.0
    p = CoolingParams(0.0, 0.0, g, gamma=gam, delta=delta, omega=1.0, kappa_a=ka,
                      kappa_b=1e-3, nbar_a=nba, nbar_b=0.0, convention="master_equation")
    n_a = float(steady_state_occupations(p).n_a)
    N, Nc = 14, 3
    a = qutip.tensor(qutip.destroy(N), qutip.qeye(Nc))
    c = qutip.tensor(qutip.qeye(N), qutip.destroy(Nc))
    H = 1.0 * a.dag() * a + delta * c.dag() * c + g * (a.dag() * c + a * c.dag())
    cops = [np.sqrt(2 * ka * (1 + nba)) * a, np.sqrt(2 * ka * nba) * a.dag(), np.sqrt(2 * gam) * c]
    rho = qutip.steadystate(H, cops)
    exact = qutip.expect(a.dag() * a, rho)
    # bare-bath result would be n̄ = 1: the cavity must cool to ~ κ_a n̄/(κ_a + g²/γ) ≈ 0.83
    np.testing.assert_allclose(n_a, exact, rtol=2e-3)
    assert n_a < 0.9


def _rhs_numpy(y, p):
    """Eq. 13 as printed, written out independently in NumPy (paper convention)."""
    g1, g2, g, gam, d, w = (float(getattr(p, k)) for k in ("g1", "g2", "g", "gamma", "delta",
                                                            "omega"))
    am = g**2 * gam / ((d - w) ** 2 + gam**2 / 4)
    ap = g**2 * gam / ((d + w) ** 2 + gam**2 / 4)
    ka = float(p.kappa_a) + am - ap
    nba = (float(p.kappa_a) * float(p.nbar_a) + (am - ap) * ap / (am - ap)) / ka
    s = ka + float(p.kappa_b)
    na, nb = y
    fl = 2 * (g1 + g2) ** 2 / s * (1 + na) * nb - 2 * (g1 - g2) ** 2 / s * na * (1 + nb)
    return [fl + ka * (nba - na), -fl + float(p.kappa_b) * (float(p.nbar_b) - nb)]


def test_closed_form_matches_root_finding():
    """Eqs. 14-15/C1-C2 (physical root) = Newton on eq. 13, for both Fig. 2 panels and K_g
    from 1⁺ (transfer rates ~1e10 × bath rates) to 30; the result zeroes eq. 13."""
    kgs = jnp.array([1.001, 1.05, 1.5, 3.0, 30.0] * 2)
    gs = jnp.array([0.05] * 5 + [0.01] * 5)
    s = jax.jit(jax.vmap(lambda k, g: steady_state_occupations(fig2(k, g))))(kgs, gs)
    r = jax.jit(jax.vmap(lambda k, g: steady_state_occupations_root(fig2(k, g))))(kgs, gs)
    np.testing.assert_allclose([r.n_a, r.n_b], [s.n_a, s.n_b], rtol=1e-10)
    for k, g, na, nb in zip(kgs, gs, s.n_a, s.n_b):
        p = fig2(float(k), float(g))
        res = _rhs_numpy([float(na), float(nb)], p)
        np.testing.assert_allclose(res, 0, atol=1e-11 * float(transfer_rates(p)[0]))


def test_evolution_vs_scipy_and_steady_state():
    """diffrax (Kvaerno5) vs scipy Radau on an independent NumPy eq. 13; long times reach
    the closed-form steady state."""
    p = fig2(1.3, 0.01)
    ts = np.array([0.0, 10.0, 100.0, 1000.0, 1e6])
    ys = evolve_occupations(p, jnp.array([0.0, 2.0]), jnp.asarray(ts))
    ref = solve_ivp(lambda t, y: _rhs_numpy(y, p), (0, ts[-2]), [0.0, 2.0], method="Radau",
                    t_eval=ts[:-1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ys[:-1], ref.y.T, rtol=1e-6, atol=1e-9)
    s = steady_state_occupations(p)
    np.testing.assert_allclose(ys[-1], [s.n_a, s.n_b], rtol=1e-6)


def test_other_root_is_unphysical_and_paper_coefficients():
    """Both roots of eq. 14 (numpy.roots on eq. 15 as printed); the rejected one gives n_a < 0
    through the exact sum rule of eq. 13, and eq. 15's printed coefficients are reproduced."""
    p = fig2(1.5, 0.01)
    A, B, C, D, E, F = (float(x) for x in quadratic_coefficients(p))
    ka, nba = (float(x) for x in effective_bath(p))
    g1, g2, kb, nbb = float(p.g1), float(p.g2), 1e-4, 20.0
    s = ka + kb
    np.testing.assert_allclose(A, 8 * g1 * g2 * kb / (ka * s), rtol=1e-12)
    np.testing.assert_allclose(
        B, -8 * g1 * g2 / s * (nba + kb / ka * nbb) - 2 * (g1 + g2) ** 2 / s
        - 2 * (g1 - g2) ** 2 / s * kb / ka - kb, rtol=1e-12)
    np.testing.assert_allclose(F, 2 * (g1 + g2) ** 2 / s * (ka / kb * nba + nbb) + ka * nba,
                               rtol=1e-12)
    roots = np.sort(np.roots([A, B, C]).real)
    na_of = lambda nb: nba + kb / ka * (nbb - nb)  # noqa: E731
    st = steady_state_occupations(p)
    np.testing.assert_allclose(st.n_b, roots[0], rtol=1e-10)
    assert na_of(roots[1]) < 0 < na_of(roots[0])
    # n_a quadratic C1: roots of opposite sign, the positive one is returned
    ra = np.roots([D, E, F]).real
    assert ra.min() < 0
    np.testing.assert_allclose(st.n_a, ra.max(), rtol=1e-10)


# slow: a paper reproduction (figure caption); the closed form it evaluates stays checked by
# default against Newton on eq. 13 (test_closed_form_matches_root_finding) and numpy.roots
# (test_other_root_is_unphysical_and_paper_coefficients)
@pytest.mark.slow
def test_fig2_statements():
    """Fig. 2 caption: n_A ≈ n_B as K_g → 1⁺; n_B falls with K_g; n_A(g=0.01) ~ 10× n_A(0.05)."""
    for g in (0.05, 0.01):
        s = steady_state_occupations(fig2(1.0001, g))
        np.testing.assert_allclose(s.n_a, s.n_b, rtol=2e-3)
    kgs = jnp.linspace(1.05, 10.0, 20)
    nb = jax.vmap(lambda k: steady_state_occupations(fig2(k, 0.05)).n_b)(kgs)
    assert np.all(np.diff(np.asarray(nb)) < 0)
    na05 = steady_state_occupations(fig2(5.0, 0.05)).n_a
    na01 = steady_state_occupations(fig2(5.0, 0.01)).n_a
    assert 10 < na01 / na05 < 30


def test_root_finding_gradient_equals_closed_form_gradient():
    """Implicit differentiation through the root finder (eq. 13) gives the closed form's
    gradient (the closed form's own jit/vmap/grad/float32 checks: registry entry
    `cooling_steady_state` in tests/test_transforms.py)."""
    x = jnp.array([1.7, 0.03])
    g_root = jax.jit(jax.grad(lambda x: steady_state_occupations_root(fig2(x[0], x[1])).n_b))(x)
    g_closed = jax.jit(jax.grad(lambda x: steady_state_occupations(fig2(x[0], x[1])).n_b))(x)
    assert np.all(np.isfinite(np.asarray(g_closed))) and np.all(np.asarray(g_closed) != 0)
    np.testing.assert_allclose(g_root, g_closed, rtol=1e-6)


# ~5 CPU-s of compiles; the closed form's transforms are checked by default by the registry
# entry `cooling_steady_state` (tests/test_transforms.py), the root finder's gradient above.
@pytest.mark.slow
def test_jit_vmap_grad():
    def nb_of(x):  # x = (K_g, g)
        return steady_state_occupations(fig2(x[0], x[1])).n_b

    def nb_root(x):
        return steady_state_occupations_root(fig2(x[0], x[1])).n_b

    x = jnp.array([1.7, 0.03])
    f = jax.jit(nb_of)
    np.testing.assert_allclose(f(x), nb_of(x), rtol=1e-12)
    check_jvp(f, x, eps=1e-6, rtol=1e-5, n_dirs=2)
    np.testing.assert_allclose(jax.jit(jax.grad(nb_root))(x), jax.grad(f)(x), rtol=1e-6)
    xs = jnp.array([[1.2, 0.05], [3.0, 0.01], [8.0, 0.02]])
    gv = jax.jit(jax.vmap(jax.grad(nb_of)))(xs)
    gf = jax.jit(jax.grad(nb_of))
    for xi, gi in zip(xs, gv):
        np.testing.assert_allclose(gi, gf(xi), rtol=1e-12)
    ja = jax.jacfwd(lambda x: jnp.stack(_pair_of(steady_state_occupations(fig2(x[0], x[1])))))(x)
    assert ja.shape == (2, 2) and np.all(np.isfinite(ja))


def test_float32_matches_float64():
    kg = np.float32(2.5)
    s32 = steady_state_occupations(CoolingParams.from_kg(
        kg, np.float32(0.1), np.float32(0.02), **{k: np.float32(v) for k, v in FIG2.items()}))
    s64 = steady_state_occupations(fig2(2.5, 0.02))
    assert s32.n_a.dtype == jnp.float32
    np.testing.assert_allclose([s32.n_a, s32.n_b], [s64.n_a, s64.n_b], rtol=2e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="kg"):
        fig2(1.0)
    with pytest.raises(ValueError, match="kg"):
        fig2(0.5)
    with pytest.raises(ValueError, match="kappa_b"):
        CoolingParams(0.2, 0.1, 0.05, kappa_b=0.0)
    with pytest.raises(ValueError, match="nbar_a"):
        CoolingParams(0.2, 0.1, 0.05, nbar_a=-1.0)
    with pytest.raises(ValueError, match="convention"):
        CoolingParams(0.2, 0.1, 0.05, convention="nope")
    # traced K_g ≤ 1 inside a sweep: a status, not a number; single point: an error
    st = jax.jit(jax.vmap(lambda k: steady_state_occupations(fig2(k), throw=False)))(
        jnp.array([0.9, 2.0]))
    assert list(np.asarray(st.status)) == [STATUS_INVALID_INPUT, STATUS_OK]
    assert np.isnan(st.n_b[0]) and np.isfinite(st.n_b[1])
    with pytest.raises(eqx.EquinoxRuntimeError, match="outside its valid range"):
        eqx.filter_jit(lambda k: steady_state_occupations(fig2(k)).n_b)(0.9)
    # blue detuning: cavity anti-damping beats κ_a → no steady state
    blue = CoolingParams(0.2, 0.1, 0.05, delta=-1.0, **{k: v for k, v in FIG2.items()
                                                         if k != "delta"})
    assert cavity_rates(blue)[0] < cavity_rates(blue)[1]
    assert int(steady_state_occupations(blue, throw=False).status) == STATUS_NO_COOLING
    assert int(steady_state_occupations_root(blue, throw=False).status) == STATUS_NO_COOLING
    with pytest.raises(eqx.EquinoxRuntimeError, match="Γ_opt"):
        optical_occupation(blue)


def test_sweep_matches_per_point_including_statuses():
    # chunked sweep (padding: 7 points, chunk 3) == per-point vmap, incl. bad statuses
    kg = jnp.array([0.9, 1.001, 1.5, 3.0, 10.0, 50.0, 2.0])
    g = jnp.array([0.05, 0.01, 0.05, 0.02, 0.1, 0.05, 0.03])
    delta = jnp.array([1.0, 1.0, 1.0, -1.0, 1.0, 1.0, 1.0])
    kw = {k: v for k, v in FIG2.items() if k != "delta"}
    # K_g ≤ 1 is only accepted traced (→ NaN g1 → STATUS_INVALID_INPUT)
    p = jax.jit(lambda kg: CoolingParams.from_kg(kg, 0.1, g, delta=delta, **kw))(kg)
    sw = jax.jit(lambda p: steady_state_sweep(p, chunk_size=3))(p)
    ref = jax.jit(jax.vmap(lambda k, gg, d: steady_state_occupations(
        CoolingParams.from_kg(k, 0.1, gg, delta=d, **kw), throw=False)))(kg, g, delta)
    np.testing.assert_array_equal(sw.status, ref.status)
    assert list(np.asarray(sw.status)[[0, 3]]) == [STATUS_INVALID_INPUT, STATUS_NO_COOLING]
    np.testing.assert_allclose(sw.n_a, ref.n_a, rtol=1e-13)
    np.testing.assert_allclose(sw.n_b, ref.n_b, rtol=1e-13)
    # 2-D grid keeps its shape
    grid = steady_state_sweep(fig2(jnp.linspace(1.5, 5, 4)[:, None], jnp.array([[0.01, 0.05]])))
    assert grid.n_b.shape == (4, 2) and np.all(np.asarray(grid.status) == STATUS_OK)


def test_linear_rate_occupations_limits_and_transforms():
    """g2 = 0: eq. 13 is linear and equals the derived second-order linear rate equations;
    K_g → ∞ (g_ab = 0): B keeps its bath occupation; jit/vmap/grad; float32 = float64."""
    from jaxbind.quantum.cooling import linear_rate_occupations

    kw = {**FIG2, "convention": "master_equation", "kappa_b": 1e-6}
    p = CoolingParams(3e-3, 0.0, 0.02, **{k: v for k, v in kw.items()})
    a, b = linear_rate_occupations(p), steady_state_occupations(p)
    np.testing.assert_allclose([a.n_a, a.n_b], [b.n_a, b.n_b], rtol=1e-12)
    assert float(a.n_b) < 0.5 * 20  # the coupling really cools B here
    q = CoolingParams(3e-3, 3e-3, 0.02, **kw)  # g_ab = g1 − g2 = 0
    np.testing.assert_allclose(linear_rate_occupations(q).n_b, 20.0, rtol=1e-12)

    def nb(x):
        return linear_rate_occupations(CoolingParams(x[0], x[1], 0.02, **kw)).n_b

    x = jnp.array([3e-3, 1e-3])
    check_jvp(jax.jit(nb), x, eps=1e-8, rtol=1e-5, n_dirs=2)
    xs = jnp.array([[3e-3, 1e-3], [2e-3, 5e-4]])
    gv = jax.jit(jax.vmap(jax.grad(nb)))(xs)
    np.testing.assert_allclose(gv[1], jax.jit(jax.grad(nb))(xs[1]), rtol=1e-12)
    x32 = np.asarray(x, np.float32)
    p32 = CoolingParams(x32[0], x32[1], np.float32(0.02),
                        **{k: (np.float32(v) if k != "convention" else v) for k, v in kw.items()})
    s32 = linear_rate_occupations(p32)
    assert s32.n_b.dtype == jnp.float32
    np.testing.assert_allclose(s32.n_b, nb(x), rtol=2e-5)
    # unstable linear dynamics (anti-damping beats κ) → status, NaN, and an error when thrown
    bad = CoolingParams(-0.05, 0.06, 0.02, **kw)
    st = linear_rate_occupations(bad, throw=False)
    assert int(st.status) != STATUS_OK and np.isnan(st.n_b)


def test_grid_matches_per_point():
    """steady_state_grid (parameters on the grid axes, separable parts on the axes) gives the
    per-point values and statuses, incl. bad points (K_g ≤ 1 traced, blue detuning) and a
    padded last block, under jit."""
    kw = {k: v for k, v in FIG2.items() if k != "delta"}
    kg = jnp.array([0.9, 1.001, 1.5, 3.0, 10.0, 50.0, 2.0])
    g = jnp.array([0.01, 0.05, 0.1])
    delta = jnp.array([1.0, -1.0, 1.0])  # blue detuning on the g axis → STATUS_NO_COOLING
    mk = lambda k, gg, d: CoolingParams.from_kg(k, 0.1, gg, delta=d, **kw)  # noqa: E731
    grid = jax.jit(lambda k: steady_state_grid(mk(k[:, None], g[None, :], delta[None, :]),
                                               chunk_size=6))(kg)  # 2 rows/block, 1 padded
    K, G, D = (x.ravel() for x in jnp.meshgrid(kg, g, indexing="ij") + [delta[None, :]
                                                                         + 0 * kg[:, None]])
    ref = jax.jit(jax.vmap(lambda k, gg, d: steady_state_occupations(mk(k, gg, d), throw=False)))(
        K, G, D)
    assert grid.n_a.shape == (7, 3) and grid.status.dtype == jnp.int32
    np.testing.assert_array_equal(grid.status.ravel(), ref.status)
    assert grid.status[0, 0] == STATUS_INVALID_INPUT and grid.status[3, 1] == STATUS_NO_COOLING
    assert np.sum(np.asarray(grid.status) == STATUS_OK) == 12
    np.testing.assert_allclose(grid.n_a.ravel(), ref.n_a, rtol=1e-14)  # NaNs at the same places
    np.testing.assert_allclose(grid.n_b.ravel(), ref.n_b, rtol=1e-14)
    # flat sweep of the same points agrees too (both share the elementwise closed form)
    sw = jax.jit(lambda k: steady_state_sweep(mk(k, G, D), chunk_size=4))(K)
    np.testing.assert_array_equal(sw.status, ref.status)
    with pytest.raises(ValueError, match="no points"):
        steady_state_grid(fig2(jnp.zeros((0, 1)) + 2.0))


# slow: four more grid programs (~3 CPU-s); the grid's per-point agreement stays checked by
# default in test_grid_matches_per_point, the closed form's transforms by the registry entry
# `cooling_steady_state` (tests/test_transforms.py)
@pytest.mark.slow
def test_grid_vmap_grad_float32():
    """steady_state_grid works under vmap, grad and in float32."""
    kg = jnp.array([0.9, 1.001, 1.5, 3.0, 10.0, 50.0, 2.0])
    g = jnp.array([0.01, 0.05, 0.1])

    # vmap over g2 (a batch of grids) and grad of a grid functional w.r.t. g2
    def total_nb(g2):
        s = steady_state_grid(CoolingParams.from_kg(kg[2:, None], g2, g[None, :], **FIG2))
        return jnp.sum(s.n_b)
    g2s = jnp.array([0.08, 0.1])
    vm = jax.vmap(total_nb)(g2s)
    np.testing.assert_allclose(vm, [total_nb(x) for x in g2s], rtol=1e-14)
    def total_nb_points(g2):
        k, gg = (x.ravel() for x in jnp.meshgrid(kg[2:], g, indexing="ij"))
        return jnp.sum(jax.vmap(lambda a, b: steady_state_occupations(
            CoolingParams.from_kg(a, g2, b, **FIG2)).n_b)(k, gg))
    np.testing.assert_allclose(jax.jit(jax.grad(total_nb))(0.1), jax.jit(jax.grad(total_nb_points))(0.1),
                               rtol=1e-12)
    # float32 inputs: float32 outputs, ~1e-5 relative to float64
    f32 = {k: np.float32(v) for k, v in FIG2.items()}
    s32 = steady_state_grid(CoolingParams.from_kg(np.asarray(kg[2:, None], np.float32),
                                                  np.float32(0.1),
                                                  np.asarray(g[None, :], np.float32), **f32))
    s64 = steady_state_grid(CoolingParams.from_kg(kg[2:, None], 0.1, g[None, :], **FIG2))
    assert s32.n_b.dtype == jnp.float32
    np.testing.assert_array_equal(s32.status, s64.status)
    np.testing.assert_allclose(s32.n_a, s64.n_a, rtol=2e-5)
    np.testing.assert_allclose(s32.n_b, s64.n_b, rtol=2e-5)


# slow: five more grid/sweep programs; the grid and the sweep stay checked by default against
# the per-point closed form, bad statuses included (test_grid_matches_per_point,
# test_sweep_matches_per_point_including_statuses)
@pytest.mark.slow
def test_grid_compiled_path_bitwise_equal_to_traced():
    """Concrete input runs the cached executable compiled with GRID_COMPILER_OPTIONS (512-bit
    vectors); it gives bitwise the same values and statuses as the default compilation of the
    same program (no fast-math), for the grid and the flat sweep, and the options work in a
    user's jit.  (Parameters passed as arguments vs closed over as constants may differ in
    the last bit: XLA folds the constant parts differently.)"""
    kg = jnp.array([0.9, 1.001, 1.5, 3.0, 10.0, 50.0, 2.0])
    g = jnp.array([0.01, 0.05, 0.1, 0.003, 0.2])
    q = fig2(kg[2:, None], g[None, :])
    eager = steady_state_grid(q)  # concrete p → compiled-options path
    traced = jax.jit(steady_state_grid)(q)
    mk = lambda k, gg: steady_state_grid(fig2(k[:, None], gg[None, :]))  # noqa: E731
    closed = jax.jit(mk)(kg[2:], g)
    opts = jax.jit(mk, compiler_options=GRID_COMPILER_OPTIONS)(kg[2:], g)
    for a, b in ((eager, traced), (opts, closed)):
        for x, y in ((getattr(a, f), getattr(b, f)) for f in FIELDS):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))  # NaN == NaN here
    np.testing.assert_allclose(eager.n_b, closed.n_b, rtol=1e-14)
    assert np.sum(np.asarray(eager.status) == STATUS_OK) > 10
    # flat sweep: traced (K_g ≤ 1 → status) vs the eager path on the valid K_g
    K, G = (x.ravel() for x in jnp.meshgrid(kg, g, indexing="ij"))
    sw_traced = jax.jit(lambda k, gg: steady_state_sweep(fig2(k, gg)))(K, G)
    assert np.all(np.asarray(sw_traced.status)[np.asarray(K <= 1)] == STATUS_INVALID_INPUT)
    ok = np.asarray(K > 1)
    sw_eager = steady_state_sweep(fig2(K[ok], G[ok]))  # concrete: compiled-options path
    sw_ref = jax.jit(steady_state_sweep)(fig2(K[ok], G[ok]))
    for x, y, z in ((getattr(s, f) for s in (sw_eager, sw_ref, sw_traced)) for f in FIELDS):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
        np.testing.assert_allclose(np.asarray(x), np.asarray(z)[ok], rtol=1e-14)


def test_results_are_promoted_and_old_names_warn():
    """A root finder stopped by max_steps carries optimistix's promoted result (not a
    collapsed boolean), NaN occupations, and raises its message with throw=True; the old
    STATUS_* names and the moved grid functions still resolve for one release, with a warning."""
    p = fig2(3.0)
    s = steady_state_occupations_root(p, throw=False, max_steps=1)
    assert s.result == RESULTS.nonlinear_max_steps_reached and np.isnan(s.n_b)
    with pytest.raises(eqx.EquinoxRuntimeError, match="maximum number of steps"):
        steady_state_occupations_root(p, max_steps=1).n_b.block_until_ready()
    good = steady_state_occupations_root(p)
    assert good.result == RESULTS.successful
    np.testing.assert_allclose(good.n_b, steady_state_occupations(p).n_b, rtol=1e-8)
    import jaxbind.quantum.cooling as cooling

    with pytest.warns(DeprecationWarning, match="RESULTS.no_cooling"):
        assert cooling.STATUS_NO_COOLING == STATUS_NO_COOLING
    with pytest.warns(DeprecationWarning, match="moved to jaxbind.quantum.cooling_grid"):
        assert cooling.steady_state_grid is steady_state_grid
