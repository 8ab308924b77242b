"""Sampled pupil masks: a phase/amplitude pattern given as array values on a grid (an SLM).

A :class:`SampledPupil` holds the pattern as arrays (pytree leaves, so a design loop can
differentiate through them and vmap over patterns) on the square grid
u_i = −1 + 2i/(M−1), v_j = −1 + 2j/(M_v−1) of normalised back-aperture coordinates
(u² + v² ≤ 1 is the aperture, the convention of ``FocusedBeam(pupil_mask=...)``; the
array index [i, j] is (u_i, v_j), i.e. ``jnp.meshgrid(u, v, indexing="ij")``).
Between the samples the phase and the amplitude are interpolated separately by cubic
convolution (Keys, IEEE Trans. ASSP 29, 1153 (1981), a = −1/2: C¹, third-order accurate,
exact for quadratics; Keys' boundary samples f_{−1} = 3f_0 − 3f_1 + f_2), so the mask is a linear function of the sample values and
``jax.grad`` w.r.t. them is exact.  The phase is interpolated as given: pass an unwrapped
phase (an SLM pattern folded into [0, 2π) has jumps that the interpolation would smear).

The focused beam evaluates the mask at its fixed quadrature nodes (Gauss–Legendre in θ ×
trapezoid in φ), so the pattern is resolved to the coarser of the grid spacing 2/(M−1) and
the quadrature's pupil sampling.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_finite
from .._types import Array, ArrayLike, Complex, Float

__all__ = ["SampledPupil", "pupil_grid"]


def _keys_weights(t):
    """Cubic-convolution weights (a = −1/2) of the samples at offsets −1, 0, 1, 2: (..., 4)."""
    t2, t3 = t * t, t * t * t
    return jnp.stack([0.5 * (-t3 + 2 * t2 - t), 0.5 * (3 * t3 - 5 * t2 + 2),
                      0.5 * (-3 * t3 + 4 * t2 + t), 0.5 * (t3 - t2)], axis=-1)


def _axis(x, m):
    """Indices into the padded axis (..., 4) and weights (..., 4), m samples on [−1, 1]."""
    s = (jnp.clip(x, -1.0, 1.0) + 1.0) * (0.5 * (m - 1))
    i0 = jnp.clip(jnp.floor(s), 0, m - 2)
    t = s - i0
    return i0.astype(jnp.int32)[..., None] + jnp.arange(4), _keys_weights(t)


def _pad(values, axis):
    """Keys' boundary samples f_{−1} = 3f_0 − 3f_1 + f_2 (and mirrored): third order kept,
    quadratics (a linear phase ramp in particular) reproduced exactly up to the edge."""
    f = jnp.moveaxis(values, axis, 0)
    lo = 3 * f[0] - 3 * f[1] + f[2]
    hi = 3 * f[-1] - 3 * f[-2] + f[-3]
    return jnp.moveaxis(jnp.concatenate([lo[None], f, hi[None]], 0), 0, axis)


def _interpolate(values, u, v):
    iu, wu = _axis(u, values.shape[0])
    iv, wv = _axis(v, values.shape[1])
    padded = _pad(_pad(values, 0), 1)
    patch = padded[iu[..., :, None], iv[..., None, :]]  # (..., 4, 4)
    return jnp.einsum("...a,...b,...ab->...", wu, wv, patch,
                      precision=jax.lax.Precision.HIGHEST)  # full float32 (jaxbind._precision)


class SampledPupil(eqx.Module):
    """Pupil mask M(u, v) = A(u, v) e^{iΦ(u, v)} from sampled phase Φ and amplitude A.

    Args:
        phase: (M, M_v) phase samples Φ (rad) on the grid of the module docstring, or None
            (zero phase).
        amplitude: (M, M_v) real amplitude samples A (transmission, e.g. 0–1), or None (1).
            At least one of the two; both on the same grid when both are given (M, M_v ≥ 4).

    Pass it as ``FocusedBeam(..., pupil_mask=SampledPupil(...))`` (it is a pytree field of
    the beam, not a static callable: a new pattern does not recompile, and gradients flow
    to the samples).  Calling it, ``pupil(u, v)``, gives the complex mask at arrays u, v.
    """

    phase: Float[Array, "m mv"] | None
    amplitude: Float[Array, "m mv"] | None

    def __init__(self, phase: Float[ArrayLike, "m mv"] | None = None,
                 amplitude: Float[ArrayLike, "m mv"] | None = None) -> None:
        if phase is None and amplitude is None:
            raise ValueError("SampledPupil needs a phase or an amplitude array")
        shape = None
        for name, a in (("phase", phase), ("amplitude", amplitude)):
            if a is None:
                continue
            arr = jnp.asarray(a)
            if jnp.iscomplexobj(arr):
                raise ValueError(f"{name} must be real, got dtype {arr.dtype}")
            if not jnp.issubdtype(arr.dtype, jnp.floating):
                arr = arr.astype(float)
            if arr.ndim != 2 or min(arr.shape) < 4:
                raise ValueError(f"{name} must be a 2-D grid of at least 4×4 samples, got "
                                 f"shape {arr.shape}")
            if shape is not None and arr.shape != shape:
                raise ValueError(f"phase and amplitude must share one grid, got {shape} and "
                                 f"{arr.shape}")
            shape = arr.shape
            check_finite(name, arr)
            if name == "phase":
                phase = arr
            else:
                amplitude = arr
        self.phase = phase
        self.amplitude = amplitude

    @property
    def shape(self) -> tuple[int, int]:
        return (self.phase if self.phase is not None else self.amplitude).shape

    def __call__(self, u: Float[ArrayLike, "*p"], v: Float[ArrayLike, "*p"]) -> Complex[Array, "*p"]:
        """Complex mask at normalised pupil coordinates (u, v) (same shape)."""
        # one compiled program for an eager call (traced inline under a user's transform)
        return _evaluate(self, jnp.asarray(u), jnp.asarray(v))

    def _evaluate(self, u, v):
        out = jnp.ones(jnp.broadcast_shapes(u.shape, v.shape),
                       jnp.result_type(u.dtype, jnp.complex64))
        if self.phase is not None:
            out = out * jnp.exp(1j * _interpolate(self.phase.astype(u.dtype), u, v))
        if self.amplitude is not None:
            out = out * _interpolate(self.amplitude.astype(u.dtype), u, v)
        return out


@eqx.filter_jit
def _evaluate(pupil: SampledPupil, u, v):
    return pupil._evaluate(u, v)


def pupil_grid(m: int) -> Float[Array, " m"]:
    """The sample coordinates u_i = −1 + 2i/(m−1) of a :class:`SampledPupil` axis."""
    return jnp.asarray(np.linspace(-1.0, 1.0, int(m)))
