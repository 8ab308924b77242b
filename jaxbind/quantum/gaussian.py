"""Gaussian-moment dynamics of linear quantum systems (papers 000, 001; docs/conventions.md).

Quadratures x = (z1, p1, z2, p2, …, x_c, p_c, …) with [z, p] = i (ħ = 1), covariance
V = ½⟨{Δx, Δxᵀ}⟩ (vacuum V = 1/2), and

    d⟨x⟩/dt = A⟨x⟩ + b,        dV/dt = A V + V Aᵀ + D.

A master equation with Hamiltonian H = ½ xᵀ H x + hᵀ x and jump operators L_k = c_k·x
(complex c_k) gives, with Γ = Σ_k c_k c_k^† (Hermitian ⪰ 0) and Ω the symplectic form,

    A = Ω (H − Im Γ),    D = Ω Re(Γ) Ωᵀ,    b = Ω h,

so that D + (i/2)(AΩ + ΩAᵀ) = Ω Γ Ωᵀ ⪰ 0 — the physicality condition checked by
:func:`physicality`. Paper 001's optical-binding master equation (74) is the special case
Γ_{z_j z_j'} = 2 D_jj'/ħ²: Im D_jj' produces the anti-reciprocal part of the drift
(C_jj' − C_j'j = 4 Im D_jj'/ħ, eq. 81) and Re D_jj' the (correlated) recoil noise.

Time is in units of a reference frequency chosen by the constructor (1/ω_ref for
:meth:`LinearSystem.from_langevin`), so the entries of A and D are O(1) and float32 agrees
with float64. Builders for baths, feedback and cavities are in :mod:`jaxbind.quantum.models`,
state observables in :mod:`jaxbind.quantum.observables` (imported here for the
:class:`GaussianState` methods), system observables (spectra, heat currents) in
:mod:`jaxbind.quantum.response`.

Results: :class:`SteadyState` carries a ``result`` (an item of :data:`jaxbind.results.RESULTS`):
``successful``, ``nonfinite_input`` (A, D or b not finite), ``unstable`` (A not Hurwitz) or
``not_physical`` (D + (i/2)(AΩ + ΩAᵀ) not ⪰ 0, the :func:`physicality` test); its mean and
covariance are NaN unless successful.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Inexact, Int
from .._types import Real  # a real scalar that may be a Python int

from .._entry import compiled_entry
from .._precision import highest_precision
from .. import constants
from .._checks import check_shape, is_concrete
from ..results import RESULTS, code
from ..solvers import Kron, Sign
from ._compat import deprecated_codes
from .batched_lu import default_dense_solver
from .lyapunov import resolve_solver, solve_lyapunov, solve_lyapunov_checked  # noqa: F401 (re-export)
from .observables import occupations as _occupations
from .observables import purity as _purity
from .observables import symplectic_eigenvalues as _symplectic_eigenvalues
from .phase_space import mode_matrix, physical_bt, symplectic_form

__all__ = [
    "LinearSystem",
    "TimeDependentSystem",
    "GaussianState",
    "SteadyState",
    "Physicality",
    "symplectic_form",
    "mode_matrix",
    "steady_state",
    "evolve",
    "physicality",
]

#: deprecated integer statuses (one release): the codes of the RESULTS items
__getattr__ = deprecated_codes(__name__, {"STATUS_OK": "successful",
                                          "STATUS_UNSTABLE": "unstable",
                                          "STATUS_NONFINITE": "nonfinite_input",
                                          "STATUS_NOT_PHYSICAL": "not_physical"})


def _float_dtype(*xs):
    dt = jnp.result_type(*[jnp.asarray(x) for x in xs])
    if jnp.issubdtype(dt, jnp.complexfloating):
        return jnp.finfo(dt).dtype
    if not jnp.issubdtype(dt, jnp.floating):
        return jnp.result_type(float)
    return dt


def _check_real(name, x):
    if jnp.iscomplexobj(jnp.asarray(x)):
        raise TypeError(f"{name} must be real, got dtype {jnp.asarray(x).dtype}")


@jax.jit
def _add3(x, y):
    return tuple(a + b for a, b in zip(x, y))


@functools.partial(jax.jit, static_argnames=("from_D",))
def _langevin_generator(omega, C, Dm, F, mass, omega_ref, hbar, *, from_D):
    """(A, D, b, antisymmetric part of the scaled C, Im Γ, max |C̃|) of
    :meth:`LinearSystem.from_langevin` (its docstring; paper 001 eqs. 74–81), one program."""
    dt = omega.dtype
    N = omega.shape[0]
    m = jnp.broadcast_to(mass, (N,))
    w_ref = jnp.mean(omega) if omega_ref is None else omega_ref
    off = 1.0 - jnp.eye(N, dtype=dt)
    C = C * off
    sq = jnp.sqrt(m[:, None] * m[None, :])
    Ct = C / (w_ref**2 * sq)  # scaled couplings
    K = jnp.sum(C, axis=1) / (w_ref**2 * m)  # trap renormalisation (eq. 76)
    gam = 2.0 * Dm / (hbar * w_ref**2 * sq)  # Γ on positions
    anti = 0.5 * (Ct - Ct.T)
    if from_D:
        coup = 0.5 * (Ct + Ct.T) + gam.imag.astype(dt) * off
    else:
        coup = Ct
    stiff = jnp.diag((omega / w_ref) ** 2 + K) - coup  # ṗ = −stiff z
    n = 2 * N
    A = jnp.zeros((n, n), dt)
    A = A.at[0::2, 1::2].set(jnp.eye(N, dtype=dt))
    A = A.at[1::2, 0::2].set(-stiff)
    Dq = jnp.zeros((n, n), dt).at[1::2, 1::2].set(gam.real.astype(dt))
    b = jnp.zeros((n,), dt)
    if F is not None:
        F = jnp.broadcast_to(F, (N,))
        b = b.at[1::2].set(F / (w_ref * jnp.sqrt(hbar * m * w_ref)))
    return A, 0.5 * (Dq + Dq.T), b, anti, gam.imag, jnp.max(jnp.abs(Ct))


@functools.partial(jax.jit, static_argnames=("dt",))
def _mode_generator(h, g, u, v, *, dt):
    """(H (n, n) quadrature Hamiltonian, c (K, n) jump coefficients or None) of
    :meth:`LinearSystem.from_modes` (its docstring), in the real dtype ``dt``."""
    m = h.shape[0]
    T = mode_matrix(m, dt)
    Hq = 2.0 * jnp.real(T.conj().T @ h.astype(T.dtype) @ T)
    if g is not None:
        Hq = Hq + jnp.real(T.T @ (g + g.T) @ T)
    c = None
    if u is not None:
        c = u.astype(T.dtype) @ T + v.astype(T.dtype) @ T.conj()
    return Hq.astype(dt), c


@jax.jit
def _lindblad_generator(H, c, g, h):
    """(A, D, b) of :meth:`LinearSystem.from_lindblad` (its docstring) from H (n, n) of the
    working dtype, jump coefficients c (K, n) or None, Γ given directly or None, h or None."""
    dt = H.dtype
    n = H.shape[0]
    Om = symplectic_form(n, dt)
    H = 0.5 * (H + H.T)
    if c is None:
        gam = jnp.zeros((n, n), jnp.result_type(dt, jnp.complex64))
    else:
        gam = c.T @ c.conj()  # Γ_ij = Σ_k c_ki c_kj*
    if g is not None:
        gam = gam + g.astype(gam.dtype)
    A = Om @ (H - gam.imag.astype(dt))
    D = Om @ gam.real.astype(dt) @ Om.T
    b = None if h is None else Om @ h
    return A, 0.5 * (D + D.T), b


class LinearSystem(eqx.Module):
    """Linear quantum system d⟨x⟩/dt = A⟨x⟩ + b, dV/dt = AV + VAᵀ + D (docs/conventions.md).

    Attributes:
        A: (n, n) drift matrix, n = 2M quadratures (z1, p1, …), in units of the
            constructor's reference frequency.
        D: (n, n) symmetric diffusion matrix (same units).
        b: (n,) constant drive (same units).
    """

    A: Float[Array, "n n"]
    D: Float[Array, "n n"]
    b: Float[Array, " n"]

    def __init__(self, A: Float[ArrayLike, "n n"], D: Float[ArrayLike, "n n"],
                 b: Float[ArrayLike, " n"] | None = None) -> None:
        for name, x in (("A", A), ("D", D), ("b", b)):
            if x is not None:
                _check_real(name, x)
        dt = _float_dtype(A, D) if b is None else _float_dtype(A, D, b)
        A = jnp.asarray(A, dt)
        D = jnp.asarray(D, dt)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix of shape (n, n), got shape {A.shape}")
        n = A.shape[0]
        if n % 2:
            raise ValueError(f"A must have an even size n = 2M (quadrature pairs), got {n}")
        check_shape("D", D, (n, n))
        b = jnp.asarray(np.zeros((n,), dt)) if b is None else jnp.asarray(b, dt)  # NumPy: no compile
        check_shape("b", b, (n,))
        self.A, self.D, self.b = A, D, b

    def __check_init__(self):
        if not is_concrete((self.A, self.D, self.b)):
            return
        for name, x in (("A", self.A), ("D", self.D), ("b", self.b)):
            if not np.all(np.isfinite(np.asarray(x))):
                raise ValueError(f"LinearSystem: {name} must be finite, got {np.asarray(x)}")
        D = np.asarray(self.D)
        scale = max(np.max(np.abs(D)), np.finfo(D.dtype).tiny)
        if np.max(np.abs(D - D.T)) > 100 * np.finfo(D.dtype).eps * scale:
            raise ValueError("LinearSystem: D must be symmetric (D = Dᵀ)")

    @property
    def n_modes(self) -> int:
        """Number of oscillators M (n = 2M quadratures)."""
        return self.A.shape[0] // 2

    def __add__(self, other: "LinearSystem") -> "LinearSystem":
        """Sum of generators (independent contributions to the master equation add)."""
        if not isinstance(other, LinearSystem):
            return NotImplemented
        if other.A.shape != self.A.shape:
            raise ValueError(f"cannot add systems of sizes {self.A.shape} and {other.A.shape}")
        return LinearSystem(*_add3((self.A, self.D, self.b), (other.A, other.D, other.b)))

    # ------------------------------------------------------------------ constructors
    # (the array algebra of each constructor is one jitted program: called eagerly, op by op,
    # every jnp op on a new shape would compile its own XLA program)
    @classmethod
    def from_lindblad(
        cls,
        H: Float[ArrayLike, "n n"] | Sequence[Sequence[float]],
        jumps: Inexact[ArrayLike, "k n"] | Inexact[ArrayLike, " n"] | Sequence[Sequence[complex]]
        | Sequence[complex] | None = None,
        h: Float[ArrayLike, " n"] | Sequence[float] | None = None,
        *,
        gamma: Inexact[ArrayLike, "n n"] | Sequence[Sequence[complex]] | None = None,
    ) -> "LinearSystem":
        """From a quadratic Hamiltonian and jump operators linear in the quadratures.

        Master equation ρ̇ = −i[H, ρ] + Σ_k (L_k ρ L_k† − ½{L_k†L_k, ρ}) with
        H = ½ xᵀ H x + hᵀ x and L_k = Σ_i c_ki x_i (module docstring: A = Ω(H − Im Γ),
        D = Ω Re Γ Ωᵀ, b = Ω h, Γ = Σ_k c_k c_k†). Physical by construction.

        Args:
            H: (n, n) real symmetric Hamiltonian matrix (rate units).
            jumps: (K, n) complex jump-operator coefficients c_k (√rate), or None.
            h: (n,) real linear Hamiltonian term (rate units), or None.
            gamma: (n, n) Hermitian positive-semidefinite Γ = Σ_k c_k c_k† given directly
                (added to that of ``jumps``): avoids factorizing a rate matrix into jump
                operators, whose eigenvectors are not differentiable at degeneracies.
        """
        _check_real("H", H)
        H = jnp.asarray(H)
        dt = _float_dtype(H) if jumps is None else _float_dtype(H, jumps)
        H = H.astype(dt)
        if H.ndim != 2 or H.shape[0] != H.shape[1]:
            raise ValueError(f"H must be a square matrix, got shape {H.shape}")
        n = H.shape[0]
        c = g = None
        if jumps is not None:
            c = jnp.asarray(jumps)
            if c.ndim == 1:
                c = c[None, :]
            check_shape("jumps", c, (None, n))
        if gamma is not None:
            g = jnp.asarray(gamma)
            check_shape("gamma", g, (n, n))
            if is_concrete(g):
                gn = np.asarray(g)
                if np.max(np.abs(gn - gn.conj().T)) > 1e-9 * max(np.max(np.abs(gn)), 1e-300):
                    raise ValueError("gamma must be Hermitian (Γ = Σ_k c_k c_k†)")
        return cls(*_lindblad_generator(H, c, g, None if h is None else jnp.asarray(h, dt)))

    @classmethod
    def from_modes(
        cls,
        h: Inexact[ArrayLike, "m m"],
        g: Inexact[ArrayLike, "m m"] | None = None,
        jumps_a: Inexact[ArrayLike, "k m"] | None = None,
        jumps_adag: Inexact[ArrayLike, "k m"] | None = None,
    ) -> "LinearSystem":
        """From a mode-operator Hamiltonian and jump operators linear in a_j, a_j†.

        H = Σ_ij h_ij a_i† a_j + ½ Σ_ij (g_ij a_i a_j + h.c.),
        L_k = Σ_j (u_kj a_j + v_kj a_j†), with a_j = (z_j + i p_j)/√2.

        Args:
            h: (M, M) Hermitian matrix (rate units).
            g: (M, M) complex symmetric squeezing matrix, or None.
            jumps_a: (K, M) coefficients u_k of a_j, or None.
            jumps_adag: (K, M) coefficients v_k of a_j†, or None (zeros).
        """
        h = jnp.asarray(h)
        if h.ndim != 2 or h.shape[0] != h.shape[1]:
            raise ValueError(f"h must be a square (M, M) matrix, got shape {h.shape}")
        m = h.shape[0]
        dt = _float_dtype(h) if g is None else _float_dtype(h, g)
        cdt = jnp.result_type(dt, jnp.complex64)
        if g is not None:
            g = jnp.asarray(g, cdt)
            check_shape("g", g, (m, m))
        u = v = None
        if jumps_a is not None or jumps_adag is not None:
            u = jnp.asarray(np.zeros((1, m), cdt)) if jumps_a is None else jnp.atleast_2d(jumps_a)
            v = jnp.asarray(np.zeros(u.shape, u.dtype)) if jumps_adag is None else jnp.atleast_2d(jumps_adag)
            check_shape("jumps_a", u, (None, m))
            check_shape("jumps_adag", v, (u.shape[0], m))
        return cls.from_lindblad(*_mode_generator(h, g, u, v, dt=np.dtype(dt)))

    @classmethod
    def from_langevin(
        cls,
        omega: Float[ArrayLike, " N"] | Sequence[float],
        C: Float[ArrayLike, "N N"] | Sequence[Sequence[float]],
        D: Inexact[ArrayLike, "N N"] | Sequence[Sequence[complex]],
        F: Float[ArrayLike, " N"] | Sequence[float] | None = None,
        mass: Float[ArrayLike, "*#N"] | Sequence[float] = 1.0,
        *,
        omega_ref: Real | None = None,
        hbar: float = constants.hbar,
        nonreciprocity: str = "from_D",
    ) -> "LinearSystem":
        """From the linearized optical-binding Langevin coefficients (paper 001 eqs. 74–81).

        ż_j = p_j/m_j,  ṗ_j = −m_j ω_j² z_j + F_j + ξ_j + Σ_{j'≠j} C_jj'(z_j' − z_j),
        ⟨ξ_j'(t')ξ_j(t)⟩ = 2 D_jj' δ(t − t'), equivalently master equation (74)–(75).

        The result uses scaled quadratures z̃_j = z_j √(m_j ω_ref/ħ),
        p̃_j = p_j/√(ħ m_j ω_ref) and time τ = ω_ref t (A, D, b in units of ω_ref).

        Args:
            omega: (N,) trap frequencies ω_j (rad/s).
            C: (N, N) coupling constants C_jj' (N/m); the diagonal is ignored.
            D: (N, N) complex Hermitian diffusion matrix D_jj' (N² s).
            F: (N,) constant forces (N), or None.
            mass: particle mass(es) m_j (kg), scalar or (N,).
            omega_ref: reference frequency (rad/s); default mean(ω_j).
            hbar: ħ in the units used (pass 1 with mass 1, omega_ref 1 for inputs that are
                already dimensionless: then C = 2g, D_jj = γ_rec in paper 001's notation).
            nonreciprocity: ``"from_D"`` (default): the drift is master equation (74) —
                symmetric part of C plus the anti-reciprocal part 4 Im D/ħ, physical by
                construction; a C whose antisymmetric part is neither zero nor 4 Im D/ħ
                raises. ``"from_C"``: use the full C as given and Re D only for the noise
                (a non-reciprocal C without matching Im D is then reported by
                :func:`physicality`).
        Returns:
            :class:`LinearSystem` with M = N oscillators.
        """
        if nonreciprocity not in ("from_D", "from_C"):
            raise ValueError(f"nonreciprocity must be 'from_D' or 'from_C', got {nonreciprocity!r}")
        _check_real("omega", omega)
        _check_real("C", C)
        omega = jnp.atleast_1d(jnp.asarray(omega))
        N = omega.shape[0]
        dt = _float_dtype(omega, C, D)
        cdt = jnp.result_type(dt, jnp.complex64)
        omega = omega.astype(dt)
        C = jnp.asarray(C, dt)
        check_shape("C", C, (N, N))
        Dm = jnp.asarray(D).astype(cdt)
        check_shape("D", Dm, (N, N))
        if is_concrete(Dm):
            Dn = np.asarray(Dm)
            if np.max(np.abs(Dn - Dn.conj().T)) > 1e-9 * max(np.max(np.abs(Dn)), 1e-300):
                raise ValueError("D must be Hermitian (D_jj' = D_j'j*), paper 001 eq. 81")
        if F is not None:
            _check_real("F", F)
            F = jnp.asarray(F, dt)
        A, D, b, anti, gam_imag, Ct_max = _langevin_generator(
            omega, C, Dm, F, jnp.asarray(mass, dt), None if omega_ref is None else jnp.asarray(omega_ref, dt),
            hbar, from_D=nonreciprocity == "from_D")
        if nonreciprocity == "from_D" and is_concrete((anti, gam_imag)):
            a, ig = np.asarray(anti), np.asarray(gam_imag)
            tol = 1e-6 * max(float(Ct_max), np.max(np.abs(ig)), 1e-300)
            if np.max(np.abs(a)) > tol and np.max(np.abs(a - ig)) > tol:
                raise ValueError(
                    "C has an antisymmetric part that differs from 4 Im D/ħ "
                    "(paper 001 eq. 81); pass a consistent D, a symmetric C, or "
                    "nonreciprocity='from_C' to use C as given"
                )
        return cls(A, D, b)

    @classmethod
    def from_linearized(
        cls,
        lin,
        *,
        omega_ref: Real | None = None,
        gas_damping: bool = True,
        forces: bool = True,
    ) -> "LinearSystem":
        """From the output of :func:`jaxbind.mechanics.linearize` (paper 001 eqs. 74–81).

        Uses the array's own stiffness shifts K_μ (eq. 76, with the Gouy term), couplings
        C_μν (both the reciprocal part and the anti-reciprocal part C − Cᵀ = 4 Im D/ħ that the
        correlated recoil noise makes physical) and the diffusion matrix ``lin.D`` = D/ħ, so
        ħ never multiplies a small number: ħD ≈ 1e-40 N²s would underflow float32, D/ħ is
        O(1e-10 … 1) N/m and the scaled A, D here are O(1) in either precision.

        Quadratures z̃_μ = z_μ √(m_μ ω_ref/ħ), p̃_μ = p_μ/√(ħ m_μ ω_ref), time τ = ω_ref t;
        one oscillator per degree of freedom (M = N for ``axis="z"``, 3N for ``"xyz"``).

        Args:
            lin: :class:`jaxbind.mechanics.LinearizedArray`.
            omega_ref: reference frequency (rad/s); default mean(ω_μ).
            gas_damping: add gas damping γ_μ towards n̄_μ = k_B T/(ħ ω_μ) as a thermal bath
                (:func:`jaxbind.quantum.models.add_thermal_bath`; Lindblad form of Brownian
                damping, valid for γ ≪ ω).
            forces: include the constant forces F_μ at the foci (eq. 78) as the drive b (they
                shift the mean only); False linearizes about the displaced equilibrium.
        Returns:
            :class:`LinearSystem` in units of ω_ref.
        """
        for name in ("omega", "C", "K", "F", "D", "mass", "gamma", "temperature"):
            if not hasattr(lin, name):
                raise TypeError(
                    f"lin must be a LinearizedArray (output of jaxbind.mechanics.linearize); "
                    f"{type(lin).__name__} has no attribute {name!r}"
                )
        omega = jnp.atleast_1d(jnp.asarray(lin.omega))
        dt = _float_dtype(omega, lin.C)
        omega = omega.astype(dt)
        M = omega.shape[0]
        m = jnp.broadcast_to(jnp.asarray(lin.mass, dt), (M,))
        w_ref = jnp.mean(omega) if omega_ref is None else jnp.asarray(omega_ref, dt)
        off = 1.0 - jnp.eye(M, dtype=dt)
        sq = jnp.sqrt(m[:, None]) * jnp.sqrt(m[None, :])
        Ct = jnp.asarray(lin.C, dt) * off / (w_ref**2 * sq)
        Dh = jnp.asarray(lin.D)
        gam = 2.0 * jnp.real(Dh).astype(dt) / (w_ref**2 * sq)  # Γ on positions (scaled)
        stiff = jnp.diag((omega / w_ref) ** 2 + jnp.asarray(lin.K, dt) / (w_ref**2 * m)) - Ct
        n = 2 * M
        A = jnp.zeros((n, n), dt).at[0::2, 1::2].set(jnp.eye(M, dtype=dt)).at[1::2, 0::2].set(-stiff)
        Dq = jnp.zeros((n, n), dt).at[1::2, 1::2].set(gam)
        b = jnp.zeros((n,), dt)
        if forces:
            # F/(ω_ref √(ħ m ω_ref)) with √ħ taken apart: ħ m ω ≈ 1e-47 underflows float32
            F = jnp.broadcast_to(jnp.asarray(lin.F, dt), (M,))
            b = b.at[1::2].set(F / (w_ref * float(np.sqrt(constants.hbar)) * jnp.sqrt(m * w_ref)))
        system = cls(A, 0.5 * (Dq + Dq.T), b)
        if gas_damping:
            gamma = jnp.broadcast_to(jnp.asarray(lin.gamma, dt), (M,)) / w_ref
            # n̄ = k_B T/(ħω), with k_B/ħ ≈ 1.3e11 formed in float64 first
            nbar = jnp.asarray(constants.k_B / constants.hbar, dt) * jnp.asarray(lin.temperature, dt) / omega
            sl = jnp.arange(M)
            Ag = jnp.zeros((n, n), dt)
            Ag = Ag.at[2 * sl, 2 * sl].set(-0.5 * gamma).at[2 * sl + 1, 2 * sl + 1].set(-0.5 * gamma)
            Dg = jnp.zeros((n, n), dt)
            Dg = Dg.at[2 * sl, 2 * sl].set(gamma * (nbar + 0.5)).at[2 * sl + 1, 2 * sl + 1].set(gamma * (nbar + 0.5))
            system = system + cls(Ag, Dg)
        return system


class TimeDependentSystem(eqx.Module):
    """A(t), D(t), b(t) given by ``fn(t) -> LinearSystem`` (e.g. phase modulation φ = 2ωt,
    paper 000 eq. 13 / paper 001 eq. 92). ``fn`` may be an equinox Module or a closure;
    t is in the system's time unit."""

    fn: Callable[[Float[Array, ""]], LinearSystem]

    def __call__(self, t) -> LinearSystem:
        return self.fn(t)


@jax.jit  # one program (eager: one per op)
def _squeezed_cov(r, theta):
    """Covariance of :meth:`GaussianState.squeezed` (its docstring)."""
    theta = jnp.broadcast_to(theta, r.shape)
    c, s = jnp.cos(theta), jnp.sin(theta)
    R = jnp.stack([jnp.stack([c, -s], -1), jnp.stack([s, c], -1)], -2)
    d = jax.vmap(jnp.diag)(0.5 * jnp.stack([jnp.exp(-2 * r), jnp.exp(2 * r)], -1))
    blocks = R @ d @ jnp.swapaxes(R, -1, -2)
    return jax.scipy.linalg.block_diag(*blocks)


@jax.jit  # one program (eager: one per op)
def _thermal_cov(n_th):
    return jnp.diag(jnp.repeat(n_th + 0.5, 2))


@jax.jit  # one program (eager: one per op)
def _coherent_mean(alpha):
    return jnp.sqrt(2.0) * jnp.stack([alpha.real, alpha.imag], axis=-1).reshape(-1)


class GaussianState(eqx.Module):
    """Gaussian state: mean ⟨x⟩ (…, n) and covariance V = ½⟨{Δx, Δxᵀ}⟩ (…, n, n).

    Leading batch/time axes are allowed (e.g. the output of :func:`evolve`).
    """

    mean: Float[Array, "*batch n"]
    cov: Float[Array, "*batch n n"]

    def __init__(self, mean: Float[ArrayLike, "*batch n"] | None,
                 cov: Float[ArrayLike, "*batch n n"]) -> None:
        _check_real("cov", cov)
        cov = jnp.asarray(cov)
        dt = _float_dtype(cov)
        cov = cov.astype(dt)
        if cov.ndim < 2 or cov.shape[-1] != cov.shape[-2] or cov.shape[-1] % 2:
            raise ValueError(f"cov must have shape (..., n, n) with n even, got {cov.shape}")
        if mean is None:
            mean = jnp.asarray(np.zeros(cov.shape[:-1], dt))  # NumPy: no compile
        _check_real("mean", mean)
        mean = jnp.asarray(mean, dt)
        if mean.shape != cov.shape[:-1]:
            raise ValueError(f"mean must have shape {cov.shape[:-1]}, got {mean.shape}")
        if is_concrete(cov):
            c = np.asarray(cov)
            if not np.all(np.isfinite(c)):
                raise ValueError("cov must be finite")
            scale = max(float(np.max(np.abs(c))), float(np.finfo(c.dtype).tiny))
            asym = float(np.max(np.abs(c - np.swapaxes(c, -1, -2))))
            if asym > 100 * np.finfo(c.dtype).eps * scale:
                raise ValueError(f"cov must be symmetric (V = Vᵀ), got max |V − Vᵀ| = {asym:.3g}")
        self.mean, self.cov = mean, cov

    @property
    def n_modes(self) -> int:
        return self.cov.shape[-1] // 2

    @classmethod
    def vacuum(cls, n_modes: int, dtype=None) -> "GaussianState":
        """Vacuum: V = 1/2, ⟨x⟩ = 0."""
        dtype = dtype or jnp.result_type(float)
        return cls(None, jnp.asarray(0.5 * np.eye(2 * n_modes), dtype))  # NumPy: no compile

    @classmethod
    def thermal(cls, n_th: Float[ArrayLike, "*#m"] | Sequence[float]) -> "GaussianState":
        """Thermal state with occupations n_th (M,): V = (n̄ + ½) 1 per oscillator."""
        n_th = jnp.atleast_1d(jnp.asarray(n_th))
        return cls(None, _thermal_cov(n_th.astype(_float_dtype(n_th))))

    @classmethod
    def coherent(cls, alpha: Inexact[ArrayLike, "*#m"] | Sequence[complex]) -> "GaussianState":
        """Coherent state |α⟩ (M,) complex: ⟨z⟩ = √2 Re α, ⟨p⟩ = √2 Im α, V = 1/2."""
        alpha = jnp.atleast_1d(jnp.asarray(alpha))
        dt = _float_dtype(alpha)
        return cls(_coherent_mean(alpha).astype(dt), jnp.asarray(0.5 * np.eye(2 * alpha.shape[0]), dt))

    @classmethod
    def squeezed(cls, r: Float[ArrayLike, "*#m"], theta: Float[ArrayLike, "*#m"] = 0.0) -> "GaussianState":
        """Squeezed vacuum per oscillator: variance e^{−2r}/2 along the quadrature
        z cos θ + p sin θ and e^{2r}/2 along the orthogonal one. r, θ: (M,) or scalars."""
        r = jnp.atleast_1d(jnp.asarray(r))
        dt = _float_dtype(r)
        return cls(None, _squeezed_cov(r.astype(dt), jnp.asarray(theta, dt)))

    def occupations(self) -> Float[Array, "*batch m"]:
        """⟨a_j†a_j⟩ including the coherent part |⟨a_j⟩|² (every leading batch/time axis)."""
        return _occupations(self.cov, self.mean)

    def purity(self) -> Float[Array, "*batch"]:
        """Tr ρ² = 1/(2^M √det V) (every leading batch/time axis)."""
        return _purity(self.cov)

    def symplectic_eigenvalues(self) -> Float[Array, "*batch m"]:
        """Symplectic eigenvalues ν_j ≥ 1/2 (ascending; every leading batch/time axis)."""
        return _symplectic_eigenvalues(self.cov)


class SteadyState(eqx.Module):
    """Result of :func:`steady_state`: mean (n,), covariance (n, n) and ``result``.

    ``result`` is an item of :data:`jaxbind.results.RESULTS` (``successful``,
    ``nonfinite_input``, ``unstable``, ``not_physical``); unless it is successful, mean and
    cov are NaN — test ``result == RESULTS.successful`` (or ``ok``) rather than the numbers.
    ``status`` (deprecated, one release) is its integer code.
    """

    mean: Float[Array, " n"]
    cov: Float[Array, "n n"]
    result: RESULTS

    @property
    def status(self) -> Int[Array, "*batch"]:
        """Integer code of ``result`` (``jaxbind.results.code``; 0 = successful)."""
        return code(self.result)

    @property
    def ok(self) -> Bool[Array, ""]:
        return self.result == RESULTS.successful

    @property
    def state(self) -> GaussianState:
        return GaussianState(self.mean, self.cov)


def _check_system(system):
    if not isinstance(system, LinearSystem):
        raise TypeError(f"system must be a LinearSystem, got {type(system).__name__}")


def _is_physical(A, D, rtol=None):
    """The physicality verdict of one (A, D) (:func:`~jaxbind.quantum.phase_space.physical_bt`,
    the one implementation, also run inside the batched kron kernel by :func:`steady_state`)."""
    return physical_bt(A[..., None], D[..., None], rtol)[0]


@compiled_entry(inline_if=lambda b: b.arguments["method"] is not None
                or isinstance(b.arguments["solver"], str))
@highest_precision
def steady_state(
    system: LinearSystem,
    solver: Kron | Sign | None = None,
    *,
    throw: bool = False,
    method: str | None = None,
) -> SteadyState:
    """Steady state: A V + V Aᵀ + D = 0 and ⟨x⟩ = −A⁻¹ b (paper 001 eqs. 80–81; docs/conventions.md).

    Solved without eigendecomposition (accurate at exceptional points; GPU-capable) by
    :func:`jaxbind.quantum.lyapunov.solve_lyapunov`; gradients are implicit (adjoint
    Lyapunov equation), valid under jit/vmap/grad/jacfwd. The model is also checked for
    complete positivity (the :func:`physicality` test): an unphysical model (e.g. a
    diffusion matrix that is not positive semi-definite, or non-reciprocal coupling without
    its correlated noise) has no quantum steady state and is reported, never solved into
    negative occupations.

    Args:
        system: :class:`LinearSystem`.
        solver: :class:`~jaxbind.solvers.Kron` or :class:`~jaxbind.solvers.Sign` (static);
            None: Kron for n ≤ 8 quadratures, else Sign. ``Kron.linear_solver`` picks the LU
            (default by backend, see :class:`~jaxbind.solvers.Kron`).
        throw: if True raise (``EquinoxRuntimeError`` with the RESULTS message) unless the
            result is successful; default False returns the result (use False inside
            vmapped sweeps).
        method: deprecated string form (``"auto"``, ``"kron"``, ``"sign"``; warns).
    Returns:
        :class:`SteadyState` with mean (n,), cov (n, n) (dimensionless) and ``result``
        (precedence: ``nonfinite_input``, ``unstable``, ``not_physical``).
    """
    _check_system(system)
    A, D, b = system.A, system.D, system.b
    n = A.shape[0]
    solver = resolve_solver(solver, n, method=method, fn="steady_state")
    finite = jnp.all(jnp.isfinite(A)) & jnp.all(jnp.isfinite(D)) & jnp.all(jnp.isfinite(b))
    eye = jnp.eye(n, dtype=A.dtype)
    # Keep non-finite points away from the solvers (a bad point never poisons a vmap).
    A_s = jnp.where(finite, A, -eye)
    D_s = jnp.where(finite, D, eye)
    b_s = jnp.where(finite, b, 0.0)
    X, hurwitz, phys = solve_lyapunov_checked(A_s, D_s, solver)
    if isinstance(solver, Kron) and solver.linear_solver is not None:
        mean_solver = solver.linear_solver
    else:
        mean_solver = default_dense_solver(n)
    sol = lx.linear_solve(lx.MatrixLinearOperator(A_s), b_s, mean_solver, throw=False)
    result = RESULTS.where(
        finite,
        RESULTS.where(hurwitz,
                      RESULTS.where(phys, RESULTS.promote(sol.result), RESULTS.not_physical),
                      RESULTS.unstable),
        RESULTS.nonfinite_input,
    )
    ok = result == RESULTS.successful
    cov = jnp.where(ok, 0.5 * (X + X.T), jnp.nan)
    mean = jnp.where(ok, -sol.value, jnp.nan)
    if throw:
        cov = result.error_if(cov, ~ok)
    return SteadyState(mean, cov, result)


class Physicality(eqx.Module):
    """Report of :func:`physicality`: eigenvalues of D + (i/2)(AΩ + ΩAᵀ) and a verdict."""

    eigenvalues: Float[Array, " n"]
    min_eigenvalue: Float[Array, ""]
    is_physical: Bool[Array, ""]


def physicality(system: LinearSystem, *, rtol: float | None = None) -> Physicality:
    """Check D + (i/2)(AΩ + ΩAᵀ) ⪰ 0 (complete positivity of the Gaussian semigroup).

    A non-reciprocal drift without the correlated noise of paper 001 eq. 81 violates it.
    Never raises on values (a non-:class:`LinearSystem` argument is a ``TypeError``).
    :func:`steady_state` applies the same verdict.

    Args:
        system: :class:`LinearSystem`.
        rtol: tolerance relative to max(|A|, |D|) for the verdict (default 1e3·eps).
    Returns:
        :class:`Physicality` with the ascending eigenvalues, the smallest one (rate
        units) and ``is_physical`` (smallest > −rtol·scale).
    """
    _check_system(system)
    return _physicality(system.A, system.D, rtol)


@functools.partial(jax.jit, static_argnames=("rtol",))
def _physicality(A, D, rtol):
    # one compiled program (an eager call ran the n-step Cholesky verdict op by op: ~100 tiny
    # XLA programs on a first call)
    n = A.shape[0]
    Om = symplectic_form(n, A.dtype)
    P = D.astype(jnp.result_type(D, jnp.complex64)) + 0.5j * (A @ Om + Om @ A.T)
    ev = jnp.linalg.eigvalsh(P)
    return Physicality(ev, ev[0], _is_physical(A, D, rtol))


# ---------------------------------------------------------------------------- dynamics


@eqx.filter_jit  # one program per shape (eager: ~30 op-by-op compilations; issue 15 §10)
def _evolve_constant(system: LinearSystem, state: GaussianState, dts):
    A, D, b = system.A, system.D, system.b
    n = A.shape[0]
    z = jnp.zeros((1, n + 1), A.dtype)
    aug = jnp.concatenate([jnp.concatenate([A, b[:, None]], axis=1), z], axis=0)
    zn = jnp.zeros_like(A)
    # Van Loan: expm([[−A, D], [0, Aᵀ]] t) = [[·, F12], [0, e^{Aᵀt}]],
    # ∫₀ᵗ e^{As} D e^{Aᵀs} ds = e^{At} F12.
    vl = jnp.block([[-A, D], [zn, A.T]])

    def one(t):
        E = jax.scipy.linalg.expm(aug * t)
        eAt, ib = E[:n, :n], E[:n, n]
        F = jax.scipy.linalg.expm(vl * t)
        Q = eAt @ F[:n, n:]
        mean = eAt @ state.mean + ib
        cov = eAt @ state.cov @ eAt.T + 0.5 * (Q + Q.T)
        return mean, 0.5 * (cov + cov.T)

    return jax.vmap(one)(dts)


@highest_precision
def evolve(
    system: LinearSystem | TimeDependentSystem,
    state: GaussianState,
    ts: Float[ArrayLike, "*#t"],
    *,
    t0: Real = 0.0,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 2**16,
    progress: bool = False,
) -> GaussianState:
    """Evolve mean and covariance: d⟨x⟩/dt = A⟨x⟩ + b, dV/dt = AV + VAᵀ + D.

    Constant :class:`LinearSystem`: exact, V(t) = e^{AΔ}V₀e^{AᵀΔ} + ∫₀^Δ e^{As}De^{Aᵀs}ds
    (Van Loan block exponential; no time stepping), Δ = t − t0, for every t
    independently. :class:`TimeDependentSystem`: adaptive Tsit5 (diffrax) through all ts.

    Args:
        system: the generator (time in its units).
        state: :class:`GaussianState` at time t0 (mean (n,), cov (n, n)).
        ts: (T,) output times ≥ t0 (ascending for time-dependent systems).
        t0: initial time.
        rtol, atol: diffrax step-size tolerances (time-dependent only).
        max_steps: diffrax step limit (time-dependent only; static).
        progress: show a tqdm progress bar (time-dependent only).
    Returns:
        :class:`GaussianState` with mean (T, n) and cov (T, n, n).
    """
    if not isinstance(state, GaussianState):
        raise TypeError(f"state must be a GaussianState, got {type(state).__name__}")
    ts = jnp.atleast_1d(jnp.asarray(ts))
    if ts.ndim != 1:
        raise ValueError(f"ts must be a 1-D array of times, got shape {ts.shape}")
    if jnp.iscomplexobj(ts):
        raise TypeError(f"ts must be real, got dtype {ts.dtype}")
    for name, x in (("ts", ts), ("t0", t0)):
        if is_concrete(x) and not np.all(np.isfinite(np.asarray(x))):
            raise ValueError(f"{name} must be finite, got {np.asarray(x)}")
    if state.cov.ndim != 2:
        raise ValueError(f"state must be a single Gaussian state, got cov shape {state.cov.shape}")
    if isinstance(system, LinearSystem):
        if system.A.shape != state.cov.shape:
            raise ValueError(f"state has {state.cov.shape[0]} quadratures, system {system.A.shape[0]}")
        dt = jnp.result_type(system.A, state.cov)
        mean, cov = _evolve_constant(system, state, (ts - t0).astype(dt))
        return GaussianState(mean, cov)
    if not isinstance(system, TimeDependentSystem):
        raise TypeError(f"system must be a LinearSystem or TimeDependentSystem, got {type(system).__name__}")
    dt = state.cov.dtype
    ts = ts.astype(dt)
    t0 = jnp.asarray(t0, dt)

    def vf(t, y, args):
        x, V = y
        s = system(t)
        return s.A @ x + s.b, s.A @ V + V @ s.A.T + s.D

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(vf),
        diffrax.Tsit5(),
        t0=t0,
        t1=ts[-1],
        dt0=None,
        y0=(state.mean, state.cov),
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
        progress_meter=diffrax.TqdmProgressMeter() if progress else diffrax.NoProgressMeter(),
    )
    mean, cov = sol.ys
    return GaussianState(mean, 0.5 * (cov + jnp.swapaxes(cov, -1, -2)))
