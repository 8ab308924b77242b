"""The paper 000 regime-map sweep entry (registry ``regime_map``) against the closed forms of
paper 000 eqs. 6 and 8 at the four marked points (I)-(IV) of Fig. 3a."""

import math

import numpy as np

from jaxbind.mechanics.regimes import ANTIRECIPROCAL, DIRECTIONAL, NOISE, RECIPROCAL
from jaxbind.workflows.sweep.grid import Grid
from jaxbind.workflows.sweep.registry import regime_map_point, resolve
from jaxbind.workflows.sweep import sweep


def test_regime_map_entry_marks_the_four_points():
    two_pi = 2 * math.pi
    pts = {  # (φ, kd) → expected regime, from g_r = cos kd cos φ/kd, g_a = sin kd sin φ/kd
        (0.0, two_pi): RECIPROCAL,  # (I): g_a = D12 = 0
        (math.pi / 4, two_pi + math.pi / 4): DIRECTIONAL,  # (II): g_r = g_a
        (math.pi / 2, two_pi + math.pi / 2): ANTIRECIPROCAL,  # (III): g_r = Re D12 = 0
        (0.0, two_pi + math.pi / 2): NOISE,  # (IV): g_r = g_a = 0
    }
    phases = np.array([p for p, _ in pts])
    kds = np.array([k for _, k in pts])
    assert resolve("regime_map") is regime_map_point
    ds = sweep(regime_map_point, Grid.zip("point", phase=phases, kd=kds), progress=False)
    np.testing.assert_array_equal(ds["status"].values, 0)
    np.testing.assert_array_equal(ds["regime"].values, list(pts.values()))
    np.testing.assert_allclose(ds["g_r"].values, np.cos(kds) * np.cos(phases) / kds, atol=1e-12)
    np.testing.assert_allclose(ds["g_a"].values, np.sin(kds) * np.sin(phases) / kds, atol=1e-12)
    # PT growth at δω = 0 is max Im of ±√(g_r²) = 0: no broken phase without detuning
    np.testing.assert_allclose(ds["growth"].values, 0.0, atol=1e-12)
