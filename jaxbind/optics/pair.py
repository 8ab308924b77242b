"""Closed-form forces on two isotropic electric + magnetic dipoles (paper 003 eqs. 3–5, vector form).

For two isotropic particles the coupled-dipole system of :mod:`jaxbind.optics.dipoles`
(12 complex unknowns) decouples in the *pair frame* — x' along the axis from particle A to
particle B, y', z' transverse — because the free-space propagators between the two points
are diagonal there (scaled units of :mod:`jaxbind.constants`, ρ = k|r_B − r_A|, e = e^{iρ},
t = 1/ρ, green.py's g = f1(1 − n⊗n) + g∥ n⊗n and gc v = h n × v):

    f1 = e (t + i t² − t³)   (transverse),   g∥ = 2 e (t³ − i t²)   (axial),   h = e (t + i t²).

Blocks (s = +1 for the field at B from A, s = −1 at A from B):

* axial electric p_x' and axial magnetic m_x': 2 × 2 each, coupling g∥ (no cross term,
  n × x̂' = 0);
* transverse mode 1, u = (p_y', m_z') driven by (E_y', H_z'), and mode 2, u = (p_z', −m_y')
  driven by (E_z', −H_y'): both see the same coupling matrix G_s = [[f1, s h], [s h, f1]]
  (mode 2 is mode 1 rotated by 90° about the axis). This is paper 003 eq. 4 (its φ, ψ are
  f1 and h; the signs there are s = ±1) for each transverse polarisation.

With D_P = diag(α̃e_P, α̃m_P) the exact transverse solution is
(1 − D_A G₋ D_B G₊) u_A = D_A (y_A + G₋ D_B y_B), u_B = D_B (y_B + G₊ u_A) — one 2 × 2
inverse shared by both modes; the axial ones are scalar. The Born series of order n
(n scattering events, paper 003's "one iteration of eq. 4" is n = 1) follows
:func:`~jaxbind.optics.dipoles.solve_dipoles`: x⁽⁰⁾ = D y, x⁽ˢ⁾ = D (y + G x⁽ˢ⁻¹⁾), and the
field acting on x⁽ⁿ⁾ is radiated by x⁽ⁿ⁻¹⁾.

Forces follow :mod:`jaxbind.optics.forces` exactly (paper 003 eq. 3, Chaumet & Rahmani
vector form, ∇ on the local field at fixed moments, unit F0 = 4πε0E0²/k²):

    F̃_P = ½ Re Σ_a [p̃_a* ∇̃Ẽ_a + m̃_a* ∇̃H̃_a] − ⅓ Re(p̃ × m̃*),   f_P = F_P − F_P,iso,

where the scattered-field gradient at target P from the other particle Q reduces in the pair
frame to (u_e = p_P*, u_m = m_P*, moments p, m of Q; primes on radial derivatives):

    T_x' = s [f1' Σ_modes (P_P* P_Q + M_P* M_Q) + g∥' (p_x'* p_x' + m_x'* m_x')]
           + h' Σ_modes (P_P* M_Q + M_P* P_Q),
    T_y' = s (f2/ρ)[u_e,y p_x + u_e,x p_y + u_m,y m_x + u_m,x m_y]
           + (h/ρ)[−m_z u_e,x + m_x u_e,z + p_z u_m,x − p_x u_m,z],
    T_z' = s (f2/ρ)[u_e,z p_x + u_e,x p_z + u_m,z m_x + u_m,x m_z]
           + (h/ρ)[−m_x u_e,y + m_y u_e,x + p_x u_m,y − p_y u_m,x],

(f2 = g∥ − f1) from ∇_d[u·g(d) b] and ∇_d[u·gc(d) b] of forces.py evaluated at d = s ρ x̂'.

Performance (why this module is written the way it is): XLA on CPU evaluates complex
arithmetic and ``sin``/``cos`` poorly inside large fusions (complex ops do not vectorise;
``jnp.sin`` + ``jnp.cos`` cost ≈ 12 ns per float64 point on the development CPU against
≈ 0.8 ns for ``jnp.exp``). The kernel therefore carries every complex number as a pair of
real arrays (:class:`Cx`) and computes e^{iθ} with a Cody–Waite-reduced minimax
polynomial (:func:`sincos`, ≈ 1.3 ns per point, ≤ 1 ulp on |θ| ≲ 10⁶) with an exact JVP.
CPU-specific speed-ups of this kernel live in :mod:`jaxbind.contrib`: the XLA compile options
:data:`jaxbind.contrib.CPU_COMPILER_OPTIONS` (sweeps of this kernel on CPU run ≈ 2–3× faster
with them) and :func:`jaxbind.contrib.pair_forces_axial` (a pair on a fixed lab axis, with a
constant pair frame, ≈ 2.5× faster in sweeps).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp

from .._entry import compiled_entry
from .._precision import highest_precision
from .. import constants as C
from .._checks import as_float_array, check_shape
from .._types import Array, ArrayLike, Float, Num, Real, RealDtype
from .beams import AbstractBeam, medium_index
from ._fastmath import Cx, ccross, cx, sincos
from ._pair_frame import _incident, _lin, _pair_frame, _static_frame
from ..results import RESULTS, code, message
from ..results import index as result_index
from . import _propagator as P
from .forces import NonReciprocity, _ratio, nonreciprocity_from_jacobian
from .particles import Particle, Particles, as_particles

__all__ = [
    "PairForces",
    "pair_forces",
    "pair_forces_scaled",
    "pair_nonreciprocity_factors",
]


# --------------------------------------------------------------------------------------
# pair-frame kernel
# --------------------------------------------------------------------------------------


class _Props(NamedTuple):
    f1: Cx
    h: Cx
    gl: Cx
    df1: Cx
    dh: Cx
    dgl: Cx
    f2r: Cx
    hr: Cx


def _propagators(rho):
    """Radial functions of the pair (module docstring) and their ρ-derivatives, at ρ > 0,
    from the one propagator table (:mod:`jaxbind.optics._propagator`) in real-pair form."""
    s, c = sincos(rho)
    t = 1.0 / rho

    def ev(f):
        return Cx(*P.evaluate_parts(f, c, s, t))

    return _Props(f1=ev(P.F1), h=ev(P.H), gl=ev(P.GL), df1=ev(P.DF1), dh=ev(P.DH),
                  dgl=ev(P.DGL), f2r=ev(P.F2R), hr=ev(P.HR))


class _Modes(NamedTuple):
    """Pair-frame moments (or fields) of one particle by block: axial x', modes 1 and 2."""

    px: Cx
    mx: Cx
    p1: Cx
    m1: Cx
    p2: Cx
    m2: Cx

    @classmethod
    def from_fields(cls, E, H):
        """(E_x', H_x', E_y', H_z', E_z', −H_y') from pair-frame 3-tuples E, H."""
        return cls(E[0], H[0], E[1], H[2], E[2], -H[1])

    def vectors(self):
        """(p, m) pair-frame 3-tuples: p = (p_x', P1, P2), m = (m_x', −M2, M1)."""
        return (self.px, self.p1, self.p2), (self.mx, -self.m2, self.m1)

    def scale(self, a, b):
        """D u: electric parts × a, magnetic parts × b."""
        return _Modes(self.px * a, self.mx * b, self.p1 * a, self.m1 * b, self.p2 * a, self.m2 * b)


def _propagate(pr: _Props, u: _Modes, s: float) -> _Modes:
    """Fields at the target radiated by moments u of the other particle, G_s u."""
    sh = pr.h * s
    return _Modes(pr.gl * u.px, pr.gl * u.mx,
                  pr.f1 * u.p1 + sh * u.m1, sh * u.p1 + pr.f1 * u.m1,
                  pr.f1 * u.p2 + sh * u.m2, sh * u.p2 + pr.f1 * u.m2)


def _add(a: _Modes, b: _Modes) -> _Modes:
    return _Modes(*(x + y for x, y in zip(a, b)))


def _singular(*dens):
    """True where one of the complex denominators (Cx) of the pair solve vanishes or is not
    finite: the pair system is singular there."""
    bad = False
    for d in dens:
        a2 = d.re * d.re + d.im * d.im
        bad = bad | ~(a2 > 0) | ~jnp.isfinite(a2)
    return bad


def _exact_moments(pr, yA, yB, aA, bA, aB, bB):
    """Self-consistent moments (u_A, u_B) of the pair (module docstring) and a flag: the
    pair system is singular."""
    f1, h = pr.f1, pr.h
    f1s, hs, fh = f1 * f1, h * h, f1 * h
    # 1 − K_A K_B with K_A = D_A G₋, K_B = D_B G₊
    m00 = 1.0 - aA * (aB * f1s - bB * hs)
    m01 = -(aA * fh * (aB - bB))
    m10 = -(bA * fh * (bB - aB))
    m11 = 1.0 - bA * (bB * f1s - aB * hs)
    det = m00 * m11 - m01 * m10
    inv_det = det.inv()
    rhs = _add(yA, _propagate(pr, yB.scale(aB, bB), -1.0)).scale(aA, bA)

    def solve(r0, r1):
        return (m11 * r0 - m01 * r1) * inv_det, (m00 * r1 - m10 * r0) * inv_det

    p1, m1 = solve(rhs.p1, rhs.m1)
    p2, m2 = solve(rhs.p2, rhs.m2)
    gl2 = pr.gl * pr.gl
    den_p, den_m = 1.0 - aA * aB * gl2, 1.0 - bA * bB * gl2
    px = rhs.px * den_p.inv()
    mx = rhs.mx * den_m.inv()
    uA = _Modes(px, mx, p1, m1, p2, m2)
    uB = _add(yB, _propagate(pr, uA, 1.0)).scale(aB, bB)
    return uA, uB, _singular(det, den_p, den_m)


def _born_moments(pr, yA, yB, aA, bA, aB, bB, order):
    """(x_A, x_B, src_A, src_B) after ``order`` scattering events (order ≥ 1)."""
    x0A, x0B = yA.scale(aA, bA), yB.scale(aB, bB)

    def step(cur):
        cA, cB = cur
        return (_add(yA, _propagate(pr, cB, -1.0)).scale(aA, bA),
                _add(yB, _propagate(pr, cA, 1.0)).scale(aB, bB))

    src, x = (x0A, x0B), step((x0A, x0B))
    if order > 1:
        src, x = jax.lax.fori_loop(0, order - 1, lambda _, c: (c[1], step(c[1])), (src, x))
    return x[0], x[1], src[0], src[1]


def _scattered_gradient(pr: _Props, own: _Modes, src: _Modes, s: float):
    """T (pair frame, 3-tuple of Cx): Σ_a [p*_a ∇E_sc,a + m*_a ∇H_sc,a] at the target."""
    ue, um = own.vectors()
    ue = tuple(v.conj() for v in ue)
    um = tuple(v.conj() for v in um)
    p, m = src.vectors()
    tx = (pr.df1 * (ue[1] * p[1] + ue[2] * p[2] + um[1] * m[1] + um[2] * m[2])
          + pr.dgl * (ue[0] * p[0] + um[0] * m[0])) * s \
        + pr.dh * (own.p1.conj() * src.m1 + own.m1.conj() * src.p1
                   + own.p2.conj() * src.m2 + own.m2.conj() * src.p2)
    ty = pr.f2r * (ue[1] * p[0] + ue[0] * p[1] + um[1] * m[0] + um[0] * m[1]) * s \
        + pr.hr * (m[0] * ue[2] - m[2] * ue[0] + p[2] * um[0] - p[0] * um[2])
    tz = pr.f2r * (ue[2] * p[0] + ue[0] * p[2] + um[2] * m[0] + um[0] * m[2]) * s \
        + pr.hr * (m[1] * ue[0] - m[0] * ue[1] + p[0] * um[1] - p[1] * um[0])
    return tx, ty, tz


def _recoil(u: _Modes):
    """Re(p × m*) (pair frame, 3-tuple of real arrays)."""
    p, m = u.vectors()
    mc = tuple(v.conj() for v in m)
    return tuple(v.re for v in ccross(p, mc))


class PairForces(eqx.Module):
    """Result of :func:`pair_forces` / :func:`pair_forces_scaled`.

    Attributes:
        f: (2, 3) interparticle forces f_A, f_B = F − F_iso (paper 003 Sec. II), lab frame
            (newtons from :func:`pair_forces`, units of 4πε0E0²/k² from the scaled kernel).
        F: (2, 3) total forces F_A, F_B (same units).
        nrf0: (3,) zeroth-order non-reciprocity factors NRF⁽⁰⁾_α, α = x, y, z of the lab
            frame (paper 003 eq. 1; 0 where f_A ± f_B both vanish along α).
        result: :data:`jaxbind.RESULTS` item: ``successful``, ``overlap`` or ``singular``
            (non-finite); f, F and nrf0 are NaN unless successful.
    """

    f: Float[Array, "2 3"]
    F: Float[Array, "2 3"]
    nrf0: Float[Array, "3"]
    result: RESULTS

    @property
    def status(self):
        """int32 code of :attr:`result` (:func:`jaxbind.results.code`)."""
        return code(self.result)


def _kernel(rho_a, rho_b, ae, am, beam, order, contact, throw, axis=None):
    """Scaled pair forces (see :func:`pair_forces_scaled`); with ``axis`` (static) ``rho_b``
    is the scalar distance L and B sits at ρ_A + L ê_axis (:func:`jaxbind.contrib.pair_forces_axial`)."""
    rdt = rho_a.dtype
    msg = "pair_forces: particles 0 and 1 overlap (centre distance ≤ sum of radii)"
    if axis is None:
        d = rho_b - rho_a
        dist2 = jnp.sum(d * d)
        overlap = ~(dist2 > contact * contact) | ~(dist2 > 0)
        if throw:
            d = eqx.error_if(d, overlap, msg)
        # a harmless separated configuration for overlapping points in sweeps (finite
        # derivatives); the outputs there are NaN with result = overlap
        d = jnp.where(overlap, jnp.array([10.0, 0.0, 0.0], rdt), d)
        d = (d[0], d[1], d[2])
        rho_a = (rho_a[0], rho_a[1], rho_a[2])
        rho, R = _pair_frame(d)
        rho_b = tuple(x + y for x, y in zip(rho_a, d))
    else:
        # fixed pair frame: no normalisation / transverse axes, and XLA prunes what the
        # caller does not read (e.g. f along the axis only). Same frame as _pair_frame.
        L = rho_b
        overlap = ~(L > contact) | ~(L > 0)
        if throw:
            L = eqx.error_if(L, overlap, msg.replace("pair_forces", "pair_forces_axial"))
        rho = jnp.where(overlap, jnp.asarray(10.0, rdt), L)
        R = _static_frame(axis)
        rho_a = (rho_a[0], rho_a[1], rho_a[2])
        rho_b = tuple(x + rho if i == axis else x for i, x in enumerate(rho_a))
    incA, incB = _incident(beam, rho_a, rho_b, R)
    yA = _Modes.from_fields(*incA.fields())
    yB = _Modes.from_fields(*incB.fields())
    aA, aB = cx(ae[0], rdt), cx(ae[1], rdt)
    bA, bB = cx(am[0], rdt), cx(am[1], rdt)
    pr = _propagators(rho)
    x0A, x0B = yA.scale(aA, bA), yB.scale(aB, bB)
    if order is None:
        xA, xB, singular = _exact_moments(pr, yA, yB, aA, bA, aB, bB)
        sA, sB = xA, xB
    elif order == 0:
        xA, xB = x0A, x0B
        zero = _Modes(*(Cx(jnp.zeros_like(rho), jnp.zeros_like(rho)),) * 6)
        sA = sB = zero
    else:
        xA, xB, sA, sB = _born_moments(pr, yA, yB, aA, bA, aB, bB, order)
    if order is not None:
        singular = jnp.zeros((), bool)  # a finite number of scattering events solves nothing

    def forces(inc, x, x0, src, s):
        dp, dm = _add(x, _Modes(*(-v for v in x0))).vectors()
        ti = inc.contract(tuple(v.conj() for v in dp), tuple(v.conj() for v in dm))
        ts = _scattered_gradient(pr, x, src, s)
        r, r0 = _recoil(x), _recoil(x0)
        f = tuple(0.5 * (ti[c].re + ts[c].re) - (r[c] - r0[c]) / 3.0 for c in range(3))
        p0, m0 = x0.vectors()
        t0 = inc.contract(tuple(v.conj() for v in p0), tuple(v.conj() for v in m0))
        Fiso = tuple(0.5 * t0[c].re - r0[c] / 3.0 for c in range(3))
        # pair frame → lab: F_lab = Σ_a F'_a e_a
        lab = lambda v: [_lin((R[0][b], R[1][b], R[2][b]), v)  # noqa: E731
                         for b in range(3)]
        f = lab(f)
        return f, [x + y for x, y in zip(f, lab(Fiso))]

    fA, FA = forces(incA, xA, x0A, sB, -1.0)
    fB, FB = forces(incB, xB, x0B, sA, 1.0)
    f = jnp.stack([jnp.stack(fA), jnp.stack(fB)])
    F = jnp.stack([jnp.stack(FA), jnp.stack(FB)])
    # "singular" from the pair system's denominators, not from a reduction over the outputs:
    # a reduction over f, F makes XLA CPU materialise and re-evaluate the whole kernel
    # (≈ 15× slower Born-1 sweeps, benchmarks/bench_dipoles.py)
    bad = singular
    result = RESULTS.where(overlap, RESULTS.overlap,
                           RESULTS.where(bad, RESULTS.singular, RESULTS.successful))
    ok = result == RESULTS.successful
    nan = jnp.asarray(jnp.nan, f.dtype)
    f, F = jnp.where(ok, f, nan), jnp.where(ok, F, nan)
    if throw:  # after the NaN mask (a check on a discarded value can be folded away)
        f = eqx.error_if(f, bad & ~overlap, "pair_forces: non-finite forces (singular pair system)")
    return f, F, _ratio(f[0] + f[1], f[0] - f[1]), result


def _check_order(order):
    if order is None:
        return
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be None (self-consistent) or a non-negative int, got {order!r}")


def _check_beam(beam):
    if not isinstance(beam, AbstractBeam):
        raise TypeError(f"beam must be a jaxbind beam (AbstractBeam), got {type(beam).__name__}")


def _scalar_pair(name, x, dtype):
    x = jnp.asarray(x)
    if x.ndim != 1 or x.shape[0] != 2:
        raise ValueError(f"{name} must have shape (2,) (one isotropic value per particle), "
                         f"got {tuple(x.shape)}")
    return x.astype(jnp.promote_types(dtype, jnp.complex64))


@highest_precision
def pair_forces_scaled(rho_a: RealDtype[ArrayLike, "3"], rho_b: RealDtype[ArrayLike, "3"],
                       alpha_e: Num[ArrayLike, "2"], alpha_m: Num[ArrayLike, "2"],
                       beam: AbstractBeam, *, order: int | None = None, contact: Real = 0.0,
                       throw: bool = True) -> PairForces:
    """Forces on two isotropic electric + magnetic dipoles, scaled units (paper 003 eqs. 3–5).

    The closed-form pair-frame solution of the module docstring: the same physics as
    ``interparticle_forces`` / ``optical_forces`` of :mod:`jaxbind.optics.forces` for two
    isotropic particles, at a fraction of the cost (sweeps over 10⁶ configurations).

    Args:
        rho_a, rho_b: (3,) real scaled positions ρ = k r of particles A and B.
        alpha_e: (2,) complex scaled electric polarizabilities α̃e = k³α_e/(4πε0).
        alpha_m: (2,) complex scaled magnetic polarizabilities α̃m = k³α_m/(4π) (zeros for
            purely electric particles; ideal 2nd Kerker: α̃m = −α̃e).
        beam: a beam of :mod:`jaxbind.optics.beams` whose ``k`` is the scaling wavenumber.
            :class:`PlaneWave` and :class:`CoherentBeams` of plane waves (two-beam or standing
            wave illumination) use closed-form phases; any other beam is evaluated through
            ``fields_scaled`` / ``field_gradients_scaled``.
        order: None for the self-consistent solution, n ≥ 0 for n scattering events
            (paper 003 uses 1); static.
        contact: scaled sum of the radii k(a_A + a_B); a centre distance ≤ ``contact`` (or
            coincident particles) is an overlap.
        throw: raise on overlap or a singular/non-finite result; ``throw=False`` for sweeps,
            then read ``result``.
    Returns:
        :class:`PairForces` in units of 4πε0E0²/k² (E0 = ``beam.reference_amplitude``).
    """
    _check_order(order)
    _check_beam(beam)
    rho_a = as_float_array(rho_a, "rho_a")
    rho_b = as_float_array(rho_b, "rho_b")
    check_shape("rho_a", rho_a, (3,))
    check_shape("rho_b", rho_b, (3,))
    rdt = jnp.result_type(rho_a.dtype, rho_b.dtype)
    ae = _scalar_pair("alpha_e", alpha_e, rdt)
    am = _scalar_pair("alpha_m", alpha_m, rdt)
    contact = as_float_array(contact, "contact").astype(rdt)
    check_shape("contact", contact, ())
    f, F, nrf0, result = _kernel(rho_a.astype(rdt), rho_b.astype(rdt), ae, am, beam, order,
                                 contact, throw)
    return PairForces(f, F, nrf0, result)


def _pair_inputs(particles, beam):
    ps = as_particles(particles)
    if ps.n != 2:
        raise ValueError(f"particles must hold exactly 2 particles, got {ps.n}")
    _check_beam(beam)
    rdt = ps.positions.dtype
    k = jnp.asarray(beam.k).astype(rdt)
    ae, am = ps.polarizabilities_scaled(k, jnp.asarray(medium_index(beam)).astype(rdt))
    if ae.ndim != 1 or (am is not None and am.ndim != 1):
        raise ValueError("pair_forces needs isotropic (scalar) polarizabilities alpha_e, "
                         "alpha_m; use jaxbind.optics.forces.optical_forces for tensors")
    if am is None:
        am = jnp.zeros_like(ae)
    contact = k * (ps.radii[0] + ps.radii[1]).astype(rdt)
    return ps, k, ae, am, contact


def _unit(beam, k, rdt):
    # host medium: 4π ε0 n² E0²/k² (docs/conventions.md, "Host medium")
    return C.force_unit(k, jnp.asarray(beam.reference_amplitude).astype(rdt),
                        jnp.asarray(medium_index(beam)).astype(rdt))


# host-side messages of an eager throw=True (the same texts as the traced checks of _kernel)
_PAIR_MESSAGES = [
    "pair_forces: particles 0 and 1 overlap (centre distance ≤ sum of radii)"
    if i == result_index(RESULTS.overlap) else
    "pair_forces: non-finite forces (singular pair system)"
    if i == result_index(RESULTS.singular) else message(i)
    for i in range(len(RESULTS._index_to_message))
]


@compiled_entry(messages=_PAIR_MESSAGES)
@highest_precision
def pair_forces(particles: Particles | Sequence[Particle], beam: AbstractBeam, *,
                order: int | None = None, throw: bool = True) -> PairForces:
    """Optical forces on a pair of isotropic electric + magnetic dipoles (paper 003 eqs. 3–5).

    Closed-form two-particle solution (module docstring) of the coupled dipoles in any beam;
    agrees with :func:`~jaxbind.optics.forces.interparticle_forces` (``f``) and
    :func:`~jaxbind.optics.forces.optical_forces` (``F``) for ``order=None`` ↔
    ``method="direct"`` and ``order=n`` ↔ ``method="born", order=n``. A pure function of
    one configuration: ``jax.vmap`` it over distances, polarizabilities or beam parameters.

    Args:
        particles: :class:`~jaxbind.optics.particles.Particles` with exactly 2 particles
            (A = 0, B = 1) with scalar α_e (and α_m), or ``index`` (Mie or Clausius–Mossotti).
        beam: incident beam (:mod:`jaxbind.optics.beams`); plane waves and coherent sums of
            plane waves take the fast closed-form path.
        order: None (self-consistent) or the number of scattering events n ≥ 0 (static).
        throw: raise (``EquinoxRuntimeError``) on overlap (centre distance ≤ a_A + a_B) or a
            singular/non-finite result; sweeps pass ``throw=False`` and read ``status``.
    Returns:
        :class:`PairForces`: ``f``, ``F`` (2, 3) in newtons, ``nrf0`` (3,), ``result``.
    """
    _check_order(order)
    ps, k, ae, am, contact = _pair_inputs(particles, beam)
    rho = ps.positions * k
    f, F, nrf0, result = _kernel(rho[0], rho[1], ae, am, beam, order, contact, throw)
    unit = _unit(beam, k, rho.dtype)
    return PairForces(unit * f, unit * F, nrf0, result)


@highest_precision
def pair_nonreciprocity_factors(particles: Particles | Sequence[Particle], beam: AbstractBeam, *,
                                order: int | None = None, throw: bool = True) -> NonReciprocity:
    """Zeroth- and first-order non-reciprocity factors of an isotropic pair (paper 003 eqs. 1–2).

    Same result as :func:`~jaxbind.optics.forces.nonreciprocity_factors` (A = 0, B = 1)
    through the closed-form pair kernel; the first-order factors use the exact Jacobian
    ∂f/∂r (``jax.jacfwd``), not finite differences.

    Args:
        particles, beam, order, throw: as :func:`pair_forces`.
    Returns:
        :class:`~jaxbind.optics.forces.NonReciprocity` (zeroth (3,), first (2, 3, 3) indexed
        [P, v, w], f (2, 3) N, jacobian (2, 3, 2, 3) N/m).
    """
    _check_order(order)
    ps, k, ae, am, contact = _pair_inputs(particles, beam)
    rdt = ps.positions.dtype

    def f_of(pos):
        rho = pos * k
        f, _, _, _ = _kernel(rho[0], rho[1], ae, am, beam, order, contact, throw)
        return f, f

    jac, f = jax.jacfwd(f_of, has_aux=True)(ps.positions)  # scaled force per metre
    return nonreciprocity_from_jacobian(f, jac, _unit(beam, k, rdt))
