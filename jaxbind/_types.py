"""jaxtyping aliases shared by the public API (runtime-checked only under pytest)."""

from __future__ import annotations

from jaxtyping import (Array, ArrayLike, Bool, Complex, Float, Inexact, Int, Key, Num,
                       PRNGKeyArray, Shaped)
from jaxtyping import Real as RealDtype
from typing import Sequence

#: a real scalar: a Python int or float, or a 0-d integer or floating array (``Float[...]``
#: would refuse the ``300`` of ``temperature=300`` at run time)
Real = RealDtype[ArrayLike, ""]
#: real / real-or-complex numbers or arrays of any shape (elementwise functions)
RealLike = RealDtype[ArrayLike, "..."]
NumLike = Num[ArrayLike, "..."]
#: a real or complex scalar (e.g. a wavenumber, which may be complex)
Number = Num[ArrayLike, ""]
#: a real 3-vector given as an array or a tuple / list (``direction=(0, 0, 1)``); batched
#: ``(..., 3)`` where a function broadcasts
Vec3Like = RealDtype[ArrayLike, "*batch 3"] | Sequence[float]
CVec3Like = Num[ArrayLike, "*batch 3"] | Sequence[complex]
Vec3 = Float[Array, "3"]
CVec3 = Inexact[Array, "3"]
Positions = Float[Array, "n 3"]
Tensor3 = Inexact[Array, "3 3"]

__all__ = [
    "Array",
    "ArrayLike",
    "Bool",
    "Key",
    "Num",
    "Number",
    "RealLike",
    "Vec3Like",
    "CVec3Like",
    "NumLike",
    "PRNGKeyArray",
    "RealDtype",
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
