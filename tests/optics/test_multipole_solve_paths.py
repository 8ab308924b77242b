"""The fast paths of the multipole engine (issue 16, speed): the batched sparse translation
and the dense-block / matrix-free GMRES paths must give what the reference forms give."""

import jax
import numpy as np
import pytest
import scipy.special as sp

from jaxbind.optics.beams import PlaneWave
from jaxbind.optics.multipoles import multipole_forces
from jaxbind.optics.multipoles import solve as msolve
from jaxbind.optics.multipoles.translation import (translation_matrices, translation_matrix,
                                                   translation_weights)
from jaxbind.optics.multipoles.vswf import spherical_harmonics
from jaxbind.optics.particles import Particles
from jaxbind.solvers import GMRES, Direct


def _dense_reference(l_src, l_dst, d):
    """A = W·u with the full dense weights (the defining product, no sparsity used)."""
    p_max = l_src + l_dst + 2
    ps = np.concatenate([[p] * (2 * p + 1) for p in range(p_max + 1)])
    x = np.linalg.norm(d)  # h_p from SciPy, Y_pq on the host (NumPy): no eager jnp programs
    h = sp.spherical_jn(np.arange(p_max + 1), x) + 1j * sp.spherical_yn(np.arange(p_max + 1), x)
    u = h[ps] * spherical_harmonics(p_max, np.asarray(d, float), xp=np)
    return translation_weights(l_src, l_dst) @ u


# slow: (2, 3) and (3, 3) (the same identity at higher orders, ~2 CPU-s of compile each); the
# default (1, 2) case checks the sparse batched translation against the dense weights
@pytest.mark.parametrize("l_src, l_dst", [(1, 2), pytest.param(2, 3, marks=pytest.mark.slow),
                                          pytest.param(3, 3, marks=pytest.mark.slow)])
def test_sparse_batched_translation_equals_dense_weights(l_src, l_dst):
    rng = np.random.default_rng(1)
    d = rng.normal(size=(2, 3, 3)) * 3.0
    d[0, 0] = [0.0, 0.0, 2.5]  # on the axis
    A = np.asarray(jax.jit(translation_matrices, static_argnums=(0, 1))(l_src, l_dst, d))
    assert A.shape[:2] == (2, 3)
    single = jax.jit(translation_matrix, static_argnums=(0, 1))
    for i in range(2):
        for j in range(3):
            ref = _dense_reference(l_src, l_dst, d[i, j])
            np.testing.assert_allclose(A[i, j], ref, rtol=0, atol=1e-13 * np.abs(ref).max())
            np.testing.assert_allclose(np.asarray(single(l_src, l_dst, d[i, j])),
                                       A[i, j], rtol=0, atol=1e-14 * np.abs(ref).max())


_LAM = 1064e-9
_POS = np.array([[0, 0, 0], [450e-9, 0, 0], [0, 520e-9, 150e-9], [300e-9, 400e-9, 600e-9]])


@pytest.fixture(scope="module")
def direct_forces():
    """Forces of four close spheres (l_max = 2) by the direct (LU) solve."""
    ps = Particles(_POS, 100e-9, index=1.45)
    beam = PlaneWave(_LAM, 1e9)
    return ps, beam, np.asarray(multipole_forces(ps, beam, 2, Direct()))


def test_gmres_dense_blocks_agree_with_direct(direct_forces):
    ps, beam, F_lu = direct_forces
    F_dense = np.asarray(multipole_forces(ps, beam, 2, GMRES()))
    scale = np.abs(F_lu).max()
    np.testing.assert_allclose(F_dense, F_lu, rtol=0, atol=1e-8 * scale)
    # the interactions matter here (otherwise the comparison could not fail)
    F_iso = np.asarray(multipole_forces(Particles(_POS[:1], 100e-9, index=1.45), beam, 2))
    assert np.abs(F_lu[0] - F_iso[0]).max() > 1e-3 * scale


# slow: a third compiled solve (~3 CPU-s); by default the matrix-free product itself is checked
# against the formed translations (test_pair_factor_products_equal_the_formed_translations:
# apply_interaction) and the GMRES solve against LU (test_gmres_dense_blocks_agree_with_direct)
@pytest.mark.slow
def test_gmres_matrix_free_agrees_with_direct(direct_forces, monkeypatch):
    ps, beam, F_lu = direct_forces
    monkeypatch.setattr(msolve, "DENSE_BLOCK_BYTES", 0)  # force the matrix-free path
    calls = []
    original = msolve.apply_interaction
    monkeypatch.setattr(msolve, "apply_interaction",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    # other settings than above, so the jitted entry point is traced again
    F_free = np.asarray(multipole_forces(ps, beam, 2, GMRES(rtol=1e-11, atol=1e-13)))
    assert calls, "the matrix-free path was not taken"
    np.testing.assert_allclose(F_free, F_lu, rtol=0, atol=1e-8 * np.abs(F_lu).max())


def test_pair_factor_products_equal_the_formed_translations():
    """The solve never forms the translations for Krylov steps: A p is a product with the
    stored pair factors, electric rows only, applied to (p, p with halves swapped). It must
    equal Σ_j A(ρ_i − ρ_j) p_j with the translations formed by the reference batched form,
    to degree l_max (the solve) and l_max + 1 (the exciting coefficients of the forces), and
    the dense matrix of a direct solve must equal the reference matrix."""
    rng = np.random.default_rng(3)
    L, n = 2, 5
    rho = rng.uniform(0.0, 12.0, (n, 3))
    p = rng.normal(size=(n, 16)) + 1j * rng.normal(size=(n, 16))

    @jax.jit
    def products(rho, p):  # one compiled program (eager: ~300 tiny ones)
        inter = msolve._Interactions(rho, L)
        got = (inter.apply(p), inter.exciting(p), msolve.apply_interaction(rho, p, L, L + 1, batch=2))
        refs = tuple(msolve.interaction_matrix(rho, L, l) for l in (L, L + 1))
        return got, refs, inter.matrix()

    got, (M, M1), dense = (jax.tree.map(np.asarray, x) for x in products(rho, p))
    for l_dst, g in zip((L, L + 1, L + 1), got):
        ref = ((M if l_dst == L else M1) @ p.reshape(-1)).reshape(n, -1)
        np.testing.assert_allclose(g, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    np.testing.assert_allclose(dense, M, rtol=0, atol=1e-13 * np.abs(M).max())
