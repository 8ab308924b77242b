"""Full-precision matrix products for the physics kernels (GPU tensor cores).

On Ampere/Hopper GPUs XLA runs float32 matrix products at DEFAULT precision in TF32 (about
1e-3 relative), which would break float32 ≈ float64 to ~1e-5. Every product on a physics
path of jaxbind needs full float32 precision, so the public kernels trace their bodies inside
``jax.default_matmul_precision("highest")``: every ``dot_general`` they emit carries
``precision = HIGHEST`` (checked in the lowered programs by tests/test_lowering.py). On CPUs
this changes nothing. Products inside lineax's iterative solvers are lowered outside the
kernel's trace and follow the user-level setting (README, "GPUs").
"""

from __future__ import annotations

import functools

import jax


def highest_precision(fn):
    """Trace ``fn`` with float32 matrix products at full precision (module docstring)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with jax.default_matmul_precision("highest"):
            return fn(*args, **kwargs)

    return wrapper
