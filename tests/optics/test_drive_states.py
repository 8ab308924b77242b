"""Tests for jaxbind.optics.drive_states: potentials of squeezed, cat and mixed drives (paper 002)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

from jaxbind import constants as C
from jaxbind.optics.drive_states import (
    CatState,
    CoherentMixture,
    CoherentState,
    SqueezedVacuum,
    photon_number_in_mode,
    potential_factor,
    squeezing_db,
    squeezing_for_intensity,
    squeezing_for_photon_number,
)

DIM = 60


def _n(psi_or_rho):
    return qutip.expect(qutip.num(DIM), psi_or_rho)


# slow: three more (β, θ) of the same identity; the default cases keep an even, an odd and a
# complex-β cat at a general phase
_SLOW = pytest.mark.slow
@pytest.mark.parametrize("beta,theta", [(0.3, 0.0), pytest.param(0.3, math.pi, marks=_SLOW),
                                        pytest.param(1.0, 0.0, marks=_SLOW), (1.0, math.pi),
                                        (1.2 + 0.5j, 0.7), pytest.param(2.0, math.pi / 2, marks=_SLOW)])
def test_cat_photon_number_against_qutip(beta, theta):
    psi = qutip.coherent(DIM, beta) + np.exp(1j * theta) * qutip.coherent(DIM, -beta)
    psi = psi.unit()
    cat = CatState(beta, theta)
    np.testing.assert_allclose(float(cat.photon_number()), _n(psi), rtol=1e-10)
    # the potential factor relative to |β⟩ lies between tanh|β|² and coth|β|²
    f = float(potential_factor(cat, abs(beta) ** 2))
    b2 = abs(beta) ** 2
    assert math.tanh(b2) - 1e-12 <= f <= 1 / math.tanh(b2) + 1e-12


def test_cat_paper_factor_differs():
    # paper 002 eqs. 33–34 print 2N²(1 − cos θ): 0 for every even cat and → 2 for odd cats
    # with large |β|; the exact factor tends to 1 (a macroscopic cat acts like |β⟩).
    for beta in (2.0, 3.0):
        even, odd = CatState(beta, 0.0), CatState(beta, math.pi)
        assert float(even.paper_factor()) == 0.0
        np.testing.assert_allclose(float(potential_factor(even, beta**2)), 1.0, atol=1e-3)
        np.testing.assert_allclose(float(potential_factor(odd, beta**2)), 1.0, atol=1e-3)
        np.testing.assert_allclose(float(odd.paper_factor()), 2.0, atol=1e-3)


def test_squeezed_vacuum_against_qutip():
    dim = 160  # the truncated squeeze operator needs a large Fock space
    for r in (0.2, 0.8, 1.3):
        psi = qutip.squeeze(dim, r * np.exp(0.4j)) * qutip.basis(dim, 0)
        n = qutip.expect(qutip.num(dim), psi)
        np.testing.assert_allclose(float(SqueezedVacuum(r, 0.4).photon_number()), n, rtol=1e-8)
    np.testing.assert_allclose(float(squeezing_for_photon_number(math.sinh(1.7) ** 2)), 1.7,
                               rtol=1e-12)


def test_coherent_and_mixtures_equal_coherent():
    beta = 1.3 - 0.4j
    assert float(potential_factor(CoherentState(beta), abs(beta) ** 2)) == pytest.approx(1.0)
    rho = 0.3 * qutip.ket2dm(qutip.coherent(DIM, beta)) + 0.7 * qutip.ket2dm(qutip.coherent(DIM, -beta))
    mix = CoherentMixture(jnp.array([beta, -beta]), jnp.array([0.3, 0.7]))
    np.testing.assert_allclose(float(mix.photon_number()), _n(rho), rtol=1e-10)
    np.testing.assert_allclose(float(potential_factor(mix, abs(beta) ** 2)), 1.0, rtol=1e-12)


def test_squeezing_for_paper_intensity():
    # ⟨n⟩ = I V/(ħωc); paper 002's sinh² r = (2π)⁴ I/(ħω0c) corresponds to V = (2π)⁴ m³.
    I, lam = 1e10, 1064e-9
    n = float(photon_number_in_mode(I, lam, 1.0))
    np.testing.assert_allclose(n, I * lam / (2 * math.pi * C.hbar * C.c**2), rtol=1e-12)
    r = float(squeezing_for_intensity(I, lam, (2 * math.pi) ** 4))
    np.testing.assert_allclose(r, math.asinh(math.sqrt((2 * math.pi) ** 4 * n)), rtol=1e-12)
    assert 27.0 < r < 28.0  # paper: r ≈ 27
    assert 239.0 < float(squeezing_db(r)) < 242.0  # paper: ≈ 240 dB
    # float32 gives the same squeezing (scaled evaluation)
    r32 = squeezing_for_intensity(jnp.float32(I), jnp.float32(lam), jnp.float32((2 * math.pi) ** 4))
    assert r32.dtype == jnp.float32
    np.testing.assert_allclose(float(r32), r, rtol=1e-6)


def test_transformations():
    # jit, vmap and grad of the factors
    f = jax.jit(jax.vmap(lambda b, t: CatState(b, t).photon_number()))
    out = f(jnp.array([0.5, 1.0, 2.0]), jnp.array([0.0, 1.0, math.pi]))
    assert out.shape == (3,)
    g = jax.jit(jax.vmap(jax.grad(lambda r: SqueezedVacuum(r).photon_number())))(jnp.array([0.1, 1.0]))
    np.testing.assert_allclose(np.asarray(g), np.sinh(2 * np.array([0.1, 1.0])), rtol=1e-12)
    dn = jax.jit(jax.grad(lambda t: CatState(0.8, t).photon_number()))(0.4)  # one program
    # d⟨n⟩/dθ of the exact expression, closed form
    b2, t = 0.64, 0.4
    e = math.exp(-2 * b2)
    ref = b2 * (e * math.sin(t) * (1 + e * math.cos(t)) + e * math.sin(t) * (1 - e * math.cos(t))) / (
        1 + e * math.cos(t)) ** 2
    np.testing.assert_allclose(float(dn), ref, rtol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="r must be non-negative"):
        SqueezedVacuum(-0.1)
    with pytest.raises(ValueError, match="out of range"):
        SqueezedVacuum(400.0)
    with pytest.raises(ValueError, match="out of range"):
        SqueezedVacuum(jnp.float32(50.0))
    with pytest.raises(ValueError, match="zero vector"):
        CatState(0.0, math.pi)
    with pytest.raises(ValueError, match="sum to 1"):
        CoherentMixture(jnp.array([1.0, -1.0]), jnp.array([0.3, 0.3]))
    with pytest.raises(ValueError, match="weights"):
        CoherentMixture(jnp.array([1.0, -1.0]), jnp.array([1.3, -0.3]))
    with pytest.raises(ValueError, match="intensity"):
        photon_number_in_mode(-1.0, 1064e-9, 1.0)
    with pytest.raises(ValueError, match="reference_photon_number"):
        potential_factor(CoherentState(1.0), 0.0)
