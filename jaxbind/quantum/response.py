"""Linear response of a Gaussian system: noise spectra and heat currents (papers 000, 001).

Observables of a :class:`~jaxbind.quantum.gaussian.LinearSystem` (its drift A and diffusion
D), as opposed to the state observables of :mod:`jaxbind.quantum.observables`.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex, Float
from .._types import Real  # a real scalar that may be a Python int

from .._entry import compiled_entry
from .._precision import highest_precision
from .gaussian import LinearSystem
from .observables import _square
from .phase_space import symplectic_form

__all__ = ["spectrum", "heat_currents"]


def _check_system(system):
    if not isinstance(system, LinearSystem):
        raise TypeError(f"system must be a LinearSystem, got {type(system).__name__}")


@compiled_entry(scalars=("omega",))  # one program per eager call; omega traced
@highest_precision
def spectrum(system: LinearSystem, omega: Real) -> Complex[Array, "n n"]:
    """Symmetrized power spectral density matrix S(ω) = (A + iω)⁻¹ D (Aᵀ − iω)⁻¹.

    Convention x(ω) = ∫ x(t) e^{iωt} dt, S_ij(ω) = ∫ ½⟨{Δx_i(t), Δx_j(0)}⟩ e^{iωt} dt, so
    ∫ S(ω) dω/2π = V (steady state). S is Hermitian; its diagonal is real and ≥ 0 and
    even in ω (S(−ω) = S(ω)*). For the experimentally measured displacement PSD of
    particle j use S[2j, 2j] (times ħ/(m ω_ref) for m²/Hz-type units).

    Args:
        system: stable :class:`LinearSystem` (time unit 1/ω_ref).
        omega: scalar angular frequency in units of ω_ref (vmap for many).
    Returns:
        (n, n) complex PSD matrix (units of 1/ω_ref).
    """
    _check_system(system)
    A, D = system.A, system.D
    n = A.shape[0]
    omega = jnp.asarray(omega)
    if omega.ndim != 0:
        raise ValueError(f"omega must be a scalar (use jax.vmap for many), got shape {omega.shape}")
    cdt = jnp.result_type(A.dtype, jnp.complex64)
    G = jnp.linalg.solve(A.astype(cdt) + 1j * omega * jnp.eye(n, dtype=cdt), jnp.eye(n, dtype=cdt))
    S = G @ D.astype(cdt) @ G.conj().T
    return 0.5 * (S + S.conj().T)


@highest_precision
def heat_currents(system: LinearSystem, V: Float[ArrayLike, "n n"]) -> Float[Array, "m m"]:
    """Energy currents between oscillators and from their local baths.

    With the local Hamiltonian blocks H_k = sym(−Ω A)_kk (ħω_ref units) and local energies
    E_k = ½ tr(H_k V_kk), dE_k/dt = Σ_k' J_kk' where
    J_kk' = tr(H_k A_kk' V_k'k) (k' ≠ k) is the flow from oscillator k' into k and
    J_kk = tr(H_k A_kk V_kk) + ½ tr(H_k D_kk) the net flow from k's local environment
    (damping + noise). In a steady state every row sums to zero.

    Args:
        system: :class:`LinearSystem`.
        V: (n, n) covariance (e.g. ``steady_state(system).cov``).
    Returns:
        (M, M) currents in units of ħω_ref·ω_ref (quanta of the reference frequency per
        unit time).
    """
    _check_system(system)
    V = _square("V", V)
    A, D = system.A, system.D
    n = A.shape[0]
    m = n // 2
    Om = symplectic_form(n, A.dtype)
    Hf = -Om @ A
    Hf = 0.5 * (Hf + Hf.T)
    blk = lambda X: X.reshape(m, 2, m, 2).transpose(0, 2, 1, 3)  # noqa: E731  [k, k', 2, 2]
    Hk = jnp.diagonal(blk(Hf), axis1=0, axis2=1).transpose(2, 0, 1)  # (m, 2, 2)
    Ab, Vb, Db = blk(A), blk(V), blk(D)
    # J[k, k'] = tr(H_k A_kk' V_k'k)
    J = jnp.einsum("kab,kjbc,jkca->kj", Hk, Ab, Vb)
    local = 0.5 * jnp.einsum("kab,kkba->k", Hk, Db)
    return J + jnp.diag(local)
