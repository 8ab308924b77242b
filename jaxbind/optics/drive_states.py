"""Quantum states of a single-mode drive and the potentials they create (paper 002 Sec. III C–E).

Paper 002 eqs. (22) and (27): every external-field potential to second order in α — the trap
potential and the optical-binding potential — depends on the drive state only through the
normal-ordered correlation ⟨a†_σ(k) a_σ'(k')⟩ (the ⟨a a⟩ terms oscillate at 2ω0 and vanish in
the time average). For a single driven mode this is the mean photon number ⟨n⟩ = ⟨a†a⟩, so

    U_state = U_coh · ⟨n⟩_state / |β|²,

where U_coh is the potential of a coherent state |β⟩ of the same mode (the classical laser of
:mod:`jaxbind.optics.potentials`, whose intensity corresponds to |β|² photons). Hence:

* coherent |β⟩: factor 1 (recovers the trap and binding potentials, eqs. 28–29);
* squeezed vacuum S(ξ)|0⟩, ξ = r e^{iΦ}: ⟨n⟩ = sinh² r (eqs. 31–32) — a potential without any
  coherent amplitude;
* cat N(|β⟩ + e^{iθ}|−β⟩), N⁻² = 2 + 2 e^{−2|β|²} cos θ:
  ⟨n⟩ = 2N²|β|²(1 − e^{−2|β|²} cos θ) = |β|² (1 − e^{−2|β|²}cos θ)/(1 + e^{−2|β|²}cos θ);
* mixture Σ_i p_i |β_i⟩⟨β_i|: ⟨n⟩ = Σ_i p_i |β_i|² (= |β|² for p|β⟩⟨β| + (1−p)|−β⟩⟨−β|,
  the coherent potential, as the paper states).

Paper 002 eqs. (33)–(34) print the cat factor as 2N²(1 − cos θ) (the text: "differs by a
factor N²(1 − cos θ)"): that drops the overlap ⟨β|−β⟩ = e^{−2|β|²} in the cross terms of
⟨C|a†a|C⟩ while keeping it in N. The exact factor (above; checked against QuTiP in the tests)
lies between tanh|β|² (even cat, θ = 0) and coth|β|² (odd cat, θ = π): even cats suppress and
odd cats enhance the potential relative to |β⟩, but only for |β|² ≲ 1; for a macroscopic
drive (|β|² ≫ 1) every cat gives the coherent potential. The printed factor is available as
:meth:`CatState.paper_factor` for comparison only.

Squeezing needed for a given intensity (paper 002 Sec. III D): a travelling single mode of
volume V carrying intensity I holds ⟨n⟩ = I V/(ħ ω c) photons (energy density I/c), so the
squeezed vacuum matching it has sinh² r = I V/(ħ ω c) (:func:`squeezing_for_intensity`). The
paper's ratio sinh² r = (2π)⁴ I/(ħ ω0 c), evaluated with SI numbers, is this with
V = (2π)⁴ m³ (a continuum-mode normalization artefact); it gives r ≈ 27.7 (≈ 240 dB) for
I = 10⁻² W/µm², λ0 = 1064 nm. A diffraction-limited mode volume V = λ0³ gives r ≈ 3.4
(≈ 29 dB). Squeezing in dB is 10 log10(e^{2r}).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp

from .. import constants as C
from .._checks import as_float_array, check_finite, check_positive, check_shape, is_concrete
from .._types import Array, Float, RealLike

__all__ = [
    "CoherentState",
    "SqueezedVacuum",
    "CatState",
    "CoherentMixture",
    "potential_factor",
    "photon_number_in_mode",
    "squeezing_for_photon_number",
    "squeezing_for_intensity",
    "squeezing_db",
]


def _complex(x, name):
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    check_finite(name, x)
    return x


class CoherentState(eqx.Module):
    """Coherent state |β⟩ of the drive mode (a laser; paper 002 Sec. III C).

    Args:
        beta: complex amplitude β (scalar).
    """

    beta: Array = eqx.field(converter=lambda b: _complex(b, "beta"))

    def __check_init__(self):
        check_shape("beta", self.beta, ())

    def photon_number(self):
        """⟨a†a⟩ = |β|²."""
        return jnp.abs(self.beta) ** 2


class SqueezedVacuum(eqx.Module):
    """Single-mode squeezed vacuum S(ξ)|0⟩, ξ = r e^{iΦ} (paper 002 Sec. III D, eqs. 31–32).

    Args:
        r: squeezing parameter (≥ 0, finite, and small enough that sinh² r is representable:
            r < ~355 in float64, ~44 in float32).
        phase: squeezing angle Φ (rad); it does not enter the time-averaged potentials.
    """

    r: Array = eqx.field(converter=lambda x: as_float_array(x, "r"))
    phase: Array = eqx.field(converter=lambda x: as_float_array(x, "phase"), default=0.0)

    def __check_init__(self):
        check_shape("r", self.r, ())
        check_shape("phase", self.phase, ())
        check_positive("r", self.r, allow_zero=True)
        check_finite("phase", self.phase)
        if is_concrete(self.r):
            # sinh² r ≈ e^{2r}/4 overflows for r > (ln(max) + ln 4)/2
            rmax = 0.5 * (math.log(float(jnp.finfo(self.r.dtype).max)) + math.log(4.0))
            if float(self.r) >= rmax:
                raise ValueError(f"r = {float(self.r)} is out of range: sinh²(r) overflows "
                                 f"{self.r.dtype} (r must be < {rmax:.1f})")

    def photon_number(self):
        """⟨a†a⟩ = sinh² r."""
        r = eqx.error_if(self.r, ~(jnp.isfinite(self.r) & (self.r >= 0)),
                         "SqueezedVacuum: r must be finite and non-negative")
        n = jnp.sinh(r) ** 2
        return eqx.error_if(n, ~jnp.isfinite(n), "SqueezedVacuum: r out of range (sinh² r overflows)")


class CatState(eqx.Module):
    """Schrödinger cat N(|β⟩ + e^{iθ}|−β⟩) of the drive mode (paper 002 Sec. III E).

    Args:
        beta: complex amplitude β (scalar).
        theta: relative phase θ (rad); θ = 0 even, θ = π odd cat. β = 0 with θ = π is the
            zero vector (no state) and is rejected.
    """

    beta: Array = eqx.field(converter=lambda b: _complex(b, "beta"))
    theta: Array = eqx.field(converter=lambda x: as_float_array(x, "theta"))

    def __check_init__(self):
        check_shape("beta", self.beta, ())
        check_shape("theta", self.theta, ())
        check_finite("theta", self.theta)
        if is_concrete((self.beta, self.theta)):
            ov = math.exp(-2.0 * abs(complex(self.beta)) ** 2) * math.cos(float(self.theta))
            if 1.0 + ov <= 1e-12:
                raise ValueError("CatState: beta = 0 with theta = π is the zero vector "
                                 "(the state cannot be normalized)")

    def _overlap(self):
        return jnp.exp(-2.0 * jnp.abs(self.beta) ** 2) * jnp.cos(self.theta)

    def normalization_squared(self):
        """N² = 1/(2 + 2 e^{−2|β|²} cos θ)."""
        ov = self._overlap()
        ov = eqx.error_if(ov, 1.0 + ov <= 0, "CatState: the state vanishes (beta = 0, theta = π)")
        return 0.5 / (1.0 + ov)

    def photon_number(self):
        """Exact ⟨a†a⟩ = 2N²|β|²(1 − e^{−2|β|²} cos θ) (module docstring)."""
        return 2.0 * self.normalization_squared() * jnp.abs(self.beta) ** 2 * (1.0 - self._overlap())

    def paper_factor(self):
        """The factor 2N²(1 − cos θ) of paper 002 eqs. 33–34 as printed (drops ⟨β|−β⟩; see
        the module docstring). For comparison only."""
        return 2.0 * self.normalization_squared() * (1.0 - jnp.cos(self.theta))


class CoherentMixture(eqx.Module):
    """Statistical mixture Σ_i p_i |β_i⟩⟨β_i| of coherent states (paper 002 end of Sec. III E).

    Args:
        betas: (M,) complex amplitudes.
        weights: (M,) probabilities p_i ≥ 0 summing to 1.
    """

    betas: Array = eqx.field(converter=lambda b: _complex(b, "betas"))
    weights: Array = eqx.field(converter=lambda x: as_float_array(x, "weights"))

    def __check_init__(self):
        check_shape("betas", self.betas, (None,))
        check_shape("weights", self.weights, (self.betas.shape[0],))
        check_positive("weights", self.weights, allow_zero=True)
        if is_concrete(self.weights) and abs(float(jnp.sum(self.weights)) - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, got {float(jnp.sum(self.weights))}")

    def photon_number(self):
        """⟨a†a⟩ = Σ_i p_i |β_i|²."""
        return jnp.sum(self.weights * jnp.abs(self.betas) ** 2)


def potential_factor(state: CoherentState | SqueezedVacuum | CatState | CoherentMixture,
                     reference_photon_number: RealLike) -> Float[Array, "..."]:
    """Factor U_state/U_coh = ⟨a†a⟩_state / |β|² for every drive-induced potential.

    Multiply the coherent-state (laser) trap or binding potentials computed for |β|² =
    ``reference_photon_number`` photons by this factor (paper 002 eqs. 22, 27, 31–34).

    Args:
        state: :class:`CoherentState`, :class:`SqueezedVacuum`, :class:`CatState` or
            :class:`CoherentMixture` (anything with ``photon_number()``).
        reference_photon_number: |β|² of the reference coherent drive (> 0).
    Returns:
        scalar, dimensionless.
    """
    n_ref = as_float_array(reference_photon_number, "reference_photon_number")
    check_positive("reference_photon_number", n_ref)
    n_ref = eqx.error_if(n_ref, ~(n_ref > 0), "reference_photon_number must be positive")
    return state.photon_number() / n_ref


def photon_number_in_mode(intensity: RealLike, wavelength: RealLike, mode_volume: RealLike
                          ) -> Float[Array, "..."]:
    """Mean photon number of a travelling single mode, ⟨n⟩ = I V/(ħ ω c).

    Args:
        intensity: I (W/m², ≥ 0).
        wavelength: vacuum wavelength (m, > 0).
        mode_volume: quantization volume V of the mode (m³, > 0).
    Returns:
        dimensionless ⟨n⟩. Computed as (I/(ħωc))·V with both factors scaled to avoid
        float32 overflow (I/(ħωc) ≈ 2e20 m⁻³ for 10⁻² W/µm²).
    """
    i = as_float_array(intensity, "intensity")
    lam = as_float_array(wavelength, "wavelength")
    v = as_float_array(mode_volume, "mode_volume")
    check_positive("intensity", i, allow_zero=True)
    check_positive("wavelength", lam)
    check_positive("mode_volume", v)
    i = eqx.error_if(i, ~(jnp.isfinite(i) & (i >= 0)), "intensity must be finite and non-negative")
    # n = I V λ/(2πħc²) = (I/I_u) (V/λ³) (λ/µm)⁴ · (I_u µm⁴/(2πħc²)), I_u = 1e10 W/m²: every
    # factor stays representable in float32.
    unit = 1e10 * 1e-24 / (2.0 * math.pi * C.hbar * C.c**2)
    return (i / 1e10) * (v / lam**3) * ((lam / 1e-6) ** 4 * unit)


def squeezing_for_photon_number(n: RealLike) -> Float[Array, "..."]:
    """Squeezing parameter r with sinh² r = n (n ≥ 0): r = asinh(√n)."""
    n = as_float_array(n, "n")
    check_positive("n", n, allow_zero=True)
    n = eqx.error_if(n, ~(jnp.isfinite(n) & (n >= 0)), "n must be finite and non-negative")
    return jnp.arcsinh(jnp.sqrt(n))


def squeezing_for_intensity(intensity: RealLike, wavelength: RealLike, mode_volume: RealLike
                            ) -> Float[Array, "..."]:
    """Squeezing r of a squeezed vacuum whose potentials equal those of a laser of intensity I
    in a mode of volume V: sinh² r = I V/(ħωc) (paper 002 Sec. III D; module docstring)."""
    return squeezing_for_photon_number(photon_number_in_mode(intensity, wavelength, mode_volume))


def squeezing_db(r: RealLike) -> Float[Array, "..."]:
    """Squeezing in decibels, 10 log10(e^{2r}) = 20 r log10(e) (r ≥ 0)."""
    r = as_float_array(r, "r")
    check_positive("r", r, allow_zero=True)
    return (20.0 / math.log(10.0)) * r

