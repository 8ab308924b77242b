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
# one program each (eager, from_linearized and the Gaussian kernels run op by op)
_system = eqx.filter_jit(LinearSystem.from_linearized)
_physical = eqx.filter_jit(lambda lin, gas: physicality(LinearSystem.from_linearized(
    lin, gas_damping=gas)))
KD_Q = 2 * np.pi * 3 + np.pi / 4  # kd of the float32 and transform checks


def _occupations(phi):
    """Occupations and status of the pair at kd = KD_Q, phase phi, in phi's precision:
    optics → mechanics → quantum in one function (gas damping at 100 Hz, 1 mK)."""
    dtype = phi.dtype
    lin = linearize(pair(KD_Q, phi=phi, dtype=dtype, gamma=2 * np.pi * 100.0, temperature=1e-3))
    s = LinearSystem.from_linearized(lin)
    assert s.A.dtype == dtype and s.D.dtype == dtype  # checked when traced
    ss = steady_state(s)
    return occupations(ss.cov), ss.status


_occ = jax.jit(_occupations)  # one program per dtype, shared by the tests below


def test_drift_is_the_classical_langevin_matrix_in_scaled_units():
    """A, D, b transformed back to SI are the equations in the LinearizedArray docstring."""
    lin = lin_ff(pair(2 * np.pi * 3 + 0.7, phi=0.4))
    s = _system(lin, gas_damping=False)
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
    ph = _physical(lin, True)
    assert bool(ph.is_physical)
    # the same non-reciprocal drift without the recoil noise that comes with it is not
    bad = eqx.tree_at(lambda l: l.D, lin, jnp.zeros_like(lin.D))
    rep = _physical(bad, False)
    assert not bool(rep.is_physical) and float(rep.min_eigenvalue) < 0


def test_single_particle_recoil_and_gas_closed_form():
    """One particle: n = n̄ + γ_rec/γ (recoil heating against Lindblad gas damping)."""
    arr = TweezerArray(jnp.zeros((1, 2)), powers=0.3, wavelength=LAM, NA=0.6, radius=100e-9, index=1.45,
                       density=2200.0, gamma=2 * np.pi * 50.0, temperature=1e-3)
    lin = lin_ff(arr)
    ss = eqx.filter_jit(lambda lin: steady_state(LinearSystem.from_linearized(lin)))(lin)
    assert int(ss.status) == STATUS_OK
    nbar = Cst.k_B * 1e-3 / (Cst.hbar * float(lin.omega[0]))
    expect = nbar + float(lin.recoil_rates[0]) / (2 * np.pi * 50.0)
    np.testing.assert_allclose(occupations(ss.cov)[0], expect, rtol=1e-9)


# slow (~3.5 CPU-s: the optics→quantum chain compiled in float32); float32 of each stage stays
# default (tests/optics/test_forces.py, tests/mechanics/test_exact.py, tests/quantum/test_gaussian.py)
@pytest.mark.slow
@pytest.mark.parametrize("phi", [0.3, np.pi / 4])
def test_float32_agrees_with_float64(phi):
    o64, st64 = _occ(np.float64(phi))
    o32, st32 = _occ(np.float32(phi))
    assert o32.dtype == np.float32
    assert int(st64) == int(st32) == STATUS_OK
    assert np.all(np.isfinite(o32))
    np.testing.assert_allclose(o32, o64, rtol=2e-3)


def test_jit_vmap_grad_through_optics_mechanics_quantum():
    def n_first(phi):
        return _occupations(phi)[0][0]

    # vmapped values and gradients in ONE program (the gradient at φ = 0.5, the last point);
    # per-point values and finite differences from the float64 program of _occ
    phis = np.append(np.linspace(0.1, 1.2, 5), 0.5)
    vals, grads = jax.jit(jax.vmap(jax.value_and_grad(n_first)))(phis)
    assert np.all(np.isfinite(np.asarray(vals))) and np.all(np.isfinite(np.asarray(grads)))
    np.testing.assert_allclose(vals[2], _occ(phis[2])[0][0], rtol=1e-10)
    g = grads[5]
    h = 1e-5
    fd = (_occ(np.float64(0.5 + h))[0][0] - _occ(np.float64(0.5 - h))[0][0]) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="lin must be a LinearizedArray"):
        LinearSystem.from_linearized(pair(20.0))
