"""jaxtyping aliases shared by the public API (runtime-checked only under pytest)."""

from __future__ import annotations

from jaxtyping import Array, ArrayLike, Complex, Float, Inexact, Int, Shaped

Real = Float[ArrayLike, ""]
Vec3 = Float[Array, "3"]
CVec3 = Inexact[Array, "3"]
Positions = Float[Array, "n 3"]
Tensor3 = Inexact[Array, "3 3"]

__all__ = [
    "Array",
    "ArrayLike",
    "Complex",
    "Float",
    "Inexact",
    "Int",
    "Shaped",
    "Real",
    "Vec3",
    "CVec3",
    "Positions",
    "Tensor3",
]
