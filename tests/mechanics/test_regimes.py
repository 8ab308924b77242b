"""Tests for the grid-structured regime map (paper 000 Fig. 3a, eqs. 6, 8, 12):
identical codes to the per-point kernel, the closed-form region boundaries, transformations,
float32, bad input, and the compiled structure (trigonometry stays on the 1-D axes)."""

import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.mechanics.regimes import (
    ANTIRECIPROCAL,
    DIRECTIONAL,
    NOISE,
    NONE,
    RECIPROCAL,
    regime_map,
    regime_point,
)

pt_grid = jax.jit(jax.vmap(jax.vmap(regime_point, in_axes=(None, 0, None)), in_axes=(0, None, None)))
rmap = jax.jit(regime_map, static_argnames="batch_size")


def closed_form_regimes(phi, kd):
    """Fig. 3a regions written with tan and cos(kd ∓ φ) (g = 1/kd > 0 divides out):

    g_r ± g_a = g cos(kd ∓ φ), so reciprocal ⇔ |tan kd| < 1 and |tan kd tan φ| < 1;
    antireciprocal ⇔ |tan φ| > 1 and |tan kd tan φ| > 1; directional ⇔
    |cos(kd − φ)| > 2|cos(kd + φ)| or vice versa; noise ⇔ |sin kd cos φ| > 2 max|cos(kd ∓ φ)|.
    Returns the codes and the smallest relative margin of the inequalities (ties)."""
    P, Q = np.meshgrid(phi, kd, indexing="ij")
    tk, tp = np.tan(Q), np.tan(P)
    cm, cpl = np.abs(np.cos(Q - P)), np.abs(np.cos(Q + P))
    rd = np.abs(np.sin(Q) * np.cos(P))
    rec = (np.abs(tk) < 1) & (np.abs(tk * tp) < 1)
    anti = (np.abs(tp) > 1) & (np.abs(tk * tp) > 1)
    direc = (cm > 2 * cpl) | (cpl > 2 * cm)
    noise = rd > 2 * np.maximum(cm, cpl)
    ref = np.full(P.shape, NONE)
    ref[rec] = RECIPROCAL
    ref[anti] = ANTIRECIPROCAL
    ref[direc] = DIRECTIONAL
    ref[noise] = NOISE

    def rel(a, b):
        return np.abs(a - b) / (np.abs(a) + np.abs(b) + 1e-300)

    margin = np.minimum.reduce([rel(np.abs(tk), 1.0), rel(np.abs(tk * tp), 1.0),
                                rel(np.abs(tp), 1.0), rel(cm, 2 * cpl), rel(cpl, 2 * cm),
                                rel(rd, 2 * np.maximum(cm, cpl))])
    return ref, margin


def test_grid_kernel_equals_point_kernel():
    """Bit-identical codes on a grid that contains paper 000's points (I)–(IV) and ties."""
    special_phi = [0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
    special_kd = [np.pi / 4, np.pi / 2, np.pi, 3 * np.pi / 2]
    phis = np.sort(np.concatenate([np.linspace(-np.pi, np.pi, 93), special_phi]))
    kds = np.sort(np.concatenate([np.linspace(0.02, 4 * np.pi, 120), special_kd]))
    for dw in (0.0, 0.37):
        c_map, g_map = rmap(phis, kds, dw, batch_size=8)  # 97 rows: shifted last block
        c_pt, g_pt = pt_grid(jnp.asarray(phis), jnp.asarray(kds), dw)
        np.testing.assert_array_equal(np.asarray(c_map), np.asarray(c_pt))
        # growth rates: differences of O(0.1–1) rates, so two programs (the grid's hoisted 1-D
        # trigonometry vs per point) agree to a few ulp of those terms (XLA's fusion emitter
        # decides the operation order: 1.2e-15 apart at one point with the legacy emitter)
        np.testing.assert_allclose(g_map, g_pt, rtol=1e-13, atol=1e-14)
        assert c_map.dtype == jnp.int8 and c_map.shape == (97, 124)
        if dw:
            assert np.any(np.asarray(g_map) > 0)
    i = {p: int(np.flatnonzero(phis == p)[0]) for p in special_phi}
    j = {k: int(np.flatnonzero(kds == k)[0]) for k in special_kd}
    c = np.asarray(c_map)
    assert c[i[0.0], j[np.pi]] == RECIPROCAL            # (I)  g_a = D12 = 0
    assert c[i[np.pi / 4], j[np.pi / 4]] == DIRECTIONAL  # (II) g_a = g_r
    assert c[i[np.pi / 2], j[np.pi / 2]] == ANTIRECIPROCAL  # (III) g_r = Re D12 = 0
    assert c[i[0.0], j[np.pi / 2]] == NOISE             # (IV) g_r = g_a = 0


# slow: three of the four sizes (each one compile); the default (17, 4) case has a partial last
# row block, the other sizes run in `make test-all`
@pytest.mark.parametrize("n_rows,batch", [pytest.param(1, 8, marks=pytest.mark.slow),
                                          pytest.param(3, 8, marks=pytest.mark.slow),
                                          pytest.param(16, 8, marks=pytest.mark.slow), (17, 4)])
def test_row_blocking_any_size(n_rows, batch):
    phis = np.linspace(0.1, 3.0, n_rows)
    kds = np.linspace(0.3, 9.0, 33)
    c_map, g_map = rmap(phis, kds, -0.4, batch_size=batch)  # one program, not op by op
    c_pt, g_pt = pt_grid(jnp.asarray(phis), jnp.asarray(kds), -0.4)
    np.testing.assert_array_equal(np.asarray(c_map), np.asarray(c_pt))
    np.testing.assert_allclose(g_map, g_pt, rtol=1e-13, atol=1e-15)


def test_closed_form_region_boundaries():
    phis = np.linspace(-np.pi + 0.0013, np.pi - 0.0021, 211)
    kds = np.linspace(0.011, 6 * np.pi, 233)
    codes, _ = rmap(phis, kds)
    ref, margin = closed_form_regimes(phis, kds)
    keep = margin > 1e-9
    assert keep.mean() > 0.99
    np.testing.assert_array_equal(np.asarray(codes)[keep], ref[keep])
    for code in (NONE, RECIPROCAL, DIRECTIONAL, ANTIRECIPROCAL, NOISE):
        assert np.any(ref == code)
    eps = 1e-7
    # reciprocal ends at |tan kd| = 1 (kd = π/4 for small φ, no other condition there)
    c, _ = rmap(np.array([0.1]), np.array([np.pi / 4 - eps, np.pi / 4 + eps]))
    assert list(np.asarray(c[0])) == [RECIPROCAL, NONE]
    # antireciprocal starts at |tan φ| = 1 (φ = π/4 at kd = π/2 − 0.1)
    c, _ = rmap(np.array([np.pi / 4 - eps, np.pi / 4 + eps]), np.array([np.pi / 2 - 0.1]))
    assert list(np.asarray(c[:, 0])) == [NONE, ANTIRECIPROCAL]
    # directional boundary |cos(kd − φ)| = 2|cos(kd + φ)| at φ = 0.6: for kd + φ ∈ (0, π/2),
    # cos(kd − φ) = 2 cos(kd + φ) ⇔ tan kd tan φ = 1/3
    kd_star = np.arctan(1 / (3 * np.tan(0.6)))
    c, _ = rmap(np.array([0.6]), np.array([kd_star * (1 - eps), kd_star * (1 + eps)]))
    assert list(np.asarray(c[0])) == [RECIPROCAL, DIRECTIONAL]


def test_growth_rate_and_transformations():
    """growth = max Im ω_± of eq. 12 = ½√(4g_aδω − δω² − 4g_r²)₊; jit, vmap, grad, vmap∘grad."""
    phis = jnp.array([0.3, 1.2, 2.0])
    kds = jnp.array([0.9, 2.5, 4.0, 7.7])
    P, Q = np.meshgrid(phis, kds, indexing="ij")
    gr, ga = np.cos(Q) * np.cos(P) / Q, np.sin(Q) * np.sin(P) / Q

    def growth_at(dw):
        return rmap(phis, kds, dw)[1]

    dws = jnp.array([-0.3, 0.05, 0.4])
    grow = jax.vmap(growth_at)(dws)
    for b, dw in enumerate(np.asarray(dws)):
        neg = 4 * ga * dw - dw**2 - 4 * gr**2
        np.testing.assert_allclose(grow[b], 0.5 * np.sqrt(np.maximum(neg, 0)), rtol=1e-13, atol=1e-15)
    # d growth/dδω = (2g_a − δω)/(4 growth) where PT is broken, 0 (not NaN) where unbroken
    dgrow = jax.jit(jax.vmap(jax.jacfwd(growth_at)))(dws)
    total = jax.jit(jax.vmap(jax.grad(lambda dw: jnp.sum(growth_at(dw)))))(dws)
    for b, dw in enumerate(np.asarray(dws)):
        g = np.asarray(grow[b])
        ref = np.where(g > 0, (2 * ga - dw) / (4 * np.where(g > 0, g, 1.0)), 0.0)
        np.testing.assert_allclose(dgrow[b], ref, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(total[b], ref.sum(), rtol=1e-10)
    assert np.all(np.isfinite(np.asarray(dgrow)))
    assert np.any(np.asarray(grow) > 0) and np.any(np.asarray(grow) == 0)


def test_float32_matches_float64():
    phis = np.linspace(0.01, np.pi - 0.01, 64)
    kds = np.linspace(0.05, 4 * np.pi, 80)
    c64, g64 = rmap(phis, kds, 0.3)
    c32, g32 = rmap(jnp.asarray(phis, jnp.float32), jnp.asarray(kds, jnp.float32),
                    jnp.float32(0.3))
    assert c32.dtype == jnp.int8 and g32.dtype == jnp.float32
    _, margin = closed_form_regimes(phis, kds)
    keep = margin > 1e-4  # float32 may legitimately flip an exact tie
    np.testing.assert_array_equal(np.asarray(c32)[keep], np.asarray(c64)[keep])
    np.testing.assert_allclose(g32, g64, rtol=2e-5, atol=2e-5 * float(np.max(g64)))


@pytest.mark.unchecked  # wrong shapes and dtypes on purpose
def test_bad_input():
    kds = np.linspace(0.1, 1.0, 4)
    with pytest.raises(ValueError, match="phases"):
        regime_map(np.zeros((2, 2)), kds)
    with pytest.raises(ValueError, match="kds"):
        regime_map(np.zeros(3), np.array([]))
    with pytest.raises(ValueError, match="batch_size"):
        regime_map(np.zeros(3), kds, batch_size=0)
    with pytest.raises(ValueError, match="delta_omega"):
        regime_map(np.zeros(3), kds, np.zeros(2))
    with pytest.raises(TypeError, match="phases"):
        regime_map(np.zeros(3, complex), kds)
    frmap = eqx.filter_jit(regime_map)  # equinox errors surface as such under filter_jit
    with pytest.raises(eqx.EquinoxRuntimeError, match="kds"):
        frmap(np.zeros(3), np.array([0.5, 0.0, 1.0]))
    with pytest.raises(eqx.EquinoxRuntimeError, match="phases"):
        frmap(np.array([0.0, np.nan]), kds)


# slow: a performance guard on the compiled HLO (one more compile); the regime map's values stay
# covered by default in test_closed_form_region_boundaries and
# test_grid_kernel_equals_point_kernel
@pytest.mark.slow
def test_compiled_structure_keeps_trigonometry_on_the_axes():
    """Performance guard (benchmarks/bench_array.py): sin/cos are evaluated on the 1-D axes,
    never inside a 2-D (per grid point) fused loop, and the 2-D work is one fused pass per
    output inside the row loop."""
    hlo = rmap.lower(jnp.zeros(40), jnp.ones(64), 0.3).compile().as_text()
    comps = re.split(r"\n(?=%?\S+ \([^\n]*\) -> [^\n]* \{)", hlo)
    two_d = re.compile(r"\) -> \S*\[\d+,\d+\]")
    for comp in comps:
        header = comp.split("\n", 1)[0]
        if two_d.search(header):
            assert "sine(" not in comp and "cosine(" not in comp, header
    body = re.search(r"body=(%?[\w.\-]+)", hlo).group(1).lstrip("%")
    body_comp = next(c for c in comps if c.split(" ", 1)[0].lstrip("%") == body)
    fused_2d = re.findall(r"= \S+\[\d+,\d+\]\{1,0\} fusion\(", body_comp)
    assert len(fused_2d) == 2, body_comp
