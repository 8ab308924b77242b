"""Particles in a host medium of index n_med ≠ 1 (water), handled once in the engine.

References are independent of jaxbind's force code: the Mie radiation-pressure cross-section
(n_med I/c)(C_ext − g C_sca) with the *relative* index (jaxbind's Mie series is validated
against miepython in test_mie.py; the dipolar a₁, b₁ here are written out with SciPy), the
closed-form gradient force ¼ Re α ∇|E|² of a Rayleigh sphere in a paraxial Gaussian beam with
the medium's α = 4π ε0 n² a³ (m_r² − 1)/(m_r² + 2) and E0² = 4P/(π w0² n c ε0), and forces on
one and two spheres in water from miepy 1.1.0 (stored by tests/data/make_medium_reference.py).
"""

from __future__ import annotations

import json
import math
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import scipy_mie_a1_b1
from jaxbind import constants as C
from jaxbind.mechanics.trapping import trap_frequencies
from jaxbind.optics.beams import CoherentBeams, PlaneWave, Tweezer, intensity_map
from jaxbind.optics.focused import FocusedBeam
from jaxbind.optics.forces import optical_forces
from jaxbind.optics.mie import mie_efficiencies
from jaxbind.optics.multipoles import Multipole
from jaxbind.optics.particles import Particles
from jaxbind.optics.scatterers import ClausiusMossotti, MieDipole

LAM = 1064e-9
N_W = 1.33
N_SIO2 = 1.45
I0 = 1e9  # W/m²
REF = json.loads((pathlib.Path(__file__).parents[1] / "data" / "medium_reference.json").read_text())


_forces = eqx.filter_jit(optical_forces)


# ------------------------------------------------------------------ single sphere, plane wave
@pytest.mark.parametrize("n_med", [1.0, N_W])
def test_dipole_radiation_force_in_water_equals_mie(n_med):
    """MieDipole (electric + magnetic dipole): F = (n I/c) C_pr with the dipolar C_pr =
    (2π/k²)[3 Re(a₁ + b₁) − 3 Re(a₁ b₁*)], k = 2π n/λ, relative index 1.45/n."""
    a = 60e-9
    pw = PlaneWave(LAM, I0, n_medium=n_med)
    F = np.asarray(_forces(Particles([[0.0, 0.0, 0.0]], a, index=N_SIO2), pw))[0]
    k = 2 * math.pi * n_med / LAM
    a1, b1 = scipy_mie_a1_b1(N_SIO2 / n_med, k * a)
    c_pr = 2 * math.pi / k**2 * (3 * (a1 + b1).real - 3 * (a1 * b1.conjugate()).real)
    assert F[2] == pytest.approx(n_med * I0 / C.c * c_pr, rel=1e-12)
    np.testing.assert_allclose(F[:2], 0.0, atol=1e-12 * abs(F[2]))


@pytest.mark.slow
def test_multipole_radiation_force_in_water_equals_mie():
    """Multipole(l_max = 8), a = 300 nm (ka = 2.4 in water): F = (n I/c)(C_ext − g C_sca)."""
    a = 300e-9
    pw = PlaneWave(LAM, I0, n_medium=N_W)
    F = np.asarray(_forces(Particles([[0.0, 0.0, 0.0]], a, index=N_SIO2,
                                     model=Multipole(l_max=8)), pw))[0]
    x = 2 * math.pi * N_W / LAM * a
    e = mie_efficiencies(N_SIO2 / N_W, x, 10)
    c_pr = (float(e.qext) - float(e.g) * float(e.qsca)) * math.pi * a**2
    assert F[2] == pytest.approx(N_W * I0 / C.c * c_pr, rel=1e-9)
    # the water force differs from the vacuum one (the medium is not ignored)
    Fv = np.asarray(_forces(Particles([[0.0, 0.0, 0.0]], a, index=N_SIO2,
                                      model=Multipole(l_max=8)), PlaneWave(LAM, I0)))[0]
    assert abs(F[2] / Fv[2] - 1) > 0.1


# ------------------------------------------------------------------ gradient force, Gaussian beam
def test_gradient_force_in_water_closed_form():
    """Rayleigh sphere (ClausiusMossotti without radiation reaction: α real) in a paraxial
    Gaussian tweezer in water, in the focal plane: F_x = ¼ Re α ∂_x|E|² =
    −16 n P a³ x Re[(m_r² − 1)/(m_r² + 2)]/(c w0⁴), so κ_x = 16 n P a³ Re[…]/(c w0⁴) and
    ω_x = √(κ_x/m) (test_trap_frequency_in_water_closed_form)."""
    P, w0, a, rho_m = 0.1, 0.8e-6, 20e-9, 2200.0
    tw = Tweezer(P, LAM, waist=w0, n_medium=N_W)
    mr = N_SIO2 / N_W
    cm = ((mr**2 - 1) / (mr**2 + 2))
    x = 0.3e-6
    ps = Particles([[x, 0.0, 0.0]], a, index=N_SIO2, model=ClausiusMossotti(radiative=False),
                   density=rho_m)
    F = np.asarray(_forces(ps, tw))[0]
    ref = -16 * N_W * P * a**3 * x * cm / (C.c * w0**4) * math.exp(-2 * x**2 / w0**2)
    assert F[0] == pytest.approx(ref, rel=1e-10)
    # the intensity the beam reports is n c ε0 |E|²/2: peak 2P/(π w0²) in any medium
    I = intensity_map(tw, jnp.asarray([0.0]), jnp.asarray([0.0]))
    assert float(I[0, 0]) == pytest.approx(2 * P / (math.pi * w0**2), rel=1e-12)


@pytest.mark.slow
def test_trap_frequency_in_water_closed_form():
    """trap_frequencies at the focus of the same tweezer in water: ω_x = √(κ_x/m) with
    κ_x = 16 n P a³ Re[(m_r² − 1)/(m_r² + 2)]/(c w0⁴)."""
    P, w0, a, rho_m = 0.1, 0.8e-6, 20e-9, 2200.0
    tw = Tweezer(P, LAM, waist=w0, n_medium=N_W)
    mr = N_SIO2 / N_W
    cm = ((mr**2 - 1) / (mr**2 + 2))
    ps0 = Particles([[0.0, 0.0, 0.0]], a, index=N_SIO2, model=ClausiusMossotti(radiative=False),
                    density=rho_m)
    w = np.asarray(trap_frequencies(ps0, tw))[0]
    m = rho_m * 4 / 3 * math.pi * a**3
    kappa = 16 * N_W * P * a**3 * cm / (C.c * w0**4)
    assert w[0] == pytest.approx(math.sqrt(kappa / m), rel=1e-9)


# ------------------------------------------------------------------ two spheres vs miepy
def _case(label):
    return next(c for c in REF["cases"] if c["label"] == label)


@pytest.mark.parametrize("label, l_max", [
    ("absorbing high-index pair", 4),
    pytest.param("silica pair along x", 6, marks=pytest.mark.slow),
])
def test_two_spheres_in_water_equal_miepy(label, l_max):
    """Forces (N per W/m²) on two spheres in water equal miepy to ≤ 1e-6 of the largest
    component, both codes converged in l_max (miepy l_max = 8; its truncations 7 and 8 agree
    to ≤ 2e-7, checked here; see tests/data/make_medium_reference.py for why miepy's own
    truncations are not compared one by one)."""
    assert REF["n_medium"] == N_W and REF["wavelength"] == LAM
    case = _case(label)
    rows = {r["l_max"]: np.asarray(r["force"]) for r in case["rows"]}
    want = rows[8]
    scale = np.max(np.abs(want))
    np.testing.assert_allclose(rows[7], want, rtol=0, atol=2e-7 * scale)  # miepy converged
    ps = Particles(jnp.asarray(case["positions"]), case["radius"], index=complex(*case["index"]),
                   model=Multipole(l_max=l_max))
    got = np.asarray(_forces(ps, PlaneWave(LAM, 1.0, n_medium=N_W)))  # unit intensity
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * scale)
    # the coupling matters at this level: spheres moved 50× further apart feel forces that
    # differ by ≫ 1e-6 (so the comparison tests the multiple scattering in water)
    apart = np.asarray(_forces(ps.with_positions(ps.positions * 50.0),
                               PlaneWave(LAM, 1.0, n_medium=N_W)))
    assert np.max(np.abs(apart - got)) > 1e-3 * scale


# ------------------------------------------------------------------ scaling identity
@pytest.mark.slow
def test_medium_equals_scaled_vacuum_problem():
    """Two spheres of index m in a medium n at λ0 and intensity I are the vacuum problem with
    index m/n at λ0/n and intensity I/n (same k and E0), with forces × n² (F0 ∝ ε = ε0 n²).
    A check of every unit conversion, through the coupled solve."""
    pos = jnp.asarray([[0.0, 0.0, 0.0], [0.5e-6, 0.1e-6, 0.2e-6]])
    a, m = 80e-9, 1.9 + 0.01j
    pw_med = PlaneWave(LAM, I0, polarization=(1.0, 0.3j, 0.0), n_medium=N_W)
    pw_vac = PlaneWave(LAM / N_W, I0 / N_W, polarization=(1.0, 0.3j, 0.0))
    F_med = np.asarray(_forces(Particles(pos, a, index=m), pw_med))
    F_vac = np.asarray(_forces(Particles(pos, a, index=m / N_W), pw_vac))
    np.testing.assert_allclose(F_med, N_W**2 * F_vac, rtol=1e-11, atol=1e-13 * np.abs(F_med).max())
    # SI polarizabilities: p = α E with α in the medium, α̃ = k³ α/(4π ε0 n²)
    alpha = 4 * math.pi * C.epsilon0 * N_W**2 * a**3 * 0.2
    F1 = np.asarray(_forces(Particles(pos, a, alpha_e=alpha), pw_med))
    F2 = np.asarray(_forces(Particles(pos, a, alpha_e=alpha / N_W**2), pw_vac))
    np.testing.assert_allclose(F1, N_W**2 * F2, rtol=1e-11, atol=1e-13 * np.abs(F1).max())


# ------------------------------------------------------------------ transformations
def _fz(n_med, dtype=jnp.float64):
    """F_z on the second of two coupled spheres in a plane wave in a medium of index n_med
    (n enters k, the relative index, E0 and the force unit)."""
    pw = PlaneWave(jnp.asarray(LAM, dtype), jnp.asarray(I0, dtype), n_medium=n_med)
    pos = jnp.asarray([[0.0, 0.0, 0.0], [0.6e-6, 0.0, 0.1e-6]], dtype)
    ps = Particles(pos, jnp.asarray(100e-9, dtype), index=N_SIO2, model=ClausiusMossotti())
    return optical_forces(ps, pw)[1, 2] / 1e-15  # O(1) in float32


# slow (~2.8 CPU-s); forces in a host medium stay default (test_dipole_radiation_force_in_water_equals_mie,
# test_two_spheres_in_water_equal_miepy), force transforms in tests/optics/test_forces.py
@pytest.mark.slow
def test_jit_vmap_grad_float32_in_n_medium():
    h = 1e-5
    ns = jnp.asarray([1.0, 1.2, N_W - h, N_W, N_W + h])
    v, g = jax.jit(jax.vmap(jax.value_and_grad(_fz)))(ns)
    assert float(v[0]) != pytest.approx(float(v[3]), rel=1e-2)  # the medium matters
    fd = (float(v[4]) - float(v[2])) / (2 * h)
    assert float(g[3]) == pytest.approx(fd, rel=1e-6)
    f32 = float(jax.jit(lambda n: _fz(n, jnp.float32))(jnp.asarray(N_W, jnp.float32)))
    assert f32 == pytest.approx(float(v[3]), rel=1e-5)


# slow: one more force program; jit ∘ vmap ∘ value_and_grad in n_medium stays covered by default in
# test_jit_vmap_grad_float32_in_n_medium
@pytest.mark.slow
def test_vmap_in_n_medium_equals_single_calls():
    v = jax.jit(jax.vmap(_fz))(jnp.asarray([1.0, 1.2]))
    single = float(jax.jit(_fz)(jnp.asarray(1.2)))
    assert float(v[1]) == pytest.approx(single, rel=1e-12)


# ------------------------------------------------------------------ bad input
@pytest.mark.unchecked
@pytest.mark.parametrize("bad", [0.0, -1.33, float("nan"), float("inf")])
def test_bad_n_medium_is_named(bad):
    for make in (lambda: PlaneWave(LAM, I0, n_medium=bad),
                 lambda: Tweezer(0.1, LAM, waist=1e-6, n_medium=bad),
                 lambda: CoherentBeams.from_tweezers(0.1, LAM, [[0.0, 0.0, 0.0]], waist=1e-6,
                                                     n_medium=bad),
                 lambda: FocusedBeam(0.1, LAM, 0.5, n_medium=bad)):
        with pytest.raises(ValueError, match="n_medium"):
            make()


@pytest.mark.unchecked
def test_bad_n_medium_traced_and_mismatched_media():
    with pytest.raises(TypeError, match="n_medium"):
        PlaneWave(LAM, I0, n_medium=1.33 + 0.1j)
    # traced: no host callback in the user's program, the bad point is NaN (nan_if)
    assert np.isnan(jax.jit(lambda n: PlaneWave(LAM, I0, n_medium=n).k)(jnp.asarray(-1.0)))
    with pytest.raises(ValueError, match="n_medium"):
        CoherentBeams([PlaneWave(LAM, I0, n_medium=N_W), PlaneWave(LAM, I0)])
    with pytest.raises(ValueError, match="n_medium"):
        CoherentBeams([Tweezer(0.1, LAM, waist=1e-6, n_medium=N_W), FocusedBeam(0.1, LAM, 0.5)])
    with pytest.raises(ValueError, match="NA"):
        Tweezer(0.1, LAM, NA=1.2)  # NA ≥ n_medium = 1
    Tweezer(0.1, LAM, NA=1.2, n_medium=N_W)  # fine in water


# ------------------------------------------------------------------ tweezer arrays in water
@pytest.mark.slow
def test_tweezer_array_in_water_trap_frequencies():
    """TweezerArray(focus=FocusedBeam(..., n_medium=1.33)) takes its medium from the objective:
    linearize(method="exact") gives the trap frequencies of trap_frequencies with the same
    focused beam in water, for Mie-dipole spheres (index, the autodiff path) and for given
    polarizabilities (the closed-form electric path of mechanics.exact)."""
    from jaxbind.mechanics.array import TweezerArray, linearize

    fb = FocusedBeam(1.0, LAM, 1.2, n_medium=N_W, filling=1.0, order=32, extent=4 * LAM)
    beam = FocusedBeam(0.2, LAM, 1.2, n_medium=N_W, filling=1.0, order=32, extent=4 * LAM)
    a, rho_m = 60e-9, 2200.0
    alpha = 4 * math.pi * C.epsilon0 * N_W**2 * a**3 * 0.06
    for kw in (dict(index=N_SIO2), dict(alpha=alpha)):
        arr = TweezerArray(jnp.zeros((1, 3)), powers=0.2, wavelength=LAM, radii=a,
                           density=rho_m, focus=fb, **kw)
        assert float(arr.n_medium) == N_W
        assert float(arr.k) == pytest.approx(2 * math.pi * N_W / LAM, rel=1e-14)
        lin = linearize(arr, method="exact", axis="xyz")
        ref = trap_frequencies(arr.particles(), beam)
        np.testing.assert_allclose(np.asarray(lin.omega), np.asarray(ref).ravel(), rtol=1e-9)
    # in vacuum the same objective (NA 0.9) traps more stiffly transversally (notebook
    # medium_trap.ipynb); here only: water changes the answer
    vac = trap_frequencies(arr.particles(), FocusedBeam(0.2, LAM, 0.9, filling=1.0, order=32,
                                                        extent=4 * LAM))
    assert abs(float(vac[0, 0]) / float(ref[0, 0]) - 1) > 0.05


@pytest.mark.slow
def test_focused_beam_in_water_multipole_l1_equals_dipoles():
    """A water-immersion focus (NA 1.2, n = 1.33) drives both engines the same way: the
    multipole engine's projected beam-shape coefficients at l_max = 1 reproduce the coupled
    Mie dipoles (point fields and gradients) of two spheres in water (measured 1e-14)."""
    fb = FocusedBeam(0.1, LAM, 1.2, n_medium=N_W, order=32, extent=4e-6)
    pos = jnp.asarray([[0.1e-6, 0.05e-6, 0.2e-6], [0.9e-6, 0.0, 0.1e-6]])
    Fd = np.asarray(_forces(Particles(pos, 60e-9, index=N_SIO2), fb))
    Fm = np.asarray(_forces(Particles(pos, 60e-9, index=N_SIO2, model=Multipole(l_max=1)), fb))
    np.testing.assert_allclose(Fm, Fd, rtol=0, atol=1e-10 * np.abs(Fd).max())
