"""Point-dipole particles: positions, sizes and electric/magnetic polarizabilities.

A particle is described either directly by its polarizabilities — the electric α_e
(C·m²/V, p = α_e E) and optionally the magnetic α_m (m³, m = α_m H, paper 003 after eq. 3),
each a scalar (isotropic) or a 3×3 tensor (ellipsoids, rotated; paper 001 eq. 24) — or by
its complex refractive index, from which a scatterer model (:mod:`jaxbind.optics.scatterers`,
an ``eqx.Module`` passed in) gives the polarizabilities at the wavelength of the illumination:

* ``model=MieDipole()`` (the default, everywhere): α̃_e = (3i/2) a1, α̃_m = (3i/2) b1 from the
  dipolar Mie coefficients (electric *and* magnetic dipole, exact for the dipolar part of a
  sphere of any size);
* ``model=ClausiusMossotti()``: α̃_e = (ka)³(ε−1)/(ε+2) with the radiative correction,
  electric only (paper 002 after eq. 35; the model of papers 000–002).

The strings ``"mie"`` and ``"clausius_mossotti"`` still work for one release
(``DeprecationWarning``).

:class:`Particle` is one particle; :class:`Particles` holds N particles as stacked arrays
(no Python list inside kernels). Every dipole kernel accepts either a :class:`Particles` or
a sequence of :class:`Particle` (stacked at trace time by :func:`as_particles`).
"""

from __future__ import annotations

import math
from typing import Sequence

import equinox as eqx
import jax.numpy as jnp

from .. import constants as C
from .._checks import as_float_array, check_finite, check_passive_index, check_positive, is_concrete
from .._types import (Array, ArrayLike, Num, NumLike, Number, Real, RealDtype, RealLike,
                      Vec3Like)
from .scatterers import DEFAULT_MODEL, DipoleModel, ScattererModel, as_model

__all__ = ["Particle", "Particles", "as_particles"]


def _complex_dtype(real_dtype):
    return jnp.promote_types(real_dtype, jnp.complex64)


def _as_complex(x):
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    return x.astype(_complex_dtype(jnp.finfo(x.dtype).dtype))


def _check_pol_shape(name, a, lead):
    """Polarizability shape: lead + () (isotropic) or lead + (3, 3) (tensor)."""
    s = tuple(jnp.shape(a))
    if s != lead and s != lead + (3, 3):
        want = " or ".join(str(t) for t in (lead, lead + (3, 3)))
        raise ValueError(f"{name} must have shape {want}, got {s}")


class Particle(eqx.Module):
    """One point-dipole particle.

    Give exactly one of ``alpha_e`` and ``index``.

    Args:
        position: (3,) centre in metres.
        radius: radius in metres (> 0); used for overlap checks, mass and, with ``index``,
            for the polarizabilities.
        alpha_e: electric polarizability α_e (C·m²/V), complex scalar or (3, 3) tensor.
        alpha_m: optional magnetic polarizability α_m (m³), scalar or (3, 3); paper 003's
            ideal Kerker particles have α_m = ∓α_e/ε0.
        index: complex refractive index of a sphere relative to vacuum (instead of α_e); in
            a host medium (the beam's ``n_medium``) the model uses index/n_medium.
        density: mass density kg/m³ (optional; gives :attr:`mass`).
        model: scatterer model used with ``index`` (:mod:`jaxbind.optics.scatterers`):
            :class:`~jaxbind.optics.scatterers.MieDipole` (default; α_e, α_m from a1, b1) or
            :class:`~jaxbind.optics.scatterers.ClausiusMossotti` (α_e only).
    """

    position: Array
    radius: Array
    alpha_e: Array | None = None
    alpha_m: Array | None = None
    index: Array | None = None
    density: Array | None = None
    model: ScattererModel = DEFAULT_MODEL

    def __init__(self, position: Vec3Like, radius: Real,
                 alpha_e: Number | Num[ArrayLike, "3 3"] | None = None,
                 alpha_m: Number | Num[ArrayLike, "3 3"] | None = None, index: Number | None = None,
                 density: Real | None = None, model: ScattererModel | str | None = None) -> None:
        self.position = as_float_array(position, "position")
        self.radius = as_float_array(radius, "radius")
        self.alpha_e = None if alpha_e is None else _as_complex(alpha_e)
        self.alpha_m = None if alpha_m is None else _as_complex(alpha_m)
        self.index = None if index is None else _as_complex(index)
        self.density = None if density is None else as_float_array(density, "density")
        self.model = as_model(model)

    def __check_init__(self):
        _validate(self, lead=())

    @property
    def mass(self):
        """Mass ρ·(4π/3)a³ in kg (needs ``density``)."""
        if self.density is None:
            raise ValueError("Particle.mass needs a density")
        return self.density * (4.0 * math.pi / 3.0) * self.radius**3


class Particles(eqx.Module):
    """N point-dipole particles as stacked arrays (the form every dipole kernel uses).

    Args:
        positions: (N, 3) centres in metres.
        radii: (N,) radii in metres (or a scalar, broadcast).
        alpha_e: (N,) or (N, 3, 3) electric polarizabilities (C·m²/V), or None with ``index``.
        alpha_m: (N,) or (N, 3, 3) magnetic polarizabilities (m³), or None.
        index: (N,) complex refractive indices relative to vacuum (or a scalar, broadcast),
            instead of alpha_e; in a host medium the model uses index/n_medium.
        density: (N,) densities kg/m³ (or a scalar), optional.
        model: scatterer model used with ``index`` (default
            :class:`~jaxbind.optics.scatterers.MieDipole`), see the module docstring.
    """

    positions: Array
    radii: Array
    alpha_e: Array | None = None
    alpha_m: Array | None = None
    index: Array | None = None
    density: Array | None = None
    model: ScattererModel = DEFAULT_MODEL

    def __init__(self, positions: RealDtype[ArrayLike, "n 3"] | Sequence[Sequence[float]],
                 radii: RealLike | Sequence[float],
                 alpha_e: NumLike | Sequence[complex] | None = None,
                 alpha_m: NumLike | Sequence[complex] | None = None,
                 index: NumLike | Sequence[complex] | None = None,
                 density: RealLike | Sequence[float] | None = None,
                 model: ScattererModel | str | None = None) -> None:
        positions = as_float_array(positions, "positions")
        if positions.ndim != 2 or positions.shape[-1] != 3:
            raise ValueError(f"positions must have shape (N, 3), got {tuple(positions.shape)}")
        n = positions.shape[0]

        def per(x, name, cplx=False):
            if x is None:
                return None
            a = _as_complex(x) if cplx else as_float_array(x, name)
            return jnp.broadcast_to(a, (n,)) if a.ndim == 0 else a

        self.positions = positions
        self.radii = per(radii, "radii")
        self.alpha_e = per(alpha_e, "alpha_e", True)
        self.alpha_m = per(alpha_m, "alpha_m", True)
        self.index = per(index, "index", True)
        self.density = per(density, "density")
        self.model = as_model(model)

    def __check_init__(self):
        _validate(self, lead=(self.positions.shape[0],))

    @property
    def n(self) -> int:
        """Number of particles (static)."""
        return self.positions.shape[0]

    @property
    def magnetic(self) -> bool:
        """True when the particles carry magnetic dipoles (static)."""
        if self.alpha_m is not None:
            return True
        return (self.index is not None and isinstance(self.model, DipoleModel)
                and self.model.magnetic)

    @property
    def dipolar(self) -> bool:
        """True when the coupled-dipole engine describes these particles (static): given
        polarizabilities, or ``index`` with a :class:`~jaxbind.optics.scatterers.DipoleModel`."""
        return self.index is None or isinstance(self.model, DipoleModel)

    @property
    def masses(self):
        """(N,) masses ρ·(4π/3)a³ in kg (needs ``density``)."""
        if self.density is None:
            raise ValueError("Particles.masses needs densities")
        return self.density * (4.0 * math.pi / 3.0) * self.radii**3

    @classmethod
    def stack(cls, particles: Sequence[Particle]) -> "Particles":
        """Stack single :class:`Particle` s (all described the same way) into a batch.

        Scalars and tensors may be mixed (scalars become α·1); α_m and density must be given
        for all particles or for none.
        """
        ps = list(particles)
        if not ps:
            raise ValueError("particles must contain at least one Particle")
        for i, p in enumerate(ps):
            if not isinstance(p, Particle):
                raise TypeError(f"particles[{i}] is not a Particle (got {type(p).__name__})")

        def gather(attr, tensor_ok):
            vals = [getattr(p, attr) for p in ps]
            if all(v is None for v in vals):
                return None
            if any(v is None for v in vals):
                raise ValueError(f"{attr} must be given for all particles or for none")
            if tensor_ok and any(jnp.ndim(v) == 2 for v in vals):
                vals = [v * jnp.eye(3, dtype=v.dtype) if jnp.ndim(v) == 0 else v for v in vals]
            return jnp.stack(vals)

        models = [p.model for p in ps]
        if any(m != models[0] for m in models[1:]):
            raise ValueError("all particles must use the same model, got "
                             f"{sorted({repr(m) for m in models})}")
        return cls(
            positions=jnp.stack([p.position for p in ps]),
            radii=jnp.stack([p.radius for p in ps]),
            alpha_e=gather("alpha_e", True),
            alpha_m=gather("alpha_m", True),
            index=gather("index", False),
            density=gather("density", False),
            model=models[0],
        )

    def with_positions(self, positions) -> "Particles":
        """The same particles at new positions (N, 3) m (for Jacobians and sweeps)."""
        return eqx.tree_at(lambda p: p.positions, self, jnp.asarray(positions))

    def polarizabilities_scaled(self, k, n_medium=1.0):
        """Scaled polarizabilities (α̃_e, α̃_m) at wavenumber k (rad/m) in a host medium of
        real index ``n_medium`` (k = 2π n_medium/λ0, the wavenumber in the medium).

        α̃_e = k³α_e/(4πε), ε = ε0 n_medium², α̃_m = k³α_m/(4π) (see :mod:`jaxbind.constants`;
        p = α_e E, m = α_m H with the fields in the medium); each (N,) or (N, 3, 3) complex,
        α̃_m None for purely electric particles. With ``index`` (absolute, i.e. relative to
        vacuum) the model gets the relative index index/n_medium and ka = k a.
        """
        rdt = self.positions.dtype
        cdt = _complex_dtype(rdt)
        k = jnp.asarray(k).astype(rdt)
        nm = jnp.asarray(n_medium).astype(rdt)
        if self.alpha_e is not None:
            # divide first: α/(4πε) is a volume (~1e-22 m³), so k³ times it stays O(1)
            ae = (self.alpha_e / (4.0 * math.pi * C.epsilon0)).astype(cdt) * (k**3 / nm**2)
            am = None
            if self.alpha_m is not None:
                am = (self.alpha_m / (4.0 * math.pi)).astype(cdt) * k**3
            return ae, am
        if not isinstance(self.model, DipoleModel):
            raise TypeError(f"{type(self.model).__name__} is not a dipole model: these particles "
                            "have no polarizabilities (use the model's own solve, e.g. "
                            "optical_forces, which hands them to it)")
        ka = k * self.radii.astype(rdt)
        return self.model.polarizabilities_scaled(self.index.astype(cdt) / nm, ka)


def _validate(p, lead):
    """Shared structural and concrete-value checks (ValueError naming the argument)."""
    pos_name = "position" if lead == () else "positions"
    pos = p.position if lead == () else p.positions
    want = (3,) if lead == () else lead + (3,)
    if tuple(pos.shape) != want:
        raise ValueError(f"{pos_name} must have shape {want}, got {tuple(pos.shape)}")
    rad_name = "radius" if lead == () else "radii"
    rad = p.radius if lead == () else p.radii
    if rad is None or tuple(jnp.shape(rad)) != lead:
        raise ValueError(f"{rad_name} must have shape {lead}, got {None if rad is None else tuple(jnp.shape(rad))}")
    if (p.alpha_e is None) == (p.index is None):
        raise ValueError("give exactly one of alpha_e and index")
    if p.alpha_m is not None and p.alpha_e is None:
        raise ValueError("alpha_m needs alpha_e (with index, the model gives both)")
    if p.alpha_e is not None:
        _check_pol_shape("alpha_e", p.alpha_e, lead)
        check_finite("alpha_e", p.alpha_e)
    if p.alpha_m is not None:
        _check_pol_shape("alpha_m", p.alpha_m, lead)
        check_finite("alpha_m", p.alpha_m)
    if p.index is not None:
        if tuple(jnp.shape(p.index)) != lead:
            raise ValueError(f"index must have shape {lead}, got {tuple(jnp.shape(p.index))}")
        check_finite("index", p.index)
        check_passive_index("index", p.index)
    if p.density is not None:
        if tuple(jnp.shape(p.density)) != lead:
            raise ValueError(f"density must have shape {lead}, got {tuple(jnp.shape(p.density))}")
        check_positive("density", p.density)
    check_finite(pos_name, pos)
    check_positive(rad_name, rad)
    # Tensor polarizabilities of the electric and magnetic parts must be the same kind only
    # per particle batch: shapes are independent (an isotropic α_m with a tensor α_e is fine).
    if is_concrete(pos) and lead and lead[0] == 0:
        raise ValueError("positions must contain at least one particle")


def as_particles(particles) -> Particles:
    """A :class:`Particles` from a :class:`Particles`, a :class:`Particle` or a sequence of them."""
    if isinstance(particles, Particles):
        return particles
    if isinstance(particles, Particle):
        return Particles.stack([particles])
    if isinstance(particles, (list, tuple)):
        return Particles.stack(particles)
    raise TypeError(f"particles must be Particles or a sequence of Particle, got {type(particles).__name__}")

