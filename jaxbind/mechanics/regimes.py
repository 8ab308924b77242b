"""Coupling regimes of two particles (paper 000/001 Fig. 3a) and array geometries for N > 2
(paper 001 Sec. IV.B.5).

Regimes (paper 000 Fig. 3 caption, in the dimensionless rates of paper 000 eqs. 6, 8):

* reciprocal:      |g_r| > |g_a| and |g_r| > |Re D12|
* directional:     |g_r + g_a| > 2|g_r − g_a| or |g_r − g_a| > 2|g_r + g_a|
* antireciprocal:  |g_a| > |g_r| and |g_a| > |Re D12|
* noise-correlation dominated: |Re D12| > 2 max(|g_r + g_a|, |g_r − g_a|)
* none: otherwise.

Paper 001's Fig. 3 caption states the same conditions in terms of C12, C21 and 2D12/ħ
(C12 = 2mω(g_r + g_a), C21 = 2mω(g_r − g_a), Re 2D12/ħ = 2mω Re D12^(000)), but with two
typos: "g_r > g_a (g_a > g_r)" without absolute values, and the antireciprocal condition
"|C12 + C21| > 2|Re 2D12/ħ|", which would compare g_r (not g_a) with the noise; the
consistent form is |C12 − C21| > 2|Re 2D12/ħ| ⇔ |g_a| > |Re D12|, as in paper 000.

The conditions overlap (directional overlaps both reciprocal and antireciprocal, and the
noise condition can coincide with directional near the uncoupled points); the captions do not
say which colour wins. :func:`regime` uses the priority noise > directional > (anti)reciprocal,
i.e. the strongest statement first; :func:`regime_indicators` returns all five booleans.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_float_array
from typing import Any

from jaxtyping import Bool

from .._types import Array, ArrayLike, Float, Int, Real
from .array import TweezerArray
from .rates import coupling_rates

__all__ = [
    "NONE",
    "RECIPROCAL",
    "DIRECTIONAL",
    "ANTIRECIPROCAL",
    "NOISE",
    "REGIME_NAMES",
    "regime",
    "regime_indicators",
    "regime_point",
    "regime_map",
    "chain_positions",
    "ring_positions",
    "grid_positions",
    "unidirectional_chain",
]

NONE, RECIPROCAL, DIRECTIONAL, ANTIRECIPROCAL, NOISE = 0, 1, 2, 3, 4
REGIME_NAMES = ("none", "reciprocal", "directional", "antireciprocal", "noise-correlation")


def regime_indicators(g_r: Float[ArrayLike, "*#b"], g_a: Float[ArrayLike, "*#b"],
                      re_D12: Float[ArrayLike, "*#b"]
                      ) -> tuple[Bool[Array, "*batch"], Bool[Array, "*batch"],
                                 Bool[Array, "*batch"], Bool[Array, "*batch"]]:
    """The five Fig. 3a conditions (module docstring) as booleans
    (reciprocal, directional, antireciprocal, noise)."""
    g_r, g_a = jnp.asarray(g_r), jnp.asarray(g_a)
    rd = jnp.abs(jnp.asarray(re_D12))
    s, d = jnp.abs(g_r + g_a), jnp.abs(g_r - g_a)
    ar, aa = jnp.abs(g_r), jnp.abs(g_a)
    rec = (ar > aa) & (ar > rd)
    direc = (s > 2.0 * d) | (d > 2.0 * s)
    anti = (aa > ar) & (aa > rd)
    noise = rd > 2.0 * jnp.maximum(s, d)
    return rec, direc, anti, noise


def regime(g_r: Float[ArrayLike, "*#b"], g_a: Float[ArrayLike, "*#b"],
           re_D12: Float[ArrayLike, "*#b"]) -> Int[Array, "*batch"]:
    """Regime code (int8) of paper 000 Fig. 3a: NONE 0, RECIPROCAL 1, DIRECTIONAL 2,
    ANTIRECIPROCAL 3, NOISE 4 (priority noise > directional > (anti)reciprocal)."""
    rec, direc, anti, noise = regime_indicators(g_r, g_a, re_D12)
    code = jnp.where(rec, RECIPROCAL, NONE)
    code = jnp.where(anti, ANTIRECIPROCAL, code)
    code = jnp.where(direc, DIRECTIONAL, code)
    code = jnp.where(noise, NOISE, code)
    return code.astype(jnp.int8)


def _rwa_growth(g_r, g_a, dw):
    """max Im ω_± of paper 000 eq. 12, ω_± = ±½√disc with the real discriminant
    disc = δω² − 4g_aδω + 4g_r²: ½√max(−disc, 0) (no complex sqrt, which is several times
    slower on CPU; equal to :func:`~jaxbind.mechanics.modes.two_mode_eigenfrequencies`)."""
    neg = -(dw * dw - 4.0 * g_a * dw + 4.0 * g_r * g_r)
    broken = neg > 0
    # double where: the derivative is finite (0) in the unbroken phase instead of 0·∞ = NaN
    return jnp.where(broken, 0.5 * jnp.sqrt(jnp.where(broken, neg, 1.0)), 0.0)


def regime_point(phase: Float[ArrayLike, "*#b"], kd: Float[ArrayLike, "*#b"],
                 delta_omega: Float[ArrayLike, "*#b"] = 0.0
                 ) -> tuple[Int[Array, "*batch"], Float[Array, "*batch"]]:
    """Rates, RWA eigenfrequencies and regime at one (φ, kd) point (the Fig. 3 kernel).

    Args:
        phase: φ (rad); kd: k d; delta_omega: detuning δω in units of G (paper 000 eq. A7).
    Returns:
        (code int8, growth): regime code and max Im ω_± (units of G) of paper 000 eq. 12
        (> 0: PT-broken, one mode grows).
    Errors:
        as :func:`~jaxbind.mechanics.rates.coupling_rates` (kd ≤ 0: ``ValueError`` for
        concrete input; NaN growth and code NONE under jit/vmap).
    """
    g_r, g_a, D12 = coupling_rates(phase, kd)
    dw = jnp.asarray(delta_omega)
    growth = _rwa_growth(g_r, g_a, dw)
    # a bad point (kd ≤ 0 traced → NaN rates) is NaN, not the 0 of an "unbroken" phase
    growth = jnp.where(jnp.isnan(g_r) | jnp.isnan(dw), jnp.nan, growth)
    return regime(g_r, g_a, jnp.real(D12)), growth


def _check_axis(name, x):
    x = as_float_array(x, name)
    if x.ndim != 1 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array (one grid axis), got shape "
                         f"{tuple(x.shape)}")
    return x


def regime_map(phases: Float[ArrayLike, " p"], kds: Float[ArrayLike, " q"],
               delta_omega: Real = 0.0, *, batch_size: int = 8
               ) -> tuple[Int[Array, "p q"], Float[Array, "p q"]]:
    """Paper 000 Fig. 3a (and the PT growth rate of eq. 12) on the grid phases × kds.

    Grid-structured form of :func:`regime_point` (same formulas, identical codes). The rates
    are separable, g_r = [cos(kd)/kd] cos φ, g_a = [sin(kd)/kd] sin φ,
    Re D12 = [sin(kd)/kd] cos φ (paper 000 eqs. 6, 8 with G = 1), so the trigonometric
    functions are evaluated once per axis (P + Q evaluations instead of 4PQ) and the 2-D
    part is elementwise real arithmetic: a few products, comparisons and one real square
    root per point. Rows are processed by a ``lax.fori_loop`` over blocks of ``batch_size``
    rows, each block one fused elementwise pass per output written in place, so that the
    1-D factors are not re-fused into the 2-D loop (XLA would otherwise recompute the
    trigonometric functions per point, ~10× slower) and no 2-D temporary exists: the
    outputs are the only O(PQ) memory (for grids larger than memory, call it on row
    chunks, as ``benchmarks/bench_array.py`` does).
    Call under ``jax.jit``.

    Args:
        phases: (P,) relative tweezer phases φ = φ_1 − φ_2 (rad), finite.
        kds: (Q,) k × tweezer distance (dimensionless), > 0.
        delta_omega: scalar detuning δω in units of G (paper 000 eq. A7).
        batch_size: rows per loop step (static int ≥ 1; 4–16 keep a block in L1/L2).
    Returns:
        (codes, growth): (P, Q) int8 regime codes (:data:`REGIME_NAMES`) and (P, Q) max Im ω_±
        of eq. 12 in units of G (> 0: PT-broken), dtype of the inputs.
    Errors:
        ValueError (trace time) for axes that are not 1-D, a non-scalar delta_omega or a bad
        batch_size; TypeError for complex axes; ``EquinoxRuntimeError`` (under
        ``eqx.filter_jit`` or eagerly) for non-finite phases or kd ≤ 0 / non-finite
        (checked on the 1-D axes, O(P + Q)).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    phases = _check_axis("phases", phases)
    kds = _check_axis("kds", kds)
    dw = jnp.asarray(delta_omega)
    if dw.ndim != 0:
        raise ValueError(f"delta_omega must be a scalar, got shape {tuple(dw.shape)}")
    phases = eqx.error_if(phases, ~jnp.all(jnp.isfinite(phases)),
                          "regime_map: phases must be finite")
    kds = eqx.error_if(kds, ~jnp.all(jnp.isfinite(kds) & (kds > 0)),
                       "regime_map: kds must be finite and > 0")
    # 1-D factors, same association as coupling_rates ((g·cos kd)·cos φ) so the codes are
    # bit-identical to regime_point's.
    g = 1.0 / kds
    A = g * jnp.cos(kds)
    B = g * jnp.sin(kds)
    absB = jnp.abs(B)
    cp, sp = jnp.cos(phases), jnp.sin(phases)

    n_rows, n_cols = phases.shape[0], kds.shape[0]
    # ≥ 2 blocks whenever n_rows ≥ 2: XLA inlines a one-trip loop and would then fuse the
    # 1-D trigonometric factors back into the 2-D loop (recomputed per point, ~10× slower).
    b = max(1, min(batch_size, -(-n_rows // 2)))
    n_blocks = -(-n_rows // b)

    def body(i, out):
        codes, growth = out
        # the last block is shifted back to end at n_rows (a few rows recomputed) instead of
        # a remainder pass, whose concatenation would copy the whole output once more
        start = jnp.minimum(i * b, n_rows - b)
        c = jax.lax.dynamic_slice_in_dim(cp, start, b)[:, None]
        s = jax.lax.dynamic_slice_in_dim(sp, start, b)[:, None]
        g_r = A * c
        g_a = B * s
        rd = absB * jnp.abs(c)  # |Re D12| = |B c| exactly
        codes = jax.lax.dynamic_update_slice_in_dim(codes, regime(g_r, g_a, rd), start, 0)
        growth = jax.lax.dynamic_update_slice_in_dim(growth, _rwa_growth(g_r, g_a, dw), start, 0)
        return codes, growth

    rdt = jnp.result_type(A, cp, dw)
    out = (jnp.zeros((n_rows, n_cols), jnp.int8), jnp.zeros((n_rows, n_cols), rdt))
    return jax.lax.fori_loop(0, n_blocks, body, out)


# --------------------------------------------------------------------------------------
# geometries
# --------------------------------------------------------------------------------------


def chain_positions(n: int, spacing: Real) -> Float[Array, "n 2"]:
    """(n, 2) foci of a straight chain along e_x with the given spacing (m)."""
    return jnp.stack([jnp.arange(n) * spacing, jnp.zeros(n)], axis=-1)


def ring_positions(n: int, radius: Real) -> Float[Array, "n 2"]:
    """(n, 2) foci on a circle of the given radius (m)."""
    t = 2 * jnp.pi * jnp.arange(n) / n
    return radius * jnp.stack([jnp.cos(t), jnp.sin(t)], axis=-1)


def grid_positions(nx: int, ny: int, spacing: Real) -> Float[Array, "k 2"]:
    """(nx·ny, 2) foci of a square lattice (row-major in y) with the given spacing (m)."""
    x, y = np.meshgrid(np.arange(nx), np.arange(ny))
    return jnp.stack([jnp.asarray(x.ravel()), jnp.asarray(y.ravel())], axis=-1) * spacing


def unidirectional_chain(n: int, wavelength: float, *, periods: int = 3, **kwargs: Any
                         ) -> TweezerArray:
    """Chain of paper 001 Sec. IV.B.5 item 1: nearest-neighbour phase difference π/4 and
    spacing (2π·periods + π/4)/k, polarization ⟂ the chain.

    Then C_{j,j+m} ∝ cos(m(kd − φ))/m = 1/m > 0 for all m (couplings one way always
    positive) and C_{j+m,j} ∝ cos(m(kd + φ))/m = cos(mπ/2)/m (zero for odd m, alternating
    sign −, +, … for m = 2, 4, …): a unidirectional chain is impossible with 1/d couplings.

    Args:
        n: number of tweezers; wavelength: λ (m); periods: the integer n of the spacing.
        kwargs: further :class:`TweezerArray` arguments (powers, waist/NA, radius, index,
            density, …).
    """
    k = 2 * np.pi / wavelength
    d = (2 * np.pi * periods + np.pi / 4) / k
    phases = -jnp.pi / 4 * jnp.arange(n)  # φ_j − φ_{j+1} = π/4
    return TweezerArray(chain_positions(n, d), wavelength=wavelength, phases=phases,
                        polarization_angles=np.pi / 2, **kwargs)
