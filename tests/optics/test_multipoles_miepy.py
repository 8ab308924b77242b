"""Forces and torques of coupled spheres equal miepy (independent multiparticle Mie code),
reference data and the script that made them in tests/data/make_miepy_multipoles.py.

Two silica spheres (n = 1.45, a = 50–250 nm) at 1064 nm and two silicon spheres
(n = 5.1 + 0.2i, a = 30–120 nm) at 420 nm, centre distances 0.5–5 λ along five directions,
an elliptically polarised plane wave along +z (E0 = 1 V/m); an N = 8 cluster; convergence
in l_max. At the same l_max:

* the relative force F_0 − F_1 (= f_0 − f_1: identical spheres in a plane wave feel the same
  isolated force, so this is purely the inter-particle force) and the forces themselves equal
  miepy to ≤ 1e-6 relative, with miepy's truncation of the exciting field at l_max (miepy's
  force formula couples degree l to l + 1 ≤ l_max; jaxbind's public force also keeps the
  exciting field's degree l_max + 1, the exact momentum flux of the truncated scattered wave);
* torques (J conserves l: no truncation difference) equal miepy to ≤ 1e-6; lossless silica
  feels none in either code.
The public forces converge faster in l_max than miepy's and equal them at convergence.
"""

import math
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind import constants as C
from jaxbind.optics.beams import PlaneWave
from jaxbind.optics.multipoles import forces as MF
from jaxbind.optics.multipoles import solve_multipoles
from jaxbind.optics.multipoles.solve import truncate
from jaxbind.optics.particles import Particles

REF = np.load(pathlib.Path(__file__).parents[1] / "data" / "miepy_multipoles.npz")
I_UNIT = C.c * C.epsilon0 / 2  # intensity of a plane wave with E0 = 1 V/m
RTOL = 1e-6


@eqx.filter_jit
def _jaxbind(pos, a, index, lam, l_max: int):
    """(F with the exciting field truncated at l_max as miepy, public F, T), SI at E0 = 1."""
    pol = jnp.asarray(REF["pol"])
    beam = PlaneWave(lam, I_UNIT, direction=(0.0, 0.0, 1.0),
                     polarization=jnp.stack([pol[0], pol[1], 0.0 * pol[0]]))
    ps = Particles(pos, a, index=index)
    sol = solve_multipoles(ps, beam, l_max)
    e_trunc = truncate(truncate(sol.exciting, l_max + 1, l_max), l_max, l_max + 1)
    unit = C.force_unit(sol.k, sol.E0)
    return (unit * MF.forces_scaled(sol.p, e_trunc, l_max),
            unit * MF.forces_scaled(sol.p, sol.exciting, l_max),
            unit / sol.k * MF.torques_scaled(sol.p, sol.exciting, l_max))


def _check_pair(F, T, Fm, Tm, lossless, what):
    dF, dFm = F[0] - F[1], Fm[0] - Fm[1]
    assert np.linalg.norm(dF - dFm) <= RTOL * np.linalg.norm(dFm), what
    np.testing.assert_allclose(F, Fm, rtol=0, atol=RTOL * np.abs(Fm).max(), err_msg=what)
    if lossless:  # no torque on a lossless sphere (both codes: round-off of |F|/k)
        k = 2 * math.pi / float(REF["silica_lam"])
        assert np.abs(T).max() < 1e-12 * np.abs(Fm).max() / k, what
        assert np.abs(Tm).max() < 1e-9 * np.abs(Fm).max() / k, what
    else:
        np.testing.assert_allclose(T, Tm, rtol=0, atol=RTOL * np.abs(Tm).max(), err_msg=what)


def _grid(name, l_max):
    lam, m, radii = float(REF[f"{name}_lam"]), complex(REF[f"{name}_index"]), REF[f"{name}_radii"]
    Fm_all, Tm_all = REF[f"{name}_F_l{l_max}"], REF[f"{name}_T_l{l_max}"]
    dirs, seps = REF["dirs"], REF["seps"]
    for ia, a in enumerate(radii):
        for js, s in enumerate(seps):
            if np.isnan(Fm_all[ia, js]).any():  # overlapping spheres (no reference)
                assert s * lam <= 2 * a
                continue
            pos = np.array([[0.0, 0.0, 0.0], s * lam * dirs[js % len(dirs)]])
            F, _, T = _jaxbind(pos, a, m, lam, l_max)
            _check_pair(np.asarray(F), np.asarray(T), Fm_all[ia, js], Tm_all[ia, js],
                        m.imag == 0, f"{name} a = {a:.3g} d = {s} λ l_max = {l_max}")


@pytest.mark.parametrize("name", ["silica", "silicon"])
def test_pair_grid_equals_miepy_lmax3(name):
    """44 pairs (sizes × separations 0.5–5 λ; silicon a = 120 nm at 0.5 λ would overlap) at
    l_max = 3 (one compiled program)."""
    _grid(name, 3)


@pytest.mark.slow
@pytest.mark.parametrize("l_max", [1, 2, 4])
@pytest.mark.parametrize("name", ["silica", "silicon"])
def test_pair_grid_equals_miepy(name, l_max):
    _grid(name, l_max)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["silica", "silicon"])
def test_cluster_of_eight_equals_miepy(name):
    lam, m = float(REF[f"{name}_lam"]), complex(REF[f"{name}_index"])
    pos, a = REF[f"{name}_cluster_pos"], float(REF[f"{name}_cluster_a"])
    F, _, T = _jaxbind(pos, a, m, lam, 3)
    Fm, Tm = REF[f"{name}_cluster_F"], REF[f"{name}_cluster_T"]
    np.testing.assert_allclose(F, Fm, rtol=0, atol=RTOL * np.abs(Fm).max())
    if m.imag:
        np.testing.assert_allclose(T, Tm, rtol=0, atol=RTOL * np.abs(Tm).max())
    # the inter-particle part is really there: forces differ between particles by > 1 %
    assert np.abs(Fm - Fm.mean(0)).max() > 1e-2 * np.abs(Fm).max()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["silica", "silicon"])
def test_convergence_in_lmax_against_miepy(name):
    """Force vs l_max = 1..8: equal to miepy at each l_max (its truncation); torques equal at
    each l_max; the public force (exciting field to l_max + 1) is closer to the converged
    force (miepy, l_max = 10) than miepy's at every l_max and equals it at l_max = 8.

    Measured max-component error relative to max|F| (public jaxbind / miepy at the same l_max):
    silica a = 200 nm, d = 0.5 λ (gap 132 nm): l_max 1: 0.12 / 0.65, 2: 2.3e-3 / 0.038,
    3: 2.1e-4 / 3.0e-3, 5: 2.1e-5 / 5.7e-5, 8: 1.7e-7 / 5.5e-7; silicon a = 90 nm, d = 0.5 λ
    (gap 30 nm, index 5.1): 1: 0.060 / 0.53, 2: 0.023 / 0.051, 3: 8.1e-3 / 0.018,
    4: 1.5e-3 / 5.2e-3, 8: 1.5e-5 / 3.2e-5, limited there by the reference itself (miepy's
    l_max = 9 and 10 differ by 8e-6). At the same truncation the two codes differ by 4.7e-10
    at every l_max (the SI constants, c and ε0, of the two codes).
    """
    lam, m = float(REF[f"{name}_lam"]), complex(REF[f"{name}_index"])
    pos, a = REF[f"{name}_conv_pos"], float(REF[f"{name}_conv_a"])
    Fm, Tm = REF[f"{name}_conv_F"], REF[f"{name}_conv_T"]
    conv = Fm[-1]
    err_pub, err_mp = [], []
    for L in range(1, 9):
        F, Fp, T = (np.asarray(x) for x in _jaxbind(pos, a, m, lam, L))
        _check_pair(F, T, Fm[L - 1], Tm[L - 1], m.imag == 0, f"{name} l_max = {L}")
        err_pub.append(np.abs(Fp - conv).max() / np.abs(conv).max())
        err_mp.append(np.abs(Fm[L - 1] - conv).max() / np.abs(conv).max())
    assert all(p < q for p, q in zip(err_pub, err_mp)), (err_pub, err_mp)
    assert all(err_pub[i + 1] < err_pub[i] for i in range(7)), err_pub
    assert err_pub[-1] < (1e-6 if name == "silica" else 3e-5), err_pub
