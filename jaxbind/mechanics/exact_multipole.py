"""Exact linearization of a tweezer array of multipolar spheres (``TweezerArray(...,
model=Multipole(l_max), focus=FocusedBeam(...))`` with ``linearize(..., method="exact")``).

The same quantities as the coupled-dipole path (:mod:`jaxbind.mechanics.exact`, physics in
:mod:`jaxbind.mechanics.array`), computed from the T-matrix engine of
:mod:`jaxbind.optics.multipoles` (its system, solve and force formula are reused, never
copied):

* **Forces and stiffness.** ρ = k x (scaled). The forces F̃(ξ) of the displaced configuration
  ρ + ξ are the engine's (the multiple-scattering solve (1 − T A(ρ + ξ)) p = T a(ξ),
  :func:`~jaxbind.optics.multipoles.solve.solve_system`, and the far-field momentum flux,
  :func:`~jaxbind.optics.multipoles.forces.forces_scaled`); C, K and ω follow from the exact
  Jacobian ∂F̃/∂ξ at ξ = 0 by forward-mode autodiff (``jax.linearize`` and one ``vmap`` over
  the M displacement directions: the translations A, the LU solve and the force are
  differentiated as they are; no finite differences). The incident coefficients about the
  displaced centre are a_i(ξ) = J(ξ_i) a_i = a_i + Σ_c ξ_ic ∂_c J(0) a_i + O(ξ²)
  (:func:`~jaxbind.optics.multipoles.translation.translation_gradient`): a_i is projected once
  to degree l_max + 2 and the first derivative is exact (∂_c J(0) couples l to l ± 1), so the
  beam is evaluated only at the foci. The isolated forces F̃_iso (each sphere alone,
  p = T a) give the trap stiffness S_iso = −∂F̃_iso,μ/∂ξ_μ, K = −diag ∂(F̃ − F̃_iso)/∂ξ and
  C = ∂F̃/∂ξ off its diagonal, as in the dipole path.
* **Recoil diffusion**, the formula of the dipole path (paper 001 eq. 68, paper 000 eq. 5):
  2 D_μν/ħ² = ∫dΩ Σ_s B_μ B_ν*, B_μ = ∂/∂ξ_μ of the cluster's scattered far-field amplitude
  F(n̂) = Σ_i e^{−i n̂·ρ_i} F_{c_i}(n̂) (F_c the far-field pattern of the outgoing set c,
  :func:`~jaxbind.optics.multipoles.forces.far_field`), in closed form (no angular
  quadrature). Moving particle j by ξ_j multiplies its pattern by e^{−i n̂·ξ_j}, which is the
  pattern of J(−ξ_j) c_j, so B_μ is the pattern of the outgoing sets
  b_{μ,i} = ∂_μ c_i − δ_ij ∂_a J(0) c_j (degree ≤ l_max + 1, μ = (j, a)). The cross power of
  two outgoing sets at ρ_i and ρ_l is, with the far-field (Herglotz) form of the regular
  translation J_μν(d) = ∮ Φ_μ*·Φ_ν e^{i n̂·d} dΩ
  (:func:`~jaxbind.optics.multipoles.translation.regular_translation_matrices`),
  (1/4π)∮ F_{b_i}·F_{b_l}* e^{i n̂·(ρ_l − ρ_i)} dΩ = (1/4π) b_l^† J(ρ_l − ρ_i) b_i, so

      D_μν/ħ = (k F0/4) T_μν,   T_μν = (1/4π) Σ_il b_{ν,l}^† J(ρ_l − ρ_i) b_{μ,i},

  (J(0) = 1 on the diagonal blocks). At l_max = 1 J reduces to the dipole path's 6×6 kernel
  [[W, iX], [−iX, W]] (W = Im g), and D to the dipole path's (tests, ≤ 1e-10).

**C − Cᵀ = 4 Im D/ħ (paper 001 after eq. 81) holds for any l_max** for non-absorbing
spheres: it is the condition that the linearized dynamics preserve [z_j, p_j'] = iħδ_jj'
(paper 001 after eq. 81), and both sides come from one quantum model of linear, lossless
light scattering — the antisymmetric (non-reciprocal) part of the force Jacobian is the
radiative term Im⟨B_μ B_ν*⟩ of the dissipator of the scattered photons (paper 001 eq. 68:
its cross terms linear in the displacements give the non-conservative force), the rest of the
force is the gradient of the coherent interaction energy (symmetric Jacobian). Nothing in this
argument refers to the multipole order: the dipole path's 6×6 kernel is just the l_max = 1
case of J. With absorption (complex index) photons are also lost into the particles, a
channel the far-field D omits, and the identity does not hold (as for dipoles). The tests
check it at l_max = 3 for a silica pair (a strong check of D and of the Jacobian).

Precision and cost (focused pair, tests/mechanics/test_exact_multipole.py): float32 agrees
with float64 to ≤ 3e-5 of the largest entry for ω, C, F, D and 6e-5 for K (a difference of
the total and isolated Jacobians) at l_max = 1 and 3. The M tangents go through the dense
pair translations (O(M N² l_max⁴) work, fine for the arrays of tens of tweezers this is
for); 11× (N = 2) to 40× (N = 8, l_max = 2) less CPU than central finite differences of the
forces (benchmarks/bench_multipole_linearize.py). First call ≈ 8–9 s CPU on the loaded
2-core development machine (above the 5-s target; the forces alone compile in ≈ 5 s).

The paraxial :class:`~jaxbind.optics.beams.Tweezer` is not a Maxwell field, so a
multipole TweezerArray needs ``focus=`` (see :mod:`jaxbind.optics.multipoles.incident`).
Measured (the same array as the tests, 75-nm silica pair, w0 = 0.8 µm, 1064 nm): a paraxial
array forced through this path at l_max = 1 — where it must equal the dipole path, which uses
the paraxial field's point gradients — gives ω_x, ω_y 28–36 % off, ω_z wrong by a factor
~1800 (the projected l = 2 coefficients of the non-Maxwell field), C up to 44 % and F up to
27 % off; hence :class:`~jaxbind.mechanics.array.TweezerArray` refuses ``model=Multipole``
without ``focus``.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import constants as Cst
from ..optics.beams import medium_index
from ..optics.multipoles import (Multipole, multipole_system,
                                 regular_translation_matrices, translation_gradient)
from ..optics.multipoles.forces import forces_scaled
from ..optics.multipoles.solve import solve_system, truncate
from .exact import linearization_to_si
from ..solvers import Direct

__all__ = ["multipole_exact_scaled", "exact_multipole_linearization"]


def multipole_exact_scaled(particles, beam, model: Multipole, axes, throw: bool):
    """Forces, their exact Jacobians and the recoil diffusion of multipolar particles in a beam,
    scaled units (module docstring).

    Args: particles (:class:`~jaxbind.optics.particles.Particles` with ``index``), any beam,
    the :class:`~jaxbind.optics.multipoles.Multipole` model, ``axes`` (tuple of Cartesian
    axes of the degrees of freedom μ = (j, a), μ = j·len(axes) + a), ``throw``.

    Returns (F (M,) F̃, JF (M, M) ∂F̃/∂ρ, JF_int (M, M) ∂(F̃ − F̃_iso)/∂ρ, S_iso (M,)
    −∂F̃_iso,μ/∂ρ_μ, T (M, M) complex ⟨B̃_μ B̃_ν*⟩ (D/ħ = k F0 T/4), result, (k, E0, n_medium)).
    """
    L = model.l_max
    system = multipole_system(particles, beam, L, tmatrix=model.tmatrix, throw=throw,
                              fn="linearize", extra_degrees=1)
    rdt = system.rho.dtype
    cdt = system.tmatrix.dtype
    n = system.n
    na = len(axes)
    M = n * na
    ax = np.asarray(axes)
    # incident coefficients to degree L + 2 about the foci; their displacement derivative
    # (degree ≤ L + 1, what the solve and the force need) by the static translation gradient
    a2 = system.incident
    a1 = truncate(a2, L + 2, L + 1)
    Ginc = jnp.asarray(translation_gradient(L + 2, L + 1), cdt)[ax]            # (na, n1, n2)
    da = jnp.einsum("cab,ib->ica", Ginc, a2)                                   # (N, na, n1)
    system = eqx.tree_at(lambda s: s.incident, system, a1)
    T = system.tmatrix

    def displaced(xi):  # xi (N, na) scaled displacements along ``axes``
        rho = system.rho.at[:, ax].add(xi)
        inc = a1 + jnp.einsum("ic,ica->ia", xi.astype(cdt), da)
        s = eqx.tree_at(lambda s: (s.rho, s.incident), system, (rho, inc))
        sol = solve_system(s, Direct(), throw=throw, fn="linearize")
        F = forces_scaled(sol.p, sol.exciting, L)[:, ax]
        p0 = jnp.einsum("iab,ib->ia", T, truncate(inc, L + 1, L))
        F_iso = forces_scaled(p0, inc, L)[:, ax]
        return (F.reshape(-1), F_iso.reshape(-1), sol.p), sol.result

    xi0 = jnp.zeros((n, na), rdt)
    (F, _, p), lin, result = jax.linearize(displaced, xi0, has_aux=True)
    basis = jnp.eye(M, dtype=rdt).reshape(M, n, na)
    dF, dF_iso, dp = jax.vmap(lin)(basis)                   # leading axis: the tangent μ
    JF, JF_iso = dF.T, dF_iso.T                             # [row, μ]
    JF_int = JF - JF_iso                                    # ∂(F̃ − F̃_iso)/∂ρ
    S_iso = -jnp.diagonal(JF_iso)

    # recoil diffusion: outgoing sets b_{μ,i} of degree ≤ L + 1 (module docstring)
    b = jnp.moveaxis(truncate(jnp.moveaxis(dp, 0, 1), L, L + 1), 1, 2)     # (N, n1, M): ∂_μ c_i
    Gout = jnp.asarray(translation_gradient(L, L + 1), cdt)[ax]            # (na, n1, nc)
    shift = jnp.einsum("cab,ib->iac", Gout, p)                              # (N, n1, na)
    eye_n = jnp.eye(n, dtype=rdt)
    b = b - (eye_n[:, None, :, None] * shift[:, :, None, :]).reshape(n, -1, M)
    n1 = b.shape[1]
    if n == 1:  # J(0) = 1: no translation tables needed
        J = jnp.eye(n1, dtype=cdt)[None, None]
    else:
        same = jnp.eye(n, dtype=bool)
        R = system.rho[:, None, :] - system.rho[None, :, :]                # R[l, i] = ρ_l − ρ_i
        R = jnp.where(same[..., None], jnp.ones_like(R), R)
        J = regular_translation_matrices(L + 1, L + 1, R)                  # [l, i]
        J = jnp.where(same[:, :, None, None], jnp.eye(n1, dtype=J.dtype), J)
    Y = jnp.einsum("liab,ibm->lam", J, b)
    Tm = jnp.einsum("lan,lam->mn", jnp.conj(b), Y) / (4.0 * np.pi)
    Tm = 0.5 * (Tm + jnp.conj(Tm.T))
    nm = jnp.asarray(medium_index(beam)).astype(rdt)
    return F, JF, JF_int, S_iso, Tm, result, (system.k, system.E0, nm)


def exact_multipole_linearization(arr, axes, throw=True):
    """(ω, C, K, F, D/ħ, mass, k_eff, result) per degree of freedom (SI) of a TweezerArray
    ``arr`` whose model is :class:`~jaxbind.optics.multipoles.Multipole` (module docstring;
    the same return as :func:`jaxbind.mechanics.exact.exact_linearization`)."""
    rdt = arr.positions.dtype
    beam = arr.beam()
    Ft, JFt, JFint, Sit, Tm, result, (k, E0, nm) = multipole_exact_scaled(
        arr.particles(), beam, arr.model, axes, throw)
    k = k.astype(rdt)
    F0 = Cst.force_unit(k, E0.astype(rdt), nm)
    return linearization_to_si(arr, axes, Ft, JFt, JFint, Sit, Tm, result, k, F0, throw)
