"""LinearSystem.from_linearized: the optics → mechanics → quantum hand-over (paper 001 eqs. 74–81)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind import constants as Cst
from jaxbind.mechanics.array import TweezerArray, linearize
from jaxbind.quantum.gaussian import LinearSystem, physicality, steady_state
from jaxbind.results import RESULTS, code

STATUS_OK = int(code(RESULTS.successful))
from jaxbind.quantum.observables import occupations

LAM = 1550e-9
K = 2 * np.pi / LAM


def pair(kd, phi=0.0, dtype=jnp.float64, gamma=0.0, temperature=0.0):
    pos = jnp.array([[0.0, 0.0], [0.0, kd / K]], dtype)
    return TweezerArray(pos, powers=jnp.asarray([0.3, 0.25], dtype), wavelength=jnp.asarray(LAM, dtype),
                        NA=jnp.asarray(0.6, dtype), phases=jnp.stack([jnp.asarray(phi, dtype), jnp.zeros((), dtype)]),
                        polarization_angles=jnp.asarray([0.0, 0.0], dtype), radius=jnp.asarray(100e-9, dtype),
                        index=1.45, density=jnp.asarray(2200.0, dtype), gamma=jnp.asarray(gamma, dtype),
                        temperature=jnp.asarray(temperature, dtype))


lin_ff = eqx.filter_jit(linearize)


def test_drift_is_the_classical_langevin_matrix_in_scaled_units():
    """A, D, b transformed back to SI are the equations in the LinearizedArray docstring."""
    lin = lin_ff(pair(2 * np.pi * 3 + 0.7, phi=0.4))
    s = LinearSystem.from_linearized(lin, gas_damping=False)
    w = float(np.mean(lin.omega))
    m = np.asarray(lin.mass)
    # x = S x̃ with z = z̃ √(ħ/(m w)), p = p̃ √(ħ m w); t = τ/w
    S = np.diag(np.ravel(np.column_stack([np.sqrt(Cst.hbar / (m * w)), np.sqrt(Cst.hbar * m * w)])))
    A_si = w * S @ np.asarray(s.A) @ np.linalg.inv(S)
    Mi = np.asarray(lin.stiffness)
    ref = np.zeros((4, 4))
    ref[0::2, 1::2] = np.diag(1 / m)
    ref[1::2, 0::2] = -Mi
    np.testing.assert_allclose(A_si, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
    # noise on the momenta: ⟨ξξ⟩ = 2ħ Re D  ⇒  D_si = 2ħ Re D (momentum block)
    D_si = w * S @ np.asarray(s.D) @ S.T
    np.testing.assert_allclose(D_si[1::2, 1::2], 2 * Cst.hbar * np.real(np.asarray(lin.D)), rtol=1e-10)
    np.testing.assert_allclose(D_si[0::2, :], 0.0, atol=1e-60)
    F_si = w * S @ np.asarray(s.b)
    np.testing.assert_allclose(F_si[1::2], np.asarray(lin.F), rtol=1e-10)


def test_nonreciprocal_drift_is_physical_and_matches_identity():
    """C_jj' − C_j'j = 4 Im D_jj'/ħ (paper 001 eq. 81) makes the system physical; dropping
    the imaginary part of D (the correlated noise) makes it unphysical."""
    lin = lin_ff(pair(2 * np.pi * 3 + np.pi / 4, phi=np.pi / 4))
    C, D = np.asarray(lin.C), np.asarray(lin.D)
    assert abs(C[0, 1] - C[1, 0]) > 0.3 * abs(C[0, 1])  # strongly non-reciprocal here
    np.testing.assert_allclose(C[0, 1] - C[1, 0], 4 * D[0, 1].imag, rtol=1e-9)
    ph = physicality(LinearSystem.from_linearized(lin))
    assert bool(ph.is_physical)
    # the same non-reciprocal drift without the recoil noise that comes with it is not
    bad = eqx.tree_at(lambda l: l.D, lin, jnp.zeros_like(lin.D))
    rep = physicality(LinearSystem.from_linearized(bad, gas_damping=False))
    assert not bool(rep.is_physical) and float(rep.min_eigenvalue) < 0


def test_single_particle_recoil_and_gas_closed_form():
    """One particle: n = n̄ + γ_rec/γ (recoil heating against Lindblad gas damping)."""
    arr = TweezerArray(jnp.zeros((1, 2)), powers=0.3, wavelength=LAM, NA=0.6, radius=100e-9, index=1.45,
                       density=2200.0, gamma=2 * np.pi * 50.0, temperature=1e-3)
    lin = lin_ff(arr)
    ss = steady_state(LinearSystem.from_linearized(lin))
    assert int(ss.status) == STATUS_OK
    nbar = Cst.k_B * 1e-3 / (Cst.hbar * float(lin.omega[0]))
    expect = nbar + float(lin.recoil_rates[0]) / (2 * np.pi * 50.0)
    np.testing.assert_allclose(occupations(ss.cov)[0], expect, rtol=1e-9)


@pytest.mark.parametrize("phi", [0.3, np.pi / 4])
def test_float32_agrees_with_float64(phi):
    def occ(dtype):
        lin = lin_ff(pair(2 * np.pi * 3 + np.pi / 4, phi=phi, dtype=dtype, gamma=2 * np.pi * 100.0,
                          temperature=1e-3))
        s = LinearSystem.from_linearized(lin)
        assert s.A.dtype == dtype and s.D.dtype == dtype
        ss = eqx.filter_jit(steady_state)(s)  # one compile per dtype (eager: op by op)
        return np.asarray(occupations(ss.cov)), int(ss.status)

    o64, st64 = occ(jnp.float64)
    o32, st32 = occ(jnp.float32)
    assert st64 == st32 == STATUS_OK
    assert np.all(np.isfinite(o32))
    np.testing.assert_allclose(o32, o64, rtol=2e-3)


def test_jit_vmap_grad_through_optics_mechanics_quantum():
    def n_first(phi):
        lin = linearize(pair(2 * np.pi * 3 + np.pi / 4, phi=phi, gamma=2 * np.pi * 100.0, temperature=1e-3))
        return occupations(steady_state(LinearSystem.from_linearized(lin)).cov)[0]

    phis = jnp.linspace(0.1, 1.2, 5)
    vals = jax.jit(jax.vmap(n_first))(phis)
    assert np.all(np.isfinite(np.asarray(vals)))
    np.testing.assert_allclose(vals[2], n_first(phis[2]), rtol=1e-10)
    g = jax.jit(jax.grad(n_first))(0.5)
    h = 1e-5
    fd = (n_first(0.5 + h) - n_first(0.5 - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="lin must be a LinearizedArray"):
        LinearSystem.from_linearized(pair(20.0))
