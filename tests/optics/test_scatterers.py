"""Scatterer models as Modules (optics/scatterers.py): formulas, the one default, deprecated
strings, and the hand-over of non-dipole models by the force entry points."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxbind as jb
from jaxbind.optics.particles import Particle, Particles
from jaxbind.optics.scatterers import (ClausiusMossotti, DipoleModel, MieDipole, ScattererModel,
                                       as_model)

M = np.array([1.45 + 0.0j, 3.6 + 0.02j])
KA = np.array([0.3, 0.45])


def _cm_numpy(m, x, radiative=True):
    eps = m * m
    a0 = x**3 * (eps - 1) / (eps + 2)
    return a0 / (1 - 2j / 3 * a0) if radiative else a0


def test_clausius_mossotti_closed_form():
    for rad in (True, False):
        ae, am = ClausiusMossotti(radiative=rad).polarizabilities_scaled(jnp.asarray(M), jnp.asarray(KA))
        assert am is None
        np.testing.assert_allclose(ae, _cm_numpy(M, KA, rad), rtol=1e-13)


def test_energy_conservation_of_lossless_dipoles():
    """A lossless scatterer extinguishes what it scatters: Im α̃ = (2/3)|α̃|² for the scaled
    polarizability (optical theorem), for both Mie dipoles and the radiation-corrected CM."""
    m = jnp.asarray([1.45 + 0j, 2.0 + 0j]); x = jnp.asarray([0.2, 0.7])
    ae, am = MieDipole().polarizabilities_scaled(m, x)
    for a in (ae, am):
        np.testing.assert_allclose(np.imag(a), (2 / 3) * np.abs(a) ** 2, rtol=1e-10)
    a_cm, _ = ClausiusMossotti().polarizabilities_scaled(m, x)
    np.testing.assert_allclose(np.imag(a_cm), (2 / 3) * np.abs(a_cm) ** 2, rtol=1e-10)
    a0, _ = ClausiusMossotti(radiative=False).polarizabilities_scaled(m, x)
    assert np.all(np.abs(np.imag(a0)) < 1e-15)  # without the correction it does not


def test_mie_dipole_tends_to_clausius_mossotti_as_ka_squared():
    """a₁ = CM·(1 + O((ka)²)): the relative difference drops 4× when ka halves."""
    m = jnp.asarray([1.45 + 0j]); errs = []
    for x in (0.02, 0.01, 0.005):
        mie, _ = MieDipole().polarizabilities_scaled(m, jnp.asarray([x]))
        cm, _ = ClausiusMossotti().polarizabilities_scaled(m, jnp.asarray([x]))
        errs.append(abs(mie[0] - cm[0]) / abs(cm[0]))
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    np.testing.assert_allclose(ratios, 4.0, rtol=0.02)


def test_one_default_everywhere():
    assert Particles([[0.0, 0, 0]], 1e-7, index=1.45).model == MieDipole()
    assert Particle([0.0, 0, 0], 1e-7, index=1.45).model == MieDipole()
    arr = jb.TweezerArray([[0.0, 0.0], [3e-6, 0.0]], 0.1, 1.064e-6, waists=1e-6, radii=1e-7,
                          index=1.45, density=2200.0)
    assert arr.model == MieDipole()
    # the same sphere gets the same physics by either entry point
    k = 2 * np.pi / 1.064e-6
    a1 = arr.particles().polarizabilities_scaled(k)
    a2 = Particles(arr.positions, 1e-7, index=1.45).polarizabilities_scaled(k)
    np.testing.assert_array_equal(a1[0], a2[0])
    np.testing.assert_array_equal(a1[1], a2[1])


def test_deprecated_strings_and_bad_models():
    with pytest.warns(DeprecationWarning, match="ClausiusMossotti"):
        p = Particles([[0.0, 0, 0]], 1e-7, index=1.45, model="clausius_mossotti")
    assert p.model == ClausiusMossotti()
    with pytest.warns(DeprecationWarning, match="MieDipole"):
        assert as_model("mie") == MieDipole()
    with pytest.raises(ValueError, match="model"):
        Particles([[0.0, 0, 0]], 1e-7, index=1.45, model="rayleigh")
    with pytest.raises(TypeError, match="model"):
        Particles([[0.0, 0, 0]], 1e-7, index=1.45, model=3)
    with pytest.raises(ValueError, match="same model"):
        Particles.stack([Particle([0.0, 0, 0], 1e-7, index=1.45),
                         Particle([1e-6, 0, 0], 1e-7, index=1.45, model=ClausiusMossotti())])


class _Wrapped(ScattererModel):
    """A non-dipole model (as a multipole engine would be) that computes with the CM dipole
    engine: lets the test check that every force entry point hands such particles over."""

    def optical_forces(self, particles, beam, solver=None, *, throw=True):
        ps = Particles(particles.positions, particles.radii, index=particles.index,
                       model=ClausiusMossotti())
        return jb.optical_forces(ps, beam, solver, throw=throw)

    def optical_torques(self, particles, beam, solver=None, *, throw=True):
        ps = Particles(particles.positions, particles.radii, index=particles.index,
                       model=ClausiusMossotti())
        return jb.optical_torques(ps, beam, solver, throw=throw)


# slow: every entry point with a wrapped model (~14 CPU-s: ten force programs); the hand-over to a
# non-dipole model stays covered by default through Multipole particles in jb.optical_forces
# (tests/optics/test_medium.py::test_two_spheres_in_water_equal_miepy) and jb.optical_torques
# (tests/optics/test_multipole_torques.py::test_single_sphere_circular_light_equals_mie_absorption)
@pytest.mark.slow
def test_non_dipole_models_are_handed_over():
    pos = jnp.array([[0.0, 0.0, 0.0], [0.9e-6, 0.2e-6, 0.1e-6]])
    beam = jb.PlaneWave(1.064e-6, 1e9, polarization=(1.0, 1j, 0.0))
    ref = Particles(pos, 1e-7, index=1.45 + 0.01j, model=ClausiusMossotti())
    new = Particles(pos, 1e-7, index=1.45 + 0.01j, model=_Wrapped())
    assert not new.dipolar and ref.dipolar
    for fn in (jb.optical_forces, jb.optical_torques, jb.interparticle_forces,
               jb.stiffness_matrix, jb.optics.isolated_forces):
        np.testing.assert_allclose(fn(new, beam), fn(ref, beam), rtol=1e-12, atol=1e-30)
    a, b = jb.nonreciprocity_factors(new, beam), jb.nonreciprocity_factors(ref, beam)
    np.testing.assert_allclose(a.zeroth, b.zeroth, rtol=1e-10)
    np.testing.assert_allclose(a.first, b.first, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.f, b.f, rtol=1e-12)
    with pytest.raises(TypeError, match="not a dipole model"):
        new.polarizabilities_scaled(1.0)
    with pytest.raises(TypeError, match="DipoleModel"):
        jb.TweezerArray([[0.0, 0.0]], 0.1, 1.064e-6, waists=1e-6, radii=1e-7, index=1.45,
                        density=2200.0, model=_Wrapped())


# slow: ClausiusMossotti (~3 CPU-s: a second reverse-mode force program); the default MieDipole
# case checks that a model Module (no arrays) goes through jit/vmap/grad, and ClausiusMossotti
# runs by default in test_clausius_mossotti_closed_form.
# slow, MieDipole too (~3.4 CPU-s: a reverse-mode force program): particles with the default model
# (MieDipole, index given) go through jit, vmap, grad and float32 by default in
# tests/test_transforms.py::test_transforms_in_one_program[linearize_far_field]
@pytest.mark.slow
@pytest.mark.parametrize("model", [MieDipole(), ClausiusMossotti()], ids=["mie", "cm"])
def test_models_under_jit_vmap_grad(model):
    """Models carry no arrays: Particles with either model go through jit/vmap/grad (one
    program, jit ∘ vmap ∘ value_and_grad; d/dd against central differences of the same
    program's values)."""
    beam = jb.PlaneWave(1.064e-6, 1e9)

    def fz(d):
        pos = jnp.stack([jnp.zeros(3), jnp.array([d, 0.0, 0.0])])
        return jb.interparticle_forces(Particles(pos, 1e-7, index=1.45, model=model), beam)[1, 0]

    h = 1e-12
    ds = np.array([1.0e-6, 1.0e-6 + h, 1.0e-6 - h, 1.3e-6])
    v, g = jax.jit(jax.vmap(jax.value_and_grad(lambda d: fz(d) * 1e15)))(jnp.asarray(ds))
    v, g = np.asarray(v), np.asarray(g)
    assert np.all(np.isfinite(v)) and v[0] != v[3]
    np.testing.assert_allclose(g[0], (v[1] - v[2]) / (2 * h), rtol=1e-5)
    assert isinstance(MieDipole(), DipoleModel) and MieDipole.magnetic
    assert not ClausiusMossotti.magnetic
