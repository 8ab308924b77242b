"""Bad input of the multipole engine beyond tests/optics/test_multipoles.py: the Wiscombe
truncation warning, T-matrices of the wrong shape through the entry points, overlap codes in
a batch."""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.optics.beams import PlaneWave
from jaxbind.optics.multipoles import (TruncationWarning, cross_sections, multipole_forces,
                                       solve_multipoles, wiscombe_l_max)
from jaxbind.optics.multipoles.truncation import omitted_order_ratio
from jaxbind.optics.particles import Particles
from jaxbind.results import RESULTS

LAM = 1064e-9
K = 2 * math.pi / LAM
PW = PlaneWave(LAM, 1e9, direction=(0.0, 0.0, 1.0), polarization=(1.0, 0.0, 0.0))
ONE = Particles(np.zeros((1, 3)), 200e-9, index=1.45)  # x = 1.18


def test_wiscombe_l_max_values():
    """⌈x + 4 x^(1/3) + 2⌉ (Wiscombe 1980): x = 1 → 7, x = 8 → 18, x = 0.1 → 4."""
    assert [wiscombe_l_max(x) for x in (1.0, 8.0, 0.1)] == [7, 18, 4]


def test_truncation_warning_names_the_recommended_l_max():
    """Warn when the first omitted Mie order exceeds TAIL_RTOL of the leading one (silica,
    x = 1.18: order 3 is 3.0e-3 of the leading order at l_max = 2, order 4 is 6e-5 at l_max = 3, values
    from the Mie series), recommending Wiscombe's l_max; no warning once the tail is small,
    for a small sphere at l_max = 2 (x = 0.2: order 3 is 2e-6), or under a transform."""
    x = K * 200e-9
    need = wiscombe_l_max(x)
    assert need == 8
    assert 2e-3 < omitted_order_ratio(1.45, x, 2) < 4e-3
    with pytest.warns(TruncationWarning, match=f"pass l_max = {need}"):
        cross_sections(ONE, PW, 2)
    small = Particles(np.zeros((1, 3)), 0.2 / K, index=1.45)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        cross_sections(ONE, PW, 3)  # the omitted order 4 is 6e-5 < TAIL_RTOL
        cross_sections(small, PW, 2)
        # under a user's transform the radii are traced: nothing is checked
        jax.jit(lambda r: cross_sections(Particles(np.zeros((1, 3)), r, index=1.45), PW, 2)
                .extinction)(jnp.asarray(200e-9))


@pytest.mark.unchecked
def test_tmatrix_wrong_shape_through_entry_point():
    ps = Particles(np.array([[0.0, 0, 0], [1e-6, 0, 0]]), 50e-9, index=1.45)
    with pytest.raises(ValueError, match=r"tmatrix must have shape \(16, 16\)"):
        multipole_forces(ps, PW, 2, tmatrix=np.eye(6))


def test_overlap_in_a_batch_gives_a_code_and_nan():
    """vmap over separations with throw=False: the overlapping point gets RESULTS.overlap and
    NaN, the others finite (the sweep is not aborted)."""
    def one(d):
        ps = Particles(jnp.stack([jnp.zeros(3), jnp.array([1.0, 0.0, 0.0]) * d]), 50e-9,
                       index=1.45)
        sol = solve_multipoles(ps, PW, 1, throw=False)
        return sol.result._value, sol.p

    codes, p = jax.vmap(one)(jnp.array([80e-9, 300e-9]))
    assert codes[0] == RESULTS.overlap._value and codes[1] == RESULTS.successful._value
    assert np.all(np.isnan(p[0])) and np.all(np.isfinite(p[1]))


def test_truncation_warning_points_at_the_callers_line():
    """The warning's file is the user's call — here this test — for direct calls of the entry
    points and through the scatterer model's method (under pytest every jaxbind function is
    additionally wrapped by the jaxtyping/beartype import hook, whose frames must be skipped
    as well; without the frame walk the warning pointed into jaxtyping's wrapper)."""
    from jaxbind.optics.multipoles import Multipole

    calls = [lambda: cross_sections(ONE, PW, 2),
             lambda: multipole_forces(ONE, PW, 2),
             lambda: Multipole(l_max=2).optical_forces(ONE, PW)]
    for call in calls:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always", TruncationWarning)
            call()
        hits = [w for w in rec if issubclass(w.category, TruncationWarning)]
        assert hits, "no TruncationWarning"
        assert hits[0].filename == __file__, hits[0].filename
