"""CPU-specific specialisations of jaxbind kernels (not part of the physics API).

Everything here is a speed-up measured on a CPU (benchmarks/bench_dipoles.py; development
machine: 2-core AMD EPYC with AVX-512, jax 0.9.2) that changes no physics: the same values,
to rounding, as the general kernels it specialises, tested against them. On other backends
use the general kernels (the options below are ignored or may be harmful there).
"""

from __future__ import annotations

import jax.numpy as jnp

from .._checks import as_float_array, check_shape
from ..optics._fastmath import sincos
from ..optics.pair import PairForces, _check_order, _kernel, _pair_inputs, _unit

__all__ = ["CPU_COMPILER_OPTIONS", "pair_forces_axial", "sincos"]

#: Per-executable XLA options for sweeps of this kernel on CPU, e.g.
#: ``jax.jit(f, compiler_options=CPU_COMPILER_OPTIONS)``. XLA CPU's newer MLIR fusion
#: emitters outline every shared sub-expression of a large multi-output fusion into a
#: function that is re-evaluated per use; for the self-consistent pair kernel that costs
#: ~10⁵ ns per point (measured, jax 0.9.2) against ~10² ns with the classic elemental
#: emitter selected here. ``xla_cpu_prefer_vector_width=512``: XLA asks LLVM for 256-bit
#: vectors even on AVX-512 CPUs; this compute-bound kernel runs ≈ 1.5× faster with 512
#: (Born-1 sweep 37 → 23 ns per distance on the development CPU; other ISAs ignore it;
#: results unchanged, no fast-math). Compile options of one executable, not global config.
CPU_COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False, "xla_cpu_prefer_vector_width": 512}


def pair_forces_axial(particles, beam, distance, *, axis: int = 0, order: int | None = None,
                      throw: bool = True) -> PairForces:
    """:func:`~jaxbind.optics.pair.pair_forces` for a pair on a fixed lab axis: B at r_A + L ê_axis (paper 003's
    geometry is ``axis=0``, L > 0). Same physics and values (to rounding) as
    :func:`~jaxbind.optics.pair.pair_forces`, but the pair frame is a constant, so nothing is spent building and
    applying it, and under jit XLA drops every component the caller does not read — in a
    sweep of f_x over 10⁶ distances ≈ 2.5× faster than :func:`~jaxbind.optics.pair.pair_forces` (compile sweeps
    with :data:`CPU_COMPILER_OPTIONS`; with XLA's default CPU options it is ≈ 10× slower).

    Args:
        particles: 2 isotropic particles as for :func:`~jaxbind.optics.pair.pair_forces`; ``positions[0]`` is r_A,
            ``positions[1]`` is NOT used (B's position is r_A + ``distance`` ê_axis).
        beam: incident beam, as for :func:`~jaxbind.optics.pair.pair_forces`.
        distance: scalar centre distance L in metres (> a_A + a_B, else overlap); the only
            geometric degree of freedom, so d/dL (and d/dr_A) are exact under autodiff.
            For derivatives transverse to the axis (e.g. NRF⁽¹⁾) use :func:`~jaxbind.optics.pair.pair_forces`.
        axis: 0, 1, 2 for x, y, z (static).
        order, throw: as :func:`~jaxbind.optics.pair.pair_forces`.
    Returns:
        :class:`PairForces` (lab frame, newtons), as :func:`~jaxbind.optics.pair.pair_forces`.
    """
    _check_order(order)
    if isinstance(axis, bool) or axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2 (x, y, z), got {axis!r}")
    ps, k, ae, am, contact = _pair_inputs(particles, beam)
    rdt = ps.positions.dtype
    dist = as_float_array(distance, "distance")
    check_shape("distance", dist, ())
    f, F, nrf0, result = _kernel(ps.positions[0] * k, dist.astype(rdt) * k, ae, am, beam, order,
                                 contact, throw, axis=axis)
    unit = _unit(beam, k, rdt)
    return PairForces(unit * f, unit * F, nrf0, result)


