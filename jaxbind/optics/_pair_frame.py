"""The pair frame of two particles and the incident fields expressed in it (for optics.pair).

The pair frame has x' along r_B − r_A (rows e1, e2, e3 of a rotation R); incident plane
waves (closed-form phases) or any beam (fields and gradients) are expressed in it. Everything
is element-wise on 3-tuples (tiny batched dots are slow under vmap on CPU). A frame given as
Python floats (:func:`_static_frame`, pair on a fixed lab axis) is applied symbolically.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._fastmath import Cx, ccross, cdot, sincos
from .beams import CoherentBeams, PlaneWave


class _PlaneWaves(NamedTuple):
    """Incident plane waves in the pair frame: directions k (W-tuple of 3-tuples of reals)
    and complex fields E, H (W-tuple of 3-tuples of Cx) at one particle."""

    k: tuple
    E: tuple
    H: tuple

    def fields(self):
        E = tuple(sum(e[a] for e in self.E[1:]) + self.E[0][a] for a in range(3))
        H = tuple(sum(h[a] for h in self.H[1:]) + self.H[0][a] for a in range(3))
        return E, H

    def contract(self, ue, um):
        """Σ_a [u_e,a ∂_c E_a + u_m,a ∂_c H_a] (3-tuple of Cx): ∂_c E = Σ_w i k_w,c E_w."""
        out = [None, None, None]
        for kw, Ew, Hw in zip(self.k, self.E, self.H):
            sc = cdot(ue, Ew) + cdot(um, Hw)
            isc = Cx(-sc.im, sc.re)
            for c in range(3):
                term = isc * kw[c]
                out[c] = term if out[c] is None else out[c] + term
        return tuple(out)


class _TensorFields(NamedTuple):
    """Incident fields and gradients dE[a][c] = ∂_c E_a in the pair frame (any beam)."""

    E: tuple
    H: tuple
    dE: tuple
    dH: tuple

    def fields(self):
        return self.E, self.H

    def contract(self, ue, um):
        return tuple(sum((ue[a] * self.dE[a][c] + um[a] * self.dH[a][c] for a in range(1, 3)),
                         ue[0] * self.dE[0][c] + um[0] * self.dH[0][c]) for c in range(3))


def _pair_frame(d):
    """|d| and the rows (e1, e2, e3) of a right-handed frame with e1 = d/|d|.

    ``d`` is a 3-tuple of real scalars; everything stays element-wise (tiny batched dots
    and cross products are slow under vmap on CPU). Any smooth transverse choice works: the
    forces do not depend on it.
    """
    rho = jnp.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    e1 = tuple(v / rho for v in d)
    # reference axis z unless e1 is close to it, then x: e2 ∝ ref − (ref·e1) e1
    use_z = jnp.abs(e1[2]) < 0.9
    one, zero = jnp.ones_like(rho), jnp.zeros_like(rho)
    ref = (jnp.where(use_z, zero, one), zero, jnp.where(use_z, one, zero))
    proj = ref[0] * e1[0] + ref[2] * e1[2]
    e2 = tuple(r - proj * e for r, e in zip(ref, e1))
    # divisions, not a shared reciprocal: sharing 1/ρ with the propagators made XLA's
    # default (MLIR) fusion emitters re-evaluate it per use, 55 → 1240 ns per Born-1 point
    n2 = jnp.sqrt(e2[0] * e2[0] + e2[1] * e2[1] + e2[2] * e2[2])
    e2 = tuple(v / n2 for v in e2)
    e3 = (e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2],
          e1[0] * e2[1] - e1[1] * e2[0])
    return rho, (e1, e2, e3)


def _lin(coefs, vals):
    """Σ_i c_i v_i, left to right. Static Python-float coefficients (the fixed frame of
    :func:`pair_forces_axial`) are applied symbolically: 0 drops the term, ±1 costs nothing,
    so XLA also drops every pair-frame component the caller does not use."""
    acc = None
    for c, v in zip(coefs, vals):
        if isinstance(c, float):
            if c == 0.0:
                continue
            t = v if c == 1.0 else (-v if c == -1.0 else v * c)
        else:
            t = v * c
        acc = t if acc is None else acc + t
    return acc


def _static_frame(axis):
    """Rows of :func:`_pair_frame` at d = +ê_axis as Python floats (same transverse axes)."""
    e1 = np.eye(3)[axis]
    ref = np.array([0.0, 0.0, 1.0]) if abs(e1[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e2 = ref - (ref @ e1) * e1
    e2 = e2 / np.linalg.norm(e2)
    e3 = np.cross(e1, e2)
    return tuple(tuple(float(x) for x in e) for e in (e1, e2, e3))


def _rot_real(R, v):
    """R v for a real 3-vector (tuple or (3,) array); R rows as 3-tuples."""
    return tuple(_lin(R[a], (v[0], v[1], v[2])) for a in range(3))


def _rotcx(R, v, rdt):
    """R v for a complex 3-vector given as a (3,) complex array or 3-tuple of Cx."""
    if not isinstance(v, tuple):
        v = tuple(Cx(jnp.real(v[a]).astype(rdt), jnp.imag(v[a]).astype(rdt)) for a in range(3))
    return tuple(_lin(R[a], v) for a in range(3))


def _plane_wave_list(beam):
    """(directions (W, 3), complex amplitudes at ρ = 0 (W, 3) relative to the beam's E0),
    or None when ``beam`` is not made of plane waves."""
    if isinstance(beam, PlaneWave):
        parts = [(beam, False)]
        e_ref = None
    elif isinstance(beam, CoherentBeams) and all(isinstance(b, PlaneWave) for b in beam.beams):
        parts = list(zip(beam.beams, beam.stacked))
        e_ref = beam.reference_amplitude
    else:
        return None
    dirs, amps = [], []
    for b, stacked in parts:
        n = jnp.reshape(b.direction, (-1, 3))
        pol = jnp.reshape(b.polarization, (-1, 3))
        phase = jnp.ravel(b.phase)
        w = jnp.ones_like(phase) if e_ref is None else jnp.ravel(b.reference_amplitude) / e_ref
        s, c = sincos(phase)
        amp = pol * (w * jax.lax.complex(c, s).astype(pol.dtype))[:, None]
        dirs.append(n)
        amps.append(amp)
    return jnp.concatenate(dirs), jnp.concatenate(amps)


def _incident(beam, rho_a, rho_b, R):
    """Incident data at A and B (3-tuples of scaled positions) in the pair frame R."""
    rdt = rho_a[0].dtype
    pw = _plane_wave_list(beam)
    if pw is not None:
        dirs, amps = pw
        dirs = dirs.astype(rdt)
        kp = [_rot_real(R, dirs[w]) for w in range(dirs.shape[0])]
        Ep = [_rotcx(R, amps[w], rdt) for w in range(dirs.shape[0])]
        out = []
        for rho in (rho_a, rho_b):
            Es, Hs = [], []
            for w in range(dirs.shape[0]):
                s, c = sincos(dirs[w, 0] * rho[0] + dirs[w, 1] * rho[1] + dirs[w, 2] * rho[2])
                E = tuple(e * Cx(c, s) for e in Ep[w])
                Es.append(E)
                Hs.append(ccross(tuple(Cx(kc, jnp.zeros_like(kc)) for kc in kp[w]), E))
            out.append(_PlaneWaves(tuple(kp), tuple(Es), tuple(Hs)))
        return out
    out = []
    for rho in (rho_a, rho_b):
        r = jnp.stack(rho)
        E, H = beam.fields_scaled(r)
        dE, dH = beam.field_gradients_scaled(r)
        out.append(_TensorFields(_rotcx(R, E, rdt), _rotcx(R, H, rdt), _rot_tensor(R, dE, rdt),
                                 _rot_tensor(R, dH, rdt)))
    return out


def _rot_tensor(R, T, rdt):
    """R T Rᵀ of a complex (3, 3) array as nested 3-tuples of Cx."""
    rows = [_rotcx(R, T[:, c], rdt) for c in range(3)]  # (R T)[a][c] = rows[c][a]
    return tuple(_rotcx(R, tuple(rows[c][a] for c in range(3)), rdt) for a in range(3))
