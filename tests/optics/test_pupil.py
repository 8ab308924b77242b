"""Sampled (SLM) pupil masks of the focused beam: jaxbind.optics.pupil.SampledPupil.

References: the callable-mask path of FocusedBeam for the same smooth function (the two may
differ by the interpolation error only, measured at the quadrature nodes, and that error
falls as h³ with the grid spacing h), closed cases (a constant phase is a global phase; a
linear phase ramp γu is the focus displaced by γ/(k0 NA), tested against FocusedBeam(focus=)),
and central finite differences for the gradient w.r.t. the sample values.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.optics.focused import FocusedBeam, SampledPupil, focused_array
from jaxbind.optics.pupil import pupil_grid

LAM = 1064e-9
K0 = 2 * math.pi / LAM
NA = 0.8
RHO = jnp.asarray([0.6, -0.4, 0.9])

_eval = eqx.filter_jit(lambda b, p: b.fields_and_gradients_scaled(p))


def beam(mask=None, **kw):
    return FocusedBeam(0.2, LAM, NA, filling=1.0, pupil_mask=mask, order=24,
                       extent=LAM, azimuthal_order=48, **kw)


def phase_fn(u, v, xp=jnp):
    return 0.8 * xp.sin(1.3 * u + 0.4) + 0.5 * v * v - 0.3 * u * v


def amp_fn(u, v, xp=jnp):
    return 1.0 - 0.3 * (u * u + v * v) + 0.1 * xp.cos(2.0 * v)


def sampled(m):
    u = np.linspace(-1.0, 1.0, m)  # = pupil_grid(m), set up with NumPy (no XLA programs)
    U, V = np.meshgrid(u, u, indexing="ij")
    return SampledPupil(phase=phase_fn(U, V, np), amplitude=amp_fn(U, V, np))


_sin_nodes = eqx.filter_jit(lambda b: b._pupil(jnp.float64)[0])


def _nodes(b):
    """The pupil coordinates (u, v) at which the 2-D quadrature evaluates the mask."""
    # the θ nodes do not depend on the 2-D mask: one program for the unmasked beam of the same
    # objective serves every pattern
    s = np.asarray(_sin_nodes(eqx.tree_at(lambda t: t.pupil, b, None, is_leaf=lambda x: x is None)))
    phi = 2 * np.pi * np.arange(b.azimuthal_order) / b.azimuthal_order
    sm = float(b.sin_theta_max)
    return (-s[:, None] * np.cos(phi) / sm, -s[:, None] * np.sin(phi) / sm)


def test_sampled_equals_callable_within_interpolation_error():
    assert np.array_equal(np.asarray(pupil_grid(17)), np.linspace(-1.0, 1.0, 17))
    exact = _eval(beam(lambda u, v: amp_fn(u, v) * jnp.exp(1j * phase_fn(u, v))), RHO)
    scale = float(np.max(np.abs(np.asarray(_eval(beam(), jnp.zeros(3))[0]))))
    errs = []
    for m in (17, 33):
        b = beam(sampled(m))
        u, v = _nodes(b)
        want = amp_fn(u, v, np) * np.exp(1j * phase_fn(u, v, np))
        interp = float(np.max(np.abs(np.asarray(b.pupil(u, v)) - want)))
        got = _eval(b, RHO)
        err = max(float(np.max(np.abs(np.asarray(g) - np.asarray(e)))) for g, e in zip(got[:2], exact[:2]))
        # |ΔE| ≤ Σ|w a| max|ΔM| ≈ |Ẽ_unmasked(focus)| × max|ΔM|
        assert err <= 1.5 * interp * scale, (m, err, interp)
        assert 0 < interp < 2e-3
        errs.append(interp)
    assert 5.0 < errs[0] / errs[1] < 12.0, errs  # third order: ≈ 8 per halving of h


# slow: three more pupil grids (one program each); sampled pupils stay covered by default against
# the callable-mask path in test_sampled_equals_callable_within_interpolation_error
@pytest.mark.slow
def test_constant_phase_is_a_global_phase_and_ramp_moves_the_focus():
    plain = _eval(beam(), RHO)
    const = _eval(beam(SampledPupil(phase=jnp.full((8, 8), 0.7))), RHO)
    for a, b in zip(const, plain):
        np.testing.assert_allclose(np.asarray(a), np.exp(0.7j) * np.asarray(b), atol=1e-12)
    gamma = 2.0
    u = pupil_grid(9)
    ramp = SampledPupil(phase=gamma * jnp.broadcast_to(u[:, None], (9, 9)))
    tilted = _eval(beam(ramp), RHO)
    shifted = _eval(beam(focus=(gamma / (K0 * NA), 0.0, 0.0)), RHO)
    for a, b in zip(tilted, shifted):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-11)
    # an amplitude-only pupil of ones is the unmasked beam
    ones = _eval(beam(SampledPupil(amplitude=jnp.ones((6, 7)))), RHO)
    for a, b in zip(ones, plain):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-12)


@eqx.filter_jit
def _objective(phase, amp):
    b = beam(SampledPupil(phase=phase, amplitude=amp))
    E, _ = b.fields_scaled(RHO)
    return jnp.sum(jnp.abs(E) ** 2)


def test_grad_wrt_samples_vs_finite_differences_and_vmap():
    rng = np.random.default_rng(0)
    phase = 0.3 * rng.normal(size=(6, 6))
    amp = 1.0 + 0.1 * rng.normal(size=(6, 6))
    gp, ga = eqx.filter_jit(jax.grad(_objective, argnums=(0, 1)))(phase, amp)
    for g, which in ((gp, 0), (ga, 1)):
        d = rng.normal(size=(6, 6))
        h = 1e-5
        args_p = [phase, amp]
        args_m = [phase, amp]
        args_p[which] = args_p[which] + h * d
        args_m[which] = args_m[which] - h * d
        fd = (_objective(*args_p) - _objective(*args_m)) / (2 * h)
        assert float(np.sum(np.asarray(g) * d)) == pytest.approx(float(fd), rel=1e-7)
    # vmap over a batch of patterns (no recompilation per pattern: pytree leaves)
    batch = np.stack([phase, -phase, 2 * phase])
    vm = eqx.filter_jit(jax.vmap(_objective, in_axes=(0, None)))(batch, amp)
    for i in range(3):
        assert float(vm[i]) == pytest.approx(float(_objective(batch[i], amp)), rel=1e-12)


def test_float32_and_focused_array():
    b = beam(sampled(12))
    # cast on the host (NumPy): no conversion programs
    b32 = jax.tree_util.tree_map(
        lambda x: np.asarray(x).astype(np.complex64 if np.iscomplexobj(x) else np.float32), b)
    o64, o32 = _eval(b, RHO), _eval(b32, np.asarray(RHO, np.float32))
    assert o32[0].dtype == jnp.complex64
    for a, c in zip(o32, o64):
        a, c = np.asarray(a), np.asarray(c)
        assert np.max(np.abs(a - c)) < 1e-5 * np.max(np.abs(c))
    foci = np.array([[0.0, 0.0, 0.0], [1.5e-6, 0.0, 0.0]])
    arr = focused_array(0.2, LAM, foci, NA, filling=1.0, pupil_mask=sampled(12), order=24,
                        extent=LAM, azimuthal_order=48)
    r = jnp.asarray([0.4e-6, 0.1e-6, 0.2e-6])
    ref = sum(np.asarray(beam(sampled(12), focus=tuple(f)).fields(r)[0]) for f in foci)
    np.testing.assert_allclose(np.asarray(arr.fields(r)[0]), ref, rtol=1e-12)


# slow: the mechanics TweezerArray's own programs; the pattern in the optics (the focused array's
# coherent sum with an SLM pupil) stays covered by default in test_float32_and_focused_array
@pytest.mark.slow
def test_tweezer_array_keeps_the_pattern():
    foci = np.array([[0.0, 0.0, 0.0], [1.5e-6, 0.0, 0.0]])
    r = jnp.asarray([0.4e-6, 0.1e-6, 0.2e-6])
    ref = sum(np.asarray(beam(sampled(12), focus=tuple(f)).fields(r)[0]) for f in foci)
    # a tweezer array built on an objective with an SLM pattern keeps the pattern
    import jaxbind as jb

    ta = jb.TweezerArray(jnp.asarray(foci), powers=0.2, wavelength=LAM, radii=50e-9,
                         alpha=1e-32 + 0j, density=2200.0, focus=beam(sampled(12)))
    np.testing.assert_allclose(np.asarray(ta.beam().fields(r)[0]), ref, rtol=1e-12)


@pytest.mark.unchecked
@pytest.mark.parametrize("kw, match", [
    (dict(), "phase or an amplitude"), (dict(phase=np.zeros((3, 8))), "4×4"),
    (dict(phase=np.zeros(16)), "2-D"), (dict(phase=np.zeros((8, 8)) + 1j), "real"),
    (dict(amplitude=np.full((8, 8), np.nan)), "amplitude must be finite"),
    (dict(phase=np.zeros((8, 8)), amplitude=np.ones((6, 6))), "one grid"),
])
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        SampledPupil(**kw)


@pytest.mark.unchecked
def test_bad_mask_type():
    with pytest.raises(TypeError, match="pupil_mask"):
        beam(np.ones((4, 4)))
