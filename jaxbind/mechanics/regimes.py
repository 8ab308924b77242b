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

import jax
import jax.numpy as jnp
import numpy as np

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


def regime_indicators(g_r, g_a, re_D12):
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


def regime(g_r, g_a, re_D12):
    """Regime code (int8) of paper 000 Fig. 3a: NONE 0, RECIPROCAL 1, DIRECTIONAL 2,
    ANTIRECIPROCAL 3, NOISE 4 (priority noise > directional > (anti)reciprocal)."""
    rec, direc, anti, noise = regime_indicators(g_r, g_a, re_D12)
    code = jnp.where(rec, RECIPROCAL, NONE)
    code = jnp.where(anti, ANTIRECIPROCAL, code)
    code = jnp.where(direc, DIRECTIONAL, code)
    code = jnp.where(noise, NOISE, code)
    return code.astype(jnp.int8)


def regime_point(phase, kd, delta_omega=0.0):
    """Rates, RWA eigenfrequencies and regime at one (φ, kd) point (the Fig. 3 kernel).

    Args:
        phase: φ (rad); kd: k d; delta_omega: detuning δω in units of G (paper 000 eq. A7).
    Returns:
        (code int8, growth): regime code and max Im ω_± (units of G) of paper 000 eq. 12
        (> 0: PT-broken, one mode grows).
    """
    g_r, g_a, D12 = coupling_rates(phase, kd)
    # eq. 12, ω_± = ±½√disc with real disc: max Im ω_± = ½√max(−disc, 0) (no complex sqrt,
    # which is several times slower on CPU; equal to two_mode_eigenfrequencies, tested)
    dw = jnp.asarray(delta_omega)
    disc = dw**2 - 4.0 * g_a * dw + 4.0 * g_r**2
    growth = 0.5 * jnp.sqrt(jnp.maximum(-disc, 0.0))
    return regime(g_r, g_a, jnp.real(D12)), growth


def regime_map(phases, kds, delta_omega=0.0, *, batch_size: int = 64):
    """Fig. 3a on the grid phases × kds: (codes int8 (P, Q), growth (P, Q)).

    Rows are evaluated with ``lax.map`` in batches of ``batch_size`` (memory ~ batch·Q), each
    row vmapped over kd. Call under ``jax.jit`` for speed.
    """
    phases = jnp.asarray(phases)
    kds = jnp.asarray(kds)
    row = jax.vmap(regime_point, in_axes=(None, 0, None))
    return jax.lax.map(lambda p: row(p, kds, delta_omega), phases, batch_size=batch_size)


# --------------------------------------------------------------------------------------
# geometries
# --------------------------------------------------------------------------------------


def chain_positions(n: int, spacing):
    """(n, 2) foci of a straight chain along e_x with the given spacing (m)."""
    return jnp.stack([jnp.arange(n) * spacing, jnp.zeros(n)], axis=-1)


def ring_positions(n: int, radius):
    """(n, 2) foci on a circle of the given radius (m)."""
    t = 2 * jnp.pi * jnp.arange(n) / n
    return radius * jnp.stack([jnp.cos(t), jnp.sin(t)], axis=-1)


def grid_positions(nx: int, ny: int, spacing):
    """(nx·ny, 2) foci of a square lattice (row-major in y) with the given spacing (m)."""
    x, y = np.meshgrid(np.arange(nx), np.arange(ny))
    return jnp.stack([jnp.asarray(x.ravel()), jnp.asarray(y.ravel())], axis=-1) * spacing


def unidirectional_chain(n: int, wavelength, *, periods: int = 3, **kwargs) -> TweezerArray:
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
