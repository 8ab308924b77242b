"""Backend-specific speed-ups (``jaxbind.contrib``): not physics, measured where they win.

* :data:`CPU_COMPILER_OPTIONS` — per-executable XLA CPU options for sweeps of the pair kernel
  (``jax.jit(f, compiler_options=CPU_COMPILER_OPTIONS)``);
* :func:`pair_forces_axial` — :func:`jaxbind.pair.pair_forces` for a pair on a fixed lab
  axis (constant pair frame);
* :func:`sincos` — a vectorisable (sin, cos) with an exact JVP, ≈ 9× ``jnp.sin`` +
  ``jnp.cos`` on XLA:CPU.
"""

from .cpu import CPU_COMPILER_OPTIONS as CPU_COMPILER_OPTIONS
from .cpu import pair_forces_axial as pair_forces_axial
from .cpu import sincos as sincos
