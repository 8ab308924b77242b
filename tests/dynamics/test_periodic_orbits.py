"""Periodic orbits by shooting (jaxbind.dynamics.limit_cycles): closed forms of the
Stuart–Landau (Hopf normal form) and van der Pol oscillators, Floquet multipliers, implicit
gradients, result codes. The full-force tweezer-pair cycle is a slow test below."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.dynamics.limit_cycles import shoot_periodic_orbit
from jaxbind.results import RESULTS


def stuart_landau(t, y, a):
    """ż = (μ + iω) z − (1 + ib)|z|² z: the Hopf normal form (Guckenheimer & Holmes §3.4);
    cycle |z| = √μ, frequency ω − bμ, non-trivial Floquet multiplier e^{−2μT}."""
    mu, w, b = a
    r2 = y[0] ** 2 + y[1] ** 2
    gr, gi = mu - r2, w - b * r2
    return jnp.stack([gr * y[0] - gi * y[1], gi * y[0] + gr * y[1]])


def van_der_pol(t, y, mu):
    return jnp.stack([y[1], mu * (1.0 - y[0] ** 2) * y[1] - y[0]])


Y0 = jnp.array([0.4, 0.1])


def sl_orbit(mu, steps=48):
    return shoot_periodic_orbit(stuart_landau, Y0, 2 * np.pi / 1.9, (mu, 2.0, 0.5), steps=steps,
                                throw=False)


def sl_radius(mu):
    o = sl_orbit(mu)
    return jnp.linalg.norm(o.y0), o


# The module's one compiled program (jit ∘ vmap ∘ value_and_grad): every default test below
# reads its orbits, radii and implicit gradients d|y0|/dμ from this batch of μ.
MUS = (0.05, 0.3, 0.1, 0.2, -0.2)


@pytest.fixture(scope="module")
def batch():
    (r, o), g = jax.jit(jax.vmap(jax.value_and_grad(sl_radius, has_aux=True)))(jnp.asarray(MUS))
    return {mu: (jax.tree_util.tree_map(lambda x: x[i], o), float(r[i]), float(g[i]))
            for i, mu in enumerate(MUS)}


def test_hopf_normal_form_closed_form(batch):
    for mu in (0.05, 0.3):  # amplitude ∝ √μ, frequency → ω − bμ
        o = batch[mu][0]
        assert o.result == RESULTS.successful
        omega = 2.0 - 0.5 * mu
        np.testing.assert_allclose(float(o.period), 2 * np.pi / omega, rtol=1e-7)
        np.testing.assert_allclose(np.linalg.norm(o.samples, axis=1), np.sqrt(mu), rtol=1e-6)
        mult = np.asarray(o.multipliers)
        np.testing.assert_allclose(mult[0], 1.0, atol=1e-7)  # trivial one, along the orbit
        np.testing.assert_allclose(mult[1], np.exp(-2 * mu * 2 * np.pi / omega), rtol=1e-5)
        assert float(o.max_multiplier) < 1.0
        # the orbit returns to itself: the last sample is the state on the section
        np.testing.assert_allclose(o.samples[-1], o.y0, atol=1e-9)


# slow: a second closed-form system (one more shooting compile); the shooting solve stays covered
# by default against the Hopf normal form's closed form in test_hopf_normal_form_closed_form
@pytest.mark.slow
def test_van_der_pol_period_expansion():
    """van der Pol: T = 2π(1 + μ²/16 − 5μ⁴/3072 + O(μ⁶)), amplitude 2 + O(μ²)
    (Andersen & Geer, SIAM J. Appl. Math. 42, 678 (1982))."""
    mu = 0.2
    o = shoot_periodic_orbit(van_der_pol, jnp.array([2.0, 0.0]), 2 * np.pi, mu, steps=64)
    T = 2 * np.pi * (1 + mu**2 / 16 - 5 * mu**4 / 3072)
    np.testing.assert_allclose(float(o.period), T, rtol=2e-6)
    amp = float(jnp.max(o.samples[:, 0]))
    assert abs(amp - 2.0) < 2e-3


def test_gradient_through_orbit_is_implicit_and_exact(batch):
    """jax.grad through the shooting solve (implicit function theorem) = d√μ/dμ, under vmap."""
    for mu in (0.05, 0.3, 0.1, 0.2):
        np.testing.assert_allclose(batch[mu][2], 0.5 / np.sqrt(mu), rtol=1e-6)


# slow: the central-difference cross-check of the implicit gradient (two more compiles); the
# closed form d√μ/dμ keeps it covered by default in test_gradient_through_orbit_is_implicit_and_exact
@pytest.mark.slow
def test_gradient_through_orbit_vs_central_differences():
    def radius(mu):
        return sl_radius(mu)[0]

    g = jax.jit(jax.grad(radius))(0.3)
    np.testing.assert_allclose(float(g), 0.5 / np.sqrt(0.3), rtol=1e-6)  # d√μ/dμ
    h = 1e-5
    r = jax.jit(radius)
    fd = (r(0.3 + h) - r(0.3 - h)) / (2 * h)
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-5)


def test_vmap_over_parameters(batch):
    for mu in (0.1, 0.2):
        np.testing.assert_allclose(batch[mu][1], np.sqrt(mu), rtol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(batch[mu][0].y0), np.sqrt(mu), rtol=1e-6)


def test_equilibrium_is_not_a_cycle(batch):
    """Below the Hopf threshold (μ < 0) the only invariant set is the equilibrium: a code,
    NaN outputs, never a collapsed 'orbit' (also as one point of a vmapped batch)."""
    o = batch[-0.2][0]
    assert o.result == RESULTS.no_limit_cycle
    assert bool(jnp.all(jnp.isnan(o.y0))) and bool(jnp.isnan(o.period))
    with pytest.raises(ValueError, match="steps"):  # eager, before any compile
        shoot_periodic_orbit(stuart_landau, Y0, 3.0, (0.2, 2.0, 0.5), steps=2)
    with pytest.raises(Exception, match="no limit cycle"):
        shoot_periodic_orbit(stuart_landau, Y0, 3.0, (-0.2, 2.0, 0.5), steps=16)
