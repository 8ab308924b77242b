"""Tests for jaxbind.optics.particles and jaxbind.optics.dipoles (coupled-dipole solves)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind import constants as C
from jaxbind.optics.beams import CoherentBeams, PlaneWave
from jaxbind.optics.dipoles import solve_dipoles
from jaxbind.results import RESULTS, code
from jaxbind.optics.scatterers import ClausiusMossotti
from jaxbind.solvers import GMRES, Born, Direct

SUCCESS, OVERLAP, NOT_CONVERGED, SINGULAR = (
    int(code(r)) for r in (RESULTS.successful, RESULTS.overlap, RESULTS.max_steps_reached,
                           RESULTS.singular))
from jaxbind.optics.green import cross_green_tensor, green_tensor
from jaxbind.optics.particles import Particle, Particles

LAM = 1064e-9
K = 2 * np.pi / LAM
I0 = 1e9  # W/m²


def _beam(**kw):
    kw.setdefault("direction", (0.0, 0.0, 1.0))
    kw.setdefault("polarization", (1.0, 0.0, 0.0))
    return PlaneWave(LAM, I0, **kw)


OBLIQUE = dict(direction=(0.3, 0.2, 1.0), polarization=(1.0, 0.0, -0.3))


def _random_particles(rng, n, magnetic=False, tensor=False):
    # positions on a jittered grid, well separated (> 0.2 λ)
    grid = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n]
    pos = (grid * 0.45 + 0.05 * rng.standard_normal((n, 3))) * LAM
    at = 0.3 + 0.4 * rng.random(n) + 0.1j * rng.random(n)
    if tensor:
        q = rng.standard_normal((n, 3, 3)) * 0.1
        at = at[:, None, None] * np.eye(3) + (q + np.transpose(q, (0, 2, 1))) * (1 + 0.2j)
    ae = C.unscale_polarizability(at, K)
    am = None
    if magnetic:
        amt = -0.2 + 0.3 * rng.random(n) + 0.05j
        am = C.unscale_magnetic_polarizability(amt, K)
    return Particles(pos, 20e-9, alpha_e=ae, alpha_m=am)


def _numpy_dense_solution(ps, beam):
    """Coupled dipoles in SI with numpy, from the SI Green tensors (independent assembly)."""
    pos = np.asarray(ps.positions)
    n = len(pos)
    k = float(beam.k)
    eye = np.eye(3)
    ae = np.asarray(ps.alpha_e)
    ae = ae[:, None, None] * eye if ae.ndim == 1 else ae
    mag = ps.alpha_m is not None
    E = np.stack([np.asarray(beam.fields(r)[0]) for r in pos])
    H = np.stack([np.asarray(beam.fields(r)[1]) for r in pos])
    size = 6 * n if mag else 3 * n
    A = np.eye(size, dtype=complex)
    rhs = np.zeros(size, dtype=complex)
    # unknowns: p (C·m) then m (A·m²); equations p_i = α_e,i E_loc, m_i = α_m,i H_loc
    for i in range(n):
        rhs[3 * i:3 * i + 3] = ae[i] @ E[i]
        for j in range(n):
            if i == j:
                continue
            G = np.asarray(green_tensor(pos[i] - pos[j], k))
            A[3 * i:3 * i + 3, 3 * j:3 * j + 3] -= ae[i] @ G / C.epsilon0
            if mag:
                Gc = np.asarray(cross_green_tensor(pos[i] - pos[j], k))
                A[3 * i:3 * i + 3, 3 * n + 3 * j:3 * n + 3 * j + 3] -= ae[i] @ (-C.Z0 * Gc)
    if mag:
        am = np.asarray(ps.alpha_m)
        am = am[:, None, None] * eye if am.ndim == 1 else am
        for i in range(n):
            r0 = 3 * n + 3 * i
            rhs[r0:r0 + 3] = am[i] @ H[i]
            for j in range(n):
                if i == j:
                    continue
                G = np.asarray(green_tensor(pos[i] - pos[j], k))
                Gc = np.asarray(cross_green_tensor(pos[i] - pos[j], k))
                A[r0:r0 + 3, 3 * j:3 * j + 3] -= am[i] @ Gc / (C.epsilon0 * C.Z0)
                A[r0:r0 + 3, 3 * n + 3 * j:3 * n + 3 * j + 3] -= am[i] @ G
    x = np.linalg.solve(A, rhs)
    return x[:3 * n].reshape(n, 3), (x[3 * n:].reshape(n, 3) if mag else None)


# slow: the electric-only scalar case; the default (True, True) case assembles the same electric
# blocks plus the magnetic ones, with tensor polarizabilities
@pytest.mark.parametrize("magnetic,tensor", [pytest.param(False, False, marks=pytest.mark.slow),
                                             (True, True)])
def test_direct_matches_numpy_si_assembly(rng, magnetic, tensor):
    ps = _random_particles(rng, 5, magnetic, tensor)
    beam = _beam(**OBLIQUE)
    sol = solve_dipoles(ps, beam, Direct())
    p_ref, m_ref = _numpy_dense_solution(ps, beam)
    assert int(sol.status) == SUCCESS
    assert float(sol.residual) < 1e-12
    np.testing.assert_allclose(sol.dipole_moments, p_ref, rtol=1e-9, atol=1e-12 * np.abs(p_ref).max())
    if magnetic:
        np.testing.assert_allclose(sol.magnetic_moments, m_ref, rtol=1e-9,
                                   atol=1e-12 * np.abs(m_ref).max())


# slow: a second reference for the same solve; the exact solve stays covered by default against an
# independent NumPy assembly (test_direct_matches_numpy_si_assembly) and, through the forces, against
# paper 003 eqs. 3–5 (tests/optics/test_forces.py::test_kerker_pair_matches_paper003_scalar_equations)
@pytest.mark.slow
def test_pair_matches_paper003_eq4():
    """Paper 003 eq. 4–5 (scalar, SI) for two Kerker particles on the x axis."""
    lam, L = 420e-9, 0.37 * 420e-9
    k = 2 * np.pi / lam
    ae = 4 * np.pi * C.epsilon0 * (45e-9) ** 3 * 0.9 * (1 + 0.05j)
    am = -ae / C.epsilon0
    beam = PlaneWave(lam, 1.3e9, direction=(1.0, 0.0, 0.0), polarization=(0.0, 1.0, 0.0))
    ps = Particles([[0.0, 0, 0], [L, 0, 0]], 45e-9, alpha_e=ae, alpha_m=am)
    sol = solve_dipoles(ps, beam)
    eps, mu = C.epsilon0, C.mu0
    phi = (-1 / L**3 + 1j * k / L**2 + k**2 / L) * np.exp(1j * k * L) / (4 * np.pi * eps)
    psi = (1j * k / L**2 + k**2 / L) * np.exp(1j * k * L) / (4 * np.pi * np.sqrt(mu * eps))
    E0 = float(beam.reference_amplitude)
    Eext = E0 * np.array([1.0, np.exp(1j * k * L)])
    Hext = Eext / C.Z0
    # unknowns (E_A, E_B, H_A, H_B) at the particles
    A = np.eye(4, dtype=complex)
    A[0, 1] -= ae * phi
    A[0, 3] -= -mu * am * psi
    A[1, 0] -= ae * phi
    A[1, 2] -= mu * am * psi
    A[2, 1] -= -ae * psi
    A[2, 3] -= eps * am * phi
    A[3, 0] -= ae * psi
    A[3, 2] -= eps * am * phi
    EA, EB, HA, HB = np.linalg.solve(A, np.concatenate([Eext, Hext]))
    p = np.asarray(sol.dipole_moments)
    m = np.asarray(sol.magnetic_moments)
    np.testing.assert_allclose(p[:, 1], ae * np.array([EA, EB]), rtol=1e-10)
    np.testing.assert_allclose(m[:, 2], am * np.array([HA, HB]), rtol=1e-10)
    np.testing.assert_allclose(p[:, [0, 2]], 0, atol=1e-12 * abs(p).max())


def test_gmres_matches_direct(rng):
    # 5 magnetic particles with tensor α (30 unknowns): the Direct solve is the program of
    # test_direct_matches_numpy_si_assembly (same shapes; one program per shape in this file)
    ps = _random_particles(rng, 5, magnetic=True, tensor=True)
    beam = _beam(**OBLIQUE)
    d = solve_dipoles(ps, beam, Direct())
    g = solve_dipoles(ps, beam, GMRES(rtol=1e-11, atol=1e-14))
    assert int(g.status) == SUCCESS
    np.testing.assert_allclose(g.p, d.p, rtol=1e-8, atol=1e-9 * np.abs(d.p).max())
    np.testing.assert_allclose(g.m, d.m, rtol=1e-8, atol=1e-9 * np.abs(d.m).max())


# slow: the solve's result codes stay covered by default in test_singular_system_is_a_status;
# GMRES in test_gmres_matches_direct
@pytest.mark.slow
def test_gmres_nonconvergence_is_a_status(rng):
    ps = _random_particles(rng, 8)
    sol = solve_dipoles(ps, _beam(), GMRES(max_steps=1, restart=2), throw=False)
    assert int(sol.status) == NOT_CONVERGED
    with pytest.raises(eqx.EquinoxRuntimeError, match="did not converge"):
        solve_dipoles(ps, _beam(), GMRES(max_steps=1, restart=2))


# slow: Born(1) stays covered by default in
# tests/optics/test_forces.py::test_born1_equals_paper000_eq1
@pytest.mark.slow
def test_born_series_converges_to_exact(rng):
    ps = _random_particles(rng, 6, magnetic=True)
    beam = _beam()
    exact = solve_dipoles(ps, beam).p
    errs = [float(jnp.max(jnp.abs(solve_dipoles(ps, beam, Born(order=n)).p - exact)))
            for n in (0, 1, 2, 4, 8)]
    assert all(b < a for a, b in zip(errs, errs[1:]))
    assert errs[-1] < 1e-3 * errs[0]
    # order 0: isolated particles, p̃ = α̃ Ẽ_inc
    b0 = solve_dipoles(ps, beam, Born(order=0))
    E = jax.vmap(beam.fields_scaled)(ps.positions * K)[0]
    at = ps.polarizabilities_scaled(K)[0]
    np.testing.assert_allclose(b0.p, at[:, None] * E, rtol=1e-12)
    np.testing.assert_allclose(b0.source_p, 0.0)


def test_singular_system_is_a_status():
    """Two dipoles with α̃ g_yy(ρ) = 1 make (1 − A M) exactly singular for y polarization."""
    rho = 2.0
    gyy = np.exp(1j * rho) * (1 / rho + 1j / rho**2 - 1 / rho**3)
    alpha = C.unscale_polarizability(1.0 / gyy, K)
    ps = Particles([[0.0, 0, 0], [rho / K, 0, 0]], 1e-9, alpha_e=alpha)
    beam = _beam(polarization=(0.0, 1.0, 0.0))
    sol = solve_dipoles(ps, beam, throw=False)
    assert int(sol.status) == SINGULAR
    with pytest.raises(eqx.EquinoxRuntimeError, match="singular"):
        solve_dipoles(ps, beam)


def test_overlap_error_names_pair_and_sweep_status():
    ae = C.unscale_polarizability(0.2, K)
    pos = np.array([[0.0, 0, 0], [1e-6, 0, 0], [1.05e-6, 0, 0]])
    ps = Particles(pos, 40e-9, alpha_e=ae)
    with pytest.raises(eqx.EquinoxRuntimeError, match="particles 1 and 2 overlap"):
        solve_dipoles(ps, _beam())
    # coincident particles in a sweep: a result code and NaN moments (never finite numbers
    # computed for a substituted configuration), no exception
    def run(x):
        q = ps.with_positions(jnp.asarray(pos).at[2, 0].set(x))
        s = solve_dipoles(q, _beam(), throw=False)
        return s.status, s.p

    # one program: the sweep and its gradients (which stay finite at the good points)
    sweep = jax.jit(lambda xs: (jax.vmap(run)(xs),
                                jax.vmap(jax.grad(lambda x: jnp.sum(jnp.abs(run(x)[1]) ** 2)))(xs)))
    (status, p), g = sweep(jnp.array([1.0e-6, 1.05e-6, 2e-6]))
    np.testing.assert_array_equal(status, [OVERLAP, OVERLAP, SUCCESS])
    p = np.asarray(p)
    assert np.all(np.isnan(p[:2])) and np.all(np.isfinite(p[2]))
    assert np.isfinite(np.asarray(g)[2])


@pytest.mark.unchecked  # wrong types and shapes on purpose: the library's own messages
def test_bad_input_errors():
    with pytest.raises(ValueError, match="alpha_e"):
        Particles(np.zeros((2, 3)), 1e-8, alpha_e=np.ones(3))
    with pytest.raises(ValueError, match="positions"):
        Particles(np.zeros((2, 2)), 1e-8, alpha_e=np.ones(2))
    with pytest.raises(ValueError, match="radii"):
        Particles(np.zeros((2, 3)), np.ones(3) * 1e-8, alpha_e=np.ones(2))
    with pytest.raises(ValueError, match="radius"):
        Particle(np.zeros(3), -1e-8, alpha_e=1.0)
    with pytest.raises(ValueError, match="exactly one of alpha_e and index"):
        Particle(np.zeros(3), 1e-8)
    one = Particles(np.zeros((1, 3)), 1e-8, alpha_e=[1e-32])
    with pytest.raises(ValueError, match="solver"):
        solve_dipoles(one, _beam(), "lu")
    with pytest.raises(ValueError, match="order"):
        solve_dipoles(one, _beam(), Born(order=-1))
    with pytest.raises(TypeError, match="solver"):
        solve_dipoles(one, _beam(), 3)
    with pytest.raises(TypeError, match="settings of the solver object"):
        solve_dipoles(one, _beam(), GMRES(), rtol=1e-3)


# slow: the solver objects the strings resolve to are covered by default throughout this file
@pytest.mark.slow
def test_deprecated_string_solvers_warn_and_match_objects():
    """Each deprecated string (with its old keyword settings) warns and resolves to the solver
    object it names (equal objects: the same compiled solve); one end-to-end solve shows that
    solve_dipoles routes the string through that resolution."""
    from jaxbind.optics.dipoles import resolve_solver

    for old, kw, new in (("direct", {}, Direct()), ("born", {"order": 2}, Born(order=2)),
                         ("gmres", {"rtol": 1e-12, "atol": 1e-14}, GMRES(rtol=1e-12, atol=1e-14))):
        with pytest.warns(DeprecationWarning, match="solver="):
            got = resolve_solver("solve_dipoles", old, **kw)
        assert got == new, (old, got, new)
    rng = np.random.default_rng(7)
    ps = _random_particles(rng, 3, magnetic=True)
    beam = _beam()
    with pytest.warns(DeprecationWarning, match="solver="):
        a = solve_dipoles(ps, beam, "born", order=2)
    b = solve_dipoles(ps, beam, Born(order=2))
    np.testing.assert_allclose(np.asarray(a.p), np.asarray(b.p), rtol=1e-12, atol=1e-14)


# slow: the solve paths stay covered by default in test_direct_matches_numpy_si_assembly and
# test_gmres_matches_direct
@pytest.mark.slow
def test_lineax_solvers_are_accepted():
    import lineax as lx

    rng = np.random.default_rng(8)
    ps = _random_particles(rng, 3, magnetic=True)
    ref = solve_dipoles(ps, _beam()).p
    for solver in (lx.LU(), lx.GMRES(rtol=1e-12, atol=1e-14, max_steps=200)):
        got = solve_dipoles(ps, _beam(), solver)
        assert int(got.status) == SUCCESS
        np.testing.assert_allclose(np.asarray(got.p), np.asarray(ref), rtol=1e-9, atol=1e-12)


# slow: Particles are built and solved by default throughout this file
# (test_direct_matches_numpy_si_assembly)
@pytest.mark.slow
def test_particle_stacking_and_mass():
    a = Particle([0.0, 0, 0], 50e-9, alpha_e=1e-32, density=2200.0)
    b = Particle([1e-6, 0, 0], 60e-9, alpha_e=np.diag([1e-32, 2e-32, 3e-32]), density=2200.0)
    ps = Particles.stack([a, b])
    assert ps.alpha_e.shape == (2, 3, 3)
    np.testing.assert_allclose(ps.alpha_e[0], 1e-32 * np.eye(3))
    np.testing.assert_allclose(ps.masses, 2200 * 4 / 3 * np.pi * np.array([50e-9, 60e-9]) ** 3)
    # a list of Particle is accepted directly and equals the stacked form
    s1 = solve_dipoles([a, b], _beam())
    s2 = solve_dipoles(ps, _beam())
    np.testing.assert_allclose(s1.p, s2.p)


# slow: ClausiusMossotti's α̃ stays covered by default against the same closed form in
# tests/optics/test_scatterers.py::test_clausius_mossotti_closed_form
@pytest.mark.slow
def test_clausius_mossotti_particles():
    eps = 2.1
    ps = Particles([[0.0, 0, 0]], 50e-9, index=np.sqrt(eps), model=ClausiusMossotti())
    ae, am = ps.polarizabilities_scaled(K)
    a0 = (K * 50e-9) ** 3 * (eps - 1) / (eps + 2)
    np.testing.assert_allclose(ae, [a0 / (1 - 2j / 3 * a0)], rtol=1e-12)
    assert am is None


# slow (~3 CPU-s: jvp and reverse-mode programs through the solve); gradients through the dipole
# solve (implicit differentiation) stay default in tests/optics/test_forces.py::test_vmap_grad_and_sweep_status
@pytest.mark.slow
def test_implicit_gradients_and_transforms(rng):
    """jit, vmap, jvp (d/dx of a position) and grad (d/dλ) through the LU solve, checked against
    central differences of the same program's values: one program (jit ∘ vmap of both)."""
    ps = _random_particles(rng, 3, magnetic=True)
    x0 = float(ps.positions[1, 0])

    def p_of(x):
        return solve_dipoles(ps.with_positions(ps.positions.at[1, 0].set(x)), _beam()).p

    def loss(lam):
        b = PlaneWave(lam, I0, direction=(0.0, 0.0, 1.0))
        return jnp.sum(jnp.abs(solve_dipoles(ps, b, Direct()).p) ** 2)

    @jax.jit
    def run(xs, lams):
        p, dp = jax.vmap(lambda x: jax.jvp(p_of, (x,), (jnp.ones_like(x),)))(xs)
        return p, dp, *jax.vmap(jax.value_and_grad(loss))(lams)

    hx, hl = 1e-11, 1e-6 * LAM
    xs = np.array([x0, x0 + hx, x0 - hx, x0 + 0.05 * LAM, x0 + 0.1 * LAM])
    p, dp, l, g = (np.asarray(a) for a in run(jnp.asarray(xs),
                                              jnp.array([LAM, LAM + hl, LAM - hl])))
    fd = (p[1] - p[2]) / (2 * hx)
    np.testing.assert_allclose(dp[0], fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())
    np.testing.assert_allclose(g[0], (l[1] - l[2]) / (2 * hl), rtol=1e-5)
    assert np.abs(p[4] - p[0]).max() > 1e-3 * np.abs(p[0]).max()  # the batch is not one point


def _check_wavelength_gradient(ps, method):
    def loss(lam):
        b = PlaneWave(lam, I0, direction=(0.0, 0.0, 1.0))
        return jnp.sum(jnp.abs(solve_dipoles(ps, b, method).p) ** 2)

    g = jax.jit(jax.grad(loss))(LAM)
    lf = jax.jit(loss)  # one program for both difference points (eager: op by op)
    fd = (lf(LAM * (1 + 1e-6)) - lf(LAM * (1 - 1e-6))) / (2e-6 * LAM)
    np.testing.assert_allclose(g, fd, rtol=1e-5)


@pytest.mark.slow
def test_gmres_implicit_gradient(rng):
    """Reverse mode through the matrix-free GMRES solve (lineax implicit differentiation)."""
    _check_wavelength_gradient(_random_particles(rng, 3, magnetic=True), GMRES(rtol=1e-12, atol=1e-14))


def test_float32_matches_float64(rng):
    # the float64 reference is the program of test_direct_matches_numpy_si_assembly (same shapes)
    ps = _random_particles(rng, 5, magnetic=True, tensor=True)
    ref = solve_dipoles(ps, _beam(**OBLIQUE), Direct()).p
    ps32 = Particles(ps.positions.astype(jnp.float32), ps.radii.astype(jnp.float32),
                     alpha_e=ps.alpha_e.astype(jnp.complex64),
                     alpha_m=ps.alpha_m.astype(jnp.complex64))
    beam32 = PlaneWave(jnp.float32(LAM), jnp.float32(I0), **OBLIQUE)
    out = solve_dipoles(ps32, beam32, Direct())
    assert out.p.dtype == jnp.complex64
    np.testing.assert_allclose(out.p, ref, rtol=2e-5, atol=2e-5 * np.abs(ref).max())


# slow: CoherentBeams tweezer arrays drive the solve by default in tests/mechanics/test_array.py
@pytest.mark.slow
def test_tweezer_array_field():
    """A CoherentBeams tweezer array drives the solve (the benchmark's configuration)."""
    foci = np.array([[0.0, 0, 0], [2e-6, 0, 0]])
    beam = CoherentBeams.from_tweezers([0.1, 0.1], LAM, foci, waist=1e-6, phases=[0.0, 0.0])
    ps = Particles(foci, 50e-9, alpha_e=C.unscale_polarizability(0.05, K))
    sol = solve_dipoles(ps, beam)
    # exchange symmetry of the configuration: equal dipoles
    np.testing.assert_allclose(sol.p[0], sol.p[1], rtol=1e-10)


def test_non_passive_index_is_an_error_naming_index():
    from jaxbind.mechanics.array import TweezerArray

    with pytest.raises(ValueError, match="index must have a positive real part"):
        Particles(np.zeros((1, 3)), 50e-9, index=-1.45)
    with pytest.raises(ValueError, match="index must have Im ≥ 0"):
        Particles(np.zeros((1, 3)), 50e-9, index=1.45 - 0.1j)
    with pytest.raises(ValueError, match="index must have a positive real part"):
        TweezerArray([[0.0, 0.0]], 0.1, 1064e-9, NA=0.6, radii=50e-9, index=-1.45, density=2200.0)
