"""Scatterer models: how a sphere of given index and radius scatters light.

A scatterer model is an :class:`eqx.Module` passed in (``Particles(..., model=MieDipole())``),
never a string. Every model of the one engine derives from :class:`ScattererModel`:

* :class:`DipoleModel` — the particle is a point electric (and optionally magnetic) dipole;
  the model maps (refractive index m, size parameter ka) to the scaled polarizabilities
  α̃_e = k³α_e/(4πε0) and α̃_m = k³α_m/(4π) (docs/conventions.md). The coupled-dipole engine
  (:mod:`jaxbind.optics.dipoles`, :mod:`jaxbind.optics.forces`) solves with them.

  - :class:`MieDipole` (the default everywhere): α̃_e = (3i/2)a₁, α̃_m = (3i/2)b₁ from the
    dipolar Mie coefficients — electric *and* magnetic dipole, exact for the dipolar part of
    a sphere of any size (paper 003 after eq. 3).
  - :class:`ClausiusMossotti`: α̃ = (ka)³(ε−1)/(ε+2), with the radiation-reaction correction
    α̃/(1 − (2i/3)α̃) by default — electric only; the model of papers 000–002 (paper 002
    after eq. 35). It agrees with :class:`MieDipole` to O((ka)²) for small spheres.

* Models beyond dipoles (multipoles / T-matrices) derive from :class:`ScattererModel`
  directly and provide their own solve; the force entry points hand particles with such a
  model to ``model.optical_forces``.

Particles given by their polarizabilities (``alpha_e=``) ignore the model's formula.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._types import Array

__all__ = ["ScattererModel", "DipoleModel", "MieDipole", "ClausiusMossotti", "as_model",
           "DEFAULT_MODEL"]


class ScattererModel(eqx.Module):
    """Base of every scatterer model (abstract)."""


class DipoleModel(ScattererModel):
    """A point-dipole model: (index, ka) → scaled polarizabilities (abstract).

    Subclasses set the class attribute ``magnetic`` (whether the model gives a magnetic
    dipole) and implement :meth:`polarizabilities_scaled`.
    """

    magnetic: ClassVar[bool] = False

    @abc.abstractmethod
    def polarizabilities_scaled(self, index: Array, ka: Array) -> tuple[Array, Array | None]:
        """Scaled (α̃_e, α̃_m) for stacked spheres.

        Args:
            index: (N,) complex refractive indices relative to the surrounding medium.
            ka: (N,) size parameters k·a (k the wavenumber in the medium).
        Returns:
            α̃_e (N,) complex and α̃_m (N,) complex, or None when not :attr:`magnetic`.
        """


class MieDipole(DipoleModel):
    """Electric and magnetic dipoles from the dipolar Mie coefficients: α̃_e = (3i/2)a₁,
    α̃_m = (3i/2)b₁ (paper 003 after eq. 3). Exact for the dipolar part of a sphere."""

    magnetic: ClassVar[bool] = True

    def polarizabilities_scaled(self, index, ka):
        from .mie import mie_coefficients

        def one(m, x):
            a, b = mie_coefficients(m, x, 1)
            return 1.5j * a[0], 1.5j * b[0]

        ae, am = jax.vmap(one)(index, ka)
        return ae.astype(index.dtype), am.astype(index.dtype)


class ClausiusMossotti(DipoleModel):
    """Electric dipole α̃ = (ka)³(ε−1)/(ε+2), ε = m², with the radiation-reaction correction
    α̃/(1 − (2i/3)α̃) when ``radiative`` (paper 002 after eq. 35; the model of papers
    000–002). No magnetic dipole.

    Args:
        radiative: include the radiation-reaction correction (default True; without it the
            particle does not conserve energy: the optical theorem fails).
    """

    radiative: bool = eqx.field(static=True, default=True)
    magnetic: ClassVar[bool] = False

    def polarizabilities_scaled(self, index, ka):
        from .materials import clausius_mossotti_scaled

        ae = jax.vmap(lambda m, x: clausius_mossotti_scaled(m * m, x, radiative=self.radiative))(
            index, ka)
        return jnp.asarray(ae).astype(index.dtype), None


DEFAULT_MODEL = MieDipole()

_STRING_MODELS = {"mie": MieDipole(), "clausius_mossotti": ClausiusMossotti()}


def as_model(model: ScattererModel | str | None, name: str = "model") -> ScattererModel:
    """A :class:`ScattererModel` from a model object (returned as is), ``None`` (the default
    :class:`MieDipole`) or one of the deprecated strings "mie" / "clausius_mossotti"
    (``DeprecationWarning``; removed after one release)."""
    if model is None:
        return DEFAULT_MODEL
    if isinstance(model, ScattererModel):
        return model
    if isinstance(model, str):
        if model not in _STRING_MODELS:
            raise ValueError(f"{name} must be a ScattererModel (MieDipole(), ClausiusMossotti(), "
                             f"...), got the unknown string {model!r}")
        import warnings

        new = type(_STRING_MODELS[model]).__name__
        warnings.warn(f"{name}={model!r} is deprecated; pass {name}={new}() "
                      "(jaxbind.optics.scatterers)", DeprecationWarning, stacklevel=3)
        return _STRING_MODELS[model]
    raise TypeError(f"{name} must be a ScattererModel (MieDipole(), ClausiusMossotti(), ...), "
                    f"got {type(model).__name__}")
